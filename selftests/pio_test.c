// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: OUT and IN of 1, 2 and 4 bytes, immediate and DX port
 * forms, data in both directions, and what an IN leaves in the rest of RAX.
 */
#include "kselftest_harness.h"
#include "exits.h"

#define CODE_GPA	0x7000

static void guest_pio(void)
{
	uint64_t rax;

	/* OUT: immediate port, then DX port, every size. */
	__asm__ volatile("outb %%al, $0x80" : : "a"(0x11223344556677a5ULL));
	__asm__ volatile("outw %%ax, $0x81" : : "a"(0x112233445566beefULL));
	__asm__ volatile("outl %%eax, $0x84" : : "a"(0x11223344deadbeefULL));
	__asm__ volatile("outb %%al, %%dx" : : "a"(0x5a), "d"(0x3f8));
	__asm__ volatile("outw %%ax, %%dx" : : "a"(0xcafe), "d"(0xcfc));
	__asm__ volatile("outl %%eax, %%dx" : : "a"(0x80001234), "d"(0xffff));

	/* IN AL and IN AX merge into RAX; IN EAX zero-extends into RAX. */
	rax = 0x1122334455667788ULL;
	__asm__ volatile("inb $0x60, %%al" : "+a"(rax));
	GUEST_ASSERT_EQ(rax, 0x11223344556677c3ULL);
	rax = 0x1122334455667788ULL;
	__asm__ volatile("inw $0x62, %%ax" : "+a"(rax));
	GUEST_ASSERT_EQ(rax, 0x112233445566d00dULL);
	rax = 0x1122334455667788ULL;
	__asm__ volatile("inl $0x64, %%eax" : "+a"(rax));
	GUEST_ASSERT_EQ(rax, 0xfeedfaceULL);

	rax = ~0ULL;
	__asm__ volatile("inb %%dx, %%al" : "+a"(rax) : "d"(0x1f7));
	GUEST_ASSERT_EQ(rax, 0xffffffffffffff00ULL);
	rax = 0;
	__asm__ volatile("inw %%dx, %%ax" : "+a"(rax) : "d"(0x8000));
	GUEST_ASSERT_EQ(rax, 0xffffULL);
	rax = ~0ULL;
	__asm__ volatile("inl %%dx, %%eax" : "+a"(rax) : "d"(0xfffc));
	GUEST_ASSERT_EQ(rax, 0x80000001ULL);
	GUEST_DONE();
}

TEST(long_mode_out_and_in_every_size)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_pio, 0);
	struct ucall uc;

	vcpu_expect_out(vcpu, 0x80, 1, 0xa5);
	vcpu_expect_out(vcpu, 0x81, 2, 0xbeef);
	vcpu_expect_out(vcpu, 0x84, 4, 0xdeadbeef);
	vcpu_expect_out(vcpu, 0x3f8, 1, 0x5a);
	vcpu_expect_out(vcpu, 0xcfc, 2, 0xcafe);
	vcpu_expect_out(vcpu, 0xffff, 4, 0x80001234);

	vcpu_answer_in(vcpu, 0x60, 1, 0xc3);
	vcpu_answer_in(vcpu, 0x62, 2, 0xd00d);
	vcpu_answer_in(vcpu, 0x64, 4, 0xfeedface);
	vcpu_answer_in(vcpu, 0x1f7, 1, 0x00);
	vcpu_answer_in(vcpu, 0x8000, 2, 0xffff);
	vcpu_answer_in(vcpu, 0xfffc, 4, 0x80000001);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* An IN leaves RIP on the instruction until the next RUN completes it. */
static void guest_in_once(void)
{
	uint32_t v;

	__asm__ volatile("inl $0x70, %%eax" : "=a"(v));
	GUEST_SYNC_ARGS(1, v);
	GUEST_DONE();
}

TEST(in_completes_on_next_run)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_in_once, 0);
	struct vapicvm_regs before, after;
	struct ucall uc;
	uint8_t insn[2];

	vcpu_answer_in(vcpu, 0x70, 4, 0x600dcafe);
	vcpu_get_regs(vcpu, &before);
	memcpy(insn, addr_gpa2hva(vm, before.rip), sizeof(insn));
	EXPECT_EQ(0xe5, insn[0]) TH_LOG("RIP is not on the IN instruction");
	EXPECT_EQ(0x70, insn[1]);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x600dcafe, uc.args[1]);
	vcpu_get_regs(vcpu, &after);
	EXPECT_NE(before.rip, after.rip);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* SET_REGS discards a pending IN: the guest resumes at the RIP that was set. */
TEST(set_regs_discards_a_pending_in)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_in_once, 0);
	struct vapicvm_regs r, again;
	struct ucall uc;

	vcpu_answer_in(vcpu, 0x70, 4, 0x11111111);
	vcpu_get_regs(vcpu, &r);
	/* Saved and restored as they are: the IN is forgotten, and redone. */
	vcpu_set_regs(vcpu, &r);
	vcpu_answer_in(vcpu, 0x70, 4, 0x22222222);
	vcpu_get_regs(vcpu, &again);
	EXPECT_EQ(r.rip, again.rip);
	EXPECT_EQ(r.rax, again.rax) TH_LOG("the discarded IN wrote RAX");
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x22222222, uc.args[1]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* Every size in real mode: IN with and without the operand-size prefix. */
TEST(real_mode_out_and_in_every_size)
{
	static const uint8_t code[] = {
		0xe4, 0x10,		/* in al, 0x10 */
		0xe6, 0x11,		/* out 0x11, al */
		0xba, 0x34, 0x12,	/* mov dx, 0x1234 */
		0xed,			/* in ax, dx */
		0xef,			/* out dx, ax */
		0x66, 0xe5, 0x20,	/* in eax, 0x20 */
		0x66, 0xe7, 0x21,	/* out 0x21, eax */
		0xfa, 0xf4,		/* cli; hlt */
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);

	memcpy(addr_gpa2hva(vm, CODE_GPA), code, sizeof(code));
	vcpu_setup_real_mode(vcpu, CODE_GPA >> 4, 0);

	vcpu_answer_in(vcpu, 0x10, 1, 0x7e);
	vcpu_expect_out(vcpu, 0x11, 1, 0x7e);
	vcpu_answer_in(vcpu, 0x1234, 2, 0x9abc);
	vcpu_expect_out(vcpu, 0x1234, 2, 0x9abc);
	vcpu_answer_in(vcpu, 0x20, 4, 0x13579bdf);
	vcpu_expect_out(vcpu, 0x21, 4, 0x13579bdf);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vm_free(vm);
}

/* A 32-bit protected-mode guest: the default operand size is 32 bits. */
TEST(protected_mode_out_and_in_every_size)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0x00, 0x03,	/* mov dx, 0x300 */
		0x66, 0xed,		/* in ax, dx */
		0x66, 0xef,		/* out dx, ax */
		0xed,			/* in eax, dx */
		0xef,			/* out dx, eax */
		0xec,			/* in al, dx */
		0xee,			/* out dx, al */
		0xfa, 0xf4,		/* cli; hlt */
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_regs r;

	memcpy(addr_gpa2hva(vm, CODE_GPA), code, sizeof(code));
	vcpu_setup_protected_mode(vcpu, CODE_GPA);
	vcpu_get_regs(vcpu, &r);
	r.rax = 0;
	vcpu_set_regs(vcpu, &r);

	vcpu_answer_in(vcpu, 0x300, 2, 0x4321);
	vcpu_expect_out(vcpu, 0x300, 2, 0x4321);
	vcpu_answer_in(vcpu, 0x300, 4, 0x89abcdef);
	vcpu_expect_out(vcpu, 0x300, 4, 0x89abcdef);
	vcpu_answer_in(vcpu, 0x300, 1, 0x01);
	vcpu_expect_out(vcpu, 0x300, 1, 0x01);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0x89abcd01, r.rax);
	vm_free(vm);
}

/* Port I/O from many iterations: the counters and RIP stay in step. */
static void guest_pio_loop(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint32_t v;

		__asm__ volatile("inl $0x90, %%eax" : "=a"(v));
		__asm__ volatile("outl %%eax, $0x91" : : "a"(v + 1));
	}
	GUEST_DONE();
}

TEST(many_round_trips)
{
	const uint64_t n = 2000;
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_pio_loop, n);
	uint64_t exits_before = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_IO);
	struct ucall uc;
	uint64_t i;

	for (i = 0; i < n; i++) {
		vcpu_answer_in(vcpu, 0x90, 4, (uint32_t)(i * 7));
		vcpu_expect_out(vcpu, 0x91, 4, (uint32_t)(i * 7 + 1));
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	/* Both accesses of every iteration and the ucall. */
	EXPECT_EQ(2 * n + 1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_IO) - exits_before);
	vm_free(vm);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO exits for guest-physical addresses no slot backs: every MOV form the
 * decoder handles (loads and stores of 1, 2, 4 and 8 bytes, MOVZX/MOVSX,
 * MOV moffs, MOV immediate, high-byte and REX registers, SIB and
 * displacement addressing), with the address, size and data checked on
 * both sides; and read-only slots, whose reads are RAM and whose writes
 * exit as MMIO writes.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "exits.h"

#define MMIO_GPA	0xc0000000ULL	/* nothing there: every access exits */
#define RO_GPA		0x80000000ULL	/* a read-only slot */
#define RO_SIZE		0x200000ULL
#define RO_SLOT		1

/*
 * Run the guest, answering/checking its MMIO accesses against steps[] in
 * order, until GUEST_DONE.
 */
static void run_steps(struct __test_metadata *_metadata, struct vcpu *vcpu,
		      const struct mmio_step *steps, unsigned int n)
{
	struct vapicvm_run *run = vcpu->run;
	unsigned int i = 0;
	struct ucall uc;

	for (;;) {
		/* Stale bytes everywhere: the kernel must zero what it does not set. */
		if (i == 0 || steps[i - 1].write)
			memset(&run->mmio, 0xff, sizeof(run->mmio));
		vcpu_run(vcpu);
		if (run->exit_reason != VAPICVM_EXIT_MMIO) {
			uint64_t cmd = get_ucall(vcpu, &uc);

			if (cmd == UCALL_PRINT) {
				TH_LOG("guest: %s", uc.msg);
				continue;
			}
			ASSERT_NE(UCALL_ABORT, cmd)
				TH_LOG("guest assertion at %s:%lu: %s %s", uc.file,
				       (unsigned long)uc.line, uc.expr, uc.msg);
			ASSERT_EQ(UCALL_DONE, cmd)
				TH_LOG("unexpected exit %s at step %u",
				       exit_reason_str(run->exit_reason), i);
			break;
		}
		ASSERT_LT(i, n) TH_LOG("more MMIO exits than expected");
		EXPECT_EQ(0, run->mmio.pad[0] | run->mmio.pad[1] | run->mmio.pad[2])
			TH_LOG("step %u: mmio.pad", i);
		EXPECT_EQ(0, run->flags);
		if (run->mmio.len < 8) {
			EXPECT_EQ(0, run->mmio.data[run->mmio.len])
				TH_LOG("step %u: data beyond len", i);
		}
		/* Junk past len must not reach the guest. */
		if (!steps[i].write)
			memset(run->mmio.data, 0xee, sizeof(run->mmio.data));
		vcpu_check_mmio(vcpu, &steps[i], i);
		i++;
	}
	EXPECT_EQ(n, i) TH_LOG("fewer MMIO exits than expected");
}

/* ------------------------------------------------------------------ */
/* Loads                                                               */
/* ------------------------------------------------------------------ */

static const struct mmio_step load_steps[] = {
	{ MMIO_GPA + 0x00, 1, false, 0xa1 },
	{ MMIO_GPA + 0x01, 1, false, 0xb2 },
	{ MMIO_GPA + 0x02, 2, false, 0xc3d4 },
	{ MMIO_GPA + 0x04, 4, false, 0x89abcdef },
	{ MMIO_GPA + 0x08, 8, false, 0x0123456789abcdefULL },
	{ MMIO_GPA + 0x10, 8, false, 0xfedcba9876543210ULL },
	{ MMIO_GPA + 0x18, 4, false, 0x55aa55aa },
	{ MMIO_GPA + 0x20, 1, false, 0xf0 },
	{ MMIO_GPA + 0x22, 2, false, 0x8001 },
	{ MMIO_GPA + 0x24, 1, false, 0x80 },
	{ MMIO_GPA + 0x26, 2, false, 0xfffe },
	{ MMIO_GPA + 0x28, 1, false, 0x7f },
	{ MMIO_GPA + 0x30, 1, false, 0x9c },
	{ MMIO_GPA + 0x34, 4, false, 0x1badb002 },
	{ MMIO_GPA + 0x38, 8, false, 0x8000000000000001ULL },
	{ MMIO_GPA + 0x40 + 3 * 4 + 8, 4, false, 0x0d15ea5e },
	{ MMIO_GPA + 0xffc, 4, false, 0xcafef00d },
	{ MMIO_GPA + 0x60, 1, false, 0xe1 },
	{ MMIO_GPA + 0x62, 2, false, 0x8765 },
};

static void guest_loads(void)
{
	uint64_t r, r13 = 0x1313131313131313ULL;
	uint64_t base = MMIO_GPA;

	/* MOV r8, m8: AL and AH merge into RAX. */
	r = 0x1111111111111111ULL;
	__asm__ volatile("movb (%1), %%al" : "+a"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x11111111111111a1ULL);
	__asm__ volatile("movb 1(%1), %%ah" : "+a"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x111111111111b2a1ULL);
	/* MOV r16 merges, MOV r32 zero-extends, MOV r64 replaces. */
	__asm__ volatile("movw 2(%1), %%ax" : "+a"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x111111111111c3d4ULL);
	__asm__ volatile("movl 4(%1), %%eax" : "+a"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x89abcdefULL);
	__asm__ volatile("movq 8(%1), %%rax" : "+a"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x0123456789abcdefULL);
	/* A REX register. */
	__asm__ volatile("movq 0x10(%1), %%r13\n\t"
			 "movq %%r13, %0"
			 : "=r"(r13) : "b"(base) : "r13", "memory");
	GUEST_ASSERT_EQ(r13, 0xfedcba9876543210ULL);
	__asm__ volatile("movl 0x18(%1), %%r9d\n\t"
			 "movq %%r9, %0"
			 : "=r"(r) : "b"(base) : "r9", "memory");
	GUEST_ASSERT_EQ(r, 0x55aa55aaULL);
	/* MOVZX r32, m8 and MOVZX r64, m16. */
	r = ~0ULL;
	__asm__ volatile("movzbl 0x20(%1), %%ecx" : "+c"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0xf0ULL);
	r = ~0ULL;
	__asm__ volatile("movzwq 0x22(%1), %%rcx" : "+c"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x8001ULL);
	/* MOVSX r64, m8; MOVSX r32, m16 (zero-extended into RAX); MOVSX r16, m8. */
	r = 0;
	__asm__ volatile("movsbq 0x24(%1), %%rdx" : "+d"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffffff80ULL);
	r = 0x2222222222222222ULL;
	__asm__ volatile("movswl 0x26(%1), %%edx" : "+d"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0xfffffffeULL);
	r = 0x2222222222222222ULL;
	__asm__ volatile("movsbw 0x28(%1), %%dx" : "+d"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x222222222222007fULL);
	/* MOV AL/EAX/RAX, moffs64. */
	r = 0x3333333333333333ULL;
	__asm__ volatile("movabs 0xc0000030, %%al" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0x333333333333339cULL);
	__asm__ volatile("movabs 0xc0000034, %%eax" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0x1badb002ULL);
	__asm__ volatile("movabs 0xc0000038, %%rax" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0x8000000000000001ULL);
	/* Base + index * scale + displacement. */
	__asm__ volatile("movl 8(%1,%2,4), %%eax"
			 : "=a"(r) : "b"(base + 0x40), "c"(3ULL) : "memory");
	GUEST_ASSERT_EQ(r, 0x0d15ea5eULL);
	/* The last dword of the page. */
	__asm__ volatile("movl 0xffc(%1), %%esi" : "=S"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0xcafef00dULL);
	/* SIL needs a REX prefix: the low byte of RSI, not DH. */
	r = 0x4444444444444444ULL;
	__asm__ volatile("movb 0x60(%1), %%sil" : "+S"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0x44444444444444e1ULL);
	__asm__ volatile("movswq 0x62(%1), %%rdi" : "=D"(r) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffff8765ULL);
	GUEST_DONE();
}

TEST(loads_every_form)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_loads, 0);

	run_steps(_metadata, vcpu, load_steps, ARRAY_SIZE(load_steps));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* TEST and CMP: polls of a device register                            */
/* ------------------------------------------------------------------ */

#define CMP_BASE	(MMIO_GPA + 0x200)
#define FL_CF		0x001
#define FL_PF		0x004
#define FL_AF		0x010
#define FL_ZF		0x040
#define FL_SF		0x080
#define FL_OF		0x800
#define FL_ARITH	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

static const struct mmio_step compare_steps[] = {
	{ CMP_BASE + 0x00, 4, false, 0x1000 },
	{ CMP_BASE + 0x04, 4, false, 0x0fff },
	{ CMP_BASE + 0x08, 1, false, 0x80 },
	{ CMP_BASE + 0x0c, 4, false, 3 },
	{ CMP_BASE + 0x10, 8, false, 0x7fffffffffffffffULL },
	{ CMP_BASE + 0x18, 2, false, 0x7fff },
	{ CMP_BASE + 0x1c, 4, false, 0x10 },
	{ CMP_BASE + 0x20, 4, false, 0x20 },
	{ CMP_BASE + 0x28, 8, false, 0x8000000000000000ULL },
	{ CMP_BASE + 0x30, 1, false, 0x7f },
	{ CMP_BASE + 0x31, 1, false, 0x01 },
	{ CMP_BASE + 0x34, 4, false, 0x12345678 },
};

static volatile uint64_t ram_copy;

/*
 * RFLAGS after instruction tmpl with memory operand [m] and register
 * operand [r] (RAX, preset to regval).
 */
#define FLAGS_AFTER(tmpl, mem, regval) ({					\
	uint64_t __f, __r = (regval);						\
	__asm__ volatile(tmpl "\n\tpushfq\n\tpopq %[f]"				\
			 : [f] "=r"(__f), [r] "+a"(__r)				\
			 : [m] "m"(*(volatile uint64_t *)(mem))			\
			 : "cc", "memory");					\
	__f; })

/* The MMIO operand and a RAM copy of its value must give the same flags. */
#define SAME_FLAGS(tmpl, gpa, value, regval, mask) do {				\
	uint64_t __mmio = FLAGS_AFTER(tmpl, (gpa), (regval));			\
	uint64_t __ram;								\
	ram_copy = (value);							\
	__ram = FLAGS_AFTER(tmpl, &ram_copy, (regval));				\
	GUEST_ASSERT_EQ(__mmio & (mask), __ram & (mask));			\
} while (0)

static void guest_compares(void)
{
	const uint64_t test_mask = FL_ARITH & ~FL_AF;	/* AF: undefined after TEST */

	/* TEST m32, imm32 (F7 /0): a status bit set, then clear. */
	SAME_FLAGS("testl $0x1000, %[m]", CMP_BASE + 0x00, 0x1000, 0, test_mask);
	SAME_FLAGS("testl $0x1000, %[m]", CMP_BASE + 0x04, 0x0fff, 0, test_mask);
	/* TEST m8, imm8 (F6 /0). */
	SAME_FLAGS("testb $0x80, %[m]", CMP_BASE + 0x08, 0x80, 0, test_mask);
	/* CMP m32, imm8 (83 /7), borrow. */
	SAME_FLAGS("cmpl $5, %[m]", CMP_BASE + 0x0c, 3, 0, FL_ARITH);
	/* CMP m64, imm8 sign-extended to -1 (REX.W 83 /7). */
	SAME_FLAGS("cmpq $-1, %[m]", CMP_BASE + 0x10, 0x7fffffffffffffffULL, 0, FL_ARITH);
	/* CMP m16, imm16 (66 81 /7): signed overflow. */
	SAME_FLAGS("cmpw $0x8000, %[m]", CMP_BASE + 0x18, 0x7fff, 0, FL_ARITH);
	/* CMP m32, r32 (39): equal. */
	SAME_FLAGS("cmpl %k[r], %[m]", CMP_BASE + 0x1c, 0x10, 0x10, FL_ARITH);
	/* CMP r32, m32 (3B): register minus memory. */
	SAME_FLAGS("cmpl %[m], %k[r]", CMP_BASE + 0x20, 0x20, 0x10, FL_ARITH);
	/* TEST m64, r64 (REX.W 85). */
	SAME_FLAGS("testq %q[r], %[m]", CMP_BASE + 0x28, 0x8000000000000000ULL, ~0ULL, test_mask);
	/* CMP m8, r8 (38) and CMP r8, m8 with AH (3A, a high-byte register). */
	SAME_FLAGS("cmpb %b[r], %[m]", CMP_BASE + 0x30, 0x7f, 0x80, FL_ARITH);
	SAME_FLAGS("cmpb %[m], %h[r]", CMP_BASE + 0x31, 0x01, 0x0100, FL_ARITH);
	/* CMP m32, imm32 (81 /7), and no register or memory changed by any. */
	SAME_FLAGS("cmpl $0x12345679, %[m]", CMP_BASE + 0x34, 0x12345678, 0, FL_ARITH);
	GUEST_DONE();
}

TEST(test_and_cmp_set_flags)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_compares, 0);

	run_steps(_metadata, vcpu, compare_steps, ARRAY_SIZE(compare_steps));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */
/* ------------------------------------------------------------------ */

static const struct mmio_step store_steps[] = {
	{ MMIO_GPA + 0x100, 1, true, 0x11 },
	{ MMIO_GPA + 0x101, 1, true, 0x77 },
	{ MMIO_GPA + 0x102, 2, true, 0x6655 },
	{ MMIO_GPA + 0x104, 4, true, 0x44332211 },
	{ MMIO_GPA + 0x108, 8, true, 0x8877665544332211ULL },
	{ MMIO_GPA + 0x110, 8, true, 0x0f0e0d0c0b0a0908ULL },
	{ MMIO_GPA + 0x118, 4, true, 0x0b0a0908 },
	{ MMIO_GPA + 0x120, 1, true, 0x5a },
	{ MMIO_GPA + 0x122, 2, true, 0xa55a },
	{ MMIO_GPA + 0x124, 4, true, 0xdeadbeef },
	{ MMIO_GPA + 0x128, 8, true, 0xfffffffffffffffeULL },
	{ MMIO_GPA + 0x130, 8, true, 0x7fffffffULL },
	{ MMIO_GPA + 0x138, 1, true, 0x11 },
	{ MMIO_GPA + 0x13c, 4, true, 0x44332211 },
	{ MMIO_GPA + 0x140, 8, true, 0x8877665544332211ULL },
	{ MMIO_GPA + 0x150 + 2 * 8 + 4, 2, true, 0x2211 },
	{ MMIO_GPA + 0x170, 1, true, 0x3c },
};

static void guest_stores(void)
{
	uint64_t v = 0x8877665544332211ULL;
	uint64_t base = MMIO_GPA;

	/* MOV m8, r8 (AL, then AH), m16, m32, m64. */
	__asm__ volatile("movb %%al, 0x100(%1)" : : "a"(v), "b"(base) : "memory");
	__asm__ volatile("movb %%ah, 0x101(%1)" : : "a"(0x7700ULL), "b"(base) : "memory");
	__asm__ volatile("movw %%ax, 0x102(%1)" : : "a"(0x6655ULL), "b"(base) : "memory");
	__asm__ volatile("movl %%eax, 0x104(%1)" : : "a"(v), "b"(base) : "memory");
	__asm__ volatile("movq %%rax, 0x108(%1)" : : "a"(v), "b"(base) : "memory");
	/* REX registers as the source. */
	__asm__ volatile("movq %0, %%r10\n\t"
			 "movq %%r10, 0x110(%1)"
			 : : "r"(0x0f0e0d0c0b0a0908ULL), "b"(base) : "r10", "memory");
	__asm__ volatile("movq %0, %%r14\n\t"
			 "movl %%r14d, 0x118(%1)"
			 : : "r"(0x0f0e0d0c0b0a0908ULL), "b"(base) : "r14", "memory");
	/* MOV m, imm: 8, 16, 32 bits, and 64 bits from a sign-extended imm32. */
	__asm__ volatile("movb $0x5a, 0x120(%0)" : : "b"(base) : "memory");
	__asm__ volatile("movw $0xa55a, 0x122(%0)" : : "b"(base) : "memory");
	__asm__ volatile("movl $0xdeadbeef, 0x124(%0)" : : "b"(base) : "memory");
	__asm__ volatile("movq $-2, 0x128(%0)" : : "b"(base) : "memory");
	__asm__ volatile("movq $0x7fffffff, 0x130(%0)" : : "b"(base) : "memory");
	/* MOV moffs64, AL/EAX/RAX. */
	__asm__ volatile("movabs %%al, 0xc0000138" : : "a"(v) : "memory");
	__asm__ volatile("movabs %%eax, 0xc000013c" : : "a"(v) : "memory");
	__asm__ volatile("movabs %%rax, 0xc0000140" : : "a"(v) : "memory");
	/* SIB with displacement, 16-bit store from a high register number. */
	__asm__ volatile("movq %0, %%r8\n\t"
			 "movw %%r8w, 4(%1,%2,8)"
			 : : "r"(v), "b"(base + 0x150), "c"(2ULL) : "r8", "memory");
	/* DIL: the low byte of RDI. */
	__asm__ volatile("movb %%dil, 0x170(%1)" : : "D"(0x123cULL), "b"(base) : "memory");
	GUEST_DONE();
}

TEST(stores_every_form)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_stores, 0);

	run_steps(_metadata, vcpu, store_steps, ARRAY_SIZE(store_steps));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* A 32-bit protected-mode guest                                       */
/* ------------------------------------------------------------------ */

TEST(protected_mode_32bit)
{
	/*
	 * mov eax, [0xc0000200]	; a1 moffs32
	 * mov [ebx], eax		; 89 03
	 * mov [ebx+4], ax		; 66 89 43 04
	 * movzx ecx, byte [ebx+8]	; 0f b6 4b 08
	 * mov dword [ebx+0xc], ecx	; 89 4b 0c
	 * cli; hlt
	 */
	static const uint8_t code[] = {
		0xa1, 0x00, 0x02, 0x00, 0xc0,
		0x89, 0x03,
		0x66, 0x89, 0x43, 0x04,
		0x0f, 0xb6, 0x4b, 0x08,
		0x89, 0x4b, 0x0c,
		0xfa, 0xf4,
	};
	static const struct mmio_step steps[] = {
		{ MMIO_GPA + 0x200, 4, false, 0x12345678 },
		{ MMIO_GPA + 0x300, 4, true, 0x12345678 },
		{ MMIO_GPA + 0x304, 2, true, 0x5678 },
		{ MMIO_GPA + 0x308, 1, false, 0xfe },
		{ MMIO_GPA + 0x30c, 4, true, 0xfe },
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs r;

	memcpy(addr_gpa2hva(vm, 0x7000), code, sizeof(code));
	vcpu_setup_protected_mode(vcpu, 0x7000);
	vcpu_get_regs(vcpu, &r);
	r.rbx = MMIO_GPA + 0x300;
	r.rcx = 0xffffffff;
	vcpu_set_regs(vcpu, &r);

	vcpu_expect_mmio(vcpu, steps, ARRAY_SIZE(steps));
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0x12345678, r.rax);
	EXPECT_EQ(0xfe, r.rcx);
	EXPECT_EQ(0x7000 + sizeof(code), r.rip);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* A load that userspace leaves unanswered is completed at the next RUN */
/* ------------------------------------------------------------------ */

static void guest_load_twice(void)
{
	uint64_t a, b;

	a = *(volatile uint32_t *)(MMIO_GPA + 0x400);
	b = *(volatile uint32_t *)(MMIO_GPA + 0x404);
	GUEST_SYNC_ARGS(1, a, b);
	GUEST_DONE();
}

TEST(load_completes_with_data_given_at_next_run)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_load_twice, 0);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs r1, r2;
	struct ucall uc;
	uint32_t v;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	ASSERT_EQ(MMIO_GPA + 0x400, run->mmio.phys_addr);
	vcpu_get_regs(vcpu, &r1);
	/* Userspace may look at other things before it answers. */
	vcpu_get_regs(vcpu, &r2);
	EXPECT_EQ(r1.rip, r2.rip);
	v = 0xaaaa5555;
	memcpy(run->mmio.data, &v, 4);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	ASSERT_EQ(MMIO_GPA + 0x404, run->mmio.phys_addr);
	vcpu_get_regs(vcpu, &r2);
	EXPECT_NE(r1.rip, r2.rip) TH_LOG("the first load did not complete");
	v = 0x5555aaaa;
	memcpy(run->mmio.data, &v, 4);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0xaaaa5555, uc.args[1]);
	EXPECT_EQ(0x5555aaaa, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Read-only slots                                                     */
/* ------------------------------------------------------------------ */

static void *ro_memory(struct __test_metadata *_metadata, struct vm *vm, uint32_t flags)
{
	uint64_t *mem = mmap(NULL, RO_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int i;

	EXPECT_NE(MAP_FAILED, mem);
	for (i = 0; i < RO_SIZE / 8; i++)
		mem[i] = 0x5100000000000000ULL | i;
	vm_set_memory_region(vm, RO_SLOT, flags, RO_GPA, RO_SIZE, mem);
	return mem;
}

static void guest_readonly(void)
{
	volatile uint64_t *p = (volatile uint64_t *)RO_GPA;
	volatile uint32_t *q = (volatile uint32_t *)(RO_GPA + RO_SIZE - 4);

	/* Reads are plain RAM: no exit. */
	GUEST_ASSERT_EQ(p[0], 0x5100000000000000ULL);
	GUEST_ASSERT_EQ(p[1000], 0x5100000000000000ULL | 1000);
	GUEST_SYNC(1);
	/* Writes exit as MMIO writes; the memory is unchanged. */
	p[1] = 0x1234567890abcdefULL;
	*q = 0xbadc0ffe;
	*(volatile uint8_t *)(RO_GPA + 0x1003) = 0x42;
	GUEST_ASSERT_EQ(p[1], 0x5100000000000001ULL);
	GUEST_ASSERT_EQ(*(volatile uint8_t *)(RO_GPA + 0x1003), 0);
	GUEST_SYNC(2);
	/* The host changed the memory: the guest reads the new value. */
	GUEST_ASSERT_EQ(p[2], 0x600dULL);
	GUEST_SYNC(3);
	/* Writable now: the write lands in the host's memory. */
	p[3] = 0x77;
	GUEST_SYNC(4);
	/* Read-only again. */
	p[4] = 0x88;
	GUEST_ASSERT_EQ(p[4], 0x5100000000000004ULL);
	GUEST_DONE();
}

TEST(readonly_slot)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct vapicvm_run *run;
	uint64_t *mem;
	struct ucall uc;
	uint64_t d;

	vm = vm_create();
	if (__vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_READONLY_MEM) != 1) {
		vm_free(vm);
		SKIP(return, "VAPICVM_CAP_READONLY_MEM not supported");
	}
	vcpu = vm_add_vcpu(vm, 0, guest_readonly, 0);
	run = vcpu->run;
	mem = ro_memory(_metadata, vm, VAPICVM_MEM_READONLY);

	/* Reads reach the SYNC without an MMIO exit (vcpu_run_ucall fails on one). */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(1, uc.args[0]);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	EXPECT_EQ(RO_GPA + 8, run->mmio.phys_addr);
	EXPECT_EQ(8, run->mmio.len);
	EXPECT_TRUE(run->mmio.is_write);
	memcpy(&d, run->mmio.data, 8);
	EXPECT_EQ(0x1234567890abcdefULL, d);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	EXPECT_EQ(RO_GPA + RO_SIZE - 4, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_TRUE(run->mmio.is_write);
	d = 0;
	memcpy(&d, run->mmio.data, 4);
	EXPECT_EQ(0xbadc0ffe, d);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	EXPECT_EQ(RO_GPA + 0x1003, run->mmio.phys_addr);
	EXPECT_EQ(1, run->mmio.len);
	EXPECT_EQ(0x42, run->mmio.data[0]);

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(0x5100000000000001ULL, mem[1]);
	EXPECT_EQ(0, ((uint8_t *)mem)[0x1003]);

	mem[2] = 0x600d;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(3, uc.args[0]);

	/* Toggle READONLY off: same slot, same memory. */
	vm_set_memory_region(vm, RO_SLOT, 0, RO_GPA, RO_SIZE, mem);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(4, uc.args[0]);
	EXPECT_EQ(0x77, mem[3]);

	/* And on again: the writable mapping must be gone. */
	vm_set_memory_region(vm, RO_SLOT, VAPICVM_MEM_READONLY, RO_GPA, RO_SIZE, mem);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason);
	EXPECT_EQ(RO_GPA + 32, run->mmio.phys_addr);
	EXPECT_TRUE(run->mmio.is_write);
	EXPECT_EQ(0x88, run->mmio.data[0]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x5100000000000004ULL, mem[4]);
	vm_free(vm);
	munmap(mem, RO_SIZE);
}

/* Code may run from a read-only slot (a ROM). */
TEST(execute_from_readonly_slot)
{
	/* mov eax, [rip + 0x10]; out 0x20, eax; cli; hlt */
	static const uint8_t code[] = { 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0xe7, 0x20,
					0xfa, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	uint8_t *rom = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct vapicvm_regs r;
	uint32_t data;

	ASSERT_NE(MAP_FAILED, rom);
	memcpy(rom, code, sizeof(code));
	*(uint32_t *)(rom + 6 + 0x10) = 0x600dc0de;
	/* The userspace mapping itself may be read-only. */
	ASSERT_EQ(0, mprotect(rom, 4096, PROT_READ));
	vm_set_memory_region(vm, RO_SLOT, VAPICVM_MEM_READONLY, RO_GPA, 4096, rom);
	vcpu_setup_long_mode(vcpu, (void *)RO_GPA, 0);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_IO, vcpu->run->exit_reason);
	memcpy(&data, (uint8_t *)vcpu->run + vcpu->run->io.data_offset, 4);
	EXPECT_EQ(0x600dc0de, data);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(RO_GPA + sizeof(code), r.rip);
	vm_free(vm);
	munmap(rom, 4096);
}

/* ------------------------------------------------------------------ */
/* Real mode: 16-bit operands and addressing, prefixes                 */
/* ------------------------------------------------------------------ */

TEST(real_mode_16bit_forms)
{
	/* A guest with RAM below 640 KiB only: 0xa0000 is MMIO, as on a PC. */
	static const uint8_t code[] = {
		0xb8, 0x00, 0xa0,			/* mov ax, 0xa000 */
		0x8e, 0xc0,				/* mov es, ax */
		0x26, 0xc6, 0x06, 0x10, 0x00, 0x5a,	/* mov byte [es:0x10], 0x5a */
		0x26, 0xa1, 0x20, 0x00,			/* mov ax, [es:0x20] */
		0xbb, 0x30, 0x00,			/* mov bx, 0x30 */
		0xbe, 0x04, 0x00,			/* mov si, 4 */
		0x26, 0x89, 0x40, 0x02,			/* mov [es:bx+si+2], ax */
		0x26, 0x66, 0x8b, 0x0f,			/* mov ecx, [es:bx] */
		0x66, 0xbf, 0x40, 0x00, 0x00, 0x00,	/* mov edi, 0x40 */
		0x26, 0x67, 0x66, 0x89, 0x0f,		/* mov [es:edi], ecx */
		0x26, 0x0f, 0xb6, 0x16, 0x50, 0x00,	/* movzx dx, byte [es:0x50] */
		0xfa, 0xf4,				/* cli; hlt */
	};
	static const struct mmio_step steps[] = {
		{ 0xa0010, 1, true, 0x5a },
		{ 0xa0020, 2, false, 0x1234 },
		{ 0xa0036, 2, true, 0x1234 },
		{ 0xa0030, 4, false, 0xdeadbeef },
		{ 0xa0040, 4, true, 0xdeadbeef },
		{ 0xa0050, 1, false, 0x99 },
	};
	struct vm *vm = vm_create_bare(0, 0);
	uint8_t *mem = mmap(NULL, 0xa0000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct vcpu *vcpu;
	struct vapicvm_run *run;
	struct vapicvm_regs r;

	ASSERT_NE(MAP_FAILED, mem);
	vm_set_memory_region(vm, 0, 0, 0, 0xa0000, mem);
	memcpy(mem + 0x7000, code, sizeof(code));
	vcpu = vm_add_vcpu_bare(vm, 0);
	run = vcpu->run;
	vcpu_setup_real_mode(vcpu, 0, 0x7000);
	vcpu_get_regs(vcpu, &r);
	r.rdx = 0xffff;
	vcpu_set_regs(vcpu, &r);

	vcpu_expect_mmio(vcpu, steps, ARRAY_SIZE(steps));
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0x1234, r.rax & 0xffff);
	EXPECT_EQ(0xdeadbeef, r.rcx & 0xffffffff);
	EXPECT_EQ(0x0099, r.rdx & 0xffff);
	EXPECT_EQ(0x7000 + sizeof(code), r.rip);
	vm_free(vm);
	munmap(mem, 0xa0000);
}

/* An instruction whose bytes straddle two pages of guest memory. */
TEST(instruction_across_a_page_boundary)
{
	/* movl $0x12345678, 0x100(%rax); hlt -- starting 4 bytes before a page ends */
	static const uint8_t code[] = { 0xc7, 0x80, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34,
					0x12, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, (void *)0x7ffc, 0);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs r;
	uint32_t d;

	memcpy(addr_gpa2hva(vm, 0x7ffc), code, sizeof(code));
	vcpu_get_regs(vcpu, &r);
	r.rax = MMIO_GPA;
	vcpu_set_regs(vcpu, &r);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason)
		TH_LOG("%s (internal error %u)", exit_reason_str(run->exit_reason),
		       run->internal.suberror);
	EXPECT_EQ(MMIO_GPA + 0x100, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_TRUE(run->mmio.is_write);
	memcpy(&d, run->mmio.data, 4);
	EXPECT_EQ(0x12345678, d);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0x7ffc + sizeof(code), r.rip);
	vm_free(vm);
}

TEST_HARNESS_MAIN

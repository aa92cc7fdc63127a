// SPDX-License-Identifier: GPL-2.0
/*
 * Guest code reaching port I/O and HLT in real, protected and long mode.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define CODE_GPA	0x7000

static void put_code(struct vm *vm, const uint8_t *code, size_t len)
{
	memcpy(addr_gpa2hva(vm, CODE_GPA), code, len);
}

static void expect_out(struct __test_metadata *_metadata, struct vcpu *vcpu, uint16_t port,
		       uint8_t size, uint32_t value)
{
	struct vapicvm_run *run = vcpu->run;
	uint32_t data = 0;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_IO, run->exit_reason);
	ASSERT_EQ(VAPICVM_EXIT_IO_OUT, run->io.direction);
	ASSERT_EQ(port, run->io.port);
	ASSERT_EQ(size, run->io.size);
	ASSERT_EQ(1, run->io.count);
	memcpy(&data, (uint8_t *)run + run->io.data_offset, size);
	ASSERT_EQ(value, data);
}

static void expect_hlt(struct __test_metadata *_metadata, struct vcpu *vcpu)
{
	struct vapicvm_mp_state mp;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	ASSERT_EQ(0, ioctl(vcpu->fd, VAPICVM_GET_MP_STATE, &mp));
	EXPECT_EQ(VAPICVM_MP_STATE_HALTED, mp.mp_state);
}

TEST(real_mode)
{
	/* mov $0x42,%al; out %al,$0x10; mov $0x1234,%ax; out %ax,$0x12; cli; hlt */
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xb8, 0x34, 0x12, 0xe7, 0x12,
					0xfa, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	put_code(vm, code, sizeof(code));
	vcpu_get_sregs(vcpu, &s);
	ASSERT_EQ(0, s.cr0 & 1) TH_LOG("a new vCPU starts in real mode");
	s.cs.selector = CODE_GPA >> 4;
	s.cs.base = CODE_GPA;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0xfff0, r.rip) TH_LOG("reset RIP");
	r.rip = 0;
	vcpu_set_regs(vcpu, &r);

	expect_out(_metadata, vcpu, 0x10, 1, 0x42);
	expect_out(_metadata, vcpu, 0x12, 2, 0x1234);
	expect_hlt(_metadata, vcpu);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(sizeof(code), r.rip) TH_LOG("RIP after HLT");
	vm_free(vm);
}

TEST(protected_mode_32bit)
{
	/* mov $0xdeadbeef,%eax; out %eax,$0x20; cli; hlt */
	static const uint8_t code[] = { 0xb8, 0xef, 0xbe, 0xad, 0xde, 0xe7, 0x20, 0xfa, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	put_code(vm, code, sizeof(code));
	vcpu_get_sregs(vcpu, &s);
	s.cr0 |= 1;	/* PE, paging off */
	s.cs = (struct vapicvm_segment){ .base = 0, .limit = 0xffffffff, .selector = GDT_CODE32,
					 .type = 11, .present = 1, .s = 1, .db = 1, .g = 1 };
	s.ds = (struct vapicvm_segment){ .base = 0, .limit = 0xffffffff, .selector = GDT_DATA,
					 .type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.gdt.base = GUEST_GDT;
	s.gdt.limit = 0x3f;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_regs(vcpu, &r);
	r.rip = CODE_GPA;
	vcpu_set_regs(vcpu, &r);

	expect_out(_metadata, vcpu, 0x20, 4, 0xdeadbeef);
	expect_hlt(_metadata, vcpu);
	vm_free(vm);
}

static void guest_long_mode(uint64_t arg)
{
	GUEST_ASSERT_EQ(arg, 0x1234);
	guest_outb(0x30, 0x77);
	GUEST_SYNC(1);
	guest_cli();
	guest_halt();
}

TEST(long_mode)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_long_mode, 0x1234);
	struct ucall uc;

	expect_out(_metadata, vcpu, 0x30, 1, 0x77);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(1, uc.args[0]);
	expect_hlt(_metadata, vcpu);
	vm_free(vm);
}

/* Real mode -> protected mode -> long mode, all done by the guest itself. */
TEST(mode_switches_by_the_guest)
{
	/*
	 * At CODE_GPA, real mode, CS=DS=0:
	 *   lgdt gdtr; mov cr0 |= PE; ljmp $0x28, $pm  (32-bit)
	 * pm:  out 0x40 (1); mov cr4 |= PAE; cr3 = PML4; EFER.LME; cr0 |= PG;
	 *      ljmp $0x08, $lm  (64-bit)
	 * lm:  out 0x40 (2); hlt
	 */
	static const uint8_t code[] = {
		/* 0x00 */ 0xfa,				/* cli */
		/* 0x01 */ 0x0f, 0x01, 0x16, 0x60, 0x70,	/* lgdt [0x7060] */
		/* 0x06 */ 0x0f, 0x20, 0xc0,			/* mov eax, cr0 */
		/* 0x09 */ 0x66, 0x83, 0xc8, 0x01,		/* or eax, 1 */
		/* 0x0d */ 0x0f, 0x22, 0xc0,			/* mov cr0, eax */
		/* 0x10 */ 0x66, 0xea, 0x18, 0x70, 0x00, 0x00, 0x28, 0x00, /* ljmp 0x28:0x7018 */
		/* 0x18: 32-bit */
		0xb8, 0x10, 0x00, 0x00, 0x00,			/* mov eax, 0x10 */
		0x8e, 0xd8, 0x8e, 0xd0,				/* mov ds, eax; mov ss, eax */
		0xb0, 0x01, 0xe6, 0x40,				/* mov al,1; out 0x40,al */
		0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, /* cr4 |= PAE */
		0xb8, 0x00, 0x00, 0x10, 0x00, 0x0f, 0x22, 0xd8,	/* cr3 = 0x100000 */
		0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32,	/* rdmsr EFER */
		0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30,	/* or eax, LME; wrmsr */
		0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, /* cr0 |= PG */
		0xea, 0x70, 0x70, 0x00, 0x00, 0x08, 0x00,	/* ljmp 0x08:0x7070 */
	};
	static const uint8_t lm[] = { 0xb0, 0x02, 0xe6, 0x40, 0xfa, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	uint8_t *mem = addr_gpa2hva(vm, CODE_GPA);
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	memcpy(mem, code, sizeof(code));
	/* GDTR image at 0x7060: limit, base. */
	*(uint16_t *)(mem + 0x60) = 0x3f;
	*(uint32_t *)(mem + 0x62) = GUEST_GDT;
	memcpy(mem + 0x70, lm, sizeof(lm));
	ASSERT_LT(sizeof(code), 0x60);

	vcpu_get_sregs(vcpu, &s);
	s.cs.selector = 0;
	s.cs.base = 0;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_regs(vcpu, &r);
	r.rip = CODE_GPA;
	vcpu_set_regs(vcpu, &r);

	expect_out(_metadata, vcpu, 0x40, 1, 1);
	expect_out(_metadata, vcpu, 0x40, 1, 2);
	expect_hlt(_metadata, vcpu);
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0x500, s.efer & 0x500) TH_LOG("EFER.LMA and LME after the switch");
	EXPECT_TRUE(s.cs.l);
	vm_free(vm);
}

TEST_HARNESS_MAIN

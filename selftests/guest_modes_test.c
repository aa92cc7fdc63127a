// SPDX-License-Identifier: GPL-2.0
/*
 * Guest code reaching port I/O and HLT in real, protected and long mode.
 */
#include "kselftest_harness.h"
#include "exits.h"

#define CODE_GPA	0x7000

static void put_code(struct vm *vm, const uint8_t *code, size_t len)
{
	memcpy(addr_gpa2hva(vm, CODE_GPA), code, len);
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
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0xfff0, r.rip) TH_LOG("reset RIP");
	vcpu_setup_real_mode(vcpu, CODE_GPA >> 4, 0);

	vcpu_expect_out(vcpu, 0x10, 1, 0x42);
	vcpu_expect_out(vcpu, 0x12, 2, 0x1234);
	vcpu_expect_hlt(vcpu);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(sizeof(code), r.rip) TH_LOG("RIP after HLT");
	vm_free(vm);
}

/*
 * An exception the hypervisor raises in real mode (unrestricted guest): #GP
 * for an MSR that is not virtualized.  Real mode pushes no error code, and
 * VM entry refuses to deliver one there.
 */
TEST(gp_raised_by_the_hypervisor_in_real_mode)
{
	/* mov $0x12345,%ecx; rdmsr; hlt */
	static const uint8_t code[] = { 0x66, 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32, 0xf4 };
	/* The #GP handler at 0000:7100: mov $0x42,%al; out %al,$0x80; cli; hlt */
	static const uint8_t handler[] = { 0xb0, 0x42, 0xe6, 0x80, 0xfa, 0xf4 };
	static const uint16_t ivt_gp[2] = { CODE_GPA + 0x100, 0 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_regs r;

	put_code(vm, code, sizeof(code));
	memcpy(addr_gpa2hva(vm, CODE_GPA + 0x100), handler, sizeof(handler));
	memcpy(addr_gpa2hva(vm, 13 * 4), ivt_gp, sizeof(ivt_gp));
	vcpu_setup_real_mode(vcpu, CODE_GPA >> 4, 0);

	vcpu_expect_out(vcpu, 0x80, 1, 0x42);
	vcpu_get_regs(vcpu, &r);
	/* FLAGS, CS and IP on the stack (SP was 0), no error code. */
	EXPECT_EQ(0xfffa, r.rsp & 0xffff);
	vm_free(vm);
}

/*
 * Real mode: RDMSR of an MSR that is not virtualized raises #GP, whose
 * delivery fails on its stack (0x30000, MMIO: guest RAM is below 128 KiB
 * and from 1 MiB on), so RUN returns with the #GP captured for
 * re-injection.  Also puts a 32-bit #GP handler at 0x7100 (mov $0x42,%al;
 * out %al,$0x80; cli; hlt) and an IDT for it at 0x1000.
 */
static void gp_captured_in_real_mode(struct __test_metadata *_metadata, struct vm *vm,
				     struct vcpu *vcpu)
{
	/* mov $0x3000,%ax; mov %ax,%ss; mov $0x100,%sp; mov $0x12345,%ecx; rdmsr; hlt */
	static const uint8_t code[] = { 0xb8, 0x00, 0x30, 0x8e, 0xd0, 0xbc, 0x00, 0x01,
					0x66, 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32, 0xf4 };
	static const uint8_t handler[] = { 0xb0, 0x42, 0xe6, 0x80, 0xfa, 0xf4 };
	/* An interrupt gate to GDT_CODE32:0x7100. */
	static const uint32_t gate[2] = { (GDT_CODE32 << 16) | (CODE_GPA + 0x100), 0x8e00 };

	vm_set_memory_region(vm, 0, 0, 0, 0, NULL);
	vm_set_memory_region(vm, 0, 0, 0, 0x20000, vm->mem);
	vm_set_memory_region(vm, 1, 0, 0x100000, vm->mem_size - 0x100000, vm->mem + 0x100000);
	put_code(vm, code, sizeof(code));
	memcpy(addr_gpa2hva(vm, CODE_GPA + 0x100), handler, sizeof(handler));
	memcpy(addr_gpa2hva(vm, 0x1000 + 13 * 8), gate, sizeof(gate));
	vcpu_setup_real_mode(vcpu, CODE_GPA >> 4, 0);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_INTERNAL_ERROR, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	ASSERT_EQ(VAPICVM_INTERNAL_ERROR_DELIVERY_EV, vcpu->run->internal.suberror)
		TH_LOG("suberror %u, data[0] %#llx", vcpu->run->internal.suberror,
		       (unsigned long long)vcpu->run->internal.data[0]);
}

/* 32-bit protected mode at hlt, with the IDT and a stack at 0x8000. */
static void protected_mode_with_idt(struct vcpu *vcpu)
{
	struct vapicvm_sregs s;
	struct vapicvm_regs r;

	vcpu_setup_protected_mode(vcpu, CODE_GPA + 0x10);
	vcpu_get_sregs(vcpu, &s);
	s.idt.base = 0x1000;
	s.idt.limit = 0x7ff;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_regs(vcpu, &r);
	r.rsp = 0x8000;
	vcpu_set_regs(vcpu, &r);
}

/* The captured #GP reaches the 32-bit handler, with an error code. */
static void expect_gp_in_protected_mode(struct __test_metadata *_metadata, struct vcpu *vcpu)
{
	struct vapicvm_regs r;

	vcpu_expect_out(vcpu, 0x80, 1, 0x42);
	vcpu_get_regs(vcpu, &r);
	/* EFLAGS, CS, EIP and the error code on the stack. */
	EXPECT_EQ(0x8000 - 16, r.rsp);
}

/*
 * The #GP captured in real mode, re-injected after userspace switched the
 * vCPU to protected mode: there it is delivered with an error code (0), as
 * VM entry demands.
 */
TEST(real_mode_exception_reinjected_in_protected_mode)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);

	gp_captured_in_real_mode(_metadata, vm, vcpu);
	protected_mode_with_idt(vcpu);
	expect_gp_in_protected_mode(_metadata, vcpu);
	vm_free(vm);
}

/*
 * A VM entry that fails on the guest state (CR0.PG without CR0.PE) while
 * it injects an event: the event stays pending, and is delivered once
 * userspace has made the state valid (here: protected mode).
 */
TEST(event_pending_across_a_failed_entry)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_sregs s;

	gp_captured_in_real_mode(_metadata, vm, vcpu);
	vcpu_get_sregs(vcpu, &s);
	s.cr0 |= 0x80000000;
	vcpu_set_sregs(vcpu, &s);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_FAIL_ENTRY, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	protected_mode_with_idt(vcpu);
	expect_gp_in_protected_mode(_metadata, vcpu);
	vm_free(vm);
}

TEST(protected_mode_32bit)
{
	/* mov $0xdeadbeef,%eax; out %eax,$0x20; cli; hlt */
	static const uint8_t code[] = { 0xb8, 0xef, 0xbe, 0xad, 0xde, 0xe7, 0x20, 0xfa, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);

	put_code(vm, code, sizeof(code));
	vcpu_setup_protected_mode(vcpu, CODE_GPA);	/* paging off */

	vcpu_expect_out(vcpu, 0x20, 4, 0xdeadbeef);
	vcpu_expect_hlt(vcpu);
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

	vcpu_expect_out(vcpu, 0x30, 1, 0x77);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(1, uc.args[0]);
	vcpu_expect_hlt(vcpu);
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

	memcpy(mem, code, sizeof(code));
	/* GDTR image at 0x7060: limit, base. */
	*(uint16_t *)(mem + 0x60) = 0x3f;
	*(uint32_t *)(mem + 0x62) = GUEST_GDT;
	memcpy(mem + 0x70, lm, sizeof(lm));
	ASSERT_LT(sizeof(code), 0x60);

	vcpu_setup_real_mode(vcpu, 0, CODE_GPA);

	vcpu_expect_out(vcpu, 0x40, 1, 1);
	vcpu_expect_out(vcpu, 0x40, 1, 2);
	vcpu_expect_hlt(vcpu);
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0x500, s.efer & 0x500) TH_LOG("EFER.LMA and LME after the switch");
	EXPECT_TRUE(s.cs.l);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Paging modes: the guest turns paging on itself, then does MMIO     */
/* through non-identity mappings (the decoder must walk its tables)   */
/* ------------------------------------------------------------------ */

#define MMIO_GPA	0xc0000000ULL
#define LINEAR		0x10000000ULL	/* mapped with 4 KiB pages onto MMIO */
#define PT32		0x2000000	/* GUEST_FREE: 32-bit paging tables */
#define PTPAE		0x2010000	/* PAE tables */
#define PT64		0x2020000	/* a 4 KiB-page table for long mode */

_Static_assert(PT32 == GUEST_FREE, "PT32 is hard-coded in the guest code");

/*
 * 32-bit protected-mode guest code (paging off on entry, flat segments).
 * Each routine turns paging on, does its MMIO through LINEAR, and halts.
 */
extern char guest_paging32[], guest_pae[];
__asm__(".pushsection .text\n\t"
	".code32\n"
	"guest_paging32:\n\t"
	"mov %cr4, %eax\n\t"
	"or $0x10, %eax\n\t"			/* PSE */
	"mov %eax, %cr4\n\t"
	"mov $0x2000000, %eax\n\t"
	"mov %eax, %cr3\n\t"
	"mov %cr0, %eax\n\t"
	"or $0x80000000, %eax\n\t"		/* PG: exits */
	"mov %eax, %cr0\n\t"
	"mov 0x10001008, %eax\n\t"		/* 4 KiB page -> 0xc0001008 */
	"mov %eax, 0x10002010\n\t"		/* 4 KiB page -> 0xc0002010 */
	"movb $0x5a, 0x10400020\n\t"		/* 4 MiB page -> 0xc0400020 */
	"movzwl 0x10400030, %ebx\n\t"		/* 4 MiB page -> 0xc0400030 */
	"cli\n\t"
	"hlt\n"
	"guest_pae:\n\t"
	"mov $0x2010000, %eax\n\t"
	"mov %eax, %cr3\n\t"
	"mov %cr4, %eax\n\t"
	"or $0x20, %eax\n\t"			/* PAE: exits */
	"mov %eax, %cr4\n\t"
	"mov %cr0, %eax\n\t"
	"or $0x80000000, %eax\n\t"		/* PG: exits, PDPTEs loaded */
	"mov %eax, %cr0\n\t"
	"mov 0x10001008, %eax\n\t"		/* -> 0xc0001008 */
	"mov $0x2013000, %ecx\n\t"		/* the other PDPT: no exit, the CPU */
	"mov %ecx, %cr3\n\t"			/* loads the PDPTEs itself */
	"mov %eax, 0x10001010\n\t"		/* -> 0xc0002010 through the new tables */
	"movw $0x1234, 0x10201ffe\n\t"		/* 2 MiB page -> 0xc0201ffe */
	"cli\n\t"
	"hlt\n\t"
	".code64\n\t"
	".popsection");

TEST(paging_32bit_by_the_guest)
{
	static const struct mmio_step a[] = {
		{ MMIO_GPA + 0x1008, 4, false, 0xfeedf00d },
		{ MMIO_GPA + 0x2010, 4, true, 0xfeedf00d },
		{ MMIO_GPA + 0x400020, 1, true, 0x5a },
		{ MMIO_GPA + 0x400030, 2, false, 0xbeef },
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	uint32_t *pd = addr_gpa2hva(vm, PT32), *pt = addr_gpa2hva(vm, PT32 + 0x1000);
	struct vapicvm_sregs s;
	struct vapicvm_regs r;
	int i;

	for (i = 0; i < 256; i++)
		pd[i] = (i << 22) | 0x83;			/* identity, 4 MiB pages */
	pd[LINEAR >> 22] = (PT32 + 0x1000) | 3;
	pt[1] = (MMIO_GPA + 0x1000) | 3;
	pt[2] = (MMIO_GPA + 0x2000) | 3;
	pd[(LINEAR >> 22) + 1] = (MMIO_GPA + 0x400000) | 0x83;
	vcpu_setup_protected_mode(vcpu, (uint32_t)(uintptr_t)guest_paging32);

	vcpu_expect_mmio(vcpu, a, ARRAY_SIZE(a));
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0xfeedf00d, r.rax);
	EXPECT_EQ(0xbeef, r.rbx);
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(0x80000011, s.cr0 & 0x80000011);
	EXPECT_EQ(0, s.efer & 0x400);
	vm_free(vm);
}

TEST(pae_paging_by_the_guest)
{
	static const struct mmio_step a[] = {
		{ MMIO_GPA + 0x1008, 4, false, 0x600dd00d },
		{ MMIO_GPA + 0x2010, 4, true, 0x600dd00d },
		{ MMIO_GPA + 0x201ffe, 2, true, 0x1234 },
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	uint64_t *pdpt = addr_gpa2hva(vm, PTPAE), *pdpt2 = addr_gpa2hva(vm, PTPAE + 0x3000);
	uint64_t *pd = addr_gpa2hva(vm, PTPAE + 0x1000), *pd2 = addr_gpa2hva(vm, PTPAE + 0x4000);
	uint64_t *pt = addr_gpa2hva(vm, PTPAE + 0x2000), *pt2 = addr_gpa2hva(vm, PTPAE + 0x5000);
	struct vapicvm_sregs s;
	struct vapicvm_regs r;
	int i;

	/* Two PDPTs: identical but for the 4 KiB page at LINEAR + 0x1000. */
	pdpt[0] = (PTPAE + 0x1000) | 1;
	pdpt2[0] = (PTPAE + 0x4000) | 1;
	for (i = 0; i < 512; i++)
		pd[i] = pd2[i] = ((uint64_t)i << 21) | 0x83;	/* identity, 2 MiB pages */
	pd[LINEAR >> 21] = (PTPAE + 0x2000) | 3;
	pd2[LINEAR >> 21] = (PTPAE + 0x5000) | 3;
	pt[1] = (MMIO_GPA + 0x1000) | 3;
	pt2[1] = (MMIO_GPA + 0x2000) | 3;
	pd[(LINEAR >> 21) + 1] = pd2[(LINEAR >> 21) + 1] = (MMIO_GPA + 0x200000) | 0x83;
	vcpu_setup_protected_mode(vcpu, (uint32_t)(uintptr_t)guest_pae);

	vcpu_expect_mmio(vcpu, a, ARRAY_SIZE(a));
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_get_regs(vcpu, &r);
	EXPECT_EQ(0x600dd00d, r.rax);
	vcpu_get_sregs(vcpu, &s);
	EXPECT_EQ(PTPAE + 0x3000, s.cr3);
	EXPECT_EQ(0x20, s.cr4 & 0x20);
	vm_free(vm);
}

/* Long mode with a 4 KiB-page table spliced into the identity map. */
static void guest_4k_pages(void)
{
	uint64_t v;

	__asm__ volatile("movl 0x10001008, %%eax" : "=a"(v) : : "memory");
	__asm__ volatile("movq %0, 0x10003ff8" : : "r"(v << 8) : "memory");
	GUEST_SYNC_ARGS(1, v);
	GUEST_DONE();
}

TEST(long_mode_4k_pages)
{
	static const struct mmio_step a[] = {
		{ MMIO_GPA + 0x1008, 4, false, 0x0badcafe },
		{ MMIO_GPA + 0x3ff8, 8, true, 0x0badcafe00ULL },
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_4k_pages, 0);
	uint64_t *pd = addr_gpa2hva(vm, GUEST_PML4 + 0x2000);	/* the PD for 0-1 GiB */
	uint64_t *pt = addr_gpa2hva(vm, PT64);
	struct ucall uc;

	pd[LINEAR >> 21] = PT64 | 3;
	pt[1] = (MMIO_GPA + 0x1000) | 3;
	pt[3] = (MMIO_GPA + 0x3000) | 3;
	vcpu_expect_mmio(vcpu, a, ARRAY_SIZE(a));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x0badcafe, uc.args[1]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

TEST_HARNESS_MAIN

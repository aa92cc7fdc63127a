// SPDX-License-Identifier: GPL-2.0
/*
 * Register state through the ioctls: GET/SET_REGS, GET/SET_SREGS and
 * GET/SET_MSRS round-trip, reach the guest, and reflect what the guest did.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_TSC		0x10
#define MSR_IA32_CR_PAT		0x277
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102

struct msr_list {
	struct vapicvm_msrs hdr;
	struct vapicvm_msr_entry e[VAPICVM_MAX_MSR_ENTRIES + 1];
};

/* ------------------------------------------------------------------ */
/* General-purpose registers                                           */
/* ------------------------------------------------------------------ */

/*
 * Adds 1 to every general-purpose register, RSP included, then exits
 * with an OUT: the host sees its values come back incremented.
 */
extern char guest_inc_regs[];
__asm__(".pushsection .text\n"
	"guest_inc_regs:\n\t"
	"add $1, %rax\n\tadd $1, %rbx\n\tadd $1, %rcx\n\tadd $1, %rdx\n\t"
	"add $1, %rsi\n\tadd $1, %rdi\n\tadd $1, %rbp\n\tadd $1, %rsp\n\t"
	"add $1, %r8\n\tadd $1, %r9\n\tadd $1, %r10\n\tadd $1, %r11\n\t"
	"add $1, %r12\n\tadd $1, %r13\n\tadd $1, %r14\n\tadd $1, %r15\n\t"
	"outb %al, $0x44\n\t"
	"1: hlt\n\tjmp 1b\n"
	".popsection");

static void fill_regs(struct vapicvm_regs *r, uint64_t seed)
{
	uint64_t *v = (uint64_t *)r;
	unsigned int i;

	for (i = 0; i < 16; i++)
		v[i] = seed * (i + 1) * 0x0101010101010101ULL + i;
}

TEST(regs_round_trip)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_regs set, get;

	vcpu_get_regs(vcpu, &get);
	EXPECT_EQ(0xfff0, get.rip) TH_LOG("RESET state: RIP");
	EXPECT_EQ(2, get.rflags) TH_LOG("RESET state: RFLAGS");

	fill_regs(&set, 3);
	set.rip = 0x123456789aULL;
	/* CF PF AF ZF SF IF DF OF, IOPL 3, NT, AC, ID. */
	set.rflags = 0x2 | 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x200 | 0x400 | 0x800 | 0x3000 |
		     0x4000 | 0x40000 | 0x200000;
	vcpu_set_regs(vcpu, &set);
	vcpu_get_regs(vcpu, &get);
	EXPECT_EQ(0, memcmp(&set, &get, sizeof(set)));
	if (memcmp(&set, &get, sizeof(set))) {
		uint64_t *a = (uint64_t *)&set, *b = (uint64_t *)&get;
		unsigned int i;

		for (i = 0; i < sizeof(set) / 8; i++)
			if (a[i] != b[i])
				TH_LOG("field %u: set %#lx got %#lx", i, a[i], b[i]);
	}

	/* Reserved RFLAGS bits: bit 1 always reads 1, 3/5/15 and 22+ read 0. */
	set.rflags = 0;
	vcpu_set_regs(vcpu, &set);
	vcpu_get_regs(vcpu, &get);
	EXPECT_EQ(2, get.rflags);
	set.rflags = ~0ULL;
	vcpu_set_regs(vcpu, &set);
	vcpu_get_regs(vcpu, &get);
	EXPECT_EQ(0, get.rflags & (0x8 | 0x20 | 0x8000 | ~0x3fffffULL));
	EXPECT_EQ(2, get.rflags & 2);
	vm_free(vm);
}

TEST(regs_reach_the_guest_and_come_back)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_inc_regs, 0);
	struct vapicvm_regs set, get;
	uint64_t *a = (uint64_t *)&set, *b = (uint64_t *)&get;
	unsigned int i;

	vcpu_get_regs(vcpu, &set);
	fill_regs(&set, 7);
	/* RSP must stay in guest RAM; the guest only adds to it. */
	set.rsp = GUEST_STACKS + GUEST_STACK_SIZE - 64;
	vcpu_set_regs(vcpu, &set);
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_IO, vcpu->run->exit_reason);
	EXPECT_EQ(0x44, vcpu->run->io.port);
	vcpu_get_regs(vcpu, &get);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(a[i] + 1, b[i]) TH_LOG("register %u (struct vapicvm_regs order)", i);
	EXPECT_EQ((uint64_t)(uintptr_t)guest_inc_regs + 16 * 4 + 2, get.rip);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Segment and control registers                                       */
/* ------------------------------------------------------------------ */

static void guest_read_sregs(void)
{
	uint64_t cr0, cr2, cr3, cr4, cr8, fs, gs;
	uint16_t sel_ds;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("mov %%ds, %0" : "=r"(sel_ds));
	fs = guest_rdmsr(0xc0000100);
	gs = guest_rdmsr(0xc0000101);
	GUEST_SYNC_ARGS(1, cr0, cr2, cr3, cr4, cr8);
	GUEST_SYNC_ARGS(2, gdtr.base, gdtr.limit, idtr.base, idtr.limit, sel_ds);
	GUEST_SYNC_ARGS(3, fs, gs, guest_rdmsr(0xc0000080));
	/* Now change some of it for the host to read back. */
	__asm__ volatile("mov %0, %%cr2" : : "r"(0xdead000ULL));
	__asm__ volatile("mov %0, %%cr8" : : "r"(9ULL));
	guest_wrmsr(0xc0000100, 0x7ff0000ULL);
	guest_wrmsr(0xc0000101, 0x7ee0000ULL);
	GUEST_DONE();
}

static bool seg_equal(const struct vapicvm_segment *a, const struct vapicvm_segment *b)
{
	return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
	       a->type == b->type && a->present == b->present && a->dpl == b->dpl &&
	       a->db == b->db && a->s == b->s && a->l == b->l && a->g == b->g &&
	       a->avl == b->avl && a->unusable == b->unusable;
}

TEST(sregs_round_trip)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_read_sregs, 0);
	struct vapicvm_sregs s, g;
	struct ucall uc;

	vcpu_get_sregs(vcpu, &s);
	/* Idempotent: what GET gives, SET takes and GET gives again. */
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_sregs(vcpu, &g);
	EXPECT_EQ(0, memcmp(&s, &g, sizeof(s)));

	s.fs.base = 0x1234000;
	s.gs.base = 0x5678000;
	s.fs.avl = 1;
	s.ldt = (struct vapicvm_segment){ .base = 0x3000, .limit = 0xfff, .selector = 0,
					  .type = 2, .present = 1 };
	s.gdt.limit = 0x47;
	s.idt.limit = 0x7ff;
	s.cr2 = 0xcafe000;
	s.cr8 = 5;
	vcpu_set_sregs(vcpu, &s);
	vcpu_get_sregs(vcpu, &g);
	EXPECT_TRUE(seg_equal(&s.cs, &g.cs));
	EXPECT_TRUE(seg_equal(&s.ds, &g.ds));
	EXPECT_TRUE(seg_equal(&s.fs, &g.fs));
	EXPECT_TRUE(seg_equal(&s.gs, &g.gs));
	EXPECT_TRUE(seg_equal(&s.tr, &g.tr));
	EXPECT_TRUE(seg_equal(&s.ldt, &g.ldt));
	EXPECT_EQ(s.gdt.base, g.gdt.base);
	EXPECT_EQ(s.gdt.limit, g.gdt.limit);
	EXPECT_EQ(s.idt.base, g.idt.base);
	EXPECT_EQ(s.idt.limit, g.idt.limit);
	EXPECT_EQ(s.cr0, g.cr0);
	EXPECT_EQ(s.cr2, g.cr2);
	EXPECT_EQ(s.cr3, g.cr3);
	EXPECT_EQ(s.cr4, g.cr4);
	EXPECT_EQ(s.cr8, g.cr8);
	EXPECT_EQ(s.efer, g.efer);
	EXPECT_EQ(s.apic_base, g.apic_base);

	/* The guest sees exactly that. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(s.cr0, uc.args[1]);
	EXPECT_EQ(s.cr2, uc.args[2]);
	EXPECT_EQ(s.cr3, uc.args[3]);
	EXPECT_EQ(s.cr4, uc.args[4]);
	EXPECT_EQ(s.cr8, uc.args[5]);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(s.gdt.base, uc.args[1]);
	EXPECT_EQ(s.gdt.limit, uc.args[2]);
	EXPECT_EQ(s.idt.base, uc.args[3]);
	EXPECT_EQ(s.idt.limit, uc.args[4]);
	EXPECT_EQ(s.ds.selector, uc.args[5]);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(s.fs.base, uc.args[1]);
	EXPECT_EQ(s.gs.base, uc.args[2]);
	EXPECT_EQ(s.efer, uc.args[3]);

	/* And what it changed comes back. */
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vcpu_get_sregs(vcpu, &g);
	EXPECT_EQ(0xdead000, g.cr2);
	EXPECT_EQ(9, g.cr8);
	EXPECT_EQ(9, vcpu->run->cr8);
	EXPECT_EQ(0x7ff0000, g.fs.base);
	EXPECT_EQ(0x7ee0000, g.gs.base);
	vm_free(vm);
}

TEST(sregs_reset_state)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu0 = vm_add_vcpu_bare(vm, 0);
	struct vcpu *vcpu1 = vm_add_vcpu_bare(vm, 1);
	struct vapicvm_sregs s;

	vcpu_get_sregs(vcpu0, &s);
	EXPECT_EQ(0xf000, s.cs.selector);
	EXPECT_EQ(0xffff0000, s.cs.base);
	EXPECT_EQ(0xffff, s.cs.limit);
	EXPECT_EQ(0x60000010, s.cr0) TH_LOG("CD NW ET");
	EXPECT_EQ(0, s.cr4);
	EXPECT_EQ(0, s.efer);
	EXPECT_EQ(0xfee00000 | 0x800 | 0x100, s.apic_base) TH_LOG("vCPU 0 is the BSP");
	vcpu_get_sregs(vcpu1, &s);
	EXPECT_EQ(0xfee00000 | 0x800, s.apic_base) TH_LOG("vCPU 1 is an AP");
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* MSRs                                                                */
/* ------------------------------------------------------------------ */

static const struct {
	uint32_t index;
	uint64_t value;		/* set by the host */
	uint64_t guest_value;	/* then written by the guest */
} msr_values[] = {
	{ MSR_STAR, 0x0023001000000000ULL, 0x001b000800000000ULL },
	{ MSR_LSTAR, 0xffffffff81000000ULL, 0xffffffff81001000ULL },
	{ MSR_CSTAR, 0xffffffff81000100ULL, 0x0000000000401000ULL },
	{ MSR_SYSCALL_MASK, 0x47700, 0x200 },
	{ MSR_KERNEL_GS_BASE, 0xffff888012340000ULL, 0x00007fff00001000ULL },
	{ MSR_FS_BASE, 0x7f0000001000ULL, 0x7f0000003000ULL },
	{ MSR_GS_BASE, 0x7f0000002000ULL, 0xffff888000004000ULL },
	{ MSR_IA32_SYSENTER_CS, 0x10, 0x60 },
	{ MSR_IA32_SYSENTER_ESP, 0xffffffff82000000ULL, 0x1000 },
	{ MSR_IA32_SYSENTER_EIP, 0xffffffff81800000ULL, 0x2000 },
	{ MSR_IA32_CR_PAT, 0x0007010600070106ULL, 0x0606060606060606ULL },
};

#define NR_MSR_VALUES (ARRAY_SIZE(msr_values))

static void guest_check_msrs(void)
{
	unsigned int i;

	for (i = 0; i < NR_MSR_VALUES; i++)
		GUEST_ASSERT_EQ(guest_rdmsr(msr_values[i].index), msr_values[i].value);
	GUEST_ASSERT(guest_rdmsr(MSR_IA32_TSC) >= (1ULL << 40));
	/* Change them all for the host. */
	for (i = 0; i < NR_MSR_VALUES; i++)
		guest_wrmsr(msr_values[i].index, msr_values[i].guest_value);
	guest_wrmsr(MSR_IA32_TSC, 1ULL << 50);
	GUEST_DONE();
}

TEST(msrs_round_trip_and_reach_the_guest)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_check_msrs, 0);
	struct msr_list m = { 0 };
	struct ucall uc;
	unsigned int i;
	uint64_t tsc;

	m.hdr.nmsrs = NR_MSR_VALUES + 1;
	for (i = 0; i < NR_MSR_VALUES; i++) {
		m.e[i].index = msr_values[i].index;
		m.e[i].data = msr_values[i].value;
	}
	m.e[i].index = MSR_IA32_TSC;
	m.e[i].data = 1ULL << 40;
	ASSERT_EQ(NR_MSR_VALUES + 1, __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr));

	memset(m.e, 0, sizeof(m.e));
	for (i = 0; i < NR_MSR_VALUES + 1; i++)
		m.e[i].index = i < NR_MSR_VALUES ? msr_values[i].index : MSR_IA32_TSC;
	ASSERT_EQ(NR_MSR_VALUES + 1, __vcpu_ioctl(vcpu, VAPICVM_GET_MSRS, &m.hdr));
	for (i = 0; i < NR_MSR_VALUES; i++)
		EXPECT_EQ(msr_values[i].value, m.e[i].data) TH_LOG("MSR %#x", m.e[i].index);
	EXPECT_GE(m.e[i].data, 1ULL << 40);
	EXPECT_LT(m.e[i].data, (1ULL << 40) + (1ULL << 36)) TH_LOG("TSC runs far too fast");

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));

	/* The guest's writes, KERNEL_GS_BASE and the SYSCALL MSRs included. */
	for (i = 0; i < NR_MSR_VALUES; i++)
		EXPECT_EQ(msr_values[i].guest_value, vcpu_get_msr(vcpu, msr_values[i].index))
			TH_LOG("MSR %#x", msr_values[i].index);
	tsc = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	EXPECT_GE(tsc, 1ULL << 50);
	EXPECT_LT(tsc, (1ULL << 50) + (1ULL << 36));
	vm_free(vm);
}

/* Two vCPUs on one thread: lazily switched MSRs must not leak between them. */
static void guest_kgs(uint64_t v)
{
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_KERNEL_GS_BASE), v);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_LSTAR), v + 0x10);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_KERNEL_GS_BASE), v);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_LSTAR), v + 0x10);
	guest_wrmsr(MSR_KERNEL_GS_BASE, v + 1);
	guest_wrmsr(MSR_LSTAR, v + 0x11);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_KERNEL_GS_BASE), v + 1);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_LSTAR), v + 0x11);
	GUEST_DONE();
}

TEST(lazy_msrs_isolated_between_vcpus)
{
	struct vm *vm = vm_create();
	struct vcpu *a = vm_add_vcpu(vm, 0, guest_kgs, 0xffff880000100000ULL);
	struct vcpu *b = vm_add_vcpu(vm, 1, guest_kgs, 0xffff880000200000ULL);
	struct ucall uc;
	int stage;

	vcpu_set_msr(a, MSR_KERNEL_GS_BASE, 0xffff880000100000ULL);
	vcpu_set_msr(a, MSR_LSTAR, 0xffff880000100010ULL);
	vcpu_set_msr(b, MSR_KERNEL_GS_BASE, 0xffff880000200000ULL);
	vcpu_set_msr(b, MSR_LSTAR, 0xffff880000200010ULL);
	for (stage = 1; stage <= 2; stage++) {
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(a, &uc));
		ASSERT_EQ(stage, uc.args[0]);
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(b, &uc));
		ASSERT_EQ(stage, uc.args[0]);
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(a, &uc));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(b, &uc));
	EXPECT_EQ(0xffff880000100001ULL, vcpu_get_msr(a, MSR_KERNEL_GS_BASE));
	EXPECT_EQ(0xffff880000200001ULL, vcpu_get_msr(b, MSR_KERNEL_GS_BASE));
	vm_free(vm);
}

TEST(msrs_stop_at_first_unsupported)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct msr_list m = { 0 };

	m.hdr.nmsrs = 3;
	m.e[0].index = MSR_STAR;
	m.e[0].data = 0x1234ULL << 32;
	m.e[1].index = 0xdeadbeef;	/* not an MSR */
	m.e[2].index = MSR_LSTAR;
	m.e[2].data = 0xffffffff81234567ULL;
	EXPECT_EQ(1, __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr));
	EXPECT_EQ(0x1234ULL << 32, vcpu_get_msr(vcpu, MSR_STAR));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_LSTAR)) TH_LOG("processed past the failure");

	m.e[0].data = m.e[1].data = m.e[2].data = 0x5555;
	EXPECT_EQ(1, __vcpu_ioctl(vcpu, VAPICVM_GET_MSRS, &m.hdr));
	EXPECT_EQ(0x1234ULL << 32, m.e[0].data);

	/* A value the guest could not write either stops processing too. */
	m.e[0].index = MSR_LSTAR;
	m.e[0].data = 0x8000000000000000ULL;	/* not canonical */
	m.e[1].index = MSR_CSTAR;
	m.e[1].data = 0x1000;
	m.hdr.nmsrs = 2;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_CSTAR));
	m.e[0].index = MSR_IA32_CR_PAT;
	m.e[0].data = 0x0202020202020202ULL;	/* type 2 is reserved */
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr));

	/* Zero entries: nothing done, nothing wrong. */
	m.hdr.nmsrs = 0;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_MSRS, &m.hdr));
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_MSRS, &m.hdr));
	vm_free(vm);
}

TEST(msrs_bad_arguments)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	static struct msr_list m;

	m.hdr.nmsrs = VAPICVM_MAX_MSR_ENTRIES + 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_MSRS, &m, E2BIG));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_MSRS, &m, E2BIG));
	m.hdr.nmsrs = ~0U;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_MSRS, &m, E2BIG));

	/* The maximum is allowed (all of them one supported MSR). */
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = VAPICVM_MAX_MSR_ENTRIES;
	for (unsigned int i = 0; i < VAPICVM_MAX_MSR_ENTRIES; i++)
		m.e[i].index = MSR_STAR;
	EXPECT_EQ(VAPICVM_MAX_MSR_ENTRIES, __vcpu_ioctl(vcpu, VAPICVM_GET_MSRS, &m.hdr));

	/* Reserved fields. */
	m.hdr.nmsrs = 1;
	m.hdr.pad = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_MSRS, &m, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_MSRS, &m, EINVAL));
	m.hdr.pad = 0;
	m.hdr.nmsrs = 2;
	m.e[1].reserved = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_MSRS, &m, EINVAL));
	m.e[0].data = 0x77ULL << 32;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_MSRS, &m, EINVAL));
	EXPECT_EQ(0, vcpu_get_msr(vcpu, MSR_STAR)) TH_LOG("a rejected SET_MSRS wrote an MSR");

	/* Entries beyond the readable memory. */
	m.hdr.nmsrs = 2;
	m.e[1].reserved = 0;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_MSRS, NULL, EFAULT));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_MSRS, (void *)8, EFAULT));
	vm_free(vm);
}

TEST_HARNESS_MAIN

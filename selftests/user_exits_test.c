// SPDX-License-Identifier: GPL-2.0
/*
 * Exits the VMM asks for: RDMSR/WRMSR of MSRs vapicvm does not know
 * (VAPICVM_MSR_EXIT_UNKNOWN) or that the VMM's filter denies
 * (VAPICVM_SET_MSR_FILTER, VAPICVM_MSR_EXIT_FILTER), answered with a value
 * or a #GP; the filter on its own (#GP), on MSRs the MSR bitmap passes
 * through too, its default and its removal; and VMCALL to the VMM
 * (VAPICVM_CAP_EXIT_HYPERCALL).  Bad arguments get EINVAL or EFAULT.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define MSR_UNKNOWN		0x4b564dffU	/* no CPU has it */
#define MSR_SYSENTER_CS		0x174U		/* passed through the MSR bitmap */
#define MSR_FS_BASE		0xc0000100U	/* passed through too */
#define MSR_APIC_BASE		0x1bU
#define MSR_TSC			0x10U
#define GP_VECTOR		13

FIXTURE(user) {
	struct vm *vm;
	struct vcpu *vcpu;
};

FIXTURE_SETUP(user)
{
	self->vm = vm_create();
	self->vcpu = NULL;
}

FIXTURE_TEARDOWN(user)
{
	vm_free(self->vm);
}

static volatile uint32_t gp_count;

/* #GP on RDMSR/WRMSR: count it and step over the 2-byte instruction. */
static void gp_skip_msr(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;
}

/* RDMSR: the value, or ~0 after a #GP. */
static uint64_t try_rdmsr(uint32_t msr)
{
	uint32_t before = gp_count;
	uint64_t v = guest_rdmsr(msr);

	return gp_count == before ? v : ~0ULL;
}

static bool try_wrmsr(uint32_t msr, uint64_t v)
{
	uint32_t before = gp_count;

	guest_wrmsr(msr, v);
	return gp_count == before;
}

static struct vcpu *add_vcpu(struct vm *vm, void (*code)(void))
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, code, 0);

	vm_install_handler(vm, GP_VECTOR, gp_skip_msr);
	return vcpu;
}

static void enable_cap(struct vm *vm, uint32_t cap, uint64_t arg)
{
	struct vapicvm_enable_cap c = { .cap = cap, .args = { arg } };

	vm_ioctl(vm, VAPICVM_ENABLE_CAP, &c);
}

/* Run to the next exit; it must be reason. */
static struct vapicvm_run *run_to(struct __test_metadata *_metadata, struct vcpu *vcpu,
				  uint32_t reason)
{
	struct ucall uc;

	ASSERT_EQ(0, __vcpu_run(vcpu));
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		fail_guest_assert(vcpu, &uc);
	EXPECT_EQ(reason, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	return vcpu->run;
}

static void guest_unknown(void)
{
	GUEST_ASSERT_EQ(try_rdmsr(MSR_UNKNOWN), 0x1122334455667788ULL);
	GUEST_ASSERT_EQ(try_rdmsr(MSR_UNKNOWN), ~0ULL);		/* the VMM said #GP */
	GUEST_ASSERT(try_wrmsr(MSR_UNKNOWN, 0xabcdef0012345678ULL));
	GUEST_ASSERT(!try_wrmsr(MSR_UNKNOWN, 1));
	GUEST_ASSERT(try_rdmsr(MSR_TSC) != ~0ULL);		/* known: no exit */
	GUEST_ASSERT_EQ(gp_count, 2);
	GUEST_DONE();
}

/* Unknown MSRs go to the VMM, which answers with a value or a #GP. */
TEST_F(user, unknown_msrs_exit)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_unknown);
	struct vapicvm_run *run;
	struct ucall uc;

	EXPECT_EQ(VAPICVM_MSR_EXIT_ALL,
		  __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_USER_MSR));
	enable_cap(self->vm, VAPICVM_CAP_USER_MSR, VAPICVM_MSR_EXIT_UNKNOWN);
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_RDMSR);
	EXPECT_EQ(MSR_UNKNOWN, run->msr.index);
	EXPECT_EQ(VAPICVM_MSR_EXIT_UNKNOWN, run->msr.reason);
	run->msr.data = 0x1122334455667788ULL;
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_RDMSR);
	run->msr.error = 1;
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_WRMSR);
	EXPECT_EQ(MSR_UNKNOWN, run->msr.index);
	EXPECT_EQ(0xabcdef0012345678ULL, run->msr.data);
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_WRMSR);
	EXPECT_EQ(1, run->msr.data);
	run->msr.error = 1;
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_unknown_gp(void)
{
	GUEST_ASSERT_EQ(try_rdmsr(MSR_UNKNOWN), ~0ULL);
	GUEST_ASSERT(!try_wrmsr(MSR_UNKNOWN, 1));
	GUEST_DONE();
}

/* Not asked for: #GP, as before. */
TEST_F(user, unknown_msrs_gp_by_default)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_unknown_gp);
	struct ucall uc;

	enable_cap(self->vm, VAPICVM_CAP_USER_MSR, VAPICVM_MSR_EXIT_FILTER);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static uint8_t deny_bits[1];	/* one MSR, denied: a zero bit */
static uint8_t allow_bits[1] = { 1 };

static void set_filter(struct vm *vm, uint32_t flags, uint32_t nranges,
		       const struct vapicvm_msr_filter_range *ranges)
{
	struct vapicvm_msr_filter f = { .flags = flags };

	memcpy(f.ranges, ranges, nranges * sizeof(*ranges));
	vm_ioctl(vm, VAPICVM_SET_MSR_FILTER, &f);
}

static void guest_filter(void)
{
	uint64_t fs = try_rdmsr(MSR_FS_BASE);

	GUEST_ASSERT(fs != ~0ULL);
	GUEST_ASSERT(try_rdmsr(MSR_SYSENTER_CS) != ~0ULL);
	GUEST_SYNC(1);	/* now: SYSENTER_CS reads and FS_BASE writes denied */
	GUEST_ASSERT_EQ(try_rdmsr(MSR_SYSENTER_CS), ~0ULL);
	GUEST_ASSERT(try_wrmsr(MSR_SYSENTER_CS, 0x10));	/* writes allowed */
	GUEST_ASSERT(!try_wrmsr(MSR_FS_BASE, 0x1000));
	GUEST_ASSERT_EQ(try_rdmsr(MSR_FS_BASE), fs);	/* unchanged, readable */
	GUEST_SYNC(2);	/* the filter is gone */
	GUEST_ASSERT_EQ(try_rdmsr(MSR_SYSENTER_CS), 0x10);
	GUEST_ASSERT(try_wrmsr(MSR_FS_BASE, fs));
	GUEST_ASSERT_EQ(gp_count, 2);
	GUEST_DONE();
}

/*
 * The filter raises #GP without exits, also for MSRs the MSR bitmap
 * passes through, and lifting it restores them.
 */
TEST_F(user, filter_denies_with_gp)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_filter);
	struct vapicvm_msr_filter_range r[2] = {
		{ .flags = VAPICVM_MSR_FILTER_READ, .nmsrs = 1, .base = MSR_SYSENTER_CS,
		  .bitmap = (uintptr_t)deny_bits },
		{ .flags = VAPICVM_MSR_FILTER_WRITE, .nmsrs = 1, .base = MSR_FS_BASE,
		  .bitmap = (uintptr_t)deny_bits },
	};
	struct ucall uc;

	EXPECT_EQ(1, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
				(void *)VAPICVM_CAP_MSR_FILTER));
	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	set_filter(self->vm, 0, 2, r);
	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	set_filter(self->vm, 0, 0, NULL);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_default_deny(void)
{
	GUEST_ASSERT(try_rdmsr(MSR_TSC) != ~0ULL);		/* allowed by its range */
	GUEST_ASSERT_EQ(try_rdmsr(MSR_APIC_BASE), ~0ULL);	/* the default */
	GUEST_ASSERT(!try_wrmsr(MSR_TSC, 0));			/* no write range */
	GUEST_ASSERT_EQ(try_rdmsr(MSR_SYSENTER_CS), 0x5a);	/* the VMM answers */
	GUEST_DONE();
}

/* Default deny with one allowed read; denied accesses exit when asked to. */
TEST_F(user, default_deny_and_filter_exits)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_default_deny);
	struct vapicvm_msr_filter_range r = {
		.flags = VAPICVM_MSR_FILTER_READ, .nmsrs = 1, .base = MSR_TSC,
		.bitmap = (uintptr_t)allow_bits,
	};
	struct vapicvm_run *run;
	struct ucall uc;

	set_filter(self->vm, VAPICVM_MSR_FILTER_DEFAULT_DENY, 1, &r);
	enable_cap(self->vm, VAPICVM_CAP_USER_MSR, VAPICVM_MSR_EXIT_FILTER);
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_RDMSR);
	EXPECT_EQ(MSR_APIC_BASE, run->msr.index);
	EXPECT_EQ(VAPICVM_MSR_EXIT_FILTER, run->msr.reason);
	run->msr.error = 1;
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_WRMSR);
	EXPECT_EQ(MSR_TSC, run->msr.index);
	run->msr.error = 1;
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_X86_RDMSR);
	EXPECT_EQ(MSR_SYSENTER_CS, run->msr.index);	/* passed through without a filter */
	run->msr.data = 0x5a;
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_hypercall(void)
{
	uint64_t rax = 0x1234, rbx = 1, rcx = 2, rdx = 3, rsi = 4;

	__asm__ volatile("vmcall" : "+a"(rax) : "b"(rbx), "c"(rcx), "d"(rdx), "S"(rsi) : "memory");
	GUEST_ASSERT_EQ(rax, 0x5555aaaa5555aaaaULL);
	GUEST_SYNC(1);	/* exits off again */
	rax = 7;
	__asm__ volatile("vmcall" : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, (uint64_t)-1000);	/* -KVM_ENOSYS */
	GUEST_DONE();
}

/* VMCALL reaches the VMM when it asked, with the registers of the ABI. */
TEST_F(user, hypercall_exits)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_hypercall);
	struct vapicvm_run *run;
	struct ucall uc;

	enable_cap(self->vm, VAPICVM_CAP_EXIT_HYPERCALL, 1);
	run = run_to(_metadata, vcpu, VAPICVM_EXIT_HYPERCALL);
	EXPECT_EQ(0x1234, run->hypercall.nr);
	EXPECT_EQ(1, run->hypercall.args[0]);
	EXPECT_EQ(2, run->hypercall.args[1]);
	EXPECT_EQ(3, run->hypercall.args[2]);
	EXPECT_EQ(4, run->hypercall.args[3]);
	EXPECT_EQ(1, run->hypercall.longmode);
	run->hypercall.ret = 0x5555aaaa5555aaaaULL;
	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	enable_cap(self->vm, VAPICVM_CAP_EXIT_HYPERCALL, 0);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(2, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_VMCALL));
}

/* Bad arguments: EINVAL or EFAULT, and nothing changes. */
TEST_F(user, rejects_bad_arguments)
{
	struct vapicvm_enable_cap cap = { .cap = VAPICVM_CAP_USER_MSR, .args = { 4 } };
	struct vapicvm_msr_filter f = { 0 };
	int fd = self->vm->fd;

	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.args[0] = 1;
	cap.args[2] = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap = (struct vapicvm_enable_cap){ .cap = VAPICVM_CAP_EXIT_HYPERCALL, .args = { 2 } };
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));

	f.flags = 2;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.flags = 0;
	f.pad = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.pad = 0;
	f.ranges[3] = (struct vapicvm_msr_filter_range){ .nmsrs = 1, .bitmap = (uintptr_t)deny_bits };
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));	/* no kind */
	f.ranges[3].flags = 4;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.ranges[3].flags = VAPICVM_MSR_FILTER_READ;
	f.ranges[3].nmsrs = VAPICVM_MSR_FILTER_MAX_BITS + 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.ranges[3].nmsrs = 2;
	f.ranges[3].base = 0xffffffff;	/* wraps */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.ranges[3].base = 0;
	f.ranges[3].pad = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	f.ranges[3].pad = 0;
	f.ranges[3].bitmap = 8;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EFAULT));
	f.ranges[3] = (struct vapicvm_msr_filter_range){ .base = 5 };	/* unused, not empty */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, &f, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_MSR_FILTER, (void *)8, EFAULT));
	f.ranges[3] = (struct vapicvm_msr_filter_range){ 0 };
	EXPECT_EQ(0, __vm_ioctl(self->vm, VAPICVM_SET_MSR_FILTER, &f));
}

TEST_HARNESS_MAIN

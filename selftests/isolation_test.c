// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest or a caller must not be able to do to the host through its
 * local APIC, on every APIC-virtualization tier.
 *
 * - A periodic timer with the shortest count (TMICT=1 at divide 1, a 1 ns
 *   period at the 1 GHz timer clock) must not become a hard-IRQ hrtimer
 *   re-armed every nanosecond on a host CPU: the period has a floor of
 *   200 us, as KVM's min_timer_period_us.  Checked through the guest's xAPIC
 *   MMIO, its x2APIC MSRs and userspace's SET_LAPIC, with the LVT masked
 *   (the host would pay and the guest see nothing) and unmasked.  The
 *   measure is the vCPU's external-interrupt exits over a stretch of guest
 *   time: the timer's hrtimer fires on the CPU the vCPU runs on.
 * - A TSC deadline at the end of time (~0 by WRMSR, SET_MSRS or SET_LAPIC)
 *   must be armed without the host's TSC-to-nanoseconds conversion
 *   overflowing (on a TSC below 1 GHz its quotient does not fit in 64 bits
 *   and the division faults), and must read back as written.
 * - A guest moving its APIC base to a new place again and again must not
 *   grow the host's memory (the APIC-access page follows the base through
 *   the VM's EPT, and the tables its old places needed must go) nor
 *   interrupt host CPUs that run nothing of this VM.  Measured by the VM's
 *   own counters (VAPICVM_GET_VM_STATS).
 * - A guest must not be able to set a CR4 bit vapicvm does not virtualize,
 *   whatever the CPU under it supports (on newer CPUs: KL, PKS, UINTR,
 *   LASS, LAM, FRED...): the write is #GP and CR4 stays as it was.
 * - One user must not be able to take every VPID: past its share, its
 *   vCPUs run without one (flushing on every entry, which the VM's counters
 *   say), and another user's vCPU still gets its own.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "apic.h"

#define VEC_TIMER		0x50
#define SPIN_NS			10000000ULL	/* 10 ms of guest time */
#define MIN_PERIOD_NS		200000ULL	/* the floor: KVM's 200 us */
/* Host interrupts that are not the timer's over SPIN_NS: ticks, IPIs. */
#define OTHER_EXITS		200

FIXTURE(isolation) {
	struct vm *vm;
	uint32_t apicv;
	uint64_t tsc_khz;
};

APIC_TIER_FIXTURE(isolation);

FIXTURE_SETUP(isolation)
{
	APIC_TIER_SETUP();
	self->tsc_khz = ioctl(self->vm->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_TSC_KHZ);
	ASSERT_GT(self->tsc_khz, 0);
}

static volatile uint32_t ticks;

static void timer_handler(struct ex_regs *regs)
{
	ticks++;
	apic_eoi();
}

/* ---------------------------------------------------------------- */

/* args: bit 0 x2APIC, bit 1 masked, bits 63:2 the spin in TSC ticks */
static void guest_periodic_min(uint64_t arg)
{
	uint32_t lvtt = VEC_TIMER | LVT_PERIODIC | (arg & 2 ? LVT_MASKED : 0);

	guest_x2apic = arg & 1;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);		/* divide by 1 */
	apic_write(REG_LVTT, lvtt);
	apic_write(REG_TMICT, 1);
	GUEST_SYNC(1);
	guest_spin_tsc(arg >> 2);
	/* The count still runs down from TMICT, however long the period. */
	GUEST_ASSERT(apic_read(REG_TMCCT) <= 1);
	GUEST_SYNC_ARGS(2, ticks);
	apic_write(REG_TMICT, 0);
	GUEST_DONE();
}

/*
 * Run from the SYNC(1) after the timer is armed to SYNC(2); the timer's
 * interrupts in between are at most one per floor period, on the host as
 * in the guest.
 */
static void expect_floor(struct __test_metadata *_metadata, struct vcpu *vcpu, bool masked,
			 uint64_t min_period_ns)
{
	uint64_t before = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EXTINT), exits;
	uint64_t max_ticks = SPIN_NS / min_period_ns + 2;
	struct ucall uc;

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	exits = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EXTINT) - before;
	TH_LOG("%s periodic timer at TMICT=1: %lu guest interrupts, %lu external-interrupt exits",
	       masked ? "masked" : "unmasked", (unsigned long)uc.args[1], (unsigned long)exits);
	EXPECT_LE(exits, max_ticks + OTHER_EXITS) TH_LOG("the host paid for a 1 ns period");
	if (masked) {
		EXPECT_EQ(0, uc.args[1]);
	} else {
		EXPECT_LE(uc.args[1], max_ticks);
	}
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

static void periodic_min(struct __test_metadata *_metadata, FIXTURE_DATA(isolation) *self,
			 bool x2, bool masked)
{
	uint64_t spin = SPIN_NS * self->tsc_khz / 1000000;
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_periodic_min,
					(spin << 2) | (masked ? 2 : 0) | x2);

	ticks = 0;
	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	expect_floor(_metadata, vcpu, masked, MIN_PERIOD_NS);
}

TEST_F(isolation, periodic_min_count_xapic)
{
	periodic_min(_metadata, self, false, false);
}

TEST_F(isolation, periodic_min_count_x2apic)
{
	periodic_min(_metadata, self, true, false);
}

TEST_F(isolation, periodic_min_count_masked_xapic)
{
	periodic_min(_metadata, self, false, true);
}

TEST_F(isolation, periodic_min_count_masked_x2apic)
{
	periodic_min(_metadata, self, true, true);
}

/*
 * The floor is the module parameter min_timer_period_us, read at each
 * reload: at 2 ms, a 1 ns period gives at most one interrupt per 2 ms, and
 * still some.
 */
#define MIN_PERIOD_PARAM	"/sys/module/vapicvm/parameters/min_timer_period_us"

TEST_F(isolation, periodic_min_follows_the_parameter)
{
	uint64_t spin = SPIN_NS * self->tsc_khz / 1000000;
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_periodic_min, spin << 2);
	struct ucall uc;

	ticks = 0;
	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(0, write_sysfs(MIN_PERIOD_PARAM, "2000"));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, write_sysfs(MIN_PERIOD_PARAM, "200"));
	ASSERT_EQ(2, uc.args[0]);
	TH_LOG("periodic timer at TMICT=1, floor 2 ms: %lu interrupts in 10 ms",
	       (unsigned long)uc.args[1]);
	EXPECT_LE(uc.args[1], SPIN_NS / 2000000 + 2);
	EXPECT_GE(uc.args[1], 1);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/* The guest only spins: userspace armed the timer through SET_LAPIC. */
static void guest_spin(uint64_t spin)
{
	guest_sti();
	GUEST_SYNC(1);
	guest_spin_tsc(spin);
	GUEST_SYNC_ARGS(2, ticks);
	GUEST_DONE();
}

TEST_F(isolation, periodic_min_count_set_lapic)
{
	uint64_t spin = SPIN_NS * self->tsc_khz / 1000000;
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_spin, spin);
	struct vapicvm_lapic_state s;

	ticks = 0;
	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &s);
	*(uint32_t *)(s.regs + REG_SVR) = SVR_ENABLE | 0xff;
	*(uint32_t *)(s.regs + REG_TDCR) = 0xb;
	*(uint32_t *)(s.regs + REG_LVTT) = VEC_TIMER | LVT_PERIODIC | LVT_MASKED;
	*(uint32_t *)(s.regs + REG_TMICT) = 1;
	s.timer_remaining_ns = 1;
	s.intr_status = 0;
	vcpu_ioctl(vcpu, VAPICVM_SET_LAPIC, &s);
	expect_floor(_metadata, vcpu, true, MIN_PERIOD_NS);
}

/* ---------------------------------------------------------------- */

static void guest_far_deadline(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_LVTT, VEC_TIMER | LVT_TSC_DEADLINE);
	guest_wrmsr(MSR_TSC_DEADLINE, ~0ULL);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), ~0ULL);
	guest_wrmsr(MSR_TSC_DEADLINE, ~0ULL >> 1);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), ~0ULL >> 1);
	GUEST_SYNC(1);
	/* Userspace armed it at ~0 again. */
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), ~0ULL);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), ~0ULL);
	guest_wrmsr(MSR_TSC_DEADLINE, 0);
	GUEST_DONE();
}

static void far_deadline(struct __test_metadata *_metadata, FIXTURE_DATA(isolation) *self,
			 bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_far_deadline, x2);
	struct vapicvm_lapic_state s;

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_set_msr(vcpu, MSR_TSC_DEADLINE, ~0ULL);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &s);
	EXPECT_EQ(~0ULL, s.tsc_deadline);
	s.tsc_deadline = ~0ULL;
	s.intr_status = 0;
	vcpu_ioctl(vcpu, VAPICVM_SET_LAPIC, &s);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

TEST_F(isolation, tsc_deadline_at_end_of_time_xapic)
{
	far_deadline(_metadata, self, false);
}

TEST_F(isolation, tsc_deadline_at_end_of_time_x2apic)
{
	far_deadline(_metadata, self, true);
}

/* ---------------------------------------------------------------- */

#define RELOCATIONS		1024
#define RELOCATION_START	(4ULL << 30)	/* above RAM, each in its own 2 MiB */
#define RELOCATION_STRIDE	(2ULL << 20)

static void guest_relocate_apic(void)
{
	uint64_t base = guest_rdmsr(MSR_APIC_BASE), flags = base & 0xfff;
	uint32_t i;

	GUEST_SYNC(1);
	for (i = 0; i < RELOCATIONS; i++)
		guest_wrmsr(MSR_APIC_BASE, RELOCATION_START + i * RELOCATION_STRIDE + flags);
	guest_wrmsr(MSR_APIC_BASE, base);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_APIC_BASE), base);
	GUEST_DONE();
}

TEST_F(isolation, apic_base_relocation_is_bounded)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_relocate_apic, 0);
	uint64_t tables, flushes, ipis;

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	tables = vm_stat(self->vm, VAPICVM_VM_STAT_EPT_TABLES);
	flushes = vm_stat(self->vm, VAPICVM_VM_STAT_TLB_FLUSHES);
	ipis = vm_stat(self->vm, VAPICVM_VM_STAT_TLB_FLUSH_IPIS);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	tables = vm_stat(self->vm, VAPICVM_VM_STAT_EPT_TABLES) - tables;
	flushes = vm_stat(self->vm, VAPICVM_VM_STAT_TLB_FLUSHES) - flushes;
	ipis = vm_stat(self->vm, VAPICVM_VM_STAT_TLB_FLUSH_IPIS) - ipis;
	TH_LOG("%d APIC-base moves: EPT tables %+ld, %lu TLB flushes, %lu host CPUs interrupted",
	       RELOCATIONS, (long)tables, (unsigned long)flushes, (unsigned long)ipis);
	/* The way back to the first base may keep its own path of tables. */
	EXPECT_LE((int64_t)tables, 3) TH_LOG("the EPT kept the tables of old APIC bases");
	/* The only vCPU is the one moving: no other CPU holds this VM's TLB. */
	EXPECT_EQ(0, ipis) TH_LOG("TLB flushes interrupted CPUs that run nothing of this VM");
}

/* ---------------------------------------------------------------- */

/* The CR4 bits a vCPU may have (SDM names); every other one is #GP. */
#define CR4_VIRTUALIZED	0x370fffULL	/* VME..OSXMMEXCPT, UMIP, FSGSBASE, PCIDE,
					   OSXSAVE, SMEP, SMAP */

static volatile uint64_t gp_count;

static void gp_skip_mov_cr4(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 3;		/* mov %rax, %cr4 */
}

static void guest_cr4_unknown_bits(void)
{
	uint64_t cr4 = guest_read_cr4(), after;
	int bit;

	for (bit = 0; bit < 64; bit++) {
		if (CR4_VIRTUALIZED & (1ULL << bit))
			continue;
		gp_count = 0;
		__asm__ volatile(".byte 0x0f, 0x22, 0xe0" : : "a"(cr4 | (1ULL << bit)) : "memory");
		after = guest_read_cr4();
		if (gp_count != 1 || after != cr4)
			GUEST_SYNC_ARGS(1, bit, gp_count, after);
	}
	GUEST_DONE();
}

TEST(cr4_bits_not_virtualized_stay_clear)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_cr4_unknown_bits, 0);
	struct ucall uc;
	uint64_t r;
	int bad = 0;

	vm_install_handler(vm, 13, gp_skip_mov_cr4);
	while ((r = vcpu_run_ucall(vcpu, &uc)) == UCALL_SYNC) {
		TH_LOG("CR4 bit %lu: %lu #GP, CR4 %#lx after", (unsigned long)uc.args[1],
		       (unsigned long)uc.args[2], (unsigned long)uc.args[3]);
		bad++;
	}
	EXPECT_EQ(UCALL_DONE, r);
	EXPECT_EQ(0, bad) TH_LOG("a guest set CR4 bits vapicvm does not virtualize");
	vm_free(vm);
}

/* ---------------------------------------------------------------- */

#define VPID_SHARE	1024	/* a quarter of the module's 4096 VPIDs */
#define NOBODY		65534

/* The vCPUs of nr_vms VMs of max_vcpus each that have no VPID. */
static uint64_t vcpus_without_vpid(struct vm **vms, int nr_vms)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < nr_vms; i++)
		n += vm_stat(vms[i], VAPICVM_VM_STAT_VCPUS_WITHOUT_VPID);
	return n;
}

TEST(vpids_are_shared_out_per_user)
{
	int max_vcpus, nr_vms, i, j, done[2], go[2], status;
	struct rlimit files = { 8192, 8192 };
	struct vm *probe = vm_create_bare(0, 0), *mine;
	pid_t pid;
	char c;

	TEST_REQUIRE(ioctl(probe->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_VPID) > 0,
		     "no VPIDs on this CPU");
	max_vcpus = ioctl(probe->fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPUS);
	vm_free(probe);
	ASSERT_GT(max_vcpus, 0);
	nr_vms = VPID_SHARE / max_vcpus + 1;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &files));
	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(0, pipe(go));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		/* One user creates a share and one VM more of vCPUs. */
		struct vm **vms = calloc(nr_vms, sizeof(*vms));
		uint64_t without;

		for (i = 0; i < nr_vms; i++)
			vms[i] = vm_create_bare(0, 0);
		TEST_ASSERT(!setgid(NOBODY) && !setuid(NOBODY), "setuid(nobody)");
		for (i = 0; i < nr_vms; i++)
			for (j = 0; j < max_vcpus; j++)
				TEST_ASSERT(__vm_ioctl(vms[i], VAPICVM_CREATE_VCPU,
						       (void *)(uintptr_t)j) >= 0,
					    "CREATE_VCPU %d of VM %d: %s", j, i, strerror(errno));
		without = vcpus_without_vpid(vms, nr_vms);
		printf("# one user, %d vCPUs: %lu without a VPID\n", nr_vms * max_vcpus,
		       (unsigned long)without);
		c = without == (uint64_t)(nr_vms * max_vcpus - VPID_SHARE) ? 'y' : 'n';
		TEST_ASSERT(write(done[1], &c, 1) == 1, "write");
		/* Hold the VPIDs until the other user has tried. */
		TEST_ASSERT(read(go[0], &c, 1) == 1, "read");
		_exit(0);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	EXPECT_EQ('y', c) TH_LOG("one user's vCPUs took more than its share of VPIDs");
	/* Another user (root here) still gets a VPID. */
	mine = vm_create_bare(0, 0);
	vm_add_vcpu_bare(mine, 0);
	EXPECT_EQ(0, vm_stat(mine, VAPICVM_VM_STAT_VCPUS_WITHOUT_VPID));
	vm_free(mine);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

TEST_HARNESS_MAIN

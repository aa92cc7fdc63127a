// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC timer on every APIC-virtualization tier: one-shot,
 * periodic and TSC-deadline modes, divide configuration, current count,
 * masking and disarming.
 *
 * The bound: an expiry is never early (measured from before the guest
 * armed the timer) and at most TIMER_SLACK_NS plus a quarter of the
 * programmed time late, measured in guest TSC ticks converted with the
 * frequency vapicvm reports (VAPICVM_CAP_TSC_KHZ).
 */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "apic.h"

#define VEC_TIMER	0x50
#define VEC_WAKE	0x60
#define TIMER_SLACK_NS	2000000ULL	/* 2 ms: emulated time, host scheduling */

FIXTURE(apic) {
	struct vm *vm;
	uint32_t apicv;
	uint64_t tsc_khz;
};

APIC_TIER_FIXTURE(apic);

FIXTURE_SETUP(apic)
{
	APIC_TIER_SETUP();
	self->tsc_khz = __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_TSC_KHZ);
	ASSERT_GT(self->tsc_khz, 0);
	TH_LOG("TSC %lu kHz", (unsigned long)self->tsc_khz);
}

static volatile uint32_t ticks;
static volatile uint64_t tick_tsc[8];

static void timer_handler(struct ex_regs *regs)
{
	if (ticks < 8)
		tick_tsc[ticks] = guest_rdtsc();
	ticks++;
	apic_eoi();
}

static volatile uint32_t wakes;

static void wake_handler(struct ex_regs *regs)
{
	wakes++;
	apic_eoi();
}

static void spin_ticks(uint32_t n)
{
	while (ticks < n)
		__asm__ volatile("pause");
}

static void wait_ticks(uint32_t n)
{
	guest_halt_until(ticks >= n);
}

static uint64_t ns(struct vm *vm, uint64_t tsc_delta, uint64_t khz)
{
	return tsc_delta * 1000000ULL / khz;
}

static void check_latency(struct __test_metadata *_metadata, const char *what, uint64_t got_ns,
			  uint64_t want_ns)
{
	TH_LOG("%s: programmed %lu ns, fired after %lu ns", what, (unsigned long)want_ns,
	       (unsigned long)got_ns);
	EXPECT_GE(got_ns, want_ns) TH_LOG("%s fired early", what);
	EXPECT_LE(got_ns, want_ns + want_ns / 4 + TIMER_SLACK_NS) TH_LOG("%s fired late", what);
}

/* ---------------------------------------------------------------- */

#define ONESHOT_COUNT	2000000U	/* 2 ms at the 1 GHz timer clock, divide 1 */

/* A one-shot count at divide 1 (ns), interrupts on; the TSC just before. */
static uint64_t guest_start_oneshot(bool x2, uint32_t count)
{
	uint64_t t0;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);		/* divide by 1 */
	apic_write(REG_LVTT, VEC_TIMER);	/* one-shot */
	t0 = guest_rdtsc();
	apic_write(REG_TMICT, count);
	return t0;
}

static void guest_oneshot(uint64_t x2)
{
	uint64_t t0 = guest_start_oneshot(x2, ONESHOT_COUNT), cur;

	cur = apic_read(REG_TMCCT);
	GUEST_ASSERT(cur > 0 && cur <= ONESHOT_COUNT);
	wait_ticks(1);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	GUEST_SYNC_ARGS(1, t0, tick_tsc[0], cur);
	/* It does not fire again. */
	guest_spin_tsc(4000000ULL);
	GUEST_ASSERT_EQ(ticks, 1);
	GUEST_DONE();
}

static void oneshot(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_oneshot, x2);
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	check_latency(_metadata, "one-shot", ns(self->vm, uc.args[2] - uc.args[1], self->tsc_khz),
		      ONESHOT_COUNT);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED), 1);
}

TEST_F(apic, oneshot_xapic)
{
	oneshot(_metadata, self, false);
}

TEST_F(apic, oneshot_x2apic)
{
	oneshot(_metadata, self, true);
}

/* ---------------------------------------------------------------- */

#define PERIOD_COUNT	500000U		/* 1 ms with divide by 2 */

static void guest_periodic(void)
{
	uint64_t t0;
	uint32_t n;

	guest_x2apic = false;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0x0);		/* divide by 2 */
	apic_write(REG_LVTT, VEC_TIMER | LVT_PERIODIC);
	t0 = guest_rdtsc();
	apic_write(REG_TMICT, PERIOD_COUNT);
	wait_ticks(5);
	GUEST_SYNC_ARGS(1, t0, tick_tsc[0], tick_tsc[4]);
	/* Initial count 0 stops it. */
	apic_write(REG_TMICT, 0);
	n = ticks;
	guest_spin_tsc(20000000ULL);
	GUEST_ASSERT(ticks <= n + 1);
	GUEST_DONE();
}

TEST_F(apic, periodic)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_periodic, 0);
	uint64_t span, period;
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	check_latency(_metadata, "first period", ns(self->vm, uc.args[2] - uc.args[1],
						     self->tsc_khz), 2ULL * PERIOD_COUNT);
	/*
	 * Four more periods: the timer keeps its own schedule, not the
	 * handler's (the count reloads when it reaches zero, SDM 11.5.4), so
	 * a late first delivery shortens the span to the fifth, which still
	 * never comes before five periods from the start.
	 */
	span = ns(self->vm, uc.args[3] - uc.args[2], self->tsc_khz);
	period = 2ULL * PERIOD_COUNT;
	TH_LOG("four periods of %lu ns took %lu ns", (unsigned long)period, (unsigned long)span);
	EXPECT_GE(ns(self->vm, uc.args[3] - uc.args[1], self->tsc_khz), 5 * period)
		TH_LOG("the fifth period ended early");
	EXPECT_LE(span, 4 * period + period + TIMER_SLACK_NS);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/* ---------------------------------------------------------------- */

/* x2APIC on, interrupts on, the LVT timer in TSC-deadline mode. */
static void guest_tsc_deadline_mode(void)
{
	guest_x2apic = true;
	apic_enable();
	guest_sti();
	apic_write(REG_LVTT, VEC_TIMER | LVT_TSC_DEADLINE);
}

static void guest_tsc_deadline(uint64_t tsc_per_ms)
{
	uint64_t deadline, t0;

	guest_tsc_deadline_mode();
	/* The initial-count register is ignored in TSC-deadline mode. */
	apic_write(REG_TMICT, 100);
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), 0);

	t0 = guest_rdtsc();
	deadline = t0 + 2 * tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), deadline);
	wait_ticks(1);
	GUEST_ASSERT(tick_tsc[0] >= deadline);		/* never early */
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), 0);	/* cleared on expiry */
	GUEST_SYNC_ARGS(1, t0, tick_tsc[0], deadline);

	/* A deadline in the past fires at once; 0 disarms. */
	guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() - 1000);
	wait_ticks(2);
	guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() + tsc_per_ms);
	guest_wrmsr(MSR_TSC_DEADLINE, 0);
	guest_spin_tsc(3 * tsc_per_ms);
	GUEST_ASSERT_EQ(ticks, 2);
	/* Leaving TSC-deadline mode disarms and the MSR reads 0. */
	guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() + tsc_per_ms);
	apic_write(REG_LVTT, VEC_TIMER);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), 0);
	guest_spin_tsc(3 * tsc_per_ms);
	GUEST_ASSERT_EQ(ticks, 2);
	GUEST_DONE();
}

TEST_F(apic, tsc_deadline)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tsc_deadline, self->tsc_khz);
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	check_latency(_metadata, "TSC deadline", ns(self->vm, uc.args[2] - uc.args[1],
						     self->tsc_khz), 2000000);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/* ---------------------------------------------------------------- */

/*
 * The paths a TSC deadline takes in vapicvm: on a CPU with the
 * VMX-preemption timer (VAPICVM_CAP_PREEMPTION_TIMER), a deadline that
 * expires while the guest runs is a VM exit on the vCPU's CPU; one that
 * expires while the vCPU is halted is a host hrtimer's.  The counters say
 * which took each expiry; the guest checks that none was early.
 */
static bool preemption_timer_in_use(struct vm *vm)
{
	return __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_PREEMPTION_TIMER) == 1;
}

static void guest_tsc_deadline_running(uint64_t tsc_per_ms)
{
	uint64_t t0, deadline;

	guest_tsc_deadline_mode();

	/* Expiring while the guest spins. */
	deadline = guest_rdtsc() + tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	spin_ticks(1);
	GUEST_ASSERT(tick_tsc[0] >= deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), 0);

	/* Moved later while armed: only the later deadline fires. */
	t0 = guest_rdtsc();
	guest_wrmsr(MSR_TSC_DEADLINE, t0 + tsc_per_ms / 2);
	deadline = t0 + 2 * tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	spin_ticks(2);
	GUEST_ASSERT(tick_tsc[1] >= deadline);
	GUEST_SYNC_ARGS(1, t0, tick_tsc[1], deadline);

	/* Armed across an exit to userspace, which reads it. */
	deadline = guest_rdtsc() + tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	GUEST_SYNC_ARGS(2, deadline);
	spin_ticks(3);
	GUEST_ASSERT(tick_tsc[2] >= deadline);
	GUEST_ASSERT_EQ(ticks, 3);
	GUEST_DONE();
}

static void tsc_deadline_running(struct __test_metadata *_metadata, struct vm *vm,
				 uint64_t tsc_khz, bool hv)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_tsc_deadline_running, tsc_khz);
	struct ucall uc;

	vm_install_handler(vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(1, uc.args[0]);
	check_latency(_metadata, "moved deadline", ns(vm, uc.args[2] - uc.args[1], tsc_khz),
		      2000000);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(uc.args[1], vcpu_get_msr(vcpu, MSR_TSC_DEADLINE));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(3, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ(hv ? 3 : 0, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT));
	if (hv)
		EXPECT_LE(3, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_PREEMPT_TIMER));
}

TEST_F(apic, tsc_deadline_while_running)
{
	bool hv = preemption_timer_in_use(self->vm);

	TH_LOG("VMX-preemption timer: %s", hv ? "yes" : "no");
	tsc_deadline_running(_metadata, self->vm, self->tsc_khz, hv);
}

/*
 * A halted vCPU's deadline is the hrtimer's; woken before it by an MSI, it
 * goes back to the VMX-preemption timer, which then takes the expiry.
 */
static void guest_tsc_deadline_halted(uint64_t tsc_per_ms)
{
	uint64_t deadline;

	guest_tsc_deadline_mode();

	deadline = guest_rdtsc() + tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	wait_ticks(1);
	GUEST_ASSERT(tick_tsc[0] >= deadline);

	deadline = guest_rdtsc() + 40 * tsc_per_ms;
	guest_wrmsr(MSR_TSC_DEADLINE, deadline);
	GUEST_SYNC(1);
	guest_halt_until(wakes || ticks > 1);
	GUEST_ASSERT_EQ(ticks, 1);	/* the MSI came first */
	spin_ticks(2);
	GUEST_ASSERT(tick_tsc[1] >= deadline);
	GUEST_DONE();
}

struct msi_later {
	struct vm *vm;
	unsigned int delay_us;
};

static void *send_msi_later(void *arg)
{
	struct msi_later *m = arg;

	usleep(m->delay_us);
	vm_send_msi(m->vm, 0, VEC_WAKE, false);
	return NULL;
}

TEST_F(apic, tsc_deadline_while_halted)
{
	bool hv = preemption_timer_in_use(self->vm);
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tsc_deadline_halted, self->tsc_khz);
	struct msi_later m = { .vm = self->vm, .delay_us = 5000 };
	pthread_t sender;
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	vm_install_handler(self->vm, VEC_WAKE, wake_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT));
	ASSERT_EQ(0, pthread_create(&sender, NULL, send_msi_later, &m));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	pthread_join(sender, NULL);
	EXPECT_EQ(2, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ(hv ? 1 : 0, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT));
	EXPECT_LE(2, vcpu_stat(vcpu, VAPICVM_STAT_HALT_WAKEUP));
}

#define PREEMPTION_TIMER_PARAM "/sys/module/vapicvm/parameters/preemption_timer"

/* preemption_timer=N: vCPUs created from then on keep to the hrtimer. */
TEST_F(apic, tsc_deadline_without_preemption_timer)
{
	struct vm *vm;

	TEST_REQUIRE(preemption_timer_in_use(self->vm), "no VMX-preemption timer to turn off");
	ASSERT_EQ(0, write_sysfs(PREEMPTION_TIMER_PARAM, "N"));
	vm = vm_create_apic_tier(self->apicv);
	EXPECT_FALSE(preemption_timer_in_use(vm));
	tsc_deadline_running(_metadata, vm, self->tsc_khz, false);
	vm_free(vm);
	ASSERT_EQ(0, write_sysfs(PREEMPTION_TIMER_PARAM, "Y"));
	EXPECT_TRUE(preemption_timer_in_use(self->vm));
}

/*
 * One-shot and periodic counts while the guest runs: with the
 * VMX-preemption timer they are its, like a TSC deadline; never early,
 * on the timer's own schedule, TMCCT counting down meanwhile.
 */
#define RUNNING_ONESHOT_NS	200000U		/* at divide 1: the count */
#define RUNNING_PERIOD_NS	250000U
#define RUNNING_PERIODS		5

static void guest_counts_while_running(uint64_t tsc_per_ms)
{
	uint64_t t0, oneshot_tsc = tsc_per_ms * RUNNING_ONESHOT_NS / 1000000;
	uint64_t period_tsc = tsc_per_ms * RUNNING_PERIOD_NS / 1000000;
	uint32_t cur1, cur2, i;

	t0 = guest_start_oneshot(true, RUNNING_ONESHOT_NS);
	cur1 = apic_read(REG_TMCCT);
	guest_spin_tsc(oneshot_tsc / 2);
	cur2 = apic_read(REG_TMCCT);
	GUEST_ASSERT(cur1 > 0 && cur1 <= RUNNING_ONESHOT_NS);
	GUEST_ASSERT(cur2 > 0 && cur2 < cur1);
	spin_ticks(1);
	GUEST_ASSERT(tick_tsc[0] >= t0 + oneshot_tsc);		/* never early */
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);

	apic_write(REG_LVTT, VEC_TIMER | LVT_PERIODIC);
	t0 = guest_rdtsc();
	apic_write(REG_TMICT, RUNNING_PERIOD_NS);
	spin_ticks(1 + RUNNING_PERIODS);
	apic_write(REG_TMICT, 0);
	for (i = 0; i < RUNNING_PERIODS; i++)			/* its own schedule */
		GUEST_ASSERT(tick_tsc[1 + i] >= t0 + (i + 1) * period_tsc);
	GUEST_SYNC_ARGS(1, t0, tick_tsc[1], tick_tsc[RUNNING_PERIODS]);
	GUEST_DONE();
}

TEST_F(apic, counts_while_running)
{
	bool hv = preemption_timer_in_use(self->vm);
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_counts_while_running, self->tsc_khz);
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	check_latency(_metadata, "first period", ns(self->vm, uc.args[2] - uc.args[1],
						     self->tsc_khz), RUNNING_PERIOD_NS);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(1 + RUNNING_PERIODS, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ(hv ? 1 + RUNNING_PERIODS : 0,
		  vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT));
}

/*
 * A periodic count while userspace moves the guest's TSC 10 s ahead (a
 * restore, or a hostile caller): the periods the jump passed over are
 * skipped, as the hrtimer skips those a vCPU was away for, not delivered
 * one exit each (40000 of them at 250 us); and the count keeps its period
 * whichever timer holds it, halted vCPU or not.
 */
#define MSR_IA32_TSC		0x10
#define TSC_JUMP_S		10

static void guest_periodic_tsc_jump(void)
{
	uint32_t before;

	guest_x2apic = true;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);		/* divide by 1 */
	apic_write(REG_LVTT, VEC_TIMER | LVT_PERIODIC);
	apic_write(REG_TMICT, RUNNING_PERIOD_NS);
	spin_ticks(1);
	before = ticks;
	GUEST_SYNC_ARGS(1, before);
	wait_ticks(before + 3);			/* halted between ticks */
	apic_write(REG_TMICT, 0);
	/* The first tick after the jump, and the two after it. */
	GUEST_SYNC_ARGS(2, tick_tsc[before], tick_tsc[before + 1], tick_tsc[before + 2]);
	GUEST_DONE();
}

TEST_F(apic, periodic_count_across_a_tsc_jump)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_periodic_tsc_jump, 0);
	struct ucall uc;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(1, uc.args[0]);
	ASSERT_LE(uc.args[1], 4);
	TH_LOG("%lu tick(s) before the jump", (unsigned long)uc.args[1]);
	vcpu_set_msr(vcpu, MSR_IA32_TSC, vcpu_get_msr(vcpu, MSR_IA32_TSC) +
			   TSC_JUMP_S * self->tsc_khz * 1000);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	/* The second and third come a period after the one before, not seconds. */
	EXPECT_LE(ns(self->vm, uc.args[2] - uc.args[1], self->tsc_khz),
		  RUNNING_PERIOD_NS + TIMER_SLACK_NS);
	EXPECT_LE(ns(self->vm, uc.args[3] - uc.args[2], self->tsc_khz),
		  RUNNING_PERIOD_NS + TIMER_SLACK_NS);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	TH_LOG("%lu expiries", (unsigned long)vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	EXPECT_LE(vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED), 8);
}

/*
 * The advance (module parameter timer_advance_ns): the VMX-preemption
 * timer expires ahead of the deadline and the vCPU is held until the
 * deadline before it enters with the interrupt.  Deadlines from a few
 * hundred ticks to tens of microseconds ahead, many inside the advance
 * (the timer then expires at once), must each be taken at or after the
 * deadline, whether the advance adapts (the default) or is the largest
 * allowed.
 */
#define ADVANCE_PARAM		"/sys/module/vapicvm/parameters/timer_advance_ns"
#define ADVANCE_SHOTS		48

static volatile uint32_t advance_shots;
static volatile uint64_t advance_taken[ADVANCE_SHOTS];

static void advance_handler(struct ex_regs *regs)
{
	if (advance_shots < ADVANCE_SHOTS)
		advance_taken[advance_shots] = guest_rdtsc();
	advance_shots++;
	apic_eoi();
}

static void guest_advance(uint64_t tsc_per_ms)
{
	uint64_t deadline, ahead;
	uint32_t i;

	guest_tsc_deadline_mode();
	for (i = 0; i < ADVANCE_SHOTS; i++) {
		/* 100 ticks, then up to about 48 us, in growing steps. */
		ahead = 100 + (tsc_per_ms / 1000) * i * i / 48;
		deadline = guest_rdtsc() + ahead;
		guest_wrmsr(MSR_TSC_DEADLINE, deadline);
		while (advance_shots <= i)
			__asm__ volatile("pause");
		GUEST_ASSERT(advance_taken[i] >= deadline);	/* never early */
	}
	GUEST_DONE();
}

static void advance_never_early(struct __test_metadata *_metadata, uint32_t apicv,
				uint64_t tsc_khz, const char *advance_ns)
{
	struct vm *vm;
	struct vcpu *vcpu;

	ASSERT_EQ(0, write_sysfs(ADVANCE_PARAM, advance_ns));
	vm = vm_create_apic_tier(apicv);
	vcpu = vm_add_vcpu(vm, 0, guest_advance, tsc_khz);
	ASSERT_EQ(0, write_sysfs(ADVANCE_PARAM, "-1"));
	advance_shots = 0;
	vm_install_handler(vm, VEC_TIMER, advance_handler);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(ADVANCE_SHOTS, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	/* All but the first few, due at the write itself: the VMX-preemption timer's. */
	EXPECT_LE(ADVANCE_SHOTS / 2, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT));
	vm_free(vm);
}

TEST_F(apic, tsc_deadline_advance_never_early)
{
	TEST_REQUIRE(preemption_timer_in_use(self->vm), "no VMX-preemption timer");
	advance_never_early(_metadata, self->apicv, self->tsc_khz, "-1");	/* adaptive */
	advance_never_early(_metadata, self->apicv, self->tsc_khz, "5000");	/* the most */
}

/* ---------------------------------------------------------------- */

/*
 * Halt polling: a vCPU that halts just before its timer fires finds the
 * expiry while it polls, without sleeping, once its polling time has
 * grown to cover the wait (it starts at 0 and adapts).
 */
#define HALT_POLL_PARAM		"/sys/module/vapicvm/parameters/halt_poll_ns"
#define SHORT_HALTS		40
#define SHORT_HALT_US		20

static void guest_short_halts(uint64_t tsc_per_ms)
{
	uint64_t deadline;
	uint32_t i;

	guest_tsc_deadline_mode();
	for (i = 0; i < SHORT_HALTS; i++) {
		deadline = guest_rdtsc() + tsc_per_ms * SHORT_HALT_US / 1000;
		guest_wrmsr(MSR_TSC_DEADLINE, deadline);
		wait_ticks(i + 1);
		if (i < 8)
			GUEST_ASSERT(tick_tsc[i] >= deadline);	/* never early */
	}
	GUEST_ASSERT_EQ(ticks, SHORT_HALTS);
	GUEST_DONE();
}

static uint64_t short_halts(struct __test_metadata *_metadata, struct vm *vm, uint64_t tsc_khz)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_short_halts, tsc_khz);

	vm_install_handler(vm, VEC_TIMER, timer_handler);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(SHORT_HALTS, vcpu_stat(vcpu, VAPICVM_STAT_TIMER_FIRED));
	TH_LOG("%lu of %u halts ended while polling",
	       (unsigned long)vcpu_stat(vcpu, VAPICVM_STAT_HALT_POLL_SUCCESS), SHORT_HALTS);
	return vcpu_stat(vcpu, VAPICVM_STAT_HALT_POLL_SUCCESS);
}

TEST_F(apic, short_halts_end_while_polling)
{
	EXPECT_LE(SHORT_HALTS / 2, short_halts(_metadata, self->vm, self->tsc_khz));
}

TEST_F(apic, halt_polling_off)
{
	struct vm *vm;
	uint64_t polled;

	ASSERT_EQ(0, write_sysfs(HALT_POLL_PARAM, "0"));
	vm = vm_create_apic_tier(self->apicv);
	polled = short_halts(_metadata, vm, self->tsc_khz);
	vm_free(vm);
	ASSERT_EQ(0, write_sysfs(HALT_POLL_PARAM, "200000"));
	EXPECT_EQ(0, polled);
}

/* ---------------------------------------------------------------- */

static void guest_masked(void)
{
	guest_x2apic = false;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);
	apic_write(REG_LVTT, VEC_TIMER | LVT_MASKED);
	apic_write(REG_TMICT, 100000);	/* 100 us */
	guest_spin_tsc(10000000ULL);
	GUEST_ASSERT_EQ(ticks, 0);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);	/* it still counted down */
	GUEST_DONE();
}

TEST_F(apic, masked_timer_does_not_interrupt)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_masked, 0);

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

TEST_HARNESS_MAIN

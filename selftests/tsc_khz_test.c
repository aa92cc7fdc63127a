// SPDX-License-Identifier: GPL-2.0
/*
 * The guest TSC's rate: VAPICVM_SET_TSC_KHZ / GET_TSC_KHZ and
 * VAPICVM_CAP_TSC_CONTROL.
 *
 * Where the CPU can scale the TSC, the guest's TSC is measured against the
 * host's: the guest reads RDTSC, exits, the host reads its own TSC, spins,
 * reads it again and re-enters, and the guest reads RDTSC again.  The two
 * guest reads bracket the two host reads, so the guest's delta is at least
 * the host's spin times the rate ratio; what it may have in excess is the
 * exit and entry, measured in the same way without the spin.  No tolerance
 * is a guess: in an emulator RDTSC counts instructions, which says nothing
 * about time, and only such bracketed differences mean something.
 *
 * Without scaling (a CPU without it, or the module parameter
 * tsc_scaling=N), only the host's rate is accepted.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "apic.h"

#define MSR_IA32_TSC		0x10
#define VEC_TIMER		0x50
/* TSC-deadline expiries: late by at most a quarter plus this (apic_timer_test). */
#define DEADLINE_MS		20ULL
#define TIMER_SLACK_NS		2000000ULL
#define SPIN_HOST_TICKS		5000000ULL
#define ROUNDS			4
/* The largest rate the module accepts, whatever the host's (tsc.h). */
#define TSC_KHZ_MAX		500000000ULL

static uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | ((uint64_t)hi << 32);
}

static void host_spin(uint64_t ticks)
{
	uint64_t t0 = host_rdtsc();

	while (host_rdtsc() - t0 < ticks)
		__asm__ volatile("pause");
}

/* x * num / den without overflow for the values used here (rates below 2^32). */
static uint64_t scale(uint64_t x, uint64_t num, uint64_t den)
{
	return (uint64_t)((unsigned __int128)x * num / den);
}

static int set_khz(struct vcpu *vcpu, uint64_t khz)
{
	return ioctl(vcpu->fd, VAPICVM_SET_TSC_KHZ, (unsigned long)khz);
}

static long get_khz(struct vcpu *vcpu)
{
	return ioctl(vcpu->fd, VAPICVM_GET_TSC_KHZ, 0);
}

#define TSC_SCALING_PARAM	"/sys/module/vapicvm/parameters/tsc_scaling"

/* The module parameter tsc_scaling: 1 (Y), 0 (N), -1 unreadable. */
static int tsc_scaling_param(void)
{
	char c = 0;
	int fd = open(TSC_SCALING_PARAM, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

FIXTURE(tsc) {
	struct vm *vm;
	uint64_t host_khz;
	bool scaling;
};

FIXTURE_SETUP(tsc)
{
	long cap;

	self->vm = vm_create();
	self->host_khz = __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_TSC_KHZ);
	ASSERT_GT(self->host_khz, 0);
	cap = __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_TSC_CONTROL);
	ASSERT_TRUE(cap == 0 || cap == 1);
	/* The same answer on /dev/vapicvm and on the VM. */
	ASSERT_EQ(cap, __sys_ioctl(self->vm->dev_fd, VAPICVM_CHECK_EXTENSION,
				   (void *)VAPICVM_CAP_TSC_CONTROL));
	self->scaling = cap;
	TH_LOG("host TSC %lu kHz, scaling %s", (unsigned long)self->host_khz,
	       self->scaling ? "yes" : "no");
}

FIXTURE_TEARDOWN(tsc)
{
	vm_free(self->vm);
}

static void guest_nothing(void)
{
	GUEST_DONE();
}

/* The capability: the CPU's VMX TSC scaling, unless tsc_scaling=N. */
TEST_F(tsc, capability_matches_cpu)
{
	int flag = host_vmx_flag("tsc_scaling"), param = tsc_scaling_param();

	ASSERT_GE(param, 0);
	TEST_REQUIRE(flag >= 0, "the kernel lists no VMX flags in /proc/cpuinfo");
	TH_LOG("CPU tsc_scaling %d, module parameter %d", flag, param);
	EXPECT_EQ(flag && param, self->scaling);
}

/* Every vCPU starts at the host's rate (VAPICVM_CAP_TSC_KHZ). */
TEST_F(tsc, default_rate)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_nothing, 0);

	EXPECT_EQ(self->host_khz, get_khz(vcpu));
	EXPECT_EQ(0, set_khz(vcpu, self->host_khz));
	EXPECT_EQ(self->host_khz, get_khz(vcpu));
}

static void only_host_rate(struct __test_metadata *_metadata, struct vm *vm, uint64_t h)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_nothing, 0);

	EXPECT_EQ(0, set_khz(vcpu, h));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, (unsigned long)(h + 1),
				     EOPNOTSUPP));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, (unsigned long)(h / 2),
				     EOPNOTSUPP));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, (unsigned long)(h * 2),
				     EOPNOTSUPP));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, 0, EINVAL));
	EXPECT_EQ(h, get_khz(vcpu));
	/* The guest still runs, at the host's rate. */
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/*
 * Without scaling only the host's rate is taken: on a CPU without it, or
 * with tsc_scaling=N for the vCPUs created meanwhile.
 */
TEST_F(tsc, without_scaling_only_host_rate)
{
	struct vcpu *before;
	struct vm *vm;

	if (!self->scaling) {
		only_host_rate(_metadata, self->vm, self->host_khz);
		return;
	}
	before = vm_add_vcpu(self->vm, 0, guest_nothing, 0);
	ASSERT_EQ(0, write_sysfs(TSC_SCALING_PARAM, "N"));
	vm = vm_create();
	EXPECT_EQ(0, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_TSC_CONTROL));
	only_host_rate(_metadata, vm, self->host_khz);
	/* A vCPU created before keeps scaling. */
	EXPECT_EQ(0, set_khz(before, self->host_khz * 2));
	vm_free(vm);
	ASSERT_EQ(0, write_sysfs(TSC_SCALING_PARAM, "Y"));
	EXPECT_EQ(1, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
				(void *)VAPICVM_CAP_TSC_CONTROL));
}

TEST_F(tsc, invalid_rates)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_nothing, 0);
	uint64_t h = self->host_khz, lo = (h + 255) / 256, hi = h * 256;
	static const unsigned long huge[] = {
		0, 1ULL << 32, (1ULL << 32) + 1000, ~0UL, ~0UL >> 1, TSC_KHZ_MAX + 1,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(huge); i++)
		EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, huge[i], EINVAL))
			TH_LOG("%#lx", huge[i]);
	EXPECT_EQ(h, get_khz(vcpu));
	if (hi > TSC_KHZ_MAX)
		hi = TSC_KHZ_MAX;
	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	/* The range: host/256 to host*256 (at most 500 GHz), bounds included. */
	if (lo > 1)
		EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, lo - 1, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, hi + 1, EINVAL));
	EXPECT_EQ(h, get_khz(vcpu));
	EXPECT_EQ(0, set_khz(vcpu, lo));
	EXPECT_EQ(lo, get_khz(vcpu));
	EXPECT_EQ(0, set_khz(vcpu, hi));
	EXPECT_EQ(hi, get_khz(vcpu));
	/* A refused value changes nothing. */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, 0, EINVAL));
	EXPECT_EQ(hi, get_khz(vcpu));
	EXPECT_EQ(0, set_khz(vcpu, h));
	EXPECT_EQ(h, get_khz(vcpu));
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/* ---------------------------------------------------------------- */

/* RDTSC, then an exit with the value: forever. */
static void guest_rdtsc_loop(void)
{
	uint64_t prev = 0, t;

	for (;;) {
		t = guest_rdtsc();
		GUEST_ASSERT(t > prev);
		prev = t;
		GUEST_SYNC_ARGS(1, t);
	}
}

struct probe {
	struct vcpu *vcpu;
	uint64_t last;	/* the guest TSC of the previous exit */
};

static void probe_start(struct __test_metadata *_metadata, struct probe *p, struct vcpu *vcpu)
{
	struct ucall uc;

	p->vcpu = vcpu;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	p->last = uc.args[1];
}

/*
 * One round: after the guest's exit the host reads its TSC (*h0), spins
 * `spin` host ticks, reads it again (*h1) and re-enters.  Returns the
 * guest's TSC delta between its reads before and after.
 */
static uint64_t probe_round(struct __test_metadata *_metadata, struct probe *p, uint64_t spin,
			    uint64_t *h0, uint64_t *h1)
{
	struct ucall uc;
	uint64_t d;

	*h0 = host_rdtsc();
	host_spin(spin);
	*h1 = host_rdtsc();
	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(p->vcpu, &uc));
	d = uc.args[1] - p->last;
	p->last = uc.args[1];
	return d;
}

/*
 * At guest rate khz: the guest delta over a host spin S is at least
 * S * khz / host - 2 (the reads bracket the host's) and exceeds that by at
 * most twice the largest excess of rounds without a spin.
 */
static void check_rate(struct __test_metadata *_metadata, FIXTURE_DATA(tsc) *self,
		       struct probe *p, uint64_t khz)
{
	uint64_t h0, h1, d, want, base_excess = 0, min_excess = ~0ULL;
	int64_t excess;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		d = probe_round(_metadata, p, 0, &h0, &h1);
		want = scale(h1 - h0, khz, self->host_khz);
		ASSERT_GE(d + 2, want);
		if (d - want > base_excess)
			base_excess = d - want;
	}
	for (i = 0; i < ROUNDS; i++) {
		d = probe_round(_metadata, p, SPIN_HOST_TICKS, &h0, &h1);
		want = scale(h1 - h0, khz, self->host_khz);
		excess = (int64_t)(d - want);
		TH_LOG("%lu kHz: host %lu ticks, guest %lu ticks (expected %lu + exit, %ld)",
		       (unsigned long)khz, (unsigned long)(h1 - h0), (unsigned long)d,
		       (unsigned long)want, (long)excess);
		EXPECT_GE(excess, -2) TH_LOG("the guest TSC ran slower than %lu kHz",
					     (unsigned long)khz);
		if (excess >= 0 && (uint64_t)excess < min_excess)
			min_excess = excess;
	}
	/* Host preemption may lengthen an exit: the best round counts. */
	EXPECT_LE(min_excess, 2 * base_excess + 2)
		TH_LOG("the guest TSC ran faster than %lu kHz (exits cost %lu)",
		       (unsigned long)khz, (unsigned long)base_excess);
}

TEST_F(tsc, guest_rate_follows_setting)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_rdtsc_loop, 0);
	uint64_t h = self->host_khz;
	uint64_t rates[] = { h, h / 2, h * 2, h * 3 / 4, h }, h0, h1;
	struct probe p;
	unsigned int i;

	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	probe_start(_metadata, &p, vcpu);
	for (i = 0; i < ARRAY_SIZE(rates); i++) {
		ASSERT_EQ(0, set_khz(vcpu, rates[i]));
		ASSERT_EQ(rates[i], get_khz(vcpu));
		/* The first round straddles the change: drop it. */
		probe_round(_metadata, &p, 0, &h0, &h1);
		check_rate(_metadata, self, &p, rates[i]);
	}
}

/*
 * A VMM that moves a vCPU to another VM (vcpu_migrate(): GET_TSC_KHZ, then
 * SET_TSC_KHZ before SET_MSRS) keeps its rate and its TSC's value.
 */
TEST_F(tsc, rate_survives_migration)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_rdtsc_loop, 0), *moved;
	uint64_t khz = self->host_khz * 2, h0, h1, h2, h3, exit_cost, d;
	struct vm *dst;
	struct probe p;

	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	ASSERT_EQ(0, set_khz(vcpu, khz));
	probe_start(_metadata, &p, vcpu);
	/* An exit's cost in guest ticks, with no spin. */
	exit_cost = probe_round(_metadata, &p, 0, &h0, &h1);
	h0 = host_rdtsc();
	dst = vm_create();
	moved = vcpu_migrate(vcpu, dst);
	EXPECT_EQ(khz, get_khz(moved));
	p.vcpu = moved;
	d = probe_round(_metadata, &p, 0, &h2, &h3);
	h1 = host_rdtsc();
	/*
	 * The TSC goes on from the value it had when it was read: less than
	 * the rate times the host time from just before the move to just
	 * after the guest's next read, plus the exit before the move.
	 */
	TH_LOG("guest TSC +%lu ticks over a move of %lu host ticks (an exit: %lu)",
	       (unsigned long)d, (unsigned long)(h1 - h0), (unsigned long)exit_cost);
	EXPECT_GT(d, 0);
	EXPECT_LE(d, scale(h1 - h0, khz, self->host_khz) + exit_cost + 2);
	check_rate(_metadata, self, &p, khz);
	vm_free(dst);
}

/*
 * A change keeps the guest TSC continuous: across it, the guest's delta
 * is bracketed by the host ticks the change took and the exit's cost.
 */
TEST_F(tsc, continuous_across_change)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_rdtsc_loop, 0);
	uint64_t h = self->host_khz, rates[] = { h * 2, h / 2, h * 3, h };
	uint64_t h0, h1, base = 0, d, cost, old = h, new, rmax, rmin;
	struct ucall uc;
	struct probe p;
	unsigned int i;
	int j;

	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	probe_start(_metadata, &p, vcpu);
	/* The exit's cost at the host's rate, in host ticks. */
	for (j = 0; j < ROUNDS; j++) {
		d = probe_round(_metadata, &p, 0, &h0, &h1);
		if (d > base)
			base = d;
	}
	for (i = 0; i < ARRAY_SIZE(rates); i++) {
		new = rates[i];
		h0 = host_rdtsc();
		ASSERT_EQ(0, set_khz(vcpu, new));
		h1 = host_rdtsc();
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		d = uc.args[1] - p.last;
		p.last = uc.args[1];
		cost = h1 - h0;
		rmax = old > new ? old : new;
		rmin = old < new ? old : new;
		TH_LOG("%lu -> %lu kHz: guest delta %lu, change %lu host ticks, exit %lu",
		       (unsigned long)old, (unsigned long)new, (unsigned long)d,
		       (unsigned long)cost, (unsigned long)base);
		EXPECT_GE(d + 2, scale(cost, rmin, h));
		EXPECT_LE(d, scale(2 * base + cost, rmax, h) + 2);
		old = new;
		/* The exits after it cost the new rate's ticks. */
		base = 0;
		for (j = 0; j < ROUNDS; j++) {
			d = probe_round(_metadata, &p, 0, &h0, &h1);
			if (scale(d, h, new) > base)
				base = scale(d, h, new);
		}
	}
}

/* ---------------------------------------------------------------- */

static volatile uint32_t ticks;
static volatile uint64_t tick_tsc;

static void timer_handler(struct ex_regs *regs)
{
	tick_tsc = guest_rdtsc();
	ticks++;
	apic_eoi();
}

/* Deadlines DEADLINE_MS ahead at the guest's rate khz, spinning then halting. */
static void guest_deadline(uint64_t khz)
{
	uint64_t t0, deadline;
	int halt;

	guest_x2apic = true;
	apic_enable();
	guest_sti();
	apic_write(REG_LVTT, VEC_TIMER | LVT_TSC_DEADLINE);
	for (halt = 0; halt < 2; halt++) {
		t0 = guest_rdtsc();
		deadline = t0 + DEADLINE_MS * khz;
		guest_wrmsr(MSR_TSC_DEADLINE, deadline);
		if (halt)
			guest_halt_until(ticks == (uint32_t)halt + 1);
		else
			while (ticks != 1)
				__asm__ volatile("pause");
		GUEST_ASSERT(tick_tsc >= deadline);	/* never early */
		GUEST_SYNC_ARGS(halt, t0, tick_tsc, deadline);
	}
	GUEST_DONE();
}

static void deadline_at(struct __test_metadata *_metadata, FIXTURE_DATA(tsc) *self,
			uint64_t khz)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_deadline, khz);
	uint64_t want = DEADLINE_MS * 1000000ULL, got;
	struct ucall uc;
	int i;

	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	ASSERT_EQ(0, set_khz(vcpu, khz));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		got = scale(uc.args[2] - uc.args[1], 1000000, khz);
		TH_LOG("%lu kHz, %s: programmed %lu ns, fired after %lu ns", (unsigned long)khz,
		       i ? "halted" : "running", (unsigned long)want, (unsigned long)got);
		EXPECT_GE(uc.args[2], uc.args[3]);
		EXPECT_LE(got, want + want / 4 + TIMER_SLACK_NS) TH_LOG("fired late");
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

TEST_F(tsc, deadline_half_rate)
{
	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	deadline_at(_metadata, self, self->host_khz / 2);
}

TEST_F(tsc, deadline_double_rate)
{
	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	deadline_at(_metadata, self, self->host_khz * 2);
}

/* ---------------------------------------------------------------- */

/*
 * IA32_TSC through GET/SET_MSRS, and the guest's WRMSR, are in guest
 * ticks: each value read is bracketed by host reads around the ioctls.
 */
#define WRITE_TRIES	5

static void guest_write_tsc(void)
{
	uint64_t a, b, k = 1ULL << 36, least = ~0ULL;
	int i;

	/* The cost of the write's exit, in guest ticks. */
	a = guest_rdtsc();
	guest_wrmsr(MSR_IA32_TSC, a);
	b = guest_rdtsc();
	GUEST_ASSERT(b >= a);
	GUEST_SYNC_ARGS(1, b - a);
	/*
	 * The smallest of a few tries: a host interrupt that lands in one
	 * write's exit adds its handler's time, which is not the write's.
	 */
	for (i = 0; i < WRITE_TRIES; i++) {
		a = guest_rdtsc();
		guest_wrmsr(MSR_IA32_TSC, a + k);
		b = guest_rdtsc();
		GUEST_ASSERT(b >= a + k);
		if (b - (a + k) < least)
			least = b - (a + k);
	}
	GUEST_SYNC_ARGS(2, least, WRITE_TRIES);
	GUEST_DONE();
}

TEST_F(tsc, msr_in_guest_units)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_write_tsc, 0);
	uint64_t h = self->host_khz, khz = h * 2, a0, a1, b0, b1, v0, v1, x = 1ULL << 40, cost;
	struct ucall uc;

	TEST_REQUIRE(self->scaling, "the CPU does not scale the TSC");
	ASSERT_EQ(0, set_khz(vcpu, khz));
	a0 = host_rdtsc();
	v0 = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	a1 = host_rdtsc();
	host_spin(SPIN_HOST_TICKS);
	b0 = host_rdtsc();
	v1 = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	b1 = host_rdtsc();
	TH_LOG("GET_MSRS: %lu guest ticks over %lu..%lu host ticks", (unsigned long)(v1 - v0),
	       (unsigned long)(b0 - a1), (unsigned long)(b1 - a0));
	EXPECT_GE(v1 - v0 + 2, scale(b0 - a1, khz, h));
	EXPECT_LE(v1 - v0, scale(b1 - a0, khz, h) + 2);

	a0 = host_rdtsc();
	vcpu_set_msr(vcpu, MSR_IA32_TSC, x);
	v0 = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	a1 = host_rdtsc();
	EXPECT_GE(v0, x);
	EXPECT_LE(v0 - x, scale(a1 - a0, khz, h) + 2);

	/* The guest's own write. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	cost = uc.args[1];
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	TH_LOG("guest WRMSR: read back at most %lu ticks past the value written (best of %lu), "
	       "an exit costs %lu", (unsigned long)uc.args[1], (unsigned long)uc.args[2],
	       (unsigned long)cost);
	EXPECT_LE(uc.args[1], 2 * cost + 2);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

/* ---------------------------------------------------------------- */

#define BUSY_SYNCS	200

static void guest_busy(void)
{
	uint64_t prev = guest_rdtsc(), t;
	int i, j;

	for (i = 0; i < BUSY_SYNCS; i++) {
		for (j = 0; j < 100; j++) {
			t = guest_rdtsc();
			GUEST_ASSERT(t > prev);	/* never backwards, whatever the rate */
			prev = t;
		}
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

/*
 * The rate changes while another thread runs the vCPU: a change waits
 * for RUN to return (the vCPU lock) and the guest TSC never goes back.
 */
TEST_F(tsc, change_while_running)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_busy, 0);
	uint64_t h = self->host_khz, rates[] = { h / 2, h * 2, h };
	struct vcpu_thread th;
	unsigned int n = 0;
	long k;

	vcpu_thread_start(&th, vcpu);
	while (!th.done) {
		uint64_t r = rates[n++ % ARRAY_SIZE(rates)];

		if (self->scaling) {
			EXPECT_EQ(0, set_khz(vcpu, r));
		} else if (r != h) {
			EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ,
						     (unsigned long)r, EOPNOTSUPP));
		}
		k = get_khz(vcpu);
		EXPECT_TRUE(k == (long)rates[0] || k == (long)rates[1] || k == (long)h);
		EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_TSC_KHZ, 0, EINVAL));
	}
	vcpu_thread_join(&th);
	TH_LOG("%u changes during %u exits", n, th.syncs);
	EXPECT_EQ(BUSY_SYNCS, th.syncs);
}

TEST_HARNESS_MAIN

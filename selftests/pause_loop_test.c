// SPDX-License-Identifier: GPL-2.0
/*
 * PAUSE-loop exiting and directed yield (module/spin.c).  A vCPU that
 * spins with PAUSE at CPL 0 leaves the guest, and hands its host CPU to a
 * sibling vCPU that waits for one: with two vCPU threads on one host CPU,
 * a flag passed back and forth between the vCPUs goes round at the speed
 * of a yield, not of the host's scheduler tick.  A halted sibling is never
 * yielded to, and ple_gap=0 turns the exits off.
 *
 * The CPU has the control when its vmx flags list "ple"; without it
 * ple_gap reads 0 and the tests that need the exits are skipped.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define PARAMS		"/sys/module/vapicvm/parameters/"
#define ROUNDS		100
#define SPIN_TICKS	2000000ULL	/* ~0.5 ms of guest TSC: many windows */
#define JOIN_TIMEOUT_S	300

/* Guest memory, shared by the vCPUs. */
static volatile uint32_t turn;		/* the id of the vCPU whose turn it is */
static volatile uint64_t handoff_ticks;	/* TSC ticks vCPU 0 took for ROUNDS */

static void guest_spin(void)
{
	guest_spin_tsc(SPIN_TICKS);
	GUEST_DONE();
}

/* vCPU `me` waits for its turn, then gives it to the other, ROUNDS times. */
static void guest_ping_pong(uint64_t me)
{
	uint64_t t0 = guest_rdtsc();

	guest_pass_turn(&turn, me, ROUNDS);
	if (me == 0)
		handoff_ticks = guest_rdtsc() - t0;
	GUEST_DONE();
}

/* Interrupts on, none to come: the vCPU stays blocked in the kernel. */
static void guest_halt_forever(void)
{
	for (;;)
		guest_safe_halt();
}

FIXTURE(ple) {
	bool has_ple;
	long gap;
	cpu_set_t saved_cpus;
};

FIXTURE_SETUP(ple)
{
	self->has_ple = host_vmx_flag("ple") == 1;
	self->gap = read_sysfs_long(PARAMS "ple_gap");
	/* Every vCPU thread of the test on host CPU 0: only yields let a sibling run. */
	ASSERT_EQ(0, pin_to_cpu(0, &self->saved_cpus));
}

FIXTURE_TEARDOWN(ple)
{
	char gap[32];

	snprintf(gap, sizeof(gap), "%ld", self->gap);
	write_sysfs(PARAMS "ple_gap", gap);
	sched_setaffinity(0, sizeof(self->saved_cpus), &self->saved_cpus);
}

/* Without the CPU control the parameter says so; with it, KVM's defaults. */
TEST_F(ple, parameters)
{
	if (self->has_ple) {
		EXPECT_EQ(128, self->gap);
	} else {
		EXPECT_EQ(0, self->gap);
	}
	EXPECT_EQ(4096, read_sysfs_long(PARAMS "ple_window"));
}

/* One vCPU: it exits from its spin, and has nobody to yield to. */
TEST_F(ple, spin_exits)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	struct ucall uc;

	if (!self->has_ple) {
		vm_free(vm);
		SKIP(return, "the CPU has no PAUSE-loop exiting");
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_PAUSE), 1);
	EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_DIRECTED_YIELD));
	TH_LOG("%lu PAUSE-loop exits in %llu TSC ticks of spinning",
	       (unsigned long)vcpu_stat(vcpu, VAPICVM_STAT_EXIT_PAUSE), SPIN_TICKS);
	vm_free(vm);
}

/* ple_gap=0: vCPUs created from then on spin without exiting. */
TEST_F(ple, gap_zero_turns_it_off)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;

	ASSERT_EQ(0, write_sysfs(PARAMS "ple_gap", "0"));
	vm = vm_create();
	vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_PAUSE));
	vm_free(vm);
}

/*
 * Two vCPUs, one host CPU, ROUNDS round trips of a flag.  Each handoff is
 * a wait for the other vCPU's thread, which only a yield (or the host's
 * tick) lets run.  Returns vCPU 0's TSC ticks per handoff.
 */
static uint64_t ping_pong(struct __test_metadata *_metadata, uint64_t yields[2])
{
	struct vm *vm = vm_create();
	struct vcpu_thread th[2];
	struct vcpu *vcpu[2];
	uint64_t ticks;
	int i;

	vcpu[0] = vm_add_vcpu(vm, 0, guest_ping_pong, 0);
	vcpu[1] = vm_add_vcpu(vm, 1, guest_ping_pong, 1);
	vcpu_thread_start(&th[0], vcpu[0]);
	vcpu_thread_start(&th[1], vcpu[1]);
	for (i = 0; i < 2; i++) {
		if (!vcpu_thread_join_timeout(&th[i], JOIN_TIMEOUT_S)) {
			vcpu_print_stats(vcpu[i], "");
			vcpu_thread_stop(&th[0]);
			vcpu_thread_stop(&th[1]);
			EXPECT_TRUE(th[i].done) TH_LOG("vCPU %d did not finish in %d s", i,
						       JOIN_TIMEOUT_S);
			vm_free(vm);
			return 0;
		}
	}
	sync_global_from_guest(vm, handoff_ticks);
	ticks = handoff_ticks / (2 * ROUNDS);
	for (i = 0; i < 2; i++)
		yields[i] = vcpu_stat(vcpu[i], VAPICVM_STAT_DIRECTED_YIELD);
	TH_LOG("%d handoffs: %lu TSC ticks each; PAUSE-loop exits %lu + %lu, directed yields %lu + %lu",
	       2 * ROUNDS, (unsigned long)ticks,
	       (unsigned long)vcpu_stat(vcpu[0], VAPICVM_STAT_EXIT_PAUSE),
	       (unsigned long)vcpu_stat(vcpu[1], VAPICVM_STAT_EXIT_PAUSE),
	       (unsigned long)yields[0], (unsigned long)yields[1]);
	vm_free(vm);
	return ticks;
}

/*
 * With the exits, the spinning vCPU yields to its sibling: most handoffs
 * are yields (the host's tick and wake-ups may do a few).
 */
TEST_F_TIMEOUT(ple, yields_to_the_sibling_on_one_cpu, JOIN_TIMEOUT_S + 30)
{
	uint64_t yields[2];

	if (!self->has_ple)
		SKIP(return, "the CPU has no PAUSE-loop exiting");
	ping_pong(_metadata, yields);
	EXPECT_GE(yields[0] + yields[1], ROUNDS);
	EXPECT_GE(yields[0], 1);
	EXPECT_GE(yields[1], 1);
}

/* The same without the exits: it works, by the tick; nothing yields. */
TEST_F_TIMEOUT(ple, without_exits_only_the_tick_switches, JOIN_TIMEOUT_S + 30)
{
	uint64_t yields[2];

	ASSERT_EQ(0, write_sysfs(PARAMS "ple_gap", "0"));
	ping_pong(_metadata, yields);
	EXPECT_EQ(0, yields[0] + yields[1]);
}

/* A halted sibling cannot take the CPU: the spinner exits but never yields. */
TEST_F(ple, never_yields_to_a_halted_sibling)
{
	struct vm *vm = vm_create();
	struct vcpu *spinner = vm_add_vcpu(vm, 0, guest_spin, 0);
	struct vcpu *halted = vm_add_vcpu(vm, 1, guest_halt_forever, 0);
	struct vcpu_thread th;
	struct ucall uc;

	if (!self->has_ple) {
		vm_free(vm);
		SKIP(return, "the CPU has no PAUSE-loop exiting");
	}
	vcpu_thread_start(&th, halted);
	/* Let it reach HLT and sleep before the spin starts. */
	while (vcpu_stat(halted, VAPICVM_STAT_EXIT_HLT) == 0)
		sched_yield();
	usleep(10000);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(spinner, &uc));
	EXPECT_GE(vcpu_stat(spinner, VAPICVM_STAT_EXIT_PAUSE), 1);
	EXPECT_EQ(0, vcpu_stat(spinner, VAPICVM_STAT_DIRECTED_YIELD));
	vcpu_thread_stop(&th);
	vm_free(vm);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * A measurement, not a timed test: the guest's TSC delta across exits that
 * vapicvm handles in the kernel (CPUID, VMCALL) and across one that goes to
 * userspace (OUT), averaged over many iterations and reported as "#" lines.
 * In the emulated bench machine the TSC advances once per emulated
 * instruction, so the numbers count the instructions of a round trip
 * (Documentation/testbench.rst).  Nothing here is asserted against a time.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define ITERATIONS	5000
#define BENCH_PORT	0x99

enum { STAGE_RDTSC, STAGE_CPUID, STAGE_VMCALL, STAGE_OUT, NR_STAGES };

static const char *const stage_names[] = {
	[STAGE_RDTSC] = "rdtsc back to back",
	[STAGE_CPUID] = "CPUID exit round trip",
	[STAGE_VMCALL] = "VMCALL exit round trip",
	[STAGE_OUT] = "OUT exit to userspace and back",
};

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | ((uint64_t)hi << 32);
}

static void guest_measure(void)
{
	uint64_t t0, t1, total, min, i, stage;

	for (stage = 0; stage < NR_STAGES; stage++) {
		total = 0;
		min = ~0ULL;
		/* One round untimed: the first exit of a kind may fault pages in. */
		for (i = 0; i <= ITERATIONS; i++) {
			uint64_t a = 0, b, c = 0, d;

			t0 = rdtsc_ordered();
			switch (stage) {
			case STAGE_CPUID:
				__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
				break;
			case STAGE_VMCALL:
				__asm__ volatile("vmcall" : "+a"(a) : : "memory");
				break;
			case STAGE_OUT:
				__asm__ volatile("outb %%al, %1" : : "a"(0), "i"(BENCH_PORT));
				break;
			}
			t1 = rdtsc_ordered();
			if (!i)
				continue;
			total += t1 - t0;
			if (t1 - t0 < min)
				min = t1 - t0;
		}
		GUEST_SYNC_ARGS(stage, total, min);
	}
	GUEST_DONE();
}

TEST(exit_round_trip_cost)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_measure, 0);
	uint64_t avg[NR_STAGES], min[NR_STAGES];
	uint64_t cpuid_exits = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_CPUID);
	struct ucall uc;
	int stage = 0;

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == VAPICVM_EXIT_IO && vcpu->run->io.port == BENCH_PORT)
			continue;
		if (get_ucall(vcpu, &uc) == UCALL_DONE)
			break;
		ASSERT_EQ(UCALL_SYNC, uc.cmd) TH_LOG("exit %s, ucall %lu %s",
						     exit_reason_str(vcpu->run->exit_reason),
						     (unsigned long)uc.cmd, uc.msg);
		ASSERT_EQ(stage, uc.args[0]);
		avg[stage] = uc.args[1] / ITERATIONS;
		min[stage] = uc.args[2];
		stage++;
	}
	ASSERT_EQ(NR_STAGES, stage);
	EXPECT_EQ(ITERATIONS + 1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_CPUID) - cpuid_exits);
	EXPECT_EQ(ITERATIONS + 1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_VMCALL));
	for (stage = 0; stage < NR_STAGES; stage++)
		TH_LOG("%-32s avg %6llu TSC ticks, min %6llu (%d iterations)",
		       stage_names[stage], (unsigned long long)avg[stage],
		       (unsigned long long)min[stage], ITERATIONS);
	TH_LOG("net of rdtsc: CPUID %llu, VMCALL %llu, OUT to userspace %llu",
	       (unsigned long long)(avg[STAGE_CPUID] - avg[STAGE_RDTSC]),
	       (unsigned long long)(avg[STAGE_VMCALL] - avg[STAGE_RDTSC]),
	       (unsigned long long)(avg[STAGE_OUT] - avg[STAGE_RDTSC]));
	/* Sanity only: an exit costs more than no exit. */
	EXPECT_GT(avg[STAGE_CPUID], avg[STAGE_RDTSC]);
	EXPECT_GT(avg[STAGE_VMCALL], avg[STAGE_RDTSC]);
	EXPECT_GT(avg[STAGE_OUT], avg[STAGE_VMCALL]);
	vm_free(vm);
}

TEST_HARNESS_MAIN

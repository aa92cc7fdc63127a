// SPDX-License-Identifier: GPL-2.0
/*
 * Two vCPUs flushing their TLBs at once, in guest mode: each toggles
 * CR0.WP (owned by the guest: no VM exit) or CR4.PGE (never intercepted)
 * in a tight loop, vCPU 1 from the handler of an IPI that vCPU 0 sent (the
 * run-this-on-every-CPU pattern), vCPU 0 after sending it.  Both must
 * finish, on every APIC tier, with the vCPUs on different host CPUs when
 * there are two.
 */
#include <sys/sysinfo.h>

#include "kselftest_harness.h"
#include "apic.h"

#define TOGGLES		100000
#define VEC_CALL	0x50
#define CR0_WP		(1ULL << 16)
#define CR4_PGE		(1ULL << 7)

enum { FLIP_CR0_WP, FLIP_CR4_PGE };

/* Guest memory, shared by the vCPUs; read by the host after a failure. */
static volatile uint64_t flips_done[2];
static volatile uint32_t call_taken, target_ready;
static uint64_t flip_what;

/* TOGGLES times: clear the bit, set it back.  Returns the TSC ticks taken. */
static uint64_t flip(int cpu)
{
	uint64_t t0 = guest_rdtsc(), i;

	if (flip_what == FLIP_CR0_WP) {
		uint64_t cr0 = guest_read_cr0();

		for (i = 0; i < TOGGLES; i++) {
			__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_WP) : "memory");
			__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
			flips_done[cpu] = i + 1;
		}
		GUEST_ASSERT(guest_read_cr0() & CR0_WP);
	} else {
		uint64_t cr4 = guest_read_cr4() | CR4_PGE;

		for (i = 0; i < TOGGLES; i++) {
			__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
			__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~CR4_PGE) : "memory");
			flips_done[cpu] = i + 1;
		}
		GUEST_ASSERT(!(guest_read_cr4() & CR4_PGE));
	}
	return guest_rdtsc() - t0;
}

/* vCPU 1: the "function call" IPI runs the loop, with IF=0, as Linux would. */
static void call_handler(struct ex_regs *regs)
{
	flip(1);
	call_taken = 1;
	apic_eoi();
}

static void guest_target(void)
{
	apic_enable();
	target_ready = 1;
	guest_halt_until(call_taken);
	GUEST_DONE();
}

static void guest_caller(void)
{
	uint64_t ticks;

	apic_enable();
	while (!target_ready)
		__asm__ volatile("pause");
	apic_icr(1, ICR_FIXED | VEC_CALL);
	ticks = flip(0);
	/* And waits for the other CPU, as on_each_cpu(..., wait=1) does. */
	while (!call_taken)
		__asm__ volatile("pause");
	GUEST_SYNC_ARGS(1, ticks);
	GUEST_DONE();
}

FIXTURE(tlb) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(tlb);

FIXTURE_SETUP(tlb)
{
	APIC_TIER_SETUP();
}

/* Guest seconds (TSC ticks at 200 MHz of emulated instructions, order of) */
#define FLIP_TIMEOUT_S	20

static void two_cpus_flip(struct __test_metadata *_metadata, struct vm *vm, uint64_t what)
{
	struct vcpu_thread th[2];
	struct vcpu *vcpu[2];
	uint64_t done[2];
	int i;

	flip_what = what;
	sync_global_to_guest(vm, flip_what);
	vcpu[0] = vm_add_vcpu(vm, 0, guest_caller, 0);
	vcpu[1] = vm_add_vcpu(vm, 1, guest_target, 0);
	vm_install_handler(vm, VEC_CALL, call_handler);
	vcpu_thread_start(&th[1], vcpu[1]);
	vcpu_thread_start(&th[0], vcpu[0]);
	for (i = 0; i < 2; i++) {
		if (!vcpu_thread_join_timeout(&th[i], FLIP_TIMEOUT_S)) {
			sync_global_from_guest(vm, flips_done);
			memcpy(done, (const void *)flips_done, sizeof(done));
			vcpu_print_stats(vcpu[0], "vCPU 0: ");
			vcpu_print_stats(vcpu[1], "vCPU 1: ");
			vcpu_thread_stop(&th[0]);
			vcpu_thread_stop(&th[1]);
			ASSERT_TRUE(th[i].done) TH_LOG("vCPU %d did not finish in %d s: "
						      "%lu and %lu of %d toggles done", i,
						      FLIP_TIMEOUT_S, done[0], done[1], TOGGLES);
		}
	}
	sync_global_from_guest(vm, flips_done);
	EXPECT_EQ(TOGGLES, flips_done[0]);
	EXPECT_EQ(TOGGLES, flips_done[1]);
	EXPECT_EQ(1, th[0].syncs);
	TH_LOG("%d toggles per vCPU; vCPU 0: %lu TSC ticks, %lu exits; vCPU 1: %lu exits",
	       TOGGLES, th[0].last_sync.args[1], vcpu_stat(vcpu[0], VAPICVM_STAT_EXITS),
	       vcpu_stat(vcpu[1], VAPICVM_STAT_EXITS));
}

TEST_F_TIMEOUT(tlb, cr0_wp, 60)
{
	two_cpus_flip(_metadata, self->vm, FLIP_CR0_WP);
}

TEST_F_TIMEOUT(tlb, cr4_pge, 60)
{
	two_cpus_flip(_metadata, self->vm, FLIP_CR4_PGE);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Migration at random points, on every APIC tier: a guest busy with a
 * checksum loop, self-IPIs, a periodic local APIC timer, STI;HLT waits
 * (halted in the kernel, and in the STI shadow) and NMIs is stopped by a
 * signal wherever it happens to be (mid-delivery of an interrupt, halted,
 * with IPIs in IRR or posted, with an NMI just sent and not taken) and
 * moved into a new VM (vcpu_migrate(): every state ioctl), many times.
 * It must end as an unmigrated run ends: the same checksum, every IPI it
 * sent received once, every NMI the host sent received once.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "kselftest_harness.h"
#include "apic.h"

#define IPI_VEC		0x51
#define TIMER_VEC	0x52
#define NMI_VECTOR	2
#define MIN_ITERATIONS	20000
#define MIGRATIONS	24	/* then the host lets the guest finish */

FIXTURE(migration) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(migration);

FIXTURE_SETUP(migration)
{
	APIC_TIER_SETUP();
}

/* Guest memory: it moves with the VM. */
static volatile uint64_t checksum, iterations;
static volatile uint32_t ipis_sent, ipis_received, ticks, nmis;
static volatile uint32_t may_stop;	/* set by the host after its migrations */

static void ipi_handler(struct ex_regs *regs)
{
	ipis_received++;
	apic_eoi();
}

static void timer_handler(struct ex_regs *regs)
{
	ticks++;
	apic_eoi();
}

static void nmi_handler(struct ex_regs *regs)
{
	nmis++;
}

static uint64_t expected_checksum(uint64_t n)
{
	uint64_t s = 0;

	for (uint64_t i = 0; i < n; i++)
		s = s * 31 + i;
	return s;
}

static void guest_busy(uint64_t arg)
{
	uint64_t s = 0;

	apic_enable();
	apic_write(REG_TDCR, 0xb);	/* divide by 1 */
	apic_write(REG_LVTT, LVT_PERIODIC | TIMER_VEC);
	apic_write(REG_TMICT, 200000);
	guest_sti();
	for (uint64_t i = 0; i < MIN_ITERATIONS || !may_stop; i++) {
		s = s * 31 + i;
		checksum = s;
		iterations = i + 1;
		if (i % 64 == 0) {
			ipis_sent++;
			apic_icr(0, ICR_SELF | ICR_FIXED | IPI_VEC);
		}
		if (i % 4096 == 0) {
			uint32_t t = ticks;

			guest_halt_until(ticks != t);	/* a timer tick ends it */
		}
	}
	/* Every IPI sent is taken before the end. */
	guest_halt_until(ipis_received == ipis_sent);
	apic_write(REG_LVTT, LVT_MASKED);
	GUEST_SYNC_ARGS(1, checksum, iterations);
	GUEST_DONE();
}

static void on_kick(int sig)
{
}

struct kicker {
	pthread_t target;
	volatile bool stop;
	unsigned int seed;
};

/* Signal the vCPU's thread at random moments: RUN returns EINTR there. */
static void *kick_at_random(void *arg)
{
	struct kicker *k = arg;

	while (!k->stop) {
		struct timespec ts = { 0, 200000 + rand_r(&k->seed) % 3000000 };

		nanosleep(&ts, NULL);
		pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

static void send_nmi(struct vm *vm)
{
	struct vapicvm_msi msi = { .address_lo = 0xfee00000, .data = 4 << 8 };

	TEST_ASSERT(vm_ioctl(vm, VAPICVM_SIGNAL_MSI, &msi) == 1, "NMI not accepted");
}

TEST_F(migration, random_points)
{
	struct sigaction sa = { .sa_handler = on_kick };	/* no SA_RESTART */
	struct kicker k = { .target = pthread_self(), .seed = 12345 };
	struct vm *vm = self->vm;
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_busy, 0);
	unsigned int migrations = 0, nmis_sent = 0, events_in_flight = 0;
	uint64_t result = 0, n = 0;
	pthread_t t;

	vm_install_handler(vm, IPI_VEC, ipi_handler);
	vm_install_handler(vm, TIMER_VEC, timer_handler);
	vm_install_handler(vm, NMI_VECTOR, nmi_handler);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, kick_at_random, &k));
	for (;;) {
		struct vapicvm_vcpu_events ev;
		struct ucall uc;
		struct vm *next;
		int r = __vcpu_run(vcpu);

		if (r == 0) {
			uint64_t cmd = get_ucall(vcpu, &uc);

			if (cmd == UCALL_ABORT)
				fail_guest_assert(vcpu, &uc);
			if (cmd == UCALL_SYNC) {
				result = uc.args[1];
				n = uc.args[2];
				continue;
			}
			ASSERT_EQ(UCALL_DONE, cmd) TH_LOG("exit %s",
							  exit_reason_str(vcpu->run->exit_reason));
			break;
		}
		ASSERT_EQ(EINTR, errno);
		if (migrations == MIGRATIONS) {
			/* Enough: let it end (a last kick may still come). */
			k.stop = true;
			*(volatile uint32_t *)addr_gpa2hva(vm, (uintptr_t)&may_stop) = 1;
			continue;
		}
		/* Stopped somewhere: sometimes with an NMI it has not taken yet. */
		if (migrations % 3 == 1) {
			send_nmi(vm);
			nmis_sent++;
		}
		vcpu_ioctl(vcpu, VAPICVM_GET_VCPU_EVENTS, &ev);
		events_in_flight += ev.injected.valid || ev.nmi_pending || ev.shadow;
		next = vm_create_apic_tier(self->apicv);
		vcpu = vcpu_migrate(vcpu, next);
		vm_free(vm);
		vm = self->vm = next;
		migrations++;
	}
	k.stop = true;
	pthread_join(t, NULL);
	sync_global_from_guest(vm, ipis_sent);
	sync_global_from_guest(vm, ipis_received);
	sync_global_from_guest(vm, nmis);
	sync_global_from_guest(vm, ticks);
	TH_LOG("%u migrations (%u with an event in flight), %u NMIs, %u IPIs, %u ticks, "
	       "%lu iterations", migrations, events_in_flight, nmis_sent, ipis_sent, ticks,
	       (unsigned long)n);
	EXPECT_EQ(expected_checksum(n), result);
	EXPECT_EQ(ipis_sent, ipis_received);
	EXPECT_EQ((n + 63) / 64, ipis_sent);
	EXPECT_EQ(nmis_sent, nmis);
	EXPECT_EQ(MIGRATIONS, migrations);
	vm_assert_lapic_consistent(vm);
}

TEST_HARNESS_MAIN

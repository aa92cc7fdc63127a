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
 *
 * And at chosen points, where a random stop rarely lands: in the shadow
 * of STI and of MOV SS with an interrupt pending (stopped there by single
 * steps), where the interrupt must still wait for the next instruction;
 * and with an AP waiting for SIPI, or with its INIT not yet taken, which
 * must start when the SIPI comes in the new VM.
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

/* ---------------------------------------------------------------- */

#define SHADOW_VEC	0x53
#define STEP_LIMIT	10000

extern char mig_sti[], mig_sti_next[], mig_sti_after[];
extern char mig_movss[], mig_movss_next[], mig_movss_after[];
static volatile uint64_t shadow_irq_rip;

static void shadow_handler(struct ex_regs *regs)
{
	shadow_irq_rip = regs->rip;
	apic_eoi();
}

/* A self-IPI made pending with IF 0, then STI; NOP; or STI; MOV SS; NOP. */
static void guest_shadows(uint64_t movss)
{
	apic_enable();
	asm volatile("cli");
	apic_icr(0, ICR_SELF | ICR_FIXED | SHADOW_VEC);
	GUEST_SYNC(1);
	if (movss)
		asm volatile(".global mig_movss, mig_movss_next, mig_movss_after\n"
			     "mov %%ss, %%ax\n"
			     "mig_movss: sti\n"
			     "mov %%ax, %%ss\n"
			     "mig_movss_next: nop\n"
			     "mig_movss_after: nop\n" ::: "rax", "memory");
	else
		asm volatile(".global mig_sti, mig_sti_next, mig_sti_after\n"
			     "mig_sti: sti\n"
			     "mig_sti_next: nop\n"
			     "mig_sti_after: nop\n" ::: "memory");
	GUEST_SYNC_ARGS(2, shadow_irq_rip);
	GUEST_DONE();
}

static void migrate_in_shadow(struct __test_metadata *_metadata, struct vm **vmp,
			      uint32_t apicv, bool movss)
{
	struct vapicvm_guest_debug step = {
		.control = VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_SINGLESTEP };
	uint64_t stop_at = (uintptr_t)(movss ? mig_movss_next : mig_sti_next);
	uint64_t after = (uintptr_t)(movss ? mig_movss_after : mig_sti_after);
	struct vcpu *vcpu = vm_add_vcpu(*vmp, 0, guest_shadows, movss);
	struct vapicvm_vcpu_events ev;
	struct ucall uc;
	struct vm *next;
	int i;

	if (!(vm_ioctl(*vmp, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_SET_GUEST_DEBUG) &
	      VAPICVM_GUESTDBG_SINGLESTEP))
		SKIP(return, "no single step (monitor trap flag) to stop in a shadow");
	vm_install_handler(*vmp, SHADOW_VEC, shadow_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	vcpu_ioctl(vcpu, VAPICVM_SET_GUEST_DEBUG, &step);
	for (i = 0; i < STEP_LIMIT && vcpu_get_rip(vcpu) != stop_at; i++) {
		ASSERT_EQ(0, __vcpu_run(vcpu));
		ASSERT_EQ(VAPICVM_EXIT_DEBUG, vcpu->run->exit_reason)
			TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	}
	ASSERT_EQ(stop_at, vcpu_get_rip(vcpu));
	vcpu_ioctl(vcpu, VAPICVM_GET_VCPU_EVENTS, &ev);
	EXPECT_EQ(movss ? VAPICVM_SHADOW_MOV_SS : VAPICVM_SHADOW_STI, ev.shadow);

	/* The new vCPU has no debugging: it just runs. */
	next = vm_create_apic_tier(apicv);
	vcpu = vcpu_migrate(vcpu, next);
	vm_free(*vmp);
	*vmp = next;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(after, uc.args[1]) TH_LOG("the interrupt came at %#lx, not after the "
					     "instruction in the shadow",
					     (unsigned long)uc.args[1]);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_assert_lapic_consistent(*vmp);
}

TEST_F(migration, in_an_sti_shadow)
{
	migrate_in_shadow(_metadata, &self->vm, self->apicv, false);
}

TEST_F(migration, in_a_mov_ss_shadow)
{
	migrate_in_shadow(_metadata, &self->vm, self->apicv, true);
}

#define AP_CODE_GPA	0x8000
#define AP_PORT		0x90

static void guest_bsp_init_then_sipi(uint64_t arg)
{
	apic_enable();
	apic_icr(1, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	apic_icr(1, ICR_INIT | ICR_LEVEL);		/* de-assert: a no-op */
	GUEST_SYNC(1);
	apic_icr(1, ICR_SIPI | (AP_CODE_GPA >> 12));
	GUEST_DONE();
}

static void *run_until_kicked(void *arg)
{
	struct vcpu *ap = arg;

	return (void *)(long)(__vcpu_run(ap) < 0 ? errno : 0);
}

/*
 * INIT sent to the AP, then both vCPUs moved; the SIPI comes in the new
 * VM.  taken: the AP's RUN acted on INIT (wait-for-SIPI, left by a
 * signal), else the INIT is still pending in its local APIC.
 */
static void migrate_waiting_ap(struct __test_metadata *_metadata, struct vm **vmp,
			       uint32_t apicv, bool taken)
{
	/* Real mode at 0800:0000: mov $0x55,%al; out %al,$0x90; cli; hlt */
	static const uint8_t ap_code[] = { 0xb0, 0x55, 0xe6, AP_PORT, 0xfa, 0xf4 };
	struct sigaction sa = { .sa_handler = on_kick };	/* no SA_RESTART */
	struct vcpu *bsp = vm_add_vcpu(*vmp, 0, guest_bsp_init_then_sipi, 0);
	struct vcpu *ap = vm_add_vcpu_bare(*vmp, 1);
	struct vapicvm_vcpu_events ev;
	struct vapicvm_mp_state mp;
	struct vm *next;
	uint32_t data = 0;
	void *ret = (void *)-1L;
	pthread_t t;

	memcpy(addr_gpa2hva(*vmp, AP_CODE_GPA), ap_code, sizeof(ap_code));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(bsp, NULL));
	if (taken) {
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		ASSERT_EQ(0, pthread_create(&t, NULL, run_until_kicked, ap));
		for (int i = 0; i < 1000; i++) {
			vcpu_ioctl(ap, VAPICVM_GET_MP_STATE, &mp);
			if (mp.mp_state == VAPICVM_MP_STATE_INIT_RECEIVED)
				break;
			usleep(1000);
		}
		/* The RUN sleeps waiting for SIPI: a signal ends it. */
		for (int i = 0; i < 100 && pthread_tryjoin_np(t, &ret); i++) {
			pthread_kill(t, SIGUSR1);
			usleep(10000);
		}
		EXPECT_EQ(EINTR, (long)ret);
	}
	vcpu_ioctl(ap, VAPICVM_GET_MP_STATE, &mp);
	vcpu_ioctl(ap, VAPICVM_GET_VCPU_EVENTS, &ev);
	if (taken) {
		EXPECT_EQ(VAPICVM_MP_STATE_INIT_RECEIVED, mp.mp_state);
		EXPECT_EQ(0, ev.init_pending);
	} else {
		EXPECT_EQ(VAPICVM_MP_STATE_UNINITIALIZED, mp.mp_state);
		EXPECT_EQ(1, ev.init_pending);
	}

	next = vm_create_apic_tier(apicv);
	bsp = vcpu_migrate(bsp, next);
	ap = vcpu_migrate(ap, next);
	vm_free(*vmp);
	*vmp = next;
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(bsp, NULL));
	vcpu_run(ap);
	ASSERT_EQ(VAPICVM_EXIT_IO, ap->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(ap->run->exit_reason));
	EXPECT_EQ(AP_PORT, ap->run->io.port);
	memcpy(&data, (uint8_t *)ap->run + ap->run->io.data_offset, 1);
	EXPECT_EQ(0x55, data);
	vcpu_run(ap);
	EXPECT_EQ(VAPICVM_EXIT_HLT, ap->run->exit_reason);
	vm_assert_lapic_consistent(*vmp);
}

TEST_F(migration, ap_waiting_for_sipi)
{
	migrate_waiting_ap(_metadata, &self->vm, self->apicv, true);
}

TEST_F(migration, ap_with_init_not_yet_taken)
{
	migrate_waiting_ap(_metadata, &self->vm, self->apicv, false);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt delivery on every APIC-virtualization tier: self-IPIs, IPIs to
 * other vCPUs (running or halted, on other host CPUs), logical and
 * broadcast destinations, NMIs, INIT/SIPI, EOI with and without
 * virtual-interrupt delivery, level-triggered vectors and the EOI exit,
 * and interrupts injected by userspace (MSI, LINT0/LINT1).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/sysinfo.h>

#include "kselftest_harness.h"
#include "apic.h"

FIXTURE(apic) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(apic);

FIXTURE_SETUP(apic)
{
	APIC_TIER_SETUP();
	TH_LOG("%d host CPUs", get_nprocs());
}

/* Guest memory is shared by the vCPUs: count per APIC ID. */
static volatile uint32_t cpu_irq[4][256];
static volatile uint32_t cpu_nmi[4];
static volatile uint32_t tmr_seen;

#define irq_count	cpu_irq[apic_id() & 3]
#define nmi_count	cpu_nmi[apic_id() & 3]

static void count_and_eoi(struct ex_regs *regs)
{
	irq_count[regs->vector]++;
	apic_eoi();
}

static void count_nmi(struct ex_regs *regs)
{
	nmi_count++;
}

/*
 * A receiver that has not finished in time: print its counters, stop it,
 * and print the APIC state it was left in, then fail.
 */
static void report_stuck(struct __test_metadata *_metadata, struct vcpu_thread *th, int vec)
{
	struct vcpu *vcpu = th->vcpu;
	struct vapicvm_lapic_state s;
	struct vapicvm_mp_state mp;

	vcpu_print_stats(vcpu, "stuck: ");
	vcpu_thread_stop(th);
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &s));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp));
	sync_global_from_guest(vcpu->vm, cpu_irq);
	TH_LOG("vCPU %u stuck: mp_state %u IRR %d ISR %d TPR %#x PPR %#x RVI %#x SVI %#x; "
	       "vector %#x taken %u times", vcpu->id, mp.mp_state,
	       lapic_state_highest(&s, REG_IRR), lapic_state_highest(&s, REG_ISR),
	       lapic_state_reg(&s, REG_TPR), lapic_state_reg(&s, REG_PPR),
	       s.intr_status & 0xff, s.intr_status >> 8, vec, cpu_irq[vcpu->id][vec]);
	for (int id = 0; id < 4; id++) {
		char line[256];
		int n = 0;

		for (int v = 0x20; v < 0x100 && n < 200; v++)
			if (cpu_irq[id][v])
				n += snprintf(line + n, sizeof(line) - n, " %#x:%u", v, cpu_irq[id][v]);
		if (n)
			TH_LOG("interrupts taken by APIC ID %d:%s", id, line);
	}
	ASSERT_TRUE(false) TH_LOG("vCPU %u did not finish", vcpu->id);
}

static void install_counters(struct vm *vm)
{
	int v;

	for (v = 0x20; v < 0xff; v++)
		vm_install_handler(vm, v, count_and_eoi);
	vm_install_handler(vm, 2, count_nmi);
}

/* ---------------------------------------------------------------- */

static void guest_self_ipi(uint64_t x2)
{
	int i;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	for (i = 0; i < 50; i++) {
		apic_icr(0, ICR_SELF | 0x40);		/* shorthand self */
		apic_icr(apic_id(), ICR_FIXED | 0x41);	/* physical, our own ID */
		if (x2)
			x2apic_write(REG_SELF_IPI, 0x42);
	}
	GUEST_ASSERT_EQ(irq_count[0x40], 50);
	GUEST_ASSERT_EQ(irq_count[0x41], 50);
	GUEST_ASSERT_EQ(irq_count[0x42], x2 ? 50 : 0);
	/* Vectors 0-15 are illegal: the ESR says so and nothing is delivered. */
	apic_write(REG_ESR, 0);
	apic_icr(0, ICR_SELF | 0x05);
	apic_write(REG_ESR, 0);
	GUEST_ASSERT(apic_read(REG_ESR) & (1 << 5));
	GUEST_DONE();
}

TEST_F(apic, self_ipi_xapic)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_self_ipi, 0);

	install_counters(self->vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, self_ipi_x2apic)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_self_ipi, 1);

	install_counters(self->vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	/* With VID and x2APIC virtualization, SELF IPI and EOI never exit. */
	if ((self->apicv & VAPICVM_APICV_INTR_DELIVERY) && (self->apicv & VAPICVM_APICV_X2APIC_VIRT))
		EXPECT_LT(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE), 200)
			TH_LOG("SELF IPI or EOI writes exited");
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define VEC_IPI 0x60

static volatile uint32_t target_ready;

/* The target: halted (arg 0) or spinning (arg 1) until the IPI arrives. */
static void guest_target(uint64_t spin)
{
	apic_enable();
	guest_sti();
	target_ready = 1;
	GUEST_SYNC(1);
	if (spin) {
		while (!irq_count[VEC_IPI])
			__asm__ volatile("pause");
	} else {
		guest_halt_until(irq_count[VEC_IPI]);
	}
	GUEST_DONE();
}

static void guest_sender(uint64_t dest)
{
	apic_enable();
	apic_icr(dest, ICR_FIXED | VEC_IPI);
	GUEST_DONE();
}

static void ipi_to_other_vcpu(struct __test_metadata *_metadata, struct vm *vm, bool x2,
			      bool spin)
{
	struct vcpu *sender, *target;
	struct vcpu_thread th;
	struct ucall uc;

	guest_x2apic = x2;
	sync_global_to_guest(vm, guest_x2apic);
	install_counters(vm);
	sender = vm_add_vcpu(vm, 0, guest_sender, 1);
	target = vm_add_vcpu(vm, 1, guest_target, spin);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(target, &uc));
	vcpu_thread_start(&th, target);	/* halts or spins in the guest */
	usleep(20000);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(sender, NULL));
	vcpu_thread_join(&th);
	if (!spin)
		EXPECT_GE(vcpu_stat(target, VAPICVM_STAT_HALT_WAKEUP), 1)
			TH_LOG("the target was never woken from HLT");
	vm_assert_lapic_consistent(vm);
}

TEST_F(apic, ipi_to_halted_vcpu_xapic)
{
	ipi_to_other_vcpu(_metadata, self->vm, false, false);
}

TEST_F(apic, ipi_to_running_vcpu_xapic)
{
	ipi_to_other_vcpu(_metadata, self->vm, false, true);
}

TEST_F(apic, ipi_to_halted_vcpu_x2apic)
{
	ipi_to_other_vcpu(_metadata, self->vm, true, false);
}

TEST_F(apic, ipi_to_running_vcpu_x2apic)
{
	ipi_to_other_vcpu(_metadata, self->vm, true, true);
}

/* ---------------------------------------------------------------- */

/*
 * An interrupt the guest cannot take yet (RFLAGS.IF=0) stays pending while
 * host interrupts make the vCPU exit and re-enter, and arrives the moment
 * the guest sets IF.  The host lets the guest go on once it has seen
 * external-interrupt exits during the wait, so the test cannot pass by
 * having had none.
 */
#define VEC_IF_CLEAR		0x58
#define IF_CLEAR_EXTINTS	3
/* Guest TSC ticks to wait for them: a few guest seconds. */
#define IF_CLEAR_DEADLINE	10000000000ULL

static volatile uint32_t irq_with_if_clear;
static volatile uint32_t host_saw_extints;

static void count_with_if_state(struct ex_regs *regs)
{
	if (!(regs->rflags & (1 << 9)))
		irq_with_if_clear++;
	count_and_eoi(regs);
}

static void guest_if_clear(uint64_t x2)
{
	uint64_t deadline;

	guest_x2apic = x2;
	apic_enable();
	guest_cli();
	GUEST_SYNC(1);
	apic_icr(0, ICR_SELF | VEC_IF_CLEAR);
	deadline = guest_rdtsc() + IF_CLEAR_DEADLINE;
	while (!host_saw_extints) {
		GUEST_ASSERT(guest_rdtsc() < deadline);
		__asm__ volatile("pause");
	}
	GUEST_ASSERT_EQ(irq_count[VEC_IF_CLEAR], 0);
	GUEST_ASSERT_EQ(irq_with_if_clear, 0);
	__asm__ volatile("sti; nop; cli" ::: "memory");
	GUEST_ASSERT_EQ(irq_count[VEC_IF_CLEAR], 1);
	GUEST_ASSERT_EQ(irq_with_if_clear, 0);
	GUEST_DONE();
}

struct extint_watch {
	struct vcpu *vcpu;
	uint64_t start;
};

static void *watch_extints(void *arg)
{
	struct extint_watch *w = arg;

	while (vcpu_stat(w->vcpu, VAPICVM_STAT_EXIT_EXTINT) < w->start + IF_CLEAR_EXTINTS)
		usleep(1000);
	host_saw_extints = 1;
	sync_global_to_guest(w->vcpu->vm, host_saw_extints);
	return NULL;
}

static void pending_while_if_clear(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_if_clear, x2);
	struct extint_watch w = { .vcpu = vcpu };
	pthread_t watcher;

	install_counters(vm);
	vm_install_handler(vm, VEC_IF_CLEAR, count_with_if_state);
	host_saw_extints = 0;
	sync_global_to_guest(vm, host_saw_extints);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	w.start = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EXTINT);
	ASSERT_EQ(0, pthread_create(&watcher, NULL, watch_extints, &w));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	pthread_join(watcher, NULL);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(apic, pending_while_if_clear, pending_while_if_clear)

/* ---------------------------------------------------------------- */

#define VEC_LOGICAL	0x61
#define VEC_BCAST	0x62
#define VEC_ALLBUT	0x63
#define VEC_LOWEST	0x64

/*
 * A receiver's APIC: enabled, xAPIC flat logical ID = bit (id) (x2APIC:
 * cluster 0, member id); then tell the host it is ready.
 */
static void receiver_setup(uint64_t id)
{
	apic_enable();
	if (!guest_x2apic) {
		xapic_write(REG_DFR, 0xffffffff);
		xapic_write(REG_LDR, 1U << (24 + id));
	}
	guest_sti();
	GUEST_SYNC(1);
}

static void guest_receiver(uint64_t id)
{
	receiver_setup(id);
	/* Wait for the host's go, then let the interrupts arrive. */
	guest_halt_until(irq_count[VEC_ALLBUT] + irq_count[VEC_BCAST] >= (id == 0 ? 1 : 2));
	GUEST_SYNC_ARGS(2, irq_count[VEC_LOGICAL], irq_count[VEC_BCAST], irq_count[VEC_ALLBUT],
			irq_count[VEC_LOWEST]);
	GUEST_DONE();
}

static void guest_multicast_sender(void)
{
	apic_enable();
	if (!guest_x2apic) {
		xapic_write(REG_DFR, 0xffffffff);
		xapic_write(REG_LDR, 1U << 24);
	}
	guest_sti();
	GUEST_SYNC(1);
	/* x2APIC: cluster 0, members 1 and 2; xAPIC flat: vCPUs 1 and 2. */
	apic_icr(0x6, ICR_LOGICAL | VEC_LOGICAL);
	apic_icr(0x6, ICR_LOGICAL | ICR_LOWEST | VEC_LOWEST);	/* exactly one of 1, 2 */
	apic_icr(guest_x2apic ? 0xffffffff : 0xff, ICR_FIXED | VEC_BCAST);	/* everyone */
	apic_icr(0, ICR_ALL_BUT | VEC_ALLBUT);
	GUEST_SYNC_ARGS(2, irq_count[VEC_LOGICAL], irq_count[VEC_BCAST], irq_count[VEC_ALLBUT],
			irq_count[VEC_LOWEST]);
	GUEST_DONE();
}

static void multicast(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *v[3];
	struct vcpu_thread th[2];
	struct ucall uc;
	uint64_t lowest_total = 0;
	int i;

	guest_x2apic = x2;
	sync_global_to_guest(vm, guest_x2apic);
	install_counters(vm);
	v[0] = vm_add_vcpu(vm, 0, guest_multicast_sender, 0);
	v[1] = vm_add_vcpu(vm, 1, guest_receiver, 1);
	v[2] = vm_add_vcpu(vm, 2, guest_receiver, 2);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(v[i], &uc));
	/* Receivers go to sleep in their own threads; then the sender sends. */
	for (i = 0; i < 2; i++)
		vcpu_thread_start(&th[i], v[i + 1]);
	usleep(20000);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(v[0], &uc));
	EXPECT_EQ(0, uc.args[1]) TH_LOG("the sender is not in the logical set");
	EXPECT_EQ(1, uc.args[2]) TH_LOG("broadcast includes the sender");
	EXPECT_EQ(0, uc.args[3]) TH_LOG("all-but-self excludes the sender");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(v[0], &uc));
	for (i = 0; i < 2; i++) {
		if (!vcpu_thread_join_timeout(&th[i], 10))
			report_stuck(_metadata, &th[i], VEC_BCAST);
		ASSERT_EQ(1, th[i].syncs);	/* SYNC(2) with the counts */
		EXPECT_EQ(1, th[i].last_sync.args[1]) TH_LOG("vCPU %d logical", i + 1);
		EXPECT_EQ(1, th[i].last_sync.args[2]) TH_LOG("vCPU %d broadcast", i + 1);
		EXPECT_EQ(1, th[i].last_sync.args[3]) TH_LOG("vCPU %d all-but-self", i + 1);
		lowest_total += th[i].last_sync.args[4];
	}
	EXPECT_EQ(1, lowest_total) TH_LOG("lowest priority reaches exactly one APIC");
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(apic, logical_broadcast_and_shorthands, multicast)

/* ---------------------------------------------------------------- */

/*
 * A storm of IPIs to vCPUs that halt between them: every round the sender
 * names the receivers another way and waits, with a deadline, until both
 * took the round's interrupt.  A lost wake-up or an interrupt the CPU and
 * the model disagree about shows as a missed deadline, and the host then
 * stops the receivers and prints their APIC state.
 */
#define STORM_ROUNDS	300
#define STORM_VECTOR	0x70
/* Guest TSC ticks a round may take: about a guest second. */
#define STORM_DEADLINE	3000000000ULL

static volatile uint32_t storm_round;

static void guest_storm_receiver(uint64_t id)
{
	receiver_setup(id);
	guest_halt_until(irq_count[STORM_VECTOR] >= STORM_ROUNDS);
	GUEST_DONE();
}

static void guest_storm_sender(void)
{
	uint32_t r;

	apic_enable();
	guest_sti();
	GUEST_SYNC(1);
	for (r = 1; r <= STORM_ROUNDS; r++) {
		uint64_t deadline;

		storm_round = r;
		switch (r % 5) {
		case 0:
			apic_icr(0, ICR_ALL_BUT | STORM_VECTOR);
			break;
		case 4:
			/* Broadcast: the sender takes it too. */
			apic_icr(guest_x2apic ? 0xffffffff : 0xff, ICR_FIXED | STORM_VECTOR);
			break;
		case 1:
			apic_icr(1, ICR_FIXED | STORM_VECTOR);
			apic_icr(2, ICR_FIXED | STORM_VECTOR);
			break;
		case 2:
			apic_icr(0x6, ICR_LOGICAL | STORM_VECTOR);
			break;
		case 3:
			apic_icr(2, ICR_FIXED | STORM_VECTOR);
			apic_icr(1, ICR_FIXED | STORM_VECTOR);
			break;
		}
		deadline = guest_rdtsc() + STORM_DEADLINE;
		while (cpu_irq[1][STORM_VECTOR] < r || cpu_irq[2][STORM_VECTOR] < r) {
			if (guest_rdtsc() > deadline)
				ucall_abort(__FILE__, __LINE__, "round delivered", "round %u: %u %u",
					    r, cpu_irq[1][STORM_VECTOR], cpu_irq[2][STORM_VECTOR]);
			__asm__ volatile("pause");
		}
	}
	GUEST_DONE();
}

static void ipi_storm(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu_thread th[2];
	struct vcpu *sender;
	struct ucall uc;
	uint64_t cmd;
	int i;

	guest_x2apic = x2;
	sync_global_to_guest(vm, guest_x2apic);
	install_counters(vm);
	sender = vm_add_vcpu(vm, 0, guest_storm_sender, 0);
	for (i = 0; i < 2; i++) {
		struct vcpu *v = vm_add_vcpu(vm, i + 1, guest_storm_receiver, i + 1);

		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(v, &uc));
		vcpu_thread_start(&th[i], v);
	}
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(sender, &uc));
	/* Not vcpu_run_ucall(): a missed deadline still stops the receivers. */
	ASSERT_EQ(0, __vcpu_run_ucall(sender, &uc));
	cmd = uc.cmd;
	if (cmd != UCALL_DONE) {
		sync_global_from_guest(vm, storm_round);
		TH_LOG("sender: %s %s (round %u)", uc.expr ?: "?", uc.msg, storm_round);
	}
	for (i = 0; i < 2; i++)
		if (!vcpu_thread_join_timeout(&th[i], cmd == UCALL_DONE ? 10 : 0))
			report_stuck(_metadata, &th[i], STORM_VECTOR);
	ASSERT_EQ(UCALL_DONE, cmd);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(apic, ipi_storm_to_halted_vcpus, ipi_storm)

/* ---------------------------------------------------------------- */

static void guest_nmi_target(void)
{
	apic_enable();
	GUEST_SYNC(1);
	/*
	 * CLI does not hold an NMI back, so one arriving between the test
	 * and the HLT would be missed; the sender's NMI comes 20 ms after
	 * this vCPU halted.
	 */
	while (!nmi_count)
		guest_safe_halt();
	GUEST_DONE();
}

static void guest_nmi_sender(void)
{
	apic_enable();
	apic_icr(0, ICR_SELF | ICR_NMI);
	GUEST_ASSERT_EQ(nmi_count, 1);
	apic_icr(1, ICR_NMI);
	GUEST_DONE();
}

TEST_F(apic, nmi_ipi)
{
	struct vcpu *sender, *target;
	struct vcpu_thread th;

	install_counters(self->vm);
	sender = vm_add_vcpu(self->vm, 0, guest_nmi_sender, 0);
	target = vm_add_vcpu(self->vm, 1, guest_nmi_target, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(target, NULL));
	vcpu_thread_start(&th, target);
	usleep(20000);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(sender, NULL));
	vcpu_thread_join(&th);
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define AP_CODE_GPA	0x8000
#define AP_PORT		0x90

static void guest_bsp_starts_ap(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	/* A SIPI before INIT is ignored. */
	apic_icr(1, ICR_SIPI | (AP_CODE_GPA >> 12));
	GUEST_SYNC(1);
	apic_icr(1, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	apic_icr(1, ICR_INIT | ICR_LEVEL);		/* de-assert: a no-op */
	apic_icr(1, ICR_SIPI | (AP_CODE_GPA >> 12));
	GUEST_DONE();
}

static void init_sipi(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	/* Real mode at 0800:0000: mov $0x55,%al; out %al,$0x90; cli; hlt */
	static const uint8_t ap_code[] = { 0xb0, 0x55, 0xe6, AP_PORT, 0xfa, 0xf4 };
	struct vcpu *bsp = vm_add_vcpu(vm, 0, guest_bsp_starts_ap, x2);
	struct vcpu *ap = vm_add_vcpu_bare(vm, 1);
	struct vapicvm_mp_state mp;
	struct vapicvm_sregs s;
	uint32_t data = 0;

	memcpy(addr_gpa2hva(vm, AP_CODE_GPA), ap_code, sizeof(ap_code));
	ASSERT_EQ(0, __vcpu_ioctl(ap, VAPICVM_GET_MP_STATE, &mp));
	EXPECT_EQ(VAPICVM_MP_STATE_UNINITIALIZED, mp.mp_state);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(bsp, NULL));
	ASSERT_EQ(0, __vcpu_ioctl(ap, VAPICVM_GET_MP_STATE, &mp));
	EXPECT_EQ(VAPICVM_MP_STATE_UNINITIALIZED, mp.mp_state) TH_LOG("SIPI without INIT");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(bsp, NULL));

	/* The AP's RUN takes INIT and SIPI and runs the real-mode code. */
	vcpu_run(ap);
	ASSERT_EQ(VAPICVM_EXIT_IO, ap->run->exit_reason);
	EXPECT_EQ(AP_PORT, ap->run->io.port);
	memcpy(&data, (uint8_t *)ap->run + ap->run->io.data_offset, 1);
	EXPECT_EQ(0x55, data);
	vcpu_get_sregs(ap, &s);
	EXPECT_EQ(AP_CODE_GPA >> 4, s.cs.selector);
	EXPECT_EQ(AP_CODE_GPA, s.cs.base);
	EXPECT_EQ(0, s.cr0 & 1) TH_LOG("the AP starts in real mode");
	vcpu_run(ap);
	EXPECT_EQ(VAPICVM_EXIT_HLT, ap->run->exit_reason);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(apic, init_sipi_starts_an_ap, init_sipi)

static void *run_once(void *vcpu)
{
	vcpu_run(vcpu);
	return NULL;
}

/* An AP already blocked in RUN on its own thread when INIT and SIPI arrive. */
TEST_F(apic, init_sipi_wakes_a_blocked_ap)
{
	static const uint8_t ap_code[] = { 0xb0, 0x55, 0xe6, AP_PORT, 0xfa, 0xf4 };
	struct vcpu *bsp = vm_add_vcpu(self->vm, 0, guest_bsp_starts_ap, 0);
	struct vcpu *ap = vm_add_vcpu_bare(self->vm, 1);
	pthread_t t;

	memcpy(addr_gpa2hva(self->vm, AP_CODE_GPA), ap_code, sizeof(ap_code));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_once, ap));
	usleep(20000);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(bsp, NULL));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(bsp, NULL));
	pthread_join(t, NULL);
	ASSERT_EQ(VAPICVM_EXIT_IO, ap->run->exit_reason);
	EXPECT_EQ(AP_PORT, ap->run->io.port);
}

/* ---------------------------------------------------------------- */

#define VEC_EDGE	0x70
#define VEC_LEVEL	0x71

static void level_handler(struct ex_regs *regs)
{
	if (apic_read(REG_TMR + 0x30) & (1U << (VEC_LEVEL - 96)))
		tmr_seen = 1;
	irq_count[regs->vector]++;
	apic_eoi();
	GUEST_ASSERT(!apic_isr_set(VEC_LEVEL));
}

static void guest_eoi(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	GUEST_SYNC(1);	/* the host sends an edge MSI */
	GUEST_ASSERT_EQ(irq_count[VEC_EDGE], 1);
	GUEST_SYNC(2);	/* the host sends a level MSI */
	GUEST_ASSERT_EQ(irq_count[VEC_LEVEL], 1);
	GUEST_ASSERT_EQ(tmr_seen, 1);
	GUEST_ASSERT(!(apic_read(REG_TMR + 0x30) & (1U << (VEC_LEVEL - 96))));
	GUEST_DONE();
}

static void eoi(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_eoi, x2);
	uint64_t eoi0, eoi1;
	bool vid = vm->apicv & VAPICVM_APICV_INTR_DELIVERY;

	vm_install_handler(vm, VEC_EDGE, count_and_eoi);
	vm_install_handler(vm, VEC_LEVEL, level_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	eoi0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EOI_INDUCED);
	vm_send_msi(vm, 0, VEC_EDGE, false);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	eoi1 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EOI_INDUCED);
	EXPECT_EQ(0, eoi1 - eoi0) TH_LOG("an edge-triggered EOI exited");
	vm_send_msi(vm, 0, VEC_LEVEL, true);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	/*
	 * With VID the level-triggered vector's EOI is an EOI-induced exit,
	 * when the CPU virtualizes the EOI write at all (else the write
	 * itself exits and the model does the EOI).
	 */
	if (vid && (x2 ? vm->apicv & VAPICVM_APICV_X2APIC_VIRT : vm->apicv & VAPICVM_APICV_APIC_ACCESS))
		EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EOI_INDUCED) - eoi1);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(apic, eoi_edge_and_level, eoi)

/* ---------------------------------------------------------------- */

#define VEC_MSI		0x45
#define VEC_EXTINT	0x46

static void guest_injection(void)
{
	guest_x2apic = false;
	apic_enable();
	xapic_write(REG_LVT0, 0x700);		/* LINT0: ExtINT */
	xapic_write(REG_LVT1, 0x400);		/* LINT1: NMI */
	guest_sti();
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(irq_count[VEC_MSI], 1);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(irq_count[VEC_EXTINT], 1);
	GUEST_ASSERT(!apic_isr_set(VEC_EXTINT));	/* ExtINT bypasses ISR */
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(nmi_count, 1);
	xapic_write(REG_LVT0, LVT_MASKED | 0x700);
	GUEST_DONE();
}

static void extint_handler(struct ex_regs *regs)
{
	irq_count[regs->vector]++;	/* the PIC's: no local APIC EOI */
}

TEST_F(apic, userspace_msi_and_lint_injection)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_injection, 0);
	struct vapicvm_interrupt lint0 = { .pin = VAPICVM_INTERRUPT_LINT0, .vector = VEC_EXTINT };
	struct vapicvm_interrupt lint1 = { .pin = VAPICVM_INTERRUPT_LINT1 };
	struct vapicvm_msi bad = { .address_lo = 0xfec00000, .data = VEC_MSI };
	struct vapicvm_msi nobody = { .address_lo = 0xfee00000 | (7 << 12), .data = VEC_MSI };

	install_counters(self->vm);
	vm_install_handler(self->vm, VEC_EXTINT, extint_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vm_send_msi(self->vm, 0, VEC_MSI, false);
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_SIGNAL_MSI, &bad, EINVAL));
	bad.address_lo = 0xfee00000;
	bad.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_SIGNAL_MSI, &bad, EINVAL));
	EXPECT_EQ(0, __vm_ioctl(self->vm, VAPICVM_SIGNAL_MSI, &nobody)) TH_LOG("no APIC 7");
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_INTERRUPT, &lint0));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_INTERRUPT, &lint1));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	/* LINT0 masked now: not accepted. */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_INTERRUPT, &lint0, EAGAIN));
	lint0.pin = 7;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_INTERRUPT, &lint0, EINVAL));
	vm_assert_lapic_consistent(self->vm);
}

/*
 * The TPR threshold follows the TPR on every entry, also one that injects
 * something else first.  Found by guest_fuzz_test: with the TPR shadow and
 * no virtual-interrupt delivery, an emulated TPR write (x2APIC MSR 0x808
 * without x2APIC virtualization) lowered the TPR below the threshold of
 * the previous entry while an ExtINT waited for IF=1, and VM entry failed
 * (invalid control field: threshold above VTPR[7:4]).
 */
#define VEC_BLOCKED	0x50
#define VEC_SELF_EXTINT	0x47

static void guest_tpr_drop_with_extint(void)
{
	guest_x2apic = true;
	apic_enable();
	x2apic_write(REG_TPR, 0xf0);
	GUEST_SYNC(1);		/* VEC_BLOCKED pending under the TPR: a threshold of 5 */
	guest_cli();
	/* An ExtINT to itself waits for IF=1; then the TPR drops to 0. */
	x2apic_write(REG_ICR, ICR_SELF | (7 << 8) | VEC_SELF_EXTINT);
	x2apic_write(REG_TPR, 0);
	__asm__ volatile("pause");
	guest_sti();
	__asm__ volatile("nop; nop");
	GUEST_ASSERT_EQ(irq_count[VEC_SELF_EXTINT], 1);
	GUEST_ASSERT_EQ(irq_count[VEC_BLOCKED], 1);
	GUEST_DONE();
}

TEST_F(apic, tpr_drop_while_extint_waits)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tpr_drop_with_extint, 0);

	install_counters(self->vm);
	vm_install_handler(self->vm, VEC_SELF_EXTINT, extint_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vm_send_msi(self->vm, 0, VEC_BLOCKED, false);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

TEST_HARNESS_MAIN

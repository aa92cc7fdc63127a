// SPDX-License-Identifier: GPL-2.0
/*
 * Local APIC conformance, rule by rule, on every APIC-virtualization tier
 * and in both xAPIC and x2APIC mode.  Each case names the rule it checks:
 * "SDM 11.x" is the Intel SDM Vol. 3A chapter 11 (Advanced Programmable
 * Interrupt Controller); "SDM 6.7.1" is the NMI-handling section of
 * chapter 6.  Where the SDM leaves a choice open, the case says what KVM
 * does, which vapicvm follows.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "apic.h"
#include "exits.h"

#define VEC_TIMER	0x50
#define VEC_A		0x61
#define VEC_B		0x92

FIXTURE(apic) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(apic);

FIXTURE_SETUP(apic)
{
	APIC_TIER_SETUP();
}

static volatile uint32_t ticks;
static volatile uint32_t nmis;
static volatile uint32_t irqs[256];

static void timer_handler(struct ex_regs *regs)
{
	ticks++;
	apic_eoi();
}

static void count_and_eoi(struct ex_regs *regs)
{
	irqs[regs->vector]++;
	apic_eoi();
}

/* Run one vCPU's guest function to GUEST_DONE. */
static void run_guest(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self,
		      void (*guest)(uint64_t), bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest, x2);
	int v;

	for (v = 0x20; v < 0x100; v++)
		vm_install_handler(self->vm, v, count_and_eoi);
	vm_install_handler(self->vm, VEC_TIMER, timer_handler);
	struct ucall uc;

	while (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC)
		TH_LOG("guest: %lu %lu %lu", (unsigned long)uc.args[1], (unsigned long)uc.args[2],
		       (unsigned long)uc.args[3]);
	ASSERT_EQ(UCALL_DONE, uc.cmd);
	vm_assert_lapic_consistent(self->vm);
}

/* A one-vCPU test `name` in xAPIC and x2APIC mode: guest(x2apic) runs to DONE. */
#define TEST_BOTH_MODES(name, guest)						\
	TEST_F(apic, name##_xapic)						\
	{									\
		run_guest(_metadata, self, guest, false);			\
	}									\
	TEST_F(apic, name##_x2apic)						\
	{									\
		run_guest(_metadata, self, guest, true);			\
	}

/* ---------------------------------------------------------------- */
/* Timer                                                             */
/* ---------------------------------------------------------------- */

#define LONG_COUNT	200000000U	/* 200 ms at divide 1 */

/*
 * SDM 11.5.4: changing the LVT timer mode between one-shot and periodic
 * does not touch the initial count, and the current count goes on down
 * from where it was.  (Only a change to or from TSC-deadline mode disarms
 * the timer, SDM 11.5.4.1.)
 */
static void guest_mode_change_keeps_count(uint64_t x2)
{
	uint32_t c0, c1, c2;

	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_TDCR, 0xb);			/* divide by 1 */
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);	/* one-shot */
	apic_write(REG_TMICT, LONG_COUNT);
	c0 = apic_read(REG_TMCCT);
	apic_write(REG_LVTT, LVT_MASKED | LVT_PERIODIC | VEC_TIMER);
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), LONG_COUNT);
	c1 = apic_read(REG_TMCCT);
	GUEST_ASSERT(c1 > 0 && c1 <= c0);
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), LONG_COUNT);
	c2 = apic_read(REG_TMCCT);
	GUEST_ASSERT(c2 > 0 && c2 <= c1);
	/* To TSC-deadline mode and back: disarmed, as KVM does, TMICT 0. */
	apic_write(REG_LVTT, LVT_MASKED | LVT_TSC_DEADLINE | VEC_TIMER);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), 0);
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_mode_change_keeps_the_count, guest_mode_change_keeps_count)

#define SHORT_COUNT	1000000U	/* 1 ms at divide 1 */

/*
 * SDM 11.5.4: a periodic count reloads from the initial count when it
 * reaches 0.  Read across many wrap-arounds, TMCCT never sticks at 0 and
 * never exceeds TMICT; a one-shot count switched to periodic mid-count
 * reloads when it reaches 0 too (the mode at expiry decides).
 */
static void guest_periodic_reload(uint64_t x2)
{
	uint64_t end;
	uint32_t c, zeros = 0, reads = 0, wraps = 0, last;

	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_TDCR, 0xb);
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);	/* one-shot first */
	apic_write(REG_TMICT, SHORT_COUNT);
	apic_write(REG_LVTT, LVT_MASKED | LVT_PERIODIC | VEC_TIMER);
	last = apic_read(REG_TMCCT);
	end = guest_rdtsc() + 40000000ULL;		/* ~10 periods at 3.5 GHz */
	while (guest_rdtsc() < end) {
		c = apic_read(REG_TMCCT);
		reads++;
		if (!c)
			zeros++;
		GUEST_ASSERT(c <= SHORT_COUNT);
		if (c > last)
			wraps++;
		last = c;
	}
	GUEST_ASSERT_EQ(zeros, 0);
	GUEST_ASSERT(wraps >= 2);
	GUEST_SYNC_ARGS(1, reads, wraps, zeros);
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_periodic_count_reloads, guest_periodic_reload)

/*
 * SDM 11.5.4: a one-shot count that has reached 0 stays at 0; switching
 * to periodic mode then does not restart it (only a TMICT write does).
 */
static void guest_expired_oneshot_to_periodic(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);
	apic_write(REG_LVTT, VEC_TIMER);
	apic_write(REG_TMICT, 10000);			/* 10 us */
	guest_halt_until(ticks == 1);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	apic_write(REG_LVTT, LVT_PERIODIC | VEC_TIMER);
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), 10000);
	guest_spin_tsc(20000000ULL);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	GUEST_ASSERT_EQ(ticks, 1);
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_expired_oneshot_stays_expired, guest_expired_oneshot_to_periodic)

/*
 * SDM 11.5.4: the count decrements at the bus clock divided by TDCR; a
 * divide-configuration change mid-count changes the rate from then on,
 * not the count (KVM keeps the remaining count and rescales the time).
 */
static void guest_divide_change_mid_count(uint64_t x2)
{
	uint32_t c0, c1, c2;

	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_TDCR, 0xb);			/* divide by 1 */
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(REG_TMICT, LONG_COUNT);
	c0 = apic_read(REG_TMCCT);
	apic_write(REG_TDCR, 0xa);			/* divide by 128 */
	c1 = apic_read(REG_TMCCT);
	GUEST_ASSERT(c1 <= c0);
	GUEST_ASSERT(c1 > c0 - c0 / 8);			/* not scaled down by 128 */
	guest_spin_tsc(3500000ULL);			/* ~1 ms: ~7800 counts at /128 */
	c2 = apic_read(REG_TMCCT);
	GUEST_ASSERT(c2 < c1);
	GUEST_ASSERT(c1 - c2 < 1000000U);		/* at divide 1 it would be ~1e6 */
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_divide_change_mid_count, guest_divide_change_mid_count)

/*
 * SDM 11.5.4.1: in TSC-deadline mode, writing a deadline at or before the
 * current TSC makes the timer expire at once; an enabled interrupt is
 * taken before the next instruction (as on hardware and under KVM), and
 * IA32_TSC_DEADLINE reads 0 after the expiry.  TMCCT reads 0 in this mode.
 */
static void guest_tsc_deadline_in_the_past(uint64_t x2)
{
	uint32_t i, seen;

	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
	apic_write(REG_TMICT, 12345);			/* ignored in this mode */
	GUEST_ASSERT_EQ(apic_read(REG_TMICT), 0);
	guest_sti();
	for (i = 1; i <= 20; i++) {
		guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc());
		seen = ticks;				/* the next instruction */
		GUEST_ASSERT_EQ(seen, i);
		GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), 0);
		GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	}
	/* With IF=0 it is pending at once, and taken right after STI's shadow. */
	guest_cli();
	guest_wrmsr(MSR_TSC_DEADLINE, 1);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), 0);
	GUEST_ASSERT(apic_irr_set(VEC_TIMER));
	__asm__ volatile("sti; nop" ::: "memory");
	seen = ticks;
	GUEST_ASSERT_EQ(seen, 21);
	GUEST_DONE();
}

TEST_BOTH_MODES(tsc_deadline_in_the_past_fires_at_once, guest_tsc_deadline_in_the_past)

#define VEC_ERROR	0xe3

/*
 * SDM 11.5.3: the ESR is written before it is read; the write makes the
 * errors detected since the previous write readable and clears the log
 * (in x2APIC mode only 0 may be written).  Each error detected raises
 * the LVT error interrupt unless it is masked.  An IPI with a vector
 * below 16 is a "send illegal vector" error (bit 5) and goes nowhere.
 */
static void guest_esr_write_before_read(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_write(REG_ESR, 0);
	GUEST_ASSERT_EQ(apic_read(REG_ESR), 0);
	/* Masked error LVT: logged, no interrupt. */
	apic_write(REG_LVTERR, LVT_MASKED | VEC_ERROR);
	apic_icr(0, ICR_FIXED | 0x05);
	GUEST_ASSERT_EQ(apic_read(REG_ESR), 0);		/* not before a write */
	apic_write(REG_ESR, 0);
	GUEST_ASSERT(apic_read(REG_ESR) & (1 << 5));
	GUEST_ASSERT_EQ(irqs[VEC_ERROR], 0);
	apic_write(REG_ESR, 0);
	GUEST_ASSERT_EQ(apic_read(REG_ESR), 0);		/* the log was cleared */
	/* Unmasked: the error interrupt comes. */
	apic_write(REG_LVTERR, VEC_ERROR);
	apic_icr(0, ICR_FIXED | 0x0f);
	guest_spin_tsc(100000ULL);
	GUEST_ASSERT_EQ(irqs[VEC_ERROR], 1);
	apic_write(REG_ESR, 0);
	GUEST_ASSERT(apic_read(REG_ESR) & (1 << 5));
	GUEST_ASSERT_EQ(irqs[0x0f], 0);
	GUEST_DONE();
}

TEST_BOTH_MODES(esr_write_before_read_and_error_lvt, guest_esr_write_before_read)

/*
 * SDM 11.8.5: an EOI with no interrupt in service changes nothing: a
 * pending interrupt stays pending, PPR stays TPR.
 */
static void guest_eoi_nothing_in_service(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_cli();
	apic_icr(0, ICR_FIXED | VEC_A);
	apic_write(REG_TPR, 0x20);
	apic_write(REG_EOI, 0);
	apic_write(REG_EOI, 0);
	GUEST_ASSERT(apic_irr_set(VEC_A));
	GUEST_ASSERT(!apic_isr_set(VEC_A));
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x20);
	GUEST_ASSERT_EQ(irqs[VEC_A], 0);
	guest_sti();
	__asm__ volatile("nop");
	GUEST_ASSERT_EQ(irqs[VEC_A], 1);
	apic_write(REG_TPR, 0);
	GUEST_DONE();
}

TEST_BOTH_MODES(eoi_with_nothing_in_service, guest_eoi_nothing_in_service)

/*
 * SDM 11.8.3.1 and 11.8.4: with many vectors pending, the APIC presents
 * the highest one whose priority class (vector[7:4]) is above the PPR's
 * class; PPR is the higher of TPR and the class of the highest vector in
 * service; an interrupt in service holds back lower and equal classes
 * until its EOI, and the rest come highest first.
 */
static volatile uint8_t order[32];
static volatile uint32_t norder;
static volatile uint32_t ppr_seen[32];

static void record_order(struct ex_regs *regs)
{
	if (norder < 32) {
		ppr_seen[norder] = apic_read(REG_PPR);
		order[norder++] = regs->vector;
	}
	apic_eoi();
}

static void guest_priority_classes(uint64_t x2)
{
	static const uint8_t vecs[] = { 0x31, 0x3f, 0x45, 0x52, 0x5e, 0x5a, 0x83, 0xe1 };
	static const uint8_t want[] = { 0xe1, 0x83, 0x5e, 0x5a, 0x52 };
	unsigned int i;

	guest_x2apic = x2;
	apic_enable();
	guest_cli();
	for (i = 0; i < sizeof(vecs); i++)
		apic_icr(0, ICR_FIXED | vecs[i]);
	for (i = 0; i < sizeof(vecs); i++)
		GUEST_ASSERT(apic_irr_set(vecs[i]));
	/* TPR class 4: classes 5 and up come, 3 and 4 wait. */
	apic_write(REG_TPR, 0x4f);
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x4f);
	guest_sti();
	guest_spin_tsc(200000ULL);
	guest_cli();
	GUEST_ASSERT_EQ(norder, sizeof(want));
	for (i = 0; i < sizeof(want); i++) {
		GUEST_ASSERT_EQ(order[i], want[i]);
		/* In the handler: PPR is the vector's class (above TPR's). */
		GUEST_ASSERT_EQ(ppr_seen[i], want[i] & 0xf0);
	}
	GUEST_ASSERT(apic_irr_set(0x45) && apic_irr_set(0x3f) && apic_irr_set(0x31));
	/* TPR 0: the rest, highest first. */
	apic_write(REG_TPR, 0);
	guest_sti();
	guest_spin_tsc(200000ULL);
	GUEST_ASSERT_EQ(norder, sizeof(vecs));
	GUEST_ASSERT_EQ(order[5], 0x45);
	GUEST_ASSERT_EQ(order[6], 0x3f);
	GUEST_ASSERT_EQ(order[7], 0x31);
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0);
	GUEST_DONE();
}

static void priority_classes(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self,
			     bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_priority_classes, x2);
	int v;

	for (v = 0x20; v < 0x100; v++)
		vm_install_handler(self->vm, v, record_order);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, priority_classes_xapic)
{
	priority_classes(_metadata, self, false);
}

TEST_F(apic, priority_classes_x2apic)
{
	priority_classes(_metadata, self, true);
}

/*
 * SDM 11.8.4 (nested): an interrupt of a higher class preempts a handler
 * that re-enabled interrupts; one of the same class waits for its EOI.
 */
static volatile uint32_t nest_depth, nest_max, same_class_nested;

static void nesting_handler(struct ex_regs *regs)
{
	nest_depth++;
	if (nest_depth > nest_max)
		nest_max = nest_depth;
	if (regs->vector == 0x51) {
		apic_icr(0, ICR_FIXED | 0x5f);	/* same class: must wait */
		apic_icr(0, ICR_FIXED | 0x61);	/* higher class: preempts */
		guest_sti();
		guest_spin_tsc(100000ULL);
		guest_cli();
		same_class_nested = irqs[0x5f];
	}
	irqs[regs->vector]++;
	nest_depth--;
	apic_eoi();
}

static void guest_nesting(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_icr(0, ICR_FIXED | 0x51);
	guest_spin_tsc(300000ULL);
	GUEST_ASSERT_EQ(irqs[0x51], 1);
	GUEST_ASSERT_EQ(irqs[0x61], 1);
	GUEST_ASSERT_EQ(irqs[0x5f], 1);
	GUEST_ASSERT_EQ(same_class_nested, 0);
	GUEST_ASSERT_EQ(nest_max, 2);
	GUEST_DONE();
}

static void nesting(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_nesting, x2);
	int v;

	for (v = 0x20; v < 0x100; v++)
		vm_install_handler(self->vm, v, nesting_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, higher_class_preempts_same_class_waits_xapic)
{
	nesting(_metadata, self, false);
}

TEST_F(apic, higher_class_preempts_same_class_waits_x2apic)
{
	nesting(_metadata, self, true);
}

/*
 * SDM 11.5.4: writing 0 to TMICT stops a running one-shot or periodic
 * count (TMCCT reads 0, no interrupt); a masked LVT timer keeps
 * counting and reloading, it only does not interrupt; unmasking after
 * an expiry does not deliver the expiry that was masked.
 */
static void guest_timer_stop_and_mask(uint64_t x2)
{
	uint32_t c0, c1;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_write(REG_TDCR, 0xb);
	apic_write(REG_LVTT, VEC_TIMER);
	apic_write(REG_TMICT, 2000000);			/* 2 ms */
	GUEST_ASSERT(apic_read(REG_TMCCT) > 0);
	apic_write(REG_TMICT, 0);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	guest_spin_tsc(14000000ULL);			/* ~4 ms */
	GUEST_ASSERT_EQ(ticks, 0);
	/* Masked periodic: it counts and reloads, silently. */
	apic_write(REG_LVTT, LVT_MASKED | LVT_PERIODIC | VEC_TIMER);
	apic_write(REG_TMICT, 1000000);			/* 1 ms */
	guest_spin_tsc(10500000ULL);			/* ~3 periods */
	c0 = apic_read(REG_TMCCT);
	GUEST_ASSERT(c0 > 0 && c0 <= 1000000);
	GUEST_ASSERT_EQ(ticks, 0);
	GUEST_ASSERT(!apic_irr_set(VEC_TIMER));
	/* Masked one-shot that expires, then unmasked: nothing comes. */
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(REG_TMICT, 10000);
	guest_spin_tsc(3500000ULL);
	c1 = apic_read(REG_TMCCT);
	GUEST_ASSERT_EQ(c1, 0);
	apic_write(REG_LVTT, VEC_TIMER);
	guest_spin_tsc(3500000ULL);
	GUEST_ASSERT_EQ(ticks, 0);
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_stopped_by_tmict_0_and_silent_when_masked, guest_timer_stop_and_mask)

/* ---------------------------------------------------------------- */
/* Destinations                                                      */
/* ---------------------------------------------------------------- */

/* Per-vCPU counts (vCPU = APIC ID here) and a phase both vCPUs follow. */
static volatile uint32_t cpu_irqs[2][256];
static volatile uint32_t phase, phase_done[2];

static void count_per_cpu(struct ex_regs *regs)
{
	cpu_irqs[apic_id() & 1][regs->vector]++;
	apic_eoi();
}

/* vCPU 0 drives: step n, then wait for vCPU 1 to have done step n. */
static void step(uint32_t n)
{
	phase = n;
	while (phase_done[1] != n)
		__asm__ volatile("pause");
}

/*
 * Wait for vector v to have reached each vCPU as often as expected (the
 * other vCPU may share a host CPU and run only at the next host tick),
 * then require exactly that.
 */
static void expect_sent(uint32_t v, uint32_t on0, uint32_t on1)
{
	uint64_t deadline = guest_rdtsc() + 3500000000ULL;	/* ~1 s */

	while ((cpu_irqs[0][v] < on0 || cpu_irqs[1][v] < on1) && guest_rdtsc() < deadline)
		__asm__ volatile("pause");
	if (cpu_irqs[0][v] != on0 || cpu_irqs[1][v] != on1)
		ucall_abort(__FILE__, __LINE__, "logical destination", "vector %#x: %u on vCPU 0, "
			    "%u on vCPU 1, expected %u and %u", v, cpu_irqs[0][v], cpu_irqs[1][v],
			    on0, on1);
}

/*
 * SDM 11.6.2.2: logical destinations.  Flat model (DFR 1111b): a message
 * goes to every APIC whose LDR[31:24] shares a bit with the 8-bit MDA.
 * Cluster model (DFR 0000b): MDA[7:4] must equal LDR[31:28] and MDA[3:0]
 * share a bit with LDR[27:24].  x2APIC (11.12.10.2): the LDR is derived
 * from the x2APIC ID, cluster ID[19:4] in bits 31:16 and bit ID[3:0] in
 * bits 15:0; a 32-bit MDA matches the same way.  FFh (xAPIC) and
 * FFFFFFFFh (x2APIC) are broadcasts.  SDM 11.6.2.4: lowest-priority
 * delivery goes to one of the APICs named, the one at the lowest
 * priority (here: the lower TPR; the SDM leaves ties to the model).
 */
static void guest_logical_cpu1(uint64_t x2)
{
	uint32_t n;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	for (n = 1; n <= 4; n++) {
		while (phase != n)
			__asm__ volatile("pause");
		switch (n) {
		case 1:		/* flat, LDR bit 1 */
			if (!x2) {
				xapic_write(REG_DFR, 0xffffffff);
				xapic_write(REG_LDR, 0x02000000);
			}
			break;
		case 2:		/* cluster 1, member bit 1 */
			if (!x2) {
				xapic_write(REG_DFR, 0x0fffffff);
				xapic_write(REG_LDR, 0x12000000);
			}
			break;
		case 3:		/* flat again, low TPR: the lowest-priority target */
			if (!x2) {
				xapic_write(REG_DFR, 0xffffffff);
				xapic_write(REG_LDR, 0x02000000);
			}
			apic_write(REG_TPR, 0x00);
			break;
		case 4:
			apic_write(REG_TPR, 0x70);
			break;
		}
		phase_done[1] = n;
	}
	while (phase != 99)
		__asm__ volatile("pause");
	GUEST_DONE();
}

static void guest_logical_cpu0(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	if (!x2) {
		xapic_write(REG_DFR, 0xffffffff);
		xapic_write(REG_LDR, 0x01000000);
		step(1);
		apic_icr(0x02, ICR_LOGICAL | 0x40);
		apic_icr(0x03, ICR_LOGICAL | 0x41);
		apic_icr(0x01, ICR_LOGICAL | 0x42);
		apic_icr(0x04, ICR_LOGICAL | 0x43);		/* nobody */
		apic_icr(0xff, ICR_LOGICAL | 0x44);		/* broadcast */
		expect_sent(0x40, 0, 1);
		expect_sent(0x41, 1, 1);
		expect_sent(0x42, 1, 0);
		expect_sent(0x44, 1, 1);
		expect_sent(0x43, 0, 0);
		xapic_write(REG_DFR, 0x0fffffff);
		xapic_write(REG_LDR, 0x01000000);		/* cluster 0, bit 0 */
		step(2);
		apic_icr(0x12, ICR_LOGICAL | 0x50);		/* cluster 1 bit 1 */
		apic_icr(0x11, ICR_LOGICAL | 0x51);		/* cluster 1 bit 0 */
		apic_icr(0x02, ICR_LOGICAL | 0x52);		/* cluster 0 bit 1 */
		apic_icr(0x01, ICR_LOGICAL | 0x53);		/* cluster 0 bit 0 */
		apic_icr(0x1f, ICR_LOGICAL | 0x54);		/* cluster 1, all */
		expect_sent(0x50, 0, 1);
		expect_sent(0x53, 1, 0);
		expect_sent(0x54, 0, 1);
		expect_sent(0x51, 0, 0);
		expect_sent(0x52, 0, 0);
		/* Back to flat (vCPU 1 in step 3) for lowest priority. */
		xapic_write(REG_DFR, 0xffffffff);
	} else {
		GUEST_ASSERT_EQ(x2apic_read(REG_LDR), 0x00000001);
		step(1);
		apic_icr(0x00000002, ICR_LOGICAL | 0x40);	/* cluster 0, ID 1 */
		apic_icr(0x00000003, ICR_LOGICAL | 0x41);	/* both */
		apic_icr(0x00010003, ICR_LOGICAL | 0x43);	/* cluster 1: nobody */
		apic_icr(0xffffffff, ICR_LOGICAL | 0x44);	/* broadcast */
		apic_icr(0x00000001, 0x45);			/* physical ID 1 */
		expect_sent(0x40, 0, 1);
		expect_sent(0x41, 1, 1);
		expect_sent(0x44, 1, 1);
		expect_sent(0x45, 0, 1);
		expect_sent(0x43, 0, 0);
		step(2);
	}
	/* Lowest priority among both: vCPU 1's TPR 0 beats our 0x30... */
	apic_write(REG_TPR, 0x30);
	step(3);
	apic_icr(x2 ? 0x00000003 : 0x03, ICR_LOGICAL | ICR_LOWEST | 0x60);
	expect_sent(0x60, 0, 1);
	/* ...and loses to it at TPR 0x70. */
	step(4);
	apic_write(REG_TPR, 0x00);
	apic_icr(x2 ? 0x00000003 : 0x03, ICR_LOGICAL | ICR_LOWEST | 0x61);
	expect_sent(0x61, 1, 0);
	phase = 99;
	GUEST_DONE();
}

static void logical(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *cpu0 = vm_add_vcpu(self->vm, 0, guest_logical_cpu0, x2);
	struct vcpu *cpu1 = vm_add_vcpu(self->vm, 1, guest_logical_cpu1, x2);
	struct vcpu_thread th;
	int v;

	for (v = 0x20; v < 0x100; v++)
		vm_install_handler(self->vm, v, count_per_cpu);
	vcpu_thread_start(&th, cpu1);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(cpu0, NULL));
	vcpu_thread_join(&th);
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, logical_flat_cluster_and_lowest_priority_xapic)
{
	logical(_metadata, self, false);
}

TEST_F(apic, logical_x2apic_clusters_and_lowest_priority)
{
	logical(_metadata, self, true);
}

/* ---------------------------------------------------------------- */
/* NMIs                                                              */
/* ---------------------------------------------------------------- */

static volatile uint32_t nmi_go, nmi_sent, nmi_rounds_lost;

static void nmi_handler(struct ex_regs *regs)
{
	nmis++;
}

/*
 * SDM 6.7.1: while an NMI handler runs, NMIs are blocked until its IRET;
 * one more NMI arriving then is latched and delivered at the IRET.  Two
 * NMIs sent at about the same time from two sources (a self-NMI and an
 * NMI IPI from the other vCPU) are therefore both handled: the first is
 * taken, the second latched.  (KVM keeps two pending for this reason.)
 * Rounds: vCPU 0 raises nmi_go, both send, vCPU 0 waits for two NMIs.
 * vCPU 0 sends its own NMI to its own APIC ID: the "self" shorthand with
 * NMI delivery is an invalid ICR combination (SDM 11.6.1, Table 11-3).
 */
#define NMI_ROUNDS	200

static void guest_nmi_pair_target(uint64_t x2)
{
	uint32_t r;
	uint64_t deadline;

	guest_x2apic = x2;
	apic_enable();
	GUEST_SYNC(0);
	for (r = 1; r <= NMI_ROUNDS; r++) {
		uint32_t before = nmis;

		nmi_go = r;
		while (nmi_sent != r)
			__asm__ volatile("pause");
		apic_icr(0, ICR_NMI);
		/* Long: the sender may share a host CPU with this vCPU. */
		deadline = guest_rdtsc() + 3500000000ULL;	/* ~1 s */
		while (nmis - before < 2 && guest_rdtsc() < deadline)
			__asm__ volatile("pause");
		if (nmis - before != 2)
			nmi_rounds_lost++;
		/* A late NMI of this round counts for none of the next. */
		guest_spin_tsc(350000ULL);
		GUEST_ASSERT(nmis - before <= 2);
	}
	GUEST_DONE();
}

static void guest_nmi_pair_sender(uint64_t x2)
{
	uint32_t r;

	guest_x2apic = x2;
	apic_enable();
	for (r = 1; r <= NMI_ROUNDS; r++) {
		while (nmi_go != r)
			__asm__ volatile("pause");
		nmi_sent = r;
		apic_icr(0, ICR_NMI);
	}
	GUEST_DONE();
}

static void nmi_pair(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *target = vm_add_vcpu(self->vm, 0, guest_nmi_pair_target, x2);
	struct vcpu *sender = vm_add_vcpu(self->vm, 1, guest_nmi_pair_sender, x2);
	struct vcpu_thread th;

	vm_install_handler(self->vm, 2, nmi_handler);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(target, NULL));
	vcpu_thread_start(&th, sender);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(target, NULL));
	vcpu_thread_join(&th);
	sync_global_from_guest(self->vm, nmi_rounds_lost);
	sync_global_from_guest(self->vm, nmis);
	TH_LOG("%u NMIs in %u rounds, %u rounds lost one", nmis, NMI_ROUNDS, nmi_rounds_lost);
	EXPECT_EQ(0, nmi_rounds_lost);
	EXPECT_EQ(2 * NMI_ROUNDS, nmis);
}

TEST_F(apic, nmi_from_two_sources_both_handled_xapic)
{
	nmi_pair(_metadata, self, false);
}

TEST_F(apic, nmi_from_two_sources_both_handled_x2apic)
{
	nmi_pair(_metadata, self, true);
}

/*
 * SDM 6.7.1: NMIs arriving while NMIs are blocked (in the handler) latch
 * one, not more: three self-NMIs sent from inside the handler give exactly
 * one more NMI, at the handler's IRET.
 */
static volatile uint32_t nested_seen_in_handler;

static void nmi_nesting_handler(struct ex_regs *regs)
{
	uint32_t n = ++nmis;

	if (n == 1) {
		apic_icr(0, ICR_NMI);
		apic_icr(0, ICR_NMI);
		apic_icr(0, ICR_NMI);
		guest_spin_tsc(3500000ULL);
		/* Blocked: none of them came in while this handler ran. */
		nested_seen_in_handler = nmis - n;
	}
}

static void guest_nmi_latch_one(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	apic_icr(0, ICR_NMI);
	guest_spin_tsc(35000000ULL);
	GUEST_ASSERT_EQ(nested_seen_in_handler, 0);
	GUEST_ASSERT_EQ(nmis, 2);
	GUEST_DONE();
}

static void nmi_latch_one(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_nmi_latch_one, x2);

	vm_install_handler(self->vm, 2, nmi_nesting_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
}

TEST_F(apic, nmi_blocked_in_handler_latches_one_xapic)
{
	nmi_latch_one(_metadata, self, false);
}

TEST_F(apic, nmi_blocked_in_handler_latches_one_x2apic)
{
	nmi_latch_one(_metadata, self, true);
}

/* ---------------------------------------------------------------- */
/* Registers                                                         */
/* ---------------------------------------------------------------- */

static volatile uint32_t gp_count;

static void gp_skip_msr(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* RDMSR and WRMSR are 2 bytes */
}

static bool try_wrmsr(uint32_t msr, uint64_t v)
{
	uint32_t before = gp_count;

	guest_wrmsr(msr, v);
	return gp_count == before;
}

static bool try_rdmsr(uint32_t msr, uint64_t *v)
{
	uint32_t before = gp_count;
	uint64_t val = guest_rdmsr(msr);

	if (v)
		*v = val;
	return gp_count == before;
}

/* Write all ones, read back what the register keeps; restore. */
static uint32_t xapic_keeps(uint32_t reg, uint32_t v)
{
	uint32_t old = xapic_read(reg), got;

	xapic_write(reg, v);
	got = xapic_read(reg);
	xapic_write(reg, old);
	return got;
}

/*
 * SDM 11.4.1 Table 11-1, 11.4.6 Figure 11-6 (ID), 11.4.8 Figure 11-7
 * (version), 11.5.1 Figure 11-8 (LVT), 11.5.3 (ESR), 11.5.4 Figure 11-10
 * (TDCR), 11.6.2.2 Figures 11-13, 11-14 (LDR, DFR), 11.8.3.1 Figure 11-18
 * (TPR), 11.9 Figure 11-23 (SVR): in xAPIC mode each register keeps its
 * writable bits, reads its reserved bits as 0 (DFR's as 1), ignores
 * writes to read-only registers and read-only bits (delivery status,
 * remote IRR), and the version register says 6 LVT entries, version 14h,
 * no EOI-broadcast suppression (so SVR bit 12 is reserved, as is bit 9,
 * focus checking, on Pentium 4 and later).
 */
static void guest_xapic_register_bits(uint64_t unused)
{
	uint32_t lvr;

	guest_x2apic = false;
	apic_enable();
	lvr = xapic_read(REG_LVR);
	GUEST_ASSERT_EQ(lvr & 0xff, 0x14);
	GUEST_ASSERT_EQ((lvr >> 16) & 0xff, 5);
	GUEST_ASSERT_EQ(lvr & (1U << 24), 0);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVR, 0), lvr);
	GUEST_ASSERT_EQ(xapic_keeps(REG_ID, 0xffffffff), 0xff000000);
	GUEST_ASSERT_EQ(xapic_keeps(REG_TPR, 0xffffffff), 0xff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LDR, 0xffffffff), 0xff000000);
	GUEST_ASSERT_EQ(xapic_keeps(REG_DFR, 0), 0x0fffffff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_DFR, 0xffffffff), 0xffffffff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_SVR, 0xffffffff), 0x1ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVTT, 0xfff9ffff), 0x000100ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVTT, 0xfffbffff), 0x000300ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVTTHMR, 0xffffffff), 0x000107ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVTPC, 0xffffffff), 0x000107ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVT0, 0xffffffff), 0x0001a7ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVT1, 0xffffffff), 0x0001a7ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_LVTERR, 0xffffffff), 0x000100ff);
	GUEST_ASSERT_EQ(xapic_keeps(REG_TDCR, 0xffffffff), 0xb);
	GUEST_ASSERT_EQ(xapic_keeps(REG_ICR2, 0xffffffff), 0xff000000);
	/* Read-only: PPR, ISR, TMR, IRR, TMCCT ignore writes. */
	GUEST_ASSERT_EQ(xapic_keeps(REG_PPR, 0xff), 0);
	GUEST_ASSERT_EQ(xapic_keeps(REG_ISR + 0x10, 0xffffffff), 0);
	GUEST_ASSERT_EQ(xapic_keeps(REG_TMR + 0x10, 0xffffffff), 0);
	GUEST_ASSERT_EQ(xapic_keeps(REG_IRR + 0x10, 0xffffffff), 0);
	GUEST_ASSERT_EQ(xapic_keeps(REG_TMCCT, 0xffffffff), 0);
	/* EOI is write-only: it reads 0. */
	GUEST_ASSERT_EQ(xapic_read(REG_EOI), 0);
	GUEST_DONE();
}

TEST_F(apic, xapic_register_bits)
{
	run_guest(_metadata, self, guest_xapic_register_bits, false);
}

/*
 * SDM 11.12.1.2 Table 11-6 and 11.12.1.3: in x2APIC mode, RDMSR of a
 * write-only register (EOI, SELF IPI) and WRMSR of a read-only one (ID,
 * version, LDR, PPR, ISR, TMR, IRR, TMCCT) #GP, as do both for MSRs
 * without a register (DFR 80Eh, ICR2 831h, APR 809h, RRD 80Ch); a
 * non-zero write to a reserved bit #GPs (RsvdZ), as does a non-zero write
 * to EOI or ESR.  (KVM masks reserved bits of LVT, SVR and TDCR instead
 * of #GP; this follows the SDM.)
 */
static void guest_x2apic_msr_rules(uint64_t unused)
{
	static const uint16_t read_only[] = { 0x802, 0x803, 0x80a, 0x80d, 0x810, 0x818,
					      0x820, 0x839 };
	static const uint16_t absent[] = { 0x809, 0x80c, 0x80e, 0x831, 0x804, 0x801 };
	uint64_t v;
	unsigned int i;

	guest_x2apic = true;
	apic_enable();
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		GUEST_ASSERT(try_rdmsr(read_only[i], &v));
		GUEST_ASSERT(!try_wrmsr(read_only[i], 0));
	}
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		GUEST_ASSERT(!try_rdmsr(absent[i], NULL));
		GUEST_ASSERT(!try_wrmsr(absent[i], 0));
	}
	GUEST_ASSERT(!try_rdmsr(0x80b, NULL));		/* EOI */
	GUEST_ASSERT(!try_rdmsr(0x83f, NULL));		/* SELF IPI */
	GUEST_ASSERT(!try_wrmsr(0x80b, 1));
	GUEST_ASSERT(!try_wrmsr(0x828, 1));		/* ESR */
	GUEST_ASSERT(try_wrmsr(0x828, 0));
	GUEST_ASSERT(!try_wrmsr(0x808, 0x100));		/* TPR bits 31:8 */
	GUEST_ASSERT(!try_wrmsr(0x80f, 0x1ff | (1 << 12)));	/* SVR: no EOI suppression */
	GUEST_ASSERT(!try_wrmsr(0x80f, 0x1ff | (1 << 9)));
	GUEST_ASSERT(try_wrmsr(0x80f, 0x1ff));
	GUEST_ASSERT_EQ(x2apic_read(REG_SVR), 0x1ff);
	GUEST_ASSERT(!try_wrmsr(0x832, LVT_MASKED | (1 << 19)));	/* LVTT bit 19 */
	GUEST_ASSERT(!try_wrmsr(0x832, LVT_MASKED | (1 << 8)));		/* LVTT has no DM */
	GUEST_ASSERT(!try_wrmsr(0x833, LVT_MASKED | (1 << 13)));	/* thermal bit 13 */
	GUEST_ASSERT(!try_wrmsr(0x834, LVT_MASKED | (1 << 15)));	/* PMC bit 15 */
	GUEST_ASSERT(!try_wrmsr(0x835, LVT_MASKED | (1 << 17)));	/* LINT0 bit 17 */
	GUEST_ASSERT(!try_wrmsr(0x837, LVT_MASKED | (1 << 8)));		/* error has no DM */
	GUEST_ASSERT(try_wrmsr(0x835, LVT_MASKED | (1 << 15) | (1 << 13) | 0x7ff));
	GUEST_ASSERT_EQ(x2apic_read(REG_LVT0), LVT_MASKED | (1 << 15) | (1 << 13) | 0x7ff);
	GUEST_ASSERT(!try_wrmsr(0x83e, 0x4));		/* TDCR bit 2 */
	GUEST_ASSERT(!try_wrmsr(0x838, 1ULL << 32));	/* TMICT bits 63:32 */
	GUEST_ASSERT(try_wrmsr(0x83e, 0xb));
	GUEST_ASSERT(!try_wrmsr(0x83f, 0x100));		/* SELF IPI bits 31:8 */
	/* The x2APIC ID and the LDR derived from it (11.12.10.2). */
	GUEST_ASSERT_EQ(x2apic_read(REG_ID), 0);
	GUEST_ASSERT_EQ(x2apic_read(REG_LDR), 1);
	GUEST_DONE();
}

TEST_F(apic, x2apic_msr_access_rules)
{
	vm_install_handler(self->vm, 13, gp_skip_msr);
	run_guest(_metadata, self, guest_x2apic_msr_rules, true);
}

/*
 * SDM 11.5.4: a write to TMICT starts the count again from the new value,
 * whether or not a count is running (a one-shot is re-armed).
 */
static void guest_tmict_rearms(uint64_t x2)
{
	uint32_t c;

	guest_x2apic = x2;
	apic_enable();
	apic_write(REG_TDCR, 0xb);
	apic_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	apic_write(REG_TMICT, LONG_COUNT);
	apic_write(REG_TMICT, LONG_COUNT / 2);
	c = apic_read(REG_TMCCT);
	GUEST_ASSERT(c > 0 && c <= LONG_COUNT / 2);
	/* Expired one-shot: a new TMICT write starts it again. */
	apic_write(REG_TMICT, 1000);
	guest_spin_tsc(350000ULL);
	GUEST_ASSERT_EQ(apic_read(REG_TMCCT), 0);
	apic_write(REG_TMICT, LONG_COUNT);
	GUEST_ASSERT(apic_read(REG_TMCCT) > LONG_COUNT / 2);
	apic_write(REG_TMICT, 0);
	GUEST_DONE();
}

TEST_BOTH_MODES(timer_tmict_write_rearms, guest_tmict_rearms)

/*
 * SDM 11.4.7.2: a software-disabled APIC (SVR bit 8 clear) holds every
 * LVT entry masked (attempts to unmask are ignored), discards fixed
 * interrupts sent to it, and still accepts NMIs; TPR stays writable.
 * Enabling it again leaves the LVTs masked until software unmasks them.
 */
static void guest_software_disabled(uint64_t x2)
{
	uint32_t n = nmis;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_write(REG_SVR, 0xff);			/* software-disabled */
	apic_write(REG_LVTT, VEC_TIMER);
	GUEST_ASSERT(apic_read(REG_LVTT) & LVT_MASKED);
	apic_write(REG_LVTERR, VEC_ERROR);
	GUEST_ASSERT(apic_read(REG_LVTERR) & LVT_MASKED);
	apic_write(REG_TPR, 0x20);
	GUEST_ASSERT_EQ(apic_read(REG_TPR), 0x20);
	apic_write(REG_TPR, 0);
	apic_icr(0, ICR_FIXED | VEC_A);
	guest_spin_tsc(100000ULL);
	GUEST_ASSERT_EQ(irqs[VEC_A], 0);
	GUEST_ASSERT(!apic_irr_set(VEC_A));
	apic_icr(0, ICR_NMI);
	guest_spin_tsc(100000ULL);
	GUEST_ASSERT_EQ(nmis, n + 1);
	apic_write(REG_SVR, SVR_ENABLE | 0xff);
	GUEST_ASSERT(apic_read(REG_LVTT) & LVT_MASKED);
	apic_icr(0, ICR_FIXED | VEC_A);
	guest_spin_tsc(100000ULL);
	GUEST_ASSERT_EQ(irqs[VEC_A], 1);
	GUEST_DONE();
}

static void software_disabled(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self,
			      bool x2)
{
	vm_install_handler(self->vm, 2, nmi_handler);
	run_guest(_metadata, self, guest_software_disabled, x2);
}

TEST_F(apic, software_disabled_apic_masks_lvts_drops_fixed_keeps_nmi_xapic)
{
	software_disabled(_metadata, self, false);
}

TEST_F(apic, software_disabled_apic_masks_lvts_drops_fixed_keeps_nmi_x2apic)
{
	software_disabled(_metadata, self, true);
}

/* ---------------------------------------------------------------- */
/* A 32-bit guest                                                    */
/* ---------------------------------------------------------------- */

#define CODE32_GPA	0x7000

/*
 * The same registers from 32-bit protected mode (CS.D=1, paging off):
 * the xAPIC accesses a 32-bit OS makes, decoded with 32-bit operand and
 * address sizes on every tier.  SDM 11.4.1: the APIC registers are
 * 32-bit, 16-byte aligned.  The guest reports each value with OUT 0x20.
 */
TEST_F(apic, xapic_from_32bit_protected_mode)
{
	static const uint8_t code[] = {
		0xbb, 0x00, 0x00, 0xe0, 0xfe,			/* mov $0xfee00000, %ebx */
		0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, /* SVR = 0x1ff */
		0xc7, 0x83, 0x80, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, /* TPR = 0x20 */
		0x8b, 0x83, 0x80, 0x00, 0x00, 0x00, 0xe7, 0x20,	/* out TPR */
		0x8b, 0x83, 0xa0, 0x00, 0x00, 0x00, 0xe7, 0x20,	/* out PPR */
		0xc7, 0x83, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* TPR = 0 */
		0xc7, 0x83, 0xe0, 0x03, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, /* TDCR = 0xb */
		0xc7, 0x83, 0x20, 0x03, 0x00, 0x00, 0x50, 0x00, 0x01, 0x00, /* LVTT masked */
		0xc7, 0x83, 0x80, 0x03, 0x00, 0x00, 0x00, 0xe1, 0xf5, 0x05, /* TMICT = 1e8 */
		0x8b, 0x83, 0x90, 0x03, 0x00, 0x00, 0xe7, 0x20,	/* out TMCCT */
		0x8b, 0x83, 0x30, 0x00, 0x00, 0x00, 0xe7, 0x20,	/* out LVR */
		0xc7, 0x83, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ICR2 = 0 */
		0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x61, 0x40, 0x00, 0x00, /* ICR: 0x61 to 0 */
		0x8b, 0x83, 0x30, 0x02, 0x00, 0x00, 0xe7, 0x20,	/* out IRR[0x60-0x7f] */
		0xfa, 0xf4,					/* cli; hlt */
	};
	struct vcpu *vcpu = vm_add_vcpu_bare(self->vm, 0);
	struct vapicvm_regs regs;
	uint32_t *data;

	memcpy(addr_gpa2hva(self->vm, CODE32_GPA), code, sizeof(code));
	vcpu_setup_protected_mode(vcpu, CODE32_GPA);
	vcpu_get_regs(vcpu, &regs);
	regs.rsp = 0x9000;
	vcpu_set_regs(vcpu, &regs);
	vcpu_expect_out(vcpu, 0x20, 4, 0x20);			/* TPR */
	vcpu_expect_out(vcpu, 0x20, 4, 0x20);			/* PPR follows TPR */
	data = vcpu_expect_io(vcpu, VAPICVM_EXIT_IO_OUT, 0x20, 4);
	EXPECT_TRUE(*data > 0 && *data <= 100000000) TH_LOG("TMCCT %u", *data);
	vcpu_expect_out(vcpu, 0x20, 4, 0x00050014);		/* LVR */
	vcpu_expect_out(vcpu, 0x20, 4, 1U << (0x61 - 0x60));	/* IRR bit of 0x61 */
	vcpu_expect_hlt(vcpu);
}

/* ---------------------------------------------------------------- */
/* INIT and SIPI in each activity state                              */
/* ---------------------------------------------------------------- */

#define SIPI_A_GPA	0x8000		/* real mode: mov $0x11,%al; out %al,$0x90; cli; hlt */
#define SIPI_B_GPA	0x9000		/* the same with 0x55 */
#define SIPI_PORT	0x90

static volatile uint32_t target_ready, target_spins;

/* state 0: running; 1: halted with IF=1; 2: halted with IF=0. */
static void guest_init_target(uint64_t state)
{
	guest_x2apic = state >> 8;
	apic_enable();
	target_ready = 1;
	switch (state & 0xff) {
	case 0:
		for (;;)
			target_spins++;
	case 1:
		for (;;)
			guest_safe_halt();
	default:
		for (;;)
			__asm__ volatile("cli; hlt");
	}
}

static void guest_init_sender(uint64_t state)
{
	uint32_t spins;

	guest_x2apic = state >> 8;
	apic_enable();
	while (!target_ready)
		__asm__ volatile("pause");
	guest_spin_tsc(3500000ULL);		/* let it reach its state */
	/* SDM 8.4.2 / 11.6.1: a SIPI outside wait-for-SIPI is ignored. */
	apic_icr(1, ICR_SIPI | (SIPI_A_GPA >> 12));
	if ((state & 0xff) == 0) {
		spins = target_spins;
		while (target_spins == spins)
			__asm__ volatile("pause");	/* still running its code */
	}
	guest_spin_tsc(3500000ULL);
	/* INIT (and the de-assert, a no-op), then SIPI: it starts at B. */
	apic_icr(1, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	apic_icr(1, ICR_INIT | ICR_LEVEL);
	guest_spin_tsc(350000ULL);
	apic_icr(1, ICR_SIPI | (SIPI_B_GPA >> 12));
	GUEST_DONE();
}

/* Run until an exit other than HLT: a halted vCPU with IF=0 returns HLT. */
static void *run_past_hlt(void *arg)
{
	struct vcpu *vcpu = arg;

	do
		vcpu_run(vcpu);
	while (vcpu->run->exit_reason == VAPICVM_EXIT_HLT);
	return NULL;
}

/*
 * SDM 8.4 and 11.6.1: INIT puts an AP in wait-for-SIPI from whatever it
 * was doing (running, halted with interrupts enabled or disabled); only
 * then does a SIPI start it, in real mode at vector:0000.  A SIPI before
 * the INIT is ignored.
 */
static void init_sipi_state(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self,
			    unsigned int state, bool x2)
{
	static const uint8_t code_a[] = { 0xb0, 0x11, 0xe6, SIPI_PORT, 0xfa, 0xf4 };
	static const uint8_t code_b[] = { 0xb0, 0x55, 0xe6, SIPI_PORT, 0xfa, 0xf4 };
	uint64_t arg = state | (x2 ? 0x100 : 0);
	struct vcpu *sender = vm_add_vcpu(self->vm, 0, guest_init_sender, arg);
	struct vcpu *target = vm_add_vcpu(self->vm, 1, guest_init_target, arg);
	uint8_t data;
	pthread_t t;

	memcpy(addr_gpa2hva(self->vm, SIPI_A_GPA), code_a, sizeof(code_a));
	memcpy(addr_gpa2hva(self->vm, SIPI_B_GPA), code_b, sizeof(code_b));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_past_hlt, target));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(sender, NULL));
	pthread_join(t, NULL);
	ASSERT_EQ(VAPICVM_EXIT_IO, target->run->exit_reason);
	EXPECT_EQ(SIPI_PORT, target->run->io.port);
	memcpy(&data, (uint8_t *)target->run + target->run->io.data_offset, 1);
	EXPECT_EQ(0x55, data) TH_LOG("the SIPI before INIT started it");
}

TEST_F(apic, init_sipi_to_a_running_vcpu_xapic)
{
	init_sipi_state(_metadata, self, 0, false);
}

TEST_F(apic, init_sipi_to_a_running_vcpu_x2apic)
{
	init_sipi_state(_metadata, self, 0, true);
}

TEST_F(apic, init_sipi_to_a_halted_vcpu_xapic)
{
	init_sipi_state(_metadata, self, 1, false);
}

TEST_F(apic, init_sipi_to_a_halted_vcpu_x2apic)
{
	init_sipi_state(_metadata, self, 1, true);
}

TEST_F(apic, init_sipi_to_a_vcpu_halted_with_interrupts_off_xapic)
{
	init_sipi_state(_metadata, self, 2, false);
}

TEST_F(apic, init_sipi_to_a_vcpu_halted_with_interrupts_off_x2apic)
{
	init_sipi_state(_metadata, self, 2, true);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC timer (Vol. 3A 11.5.4): one-shot and periodic counts at a
 * 1 GHz bus clock divided by TDCR, and TSC-deadline mode, on one hard-IRQ
 * hrtimer per vCPU.  An expiry posts the LVT timer vector like any other
 * interrupt from outside the vCPU, so it works the same whether the vCPU
 * runs, is halted or is scheduled out.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <asm/tsc.h>

#include "lapic.h"
#include "lapic_timer.h"
#include "vcpu.h"

#define APIC_BUS_CYCLE_NS	1	/* a 1 GHz APIC timer clock, as KVM's */

/*
 * The shortest period of a periodic timer.  TMICT=1 at divide 1 would
 * otherwise re-arm a hard-IRQ hrtimer every nanosecond on a host CPU for as
 * long as the VM lives, whether the guest runs or not (the LVT may even be
 * masked).  200 us, KVM's min_timer_period_us.
 */
#define LAPIC_TIMER_MIN_PERIOD_NS	200000ULL

/*
 * The farthest expiry armed, from now: guest- and userspace-chosen times
 * (TSC deadlines, SET_LAPIC's remaining time) saturate here rather than
 * overflow a ktime_t into the past.  About 36 years.
 */
#define LAPIC_TIMER_MAX_NS		((u64)KTIME_MAX / 256)

u32 lapic_timer_mode(struct vapicvm_lapic *apic)
{
	return lapic_reg_read(apic, LAPIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

static u64 lapic_divide(struct vapicvm_lapic *apic)
{
	u32 tdcr = lapic_reg_read(apic, LAPIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return v == 7 ? 1 : 2ULL << v;
}

/* Hard-IRQ context: post the timer's vector like any other sender. */
static enum hrtimer_restart lapic_timer_fn(struct hrtimer *timer)
{
	struct vapicvm_lapic *apic = container_of(timer, struct vapicvm_lapic, timer);
	u32 lvtt = lapic_reg_read(apic, LAPIC_LVTT);
	u64 period = READ_ONCE(apic->timer_period_ns);

	if (!(lvtt & LAPIC_LVT_MASKED) && lapic_sw_enabled(apic) &&
	    (READ_ONCE(apic->base_msr) & LAPIC_BASE_EN))
		lapic_post(apic->vcpu, lvtt & LAPIC_VECTOR_MASK, false);
	set_bit(LAPIC_EV_TIMER, &apic->events);
	if (period && (lvtt & LAPIC_TIMER_MODE_MASK) == LAPIC_TIMER_PERIODIC) {
		hrtimer_forward_now(timer, ns_to_ktime(period));
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

void lapic_timer_init(struct vapicvm_lapic *apic)
{
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fn;
}

void lapic_timer_stop(struct vapicvm_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	WRITE_ONCE(apic->timer_period_ns, 0);
}

/*
 * One-shot and periodic modes: (re)start from the initial count.
 * remaining_ns: 0 starts a full count; LAPIC_TIMER_EXPIRED restores an
 * expired count (a one-shot stays stopped, a periodic one starts anew).
 */
void lapic_timer_start_count(struct vapicvm_lapic *apic, u64 remaining_ns)
{
	u32 count = lapic_reg_read(apic, LAPIC_TMICT);
	u64 period;

	lapic_timer_stop(apic);
	if (!count || lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		return;
	period = (u64)count * lapic_divide(apic) * APIC_BUS_CYCLE_NS;
	if (lapic_timer_mode(apic) == LAPIC_TIMER_PERIODIC)
		period = max(period, LAPIC_TIMER_MIN_PERIOD_NS);
	if (remaining_ns == LAPIC_TIMER_EXPIRED) {
		if (lapic_timer_mode(apic) != LAPIC_TIMER_PERIODIC)
			return;
		remaining_ns = 0;
	}
	remaining_ns = min(remaining_ns, LAPIC_TIMER_MAX_NS);
	WRITE_ONCE(apic->timer_period_ns, period);
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), remaining_ns ?: period),
		      HRTIMER_MODE_ABS_HARD);
}

u32 lapic_timer_current_count(struct vapicvm_lapic *apic)
{
	u64 period = READ_ONCE(apic->timer_period_ns);
	s64 remaining;

	if (!period || !hrtimer_active(&apic->timer))
		return 0;
	remaining = ktime_to_ns(ktime_sub(hrtimer_get_expires(&apic->timer), ktime_get()));
	if (remaining < 0)
		remaining = 0;
	/* A period stretched to the floor still counts down from TMICT. */
	return min_t(u64, div64_u64(remaining, lapic_divide(apic) * APIC_BUS_CYCLE_NS),
		     lapic_reg_read(apic, LAPIC_TMICT));
}

/*
 * Guest TSC ticks to nanoseconds, saturated: delta * 10^6 / tsc_khz has a
 * quotient wider than 64 bits for a far deadline on a TSC below 1 GHz, and
 * the division would fault (#DE) in the host.
 */
static u64 tsc_delta_to_ns(u64 delta)
{
	u32 khz = tsc_khz ?: 1000000;

	if (delta / khz >= LAPIC_TIMER_MAX_NS / 1000000)
		return LAPIC_TIMER_MAX_NS;
	return mul_u64_u32_div(delta, 1000000, khz);
}

static u64 guest_tsc(struct vapicvm_vcpu *vcpu)
{
	return rdtsc() + vcpu->tsc_offset;
}

u64 lapic_get_tsc_deadline(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	return lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE ? apic->tsc_deadline : 0;
}

void lapic_set_tsc_deadline(struct vapicvm_vcpu *vcpu, u64 deadline)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 now, ns;

	/* Writes are ignored outside TSC-deadline mode (Vol. 3A 11.5.4.1). */
	if (!lapic_is_enabled(vcpu) || lapic_timer_mode(apic) != LAPIC_TIMER_TSCDEADLINE)
		return;
	hrtimer_cancel(&apic->timer);
	apic->tsc_deadline = deadline;
	if (!deadline)
		return;
	now = guest_tsc(vcpu);
	ns = deadline > now ? tsc_delta_to_ns(deadline - now) : 0;
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), ns), HRTIMER_MODE_ABS_HARD);
}

/*
 * One-shot/periodic: the time to the next expiry, for GET_LAPIC; 0 when
 * stopped.  Armed but due reads 1 ns, so that a restore still fires it.
 */
u64 lapic_timer_remaining_ns(struct vapicvm_lapic *apic)
{
	ktime_t left;

	if (!READ_ONCE(apic->timer_period_ns) || !hrtimer_active(&apic->timer))
		return 0;
	left = ktime_sub(hrtimer_get_expires(&apic->timer), ktime_get());
	return max_t(s64, 1, ktime_to_ns(left));
}

/* The vCPU's thread took LAPIC_EV_TIMER: a TSC deadline that fired reads 0. */
void lapic_timer_expired(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_TIMER_FIRED);
	if (lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		apic->tsc_deadline = 0;
}

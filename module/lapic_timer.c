// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC timer (Vol. 3A 11.5.4): one-shot and periodic counts at a
 * 1 GHz bus clock divided by TDCR, and TSC-deadline mode, on one hard-IRQ
 * hrtimer per vCPU.  An expiry posts the LVT timer vector like any other
 * interrupt from outside the vCPU, so it works the same whether the vCPU
 * runs, is halted or is scheduled out.
 *
 * Where the CPU has the VMX-preemption timer, a TSC deadline is watched by
 * it instead while the vCPU runs, as in KVM: the expiry is a VM exit on the
 * vCPU's own CPU, with no host timer interrupt, no posting from another
 * context and no wake-up.  That timer counts only in VMX non-root
 * operation, so a vCPU about to block moves its deadline to the hrtimer,
 * and back when it wakes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <asm/tsc.h>

#include "capabilities.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "netlink.h"
#include "trace.h"
#include "tsc.h"
#include "vcpu.h"

#define APIC_BUS_CYCLE_NS	1	/* a 1 GHz APIC timer clock, as KVM's */

/*
 * The shortest period of a periodic timer.  TMICT=1 at divide 1 would
 * otherwise re-arm a hard-IRQ hrtimer every nanosecond on a host CPU for as
 * long as the VM lives, whether the guest runs or not (the LVT may even be
 * masked).  200 us by default, KVM's min_timer_period_us.  It may change at
 * any time (each timer reload reads it once), within bounds that keep the
 * host safe: at least 10 us, at most 1 s.
 */
#define LAPIC_TIMER_MIN_PERIOD_US_LOW	10
#define LAPIC_TIMER_MIN_PERIOD_US_HIGH	1000000

static unsigned int min_timer_period_us = 200;

static int min_timer_period_us_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, LAPIC_TIMER_MIN_PERIOD_US_LOW,
				     LAPIC_TIMER_MIN_PERIOD_US_HIGH);
}

static const struct kernel_param_ops min_timer_period_us_ops = {
	.set = min_timer_period_us_set,
	.get = param_get_uint,
};

module_param_cb(min_timer_period_us, &min_timer_period_us_ops, &min_timer_period_us, 0644);
MODULE_PARM_DESC(min_timer_period_us,
		 "Shortest period of a guest's periodic APIC timer, in us; shorter ones are stretched to it and reported once per VM (10 to 1000000, default 200)");

static u64 lapic_timer_min_period_ns(void)
{
	return (u64)READ_ONCE(min_timer_period_us) * NSEC_PER_USEC;
}

/*
 * The farthest expiry armed, from now: guest- and userspace-chosen times
 * (TSC deadlines, SET_LAPIC's remaining time) saturate here rather than
 * overflow a ktime_t into the past.  About 36 years.
 */
#define LAPIC_TIMER_MAX_NS		((u64)KTIME_MAX / 256)

/* Read when a vCPU is created; on by default, as KVM's preemption_timer. */
static bool preemption_timer = true;
module_param(preemption_timer, bool, 0644);
MODULE_PARM_DESC(preemption_timer,
		 "TSC-deadline timers of vCPUs created from now on use the VMX-preemption timer where the CPU has it (default: Y)");

/*
 * How early the VMX-preemption timer expires, as KVM's lapic_timer_advance_ns:
 * the exit, its handling and the re-entry then overlap the time still to
 * wait, and the vCPU spins (interrupts off, at most this long) until the
 * deadline before it enters with the interrupt; the guest takes it at its
 * deadline rather than an exit's length after.  -1 (default) adapts per
 * vCPU, starting at 1000 ns; 0 turns it off.  Read at vCPU creation.
 */
#define LAPIC_TIMER_ADVANCE_NS_START	1000
#define LAPIC_TIMER_ADVANCE_NS_MAX	5000
#define LAPIC_TIMER_ADVANCE_ADJUST_STEP	8	/* adapt by 1/8 of the error */

static int timer_advance_ns = -1;
module_param(timer_advance_ns, int, 0644);
MODULE_PARM_DESC(timer_advance_ns,
		 "VMX-preemption timer expiries this many ns before a TSC deadline, held until it (-1 adaptive, the default; 0 off; at most 5000)");

/* Host nanoseconds to ticks of the vCPU's TSC, at its rate (tsc.c). */
static u64 ns_to_tsc_delta(struct vapicvm_vcpu *vcpu, u64 ns)
{
	return vcpu_ns_to_tsc(vcpu, ns);
}

/* Host nanoseconds to guest TSC ticks, rounded up: a count is never early. */
static u64 ns_to_tsc_ceil(struct vapicvm_vcpu *vcpu, u64 ns)
{
	return ns_to_tsc_delta(vcpu, ns) + 1;
}

static u64 guest_tsc(struct vapicvm_vcpu *vcpu)
{
	return vcpu_guest_tsc(vcpu);
}

bool lapic_timer_hv_available(void)
{
	return cpu_has_preemption_timer() && READ_ONCE(preemption_timer);
}

u32 lapic_timer_mode(struct vapicvm_lapic *apic)
{
	return lapic_reg_read(apic, LAPIC_LVTT) & LAPIC_TIMER_MODE_MASK;
}

/* TDCR's divisor: 1 to 128. */
u64 lapic_timer_divisor(struct vapicvm_lapic *apic)
{
	u32 tdcr = lapic_reg_read(apic, LAPIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return v == 7 ? 1 : 2ULL << v;
}

/* The timer's interrupt, posted like any other sender's.  Any context. */
static void lapic_timer_deliver(struct vapicvm_lapic *apic, u32 lvtt)
{
	if (!(lvtt & LAPIC_LVT_MASKED) && lapic_sw_enabled(apic) &&
	    (READ_ONCE(apic->base_msr) & LAPIC_BASE_EN))
		lapic_post(apic->vcpu, lvtt & LAPIC_VECTOR_MASK, false);
}

/* An expiry in any context: the vCPU's thread finishes it (LAPIC_EV_TIMER). */
static void lapic_timer_fire(struct vapicvm_lapic *apic, u32 lvtt)
{
	lapic_timer_deliver(apic, lvtt);
	set_bit(LAPIC_EV_TIMER, &apic->events);
}

/*
 * A TSC deadline expiring on the vCPU's own thread (or with the vCPU
 * stopped, under its ioctl): finished at once, without a round through
 * LAPIC_EV_TIMER before the next entry.
 */
static void lapic_timer_deadline_expired_here(struct vapicvm_lapic *apic)
{
	lapic_timer_deliver(apic, lapic_reg_read(apic, LAPIC_LVTT));
	apic->tsc_deadline = 0;
	vcpu_stat_inc(apic->vcpu, VAPICVM_STAT_TIMER_FIRED);
	trace_vapicvm_timer_fire(apic->vcpu->id, apic->hv_timer_usable);
}

/* Hard-IRQ context. */
static enum hrtimer_restart lapic_timer_fn(struct hrtimer *timer)
{
	struct vapicvm_lapic *apic = container_of(timer, struct vapicvm_lapic, timer);
	u32 lvtt = lapic_reg_read(apic, LAPIC_LVTT);
	u64 period = READ_ONCE(apic->timer_period_ns);

	lapic_timer_fire(apic, lvtt);
	/* The mode now, not at arming, decides whether the count reloads. */
	if (period && (lvtt & LAPIC_TIMER_MODE_MASK) == LAPIC_TIMER_PERIODIC) {
		hrtimer_forward_now(timer, ns_to_ktime(period));
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

/* The first clamped period of a VM is an event: the guest runs slower than it asked. */
static void lapic_timer_report_clamp(struct vapicvm_vcpu *vcpu)
{
	if (!test_and_set_bit(VAPICVM_CLAMP_TIMER, &vcpu->vm->clamps_reported))
		vapicvm_event_vcpu(vcpu, VAPICVM_EVENT_RATE_CLAMP, VAPICVM_CLAMP_TIMER, 0);
}

/* One pass of the count in time: TMICT x divide, floored when periodic. */
static u64 lapic_timer_pass_ns(struct vapicvm_lapic *apic)
{
	u64 period = (u64)lapic_reg_read(apic, LAPIC_TMICT) * lapic_timer_divisor(apic) *
		     APIC_BUS_CYCLE_NS;
	u64 min_period = lapic_timer_min_period_ns();

	if (lapic_timer_mode(apic) == LAPIC_TIMER_PERIODIC && period < min_period) {
		period = min_period;
		lapic_timer_report_clamp(apic->vcpu);
	}
	return period;
}

void lapic_timer_init(struct vapicvm_lapic *apic)
{
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fn;
	apic->hv_timer_usable = lapic_timer_hv_available();
	if (apic->hv_timer_usable) {
		int ns = READ_ONCE(timer_advance_ns);

		apic->timer_advance_adaptive = ns < 0;
		ns = ns < 0 ? LAPIC_TIMER_ADVANCE_NS_START : min(ns, LAPIC_TIMER_ADVANCE_NS_MAX);
		apic->timer_advance = ns_to_tsc_delta(apic->vcpu, ns);
	}
}

/* The only ways the hrtimer is started: see timer_maybe_queued. */
static void lapic_hrtimer_start(struct vapicvm_lapic *apic, ktime_t expires)
{
	apic->timer_maybe_queued = true;
	hrtimer_start(&apic->timer, expires, HRTIMER_MODE_ABS_HARD);
}

static void lapic_hrtimer_cancel(struct vapicvm_lapic *apic)
{
	if (!apic->timer_maybe_queued)
		return;
	hrtimer_cancel(&apic->timer);
	apic->timer_maybe_queued = false;
}

void lapic_timer_stop(struct vapicvm_lapic *apic)
{
	lapic_hrtimer_cancel(apic);
	apic->hv_timer_armed = false;
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
	period = lapic_timer_pass_ns(apic);
	if (remaining_ns == LAPIC_TIMER_EXPIRED) {
		if (lapic_timer_mode(apic) != LAPIC_TIMER_PERIODIC)
			return;
		remaining_ns = 0;
	}
	remaining_ns = min(remaining_ns, LAPIC_TIMER_MAX_NS) ?: period;
	WRITE_ONCE(apic->timer_period_ns, period);
	trace_vapicvm_timer_arm(apic->vcpu->id, lapic_timer_mode(apic) >> 17, remaining_ns,
				apic->hv_timer_usable);
	/*
	 * Where the VMX-preemption timer is used, the count is its while the
	 * vCPU runs, as a TSC deadline is, and the hrtimer's while it blocks.
	 */
	if (apic->hv_timer_usable) {
		apic->count_expires = ktime_add_ns(ktime_get(), remaining_ns);
		apic->hv_deadline = guest_tsc(apic->vcpu) +
				   ns_to_tsc_ceil(apic->vcpu, remaining_ns);
		apic->hv_timer_armed = true;
		return;
	}
	lapic_hrtimer_start(apic, ktime_add_ns(ktime_get(), remaining_ns));
}

/*
 * One-shot/periodic: whether the count runs, and its next expiry.  The
 * hrtimer's expiry is read as it is, as before any of this: its callback
 * may be moving it on (a periodic reload) at the same time.
 */
static bool lapic_timer_count_expires(struct vapicvm_lapic *apic, ktime_t *expires)
{
	if (!READ_ONCE(apic->timer_period_ns))
		return false;
	if (apic->hv_timer_armed) {
		*expires = apic->count_expires;
		return true;
	}
	if (!hrtimer_active(&apic->timer))
		return false;
	*expires = hrtimer_get_expires(&apic->timer);
	return true;
}

/*
 * LVTT or TDCR was written; the register page holds the new value already
 * (an APIC-write trap stores it before the exit), so the values the count
 * ran with until now are kept here, not read back from the page.
 */
void lapic_timer_sync_config(struct vapicvm_lapic *apic)
{
	apic->timer_mode_seen = lapic_timer_mode(apic);
	apic->timer_divide_seen = lapic_timer_divisor(apic);
}

/*
 * LVTT written (Vol. 3A 11.5.4): between one-shot and periodic the count
 * goes on from where it was, TMICT unchanged, and the mode at expiry
 * decides whether it reloads; a change to or from TSC-deadline mode
 * disarms the timer (11.5.4.1) and, as in KVM, clears TMICT.
 */
void lapic_timer_lvtt_written(struct vapicvm_lapic *apic)
{
	u32 old_mode = apic->timer_mode_seen, mode = lapic_timer_mode(apic);

	if (mode == old_mode)
		return;
	apic->timer_mode_seen = mode;
	if (old_mode == LAPIC_TIMER_TSCDEADLINE || mode == LAPIC_TIMER_TSCDEADLINE) {
		lapic_timer_stop(apic);
		apic->tsc_deadline = 0;
		lapic_reg_write(apic, LAPIC_TMICT, 0);
		return;
	}
	/* The periodic floor applies from the next reload on. */
	if (READ_ONCE(apic->timer_period_ns))
		WRITE_ONCE(apic->timer_period_ns, lapic_timer_pass_ns(apic));
}

/*
 * TDCR written mid-count: the count left stays, only its rate changes
 * (Vol. 3A 11.5.4), so the time left scales by new/old divide, as KVM
 * does.
 */
void lapic_timer_tdcr_written(struct vapicvm_lapic *apic)
{
	u64 old_divide = apic->timer_divide_seen, divide = lapic_timer_divisor(apic), counts;
	s64 left;

	if (divide == old_divide)
		return;
	apic->timer_divide_seen = divide;
	if (!READ_ONCE(apic->timer_period_ns) || lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		return;
	if (apic->hv_timer_armed) {
		left = ktime_to_ns(ktime_sub(apic->count_expires, ktime_get()));
	} else {
		/* Not queued (a one-shot that fired): nothing is counting. */
		if (!hrtimer_cancel(&apic->timer))
			return;
		left = ktime_to_ns(ktime_sub(hrtimer_get_expires(&apic->timer), ktime_get()));
	}
	counts = div64_u64(max_t(s64, left, 0), old_divide * APIC_BUS_CYCLE_NS);
	counts = min_t(u64, counts, lapic_reg_read(apic, LAPIC_TMICT));
	lapic_timer_start_count(apic, max_t(u64, counts * divide * APIC_BUS_CYCLE_NS, 1));
}

u32 lapic_timer_current_count(struct vapicvm_lapic *apic)
{
	u64 period = READ_ONCE(apic->timer_period_ns);
	u64 tick = lapic_timer_divisor(apic) * APIC_BUS_CYCLE_NS;
	ktime_t expires;
	s64 remaining;

	if (!lapic_timer_count_expires(apic, &expires))
		return 0;
	remaining = ktime_to_ns(ktime_sub(expires, ktime_get()));
	/*
	 * At or past the expiry, before the hrtimer has moved it on: a
	 * periodic count has already reloaded from TMICT (11.5.4), it is not
	 * stuck at 0.
	 */
	if (remaining <= 0) {
		if (lapic_timer_mode(apic) != LAPIC_TIMER_PERIODIC)
			return 0;
		u64 late;

		div64_u64_rem((u64)-remaining, period, &late);
		remaining = period - late;
	}
	/*
	 * Rounded up: a count still running reads at least 1 (it reaches 0
	 * only at the expiry) and TMICT just after a start.  A period
	 * stretched to the floor still counts down from TMICT.
	 */
	return min_t(u64, div64_u64(remaining + tick - 1, tick), lapic_reg_read(apic, LAPIC_TMICT));
}

/*
 * Guest TSC ticks to nanoseconds, saturated: delta * 10^6 / tsc_khz has a
 * quotient wider than 64 bits for a far deadline on a TSC below 1 GHz, and
 * the division would fault (#DE) in the host.
 */
static u64 tsc_delta_to_ns(struct vapicvm_vcpu *vcpu, u64 delta)
{
	u32 khz = vcpu->tsc_khz;

	if (delta / khz >= LAPIC_TIMER_MAX_NS / 1000000)
		return LAPIC_TIMER_MAX_NS;
	return mul_u64_u32_div(delta, 1000000, khz);
}

u64 lapic_get_tsc_deadline(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	return lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE ? apic->tsc_deadline : 0;
}

/* The hrtimer takes over a TSC deadline that is still ahead. */
static void lapic_timer_start_deadline(struct vapicvm_vcpu *vcpu, u64 now)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 ns = tsc_delta_to_ns(vcpu, apic->tsc_deadline - now);

	lapic_hrtimer_start(apic, ktime_add_ns(ktime_get(), ns));
}

void lapic_set_tsc_deadline(struct vapicvm_vcpu *vcpu, u64 deadline)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 now;

	/* Writes are ignored outside TSC-deadline mode (Vol. 3A 11.5.4.1). */
	if (!lapic_is_enabled(vcpu) || lapic_timer_mode(apic) != LAPIC_TIMER_TSCDEADLINE)
		return;
	/* Armed on the VMX-preemption timer means no hrtimer is queued. */
	if (apic->hv_timer_armed)
		apic->hv_timer_armed = false;
	else
		lapic_hrtimer_cancel(apic);
	apic->tsc_deadline = deadline;
	if (!deadline)
		return;
	now = guest_tsc(vcpu);
	if (deadline <= now) {
		/*
		 * Due already: it fires now, not from the host timer, so that
		 * the interrupt is taken before the guest's next instruction,
		 * as on hardware; the MSR reads 0 from here on.
		 */
		lapic_timer_deadline_expired_here(apic);
		return;
	}
	if (trace_vapicvm_timer_arm_enabled())
		trace_vapicvm_timer_arm(vcpu->id, 2, tsc_delta_to_ns(vcpu, deadline - now),
					apic->hv_timer_usable);
	if (apic->hv_timer_usable) {
		apic->hv_deadline = deadline;
		apic->hv_timer_armed = true;
	} else {
		lapic_timer_start_deadline(vcpu, now);
	}
}

/*
 * A TSC-deadline write can be taken with interrupts off: no hrtimer is
 * queued that lapic_set_tsc_deadline() would have to wait for.
 */
bool lapic_tsc_deadline_fastpath_ok(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	return apic->hv_timer_usable && (apic->hv_timer_armed || !apic->timer_maybe_queued);
}

/*
 * A one-shot/periodic count the VMX-preemption timer took: the mode now,
 * not at arming, decides whether it reloads (as lapic_timer_fn()); periods
 * the vCPU was away for are skipped, not delivered one exit each, as
 * hrtimer_forward_now() skips them.
 */
static void lapic_timer_count_reload(struct vapicvm_lapic *apic, u32 lvtt, u64 now)
{
	u64 period = READ_ONCE(apic->timer_period_ns), period_tsc, missed, ns;

	if (!period || (lvtt & LAPIC_TIMER_MODE_MASK) != LAPIC_TIMER_PERIODIC) {
		apic->hv_timer_armed = false;
		return;
	}
	period_tsc = ns_to_tsc_ceil(apic->vcpu, period);
	missed = now + apic->timer_advance >= apic->hv_deadline + period_tsc ?
		 div64_u64(now + apic->timer_advance - apic->hv_deadline, period_tsc) : 0;
	apic->hv_deadline += (missed + 1) * period_tsc;
	/*
	 * The host-time expiry (TMCCT, the hrtimer when the vCPU blocks)
	 * follows the guest TSC's, not the previous expiry's: after a TSC
	 * write the two clocks no longer agree on how many periods passed.
	 */
	ns = tsc_delta_to_ns(apic->vcpu, apic->hv_deadline - now);
	apic->count_expires = ktime_add_ns(ktime_get(), ns);
}

/*
 * A VMX-preemption-timer exit, timer_advance ticks before the deadline at
 * the earliest (the entry rounds the timer's steps up); a stale exit (the
 * deadline was rewritten meanwhile) finds nothing due and the next entry
 * programs the timer again.  An expiry taken early is delivered now, and
 * lapic_timer_hold_until_deadline() keeps the guest from running it before
 * its deadline.
 */
void lapic_hv_timer_expired(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 deadline = apic->hv_deadline, now;
	u32 lvtt;

	if (!apic->hv_timer_armed)
		return;
	now = guest_tsc(vcpu);
	if (now + apic->timer_advance < deadline)
		return;
	apic->expired_deadline = deadline;
	vcpu_stat_inc(vcpu, VAPICVM_STAT_TIMER_FIRED_PREEMPT);
	lvtt = lapic_reg_read(apic, LAPIC_LVTT);
	if ((lvtt & LAPIC_TIMER_MODE_MASK) == LAPIC_TIMER_TSCDEADLINE) {
		apic->hv_timer_armed = false;
		lapic_timer_deadline_expired_here(apic);
		return;
	}
	lapic_timer_deliver(apic, lvtt);
	vcpu_stat_inc(vcpu, VAPICVM_STAT_TIMER_FIRED);
	trace_vapicvm_timer_fire(vcpu->id, true);
	lapic_timer_count_reload(apic, lvtt, now);
}

/*
 * The error of this expiry at entry (negative: early), in TSC ticks, moves
 * the advance by 1/8 of it, as KVM's adaptive advance does; errors too
 * large to be the entry path's own (a vCPU that went to userspace, or was
 * preempted, in between) teach nothing.
 */
static void lapic_timer_adjust_advance(struct vapicvm_lapic *apic, s64 error)
{
	s64 max = ns_to_tsc_delta(apic->vcpu, LAPIC_TIMER_ADVANCE_NS_MAX);
	s64 advance = apic->timer_advance;

	if (error > max || error < -max)
		return;
	advance += error / LAPIC_TIMER_ADVANCE_ADJUST_STEP;
	apic->timer_advance = clamp_t(s64, advance, 0, max);
}

/*
 * Interrupts off, just before VM entry: a TSC deadline delivered ahead of
 * time (timer_advance) is held until it is due, so the guest never takes
 * it early (Vol. 3A 11.5.4.1: it fires when the TSC reaches the deadline).
 */
void lapic_timer_hold_until_deadline(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 deadline = apic->expired_deadline, now = guest_tsc(vcpu);

	apic->expired_deadline = 0;
	if (apic->timer_advance_adaptive)
		lapic_timer_adjust_advance(apic, (s64)(now - deadline));
	/*
	 * Bounded: a TSC that userspace moved back since the expiry (SET_MSRS
	 * after RUN returned) must not keep this CPU spinning, interrupts off.
	 */
	if (now >= deadline || deadline - now > ns_to_tsc_delta(vcpu, LAPIC_TIMER_ADVANCE_NS_MAX))
		return;
	while (now < deadline) {
		cpu_relax();
		now = guest_tsc(vcpu);
	}
}

/* The vCPU is about to block: its deadline goes on the hrtimer. */
void lapic_timer_block(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 now;

	if (!apic->hv_timer_armed)
		return;
	apic->hv_timer_armed = false;
	if (lapic_timer_mode(apic) != LAPIC_TIMER_TSCDEADLINE) {
		/* Due or not, the hrtimer fires it (at once if due) and reloads it. */
		lapic_hrtimer_start(apic, apic->count_expires);
		return;
	}
	now = guest_tsc(vcpu);
	if (apic->tsc_deadline <= now)
		lapic_timer_deadline_expired_here(apic);
	else
		lapic_timer_start_deadline(vcpu, now);
}

/*
 * Woken: a deadline still ahead goes back on the VMX-preemption timer.  If
 * the hrtimer is firing or has fired, its expiry is already on its way
 * (LAPIC_EV_TIMER) and stays there.
 */
void lapic_timer_unblock(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	bool deadline_mode = lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE;
	s64 left;

	if (!apic->hv_timer_usable || !apic->timer_maybe_queued ||
	    !(deadline_mode ? apic->tsc_deadline : READ_ONCE(apic->timer_period_ns)))
		return;
	switch (hrtimer_try_to_cancel(&apic->timer)) {
	case 1:
		if (deadline_mode) {
			apic->hv_deadline = apic->tsc_deadline;
		} else {
			/* Where the hrtimer had got to: a periodic count reloads there. */
			apic->count_expires = hrtimer_get_expires(&apic->timer);
			left = ktime_to_ns(ktime_sub(apic->count_expires, ktime_get()));
			apic->hv_deadline = guest_tsc(vcpu) +
					    ns_to_tsc_ceil(vcpu, max_t(s64, left, 0));
		}
		apic->hv_timer_armed = true;
		fallthrough;
	case 0:
		apic->timer_maybe_queued = false;
	}
}

/*
 * One-shot/periodic: the time to the next expiry, for GET_LAPIC; 0 when
 * stopped.  Armed but due reads 1 ns, so that a restore still fires it.
 */
u64 lapic_timer_remaining_ns(struct vapicvm_lapic *apic)
{
	ktime_t expires;

	if (!lapic_timer_count_expires(apic, &expires))
		return 0;
	return max_t(s64, 1, ktime_to_ns(ktime_sub(expires, ktime_get())));
}

/* The vCPU's thread took LAPIC_EV_TIMER: a TSC deadline that fired reads 0. */
void lapic_timer_expired(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_TIMER_FIRED);
	trace_vapicvm_timer_fire(vcpu->id, false);
	if (lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		apic->tsc_deadline = 0;
}

/*
 * SET_TSC_KHZ changed the vCPU's TSC rate (the guest TSC itself did not
 * move): what was computed in ticks of the old rate is computed again.
 * VMCS loaded, the vCPU stopped.
 */
void lapic_timer_tsc_rate_changed(struct vapicvm_vcpu *vcpu, u32 old_khz)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	s64 left;

	if (apic->hv_timer_usable)
		apic->timer_advance = mul_u64_u32_div(apic->timer_advance, vcpu->tsc_khz, old_khz);
	if (lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE) {
		/* The deadline stays in guest ticks; its host-time expiry moves. */
		if (apic->tsc_deadline)
			lapic_set_tsc_deadline(vcpu, apic->tsc_deadline);
		return;
	}
	/* A count runs in host time: only the VMX-preemption timer's target moves. */
	if (apic->hv_timer_armed && READ_ONCE(apic->timer_period_ns)) {
		left = ktime_to_ns(ktime_sub(apic->count_expires, ktime_get()));
		apic->hv_deadline = guest_tsc(vcpu) + ns_to_tsc_ceil(vcpu, max_t(s64, left, 0));
	}
}

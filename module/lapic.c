// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC model: registers, priorities, EOI, IPIs and their
 * routing, INIT/SIPI, the timer (one-shot, periodic, TSC-deadline), and the
 * xAPIC/x2APIC modes with the SDM's transitions (Vol. 3A chapter 11).
 *
 * Nothing here knows which APIC-virtualization features the CPU has, and
 * nothing here touches the VMCS: the tier (apicv.c) decides how pending
 * interrupts reach the guest and how a notification reaches a vCPU, and is
 * told through its hooks when the model changes state the CPU also holds.
 * See lapic.h for the register page and the posted-interrupt path every
 * interrupt from outside the vCPU takes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>

#include "apicv.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "netlink.h"
#include "trace.h"
#include "vcpu.h"
#include "vcpu_regs.h"

#define APIC_VERSION		0x14
#define APIC_MAX_LVT		5	/* timer, thermal, perf, LINT0, LINT1, error */
#define X2APIC_BROADCAST	0xffffffffU
#define XAPIC_BROADCAST		0xffU

static inline struct vapicvm_lapic *to_apic(struct vapicvm_vcpu *vcpu)
{
	return vcpu->lapic;
}

/* ------------------------------------------------------------------ */
/* Register helpers                                                    */
/* ------------------------------------------------------------------ */

static inline bool vec_test(struct vapicvm_lapic *apic, unsigned int base, int vec)
{
	return lapic_reg_read(apic, base + (vec >> 5) * 0x10) & BIT(vec & 31);
}

static inline void vec_set(struct vapicvm_lapic *apic, unsigned int base, int vec)
{
	u32 *w = (u32 *)(apic->regs + base + (vec >> 5) * 0x10);

	*w |= BIT(vec & 31);
}

static inline void vec_clear(struct vapicvm_lapic *apic, unsigned int base, int vec)
{
	u32 *w = (u32 *)(apic->regs + base + (vec >> 5) * 0x10);

	*w &= ~BIT(vec & 31);
}

static int find_highest(struct vapicvm_lapic *apic, unsigned int base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = lapic_reg_read(apic, base + i * 0x10);

		if (w)
			return i * 32 + __fls(w);
	}
	return -1;
}

int lapic_highest_irr(struct vapicvm_lapic *apic)
{
	return find_highest(apic, LAPIC_IRR);
}

int lapic_highest_isr(struct vapicvm_lapic *apic)
{
	return find_highest(apic, LAPIC_ISR);
}

/* PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4 (Vol. 3A 11.8.3.1). */
u32 lapic_ppr(struct vapicvm_lapic *apic)
{
	u32 tpr = lapic_reg_read(apic, LAPIC_TASKPRI) & 0xff;
	int isrv = lapic_highest_isr(apic);
	u32 isr_class = isrv < 0 ? 0 : isrv & 0xf0;

	return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

static void lapic_update_ppr(struct vapicvm_lapic *apic)
{
	lapic_reg_write(apic, LAPIC_PROCPRI, lapic_ppr(apic));
}

u32 lapic_id(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u32 id = lapic_reg_read(apic, LAPIC_ID);

	return lapic_is_x2apic(vcpu) ? id : id >> 24;
}

bool lapic_is_enabled(struct vapicvm_vcpu *vcpu)
{
	return READ_ONCE(to_apic(vcpu)->base_msr) & LAPIC_BASE_EN;
}

bool lapic_is_x2apic(struct vapicvm_vcpu *vcpu)
{
	return (READ_ONCE(to_apic(vcpu)->base_msr) & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) ==
	       (LAPIC_BASE_EN | LAPIC_BASE_EXTD);
}

static u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

/* ------------------------------------------------------------------ */
/* The tier's hooks                                                    */
/* ------------------------------------------------------------------ */

/* IRR or ISR changed where the CPU keeps a summary of them (RVI/SVI). */
static void lapic_irr_isr_changed(struct vapicvm_lapic *apic)
{
	if (apic->tier->irr_isr_changed)
		apic->tier->irr_isr_changed(apic->vcpu);
}

/* IRR gained vector, ISR unchanged: the summary can only go up. */
static void lapic_irr_raised(struct vapicvm_lapic *apic, int vector)
{
	if (apic->tier->irr_raised)
		apic->tier->irr_raised(apic->vcpu, vector);
	else
		lapic_irr_isr_changed(apic);
}

/* TMR changed: level-triggered vectors may need EOI exits. */
static void lapic_tmr_changed(struct vapicvm_lapic *apic)
{
	if (apic->tier->tmr_changed)
		apic->tier->tmr_changed(apic->vcpu);
}

/* ------------------------------------------------------------------ */
/* Posting and accepting interrupts                                    */
/* ------------------------------------------------------------------ */

/*
 * An error the APIC detected (Vol. 3A 11.5.3): recorded for the next ESR
 * write, and signalled through the LVT error entry unless it is masked.
 * An error vector below 16 is itself illegal: recorded, not delivered.
 * Any context.
 */
static void lapic_report_error(struct vapicvm_lapic *apic, u32 error)
{
	u32 lvt = lapic_reg_read(apic, LAPIC_LVTERR);

	atomic_or(error, &apic->esr_pending);
	if ((lvt & LAPIC_LVT_MASKED) || !lapic_sw_enabled(apic))
		return;
	if ((lvt & LAPIC_VECTOR_MASK) < 16) {
		atomic_or(LAPIC_ESR_RECV_ILLEGAL, &apic->esr_pending);
		return;
	}
	lapic_post(apic->vcpu, lvt & LAPIC_VECTOR_MASK, false);
}

/*
 * An NMI for target, from any context.  Counted, not just flagged: two
 * senders racing must not merge into one (lapic_process_events()).  The
 * count is visible before the event bit that makes the thread read it.
 */
static void lapic_queue_nmi(struct vapicvm_vcpu *target)
{
	struct vapicvm_lapic *apic = to_apic(target);

	atomic_inc(&apic->nmi_queued);
	/* Pairs with test_and_clear_bit() before atomic_xchg() in lapic_take_events(). */
	smp_mb__after_atomic();
	set_bit(LAPIC_EV_NMI, &apic->events);
	vcpu_kick(target);
}

/*
 * The vCPU's own thread, in RUN (its VMCS loaded, outside guest mode) and
 * not in an interrupt handler: the register page is its own, so its
 * APIC's interrupts (a timer expiry on this thread, a self-IPI, an error)
 * go straight into IRR: no PIR, no notification, no merge before entry.
 */
static bool lapic_post_is_local(struct vapicvm_vcpu *target)
{
	return READ_ONCE(target->task) == current && in_task();
}

static void lapic_accept_local(struct vapicvm_lapic *apic, int vector, bool level)
{
	vec_set(apic, LAPIC_IRR, vector);
	if (vec_test(apic, LAPIC_TMR, vector) != level) {
		if (level)
			vec_set(apic, LAPIC_TMR, vector);
		else
			vec_clear(apic, LAPIC_TMR, vector);
		lapic_tmr_changed(apic);
	}
	lapic_irr_raised(apic, vector);
}

/* Post a fixed interrupt to a vCPU from any context; see lapic.h. */
void lapic_post(struct vapicvm_vcpu *target, int vector, bool level)
{
	struct vapicvm_lapic *apic = to_apic(target);

	if (lapic_post_is_local(target)) {
		lapic_accept_local(apic, vector, level);
		return;
	}
	if (level)
		set_bit(vector, apic->pir_tmr);
	else
		clear_bit(vector, apic->pir_tmr);
	set_bit(vector, (unsigned long *)apic->pi->pir);
	/* The first poster after a sync notifies; later ones ride along. */
	if (!test_and_set_bit(PI_ON, (unsigned long *)&apic->pi->control) || level)
		apic->tier->notify(target, level);
}

/*
 * Merge posted interrupts into IRR.  Runs on the vCPU's thread outside
 * guest mode, so the register page is ours.
 */
void lapic_sync_pir(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	bool level_changed = false;
	int i, highest = -1;

	if (!lapic_pir_pending(apic))
		return;
	clear_bit(PI_ON, (unsigned long *)&apic->pi->control);
	for (i = 0; i < 8; i++) {
		u32 posted, level, *tmr;

		if (!READ_ONCE(apic->pi->pir[i]))
			continue;
		posted = xchg(&apic->pi->pir[i], 0);
		*(u32 *)(apic->regs + LAPIC_IRR + i * 0x10) |= posted;
		highest = i * 32 + __fls(posted);
		level = ((u32 *)apic->pir_tmr)[i] & posted;
		tmr = (u32 *)(apic->regs + LAPIC_TMR + i * 0x10);
		if ((*tmr & posted) != level) {
			*tmr = (*tmr & ~posted) | level;
			level_changed = true;
		}
		vcpu->stats[VAPICVM_STAT_IRQ_POSTED] += hweight32(posted);
		/* Tiers with VID leave these to the CPU: none is injected. */
		if (apic->tier->irr_raised)
			vcpu->stats[VAPICVM_STAT_IRQ_VID] += hweight32(posted);
	}
	if (highest >= 0)
		lapic_irr_raised(apic, highest);
	if (level_changed)
		lapic_tmr_changed(apic);
}

/* IRR -> ISR for the vector the CPU is about to take (tiers without VID). */
void lapic_accept(struct vapicvm_lapic *apic, int vector)
{
	vec_clear(apic, LAPIC_IRR, vector);
	vec_set(apic, LAPIC_ISR, vector);
	lapic_update_ppr(apic);
}

/*
 * The EOI of vector, once ISR no longer holds it.  A level-triggered
 * interrupt (TMR set) ends with an EOI message to the I/O APICs
 * (Vol. 3A 11.8.5), which is the VMM's with VAPICVM_CAP_IOAPIC_EOI: the
 * run loop reports it before the next entry.  TMR is the trigger mode of
 * the last interrupt accepted for the vector: it is cleared here, so that
 * with virtual-interrupt delivery the vector's EOI stops exiting, unless
 * IRR already holds the vector again, accepted as level-triggered after
 * this one.
 */
static void lapic_eoi_vector(struct vapicvm_lapic *apic, int vector)
{
	struct vapicvm_vcpu *vcpu = apic->vcpu;

	if (!vec_test(apic, LAPIC_TMR, vector))
		return;
	if (READ_ONCE(vcpu->vm->ioapic_eoi_exits)) {
		__set_bit(vector, vcpu->ioapic_eoi_vectors);
		vcpu->ioapic_eoi_pending = true;
	}
	if (!vec_test(apic, LAPIC_IRR, vector)) {
		vec_clear(apic, LAPIC_TMR, vector);
		lapic_tmr_changed(apic);
	}
}

static void lapic_eoi(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	int vector = lapic_highest_isr(apic);

	trace_vapicvm_eoi(vcpu->id, vector);
	if (vector < 0)
		return;
	vec_clear(apic, LAPIC_ISR, vector);
	lapic_update_ppr(apic);
	lapic_irr_isr_changed(apic);
	lapic_eoi_vector(apic, vector);
}

void lapic_eoi_induced(struct vapicvm_vcpu *vcpu, u8 vector)
{
	/* The CPU already cleared the vISR bit and updated SVI and PPR. */
	trace_vapicvm_eoi(vcpu->id, vector);
	lapic_eoi_vector(to_apic(vcpu), vector);
}

/* The next EOI the VMM's I/O APIC is told of; false when none is left. */
bool lapic_next_ioapic_eoi(struct vapicvm_vcpu *vcpu, u8 *vector)
{
	unsigned long v = find_first_bit(vcpu->ioapic_eoi_vectors, 256);

	if (v >= 256) {
		vcpu->ioapic_eoi_pending = false;
		return false;
	}
	__clear_bit(v, vcpu->ioapic_eoi_vectors);
	*vector = v;
	return true;
}

/*
 * Deliver one interrupt message to a vCPU's local APIC.  Safe from any
 * context that may sleep or not (it never sleeps).  Returns whether the
 * APIC accepted it.
 */
static bool lapic_accept_message(struct vapicvm_vcpu *target, u32 dm, u8 vector, bool level)
{
	struct vapicvm_lapic *apic = to_apic(target);

	if (!lapic_is_enabled(target))
		return false;
	switch (dm) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if (!lapic_sw_enabled(apic))
			return false;
		if (vector < 16) {
			/* Illegal vector: the receiver drops it and says so. */
			lapic_report_error(apic, LAPIC_ESR_RECV_ILLEGAL);
			return false;
		}
		lapic_post(target, vector, level);
		return true;
	case LAPIC_DM_NMI:
		lapic_queue_nmi(target);
		return true;
	case LAPIC_DM_INIT:
		/* A SIPI that came before this INIT is void. */
		clear_bit(LAPIC_EV_SIPI, &apic->events);
		set_bit(LAPIC_EV_INIT, &apic->events);
		vcpu_kick(target);
		return true;
	case LAPIC_DM_STARTUP:
		WRITE_ONCE(apic->sipi_vector, vector);
		/* The vector is visible before the event that makes it read. */
		smp_mb__before_atomic();
		set_bit(LAPIC_EV_SIPI, &apic->events);
		vcpu_kick(target);
		return true;
	case LAPIC_DM_EXTINT:
		return !lapic_deliver_extint(target, vector);
	default:
		return false;	/* SMI and reserved modes are not modelled */
	}
}

bool lapic_deliver(struct vapicvm_vcpu *target, u32 dm, u8 vector, bool level)
{
	bool accepted = lapic_accept_message(target, dm, vector, level);

	trace_vapicvm_apic_accept_irq(target->id, dm, level, vector, accepted);
	return accepted;
}

/* ------------------------------------------------------------------ */
/* Routing: which APICs a destination names                             */
/* ------------------------------------------------------------------ */

static bool lapic_match_dest(struct vapicvm_vcpu *vcpu, u32 dest, bool logical, bool x2_format)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u32 ldr = lapic_reg_read(apic, LAPIC_LDR);

	if (lapic_is_x2apic(vcpu)) {
		if (!x2_format)
			dest = dest == XAPIC_BROADCAST ? X2APIC_BROADCAST : dest;
		if (dest == X2APIC_BROADCAST)
			return true;
		if (!logical)
			return dest == lapic_reg_read(apic, LAPIC_ID);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == XAPIC_BROADCAST)
		return true;
	if (!logical)
		return dest == lapic_reg_read(apic, LAPIC_ID) >> 24;
	if ((lapic_reg_read(apic, LAPIC_DFR) >> 28) == 0xf)	/* flat model */
		return (ldr >> 24) & dest;
	return (dest >> 4) == (ldr >> 28) && (dest & (ldr >> 24) & 0xf);	/* cluster */
}

/*
 * Send an interrupt message as an ICR write (or an MSI) describes it.
 * Lowest-priority delivery picks, among the destinations, the APIC with
 * the lowest TPR (ties: the lowest vCPU index), a choice the SDM allows.
 * Returns how many APICs accepted it.
 */
int lapic_route(struct vapicvm_vm *vm, struct vapicvm_vcpu *src, u32 icr, u32 dest,
		bool x2_format)
{
	u32 shorthand = icr & LAPIC_SHORT_MASK, dm = icr & LAPIC_DM_MASK;
	bool logical = icr & LAPIC_DEST_LOGICAL;
	/*
	 * Only an MSI can be level-triggered: the ICR's trigger mode is for
	 * INIT level de-assert alone, fixed and lowest-priority IPIs are
	 * edge-triggered (Vol. 3A 11.6.1, Table 11-3).
	 */
	bool level = !src && (icr & LAPIC_INT_LEVELTRIG);
	struct vapicvm_vcpu *lowest = NULL;
	unsigned int i, n = READ_ONCE(vm->nr_vcpus);
	u32 lowest_tpr = ~0U;
	int delivered = 0;

	for (i = 0; i < n; i++) {
		/* Pairs with the release that publishes a new vCPU. */
		struct vapicvm_vcpu *v = smp_load_acquire(&vm->vcpus[i]);
		bool match;

		switch (shorthand) {
		case LAPIC_DEST_SELF:
			match = v == src;
			break;
		case LAPIC_DEST_ALLINC:
			match = true;
			break;
		case LAPIC_DEST_ALLBUT:
			match = v != src;
			break;
		default:
			match = lapic_match_dest(v, dest, logical, x2_format);
		}
		if (!match)
			continue;
		if (dm == LAPIC_DM_LOWEST && shorthand == LAPIC_DEST_NOSHORT) {
			struct vapicvm_lapic *a = to_apic(v);
			u32 tpr = lapic_reg_read(a, LAPIC_TASKPRI) & 0xff;

			if (lapic_is_enabled(v) && lapic_sw_enabled(a) && tpr < lowest_tpr) {
				lowest = v;
				lowest_tpr = tpr;
			}
			continue;
		}
		delivered += lapic_deliver(v, dm, icr & LAPIC_VECTOR_MASK, level);
	}
	if (lowest)
		delivered += lapic_deliver(lowest, LAPIC_DM_FIXED, icr & LAPIC_VECTOR_MASK, level);
	return delivered;
}

/* An MSI's address (Vol. 3A 11.11.1): 0xfeeXXXXX, no extended destination. */
bool lapic_msi_valid(u32 address_lo, u32 address_hi)
{
	return (address_lo & 0xfff00000) == 0xfee00000 && !address_hi;
}

/*
 * Deliver an MSI whose address lapic_msi_valid() accepted: the destination
 * in address bits 19:12, the rest as an ICR write would say it.  Any
 * context; returns how many APICs accepted it.
 */
int lapic_deliver_msi(struct vapicvm_vm *vm, u32 address_lo, u32 data)
{
	u32 dest = (address_lo >> 12) & 0xff;
	u32 icr = (data & (LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_INT_LEVELTRIG)) |
		  LAPIC_INT_ASSERT;

	if (address_lo & BIT(2))
		icr |= LAPIC_DEST_LOGICAL;
	/* Redirection hint with logical destination: lowest priority. */
	if ((address_lo & BIT(3)) && (icr & LAPIC_DEST_LOGICAL) &&
	    (icr & LAPIC_DM_MASK) == LAPIC_DM_FIXED)
		icr |= LAPIC_DM_LOWEST;
	return lapic_route(vm, NULL, icr, dest, false);
}

/* IPI counters by delivery mode and by destination. */
static void lapic_count_ipi(struct vapicvm_vcpu *vcpu, u32 icr, u32 dest, bool x2)
{
	u32 shorthand = icr & LAPIC_SHORT_MASK;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_SENT);
	switch (icr & LAPIC_DM_MASK) {
	case LAPIC_DM_FIXED:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_FIXED);
		break;
	case LAPIC_DM_LOWEST:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_LOWEST_PRIORITY);
		break;
	case LAPIC_DM_NMI:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_NMI);
		break;
	case LAPIC_DM_INIT:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_INIT);
		break;
	case LAPIC_DM_STARTUP:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_SIPI);
		break;
	}
	if (shorthand == LAPIC_DEST_SELF)
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_SELF);
	else if (shorthand != LAPIC_DEST_NOSHORT ||
		 (!(icr & LAPIC_DEST_LOGICAL) && dest == (x2 ? 0xffffffffU : 0xff)))
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_BROADCAST);
}

static void lapic_send_ipi(struct vapicvm_vcpu *vcpu, u32 icr, u32 dest)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u32 dm = icr & LAPIC_DM_MASK;

	/* INIT level de-assert: a legacy no-op (Vol. 3A 11.6.1). */
	if (dm == LAPIC_DM_INIT && !(icr & LAPIC_INT_ASSERT) && (icr & LAPIC_INT_LEVELTRIG)) {
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IPI_SENT);
		return;
	}
	lapic_count_ipi(vcpu, icr, dest, lapic_is_x2apic(vcpu));
	trace_vapicvm_apic_ipi(vcpu->id, icr, dest);
	if ((dm == LAPIC_DM_FIXED || dm == LAPIC_DM_LOWEST) && (icr & LAPIC_VECTOR_MASK) < 16) {
		lapic_report_error(apic, LAPIC_ESR_SEND_ILLEGAL);
		return;
	}
	lapic_route(vcpu->vm, vcpu, icr, dest, lapic_is_x2apic(vcpu));
}

/* ------------------------------------------------------------------ */
/* Register reads and writes                                           */
/* ------------------------------------------------------------------ */

static u32 lapic_read_reg(struct vapicvm_vcpu *vcpu, unsigned int off)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	switch (off) {
	case LAPIC_PROCPRI:
		return lapic_ppr(apic);
	case LAPIC_TMCCT:
		return lapic_timer_current_count(apic);
	case LAPIC_EOI:
	case LAPIC_ARBPRI:
	case LAPIC_RRR:
		return 0;
	default:
		return lapic_reg_read(apic, off);
	}
}

static bool xapic_reg_readable(unsigned int off)
{
	switch (off) {
	case LAPIC_ID: case LAPIC_LVR: case LAPIC_TASKPRI: case LAPIC_ARBPRI:
	case LAPIC_PROCPRI: case LAPIC_EOI: case LAPIC_RRR: case LAPIC_LDR: case LAPIC_DFR:
	case LAPIC_SPIV: case LAPIC_ESR: case LAPIC_ICR: case LAPIC_ICR2:
	case LAPIC_LVTT: case LAPIC_LVTTHMR: case LAPIC_LVTPC: case LAPIC_LVT0: case LAPIC_LVT1:
	case LAPIC_LVTERR: case LAPIC_TMICT: case LAPIC_TMCCT: case LAPIC_TDCR:
		return true;
	default:
		return off >= LAPIC_ISR && off < LAPIC_ESR;
	}
}

/*
 * The bits each LVT entry has (Vol. 3A Figure 11-8), read-only ones
 * (delivery status, bit 12; remote IRR, bit 14) included: x2APIC writes
 * to any other bit #GP (11.12.1.3).
 */
static const u32 lvt_valid[] = {
	[0] = 0x000710ff | LAPIC_LVT_MASKED,	/* timer: vector, status, mask, mode */
	[1] = 0x000117ff,			/* thermal */
	[2] = 0x000117ff,			/* perf */
	[3] = 0x0001f7ff,			/* LINT0 */
	[4] = 0x0001f7ff,			/* LINT1 */
	[5] = 0x000110ff,			/* error */
};

#define LVT_READ_ONLY		(LAPIC_SEND_PENDING | LAPIC_LVT_REMOTE_IRR)

/*
 * SVR: vector and APIC enable.  Bit 9 (focus checking) is reserved from
 * the Pentium 4 on, bit 12 (EOI-broadcast suppression) because the
 * version register does not offer it (Vol. 3A 11.9, Figure 11-23).
 */
#define SVR_VALID		(0xff | LAPIC_SPIV_ENABLED)

static void lapic_write_lvt(struct vapicvm_vcpu *vcpu, unsigned int off, u32 val)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned int idx = (off - LAPIC_LVTT) >> 4;

	val &= lvt_valid[idx] & ~LVT_READ_ONLY;
	if (!lapic_sw_enabled(apic))
		val |= LAPIC_LVT_MASKED;	/* Vol. 3A 11.4.7.2 */
	if (off == LAPIC_LVTT && (val & LAPIC_TIMER_MODE_MASK) == (3U << 17))
		val &= ~LAPIC_TIMER_MODE_MASK;	/* reserved mode: keep one-shot */
	lapic_reg_write(apic, off, val);
	if (off == LAPIC_LVTT)
		lapic_timer_lvtt_written(apic);
}

static void lapic_set_svr(struct vapicvm_vcpu *vcpu, u32 val)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned int off;

	val &= SVR_VALID;
	lapic_reg_write(apic, LAPIC_SPIV, val);
	if (!(val & LAPIC_SPIV_ENABLED)) {
		/* Software disable masks every LVT entry. */
		for (off = LAPIC_LVTT; off <= LAPIC_LVTERR; off += 0x10)
			lapic_reg_write(apic, off, lapic_reg_read(apic, off) | LAPIC_LVT_MASKED);
		lapic_timer_stop(apic);
	}
}

/* A write to a register, in either mode; off is a register offset. */
static int lapic_write_reg(struct vapicvm_vcpu *vcpu, unsigned int off, u32 val)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	bool x2 = lapic_is_x2apic(vcpu);

	switch (off) {
	case LAPIC_ID:
		if (!x2)
			lapic_reg_write(apic, LAPIC_ID, val & 0xff000000);
		break;
	case LAPIC_TASKPRI:
		lapic_reg_write(apic, LAPIC_TASKPRI, val & 0xff);
		lapic_update_ppr(apic);
		break;
	case LAPIC_EOI:
		lapic_eoi(vcpu);
		break;
	case LAPIC_LDR:
		if (!x2)
			lapic_reg_write(apic, LAPIC_LDR, val & 0xff000000);
		break;
	case LAPIC_DFR:
		if (!x2)
			lapic_reg_write(apic, LAPIC_DFR, val | 0x0fffffff);
		break;
	case LAPIC_SPIV:
		lapic_set_svr(vcpu, val);
		break;
	case LAPIC_ESR:
		/* A write makes the errors since the previous write readable. */
		lapic_reg_write(apic, LAPIC_ESR, atomic_xchg(&apic->esr_pending, 0));
		break;
	case LAPIC_ICR:
		lapic_reg_write(apic, LAPIC_ICR, val & ~LAPIC_SEND_PENDING);
		if (!x2)
			lapic_send_ipi(vcpu, val, lapic_reg_read(apic, LAPIC_ICR2) >> 24);
		break;
	case LAPIC_ICR2:
		if (!x2)
			lapic_reg_write(apic, LAPIC_ICR2, val & 0xff000000);
		break;
	case LAPIC_LVTT: case LAPIC_LVTTHMR: case LAPIC_LVTPC:
	case LAPIC_LVT0: case LAPIC_LVT1: case LAPIC_LVTERR:
		lapic_write_lvt(vcpu, off, val);
		break;
	case LAPIC_TMICT:
		/*
		 * Ignored in TSC-deadline mode (Vol. 3A 11.5.4.1), and it reads
		 * 0: an APIC-write trap has already stored the value.
		 */
		if (lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE) {
			lapic_reg_write(apic, LAPIC_TMICT, 0);
			break;
		}
		lapic_reg_write(apic, LAPIC_TMICT, val);
		lapic_timer_start_count(apic, 0);
		break;
	case LAPIC_TDCR:
		lapic_reg_write(apic, LAPIC_TDCR, val & 0xb);
		lapic_timer_tdcr_written(apic);
		break;
	case LAPIC_SELF_IPI:
		if (x2)
			lapic_send_ipi(vcpu, LAPIC_DEST_SELF | (val & LAPIC_VECTOR_MASK), 0);
		break;
	default:
		/* Read-only or reserved: ignored (xAPIC) / refused (x2APIC). */
		return -EINVAL;
	}
	return 0;
}

void lapic_mmio_read(struct vapicvm_vcpu *vcpu, unsigned int off, u32 *val)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_APIC_MMIO_EMULATED);
	*val = 0;
	if (!lapic_is_enabled(vcpu) || lapic_is_x2apic(vcpu))
		return;	/* no xAPIC here: the access reads nothing */
	if ((off & 0xf) || !xapic_reg_readable(off))
		return;
	*val = lapic_read_reg(vcpu, off);
	trace_vapicvm_apic(vcpu->id, false, off, *val);
}

void lapic_mmio_write(struct vapicvm_vcpu *vcpu, unsigned int off, u32 val)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	vcpu_stat_inc(vcpu, VAPICVM_STAT_APIC_MMIO_EMULATED);
	if (!lapic_is_enabled(vcpu) || lapic_is_x2apic(vcpu) || (off & 0xf))
		return;
	trace_vapicvm_apic(vcpu->id, true, off, val);
	if (lapic_write_reg(vcpu, off, val) && !xapic_reg_readable(off))
		lapic_report_error(apic, LAPIC_ESR_ILLEGAL_REG);
}

void lapic_write_trap(struct vapicvm_vcpu *vcpu, unsigned int off)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u32 val = lapic_reg_read(apic, off & ~0xf);

	off &= ~0xf;
	/*
	 * The CPU stored the raw value; the model stores what the register
	 * keeps, so restore the old content first where that matters.
	 */
	if (off == LAPIC_EOI)
		lapic_reg_write(apic, LAPIC_EOI, 0);
	trace_vapicvm_apic(vcpu->id, true, off, val);
	lapic_write_reg(vcpu, off, val);
}

/* x2APIC MSRs 0x800-0x8ff: offset = (msr & 0xff) << 4 (Vol. 3A 11.12.1). */
int lapic_x2apic_read(struct vapicvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned int off = (msr & 0xff) << 4;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_APIC_MSR_EMULATED);
	if (!lapic_is_x2apic(vcpu))
		return 1;	/* #GP */
	switch (off) {
	case LAPIC_EOI: case LAPIC_DFR: case LAPIC_ICR2: case LAPIC_SELF_IPI:
	case LAPIC_ARBPRI: case LAPIC_RRR:
		return 1;
	case LAPIC_ICR:
		*data = lapic_reg_read(apic, LAPIC_ICR) |
			((u64)lapic_reg_read(apic, LAPIC_ICR2) << 32);
		return 0;
	}
	if (!xapic_reg_readable(off))
		return 1;
	*data = lapic_read_reg(vcpu, off);
	trace_vapicvm_apic(vcpu->id, false, off, *data);
	return 0;
}

int lapic_x2apic_write(struct vapicvm_vcpu *vcpu, u32 msr, u64 data)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned int off = (msr & 0xff) << 4;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_APIC_MSR_EMULATED);
	if (!lapic_is_x2apic(vcpu))
		return 1;
	trace_vapicvm_apic(vcpu->id, true, off, data);
	switch (off) {
	case LAPIC_ICR:
		lapic_reg_write(apic, LAPIC_ICR2, data >> 32);
		lapic_reg_write(apic, LAPIC_ICR, (u32)data & ~LAPIC_SEND_PENDING);
		lapic_send_ipi(vcpu, (u32)data, data >> 32);
		return 0;
	case LAPIC_TASKPRI:
		if (data & ~0xffULL)
			return 1;
		break;
	case LAPIC_EOI:
	case LAPIC_ESR:
		if (data)
			return 1;
		break;
	case LAPIC_SELF_IPI:
		if (data & ~0xffULL)
			return 1;
		break;
	/*
	 * A non-zero write to a reserved bit #GPs (Vol. 3A 11.12.1.3).  KVM
	 * masks these bits instead; the SDM is clear.
	 */
	case LAPIC_SPIV:
		if (data & ~(u64)SVR_VALID)
			return 1;
		break;
	case LAPIC_LVTT: case LAPIC_LVTTHMR: case LAPIC_LVTPC:
	case LAPIC_LVT0: case LAPIC_LVT1: case LAPIC_LVTERR:
		if (data & ~(u64)lvt_valid[(off - LAPIC_LVTT) >> 4])
			return 1;
		break;
	case LAPIC_TDCR:
		if (data & ~0xbULL)
			return 1;
		break;
	case LAPIC_TMICT:
		if (data >> 32)
			return 1;
		break;
	default:
		return 1;	/* read-only or reserved: #GP */
	}
	return lapic_write_reg(vcpu, off, data) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* IA32_APIC_BASE and the mode transitions (Vol. 3A Figure 11-27)       */
/* ------------------------------------------------------------------ */

u64 lapic_get_base(struct vapicvm_vcpu *vcpu)
{
	return READ_ONCE(to_apic(vcpu)->base_msr);
}

static void lapic_reset_registers(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned int off;

	lapic_timer_stop(apic);
	memset(apic->regs, 0, PAGE_SIZE);
	lapic_reg_write(apic, LAPIC_ID, vcpu->id << 24);
	lapic_reg_write(apic, LAPIC_LVR, APIC_VERSION | (APIC_MAX_LVT << 16));
	lapic_reg_write(apic, LAPIC_DFR, 0xffffffff);
	lapic_reg_write(apic, LAPIC_SPIV, 0xff);
	for (off = LAPIC_LVTT; off <= LAPIC_LVTERR; off += 0x10)
		lapic_reg_write(apic, off, LAPIC_LVT_MASKED);
	apic->tsc_deadline = 0;
	lapic_timer_sync_config(apic);
	atomic_set(&apic->esr_pending, 0);
	memset(apic->pi->pir, 0, sizeof(apic->pi->pir));
	memset(apic->pir_tmr, 0, sizeof(apic->pir_tmr));
	clear_bit(PI_ON, (unsigned long *)&apic->pi->control);
}

/* enum vapicvm_apic_mode of an IA32_APIC_BASE value. */
u32 lapic_mode_of(u64 base)
{
	if (!(base & LAPIC_BASE_EN))
		return VAPICVM_APIC_MODE_DISABLED;
	return base & LAPIC_BASE_EXTD ? VAPICVM_APIC_MODE_X2APIC : VAPICVM_APIC_MODE_XAPIC;
}

int lapic_set_base(struct vapicvm_vcpu *vcpu, u64 value, bool host)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u64 old = apic->base_msr;
	u64 reserved = ~(LAPIC_BASE_ADDR_MASK | LAPIC_BASE_BSP | LAPIC_BASE_EXTD | LAPIC_BASE_EN) |
		       ~GENMASK_ULL(boot_cpu_data.x86_phys_bits - 1, 0);
	bool was_en = old & LAPIC_BASE_EN, was_x2 = was_en && (old & LAPIC_BASE_EXTD);
	bool en = value & LAPIC_BASE_EN, x2 = en && (value & LAPIC_BASE_EXTD);

	if (value & reserved)
		return -EINVAL;
	if (!en && (value & LAPIC_BASE_EXTD))
		return -EINVAL;		/* EN=0, EXTD=1 is invalid */
	if (!host && ((was_x2 && en && !x2) || (!was_en && x2)))
		return -EINVAL;		/* x2APIC -> xAPIC and disabled -> x2APIC */
	if (value == old)
		return 0;

	if (!en) {
		lapic_timer_stop(apic);
	} else if (!was_en) {
		/* Re-enabled: the APIC comes back as after reset. */
		lapic_reset_registers(vcpu);
	}
	if (x2 && !was_x2) {
		lapic_reg_write(apic, LAPIC_ID, vcpu->id);
		lapic_reg_write(apic, LAPIC_LDR, x2apic_ldr(vcpu->id));
		lapic_reg_write(apic, LAPIC_DFR, 0);
		lapic_reg_write(apic, LAPIC_ICR2, 0);
	} else if (!x2 && was_x2) {
		lapic_reg_write(apic, LAPIC_ID, vcpu->id << 24);
		lapic_reg_write(apic, LAPIC_LDR, 0);
		lapic_reg_write(apic, LAPIC_DFR, 0xffffffff);
	}
	WRITE_ONCE(apic->base_msr, value);
	apic->tier->base_changed(vcpu, old, value);
	if (was_en != en || was_x2 != x2)
		vapicvm_event_vcpu(vcpu, VAPICVM_EVENT_APIC_MODE, lapic_mode_of(old),
				   lapic_mode_of(value));
	return 0;
}

u64 lapic_get_cr8(struct vapicvm_vcpu *vcpu)
{
	return (lapic_reg_read(to_apic(vcpu), LAPIC_TASKPRI) >> 4) & 0xf;
}

void lapic_set_cr8(struct vapicvm_vcpu *vcpu, u64 cr8)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	lapic_reg_write(apic, LAPIC_TASKPRI, (cr8 & 0xf) << 4);
	lapic_update_ppr(apic);
}

/* ------------------------------------------------------------------ */
/* Events taken by the vCPU's own thread                               */
/* ------------------------------------------------------------------ */

void lapic_take_events(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	if (likely(!READ_ONCE(apic->events)))
		return;
	if (test_and_clear_bit(LAPIC_EV_TIMER, &apic->events))
		lapic_timer_expired(vcpu);
	if (test_and_clear_bit(LAPIC_EV_INIT, &apic->events)) {
		vcpu_reset(vcpu, true);
		lapic_reset(vcpu, true);
		WRITE_ONCE(vcpu->mp_state, (apic->base_msr & LAPIC_BASE_BSP) ?
			   VAPICVM_MP_STATE_RUNNABLE : VAPICVM_MP_STATE_INIT_RECEIVED);
	}
	if (test_and_clear_bit(LAPIC_EV_SIPI, &apic->events) &&
	    READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_INIT_RECEIVED) {
		vcpu_start_at_sipi_vector(vcpu, READ_ONCE(apic->sipi_vector));
		WRITE_ONCE(vcpu->mp_state, VAPICVM_MP_STATE_RUNNABLE);
	}
	if (test_and_clear_bit(LAPIC_EV_NMI, &apic->events)) {
		/*
		 * Two NMIs sent at about the same time are both delivered: the
		 * first goes in, the second is latched while its handler runs
		 * (SDM 6.7.1).  Injection drops to one while NMIs are blocked.
		 */
		vcpu->nmi_pending = min(vcpu->nmi_pending + atomic_xchg(&apic->nmi_queued, 0), 2);
		if (READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_HALTED)
			WRITE_ONCE(vcpu->mp_state, VAPICVM_MP_STATE_RUNNABLE);
	}
	if (test_bit(LAPIC_EV_EXTINT, &apic->events)) {
		spin_lock_irq(&apic->extint_lock);
		if (test_and_clear_bit(LAPIC_EV_EXTINT, &apic->events)) {
			vcpu->extint_vector = apic->extint_vector;
			WRITE_ONCE(vcpu->extint_pending, true);
		}
		spin_unlock_irq(&apic->extint_lock);
	}
}

/* Is there an interrupt the APIC would present to the CPU now? */
bool lapic_has_pending(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	int irr = lapic_highest_irr(apic);

	return irr >= 0 && (irr & 0xf0) > (lapic_ppr(apic) & 0xf0);
}

/* May a halted (or about to halt) vCPU run?  Called on the vCPU's thread. */
bool lapic_can_wake(struct vapicvm_vcpu *vcpu, bool interrupts_enabled)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	if (vcpu->nmi_pending ||
	    (READ_ONCE(apic->events) & (BIT(LAPIC_EV_NMI) | BIT(LAPIC_EV_INIT))))
		return true;
	if (!interrupts_enabled)
		return false;
	if (vcpu->extint_pending || test_bit(LAPIC_EV_EXTINT, &apic->events))
		return true;
	lapic_sync_pir(vcpu);
	return lapic_has_pending(vcpu);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

void lapic_reset(struct vapicvm_vcpu *vcpu, bool init)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u64 base = init ? apic->base_msr :
		   LAPIC_DEFAULT_BASE | LAPIC_BASE_EN | (vcpu->id == 0 ? LAPIC_BASE_BSP : 0);

	lapic_reset_registers(vcpu);
	vcpu->extint_pending = false;
	vcpu->nmi_pending = 0;
	atomic_set(&apic->nmi_queued, 0);
	/* INIT keeps the base and the mode; the registers reset. */
	if ((base & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) == (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) {
		lapic_reg_write(apic, LAPIC_ID, vcpu->id);
		lapic_reg_write(apic, LAPIC_LDR, x2apic_ldr(vcpu->id));
		lapic_reg_write(apic, LAPIC_DFR, 0);
	}
	if (base != apic->base_msr) {
		u64 old = apic->base_msr;

		WRITE_ONCE(apic->base_msr, base);
		apic->tier->base_changed(vcpu, old, base);
	}
	lapic_irr_isr_changed(apic);
	lapic_tmr_changed(apic);
}

int lapic_create(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);

	if (!apic)
		return -ENOMEM;
	apic->vcpu = vcpu;
	apic->regs = (u8 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	/* kmalloc aligns power-of-two sizes naturally: 64 bytes, as the SDM wants. */
	apic->pi = kzalloc(sizeof(*apic->pi), GFP_KERNEL_ACCOUNT);
	if (!apic->regs || !apic->pi) {
		free_page((unsigned long)apic->regs);
		kfree(apic->pi);
		kfree(apic);
		return -ENOMEM;
	}
	spin_lock_init(&apic->extint_lock);
	lapic_timer_init(apic);
	apic->tier = apicv_select_tier(vcpu->vm->apicv);
	vcpu->lapic = apic;
	apic->base_msr = 0;
	lapic_reset(vcpu, false);
	return 0;
}

void lapic_destroy(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	free_page((unsigned long)apic->regs);
	kfree(apic->pi);
	kfree(apic);
	vcpu->lapic = NULL;
}

/* ------------------------------------------------------------------ */
/* GET/SET_LAPIC and LINT pulses                                        */
/* ------------------------------------------------------------------ */

/* The VMCS is loaded: the tier adds what only the CPU holds. */
void lapic_get_state(struct vapicvm_vcpu *vcpu, struct vapicvm_lapic_state *s)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);

	lapic_sync_pir(vcpu);
	memcpy(s->regs, apic->regs, VAPICVM_APIC_REG_SIZE);
	*(u32 *)(s->regs + LAPIC_TMCCT) = lapic_timer_current_count(apic);
	*(u32 *)(s->regs + LAPIC_PROCPRI) = lapic_ppr(apic);
	s->apic_base = apic->base_msr;
	s->intr_status = apic->tier->intr_status ? apic->tier->intr_status(vcpu) : 0;
	s->tsc_deadline = lapic_get_tsc_deadline(vcpu);
	s->timer_remaining_ns = lapic_timer_remaining_ns(apic);
}

int lapic_set_state(struct vapicvm_vcpu *vcpu, const struct vapicvm_lapic_state *s)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	int r;

	r = lapic_set_base(vcpu, s->apic_base, true);
	if (r)
		return r;
	lapic_timer_stop(apic);
	memcpy(apic->regs, s->regs, VAPICVM_APIC_REG_SIZE);
	/* Fields the model derives or keeps itself. */
	lapic_reg_write(apic, LAPIC_LVR, APIC_VERSION | (APIC_MAX_LVT << 16));
	if (lapic_is_x2apic(vcpu)) {
		lapic_reg_write(apic, LAPIC_ID, vcpu->id);
		lapic_reg_write(apic, LAPIC_LDR, x2apic_ldr(vcpu->id));
	}
	lapic_reg_write(apic, LAPIC_TMCCT, 0);
	lapic_update_ppr(apic);
	lapic_timer_sync_config(apic);
	if (lapic_timer_mode(apic) == LAPIC_TIMER_TSCDEADLINE)
		lapic_set_tsc_deadline(vcpu, s->tsc_deadline);
	else
		lapic_timer_start_count(apic, s->timer_remaining_ns ?: LAPIC_TIMER_EXPIRED);
	lapic_irr_isr_changed(apic);
	lapic_tmr_changed(apic);
	return 0;
}

long lapic_pulse_lint(struct vapicvm_vcpu *vcpu, u32 pin, u8 vector)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	u32 lvt;

	/* A disabled APIC passes LINT0 through as INTR and LINT1 as NMI. */
	if (!lapic_is_enabled(vcpu)) {
		if (pin == VAPICVM_INTERRUPT_LINT1) {
			lapic_queue_nmi(vcpu);
			return 0;
		}
		return lapic_deliver_extint(vcpu, vector);
	}
	lvt = lapic_reg_read(apic, pin == VAPICVM_INTERRUPT_LINT0 ? LAPIC_LVT0 : LAPIC_LVT1);
	if (lvt & LAPIC_LVT_MASKED)
		return -EAGAIN;
	switch (lvt & LAPIC_DM_MASK) {
	case LAPIC_DM_EXTINT:
		return lapic_deliver_extint(vcpu, vector);
	case LAPIC_DM_NMI:
		lapic_deliver(vcpu, LAPIC_DM_NMI, 0, false);
		return 0;
	case LAPIC_DM_FIXED:
		lapic_post(vcpu, lvt & LAPIC_VECTOR_MASK, lvt & LAPIC_INT_LEVELTRIG);
		return 0;
	default:
		return -EAGAIN;
	}
}

int lapic_deliver_extint(struct vapicvm_vcpu *vcpu, u8 vector)
{
	struct vapicvm_lapic *apic = to_apic(vcpu);
	unsigned long flags;

	spin_lock_irqsave(&apic->extint_lock, flags);
	if (test_bit(LAPIC_EV_EXTINT, &apic->events) || READ_ONCE(vcpu->extint_pending)) {
		spin_unlock_irqrestore(&apic->extint_lock, flags);
		return -EBUSY;	/* the previous one was not taken yet */
	}
	WRITE_ONCE(apic->extint_vector, vector);
	set_bit(LAPIC_EV_EXTINT, &apic->events);
	spin_unlock_irqrestore(&apic->extint_lock, flags);
	vcpu_kick(vcpu);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel local APIC: one hardware-independent model (lapic.c, with
 * its timer in lapic_timer.c) and APIC-virtualization tiers layered on it
 * (apicv.c).  The model never touches the VMCS: where the CPU holds part of
 * the APIC's state, or could deliver an interrupt itself, the model calls
 * its tier's hooks (struct apicv_tier).
 *
 * The model keeps its registers in one page laid out as the xAPIC register
 * page (offset = MMIO offset).  That page is also the vCPU's virtual-APIC
 * page whenever the VM uses the TPR shadow: the CPU's virtual TPR, virtual
 * IRR/ISR and virtual PPR are then the model's own registers, so the model
 * and the hardware never disagree and nothing is copied.
 *
 * Interrupts from anywhere but the vCPU's own thread (other vCPUs, timers,
 * userspace MSIs) are posted: a bit in the posted-interrupt request bitmap
 * (PIR) plus the outstanding-notification bit, then a notification.  With
 * the posted-interrupt tier the CPU merges the PIR itself while the guest
 * runs; in every other tier the notification is a kick and the vCPU merges
 * the PIR before its next entry.  Only the vCPU's thread writes IRR/ISR,
 * and what that thread raises itself while it runs the vCPU (a timer
 * expiry, a self-IPI) goes straight into IRR.
 */
#ifndef VAPICVM_LAPIC_H
#define VAPICVM_LAPIC_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct vapicvm_vcpu;
struct vapicvm_vm;
struct vapicvm_lapic_state;

#define LAPIC_DEFAULT_BASE		0xfee00000ULL
#define LAPIC_POSTED_INTR_VECTOR	0xf2	/* the host's POSTED_INTR_VECTOR */

/* Register offsets (Vol. 3A Table 11-1) */
#define LAPIC_ID			0x020
#define LAPIC_LVR		0x030
#define LAPIC_TASKPRI		0x080
#define LAPIC_ARBPRI		0x090
#define LAPIC_PROCPRI		0x0a0
#define LAPIC_EOI		0x0b0
#define LAPIC_RRR		0x0c0
#define LAPIC_LDR		0x0d0
#define LAPIC_DFR		0x0e0
#define LAPIC_SPIV		0x0f0
#define LAPIC_ISR		0x100
#define LAPIC_TMR		0x180
#define LAPIC_IRR		0x200
#define LAPIC_ESR		0x280
#define LAPIC_LVT_CMCI		0x2f0
#define LAPIC_ICR		0x300
#define LAPIC_ICR2		0x310
#define LAPIC_LVTT		0x320
#define LAPIC_LVTTHMR		0x330
#define LAPIC_LVTPC		0x340
#define LAPIC_LVT0		0x350
#define LAPIC_LVT1		0x360
#define LAPIC_LVTERR		0x370
#define LAPIC_TMICT		0x380
#define LAPIC_TMCCT		0x390
#define LAPIC_TDCR		0x3e0
#define LAPIC_SELF_IPI		0x3f0	/* x2APIC only */

/* IA32_APIC_BASE */
#define LAPIC_BASE_BSP		BIT_ULL(8)
#define LAPIC_BASE_EXTD		BIT_ULL(10)
#define LAPIC_BASE_EN		BIT_ULL(11)
#define LAPIC_BASE_ADDR_MASK	(~0xfffULL)

/* SVR */
#define LAPIC_SPIV_ENABLED	BIT(8)
#define LAPIC_SPIV_EOI_BCAST_SUPPRESS BIT(12)

/* LVT and ICR fields */
#define LAPIC_VECTOR_MASK	0xff
#define LAPIC_DM_MASK		(7U << 8)
#define LAPIC_DM_FIXED		(0U << 8)
#define LAPIC_DM_LOWEST		BIT(8)
#define LAPIC_DM_SMI		(2U << 8)
#define LAPIC_DM_NMI		(4U << 8)
#define LAPIC_DM_INIT		(5U << 8)
#define LAPIC_DM_STARTUP		(6U << 8)
#define LAPIC_DM_EXTINT		(7U << 8)
#define LAPIC_DEST_LOGICAL	BIT(11)
#define LAPIC_SEND_PENDING	BIT(12)
#define LAPIC_LVT_REMOTE_IRR	BIT(14)
#define LAPIC_INT_LEVELTRIG	BIT(15)
#define LAPIC_INT_ASSERT		BIT(14)
#define LAPIC_LVT_MASKED		BIT(16)
#define LAPIC_SHORT_MASK		(3U << 18)
#define LAPIC_DEST_NOSHORT	(0U << 18)
#define LAPIC_DEST_SELF		BIT(18)
#define LAPIC_DEST_ALLINC	(2U << 18)
#define LAPIC_DEST_ALLBUT	(3U << 18)
#define LAPIC_TIMER_MODE_MASK	(3U << 17)
#define LAPIC_TIMER_ONESHOT	(0U << 17)
#define LAPIC_TIMER_PERIODIC	BIT(17)
#define LAPIC_TIMER_TSCDEADLINE	(2U << 17)

/* ESR bits */
#define LAPIC_ESR_SEND_ILLEGAL	BIT(5)
#define LAPIC_ESR_RECV_ILLEGAL	BIT(6)
#define LAPIC_ESR_ILLEGAL_REG	BIT(7)

/* Posted-interrupt descriptor (Vol. 3C 30.6): 64 bytes, 64-byte aligned. */
struct vapicvm_pi_desc {
	u32 pir[8];
	u32 control;		/* bit 0: ON (outstanding notification); bit 1: SN */
	u32 rsvd0;
	u32 ndst_nv;		/* unused by vapicvm: the CPU reads NV from the VMCS */
	u32 rsvd[5];
} __aligned(64);

#define PI_ON			0

struct apicv_tier;

struct vapicvm_lapic {
	struct vapicvm_vcpu *vcpu;
	u8 *regs;			/* the register page, see above */
	u64 base_msr;			/* IA32_APIC_BASE */
	const struct apicv_tier *tier;	/* how the CPU accelerates this model */

	struct vapicvm_pi_desc *pi;		/* posted interrupts, every tier */
	unsigned long pir_tmr[4];	/* level-triggered posted vectors */

	/* Events delivered by others, taken by the vCPU's thread. */
	unsigned long events;		/* LAPIC_EV_* bits */
	u8 sipi_vector;
	u8 extint_vector;
	spinlock_t extint_lock;		/* one ExtINT in flight at a time */
	atomic_t esr_pending;		/* errors since the last ESR write */

	/* Timer (lapic_timer.c). */
	struct hrtimer timer;
	u64 timer_period_ns;		/* one-shot/periodic: the count's length; 0 stopped */
	u32 timer_mode_seen;		/* LVTT mode and TDCR divisor the count ran with */
	u64 timer_divide_seen;
	u64 tsc_deadline;
	/*
	 * TSC-deadline mode on the VMX-preemption timer: usable is fixed at
	 * creation; armed means tsc_deadline is watched by the VMX-preemption
	 * timer on every entry (run.c programs it) and no hrtimer is queued
	 * (owned by the vCPU's thread).
	 */
	bool hv_timer_usable;
	bool hv_timer_armed;
	/*
	 * The hrtimer may be queued or running; false means it is neither.
	 * Set when it is started, cleared only by the vCPU's owner once a
	 * cancel proved it idle: the TSC-deadline fastpath's test, cheaper
	 * than hrtimer_active().
	 */
	bool timer_maybe_queued;
	/*
	 * The VMX-preemption timer expires this many TSC ticks before the
	 * deadline, so that the exit and its handling overlap the time still
	 * to wait; the interrupt is then held until the deadline before entry
	 * (expired_deadline, 0 if none).  Adapts per vCPU (timer_advance_ns).
	 */
	u32 timer_advance;
	bool timer_advance_adaptive;
	u64 expired_deadline;
	/*
	 * While armed: the guest TSC the VMX-preemption timer watches (the
	 * TSC deadline, or a one-shot/periodic count's expiry) and, for a
	 * count, that expiry in host time (TMCCT is read from it).
	 */
	u64 hv_deadline;
	ktime_t count_expires;

	/* NMIs sent and not yet taken by the vCPU's thread (LAPIC_EV_NMI). */
	atomic_t nmi_queued;

	/*
	 * The tier's own state (apicv.c only): what it last wrote to the
	 * VMCS, so that unchanged values are not rewritten.
	 */
	struct {
		bool x2apic_virt;	/* "virtualize x2APIC mode" on now */
		bool apic_access_virt;	/* "virtualize APIC accesses" on now */
		u64 eoi_exit_bitmap[4];
		u32 tpr_threshold;
		bool intr_status_dirty;	/* RVI/SVI must be recomputed */
		u8 rvi_raise;		/* else RVI must be at least this */
	} hw;
};

#define LAPIC_EV_INIT		0
#define LAPIC_EV_SIPI		1
#define LAPIC_EV_NMI		2
#define LAPIC_EV_EXTINT		3
#define LAPIC_EV_TIMER		4

static inline u32 lapic_reg_read(struct vapicvm_lapic *apic, unsigned int off)
{
	return *(u32 *)(apic->regs + off);
}

static inline void lapic_reg_write(struct vapicvm_lapic *apic, unsigned int off, u32 val)
{
	*(u32 *)(apic->regs + off) = val;
}

/* Software-enabled: SVR bit 8 (Vol. 3A 11.4.7.2). */
static inline bool lapic_sw_enabled(struct vapicvm_lapic *apic)
{
	return lapic_reg_read(apic, LAPIC_SPIV) & LAPIC_SPIV_ENABLED;
}

/* Lifetime. */
int lapic_create(struct vapicvm_vcpu *vcpu);
void lapic_destroy(struct vapicvm_vcpu *vcpu);
void lapic_reset(struct vapicvm_vcpu *vcpu, bool init);

/* Architectural state. */
u32 lapic_id(struct vapicvm_vcpu *vcpu);
bool lapic_is_enabled(struct vapicvm_vcpu *vcpu);
bool lapic_is_x2apic(struct vapicvm_vcpu *vcpu);
u64 lapic_get_base(struct vapicvm_vcpu *vcpu);
/* enum vapicvm_apic_mode of an IA32_APIC_BASE value. */
u32 lapic_mode_of(u64 base);
int lapic_set_base(struct vapicvm_vcpu *vcpu, u64 value, bool host);
u64 lapic_get_cr8(struct vapicvm_vcpu *vcpu);
void lapic_set_cr8(struct vapicvm_vcpu *vcpu, u64 cr8);
/* GET/SET_LAPIC on kernel copies (the ioctl layer copies and validates). */
void lapic_get_state(struct vapicvm_vcpu *vcpu, struct vapicvm_lapic_state *s);
int lapic_set_state(struct vapicvm_vcpu *vcpu, const struct vapicvm_lapic_state *s);

/* Register accesses the CPU did not virtualize. */
void lapic_mmio_read(struct vapicvm_vcpu *vcpu, unsigned int off, u32 *val);
void lapic_mmio_write(struct vapicvm_vcpu *vcpu, unsigned int off, u32 val);
/* x2APIC MSRs: 0, or 1 for #GP. */
int lapic_x2apic_read(struct vapicvm_vcpu *vcpu, u32 msr, u64 *data);
int lapic_x2apic_write(struct vapicvm_vcpu *vcpu, u32 msr, u64 data);
/* A write the CPU already stored in the page (APIC-write exit). */
void lapic_write_trap(struct vapicvm_vcpu *vcpu, unsigned int off);
/* An EOI the CPU virtualized and reported (EOI-induced exit). */
void lapic_eoi_induced(struct vapicvm_vcpu *vcpu, u8 vector);
/* VAPICVM_CAP_IOAPIC_EOI: take one level-triggered EOI to report. */
bool lapic_next_ioapic_eoi(struct vapicvm_vcpu *vcpu, u8 *vector);

/* Interrupt delivery. */
void lapic_post(struct vapicvm_vcpu *target, int vector, bool level);
bool lapic_deliver(struct vapicvm_vcpu *target, u32 dm, u8 vector, bool level);
int lapic_route(struct vapicvm_vm *vm, struct vapicvm_vcpu *src, u32 icr_low, u32 dest,
		bool x2apic_dest);
bool lapic_msi_valid(u32 address_lo, u32 address_hi);
/* Any context, even one that may not sleep; returns how many APICs accepted it. */
int lapic_deliver_msi(struct vapicvm_vm *vm, u32 address_lo, u32 data);
int lapic_deliver_extint(struct vapicvm_vcpu *vcpu, u8 vector);
/* VAPICVM_INTERRUPT: a pulse on LINT0/LINT1 as the LVT routes it. */
long lapic_pulse_lint(struct vapicvm_vcpu *vcpu, u32 pin, u8 vector);

/* The run loop's hooks, on the vCPU's thread. */
void lapic_sync_pir(struct vapicvm_vcpu *vcpu);

/* Whether lapic_sync_pir() has anything to merge: the test before every entry. */
static inline bool lapic_pir_pending(struct vapicvm_lapic *apic)
{
	return test_bit(PI_ON, (unsigned long *)&apic->pi->control);
}

bool lapic_has_pending(struct vapicvm_vcpu *vcpu);
bool lapic_can_wake(struct vapicvm_vcpu *vcpu, bool interrupts_enabled);
void lapic_take_events(struct vapicvm_vcpu *vcpu);

/* Priorities, for the tiers that present interrupts by event injection. */
int lapic_highest_irr(struct vapicvm_lapic *apic);
int lapic_highest_isr(struct vapicvm_lapic *apic);
u32 lapic_ppr(struct vapicvm_lapic *apic);
void lapic_accept(struct vapicvm_lapic *apic, int vector);

#endif /* VAPICVM_LAPIC_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* The local APIC timer (lapic_timer.c). */
#ifndef VAPICVM_LAPIC_TIMER_H
#define VAPICVM_LAPIC_TIMER_H

#include <linux/types.h>

struct vapicvm_lapic;
struct vapicvm_vcpu;

/* lapic_timer_start_count(): restore a count that had expired. */
#define LAPIC_TIMER_EXPIRED	U64_MAX

void lapic_timer_init(struct vapicvm_lapic *apic);
void lapic_timer_stop(struct vapicvm_lapic *apic);
void lapic_timer_start_count(struct vapicvm_lapic *apic, u64 remaining_ns);
u64 lapic_timer_divisor(struct vapicvm_lapic *apic);
/* After LVTT or TDCR changed; sync_config after reset and SET_LAPIC. */
void lapic_timer_lvtt_written(struct vapicvm_lapic *apic);
void lapic_timer_tdcr_written(struct vapicvm_lapic *apic);
void lapic_timer_sync_config(struct vapicvm_lapic *apic);
/* LVTT bits 18:17: LAPIC_TIMER_ONESHOT, _PERIODIC or _TSCDEADLINE. */
u32 lapic_timer_mode(struct vapicvm_lapic *apic);
/* TMCCT: the current count of a one-shot or periodic count. */
u32 lapic_timer_current_count(struct vapicvm_lapic *apic);
u64 lapic_timer_remaining_ns(struct vapicvm_lapic *apic);
/* IA32_TSC_DEADLINE; 0 outside TSC-deadline mode. */
u64 lapic_get_tsc_deadline(struct vapicvm_vcpu *vcpu);
void lapic_set_tsc_deadline(struct vapicvm_vcpu *vcpu, u64 deadline);
void lapic_timer_expired(struct vapicvm_vcpu *vcpu);
/* SET_TSC_KHZ: the vCPU's TSC runs at a new rate (tsc.c). */
void lapic_timer_tsc_rate_changed(struct vapicvm_vcpu *vcpu, u32 old_khz);

/* TSC-deadline mode on the VMX-preemption timer (see lapic_timer.c). */
bool lapic_timer_hv_available(void);
void lapic_hv_timer_expired(struct vapicvm_vcpu *vcpu);
void lapic_timer_hold_until_deadline(struct vapicvm_vcpu *vcpu);
bool lapic_tsc_deadline_fastpath_ok(struct vapicvm_vcpu *vcpu);
void lapic_timer_block(struct vapicvm_vcpu *vcpu);
void lapic_timer_unblock(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_LAPIC_TIMER_H */

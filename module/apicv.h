/* SPDX-License-Identifier: GPL-2.0 */
/*
 * APIC-virtualization tiers layered on the local APIC model (apicv.c).
 *
 * The model (lapic.c) calls a tier only through these hooks.  A NULL
 * optional hook is the behaviour of a CPU without the feature: nothing
 * to tell it.
 */
#ifndef VAPICVM_APICV_H
#define VAPICVM_APICV_H

#include <linux/types.h>

struct vapicvm_vcpu;
struct vapicvm_vm;

struct apicv_tier {
	const char *name;
	/* A new vCPU's controls and VMCS fields for this tier (VMCS loaded). */
	void (*setup_vmcs)(struct vapicvm_vcpu *vcpu);
	/* Before VM entry, interrupts off: present pending interrupts. */
	void (*inject_pending)(struct vapicvm_vcpu *vcpu);
	/*
	 * Before VM entry, instead of inject_pending, when an exception or an
	 * NMI goes in: pending interrupts wait for a window.
	 */
	void (*inject_blocked)(struct vapicvm_vcpu *vcpu);
	/* A vCPU's PIR has new bits: make it notice (any context). */
	void (*notify)(struct vapicvm_vcpu *target, bool level);
	/* IA32_APIC_BASE changed (any tier: the xAPIC window moved). */
	void (*base_changed)(struct vapicvm_vcpu *vcpu, u64 old, u64 new);
	/* Optional: the model changed IRR or ISR where the CPU holds RVI/SVI. */
	void (*irr_isr_changed)(struct vapicvm_vcpu *vcpu);
	/*
	 * Optional, cheaper: IRR gained vector and nothing else changed, on the
	 * vCPU's thread outside guest mode (else irr_isr_changed is called).
	 */
	void (*irr_raised)(struct vapicvm_vcpu *vcpu, int vector);
	/* Optional: the model changed TMR, which decides EOI exits. */
	void (*tmr_changed)(struct vapicvm_vcpu *vcpu);
	/* Optional: RVI (7:0) and SVI (15:8) as the CPU holds them (VMCS loaded). */
	u16 (*intr_status)(struct vapicvm_vcpu *vcpu);
};

/* The feature table (uapi/linux/vapicvm.h): features whose requirements are missing. */
u32 apicv_features_missing(u32 set);
/* The largest subset of set in which every feature has what it needs. */
u32 apicv_features_closure(u32 set);
/* Feature i of the table (i < apicv_nr_features()): its name, bit and requirements. */
unsigned int apicv_nr_features(void);
const char *apicv_feature_name(unsigned int i, u32 *bit, u32 *requires);
/* The tier of a feature set, "vid+x2apic" or "none", as the library names tiers. */
int apicv_tier_name(char *buf, size_t size, u32 set);
/* The features' names, space-separated, or "none". */
int apicv_features_format(char *buf, size_t size, u32 set);

/* The tier of a VM with these VAPICVM_APICV_* features. */
const struct apicv_tier *apicv_select_tier(u32 apicv);

/* VMCS setup and the run loop's calls, on the vCPU's thread, VMCS loaded. */
void apicv_setup_controls(struct vapicvm_vcpu *vcpu);
void apicv_setup_vmcs(struct vapicvm_vcpu *vcpu);
void apicv_inject_pending(struct vapicvm_vcpu *vcpu);
/* Keep the TPR threshold at or below the TPR, before every entry. */
void apicv_sync_tpr_threshold(struct vapicvm_vcpu *vcpu);
void apicv_inject_blocked(struct vapicvm_vcpu *vcpu);
/* VCPU_REQ_APIC_MODE: controls that follow the APIC's mode and base. */
void apicv_update_mode(struct vapicvm_vcpu *vcpu);
/* VCPU_REQ_EOI_BITMAP: the EOI-exit bitmap from TMR. */
void apicv_update_eoi_exit_bitmap(struct vapicvm_vcpu *vcpu);

/* Guest-physical pages that are some vCPU's enabled xAPIC window. */
bool vm_gpa_is_xapic_window(struct vapicvm_vm *vm, u64 gpa);
bool vm_xapic_window_in(struct vapicvm_vm *vm, u64 gpa, u64 size);
/* An EPT violation in this vCPU's xAPIC window, decoded and emulated. */
bool apicv_mmio_in_range(struct vapicvm_vcpu *vcpu, u64 gpa);
int apicv_emulate_mmio(struct vapicvm_vcpu *vcpu, u64 gpa);

/* Exit handlers (exit.c's table). */
int apicv_handle_tpr_below_threshold(struct vapicvm_vcpu *vcpu);
int apicv_handle_apic_access(struct vapicvm_vcpu *vcpu);
int apicv_handle_eoi_induced(struct vapicvm_vcpu *vcpu);
int apicv_handle_apic_write(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_APICV_H */

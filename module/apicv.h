/* SPDX-License-Identifier: GPL-2.0 */
/* APIC-virtualization tiers layered on the local APIC model; see apicv.c. */
#ifndef VAPICVM_APICV_H
#define VAPICVM_APICV_H

#include <linux/types.h>

struct vapicvm_vcpu;
struct vapicvm_vm;

struct lapic_tier {
	const char *name;
	/* Before VM entry, interrupts off: present pending interrupts. */
	void (*inject_pending)(struct vapicvm_vcpu *vcpu);
	/* Tell a vCPU its PIR has new bits (any context). */
	void (*notify)(struct vapicvm_vcpu *target, bool level);
};

u32 apicv_features_missing(u32 set);
u32 apicv_features_closure(u32 set);
const struct lapic_tier *apicv_select_tier(u32 apicv);
void apicv_update_eoi_exit_bitmap(struct vapicvm_vcpu *vcpu);
void apicv_eoi_done(struct vapicvm_vcpu *vcpu, int vector);
void apicv_reset(struct vapicvm_vcpu *vcpu);
void apicv_sync_to_model(struct vapicvm_vcpu *vcpu);
void apicv_sync_from_model(struct vapicvm_vcpu *vcpu);
u16 apicv_intr_status(struct vapicvm_vcpu *vcpu);
void apicv_base_changed(struct vapicvm_vcpu *vcpu, u64 old, u64 new);
bool vm_gpa_is_xapic_window(struct vapicvm_vm *vm, u64 gpa);

#endif /* VAPICVM_APICV_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_VCPU_VMCS_H
#define VAPICVM_VCPU_VMCS_H

#include <linux/preempt.h>

struct vapicvm_vcpu;

/* Make the vCPU's VMCS current on this CPU, and keep it so across preemption. */
void vapicvm_vcpu_load(struct vapicvm_vcpu *vcpu);
/* VMCLEAR it and stop following the thread. */
void vapicvm_vcpu_put(struct vapicvm_vcpu *vcpu);
/* Every field of a new vCPU's VMCS, then the state after RESET (VMCS loaded). */
void vcpu_setup_vmcs(struct vapicvm_vcpu *vcpu);
/*
 * The controls that follow the vCPU's CPUID: RDTSCP (and RDPID) and INVPCID
 * work only if it offers them, else they are #UD.  VMCS loaded.
 */
void vcpu_update_cpuid_controls(struct vapicvm_vcpu *vcpu);
/*
 * Set or clear bits of the primary or secondary processor-based controls,
 * writing the VMCS only when they change (the VMCS loaded).
 */
void vcpu_set_cpu_ctls(struct vapicvm_vcpu *vcpu, u32 bits, bool on);
void vcpu_set_cpu2_ctls(struct vapicvm_vcpu *vcpu, u32 bits, bool on);
/* The exception bitmap for the vCPU's guest-debug state (the VMCS loaded). */
void vcpu_update_exception_bitmap(struct vapicvm_vcpu *vcpu);
/* For preempt_notifier_init() at creation. */
extern struct preempt_ops vcpu_preempt_ops;

#endif /* VAPICVM_VCPU_VMCS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* The run loop and event injection (run.c). */
#ifndef VAPICVM_RUN_H
#define VAPICVM_RUN_H

#include <linux/types.h>

struct vapicvm_vcpu;

/* VAPICVM_RUN: 0 with the run page filled in, or -errno (-EINTR: a signal). */
int vapicvm_vcpu_run(struct vapicvm_vcpu *vcpu);
/* Queue an exception for the next entry, merging into #DF or a triple fault. */
void vcpu_queue_exception(struct vapicvm_vcpu *vcpu, u8 vector, bool has_error, u32 error);
/* Put back what a VM exit does not restore (MSRs, selectors): on leaving RUN. */
void vcpu_prepare_switch_to_host(struct vapicvm_vcpu *vcpu);
/* Interrupt-window exiting on or off (VMCS loaded). */
void vcpu_set_intr_window(struct vapicvm_vcpu *vcpu, bool on);
/* Whether an external interrupt may be injected now: IF=1, no STI/MOV SS shadow. */
bool vcpu_interrupt_allowed(struct vapicvm_vcpu *vcpu);

/*
 * The exceptions VM entry delivers with an error code (Vol. 3C 26.2.1.3):
 * #CP (21) has one only on processors with CET, which vCPUs do not have.
 */
static inline bool vcpu_exception_has_error_code(u8 vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

static inline void vcpu_inject_gp(struct vapicvm_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, 13, true, 0);
}

static inline void vcpu_inject_ud(struct vapicvm_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, 6, false, 0);
}

#endif /* VAPICVM_RUN_H */

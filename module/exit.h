/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_EXIT_H
#define VAPICVM_EXIT_H

#include <linux/types.h>

struct vapicvm_vcpu;

/* Dispatch the current VM exit: 1 resume, 0 to userspace, -errno. */
int vmx_handle_exit(struct vapicvm_vcpu *vcpu);
void vcpu_set_intr_window(struct vapicvm_vcpu *vcpu, bool on);
bool vcpu_interrupt_allowed(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_EXIT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* GET/SET_VCPU_EVENTS: the vCPU's events in flight (vcpu_events.c). */
#ifndef VAPICVM_VCPU_EVENTS_H
#define VAPICVM_VCPU_EVENTS_H

struct vapicvm_vcpu;

/* Under vcpu->mutex. */
long vcpu_ioctl_get_events(struct vapicvm_vcpu *vcpu, void __user *argp);
long vcpu_ioctl_set_events(struct vapicvm_vcpu *vcpu, void __user *argp);

#endif /* VAPICVM_VCPU_EVENTS_H */

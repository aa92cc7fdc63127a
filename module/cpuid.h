/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_CPUID_H
#define VAPICVM_CPUID_H

#include <linux/types.h>

struct vapicvm_vcpu;

/* The default table a new vCPU starts with: everything vapicvm supports. */
int cpuid_set_default(struct vapicvm_vcpu *vcpu);
long vcpu_ioctl_set_cpuid(struct vapicvm_vcpu *vcpu, void __user *argp);
/* Emulate CPUID for the guest: EAX/ECX in, EAX/EBX/ECX/EDX out. */
void cpuid_emulate(struct vapicvm_vcpu *vcpu);
/* XCR0 bits a guest may enable. */
u64 vcpu_supported_xcr0(void);
/* XCR0 bits this vCPU's CPUID allows. */
u64 vcpu_guest_xcr0_mask(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_CPUID_H */

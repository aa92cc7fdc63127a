/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_CPUID_H
#define VAPICVM_CPUID_H

#include <linux/types.h>
#include <asm/processor.h>

struct vapicvm_vcpu;
struct vapicvm_cpuid_entry;

/* The default table a new vCPU starts with: everything vapicvm supports. */
int cpuid_set_default(struct vapicvm_vcpu *vcpu);
/* SET_CPUID on a kernel copy: 0, -EINVAL for reserved bits, -ENOMEM. */
int cpuid_set_table(struct vapicvm_vcpu *vcpu, struct vapicvm_cpuid_entry *e, u32 n);
/* The table GET_SUPPORTED_CPUID reports: fills e[0..max), returns the count. */
u32 cpuid_get_supported(struct vapicvm_cpuid_entry *e, u32 max);
/* Emulate CPUID for the guest: EAX/ECX in, EAX/EBX/ECX/EDX out. */
void cpuid_emulate(struct vapicvm_vcpu *vcpu);
/* XCR0 bits a guest may enable. */
u64 vcpu_supported_xcr0(void);
/* XCR0 bits this vCPU's CPUID allows. */
u64 vcpu_guest_xcr0_mask(struct vapicvm_vcpu *vcpu);
/* XCR0 as XSETBV or SET_XCRS may set it. */
bool vcpu_xcr0_valid(struct vapicvm_vcpu *vcpu, u64 xcr0);

/* Whether the vCPU's CPUID table sets bit in reg (CPUID_EAX...) of leaf fn, subleaf idx. */
bool cpuid_guest_has(struct vapicvm_vcpu *vcpu, u32 fn, u32 idx, enum cpuid_regs_idx reg, u32 bit);

/* The CPUID bits vapicvm's own code looks at. */
#define CPUID_1_ECX_PCID		BIT(17)
#define CPUID_7_EBX_TSC_ADJUST		BIT(1)
#define CPUID_7_EBX_INVPCID		BIT(10)
#define CPUID_7_ECX_RDPID		BIT(22)
#define CPUID_X1_EDX_NX			BIT(20)
#define CPUID_X1_EDX_RDTSCP		BIT(27)

#endif /* VAPICVM_CPUID_H */

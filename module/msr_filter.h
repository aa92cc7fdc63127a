/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's MSR filter (VAPICVM_SET_MSR_FILTER): which guest RDMSR and
 * WRMSR are allowed (msr_filter.c).
 */
#ifndef VAPICVM_MSR_FILTER_H
#define VAPICVM_MSR_FILTER_H

#include <linux/types.h>

struct vapicvm_vm;
struct vapicvm_vcpu;
struct vapicvm_msr_filter;

int vm_set_msr_filter(struct vapicvm_vm *vm, const struct vapicvm_msr_filter *args);
/* Whether the guest may make this access; any context that may sleep or not. */
bool vm_msr_allowed(struct vapicvm_vm *vm, u32 index, bool write);
void vm_msr_filter_free(struct vapicvm_vm *vm);
/* VCPU_REQ_MSR_FILTER: intercept the passed-through MSRs the filter denies. */
void msr_filter_update_bitmap(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_MSR_FILTER_H */

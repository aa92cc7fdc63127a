/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_MSR_H
#define VAPICVM_MSR_H

#include <linux/types.h>

struct vapicvm_vcpu;

/*
 * Results of MSR accesses: 0 done, MSR_RESULT_GP the guest gets #GP,
 * MSR_RESULT_UNKNOWN an MSR vapicvm does not have (#GP too, unless the VMM
 * takes it: VAPICVM_MSR_EXIT_UNKNOWN), or -errno.
 */
#define MSR_RESULT_GP		1
#define MSR_RESULT_UNKNOWN	2

void msr_bitmap_init(struct vapicvm_vcpu *vcpu);
void msr_bitmap_intercept(struct vapicvm_vcpu *vcpu, u32 msr, bool read, bool write);
int vcpu_get_msr(struct vapicvm_vcpu *vcpu, u32 index, u64 *data, bool host);
/* VAPICVM_GET_MSR_INDEX_LIST: fills up to room entries, returns how many there are. */
unsigned int msr_save_list(u32 *out, unsigned int room);
#define MSR_SAVE_LIST_MAX	32
int vcpu_set_msr(struct vapicvm_vcpu *vcpu, u32 index, u64 data, bool host);

#endif /* VAPICVM_MSR_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The selftest guest image run by KVM (the kernel's kvm_intel) instead of
 * vapicvm: one vCPU in long mode with KVM's in-kernel local APIC, the same
 * memory layout, the same guest code and the same ucalls.  For measuring
 * the same guest operations on both hypervisors in one boot.
 */
#ifndef SELFTEST_KVM_GUEST_H
#define SELFTEST_KVM_GUEST_H

#include <linux/kvm.h>

#include "vapicvm_util.h"

struct kvm_guest {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;		/* guest RAM at GPA 0, VM_MEM_SIZE bytes */
};

/*
 * A KVM VM with the guest image and one vCPU about to call
 * guest_code(arg).  NULL with errno when /dev/kvm does not open (the
 * modules are not loaded) or a KVM ioctl fails.
 */
struct kvm_guest *kvm_guest_create(void *guest_code, uint64_t arg);
void kvm_guest_free(struct kvm_guest *g);
/* KVM_RUN once: 0, or -1 with errno. */
int kvm_guest_run(struct kvm_guest *g);
/* The ucall of the last exit, or UCALL_NONE when it was not one. */
uint64_t kvm_guest_get_ucall(struct kvm_guest *g, struct ucall *uc);

#endif

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

#define KVM_GUEST_MAX_VCPUS	2

struct kvm_guest_vcpu {
	int fd;
	struct kvm_run *run;
};

struct kvm_guest {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	uint8_t *mem;		/* guest RAM at GPA 0, VM_MEM_SIZE bytes */
	struct kvm_guest_vcpu vcpus[KVM_GUEST_MAX_VCPUS];
	unsigned int nr_vcpus;
};

/*
 * A KVM VM with the guest image and vCPU 0 about to call guest_code(arg).
 * NULL with errno when /dev/kvm does not open (the modules are not loaded)
 * or a KVM ioctl fails.
 */
struct kvm_guest *kvm_guest_create(void *guest_code, uint64_t arg);
/*
 * The next vCPU (APIC ID = its index), runnable at once in long mode at
 * guest_code(arg), not waiting for INIT and SIPI: its index, or -1.
 */
int kvm_guest_add_vcpu(struct kvm_guest *g, void *guest_code, uint64_t arg);
void kvm_guest_free(struct kvm_guest *g);
/* KVM_RUN once on vCPU i: 0, or -1 with errno. */
int kvm_guest_run(struct kvm_guest *g, unsigned int i);
/* The ucall of vCPU i's last exit, or UCALL_NONE when it was not one. */
uint64_t kvm_guest_get_ucall(struct kvm_guest *g, unsigned int i, struct ucall *uc);

#endif

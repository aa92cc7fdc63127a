/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vapicvm's core objects: the VM and its vCPUs.  One VM is one file
 * descriptor; each vCPU is another and holds a reference on its VM.
 */
#ifndef VAPICVM_VAPICVM_H
#define VAPICVM_VAPICVM_H

#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>

#include <uapi/linux/vapicvm.h>

#define VAPICVM_MAX_VCPUS	64
#define VAPICVM_MAX_VCPU_ID	255	/* the highest xAPIC physical ID is 0xfe */
#define VAPICVM_MAX_MEMSLOTS	32

struct vapicvm_vm {
	refcount_t users;	/* the VM fd and each vCPU fd */
	struct mutex lock;	/* vCPU creation, memory slots, the EPT */
	u32 apicv;		/* VAPICVM_APICV_* in use */
};

long vapicvm_check_extension(struct vapicvm_vm *vm, unsigned long cap);
int vapicvm_create_vm(const struct vapicvm_create_vm *params);
void vapicvm_vm_put(struct vapicvm_vm *vm);
long vapicvm_get_supported_cpuid(void __user *argp);

int vapicvm_vm_init(void);
void vapicvm_vm_exit(void);

#endif /* VAPICVM_VAPICVM_H */

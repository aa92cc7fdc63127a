// SPDX-License-Identifier: GPL-2.0
/*
 * The VM file descriptor.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "capabilities.h"
#include "vapicvm.h"
#include "vmx_enable.h"

static int apicv_validate(u32 requested)
{
	if (requested & ~VAPICVM_APICV_ALL)
		return -EINVAL;
	/* The SDM's dependencies between the controls (Vol. 3C 26.2.1.1). */
	if ((requested & (VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_REGISTER_VIRT |
			  VAPICVM_APICV_INTR_DELIVERY | VAPICVM_APICV_X2APIC)) &&
	    !(requested & VAPICVM_APICV_TPR_SHADOW))
		return -EINVAL;
	if ((requested & VAPICVM_APICV_REGISTER_VIRT) &&
	    !(requested & VAPICVM_APICV_APIC_ACCESS))
		return -EINVAL;
	if ((requested & VAPICVM_APICV_INTR_DELIVERY) &&
	    !(requested & VAPICVM_APICV_REGISTER_VIRT))
		return -EINVAL;
	if ((requested & VAPICVM_APICV_POSTED_INTR) &&
	    !(requested & VAPICVM_APICV_INTR_DELIVERY))
		return -EINVAL;
	if (requested & ~vmx_caps.apicv_supported)
		return -EOPNOTSUPP;
	return 0;
}

static void vapicvm_vm_free(struct vapicvm_vm *vm)
{
	kfree(vm);
	vmx_put();
}

void vapicvm_vm_put(struct vapicvm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		vapicvm_vm_free(vm);
}

static int vapicvm_vm_release(struct inode *inode, struct file *filp)
{
	vapicvm_vm_put(filp->private_data);
	return 0;
}

static long vapicvm_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct vapicvm_vm *vm = filp->private_data;

	switch (ioctl) {
	case VAPICVM_CHECK_EXTENSION:
		return vapicvm_check_extension(vm, arg);
	case VAPICVM_GET_APICV: {
		struct vapicvm_apicv_info info = {
			.supported = vmx_caps.apicv_supported,
			.enabled = vm->apicv,
		};

		if (copy_to_user((void __user *)arg, &info, sizeof(info)))
			return -EFAULT;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vapicvm_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vapicvm_vm_release,
	.unlocked_ioctl	= vapicvm_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

int vapicvm_create_vm(const struct vapicvm_create_vm *params)
{
	struct vapicvm_vm *vm;
	u32 apicv = vmx_caps.apicv_supported;
	int r, i;

	if (params->flags & ~VAPICVM_VM_FLAGS_ALL)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(params->reserved); i++)
		if (params->reserved[i])
			return -EINVAL;
	if (params->flags & VAPICVM_VM_APICV_MASK) {
		r = apicv_validate(params->apicv);
		if (r)
			return r;
		apicv = params->apicv;
	} else if (params->apicv) {
		return -EINVAL;
	}

	r = vmx_get();
	if (r)
		return r;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		vmx_put();
		return -ENOMEM;
	}
	refcount_set(&vm->users, 1);
	mutex_init(&vm->lock);
	vm->apicv = apicv;

	r = anon_inode_getfd("vapicvm-vm", &vapicvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		vapicvm_vm_free(vm);
	return r;
}

long vapicvm_get_supported_cpuid(void __user *argp)
{
	return -ENOTTY;
}

int vapicvm_vm_init(void)
{
	return 0;
}

void vapicvm_vm_exit(void)
{
}

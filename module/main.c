// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm: module init/exit, the /dev/vapicvm misc device and its system
 * ioctls (API version, capability probing, VM creation).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include <uapi/linux/vapicvm.h>
#include "capabilities.h"
#include "compat.h"
#include "cpuid.h"
#include "guest_debug.h"
#include "lapic_timer.h"
#include "ioeventfd.h"
#include "mitigations.h"
#include "netlink.h"
#include "msr.h"
#include "main.h"
#include "spin.h"
#include "vcpu.h"
#include "irqfd.h"
#include "tsc.h"
#include "vm.h"
#include "vmx_enable.h"

long vapicvm_check_extension(struct vapicvm_vm *vm, unsigned long cap)
{
	switch (cap) {
	case VAPICVM_CAP_USER_MEMORY:
	case VAPICVM_CAP_READONLY_MEM:
	case VAPICVM_CAP_IMMEDIATE_EXIT:
	case VAPICVM_CAP_XSAVE:
	case VAPICVM_CAP_IRQCHIP:
	case VAPICVM_CAP_TSC_DEADLINE:
	case VAPICVM_CAP_X2APIC:
	case VAPICVM_CAP_SIGNAL_MSI:
	case VAPICVM_CAP_EPT:
	case VAPICVM_CAP_UNRESTRICTED_GUEST:
	case VAPICVM_CAP_IOAPIC_EOI:
		return 1;
	case VAPICVM_CAP_NR_MEMSLOTS:
		return VAPICVM_MAX_MEMSLOTS;
	case VAPICVM_CAP_MAX_VCPUS:
		return VAPICVM_MAX_VCPUS;
	case VAPICVM_CAP_MAX_VCPU_ID:
		return VAPICVM_MAX_VCPU_ID;
	case VAPICVM_CAP_APICV:
		/* On a VM fd: what this VM uses; on /dev/vapicvm: what the CPU offers. */
		return vm ? vm->apicv : vmx_caps.apicv_supported;
	case VAPICVM_CAP_VPID:
		return cpu_has_vpid();
	case VAPICVM_CAP_STATS:
		return VAPICVM_STAT_NR;
	case VAPICVM_CAP_VM_STATS:
		return VAPICVM_VM_STAT_NR;
	case VAPICVM_CAP_TSC_KHZ:
		return tsc_khz;
	case VAPICVM_CAP_TSC_CONTROL:
		return vcpu_tsc_scaling_available();
	case VAPICVM_CAP_MEM_PREFAULT:
		return 1;
	case VAPICVM_CAP_PREEMPTION_TIMER:
		return lapic_timer_hv_available();
	case VAPICVM_CAP_IOEVENTFD:
		return VAPICVM_MAX_IOEVENTFDS;
	case VAPICVM_CAP_GSI_ROUTING:
		return VAPICVM_NR_GSIS;
	case VAPICVM_CAP_IRQFD:
		return VAPICVM_MAX_IRQFDS;
	case VAPICVM_CAP_USER_MSR:
		return VAPICVM_MSR_EXIT_ALL;
	case VAPICVM_CAP_DIRTY_LOG:
		return VAPICVM_DIRTY_LOG_ON | (cpu_has_pml() ? VAPICVM_DIRTY_LOG_PML : 0);
	case VAPICVM_CAP_MSR_FILTER:
	case VAPICVM_CAP_VCPU_EVENTS:
	case VAPICVM_CAP_EXIT_HYPERCALL:
	case VAPICVM_CAP_MSR_INDEX_LIST:
	case VAPICVM_CAP_DEBUGREGS:
	case VAPICVM_CAP_GET_CPUID:
		return 1;
	case VAPICVM_CAP_SET_GUEST_DEBUG:
		return guest_debug_supported();
	case VAPICVM_CAP_TRANSLATE:
		return 1;
	case VAPICVM_CAP_GENL:
		return vapicvm_genl_registered();
	case VAPICVM_CAP_XCRS:
		return boot_cpu_has(X86_FEATURE_XSAVE);
	default:
		return 0;
	}
}

/* E2BIG with the number needed when indices has too little room (KVM's way). */
static long vapicvm_get_msr_index_list(void __user *argp)
{
	struct vapicvm_msr_list hdr;
	u32 list[MSR_SAVE_LIST_MAX];
	unsigned int n = msr_save_list(list, ARRAY_SIZE(list));

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	if (hdr.nmsrs < n) {
		hdr.nmsrs = n;
		return copy_to_user(argp, &hdr, sizeof(hdr)) ? -EFAULT : -E2BIG;
	}
	hdr.nmsrs = n;
	if (copy_to_user(argp, &hdr, sizeof(hdr)) ||
	    copy_to_user(argp + sizeof(hdr), list, n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

static long vapicvm_get_supported_cpuid(void __user *argp)
{
	struct vapicvm_cpuid hdr;
	struct vapicvm_cpuid_entry *e;
	long r = 0;
	u32 n;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EINVAL;
	e = kcalloc(VAPICVM_MAX_CPUID_ENTRIES, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	n = cpuid_get_supported(e, VAPICVM_MAX_CPUID_ENTRIES);
	if (hdr.nent < n) {
		hdr.nent = n;
		r = -E2BIG;
	} else if (copy_to_user(argp + sizeof(hdr), e, n * sizeof(*e))) {
		r = -EFAULT;
	} else {
		hdr.nent = n;
	}
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		r = -EFAULT;
	kfree(e);
	return r;
}

static long vapicvm_dev_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case VAPICVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return VAPICVM_API_VERSION;
	case VAPICVM_CHECK_EXTENSION:
		return vapicvm_check_extension(NULL, arg);
	case VAPICVM_CREATE_VM: {
		struct vapicvm_create_vm params;

		if (copy_from_user(&params, (void __user *)arg, sizeof(params)))
			return -EFAULT;
		return vapicvm_create_vm(&params);
	}
	case VAPICVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return PAGE_SIZE;
	case VAPICVM_GET_SUPPORTED_CPUID:
		return vapicvm_get_supported_cpuid((void __user *)arg);
	case VAPICVM_GET_MSR_INDEX_LIST:
		return vapicvm_get_msr_index_list((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vapicvm_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vapicvm_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* /sys/class/misc/vapicvm/{vms,vmx_cpus}: observable lazy VMX state. */
static ssize_t vms_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", vmx_users_count());
}
static DEVICE_ATTR_RO(vms);

static void count_vmx_cpu(void *counter)
{
	if (vmx_is_on_this_cpu())
		atomic_inc(counter);
}

static ssize_t vmx_cpus_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	atomic_t n = ATOMIC_INIT(0);

	on_each_cpu(count_vmx_cpu, &n, 1);
	return sysfs_emit(buf, "%d\n", atomic_read(&n));
}
static DEVICE_ATTR_RO(vmx_cpus);

static ssize_t mitigations_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return mitigations_format(buf);
}
static DEVICE_ATTR_RO(mitigations);

static struct attribute *vapicvm_dev_attrs[] = {
	&dev_attr_vms.attr,
	&dev_attr_vmx_cpus.attr,
	&dev_attr_mitigations.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vapicvm_dev);

/*
 * A fixed minor from the misc range reserved for local use (243-254 in
 * Documentation/admin-guide/devices.txt), as KVM has KVM_MINOR: with it the
 * module's aliases (below) let kmod create /dev/vapicvm at boot and load the
 * module on its first open.  Should another local driver hold it, the
 * device still registers, with a dynamic minor, and the module then has to
 * be loaded by name.
 */
#define VAPICVM_MINOR	243

/*
 * Mode 0600: running guests is a privilege.  The udev rule make install
 * and the Debian package install (packaging/udev/60-vapicvm.rules) gives
 * the device to the group vapicvm, mode 0660.
 */
static struct miscdevice vapicvm_dev = {
	.minor	= VAPICVM_MINOR,
	.name	= "vapicvm",
	.fops	= &vapicvm_dev_fops,
	.mode	= 0600,
	.groups	= vapicvm_dev_groups,
};

static int __init vapicvm_init(void)
{
	int r;

	r = vmx_capabilities_init();
	if (r)
		return r;
	vcpu_spin_init();
	r = vmx_enable_init();
	if (r)
		return r;
	r = mitigations_init();
	if (r)
		goto err_enable;
	r = vcpu_module_init();
	if (r)
		goto err_mitigations;
	r = vm_irqfd_module_init();
	if (r)
		goto err_vcpu;
	r = vapicvm_genl_init();
	if (r) {
		pr_err("cannot register the generic netlink family: %d\n", r);
		goto err_irqfd;
	}
	r = misc_register(&vapicvm_dev);
	if (r == -EBUSY) {
		pr_warn("misc minor %d is taken; /dev/vapicvm gets a dynamic one\n",
			VAPICVM_MINOR);
		vapicvm_dev.minor = MISC_DYNAMIC_MINOR;
		r = misc_register(&vapicvm_dev);
	}
	if (r) {
		pr_err("cannot register /dev/vapicvm: %d\n", r);
		goto err_genl;
	}
	return 0;

err_genl:
	vapicvm_genl_exit();
err_irqfd:
	vm_irqfd_module_exit();
err_vcpu:
	vcpu_module_exit();
err_mitigations:
	mitigations_exit();
err_enable:
	vmx_enable_exit();
	return r;
}

static void __exit vapicvm_exit(void)
{
	misc_deregister(&vapicvm_dev);
	vapicvm_genl_exit();
	vm_irqfd_module_exit();
	vcpu_module_exit();
	mitigations_exit();
	vmx_enable_exit();
}

module_init(vapicvm_init);
module_exit(vapicvm_exit);

/* VERSION is the one place the versions are set; the UAPI header repeats one. */
static_assert(VAPICVM_API_VERSION == VAPICVM_VERSION_API,
	      "uapi/linux/vapicvm.h and VERSION disagree on the API version");

MODULE_DESCRIPTION("KVM-like VMX backend centred on APIC virtualization");
MODULE_AUTHOR("The vapicvm developers");
MODULE_VERSION(VAPICVM_MODULE_VERSION);
MODULE_LICENSE("GPL");
MODULE_ALIAS_MISCDEV(VAPICVM_MINOR);
MODULE_ALIAS("devname:vapicvm");

// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU file descriptor: its ioctls, the mmap()ed run page and its
 * release.  Every copy to or from userspace of vCPU state is here; the
 * functions it calls work on kernel copies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>

#include "compat.h"
#include "cpuid.h"
#include "guest_debug.h"
#include "lapic.h"
#include "msr.h"
#include "run.h"
#include "tsc.h"
#include "vcpu.h"
#include "vcpu_events.h"
#include "vcpu_ioctl.h"
#include "vcpu_regs.h"
#include "vcpu_vmcs.h"

static vm_fault_t vcpu_fault(struct vm_fault *vmf)
{
	struct vapicvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vcpu->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vcpu_vm_ops = {
	.fault = vcpu_fault,
};

static int vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* A private mapping would copy the run page on first write. */
	if (vma->vm_pgoff != 0 || vma_pages(vma) != 1 || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_ops = &vcpu_vm_ops;
	/*
	 * One page, for good: neither mremap() nor a mapping of the next
	 * offset placed right after it (which the kernel would merge into
	 * this one without asking us) may grow it.
	 */
	vapicvm_vm_flags_set(vma, VM_DONTEXPAND);
	return 0;
}

static int vcpu_release(struct inode *inode, struct file *filp)
{
	struct vapicvm_vcpu *vcpu = filp->private_data;

	/* The vCPU itself lives as long as its VM (other vCPUs may IPI it). */
	vapicvm_vm_put(vcpu->vm);
	return 0;
}

static long vcpu_ioctl_stats(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	u64 stats[VAPICVM_STAT_NR] = {};
	struct vapicvm_stats hdr;
	u32 n;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	n = min_t(u32, hdr.n, VAPICVM_STAT_NR);
	stats_add_vcpu_table(stats, vcpu);
	if (copy_to_user(argp + sizeof(hdr), stats, n * sizeof(u64)))
		return -EFAULT;
	hdr.n = n;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/* GET/SET_MSRS: entries in order; returns how many were done. */
static long vcpu_ioctl_msrs(struct vapicvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct vapicvm_msrs hdr;
	struct vapicvm_msr_entry *e;
	u32 i;
	long r;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	if (hdr.nmsrs > VAPICVM_MAX_MSR_ENTRIES)
		return -E2BIG;
	e = memdup_user(argp + sizeof(hdr), array_size(hdr.nmsrs, sizeof(*e)));
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < hdr.nmsrs; i++) {
		if (e[i].reserved) {
			kfree(e);
			return -EINVAL;
		}
	}
	vapicvm_vcpu_load(vcpu);
	for (i = 0; i < hdr.nmsrs; i++) {
		r = set ? vcpu_set_msr(vcpu, e[i].index, e[i].data, true) :
			  vcpu_get_msr(vcpu, e[i].index, &e[i].data, true);
		if (r)
			break;
	}
	vapicvm_vcpu_put(vcpu);
	r = i;
	if (!set && copy_to_user(argp + sizeof(hdr), e, array_size(hdr.nmsrs, sizeof(*e))))
		r = -EFAULT;
	kfree(e);
	return r;
}

static long vcpu_ioctl_set_cpuid(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_cpuid hdr;
	struct vapicvm_cpuid_entry *e;
	long r;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EINVAL;
	if (hdr.nent > VAPICVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	e = vmemdup_user(argp + sizeof(hdr), array_size(hdr.nent, sizeof(*e)));
	if (IS_ERR(e))
		return PTR_ERR(e);
	r = cpuid_set_table(vcpu, e, hdr.nent);
	kvfree(e);
	if (!r) {
		vapicvm_vcpu_load(vcpu);
		vcpu_update_cpuid_controls(vcpu);
		vapicvm_vcpu_put(vcpu);
	}
	return r;
}

/* GET_CPUID: the table SET_CPUID gave; E2BIG with the number needed. */
static long vcpu_ioctl_get_cpuid(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_cpuid hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EINVAL;
	if (hdr.nent < vcpu->cpuid_nent) {
		hdr.nent = vcpu->cpuid_nent;
		return copy_to_user(argp, &hdr, sizeof(hdr)) ? -EFAULT : -E2BIG;
	}
	hdr.nent = vcpu->cpuid_nent;
	if (copy_to_user(argp, &hdr, sizeof(hdr)) ||
	    copy_to_user(argp + sizeof(hdr), vcpu->cpuid,
			 array_size(hdr.nent, sizeof(*vcpu->cpuid))))
		return -EFAULT;
	return 0;
}

static long vcpu_ioctl_get_debugregs(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_debugregs d = {};

	memcpy(d.db, vcpu->dr, sizeof(d.db));
	d.dr6 = vcpu->dr[6];
	d.dr7 = vcpu->dr[7];
	return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
}

/* As MOV to DR6/DR7 would store them (vcpu_regs.h). */
static long vcpu_ioctl_set_debugregs(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_debugregs d;
	int i;

	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	if (d.flags || (d.dr6 >> 32) || (d.dr7 >> 32))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(d.reserved); i++)
		if (d.reserved[i])
			return -EINVAL;
	memcpy(vcpu->dr, d.db, sizeof(d.db));
	vcpu->dr[6] = vcpu_dr6_from_write(d.dr6);
	vcpu->dr[7] = vcpu_dr7_from_write(d.dr7);
	vapicvm_vcpu_load(vcpu);
	vcpu_load_guest_dr7(vcpu);
	vapicvm_vcpu_put(vcpu);
	return 0;
}

static long vcpu_ioctl_get_xcrs(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_xcrs *x = kzalloc(sizeof(*x), GFP_KERNEL);
	long r;

	if (!x)
		return -ENOMEM;
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		x->nr_xcrs = 1;
		x->xcrs[0].xcr = 0;
		x->xcrs[0].value = vcpu->xcr0;
	}
	r = copy_to_user(argp, x, sizeof(*x)) ? -EFAULT : 0;
	kfree(x);
	return r;
}

/* Each XCR as XSETBV would take it; nothing is set unless all are valid. */
static long vcpu_ioctl_set_xcrs(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_xcrs *x = memdup_user(argp, sizeof(*x));
	u64 xcr0 = vcpu->xcr0;
	long r = -EINVAL;
	u32 i;

	if (IS_ERR(x))
		return PTR_ERR(x);
	if (x->flags || x->nr_xcrs > VAPICVM_MAX_XCRS || !boot_cpu_has(X86_FEATURE_XSAVE))
		goto out;
	for (i = 0; i < ARRAY_SIZE(x->padding); i++)
		if (x->padding[i])
			goto out;
	for (i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != 0 || x->xcrs[i].reserved ||
		    !vcpu_xcr0_valid(vcpu, x->xcrs[i].value))
			goto out;
		xcr0 = x->xcrs[i].value;
	}
	vcpu->xcr0 = xcr0;
	r = 0;
out:
	kfree(x);
	return r;
}

/*
 * GET_LAPIC: the model's state, with the VMCS loaded so that the tier can
 * add what only the CPU holds (RVI/SVI).
 */
static long vcpu_ioctl_get_lapic(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_lapic_state *s = kzalloc(sizeof(*s), GFP_KERNEL);
	long r;

	if (!s)
		return -ENOMEM;
	vapicvm_vcpu_load(vcpu);
	lapic_get_state(vcpu, s);
	vapicvm_vcpu_put(vcpu);
	r = copy_to_user(argp, s, sizeof(*s)) ? -EFAULT : 0;
	kfree(s);
	return r;
}

static long vcpu_ioctl_set_lapic(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_lapic_state *s = memdup_user(argp, sizeof(*s));
	long r = -EINVAL;
	int i;

	if (IS_ERR(s))
		return PTR_ERR(s);
	if (s->flags || s->pad)
		goto out;
	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			goto out;
	vapicvm_vcpu_load(vcpu);
	r = lapic_set_state(vcpu, s);
	vapicvm_vcpu_put(vcpu);
out:
	kfree(s);
	return r;
}

static long vcpu_ioctl_locked(struct vapicvm_vcpu *vcpu, unsigned int ioctl, void __user *argp)
{
	long r;

	switch (ioctl) {
	case VAPICVM_RUN:
		if (argp)
			return -EINVAL;
		return vapicvm_vcpu_run(vcpu);
	case VAPICVM_GET_REGS: {
		struct vapicvm_regs regs;

		vapicvm_vcpu_load(vcpu);
		vcpu_get_regs(vcpu, &regs);
		vapicvm_vcpu_put(vcpu);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	}
	case VAPICVM_SET_REGS: {
		struct vapicvm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		vapicvm_vcpu_load(vcpu);
		vcpu_set_regs(vcpu, &regs);
		vapicvm_vcpu_put(vcpu);
		return 0;
	}
	case VAPICVM_GET_SREGS: {
		struct vapicvm_sregs sregs;

		vapicvm_vcpu_load(vcpu);
		vcpu_get_sregs(vcpu, &sregs);
		vapicvm_vcpu_put(vcpu);
		return copy_to_user(argp, &sregs, sizeof(sregs)) ? -EFAULT : 0;
	}
	case VAPICVM_SET_SREGS: {
		struct vapicvm_sregs sregs;

		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		vapicvm_vcpu_load(vcpu);
		r = vcpu_set_sregs(vcpu, &sregs);
		vapicvm_vcpu_put(vcpu);
		return r;
	}
	case VAPICVM_GET_MSRS:
	case VAPICVM_SET_MSRS:
		return vcpu_ioctl_msrs(vcpu, argp, ioctl == VAPICVM_SET_MSRS);
	case VAPICVM_SET_CPUID:
		return vcpu_ioctl_set_cpuid(vcpu, argp);
	case VAPICVM_GET_XSAVE: {
		struct vapicvm_xsave *xsave = kzalloc(sizeof(*xsave), GFP_KERNEL);

		if (!xsave)
			return -ENOMEM;
		fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, xsave, sizeof(*xsave),
					       vcpu_supported_xcr0(), 0);
		r = copy_to_user(argp, xsave, sizeof(*xsave)) ? -EFAULT : 0;
		kfree(xsave);
		return r;
	}
	case VAPICVM_SET_XSAVE: {
		struct vapicvm_xsave *xsave = memdup_user(argp, sizeof(*xsave));
		u32 pkru = 0;

		if (IS_ERR(xsave))
			return PTR_ERR(xsave);
		r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, xsave,
						   vcpu_supported_xcr0(), &pkru);
		kfree(xsave);
		return r;
	}
	case VAPICVM_GET_CPUID:
		return vcpu_ioctl_get_cpuid(vcpu, argp);
	case VAPICVM_GET_VCPU_EVENTS:
		return vcpu_ioctl_get_events(vcpu, argp);
	case VAPICVM_SET_VCPU_EVENTS:
		return vcpu_ioctl_set_events(vcpu, argp);
	case VAPICVM_SET_GUEST_DEBUG:
		return vcpu_ioctl_set_guest_debug(vcpu, argp);
	case VAPICVM_TRANSLATE:
		return vcpu_ioctl_translate(vcpu, argp);
	case VAPICVM_GET_DEBUGREGS:
		return vcpu_ioctl_get_debugregs(vcpu, argp);
	case VAPICVM_SET_DEBUGREGS:
		return vcpu_ioctl_set_debugregs(vcpu, argp);
	case VAPICVM_GET_XCRS:
		return vcpu_ioctl_get_xcrs(vcpu, argp);
	case VAPICVM_SET_XCRS:
		return vcpu_ioctl_set_xcrs(vcpu, argp);
	case VAPICVM_GET_LAPIC:
		return vcpu_ioctl_get_lapic(vcpu, argp);
	case VAPICVM_SET_LAPIC:
		return vcpu_ioctl_set_lapic(vcpu, argp);
	case VAPICVM_SET_MP_STATE: {
		struct vapicvm_mp_state mp;

		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		if (mp.pad || mp.mp_state > VAPICVM_MP_STATE_HALTED)
			return -EINVAL;
		vcpu->halt_if = true;
		WRITE_ONCE(vcpu->mp_state, mp.mp_state);
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static long vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct vapicvm_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (_IOC_TYPE(ioctl) != VAPICVMIO || _IOC_NR(ioctl) < 0x80 || _IOC_NR(ioctl) >= 0xc0)
		return -ENOTTY;
	/*
	 * These work on a vCPU that is in RUN (a device thread injecting an
	 * interrupt, a monitor reading counters): they do not take the vCPU
	 * lock.  Interrupt delivery is posted, the counters are read racily.
	 */
	switch (ioctl) {
	case VAPICVM_INTERRUPT: {
		struct vapicvm_interrupt irq;

		if (copy_from_user(&irq, (void __user *)arg, sizeof(irq)))
			return -EFAULT;
		if (irq.flags || irq.pad || irq.pin > VAPICVM_INTERRUPT_LINT1 || irq.vector > 0xff)
			return -EINVAL;
		return lapic_pulse_lint(vcpu, irq.pin, irq.vector);
	}
	case VAPICVM_GET_MP_STATE: {
		struct vapicvm_mp_state mp = { .mp_state = READ_ONCE(vcpu->mp_state) };

		return copy_to_user((void __user *)arg, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	case VAPICVM_GET_STATS:
		return vcpu_ioctl_stats(vcpu, (void __user *)arg);
	case VAPICVM_GET_TSC_KHZ:
		return READ_ONCE(vcpu->tsc_khz);
	}
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	/* The argument is a value, not a pointer. */
	if (ioctl == VAPICVM_SET_TSC_KHZ)
		r = vcpu_set_tsc_khz(vcpu, arg);
	else
		r = vcpu_ioctl_locked(vcpu, ioctl, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

const struct file_operations vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vcpu_release,
	.unlocked_ioctl	= vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vcpu_mmap,
	.llseek		= noop_llseek,
};


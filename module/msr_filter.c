// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM's MSR filter (VAPICVM_SET_MSR_FILTER), after KVM's
 * KVM_X86_SET_MSR_FILTER: ranges of MSRs with a bitmap of allowed reads or
 * writes, and a default for the rest.  A denied guest access raises #GP,
 * or exits to userspace with VAPICVM_MSR_EXIT_FILTER.
 *
 * The filter is replaced whole and read under RCU by the exit handlers.
 * Most MSRs exit anyway; the few the MSR bitmap passes through (FS/GS
 * base, KERNEL_GS_BASE, SYSENTER) are intercepted by each vCPU, before
 * its next entry, for the accesses the new filter denies.  x2APIC MSRs
 * are never filtered: they are the local APIC's, virtualized by the CPU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>

#include "msr.h"
#include "msr_filter.h"
#include "vcpu.h"
#include "vm.h"

struct msr_filter_range {
	u32 flags;
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;
};

struct msr_filter {
	bool default_deny;
	unsigned int nranges;
	struct msr_filter_range ranges[VAPICVM_MSR_FILTER_MAX_RANGES];
};

/* The MSRs msr_bitmap_init() passes through. */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

static void msr_filter_destroy(struct msr_filter *f)
{
	unsigned int i;

	if (!f)
		return;
	for (i = 0; i < f->nranges; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

static bool filter_allows(const struct msr_filter *f, u32 index, bool write)
{
	u32 kind = write ? VAPICVM_MSR_FILTER_WRITE : VAPICVM_MSR_FILTER_READ;
	unsigned int i;

	if (!f || (index >= 0x800 && index <= 0x8ff))
		return true;
	for (i = 0; i < f->nranges; i++) {
		const struct msr_filter_range *r = &f->ranges[i];

		if ((r->flags & kind) && index - r->base < r->nmsrs)
			return test_bit(index - r->base, r->bitmap);
	}
	return !f->default_deny;
}

bool vm_msr_allowed(struct vapicvm_vm *vm, u32 index, bool write)
{
	bool allowed;

	rcu_read_lock();
	allowed = filter_allows(rcu_dereference(vm->msr_filter), index, write);
	rcu_read_unlock();
	return allowed;
}

static int range_copy(struct msr_filter_range *dst, const struct vapicvm_msr_filter_range *src)
{
	size_t bytes = BITS_TO_LONGS(src->nmsrs) * sizeof(long);

	if ((src->flags & ~(VAPICVM_MSR_FILTER_READ | VAPICVM_MSR_FILTER_WRITE)) || !src->flags ||
	    src->pad || src->nmsrs > VAPICVM_MSR_FILTER_MAX_BITS ||
	    (u64)src->base + src->nmsrs > BIT_ULL(32))
		return -EINVAL;
	dst->bitmap = kzalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!dst->bitmap)
		return -ENOMEM;
	/* The VMM's bitmap is bytes: copy what nmsrs covers, no more. */
	if (copy_from_user(dst->bitmap, u64_to_user_ptr(src->bitmap),
			   DIV_ROUND_UP(src->nmsrs, 8))) {
		kfree(dst->bitmap);
		dst->bitmap = NULL;
		return -EFAULT;
	}
	dst->flags = src->flags;
	dst->base = src->base;
	dst->nmsrs = src->nmsrs;
	return 0;
}

int vm_set_msr_filter(struct vapicvm_vm *vm, const struct vapicvm_msr_filter *args)
{
	struct msr_filter *f, *old;
	bool empty = true;
	unsigned int i;
	int r;

	if ((args->flags & ~VAPICVM_MSR_FILTER_DEFAULT_DENY) || args->pad)
		return -EINVAL;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_deny = args->flags & VAPICVM_MSR_FILTER_DEFAULT_DENY;
	for (i = 0; i < ARRAY_SIZE(args->ranges); i++) {
		const struct vapicvm_msr_filter_range *src = &args->ranges[i];

		if (!src->nmsrs) {
			/* Unused: it must say nothing else. */
			if (src->flags || src->pad || src->base || src->bitmap) {
				r = -EINVAL;
				goto fail;
			}
			continue;
		}
		r = range_copy(&f->ranges[f->nranges], src);
		if (r)
			goto fail;
		f->nranges++;
		empty = false;
	}
	/* Allow everything: no filter at all, the fast way. */
	if (empty && !f->default_deny) {
		kfree(f);
		f = NULL;
	}

	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->msr_filter, f, lockdep_is_held(&vm->lock));
	for (i = 0; i < vm->nr_vcpus; i++) {
		vcpu_make_request(vm->vcpus[i], VCPU_REQ_MSR_FILTER);
		vcpu_kick(vm->vcpus[i]);
	}
	mutex_unlock(&vm->lock);
	if (old) {
		synchronize_rcu();	/* no exit handler reads it any more */
		msr_filter_destroy(old);
	}
	return 0;

fail:
	msr_filter_destroy(f);
	return r;
}

void vm_msr_filter_free(struct vapicvm_vm *vm)
{
	msr_filter_destroy(rcu_dereference_protected(vm->msr_filter, true));
}

void msr_filter_update_bitmap(struct vapicvm_vcpu *vcpu)
{
	struct msr_filter *f;
	unsigned int i;

	rcu_read_lock();
	f = rcu_dereference(vcpu->vm->msr_filter);
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++) {
		u32 msr = passthrough_msrs[i];

		msr_bitmap_intercept(vcpu, msr, !filter_allows(f, msr, false),
				     !filter_allows(f, msr, true));
	}
	rcu_read_unlock();
}

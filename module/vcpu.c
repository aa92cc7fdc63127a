// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's lifetime (creation, destruction, its VPID), and how others make
 * it act: requests it honours before its next VM entry, and kicks that
 * wake it or interrupt its guest.  Its VMCS is in vcpu_vmcs.c, its
 * registers in vcpu_regs.c, its ioctls in vcpu_ioctl.c, its run loop in
 * run.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/io.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "capabilities.h"
#include "compat.h"
#include "cpuid.h"
#include "lapic.h"
#include "msr.h"
#include "netlink.h"
#include "pml.h"
#include "tsc.h"
#include "vcpu.h"
#include "vcpu_ioctl.h"
#include "vcpu_vmcs.h"
#include "vmx_enable.h"

/* ------------------------------------------------------------------ */
/* VPIDs                                                               */
/* ------------------------------------------------------------------ */

#define VAPICVM_NR_VPIDS	4096
/*
 * No user may take more than a quarter of the VPIDs: its vCPUs past that
 * run without one (each VM entry and exit then flushes their TLB entries,
 * and the VM's counters say how many), so that one user cannot leave the
 * others none.
 */
#define VPID_SHARE		(VAPICVM_NR_VPIDS / 4)

static DECLARE_BITMAP(vpid_bitmap, VAPICVM_NR_VPIDS);
static DEFINE_MUTEX(vpid_lock);
static DEFINE_XARRAY(vpids_held);	/* uid -> how many VPIDs it holds */

static unsigned long vpids_held_by(kuid_t uid)
{
	void *entry = xa_load(&vpids_held, __kuid_val(uid));

	return entry ? xa_to_value(entry) : 0;
}

/* VPID 0 is the host's; 0 also means "no VPID": every entry then flushes. */
static void vpid_alloc(struct vapicvm_vcpu *vcpu)
{
	unsigned long vpid, held;

	vcpu->vpid = 0;
	if (!cpu_has_vpid())
		return;
	vcpu->vpid_owner = current_uid();
	mutex_lock(&vpid_lock);
	held = vpids_held_by(vcpu->vpid_owner);
	vpid = find_first_zero_bit(vpid_bitmap, VAPICVM_NR_VPIDS);
	if (held < VPID_SHARE && vpid < VAPICVM_NR_VPIDS &&
	    !xa_is_err(xa_store(&vpids_held, __kuid_val(vcpu->vpid_owner),
				xa_mk_value(held + 1), GFP_KERNEL_ACCOUNT))) {
		__set_bit(vpid, vpid_bitmap);
		vcpu->vpid = vpid;
	}
	mutex_unlock(&vpid_lock);
}

static void vpid_free(struct vapicvm_vcpu *vcpu)
{
	unsigned long held;

	if (!vcpu->vpid)
		return;
	mutex_lock(&vpid_lock);
	__clear_bit(vcpu->vpid, vpid_bitmap);
	held = vpids_held_by(vcpu->vpid_owner);
	if (held > 1)
		xa_store(&vpids_held, __kuid_val(vcpu->vpid_owner), xa_mk_value(held - 1),
			 GFP_KERNEL);	/* replaces an entry: allocates nothing */
	else
		xa_erase(&vpids_held, __kuid_val(vcpu->vpid_owner));
	mutex_unlock(&vpid_lock);
	vcpu->vpid = 0;
}

/* ------------------------------------------------------------------ */
/* Requests and kicks                                                  */
/* ------------------------------------------------------------------ */

void vcpu_make_request(struct vapicvm_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
}

bool vcpu_check_request(struct vapicvm_vcpu *vcpu, int req)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	return test_and_clear_bit(req, &vcpu->requests);
}

/*
 * Make a vCPU notice new work: wake it if it is halted, and if it is in
 * guest mode on another CPU, interrupt it with a reschedule IPI (an
 * external-interrupt exit; the run loop then sees the request).
 */
void vcpu_kick(struct vapicvm_vcpu *vcpu)
{
	int cpu, me;

	/* Woken, it waits for a CPU (spin.c). */
	if (rcuwait_wake_up(&vcpu->wait))
		WRITE_ONCE(vcpu->ready, true);
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0 && cpu != me &&
	    cmpxchg(&vcpu->mode, IN_GUEST_MODE, EXITING_GUEST_MODE) == IN_GUEST_MODE)
		smp_send_reschedule(cpu);
	put_cpu();
}

/* ------------------------------------------------------------------ */
/* Creation and destruction                                            */
/* ------------------------------------------------------------------ */

static void vcpu_flush_vpid_this_cpu(void *data)
{
	struct vapicvm_vcpu *vcpu = data;

	/* The VPID will be reused: no CPU may keep translations tagged with it. */
	if (vmx_is_on_this_cpu())
		__invvpid(INVVPID_SINGLE_CONTEXT, vcpu->vpid, 0);
}

void vcpu_destroy(struct vapicvm_vcpu *vcpu)
{
	lapic_destroy(vcpu);
	if (vcpu->vpid && cpu_has_invvpid_single())
		on_each_cpu(vcpu_flush_vpid_this_cpu, vcpu, 1);
	vpid_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	kfree(vcpu->cpuid);
	if (vcpu->msr_bitmap)
		__free_page(vcpu->msr_bitmap);
	vcpu_pml_free(vcpu);
	if (vcpu->vmcs)
		free_page((unsigned long)vcpu->vmcs);
	if (vcpu->run)
		free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

int vapicvm_create_vcpu(struct vapicvm_vm *vm, unsigned long id)
{
	struct vapicvm_vcpu *vcpu;
	int r, i;

	if (id >= VAPICVM_MAX_VCPU_ID)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->apicv_active = APICV_ACTIVE_UNDECIDED;
	vcpu->cpu = -1;
	vcpu->last_cpu = -1;
	vcpu->last_entry_cpu = -1;
	mutex_init(&vcpu->mutex);
	rcuwait_init(&vcpu->wait);
	preempt_notifier_init(&vcpu->preempt_notifier, &vcpu_preempt_ops);
	vcpu->mp_state = id == 0 ? VAPICVM_MP_STATE_RUNNABLE : VAPICVM_MP_STATE_UNINITIALIZED;

	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->msr_bitmap = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->vmcs || !vcpu->msr_bitmap || vcpu_pml_init(vcpu))
		goto err_free;
	*(u32 *)vcpu->vmcs = vmx_caps.revision_id;
	vcpu->vmcs_phys = virt_to_phys(vcpu->vmcs);
	/*
	 * A new VMCS region is VMCLEARed before its first VMPTRLD, which
	 * initializes the CPU's view of it, launch state "clear" included
	 * (Vol. 3C 25.11.3).  Every CPU is in VMX operation while a VM exists.
	 */
	vmcs_clear_phys(vcpu->vmcs_phys);
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto err_free;
	vpid_alloc(vcpu);
	msr_bitmap_init(vcpu);
	vcpu_make_request(vcpu, VCPU_REQ_MSR_FILTER);	/* one may be set already */
	vcpu_tsc_init(vcpu);
	r = lapic_create(vcpu);
	if (r)
		goto err_free;
	r = cpuid_set_default(vcpu);
	if (r)
		goto err_free;

	vapicvm_vcpu_load(vcpu);
	vcpu_setup_vmcs(vcpu);
	vapicvm_vcpu_put(vcpu);

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= VAPICVM_MAX_VCPUS)
		goto err_unlock;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto err_unlock;
	vapicvm_vm_get(vm);
	r = anon_inode_getfd("vapicvm-vcpu", &vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (r < 0) {
		refcount_dec(&vm->users);	/* the VM fd still holds one */
		goto err_unlock;
	}
	/* Publish after the vCPU is complete: IPI senders read locklessly. */
	smp_store_release(&vm->vcpus[vm->nr_vcpus], vcpu);
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	vapicvm_event_vcpu(vcpu, VAPICVM_EVENT_VCPU_CREATE, 0, 0);
	return r;

err_unlock:
	mutex_unlock(&vm->lock);
err_free:
	vcpu_destroy(vcpu);
	return r;
}

int vcpu_module_init(void)
{
	__set_bit(0, vpid_bitmap);
	/* Preempt notifiers are behind a static key that users must raise. */
	preempt_notifier_inc();
	return 0;
}

void vcpu_module_exit(void)
{
	preempt_notifier_dec();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Page-modification logging (Vol. 3C 29.3.6): with EPT accessed and dirty
 * flags on (ept.c), the CPU writes the guest-physical address of each
 * page whose leaf's dirty flag it sets into a 512-entry log of the vCPU's,
 * and exits when the log is full.  A logging slot's pages are mapped
 * writable but not dirty, so a write costs no exit: vapicvm empties the
 * log into the slots' bitmaps after every exit, and GET_DIRTY_LOG clears
 * the dirty flags of the pages it reports.
 *
 * On only while the VM has a logging slot; its log page is the vCPU's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>

#include "capabilities.h"
#include "exit.h"
#include "pml.h"
#include "vcpu.h"
#include "vcpu_vmcs.h"
#include "vm.h"
#include "vmx_ops.h"

#define PML_ENTRIES	512
#define PML_FIRST	(PML_ENTRIES - 1)	/* the CPU logs downwards from here */

int vcpu_pml_init(struct vapicvm_vcpu *vcpu)
{
	if (!cpu_has_pml())
		return 0;
	vcpu->pml_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	return vcpu->pml_page ? 0 : -ENOMEM;
}

void vcpu_pml_free(struct vapicvm_vcpu *vcpu)
{
	if (vcpu->pml_page)
		__free_page(vcpu->pml_page);
	vcpu->pml_page = NULL;
}

void vcpu_pml_flush(struct vapicvm_vcpu *vcpu)
{
	u16 index = vmcs_read16(GUEST_PML_INDEX);
	u64 *log;

	if (index == PML_FIRST)
		return;
	/* Past 0 the index wrapped to 0xffff: the log is full. */
	index = index >= PML_ENTRIES ? 0 : index + 1;
	log = page_address(vcpu->pml_page);
	vm_log_dirty_gpas(vcpu->vm, &log[index], PML_ENTRIES - index);
	vmcs_write16(GUEST_PML_INDEX, PML_FIRST);
}

void vcpu_pml_update(struct vapicvm_vcpu *vcpu)
{
	bool want = READ_ONCE(vcpu->vm->logging_slots);
	bool on = vcpu->cpu2_ctls & SEC_ENABLE_PML;

	if (likely(want == on) || !vcpu->pml_page)
		return;
	if (on) {
		vcpu_pml_flush(vcpu);
	} else {
		vmcs_write64(PML_ADDRESS, page_to_phys(vcpu->pml_page));
		vmcs_write16(GUEST_PML_INDEX, PML_FIRST);
	}
	vcpu_set_cpu2_ctls(vcpu, SEC_ENABLE_PML, want);
}

int vcpu_handle_pml_full(struct vapicvm_vcpu *vcpu)
{
	vcpu_reblock_nmi_after_iret(vcpu, vmcs_readl(EXIT_QUALIFICATION));
	return 1;	/* vapicvm_handle_exit() emptied the log */
}

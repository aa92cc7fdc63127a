// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's VMCS: its setup (controls, host state), and its life across
 * host CPUs.
 *
 * A vCPU's VMCS is current on a host CPU only while the vCPU's thread runs
 * there inside an ioctl: vapicvm_vcpu_load() does VMPTRLD, and a preempt
 * notifier does VMCLEAR when the thread is scheduled out and VMPTRLD (with
 * the new CPU's host state) when it is scheduled back in, on whatever CPU.
 * So a vCPU thread may be preempted and migrated at any point, and no VMCS
 * is ever active on a CPU without its owner running there.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "apicv.h"
#include "capabilities.h"
#include "cpuid.h"
#include "lapic.h"
#include "mitigations.h"
#include "run.h"
#include "spin.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vcpu_vmcs.h"
#include "vmenter.h"
#include "vmx_enable.h"

/* ------------------------------------------------------------------ */
/* Loading the VMCS on a CPU                                           */
/* ------------------------------------------------------------------ */

static inline struct vapicvm_vcpu *pn_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct vapicvm_vcpu, preempt_notifier);
}

/* Host state that differs between CPUs: written on every load. */
static void vcpu_load_on_cpu(struct vapicvm_vcpu *vcpu, int cpu)
{
	struct desc_ptr gdt;
	unsigned long sysenter_esp;
	u64 gs_base;

	/*
	 * A CPU going offline leaves VMX before the scheduler has moved every
	 * task off it: vapicvm's hotplug state can only be a dynamic online
	 * one, and the states past the scheduler's are KVM's own.  A vCPU
	 * switched in there stays unloaded (no VMPTRLD, which would fault);
	 * its thread moves on at its next schedule (vapicvm_vcpu_load(), the
	 * run loop), and a VMX instruction it reaches before that fails, into
	 * an internal error for this vCPU, never silently.
	 */
	if (unlikely(!vmx_is_on_this_cpu())) {
		vmx_ops_set_loaded_vcpu(vcpu);
		return;
	}
	if (!vmcs_load_phys(vcpu->vmcs_phys)) {
		/* Reported; the run loop sees vcpu->vmx_insn_failed. */
		WRITE_ONCE(vcpu->vmx_insn_failed, true);
		return;
	}
	vcpu->cpu = cpu;
	vmx_ops_set_loaded_vcpu(vcpu);
	native_store_gdt(&gdt);
	vmcs_writel(HOST_GDTR_BASE, gdt.address);
	vmcs_writel(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	rdmsrl(MSR_GS_BASE, gs_base);
	vmcs_writel(HOST_GS_BASE, gs_base);
	rdmsrl(MSR_IA32_SYSENTER_ESP, sysenter_esp);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, sysenter_esp);
	mitigations_vcpu_load(vcpu);
	/* VM exit clears IA32_DEBUGCTL: run.c puts this value back. */
	vcpu->host_debugctl = get_debugctlmsr();
	if (vcpu->last_cpu != cpu) {
		/* This CPU may hold stale translations tagged with our VPID. */
		set_bit(VCPU_REQ_TLB_FLUSH, &vcpu->requests);
		vcpu->last_cpu = cpu;
	}
}

static void vcpu_unload_from_cpu(struct vapicvm_vcpu *vcpu)
{
	vcpu_prepare_switch_to_host(vcpu);
	if (vcpu->cpu >= 0)
		vmcs_clear_phys(vcpu->vmcs_phys);
	vmx_ops_set_loaded_vcpu(NULL);
	vcpu->launched = false;
	vcpu->cpu = -1;
}

static void vcpu_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct vapicvm_vcpu *vcpu = pn_to_vcpu(pn);

	WRITE_ONCE(vcpu->ready, false);
	vcpu_load_on_cpu(vcpu, cpu);
}

static void vcpu_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct vapicvm_vcpu *vcpu = pn_to_vcpu(pn);

	if (READ_ONCE(vcpu->mode) == IN_GUEST_MODE)
		WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);
	/* Preempted, not going to sleep: it waits for a CPU (spin.c). */
	if (READ_ONCE(current->on_rq))
		WRITE_ONCE(vcpu->ready, true);
	vcpu_unload_from_cpu(vcpu);
}

struct preempt_ops vcpu_preempt_ops = {
	.sched_in = vcpu_sched_in,
	.sched_out = vcpu_sched_out,
};

void vapicvm_vcpu_load(struct vapicvm_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->preempt_notifier);
	vcpu_load_on_cpu(vcpu, cpu);
	put_cpu();
	/* On a CPU going offline: the next schedule moves the thread off it. */
	while (unlikely(READ_ONCE(vcpu->cpu) < 0 && !READ_ONCE(vcpu->vmx_insn_failed)))
		schedule();
}

void vapicvm_vcpu_put(struct vapicvm_vcpu *vcpu)
{
	preempt_disable();
	vcpu_unload_from_cpu(vcpu);
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/* ------------------------------------------------------------------ */
/* VMCS setup                                                          */
/* ------------------------------------------------------------------ */

static void vcpu_setup_host_state(struct vapicvm_vcpu *vcpu)
{
	struct desc_ptr idt;
	u32 lo, hi;
	u64 efer, pat;

	vmcs_writel(HOST_CR0, read_cr0() & ~X86_CR0_TS);
	vcpu->host_cr3 = __read_cr3();
	vmcs_writel(HOST_CR3, vcpu->host_cr3);
	vcpu->host_cr4 = cr4_read_shadow();
	vmcs_writel(HOST_CR4, vcpu->host_cr4);
	vmcs_write16(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, __KERNEL_DS);
	/* Null DS/ES/FS/GS: vcpu_prepare_switch_to_host() restores the user's. */
	vmcs_write16(HOST_DS_SELECTOR, 0);
	vmcs_write16(HOST_ES_SELECTOR, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	store_idt(&idt);
	vmcs_writel(HOST_IDTR_BASE, idt.address);
	vmcs_writel(HOST_RIP, (unsigned long)vapicvm_vmexit);
	rdmsr(MSR_IA32_SYSENTER_CS, lo, hi);
	vmcs_write32(HOST_IA32_SYSENTER_CS, lo);
	rdmsrl(MSR_IA32_SYSENTER_EIP, efer);
	vmcs_writel(HOST_IA32_SYSENTER_EIP, efer);
	rdmsrl(MSR_EFER, efer);
	vmcs_write64(HOST_IA32_EFER, efer);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write64(HOST_IA32_PAT, pat);
	vmcs_writel(HOST_FS_BASE, 0);
}

static void vcpu_setup_controls(struct vapicvm_vcpu *vcpu)
{
	vcpu->pin_ctls = vmx_caps.pin;
	vcpu->cpu_ctls = vmx_caps.cpu;
	vcpu->cpu2_ctls = vmx_caps.cpu2;
	vcpu->exit_ctls = vmx_caps.exit;
	vcpu->entry_ctls = vmx_caps.entry;
	if (vmx_caps.cpu_allowed1 & CPU_USE_TSC_OFFSETTING)
		vcpu->cpu_ctls |= CPU_USE_TSC_OFFSETTING;
	if (!vcpu->vpid)
		vcpu->cpu2_ctls &= ~SEC_ENABLE_VPID;
	/* The APIC tier adds its controls. */
	apicv_setup_controls(vcpu);
	vcpu_setup_pause_loop_exiting(vcpu);
	/*
	 * Always on when used, as in KVM: only the value changes per entry
	 * (run.c), a count too long to expire when nothing is watched.
	 */
	vcpu->preemption_timer_idle = true;
	if (vcpu->lapic->hv_timer_usable) {
		vcpu->pin_ctls |= PIN_PREEMPTION_TIMER;
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, U32_MAX);
	}

	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, vcpu->pin_ctls);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vcpu->cpu_ctls);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vcpu->cpu2_ctls);
	vmcs_write32(VM_EXIT_CONTROLS, vcpu->exit_ctls);
	vmcs_write32(VM_ENTRY_CONTROLS, vcpu->entry_ctls);
}

void vcpu_update_cpuid_controls(struct vapicvm_vcpu *vcpu)
{
	vcpu->cpu2_ctls &= ~(SEC_ENABLE_RDTSCP | SEC_ENABLE_INVPCID);
	if (cpu_has_rdtscp() &&
	    (cpuid_guest_has(vcpu, 0x80000001, 0, CPUID_EDX, CPUID_X1_EDX_RDTSCP) ||
	     cpuid_guest_has(vcpu, 7, 0, CPUID_ECX, CPUID_7_ECX_RDPID)))
		vcpu->cpu2_ctls |= SEC_ENABLE_RDTSCP;
	if (cpu_has_invpcid() && cpuid_guest_has(vcpu, 7, 0, CPUID_EBX, CPUID_7_EBX_INVPCID))
		vcpu->cpu2_ctls |= SEC_ENABLE_INVPCID;
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vcpu->cpu2_ctls);
}

void vcpu_set_cpu_ctls(struct vapicvm_vcpu *vcpu, u32 bits, bool on)
{
	u32 ctls = on ? vcpu->cpu_ctls | bits : vcpu->cpu_ctls & ~bits;

	if (ctls != vcpu->cpu_ctls) {
		vcpu->cpu_ctls = ctls;
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, ctls);
	}
}

void vcpu_set_cpu2_ctls(struct vapicvm_vcpu *vcpu, u32 bits, bool on)
{
	u32 ctls = on ? vcpu->cpu2_ctls | bits : vcpu->cpu2_ctls & ~bits;

	if (ctls != vcpu->cpu2_ctls) {
		vcpu->cpu2_ctls = ctls;
		vmcs_write32(SECONDARY_VM_EXEC_CONTROL, ctls);
	}
}

void vcpu_update_exception_bitmap(struct vapicvm_vcpu *vcpu)
{
	/*
	 * #DB and #AC are intercepted and reflected: a guest could otherwise
	 * make their delivery loop forever and hang the host CPU
	 * (CVE-2015-8104, CVE-2015-5307).  #MC is intercepted because a
	 * machine check is the host's, whatever context it hit (run.c).  #BP
	 * only while the VMM asks for INT3 exits (guest_debug.c).
	 */
	u32 bitmap = BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC) | BIT(X86_TRAP_MC);

	if (vcpu->guest_debug & VAPICVM_GUESTDBG_USE_SW_BP)
		bitmap |= BIT(X86_TRAP_BP);
	vmcs_write32(EXCEPTION_BITMAP, bitmap);
}

void vcpu_setup_vmcs(struct vapicvm_vcpu *vcpu)
{
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	vcpu_setup_controls(vcpu);
	vcpu_update_cpuid_controls(vcpu);
	vcpu_update_exception_bitmap(vcpu);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_writel(CR0_GUEST_HOST_MASK, VCPU_CR0_HOST_OWNED);
	vmcs_writel(CR4_GUEST_HOST_MASK, VCPU_CR4_HOST_OWNED);
	vmcs_write64(MSR_BITMAP, page_to_phys(vcpu->msr_bitmap));
	vmcs_write64(EPT_POINTER, vcpu->vm->ept.eptp);
	if (vcpu->vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	vmcs_write64(TSC_OFFSET, vcpu->tsc_offset);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vcpu_setup_host_state(vcpu);
	apicv_setup_vmcs(vcpu);
	vcpu_reset(vcpu, false);
}


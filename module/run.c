// SPDX-License-Identifier: GPL-2.0
/*
 * The run loop: RUN -> complete what userspace served -> [block while
 * halted or waiting for SIPI] -> enter the guest -> VM exit -> the exit
 * handler table (exit.c) -> resume, or fill the run page and return.
 *
 * The path from one VM exit to the next VM entry touches only this vCPU's
 * state: no lock, and no atomic operation beyond the one full barrier that
 * orders "in guest mode" against kicks from other CPUs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/mce.h>
#include <asm/mmu_context.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "apicv.h"
#include "capabilities.h"
#include "compat.h"
#include "emulate.h"
#include "exit.h"
#include "guest_debug.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "mitigations.h"
#include "msr_filter.h"
#include "netlink.h"
#include "pml.h"
#include "run.h"
#include "trace.h"
#include "tsc.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vcpu_vmcs.h"
#include "vmenter.h"

/* ------------------------------------------------------------------ */
/* Lazily switched host state                                          */
/* ------------------------------------------------------------------ */

/* The native instruction: VMX never runs as a paravirtualized guest. */
static inline void load_ldt_sel(u16 sel)
{
	asm volatile("lldt %0" : : "rm"(sel));
}

/*
 * Load what VM exits do not restore for us and the kernel does not use:
 * the user's FS/GS bases and selectors are saved, the guest's SYSCALL MSRs
 * and KERNEL_GS_BASE loaded.  Done once per stay in the kernel, not per
 * entry; undone when the thread leaves RUN or is scheduled out.
 */
static void vcpu_prepare_switch_to_guest(struct vapicvm_vcpu *vcpu)
{
	unsigned long fs_base;

	if (vcpu->guest_msrs_loaded)
		return;
	savesegment(ds, vcpu->host.ds_sel);
	savesegment(es, vcpu->host.es_sel);
	savesegment(fs, vcpu->host.fs_sel);
	savesegment(gs, vcpu->host.gs_sel);
	store_ldt(vcpu->host.ldt_sel);
	rdmsrl(MSR_FS_BASE, fs_base);
	vcpu->host.fs_base = fs_base;
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->host.kernel_gs_base);
	rdmsrl(MSR_STAR, vcpu->host.star);
	rdmsrl(MSR_LSTAR, vcpu->host.lstar);
	rdmsrl(MSR_CSTAR, vcpu->host.cstar);
	rdmsrl(MSR_SYSCALL_MASK, vcpu->host.sfmask);
	vmcs_writel(HOST_FS_BASE, fs_base);

	wrmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_kernel_gs_base);
	wrmsrl(MSR_STAR, vcpu->guest_star);
	wrmsrl(MSR_LSTAR, vcpu->guest_lstar);
	wrmsrl(MSR_CSTAR, vcpu->guest_cstar);
	wrmsrl(MSR_SYSCALL_MASK, vcpu->guest_sfmask);
	/*
	 * IA32_TSC_AUX: RDTSCP and RDPID read it in the guest.  The host's
	 * (its CPU number, for getcpu) is used only in user mode: since Linux
	 * 5.9 the entry code does not read it with RDPID, for KVM's sake,
	 * which switches it as lazily.
	 */
	if (cpu_has_rdtscp()) {
		rdmsrl(MSR_TSC_AUX, vcpu->host.tsc_aux);
		wrmsrl(MSR_TSC_AUX, vcpu->guest_tsc_aux);
	}
	vcpu->guest_msrs_loaded = true;
}

void vcpu_prepare_switch_to_host(struct vapicvm_vcpu *vcpu)
{
	if (!vcpu->guest_msrs_loaded)
		return;
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_kernel_gs_base);
	wrmsrl(MSR_STAR, vcpu->host.star);
	wrmsrl(MSR_LSTAR, vcpu->host.lstar);
	wrmsrl(MSR_CSTAR, vcpu->host.cstar);
	wrmsrl(MSR_SYSCALL_MASK, vcpu->host.sfmask);
	if (cpu_has_rdtscp())
		wrmsrl(MSR_TSC_AUX, vcpu->host.tsc_aux);
	/* VM exit loaded null selectors; put back the user's if it had any. */
	if (vcpu->host.gs_sel)
		load_gs_index(vcpu->host.gs_sel);
	if (vcpu->host.fs_sel) {
		loadsegment(fs, vcpu->host.fs_sel);
		wrmsrl(MSR_FS_BASE, vcpu->host.fs_base);
	}
	if (vcpu->host.ds_sel | vcpu->host.es_sel) {
		loadsegment(ds, vcpu->host.ds_sel);
		loadsegment(es, vcpu->host.es_sel);
	}
	wrmsrl(MSR_KERNEL_GS_BASE, vcpu->host.kernel_gs_base);
	/* VM exit left the TR limit at 0x67 and the GDT limit at 0xffff. */
	invalidate_tss_limit();
	load_fixmap_gdt(raw_smp_processor_id());
	/* And LDTR null: a process with its own LDT (modify_ldt()) needs it. */
	if (vcpu->host.ldt_sel)
		load_ldt_sel(vcpu->host.ldt_sel);
	vcpu->guest_msrs_loaded = false;
}

/* ------------------------------------------------------------------ */
/* Event injection                                                     */
/* ------------------------------------------------------------------ */

static bool exception_is_contributory(u8 v)
{
	return v == 0 || (v >= 10 && v <= 13);
}

void vcpu_queue_exception(struct vapicvm_vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	if (vcpu->exception_pending) {
		u8 prev = vcpu->exception_vector;

		if (prev == 8) {
			vcpu->triple_fault = true;
			return;
		}
		if ((exception_is_contributory(prev) || prev == 14) &&
		    (exception_is_contributory(vector) || (prev == 14 && vector == 14))) {
			vector = 8;	/* double fault */
			has_error = true;
			error = 0;
		}
	}
	vcpu->exception_pending = true;
	vcpu->exception_vector = vector;
	vcpu->exception_has_error = has_error;
	vcpu->exception_error = error;
}

/*
 * Faults, as opposed to traps (#DB as the module raises it, #BP, #OF) and
 * aborts (#DF, #MC): their frame carries RF set (Vol. 3A 6.6, 18.3.1.1).
 */
static bool exception_is_fault(u8 v)
{
	return v != 1 && v != 3 && v != 4 && v != 8 && v != 18;
}

/*
 * VM entry requires the deliver-error-code bit to be set exactly for a
 * hardware exception that has an error code, in protected mode: real mode
 * (an unrestricted guest with CR0.PE=0) pushes none.  The mode is the
 * guest's now: userspace may have changed it (SET_SREGS) since an event
 * was queued or captured for re-injection; a code never captured is 0.
 */
static void inject_event(u32 info, u32 error, u32 insn_len)
{
	bool code = (info & INTR_INFO_TYPE_MASK) == INTR_TYPE_HARD_EXCEPTION &&
		    vcpu_exception_has_error_code(info & INTR_INFO_VECTOR_MASK) &&
		    (vmcs_readl(GUEST_CR0) & X86_CR0_PE);

	if (!(info & INTR_INFO_DELIVER_CODE))
		error = 0;
	info = code ? info | INTR_INFO_DELIVER_CODE : info & ~INTR_INFO_DELIVER_CODE;
	vmcs_write32(VM_ENTRY_INTR_INFO, info);
	if (code)
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	if ((info & INTR_INFO_TYPE_MASK) >= INTR_TYPE_SOFT_INTR)
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, insn_len);
}

void vcpu_set_intr_window(struct vapicvm_vcpu *vcpu, bool on)
{
	vcpu_set_cpu_ctls(vcpu, CPU_INTR_WINDOW_EXITING, on);
}

static void vcpu_set_nmi_window(struct vapicvm_vcpu *vcpu, bool on)
{
	if (cpu_has_virtual_nmis())
		vcpu_set_cpu_ctls(vcpu, CPU_NMI_WINDOW_EXITING, on);
}

/* Whether an external interrupt may be injected now. */
bool vcpu_interrupt_allowed(struct vapicvm_vcpu *vcpu)
{
	return (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
	       !(vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

/* A re-injected event, a queued exception or an NMI: true if one goes in. */
static bool vcpu_inject_priority_event(struct vapicvm_vcpu *vcpu)
{
	u32 info = vcpu->idt_vectoring_info;

	apicv_sync_tpr_threshold(vcpu);
	if (info & INTR_INFO_VALID) {
		vcpu->idt_vectoring_info = 0;
		inject_event(info & ~INTR_INFO_NMI_UNBLOCK_IRET, vcpu->idt_vectoring_error,
			     vcpu->idt_vectoring_insn_len);
		return true;
	}
	if (vcpu->exception_pending) {
		vcpu->exception_pending = false;
		/*
		 * The CPU sets RF in a fault's frame; a fault the module raises
		 * for it must have it too (KVM does the same).
		 */
		if (exception_is_fault(vcpu->exception_vector))
			vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | X86_EFLAGS_RF);
		info = INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | vcpu->exception_vector;
		if (vcpu->exception_has_error &&
		    vcpu_exception_has_error_code(vcpu->exception_vector))
			info |= INTR_INFO_DELIVER_CODE;
		inject_event(info, vcpu->exception_error, 0);
		return true;
	}
	if (vcpu->nmi_pending) {
		u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

		/* Blocked by a running handler: one more latches, no more. */
		if (intr & GUEST_INTR_STATE_NMI)
			vcpu->nmi_pending = 1;
		if (!(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS |
			      GUEST_INTR_STATE_NMI))) {
			vcpu->nmi_pending--;
			/* A latched one waits for the handler's IRET: an NMI window. */
			vcpu_set_nmi_window(vcpu, vcpu->nmi_pending);
			inject_event(INTR_INFO_VALID | INTR_TYPE_NMI | 2, 0, 0);
			return true;
		}
		vcpu_set_nmi_window(vcpu, true);
	} else if (unlikely(vcpu->cpu_ctls & CPU_NMI_WINDOW_EXITING)) {
		vcpu_set_nmi_window(vcpu, false);	/* nothing left to wait for */
	}
	return false;
}

/*
 * Before each entry (interrupts off): re-inject what an exit interrupted,
 * then an exception, an NMI, and the local APIC's interrupts, in the
 * architectural priority order.  At most one event is injected.
 */
static void vcpu_inject_events(struct vapicvm_vcpu *vcpu)
{
	/*
	 * Nothing but the APIC's interrupts, the common case: the tier's
	 * inject_pending() keeps the TPR threshold in step by itself.
	 */
	if (likely(!(vcpu->idt_vectoring_info & INTR_INFO_VALID) && !vcpu->exception_pending &&
		   !vcpu->nmi_pending && !(vcpu->cpu_ctls & CPU_NMI_WINDOW_EXITING))) {
		apicv_inject_pending(vcpu);
		return;
	}
	/* The APIC's side of the VMCS must be valid for this entry either way. */
	if (vcpu_inject_priority_event(vcpu))
		apicv_inject_blocked(vcpu);
	else
		apicv_inject_pending(vcpu);
}

/* After an exit: an event the exit interrupted must be delivered again. */
static void vcpu_save_idt_vectoring(struct vapicvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(IDT_VECTORING_INFO);

	vcpu->idt_vectoring_info = info;
	if (likely(!(info & INTR_INFO_VALID)))
		return;
	if (info & INTR_INFO_DELIVER_CODE)
		vcpu->idt_vectoring_error = vmcs_read32(IDT_VECTORING_ERROR_CODE);
	if ((info & INTR_INFO_TYPE_MASK) >= INTR_TYPE_SOFT_INTR)
		vcpu->idt_vectoring_insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	/*
	 * An NMI whose delivery the exit interrupted was not delivered: it
	 * blocks nothing yet, and VM entry refuses to inject it into blocked
	 * NMIs, yet the processor may have saved blocking by NMI set (Vol. 3C
	 * 31.7.1.2 says to clear it, as KVM does).
	 */
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & ~GUEST_INTR_STATE_NMI);
}

/* ------------------------------------------------------------------ */
/* Interrupts and NMIs that arrived while the guest ran                */
/* ------------------------------------------------------------------ */

/*
 * A machine check taken while the guest ran (an #MC exit, or one during VM
 * entry) is the host's: its handler runs as if the check had interrupted
 * user mode, as KVM does, and the guest never sees it.
 */
static void vcpu_host_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

	do_machine_check(&regs);
#endif
}

static void handle_exit_irqoff(struct vapicvm_vcpu *vcpu)
{
	u32 reason = EXIT_REASON_BASIC(vcpu->exit_reason);
	u32 info;

	if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
		struct desc_ptr idt;
		gate_desc *gate;

		info = vmcs_read32(VM_EXIT_INTR_INFO);
		if (WARN_ONCE(!(info & INTR_INFO_VALID), "external interrupt exit without vector"))
			return;
		store_idt(&idt);
		gate = (gate_desc *)idt.address + (info & INTR_INFO_VECTOR_MASK);
		vapicvm_do_interrupt_irqoff(gate_offset(gate));
	} else if (reason == EXIT_REASON_EXCEPTION_NMI) {
		info = vmcs_read32(VM_EXIT_INTR_INFO);
		vcpu->exit_intr_info = info;
		if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_HARD_EXCEPTION &&
		    (info & INTR_INFO_VECTOR_MASK) == X86_TRAP_MC)
			vcpu_host_machine_check();
		else if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
			vapicvm_do_interrupt_irqoff((unsigned long)vapicvm_host_nmi_entry);
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static void vcpu_flush_tlb(struct vapicvm_vcpu *vcpu)
{
	/* INVEPT flushes guest-physical and combined mappings, all VPIDs. */
	if (cpu_has_invept_single())
		__invept(INVEPT_SINGLE_CONTEXT, vcpu->vm->ept.eptp);
	else
		__invept(INVEPT_ALL_CONTEXT, 0);
}

/* Requests handled with interrupts enabled; a new one aborts the entry. */
#define VCPU_REQS_BEFORE_ENTRY	(BIT(VCPU_REQ_APIC_MODE) | BIT(VCPU_REQ_EOI_BITMAP) | \
				 BIT(VCPU_REQ_MSR_FILTER))

static void vcpu_handle_requests(struct vapicvm_vcpu *vcpu)
{
	if (vcpu_check_request(vcpu, VCPU_REQ_APIC_MODE))
		apicv_update_mode(vcpu);
	if (vcpu_check_request(vcpu, VCPU_REQ_EOI_BITMAP))
		apicv_update_eoi_exit_bitmap(vcpu);
	if (vcpu_check_request(vcpu, VCPU_REQ_MSR_FILTER))
		msr_filter_update_bitmap(vcpu);
	vcpu_check_request(vcpu, VCPU_REQ_UNBLOCK);
}

/* ------------------------------------------------------------------ */
/* Blocking                                                            */
/* ------------------------------------------------------------------ */

static bool vcpu_should_wake(struct vapicvm_vcpu *vcpu)
{
	if (test_bit(VCPU_REQ_UNBLOCK, &vcpu->requests))
		return true;
	if (READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_HALTED)
		return lapic_can_wake(vcpu, vcpu->halt_if);
	/* Waiting for SIPI: only INIT and SIPI matter. */
	return READ_ONCE(vcpu->lapic->events) & (BIT(LAPIC_EV_INIT) | BIT(LAPIC_EV_SIPI));
}

/*
 * Halt polling, as KVM's: before sleeping, a halted vCPU spins for a while
 * in case its wake-up is about to come (an IPI answering one it sent, a
 * timer about to expire).  A wake-up seen while spinning costs no sleep,
 * no wake-up and no scheduling.  The time spun adapts per vCPU: it starts
 * at HALT_POLL_NS_START once a block ended within halt_poll_ns, doubles
 * each time polling found the wake-up, and drops to 0 when a block lasted
 * longer than halt_poll_ns.  It only spins while nothing else wants the
 * host CPU.
 */
static unsigned int halt_poll_ns = 200000;
module_param(halt_poll_ns, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns, "Longest a halted vCPU spins before it sleeps, in ns (0: never; default 200000)");

#define HALT_POLL_NS_START	10000

static bool vcpu_halt_poll(struct vapicvm_vcpu *vcpu, ktime_t start)
{
	ktime_t stop = ktime_add_ns(start, vcpu->halt_poll_ns);

	do {
		/* The VMX-preemption timer does not count outside the guest. */
		lapic_hv_timer_expired(vcpu);
		if (vcpu_should_wake(vcpu))
			return true;
		cpu_relax();
	} while (!signal_pending(current) && !need_resched() && single_task_running() &&
		 ktime_before(ktime_get(), stop));
	return false;
}

static void vcpu_halt_poll_adjust(struct vapicvm_vcpu *vcpu, u64 blocked_ns)
{
	unsigned int max = READ_ONCE(halt_poll_ns);

	if (blocked_ns > max)
		vcpu->halt_poll_ns = 0;
	else if (blocked_ns > vcpu->halt_poll_ns || !vcpu->halt_poll_ns)
		vcpu->halt_poll_ns = min(max, max(HALT_POLL_NS_START, vcpu->halt_poll_ns * 2));
}

/*
 * Halted or waiting for SIPI: sleep until an event makes the vCPU
 * runnable, or a signal ends RUN.  The preempt notifier leaves the CPU
 * while we sleep.  Returns 1 to go round the loop, or -EINTR.
 */
static int vcpu_block(struct vapicvm_vcpu *vcpu)
{
	ktime_t start = ktime_get();
	bool polled = false;
	u64 blocked_ns;
	int r;

	/* A read of halt_ns meanwhile adds the time blocked so far (stats.c). */
	WRITE_ONCE(vcpu->counters.block_start_ns, ktime_to_ns(start));

	if (vcpu->halt_poll_ns && READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_HALTED)
		polled = vcpu_halt_poll(vcpu, start);
	if (polled) {
		vcpu_stat_inc(vcpu, VAPICVM_STAT_HALT_POLL_SUCCESS);
	} else {
		/* The VMX-preemption timer does not count while we sleep. */
		if (!vcpu_should_wake(vcpu))
			lapic_timer_block(vcpu);
		r = rcuwait_wait_event(&vcpu->wait,
				       vcpu_should_wake(vcpu) || signal_pending(current),
				       TASK_INTERRUPTIBLE);
		lapic_timer_unblock(vcpu);
	}
	clear_bit(VCPU_REQ_UNBLOCK, &vcpu->requests);
	blocked_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	vcpu->stats[VAPICVM_STAT_HALT_NS] += blocked_ns;
	WRITE_ONCE(vcpu->counters.block_start_ns, 0);
	if (READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_HALTED && READ_ONCE(halt_poll_ns))
		vcpu_halt_poll_adjust(vcpu, blocked_ns);
	if (signal_pending(current)) {
		vcpu->run->exit_reason = VAPICVM_EXIT_INTR;
		return -EINTR;
	}
	if (READ_ONCE(vcpu->mp_state) == VAPICVM_MP_STATE_HALTED &&
	    lapic_can_wake(vcpu, vcpu->halt_if)) {
		WRITE_ONCE(vcpu->mp_state, VAPICVM_MP_STATE_RUNNABLE);
		vcpu_stat_inc(vcpu, VAPICVM_STAT_HALT_WAKEUP);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* One round trip through the guest                                    */
/* ------------------------------------------------------------------ */

static int vcpu_fail_entry(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;

	memset(&run->fail_entry, 0, sizeof(run->fail_entry));
	run->exit_reason = VAPICVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = vcpu->exit_reason;
	run->fail_entry.exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
	run->fail_entry.cpu = raw_smp_processor_id();
	return 0;
}

/*
 * A VMX instruction failed (VMLAUNCH/VMRESUME here, or any other one on this
 * vCPU's VMCS, reported by vmx_insn_failed()): the guest's state cannot be
 * trusted, so RUN ends in an internal error, as often as it is called.
 */
static int vcpu_vmx_error(struct vapicvm_vcpu *vcpu, u32 error)
{
	struct vapicvm_run *run = vcpu->run;

	run->exit_reason = VAPICVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = VAPICVM_INTERNAL_ERROR_VMX;
	run->internal.ndata = 1;
	run->internal.data[0] = error;
	return 0;
}

/*
 * The entry did not happen (VMfail, or a VM entry that failed on the guest
 * state, which leaves the VM-entry interruption information valid): the
 * event it was to inject is still pending.  Take it back from the VMCS, to
 * be injected again at the next entry as the guest's mode then asks
 * (inject_event()), not left there behind the run loop's back.
 */
static void vcpu_cancel_injection(struct vapicvm_vcpu *vcpu)
{
	u32 info = vmcs_read32(VM_ENTRY_INTR_INFO);

	if (!(info & INTR_INFO_VALID))
		return;
	vcpu->idt_vectoring_info = info;
	vcpu->idt_vectoring_error = vmcs_read32(VM_ENTRY_EXCEPTION_ERROR_CODE);
	vcpu->idt_vectoring_insn_len = vmcs_read32(VM_ENTRY_INSTRUCTION_LEN);
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);
}

/*
 * IRQs off, just before entry: the VMX-preemption timer counts to the TSC
 * deadline it watches, less the advance (lapic_timer.c).  It steps each
 * time TSC bit rate toggles, the first step possibly one tick away:
 * rounded up and one step more, it expires at or after that point, at
 * most two steps late.
 */
static void vcpu_program_preemption_timer(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 deadline = apic->hv_timer_armed ? apic->hv_deadline : 0, now, ticks;
	unsigned int rate = cpu_preemption_timer_rate();

	if (!deadline) {
		if (!vcpu->preemption_timer_idle) {
			vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, U32_MAX);
			vcpu->preemption_timer_idle = true;
		}
		return;
	}
	/* Ahead of the deadline by the advance; held until it before entry. */
	deadline -= min_t(u64, deadline, apic->timer_advance);
	now = vcpu_guest_tsc(vcpu);
	ticks = 0;
	if (deadline > now) {
		/* It counts host TSC ticks, whatever the guest's rate. */
		ticks = ((vcpu_tsc_to_host_ticks(vcpu, deadline - now) - 1) >> rate) + 2;
		ticks = min_t(u64, ticks, U32_MAX - 1);
	}
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, ticks);
	vcpu->preemption_timer_idle = false;
}

/*
 * Exits handled with interrupts still off, the guest re-entered at once
 * (KVM's fastpath): the VMX-preemption timer's expiry and a write of the
 * TSC deadline it watches.  Nothing here sleeps or touches an hrtimer
 * that may be running.  True if the exit was handled.
 */
static bool vcpu_exit_fastpath(struct vapicvm_vcpu *vcpu)
{
	u64 data;

	/* A single step must see every instruction vapicvm completes. */
	if (!vcpu->lapic->hv_timer_usable || unlikely(vcpu->guest_debug))
		return false;
	switch (EXIT_REASON_BASIC(vcpu->exit_reason)) {
	case EXIT_REASON_PREEMPTION_TIMER:
		vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_PREEMPT_TIMER);
		lapic_hv_timer_expired(vcpu);
		return true;
	case EXIT_REASON_MSR_WRITE:
		if ((u32)vcpu->regs[VCPU_REG_RCX] != MSR_IA32_TSC_DEADLINE ||
		    !lapic_tsc_deadline_fastpath_ok(vcpu))
			return false;
		vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE);
		data = (u32)vcpu->regs[VCPU_REG_RAX] | ((u64)(u32)vcpu->regs[VCPU_REG_RDX] << 32);
		lapic_set_tsc_deadline(vcpu, data);
		vcpu_skip_instruction(vcpu);
		return true;
	}
	return false;
}

static int vcpu_enter_guest(struct vapicvm_vcpu *vcpu)
{
	unsigned long cr3, cr4;
	bool xcr0_switched = false;
	u64 entry_tsc;
	int fail;

	if (unlikely(READ_ONCE(vcpu->requests)))
		vcpu_handle_requests(vcpu);

	preempt_disable();
	/* Switched in on a CPU going offline (vcpu_vmcs.c): move off it first. */
	if (unlikely(vcpu->cpu != smp_processor_id())) {
		preempt_enable();
		schedule();
		return 1;
	}
	vcpu_prepare_switch_to_guest(vcpu);
	local_irq_disable();

reenter:
	xcr0_switched = false;
	/* Kicks from now on interrupt the guest; see vcpu_kick(). */
	smp_store_mb(vcpu->mode, IN_GUEST_MODE);
	if (unlikely(READ_ONCE(vcpu->requests) & VCPU_REQS_BEFORE_ENTRY ||
		     signal_pending(current) || need_resched() ||
		     READ_ONCE(vcpu->lapic->events))) {
		WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);
		local_irq_enable();
		preempt_enable();
		return 1;
	}
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	if (lapic_pir_pending(vcpu->lapic)) {
		lapic_sync_pir(vcpu);
		/* A level-triggered vector merged just now needs its EOI exit. */
		if (unlikely(vcpu_check_request(vcpu, VCPU_REQ_EOI_BITMAP)))
			apicv_update_eoi_exit_bitmap(vcpu);
	}
	vcpu_inject_events(vcpu);

	if (unlikely(vcpu->requests & BIT(VCPU_REQ_TLB_FLUSH))) {
		clear_bit(VCPU_REQ_TLB_FLUSH, &vcpu->requests);
		vcpu_flush_tlb(vcpu);
	}
	/* Nothing watched and the timer idle already: nothing to write. */
	if (unlikely(vcpu->lapic->hv_timer_armed || !vcpu->preemption_timer_idle))
		vcpu_program_preemption_timer(vcpu);
	cr3 = __get_current_cr3_fast();
	if (unlikely(cr3 != vcpu->host_cr3)) {
		vmcs_writel(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	cr4 = cr4_read_shadow();
	if (unlikely(cr4 != vcpu->host_cr4)) {
		vmcs_writel(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}
	if (vcpu->cr2 != native_read_cr2())
		native_write_cr2(vcpu->cr2);
	/*
	 * VM entry loads the guest's DR7 but not DR0-DR3: when its DR7 enables
	 * a breakpoint, the addresses must be the guest's, not the host's (whose
	 * own breakpoints are disabled first, not to fire on the guest's).
	 */
	if (unlikely(vcpu_effective_dr7(vcpu) & (DR_LOCAL_ENABLE_MASK | DR_GLOBAL_ENABLE_MASK))) {
		const unsigned long *db = vcpu_effective_db(vcpu);

		set_debugreg(0, 7);
		set_debugreg(db[0], 0);
		set_debugreg(db[1], 1);
		set_debugreg(db[2], 2);
		set_debugreg(db[3], 3);
	}
	if (boot_cpu_has(X86_FEATURE_XSAVE) && vcpu->xcr0 != vmx_caps.host_xcr0) {
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
		xcr0_switched = true;
	}

	/* Last, as close to the entry as it can be: see lapic_timer.c. */
	if (unlikely(vcpu->lapic->expired_deadline))
		lapic_timer_hold_until_deadline(vcpu);
	mitigations_before_entry(vcpu);
	trace_vapicvm_entry(vcpu);
	WRITE_ONCE(vcpu->last_entry_cpu, vcpu->cpu);
	entry_tsc = rdtsc();
	fail = __vapicvm_vcpu_run(vcpu->regs, &vcpu->host_rsp, vcpu->launched);
	vcpu->counters.guest_cycles += rdtsc() - entry_tsc;
	mitigations_after_exit(vcpu);

	/* VM exit cleared it (Vol. 3C 28.5.1): the host's branch tracing, LBRs. */
	if (vcpu->host_debugctl)
		update_debugctlmsr(vcpu->host_debugctl);
	if (xcr0_switched)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx_caps.host_xcr0);
	/* VM exit left DR7 at 0x400: put the host's breakpoints back, if any. */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	vcpu->cr2 = native_read_cr2();
	WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);

	if (unlikely(fail)) {
		u32 error = vmcs_read32(VM_INSTRUCTION_ERROR);

		vcpu_cancel_injection(vcpu);
		local_irq_enable();
		preempt_enable();
		pr_warn_ratelimited("VM entry failed: VM-instruction error %u\n", error);
		return vcpu_vmx_error(vcpu, error);
	}
	vcpu->launched = true;
	vcpu->exit_reason = vmcs_read32(VM_EXIT_REASON);
	if (unlikely(vcpu->exit_reason & EXIT_REASON_FAILED_ENTRY)) {
		vcpu_cancel_injection(vcpu);
		if (EXIT_REASON_BASIC(vcpu->exit_reason) == EXIT_REASON_MCE_DURING_VMENTRY)
			vcpu_host_machine_check();
		local_irq_enable();
		preempt_enable();
		return vcpu_fail_entry(vcpu);
	}
	stats_count_exit(vcpu, vcpu->exit_reason);
	trace_vapicvm_exit(vcpu);
	handle_exit_irqoff(vcpu);
	vcpu_save_idt_vectoring(vcpu);
	if (vcpu_exit_fastpath(vcpu))
		goto reenter;
	local_irq_enable();
	preempt_enable();

	return vapicvm_handle_exit(vcpu);
}

/*
 * Finish the instruction an exit to userspace left half done: 1 to go on,
 * 0 if it goes back to userspace for its write.
 */
static int vcpu_complete_userspace(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;
	u64 val = 0;

	switch (vcpu->completion) {
	case COMPLETE_NONE:
		return 1;
	case COMPLETE_RDMSR:
	case COMPLETE_WRMSR:
	case COMPLETE_HYPERCALL:
		vcpu_complete_user_exit(vcpu);
		return 1;
	case COMPLETE_PIO_IN:
		memcpy(&val, (u8 *)run + VAPICVM_RUN_IO_DATA_OFFSET, vcpu->pending_load.io_size);
		break;
	case COMPLETE_MMIO_READ:
		memcpy(&val, run->mmio.data, vcpu->pending_load.size);
		break;
	}
	vcpu->completion = COMPLETE_NONE;
	/* A read-modify-write goes on with its write: an MMIO exit now. */
	return emulate_complete_read(vcpu, val) ? 0 : 1;
}

int vapicvm_vcpu_run(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;
	int r;

	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);
	vapicvm_vcpu_load(vcpu);
	WRITE_ONCE(vcpu->task, current);

	r = vcpu_complete_userspace(vcpu);
	if (!r)
		goto out;	/* a read-modify-write's write exit; RIP has moved on */
	if (run->immediate_exit) {
		run->exit_reason = VAPICVM_EXIT_INTR;
		r = -EINTR;
		goto out;
	}

	for (;;) {
		if (unlikely(guest_debug_report_step(vcpu))) {
			r = 0;
			break;
		}
		if (unlikely(vcpu->ioapic_eoi_pending) &&
		    lapic_next_ioapic_eoi(vcpu, &run->eoi.vector)) {
			run->exit_reason = VAPICVM_EXIT_IOAPIC_EOI;
			vcpu_stat_inc(vcpu, VAPICVM_STAT_IOAPIC_EOI);
			r = 0;
			break;
		}
		if (unlikely(READ_ONCE(vcpu->vmx_insn_failed))) {
			r = vcpu_vmx_error(vcpu, 0);
			break;
		}
		lapic_take_events(vcpu);
		if (READ_ONCE(vcpu->mp_state) != VAPICVM_MP_STATE_RUNNABLE) {
			r = vcpu_block(vcpu);
		} else if (signal_pending(current)) {
			run->exit_reason = VAPICVM_EXIT_INTR;
			r = -EINTR;
		} else {
			vcpu_pml_update(vcpu);
			cond_resched();
			r = vcpu_enter_guest(vcpu);
		}
		if (r <= 0)
			break;
	}
out:
	WRITE_ONCE(vcpu->task, NULL);
	run->cr8 = lapic_get_cr8(vcpu);
	run->apic_base = lapic_get_base(vcpu);
	vapicvm_vcpu_put(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
	stats_count_user_exit(vcpu, run->exit_reason);
	vapicvm_event_run_exit(vcpu);
	return r;
}

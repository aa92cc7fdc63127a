// SPDX-License-Identifier: GPL-2.0
/*
 * VM-exit handlers, in a table indexed by the basic exit reason.  Each
 * returns 1 to resume the guest, 0 to return to userspace with the run page
 * filled in, or -errno to fail RUN.  An exit without a handler becomes an
 * internal-error exit naming the reason: never a host crash.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/processor-flags.h>

#include "apicv.h"
#include "capabilities.h"
#include "cpuid.h"
#include "emulate.h"
#include "exit.h"
#include "guest_debug.h"
#include "ioeventfd.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "msr.h"
#include "msr_filter.h"
#include "pml.h"
#include "run.h"
#include "spin.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vm.h"

static int handle_exception_nmi(struct vapicvm_vcpu *vcpu)
{
	u32 info = vcpu->exit_intr_info;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_NMI);
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
		return 1;	/* a host NMI, handled in handle_exit_irqoff() */

	switch (vector) {
	case 1: {
		unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);

		if (!guest_debug_handle_db(vcpu, qual))
			return 0;
		/* The guest's #DB: reflect it, with its DR6 bits. */
		vcpu->dr[6] = (vcpu->dr[6] & ~0xf) | (qual & 0x400f) | VCPU_DR6_FIXED_1;
		vcpu_queue_exception(vcpu, 1, false, 0);
		return 1;
	}
	case 3:
		if (!guest_debug_handle_bp(vcpu))
			return 0;
		/*
		 * Not the VMM's (it let go since): deliver the INT3 as the CPU
		 * would have, a software exception after the instruction.
		 */
		vcpu->idt_vectoring_info = INTR_INFO_VALID | INTR_TYPE_SOFT_EXCEPTION | 3;
		vcpu->idt_vectoring_insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		return 1;
	case 17:
		/* #AC: reflected; intercepted only so it cannot loop forever. */
		vcpu_queue_exception(vcpu, 17, true, vmcs_read32(VM_EXIT_INTR_ERROR_CODE));
		return 1;
	case 18:
		/* #MC: the host's handler ran already (run.c); the guest goes on. */
		return 1;
	default:
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT);
	}
}

static int handle_external_interrupt(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_EXTINT);
	return 1;
}

static int handle_triple_fault(struct vapicvm_vcpu *vcpu)
{
	vcpu->run->exit_reason = VAPICVM_EXIT_SHUTDOWN;
	return 0;
}

static int handle_interrupt_window(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_INTR_WINDOW);
	vcpu_set_intr_window(vcpu, false);
	return 1;	/* the injection logic runs before the next entry */
}

static int handle_nmi_window(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_INTR_WINDOW);
	return 1;
}

static int handle_cpuid(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_CPUID);
	cpuid_emulate(vcpu);
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_hlt(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_HLT);
	vcpu_skip_instruction(vcpu);
	/*
	 * Single-stepped: the #DB trap (queued by the skip) is delivered after
	 * HLT, and the vCPU goes on from the handler, not halted.
	 */
	if (vcpu->exception_pending)
		return 1;
	/*
	 * HLT with interrupts disabled waits for an NMI, INIT or SMI only:
	 * tell userspace the vCPU stopped (a RUN after this blocks until one
	 * of those arrives).
	 */
	vcpu->halt_if = vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF;
	if (!vcpu->halt_if) {
		WRITE_ONCE(vcpu->mp_state, VAPICVM_MP_STATE_HALTED);
		vcpu->run->exit_reason = VAPICVM_EXIT_HLT;
		return 0;
	}
	if (!lapic_can_wake(vcpu, true))
		WRITE_ONCE(vcpu->mp_state, VAPICVM_MP_STATE_HALTED);
	return 1;
}

static int handle_invd(struct vapicvm_vcpu *vcpu)
{
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_inject_ud(struct vapicvm_vcpu *vcpu)
{
	vcpu_inject_ud(vcpu);
	return 1;
}

static int handle_rdpmc(struct vapicvm_vcpu *vcpu)
{
	vcpu_inject_gp(vcpu);
	return 1;
}

#define HYPERCALL_ENOSYS	1000	/* KVM's KVM_ENOSYS */
#define HYPERCALL_EPERM		1	/* KVM's KVM_EPERM */

static unsigned int vcpu_cpl(void)
{
	return (vmcs_read32(GUEST_SS_AR_BYTES) >> VMX_AR_DPL_SHIFT) & 3;
}

/*
 * VMCALL: the VMM's when it asked (VAPICVM_CAP_EXIT_HYPERCALL), and only
 * from CPL 0: the guest's applications cannot reach the VMM.  Otherwise
 * no hypercall is defined: -KVM_ENOSYS in RAX, as KVM answers.
 */
static int handle_vmcall(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;
	bool longmode = (vcpu->efer & EFER_LMA) && (vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L);
	u64 mask = longmode ? ~0ULL : 0xffffffffULL;
	long ret = -HYPERCALL_ENOSYS;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_VMCALL);
	if (READ_ONCE(vcpu->vm->hypercall_exits)) {
		if (vcpu_cpl() == 0) {
			run->exit_reason = VAPICVM_EXIT_HYPERCALL;
			run->hypercall.nr = vcpu->regs[VCPU_REG_RAX] & mask;
			run->hypercall.args[0] = vcpu->regs[VCPU_REG_RBX] & mask;
			run->hypercall.args[1] = vcpu->regs[VCPU_REG_RCX] & mask;
			run->hypercall.args[2] = vcpu->regs[VCPU_REG_RDX] & mask;
			run->hypercall.args[3] = vcpu->regs[VCPU_REG_RSI] & mask;
			run->hypercall.ret = 0;
			run->hypercall.longmode = longmode;
			run->hypercall.pad = 0;
			vcpu->completion = COMPLETE_HYPERCALL;
			return 0;
		}
		ret = -HYPERCALL_EPERM;
	}
	vcpu->regs[VCPU_REG_RAX] = (unsigned long)ret & mask;
	vcpu_skip_instruction(vcpu);
	return 1;
}

/*
 * An RDMSR or WRMSR the VMM takes (VAPICVM_CAP_USER_MSR), if it asked for
 * this reason: true when RUN returns to userspace with it.
 */
static bool msr_exit_to_user(struct vapicvm_vcpu *vcpu, u32 index, u64 data, bool write,
			     u32 reason)
{
	struct vapicvm_run *run = vcpu->run;

	if (!(READ_ONCE(vcpu->vm->user_msr_exits) & reason))
		return false;
	run->exit_reason = write ? VAPICVM_EXIT_X86_WRMSR : VAPICVM_EXIT_X86_RDMSR;
	memset(&run->msr, 0, sizeof(run->msr));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = write ? data : 0;
	vcpu->completion = write ? COMPLETE_WRMSR : COMPLETE_RDMSR;
	return true;
}

/* An access the MSR filter denies: to the VMM if it asked, else #GP. */
static int msr_filtered(struct vapicvm_vcpu *vcpu, u32 index, u64 data, bool write)
{
	if (msr_exit_to_user(vcpu, index, data, write, VAPICVM_MSR_EXIT_FILTER))
		return 0;
	vcpu_inject_gp(vcpu);
	return 1;
}

void vcpu_complete_user_exit(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;
	enum vcpu_completion c = vcpu->completion;

	vcpu->completion = COMPLETE_NONE;
	if (c == COMPLETE_HYPERCALL) {
		u64 ret = run->hypercall.ret;

		if (!run->hypercall.longmode)
			ret = (u32)ret;
		vcpu->regs[VCPU_REG_RAX] = ret;
	} else if (run->msr.error) {
		vcpu_inject_gp(vcpu);
		return;
	} else if (c == COMPLETE_RDMSR) {
		vcpu->regs[VCPU_REG_RAX] = (u32)run->msr.data;
		vcpu->regs[VCPU_REG_RDX] = run->msr.data >> 32;
	}
	vcpu_skip_instruction(vcpu);
}

static int handle_cr_access(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	int cr = CR_QUAL_NUM(qual), reg = CR_QUAL_GPR(qual);
	unsigned long val, old;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_CR);
	vcpu->exit_qual = qual;
	switch (CR_QUAL_TYPE(qual)) {
	case CR_QUAL_TYPE_MOV_TO:
		val = vcpu_reg_read(vcpu, reg);
		switch (cr) {
		case 0:
			old = vcpu_read_cr0(vcpu);
			if (!(vcpu->efer & EFER_LMA) && !(vcpu->efer & EFER_LME))
				val &= 0xffffffff;
			if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
			    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
				goto gp;
			/* Entering long mode needs PAE; leaving it is done by clearing PG. */
			if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) &&
			    (vcpu->efer & EFER_LME) && !(vcpu_read_cr4(vcpu) & X86_CR4_PAE))
				goto gp;
			/* PCIDE needs IA-32e mode: paging cannot go while it is set. */
			if (!(val & X86_CR0_PG) && (old & X86_CR0_PG) &&
			    (vcpu_read_cr4(vcpu) & X86_CR4_PCIDE))
				goto gp;
			vcpu_set_cr0(vcpu, val);
			/* The paging mode changed: no translation of the old one may be used. */
			if ((val ^ old) & (X86_CR0_PG | X86_CR0_WP))
				vcpu_make_request(vcpu, VCPU_REQ_TLB_FLUSH);
			break;
		case 4:
			old = vcpu_read_cr4(vcpu);
			if ((val & VCPU_CR4_RESERVED) || (val & VCPU_CR4_UNSUPPORTED))
				goto gp;
			if ((vcpu->efer & EFER_LMA) && !(val & X86_CR4_PAE))
				goto gp;
			/*
			 * PCIDE: only if CPUID offers PCID; set only in IA-32e
			 * mode, with PCID 0 current (MOV to CR, Vol. 2).
			 */
			if ((val & X86_CR4_PCIDE) &&
			    !cpuid_guest_has(vcpu, 1, 0, CPUID_ECX, CPUID_1_ECX_PCID))
				goto gp;
			if ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
			    (!(vcpu->efer & EFER_LMA) || (vmcs_readl(GUEST_CR3) & 0xfff)))
				goto gp;
			vcpu_set_cr4(vcpu, val);
			/* As MOV to CR4 does on a CPU (Vol. 3A 4.10.4.1). */
			if (val != old)
				vcpu_make_request(vcpu, VCPU_REQ_TLB_FLUSH);
			break;
		case 8:
			if (val & ~0xfUL)
				goto gp;
			lapic_set_cr8(vcpu, val);
			break;
		default:
			return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT);
		}
		break;
	case CR_QUAL_TYPE_MOV_FROM:
		if (cr != 8)
			return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT);
		vcpu_reg_write(vcpu, reg, lapic_get_cr8(vcpu));
		break;
	case CR_QUAL_TYPE_CLTS:
		/* TS is guest-owned; CLTS exits only if we owned it. */
		vcpu_set_cr0(vcpu, vcpu_read_cr0(vcpu) & ~X86_CR0_TS);
		break;
	case CR_QUAL_TYPE_LMSW:
		/* LMSW sets PE, never clears it; loads MP, EM, TS. */
		old = vcpu_read_cr0(vcpu);
		val = (old & ~0xeUL) | (CR_QUAL_LMSW_DATA(qual) & 0xf) | (old & X86_CR0_PE);
		vcpu_set_cr0(vcpu, val);
		break;
	}
	vcpu_skip_instruction(vcpu);
	return 1;
gp:
	vcpu_inject_gp(vcpu);
	return 1;
}

/* MOV to/from DR: the debug registers are emulated, not loaded. */
static int handle_dr_access(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	int dr = qual & 7, reg = (qual >> 8) & 0xf;
	bool to_reg = qual & BIT(4);

	if (dr == 4 || dr == 5) {
		if (vcpu_read_cr4(vcpu) & X86_CR4_DE) {
			vcpu_inject_ud(vcpu);
			return 1;
		}
		dr += 2;
	}
	if (to_reg) {
		unsigned long v = vcpu->dr[dr];

		vcpu_reg_write(vcpu, reg, v);
	} else {
		unsigned long v = vcpu_reg_read(vcpu, reg);

		if ((dr == 6 || dr == 7) && (v >> 32)) {
			vcpu_inject_gp(vcpu);
			return 1;
		}
		if (dr == 7) {
			/* Kept in the vCPU: the run loop loads DR0-3 if it enables any. */
			vcpu->dr[7] = vcpu_dr7_from_write(v);
			vcpu_load_guest_dr7(vcpu);
		} else if (dr == 6) {
			vcpu->dr[6] = vcpu_dr6_from_write(v);
		} else {
			vcpu->dr[dr] = v;
		}
	}
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_io(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	struct vapicvm_run *run = vcpu->run;
	unsigned int size = IO_QUAL_SIZE(qual);
	u64 val;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_IO);
	vcpu->exit_qual = qual;
	if (qual & IO_QUAL_STRING)
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);

	emulate_check_io_breakpoints(vcpu, IO_QUAL_PORT(qual), size);
	run->exit_reason = VAPICVM_EXIT_IO;
	run->io.port = IO_QUAL_PORT(qual);
	run->io.size = size;
	run->io.count = 1;
	run->io.data_offset = VAPICVM_RUN_IO_DATA_OFFSET;
	if (qual & IO_QUAL_IN) {
		run->io.direction = VAPICVM_EXIT_IO_IN;
		memset((u8 *)run + VAPICVM_RUN_IO_DATA_OFFSET, 0, 8);
		vcpu->completion = COMPLETE_PIO_IN;
		vcpu->pending_load.reg = VCPU_REG_RAX;
		vcpu->pending_load.reg_high8 = false;
		vcpu->pending_load.size = size;
		vcpu->pending_load.dst_size = size;
		vcpu->pending_load.sign_extend = false;
		vcpu->pending_load.kind = EMUL_LOAD_MOV;
		vcpu->pending_load.io_size = size;
		vcpu->pending_load.insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	} else {
		val = vcpu->regs[VCPU_REG_RAX];
		if (vm_ioeventfd_signal(vcpu->vm, true, run->io.port, size, val)) {
			vcpu_stat_inc(vcpu, VAPICVM_STAT_IOEVENTFD);
			vcpu_skip_instruction(vcpu);
			return 1;
		}
		run->io.direction = VAPICVM_EXIT_IO_OUT;
		memcpy((u8 *)run + VAPICVM_RUN_IO_DATA_OFFSET, &val, size);
		vcpu_skip_instruction(vcpu);
	}
	return 0;
}

static int handle_msr_read(struct vapicvm_vcpu *vcpu)
{
	u32 index = vcpu->regs[VCPU_REG_RCX];
	u64 data = 0;
	int r;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_MSR_READ);
	if (!vm_msr_allowed(vcpu->vm, index, false))
		return msr_filtered(vcpu, index, 0, false);
	r = vcpu_get_msr(vcpu, index, &data, false);
	if (r < 0)
		return r;
	if (r == MSR_RESULT_UNKNOWN &&
	    msr_exit_to_user(vcpu, index, 0, false, VAPICVM_MSR_EXIT_UNKNOWN))
		return 0;
	if (r) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	vcpu->regs[VCPU_REG_RAX] = (u32)data;
	vcpu->regs[VCPU_REG_RDX] = data >> 32;
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_msr_write(struct vapicvm_vcpu *vcpu)
{
	u32 index = vcpu->regs[VCPU_REG_RCX];
	u64 data = (u32)vcpu->regs[VCPU_REG_RAX] | ((u64)(u32)vcpu->regs[VCPU_REG_RDX] << 32);
	int r;

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE);
	if (!vm_msr_allowed(vcpu->vm, index, true))
		return msr_filtered(vcpu, index, data, true);
	r = vcpu_set_msr(vcpu, index, data, false);
	if (r < 0)
		return r;
	if (r == MSR_RESULT_UNKNOWN &&
	    msr_exit_to_user(vcpu, index, data, true, VAPICVM_MSR_EXIT_UNKNOWN))
		return 0;
	if (r) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	vcpu_skip_instruction(vcpu);
	return 1;
}

void vcpu_reblock_nmi_after_iret(struct vapicvm_vcpu *vcpu, unsigned long qual)
{
	/* Not while delivering an event: then the IRET is not the cause. */
	if ((qual & INTR_INFO_NMI_UNBLOCK_IRET) && cpu_has_virtual_nmis() &&
	    !(vcpu->idt_vectoring_info & INTR_INFO_VALID))
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) | GUEST_INTR_STATE_NMI);
}

static int handle_ept_violation(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	u64 gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	int r;

	vcpu_reblock_nmi_after_iret(vcpu, qual);
	vcpu->l1d_flush_pending = true;	/* host memory is touched for it */
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_EPT_VIOLATION);
	vcpu->exit_qual = qual;
	/*
	 * An EPT violation while delivering an event (e.g. the IDT page was
	 * not yet mapped) is fine for RAM: map it and the event is re-injected.
	 * For MMIO it cannot be emulated.
	 */
	if (apicv_mmio_in_range(vcpu, gpa)) {
		if (vcpu->idt_vectoring_info & INTR_INFO_VALID)
			return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_DELIVERY_EV);
		return apicv_emulate_mmio(vcpu, gpa);
	}
	r = vm_fault_in(vcpu->vm, gpa, qual & EPT_QUAL_WRITE);
	if (r < 0)
		return r;
	if (r == 0)
		return 1;
	if (vcpu->idt_vectoring_info & INTR_INFO_VALID)
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_DELIVERY_EV);
	if (qual & EPT_QUAL_FETCH)
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
	return emulate_mmio(vcpu, gpa);
}

static int handle_ept_misconfig(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_EPT_MISCONFIG);
	pr_warn_ratelimited("EPT misconfiguration at %#llx\n",
			    vmcs_read64(GUEST_PHYSICAL_ADDRESS));
	return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT);
}

static int handle_preemption_timer(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_PREEMPT_TIMER);
	lapic_hv_timer_expired(vcpu);
	return 1;
}

static int handle_wbinvd(struct vapicvm_vcpu *vcpu)
{
	/* Guest memory is write-back through EPT: nothing to write back. */
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_xsetbv(struct vapicvm_vcpu *vcpu)
{
	u32 index = vcpu->regs[VCPU_REG_RCX];
	u64 xcr0 = (u32)vcpu->regs[VCPU_REG_RAX] | ((u64)(u32)vcpu->regs[VCPU_REG_RDX] << 32);

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_XSETBV);
	if (index != 0 || !vcpu_xcr0_valid(vcpu, xcr0)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	vcpu->xcr0 = xcr0;
	vcpu_skip_instruction(vcpu);
	return 1;
}

/* Only PAUSE-loop exiting makes PAUSE exit (spin.c). */
static int handle_pause(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_PAUSE);
	vcpu_skip_instruction(vcpu);
	vcpu_on_spin(vcpu);
	return 1;
}

typedef int (*exit_handler_t)(struct vapicvm_vcpu *vcpu);

static const exit_handler_t exit_handlers[EXIT_REASON_MAX] = {
	[EXIT_REASON_EXCEPTION_NMI]		= handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT]		= handle_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW]		= handle_interrupt_window,
	[EXIT_REASON_NMI_WINDOW]		= handle_nmi_window,
	[EXIT_REASON_CPUID]			= handle_cpuid,
	[EXIT_REASON_GETSEC]			= handle_inject_ud,
	[EXIT_REASON_HLT]			= handle_hlt,
	[EXIT_REASON_INVD]			= handle_invd,
	[EXIT_REASON_RDPMC]			= handle_rdpmc,
	[EXIT_REASON_VMCALL]			= handle_vmcall,
	[EXIT_REASON_VMCLEAR]			= handle_inject_ud,
	[EXIT_REASON_VMLAUNCH]			= handle_inject_ud,
	[EXIT_REASON_VMPTRLD]			= handle_inject_ud,
	[EXIT_REASON_VMPTRST]			= handle_inject_ud,
	[EXIT_REASON_VMREAD]			= handle_inject_ud,
	[EXIT_REASON_VMRESUME]			= handle_inject_ud,
	[EXIT_REASON_VMWRITE]			= handle_inject_ud,
	[EXIT_REASON_VMOFF]			= handle_inject_ud,
	[EXIT_REASON_VMON]			= handle_inject_ud,
	[EXIT_REASON_CR_ACCESS]			= handle_cr_access,
	[EXIT_REASON_DR_ACCESS]			= handle_dr_access,
	[EXIT_REASON_IO_INSTRUCTION]		= handle_io,
	[EXIT_REASON_MSR_READ]			= handle_msr_read,
	[EXIT_REASON_MSR_WRITE]			= handle_msr_write,

	[EXIT_REASON_MWAIT]			= handle_inject_ud,
	[EXIT_REASON_MTF]			= guest_debug_handle_mtf,
	[EXIT_REASON_MONITOR]			= handle_inject_ud,
	[EXIT_REASON_PAUSE]			= handle_pause,
	[EXIT_REASON_TPR_BELOW_THRESHOLD]	= apicv_handle_tpr_below_threshold,
	[EXIT_REASON_APIC_ACCESS]		= apicv_handle_apic_access,
	[EXIT_REASON_EOI_INDUCED]		= apicv_handle_eoi_induced,
	[EXIT_REASON_EPT_VIOLATION]		= handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]		= handle_ept_misconfig,
	[EXIT_REASON_INVEPT]			= handle_inject_ud,
	[EXIT_REASON_PREEMPTION_TIMER]		= handle_preemption_timer,
	[EXIT_REASON_INVVPID]			= handle_inject_ud,
	[EXIT_REASON_WBINVD]			= handle_wbinvd,
	[EXIT_REASON_XSETBV]			= handle_xsetbv,
	[EXIT_REASON_APIC_WRITE]		= apicv_handle_apic_write,
	[EXIT_REASON_PML_FULL]			= vcpu_handle_pml_full,
	[EXIT_REASON_INVPCID]			= handle_inject_ud,
	[EXIT_REASON_VMFUNC]			= handle_inject_ud,
	[EXIT_REASON_ENCLS]			= handle_inject_ud,
};

int vapicvm_handle_exit(struct vapicvm_vcpu *vcpu)
{
	u32 reason = EXIT_REASON_BASIC(vcpu->exit_reason);
	int r;

	if (vcpu->cpu2_ctls & SEC_ENABLE_PML)
		vcpu_pml_flush(vcpu);
	if (reason < EXIT_REASON_MAX && exit_handlers[reason]) {
		r = exit_handlers[reason](vcpu);
	} else {
		vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_OTHER);
		vcpu->exit_qual = vmcs_readl(EXIT_QUALIFICATION);
		r = emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT);
	}
	if (r > 0 && unlikely(vcpu->triple_fault)) {
		vcpu->triple_fault = false;
		vcpu->exception_pending = false;
		vcpu->run->exit_reason = VAPICVM_EXIT_SHUTDOWN;
		return 0;
	}
	return r;
}

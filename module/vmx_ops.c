// SPDX-License-Identifier: GPL-2.0
/*
 * The one path for a VMX instruction that failed or faulted (vmx_ops.h).
 *
 * Like KVM: such a failure is a bug in vapicvm, never something a guest or
 * a caller can cause, so it is reported once with everything needed to find
 * it, and the vCPU whose VMCS was current on this CPU is marked so that its
 * RUN ends in an internal-error exit instead of entering a guest whose
 * state was not written.  While VMX is being torn down for a reboot, or
 * on a CPU going offline, a fault is expected and reported by nobody (the
 * vCPU is still marked).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/percpu.h>

#include "vcpu.h"
#include "vmcs.h"
#include "vmx_enable.h"
#include "vmx_ops.h"

static DEFINE_PER_CPU(struct vapicvm_vcpu *, loaded_vcpu);

void vmx_ops_set_loaded_vcpu(struct vapicvm_vcpu *vcpu)
{
	this_cpu_write(loaded_vcpu, vcpu);
}

static const char *const insn_names[] = {
	[VMX_INSN_VMREAD] = "VMREAD",
	[VMX_INSN_VMWRITE] = "VMWRITE",
	[VMX_INSN_VMPTRLD] = "VMPTRLD",
	[VMX_INSN_VMCLEAR] = "VMCLEAR",
	[VMX_INSN_INVEPT] = "INVEPT",
	[VMX_INSN_INVVPID] = "INVVPID",
};

/* The VM-instruction error, without going through the accessors again. */
static u32 vm_instruction_error(void)
{
	unsigned long error = 0;

	asm_goto_output("1: vmread %[field], %[error]\n\t"
			"jbe %l[fail]\n\t"
			_ASM_EXTABLE(1b, %l[fail])
			: [error] "=r"(error)
			: [field] "r"((unsigned long)VM_INSTRUCTION_ERROR)
			: "cc" : fail);
	return error;
fail:
	return 0;
}

noinline void vmx_insn_failed(enum vmx_insn insn, bool fault, unsigned long arg0,
			      unsigned long arg1)
{
	struct vapicvm_vcpu *vcpu = this_cpu_read(loaded_vcpu);

	if (vcpu)
		WRITE_ONCE(vcpu->vmx_insn_failed, true);
	/* VMX left for a reboot, or by a CPU going offline: expected. */
	if (fault && (vmx_is_rebooting() || !vmx_is_on_this_cpu()))
		return;
	if (fault)
		WARN_ONCE(1, "%s(%#lx, %#lx) faulted: VMX is off on CPU %d\n",
			  insn_names[insn], arg0, arg1, raw_smp_processor_id());
	else
		WARN_ONCE(1, "%s(%#lx, %#lx) failed: VM-instruction error %u\n",
			  insn_names[insn], arg0, arg1, vm_instruction_error());
}

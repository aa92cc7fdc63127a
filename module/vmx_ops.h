/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw VMX instructions.  Nothing here knows about vCPUs or VMCS layout;
 * vmcs.h builds the typed accessors on top.
 *
 * Every VMX instruction reports failure through RFLAGS: CF=1 is VMfailInvalid
 * (no current VMCS), ZF=1 is VMfailValid (the VM-instruction error field of
 * the current VMCS says why).  And each can fault (#UD outside VMX
 * operation, after VMXOFF on reboot or on a CPU going offline): every one
 * has an exception-table fixup.  Apart from VMXON, VMXOFF and VM entry,
 * whose callers handle failure themselves, a failure or fault is a bug in
 * vapicvm and takes one path, vmx_insn_failed() (vmx_insn.c): reported
 * once, and the vCPU whose VMCS was current ends its next RUN in an
 * internal-error exit.  Callers of the accessors check nothing.
 */
#ifndef VAPICVM_VMX_OPS_H
#define VAPICVM_VMX_OPS_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#include <asm/asm.h>

#include "compat.h"

/* What failed, for the one report vmx_insn_failed() makes. */
enum vmx_insn {
	VMX_INSN_VMREAD,
	VMX_INSN_VMWRITE,
	VMX_INSN_VMPTRLD,
	VMX_INSN_VMCLEAR,
	VMX_INSN_INVEPT,
	VMX_INSN_INVVPID,
};

/*
 * fault: the instruction raised an exception (VMX is off on this CPU);
 * otherwise it reported VMfail.  arg0/arg1: the field and value, the
 * address, or the type and operand.
 */
void vmx_insn_failed(enum vmx_insn insn, bool fault, unsigned long arg0, unsigned long arg1);

struct vapicvm_vcpu;
/* Whose VMCS is current on this CPU (NULL: none), for vmx_insn_failed(). */
void vmx_ops_set_loaded_vcpu(struct vapicvm_vcpu *vcpu);

static __always_inline int vmx_on(u64 phys)
{
	asm goto("1: vmxon %0\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(phys) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

/* VMXOFF faults (#UD) when not in VMX operation: tolerate that. */
static __always_inline void vmx_off(void)
{
	asm goto("1: vmxoff\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "cc", "memory" : fault);
fault:
	return;
}

static __always_inline void vmcs_clear_phys(u64 phys)
{
	asm goto("1: vmclear %0\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(phys) : "cc", "memory" : fail, fault);
	return;
fail:
	vmx_insn_failed(VMX_INSN_VMCLEAR, false, phys, 0);
	return;
fault:
	vmx_insn_failed(VMX_INSN_VMCLEAR, true, phys, 0);
}

/* Returns whether the VMCS is now current: a failure is reported already. */
static __always_inline bool vmcs_load_phys(u64 phys)
{
	asm goto("1: vmptrld %0\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(phys) : "cc", "memory" : fail, fault);
	return true;
fail:
	vmx_insn_failed(VMX_INSN_VMPTRLD, false, phys, 0);
	return false;
fault:
	vmx_insn_failed(VMX_INSN_VMPTRLD, true, phys, 0);
	return false;
}

/* A failed or faulting VMREAD reads 0 (after the report). */
static __always_inline unsigned long __vmcs_readl(unsigned long field)
{
	unsigned long value;

	asm_goto_output("1: vmread %[field], %[value]\n\t"
			"jbe %l[fail]\n\t"
			_ASM_EXTABLE(1b, %l[fault])
			: [value] "=r"(value) : [field] "r"(field) : "cc" : fail, fault);
	return value;
fail:
	vmx_insn_failed(VMX_INSN_VMREAD, false, field, 0);
	return 0;
fault:
	vmx_insn_failed(VMX_INSN_VMREAD, true, field, 0);
	return 0;
}

static __always_inline void __vmcs_writel(unsigned long field, unsigned long value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [field] "r"(field), [value] "rm"(value) : "cc" : fail, fault);
	return;
fail:
	vmx_insn_failed(VMX_INSN_VMWRITE, false, field, value);
	return;
fault:
	vmx_insn_failed(VMX_INSN_VMWRITE, true, field, value);
}

/* INVEPT/INVVPID types (SDM Vol. 3C 30.3). */
#define INVEPT_SINGLE_CONTEXT		1
#define INVEPT_ALL_CONTEXT		2
#define INVVPID_INDIVIDUAL_ADDR		0
#define INVVPID_SINGLE_CONTEXT		1
#define INVVPID_ALL_CONTEXT		2

static __always_inline void __invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, gpa; } operand = { eptp, 0 };

	asm goto("1: invept %0, %1\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(operand), "r"(type) : "cc", "memory" : fail, fault);
	return;
fail:
	vmx_insn_failed(VMX_INSN_INVEPT, false, type, eptp);
	return;
fault:
	vmx_insn_failed(VMX_INSN_INVEPT, true, type, eptp);
}

static __always_inline void __invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct { u64 vpid : 16; u64 rsvd : 48; u64 gva; } operand = { vpid, 0, gva };

	asm goto("1: invvpid %0, %1\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(operand), "r"(type) : "cc", "memory" : fail, fault);
	return;
fail:
	vmx_insn_failed(VMX_INSN_INVVPID, false, type, vpid);
	return;
fault:
	vmx_insn_failed(VMX_INSN_INVVPID, true, type, vpid);
}

#endif /* VAPICVM_VMX_OPS_H */

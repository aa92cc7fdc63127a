/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw VMX instructions.  Nothing here knows about vCPUs or VMCS layout;
 * vmcs.h builds the typed accessors on top.
 *
 * Every VMX instruction reports failure through RFLAGS: CF=1 is VMfailInvalid
 * (no current VMCS), ZF=1 is VMfailValid (the VM-instruction error field of
 * the current VMCS says why).  The wrappers return 0 or -EIO accordingly.
 */
#ifndef VAPICVM_VMX_OPS_H
#define VAPICVM_VMX_OPS_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/compiler.h>
#include <asm/asm.h>

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

static __always_inline int vmcs_clear_phys(u64 phys)
{
	asm goto("vmclear %0\n\t"
		 "jbe %l[fail]"
		 : : "m"(phys) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline int vmcs_load_phys(u64 phys)
{
	asm goto("vmptrld %0\n\t"
		 "jbe %l[fail]"
		 : : "m"(phys) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline u64 vmcs_store_phys(void)
{
	u64 phys;

	asm volatile("vmptrst %0" : "=m"(phys) : : "cc");
	return phys;
}

/*
 * VMREAD of a field the current VMCS does not support is a bug in
 * vapicvm; reading 0 keeps the host alive and the exit handler that used it
 * reports an internal error.
 */
static __always_inline unsigned long __vmcs_readl(unsigned long field)
{
	unsigned long value;

	asm volatile("vmread %1, %0\n\t"
		     "jbe 1f\n\t"
		     "jmp 2f\n"
		     "1: xor %k0, %k0\n"
		     "2:"
		     : "=r"(value) : "r"(field) : "cc");
	return value;
}

/* Returns 0, or -EIO with the VM-instruction error left in the VMCS. */
static __always_inline int __vmcs_writel(unsigned long field, unsigned long value)
{
	asm goto("vmwrite %1, %0\n\t"
		 "jbe %l[fail]"
		 : : "r"(field), "rm"(value) : "cc" : fail);
	return 0;
fail:
	return -EIO;
}

/* INVEPT/INVVPID types (SDM Vol. 3C 30.3). */
#define INVEPT_SINGLE_CONTEXT		1
#define INVEPT_ALL_CONTEXT		2
#define INVVPID_INDIVIDUAL_ADDR		0
#define INVVPID_SINGLE_CONTEXT		1
#define INVVPID_ALL_CONTEXT		2

static __always_inline int __invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, gpa; } operand = { eptp, 0 };

	asm goto("invept %0, %1\n\t"
		 "jbe %l[fail]"
		 : : "m"(operand), "r"(type) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline int __invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct { u64 vpid : 16; u64 rsvd : 48; u64 gva; } operand = { vpid, 0, gva };

	asm goto("invvpid %0, %1\n\t"
		 "jbe %l[fail]"
		 : : "m"(operand), "r"(type) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

#endif /* VAPICVM_VMX_OPS_H */

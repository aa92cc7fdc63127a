/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel series vapicvm builds against, kept in one
 * place so that the rest of the module reads as if written for one kernel.
 */
#ifndef VAPICVM_COMPAT_H
#define VAPICVM_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "vapicvm needs Linux 6.1 or later"
#endif

/* class_create() lost its module argument in 6.4. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define vapicvm_class_create(name) class_create(name)
#else
#define vapicvm_class_create(name) class_create(THIS_MODULE, name)
#endif

/* vma->vm_flags is written through vm_flags_set() from 6.3 on. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define vapicvm_vm_flags_set(vma, flags) vm_flags_set(vma, flags)
#else
static inline void vapicvm_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * asm goto with outputs (VMREAD with its fault fixup): the kernel's wrapper
 * carries the workarounds for GCC bugs 98619 and 113921 (such an asm not
 * treated as volatile, hence merged or moved across VM entries, and
 * miscompiled); a kernel without the wrapper gets the volatile part.
 */
#ifndef asm_goto_output
#define asm_goto_output(x...) asm volatile goto(x)
#endif

#include <asm/apic.h>

/*
 * The host's NMI entry that runs on the current stack, for an NMI taken
 * as a VM exit: exported for KVM as asm_exc_nmi_noist up to 6.2, then as
 * asm_exc_nmi_kvm_vmx.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
extern void asm_exc_nmi_kvm_vmx(void);
#define vapicvm_host_nmi_entry asm_exc_nmi_kvm_vmx
#else
extern void asm_exc_nmi_noist(void);
#define vapicvm_host_nmi_entry asm_exc_nmi_noist
#endif

/* eventfd_signal() lost its count argument in 6.8. */
#include <linux/eventfd.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define vapicvm_eventfd_signal(ctx) eventfd_signal(ctx)
#else
#define vapicvm_eventfd_signal(ctx) eventfd_signal(ctx, 1)
#endif

/* struct fd's file became fd_file() in 6.12. */
#include <linux/file.h>
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

/*
 * IA32_VMX_BASIC's bits moved from <asm/msr-index.h> to <asm/vmx.h> in
 * 6.12 (and VMX_BASIC_TRUE_CTLS became BIT_ULL(55) there): the same
 * definition when the headers included give none.
 */
#ifndef VMX_BASIC_TRUE_CTLS
#define VMX_BASIC_TRUE_CTLS		BIT_ULL(55)
#endif

/* A dump's parsed attributes moved into its struct genl_info in 6.2. */
#include <net/genetlink.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define vapicvm_dumpit_attrs(dump) ((dump)->info.attrs)
#else
#define vapicvm_dumpit_attrs(dump) ((dump)->attrs)
#endif

/*
 * smp_send_reschedule() traces the IPI through ipi_send_cpu from 6.4 on: a
 * module that calls it needs the tracepoint's declaration.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#include <trace/events/ipi.h>
#endif

/*
 * Send one IPI with a given vector to a CPU.  From 6.6 on the APIC's
 * callbacks are static calls, of which only the mask variant's trampoline
 * is exported to modules (for KVM's posted interrupts).
 */
static inline void vapicvm_send_ipi(int cpu, int vector)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	__apic_send_IPI_mask(cpumask_of(cpu), vector);
#else
	apic->send_IPI(cpu, vector);
#endif
}

#endif /* VAPICVM_COMPAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX capabilities, read once from the VMX MSRs at module load, and the
 * VM-execution controls vapicvm uses, computed from them.  Everything else
 * asks the cpu_has_*() predicates instead of reading MSRs.
 */
#ifndef VAPICVM_CAPABILITIES_H
#define VAPICVM_CAPABILITIES_H

#include <linux/types.h>
#include "vmcs.h"

struct vmx_capabilities {
	u32 revision_id;
	u32 vmcs_size;
	u64 basic;
	u64 misc;
	u64 ept_vpid;
	u64 cr0_fixed0, cr0_fixed1;
	u64 cr4_fixed0, cr4_fixed1;
	/* Allowed 1-settings of each control word, from the (TRUE) MSRs. */
	u32 pin_allowed1, cpu_allowed1, cpu2_allowed1;
	u32 exit_allowed1, entry_allowed1;
	/* The controls every vCPU starts from; per-VM tiers add to these. */
	u32 pin, cpu, cpu2, exit, entry;
	/* Bits each control word must have set (allowed 0-settings). */
	u32 pin_must1, cpu_must1, cpu2_must1, exit_must1, entry_must1;
	u32 apicv_supported;	/* VAPICVM_APICV_* */
	/* XCR0 as Linux set it at boot, the same on every CPU; 0 without XSAVE. */
	u64 host_xcr0;
};

extern struct vmx_capabilities vmx_caps;

int vmx_capabilities_init(void);
/* Check that this CPU's VMX MSRs match the boot CPU's (run on each CPU). */
int vmx_capabilities_check_this_cpu(void);

static inline bool cpu_has_tpr_shadow(void)
{
	return vmx_caps.cpu_allowed1 & CPU_TPR_SHADOW;
}

static inline bool cpu_has_apic_access(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_VIRT_APIC_ACCESSES;
}

static inline bool cpu_has_apic_register_virt(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_APIC_REGISTER_VIRT;
}

static inline bool cpu_has_virtual_intr_delivery(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_VIRT_INTR_DELIVERY;
}

static inline bool cpu_has_x2apic_virt(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_VIRT_X2APIC_MODE;
}

static inline bool cpu_has_posted_intr(void)
{
	return (vmx_caps.pin_allowed1 & PIN_POSTED_INTR) &&
	       (vmx_caps.exit_allowed1 & EXIT_ACK_INTR_ON_EXIT);
}

/* VMX-preemption timer (Vol. 3C 26.5.1): counts down as TSC bit rate() toggles. */
static inline bool cpu_has_preemption_timer(void)
{
	return vmx_caps.pin_allowed1 & PIN_PREEMPTION_TIMER;
}

static inline unsigned int cpu_preemption_timer_rate(void)
{
	return vmx_caps.misc & 0x1f;	/* IA32_VMX_MISC bits 4:0 */
}

static inline bool cpu_has_ept_2mb_pages(void)
{
	return vmx_caps.ept_vpid & BIT_ULL(16);	/* VMX_EPT_2MB_PAGE */
}

static inline bool cpu_has_vpid(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_ENABLE_VPID;
}

static inline bool cpu_has_virtual_nmis(void)
{
	return vmx_caps.pin_allowed1 & PIN_VIRTUAL_NMIS;
}

static inline bool cpu_has_invpcid(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_ENABLE_INVPCID;
}

static inline bool cpu_has_rdtscp(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_ENABLE_RDTSCP;
}

/* Monitor trap flag (Vol. 3C 26.5.2): an exit after each guest instruction. */
static inline bool cpu_has_monitor_trap_flag(void)
{
	return vmx_caps.cpu_allowed1 & CPU_MONITOR_TRAP_FLAG;
}

/* PAUSE-loop exiting (Vol. 3C 26.1.3): an exit from a spin loop at CPL 0. */
static inline bool cpu_has_pause_loop_exiting(void)
{
	return vmx_caps.cpu2_allowed1 & SEC_PAUSE_LOOP_EXITING;
}

/* IA32_VMX_EPT_VPID_CAP bits (Vol. 3D A.10) */
#define VMX_EPT_PAGE_WALK_4		BIT_ULL(6)
#define VMX_EPT_MEMTYPE_WB		BIT_ULL(14)
#define VMX_EPT_2MB_PAGE		BIT_ULL(16)
#define VMX_EPT_1GB_PAGE		BIT_ULL(17)
#define VMX_EPT_INVEPT			BIT_ULL(20)
#define VMX_EPT_AD			BIT_ULL(21)
#define VMX_EPT_INVEPT_SINGLE		BIT_ULL(25)
#define VMX_EPT_INVEPT_ALL		BIT_ULL(26)
#define VMX_VPID_INVVPID		BIT_ULL(32)
#define VMX_VPID_INVVPID_ADDR		BIT_ULL(40)
#define VMX_VPID_INVVPID_SINGLE		BIT_ULL(41)
#define VMX_VPID_INVVPID_ALL		BIT_ULL(42)

static inline bool cpu_has_invept_single(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_INVEPT_SINGLE;
}

static inline bool cpu_has_invvpid_single(void)
{
	return vmx_caps.ept_vpid & VMX_VPID_INVVPID_SINGLE;
}

/* Page-modification logging (Vol. 3C 29.3.6), with the EPT dirty flags it needs. */
static inline bool cpu_has_pml(void)
{
	return (vmx_caps.cpu2_allowed1 & SEC_ENABLE_PML) && (vmx_caps.ept_vpid & VMX_EPT_AD);
}

#endif /* VAPICVM_CAPABILITIES_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Read the VMX capability MSRs once and decide the controls vapicvm runs
 * with.  A CPU without VMX, with VMX locked off by the firmware, or without
 * the features vapicvm cannot do without (EPT with 4-level walks and
 * write-back memory, unrestricted guest, MSR bitmaps) makes the module
 * refuse to load with a message saying which.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include <uapi/linux/vapicvm.h>
#include "apicv.h"
#include "capabilities.h"
#include "compat.h"

/* MSR numbers and IA32_FEATURE_CONTROL bits come from <asm/msr-index.h>. */
#define VMX_BASIC_32BIT_PHYS		BIT_ULL(48)
#define VMX_BASIC_MEMTYPE(b)		(((b) >> 50) & 0xf)
#define VMX_MEMTYPE_WB			6

struct vmx_capabilities vmx_caps __read_mostly;

/*
 * A ceiling on the APIC virtualization VMs may use, whatever the CPU
 * offers: for an administrator who must keep a feature off (an erratum, a
 * comparison with a lower tier).  Read-only after load, because VMs and
 * CAP_APICV answers already given rely on the set staying put.
 */
static uint apicv_features = VAPICVM_APICV_ALL;
module_param(apicv_features, uint, 0444);
MODULE_PARM_DESC(apicv_features,
		 "Mask of the VAPICVM_APICV_* features VMs may use: 0x1 TPR shadow, 0x2 APIC-access page, 0x4 APIC-register virtualization, 0x8 virtual-interrupt delivery, 0x10 x2APIC virtualization, 0x20 posted interrupts (default 0x3f: all the CPU has; a feature goes with what it needs)");

/*
 * A control MSR holds the allowed 0-settings in its low half (bits that
 * must be 1) and the allowed 1-settings in its high half (bits that may be
 * 1).  Returns the control word, or -EOPNOTSUPP if a required bit is not
 * allowed.
 */
static int adjust_controls(const char *what, u32 required, u32 optional,
			   u64 msr, u32 *result, u32 *allowed1, u32 *must1)
{
	u32 must = (u32)msr, may = (u32)(msr >> 32);
	u32 ctl = ((required | optional) & may) | must;

	*allowed1 = may;
	*must1 = must;
	if (required & ~ctl) {
		pr_err("CPU lacks required %s controls %#x\n", what, required & ~ctl);
		return -EOPNOTSUPP;
	}
	*result = ctl;
	return 0;
}

/* The APIC-virtualization features this CPU's controls offer, each alone. */
static u32 apicv_offered_by_cpu(void)
{
	u32 set = 0;

	if (cpu_has_tpr_shadow())
		set |= VAPICVM_APICV_TPR_SHADOW;
	if (cpu_has_apic_access())
		set |= VAPICVM_APICV_APIC_ACCESS;
	if (cpu_has_apic_register_virt())
		set |= VAPICVM_APICV_REGISTER_VIRT;
	if (cpu_has_virtual_intr_delivery())
		set |= VAPICVM_APICV_INTR_DELIVERY;
	if (cpu_has_x2apic_virt())
		set |= VAPICVM_APICV_X2APIC_VIRT;
	if (cpu_has_posted_intr())
		set |= VAPICVM_APICV_POSTED_INTR;
	return set;
}

int vmx_capabilities_init(void)
{
	struct vmx_capabilities *c = &vmx_caps;
	char names[128];
	u64 feat, pin, cpu, cpu2 = 0, exit, entry;
	bool true_ctls;
	int r;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_INTEL &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_ZHAOXIN &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_CENTAUR) {
		pr_err("not an Intel-compatible CPU: no VMX\n");
		return -ENODEV;
	}
	if (!(cpuid_ecx(1) & BIT(5))) {
		pr_err("CPU does not support VMX (CPUID.1:ECX.VMX = 0)\n");
		return -ENODEV;
	}
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat)) {
		pr_err("cannot read IA32_FEATURE_CONTROL\n");
		return -ENODEV;
	}
	if (!(feat & FEAT_CTL_LOCKED) || !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX is disabled by the firmware (IA32_FEATURE_CONTROL = %#llx)\n", feat);
		return -EOPNOTSUPP;
	}

	if (boot_cpu_has(X86_FEATURE_XSAVE))
		c->host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &c->basic))
		return -ENODEV;
	c->revision_id = c->basic & 0x7fffffff;
	c->vmcs_size = (c->basic >> 32) & 0x1fff;
	if (c->vmcs_size > PAGE_SIZE || (c->basic & VMX_BASIC_32BIT_PHYS) ||
	    VMX_BASIC_MEMTYPE(c->basic) != VMX_MEMTYPE_WB) {
		pr_err("unsupported IA32_VMX_BASIC %#llx\n", c->basic);
		return -EOPNOTSUPP;
	}
	true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS, pin);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS, cpu);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS, exit);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS, entry);
	rdmsrl(MSR_IA32_VMX_MISC, c->misc);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	if ((cpu >> 32) & CPU_ACTIVATE_SECONDARY)
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, cpu2);
	if ((cpu2 >> 32) & (SEC_ENABLE_EPT | SEC_ENABLE_VPID))
		rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, c->ept_vpid);

	r = adjust_controls("pin-based", PIN_EXT_INTR_EXITING | PIN_NMI_EXITING,
			    PIN_VIRTUAL_NMIS, pin,
			    &c->pin, &c->pin_allowed1, &c->pin_must1);
	if (r)
		return r;
	/*
	 * Every I/O port exits; MSRs go through a bitmap; HLT, MWAIT and
	 * MONITOR exit; guest debug registers are emulated.  The TPR shadow
	 * and the interrupt/NMI windows are added per VM and per exit.
	 */
	r = adjust_controls("processor-based",
			    CPU_HLT_EXITING | CPU_UNCOND_IO_EXITING | CPU_USE_MSR_BITMAPS |
			    CPU_MWAIT_EXITING | CPU_MONITOR_EXITING | CPU_MOV_DR_EXITING |
			    CPU_RDPMC_EXITING | CPU_ACTIVATE_SECONDARY,
			    0, cpu, &c->cpu, &c->cpu_allowed1, &c->cpu_must1);
	if (r)
		return r;
	/* With EPT, CR3 accesses need not exit; some CPUs force them on. */
	c->cpu &= ~((CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_INVLPG_EXITING |
		     CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING) & ~c->cpu_must1);
	r = adjust_controls("secondary processor-based",
			    SEC_ENABLE_EPT | SEC_UNRESTRICTED_GUEST,
			    SEC_ENABLE_VPID | SEC_ENABLE_INVPCID | SEC_WBINVD_EXITING, cpu2,
			    &c->cpu2, &c->cpu2_allowed1, &c->cpu2_must1);
	if (r)
		return r;
	r = adjust_controls("VM-exit",
			    EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT |
			    EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER |
			    EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT,
			    EXIT_SAVE_DEBUG_CONTROLS, exit,
			    &c->exit, &c->exit_allowed1, &c->exit_must1);
	if (r)
		return r;
	r = adjust_controls("VM-entry", ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT,
			    ENTRY_LOAD_DEBUG_CONTROLS, entry,
			    &c->entry, &c->entry_allowed1, &c->entry_must1);
	if (r)
		return r;
	c->entry &= ~(ENTRY_IA32E_MODE & ~c->entry_must1);

	if ((c->ept_vpid & (VMX_EPT_PAGE_WALK_4 | VMX_EPT_MEMTYPE_WB | VMX_EPT_INVEPT)) !=
	    (VMX_EPT_PAGE_WALK_4 | VMX_EPT_MEMTYPE_WB | VMX_EPT_INVEPT) ||
	    !(c->ept_vpid & (VMX_EPT_INVEPT_SINGLE | VMX_EPT_INVEPT_ALL))) {
		pr_err("EPT lacks 4-level walks, write-back or INVEPT (cap %#llx)\n",
		       c->ept_vpid);
		return -EOPNOTSUPP;
	}
	/* VPIDs are only worth having if we can invalidate them. */
	if (!(c->ept_vpid & VMX_VPID_INVVPID) ||
	    !(c->ept_vpid & (VMX_VPID_INVVPID_SINGLE | VMX_VPID_INVVPID_ALL))) {
		c->cpu2 &= ~SEC_ENABLE_VPID;
		c->cpu2_allowed1 &= ~SEC_ENABLE_VPID;
	}

	if (apicv_features & ~VAPICVM_APICV_ALL) {
		pr_err("apicv_features %#x has unknown bits (known: %#x)\n", apicv_features,
		       VAPICVM_APICV_ALL);
		return -EINVAL;
	}
	/* Usable only with everything the feature table says each needs. */
	c->apicv_supported = apicv_features_closure(apicv_offered_by_cpu() & apicv_features);
	apicv_features_format(names, sizeof(names), c->apicv_supported);
	pr_info("VMX revision %#x; APIC virtualization: %s\n", c->revision_id, names);
	return 0;
}

int vmx_capabilities_check_this_cpu(void)
{
	u64 basic, feat;

	if (!(cpuid_ecx(1) & BIT(5)) || rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat) ||
	    !(feat & FEAT_CTL_LOCKED) || !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -EOPNOTSUPP;
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic) || basic != vmx_caps.basic)
		return -EOPNOTSUPP;
	return 0;
}

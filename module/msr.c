// SPDX-License-Identifier: GPL-2.0
/*
 * The MSRs a guest may use.  Those the VMCS switches (FS/GS base, SYSENTER)
 * and KERNEL_GS_BASE pass through the MSR bitmap; the SYSCALL MSRs and
 * IA32_TSC_AUX are kept in the vCPU and loaded lazily (run.c); the APIC's
 * go to the local APIC model; the rest are emulated here or refused with
 * #GP, as on a CPU that lacks them.
 */
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "capabilities.h"
#include "cpuid.h"
#include "lapic.h"
#include "lapic_timer.h"
#include "msr.h"
#include "run.h"
#include "tsc.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vm.h"

/* IA32_FEATURE_CONTROL as the guest sees it: locked, VMX not enabled. */
#define GUEST_FEATURE_CONTROL		FEAT_CTL_LOCKED

/*
 * IA32_MISC_ENABLE (Vol. 4 Table 2-2).  Read/write: fast strings, automatic
 * thermal control, Enhanced SpeedStep, limit CPUID maxval (cpuid.c acts on
 * it), xTPR message disable and XD bit disable (cpuid.c and EFER.NXE act
 * on it).  Read-only: performance monitoring available (0: no PMU), BTS and
 * PEBS unavailable (1: no DS).  Every other bit is reserved, or (ENABLE
 * MONITOR FSM) belongs to a feature the vCPU does not have: #GP.
 */
#define MISC_ENABLE_RW		(MSR_IA32_MISC_ENABLE_FAST_STRING |		\
				 MSR_IA32_MISC_ENABLE_TM1 |			\
				 MSR_IA32_MISC_ENABLE_ENHANCED_SPEEDSTEP |	\
				 MSR_IA32_MISC_ENABLE_LIMIT_CPUID |		\
				 MSR_IA32_MISC_ENABLE_XTPR_DISABLE |		\
				 MSR_IA32_MISC_ENABLE_XD_DISABLE)
#define MISC_ENABLE_RO		(MSR_IA32_MISC_ENABLE_EMON |			\
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |		\
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)

void msr_bitmap_intercept(struct vapicvm_vcpu *vcpu, u32 msr, bool read, bool write)
{
	unsigned long *bitmap = page_address(vcpu->msr_bitmap);
	unsigned int base;

	/* Read-low, read-high, write-low, write-high: 1 KiB each. */
	if (msr <= 0x1fff) {
		base = 0;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		base = 0x400 * 8;
		msr &= 0x1fff;
	} else {
		return;
	}
	if (read)
		__set_bit(base + msr, bitmap);
	else
		__clear_bit(base + msr, bitmap);
	if (write)
		__set_bit(base + 0x800 * 8 + msr, bitmap);
	else
		__clear_bit(base + 0x800 * 8 + msr, bitmap);
}

void msr_bitmap_init(struct vapicvm_vcpu *vcpu)
{
	memset(page_address(vcpu->msr_bitmap), 0xff, PAGE_SIZE);
	msr_bitmap_intercept(vcpu, MSR_FS_BASE, false, false);
	msr_bitmap_intercept(vcpu, MSR_GS_BASE, false, false);
	msr_bitmap_intercept(vcpu, MSR_KERNEL_GS_BASE, false, false);
	msr_bitmap_intercept(vcpu, MSR_IA32_SYSENTER_CS, false, false);
	msr_bitmap_intercept(vcpu, MSR_IA32_SYSENTER_ESP, false, false);
	msr_bitmap_intercept(vcpu, MSR_IA32_SYSENTER_EIP, false, false);
}

static bool is_canonical(u64 addr)
{
	return (u64)((s64)(addr << 16) >> 16) == addr;
}

static bool pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (8 * i);

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

static bool efer_valid(struct vapicvm_vcpu *vcpu, u64 efer)
{
	u32 a, b, c, d;

	if (efer & ~VCPU_EFER_VALID)
		return false;
	cpuid_count(0x80000001, 0, &a, &b, &c, &d);
	if ((efer & (EFER_LME | EFER_LMA)) && !(d & BIT(29)))
		return false;
	if ((efer & EFER_NX) &&
	    (!(d & BIT(20)) || (vcpu->ia32_misc_enable & MSR_IA32_MISC_ENABLE_XD_DISABLE)))
		return false;
	return true;
}

/*
 * Move the guest's TSC by delta: IA32_TSC and IA32_TSC_ADJUST writes, and
 * the TSC-deadline timer, all read it as host TSC plus this offset.
 */
static void vcpu_add_tsc_offset(struct vapicvm_vcpu *vcpu, u64 delta)
{
	vcpu->tsc_offset += delta;
	vmcs_write64(TSC_OFFSET, vcpu->tsc_offset);
}

/* RDTSCP or RDPID in the vCPU's CPUID: IA32_TSC_AUX is the guest's. */
static bool guest_has_tsc_aux(struct vapicvm_vcpu *vcpu)
{
	return cpuid_guest_has(vcpu, 0x80000001, 0, CPUID_EDX, CPUID_X1_EDX_RDTSCP) ||
	       cpuid_guest_has(vcpu, 7, 0, CPUID_ECX, CPUID_7_ECX_RDPID);
}

/*
 * The MSRs a VMM saves and restores with GET/SET_MSRS to move a vCPU
 * (VAPICVM_GET_MSR_INDEX_LIST): the state this file keeps or the CPU holds
 * for the guest.  Not listed: constants (IA32_MCG_CAP, IA32_FEATURE_CONTROL,
 * the microcode revision) and the x2APIC registers, which GET/SET_LAPIC
 * carry.  IA32_APIC_BASE comes before IA32_TSC_DEADLINE, which only an
 * enabled APIC keeps.
 */
static const u32 msrs_to_save[] = {
	MSR_IA32_APICBASE, MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE,
	MSR_IA32_MISC_ENABLE, MSR_IA32_MCG_STATUS, MSR_IA32_DEBUGCTLMSR, MSR_IA32_CR_PAT,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_EFER,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_FS_BASE, MSR_GS_BASE,
	MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
};

unsigned int msr_save_list(u32 *out, unsigned int room)
{
	unsigned int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(msrs_to_save); i++) {
		if (msrs_to_save[i] == MSR_TSC_AUX && !cpu_has_rdtscp())
			continue;
		if (n < room)
			out[n] = msrs_to_save[i];
		n++;
	}
	return n;
}

int vcpu_get_msr(struct vapicvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	if (index >= 0x800 && index <= 0x8ff)
		return lapic_x2apic_read(vcpu, index, data);

	switch (index) {
	case MSR_IA32_TSC:
		*data = vcpu_guest_tsc(vcpu);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		if (!host && !cpuid_guest_has(vcpu, 7, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST))
			return MSR_RESULT_GP;
		*data = vcpu->tsc_adjust;
		return 0;
	case MSR_TSC_AUX:
		if (!cpu_has_rdtscp() || (!host && !guest_has_tsc_aux(vcpu)))
			return MSR_RESULT_GP;
		/* WRMSR always exits: the vCPU's copy is the value. */
		*data = vcpu->guest_tsc_aux;
		return 0;
	case MSR_IA32_MCG_CAP:
		/* Vol. 3B 17.3.1.1: no bank, and none of the optional MSRs. */
		*data = 0;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = 0;	/* no machine check is ever delivered to the guest */
		return 0;
	case MSR_IA32_APICBASE:
		*data = lapic_get_base(vcpu);
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		*data = lapic_get_tsc_deadline(vcpu);
		return 0;
	case MSR_IA32_FEAT_CTL:
		*data = GUEST_FEATURE_CONTROL;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = 0;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->ia32_misc_enable;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		*data = vmcs_read64(GUEST_IA32_DEBUGCTL);
		return 0;
	case MSR_IA32_CR_PAT:
		*data = vcpu->pat;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		*data = vmcs_read32(GUEST_SYSENTER_CS);
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmcs_readl(GUEST_SYSENTER_ESP);
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmcs_readl(GUEST_SYSENTER_EIP);
		return 0;
	case MSR_EFER:
		*data = vcpu->efer;
		return 0;
	case MSR_STAR:
		*data = vcpu->guest_star;
		return 0;
	case MSR_LSTAR:
		*data = vcpu->guest_lstar;
		return 0;
	case MSR_CSTAR:
		*data = vcpu->guest_cstar;
		return 0;
	case MSR_SYSCALL_MASK:
		*data = vcpu->guest_sfmask;
		return 0;
	case MSR_FS_BASE:
		*data = vmcs_readl(GUEST_FS_BASE);
		return 0;
	case MSR_GS_BASE:
		*data = vmcs_readl(GUEST_GS_BASE);
		return 0;
	case MSR_KERNEL_GS_BASE:
		/*
		 * Passed through: the hardware holds it while guest state is
		 * loaded.  No preemption between the check and the read, or
		 * the read could see the host's value.
		 */
		preempt_disable();
		if (vcpu->guest_msrs_loaded)
			rdmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_kernel_gs_base);
		*data = vcpu->guest_kernel_gs_base;
		preempt_enable();
		return 0;
	default:
		return MSR_RESULT_UNKNOWN;
	}
}

int vcpu_set_msr(struct vapicvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	if (index >= 0x800 && index <= 0x8ff)
		return lapic_x2apic_write(vcpu, index, data);

	switch (index) {
	case MSR_IA32_TSC: {
		u64 delta = data - vcpu_guest_tsc(vcpu);

		/*
		 * Vol. 3B 17.17.3: a write of IA32_TSC by software adds the
		 * TSC's change to IA32_TSC_ADJUST.  The host's restore does
		 * not (as KVM's).
		 */
		if (!host)
			vcpu->tsc_adjust += delta;
		vcpu_add_tsc_offset(vcpu, delta);
		return 0;
	}
	case MSR_IA32_TSC_ADJUST:
		if (!host) {
			if (!cpuid_guest_has(vcpu, 7, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST))
				return MSR_RESULT_GP;
			/* ... and a write of IA32_TSC_ADJUST adds its change to the TSC. */
			vcpu_add_tsc_offset(vcpu, data - vcpu->tsc_adjust);
		}
		vcpu->tsc_adjust = data;
		return 0;
	case MSR_TSC_AUX:
		/* Bits 63:32 are reserved (Vol. 3B 17.17.2). */
		if (!cpu_has_rdtscp() || (!host && !guest_has_tsc_aux(vcpu)) || (data >> 32))
			return MSR_RESULT_GP;
		vcpu->guest_tsc_aux = data;
		break;	/* loaded while guest state is (run.c) */
	case MSR_IA32_MCG_CAP:
		/* Read-only; the host may restore what it read. */
		return host && !data ? 0 : MSR_RESULT_GP;
	case MSR_IA32_MCG_STATUS:
		/* Vol. 3B 17.3.1.2: software may write 0 only. */
		return data ? MSR_RESULT_GP : 0;
	case MSR_IA32_APICBASE:
		return lapic_set_base(vcpu, data, host) ? MSR_RESULT_GP : 0;
	case MSR_IA32_TSC_DEADLINE:
		lapic_set_tsc_deadline(vcpu, data);
		return 0;
	case MSR_IA32_UCODE_REV:
		return 0;	/* the write that precedes a microcode-revision read */
	case MSR_IA32_FEAT_CTL:
		return host && data == GUEST_FEATURE_CONTROL ? 0 : MSR_RESULT_GP;
	case MSR_IA32_MISC_ENABLE:
		if (data & ~(MISC_ENABLE_RW | MISC_ENABLE_RO))
			return MSR_RESULT_GP;
		/* The guest cannot change a read-only bit; the host restores them. */
		if (!host && ((data ^ vcpu->ia32_misc_enable) & MISC_ENABLE_RO))
			return MSR_RESULT_GP;
		vcpu->ia32_misc_enable = data;
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
		/* No LBR, BTF or BTS: only 0 is accepted. */
		if (data)
			return MSR_RESULT_GP;
		vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
		return 0;
	case MSR_IA32_CR_PAT:
		if (!pat_valid(data))
			return MSR_RESULT_GP;
		vcpu->pat = data;
		vmcs_write64(GUEST_IA32_PAT, data);
		return 0;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(GUEST_SYSENTER_CS, data);
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vmcs_writel(GUEST_SYSENTER_ESP, data);
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vmcs_writel(GUEST_SYSENTER_EIP, data);
		return 0;
	case MSR_EFER:
		if (!efer_valid(vcpu, data))
			return MSR_RESULT_GP;
		/* LME may not change while paging is on (Vol. 3A 10.8.5). */
		if (!host && (vcpu_read_cr0(vcpu) & X86_CR0_PG) &&
		    ((data ^ vcpu->efer) & EFER_LME))
			return MSR_RESULT_GP;
		/*
		 * Nor may the host's leave IA-32e mode under CR4.PCIDE: VM
		 * entry refuses PCIDE outside it (Vol. 3C 26.3.1.1).
		 */
		if ((vcpu_read_cr4(vcpu) & X86_CR4_PCIDE) && !(data & EFER_LME))
			return MSR_RESULT_GP;
		if (host)
			vcpu->efer = data & ~EFER_LMA;
		vcpu_set_efer(vcpu, data);
		return 0;
	case MSR_STAR:
		vcpu->guest_star = data;
		break;
	case MSR_LSTAR:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vcpu->guest_lstar = data;
		break;
	case MSR_CSTAR:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vcpu->guest_cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		vcpu->guest_sfmask = data & 0xffffffff;
		break;
	case MSR_FS_BASE:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vmcs_writel(GUEST_FS_BASE, data);
		return 0;
	case MSR_GS_BASE:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vmcs_writel(GUEST_GS_BASE, data);
		return 0;
	case MSR_KERNEL_GS_BASE:
		if (!is_canonical(data))
			return MSR_RESULT_GP;
		vcpu->guest_kernel_gs_base = data;
		break;
	default:
		return MSR_RESULT_UNKNOWN;
	}
	/*
	 * The SYSCALL MSRs and KERNEL_GS_BASE live in hardware while guest
	 * state is loaded; a preemption between the check and the write would
	 * put a guest value in the host's MSR.
	 */
	preempt_disable();
	if (vcpu->guest_msrs_loaded)
		wrmsrl(index, data);
	preempt_enable();
	return 0;
}

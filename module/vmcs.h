/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMCS field encodings, control bits, exit reasons, and typed accessors.
 *
 * Encodings are from the SDM, Vol. 3D Appendix B.  A field's width is part of
 * its encoding (bits 14:13: 0 = 16-bit, 1 = 64-bit, 2 = 32-bit, 3 = natural),
 * so vmcs_read16/32/64/l() check at build time that the accessor matches.
 */
#ifndef VAPICVM_VMCS_H
#define VAPICVM_VMCS_H

#include <linux/build_bug.h>
#include "vmx_ops.h"

/* 16-bit control fields */
#define VIRTUAL_PROCESSOR_ID		0x0000
#define POSTED_INTR_NV			0x0002
/* 16-bit guest-state fields */
#define GUEST_ES_SELECTOR		0x0800
#define GUEST_CS_SELECTOR		0x0802
#define GUEST_SS_SELECTOR		0x0804
#define GUEST_DS_SELECTOR		0x0806
#define GUEST_FS_SELECTOR		0x0808
#define GUEST_GS_SELECTOR		0x080a
#define GUEST_LDTR_SELECTOR		0x080c
#define GUEST_TR_SELECTOR		0x080e
#define GUEST_INTR_STATUS		0x0810	/* RVI (7:0), SVI (15:8) */
#define GUEST_PML_INDEX			0x0812
/* 16-bit host-state fields */
#define HOST_ES_SELECTOR		0x0c00
#define HOST_CS_SELECTOR		0x0c02
#define HOST_SS_SELECTOR		0x0c04
#define HOST_DS_SELECTOR		0x0c06
#define HOST_FS_SELECTOR		0x0c08
#define HOST_GS_SELECTOR		0x0c0a
#define HOST_TR_SELECTOR		0x0c0c

/* 64-bit control fields */
#define IO_BITMAP_A			0x2000
#define IO_BITMAP_B			0x2002
#define MSR_BITMAP			0x2004
#define VM_EXIT_MSR_STORE_ADDR		0x2006
#define VM_EXIT_MSR_LOAD_ADDR		0x2008
#define VM_ENTRY_MSR_LOAD_ADDR		0x200a
#define PML_ADDRESS			0x200e
#define TSC_OFFSET			0x2010
#define VIRTUAL_APIC_PAGE_ADDR		0x2012
#define APIC_ACCESS_ADDR		0x2014
#define POSTED_INTR_DESC_ADDR		0x2016
#define EPT_POINTER			0x201a
#define EOI_EXIT_BITMAP0		0x201c
#define EOI_EXIT_BITMAP1		0x201e
#define EOI_EXIT_BITMAP2		0x2020
#define EOI_EXIT_BITMAP3		0x2022
#define TSC_MULTIPLIER			0x2032
/* 64-bit read-only data field */
#define GUEST_PHYSICAL_ADDRESS		0x2400
/* 64-bit guest-state fields */
#define VMCS_LINK_POINTER		0x2800
#define GUEST_IA32_DEBUGCTL		0x2802
#define GUEST_IA32_PAT			0x2804
#define GUEST_IA32_EFER			0x2806
#define GUEST_PDPTR0			0x280a
#define GUEST_PDPTR1			0x280c
#define GUEST_PDPTR2			0x280e
#define GUEST_PDPTR3			0x2810
/* 64-bit host-state fields */
#define HOST_IA32_PAT			0x2c00
#define HOST_IA32_EFER			0x2c02

/* 32-bit control fields */
#define PIN_BASED_VM_EXEC_CONTROL	0x4000
#define CPU_BASED_VM_EXEC_CONTROL	0x4002
#define EXCEPTION_BITMAP		0x4004
#define PAGE_FAULT_ERROR_CODE_MASK	0x4006
#define PAGE_FAULT_ERROR_CODE_MATCH	0x4008
#define CR3_TARGET_COUNT		0x400a
#define VM_EXIT_CONTROLS		0x400c
#define VM_EXIT_MSR_STORE_COUNT		0x400e
#define VM_EXIT_MSR_LOAD_COUNT		0x4010
#define VM_ENTRY_CONTROLS		0x4012
#define VM_ENTRY_MSR_LOAD_COUNT		0x4014
#define VM_ENTRY_INTR_INFO		0x4016
#define VM_ENTRY_EXCEPTION_ERROR_CODE	0x4018
#define VM_ENTRY_INSTRUCTION_LEN	0x401a
#define TPR_THRESHOLD			0x401c
#define SECONDARY_VM_EXEC_CONTROL	0x401e
#define PLE_GAP				0x4020
#define PLE_WINDOW			0x4022
/* 32-bit read-only data fields */
#define VM_INSTRUCTION_ERROR		0x4400
#define VM_EXIT_REASON			0x4402
#define VM_EXIT_INTR_INFO		0x4404
#define VM_EXIT_INTR_ERROR_CODE		0x4406
#define IDT_VECTORING_INFO		0x4408
#define IDT_VECTORING_ERROR_CODE	0x440a
#define VM_EXIT_INSTRUCTION_LEN		0x440c
#define VMX_INSTRUCTION_INFO		0x440e
/* 32-bit guest-state fields */
#define GUEST_ES_LIMIT			0x4800
#define GUEST_CS_LIMIT			0x4802
#define GUEST_SS_LIMIT			0x4804
#define GUEST_DS_LIMIT			0x4806
#define GUEST_FS_LIMIT			0x4808
#define GUEST_GS_LIMIT			0x480a
#define GUEST_LDTR_LIMIT		0x480c
#define GUEST_TR_LIMIT			0x480e
#define GUEST_GDTR_LIMIT		0x4810
#define GUEST_IDTR_LIMIT		0x4812
#define GUEST_ES_AR_BYTES		0x4814
#define GUEST_CS_AR_BYTES		0x4816
#define GUEST_SS_AR_BYTES		0x4818
#define GUEST_DS_AR_BYTES		0x481a
#define GUEST_FS_AR_BYTES		0x481c
#define GUEST_GS_AR_BYTES		0x481e
#define GUEST_LDTR_AR_BYTES		0x4820
#define GUEST_TR_AR_BYTES		0x4822
#define GUEST_INTERRUPTIBILITY_INFO	0x4824
#define GUEST_ACTIVITY_STATE		0x4826
#define GUEST_SYSENTER_CS		0x482a
#define VMX_PREEMPTION_TIMER_VALUE	0x482e
/* 32-bit host-state field */
#define HOST_IA32_SYSENTER_CS		0x4c00

/* Natural-width control fields */
#define CR0_GUEST_HOST_MASK		0x6000
#define CR4_GUEST_HOST_MASK		0x6002
#define CR0_READ_SHADOW			0x6004
#define CR4_READ_SHADOW			0x6006
/* Natural-width read-only data fields */
#define EXIT_QUALIFICATION		0x6400
#define GUEST_LINEAR_ADDRESS		0x640a
/* Natural-width guest-state fields */
#define GUEST_CR0			0x6800
#define GUEST_CR3			0x6802
#define GUEST_CR4			0x6804
#define GUEST_ES_BASE			0x6806
#define GUEST_CS_BASE			0x6808
#define GUEST_SS_BASE			0x680a
#define GUEST_DS_BASE			0x680c
#define GUEST_FS_BASE			0x680e
#define GUEST_GS_BASE			0x6810
#define GUEST_LDTR_BASE			0x6812
#define GUEST_TR_BASE			0x6814
#define GUEST_GDTR_BASE			0x6816
#define GUEST_IDTR_BASE			0x6818
#define GUEST_DR7			0x681a
#define GUEST_RSP			0x681c
#define GUEST_RIP			0x681e
#define GUEST_RFLAGS			0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS	0x6822
#define GUEST_SYSENTER_ESP		0x6824
#define GUEST_SYSENTER_EIP		0x6826
/* Natural-width host-state fields */
#define HOST_CR0			0x6c00
#define HOST_CR3			0x6c02
#define HOST_CR4			0x6c04
#define HOST_FS_BASE			0x6c06
#define HOST_GS_BASE			0x6c08
#define HOST_TR_BASE			0x6c0a
#define HOST_GDTR_BASE			0x6c0c
#define HOST_IDTR_BASE			0x6c0e
#define HOST_IA32_SYSENTER_ESP		0x6c10
#define HOST_IA32_SYSENTER_EIP		0x6c12
#define HOST_RSP			0x6c14
#define HOST_RIP			0x6c16

/* Pin-based VM-execution controls (Vol. 3C 25.6.1) */
#define PIN_EXT_INTR_EXITING		BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)
#define PIN_PREEMPTION_TIMER		BIT(6)
#define PIN_POSTED_INTR			BIT(7)

/* Primary processor-based VM-execution controls (Vol. 3C 25.6.2) */
#define CPU_INTR_WINDOW_EXITING		BIT(2)
#define CPU_USE_TSC_OFFSETTING		BIT(3)
#define CPU_HLT_EXITING			BIT(7)
#define CPU_INVLPG_EXITING		BIT(9)
#define CPU_MWAIT_EXITING		BIT(10)
#define CPU_RDPMC_EXITING		BIT(11)
#define CPU_RDTSC_EXITING		BIT(12)
#define CPU_CR3_LOAD_EXITING		BIT(15)
#define CPU_CR3_STORE_EXITING		BIT(16)
#define CPU_CR8_LOAD_EXITING		BIT(19)
#define CPU_CR8_STORE_EXITING		BIT(20)
#define CPU_TPR_SHADOW			BIT(21)
#define CPU_NMI_WINDOW_EXITING		BIT(22)
#define CPU_MOV_DR_EXITING		BIT(23)
#define CPU_UNCOND_IO_EXITING		BIT(24)
#define CPU_USE_IO_BITMAPS		BIT(25)
#define CPU_MONITOR_TRAP_FLAG		BIT(27)
#define CPU_USE_MSR_BITMAPS		BIT(28)
#define CPU_MONITOR_EXITING		BIT(29)
#define CPU_PAUSE_EXITING		BIT(30)
#define CPU_ACTIVATE_SECONDARY		BIT(31)

/* Secondary processor-based VM-execution controls (Vol. 3C 25.6.2) */
#define SEC_VIRT_APIC_ACCESSES		BIT(0)
#define SEC_ENABLE_EPT			BIT(1)
#define SEC_DESC_EXITING		BIT(2)
#define SEC_ENABLE_RDTSCP		BIT(3)
#define SEC_VIRT_X2APIC_MODE		BIT(4)
#define SEC_ENABLE_VPID			BIT(5)
#define SEC_WBINVD_EXITING		BIT(6)
#define SEC_UNRESTRICTED_GUEST		BIT(7)
#define SEC_APIC_REGISTER_VIRT		BIT(8)
#define SEC_VIRT_INTR_DELIVERY		BIT(9)
#define SEC_PAUSE_LOOP_EXITING		BIT(10)
#define SEC_RDRAND_EXITING		BIT(11)
#define SEC_ENABLE_INVPCID		BIT(12)
#define SEC_ENABLE_VMFUNC		BIT(13)
#define SEC_RDSEED_EXITING		BIT(16)
#define SEC_ENABLE_PML			BIT(17)
#define SEC_ENABLE_XSAVES		BIT(20)
#define SEC_TSC_SCALING			BIT(25)

/* VM-exit controls (Vol. 3C 25.7.1) */
#define EXIT_SAVE_DEBUG_CONTROLS	BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE	BIT(9)
#define EXIT_ACK_INTR_ON_EXIT		BIT(15)
#define EXIT_SAVE_IA32_PAT		BIT(18)
#define EXIT_LOAD_IA32_PAT		BIT(19)
#define EXIT_SAVE_IA32_EFER		BIT(20)
#define EXIT_LOAD_IA32_EFER		BIT(21)

/* VM-entry controls (Vol. 3C 25.8.1) */
#define ENTRY_LOAD_DEBUG_CONTROLS	BIT(2)
#define ENTRY_IA32E_MODE		BIT(9)
#define ENTRY_LOAD_IA32_PAT		BIT(14)
#define ENTRY_LOAD_IA32_EFER		BIT(15)

/* Basic exit reasons (Vol. 3D Appendix C) */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INIT_SIGNAL		3
#define EXIT_REASON_SIPI_SIGNAL		4
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_TASK_SWITCH		9
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_GETSEC		11
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVD		13
#define EXIT_REASON_INVLPG		14
#define EXIT_REASON_RDPMC		15
#define EXIT_REASON_RDTSC		16
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMCLEAR		19
#define EXIT_REASON_VMLAUNCH		20
#define EXIT_REASON_VMPTRLD		21
#define EXIT_REASON_VMPTRST		22
#define EXIT_REASON_VMREAD		23
#define EXIT_REASON_VMRESUME		24
#define EXIT_REASON_VMWRITE		25
#define EXIT_REASON_VMOFF		26
#define EXIT_REASON_VMON		27
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_DR_ACCESS		29
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOAD_FAIL	34
#define EXIT_REASON_MWAIT		36
#define EXIT_REASON_MTF			37
#define EXIT_REASON_MONITOR		39
#define EXIT_REASON_PAUSE		40
#define EXIT_REASON_MCE_DURING_VMENTRY	41
#define EXIT_REASON_TPR_BELOW_THRESHOLD	43
#define EXIT_REASON_APIC_ACCESS		44
#define EXIT_REASON_EOI_INDUCED		45
#define EXIT_REASON_GDTR_IDTR		46
#define EXIT_REASON_LDTR_TR		47
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_INVEPT		50
#define EXIT_REASON_RDTSCP		51
#define EXIT_REASON_PREEMPTION_TIMER	52
#define EXIT_REASON_INVVPID		53
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_XSETBV		55
#define EXIT_REASON_APIC_WRITE		56
#define EXIT_REASON_RDRAND		57
#define EXIT_REASON_INVPCID		58
#define EXIT_REASON_VMFUNC		59
#define EXIT_REASON_ENCLS		60
#define EXIT_REASON_RDSEED		61
#define EXIT_REASON_PML_FULL		62
#define EXIT_REASON_XSAVES		63
#define EXIT_REASON_XRSTORS		64
#define EXIT_REASON_UMWAIT		67
#define EXIT_REASON_TPAUSE		68
#define EXIT_REASON_MAX			69

#define EXIT_REASON_BASIC(r)		((r) & 0xffff)
#define EXIT_REASON_FAILED_ENTRY	BIT(31)

/* Interruption-information format (VM_ENTRY_INTR_INFO, VM_EXIT_INTR_INFO) */
#define INTR_INFO_VECTOR_MASK		0xff
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7U << INTR_INFO_TYPE_SHIFT)
#define INTR_INFO_DELIVER_CODE		BIT(11)
#define INTR_INFO_NMI_UNBLOCK_IRET	BIT(12)
#define INTR_INFO_VALID			BIT(31)
#define INTR_TYPE_EXT_INTR		(0U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_NMI			(2U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_HARD_EXCEPTION	(3U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SOFT_INTR		(4U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_PRIV_SW_EXCEPTION	(5U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SOFT_EXCEPTION	(6U << INTR_INFO_TYPE_SHIFT)

/* Guest interruptibility state (Vol. 3C 25.4.2) */
#define GUEST_INTR_STATE_STI		BIT(0)
#define GUEST_INTR_STATE_MOV_SS		BIT(1)
#define GUEST_INTR_STATE_SMI		BIT(2)
#define GUEST_INTR_STATE_NMI		BIT(3)

/* Guest activity state */
#define GUEST_ACTIVITY_ACTIVE		0
#define GUEST_ACTIVITY_HLT		1
#define GUEST_ACTIVITY_SHUTDOWN		2
#define GUEST_ACTIVITY_WAIT_SIPI	3

/* Segment access rights (VMCS format) */
#define VMX_AR_TYPE_MASK		0x0f
#define VMX_AR_S			BIT(4)
#define VMX_AR_DPL_SHIFT		5
#define VMX_AR_P			BIT(7)
#define VMX_AR_AVL			BIT(12)
#define VMX_AR_L			BIT(13)
#define VMX_AR_DB			BIT(14)
#define VMX_AR_G			BIT(15)
#define VMX_AR_UNUSABLE			BIT(16)

/* Exit qualification for control-register accesses (Table 28-3) */
#define CR_QUAL_NUM(q)			((q) & 0xf)
#define CR_QUAL_TYPE(q)			(((q) >> 4) & 3)
#define CR_QUAL_TYPE_MOV_TO		0
#define CR_QUAL_TYPE_MOV_FROM		1
#define CR_QUAL_TYPE_CLTS		2
#define CR_QUAL_TYPE_LMSW		3
#define CR_QUAL_GPR(q)			(((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_DATA(q)		(((q) >> 16) & 0xffff)

/* Exit qualification for I/O instructions (Table 28-5) */
#define IO_QUAL_SIZE(q)			(((q) & 7) + 1)
#define IO_QUAL_IN			BIT(3)
#define IO_QUAL_STRING			BIT(4)
#define IO_QUAL_REP			BIT(5)
#define IO_QUAL_PORT(q)			(((q) >> 16) & 0xffff)

/* Exit qualification for EPT violations (Table 28-7) */
#define EPT_QUAL_READ			BIT(0)
#define EPT_QUAL_WRITE			BIT(1)
#define EPT_QUAL_FETCH			BIT(2)
#define EPT_QUAL_READABLE		BIT(3)
#define EPT_QUAL_WRITABLE		BIT(4)
#define EPT_QUAL_EXECUTABLE		BIT(5)
#define EPT_QUAL_GLA_VALID		BIT(7)
#define EPT_QUAL_NMI_UNBLOCK		BIT(12)

/* Exit qualification for APIC-access exits (Table 28-6) */
#define APIC_ACCESS_QUAL_OFFSET(q)	((q) & 0xfff)
#define APIC_ACCESS_QUAL_TYPE(q)	(((q) >> 12) & 0xf)
#define APIC_ACCESS_LINEAR_READ		0
#define APIC_ACCESS_LINEAR_WRITE	1
#define APIC_ACCESS_LINEAR_FETCH	2
#define APIC_ACCESS_LINEAR_EVENT	3
#define APIC_ACCESS_PHYS_EVENT		10
#define APIC_ACCESS_PHYS_FETCH		15

/* VM-instruction error numbers (Vol. 3C 31.4) worth naming */
#define VMXERR_ENTRY_INVALID_CONTROL	7
#define VMXERR_ENTRY_INVALID_HOST_STATE	8

/*
 * Width checks: a field's encoding says its width; using the wrong accessor
 * is a build error when the field is a constant.  Bit 0 set selects the high
 * half of a 64-bit field, which is 32 bits wide.
 */
#define VMCS_FIELD_WIDTH(f)		(((f) >> 13) & 3)
#define VMCS_WIDTH_16			0
#define VMCS_WIDTH_64			1
#define VMCS_WIDTH_32			2
#define VMCS_WIDTH_NATURAL		3

static __always_inline void vmcs_check_width(unsigned long field, unsigned int width)
{
	BUILD_BUG_ON_MSG(__builtin_constant_p(field) &&
			 (VMCS_FIELD_WIDTH(field) != width ||
			  (width == VMCS_WIDTH_64 && (field & 1))),
			 "VMCS field accessed with the wrong width");
}

static __always_inline u16 vmcs_read16(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	return __vmcs_readl(field);
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	return __vmcs_readl(field);
}

static __always_inline u64 vmcs_read64(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	return __vmcs_readl(field);
}

static __always_inline unsigned long vmcs_readl(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	return __vmcs_readl(field);
}

static __always_inline void vmcs_write16(unsigned long field, u16 value)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	__vmcs_writel(field, value);
}

static __always_inline void vmcs_write32(unsigned long field, u32 value)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	__vmcs_writel(field, value);
}

static __always_inline void vmcs_write64(unsigned long field, u64 value)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	__vmcs_writel(field, value);
}

static __always_inline void vmcs_writel(unsigned long field, unsigned long value)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	__vmcs_writel(field, value);
}

#endif /* VAPICVM_VMCS_H */

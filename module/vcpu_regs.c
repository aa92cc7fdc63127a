// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's architectural register state as the VMCS holds it: control
 * registers and EFER (with the bits vapicvm owns), segments, the state
 * after RESET, INIT and SIPI, and the register sets of GET/SET_REGS and
 * GET/SET_SREGS.  Callers have the vCPU's VMCS loaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <asm/fpu/api.h>
#include <asm/msr.h>

#include "apicv.h"
#include "capabilities.h"
#include "guest_debug.h"
#include "lapic.h"
#include "vcpu.h"
#include "vcpu_regs.h"

/* ------------------------------------------------------------------ */
/* Control registers and EFER                                          */
/* ------------------------------------------------------------------ */

unsigned long vcpu_read_cr0(struct vapicvm_vcpu *vcpu)
{
	return (vmcs_readl(CR0_READ_SHADOW) & VCPU_CR0_HOST_OWNED) |
	       (vmcs_readl(GUEST_CR0) & ~VCPU_CR0_HOST_OWNED);
}

unsigned long vcpu_read_cr4(struct vapicvm_vcpu *vcpu)
{
	return (vmcs_readl(CR4_READ_SHADOW) & VCPU_CR4_HOST_OWNED) |
	       (vmcs_readl(GUEST_CR4) & ~VCPU_CR4_HOST_OWNED);
}

static bool vcpu_is_pae_paging(struct vapicvm_vcpu *vcpu, unsigned long cr0, unsigned long cr4)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(vcpu->efer & EFER_LMA);
}

/*
 * With EPT, a PAE-paging guest's PDPTEs come from the VMCS at VM entry
 * (Vol. 3C 27.3.2.4): load them whenever a CR write enters PAE paging.
 */
static void vcpu_load_pdptrs(struct vapicvm_vcpu *vcpu)
{
	u64 pdpte[4] = { 0 };

	vm_read_guest(vcpu->vm, vmcs_readl(GUEST_CR3) & ~0x1fUL, pdpte, sizeof(pdpte));
	vmcs_write64(GUEST_PDPTR0, pdpte[0]);
	vmcs_write64(GUEST_PDPTR1, pdpte[1]);
	vmcs_write64(GUEST_PDPTR2, pdpte[2]);
	vmcs_write64(GUEST_PDPTR3, pdpte[3]);
}

static void vcpu_update_lma(struct vapicvm_vcpu *vcpu, unsigned long cr0)
{
	bool lma = (vcpu->efer & EFER_LME) && (cr0 & X86_CR0_PG);

	if (lma) {
		vcpu->efer |= EFER_LMA;
		vcpu->entry_ctls |= ENTRY_IA32E_MODE;
	} else {
		vcpu->efer &= ~EFER_LMA;
		vcpu->entry_ctls &= ~ENTRY_IA32E_MODE;
	}
	vmcs_write32(VM_ENTRY_CONTROLS, vcpu->entry_ctls);
	vmcs_write64(GUEST_IA32_EFER, vcpu->efer);
}

/* Callers have checked the value is architecturally valid. */
void vcpu_set_cr0(struct vapicvm_vcpu *vcpu, unsigned long cr0)
{
	/* Unrestricted guest: PE and PG may be clear; NE must stay set. */
	unsigned long hw = (cr0 | (vmx_caps.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG))) &
			   vmx_caps.cr0_fixed1;

	/* The guest's cache disable stays in its shadow: EPT sets memory types. */
	hw &= ~(X86_CR0_CD | X86_CR0_NW);

	vmcs_writel(CR0_READ_SHADOW, cr0);
	vmcs_writel(GUEST_CR0, hw);
	vcpu_update_lma(vcpu, cr0);
	if (vcpu_is_pae_paging(vcpu, cr0, vcpu_read_cr4(vcpu)))
		vcpu_load_pdptrs(vcpu);
}

int vcpu_set_cr4(struct vapicvm_vcpu *vcpu, unsigned long cr4)
{
	if (cr4 & VCPU_CR4_RESERVED)
		return -EINVAL;
	vmcs_writel(CR4_READ_SHADOW, cr4);
	vmcs_writel(GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	if (vcpu_is_pae_paging(vcpu, vcpu_read_cr0(vcpu), cr4))
		vcpu_load_pdptrs(vcpu);
	return 0;
}

void vcpu_set_efer(struct vapicvm_vcpu *vcpu, u64 efer)
{
	vcpu->efer = efer & ~EFER_LMA;
	vcpu_update_lma(vcpu, vcpu_read_cr0(vcpu));
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */
/* ------------------------------------------------------------------ */

static const struct segment_fields {
	u16 selector, base, limit, ar;
} seg_fields[] = {
	[VCPU_SEG_ES] = { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
	[VCPU_SEG_CS] = { GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES },
	[VCPU_SEG_SS] = { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
	[VCPU_SEG_DS] = { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
	[VCPU_SEG_FS] = { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
	[VCPU_SEG_GS] = { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
	[VCPU_SEG_LDTR] = { GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
			    GUEST_LDTR_AR_BYTES },
	[VCPU_SEG_TR] = { GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES },
};

void vcpu_get_segment(struct vapicvm_vcpu *vcpu, struct vapicvm_segment *s, int seg)
{
	const struct segment_fields *f = &seg_fields[seg];
	u32 ar = vmcs_read32(f->ar);

	memset(s, 0, sizeof(*s));
	s->selector = vmcs_read16(f->selector);
	s->base = vmcs_readl(f->base);
	s->limit = vmcs_read32(f->limit);
	s->unusable = !!(ar & VMX_AR_UNUSABLE);
	s->type = ar & VMX_AR_TYPE_MASK;
	s->s = !!(ar & VMX_AR_S);
	s->dpl = (ar >> VMX_AR_DPL_SHIFT) & 3;
	s->present = !!(ar & VMX_AR_P);
	s->avl = !!(ar & VMX_AR_AVL);
	s->l = !!(ar & VMX_AR_L);
	s->db = !!(ar & VMX_AR_DB);
	s->g = !!(ar & VMX_AR_G);
}

static void vcpu_set_segment(struct vapicvm_vcpu *vcpu, const struct vapicvm_segment *s,
			     int seg)
{
	const struct segment_fields *f = &seg_fields[seg];
	u32 ar;

	if (s->unusable || !s->present)
		ar = VMX_AR_UNUSABLE;
	else
		ar = (s->type & VMX_AR_TYPE_MASK) | (s->s ? VMX_AR_S : 0) |
		     ((s->dpl & 3) << VMX_AR_DPL_SHIFT) | VMX_AR_P |
		     (s->avl ? VMX_AR_AVL : 0) | (s->l ? VMX_AR_L : 0) |
		     (s->db ? VMX_AR_DB : 0) | (s->g ? VMX_AR_G : 0);
	vmcs_write16(f->selector, s->selector);
	vmcs_writel(f->base, s->base);
	vmcs_write32(f->limit, s->limit);
	vmcs_write32(f->ar, ar);
}

static void vcpu_set_segment_raw(int seg, u16 sel, unsigned long base, u32 limit, u32 ar)
{
	const struct segment_fields *f = &seg_fields[seg];

	vmcs_write16(f->selector, sel);
	vmcs_writel(f->base, base);
	vmcs_write32(f->limit, limit);
	vmcs_write32(f->ar, ar);
}

/* ------------------------------------------------------------------ */
/* Reset, INIT and SIPI                                                */
/* ------------------------------------------------------------------ */

/*
 * The architectural state after RESET or INIT (SDM Vol. 3A Table 10-1):
 * real mode, CS.base 0xffff0000, RIP 0xfff0.  INIT keeps the MSRs, the
 * FPU state and the local APIC's base; RESET resets them too.
 */
void vcpu_reset(struct vapicvm_vcpu *vcpu, bool init_only)
{
	int seg;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[VCPU_REG_RDX] = 0x600;	/* family/model/stepping */
	vmcs_writel(GUEST_RSP, 0);
	vmcs_writel(GUEST_RIP, 0xfff0);
	vmcs_writel(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vcpu->cr2 = 0;

	for (seg = 0; seg < VCPU_NR_SEGS; seg++)
		vcpu_set_segment_raw(seg, 0, 0, 0xffff, 0x93);
	vcpu_set_segment_raw(VCPU_SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
	vcpu_set_segment_raw(VCPU_SEG_LDTR, 0, 0, 0xffff, 0x82);
	vcpu_set_segment_raw(VCPU_SEG_TR, 0, 0, 0xffff, 0x8b);
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);

	vcpu->efer = 0;
	vmcs_writel(GUEST_CR3, 0);
	vcpu_set_cr4(vcpu, 0);
	vcpu_set_cr0(vcpu, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	vcpu_set_efer(vcpu, 0);
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr[6] = VCPU_DR6_FIXED_1;
	vcpu->dr[7] = 0x400;
	vcpu_load_guest_dr7(vcpu);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);

	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->nmi_pending = 0;
	vcpu->exception_pending = false;
	vcpu->triple_fault = false;
	vcpu->completion = COMPLETE_NONE;
	vcpu->db_trap_bits = 0;
	vcpu->idt_vectoring_info = 0;
	if (!init_only) {
		vcpu->pat = MSR_PAT_POWER_ON;
		vmcs_write64(GUEST_IA32_PAT, vcpu->pat);
		vmcs_write32(GUEST_SYSENTER_CS, 0);
		vmcs_writel(GUEST_SYSENTER_ESP, 0);
		vmcs_writel(GUEST_SYSENTER_EIP, 0);
		vcpu->guest_kernel_gs_base = 0;
		vcpu->guest_star = 0;
		vcpu->guest_lstar = 0;
		vcpu->guest_cstar = 0;
		vcpu->guest_sfmask = 0;
		vcpu->ia32_misc_enable = MSR_IA32_MISC_ENABLE_FAST_STRING |
					 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |
					 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL;
		vcpu->tsc_adjust = 0;
		vcpu->guest_tsc_aux = 0;
	}
	/* Loaded guest MSRs change too; no preemption between check and write. */
	preempt_disable();
	if (vcpu->guest_msrs_loaded) {
		wrmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_kernel_gs_base);
		wrmsrl(MSR_STAR, vcpu->guest_star);
		wrmsrl(MSR_LSTAR, vcpu->guest_lstar);
		wrmsrl(MSR_CSTAR, vcpu->guest_cstar);
		wrmsrl(MSR_SYSCALL_MASK, vcpu->guest_sfmask);
		if (cpu_has_rdtscp())
			wrmsrl(MSR_TSC_AUX, vcpu->guest_tsc_aux);
	}
	preempt_enable();
}

/* SIPI: start at vector:0000 in real mode (Vol. 3A 9.4.4). */
void vcpu_start_at_sipi_vector(struct vapicvm_vcpu *vcpu, u8 vector)
{
	vmcs_write16(GUEST_CS_SELECTOR, vector << 8);
	vmcs_writel(GUEST_CS_BASE, (u32)vector << 12);
	vmcs_writel(GUEST_RIP, 0);
}

/* ------------------------------------------------------------------ */
/* GET/SET_REGS and GET/SET_SREGS                                                     */
/* ------------------------------------------------------------------ */

void vcpu_get_regs(struct vapicvm_vcpu *vcpu, struct vapicvm_regs *r)
{
	r->rax = vcpu->regs[VCPU_REG_RAX];
	r->rbx = vcpu->regs[VCPU_REG_RBX];
	r->rcx = vcpu->regs[VCPU_REG_RCX];
	r->rdx = vcpu->regs[VCPU_REG_RDX];
	r->rsi = vcpu->regs[VCPU_REG_RSI];
	r->rdi = vcpu->regs[VCPU_REG_RDI];
	r->rsp = vmcs_readl(GUEST_RSP);
	r->rbp = vcpu->regs[VCPU_REG_RBP];
	r->r8 = vcpu->regs[VCPU_REG_R8];
	r->r9 = vcpu->regs[VCPU_REG_R9];
	r->r10 = vcpu->regs[VCPU_REG_R10];
	r->r11 = vcpu->regs[VCPU_REG_R11];
	r->r12 = vcpu->regs[VCPU_REG_R12];
	r->r13 = vcpu->regs[VCPU_REG_R13];
	r->r14 = vcpu->regs[VCPU_REG_R14];
	r->r15 = vcpu->regs[VCPU_REG_R15];
	r->rip = vmcs_readl(GUEST_RIP);
	r->rflags = vmcs_readl(GUEST_RFLAGS);
}

void vcpu_set_regs(struct vapicvm_vcpu *vcpu, const struct vapicvm_regs *r)
{
	vcpu->regs[VCPU_REG_RAX] = r->rax;
	vcpu->regs[VCPU_REG_RBX] = r->rbx;
	vcpu->regs[VCPU_REG_RCX] = r->rcx;
	vcpu->regs[VCPU_REG_RDX] = r->rdx;
	vcpu->regs[VCPU_REG_RSI] = r->rsi;
	vcpu->regs[VCPU_REG_RDI] = r->rdi;
	vmcs_writel(GUEST_RSP, r->rsp);
	vcpu->regs[VCPU_REG_RBP] = r->rbp;
	vcpu->regs[VCPU_REG_R8] = r->r8;
	vcpu->regs[VCPU_REG_R9] = r->r9;
	vcpu->regs[VCPU_REG_R10] = r->r10;
	vcpu->regs[VCPU_REG_R11] = r->r11;
	vcpu->regs[VCPU_REG_R12] = r->r12;
	vcpu->regs[VCPU_REG_R13] = r->r13;
	vcpu->regs[VCPU_REG_R14] = r->r14;
	vcpu->regs[VCPU_REG_R15] = r->r15;
	vmcs_writel(GUEST_RIP, r->rip);
	/* Reserved bits: bit 1 set, 3/5/15/22+ clear, as the CPU enforces. */
	vmcs_writel(GUEST_RFLAGS, (r->rflags & VCPU_RFLAGS_VALID) | X86_EFLAGS_FIXED);
	/* A new RIP abandons any half-done instruction. */
	vcpu->completion = COMPLETE_NONE;
	vcpu->db_trap_bits = 0;
}

void vcpu_get_sregs(struct vapicvm_vcpu *vcpu, struct vapicvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	vcpu_get_segment(vcpu, &s->cs, VCPU_SEG_CS);
	vcpu_get_segment(vcpu, &s->ds, VCPU_SEG_DS);
	vcpu_get_segment(vcpu, &s->es, VCPU_SEG_ES);
	vcpu_get_segment(vcpu, &s->fs, VCPU_SEG_FS);
	vcpu_get_segment(vcpu, &s->gs, VCPU_SEG_GS);
	vcpu_get_segment(vcpu, &s->ss, VCPU_SEG_SS);
	vcpu_get_segment(vcpu, &s->tr, VCPU_SEG_TR);
	vcpu_get_segment(vcpu, &s->ldt, VCPU_SEG_LDTR);
	s->gdt.base = vmcs_readl(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_readl(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
	s->cr0 = vcpu_read_cr0(vcpu);
	s->cr2 = vcpu->cr2;
	s->cr3 = vmcs_readl(GUEST_CR3);
	s->cr4 = vcpu_read_cr4(vcpu);
	s->cr8 = lapic_get_cr8(vcpu);
	s->efer = vcpu->efer;
	s->apic_base = lapic_get_base(vcpu);
}

static bool segment_padding_set(const struct vapicvm_segment *s)
{
	return s->padding;
}

int vcpu_set_sregs(struct vapicvm_vcpu *vcpu, const struct vapicvm_sregs *s)
{
	int i, r;

	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return -EINVAL;
	if ((s->efer & ~VCPU_EFER_VALID) || (s->cr4 & VCPU_CR4_RESERVED) ||
	    (s->cr4 & VCPU_CR4_UNSUPPORTED) || (s->cr4 & ~vmx_caps.cr4_fixed1) ||
	    (s->cr0 >> 32) || (s->cr8 & ~0xfULL))
		return -EINVAL;
	/* PCIDE only in IA-32e mode: VM entry refuses it in any other. */
	if ((s->cr4 & X86_CR4_PCIDE) && (!(s->efer & EFER_LME) || !(s->cr0 & X86_CR0_PG)))
		return -EINVAL;
	if (segment_padding_set(&s->cs) || segment_padding_set(&s->ds) ||
	    segment_padding_set(&s->es) || segment_padding_set(&s->fs) ||
	    segment_padding_set(&s->gs) || segment_padding_set(&s->ss) ||
	    segment_padding_set(&s->tr) || segment_padding_set(&s->ldt) ||
	    s->gdt.padding[0] || s->gdt.padding[1] || s->gdt.padding[2] ||
	    s->idt.padding[0] || s->idt.padding[1] || s->idt.padding[2])
		return -EINVAL;
	r = lapic_set_base(vcpu, s->apic_base, true);
	if (r)
		return r;
	vcpu_set_segment(vcpu, &s->cs, VCPU_SEG_CS);
	vcpu_set_segment(vcpu, &s->ds, VCPU_SEG_DS);
	vcpu_set_segment(vcpu, &s->es, VCPU_SEG_ES);
	vcpu_set_segment(vcpu, &s->fs, VCPU_SEG_FS);
	vcpu_set_segment(vcpu, &s->gs, VCPU_SEG_GS);
	vcpu_set_segment(vcpu, &s->ss, VCPU_SEG_SS);
	vcpu_set_segment(vcpu, &s->tr, VCPU_SEG_TR);
	vcpu_set_segment(vcpu, &s->ldt, VCPU_SEG_LDTR);
	vmcs_writel(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write32(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmcs_writel(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write32(GUEST_IDTR_LIMIT, s->idt.limit);
	vcpu->cr2 = s->cr2;
	vmcs_writel(GUEST_CR3, s->cr3);
	/* EFER first: CR0.PG with EFER.LME is what makes LMA. */
	vcpu->efer = s->efer & ~EFER_LMA;
	vcpu_set_cr4(vcpu, s->cr4);
	vcpu_set_cr0(vcpu, s->cr0);
	lapic_set_cr8(vcpu, s->cr8);
	return 0;
}


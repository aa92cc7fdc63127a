// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU file descriptor: creation, the VMCS and its life across host
 * CPUs, architectural register state, and the vCPU ioctls.
 *
 * A vCPU's VMCS is current on a host CPU only while the vCPU's thread runs
 * there inside an ioctl: vcpu_load() does VMPTRLD, and a preempt notifier
 * does VMCLEAR when the thread is scheduled out and VMPTRLD (with the new
 * CPU's host state) when it is scheduled back in, on whatever CPU.  So a
 * vCPU thread may be preempted and migrated at any point, and no VMCS is
 * ever active on a CPU without its owner running there.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "capabilities.h"
#include "cpuid.h"
#include "lapic.h"
#include "msr.h"
#include "vapicvm.h"
#include "vcpu_regs.h"
#include "vmenter.h"
#include "vmx_enable.h"

/* ------------------------------------------------------------------ */
/* VPIDs                                                               */
/* ------------------------------------------------------------------ */

#define VAPICVM_NR_VPIDS	4096
static DECLARE_BITMAP(vpid_bitmap, VAPICVM_NR_VPIDS);
static DEFINE_SPINLOCK(vpid_lock);

/* VPID 0 is the host's; 0 also means "no VPID": every entry then flushes. */
static u16 vpid_alloc(void)
{
	unsigned long vpid;

	if (!cpu_has_vpid())
		return 0;
	spin_lock(&vpid_lock);
	vpid = find_first_zero_bit(vpid_bitmap, VAPICVM_NR_VPIDS);
	if (vpid < VAPICVM_NR_VPIDS)
		__set_bit(vpid, vpid_bitmap);
	else
		vpid = 0;
	spin_unlock(&vpid_lock);
	return vpid;
}

static void vpid_free(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vpid_lock);
	__clear_bit(vpid, vpid_bitmap);
	spin_unlock(&vpid_lock);
}

/* ------------------------------------------------------------------ */
/* Loading the VMCS on a CPU                                           */
/* ------------------------------------------------------------------ */

static inline struct vapicvm_vcpu *pn_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct vapicvm_vcpu, preempt_notifier);
}

/* Host state that differs between CPUs: written on every load. */
static void vcpu_load_on_cpu(struct vapicvm_vcpu *vcpu, int cpu)
{
	struct desc_ptr gdt;
	unsigned long sysenter_esp;
	u64 gs_base;

	if (vmcs_load_phys(vcpu->vmcs_phys)) {
		/* Only possible if VMX were off here: a bug, not guest action. */
		pr_err_ratelimited("VMPTRLD failed on CPU %d\n", cpu);
		return;
	}
	vcpu->cpu = cpu;
	native_store_gdt(&gdt);
	vmcs_writel(HOST_GDTR_BASE, gdt.address);
	vmcs_writel(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	rdmsrl(MSR_GS_BASE, gs_base);
	vmcs_writel(HOST_GS_BASE, gs_base);
	rdmsrl(MSR_IA32_SYSENTER_ESP, sysenter_esp);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, sysenter_esp);
	if (vcpu->last_cpu != cpu) {
		/* This CPU may hold stale translations tagged with our VPID. */
		set_bit(VCPU_REQ_TLB_FLUSH, &vcpu->requests);
		vcpu->last_cpu = cpu;
	}
}

static void vcpu_unload_from_cpu(struct vapicvm_vcpu *vcpu)
{
	vcpu_prepare_switch_to_host(vcpu);
	vmcs_clear_phys(vcpu->vmcs_phys);
	vcpu->launched = false;
	vcpu->cpu = -1;
}

static void vcpu_sched_in(struct preempt_notifier *pn, int cpu)
{
	vcpu_load_on_cpu(pn_to_vcpu(pn), cpu);
}

static void vcpu_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	struct vapicvm_vcpu *vcpu = pn_to_vcpu(pn);

	if (READ_ONCE(vcpu->mode) == IN_GUEST_MODE)
		WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);
	vcpu_unload_from_cpu(vcpu);
}

static struct preempt_ops vcpu_preempt_ops = {
	.sched_in = vcpu_sched_in,
	.sched_out = vcpu_sched_out,
};

void vcpu_load(struct vapicvm_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->preempt_notifier);
	vcpu_load_on_cpu(vcpu, cpu);
	put_cpu();
}

void vcpu_put(struct vapicvm_vcpu *vcpu)
{
	preempt_disable();
	vcpu_unload_from_cpu(vcpu);
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/* ------------------------------------------------------------------ */
/* Requests and kicks                                                  */
/* ------------------------------------------------------------------ */

void vcpu_make_request(struct vapicvm_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
}

bool vcpu_check_request(struct vapicvm_vcpu *vcpu, int req)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	return test_and_clear_bit(req, &vcpu->requests);
}

/*
 * Make a vCPU notice new work: wake it if it is halted, and if it is in
 * guest mode on another CPU, interrupt it with a reschedule IPI (an
 * external-interrupt exit; the run loop then sees the request).
 */
void vcpu_kick(struct vapicvm_vcpu *vcpu)
{
	int cpu, me;

	rcuwait_wake_up(&vcpu->wait);
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0 && cpu != me &&
	    cmpxchg(&vcpu->mode, IN_GUEST_MODE, EXITING_GUEST_MODE) == IN_GUEST_MODE)
		smp_send_reschedule(cpu);
	put_cpu();
}

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
	u32 ar = __vmcs_readl(f->ar);

	memset(s, 0, sizeof(*s));
	s->selector = __vmcs_readl(f->selector);
	s->base = __vmcs_readl(f->base);
	s->limit = __vmcs_readl(f->limit);
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
	__vmcs_writel(f->selector, s->selector);
	__vmcs_writel(f->base, s->base);
	__vmcs_writel(f->limit, s->limit);
	__vmcs_writel(f->ar, ar);
}

static void vcpu_set_segment_raw(int seg, u16 sel, unsigned long base, u32 limit, u32 ar)
{
	const struct segment_fields *f = &seg_fields[seg];

	__vmcs_writel(f->selector, sel);
	__vmcs_writel(f->base, base);
	__vmcs_writel(f->limit, limit);
	__vmcs_writel(f->ar, ar);
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
	vmcs_writel(GUEST_DR7, 0x400);
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr[6] = 0xffff0ff0;
	vcpu->dr[7] = 0x400;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);

	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->nmi_pending = false;
	vcpu->nmi_injected = false;
	vcpu->exception_pending = false;
	vcpu->triple_fault = false;
	vcpu->completion = COMPLETE_NONE;
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
		vcpu->ia32_misc_enable = MSR_IA32_MISC_ENABLE_FAST_STRING;
	}
	/* Loaded guest MSRs change too; no preemption between check and write. */
	preempt_disable();
	if (vcpu->guest_msrs_loaded) {
		wrmsrl(MSR_KERNEL_GS_BASE, vcpu->guest_kernel_gs_base);
		wrmsrl(MSR_STAR, vcpu->guest_star);
		wrmsrl(MSR_LSTAR, vcpu->guest_lstar);
		wrmsrl(MSR_CSTAR, vcpu->guest_cstar);
		wrmsrl(MSR_SYSCALL_MASK, vcpu->guest_sfmask);
	}
	preempt_enable();
}

/* ------------------------------------------------------------------ */
/* VMCS setup                                                          */
/* ------------------------------------------------------------------ */

static void vcpu_setup_host_state(struct vapicvm_vcpu *vcpu)
{
	struct desc_ptr idt;
	u32 lo, hi;
	u64 efer, pat;

	vmcs_writel(HOST_CR0, read_cr0() & ~X86_CR0_TS);
	vcpu->host_cr3 = __read_cr3();
	vmcs_writel(HOST_CR3, vcpu->host_cr3);
	vcpu->host_cr4 = cr4_read_shadow();
	vmcs_writel(HOST_CR4, vcpu->host_cr4);
	vmcs_write16(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, __KERNEL_DS);
	/* Null DS/ES/FS/GS: vcpu_prepare_switch_to_host() restores the user's. */
	vmcs_write16(HOST_DS_SELECTOR, 0);
	vmcs_write16(HOST_ES_SELECTOR, 0);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	store_idt(&idt);
	vmcs_writel(HOST_IDTR_BASE, idt.address);
	vmcs_writel(HOST_RIP, (unsigned long)vmx_vmexit);
	rdmsr(MSR_IA32_SYSENTER_CS, lo, hi);
	vmcs_write32(HOST_IA32_SYSENTER_CS, lo);
	rdmsrl(MSR_IA32_SYSENTER_EIP, efer);
	vmcs_writel(HOST_IA32_SYSENTER_EIP, efer);
	rdmsrl(MSR_EFER, efer);
	vmcs_write64(HOST_IA32_EFER, efer);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write64(HOST_IA32_PAT, pat);
	vmcs_writel(HOST_FS_BASE, 0);
}

static void vcpu_setup_controls(struct vapicvm_vcpu *vcpu)
{
	vcpu->pin_ctls = vmx_caps.pin;
	vcpu->cpu_ctls = vmx_caps.cpu;
	vcpu->cpu2_ctls = vmx_caps.cpu2;
	vcpu->exit_ctls = vmx_caps.exit;
	vcpu->entry_ctls = vmx_caps.entry;
	if (vmx_caps.cpu_allowed1 & CPU_USE_TSC_OFFSETTING)
		vcpu->cpu_ctls |= CPU_USE_TSC_OFFSETTING;
	if (!vcpu->vpid)
		vcpu->cpu2_ctls &= ~SEC_ENABLE_VPID;
	if (!cpu_has_rdtscp())
		vcpu->cpu2_ctls &= ~SEC_ENABLE_RDTSCP;
	/* The APIC tier adds its controls. */
	lapic_setup_controls(vcpu);

	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, vcpu->pin_ctls);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vcpu->cpu_ctls);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vcpu->cpu2_ctls);
	vmcs_write32(VM_EXIT_CONTROLS, vcpu->exit_ctls);
	vmcs_write32(VM_ENTRY_CONTROLS, vcpu->entry_ctls);
}

static void vcpu_setup_vmcs(struct vapicvm_vcpu *vcpu)
{
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	vcpu_setup_controls(vcpu);
	/*
	 * #DB and #AC are intercepted and reflected: a guest could otherwise
	 * make their delivery loop forever and hang the host CPU
	 * (CVE-2015-8104, CVE-2015-5307).
	 */
	vmcs_write32(EXCEPTION_BITMAP, BIT(1) | BIT(17));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_writel(CR0_GUEST_HOST_MASK, VCPU_CR0_HOST_OWNED);
	vmcs_writel(CR4_GUEST_HOST_MASK, VCPU_CR4_HOST_OWNED);
	vmcs_write64(MSR_BITMAP, page_to_phys(vcpu->msr_bitmap));
	vmcs_write64(EPT_POINTER, vcpu->vm->ept.eptp);
	if (vcpu->vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	vmcs_write64(TSC_OFFSET, vcpu->tsc_offset);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vcpu_setup_host_state(vcpu);
	lapic_setup_vmcs(vcpu);
	vcpu_reset(vcpu, false);
}

/* ------------------------------------------------------------------ */
/* Register ioctls                                                     */
/* ------------------------------------------------------------------ */

static void vcpu_get_regs(struct vapicvm_vcpu *vcpu, struct vapicvm_regs *r)
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

static void vcpu_set_regs(struct vapicvm_vcpu *vcpu, const struct vapicvm_regs *r)
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
}

static void vcpu_get_sregs(struct vapicvm_vcpu *vcpu, struct vapicvm_sregs *s)
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

static int vcpu_set_sregs(struct vapicvm_vcpu *vcpu, const struct vapicvm_sregs *s)
{
	int i, r;

	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return -EINVAL;
	if ((s->efer & ~VCPU_EFER_VALID) || (s->cr4 & VCPU_CR4_RESERVED) ||
	    (s->cr4 & VCPU_CR4_UNSUPPORTED) || (s->cr4 & ~vmx_caps.cr4_fixed1) ||
	    (s->cr0 >> 32) || (s->cr8 & ~0xfULL))
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

/* ------------------------------------------------------------------ */
/* The vCPU file                                                       */
/* ------------------------------------------------------------------ */

static vm_fault_t vcpu_fault(struct vm_fault *vmf)
{
	struct vapicvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vcpu->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vcpu_vm_ops = {
	.fault = vcpu_fault,
};

static int vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* A private mapping would copy the run page on first write. */
	if (vma->vm_pgoff != 0 || vma_pages(vma) != 1 || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_ops = &vcpu_vm_ops;
	return 0;
}

static int vcpu_release(struct inode *inode, struct file *filp)
{
	struct vapicvm_vcpu *vcpu = filp->private_data;

	/* The vCPU itself lives as long as its VM (other vCPUs may IPI it). */
	vapicvm_vm_put(vcpu->vm);
	return 0;
}

static long vcpu_ioctl_stats(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_stats hdr;
	u32 n;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	n = min_t(u32, hdr.n, VAPICVM_STAT_NR);
	if (copy_to_user(argp + sizeof(hdr), vcpu->stats, n * sizeof(u64)))
		return -EFAULT;
	hdr.n = n;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

static long vcpu_ioctl_locked(struct vapicvm_vcpu *vcpu, unsigned int ioctl, void __user *argp)
{
	long r;

	switch (ioctl) {
	case VAPICVM_RUN:
		if (argp)
			return -EINVAL;
		return vcpu_run(vcpu);
	case VAPICVM_GET_REGS: {
		struct vapicvm_regs regs;

		vcpu_load(vcpu);
		vcpu_get_regs(vcpu, &regs);
		vcpu_put(vcpu);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	}
	case VAPICVM_SET_REGS: {
		struct vapicvm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		vcpu_load(vcpu);
		vcpu_set_regs(vcpu, &regs);
		vcpu_put(vcpu);
		return 0;
	}
	case VAPICVM_GET_SREGS: {
		struct vapicvm_sregs sregs;

		vcpu_load(vcpu);
		vcpu_get_sregs(vcpu, &sregs);
		vcpu_put(vcpu);
		return copy_to_user(argp, &sregs, sizeof(sregs)) ? -EFAULT : 0;
	}
	case VAPICVM_SET_SREGS: {
		struct vapicvm_sregs sregs;

		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		vcpu_load(vcpu);
		r = vcpu_set_sregs(vcpu, &sregs);
		vcpu_put(vcpu);
		return r;
	}
	case VAPICVM_GET_MSRS:
	case VAPICVM_SET_MSRS:
		return vcpu_ioctl_msrs(vcpu, argp, ioctl == VAPICVM_SET_MSRS);
	case VAPICVM_SET_CPUID:
		return vcpu_ioctl_set_cpuid(vcpu, argp);
	case VAPICVM_GET_XSAVE: {
		struct vapicvm_xsave *xsave = kzalloc(sizeof(*xsave), GFP_KERNEL);

		if (!xsave)
			return -ENOMEM;
		fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, xsave, sizeof(*xsave),
					       vcpu_supported_xcr0(), 0);
		r = copy_to_user(argp, xsave, sizeof(*xsave)) ? -EFAULT : 0;
		kfree(xsave);
		return r;
	}
	case VAPICVM_SET_XSAVE: {
		struct vapicvm_xsave *xsave = memdup_user(argp, sizeof(*xsave));
		u32 pkru = 0;

		if (IS_ERR(xsave))
			return PTR_ERR(xsave);
		r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, xsave,
						   vcpu_supported_xcr0(), &pkru);
		kfree(xsave);
		return r;
	}
	case VAPICVM_GET_LAPIC:
	case VAPICVM_SET_LAPIC:
		return lapic_ioctl_state(vcpu, argp, ioctl == VAPICVM_SET_LAPIC);
	case VAPICVM_SET_MP_STATE: {
		struct vapicvm_mp_state mp;

		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		if (mp.pad || mp.mp_state > VAPICVM_MP_STATE_HALTED)
			return -EINVAL;
		vcpu->halt_if = true;
		WRITE_ONCE(vcpu->mp_state, mp.mp_state);
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static long vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct vapicvm_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (_IOC_TYPE(ioctl) != VAPICVMIO || _IOC_NR(ioctl) < 0x80 || _IOC_NR(ioctl) >= 0xc0)
		return -ENOTTY;
	/*
	 * These work on a vCPU that is in RUN (a device thread injecting an
	 * interrupt, a monitor reading counters): they do not take the vCPU
	 * lock.  Interrupt delivery is posted, the counters are read racily.
	 */
	switch (ioctl) {
	case VAPICVM_INTERRUPT: {
		struct vapicvm_interrupt irq;

		if (copy_from_user(&irq, (void __user *)arg, sizeof(irq)))
			return -EFAULT;
		return lapic_ioctl_interrupt(vcpu, &irq);
	}
	case VAPICVM_GET_MP_STATE: {
		struct vapicvm_mp_state mp = { .mp_state = READ_ONCE(vcpu->mp_state) };

		return copy_to_user((void __user *)arg, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	case VAPICVM_GET_STATS:
		return vcpu_ioctl_stats(vcpu, (void __user *)arg);
	}
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = vcpu_ioctl_locked(vcpu, ioctl, (void __user *)arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vcpu_release,
	.unlocked_ioctl	= vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vcpu_mmap,
	.llseek		= noop_llseek,
};

/* ------------------------------------------------------------------ */
/* Creation and destruction                                            */
/* ------------------------------------------------------------------ */

static void vcpu_flush_vpid_this_cpu(void *data)
{
	struct vapicvm_vcpu *vcpu = data;

	/* The VPID will be reused: no CPU may keep translations tagged with it. */
	if (vmx_is_on_this_cpu())
		__invvpid(INVVPID_SINGLE_CONTEXT, vcpu->vpid, 0);
}

void vcpu_destroy(struct vapicvm_vcpu *vcpu)
{
	lapic_destroy(vcpu);
	if (vcpu->vpid && cpu_has_invvpid_single())
		on_each_cpu(vcpu_flush_vpid_this_cpu, vcpu, 1);
	vpid_free(vcpu->vpid);
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	kfree(vcpu->cpuid);
	if (vcpu->msr_bitmap)
		__free_page(vcpu->msr_bitmap);
	if (vcpu->vmcs)
		free_page((unsigned long)vcpu->vmcs);
	if (vcpu->run)
		free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

int vapicvm_create_vcpu(struct vapicvm_vm *vm, unsigned long id)
{
	struct vapicvm_vcpu *vcpu;
	int r, i;

	if (id >= VAPICVM_MAX_VCPU_ID)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	vcpu->last_cpu = -1;
	mutex_init(&vcpu->mutex);
	rcuwait_init(&vcpu->wait);
	preempt_notifier_init(&vcpu->preempt_notifier, &vcpu_preempt_ops);
	vcpu->mp_state = id == 0 ? VAPICVM_MP_STATE_RUNNABLE : VAPICVM_MP_STATE_UNINITIALIZED;

	r = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->msr_bitmap = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->vmcs || !vcpu->msr_bitmap)
		goto err_free;
	*(u32 *)vcpu->vmcs = vmx_caps.revision_id;
	vcpu->vmcs_phys = virt_to_phys(vcpu->vmcs);
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto err_free;
	vcpu->vpid = vpid_alloc();
	msr_bitmap_init(vcpu);
	r = lapic_create(vcpu);
	if (r)
		goto err_free;
	r = cpuid_set_default(vcpu);
	if (r)
		goto err_free;

	vcpu_load(vcpu);
	vcpu_setup_vmcs(vcpu);
	vcpu_put(vcpu);

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= VAPICVM_MAX_VCPUS)
		goto err_unlock;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto err_unlock;
	vapicvm_vm_get(vm);
	r = anon_inode_getfd("vapicvm-vcpu", &vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (r < 0) {
		refcount_dec(&vm->users);	/* the VM fd still holds one */
		goto err_unlock;
	}
	/* Publish after the vCPU is complete: IPI senders read locklessly. */
	smp_store_release(&vm->vcpus[vm->nr_vcpus], vcpu);
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	return r;

err_unlock:
	mutex_unlock(&vm->lock);
err_free:
	vcpu_destroy(vcpu);
	return r;
}

int vcpu_module_init(void)
{
	__set_bit(0, vpid_bitmap);
	/* Preempt notifiers are behind a static key that users must raise. */
	preempt_notifier_inc();
	return 0;
}

void vcpu_module_exit(void)
{
	preempt_notifier_dec();
}

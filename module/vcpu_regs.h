/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vCPU's architectural registers (vcpu_regs.c): which control-register
 * bits vapicvm owns, the valid bits of guest-visible registers, and the
 * functions that read and write them in the VMCS.
 */
#ifndef VAPICVM_VCPU_REGS_H
#define VAPICVM_VCPU_REGS_H

#include <asm/msr-index.h>
#include <linux/types.h>
#include <asm/processor-flags.h>

/*
 * DR6 and DR7 as a MOV to them stores a value (Vol. 3B 18.2.3-18.2.4): the
 * defined bits kept, the bits that read as 1 set (DR6 31:16, 11:4; DR7 10).
 */
#define VCPU_DR6_FIXED_1	0xffff0ff0UL

static inline unsigned long vcpu_dr6_from_write(u64 v)
{
	return (v & 0xf00f) | VCPU_DR6_FIXED_1;
}

static inline unsigned long vcpu_dr7_from_write(u64 v)
{
	return (v & 0xffff2bff) | 0x400;
}

/*
 * CR0 bits whose guest writes exit: PE/PG change the paging mode (EFER.LMA,
 * the IA-32e entry control, PDPTRs), NE is forced on by VMX while the guest
 * may believe it clear, CD/NW because the guest's cache control must not
 * reach the host's memory types through EPT.  The rest (MP, EM, TS, WP, AM)
 * only change how the guest's own instructions behave and are switched by
 * VMX with the rest of CR0; CR0 defines no other bit (setting one of bits
 * 63:32 is #GP).
 */
#define VCPU_CR0_HOST_OWNED	(X86_CR0_PE | X86_CR0_PG | X86_CR0_NE | X86_CR0_CD | \
				 X86_CR0_NW | X86_CR0_ET)

/*
 * CR4 bits the guest owns, whose writes do not exit: each only changes how
 * the guest's own instructions behave, and VMX switches it with the rest of
 * CR4 at every entry and exit.  (PGE is here because guests toggle it to
 * flush their TLB.)  Every other bit is host-owned and its writes exit to
 * be checked, because it changes the paging mode (PAE, PCIDE, LA57), is
 * VMX's own (VMXE), needs the vCPU's CPUID to offer it, or enables state
 * vapicvm does not switch: including any bit a newer CPU defines (KL, PKS,
 * UINTR, LASS, LAM, FRED...), which thus can never be enabled behind the
 * module's back, whatever CPU it runs on.
 */
#define VCPU_CR4_GUEST_OWNED	(X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PGE | \
				 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define VCPU_CR4_HOST_OWNED	(~(unsigned long)VCPU_CR4_GUEST_OWNED)
/* Known bits vapicvm does not virtualize: they stay clear (#GP). */
#define VCPU_CR4_UNSUPPORTED	(X86_CR4_LA57 | X86_CR4_SMXE | X86_CR4_PKE | X86_CR4_CET | \
				 X86_CR4_VMXE)
#define VCPU_CR4_RESERVED	(~(unsigned long)(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
				 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE |	  \
				 X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |		  \
				 X86_CR4_OSXMMEXCPT | X86_CR4_UMIP | X86_CR4_FSGSBASE |	  \
				 X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP |	  \
				 X86_CR4_SMAP))

#define VCPU_EFER_VALID		(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

#define VCPU_RFLAGS_VALID	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF |	\
				 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_TF |	\
				 X86_EFLAGS_IF | X86_EFLAGS_DF | X86_EFLAGS_OF |	\
				 X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_RF |	\
				 X86_EFLAGS_VM | X86_EFLAGS_AC | X86_EFLAGS_VIF |	\
				 X86_EFLAGS_VIP | X86_EFLAGS_ID)

/* Segment registers, in VMCS field order. */
enum vcpu_seg {
	VCPU_SEG_ES, VCPU_SEG_CS, VCPU_SEG_SS, VCPU_SEG_DS,
	VCPU_SEG_FS, VCPU_SEG_GS, VCPU_SEG_LDTR, VCPU_SEG_TR,
	VCPU_NR_SEGS
};

#define MSR_PAT_POWER_ON	0x0007040600070406ULL

struct vapicvm_vcpu;
struct vapicvm_segment;
struct vapicvm_regs;
struct vapicvm_sregs;

/* vcpu_regs.c; every caller has the vCPU's VMCS loaded. */
unsigned long vcpu_read_cr0(struct vapicvm_vcpu *vcpu);
unsigned long vcpu_read_cr4(struct vapicvm_vcpu *vcpu);
/* Callers have checked that the value is architecturally valid. */
void vcpu_set_cr0(struct vapicvm_vcpu *vcpu, unsigned long cr0);
int vcpu_set_cr4(struct vapicvm_vcpu *vcpu, unsigned long cr4);
void vcpu_set_efer(struct vapicvm_vcpu *vcpu, u64 efer);
void vcpu_get_segment(struct vapicvm_vcpu *vcpu, struct vapicvm_segment *s, int seg);
/* The state after RESET, or after INIT (which keeps MSRs and the FPU). */
void vcpu_reset(struct vapicvm_vcpu *vcpu, bool init_only);
void vcpu_start_at_sipi_vector(struct vapicvm_vcpu *vcpu, u8 vector);
void vcpu_get_regs(struct vapicvm_vcpu *vcpu, struct vapicvm_regs *r);
void vcpu_set_regs(struct vapicvm_vcpu *vcpu, const struct vapicvm_regs *r);
void vcpu_get_sregs(struct vapicvm_vcpu *vcpu, struct vapicvm_sregs *s);
int vcpu_set_sregs(struct vapicvm_vcpu *vcpu, const struct vapicvm_sregs *s);

#endif /* VAPICVM_VCPU_REGS_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction decoding for emulated memory accesses, and the guest page
 * walk it needs to fetch instructions.
 */
#include <linux/kernel.h>
#include <asm/processor-flags.h>

#include "emulate.h"
#include "lapic.h"
#include "run.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vm.h"

unsigned long vcpu_reg_read(struct vapicvm_vcpu *vcpu, int reg)
{
	if (reg == VCPU_REG_RSP)
		return vmcs_readl(GUEST_RSP);
	return vcpu->regs[reg];
}

void vcpu_reg_write(struct vapicvm_vcpu *vcpu, int reg, unsigned long val)
{
	if (reg == VCPU_REG_RSP)
		vmcs_writel(GUEST_RSP, val);
	else
		vcpu->regs[reg] = val;
}

void vcpu_advance_rip(struct vapicvm_vcpu *vcpu, unsigned int len)
{
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	unsigned long rip = vmcs_readl(GUEST_RIP) + len;

	if (!(vcpu->efer & EFER_LMA) || !(vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L))
		rip &= 0xffffffff;
	vmcs_writel(GUEST_RIP, rip);
	/* Completing an instruction ends an STI or MOV SS shadow. */
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

void vcpu_skip_instruction(struct vapicvm_vcpu *vcpu)
{
	vcpu_advance_rip(vcpu, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

int emulate_failure(struct vapicvm_vcpu *vcpu, u32 suberror)
{
	struct vapicvm_run *run = vcpu->run;

	run->exit_reason = VAPICVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 3;
	run->internal.data[0] = vcpu->exit_reason;
	run->internal.data[1] = vmcs_readl(EXIT_QUALIFICATION);
	run->internal.data[2] = vmcs_readl(GUEST_RIP);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Guest page walk                                                     */
/* ------------------------------------------------------------------ */

#define PTE_P		BIT_ULL(0)
#define PTE_PS		BIT_ULL(7)
#define PTE_ADDR	GENMASK_ULL(51, 12)

static int read_pte(struct vapicvm_vcpu *vcpu, u64 addr, u64 *pte, bool wide)
{
	u32 narrow;

	if (wide)
		return vm_read_guest(vcpu->vm, addr, pte, 8);
	if (vm_read_guest(vcpu->vm, addr, &narrow, 4))
		return -EFAULT;
	*pte = narrow;
	return 0;
}

int vcpu_gva_to_gpa(struct vapicvm_vcpu *vcpu, u64 gva, u64 *gpa)
{
	unsigned long cr0 = vcpu_read_cr0(vcpu), cr4 = vcpu_read_cr4(vcpu);
	u64 table = vmcs_readl(GUEST_CR3), pte;
	int level;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffff;
		return 0;
	}
	if (vcpu->efer & EFER_LMA) {
		table &= PTE_ADDR;
		for (level = 4; level >= 1; level--) {
			int shift = 12 + 9 * (level - 1);

			if (read_pte(vcpu, table + ((gva >> shift) & 0x1ff) * 8, &pte, true) ||
			    !(pte & PTE_P))
				return -EFAULT;
			if ((level == 3 || level == 2) && (pte & PTE_PS)) {
				u64 mask = BIT_ULL(shift) - 1;

				*gpa = (pte & PTE_ADDR & ~mask) | (gva & mask);
				return 0;
			}
			table = pte & PTE_ADDR;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}
	if (cr4 & X86_CR4_PAE) {
		static const u32 pdptr[4] = { GUEST_PDPTR0, GUEST_PDPTR1, GUEST_PDPTR2,
					      GUEST_PDPTR3 };

		gva &= 0xffffffff;
		pte = vmcs_read64(pdptr[gva >> 30]);
		if (!(pte & PTE_P))
			return -EFAULT;
		table = pte & PTE_ADDR;
		if (read_pte(vcpu, table + ((gva >> 21) & 0x1ff) * 8, &pte, true) ||
		    !(pte & PTE_P))
			return -EFAULT;
		if (pte & PTE_PS) {
			*gpa = (pte & PTE_ADDR & ~(BIT_ULL(21) - 1)) | (gva & (BIT_ULL(21) - 1));
			return 0;
		}
		table = pte & PTE_ADDR;
		if (read_pte(vcpu, table + ((gva >> 12) & 0x1ff) * 8, &pte, true) ||
		    !(pte & PTE_P))
			return -EFAULT;
		*gpa = (pte & PTE_ADDR) | (gva & 0xfff);
		return 0;
	}
	/* 32-bit paging. */
	gva &= 0xffffffff;
	table &= 0xfffff000;
	if (read_pte(vcpu, table + (gva >> 22) * 4, &pte, false) || !(pte & PTE_P))
		return -EFAULT;
	if ((pte & PTE_PS) && (cr4 & X86_CR4_PSE)) {
		*gpa = (pte & 0xffc00000) | ((pte & 0x1fe000) << 19) | (gva & 0x3fffff);
		return 0;
	}
	table = pte & 0xfffff000;
	if (read_pte(vcpu, table + ((gva >> 12) & 0x3ff) * 4, &pte, false) || !(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
	return 0;
}

/* Read guest linear memory, page by page. */
static int read_linear(struct vapicvm_vcpu *vcpu, u64 la, void *buf, unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
		u64 gpa;

		if (vcpu_gva_to_gpa(vcpu, la, &gpa) || vm_read_guest(vcpu->vm, gpa, buf, n))
			return -EFAULT;
		la += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

#define MAX_INSN_LEN	15

struct decode_ctx {
	const u8 *b;
	unsigned int pos, avail;
};

static int next_byte(struct decode_ctx *c, u8 *out)
{
	if (c->pos >= c->avail)
		return -EINVAL;
	*out = c->b[c->pos++];
	return 0;
}

static int skip_bytes(struct decode_ctx *c, unsigned int n)
{
	if (c->pos + n > c->avail)
		return -EINVAL;
	c->pos += n;
	return 0;
}

static u64 read_imm(struct decode_ctx *c, unsigned int n)
{
	u64 v = 0;

	memcpy(&v, c->b + c->pos, n);
	c->pos += n;
	return v;
}

/* Skip the ModRM memory operand's SIB and displacement; mod != 3 checked. */
static int skip_modrm_operand(struct decode_ctx *c, u8 modrm, unsigned int addr_size)
{
	u8 mod = modrm >> 6, rm = modrm & 7, sib;

	if (mod == 3)
		return -EINVAL;	/* a register operand: not a memory access */
	if (addr_size == 2) {
		if (mod == 0 && rm == 6)
			return skip_bytes(c, 2);
		return skip_bytes(c, mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4) {
		if (next_byte(c, &sib))
			return -EINVAL;
		if ((sib & 7) == 5 && mod == 0)
			return skip_bytes(c, 4);
	} else if (rm == 5 && mod == 0) {
		return skip_bytes(c, 4);	/* disp32, or RIP-relative */
	}
	return skip_bytes(c, mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

int emulate_decode(struct vapicvm_vcpu *vcpu, struct emul_insn *insn)
{
	u8 bytes[MAX_INSN_LEN], op, modrm, rex = 0;
	struct decode_ctx c = { .b = bytes, .avail = MAX_INSN_LEN };
	unsigned int op_size, addr_size, i;
	bool opsize_prefix = false, addrsize_prefix = false, long_mode;
	u32 cs_ar = vmcs_read32(GUEST_CS_AR_BYTES);
	u64 la = vmcs_readl(GUEST_CS_BASE) + vmcs_readl(GUEST_RIP);

	memset(insn, 0, sizeof(*insn));
	long_mode = (vcpu->efer & EFER_LMA) && (cs_ar & VMX_AR_L);
	if (!long_mode)
		la &= 0xffffffff;
	/* Fetch up to the end of the page first; more only if needed. */
	c.avail = min_t(unsigned int, MAX_INSN_LEN, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	if (read_linear(vcpu, la, bytes, c.avail))
		return -EFAULT;
	if (c.avail < MAX_INSN_LEN &&
	    !read_linear(vcpu, la + c.avail, bytes + c.avail, MAX_INSN_LEN - c.avail))
		c.avail = MAX_INSN_LEN;

	for (i = 0; i < MAX_INSN_LEN; i++) {
		if (next_byte(&c, &op))
			return -EINVAL;
		if (op == 0x66)
			opsize_prefix = true;
		else if (op == 0x67)
			addrsize_prefix = true;
		else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
			 op == 0x64 || op == 0x65 || op == 0xf0)
			continue;
		else if (op == 0xf2 || op == 0xf3)
			continue;	/* REP: meaningless for the MOV forms below */
		else
			break;
	}
	if (long_mode && (op & 0xf0) == 0x40) {
		rex = op;
		if (next_byte(&c, &op))
			return -EINVAL;
	}

	if (long_mode) {
		op_size = (rex & 8) ? 8 : opsize_prefix ? 2 : 4;
		addr_size = addrsize_prefix ? 4 : 8;
	} else {
		bool d = !(vcpu_read_cr0(vcpu) & X86_CR0_PE) ? false : !!(cs_ar & VMX_AR_DB);

		op_size = (d ^ opsize_prefix) ? 4 : 2;
		addr_size = (d ^ addrsize_prefix) ? 4 : 2;
	}

	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->size = (op & 1) ? op_size : 1;
		insn->write = !(op & 2);
		insn->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
		insn->reg_high8 = insn->size == 1 && !rex && insn->reg >= 4;
		insn->dst_size = insn->size;
		break;
	case 0xc6: case 0xc7:
		if (next_byte(&c, &modrm) || ((modrm >> 3) & 7) != 0 ||
		    skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->size = op == 0xc6 ? 1 : op_size;
		insn->write = true;
		insn->has_imm = true;
		i = min_t(unsigned int, insn->size, 4);
		if (c.pos + i > c.avail)
			return -EINVAL;
		insn->imm = read_imm(&c, i);
		if (insn->size == 8)
			insn->imm = (u64)(s64)(s32)insn->imm;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		if (skip_bytes(&c, addr_size))
			return -EINVAL;
		insn->size = (op & 1) ? op_size : 1;
		insn->write = op >= 0xa2;
		insn->reg = VCPU_REG_RAX;
		insn->dst_size = insn->size;
		break;
	case 0x84: case 0x85:			/* TEST r/m, reg */
	case 0x38: case 0x39:			/* CMP r/m, reg */
	case 0x3a: case 0x3b:			/* CMP reg, r/m */
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->kind = op >= 0x84 ? EMUL_LOAD_TEST : EMUL_LOAD_CMP;
		insn->mem_second = op == 0x3a || op == 0x3b;
		insn->size = (op & 1) ? op_size : 1;
		insn->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
		insn->reg_high8 = insn->size == 1 && !rex && insn->reg >= 4;
		break;
	case 0xf6: case 0xf7:			/* TEST r/m, imm */
	case 0x80: case 0x81: case 0x83:	/* CMP r/m, imm */
		if (next_byte(&c, &modrm))
			return -EINVAL;
		if (op >= 0xf6 ? ((modrm >> 3) & 7) != 0 : ((modrm >> 3) & 7) != 7)
			return -EINVAL;	/* NOT, NEG, MUL...; ADD, OR...: not emulated */
		if (skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->kind = op >= 0xf6 ? EMUL_LOAD_TEST : EMUL_LOAD_CMP;
		insn->size = (op == 0xf6 || op == 0x80) ? 1 : op_size;
		insn->has_imm = true;
		i = (op == 0x83 || insn->size == 1) ? 1 : min_t(unsigned int, insn->size, 4);
		if (c.pos + i > c.avail)
			return -EINVAL;
		insn->imm = read_imm(&c, i);
		/* imm8 (0x83) and imm32 (64-bit operand) are sign-extended. */
		if (i == 1 && insn->size > 1)
			insn->imm = (u64)(s64)(s8)insn->imm;
		else if (i == 4 && insn->size == 8)
			insn->imm = (u64)(s64)(s32)insn->imm;
		insn->imm &= insn->size == 8 ? ~0ULL : BIT_ULL(insn->size * 8) - 1;
		break;
	case 0x0f:
		if (next_byte(&c, &op))
			return -EINVAL;
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return -EINVAL;
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->size = (op & 1) ? 2 : 1;
		insn->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
		insn->dst_size = op_size;
		insn->sign_extend = op >= 0xbe;
		break;
	default:
		return -EINVAL;
	}
	insn->len = c.pos;
	return 0;
}

u64 emulate_store_value(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn)
{
	u64 v;

	if (insn->has_imm)
		return insn->imm;
	if (insn->reg_high8)
		return (vcpu_reg_read(vcpu, insn->reg - 4) >> 8) & 0xff;
	v = vcpu_reg_read(vcpu, insn->reg);
	return insn->size == 8 ? v : v & (BIT_ULL(insn->size * 8) - 1);
}

static void write_reg_sized(struct vapicvm_vcpu *vcpu, int reg, bool high8, unsigned int size,
			    u64 val)
{
	unsigned long old;

	if (high8) {
		old = vcpu_reg_read(vcpu, reg - 4);
		vcpu_reg_write(vcpu, reg - 4, (old & ~0xff00UL) | ((val & 0xff) << 8));
		return;
	}
	old = vcpu_reg_read(vcpu, reg);
	switch (size) {
	case 1:
		vcpu_reg_write(vcpu, reg, (old & ~0xffUL) | (val & 0xff));
		break;
	case 2:
		vcpu_reg_write(vcpu, reg, (old & ~0xffffUL) | (val & 0xffff));
		break;
	case 4:
		vcpu_reg_write(vcpu, reg, val & 0xffffffff);	/* zero-extends */
		break;
	default:
		vcpu_reg_write(vcpu, reg, val);
	}
}

static void finish_load(struct vapicvm_vcpu *vcpu, u8 reg, bool high8, u8 size, u8 dst_size,
			bool sign_extend, u64 val)
{
	val &= size == 8 ? ~0ULL : BIT_ULL(size * 8) - 1;
	if (sign_extend)
		val = size == 1 ? (u64)(s64)(s8)val : (u64)(s64)(s16)val;
	write_reg_sized(vcpu, reg, high8, dst_size, val);
}

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
			 X86_EFLAGS_SF | X86_EFLAGS_OF)

/* RFLAGS after TEST (a AND b) or CMP (a - b) of size-byte operands. */
static void set_compare_flags(struct vapicvm_vcpu *vcpu, u8 kind, unsigned int size, u64 a, u64 b)
{
	u64 mask = size == 8 ? ~0ULL : BIT_ULL(size * 8) - 1, sign = BIT_ULL(size * 8 - 1), r;
	unsigned long flags = vmcs_readl(GUEST_RFLAGS) & ~ARITH_FLAGS;

	a &= mask;
	b &= mask;
	if (kind == EMUL_LOAD_TEST) {
		r = a & b;	/* CF = OF = 0; AF undefined, left clear */
	} else {
		r = (a - b) & mask;
		if (a < b)
			flags |= X86_EFLAGS_CF;
		if ((a ^ b) & (a ^ r) & sign)
			flags |= X86_EFLAGS_OF;
		if ((a ^ b ^ r) & 0x10)
			flags |= X86_EFLAGS_AF;
	}
	if (!r)
		flags |= X86_EFLAGS_ZF;
	if (r & sign)
		flags |= X86_EFLAGS_SF;
	if (!(hweight8(r & 0xff) & 1))
		flags |= X86_EFLAGS_PF;
	vmcs_writel(GUEST_RFLAGS, flags);
}

/* Remember what completing a decoded load needs, operands as they are now. */
static void save_pending_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn)
{
	vcpu->pending_load.kind = insn->kind;
	vcpu->pending_load.reg = insn->reg;
	vcpu->pending_load.reg_high8 = insn->reg_high8;
	vcpu->pending_load.size = insn->size;
	vcpu->pending_load.dst_size = insn->dst_size;
	vcpu->pending_load.sign_extend = insn->sign_extend;
	vcpu->pending_load.insn_len = insn->len;
	vcpu->pending_load.mem_second = insn->mem_second;
	/* The other operand as it is now: the instruction reads it now. */
	vcpu->pending_load.operand = insn->kind == EMUL_LOAD_MOV ? 0 :
				     emulate_store_value(vcpu, insn);
}

/* A load done in the kernel completes the same way as one done by userspace. */
void emulate_finish_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 val)
{
	save_pending_load(vcpu, insn);
	emulate_complete_read(vcpu, val);
}

void emulate_pend_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn)
{
	vcpu->completion = COMPLETE_MMIO_READ;
	save_pending_load(vcpu, insn);
}

void emulate_complete_read(struct vapicvm_vcpu *vcpu, u64 val)
{
	typeof(vcpu->pending_load) *p = &vcpu->pending_load;
	u8 kind = p->kind;
	u64 operand = p->operand;

	if (kind == EMUL_LOAD_MOV)
		finish_load(vcpu, p->reg, p->reg_high8, p->size, p->dst_size, p->sign_extend, val);
	else if (p->mem_second)
		set_compare_flags(vcpu, kind, p->size, operand, val);
	else
		set_compare_flags(vcpu, kind, vcpu->pending_load.size, val, operand);
	vcpu_advance_rip(vcpu, vcpu->pending_load.insn_len);
}

int emulate_mmio(struct vapicvm_vcpu *vcpu, u64 gpa)
{
	struct vapicvm_run *run = vcpu->run;
	struct emul_insn insn;
	u64 val;

	if (emulate_decode(vcpu, &insn))
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
	/* An access that crosses into the next page is not emulated. */
	if ((gpa & (PAGE_SIZE - 1)) + insn.size > PAGE_SIZE)
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);

	/* The whole member: no stale byte of an earlier exit in data or pad. */
	memset(&run->mmio, 0, sizeof(run->mmio));
	run->exit_reason = VAPICVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn.size;
	run->mmio.is_write = insn.write;
	if (insn.write) {
		val = emulate_store_value(vcpu, &insn);
		memcpy(run->mmio.data, &val, insn.size);
		vcpu_advance_rip(vcpu, insn.len);
	} else {
		emulate_pend_load(vcpu, &insn);
	}
	return 0;
}

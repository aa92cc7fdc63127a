// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction decoding for emulated memory accesses, and the guest page
 * walk it needs to fetch instructions.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/stringify.h>
#include <asm/debugreg.h>
#include <asm/irqflags.h>
#include <asm/processor-flags.h>

#include "emulate.h"
#include "guest_debug.h"
#include "ioeventfd.h"
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

#define PENDING_DBG_ENABLED_BP	BIT(12)	/* Vol. 3C 25.4.2, Table 25-4 */

/*
 * The debug traps of an instruction vapicvm completed for the guest, as the
 * CPU would take them had it run the instruction (Vol. 3B 17.3.1.4 and
 * 17.3.1.2): the single-step trap (DR6.BS, Vol. 3B 17.2.3) when RFLAGS.TF
 * was set as it began, and the data or I/O breakpoints it matched.  Debug
 * exceptions the CPU held for it (an exit in a MOV SS or POP SS shadow
 * leaves them in the pending debug exceptions field, Vol. 3C 25.4.2) come
 * with them, in one #DB with the instruction completed.  DR6 is emulated
 * (MOV DR exits): B0-B3 are replaced, the rest kept, as handle_exception_nmi
 * does for a #DB the CPU raised.
 */
static void vcpu_debug_traps(struct vapicvm_vcpu *vcpu, unsigned long rflags)
{
	u32 bits = vcpu->db_trap_bits;
	u64 pending;

	vcpu->db_trap_bits = 0;
	guest_debug_instruction_done(vcpu);
	if (rflags & X86_EFLAGS_TF)
		bits |= DR_STEP;
	pending = vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS);
	if (unlikely(pending)) {
		/* B0-B3 there raise a #DB only with bit 12, an enabled breakpoint. */
		if (pending & (DR_STEP | PENDING_DBG_ENABLED_BP))
			bits |= pending & (DR_STEP | DR_TRAP_BITS);
		vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	}
	if (likely(!bits))
		return;
	vcpu->dr[6] = (vcpu->dr[6] & ~DR_TRAP_BITS) | bits | DR6_RESERVED;
	vcpu_queue_exception(vcpu, 1, false, 0);
}

void vcpu_advance_rip(struct vapicvm_vcpu *vcpu, unsigned int len)
{
	u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	unsigned long rip = vmcs_readl(GUEST_RIP) + len, rflags = vmcs_readl(GUEST_RFLAGS);

	if (!(vcpu->efer & EFER_LMA) || !(vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L))
		rip &= 0xffffffff;
	vmcs_writel(GUEST_RIP, rip);
	/* Completing an instruction ends an STI or MOV SS shadow. */
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
			     intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	/* And clears RFLAGS.RF (Vol. 3A 2.3, Vol. 3B 17.3.1.1). */
	if (rflags & X86_EFLAGS_RF)
		vmcs_writel(GUEST_RFLAGS, rflags & ~X86_EFLAGS_RF);
	vcpu_debug_traps(vcpu, rflags);
}

void vcpu_skip_instruction(struct vapicvm_vcpu *vcpu)
{
	vcpu_advance_rip(vcpu, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

static int read_linear(struct vapicvm_vcpu *vcpu, u64 la, void *buf, unsigned int len);

/*
 * The bytes at CS:RIP, as many of the 15 an instruction may have as the
 * guest's page tables let us read: what an emulation failure reports.
 */
static unsigned int fetch_insn_bytes(struct vapicvm_vcpu *vcpu, u8 *bytes)
{
	u64 la = vmcs_readl(GUEST_CS_BASE) + vmcs_readl(GUEST_RIP);
	unsigned int n;

	if (!(vcpu->efer & EFER_LMA) || !(vmcs_read32(GUEST_CS_AR_BYTES) & VMX_AR_L))
		la &= 0xffffffff;
	n = min_t(unsigned int, 15, PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	if (read_linear(vcpu, la, bytes, n))
		return 0;
	if (n < 15 && !read_linear(vcpu, la + n, bytes + n, 15 - n))
		n = 15;
	return n;
}

int emulate_failure(struct vapicvm_vcpu *vcpu, u32 suberror)
{
	struct vapicvm_run *run = vcpu->run;
	u8 bytes[16] = {};

	run->exit_reason = VAPICVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 3;
	run->internal.data[0] = vcpu->exit_reason;
	run->internal.data[1] = vmcs_readl(EXIT_QUALIFICATION);
	run->internal.data[2] = vmcs_readl(GUEST_RIP);
	if (suberror == VAPICVM_INTERNAL_ERROR_EMULATION) {
		/* data[3]: how many bytes were read; data[4..5]: the bytes. */
		run->internal.ndata = 6;
		run->internal.data[3] = fetch_insn_bytes(vcpu, bytes);
		memcpy(&run->internal.data[4], bytes, 16);
	}
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

#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)

/*
 * The guest's translation of linear address gva: its physical address and,
 * in *perm, WALK_PERM_* the R/W and U/S bits of every level allow (Vol. 3A
 * 4.6; a PAE PDPTE has neither).  -EFAULT if not mapped, or, in IA-32e
 * mode, not canonical.
 */
int vcpu_walk_linear(struct vapicvm_vcpu *vcpu, u64 gva, u64 *gpa, unsigned int *perm)
{
	unsigned long cr0 = vcpu_read_cr0(vcpu), cr4 = vcpu_read_cr4(vcpu);
	u64 table = vmcs_readl(GUEST_CR3), pte, acc = PTE_RW | PTE_US;
	int level;

	*perm = WALK_PERM_WRITE | WALK_PERM_USER;
	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffff;
		return 0;
	}
	if (vcpu->efer & EFER_LMA) {
		if ((u64)((s64)(gva << 16) >> 16) != gva)
			return -EFAULT;
		table &= PTE_ADDR;
		for (level = 4; level >= 1; level--) {
			int shift = 12 + 9 * (level - 1);

			if (read_pte(vcpu, table + ((gva >> shift) & 0x1ff) * 8, &pte, true) ||
			    !(pte & PTE_P))
				return -EFAULT;
			acc &= pte;
			if ((level == 3 || level == 2) && (pte & PTE_PS)) {
				u64 mask = BIT_ULL(shift) - 1;

				*gpa = (pte & PTE_ADDR & ~mask) | (gva & mask);
				goto done;
			}
			table = pte & PTE_ADDR;
		}
		*gpa = table | (gva & 0xfff);
		goto done;
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
		acc &= pte;
		if (pte & PTE_PS) {
			*gpa = (pte & PTE_ADDR & ~(BIT_ULL(21) - 1)) | (gva & (BIT_ULL(21) - 1));
			goto done;
		}
		table = pte & PTE_ADDR;
		if (read_pte(vcpu, table + ((gva >> 12) & 0x1ff) * 8, &pte, true) ||
		    !(pte & PTE_P))
			return -EFAULT;
		acc &= pte;
		*gpa = (pte & PTE_ADDR) | (gva & 0xfff);
		goto done;
	}
	/* 32-bit paging. */
	gva &= 0xffffffff;
	table &= 0xfffff000;
	if (read_pte(vcpu, table + (gva >> 22) * 4, &pte, false) || !(pte & PTE_P))
		return -EFAULT;
	acc &= pte;
	if ((pte & PTE_PS) && (cr4 & X86_CR4_PSE)) {
		*gpa = (pte & 0xffc00000) | ((pte & 0x1fe000) << 19) | (gva & 0x3fffff);
		goto done;
	}
	table = pte & 0xfffff000;
	if (read_pte(vcpu, table + ((gva >> 12) & 0x3ff) * 4, &pte, false) || !(pte & PTE_P))
		return -EFAULT;
	acc &= pte;
	*gpa = (pte & 0xfffff000) | (gva & 0xfff);
done:
	*perm = ((acc & PTE_RW) ? WALK_PERM_WRITE : 0) | ((acc & PTE_US) ? WALK_PERM_USER : 0);
	return 0;
}

int vcpu_gva_to_gpa(struct vapicvm_vcpu *vcpu, u64 gva, u64 *gpa)
{
	unsigned int perm;

	return vcpu_walk_linear(vcpu, gva, gpa, &perm);
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

static int read_imm_checked(struct decode_ctx *c, unsigned int n, u64 *v)
{
	if (c->pos + n > c->avail)
		return -EINVAL;
	*v = read_imm(c, n);
	return 0;
}

static u64 size_mask(unsigned int size)
{
	return size == 8 ? ~0ULL : BIT_ULL(size * 8) - 1;
}

/*
 * An immediate of an r/m, imm form: imm8 or, for wider operands, imm16 or
 * imm32 (sign-extended to 64 bits); imm8 of 83 and 0F BA sign- or
 * zero-extended as the caller says.
 */
static int decode_imm(struct decode_ctx *c, struct emul_insn *insn, bool imm8, bool sext8)
{
	unsigned int n = imm8 || insn->size == 1 ? 1 : min_t(unsigned int, insn->size, 4);
	u64 v;

	if (read_imm_checked(c, n, &v))
		return -EINVAL;
	if (n == 1 && sext8)
		v = (u64)(s64)(s8)v;
	else if (n == 4)
		v = (u64)(s64)(s32)v;
	insn->has_imm = true;
	insn->imm = v & size_mask(insn->size);
	return 0;
}

/* The register named by ModRM.reg, with REX.R. */
static void set_modrm_reg(struct emul_insn *insn, u8 modrm, u8 rex)
{
	insn->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
	insn->reg_high8 = insn->size == 1 && !rex && insn->reg >= 4;
}

/* The two-byte (0F xx) opcodes with a memory operand. */
static int decode_0f(struct decode_ctx *c, struct emul_insn *insn, u8 rex,
		     unsigned int op_size, unsigned int addr_size)
{
	u8 op, modrm;

	if (next_byte(c, &op) || next_byte(c, &modrm) ||
	    skip_modrm_operand(c, modrm, addr_size))
		return -EINVAL;
	switch (op) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:	/* MOVZX, MOVSX */
		insn->size = (op & 1) ? 2 : 1;
		insn->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
		insn->reg_high8 = false;
		insn->dst_size = op_size;
		insn->sign_extend = op >= 0xbe;
		return 0;
	case 0xa3: case 0xab: case 0xb3: case 0xbb:	/* BT, BTS, BTR, BTC r/m, reg */
		insn->kind = EMUL_LOAD_ALU;
		insn->op = EMUL_OP_BT + ((op >> 3) & 3);
		insn->size = op_size;
		set_modrm_reg(insn, modrm, rex);
		return 0;
	case 0xba:					/* BT* r/m, imm8 */
		if (((modrm >> 3) & 7) < 4)
			return -EINVAL;
		insn->kind = EMUL_LOAD_ALU;
		insn->op = EMUL_OP_BT + ((modrm >> 3) & 3);
		insn->size = op_size;
		return decode_imm(c, insn, true, false);
	case 0xb0: case 0xb1:				/* CMPXCHG r/m, reg */
		insn->kind = EMUL_LOAD_CMPXCHG;
		insn->size = (op & 1) ? op_size : 1;
		set_modrm_reg(insn, modrm, rex);
		return 0;
	case 0xc0: case 0xc1:				/* XADD r/m, reg */
		insn->kind = EMUL_LOAD_XADD;
		insn->size = (op & 1) ? op_size : 1;
		set_modrm_reg(insn, modrm, rex);
		return 0;
	}
	return -EINVAL;
}

int emulate_decode(struct vapicvm_vcpu *vcpu, struct emul_insn *insn)
{
	u8 bytes[MAX_INSN_LEN], op, modrm, rex = 0, sub, seg = 3;
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
		else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e)
			seg = (op >> 3) & 3;	/* ES, CS, SS, DS */
		else if (op == 0x64 || op == 0x65)
			seg = op - 0x60;	/* FS, GS */
		else if (op == 0xf2 || op == 0xf3)
			insn->rep = true;	/* only string instructions repeat */
		else if (op != 0xf0)
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

	/* ADD, OR, ADC, SBB, AND, SUB, XOR, CMP: r/m,reg and reg,r/m forms. */
	if (op < 0x40 && (op & 7) < 4) {
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->kind = EMUL_LOAD_ALU;
		insn->op = op >> 3;
		insn->size = (op & 1) ? op_size : 1;
		insn->reg_dst = op & 2;
		set_modrm_reg(insn, modrm, rex);
		if (insn->op == EMUL_OP_CMP) {
			insn->kind = EMUL_LOAD_CMP;
			insn->mem_second = insn->reg_dst;
		}
		goto done;
	}

	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->size = (op & 1) ? op_size : 1;
		insn->write = !(op & 2);
		set_modrm_reg(insn, modrm, rex);
		insn->dst_size = insn->size;
		break;
	case 0xc6: case 0xc7:
		if (next_byte(&c, &modrm) || ((modrm >> 3) & 7) != 0 ||
		    skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->size = op == 0xc6 ? 1 : op_size;
		insn->write = true;
		if (decode_imm(&c, insn, false, false))
			return -EINVAL;
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
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->kind = EMUL_LOAD_TEST;
		insn->size = (op & 1) ? op_size : 1;
		set_modrm_reg(insn, modrm, rex);
		break;
	case 0x86: case 0x87:			/* XCHG r/m, reg */
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		insn->kind = EMUL_LOAD_XCHG;
		insn->size = (op & 1) ? op_size : 1;
		set_modrm_reg(insn, modrm, rex);
		break;
	case 0x80: case 0x81: case 0x83:	/* ALU r/m, imm */
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		sub = (modrm >> 3) & 7;
		insn->kind = sub == EMUL_OP_CMP ? EMUL_LOAD_CMP : EMUL_LOAD_ALU;
		insn->op = sub;
		insn->size = op == 0x80 ? 1 : op_size;
		if (decode_imm(&c, insn, op == 0x83, true))
			return -EINVAL;
		break;
	case 0xf6: case 0xf7:			/* TEST imm, NOT, NEG */
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		sub = (modrm >> 3) & 7;
		insn->size = op == 0xf6 ? 1 : op_size;
		if (sub == 0) {
			insn->kind = EMUL_LOAD_TEST;
			if (decode_imm(&c, insn, false, false))
				return -EINVAL;
		} else if (sub == 2 || sub == 3) {
			insn->kind = EMUL_LOAD_ALU;
			insn->op = sub == 2 ? EMUL_OP_NOT : EMUL_OP_NEG;
		} else {
			return -EINVAL;	/* MUL, IMUL, DIV, IDIV: not emulated */
		}
		break;
	case 0xfe: case 0xff:			/* INC, DEC */
		if (next_byte(&c, &modrm) || skip_modrm_operand(&c, modrm, addr_size))
			return -EINVAL;
		sub = (modrm >> 3) & 7;
		if (sub > 1)
			return -EINVAL;	/* CALL, JMP, PUSH through MMIO: not emulated */
		insn->kind = EMUL_LOAD_ALU;
		insn->op = sub ? EMUL_OP_DEC : EMUL_OP_INC;
		insn->size = op == 0xfe ? 1 : op_size;
		break;
	case 0x0f:
		if (decode_0f(&c, insn, rex, op_size, addr_size))
			return -EINVAL;
		break;
	case 0xa4: case 0xa5:			/* MOVS */
	case 0xaa: case 0xab:			/* STOS */
	case 0xac: case 0xad:			/* LODS */
		insn->kind = EMUL_STRING;
		insn->string_op = op & ~1;
		insn->size = (op & 1) ? op_size : 1;
		insn->reg = VCPU_REG_RAX;
		insn->addr_size = addr_size;
		/* In 64-bit mode only FS and GS have a base (Vol. 3A 3.4.4). */
		insn->src_base = long_mode && seg < 4 ? 0 :
				 vmcs_readl(GUEST_ES_BASE + 2 * seg);
		insn->write = insn->string_op == 0xaa;
		break;
	default:
		return -EINVAL;
	}
done:
	if (insn->kind != EMUL_STRING)
		insn->rep = false;
	insn->len = c.pos;
	insn->dst_size = insn->dst_size ?: insn->size;
	return 0;
}

bool emulate_insn_writes(const struct emul_insn *insn)
{
	if (insn->write)
		return true;
	switch (insn->kind) {
	case EMUL_LOAD_ALU:
		return !insn->reg_dst && insn->op != EMUL_OP_BT;
	case EMUL_LOAD_XCHG:
	case EMUL_LOAD_XADD:
	case EMUL_LOAD_CMPXCHG:
		return true;
	}
	return false;
}

u64 emulate_store_value(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn)
{
	u64 v;

	if (insn->has_imm)
		return insn->imm;
	if (insn->reg_high8)
		return (vcpu_reg_read(vcpu, insn->reg - 4) >> 8) & 0xff;
	v = vcpu_reg_read(vcpu, insn->reg);
	return v & size_mask(insn->size);
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
	val &= size_mask(size);
	if (sign_extend)
		val = size == 1 ? (u64)(s64)(s8)val : (u64)(s64)(s16)val;
	write_reg_sized(vcpu, reg, high8, dst_size, val);
}

#define ARITH_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
			 X86_EFLAGS_SF | X86_EFLAGS_OF)

/*
 * The instruction run on the host CPU on register copies of its operands,
 * with the guest's arithmetic flags loaded first: the result and every
 * arithmetic flag (those the SDM leaves undefined, or unchanged, included)
 * come out as the same instruction gives in the guest on RAM.  Only the
 * arithmetic flags of the host's RFLAGS are changed for it.  The macros
 * work on alu_exec()'s locals: size, d (destination), s (source), f (flags).
 */
#define ALU_ASM(text)								\
	asm("push %[fl]; popf; " text "; pushf; pop %[fl]"			\
	    : [dst] "+q" (d), [fl] "+r" (f) : [src] "q" (s) : "cc")

#define ALU_BINARY(insn)							\
	do {									\
		if (size == 1)							\
			ALU_ASM(__stringify(insn) "b %b[src], %b[dst]");	\
		else if (size == 2)						\
			ALU_ASM(__stringify(insn) "w %w[src], %w[dst]");	\
		else if (size == 4)						\
			ALU_ASM(__stringify(insn) "l %k[src], %k[dst]");	\
		else								\
			ALU_ASM(__stringify(insn) "q %q[src], %q[dst]");	\
	} while (0)

/* BT and friends have no 8-bit form. */
#define ALU_BIT(insn)								\
	do {									\
		if (size == 2)							\
			ALU_ASM(__stringify(insn) "w %w[src], %w[dst]");	\
		else if (size == 4)						\
			ALU_ASM(__stringify(insn) "l %k[src], %k[dst]");	\
		else								\
			ALU_ASM(__stringify(insn) "q %q[src], %q[dst]");	\
	} while (0)

#define ALU_UNARY(insn)								\
	do {									\
		if (size == 1)							\
			ALU_ASM(__stringify(insn) "b %b[dst]");			\
		else if (size == 2)						\
			ALU_ASM(__stringify(insn) "w %w[dst]");			\
		else if (size == 4)						\
			ALU_ASM(__stringify(insn) "l %k[dst]");			\
		else								\
			ALU_ASM(__stringify(insn) "q %q[dst]");			\
	} while (0)

/* dst op src on size-byte operands; *rflags: the guest's, updated. */
static u64 alu_exec(u8 op, unsigned int size, u64 dst, u64 src, unsigned long *rflags)
{
	unsigned long d = dst, s = src;
	unsigned long f = (native_save_fl() & ~ARITH_FLAGS) | (*rflags & ARITH_FLAGS);

	switch (op) {
	case EMUL_OP_ADD:
		ALU_BINARY(add);
		break;
	case EMUL_OP_OR:
		ALU_BINARY(or);
		break;
	case EMUL_OP_ADC:
		ALU_BINARY(adc);
		break;
	case EMUL_OP_SBB:
		ALU_BINARY(sbb);
		break;
	case EMUL_OP_AND:
		ALU_BINARY(and);
		break;
	case EMUL_OP_SUB:
		ALU_BINARY(sub);
		break;
	case EMUL_OP_XOR:
		ALU_BINARY(xor);
		break;
	case EMUL_OP_CMP:
		ALU_BINARY(cmp);
		break;
	case EMUL_OP_TEST:
		ALU_BINARY(test);
		break;
	case EMUL_OP_NOT:
		ALU_UNARY(not);
		break;
	case EMUL_OP_NEG:
		ALU_UNARY(neg);
		break;
	case EMUL_OP_INC:
		ALU_UNARY(inc);
		break;
	case EMUL_OP_DEC:
		ALU_UNARY(dec);
		break;
	case EMUL_OP_BT:
		ALU_BIT(bt);
		break;
	case EMUL_OP_BTS:
		ALU_BIT(bts);
		break;
	case EMUL_OP_BTR:
		ALU_BIT(btr);
		break;
	case EMUL_OP_BTC:
		ALU_BIT(btc);
		break;
	}
	*rflags = (*rflags & ~ARITH_FLAGS) | (f & ARITH_FLAGS);
	return d & size_mask(size);
}

/* Remember what completing a decoded load needs, operands as they are now. */
static void save_pending_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 gpa)
{
	vcpu->pending_load.kind = insn->kind;
	vcpu->pending_load.op = insn->op;
	vcpu->pending_load.reg = insn->reg;
	vcpu->pending_load.reg_high8 = insn->reg_high8;
	vcpu->pending_load.reg_dst = insn->reg_dst;
	vcpu->pending_load.size = insn->size;
	vcpu->pending_load.dst_size = insn->dst_size;
	vcpu->pending_load.sign_extend = insn->sign_extend;
	vcpu->pending_load.insn_len = insn->len;
	vcpu->pending_load.mem_second = insn->mem_second;
	vcpu->pending_load.gpa = gpa;
	vcpu->pending_load.addr_size = insn->addr_size;
	vcpu->pending_load.rep = insn->rep;
	/* The other operand as it is now: the instruction reads it now. */
	vcpu->pending_load.operand = insn->kind == EMUL_LOAD_MOV || insn->kind == EMUL_STRING ?
				     0 : emulate_store_value(vcpu, insn);
}

/* A load done in the kernel completes the same way as one done by userspace. */
void emulate_finish_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 val)
{
	save_pending_load(vcpu, insn, 0);
	emulate_complete_read(vcpu, val);
}

/* The write of a read-modify-write instruction: an MMIO write exit. */
static void mmio_write_exit(struct vapicvm_vcpu *vcpu, u64 gpa, unsigned int size, u64 val)
{
	struct vapicvm_run *run = vcpu->run;

	memset(&run->mmio, 0, sizeof(run->mmio));
	run->exit_reason = VAPICVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = size;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, &val, size);
}

/*
 * One element of a string instruction done: RSI and/or RDI move by the
 * element size (down with RFLAGS.DF), RCX counts down under REP; the
 * instruction completes when RCX reaches 0, else RIP stays on it and it
 * runs again for the next element (an exit per MMIO element: a REP with a
 * huge count goes back through userspace every time, so it never keeps the
 * host CPU).  Vol. 2B MOVS/STOS/LODS, Vol. 2B REP.
 */
static void string_step(struct vapicvm_vcpu *vcpu, unsigned int size, unsigned int addr_size,
			bool rep, bool src, bool dst, unsigned int len)
{
	long delta = (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_DF) ? -(long)size : size;
	u64 rcx;

	if (src)
		write_reg_sized(vcpu, VCPU_REG_RSI, false, addr_size,
				vcpu_reg_read(vcpu, VCPU_REG_RSI) + delta);
	if (dst)
		write_reg_sized(vcpu, VCPU_REG_RDI, false, addr_size,
				vcpu_reg_read(vcpu, VCPU_REG_RDI) + delta);
	if (rep) {
		rcx = (vcpu_reg_read(vcpu, VCPU_REG_RCX) - 1) & size_mask(addr_size);
		write_reg_sized(vcpu, VCPU_REG_RCX, false, addr_size, rcx);
		if (rcx) {
			/*
			 * Between iterations: the single-step and breakpoint
			 * traps come after each one, RIP on the instruction and
			 * RF set in the RFLAGS the #DB pushes (Vol. 3A 6.8.3,
			 * 17.3.1.1), so the rest runs on return.
			 */
			unsigned long rflags = vmcs_readl(GUEST_RFLAGS);

			if ((rflags & X86_EFLAGS_TF) || vcpu->db_trap_bits)
				vmcs_writel(GUEST_RFLAGS, rflags | X86_EFLAGS_RF);
			vcpu_debug_traps(vcpu, rflags);
			return;
		}
	}
	vcpu_advance_rip(vcpu, len);
}

/* Whether guest-physical memory at gpa is RAM (a slot), not MMIO. */
static bool gpa_is_ram(struct vapicvm_vcpu *vcpu, u64 gpa)
{
	u8 b;

	return !vm_read_guest(vcpu->vm, gpa, &b, 1);
}

/*
 * MOVS, STOS, LODS with an MMIO operand (the one that faulted, at gpa).
 * MOVS from MMIO to RAM reads with an exit and stores into guest RAM as
 * the guest would (into a read-only slot: a write exit, as any store).
 */
static int emulate_string(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 gpa)
{
	u64 amask = size_mask(insn->addr_size), src_la, dst_la, dst_gpa, val = 0;
	bool write_fault = vmcs_readl(EXIT_QUALIFICATION) & EPT_QUAL_WRITE;

	src_la = insn->src_base + (vcpu_reg_read(vcpu, VCPU_REG_RSI) & amask);
	dst_la = vmcs_readl(GUEST_ES_BASE) + (vcpu_reg_read(vcpu, VCPU_REG_RDI) & amask);
	if (insn->addr_size != 8) {
		src_la &= 0xffffffff;
		dst_la &= 0xffffffff;
	}
	/* With REP and RCX 0 nothing is accessed: no exit comes here. */
	if (insn->rep && !(vcpu_reg_read(vcpu, VCPU_REG_RCX) & amask))
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
	switch (insn->string_op) {
	case 0xaa:	/* STOS: the accumulator to ES:RDI */
		mmio_write_exit(vcpu, gpa, insn->size, vcpu_reg_read(vcpu, VCPU_REG_RAX));
		string_step(vcpu, insn->size, insn->addr_size, insn->rep, false, true, insn->len);
		return 0;
	case 0xac:	/* LODS: from DS:RSI */
		save_pending_load(vcpu, insn, gpa);
		vcpu->pending_load.kind = EMUL_LOAD_LODS;
		break;
	default:	/* MOVS */
		if (write_fault) {
			/* The source was read without a fault: RAM. */
			if (read_linear(vcpu, src_la, &val, insn->size))
				return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
			mmio_write_exit(vcpu, gpa, insn->size, val);
			string_step(vcpu, insn->size, insn->addr_size, insn->rep, true, true,
				    insn->len);
			return 0;
		}
		if (vcpu_gva_to_gpa(vcpu, dst_la, &dst_gpa) ||
		    (dst_gpa & (PAGE_SIZE - 1)) + insn->size > PAGE_SIZE)
			return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
		save_pending_load(vcpu, insn, dst_gpa);
		vcpu->pending_load.kind = gpa_is_ram(vcpu, dst_gpa) ? EMUL_LOAD_MOVS_TO_RAM :
								     EMUL_LOAD_MOVS;
		/* The exit is for the source; p->gpa is the destination. */
		break;
	}
	/* A read exit; the next RUN completes it (emulate_complete_read()). */
	memset(&vcpu->run->mmio, 0, sizeof(vcpu->run->mmio));
	vcpu->run->exit_reason = VAPICVM_EXIT_MMIO;
	vcpu->run->mmio.phys_addr = gpa;
	vcpu->run->mmio.len = insn->size;
	vcpu->completion = COMPLETE_MMIO_READ;
	return 0;
}

int emulate_complete_read(struct vapicvm_vcpu *vcpu, u64 val)
{
	typeof(vcpu->pending_load) *p = &vcpu->pending_load;
	unsigned long rflags = vmcs_readl(GUEST_RFLAGS);
	u64 operand = p->operand, mask = size_mask(p->size), reg, res;
	bool store = false;

	val &= mask;
	switch (p->kind) {
	case EMUL_LOAD_MOV:
		finish_load(vcpu, p->reg, p->reg_high8, p->size, p->dst_size, p->sign_extend, val);
		break;
	case EMUL_LOAD_TEST:
		alu_exec(EMUL_OP_TEST, p->size, val, operand, &rflags);
		break;
	case EMUL_LOAD_CMP:
		if (p->mem_second)
			alu_exec(EMUL_OP_CMP, p->size, operand, val, &rflags);
		else
			alu_exec(EMUL_OP_CMP, p->size, val, operand, &rflags);
		break;
	case EMUL_LOAD_ALU:
		if (p->reg_dst) {
			/* reg op= mem: the register as it is now. */
			reg = emulate_store_value(vcpu, &(struct emul_insn){
				.reg = p->reg, .reg_high8 = p->reg_high8, .size = p->size });
			res = alu_exec(p->op, p->size, reg, val, &rflags);
			write_reg_sized(vcpu, p->reg, p->reg_high8, p->size, res);
			break;
		}
		if (p->op >= EMUL_OP_BT)	/* the bit offset, modulo the operand size */
			operand &= p->size * 8 - 1;
		val = alu_exec(p->op, p->size, val, operand, &rflags);
		store = p->op != EMUL_OP_BT;
		break;
	case EMUL_LOAD_XCHG:
		write_reg_sized(vcpu, p->reg, p->reg_high8, p->size, val);
		val = operand;
		store = true;
		break;
	case EMUL_LOAD_XADD:
		res = alu_exec(EMUL_OP_ADD, p->size, val, operand, &rflags);
		write_reg_sized(vcpu, p->reg, p->reg_high8, p->size, val);
		val = res;
		store = true;
		break;
	case EMUL_LOAD_LODS:
		write_reg_sized(vcpu, VCPU_REG_RAX, false, p->size, val);
		string_step(vcpu, p->size, p->addr_size, p->rep, true, false, p->insn_len);
		return 0;
	case EMUL_LOAD_MOVS:
		string_step(vcpu, p->size, p->addr_size, p->rep, true, true, p->insn_len);
		mmio_write_exit(vcpu, p->gpa, p->size, val);
		return 1;
	case EMUL_LOAD_MOVS_TO_RAM: {
		int r = vm_write_guest(vcpu->vm, p->gpa, &val, p->size);

		if (r && r != -EPERM) {
			emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
			return 1;
		}
		string_step(vcpu, p->size, p->addr_size, p->rep, true, true, p->insn_len);
		/* A read-only slot's RAM: the store goes to userspace, as MMIO. */
		if (r == -EPERM) {
			mmio_write_exit(vcpu, p->gpa, p->size, val);
			return 1;
		}
		return 0;
	}
	case EMUL_LOAD_CMPXCHG:
		/*
		 * Vol. 2A CMPXCHG: flags of CMP accumulator, destination; the
		 * source is written if they are equal, else the accumulator is
		 * loaded and the destination written back with its own value.
		 */
		reg = vcpu_reg_read(vcpu, VCPU_REG_RAX) & mask;
		alu_exec(EMUL_OP_CMP, p->size, reg, val, &rflags);
		if (reg == val)
			val = operand;
		else
			write_reg_sized(vcpu, VCPU_REG_RAX, false, p->size, val);
		store = true;
		break;
	}
	if (p->kind != EMUL_LOAD_MOV && p->kind != EMUL_LOAD_XCHG)
		vmcs_writel(GUEST_RFLAGS, rflags);
	vcpu_advance_rip(vcpu, p->insn_len);
	if (!store)
		return 0;
	mmio_write_exit(vcpu, p->gpa, p->size, val);
	return 1;
}

/* Whether an enabled breakpoint of DR7 type rw matches [addr, addr + len). */
static u32 breakpoint_hits(struct vapicvm_vcpu *vcpu, u64 addr, unsigned int len, bool io,
			   bool write)
{
	unsigned long dr7 = vcpu->dr[7];
	u32 hits = 0;
	int i;

	/* The VMM's breakpoints are loaded instead of the guest's: none apply. */
	if (vcpu->guest_debug & VAPICVM_GUESTDBG_USE_HW_BP)
		return 0;
	for (i = 0; i < 4; i++) {
		unsigned int rw = (dr7 >> (16 + i * 4)) & 3, blen = (dr7 >> (18 + i * 4)) & 3;
		u64 size = blen == 2 ? 8 : blen + 1, start = vcpu->dr[i] & ~(size - 1);

		if (!(dr7 & (3UL << (i * 2))))
			continue;
		if (io ? rw != 2 : !(rw == 3 || (rw == 1 && write)))
			continue;
		if (io)
			start &= 0xffff;
		if (addr < start + size && start < addr + len)
			hits |= BIT(i);
	}
	return hits;
}

/*
 * Vol. 3B 17.2.4 and 17.2.5: an I/O breakpoint (R/W 10, with CR4.DE)
 * matching the ports an IN or OUT accessed.  The #DB is a trap, taken when
 * the instruction completes (vcpu_advance_rip()).
 */
void emulate_check_io_breakpoints(struct vapicvm_vcpu *vcpu, u16 port, unsigned int size)
{
	if (!(vcpu_read_cr4(vcpu) & X86_CR4_DE))
		return;
	vcpu->db_trap_bits |= breakpoint_hits(vcpu, port, size, true, false);
}

/* A data breakpoint (R/W 01 or 11) on the linear address of an emulated access. */
static void check_data_breakpoints(struct vapicvm_vcpu *vcpu, unsigned int size, bool write)
{
	u64 la;

	if (!(vcpu->dr[7] & 0xff) || !(vmcs_readl(EXIT_QUALIFICATION) & EPT_QUAL_GLA_VALID))
		return;
	la = vmcs_readl(GUEST_LINEAR_ADDRESS);
	vcpu->db_trap_bits |= breakpoint_hits(vcpu, la, size, false, write);
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
	check_data_breakpoints(vcpu, insn.size, emulate_insn_writes(&insn));
	if (insn.kind == EMUL_STRING)
		return emulate_string(vcpu, &insn, gpa);

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
		if (vm_ioeventfd_signal(vcpu->vm, false, gpa, insn.size, val)) {
			vcpu_stat_inc(vcpu, VAPICVM_STAT_IOEVENTFD);
			return 1;
		}
	} else if (emulate_insn_writes(&insn) && gpa_is_ram(vcpu, gpa)) {
		/*
		 * A read-modify-write of a read-only slot: the read is of its
		 * RAM, only the write exits.
		 */
		val = 0;
		if (vm_read_guest(vcpu->vm, gpa, &val, insn.size))
			return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
		save_pending_load(vcpu, &insn, gpa);
		emulate_complete_read(vcpu, val);
	} else {
		vcpu->completion = COMPLETE_MMIO_READ;
		save_pending_load(vcpu, &insn, gpa);
	}
	return 0;
}

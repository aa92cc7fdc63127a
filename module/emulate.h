/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough x86 instruction decoding for the accesses vapicvm emulates:
 * MMIO (EPT violations outside RAM) and xAPIC register accesses the CPU did
 * not virtualize.  Guests reach those with MOV forms, poll them with TEST
 * and CMP (a wait for the ICR's delivery status, say), and update them with
 * read-modify-write instructions (ALU ops, XCHG, BT*, CMPXCHG, XADD) done
 * as a read exit followed by a write exit.  Anything else ends in an
 * internal-error exit naming the instruction bytes, never in a guess.
 */
#ifndef VAPICVM_EMULATE_H
#define VAPICVM_EMULATE_H

#include <linux/types.h>

struct vapicvm_vcpu;

/* What a decoded load does with the value read. */
enum emul_load_kind {
	EMUL_LOAD_MOV,		/* into a register (MOV, MOVZX, MOVSX) */
	EMUL_LOAD_TEST,		/* RFLAGS from value AND operand */
	EMUL_LOAD_CMP,		/* RFLAGS from value - operand (or the reverse) */
	EMUL_LOAD_ALU,		/* op: into memory, or into reg (reg_dst) */
	EMUL_LOAD_XCHG,		/* reg <-> memory */
	EMUL_LOAD_XADD,		/* memory += reg, reg = old memory */
	EMUL_LOAD_CMPXCHG,	/* compare with the accumulator, store or load */
	EMUL_LOAD_LODS,		/* LODS: into the accumulator */
	EMUL_LOAD_MOVS,		/* MOVS from MMIO: then a store to MMIO */
	EMUL_LOAD_MOVS_TO_RAM,	/* MOVS from MMIO: then a store to guest RAM */
	EMUL_STRING,		/* decoded only: MOVS, STOS or LODS (op) */
};

/* The operations of EMUL_LOAD_ALU; the first eight in ModRM.reg order of 80. */
enum emul_op {
	EMUL_OP_ADD, EMUL_OP_OR, EMUL_OP_ADC, EMUL_OP_SBB,
	EMUL_OP_AND, EMUL_OP_SUB, EMUL_OP_XOR, EMUL_OP_CMP,
	EMUL_OP_TEST, EMUL_OP_NOT, EMUL_OP_NEG, EMUL_OP_INC, EMUL_OP_DEC,
	EMUL_OP_BT, EMUL_OP_BTS, EMUL_OP_BTR, EMUL_OP_BTC,
};

struct emul_insn {
	u8 len;			/* instruction length */
	u8 kind;		/* loads: enum emul_load_kind */
	u8 op;			/* EMUL_LOAD_ALU: enum emul_op */
	bool reg_dst;		/* EMUL_LOAD_ALU: reg op= memory */
	bool mem_second;	/* CMP reg, mem: operand - value */
	u8 size;		/* memory access size: 1, 2, 4 or 8 */
	bool write;		/* a store (else a load) */
	bool has_imm;		/* the stored value (TEST/CMP: operand) is an immediate */
	u64 imm;
	u8 reg;			/* register operand (enum vcpu_reg), MOV: the destination */
	bool reg_high8;		/* AH, CH, DH or BH */
	u8 dst_size;		/* loads: bytes written to the register */
	bool sign_extend;	/* MOVSX */
	/* EMUL_STRING: */
	u8 string_op;		/* the opcode: A4 MOVS, AA STOS, AC LODS */
	bool rep;		/* F2 or F3 prefix */
	u8 addr_size;		/* of RSI, RDI and RCX: 2, 4 or 8 */
	u64 src_base;		/* base of the source segment (DS or override) */
};

/* Fetch and decode the instruction at the guest's RIP. */
int emulate_decode(struct vapicvm_vcpu *vcpu, struct emul_insn *insn);
/* The value a decoded store writes. */
u64 emulate_store_value(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn);
/* Finish a decoded load with the value read, and step over the instruction. */
void emulate_finish_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 val);
/*
 * Finish the load an exit to userspace left pending (vcpu->pending); 1 if
 * the instruction then writes memory, and the run page holds that MMIO
 * write exit.
 */
int emulate_complete_read(struct vapicvm_vcpu *vcpu, u64 val);
/* Whether a decoded instruction writes its memory operand. */
bool emulate_insn_writes(const struct emul_insn *insn);
/* Note the I/O breakpoints an IN or OUT matches, for its #DB trap. */
void emulate_check_io_breakpoints(struct vapicvm_vcpu *vcpu, u16 port, unsigned int size);
/* Emulate an access to unbacked guest-physical memory: exit to userspace. */
int emulate_mmio(struct vapicvm_vcpu *vcpu, u64 gpa);
/* Read/write a general-purpose register (RSP lives in the VMCS). */
unsigned long vcpu_reg_read(struct vapicvm_vcpu *vcpu, int reg);
void vcpu_reg_write(struct vapicvm_vcpu *vcpu, int reg, unsigned long val);
/* Step over the current instruction (length from the VM exit). */
void vcpu_skip_instruction(struct vapicvm_vcpu *vcpu);
void vcpu_advance_rip(struct vapicvm_vcpu *vcpu, unsigned int len);
/* Translate a guest linear address; -EFAULT if not mapped. */
int vcpu_gva_to_gpa(struct vapicvm_vcpu *vcpu, u64 gva, u64 *gpa);
/* The same, with what the paging structures allow (WALK_PERM_*). */
#define WALK_PERM_WRITE		BIT(0)
#define WALK_PERM_USER		BIT(1)
int vcpu_walk_linear(struct vapicvm_vcpu *vcpu, u64 gva, u64 *gpa, unsigned int *perm);
/* Report an emulation failure to userspace; returns 0 (exit). */
int emulate_failure(struct vapicvm_vcpu *vcpu, u32 suberror);

#endif /* VAPICVM_EMULATE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough x86 instruction decoding for the accesses vapicvm emulates:
 * MMIO (EPT violations outside RAM) and xAPIC register accesses the CPU did
 * not virtualize.  Guests reach those with MOV forms, and poll them with
 * TEST and CMP (a wait for the ICR's delivery status, say); anything else
 * ends in an internal-error exit, never in a guess.
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
};

struct emul_insn {
	u8 len;			/* instruction length */
	u8 kind;		/* loads: enum emul_load_kind */
	bool mem_second;	/* CMP reg, mem: operand - value */
	u8 size;		/* memory access size: 1, 2, 4 or 8 */
	bool write;		/* a store (else a load) */
	bool has_imm;		/* the stored value (TEST/CMP: operand) is an immediate */
	u64 imm;
	u8 reg;			/* register operand (enum vcpu_reg), MOV: the destination */
	bool reg_high8;		/* AH, CH, DH or BH */
	u8 dst_size;		/* loads: bytes written to the register */
	bool sign_extend;	/* MOVSX */
};

/* Fetch and decode the instruction at the guest's RIP. */
int emulate_decode(struct vapicvm_vcpu *vcpu, struct emul_insn *insn);
/* The value a decoded store writes. */
u64 emulate_store_value(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn);
/* Finish a decoded load with the value read, and step over the instruction. */
void emulate_finish_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn, u64 val);
/* Remember a decoded load whose value comes from userspace (vcpu->pending). */
void emulate_pend_load(struct vapicvm_vcpu *vcpu, const struct emul_insn *insn);
/* Finish the load an exit to userspace left pending (vcpu->pending). */
void emulate_complete_read(struct vapicvm_vcpu *vcpu, u64 val);
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
/* Report an emulation failure to userspace; returns 0 (exit). */
int emulate_failure(struct vapicvm_vcpu *vcpu, u32 suberror);

#endif /* VAPICVM_EMULATE_H */

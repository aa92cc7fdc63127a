/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a vCPU to an exit a test expects (exits.c): port I/O, MMIO and
 * HLT, with what the exit reports checked and reads answered.  A mismatch
 * fails the test (TEST_ASSERT), naming the access.
 */
#ifndef SELFTEST_EXITS_H
#define SELFTEST_EXITS_H

#include "vapicvm_util.h"

/* Run to the next exit: the port access of size bytes; returns its data area. */
void *vcpu_expect_io(struct vcpu *vcpu, uint8_t direction, uint16_t port, uint8_t size);
/* Run to the next exit: an OUT of value to port. */
void vcpu_expect_out(struct vcpu *vcpu, uint16_t port, uint8_t size, uint32_t value);
/*
 * Run to the next exit: an IN from port, answered with value.  The whole
 * 8-byte data area is filled with junk first: only size bytes may reach
 * the guest.
 */
void vcpu_answer_in(struct vcpu *vcpu, uint16_t port, uint8_t size, uint32_t value);
/* Run to the next exit: HLT, with the vCPU left halted. */
void vcpu_expect_hlt(struct vcpu *vcpu);

/* One MMIO access: its address, size, direction and data. */
struct mmio_step {
	uint64_t gpa;
	uint32_t len;
	bool write;
	uint64_t data;	/* written by the guest, or returned to it */
};

/*
 * The exit that RUN just returned is MMIO access number i as step says:
 * check it, and answer a read with step->data.
 */
void vcpu_check_mmio(struct vcpu *vcpu, const struct mmio_step *step, unsigned int i);
/* Run to n MMIO exits in turn, each checked and answered by vcpu_check_mmio(). */
void vcpu_expect_mmio(struct vcpu *vcpu, const struct mmio_step *steps, unsigned int n);

#endif /* SELFTEST_EXITS_H */

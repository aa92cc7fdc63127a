// SPDX-License-Identifier: GPL-2.0
/*
 * Running a vCPU to an exit a test expects, and checking what the exit
 * reports: the port I/O, MMIO and HLT exits of the mode and decoder tests.
 */
#include "exits.h"

/* Run; the exit must be `reason`. */
static void run_to_exit(struct vcpu *vcpu, uint32_t reason, const char *what)
{
	struct vapicvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == reason,
		    "%s: exit %s (internal error %u, data %#llx), expected %s", what,
		    exit_reason_str(run->exit_reason), run->internal.suberror,
		    (unsigned long long)run->internal.data[0], exit_reason_str(reason));
}

void *vcpu_expect_io(struct vcpu *vcpu, uint8_t direction, uint16_t port, uint8_t size)
{
	struct vapicvm_run *run = vcpu->run;
	const char *dir = direction == VAPICVM_EXIT_IO_OUT ? "OUT" : "IN";

	run_to_exit(vcpu, VAPICVM_EXIT_IO, dir);
	TEST_ASSERT(run->io.direction == direction && run->io.port == port &&
		    run->io.size == size && run->io.count == 1,
		    "%s of %u bytes from/to port %#x: got %s of %u bytes (count %u) at port %#x",
		    dir, size, port, run->io.direction == VAPICVM_EXIT_IO_OUT ? "OUT" : "IN",
		    run->io.size, run->io.count, run->io.port);
	/* The data area lies inside the mapped page. */
	TEST_ASSERT(run->io.data_offset >= sizeof(*run) && run->io.data_offset + size <= 4096,
		    "port %#x: data offset %#llx", port, (unsigned long long)run->io.data_offset);
	return (uint8_t *)run + run->io.data_offset;
}

void vcpu_expect_out(struct vcpu *vcpu, uint16_t port, uint8_t size, uint32_t value)
{
	uint32_t data = 0;

	memcpy(&data, vcpu_expect_io(vcpu, VAPICVM_EXIT_IO_OUT, port, size), size);
	TEST_ASSERT(data == value, "OUT to port %#x: %#x, expected %#x", port, data, value);
}

void vcpu_answer_in(struct vcpu *vcpu, uint16_t port, uint8_t size, uint32_t value)
{
	uint8_t *data = vcpu_expect_io(vcpu, VAPICVM_EXIT_IO_IN, port, size);

	memset(data, 0xee, 8);
	memcpy(data, &value, size);
}

void vcpu_expect_hlt(struct vcpu *vcpu)
{
	struct vapicvm_mp_state mp;

	run_to_exit(vcpu, VAPICVM_EXIT_HLT, "HLT");
	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	TEST_ASSERT(mp.mp_state == VAPICVM_MP_STATE_HALTED, "after HLT: MP state %u",
		    mp.mp_state);
}

void vcpu_check_mmio(struct vcpu *vcpu, const struct mmio_step *step, unsigned int i)
{
	struct vapicvm_run *run = vcpu->run;
	uint64_t data = 0;

	TEST_ASSERT(run->exit_reason == VAPICVM_EXIT_MMIO,
		    "MMIO access %u: exit %s (internal error %u)", i,
		    exit_reason_str(run->exit_reason), run->internal.suberror);
	TEST_ASSERT(run->mmio.phys_addr == step->gpa && run->mmio.len == step->len &&
		    run->mmio.is_write == step->write,
		    "MMIO access %u: %s of %u bytes at %#llx, expected %s of %u bytes at %#llx",
		    i, run->mmio.is_write ? "write" : "read", run->mmio.len,
		    (unsigned long long)run->mmio.phys_addr, step->write ? "write" : "read",
		    step->len, (unsigned long long)step->gpa);
	if (step->write) {
		memcpy(&data, run->mmio.data, step->len);
		TEST_ASSERT(data == step->data, "MMIO access %u: wrote %#llx, expected %#llx", i,
			    (unsigned long long)data, (unsigned long long)step->data);
	} else {
		memcpy(run->mmio.data, &step->data, step->len);
	}
}

void vcpu_expect_mmio(struct vcpu *vcpu, const struct mmio_step *steps, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		vcpu_run(vcpu);
		vcpu_check_mmio(vcpu, &steps[i], i);
	}
}

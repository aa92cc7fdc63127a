// SPDX-License-Identifier: GPL-2.0
/*
 * A split irqchip's EOI handshake (VAPICVM_CAP_IOAPIC_EOI) on every APIC
 * tier, in xAPIC and x2APIC mode: the EOI of a level-triggered interrupt
 * reaches the VMM's I/O APIC as VAPICVM_EXIT_IOAPIC_EOI and nothing else
 * does; TMR records each interrupt's trigger mode as the guest reads it;
 * a line still asserted at the EOI interrupts again (remote IRR); a vector
 * moves between edge and level; a level interrupt accepted while another
 * of its vector is in service keeps its TMR bit across the first EOI; and
 * IPIs are edge-triggered whatever the ICR's trigger-mode bit says.
 */
#include "kselftest_harness.h"
#include "apic.h"

#define VEC		0x71
#define VEC_OTHER	0x72
#define DEVICE_PORT	0xe0	/* the guest's write: "device, drop your line" */
#define TMR_BIT(v)	(1U << ((v) & 31))
#define TMR_REG(v)	(REG_TMR + ((v) >> 5) * 0x10)

FIXTURE(eoi) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(eoi);

FIXTURE_SETUP(eoi)
{
	APIC_TIER_SETUP();
}

/* Guest memory, shared with the host (sync_global_from_guest). */
static volatile uint32_t taken[256];
static volatile uint32_t tmr_at_entry[256];	/* TMR bit in the handler, last time */
static volatile uint32_t tmr_after_eoi[256];
static volatile uint32_t tmr_after_first_eoi;	/* of the first interrupt taken */
static volatile uint32_t sync_in_handler;	/* handler: GUEST_SYNC before its EOI */
static volatile uint32_t drop_line_after;	/* handler: OUT DEVICE_PORT at this count */

static bool guest_tmr(int v)
{
	return apic_read(TMR_REG(v)) & TMR_BIT(v);
}

static void handler(struct ex_regs *regs)
{
	int v = regs->vector;

	taken[v]++;
	tmr_at_entry[v] = guest_tmr(v);
	if (sync_in_handler) {
		sync_in_handler = 0;
		GUEST_SYNC(100);	/* the host sends a second one, in service now */
	}
	if (drop_line_after && taken[v] == drop_line_after)
		__asm__ volatile("outb %%al, %0" : : "i"(DEVICE_PORT), "a"(0));
	apic_eoi();
	tmr_after_eoi[v] = guest_tmr(v);
	if (taken[VEC] + taken[VEC_OTHER] == 1)
		tmr_after_first_eoi = tmr_after_eoi[v];
}

/* Exits of one RUN loop up to the next ucall: the EOIs seen on the way. */
struct eoi_log {
	int n;
	uint8_t vector[16];
	int device_writes;
};

/*
 * Run until a ucall; record each IOAPIC_EOI exit and device write.  When
 * *line is set, an EOI of VEC re-delivers VEC as the I/O APIC would.
 */
static uint64_t run_logging(struct __test_metadata *_metadata, struct vcpu *vcpu,
			    struct eoi_log *log, bool *line)
{
	struct ucall uc;

	memset(log, 0, sizeof(*log));
	for (;;) {
		ASSERT_EQ(0, __vcpu_run(vcpu));
		switch (vcpu->run->exit_reason) {
		case VAPICVM_EXIT_IOAPIC_EOI:
			ASSERT_LT(log->n, 16);
			log->vector[log->n++] = vcpu->run->eoi.vector;
			if (line && *line && vcpu->run->eoi.vector == VEC)
				vm_send_msi(vcpu->vm, 0, VEC, true);
			continue;
		case VAPICVM_EXIT_IO:
			if (vcpu->run->io.port == DEVICE_PORT) {
				log->device_writes++;
				if (line)
					*line = false;
				continue;
			}
			break;
		}
		if (get_ucall(vcpu, &uc) == UCALL_PRINT)
			continue;
		if (uc.cmd == UCALL_ABORT)
			fail_guest_assert(vcpu, &uc);
		EXPECT_NE(UCALL_NONE, uc.cmd) TH_LOG("unexpected exit %s",
						     exit_reason_str(vcpu->run->exit_reason));
		return uc.cmd;
	}
}

static void set_eoi_exits(struct vm *vm, uint64_t on)
{
	struct vapicvm_enable_cap cap = { .cap = VAPICVM_CAP_IOAPIC_EOI, .args = { on } };

	vm_ioctl(vm, VAPICVM_ENABLE_CAP, &cap);
}

static struct vcpu *add_vcpu(struct vm *vm, void (*code)(uint64_t), bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, code, x2);

	vm_install_handler(vm, VEC, handler);
	vm_install_handler(vm, VEC_OTHER, handler);
	return vcpu;
}

static void guest_wait_loop(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	for (;;)
		GUEST_SYNC(1);	/* the host sends one interrupt per round */
}

/* One interrupt, one round: its EOI exits (level) or not (edge). */
static void round_trip(struct __test_metadata *_metadata, struct vcpu *vcpu, uint8_t vector,
		       bool level, int expect_eoi_exits)
{
	struct eoi_log log;

	vm_send_msi(vcpu->vm, 0, vector, level);
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	EXPECT_EQ(expect_eoi_exits, log.n)
		TH_LOG("vector %#x %s: %d EOI exits", vector, level ? "level" : "edge", log.n);
	if (log.n)
		EXPECT_EQ(vector, log.vector[0]);
	sync_global_from_guest(vcpu->vm, tmr_at_entry);
	sync_global_from_guest(vcpu->vm, tmr_after_eoi);
	EXPECT_EQ(level, tmr_at_entry[vector]) TH_LOG("TMR in the handler");
	EXPECT_EQ(0, tmr_after_eoi[vector]) TH_LOG("TMR after the EOI");
}

/*
 * Level EOIs exit, edge ones do not, and one vector moves between the
 * two: TMR follows each interrupt, and so does the exit.
 */
static void level_and_edge(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = add_vcpu(vm, guest_wait_loop, x2);
	struct eoi_log log;
	uint64_t before;

	set_eoi_exits(vm, 1);
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	before = vcpu_stat(vcpu, VAPICVM_STAT_IOAPIC_EOI);
	round_trip(_metadata, vcpu, VEC_OTHER, false, 0);
	round_trip(_metadata, vcpu, VEC, true, 1);
	round_trip(_metadata, vcpu, VEC, false, 0);	/* the same vector, edge now */
	round_trip(_metadata, vcpu, VEC, true, 1);	/* and level again */
	round_trip(_metadata, vcpu, VEC_OTHER, true, 1);
	round_trip(_metadata, vcpu, VEC, false, 0);
	EXPECT_EQ(3, vcpu_stat(vcpu, VAPICVM_STAT_IOAPIC_EOI) - before);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(eoi, level_and_edge, level_and_edge)

/* Off by default, and off again: a level EOI then exits to nobody. */
static void only_when_enabled(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = add_vcpu(vm, guest_wait_loop, x2);
	struct eoi_log log;

	ASSERT_EQ(1, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_IOAPIC_EOI));
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	round_trip(_metadata, vcpu, VEC, true, 0);
	set_eoi_exits(vm, 1);
	round_trip(_metadata, vcpu, VEC, true, 1);
	set_eoi_exits(vm, 0);
	round_trip(_metadata, vcpu, VEC, true, 0);
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_IOAPIC_EOI));
}

APIC_TEST_F_BOTH_MODES(eoi, only_when_enabled, only_when_enabled)

/*
 * The remote-IRR handshake of a line that stays asserted: each EOI makes
 * the host's I/O APIC deliver again until the guest's handler tells the
 * device to drop its line (the third time).
 */
static void guest_handshake(uint64_t x2)
{
	guest_x2apic = x2;
	drop_line_after = 3;
	apic_enable();
	guest_sti();
	GUEST_SYNC(1);	/* the line goes up */
	GUEST_ASSERT_EQ(taken[VEC], 3);
	GUEST_ASSERT_EQ(tmr_at_entry[VEC], 1);
	GUEST_ASSERT_EQ(tmr_after_eoi[VEC], 0);
	GUEST_DONE();
}

static void line_stays_asserted(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = add_vcpu(vm, guest_handshake, x2);
	struct eoi_log log;
	bool line = true;

	set_eoi_exits(vm, 1);
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	vm_send_msi(vm, 0, VEC, true);
	ASSERT_EQ(UCALL_DONE, run_logging(_metadata, vcpu, &log, &line));
	EXPECT_EQ(3, log.n);
	EXPECT_EQ(1, log.device_writes);
	EXPECT_FALSE(line);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(eoi, line_stays_asserted, line_stays_asserted)

/*
 * A second level interrupt of the vector arrives while the first is in
 * service: it waits in IRR with its TMR bit, which the first EOI must not
 * clear, and each of the two EOIs exits.
 */
static void guest_in_service(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	sync_in_handler = 1;
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(taken[VEC], 2);
	GUEST_ASSERT_EQ(tmr_after_first_eoi, 1);	/* IRR held a level VEC */
	GUEST_ASSERT_EQ(tmr_at_entry[VEC], 1);
	GUEST_ASSERT_EQ(tmr_after_eoi[VEC], 0);
	GUEST_DONE();
}

static void second_while_in_service(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = add_vcpu(vm, guest_in_service, x2);
	struct eoi_log log;

	set_eoi_exits(vm, 1);
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	vm_send_msi(vm, 0, VEC, true);
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));	/* in the handler */
	EXPECT_EQ(0, log.n);
	vm_send_msi(vm, 0, VEC, true);	/* VEC is in service: this one waits in IRR */
	ASSERT_EQ(UCALL_DONE, run_logging(_metadata, vcpu, &log, NULL));
	ASSERT_EQ(2, log.n);
	EXPECT_EQ(VEC, log.vector[0]);
	EXPECT_EQ(VEC, log.vector[1]);
	vm_assert_lapic_consistent(vm);
}

APIC_TEST_F_BOTH_MODES(eoi, second_while_in_service, second_while_in_service)

/* The ICR's trigger-mode bit does not make a fixed IPI level-triggered. */
static void guest_level_ipi(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	apic_icr(0, ICR_SELF | ICR_LEVEL | ICR_ASSERT | VEC);
	apic_icr(apic_id(), ICR_FIXED | ICR_LEVEL | ICR_ASSERT | VEC_OTHER);
	GUEST_ASSERT_EQ(taken[VEC], 1);
	GUEST_ASSERT_EQ(taken[VEC_OTHER], 1);
	GUEST_ASSERT_EQ(tmr_at_entry[VEC], 0);
	GUEST_ASSERT_EQ(tmr_at_entry[VEC_OTHER], 0);
	GUEST_DONE();
}

static void ipis_are_edge(struct __test_metadata *_metadata, struct vm *vm, bool x2)
{
	struct vcpu *vcpu = add_vcpu(vm, guest_level_ipi, x2);
	struct eoi_log log;

	set_eoi_exits(vm, 1);
	ASSERT_EQ(UCALL_DONE, run_logging(_metadata, vcpu, &log, NULL));
	EXPECT_EQ(0, log.n);
}

APIC_TEST_F_BOTH_MODES(eoi, ipis_are_edge, ipis_are_edge)

/* Bad arguments: EINVAL, and the setting is unchanged. */
TEST_F(eoi, enable_cap_rejects_bad_arguments)
{
	struct vapicvm_enable_cap cap = { .cap = VAPICVM_CAP_IOAPIC_EOI, .args = { 1 } };
	struct vcpu *vcpu = add_vcpu(self->vm, guest_wait_loop, false);
	struct eoi_log log;

	cap.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.flags = 0;
	cap.reserved[3] = 1;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.reserved[3] = 0;
	cap.args[0] = 2;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.args[0] = 1;
	cap.args[3] = 1;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.args[3] = 0;
	cap.cap = VAPICVM_CAP_EPT;	/* nothing to enable */
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	cap.cap = 0xffffffff;
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, &cap, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(self->vm->fd, VAPICVM_ENABLE_CAP, (void *)8, EFAULT));
	/* None of these turned the exit on. */
	ASSERT_EQ(UCALL_SYNC, run_logging(_metadata, vcpu, &log, NULL));
	round_trip(_metadata, vcpu, VEC, true, 0);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU's events in flight (VAPICVM_GET/SET_VCPU_EVENTS): an NMI sent
 * to a stopped vCPU is in its state and is delivered by a copy of the vCPU
 * in a new VM as by the original; an exception and an interrupt being
 * delivered are set and taken; GET/SET/GET round-trips; the states VM
 * entry would refuse, and malformed ones, are EINVAL.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define VEC		0x66
#define UD_VECTOR	6
#define NMI_VECTOR	2

FIXTURE(events) {
	struct vm *vm;
	struct vm *vm2;
};

FIXTURE_SETUP(events)
{
	self->vm = vm_create();
	self->vm2 = NULL;
}

FIXTURE_TEARDOWN(events)
{
	vm_free(self->vm);
	if (self->vm2)
		vm_free(self->vm2);
}

static volatile uint32_t nmis, uds, ints;

static void nmi_handler(struct ex_regs *regs)
{
	nmis++;
}

static void ud_handler(struct ex_regs *regs)
{
	uds++;	/* injected at an ordinary instruction: it runs on return */
}

static void int_handler(struct ex_regs *regs)
{
	ints++;
}

static void guest_code(void)
{
	GUEST_SYNC(1);		/* the host sends an NMI, then moves the vCPU */
	GUEST_ASSERT_EQ(nmis, 1);
	GUEST_SYNC(2);		/* the host sets a pending #UD */
	GUEST_ASSERT_EQ(uds, 1);
	guest_sti();
	GUEST_SYNC(3);		/* the host sets an interrupt being delivered */
	GUEST_ASSERT_EQ(ints, 1);
	GUEST_ASSERT_EQ(nmis, 1);
	GUEST_DONE();
}

static struct vcpu *add_vcpu(struct vm *vm)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_code, 0);

	vm_install_handler(vm, NMI_VECTOR, nmi_handler);
	vm_install_handler(vm, UD_VECTOR, ud_handler);
	vm_install_handler(vm, VEC, int_handler);
	return vcpu;
}

static void send_nmi(struct vm *vm)
{
	struct vapicvm_msi msi = { .address_lo = 0xfee00000, .data = 4 << 8 };

	TEST_ASSERT(vm_ioctl(vm, VAPICVM_SIGNAL_MSI, &msi) == 1, "NMI not accepted");
}

static void get_events(struct vcpu *vcpu, struct vapicvm_vcpu_events *ev)
{
	memset(ev, 0xa5, sizeof(*ev));
	vcpu_ioctl(vcpu, VAPICVM_GET_VCPU_EVENTS, ev);
}

static uint64_t run(struct vcpu *vcpu)
{
	struct ucall uc;

	return vcpu_run_ucall(vcpu, &uc);
}

/*
 * An NMI sent to a stopped vCPU is part of its state: the original and
 * its copy in a new VM each take it once, and go on to the same end.
 */
TEST_F(events, pending_nmi_moves_with_the_vcpu)
{
	struct vcpu *vcpu = add_vcpu(self->vm), *copy;
	struct vapicvm_vcpu_events ev;

	ASSERT_EQ(1, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
				(void *)VAPICVM_CAP_VCPU_EVENTS));
	ASSERT_EQ(UCALL_SYNC, run(vcpu));
	get_events(vcpu, &ev);
	EXPECT_EQ(0, ev.nmi_pending);
	send_nmi(self->vm);
	get_events(vcpu, &ev);
	EXPECT_EQ(1, ev.nmi_pending);
	EXPECT_EQ(0, ev.nmi_masked);
	EXPECT_EQ(0, ev.injected.valid);

	self->vm2 = vm_create();
	copy = vcpu_migrate(vcpu, self->vm2);
	get_events(copy, &ev);
	EXPECT_EQ(1, ev.nmi_pending);
	EXPECT_EQ(UCALL_SYNC, run(copy));	/* stage 2: nmis == 1 there */
	EXPECT_EQ(UCALL_SYNC, run(vcpu));	/* and here, unmigrated */
}

/* A pending exception and an interrupt being delivered, set by the VMM. */
TEST_F(events, set_exception_and_interrupt_are_taken)
{
	struct vcpu *vcpu = add_vcpu(self->vm);
	struct vapicvm_vcpu_events ev;

	ASSERT_EQ(UCALL_SYNC, run(vcpu));
	send_nmi(self->vm);
	ASSERT_EQ(UCALL_SYNC, run(vcpu));	/* stage 2 */
	get_events(vcpu, &ev);
	ev.exception.pending = 1;
	ev.exception.vector = UD_VECTOR;
	vcpu_ioctl(vcpu, VAPICVM_SET_VCPU_EVENTS, &ev);
	get_events(vcpu, &ev);
	EXPECT_EQ(1, ev.exception.pending);
	EXPECT_EQ(UD_VECTOR, ev.exception.vector);
	ASSERT_EQ(UCALL_SYNC, run(vcpu));	/* stage 3: the #UD was taken */

	get_events(vcpu, &ev);
	EXPECT_EQ(0, ev.exception.pending);
	ev.injected.valid = 1;
	ev.injected.type = VAPICVM_EVENT_EXT_INTR;
	ev.injected.vector = VEC;
	vcpu_ioctl(vcpu, VAPICVM_SET_VCPU_EVENTS, &ev);
	ASSERT_EQ(UCALL_DONE, run(vcpu));	/* the interrupt was taken */
}

/* GET after SET returns what SET was given. */
TEST_F(events, round_trip)
{
	struct vcpu *vcpu = add_vcpu(self->vm);
	struct vapicvm_vcpu_events ev, back;

	ASSERT_EQ(UCALL_SYNC, run(vcpu));
	get_events(vcpu, &ev);
	ev.exception.pending = 1;
	ev.exception.vector = 13;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x18;
	ev.nmi_pending = 2;
	ev.nmi_masked = 1;
	ev.extint_pending = 1;
	ev.extint_vector = 0x30;
	ev.init_pending = 1;
	ev.sipi_pending = 1;
	ev.sipi_vector = 0x9a;
	ev.injected.valid = 1;
	ev.injected.type = VAPICVM_EVENT_SOFT_INTR;
	ev.injected.vector = 0x80;
	ev.injected.insn_len = 2;
	vcpu_ioctl(vcpu, VAPICVM_SET_VCPU_EVENTS, &ev);
	get_events(vcpu, &back);
	EXPECT_EQ(0, memcmp(&ev, &back, sizeof(ev)));
	memset(&ev, 0, sizeof(ev));	/* and back to nothing in flight */
	vcpu_ioctl(vcpu, VAPICVM_SET_VCPU_EVENTS, &ev);
	get_events(vcpu, &back);
	EXPECT_EQ(0, memcmp(&ev, &back, sizeof(ev)));
}

static void expect_einval(struct __test_metadata *_metadata, struct vcpu *vcpu,
			  const struct vapicvm_vcpu_events *ev, const char *what)
{
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_VCPU_EVENTS, ev, EINVAL))
		TH_LOG("%s", what);
}

/* Malformed states and states VM entry refuses: EINVAL, nothing changes. */
TEST_F(events, rejects_bad_states)
{
	struct vcpu *vcpu = add_vcpu(self->vm);
	struct vapicvm_vcpu_events ok, ev, after;

	ASSERT_EQ(UCALL_SYNC, run(vcpu));	/* IF is 0 at stage 1 */
	get_events(vcpu, &ok);
#define BAD(field, value, what) do { ev = ok; ev.field = value; expect_einval(_metadata, vcpu, &ev, what); } while (0)
	BAD(flags, 1, "flags");
	BAD(reserved[2], 1, "reserved");
	BAD(pad[1], 1, "pad");
	BAD(injected.pad, 1, "injected.pad");
	BAD(nmi_pending, 3, "three NMIs");
	BAD(nmi_masked, 2, "nmi_masked 2");
	BAD(shadow, 4, "unknown shadow bit");
	BAD(shadow, VAPICVM_SHADOW_STI | VAPICVM_SHADOW_MOV_SS, "both shadows");
	BAD(shadow, VAPICVM_SHADOW_STI, "STI shadow with IF 0");
	BAD(extint_vector, 0x30, "an ExtINT vector without the ExtINT");
	BAD(sipi_vector, 0x30, "a SIPI vector without the SIPI");
	BAD(exception.vector, 6, "an exception vector without the exception");
	ev = ok;
	ev.exception.pending = 1;
	ev.exception.vector = 32;
	expect_einval(_metadata, vcpu, &ev, "exception vector 32");
	ev.exception.vector = 6;
	ev.exception.has_error_code = 1;
	expect_einval(_metadata, vcpu, &ev, "#UD with an error code");
	ev = ok;
	ev.injected.valid = 1;
	ev.injected.type = 7;
	expect_einval(_metadata, vcpu, &ev, "type 7");
	ev.injected.type = VAPICVM_EVENT_NMI;
	ev.injected.vector = 3;
	expect_einval(_metadata, vcpu, &ev, "an NMI of vector 3");
	ev.injected.vector = NMI_VECTOR;
	ev.nmi_masked = 1;
	expect_einval(_metadata, vcpu, &ev, "an NMI into blocked NMIs");
	ev.nmi_masked = 0;
	ev.injected.type = VAPICVM_EVENT_EXT_INTR;
	ev.injected.vector = VEC;
	expect_einval(_metadata, vcpu, &ev, "an external interrupt with IF 0");
	ev.injected.type = VAPICVM_EVENT_SOFT_INTR;
	expect_einval(_metadata, vcpu, &ev, "INT n without its length");
	ev.injected.insn_len = 16;
	expect_einval(_metadata, vcpu, &ev, "INT n of 16 bytes");
	ev.injected.type = VAPICVM_EVENT_SOFT_EXCEPTION;
	ev.injected.insn_len = 1;
	expect_einval(_metadata, vcpu, &ev, "a software exception other than #BP, #OF");
#undef BAD
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_VCPU_EVENTS, (void *)8, EFAULT));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_VCPU_EVENTS, (void *)8, EFAULT));
	get_events(vcpu, &after);
	EXPECT_EQ(0, memcmp(&ok, &after, sizeof(ok)));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * GSI routes and irqfds (VAPICVM_SET_GSI_ROUTE, VAPICVM_IRQFD) on every
 * APIC tier: an eventfd write delivers its GSI's MSI with no ioctl, also
 * to a vCPU halted in the kernel and from another thread; a signal that
 * came before the assignment is delivered; a route can be retargeted or
 * removed while the irqfd stays; DEASSIGN, closing the eventfd and
 * freeing the VM each end delivery; limits and bad arguments get their
 * documented errno.
 */
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "apic.h"

#define VEC		0x61
#define VEC_OTHER	0x62
#define GSI		5
#define NR_GSIS		1024	/* api.rst: VAPICVM_CAP_GSI_ROUTING */
#define MAX_IRQFDS	1024	/* api.rst: VAPICVM_CAP_IRQFD */

FIXTURE(irqfd) {
	struct vm *vm;
	uint32_t apicv;
	int efd;
};

APIC_TIER_FIXTURE(irqfd);

FIXTURE_SETUP(irqfd)
{
	self->efd = -1;
	APIC_TIER_SETUP();
	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
}

/* Guest memory, shared with the host. */
static volatile uint32_t taken[256];
static volatile uint32_t wait_for;	/* guest_halt_for: halt until taken[VEC] reaches it */

static void handler(struct ex_regs *regs)
{
	taken[regs->vector]++;
	apic_eoi();
}

/* One round per GUEST_SYNC: the host signals between rounds. */
static void guest_rounds(uint64_t arg)
{
	apic_enable();
	guest_sti();
	for (;;)
		GUEST_SYNC(1);
}

/* Halt (in the kernel's halt loop) until an interrupt comes. */
static void guest_halt_for(uint64_t arg)
{
	apic_enable();
	GUEST_SYNC(1);
	guest_halt_until(taken[VEC] >= wait_for);
	GUEST_DONE();
}

static struct vcpu *add_vcpu(struct vm *vm, void (*code)(uint64_t))
{
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, code, false);

	vm_install_handler(vm, VEC, handler);
	vm_install_handler(vm, VEC_OTHER, handler);
	return vcpu;
}

static uint64_t run_ucall(struct vcpu *vcpu)
{
	struct ucall uc;

	return vcpu_run_ucall(vcpu, &uc);
}

static int __set_route(struct vm *vm, uint32_t gsi, uint32_t flags, uint32_t address_lo,
		       uint32_t data)
{
	struct vapicvm_gsi_route r = {
		.gsi = gsi,
		.flags = flags,
		.msi = { .address_lo = address_lo, .data = data },
	};

	return __vm_ioctl(vm, VAPICVM_SET_GSI_ROUTE, &r);
}

/* GSI gsi -> an edge-triggered fixed MSI with vector to APIC ID 0. */
static void route_to(struct vm *vm, uint32_t gsi, uint8_t vector)
{
	TEST_ASSERT(!__set_route(vm, gsi, VAPICVM_GSI_ROUTE_MSI, 0xfee00000, vector),
		    "SET_GSI_ROUTE %u: %s", gsi, strerror(errno));
}

static int __irqfd(struct vm *vm, int fd, uint32_t gsi, uint32_t flags)
{
	struct vapicvm_irqfd a = { .fd = fd, .gsi = gsi, .flags = flags };

	return __vm_ioctl(vm, VAPICVM_IRQFD, &a);
}

/* 0, or the errno of a failed VAPICVM_IRQFD. */
static int irqfd_errno(struct vm *vm, int fd, uint32_t gsi, uint32_t flags)
{
	return __irqfd(vm, fd, gsi, flags) ? errno : 0;
}

static void signal_efd(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one), "eventfd write");
}

/* Run one round; the interrupts the guest took in it, per vector. */
static uint32_t round_taken(struct __test_metadata *_metadata, struct vcpu *vcpu, int vector)
{
	uint32_t before;

	sync_global_from_guest(vcpu->vm, taken);
	before = taken[vector];
	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	sync_global_from_guest(vcpu->vm, taken);
	return taken[vector] - before;
}

TEST_F(irqfd, capabilities)
{
	EXPECT_EQ(NR_GSIS, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
				      (void *)VAPICVM_CAP_GSI_ROUTING));
	EXPECT_EQ(MAX_IRQFDS, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
					 (void *)VAPICVM_CAP_IRQFD));
}

/* Each write delivers; writes before the guest runs coalesce, as edges do. */
TEST_F(irqfd, delivers_route)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_EQ(0, round_taken(_metadata, vcpu, VEC));
	signal_efd(self->efd);
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
	signal_efd(self->efd);
	signal_efd(self->efd);
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
	/* The wake-up consumed the count: nothing is left to read. */
	uint64_t n;
	EXPECT_EQ(-1, read(self->efd, &n, sizeof(n)));
	EXPECT_EQ(EAGAIN, errno);
	vm_assert_lapic_consistent(self->vm);
}

/* The route is looked up at each signal: retarget, remove, restore. */
TEST_F(irqfd, route_changes_apply)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	route_to(self->vm, GSI, VEC_OTHER);
	signal_efd(self->efd);
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC_OTHER));
	EXPECT_EQ(0, __set_route(self->vm, GSI, 0, 0, 0));	/* no route: dropped */
	signal_efd(self->efd);
	EXPECT_EQ(0, round_taken(_metadata, vcpu, VEC_OTHER));
	EXPECT_EQ(0, __set_route(self->vm, GSI, 0, 0, 0));	/* removing twice is fine */
	route_to(self->vm, GSI, VEC);
	signal_efd(self->efd);
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
}

/* A signal that came before the assignment is not lost. */
TEST_F(irqfd, pending_signal_at_assignment)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	signal_efd(self->efd);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
}

/* DEASSIGN: nothing delivers after it returns; the eventfd can come back. */
TEST_F(irqfd, deassign)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_EQ(ENOENT, irqfd_errno(self->vm, self->efd, GSI + 1, VAPICVM_IRQFD_DEASSIGN));
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, VAPICVM_IRQFD_DEASSIGN));
	signal_efd(self->efd);
	EXPECT_EQ(0, round_taken(_metadata, vcpu, VEC));
	EXPECT_EQ(ENOENT, irqfd_errno(self->vm, self->efd, GSI, VAPICVM_IRQFD_DEASSIGN));
	/* The count left by the write above is delivered at the new assignment. */
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
}

struct delayed_signal {
	int fd;
	int count;
};

static void *signal_later(void *arg)
{
	struct delayed_signal *d = arg;
	uint64_t one = 1;

	for (int i = 0; i < d->count; i++) {
		usleep(20000);	/* the vCPU is halted in the kernel by now */
		if (write(d->fd, &one, sizeof(one)) != sizeof(one))
			return (void *)1;
	}
	return NULL;
}

/* Another thread's signal wakes a vCPU halted in the kernel. */
TEST_F(irqfd, wakes_halted_vcpu)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_halt_for);
	struct delayed_signal d = { .fd = self->efd, .count = 3 };
	uint32_t three = 3;
	pthread_t t;
	void *ret;

	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	wait_for = three;
	sync_global_to_guest(vcpu->vm, wait_for);
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_later, &d));
	EXPECT_EQ(UCALL_DONE, run_ucall(vcpu));
	ASSERT_EQ(0, pthread_join(t, &ret));
	EXPECT_EQ(NULL, ret);
	sync_global_from_guest(vcpu->vm, taken);
	EXPECT_EQ(3, taken[VEC]);
}

/* Closing the eventfd removes the irqfd; a new eventfd takes its place. */
TEST_F(irqfd, closed_eventfd_leaves)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);
	int again;

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	ASSERT_EQ(0, close(self->efd));
	self->efd = -1;
	again = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, again);
	EXPECT_EQ(ENOENT, irqfd_errno(self->vm, again, GSI, VAPICVM_IRQFD_DEASSIGN));
	ASSERT_EQ(0, __irqfd(self->vm, again, GSI, 0));
	signal_efd(again);
	EXPECT_EQ(1, round_taken(_metadata, vcpu, VEC));
	self->efd = again;
}

/* The VM goes first: its irqfds go with it and the eventfd signals nobody. */
TEST_F(irqfd, vm_freed_first)
{
	struct vcpu *vcpu = add_vcpu(self->vm, guest_rounds);

	EXPECT_EQ(UCALL_SYNC, run_ucall(vcpu));
	route_to(self->vm, GSI, VEC);
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	vm_free(self->vm);
	self->vm = NULL;
	signal_efd(self->efd);
	signal_efd(self->efd);
	uint64_t n = 0;
	EXPECT_EQ(sizeof(n), read(self->efd, &n, sizeof(n)));
	EXPECT_EQ(2, n);	/* nobody consumed the count */
}

/* Bad arguments: EINVAL, EBADF, EFAULT; a second use of an eventfd: EBUSY. */
TEST_F(irqfd, rejects_bad_arguments)
{
	struct vapicvm_irqfd a = { .fd = self->efd, .gsi = GSI };
	struct vapicvm_gsi_route r = {
		.gsi = GSI, .flags = VAPICVM_GSI_ROUTE_MSI, .msi = { .address_lo = 0xfee00000 },
	};
	int fd = self->vm->fd;

	a.flags = 2;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EINVAL));
	a.flags = 0;
	a.pad = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EINVAL));
	a.pad = 0;
	a.reserved[1] = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EINVAL));
	a.reserved[1] = 0;
	a.gsi = NR_GSIS;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EINVAL));
	a.gsi = GSI;
	a.fd = -1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EBADF));
	a.fd = fd;	/* not an eventfd */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EINVAL));
	a.fd = self->efd;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, (void *)8, EFAULT));
	ASSERT_EQ(0, __irqfd(self->vm, self->efd, GSI, 0));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EBUSY));
	a.gsi = GSI + 1;	/* one eventfd, one GSI */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_IRQFD, &a, EBUSY));

	r.flags = 2;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.flags = VAPICVM_GSI_ROUTE_MSI;
	r.gsi = NR_GSIS;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.gsi = GSI;
	r.msi.address_lo = 0xfed00000;	/* not an MSI address */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.msi.address_lo = 0xfee00000;
	r.msi.address_hi = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.msi.address_hi = 0;
	r.msi.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.msi.flags = 0;
	r.reserved[0] = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	r.reserved[0] = 0;
	r.flags = 0;	/* removal with a message */
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, &r, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GSI_ROUTE, (void *)8, EFAULT));
	r.flags = VAPICVM_GSI_ROUTE_MSI;
	EXPECT_EQ(0, __vm_ioctl(self->vm, VAPICVM_SET_GSI_ROUTE, &r));
}

/* VAPICVM_CAP_IRQFD irqfds per VM, then ENOSPC. */
TEST_F(irqfd, limit)
{
	struct rlimit rl = { MAX_IRQFDS + 64, MAX_IRQFDS + 64 };
	int fds[MAX_IRQFDS + 1];
	int i;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (i = 0; i <= MAX_IRQFDS; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < MAX_IRQFDS; i++)
		ASSERT_EQ(0, __irqfd(self->vm, fds[i], i % NR_GSIS, 0)) TH_LOG("irqfd %d", i);
	EXPECT_EQ(ENOSPC, irqfd_errno(self->vm, fds[MAX_IRQFDS], 0, 0));
	ASSERT_EQ(0, __irqfd(self->vm, fds[0], 0, VAPICVM_IRQFD_DEASSIGN));
	EXPECT_EQ(0, __irqfd(self->vm, fds[MAX_IRQFDS], 0, 0));
	for (i = 0; i <= MAX_IRQFDS; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN

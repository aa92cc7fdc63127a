// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds (VAPICVM_IOEVENTFD): a guest write to a registered port or
 * unbacked guest-physical address, of the registered width and (with
 * DATAMATCH) value, signals the eventfd and does not exit to userspace;
 * every other write still exits.  Deassignment, collisions, limits and
 * bad arguments get their documented errno.
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define PORT_ANY	0x510	/* any 2-byte value */
#define PORT_MATCH	0x514	/* 4 bytes of 0x12345678 only */
#define MMIO_GPA	0xc0000000ULL
#define WRITES		20
#define MAX_IOEVENTFDS	1000	/* api.rst: VAPICVM_CAP_IOEVENTFD */

FIXTURE(ioeventfd) {
	struct vm *vm;
	int efd[3];
};

FIXTURE_SETUP(ioeventfd)
{
	self->vm = vm_create();
	for (int i = 0; i < 3; i++) {
		self->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(ioeventfd)
{
	for (int i = 0; i < 3; i++)
		close(self->efd[i]);
	vm_free(self->vm);
}

static int __assign(struct vm *vm, uint64_t addr, uint32_t len, int fd, uint32_t flags,
		    uint64_t datamatch)
{
	struct vapicvm_ioeventfd io = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd, .flags = flags,
	};

	return __vm_ioctl(vm, VAPICVM_IOEVENTFD, &io);
}

/* What the eventfd counted since the last read (0: nothing). */
static uint64_t drain(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static inline void guest_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void guest_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static void guest_doorbells(void)
{
	volatile uint32_t *mmio32 = (volatile uint32_t *)MMIO_GPA;
	volatile uint64_t *mmio64 = (volatile uint64_t *)(MMIO_GPA + 8);
	int i;

	for (i = 0; i < WRITES; i++)
		guest_outw(PORT_ANY, i);		/* each signals */
	GUEST_SYNC(1);
	guest_outl(PORT_MATCH, 0x12345678);		/* signals */
	guest_outl(PORT_MATCH, 0x12345679);		/* exits: another value */
	guest_outw(PORT_MATCH, 0x5678);			/* exits: another width */
	guest_outb(PORT_ANY, 1);			/* exits: another width */
	GUEST_SYNC(2);
	for (i = 0; i < WRITES; i++)
		*mmio32 = i;				/* each signals */
	*mmio64 = 0xfeedfacecafebeefULL;		/* signals (8-byte datamatch) */
	*mmio64 = 0xfeedfacecafebeeeULL;		/* exits */
	GUEST_SYNC(3);
	guest_outw(PORT_ANY, 7);			/* deassigned: exits */
	GUEST_DONE();
}

/* Run to the next ucall, counting the I/O and MMIO exits on the way. */
static uint64_t run_counting(struct __test_metadata *_metadata, struct vcpu *vcpu,
			     int *io_exits, int *mmio_exits)
{
	struct ucall uc;

	*io_exits = *mmio_exits = 0;
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == VAPICVM_EXIT_MMIO) {
			EXPECT_TRUE(vcpu->run->mmio.is_write);
			(*mmio_exits)++;
			continue;
		}
		if (get_ucall(vcpu, &uc) != UCALL_NONE) {
			if (uc.cmd == UCALL_ABORT)
				fail_guest_assert(vcpu, &uc);
			return uc.cmd;
		}
		EXPECT_EQ(VAPICVM_EXIT_IO, vcpu->run->exit_reason);
		(*io_exits)++;
	}
}

TEST_F(ioeventfd, guest_writes_signal_without_exits)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_doorbells, 0);
	int io, mmio;
	uint64_t user0;

	ASSERT_EQ(0, __assign(self->vm, PORT_ANY, 2, self->efd[0], VAPICVM_IOEVENTFD_PIO, 0));
	ASSERT_EQ(0, __assign(self->vm, PORT_MATCH, 4, self->efd[1],
			      VAPICVM_IOEVENTFD_PIO | VAPICVM_IOEVENTFD_DATAMATCH, 0x12345678));
	ASSERT_EQ(0, __assign(self->vm, MMIO_GPA, 4, self->efd[2], 0, 0));
	ASSERT_EQ(0, __assign(self->vm, MMIO_GPA + 8, 8, self->efd[2],
			      VAPICVM_IOEVENTFD_DATAMATCH, 0xfeedfacecafebeefULL));

	user0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_USERSPACE);
	ASSERT_EQ(UCALL_SYNC, run_counting(_metadata, vcpu, &io, &mmio));
	EXPECT_EQ(0, io);
	EXPECT_EQ(WRITES, drain(self->efd[0]));
	EXPECT_EQ(WRITES, vcpu_stat(vcpu, VAPICVM_STAT_IOEVENTFD));
	/* The whole loop ran in the kernel: one return to userspace, the SYNC. */
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_USERSPACE) - user0);

	ASSERT_EQ(UCALL_SYNC, run_counting(_metadata, vcpu, &io, &mmio));
	EXPECT_EQ(3, io) TH_LOG("another value, or another width, exits");
	EXPECT_EQ(1, drain(self->efd[1]));
	EXPECT_EQ(0, drain(self->efd[0]));

	ASSERT_EQ(UCALL_SYNC, run_counting(_metadata, vcpu, &io, &mmio));
	EXPECT_EQ(1, mmio);
	EXPECT_EQ(WRITES + 1, drain(self->efd[2]));

	ASSERT_EQ(0, __assign(self->vm, PORT_ANY, 2, self->efd[0],
			      VAPICVM_IOEVENTFD_PIO | VAPICVM_IOEVENTFD_DEASSIGN, 0));
	ASSERT_EQ(UCALL_DONE, run_counting(_metadata, vcpu, &io, &mmio));
	EXPECT_EQ(1, io);
	EXPECT_EQ(0, drain(self->efd[0]));
	EXPECT_EQ(2 * WRITES + 2, vcpu_stat(vcpu, VAPICVM_STAT_IOEVENTFD));
}

TEST_F(ioeventfd, collisions_and_deassignment)
{
	const uint32_t pio = VAPICVM_IOEVENTFD_PIO, dm = VAPICVM_IOEVENTFD_DATAMATCH,
		       off = VAPICVM_IOEVENTFD_DEASSIGN;
	struct vm *vm = self->vm;
	int a = self->efd[0], b = self->efd[1];

	ASSERT_EQ(0, __assign(vm, 0x600, 1, a, pio | dm, 1));
	ASSERT_EQ(0, __assign(vm, 0x600, 1, b, pio | dm, 2));	/* another value */
	ASSERT_EQ(0, __assign(vm, 0x600, 2, a, pio, 0));	/* another width */
	ASSERT_EQ(0, __assign(vm, 0x600, 1, a, dm, 1));	/* MMIO, not the port */
	/* The same write would match both: EEXIST, whichever eventfd. */
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD,
				     &((struct vapicvm_ioeventfd){ .addr = 0x600, .len = 1, .fd = b,
								   .flags = pio, .datamatch = 0 }),
				     EEXIST));
	EXPECT_EQ(-1, __assign(vm, 0x600, 1, b, pio | dm, 1));
	EXPECT_EQ(EEXIST, errno);
	/* Deassign needs the same eventfd, address, width, space and datamatch. */
	EXPECT_EQ(-1, __assign(vm, 0x600, 1, b, pio | dm | off, 1));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, __assign(vm, 0x600, 1, a, pio | off, 0));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, __assign(vm, 0x600, 1, a, pio | dm | off, 1));
	EXPECT_EQ(-1, __assign(vm, 0x600, 1, a, pio | dm | off, 1));
	EXPECT_EQ(ENOENT, errno);
	/* Its place is free again (a wildcard still collides with value 2). */
	EXPECT_EQ(0, __assign(vm, 0x600, 1, b, pio | dm, 1));
	EXPECT_EQ(-1, __assign(vm, 0x600, 1, b, pio, 0));
	EXPECT_EQ(EEXIST, errno);
	/* The VM holds its own reference: the fd it was given may be closed. */
	int dup_a = dup(a);

	ASSERT_LE(0, dup_a);
	EXPECT_EQ(0, __assign(vm, 0x700, 4, dup_a, pio, 0));
	close(dup_a);
	EXPECT_EQ(0, __assign(vm, 0x700, 4, a, pio | off, 0));	/* the same eventfd */
}

TEST_F(ioeventfd, bad_arguments)
{
	const uint32_t pio = VAPICVM_IOEVENTFD_PIO;
	struct vapicvm_ioeventfd io = { .addr = 0x600, .len = 1, .fd = self->efd[0], .flags = pio };
	struct vm *vm = self->vm;
	int i;

	EXPECT_EQ(MAX_IOEVENTFDS,
		  __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_IOEVENTFD));
	io.flags = 1U << 3;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.flags = pio;
	io.pad = 1;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.pad = 0;
	io.reserved[1] = 1;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.reserved[1] = 0;
	for (i = 0; i <= 9; i++) {
		io.len = i;
		if (i == 1 || i == 2 || i == 4)
			continue;
		EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL))
			TH_LOG("port, %d bytes", i);
	}
	io.len = 2;
	io.addr = 0xffff;		/* past the last port */
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.addr = 0x10000;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.flags = 0;			/* MMIO */
	io.len = 8;
	io.addr = MMIO_GPA + 0xffc;	/* across a page */
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.addr = ~0ULL - 3;		/* wraps */
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.addr = MMIO_GPA;
	io.len = 3;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	io.len = 8;
	io.fd = -1;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EBADF));
	io.fd = vm->fd;			/* not an eventfd */
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, (void *)8, EFAULT));
	/* Nothing above registered anything. */
	io.fd = self->efd[0];
	io.flags = VAPICVM_IOEVENTFD_DEASSIGN;
	EXPECT_TRUE(ioctl_fails_with(vm->fd, VAPICVM_IOEVENTFD, &io, ENOENT));
}

/* The per-VM limit, then every registration goes with the VM. */
TEST_F(ioeventfd, limit)
{
	int n = __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_IOEVENTFD);
	int i;

	ASSERT_LT(0, n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, __assign(self->vm, 0x1000 + i, 1, self->efd[i % 3],
				      VAPICVM_IOEVENTFD_PIO, 0)) TH_LOG("registration %d", i);
	EXPECT_EQ(-1, __assign(self->vm, 0x1000 + n, 1, self->efd[0], VAPICVM_IOEVENTFD_PIO, 0));
	EXPECT_EQ(ENOSPC, errno);
}

TEST_HARNESS_MAIN

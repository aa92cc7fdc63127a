/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for vapicvm selftests, after KVM's selftests: __vm_ioctl() and
 * friends return the raw result (for negative tests); vm_ioctl() and friends
 * assert success and report the ioctl by name.
 */
#ifndef SELFTEST_VAPICVM_UTIL_H
#define SELFTEST_VAPICVM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vapicvm.h>

#define VAPICVM_DEV "/dev/vapicvm"

/* Fail the whole test program (outside the harness's TEST bodies). */
#define TEST_FAIL(fmt, ...) do {						\
	fprintf(stderr, "==== Test assertion failure ====\n  %s:%d: " fmt "\n",	\
		__FILE__, __LINE__, ##__VA_ARGS__);				\
	fprintf(stderr, "  errno=%d (%s)\n", errno, strerror(errno));		\
	exit(1);								\
} while (0)

#define TEST_REQUIRE(cond, fmt, ...) do { if (!(cond)) TEST_FAIL(fmt, ##__VA_ARGS__); } while (0)

static inline int open_dev(void)
{
	int fd = open(VAPICVM_DEV, O_RDWR | O_CLOEXEC);

	TEST_REQUIRE(fd >= 0, "open(%s)", VAPICVM_DEV);
	return fd;
}

#define __sys_ioctl(fd, cmd, arg) ioctl(fd, cmd, arg)

/* Returns the ioctl's result; errno set on failure. */
#define __dev_ioctl(dev_fd, cmd, arg) ioctl(dev_fd, cmd, arg)

#define dev_ioctl(dev_fd, cmd, arg) ({						\
	int __r = ioctl(dev_fd, cmd, arg);					\
	TEST_REQUIRE(__r >= 0, "%s failed: %d", #cmd, __r);			\
	__r;									\
})

/* Check that a raw ioctl fails with the given errno. */
#define ioctl_fails_with(fd, cmd, arg, err) ({					\
	int __r = ioctl(fd, cmd, arg);						\
	__r == -1 && errno == (err);						\
})

static inline int create_vm_fd(int dev_fd, uint32_t flags, uint32_t apicv)
{
	struct vapicvm_create_vm params = { .flags = flags, .apicv = apicv };

	return ioctl(dev_fd, VAPICVM_CREATE_VM, &params);
}

/* Read an unsigned number from a sysfs file; -1 if it cannot be read. */
static inline long read_sysfs_long(const char *path)
{
	char buf[64] = "";
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 0);
	close(fd);
	return v;
}

#define VAPICVM_SYSFS "/sys/class/misc/vapicvm/"

#endif /* SELFTEST_VAPICVM_UTIL_H */

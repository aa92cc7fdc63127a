// SPDX-License-Identifier: GPL-2.0
/*
 * VM creation and destruction, and VMX operation following the first and
 * the last VM (observed through /sys/class/misc/vapicvm/{vms,vmx_cpus}).
 */
#include <sys/sysinfo.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

static long vms(void)
{
	return read_sysfs_long(VAPICVM_SYSFS "vms");
}

static long vmx_cpus(void)
{
	return read_sysfs_long(VAPICVM_SYSFS "vmx_cpus");
}

TEST(create_vm_many_times)
{
	int fd = open_dev();
	int i;

	for (i = 0; i < 500; i++) {
		int vm = create_vm_fd(fd, 0, 0);

		ASSERT_GE(vm, 0) TH_LOG("iteration %d: %s", i, strerror(errno));
		ASSERT_EQ(0, close(vm));
	}
	EXPECT_EQ(0, vms());
	close(fd);
}

TEST(many_vms_at_once)
{
	int fd = open_dev();
	int vm[100];
	int i;

	for (i = 0; i < 100; i++) {
		vm[i] = create_vm_fd(fd, 0, 0);
		ASSERT_GE(vm[i], 0);
	}
	EXPECT_EQ(100, vms());
	for (i = 0; i < 100; i++)
		close(vm[i]);
	EXPECT_EQ(0, vms());
	close(fd);
}

TEST(vmx_follows_first_and_last_vm)
{
	int fd = open_dev();
	int ncpus = get_nprocs();
	int a, b;

	ASSERT_EQ(0, vms());
	EXPECT_EQ(0, vmx_cpus()) TH_LOG("VMX left on with no VM");

	a = create_vm_fd(fd, 0, 0);
	ASSERT_GE(a, 0);
	EXPECT_EQ(1, vms());
	EXPECT_EQ(ncpus, vmx_cpus()) TH_LOG("VMX not on every online CPU");

	b = create_vm_fd(fd, 0, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(2, vms());
	EXPECT_EQ(ncpus, vmx_cpus());

	close(a);
	EXPECT_EQ(1, vms());
	EXPECT_EQ(ncpus, vmx_cpus()) TH_LOG("VMX left while a VM exists");

	close(b);
	EXPECT_EQ(0, vms());
	EXPECT_EQ(0, vmx_cpus()) TH_LOG("VMX still on after the last VM");
	close(fd);
}

TEST(vm_outlives_dev_fd)
{
	int fd = open_dev();
	int vm = create_vm_fd(fd, 0, 0);

	ASSERT_GE(vm, 0);
	close(fd);
	EXPECT_EQ(1, vms());
	EXPECT_EQ(0, ioctl(vm, VAPICVM_CHECK_EXTENSION, 9999));
	close(vm);
	EXPECT_EQ(0, vms());
}

TEST(vm_fd_survives_fork_and_closes_in_both)
{
	int fd = open_dev();
	int vm = create_vm_fd(fd, 0, 0);
	pid_t pid;
	int status;

	ASSERT_GE(vm, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(vm);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(1, vms());
	close(vm);
	EXPECT_EQ(0, vms());
	close(fd);
}

TEST_HARNESS_MAIN

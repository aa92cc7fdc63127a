// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug while VMs exist: a CPU going offline leaves VMX operation, one
 * coming online enters it, and a vCPU keeps running across the changes
 * (its thread migrates off the departing CPU).
 */
#include <sched.h>
#include <sys/sysinfo.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define CPU1_ONLINE "/sys/devices/system/cpu/cpu1/online"

static int set_online(int on)
{
	int fd = open(CPU1_ONLINE, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "1" : "0", 1);
	close(fd);
	return n == 1 ? 0 : -errno;
}

static long vmx_cpus(void)
{
	return read_sysfs_long(VAPICVM_SYSFS "vmx_cpus");
}

static volatile uint64_t loops;

static void guest_spin(void)
{
	for (;;) {
		loops++;
		if (!(loops % 100000))
			GUEST_SYNC(loops);
	}
}

TEST(vmx_follows_cpus_going_offline_and_online)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	cpu_set_t set;
	int i;

	TEST_REQUIRE(get_nprocs_conf() >= 2 && !access(CPU1_ONLINE, W_OK),
		     "needs a second CPU that can go offline");
	ASSERT_EQ(0, set_online(1));
	vm = vm_create();
	vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	EXPECT_EQ(get_nprocs(), vmx_cpus());

	/* Run on CPU 1, then take CPU 1 away between runs, several times. */
	for (i = 0; i < 3; i++) {
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));

		ASSERT_EQ(0, set_online(0)) TH_LOG("offline CPU 1: %s", strerror(errno));
		EXPECT_EQ(1, vmx_cpus()) TH_LOG("VMX still counted on an offline CPU");
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));

		ASSERT_EQ(0, set_online(1));
		EXPECT_EQ(2, vmx_cpus()) TH_LOG("an onlined CPU did not enter VMX operation");
	}
	vm_free(vm);
	EXPECT_EQ(0, vmx_cpus());
	/* With no VM, a CPU coming online stays out of VMX operation. */
	ASSERT_EQ(0, set_online(0));
	ASSERT_EQ(0, set_online(1));
	EXPECT_EQ(0, vmx_cpus());
}

TEST_HARNESS_MAIN

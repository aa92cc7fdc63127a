// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug while VMs exist: a CPU going offline leaves VMX operation, one
 * coming online enters it, and a vCPU keeps running across the changes
 * (its thread migrates off the departing CPU).  While vCPU threads run on
 * it: a CPU leaves VMX before the scheduler has moved them all away, and a
 * vCPU switched in there must neither fault in the host nor run on a VMCS
 * it could not load.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
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

struct spinner {
	pthread_t thread;
	struct vcpu *vcpu;
	volatile bool stop;
	unsigned long syncs;
	unsigned long vmx_errors;	/* runs ended by VAPICVM_INTERNAL_ERROR_VMX */
	int other_exit;			/* an exit reason nobody expects, or 0 */
};

static void wake(int sig)
{
}

static void *spin(void *arg)
{
	struct spinner *s = arg;
	struct vapicvm_run *run = s->vcpu->run;
	struct ucall uc;

	while (!s->stop) {
		if (__vcpu_run_ucall(s->vcpu, &uc) < 0) {
			if (errno == EINTR)
				continue;
			s->other_exit = -errno;
			break;
		}
		if (uc.cmd == UCALL_SYNC) {
			s->syncs++;
		} else if (run->exit_reason == VAPICVM_EXIT_INTERNAL_ERROR &&
			   run->internal.suberror == VAPICVM_INTERNAL_ERROR_VMX) {
			s->vmx_errors++;
			break;
		} else {
			s->other_exit = run->exit_reason;
			break;
		}
	}
	return NULL;
}

#define CYCLES	10

TEST(offline_while_vcpus_run)
{
	struct sigaction sa = { .sa_handler = wake };
	struct vm *vms[2];
	struct spinner s[2] = {};
	int i;

	TEST_REQUIRE(get_nprocs_conf() >= 2 && !access(CPU1_ONLINE, W_OK),
		     "needs a second CPU that can go offline");
	ASSERT_EQ(0, set_online(1));
	sigaction(SIGUSR1, &sa, NULL);
	/* Two VMs: their vCPUs also switch CPUs between VMs (IBPB path). */
	for (i = 0; i < 2; i++) {
		vms[i] = vm_create();
		s[i].vcpu = vm_add_vcpu(vms[i], 0, guest_spin, 0);
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, spin, &s[i]));
	}
	for (i = 0; i < CYCLES; i++) {
		usleep(20000);
		ASSERT_EQ(0, set_online(0)) TH_LOG("offline CPU 1: %s", strerror(errno));
		usleep(20000);
		ASSERT_EQ(0, set_online(1));
	}
	usleep(20000);
	EXPECT_EQ(2, vmx_cpus()) TH_LOG("CPU 1 back online, out of VMX operation");
	for (i = 0; i < 2; i++) {
		s[i].stop = true;
		pthread_kill(s[i].thread, SIGUSR1);
		pthread_join(s[i].thread, NULL);
		TH_LOG("vCPU of VM %d: %lu syncs, %lu VMX internal errors", i, s[i].syncs,
		       s[i].vmx_errors);
		EXPECT_EQ(0, s[i].other_exit);
		EXPECT_GT(s[i].syncs, 0);
		vm_free(vms[i]);
	}
	EXPECT_EQ(0, vmx_cpus());
	EXPECT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vms"));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm and kvm_intel on one machine: whichever hypervisor holds VMX
 * operation, the other's VM creation fails with EBUSY, and nothing crashes.
 * The bench ships KVM's modules for the running kernel in KVM_MODULE_DIR.
 *
 * When KVM holds VMX depends on the kernel. On 6.1, only while one of its
 * VMs exists. From 6.12 on, kvm.enable_virt_at_load (default 1) makes
 * kvm_intel enter VMX operation on every CPU when it loads and keep it
 * until it unloads; with enable_virt_at_load=0 it behaves as on 6.1. The
 * fixture kvm loads KVM as on 6.1 (load_kvm_modules()), the fixture
 * kvm_at_load with its defaults on a kernel that has the parameter.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define KVM_CREATE_VM_IOCTL	_IO(0xAE, 0x01)
#define VIRT_AT_LOAD		"/sys/module/kvm/parameters/enable_virt_at_load"
#define KVM_INTEL_LOADED	"/sys/module/kvm_intel"

/*
 * The error KVM reports when it cannot enter VMX operation where vapicvm
 * is: EBUSY on 6.1; from 6.12 on its CPU-hotplug path reports EIO (seen
 * in the emulator, both for KVM_CREATE_VM and for kvm_intel's load).
 */
static int kvm_vmx_busy_errno(void)
{
	return kvm_has_virt_at_load() ? EIO : EBUSY;
}

/* enable_virt_at_load's value ('Y' or 'N'), 0 without the file (6.1). */
static char virt_at_load(void)
{
	char c = 0;
	int fd = open(VIRT_AT_LOAD, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = '?';
	close(fd);
	return c;
}

FIXTURE(kvm) {
	int dev;
	int kvm;
};

FIXTURE_SETUP(kvm)
{
	TEST_REQUIRE(kvm_modules_available(), "KVM modules for this kernel are not available");
	ASSERT_EQ(0, load_kvm_modules());
	self->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->kvm, 0);
	self->dev = open_dev();
}

FIXTURE_TEARDOWN(kvm)
{
	if (self->kvm >= 0)
		close(self->kvm);
	if (self->dev >= 0)
		close(self->dev);
	unload_kvm_modules();
}

/* What load_kvm_modules() set: KVM in VMX only while it has a VM. */
TEST_F(kvm, virt_at_load_off)
{
	int vm;

	EXPECT_EQ(kvm_has_virt_at_load() ? 'N' : 0, virt_at_load());

	/* KVM loaded without a VM: vapicvm can have VMX. */
	vm = create_vm_fd(self->dev, 0, 0);
	ASSERT_GE(vm, 0);
	EXPECT_LT(0, read_sysfs_long(VAPICVM_SYSFS "vmx_cpus"));
	close(vm);
}

TEST_F(kvm, kvm_busy_while_vapicvm_vm_exists)
{
	int vm = create_vm_fd(self->dev, 0, 0);
	int kvm_vm;

	ASSERT_GE(vm, 0);
	EXPECT_TRUE(ioctl_fails_with(self->kvm, KVM_CREATE_VM_IOCTL, 0, kvm_vmx_busy_errno()));
	close(vm);

	/* With vapicvm's last VM gone, KVM can have VMX. */
	kvm_vm = ioctl(self->kvm, KVM_CREATE_VM_IOCTL, 0);
	ASSERT_GE(kvm_vm, 0);
	close(kvm_vm);
}

TEST_F(kvm, vapicvm_busy_while_kvm_vm_exists)
{
	int kvm_vm = ioctl(self->kvm, KVM_CREATE_VM_IOCTL, 0);
	int vm;

	ASSERT_GE(kvm_vm, 0);
	EXPECT_TRUE(ioctl_fails_with(self->dev, VAPICVM_CREATE_VM,
				     &(struct vapicvm_create_vm){ 0 }, EBUSY));
	EXPECT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vmx_cpus"));
	EXPECT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vms"));
	close(kvm_vm);

	/* KVM leaves VMX when its last VM goes; vapicvm can have it again. */
	vm = create_vm_fd(self->dev, 0, 0);
	ASSERT_GE(vm, 0);
	close(vm);
}

TEST_F(kvm, alternate_many_times)
{
	int i;

	for (i = 0; i < 20; i++) {
		int vm = create_vm_fd(self->dev, 0, 0);
		int kvm_vm;

		ASSERT_GE(vm, 0) TH_LOG("round %d", i);
		close(vm);
		kvm_vm = ioctl(self->kvm, KVM_CREATE_VM_IOCTL, 0);
		ASSERT_GE(kvm_vm, 0) TH_LOG("round %d", i);
		close(kvm_vm);
	}
}

/* kvm_intel loaded with its defaults, where it enters VMX at load. */
FIXTURE(kvm_at_load) {
	int dev;
};

FIXTURE_SETUP(kvm_at_load)
{
	TEST_REQUIRE(kvm_modules_available(), "KVM modules for this kernel are not available");
	TEST_REQUIRE(kvm_has_virt_at_load(),
		     "kvm.ko has no enable_virt_at_load: KVM holds VMX only for its VMs");
	self->dev = open_dev();
}

FIXTURE_TEARDOWN(kvm_at_load)
{
	if (self->dev >= 0)
		close(self->dev);
	unload_kvm_modules();
}

TEST_F(kvm_at_load, vapicvm_busy_while_kvm_intel_loaded)
{
	int vm;

	ASSERT_EQ(0, load_kvm_modules_with(""));
	EXPECT_EQ('Y', virt_at_load());

	/* No KVM VM exists, yet kvm_intel holds VMX on every CPU. */
	EXPECT_TRUE(ioctl_fails_with(self->dev, VAPICVM_CREATE_VM,
				     &(struct vapicvm_create_vm){ 0 }, EBUSY));
	EXPECT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vmx_cpus"));
	EXPECT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vms"));

	/* Unloading KVM gives VMX back. */
	unload_kvm_modules();
	ASSERT_NE(0, access(KVM_INTEL_LOADED, F_OK));
	vm = create_vm_fd(self->dev, 0, 0);
	ASSERT_GE(vm, 0);
	EXPECT_LT(0, read_sysfs_long(VAPICVM_SYSFS "vmx_cpus"));
	close(vm);
}

TEST_F(kvm_at_load, kvm_intel_load_fails_while_vapicvm_vm_exists)
{
	int vm = create_vm_fd(self->dev, 0, 0);
	int other, r;

	ASSERT_GE(vm, 0);
	ASSERT_EQ(0, load_kvm_module("irqbypass", ""));
	ASSERT_EQ(0, load_kvm_module("kvm", ""));
	EXPECT_EQ('Y', virt_at_load());

	/* kvm_intel cannot enter VMX where vapicvm is: its load fails. */
	r = load_kvm_module("kvm-intel", "");
	EXPECT_EQ(-kvm_vmx_busy_errno(), r) TH_LOG("kvm-intel's load: %s", strerror(-r));
	EXPECT_NE(0, access(KVM_INTEL_LOADED, F_OK));

	/* vapicvm kept VMX and works on. */
	EXPECT_LT(0, read_sysfs_long(VAPICVM_SYSFS "vmx_cpus"));
	other = create_vm_fd(self->dev, 0, 0);
	ASSERT_GE(other, 0);
	EXPECT_EQ(2, read_sysfs_long(VAPICVM_SYSFS "vms"));
	close(other);
	close(vm);

	/* With vapicvm's last VM gone, kvm_intel loads and holds VMX. */
	ASSERT_EQ(0, load_kvm_module("kvm-intel", ""));
	EXPECT_TRUE(ioctl_fails_with(self->dev, VAPICVM_CREATE_VM,
				     &(struct vapicvm_create_vm){ 0 }, EBUSY));
	unload_kvm_modules();
	vm = create_vm_fd(self->dev, 0, 0);
	ASSERT_GE(vm, 0);
	close(vm);
}

TEST_HARNESS_MAIN

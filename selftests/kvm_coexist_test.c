// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm and kvm_intel on one machine: whichever hypervisor holds VMX
 * operation, the other's VM creation fails with EBUSY, and nothing crashes.
 * The bench ships KVM's modules for the running kernel in KVM_MODULE_DIR.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define KVM_CREATE_VM_IOCTL	_IO(0xAE, 0x01)

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

TEST_F(kvm, kvm_busy_while_vapicvm_vm_exists)
{
	int vm = create_vm_fd(self->dev, 0, 0);
	int kvm_vm;

	ASSERT_GE(vm, 0);
	EXPECT_TRUE(ioctl_fails_with(self->kvm, KVM_CREATE_VM_IOCTL, 0, EBUSY));
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

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vapicvm: presence, permissions, API version, capability probing and
 * the documented errors of the system ioctls.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

TEST(module_loaded_and_device_present)
{
	struct stat st;

	ASSERT_EQ(0, access("/sys/module/vapicvm", F_OK));
	ASSERT_EQ(0, stat(VAPICVM_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	/* Documented default: root only. */
	EXPECT_EQ(0600, st.st_mode & 0777);
}

TEST(api_version)
{
	int fd = open_dev();

	EXPECT_EQ(VAPICVM_API_VERSION, ioctl(fd, VAPICVM_GET_API_VERSION, 0));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_API_VERSION, 1, EINVAL));
	close(fd);
}

TEST(check_extension_known)
{
	int fd = open_dev();
	int apicv;

	EXPECT_EQ(1, ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_USER_MEMORY));
	EXPECT_EQ(1, ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_READONLY_MEM));
	EXPECT_EQ(1, ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_IMMEDIATE_EXIT));
	EXPECT_EQ(1, ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_EPT));
	EXPECT_GE(ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_NR_MEMSLOTS), 8);
	EXPECT_GE(ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPUS), 2);
	EXPECT_GE(ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPU_ID),
		  ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_MAX_VCPUS));
	apicv = ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV);
	EXPECT_GE(apicv, 0);
	EXPECT_EQ(0, apicv & ~VAPICVM_APICV_ALL);
	/* Every CPU model of the bench has at least the TPR shadow. */
	EXPECT_TRUE(apicv & VAPICVM_APICV_TPR_SHADOW);
	TH_LOG("host APIC virtualization mask: %#x", apicv);
	close(fd);
}

TEST(check_extension_unknown)
{
	int fd = open_dev();

	EXPECT_EQ(0, ioctl(fd, VAPICVM_CHECK_EXTENSION, 0));
	EXPECT_EQ(0, ioctl(fd, VAPICVM_CHECK_EXTENSION, 9999));
	EXPECT_EQ(0, ioctl(fd, VAPICVM_CHECK_EXTENSION, -1UL));
	close(fd);
}

TEST(vcpu_mmap_size)
{
	int fd = open_dev();

	EXPECT_GE(ioctl(fd, VAPICVM_GET_VCPU_MMAP_SIZE, 0), 4096);
	EXPECT_GE(ioctl(fd, VAPICVM_GET_VCPU_MMAP_SIZE, 0),
		  VAPICVM_RUN_IO_DATA_OFFSET + 512);
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_VCPU_MMAP_SIZE, 1, EINVAL));
	close(fd);
}

TEST(bad_ioctl_numbers)
{
	int fd = open_dev();

	/* An unknown number in our range, another type byte, a VM ioctl. */
	EXPECT_TRUE(ioctl_fails_with(fd, _IO(VAPICVMIO, 0x3f), 0, ENOTTY));
	EXPECT_TRUE(ioctl_fails_with(fd, _IO(0xAE, 0x00), 0, ENOTTY));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VCPU, 0, ENOTTY));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_RUN, 0, ENOTTY));
	close(fd);
}

TEST(create_vm_bad_arguments)
{
	int fd = open_dev();
	struct vapicvm_create_vm p;
	int supported = ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV);

	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, NULL, EFAULT));
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, (void *)1, EFAULT));

	memset(&p, 0, sizeof(p));
	p.flags = 1U << 31;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));

	memset(&p, 0, sizeof(p));
	p.reserved[2] = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));

	/* A mask without VAPICVM_VM_APICV_MASK is a mistake, not ignored. */
	memset(&p, 0, sizeof(p));
	p.apicv = VAPICVM_APICV_TPR_SHADOW;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));

	/* Unknown feature bits, and combinations the SDM forbids. */
	p.flags = VAPICVM_VM_APICV_MASK;
	p.apicv = 1U << 20;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));
	p.apicv = VAPICVM_APICV_APIC_ACCESS;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));
	p.apicv = VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
		  VAPICVM_APICV_INTR_DELIVERY;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EINVAL));

	/* A valid combination the host lacks is EOPNOTSUPP. */
	if ((supported & VAPICVM_APICV_ALL) != VAPICVM_APICV_ALL) {
		p.apicv = VAPICVM_APICV_ALL;
		EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_CREATE_VM, &p, EOPNOTSUPP));
	}
	close(fd);
}

TEST(create_vm_every_tier)
{
	static const uint32_t tiers[] = {
		0,
		VAPICVM_APICV_TPR_SHADOW,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_X2APIC_VIRT,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_X2APIC_VIRT,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
			VAPICVM_APICV_REGISTER_VIRT,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
			VAPICVM_APICV_REGISTER_VIRT | VAPICVM_APICV_INTR_DELIVERY,
		VAPICVM_APICV_ALL & ~VAPICVM_APICV_POSTED_INTR,
		VAPICVM_APICV_ALL,
	};
	int fd = open_dev();
	int supported = ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV);
	unsigned int i, tested = 0;

	for (i = 0; i < ARRAY_SIZE(tiers); i++) {
		int vm;

		if (tiers[i] & ~supported)
			continue;
		vm = create_vm_fd(fd, VAPICVM_VM_APICV_MASK, tiers[i]);
		ASSERT_GE(vm, 0) TH_LOG("tier %#x", tiers[i]);
		EXPECT_EQ((int)tiers[i], ioctl(vm, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV));
		close(vm);
		tested++;
	}
	TH_LOG("%u tiers created on this CPU", tested);
	EXPECT_GE(tested, 2);
	close(fd);
}

TEST(vm_fd_is_cloexec)
{
	int fd = open_dev();
	int vm = create_vm_fd(fd, 0, 0);

	ASSERT_GE(vm, 0);
	EXPECT_TRUE(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	/* System ioctls are not VM ioctls. */
	EXPECT_TRUE(ioctl_fails_with(vm, VAPICVM_GET_API_VERSION, 0, ENOTTY));
	EXPECT_TRUE(ioctl_fails_with(vm, VAPICVM_CREATE_VM, NULL, ENOTTY));
	EXPECT_TRUE(ioctl_fails_with(vm, _IO(VAPICVMIO, 0x7f), 0, ENOTTY));
	close(vm);
	close(fd);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * The module as an administrator sees it: its version and parameters in
 * sysfs, each parameter's permissions and bounds, and the apicv_features
 * ceiling, which is read at load: the test unloads vapicvm and loads it
 * again with other parameters (it must hold no descriptor of the device
 * while it does), and leaves it loaded with the defaults.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define MODULE_PATH	"/lib/vapicvm-bench/vapicvm.ko"
#define PARAMS		"/sys/module/vapicvm/parameters/"

static int unload(void)
{
	return syscall(SYS_delete_module, "vapicvm", O_NONBLOCK) ? -errno : 0;
}

static int load(const char *params)
{
	int fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return r;
}

static long cap_apicv(void)
{
	int dev = open_dev();
	long r = ioctl(dev, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV);

	close(dev);
	return r;
}

static int param_mode(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return stat(path, &st) ? -errno : (int)(st.st_mode & 0777);
}

TEST(version_in_sysfs)
{
	char version[64] = "";
	FILE *f = fopen("/sys/module/vapicvm/version", "r");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(version, sizeof(version), f));
	fclose(f);
	version[strcspn(version, "\n")] = 0;
	EXPECT_STREQ(VAPICVM_VERSION, version);
}

TEST(parameter_permissions)
{
	EXPECT_EQ(0444, param_mode("apicv_features"));
	EXPECT_EQ(0644, param_mode("min_timer_period_us"));
	EXPECT_EQ(0644, param_mode("halt_poll_ns"));
	EXPECT_EQ(0644, param_mode("preemption_timer"));
	EXPECT_EQ(0644, param_mode("tsc_scaling"));
	EXPECT_EQ(0644, param_mode("timer_advance_ns"));
	EXPECT_EQ(0644, param_mode("ple_gap"));
	EXPECT_EQ(0644, param_mode("ple_window"));
	/* Read-only after load, for root too. */
	EXPECT_NE(0, write_sysfs(PARAMS "apicv_features", "1"));
	EXPECT_EQ(0x3f, read_sysfs_long(PARAMS "apicv_features"));
}

TEST(min_timer_period_bounds)
{
	EXPECT_EQ(200, read_sysfs_long(PARAMS "min_timer_period_us"));
	EXPECT_NE(0, write_sysfs(PARAMS "min_timer_period_us", "9"));
	EXPECT_NE(0, write_sysfs(PARAMS "min_timer_period_us", "1000001"));
	EXPECT_NE(0, write_sysfs(PARAMS "min_timer_period_us", "-1"));
	EXPECT_EQ(200, read_sysfs_long(PARAMS "min_timer_period_us"));
	EXPECT_EQ(0, write_sysfs(PARAMS "min_timer_period_us", "10"));
	EXPECT_EQ(10, read_sysfs_long(PARAMS "min_timer_period_us"));
	EXPECT_EQ(0, write_sysfs(PARAMS "min_timer_period_us", "1000000"));
	EXPECT_EQ(1000000, read_sysfs_long(PARAMS "min_timer_period_us"));
	ASSERT_EQ(0, write_sysfs(PARAMS "min_timer_period_us", "200"));
}

/* The reload tests need the module file the bench loaded at boot. */
FIXTURE(reload) {
	long full;
};

FIXTURE_SETUP(reload)
{
	TEST_REQUIRE(!access(MODULE_PATH, R_OK), MODULE_PATH " is not there");
	self->full = cap_apicv();
	ASSERT_GT(self->full, 0);
}

FIXTURE_TEARDOWN(reload)
{
	/* Whatever happened, vapicvm is loaded with its defaults after. */
	if (access("/sys/module/vapicvm", F_OK) == 0 &&
	    read_sysfs_long(PARAMS "apicv_features") == 0x3f)
		return;
	unload();
	if (load(""))
		fprintf(stderr, "# cannot load vapicvm again: %s\n", strerror(errno));
}

TEST_F(reload, apicv_features_is_a_ceiling)
{
	struct vapicvm_create_vm above = {
		.flags = VAPICVM_VM_APICV_MASK,
		.apicv = VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_X2APIC_VIRT,
	};
	int dev, vm;

	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("apicv_features=0x3"));
	EXPECT_EQ(0x3, read_sysfs_long(PARAMS "apicv_features"));
	EXPECT_EQ(self->full & 0x3, cap_apicv());

	/* A VM may not ask for more; what is left works. */
	dev = open_dev();
	EXPECT_TRUE(ioctl_fails_with(dev, VAPICVM_CREATE_VM, &above, EOPNOTSUPP));
	vm = create_vm_fd(dev, VAPICVM_VM_APICV_MASK, 0x3);
	EXPECT_GE(vm, 0);
	if (vm >= 0)
		close(vm);
	close(dev);

	/* Without the TPR shadow nothing built on it is left. */
	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load("apicv_features=0x3e"));
	EXPECT_EQ(0, cap_apicv());

	ASSERT_EQ(0, unload());
	ASSERT_EQ(0, load(""));
	EXPECT_EQ(self->full, cap_apicv());
}

TEST_F(reload, unknown_apicv_feature_refuses_to_load)
{
	ASSERT_EQ(0, unload());
	EXPECT_EQ(-EINVAL, load("apicv_features=0x40"));
	EXPECT_NE(0, access("/sys/module/vapicvm", F_OK));
	ASSERT_EQ(0, load(""));
	EXPECT_EQ(self->full, cap_apicv());
}

TEST_HARNESS_MAIN

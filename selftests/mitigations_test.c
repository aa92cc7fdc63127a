// SPDX-License-Identifier: GPL-2.0
/*
 * The transient-execution mitigations vapicvm applies around VM entry and
 * exit (/sys/class/misc/vapicvm/mitigations) follow what the host kernel
 * reports for its CPU (/sys/devices/system/cpu/vulnerabilities): each one
 * is on exactly when the kernel mitigates the bug it is for, and the
 * guests still run with all of them in effect.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define VULN_DIR	"/sys/devices/system/cpu/vulnerabilities/"

/* A file's first line, or "" when it does not exist. */
static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, size, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
}

static bool vuln_says(const char *bug, const char *text)
{
	char path[128], line[512];

	snprintf(path, sizeof(path), VULN_DIR "%s", bug);
	read_line(path, line, sizeof(line));
	return strstr(line, text);
}

/* "on" or "off" for a mitigation in vapicvm's list; NULL if missing. */
static const char *vapicvm_says(char *list, const char *name)
{
	char *line = strstr(list, name);

	if (!line || line[strlen(name)] != ':')
		return NULL;
	return strncmp(line + strlen(name) + 2, "on", 2) ? "off" : "on";
}

/* Whether the last "key=value" of the command line has this value. */
static bool last_setting_is(const char *cmdline, const char *key, const char *value)
{
	const char *p = cmdline, *last = NULL;

	while ((p = strstr(p, key))) {
		if (p == cmdline || p[-1] == ' ')
			last = p + strlen(key);
		p += strlen(key);
	}
	return last && !strncmp(last, value, strlen(value)) &&
	       (last[strlen(value)] == ' ' || !last[strlen(value)]);
}

static void print_vulnerabilities(void)
{
	static const char *const bugs[] = {
		"mds", "tsx_async_abort", "mmio_stale_data", "reg_file_data_sampling",
		"l1tf", "spectre_v2", "vmscape",
	};
	char path[128], line[512];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bugs); i++) {
		snprintf(path, sizeof(path), VULN_DIR "%s", bugs[i]);
		read_line(path, line, sizeof(line));
		printf("# host %s: %s\n", bugs[i], line[0] ? line : "(no file)");
	}
}

TEST(mitigations_follow_the_host_kernel)
{
	char list[1024] = "", cmdline[1024];
	bool verw, l1d, ibpb, vmscape;
	FILE *f = fopen(VAPICVM_SYSFS "mitigations", "r");
	size_t n;

	ASSERT_NE(NULL, f) TH_LOG("no %smitigations", VAPICVM_SYSFS);
	n = fread(list, 1, sizeof(list) - 1, f);
	fclose(f);
	list[n] = 0;
	printf("# vapicvm:\n# %.*s\n", (int)strcspn(list, "\n"), list);
	for (char *p = strchr(list, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		printf("# %.*s\n", (int)strcspn(p + 1, "\n"), p + 1);
	print_vulnerabilities();

	/* The kernel clears CPU buffers for VMs for any of these. */
	verw = vuln_says("mds", "Clear CPU buffers") ||
	       vuln_says("tsx_async_abort", "Clear CPU buffers") ||
	       vuln_says("mmio_stale_data", "Clear CPU buffers") ||
	       vuln_says("reg_file_data_sampling", "Clear Register File");
	/*
	 * L1TF's host side (PTE inversion) is always on; its VMX side unless
	 * turned off (the last of the command line's settings counts).
	 */
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	l1d = vuln_says("l1tf", "Mitigation") && !vuln_says("l1tf", "VMX: flush not necessary") &&
	      !last_setting_is(cmdline, "l1tf=", "off") &&
	      !last_setting_is(cmdline, "mitigations=", "off");
	ibpb = vuln_says("spectre_v2", "IBPB: conditional") ||
	       vuln_says("spectre_v2", "IBPB: always-on");
	vmscape = vuln_says("vmscape", "IBPB before exit to userspace");

	ASSERT_NE(NULL, vapicvm_says(list, "verw_before_entry"));
	EXPECT_STREQ(verw ? "on" : "off", vapicvm_says(list, "verw_before_entry"));
	ASSERT_NE(NULL, vapicvm_says(list, "l1d_flush_before_entry"));
	EXPECT_STREQ(l1d ? "on" : "off", vapicvm_says(list, "l1d_flush_before_entry"));
	ASSERT_NE(NULL, vapicvm_says(list, "ibpb_on_vm_switch"));
	EXPECT_STREQ(ibpb ? "on" : "off", vapicvm_says(list, "ibpb_on_vm_switch"));
	ASSERT_NE(NULL, vapicvm_says(list, "ibpb_exit_to_user"));
	EXPECT_STREQ(vmscape ? "on" : "off", vapicvm_says(list, "ibpb_exit_to_user"));
	EXPECT_NE(NULL, vapicvm_says(list, "rsb_fill_after_exit"));
	EXPECT_NE(NULL, vapicvm_says(list, "bhb_clear_after_exit"));
}

/* Two VMs taking turns on the CPUs: every switch passes the IBPB path. */
static void guest_count(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		GUEST_SYNC(i);
	GUEST_DONE();
}

TEST(guests_run_with_the_mitigations)
{
	struct vm *a = vm_create(), *b = vm_create();
	struct vcpu *va = vm_add_vcpu(a, 0, guest_count, 100);
	struct vcpu *vb = vm_add_vcpu(b, 0, guest_count, 100);
	struct ucall uc;
	int i;

	for (i = 0; i < 100; i++) {
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(va, &uc));
		ASSERT_EQ(i, uc.args[0]);
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vb, &uc));
		ASSERT_EQ(i, uc.args[0]);
	}
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(va, NULL));
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vb, NULL));
	vm_free(a);
	vm_free(b);
}

TEST_HARNESS_MAIN

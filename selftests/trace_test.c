// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm's tracepoints (tracefs, system "vapicvm"): they are all there,
 * and a guest's known exits and its EOI show up in the trace with the
 * right reasons.  Skipped on a kernel without tracing.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "apic.h"

#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS_TRACING	"/sys/kernel/debug/tracing"
#define NR_CPUIDS	6
#define SELF_VECTOR	0x51	/* 81, as the trace prints it */

static const char *const vapicvm_events[] = {
	"vapicvm_entry", "vapicvm_exit", "vapicvm_apic", "vapicvm_apic_ipi",
	"vapicvm_apic_accept_irq", "vapicvm_inj_virq", "vapicvm_eoi", "vapicvm_timer_arm",
	"vapicvm_timer_fire", "vapicvm_apicv_tier", "vapicvm_apicv_active",
};

/* Where tracefs is (mounted here if it was not anywhere): NULL if nowhere. */
static const char *tracefs_dir(void)
{
	if (!access(TRACEFS "/trace", F_OK))
		return TRACEFS;
	if (!access(DEBUGFS_TRACING "/trace", F_OK))
		return DEBUGFS_TRACING;
	mkdir(TRACEFS, 0755);
	if (!mount("tracefs", TRACEFS, "tracefs", 0, NULL) && !access(TRACEFS "/trace", F_OK))
		return TRACEFS;
	return NULL;
}

static int tracefs_write(const char *dir, const char *file, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_sysfs(path, value);
}

static int tracefs_clear(const char *dir)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/trace", dir);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static char *tracefs_read(const char *dir)
{
	size_t cap = 1 << 16, len = 0;
	char path[256], *buf = malloc(cap);
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0 && buf, "open %s", path);
	while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
		len += r;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			TEST_ASSERT(buf, "realloc");
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static int set_event(const char *dir, const char *event, bool on)
{
	char file[128];

	snprintf(file, sizeof(file), "events/vapicvm/%s/enable", event);
	return tracefs_write(dir, file, on ? "1" : "0");
}

FIXTURE(trace) {
	const char *dir;
};

FIXTURE_SETUP(trace)
{
	char path[256];

	self->dir = tracefs_dir();
	TEST_REQUIRE(self->dir, "no tracefs (a kernel without tracing)");
	snprintf(path, sizeof(path), "%s/events/vapicvm", self->dir);
	TEST_REQUIRE(!access(path, F_OK), "no vapicvm tracepoints in %s/events", self->dir);
	tracefs_write(self->dir, "tracing_on", "0");
	tracefs_clear(self->dir);
}

FIXTURE_TEARDOWN(trace)
{
	unsigned int i;

	if (!self->dir)
		return;
	for (i = 0; i < ARRAY_SIZE(vapicvm_events); i++)
		set_event(self->dir, vapicvm_events[i], false);
	tracefs_clear(self->dir);
	tracefs_write(self->dir, "tracing_on", "1");
}

TEST_F(trace, every_event_is_there)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vapicvm_events); i++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/events/vapicvm/%s/format", self->dir,
			 vapicvm_events[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("%s", path);
	}
}

static volatile uint32_t irqs;

static void eoi_handler(struct ex_regs *regs)
{
	irqs++;
	xapic_write(REG_EOI, 0);
}

static void guest_cpuids_and_eoi(void)
{
	uint32_t a, b, c, d;
	int i;

	guest_x2apic = false;
	apic_enable();
	guest_sti();
	for (i = 0; i < NR_CPUIDS; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	xapic_write(REG_ICR, ICR_SELF | SELF_VECTOR);
	while (!irqs)
		__asm__ volatile("pause");
	GUEST_DONE();
}

/* Lines of the trace from this process with the event and the text. */
static int count_lines(const char *trace, const char *event, const char *text, pid_t pid)
{
	char tag[64], me[32];
	const char *line = trace;
	int n = 0;

	snprintf(tag, sizeof(tag), " %s: ", event);
	snprintf(me, sizeof(me), "-%d ", pid);
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *t = memmem(line, len, tag, strlen(tag));

		if (line[0] != '#' && t && memmem(line, len, me, strlen(me)) &&
		    (!text || memmem(t, len - (t - line), text, strlen(text))))
			n++;
		line = end ? end + 1 : NULL;
	}
	return n;
}

TEST_F(trace, exits_and_eoi_in_the_trace)
{
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	char *trace;
	int cpuids, ios, eois, all;

	ASSERT_EQ(0, set_event(self->dir, "vapicvm_exit", true));
	ASSERT_EQ(0, set_event(self->dir, "vapicvm_eoi", true));
	/* No APIC virtualization: the EOI is the APIC model's to handle. */
	vm = vm_create_apicv(0);
	vcpu = vm_add_vcpu(vm, 0, guest_cpuids_and_eoi, 0);
	vm_install_handler(vm, SELF_VECTOR, eoi_handler);
	ASSERT_EQ(0, tracefs_write(self->dir, "tracing_on", "1"));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	tracefs_write(self->dir, "tracing_on", "0");
	vm_free(vm);

	trace = tracefs_read(self->dir);
	all = count_lines(trace, "vapicvm_exit", NULL, getpid());
	cpuids = count_lines(trace, "vapicvm_exit", "reason CPUID ", getpid());
	ios = count_lines(trace, "vapicvm_exit", "reason IO_INSTRUCTION ", getpid());
	eois = count_lines(trace, "vapicvm_eoi", "vcpu 0 vector 81", getpid());
	TH_LOG("%d exits: %d CPUID, %d IO_INSTRUCTION; %d EOIs", all, cpuids, ios, eois);
	EXPECT_EQ(NR_CPUIDS, cpuids);
	EXPECT_GE(ios, 1);	/* GUEST_DONE */
	EXPECT_EQ(1, eois);
	EXPECT_EQ(NR_CPUIDS, count_lines(trace, "vapicvm_exit", "vcpu 0 reason CPUID rip 0x",
					 getpid()));
	if (cpuids != NR_CPUIDS || eois != 1) {
		const char *p = trace;
		int shown = 0;

		/* A sample of what was traced. */
		while (p && *p && shown < 40) {
			const char *end = strchr(p, '\n');

			if (*p != '#') {
				TH_LOG("%.*s", (int)(end ? end - p : (long)strlen(p)), p);
				shown++;
			}
			p = end ? end + 1 : NULL;
		}
	}
	free(trace);
}

TEST_HARNESS_MAIN

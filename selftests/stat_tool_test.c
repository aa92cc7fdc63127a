// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm-stat against running guests.  Two VMs, one on the tier with
 * virtual-interrupt delivery (where this CPU has it) and one with the TPR
 * shadow alone, run the same guest: K self-IPIs through the xAPIC ICR,
 * each EOIed by its handler, and M CPUIDs; then it halts with interrupts
 * on, its vCPU blocked in VAPICVM_RUN, while the tool looks at it:
 *
 *   table    the one-shot table names both VMs with their tiers, side by
 *            side, and is printed into the log
 *   json     --json parses; each VM's counters there equal its vCPU's
 *            VAPICVM_GET_STATS counters (halt_ns, which grows while the
 *            vCPU is blocked, at most), and show the tiers' difference:
 *            K APIC-access exits at the EOI register with the TPR shadow
 *            alone, none there with virtual-interrupt delivery
 *   vm       --vm ID shows that VM alone
 *   watch    --watch in an 80x24 pseudo-terminal refreshes three times in
 *            place, and every screen fits the terminal
 *
 * The tool is the bench's copy (VAPICVM_STAT overrides the path).
 */
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "apic.h"
#include "json.h"

#define K		20
#define M		30
#define VEC		0x40
#define STAT_TOOL	"/lib/vapicvm-bench/bin/vapicvm-stat"

static const char *const stat_names[VAPICVM_STAT_NR] = {
#define STAT_NAME(id, name, desc) [VAPICVM_STAT_##id] = name,
	VAPICVM_STATS(STAT_NAME)
#undef STAT_NAME
};

static volatile uint32_t irqs;

static void count_and_eoi(struct ex_regs *regs)
{
	irqs++;
	apic_eoi();
}

static void guest_work(void)
{
	uint32_t a, b, c, d;
	int i;

	apic_enable();
	guest_sti();
	for (i = 0; i < K; i++)
		xapic_write(REG_ICR, ICR_SELF | VEC);
	GUEST_ASSERT_EQ(irqs, K);
	for (i = 0; i < M; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	GUEST_SYNC(0);
	for (;;)
		guest_safe_halt();
}

struct running {
	struct vm *vm;
	struct vcpu *vcpu;
	uint64_t id;
	const char *tier;
	pthread_t thread;
	bool started;
};

static void wake(int sig)
{
}

static void *halt_thread(void *arg)
{
	struct running *r = arg;

	__vcpu_run(r->vcpu);	/* until the signal: -EINTR */
	return NULL;
}

/* The VM's guest has done its work and sits halted inside VAPICVM_RUN. */
static void start(struct __test_metadata *_metadata, struct running *r, uint32_t apicv,
		  const char *tier)
{
	struct vapicvm_mp_state mp;
	struct ucall uc;
	int ms;

	r->vm = vm_create_apic_tier(apicv);
	r->tier = tier;
	r->vcpu = vm_add_vcpu(r->vm, 0, guest_work, 0);
	vm_install_handler(r->vm, VEC, count_and_eoi);
	vm_ioctl(r->vm, VAPICVM_GET_VM_ID, &r->id);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(r->vcpu, &uc));
	ASSERT_EQ(0, pthread_create(&r->thread, NULL, halt_thread, r));
	r->started = true;
	for (ms = 0; ms < 5000; ms += 10) {
		vcpu_ioctl(r->vcpu, VAPICVM_GET_MP_STATE, &mp);
		if (mp.mp_state == VAPICVM_MP_STATE_HALTED)
			break;
		usleep(10000);
	}
	ASSERT_EQ(VAPICVM_MP_STATE_HALTED, mp.mp_state);
}

static void stop(struct running *r)
{
	if (r->started) {
		pthread_kill(r->thread, SIGUSR1);
		pthread_join(r->thread, NULL);
	}
	if (r->vm)
		vm_free(r->vm);
}

/* Run the tool with args; its exit status, and its output (to free) in *out. */
static int run_tool(const char *const *args, char **out)
{
	const char *tool = getenv("VAPICVM_STAT") ?: STAT_TOOL;
	size_t len = 0, cap = 1 << 16;
	char *argv[16];
	int pipefd[2], status, i;
	pid_t pid;

	argv[0] = (char *)tool;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	*out = calloc(1, cap);
	if (!*out || pipe(pipefd))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(tool, argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *more = realloc(*out, cap * 2);

			if (!more)
				break;
			memset(more + cap, 0, cap);
			*out = more;
			cap *= 2;
		}
		n = read(pipefd[0], *out + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

FIXTURE(tool) {
	struct running vid, tpr;
	bool have_vid;
};

FIXTURE_SETUP(tool)
{
	uint32_t vid = apicv_tier(VAPICVM_APICV_INTR_DELIVERY);
	struct sigaction sa = { .sa_handler = wake };
	int dev = open_dev();

	memset(&self->vid, 0, sizeof(self->vid));
	memset(&self->tpr, 0, sizeof(self->tpr));
	TEST_REQUIRE(ioctl(dev, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_GENL) == 1,
		     "no vapicvm generic netlink family (kernel without networking)");
	close(dev);
	TEST_REQUIRE(!access(getenv("VAPICVM_STAT") ?: STAT_TOOL, X_OK),
		     "no vapicvm-stat at %s", getenv("VAPICVM_STAT") ?: STAT_TOOL);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	self->have_vid = !(vid & ~host_apicv());
	if (self->have_vid)
		start(_metadata, &self->vid, vid, "vid");
	else
		TH_LOG("this CPU has no virtual-interrupt delivery: the TPR-shadow VM alone");
	start(_metadata, &self->tpr, VAPICVM_APICV_TPR_SHADOW, "tpr");
}

FIXTURE_TEARDOWN(tool)
{
	stop(&self->vid);
	stop(&self->tpr);
}

static bool contains_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
			return true;
	return false;
}

TEST_F(tool, table)
{
	const char *args[] = { NULL };
	char *out, *line, *save, id[32];
	int rc = run_tool(args, &out);

	ASSERT_NE(NULL, out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# vapicvm-stat| %s\n", line);
	EXPECT_EQ(0, rc);
	free(out);
	rc = run_tool(args, &out);
	ASSERT_NE(NULL, out);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)self->tpr.id);
	EXPECT_TRUE(contains_word(out, id)) TH_LOG("the TPR-shadow VM %s is not in the table", id);
	EXPECT_TRUE(contains_word(out, "tpr"));
	if (self->have_vid) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)self->vid.id);
		EXPECT_TRUE(contains_word(out, id)) TH_LOG("the VID VM %s is not in the table", id);
		EXPECT_TRUE(contains_word(out, "vid"));
	}
	free(out);
}

/* The VM's object in the tool's JSON, or NULL. */
static const struct json *json_vm(const struct json *root, uint64_t id)
{
	const struct json *vms = json_get(root, "vms");
	size_t i;

	for (i = 0; vms && vms->kind == JSON_ARRAY && i < vms->n; i++) {
		uint64_t v;

		if (json_u64(json_get(vms->items[i], "id"), &v) && v == id)
			return vms->items[i];
	}
	return NULL;
}

static void check_json_vm(struct __test_metadata *_metadata, const struct json *root,
			  struct running *r, bool vid)
{
	uint64_t c[VAPICVM_STAT_NR];
	const struct json *vm = json_vm(root, r->id), *counters, *tier, *access;
	uint64_t v, eoi_exits = 0;
	int i;

	ASSERT_NE(NULL, vm) TH_LOG("VM %llu (%s) missing from --json",
				   (unsigned long long)r->id, r->tier);
	tier = json_get(vm, "tier");
	ASSERT_NE(NULL, tier);
	EXPECT_STREQ(r->tier, tier->text);
	counters = json_get(vm, "counters");
	ASSERT_NE(NULL, counters);
	vcpu_stats(r->vcpu, c);
	for (i = 0; i < VAPICVM_STAT_NR; i++) {
		EXPECT_TRUE(json_u64(json_get(counters, stat_names[i]), &v))
			TH_LOG("no counter %s", stat_names[i]);
		/* The vCPU is blocked: its halt time grows until the later ioctl. */
		if (i == VAPICVM_STAT_HALT_NS) {
			EXPECT_LE(v, c[i]) TH_LOG("%s: halt_ns ahead of VAPICVM_GET_STATS",
						    r->tier);
			continue;
		}
		EXPECT_EQ(c[i], v) TH_LOG("%s: %s differs from VAPICVM_GET_STATS",
					    r->tier, stat_names[i]);
	}
	EXPECT_EQ(M, c[VAPICVM_STAT_EXIT_CPUID]) TH_LOG("%s: CPUID exits", r->tier);
	access = json_get(vm, "apic_access");
	if (access)
		json_u64(json_get(access, "0x0b0"), &eoi_exits);
	if (vid) {
		EXPECT_EQ(0, eoi_exits) TH_LOG("EOIs exited with virtual-interrupt delivery");
	} else {
		EXPECT_EQ(K, eoi_exits) TH_LOG("EOIs with the TPR shadow alone");
	}
}

TEST_F(tool, json)
{
	const char *args[] = { "--json", NULL };
	char error[128], *out;
	struct json *root;
	int rc = run_tool(args, &out);

	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, rc);
	root = json_parse(out, error, sizeof(error));
	ASSERT_NE(NULL, root) TH_LOG("not JSON: %s\n%s", error, out);
	check_json_vm(_metadata, root, &self->tpr, false);
	if (self->have_vid)
		check_json_vm(_metadata, root, &self->vid, true);
	json_free(root);
	free(out);
}

TEST_F(tool, vm_filter)
{
	char id[32], error[128], *out;
	const char *args[] = { "--json", "--vm", id, NULL };
	const struct json *vms;
	struct json *root;
	uint64_t v = 0;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)self->tpr.id);
	ASSERT_EQ(0, run_tool(args, &out));
	root = json_parse(out, error, sizeof(error));
	ASSERT_NE(NULL, root) TH_LOG("not JSON: %s", error);
	vms = json_get(root, "vms");
	ASSERT_NE(NULL, vms);
	ASSERT_EQ(1, vms->n);
	EXPECT_TRUE(json_u64(json_get(vms->items[0], "id"), &v));
	EXPECT_EQ(self->tpr.id, v);
	json_free(root);
	free(out);
}

/* Text with the ANSI escape sequences taken out, in place. */
static void strip_ansi(char *s)
{
	char *d = s;

	while (*s) {
		if (*s == '\033') {
			s++;
			if (*s == '[') {
				s++;
				while (*s && !(*s >= 0x40 && *s <= 0x7e))
					s++;
				if (*s)
					s++;
			} else if (*s) {
				s++;
			}
			continue;
		}
		if (*s != '\r')
			*d++ = *s;
		s++;
	}
	*d = 0;
}

TEST_F(tool, watch)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char *buf = calloc(1, 1 << 20), *screen, *line, *save, id[32];
	size_t len = 0;
	int master, status, screens = 0, rows, ms;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	/* The bench's initramfs mounts no devpts: pseudo-terminals need it. */
	if (access("/dev/pts/ptmx", F_OK)) {
		mkdir("/dev/pts", 0755);
		if (mount("devpts", "/dev/pts", "devpts", 0, "ptmxmode=0666,mode=0620"))
			TH_LOG("mounting devpts: %s", strerror(errno));
	}
	pid = forkpty(&master, NULL, NULL, &ws);
	ASSERT_GE(pid, 0) TH_LOG("forkpty: %s", strerror(errno));
	if (!pid) {
		const char *tool = getenv("VAPICVM_STAT") ?: STAT_TOOL;

		execl(tool, tool, "--watch", "--interval", "0.5", "--iterations", "3", NULL);
		_exit(127);
	}
	for (ms = 0; ms < 60000; ms += 100) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(master, buf + len, (1 << 20) - 1 - len);
		if (n <= 0)
			break;	/* EIO: the tool exited and closed the terminal */
		len += n;
	}
	close(master);
	waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* Each refresh homes the cursor and clears: count them, check the last. */
	for (screen = strstr(buf, "\033[H"); screen; screen = strstr(screen + 1, "\033[H"))
		screens++;
	EXPECT_GE(screens, 3) TH_LOG("%d refreshes in place", screens);
	screen = buf;
	while (strstr(screen + 1, "\033[H"))
		screen = strstr(screen + 1, "\033[H");
	strip_ansi(screen);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)self->tpr.id);
	EXPECT_TRUE(contains_word(screen, id)) TH_LOG("VM %s not on the screen", id);
	rows = 0;
	for (line = strtok_r(screen, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		printf("# watch| %s\n", line);
		rows++;
		EXPECT_LE(strlen(line), 80) TH_LOG("a line wider than the terminal");
	}
	EXPECT_LE(rows, 24);
	EXPECT_GE(rows, 2);
	free(buf);
}

TEST_HARNESS_MAIN

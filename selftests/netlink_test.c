// SPDX-License-Identifier: GPL-2.0
/*
 * The "vapicvm" generic netlink family: the counters of VMs and vCPUs
 * against what their guests are known to have done (and against
 * VAPICVM_GET_STATS), the VM and vCPU attributes, the events group, who
 * sees which VM, the family's absence from other network namespaces,
 * strict validation of requests, and dumps interrupted or abandoned.
 */
#include <sched.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "apic.h"
#include "genl.h"

#define TEST_PORT		0x2000
#define N_IO			7
#define M_CPUID			5
#define K_EOI			9
#define SELF_VECTOR		0x50
#define VMX_EXIT_CPUID		10
#define VMX_EXIT_IO		30
#define NOBODY			65534

/*
 * A socket on the resolved family, or the test is skipped: a kernel
 * without networking has neither the family nor VAPICVM_CAP_GENL.
 */
static struct genl *genl_require(struct __test_metadata *_metadata, size_t bufsize)
{
	int fd = open_dev();
	int cap = ioctl(fd, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_GENL);
	struct genl *g;
	int r;

	close(fd);
	TEST_REQUIRE(cap > 0, "no generic netlink family (VAPICVM_CAP_GENL %d)", cap);
	g = genl_open(bufsize);
	TEST_REQUIRE(g, "no generic netlink socket: %s", strerror(errno));
	r = genl_resolve_vapicvm(g);
	ASSERT_EQ(0, r) TH_LOG("resolving %s: %s", VAPICVM_GENL_NAME, strerror(-r));
	return g;
}

/* The one vCPU the dump of a VM filtered by vCPU id gives. */
static void get_vcpu(struct __test_metadata *_metadata, struct genl *g, struct vcpu *vcpu,
		     struct genl_obj *o)
{
	int n = genl_dump_vcpus(g, vm_fd_id(vcpu->vm->fd), vcpu->id, o, 1);

	ASSERT_EQ(1, n) TH_LOG("GET_VCPU dump of vCPU %u: %d (%s)", vcpu->id, n,
			       n < 0 ? strerror(-n) : "");
	ASSERT_EQ(NULL, o->bad) TH_LOG("malformed: %s", o->bad);
	ASSERT_EQ(vcpu->id, o->vcpu_id);
	ASSERT_TRUE(o->has[VAPICVM_A_STATS]);
}

/* Every counter present, and equal to GET_STATS's. */
static void expect_stats_match(struct __test_metadata *_metadata, const struct genl_obj *o,
			       const uint64_t c[VAPICVM_STAT_NR], const char *what)
{
	int i;

	for (i = 0; i < VAPICVM_STAT_NR; i++) {
		EXPECT_TRUE(o->stats_present[i]) TH_LOG("%s: counter %s missing", what,
							stat_name(i));
		EXPECT_EQ(c[i], o->stats[i]) TH_LOG("%s: counter %s", what, stat_name(i));
	}
	for (; i < GENL_NEST_MAX; i++)
		EXPECT_FALSE(o->stats_present[i]) TH_LOG("%s: counter type %d beyond the table",
							 what, i + 1);
}

/* The tier's name from the feature table, if apicv is exactly one feature's tier. */
static const char *tier_name(uint32_t apicv)
{
#define TIER_NAME(id, bit, name, tier, sdm, policy, ctl)			\
	if (apicv && apicv == apicv_tier(VAPICVM_APICV_##id))			\
		return tier;
	VAPICVM_APICV_FEATURES(TIER_NAME)
#undef TIER_NAME
	return NULL;
}

/* VAPICVM_GET_VM_ID: with or without the family, each VM has its own id. */
TEST(vm_id_ioctl)
{
	struct vm *a = vm_create_bare(0, 0), *b = vm_create_bare(0, 0);
	struct vcpu *vcpu = vm_add_vcpu_bare(a, 0);
	uint64_t ia = 0, ib = 0;

	ASSERT_EQ(0, ioctl(a->fd, VAPICVM_GET_VM_ID, &ia));
	ASSERT_EQ(0, ioctl(b->fd, VAPICVM_GET_VM_ID, &ib));
	EXPECT_NE(0, ia);
	EXPECT_NE(0, ib);
	EXPECT_NE(ia, ib);
	EXPECT_EQ(ia, vm_fd_id(a->fd));
	EXPECT_EQ(-1, ioctl(a->fd, VAPICVM_GET_VM_ID, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(a->fd, VAPICVM_GET_VM_ID, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(vcpu->fd, VAPICVM_GET_VM_ID, &ia));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(a->dev_fd, VAPICVM_GET_VM_ID, &ia));
	EXPECT_EQ(ENOTTY, errno);
	vm_free(a);
	vm_free(b);
}

/* ------------------------------------------------------------------ */
/* Counters against known guest behaviour, on every tier               */
/* ------------------------------------------------------------------ */

static volatile uint32_t self_irqs;

static void count_and_eoi(struct ex_regs *regs)
{
	self_irqs++;
	xapic_write(REG_EOI, 0);
}

/* N port writes, M CPUIDs and K self-IPIs each ended by an EOI, in xAPIC mode. */
static void guest_counted(void)
{
	uint32_t a, b, c, d;
	int i;

	guest_x2apic = false;
	apic_enable();
	guest_sti();
	GUEST_SYNC(1);
	for (i = 0; i < N_IO; i++)
		guest_outb(TEST_PORT, i);
	for (i = 0; i < M_CPUID; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	for (i = 0; i < K_EOI; i++) {
		xapic_write(REG_ICR, ICR_SELF | SELF_VECTOR);
		while (self_irqs != (uint32_t)i + 1)
			__asm__ volatile("pause");
	}
	GUEST_SYNC(2);
	GUEST_DONE();
}

static void guest_cpuids(void)
{
	uint32_t a, b, c, d;

	guest_cpuid(0, 0, &a, &b, &c, &d);
	guest_cpuid(1, 0, &a, &b, &c, &d);
	guest_cpuid(7, 0, &a, &b, &c, &d);
	GUEST_DONE();
}

/* Run to the next ucall, counting the port writes to TEST_PORT on the way. */
static uint64_t run_counting_io(struct vcpu *vcpu, struct ucall *uc, unsigned int *ios)
{
	for (;;) {
		TEST_ASSERT(!__vcpu_run_ucall(vcpu, uc), "RUN: %s", strerror(errno));
		if (uc->cmd == UCALL_ABORT)
			fail_guest_assert(vcpu, uc);
		if (uc->cmd != UCALL_NONE)
			return uc->cmd;
		TEST_ASSERT(vcpu->run->exit_reason == VAPICVM_EXIT_IO &&
			    vcpu->run->io.port == TEST_PORT, "exit %s, port %#x",
			    exit_reason_str(vcpu->run->exit_reason), vcpu->run->io.port);
		(*ios)++;
	}
}

FIXTURE(tier) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(tier);

FIXTURE_SETUP(tier)
{
	APIC_TIER_SETUP();
}

TEST_F(tier, counters_match_the_guest)
{
	struct genl *g = genl_require(_metadata, 0);
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_counted, 0);
	struct vcpu *other = vm_add_vcpu(self->vm, 1, guest_cpuids, 0);
	uint64_t c[VAPICVM_STAT_NR], c2[VAPICVM_STAT_NR];
	struct genl_obj *o1 = calloc(3, sizeof(*o1)), *o2 = o1 + 1, *ov = o1 + 2;
	const uint32_t eoi = REG_EOI / 16;
	unsigned int ios = 0;
	const char *name;
	struct ucall uc;
	int i;

	ASSERT_NE(NULL, o1);
	vm_install_handler(self->vm, SELF_VECTOR, count_and_eoi);
	ASSERT_EQ(UCALL_SYNC, run_counting_io(vcpu, &uc, &ios));
	get_vcpu(_metadata, g, vcpu, o1);
	ASSERT_EQ(UCALL_SYNC, run_counting_io(vcpu, &uc, &ios));
	ASSERT_EQ(2, uc.args[0]);
	ASSERT_EQ(N_IO, ios);
	get_vcpu(_metadata, g, vcpu, o2);
	vcpu_stats(vcpu, c);

	/* What the guest did between its two syncs (the second is a port write too). */
	EXPECT_EQ(N_IO + 1, o2->stats[VAPICVM_STAT_EXIT_IO] - o1->stats[VAPICVM_STAT_EXIT_IO]);
	EXPECT_EQ(N_IO + 1, o2->user_exits[VAPICVM_EXIT_IO] - o1->user_exits[VAPICVM_EXIT_IO]);
	EXPECT_EQ(N_IO + 1, o2->stats[VAPICVM_STAT_EXIT_USERSPACE] -
			    o1->stats[VAPICVM_STAT_EXIT_USERSPACE]);
	EXPECT_EQ(N_IO + 1, o2->exit_reasons[VMX_EXIT_IO] - o1->exit_reasons[VMX_EXIT_IO]);
	EXPECT_EQ(M_CPUID, o2->stats[VAPICVM_STAT_EXIT_CPUID] -
			   o1->stats[VAPICVM_STAT_EXIT_CPUID]);
	EXPECT_EQ(M_CPUID, o2->exit_reasons[VMX_EXIT_CPUID] - o1->exit_reasons[VMX_EXIT_CPUID]);
	EXPECT_TRUE(o2->exit_reasons_present[VMX_EXIT_CPUID]);
	if (self->apicv & VAPICVM_APICV_INTR_DELIVERY) {
		/*
		 * With virtual-interrupt delivery the CPU virtualizes an xAPIC
		 * self-IPI (fixed, edge, shorthand self: Vol. 3C 30.4.3.2) and
		 * its EOI: vapicvm never sees them, nothing is injected.
		 */
		EXPECT_EQ(0, o2->stats[VAPICVM_STAT_IPI_SENT] - o1->stats[VAPICVM_STAT_IPI_SENT]);
		EXPECT_EQ(0, o2->stats[VAPICVM_STAT_IRQ_INJECTED] -
			     o1->stats[VAPICVM_STAT_IRQ_INJECTED]);
		EXPECT_FALSE(o2->apic_write_present[REG_ICR / 16]);
		EXPECT_FALSE(o2->apic_access_present[REG_ICR / 16]);
		EXPECT_FALSE(o2->apic_access_present[eoi]) TH_LOG("%lu",
			(unsigned long)o2->apic_access[eoi]);
		EXPECT_FALSE(o2->apic_write_present[eoi]) TH_LOG("%lu",
			(unsigned long)o2->apic_write[eoi]);
		EXPECT_EQ(0, o2->stats[VAPICVM_STAT_EXIT_EOI_INDUCED]);
	} else {
		EXPECT_EQ(K_EOI, o2->stats[VAPICVM_STAT_IPI_SELF] -
				 o1->stats[VAPICVM_STAT_IPI_SELF]);
		EXPECT_EQ(K_EOI, o2->stats[VAPICVM_STAT_IPI_FIXED] -
				 o1->stats[VAPICVM_STAT_IPI_FIXED]);
		EXPECT_EQ(K_EOI, o2->stats[VAPICVM_STAT_IRQ_INJECTED] -
				 o1->stats[VAPICVM_STAT_IRQ_INJECTED]);
	}
	/* Without VID, each EOI exits: an APIC-write with register virtualization. */
	if (self->apicv & VAPICVM_APICV_INTR_DELIVERY) {
		/* none: above */
	} else if (self->apicv & VAPICVM_APICV_REGISTER_VIRT) {
		EXPECT_FALSE(o2->apic_access_present[eoi]);
		EXPECT_TRUE(o2->apic_write_present[eoi]);
		EXPECT_EQ(K_EOI, o2->apic_write[eoi]);
	} else {
		EXPECT_TRUE(o2->apic_access_present[eoi]);
		EXPECT_EQ(K_EOI, o2->apic_access[eoi]);
		EXPECT_FALSE(o2->apic_write_present[eoi]);
	}
	/* Non-zero only, in every nest but STATS. */
	for (i = 0; i < GENL_NEST_MAX; i++) {
		EXPECT_FALSE(o2->exit_reasons_present[i] && !o2->exit_reasons[i]);
		EXPECT_FALSE(o2->apic_access_present[i] && !o2->apic_access[i]);
		EXPECT_FALSE(o2->apic_write_present[i] && !o2->apic_write[i]);
		EXPECT_FALSE(o2->user_exits_present[i] && !o2->user_exits[i]);
	}
	/* The netlink counters are GET_STATS's. */
	expect_stats_match(_metadata, o2, c, "vCPU 0");

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(other, &uc));
	/* Both stopped: the VM's counters are the sum of its vCPUs'. */
	get_vcpu(_metadata, g, vcpu, o1);
	get_vcpu(_metadata, g, other, o2);
	vcpu_stats(vcpu, c);
	vcpu_stats(other, c2);
	expect_stats_match(_metadata, o1, c, "vCPU 0");
	expect_stats_match(_metadata, o2, c2, "vCPU 1");
	EXPECT_EQ(3, o2->stats[VAPICVM_STAT_EXIT_CPUID]);
	ASSERT_EQ(0, genl_get_vm(g, vm_fd_id(self->vm->fd), ov));
	ASSERT_EQ(NULL, ov->bad) TH_LOG("malformed: %s", ov->bad);
	for (i = 0; i < VAPICVM_STAT_NR; i++) {
		EXPECT_TRUE(ov->stats_present[i]) TH_LOG("VM counter %s missing", stat_name(i));
		EXPECT_EQ(c[i] + c2[i], ov->stats[i]) TH_LOG("VM counter %s", stat_name(i));
	}
	for (i = 0; i < VAPICVM_VM_STAT_NR; i++) {
		EXPECT_TRUE(ov->vm_stats_present[i]);
		EXPECT_EQ(vm_stat(self->vm, i), ov->vm_stats[i]) TH_LOG("VM stat %d", i);
	}
	/* The dump says the same as the doit. */
	{
		struct genl_obj *all = calloc(64, sizeof(*all));
		int n = genl_dump_vms(g, all, 64);
		bool found = false;

		ASSERT_GE(n, 1);
		for (i = 0; i < n && i < 64; i++) {
			if (all[i].vm_id != ov->vm_id)
				continue;
			found = true;
			EXPECT_EQ(0, memcmp(all[i].stats, ov->stats, sizeof(ov->stats)));
			EXPECT_EQ(ov->apicv, all[i].apicv);
		}
		EXPECT_TRUE(found);
		free(all);
	}
	EXPECT_EQ(self->apicv, ov->apicv);
	name = tier_name(self->apicv);
	TH_LOG("tier %s", ov->tier);
	if (name)
		EXPECT_STREQ(name, ov->tier);
	free(o1);
	genl_close(g);
}

/* ------------------------------------------------------------------ */
/* VM and vCPU attributes                                              */
/* ------------------------------------------------------------------ */

static void guest_to_x2apic(void)
{
	GUEST_SYNC(1);
	guest_wrmsr(MSR_APIC_BASE, guest_rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	GUEST_SYNC(2);
	GUEST_DONE();
}

static uint32_t vcpu_apic_mode(struct vcpu *vcpu)
{
	uint64_t base = vcpu_get_msr(vcpu, MSR_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		return VAPICVM_APIC_MODE_DISABLED;
	return base & APIC_BASE_EXTD ? VAPICVM_APIC_MODE_X2APIC : VAPICVM_APIC_MODE_XAPIC;
}

static uint32_t feature_bit(const char *n)
{
#define FEATURE_BIT(id, bit, name, tier, sdm, policy, ctl)			\
	if (!strcmp(n, name))							\
		return VAPICVM_APICV_##id;
	VAPICVM_APICV_FEATURES(FEATURE_BIT)
#undef FEATURE_BIT
	return 0;
}

static void expect_vcpu_like_ioctls(struct __test_metadata *_metadata, struct genl_obj *o,
				    struct vcpu *vcpu)
{
	struct vapicvm_mp_state mp;

	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	EXPECT_EQ(vm_fd_id(vcpu->vm->fd), o->vm_id);
	EXPECT_EQ(vcpu->id, o->vcpu_id);
	EXPECT_EQ(mp.mp_state, o->mp_state);
	EXPECT_EQ(vcpu_apic_mode(vcpu), o->apic_mode);
	EXPECT_TRUE(o->has[VAPICVM_A_IN_GUEST]);
	EXPECT_EQ(0, o->in_guest);
	EXPECT_TRUE(o->has[VAPICVM_A_LAST_CPU]);
	EXPECT_TRUE(o->has[VAPICVM_A_STATS]);
}

TEST(vm_and_vcpu_attributes)
{
	struct genl *g = genl_require(_metadata, 0);
	struct genl_obj *o = calloc(4, sizeof(*o));
	uint32_t host = host_apicv(), asked = VAPICVM_APICV_TPR_SHADOW;
	struct vcpu *vcpu, *ap;
	struct ucall uc;
	unsigned int i;
	struct vm *vm;
	uint64_t id;

	ASSERT_NE(NULL, o);
	TEST_REQUIRE(host & VAPICVM_APICV_TPR_SHADOW, "no TPR shadow on this CPU");
	vm = vm_create_apicv(asked);
	vcpu = vm_add_vcpu(vm, 0, guest_to_x2apic, 0);
	ap = vm_add_vcpu_bare(vm, 1);
	id = vm_fd_id(vm->fd);
	EXPECT_NE(0, id);

	ASSERT_EQ(0, genl_get_vm(g, id, o));
	ASSERT_EQ(NULL, o->bad) TH_LOG("malformed: %s", o->bad);
	EXPECT_EQ(VAPICVM_CMD_GET_VM, o->cmd);
	EXPECT_EQ(id, o->vm_id);
	EXPECT_EQ(getpid(), o->pid);
	EXPECT_EQ(geteuid(), o->uid);
	EXPECT_EQ(2, o->nr_vcpus);
	EXPECT_EQ(VM_MEM_SIZE, o->mem_bytes);
	EXPECT_TRUE(o->has[VAPICVM_A_PINNED_BYTES]);
	EXPECT_LE(o->pinned_bytes, o->mem_bytes);
	EXPECT_EQ(asked, o->apicv);
	EXPECT_EQ(asked, o->apicv_requested);
	EXPECT_STREQ("tpr", o->tier);
	EXPECT_EQ(6, o->nr_features);
	for (i = 0; i < o->nr_features; i++) {
		const char *n = o->features[i].name;

		EXPECT_TRUE(o->features[i].has_state) TH_LOG("feature %s", n);
		TH_LOG("feature %s: state %u needs %#x", n, o->features[i].state,
		       o->features[i].needs);
		uint32_t bit = feature_bit(n);

		ASSERT_NE(0, bit) TH_LOG("unknown feature \"%s\"", n);
		if (bit == asked) {
			EXPECT_EQ(VAPICVM_FEATURE_IN_USE, o->features[i].state);
		} else if (host & bit) {
			EXPECT_EQ(VAPICVM_FEATURE_NOT_ASKED, o->features[i].state)
				TH_LOG("feature %s", n);
		} else {
			EXPECT_NE(VAPICVM_FEATURE_IN_USE, o->features[i].state);
		}
	}

	/* vCPUs before they ran: all of them, then one by its id. */
	ASSERT_EQ(2, genl_dump_vcpus(g, id, -1, o, 4));
	EXPECT_EQ(0, o[0].vcpu_id + o[1].vcpu_id - 1);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(NULL, o[i].bad);
		EXPECT_EQ(~0U, o[i].last_cpu);
		expect_vcpu_like_ioctls(_metadata, &o[i], o[i].vcpu_id ? ap : vcpu);
	}
	ASSERT_EQ(1, genl_dump_vcpus(g, id, 1, o, 4));
	EXPECT_EQ(1, o[0].vcpu_id);

	/* After running, in xAPIC mode, then in x2APIC mode. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	get_vcpu(_metadata, g, vcpu, o);
	expect_vcpu_like_ioctls(_metadata, o, vcpu);
	EXPECT_EQ(VAPICVM_APIC_MODE_XAPIC, o->apic_mode);
	EXPECT_EQ(VAPICVM_MP_STATE_RUNNABLE, o->mp_state);
	EXPECT_LT(o->last_cpu, (uint32_t)get_nprocs_conf());
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	get_vcpu(_metadata, g, vcpu, o);
	expect_vcpu_like_ioctls(_metadata, o, vcpu);
	EXPECT_EQ(VAPICVM_APIC_MODE_X2APIC, o->apic_mode);
	EXPECT_LT(o->last_cpu, (uint32_t)get_nprocs_conf());
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));

	vm_free(vm);
	/* Gone once its fds are closed. */
	for (i = 0; i < 100 && genl_get_vm(g, id, o) == 0; i++)
		usleep(20000);
	EXPECT_EQ(-ENOENT, genl_get_vm(g, id, o));
	free(o);
	genl_close(g);
}

static volatile uint32_t release_guest;

static void guest_spin_until_released(void)
{
	while (!release_guest)
		__asm__ volatile("pause");
	GUEST_DONE();
}

/* IN_GUEST is 1 while a vCPU's thread is in guest mode. */
TEST(in_guest_while_running)
{
	struct genl *g = genl_require(_metadata, 0);
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_spin_until_released, 0);
	struct vcpu_thread th;
	struct genl_obj o;
	bool seen = false;
	int i;

	/*
	 * With one CPU, the reader runs only while the vCPU's thread is out of
	 * guest mode (the tick that let the reader in was a VM exit).
	 */
	if (get_nprocs() < 2) {
		vm_free(vm);
		genl_close(g);
		SKIP(return, "one CPU: a reader never runs while a vCPU is in guest mode");
	}
	vcpu_thread_start(&th, vcpu);
	for (i = 0; i < 400 && !seen; i++) {
		get_vcpu(_metadata, g, vcpu, &o);
		seen = o.in_guest == 1;
		if (!seen)
			usleep(5000);
	}
	*(volatile uint32_t *)addr_gpa2hva(vm, (uintptr_t)&release_guest) = 1;
	ASSERT_TRUE(vcpu_thread_join_timeout(&th, 10)) TH_LOG("the guest did not finish");
	EXPECT_TRUE(seen) TH_LOG("IN_GUEST never 1 while the guest spun");
	EXPECT_EQ(UCALL_DONE, th.uc.cmd);
	get_vcpu(_metadata, g, vcpu, &o);
	EXPECT_EQ(0, o.in_guest);
	EXPECT_LT(o.last_cpu, (uint32_t)get_nprocs_conf());
	vm_free(vm);
	genl_close(g);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static const char *event_name(uint32_t e)
{
	static const char *const names[] = {
		"VM_CREATE", "VM_DESTROY", "VCPU_CREATE", "APIC_MODE", "APICV",
		"ENTRY_FAILED", "SHUTDOWN", "INTERNAL_ERROR", "RATE_CLAMP",
	};

	return e < ARRAY_SIZE(names) ? names[e] : "?";
}

/* The events of VM id until its VM_DESTROY (or timeout): their number. */
static int collect_events(struct genl *ev, uint64_t id, struct genl_obj *evs, int max,
			  int timeout_ms)
{
	int n = 0;

	while (n < max) {
		int r = genl_next_event(ev, &evs[n], timeout_ms);

		if (r <= 0)
			break;
		if (evs[n].vm_id != id)
			continue;
		printf("# event %s vcpu %u old %u new %u\n", event_name(evs[n].event),
		       evs[n].vcpu_id, evs[n].old, evs[n].new_);
		if (evs[n++].event == VAPICVM_EVENT_VM_DESTROY)
			break;
	}
	return n;
}

/* A second process resolves the family and finds the VM in a dump. */
static int child_finds_vm(uint64_t id)
{
	struct genl *g = genl_open(0);
	struct genl_obj *objs = calloc(64, sizeof(*objs));
	int n, i;

	if (!g || !objs || genl_resolve_vapicvm(g))
		return 10;
	n = genl_dump_vms(g, objs, 64);
	for (i = 0; i < n && i < 64; i++)
		if (objs[i].vm_id == id)
			return objs[i].pid == (uint32_t)getppid() ? 0 : 12;
	return 11;
}

TEST(events_in_order)
{
	struct genl *g = genl_require(_metadata, 0);
	struct genl_obj *evs = calloc(32, sizeof(*evs));
	struct genl *ev = genl_open(0);
	int n, i, status, step = 0;
	bool apicv_seen = false;
	struct vcpu *vcpu;
	uint32_t apicv;
	struct ucall uc;
	struct vm *vm;
	uint64_t id;
	pid_t pid;

	ASSERT_NE(NULL, evs);
	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, genl_resolve_vapicvm(ev));
	ASSERT_NE(0, ev->events_group) TH_LOG("no \"%s\" group", VAPICVM_GENL_MCGRP_EVENTS);
	ASSERT_EQ(0, genl_join_events(ev));

	vm = vm_create();
	id = vm_fd_id(vm->fd);
	vcpu = vm_add_vcpu(vm, 0, guest_to_x2apic, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(child_finds_vm(id));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the second process: status %#x (10 no family, 11 no VM, 12 wrong pid)",
		       status);

	apicv = vm->apicv;
	vm_free(vm);
	n = collect_events(ev, id, evs, 32, 3000);
	ASSERT_GE(n, 4);
	/* VM_CREATE first, then VCPU_CREATE, the mode change, VM_DESTROY last. */
	ASSERT_EQ(VAPICVM_EVENT_VM_CREATE, evs[0].event);
	EXPECT_EQ(getpid(), evs[0].pid);
	EXPECT_EQ(geteuid(), evs[0].uid);
	EXPECT_EQ(apicv, evs[0].apicv);
	EXPECT_TRUE(evs[0].has[VAPICVM_A_APICV_TIER]);
	EXPECT_NE(0, strlen(evs[0].tier));
	for (i = 1; i < n; i++) {
		const struct genl_obj *e = &evs[i];

		EXPECT_EQ(NULL, e->bad);
		EXPECT_NE(VAPICVM_EVENT_VM_CREATE, e->event);
		if (step == 0 && e->event == VAPICVM_EVENT_VCPU_CREATE) {
			EXPECT_EQ(0, e->vcpu_id);
			step = 1;
		} else if (step == 1 && e->event == VAPICVM_EVENT_APIC_MODE &&
			   e->new_ == VAPICVM_APIC_MODE_X2APIC) {
			EXPECT_EQ(VAPICVM_APIC_MODE_XAPIC, e->old);
			step = 2;
		} else if (e->event == VAPICVM_EVENT_APICV &&
			   ((e->new_ & ~e->old) & VAPICVM_APICV_X2APIC_VIRT)) {
			EXPECT_GE(step, 1) TH_LOG("x2apic-virt active before VCPU_CREATE");
			EXPECT_EQ(0, e->new_ & ~apicv);
			apicv_seen = true;
		}
	}
	EXPECT_EQ(2, step) TH_LOG("VCPU_CREATE, then APIC_MODE xAPIC -> x2APIC: not seen");
	EXPECT_EQ(VAPICVM_EVENT_VM_DESTROY, evs[n - 1].event);
	if (apicv & VAPICVM_APICV_X2APIC_VIRT)
		EXPECT_TRUE(apicv_seen) TH_LOG("no APICV event with x2apic-virt going active");
	free(evs);
	genl_close(ev);
	genl_close(g);
}

/* ------------------------------------------------------------------ */
/* Who sees what                                                       */
/* ------------------------------------------------------------------ */

/* As uid NOBODY without capabilities: own VM only, ENOENT for root's, EPERM for events. */
static int unprivileged_child(int dev_fd, uint64_t root_vm, int to_parent, int from_parent)
{
	struct genl_obj *objs = calloc(64, sizeof(*objs));
	struct vapicvm_create_vm params = { 0 };
	uint64_t my_vm = 0;
	struct genl *g;
	int vm_fd, n;
	char c;

	if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
		return 20;
	vm_fd = ioctl(dev_fd, VAPICVM_CREATE_VM, &params);
	if (vm_fd < 0)
		return 21;
	if (ioctl(vm_fd, VAPICVM_GET_VM_ID, &my_vm))
		return 22;
	g = genl_open(0);
	if (!g || genl_resolve_vapicvm(g) || !objs)
		return 23;
	n = genl_dump_vms(g, objs, 64);
	if (n != 1) {
		printf("# unprivileged dump: %d VMs\n", n);
		return 24;
	}
	if (objs[0].vm_id != my_vm || objs[0].uid != NOBODY)
		return 25;
	if (genl_get_vm(g, root_vm, objs) != -ENOENT)
		return 26;
	if (genl_get_vm(g, my_vm, objs) || objs[0].vm_id != my_vm)
		return 27;
	if (genl_join_events(g) != -EPERM)
		return 28;
	if (write(to_parent, &my_vm, sizeof(my_vm)) != sizeof(my_vm))
		return 29;
	/* Keep the VM until root has looked. */
	if (read(from_parent, &c, 1) != 1)
		return 30;
	return 0;
}

TEST(visibility_by_uid)
{
	struct genl *g = genl_require(_metadata, 0);
	struct genl_obj *objs = calloc(64, sizeof(*objs));
	int up[2], down[2], status, n, i;
	bool mine = false, theirs = false;
	struct vm *vm = vm_create_bare(0, 0);
	uint64_t id = vm_fd_id(vm->fd), child_vm = 0;
	pid_t pid;

	ASSERT_NE(NULL, objs);
	TEST_REQUIRE(geteuid() == 0, "not root");
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(up[0]);
		close(down[1]);
		_exit(unprivileged_child(vm->dev_fd, id, up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &child_vm, sizeof(child_vm)) == sizeof(child_vm)) {
		n = genl_dump_vms(g, objs, 64);
		ASSERT_GE(n, 2);
		for (i = 0; i < n && i < 64; i++) {
			if (objs[i].vm_id == id)
				mine = true;
			if (objs[i].vm_id == child_vm) {
				theirs = true;
				EXPECT_EQ(NOBODY, objs[i].uid);
				EXPECT_EQ(pid, objs[i].pid);
			}
		}
		EXPECT_TRUE(mine);
		EXPECT_TRUE(theirs);
		EXPECT_EQ(0, genl_get_vm(g, child_vm, objs));
	}
	ASSERT_EQ(1, write(down[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("unprivileged child: status %#x (20 setresuid, 21 CREATE_VM, 24 dump count, "
		       "25 wrong VM, 26 root's VM not ENOENT, 28 events not EPERM)", status);
	vm_free(vm);
	free(objs);
	genl_close(g);
}

TEST(absent_from_other_netns)
{
	struct genl *g = genl_require(_metadata, 0);
	int status;
	pid_t pid;

	genl_close(g);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct genl *ng;

		if (unshare(CLONE_NEWNET))
			_exit(errno == EINVAL ? 4 : 1);
		ng = genl_open(0);
		if (!ng)
			_exit(2);
		if (genl_resolve(ng, "nlctrl"))
			_exit(3);
		_exit(genl_resolve_vapicvm(ng) == -ENOENT ? 0 : 5);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	TEST_REQUIRE(WEXITSTATUS(status) != 4, "no network namespaces (CONFIG_NET_NS)");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("1 unshare, 2 socket, 3 nlctrl, 5 the family resolved in the new netns");
}

/* ------------------------------------------------------------------ */
/* Malformed requests                                                  */
/* ------------------------------------------------------------------ */

static void expect_error(struct __test_metadata *_metadata, struct genl *g, struct genl_msg *m,
			 int err, bool extack, const char *what)
{
	struct genl_status st;
	int r = genl_transact(g, m, NULL, 0, NULL, &st);

	TH_LOG("%s: %d (%s), extack \"%s\"%s", what, r, strerror(-r), st.msg,
	       st.has_miss_type ? ", a missing attribute" : "");
	EXPECT_EQ(-err, r) TH_LOG("%s", what);
	if (extack)
		EXPECT_NE(0, strlen(st.msg)) TH_LOG("%s: no extack message", what);
}

/* A required attribute missing: the extack names it (NLMSGERR_ATTR_MISS_TYPE) or says so. */
static void expect_missing(struct __test_metadata *_metadata, struct genl *g, struct genl_msg *m,
			   uint32_t type, const char *what)
{
	struct genl_status st;
	int r = genl_transact(g, m, NULL, 0, NULL, &st);

	TH_LOG("%s: %d (%s), extack \"%s\", missing %d", what, r, strerror(-r), st.msg,
	       st.has_miss_type ? (int)st.miss_type : -1);
	EXPECT_EQ(-EINVAL, r) TH_LOG("%s", what);
	EXPECT_TRUE(strlen(st.msg) || (st.has_miss_type && st.miss_type == type))
		TH_LOG("%s: the extack does not say what is missing", what);
}

TEST(malformed_requests)
{
	struct genl *g = genl_require(_metadata, 0);
	struct vm *vm = vm_create_bare(0, 0);
	uint64_t id = vm_fd_id(vm->fd);
	struct genl_obj o;
	struct genl_msg m;
	struct nlattr *a;
	int r;

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	genl_put_u32(&m, VAPICVM_A_MAX + 1, 1);
	expect_error(_metadata, g, &m, EINVAL, true, "unknown attribute type");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	genl_put_u32(&m, VAPICVM_A_PID, getpid());
	expect_error(_metadata, g, &m, EINVAL, true, "output-only attribute PID");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	genl_put(&m, VAPICVM_A_STATS, NULL, 0);
	expect_error(_metadata, g, &m, EINVAL, true, "output-only attribute STATS");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	expect_missing(_metadata, g, &m, VAPICVM_A_VM_ID, "GET_VM doit without VM_ID");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u32(&m, VAPICVM_A_VM_ID, id);
	expect_error(_metadata, g, &m, EINVAL, true, "VM_ID as a u32");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VCPU, NLM_F_DUMP);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	genl_put_u64(&m, VAPICVM_A_VCPU_ID, 0);
	expect_error(_metadata, g, &m, EINVAL, true, "VCPU_ID as a u64");

	/* An attribute whose length runs past the message's end. */
	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	a = (struct nlattr *)(m.raw + NLMSG_LENGTH(GENL_HDRLEN));
	a->nla_len += 8;
	expect_error(_metadata, g, &m, EINVAL, true, "attribute length past the end");

	/* Shorter than the genl header. */
	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	m.nlh.nlmsg_len = NLMSG_HDRLEN + 2;
	expect_error(_metadata, g, &m, EINVAL, false, "message shorter than its genl header");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VCPU, NLM_F_DUMP);
	expect_missing(_metadata, g, &m, VAPICVM_A_VM_ID, "GET_VCPU dump without VM_ID");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VCPU, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	expect_error(_metadata, g, &m, EOPNOTSUPP, false, "GET_VCPU as a doit");

	genl_msg_init(g, &m, VAPICVM_CMD_EVENT, 0);
	expect_error(_metadata, g, &m, EOPNOTSUPP, false, "EVENT as a request");

	genl_msg_init(g, &m, 0x7f, 0);
	expect_error(_metadata, g, &m, EOPNOTSUPP, false, "unknown command");

	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, 0);
	genl_put_u64(&m, VAPICVM_A_VM_ID, ~0ULL);
	expect_error(_metadata, g, &m, ENOENT, false, "no such VM");

	/* nlmsg_len beyond what was sent: the core drops it without a word. */
	genl_msg_init(g, &m, VAPICVM_CMD_GET_VM, NLM_F_ACK);
	genl_put_u64(&m, VAPICVM_A_VM_ID, id);
	ASSERT_EQ(0, genl_send_raw(g, &m, m.nlh.nlmsg_len - 8));
	r = genl_recv(g, 300);
	if (r > 0) {
		struct nlmsghdr *nlh = (void *)g->buf;

		EXPECT_EQ(NLMSG_ERROR, nlh->nlmsg_type);
		if (nlh->nlmsg_type == NLMSG_ERROR)
			EXPECT_NE(0, ((struct nlmsgerr *)NLMSG_DATA(nlh))->error);
	}

	/* The socket and the family still answer. */
	ASSERT_EQ(0, genl_get_vm(g, id, &o));
	EXPECT_EQ(id, o.vm_id);
	EXPECT_EQ(NULL, o.bad);
	vm_free(vm);
	genl_close(g);
}

/* ------------------------------------------------------------------ */
/* Dumps interrupted and abandoned                                     */
/* ------------------------------------------------------------------ */

/*
 * Parts of a dump are at least 8 KiB (room for the largest message); a
 * VM without vCPUs takes about 1 KiB: enough of them for several parts.
 */
#define DUMP_VMS	32
#define DUMP_BUF	8192
#define DUMP_EXTRA	8

static int count_vms(struct genl *g)
{
	return genl_dump_vms(g, NULL, 0);
}

TEST(dump_interrupted_and_abandoned)
{
	struct genl *g = genl_require(_metadata, 0);
	struct vm *vms[DUMP_VMS], *extra[DUMP_EXTRA];
	int base = count_vms(g), parts = 0, msgs = 0, nextra = 0, i;
	long sysfs_base = read_sysfs_long(VAPICVM_SYSFS "vms");
	bool intr = false, done = false;
	struct genl *d;
	struct genl_msg m;

	ASSERT_GE(base, 0);
	for (i = 0; i < DUMP_VMS; i++)
		vms[i] = vm_create_bare(0, 0);
	ASSERT_EQ(base + DUMP_VMS, count_vms(g));

	/* Reads of one part each; the VM list changes between them. */
	d = genl_open(DUMP_BUF);
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, genl_resolve_vapicvm(d));
	genl_msg_init(d, &m, VAPICVM_CMD_GET_VM, NLM_F_DUMP);
	ASSERT_EQ(0, genl_send(d, &m));
	while (!done) {
		int len = genl_recv(d, 2000);
		struct nlmsghdr *nlh;

		ASSERT_GT(len, 0) TH_LOG("dump part %d: %d", parts, len);
		parts++;
		for (nlh = (void *)d->buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
				done = true;
				EXPECT_EQ(NLMSG_DONE, nlh->nlmsg_type);
				break;
			}
			msgs++;
		}
		if (!done && nextra < DUMP_EXTRA)
			extra[nextra++] = vm_create_bare(0, 0);
	}
	TH_LOG("%d messages in %d parts, %d VMs created meanwhile", msgs, parts, nextra);
	ASSERT_GE(parts, 3) TH_LOG("the dump did not span enough parts to be interrupted");
	EXPECT_TRUE(intr) TH_LOG("no part with NLM_F_DUMP_INTR");
	genl_close(d);
	EXPECT_EQ(base + DUMP_VMS + nextra, count_vms(g));

	/* A dump left after its first part. */
	d = genl_open(DUMP_BUF);
	ASSERT_NE(NULL, d);
	ASSERT_EQ(0, genl_resolve_vapicvm(d));
	genl_msg_init(d, &m, VAPICVM_CMD_GET_VM, NLM_F_DUMP);
	ASSERT_EQ(0, genl_send(d, &m));
	ASSERT_GT(genl_recv(d, 2000), 0);
	genl_close(d);

	for (i = 0; i < DUMP_VMS; i++)
		vm_free(vms[i]);
	for (i = 0; i < nextra; i++)
		vm_free(extra[i]);
	for (i = 0; i < 100 && count_vms(g) != base; i++)
		usleep(20000);
	EXPECT_EQ(base, count_vms(g)) TH_LOG("VMs left after their fds were closed");
	/* The module's own count agrees: the abandoned dump holds nothing. */
	if (sysfs_base >= 0) {
		for (i = 0; i < 100 && read_sysfs_long(VAPICVM_SYSFS "vms") != sysfs_base; i++)
			usleep(20000);
		EXPECT_EQ(sysfs_base, read_sysfs_long(VAPICVM_SYSFS "vms"));
	}

	/* And the family still works. */
	vms[0] = vm_create_bare(0, 0);
	EXPECT_EQ(base + 1, count_vms(g));
	vm_free(vms[0]);
	genl_close(g);
}

TEST_HARNESS_MAIN

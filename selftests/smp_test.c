// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: several VMs with several vCPUs each, all running at once in
 * their own threads; vCPUs of one VM sharing memory; and a vCPU thread that
 * another thread keeps moving between host CPUs while its guest runs, whose
 * registers, FPU state and MSRs must come through every migration intact.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define MSR_LSTAR		0xc0000082
#define MSR_KERNEL_GS_BASE	0xc0000102

static uint64_t mix(uint64_t x, uint64_t i)
{
	x ^= i + 0x9e3779b97f4a7c15ULL + (x << 6) + (x >> 2);
	return x * 0xff51afd7ed558ccdULL;
}

static long vms(void)
{
	return read_sysfs_long(VAPICVM_SYSFS "vms");
}

/* ------------------------------------------------------------------ */
/* Many VMs, many vCPUs                                                */
/* ------------------------------------------------------------------ */

#define NR_VMS		3
#define VCPUS_PER_VM	2
#define ROUNDS		300

static void guest_compute(uint64_t seed)
{
	uint64_t x = seed, i, j;

	for (i = 0; i < ROUNDS; i++) {
		for (j = 0; j < 100; j++)
			x = mix(x, i * 100 + j);
		GUEST_SYNC_ARGS(i, x, seed);
	}
	GUEST_DONE();
}

struct worker {
	struct vcpu *vcpu;
	uint64_t seed;
	int cpu;			/* the host CPU the thread is pinned to */
	pthread_barrier_t *start;
	unsigned long cpus_seen;	/* host CPUs the thread ran the vCPU on */
	const char *error;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->seed, i, j;
	struct ucall uc;
	cpu_set_t saved;

	/*
	 * Spread over the host CPUs by hand: left to the scheduler, all six
	 * threads once stayed on CPU 0 of a two-CPU machine for the whole
	 * test, and nothing ran at once.
	 */
	if (pin_to_cpu(w->cpu, &saved))
		w->error = "cannot pin the thread";
	/* Every worker reaches the barrier, or the others would wait forever. */
	pthread_barrier_wait(w->start);
	if (w->error)
		return NULL;
	for (i = 0; i < ROUNDS; i++) {
		for (j = 0; j < 100; j++)
			x = mix(x, i * 100 + j);
		if (vcpu_run_ucall(w->vcpu, &uc) != UCALL_SYNC || uc.args[0] != i ||
		    uc.args[1] != x || uc.args[2] != w->seed) {
			w->error = "wrong result from the guest";
			return NULL;
		}
		w->cpus_seen |= 1UL << (sched_getcpu() & 63);
	}
	if (vcpu_run_ucall(w->vcpu, &uc) != UCALL_DONE)
		w->error = "no DONE";
	return NULL;
}

TEST(many_vms_many_vcpus_at_once)
{
	struct worker w[NR_VMS * VCPUS_PER_VM] = { 0 };
	pthread_t t[NR_VMS * VCPUS_PER_VM];
	struct vm *vm[NR_VMS];
	pthread_barrier_t start;
	unsigned long cpus = 0;
	int i, j, n = 0;

	ASSERT_EQ(0, vms());
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, NR_VMS * VCPUS_PER_VM));
	for (i = 0; i < NR_VMS; i++) {
		vm[i] = vm_create();
		for (j = 0; j < VCPUS_PER_VM; j++, n++) {
			w[n].seed = 0x1000 * (i + 1) + j;
			w[n].cpu = n % get_nprocs();
			w[n].vcpu = vm_add_vcpu(vm[i], j, guest_compute, w[n].seed);
			w[n].start = &start;
		}
	}
	EXPECT_EQ(NR_VMS, vms());
	for (n = 0; n < NR_VMS * VCPUS_PER_VM; n++)
		ASSERT_EQ(0, pthread_create(&t[n], NULL, worker_fn, &w[n]));
	for (n = 0; n < NR_VMS * VCPUS_PER_VM; n++) {
		ASSERT_EQ(0, pthread_join(t[n], NULL));
		EXPECT_EQ(NULL, w[n].error) TH_LOG("vCPU %d: %s", n, w[n].error);
		cpus |= w[n].cpus_seen;
	}
	TH_LOG("vCPUs ran on host CPU mask %#lx", cpus);
	if (get_nprocs() >= 2)
		EXPECT_GE(__builtin_popcountl(cpus), 2) TH_LOG("everything ran on one CPU");
	for (i = 0; i < NR_VMS; i++)
		vm_free(vm[i]);
	EXPECT_EQ(0, vms());
	pthread_barrier_destroy(&start);
}

/* ------------------------------------------------------------------ */
/* vCPUs of one VM sharing memory                                      */
/* ------------------------------------------------------------------ */

static uint64_t shared_counter;

#define INCREMENTS	20000

static void guest_increment(void)
{
	uint64_t i;

	for (i = 0; i < INCREMENTS; i++)
		__atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
	GUEST_DONE();
}

static void *run_to_done(void *arg)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(arg, &uc) == UCALL_DONE, "no DONE");
	return NULL;
}

TEST(vcpus_share_memory)
{
	struct vm *vm = vm_create();
	struct vcpu *a = vm_add_vcpu(vm, 0, guest_increment, 0);
	struct vcpu *b = vm_add_vcpu(vm, 1, guest_increment, 0);
	pthread_t ta, tb;

	ASSERT_EQ(0, pthread_create(&ta, NULL, run_to_done, a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, run_to_done, b));
	ASSERT_EQ(0, pthread_join(ta, NULL));
	ASSERT_EQ(0, pthread_join(tb, NULL));
	sync_global_from_guest(vm, shared_counter);
	EXPECT_EQ(2 * INCREMENTS, shared_counter);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* The ioctls that work while another thread is in RUN                 */
/* ------------------------------------------------------------------ */

static volatile uint64_t extint_seen;

static void guest_extint_handler(struct ex_regs *regs)
{
	extint_seen++;
}

static void guest_halt_for_extint(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	GUEST_SYNC_ARGS(1, extint_seen);
	GUEST_DONE();
}

static void *run_one_sync(void *arg)
{
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(arg, &uc) == UCALL_SYNC && uc.args[1] == 1,
		    "the ExtINT did not reach the guest");
	TEST_ASSERT(vcpu_run_ucall(arg, &uc) == UCALL_DONE, "no DONE");
	return NULL;
}

/*
 * GET_MP_STATE, GET_STATS and INTERRUPT take no vCPU lock: they work while
 * the vCPU's thread sleeps in RUN (halted), and INTERRUPT wakes it.
 */
TEST(lockless_ioctls_while_in_run)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_halt_for_extint, 0);
	struct vapicvm_interrupt irq = { .pin = VAPICVM_INTERRUPT_LINT0, .vector = 0x40 };
	struct vapicvm_mp_state mp;
	pthread_t t;
	int i;

	/* APIC disabled: LINT0 is the INTR pin of a PIC, the "virtual wire". */
	vcpu_set_msr(vcpu, 0x1b, 0xfee00000ULL | (1ULL << 8));
	vm_install_handler(vm, 0x40, guest_extint_handler);
	ASSERT_EQ(0, pthread_create(&t, NULL, run_one_sync, vcpu));
	for (i = 0; i < 5000; i++) {
		vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
		if (mp.mp_state == VAPICVM_MP_STATE_HALTED)
			break;
		usleep(1000);
	}
	ASSERT_EQ(VAPICVM_MP_STATE_HALTED, mp.mp_state) TH_LOG("never saw the vCPU halted");
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_HLT));
	ASSERT_EQ(0, ioctl(vcpu->fd, VAPICVM_INTERRUPT, &irq));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_HALT_WAKEUP));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* vCPU creation racing with itself                                    */
/* ------------------------------------------------------------------ */

#define CREATORS	4
#define IDS		16

struct creator {
	int vm_fd;
	pthread_barrier_t *start;
	int fds[IDS];
	int created, exists, other;
};

static void *creator_fn(void *arg)
{
	struct creator *c = arg;
	int id;

	pthread_barrier_wait(c->start);
	for (id = 0; id < IDS; id++) {
		c->fds[id] = ioctl(c->vm_fd, VAPICVM_CREATE_VCPU, id);
		if (c->fds[id] >= 0)
			c->created++;
		else if (errno == EEXIST)
			c->exists++;
		else
			c->other++;
	}
	return NULL;
}

/* Every id is created exactly once however the threads interleave. */
TEST(concurrent_vcpu_creation)
{
	struct vm *vm = vm_create_bare(0, 0);
	struct creator c[CREATORS] = { 0 };
	pthread_t t[CREATORS];
	pthread_barrier_t start;
	int i, id, created = 0, exists = 0;

	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, CREATORS));
	for (i = 0; i < CREATORS; i++) {
		c[i].vm_fd = vm->fd;
		c[i].start = &start;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, creator_fn, &c[i]));
	}
	for (i = 0; i < CREATORS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		created += c[i].created;
		exists += c[i].exists;
		EXPECT_EQ(0, c[i].other);
	}
	EXPECT_EQ(IDS, created);
	EXPECT_EQ((CREATORS - 1) * IDS, exists);
	for (id = 0; id < IDS; id++) {
		int owners = 0;

		for (i = 0; i < CREATORS; i++)
			if (c[i].fds[id] >= 0) {
				owners++;
				close(c[i].fds[id]);
			}
		EXPECT_EQ(1, owners) TH_LOG("vCPU id %d", id);
	}
	pthread_barrier_destroy(&start);
	vm_free(vm);
	EXPECT_EQ(0, vms());
}

/* ------------------------------------------------------------------ */
/* Migration while running                                             */
/* ------------------------------------------------------------------ */

#define MIGRATIONS_WANTED	50	/* CPU changes across a RUN */
#define MAX_ROUNDS		100000

static const uint8_t xmm_pattern[16][16] __attribute__((aligned(16))) = {
	{ 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
	  0xee, 0xff },
	[1 ... 15] = { 0x5a, 0xa5, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
		       0x0b, 0x0c, 0x0d, 0x0e },
};

#define XMM_LOAD(n)	"movdqu " #n "*16(%0), %%xmm" #n "\n\t"
#define XMM_STORE(n)	"movdqu %%xmm" #n ", " #n "*16(%0)\n\t"
#define ALL16(m)	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) \
			m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)

static uint8_t xmm_seen[16][16];
static uint64_t migration_stop;

/*
 * A long computation with a SYNC every so often, until the host says stop.
 * XMM registers, two lazily switched MSRs and (where there is RDTSCP) the
 * TSC_AUX that RDTSCP reads are set once and checked at every SYNC; the
 * running hash is checked by the host.
 */
static void guest_long_loop(uint64_t kgs)
{
	uint64_t x = 1, i, j, k;
	uint32_t a, b, c, d;
	bool rdtscp;

	guest_cpuid(0x80000001, 0, &a, &b, &c, &d);
	rdtscp = d & (1U << 27);
	__asm__ volatile(ALL16(XMM_LOAD) : : "r"(xmm_pattern) : "memory");
	guest_wrmsr(MSR_KERNEL_GS_BASE, kgs);
	guest_wrmsr(MSR_LSTAR, kgs + 0x100);
	if (rdtscp)
		guest_wrmsr(0xc0000103, 0x5a5a);
	for (i = 0; !*(volatile uint64_t *)&migration_stop; i++) {
		for (j = 0; j < 2000; j++)
			x = mix(x, j);
		__asm__ volatile(ALL16(XMM_STORE) : : "r"(xmm_seen) : "memory");
		for (j = 0; j < 16; j++)
			for (k = 0; k < 16; k++)
				GUEST_ASSERT_EQ(xmm_seen[j][k], xmm_pattern[j][k]);
		GUEST_ASSERT_EQ(guest_rdmsr(MSR_KERNEL_GS_BASE), kgs);
		GUEST_ASSERT_EQ(guest_rdmsr(MSR_LSTAR), kgs + 0x100);
		if (rdtscp) {
			__asm__ volatile("rdtscp" : "=a"(a), "=d"(d), "=c"(c));
			GUEST_ASSERT_EQ(c, 0x5a5a);
		}
		GUEST_SYNC_ARGS(i, x);
	}
	GUEST_DONE();
}

struct migration {
	struct vcpu *vcpu;
	volatile pid_t tid;
	volatile bool done;
	unsigned long moves, migrations, rounds;
	uint64_t *results;	/* the guest's hash at each round, checked afterwards */
	const char *error;
	int ncpus;
};

/*
 * Nearly all of this thread's time is spent in RUN: the guest's results
 * are checked after the migrations, not between two RUNs.
 */
static void *vcpu_thread(void *arg)
{
	struct migration *m = arg;
	int before, after;
	struct ucall uc;
	uint64_t i;

	m->tid = syscall(SYS_gettid);
	for (i = 0;; i++) {
		before = sched_getcpu();
		if (vcpu_run_ucall(m->vcpu, &uc) != UCALL_SYNC || uc.args[0] != i) {
			m->error = "not the expected SYNC";
			break;
		}
		after = sched_getcpu();
		m->results[i] = uc.args[1];
		/* Moved while in RUN, most likely in the guest. */
		if (before != after)
			m->migrations++;
		m->rounds = i + 1;
		if (m->migrations >= MIGRATIONS_WANTED || m->rounds >= MAX_ROUNDS) {
			/* The guest's copy of the flag: it stops at its next check. */
			*(volatile uint64_t *)addr_gpa2hva(m->vcpu->vm,
				(uint64_t)(uintptr_t)&migration_stop) = 1;
			if (vcpu_run_ucall(m->vcpu, &uc) != UCALL_DONE)
				m->error = "no DONE";
			break;
		}
	}
	m->done = true;
	return NULL;
}

static void *migrator_thread(void *arg)
{
	struct migration *m = arg;
	unsigned long k = 0;

	while (!m->tid)
		sched_yield();
	while (!m->done) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(k++ % m->ncpus, &set);
		if (!sched_setaffinity(m->tid, sizeof(set), &set))
			m->moves++;
		usleep(100);
	}
	return NULL;
}

TEST(vcpu_migrates_while_running)
{
	struct migration m = { 0 };
	pthread_t tv, tm;
	cpu_set_t all;
	struct vm *vm;
	int i;

	uint64_t x = 1, r, j;

	m.ncpus = get_nprocs();
	TEST_REQUIRE(m.ncpus >= 2, "one host CPU: nothing to migrate to");
	if (m.ncpus > 64)
		m.ncpus = 64;
	m.results = calloc(MAX_ROUNDS, sizeof(*m.results));
	ASSERT_NE(NULL, m.results);
	vm = vm_create();
	m.vcpu = vm_add_vcpu(vm, 0, guest_long_loop, 0xffff888012345000ULL);
	ASSERT_EQ(0, pthread_create(&tv, NULL, vcpu_thread, &m));
	ASSERT_EQ(0, pthread_create(&tm, NULL, migrator_thread, &m));
	ASSERT_EQ(0, pthread_join(tv, NULL));
	ASSERT_EQ(0, pthread_join(tm, NULL));
	EXPECT_EQ(NULL, m.error) TH_LOG("%s", m.error);
	TH_LOG("%lu rounds, %lu affinity changes, %lu migrations across a RUN",
	       m.rounds, m.moves, m.migrations);
	EXPECT_GE(m.migrations, MIGRATIONS_WANTED) TH_LOG("the vCPU thread hardly moved");
	for (r = 0; r < m.rounds; r++) {
		for (j = 0; j < 2000; j++)
			x = mix(x, j);
		ASSERT_EQ(x, m.results[r]) TH_LOG("round %lu: wrong hash from the guest", r);
	}
	free(m.results);

	/* The state is still right when read from yet another thread's CPU. */
	CPU_ZERO(&all);
	for (i = 0; i < m.ncpus; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
	EXPECT_EQ(0xffff888012345000ULL, vcpu_get_msr(m.vcpu, MSR_KERNEL_GS_BASE));
	EXPECT_EQ(0xffff888012345100ULL, vcpu_get_msr(m.vcpu, MSR_LSTAR));
	vm_free(vm);
}

TEST_HARNESS_MAIN

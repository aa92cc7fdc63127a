// SPDX-License-Identifier: GPL-2.0
/*
 * An ioctl fuzzer: random sequences of every ioctl on every kind of file
 * descriptor (/dev/vapicvm, VM fds, vCPU fds), with random and boundary
 * arguments and bad user pointers, from several threads sharing one pool
 * of file descriptors.  The threads also close descriptors other threads
 * are using, unmap and map again the vCPU run pages, change memory slots
 * while vCPUs run, and run vCPUs whose guests execute random code, loop
 * over exits or halt; a per-thread timer signal makes every RUN return.
 *
 * It passes if every call returns (a watchdog fails the test when the
 * calls stop making progress), every result is a success or an errno that
 * Documentation/api.rst allows for that ioctl (with exact errnos where the
 * arguments make the answer certain), and once every descriptor is closed
 * no VM is left (/sys/class/misc/vapicvm/vms back to 0).  The bench fails
 * the run on any kernel warning the calls provoke.
 *
 * The seed is printed; SEED=<n> replays the same per-thread call
 * sequences (the interleaving of the threads differs from run to run); on
 * the bench, EXTRA_CMDLINE="SEED=<n>" hands it to the tests.  CALLS=<n>
 * changes the number of calls (default 100000).
 *
 * One thing is not fuzzed: an instruction fetch from the APIC-access page,
 * on which the bench's emulator stops with a panic (see keep_apic_page()).
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define NR_THREADS	4
#define NR_GROUPS	3	/* VMs in the pool at once */
#define GROUP_VCPUS	3	/* vCPU fds per VM in the pool */
#define NR_SYS		2	/* /dev/vapicvm fds in the pool */
#define DEFAULT_CALLS	100000
#define STALL_SECONDS	60	/* no call returned for that long: a hang */
#define MAX_REPORTS	40

#define PAGE		4096UL
#define BUF_PAGES	4

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)((rnd(s) >> 32) % n) : 0;
}

static bool one_in(uint64_t *s, uint32_t n)
{
	return rnd_below(s, n) == 0;
}

/* A 64-bit value biased towards boundaries. */
static uint64_t rnd_value(uint64_t *s)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, 0xffffffffffffffffULL, 0xfee00000, 0xfee00900,
		0x0000800000000000ULL, 0x00007ffffffff000ULL, 0xffff800000000000ULL,
	};

	switch (rnd_below(s, 4)) {
	case 0:
		return edges[rnd_below(s, ARRAY_SIZE(edges))];
	case 1:
		return edges[rnd_below(s, ARRAY_SIZE(edges))] + rnd_below(s, 5) - 2;
	case 2:
		return rnd(s) >> rnd_below(s, 64);
	default:
		return rnd(s);
	}
}

/* ------------------------------------------------------------------ */
/* The pool of file descriptors                                        */
/* ------------------------------------------------------------------ */

enum kind { K_SYS, K_VM, K_VCPU, NR_KINDS };
static const char *const kind_names[] = { "dev", "vm", "vcpu" };

/*
 * A descriptor in the pool.  Closing it bumps gen under the pool lock: a
 * call whose fd's gen changed while it ran may have hit a closed (EBADF)
 * or reused descriptor, and is judged leniently.
 */
struct fdslot {
	int fd;			/* -1: closed */
	unsigned int gen;
};

struct vcpu_slot {
	struct fdslot f;
	uint32_t id;
	struct vapicvm_run *run;	/* NULL: not mapped */
	unsigned int run_gen;		/* bumped at every munmap */
};

enum group_state { G_EMPTY, G_BUSY, G_LIVE };

struct group {
	enum group_state state;
	struct fdslot vm;
	struct vm *lvm;			/* the library's view: guest memory */
	uint8_t *mem;			/* NULL for a VM without memory */
	uint32_t apicv;
	struct vcpu_slot v[GROUP_VCPUS];
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct group groups[NR_GROUPS];
static struct fdslot sys_fds[NR_SYS];

/* ------------------------------------------------------------------ */
/* Global state                                                        */
/* ------------------------------------------------------------------ */

static atomic_ulong calls, violations, runs, run_exits[32], vms_created;
static atomic_ulong stale_calls;
static unsigned long calls_per_thread;
static uint32_t host_apicv;
static struct vapicvm_sregs long_mode_sregs;	/* a working 64-bit state */
static struct {
	struct vapicvm_cpuid hdr;
	struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
} supported_cpuid;

/* User memory the kernel must refuse or may only read. */
static uint8_t *ro_area;	/* RO_PAGES read-only pages of random bytes */
#define RO_PAGES	4
static uint8_t *none_area;	/* PROT_NONE */
/* Memory for the slots of VMs without guest RAM: guests may write it. */
#define SCRATCH_PAGES	16
static uint8_t *scratch_area;

static void report(uint64_t seed, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(uint64_t seed, const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&violations, 1);
	char buf[512];
	va_list ap;

	if (n >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# VIOLATION (thread seed %#lx): %s\n", (unsigned long)seed, buf);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Guests                                                              */
/* ------------------------------------------------------------------ */

static void guest_irq_handler(struct ex_regs *regs)
{
}

/* Exits of every kind, chosen by an LCG: ends only by a host signal. */
static void guest_mix(uint64_t x)
{
	volatile uint32_t *apic = (volatile uint32_t *)0xfee00000UL;
	static const uint16_t regs[] = { 0x80, 0xb0, 0xf0, 0x280, 0x320, 0x350, 0x380, 0x3e0 };
	uint32_t a = 0, b, c, d;

	guest_sti();
	for (;;) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		switch ((x >> 33) % 10) {
		case 0:
			guest_cpuid(x >> 40 & 0xf, 0, &a, &b, &c, &d);
			break;
		case 1:
			guest_outb(0x80, x >> 40);
			break;
		case 2:
			(void)guest_inb(0x81);
			break;
		case 3:
			(void)apic[((x >> 40) & 0x3f0) / 4];
			break;
		case 4:
			apic[regs[(x >> 40) % ARRAY_SIZE(regs)] / 4] = x >> 8;
			break;
		case 5:
			(void)*(volatile uint32_t *)(0xd0000000UL + ((x >> 40) & 0xffc));
			break;
		case 6:
			*(volatile uint32_t *)(0xd0000000UL + ((x >> 40) & 0xffc)) = x;
			break;
		case 7:
			__asm__ volatile("vmcall" : "+a"(a) : : "memory");
			break;
		case 8:
			guest_safe_halt();
			break;
		default:
			(void)guest_rdtsc();
			break;
		}
	}
}

static void guest_io_loop(uint64_t x)
{
	for (;;)
		guest_outb(0x3f8, x++);
}

static void guest_cli_hlt(uint64_t x)
{
	for (;;) {
		guest_cli();
		guest_halt();
	}
}

static void guest_spin(uint64_t x)
{
	for (;;)
		__asm__ volatile("pause" ::: "memory");
}

/* Random code is written at GUEST_FREE + id * PAGE, id a vCPU id. */
#define GUEST_RANDOM_CODE(id)	(GUEST_FREE + (uint64_t)(id) * PAGE)

static void *const guests[] = { guest_mix, guest_io_loop, guest_cli_hlt, guest_spin, NULL };

/* ------------------------------------------------------------------ */
/* Judging a call                                                      */
/* ------------------------------------------------------------------ */

#define EB(e)	(1ULL << (e))
#define E_OPNOTSUPP	(1ULL << 63)	/* EOPNOTSUPP does not fit below 64 */

static bool errno_in(uint64_t mask, int e)
{
	if (e == EOPNOTSUPP)
		return mask & E_OPNOTSUPP;
	return e > 0 && e < 63 && (mask & EB(e));
}

/* Every errno the API documents for any ioctl. */
#define E_ANY_DOCUMENTED (EB(EINVAL) | EB(EFAULT) | EB(E2BIG) | EB(EEXIST) | EB(EAGAIN) | \
			  EB(EBUSY) | EB(EINTR) | EB(ENOMEM) | EB(EMFILE) | EB(ENFILE) | \
			  EB(ENOSPC) | EB(ENOTTY) | EB(ENOENT) | E_OPNOTSUPP)

enum ptrkind {
	P_GOOD, P_NULL, P_NONE, P_UNMAPPED, P_KERNEL, P_NONCANON, P_STRADDLE, P_RDONLY,
	NR_PTRKINDS
};
static const char *const ptr_names[] = {
	"good", "NULL", "PROT_NONE", "unmapped", "kernel", "non-canonical", "straddling",
	"read-only",
};

/* Below the static test binary (0x400000): nothing is mapped there. */
#define UNMAPPED_ADDR	0x200000UL

struct call {
	const char *name;
	enum kind kind;		/* the kind of fd the ioctl belongs to */
	unsigned long cmd;
	unsigned long arg;
	uint64_t errs;		/* its own documented errnos */
	int must;		/* the errno the arguments make certain, or 0 */
	bool reads, writes;	/* the argument is a pointer read / written */
	enum ptrkind pk;
	long max_ret;		/* largest valid success value */
	size_t size;		/* bytes at arg the kernel may read or write */
};

struct thread {
	int idx;
	uint64_t seed, rng;
	pthread_t th;
	timer_t timer;
	unsigned long calls;
	const char *volatile cur;	/* what the thread is doing, for the watchdog */
	uint8_t *buf;			/* BUF_PAGES read/write, then PROT_NONE */
};

/* An argument pointer of the kind asked for, for a buffer of size bytes. */
static void *arg_pointer(struct thread *t, enum ptrkind pk, size_t size)
{
	switch (pk) {
	case P_NULL:
		return NULL;
	case P_NONE:
		return none_area + rnd_below(&t->rng, PAGE);
	case P_UNMAPPED:
		return (void *)(UNMAPPED_ADDR + rnd_below(&t->rng, PAGE));
	case P_KERNEL:
		return (void *)(one_in(&t->rng, 2) ? 0xffff888000000000UL : 0xffffffff81000000UL);
	case P_NONCANON:
		return (void *)0x8000000000000000UL;
	case P_STRADDLE:
		return t->buf + BUF_PAGES * PAGE - (size > 1 ? 1 + rnd_below(&t->rng, size - 1) : 0);
	case P_RDONLY:
		return ro_area;
	default:
		return t->buf;
	}
}

static enum ptrkind pick_ptrkind(struct thread *t)
{
	return one_in(&t->rng, 8) ? 1 + rnd_below(&t->rng, NR_PTRKINDS - 1) : P_GOOD;
}

/*
 * Issue the call on fd (of kind fk, from a pool slot whose gen was gen)
 * and judge it.  Returns the ioctl's result (errno preserved).
 */
static long do_call(struct thread *t, int fd, enum kind fk, const struct fdslot *slot,
		    unsigned int gen, const struct call *c)
{
	bool stale, bad_ptr, wrong_kind;
	uint64_t allowed;
	long r;
	int e;

	t->cur = c->name;
	errno = 0;
	r = ioctl(fd, c->cmd, c->arg);
	e = errno;
	t->calls++;
	atomic_fetch_add(&calls, 1);

	pthread_mutex_lock(&pool_lock);
	stale = slot && slot->gen != gen;
	pthread_mutex_unlock(&pool_lock);
	if (stale) {
		atomic_fetch_add(&stale_calls, 1);
		if (r < 0 && e != EBADF && !errno_in(E_ANY_DOCUMENTED, e))
			report(t->seed, "%s on a %s fd closed meanwhile: errno %d (%s)", c->name,
			       kind_names[fk], e, strerror(e));
		errno = e;
		return r;
	}

	wrong_kind = fk != c->kind && !(c->cmd == VAPICVM_CHECK_EXTENSION && fk == K_VM);
	if (wrong_kind) {
		if (r != -1 || e != ENOTTY)
			report(t->seed, "%s on a %s fd: %ld errno %d (%s), expected ENOTTY",
			       c->name, kind_names[fk], r, e, strerror(e));
		errno = e;
		return r;
	}

	bad_ptr = (c->reads || c->writes) && c->pk != P_GOOD &&
		  !(c->pk == P_RDONLY && !c->writes && c->size <= RO_PAGES * PAGE);
	if (r >= 0) {
		if (c->must && !bad_ptr)
			report(t->seed, "%s on a %s fd returned %ld, expected errno %d (%s)",
			       c->name, kind_names[fk], r, c->must, strerror(c->must));
		else if (c->max_ret >= 0 && r > c->max_ret)
			report(t->seed, "%s returned %ld, above %ld", c->name, r, c->max_ret);
		errno = e;
		return r;
	}
	allowed = c->errs | EB(ENOMEM);
	if (bad_ptr)
		allowed |= EB(EFAULT);
	if (r != -1 || !errno_in(allowed, e)) {
		report(t->seed, "%s on a %s fd (pointer %s): %ld errno %d (%s) not documented",
		       c->name, kind_names[fk], ptr_names[c->pk], r, e, strerror(e));
	} else if (c->must && e != c->must && e != ENOMEM && !(bad_ptr && e == EFAULT)) {
		report(t->seed, "%s on a %s fd (pointer %s): errno %d (%s), expected %d (%s)",
		       c->name, kind_names[fk], ptr_names[c->pk], e, strerror(e), c->must,
		       strerror(c->must));
	}
	errno = e;
	return r;
}

/* ------------------------------------------------------------------ */
/* Picking descriptors                                                 */
/* ------------------------------------------------------------------ */

struct target {
	int fd;
	enum kind kind;
	struct fdslot *slot;
	unsigned int gen;
	int g, v;		/* group and vCPU slot, or -1 */
};

/* A random open descriptor of the kind asked for (any kind: NR_KINDS). */
static bool pick_fd(struct thread *t, enum kind want, struct target *tg)
{
	struct fdslot *cand[NR_SYS + NR_GROUPS * (GROUP_VCPUS + 1)];
	int cg[ARRAY_SIZE(cand)], cv[ARRAY_SIZE(cand)];
	enum kind ck[ARRAY_SIZE(cand)];
	int n = 0, i, j, k;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NR_SYS; i++) {
		if (sys_fds[i].fd >= 0 && (want == NR_KINDS || want == K_SYS)) {
			cand[n] = &sys_fds[i];
			cg[n] = cv[n] = -1;
			ck[n++] = K_SYS;
		}
	}
	for (i = 0; i < NR_GROUPS; i++) {
		if (groups[i].state != G_LIVE)
			continue;
		if (groups[i].vm.fd >= 0 && (want == NR_KINDS || want == K_VM)) {
			cand[n] = &groups[i].vm;
			cg[n] = i;
			cv[n] = -1;
			ck[n++] = K_VM;
		}
		for (j = 0; j < GROUP_VCPUS; j++) {
			if (groups[i].v[j].f.fd >= 0 && (want == NR_KINDS || want == K_VCPU)) {
				cand[n] = &groups[i].v[j].f;
				cg[n] = i;
				cv[n] = j;
				ck[n++] = K_VCPU;
			}
		}
	}
	if (!n) {
		pthread_mutex_unlock(&pool_lock);
		return false;
	}
	k = rnd_below(&t->rng, n);
	tg->slot = cand[k];
	tg->fd = cand[k]->fd;
	tg->gen = cand[k]->gen;
	tg->kind = ck[k];
	tg->g = cg[k];
	tg->v = cv[k];
	pthread_mutex_unlock(&pool_lock);
	return true;
}

/* ------------------------------------------------------------------ */
/* Pool changes                                                        */
/* ------------------------------------------------------------------ */

/* Caller holds pool_lock. */
static void close_slot(struct fdslot *s)
{
	if (s->fd < 0)
		return;
	s->gen++;
	close(s->fd);
	s->fd = -1;
	atomic_fetch_add(&calls, 1);
}

/* Caller holds pool_lock. */
static void unmap_run(struct vcpu_slot *v)
{
	if (!v->run)
		return;
	munmap(v->run, PAGE);
	v->run = NULL;
	v->run_gen++;
	atomic_fetch_add(&calls, 1);
}

/* A VM nothing refers to any more is removed from the pool. Caller holds pool_lock. */
static void group_reap(struct group *g)
{
	int j;

	if (g->state != G_LIVE || g->vm.fd >= 0)
		return;
	for (j = 0; j < GROUP_VCPUS; j++)
		if (g->v[j].f.fd >= 0 || g->v[j].run)
			return;
	if (g->mem)
		munmap(g->mem, g->lvm->mem_size);
	free(g->lvm);
	g->lvm = NULL;
	g->mem = NULL;
	g->state = G_EMPTY;
}

/* Point a vCPU at a guest (or at random code), in 64-bit mode. */
static void vcpu_aim(struct thread *t, struct group *g, int fd, uint32_t id, struct fdslot *slot,
		     unsigned int gen)
{
	unsigned int which = rnd_below(&t->rng, ARRAY_SIZE(guests));
	struct vapicvm_mp_state mp = { .mp_state = VAPICVM_MP_STATE_RUNNABLE };
	struct vapicvm_regs regs = { .rflags = 2 };
	struct call c = { .kind = K_VCPU, .max_ret = 0 };

	if (guests[which]) {
		regs.rip = (uint64_t)(uintptr_t)guests[which];
	} else {
		unsigned int i;

		regs.rip = GUEST_RANDOM_CODE(id) + rnd_below(&t->rng, 64);
		/* The memory goes when the VM leaves the pool: check under the lock. */
		pthread_mutex_lock(&pool_lock);
		if (g->mem && (!slot || slot->gen == gen)) {
			uint64_t *code = (uint64_t *)(g->mem + GUEST_RANDOM_CODE(id));

			for (i = 0; i < PAGE / 8; i++)
				code[i] = rnd(&t->rng);
		}
		pthread_mutex_unlock(&pool_lock);
	}
	regs.rsp = GUEST_STACKS + (id + 1) * GUEST_STACK_SIZE - 8;
	regs.rdi = rnd(&t->rng);

	c.name = "SET_SREGS (long mode)";
	c.cmd = VAPICVM_SET_SREGS;
	c.arg = (unsigned long)&long_mode_sregs;
	c.errs = EB(EINVAL);
	c.reads = true;
	c.size = sizeof(long_mode_sregs);
	do_call(t, fd, K_VCPU, slot, gen, &c);
	c.name = "SET_REGS (guest)";
	c.cmd = VAPICVM_SET_REGS;
	c.arg = (unsigned long)&regs;
	c.errs = 0;
	c.must = 0;
	c.size = sizeof(regs);
	do_call(t, fd, K_VCPU, slot, gen, &c);
	c.name = "SET_MP_STATE (runnable)";
	c.cmd = VAPICVM_SET_MP_STATE;
	c.arg = (unsigned long)&mp;
	c.errs = EB(EINVAL);
	c.size = sizeof(mp);
	do_call(t, fd, K_VCPU, slot, gen, &c);
}

/* APIC-virtualization masks, from none to everything the host has. */
static uint32_t pick_apicv(struct thread *t)
{
	static const uint32_t masks[] = {
		0,
		VAPICVM_APICV_TPR_SHADOW,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_REGISTER_VIRT,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
			VAPICVM_APICV_REGISTER_VIRT | VAPICVM_APICV_INTR_DELIVERY,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_X2APIC_VIRT,
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_X2APIC_VIRT,
	};
	uint32_t m = masks[rnd_below(&t->rng, ARRAY_SIZE(masks))];

	return one_in(&t->rng, 3) || (m & ~host_apicv) ? host_apicv : m;
}

/* Fill an empty group with a VM (guest memory and code, or bare) and vCPUs. */
static void group_create(struct thread *t)
{
	struct group *g = NULL;
	struct vm *lvm;
	bool bare = one_in(&t->rng, 4);
	int i, n;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NR_GROUPS && !g; i++)
		if (groups[i].state == G_EMPTY)
			g = &groups[i];
	if (g)
		g->state = G_BUSY;
	pthread_mutex_unlock(&pool_lock);
	if (!g)
		return;

	t->cur = "creating a VM";
	g->apicv = pick_apicv(t);
	if (bare)
		lvm = vm_create_bare(VAPICVM_VM_APICV_MASK, g->apicv);
	else
		lvm = vm_create_apicv(g->apicv);
	atomic_fetch_add(&vms_created, 1);
	atomic_fetch_add(&calls, 4);
	close(lvm->dev_fd);
	lvm->dev_fd = -1;
	if (!bare) {
		for (i = 32; i < 256; i++)
			vm_install_handler(lvm, i, guest_irq_handler);
	}
	n = 1 + rnd_below(&t->rng, GROUP_VCPUS);
	for (i = 0; i < GROUP_VCPUS; i++) {
		struct vcpu_slot *v = &g->v[i];

		v->f.fd = -1;
		v->run = NULL;
		if (i >= n)
			continue;
		/* id 0 is the BSP; others are APs, made runnable below. */
		v->id = i == 0 ? 0 : 1 + rnd_below(&t->rng, 254);
		v->f.fd = ioctl(lvm->fd, VAPICVM_CREATE_VCPU, (unsigned long)v->id);
		atomic_fetch_add(&calls, 1);
		if (v->f.fd < 0) {
			TEST_ASSERT(errno == EEXIST, "CREATE_VCPU %u", v->id);
			continue;
		}
		v->run = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->f.fd, 0);
		TEST_ASSERT(v->run != MAP_FAILED, "mmap run page");
		g->mem = bare ? NULL : lvm->mem;
		if (!bare)
			vcpu_aim(t, g, v->f.fd, v->id, NULL, 0);
	}
	pthread_mutex_lock(&pool_lock);
	g->lvm = lvm;
	g->mem = bare ? NULL : lvm->mem;
	g->vm.fd = lvm->fd;
	g->state = G_LIVE;
	pthread_mutex_unlock(&pool_lock);
}

/* What a descriptor is, for reports. */
static const char *fd_name(int fd)
{
	static __thread char name[64];
	char path[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, name, sizeof(name) - 1);
	name[n > 0 ? n : 0] = 0;
	return name;
}

/* Close something, unmap or map a run page, open /dev/vapicvm. */
static void op_lifecycle(struct thread *t)
{
	unsigned int what = rnd_below(&t->rng, 10);
	struct group *g = &groups[rnd_below(&t->rng, NR_GROUPS)];
	struct vcpu_slot *v = &g->v[rnd_below(&t->rng, GROUP_VCPUS)];
	int i;

	t->cur = "lifecycle";
	if (what <= 1) {
		group_create(t);
		return;
	}
	pthread_mutex_lock(&pool_lock);
	switch (what) {
	case 2:		/* close a VM fd */
		if (g->state == G_LIVE)
			close_slot(&g->vm);
		break;
	case 3:		/* close a vCPU fd */
		if (g->state == G_LIVE)
			close_slot(&v->f);
		break;
	case 4:		/* unmap a run page */
		if (g->state == G_LIVE)
			unmap_run(v);
		break;
	case 5:		/* map a run page again (maybe a second time) */
		if (g->state == G_LIVE && v->f.fd >= 0) {
			void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->f.fd, 0);

			atomic_fetch_add(&calls, 1);
			if (p == MAP_FAILED) {
				report(t->seed, "mmap of a vCPU fd failed: %s", strerror(errno));
			} else if (v->run) {
				munmap(v->run, PAGE);
				v->run_gen++;
				v->run = p;
			} else {
				v->run = p;
			}
		}
		break;
	case 6: {	/* mappings the API refuses */
		struct fdslot *s = one_in(&t->rng, 2) ? &sys_fds[0] : (g->state == G_LIVE ? &g->vm : NULL);
		void *p;
		int k = rnd_below(&t->rng, 3);

		if (g->state == G_LIVE && v->f.fd >= 0) {
			p = mmap(NULL, k == 0 ? PAGE : 2 * PAGE, PROT_READ | PROT_WRITE,
				 k == 1 ? MAP_PRIVATE : MAP_SHARED, v->f.fd, k == 2 ? PAGE : 0);
			atomic_fetch_add(&calls, 1);
			if (k == 0 && p != MAP_FAILED)
				munmap(p, PAGE);	/* a plain second mapping */
			else if (p != MAP_FAILED || errno != EINVAL)
				report(t->seed, "mmap of a vCPU fd %d (%s, case %d): %p errno %d",
				       v->f.fd, fd_name(v->f.fd), k, p, errno);
			if (k != 0 && p != MAP_FAILED)
				munmap(p, 2 * PAGE);
		}
		if (s && s->fd >= 0) {
			p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
			atomic_fetch_add(&calls, 1);
			if (p != MAP_FAILED) {
				report(t->seed, "mmap of a %s fd succeeded",
				       s == &sys_fds[0] ? "dev" : "vm");
				munmap(p, PAGE);
			}
		}
		break;
	}
	case 7:		/* close or open /dev/vapicvm */
		i = rnd_below(&t->rng, NR_SYS);
		if (sys_fds[i].fd >= 0) {
			close_slot(&sys_fds[i]);
		} else {
			sys_fds[i].fd = open(VAPICVM_DEV, O_RDWR | O_CLOEXEC);
			atomic_fetch_add(&calls, 1);
			if (sys_fds[i].fd < 0)
				report(t->seed, "open %s: %s", VAPICVM_DEV, strerror(errno));
		}
		break;
	default:	/* close everything of one VM at once, sometimes */
		if (g->state == G_LIVE && one_in(&t->rng, 4)) {
			close_slot(&g->vm);
			for (i = 0; i < GROUP_VCPUS; i++) {
				close_slot(&g->v[i].f);
				unmap_run(&g->v[i]);
			}
		}
		break;
	}
	for (i = 0; i < NR_GROUPS; i++)
		group_reap(&groups[i]);
	pthread_mutex_unlock(&pool_lock);
}

/* ------------------------------------------------------------------ */
/* System ioctls                                                       */
/* ------------------------------------------------------------------ */

static void op_sys(struct thread *t, struct target *tg)
{
	struct call c = { .kind = K_SYS, .max_ret = -1 };
	long r;

	switch (rnd_below(&t->rng, 6)) {
	case 0: {
		unsigned long arg = one_in(&t->rng, 2) ? 0 : rnd_value(&t->rng);

		c.name = "GET_API_VERSION";
		c.cmd = VAPICVM_GET_API_VERSION;
		c.arg = arg;
		c.errs = EB(EINVAL);
		c.must = arg ? EINVAL : 0;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!arg && tg->kind == K_SYS && r != VAPICVM_API_VERSION && r >= 0)
			report(t->seed, "GET_API_VERSION returned %ld", r);
		break;
	}
	case 1: {
		unsigned long arg = one_in(&t->rng, 2) ? 0 : rnd_value(&t->rng);

		c.name = "GET_VCPU_MMAP_SIZE";
		c.cmd = VAPICVM_GET_VCPU_MMAP_SIZE;
		c.arg = arg;
		c.errs = EB(EINVAL);
		c.must = arg ? EINVAL : 0;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!arg && tg->kind == K_SYS && r >= 0 && r != PAGE)
			report(t->seed, "GET_VCPU_MMAP_SIZE returned %ld", r);
		break;
	}
	case 2:
		c.name = "CHECK_EXTENSION";
		c.cmd = VAPICVM_CHECK_EXTENSION;
		c.arg = one_in(&t->rng, 2) ? rnd_below(&t->rng, 20) : rnd_value(&t->rng);
		c.max_ret = LONG_MAX;
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	case 3: {
		struct vapicvm_create_vm *p;

		c.pk = one_in(&t->rng, 2) ? P_GOOD : pick_ptrkind(t);
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			if (one_in(&t->rng, 2))
				p->flags = one_in(&t->rng, 2) ? VAPICVM_VM_APICV_MASK :
								  rnd_value(&t->rng);
			if (one_in(&t->rng, 2))
				p->apicv = one_in(&t->rng, 2) ? pick_apicv(t) : rnd_value(&t->rng);
			if (one_in(&t->rng, 8))
				p->reserved[rnd_below(&t->rng, 3)] = rnd_value(&t->rng);
			if ((p->flags & ~VAPICVM_VM_FLAGS_ALL) || p->reserved[0] ||
			    p->reserved[1] || p->reserved[2] ||
			    (!(p->flags & VAPICVM_VM_APICV_MASK) && p->apicv) ||
			    (p->apicv & ~VAPICVM_APICV_ALL))
				c.must = EINVAL;
		}
		c.name = "CREATE_VM";
		c.cmd = VAPICVM_CREATE_VM;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | E_OPNOTSUPP | EB(EBUSY) | EB(ENOSPC) | EB(EMFILE) |
			 EB(ENFILE);
		c.reads = true;
		c.size = sizeof(*p);
		c.max_ret = LONG_MAX;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (r >= 0) {
			/* A VM that is born and dies at once. */
			atomic_fetch_add(&vms_created, 1);
			close(r);
		}
		break;
	}
	default: {
		struct vapicvm_cpuid *p;

		c.pk = pick_ptrkind(t);
		p = arg_pointer(t, c.pk, sizeof(supported_cpuid));
		if (c.pk == P_GOOD) {
			p->nent = one_in(&t->rng, 2) ? VAPICVM_MAX_CPUID_ENTRIES :
						      rnd_below(&t->rng, 300);
			p->padding = one_in(&t->rng, 10) ? rnd(&t->rng) | 1 : 0;
			if (p->padding)
				c.must = p->nent < supported_cpuid.hdr.nent ? 0 : EINVAL;
			else if (p->nent < supported_cpuid.hdr.nent)
				c.must = E2BIG;
		}
		c.name = "GET_SUPPORTED_CPUID";
		c.cmd = VAPICVM_GET_SUPPORTED_CPUID;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(E2BIG);
		c.reads = c.writes = true;
		c.size = sizeof(supported_cpuid);
		c.max_ret = 0;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!r && c.pk == P_GOOD && tg->kind == K_SYS &&
		    (p->nent != supported_cpuid.hdr.nent ||
		     memcmp(p->entries, supported_cpuid.e, p->nent * sizeof(p->entries[0]))))
			report(t->seed, "GET_SUPPORTED_CPUID: a different table (%u entries)",
			       p->nent);
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* VM ioctls                                                           */
/* ------------------------------------------------------------------ */

static uint64_t rnd_page_aligned(struct thread *t, uint64_t limit)
{
	return (rnd(&t->rng) % (limit / PAGE)) * PAGE;
}

static void fill_memory_region(struct thread *t, struct vapicvm_userspace_memory_region *m,
			       struct group *g, struct call *c)
{
	uint64_t mem = (uint64_t)(uintptr_t)g->mem;
	uint64_t end;

	memset(m, 0, sizeof(*m));
	/* Mostly slot 0 (guest RAM): deleted, moved, made read-only, put back. */
	switch (rnd_below(&t->rng, 4)) {
	case 0:
	case 1:
		m->slot = 0;
		break;
	case 2:
		m->slot = rnd_below(&t->rng, 34);
		break;
	default:
		m->slot = rnd_value(&t->rng);
		break;
	}
	m->flags = one_in(&t->rng, 3) ? (one_in(&t->rng, 3) ? rnd_value(&t->rng) :
				  one_in(&t->rng, 2) ? VAPICVM_MEM_LOG_DIRTY_PAGES :
						       VAPICVM_MEM_READONLY) : 0;
	switch (rnd_below(&t->rng, 5)) {
	case 0:
		m->memory_size = 0;
		break;
	case 1:
		m->memory_size = mem ? VM_MEM_SIZE : PAGE;
		break;
	case 2:
		m->memory_size = PAGE * (1 + rnd_below(&t->rng, 64));
		break;
	case 3:
		m->memory_size = one_in(&t->rng, 2) ? 1ULL << 38 : (1ULL << 38) + PAGE;
		break;
	default:
		m->memory_size = rnd_value(&t->rng);
		break;
	}
	switch (rnd_below(&t->rng, 5)) {
	case 0:
		m->guest_phys_addr = 0;
		break;
	case 1:
		m->guest_phys_addr = rnd_page_aligned(t, 1ULL << 33);
		break;
	case 2:
		m->guest_phys_addr = (1ULL << 48) - m->memory_size + PAGE * rnd_below(&t->rng, 2);
		break;
	case 3:
		m->guest_phys_addr = 0xfee00000;
		break;
	default:
		m->guest_phys_addr = rnd_value(&t->rng);
		break;
	}
	switch (rnd_below(&t->rng, 8)) {
	case 0:
	case 1:
	case 2:
		m->userspace_addr = (uint64_t)(uintptr_t)(mem ? g->mem : scratch_area);
		break;
	case 3:
		m->userspace_addr = (uint64_t)(uintptr_t)(mem ? g->mem : scratch_area) +
				    PAGE * rnd_below(&t->rng, SCRATCH_PAGES);
		break;
	case 4:
		m->userspace_addr = (uint64_t)(uintptr_t)(one_in(&t->rng, 2) ? ro_area : none_area);
		break;
	case 5:
		m->userspace_addr = one_in(&t->rng, 2) ? 0xffff888000000000ULL : 0;
		break;
	case 6:
		m->userspace_addr = 0x00007ffffffff000ULL - m->memory_size +
				    PAGE * rnd_below(&t->rng, 2);
		break;
	default:
		m->userspace_addr = rnd_value(&t->rng);
		break;
	}
	if (one_in(&t->rng, 16))
		m->guest_phys_addr |= 1 + rnd_below(&t->rng, PAGE - 1);

	end = m->guest_phys_addr + m->memory_size;
	if ((m->flags & ~VAPICVM_MEM_FLAGS_ALL) || m->slot >= 32 ||
	    (m->guest_phys_addr | m->memory_size | m->userspace_addr) & (PAGE - 1) ||
	    m->memory_size > (1ULL << 38) || end < m->guest_phys_addr ||
	    (m->memory_size && (end - 1) >> 48))
		c->must = EINVAL;
	else if (m->memory_size &&
		 (m->userspace_addr + m->memory_size < m->userspace_addr ||
		  m->userspace_addr + m->memory_size > 0x00007ffffffff000ULL))
		c->must = EFAULT;
}

/* The VM's APIC features, if tg still names the VM fd it was picked as. */
static bool vm_apicv(const struct target *tg, uint32_t *apicv)
{
	bool current;

	if (tg->kind != K_VM)
		return false;
	pthread_mutex_lock(&pool_lock);
	current = tg->slot->gen == tg->gen && groups[tg->g].state == G_LIVE;
	*apicv = groups[tg->g].apicv;
	pthread_mutex_unlock(&pool_lock);
	return current;
}

/*
 * GET_STATS (vCPU) or GET_VM_STATS (VM): one struct vapicvm_stats, with n
 * random (often just around nr) and pad sometimes set; on success n must
 * come back as min(n, nr).
 */
static void fuzz_stats(struct thread *t, struct target *tg, struct call *c, const char *name,
		       unsigned long cmd, uint32_t nr, enum kind kind)
{
	struct vapicvm_stats *s;
	uint32_t n_in = 0;
	long r;

	c->pk = pick_ptrkind(t);
	s = arg_pointer(t, c->pk, sizeof(*s) + 8 * 64);
	if (c->pk == P_GOOD) {
		s->n = n_in = one_in(&t->rng, 2) ? rnd_below(&t->rng, nr + 12) : rnd_value(&t->rng);
		s->pad = one_in(&t->rng, 16) ? rnd(&t->rng) | 1 : 0;
		if (s->pad)
			c->must = EINVAL;
	}
	c->name = name;
	c->cmd = cmd;
	c->arg = (unsigned long)s;
	c->errs = EB(EINVAL);
	c->reads = c->writes = true;
	c->size = sizeof(*s) + 8 * nr;
	r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, c);
	if (!r && c->pk == P_GOOD && tg->kind == kind && s->n != (n_in < nr ? n_in : nr))
		report(t->seed, "%s: n %u for %u", name, s->n, n_in);
}

static void op_vm(struct thread *t, struct target *tg)
{
	struct call c = { .kind = K_VM, .max_ret = 0 };
	struct group *g = tg->g >= 0 ? &groups[tg->g] : NULL;
	uint32_t apicv;
	long r;

	switch (rnd_below(&t->rng, 16)) {
	case 15: {
		static uint8_t bits[VAPICVM_MSR_FILTER_MAX_BITS / 8];
		struct vapicvm_msr_filter *p;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			int n = rnd_below(&t->rng, 4);

			memset(p, 0, sizeof(*p));
			p->flags = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 2);
			for (int i = 0; i < n; i++) {
				struct vapicvm_msr_filter_range *r = &p->ranges[rnd_below(&t->rng, 16)];

				r->flags = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
								1 + rnd_below(&t->rng, 3);
				r->nmsrs = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
								rnd_below(&t->rng, 64);
				r->base = one_in(&t->rng, 2) ? 0xc0000080 + rnd_below(&t->rng, 0x100) :
							       rnd_below(&t->rng, 0x200);
				r->bitmap = one_in(&t->rng, 8) ? rnd_value(&t->rng) : (uintptr_t)bits;
				bits[rnd_below(&t->rng, sizeof(bits))] = rnd_value(&t->rng);
			}
			if ((p->flags & ~VAPICVM_MSR_FILTER_DEFAULT_DENY) || p->pad)
				c.must = EINVAL;
		}
		c.name = "SET_MSR_FILTER";
		c.cmd = VAPICVM_SET_MSR_FILTER;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(EFAULT) | EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 14: {
		/* Room for the largest slot's bitmap (2^26 pages), mapped lazily. */
		static void *bitmap;
		struct vapicvm_dirty_log *p;

		if (!bitmap) {
			bitmap = mmap(NULL, (1 << 26) / 8, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (bitmap == MAP_FAILED) {
				bitmap = NULL;
				break;
			}
		}
		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			p->slot = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 4);
			p->dirty_bitmap = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
					  (uintptr_t)bitmap;
			if (one_in(&t->rng, 16))
				p->pad = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 2)] = rnd_value(&t->rng);
			if (p->pad || p->reserved[0] || p->reserved[1] || p->slot >= 32)
				c.must = EINVAL;
		}
		c.name = "GET_DIRTY_LOG";
		c.cmd = VAPICVM_GET_DIRTY_LOG;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(ENOENT) | EB(EFAULT) | EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 12: {
		struct vapicvm_gsi_route *p;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			p->gsi = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 8);
			p->flags = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 2);
			if (p->flags) {
				p->msi.address_lo = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
						    0xfee00000 | rnd_below(&t->rng, 4) << 12;
				p->msi.data = one_in(&t->rng, 4) ? rnd_value(&t->rng) :
					      0x40 + rnd_below(&t->rng, 0x40);
			}
			if (one_in(&t->rng, 16))
				p->msi.address_hi = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 2)] = rnd_value(&t->rng);
			if ((p->flags & ~VAPICVM_GSI_ROUTE_FLAGS_ALL) || p->gsi >= 1024 ||
			    p->reserved[0] || p->reserved[1] || p->msi.address_hi ||
			    (p->flags && (p->msi.address_lo & 0xfff00000) != 0xfee00000) ||
			    (!p->flags && (p->msi.address_lo || p->msi.data)))
				c.must = EINVAL;
		}
		c.name = "SET_GSI_ROUTE";
		c.cmd = VAPICVM_SET_GSI_ROUTE;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 13: {
		struct vapicvm_irqfd *p;
		int efd = -1;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			efd = eventfd(0, EFD_CLOEXEC);
			p->fd = one_in(&t->rng, 8) ? (int)rnd_value(&t->rng) : efd;
			p->gsi = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 8);
			p->flags = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 2);
			if (one_in(&t->rng, 16))
				p->pad = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 2)] = rnd_value(&t->rng);
			if ((p->flags & ~VAPICVM_IRQFD_FLAGS_ALL) || p->pad || p->gsi >= 1024 ||
			    p->reserved[0] || p->reserved[1])
				c.must = EINVAL;
		}
		c.name = "IRQFD";
		c.cmd = VAPICVM_IRQFD;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(EBADF) | EB(EBUSY) | EB(ENOENT) | EB(ENOSPC) | EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (efd >= 0) {
			uint64_t one = 1;

			/* Signal it (a delivery, if it was assigned), then close it. */
			if (write(efd, &one, sizeof(one)) != sizeof(one))
				report(t->seed, "eventfd write failed");
			close(efd);
		}
		break;
	}
	case 10: {
		struct vapicvm_enable_cap *p;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			static const uint32_t caps[] = { VAPICVM_CAP_IOAPIC_EOI,
							 VAPICVM_CAP_USER_MSR,
							 VAPICVM_CAP_EXIT_HYPERCALL };
			uint64_t max;

			p->cap = one_in(&t->rng, 4) ? rnd_value(&t->rng) :
				 caps[rnd_below(&t->rng, ARRAY_SIZE(caps))];
			p->args[0] = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 4);
			if (one_in(&t->rng, 16))
				p->args[1 + rnd_below(&t->rng, 3)] = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->flags = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 4)] = rnd_value(&t->rng);
			max = p->cap == VAPICVM_CAP_USER_MSR ? VAPICVM_MSR_EXIT_ALL : 1;
			if ((p->cap != VAPICVM_CAP_IOAPIC_EOI && p->cap != VAPICVM_CAP_USER_MSR &&
			     p->cap != VAPICVM_CAP_EXIT_HYPERCALL) ||
			    p->flags || p->args[0] > max ||
			    p->args[1] || p->args[2] || p->args[3] || p->reserved[0] ||
			    p->reserved[1] || p->reserved[2] || p->reserved[3])
				c.must = EINVAL;
		}
		c.name = "ENABLE_CAP";
		c.cmd = VAPICVM_ENABLE_CAP;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 11: {
		struct vapicvm_ioeventfd *p;
		int efd = -1;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			efd = eventfd(0, EFD_CLOEXEC);
			p->fd = one_in(&t->rng, 8) ? (int)rnd_value(&t->rng) : efd;
			p->flags = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 8);
			p->len = one_in(&t->rng, 4) ? rnd_below(&t->rng, 10) : 4;
			p->addr = one_in(&t->rng, 2) ? rnd_below(&t->rng, 0x10010) :
				  0xc0000000ULL + rnd_below(&t->rng, 0x2000);
			p->datamatch = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->pad = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 2)] = rnd_value(&t->rng);
			if ((p->flags & ~VAPICVM_IOEVENTFD_FLAGS_ALL) || p->pad ||
			    p->reserved[0] || p->reserved[1])
				c.must = EINVAL;
		}
		c.name = "IOEVENTFD";
		c.cmd = VAPICVM_IOEVENTFD;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(EBADF) | EB(EEXIST) | EB(ENOENT) | EB(ENOSPC) |
			 EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*p);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (efd >= 0)
			close(efd);	/* the VM keeps its own reference */
		break;
	}
	case 0:
		c.name = "CHECK_EXTENSION";
		c.kind = K_SYS;
		c.cmd = VAPICVM_CHECK_EXTENSION;
		c.arg = one_in(&t->rng, 2) ? rnd_below(&t->rng, 20) : rnd_value(&t->rng);
		c.max_ret = LONG_MAX;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (c.arg == VAPICVM_CAP_APICV && r >= 0 && vm_apicv(tg, &apicv) && r != apicv)
			report(t->seed, "CAP_APICV on a VM fd is %#lx, the VM has %#x", r, apicv);
		break;
	case 1:
	case 2:
	case 3: {
		struct vapicvm_userspace_memory_region *m;
		struct vapicvm_userspace_memory_region local;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		m = arg_pointer(t, c.pk, sizeof(*m));
		if (c.pk == P_GOOD && g) {
			/* g->mem is stable while the group is live and we hold its fd. */
			pthread_mutex_lock(&pool_lock);
			fill_memory_region(t, &local, g, &c);
			pthread_mutex_unlock(&pool_lock);
			*m = local;
		} else if (c.pk == P_GOOD) {
			memset(m, 0, sizeof(*m));
			m->slot = 40;
			c.must = EINVAL;
		}
		c.name = "SET_USER_MEMORY_REGION";
		c.cmd = VAPICVM_SET_USER_MEMORY_REGION;
		c.arg = (unsigned long)m;
		c.errs = EB(EINVAL) | EB(EFAULT) | EB(EEXIST) | EB(ENOMEM);
		c.reads = true;
		c.size = sizeof(*m);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 4: {
		unsigned long id;

		switch (rnd_below(&t->rng, 3)) {
		case 0:
			id = rnd_below(&t->rng, 8);
			break;
		case 1:
			id = 250 + rnd_below(&t->rng, 10);
			break;
		default:
			id = rnd_value(&t->rng);
			break;
		}
		c.name = "CREATE_VCPU";
		c.cmd = VAPICVM_CREATE_VCPU;
		c.arg = id;
		c.errs = EB(EINVAL) | EB(EEXIST) | EB(EMFILE) | EB(ENFILE);
		c.must = id >= 255 ? EINVAL : 0;
		c.max_ret = LONG_MAX;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (r >= 0) {
			int j, placed = 0;

			pthread_mutex_lock(&pool_lock);
			if (g && g->state == G_LIVE && g->vm.gen == tg->gen) {
				for (j = 0; j < GROUP_VCPUS && !placed; j++) {
					struct vcpu_slot *v = &g->v[j];

					if (v->f.fd >= 0 || v->run)
						continue;
					v->f.fd = r;
					v->id = id;
					placed = 1;
				}
			}
			if (!placed)
				close(r);
			pthread_mutex_unlock(&pool_lock);
		}
		break;
	}
	case 5: {
		struct vapicvm_apicv_info *p;

		c.pk = pick_ptrkind(t);
		p = arg_pointer(t, c.pk, sizeof(*p));
		c.name = "GET_APICV";
		c.cmd = VAPICVM_GET_APICV;
		c.arg = (unsigned long)p;
		c.writes = true;
		c.size = sizeof(*p);
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!r && c.pk == P_GOOD && tg->kind == K_VM &&
		    (p->supported != host_apicv || p->pad || p->reserved[0] || p->reserved[1] ||
		     p->reserved[2] || p->reserved[3] ||
		     (vm_apicv(tg, &apicv) && p->enabled != apicv)))
			report(t->seed, "GET_APICV: supported %#x enabled %#x pad %#x", p->supported,
			       p->enabled, p->pad);
		break;
	}
	case 6:
		fuzz_stats(t, tg, &c, "GET_VM_STATS", VAPICVM_GET_VM_STATS, VAPICVM_VM_STAT_NR, K_VM);
		break;
	default: {
		struct vapicvm_msi *p;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		p = arg_pointer(t, c.pk, sizeof(*p));
		if (c.pk == P_GOOD) {
			memset(p, 0, sizeof(*p));
			p->address_lo = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
				0xfee00000 | (rnd_below(&t->rng, 256) << 12) |
				(rnd_below(&t->rng, 16) << 2) | (one_in(&t->rng, 4) ? 0xff000 : 0);
			if (one_in(&t->rng, 16))
				p->address_hi = rnd_value(&t->rng);
			p->data = one_in(&t->rng, 4) ? rnd(&t->rng) :
				  (rnd_below(&t->rng, 8) << 8) | rnd_below(&t->rng, 256) |
				  (one_in(&t->rng, 4) ? 0x8000 : 0);
			if (one_in(&t->rng, 16))
				p->flags = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				p->reserved[rnd_below(&t->rng, 2)] = rnd_value(&t->rng);
			if (p->flags || p->reserved[0] || p->reserved[1] || p->address_hi ||
			    (p->address_lo & 0xfff00000) != 0xfee00000)
				c.must = EINVAL;
		}
		c.name = "SIGNAL_MSI";
		c.cmd = VAPICVM_SIGNAL_MSI;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*p);
		c.max_ret = 64;	/* VAPICVM_CAP_MAX_VCPUS */
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* vCPU ioctls                                                         */
/* ------------------------------------------------------------------ */

/*
 * The emulator the bench runs (Bochs 3.0) stops with a panic when a guest
 * fetches an instruction from the APIC-access page, where the SDM has an
 * APIC-access VM exit.  So the fuzzer never points RIP into the xAPIC page
 * and never moves an APIC base (bits 12-39), which moves that page; the
 * other bits of IA32_APIC_BASE, valid or not, are fuzzed.
 */
#define APIC_BASE_ADDR_BITS	0x000000fffffff000ULL

static uint64_t keep_apic_page(uint64_t apic_base)
{
	return (apic_base & ~APIC_BASE_ADDR_BITS) | 0xfee00000;
}

static uint64_t keep_rip_off_apic_page(uint64_t rip)
{
	return (rip & ~0xfffULL) == 0xfee00000 ? rip ^ 0x100000 : rip;
}

static const uint32_t msr_indexes[] = {
	0x10, 0x1b, 0x3a, 0x3b, 0x8b, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x1a0, 0x1d9,
	0x277, 0x6e0,
	0x802, 0x803, 0x808, 0x80a, 0x80b, 0x80d, 0x80f, 0x810, 0x820, 0x828, 0x830,
	0x832, 0x835, 0x836, 0x838, 0x839, 0x83e, 0x83f, 0x8ff,
	0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
	0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103, 0x48, 0x480, 0x9b, 0x1b0,
};

static void fill_msrs(struct thread *t, struct vapicvm_msrs *m, struct call *c, bool set)
{
	uint32_t i, n;

	switch (rnd_below(&t->rng, 6)) {
	case 0:
		m->nmsrs = 0;
		break;
	case 1:
		m->nmsrs = 255 + rnd_below(&t->rng, 3);
		break;
	case 2:
		m->nmsrs = rnd_value(&t->rng);
		break;
	default:
		m->nmsrs = 1 + rnd_below(&t->rng, 8);
		break;
	}
	m->pad = one_in(&t->rng, 16) ? rnd(&t->rng) | 1 : 0;
	n = m->nmsrs < VAPICVM_MAX_MSR_ENTRIES ? m->nmsrs : VAPICVM_MAX_MSR_ENTRIES;
	for (i = 0; i < n; i++) {
		struct vapicvm_msr_entry *e = &m->entries[i];

		e->index = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
			   msr_indexes[rnd_below(&t->rng, ARRAY_SIZE(msr_indexes))];
		e->reserved = one_in(&t->rng, 64) ? rnd(&t->rng) | 1 : 0;
		e->data = rnd_value(&t->rng);
		/* Writes stop at the first refused entry: keep most of them sane. */
		if (set && e->index == 0x1b && !one_in(&t->rng, 4))
			e->data = 0xfee00900 | (one_in(&t->rng, 3) ? 0x400 : 0);
		if (set && e->index == 0x1b)
			e->data = keep_apic_page(e->data);
	}
	/* With both a bad pad and too many entries, the order is not documented. */
	if (m->pad) {
		c->must = m->nmsrs > VAPICVM_MAX_MSR_ENTRIES ? 0 : EINVAL;
	} else if (m->nmsrs > VAPICVM_MAX_MSR_ENTRIES) {
		c->must = E2BIG;
	} else {
		for (i = 0; i < n; i++)
			if (m->entries[i].reserved)
				c->must = EINVAL;
	}
	c->max_ret = m->nmsrs;
}

static void perturb(struct thread *t, void *p, size_t size, unsigned int flips)
{
	uint8_t *b = p;

	while (flips--) {
		size_t at = rnd_below(&t->rng, size);

		if (one_in(&t->rng, 2))
			b[at] ^= 1 << rnd_below(&t->rng, 8);
		else
			b[at] = rnd(&t->rng);
	}
}

/* Arm the thread's timer: RUN returns EINTR within a few ms at most. */
static void run_timer(struct thread *t, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_nsec = 1000000;
		its.it_interval.tv_nsec = 1000000;
	}
	timer_settime(t->timer, 0, &its, NULL);
}

static void op_run(struct thread *t, struct target *tg)
{
	struct call c = { .kind = K_VCPU, .max_ret = 0 };
	struct vcpu_slot *v = tg->kind == K_VCPU ? &groups[tg->g].v[tg->v] : NULL;
	struct vapicvm_run *run = NULL;
	unsigned int run_gen = 0;
	long r;

	c.name = "RUN";
	c.cmd = VAPICVM_RUN;
	c.arg = one_in(&t->rng, 32) ? rnd_value(&t->rng) : 0;
	c.must = c.arg ? EINVAL : 0;
	c.errs = EB(EINVAL) | EB(EINTR) | EB(EFAULT) | EB(ENOMEM);

	if (v) {
		pthread_mutex_lock(&pool_lock);
		run = v->run;
		run_gen = v->run_gen;
		if (run) {
			run->immediate_exit = one_in(&t->rng, 16);
			/* Serve a pending IN or MMIO read with whatever. */
			if (one_in(&t->rng, 2)) {
				uint64_t x = rnd(&t->rng);

				memcpy((uint8_t *)run + VAPICVM_RUN_IO_DATA_OFFSET, &x, 8);
				memcpy(run->mmio.data, &x, 8);
			}
		}
		pthread_mutex_unlock(&pool_lock);
	}
	atomic_fetch_add(&runs, 1);
	run_timer(t, true);
	r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
	run_timer(t, false);
	if (!v)
		return;
	pthread_mutex_lock(&pool_lock);
	if (run && v->run == run && v->run_gen == run_gen) {
		uint32_t reason = run->exit_reason;

		if (reason > VAPICVM_EXIT_DEBUG)	/* the highest this version has */
			report(t->seed, "RUN: exit reason %u", reason);
		else if (r == 0 || errno == EINTR)
			atomic_fetch_add(&run_exits[reason], 1);
		/*
		 * Userspace cannot make the module's own VMCS fields invalid:
		 * a VMfail is the module's bug (bad guest state is FAIL_ENTRY).
		 */
		if (r == 0 && reason == VAPICVM_EXIT_INTERNAL_ERROR &&
		    run->internal.suberror == VAPICVM_INTERNAL_ERROR_VMX)
			report(t->seed, "RUN: VMLAUNCH/VMRESUME failed, VM-instruction error %llu",
			       (unsigned long long)run->internal.data[0]);
	}
	pthread_mutex_unlock(&pool_lock);
}

/* The kernel zeroes the reserved and padding fields of what it fills in. */
static void check_output(struct thread *t, unsigned long cmd, const void *p)
{
	if (cmd == VAPICVM_GET_MP_STATE) {
		const struct vapicvm_mp_state *mp = p;

		if (mp->mp_state > VAPICVM_MP_STATE_HALTED || mp->pad)
			report(t->seed, "GET_MP_STATE: %u pad %u", mp->mp_state, mp->pad);
	} else if (cmd == VAPICVM_GET_SREGS) {
		const struct vapicvm_sregs *s = p;
		const struct vapicvm_segment *seg = &s->cs;
		int i;

		for (i = 0; i < 8; i++)
			if (seg[i].padding)
				report(t->seed, "GET_SREGS: segment %d padding %u", i, seg[i].padding);
		if (s->gdt.padding[0] | s->gdt.padding[1] | s->gdt.padding[2] |
		    s->idt.padding[0] | s->idt.padding[1] | s->idt.padding[2] |
		    s->reserved[0] | s->reserved[1] | s->reserved[2] | s->reserved[3])
			report(t->seed, "GET_SREGS: non-zero padding or reserved words");
		if (s->cr8 > 15)
			report(t->seed, "GET_SREGS: cr8 %llu", (unsigned long long)s->cr8);
	} else if (cmd == VAPICVM_GET_LAPIC) {
		const struct vapicvm_lapic_state *l = p;

		if (l->flags || l->pad || l->reserved[0] || l->reserved[1] || l->reserved[2] ||
		    l->reserved[3])
			report(t->seed, "GET_LAPIC: non-zero flags, pad or reserved words");
	}
}

static void op_vcpu(struct thread *t, struct target *tg)
{
	struct call c = { .kind = K_VCPU, .max_ret = 0 };
	uint8_t *b;
	long r;

	switch (rnd_below(&t->rng, 21)) {
	case 0:
	case 1:
		op_run(t, tg);
		return;
	case 19: {
		/*
		 * The VMM's debugging: valid flags most of the time, with its
		 * breakpoints anywhere (the CPU loads them for the guest).
		 */
		struct vapicvm_guest_debug *d;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		d = arg_pointer(t, c.pk, sizeof(*d));
		if (c.pk == P_GOOD) {
			memset(d, 0, sizeof(*d));
			d->control = one_in(&t->rng, 8) ? rnd_value(&t->rng) :
				     (uint32_t)rnd_below(&t->rng, VAPICVM_GUESTDBG_FLAGS_ALL + 1);
			if (d->control & VAPICVM_GUESTDBG_USE_HW_BP) {
				for (int i = 0; i < 4; i++)
					d->debugreg[i] = rnd_value(&t->rng);
				d->debugreg[7] = rnd_value(&t->rng) & 0xffff23ffULL;
			}
			if (one_in(&t->rng, 8))
				((uint8_t *)d)[rnd_below(&t->rng, sizeof(*d))] = rnd_value(&t->rng);
		}
		c.name = "SET_GUEST_DEBUG";
		c.cmd = VAPICVM_SET_GUEST_DEBUG;
		c.arg = (unsigned long)d;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*d);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 20: {
		struct vapicvm_translation *tr;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		tr = arg_pointer(t, c.pk, sizeof(*tr));
		if (c.pk == P_GOOD) {
			memset(tr, 0xa5, sizeof(*tr));
			tr->linear_address = one_in(&t->rng, 2) ? rnd_value(&t->rng) :
					     (uint32_t)rnd_value(&t->rng);
		}
		c.name = "TRANSLATE";
		c.cmd = VAPICVM_TRANSLATE;
		c.arg = (unsigned long)tr;
		c.reads = true;
		c.writes = true;
		c.size = sizeof(*tr);
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!r && c.pk == P_GOOD &&
		    (tr->valid > 1 || tr->writeable > 1 || tr->usermode > 1 ||
		     (!tr->valid && (tr->physical_address || tr->writeable || tr->usermode)) ||
		     tr->pad[0] | tr->pad[1] | tr->pad[2] | tr->pad[3] | tr->pad[4]))
			report(t->seed, "TRANSLATE: inconsistent output for %#llx",
			       (unsigned long long)tr->linear_address);
		break;
	}
	case 18: {
		/* A state read back and changed a little, or noise; then RUN sees it. */
		struct vapicvm_vcpu_events *ev;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		ev = arg_pointer(t, c.pk, sizeof(*ev));
		if (c.pk == P_GOOD) {
			uint8_t *bytes = (uint8_t *)ev;

			if (ioctl(tg->fd, VAPICVM_GET_VCPU_EVENTS, ev))
				memset(ev, 0, sizeof(*ev));
			for (int i = rnd_below(&t->rng, 3); i > 0; i--)
				bytes[rnd_below(&t->rng, sizeof(*ev))] = one_in(&t->rng, 2) ?
					rnd_below(&t->rng, 4) : rnd_value(&t->rng);
			if (ev->flags || ev->reserved[0] || ev->reserved[1] || ev->reserved[2] ||
			    ev->reserved[3] || ev->nmi_pending > 2)
				c.must = EINVAL;
		}
		c.name = "SET_VCPU_EVENTS";
		c.cmd = VAPICVM_SET_VCPU_EVENTS;
		c.arg = (unsigned long)ev;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*ev);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 2: {
		static const struct { unsigned long cmd; const char *name; size_t size; } gets[] = {
			{ VAPICVM_GET_REGS, "GET_REGS", sizeof(struct vapicvm_regs) },
			{ VAPICVM_GET_SREGS, "GET_SREGS", sizeof(struct vapicvm_sregs) },
			{ VAPICVM_GET_XSAVE, "GET_XSAVE", sizeof(struct vapicvm_xsave) },
			{ VAPICVM_GET_LAPIC, "GET_LAPIC", sizeof(struct vapicvm_lapic_state) },
			{ VAPICVM_GET_MP_STATE, "GET_MP_STATE", sizeof(struct vapicvm_mp_state) },
			{ VAPICVM_GET_VCPU_EVENTS, "GET_VCPU_EVENTS",
			  sizeof(struct vapicvm_vcpu_events) },
		};
		unsigned int k = rnd_below(&t->rng, ARRAY_SIZE(gets));

		c.pk = pick_ptrkind(t);
		c.name = gets[k].name;
		c.cmd = gets[k].cmd;
		c.size = gets[k].size;
		c.arg = (unsigned long)arg_pointer(t, c.pk, c.size);
		c.writes = true;
		r = do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		if (!r && c.pk == P_GOOD)
			check_output(t, c.cmd, (void *)c.arg);
		break;
	}
	case 3: {
		struct vapicvm_regs *regs;

		c.pk = pick_ptrkind(t);
		regs = arg_pointer(t, c.pk, sizeof(*regs));
		if (c.pk == P_GOOD) {
			if (one_in(&t->rng, 2)) {
				uint64_t *w = (uint64_t *)regs;
				unsigned int i;

				for (i = 0; i < sizeof(*regs) / 8; i++)
					w[i] = rnd_value(&t->rng);
			} else {
				memset(regs, 0, sizeof(*regs));
				regs->rip = (uint64_t)(uintptr_t)guest_mix;
				regs->rsp = GUEST_STACKS + GUEST_STACK_SIZE - 8;
				regs->rflags = 2;
				perturb(t, regs, sizeof(*regs), rnd_below(&t->rng, 3));
			}
			regs->rip = keep_rip_off_apic_page(regs->rip);
		}
		c.name = "SET_REGS";
		c.cmd = VAPICVM_SET_REGS;
		c.arg = (unsigned long)regs;
		c.reads = true;
		c.size = sizeof(*regs);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 4: {
		struct vapicvm_sregs *s;

		c.pk = pick_ptrkind(t);
		s = arg_pointer(t, c.pk, sizeof(*s));
		if (c.pk == P_GOOD) {
			*s = long_mode_sregs;
			if (one_in(&t->rng, 4))
				perturb(t, s, sizeof(*s), 1 + rnd_below(&t->rng, 64));
			else
				perturb(t, s, offsetof(struct vapicvm_sregs, reserved),
					rnd_below(&t->rng, 3));
			s->apic_base = keep_apic_page(s->apic_base);
			if (s->reserved[0] || s->reserved[1] || s->reserved[2] || s->reserved[3] ||
			    s->cr8 > 15 || (s->efer & ~0xd01ULL) || (s->cr0 >> 32))
				c.must = EINVAL;
		}
		c.name = "SET_SREGS";
		c.cmd = VAPICVM_SET_SREGS;
		c.arg = (unsigned long)s;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*s);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 5:
	case 6: {
		bool set = one_in(&t->rng, 2);
		struct vapicvm_msrs *m;

		c.pk = pick_ptrkind(t);
		m = arg_pointer(t, c.pk, sizeof(*m) + 8 * sizeof(struct vapicvm_msr_entry));
		c.max_ret = VAPICVM_MAX_MSR_ENTRIES;
		if (c.pk == P_GOOD)
			fill_msrs(t, m, &c, set);
		c.name = set ? "SET_MSRS" : "GET_MSRS";
		c.cmd = set ? VAPICVM_SET_MSRS : VAPICVM_GET_MSRS;
		c.arg = (unsigned long)m;
		c.errs = EB(EINVAL) | EB(E2BIG);
		c.reads = true;
		c.writes = !set;
		c.size = sizeof(*m) + VAPICVM_MAX_MSR_ENTRIES * sizeof(struct vapicvm_msr_entry);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 7: {
		struct vapicvm_cpuid *p;
		uint32_t i;

		c.pk = pick_ptrkind(t);
		p = arg_pointer(t, c.pk, sizeof(supported_cpuid));
		if (c.pk == P_GOOD) {
			memcpy(p, &supported_cpuid, sizeof(supported_cpuid));
			switch (rnd_below(&t->rng, 4)) {
			case 0:
				p->nent = rnd_value(&t->rng);
				break;
			case 1:
				p->nent = 255 + rnd_below(&t->rng, 3);
				break;
			default:
				break;
			}
			if (one_in(&t->rng, 2)) {
				uint32_t n = p->nent < 256 ? p->nent : 256;

				if (n)
					perturb(t, p->entries, n * sizeof(p->entries[0]),
						1 + rnd_below(&t->rng, 16));
			}
			if (one_in(&t->rng, 16))
				p->padding = rnd(&t->rng) | 1;
			if (p->padding) {
				c.must = p->nent > VAPICVM_MAX_CPUID_ENTRIES ? 0 : EINVAL;
			} else if (p->nent > VAPICVM_MAX_CPUID_ENTRIES) {
				c.must = E2BIG;
			} else {
				for (i = 0; i < p->nent; i++) {
					struct vapicvm_cpuid_entry *e = &p->entries[i];

					if ((e->flags & ~VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) ||
					    e->padding[0] || e->padding[1] || e->padding[2])
						c.must = EINVAL;
				}
			}
		}
		c.name = "SET_CPUID";
		c.cmd = VAPICVM_SET_CPUID;
		c.arg = (unsigned long)p;
		c.errs = EB(EINVAL) | EB(E2BIG);
		c.reads = true;
		c.size = sizeof(supported_cpuid);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 8:
	case 9: {
		bool xsave = one_in(&t->rng, 2);
		size_t size = xsave ? sizeof(struct vapicvm_xsave) :
				      sizeof(struct vapicvm_lapic_state);

		/* A state read back, then perturbed, or junk. */
		c.pk = pick_ptrkind(t);
		b = arg_pointer(t, c.pk, size);
		if (c.pk == P_GOOD) {
			struct call g = {
				.name = xsave ? "GET_XSAVE" : "GET_LAPIC", .kind = K_VCPU,
				.cmd = xsave ? VAPICVM_GET_XSAVE : VAPICVM_GET_LAPIC,
				.arg = (unsigned long)b, .writes = true, .size = size,
			};

			if (do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &g))
				memset(b, 0, size);
			if (one_in(&t->rng, 8)) {
				unsigned int i;

				for (i = 0; i < size; i++)
					b[i] = rnd(&t->rng);
			} else {
				perturb(t, b, xsave ? 1024 : VAPICVM_APIC_REG_SIZE + 32,
					rnd_below(&t->rng, 8));
			}
			if (!xsave) {
				struct vapicvm_lapic_state *s = (void *)b;

				s->apic_base = keep_apic_page(s->apic_base);
				if (one_in(&t->rng, 16))
					s->reserved[rnd_below(&t->rng, 4)] = rnd(&t->rng) | 1;
				if (one_in(&t->rng, 16))
					s->flags = rnd(&t->rng) | 1;
				if (s->flags || s->pad || s->reserved[0] || s->reserved[1] ||
				    s->reserved[2] || s->reserved[3])
					c.must = EINVAL;
			}
		}
		c.name = xsave ? "SET_XSAVE" : "SET_LAPIC";
		c.cmd = xsave ? VAPICVM_SET_XSAVE : VAPICVM_SET_LAPIC;
		c.arg = (unsigned long)b;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = size;
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 10:
	case 11: {
		struct vapicvm_interrupt *irq;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		irq = arg_pointer(t, c.pk, sizeof(*irq));
		if (c.pk == P_GOOD) {
			memset(irq, 0, sizeof(*irq));
			irq->pin = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 2);
			irq->vector = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 256);
			if (one_in(&t->rng, 16))
				irq->flags = rnd_value(&t->rng);
			if (one_in(&t->rng, 16))
				irq->pad = rnd_value(&t->rng);
			if (irq->flags || irq->pad || irq->pin > 1 || irq->vector > 255)
				c.must = EINVAL;
		}
		c.name = "INTERRUPT";
		c.cmd = VAPICVM_INTERRUPT;
		c.arg = (unsigned long)irq;
		c.errs = EB(EINVAL) | EB(EAGAIN) | EB(EBUSY);
		c.reads = true;
		c.size = sizeof(*irq);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 12: {
		struct vapicvm_mp_state *mp;

		c.pk = one_in(&t->rng, 4) ? pick_ptrkind(t) : P_GOOD;
		mp = arg_pointer(t, c.pk, sizeof(*mp));
		if (c.pk == P_GOOD) {
			mp->mp_state = one_in(&t->rng, 8) ? rnd_value(&t->rng) : rnd_below(&t->rng, 5);
			mp->pad = one_in(&t->rng, 16) ? rnd(&t->rng) | 1 : 0;
			if (mp->pad || mp->mp_state > VAPICVM_MP_STATE_HALTED)
				c.must = EINVAL;
		}
		c.name = "SET_MP_STATE";
		c.cmd = VAPICVM_SET_MP_STATE;
		c.arg = (unsigned long)mp;
		c.errs = EB(EINVAL);
		c.reads = true;
		c.size = sizeof(*mp);
		do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
		break;
	}
	case 13:
		fuzz_stats(t, tg, &c, "GET_STATS", VAPICVM_GET_STATS, VAPICVM_STAT_NR, K_VCPU);
		break;
	case 14: {	/* aim the vCPU at a guest again */
		struct group *g = tg->g >= 0 ? &groups[tg->g] : NULL;
		struct vcpu_slot *v = g && tg->v >= 0 ? &g->v[tg->v] : NULL;
		bool has_mem;

		pthread_mutex_lock(&pool_lock);
		has_mem = g && g->state == G_LIVE && g->mem && v && v->f.gen == tg->gen;
		pthread_mutex_unlock(&pool_lock);
		if (has_mem && tg->kind == K_VCPU)
			vcpu_aim(t, g, tg->fd, v->id, tg->slot, tg->gen);
		break;
	}
	default:
		op_run(t, tg);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Numbers that are no ioctl                                           */
/* ------------------------------------------------------------------ */

static const unsigned long known_ioctls[] = {
	VAPICVM_GET_API_VERSION, VAPICVM_CHECK_EXTENSION, VAPICVM_CREATE_VM,
	VAPICVM_GET_VCPU_MMAP_SIZE, VAPICVM_GET_SUPPORTED_CPUID,
	VAPICVM_SET_USER_MEMORY_REGION, VAPICVM_CREATE_VCPU, VAPICVM_GET_APICV,
	VAPICVM_SIGNAL_MSI, VAPICVM_RUN, VAPICVM_GET_REGS, VAPICVM_SET_REGS,
	VAPICVM_GET_SREGS, VAPICVM_SET_SREGS, VAPICVM_GET_MSRS, VAPICVM_SET_MSRS,
	VAPICVM_SET_CPUID, VAPICVM_GET_XSAVE, VAPICVM_SET_XSAVE, VAPICVM_GET_LAPIC,
	VAPICVM_SET_LAPIC, VAPICVM_INTERRUPT, VAPICVM_GET_MP_STATE, VAPICVM_SET_MP_STATE,
	VAPICVM_GET_STATS, VAPICVM_GET_VM_STATS, VAPICVM_ENABLE_CAP, VAPICVM_IOEVENTFD,
	VAPICVM_GET_MSR_INDEX_LIST, VAPICVM_GET_DEBUGREGS, VAPICVM_SET_DEBUGREGS,
	VAPICVM_GET_XCRS, VAPICVM_SET_XCRS, VAPICVM_GET_CPUID, VAPICVM_SET_GSI_ROUTE,
	VAPICVM_IRQFD, VAPICVM_GET_DIRTY_LOG, VAPICVM_SET_MSR_FILTER,
	VAPICVM_GET_VCPU_EVENTS, VAPICVM_SET_VCPU_EVENTS, VAPICVM_SET_GUEST_DEBUG,
	VAPICVM_TRANSLATE, VAPICVM_SET_TSC_KHZ, VAPICVM_GET_TSC_KHZ, VAPICVM_GET_VM_ID,
};

static bool is_known_ioctl(unsigned long cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(known_ioctls); i++)
		if (known_ioctls[i] == (uint32_t)cmd)
			return true;
	return false;
}

/* The VFS answers these type bytes itself for any file (FIONBIO, FICLONE, ...). */
static bool is_vfs_type(unsigned int type)
{
	return type == 0x00 || type == 'T' || type == 'X' || type == 'f' || type == 0x94;
}

static void op_random_number(struct thread *t, struct target *tg)
{
	struct call c = { .name = "an unknown ioctl number", .must = ENOTTY, .max_ret = -1 };
	unsigned long cmd;

	do {
		if (one_in(&t->rng, 4))
			cmd = (uint32_t)rnd(&t->rng);
		else
			cmd = _IOC(rnd_below(&t->rng, 4), VAPICVMIO, rnd_below(&t->rng, 256),
				   one_in(&t->rng, 2) ? rnd_below(&t->rng, 0x3fff) :
							rnd_below(&t->rng, 8) * 8);
	} while (is_known_ioctl(cmd) || is_vfs_type(_IOC_TYPE(cmd)));
	c.cmd = cmd;
	c.kind = tg->kind;
	c.errs = EB(ENOTTY);
	c.pk = pick_ptrkind(t);
	c.arg = one_in(&t->rng, 2) ? (unsigned long)arg_pointer(t, c.pk, 64) : rnd_value(&t->rng);
	do_call(t, tg->fd, tg->kind, tg->slot, tg->gen, &c);
}

/* A known ioctl on a random kind of fd (ENOTTY unless it is its kind). */
static void op_any(struct thread *t)
{
	struct target tg;
	enum kind want = rnd_below(&t->rng, NR_KINDS);

	if (!pick_fd(t, one_in(&t->rng, 8) ? NR_KINDS : want, &tg))
		return;
	switch (want) {
	case K_SYS:
		op_sys(t, &tg);
		break;
	case K_VM:
		op_vm(t, &tg);
		break;
	default:
		op_vcpu(t, &tg);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

static void on_timer(int sig)
{
}

static void *fuzz_thread(void *arg)
{
	struct thread *t = arg;
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR1,
	};

	sev._sigev_un._tid = syscall(SYS_gettid);	/* sigev_notify_thread_id */
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &t->timer), "timer_create");
	t->buf = mmap(NULL, (BUF_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(t->buf != MAP_FAILED, "mmap");
	TEST_ASSERT(!mprotect(t->buf + BUF_PAGES * PAGE, PAGE, PROT_NONE), "mprotect");

	while (t->calls < calls_per_thread) {
		unsigned int what = rnd_below(&t->rng, 100);
		struct target tg;

		if (what < 3) {
			op_lifecycle(t);
		} else if (what < 8) {
			if (pick_fd(t, NR_KINDS, &tg))
				op_random_number(t, &tg);
		} else if (what < 14) {
			op_any(t);
		} else if (what < 22) {
			if (pick_fd(t, K_SYS, &tg))
				op_sys(t, &tg);
		} else if (what < 45) {
			if (pick_fd(t, K_VM, &tg))
				op_vm(t, &tg);
			else
				group_create(t);
		} else {
			if (pick_fd(t, K_VCPU, &tg))
				op_vcpu(t, &tg);
			else
				group_create(t);
		}
	}
	t->cur = "done";
	timer_delete(t->timer);
	munmap(t->buf, (BUF_PAGES + 1) * PAGE);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Set-up, the deterministic sweep, the test                           */
/* ------------------------------------------------------------------ */

static void setup_globals(void)
{
	struct vm *vm;
	struct vcpu *vcpu;
	int dev, i;

	dev = open_dev();
	host_apicv = ioctl(dev, VAPICVM_CHECK_EXTENSION, VAPICVM_CAP_APICV);
	supported_cpuid.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	TEST_ASSERT(!ioctl(dev, VAPICVM_GET_SUPPORTED_CPUID, &supported_cpuid.hdr),
		    "GET_SUPPORTED_CPUID");
	for (i = 0; i < (int)supported_cpuid.hdr.nent; i++) {
		struct vapicvm_cpuid_entry *e = &supported_cpuid.e[i];

		TEST_ASSERT(!(e->flags & ~VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) &&
			    !e->padding[0] && !e->padding[1] && !e->padding[2],
			    "supported CPUID entry %d: flags %#x, padding", i, e->flags);
	}
	close(dev);

	vm = vm_create();
	vcpu = vm_add_vcpu(vm, 0, guest_spin, 0);
	vcpu_get_sregs(vcpu, &long_mode_sregs);
	vm_free(vm);

	ro_area = mmap(NULL, RO_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	none_area = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	scratch_area = mmap(NULL, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ro_area != MAP_FAILED && none_area != MAP_FAILED &&
		    scratch_area != MAP_FAILED, "mmap");
	for (i = 0; i < (int)(RO_PAGES * PAGE / 8); i++)
		((uint64_t *)ro_area)[i] = rnd(&(uint64_t){ 0x1234 + i });
	TEST_ASSERT(!mprotect(ro_area, RO_PAGES * PAGE, PROT_READ), "mprotect");

	for (i = 0; i < NR_SYS; i++)
		sys_fds[i].fd = open_dev();
	for (i = 0; i < NR_GROUPS; i++) {
		int j;

		groups[i].state = G_EMPTY;
		groups[i].vm.fd = -1;
		for (j = 0; j < GROUP_VCPUS; j++)
			groups[i].v[j].f.fd = -1;
	}
}

/*
 * Every ioctl number with the vapicvm type byte, every direction and a few
 * sizes, on each kind of fd: ENOTTY unless it is an ioctl of that kind.
 */
static void sweep_numbers(struct thread *t)
{
	static const unsigned int sizes[] = { 0, 1, 4, 8, 16, 0x3fff };
	struct target tg[NR_KINDS];
	unsigned int k, nr, dir, s;

	for (k = 0; k < NR_KINDS; k++)
		TEST_ASSERT(pick_fd(t, k, &tg[k]), "no %s fd", kind_names[k]);
	for (k = 0; k < NR_KINDS; k++) {
		for (nr = 0; nr < 256; nr++) {
			for (dir = 0; dir < 4; dir++) {
				for (s = 0; s < ARRAY_SIZE(sizes); s++) {
					struct call c = {
						.name = "a swept ioctl number", .kind = k,
						.must = ENOTTY, .errs = EB(ENOTTY), .max_ret = -1,
					};

					c.cmd = _IOC(dir, VAPICVMIO, nr, sizes[s]);
					if (is_known_ioctl(c.cmd))
						continue;
					c.arg = (unsigned long)t->buf;
					do_call(t, tg[k].fd, k, tg[k].slot, tg[k].gen, &c);
				}
			}
		}
	}
}

static void close_everything(void)
{
	int i, j;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < NR_SYS; i++)
		close_slot(&sys_fds[i]);
	for (i = 0; i < NR_GROUPS; i++) {
		if (groups[i].state != G_LIVE)
			continue;
		close_slot(&groups[i].vm);
		for (j = 0; j < GROUP_VCPUS; j++) {
			close_slot(&groups[i].v[j].f);
			unmap_run(&groups[i].v[j]);
		}
		group_reap(&groups[i]);
	}
	pthread_mutex_unlock(&pool_lock);
}

static long wait_sysfs(const char *name, long want)
{
	long v = read_sysfs_long(name);
	int i;

	for (i = 0; i < 5000 && v != want; i++) {
		usleep(1000);
		v = read_sysfs_long(name);
	}
	return v;
}

/* The locked memory charged to this process (kB): slots are charged there. */
static long vm_locked_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Milliseconds (no floating point: the test is built without SSE). */
static unsigned long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000UL + ts.tv_nsec / 1000000;
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, ioctls_from_threads, 1200)
{
	static struct thread threads[NR_THREADS];
	struct sigaction sa = { .sa_handler = on_timer };
	const char *env_seed = getenv("SEED"), *env_calls = getenv("CALLS");
	unsigned long total = env_calls ? strtoul(env_calls, NULL, 0) : DEFAULT_CALLS;
	unsigned long last = 0, sweep_calls;
	unsigned long t0, last_progress, ms;
	long locked_kb;
	bool stalled = false;
	uint64_t seed;
	int i;

	if (env_seed) {
		seed = strtoull(env_seed, NULL, 0);
	} else {
		struct timespec ts;

		/* The bench's clock starts at a fixed time: the nanoseconds vary. */
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	printf("# seed %lu (replay: SEED=%lu), %lu calls, %d threads\n", (unsigned long)seed,
	       (unsigned long)seed, total, NR_THREADS);
	fflush(stdout);
	ASSERT_EQ(0, wait_sysfs(VAPICVM_SYSFS "vms", 0));
	locked_kb = vm_locked_kb();
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	setup_globals();

	t0 = now_ms();
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		threads[i].seed = seed * 0x9e3779b97f4a7c15ULL + i + 1;
		threads[i].rng = threads[i].seed | 1;
		rnd(&threads[i].rng);
	}
	/* The deterministic part first, from thread 0's context. */
	group_create(&threads[0]);
	threads[0].buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(threads[0].buf != MAP_FAILED);
	sweep_numbers(&threads[0]);
	munmap(threads[0].buf, BUF_PAGES * PAGE);
	sweep_calls = atomic_load(&calls);
	calls_per_thread = total > sweep_calls ? (total - sweep_calls + NR_THREADS - 1) / NR_THREADS : 0;
	threads[0].calls = 0;

	for (i = 0; i < NR_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i].th, NULL, fuzz_thread, &threads[i]));

	/* The watchdog: calls must keep returning. */
	last_progress = now_ms();
	for (;;) {
		bool all_done = true;
		unsigned long c = atomic_load(&calls);

		for (i = 0; i < NR_THREADS; i++)
			if (threads[i].cur == NULL || strcmp(threads[i].cur, "done"))
				all_done = false;
		if (all_done)
			break;
		if (c != last) {
			last = c;
			last_progress = now_ms();
		} else if (now_ms() - last_progress > STALL_SECONDS * 1000) {
			for (i = 0; i < NR_THREADS; i++)
				printf("# thread %d (seed %#lx) stuck in %s after %lu calls\n", i,
				       (unsigned long)threads[i].seed, threads[i].cur,
				       threads[i].calls);
			fflush(stdout);
			stalled = true;
			break;
		}
		usleep(100000);
	}
	ASSERT_FALSE(stalled) TH_LOG("no call returned for %d s", STALL_SECONDS);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].th, NULL);

	close_everything();
	ms = now_ms() - t0;
	printf("# %lu calls (%lu sweeping numbers, %lu on fds closed meanwhile) in %lu.%03lu s; "
	       "%lu RUNs, %lu VMs created\n", atomic_load(&calls), sweep_calls,
	       atomic_load(&stale_calls), ms / 1000, ms % 1000, atomic_load(&runs),
	       atomic_load(&vms_created));
	printf("# RUN exits:");
	for (i = 0; i <= VAPICVM_EXIT_DEBUG; i++)
		printf(" %s %lu", exit_reason_str(i), atomic_load(&run_exits[i]));
	printf("\n");
	fflush(stdout);

	EXPECT_EQ(0, atomic_load(&violations)) TH_LOG("calls with undocumented results (seed %lu)",
						     (unsigned long)seed);
	EXPECT_LE(total, atomic_load(&calls));
	EXPECT_EQ(0, wait_sysfs(VAPICVM_SYSFS "vms", 0)) TH_LOG("a VM outlived its fds");
	EXPECT_EQ(0, wait_sysfs(VAPICVM_SYSFS "vmx_cpus", 0));
	/* Every slot's charge went back with its VM. */
	EXPECT_EQ(locked_kb, vm_locked_kb());
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * FPU/SSE/AVX state isolation: the guest's x87, MXCSR, XMM and YMM state is
 * its own, whatever the host process and other vCPUs hold in the same
 * registers; GET_XSAVE shows it and SET_XSAVE changes it.
 *
 * The selftests are built with -mgeneral-regs-only, so every access to
 * these registers is inline assembly; and no libc call may come between
 * loading the host's values and checking them (libc uses SSE), so RUN is a
 * raw SYSCALL inside the same asm statement.
 */
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

/* Offsets in the XSAVE standard format (Vol. 1 13.4). */
#define XSAVE_FCW		0
#define XSAVE_MXCSR		24
#define XSAVE_ST0		32
#define XSAVE_XMM0		160
#define XSAVE_XSTATE_BV		512

#define XFEATURE_FP		(1ULL << 0)
#define XFEATURE_SSE		(1ULL << 1)
#define XFEATURE_YMM		(1ULL << 2)

struct fpu_state {
	uint8_t ymm[16][32];	/* bytes 0-15 are the XMM register */
	uint8_t st0[16];	/* 80-bit value in the first 10 bytes */
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
} __attribute__((aligned(32)));

#define XMM_LOAD(n)	"movdqu " #n "*32(%[in]), %%xmm" #n "\n\t"
#define XMM_STORE(n)	"movdqu %%xmm" #n ", " #n "*32(%[out])\n\t"
#define YMM_LOAD(n)	"vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define YMM_STORE(n)	"vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"
#define ALL16(m)	m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7) \
			m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)

/* struct fpu_state: st0 at 512, mxcsr at 528, fcw at 532. */
#define X87_LOAD	"fninit\n\t"						\
			"fldcw 532(%[in])\n\t"					\
			"fldt 512(%[in])\n\t"					\
			"ldmxcsr 528(%[in])\n\t"
#define X87_STORE	"fnstcw 532(%[out])\n\t"				\
			"fstpt 512(%[out])\n\t"					\
			"stmxcsr 528(%[out])\n\t"
/* Back to the defaults, for the rest of the test program. */
#define X87_RESET	"fninit\n\t"						\
			"ldmxcsr %[dflt]\n\t"

static const uint32_t default_mxcsr = 0x1f80;

_Static_assert(__builtin_offsetof(struct fpu_state, st0) == 512, "asm offsets");
_Static_assert(__builtin_offsetof(struct fpu_state, mxcsr) == 528, "asm offsets");
_Static_assert(__builtin_offsetof(struct fpu_state, fcw) == 532, "asm offsets");

/*
 * Load *in into the host's registers, RUN the vCPU, store the registers
 * into *out.  Returns RUN's result (-errno on failure).
 */
static long run_with_host_sse(int fd, struct fpu_state *in, struct fpu_state *out)
{
	long ret;

	__asm__ volatile(X87_LOAD ALL16(XMM_LOAD)
			 "syscall\n\t"
			 ALL16(XMM_STORE) X87_STORE X87_RESET
			 : "=a"(ret)
			 : "a"((long)SYS_ioctl), "D"((long)fd), "S"((long)VAPICVM_RUN), "d"(0L),
			   [in] "r"(in), [out] "r"(out), [dflt] "m"(default_mxcsr)
			 : "rcx", "r11", "memory");
	return ret;
}

static long run_with_host_avx(int fd, struct fpu_state *in, struct fpu_state *out)
{
	long ret;

	__asm__ volatile(X87_LOAD ALL16(YMM_LOAD)
			 "syscall\n\t"
			 ALL16(YMM_STORE) X87_STORE X87_RESET "vzeroupper\n\t"
			 : "=a"(ret)
			 : "a"((long)SYS_ioctl), "D"((long)fd), "S"((long)VAPICVM_RUN), "d"(0L),
			   [in] "r"(in), [out] "r"(out), [dflt] "m"(default_mxcsr)
			 : "rcx", "r11", "memory");
	return ret;
}

static void make_state(struct fpu_state *s, uint8_t seed)
{
	unsigned int i, j;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 16; i++)
		for (j = 0; j < 32; j++)
			s->ymm[i][j] = (uint8_t)(seed * 37 + i * 16 + j);
	/* A normal 80-bit value: mantissa with its integer bit, some exponent. */
	for (j = 0; j < 8; j++)
		s->st0[j] = (uint8_t)(seed + j);
	s->st0[7] |= 0x80;
	s->st0[8] = (uint8_t)(0x3f + seed);
	s->st0[9] = 0x40;
	/* Rounding control and masks differ per seed; the flags stay clear. */
	s->mxcsr = 0x1f80 | ((seed & 3) << 13);
	s->fcw = 0x037f | ((seed & 3) << 10);
}

static bool state_equal(const struct fpu_state *a, const struct fpu_state *b, bool ymm)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		if (memcmp(a->ymm[i], b->ymm[i], ymm ? 32 : 16))
			return false;
	return !memcmp(a->st0, b->st0, 10) && a->mxcsr == b->mxcsr && a->fcw == b->fcw;
}

/* ------------------------------------------------------------------ */
/* Guest side                                                          */
/* ------------------------------------------------------------------ */

/* Per-vCPU guest data, indexed by vCPU id (the guest has no libc). */
static struct fpu_state guest_load[4], guest_expect[4], guest_seen[4];
static uint64_t guest_rounds;

static void guest_store_regs(struct fpu_state *out, bool ymm)
{
	if (ymm)
		__asm__ volatile(ALL16(YMM_STORE) X87_STORE : : [out] "r"(out) : "memory");
	else
		__asm__ volatile(ALL16(XMM_STORE) X87_STORE : : [out] "r"(out) : "memory");
}

static void guest_load_regs(struct fpu_state *in, bool ymm)
{
	if (ymm)
		__asm__ volatile(X87_LOAD ALL16(YMM_LOAD) : : [in] "r"(in) : "memory");
	else
		__asm__ volatile(X87_LOAD ALL16(XMM_LOAD) : : [in] "r"(in) : "memory");
}

/* No libc here: compare by hand. */
static void guest_check(uint64_t id, bool ymm)
{
	const uint8_t *a = (const uint8_t *)&guest_seen[id];
	const uint8_t *b = (const uint8_t *)&guest_expect[id];
	unsigned int i, j;

	for (i = 0; i < 16; i++)
		for (j = 0; j < (ymm ? 32u : 16u); j++)
			GUEST_ASSERT_EQ(a[i * 32 + j], b[i * 32 + j]);
	for (i = 512; i < 522; i++)
		GUEST_ASSERT_EQ(a[i], b[i]);
	GUEST_ASSERT_EQ(guest_seen[id].mxcsr, guest_expect[id].mxcsr);
	GUEST_ASSERT_EQ(guest_seen[id].fcw, guest_expect[id].fcw);
}

/*
 * Load guest_load[id], exit, check the registers still hold guest_expect[id]
 * (the host may change that through SET_XSAVE), reload, repeat.
 */
static void guest_fpu(uint64_t id)
{
	uint64_t round;

	for (round = 0; round < guest_rounds; round++) {
		guest_load_regs(&guest_load[id], false);
		/* The ucall is general-registers-only code: SSE state survives it. */
		GUEST_SYNC(round);
		guest_store_regs(&guest_seen[id], false);
		guest_check(id, false);
	}
	GUEST_DONE();
}

static void guest_avx(uint64_t id)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));	/* OSXSAVE */
	__asm__ volatile("xsetbv" : : "c"(0), "a"(7), "d"(0));		/* x87 SSE AVX */
	guest_load_regs(&guest_load[id], true);
	GUEST_SYNC(0);
	guest_store_regs(&guest_seen[id], true);
	guest_check(id, true);
	GUEST_DONE();
}

/* ------------------------------------------------------------------ */
/* Host side                                                           */
/* ------------------------------------------------------------------ */

static void set_guest_data(struct vm *vm, uint64_t rounds)
{
	guest_rounds = rounds;
	sync_global_to_guest(vm, guest_rounds);
	sync_global_to_guest(vm, guest_load);
	sync_global_to_guest(vm, guest_expect);
}

static void check_xsave(struct __test_metadata *_metadata, struct vcpu *vcpu,
			const struct fpu_state *want, bool ymm, uint32_t ymm_offset)
{
	struct vapicvm_xsave xs;
	const uint8_t *x = (const uint8_t *)xs.region;
	uint64_t bv;
	uint16_t fcw;
	uint32_t mxcsr;
	unsigned int i;

	vcpu_ioctl(vcpu, VAPICVM_GET_XSAVE, &xs);
	memcpy(&fcw, x + XSAVE_FCW, 2);
	memcpy(&mxcsr, x + XSAVE_MXCSR, 4);
	memcpy(&bv, x + XSAVE_XSTATE_BV, 8);
	EXPECT_EQ(want->fcw, fcw);
	EXPECT_EQ(want->mxcsr, mxcsr);
	EXPECT_EQ(0, memcmp(x + XSAVE_ST0, want->st0, 10)) TH_LOG("ST0");
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, memcmp(x + XSAVE_XMM0 + 16 * i, want->ymm[i], 16)) TH_LOG("XMM%u", i);
	if (ymm) {
		EXPECT_TRUE(bv & XFEATURE_YMM);
		for (i = 0; i < 16; i++)
			EXPECT_EQ(0, memcmp(x + ymm_offset + 16 * i, want->ymm[i] + 16, 16))
				TH_LOG("YMM%u upper half", i);
	}
}

/*
 * RUN with the host's registers loaded from *host_in, which must come back
 * unchanged, until the guest's next SYNC or DONE.  Usable from any thread:
 * failures end the test program (TEST_ASSERT), not a harness longjmp.
 */
static uint64_t run_guest(struct vcpu *vcpu, struct fpu_state *host_in, bool avx,
			  struct ucall *uc)
{
	struct fpu_state host_out;
	uint64_t cmd;
	long r;

	do {
		memset(&host_out, 0, sizeof(host_out));
		r = avx ? run_with_host_avx(vcpu->fd, host_in, &host_out) :
			  run_with_host_sse(vcpu->fd, host_in, &host_out);
		TEST_ASSERT(r == 0, "RUN: %ld", r);
		TEST_ASSERT(state_equal(host_in, &host_out, avx),
			    "vCPU %u: the host's registers changed across RUN", vcpu->id);
		cmd = get_ucall(vcpu, uc);
	} while (cmd == UCALL_PRINT);
	TEST_ASSERT(cmd == UCALL_SYNC || cmd == UCALL_DONE,
		    "vCPU %u: exit %s, ucall %lu %s:%lu %s %s", vcpu->id,
		    exit_reason_str(vcpu->run->exit_reason), (unsigned long)cmd,
		    uc->file ? uc->file : "", (unsigned long)uc->line,
		    uc->expr ? uc->expr : "", uc->msg);
	return cmd;
}

static void expect_sync(struct vcpu *vcpu, uint64_t stage, struct fpu_state *host_in, bool avx)
{
	struct ucall uc;

	TEST_ASSERT(run_guest(vcpu, host_in, avx, &uc) == UCALL_SYNC && uc.args[0] == stage,
		    "vCPU %u: expected SYNC %lu, got ucall %lu stage %lu", vcpu->id,
		    (unsigned long)stage, (unsigned long)uc.cmd, (unsigned long)uc.args[0]);
}

static void expect_done(struct vcpu *vcpu, struct fpu_state *host_in, bool avx)
{
	struct ucall uc;

	TEST_ASSERT(run_guest(vcpu, host_in, avx, &uc) == UCALL_DONE,
		    "vCPU %u: expected DONE, got ucall %lu", vcpu->id, (unsigned long)uc.cmd);
}

TEST(guest_and_host_sse_isolated)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_fpu, 0);
	struct fpu_state host;
	struct vapicvm_xsave xs;
	uint8_t *x = (uint8_t *)xs.region;

	make_state(&guest_load[0], 1);
	guest_expect[0] = guest_load[0];
	set_guest_data(vm, 2);

	make_state(&host, 2);
	expect_sync(vcpu, 0, &host, false);
	check_xsave(_metadata, vcpu, &guest_load[0], false, 0);

	/* SET_XSAVE: the guest finds XMM7 and MXCSR as userspace left them. */
	vcpu_ioctl(vcpu, VAPICVM_GET_XSAVE, &xs);
	memset(x + XSAVE_XMM0 + 7 * 16, 0x77, 16);
	memcpy(x + XSAVE_MXCSR, &(uint32_t){ 0x9f80 }, 4);
	vcpu_ioctl(vcpu, VAPICVM_SET_XSAVE, &xs);
	memset(guest_expect[0].ymm[7], 0x77, 16);
	guest_expect[0].mxcsr = 0x9f80;
	sync_global_to_guest(vm, guest_expect);

	make_state(&host, 3);
	expect_sync(vcpu, 1, &host, false);
	/* The guest reloaded its own values after checking. */
	check_xsave(_metadata, vcpu, &guest_load[0], false, 0);
	guest_expect[0] = guest_load[0];
	sync_global_to_guest(vm, guest_expect);
	expect_done(vcpu, &host, false);
	vm_free(vm);
}

TEST(two_vcpus_one_thread)
{
	struct vm *vm = vm_create();
	struct vcpu *a = vm_add_vcpu(vm, 0, guest_fpu, 0);
	struct vcpu *b = vm_add_vcpu(vm, 1, guest_fpu, 1);
	struct fpu_state host;
	unsigned int round;

	make_state(&guest_load[0], 4);
	make_state(&guest_load[1], 5);
	guest_expect[0] = guest_load[0];
	guest_expect[1] = guest_load[1];
	set_guest_data(vm, 20);
	make_state(&host, 6);
	for (round = 0; round < 20; round++) {
		expect_sync(a, round, &host, false);
		expect_sync(b, round, &host, false);
	}
	check_xsave(_metadata, a, &guest_load[0], false, 0);
	check_xsave(_metadata, b, &guest_load[1], false, 0);
	expect_done(a, &host, false);
	expect_done(b, &host, false);
	vm_free(vm);
}

struct fpu_thread {
	struct vcpu *vcpu;
	uint8_t seed;
	unsigned int rounds;
};

static void *fpu_thread_fn(void *arg)
{
	struct fpu_thread *t = arg;
	struct fpu_state host;
	unsigned int round;

	make_state(&host, t->seed);
	for (round = 0; round < t->rounds; round++)
		expect_sync(t->vcpu, round, &host, false);
	expect_done(t->vcpu, &host, false);
	return NULL;
}

/* Two vCPU threads (and so, with 2 host CPUs, two CPUs) at once. */
TEST(two_vcpus_two_threads)
{
	const unsigned int rounds = 200;
	struct vm *vm = vm_create();
	struct fpu_thread t[2] = {
		{ vm_add_vcpu(vm, 0, guest_fpu, 0), 7, rounds },
		{ vm_add_vcpu(vm, 1, guest_fpu, 1), 8, rounds },
	};
	pthread_t th[2];
	int i;

	make_state(&guest_load[0], 9);
	make_state(&guest_load[1], 10);
	guest_expect[0] = guest_load[0];
	guest_expect[1] = guest_load[1];
	set_guest_data(vm, rounds);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fpu_thread_fn, &t[i]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	vm_free(vm);
}

static bool host_has_avx(void)
{
	uint32_t a, b, c, d;
	uint32_t xcr0_lo, xcr0_hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1U << 28)) || !(c & (1U << 27)))
		return false;
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	return (xcr0_lo & 6) == 6;
}

static uint32_t guest_has_avx(struct vcpu *vcpu)
{
	static struct {
		struct vapicvm_cpuid hdr;
		struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
	} t;
	uint32_t i, avx = 0, xcr0 = 0;

	t.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	if (__sys_ioctl(vcpu->vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, &t.hdr))
		return 0;
	for (i = 0; i < t.hdr.nent; i++) {
		if (t.e[i].function == 1)
			avx = (t.e[i].ecx & (1U << 28)) && (t.e[i].ecx & (1U << 26));
		if (t.e[i].function == 0xd && t.e[i].index == 0)
			xcr0 = t.e[i].eax;
	}
	return avx && (xcr0 & 7) == 7;
}

TEST(guest_and_host_avx_isolated)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_avx, 0);
	struct fpu_state host;
	uint32_t a, b, c, d;

	if (!host_has_avx() || !guest_has_avx(vcpu)) {
		vm_free(vm);
		SKIP(return, "no AVX on this CPU (or not for guests)");
	}
	/* Where the YMM upper halves live in the standard format. */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(2));
	make_state(&guest_load[0], 11);
	guest_expect[0] = guest_load[0];
	set_guest_data(vm, 1);
	make_state(&host, 12);
	expect_sync(vcpu, 0, &host, true);
	check_xsave(_metadata, vcpu, &guest_load[0], true, b);
	expect_done(vcpu, &host, true);
	vm_free(vm);
}

/* XSETBV: what the architecture refuses, the guest gets #GP for. */
static volatile uint64_t gp_count;

static void guest_gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 3;		/* xsetbv is 0f 01 d1 */
}

static uint64_t guest_try_xsetbv(uint32_t index, uint64_t value)
{
	uint64_t before = gp_count;

	__asm__ volatile("xsetbv" : : "c"(index), "a"((uint32_t)value),
			 "d"((uint32_t)(value >> 32)) : "memory");
	return gp_count - before;
}

static uint64_t guest_xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

static void guest_xsetbv_rules(uint64_t avx_allowed)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));
	GUEST_ASSERT_EQ(guest_xgetbv(), XFEATURE_FP);
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, 0), 1);				/* no x87 */
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, XFEATURE_SSE), 1);			/* no x87 */
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, XFEATURE_FP | XFEATURE_YMM), 1);	/* no SSE */
	GUEST_ASSERT_EQ(guest_try_xsetbv(1, XFEATURE_FP), 1);			/* no XCR1 */
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, XFEATURE_FP | (1ULL << 62)), 1);	/* unknown */
	GUEST_ASSERT_EQ(guest_xgetbv(), XFEATURE_FP);
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, XFEATURE_FP | XFEATURE_SSE), 0);
	GUEST_ASSERT_EQ(guest_xgetbv(), XFEATURE_FP | XFEATURE_SSE);
	GUEST_ASSERT_EQ(guest_try_xsetbv(0, XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM),
			avx_allowed ? 0 : 1);
	GUEST_DONE();
}

static void check_xsetbv_rules(struct __test_metadata *_metadata, bool hide_avx)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_xsetbv_rules, 0);
	static struct {
		struct vapicvm_cpuid hdr;
		struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
	} t;
	bool avx = guest_has_avx(vcpu);
	struct ucall uc;
	unsigned int i;

	t.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	ASSERT_EQ(0, __sys_ioctl(vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, &t.hdr));
	for (i = 0; i < t.hdr.nent; i++)
		if (t.e[i].function == 1)
			ASSERT_TRUE(t.e[i].ecx & (1U << 26)) TH_LOG("no XSAVE for guests");
	if (hide_avx) {
		/* This guest's XCR0 may have x87 and SSE only. */
		for (i = 0; i < t.hdr.nent; i++)
			if (t.e[i].function == 0xd && t.e[i].index == 0)
				t.e[i].eax &= XFEATURE_FP | XFEATURE_SSE;
		vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &t.hdr);
		avx = false;
	}
	vcpu_setup_long_mode(vcpu, guest_xsetbv_rules, avx);
	vm_install_handler(vm, 13, guest_gp_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_XSETBV), 7);
	vm_free(vm);
}

TEST(xsetbv_rules)
{
	check_xsetbv_rules(_metadata, false);
}

TEST(xsetbv_follows_the_cpuid_table)
{
	check_xsetbv_rules(_metadata, true);
}

TEST(xsave_bad_arguments)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_xsave xs;
	uint8_t *x = (uint8_t *)xs.region;

	EXPECT_EQ(1, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_XSAVE));
	vcpu_ioctl(vcpu, VAPICVM_GET_XSAVE, &xs);
	/* A reset vCPU: FCW 0x37f, MXCSR 0x1f80. */
	EXPECT_EQ(0x37f, *(uint16_t *)(x + XSAVE_FCW));
	EXPECT_EQ(0x1f80, *(uint32_t *)(x + XSAVE_MXCSR));
	/* MXCSR reserved bits (checked when the SSE state is in use). */
	*(uint64_t *)(x + XSAVE_XSTATE_BV) |= XFEATURE_FP | XFEATURE_SSE;
	*(uint32_t *)(x + XSAVE_MXCSR) = 0xffffffff;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XSAVE, &xs, EINVAL));
	*(uint32_t *)(x + XSAVE_MXCSR) = 0x1f80;
	/* A state component nobody supports. */
	*(uint64_t *)(x + XSAVE_XSTATE_BV) |= 1ULL << 62;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XSAVE, &xs, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_XSAVE, NULL, EFAULT));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XSAVE, NULL, EFAULT));
	vcpu_ioctl(vcpu, VAPICVM_GET_XSAVE, &xs);
	EXPECT_EQ(0x1f80, *(uint32_t *)(x + XSAVE_MXCSR)) TH_LOG("a rejected SET_XSAVE stuck");
	vm_free(vm);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU state a VMM saves and restores: the MSR list (every MSR in it
 * round-trips through GET/SET_MSRS), the debug registers, XCR0 and the
 * CPUID table, each read where the guest put it and written where the
 * guest then finds it, with the documented errors for bad arguments.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define XFEATURE_FP	1ULL
#define XFEATURE_SSE	2ULL
#define XFEATURE_YMM	4ULL

static void guest_nothing(void)
{
	GUEST_DONE();
}

TEST(msr_index_list)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_nothing, 0);
	struct {
		struct vapicvm_msr_list hdr;
		uint32_t idx[64];
	} l = { .hdr.nmsrs = 1 };
	unsigned int i, j, n;

	ASSERT_EQ(1, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_MSR_INDEX_LIST));
	/* Too little room: E2BIG, and the number needed. */
	EXPECT_TRUE(ioctl_fails_with(vm->dev_fd, VAPICVM_GET_MSR_INDEX_LIST, &l.hdr, E2BIG));
	n = l.hdr.nmsrs;
	ASSERT_LT(10, n);
	ASSERT_GE(64, n);
	l.hdr.pad = 1;
	l.hdr.nmsrs = 64;
	EXPECT_TRUE(ioctl_fails_with(vm->dev_fd, VAPICVM_GET_MSR_INDEX_LIST, &l.hdr, EINVAL));
	l.hdr.pad = 0;
	ASSERT_EQ(0, __sys_ioctl(vm->dev_fd, VAPICVM_GET_MSR_INDEX_LIST, &l.hdr));
	ASSERT_EQ(n, l.hdr.nmsrs);
	for (i = 0; i < n; i++) {
		uint64_t v;

		for (j = 0; j < i; j++)
			EXPECT_NE(l.idx[j], l.idx[i]) TH_LOG("%#x listed twice", l.idx[i]);
		EXPECT_FALSE(l.idx[i] >= 0x800 && l.idx[i] <= 0x8ff) TH_LOG("an x2APIC MSR");
		/* Each reads, and takes back what it read. */
		v = vcpu_get_msr(vcpu, l.idx[i]);
		EXPECT_EQ(1, __vcpu_set_msr(vcpu, l.idx[i], v)) TH_LOG("MSR %#x", l.idx[i]);
	}
	vm_free(vm);
}

/* ---------------------------------------------------------------- */

static void guest_debugregs(void)
{
	uint64_t v;

	__asm__ volatile("mov %0, %%dr0" : : "r"(0x1000ULL));
	__asm__ volatile("mov %0, %%dr1" : : "r"(0x2000ULL));
	__asm__ volatile("mov %0, %%dr2" : : "r"(0x3000ULL));
	__asm__ volatile("mov %0, %%dr3" : : "r"(0xffff800000004000ULL));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ULL | (1 << 6)));	/* L3, an execute breakpoint */
	GUEST_SYNC(1);	/* the host reads them, and writes others */
	__asm__ volatile("mov %%dr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, 0xa000);
	__asm__ volatile("mov %%dr3, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, 0xd000);
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, 0x400);
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, 0xffff0ff1);
	GUEST_DONE();
}

TEST(debugregs)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_debugregs, 0);
	struct vapicvm_debugregs d, bad;

	ASSERT_EQ(1, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_DEBUGREGS));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_ioctl(vcpu, VAPICVM_GET_DEBUGREGS, &d);
	EXPECT_EQ(0x1000, d.db[0]);
	EXPECT_EQ(0x2000, d.db[1]);
	EXPECT_EQ(0x3000, d.db[2]);
	EXPECT_EQ(0xffff800000004000ULL, d.db[3]);
	EXPECT_EQ(0x400 | (1 << 6), d.dr7);
	EXPECT_EQ(0, d.flags);

	d.db[0] = 0xa000;
	d.db[3] = 0xd000;
	d.dr7 = 0;		/* the fixed bit 10 reads back as 1 */
	d.dr6 = 1;		/* B0; the fixed ones read back as 1 */
	bad = d;
	bad.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_DEBUGREGS, &bad, EINVAL));
	bad = d;
	bad.reserved[8] = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_DEBUGREGS, &bad, EINVAL));
	bad = d;
	bad.dr7 = 1ULL << 32;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_DEBUGREGS, &bad, EINVAL));
	bad = d;
	bad.dr6 = 1ULL << 40;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_DEBUGREGS, &bad, EINVAL));
	vcpu_ioctl(vcpu, VAPICVM_SET_DEBUGREGS, &d);
	vcpu_ioctl(vcpu, VAPICVM_GET_DEBUGREGS, &bad);
	EXPECT_EQ(0x400, bad.dr7);
	EXPECT_EQ(0xffff0ff1, bad.dr6);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

/* ---------------------------------------------------------------- */

static uint64_t guest_xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

static void guest_xcrs(void)
{
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));	/* OSXSAVE */
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)(XFEATURE_FP | XFEATURE_SSE)),
			 "d"(0));
	GUEST_SYNC(1);	/* the host reads XCR0, then puts x87 only */
	GUEST_ASSERT_EQ(guest_xgetbv(), XFEATURE_FP);
	GUEST_DONE();
}

TEST(xcrs)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_xcrs, 0);
	struct vapicvm_xcrs x, bad;

	if (!__vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_XCRS))
		SKIP(vm_free(vm); return, "the host has no XSAVE");
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_ioctl(vcpu, VAPICVM_GET_XCRS, &x);
	ASSERT_EQ(1, x.nr_xcrs);
	EXPECT_EQ(0, x.xcrs[0].xcr);
	EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE, x.xcrs[0].value);
	EXPECT_EQ(0, x.flags);

	x.xcrs[0].value = XFEATURE_FP;
	bad = x;
	bad.xcrs[0].value = 0;				/* no x87 */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad.xcrs[0].value = XFEATURE_FP | XFEATURE_YMM;	/* AVX without SSE */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad.xcrs[0].value = XFEATURE_FP | (1ULL << 62);	/* unknown */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad = x;
	bad.xcrs[0].xcr = 1;				/* no XCR1 */
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad = x;
	bad.nr_xcrs = VAPICVM_MAX_XCRS + 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad = x;
	bad.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	bad = x;
	bad.padding[15] = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	/* A valid one after an invalid one: nothing is set. */
	bad = x;
	bad.nr_xcrs = 2;
	bad.xcrs[1].xcr = 0;
	bad.xcrs[1].value = 0;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_XCRS, &bad, EINVAL));
	vcpu_ioctl(vcpu, VAPICVM_GET_XCRS, &bad);
	EXPECT_EQ(XFEATURE_FP | XFEATURE_SSE, bad.xcrs[0].value);

	vcpu_ioctl(vcpu, VAPICVM_SET_XCRS, &x);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

/* ---------------------------------------------------------------- */

TEST(get_cpuid)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_nothing, 0);
	static struct {
		struct vapicvm_cpuid hdr;
		struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES];
	} set, got;
	unsigned int n;

	ASSERT_EQ(1, __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_GET_CPUID));
	set.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	ASSERT_EQ(0, __sys_ioctl(vm->dev_fd, VAPICVM_GET_SUPPORTED_CPUID, &set.hdr));
	n = set.hdr.nent < 3 ? set.hdr.nent : 3;	/* a table of its own */
	set.hdr.nent = n;
	vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &set.hdr);

	got.hdr.nent = 0;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_CPUID, &got.hdr, E2BIG));
	EXPECT_EQ(n, got.hdr.nent);
	got.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	got.hdr.padding = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_CPUID, &got.hdr, EINVAL));
	got.hdr.padding = 0;
	vcpu_ioctl(vcpu, VAPICVM_GET_CPUID, &got.hdr);
	ASSERT_EQ(n, got.hdr.nent);
	EXPECT_EQ(0, memcmp(set.e, got.e, n * sizeof(set.e[0])));
	vm_free(vm);
}

TEST_HARNESS_MAIN

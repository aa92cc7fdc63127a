// SPDX-License-Identifier: GPL-2.0
/*
 * Memory slots while the VM exists: adding, moving, deleting and re-adding
 * slots as the guest uses them (also from another thread while the vCPU
 * runs), the slot layouts SET_USER_MEMORY_REGION must refuse, and the
 * locked-memory limit a slot is charged to.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define SLOT		1
#define GPA_A		0x40000000ULL
#define GPA_B		0x50000000ULL
#define GPA_C		0x60000000ULL
#define SLOT_SIZE	0x10000ULL
#define PATTERN		0x5107000000000000ULL

static uint64_t *alloc_mem(uint64_t size, uint64_t tag)
{
	uint64_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	uint64_t i;

	TEST_ASSERT(m != MAP_FAILED, "mmap");
	for (i = 0; i < size / 8; i++)
		m[i] = tag | i;
	return m;
}

/* Run, expect an MMIO read of gpa, and answer it. */
static void answer_read(struct __test_metadata *_metadata, struct vcpu *vcpu, uint64_t gpa,
			uint64_t value)
{
	struct vapicvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, run->exit_reason)
		TH_LOG("exit %s, expected an MMIO read of %#llx",
		       exit_reason_str(run->exit_reason), (unsigned long long)gpa);
	ASSERT_EQ(gpa, run->mmio.phys_addr);
	ASSERT_FALSE(run->mmio.is_write);
	memcpy(run->mmio.data, &value, run->mmio.len);
}

static uint64_t expect_sync(struct __test_metadata *_metadata, struct vcpu *vcpu,
			    uint64_t stage)
{
	struct ucall uc;

	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(stage, uc.args[0]);
	return uc.args[1];
}

static void guest_slot_changes(void)
{
	volatile uint64_t *a = (volatile uint64_t *)GPA_A;
	volatile uint64_t *b = (volatile uint64_t *)GPA_B;
	volatile uint64_t *c = (volatile uint64_t *)GPA_C;

	/* Slot at A. */
	GUEST_ASSERT_EQ(a[0], PATTERN);
	GUEST_ASSERT_EQ(a[SLOT_SIZE / 8 - 1], PATTERN | (SLOT_SIZE / 8 - 1));
	a[1] = 0x1111;
	GUEST_SYNC(1);
	/* Moved to B: the same memory, and A is MMIO now. */
	GUEST_ASSERT_EQ(b[0], PATTERN);
	GUEST_ASSERT_EQ(b[1], 0x1111);
	b[2] = 0x2222;
	GUEST_SYNC_ARGS(2, a[0]);
	/* Deleted: B is MMIO. */
	GUEST_SYNC_ARGS(3, b[0]);
	/* Re-added at A with other memory: no stale translation. */
	GUEST_ASSERT_EQ(a[0], PATTERN | 0xf00000000ULL);
	GUEST_SYNC_ARGS(4, c[0]);
	/* A new slot at C. */
	GUEST_ASSERT_EQ(c[5], 0xc0c0c0c000000005ULL);
	GUEST_DONE();
}

TEST(add_move_delete_readd)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_slot_changes, 0);
	uint64_t *m1 = alloc_mem(SLOT_SIZE, PATTERN);
	uint64_t *m2 = alloc_mem(SLOT_SIZE, PATTERN | 0xf00000000ULL);
	uint64_t *m3 = alloc_mem(SLOT_SIZE, 0xc0c0c0c000000000ULL);
	struct ucall uc;

	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m1);
	expect_sync(_metadata, vcpu, 1);
	EXPECT_EQ(0x1111, m1[1]);

	vm_set_memory_region(vm, SLOT, 0, GPA_B, SLOT_SIZE, m1);
	answer_read(_metadata, vcpu, GPA_A, 0xabcdef);
	EXPECT_EQ(0xabcdef, expect_sync(_metadata, vcpu, 2));
	EXPECT_EQ(0x2222, m1[2]);

	vm_set_memory_region(vm, SLOT, 0, GPA_B, 0, m1);
	answer_read(_metadata, vcpu, GPA_B, 0x5a5a);
	EXPECT_EQ(0x5a5a, expect_sync(_metadata, vcpu, 3));

	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m2);
	answer_read(_metadata, vcpu, GPA_C, 0x77);
	EXPECT_EQ(0x77, expect_sync(_metadata, vcpu, 4));

	vm_set_memory_region(vm, SLOT + 1, 0, GPA_C, SLOT_SIZE, m3);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
	munmap(m1, SLOT_SIZE);
	munmap(m2, SLOT_SIZE);
	munmap(m3, SLOT_SIZE);
}

/* A move to a range that overlaps the slot's own old range. */
static void guest_overlapping_move(void)
{
	volatile uint64_t *p = (volatile uint64_t *)(GPA_A + 0x1000);

	GUEST_ASSERT_EQ(p[0], PATTERN | (0x1000 / 8));
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(p[0], PATTERN);
	GUEST_DONE();
}

TEST(move_overlapping_itself)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_overlapping_move, 0);
	uint64_t *m = alloc_mem(SLOT_SIZE, PATTERN);
	struct ucall uc;

	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	expect_sync(_metadata, vcpu, 1);
	vm_set_memory_region(vm, SLOT, 0, GPA_A + 0x1000, SLOT_SIZE, m);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
	munmap(m, SLOT_SIZE);
}

/* Every slot the VM offers, each one page, each read by the guest. */
static void guest_read_slots(uint64_t nslots)
{
	uint64_t i;

	for (i = 1; i < nslots; i++)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)(GPA_A + i * 0x200000), 0x5e000000ULL | i);
	GUEST_DONE();
}

TEST(every_slot)
{
	struct vm *vm = vm_create();
	int nslots = __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_NR_MEMSLOTS);
	struct vcpu *vcpu;
	uint64_t *pages;
	struct ucall uc;
	int i;

	ASSERT_GE(nslots, 2);
	vcpu = vm_add_vcpu(vm, 0, guest_read_slots, nslots);
	pages = alloc_mem(4096ULL * nslots, 0);
	for (i = 1; i < nslots; i++) {
		pages[i * 512] = 0x5e000000ULL | i;
		vm_set_memory_region(vm, i, 0, GPA_A + i * 0x200000ULL, 4096, &pages[i * 512]);
	}
	EXPECT_EQ(-1, __vm_set_memory_region(vm, nslots, 0, GPA_C, 4096,
					     (uint64_t)(uintptr_t)pages));
	EXPECT_EQ(EINVAL, errno) TH_LOG("slot id == VAPICVM_CAP_NR_MEMSLOTS");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
	munmap(pages, 4096ULL * nslots);
}

/*
 * A read-only slot over memory the host has never touched: the guest's
 * read must not freeze a private copy (the shared zero page), so what the
 * host writes afterwards is what the guest reads next.
 */
static void guest_read_twice(void)
{
	volatile uint64_t *p = (volatile uint64_t *)GPA_A;

	GUEST_SYNC_ARGS(1, p[0], p[512]);
	GUEST_SYNC_ARGS(2, p[0], p[512]);
	GUEST_DONE();
}

TEST(readonly_slot_over_untouched_memory)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_read_twice, 0);
	uint64_t *m = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	struct ucall uc;

	ASSERT_NE(MAP_FAILED, m);
	vm_set_memory_region(vm, SLOT, VAPICVM_MEM_READONLY, GPA_A, SLOT_SIZE, m);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(0, uc.args[2]);
	m[0] = 0x1111;
	m[512] = 0x2222;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x1111, uc.args[1]) TH_LOG("the guest still reads the page it first saw");
	EXPECT_EQ(0x2222, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
	munmap(m, SLOT_SIZE);
}

/* A slot whose userspace memory went away: RUN fails, the VM survives. */
static void guest_touch_a(void)
{
	GUEST_SYNC_ARGS(1, *(volatile uint64_t *)GPA_A);
	GUEST_DONE();
}

TEST(slot_over_unmapped_memory)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_touch_a, 0);
	void *m = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	struct ucall uc;

	ASSERT_NE(MAP_FAILED, m);
	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	ASSERT_EQ(0, munmap(m, SLOT_SIZE));
	errno = 0;
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EFAULT, errno);
	/* Without the slot, the same access is MMIO. */
	vm_set_memory_region(vm, SLOT, 0, GPA_A, 0, NULL);
	answer_read(_metadata, vcpu, GPA_A, 0x4444);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x4444, uc.args[1]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* RAM under the local APIC's page: the APIC wins, the rest is RAM. */
#define APIC_GPA	0xfee00000ULL

static void guest_apic_under_ram(void)
{
	uint32_t id = *(volatile uint32_t *)(APIC_GPA + 0x20);
	uint32_t version = *(volatile uint32_t *)(APIC_GPA + 0x30);
	uint64_t ram = *(volatile uint64_t *)(APIC_GPA + 0x1000);

	GUEST_SYNC_ARGS(1, id, version, ram);
	id = *(volatile uint32_t *)(APIC_GPA + 0x20);
	version = *(volatile uint32_t *)(APIC_GPA + 0x30);
	GUEST_SYNC_ARGS(2, id, version);
	GUEST_DONE();
}

TEST(slot_over_the_apic_page)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_apic_under_ram, 0);
	uint64_t *m = alloc_mem(0x200000, 0xaaaa000000000000ULL);
	struct ucall uc;

	vm_set_memory_region(vm, SLOT, 0, APIC_GPA & ~0x1fffffULL, 0x200000, m);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, uc.args[1]) TH_LOG("APIC ID register: RAM read instead of the APIC");
	EXPECT_EQ(0x14, uc.args[2] & 0xff) TH_LOG("APIC version register");
	EXPECT_EQ(0xaaaa000000000000ULL | ((APIC_GPA & 0x1fffff) + 0x1000) / 8, uc.args[3]);
	/* The slot goes away; the APIC stays. */
	vm_set_memory_region(vm, SLOT, 0, APIC_GPA & ~0x1fffffULL, 0, NULL);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0, uc.args[1]);
	EXPECT_EQ(0x14, uc.args[2] & 0xff);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
	munmap(m, 0x200000);
}

/* ------------------------------------------------------------------ */
/* 2 MiB blocks: huge-page-backed slots and VAPICVM_MEM_PREFAULT         */
/* ------------------------------------------------------------------ */

#define BLOCK		0x200000ULL
#define BLOCKS		2
#define BLOCKS_SIZE	(BLOCKS * BLOCK)
#define MOVED_APIC	(GPA_A + 0x100000ULL)	/* inside the first block */
#define MSR_APIC_BASE	0x1b

/* Two 2 MiB-aligned blocks of anonymous memory, huge pages or none, filled. */
static uint64_t *alloc_blocks(bool huge, uint64_t tag)
{
	uint8_t *raw = mmap(NULL, BLOCKS_SIZE + BLOCK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *m, i;

	TEST_ASSERT(raw != MAP_FAILED, "mmap");
	m = (uint64_t *)(((uintptr_t)raw + BLOCK - 1) & ~(uintptr_t)(BLOCK - 1));
	/* Advice only: a kernel without THP or madvise() has small pages anyway. */
	madvise(m, BLOCKS_SIZE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (i = 0; i < BLOCKS_SIZE / 8; i++)
		m[i] = tag | i;
	return m;
}

/* The AnonHugePages of the mapping that starts at addr, in kB (smaps). */
static uint64_t anon_huge_kb(const void *addr)
{
	char line[256], start[32];
	uint64_t kb = 0;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)(uintptr_t)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, start, strlen(start));
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * Touch every page of both blocks (reading the host's pattern, writing
 * one word); then move the xAPIC window into the first block, use it, and
 * move it back: the RAM around it and under it stays RAM.
 */
static void guest_touch_blocks(uint64_t tag)
{
	volatile uint64_t *a = (volatile uint64_t *)GPA_A;
	uint64_t base = guest_rdmsr(MSR_APIC_BASE), i, bad = 0;

	GUEST_SYNC(1);
	for (i = 0; i < BLOCKS_SIZE / 8; i += 4096 / 8) {
		bad += a[i] != (tag | i);
		a[i + 1] = ~i;
	}
	GUEST_SYNC_ARGS(2, bad);
	guest_wrmsr(MSR_APIC_BASE, (base & 0xfff) | MOVED_APIC);
	GUEST_SYNC_ARGS(3, *(volatile uint32_t *)(MOVED_APIC + 0x30),
			a[(MOVED_APIC - GPA_A + 0x1000) / 8], a[(MOVED_APIC - GPA_A - 0x1000) / 8]);
	guest_wrmsr(MSR_APIC_BASE, base);
	GUEST_SYNC_ARGS(4, a[(MOVED_APIC - GPA_A) / 8], a[(MOVED_APIC - GPA_A + 0x1000) / 8]);
	GUEST_DONE();
}

static void touch_blocks(struct __test_metadata *_metadata, uint32_t flags, bool huge,
			 uint64_t min_exits, uint64_t max_exits)
{
	const uint64_t tag = 0x7a90000000000000ULL;
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_touch_blocks, tag);
	uint64_t *m = alloc_blocks(huge, tag), exits, i;
	uint64_t apic_page = (MOVED_APIC - GPA_A) / 8;
	struct ucall uc;

	if (huge && anon_huge_kb(m) < BLOCKS_SIZE / 1024) {
		vm_free(vm);
		SKIP(return, "no transparent huge pages for the slot (%lu kB)",
		     (unsigned long)anon_huge_kb(m));
	}
	if (!huge && anon_huge_kb(m)) {
		vm_free(vm);
		SKIP(return, "huge pages despite MADV_NOHUGEPAGE (%lu kB)",
		     (unsigned long)anon_huge_kb(m));
	}
	vm_set_memory_region(vm, SLOT, flags, GPA_A, BLOCKS_SIZE, m);
	expect_sync(_metadata, vcpu, 1);
	exits = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EPT_VIOLATION);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]) TH_LOG("pages that did not read the host's pattern");
	exits = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EPT_VIOLATION) - exits;
	TH_LOG("%lu EPT-violation exits for %llu pages", (unsigned long)exits,
	       BLOCKS_SIZE / 4096);
	/* One more at most: the loop's code may start on a page not run before. */
	EXPECT_GE(exits, min_exits);
	EXPECT_LE(exits, max_exits + 1);
	for (i = 0; i < BLOCKS_SIZE / 8; i += 4096 / 8)
		if (m[i + 1] != ~i) {
			EXPECT_EQ(~i, m[i + 1]) TH_LOG("the guest's write at %#llx", GPA_A + i * 8);
			break;
		}
	/* The xAPIC window inside a block: the APIC, and RAM beside it. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(3, uc.args[0]);
	EXPECT_EQ(0x14, uc.args[1] & 0xff) TH_LOG("APIC version register at the moved base");
	EXPECT_EQ(tag | (apic_page + 0x1000 / 8), uc.args[2]);
	EXPECT_EQ(tag | (apic_page - 0x1000 / 8), uc.args[3]);
	/* Moved back: RAM again under it. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(4, uc.args[0]);
	EXPECT_EQ(tag | apic_page, uc.args[1]);
	EXPECT_EQ(tag | (apic_page + 0x1000 / 8), uc.args[2]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

/* Without huge pages or the flag: one exit per page, as before. */
TEST(small_pages_fault_in_one_by_one)
{
	touch_blocks(_metadata, 0, false, BLOCKS_SIZE / 4096, BLOCKS_SIZE / 4096);
}

/* VAPICVM_MEM_PREFAULT: one exit per 2 MiB block, even on 4 KiB pages. */
TEST(prefault_slot_maps_a_block_per_fault)
{
	touch_blocks(_metadata, VAPICVM_MEM_PREFAULT, false, BLOCKS, BLOCKS);
}

/* Backed by transparent huge pages: one 2 MiB EPT leaf per block. */
TEST(huge_page_backed_slot_maps_2mib_leaves)
{
	touch_blocks(_metadata, 0, true, BLOCKS, BLOCKS);
}

TEST(huge_page_backed_prefault_slot)
{
	touch_blocks(_metadata, VAPICVM_MEM_PREFAULT, true, BLOCKS, BLOCKS);
}

/*
 * A VAPICVM_MEM_PREFAULT slot with a hole in its userspace memory: a fault
 * elsewhere in the block still maps its page (the block cannot be pinned
 * whole), the other block maps whole, an access to the hole fails RUN
 * with EFAULT as often as it is retried, and once memory is back in the
 * hole the same access completes.  Nothing is lost on the way.
 */
#define HOLE_OFF	0x100000ULL	/* in the first block */
#define HOLE_SIZE	0x10000ULL
#define AFTER_HOLE	(HOLE_OFF + HOLE_SIZE + 0x1000)
#define HOLE_VALUE	0x401e401e401e401eULL

static void guest_touch_around_hole(void)
{
	volatile uint64_t *a = (volatile uint64_t *)GPA_A;

	GUEST_SYNC_ARGS(1, a[0], a[AFTER_HOLE / 8], a[BLOCK / 8 + 1]);
	GUEST_SYNC_ARGS(2, a[HOLE_OFF / 8]);
	GUEST_DONE();
}

TEST(prefault_slot_with_a_hole)
{
	const uint64_t tag = 0x401e000000000000ULL;
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_touch_around_hole, 0);
	uint64_t *m = alloc_blocks(false, tag);
	uint8_t *hole = (uint8_t *)m + HOLE_OFF;
	struct ucall uc;

	vm_set_memory_region(vm, SLOT, VAPICVM_MEM_PREFAULT, GPA_A, BLOCKS_SIZE, m);
	ASSERT_EQ(0, munmap(hole, HOLE_SIZE));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(1, uc.args[0]);
	EXPECT_EQ(tag, uc.args[1]);
	EXPECT_EQ(tag | (AFTER_HOLE / 8), uc.args[2]);
	EXPECT_EQ(tag | (BLOCK / 8 + 1), uc.args[3]);
	errno = 0;
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_run(vcpu));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(hole, mmap(hole, HOLE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	*(uint64_t *)hole = HOLE_VALUE;
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	ASSERT_EQ(2, uc.args[0]);
	EXPECT_EQ(HOLE_VALUE, uc.args[1]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Changing slots while the vCPU runs in another thread                */
/* ------------------------------------------------------------------ */

#define MARKER	0xfeedfeedfeedfeedULL

struct poller {
	struct vcpu *vcpu;
	uint64_t mmio_reads, mmio_writes, iterations;
	bool aborted;
	char msg[256];
};

/*
 * The guest spins reading A[0] and reporting progress in A[1] until the
 * read returns something else, which happens once A is no longer RAM and
 * the vCPU thread answers the MMIO read with MARKER.
 */
static void guest_poll(uint64_t check_b)
{
	volatile uint64_t *a = (volatile uint64_t *)GPA_A;
	volatile uint64_t *b = (volatile uint64_t *)GPA_B;
	uint64_t n = 0, v;

	while ((v = a[0]) == PATTERN) {
		n++;
		if (!(n & 0x3f))
			a[1] = n;
	}
	GUEST_ASSERT_EQ(v, MARKER);
	if (check_b)
		GUEST_ASSERT_EQ(b[0], PATTERN);
	GUEST_SYNC_ARGS(1, n);
	GUEST_DONE();
}

static void *poller_thread(void *arg)
{
	struct poller *p = arg;
	struct vapicvm_run *run = p->vcpu->run;
	struct ucall uc;

	for (;;) {
		uint64_t cmd;

		vcpu_run(p->vcpu);
		if (run->exit_reason == VAPICVM_EXIT_MMIO) {
			if (run->mmio.phys_addr == GPA_A && !run->mmio.is_write) {
				memcpy(run->mmio.data, &(uint64_t){ MARKER }, 8);
				p->mmio_reads++;
			} else if (run->mmio.phys_addr == GPA_A + 8 && run->mmio.is_write) {
				p->mmio_writes++;
			} else {
				snprintf(p->msg, sizeof(p->msg), "MMIO %s at %#llx",
					 run->mmio.is_write ? "write" : "read",
					 (unsigned long long)run->mmio.phys_addr);
				p->aborted = true;
				return NULL;
			}
			continue;
		}
		cmd = get_ucall(p->vcpu, &uc);
		if (cmd == UCALL_SYNC) {
			p->iterations = uc.args[1];
		} else if (cmd == UCALL_DONE) {
			return NULL;
		} else {
			snprintf(p->msg, sizeof(p->msg), "exit %s, ucall %lu: %s:%lu %s %s",
				 exit_reason_str(run->exit_reason), (unsigned long)cmd,
				 cmd == UCALL_ABORT ? uc.file : "", (unsigned long)uc.line,
				 cmd == UCALL_ABORT ? uc.expr : "", uc.msg);
			p->aborted = true;
			return NULL;
		}
	}
}

static void change_while_running(struct __test_metadata *_metadata, bool move)
{
	struct vm *vm = vm_create();
	uint64_t *m = alloc_mem(SLOT_SIZE, PATTERN);
	struct poller p = { 0 };
	pthread_t t;
	int i;

	m[0] = PATTERN;
	m[1] = 0;
	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	p.vcpu = vm_add_vcpu(vm, 0, guest_poll, move);
	ASSERT_EQ(0, pthread_create(&t, NULL, poller_thread, &p));
	/* Wait for the guest to be well into its loop. */
	for (i = 0; i < 20000 && *(volatile uint64_t *)&m[1] < 1000; i++)
		usleep(1000);
	EXPECT_GE(*(volatile uint64_t *)&m[1], 1000) TH_LOG("the guest made no progress");
	if (move)
		vm_set_memory_region(vm, SLOT, 0, GPA_B, SLOT_SIZE, m);
	else
		vm_set_memory_region(vm, SLOT, 0, GPA_A, 0, m);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_FALSE(p.aborted) TH_LOG("%s", p.msg);
	EXPECT_EQ(1, p.mmio_reads);
	EXPECT_LE(p.mmio_writes, 1);
	EXPECT_GE(p.iterations, 1000);
	TH_LOG("%llu guest iterations before the slot %s", (unsigned long long)p.iterations,
	       move ? "moved" : "went away");
	vm_free(vm);
	munmap(m, SLOT_SIZE);
}

TEST(move_while_running)
{
	change_while_running(_metadata, true);
}

TEST(delete_while_running)
{
	change_while_running(_metadata, false);
}

/* ------------------------------------------------------------------ */
/* Layouts that must be refused                                        */
/* ------------------------------------------------------------------ */

#define EXPECT_SLOT_ERRNO(vm, slot, flags, gpa, size, hva, err) do {			\
	errno = 0;									\
	EXPECT_EQ(-1, __vm_set_memory_region(vm, slot, flags, gpa, size,		\
					     (uint64_t)(uintptr_t)(hva)));		\
	EXPECT_EQ(err, errno) TH_LOG("slot %u gpa %#llx size %#llx hva %p: errno %d",	\
				     slot, (unsigned long long)(gpa),			\
				     (unsigned long long)(size), (void *)(hva), errno);	\
} while (0)

TEST(misaligned_slots_rejected)
{
	struct vm *vm = vm_create();
	uint8_t *m = (uint8_t *)alloc_mem(SLOT_SIZE, 0);

	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A + 1, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A + 0x800, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE - 1, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, 0x1800, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE, m + 8, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE, m + 0x800, EINVAL);
	/* Nothing was created by the failures. */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, 0, m, EINVAL);
	vm_free(vm);
	munmap(m, SLOT_SIZE);
}

TEST(overlapping_slots_rejected)
{
	struct vm *vm = vm_create();
	uint8_t *m = (uint8_t *)alloc_mem(4 * SLOT_SIZE, 0);

	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	/* Same range, inside, straddling either end, covering it. */
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A, SLOT_SIZE, m + SLOT_SIZE, EEXIST);
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A + 0x1000, 0x1000, m + SLOT_SIZE, EEXIST);
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A - 0x1000, 0x2000, m + SLOT_SIZE, EEXIST);
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A + SLOT_SIZE - 0x1000, 0x2000,
			  m + SLOT_SIZE, EEXIST);
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A - 0x1000, SLOT_SIZE + 0x2000,
			  m + SLOT_SIZE, EEXIST);
	/* Guest RAM (slot 0) starts at 0. */
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, 0x100000, 0x1000, m + SLOT_SIZE, EEXIST);
	/* Moving a slot onto another one. */
	vm_set_memory_region(vm, SLOT + 1, 0, GPA_B, SLOT_SIZE, m + SLOT_SIZE);
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_A + SLOT_SIZE - 0x1000, SLOT_SIZE,
			  m + SLOT_SIZE, EEXIST);
	/* Adjacent is fine. */
	vm_set_memory_region(vm, SLOT + 2, 0, GPA_A + SLOT_SIZE, SLOT_SIZE, m + 2 * SLOT_SIZE);
	vm_set_memory_region(vm, SLOT + 3, 0, GPA_A - SLOT_SIZE, SLOT_SIZE, m + 3 * SLOT_SIZE);
	vm_free(vm);
	munmap(m, 4 * SLOT_SIZE);
}

TEST(existing_slot_keeps_its_memory)
{
	struct vm *vm = vm_create();
	uint8_t *m = (uint8_t *)alloc_mem(2 * SLOT_SIZE, 0);

	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	/* Size or userspace address of an existing slot: no. */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, 2 * SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE / 2, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE, m + SLOT_SIZE, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_B, SLOT_SIZE, m + 0x1000, EINVAL);
	/* Moving and flipping READONLY: yes; repeating the same layout too. */
	vm_set_memory_region(vm, SLOT, 0, GPA_B, SLOT_SIZE, m);
	vm_set_memory_region(vm, SLOT, VAPICVM_MEM_READONLY, GPA_B, SLOT_SIZE, m);
	vm_set_memory_region(vm, SLOT, VAPICVM_MEM_READONLY, GPA_B, SLOT_SIZE, m);
	vm_set_memory_region(vm, SLOT, 0, GPA_A, SLOT_SIZE, m);
	/* Deleted, the slot id is free for anything. */
	vm_set_memory_region(vm, SLOT, 0, GPA_A, 0, NULL);
	vm_set_memory_region(vm, SLOT, 0, GPA_C, 2 * SLOT_SIZE, m);
	vm_free(vm);
	munmap(m, 2 * SLOT_SIZE);
}

#define HUGE_SLOT_SIZE	(1ULL << 38)	/* the largest slot: 256 GiB */
#define HUGE_SLOTS	4

static void guest_touch_huge_slot(void)
{
	*(volatile uint64_t *)GPA_A = PATTERN | 1;
	*(volatile uint64_t *)(GPA_A + 0x80000000ULL) = PATTERN | 2;
	GUEST_DONE();
}

/*
 * A slot costs kernel memory for the pages the guest touches, not for its
 * size: four of the largest slots (whose page arrays alone would take 2 GiB
 * if they were dense) on a machine with less memory than that.
 */
TEST(largest_slots_cost_only_what_the_guest_touches)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_touch_huge_slot, 0);
	uint64_t *m = mmap(NULL, HUGE_SLOT_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int i;

	ASSERT_TRUE(m != MAP_FAILED);
	for (i = 0; i < HUGE_SLOTS; i++)
		ASSERT_EQ(0, __vm_set_memory_region(vm, SLOT + i, 0, GPA_A + i * HUGE_SLOT_SIZE,
						    HUGE_SLOT_SIZE, (uint64_t)(uintptr_t)m))
			TH_LOG("slot %d: %s", SLOT + i, strerror(errno));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(PATTERN | 1, m[0]);
	EXPECT_EQ(PATTERN | 2, m[0x80000000ULL / 8]);
	for (i = 0; i < HUGE_SLOTS; i++)
		EXPECT_EQ(0, __vm_set_memory_region(vm, SLOT + i, 0, 0, 0, 0));
	vm_free(vm);
	munmap(m, HUGE_SLOT_SIZE);
}

TEST(bad_slot_arguments)
{
	struct vm *vm = vm_create();
	int nslots = __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_NR_MEMSLOTS);
	uint8_t *m = (uint8_t *)alloc_mem(SLOT_SIZE, 0);

	/* Deleting a slot that does not exist. */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, 0, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, nslots - 1, 0, 0, 0, NULL, EINVAL);
	/* Slot ids and flags out of range. */
	EXPECT_SLOT_ERRNO(vm, nslots, 0, GPA_A, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, ~0U, 0, GPA_A, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 1U << 3, GPA_A, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 1U << 31, GPA_A, SLOT_SIZE, m, EINVAL);
	/* Guest-physical ranges that wrap or exceed what EPT maps. */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, ~0ULL << 12, SLOT_SIZE, m, EINVAL);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, 1ULL << 52, SLOT_SIZE, m, EINVAL);
	/* More pages than one slot may hold (256 GiB). */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, 0, 1ULL << 39, m, EINVAL);
	/* Userspace ranges that are not userspace. */
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE, 0xffff800000000000ULL, EFAULT);
	EXPECT_SLOT_ERRNO(vm, SLOT, 0, GPA_A, SLOT_SIZE, ~0ULL << 12, EFAULT);
	vm_free(vm);
	munmap(m, SLOT_SIZE);
}

/* ------------------------------------------------------------------ */
/* Locked memory                                                       */
/* ------------------------------------------------------------------ */

#define NOBODY		65534
#define MIB		(1ULL << 20)

static uint64_t locked_kb(void)
{
	char line[128];
	unsigned long kb = ~0UL;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	TEST_ASSERT(kb != ~0UL, "no VmLck in /proc/self/status");
	return kb;
}

/*
 * Leave root for an owner without CAP_IPC_LOCK whose RLIMIT_MEMLOCK allows
 * `room` bytes beyond what it has locked now (the VM's RAM slot, charged
 * while root).
 */
static void become_unprivileged(uint64_t room)
{
	uint64_t limit = locked_kb() * 1024 + room;
	struct rlimit rl = { limit, limit };

	TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit(RLIMIT_MEMLOCK)");
	TEST_ASSERT(!setgid(NOBODY) && !setuid(NOBODY), "setuid(nobody)");
}

TEST(memlock_limit_charges_slots)
{
	struct vm *vm = vm_create();
	uint8_t *m = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t before;

	ASSERT_NE(MAP_FAILED, m);
	become_unprivileged(3 * MIB);
	before = locked_kb();
	/* 2 MiB fits the limit and is charged at once, untouched. */
	vm_set_memory_region(vm, SLOT, 0, GPA_A, 2 * MIB, m);
	EXPECT_EQ(before + 2048, locked_kb());
	/* 2 MiB more does not; the refusal charges nothing. */
	EXPECT_SLOT_ERRNO(vm, SLOT + 1, 0, GPA_B, 2 * MIB, m + 2 * MIB, ENOMEM);
	EXPECT_EQ(before + 2048, locked_kb());
	/* A move keeps its charge, it is not charged twice. */
	vm_set_memory_region(vm, SLOT, 0, GPA_C, 2 * MIB, m);
	EXPECT_EQ(before + 2048, locked_kb());
	/* Deleting gives the charge back: now 3 MiB fits. */
	vm_set_memory_region(vm, SLOT, 0, GPA_C, 0, m);
	EXPECT_EQ(before, locked_kb());
	vm_set_memory_region(vm, SLOT + 1, 0, GPA_B, 3 * MIB, m);
	EXPECT_EQ(before + 3072, locked_kb());
	vm_free(vm);
	munmap(m, 4 * MIB);
}

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_LIMIT	(96 * MIB)
#define HUGE_SLOT	(64ULL << 30)	/* its page array alone: 128 MiB */

/* cgroup2 with the memory controller (/proc/cgroups lists "memory"). */
static bool has_memory_cgroups(void)
{
	char line[256];
	bool fs = false, memory = false;
	FILE *f = fopen("/proc/filesystems", "r");

	while (f && fgets(line, sizeof(line), f))
		fs |= strstr(line, "\tcgroup2\n") != NULL;
	if (f)
		fclose(f);
	f = fopen("/proc/cgroups", "r");
	while (f && fgets(line, sizeof(line), f))
		memory |= !strncmp(line, "memory\t", 7);
	if (f)
		fclose(f);
	return fs && memory;
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v = ~0ULL;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = ~0ULL;
		fclose(f);
	}
	return v;
}

/*
 * In a memory cgroup: a slot over the locked-memory limit is refused
 * before anything is allocated for it, however big (the memory cgroup's
 * peak does not move).  Exit status: 0 ok, 1 the call succeeded or gave the
 * wrong errno, 2 the peak moved.
 */
static int huge_slot_in_cgroup(const char *cg)
{
	char path[256], pid[32];
	uint64_t peak;
	struct vm *vm;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (!write_file(path, pid))
		return 3;
	vm = vm_create();
	become_unprivileged(MIB);
	snprintf(path, sizeof(path), "%s/memory.peak", cg);
	peak = read_u64(path);
	errno = 0;
	r = __vm_set_memory_region(vm, SLOT, 0, 1ULL << 40, HUGE_SLOT, 1ULL << 44);
	if (r != -1 || errno != ENOMEM)
		return 1;
	if (read_u64(path) > peak + 4 * MIB)
		return 2;
	return 0;
}

TEST(memlock_refusal_allocates_nothing)
{
	char cg[128], max[160], limit[32];
	int status;
	pid_t pid;

	TEST_REQUIRE(has_memory_cgroups(), "the kernel has no cgroup2 memory controller");
	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK))
		ASSERT_EQ(0, mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL));
	ASSERT_TRUE(write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory"));
	snprintf(cg, sizeof(cg), CGROUP_ROOT "/vapicvm-memlock-%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755));
	snprintf(max, sizeof(max), "%s/memory.max", cg);
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)CGROUP_LIMIT);
	ASSERT_TRUE(write_file(max, limit));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(huge_slot_in_cgroup(cg));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	rmdir(cg);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("killed by signal %d: the memory cgroup ran out (OOM)", WTERMSIG(status));
	EXPECT_NE(1, WEXITSTATUS(status)) TH_LOG("a slot over RLIMIT_MEMLOCK was not refused with ENOMEM");
	EXPECT_NE(2, WEXITSTATUS(status)) TH_LOG("memory was allocated for a refused slot");
	EXPECT_NE(3, WEXITSTATUS(status)) TH_LOG("could not join the memory cgroup");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN

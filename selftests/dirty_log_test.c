// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page logging (VAPICVM_MEM_LOG_DIRTY_PAGES, VAPICVM_GET_DIRTY_LOG):
 * exactly the pages the guest wrote are reported (reads are not), each
 * call clears the log and write-protects those pages again, logging can
 * be turned on and off on a slot in use, a live copy of a running guest's
 * memory converges and equals the source, and bad arguments get their
 * errno without losing a dirty bit.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define NPAGES		512
#define SLOT_SIZE	(NPAGES * 4096ULL)
#define WORDS		(NPAGES / 64)
#define LIVE_PAGES	64	/* the live copy's working set */
#define LIVE_ROUNDS	20	/* copy rounds while the guest writes */
#define PAGE_U64	512

FIXTURE(dirty) {
	struct vm *vm;
	uint64_t *mem;
};

FIXTURE_SETUP(dirty)
{
	self->vm = vm_create();
	self->mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	memset(self->mem, 0, SLOT_SIZE);
}

FIXTURE_TEARDOWN(dirty)
{
	vm_free(self->vm);
	munmap(self->mem, SLOT_SIZE);
}

static int __get_log(struct vm *vm, uint32_t slot, uint64_t *bitmap)
{
	struct vapicvm_dirty_log log = { .slot = slot, .dirty_bitmap = (uintptr_t)bitmap };

	return __vm_ioctl(vm, VAPICVM_GET_DIRTY_LOG, &log);
}

/* The log's pages, as a bitmap; fails the test if the call does. */
static void get_log(struct vm *vm, uint64_t bitmap[WORDS])
{
	memset(bitmap, 0xa5, WORDS * 8);	/* every word must be written */
	TEST_ASSERT(!__get_log(vm, SLOT, bitmap), "GET_DIRTY_LOG: %s", strerror(errno));
}

static int count_bits(const uint64_t *bitmap, int words)
{
	int n = 0;

	for (int i = 0; i < words; i++)
		n += __builtin_popcountll(bitmap[i]);
	return n;
}

static bool test_page(const uint64_t *bitmap, int page)
{
	return bitmap[page / 64] >> (page % 64) & 1;
}

static uint64_t run_sync(struct __test_metadata *_metadata, struct vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	EXPECT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(stage, uc.args[0]);
	return uc.args[1];
}

static void guest_exact(uint64_t arg)
{
	volatile uint64_t *m = (volatile uint64_t *)GPA;
	uint64_t sum = 0;

	m[0 * PAGE_U64] = 1;
	m[5 * PAGE_U64 + 7] = 1;
	m[130 * PAGE_U64 + 511] = 1;
	m[511 * PAGE_U64] = 1;
	GUEST_SYNC(1);
	for (int i = 0; i < NPAGES; i++)	/* reads only */
		sum += m[i * PAGE_U64];
	GUEST_SYNC_ARGS(2, sum);
	m[5 * PAGE_U64] = 2;
	m[7 * PAGE_U64] = 2;	/* read in stage 2, written now */
	GUEST_SYNC(3);
	GUEST_DONE();
}

/* Exactly the written pages, once each; reads are not writes. */
TEST_F(dirty, exactly_the_written_pages)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_exact, 0);
	uint64_t bitmap[WORDS];
	struct ucall uc;

	EXPECT_EQ(VAPICVM_DIRTY_LOG_ON, __vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
						   (void *)VAPICVM_CAP_DIRTY_LOG) &
					VAPICVM_DIRTY_LOG_ON);
	vm_set_memory_region(self->vm, SLOT, VAPICVM_MEM_LOG_DIRTY_PAGES, GPA, SLOT_SIZE,
			     self->mem);
	get_log(self->vm, bitmap);
	EXPECT_EQ(0, count_bits(bitmap, WORDS));

	run_sync(_metadata, vcpu, 1);
	get_log(self->vm, bitmap);
	EXPECT_EQ(4, count_bits(bitmap, WORDS));
	EXPECT_TRUE(test_page(bitmap, 0));
	EXPECT_TRUE(test_page(bitmap, 5));
	EXPECT_TRUE(test_page(bitmap, 130));
	EXPECT_TRUE(test_page(bitmap, 511));
	get_log(self->vm, bitmap);
	EXPECT_EQ(0, count_bits(bitmap, WORDS)) TH_LOG("the log was not cleared");

	EXPECT_EQ(2, run_sync(_metadata, vcpu, 2));	/* stage 1 wrote 1 at two page starts */
	get_log(self->vm, bitmap);
	EXPECT_EQ(0, count_bits(bitmap, WORDS)) TH_LOG("reads were logged");

	run_sync(_metadata, vcpu, 3);
	get_log(self->vm, bitmap);
	EXPECT_EQ(2, count_bits(bitmap, WORDS));
	EXPECT_TRUE(test_page(bitmap, 5)) TH_LOG("a write after GET_DIRTY_LOG was missed");
	EXPECT_TRUE(test_page(bitmap, 7));
	EXPECT_EQ(2, self->mem[5 * PAGE_U64]);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_write_rounds(uint64_t arg)
{
	volatile uint64_t *m = (volatile uint64_t *)GPA;

	for (uint64_t round = 1;; round++) {
		m[(round % NPAGES) * PAGE_U64] = round;
		GUEST_SYNC(round);
	}
}

#define BIG_SLOT	2
#define BIG_GPA		0x50000000ULL
#define BIG_PAGES	2048	/* four PML logs' worth */

static void guest_touch_then_write(uint64_t arg)
{
	volatile uint64_t *m = (volatile uint64_t *)BIG_GPA;
	uint64_t sum = 0;

	for (int i = 0; i < BIG_PAGES; i++)
		sum += m[i * PAGE_U64];
	GUEST_SYNC_ARGS(1, sum);
	for (int i = 0; i < BIG_PAGES; i++)
		m[i * PAGE_U64 + (i & 511)] = i + 1;
	GUEST_SYNC(2);
	GUEST_DONE();
}

/*
 * Where the CPU has PML, the first write to a clean page costs no exit:
 * the CPU logs it, vapicvm empties the log on exits (and when it is full,
 * four times here).  Without PML each costs an EPT violation.  Either
 * way every page is reported.
 */
TEST_F(dirty, first_writes_logged_by_pml_or_write_faults)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_touch_then_write, 0);
	long cap = vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_DIRTY_LOG);
	size_t size = BIG_PAGES * 4096ULL;
	uint64_t *mem, *bitmap, faults;
	struct vapicvm_dirty_log log = { .slot = BIG_SLOT };
	struct ucall uc;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	bitmap = calloc(BIG_PAGES / 64, 8);
	ASSERT_NE(NULL, bitmap);
	log.dirty_bitmap = (uintptr_t)bitmap;
	vm_set_memory_region(self->vm, BIG_SLOT, VAPICVM_MEM_LOG_DIRTY_PAGES, BIG_GPA, size, mem);
	TH_LOG("dirty logging by %s", cap & VAPICVM_DIRTY_LOG_PML ? "PML" : "write protection");

	run_sync(_metadata, vcpu, 1);
	vm_ioctl(self->vm, VAPICVM_GET_DIRTY_LOG, &log);
	EXPECT_EQ(0, count_bits(bitmap, BIG_PAGES / 64)) TH_LOG("reads were logged");
	faults = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EPT_VIOLATION);
	run_sync(_metadata, vcpu, 2);
	faults = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_EPT_VIOLATION) - faults;
	vm_ioctl(self->vm, VAPICVM_GET_DIRTY_LOG, &log);
	EXPECT_EQ(BIG_PAGES, count_bits(bitmap, BIG_PAGES / 64));
	if (cap & VAPICVM_DIRTY_LOG_PML) {
		EXPECT_GT(16, faults) TH_LOG("%llu write faults with PML",
					     (unsigned long long)faults);
	} else {
		EXPECT_LE(BIG_PAGES, faults);
	}
	EXPECT_EQ(BIG_PAGES, mem[(BIG_PAGES - 1) * PAGE_U64 + ((BIG_PAGES - 1) & 511)]);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_set_memory_region(self->vm, BIG_SLOT, 0, BIG_GPA, 0, mem);
	free(bitmap);
	munmap(mem, size);
}

/* Logging turned on and off on a slot the guest already uses. */
TEST_F(dirty, toggled_on_a_slot_in_use)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_write_rounds, 0);
	uint64_t bitmap[WORDS];

	vm_set_memory_region(self->vm, SLOT, 0, GPA, SLOT_SIZE, self->mem);
	run_sync(_metadata, vcpu, 1);
	EXPECT_EQ(-1, __get_log(self->vm, SLOT, bitmap));
	EXPECT_EQ(ENOENT, errno);
	vm_set_memory_region(self->vm, SLOT, VAPICVM_MEM_LOG_DIRTY_PAGES, GPA, SLOT_SIZE,
			     self->mem);
	run_sync(_metadata, vcpu, 2);
	get_log(self->vm, bitmap);
	EXPECT_EQ(1, count_bits(bitmap, WORDS));
	EXPECT_TRUE(test_page(bitmap, 2));
	EXPECT_EQ(1, self->mem[1 * PAGE_U64]) TH_LOG("memory changed with the flag");
	vm_set_memory_region(self->vm, SLOT, 0, GPA, SLOT_SIZE, self->mem);
	run_sync(_metadata, vcpu, 3);
	EXPECT_EQ(-1, __get_log(self->vm, SLOT, bitmap));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(3, self->mem[3 * PAGE_U64]);
}

static volatile uint64_t live_seed;
static volatile uint32_t live_stop;	/* set by the host */

/* Writes to pseudo-random words of the working set until told to stop. */
static void guest_live(uint64_t arg)
{
	volatile uint64_t *m = (volatile uint64_t *)GPA;
	uint64_t x = live_seed;

	while (!live_stop) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		m[(x >> 33) % LIVE_PAGES * PAGE_U64 + (x >> 20) % PAGE_U64] = x;
	}
	GUEST_DONE();
}

struct live_vcpu {
	struct vcpu *vcpu;
	uint64_t cmd;
	volatile bool done;
};

static void *live_run(void *arg)
{
	struct live_vcpu *l = arg;
	struct ucall uc;

	l->cmd = vcpu_run_ucall(l->vcpu, &uc);
	l->done = true;
	return NULL;
}

/* Copy the pages a log names from src to dst; how many. */
static int copy_dirty(const uint64_t *bitmap, uint64_t *dst, const uint64_t *src)
{
	int n = 0;

	for (int p = 0; p < NPAGES; p++) {
		if (!test_page(bitmap, p))
			continue;
		memcpy(dst + p * PAGE_U64, src + p * PAGE_U64, 4096);
		n++;
	}
	return n;
}

/*
 * A live copy, as a migration makes one: a first full copy, then rounds
 * of copying what the log names while the guest writes, then a last round
 * once it stopped.  The copy must equal the guest's memory.
 */
TEST_F(dirty, live_copy_converges)
{
	struct live_vcpu l = { 0 };
	uint64_t bitmap[WORDS], *copy;
	int rounds = 0, copied = 0;
	pthread_t t;

	live_seed = 0x9e3779b97f4a7c15ULL;
	sync_global_to_guest(self->vm, live_seed);
	l.vcpu = vm_add_vcpu(self->vm, 0, guest_live, 0);
	vm_set_memory_region(self->vm, SLOT, VAPICVM_MEM_LOG_DIRTY_PAGES, GPA, SLOT_SIZE,
			     self->mem);
	copy = malloc(SLOT_SIZE);
	ASSERT_NE(NULL, copy);
	memcpy(copy, self->mem, SLOT_SIZE);
	ASSERT_EQ(0, pthread_create(&t, NULL, live_run, &l));
	for (rounds = 0; rounds < LIVE_ROUNDS && !l.done; rounds++) {
		usleep(2000);
		get_log(self->vm, bitmap);
		copied += copy_dirty(bitmap, copy, self->mem);
	}
	*(volatile uint32_t *)addr_gpa2hva(self->vm, (uintptr_t)&live_stop) = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(UCALL_DONE, l.cmd);
	get_log(self->vm, bitmap);
	copy_dirty(bitmap, copy, self->mem);
	TH_LOG("%d rounds while the guest ran, %d pages copied", rounds, copied);
	EXPECT_EQ(LIVE_ROUNDS, rounds);
	EXPECT_LT(LIVE_ROUNDS, copied) TH_LOG("the guest's writes were not seen while it ran");
	EXPECT_EQ(0, memcmp(copy, self->mem, SLOT_SIZE));
	for (int p = LIVE_PAGES; p < NPAGES; p++)
		EXPECT_EQ(0, test_page(bitmap, p));
	free(copy);
}

/* Bad arguments; a buffer that cannot be written loses no dirty bit. */
TEST_F(dirty, rejects_bad_arguments)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_write_rounds, 0);
	struct vapicvm_dirty_log log = { .slot = SLOT };
	uint64_t bitmap[WORDS];
	int fd = self->vm->fd;

	EXPECT_EQ(-1, __get_log(self->vm, SLOT, bitmap));	/* no such slot */
	EXPECT_EQ(ENOENT, errno);
	vm_set_memory_region(self->vm, SLOT, VAPICVM_MEM_LOG_DIRTY_PAGES, GPA, SLOT_SIZE,
			     self->mem);
	run_sync(_metadata, vcpu, 1);
	log.dirty_bitmap = (uintptr_t)bitmap;
	log.slot = 32;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_DIRTY_LOG, &log, EINVAL));
	log.slot = SLOT;
	log.pad = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_DIRTY_LOG, &log, EINVAL));
	log.pad = 0;
	log.reserved[1] = 1;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_DIRTY_LOG, &log, EINVAL));
	log.reserved[1] = 0;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_DIRTY_LOG, (void *)8, EFAULT));
	log.dirty_bitmap = 8;
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_GET_DIRTY_LOG, &log, EFAULT));
	get_log(self->vm, bitmap);
	EXPECT_EQ(1, count_bits(bitmap, WORDS)) TH_LOG("EFAULT lost the log");
	EXPECT_TRUE(test_page(bitmap, 1));
	EXPECT_EQ(-1, __get_log(self->vm, 0, bitmap));	/* slot 0 does not log */
	EXPECT_EQ(ENOENT, errno);
}

TEST_HARNESS_MAIN

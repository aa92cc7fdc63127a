// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID: GET_SUPPORTED_CPUID, SET_CPUID applied to the guest
 * (custom leaves, per-index leaves, per-vCPU tables, an empty table),
 * feature bits filtered to what vapicvm virtualizes, the fields filled in
 * per vCPU and per state, and RDTSCP/RDPID, #UD unless the guest's CPUID
 * offers them.
 */
#include <sched.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define CPUID_1_ECX_MONITOR	(1U << 3)
#define CPUID_1_ECX_VMX		(1U << 5)
#define CPUID_1_ECX_SMX		(1U << 6)
#define CPUID_1_ECX_XSAVE	(1U << 26)
#define CPUID_1_ECX_OSXSAVE	(1U << 27)
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_EDX_MTRR	(1U << 12)
#define CPUID_7_ECX_RDPID	(1U << 22)
#define CPUID_80000001_EDX_RDTSCP (1U << 27)

struct cpuid_table {
	struct vapicvm_cpuid hdr;
	struct vapicvm_cpuid_entry e[VAPICVM_MAX_CPUID_ENTRIES + 1];
};

static void get_supported(struct __test_metadata *_metadata, int dev, struct cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	ASSERT_EQ(0, __sys_ioctl(dev, VAPICVM_GET_SUPPORTED_CPUID, &t->hdr));
	ASSERT_GT(t->hdr.nent, 4);
	ASSERT_LE(t->hdr.nent, VAPICVM_MAX_CPUID_ENTRIES);
}

static struct vapicvm_cpuid_entry *find(struct cpuid_table *t, uint32_t fn, uint32_t idx)
{
	unsigned int i;

	for (i = 0; i < t->hdr.nent; i++)
		if (t->e[i].function == fn &&
		    (!(t->e[i].flags & VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) ||
		     t->e[i].index == idx))
			return &t->e[i];
	return NULL;
}

/* The guest answers queries[] in order, one SYNC per query. */
struct query {
	uint32_t fn, idx;
};

static struct query queries[16];
static unsigned int nr_queries;

static void guest_cpuid_queries(void)
{
	unsigned int i;

	for (i = 0; i < nr_queries; i++) {
		uint32_t a, b, c, d;

		guest_cpuid(queries[i].fn, queries[i].idx, &a, &b, &c, &d);
		GUEST_SYNC_ARGS(i, a, b, c, d);
	}
	GUEST_DONE();
}

struct regs4 {
	uint32_t a, b, c, d;
};

static struct vcpu *add_query_vcpu(struct vm *vm, uint32_t id)
{
	struct vcpu *vcpu = vm_add_vcpu(vm, id, guest_cpuid_queries, 0);

	sync_global_to_guest(vm, queries);
	sync_global_to_guest(vm, nr_queries);
	return vcpu;
}

static void run_queries(struct __test_metadata *_metadata, struct vcpu *vcpu, struct regs4 *out)
{
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < nr_queries; i++) {
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
		ASSERT_EQ(i, uc.args[0]);
		out[i] = (struct regs4){ uc.args[1], uc.args[2], uc.args[3], uc.args[4] };
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void set_cpuid(struct __test_metadata *_metadata, struct vcpu *vcpu,
		      struct cpuid_table *t)
{
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &t->hdr));
}

TEST(supported_cpuid)
{
	int dev = open_dev();
	static struct cpuid_table t;
	struct vapicvm_cpuid_entry *e;
	char sig[13] = "";
	uint32_t needed;

	/* Too small: E2BIG with the size needed, and no entry written. */
	memset(&t, 0xee, sizeof(t));
	t.hdr.nent = 1;
	t.hdr.padding = 0;
	EXPECT_TRUE(ioctl_fails_with(dev, VAPICVM_GET_SUPPORTED_CPUID, &t, E2BIG));
	needed = t.hdr.nent;
	EXPECT_GT(needed, 1);
	EXPECT_EQ(0xeeeeeeee, t.e[0].function);
	/* Exactly enough: all of them; the entries beyond are untouched. */
	t.hdr.nent = needed;
	EXPECT_EQ(0, __sys_ioctl(dev, VAPICVM_GET_SUPPORTED_CPUID, &t.hdr));
	EXPECT_EQ(needed, t.hdr.nent);
	EXPECT_EQ(0xeeeeeeee, t.e[needed].function);
	/* Padding the kernel writes is zero. */
	EXPECT_EQ(0, t.e[0].padding[0] | t.e[0].padding[1] | t.e[0].padding[2]);
	EXPECT_EQ(0, t.e[needed - 1].padding[0] | t.e[needed - 1].padding[2]);

	get_supported(_metadata, dev, &t);
	e = find(&t, 1, 0);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, e->ecx & CPUID_1_ECX_VMX) TH_LOG("no nested VMX");
	EXPECT_EQ(0, e->ecx & CPUID_1_ECX_SMX);
	EXPECT_EQ(0, e->ecx & CPUID_1_ECX_MONITOR) TH_LOG("MONITOR/MWAIT exit with #UD");
	EXPECT_TRUE(e->ecx & CPUID_1_ECX_HYPERVISOR);
	EXPECT_EQ(0, e->edx & CPUID_1_EDX_MTRR);
	e = find(&t, 0x40000000, 0);
	ASSERT_NE(NULL, e) TH_LOG("no hypervisor leaf");
	EXPECT_EQ(0x40000000, e->eax);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	EXPECT_STREQ("vapicvmvapic", sig);
	e = find(&t, 0, 0);
	ASSERT_NE(NULL, e);
	EXPECT_GE(e->eax, 1);

	t.hdr.padding = 1;
	EXPECT_TRUE(ioctl_fails_with(dev, VAPICVM_GET_SUPPORTED_CPUID, &t, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(dev, VAPICVM_GET_SUPPORTED_CPUID, NULL, EFAULT));
	close(dev);
}

/* The default table is the supported one, as the guest sees it. */
/*
 * The table is the same for every call, whichever host CPU runs it: the
 * host's APIC IDs (leaf 1 EBX[31:24], leaf 0xb EDX) are not in it.
 */
TEST(supported_cpuid_same_on_every_cpu)
{
	static struct cpuid_table first, t;
	int dev = open_dev(), cpu, ncpus = 0, diff;
	cpu_set_t all, one;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		struct vapicvm_cpuid_entry *e;
		unsigned int i;

		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
		get_supported(_metadata, dev, ncpus++ ? &t : &first);
		if (ncpus == 1) {
			e = find(&first, 1, 0);
			ASSERT_TRUE(e != NULL);
			EXPECT_EQ(0, e->ebx >> 24) TH_LOG("CPU %d: leaf 1 EBX %#x", cpu, e->ebx);
			for (i = 0; i < 2; i++) {
				e = find(&first, 0xb, i);
				if (e)
					EXPECT_EQ(0, e->edx) TH_LOG("CPU %d: leaf 0xb.%u EDX", cpu, i);
			}
			continue;
		}
		ASSERT_EQ(first.hdr.nent, t.hdr.nent);
		for (i = 0, diff = 0; i < t.hdr.nent; i++) {
			if (memcmp(&first.e[i], &t.e[i], sizeof(t.e[i]))) {
				TH_LOG("CPU %d: leaf %#x.%u differs", cpu, t.e[i].function,
				       t.e[i].index);
				diff++;
			}
		}
		EXPECT_EQ(0, diff);
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	TH_LOG("%d CPUs compared", ncpus);
	close(dev);
}

TEST(default_table)
{
	static struct cpuid_table t;
	struct vm *vm = vm_create();
	struct vcpu *vcpu;
	struct regs4 r[3];
	struct vapicvm_cpuid_entry *e;

	get_supported(_metadata, vm->dev_fd, &t);
	queries[0] = (struct query){ 1, 0 };
	queries[1] = (struct query){ 0x40000000, 0 };
	queries[2] = (struct query){ 0x80000001, 0 };
	nr_queries = 3;
	vcpu = add_query_vcpu(vm, 0);
	run_queries(_metadata, vcpu, r);

	e = find(&t, 1, 0);
	EXPECT_EQ(0, r[0].c & CPUID_1_ECX_VMX);
	EXPECT_TRUE(r[0].c & CPUID_1_ECX_HYPERVISOR);
	EXPECT_EQ(e->ecx & ~CPUID_1_ECX_OSXSAVE, r[0].c & ~CPUID_1_ECX_OSXSAVE);
	EXPECT_EQ(e->edx, r[0].d);
	EXPECT_EQ(e->eax, r[0].a);
	e = find(&t, 0x40000000, 0);
	EXPECT_EQ(e->eax, r[1].a);
	EXPECT_EQ(e->ebx, r[1].b);
	EXPECT_EQ(e->ecx, r[1].c);
	EXPECT_EQ(e->edx, r[1].d);
	e = find(&t, 0x80000001, 0);
	EXPECT_EQ(e->ecx, r[2].c);
	EXPECT_EQ(e->edx, r[2].d);
	vm_free(vm);
}

TEST(custom_leaves_visible)
{
	static struct cpuid_table t;
	struct vm *vm = vm_create();
	struct vcpu *vcpu;
	struct regs4 r[5];
	unsigned int n;

	get_supported(_metadata, vm->dev_fd, &t);
	n = t.hdr.nent;
	ASSERT_LE(n + 3, VAPICVM_MAX_CPUID_ENTRIES);
	t.e[n++] = (struct vapicvm_cpuid_entry){ .function = 0x40000010, .eax = 0x11111111,
						  .ebx = 0x22222222, .ecx = 0x33333333,
						  .edx = 0x44444444 };
	t.e[n++] = (struct vapicvm_cpuid_entry){ .function = 0x40000011, .index = 0,
						  .flags = VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX,
						  .eax = 0xa0 };
	t.e[n++] = (struct vapicvm_cpuid_entry){ .function = 0x40000011, .index = 7,
						  .flags = VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX,
						  .eax = 0xa7 };
	t.hdr.nent = n;

	queries[0] = (struct query){ 0x40000010, 0 };
	queries[1] = (struct query){ 0x40000010, 99 };	/* index not significant */
	queries[2] = (struct query){ 0x40000011, 0 };
	queries[3] = (struct query){ 0x40000011, 7 };
	queries[4] = (struct query){ 0x40000012, 0 };	/* not in the table */
	nr_queries = 5;
	vcpu = add_query_vcpu(vm, 0);
	set_cpuid(_metadata, vcpu, &t);
	run_queries(_metadata, vcpu, r);

	EXPECT_EQ(0x11111111, r[0].a);
	EXPECT_EQ(0x22222222, r[0].b);
	EXPECT_EQ(0x33333333, r[0].c);
	EXPECT_EQ(0x44444444, r[0].d);
	EXPECT_EQ(0x11111111, r[1].a);
	EXPECT_EQ(0xa0, r[2].a);
	EXPECT_EQ(0xa7, r[3].a);
	EXPECT_EQ(0, r[4].a | r[4].b | r[4].c | r[4].d);
	vm_free(vm);
}

/* Each vCPU has its own table. */
TEST(tables_are_per_vcpu)
{
	static struct cpuid_table t;
	struct vm *vm = vm_create();
	struct vcpu *a, *b;
	struct regs4 ra[1], rb[1];

	queries[0] = (struct query){ 0x40000020, 0 };
	nr_queries = 1;
	a = add_query_vcpu(vm, 0);
	b = add_query_vcpu(vm, 1);
	memset(&t, 0, sizeof(t));
	t.hdr.nent = 1;
	t.e[0] = (struct vapicvm_cpuid_entry){ .function = 0x40000020, .eax = 0xaaaa };
	set_cpuid(_metadata, a, &t);
	t.e[0].eax = 0xbbbb;
	set_cpuid(_metadata, b, &t);
	run_queries(_metadata, a, ra);
	run_queries(_metadata, b, rb);
	EXPECT_EQ(0xaaaa, ra[0].a);
	EXPECT_EQ(0xbbbb, rb[0].a);
	vm_free(vm);
}

/* Userspace asks for everything: it gets what vapicvm virtualizes. */
TEST(unsupported_bits_filtered)
{
	static struct cpuid_table sup, t;
	struct vm *vm = vm_create();
	struct vcpu *vcpu;
	struct vapicvm_cpuid_entry *s1, *s7, *sx;
	struct regs4 r[3];
	unsigned int i;

	get_supported(_metadata, vm->dev_fd, &sup);
	t = sup;
	for (i = 0; i < t.hdr.nent; i++) {
		struct vapicvm_cpuid_entry *e = &t.e[i];

		if ((e->function == 1 || e->function == 0x80000001) ||
		    (e->function == 7 && e->index == 0)) {
			e->ecx = ~0U;
			e->edx = ~0U;
			if (e->function == 7)
				e->ebx = ~0U;
		}
	}
	s1 = find(&sup, 1, 0);
	s7 = find(&sup, 7, 0);
	sx = find(&sup, 0x80000001, 0);
	ASSERT_NE(NULL, s1);
	ASSERT_NE(NULL, sx);

	queries[0] = (struct query){ 1, 0 };
	queries[1] = (struct query){ 7, 0 };
	queries[2] = (struct query){ 0x80000001, 0 };
	nr_queries = 3;
	vcpu = add_query_vcpu(vm, 0);
	set_cpuid(_metadata, vcpu, &t);
	run_queries(_metadata, vcpu, r);

	EXPECT_EQ(0, r[0].c & CPUID_1_ECX_VMX) TH_LOG("VMX reached the guest");
	EXPECT_EQ(0, r[0].c & CPUID_1_ECX_SMX);
	EXPECT_EQ(0, r[0].c & CPUID_1_ECX_OSXSAVE) TH_LOG("OSXSAVE with CR4.OSXSAVE clear");
	EXPECT_EQ(0, r[0].c & ~s1->ecx) TH_LOG("leaf 1 ECX %#x, supported %#x", r[0].c, s1->ecx);
	EXPECT_EQ(0, r[0].d & ~s1->edx) TH_LOG("leaf 1 EDX %#x, supported %#x", r[0].d, s1->edx);
	EXPECT_EQ(0, r[0].d & CPUID_1_EDX_MTRR);
	if (s7) {
		EXPECT_EQ(0, r[1].b & ~s7->ebx) TH_LOG("leaf 7 EBX %#x, supported %#x", r[1].b,
						       s7->ebx);
		EXPECT_EQ(0, r[1].c & ~s7->ecx);
		EXPECT_EQ(0, r[1].d & ~s7->edx);
	}
	EXPECT_EQ(0, r[2].c & ~sx->ecx);
	EXPECT_EQ(0, r[2].d & ~sx->edx);
	vm_free(vm);
}

/* The bits that depend on the vCPU and its state. */
static void guest_dynamic_bits(void)
{
	uint32_t a, b, c, d, b2, c2, d2;
	uint64_t cr4;

	guest_cpuid(1, 0, &a, &b, &c, &d);
	guest_cpuid(0xb, 0, &a, &b2, &c2, &d2);
	GUEST_SYNC_ARGS(1, b >> 24, d2, c & CPUID_1_ECX_OSXSAVE);
	if (c & CPUID_1_ECX_XSAVE) {
		__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ULL << 18)));
		guest_cpuid(1, 0, &a, &b, &c2, &d);
		GUEST_ASSERT(c2 & CPUID_1_ECX_OSXSAVE);
		/* XSAVE area size for XCR0 = x87 | SSE. */
		__asm__ volatile("xsetbv" : : "c"(0), "a"(3), "d"(0));
		guest_cpuid(0xd, 0, &a, &b, &c2, &d);
		GUEST_ASSERT_EQ(b, 576);
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
		guest_cpuid(1, 0, &a, &b, &c2, &d);
		GUEST_ASSERT(!(c2 & CPUID_1_ECX_OSXSAVE));
	}
	GUEST_DONE();
}

TEST(per_vcpu_and_per_state_bits)
{
	struct vm *vm = vm_create();
	struct vcpu *v0 = vm_add_vcpu(vm, 0, guest_dynamic_bits, 0);
	struct vcpu *v5 = vm_add_vcpu(vm, 5, guest_dynamic_bits, 0);
	struct ucall uc;

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(v0, &uc));
	EXPECT_EQ(0, uc.args[1]) TH_LOG("CPUID.1:EBX APIC ID");
	EXPECT_EQ(0, uc.args[2]) TH_LOG("CPUID.0xB:EDX x2APIC ID");
	EXPECT_EQ(0, uc.args[3]) TH_LOG("OSXSAVE with CR4.OSXSAVE clear");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(v0, &uc));
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(v5, &uc));
	EXPECT_EQ(5, uc.args[1]);
	EXPECT_EQ(5, uc.args[2]);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(v5, &uc));
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* RDTSCP and RDPID: #UD when the guest's CPUID does not offer them     */
/* ------------------------------------------------------------------ */

static volatile uint64_t ud_count;
static volatile uint64_t ud_skip;

static void guest_ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += ud_skip;
}

static void guest_rdtscp_rdpid(void)
{
	uint32_t a, b, c, d;
	uint64_t v;

	guest_cpuid(0x80000001, 0, &a, &b, &c, &d);
	GUEST_ASSERT(!(d & CPUID_80000001_EDX_RDTSCP));
	guest_cpuid(7, 0, &a, &b, &c, &d);
	GUEST_ASSERT(!(c & CPUID_7_ECX_RDPID));
	/* Not in the guest's CPUID, and indeed not there. */
	ud_skip = 3;
	__asm__ volatile("rdtscp" : "=a"(a), "=d"(b), "=c"(c) : : "memory");
	GUEST_ASSERT_EQ(ud_count, 1);
	ud_skip = 4;
	__asm__ volatile("rdpid %%rax" : "=a"(v) : : "memory");
	GUEST_ASSERT_EQ(ud_count, 2);
	GUEST_DONE();
}

TEST(rdtscp_and_rdpid_follow_the_guest_cpuid)
{
	static struct cpuid_table t;
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_rdtscp_rdpid, 0);
	struct vapicvm_cpuid_entry *e;
	struct ucall uc;

	get_supported(_metadata, vm->dev_fd, &t);
	e = find(&t, 0x80000001, 0);
	ASSERT_NE(NULL, e);
	e->edx &= ~CPUID_80000001_EDX_RDTSCP;
	e = find(&t, 7, 0);
	if (e)
		e->ecx &= ~CPUID_7_ECX_RDPID;
	set_cpuid(_metadata, vcpu, &t);
	vm_install_handler(vm, 6, guest_ud_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* An empty table: zeros, but the per-vCPU fields are still filled in. */
TEST(empty_table)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu;
	struct vapicvm_cpuid hdr = { .nent = 0 };
	struct regs4 r[3];

	queries[0] = (struct query){ 0, 0 };
	queries[1] = (struct query){ 1, 0 };
	queries[2] = (struct query){ 0xb, 0 };
	nr_queries = 3;
	vcpu = add_query_vcpu(vm, 3);
	vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &hdr);
	run_queries(_metadata, vcpu, r);
	EXPECT_EQ(0, r[0].a | r[0].b | r[0].c | r[0].d);
	EXPECT_EQ(3U << 24, r[1].b) TH_LOG("CPUID.1:EBX[31:24] is the APIC ID");
	EXPECT_EQ(0, r[1].a | r[1].c | r[1].d) TH_LOG("no APIC bit when the table lacks it");
	EXPECT_EQ(3, r[2].d) TH_LOG("CPUID.0xB:EDX is the x2APIC ID");
	EXPECT_EQ(0, r[2].a | r[2].b | r[2].c);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Bad arguments                                                       */
/* ------------------------------------------------------------------ */

TEST(set_cpuid_bad_arguments)
{
	static struct cpuid_table t;
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_cpuid *h;
	char *page;

	memset(&t, 0, sizeof(t));
	t.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES + 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, &t, E2BIG));
	t.hdr.nent = ~0U;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, &t, E2BIG));
	t.hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &t.hdr));
	t.hdr.nent = 0;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, &t.hdr));

	t.hdr.nent = 1;
	t.hdr.padding = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, &t, EINVAL));
	t.hdr.padding = 0;
	t.e[0].flags = 2;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, &t, EINVAL));
	t.e[0].flags = 0;
	t.e[0].padding[2] = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, &t, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, NULL, EFAULT));

	/* Entries running into an unmapped page. */
	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, munmap(page + 4096, 4096));
	h = (struct vapicvm_cpuid *)(page + 4096 - sizeof(*h) - sizeof(h->entries[0]));
	h->nent = 2;
	h->padding = 0;
	memset(h->entries, 0, sizeof(h->entries[0]));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_CPUID, h, EFAULT));
	h->nent = 1;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_CPUID, h));
	munmap(page, 4096);
	vm_free(vm);
}

TEST_HARNESS_MAIN

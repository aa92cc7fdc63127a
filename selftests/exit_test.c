// SPDX-License-Identifier: GPL-2.0
/*
 * The exits that end a guest or tell userspace something went wrong:
 * triple fault (SHUTDOWN), invalid guest state (FAIL_ENTRY), HLT with
 * interrupts off (HLT), and instructions vapicvm does not emulate
 * (INTERNAL_ERROR); and exits handled in the kernel that the guest sees the
 * result of (VMCALL, reflected #DB).
 */
#include <asm/ldt.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define EXIT_REASON_INVALID_STATE	33
#define FAILED_ENTRY			0x80000000U

static void guest_ud2(void)
{
	__asm__ volatile("ud2");
	GUEST_DONE();
}

static void expect_shutdown(struct __test_metadata *_metadata, struct vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	ASSERT_EQ(0, r) TH_LOG("RUN: %s", strerror(errno));
	ASSERT_EQ(VAPICVM_EXIT_SHUTDOWN, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
}

/* #UD with an empty IDT: #GP, #DF, then shutdown. */
TEST(triple_fault_empty_idt)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_ud2, 0);
	struct vapicvm_sregs s;

	vcpu_get_sregs(vcpu, &s);
	s.idt.limit = 0;
	vcpu_set_sregs(vcpu, &s);
	expect_shutdown(_metadata, vcpu);
	vm_free(vm);
}

/* A page fault on the first fetch with page tables that map nothing. */
TEST(triple_fault_no_page_tables)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_ud2, 0);
	struct vapicvm_sregs s;

	vcpu_get_sregs(vcpu, &s);
	s.cr3 = GUEST_FREE;	/* zeroed memory: no present entry */
	vcpu_set_sregs(vcpu, &s);
	expect_shutdown(_metadata, vcpu);
	vm_free(vm);
}

/* The guest asks for it itself, in real mode: LIDT of a null IDT, INT3. */
TEST(triple_fault_real_mode)
{
	/* lidt [0x7010]; int3; hlt */
	static const uint8_t code[] = { 0x0f, 0x01, 0x1e, 0x10, 0x70, 0xcc, 0xf4 };
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);

	memcpy(addr_gpa2hva(vm, 0x7000), code, sizeof(code));
	memset(addr_gpa2hva(vm, 0x7010), 0, 6);
	vcpu_setup_real_mode(vcpu, 0, 0x7000);
	expect_shutdown(_metadata, vcpu);
	vm_free(vm);
}

static void guest_done(void)
{
	GUEST_DONE();
}

static void expect_fail_entry(struct __test_metadata *_metadata, struct vcpu *vcpu,
			      uint64_t qualification)
{
	struct vapicvm_run *run = vcpu->run;
	int r;

	/* Stale bytes: the kernel must zero the padding of what it fills in. */
	memset(&run->fail_entry, 0xff, sizeof(run->fail_entry));
	r = __vcpu_run(vcpu);
	ASSERT_EQ(0, r) TH_LOG("RUN: %s", strerror(errno));
	ASSERT_EQ(VAPICVM_EXIT_FAIL_ENTRY, run->exit_reason)
		TH_LOG("exit %s, internal %u/%#llx", exit_reason_str(run->exit_reason),
		       run->internal.suberror, (unsigned long long)run->internal.data[0]);
	EXPECT_EQ(FAILED_ENTRY | EXIT_REASON_INVALID_STATE,
		  run->fail_entry.hardware_entry_failure_reason);
	EXPECT_EQ(qualification, run->fail_entry.exit_qualification);
	EXPECT_EQ(0, run->fail_entry.pad);
	EXPECT_LT(run->fail_entry.cpu, 4096);
}

/* An unusable TR: VM entry checks the guest state and refuses it. */
TEST(invalid_state_unusable_tr)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_done, 0);
	struct vapicvm_sregs s, good;
	struct ucall uc;

	vcpu_get_sregs(vcpu, &good);
	s = good;
	s.tr.present = 0;
	s.tr.unusable = 1;
	vcpu_set_sregs(vcpu, &s);
	expect_fail_entry(_metadata, vcpu, 0);
	/* Again: nothing changed, the same answer. */
	expect_fail_entry(_metadata, vcpu, 0);
	/* Repaired, the vCPU runs. */
	vcpu_set_sregs(vcpu, &good);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* RFLAGS.VM in a 64-bit guest. */
TEST(invalid_state_vm86_in_long_mode)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_done, 0);
	struct vapicvm_regs r;
	struct ucall uc;

	vcpu_get_regs(vcpu, &r);
	r.rflags |= 1ULL << 17;
	vcpu_set_regs(vcpu, &r);
	expect_fail_entry(_metadata, vcpu, 0);
	r.rflags &= ~(1ULL << 17);
	vcpu_set_regs(vcpu, &r);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/* CS.L and CS.D both set in IA-32e mode. */
TEST(invalid_state_cs_l_and_d)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_done, 0);
	struct vapicvm_sregs s;

	vcpu_get_sregs(vcpu, &s);
	s.cs.db = 1;
	vcpu_set_sregs(vcpu, &s);
	expect_fail_entry(_metadata, vcpu, 0);
	vm_free(vm);
}

/* PAE paging with a bad page-directory-pointer entry: qualification 2. */
TEST(invalid_state_pae_pdpte)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	uint64_t *pdpt = addr_gpa2hva(vm, GUEST_FREE);
	struct vapicvm_sregs s;

	pdpt[0] = (GUEST_FREE + 0x1000) | 1 | (1 << 1);	/* bit 1 is reserved */
	vcpu_get_sregs(vcpu, &s);
	s.cr0 = 0x80000011;	/* PG ET PE */
	s.cr4 = 0x20;		/* PAE */
	s.cr3 = GUEST_FREE;
	s.cs = (struct vapicvm_segment){ .limit = 0xffffffff, .selector = GDT_CODE32,
					 .type = 11, .present = 1, .s = 1, .db = 1, .g = 1 };
	s.ds = (struct vapicvm_segment){ .limit = 0xffffffff, .selector = GDT_DATA,
					 .type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	s.es = s.ss = s.fs = s.gs = s.ds;
	vcpu_set_sregs(vcpu, &s);
	expect_fail_entry(_metadata, vcpu, 2);
	vm_free(vm);
}

/* HLT with IF=0 stops the vCPU; userspace may make it runnable again. */
static void guest_cli_hlt(void)
{
	__asm__ volatile("cli; hlt" ::: "memory");
	GUEST_SYNC(1);
	__asm__ volatile("cli; hlt" ::: "memory");
	GUEST_DONE();
}

TEST(hlt_with_interrupts_off)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_cli_hlt, 0);
	struct vapicvm_mp_state mp;
	struct vapicvm_regs r;
	struct ucall uc;
	uint8_t *insn;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_ioctl(vcpu, VAPICVM_GET_MP_STATE, &mp);
	EXPECT_EQ(VAPICVM_MP_STATE_HALTED, mp.mp_state);
	vcpu_get_regs(vcpu, &r);
	insn = addr_gpa2hva(vm, r.rip - 1);
	EXPECT_EQ(0xf4, *insn) TH_LOG("RIP is not just past the HLT");
	EXPECT_EQ(0, r.rflags & 0x200);

	mp.mp_state = VAPICVM_MP_STATE_RUNNABLE;
	vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_HLT, vcpu->run->exit_reason);
	vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(2, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_HLT));
	vm_free(vm);
}

/* VMCALL: no hypercalls exist; the guest gets -KVM_ENOSYS and goes on. */
static void guest_vmcall(void)
{
	uint64_t rax = 0x1234, rbx = 0xb, rcx = 0xc, rdx = 0xd;

	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	GUEST_ASSERT_EQ(rax, (uint64_t)-1000);
	GUEST_ASSERT_EQ(rbx, 0xb);
	GUEST_ASSERT_EQ(rcx, 0xc);
	GUEST_ASSERT_EQ(rdx, 0xd);
	GUEST_DONE();
}

TEST(vmcall_returns_enosys)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_vmcall, 0);
	struct ucall uc;

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(1, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_VMCALL));
	vm_free(vm);
}

/* #DB is intercepted (CVE-2015-8104) and must reach the guest all the same. */
static volatile uint64_t db_count, db_dr6;

static void guest_db_handler(struct ex_regs *regs)
{
	uint64_t dr6;

	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	db_dr6 = dr6;
	db_count++;
	regs->rflags &= ~0x100ULL;	/* TF */
}

static void guest_single_step(void)
{
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "nop\n\t"
			 "nop\n\t" ::: "memory", "cc");
	GUEST_ASSERT_EQ(db_count, 1);
	GUEST_ASSERT(db_dr6 & (1 << 14));	/* BS */
	GUEST_DONE();
}

TEST(single_step_db_reflected)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_single_step, 0);
	struct ucall uc;

	vm_install_handler(vm, 1, guest_db_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_NMI), 1) TH_LOG("the #DB did not exit");
	vm_free(vm);
}

/*
 * Debug registers are the guest's: a data breakpoint it sets in DR0/DR7
 * fires on its write, with DR6.B0.
 */
static volatile uint32_t watched;

static void guest_data_breakpoint(void)
{
	uint64_t dr0, dr7;

	__asm__ volatile("mov %0, %%dr0" : : "r"((uint64_t)(uintptr_t)&watched));
	/* L0, break on data writes (RW0 = 01), 4 bytes (LEN0 = 11). */
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x1ULL | (1ULL << 16) | (3ULL << 18)));
	__asm__ volatile("mov %%dr0, %0" : "=r"(dr0));
	__asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_ASSERT_EQ(dr0, (uint64_t)(uintptr_t)&watched);
	GUEST_ASSERT_EQ(dr7 & 0xf00ff, 0xd0001);
	db_count = 0;
	watched = 1;
	GUEST_ASSERT_EQ(db_count, 1);
	GUEST_ASSERT(db_dr6 & 1);		/* B0 */
	GUEST_ASSERT(!(db_dr6 & (1 << 14)));	/* not a single step */
	/* Reads do not trigger a write breakpoint; other addresses neither. */
	GUEST_ASSERT_EQ(watched, 1);
	db_count = 0;
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400ULL));
	watched = 2;
	GUEST_ASSERT_EQ(db_count, 0);
	GUEST_DONE();
}

TEST(guest_data_breakpoints_work)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_data_breakpoint, 0);
	struct ucall uc;

	vm_install_handler(vm, 1, guest_db_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	vm_free(vm);
}

/*
 * And the host's are the host's: a hardware watchpoint of the VMM process
 * (perf, a debugger) still fires after RUN, although every VM exit clears
 * DR7 and the guest may have used DR0-DR3 meanwhile.
 */
static volatile uint32_t host_watched;

/* The guest enables a breakpoint of its own, on an address it never uses. */
static void guest_own_breakpoint(void)
{
	__asm__ volatile("mov %0, %%dr0" : : "r"(0x3ffff000ULL));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x401ULL));
	GUEST_SYNC(1);
	GUEST_DONE();
}

static uint64_t perf_count(int fd)
{
	uint64_t v = ~0ULL;

	TEST_ASSERT(read(fd, &v, sizeof(v)) == sizeof(v), "read perf counter");
	return v;
}

TEST(host_breakpoint_survives_run)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(attr),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uint64_t)(uintptr_t)&host_watched,
		.bp_len = HW_BREAKPOINT_LEN_4,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	struct vm *vm;
	struct vcpu *vcpu;
	struct ucall uc;
	int fd;

	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	TEST_REQUIRE(fd >= 0, "no hardware breakpoint for perf: %s", strerror(errno));
	host_watched = 1;
	ASSERT_EQ(1, perf_count(fd)) TH_LOG("the watchpoint does not work at all");
	vm = vm_create();
	vcpu = vm_add_vcpu(vm, 0, guest_own_breakpoint, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	host_watched = 2;
	EXPECT_EQ(2, perf_count(fd)) TH_LOG("the host's watchpoint was lost in RUN");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
	host_watched = 2;
	EXPECT_EQ(3, perf_count(fd)) TH_LOG("the host's watchpoint was lost in RUN");
	vm_free(vm);
	host_watched = 3;
	EXPECT_EQ(4, perf_count(fd));
	close(fd);
}

/* What the decoder does not handle is an internal error, not a guess. */
static void guest_string_io(void)
{
	static const char buf[4] = "abc";

	__asm__ volatile("rep outsb" : : "S"(buf), "c"(3), "d"(0x80) : "memory");
	GUEST_DONE();
}

/* MUL with a memory operand: not among the forms the MMIO emulator decodes. */
static void guest_mmio_mul(void)
{
	__asm__ volatile("mull (%0)" : : "r"(0xc0000000ULL) : "rax", "rdx", "memory", "cc");
	GUEST_DONE();
}

/* An access that crosses from one MMIO page into the next is not split. */
static void guest_mmio_crossing(void)
{
	*(volatile uint64_t *)0xc0000ffcULL = 1;
	GUEST_DONE();
}

static void guest_mmio_fetch(void)
{
	((void (*)(void))0xc0000000ULL)();
	GUEST_DONE();
}

static void expect_internal_error(struct __test_metadata *_metadata, void *guest_code,
				  uint32_t suberror)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_code, 0);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs r;

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_INTERNAL_ERROR, run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(run->exit_reason));
	EXPECT_EQ(suberror, run->internal.suberror);
	EXPECT_GE(run->internal.ndata, 1);
	EXPECT_LE(run->internal.ndata, 16);
	vcpu_get_regs(vcpu, &r);
	if (run->internal.ndata >= 3)
		EXPECT_EQ(r.rip, run->internal.data[2]) TH_LOG("data[2] is the guest RIP");
	/* The VM is still usable: tell it to go somewhere sane and run. */
	vcpu_setup_long_mode(vcpu, guest_done, 0);
	vcpu_run(vcpu);
	EXPECT_EQ(VAPICVM_EXIT_IO, run->exit_reason);
	vm_free(vm);
}

static void guest_sync_twice(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* LAR succeeds (ZF=1) only for a selector whose descriptor is reachable. */
static bool selector_usable(uint16_t sel)
{
	uint32_t ar = 0;
	uint8_t ok;

	__asm__ volatile("lar %2, %0; setz %1" : "=r"(ar), "=qm"(ok) : "rm"((uint32_t)sel) : "cc");
	return ok;
}

/*
 * VM exits load a null LDTR.  A VMM whose process has an LDT of its own
 * (modify_ldt(), as Wine or DOSEMU use) must find it again after RUN.
 */
TEST(host_ldt_survives_run)
{
	struct user_desc desc = {
		.entry_number = 0,
		.limit = 0xfffff,
		.seg_32bit = 1,
		.limit_in_pages = 1,
		.useable = 1,
	};
	const uint16_t sel = (0 << 3) | 4 | 3;	/* LDT entry 0, RPL 3 */
	struct vm *vm;
	struct vcpu *vcpu;

	TEST_REQUIRE(!syscall(SYS_modify_ldt, 1, &desc, sizeof(desc)), "modify_ldt: %s",
		     strerror(errno));
	ASSERT_TRUE(selector_usable(sel)) TH_LOG("the LDT entry does not work at all");
	vm = vm_create();
	vcpu = vm_add_vcpu(vm, 0, guest_sync_twice, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	EXPECT_TRUE(selector_usable(sel)) TH_LOG("the host's LDT was lost in RUN");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	EXPECT_TRUE(selector_usable(sel)) TH_LOG("the host's LDT was lost in RUN");
	vm_free(vm);
}

TEST(string_io_is_an_internal_error)
{
	expect_internal_error(_metadata, guest_string_io, VAPICVM_INTERNAL_ERROR_EMULATION);
}

TEST(mmio_instruction_not_emulated_is_an_internal_error)
{
	expect_internal_error(_metadata, guest_mmio_mul, VAPICVM_INTERNAL_ERROR_EMULATION);
}

TEST(mmio_access_across_pages_is_an_internal_error)
{
	expect_internal_error(_metadata, guest_mmio_crossing, VAPICVM_INTERNAL_ERROR_EMULATION);
}

TEST(mmio_instruction_fetch_is_an_internal_error)
{
	expect_internal_error(_metadata, guest_mmio_fetch, VAPICVM_INTERNAL_ERROR_EMULATION);
}

/* The per-vCPU counters follow what the guest did. */
static void guest_some_exits(void)
{
	uint32_t a, b, c, d;
	int i;

	for (i = 0; i < 10; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	for (i = 0; i < 3; i++)
		guest_outb(0x80, i);
	GUEST_DONE();
}

TEST(stats)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_some_exits, 0);
	int nr = __vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_STATS);
	struct {
		struct vapicvm_stats hdr;
		uint64_t c[VAPICVM_STAT_NR + 8];
	} s;
	struct ucall uc;
	int i;

	ASSERT_EQ(VAPICVM_STAT_NR, nr) TH_LOG("this header's counters, as the kernel keeps");
	for (i = 0; i < 3; i++)
		vcpu_run(vcpu);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));

	/* Fewer than there are: exactly that many, the rest untouched. */
	memset(&s, 0xee, sizeof(s));
	s.hdr.n = 4;
	s.hdr.pad = 0;
	vcpu_ioctl(vcpu, VAPICVM_GET_STATS, &s.hdr);
	EXPECT_EQ(4, s.hdr.n);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, s.c[4]);
	EXPECT_EQ(10, s.c[VAPICVM_STAT_EXIT_CPUID]);
	/* More than there are: all of them, and n says how many. */
	memset(&s, 0xee, sizeof(s));
	s.hdr.n = VAPICVM_STAT_NR + 8;
	s.hdr.pad = 0;
	vcpu_ioctl(vcpu, VAPICVM_GET_STATS, &s.hdr);
	EXPECT_EQ(VAPICVM_STAT_NR, s.hdr.n);
	EXPECT_EQ(0xeeeeeeeeeeeeeeeeULL, s.c[VAPICVM_STAT_NR]);
	EXPECT_EQ(4, s.c[VAPICVM_STAT_EXIT_IO]) TH_LOG("3 OUTs and the DONE ucall");
	EXPECT_EQ(4, s.c[VAPICVM_STAT_EXIT_USERSPACE]) TH_LOG("one per RUN");
	EXPECT_GE(s.c[VAPICVM_STAT_EXITS], s.c[VAPICVM_STAT_EXIT_CPUID] +
					  s.c[VAPICVM_STAT_EXIT_IO]);
	/* None at all. */
	s.hdr.n = 0;
	vcpu_ioctl(vcpu, VAPICVM_GET_STATS, &s.hdr);
	EXPECT_EQ(0, s.hdr.n);
	vm_free(vm);
}

TEST_HARNESS_MAIN

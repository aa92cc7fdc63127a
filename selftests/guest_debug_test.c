// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM debugging its guest (VAPICVM_SET_GUEST_DEBUG, VAPICVM_TRANSLATE),
 * as a gdb stub does: single steps that stop after every instruction,
 * including those vapicvm completes for the guest, and that the guest
 * cannot see; INT3 exits, and an INT3 that is the guest's handed back to
 * it; hardware breakpoints and watchpoints of the VMM's, while the guest's
 * own debug registers read back unchanged; translation of linear
 * addresses through the guest's paging, with its permissions.  Bad
 * arguments get EINVAL or EFAULT.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define BP_VECTOR	3
#define DR6_BS		(1ULL << 14)
#define RFLAGS_TF	(1ULL << 8)
#define DR7_FIXED_1	0x400ULL

/* The instructions the tests stop on: global labels in the guest's code. */
extern char gd_step_begin[], gd_step_cpuid[], gd_step_nop[], gd_step_end[];
extern char gd_int3[], gd_hw_target[], gd_guest_int3[];

static volatile uint64_t watched;
static volatile uint32_t bp_count;
static volatile uint64_t bp_rip;

FIXTURE(dbg) {
	struct vm *vm;
	uint32_t supported;
};

FIXTURE_SETUP(dbg)
{
	self->vm = vm_create();
	self->supported = vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION,
				   (void *)VAPICVM_CAP_SET_GUEST_DEBUG);
}

FIXTURE_TEARDOWN(dbg)
{
	vm_free(self->vm);
}

static void set_debug(struct vcpu *vcpu, uint32_t control, const uint64_t *db, uint64_t dr7)
{
	struct vapicvm_guest_debug d = { .control = control };

	if (db)
		memcpy(d.debugreg, db, 4 * sizeof(*db));
	d.debugreg[7] = dr7;
	vcpu_ioctl(vcpu, VAPICVM_SET_GUEST_DEBUG, &d);
}

/* Run to the next exit: it must be a debug exit for exception. */
static void run_to_debug(struct __test_metadata *_metadata, struct vcpu *vcpu,
			 uint32_t exception)
{
	struct ucall uc;

	ASSERT_EQ(0, __vcpu_run(vcpu));
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		fail_guest_assert(vcpu, &uc);
	ASSERT_EQ(VAPICVM_EXIT_DEBUG, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	ASSERT_EQ(exception, vcpu->run->debug.exception);
	EXPECT_EQ(vcpu_get_rip(vcpu), vcpu->run->debug.pc);
}

TEST_F(dbg, capabilities)
{
	uint32_t must = VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_SW_BP |
			VAPICVM_GUESTDBG_USE_HW_BP;

	EXPECT_EQ(must, self->supported & must);
	EXPECT_EQ(0, self->supported & ~VAPICVM_GUESTDBG_FLAGS_ALL);
	EXPECT_EQ(1, vm_ioctl(self->vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_TRANSLATE));
	TH_LOG("single step %s", self->supported & VAPICVM_GUESTDBG_SINGLESTEP ?
	       "supported (monitor trap flag)" : "not supported: no monitor trap flag");
}

/*
 * MOV, then CPUID (which exits: vapicvm completes it), then NOP; RFLAGS as
 * the guest sees it, which must not have TF.
 */
static void guest_steps(void)
{
	uint64_t rflags;

	GUEST_SYNC(1);
	asm volatile(".global gd_step_begin, gd_step_cpuid, gd_step_nop, gd_step_end\n"
		     "gd_step_begin: mov $1, %%eax\n"
		     "gd_step_cpuid: cpuid\n"
		     "gd_step_nop: nop\n"
		     "gd_step_end: pushfq\n"
		     "pop %0\n"
		     : "=r"(rflags) : : "rax", "rbx", "rcx", "rdx", "memory");
	GUEST_ASSERT(!(rflags & RFLAGS_TF));
	GUEST_DONE();
}

/* Every instruction stops, the one vapicvm emulates too, in order. */
TEST_F(dbg, single_step_stops_after_each_instruction)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_steps, 0);
	uint64_t expect[] = { (uintptr_t)gd_step_cpuid, (uintptr_t)gd_step_nop,
			      (uintptr_t)gd_step_end };
	struct ucall uc;
	unsigned int i;

	if (!(self->supported & VAPICVM_GUESTDBG_SINGLESTEP))
		SKIP(return, "no monitor trap flag on this CPU: SINGLESTEP not offered");
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	set_debug(vcpu, VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_SINGLESTEP, NULL, 0);
	/* Out of the ucall's code (a bounded number of steps) to the block. */
	for (i = 0; i < 10000 && vcpu_get_rip(vcpu) != (uintptr_t)gd_step_begin; i++) {
		run_to_debug(_metadata, vcpu, 1);
		EXPECT_EQ(DR6_BS, vcpu->run->debug.dr6 & (DR6_BS | 0xf));
	}
	ASSERT_EQ((uintptr_t)gd_step_begin, vcpu_get_rip(vcpu));
	for (i = 0; i < ARRAY_SIZE(expect); i++) {
		run_to_debug(_metadata, vcpu, 1);
		EXPECT_EQ(expect[i], vcpu->run->debug.pc);
	}
	set_debug(vcpu, 0, NULL, 0);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_bp_handler(struct ex_regs *regs)
{
	bp_count++;
	bp_rip = regs->rip;
}

static void guest_int3(void)
{
	asm volatile(".global gd_int3\n gd_int3: int3\n nop" ::: "memory");
	GUEST_ASSERT_EQ(bp_count, 0);
	asm volatile(".global gd_guest_int3\n gd_guest_int3: int3\n nop" ::: "memory");
	GUEST_ASSERT_EQ(bp_count, 1);
	GUEST_ASSERT_EQ(bp_rip, (uintptr_t)gd_guest_int3 + 1);
	GUEST_SYNC(2);
	asm volatile("int3" ::: "memory");	/* not intercepted any more */
	GUEST_ASSERT_EQ(bp_count, 2);
	GUEST_DONE();
}

/*
 * INT3 exits with RIP on it.  The VMM steps over its own; it hands the
 * guest's back with SET_VCPU_EVENTS, and the guest's handler runs as if
 * nothing had intercepted it.
 */
TEST_F(dbg, int3_exits_and_the_guests_own_goes_back)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_int3, 0);
	struct vapicvm_vcpu_events ev;
	struct vapicvm_regs regs;
	struct ucall uc;

	vm_install_handler(self->vm, BP_VECTOR, guest_bp_handler);
	set_debug(vcpu, VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_SW_BP, NULL, 0);
	run_to_debug(_metadata, vcpu, BP_VECTOR);
	EXPECT_EQ((uintptr_t)gd_int3, vcpu->run->debug.pc);
	/* The VMM's: skip it. */
	vcpu_get_regs(vcpu, &regs);
	regs.rip++;
	vcpu_set_regs(vcpu, &regs);
	run_to_debug(_metadata, vcpu, BP_VECTOR);
	EXPECT_EQ((uintptr_t)gd_guest_int3, vcpu->run->debug.pc);
	/* The guest's: deliver it as the CPU would have. */
	vcpu_ioctl(vcpu, VAPICVM_GET_VCPU_EVENTS, &ev);
	ev.injected.valid = 1;
	ev.injected.type = VAPICVM_EVENT_SOFT_EXCEPTION;
	ev.injected.vector = BP_VECTOR;
	ev.injected.insn_len = 1;
	vcpu_ioctl(vcpu, VAPICVM_SET_VCPU_EVENTS, &ev);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	set_debug(vcpu, 0, NULL, 0);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void guest_hw(void)
{
	uint64_t dr7;

	GUEST_ASSERT_EQ(watched, 0);	/* its page is in the TLB now */
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_SYNC_ARGS(1, dr7);
	asm volatile(".global gd_hw_target\n gd_hw_target: nop" ::: "memory");
	watched = 0x1234;
	GUEST_ASSERT_EQ(watched, 0x1234);
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_SYNC_ARGS(2, dr7);
	GUEST_DONE();
}

/*
 * An execution breakpoint (DR0) and a write watchpoint (DR1) of the VMM's
 * stop the guest, the watchpoint set after the guest last read the
 * variable; the guest's own DR7 and DR0-DR3, read with MOV or with
 * GET_DEBUGREGS, are its own throughout.
 */
TEST_F(dbg, hardware_breakpoint_and_watchpoint)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_hw, 0);
	/* The guest's own: L2 on an address that is never reached. */
	struct vapicvm_debugregs guest_dr = { .db = { 0, 0, 0x7000, 0 }, .dr7 = 0x410 };
	struct vapicvm_debugregs got;
	uint64_t db[4] = { (uintptr_t)gd_hw_target, (uintptr_t)&watched, 0, 0 };
	/* L0 execute, 1 byte; L1 write, 8 bytes (LEN 10b). */
	uint64_t dr7 = (1ULL << 0) | (1ULL << 2) | (1ULL << 20) | (2ULL << 22);
	struct ucall uc;

	vcpu_ioctl(vcpu, VAPICVM_SET_DEBUGREGS, &guest_dr);
	set_debug(vcpu, VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_HW_BP, db, 1);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x410 | DR7_FIXED_1, uc.args[1]);	/* MOV from DR7: the guest's */
	set_debug(vcpu, VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_HW_BP, db, dr7);

	run_to_debug(_metadata, vcpu, 1);
	EXPECT_EQ((uintptr_t)gd_hw_target, vcpu->run->debug.pc);
	EXPECT_EQ(1, vcpu->run->debug.dr6 & 0xf);
	EXPECT_EQ(dr7 | DR7_FIXED_1, vcpu->run->debug.dr7);
	vcpu_ioctl(vcpu, VAPICVM_GET_DEBUGREGS, &got);
	EXPECT_EQ(0x410 | DR7_FIXED_1, got.dr7);
	EXPECT_EQ(0x7000, got.db[2]);
	EXPECT_EQ(0, got.db[0]);

	/* A fault: RIP is still on it.  Keep only the watchpoint. */
	db[0] = 0;
	set_debug(vcpu, VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_HW_BP, db,
		  dr7 & ~1ULL);
	run_to_debug(_metadata, vcpu, 1);
	EXPECT_EQ(2, vcpu->run->debug.dr6 & 0xf);
	EXPECT_NE((uintptr_t)gd_hw_target, vcpu->run->debug.pc);	/* a trap: after */
	EXPECT_EQ(0x1234, *(volatile uint64_t *)addr_gpa2hva(self->vm, (uintptr_t)&watched));

	set_debug(vcpu, 0, NULL, 0);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	EXPECT_EQ(0x410 | DR7_FIXED_1, uc.args[1]);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, &uc));
}

static void translate(struct __test_metadata *_metadata, struct vcpu *vcpu, uint64_t la,
		      struct vapicvm_translation *tr)
{
	memset(tr, 0xa5, sizeof(*tr));
	tr->linear_address = la;
	vcpu_ioctl(vcpu, VAPICVM_TRANSLATE, tr);
	EXPECT_EQ(la, tr->linear_address);
}

/* 64-bit paging, with a 4 KiB read-only user page added at 3 GiB. */
TEST_F(dbg, translate_walks_the_guests_paging)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_steps, 0);
	uint64_t *pml4 = addr_gpa2hva(self->vm, GUEST_PML4);
	uint64_t *pdpt = addr_gpa2hva(self->vm, GUEST_PML4 + 0x1000);
	uint64_t *pd3 = addr_gpa2hva(self->vm, GUEST_PML4 + 0x2000 + 3 * 0x1000);
	uint64_t *pt = addr_gpa2hva(self->vm, GUEST_FREE);
	struct vapicvm_translation tr;

	translate(_metadata, vcpu, GUEST_FREE + 0x123, &tr);
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(GUEST_FREE + 0x123, tr.physical_address);
	EXPECT_EQ(1, tr.writeable);
	EXPECT_EQ(0, tr.usermode);

	pml4[0] |= 4;
	pdpt[3] |= 4;
	pd3[0] = GUEST_FREE | 7;
	memset(pt, 0, 4096);
	pt[1] = (GUEST_FREE + 0x5000) | 5;	/* P, U, read-only */
	translate(_metadata, vcpu, 0xc0001abcULL, &tr);
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(GUEST_FREE + 0x5abc, tr.physical_address);
	EXPECT_EQ(0, tr.writeable);		/* CR0.WP is set */
	EXPECT_EQ(1, tr.usermode);
	translate(_metadata, vcpu, 0xc0002000ULL, &tr);	/* not present */
	EXPECT_EQ(0, tr.valid);
	EXPECT_EQ(0, tr.physical_address);
	translate(_metadata, vcpu, 5ULL << 30, &tr);	/* beyond the identity map */
	EXPECT_EQ(0, tr.valid);
	translate(_metadata, vcpu, 0x8000000000000000ULL, &tr);	/* not canonical */
	EXPECT_EQ(0, tr.valid);
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_TRANSLATE, (void *)8, EFAULT));
}

/* Without paging a linear address is physical, and has 32 bits. */
TEST_F(dbg, translate_without_paging)
{
	struct vcpu *vcpu = vm_add_vcpu_bare(self->vm, 0);
	struct vapicvm_translation tr;

	translate(_metadata, vcpu, 0x12345, &tr);
	EXPECT_EQ(1, tr.valid);
	EXPECT_EQ(0x12345, tr.physical_address);
	EXPECT_EQ(1, tr.writeable);
	EXPECT_EQ(1, tr.usermode);
	translate(_metadata, vcpu, 1ULL << 32, &tr);
	EXPECT_EQ(0, tr.valid);
}

TEST_F(dbg, rejects_bad_arguments)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_steps, 0);
	const uint32_t on = VAPICVM_GUESTDBG_ENABLE;
	struct vapicvm_guest_debug d;
	int fd = vcpu->fd;

#define BAD(field_set) do {						\
		memset(&d, 0, sizeof(d));				\
		d.control = on | VAPICVM_GUESTDBG_USE_HW_BP;		\
		field_set;						\
		EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GUEST_DEBUG, &d, EINVAL)); \
	} while (0)
	BAD(d.control = on | (VAPICVM_GUESTDBG_FLAGS_ALL + 1));
	BAD(d.control = 1U << 31);
	BAD(d.control = VAPICVM_GUESTDBG_USE_SW_BP);	/* without ENABLE */
	BAD(d.pad = 1);
	BAD(d.reserved[3] = 1);
	BAD(d.debugreg[4] = 1);
	BAD(d.debugreg[6] = 0xffff0ff0);
	BAD(d.debugreg[7] = 1ULL << 32);
	BAD(d.debugreg[7] = 1ULL << 13);		/* GD */
	BAD((d.control = on, d.debugreg[0] = 0x1000));	/* without USE_HW_BP */
	BAD((d.control = on, d.debugreg[7] = 1));
	if (!(self->supported & VAPICVM_GUESTDBG_SINGLESTEP))
		BAD(d.control = on | VAPICVM_GUESTDBG_SINGLESTEP);
#undef BAD
	EXPECT_TRUE(ioctl_fails_with(fd, VAPICVM_SET_GUEST_DEBUG, (void *)8, EFAULT));
	memset(&d, 0, sizeof(d));
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_GUEST_DEBUG, &d));	/* off */
	d.control = on;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_GUEST_DEBUG, &d));
}

TEST_HARNESS_MAIN

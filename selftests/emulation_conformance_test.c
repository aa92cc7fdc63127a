// SPDX-License-Identifier: GPL-2.0
/*
 * Instructions vapicvm emulates or completes for the guest must behave as
 * if the CPU had run them:
 *
 * - Single-step (Intel SDM Vol. 3B 17.3.1.4): with RFLAGS.TF set, the #DB
 *   trap comes after the instruction, RIP past it, DR6.BS set (Vol. 3B
 *   17.2.3), for CPUID, port I/O, MMIO loads, stores and read-modify-write
 *   instructions alike, after their completion by userspace; an instruction
 *   in a MOV SS shadow takes the #DB held for the MOV SS (Vol. 3B 17.3.1.4,
 *   Vol. 3A 6.8.3), once, after it.
 * - I/O breakpoints (Vol. 3B 17.2.4 and 17.2.5: DR7 R/W 10 with CR4.DE)
 *   on IN and OUT, and data breakpoints (R/W 01 or 11) on emulated MMIO
 *   accesses: a trap after the instruction, with the matching DR6.Bn
 *   (Vol. 3B 17.3.1.2).
 * - The MMIO instruction emulator: the read-modify-write, bit-test,
 *   exchange and compare-exchange forms ordinary guests use on device
 *   registers, each run once on RAM and once on MMIO (a device in this
 *   VMM that behaves as RAM) with the same operands and input flags: the
 *   result, the register operand and RFLAGS must be the same (Vol. 1 3.4.3
 *   and Appendix A; Vol. 2 for each instruction's flags).
 * - The same forms in 32-bit protected mode (operand and address size 32).
 * - An instruction the emulator does not handle ends in an internal-error
 *   exit carrying its bytes.
 */
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "exits.h"

#define MMIO_GPA	0xc0000000ULL	/* no slot: every access exits */
#define MMIO_SIZE	0x1000
#define TEST_PORT	0x80
#define IN_VALUE	0x5a

#define FL_CF		0x001
#define FL_PF		0x004
#define FL_AF		0x010
#define FL_ZF		0x040
#define FL_SF		0x080
#define FL_TF		0x100
#define FL_OF		0x800
#define FL_ARITH	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#define DR6_BS		0x4000
#define DR6_FIXED	0xffff0ff0ULL
#define DR6_EVENTS	0x400f	/* BS, B3-B0 */

/* ------------------------------------------------------------------ */
/* The VMM: an MMIO page that behaves as RAM, and I/O ports           */
/* ------------------------------------------------------------------ */

static uint8_t device[MMIO_SIZE];

/* Run until the guest is done, serving MMIO and port I/O; returns the exit count. */
static unsigned int run_guest(struct __test_metadata *_metadata, struct vcpu *vcpu)
{
	struct vapicvm_run *run = vcpu->run;
	unsigned int exits = 0;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		exits++;
		if (run->exit_reason == VAPICVM_EXIT_MMIO) {
			uint64_t off = run->mmio.phys_addr - MMIO_GPA;

			ASSERT_LE(off + run->mmio.len, MMIO_SIZE)
				TH_LOG("MMIO at %#llx", (unsigned long long)run->mmio.phys_addr);
			if (run->mmio.is_write)
				memcpy(device + off, run->mmio.data, run->mmio.len);
			else
				memcpy(run->mmio.data, device + off, run->mmio.len);
			continue;
		}
		if (run->exit_reason == VAPICVM_EXIT_IO && run->io.port != UCALL_PORT) {
			if (run->io.direction == VAPICVM_EXIT_IO_IN)
				memset((uint8_t *)run + run->io.data_offset, IN_VALUE, run->io.size);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_PRINT:
			TH_LOG("guest: %s", uc.msg);
			continue;
		case UCALL_DONE:
			return exits;
		case UCALL_ABORT:
			fail_guest_assert(vcpu, &uc);
		default:
			ASSERT_TRUE(false) TH_LOG("unexpected exit %s: suberror %u data %#llx %#llx %#llx",
						  exit_reason_str(run->exit_reason),
						  run->internal.suberror,
						  (unsigned long long)run->internal.data[0],
						  (unsigned long long)run->internal.data[1],
						  (unsigned long long)run->internal.data[2]);
		}
	}
}

static struct vcpu *setup(struct vm **vm, void *guest_code);

/* ------------------------------------------------------------------ */
/* The guest's #DB handler                                             */
/* ------------------------------------------------------------------ */

static volatile uint64_t db_count, db_rip, db_dr6;
/* Keep stepping until the instruction at the end of STEP_POST. */
static volatile bool db_keep_tf;

static void db_handler(struct ex_regs *regs)
{
	uint64_t dr6;

	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	db_count++;
	db_rip = regs->rip;
	db_dr6 = dr6;
	/* DR6 is never cleared by the CPU (Vol. 3B 17.2.3): the handler does it. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(DR6_FIXED));
	/* One step only, or through a REP string instruction to its end. */
	if (!db_keep_tf || *(volatile uint8_t *)regs->rip != 0xf3)
		regs->rflags &= ~(uint64_t)FL_TF;
}

static void db_reset(void)
{
	db_count = 0;
	db_rip = 0;
	db_dr6 = 0;
}

/* Exactly one #DB, at @rip, DR6 reporting exactly @events. */
#define GUEST_ASSERT_ONE_DB(rip, events) do {					\
	GUEST_ASSERT_EQ(db_count, 1);						\
	GUEST_ASSERT_EQ(db_rip, (rip));						\
	GUEST_ASSERT_EQ(db_dr6 & DR6_EVENTS, (events));				\
	GUEST_ASSERT_EQ(db_dr6 & DR6_FIXED, DR6_FIXED);				\
} while (0)

/*
 * STEP_PRE insn STEP_POST runs insn with TF set by the POPF before it: the
 * trap is taken after insn, not after the POPF that set TF (Vol. 3B
 * 17.3.1.4).  Operand [next] gets the address of the instruction after it.
 */
#define STEP_PRE	"lea 1f(%%rip), %[next]\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
#define STEP_POST	"\n1:"
/* The same without TF: for breakpoints alone. */
#define TRAP_PRE	"lea 1f(%%rip), %[next]\n\t"

/* ------------------------------------------------------------------ */
/* Single-step                                                         */
/* ------------------------------------------------------------------ */

static volatile uint64_t ram_word;

static void guest_single_step(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)(MMIO_GPA + 0x40);
	uint64_t next, rax, rbx, rcx, rdx, v;

	/* The reference: an instruction the CPU runs itself, on RAM. */
	db_reset();
	__asm__ volatile(STEP_PRE "addq $1, (%[p])" STEP_POST
			 : [next] "=&r"(next), "+m"(ram_word) : [p] "r"(&ram_word) : "memory");
	GUEST_ASSERT_ONE_DB(next, DR6_BS);

	/* CPUID: completed in the kernel. */
	db_reset();
	rax = 0;
	__asm__ volatile(STEP_PRE "cpuid" STEP_POST
			 : [next] "=&r"(next), "+a"(rax), "=b"(rbx), "=c"(rcx), "=d"(rdx));
	GUEST_ASSERT_ONE_DB(next, DR6_BS);

	/* OUT: completed before the exit to userspace; the #DB after it. */
	db_reset();
	__asm__ volatile(STEP_PRE "outb %%al, $0x80" STEP_POST
			 : [next] "=&r"(next) : "a"(0x11));
	GUEST_ASSERT_ONE_DB(next, DR6_BS);

	/* IN: completed by the next RUN; the #DB after that. */
	db_reset();
	rax = 0;
	__asm__ volatile(STEP_PRE "inb $0x80, %%al" STEP_POST
			 : [next] "=&r"(next), "+a"(rax));
	GUEST_ASSERT_ONE_DB(next, DR6_BS);
	GUEST_ASSERT_EQ(rax, IN_VALUE);

	/* MMIO store, load, and a read-modify-write (a read and a write exit). */
	db_reset();
	__asm__ volatile(STEP_PRE "movl %[v], (%[p])" STEP_POST
			 : [next] "=&r"(next) : [v] "r"(0x1234u), [p] "r"(mmio) : "memory");
	GUEST_ASSERT_ONE_DB(next, DR6_BS);
	db_reset();
	__asm__ volatile(STEP_PRE "movl (%[p]), %k[v]" STEP_POST
			 : [next] "=&r"(next), [v] "=r"(v) : [p] "r"(mmio) : "memory");
	GUEST_ASSERT_ONE_DB(next, DR6_BS);
	GUEST_ASSERT_EQ(v, 0x1234);
	db_reset();
	__asm__ volatile(STEP_PRE "addl $0x10, (%[p])" STEP_POST
			 : [next] "=&r"(next) : [p] "r"(mmio) : "memory");
	GUEST_ASSERT_ONE_DB(next, DR6_BS);
	GUEST_ASSERT_EQ(*mmio, 0x1244);

	/*
	 * MOV SS stepped, CPUID in its shadow: the MOV SS's single-step trap
	 * is held and taken after CPUID, once (Vol. 3B 17.3.1.4, Vol. 3A 6.8.3).
	 */
	db_reset();
	rax = 0;
	__asm__ volatile("mov %%ss, %%bx\n\t" STEP_PRE "mov %%bx, %%ss\n\tcpuid" STEP_POST
			 : [next] "=&r"(next), "+a"(rax), "=b"(rbx), "=c"(rcx), "=d"(rdx));
	GUEST_ASSERT_ONE_DB(next, DR6_BS);

	/* TF clear: no #DB from any of them. */
	db_reset();
	guest_outb(TEST_PORT, 1);
	*mmio = 5;
	GUEST_ASSERT_EQ(*mmio, 5);
	GUEST_ASSERT_EQ(db_count, 0);
	GUEST_DONE();
}

TEST(single_step_over_emulated_instructions)
{
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_single_step);

	run_guest(_metadata, vcpu);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* I/O and data breakpoints                                            */
/* ------------------------------------------------------------------ */

#define DR7_L(n)		(1ULL << ((n) * 2))
#define DR7_RW(n, rw)		((uint64_t)(rw) << (16 + (n) * 4))
#define DR7_LEN(n, len)		((uint64_t)(len) << (18 + (n) * 4))
#define RW_WRITE		1
#define RW_IO			2
#define RW_ACCESS		3
#define LEN_2			1
#define LEN_4			3
#define CR4_DE			(1ULL << 3)

static void set_dr7(uint64_t v)
{
	__asm__ volatile("mov %0, %%dr7" : : "r"(v));
}

static void guest_io_breakpoints(void)
{
	uint64_t next, rax = 0;

	guest_write_cr4(guest_read_cr4() | CR4_DE);
	/* DR0: ports 0x80-0x81 (2 bytes); DR2: port 0x80, disabled. */
	__asm__ volatile("mov %0, %%dr0" : : "r"(0x80ULL));
	__asm__ volatile("mov %0, %%dr2" : : "r"(0x80ULL));
	set_dr7(DR7_L(0) | DR7_RW(0, RW_IO) | DR7_LEN(0, LEN_2) | DR7_RW(2, RW_IO));

	db_reset();
	__asm__ volatile(TRAP_PRE "outb %%al, $0x80" STEP_POST
			 : [next] "=&r"(next) : "a"(0x22));
	set_dr7(0);
	GUEST_ASSERT_ONE_DB(next, 0x1);

	set_dr7(DR7_L(0) | DR7_RW(0, RW_IO) | DR7_LEN(0, LEN_2));
	db_reset();
	__asm__ volatile(TRAP_PRE "inb $0x81, %%al" STEP_POST
			 : [next] "=&r"(next), "+a"(rax));
	set_dr7(0);
	GUEST_ASSERT_ONE_DB(next, 0x1);
	GUEST_ASSERT_EQ(rax & 0xff, IN_VALUE);

	/* Port 0x82 is not in the breakpoint's range. */
	set_dr7(DR7_L(0) | DR7_RW(0, RW_IO) | DR7_LEN(0, LEN_2));
	db_reset();
	__asm__ volatile(TRAP_PRE "outb %%al, $0x82" STEP_POST
			 : [next] "=&r"(next) : "a"(0x22));
	set_dr7(0);
	GUEST_ASSERT_EQ(db_count, 0);

	/* With single-step too: one #DB reporting both (Vol. 3B 17.2.3). */
	set_dr7(DR7_L(0) | DR7_RW(0, RW_IO) | DR7_LEN(0, LEN_2));
	db_reset();
	__asm__ volatile(STEP_PRE "outb %%al, $0x80" STEP_POST
			 : [next] "=&r"(next) : "a"(0x33));
	set_dr7(0);
	GUEST_ASSERT_ONE_DB(next, DR6_BS | 0x1);
	GUEST_DONE();
}

TEST(io_breakpoints_on_in_and_out)
{
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_io_breakpoints);

	run_guest(_metadata, vcpu);
	vm_free(vm);
}

static volatile uint32_t ram_reg[4];

/*
 * The same accesses on RAM (the CPU's own data breakpoints) and on MMIO
 * (emulated): the same #DB, or none, each time.
 */
static void data_breakpoints_on(volatile uint32_t *p)
{
	uint64_t next, v;

	/* DR1: a 4-byte write breakpoint; DR3: a 2-byte access breakpoint. */
	__asm__ volatile("mov %0, %%dr1" : : "r"(p));
	__asm__ volatile("mov %0, %%dr3" : : "r"(p + 2));
	set_dr7(DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN_4) |
		DR7_L(3) | DR7_RW(3, RW_ACCESS) | DR7_LEN(3, LEN_2));

	db_reset();
	__asm__ volatile(TRAP_PRE "movl %[v], (%[p])" STEP_POST
			 : [next] "=&r"(next) : [v] "r"(7u), [p] "r"(p) : "memory");
	GUEST_ASSERT_ONE_DB(next, 0x2);

	db_reset();
	__asm__ volatile(TRAP_PRE "movl (%[p]), %k[v]" STEP_POST
			 : [next] "=&r"(next), [v] "=r"(v) : [p] "r"(p) : "memory");
	GUEST_ASSERT_EQ(db_count, 0);	/* a read: not a write breakpoint */
	GUEST_ASSERT_EQ(v, 7);

	db_reset();
	__asm__ volatile(TRAP_PRE "orl $0x100, (%[p])" STEP_POST
			 : [next] "=&r"(next) : [p] "r"(p) : "memory");
	GUEST_ASSERT_ONE_DB(next, 0x2);	/* read and written */

	db_reset();
	__asm__ volatile(TRAP_PRE "movw 8(%[p]), %w[v]" STEP_POST
			 : [next] "=&r"(next), [v] "=r"(v) : [p] "r"(p) : "memory");
	GUEST_ASSERT_ONE_DB(next, 0x8);	/* R/W 11: reads too */

	db_reset();
	__asm__ volatile(TRAP_PRE "movl 4(%[p]), %k[v]" STEP_POST
			 : [next] "=&r"(next), [v] "=r"(v) : [p] "r"(p) : "memory");
	GUEST_ASSERT_EQ(db_count, 0);	/* outside both */
	set_dr7(0);
	GUEST_ASSERT_EQ(*p, 0x107);
}

static void guest_data_breakpoints(void)
{
	data_breakpoints_on(ram_reg);
	data_breakpoints_on((volatile uint32_t *)(MMIO_GPA + 0x80));
	GUEST_DONE();
}

TEST(data_breakpoints_on_emulated_mmio)
{
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_data_breakpoints);

	run_guest(_metadata, vcpu);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* The emulator against the CPU                                        */
/* ------------------------------------------------------------------ */

/*
 * One instruction with a memory operand at m, a register operand (r) and
 * RAX (a), the arithmetic flags loaded from *fl first and stored back.
 */
typedef void (*op_fn)(volatile uint64_t *m, uint64_t *r, uint64_t *a, uint64_t *fl);

#define DEF_OP(name, text)							\
static void op_##name(volatile uint64_t *m, uint64_t *r, uint64_t *a, uint64_t *fl)	\
{										\
	uint64_t rr = *r, aa = *a, f = *fl;					\
	__asm__ volatile("pushq %[f]\n\tpopfq\n\t" text "\n\tpushfq\n\tpopq %[f]"	\
			 : [f] "+r"(f), [r] "+r"(rr), "+a"(aa)			\
			 : [m] "r"(m) : "memory", "cc");			\
	*r = rr;								\
	*a = aa;								\
	*fl = f;								\
}

/* op r/m, reg; op reg, r/m; for the four sizes. */
#define DEF_ALU(op)								\
	DEF_OP(op##_mr8, #op "b %b[r], (%[m])")					\
	DEF_OP(op##_mr16, #op "w %w[r], (%[m])")				\
	DEF_OP(op##_mr32, #op "l %k[r], (%[m])")				\
	DEF_OP(op##_mr64, #op "q %q[r], (%[m])")				\
	DEF_OP(op##_rm8, #op "b (%[m]), %b[r]")					\
	DEF_OP(op##_rm32, #op "l (%[m]), %k[r]")				\
	DEF_OP(op##_rm64, #op "q (%[m]), %q[r]")				\
	DEF_OP(op##_i8, #op "b $0x81, (%[m])")					\
	DEF_OP(op##_i16, #op "w $0x7ff1, (%[m])")				\
	DEF_OP(op##_i32, #op "l $0x80000001, (%[m])")				\
	DEF_OP(op##_is32, #op "l $-3, (%[m])")					\
	DEF_OP(op##_is64, #op "q $0x7f, (%[m])")				\
	DEF_OP(op##_i64, #op "q $-0x12345678, (%[m])")

DEF_ALU(add)
DEF_ALU(or)
DEF_ALU(adc)
DEF_ALU(sbb)
DEF_ALU(and)
DEF_ALU(sub)
DEF_ALU(xor)
DEF_ALU(cmp)
DEF_OP(test_mr8, "testb %b[r], (%[m])")
DEF_OP(test_mr64, "testq %q[r], (%[m])")
DEF_OP(test_i8, "testb $0x81, (%[m])")
DEF_OP(test_i32, "testl $0x80000001, (%[m])")
DEF_OP(not8, "notb (%[m])")
DEF_OP(not64, "notq (%[m])")
DEF_OP(neg8, "negb (%[m])")
DEF_OP(neg16, "negw (%[m])")
DEF_OP(neg32, "negl (%[m])")
DEF_OP(neg64, "negq (%[m])")
DEF_OP(inc8, "incb (%[m])")
DEF_OP(inc32, "incl (%[m])")
DEF_OP(inc64, "incq (%[m])")
DEF_OP(dec16, "decw (%[m])")
DEF_OP(dec64, "decq (%[m])")
DEF_OP(movzb, "movzbl (%[m]), %k[r]")
DEF_OP(movzw, "movzwq (%[m]), %q[r]")
DEF_OP(movsb, "movsbq (%[m]), %q[r]")
DEF_OP(movsw, "movswl (%[m]), %k[r]")
DEF_OP(xchg8, "xchgb %b[r], (%[m])")
DEF_OP(xchg32, "xchgl %k[r], (%[m])")
DEF_OP(xchg64, "xchgq %q[r], (%[m])")
DEF_OP(lock_xadd32, "lock xaddl %k[r], (%[m])")
DEF_OP(xadd64, "xaddq %q[r], (%[m])")
DEF_OP(cmpxchg8, "cmpxchgb %b[r], (%[m])")
DEF_OP(lock_cmpxchg32, "lock cmpxchgl %k[r], (%[m])")
DEF_OP(cmpxchg64, "cmpxchgq %q[r], (%[m])")
DEF_OP(lock_or32, "lock orl %k[r], (%[m])")
/* Bit offsets in a register: the masked vectors keep them inside the operand. */
DEF_OP(bt16, "btw %w[r], (%[m])")
DEF_OP(bt32, "btl %k[r], (%[m])")
DEF_OP(bt64, "btq %q[r], (%[m])")
DEF_OP(bts32, "btsl %k[r], (%[m])")
DEF_OP(btr64, "btrq %q[r], (%[m])")
DEF_OP(btc16, "btcw %w[r], (%[m])")
DEF_OP(bt_i32, "btl $31, (%[m])")
DEF_OP(bts_i64, "btsq $63, (%[m])")
DEF_OP(btr_i16, "btrw $21, (%[m])")	/* modulo 16: bit 5 */
DEF_OP(btc_i32, "btcl $3, (%[m])")

struct op_case {
	const char *name;
	op_fn fn;
	uint64_t reg_mask;	/* the register operand, masked (bit offsets) */
};

#define OP(n)		{ #n, op_##n, ~0ULL }
#define BITOP(n, bits)	{ #n, op_##n, (bits) - 1 }
#define ALU_CASES(op)								\
	OP(op##_mr8), OP(op##_mr16), OP(op##_mr32), OP(op##_mr64),		\
	OP(op##_rm8), OP(op##_rm32), OP(op##_rm64), OP(op##_i8), OP(op##_i16),	\
	OP(op##_i32), OP(op##_is32), OP(op##_is64), OP(op##_i64)

static const struct op_case op_cases[] = {
	ALU_CASES(add), ALU_CASES(or), ALU_CASES(adc), ALU_CASES(sbb),
	ALU_CASES(and), ALU_CASES(sub), ALU_CASES(xor), ALU_CASES(cmp),
	OP(test_mr8), OP(test_mr64), OP(test_i8), OP(test_i32),
	OP(not8), OP(not64), OP(neg8), OP(neg16), OP(neg32), OP(neg64),
	OP(inc8), OP(inc32), OP(inc64), OP(dec16), OP(dec64),
	OP(movzb), OP(movzw), OP(movsb), OP(movsw),
	OP(xchg8), OP(xchg32), OP(xchg64), OP(lock_xadd32), OP(xadd64),
	OP(cmpxchg8), OP(lock_cmpxchg32), OP(cmpxchg64), OP(lock_or32),
	BITOP(bt16, 16), BITOP(bt32, 32), BITOP(bt64, 64), BITOP(bts32, 32),
	BITOP(btr64, 64), BITOP(btc16, 16),
	OP(bt_i32), OP(bts_i64), OP(btr_i16), OP(btc_i32),
};

/* Memory, register and RAX operands: carries, overflows, zero, signs, nibbles. */
static const uint64_t operands[][3] = {
	{ 0, 0, 0 },
	{ 0x7f7f7f7f7f7f7f7fULL, 1, 0x7f7f7f7f7f7f7f7fULL },
	{ 0x8080808080808080ULL, 0xffffffffffffffffULL, 3 },
	{ 0xffffffffffffffffULL, 1, 0xffffffffffffffffULL },
	{ 1, 0x8000000000000000ULL, 1 },
	{ 0x123456789abcdef0ULL, 0x0fedcba987654321ULL, 0x123456789abcdef0ULL },
	{ 0x0f0f0f0f0f0f0f0fULL, 0x0101010101010101ULL, 0x0f0f0f0f0f0f0f0eULL },
};

/* Input flags: all arithmetic flags clear, and all set. */
static const uint64_t flags_in[] = { 0, FL_ARITH };

static volatile uint64_t ram_operand;

static uint64_t mmio_read64(volatile uint64_t *p)
{
	uint64_t v;

	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static void guest_emulator_vs_cpu(void)
{
	volatile uint64_t *mmio = (volatile uint64_t *)(MMIO_GPA + 0x100);
	uint64_t base_flags;
	unsigned int i, j, k;

	__asm__ volatile("pushfq\n\tpopq %0" : "=r"(base_flags));
	base_flags &= ~(uint64_t)(FL_ARITH | FL_TF);
	for (i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
		const struct op_case *c = &op_cases[i];

		for (j = 0; j < sizeof(operands) / sizeof(operands[0]); j++) {
			for (k = 0; k < 2; k++) {
				uint64_t r1 = operands[j][1] & c->reg_mask, a1 = operands[j][2];
				uint64_t r2 = r1, a2 = a1, f1 = base_flags | flags_in[k], f2 = f1;
				uint64_t m1, m2;

				ram_operand = operands[j][0];
				*mmio = operands[j][0];
				c->fn(&ram_operand, &r1, &a1, &f1);
				c->fn(mmio, &r2, &a2, &f2);
				m1 = ram_operand;
				m2 = mmio_read64(mmio);
				if (m1 != m2 || r1 != r2 || a1 != a2 || f1 != f2)
					guest_printf("%s, operands %u, flags %#lx: memory %#lx/%#lx reg %#lx/%#lx rax %#lx/%#lx rflags %#lx/%#lx",
						     c->name, j, (unsigned long)flags_in[k],
						     (unsigned long)m1, (unsigned long)m2,
						     (unsigned long)r1, (unsigned long)r2,
						     (unsigned long)a1, (unsigned long)a2,
						     (unsigned long)f1, (unsigned long)f2);
				GUEST_ASSERT_EQ(m1, m2);
				GUEST_ASSERT_EQ(r1, r2);
				GUEST_ASSERT_EQ(a1, a2);
				GUEST_ASSERT_EQ(f1, f2);
			}
		}
	}
	GUEST_DONE();
}

TEST(emulator_matches_the_cpu)
{
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_emulator_vs_cpu);
	unsigned int exits = run_guest(_metadata, vcpu);

	TH_LOG("%zu instruction forms, %u exits", ARRAY_SIZE(op_cases), exits);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* String instructions                                                 */
/* ------------------------------------------------------------------ */

#define STR_MMIO	(MMIO_GPA + 0x400)
#define STR_LEN		0x100

static volatile uint8_t str_ram[3 * STR_LEN] __attribute__((aligned(64)));

struct str_regs {
	uint64_t rdi, rsi, rcx, rax;
};

/* Vol. 2B MOVS, STOS, LODS, REP: one form per case, RSI/RDI/RCX/RAX in and out. */
static void string_op(int which, struct str_regs *r)
{
	uint64_t rdi = r->rdi, rsi = r->rsi, rcx = r->rcx, rax = r->rax;

	switch (which) {
	case 0:
		__asm__ volatile("rep stosl" : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 1:
		__asm__ volatile("rep movsb" : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 2:
		__asm__ volatile("rep movsq" : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 3:
		__asm__ volatile("lodsw" : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 4:
		__asm__ volatile("std\n\trep stosb\n\tcld"
				 : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 5:
		__asm__ volatile("std\n\trep movsw\n\tcld"
				 : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	case 6:
		__asm__ volatile("movsl" : "+D"(rdi), "+S"(rsi), "+c"(rcx), "+a"(rax) : : "memory");
		break;
	}
	r->rdi = rdi;
	r->rsi = rsi;
	r->rcx = rcx;
	r->rax = rax;
}

static void fill(volatile uint8_t *p, unsigned int n, uint8_t seed)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/*
 * Each case on RAM (destination and source in str_ram) and with MMIO in
 * place of the destination, the source, or both: the same registers, the
 * same bytes.  MMIO is read back with single-byte MOVs.
 */
static void guest_strings(void)
{
	static const struct {
		int which;
		uint64_t dst, src, count;	/* offsets in the area */
		bool mmio_dst, mmio_src;
	} cases[] = {
		{ 0, 0x10, 0, 5, true, false },		/* rep stosl to MMIO */
		{ 1, 0x03, 0x80, 13, true, false },	/* rep movsb RAM -> MMIO */
		{ 2, 0x08, 0x40, 4, true, true },	/* rep movsq MMIO -> MMIO */
		{ 3, 0, 0x22, 0, false, true },		/* lodsw from MMIO */
		{ 4, 0x30, 0, 6, true, false },		/* std; rep stosb to MMIO */
		{ 5, 0x50, 0xa0, 3, true, false },	/* std; rep movsw RAM -> MMIO */
		{ 6, 0x60, 0xb0, 0, true, true },	/* movsl MMIO -> MMIO */
		{ 1, 0x05, 0x31, 17, false, true },	/* rep movsb MMIO -> RAM */
		{ 5, 0x70, 0xc0, 5, false, true },	/* std; rep movsw MMIO -> RAM */
		{ 6, 0x44, 0x20, 0, false, true },	/* movsl MMIO -> RAM */
	};
	volatile uint8_t *mmio = (volatile uint8_t *)STR_MMIO;
	unsigned int i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ram_base = (uint64_t)str_ram, mix_dst, mix_src;
		struct str_regs a, b;

		fill(str_ram, STR_LEN, i);
		fill(mmio, STR_LEN, i);
		fill(str_ram + STR_LEN, STR_LEN, i);
		mix_dst = cases[i].mmio_dst ? STR_MMIO : ram_base + STR_LEN;
		mix_src = cases[i].mmio_src ? STR_MMIO : ram_base + STR_LEN;
		a = (struct str_regs){ ram_base + cases[i].dst, ram_base + cases[i].src,
				       cases[i].count, 0x1122334455667788ULL };
		b = (struct str_regs){ mix_dst + cases[i].dst, mix_src + cases[i].src,
				       cases[i].count, 0x1122334455667788ULL };
		string_op(cases[i].which, &a);
		string_op(cases[i].which, &b);
		GUEST_ASSERT_EQ(a.rdi - ram_base, b.rdi - mix_dst);
		GUEST_ASSERT_EQ(a.rsi - ram_base, b.rsi - mix_src);
		GUEST_ASSERT_EQ(a.rcx, b.rcx);
		GUEST_ASSERT_EQ(a.rax, b.rax);
		for (j = 0; j < STR_LEN; j++) {
			uint8_t want = str_ram[j];
			uint8_t got = cases[i].mmio_dst ? mmio[j] : str_ram[STR_LEN + j];

			if (want != got)
				guest_printf("case %u: byte %#x: %#x, not %#x", i, j, got, want);
			GUEST_ASSERT_EQ(want, got);
		}
	}

	/* Single-step: a trap after each iteration (RIP on the instruction), as on RAM. */
	for (i = 0; i < 2; i++) {
		uint64_t next, rdi = i ? STR_MMIO : (uint64_t)str_ram, rcx = 3;

		db_reset();
		db_keep_tf = true;
		__asm__ volatile(STEP_PRE "rep stosl" STEP_POST
				 : [next] "=&r"(next), "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
		db_keep_tf = false;
		GUEST_ASSERT_EQ(db_count, 3);
		GUEST_ASSERT_EQ(db_rip, next);
		GUEST_ASSERT_EQ(db_dr6 & DR6_EVENTS, DR6_BS);
		GUEST_ASSERT_EQ(rcx, 0);
	}
	GUEST_DONE();
}

TEST(string_instructions_on_mmio)
{
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_strings);

	run_guest(_metadata, vcpu);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Emulation failure                                                   */
/* ------------------------------------------------------------------ */

static void guest_unemulated(void)
{
	uint64_t rax = 0;

	/* MUL m64 (REX.W F7 /4) on MMIO: not emulated. */
	__asm__ volatile(".byte 0x48, 0xf7, 0x23" : "+a"(rax) : "b"(MMIO_GPA) : "rdx", "memory");
	GUEST_DONE();
}

TEST(emulation_failure_reports_the_instruction_bytes)
{
	static const uint8_t mul[] = { 0x48, 0xf7, 0x23 };
	struct vm *vm;
	struct vcpu *vcpu = setup(&vm, guest_unemulated);
	struct vapicvm_run *run = vcpu->run;
	struct vapicvm_regs regs;
	uint8_t bytes[16];

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_INTERNAL_ERROR, run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(run->exit_reason));
	ASSERT_EQ(VAPICVM_INTERNAL_ERROR_EMULATION, run->internal.suberror);
	ASSERT_EQ(6, run->internal.ndata);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(regs.rip, run->internal.data[2]);
	EXPECT_EQ(15, run->internal.data[3]);
	memcpy(bytes, &run->internal.data[4], sizeof(bytes));
	EXPECT_EQ(0, memcmp(bytes, mul, sizeof(mul)));
	/* The rest are the bytes that follow, as the guest has them. */
	EXPECT_EQ(0, memcmp(bytes, addr_gpa2hva(vm, regs.rip), 15));
	EXPECT_EQ(0, bytes[15]);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* 32-bit protected mode                                               */
/* ------------------------------------------------------------------ */

#define CODE32_GPA	0x7000

/*
 * The read-modify-write, bit, exchange and string forms with 32-bit
 * operand and address sizes (CS.D=1, paging off): each access exits with
 * the size and address the instruction has, the result written back.
 */
TEST(protected_mode_32bit_forms)
{
	static const uint8_t code[] = {
		0xbb, 0x00, 0x00, 0x00, 0xc0,		/* mov $0xc0000000, %ebx */
		0xb9, 0x11, 0x00, 0x00, 0x00,		/* mov $0x11, %ecx */
		0x01, 0x4b, 0x08,			/* add %ecx, 8(%ebx) */
		0x9c, 0x5a,				/* pushf; pop %edx */
		0x66, 0x0f, 0xba, 0x6b, 0x10, 0x03,	/* btsw $3, 0x10(%ebx) */
		0x0f, 0xb6, 0x43, 0x20,			/* movzbl 0x20(%ebx), %eax */
		0x87, 0x43, 0x24,			/* xchg %eax, 0x24(%ebx) */
		0x8d, 0x7b, 0x30,			/* lea 0x30(%ebx), %edi */
		0xb9, 0x02, 0x00, 0x00, 0x00,		/* mov $2, %ecx */
		0xf3, 0x66, 0xab,			/* rep stosw */
		0xe7, 0x20,				/* out %eax, $0x20 */
		0x89, 0xf8, 0xe7, 0x20,			/* mov %edi, %eax; out */
		0x89, 0xc8, 0xe7, 0x20,			/* mov %ecx, %eax; out */
		0x89, 0xd0, 0xe7, 0x20,			/* mov %edx, %eax; out */
		0xfa, 0xf4,				/* cli; hlt */
	};
	static const struct mmio_step steps[] = {
		{ MMIO_GPA + 0x08, 4, false, 0x7fffffff },
		{ MMIO_GPA + 0x08, 4, true, 0x80000010 },
		{ MMIO_GPA + 0x10, 2, false, 0x0001 },
		{ MMIO_GPA + 0x10, 2, true, 0x0009 },
		{ MMIO_GPA + 0x20, 1, false, 0xfe },
		{ MMIO_GPA + 0x24, 4, false, 0x12345678 },
		{ MMIO_GPA + 0x24, 4, true, 0xfe },
		{ MMIO_GPA + 0x30, 2, true, 0x5678 },
		{ MMIO_GPA + 0x32, 2, true, 0x5678 },
	};
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu_bare(vm, 0);
	struct vapicvm_regs regs;
	uint32_t *data;

	memcpy(addr_gpa2hva(vm, CODE32_GPA), code, sizeof(code));
	vcpu_setup_protected_mode(vcpu, CODE32_GPA);	/* paging off */
	vcpu_get_regs(vcpu, &regs);
	regs.rsp = 0x9000;
	vcpu_set_regs(vcpu, &regs);

	vcpu_expect_mmio(vcpu, steps, ARRAY_SIZE(steps));
	vcpu_expect_out(vcpu, 0x20, 4, 0x12345678);	/* XCHG loaded EAX */
	vcpu_expect_out(vcpu, 0x20, 4, 0xc0000034);	/* EDI past 2 words */
	vcpu_expect_out(vcpu, 0x20, 4, 0);		/* ECX counted down */
	data = vcpu_expect_io(vcpu, VAPICVM_EXIT_IO_OUT, 0x20, 4);
	/* 0x7fffffff + 0x11: OF, SF, AF; not CF, ZF, PF (Vol. 1 3.4.3.1). */
	EXPECT_EQ(0x890, *data & FL_ARITH);
	vcpu_expect_hlt(vcpu);
	vm_free(vm);
}

/* ------------------------------------------------------------------ */
/* Read-only slots                                                     */
/* ------------------------------------------------------------------ */

#define RO_GPA		0x80000000ULL
#define RO_SIZE		0x200000ULL

static void guest_ro_rmw(void)
{
	__asm__ volatile("addl $5, (%0)" : : "r"(RO_GPA + 0x10) : "memory");
	GUEST_DONE();
}

/*
 * A read-modify-write of a read-only slot reads its RAM, as the CPU would,
 * and only the write exits: one MMIO write of the result.
 */
TEST(read_modify_write_of_a_read_only_slot)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu;
	uint32_t *mem, d;

	if (__vm_ioctl(vm, VAPICVM_CHECK_EXTENSION, (void *)VAPICVM_CAP_READONLY_MEM) != 1) {
		vm_free(vm);
		SKIP(return, "VAPICVM_CAP_READONLY_MEM not supported");
	}
	vcpu = vm_add_vcpu(vm, 0, guest_ro_rmw, 0);
	mem = mmap(NULL, RO_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[4] = 0x7ffffffe;
	vm_set_memory_region(vm, 1, VAPICVM_MEM_READONLY, RO_GPA, RO_SIZE, mem);

	vcpu_run(vcpu);
	ASSERT_EQ(VAPICVM_EXIT_MMIO, vcpu->run->exit_reason)
		TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
	EXPECT_EQ(RO_GPA + 0x10, vcpu->run->mmio.phys_addr);
	EXPECT_EQ(4, vcpu->run->mmio.len);
	EXPECT_TRUE(vcpu->run->mmio.is_write);
	memcpy(&d, vcpu->run->mmio.data, 4);
	EXPECT_EQ(0x80000003, d);
	EXPECT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
	munmap(mem, RO_SIZE);
}

static struct vcpu *setup(struct vm **vm, void *guest_code)
{
	struct vcpu *vcpu;

	memset(device, 0, sizeof(device));
	*vm = vm_create();
	vcpu = vm_add_vcpu(*vm, 0, guest_code, 0);
	vm_install_handler(*vm, 1, db_handler);
	return vcpu;
}

TEST_HARNESS_MAIN

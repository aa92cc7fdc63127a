// SPDX-License-Identifier: GPL-2.0
/*
 * A guest fuzzer, on every APIC-virtualization tier: two vCPUs of one VM
 * each run a loop of random operations, all at once:
 *
 * - xAPIC MMIO reads and writes at random offsets of the APIC page, 1, 2,
 *   4 and 8 bytes wide, and RDMSR/WRMSR on every x2APIC MSR (0x800-0x8ff);
 * - RDMSR/WRMSR of random MSRs (0-0x1fff, 0xc0000000-0xc0001fff, anything)
 *   and of the ones a hypervisor emulates (APIC base, TSC deadline, EFER,
 *   PAT, MISC_ENABLE, DEBUGCTL, SYSENTER, FS/GS bases, TSC, TSC_ADJUST...);
 * - random CR0, CR4, CR8, EFER and XCR0 (XSETBV) values;
 * - IA32_APIC_BASE moves: enabling and disabling the APIC and x2APIC, legal
 *   and illegal transitions, other addresses, reserved bits;
 * - ICR writes: every delivery mode (fixed, lowest priority, SMI, NMI,
 *   INIT, SIPI, ExtINT, the reserved ones), physical and logical
 *   destinations, the shorthands, any vector (0-15 included);
 * - the timer in every mode (one-shot, periodic, TSC deadline) with random
 *   counts, divide values and deadlines;
 * - random instruction bytes, run at CPL0 and at CPL3.
 *
 * The guest catches its own exceptions: every vector goes through an IST
 * stack of its vCPU to a handler that counts it and resumes the loop
 * (a longjmp), whatever the faulting code did to its stack.  INIT, SIPI
 * and reset land on real-mode stubs that tell the VMM, which puts the vCPU
 * back into the loop in long mode.
 *
 * What is checked: the host stays healthy (the bench fails the run on any
 * kernel warning), every VM run ends with the guest done or in a
 * documented exit (shutdown, internal error with suberror 1-3; the VMM then
 * creates the next VM), never a failed VM entry nor a failed RUN, vCPU
 * threads can always be stopped, every VM goes away (the module's VM count
 * back to 0) and memory is given back.
 *
 * Seeded: the seed is printed (one for the program, time-derived unless
 * SEED=<n> gives it).  A seed fixes each vCPU's sequence of operations and
 * values on every tier; the interleaving of the two vCPUs and the timing
 * of interrupts are the host's.  FUZZ_STEPS (VMs per tier, default 8) and
 * FUZZ_OPS (operations per vCPU and VM, default 3000) set the amount of
 * work: about 20-25 s of wall time per tier on the 2-CPU bench machine.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <time.h>

#include "kselftest_harness.h"
#include "apic.h"

#define NR_FUZZ_VCPUS	2
#define READ_ONCE_U64(x)	(*(volatile uint64_t *)&(x))

#define FUZZ_PORT	0x1002		/* guest -> VMM: done, lost */
#define RESET_PORT	0x1003		/* the real-mode stubs after INIT/SIPI */
#define FUZZ_CMD_DONE	1
#define FUZZ_CMD_LOST	2

/* Guest-physical layout, inside the library's 64 MiB of RAM. */
#define FUZZ_GDT	(GUEST_FREE + 0x0000)
#define FUZZ_TSS	(GUEST_FREE + 0x1000)	/* 0x100 per vCPU */
#define FUZZ_IST	(GUEST_FREE + 0x10000)	/* 64 KiB per vCPU */
#define FUZZ_IST_SIZE	0x10000ULL
#define FUZZ_SCRATCH	(GUEST_FREE + 0x100000)	/* 1 MiB the random code may use */
#define FUZZ_USER	0x3000000ULL		/* a 2 MiB user page: code, stacks */
#define FUZZ_USER_SIZE	0x200000ULL
#define FUZZ_CODE(i)	(FUZZ_USER + (i) * 0x10000ULL)
#define FUZZ_STACK(i)	(FUZZ_USER + (i) * 0x10000ULL + 0x8000)
#define RESET_GPA	0xffff0000ULL		/* a read-only slot: the reset vector */
#define RESET_SIZE	0x10000ULL

#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS(i)	(0x18 + (i) * 0x10)
#define SEL_UDATA	0x3b
#define SEL_UCODE	0x43

enum fuzz_op {
	OP_XAPIC,
	OP_X2APIC,
	OP_MSR,
	OP_CR,
	OP_APIC_BASE,
	OP_ICR,
	OP_TIMER,
	OP_INSN_CPL0,
	OP_INSN_CPL3,
	OP_APIC_SCAN,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	"xapic_mmio", "x2apic_msr", "msr", "cr", "apic_base", "icr", "timer",
	"insn_cpl0", "insn_cpl3", "apic_scan",
};

/* Per-vCPU state in guest memory; the host sets the first fields. */
struct fuzz_cpu {
	uint64_t seed;
	uint64_t ops_target;
	uint64_t ops_done;		/* the host watches it for progress */
	uint64_t rng;
	uint64_t started;
	uint64_t op_count[OP_NR];
	uint64_t exceptions[32];
	uint64_t irqs, nmis, lost;
	uint64_t insn_bytes;
	uint64_t jb[8];			/* fuzz_setjmp() */
	uint64_t cr0, cr4, efer, xcr0;	/* the baseline the loop restores */
	bool has_xsave;
	bool dirty;			/* control registers may have changed */
	bool baseline_ok;
	uint8_t pad[5];
	uint64_t ctx[21];		/* fuzz_enter(): GPRs, then an IRET frame */
};

static struct fuzz_cpu fuzz_cpus[NR_FUZZ_VCPUS];

/* ------------------------------------------------------------------ */
/* Guest: entering random code, coming back from any exception         */
/* ------------------------------------------------------------------ */

int fuzz_setjmp(uint64_t *jb) __attribute__((returns_twice));
void fuzz_longjmp_tramp(void);
void fuzz_enter(uint64_t *ctx) __attribute__((noreturn));

__asm__(".pushsection .text\n\t"
	".globl fuzz_setjmp\n"
	"fuzz_setjmp:\n\t"
	"mov %rbx, 0(%rdi)\n\t"
	"mov %rbp, 8(%rdi)\n\t"
	"mov %r12, 16(%rdi)\n\t"
	"mov %r13, 24(%rdi)\n\t"
	"mov %r14, 32(%rdi)\n\t"
	"mov %r15, 40(%rdi)\n\t"
	"lea 8(%rsp), %rdx\n\t"
	"mov %rdx, 48(%rdi)\n\t"
	"mov (%rsp), %rdx\n\t"
	"mov %rdx, 56(%rdi)\n\t"
	"xor %eax, %eax\n\t"
	"ret\n\t"
	/* Reached by IRET from an exception handler, RDI = the jump buffer. */
	".globl fuzz_longjmp_tramp\n"
	"fuzz_longjmp_tramp:\n\t"
	"mov 0(%rdi), %rbx\n\t"
	"mov 8(%rdi), %rbp\n\t"
	"mov 16(%rdi), %r12\n\t"
	"mov 24(%rdi), %r13\n\t"
	"mov 32(%rdi), %r14\n\t"
	"mov 40(%rdi), %r15\n\t"
	"mov 48(%rdi), %rsp\n\t"
	"mov $1, %eax\n\t"
	"jmp *56(%rdi)\n\t"
	/* RDI = ctx: 16 GPRs (RSP's slot unused), then RIP CS RFLAGS RSP SS. */
	".globl fuzz_enter\n"
	"fuzz_enter:\n\t"
	"pushq 0xa0(%rdi)\n\t"
	"pushq 0x98(%rdi)\n\t"
	"pushq 0x90(%rdi)\n\t"
	"pushq 0x88(%rdi)\n\t"
	"pushq 0x80(%rdi)\n\t"
	"mov 0x00(%rdi), %rax\n\t"
	"mov 0x08(%rdi), %rcx\n\t"
	"mov 0x10(%rdi), %rdx\n\t"
	"mov 0x18(%rdi), %rbx\n\t"
	"mov 0x28(%rdi), %rbp\n\t"
	"mov 0x30(%rdi), %rsi\n\t"
	"mov 0x40(%rdi), %r8\n\t"
	"mov 0x48(%rdi), %r9\n\t"
	"mov 0x50(%rdi), %r10\n\t"
	"mov 0x58(%rdi), %r11\n\t"
	"mov 0x60(%rdi), %r12\n\t"
	"mov 0x68(%rdi), %r13\n\t"
	"mov 0x70(%rdi), %r14\n\t"
	"mov 0x78(%rdi), %r15\n\t"
	"mov 0x38(%rdi), %rdi\n\t"
	"iretq\n\t"
	".popsection");

static void fuzz_report(uint32_t cmd)
{
	__asm__ volatile("outl %%eax, %%dx" : : "a"(cmd), "d"(FUZZ_PORT) : "memory");
}

/* The vCPU whose IST stack the handler runs on, or -1. */
static int fuzz_cpu_of(struct ex_regs *regs)
{
	uint64_t a = (uint64_t)regs;

	if (a < FUZZ_IST || a >= FUZZ_IST + NR_FUZZ_VCPUS * FUZZ_IST_SIZE)
		return -1;
	return (a - FUZZ_IST) / FUZZ_IST_SIZE;
}

static void fuzz_lost(void)
{
	/* Not on a stack of ours: the VMM puts the vCPU back into the loop. */
	for (;;)
		fuzz_report(FUZZ_CMD_LOST);
}

static void fuzz_exception(struct ex_regs *regs)
{
	int i = fuzz_cpu_of(regs);
	struct fuzz_cpu *c;

	if (i < 0)
		fuzz_lost();
	c = &fuzz_cpus[i];
	c->exceptions[regs->vector & 31]++;
	/* IRET into the longjmp, at CPL0, interrupts off, TF and AC clear. */
	regs->rdi = (uint64_t)c->jb;
	regs->rip = (uint64_t)fuzz_longjmp_tramp;
	regs->cs = SEL_CODE;
	regs->ss = SEL_DATA;
	regs->rsp = c->jb[6] - 256;
	regs->rflags = 2;
}

static void fuzz_nmi(struct ex_regs *regs)
{
	int i = fuzz_cpu_of(regs);

	if (i >= 0)
		fuzz_cpus[i].nmis++;
}

static inline uint64_t rdmsr_raw(uint32_t msr)
{
	return guest_rdmsr(msr);
}

static void fuzz_eoi(void)
{
	uint64_t base = rdmsr_raw(MSR_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		return;
	if (base & APIC_BASE_EXTD)
		guest_wrmsr(0x80b, 0);
	else if ((base & ~0xfffULL) < (4ULL << 30))
		*(volatile uint32_t *)((base & ~0xfffULL) + REG_EOI) = 0;
}

static void fuzz_irq(struct ex_regs *regs)
{
	int i = fuzz_cpu_of(regs);
	struct fuzz_cpu *c;

	if (i < 0)
		fuzz_lost();
	c = &fuzz_cpus[i];
	c->irqs++;
	/* Mostly EOI; sometimes leave the vector in service. */
	if ((c->irqs & 7) != 3)
		fuzz_eoi();
}

/* ------------------------------------------------------------------ */
/* Guest: random choices                                               */
/* ------------------------------------------------------------------ */

static uint64_t rnd(struct fuzz_cpu *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(struct fuzz_cpu *c, uint64_t n)
{
	return rnd(c) % n;
}

static bool chance(struct fuzz_cpu *c, unsigned int one_in)
{
	return rnd_below(c, one_in) == 0;
}

/* A value with structure: small, a power of two, all ones, random. */
static uint64_t rnd_value(struct fuzz_cpu *c)
{
	uint64_t r = rnd(c);

	switch (rnd_below(c, 8)) {
	case 0:
		return r & 0xff;
	case 1:
		return 1ULL << (r & 63);
	case 2:
		return ~0ULL;
	case 3:
		return 0;
	case 4:
		return (uint32_t)r;
	case 5:
		return ~(1ULL << (r & 63));
	default:
		return r;
	}
}

static const uint32_t known_msrs[] = {
	0x10,		/* TSC */
	0x1b,		/* APIC_BASE */
	0x3a,		/* FEATURE_CONTROL */
	0x3b,		/* TSC_ADJUST */
	0x48, 0x49,	/* SPEC_CTRL, PRED_CMD */
	0x8b,		/* UCODE_REV */
	0xe7, 0xe8,	/* MPERF, APERF */
	0x10a,		/* ARCH_CAPABILITIES */
	0x174, 0x175, 0x176,	/* SYSENTER_CS/ESP/EIP */
	0x179, 0x17a, 0x17b,	/* MCG_CAP, MCG_STATUS, MCG_CTL */
	0x1a0,		/* MISC_ENABLE */
	0x1d9,		/* DEBUGCTL */
	0x277,		/* PAT */
	0x2ff,		/* MTRR_DEF_TYPE */
	0x480, 0x48d,	/* VMX_BASIC, VMX_TRUE_PINBASED */
	0x6e0,		/* TSC_DEADLINE */
	0x802, 0x808, 0x80b, 0x80f, 0x830, 0x83f,
	0xc0000080,	/* EFER */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,	/* STAR... */
	0xc0000100, 0xc0000101, 0xc0000102,	/* FS/GS/KERNEL_GS base */
	0xc0000103,	/* TSC_AUX */
};

static uint32_t rnd_msr(struct fuzz_cpu *c)
{
	switch (rnd_below(c, 4)) {
	case 0:
	case 1:
		return known_msrs[rnd_below(c, ARRAY_SIZE(known_msrs))];
	case 2:
		return rnd_below(c, 0x2000);
	default:
		return chance(c, 2) ? 0xc0000000 + rnd_below(c, 0x2000) : (uint32_t)rnd(c);
	}
}

static uint64_t apic_base_addr(void)
{
	return rdmsr_raw(MSR_APIC_BASE) & ~0xfffULL;
}

static bool in_x2apic(void)
{
	return (rdmsr_raw(MSR_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
	       (APIC_BASE_EN | APIC_BASE_EXTD);
}

/* ------------------------------------------------------------------ */
/* Guest: the operations                                               */
/* ------------------------------------------------------------------ */

static void mmio_access(uint64_t addr, unsigned int width, bool write, uint64_t v)
{
	switch (width) {
	case 1:
		if (write)
			*(volatile uint8_t *)addr = v;
		else
			(void)*(volatile uint8_t *)addr;
		break;
	case 2:
		if (write)
			*(volatile uint16_t *)addr = v;
		else
			(void)*(volatile uint16_t *)addr;
		break;
	case 4:
		if (write)
			*(volatile uint32_t *)addr = v;
		else
			(void)*(volatile uint32_t *)addr;
		break;
	default:
		if (write)
			*(volatile uint64_t *)addr = v;
		else
			(void)*(volatile uint64_t *)addr;
	}
}

static void op_xapic(struct fuzz_cpu *c)
{
	uint64_t base = chance(c, 4) ? APIC_DEFAULT_GPA : apic_base_addr();
	unsigned int width = 1 << rnd_below(c, 4);
	unsigned int off;

	if (base >= (4ULL << 30))
		base = APIC_DEFAULT_GPA;
	/* Mostly registers, sometimes anywhere in the page but not across it. */
	off = chance(c, 4) ? rnd_below(c, 0x1000) : rnd_below(c, 0x40) << 4;
	if (off + width > 0x1000)
		off = 0x1000 - width;
	if (chance(c, 3)) {
		/* The forms a guest polls with. */
		uint32_t v = rnd(c);

		if (chance(c, 2))
			__asm__ volatile("testl $0x1000, (%0)" : : "r"(base + (off & ~3))
					 : "memory", "cc");
		else
			__asm__ volatile("cmpl %1, (%0)" : : "r"(base + (off & ~3)), "r"(v)
					 : "memory", "cc");
		return;
	}
	mmio_access(base + off, width, chance(c, 2), rnd_value(c));
}

static void op_x2apic(struct fuzz_cpu *c)
{
	uint32_t msr = 0x800 + rnd_below(c, 0x100);

	if (chance(c, 2))
		(void)rdmsr_raw(msr);
	else
		guest_wrmsr(msr, rnd_value(c));
}

static void op_msr(struct fuzz_cpu *c)
{
	uint32_t msr = rnd_msr(c);
	uint64_t old;

	old = rdmsr_raw(msr);		/* faults end the operation */
	if (chance(c, 3))
		return;
	c->dirty = true;
	guest_wrmsr(msr, chance(c, 2) ? old ^ (1ULL << rnd_below(c, 64)) : rnd_value(c));
	/* Put it back, or the next operations run in a broken machine. */
	if (msr != 0x10 && msr != 0x1b)
		guest_wrmsr(msr, old);
}

static inline void xsetbv(uint32_t index, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static void op_cr(struct fuzz_cpu *c)
{
	uint64_t v = chance(c, 2) ? rnd_value(c) : 1ULL << rnd_below(c, 64);

	c->dirty = true;
	switch (rnd_below(c, 5)) {
	case 0:
		guest_write_cr0(chance(c, 2) ? c->cr0 ^ v : v);
		break;
	case 1:
		guest_write_cr4(chance(c, 2) ? c->cr4 ^ v : v);
		break;
	case 2:
		v = chance(c, 4) ? v : rnd_below(c, 16);
		__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
		break;
	case 3:
		guest_wrmsr(0xc0000080, chance(c, 2) ? c->efer ^ v : v);
		break;
	default:
		if (!c->has_xsave)
			break;
		xsetbv(chance(c, 8) ? rnd_below(c, 4) : 0,
		       chance(c, 2) ? c->xcr0 ^ v : (v & 0xff) | 1);
	}
}

static void op_apic_base(struct fuzz_cpu *c)
{
	static const uint64_t addrs[] = {
		APIC_DEFAULT_GPA, APIC_DEFAULT_GPA + 0x1000, 0xfec00000, FUZZ_SCRATCH + 0x80000,
		0x100000000ULL, 0x7ffffff000ULL,
	};
	uint64_t v = chance(c, 4) ? (rnd(c) & ~0xfffULL) : addrs[rnd_below(c, ARRAY_SIZE(addrs))];

	/* Mostly at home: a moved APIC makes the other operations miss it. */
	if (chance(c, 3) == 0 && chance(c, 2))
		v = APIC_DEFAULT_GPA;
	v &= (1ULL << 46) - 1;
	v |= (rnd(c) & 3) << 10;		/* EXTD, EN */
	if (chance(c, 2))
		v |= APIC_BASE_BSP;
	if (chance(c, 8))
		v |= 1ULL << rnd_below(c, 12);	/* reserved bits, mostly */
	guest_wrmsr(MSR_APIC_BASE, v);
	/* A disabled APIC mostly comes back, software-enabled. */
	if (!(v & APIC_BASE_EN) && chance(c, 2)) {
		guest_wrmsr(MSR_APIC_BASE, APIC_DEFAULT_GPA | APIC_BASE_EN |
			    (chance(c, 2) ? APIC_BASE_EXTD : 0));
		if (in_x2apic())
			guest_wrmsr(0x80f, SVR_ENABLE | 0xff);
		else
			xapic_write(REG_SVR, SVR_ENABLE | 0xff);
	}
}

static void op_icr(struct fuzz_cpu *c)
{
	static const uint32_t modes[] = {
		0, 0, 0, 1, 1, 2, 4, 4, 5, 6, 6, 7, 7, 3,	/* SMI 2, reserved 3 */
	};
	uint32_t vec = chance(c, 4) ? rnd_below(c, 16) : 16 + rnd_below(c, 240);
	uint32_t icr = vec | modes[rnd_below(c, ARRAY_SIZE(modes))] << 8;
	uint32_t dest;

	if (chance(c, 2))
		icr |= ICR_LOGICAL;
	if (chance(c, 2))
		icr |= ICR_ASSERT;
	if (chance(c, 4))
		icr |= ICR_LEVEL;
	if (chance(c, 2))
		icr |= rnd_below(c, 4) << 18;
	if (chance(c, 16))
		icr |= rnd(c) & 0xfff33000;		/* reserved bits */
	switch (rnd_below(c, 6)) {
	case 0:
		dest = 0;
		break;
	case 1:
		dest = 1;
		break;
	case 2:
		dest = 0xff;
		break;
	case 3:
		dest = 0xffffffff;
		break;
	case 4:
		dest = 1U << rnd_below(c, 32);
		break;
	default:
		dest = rnd(c);
	}
	/* INIT resets a vCPU: not too often. */
	if (((icr >> 8) & 7) == 5 && !chance(c, 4))
		icr &= ~0x700;
	if (in_x2apic()) {
		if (chance(c, 8))
			guest_wrmsr(0x83f, chance(c, 2) ? vec : rnd_value(c));	/* SELF IPI */
		else
			guest_wrmsr(0x830, (uint64_t)dest << 32 | icr);
	} else {
		uint64_t base = apic_base_addr();

		if (base >= (4ULL << 30))
			base = APIC_DEFAULT_GPA;
		*(volatile uint32_t *)(base + REG_ICR2) = dest << 24;
		*(volatile uint32_t *)(base + REG_ICR) = icr;
	}
}

static void apic_wr(uint32_t reg, uint64_t v)
{
	uint64_t base = rdmsr_raw(MSR_APIC_BASE);

	if ((base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD)) {
		guest_wrmsr(0x800 + (reg >> 4), v);
	} else {
		base &= ~0xfffULL;
		if (base >= (4ULL << 30))
			base = APIC_DEFAULT_GPA;
		*(volatile uint32_t *)(base + reg) = v;
	}
}

static void op_timer(struct fuzz_cpu *c)
{
	uint32_t lvtt = (chance(c, 2) ? 0x20 + rnd_below(c, 0xe0) : rnd_below(c, 256)) |
			rnd_below(c, 4) << 17;
	uint64_t count;

	if (chance(c, 4))
		lvtt |= LVT_MASKED;
	if (chance(c, 8))
		lvtt = rnd(c);
	switch (rnd_below(c, 4)) {
	case 0:
		count = rnd_below(c, 16);
		break;
	case 1:
		count = rnd_below(c, 100000);
		break;
	case 2:
		count = ~0U;
		break;
	default:
		count = rnd(c);
	}
	if (chance(c, 2))
		apic_wr(REG_TDCR, chance(c, 2) ? rnd_below(c, 16) : rnd(c));
	if (chance(c, 3))
		apic_wr(REG_LVTT, lvtt);
	switch (rnd_below(c, 3)) {
	case 0: {
		uint64_t now = guest_rdtsc();

		guest_wrmsr(MSR_TSC_DEADLINE, chance(c, 2) ? now + rnd_below(c, 1000000) :
					      chance(c, 2) ? now - rnd_below(c, 1000) : count);
		break;
	}
	default:
		apic_wr(REG_TMICT, count);
	}
	if (chance(c, 2))
		guest_spin_tsc(rnd_below(c, 20000));
}

/* Read every register of the current mode; write some to their own value. */
static void op_apic_scan(struct fuzz_cpu *c)
{
	unsigned int off;

	if (in_x2apic()) {
		for (off = 0; off < 0x100; off++)
			(void)rdmsr_raw(0x800 + off);	/* stops at the first #GP */
	} else {
		uint64_t base = apic_base_addr();

		if (base >= (4ULL << 30))
			base = APIC_DEFAULT_GPA;
		for (off = 0; off < 0x1000; off += 0x10)
			(void)*(volatile uint32_t *)(base + off);
	}
}

static const uint8_t interesting[][4] = {
	{ 0x0f, 0x01 }, { 0x0f, 0x00 }, { 0x0f, 0x20 }, { 0x0f, 0x22 }, { 0x0f, 0x21 },
	{ 0x0f, 0x23 }, { 0x0f, 0x30 }, { 0x0f, 0x32 }, { 0x0f, 0x31 }, { 0x0f, 0x33 },
	{ 0x0f, 0x34 }, { 0x0f, 0x35 }, { 0x0f, 0x05 }, { 0x0f, 0x07 }, { 0x0f, 0x08 },
	{ 0x0f, 0x09 }, { 0x0f, 0xa2 }, { 0x0f, 0xae }, { 0x0f, 0xc7 }, { 0x0f, 0x78 },
	{ 0x0f, 0x79 }, { 0x0f, 0x01, 0xd1 }, { 0x0f, 0x01, 0xc1 }, { 0x0f, 0x01, 0xc8 },
	{ 0x0f, 0x01, 0xc9 }, { 0x0f, 0x01, 0xf9 }, { 0x0f, 0x01, 0xf8 }, { 0x0f, 0x01, 0xd0 },
	{ 0xf4 }, { 0xfa }, { 0xfb }, { 0x9c }, { 0x9d }, { 0x48, 0xcf }, { 0xcd }, { 0xcc },
	{ 0xf1 }, { 0xe4 }, { 0xe5 }, { 0xe6 }, { 0xe7 }, { 0xec }, { 0xed }, { 0xee },
	{ 0xef }, { 0x8e, 0xd0 }, { 0x8e }, { 0x0f, 0xa1 },
	{ 0xc4 }, { 0xc5 }, { 0x62 }, { 0xf3, 0x0f, 0xae }, { 0x0f, 0x0d }, { 0xf3, 0xa5 },
	{ 0x89 }, { 0x8b }, { 0xc7 }, { 0x88 }, { 0x8a }, { 0x0f, 0xb6 }, { 0x0f, 0xbf },
	{ 0xa1 }, { 0xa3 }, { 0x84 }, { 0x85 }, { 0x39 }, { 0x3b }, { 0x80 }, { 0x83 },
	{ 0xf0 }, { 0x66 }, { 0x67 }, { 0x41 }, { 0x48 }, { 0x65 }, { 0x0f, 0x0b },
};

/*
 * Register values for random code.  An access to MMIO by an instruction
 * the decoder does not know ends the VM (a documented internal error), so
 * pointers are mostly into scratch RAM, sometimes into the APIC page or
 * memory no slot backs, sometimes non-canonical or unmapped.
 */
static uint64_t rnd_pointer(struct fuzz_cpu *c)
{
	switch (rnd_below(c, 128)) {
	case 0: case 1:
		return APIC_DEFAULT_GPA + (rnd_below(c, 0x100) << 4);
	case 2:
		return 0xc0000000ULL + rnd_below(c, 0x200000);	/* MMIO: no slot */
	case 3 ... 18:
		return rnd(c);
	default:
		return FUZZ_SCRATCH + 0x40000 + rnd_below(c, 0x40000);
	}
}

static void op_insn(struct fuzz_cpu *c, int i, bool user)
{
	uint8_t *code = (uint8_t *)FUZZ_CODE(i);
	unsigned int n = 0, len = 1 + rnd_below(c, 15), k, r;
	uint64_t *ctx = c->ctx;

	/* Some instructions worth trying, then random bytes. */
	for (k = rnd_below(c, 3); k && n < 32; k--) {
		const uint8_t *t = interesting[rnd_below(c, ARRAY_SIZE(interesting))];

		for (r = 0; r < 4 && t[r]; r++)
			code[n++] = t[r];
		for (r = rnd_below(c, 4); r; r--)
			code[n++] = rnd(c);
	}
	for (k = 0; k < len; k++) {
		uint8_t b = rnd(c);

		/* String I/O ends the VM (not emulated): seldom. */
		if (b >= 0x6c && b <= 0x6f && !user && !chance(c, 8))
			b = 0x90;
		code[n++] = b;
	}
	/* UD2 after it all, and a few of them in case of a short jump. */
	for (k = 0; k < 8; k++) {
		code[n++] = 0x0f;
		code[n++] = 0x0b;
	}
	c->insn_bytes += n - 16;

	for (r = 0; r < 16; r++)
		ctx[r] = user && chance(c, 2) ? rnd_value(c) : rnd_pointer(c);
	if (chance(c, 2))
		ctx[1] = known_msrs[rnd_below(c, ARRAY_SIZE(known_msrs))];	/* RCX */
	else if (chance(c, 2))
		ctx[1] = rnd_below(c, 64);
	ctx[2] = chance(c, 2) ? (rnd(c) & 0xffff) : ctx[2];			/* RDX: a port */
	ctx[16] = (uint64_t)code;
	ctx[17] = user ? SEL_UCODE : SEL_CODE;
	ctx[18] = 0x2 | (chance(c, 2) ? 0x200 : 0) | (chance(c, 16) ? 0x100 : 0) |
		  (chance(c, 16) ? 0x40000 : 0) | (chance(c, 16) ? 0x400 : 0) |
		  (chance(c, 16) ? 0x3000 : 0);		/* IF, TF, AC, DF, IOPL 3 */
	ctx[19] = FUZZ_STACK(i) - 8 * rnd_below(c, 64);
	ctx[20] = user ? SEL_UDATA : SEL_DATA;
	c->dirty = true;
	fuzz_enter(ctx);
}

/* Back to the baseline after an operation that may have changed it. */
static void fuzz_restore(struct fuzz_cpu *c)
{
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss" : : "r"(SEL_DATA));
	__asm__ volatile("mov %0, %%db7" : : "r"(0x400UL));
	if (!c->dirty)
		return;
	c->dirty = false;
	if (guest_read_cr0() != c->cr0)
		guest_write_cr0(c->cr0);
	if (guest_read_cr4() != c->cr4)
		guest_write_cr4(c->cr4);
	if (rdmsr_raw(0xc0000080) != c->efer)
		guest_wrmsr(0xc0000080, c->efer);
	if (c->has_xsave)
		xsetbv(0, c->xcr0);
}

/* How often each operation comes, in 32nds. */
static const uint8_t op_weights[32] = {
	OP_XAPIC, OP_XAPIC, OP_XAPIC, OP_XAPIC, OP_XAPIC,
	OP_X2APIC, OP_X2APIC, OP_X2APIC, OP_X2APIC,
	OP_MSR, OP_MSR, OP_MSR,
	OP_CR, OP_CR, OP_CR,
	OP_APIC_BASE, OP_APIC_BASE,
	OP_ICR, OP_ICR, OP_ICR, OP_ICR, OP_ICR,
	OP_TIMER, OP_TIMER, OP_TIMER, OP_TIMER,
	OP_INSN_CPL0, OP_INSN_CPL0,
	OP_INSN_CPL3, OP_INSN_CPL3,
	OP_APIC_SCAN, OP_APIC_SCAN,
};

static void guest_fuzz(uint64_t id)
{
	struct fuzz_cpu *c = &fuzz_cpus[id];
	uint32_t a, b, cx, d;

	if (!c->started) {
		c->started = 1;
		c->rng = c->seed | 1;
	}
	/*
	 * The baseline the VMM set up (again, after an INIT), with XSAVE
	 * enabled if the vCPU has it; a fault on the way leaves it off.
	 */
	c->baseline_ok = false;
	if (!fuzz_setjmp(c->jb)) {
		c->cr0 = guest_read_cr0();
		guest_cpuid(1, 0, &a, &b, &cx, &d);
		c->has_xsave = cx & (1U << 26);
		if (c->has_xsave) {
			uint32_t lo, hi;

			guest_write_cr4(guest_read_cr4() | (1UL << 18));	/* OSXSAVE */
			__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
			c->xcr0 = lo | (uint64_t)hi << 32;
		}
		c->cr4 = guest_read_cr4();
		c->efer = rdmsr_raw(0xc0000080);
		c->baseline_ok = true;
	}
	if (!c->baseline_ok) {
		c->has_xsave = false;
		c->cr0 = guest_read_cr0();
		c->cr4 = guest_read_cr4();
		c->efer = rdmsr_raw(0xc0000080);
		c->baseline_ok = true;
	}
	fuzz_restore(c);
	guest_sti();
	while (c->ops_done < c->ops_target) {
		enum fuzz_op op = op_weights[rnd_below(c, ARRAY_SIZE(op_weights))];

		c->ops_done++;
		c->op_count[op]++;
		switch (op) {
		case OP_XAPIC:
			op_xapic(c);
			break;
		case OP_X2APIC:
			op_x2apic(c);
			break;
		case OP_MSR:
			op_msr(c);
			break;
		case OP_CR:
			op_cr(c);
			break;
		case OP_APIC_BASE:
			op_apic_base(c);
			break;
		case OP_ICR:
			op_icr(c);
			break;
		case OP_TIMER:
			op_timer(c);
			break;
		case OP_INSN_CPL0:
			op_insn(c, id, false);
			break;
		case OP_INSN_CPL3:
			op_insn(c, id, true);
			break;
		default:
			op_apic_scan(c);
		}
		fuzz_restore(c);
		guest_sti();
	}
	guest_cli();
	for (;;)
		fuzz_report(FUZZ_CMD_DONE);
}

/* ------------------------------------------------------------------ */
/* Host: the VM                                                        */
/* ------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint8_t reset_rom[RESET_SIZE] __attribute__((aligned(4096)));

/* mov $RESET_PORT, %dx; out %al, %dx; hlt; jmp .-1 (16-bit code) */
static const uint8_t reset_stub[] = { 0xba, RESET_PORT & 0xff, RESET_PORT >> 8, 0xee, 0xf4,
				      0xeb, 0xfd };

static void fuzz_setup_memory(struct vm *vm)
{
	uint64_t *gdt = addr_gpa2hva(vm, FUZZ_GDT);
	uint64_t *pml4 = addr_gpa2hva(vm, GUEST_PML4);
	uint64_t *pdpt = addr_gpa2hva(vm, GUEST_PML4 + 0x1000);
	uint64_t *idt = addr_gpa2hva(vm, GUEST_IDT);
	uint64_t a;
	int i, j, v;

	/* INIT-SIPI lands on a stub in whatever page the vector names. */
	for (a = 0; a < 0x100000; a += 0x1000)
		memcpy(addr_gpa2hva(vm, a), reset_stub, sizeof(reset_stub));
	memcpy(reset_rom + RESET_SIZE - 16, reset_stub, sizeof(reset_stub));
	vm_set_memory_region(vm, 1, VAPICVM_MEM_READONLY, RESET_GPA, RESET_SIZE, reset_rom);

	memset(gdt, 0, 0x1000);
	gdt[SEL_CODE / 8] = 0x00af9b000000ffffULL;
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;
	for (i = 0; i < NR_FUZZ_VCPUS; i++) {
		uint64_t tss = FUZZ_TSS + i * 0x100;
		uint8_t *t = addr_gpa2hva(vm, tss);
		uint64_t ist = FUZZ_IST + i * FUZZ_IST_SIZE;

		memset(t, 0, 0x100);
		/* RSP0 and IST1-4: general, NMI, #DB, #DF/#MC; stacks 16 KiB. */
		*(uint64_t *)(t + 4) = ist + 0x4000;
		for (j = 0; j < 4; j++)
			*(uint64_t *)(t + 36 + 8 * j) = ist + 0x4000 * (j + 1) - 16;
		*(uint16_t *)(t + 102) = 0x68;		/* no I/O bitmap */
		gdt[SEL_TSS(i) / 8] = 0x0000890000000067ULL | ((tss & 0xffffff) << 16) |
				      ((tss >> 24) & 0xff) << 56;
		gdt[SEL_TSS(i) / 8 + 1] = tss >> 32;
	}
	gdt[SEL_UDATA / 8] = 0x00cff3000000ffffULL;
	gdt[SEL_UCODE / 8] = 0x00affb000000ffffULL;

	for (v = 0; v < 256; v++) {
		uint64_t ist = v == 2 ? 2 : v == 1 ? 3 : (v == 8 || v == 18) ? 4 : 1;

		idt[v * 2] = (idt[v * 2] & ~(7ULL << 32)) | ist << 32;
	}

	/* The user page, and no instruction fetches outside RAM (NX). */
	pml4[0] |= 4;
	pdpt[0] |= 4;
	for (i = 0; i < 4; i++) {
		uint64_t *pd = addr_gpa2hva(vm, GUEST_PML4 + 0x2000 + i * 0x1000);

		for (j = 0; j < 512; j++) {
			a = ((uint64_t)i << 30) | ((uint64_t)j << 21);
			if (a == FUZZ_USER)
				pd[j] |= 4;
			if (a < VM_MEM_SIZE)
				continue;
			/*
			 * Beyond RAM: the APIC's pages and one page of MMIO no
			 * slot backs stay mapped, not executable; the rest is
			 * not present, so that a random displacement faults in
			 * the guest rather than reaching MMIO with an
			 * instruction the decoder does not know.
			 */
			if (a == 0xc0000000ULL || a == 0xfec00000ULL || a == 0xfee00000ULL)
				pd[j] |= 1ULL << 63;
			else
				pd[j] &= ~1ULL;
		}
	}

	for (v = 0; v < 256; v++)
		vm_install_handler(vm, v, v == 2 ? fuzz_nmi : v < 32 ? fuzz_exception : fuzz_irq);
}

/* Long mode at guest_fuzz(id), with this test's GDT, TSS and EFER.NXE. */
static void fuzz_setup_vcpu(struct vcpu *vcpu)
{
	struct vapicvm_mp_state mp = { .mp_state = VAPICVM_MP_STATE_RUNNABLE };
	struct vapicvm_sregs s;

	vcpu_setup_long_mode(vcpu, guest_fuzz, vcpu->id);
	vcpu_get_sregs(vcpu, &s);
	s.gdt.base = FUZZ_GDT;
	s.gdt.limit = 0x47;
	s.tr.selector = SEL_TSS(vcpu->id);
	s.tr.base = FUZZ_TSS + vcpu->id * 0x100;
	s.efer |= 0x800;
	vcpu_set_sregs(vcpu, &s);
	vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
}

/* ------------------------------------------------------------------ */
/* Host: one vCPU's thread, a VMM that survives what the guest does    */
/* ------------------------------------------------------------------ */

enum runner_state { RUNNING, GUEST_DONE, VM_ENDED, FAILED };

struct runner {
	struct vcpu *vcpu;
	pthread_t thread;
	volatile int state;
	volatile bool stop, reboot;
	char why[256];
	uint64_t rng;
	/* exits the VMM served */
	uint64_t io, mmio, hlt, reboots, lost;
};

struct totals {
	uint64_t vms, done, shutdown, internal[5], stalled, timeouts;
	uint64_t io, mmio, hlt, reboots, watchdog, lost;
	uint64_t ops, op_count[OP_NR], exceptions, irqs, nmis, insn_bytes;
	uint64_t unhandled_reasons[80];
	uint64_t garbled;	/* vCPUs whose own counters the random code overwrote */
	long pins_while_running;	/* pinned pages just before the last VM went */
	bool pins_exact;		/* ... counted exactly (vm/stat_refresh) */
};

/*
 * The guest's counters live in guest memory, where random CPL0 code can
 * write; a run of 3000 operations cannot have counted more than this.
 */
static bool fuzz_cpu_counts_plausible(const struct fuzz_cpu *c)
{
	const uint64_t most = 1ULL << 32;
	unsigned int j;

	for (j = 0; j < OP_NR; j++)
		if (c->op_count[j] > most)
			return false;
	for (j = 0; j < 32; j++)
		if (c->exceptions[j] > most)
			return false;
	return c->irqs <= most && c->nmis <= most && c->insn_bytes <= most;
}

static void runner_signal(int sig)
{
}

static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	struct vcpu *vcpu = r->vcpu;
	struct vapicvm_run *run = vcpu->run;

	while (!r->stop) {
		int ret = __vcpu_run(vcpu);

		if (ret < 0) {
			if (errno != EINTR) {
				snprintf(r->why, sizeof(r->why), "RUN failed: %s, exit reason %s",
					 strerror(errno), exit_reason_str(run->exit_reason));
				r->state = FAILED;
				return NULL;
			}
			if (r->reboot) {
				r->reboot = false;
				r->reboots++;
				fuzz_setup_vcpu(vcpu);
			}
			continue;
		}
		switch (run->exit_reason) {
		case VAPICVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;

			r->io++;
			if (run->io.port == RESET_PORT) {
				r->reboots++;
				fuzz_setup_vcpu(vcpu);
				break;
			}
			if (run->io.port == FUZZ_PORT && run->io.direction == VAPICVM_EXIT_IO_OUT &&
			    run->io.size == 4) {
				uint32_t cmd = *(uint32_t *)data;

				if (cmd == FUZZ_CMD_DONE) {
					r->state = GUEST_DONE;
					return NULL;
				}
				if (cmd == FUZZ_CMD_LOST) {
					r->lost++;
					fuzz_setup_vcpu(vcpu);
				}
				break;
			}
			if (run->io.direction == VAPICVM_EXIT_IO_IN)
				memset(data, (uint8_t)splitmix(&r->rng), run->io.size);
			break;
		}
		case VAPICVM_EXIT_MMIO:
			r->mmio++;
			if (!run->mmio.is_write) {
				uint64_t v = splitmix(&r->rng);

				memcpy(run->mmio.data, &v, sizeof(run->mmio.data));
			}
			break;
		case VAPICVM_EXIT_HLT: {
			/* HLT with IF=0: play the NMI that would wake it. */
			struct vapicvm_mp_state mp = { .mp_state = VAPICVM_MP_STATE_RUNNABLE };

			r->hlt++;
			vcpu_ioctl(vcpu, VAPICVM_SET_MP_STATE, &mp);
			break;
		}
		case VAPICVM_EXIT_SHUTDOWN:
			snprintf(r->why, sizeof(r->why), "shutdown");
			r->state = VM_ENDED;
			return NULL;
		case VAPICVM_EXIT_INTERNAL_ERROR:
			snprintf(r->why, sizeof(r->why), "internal error %u: data %#llx %#llx %#llx",
				 run->internal.suberror, (unsigned long long)run->internal.data[0],
				 (unsigned long long)run->internal.data[1],
				 (unsigned long long)run->internal.data[2]);
			/* The documented suberrors; VMX instruction failures never are. */
			r->state = run->internal.suberror >= VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT &&
				   run->internal.suberror <= VAPICVM_INTERNAL_ERROR_DELIVERY_EV ?
				   VM_ENDED : FAILED;
			return NULL;
		case VAPICVM_EXIT_FAIL_ENTRY:
			snprintf(r->why, sizeof(r->why),
				 "VM entry failed: reason %#llx qualification %#llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				 (unsigned long long)run->fail_entry.exit_qualification);
			r->state = FAILED;
			return NULL;
		default:
			snprintf(r->why, sizeof(r->why), "unexpected exit %s (%u)",
				 exit_reason_str(run->exit_reason), run->exit_reason);
			r->state = FAILED;
			return NULL;
		}
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* End a thread's RUN with signals; false if it does not end in time. */
static bool runner_stop(struct runner *r, uint64_t ms)
{
	uint64_t t0 = now_ms();

	r->stop = true;
	while (now_ms() - t0 < ms) {
		if (pthread_tryjoin_np(r->thread, NULL) == 0)
			return true;
		pthread_kill(r->thread, SIGUSR1);
		usleep(1000);
	}
	return false;
}

/* A "Name: N kB" line of a /proc file, or -1. */
static long proc_kb(const char *path, const char *name)
{
	char line[128], fmt[64];
	long kb = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", name);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A "name N" line of /proc/vmstat, or -1. */
static long vmstat(const char *name)
{
	char line[128], fmt[64];
	long n = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s %%ld", name);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Pages pinned with FOLL_PIN and not yet released, system-wide, or
 * LONG_MIN if the kernel does not count them.  Guest memory is pinned this
 * way; nothing else on the bench machine pins, so the count must come
 * back exactly once the VMs are gone.  (MemAvailable was tried first:
 * page cache and tmpfs move it by tens of MB either way.)  The counters
 * are kept per CPU and folded lazily: writing vm/stat_refresh folds them
 * now (*exact); a kernel without sysctl (the debug machine's) folds them
 * within a few seconds.
 */
static long pins_outstanding(bool *exact)
{
	long acquired, released;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	*exact = fd >= 0 && write(fd, "1", 1) == 1;
	if (fd >= 0)
		close(fd);
	acquired = vmstat("nr_foll_pin_acquired");
	released = vmstat("nr_foll_pin_released");
	return acquired < 0 || released < 0 ? LONG_MIN : acquired - released;
}

/*
 * The count before a test: exact where it can be folded now, else once two
 * reads a second apart agree and it is not negative (a count folded from
 * only some CPUs can be), up to ~10 s.
 */
static long pins_baseline(void)
{
	bool exact;
	long n = pins_outstanding(&exact), prev;
	int i;

	for (i = 0; !exact && i < 10; i++) {
		prev = n;
		sleep(1);
		n = pins_outstanding(&exact);
		if (n == prev && n >= 0)
			break;
	}
	return n;
}

/* The count once it is back to want, or after ~5 s of lazy folding. */
static long pins_settled(long want)
{
	long n;
	bool exact;
	int i;

	for (i = 0; i < 50; i++) {
		n = pins_outstanding(&exact);
		if (n == want || exact)
			break;
		usleep(100000);
	}
	return n;
}

/*
 * What both vCPUs share and their random CPL0 code can overwrite: the
 * paging structures (PML4, PDPT, the four PDs), the IDT, the GDT and the
 * TSSs.  One bad byte is enough (XD set in PML4[0]): every instruction
 * fetch faults, the #PF handler's own too, on its IST stack, so both vCPUs
 * deliver #PF to themselves for good, without a VM exit; a vCPU put back
 * into the same tables does it again at once.  The watchdog restores them
 * with each vCPU it puts back.
 */
static const struct {
	uint64_t gpa, size;
} fuzz_tables[] = {
	{ GUEST_PML4, 0x6000 },
	{ GUEST_IDT, 0x1000 },
	{ FUZZ_GDT, 0x1000 },
	{ FUZZ_TSS, NR_FUZZ_VCPUS * 0x100 },
};

static uint8_t *fuzz_tables_save(struct vm *vm)
{
	uint8_t *copy, *p;
	unsigned int k;
	size_t n = 0;

	for (k = 0; k < ARRAY_SIZE(fuzz_tables); k++)
		n += fuzz_tables[k].size;
	copy = malloc(n);
	TEST_ASSERT(copy, "malloc");
	for (k = 0, p = copy; k < ARRAY_SIZE(fuzz_tables); p += fuzz_tables[k++].size)
		memcpy(p, addr_gpa2hva(vm, fuzz_tables[k].gpa), fuzz_tables[k].size);
	return copy;
}

static void fuzz_tables_restore(struct vm *vm, const uint8_t *copy)
{
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(fuzz_tables); copy += fuzz_tables[k++].size)
		memcpy(addr_gpa2hva(vm, fuzz_tables[k].gpa), copy, fuzz_tables[k].size);
}

/*
 * No operation for this long: put the vCPU back.  An operation takes
 * microseconds, and a vCPU thread sharing one host CPU with the other
 * waits a few scheduler slices at most; a stalled vCPU (halted with IF=0,
 * in wait-for-SIPI) costs the whole window each time, most of the run's
 * time when it was 100 ms.
 */
#define STALL_MS	25
#define MAX_REBOOTS	20	/* watchdog reboots per VM before it is given up */
#define STEP_MS		20000	/* one VM's run at most */

/*
 * One VM: both vCPUs fuzz until done or a documented end.  Returns NULL,
 * or what went wrong (a finding).
 */
static const char *fuzz_one_vm(uint32_t apicv, uint64_t seed, uint64_t ops, struct totals *t,
			       char *why, size_t why_len)
{
	struct vm *vm = vm_create_apic_tier(apicv);
	struct runner r[NR_FUZZ_VCPUS];
	uint64_t last_ops[NR_FUZZ_VCPUS] = { 0 };
	uint64_t last_progress[NR_FUZZ_VCPUS], t0 = now_ms();
	unsigned int watchdog = 0;
	const char *err = NULL;
	bool ended = false;
	uint8_t *tables;
	int i, j;

	fuzz_setup_memory(vm);
	tables = fuzz_tables_save(vm);
	memset(r, 0, sizeof(r));
	for (i = 0; i < NR_FUZZ_VCPUS; i++) {
		struct fuzz_cpu *c = addr_gpa2hva(vm, (uint64_t)(uintptr_t)&fuzz_cpus[i]);

		memset(c, 0, sizeof(*c));
		c->seed = splitmix(&seed);
		c->ops_target = ops;
		r[i].rng = c->seed;
		r[i].vcpu = vm_add_vcpu(vm, i, guest_fuzz, i);
		fuzz_setup_vcpu(r[i].vcpu);
	}
	for (i = 0; i < NR_FUZZ_VCPUS; i++) {
		last_progress[i] = now_ms();
		TEST_ASSERT(!pthread_create(&r[i].thread, NULL, runner_fn, &r[i]), "pthread_create");
	}

	for (;;) {
		bool running = false;

		usleep(2000);
		for (i = 0; i < NR_FUZZ_VCPUS; i++) {
			struct fuzz_cpu *c = addr_gpa2hva(vm, (uint64_t)(uintptr_t)&fuzz_cpus[i]);
			uint64_t done = READ_ONCE_U64(c->ops_done);

			if (r[i].state == FAILED) {
				snprintf(why, why_len, "vCPU %d: %s", i, r[i].why);
				err = why;
			} else if (r[i].state == VM_ENDED) {
				ended = true;
			} else if (r[i].state == RUNNING) {
				running = true;
				if (done != last_ops[i]) {
					last_ops[i] = done;
					last_progress[i] = now_ms();
				} else if (now_ms() - last_progress[i] > STALL_MS) {
					/* Halted for good, spinning, waiting for SIPI... */
					if (++watchdog > MAX_REBOOTS) {
						t->stalled++;
						ended = true;
					}
					fuzz_tables_restore(vm, tables);
					r[i].reboot = true;
					pthread_kill(r[i].thread, SIGUSR1);
					last_progress[i] = now_ms();
				}
			}
		}
		if (err || ended || !running)
			break;
		if (now_ms() - t0 > STEP_MS) {
			t->timeouts++;
			break;
		}
	}
	for (i = 0; i < NR_FUZZ_VCPUS; i++) {
		if (!runner_stop(&r[i], 10000) && !err) {
			snprintf(why, why_len, "vCPU %d: RUN does not end on a signal", i);
			/* The thread still uses the VM: do not free it under it. */
			free(tables);
			return why;
		}
		if (r[i].state == FAILED && !err) {
			snprintf(why, why_len, "vCPU %d: %s", i, r[i].why);
			err = why;
		}
	}

	t->vms++;
	for (i = 0; i < NR_FUZZ_VCPUS; i++) {
		struct fuzz_cpu *c = addr_gpa2hva(vm, (uint64_t)(uintptr_t)&fuzz_cpus[i]);
		struct vapicvm_run *run = r[i].vcpu->run;

		t->done += r[i].state == GUEST_DONE;
		if (r[i].state == VM_ENDED) {
			if (run->exit_reason == VAPICVM_EXIT_SHUTDOWN) {
				t->shutdown++;
			} else {
				t->internal[run->internal.suberror]++;
				t->unhandled_reasons[(uint16_t)run->internal.data[0] % 80]++;
			}
			printf("# vm %lu vCPU %d: %s\n", (unsigned long)t->vms, i, r[i].why);
		}
		t->io += r[i].io;
		t->mmio += r[i].mmio;
		t->hlt += r[i].hlt;
		t->reboots += r[i].reboots;
		t->lost += r[i].lost;
		t->ops += c->ops_done < ops ? c->ops_done : ops;
		if (!fuzz_cpu_counts_plausible(c)) {
			t->garbled++;
			continue;
		}
		for (j = 0; j < OP_NR; j++)
			t->op_count[j] += c->op_count[j];
		for (j = 0; j < 32; j++)
			t->exceptions += c->exceptions[j];
		t->irqs += c->irqs;
		t->nmis += c->nmis;
		t->insn_bytes += c->insn_bytes;
	}
	t->watchdog += watchdog;
	/* The guest's pages are pinned now: this shows the count sees them. */
	t->pins_while_running = pins_outstanding(&t->pins_exact);
	free(tables);
	vm_free(vm);
	return err;
}

FIXTURE(fuzz) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(fuzz);

FIXTURE_SETUP(fuzz)
{
	APIC_TIER_SETUP();
	/* Each step makes its own VM. */
	vm_free(self->vm);
	self->vm = NULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static uint64_t fuzz_seed_value;

/* One seed for the program (every tier's test is a child of this process). */
static void __attribute__((constructor)) fuzz_seed_init(void)
{
	fuzz_seed_value = env_u64("SEED", 0);
	if (!fuzz_seed_value) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fuzz_seed_value = (ts.tv_sec * 1000000007ULL) ^ ts.tv_nsec ^ getpid();
	}
}

static uint64_t fuzz_seed(void)
{
	return fuzz_seed_value;
}

TEST_F_TIMEOUT(fuzz, two_vcpus, 300)
{
	uint64_t seed = fuzz_seed(), steps = env_u64("FUZZ_STEPS", 8),
		 ops = env_u64("FUZZ_OPS", 3000), step_seed;
	struct sigaction sa = { .sa_handler = runner_signal };
	struct totals t = { 0 };
	long pins0, pins1, locked;
	uint64_t t0 = now_ms(), ms;
	char why[512], line[512];
	unsigned int s, i;
	int n;

	sigaction(SIGUSR1, &sa, NULL);
	TH_LOG("seed %#lx (SEED=%#lx replays it), %lu VMs of 2 vCPUs x %lu operations",
	       (unsigned long)seed, (unsigned long)seed, (unsigned long)steps, (unsigned long)ops);
	ASSERT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vms"));
	locked = proc_kb("/proc/self/status", "VmLck");
	pins0 = pins_baseline();
	ASSERT_NE(LONG_MIN, pins0) TH_LOG("no nr_foll_pin_* in /proc/vmstat to count pins");
	for (s = 0; s < steps; s++) {
		const char *err;

		step_seed = seed ^ (s * 0x9e3779b97f4a7c15ULL) ^ self->apicv;
		err = fuzz_one_vm(self->apicv, step_seed, ops, &t, why, sizeof(why));
		ASSERT_EQ(NULL, err) TH_LOG("seed %#lx step %u: %s", (unsigned long)seed, s, err);
		ASSERT_EQ(0, read_sysfs_long(VAPICVM_SYSFS "vms"))
			TH_LOG("a destroyed VM is still counted");
		/* Pinned guest memory is charged to VmLck while the VM lives. */
		ASSERT_EQ(locked, proc_kb("/proc/self/status", "VmLck"))
			TH_LOG("locked memory still charged after the VM went away");
		/* Every guest page pinned for the VM was unpinned with it. */
		pins1 = pins_settled(pins0);
		/* Lazily folded counts may not show a small VM yet. */
		if (t.pins_exact)
			ASSERT_LT(pins0, t.pins_while_running)
				TH_LOG("the pin count did not see VM %u's guest memory", s);
		ASSERT_EQ(pins0, pins1)
			TH_LOG("%ld guest pages still pinned after VM %u", pins1 - pins0, s);
	}

	ms = now_ms() - t0;
	TH_LOG("%lu VMs in %lu.%03lu s: %lu done, %lu shutdown, internal errors %lu/%lu/%lu "
	       "(unhandled exit, emulation, delivery), %lu stalled, %lu timed out",
	       (unsigned long)t.vms, (unsigned long)ms / 1000, (unsigned long)ms % 1000,
	       (unsigned long)t.done / NR_FUZZ_VCPUS,
	       (unsigned long)t.shutdown, (unsigned long)t.internal[1],
	       (unsigned long)t.internal[2], (unsigned long)t.internal[3],
	       (unsigned long)t.stalled, (unsigned long)t.timeouts);
	n = snprintf(line, sizeof(line), "%lu operations:", (unsigned long)t.ops);
	for (i = 0; i < OP_NR; i++)
		n += snprintf(line + n, sizeof(line) - n, " %s %lu", op_names[i],
			      (unsigned long)t.op_count[i]);
	TH_LOG("%s", line);
	TH_LOG("%lu random instruction bytes; guest saw %lu exceptions, %lu interrupts, %lu NMIs "
	       "(%lu vCPUs' counters overwritten by their own random code, left out)",
	       (unsigned long)t.insn_bytes, (unsigned long)t.exceptions, (unsigned long)t.irqs,
	       (unsigned long)t.nmis, (unsigned long)t.garbled);
	TH_LOG("VMM: %lu I/O, %lu MMIO, %lu HLT exits; %lu INIT/SIPI/reset returns, "
	       "%lu watchdog returns, %lu lost",
	       (unsigned long)t.io, (unsigned long)t.mmio, (unsigned long)t.hlt,
	       (unsigned long)t.reboots, (unsigned long)t.watchdog, (unsigned long)t.lost);
	n = snprintf(line, sizeof(line), "exit reasons of the internal errors:");
	for (i = 0; i < ARRAY_SIZE(t.unhandled_reasons); i++)
		if (t.unhandled_reasons[i])
			n += snprintf(line + n, sizeof(line) - n, " %u: %lu", i,
				      (unsigned long)t.unhandled_reasons[i]);
	TH_LOG("%s", line);
	TH_LOG("%ld guest pages pinned while the last VM ran (%s), all released with it",
	       t.pins_while_running - pins0, t.pins_exact ? "exact" : "lazily counted");
	EXPECT_GT(t.ops, 0);
}

TEST_HARNESS_MAIN

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the selftest library (guest.c): code that runs in the
 * guest.  Guests report to the host through ucalls: an OUT to UCALL_PORT
 * with RDI pointing at a struct ucall (decoded by get_ucall(), in
 * vapicvm_util.h).  Interrupts and exceptions reach the handlers installed
 * with vm_install_handler() through the stubs in handlers.S.
 */
#ifndef SELFTEST_GUEST_H
#define SELFTEST_GUEST_H

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Guest -> host calls                                                 */
/* ------------------------------------------------------------------ */

#define UCALL_PORT		0x1000

enum {
	UCALL_NONE,
	UCALL_SYNC,	/* args[0] = stage, args[1..] = values */
	UCALL_ABORT,	/* a GUEST_ASSERT failed */
	UCALL_DONE,
	UCALL_PRINT,
};

struct ucall {
	uint64_t cmd;
	uint64_t args[6];
	const char *file;
	uint64_t line;
	const char *expr;
	char msg[192];
};

void ucall(uint64_t cmd, int nargs, ...);
void ucall_abort(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define GUEST_SYNC(stage)		ucall(UCALL_SYNC, 1, (uint64_t)(stage))
#define GUEST_SYNC_ARGS(stage, ...)	ucall(UCALL_SYNC, 6, (uint64_t)(stage), ##__VA_ARGS__)
#define GUEST_DONE()			ucall(UCALL_DONE, 0)
#define GUEST_ASSERT(e) do {							\
	if (!(e))								\
		ucall_abort(__FILE__, __LINE__, #e, "");			\
} while (0)
#define GUEST_ASSERT_EQ(a, b) do {						\
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b);			\
	if (__a != __b)								\
		ucall_abort(__FILE__, __LINE__, #a " == " #b,			\
			    "%#lx != %#lx", (unsigned long)__a, (unsigned long)__b); \
} while (0)

/* ------------------------------------------------------------------ */
/* Guest interrupts                                                    */
/* ------------------------------------------------------------------ */

struct ex_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct ex_regs *regs);

/* The handler of each vector (vm_install_handler() sets the guest's copy). */
extern guest_handler_t guest_handlers[256];

/* Called by the stubs in handlers.S with the saved state. */
void guest_route_interrupt(struct ex_regs *regs);

/* ------------------------------------------------------------------ */
/* Instructions                                                        */
/* ------------------------------------------------------------------ */

static inline void guest_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t guest_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static inline void guest_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t guest_read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t guest_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void guest_write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void guest_write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

/*
 * rounds times: wait with PAUSE until *turn is me (0 or 1), then give the
 * turn to the other vCPU; two vCPUs calling it pass the turn back and forth.
 */
static inline void guest_pass_turn(volatile uint32_t *turn, uint32_t me, uint64_t rounds)
{
	uint64_t i;

	for (i = 0; i < rounds; i++) {
		while (*turn != me)
			__asm__ volatile("pause");
		*turn = !me;
	}
}

/* Busy-wait (with PAUSE) until ticks of the guest's TSC have passed. */
static inline void guest_spin_tsc(uint64_t ticks)
{
	uint64_t t0 = guest_rdtsc();

	while (guest_rdtsc() - t0 < ticks)
		__asm__ volatile("pause");
}

static inline void guest_cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
			       uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline void guest_sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void guest_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/*
 * STI; HLT: an interrupt that became pending while IF was 0 is delivered
 * after the HLT (STI's shadow), so it ends the halt instead of being missed.
 */
static inline void guest_safe_halt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

/*
 * Halt until cond holds.  The condition is tested with IF=0: an interrupt
 * taken between a test with IF=1 and the HLT would leave the vCPU halted
 * with nothing left to wake it (a lost wake-up in the guest, not the
 * hypervisor).  Returns with IF=1.
 */
#define guest_halt_until(cond) do {						\
	guest_cli();								\
	while (!(cond)) {							\
		guest_safe_halt();						\
		guest_cli();							\
	}									\
	guest_sti();								\
} while (0)

static inline void guest_halt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

/* Read/write guest MMIO (used by APIC tests). */
static inline uint32_t guest_mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void guest_mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

#endif /* SELFTEST_GUEST_H */

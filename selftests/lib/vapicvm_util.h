/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for vapicvm selftests, after KVM's selftests.
 *
 * Raw and asserting ioctl helpers: __vm_ioctl() returns the raw result (for
 * negative tests), vm_ioctl() asserts success and names the ioctl.
 *
 * Guest code: a test's guest code is ordinary C in the test binary.
 * vm_create() copies the binary's loadable segments into guest memory at
 * their own addresses and identity-maps the low 4 GiB, so a function
 * pointer, a string literal or a global means the same thing in the guest
 * and on the host (the guest has its own copy of the globals: see
 * sync_global_to_guest()).  Guests report through ucalls: an OUT to
 * UCALL_PORT with RDI pointing at a struct ucall.
 */
#ifndef SELFTEST_VAPICVM_UTIL_H
#define SELFTEST_VAPICVM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vapicvm.h>

#define VAPICVM_DEV "/dev/vapicvm"
#define VAPICVM_SYSFS "/sys/class/misc/vapicvm/"

/* Fail the whole test program (outside the harness's TEST bodies). */
#define TEST_FAIL(fmt, ...) do {						\
	fprintf(stderr, "==== Test assertion failure ====\n  %s:%d: " fmt "\n",	\
		__FILE__, __LINE__, ##__VA_ARGS__);				\
	fprintf(stderr, "  errno=%d (%s)\n", errno, strerror(errno));		\
	fflush(stderr);								\
	exit(1);								\
} while (0)

#define TEST_REQUIRE(cond, fmt, ...) do { if (!(cond)) TEST_FAIL(fmt, ##__VA_ARGS__); } while (0)

int open_dev(void);
long read_sysfs_long(const char *path);

/* Check that a raw ioctl fails with the given errno. */
#define ioctl_fails_with(fd, cmd, arg, err) ({					\
	int __r = ioctl(fd, cmd, arg);						\
	__r == -1 && errno == (err);						\
})

static inline int create_vm_fd(int dev_fd, uint32_t flags, uint32_t apicv)
{
	struct vapicvm_create_vm params = { .flags = flags, .apicv = apicv };

	return ioctl(dev_fd, VAPICVM_CREATE_VM, &params);
}

/* ------------------------------------------------------------------ */
/* VMs and vCPUs                                                       */
/* ------------------------------------------------------------------ */

#define VM_MEM_SIZE		(64ULL << 20)	/* guest RAM at GPA 0 */
#define VM_MAX_VCPUS		16

/* Guest-physical layout (identity-mapped, GVA == GPA). */
#define GUEST_PML4		0x100000ULL
#define GUEST_GDT		0x108000ULL
#define GUEST_IDT		0x109000ULL
#define GUEST_TSS		0x10a000ULL
#define GUEST_STACKS		0x200000ULL	/* 64 KiB per vCPU */
#define GUEST_STACK_SIZE	0x10000ULL
#define GUEST_FREE		0x2000000ULL	/* 32 MiB: free for tests */

#define GDT_CODE64		0x08
#define GDT_DATA		0x10
#define GDT_TSS			0x18
#define GDT_CODE32		0x28
#define GDT_CODE16		0x30
#define GDT_DATA16		0x38

struct vm;

struct vcpu {
	struct vm *vm;
	int fd;
	uint32_t id;
	struct vapicvm_run *run;
};

struct vm {
	int dev_fd;
	int fd;
	uint8_t *mem;		/* host mapping of guest RAM */
	uint64_t mem_size;
	uint32_t apicv;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	unsigned int nr_vcpus;
};

/* A VM with guest RAM in slot 0, the test binary loaded, long mode ready. */
struct vm *vm_create(void);
/* Same, with an explicit APIC-virtualization mask (VAPICVM_VM_APICV_MASK). */
struct vm *vm_create_apicv(uint32_t apicv);
/* A VM without memory or paging: for tests that build everything. */
struct vm *vm_create_bare(uint32_t flags, uint32_t apicv);
void vm_free(struct vm *vm);

/* A vCPU that starts in 64-bit mode at guest_code(arg). */
struct vcpu *vm_add_vcpu(struct vm *vm, uint32_t id, void *guest_code, uint64_t arg);
/* A vCPU in its reset state. */
struct vcpu *vm_add_vcpu_bare(struct vm *vm, uint32_t id);
/* Put a vCPU into 64-bit mode at guest_code with its own stack. */
void vcpu_setup_long_mode(struct vcpu *vcpu, void *guest_code, uint64_t arg);

#define __vm_ioctl(vm, cmd, arg)	ioctl((vm)->fd, cmd, arg)
#define vm_ioctl(vm, cmd, arg) ({						\
	int __r = ioctl((vm)->fd, cmd, arg);					\
	TEST_REQUIRE(__r >= 0, "%s failed: %d", #cmd, __r);			\
	__r;									\
})
#define __vcpu_ioctl(vcpu, cmd, arg)	ioctl((vcpu)->fd, cmd, arg)
#define vcpu_ioctl(vcpu, cmd, arg) ({						\
	int __r = ioctl((vcpu)->fd, cmd, arg);					\
	TEST_REQUIRE(__r >= 0, "%s failed: %d", #cmd, __r);			\
	__r;									\
})

/* RUN; asserts the ioctl succeeded. */
void vcpu_run(struct vcpu *vcpu);
int __vcpu_run(struct vcpu *vcpu);

void vcpu_get_regs(struct vcpu *vcpu, struct vapicvm_regs *regs);
void vcpu_set_regs(struct vcpu *vcpu, const struct vapicvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct vapicvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, const struct vapicvm_sregs *sregs);
uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index);
void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
int __vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
uint64_t vcpu_stat(struct vcpu *vcpu, enum vapicvm_stat stat);

/* Guest memory. */
void *addr_gpa2hva(struct vm *vm, uint64_t gpa);
void vm_set_memory_region(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			  uint64_t size, void *hva);
int __vm_set_memory_region(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
			   uint64_t size, uint64_t hva);

/* Copy the host's value of a global into the guest's copy, and back. */
#define sync_global_to_guest(vm, g) \
	memcpy(addr_gpa2hva(vm, (uint64_t)(uintptr_t)&(g)), (const void *)&(g), sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy((void *)&(g), addr_gpa2hva(vm, (uint64_t)(uintptr_t)&(g)), sizeof(g))

/* Assert the exit reason, naming both on failure. */
const char *exit_reason_str(uint32_t reason);
#define TEST_ASSERT_EXIT(vcpu, expected) do {					\
	uint32_t __r = (vcpu)->run->exit_reason;				\
	TEST_REQUIRE(__r == (expected), "exit reason %s (%u), expected %s",	\
		     exit_reason_str(__r), __r, exit_reason_str(expected));	\
} while (0)

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
/* What the guest asked for at the last exit, or UCALL_NONE. */
uint64_t get_ucall(struct vcpu *vcpu, struct ucall *uc);
/*
 * Run until the next exit that is not a guest print (printed on the way):
 * the ucall is in *uc (uc->cmd is UCALL_NONE for another exit).  Returns
 * RUN's result: 0, or -1 with errno.
 */
int __vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc);
/*
 * Run until the next ucall; fail the test on a guest assertion or an exit
 * that is not a ucall.  Returns the ucall's command.
 */
uint64_t vcpu_run_ucall(struct vcpu *vcpu, struct ucall *uc);
/* Fail the test, with the assertion's place and message. */
void fail_guest_assert(const struct vcpu *vcpu, const struct ucall *uc) __attribute__((noreturn));

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

/* Install a handler for a vector (host side, before running the guest). */
void vm_install_handler(struct vm *vm, int vector, guest_handler_t handler);

/* Guest-side helpers. */
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

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
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

#endif /* SELFTEST_VAPICVM_UTIL_H */

/* ------------------------------------------------------------------ */
/* A vCPU on its own thread                                            */
/* ------------------------------------------------------------------ */

#include <pthread.h>

struct vcpu_thread {
	pthread_t thread;
	struct vcpu *vcpu;
	struct ucall uc;	/* the ucall that ended the run (UCALL_DONE) */
	struct ucall last_sync;	/* the last UCALL_SYNC seen on the way */
	unsigned int syncs;	/* UCALL_SYNCs seen on the way */
	volatile bool stop;	/* vcpu_thread_stop() asked the thread to end */
	volatile bool done;	/* the thread has finished */
};

/* Run the vCPU on a new thread until the guest's GUEST_DONE. */
void vcpu_thread_start(struct vcpu_thread *th, struct vcpu *vcpu);
void vcpu_thread_join(struct vcpu_thread *th);
/* Join if the thread finishes within `seconds`; false if it did not. */
bool vcpu_thread_join_timeout(struct vcpu_thread *th, unsigned int seconds);
/* End the thread's RUN with a signal, wherever the vCPU is, and join it. */
void vcpu_thread_stop(struct vcpu_thread *th);
/* One line of the vCPU's counters, read without stopping it. */
void vcpu_print_stats(struct vcpu *vcpu, const char *prefix);


/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host side of the selftest library (vapicvm_util.c), after KVM's
 * selftests.
 *
 * Raw and asserting ioctl helpers: __vm_ioctl() returns the raw result (for
 * negative tests), vm_ioctl() asserts success and names the ioctl and
 * errno; both check at compile time that an ioctl's argument has the size
 * its number declares.
 *
 * Guest code: a test's guest code is ordinary C in the test binary.
 * vm_create() copies the binary's loadable segments into guest memory at
 * their own addresses and identity-maps the low 4 GiB, so a function
 * pointer, a string literal or a global means the same thing in the guest
 * and on the host (the guest has its own copy of the globals: see
 * sync_global_to_guest()).  Guests report through ucalls (guest.h).
 */
#ifndef SELFTEST_VAPICVM_UTIL_H
#define SELFTEST_VAPICVM_UTIL_H

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vapicvm.h>

#include "guest.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define VAPICVM_DEV "/dev/vapicvm"
#define VAPICVM_SYSFS "/sys/class/misc/vapicvm/"

/* ------------------------------------------------------------------ */
/* Assertions and requirements                                         */
/* ------------------------------------------------------------------ */

/*
 * TEST_ASSERT: a check outside the harness's ASSERT_* and EXPECT_* (in
 * library code, vCPU threads, or where there is no _metadata).  On failure
 * it prints where, the condition, the message and errno, and ends the
 * program with status 1: in a harness test, that test fails.
 */
void test_assert_failed(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

#define TEST_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))								\
		test_assert_failed(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__); \
} while (0)

#define TEST_FAIL(fmt, ...)	test_assert_failed(__FILE__, __LINE__, NULL, fmt, ##__VA_ARGS__)

/* End the whole program as skipped (KSFT_SKIP), with the reason. */
void test_skip_program(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * TEST_REQUIRE: something this machine lacks (a capability, a CPU
 * feature, a second CPU), so the test cannot run: it is skipped, with the
 * reason.  Where the harness's _metadata is in scope (TEST, TEST_F and
 * FIXTURE_SETUP bodies, and helpers taking _metadata; kselftest_harness.h
 * included before this header) the harness's SKIP() marks that test
 * skipped and leaves it as a failed ASSERT would (the fixture's teardown
 * runs if its setup had completed).  Elsewhere (before the harness runs,
 * or in library code) the program exits with KSFT_SKIP, which a test's
 * process may not do: this harness counts it as a failure, so a test's
 * helpers take _metadata.  Not for vCPU threads nor FIXTURE_TEARDOWN; a
 * failed check is TEST_ASSERT's or an ASSERT's, never TEST_REQUIRE's.
 */
#ifdef __KSELFTEST_HARNESS_H
/* Outside the harness's functions, the _metadata TEST_REQUIRE sees is this null one. */
static struct __test_metadata *const _metadata __attribute__((unused));

#define __TEST_REQUIRE_SKIP(fmt, ...) do {					\
	if (_metadata)								\
		SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__);		\
	test_skip_program(fmt, ##__VA_ARGS__);					\
} while (0)
#else
#define __TEST_REQUIRE_SKIP(fmt, ...)	test_skip_program(fmt, ##__VA_ARGS__)
#endif

#define TEST_REQUIRE(cond, fmt, ...) do {					\
	if (!(cond))								\
		__TEST_REQUIRE_SKIP(fmt, ##__VA_ARGS__);			\
} while (0)

/* ------------------------------------------------------------------ */
/* ioctls                                                              */
/* ------------------------------------------------------------------ */

/*
 * Every ioctl goes through here: an ioctl number that declares a size
 * (_IOR/_IOW/_IOWR) must be given a pointer to an object of that size, so
 * that a wrong struct (or a header-plus-entries wrapper instead of its
 * header) is a build error.  Scalar arguments of _IO ioctls are passed
 * cast to (void *), as in KVM's selftests.
 */
#define vapicvm_do_ioctl(fd, cmd, arg, name) ({				\
	static_assert(!_IOC_SIZE(cmd) || sizeof(*(arg)) == _IOC_SIZE(cmd),	\
		      "the argument of " name " is not of the size it declares"); \
	ioctl(fd, cmd, arg);							\
})

#define __VAPICVM_IOCTL_ERROR(name, r)						\
	"%s failed, rc: %i errno: %i (%s)", name, r, errno, strerror(errno)

#define __vapicvm_assert_ioctl(r, name) ({					\
	int __r = (r);								\
	TEST_ASSERT(__r >= 0, __VAPICVM_IOCTL_ERROR(name, __r));		\
	__r;									\
})

/* On /dev/vapicvm (or any fd of ours: the number says which). */
#define __sys_ioctl(fd, cmd, arg)	vapicvm_do_ioctl(fd, cmd, arg, #cmd)
#define sys_ioctl(fd, cmd, arg)							\
	__vapicvm_assert_ioctl(vapicvm_do_ioctl(fd, cmd, arg, #cmd), #cmd)

#define __vm_ioctl(vm, cmd, arg)	vapicvm_do_ioctl((vm)->fd, cmd, arg, #cmd)
#define vm_ioctl(vm, cmd, arg)							\
	__vapicvm_assert_ioctl(vapicvm_do_ioctl((vm)->fd, cmd, arg, #cmd), #cmd)

#define __vcpu_ioctl(vcpu, cmd, arg)	vapicvm_do_ioctl((vcpu)->fd, cmd, arg, #cmd)
#define vcpu_ioctl(vcpu, cmd, arg)						\
	__vapicvm_assert_ioctl(vapicvm_do_ioctl((vcpu)->fd, cmd, arg, #cmd), #cmd)

/* Check that a raw ioctl fails with the given errno. */
#define ioctl_fails_with(fd, cmd, arg, err) ({					\
	int __r = ioctl(fd, cmd, arg);						\
	__r == -1 && errno == (err);						\
})

int open_dev(void);
long read_sysfs_long(const char *path);
/* Write value to a sysfs file (a module parameter): 0, or -1. */
int write_sysfs(const char *path, const char *value);
/* Whether Linux lists flag among the host's "vmx flags": 1, 0, or -1 without that line. */
int host_vmx_flag(const char *flag);
/*
 * The calling thread (and the threads it creates from then on) on host CPU
 * cpu only, its affinity until then kept in *saved: 0, or -errno.
 */
int pin_to_cpu(int cpu, cpu_set_t *saved);

/* KVM's modules for the running kernel, as the bench ships them. */
#define KVM_MODULE_DIR		"/lib/vapicvm-bench/kvm"
bool kvm_modules_available(void);
/*
 * irqbypass, kvm and kvm-intel (already loaded is fine): 0, or -errno.
 * KVM as on 6.1, in VMX operation only while one of its VMs exists: on a
 * kernel whose kvm.ko has enable_virt_at_load (6.12), that is set to 0.
 */
int load_kvm_modules(void);
/* The same with kvm.ko's parameters given ("" for its defaults). */
int load_kvm_modules_with(const char *kvm_params);
/* One module of KVM_MODULE_DIR (name without .ko): 0, or -errno. */
int load_kvm_module(const char *name, const char *params);
/* kvm.ko has the parameter enable_virt_at_load (6.12 on; not 6.1). */
bool kvm_has_virt_at_load(void);
void unload_kvm_modules(void);
int create_vm_fd(int dev_fd, uint32_t flags, uint32_t apicv);

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

/* The 64-bit mode a vCPU starts guest code in, on either hypervisor. */
#define GUEST_LONG_MODE_CR0	0x80050033ULL	/* PG WP NE ET MP PE */
#define GUEST_LONG_MODE_CR4	0x620ULL	/* OSXMMEXCPT OSFXSR PAE */
#define GUEST_LONG_MODE_EFER	0x500ULL	/* LMA LME */
#define GUEST_TSS_LIMIT		0x67
#define GUEST_IDT_LIMIT		(256 * 16 - 1)

/* Where vCPU id's stack starts (it grows down from its 64 KiB). */
static inline uint64_t guest_stack_top(uint32_t id)
{
	return GUEST_STACKS + (id + 1) * GUEST_STACK_SIZE - 8;
}

#define GDT_CODE64		0x08
#define GDT_DATA		0x10
#define GDT_TSS			0x18
#define GDT_CODE32		0x28
#define GDT_CODE16		0x30
#define GDT_DATA16		0x38

/*
 * The guest image in a VM_MEM_SIZE buffer at GPA 0, whatever hypervisor
 * runs it: this binary's segments, identity paging, GDT, TSS and IDT.
 */
void guest_image_init(uint8_t *mem);
/* Install a guest interrupt handler in such an image. */
void guest_image_install_handler(uint8_t *mem, int vector, guest_handler_t handler);

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
/*
 * A vCPU's whole state into a new vCPU (same id) of dst, whose memory
 * becomes a copy of the source VM's: what a VMM's migration does (CPUID,
 * SREGS, MSRs, REGS, XSAVE, XCRS, DEBUGREGS, LAPIC, VCPU_EVENTS,
 * MP_STATE, in that order).  The source is left as it was.
 */
struct vcpu *vcpu_migrate(struct vcpu *src, struct vm *dst);
/* Put a vCPU into 64-bit mode at guest_code with its own stack. */
void vcpu_setup_long_mode(struct vcpu *vcpu, void *guest_code, uint64_t arg);
/* Put a vCPU into 32-bit protected mode (flat segments, no paging) at eip. */
void vcpu_setup_protected_mode(struct vcpu *vcpu, uint32_t eip);
/* Put a vCPU into real mode at cs:ip (CS base cs << 4). */
void vcpu_setup_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip);

/* RUN; asserts the ioctl succeeded. */
void vcpu_run(struct vcpu *vcpu);
int __vcpu_run(struct vcpu *vcpu);

void vcpu_get_regs(struct vcpu *vcpu, struct vapicvm_regs *regs);
uint64_t vcpu_get_rip(struct vcpu *vcpu);
void vcpu_set_regs(struct vcpu *vcpu, const struct vapicvm_regs *regs);
void vcpu_get_sregs(struct vcpu *vcpu, struct vapicvm_sregs *sregs);
void vcpu_set_sregs(struct vcpu *vcpu, const struct vapicvm_sregs *sregs);
uint64_t vcpu_get_msr(struct vcpu *vcpu, uint32_t index);
void vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
int __vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
/* All of a vCPU's VAPICVM_GET_STATS counters, or one of them. */
void vcpu_stats(struct vcpu *vcpu, uint64_t c[VAPICVM_STAT_NR]);
uint64_t vcpu_stat(struct vcpu *vcpu, enum vapicvm_stat stat);
/* One of the VM's counters or levels (VAPICVM_GET_VM_STATS). */
uint64_t vm_stat(struct vm *vm, enum vapicvm_vm_stat stat);
/* A counter's name, from the table in the UAPI header. */
const char *stat_name(enum vapicvm_stat stat);
/* One line of the vCPU's non-zero counters, read without stopping it. */
void vcpu_print_stats(struct vcpu *vcpu, const char *prefix);

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

/* An exit reason's name, from the table in the UAPI header. */
const char *exit_reason_str(uint32_t reason);
/* Assert the exit reason, naming both on failure. */
#define TEST_ASSERT_EXIT(vcpu, expected) do {					\
	uint32_t __r = (vcpu)->run->exit_reason;				\
	TEST_ASSERT(__r == (expected), "exit reason %s (%u), expected %s",	\
		    exit_reason_str(__r), __r, exit_reason_str(expected));	\
} while (0)

/* ------------------------------------------------------------------ */
/* ucalls, host side                                                   */
/* ------------------------------------------------------------------ */

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

/* Install a handler for a vector (host side, before running the guest). */
void vm_install_handler(struct vm *vm, int vector, guest_handler_t handler);

/* ------------------------------------------------------------------ */
/* A vCPU on its own thread                                            */
/* ------------------------------------------------------------------ */

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

#endif /* SELFTEST_VAPICVM_UTIL_H */

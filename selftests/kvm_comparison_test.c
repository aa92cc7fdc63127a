// SPDX-License-Identifier: GPL-2.0
/*
 * The same guest operations on vapicvm and on KVM (kvm_intel), in one boot
 * of one machine: a measurement, not a timed test.
 *
 * One guest function runs every operation N and 2N times and reports
 * (T(2N) - T(N)) / N in guest TSC ticks, which cancels the fixed costs of
 * the loop and the reads; in the emulated bench machine the TSC counts
 * emulated instructions, so the numbers are deterministic costs.  The
 * guest runs first on vapicvm (every APIC-virtualization feature the CPU
 * has), then, with vapicvm's VM gone, on KVM with its in-kernel APIC (the
 * two never hold VMX operation at the same time).  Each result is printed
 * as a "# cost: <op> vapicvm=<n> kvm=<n>" line, which `make bench` turns
 * into its table; the tests check only that each operation did what it
 * should and was measured on each side.
 *
 * A second vCPU is the target of the IPI operations, spinning or halted.
 *
 * N comes from the kernel command line (vapicvm.bench_iterations=N), so
 * that `make check` runs a short pass and `make bench` a long one.
 *
 * A second test boots the bench's Linux guest on each side, whole.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "kselftest_harness.h"
#include "apic.h"
#include "kvm_guest.h"

#define DEFAULT_ITERATIONS	200
#define VEC_SELF		0x40
#define VEC_TIMER		0x41
#define VEC_IPI			0x42
#define TIMER_DELAY_TSC		2000	/* a deadline this far ahead */
#define TIMER_DELAY_COUNT	1000	/* a one-shot count (ns at divide 1) */
/*
 * Before each IPI of ipi_halt, time for vCPU 1 to have halted again (its
 * HLT taken and, in the host, its thread asleep); subtracted from the cost.
 */
#define HALT_SETTLE_TSC		20000
#define PERIODIC_COUNT		200000	/* 200 us at divide 1: both sides' floor */
#define PERIODIC_WORK		8000000	/* loop rounds: tens of periods */
#define BENCH_PORT		0x99
#define BENCH_IOEVENTFD_PORT	0x9a	/* an ioeventfd on both sides: no exit to userspace */
#define BENCH_MMIO_GPA		0xc0000000ULL	/* no memory there: MMIO to userspace */

/* guest_compare()'s argument: the iteration count, and whether vCPU 1 runs. */
#define WITH_TARGET		(1ULL << 63)

/* What the guest reports of an operation (GUEST_SYNC_ARGS' last word). */
enum op_status { OP_NO_CPUID_FEATURE, OP_MEASURED, OP_NO_SECOND_VCPU };

#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_ADJUST		0x3b

#define OPS(X)								\
	X(cpuid)		X(vmcall)					\
	X(mov_to_cr8)		X(mov_from_cr8)					\
	X(xapic_tpr_write)	X(xapic_eoi)		X(xapic_icr_self_ipi)	\
	X(xapic_icr_self_ipi_sti_hlt)						\
	X(x2apic_tpr_write)	X(x2apic_eoi)		X(x2apic_icr_self_ipi)	\
	X(x2apic_icr_self_ipi_sti_hlt)	X(x2apic_self_ipi)			\
	X(x2apic_self_ipi_sti_hlt)	X(tscdeadline_immed)	X(tscdeadline)	\
	X(oneshot_timer)	X(periodic_timer)	X(ipi)			\
	X(ipi_halt)								\
	X(outl_to_user)		X(outl_ioeventfd)				\
	X(inl_from_user)	X(mmio_read_from_user)				\
	X(ept_fault_in)								\
	X(cr0_wp_toggle)	X(cr4_pge_toggle)				\
	X(rdmsr_kernel_gs_base)	X(wrmsr_kernel_gs_base)				\
	X(rdmsr_tsc_adjust)	X(wrmsr_tsc_adjust)

enum op {
#define OP_ENUM(name) OP_##name,
	OPS(OP_ENUM)
#undef OP_ENUM
	NR_OPS
};

static const char *const op_names[NR_OPS] = {
#define OP_NAME(name) [OP_##name] = #name,
	OPS(OP_NAME)
#undef OP_NAME
};

static volatile uint32_t irqs;

static void count_and_eoi(struct ex_regs *regs)
{
	irqs++;
	apic_eoi();
}

/* vCPU 1: the IPI target, running (spinning) or halted as vCPU 0 says. */
enum target_mode { TARGET_WAIT, TARGET_SPIN, TARGET_HALT, TARGET_DONE };
static volatile uint32_t target_mode, target_irqs, target_started;

static void target_count_and_eoi(struct ex_regs *regs)
{
	target_irqs++;
	x2apic_write(REG_EOI, 0);
}

/*
 * A local APIC may deliver its spurious-interrupt vector (SVR[7:0]) for an
 * interrupt it withdrew (SDM vol. 3A, 11.9): such a delivery sets no ISR
 * bit and takes no EOI.  KVM on Linux 6.12 delivers one to vCPU 1 in this
 * run (6.1 does not); a guest must take it, as Linux does.
 */
#define VEC_SPURIOUS	0xff
static volatile uint32_t spurious_irqs;

static void count_spurious(struct ex_regs *regs)
{
	spurious_irqs++;
}

/*
 * It enables its x2APIC only when vCPU 0 has switched to x2APIC mode:
 * guest_x2apic, which apic_eoi() reads, is one global for both.
 */
static void guest_ipi_target(uint64_t unused)
{
	while (target_mode == TARGET_WAIT)
		__asm__ volatile("pause");
	guest_wrmsr(MSR_APIC_BASE, guest_rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	x2apic_write(REG_SVR, SVR_ENABLE | 0xff);
	target_started = 1;
	guest_sti();
	while (target_mode != TARGET_DONE) {
		if (target_mode == TARGET_HALT)
			guest_halt_until(target_mode != TARGET_HALT);
		else
			__asm__ volatile("pause");
	}
	GUEST_DONE();
}

/* Send an IPI to vCPU 1 and wait until its handler has run. */
static void ipi_round_trip(void)
{
	uint32_t before = target_irqs;

	x2apic_write(REG_ICR, (1ULL << 32) | VEC_IPI);
	while (target_irqs == before)
		__asm__ volatile("pause");
}

/* Wait, interrupts enabled, for the timer's handler to have run. */
static void wait_for_irq(uint32_t before)
{
	while (irqs == before)
		__asm__ volatile("pause");
}

/* ept_fault_in: pages of GUEST_FREE no one has touched yet, one per op. */
#define FAULT_IN_PAGES		((VM_MEM_SIZE - GUEST_FREE) / 4096)
static volatile uint64_t fault_in_next;

static void touch_fresh_page(void)
{
	*(volatile uint8_t *)(GUEST_FREE + fault_in_next++ * 4096) = 1;
}

static void do_op(enum op op)
{
	uint64_t v;
	uint32_t a, b, c, d;

	switch (op) {
	case OP_cpuid:
		guest_cpuid(0, 0, &a, &b, &c, &d);
		break;
	case OP_vmcall:
		v = 0;
		__asm__ volatile("vmcall" : "+a"(v) : : "memory");
		break;
	case OP_mov_to_cr8:
		__asm__ volatile("mov %0, %%cr8" : : "r"(0ULL) : "memory");
		break;
	case OP_mov_from_cr8:
		__asm__ volatile("mov %%cr8, %0" : "=r"(v) : : "memory");
		break;
	case OP_xapic_tpr_write:
		xapic_write(REG_TPR, 0);
		break;
	case OP_xapic_eoi:
		xapic_write(REG_EOI, 0);
		break;
	case OP_xapic_icr_self_ipi:
		xapic_write(REG_ICR, ICR_SELF | VEC_SELF);
		break;
	case OP_x2apic_tpr_write:
		x2apic_write(REG_TPR, 0);
		break;
	case OP_x2apic_eoi:
		x2apic_write(REG_EOI, 0);
		break;
	case OP_x2apic_icr_self_ipi:
		x2apic_write(REG_ICR, ICR_SELF | VEC_SELF);
		break;
	case OP_x2apic_self_ipi:
		x2apic_write(REG_SELF_IPI, VEC_SELF);
		break;
	/*
	 * The IPI pends while interrupts are off; STI's shadow covers the HLT,
	 * which therefore halts with an interrupt already pending: the HLT
	 * exit and the wake-up without any sleep, as in the usual exit-cost
	 * suites.
	 */
	case OP_xapic_icr_self_ipi_sti_hlt:
		guest_cli();
		xapic_write(REG_ICR, ICR_SELF | VEC_SELF);
		guest_safe_halt();
		break;
	case OP_x2apic_icr_self_ipi_sti_hlt:
		guest_cli();
		x2apic_write(REG_ICR, ICR_SELF | VEC_SELF);
		guest_safe_halt();
		break;
	case OP_x2apic_self_ipi_sti_hlt:
		guest_cli();
		x2apic_write(REG_SELF_IPI, VEC_SELF);
		guest_safe_halt();
		break;
	case OP_tscdeadline_immed:
		guest_wrmsr(MSR_TSC_DEADLINE, 1);	/* in the past: fires at once */
		break;
	case OP_tscdeadline:
		a = irqs;
		guest_wrmsr(MSR_TSC_DEADLINE, guest_rdtsc() + TIMER_DELAY_TSC);
		wait_for_irq(a);
		break;
	case OP_oneshot_timer:
		a = irqs;
		x2apic_write(REG_TMICT, TIMER_DELAY_COUNT);
		wait_for_irq(a);
		break;
	case OP_ipi:
		ipi_round_trip();
		break;
	case OP_ipi_halt:
		guest_spin_tsc(HALT_SETTLE_TSC);
		ipi_round_trip();
		break;
	case OP_outl_to_user:
		__asm__ volatile("outl %%eax, %w1" : : "a"(0), "Nd"(BENCH_PORT) : "memory");
		break;
	case OP_outl_ioeventfd:
		__asm__ volatile("outl %%eax, %w1" : : "a"(0), "Nd"(BENCH_IOEVENTFD_PORT) : "memory");
		break;
	case OP_inl_from_user:
		__asm__ volatile("inl %w1, %%eax" : "=a"(a) : "Nd"(BENCH_PORT) : "memory");
		break;
	case OP_mmio_read_from_user:
		guest_mmio_read32(BENCH_MMIO_GPA);
		break;
	case OP_ept_fault_in:
		touch_fresh_page();
		break;
	case OP_periodic_timer:		/* measured by periodic_timer_cost() */
	case OP_cr0_wp_toggle:
		v = guest_read_cr0();
		guest_write_cr0(v & ~(1ULL << 16));
		guest_write_cr0(v);
		break;
	case OP_cr4_pge_toggle:
		v = guest_read_cr4();
		guest_write_cr4(v ^ (1ULL << 7));
		guest_write_cr4(v);
		break;
	case OP_rdmsr_kernel_gs_base:
		guest_rdmsr(MSR_KERNEL_GS_BASE);
		break;
	case OP_wrmsr_kernel_gs_base:
		guest_wrmsr(MSR_KERNEL_GS_BASE, 0);
		break;
	case OP_rdmsr_tsc_adjust:
		guest_rdmsr(MSR_TSC_ADJUST);
		break;
	case OP_wrmsr_tsc_adjust:
		guest_wrmsr(MSR_TSC_ADJUST, 0);		/* no change: the TSC stays */
		break;
	case NR_OPS:
		break;
	}
}

static uint64_t time_op(enum op op, uint64_t n)
{
	uint64_t t0 = guest_rdtsc(), i;

	for (i = 0; i < n; i++)
		do_op(op);
	return guest_rdtsc() - t0;
}

static bool op_is_x2apic(enum op op)
{
	return op >= OP_x2apic_tpr_write && op <= OP_ipi_halt;
}

/* Operations on a feature the guest's CPUID may lack: reported, not run. */
static bool op_is_supported(enum op op)
{
	uint32_t a, b, c, d;

	if (op != OP_rdmsr_tsc_adjust && op != OP_wrmsr_tsc_adjust)
		return true;
	guest_cpuid(7, 0, &a, &b, &c, &d);
	return b & (1U << 1);				/* IA32_TSC_ADJUST */
}

/* Operations that take one interrupt of their own each. */
static bool op_interrupts_self(enum op op)
{
	switch (op) {
	case OP_xapic_icr_self_ipi:
	case OP_xapic_icr_self_ipi_sti_hlt:
	case OP_x2apic_icr_self_ipi:
	case OP_x2apic_icr_self_ipi_sti_hlt:
	case OP_x2apic_self_ipi:
	case OP_x2apic_self_ipi_sti_hlt:
	case OP_tscdeadline_immed:
	case OP_tscdeadline:
	case OP_oneshot_timer:
		return true;
	default:
		return false;
	}
}

static bool op_needs_target(enum op op)
{
	return op == OP_ipi || op == OP_ipi_halt;
}

static uint64_t time_work(uint64_t rounds)
{
	uint64_t t0 = guest_rdtsc(), i;

	for (i = 0; i < rounds; i++)
		__asm__ volatile("" : : "r"(i) : "memory");
	return guest_rdtsc() - t0;
}

/*
 * A periodic timer keeps its own schedule, so waiting for N ticks costs N
 * periods whatever each tick costs.  What a tick costs is the time it
 * takes from the guest: the same work with the timer running and without,
 * the difference divided by the ticks taken meanwhile.
 */
static uint64_t periodic_timer_cost(void)
{
	uint64_t off, on;
	uint32_t taken;

	x2apic_write(REG_LVTT, VEC_TIMER | LVT_PERIODIC);
	x2apic_write(REG_TDCR, 0xb);		/* divide by 1 */
	time_work(PERIODIC_WORK / 8);		/* warm */
	off = time_work(PERIODIC_WORK);
	irqs = 0;
	x2apic_write(REG_TMICT, PERIODIC_COUNT);
	on = time_work(PERIODIC_WORK);
	x2apic_write(REG_TMICT, 0);
	taken = irqs;
	GUEST_ASSERT(taken > 0);
	return on > off ? (on - off) / taken : 0;
}

/*
 * Each operation: warm once, then (T(2N) - T(N)) / N; interrupts counted.
 * arg: N, with WITH_TARGET when vCPU 1 runs guest_ipi_target().
 */
static void guest_compare(uint64_t arg)
{
	uint64_t n = arg & ~WITH_TARGET;
	bool with_target = arg & WITH_TARGET;
	enum op op;

	guest_x2apic = false;
	apic_enable();
	guest_sti();
	for (op = 0; op < NR_OPS; op++) {
		uint64_t t1, t2, cost, want = 0;

		if (!op_is_supported(op)) {
			GUEST_SYNC_ARGS(op, 0ULL, 0ULL, 0ULL, (uint64_t)OP_NO_CPUID_FEATURE);
			continue;
		}
		if (op_needs_target(op) && !with_target) {
			GUEST_SYNC_ARGS(op, 0ULL, 0ULL, 0ULL, (uint64_t)OP_NO_SECOND_VCPU);
			continue;
		}
		if (op_is_x2apic(op) && !guest_x2apic) {
			guest_x2apic = true;
			apic_enable();
			target_mode = TARGET_SPIN;
			while (with_target && !target_started)
				__asm__ volatile("pause");
		}
		if (op == OP_tscdeadline_immed || op == OP_tscdeadline)
			x2apic_write(REG_LVTT, LVT_TSC_DEADLINE | VEC_TIMER);
		if (op == OP_oneshot_timer) {
			x2apic_write(REG_LVTT, VEC_TIMER);
			x2apic_write(REG_TDCR, 0xb);		/* divide by 1 */
		}
		if (op == OP_periodic_timer) {
			cost = periodic_timer_cost();
			GUEST_SYNC_ARGS(op, cost, 0ULL, 0ULL, (uint64_t)OP_MEASURED);
			continue;
		}
		if (op == OP_ept_fault_in)
			GUEST_ASSERT(3 * n + 1 <= FAULT_IN_PAGES);
		if (op == OP_ipi_halt)
			target_mode = TARGET_HALT;
		do_op(op);
		irqs = 0;
		target_irqs = 0;
		t1 = time_op(op, n);
		t2 = time_op(op, 2 * n);
		if (op_interrupts_self(op))
			want = 3 * n;
		GUEST_ASSERT_EQ(irqs, want);
		if (op == OP_ipi || op == OP_ipi_halt)
			GUEST_ASSERT_EQ(target_irqs, 3 * n);
		if (op == OP_ipi_halt) {
			/* Its last wake-up may have seen TARGET_HALT still: one more. */
			target_mode = TARGET_SPIN;
			ipi_round_trip();
		}
		cost = t2 > t1 ? (t2 - t1) / n : 0;
		if (op == OP_ipi_halt)
			cost = cost > HALT_SETTLE_TSC ? cost - HALT_SETTLE_TSC : 0;
		GUEST_SYNC_ARGS(op, cost, t1, t2, (uint64_t)OP_MEASURED);
	}
	target_mode = TARGET_DONE;
	GUEST_DONE();
}

/* What the guest reported on one hypervisor, op by op. */
struct costs {
	const char *side;
	uint64_t cost[NR_OPS];
	bool measured[NR_OPS];
	enum op_status status[NR_OPS];
	const char *no_target_why;	/* why vCPU 1 did not run, or NULL */
};

/* A userspace exit the operations cause: IN reads 0, MMIO reads 0. */
static void record_sync(struct __test_metadata *_metadata, struct costs *costs,
			const struct ucall *uc)
{
	ASSERT_LT(uc->args[0], NR_OPS);
	costs->cost[uc->args[0]] = uc->args[1];
	costs->measured[uc->args[0]] = true;
	costs->status[uc->args[0]] = uc->args[4];
	/* As it comes: a run that hangs shows how far it got. */
	printf("# %s: %s done\n", costs->side, op_names[uc->args[0]]);
	fflush(stdout);
}

static uint64_t iterations(void)
{
	char cmdline[4096] = "";
	const char *p;
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	p = strstr(cmdline, "vapicvm.bench_iterations=");
	return p ? strtoull(p + strlen("vapicvm.bench_iterations="), NULL, 0) ?:
		   DEFAULT_ITERATIONS : DEFAULT_ITERATIONS;
}

/*
 * ept_fault_in's pages: 4 KiB in the host too on both sides, so that each
 * touch is one EPT violation and one host page (without THP the advice
 * fails, and changes nothing).
 */
static void fault_in_in_4k_pages(uint8_t *mem)
{
	madvise(mem + GUEST_FREE, VM_MEM_SIZE - GUEST_FREE, MADV_NOHUGEPAGE);
}

static void run_on_vapicvm(struct __test_metadata *_metadata, struct costs *costs, uint64_t n)
{
	struct vm *vm = vm_create();
	bool with_target = !costs->no_target_why;
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_compare, n | (with_target ? WITH_TARGET : 0));
	struct vapicvm_ioeventfd io = {
		.addr = BENCH_IOEVENTFD_PORT, .len = 4, .flags = VAPICVM_IOEVENTFD_PIO,
	};
	struct vcpu_thread target;
	struct ucall uc;

	vm_install_handler(vm, VEC_SELF, count_and_eoi);
	vm_install_handler(vm, VEC_TIMER, count_and_eoi);
	vm_install_handler(vm, VEC_IPI, target_count_and_eoi);
	vm_install_handler(vm, VEC_SPURIOUS, count_spurious);
	fault_in_in_4k_pages(vm->mem);
	io.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, io.fd);
	ASSERT_EQ(0, __vm_ioctl(vm, VAPICVM_IOEVENTFD, &io));
	close(io.fd);	/* the VM keeps its own reference */
	if (with_target)
		vcpu_thread_start(&target, vm_add_vcpu(vm, 1, guest_ipi_target, 0));
	for (;;) {
		ASSERT_EQ(0, __vcpu_run_ucall(vcpu, &uc));
		if (uc.cmd == UCALL_DONE)
			break;
		if (uc.cmd == UCALL_ABORT)
			fail_guest_assert(vcpu, &uc);
		if (uc.cmd == UCALL_SYNC) {
			record_sync(_metadata, costs, &uc);
			continue;
		}
		if (vcpu->run->exit_reason == VAPICVM_EXIT_IO && vcpu->run->io.port == BENCH_PORT) {
			memset((uint8_t *)vcpu->run + vcpu->run->io.data_offset, 0, 4);
			continue;
		}
		ASSERT_EQ(VAPICVM_EXIT_MMIO, vcpu->run->exit_reason)
			TH_LOG("exit %s", exit_reason_str(vcpu->run->exit_reason));
		ASSERT_EQ(BENCH_MMIO_GPA, vcpu->run->mmio.phys_addr);
		memset(vcpu->run->mmio.data, 0, sizeof(vcpu->run->mmio.data));
	}
	if (with_target)
		vcpu_thread_join(&target);
	vm_free(vm);
}

/* KVM's vCPU 1 on its own thread, until its GUEST_DONE; 0 or -errno. */
static void *run_kvm_target(void *arg)
{
	struct kvm_guest *g = arg;
	struct ucall uc;

	for (;;) {
		if (kvm_guest_run(g, 1) < 0)
			return (void *)(intptr_t)-errno;
		switch (kvm_guest_get_ucall(g, 1, &uc)) {
		case UCALL_DONE:
			return NULL;
		case UCALL_PRINT:
			continue;
		case UCALL_ABORT:
			fprintf(stderr, "# KVM vCPU 1: guest assertion failed at %s:%lu: %s %s\n",
				uc.file, (unsigned long)uc.line, uc.expr, uc.msg);
			return (void *)(intptr_t)-EPROTO;
		default:
			fprintf(stderr, "# KVM vCPU 1: exit reason %u, not a ucall\n",
				g->vcpus[1].run->exit_reason);
			return (void *)(intptr_t)-EPROTO;
		}
	}
}

static void run_on_kvm(struct __test_metadata *_metadata, struct costs *costs, uint64_t n)
{
	bool with_target = !costs->no_target_why;
	struct kvm_guest *g = kvm_guest_create(guest_compare, n | (with_target ? WITH_TARGET : 0));
	struct kvm_ioeventfd io = {
		.addr = BENCH_IOEVENTFD_PORT, .len = 4, .flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	struct kvm_run *run;
	pthread_t target;
	struct ucall uc;
	void *target_result = NULL;

	ASSERT_NE(NULL, g) TH_LOG("KVM VM: %s", strerror(errno));
	run = g->vcpus[0].run;
	guest_image_install_handler(g->mem, VEC_SELF, count_and_eoi);
	guest_image_install_handler(g->mem, VEC_TIMER, count_and_eoi);
	guest_image_install_handler(g->mem, VEC_IPI, target_count_and_eoi);
	guest_image_install_handler(g->mem, VEC_SPURIOUS, count_spurious);
	fault_in_in_4k_pages(g->mem);
	io.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, io.fd);
	ASSERT_EQ(0, ioctl(g->vm_fd, KVM_IOEVENTFD, &io)) TH_LOG("KVM_IOEVENTFD: %s", strerror(errno));
	close(io.fd);
	if (with_target) {
		ASSERT_EQ(1, kvm_guest_add_vcpu(g, guest_ipi_target, 0))
			TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, pthread_create(&target, NULL, run_kvm_target, g));
	}
	for (;;) {
		ASSERT_EQ(0, kvm_guest_run(g, 0)) TH_LOG("KVM_RUN: %s", strerror(errno));
		switch (kvm_guest_get_ucall(g, 0, &uc)) {
		case UCALL_DONE:
			if (with_target)
				pthread_join(target, &target_result);
			ASSERT_EQ(NULL, target_result) TH_LOG("KVM vCPU 1 ended in error");
			kvm_guest_free(g);
			return;
		case UCALL_ABORT:
			TH_LOG("KVM guest assertion failed at %s:%lu: %s %s", uc.file,
			       (unsigned long)uc.line, uc.expr, uc.msg);
			ASSERT_TRUE(false);
			break;
		case UCALL_SYNC:
			record_sync(_metadata, costs, &uc);
			continue;
		case UCALL_PRINT:
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == BENCH_PORT) {
			memset((uint8_t *)run + run->io.data_offset, 0, 4);
			continue;
		}
		ASSERT_EQ(KVM_EXIT_MMIO, run->exit_reason)
			TH_LOG("KVM exit reason %u", run->exit_reason);
		ASSERT_EQ(BENCH_MMIO_GPA, run->mmio.phys_addr);
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
}

/* ---------------------------------------------------------------- */
/*
 * Operations on the host interface, timed in the host by the same TSC, as
 * (T(2N) - T(N)) / N: what the ioctls cost a VMM.  Each side's VM is what
 * its users create: vapicvm's with its in-kernel local APIC, KVM's with
 * KVM_CREATE_IRQCHIP (and the TSS address VMMs set).
 */
#define HOST_OPS(X)	X(vm_create_destroy) X(memslot_add_remove) X(vm_first_exit)

enum host_op {
#define HOST_OP_ENUM(name) HOST_OP_##name,
	HOST_OPS(HOST_OP_ENUM)
#undef HOST_OP_ENUM
	NR_HOST_OPS
};

static const char *const host_op_names[NR_HOST_OPS] = {
#define HOST_OP_NAME(name) [HOST_OP_##name] = #name,
	HOST_OPS(HOST_OP_NAME)
#undef HOST_OP_NAME
};

#define RESET_SLOT_GPA		0xffff0000ULL	/* the reset vector's 64 KiB */
#define RESET_SLOT_SIZE		0x10000ULL
#define SPARE_SLOT_GPA		0x40000000ULL
#define SPARE_SLOT_SIZE		0x200000ULL

struct host_side {
	const char *dev;
	unsigned long create_vm, set_memory, create_vcpu, run, mmap_size;
	uint32_t exit_io;
	int dev_fd;
};

/* The layouts of the two memory-region structures are the same. */
_Static_assert(sizeof(struct kvm_userspace_memory_region) ==
	       sizeof(struct vapicvm_userspace_memory_region), "memory region layout");

static int host_create_vm(struct host_side *h)
{
	int vm;

	if (h->create_vm == VAPICVM_CREATE_VM)
		return create_vm_fd(h->dev_fd, 0, 0);
	vm = ioctl(h->dev_fd, KVM_CREATE_VM, 0);
	if (vm >= 0 && (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0 ||
			ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)) {
		close(vm);
		return -1;
	}
	return vm;
}

static int host_set_slot(struct host_side *h, int vm, uint32_t slot, uint64_t gpa,
			 uint64_t size, void *mem)
{
	struct vapicvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(vm, h->set_memory, &r);
}

/* A VM whose one vCPU runs from the reset vector to its first exit (OUT). */
static int host_first_exit(struct host_side *h, void *reset_mem, size_t run_size)
{
	int vm = host_create_vm(h), vcpu = -1, r = -1;
	void *run = MAP_FAILED;

	if (vm < 0)
		return -1;
	if (host_set_slot(h, vm, 0, RESET_SLOT_GPA, RESET_SLOT_SIZE, reset_mem))
		goto out;
	vcpu = ioctl(vm, h->create_vcpu, 0);
	if (vcpu < 0)
		goto out;
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, h->run, 0))
		goto out;
	/* exit_reason is at offset 8 in both run structures. */
	r = *(uint32_t *)((uint8_t *)run + 8) == h->exit_io ? 0 : -1;
out:
	if (run != MAP_FAILED)
		munmap(run, run_size);
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	return r;
}

static int host_do_op(struct host_side *h, enum host_op op, int vm, void *spare, void *reset_mem,
		      size_t run_size)
{
	int fd;

	switch (op) {
	case HOST_OP_vm_create_destroy:
		fd = host_create_vm(h);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	case HOST_OP_memslot_add_remove:
		if (host_set_slot(h, vm, 1, SPARE_SLOT_GPA, SPARE_SLOT_SIZE, spare))
			return -1;
		return host_set_slot(h, vm, 1, SPARE_SLOT_GPA, 0, spare);
	case HOST_OP_vm_first_exit:
		return host_first_exit(h, reset_mem, run_size);
	case NR_HOST_OPS:
		break;
	}
	return -1;
}

static int host_time_op(struct host_side *h, enum host_op op, uint64_t n, uint64_t *ticks,
			int vm, void *spare, void *reset_mem, size_t run_size)
{
	uint64_t t0 = __rdtsc(), i;

	for (i = 0; i < n; i++)
		if (host_do_op(h, op, vm, spare, reset_mem, run_size))
			return -1;
	*ticks = __rdtsc() - t0;
	return 0;
}

/* Each host operation's cost on one side; false (errno set) if one failed. */
static bool host_measure(struct host_side *h, uint64_t n, uint64_t cost[NR_HOST_OPS])
{
	size_t run_size;
	uint8_t *reset_mem, *spare;
	bool ok = false;
	int vm = -1;
	enum host_op op;

	h->dev_fd = open(h->dev, O_RDWR | O_CLOEXEC);
	if (h->dev_fd < 0)
		return false;
	run_size = ioctl(h->dev_fd, h->mmap_size, 0);
	reset_mem = mmap(NULL, RESET_SLOT_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, SPARE_SLOT_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reset_mem == MAP_FAILED || spare == MAP_FAILED)
		goto out;
	/* At F000:FFF0: out %al, $0x99; hlt. */
	memcpy(reset_mem + 0xfff0, "\xe6\x99\xf4", 3);
	vm = host_create_vm(h);
	if (vm < 0)
		goto out;
	for (op = 0; op < NR_HOST_OPS; op++) {
		uint64_t t1, t2;

		if (host_do_op(h, op, vm, spare, reset_mem, run_size) ||
		    host_time_op(h, op, n, &t1, vm, spare, reset_mem, run_size) ||
		    host_time_op(h, op, 2 * n, &t2, vm, spare, reset_mem, run_size))
			goto out;
		cost[op] = t2 > t1 ? (t2 - t1) / n : 0;
	}
	ok = true;
out:
	if (vm >= 0)
		close(vm);
	if (reset_mem != MAP_FAILED)
		munmap(reset_mem, RESET_SLOT_SIZE);
	if (spare != MAP_FAILED)
		munmap(spare, SPARE_SLOT_SIZE);
	close(h->dev_fd);
	return ok;
}

/* Fewer rounds than the guest's: each one creates and destroys a VM. */
static uint64_t host_iterations(uint64_t n)
{
	return n / 10 ?: 1;
}

static void kvm_apicv(char *buf, size_t n)
{
	FILE *f = fopen("/sys/module/kvm_intel/parameters/enable_apicv", "r");

	snprintf(buf, n, "?");
	if (f) {
		if (fgets(buf, n, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

TEST(same_operations_on_vapicvm_and_kvm)
{
	struct costs ours = { .side = "vapicvm" }, kvm = { .side = "KVM" };
	struct host_side ours_host = {
		.dev = "/dev/vapicvm", .create_vm = VAPICVM_CREATE_VM,
		.set_memory = VAPICVM_SET_USER_MEMORY_REGION, .create_vcpu = VAPICVM_CREATE_VCPU,
		.run = VAPICVM_RUN, .mmap_size = VAPICVM_GET_VCPU_MMAP_SIZE,
		.exit_io = VAPICVM_EXIT_IO,
	};
	struct host_side kvm_host = {
		.dev = "/dev/kvm", .create_vm = KVM_CREATE_VM,
		.set_memory = KVM_SET_USER_MEMORY_REGION, .create_vcpu = KVM_CREATE_VCPU,
		.run = KVM_RUN, .mmap_size = KVM_GET_VCPU_MMAP_SIZE, .exit_io = KVM_EXIT_IO,
	};
	uint64_t ours_host_cost[NR_HOST_OPS], kvm_host_cost[NR_HOST_OPS];
	uint64_t n = iterations();
	char tier[160], apicv[8];
	unsigned int op;

	apicv_str(host_apicv(), tier, sizeof(tier));
	/* The IPI operations want vCPU 1 on a host CPU of its own. */
	if (get_nprocs() < 2)
		ours.no_target_why = kvm.no_target_why = "one host CPU";
	run_on_vapicvm(_metadata, &ours, n);
	ASSERT_TRUE(host_measure(&ours_host, host_iterations(n), ours_host_cost))
		TH_LOG("vapicvm host operations: %s", strerror(errno));
	if (!kvm_modules_available())
		SKIP(return, "KVM modules for this kernel are not available");
	ASSERT_EQ(0, load_kvm_modules());
	kvm_apicv(apicv, sizeof(apicv));
	run_on_kvm(_metadata, &kvm, n);
	EXPECT_TRUE(host_measure(&kvm_host, host_iterations(n), kvm_host_cost))
		TH_LOG("KVM host operations: %s", strerror(errno));
	unload_kvm_modules();

	printf("# cost-config: iterations=%lu vapicvm_tier=\"%s\" kvm_enable_apicv=%s\n",
	       (unsigned long)n, tier, apicv);
	for (op = 0; op < NR_OPS; op++) {
		EXPECT_TRUE(ours.measured[op] && kvm.measured[op]) TH_LOG("%s", op_names[op]);
		if (ours.status[op] == OP_NO_CPUID_FEATURE || kvm.status[op] == OP_NO_CPUID_FEATURE) {
			printf("# cost-skipped: %s (vapicvm CPUID %s, KVM CPUID %s)\n", op_names[op],
			       ours.status[op] == OP_NO_CPUID_FEATURE ? "lacks it" : "has it",
			       kvm.status[op] == OP_NO_CPUID_FEATURE ? "lacks it" : "has it");
			continue;
		}
		if (ours.status[op] == OP_NO_SECOND_VCPU || kvm.status[op] == OP_NO_SECOND_VCPU) {
			printf("# cost-skipped: %s (no second vCPU on %s: %s)\n", op_names[op],
			       ours.status[op] == OP_NO_SECOND_VCPU ? "either side" : "KVM",
			       ours.status[op] == OP_NO_SECOND_VCPU ? ours.no_target_why :
								       kvm.no_target_why);
			if (ours.status[op] == OP_MEASURED)
				printf("# cost: %s vapicvm=%lu kvm=-\n", op_names[op],
				       (unsigned long)ours.cost[op]);
			continue;
		}
		printf("# cost: %s vapicvm=%lu kvm=%lu\n", op_names[op],
		       (unsigned long)ours.cost[op], (unsigned long)kvm.cost[op]);
	}
	for (op = 0; op < NR_HOST_OPS; op++)
		printf("# cost: %s vapicvm=%lu kvm=%lu\n", host_op_names[op],
		       (unsigned long)ours_host_cost[op], (unsigned long)kvm_host_cost[op]);
}

/*
 * Two vCPUs on one host CPU pass a flag back and forth, each waiting for
 * its turn in a PAUSE loop, as a lock does between its holder and a
 * waiter.  Each handoff needs the other vCPU's thread to run on the CPU
 * the waiter holds: only a PAUSE-loop exit and a directed yield give it
 * that before the host's scheduler tick.  vCPU 0 reports
 * (T(2N) - T(N)) / N, guest TSC ticks per round trip (two handoffs), after
 * a first round that both threads have run.
 */
static volatile uint32_t handoff_turn;

static void guest_handoff(uint64_t arg)
{
	uint32_t me = arg & 1;
	uint64_t n = arg >> 1, t0, t1, t2;

	guest_pass_turn(&handoff_turn, me, 1);
	while (handoff_turn != me)	/* the other has run its first round */
		__asm__ volatile("pause");
	t0 = guest_rdtsc();
	guest_pass_turn(&handoff_turn, me, n);
	t1 = guest_rdtsc();
	guest_pass_turn(&handoff_turn, me, 2 * n);
	t2 = guest_rdtsc();
	if (me == 0)
		GUEST_SYNC_ARGS(t1 - t0, t2 - t1);
	GUEST_DONE();
}

static uint64_t handoff_cost(const struct ucall *uc, uint64_t n)
{
	return uc->args[1] > uc->args[0] ? (uc->args[1] - uc->args[0]) / n : 0;
}

static uint64_t handoff_on_vapicvm(struct __test_metadata *_metadata, uint64_t n)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu0 = vm_add_vcpu(vm, 0, guest_handoff, n << 1);
	struct vcpu *vcpu1 = vm_add_vcpu(vm, 1, guest_handoff, (n << 1) | 1);
	struct vcpu_thread th;
	struct ucall uc;
	uint64_t cost;

	vcpu_thread_start(&th, vcpu1);
	TEST_ASSERT(vcpu_run_ucall(vcpu0, &uc) == UCALL_SYNC, "vCPU 0: no result");
	cost = handoff_cost(&uc, n);
	TEST_ASSERT(vcpu_run_ucall(vcpu0, &uc) == UCALL_DONE, "vCPU 0: no DONE");
	vcpu_thread_join(&th);
	vm_free(vm);
	return cost;
}

static uint64_t handoff_on_kvm(struct __test_metadata *_metadata, uint64_t n)
{
	struct kvm_guest *g = kvm_guest_create(guest_handoff, n << 1);
	void *target_result = NULL;
	uint64_t cost = 0;
	struct ucall uc;
	pthread_t target;

	ASSERT_NE(NULL, g) TH_LOG("KVM VM: %s", strerror(errno));
	ASSERT_EQ(1, kvm_guest_add_vcpu(g, guest_handoff, (n << 1) | 1))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&target, NULL, run_kvm_target, g));
	for (;;) {
		ASSERT_EQ(0, kvm_guest_run(g, 0)) TH_LOG("KVM_RUN: %s", strerror(errno));
		switch (kvm_guest_get_ucall(g, 0, &uc)) {
		case UCALL_SYNC:
			cost = handoff_cost(&uc, n);
			continue;
		case UCALL_DONE:
			pthread_join(target, &target_result);
			EXPECT_EQ(NULL, target_result) TH_LOG("KVM vCPU 1 ended in error");
			kvm_guest_free(g);
			return cost;
		default:
			ASSERT_TRUE(false) TH_LOG("KVM vCPU 0: exit reason %u, not the ucall expected",
						  g->vcpus[0].run->exit_reason);
		}
	}
}

TEST(spin_handoff_on_one_cpu)
{
	uint64_t n = iterations(), ours, kvm;
	cpu_set_t saved;

	/* Every vCPU thread is created from here: all on host CPU 0. */
	ASSERT_EQ(0, pin_to_cpu(0, &saved));
	ours = handoff_on_vapicvm(_metadata, n);
	EXPECT_NE(0, ours);
	if (!kvm_modules_available()) {
		sched_setaffinity(0, sizeof(saved), &saved);
		SKIP(return, "KVM modules for this kernel are not available");
	}
	ASSERT_EQ(0, load_kvm_modules());
	kvm = handoff_on_kvm(_metadata, n);
	unload_kvm_modules();
	sched_setaffinity(0, sizeof(saved), &saved);
	EXPECT_NE(0, kvm);
	printf("# cost: spin_handoff_one_cpu vapicvm=%lu kvm=%lu\n", (unsigned long)ours,
	       (unsigned long)kvm);
}

/*
 * The bench's Linux guest (the main job's linux-2cpu) booted to power-off
 * on each side: vapicvm-run, then kvm-linux-run, the same machine on KVM
 * (userspace/tools/kvm-linux-run).  Each prints the TSC ticks from its
 * first entry to the end and its exit counters; the rows compare what both
 * sides count alike.
 */
#define BENCH_BIN		"/lib/vapicvm-bench/bin"
#define BENCH_PAYLOAD		"/lib/vapicvm-bench/payload"
#define LINUX_CMDLINE		"console=ttyS0 earlyprintk=serial,ttyS0,115200 acpi=off " \
				"tsc=reliable nokaslr mitigations=off panic=-1 loglevel=4"
#define LINUX_BOOT_OK		"GUEST-LINUX-BOOT: ok cpus=2"
#define LINUX_BOOT_TIMEOUT_S	30	/* the emulated machine's seconds; a boot takes 2.5-4 */
/*
 * KVM's guest, the reference, gets less: when it stalls it stalls for good,
 * and each wait costs the bench minutes of emulation.
 */
#define KVM_BOOT_TIMEOUT_S	12
#define MAX_BOOT_STATS		64

struct boot_result {
	bool booted;			/* LINUX_BOOT_OK seen, exit status 0 */
	uint64_t tsc;			/* first entry to the end */
	unsigned int nr_stats;
	char names[MAX_BOOT_STATS][40];	/* counters summed over the vCPUs */
	uint64_t values[MAX_BOOT_STATS];
};

static void boot_stat_add(struct boot_result *r, const char *name, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < r->nr_stats; i++)
		if (!strcmp(r->names[i], name))
			break;
	if (i == r->nr_stats) {
		if (i == MAX_BOOT_STATS)
			return;
		snprintf(r->names[i], sizeof(r->names[i]), "%s", name);
		r->values[i] = 0;
		r->nr_stats++;
	}
	r->values[i] += v;
}

static uint64_t boot_stat(const struct boot_result *r, const char *name)
{
	unsigned int i;

	for (i = 0; i < r->nr_stats; i++)
		if (!strcmp(r->names[i], name))
			return r->values[i];
	return 0;
}

/* "... stats: a=1 b=2" lines (one per vCPU on vapicvm, one on KVM) and the end line. */
static void parse_boot_output(FILE *f, struct boot_result *r)
{
	char line[4096], *p, *tok, *save;
	unsigned long long v;

	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, LINUX_BOOT_OK))
			r->booted = true;
		p = strstr(line, "TSC ticks)");
		if (p) {
			while (p > line && p[-1] != '(')
				p--;
			if (sscanf(p, "%llu", &v) == 1)
				r->tsc = v;
		}
		p = strstr(line, "stats:");
		if (!p)
			continue;
		for (tok = strtok_r(p + 6, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(tok, '=');

			if (eq && (*eq = 0, sscanf(eq + 1, "%llu", &v) == 1))
				boot_stat_add(r, tok, v);
		}
	}
}

/*
 * Runs argv to its end (killed after timeout_s), its output echoed
 * as "# <side>| " comments; the bench does not judge "# KVM| " lines as its
 * kernel's (testbench/vapicvm_bench/markers.py, KVM_GUEST_CONSOLE).
 */
static bool run_linux_boot(const char *side, char *const argv[], int timeout_s,
			   struct boot_result *r)
{
	char path[64], line[512];
	int status = -1, waited;
	pid_t pid;
	FILE *f;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "/tmp/linux-boot-%s.out", side);
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	for (waited = 0; waited < timeout_s * 10; waited++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	if (waited == timeout_s * 10) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("# %s: killed after %d s\n", side, timeout_s);
	}
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		printf("# %s| %s", side, line);
	rewind(f);
	parse_boot_output(f, r);
	fclose(f);
	r->booted &= WIFEXITED(status) && !WEXITSTATUS(status);
	return r->booted;
}

/*
 * One row: what vapicvm counted as ours, what KVM counted as theirs ("-"
 * when KVM's guest did not finish).
 */
static void print_boot_row(const char *row, const struct boot_result *ours, const char *our_name,
			   const struct boot_result *kvm, const char *their_name)
{
	if (kvm->booted)
		printf("# cost: %s vapicvm=%lu kvm=%lu\n", row,
		       (unsigned long)boot_stat(ours, our_name),
		       (unsigned long)boot_stat(kvm, their_name));
	else
		printf("# cost: %s vapicvm=%lu kvm=-\n", row,
		       (unsigned long)boot_stat(ours, our_name));
}

FIXTURE(linux_boot) {};
FIXTURE_SETUP(linux_boot) {}
FIXTURE_TEARDOWN(linux_boot) {}

/* Up to three boots (KVM may need a second), and KVM's modules loaded between. */
/*
 * On Linux 6.12 KVM's guest stalls early in every boot in the emulated
 * machine (after "PCI: Fatal: No config space access function found",
 * where 6.1's goes on): two waits for it there cost the bench a quarter of
 * an hour and never gave a number.
 */
static bool kvm_guest_boot_stalls(void)
{
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 12);
}

TEST_F_TIMEOUT(linux_boot, on_vapicvm_and_kvm, 4 * LINUX_BOOT_TIMEOUT_S)
{
	char *ours_argv[] = { BENCH_BIN "/vapicvm-run", "-m", "256M", "-c", "2",
			      "-k", BENCH_PAYLOAD "/vmlinuz", "-i",
			      BENCH_PAYLOAD "/linux-initrd.cpio", "--stats", "-p",
			      LINUX_CMDLINE, NULL };
	char *kvm_argv[] = { BENCH_BIN "/kvm-linux-run", "-m", "256", "-c", "2",
			     "-k", BENCH_PAYLOAD "/vmlinuz", "-i",
			     BENCH_PAYLOAD "/linux-initrd.cpio", "-p", LINUX_CMDLINE, NULL };
	struct boot_result ours, kvm = { 0 };

	if (access(BENCH_PAYLOAD "/vmlinuz", R_OK) || access(kvm_argv[0], X_OK))
		SKIP(return, "no Linux guest payload or kvm-linux-run in " BENCH_BIN);
	if (get_nprocs() < 2)
		SKIP(return, "one host CPU: the guest has two vCPUs");
	ASSERT_TRUE(run_linux_boot("vapicvm", ours_argv, LINUX_BOOT_TIMEOUT_S, &ours));
	if (!kvm_modules_available())
		SKIP(return, "KVM modules for this kernel are not available");
	if (kvm_guest_boot_stalls()) {
		printf("# cost-skipped: linux_boot on KVM (on Linux 6.12 its guest stalls early in "
		       "every boot in the emulated machine)\n");
		goto report;
	}
	ASSERT_EQ(0, load_kvm_modules());
	/*
	 * KVM's guest, with APICv, now and then stalls in the emulated
	 * Skylake-X (an IPI to a halted vCPU that never arrives: RCU stall,
	 * soft lockup; it never happened on vapicvm's side): once more then,
	 * and if that stalls too the rows say kvm=-.  The reference failing
	 * is not vapicvm failing.
	 */
	if (!run_linux_boot("KVM", kvm_argv, KVM_BOOT_TIMEOUT_S, &kvm)) {
		printf("# KVM's guest did not finish; once more\n");
		run_linux_boot("KVM", kvm_argv, KVM_BOOT_TIMEOUT_S, &kvm);
	}
	unload_kvm_modules();
	if (!kvm.booted)
		printf("# cost-skipped: linux_boot on KVM (its guest did not finish twice: see "
		       "the KVM| lines)\n");
report:

	/* TSC ticks from the first entry to the end: emulated time. */
	if (kvm.booted)
		printf("# cost: linux_boot vapicvm=%lu kvm=%lu\n", (unsigned long)ours.tsc,
		       (unsigned long)kvm.tsc);
	else
		printf("# cost: linux_boot vapicvm=%lu kvm=-\n", (unsigned long)ours.tsc);
	print_boot_row("linux_boot_exits", &ours, "exits", &kvm, "exits");
	print_boot_row("linux_boot_io_exits", &ours, "exit_io", &kvm, "io_exits");
	print_boot_row("linux_boot_hlt_exits", &ours, "exit_hlt", &kvm, "halt_exits");
	print_boot_row("linux_boot_extint_exits", &ours, "exit_extint", &kvm, "irq_exits");
	print_boot_row("linux_boot_intr_window_exits", &ours, "exit_intr_window", &kvm,
		       "irq_window_exits");
	/* KVM's pf_taken: the EPT violations its MMU handled. */
	print_boot_row("linux_boot_ept_violations", &ours, "exit_ept_violation", &kvm, "pf_taken");
	EXPECT_NE(0, ours.tsc);
	EXPECT_NE(0, boot_stat(&ours, "exits"));
	if (kvm.booted) {
		EXPECT_NE(0, kvm.tsc);
		EXPECT_NE(0, boot_stat(&kvm, "exits"));
	}
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * What APIC operations cost on each tier, in guest TSC ticks per operation
 * (in the emulated machine: emulated instructions, a deterministic
 * measure), printed as "# cost:" lines for comparison with KVM in the same
 * machine.  No cost is asserted: the checks are that each measured
 * operation did what it should (interrupts delivered, values stored).
 */
#include "kselftest_harness.h"
#include "apic.h"

#define N		200
#define VEC_SELF	0x40
#define VEC_IPI		0x60

FIXTURE(apic) {
	struct vm *vm;
	uint32_t apicv;
	char tier[128];
};

APIC_TIER_FIXTURE(apic);

FIXTURE_SETUP(apic)
{
	APIC_TIER_SETUP();
	apicv_str(self->apicv, self->tier, sizeof(self->tier));
}

static volatile uint32_t cpu_irq[2][256];

static void count_and_eoi(struct ex_regs *regs)
{
	cpu_irq[apic_id() & 1][regs->vector]++;
	apic_eoi();
}

enum op {
	OP_CPUID, OP_VMCALL, OP_X2_EOI, OP_X2_TPR, OP_XAPIC_EOI, OP_XAPIC_TPR,
	OP_X2_SELF_IPI, OP_XAPIC_SELF_IPI, OP_X2_IPI_OTHER, OP_TSC_DEADLINE, NR_OPS
};

static const char *const op_name[NR_OPS] = {
	[OP_CPUID] = "cpuid exit round trip",
	[OP_VMCALL] = "vmcall exit round trip",
	[OP_X2_EOI] = "x2APIC EOI write (empty ISR)",
	[OP_X2_TPR] = "x2APIC TPR write",
	[OP_XAPIC_EOI] = "xAPIC EOI write via MMIO",
	[OP_XAPIC_TPR] = "xAPIC TPR write via MMIO",
	[OP_X2_SELF_IPI] = "x2APIC SELF IPI, delivered and EOIed",
	[OP_XAPIC_SELF_IPI] = "xAPIC ICR self-IPI, delivered and EOIed",
	[OP_X2_IPI_OTHER] = "x2APIC IPI to another vCPU (sender side)",
	[OP_TSC_DEADLINE] = "TSC-deadline write",
};

static uint64_t measure(int op)
{
	uint64_t t0, t1;
	uint32_t a, b, c, d;
	int i;

	t0 = guest_rdtsc();
	for (i = 0; i < N; i++) {
		switch (op) {
		case OP_CPUID:
			guest_cpuid(0, 0, &a, &b, &c, &d);
			break;
		case OP_VMCALL: {
			uint64_t r = 0;

			__asm__ volatile("vmcall" : "+a"(r) : : "memory");
			break;
		}
		case OP_X2_EOI:
			x2apic_write(REG_EOI, 0);
			break;
		case OP_X2_TPR:
			x2apic_write(REG_TPR, (i & 1) << 4);
			break;
		case OP_XAPIC_EOI:
			xapic_write(REG_EOI, 0);
			break;
		case OP_XAPIC_TPR:
			xapic_write(REG_TPR, (i & 1) << 4);
			break;
		case OP_X2_SELF_IPI:
			x2apic_write(REG_SELF_IPI, VEC_SELF);
			break;
		case OP_XAPIC_SELF_IPI:
			xapic_write(REG_ICR, ICR_SELF | VEC_SELF);
			break;
		case OP_X2_IPI_OTHER:
			x2apic_write(REG_ICR, (1ULL << 32) | VEC_IPI);
			break;
		case OP_TSC_DEADLINE:
			guest_wrmsr(MSR_TSC_DEADLINE, ~0ULL >> 1);
			break;
		}
	}
	t1 = guest_rdtsc();
	return (t1 - t0) / N;
}

static void guest_costs(uint64_t x2)
{
	int op;

	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	for (op = 0; op < NR_OPS; op++) {
		bool x2op = op == OP_X2_EOI || op == OP_X2_TPR || op == OP_X2_SELF_IPI ||
			    op == OP_X2_IPI_OTHER;
		bool xop = op == OP_XAPIC_EOI || op == OP_XAPIC_TPR || op == OP_XAPIC_SELF_IPI;
		uint64_t cost;

		if ((x2op && !x2) || (xop && x2))
			continue;
		if (op == OP_TSC_DEADLINE)
			apic_write(REG_LVTT, 0xef | LVT_TSC_DEADLINE);
		measure(op);		/* warm: fault in code and data pages */
		cpu_irq[0][VEC_SELF] = 0;
		cost = measure(op);
		if (op == OP_X2_SELF_IPI || op == OP_XAPIC_SELF_IPI)
			GUEST_ASSERT_EQ(cpu_irq[0][VEC_SELF], N);
		if (op == OP_TSC_DEADLINE) {
			GUEST_ASSERT_EQ(guest_rdmsr(MSR_TSC_DEADLINE), ~0ULL >> 1);
			guest_wrmsr(MSR_TSC_DEADLINE, 0);
		}
		GUEST_SYNC_ARGS(1, op, cost);
	}
	apic_write(REG_TPR, 0);
	GUEST_DONE();
}

/* The IPI target: halts with interrupts on, counting. */
static void guest_target(void)
{
	guest_x2apic = true;
	apic_enable();
	GUEST_SYNC(0);
	for (;;)
		guest_safe_halt();
}

static void *run_target(void *vcpu)
{
	__vcpu_run(vcpu);
	return NULL;
}

static void costs(struct __test_metadata *_metadata, FIXTURE_DATA(apic) *self, bool x2)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_costs, x2);
	struct vcpu *target = vm_add_vcpu(self->vm, 1, guest_target, 0);
	struct ucall uc;
	pthread_t t;
	int seen = 0;

	vm_install_handler(self->vm, VEC_SELF, count_and_eoi);
	vm_install_handler(self->vm, VEC_IPI, count_and_eoi);
	/* The target enables its APIC, then halts on its own thread until the end. */
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(target, &uc));
	ASSERT_EQ(0, pthread_create(&t, NULL, run_target, target));
	pthread_detach(t);
	while (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC) {
		printf("# cost: %-44s %6lu  [%s%s]\n", op_name[uc.args[1]],
		       (unsigned long)uc.args[2], x2 ? "x2APIC, " : "xAPIC, ", self->tier);
		seen++;
	}
	ASSERT_EQ(UCALL_DONE, uc.cmd);
	EXPECT_EQ(x2 ? 7 : 6, seen);
	if (x2) {
		int ms;

		/* The target's thread may not have run yet (one host CPU): give it time. */
		for (ms = 0; ms < 2000; ms += 10) {
			sync_global_from_guest(self->vm, cpu_irq);
			if (cpu_irq[1][VEC_IPI])
				break;
			usleep(10000);
		}
		EXPECT_GE(cpu_irq[1][VEC_IPI], 1) TH_LOG("IPIs never reached the target");
	}
}

TEST_F(apic, costs_xapic)
{
	costs(_metadata, self, false);
}

TEST_F(apic, costs_x2apic)
{
	costs(_metadata, self, true);
}

TEST_HARNESS_MAIN

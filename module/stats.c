// SPDX-License-Identifier: GPL-2.0
/* Counting and reading the counters of stats.h. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/string.h>
#include <asm/tsc.h>

#include "stats.h"
#include "vcpu.h"
#include "vm.h"
#include "vmcs.h"

void stats_count_exit(struct vapicvm_vcpu *vcpu, u32 exit_reason)
{
	u32 basic = EXIT_REASON_BASIC(exit_reason);

	vcpu->stats[VAPICVM_STAT_EXITS]++;
	if (basic < STATS_NR_EXIT_REASONS)
		vcpu->counters.exit_reasons[basic]++;
}

void stats_count_apic_access(struct vapicvm_vcpu *vcpu, unsigned int offset)
{
	if (offset / 16 < STATS_NR_APIC_REGS)
		vcpu->counters.apic_access[offset / 16]++;
}

void stats_count_apic_write(struct vapicvm_vcpu *vcpu, unsigned int offset)
{
	if (offset / 16 < STATS_NR_APIC_REGS)
		vcpu->counters.apic_write[offset / 16]++;
}

void stats_count_user_exit(struct vapicvm_vcpu *vcpu, u32 run_exit_reason)
{
	vcpu->stats[VAPICVM_STAT_EXIT_USERSPACE]++;
	if (run_exit_reason < STATS_NR_USER_EXITS)
		vcpu->counters.user_exits[run_exit_reason]++;
}

static void add_array(u64 *sum, const u64 *counts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		sum[i] += READ_ONCE(counts[i]);
}

void stats_add_vcpu_table(u64 *stats, struct vapicvm_vcpu *vcpu)
{
	u64 cycles = READ_ONCE(vcpu->counters.guest_cycles);
	u64 block_start = READ_ONCE(vcpu->counters.block_start_ns);

	add_array(stats, vcpu->stats, VAPICVM_STAT_NR);
	/* A vCPU blocked now: its halt time so far (a moment may count twice). */
	if (block_start)
		stats[VAPICVM_STAT_HALT_NS] += ktime_get_ns() - block_start;
	/* Cycles of the host TSC to ns: tsc_khz cycles per ms. */
	if (tsc_khz)
		stats[VAPICVM_STAT_GUEST_NS] += mul_u64_u32_div(cycles, NSEC_PER_MSEC, tsc_khz);
}

void stats_add_vcpu(struct stats_snapshot *s, struct vapicvm_vcpu *vcpu)
{
	const struct vcpu_counters *c = &vcpu->counters;

	stats_add_vcpu_table(s->stats, vcpu);
	add_array(s->c.exit_reasons, c->exit_reasons, STATS_NR_EXIT_REASONS);
	add_array(s->c.apic_access, c->apic_access, STATS_NR_APIC_REGS);
	add_array(s->c.apic_write, c->apic_write, STATS_NR_APIC_REGS);
	add_array(s->c.user_exits, c->user_exits, STATS_NR_USER_EXITS);
	s->c.guest_cycles += READ_ONCE(c->guest_cycles);
}

void stats_read_vm(struct vapicvm_vm *vm, u64 *stats)
{
	unsigned int i;

	mutex_lock(&vm->lock);
	memcpy(stats, vm->stats, sizeof(vm->stats));
	stats[VAPICVM_VM_STAT_EPT_TABLES] = vm->ept.nr_tables;
	stats[VAPICVM_VM_STAT_VCPUS_WITHOUT_VPID] = 0;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (!vm->vcpus[i]->vpid)
			stats[VAPICVM_VM_STAT_VCPUS_WITHOUT_VPID]++;
	mutex_unlock(&vm->lock);
}

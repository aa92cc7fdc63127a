/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters beyond the VAPICVM_STAT_* table: exits by VMX reason, APIC
 * accesses by register, exits to userspace by reason and guest time.  Each
 * vCPU's thread is their only writer, with plain increments, so counting
 * costs no atomic on the hot path; readers (GET_STATS, the netlink family)
 * add them up without a lock and may see a count one behind.
 */
#ifndef VAPICVM_STATS_H
#define VAPICVM_STATS_H

#include <linux/types.h>
#include <uapi/linux/vapicvm.h>

struct vapicvm_vcpu;
struct vapicvm_vm;

/* VMX basic exit reasons counted one by one (Vol. 3D Appendix C has 0-78). */
#define STATS_NR_EXIT_REASONS	80
/* APIC registers, 16 bytes apart in 0x000-0x3f0: beyond, only the totals count. */
#define STATS_NR_APIC_REGS	64
/* vapicvm_run.exit_reason values counted one by one. */
#define STATS_NR_USER_EXITS	32

struct vcpu_counters {
	u64 exit_reasons[STATS_NR_EXIT_REASONS];
	u64 apic_access[STATS_NR_APIC_REGS];	/* APIC-access exits, emulated xAPIC MMIO */
	u64 apic_write[STATS_NR_APIC_REGS];	/* APIC-write exits */
	u64 user_exits[STATS_NR_USER_EXITS];
	u64 guest_cycles;	/* host TSC cycles in guest mode */
	u64 block_start_ns;	/* ktime of the current block, 0 when not blocked */
};

/* What a reader sees: one vCPU's counters, or the sum over a VM's. */
struct stats_snapshot {
	u64 stats[VAPICVM_STAT_NR];
	struct vcpu_counters c;
};

void stats_count_exit(struct vapicvm_vcpu *vcpu, u32 exit_reason);
void stats_count_apic_access(struct vapicvm_vcpu *vcpu, unsigned int offset);
void stats_count_apic_write(struct vapicvm_vcpu *vcpu, unsigned int offset);
void stats_count_user_exit(struct vapicvm_vcpu *vcpu, u32 run_exit_reason);

/* Add the vCPU's VAPICVM_STAT_* values into stats[VAPICVM_STAT_NR]. */
void stats_add_vcpu_table(u64 *stats, struct vapicvm_vcpu *vcpu);
/* Add all the vCPU's counters into s (zeroed by the caller for one vCPU). */
void stats_add_vcpu(struct stats_snapshot *s, struct vapicvm_vcpu *vcpu);
/* The VAPICVM_VM_STAT_* values; takes vm->lock. */
void stats_read_vm(struct vapicvm_vm *vm, u64 *stats);

#endif /* VAPICVM_STATS_H */

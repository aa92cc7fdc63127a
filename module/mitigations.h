/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transient-execution mitigations around VM entry and exit, chosen once at
 * load from what the host kernel reports (its X86_BUG_* bits and its own
 * mitigation state), at parity with KVM.  Documentation/security.rst says
 * what each one does and why; /sys/class/misc/vapicvm/mitigations shows
 * which are in effect.
 */
#ifndef VAPICVM_MITIGATIONS_H
#define VAPICVM_MITIGATIONS_H

#include <linux/types.h>

struct vapicvm_vcpu;

enum l1d_flush_policy {
	L1D_FLUSH_NEVER,	/* no L1TF, or the host's L1TF mitigation is off */
	L1D_FLUSH_COND,		/* before an entry that follows host work */
	L1D_FLUSH_ALWAYS,	/* before every entry (l1tf=full) */
};

struct vapicvm_mitigations {
	enum l1d_flush_policy l1d_flush;
	bool l1d_flush_msr;	/* IA32_FLUSH_CMD, else a software flush */
};

extern struct vapicvm_mitigations vapicvm_mitigations;

int mitigations_init(void);
void mitigations_exit(void);
/* One line per mitigation: "name: on|off (why)". */
ssize_t mitigations_format(char *buf);

void mitigations_l1d_flush(struct vapicvm_vcpu *vcpu);

/* Before a VM entry, interrupts off: flush L1D if L1TF asks for it. */
static inline void mitigations_before_entry(struct vapicvm_vcpu *vcpu)
{
	/* Inline: most CPUs need nothing, and this is on every entry. */
	if (vapicvm_mitigations.l1d_flush != L1D_FLUSH_NEVER)
		mitigations_l1d_flush(vcpu);
}

/* After a VM exit, interrupts off. */
void mitigations_after_exit(struct vapicvm_vcpu *vcpu);
/* A CPU loads this vCPU's VMCS: IBPB if it ran another VM's vCPU before. */
void mitigations_vcpu_load(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_MITIGATIONS_H */

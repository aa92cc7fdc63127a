/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PAUSE-loop exiting and directed yield (spin.c): a vCPU spinning on a lock
 * or a flag leaves the guest, and gives its host CPU to a sibling vCPU that
 * is runnable but not running, the likely holder of what it waits for.
 */
#ifndef VAPICVM_SPIN_H
#define VAPICVM_SPIN_H

#include <linux/types.h>

struct vapicvm_vcpu;

/* At module load: without the CPU control, ple_gap reads 0. */
void vcpu_spin_init(void);
/* At vCPU creation: the PAUSE-loop controls and fields, from the parameters. */
void vcpu_setup_pause_loop_exiting(struct vapicvm_vcpu *vcpu);
/* A PAUSE-loop exit: yield to a sibling that is waiting for a CPU. */
void vcpu_on_spin(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_SPIN_H */

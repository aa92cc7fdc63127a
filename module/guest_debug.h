/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM debugging its guest (VAPICVM_SET_GUEST_DEBUG): single steps on
 * the monitor trap flag, its hardware breakpoints in place of the guest's,
 * INT3 exits.  guest_debug.c.
 */
#ifndef VAPICVM_GUEST_DEBUG_H
#define VAPICVM_GUEST_DEBUG_H

#include <linux/types.h>
#include <uapi/linux/vapicvm.h>

struct vapicvm_vcpu;

/* VAPICVM_GUESTDBG_* this host can give (VAPICVM_CAP_SET_GUEST_DEBUG). */
u32 guest_debug_supported(void);

/* Under vcpu->mutex. */
long vcpu_ioctl_set_guest_debug(struct vapicvm_vcpu *vcpu, void __user *argp);
long vcpu_ioctl_translate(struct vapicvm_vcpu *vcpu, void __user *argp);

/* DR7 and DR0-DR3 as the guest runs: the VMM's with USE_HW_BP. */
unsigned long vcpu_effective_dr7(struct vapicvm_vcpu *vcpu);
const unsigned long *vcpu_effective_db(struct vapicvm_vcpu *vcpu);
/* Write the effective DR7 to the VMCS (the VMCS loaded). */
void vcpu_load_guest_dr7(struct vapicvm_vcpu *vcpu);

/*
 * Exit handling: 0 with a VAPICVM_EXIT_DEBUG in the run page if the event
 * is the VMM's, 1 if the guest's (the caller reflects it).
 */
int guest_debug_handle_db(struct vapicvm_vcpu *vcpu, unsigned long qual);
int guest_debug_handle_bp(struct vapicvm_vcpu *vcpu);
int guest_debug_handle_mtf(struct vapicvm_vcpu *vcpu);
/* vapicvm completed an instruction for the guest (vcpu_advance_rip()). */
void guest_debug_instruction_done(struct vapicvm_vcpu *vcpu);
/* A step finished by vapicvm: report it (run loop); true if it did. */
bool guest_debug_report_step(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_GUEST_DEBUG_H */

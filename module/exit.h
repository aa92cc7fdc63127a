/* SPDX-License-Identifier: GPL-2.0 */
/* The VM-exit handler table (exit.c). */
#ifndef VAPICVM_EXIT_H
#define VAPICVM_EXIT_H

struct vapicvm_vcpu;

/* Dispatch the current VM exit: 1 resume, 0 to userspace, -errno. */
int vapicvm_handle_exit(struct vapicvm_vcpu *vcpu);
/*
 * An EPT violation or PML-full exit in an IRET that unblocked NMIs: the
 * IRET did not complete, so NMIs are blocked again (Vol. 3C 28.2.3).
 */
void vcpu_reblock_nmi_after_iret(struct vapicvm_vcpu *vcpu, unsigned long qual);
/* RUN after an MSR or hypercall exit: apply what userspace answered. */
void vcpu_complete_user_exit(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_EXIT_H */

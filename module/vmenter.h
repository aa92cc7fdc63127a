/* SPDX-License-Identifier: GPL-2.0 */
/* The assembly in vmenter.S. */
#ifndef VAPICVM_VMENTER_H
#define VAPICVM_VMENTER_H

#include <linux/types.h>

/* Enter the guest; 0 after a VM exit, 1 if the entry instruction failed. */
int __vapicvm_vcpu_run(unsigned long *regs, unsigned long *host_rsp, bool launched);
/* Call a host IDT entry as if the CPU had delivered the interrupt. */
void vapicvm_do_interrupt_irqoff(unsigned long entry);
/* The VM-exit landing point (HOST_RIP). */
extern const char vapicvm_vmexit[];

#endif /* VAPICVM_VMENTER_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page-modification logging for dirty logging, where the CPU has it
 * (pml.c); write protection (vm.c) otherwise.
 */
#ifndef VAPICVM_PML_H
#define VAPICVM_PML_H

struct vapicvm_vcpu;

int vcpu_pml_init(struct vapicvm_vcpu *vcpu);
void vcpu_pml_free(struct vapicvm_vcpu *vcpu);
/* Before an entry, in the vCPU's thread: PML on while the VM logs. */
void vcpu_pml_update(struct vapicvm_vcpu *vcpu);
/* After an exit: the logged pages into the slots' dirty bitmaps. */
void vcpu_pml_flush(struct vapicvm_vcpu *vcpu);
/* The PML-full exit handler. */
int vcpu_handle_pml_full(struct vapicvm_vcpu *vcpu);

#endif /* VAPICVM_PML_H */

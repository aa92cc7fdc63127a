/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_VMX_ENABLE_H
#define VAPICVM_VMX_ENABLE_H

/*
 * VMX operation is entered on every online CPU when the first VM is created
 * and left when the last VM is destroyed, so that vapicvm and kvm_intel can
 * take turns on one machine.  vmx_get() fails with -EBUSY when another
 * hypervisor already has VMX on.
 */
int vmx_get(void);
void vmx_put(void);
/* Number of VMs holding VMX operation (for the selftests, via debugfs). */
unsigned int vmx_users_count(void);
bool vmx_is_on_this_cpu(void);
bool vmx_is_rebooting(void);

int vmx_enable_init(void);
void vmx_enable_exit(void);

#endif /* VAPICVM_VMX_ENABLE_H */

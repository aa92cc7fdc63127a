/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GSI routes and irqfds: an eventfd's signal that delivers an MSI to the
 * VM's local APICs from the eventfd's wake-up, with no ioctl (irqfd.c).
 */
#ifndef VAPICVM_IRQFD_H
#define VAPICVM_IRQFD_H

#include <linux/types.h>

struct vapicvm_vm;
struct vapicvm_gsi_route;
struct vapicvm_irqfd;

#define VAPICVM_NR_GSIS		1024	/* GSIs are below this */
#define VAPICVM_MAX_IRQFDS	1024	/* per VM */

int vm_irqfd_module_init(void);
void vm_irqfd_module_exit(void);

void vm_irqfd_vm_init(struct vapicvm_vm *vm);
/* The VM is going away: no irqfd delivers after this returns. */
void vm_irqfd_release_all(struct vapicvm_vm *vm);

int vm_gsi_route_ioctl(struct vapicvm_vm *vm, const struct vapicvm_gsi_route *args);
int vm_irqfd_ioctl(struct vapicvm_vm *vm, const struct vapicvm_irqfd *args);

#endif /* VAPICVM_IRQFD_H */

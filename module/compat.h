/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel series vapicvm builds against, kept in one
 * place so that the rest of the module reads as if written for one kernel.
 */
#ifndef VAPICVM_COMPAT_H
#define VAPICVM_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "vapicvm needs Linux 6.1 or later"
#endif

/* class_create() lost its module argument in 6.4. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define vapicvm_class_create(name) class_create(name)
#else
#define vapicvm_class_create(name) class_create(THIS_MODULE, name)
#endif

/* The genl_family's resv_start_op appeared in 6.1; keep it explicit. */
#define VAPICVM_HAVE_GENL_RESV_START_OP 1

/*
 * cpu_emergency_register_virt_callback() moved from <asm/reboot.h> users to
 * a new prototype in 6.6 (same name and signature): include both homes.
 */
#include <asm/reboot.h>

#endif /* VAPICVM_COMPAT_H */

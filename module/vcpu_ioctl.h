/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VAPICVM_VCPU_IOCTL_H
#define VAPICVM_VCPU_IOCTL_H

#include <linux/fs.h>

/* The vCPU file descriptor's operations (vcpu_ioctl.c). */
extern const struct file_operations vcpu_fops;

#endif /* VAPICVM_VCPU_IOCTL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ioeventfds: guest writes to a port or to unbacked guest-physical memory
 * that signal an eventfd instead of exiting to userspace (ioeventfd.c).
 */
#ifndef VAPICVM_IOEVENTFD_H
#define VAPICVM_IOEVENTFD_H

#include <linux/list.h>
#include <linux/types.h>

struct vapicvm_vm;
struct vapicvm_ioeventfd;

#define VAPICVM_MAX_IOEVENTFDS	1000	/* per VM */

int vm_ioeventfd_ioctl(struct vapicvm_vm *vm, const struct vapicvm_ioeventfd *args);
void vm_ioeventfd_release_all(struct vapicvm_vm *vm);
/*
 * A guest write of len bytes of val at addr (a port if pio): true if it
 * signalled an ioeventfd, and the write is then complete.  Any context
 * that may not sleep too; takes no lock.
 */
bool vm_ioeventfd_signal(struct vapicvm_vm *vm, bool pio, u64 addr, unsigned int len, u64 val);

#endif /* VAPICVM_IOEVENTFD_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* The system file descriptor, /dev/vapicvm (main.c). */
#ifndef VAPICVM_MAIN_H
#define VAPICVM_MAIN_H

struct vapicvm_vm;

/* VAPICVM_CHECK_EXTENSION, on /dev/vapicvm (vm NULL) and on VM fds. */
long vapicvm_check_extension(struct vapicvm_vm *vm, unsigned long cap);

#endif /* VAPICVM_MAIN_H */

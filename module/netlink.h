/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "vapicvm" generic netlink family (netlink.c): VMs, vCPUs and their
 * counters on request, events on a multicast group.  Without networking
 * (CONFIG_NET off) there is no family and the events go nowhere.
 */
#ifndef VAPICVM_NETLINK_H
#define VAPICVM_NETLINK_H

#include <linux/types.h>
#include <uapi/linux/vapicvm.h>

struct vapicvm_vcpu;
struct vapicvm_vm;

#if IS_ENABLED(CONFIG_NET)
int vapicvm_genl_init(void);
void vapicvm_genl_exit(void);
bool vapicvm_genl_registered(void);
/* VM_CREATE or VM_DESTROY; process context. */
void vapicvm_event_vm(struct vapicvm_vm *vm, enum vapicvm_event event);
/* vCPU events; any context but hard interrupts. */
void vapicvm_event_vcpu(struct vapicvm_vcpu *vcpu, enum vapicvm_event event,
			u32 old, u32 new);
/* The exit to userspace RUN is about to return, if it is worth an event. */
void vapicvm_event_run_exit(struct vapicvm_vcpu *vcpu);
#else
static inline int vapicvm_genl_init(void)
{
	return 0;
}

static inline void vapicvm_genl_exit(void) {}

static inline bool vapicvm_genl_registered(void)
{
	return false;
}

static inline void vapicvm_event_vm(struct vapicvm_vm *vm, enum vapicvm_event event) {}
static inline void vapicvm_event_vcpu(struct vapicvm_vcpu *vcpu, enum vapicvm_event event,
				      u32 old, u32 new) {}
static inline void vapicvm_event_run_exit(struct vapicvm_vcpu *vcpu) {}
#endif

#endif /* VAPICVM_NETLINK_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM: one file descriptor, its memory slots, its single EPT hierarchy,
 * its APIC-access page and its vCPUs.  Each vCPU's file descriptor holds a
 * reference on the VM.
 *
 * Locking, outermost first:
 *   vcpu->mutex  serializes the ioctls of one vCPU (RUN included);
 *   vm->lock     vCPU creation, memory slots, the EPT hierarchy and the
 *                APIC-access page's place in it.
 * The hot exit path of a vCPU takes neither.  Other vCPUs reach a vCPU's
 * local APIC only through its posted-interrupt bitmap and event bits
 * (lapic.h), which are atomic.
 */
#ifndef VAPICVM_VM_H
#define VAPICVM_VM_H

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include <uapi/linux/vapicvm.h>
#include "ept.h"

struct vapicvm_vcpu;

#define VAPICVM_MAX_VCPUS	64
#define VAPICVM_MAX_VCPU_ID	255	/* ids below: 8-bit xAPIC IDs, 0xff is broadcast */
#define VAPICVM_MAX_MEMSLOTS	32
#define VAPICVM_MAX_MEM_PAGES	BIT_ULL(26)	/* 256 GiB per slot */

/*
 * A memory slot: guest-physical [base_gfn, base_gfn + npages) backed by
 * userspace [userspace_addr, ...).  Pages are pinned (FOLL_LONGTERM) when the
 * guest first touches them and unpinned only after the slot's EPT entries
 * are gone and invalidated everywhere, so the host never frees a page the
 * guest can still reach, whatever userspace does to its mapping.
 */
struct vapicvm_memslot {
	u32 id;
	u32 flags;		/* VAPICVM_MEM_* */
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	/*
	 * Pinned backing pages by index in the slot, present once touched:
	 * sparse, so a slot costs memory for what the guest uses, not for its
	 * size.
	 */
	struct xarray pages;
	/* VAPICVM_MEM_LOG_DIRTY_PAGES: a bit per page written, under vm->lock. */
	unsigned long *dirty_bitmap;
};

struct vapicvm_vm {
	refcount_t users;	/* the VM fd and each vCPU fd */
	u64 id;			/* unique while the module is loaded */
	struct mm_struct *mm;	/* the creator's: guest memory lives there */
	/* Who made it and what it asked for, for the netlink family. */
	struct list_head node;	/* in vapicvm_vms */
	struct pid *owner_pid;	/* the creator's thread group */
	kuid_t owner_uid;	/* the creator's effective uid */
	u32 apicv_requested;	/* VAPICVM_APICV_* asked for, or all without a mask */
	unsigned long clamps_reported;	/* BIT(VAPICVM_CLAMP_*) already reported */
	struct mutex lock;
	u32 apicv;		/* VAPICVM_APICV_* in use */
	/* VAPICVM_CAP_IOAPIC_EOI on: level-triggered EOIs exit to userspace. */
	bool ioapic_eoi_exits;
	/* VAPICVM_CAP_EXIT_HYPERCALL on: VMCALL at CPL 0 exits to userspace. */
	bool hypercall_exits;
	u32 user_msr_exits;	/* VAPICVM_MSR_EXIT_* enabled */
	struct msr_filter __rcu *msr_filter;	/* msr_filter.c's; NULL: allow all */
	/* ioeventfd.c's: written under lock, read under RCU. */
	struct list_head ioeventfds;
	unsigned int nr_ioeventfds;
	/* irqfd.c's: GSI -> MSI routes (under lock, read under RCU), irqfds. */
	struct xarray gsi_routes;
	struct list_head irqfds;
	spinlock_t irqfds_lock;	/* irqfds; irq-safe: taken in eventfd wake-ups */

	struct vapicvm_memslot *slots[VAPICVM_MAX_MEMSLOTS];
	u64 mem_pages;		/* in all slots; written under lock */
	atomic64_t pinned_pages;	/* of them, pinned now */
	/* Slots with VAPICVM_MEM_LOG_DIRTY_PAGES: PML is on while there are any. */
	unsigned int logging_slots;	/* written under lock */
	struct vapicvm_ept ept;

	/*
	 * The APIC-access page: one per VM, never seen by userspace, mapped by
	 * one EPT entry at the guest-physical APIC base.  Every vCPU's VMCS
	 * holds its address; accesses to it are virtualized by the CPU
	 * against each vCPU's own virtual-APIC page.
	 */
	struct page *apic_access_page;
	u64 apic_access_gpa;	/* where it is mapped, or ~0 when unmapped */

	struct vapicvm_vcpu *vcpus[VAPICVM_MAX_VCPUS];
	unsigned int nr_vcpus;	/* written under lock, read locklessly */
	unsigned int last_boosted_vcpu;	/* the last a spinning vCPU yielded to (spin.c) */

	/* VAPICVM_VM_STAT_* counters, written under lock. */
	u64 stats[VAPICVM_VM_STAT_NR];
	cpumask_var_t flush_cpus;	/* vm_flush_tlbs()'s, under lock */
};

/*
 * Every VM, for the netlink family: a VM is on the list from before its fd
 * exists until it is freed, so whoever holds the lock may read it (and its
 * vCPUs, freed only with it).  vapicvm_vms_gen changes with the list.
 */
extern struct list_head vapicvm_vms;
extern struct mutex vapicvm_vms_lock;
extern unsigned int vapicvm_vms_gen;

int vapicvm_create_vm(const struct vapicvm_create_vm *params);
void vapicvm_vm_get(struct vapicvm_vm *vm);
void vapicvm_vm_put(struct vapicvm_vm *vm);
/* Map the guest page at gpa (an EPT violation): 0, 1 if it is not RAM, -errno. */
int vm_fault_in(struct vapicvm_vm *vm, u64 gpa, bool write);
int vm_read_guest(struct vapicvm_vm *vm, u64 gpa, void *buf, unsigned int len);
int vm_write_guest(struct vapicvm_vm *vm, u64 gpa, const void *buf, unsigned int len);
/* Pages the CPU logged as written (pml.c), into their slots' dirty bitmaps. */
void vm_log_dirty_gpas(struct vapicvm_vm *vm, const u64 *gpas, unsigned int n);
struct vapicvm_memslot *vm_find_slot(struct vapicvm_vm *vm, u64 gfn);
/* Every vCPU drops its EPT translations before it next runs; under lock. */
void vm_flush_tlbs(struct vapicvm_vm *vm);
int vm_map_apic_access_page(struct vapicvm_vm *vm, u64 gpa);

#endif /* VAPICVM_VM_H */

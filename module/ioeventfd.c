// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds (VAPICVM_IOEVENTFD), after KVM's: a VMM's device doorbell
 * (a virtio queue notify, say) becomes an eventfd signal from the vCPU's
 * exit handler, with no return to userspace.
 *
 * The VM's list is written under vm->lock and read under RCU by the exit
 * handlers.  A removal waits for a grace period before it returns, so no
 * handler signals the eventfd after DEASSIGN, and none a released one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "compat.h"
#include "ioeventfd.h"
#include "vm.h"

struct ioeventfd {
	struct list_head link;
	struct eventfd_ctx *ctx;
	u64 addr;
	u64 datamatch;
	u32 len;
	bool pio;
	bool wildcard;		/* no datamatch: any value */
};

static bool ioeventfd_args_valid(const struct vapicvm_ioeventfd *a)
{
	bool pio = a->flags & VAPICVM_IOEVENTFD_PIO;

	if ((a->flags & ~VAPICVM_IOEVENTFD_FLAGS_ALL) || a->pad || a->reserved[0] ||
	    a->reserved[1])
		return false;
	switch (a->len) {
	case 1: case 2: case 4:
		break;
	case 8:
		if (pio)
			return false;
		break;
	default:
		return false;
	}
	if (pio)
		return a->addr + a->len - 1 <= 0xffff;
	/* One page: the emulator does not split an access across two. */
	return a->addr + a->len > a->addr &&
	       (a->addr & ~PAGE_MASK) + a->len <= PAGE_SIZE;
}

/* Values are compared in the access's width. */
static u64 ioeventfd_value(u64 v, u32 len)
{
	return len == 8 ? v : v & (BIT_ULL(len * 8) - 1);
}

/* Two registrations that the same write would both match (KVM's rule). */
static bool ioeventfd_collides(const struct ioeventfd *p, const struct ioeventfd *q)
{
	return p->addr == q->addr && p->len == q->len && p->pio == q->pio &&
	       (p->wildcard || q->wildcard || p->datamatch == q->datamatch);
}

static bool ioeventfd_same(const struct ioeventfd *p, const struct ioeventfd *q)
{
	return p->ctx == q->ctx && p->addr == q->addr && p->len == q->len &&
	       p->pio == q->pio && p->wildcard == q->wildcard &&
	       (p->wildcard || p->datamatch == q->datamatch);
}

int vm_ioeventfd_ioctl(struct vapicvm_vm *vm, const struct vapicvm_ioeventfd *args)
{
	struct ioeventfd key, *p, *gone = NULL;
	int r;

	if (!ioeventfd_args_valid(args))
		return -EINVAL;
	key.ctx = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(key.ctx))
		return PTR_ERR(key.ctx);
	key.addr = args->addr;
	key.len = args->len;
	key.pio = args->flags & VAPICVM_IOEVENTFD_PIO;
	key.wildcard = !(args->flags & VAPICVM_IOEVENTFD_DATAMATCH);
	key.datamatch = key.wildcard ? 0 : ioeventfd_value(args->datamatch, args->len);

	mutex_lock(&vm->lock);
	if (args->flags & VAPICVM_IOEVENTFD_DEASSIGN) {
		r = -ENOENT;
		list_for_each_entry(p, &vm->ioeventfds, link) {
			if (!ioeventfd_same(p, &key))
				continue;
			list_del_rcu(&p->link);
			vm->nr_ioeventfds--;
			gone = p;
			r = 0;
			break;
		}
		mutex_unlock(&vm->lock);
		eventfd_ctx_put(key.ctx);
		if (gone) {
			synchronize_rcu();
			eventfd_ctx_put(gone->ctx);
			kfree(gone);
		}
		return r;
	}
	r = -ENOSPC;
	if (vm->nr_ioeventfds >= VAPICVM_MAX_IOEVENTFDS)
		goto out;
	r = -EEXIST;
	list_for_each_entry(p, &vm->ioeventfds, link)
		if (ioeventfd_collides(p, &key))
			goto out;
	r = -ENOMEM;
	p = kmemdup(&key, sizeof(key), GFP_KERNEL_ACCOUNT);
	if (!p)
		goto out;
	list_add_tail_rcu(&p->link, &vm->ioeventfds);
	vm->nr_ioeventfds++;
	mutex_unlock(&vm->lock);
	return 0;	/* the list holds the eventfd reference now */
out:
	mutex_unlock(&vm->lock);
	eventfd_ctx_put(key.ctx);
	return r;
}

bool vm_ioeventfd_signal(struct vapicvm_vm *vm, bool pio, u64 addr, unsigned int len, u64 val)
{
	struct ioeventfd *p;
	bool hit = false;

	if (list_empty(&vm->ioeventfds))
		return false;
	val = ioeventfd_value(val, len);
	rcu_read_lock();
	list_for_each_entry_rcu(p, &vm->ioeventfds, link) {
		if (p->pio != pio || p->addr != addr || p->len != len ||
		    (!p->wildcard && p->datamatch != val))
			continue;
		vapicvm_eventfd_signal(p->ctx);
		hit = true;
		break;
	}
	rcu_read_unlock();
	return hit;
}

/* The VM is going away: nobody reads the list any more. */
void vm_ioeventfd_release_all(struct vapicvm_vm *vm)
{
	struct ioeventfd *p, *n;

	list_for_each_entry_safe(p, n, &vm->ioeventfds, link) {
		list_del(&p->link);
		eventfd_ctx_put(p->ctx);
		kfree(p);
	}
	vm->nr_ioeventfds = 0;
}

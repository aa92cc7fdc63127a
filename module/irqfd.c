// SPDX-License-Identifier: GPL-2.0
/*
 * GSI routes (VAPICVM_SET_GSI_ROUTE) and irqfds (VAPICVM_IRQFD), after
 * KVM's: a VMM's device thread (a virtio queue's, say) raises its
 * interrupt by writing an eventfd; the eventfd's wake-up delivers the
 * GSI's MSI to the local APICs at once, without a system call into the
 * VM and without waking a vCPU thread that is not the target.
 *
 * Routes are an xarray of GSI -> MSI, written under vm->lock and read
 * under RCU, so the VMM's I/O APIC can retarget a pin while its irqfd
 * fires.  The irqfd list is written under vm->irqfds_lock, which the
 * wake-up takes too (it runs with the eventfd's wait-queue lock held and
 * interrupts off, so the lock is irq-safe).  An irqfd leaves by a work
 * item that unhooks it from the eventfd's wait queue: that waits for a
 * wake-up in progress, so once the work has run nothing delivers from it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "compat.h"

#include "irqfd.h"
#include "lapic.h"
#include "vm.h"

struct gsi_route {
	struct rcu_head rcu;
	u32 address_lo;
	u32 data;
};

struct irqfd {
	struct list_head link;		/* vm->irqfds; empty once leaving */
	struct vapicvm_vm *vm;
	struct eventfd_ctx *ctx;
	u32 gsi;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct shutdown;
};

/* Shutdowns of every VM's irqfds; flushed by DEASSIGN and by VM release. */
static struct workqueue_struct *irqfd_wq;

int vm_irqfd_module_init(void)
{
	irqfd_wq = alloc_workqueue("vapicvm-irqfd", 0, 0);
	return irqfd_wq ? 0 : -ENOMEM;
}

void vm_irqfd_module_exit(void)
{
	destroy_workqueue(irqfd_wq);
}

void vm_irqfd_vm_init(struct vapicvm_vm *vm)
{
	xa_init(&vm->gsi_routes);
	INIT_LIST_HEAD(&vm->irqfds);
	spin_lock_init(&vm->irqfds_lock);
}

int vm_gsi_route_ioctl(struct vapicvm_vm *vm, const struct vapicvm_gsi_route *args)
{
	const struct vapicvm_msi *msi = &args->msi;
	struct gsi_route *route = NULL, *old;

	if ((args->flags & ~VAPICVM_GSI_ROUTE_FLAGS_ALL) || args->reserved[0] ||
	    args->reserved[1] || msi->flags || msi->reserved[0] || msi->reserved[1])
		return -EINVAL;
	if (args->gsi >= VAPICVM_NR_GSIS)
		return -EINVAL;
	if (args->flags & VAPICVM_GSI_ROUTE_MSI) {
		if (!lapic_msi_valid(msi->address_lo, msi->address_hi))
			return -EINVAL;
		route = kzalloc(sizeof(*route), GFP_KERNEL_ACCOUNT);
		if (!route)
			return -ENOMEM;
		route->address_lo = msi->address_lo;
		route->data = msi->data;
	} else if (msi->address_lo || msi->address_hi || msi->data) {
		return -EINVAL;
	}

	mutex_lock(&vm->lock);
	old = xa_store(&vm->gsi_routes, args->gsi, route, GFP_KERNEL_ACCOUNT);
	mutex_unlock(&vm->lock);
	if (xa_is_err(old)) {
		kfree(route);
		return xa_err(old);
	}
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* Any context: the eventfd's wake-up calls it with its lock held. */
static void irqfd_deliver(struct irqfd *irqfd)
{
	struct gsi_route *route;

	rcu_read_lock();
	route = xa_load(&irqfd->vm->gsi_routes, irqfd->gsi);
	if (route)
		lapic_deliver_msi(irqfd->vm, route->address_lo, route->data);
	rcu_read_unlock();
}

static void irqfd_shutdown(struct work_struct *work)
{
	struct irqfd *irqfd = container_of(work, struct irqfd, shutdown);
	u64 cnt;

	/* Takes the wait-queue lock: a wake-up in progress finishes first. */
	eventfd_ctx_remove_wait_queue(irqfd->ctx, &irqfd->wait, &cnt);
	eventfd_ctx_put(irqfd->ctx);
	kfree(irqfd);
}

/* Take irqfd off the VM's list and queue its shutdown; under irqfds_lock. */
static void irqfd_leave(struct irqfd *irqfd)
{
	list_del_init(&irqfd->link);
	queue_work(irqfd_wq, &irqfd->shutdown);
}

static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct irqfd *irqfd = container_of(wait, struct irqfd, wait);
	struct vapicvm_vm *vm = irqfd->vm;
	__poll_t events = key_to_poll(key);
	unsigned long flags;

	if (events & EPOLLIN) {
		u64 cnt;

		/* Clear the count: the next write wakes us again. */
		eventfd_ctx_do_read(irqfd->ctx, &cnt);
		irqfd_deliver(irqfd);
	}
	if (events & EPOLLHUP) {
		/* The eventfd was closed. */
		spin_lock_irqsave(&vm->irqfds_lock, flags);
		if (!list_empty(&irqfd->link))
			irqfd_leave(irqfd);
		spin_unlock_irqrestore(&vm->irqfds_lock, flags);
	}
	return 0;
}

static void irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct irqfd *irqfd = container_of(pt, struct irqfd, pt);

	add_wait_queue(wqh, &irqfd->wait);
}

static int irqfd_assign(struct vapicvm_vm *vm, const struct vapicvm_irqfd *args)
{
	struct irqfd *irqfd, *p;
	struct eventfd_ctx *ctx;
	unsigned int n = 0;
	struct fd f;
	__poll_t events;
	int r;

	f = fdget(args->fd);
	if (!fd_file(f))
		return -EBADF;
	ctx = eventfd_ctx_fileget(fd_file(f));
	if (IS_ERR(ctx)) {
		r = PTR_ERR(ctx);
		goto out_fd;
	}
	r = -ENOMEM;
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		goto out_ctx;
	irqfd->vm = vm;
	irqfd->ctx = ctx;
	irqfd->gsi = args->gsi;
	INIT_WORK(&irqfd->shutdown, irqfd_shutdown);
	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_queue_proc);

	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry(p, &vm->irqfds, link) {
		if (p->ctx == ctx) {
			r = -EBUSY;
			goto out_unlock;
		}
		n++;
	}
	if (n >= VAPICVM_MAX_IRQFDS) {
		r = -ENOSPC;
		goto out_unlock;
	}
	list_add_tail(&irqfd->link, &vm->irqfds);
	spin_unlock_irq(&vm->irqfds_lock);

	/* Hooks the wake-up; a signal that came before it delivers now. */
	events = vfs_poll(fd_file(f), &irqfd->pt);
	if (events & EPOLLIN)
		irqfd_deliver(irqfd);
	fdput(f);
	return 0;	/* the irqfd holds the eventfd reference now */

out_unlock:
	spin_unlock_irq(&vm->irqfds_lock);
	kfree(irqfd);
out_ctx:
	eventfd_ctx_put(ctx);
out_fd:
	fdput(f);
	return r;
}

static int irqfd_deassign(struct vapicvm_vm *vm, const struct vapicvm_irqfd *args)
{
	struct eventfd_ctx *ctx;
	struct irqfd *p;
	int r = -ENOENT;

	ctx = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry(p, &vm->irqfds, link) {
		if (p->ctx == ctx && p->gsi == args->gsi) {
			irqfd_leave(p);
			r = 0;
			break;
		}
	}
	spin_unlock_irq(&vm->irqfds_lock);
	eventfd_ctx_put(ctx);
	/* Nothing delivers from it once DEASSIGN returns. */
	flush_workqueue(irqfd_wq);
	return r;
}

int vm_irqfd_ioctl(struct vapicvm_vm *vm, const struct vapicvm_irqfd *args)
{
	if ((args->flags & ~VAPICVM_IRQFD_FLAGS_ALL) || args->pad || args->reserved[0] ||
	    args->reserved[1])
		return -EINVAL;
	if (args->gsi >= VAPICVM_NR_GSIS)
		return -EINVAL;
	if (args->flags & VAPICVM_IRQFD_DEASSIGN)
		return irqfd_deassign(vm, args);
	return irqfd_assign(vm, args);
}

void vm_irqfd_release_all(struct vapicvm_vm *vm)
{
	struct gsi_route *route;
	struct irqfd *p, *n;
	unsigned long gsi;

	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(p, n, &vm->irqfds, link)
		irqfd_leave(p);
	spin_unlock_irq(&vm->irqfds_lock);
	/* Also the irqfds whose eventfd closed: none touches the VM after this. */
	flush_workqueue(irqfd_wq);

	xa_for_each(&vm->gsi_routes, gsi, route)
		kfree(route);
	xa_destroy(&vm->gsi_routes);
}

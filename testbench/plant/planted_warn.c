// SPDX-License-Identifier: GPL-2.0
/*
 * Planted failure for the bench's self-check: WARN once at load, and print
 * the first line of a KASAN report (Debian's kernel has no KASAN, but the
 * bench must fail a run whose kernel log has one).  Built for the debug
 * bench kernel, it also commits one real bug of each kind that kernel's
 * checks catch, so that the self-check sees their real reports fail a run
 * (on a kernel without the check, the bug is not committed).
 */
#include <linux/module.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/timer.h>

/*
 * KASAN: a read one byte past a kmalloc()ed object.  Larger than a page, so
 * that KFENCE never serves it (a KFENCE object's slack is readable: no
 * report).
 */
#define PLANTED_SIZE 5000

static noinline void planted_kasan(void)
{
	size_t index = PLANTED_SIZE;
	char *p = kmalloc(PLANTED_SIZE, GFP_KERNEL);

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(index);
	pr_info("planted: byte past the object: %d\n", READ_ONCE(p[index]));
	kfree(p);
}

/* UBSAN: a shift of an int by more than its width. */
static noinline void planted_ubsan(void)
{
	int shift = 40;

	OPTIMIZER_HIDE_VAR(shift);
	pr_info("planted: 1 << 40 = %d\n", 1 << shift);
}

/* DEBUG_ATOMIC_SLEEP: a function that may sleep, called atomically. */
static noinline void planted_atomic_sleep(void)
{
	preempt_disable();
	might_sleep();
	preempt_enable();
}

/*
 * lockdep: two mutexes taken in both orders, by one thread (so nothing
 * deadlocks; lockdep reports the possible deadlock all the same).
 */
static DEFINE_MUTEX(planted_a);
static DEFINE_MUTEX(planted_b);

static noinline void planted_lock_order(void)
{
	mutex_lock(&planted_a);
	mutex_lock(&planted_b);
	mutex_unlock(&planted_b);
	mutex_unlock(&planted_a);
	mutex_lock(&planted_b);
	mutex_lock(&planted_a);
	mutex_unlock(&planted_a);
	mutex_unlock(&planted_b);
}

static void planted_timer_fn(struct timer_list *t)
{
}

/*
 * Debug objects: an armed timer freed (the check deactivates it before the
 * memory goes).
 */
static noinline void planted_freed_timer(void)
{
	struct timer_list *t = kmalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return;
	timer_setup(t, planted_timer_fn, 0);
	mod_timer(t, jiffies + 1000 * HZ);
	kfree(t);
}

static int __init planted_warn_init(void)
{
	WARN(1, "planted warning: the bench must report this run as failed\n");
	pr_err("BUG: KASAN: planted-report in planted_warn_init: the bench must report this run as failed\n");
	/*
	 * lockdep first: a KASAN report taints the kernel as unreliable for
	 * lock debugging, and lockdep turns itself off.
	 */
	if (IS_ENABLED(CONFIG_PROVE_LOCKING))
		planted_lock_order();
	if (IS_ENABLED(CONFIG_DEBUG_ATOMIC_SLEEP))
		planted_atomic_sleep();
	if (IS_ENABLED(CONFIG_DEBUG_OBJECTS_TIMERS))
		planted_freed_timer();
	if (IS_ENABLED(CONFIG_UBSAN_SHIFT))
		planted_ubsan();
	if (IS_ENABLED(CONFIG_KASAN))
		planted_kasan();
	return 0;
}

static void __exit planted_warn_exit(void)
{
}

module_init(planted_warn_init);
module_exit(planted_warn_exit);
MODULE_LICENSE("GPL");

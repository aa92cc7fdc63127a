// SPDX-License-Identifier: GPL-2.0
/*
 * Planted failure for the bench's self-check: WARN once at load, and print
 * the first line of a KASAN report (the bench kernel has no KASAN, but the
 * bench must fail a run whose kernel log has one).
 */
#include <linux/module.h>
#include <linux/bug.h>
#include <linux/printk.h>

static int __init planted_warn_init(void)
{
	WARN(1, "planted warning: the bench must report this run as failed\n");
	pr_err("BUG: KASAN: planted-report in planted_warn_init: the bench must report this run as failed\n");
	return 0;
}

static void __exit planted_warn_exit(void)
{
}

module_init(planted_warn_init);
module_exit(planted_warn_exit);
MODULE_LICENSE("GPL");

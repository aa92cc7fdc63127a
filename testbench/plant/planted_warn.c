// SPDX-License-Identifier: GPL-2.0
/* Planted failure for the bench's self-check: WARN once at load. */
#include <linux/module.h>
#include <linux/bug.h>

static int __init planted_warn_init(void)
{
	WARN(1, "planted warning: the bench must report this run as failed\n");
	return 0;
}

static void __exit planted_warn_exit(void)
{
}

module_init(planted_warn_init);
module_exit(planted_warn_exit);
MODULE_LICENSE("GPL");

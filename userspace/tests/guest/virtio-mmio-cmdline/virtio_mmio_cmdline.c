// SPDX-License-Identifier: GPL-2.0
/*
 * A guest-side helper for the bench's Linux guest: what the kernel's
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES does, for a kernel built without it
 * (Debian's).  Loaded with device=<size>@<base>:<irq>, the syntax of
 * virtio_mmio.device= that vapicvm-run puts on the command line, it
 * registers one "virtio-mmio" platform device with that register window
 * and interrupt, which the virtio_mmio driver then binds.
 */
#include <linux/err.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>

static char *device;
module_param(device, charp, 0400);
MODULE_PARM_DESC(device, "<size>@<base>:<irq>, as virtio_mmio.device=");

static struct platform_device *vmmio_pdev;

static int __init vmmio_cmdline_init(void)
{
	struct resource res[2] = {};
	unsigned long long base, size;
	unsigned int irq;
	char *p;
	int n = 0;

	if (!device)
		return -EINVAL;
	size = memparse(device, &p);
	if (p == device || !size ||
	    sscanf(p, "@%lli:%u%n", &base, &irq, &n) != 2 || p[n] ||
	    base + size - 1 < base)
		return -EINVAL;

	res[0].flags = IORESOURCE_MEM;
	res[0].start = base;
	res[0].end = base + size - 1;
	res[1].flags = IORESOURCE_IRQ;
	res[1].start = irq;
	res[1].end = irq;
	vmmio_pdev = platform_device_register_resndata(NULL, "virtio-mmio",
						       PLATFORM_DEVID_AUTO,
						       res, ARRAY_SIZE(res),
						       NULL, 0);
	return PTR_ERR_OR_ZERO(vmmio_pdev);
}

static void __exit vmmio_cmdline_exit(void)
{
	platform_device_unregister(vmmio_pdev);
}

module_init(vmmio_cmdline_init);
module_exit(vmmio_cmdline_exit);
MODULE_DESCRIPTION("One virtio-mmio device from a virtio_mmio.device= string");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * Entering and leaving VMX operation on every CPU, lazily.
 *
 * The first VM registers a dynamic CPU-hotplug state whose online callback
 * does VMXON on the CPU it runs on; the core calls it on every online CPU
 * then, and later on every CPU that comes online.  Its teardown callback
 * (run on every CPU when the last VM goes away, and on a CPU going offline)
 * does VMXOFF.  CR4.VMXE already set means another hypervisor (kvm_intel)
 * owns VMX on that CPU: the registration fails and VM creation returns
 * -EBUSY.  kvm_intel makes the same check, so whichever comes second gets
 * -EBUSY and nothing crashes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <asm/tlbflush.h>

#include "capabilities.h"
#include "vmx_enable.h"

static DEFINE_PER_CPU(struct page *, vmxon_region);
static DEFINE_PER_CPU(bool, vmx_enabled);

static DEFINE_MUTEX(vmx_users_lock);
static unsigned int vmx_users;
static int vmx_hp_state;
static bool vmx_rebooting;

bool vmx_is_on_this_cpu(void)
{
	return this_cpu_read(vmx_enabled);
}

/* VMX is being left for a reboot: VMX instructions may fault from now on. */
bool vmx_is_rebooting(void)
{
	return READ_ONCE(vmx_rebooting);
}

unsigned int vmx_users_count(void)
{
	return READ_ONCE(vmx_users);
}

static int vmx_cpu_enable(void)
{
	struct page *region = this_cpu_read(vmxon_region);
	unsigned long flags;
	int r;

	local_irq_save(flags);
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		r = -EBUSY;
		goto out;
	}
	cr4_set_bits(X86_CR4_VMXE);
	r = vmx_on(page_to_phys(region));
	if (r) {
		cr4_clear_bits(X86_CR4_VMXE);
		r = -EBUSY;
		goto out;
	}
	this_cpu_write(vmx_enabled, true);
out:
	local_irq_restore(flags);
	return r;
}

static void vmx_cpu_disable(void)
{
	unsigned long flags;

	local_irq_save(flags);
	if (this_cpu_read(vmx_enabled)) {
		vmx_off();
		cr4_clear_bits(X86_CR4_VMXE);
		this_cpu_write(vmx_enabled, false);
	}
	local_irq_restore(flags);
}

static int vmx_cpu_online(unsigned int cpu)
{
	struct page *region = per_cpu(vmxon_region, cpu);
	int r;

	if (READ_ONCE(vmx_rebooting))
		return -EBUSY;
	r = vmx_capabilities_check_this_cpu();
	if (r) {
		pr_err("CPU %u: VMX capabilities differ from the boot CPU's\n", cpu);
		return r;
	}
	if (!region) {
		region = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!region)
			return -ENOMEM;
		*(u32 *)page_address(region) = vmx_caps.revision_id;
		per_cpu(vmxon_region, cpu) = region;
	}
	r = vmx_cpu_enable();
	if (r == -EBUSY)
		pr_warn("CPU %u: VMX is in use by another hypervisor (kvm_intel?)\n", cpu);
	return r;
}

static int vmx_cpu_offline(unsigned int cpu)
{
	vmx_cpu_disable();
	return 0;
}

int vmx_get(void)
{
	int r = 0;

	mutex_lock(&vmx_users_lock);
	if (vmx_users == 0) {
		r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "vapicvm:online",
				      vmx_cpu_online, vmx_cpu_offline);
		if (r < 0)
			goto out;
		vmx_hp_state = r;
		r = 0;
	}
	vmx_users++;
out:
	mutex_unlock(&vmx_users_lock);
	return r;
}

void vmx_put(void)
{
	mutex_lock(&vmx_users_lock);
	if (!WARN_ON_ONCE(vmx_users == 0) && --vmx_users == 0)
		cpuhp_remove_state(vmx_hp_state);
	mutex_unlock(&vmx_users_lock);
}

/*
 * VMX operation blocks INIT: leave it on every CPU before a reboot, or the
 * machine may hang instead of rebooting.
 */
static void vmx_reboot_disable(void *unused)
{
	vmx_cpu_disable();
}

static int vmx_reboot_notify(struct notifier_block *nb, unsigned long code, void *unused)
{
	WRITE_ONCE(vmx_rebooting, true);
	on_each_cpu(vmx_reboot_disable, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block vmx_reboot_notifier = {
	.notifier_call = vmx_reboot_notify,
	.priority = 0,
};

int vmx_enable_init(void)
{
	return register_reboot_notifier(&vmx_reboot_notifier);
}

void vmx_enable_exit(void)
{
	int cpu;

	unregister_reboot_notifier(&vmx_reboot_notifier);
	for_each_possible_cpu(cpu) {
		if (per_cpu(vmxon_region, cpu)) {
			__free_page(per_cpu(vmxon_region, cpu));
			per_cpu(vmxon_region, cpu) = NULL;
		}
	}
}

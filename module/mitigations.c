// SPDX-License-Identifier: GPL-2.0
/*
 * Transient-execution mitigations around VM entry and exit.
 *
 * Three of them live in vmenter.S as alternatives the kernel patches from
 * its own choice: VERW before entry (X86_FEATURE_CLEAR_CPU_BUF: MDS, TAA,
 * MMIO stale data, RFDS), the RSB refill after exit
 * (X86_FEATURE_RSB_VMEXIT/_LITE) and the branch-history clearing loop
 * after exit (X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT: BHI).  The rest are
 * here: the L1D flush before entry (L1TF), IBPB when a CPU goes from one
 * VM's vCPU to another VM's (guest-to-guest Spectre v2), and IBPB before
 * the VMM runs again after an exit (VMSCAPE).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>
#include <asm/cpufeature.h>
#include <asm/hardirq.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>

#include "mitigations.h"
#include "vcpu.h"
#include "vm.h"

struct vapicvm_mitigations vapicvm_mitigations;

/* The software L1D flush's buffer: twice the largest L1D, as KVM's. */
#define L1D_FLUSH_ORDER		4
#define L1D_FLUSH_SIZE		(PAGE_SIZE << L1D_FLUSH_ORDER)
static struct page *l1d_flush_pages;

/* The VM whose vCPU each CPU ran last (an id: VMs' addresses are reused). */
static DEFINE_PER_CPU(u64, last_vm_id);

static bool l1d_flush_needed(void)
{
	u64 caps = 0;

	if (!boot_cpu_has_bug(X86_BUG_L1TF) || l1tf_mitigation == L1TF_MITIGATION_OFF)
		return false;
	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl_safe(MSR_IA32_ARCH_CAPABILITIES, &caps);
	return !(caps & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH);
}

int mitigations_init(void)
{
	struct vapicvm_mitigations *m = &vapicvm_mitigations;

	m->l1d_flush = L1D_FLUSH_NEVER;
	if (l1d_flush_needed())
		m->l1d_flush = l1tf_mitigation >= L1TF_MITIGATION_FULL ? L1D_FLUSH_ALWAYS :
									  L1D_FLUSH_COND;
	m->l1d_flush_msr = boot_cpu_has(X86_FEATURE_FLUSH_L1D);
	if (m->l1d_flush != L1D_FLUSH_NEVER && !m->l1d_flush_msr) {
		l1d_flush_pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, L1D_FLUSH_ORDER);
		if (!l1d_flush_pages)
			return -ENOMEM;
	}
	return 0;
}

void mitigations_exit(void)
{
	if (l1d_flush_pages)
		__free_pages(l1d_flush_pages, L1D_FLUSH_ORDER);
	l1d_flush_pages = NULL;
}

/* Without IA32_FLUSH_CMD: fill the TLB for the buffer, then read it all. */
static void l1d_flush_software(void)
{
	const u8 *buf = page_address(l1d_flush_pages);
	unsigned long i;

	for (i = 0; i < L1D_FLUSH_SIZE; i += PAGE_SIZE)
		READ_ONCE(buf[i]);
	for (i = 0; i < L1D_FLUSH_SIZE; i += L1_CACHE_BYTES)
		READ_ONCE(buf[i]);
}

/* The part of mitigations_before_entry() that flushes, or decides to. */
void mitigations_l1d_flush(struct vapicvm_vcpu *vcpu)
{
	const struct vapicvm_mitigations *m = &vapicvm_mitigations;

	if (m->l1d_flush == L1D_FLUSH_COND) {
		/* Host work since the last entry: this vCPU's, or an interrupt's. */
		bool flush = vcpu->l1d_flush_pending || kvm_get_cpu_l1tf_flush_l1d();

		vcpu->l1d_flush_pending = false;
		kvm_clear_cpu_l1tf_flush_l1d();
		if (!flush)
			return;
	}
	if (m->l1d_flush_msr)
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
	else
		l1d_flush_software();
}

void mitigations_after_exit(struct vapicvm_vcpu *vcpu)
{
	/* VMSCAPE: the VMM must not run on branch predictions the guest made. */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
}

void mitigations_vcpu_load(struct vapicvm_vcpu *vcpu)
{
	if (this_cpu_read(last_vm_id) != vcpu->vm->id) {
		this_cpu_write(last_vm_id, vcpu->vm->id);
		indirect_branch_prediction_barrier();
	}
	vcpu->l1d_flush_pending = true;
}

static const char *const l1d_flush_names[] = {
	[L1D_FLUSH_NEVER] = "off",
	[L1D_FLUSH_COND] = "on (conditional)",
	[L1D_FLUSH_ALWAYS] = "on (every entry)",
};

ssize_t mitigations_format(char *buf)
{
	const struct vapicvm_mitigations *m = &vapicvm_mitigations;
	int n = 0;

#define SHOW(name, on, how)							\
	(n += sysfs_emit_at(buf, n, "%s: %s\n", name, (on) ? "on (" how ")" : "off"))
	SHOW("verw_before_entry", boot_cpu_has(X86_FEATURE_CLEAR_CPU_BUF),
	     "MDS, TAA, MMIO stale data, RFDS");
	n += sysfs_emit_at(buf, n, "l1d_flush_before_entry: %s%s\n",
			   l1d_flush_names[m->l1d_flush],
			   m->l1d_flush == L1D_FLUSH_NEVER ? "" :
			   m->l1d_flush_msr ? " IA32_FLUSH_CMD" : " software");
	SHOW("ibpb_on_vm_switch", boot_cpu_has(X86_FEATURE_USE_IBPB), "spectre_v2_user");
	SHOW("ibpb_exit_to_user", cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER),
	     "VMSCAPE");
	SHOW("rsb_fill_after_exit", boot_cpu_has(X86_FEATURE_RSB_VMEXIT) ||
	     boot_cpu_has(X86_FEATURE_RSB_VMEXIT_LITE), "spectre_v2, PBRSB");
	SHOW("bhb_clear_after_exit", boot_cpu_has(X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT),
	     "BHI");
#undef SHOW
	return n;
}

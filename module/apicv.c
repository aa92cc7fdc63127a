// SPDX-License-Identifier: GPL-2.0
/*
 * APIC-virtualization tiers, layered on the local APIC model (lapic.c).
 *
 * Two independent questions, each answered by what the CPU offers:
 *
 * How do pending interrupts reach the guest?  (struct apicv_tier: one
 * instance each; the model calls nothing else)
 *   event injection            the highest deliverable vector is injected,
 *                              with the interrupt window and, with the TPR
 *                              shadow, the TPR threshold;
 *   virtual-interrupt delivery RVI/SVI in the VMCS, EOI virtualized, the
 *                              EOI-exit bitmap for level-triggered vectors;
 *   posted interrupts          virtual-interrupt delivery, and a notification
 *                              to a running vCPU is the posted-interrupt
 *                              vector: the CPU merges the PIR with no exit.
 *
 * How do register accesses reach the model?  (controls, per vCPU)
 *   no TPR shadow     CR8 exits; xAPIC MMIO faults through EPT and is decoded;
 *   TPR shadow        CR8 and the TPR without exits (virtual-APIC page);
 *   APIC access       xAPIC MMIO hits the VM's APIC-access page: APIC-access
 *                     exits (44), already decoded to an offset;
 *   register virt     reads served by the CPU from the virtual-APIC page,
 *                     writes trapped after the fact (APIC-write exits, 56);
 *   x2APIC virt       x2APIC MSRs served from the page, per the MSR bitmap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <asm/apic.h>

#include "apicv.h"
#include "capabilities.h"
#include "compat.h"
#include "emulate.h"
#include "lapic.h"
#include "msr.h"
#include "netlink.h"
#include "run.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"

/* ------------------------------------------------------------------ */
/* The feature table (uapi/linux/vapicvm.h)                            */
/* ------------------------------------------------------------------ */

static const struct apicv_feature {
	u32 bit;
	const char *name;
	const char *tier;	/* the cumulative tier it tops */
	u32 requires;		/* the SDM's requirements and ours */
} apicv_features[] = {
#define FEATURE_ROW(id, bit, name, tier, sdm, policy, ctl)	\
	{ VAPICVM_APICV_##id, name, tier, (sdm) | (policy) },
	VAPICVM_APICV_FEATURES(FEATURE_ROW)
#undef FEATURE_ROW
};

/* Features in set whose requirements are not all in set. */
u32 apicv_features_missing(u32 set)
{
	u32 missing = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(apicv_features); i++)
		if ((set & apicv_features[i].bit) && (apicv_features[i].requires & ~set))
			missing |= apicv_features[i].bit;
	return missing;
}

u32 apicv_features_closure(u32 set)
{
	u32 missing;

	set &= VAPICVM_APICV_ALL;
	while ((missing = apicv_features_missing(set)))
		set &= ~missing;
	return set;
}

unsigned int apicv_nr_features(void)
{
	return ARRAY_SIZE(apicv_features);
}

const char *apicv_feature_name(unsigned int i, u32 *bit, u32 *requires)
{
	*bit = apicv_features[i].bit;
	*requires = apicv_features[i].requires;
	return apicv_features[i].name;
}

/*
 * The tier's name, as the C++ library spells tiers: the tier of the top
 * feature of the ladder (x2APIC virtualization stands beside it), then
 * "+x2apic"; "x2apic" alone is the TPR shadow with it; "none".
 */
int apicv_tier_name(char *buf, size_t size, u32 set)
{
	const char *top = NULL;
	int i;

	for (i = 0; i < ARRAY_SIZE(apicv_features); i++)
		if ((set & apicv_features[i].bit) &&
		    apicv_features[i].bit != VAPICVM_APICV_X2APIC_VIRT &&
		    apicv_features[i].bit != VAPICVM_APICV_TPR_SHADOW)
			top = apicv_features[i].tier;
	if (!top && (set & VAPICVM_APICV_X2APIC_VIRT))
		return scnprintf(buf, size, "x2apic");
	if (!top && (set & VAPICVM_APICV_TPR_SHADOW))
		top = "tpr";
	if (!top)
		return scnprintf(buf, size, "none");
	return scnprintf(buf, size, "%s%s", top,
			 set & VAPICVM_APICV_X2APIC_VIRT ? "+x2apic" : "");
}

/* "tpr-shadow apic-access ..." or "none", for the kernel log. */
int apicv_features_format(char *buf, size_t size, u32 set)
{
	int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(apicv_features); i++)
		if (set & apicv_features[i].bit)
			n += scnprintf(buf + n, size - n, "%s%s", n ? " " : "",
				       apicv_features[i].name);
	if (!n)
		n = scnprintf(buf, size, "none");
	return n;
}

static void apicv_base_changed(struct vapicvm_vcpu *vcpu, u64 old, u64 new);

/* ------------------------------------------------------------------ */
/* Event injection                                                     */
/* ------------------------------------------------------------------ */

static void inject_update_tpr_threshold(struct vapicvm_vcpu *vcpu, int irr)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u32 tpr_class = (lapic_reg_read(apic, LAPIC_TASKPRI) >> 4) & 0xf;
	u32 threshold = 0;

	if (!(vcpu->cpu_ctls & CPU_TPR_SHADOW))
		return;
	/*
	 * Exit when the guest lowers its TPR below the class of the highest
	 * pending vector.  VM entry requires threshold <= VTPR[7:4].
	 */
	if (irr >= 0)
		threshold = min_t(u32, irr >> 4, tpr_class);
	if (threshold != apic->hw.tpr_threshold) {
		apic->hw.tpr_threshold = threshold;
		vmcs_write32(TPR_THRESHOLD, threshold);
	}
}

/*
 * Before every entry, whatever is injected: the model may have lowered the
 * TPR (an emulated TPR write, INIT, SET_LAPIC) below the threshold of an
 * earlier entry, and an entry that injects an exception, an NMI or an
 * ExtINT first does not reach inject_pending().  Without virtual-interrupt
 * delivery and with "virtualize APIC accesses" off, VM entry fails on a
 * threshold above VTPR[7:4] (Vol. 3C 26.2.1.1).
 */
void apicv_sync_tpr_threshold(struct vapicvm_vcpu *vcpu)
{
	if ((vcpu->cpu_ctls & CPU_TPR_SHADOW) && !(vcpu->cpu2_ctls & SEC_VIRT_INTR_DELIVERY))
		inject_update_tpr_threshold(vcpu, lapic_highest_irr(vcpu->lapic));
}

static bool inject_extint(struct vapicvm_vcpu *vcpu)
{
	if (!vcpu->extint_pending)
		return false;
	if (vcpu_interrupt_allowed(vcpu)) {
		vcpu->extint_pending = false;
		vmcs_write32(VM_ENTRY_INTR_INFO,
			     INTR_INFO_VALID | INTR_TYPE_EXT_INTR | vcpu->extint_vector);
		vcpu_stat_inc(vcpu, VAPICVM_STAT_IRQ_INJECTED);
		trace_vapicvm_inj_virq(vcpu->id, vcpu->extint_vector, true);
		vcpu_set_intr_window(vcpu, false);
	} else {
		vcpu_set_intr_window(vcpu, true);
	}
	return true;
}

static void inject_pending(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	int irr;

	if (inject_extint(vcpu)) {
		inject_update_tpr_threshold(vcpu, lapic_highest_irr(apic));
		return;
	}
	irr = lapic_highest_irr(apic);
	if (irr >= 0 && (irr & 0xf0) > (lapic_ppr(apic) & 0xf0)) {
		if (vcpu_interrupt_allowed(vcpu)) {
			lapic_accept(apic, irr);
			vmcs_write32(VM_ENTRY_INTR_INFO,
				     INTR_INFO_VALID | INTR_TYPE_EXT_INTR | irr);
			vcpu_stat_inc(vcpu, VAPICVM_STAT_IRQ_INJECTED);
			trace_vapicvm_inj_virq(vcpu->id, irr, false);
			irr = lapic_highest_irr(apic);
			vcpu_set_intr_window(vcpu, false);
		} else {
			vcpu_set_intr_window(vcpu, true);
		}
	} else {
		vcpu_set_intr_window(vcpu, false);
	}
	inject_update_tpr_threshold(vcpu, irr);
}

/*
 * An exception or NMI goes in at this entry: an interrupt that is pending
 * waits for the next window, and the TPR threshold must still fit the TPR,
 * which userspace may have lowered since the last entry (VM entry checks
 * threshold <= VTPR[7:4] unless APIC accesses are virtualized).
 */
static void inject_blocked(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	int irr = lapic_highest_irr(apic);

	vcpu_set_intr_window(vcpu, vcpu->extint_pending ||
			     (irr >= 0 && (irr & 0xf0) > (lapic_ppr(apic) & 0xf0)));
	inject_update_tpr_threshold(vcpu, irr);
}

static void kick_notify(struct vapicvm_vcpu *target, bool level)
{
	vcpu_kick(target);
}

static const struct apicv_tier tier_event_injection = {
	.name = "event-injection",
	.inject_pending = inject_pending,
	.inject_blocked = inject_blocked,
	.notify = kick_notify,
	.base_changed = apicv_base_changed,
};

/* ------------------------------------------------------------------ */
/* Virtual-interrupt delivery                                          */
/* ------------------------------------------------------------------ */

static void vid_setup_vmcs(struct vapicvm_vcpu *vcpu)
{
	vcpu->cpu2_ctls |= SEC_VIRT_INTR_DELIVERY;
	vmcs_write64(EOI_EXIT_BITMAP0, 0);
	vmcs_write64(EOI_EXIT_BITMAP1, 0);
	vmcs_write64(EOI_EXIT_BITMAP2, 0);
	vmcs_write64(EOI_EXIT_BITMAP3, 0);
	vmcs_write16(GUEST_INTR_STATUS, 0);
	memset(vcpu->lapic->hw.eoi_exit_bitmap, 0, sizeof(vcpu->lapic->hw.eoi_exit_bitmap));
}

static void vid_write_intr_status(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	int irr = lapic_highest_irr(apic), isr = lapic_highest_isr(apic);
	u16 status = (irr < 0 ? 0 : irr) | ((isr < 0 ? 0 : isr) << 8);

	vmcs_write16(GUEST_INTR_STATUS, status);
	apic->hw.intr_status_dirty = false;
	apic->hw.rvi_raise = 0;
}

/*
 * The CPU keeps RVI/SVI current as it delivers and EOIs; the model updates
 * them only where it changed IRR or ISR behind the CPU's back: in full
 * (two scans) after any change, or, when IRR only gained vectors, by
 * raising RVI to the highest of them, as the CPU itself does when it
 * processes posted interrupts (Vol. 3C 30.6).
 */
static void vid_sync_intr_status(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u16 status;

	if (apic->hw.intr_status_dirty) {
		vid_write_intr_status(vcpu);
		return;
	}
	if (!apic->hw.rvi_raise)
		return;
	status = vmcs_read16(GUEST_INTR_STATUS);
	if (apic->hw.rvi_raise > (status & 0xff))
		vmcs_write16(GUEST_INTR_STATUS, (status & 0xff00) | apic->hw.rvi_raise);
	apic->hw.rvi_raise = 0;
}

static void vid_inject_pending(struct vapicvm_vcpu *vcpu)
{
	vid_sync_intr_status(vcpu);
	if (!inject_extint(vcpu))
		vcpu_set_intr_window(vcpu, false);
}

/* An exception or NMI goes in: RVI/SVI stay current, an ExtINT waits. */
static void vid_inject_blocked(struct vapicvm_vcpu *vcpu)
{
	vid_sync_intr_status(vcpu);
	vcpu_set_intr_window(vcpu, vcpu->extint_pending);
}

/* Any context: the VMCS need not be loaded, so only note it. */
static void vid_irr_isr_changed(struct vapicvm_vcpu *vcpu)
{
	vcpu->lapic->hw.intr_status_dirty = true;
}

/* The vCPU's thread: noted, applied at the next entry or read. */
static void vid_irr_raised(struct vapicvm_vcpu *vcpu, int vector)
{
	struct vapicvm_lapic *apic = vcpu->lapic;

	if (vector > apic->hw.rvi_raise)
		apic->hw.rvi_raise = vector;
}

/* Any context, as above: the EOI-exit bitmap is rewritten before entry. */
static void vid_tmr_changed(struct vapicvm_vcpu *vcpu)
{
	vcpu_make_request(vcpu, VCPU_REQ_EOI_BITMAP);
}

static u16 vid_intr_status(struct vapicvm_vcpu *vcpu)
{
	vid_sync_intr_status(vcpu);
	return vmcs_read16(GUEST_INTR_STATUS);
}

static const struct apicv_tier tier_vid = {
	.name = "virtual-interrupt-delivery",
	.setup_vmcs = vid_setup_vmcs,
	.inject_pending = vid_inject_pending,
	.inject_blocked = vid_inject_blocked,
	.notify = kick_notify,
	.base_changed = apicv_base_changed,
	.irr_isr_changed = vid_irr_isr_changed,
	.irr_raised = vid_irr_raised,
	.tmr_changed = vid_tmr_changed,
	.intr_status = vid_intr_status,
};

/* ------------------------------------------------------------------ */
/* Posted interrupts: virtual-interrupt delivery, notified by the CPU  */
/* ------------------------------------------------------------------ */

static void posted_setup_vmcs(struct vapicvm_vcpu *vcpu)
{
	vid_setup_vmcs(vcpu);
	vcpu->pin_ctls |= PIN_POSTED_INTR;
	vmcs_write16(POSTED_INTR_NV, LAPIC_POSTED_INTR_VECTOR);
	vmcs_write64(POSTED_INTR_DESC_ADDR, virt_to_phys(vcpu->lapic->pi));
}

static void posted_notify(struct vapicvm_vcpu *target, bool level)
{
	int cpu = READ_ONCE(target->cpu);

	/*
	 * A running vCPU takes the notification vector without an exit.  A
	 * level-triggered vector needs its TMR bit and EOI exit set by the
	 * model first, so it takes the kick path like a vCPU that is not
	 * running; so does everything that may be asleep.
	 */
	if (!level && cpu >= 0 && READ_ONCE(target->mode) == IN_GUEST_MODE &&
	    cpu != raw_smp_processor_id()) {
		vapicvm_send_ipi(cpu, LAPIC_POSTED_INTR_VECTOR);
		return;
	}
	vcpu_kick(target);
}

static const struct apicv_tier tier_posted = {
	.name = "posted-interrupts",
	.setup_vmcs = posted_setup_vmcs,
	.inject_pending = vid_inject_pending,
	.inject_blocked = vid_inject_blocked,
	.notify = posted_notify,
	.base_changed = apicv_base_changed,
	.irr_isr_changed = vid_irr_isr_changed,
	.irr_raised = vid_irr_raised,
	.tmr_changed = vid_tmr_changed,
	.intr_status = vid_intr_status,
};

const struct apicv_tier *apicv_select_tier(u32 apicv)
{
	if (apicv & VAPICVM_APICV_POSTED_INTR)
		return &tier_posted;
	if (apicv & VAPICVM_APICV_INTR_DELIVERY)
		return &tier_vid;
	return &tier_event_injection;
}

void apicv_inject_pending(struct vapicvm_vcpu *vcpu)
{
	vcpu->lapic->tier->inject_pending(vcpu);
}

void apicv_inject_blocked(struct vapicvm_vcpu *vcpu)
{
	vcpu->lapic->tier->inject_blocked(vcpu);
}

/* ------------------------------------------------------------------ */
/* Register accesses: controls, addresses and the x2APIC MSR bitmap    */
/* ------------------------------------------------------------------ */

/*
 * The controls of the register-access features, and the tier's own; called
 * while the control words are computed, before they are written.
 */
void apicv_setup_controls(struct vapicvm_vcpu *vcpu)
{
	u32 apicv = vcpu->vm->apicv;

	if (apicv & VAPICVM_APICV_TPR_SHADOW)
		vcpu->cpu_ctls |= CPU_TPR_SHADOW;
	else
		vcpu->cpu_ctls |= CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
	if (apicv & VAPICVM_APICV_REGISTER_VIRT)
		vcpu->cpu2_ctls |= SEC_APIC_REGISTER_VIRT;
	/* VIRT_APIC_ACCESSES and VIRT_X2APIC_MODE follow the APIC's mode. */
	vcpu->cpu2_ctls &= ~(SEC_VIRT_APIC_ACCESSES | SEC_VIRT_X2APIC_MODE);
	if (vcpu->lapic->tier->setup_vmcs)
		vcpu->lapic->tier->setup_vmcs(vcpu);
}

/* The addresses the register-access features use, once the controls are written. */
void apicv_setup_vmcs(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	struct vapicvm_vm *vm = vcpu->vm;

	if (vm->apicv & VAPICVM_APICV_TPR_SHADOW) {
		/* The model's register page is the virtual-APIC page. */
		vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, virt_to_phys(apic->regs));
		vmcs_write32(TPR_THRESHOLD, 0);
	}
	if (vm->apicv & VAPICVM_APICV_APIC_ACCESS)
		vmcs_write64(APIC_ACCESS_ADDR, page_to_phys(vm->apic_access_page));
	apic->hw.tpr_threshold = 0;
	apicv_update_mode(vcpu);
}

/* x2APIC MSRs whose reads the CPU serves from the virtual-APIC page. */
static bool x2apic_read_passthrough(u32 msr)
{
	unsigned int off = (msr & 0xff) << 4;

	switch (off) {
	case LAPIC_ID: case LAPIC_LVR: case LAPIC_TASKPRI: case LAPIC_LDR: case LAPIC_SPIV:
	case LAPIC_ESR: case LAPIC_ICR: case LAPIC_LVTT: case LAPIC_LVTTHMR: case LAPIC_LVTPC:
	case LAPIC_LVT0: case LAPIC_LVT1: case LAPIC_LVTERR: case LAPIC_TMICT: case LAPIC_TDCR:
		return true;
	default:
		return off >= LAPIC_ISR && off < LAPIC_ESR;
	}
}

static void update_x2apic_msr_bitmap(struct vapicvm_vcpu *vcpu, bool virt)
{
	u32 apicv = vcpu->vm->apicv;
	u32 msr;

	for (msr = 0x800; msr <= 0x8ff; msr++) {
		bool read = true, write = true;

		if (virt) {
			if (msr == 0x808) {
				read = false;	/* TPR: the TPR shadow */
				write = false;
			} else if ((apicv & VAPICVM_APICV_REGISTER_VIRT) &&
				   x2apic_read_passthrough(msr)) {
				read = false;
			}
			if ((apicv & VAPICVM_APICV_INTR_DELIVERY) && (msr == 0x80b || msr == 0x83f))
				write = false;		/* EOI and SELF IPI */
		}
		msr_bitmap_intercept(vcpu, msr, read, write);
	}
}

/*
 * The VM's features the CPU applies to this vCPU now: x2APIC virtualization
 * only in x2APIC mode, APIC-access virtualization only in xAPIC mode at the
 * APIC-access page.  A change is an event and a trace point.
 */
static void apicv_note_active(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u32 active = vcpu->vm->apicv;

	if (!apic->hw.x2apic_virt)
		active &= ~VAPICVM_APICV_X2APIC_VIRT;
	if (!apic->hw.apic_access_virt)
		active &= ~VAPICVM_APICV_APIC_ACCESS;
	if (active == vcpu->apicv_active)
		return;
	trace_vapicvm_apicv_active(vcpu->vm->id, vcpu->id, vcpu->apicv_active, active);
	/* The first decision, at creation, goes with VAPICVM_EVENT_VM_CREATE's. */
	if (vcpu->apicv_active != APICV_ACTIVE_UNDECIDED)
		vapicvm_event_vcpu(vcpu, VAPICVM_EVENT_APICV, vcpu->apicv_active, active);
	vcpu->apicv_active = active;
}

/*
 * Choose the controls that depend on the APIC's current mode and base:
 * "virtualize x2APIC mode" in x2APIC mode, "virtualize APIC accesses" in
 * xAPIC mode when this vCPU's base is where the VM's APIC-access page is.
 * The SDM forbids both at once (Vol. 3C 26.2.1.1).
 */
void apicv_update_mode(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u32 apicv = vcpu->vm->apicv;
	u64 base = READ_ONCE(apic->base_msr);
	bool x2 = lapic_is_x2apic(vcpu), en = base & LAPIC_BASE_EN;
	u32 cpu2 = vcpu->cpu2_ctls & ~(SEC_VIRT_APIC_ACCESSES | SEC_VIRT_X2APIC_MODE);

	apic->hw.x2apic_virt = x2 && (apicv & VAPICVM_APICV_X2APIC_VIRT);
	apic->hw.apic_access_virt = en && !x2 && (apicv & VAPICVM_APICV_APIC_ACCESS) &&
				 (base & LAPIC_BASE_ADDR_MASK) ==
				 READ_ONCE(vcpu->vm->apic_access_gpa);
	if (apic->hw.x2apic_virt)
		cpu2 |= SEC_VIRT_X2APIC_MODE;
	if (apic->hw.apic_access_virt)
		cpu2 |= SEC_VIRT_APIC_ACCESSES;
	update_x2apic_msr_bitmap(vcpu, apic->hw.x2apic_virt);
	if (cpu2 != vcpu->cpu2_ctls) {
		vcpu->cpu2_ctls = cpu2;
		vmcs_write32(SECONDARY_VM_EXEC_CONTROL, cpu2);
	}
	apicv_note_active(vcpu);
}

/* Level-triggered vectors (TMR) need an EOI exit with VID (Vol. 3C 30.1.3). */
void apicv_update_eoi_exit_bitmap(struct vapicvm_vcpu *vcpu)
{
	static const u32 field[4] = { EOI_EXIT_BITMAP0, EOI_EXIT_BITMAP1, EOI_EXIT_BITMAP2,
				      EOI_EXIT_BITMAP3 };
	struct vapicvm_lapic *apic = vcpu->lapic;
	int i;

	apic->hw.intr_status_dirty = true;
	if (!(vcpu->vm->apicv & VAPICVM_APICV_INTR_DELIVERY))
		return;
	for (i = 0; i < 4; i++) {
		u64 bits = lapic_reg_read(apic, LAPIC_TMR + 0x20 * i) |
			   ((u64)lapic_reg_read(apic, LAPIC_TMR + 0x20 * i + 0x10) << 32);

		if (bits != apic->hw.eoi_exit_bitmap[i]) {
			apic->hw.eoi_exit_bitmap[i] = bits;
			vmcs_write64(field[i], bits);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Where the VM's APIC-access page lives                               */
/* ------------------------------------------------------------------ */

/*
 * The APIC-access page is mapped at the xAPIC base all xAPIC-mode vCPUs
 * share.  When they disagree (or none is in xAPIC mode) it is unmapped and
 * every vCPU's xAPIC accesses fault through EPT and are decoded: correct,
 * only slower.  Every vCPU then re-decides "virtualize APIC accesses".
 */
static void vm_update_apic_access(struct vapicvm_vm *vm)
{
	u64 agreed = ~0ULL;
	bool disagree = false;
	unsigned int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vapicvm_vcpu *v = vm->vcpus[i];
		u64 base = READ_ONCE(v->lapic->base_msr);

		if (!(base & LAPIC_BASE_EN) || (base & LAPIC_BASE_EXTD))
			continue;
		base &= LAPIC_BASE_ADDR_MASK;
		if (agreed == ~0ULL)
			agreed = base;
		else if (agreed != base)
			disagree = true;
	}
	/*
	 * Disagreement unmaps the page; no xAPIC-mode vCPU at all (all in
	 * x2APIC mode or disabled, or none created yet) leaves it where it is.
	 */
	if (disagree)
		vm_map_apic_access_page(vm, ~0ULL);
	else if (agreed != ~0ULL && agreed != vm->apic_access_gpa)
		vm_map_apic_access_page(vm, agreed);
	for (i = 0; i < vm->nr_vcpus; i++) {
		vcpu_make_request(vm->vcpus[i], VCPU_REQ_APIC_MODE);
		vcpu_kick(vm->vcpus[i]);
	}
	mutex_unlock(&vm->lock);
}

static void apicv_base_changed(struct vapicvm_vcpu *vcpu, u64 old, u64 new)
{
	struct vapicvm_vm *vm = vcpu->vm;
	u64 base = new & LAPIC_BASE_ADDR_MASK;

	vcpu_make_request(vcpu, VCPU_REQ_APIC_MODE);
	/* A new xAPIC window must fault, not reach RAM mapped there before. */
	if ((new & LAPIC_BASE_EN) && !(new & LAPIC_BASE_EXTD) && base != vm->apic_access_gpa) {
		mutex_lock(&vm->lock);
		ept_unmap_range(&vm->ept, base, PAGE_SIZE);
		vm_flush_tlbs(vm);
		mutex_unlock(&vm->lock);
	}
	if (vm->apic_access_page)
		vm_update_apic_access(vm);
}

/* Guest-physical pages that are some vCPU's enabled xAPIC window. */
/* Whether some vCPU's xAPIC window lies in [gpa, gpa + size). */
bool vm_xapic_window_in(struct vapicvm_vm *vm, u64 gpa, u64 size)
{
	unsigned int i, n = READ_ONCE(vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		u64 base = READ_ONCE(vm->vcpus[i]->lapic->base_msr);

		if ((base & LAPIC_BASE_EN) && !(base & LAPIC_BASE_EXTD) &&
		    (base & LAPIC_BASE_ADDR_MASK) - (gpa & PAGE_MASK) < size)
			return true;
	}
	return false;
}

bool vm_gpa_is_xapic_window(struct vapicvm_vm *vm, u64 gpa)
{
	return vm_xapic_window_in(vm, gpa, PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* Exits                                                               */
/* ------------------------------------------------------------------ */

int apicv_handle_tpr_below_threshold(struct vapicvm_vcpu *vcpu)
{
	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_TPR_BELOW_THRESHOLD);
	/* The guest lowered its TPR: the next entry re-evaluates injection. */
	return 1;
}

/* Emulate one xAPIC register access by the instruction at RIP. */
static int emulate_apic_access(struct vapicvm_vcpu *vcpu, unsigned int off, bool write_hint,
			       bool check_hint)
{
	struct emul_insn insn;
	u32 val;

	stats_count_apic_access(vcpu, off);
	if (emulate_decode(vcpu, &insn) || (check_hint && insn.write != write_hint))
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
	/* A read-modify-write or string access of an APIC register is not emulated. */
	if (insn.kind == EMUL_STRING || (!insn.write && emulate_insn_writes(&insn)))
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_EMULATION);
	/* Registers are 32 bits at 16-byte strides: other accesses do nothing. */
	if (insn.write) {
		if (insn.size == 4 && !(off & 3))
			lapic_mmio_write(vcpu, off, emulate_store_value(vcpu, &insn));
		vcpu_advance_rip(vcpu, insn.len);
		return 1;
	}
	val = 0;
	if (!(off & 3) && insn.size <= 4)
		lapic_mmio_read(vcpu, off, &val);
	emulate_finish_load(vcpu, &insn, val);
	return 1;
}

int apicv_handle_apic_access(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);
	unsigned int type = APIC_ACCESS_QUAL_TYPE(qual);

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_APIC_ACCESS);
	vcpu->exit_qual = qual;
	/* Instruction fetches and accesses during event delivery: not emulated. */
	if (type != APIC_ACCESS_LINEAR_READ && type != APIC_ACCESS_LINEAR_WRITE)
		return emulate_failure(vcpu, VAPICVM_INTERNAL_ERROR_DELIVERY_EV);
	return emulate_apic_access(vcpu, APIC_ACCESS_QUAL_OFFSET(qual),
				   type == APIC_ACCESS_LINEAR_WRITE, true);
}

int apicv_handle_apic_write(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_APIC_WRITE);
	stats_count_apic_write(vcpu, qual & 0xff0);
	/* Trap-like: the value is in the page and RIP is past the write. */
	lapic_write_trap(vcpu, qual & 0xff0);
	return 1;
}

int apicv_handle_eoi_induced(struct vapicvm_vcpu *vcpu)
{
	unsigned long qual = vmcs_readl(EXIT_QUALIFICATION);

	vcpu_stat_inc(vcpu, VAPICVM_STAT_EXIT_EOI_INDUCED);
	lapic_eoi_induced(vcpu, qual & 0xff);
	return 1;
}

bool apicv_mmio_in_range(struct vapicvm_vcpu *vcpu, u64 gpa)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	u64 base = READ_ONCE(apic->base_msr);

	return (base & LAPIC_BASE_EN) && !(base & LAPIC_BASE_EXTD) && !apic->hw.apic_access_virt &&
	       (gpa & PAGE_MASK) == (base & LAPIC_BASE_ADDR_MASK);
}

int apicv_emulate_mmio(struct vapicvm_vcpu *vcpu, u64 gpa)
{
	return emulate_apic_access(vcpu, gpa & 0xfff, false, false);
}

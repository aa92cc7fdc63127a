// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU's events in flight (VAPICVM_GET/SET_VCPU_EVENTS), for save and
 * restore: the event an exit interrupted the delivery of (re-injected
 * first at the next entry), an exception vapicvm raised, NMIs received and
 * NMI blocking, the interrupt shadow, an ExtINT, INIT and SIPI received
 * but not acted on, a triple fault not yet reported.
 *
 * Nothing is taken or acted on by GET: the events the local APIC received
 * for the vCPU are reported as they wait, and SET puts them back there, so
 * a restored vCPU takes them at its next RUN as the saved one would have.
 * SET refuses a state VM entry would refuse (Vol. 3C 26.3.1.5), so that a
 * bad restore is EINVAL, not a failed entry later.
 */
#include <linux/uaccess.h>

#include "lapic.h"
#include "run.h"
#include "vcpu.h"
#include "vcpu_events.h"
#include "vcpu_vmcs.h"
#include "vmcs.h"

/*
 * An exception vapicvm can inject: not the NMI vector, not #CP (the vCPU
 * has no CET, and processors disagree on whether its injection carries a
 * code), with a code that VM entry takes (bits 31:15 clear: the SDM asks
 * for 31:16, some implementations for 31:15; no architectural code uses
 * bit 15 without SGX, which vCPUs do not have either).
 */
static bool exception_valid(u8 vector, u8 code, u32 error_code)
{
	if (vector >= 32 || vector == 2 || vector == 21 || code > 1)
		return false;
	if (code)
		return vcpu_exception_has_error_code(vector) && error_code <= 0x7fff;
	return !error_code;
}

long vcpu_ioctl_get_events(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	struct vapicvm_vcpu_events ev = {};
	u32 info = vcpu->idt_vectoring_info, intr;

	if (info & INTR_INFO_VALID) {
		ev.injected.valid = 1;
		ev.injected.type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
		ev.injected.vector = info & INTR_INFO_VECTOR_MASK;
		if (info & INTR_INFO_DELIVER_CODE) {
			ev.injected.has_error_code = 1;
			ev.injected.error_code = vcpu->idt_vectoring_error;
		}
		if (ev.injected.type >= VAPICVM_EVENT_SOFT_INTR)
			ev.injected.insn_len = vcpu->idt_vectoring_insn_len;
	}
	if (vcpu->exception_pending) {
		ev.exception.pending = 1;
		ev.exception.vector = vcpu->exception_vector;
		if (vcpu->exception_has_error) {
			ev.exception.has_error_code = 1;
			ev.exception.error_code = vcpu->exception_error;
		}
	}
	vapicvm_vcpu_load(vcpu);
	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	vapicvm_vcpu_put(vcpu);
	ev.nmi_masked = !!(intr & GUEST_INTR_STATE_NMI);
	ev.shadow = (intr & GUEST_INTR_STATE_STI ? VAPICVM_SHADOW_STI : 0) |
		    (intr & GUEST_INTR_STATE_MOV_SS ? VAPICVM_SHADOW_MOV_SS : 0);
	/* Received by the APIC and not taken yet count too: at most two wait. */
	ev.nmi_pending = min(vcpu->nmi_pending + atomic_read(&apic->nmi_queued), 2);
	spin_lock_irq(&apic->extint_lock);
	if (vcpu->extint_pending) {
		ev.extint_pending = 1;
		ev.extint_vector = vcpu->extint_vector;
	} else if (test_bit(LAPIC_EV_EXTINT, &apic->events)) {
		ev.extint_pending = 1;
		ev.extint_vector = apic->extint_vector;
	}
	spin_unlock_irq(&apic->extint_lock);
	ev.triple_fault = vcpu->triple_fault;
	ev.init_pending = test_bit(LAPIC_EV_INIT, &apic->events);
	if (test_bit(LAPIC_EV_SIPI, &apic->events)) {
		ev.sipi_pending = 1;
		ev.sipi_vector = READ_ONCE(apic->sipi_vector);
	}
	return copy_to_user(argp, &ev, sizeof(ev)) ? -EFAULT : 0;
}

static bool injected_valid(const struct vapicvm_vcpu_events *ev)
{
	u8 type = ev->injected.type, vector = ev->injected.vector;

	if (!ev->injected.valid)
		return !type && !vector && !ev->injected.has_error_code &&
		       !ev->injected.error_code && !ev->injected.insn_len;
	if (ev->injected.valid != 1 || ev->injected.has_error_code > 1)
		return false;
	switch (type) {
	case VAPICVM_EVENT_EXT_INTR:
	case VAPICVM_EVENT_SOFT_INTR:
		break;
	case VAPICVM_EVENT_NMI:
		if (vector != 2)
			return false;
		break;
	case VAPICVM_EVENT_HW_EXCEPTION:
		return exception_valid(vector, ev->injected.has_error_code,
				       ev->injected.error_code) && !ev->injected.insn_len;
	case VAPICVM_EVENT_PRIV_SW_EXCEPTION:
		if (vector != 1)
			return false;
		break;
	case VAPICVM_EVENT_SOFT_EXCEPTION:
		if (vector != 3 && vector != 4)
			return false;
		break;
	default:
		return false;
	}
	if (ev->injected.has_error_code || ev->injected.error_code)
		return false;	/* only hardware exceptions have codes */
	if (type >= VAPICVM_EVENT_SOFT_INTR)
		return ev->injected.insn_len >= 1 && ev->injected.insn_len <= 15;
	return !ev->injected.insn_len;
}

static bool events_valid(const struct vapicvm_vcpu_events *ev)
{
	const u8 *pad = ev->pad;
	int i;

	if (ev->flags || ev->injected.pad || ev->exception.pad || pad[0] || pad[1] || pad[2])
		return false;
	for (i = 0; i < ARRAY_SIZE(ev->reserved); i++)
		if (ev->reserved[i])
			return false;
	if (!injected_valid(ev))
		return false;
	if (ev->exception.pending) {
		if (ev->exception.pending != 1 ||
		    !exception_valid(ev->exception.vector, ev->exception.has_error_code,
				     ev->exception.error_code))
			return false;
	} else if (ev->exception.vector || ev->exception.has_error_code ||
		   ev->exception.error_code) {
		return false;
	}
	if (ev->nmi_pending > 2 || ev->nmi_masked > 1 || ev->triple_fault > 1 ||
	    ev->init_pending > 1 || ev->sipi_pending > 1 || ev->extint_pending > 1)
		return false;
	if ((ev->shadow & ~(VAPICVM_SHADOW_STI | VAPICVM_SHADOW_MOV_SS)) ||
	    ev->shadow == (VAPICVM_SHADOW_STI | VAPICVM_SHADOW_MOV_SS))
		return false;
	if ((!ev->extint_pending && ev->extint_vector) || (!ev->sipi_pending && ev->sipi_vector))
		return false;
	return true;
}

long vcpu_ioctl_set_events(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_lapic *apic = vcpu->lapic;
	struct vapicvm_vcpu_events ev;
	bool if_set;
	u32 intr;
	long r = 0;

	if (copy_from_user(&ev, argp, sizeof(ev)))
		return -EFAULT;
	if (!events_valid(&ev))
		return -EINVAL;

	vapicvm_vcpu_load(vcpu);
	if_set = vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF;
	/*
	 * What VM entry checks: an STI shadow needs IF; an external interrupt
	 * needs IF and no shadow; an NMI no MOV SS shadow and NMIs unblocked.
	 */
	if (((ev.shadow & VAPICVM_SHADOW_STI) && !if_set) ||
	    (ev.injected.valid && ev.injected.type == VAPICVM_EVENT_EXT_INTR &&
	     (!if_set || ev.shadow)) ||
	    (ev.injected.valid && ev.injected.type == VAPICVM_EVENT_NMI &&
	     ((ev.shadow & VAPICVM_SHADOW_MOV_SS) || ev.nmi_masked))) {
		r = -EINVAL;
		goto out;
	}
	vcpu->idt_vectoring_info = 0;
	if (ev.injected.valid) {
		u32 info = INTR_INFO_VALID | ev.injected.vector |
			   ((u32)ev.injected.type << INTR_INFO_TYPE_SHIFT);

		if (ev.injected.has_error_code)
			info |= INTR_INFO_DELIVER_CODE;
		vcpu->idt_vectoring_info = info;
		vcpu->idt_vectoring_error = ev.injected.error_code;
		vcpu->idt_vectoring_insn_len = ev.injected.insn_len;
	}
	vcpu->exception_pending = ev.exception.pending;
	vcpu->exception_vector = ev.exception.vector;
	vcpu->exception_has_error = ev.exception.has_error_code;
	vcpu->exception_error = ev.exception.error_code;
	vcpu->triple_fault = ev.triple_fault;

	intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
	       ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI);
	if (ev.shadow & VAPICVM_SHADOW_STI)
		intr |= GUEST_INTR_STATE_STI;
	if (ev.shadow & VAPICVM_SHADOW_MOV_SS)
		intr |= GUEST_INTR_STATE_MOV_SS;
	if (ev.nmi_masked)
		intr |= GUEST_INTR_STATE_NMI;
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);

	/* NMIs: all of them the vCPU's own count now, none left in the APIC. */
	clear_bit(LAPIC_EV_NMI, &apic->events);
	atomic_set(&apic->nmi_queued, 0);
	vcpu->nmi_pending = ev.nmi_pending;

	spin_lock_irq(&apic->extint_lock);
	clear_bit(LAPIC_EV_EXTINT, &apic->events);
	WRITE_ONCE(vcpu->extint_pending, ev.extint_pending);
	vcpu->extint_vector = ev.extint_vector;
	spin_unlock_irq(&apic->extint_lock);

	WRITE_ONCE(apic->sipi_vector, ev.sipi_vector);
	if (ev.sipi_pending)
		set_bit(LAPIC_EV_SIPI, &apic->events);
	else
		clear_bit(LAPIC_EV_SIPI, &apic->events);
	if (ev.init_pending)
		set_bit(LAPIC_EV_INIT, &apic->events);
	else
		clear_bit(LAPIC_EV_INIT, &apic->events);
out:
	vapicvm_vcpu_put(vcpu);
	return r;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vapicvm's trace events (tracefs: events/vapicvm/), in the shape of KVM's
 * kvm_entry, kvm_exit, kvm_apic, kvm_apic_ipi, kvm_apic_accept_irq,
 * kvm_inj_virq and kvm_eoi, so that perf trace and trace-cmd users find
 * what they know.  Arguments are read only when an event is enabled.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vapicvm

#if !defined(VAPICVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define VAPICVM_TRACE_H

#include <linux/tracepoint.h>

#include "vcpu.h"
#include "vmx_ops.h"

/* The basic exit reasons (Vol. 3D Appendix C) by name. */
#define VAPICVM_VMX_EXIT_REASONS					\
	{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" },		\
	{ 2, "TRIPLE_FAULT" }, { 3, "INIT_SIGNAL" }, { 4, "SIPI_SIGNAL" },	\
	{ 7, "INTERRUPT_WINDOW" }, { 8, "NMI_WINDOW" },			\
	{ 9, "TASK_SWITCH" }, { 10, "CPUID" }, { 12, "HLT" },		\
	{ 13, "INVD" }, { 14, "INVLPG" }, { 15, "RDPMC" },		\
	{ 16, "RDTSC" }, { 18, "VMCALL" }, { 28, "CR_ACCESS" },		\
	{ 29, "DR_ACCESS" }, { 30, "IO_INSTRUCTION" },			\
	{ 31, "MSR_READ" }, { 32, "MSR_WRITE" },			\
	{ 33, "INVALID_STATE" }, { 34, "MSR_LOAD_FAIL" },		\
	{ 36, "MWAIT_INSTRUCTION" }, { 37, "MONITOR_TRAP_FLAG" },	\
	{ 39, "MONITOR_INSTRUCTION" }, { 40, "PAUSE_INSTRUCTION" },	\
	{ 41, "MCE_DURING_VMENTRY" }, { 43, "TPR_BELOW_THRESHOLD" },	\
	{ 44, "APIC_ACCESS" }, { 45, "EOI_INDUCED" },			\
	{ 46, "GDTR_IDTR" }, { 47, "LDTR_TR" },				\
	{ 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" },		\
	{ 50, "INVEPT" }, { 51, "RDTSCP" },				\
	{ 52, "PREEMPTION_TIMER" }, { 53, "INVVPID" },			\
	{ 54, "WBINVD" }, { 55, "XSETBV" }, { 56, "APIC_WRITE" },	\
	{ 57, "RDRAND" }, { 58, "INVPCID" }, { 62, "PML_FULL" },	\
	{ 63, "XSAVES" }, { 64, "XRSTORS" }

TRACE_EVENT(vapicvm_entry,
	TP_PROTO(struct vapicvm_vcpu *vcpu),
	TP_ARGS(vcpu),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(unsigned long, rip)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu->id;
		__entry->rip = vmcs_readl(GUEST_RIP);
	),

	TP_printk("vcpu %u rip 0x%lx", __entry->vcpu_id, __entry->rip)
);

TRACE_EVENT(vapicvm_exit,
	TP_PROTO(struct vapicvm_vcpu *vcpu),
	TP_ARGS(vcpu),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, exit_reason)
		__field(unsigned long, rip)
		__field(unsigned long, qual)
		__field(u32, intr_info)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu->id;
		__entry->exit_reason = vcpu->exit_reason;
		__entry->rip = vmcs_readl(GUEST_RIP);
		__entry->qual = vmcs_readl(EXIT_QUALIFICATION);
		__entry->intr_info = vmcs_read32(VM_EXIT_INTR_INFO);
	),

	TP_printk("vcpu %u reason %s rip 0x%lx qual 0x%lx intr_info 0x%08x",
		  __entry->vcpu_id,
		  __print_symbolic(__entry->exit_reason & 0xffff, VAPICVM_VMX_EXIT_REASONS),
		  __entry->rip, __entry->qual, __entry->intr_info)
);

TRACE_EVENT(vapicvm_apic,
	TP_PROTO(u32 vcpu_id, bool write, u32 reg, u64 val),
	TP_ARGS(vcpu_id, write, reg, val),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(bool, write)
		__field(u32, reg)
		__field(u64, val)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->write = write;
		__entry->reg = reg;
		__entry->val = val;
	),

	TP_printk("vcpu %u apic_%s 0x%03x = 0x%llx", __entry->vcpu_id,
		  __entry->write ? "write" : "read", __entry->reg, __entry->val)
);

TRACE_EVENT(vapicvm_apic_ipi,
	TP_PROTO(u32 vcpu_id, u32 icr, u32 dest),
	TP_ARGS(vcpu_id, icr, dest),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, icr)
		__field(u32, dest)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->icr = icr;
		__entry->dest = dest;
	),

	TP_printk("vcpu %u icr 0x%08x dest 0x%x (vector %u, mode %u, %s, shorthand %u)",
		  __entry->vcpu_id, __entry->icr, __entry->dest, __entry->icr & 0xff,
		  (__entry->icr >> 8) & 7, __entry->icr & BIT(11) ? "logical" : "physical",
		  (__entry->icr >> 18) & 3)
);

TRACE_EVENT(vapicvm_apic_accept_irq,
	TP_PROTO(u32 vcpu_id, u32 dm, bool level, u8 vector, bool accepted),
	TP_ARGS(vcpu_id, dm, level, vector, accepted),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, dm)
		__field(bool, level)
		__field(u8, vector)
		__field(bool, accepted)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->dm = dm;
		__entry->level = level;
		__entry->vector = vector;
		__entry->accepted = accepted;
	),

	TP_printk("vcpu %u mode %u %s vector %u%s", __entry->vcpu_id, (__entry->dm >> 8) & 7,
		  __entry->level ? "level" : "edge", __entry->vector,
		  __entry->accepted ? "" : " (not accepted)")
);

TRACE_EVENT(vapicvm_inj_virq,
	TP_PROTO(u32 vcpu_id, u8 vector, bool extint),
	TP_ARGS(vcpu_id, vector, extint),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, vector)
		__field(bool, extint)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->vector = vector;
		__entry->extint = extint;
	),

	TP_printk("vcpu %u vector %u%s", __entry->vcpu_id, __entry->vector,
		  __entry->extint ? " (ExtINT)" : "")
);

TRACE_EVENT(vapicvm_eoi,
	TP_PROTO(u32 vcpu_id, int vector),
	TP_ARGS(vcpu_id, vector),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(int, vector)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->vector = vector;
	),

	TP_printk("vcpu %u vector %d", __entry->vcpu_id, __entry->vector)
);

TRACE_EVENT(vapicvm_timer_arm,
	TP_PROTO(u32 vcpu_id, u32 mode, u64 ns, bool preemption_timer),
	TP_ARGS(vcpu_id, mode, ns, preemption_timer),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, mode)
		__field(u64, ns)
		__field(bool, preemption_timer)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->mode = mode;
		__entry->ns = ns;
		__entry->preemption_timer = preemption_timer;
	),

	TP_printk("vcpu %u %s in %llu ns%s", __entry->vcpu_id,
		  __print_symbolic(__entry->mode, { 0, "one-shot" }, { 1, "periodic" },
				   { 2, "tsc-deadline" }),
		  __entry->ns, __entry->preemption_timer ? " (VMX-preemption timer)" : "")
);

TRACE_EVENT(vapicvm_timer_fire,
	TP_PROTO(u32 vcpu_id, bool preemption_timer),
	TP_ARGS(vcpu_id, preemption_timer),

	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(bool, preemption_timer)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->preemption_timer = preemption_timer;
	),

	TP_printk("vcpu %u%s", __entry->vcpu_id,
		  __entry->preemption_timer ? " (VMX-preemption timer)" : "")
);

TRACE_EVENT(vapicvm_apicv_tier,
	TP_PROTO(u64 vm_id, u32 requested, u32 supported, u32 chosen),
	TP_ARGS(vm_id, requested, supported, chosen),

	TP_STRUCT__entry(
		__field(u64, vm_id)
		__field(u32, requested)
		__field(u32, supported)
		__field(u32, chosen)
	),

	TP_fast_assign(
		__entry->vm_id = vm_id;
		__entry->requested = requested;
		__entry->supported = supported;
		__entry->chosen = chosen;
	),

	TP_printk("vm %llu requested 0x%x supported 0x%x chosen 0x%x", __entry->vm_id,
		  __entry->requested, __entry->supported, __entry->chosen)
);

TRACE_EVENT(vapicvm_apicv_active,
	TP_PROTO(u64 vm_id, u32 vcpu_id, u32 old, u32 new),
	TP_ARGS(vm_id, vcpu_id, old, new),

	TP_STRUCT__entry(
		__field(u64, vm_id)
		__field(u32, vcpu_id)
		__field(u32, old)
		__field(u32, new)
	),

	TP_fast_assign(
		__entry->vm_id = vm_id;
		__entry->vcpu_id = vcpu_id;
		__entry->old = old;
		__entry->new = new;
	),

	TP_printk("vm %llu vcpu %u active 0x%x -> 0x%x", __entry->vm_id, __entry->vcpu_id,
		  __entry->old, __entry->new)
);

#endif /* VAPICVM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

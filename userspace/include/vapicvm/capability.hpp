// SPDX-License-Identifier: GPL-2.0
#ifndef VAPICVM_CAPABILITY_HPP
#define VAPICVM_CAPABILITY_HPP

#include <cstdint>
#include <string_view>

#include <linux/vapicvm.h>

namespace vapicvm
{

/* VAPICVM_CAP_*, for check_extension(). */
enum class Capability : std::uint32_t {
	UserMemory = VAPICVM_CAP_USER_MEMORY,
	ReadonlyMem = VAPICVM_CAP_READONLY_MEM,
	NrMemslots = VAPICVM_CAP_NR_MEMSLOTS,
	MaxVcpus = VAPICVM_CAP_MAX_VCPUS,
	MaxVcpuId = VAPICVM_CAP_MAX_VCPU_ID,
	ImmediateExit = VAPICVM_CAP_IMMEDIATE_EXIT,
	Xsave = VAPICVM_CAP_XSAVE,
	Irqchip = VAPICVM_CAP_IRQCHIP,
	Apicv = VAPICVM_CAP_APICV,
	TscDeadline = VAPICVM_CAP_TSC_DEADLINE,
	X2apic = VAPICVM_CAP_X2APIC,
	SignalMsi = VAPICVM_CAP_SIGNAL_MSI,
	Ept = VAPICVM_CAP_EPT,
	Vpid = VAPICVM_CAP_VPID,
	UnrestrictedGuest = VAPICVM_CAP_UNRESTRICTED_GUEST,
	Stats = VAPICVM_CAP_STATS,
	TscKhz = VAPICVM_CAP_TSC_KHZ,
	VmStats = VAPICVM_CAP_VM_STATS,
	PreemptionTimer = VAPICVM_CAP_PREEMPTION_TIMER,
	MemPrefault = VAPICVM_CAP_MEM_PREFAULT,
	IoapicEoi = VAPICVM_CAP_IOAPIC_EOI,
	Ioeventfd = VAPICVM_CAP_IOEVENTFD,
	MsrIndexList = VAPICVM_CAP_MSR_INDEX_LIST,
	Debugregs = VAPICVM_CAP_DEBUGREGS,
	Xcrs = VAPICVM_CAP_XCRS,
	GetCpuid = VAPICVM_CAP_GET_CPUID,
	GsiRouting = VAPICVM_CAP_GSI_ROUTING,
	Irqfd = VAPICVM_CAP_IRQFD,
	DirtyLog = VAPICVM_CAP_DIRTY_LOG,
	UserMsr = VAPICVM_CAP_USER_MSR,
	MsrFilter = VAPICVM_CAP_MSR_FILTER,
	ExitHypercall = VAPICVM_CAP_EXIT_HYPERCALL,
	VcpuEvents = VAPICVM_CAP_VCPU_EVENTS,
	SetGuestDebug = VAPICVM_CAP_SET_GUEST_DEBUG,
	TscControl = VAPICVM_CAP_TSC_CONTROL,
	Translate = VAPICVM_CAP_TRANSLATE,
	Genl = VAPICVM_CAP_GENL,
};

std::string_view capability_name(Capability c) noexcept;

} // namespace vapicvm

#endif

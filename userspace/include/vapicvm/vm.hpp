// SPDX-License-Identifier: GPL-2.0
/* A VM: its fd, its memory slots and its vCPUs' factory. */
#ifndef VAPICVM_VM_HPP
#define VAPICVM_VM_HPP

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/apicv.hpp"
#include "vapicvm/capability.hpp"
#include "vapicvm/fd.hpp"
#include "vapicvm/memory.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/vcpu.hpp"

namespace vapicvm
{

/* An MSI as a device would write it (SDM Vol. 3A 11.11). */
struct Msi {
	std::uint32_t address_lo = 0;
	std::uint32_t address_hi = 0;
	std::uint32_t data = 0;

	/* Fixed delivery, edge, physical destination apic_id. */
	static constexpr Msi fixed(std::uint8_t apic_id, std::uint8_t vector) noexcept
	{
		return {0xfee00000u | (std::uint32_t(apic_id) << 12), 0, vector};
	}
	/* Fixed delivery, level-triggered (data bit 15) and asserted (bit 14). */
	static constexpr Msi fixed_level(std::uint8_t apic_id, std::uint8_t vector) noexcept
	{
		return {0xfee00000u | (std::uint32_t(apic_id) << 12), 0,
			vector | (1u << 15) | (1u << 14)};
	}
	/* An NMI to apic_id. */
	static constexpr Msi nmi(std::uint8_t apic_id) noexcept
	{
		return {0xfee00000u | (std::uint32_t(apic_id) << 12), 0, 4u << 8};
	}
};

/*
 * A guest write that signals an eventfd instead of exiting
 * (VAPICVM_IOEVENTFD): len bytes at a port or an unbacked guest-physical
 * address, of any value or only of datamatch.
 */
struct IoEventFd {
	enum class Space : std::uint8_t { Port, Mmio };

	Space space = Space::Port;
	std::uint64_t addr = 0;
	std::uint32_t len = 0;                  /* 1, 2, 4 (8 for MMIO) */
	std::optional<std::uint64_t> datamatch; /* none: any value */
	int fd = -1;                            /* an eventfd; the VM keeps its own reference */
};

/*
 * One range of an MSR filter (VAPICVM_SET_MSR_FILTER): for the accesses of
 * kinds (VAPICVM_MSR_FILTER_READ, _WRITE), MSR base + i is allowed when bit
 * i of allowed is set (bit i % 8 of byte i / 8).
 */
struct MsrFilterRange {
	std::uint32_t kinds = 0;
	std::uint32_t base = 0;
	std::uint32_t nmsrs = 0;
	std::vector<std::uint8_t> allowed; /* (nmsrs + 7) / 8 bytes */

	/* One MSR, allowed or denied for kinds. */
	static MsrFilterRange single(std::uint32_t kinds, std::uint32_t msr, bool allow)
	{
		return {kinds, msr, 1, {std::uint8_t(allow ? 1 : 0)}};
	}
};

/* The whole filter: the first matching range decides; else the default. */
struct MsrFilter {
	bool default_deny = false;
	std::vector<MsrFilterRange> ranges; /* at most VAPICVM_MSR_FILTER_MAX_RANGES */
};

struct ApicvInfo {
	ApicvFlags supported;
	ApicvFlags enabled;
	std::uint32_t posted_intr_vector = 0;
	std::uint64_t apic_access_gpa = 0;
};

/* Per-VM counters and levels, indexed by enum vapicvm_vm_stat. */
struct VmStats {
	std::vector<std::uint64_t> counters;

	std::uint64_t operator[](vapicvm_vm_stat s) const noexcept
	{
		return std::size_t(s) < counters.size() ? counters[s] : 0;
	}
	/* From the UAPI table: "ept_tables", ...; "" past VAPICVM_VM_STAT_NR. */
	static std::string_view name(std::size_t index) noexcept;
	static std::string_view description(std::size_t index) noexcept;
};

class Vm
{
public:
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;
	Vm(Vm &&) noexcept = default;
	Vm &operator=(Vm &&) noexcept = default;
	~Vm() = default;

	int fd() const noexcept { return fd_.get(); }

	/* VAPICVM_CHECK_EXTENSION on the VM: the value for this VM (e.g. its APICV mask). */
	Result<int> check_extension(Capability cap) const;
	/* The APIC-virtualization features this VM uses (VAPICVM_GET_APICV). */
	Result<ApicvInfo> apicv_info() const;

	/*
	 * Register mem as memory slot `slot` at gpa and keep it for the VM's
	 * lifetime.  flags: VAPICVM_MEM_READONLY, VAPICVM_MEM_PREFAULT.  EEXIST when the slot or
	 * part of the range is already in use.
	 */
	Result<void> add_memory(std::uint32_t slot, std::uint64_t gpa, MemoryRegion mem,
				std::uint32_t flags = 0);
	/* The slots add_memory() registered, in that order. */
	std::span<const MemorySlot> memory_slots() const noexcept { return slots_; }
	/*
	 * Delete a slot add_memory() registered (ENOENT for another) and hand
	 * its region back, still mapped: when this returns, no vCPU reaches
	 * the memory any more (the slot's guest-physical range is MMIO), and
	 * the caller unmaps it by dropping the region, or adds it again.
	 * Other slots' memory does not move: pointers into it stay valid.
	 */
	Result<MemoryRegion> remove_memory(std::uint32_t slot);
	/*
	 * Move a slot add_memory() registered to gpa, keeping its memory, its
	 * contents and its flags: one VAPICVM_SET_USER_MEMORY_REGION, during
	 * which a running vCPU finds the memory at its old place or at its new
	 * one, never at neither; once it returns, the old range (where the new
	 * one does not cover it) is MMIO.  ENOENT for another slot, EEXIST when the new
	 * range overlaps another slot (it may overlap the slot's old range),
	 * EINVAL when it wraps.
	 */
	Result<void> move_memory(std::uint32_t slot, std::uint64_t gpa);
	/*
	 * Change the flags of a slot add_memory() registered (e.g. turn
	 * VAPICVM_MEM_LOG_DIRTY_PAGES on or off).  ENOENT for another slot.
	 */
	Result<void> set_memory_flags(std::uint32_t slot, std::uint32_t flags);
	/*
	 * VAPICVM_GET_DIRTY_LOG for a slot add_memory() registered: a bit per
	 * page written since the last call (bit i % 64 of word i / 64), and
	 * the log cleared.  ENOENT if the slot does not log.
	 */
	Result<std::vector<std::uint64_t>> dirty_log(std::uint32_t slot);
	/* The raw ioctl (memory the caller owns and keeps mapped). */
	Result<void> set_user_memory_region(const vapicvm_userspace_memory_region &r);

	/* A vCPU whose initial local APIC ID is id.  vCPU 0 starts runnable, others wait for SIPI.
	 */
	Result<Vcpu> create_vcpu(std::uint32_t id);

	/*
	 * Deliver an MSI to the in-kernel local APICs: how many accepted it
	 * (0: no APIC matched, or each was disabled).
	 */
	Result<std::uint32_t> signal_msi(const Msi &msi);

	/*
	 * A split irqchip (VAPICVM_CAP_IOAPIC_EOI): with on, the EOI of each
	 * level-triggered interrupt ends RUN with an IoapicEoiExit.
	 */
	Result<void> set_ioapic_eoi_exits(bool on);

	/*
	 * Register or remove an ioeventfd.  EEXIST when the same write would
	 * match another registration, ENOENT when removing one that is not
	 * there; once remove_ioeventfd() returns, nothing signals it.
	 */
	Result<void> add_ioeventfd(const IoEventFd &e);
	Result<void> remove_ioeventfd(const IoEventFd &e);

	/*
	 * What a signal on GSI gsi delivers (VAPICVM_SET_GSI_ROUTE): msi, or
	 * nothing.  A VMM's I/O APIC keeps each pin's route in step with its
	 * redirection entry (IoApic's route callback).
	 */
	Result<void> set_gsi_route(std::uint32_t gsi, std::optional<Msi> msi);

	/*
	 * Pair an eventfd with a GSI (VAPICVM_IRQFD): each write to eventfd
	 * delivers the GSI's route from the kernel, no ioctl needed.  EBUSY when
	 * the eventfd is paired already, ENOENT when removing a pairing that is
	 * not there; once remove_irqfd() returns, nothing delivers from it.
	 */
	Result<void> add_irqfd(int eventfd, std::uint32_t gsi);
	Result<void> remove_irqfd(int eventfd, std::uint32_t gsi);

	/*
	 * Guest RDMSR/WRMSR the VMM takes (MsrRead, MsrWrite exits) instead of
	 * a #GP: reasons is VAPICVM_MSR_EXIT_UNKNOWN and/or _FILTER, 0 for none.
	 */
	Result<void> set_user_msr_exits(std::uint32_t reasons);
	/*
	 * Replace the MSR filter; an empty one without default_deny removes it.
	 * EINVAL for more than VAPICVM_MSR_FILTER_MAX_RANGES ranges or a bitmap
	 * shorter than its nmsrs.
	 */
	Result<void> set_msr_filter(const MsrFilter &filter);
	/* VMCALL at CPL 0 exits to the VMM (HypercallExit) when on. */
	Result<void> set_hypercall_exits(bool on);

	/* The VM's counters (VAPICVM_GET_VM_STATS). */
	Result<VmStats> stats() const;
	/*
	 * The id the generic netlink family (vapicvm::Stats::vm()) and the
	 * tracepoints know this VM by (VAPICVM_GET_VM_ID).
	 */
	Result<std::uint64_t> id() const;

private:
	friend class System;
	Vm(UniqueFd fd, std::size_t run_size) noexcept : fd_(std::move(fd)), run_size_(run_size) {}

	/* Declared first: destroyed last, after the VM fd is closed. */
	std::vector<MemorySlot> slots_;
	UniqueFd fd_;
	std::size_t run_size_ = 0;
};

} // namespace vapicvm

#endif

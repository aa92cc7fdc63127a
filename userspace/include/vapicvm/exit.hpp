// SPDX-License-Identifier: GPL-2.0
/*
 * Typed views of a vCPU exit: decode_exit() turns the run page that
 * VAPICVM_RUN filled into one alternative of VcpuExit.  The alternatives
 * that point into the run page (I/O, MMIO, internal error, system event,
 * MSR, hypercall)
 * are valid until the next RUN of that vCPU, and say so in their type:
 * they are move-only (RunPageView), so a copy kept past the next run()
 * does not compile by accident.  The others are plain values.
 */
#ifndef VAPICVM_EXIT_HPP
#define VAPICVM_EXIT_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <variant>

#include <linux/vapicvm.h>

#include "vapicvm/result.hpp"

namespace vapicvm
{

/*
 * The mark of an exit that points into the run page: a member that makes
 * its holder move-only, so that keeping a copy of the exit past the next
 * run() (when the kernel rewrites the page) does not compile by accident.
 * Moving it is allowed, and is the caller's promise.
 */
struct RunPageView {
	RunPageView() = default;
	RunPageView(const RunPageView &) = delete;
	RunPageView &operator=(const RunPageView &) = delete;
	RunPageView(RunPageView &&) = default;
	RunPageView &operator=(RunPageView &&) = default;
};

/*
 * Port I/O: count accesses (more than one for INS/OUTS with REP) of size
 * bytes each, at data in the run page.  IN and OUT are separate types so
 * that only an IN can be given data.
 */
struct IoAccess {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_IO;

	std::uint16_t port = 0;
	std::uint8_t size = 0; /* 1, 2 or 4 */
	std::uint32_t count = 0;
};

/* OUT, OUTS: what the guest wrote. */
struct IoOut : IoAccess {
	std::span<const std::uint8_t> data; /* size * count bytes */
	[[no_unique_address]] RunPageView view_ = {};

	/* Access i's value, zero-extended (0 past count). */
	std::uint32_t value(std::uint32_t i = 0) const noexcept
	{
		std::uint32_t v = 0;
		if (i < count && size <= 4)
			std::memcpy(&v, data.data() + std::size_t(i) * size, size);
		return v;
	}
};

/* IN, INS: the VMM supplies the data; the next run() completes the instruction. */
struct IoIn : IoAccess {
	std::span<std::uint8_t> data; /* size * count bytes, for the VMM to fill */
	[[no_unique_address]] RunPageView view_ = {};

	/* Access i reads v (little-endian, truncated to size); ignored past count. */
	void complete(std::uint32_t v, std::uint32_t i = 0) const noexcept
	{
		if (i < count && size <= 4)
			std::memcpy(data.data() + std::size_t(i) * size, &v, size);
	}
};

/*
 * A guest access to an address no memory slot backs (other than the
 * APIC), split like port I/O: only a read can be completed.
 */
struct MmioWrite {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_MMIO;

	std::uint64_t gpa = 0;
	std::span<const std::uint8_t> data; /* 1..8 bytes, what the guest wrote */
	[[no_unique_address]] RunPageView view_ = {};

	std::uint32_t len() const noexcept { return static_cast<std::uint32_t>(data.size()); }
	std::uint64_t value() const noexcept
	{
		std::uint64_t v = 0;
		std::memcpy(&v, data.data(), data.size() <= 8 ? data.size() : 8);
		return v;
	}
};

struct MmioRead {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_MMIO;

	std::uint64_t gpa = 0;
	std::span<std::uint8_t> data; /* 1..8 bytes, for the VMM to fill */
	[[no_unique_address]] RunPageView view_ = {};

	std::uint32_t len() const noexcept { return static_cast<std::uint32_t>(data.size()); }
	/* The value the guest reads (little-endian, truncated to len()). */
	void complete(std::uint64_t v) const noexcept
	{
		std::memcpy(data.data(), &v, data.size() <= 8 ? data.size() : 8);
	}
};

/* HLT with interrupts disabled: the vCPU waits for NMI/INIT/SIPI. */
struct HaltExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_HLT;
};
/* A triple fault. */
struct ShutdownExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_SHUTDOWN;
};
struct FailEntryExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_FAIL_ENTRY;

	std::uint64_t hardware_entry_failure_reason = 0; /* the VM-exit reason, bit 31 set */
	std::uint64_t exit_qualification = 0;
	std::uint32_t cpu = 0;
};
struct InternalErrorExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_INTERNAL_ERROR;

	std::uint32_t suberror = 0; /* VAPICVM_INTERNAL_ERROR_* */
	std::span<const std::uint64_t> data;
	[[no_unique_address]] RunPageView view_ = {};
	std::string_view suberror_name() const noexcept;
};
struct SystemEventExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_SYSTEM_EVENT;

	std::uint32_t type = 0; /* VAPICVM_SYSTEM_EVENT_* */
	std::span<const std::uint64_t> data;
	[[no_unique_address]] RunPageView view_ = {};
	bool is_reset() const noexcept { return type == VAPICVM_SYSTEM_EVENT_RESET; }
};
/*
 * The guest ended a level-triggered interrupt (VAPICVM_CAP_IOAPIC_EOI on):
 * the VMM's I/O APIC takes the EOI for vector.
 */
struct IoapicEoiExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_IOAPIC_EOI;

	std::uint8_t vector = 0;
};
/*
 * An RDMSR the VMM takes (VAPICVM_CAP_USER_MSR), for reason (a
 * VAPICVM_MSR_EXIT_* bit): complete() with the value or fault() for a #GP;
 * the next run() finishes the instruction.
 */
struct MsrRead {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_X86_RDMSR;

	std::uint32_t index = 0;
	std::uint32_t reason = 0;
	vapicvm_exit_msr *msr_ = nullptr;
	[[no_unique_address]] RunPageView view_ = {};

	void complete(std::uint64_t value) const noexcept
	{
		msr_->error = 0;
		msr_->data = value;
	}
	void fault() const noexcept { msr_->error = 1; }
};
/* A WRMSR the VMM takes: done unless fault() makes it a #GP. */
struct MsrWrite {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_X86_WRMSR;

	std::uint32_t index = 0;
	std::uint32_t reason = 0;
	std::uint64_t data = 0;
	vapicvm_exit_msr *msr_ = nullptr;
	[[no_unique_address]] RunPageView view_ = {};

	void fault() const noexcept { msr_->error = 1; }
};
/*
 * A VMCALL at CPL 0 (VAPICVM_CAP_EXIT_HYPERCALL): nr and args from RAX,
 * RBX, RCX, RDX, RSI; complete() sets what RAX gets (0 unless it is called).
 */
struct HypercallExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_HYPERCALL;

	std::uint64_t nr = 0;
	std::array<std::uint64_t, 4> args{};
	bool longmode = false;
	vapicvm_exit_hypercall *hc_ = nullptr;
	[[no_unique_address]] RunPageView view_ = {};

	void complete(std::uint64_t ret) const noexcept { hc_->ret = ret; }
};
/*
 * A #DB or #BP the VMM asked for with Vcpu::set_guest_debug(): a single
 * step, a hardware breakpoint or watchpoint (dr6 says which), or an INT3
 * (after which RIP, pc, is still the INT3's address).  The next run() goes
 * on at the guest's RIP.
 */
struct DebugExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_DEBUG;

	std::uint32_t exception = 0; /* 1 (#DB) or 3 (#BP) */
	std::uint64_t pc = 0;
	std::uint64_t dr6 = 0;
	std::uint64_t dr7 = 0;

	bool is_breakpoint() const noexcept { return exception == 3; }
	/* A #DB from a single step (DR6.BS). */
	bool is_single_step() const noexcept { return exception == 1 && (dr6 & (1u << 14)); }
	/* The DR0-DR3 breakpoints that hit (DR6 bits 3:0), as a mask. */
	std::uint32_t hw_hits() const noexcept
	{
		return exception == 1 ? static_cast<std::uint32_t>(dr6 & 0xf) : 0;
	}
};
/* RUN returned EINTR: a signal arrived, or immediate_exit was set. */
struct InterruptedExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_INTR;
};
/* An exit reason this library does not know. */
struct UnknownExit {
	static constexpr std::uint32_t exit_reason = VAPICVM_EXIT_UNKNOWN;

	std::uint32_t reason = 0; /* what the run page said */
};

/* Each alternative's exit_reason is the VAPICVM_EXIT_* it decodes. */
using VcpuExit =
	std::variant<IoIn, IoOut, MmioRead, MmioWrite, HaltExit, ShutdownExit, FailEntryExit,
		     InternalErrorExit, SystemEventExit, IoapicEoiExit, MsrRead, MsrWrite,
		     HypercallExit, DebugExit, InterruptedExit, UnknownExit>;

/*
 * Decode a run page of map_size bytes (the vCPU mmap size) after a RUN
 * returned 0.  A page the kernel could not have written (I/O data outside
 * the mapping, impossible sizes) is EPROTO.
 */
Result<VcpuExit> decode_exit(vapicvm_run *run, std::size_t map_size);

/* "io", "mmio", ...: the UAPI table's name of a VAPICVM_EXIT_* value; "?" if none. */
std::string_view exit_reason_name(std::uint32_t reason) noexcept;
/* The name of the exit reason of the alternative an exit holds. */
std::string_view exit_name(const VcpuExit &e) noexcept;
/* The same for one alternative, without copying it into a VcpuExit. */
template <typename Exit>
requires requires
{
	Exit::exit_reason;
}
std::string_view exit_name(const Exit &) noexcept
{
	return exit_reason_name(Exit::exit_reason);
}

/* std::visit helper: overloaded{[](const IoIn &){...}, [](const auto &){...}}. */
template <typename... Fs>
struct overloaded : Fs... {
	using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace vapicvm

#endif

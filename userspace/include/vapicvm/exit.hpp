// SPDX-License-Identifier: GPL-2.0
/*
 * Typed views of a vCPU exit: decode_exit() turns the run page that
 * VAPICVM_RUN filled into one alternative of VcpuExit.  The views point into
 * the run page: they are valid until the next RUN of that vCPU.
 */
#ifndef VAPICVM_EXIT_HPP
#define VAPICVM_EXIT_HPP

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

/* Port I/O: count accesses of size bytes each; data is in the run page. */
struct IoExit {
	enum class Direction : std::uint8_t { In = VAPICVM_EXIT_IO_IN, Out = VAPICVM_EXIT_IO_OUT };

	std::uint16_t port = 0;
	std::uint8_t size = 0; /* 1, 2 or 4 */
	std::uint32_t count = 0;
	Direction direction = Direction::Out;
	std::span<std::uint8_t> data; /* size * count bytes */

	bool is_in() const noexcept { return direction == Direction::In; }
	bool is_out() const noexcept { return direction == Direction::Out; }
	/* The first access's value (OUT), zero-extended. */
	std::uint32_t value() const noexcept
	{
		std::uint32_t v = 0;
		std::memcpy(&v, data.data(), size <= 4 ? size : 4);
		return v;
	}
	/* IN: the value of access i (little-endian, truncated to size). */
	void set_in(std::uint32_t v, std::uint32_t i = 0) const noexcept
	{
		if (i < count)
			std::memcpy(data.data() + std::size_t(i) * size, &v, size <= 4 ? size : 4);
	}
};

/* A guest access to an address no memory slot backs (other than the APIC). */
struct MmioExit {
	std::uint64_t gpa = 0;
	std::uint32_t len = 0; /* 1..8 */
	bool is_write = false;
	std::span<std::uint8_t> data; /* len bytes */

	std::uint64_t value() const noexcept
	{
		std::uint64_t v = 0;
		std::memcpy(&v, data.data(), len <= 8 ? len : 8);
		return v;
	}
	/* A read: the value the guest gets. */
	void set_read(std::uint64_t v) const noexcept
	{
		std::memcpy(data.data(), &v, len <= 8 ? len : 8);
	}
};

/* HLT with interrupts disabled: the vCPU waits for NMI/INIT/SIPI. */
struct HaltExit {
};
/* A triple fault. */
struct ShutdownExit {
};
struct FailEntryExit {
	std::uint64_t hardware_entry_failure_reason = 0; /* the VM-exit reason, bit 31 set */
	std::uint64_t exit_qualification = 0;
	std::uint32_t cpu = 0;
};
struct InternalErrorExit {
	std::uint32_t suberror = 0; /* VAPICVM_INTERNAL_ERROR_* */
	std::span<const std::uint64_t> data;
	std::string_view suberror_name() const noexcept;
};
struct SystemEventExit {
	std::uint32_t type = 0; /* VAPICVM_SYSTEM_EVENT_* */
	std::span<const std::uint64_t> data;
	bool is_reset() const noexcept { return type == VAPICVM_SYSTEM_EVENT_RESET; }
};
/* RUN returned EINTR: a signal arrived, or immediate_exit was set. */
struct InterruptedExit {
};
/* An exit reason this library does not know. */
struct UnknownExit {
	std::uint32_t reason = 0;
};

using VcpuExit = std::variant<IoExit, MmioExit, HaltExit, ShutdownExit, FailEntryExit,
			      InternalErrorExit, SystemEventExit, InterruptedExit, UnknownExit>;

/*
 * Decode a run page of map_size bytes (the vCPU mmap size) after a RUN
 * returned 0.  A page the kernel could not have written (I/O data outside
 * the mapping, impossible sizes) is EPROTO.
 */
Result<VcpuExit> decode_exit(vapicvm_run *run, std::size_t map_size);

/* "IO", "MMIO", ...: the name of a VAPICVM_EXIT_* value. */
std::string_view exit_reason_name(std::uint32_t reason) noexcept;
/* The name of the alternative an exit holds. */
std::string_view exit_name(const VcpuExit &e) noexcept;

/* std::visit helper: overloaded{[](IoExit &){...}, [](auto &){...}}. */
template <typename... Fs>
struct overloaded : Fs... {
	using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace vapicvm

#endif

// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <array>

#include "vapicvm/exit.hpp"

namespace vapicvm
{

std::string_view exit_reason_name(std::uint32_t reason) noexcept
{
	static constexpr std::array<std::string_view, 9> n = {
		"UNKNOWN",        "IO",           "MMIO", "HLT", "SHUTDOWN", "FAIL_ENTRY",
		"INTERNAL_ERROR", "SYSTEM_EVENT", "INTR",
	};
	return reason < n.size() ? n[reason] : "?";
}

std::string_view exit_name(const VcpuExit &e) noexcept
{
	return std::visit(
		overloaded{
			[](const IoExit &) { return std::string_view("io"); },
			[](const MmioExit &) { return std::string_view("mmio"); },
			[](const HaltExit &) { return std::string_view("halt"); },
			[](const ShutdownExit &) { return std::string_view("shutdown"); },
			[](const FailEntryExit &) { return std::string_view("fail-entry"); },
			[](const InternalErrorExit &) {
				return std::string_view("internal-error");
			},
			[](const SystemEventExit &) { return std::string_view("system-event"); },
			[](const InterruptedExit &) { return std::string_view("interrupted"); },
			[](const UnknownExit &) { return std::string_view("unknown"); },
		},
		e);
}

std::string_view InternalErrorExit::suberror_name() const noexcept
{
	switch (suberror) {
	case VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT:
		return "unhandled exit";
	case VAPICVM_INTERNAL_ERROR_EMULATION:
		return "emulation failure";
	case VAPICVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit during event delivery";
	case VAPICVM_INTERNAL_ERROR_VMX:
		return "VMX instruction error";
	default:
		return "unknown suberror";
	}
}

Result<VcpuExit> decode_exit(vapicvm_run *run, std::size_t map_size)
{
	auto bad = [](const char *what) {
		return Error::from_errno(EPROTO, "decode run page", what);
	};
	if (!run || map_size < sizeof(vapicvm_run))
		return bad("run page smaller than struct vapicvm_run");

	auto *base = reinterpret_cast<std::uint8_t *>(run);
	switch (run->exit_reason) {
	case VAPICVM_EXIT_IO: {
		const auto &io = run->io;
		if (io.size != 1 && io.size != 2 && io.size != 4)
			return bad("I/O access size not 1, 2 or 4");
		if (io.direction != VAPICVM_EXIT_IO_IN && io.direction != VAPICVM_EXIT_IO_OUT)
			return bad("I/O direction");
		if (io.count == 0)
			return bad("I/O count 0");
		std::uint64_t len = std::uint64_t(io.size) * io.count;
		if (io.data_offset < sizeof(vapicvm_run) || io.data_offset > map_size ||
		    len > map_size - io.data_offset)
			return bad("I/O data outside the run page");
		IoExit e;
		e.port = io.port;
		e.size = io.size;
		e.count = io.count;
		e.direction = static_cast<IoExit::Direction>(io.direction);
		e.data = std::span<std::uint8_t>(base + io.data_offset, std::size_t(len));
		return VcpuExit(e);
	}
	case VAPICVM_EXIT_MMIO: {
		const auto &m = run->mmio;
		if (m.len == 0 || m.len > sizeof(m.data))
			return bad("MMIO length not 1..8");
		MmioExit e;
		e.gpa = m.phys_addr;
		e.len = m.len;
		e.is_write = m.is_write != 0;
		e.data = std::span<std::uint8_t>(run->mmio.data, m.len);
		return VcpuExit(e);
	}
	case VAPICVM_EXIT_HLT:
		return VcpuExit(HaltExit{});
	case VAPICVM_EXIT_SHUTDOWN:
		return VcpuExit(ShutdownExit{});
	case VAPICVM_EXIT_FAIL_ENTRY:
		return VcpuExit(FailEntryExit{run->fail_entry.hardware_entry_failure_reason,
					      run->fail_entry.exit_qualification,
					      run->fail_entry.cpu});
	case VAPICVM_EXIT_INTERNAL_ERROR: {
		InternalErrorExit e;
		e.suberror = run->internal.suberror;
		std::size_t n = std::min<std::size_t>(run->internal.ndata, 16);
		e.data = std::span<const std::uint64_t>(
			reinterpret_cast<const std::uint64_t *>(run->internal.data), n);
		return VcpuExit(e);
	}
	case VAPICVM_EXIT_SYSTEM_EVENT: {
		SystemEventExit e;
		e.type = run->system_event.type;
		std::size_t n = std::min<std::size_t>(run->system_event.ndata, 16);
		e.data = std::span<const std::uint64_t>(
			reinterpret_cast<const std::uint64_t *>(run->system_event.data), n);
		return VcpuExit(e);
	}
	case VAPICVM_EXIT_INTR:
		return VcpuExit(InterruptedExit{});
	default:
		return VcpuExit(UnknownExit{run->exit_reason});
	}
}

} // namespace vapicvm

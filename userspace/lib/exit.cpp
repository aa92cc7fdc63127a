// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <type_traits>

#include "vapicvm/exit.hpp"

namespace vapicvm
{

namespace
{
/* Whether some alternative of the variant decodes exit reason r. */
template <typename V>
struct decodes;
template <typename... Alt>
struct decodes<std::variant<Alt...>> {
	static constexpr bool reason(std::uint32_t r) { return ((Alt::exit_reason == r) || ...); }
};
#define VAPICVM_LIB_EXIT_COVERED(id, value, name)                                                  \
	static_assert(decodes<VcpuExit>::reason(VAPICVM_EXIT_##id),                                \
		      "VcpuExit has no alternative for VAPICVM_EXIT_" #id);
VAPICVM_EXIT_REASONS(VAPICVM_LIB_EXIT_COVERED)
#undef VAPICVM_LIB_EXIT_COVERED

/* The first ndata words of an exit's data array (all of it if ndata is larger). */
template <std::size_t N>
std::span<const std::uint64_t> data_words(const __u64 (&data)[N], std::uint32_t ndata)
{
	static_assert(sizeof(__u64) == sizeof(std::uint64_t));
	return {reinterpret_cast<const std::uint64_t *>(data), std::min<std::size_t>(ndata, N)};
}
} // namespace

std::string_view exit_reason_name(std::uint32_t reason) noexcept
{
	switch (reason) {
#define VAPICVM_LIB_EXIT_NAME(id, value, name)                                                     \
	case VAPICVM_EXIT_##id:                                                                    \
		return name;
		VAPICVM_EXIT_REASONS(VAPICVM_LIB_EXIT_NAME)
#undef VAPICVM_LIB_EXIT_NAME
	}
	return "?";
}

std::string_view exit_name(const VcpuExit &e) noexcept
{
	return std::visit(
		[](const auto &x) {
			return exit_reason_name(std::decay_t<decltype(x)>::exit_reason);
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
		auto data = std::span<std::uint8_t>(base + io.data_offset, std::size_t(len));
		if (io.direction == VAPICVM_EXIT_IO_IN)
			return VcpuExit(IoIn{{io.port, io.size, io.count}, data});
		return VcpuExit(IoOut{{io.port, io.size, io.count}, data});
	}
	case VAPICVM_EXIT_MMIO: {
		auto &m = run->mmio;
		if (m.len == 0 || m.len > sizeof(m.data))
			return bad("MMIO length not 1..8");
		auto data = std::span<std::uint8_t>(m.data, m.len);
		if (m.is_write)
			return VcpuExit(MmioWrite{m.phys_addr, data});
		return VcpuExit(MmioRead{m.phys_addr, data});
	}
	case VAPICVM_EXIT_HLT:
		return VcpuExit(HaltExit{});
	case VAPICVM_EXIT_SHUTDOWN:
		return VcpuExit(ShutdownExit{});
	case VAPICVM_EXIT_FAIL_ENTRY:
		return VcpuExit(FailEntryExit{run->fail_entry.hardware_entry_failure_reason,
					      run->fail_entry.exit_qualification,
					      run->fail_entry.cpu});
	case VAPICVM_EXIT_INTERNAL_ERROR:
		return VcpuExit(
			InternalErrorExit{run->internal.suberror,
					  data_words(run->internal.data, run->internal.ndata)});
	case VAPICVM_EXIT_SYSTEM_EVENT:
		return VcpuExit(SystemEventExit{
			run->system_event.type,
			data_words(run->system_event.data, run->system_event.ndata)});
	case VAPICVM_EXIT_IOAPIC_EOI:
		return VcpuExit(IoapicEoiExit{run->eoi.vector});
	case VAPICVM_EXIT_X86_RDMSR:
		return VcpuExit(MsrRead{run->msr.index, run->msr.reason, &run->msr});
	case VAPICVM_EXIT_X86_WRMSR:
		return VcpuExit(
			MsrWrite{run->msr.index, run->msr.reason, run->msr.data, &run->msr});
	case VAPICVM_EXIT_HYPERCALL: {
		const auto &h = run->hypercall;
		return VcpuExit(HypercallExit{h.nr,
					      {h.args[0], h.args[1], h.args[2], h.args[3]},
					      h.longmode != 0,
					      &run->hypercall});
	}
	case VAPICVM_EXIT_DEBUG: {
		const auto &d = run->debug;
		if (d.exception != 1 && d.exception != 3)
			return bad("debug exit for an exception other than #DB or #BP");
		return VcpuExit(DebugExit{d.exception, d.pc, d.dr6, d.dr7});
	}
	case VAPICVM_EXIT_INTR:
		return VcpuExit(InterruptedExit{});
	default:
		return VcpuExit(UnknownExit{run->exit_reason});
	}
}

} // namespace vapicvm

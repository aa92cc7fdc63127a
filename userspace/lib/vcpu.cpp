// SPDX-License-Identifier: GPL-2.0
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include <sys/ioctl.h>

#include "vapicvm/vcpu.hpp"

#include "flex_buffer.hpp"
#include "ioctl.hpp"

namespace vapicvm
{

std::string_view mp_state_name(MpState s) noexcept
{
	switch (s) {
	case MpState::Runnable:
		return "runnable";
	case MpState::Uninitialized:
		return "uninitialized";
	case MpState::InitReceived:
		return "init-received";
	case MpState::Halted:
		return "halted";
	}
	return "?";
}

std::uint32_t LapicState::reg(std::uint32_t offset) const noexcept
{
	std::uint32_t v = 0;
	if (offset <= VAPICVM_APIC_REG_SIZE - 4)
		std::memcpy(&v, raw.regs + offset, 4);
	return v;
}

void LapicState::set_reg(std::uint32_t offset, std::uint32_t value) noexcept
{
	if (offset <= VAPICVM_APIC_REG_SIZE - 4)
		std::memcpy(raw.regs + offset, &value, 4);
}

namespace
{
struct StatInfo {
	std::string_view name;
	std::string_view description;
};
constexpr StatInfo stat_info[] = {
#define VAPICVM_LIB_STAT(id, name, desc) {name, desc},
	VAPICVM_STATS(VAPICVM_LIB_STAT)
#undef VAPICVM_LIB_STAT
};
static_assert(std::size(stat_info) == VAPICVM_STAT_NR);
} // namespace

std::string_view VcpuStats::name(std::size_t i) noexcept
{
	return i < std::size(stat_info) ? stat_info[i].name : std::string_view();
}

std::string_view VcpuStats::description(std::size_t i) noexcept
{
	return i < std::size(stat_info) ? stat_info[i].description : std::string_view();
}

Result<VcpuExit> Vcpu::run()
{
	if (::ioctl(fd_.get(), VAPICVM_RUN, 0) < 0) {
		if (errno == EINTR)
			return VcpuExit(InterruptedExit{});
		return Error::last("VAPICVM_RUN", "vCPU " + std::to_string(id_));
	}
	return decode_exit(run_page(), run_.size());
}

void Vcpu::set_immediate_exit(bool on) noexcept
{
	std::atomic_ref<std::uint8_t>(run_page()->immediate_exit)
		.store(on ? 1 : 0, std::memory_order_seq_cst);
}

bool Vcpu::immediate_exit() const noexcept
{
	return std::atomic_ref<std::uint8_t>(run_page()->immediate_exit).load() != 0;
}

namespace
{
using detail::ioctl_get;
using detail::ioctl_set;
using MsrBuffer = detail::FlexBuffer<vapicvm_msrs, vapicvm_msr_entry>;

/* GET_MSRS or SET_MSRS on entries; out (if not empty) receives them back. */
Result<std::size_t> msr_ioctl(int fd, unsigned long req, const char *op,
			      std::span<const vapicvm_msr_entry> entries,
			      std::span<vapicvm_msr_entry> out)
{
	if (entries.size() > VAPICVM_MAX_MSR_ENTRIES)
		return Error::from_errno(E2BIG, op);
	vapicvm_msrs hdr{};
	hdr.nmsrs = static_cast<std::uint32_t>(entries.size());
	MsrBuffer buf(hdr, entries, entries.size());
	int r = ::ioctl(fd, req, buf.data());
	if (r < 0)
		return Error::last(op);
	buf.copy_to(out);
	return static_cast<std::size_t>(r);
}

/* A single-MSR access: ENOENT unless the kernel processed the one entry. */
Result<void> one_msr(Result<std::size_t> n, const char *op, std::uint32_t index)
{
	return std::move(n).and_then([&](std::size_t k) -> Result<void> {
		if (k != 1)
			return Error::from_errno(ENOENT, op, "MSR " + std::to_string(index));
		return ok();
	});
}
} // namespace

Result<vapicvm_regs> Vcpu::regs() const
{
	return ioctl_get<vapicvm_regs>(fd_.get(), VAPICVM_GET_REGS, "VAPICVM_GET_REGS");
}
Result<void> Vcpu::set_regs(const vapicvm_regs &r)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_REGS, r, "VAPICVM_SET_REGS");
}
Result<vapicvm_sregs> Vcpu::sregs() const
{
	return ioctl_get<vapicvm_sregs>(fd_.get(), VAPICVM_GET_SREGS, "VAPICVM_GET_SREGS");
}
Result<void> Vcpu::set_sregs(const vapicvm_sregs &s)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_SREGS, s, "VAPICVM_SET_SREGS");
}

Result<std::size_t> Vcpu::get_msrs(std::span<vapicvm_msr_entry> entries) const
{
	return msr_ioctl(fd_.get(), VAPICVM_GET_MSRS, "VAPICVM_GET_MSRS", entries, entries);
}

Result<std::size_t> Vcpu::set_msrs(std::span<const vapicvm_msr_entry> entries)
{
	return msr_ioctl(fd_.get(), VAPICVM_SET_MSRS, "VAPICVM_SET_MSRS", entries, {});
}

Result<std::uint64_t> Vcpu::get_msr(std::uint32_t index) const
{
	vapicvm_msr_entry e{};
	e.index = index;
	return one_msr(get_msrs(std::span(&e, 1)), "VAPICVM_GET_MSRS", index).transform([&e] {
		return std::uint64_t(e.data);
	});
}

Result<void> Vcpu::set_msr(std::uint32_t index, std::uint64_t value)
{
	vapicvm_msr_entry e{};
	e.index = index;
	e.data = value;
	return one_msr(set_msrs(std::span(&e, 1)), "VAPICVM_SET_MSRS", index);
}

Result<void> Vcpu::set_tsc_khz(std::uint32_t khz)
{
	if (::ioctl(fd_.get(), VAPICVM_SET_TSC_KHZ, static_cast<unsigned long>(khz)) < 0)
		return Error::last("VAPICVM_SET_TSC_KHZ", std::to_string(khz) + " kHz");
	return ok();
}

Result<std::uint32_t> Vcpu::tsc_khz() const
{
	long r = ::ioctl(fd_.get(), VAPICVM_GET_TSC_KHZ, 0);
	if (r < 0)
		return Error::last("VAPICVM_GET_TSC_KHZ");
	return static_cast<std::uint32_t>(r);
}

Result<void> Vcpu::set_cpuid(std::span<const vapicvm_cpuid_entry> entries)
{
	if (entries.size() > VAPICVM_MAX_CPUID_ENTRIES)
		return Error::from_errno(E2BIG, "VAPICVM_SET_CPUID");
	vapicvm_cpuid hdr{};
	hdr.nent = static_cast<std::uint32_t>(entries.size());
	detail::FlexBuffer<vapicvm_cpuid, vapicvm_cpuid_entry> buf(hdr, entries, entries.size());
	if (::ioctl(fd_.get(), VAPICVM_SET_CPUID, buf.data()) < 0)
		return Error::last("VAPICVM_SET_CPUID");
	return ok();
}

Result<vapicvm_xsave> Vcpu::xsave() const
{
	return ioctl_get<vapicvm_xsave>(fd_.get(), VAPICVM_GET_XSAVE, "VAPICVM_GET_XSAVE");
}
Result<void> Vcpu::set_xsave(const vapicvm_xsave &x)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_XSAVE, x, "VAPICVM_SET_XSAVE");
}

Result<vapicvm_debugregs> Vcpu::debugregs() const
{
	return ioctl_get<vapicvm_debugregs>(fd_.get(), VAPICVM_GET_DEBUGREGS,
					    "VAPICVM_GET_DEBUGREGS");
}
Result<void> Vcpu::set_debugregs(const vapicvm_debugregs &d)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_DEBUGREGS, d, "VAPICVM_SET_DEBUGREGS");
}

Result<vapicvm_vcpu_events> Vcpu::events() const
{
	return ioctl_get<vapicvm_vcpu_events>(fd_.get(), VAPICVM_GET_VCPU_EVENTS,
					      "VAPICVM_GET_VCPU_EVENTS");
}
Result<void> Vcpu::set_events(const vapicvm_vcpu_events &e)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_VCPU_EVENTS, e, "VAPICVM_SET_VCPU_EVENTS");
}

Result<std::uint64_t> Vcpu::xcr0() const
{
	auto r = ioctl_get<vapicvm_xcrs>(fd_.get(), VAPICVM_GET_XCRS, "VAPICVM_GET_XCRS");
	if (!r)
		return std::move(r).error();
	for (std::uint32_t i = 0; i < r->nr_xcrs && i < VAPICVM_MAX_XCRS; ++i)
		if (r->xcrs[i].xcr == 0)
			return std::uint64_t(r->xcrs[i].value);
	return Error::from_errno(ENODATA, "VAPICVM_GET_XCRS", "no XCR0 (no XSAVE)");
}
Result<void> Vcpu::set_xcr0(std::uint64_t value)
{
	vapicvm_xcrs x{};
	x.nr_xcrs = 1;
	x.xcrs[0].value = value;
	return ioctl_set(fd_.get(), VAPICVM_SET_XCRS, x, "VAPICVM_SET_XCRS");
}

Result<vapicvm_guest_debug> GuestDebug::raw() const
{
	auto bad = [](const std::string &why) {
		return Error::from_errno(EINVAL, "VAPICVM_SET_GUEST_DEBUG", why);
	};
	vapicvm_guest_debug g{};
	if (hw.size() > 4)
		return bad(std::to_string(hw.size()) + " hardware breakpoints (at most 4)");
	std::uint64_t dr7 = hw.empty() ? 0 : 1u << 10; /* bit 10 reads as 1 */
	for (std::size_t i = 0; i < hw.size(); i++) {
		const auto &b = hw[i];
		std::uint64_t len_bits;
		switch (b.len) {
		case 1:
			len_bits = 0;
			break;
		case 2:
			len_bits = 1;
			break;
		case 4:
			len_bits = 3;
			break;
		case 8:
			len_bits = 2;
			break;
		default:
			return bad("breakpoint length " + std::to_string(b.len));
		}
		if (b.type == HwBreakType::Execute && b.len != 1)
			return bad("an execution breakpoint has length 1");
		if (b.type != HwBreakType::Execute && b.type != HwBreakType::Write &&
		    b.type != HwBreakType::ReadWrite)
			return bad("breakpoint type " + std::to_string(unsigned(b.type)));
		if (b.addr & (b.len - 1))
			return bad("breakpoint address not aligned to its length");
		g.debugreg[i] = b.addr;
		/* G0-G3 enable; R/W and LEN at bits 16 + 4i. */
		dr7 |= 2ull << (2 * i);
		dr7 |= (std::uint64_t(b.type) | len_bits << 2) << (16 + 4 * i);
	}
	g.debugreg[7] = dr7;
	if (single_step || sw_breakpoints || !hw.empty()) {
		g.control = VAPICVM_GUESTDBG_ENABLE;
		if (single_step)
			g.control |= VAPICVM_GUESTDBG_SINGLESTEP;
		if (sw_breakpoints)
			g.control |= VAPICVM_GUESTDBG_USE_SW_BP;
		if (!hw.empty())
			g.control |= VAPICVM_GUESTDBG_USE_HW_BP;
	}
	return g;
}

Result<void> Vcpu::set_guest_debug(const GuestDebug &d)
{
	auto raw = d.raw();
	if (!raw)
		return std::move(raw).error();
	return set_guest_debug(*raw);
}

Result<void> Vcpu::set_guest_debug(const vapicvm_guest_debug &raw)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_GUEST_DEBUG, raw, "VAPICVM_SET_GUEST_DEBUG");
}

Result<Translation> Vcpu::translate(std::uint64_t linear) const
{
	vapicvm_translation t{};
	t.linear_address = linear;
	if (::ioctl(fd_.get(), VAPICVM_TRANSLATE, &t) < 0)
		return Error::last("VAPICVM_TRANSLATE");
	return Translation{t.physical_address, t.valid != 0, t.writeable != 0, t.usermode != 0};
}

Result<std::vector<vapicvm_cpuid_entry>> Vcpu::cpuid() const
{
	vapicvm_cpuid hdr{};
	hdr.nent = VAPICVM_MAX_CPUID_ENTRIES;
	detail::FlexBuffer<vapicvm_cpuid, vapicvm_cpuid_entry> buf(hdr, {},
								   VAPICVM_MAX_CPUID_ENTRIES);
	if (::ioctl(fd_.get(), VAPICVM_GET_CPUID, buf.data()) < 0)
		return Error::last("VAPICVM_GET_CPUID");
	return buf.entries(buf.header().nent, "VAPICVM_GET_CPUID");
}

Result<LapicState> Vcpu::lapic() const
{
	auto r = ioctl_get<vapicvm_lapic_state>(fd_.get(), VAPICVM_GET_LAPIC, "VAPICVM_GET_LAPIC");
	if (!r)
		return std::move(r).error();
	return LapicState{*r};
}
Result<void> Vcpu::set_lapic(const LapicState &s)
{
	return ioctl_set(fd_.get(), VAPICVM_SET_LAPIC, s.raw, "VAPICVM_SET_LAPIC");
}

Result<MpState> Vcpu::mp_state() const
{
	auto r = ioctl_get<vapicvm_mp_state>(fd_.get(), VAPICVM_GET_MP_STATE,
					     "VAPICVM_GET_MP_STATE");
	if (!r)
		return std::move(r).error();
	return static_cast<MpState>(r->mp_state);
}
Result<void> Vcpu::set_mp_state(MpState s)
{
	vapicvm_mp_state m{};
	m.mp_state = static_cast<std::uint32_t>(s);
	return ioctl_set(fd_.get(), VAPICVM_SET_MP_STATE, m, "VAPICVM_SET_MP_STATE");
}

Result<void> Vcpu::interrupt(LintPin pin, std::uint8_t vector)
{
	vapicvm_interrupt i{};
	i.pin = static_cast<std::uint32_t>(pin);
	i.vector = vector;
	return ioctl_set(fd_.get(), VAPICVM_INTERRUPT, i, "VAPICVM_INTERRUPT");
}

Result<VcpuStats> Vcpu::stats() const
{
	vapicvm_stats hdr{};
	hdr.n = VAPICVM_STAT_NR;
	detail::FlexBuffer<vapicvm_stats, std::uint64_t> buf(hdr, {}, VAPICVM_STAT_NR);
	if (::ioctl(fd_.get(), VAPICVM_GET_STATS, buf.data()) < 0)
		return Error::last("VAPICVM_GET_STATS");
	return buf.entries(buf.header().n, "VAPICVM_GET_STATS").transform([](auto &&v) {
		return VcpuStats{std::move(v)};
	});
}

} // namespace vapicvm

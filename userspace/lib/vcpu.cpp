// SPDX-License-Identifier: GPL-2.0
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include <sys/ioctl.h>

#include "vapicvm/vcpu.hpp"

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

std::string_view VcpuStats::name(std::size_t i) noexcept
{
	static constexpr std::array<std::string_view, VAPICVM_STAT_NR> n = {
		"exits",
		"exit_extint",
		"exit_nmi",
		"exit_cpuid",
		"exit_hlt",
		"exit_io",
		"exit_msr_read",
		"exit_msr_write",
		"exit_cr",
		"exit_ept_violation",
		"exit_ept_misconfig",
		"exit_vmcall",
		"exit_preempt_timer",
		"exit_intr_window",
		"exit_tpr_below_threshold",
		"exit_apic_access",
		"exit_eoi_induced",
		"exit_apic_write",
		"exit_xsetbv",
		"exit_other",
		"exit_userspace",
		"halt_wakeup",
		"irq_injected",
		"irq_posted",
		"ipi_sent",
		"apic_mmio_emulated",
		"apic_msr_emulated",
		"timer_fired",
	};
	return i < n.size() ? n[i] : std::string_view();
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
template <typename T>
Result<T> get(int fd, unsigned long req, const char *name)
{
	T v{};
	if (::ioctl(fd, req, &v) < 0)
		return Error::last(name);
	return v;
}

template <typename T>
Result<void> set(int fd, unsigned long req, const T &v, const char *name)
{
	if (::ioctl(fd, req, &v) < 0)
		return Error::last(name);
	return ok();
}

/* A vapicvm_msrs header and its entries, 8-byte aligned. */
std::vector<std::uint64_t> msr_buffer(std::span<const vapicvm_msr_entry> entries)
{
	static_assert(sizeof(vapicvm_msrs) == 8 && sizeof(vapicvm_msr_entry) == 16);
	std::vector<std::uint64_t> buf(1 + 2 * entries.size());
	vapicvm_msrs hdr{};
	hdr.nmsrs = static_cast<std::uint32_t>(entries.size());
	std::memcpy(buf.data(), &hdr, sizeof(hdr));
	if (!entries.empty())
		std::memcpy(buf.data() + 1, entries.data(), entries.size_bytes());
	return buf;
}
} // namespace

Result<vapicvm_regs> Vcpu::regs() const
{
	return get<vapicvm_regs>(fd_.get(), VAPICVM_GET_REGS, "VAPICVM_GET_REGS");
}
Result<void> Vcpu::set_regs(const vapicvm_regs &r)
{
	return set(fd_.get(), VAPICVM_SET_REGS, r, "VAPICVM_SET_REGS");
}
Result<vapicvm_sregs> Vcpu::sregs() const
{
	return get<vapicvm_sregs>(fd_.get(), VAPICVM_GET_SREGS, "VAPICVM_GET_SREGS");
}
Result<void> Vcpu::set_sregs(const vapicvm_sregs &s)
{
	return set(fd_.get(), VAPICVM_SET_SREGS, s, "VAPICVM_SET_SREGS");
}

Result<std::size_t> Vcpu::get_msrs(std::span<vapicvm_msr_entry> entries) const
{
	if (entries.size() > VAPICVM_MAX_MSR_ENTRIES)
		return Error::from_errno(E2BIG, "VAPICVM_GET_MSRS");
	auto buf = msr_buffer(entries);
	int r = ::ioctl(fd_.get(), VAPICVM_GET_MSRS, buf.data());
	if (r < 0)
		return Error::last("VAPICVM_GET_MSRS");
	if (!entries.empty())
		std::memcpy(entries.data(), buf.data() + 1, entries.size_bytes());
	return static_cast<std::size_t>(r);
}

Result<std::size_t> Vcpu::set_msrs(std::span<const vapicvm_msr_entry> entries)
{
	if (entries.size() > VAPICVM_MAX_MSR_ENTRIES)
		return Error::from_errno(E2BIG, "VAPICVM_SET_MSRS");
	auto buf = msr_buffer(entries);
	int r = ::ioctl(fd_.get(), VAPICVM_SET_MSRS, buf.data());
	if (r < 0)
		return Error::last("VAPICVM_SET_MSRS");
	return static_cast<std::size_t>(r);
}

Result<std::uint64_t> Vcpu::get_msr(std::uint32_t index) const
{
	vapicvm_msr_entry e{};
	e.index = index;
	auto n = get_msrs(std::span(&e, 1));
	if (!n)
		return std::move(n).error();
	if (*n != 1)
		return Error::from_errno(ENOENT, "VAPICVM_GET_MSRS",
					 "MSR " + std::to_string(index));
	return e.data;
}

Result<void> Vcpu::set_msr(std::uint32_t index, std::uint64_t value)
{
	vapicvm_msr_entry e{};
	e.index = index;
	e.data = value;
	auto n = set_msrs(std::span(&e, 1));
	if (!n)
		return std::move(n).error();
	if (*n != 1)
		return Error::from_errno(ENOENT, "VAPICVM_SET_MSRS",
					 "MSR " + std::to_string(index));
	return ok();
}

Result<void> Vcpu::set_cpuid(const CpuidTable &table)
{
	auto buf = table.to_ioctl_buffer();
	if (::ioctl(fd_.get(), VAPICVM_SET_CPUID, buf.data()) < 0)
		return Error::last("VAPICVM_SET_CPUID");
	return ok();
}

Result<vapicvm_xsave> Vcpu::xsave() const
{
	return get<vapicvm_xsave>(fd_.get(), VAPICVM_GET_XSAVE, "VAPICVM_GET_XSAVE");
}
Result<void> Vcpu::set_xsave(const vapicvm_xsave &x)
{
	return set(fd_.get(), VAPICVM_SET_XSAVE, x, "VAPICVM_SET_XSAVE");
}

Result<LapicState> Vcpu::lapic() const
{
	auto r = get<vapicvm_lapic_state>(fd_.get(), VAPICVM_GET_LAPIC, "VAPICVM_GET_LAPIC");
	if (!r)
		return std::move(r).error();
	return LapicState{*r};
}
Result<void> Vcpu::set_lapic(const LapicState &s)
{
	return set(fd_.get(), VAPICVM_SET_LAPIC, s.raw, "VAPICVM_SET_LAPIC");
}

Result<MpState> Vcpu::mp_state() const
{
	auto r = get<vapicvm_mp_state>(fd_.get(), VAPICVM_GET_MP_STATE, "VAPICVM_GET_MP_STATE");
	if (!r)
		return std::move(r).error();
	return static_cast<MpState>(r->mp_state);
}
Result<void> Vcpu::set_mp_state(MpState s)
{
	vapicvm_mp_state m{};
	m.mp_state = static_cast<std::uint32_t>(s);
	return set(fd_.get(), VAPICVM_SET_MP_STATE, m, "VAPICVM_SET_MP_STATE");
}

Result<void> Vcpu::interrupt(LintPin pin, std::uint8_t vector)
{
	vapicvm_interrupt i{};
	i.pin = static_cast<std::uint32_t>(pin);
	i.vector = vector;
	return set(fd_.get(), VAPICVM_INTERRUPT, i, "VAPICVM_INTERRUPT");
}

Result<VcpuStats> Vcpu::stats() const
{
	static_assert(sizeof(vapicvm_stats) == 8);
	constexpr std::uint32_t cap = VAPICVM_STAT_NR;
	std::vector<std::uint64_t> buf(1 + cap);
	vapicvm_stats hdr{};
	hdr.n = cap;
	std::memcpy(buf.data(), &hdr, sizeof(hdr));
	if (::ioctl(fd_.get(), VAPICVM_GET_STATS, buf.data()) < 0)
		return Error::last("VAPICVM_GET_STATS");
	std::memcpy(&hdr, buf.data(), sizeof(hdr));
	std::size_t n = hdr.n < cap ? hdr.n : cap;
	return VcpuStats{std::vector<std::uint64_t>(buf.begin() + 1, buf.begin() + 1 + n)};
}

} // namespace vapicvm

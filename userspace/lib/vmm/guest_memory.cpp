// SPDX-License-Identifier: GPL-2.0
#include <cstring>

#include "vapicvm/vmm/guest_memory.hpp"

namespace vapicvm::vmm
{

GuestMemory::GuestMemory(std::span<const MemorySlot> slots)
{
	ranges_.reserve(slots.size());
	for (const auto &s : slots)
		ranges_.push_back(Range{s.gpa, s.mem.span()});
}

Result<void> GuestMemory::add(std::uint64_t gpa, std::span<std::uint8_t> host)
{
	std::uint64_t end = gpa + host.size();
	if (end < gpa)
		return Error::from_errno(EINVAL, "GuestMemory::add", "range wraps");
	for (const auto &r : ranges_)
		if (gpa < r.end() && r.gpa < end)
			return Error::from_errno(EEXIST, "GuestMemory::add", "ranges overlap");
	ranges_.push_back(Range{gpa, host});
	return ok();
}

std::span<std::uint8_t> GuestMemory::span(std::uint64_t gpa, std::size_t len) const noexcept
{
	for (const auto &r : ranges_) {
		if (gpa >= r.gpa && gpa < r.end() && len <= r.end() - gpa)
			return r.host.subspan(gpa - r.gpa, len);
	}
	return {};
}

Result<std::span<std::uint8_t>> GuestMemory::checked(std::uint64_t gpa, std::size_t len,
						     const char *op) const
{
	auto s = span(gpa, len);
	if (s.empty() && len)
		return Error::from_errno(EFAULT, op, "range not in one RAM region");
	return s;
}

Result<void> GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const
{
	return checked(gpa, bytes.size(), "guest memory write").transform([&](auto s) {
		if (!bytes.empty())
			std::memcpy(s.data(), bytes.data(), bytes.size());
	});
}

Result<void> GuestMemory::read(std::uint64_t gpa, std::span<std::uint8_t> out) const
{
	return checked(gpa, out.size(), "guest memory read").transform([&](auto s) {
		if (!out.empty())
			std::memcpy(out.data(), s.data(), out.size());
	});
}

Result<void> GuestMemory::fill(std::uint64_t gpa, std::uint8_t byte, std::size_t len) const
{
	return checked(gpa, len, "guest memory fill").transform([&](auto s) {
		if (len)
			std::memset(s.data(), byte, len);
	});
}

std::uint64_t GuestMemory::total_size() const noexcept
{
	std::uint64_t t = 0;
	for (const auto &r : ranges_)
		t += r.host.size();
	return t;
}

} // namespace vapicvm::vmm

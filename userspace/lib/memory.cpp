// SPDX-License-Identifier: GPL-2.0
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include "vapicvm/memory.hpp"

namespace vapicvm
{

Result<MemoryRegion> MemoryRegion::anonymous(std::size_t size)
{
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	if (size == 0)
		return Error::from_errno(EINVAL, "MemoryRegion::anonymous", "size 0");
	if (size > SIZE_MAX - page)
		return Error::from_errno(ENOMEM, "MemoryRegion::anonymous");
	size = (size + page - 1) & ~(page - 1);
	void *p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return Error::last("mmap guest memory");
	return MemoryRegion(UniqueMapping(p, size));
}

Result<void> GuestMemory::add(std::uint32_t slot, std::uint64_t gpa, MemoryRegion mem,
			      std::uint32_t flags)
{
	std::uint64_t end = gpa + mem.size();
	if (end < gpa)
		return Error::from_errno(EINVAL, "GuestMemory::add", "range wraps");
	for (const auto &r : regions_) {
		if (r.slot == slot)
			return Error::from_errno(EEXIST, "GuestMemory::add", "slot in use");
		if (gpa < r.end() && r.gpa < end)
			return Error::from_errno(EEXIST, "GuestMemory::add", "ranges overlap");
	}
	regions_.push_back(GuestRegion{slot, gpa, flags, std::move(mem)});
	return ok();
}

std::span<std::uint8_t> GuestMemory::span(std::uint64_t gpa, std::size_t len) const noexcept
{
	for (const auto &r : regions_) {
		if (gpa >= r.gpa && gpa < r.end() && len <= r.end() - gpa)
			return {r.mem.data() + (gpa - r.gpa), len};
	}
	return {};
}

Result<void> GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const
{
	if (bytes.empty())
		return ok();
	auto s = span(gpa, bytes.size());
	if (s.empty())
		return Error::from_errno(EFAULT, "guest memory write",
					 "range not in one RAM region");
	std::memcpy(s.data(), bytes.data(), bytes.size());
	return ok();
}

Result<void> GuestMemory::read(std::uint64_t gpa, std::span<std::uint8_t> out) const
{
	if (out.empty())
		return ok();
	auto s = span(gpa, out.size());
	if (s.empty())
		return Error::from_errno(EFAULT, "guest memory read",
					 "range not in one RAM region");
	std::memcpy(out.data(), s.data(), out.size());
	return ok();
}

Result<void> GuestMemory::fill(std::uint64_t gpa, std::uint8_t byte, std::size_t len) const
{
	if (len == 0)
		return ok();
	auto s = span(gpa, len);
	if (s.empty())
		return Error::from_errno(EFAULT, "guest memory fill",
					 "range not in one RAM region");
	std::memset(s.data(), byte, len);
	return ok();
}

std::uint64_t GuestMemory::total_size() const noexcept
{
	std::uint64_t t = 0;
	for (const auto &r : regions_)
		t += r.mem.size();
	return t;
}

} // namespace vapicvm

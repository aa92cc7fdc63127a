// SPDX-License-Identifier: GPL-2.0
#include <cstring>
#include <string>

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

Result<void> GuestMemory::remove(std::uint64_t gpa)
{
	for (auto it = ranges_.begin(); it != ranges_.end(); ++it) {
		if (it->gpa == gpa) {
			ranges_.erase(it);
			return ok();
		}
	}
	return Error::from_errno(ENOENT, "GuestMemory::remove", "no range starts there");
}

Result<void> GuestMemory::move(std::uint64_t gpa, std::uint64_t new_gpa)
{
	Range *moved = nullptr;
	for (auto &r : ranges_)
		if (r.gpa == gpa)
			moved = &r;
	if (!moved)
		return Error::from_errno(ENOENT, "GuestMemory::move", "no range starts there");
	std::uint64_t end = new_gpa + moved->host.size();
	if (end < new_gpa)
		return Error::from_errno(EINVAL, "GuestMemory::move", "range wraps");
	for (const auto &r : ranges_)
		if (&r != moved && new_gpa < r.end() && r.gpa < end)
			return Error::from_errno(EEXIST, "GuestMemory::move", "ranges overlap");
	moved->gpa = new_gpa;
	return ok();
}

namespace
{
const MemorySlot *find_slot(const Vm &vm, std::uint32_t slot)
{
	for (const auto &s : vm.memory_slots())
		if (s.slot == slot)
			return &s;
	return nullptr;
}
} // namespace

Result<void> GuestMemory::remove_slot(Vm &vm, std::uint32_t slot)
{
	const MemorySlot *s = find_slot(vm, slot);
	if (!s)
		return Error::from_errno(ENOENT, "GuestMemory::remove_slot",
					 "slot " + std::to_string(slot) + " not added");
	const std::uint64_t gpa = s->gpa;
	const auto *host = s->mem.data();
	auto mem = vm.remove_memory(slot);
	if (!mem)
		return std::move(mem).error();
	/* A view made before the slot was added does not hold it: that is fine. */
	std::erase_if(ranges_,
		      [&](const Range &r) { return r.gpa == gpa && r.host.data() == host; });
	/* mem goes out of scope last: unmapped after the guest and the view let go. */
	return ok();
}

Result<void> GuestMemory::move_slot(Vm &vm, std::uint32_t slot, std::uint64_t new_gpa)
{
	const MemorySlot *s = find_slot(vm, slot);
	if (!s)
		return Error::from_errno(ENOENT, "GuestMemory::move_slot",
					 "slot " + std::to_string(slot) + " not added");
	const std::uint64_t gpa = s->gpa;
	const auto *host = s->mem.data();
	bool viewed = false;
	for (const auto &r : ranges_)
		if (r.gpa == gpa && r.host.data() == host)
			viewed = true;
	/* Check the view's side first, so that a failure changes nothing. */
	if (viewed) {
		std::uint64_t end = new_gpa + s->mem.size();
		for (const auto &r : ranges_)
			if (r.gpa != gpa && end > new_gpa && new_gpa < r.end() && r.gpa < end)
				return Error::from_errno(EEXIST, "GuestMemory::move_slot",
							 "ranges overlap");
	}
	if (auto r = vm.move_memory(slot, new_gpa); !r)
		return r;
	if (viewed)
		return move(gpa, new_gpa);
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

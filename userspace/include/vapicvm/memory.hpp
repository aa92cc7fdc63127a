// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: MemoryRegion owns an anonymous mapping; GuestMemory maps
 * guest-physical ranges onto regions and gives checked access to them.
 * A Vm owns the GuestMemory whose regions it registered as memory slots,
 * so memory outlives the slots that use it.
 */
#ifndef VAPICVM_MEMORY_HPP
#define VAPICVM_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm
{

class MemoryRegion
{
public:
	/* size bytes of zeroed anonymous memory (rounded up to pages), MAP_NORESERVE. */
	static Result<MemoryRegion> anonymous(std::size_t size);

	MemoryRegion(MemoryRegion &&) noexcept = default;
	MemoryRegion &operator=(MemoryRegion &&) noexcept = default;
	MemoryRegion(const MemoryRegion &) = delete;
	MemoryRegion &operator=(const MemoryRegion &) = delete;

	std::uint8_t *data() const noexcept { return static_cast<std::uint8_t *>(map_.get()); }
	std::size_t size() const noexcept { return map_.size(); }
	std::span<std::uint8_t> span() const noexcept { return {data(), size()}; }

private:
	explicit MemoryRegion(UniqueMapping m) noexcept : map_(std::move(m)) {}
	UniqueMapping map_;
};

/* Where a region sits in the guest-physical address space. */
struct GuestRegion {
	std::uint32_t slot = 0;
	std::uint64_t gpa = 0;
	std::uint32_t flags = 0; /* VAPICVM_MEM_* */
	MemoryRegion mem;

	std::uint64_t end() const noexcept { return gpa + mem.size(); }
};

class GuestMemory
{
public:
	GuestMemory() = default;
	GuestMemory(GuestMemory &&) noexcept = default;
	GuestMemory &operator=(GuestMemory &&) noexcept = default;

	/* Fails with EEXIST if [gpa, gpa + size) overlaps a region already added. */
	Result<void> add(std::uint32_t slot, std::uint64_t gpa, MemoryRegion mem,
			 std::uint32_t flags = 0);
	const std::vector<GuestRegion> &regions() const noexcept { return regions_; }

	/* The host bytes of [gpa, gpa + len) if one region holds them all, else empty. */
	std::span<std::uint8_t> span(std::uint64_t gpa, std::size_t len) const noexcept;
	bool contains(std::uint64_t gpa, std::size_t len = 1) const noexcept
	{
		return len == 0 || !span(gpa, len).empty();
	}
	/* Copies; EFAULT when the range is not guest RAM. */
	Result<void> write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const;
	Result<void> read(std::uint64_t gpa, std::span<std::uint8_t> out) const;
	Result<void> fill(std::uint64_t gpa, std::uint8_t byte, std::size_t len) const;

	template <typename T>
	Result<void> write_obj(std::uint64_t gpa, const T &obj) const
	{
		return write(gpa,
			     std::span(reinterpret_cast<const std::uint8_t *>(&obj), sizeof(T)));
	}
	template <typename T>
	Result<T> read_obj(std::uint64_t gpa) const
	{
		T obj{};
		auto r = read(gpa, std::span(reinterpret_cast<std::uint8_t *>(&obj), sizeof(T)));
		if (!r)
			return std::move(r).error();
		return obj;
	}

	/* The sum of the regions' sizes. */
	std::uint64_t total_size() const noexcept;

private:
	std::vector<GuestRegion> regions_;
};

} // namespace vapicvm

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM as the core sees it: MemoryRegion owns an anonymous mapping,
 * and a MemorySlot is a region a Vm registered and keeps, so memory
 * outlives the slots that use it.  Guest-physical access to the slots is
 * the helper layer's vmm::GuestMemory.
 */
#ifndef VAPICVM_MEMORY_HPP
#define VAPICVM_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm
{

class MemoryRegion
{
public:
	/*
	 * size bytes of zeroed anonymous memory (rounded up to pages),
	 * MAP_NORESERVE.  From 2 MiB up it starts on a 2 MiB boundary and asks
	 * for transparent huge pages, so that vapicvm can map it with 2 MiB
	 * EPT pages where the kernel gives them.
	 */
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

/* A memory slot: where a region sits in the guest-physical address space. */
struct MemorySlot {
	std::uint32_t slot = 0;
	std::uint64_t gpa = 0;
	std::uint32_t flags = 0; /* VAPICVM_MEM_* */
	MemoryRegion mem;

	std::uint64_t end() const noexcept { return gpa + mem.size(); }
};

} // namespace vapicvm

#endif

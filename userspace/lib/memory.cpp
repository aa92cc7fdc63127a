// SPDX-License-Identifier: GPL-2.0
#include <cstdint>

#include <sys/mman.h>
#include <unistd.h>

#include "vapicvm/memory.hpp"

namespace vapicvm
{

namespace
{
constexpr std::size_t huge_page = std::size_t{2} << 20;
}

Result<MemoryRegion> MemoryRegion::anonymous(std::size_t size)
{
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	if (size == 0)
		return Error::from_errno(EINVAL, "MemoryRegion::anonymous", "size 0");
	if (size > SIZE_MAX - huge_page)
		return Error::from_errno(ENOMEM, "MemoryRegion::anonymous");
	size = (size + page - 1) & ~(page - 1);
	/* Room to start on a 2 MiB boundary; the slack is unmapped again. */
	const std::size_t slack = size >= huge_page ? huge_page - page : 0;
	void *p = ::mmap(nullptr, size + slack, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return Error::last("mmap guest memory");
	auto *start = static_cast<std::uint8_t *>(p);
	if (slack) {
		auto addr = reinterpret_cast<std::uintptr_t>(p);
		auto *aligned =
			reinterpret_cast<std::uint8_t *>((addr + huge_page - 1) & ~(huge_page - 1));
		if (aligned > start)
			::munmap(start, static_cast<std::size_t>(aligned - start));
		if (aligned + size < start + size + slack)
			::munmap(aligned + size,
				 static_cast<std::size_t>(start + size + slack - (aligned + size)));
		start = aligned;
		/* Advice only: without THP the memory is the same, in 4 KiB pages. */
		::madvise(start, size, MADV_HUGEPAGE);
	}
	return MemoryRegion(UniqueMapping(start, size));
}

} // namespace vapicvm

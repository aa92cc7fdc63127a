// SPDX-License-Identifier: GPL-2.0
#include <cstdint>

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

} // namespace vapicvm

// SPDX-License-Identifier: GPL-2.0
#include <bit>
#include <cstdint>
#include <cstdio>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vapicvm/memory.hpp"

namespace vapicvm
{

namespace
{
constexpr std::size_t huge_page = std::size_t{2} << 20;

std::size_t base_page() noexcept
{
	return static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/*
 * Reserve size bytes of address space starting on an align boundary
 * (PROT_NONE, nothing committed), for a MAP_FIXED mapping over it.
 */
Result<std::uint8_t *> reserve_aligned(std::size_t size, std::size_t align, const char *op)
{
	const std::size_t slack = align > base_page() ? align - base_page() : 0;
	if (size > SIZE_MAX - slack)
		return Error::from_errno(ENOMEM, op, "size too large");
	void *p = ::mmap(nullptr, size + slack, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return Error::last(op, "mmap (reserve address space)");
	auto *start = static_cast<std::uint8_t *>(p);
	auto addr = reinterpret_cast<std::uintptr_t>(p);
	auto *aligned = reinterpret_cast<std::uint8_t *>((addr + align - 1) & ~(align - 1));
	if (aligned > start)
		::munmap(start, static_cast<std::size_t>(aligned - start));
	if (aligned + size < start + size + slack)
		::munmap(aligned + size,
			 static_cast<std::size_t>(start + size + slack - (aligned + size)));
	return aligned;
}

std::string kib(std::size_t bytes)
{
	return std::to_string(bytes >> 10) + " kB";
}

/* The free pages of the host's pool of page-sized huge pages, as a detail. */
std::string hugetlb_pool(std::size_t page)
{
	std::string path = "/sys/kernel/mm/hugepages/hugepages-" + std::to_string(page >> 10) +
			   "kB/free_hugepages";
	std::string what = "the " + kib(page) + " huge-page pool has ";
	FILE *f = std::fopen(path.c_str(), "re");
	unsigned long n = 0;
	bool known = f && std::fscanf(f, "%lu", &n) == 1;
	if (f)
		std::fclose(f);
	return what + (known ? std::to_string(n) : "an unknown number of") +
	       " free pages (reserve more: /proc/sys/vm/nr_hugepages or " +
	       "/sys/kernel/mm/hugepages/hugepages-" + std::to_string(page >> 10) +
	       "kB/nr_hugepages)";
}
} // namespace

Result<MemoryRegion> MemoryRegion::anonymous(std::size_t size)
{
	const std::size_t page = base_page();
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
	return MemoryRegion(UniqueMapping(start, size), UniqueFd(), MemoryBacking::Anonymous, page);
}

Result<MemoryRegion> MemoryRegion::from_memfd(std::size_t size, std::size_t page, bool huge,
					      const MemfdOptions &opts, const char *op)
{
	if (size == 0)
		return Error::from_errno(EINVAL, op, "size 0");
	if (size % page)
		return Error::from_errno(EINVAL, op,
					 "size " + std::to_string(size) +
						 " is not a multiple of the page size (" +
						 kib(page) + ")");
	unsigned int flags = MFD_CLOEXEC | (opts.seal ? MFD_ALLOW_SEALING : 0);
	/* The page size is encoded as for mmap() (MFD_HUGE_SHIFT is MAP_HUGE_SHIFT). */
	if (huge)
		flags |= MFD_HUGETLB |
			 (static_cast<unsigned int>(std::countr_zero(page)) << MAP_HUGE_SHIFT);
	UniqueFd fd(::memfd_create(opts.name.c_str(), flags));
	if (!fd) {
		/* ENODEV: no pool of that page size; EINVAL: no hugetlbfs at all. */
		if (huge && (errno == ENODEV || errno == EINVAL))
			return Error::from_errno(ENOENT, op,
						 "the host has no " + kib(page) +
							 " huge-page pool (hugetlbfs)");
		return Error::last(op, "memfd_create");
	}
	if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0)
		return Error::last(op, "ftruncate");
	if (opts.seal &&
	    ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return Error::last(op, "F_ADD_SEALS");

	/* Large regions start on a 2 MiB (or huge-page) boundary, as anonymous() does. */
	const std::size_t align = huge ? page : size >= huge_page ? huge_page : page;
	auto where = reserve_aligned(size, align, op);
	if (!where)
		return std::move(where).error();
	/*
	 * No MAP_NORESERVE: hugetlbfs reserves every page now, so a short pool
	 * is an error here rather than a SIGBUS when the guest touches memory.
	 */
	void *p = ::mmap(*where, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd.get(), 0);
	if (p == MAP_FAILED) {
		int err = errno;
		::munmap(*where, size);
		if (huge && err == ENOMEM)
			return Error::from_errno(ENOMEM, op,
						 std::to_string(size / page) +
							 " huge pages wanted, " +
							 hugetlb_pool(page));
		return Error::from_errno(err, op, "mmap");
	}
	if (!huge && align == huge_page)
		::madvise(p, size, MADV_HUGEPAGE); /* advice only, as for anonymous memory */
	return MemoryRegion(UniqueMapping(p, size), std::move(fd),
			    huge ? MemoryBacking::Hugetlb : MemoryBacking::Memfd, page);
}

Result<MemoryRegion> MemoryRegion::memfd(std::size_t size, const MemfdOptions &opts)
{
	return from_memfd(size, base_page(), false, opts, "MemoryRegion::memfd");
}

Result<MemoryRegion> MemoryRegion::hugetlb(std::size_t size, std::size_t page_size,
					   const MemfdOptions &opts)
{
	if (!std::has_single_bit(page_size) || page_size <= base_page())
		return Error::from_errno(EINVAL, "MemoryRegion::hugetlb",
					 "page size " + std::to_string(page_size) +
						 " is not a huge-page size");
	return from_memfd(size, page_size, true, opts, "MemoryRegion::hugetlb");
}

} // namespace vapicvm

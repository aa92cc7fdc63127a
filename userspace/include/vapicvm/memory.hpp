// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM as the core sees it: MemoryRegion owns a mapping of anonymous,
 * memfd or hugetlbfs memory, and a MemorySlot is a region a Vm registered
 * and keeps, so memory outlives the slots that use it.  Guest-physical
 * access to the slots is the helper layer's vmm::GuestMemory.
 */
#ifndef VAPICVM_MEMORY_HPP
#define VAPICVM_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm
{

/* What backs a MemoryRegion. */
enum class MemoryBacking {
	Anonymous, /* private anonymous memory: the process alone sees it */
	Memfd,     /* a memfd (shmem), mapped shared: its fd can be handed on */
	Hugetlb,   /* a hugetlbfs memfd, mapped shared: huge pages, and an fd */
};

/* How MemoryRegion::memfd() and MemoryRegion::hugetlb() make their memfd. */
struct MemfdOptions {
	/* The memfd's name (/proc/<pid>/fd shows it as "memfd:<name>"). */
	std::string name = "vapicvm-guest-ram";
	/*
	 * Seal the size (F_SEAL_SHRINK, F_SEAL_GROW) and the seals
	 * (F_SEAL_SEAL), so that a process the fd is handed to can check
	 * (F_GET_SEALS) that the memory cannot be truncated under the guest.
	 * hugetlbfs memfds take seals too (Linux 4.16 and later).
	 */
	bool seal = true;
};

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
	/*
	 * size bytes of zeroed shared memory in a memfd (memfd_create() with
	 * MFD_CLOEXEC), mapped MAP_SHARED: what the guest sees is what any
	 * other mapping of fd() sees, in this process or another one (a device
	 * backend).  size must be a multiple of the page size (EINVAL
	 * otherwise: no rounding, since another process maps the fd by its
	 * size).  From 2 MiB up the mapping starts on a 2 MiB boundary and asks
	 * for transparent huge pages, as anonymous() does (shmem gives them
	 * where /sys/kernel/mm/transparent_hugepage/shmem_enabled allows).
	 */
	static Result<MemoryRegion> memfd(std::size_t size, const MemfdOptions &opts = {});
	/*
	 * size bytes of zeroed huge pages of page_size bytes (2 MiB or 1 GiB)
	 * from hugetlbfs: a memfd made with MFD_HUGETLB, mapped MAP_SHARED,
	 * the mapping aligned to page_size.  The pages are reserved when the
	 * mapping is made, never silently replaced by small pages: ENOMEM with
	 * a detail naming the pool when the host has too few free huge pages
	 * of that size (/proc/sys/vm/nr_hugepages, or
	 * /sys/kernel/mm/hugepages/hugepages-<kB>kB/nr_hugepages), ENOENT
	 * when the host has no pool of that page size.  size must be a
	 * multiple of page_size, and page_size a power of two (EINVAL).
	 */
	static Result<MemoryRegion> hugetlb(std::size_t size,
					    std::size_t page_size = std::size_t{2} << 20,
					    const MemfdOptions &opts = {});

	MemoryRegion(MemoryRegion &&) noexcept = default;
	MemoryRegion &operator=(MemoryRegion &&) noexcept = default;
	MemoryRegion(const MemoryRegion &) = delete;
	MemoryRegion &operator=(const MemoryRegion &) = delete;

	std::uint8_t *data() const noexcept { return static_cast<std::uint8_t *>(map_.get()); }
	std::size_t size() const noexcept { return map_.size(); }
	std::span<std::uint8_t> span() const noexcept { return {data(), size()}; }
	MemoryBacking backing() const noexcept { return backing_; }
	/* The size of the pages backing the region: the host's base page, or the huge page. */
	std::size_t page_size() const noexcept { return page_size_; }
	/*
	 * The memfd (Memfd, Hugetlb), -1 for anonymous memory.  The region
	 * owns it and closes it when destroyed; dup() it to hand it on (over a
	 * Unix socket with SCM_RIGHTS, or to a child: it is close-on-exec).
	 * Another mapping of it (MAP_SHARED, offset 0, size()) shares every
	 * byte with the guest.
	 */
	int fd() const noexcept { return fd_.get(); }

private:
	MemoryRegion(UniqueMapping m, UniqueFd fd, MemoryBacking b, std::size_t page) noexcept
	    : map_(std::move(m)), fd_(std::move(fd)), backing_(b), page_size_(page)
	{
	}
	static Result<MemoryRegion> from_memfd(std::size_t size, std::size_t page, bool huge,
					       const MemfdOptions &opts, const char *op);

	UniqueMapping map_;
	UniqueFd fd_;
	MemoryBacking backing_ = MemoryBacking::Anonymous;
	std::size_t page_size_ = 0;
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

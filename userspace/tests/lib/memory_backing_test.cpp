// SPDX-License-Identifier: GPL-2.0
/*
 * MemoryRegion's backings (anonymous, memfd, hugetlbfs) and GuestMemory's
 * remove and move, as far as they go without the module.
 */
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "vapicvm/vmm/vmm.hpp"

using namespace vapicvm;
using namespace vapicvm::vmm;

namespace
{

constexpr std::size_t mib2 = std::size_t{2} << 20;

/* A number from a file of /proc or /sys; 0 if there is none. */
unsigned long read_count(const char *path)
{
	FILE *f = std::fopen(path, "re");
	unsigned long n = 0;
	if (f) {
		if (std::fscanf(f, "%lu", &n) != 1)
			n = 0;
		std::fclose(f);
	}
	return n;
}

/* The free pages of the host's 2 MiB hugetlbfs pool; 0 if it has none. */
unsigned long free_huge_pages_2m()
{
	return read_count("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
}

/* A second, shared mapping of a region's memfd, as another process would make it. */
struct SharedView {
	explicit SharedView(const MemoryRegion &r)
	    : size(r.size()),
	      p(::mmap(nullptr, r.size(), PROT_READ | PROT_WRITE, MAP_SHARED, r.fd(), 0))
	{
	}
	~SharedView()
	{
		if (p != MAP_FAILED)
			::munmap(p, size);
	}
	SharedView(const SharedView &) = delete;
	SharedView &operator=(const SharedView &) = delete;
	std::uint8_t *bytes() const { return static_cast<std::uint8_t *>(p); }
	std::size_t size;
	void *p;
};

} // namespace

TEST(MemoryRegion, AnonymousHasNoFd)
{
	auto r = MemoryRegion::anonymous(4096);
	ASSERT_TRUE(r);
	EXPECT_EQ(-1, r->fd());
	EXPECT_EQ(MemoryBacking::Anonymous, r->backing());
	EXPECT_EQ(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), r->page_size());
}

TEST(MemoryRegion, MemfdIsSharedThroughItsFd)
{
	auto r = MemoryRegion::memfd(0x10000);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(MemoryBacking::Memfd, r->backing());
	EXPECT_EQ(0x10000u, r->size());
	ASSERT_GE(r->fd(), 0);
	EXPECT_EQ(0x10000, ::lseek(r->fd(), 0, SEEK_END));
	for (std::size_t i = 0; i < r->size(); i += 4096)
		ASSERT_EQ(0, r->data()[i]) << "zeroed";

	SharedView other(*r);
	ASSERT_NE(MAP_FAILED, other.p);
	ASSERT_NE(static_cast<void *>(r->data()), other.p) << "a second mapping";
	other.bytes()[0x1234] = 0x5a;
	EXPECT_EQ(0x5a, r->data()[0x1234]) << "the other mapping's write is the region's";
	r->data()[0xfffc] = 0xa5;
	EXPECT_EQ(0xa5, other.bytes()[0xfffc]) << "and the other way round";

	EXPECT_NE(0, ::fcntl(r->fd(), F_GETFD) & FD_CLOEXEC) << "MFD_CLOEXEC";
	char link[64] = {};
	std::string path = "/proc/self/fd/" + std::to_string(r->fd());
	ASSERT_GT(::readlink(path.c_str(), link, sizeof(link) - 1), 0);
	EXPECT_EQ(0, std::strncmp(link, "/memfd:vapicvm-guest-ram", 24)) << link;
}

TEST(MemoryRegion, MemfdSealedBySize)
{
	auto r = MemoryRegion::memfd(0x4000);
	ASSERT_TRUE(r);
	int seals = ::fcntl(r->fd(), F_GET_SEALS);
	EXPECT_EQ(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, seals);
	EXPECT_EQ(-1, ::ftruncate(r->fd(), 0x1000));
	EXPECT_EQ(EPERM, errno) << "cannot shrink under the guest";
	EXPECT_EQ(-1, ::ftruncate(r->fd(), 0x8000));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ::fcntl(r->fd(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_EQ(EPERM, errno) << "nobody adds seals later";

	auto open = MemoryRegion::memfd(0x4000, MemfdOptions{"open-ram", false});
	ASSERT_TRUE(open);
	EXPECT_EQ(F_SEAL_SEAL, ::fcntl(open->fd(), F_GET_SEALS)) << "memfd without sealing";
	EXPECT_EQ(0, ::ftruncate(open->fd(), 0x4000));
}

TEST(MemoryRegion, MemfdSizeMustBeWholePages)
{
	auto zero = MemoryRegion::memfd(0);
	ASSERT_FALSE(zero);
	EXPECT_EQ(EINVAL, zero.error().errno_value());
	auto odd = MemoryRegion::memfd(5000);
	ASSERT_FALSE(odd) << "no silent rounding: another process maps the fd by its size";
	EXPECT_EQ(EINVAL, odd.error().errno_value());
	EXPECT_NE(std::string::npos, odd.error().message().find("not a multiple of the page size"))
		<< odd.error().message();
}

TEST(MemoryRegion, LargeMemfdIsAligned)
{
	auto r = MemoryRegion::memfd(2 * mib2);
	ASSERT_TRUE(r);
	EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(r->data()) % mib2);
	r->data()[2 * mib2 - 1] = 1;
	EXPECT_EQ(1, r->data()[2 * mib2 - 1]);
}

TEST(MemoryRegion, MovesOwnership)
{
	static_assert(!std::is_copy_constructible_v<MemoryRegion>);
	static_assert(std::is_nothrow_move_constructible_v<MemoryRegion>);
	static_assert(std::is_nothrow_move_assignable_v<MemoryRegion>);
	auto r = MemoryRegion::memfd(0x1000);
	ASSERT_TRUE(r);
	const int fd = r->fd();
	auto *data = r->data();
	{
		MemoryRegion moved = std::move(*r);
		EXPECT_EQ(fd, moved.fd());
		EXPECT_EQ(data, moved.data());
		EXPECT_EQ(-1, r->fd());
		EXPECT_EQ(nullptr, r->data());
		EXPECT_EQ(0u, r->size());
	}
	/* The region closed its fd (nothing else opens files on this thread meanwhile). */
	EXPECT_EQ(-1, ::fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
}

TEST(MemoryRegion, HugetlbArgumentsChecked)
{
	auto not_huge = MemoryRegion::hugetlb(mib2, 4096);
	ASSERT_FALSE(not_huge);
	EXPECT_EQ(EINVAL, not_huge.error().errno_value());
	auto not_pow2 = MemoryRegion::hugetlb(6 << 20, 3 << 20);
	ASSERT_FALSE(not_pow2);
	EXPECT_EQ(EINVAL, not_pow2.error().errno_value());
	auto partial = MemoryRegion::hugetlb(mib2 + 4096);
	ASSERT_FALSE(partial);
	EXPECT_EQ(EINVAL, partial.error().errno_value());
	EXPECT_NE(std::string::npos, partial.error().message().find("2048 kB"))
		<< partial.error().message();
	/* No host has 1 TiB pages. */
	auto no_pool = MemoryRegion::hugetlb(std::size_t{1} << 40, std::size_t{1} << 40);
	ASSERT_FALSE(no_pool);
	EXPECT_EQ(ENOENT, no_pool.error().errno_value()) << no_pool.error().message();
}

TEST(MemoryRegion, HugetlbWithoutFreePagesIsAnError)
{
	/* Ask for one page more than the pool has free: never a silent fallback. */
	const unsigned long free = free_huge_pages_2m();
	if (free > 64)
		GTEST_SKIP() << free
			     << " free 2 MiB huge pages: asking for more is too much memory";
	/* Surplus pages would satisfy the request beyond the pool. */
	if (read_count("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages"))
		GTEST_SKIP() << "the host overcommits 2 MiB huge pages (nr_overcommit_hugepages)";
	auto r = MemoryRegion::hugetlb((free + 1) * mib2);
	ASSERT_FALSE(r) << "got huge pages the pool does not have";
	EXPECT_EQ(ENOMEM, r.error().errno_value()) << r.error().message();
	EXPECT_NE(std::string::npos, r.error().message().find("nr_hugepages"))
		<< "the error says what to reserve: " << r.error().message();
}

TEST(MemoryRegion, HugetlbSharedThroughItsFd)
{
	if (free_huge_pages_2m() < 1)
		GTEST_SKIP() << "no free 2 MiB huge pages on this host (HugePages_Free 0)";
	auto r = MemoryRegion::hugetlb(mib2);
	ASSERT_TRUE(r) << r.error().message();
	EXPECT_EQ(MemoryBacking::Hugetlb, r->backing());
	EXPECT_EQ(mib2, r->page_size());
	EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(r->data()) % mib2);
	SharedView other(*r);
	ASSERT_NE(MAP_FAILED, other.p);
	other.bytes()[mib2 - 8] = 0x77;
	EXPECT_EQ(0x77, r->data()[mib2 - 8]);
}

TEST(GuestMemory, MoveKeepsTheBytes)
{
	auto a = MemoryRegion::memfd(0x2000);
	auto b = MemoryRegion::anonymous(0x1000);
	ASSERT_TRUE(a && b);
	GuestMemory m;
	ASSERT_TRUE(m.add(0x10000, a->span()));
	ASSERT_TRUE(m.add(0x20000, b->span()));
	ASSERT_TRUE(m.write_obj<std::uint32_t>(0x11000, 0xcafef00d));

	ASSERT_TRUE(m.move(0x10000, 0x80000));
	EXPECT_FALSE(m.contains(0x10000)) << "the old place is gone";
	auto v = m.read_obj<std::uint32_t>(0x81000);
	ASSERT_TRUE(v);
	EXPECT_EQ(0xcafef00du, *v) << "the bytes moved with the range";
	EXPECT_EQ(0x2000u + 0x1000u, m.total_size());

	/* Onto its own old place, partly: allowed. */
	ASSERT_TRUE(m.move(0x80000, 0x81000));
	EXPECT_EQ(0xcafef00du, *m.read_obj<std::uint32_t>(0x82000));

	auto overlap = m.move(0x81000, 0x1f000);
	ASSERT_FALSE(overlap);
	EXPECT_EQ(EEXIST, overlap.error().errno_value());
	EXPECT_TRUE(m.contains(0x81000, 0x2000)) << "a failed move changes nothing";
	auto wrap = m.move(0x81000, ~std::uint64_t{0} - 0xfff);
	ASSERT_FALSE(wrap);
	EXPECT_EQ(EINVAL, wrap.error().errno_value());
	auto none = m.move(0x81004, 0);
	ASSERT_FALSE(none) << "only a range's start names it";
	EXPECT_EQ(ENOENT, none.error().errno_value());
}

TEST(GuestMemory, Remove)
{
	auto a = MemoryRegion::anonymous(0x1000);
	auto b = MemoryRegion::anonymous(0x1000);
	ASSERT_TRUE(a && b);
	GuestMemory m;
	ASSERT_TRUE(m.add(0, a->span()));
	ASSERT_TRUE(m.add(0x1000, b->span()));
	ASSERT_TRUE(m.remove(0));
	EXPECT_FALSE(m.contains(0));
	auto gone = m.read_obj<std::uint8_t>(0x10);
	ASSERT_FALSE(gone);
	EXPECT_EQ(EFAULT, gone.error().errno_value());
	EXPECT_TRUE(m.contains(0x1000)) << "the other range stays";
	EXPECT_EQ(0x1000u, m.total_size());
	auto again = m.remove(0);
	ASSERT_FALSE(again);
	EXPECT_EQ(ENOENT, again.error().errno_value());
	ASSERT_TRUE(m.add(0, a->span())) << "the place is free again";
}

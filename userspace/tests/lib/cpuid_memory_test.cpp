// SPDX-License-Identifier: GPL-2.0
#include <csignal>
#include <cstring>
#include <type_traits>

#include <gtest/gtest.h>

#include "vapicvm/vapicvm.hpp"

using namespace vapicvm;

TEST(CpuidTable, SetFindReplace)
{
	CpuidTable t;
	ASSERT_TRUE(t.set(0, 0, false, 0x16, 1, 2, 3));
	ASSERT_TRUE(t.set(7, 0, true, 0, 0xaa, 0, 0));
	ASSERT_TRUE(t.set(7, 1, true, 0, 0xbb, 0, 0));
	EXPECT_EQ(3u, t.size());
	EXPECT_EQ(0x16u, t.max_basic_leaf());
	ASSERT_NE(nullptr, t.find(7, 1));
	EXPECT_EQ(0xbbu, t.find(7, 1)->ebx);
	EXPECT_EQ(nullptr, t.find(7, 2));
	/* A leaf without a significant index answers any index. */
	ASSERT_NE(nullptr, t.find(0, 5));
	ASSERT_TRUE(t.set(7, 1, true, 0, 0xcc, 0, 0));
	EXPECT_EQ(3u, t.size());
	EXPECT_EQ(0xccu, t.find(7, 1)->ebx);
	EXPECT_TRUE(t.remove(7, 0));
	EXPECT_FALSE(t.remove(7, 0));
	EXPECT_EQ(2u, t.size());
}

TEST(CpuidTable, Capacity)
{
	CpuidTable t;
	for (std::uint32_t i = 0; i < VAPICVM_MAX_CPUID_ENTRIES; i++)
		ASSERT_TRUE(t.set(0x40000000 + i, 0, false, 0, 0, 0, 0));
	auto r = t.set(0x50000000, 0, false, 0, 0, 0, 0);
	ASSERT_FALSE(r);
	EXPECT_EQ(E2BIG, r.error().errno_value());
}

TEST(CpuidTable, IoctlBufferRoundTrip)
{
	CpuidTable t;
	ASSERT_TRUE(t.set(1, 0, false, 0x906ea, 0x800, 0x80000000, 0x200));
	ASSERT_TRUE(t.set(0xd, 1, true, 1, 2, 3, 4));
	auto buf = t.to_ioctl_buffer();
	ASSERT_EQ(sizeof(vapicvm_cpuid) + 2 * sizeof(vapicvm_cpuid_entry), buf.size());
	vapicvm_cpuid hdr;
	std::memcpy(&hdr, buf.data(), sizeof(hdr));
	EXPECT_EQ(2u, hdr.nent);
	auto back = CpuidTable::from_ioctl_buffer(buf);
	ASSERT_TRUE(back);
	ASSERT_EQ(2u, back->size());
	EXPECT_EQ(0x906eau, back->find(1)->eax);
	EXPECT_EQ(VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX, back->find(0xd, 1)->flags);
	buf.pop_back();
	EXPECT_FALSE(CpuidTable::from_ioctl_buffer(buf));
}

TEST(GuestMemory, RegionsAndAccess)
{
	auto lo = MemoryRegion::anonymous(0x10000);
	auto hi = MemoryRegion::anonymous(5000); /* rounded up to pages */
	ASSERT_TRUE(lo);
	ASSERT_TRUE(hi);
	EXPECT_EQ(8192u, hi->size());
	GuestMemory m;
	ASSERT_TRUE(m.add(0, 0, std::move(*lo)));
	ASSERT_TRUE(m.add(1, 0x100000, std::move(*hi)));
	EXPECT_EQ(0x10000u + 8192u, m.total_size());

	auto again = MemoryRegion::anonymous(4096);
	auto r = m.add(2, 0xf000, std::move(*again));
	ASSERT_FALSE(r);
	EXPECT_EQ(EEXIST, r.error().errno_value());

	EXPECT_TRUE(m.contains(0xfff0, 16));
	EXPECT_FALSE(m.contains(0xfff0, 17)) << "crossing into unbacked space";
	EXPECT_FALSE(m.contains(0x20000));
	EXPECT_TRUE(m.contains(0x101fff));
	EXPECT_FALSE(m.contains(0x102000));

	std::uint32_t v = 0xdeadbeef;
	ASSERT_TRUE(m.write_obj(0x100ffc, v));
	auto back = m.read_obj<std::uint32_t>(0x100ffc);
	ASSERT_TRUE(back);
	EXPECT_EQ(v, *back);
	EXPECT_EQ(0xef, m.span(0x100ffc, 1)[0]);
	auto bad = m.write_obj(0x101ffe, v);
	ASSERT_FALSE(bad);
	EXPECT_EQ(EFAULT, bad.error().errno_value());
	ASSERT_TRUE(m.fill(0x10, 0xab, 4));
	EXPECT_EQ(0xabababab, *m.read_obj<std::uint32_t>(0x10));
	EXPECT_FALSE(m.read_obj<std::uint64_t>(0x50000));
}

TEST(GuestMemory, AnonymousIsZeroed)
{
	auto r = MemoryRegion::anonymous(1 << 20);
	ASSERT_TRUE(r);
	for (std::size_t i = 0; i < r->size(); i += 4096)
		ASSERT_EQ(0, r->data()[i]);
	EXPECT_FALSE(MemoryRegion::anonymous(0));
}

TEST(Objects, MoveOnly)
{
	static_assert(!std::is_copy_constructible_v<System>);
	static_assert(!std::is_copy_constructible_v<Vm>);
	static_assert(!std::is_copy_constructible_v<Vcpu>);
	static_assert(!std::is_copy_constructible_v<MemoryRegion>);
	static_assert(std::is_nothrow_move_constructible_v<System>);
	static_assert(std::is_nothrow_move_constructible_v<Vm>);
	static_assert(std::is_nothrow_move_constructible_v<Vcpu>);
	static_assert(std::is_nothrow_destructible_v<Vm>);
	SUCCEED();
}

TEST(System, OpenMissingDeviceIsAnError)
{
	auto s = System::open("/nonexistent/vapicvm");
	ASSERT_FALSE(s);
	EXPECT_EQ(ENOENT, s.error().errno_value());
	EXPECT_EQ("open", s.error().operation());
	EXPECT_EQ("/nonexistent/vapicvm", s.error().detail());
}

TEST(System, NotTheDeviceIsAnError)
{
	/* /dev/null answers our ioctls with ENOTTY: the version check names it. */
	auto s = System::open("/dev/null");
	ASSERT_FALSE(s);
	EXPECT_EQ(ENOTTY, s.error().errno_value());
	EXPECT_EQ("VAPICVM_GET_API_VERSION", s.error().operation());
}

TEST(VcpuRunner, KickHandlerHasNoSaRestart)
{
	ASSERT_TRUE(VcpuRunner::install_kick_handler());
	struct sigaction sa;
	ASSERT_EQ(0, sigaction(VcpuRunner::kick_signal(), nullptr, &sa));
	EXPECT_EQ(0, sa.sa_flags & SA_RESTART);
	EXPECT_NE(SIG_DFL, sa.sa_handler);
	EXPECT_NE(SIG_IGN, sa.sa_handler);
	/* Idempotent. */
	EXPECT_TRUE(VcpuRunner::install_kick_handler());
}

TEST(Msi, Encoding)
{
	auto m = Msi::fixed(3, 0x41);
	EXPECT_EQ(0xfee03000u, m.address_lo);
	EXPECT_EQ(0x41u, m.data);
	EXPECT_EQ(0x400u, Msi::nmi(0).data);
}

TEST(Stats, Names)
{
	EXPECT_EQ("exits", VcpuStats::name(VAPICVM_STAT_EXITS));
	EXPECT_EQ("timer_fired", VcpuStats::name(VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ("", VcpuStats::name(VAPICVM_STAT_NR));
	VcpuStats s{{1, 2}};
	EXPECT_EQ(2u, s[VAPICVM_STAT_EXIT_EXTINT]);
	EXPECT_EQ(0u, s[VAPICVM_STAT_TIMER_FIRED]);
}

TEST(Lapic, RegisterAccess)
{
	LapicState s;
	s.set_reg(0x350, 0x700);
	EXPECT_EQ(0x700u, s.reg(0x350));
	EXPECT_EQ(0u, s.reg(0x3fe)) << "past the page: 0";
	s.set_reg(0x3fe, 1); /* ignored */
}

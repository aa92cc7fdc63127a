// SPDX-License-Identifier: GPL-2.0
#include <csignal>
#include <cstring>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "vapicvm/vmm/vmm.hpp"

#include "../../lib/flex_buffer.hpp"

using namespace vapicvm;
using namespace vapicvm::vmm;

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

/* The ioctl argument SET_CPUID, GET_MSRS and GET_STATS use (lib/flex_buffer.hpp). */
TEST(FlexBuffer, HeaderThenEntries)
{
	CpuidTable t;
	ASSERT_TRUE(t.set(1, 0, false, 0x906ea, 0x800, 0x80000000, 0x200));
	ASSERT_TRUE(t.set(0xd, 1, true, 1, 2, 3, 4));
	vapicvm_cpuid hdr{};
	hdr.nent = 2;
	detail::FlexBuffer<vapicvm_cpuid, vapicvm_cpuid_entry> buf(hdr, t.entries(), 4);
	EXPECT_EQ(4u, buf.capacity());
	EXPECT_EQ(0u, reinterpret_cast<std::uintptr_t>(buf.data()) % 8);
	EXPECT_EQ(2u, buf.header().nent);
	vapicvm_cpuid_entry second;
	std::memcpy(&second,
		    static_cast<std::uint8_t *>(buf.data()) + sizeof(vapicvm_cpuid) +
			    sizeof(vapicvm_cpuid_entry),
		    sizeof(second));
	EXPECT_EQ(VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX, second.flags);
	auto back = buf.entries(buf.header().nent, "test");
	ASSERT_TRUE(back);
	CpuidTable again(std::move(*back));
	ASSERT_EQ(2u, again.size());
	EXPECT_EQ(0x906eau, again.find(1)->eax);
	auto too_many = buf.entries(5, "test");
	ASSERT_FALSE(too_many) << "a count past the capacity is the kernel's mistake";
	EXPECT_EQ(EPROTO, too_many.error().errno_value());
}

TEST(GuestMemory, RegionsAndAccess)
{
	auto lo = MemoryRegion::anonymous(0x10000);
	auto hi = MemoryRegion::anonymous(5000); /* rounded up to pages */
	ASSERT_TRUE(lo);
	ASSERT_TRUE(hi);
	EXPECT_EQ(8192u, hi->size());
	GuestMemory m;
	ASSERT_TRUE(m.add(0, lo->span()));
	ASSERT_TRUE(m.add(0x100000, hi->span()));
	EXPECT_EQ(0x10000u + 8192u, m.total_size());

	auto again = MemoryRegion::anonymous(4096);
	auto r = m.add(0xf000, again->span());
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

/* A view of memory slots, as a VMM makes one of Vm::memory_slots(). */
TEST(GuestMemory, ViewOfSlots)
{
	std::vector<MemorySlot> slots;
	auto a = MemoryRegion::anonymous(4096);
	auto b = MemoryRegion::anonymous(8192);
	ASSERT_TRUE(a && b);
	slots.push_back(MemorySlot{0, 0, 0, std::move(*a)});
	slots.push_back(MemorySlot{1, 0x100000, VAPICVM_MEM_READONLY, std::move(*b)});
	GuestMemory m(slots);
	EXPECT_EQ(4096u + 8192u, m.total_size());
	ASSERT_TRUE(m.write_obj<std::uint16_t>(0x100002, 0x1234));
	EXPECT_EQ(0x34, slots[1].mem.data()[2]) << "writes land in the slot's region";
	EXPECT_FALSE(m.contains(0x1000));
	static_assert(std::is_copy_constructible_v<GuestMemory>, "a view");
}

/* The names and descriptions come from the UAPI table, one per counter. */
TEST(Stats, Names)
{
	EXPECT_EQ("exits", VcpuStats::name(VAPICVM_STAT_EXITS));
	EXPECT_EQ("timer_fired", VcpuStats::name(VAPICVM_STAT_TIMER_FIRED));
	EXPECT_EQ("", VcpuStats::name(VAPICVM_STAT_NR));
	EXPECT_EQ("all VM exits", VcpuStats::description(VAPICVM_STAT_EXITS));
	EXPECT_EQ("", VcpuStats::description(VAPICVM_STAT_NR));
	for (std::size_t i = 0; i < VAPICVM_STAT_NR; i++) {
		EXPECT_FALSE(VcpuStats::name(i).empty()) << i;
		EXPECT_FALSE(VcpuStats::description(i).empty()) << i;
	}
	VcpuStats s{{1, 2}};
	EXPECT_EQ(2u, s[VAPICVM_STAT_EXIT_EXTINT]);
	EXPECT_EQ(0u, s[VAPICVM_STAT_TIMER_FIRED]);
}

TEST(Stats, VmNames)
{
	EXPECT_EQ("ept_tables", VmStats::name(VAPICVM_VM_STAT_EPT_TABLES));
	EXPECT_EQ("vcpus_without_vpid", VmStats::name(VAPICVM_VM_STAT_VCPUS_WITHOUT_VPID));
	EXPECT_EQ("", VmStats::name(VAPICVM_VM_STAT_NR));
	EXPECT_EQ("", VmStats::description(VAPICVM_VM_STAT_NR));
	for (std::size_t i = 0; i < VAPICVM_VM_STAT_NR; i++) {
		EXPECT_FALSE(VmStats::name(i).empty()) << i;
		EXPECT_FALSE(VmStats::description(i).empty()) << i;
	}
	VmStats s{{7}};
	EXPECT_EQ(7u, s[VAPICVM_VM_STAT_EPT_TABLES]);
	EXPECT_EQ(0u, s[VAPICVM_VM_STAT_TLB_FLUSHES]);
}

TEST(Lapic, RegisterAccess)
{
	LapicState s;
	s.set_reg(0x350, 0x700);
	EXPECT_EQ(0x700u, s.reg(0x350));
	EXPECT_EQ(0u, s.reg(0x3fe)) << "past the page: 0";
	s.set_reg(0x3fe, 1); /* ignored */
}

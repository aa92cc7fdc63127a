// SPDX-License-Identifier: GPL-2.0
/* Guest debugging: the debug exit's view and GuestDebug's encoding. */
#include <cstring>
#include <type_traits>

#include <gtest/gtest.h>

#include "vapicvm/exit.hpp"
#include "vapicvm/vcpu.hpp"

using namespace vapicvm;

namespace
{
struct Page {
	alignas(4096) std::uint8_t bytes[4096] = {};
	vapicvm_run *debug(std::uint32_t exception, std::uint64_t pc, std::uint64_t dr6)
	{
		auto *r = reinterpret_cast<vapicvm_run *>(bytes);
		r->exit_reason = VAPICVM_EXIT_DEBUG;
		r->debug.exception = exception;
		r->debug.pc = pc;
		r->debug.dr6 = dr6;
		r->debug.dr7 = 0x402;
		return r;
	}
};
} // namespace

static_assert(DebugExit::exit_reason == VAPICVM_EXIT_DEBUG);
static_assert(std::is_copy_constructible_v<DebugExit>, "a plain value");

TEST(DebugExit, Breakpoint)
{
	Page p;
	auto r = decode_exit(p.debug(3, 0x100123, 0), sizeof(p.bytes));
	ASSERT_TRUE(r) << r.error().message();
	ASSERT_TRUE(std::holds_alternative<DebugExit>(*r)) << exit_name(*r);
	const auto &d = std::get<DebugExit>(*r);
	EXPECT_EQ(3u, d.exception);
	EXPECT_EQ(0x100123u, d.pc);
	EXPECT_EQ(0x402u, d.dr7);
	EXPECT_TRUE(d.is_breakpoint());
	EXPECT_FALSE(d.is_single_step());
	EXPECT_EQ(0u, d.hw_hits());
	EXPECT_EQ("debug", exit_name(*r));
}

TEST(DebugExit, SingleStepAndHardwareHits)
{
	Page p;
	auto r = decode_exit(p.debug(1, 0x2000, 0xffff4ff0), sizeof(p.bytes));
	ASSERT_TRUE(r);
	auto d = std::get<DebugExit>(*r);
	EXPECT_TRUE(d.is_single_step());
	EXPECT_FALSE(d.is_breakpoint());
	EXPECT_EQ(0u, d.hw_hits());

	r = decode_exit(p.debug(1, 0x2000, 0xffff0ff4), sizeof(p.bytes));
	ASSERT_TRUE(r);
	d = std::get<DebugExit>(*r);
	EXPECT_FALSE(d.is_single_step());
	EXPECT_EQ(4u, d.hw_hits()) << "DR2 hit";
}

TEST(DebugExit, OtherExceptionsAreRejected)
{
	Page p;
	for (std::uint32_t vec : {0u, 2u, 6u, 14u, 0xffffffffu}) {
		auto r = decode_exit(p.debug(vec, 0, 0), sizeof(p.bytes));
		ASSERT_FALSE(r) << "exception " << vec;
		EXPECT_EQ(EPROTO, r.error().errno_value());
	}
}

TEST(GuestDebug, OffByDefault)
{
	auto g = GuestDebug{}.raw();
	ASSERT_TRUE(g);
	EXPECT_EQ(0u, g->control);
	for (auto v : g->debugreg)
		EXPECT_EQ(0u, v);
}

TEST(GuestDebug, Flags)
{
	GuestDebug d;
	d.single_step = true;
	auto g = d.raw();
	ASSERT_TRUE(g);
	EXPECT_EQ(VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_SINGLESTEP, g->control);
	d.single_step = false;
	d.sw_breakpoints = true;
	g = d.raw();
	ASSERT_TRUE(g);
	EXPECT_EQ(VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_SW_BP, g->control);
	EXPECT_EQ(0u, g->debugreg[7]);
}

TEST(GuestDebug, HardwareBreakpointsEncodeDr7)
{
	GuestDebug d;
	d.hw.push_back({0x100000, HwBreakType::Execute, 1});
	d.hw.push_back({0x8000, HwBreakType::Write, 4});
	d.hw.push_back({0x9000, HwBreakType::ReadWrite, 8});
	d.hw.push_back({0xa002, HwBreakType::Write, 2});
	auto g = d.raw();
	ASSERT_TRUE(g) << g.error().message();
	EXPECT_EQ(VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_HW_BP, g->control);
	EXPECT_EQ(0x100000u, g->debugreg[0]);
	EXPECT_EQ(0x8000u, g->debugreg[1]);
	EXPECT_EQ(0x9000u, g->debugreg[2]);
	EXPECT_EQ(0xa002u, g->debugreg[3]);
	for (int i = 4; i < 7; i++)
		EXPECT_EQ(0u, g->debugreg[i]);
	/*
	 * G0-G3 (0xaa), bit 10; RW/LEN: DR0 00/00, DR1 01/11 (write, 4),
	 * DR2 11/10 (read/write, 8), DR3 01/01 (write, 2).
	 */
	EXPECT_EQ(0x5bd004aau, g->debugreg[7]);
}

TEST(GuestDebug, BadBreakpointsAreEinval)
{
	auto einval = [](GuestDebug d) {
		auto g = d.raw();
		return !g && g.error().errno_value() == EINVAL;
	};
	GuestDebug five;
	five.hw.assign(5, HwBreakpoint{});
	EXPECT_TRUE(einval(five));
	EXPECT_TRUE(einval(GuestDebug{false, false, {{0x1000, HwBreakType::Execute, 4}}}));
	EXPECT_TRUE(einval(GuestDebug{false, false, {{0x1000, HwBreakType::Write, 3}}}));
	EXPECT_TRUE(einval(GuestDebug{false, false, {{0x1002, HwBreakType::Write, 4}}}));
	EXPECT_TRUE(einval(GuestDebug{false, false, {{0x1000, HwBreakType(2), 1}}}));
	EXPECT_FALSE(einval(GuestDebug{false, false, {{0x1003, HwBreakType::ReadWrite, 1}}}));
}

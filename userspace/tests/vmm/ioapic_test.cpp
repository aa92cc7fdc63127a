// SPDX-License-Identifier: GPL-2.0
#include <vector>

#include <gtest/gtest.h>

#include "vapicvm/vmm/ioapic.hpp"

using vapicvm::Msi;
using vapicvm::vmm::IoApic;

namespace
{
struct IoApicFixture : testing::Test {
	std::vector<Msi> sent;
	IoApic io{[this](const Msi &m) { sent.push_back(m); }, 2};

	void write_entry(unsigned pin, std::uint64_t e)
	{
		io.mmio_write(IoApic::reg_select, 0x10 + 2 * pin + 1);
		io.mmio_write(IoApic::reg_window, std::uint32_t(e >> 32));
		io.mmio_write(IoApic::reg_select, 0x10 + 2 * pin);
		io.mmio_write(IoApic::reg_window, std::uint32_t(e));
	}
	std::uint32_t read_reg(std::uint8_t index)
	{
		io.mmio_write(IoApic::reg_select, index);
		return io.mmio_read(IoApic::reg_window);
	}
};

constexpr std::uint64_t level_entry(std::uint8_t vector, std::uint8_t dest)
{
	return vector | IoApic::level_triggered | std::uint64_t(dest) << IoApic::dest_shift;
}
} // namespace

TEST_F(IoApicFixture, ResetMasksEveryEntryAndReportsVersion)
{
	for (unsigned pin = 0; pin < IoApic::pins; ++pin)
		EXPECT_EQ(io.entry(pin), IoApic::masked) << pin;
	EXPECT_EQ(read_reg(0x01), 0x170020u); /* 24 entries, version 0x20 */
	EXPECT_EQ(read_reg(0x00), 2u << 24);
	io.set_line(3, true);
	EXPECT_TRUE(sent.empty());
}

TEST_F(IoApicFixture, EdgeEntryDeliversOncePerAssertion)
{
	write_entry(1, 0x31 | std::uint64_t(5) << IoApic::dest_shift);
	io.set_line(1, true);
	io.set_line(1, true); /* still high: no new edge */
	io.set_line(1, false);
	io.set_line(1, true);
	ASSERT_EQ(sent.size(), 2u);
	EXPECT_EQ(sent[0].address_lo, 0xfee05000u);
	EXPECT_EQ(sent[0].data, 0x31u | 1u << 14);
	EXPECT_EQ(io.delivered(1), 2u);
	EXPECT_FALSE(io.entry(1) & IoApic::remote_irr);
}

TEST_F(IoApicFixture, LevelEntryWaitsForEoiAndRedeliversWhileAsserted)
{
	write_entry(9, level_entry(0x41, 1));
	io.set_line(9, true);
	io.set_line(9, true); /* remote IRR holds it */
	ASSERT_EQ(sent.size(), 1u);
	EXPECT_EQ(sent[0].data, 0x41u | 1u << 14 | 1u << 15);
	EXPECT_TRUE(io.entry(9) & IoApic::remote_irr);

	io.eoi(0x42); /* another vector: nothing */
	EXPECT_EQ(sent.size(), 1u);
	io.eoi(0x41); /* still asserted: again */
	EXPECT_EQ(sent.size(), 2u);
	io.set_line(9, false);
	io.eoi(0x41); /* deasserted: remote IRR clears, nothing sent */
	EXPECT_EQ(sent.size(), 2u);
	EXPECT_FALSE(io.entry(9) & IoApic::remote_irr);
	io.set_line(9, true);
	EXPECT_EQ(sent.size(), 3u);
}

TEST_F(IoApicFixture, EoiRegisterActsLikeTheEoiMessage)
{
	write_entry(4, level_entry(0x50, 0));
	io.set_line(4, true);
	io.mmio_write(IoApic::reg_eoi, 0x50);
	EXPECT_EQ(sent.size(), 2u);
}

TEST_F(IoApicFixture, UnmaskingAnAssertedLevelLineDelivers)
{
	write_entry(7, level_entry(0x60, 0) | IoApic::masked);
	io.set_line(7, true);
	EXPECT_TRUE(sent.empty());
	write_entry(7, level_entry(0x60, 0));
	EXPECT_EQ(sent.size(), 1u);
}

TEST_F(IoApicFixture, GuestCannotWriteRemoteIrrOrDeliveryStatus)
{
	write_entry(2, level_entry(0x70, 0) | IoApic::remote_irr | IoApic::delivery_status);
	EXPECT_FALSE(io.entry(2) & (IoApic::remote_irr | IoApic::delivery_status));
	io.set_line(2, true);
	EXPECT_TRUE(io.entry(2) & IoApic::remote_irr);
	/* Rewriting the entry (say, a new destination) keeps the handshake. */
	write_entry(2, level_entry(0x70, 3));
	EXPECT_TRUE(io.entry(2) & IoApic::remote_irr);
	EXPECT_EQ(sent.size(), 1u);
}

TEST_F(IoApicFixture, SwitchToEdgeDropsRemoteIrr)
{
	write_entry(5, level_entry(0x80, 0));
	io.set_line(5, true);
	ASSERT_TRUE(io.entry(5) & IoApic::remote_irr);
	write_entry(5, 0x80);
	EXPECT_FALSE(io.entry(5) & IoApic::remote_irr);
	io.eoi(0x80); /* an EOI for an edge entry changes nothing */
	EXPECT_EQ(sent.size(), 1u);
}

TEST_F(IoApicFixture, LogicalAndLowestPriorityBecomeMsiAddressBits)
{
	const Msi m = IoApic::message(0x90 | 1u << 8 | IoApic::dest_logical |
				      std::uint64_t(0x0f) << IoApic::dest_shift);
	EXPECT_EQ(m.address_lo, 0xfee00000u | 0x0fu << 12 | 1u << 2 | 1u << 3);
	EXPECT_EQ(m.data, 0x90u | 1u << 8 | 1u << 14);
}

TEST_F(IoApicFixture, OutOfRangeAccessesAreIgnored)
{
	io.set_line(IoApic::pins, true);
	io.mmio_write(0x20, 1);
	EXPECT_EQ(io.mmio_read(0x20), 0u);
	EXPECT_EQ(read_reg(0x10 + 2 * IoApic::pins), 0u);
	io.mmio_write(IoApic::reg_select, 0x01);
	io.mmio_write(IoApic::reg_window, 0); /* version is read-only */
	EXPECT_EQ(read_reg(0x01), 0x170020u);
	EXPECT_TRUE(sent.empty());
}

TEST_F(IoApicFixture, RoutesFollowUnmaskedEdgeEntries)
{
	std::vector<std::pair<unsigned, std::optional<Msi>>> routes;
	io.set_route([&](unsigned pin, std::optional<Msi> m) { routes.emplace_back(pin, m); });
	/* Every pin once, at first: all masked, so no route. */
	ASSERT_EQ(routes.size(), IoApic::pins);
	for (const auto &r : routes)
		EXPECT_FALSE(r.second.has_value());
	routes.clear();

	write_entry(4, 0x41 | std::uint64_t(1) << IoApic::dest_shift); /* unmasked edge */
	ASSERT_EQ(routes.size(), 1u);
	EXPECT_EQ(routes[0].first, 4u);
	ASSERT_TRUE(routes[0].second.has_value());
	EXPECT_EQ(routes[0].second->address_lo, 0xfee01000u);
	EXPECT_EQ(routes[0].second->data, 0x41u | 1u << 14);
	write_entry(4, 0x41 | std::uint64_t(1) << IoApic::dest_shift); /* unchanged */
	EXPECT_EQ(routes.size(), 1u);
	write_entry(4, 0x42 | std::uint64_t(1) << IoApic::dest_shift); /* new vector */
	ASSERT_EQ(routes.size(), 2u);
	EXPECT_EQ(routes[1].second->data, 0x42u | 1u << 14);
	write_entry(4, 0x42 | IoApic::masked | std::uint64_t(1) << IoApic::dest_shift); /* masked */
	ASSERT_EQ(routes.size(), 3u);
	EXPECT_FALSE(routes[2].second.has_value());
	write_entry(5, level_entry(0x51, 0)); /* level: the handshake is the VMM's */
	EXPECT_EQ(routes.size(), 3u);
	EXPECT_TRUE(sent.empty());
}

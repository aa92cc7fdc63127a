// SPDX-License-Identifier: GPL-2.0
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vapicvm/fd.hpp"
#include "vapicvm/vmm/level_irqfds.hpp"

using vapicvm::Msi;
using vapicvm::UniqueFd;
using vapicvm::vmm::IoApic;
using vapicvm::vmm::LevelIrqfds;

namespace
{
constexpr unsigned pin = 9;
constexpr std::uint8_t vector = 0x59;

struct LevelIrqfdsFixture : testing::Test {
	std::mutex mu;
	std::condition_variable cv;
	std::vector<Msi> sent;
	IoApic io{[this](const Msi &m) {
		std::lock_guard g(mu);
		sent.push_back(m);
		cv.notify_all();
	}};
	UniqueFd trigger{::eventfd(0, EFD_CLOEXEC)};
	UniqueFd resample{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};

	void SetUp() override
	{
		ASSERT_GE(trigger.get(), 0);
		ASSERT_GE(resample.get(), 0);
		/* Unmasked, level-triggered, to APIC ID 0. */
		const std::uint64_t e = vector | IoApic::level_triggered;
		io.mmio_write(IoApic::reg_select, 0x10 + 2 * pin);
		io.mmio_write(IoApic::reg_window, std::uint32_t(e));
	}
	static void signal(int fd)
	{
		const std::uint64_t one = 1;
		ASSERT_EQ(::write(fd, &one, sizeof(one)), ssize_t(sizeof(one)));
	}
	/* Wait up to 5 s for n messages in all. */
	bool wait_sent(std::size_t n)
	{
		std::unique_lock g(mu);
		return cv.wait_for(g, std::chrono::seconds(5), [&] { return sent.size() >= n; });
	}
	std::size_t nsent()
	{
		std::lock_guard g(mu);
		return sent.size();
	}
	/* The resample eventfd's count, 0 if none (nonblocking). */
	std::uint64_t resamples()
	{
		std::uint64_t n = 0;
		return ::read(resample.get(), &n, sizeof(n)) == sizeof(n) ? n : 0;
	}
};
} // namespace

TEST_F(LevelIrqfdsFixture, TriggerAssertsEoiResamplesAndDrops)
{
	LevelIrqfds lines(io);
	ASSERT_TRUE(lines.start());
	ASSERT_TRUE(lines.add(pin, trigger.get(), resample.get()));

	signal(trigger.get());
	ASSERT_TRUE(wait_sent(1));
	EXPECT_EQ(sent[0].data, vector | 1u << 15 | 1u << 14);
	EXPECT_TRUE(io.entry(pin) & IoApic::remote_irr);
	EXPECT_TRUE(io.line(pin));

	/* Remote IRR holds: another trigger sends nothing before the EOI. */
	signal(trigger.get());
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	EXPECT_EQ(nsent(), 1u);

	/* The EOI drops the line (no re-delivery) and resamples. */
	io.eoi(vector);
	EXPECT_FALSE(io.line(pin));
	EXPECT_FALSE(io.entry(pin) & IoApic::remote_irr);
	EXPECT_EQ(resamples(), 1u);
	EXPECT_EQ(nsent(), 1u);

	/* The device still needs service: it triggers again. */
	signal(trigger.get());
	ASSERT_TRUE(wait_sent(2));
	EXPECT_EQ(io.delivered(pin), 2u);
}

TEST_F(LevelIrqfdsFixture, RemoveDropsTheLineAndStopsResampling)
{
	LevelIrqfds lines(io);
	ASSERT_TRUE(lines.start());
	ASSERT_TRUE(lines.add(pin, trigger.get(), resample.get()));
	auto again = lines.add(pin, trigger.get(), resample.get());
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().errno_value(), EBUSY);

	signal(trigger.get());
	ASSERT_TRUE(wait_sent(1));
	ASSERT_TRUE(lines.remove(pin));
	EXPECT_FALSE(io.line(pin));
	auto gone = lines.remove(pin);
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().errno_value(), ENOENT);

	io.eoi(vector); /* remote IRR clears, nothing is resampled */
	EXPECT_EQ(resamples(), 0u);
	signal(trigger.get()); /* nobody listens to it now */
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	EXPECT_EQ(nsent(), 1u);
}

TEST_F(LevelIrqfdsFixture, BadArgumentsAreErrors)
{
	LevelIrqfds lines(io);
	EXPECT_EQ(lines.add(IoApic::pins, trigger.get(), resample.get()).error().errno_value(),
		  EINVAL);
	EXPECT_EQ(lines.add(pin, -1, resample.get()).error().errno_value(), EINVAL);
	ASSERT_TRUE(lines.start());
	EXPECT_EQ(lines.start().error().errno_value(), EBUSY);
}

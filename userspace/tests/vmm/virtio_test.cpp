// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm-run's virtio-mmio block device against a fake guest memory and a
 * memfd disk: the driver's side of the handshake, good requests, and rings
 * a hostile guest could write.
 */
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "options.hpp"
#include "virtio_mmio.hpp"

using namespace vrun;
using vapicvm::UniqueFd;

namespace
{

constexpr std::uint64_t ram_size = 1 << 20;
constexpr std::uint64_t disk_size = 64 * 1024;
constexpr std::uint16_t qsize = 8;
/* Where the fake driver puts things in guest RAM. */
constexpr std::uint64_t desc_gpa = 0x1000, avail_gpa = 0x2000, used_gpa = 0x3000;
constexpr std::uint64_t hdr_gpa = 0x4000, data_gpa = 0x10000, status_gpa = 0x5000;

struct VirtioFixture : testing::Test {
	alignas(4096) static inline std::uint8_t ram[ram_size];
	vapicvm::vmm::GuestMemory mem;
	std::unique_ptr<VirtioMmio> dev;
	std::mutex mu;
	std::condition_variable cv;
	unsigned irqs = 0;
	std::vector<std::string> logs;
	int disk_fd = -1;
	std::uint16_t avail_idx = 0;

	void SetUp() override { make(false); }

	void make(bool readonly)
	{
		dev.reset();
		std::memset(ram, 0, sizeof(ram));
		mem = {};
		ASSERT_TRUE(mem.add(0, std::span<std::uint8_t>(ram, ram_size)));
		UniqueFd fd(::memfd_create("virtio-test-disk", MFD_CLOEXEC));
		ASSERT_TRUE(fd);
		ASSERT_EQ(0, ::ftruncate(fd.get(), disk_size));
		/* Sector s holds bytes (s + i) & 0xff. */
		std::vector<std::uint8_t> pattern(disk_size);
		for (std::size_t i = 0; i < pattern.size(); i++)
			pattern[i] = static_cast<std::uint8_t>(i / 512 + i);
		ASSERT_EQ(ssize_t(disk_size), ::pwrite(fd.get(), pattern.data(), disk_size, 0));
		disk_fd = fd.get();
		dev = std::make_unique<VirtioMmio>(
			mem,
			std::make_unique<VirtioBlk>(std::move(fd), disk_size, readonly,
						    "vapicvm-test-disk"),
			[this] {
				std::lock_guard<std::mutex> g(mu);
				irqs++;
				cv.notify_all();
			},
			[this](const std::string &s) { logs.push_back(s); });
		avail_idx = 0;
	}

	std::uint32_t rd(std::uint64_t off)
	{
		return static_cast<std::uint32_t>(dev->read(off, 4));
	}
	void wr(std::uint64_t off, std::uint32_t v) { dev->write(off, 4, v); }

	/* The driver's initialization (3.1.1) with a queue at the fixed addresses. */
	void bring_up(std::uint64_t features = VirtioBlk::f_version_1 | VirtioBlk::f_flush)
	{
		wr(VirtioMmio::R_STATUS, 0);
		wr(VirtioMmio::R_STATUS, VirtioMmio::S_ACKNOWLEDGE | VirtioMmio::S_DRIVER);
		wr(VirtioMmio::R_DRIVER_FEATURES_SEL, 0);
		wr(VirtioMmio::R_DRIVER_FEATURES, std::uint32_t(features));
		wr(VirtioMmio::R_DRIVER_FEATURES_SEL, 1);
		wr(VirtioMmio::R_DRIVER_FEATURES, std::uint32_t(features >> 32));
		wr(VirtioMmio::R_STATUS,
		   VirtioMmio::S_ACKNOWLEDGE | VirtioMmio::S_DRIVER | VirtioMmio::S_FEATURES_OK);
		ASSERT_TRUE(rd(VirtioMmio::R_STATUS) & VirtioMmio::S_FEATURES_OK);
		wr(VirtioMmio::R_QUEUE_SEL, 0);
		ASSERT_EQ(SplitQueue::max_size, rd(VirtioMmio::R_QUEUE_NUM_MAX));
		wr(VirtioMmio::R_QUEUE_NUM, qsize);
		wr(VirtioMmio::R_QUEUE_DESC_LOW, desc_gpa);
		wr(VirtioMmio::R_QUEUE_DESC_HIGH, 0);
		wr(VirtioMmio::R_QUEUE_DRIVER_LOW, avail_gpa);
		wr(VirtioMmio::R_QUEUE_DRIVER_HIGH, 0);
		wr(VirtioMmio::R_QUEUE_DEVICE_LOW, used_gpa);
		wr(VirtioMmio::R_QUEUE_DEVICE_HIGH, 0);
		wr(VirtioMmio::R_QUEUE_READY, 1);
		ASSERT_EQ(1u, rd(VirtioMmio::R_QUEUE_READY));
		wr(VirtioMmio::R_STATUS, VirtioMmio::S_ACKNOWLEDGE | VirtioMmio::S_DRIVER |
						 VirtioMmio::S_FEATURES_OK |
						 VirtioMmio::S_DRIVER_OK);
	}

	void desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
		  std::uint16_t next = 0)
	{
		std::uint8_t *d = ram + desc_gpa + 16 * i;
		std::memcpy(d, &addr, 8);
		std::memcpy(d + 8, &len, 4);
		std::memcpy(d + 12, &flags, 2);
		std::memcpy(d + 14, &next, 2);
	}
	/* Offer head, then publish the index (as count entries if given). */
	void offer(std::uint16_t head)
	{
		std::memcpy(ram + avail_gpa + 4 + 2 * (avail_idx % qsize), &head, 2);
		avail_idx++;
		std::memcpy(ram + avail_gpa + 2, &avail_idx, 2);
	}
	void set_avail_idx(std::uint16_t v) { std::memcpy(ram + avail_gpa + 2, &v, 2); }
	void header(std::uint32_t type, std::uint64_t sector)
	{
		std::memcpy(ram + hdr_gpa, &type, 4);
		std::memset(ram + hdr_gpa + 4, 0, 4);
		std::memcpy(ram + hdr_gpa + 8, &sector, 8);
	}
	/* A three-descriptor request: header, data (readable or writable), status. */
	void request(std::uint32_t type, std::uint64_t sector, std::uint32_t len, bool data_in)
	{
		header(type, sector);
		ram[status_gpa] = 0xee;
		desc(0, hdr_gpa, 16, virtq_desc_f_next, 1);
		desc(1, data_gpa, len,
		     virtq_desc_f_next | (data_in ? virtq_desc_f_write : std::uint16_t(0)), 2);
		desc(2, status_gpa, 1, virtq_desc_f_write);
		offer(0);
	}
	std::uint16_t used_idx()
	{
		std::uint16_t v;
		std::memcpy(&v, ram + used_gpa + 2, 2);
		return v;
	}
	std::pair<std::uint32_t, std::uint32_t> used_elem(std::uint16_t i)
	{
		std::uint32_t id, len;
		std::memcpy(&id, ram + used_gpa + 4 + 8 * (i % qsize), 4);
		std::memcpy(&len, ram + used_gpa + 8 + 8 * (i % qsize), 4);
		return {id, len};
	}
	bool needs_reset() { return rd(VirtioMmio::R_STATUS) & VirtioMmio::S_NEEDS_RESET; }
};

} // namespace

TEST_F(VirtioFixture, IdentityFeaturesAndConfig)
{
	EXPECT_EQ(0x74726976u, rd(VirtioMmio::R_MAGIC));
	EXPECT_EQ(2u, rd(VirtioMmio::R_VERSION));
	EXPECT_EQ(2u, rd(VirtioMmio::R_DEVICE_ID));
	wr(VirtioMmio::R_DEVICE_FEATURES_SEL, 1);
	EXPECT_EQ(1u, rd(VirtioMmio::R_DEVICE_FEATURES)); /* VERSION_1 */
	wr(VirtioMmio::R_DEVICE_FEATURES_SEL, 0);
	std::uint32_t lo = rd(VirtioMmio::R_DEVICE_FEATURES);
	EXPECT_TRUE(lo & VirtioBlk::f_flush);
	EXPECT_TRUE(lo & VirtioBlk::f_blk_size);
	EXPECT_FALSE(lo & VirtioBlk::f_ro);
	/* capacity in 512-byte sectors, as one 64-bit and as two 32-bit reads */
	EXPECT_EQ(disk_size / 512, dev->read(VirtioMmio::R_CONFIG, 8));
	EXPECT_EQ(disk_size / 512, dev->read(VirtioMmio::R_CONFIG, 4));
	EXPECT_EQ(0u, dev->read(VirtioMmio::R_CONFIG + 4, 4));
	EXPECT_EQ(512u, dev->read(VirtioMmio::R_CONFIG + 20, 4));
	EXPECT_EQ(VirtioBlk::seg_max, dev->read(VirtioMmio::R_CONFIG + 12, 4));
	EXPECT_EQ(0u, dev->read(VirtioMmio::R_CONFIG + 0x80, 4));
	/* Registers take 32-bit accesses only. */
	EXPECT_EQ(0u, dev->read(VirtioMmio::R_MAGIC, 2));
}

TEST_F(VirtioFixture, FeaturesOkRefusedWithoutVersion1OrWithUnknownBits)
{
	wr(VirtioMmio::R_STATUS, VirtioMmio::S_ACKNOWLEDGE | VirtioMmio::S_DRIVER);
	wr(VirtioMmio::R_DRIVER_FEATURES_SEL, 0);
	wr(VirtioMmio::R_DRIVER_FEATURES, VirtioBlk::f_flush);
	wr(VirtioMmio::R_STATUS, 0xb);
	EXPECT_FALSE(rd(VirtioMmio::R_STATUS) & VirtioMmio::S_FEATURES_OK);
	wr(VirtioMmio::R_DRIVER_FEATURES_SEL, 1);
	wr(VirtioMmio::R_DRIVER_FEATURES, 1 | 2); /* VERSION_1 and ACCESS_PLATFORM */
	wr(VirtioMmio::R_STATUS, 0xb);
	EXPECT_FALSE(rd(VirtioMmio::R_STATUS) & VirtioMmio::S_FEATURES_OK);
	wr(VirtioMmio::R_DRIVER_FEATURES, 1);
	wr(VirtioMmio::R_STATUS, 0xb);
	EXPECT_TRUE(rd(VirtioMmio::R_STATUS) & VirtioMmio::S_FEATURES_OK);
}

TEST_F(VirtioFixture, ReadAcrossBuffersInterruptAndAck)
{
	bring_up();
	/* Two sectors from sector 3, into two writable buffers. */
	header(VirtioBlk::T_IN, 3);
	desc(0, hdr_gpa, 16, virtq_desc_f_next, 5);
	desc(5, data_gpa, 700, virtq_desc_f_next | virtq_desc_f_write, 2);
	desc(2, data_gpa + 0x1000, 324, virtq_desc_f_next | virtq_desc_f_write, 7);
	desc(7, status_gpa, 1, virtq_desc_f_write);
	ram[status_gpa] = 0xee;
	offer(0);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
	ASSERT_EQ(1u, used_idx());
	EXPECT_EQ(0u, used_elem(0).first);
	EXPECT_EQ(1025u, used_elem(0).second);
	for (unsigned i = 0; i < 1024; i++) {
		std::uint64_t at = i < 700 ? data_gpa + i : data_gpa + 0x1000 + (i - 700);
		std::size_t disk_off = 3 * 512 + i;
		ASSERT_EQ(static_cast<std::uint8_t>(disk_off / 512 + disk_off), ram[at]) << i;
	}
	EXPECT_EQ(1u, irqs);
	EXPECT_EQ(1u, dev->interrupts());
	EXPECT_EQ(VirtioMmio::INT_VRING, rd(VirtioMmio::R_INTERRUPT_STATUS));
	wr(VirtioMmio::R_INTERRUPT_ACK, VirtioMmio::INT_VRING);
	EXPECT_EQ(0u, rd(VirtioMmio::R_INTERRUPT_STATUS));
	/* Nothing new: no used entry, no interrupt. */
	dev->process();
	EXPECT_EQ(1u, used_idx());
	EXPECT_EQ(1u, irqs);
}

TEST_F(VirtioFixture, WriteFlushGetIdAndUnsupported)
{
	bring_up();
	std::memset(ram + data_gpa, 0x5a, 1024);
	request(VirtioBlk::T_OUT, 10, 1024, false);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
	EXPECT_EQ(1u, used_elem(0).second);
	std::uint8_t back[1024];
	ASSERT_EQ(1024, ::pread(disk_fd, back, sizeof(back), 10 * 512));
	EXPECT_EQ(0x5a, back[0]);
	EXPECT_EQ(0x5a, back[1023]);

	request(VirtioBlk::T_FLUSH, 0, 0, false);
	/* A flush has no data: header and status only. */
	desc(0, hdr_gpa, 16, virtq_desc_f_next, 2);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);

	request(VirtioBlk::T_GET_ID, 0, 20, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
	EXPECT_EQ(0, std::memcmp(ram + data_gpa, "vapicvm-test-disk", 17));
	EXPECT_EQ(21u, used_elem(2).second);

	request(77, 0, 512, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_UNSUPP, ram[status_gpa]);
	EXPECT_EQ(4u, used_idx());
	EXPECT_FALSE(needs_reset());
	EXPECT_EQ(4u, dev->blk().requests());
	EXPECT_EQ(1u, dev->blk().errors());
}

TEST_F(VirtioFixture, BadRequestsFailWithIoerr)
{
	bring_up();
	/* Past the end of the disk, straddling it, and a partial sector. */
	request(VirtioBlk::T_IN, disk_size / 512, 512, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	request(VirtioBlk::T_OUT, disk_size / 512 - 1, 1024, false);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	request(VirtioBlk::T_IN, 0, 100, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	request(VirtioBlk::T_IN, ~0ull / 256, 512, true); /* sector * 512 overflows */
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	/* A header shorter than 16 bytes. */
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(0, hdr_gpa, 8, virtq_desc_f_next, 1);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	EXPECT_EQ(5u, used_idx());
	EXPECT_FALSE(needs_reset());
}

TEST_F(VirtioFixture, ReadOnlyDiskRefusesWrites)
{
	make(true);
	wr(VirtioMmio::R_DEVICE_FEATURES_SEL, 0);
	EXPECT_TRUE(rd(VirtioMmio::R_DEVICE_FEATURES) & VirtioBlk::f_ro);
	bring_up(VirtioBlk::f_version_1 | VirtioBlk::f_ro);
	request(VirtioBlk::T_OUT, 0, 512, false);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_IOERR, ram[status_gpa]);
	request(VirtioBlk::T_IN, 0, 512, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
}

TEST_F(VirtioFixture, AvailIndexTooFarAheadNeedsReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	set_avail_idx(qsize + 1);
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
	/* The driver hears of it through a configuration interrupt. */
	EXPECT_EQ(1u, irqs);
	EXPECT_EQ(VirtioMmio::INT_CONFIG, rd(VirtioMmio::R_INTERRUPT_STATUS));
	/* The driver cannot clear it but by a reset; after one, all works again. */
	wr(VirtioMmio::R_STATUS, rd(VirtioMmio::R_STATUS) & ~VirtioMmio::S_NEEDS_RESET);
	EXPECT_TRUE(needs_reset());
	std::memset(ram + avail_gpa, 0, 64);
	bring_up();
	EXPECT_FALSE(needs_reset());
	avail_idx = 0;
	request(VirtioBlk::T_IN, 0, 512, true);
	dev->process();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
	EXPECT_EQ(1u, used_idx());
}

TEST_F(VirtioFixture, HeadIndexOutOfRangeNeedsReset)
{
	bring_up();
	offer(qsize);
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
}

TEST_F(VirtioFixture, NextIndexOutOfRangeNeedsReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(1, data_gpa, 512, virtq_desc_f_next | virtq_desc_f_write, 0xffff);
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
}

TEST_F(VirtioFixture, LoopingChainNeedsReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(2, status_gpa, 1, virtq_desc_f_write | virtq_desc_f_next, 1); /* 1 -> 2 -> 1 */
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
	/* Once broken, the queue is left alone until a reset. */
	dev->process();
	EXPECT_EQ(0u, used_idx());
}

TEST_F(VirtioFixture, DescriptorOutsideRamNeedsReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(1, ram_size - 256, 512, virtq_desc_f_next | virtq_desc_f_write, 2);
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
}

TEST_F(VirtioFixture, HugeLengthWrappingAddressNeedsReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(1, ~0ull - 16, 0xffffffff, virtq_desc_f_next | virtq_desc_f_write, 2);
	dev->process();
	EXPECT_TRUE(needs_reset());
}

TEST_F(VirtioFixture, NoStatusBufferNeedsReset)
{
	bring_up();
	/* Header and data, both device-readable: nowhere to put the status. */
	request(VirtioBlk::T_OUT, 0, 512, false);
	desc(1, data_gpa, 512, 0);
	dev->process();
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, used_idx());
}

TEST_F(VirtioFixture, ReadableAfterWritableAndIndirectNeedReset)
{
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(2, status_gpa, 1, 0); /* readable after the writable data */
	dev->process();
	EXPECT_TRUE(needs_reset());

	make(false);
	bring_up();
	request(VirtioBlk::T_IN, 0, 512, true);
	desc(1, data_gpa, 512, virtq_desc_f_indirect | virtq_desc_f_next, 2);
	dev->process();
	EXPECT_TRUE(needs_reset());
}

TEST_F(VirtioFixture, QueueConfigurationChecked)
{
	wr(VirtioMmio::R_STATUS, 0xb);
	wr(VirtioMmio::R_DRIVER_FEATURES_SEL, 1);
	wr(VirtioMmio::R_QUEUE_NUM, 6); /* not a power of two */
	wr(VirtioMmio::R_QUEUE_DESC_LOW, desc_gpa);
	wr(VirtioMmio::R_QUEUE_DRIVER_LOW, avail_gpa);
	wr(VirtioMmio::R_QUEUE_DEVICE_LOW, used_gpa);
	wr(VirtioMmio::R_QUEUE_READY, 1);
	EXPECT_EQ(0u, rd(VirtioMmio::R_QUEUE_READY));
	EXPECT_TRUE(needs_reset());

	make(false);
	wr(VirtioMmio::R_STATUS, 0x3);
	wr(VirtioMmio::R_QUEUE_NUM, qsize);
	wr(VirtioMmio::R_QUEUE_DESC_LOW, 0);
	wr(VirtioMmio::R_QUEUE_DESC_HIGH, 1); /* 4 GiB: not RAM */
	wr(VirtioMmio::R_QUEUE_DRIVER_LOW, avail_gpa);
	wr(VirtioMmio::R_QUEUE_DEVICE_LOW, used_gpa);
	wr(VirtioMmio::R_QUEUE_READY, 1);
	EXPECT_EQ(0u, rd(VirtioMmio::R_QUEUE_READY));
	EXPECT_TRUE(needs_reset());
	EXPECT_EQ(0u, irqs); /* DRIVER_OK not set: no configuration interrupt */

	/* Another queue than 0 does not exist. */
	make(false);
	wr(VirtioMmio::R_QUEUE_SEL, 1);
	EXPECT_EQ(0u, rd(VirtioMmio::R_QUEUE_NUM_MAX));
}

TEST_F(VirtioFixture, NotifyWakesTheIoThread)
{
	bring_up();
	ASSERT_TRUE(dev->start());
	request(VirtioBlk::T_IN, 1, 512, true);
	/* What an ioeventfd does: signal the notify eventfd. */
	std::uint64_t one = 1;
	ASSERT_EQ(ssize_t(sizeof(one)), ::write(dev->notify_fd(), &one, sizeof(one)));
	{
		std::unique_lock<std::mutex> g(mu);
		ASSERT_TRUE(cv.wait_for(g, std::chrono::seconds(10), [this] { return irqs >= 1; }));
	}
	EXPECT_EQ(1u, used_idx());
	/* And a write that reaches the register (no ioeventfd) does the same. */
	request(VirtioBlk::T_IN, 2, 512, true);
	wr(VirtioMmio::R_QUEUE_NOTIFY, 0);
	{
		std::unique_lock<std::mutex> g(mu);
		ASSERT_TRUE(cv.wait_for(g, std::chrono::seconds(10), [this] { return irqs >= 2; }));
	}
	EXPECT_EQ(2u, used_idx());
	dev->stop();
	EXPECT_EQ(VirtioBlk::S_OK, ram[status_gpa]);
}

TEST(VirtioOptions, DiskOptions)
{
	auto o = parse_options({"-k", "bzImage", "--disk", "root.img"});
	ASSERT_TRUE(o);
	EXPECT_EQ("root.img", o->disk);
	EXPECT_FALSE(o->disk_readonly);
	o = parse_options({"-k", "bzImage", "--disk=root.img", "--disk-readonly"});
	ASSERT_TRUE(o);
	EXPECT_TRUE(o->disk_readonly);
	EXPECT_FALSE(parse_options({"-k", "bzImage", "--disk-readonly"}));
	EXPECT_FALSE(parse_options({"-k", "bzImage", "--disk"}));
	EXPECT_FALSE(parse_options({"-k", "bzImage", "--disk="}));
}

TEST(VirtioOptions, OpenRefusesMissingAndTinyImages)
{
	EXPECT_FALSE(VirtioBlk::open("/nonexistent/disk.img", false));
	char path[] = "/tmp/virtio-test-XXXXXX";
	int fd = ::mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(100, ::write(fd, std::string(100, 'x').data(), 100));
	EXPECT_FALSE(VirtioBlk::open(path, false)); /* smaller than a sector */
	ASSERT_EQ(0, ::ftruncate(fd, 4096 + 100));
	auto blk = VirtioBlk::open(path, true);
	ASSERT_TRUE(blk);
	EXPECT_EQ(8u, (*blk)->capacity()); /* whole sectors only */
	EXPECT_TRUE((*blk)->readonly());
	::close(fd);
	::unlink(path);
}

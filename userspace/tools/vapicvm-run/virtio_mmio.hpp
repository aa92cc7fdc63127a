// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport (virtio 1.2, 4.2: register layout version 2,
 * "modern" devices only) for one virtio block device with one queue.
 *
 * Queue notifications: a guest write to QueueNotify signals notify_fd(),
 * an eventfd, which the VMM registers as an ioeventfd so that the write
 * does not leave the kernel (a write that does reach the device signals
 * the same eventfd).  The I/O thread (start()) waits on it, takes the
 * available chains, serves them and signals the guest through the
 * Interrupt callback (an irqfd write, usually) with InterruptStatus bit 0
 * set.  A broken ring or an unusable queue configuration sets
 * DEVICE_NEEDS_RESET (with a configuration-change interrupt once the
 * driver is up) and stops the queue until the driver resets the device.
 */
#ifndef VAPICVM_RUN_VIRTIO_MMIO_HPP
#define VAPICVM_RUN_VIRTIO_MMIO_HPP

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <vapicvm/fd.hpp>
#include <vapicvm/result.hpp>
#include <vapicvm/vmm/guest_memory.hpp>

#include "devices.hpp"
#include "virtio_blk.hpp"
#include "virtio_queue.hpp"

namespace vrun
{

class VirtioMmio : public MmioDevice
{
public:
	/* The register window; 0x100 on is the device's configuration space. */
	static constexpr std::uint64_t mmio_size = 0x200;
	static constexpr std::uint32_t magic = 0x74726976; /* "virt" */
	static constexpr std::uint32_t version = 2;
	static constexpr std::uint32_t vendor_id = 0x56504943; /* "CIPV" */

	/* Register offsets (4.2.2). */
	enum : std::uint64_t {
		R_MAGIC = 0x000,
		R_VERSION = 0x004,
		R_DEVICE_ID = 0x008,
		R_VENDOR_ID = 0x00c,
		R_DEVICE_FEATURES = 0x010,
		R_DEVICE_FEATURES_SEL = 0x014,
		R_DRIVER_FEATURES = 0x020,
		R_DRIVER_FEATURES_SEL = 0x024,
		R_QUEUE_SEL = 0x030,
		R_QUEUE_NUM_MAX = 0x034,
		R_QUEUE_NUM = 0x038,
		R_QUEUE_READY = 0x044,
		R_QUEUE_NOTIFY = 0x050,
		R_INTERRUPT_STATUS = 0x060,
		R_INTERRUPT_ACK = 0x064,
		R_STATUS = 0x070,
		R_QUEUE_DESC_LOW = 0x080,
		R_QUEUE_DESC_HIGH = 0x084,
		R_QUEUE_DRIVER_LOW = 0x090,
		R_QUEUE_DRIVER_HIGH = 0x094,
		R_QUEUE_DEVICE_LOW = 0x0a0,
		R_QUEUE_DEVICE_HIGH = 0x0a4,
		R_SHM_SEL = 0x0ac,
		R_SHM_LEN_LOW = 0x0b0,
		R_SHM_LEN_HIGH = 0x0b4,
		R_SHM_BASE_LOW = 0x0b8,
		R_SHM_BASE_HIGH = 0x0bc,
		R_CONFIG_GENERATION = 0x0fc,
		R_CONFIG = 0x100,
	};
	/* Device status bits (2.1). */
	enum : std::uint32_t {
		S_ACKNOWLEDGE = 1,
		S_DRIVER = 2,
		S_DRIVER_OK = 4,
		S_FEATURES_OK = 8,
		S_NEEDS_RESET = 64,
		S_FAILED = 128,
	};
	/* InterruptStatus bits. */
	enum : std::uint32_t { INT_VRING = 1, INT_CONFIG = 2 };

	using Interrupt = std::function<void()>;
	using Log = std::function<void(const std::string &)>;

	/* mem must outlive the device; interrupt is called with the device's lock held. */
	VirtioMmio(const vapicvm::vmm::GuestMemory &mem, std::unique_ptr<VirtioBlk> blk,
		   Interrupt interrupt, Log log = {});
	~VirtioMmio() override;
	VirtioMmio(const VirtioMmio &) = delete;
	VirtioMmio &operator=(const VirtioMmio &) = delete;

	std::uint64_t read(std::uint64_t offset, std::uint8_t size) override;
	void write(std::uint64_t offset, std::uint8_t size, std::uint64_t value) override;
	const char *name() const override { return "virtio-mmio"; }

	/* The queue-notify eventfd (for an ioeventfd on QueueNotify). */
	int notify_fd() const { return notify_fd_.get(); }
	/* Start and stop the I/O thread, which serves the queue on each notification. */
	vapicvm::Result<void> start();
	void stop();
	/* Serve what the available ring holds now (what the I/O thread does). */
	void process();

	/* Interrupts sent, and the device's status register. */
	std::uint64_t interrupts() const { return interrupts_.load(); }
	std::uint32_t status() const;
	const VirtioBlk &blk() const { return *blk_; }

private:
	std::uint32_t read_register(std::uint64_t offset);
	void write_register(std::uint64_t offset, std::uint32_t v);
	void set_status_locked(std::uint32_t v);
	void reset_locked();
	void device_error_locked(const std::string &why);
	void interrupt_locked(std::uint32_t bits);
	void io_loop();

	const vapicvm::vmm::GuestMemory &mem_;
	std::unique_ptr<VirtioBlk> blk_;
	Interrupt interrupt_;
	Log log_;
	vapicvm::UniqueFd notify_fd_, stop_fd_;
	std::thread io_;
	std::atomic<std::uint64_t> interrupts_{0};

	mutable std::mutex mu_;
	std::uint32_t status_ = 0;
	std::uint32_t device_features_sel_ = 0, driver_features_sel_ = 0;
	std::uint64_t driver_features_ = 0;
	std::uint32_t queue_sel_ = 0;
	std::uint32_t interrupt_status_ = 0;
	std::uint32_t config_generation_ = 0;
	SplitQueue queue_;
};

} // namespace vrun

#endif

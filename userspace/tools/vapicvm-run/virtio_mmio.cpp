// SPDX-License-Identifier: GPL-2.0
#include <cerrno>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_mmio.hpp"

namespace vrun
{

using vapicvm::Error;
using vapicvm::UniqueFd;

VirtioMmio::VirtioMmio(const vapicvm::vmm::GuestMemory &mem, std::unique_ptr<VirtioBlk> blk,
		       Interrupt interrupt, Log log)
    : mem_(mem), blk_(std::move(blk)), interrupt_(std::move(interrupt)), log_(std::move(log)),
      notify_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
}

VirtioMmio::~VirtioMmio()
{
	stop();
}

vapicvm::Result<void> VirtioMmio::start()
{
	if (!notify_fd_ || !stop_fd_)
		return Error::from_errno(ENOMEM, "eventfd", "virtio-mmio");
	if (io_.joinable())
		return vapicvm::ok();
	io_ = std::thread([this] { io_loop(); });
	return vapicvm::ok();
}

void VirtioMmio::stop()
{
	if (!io_.joinable())
		return;
	std::uint64_t one = 1;
	(void)!::write(stop_fd_.get(), &one, sizeof(one));
	io_.join();
}

void VirtioMmio::io_loop()
{
	for (;;) {
		pollfd p[2] = {{notify_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
		if (::poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			if (log_)
				log_("virtio-mmio: poll failed; the I/O thread ends");
			return;
		}
		if (p[1].revents)
			return;
		std::uint64_t n;
		if (::read(notify_fd_.get(), &n, sizeof(n)) == sizeof(n))
			process();
	}
}

std::uint32_t VirtioMmio::status() const
{
	std::lock_guard<std::mutex> g(mu_);
	return status_;
}

void VirtioMmio::interrupt_locked(std::uint32_t bits)
{
	interrupt_status_ |= bits;
	interrupts_++;
	if (interrupt_)
		interrupt_();
}

void VirtioMmio::device_error_locked(const std::string &why)
{
	if (status_ & S_NEEDS_RESET)
		return;
	if (log_)
		log_("virtio-blk: " + why + "; the device needs a reset");
	status_ |= S_NEEDS_RESET;
	if (status_ & S_DRIVER_OK)
		interrupt_locked(INT_CONFIG);
}

void VirtioMmio::reset_locked()
{
	status_ = 0;
	device_features_sel_ = driver_features_sel_ = 0;
	driver_features_ = 0;
	queue_sel_ = 0;
	interrupt_status_ = 0;
	queue_.reset();
}

void VirtioMmio::process()
{
	std::lock_guard<std::mutex> g(mu_);
	if (!(status_ & S_DRIVER_OK) || (status_ & S_NEEDS_RESET) || !queue_.enabled())
		return;
	bool used = false;
	for (;;) {
		auto r = queue_.pop(mem_);
		if (std::holds_alternative<SplitQueue::Empty>(r))
			break;
		if (auto *e = std::get_if<SplitQueue::Error>(&r)) {
			device_error_locked(e->why);
			break;
		}
		auto &chain = std::get<VirtqChain>(r);
		auto len = blk_->handle(mem_, chain);
		if (!len) {
			device_error_locked("a request without a writable status byte");
			break;
		}
		if (!queue_.push(mem_, chain.head, *len)) {
			device_error_locked("used ring not in RAM");
			break;
		}
		used = true;
	}
	if (used)
		interrupt_locked(INT_VRING);
}

std::uint64_t VirtioMmio::read(std::uint64_t offset, std::uint8_t size)
{
	std::lock_guard<std::mutex> g(mu_);
	if (offset >= R_CONFIG)
		return blk_->config_read(offset - R_CONFIG, size);
	/* Registers take aligned 32-bit accesses (4.2.2.2). */
	if (size != 4 || (offset & 3))
		return 0;
	return read_register(offset);
}

void VirtioMmio::write(std::uint64_t offset, std::uint8_t size, std::uint64_t value)
{
	if (offset == R_QUEUE_NOTIFY && size == 4) {
		/* No ioeventfd caught it: signal the I/O thread the same way. */
		std::uint64_t one = 1;
		(void)!::write(notify_fd_.get(), &one, sizeof(one));
		return;
	}
	std::lock_guard<std::mutex> g(mu_);
	/* The configuration space is read-only; registers take 32-bit writes. */
	if (offset >= R_CONFIG || size != 4 || (offset & 3))
		return;
	write_register(offset, static_cast<std::uint32_t>(value));
}

std::uint32_t VirtioMmio::read_register(std::uint64_t offset)
{
	switch (offset) {
	case R_MAGIC:
		return magic;
	case R_VERSION:
		return version;
	case R_DEVICE_ID:
		return VirtioBlk::device_id;
	case R_VENDOR_ID:
		return vendor_id;
	case R_DEVICE_FEATURES:
		if (device_features_sel_ > 1)
			return 0;
		return static_cast<std::uint32_t>(blk_->features() >> (32 * device_features_sel_));
	case R_QUEUE_NUM_MAX:
		return queue_sel_ == 0 ? SplitQueue::max_size : 0;
	case R_QUEUE_READY:
		return queue_sel_ == 0 && queue_.enabled();
	case R_INTERRUPT_STATUS:
		return interrupt_status_;
	case R_STATUS:
		return status_;
	case R_SHM_LEN_LOW:
	case R_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case R_SHM_BASE_LOW:
	case R_SHM_BASE_HIGH:
		return 0xffffffff;
	case R_CONFIG_GENERATION:
		return config_generation_;
	default:
		return 0;
	}
}

void VirtioMmio::set_status_locked(std::uint32_t v)
{
	if (v == 0) {
		reset_locked();
		return;
	}
	/* FEATURES_OK only for a subset of ours that includes VERSION_1 (legacy is not offered). */
	if ((v & S_FEATURES_OK) && !(status_ & S_FEATURES_OK)) {
		bool subset = (driver_features_ & ~blk_->features()) == 0;
		if (!subset || !(driver_features_ & VirtioBlk::f_version_1))
			v &= ~S_FEATURES_OK;
	}
	/* The driver cannot clear NEEDS_RESET but by a reset. */
	status_ = v | (status_ & S_NEEDS_RESET);
}

void VirtioMmio::write_register(std::uint64_t offset, std::uint32_t v)
{
	/* Queue configuration, for queue 0 while it is not ready. */
	bool queue_writable = queue_sel_ == 0 && !queue_.enabled();
	auto set_low = [](std::uint64_t &r, std::uint32_t x) { r = (r & ~0xffffffffull) | x; };
	auto set_high = [](std::uint64_t &r, std::uint32_t x) {
		r = (r & 0xffffffffull) | (std::uint64_t(x) << 32);
	};
	switch (offset) {
	case R_DEVICE_FEATURES_SEL:
		device_features_sel_ = v;
		break;
	case R_DRIVER_FEATURES_SEL:
		driver_features_sel_ = v;
		break;
	case R_DRIVER_FEATURES:
		/* Only before FEATURES_OK (3.1.1). */
		if (status_ & S_FEATURES_OK)
			break;
		if (driver_features_sel_ == 0)
			set_low(driver_features_, v);
		else if (driver_features_sel_ == 1)
			set_high(driver_features_, v);
		break;
	case R_QUEUE_SEL:
		queue_sel_ = v;
		break;
	case R_QUEUE_NUM:
		if (queue_writable)
			queue_.num = static_cast<std::uint16_t>(v > 0xffff ? 0 : v);
		break;
	case R_QUEUE_DESC_LOW:
		if (queue_writable)
			set_low(queue_.desc_gpa, v);
		break;
	case R_QUEUE_DESC_HIGH:
		if (queue_writable)
			set_high(queue_.desc_gpa, v);
		break;
	case R_QUEUE_DRIVER_LOW:
		if (queue_writable)
			set_low(queue_.avail_gpa, v);
		break;
	case R_QUEUE_DRIVER_HIGH:
		if (queue_writable)
			set_high(queue_.avail_gpa, v);
		break;
	case R_QUEUE_DEVICE_LOW:
		if (queue_writable)
			set_low(queue_.used_gpa, v);
		break;
	case R_QUEUE_DEVICE_HIGH:
		if (queue_writable)
			set_high(queue_.used_gpa, v);
		break;
	case R_QUEUE_READY:
		if (queue_sel_ != 0)
			break;
		if (v == 1 && !queue_.enabled()) {
			if (auto why = queue_.enable(mem_))
				device_error_locked(*why);
		} else if (v == 0 && queue_.enabled()) {
			/* Keep the configuration; the driver may enable it again. */
			SplitQueue q;
			q.num = queue_.num;
			q.desc_gpa = queue_.desc_gpa;
			q.avail_gpa = queue_.avail_gpa;
			q.used_gpa = queue_.used_gpa;
			queue_ = q;
		}
		break;
	case R_INTERRUPT_ACK:
		interrupt_status_ &= ~v;
		break;
	case R_STATUS:
		set_status_locked(v);
		break;
	default:
		break; /* read-only or unknown: ignored */
	}
}

} // namespace vrun

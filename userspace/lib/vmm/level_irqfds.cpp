// SPDX-License-Identifier: GPL-2.0
#include "vapicvm/vmm/level_irqfds.hpp"

#include <cerrno>
#include <cstdint>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace vapicvm::vmm
{

LevelIrqfds::~LevelIrqfds()
{
	{
		std::lock_guard lock(mu_);
		stopping_ = true;
	}
	wake();
	if (thread_.joinable())
		thread_.join();
	for (const auto &[pin, fd] : triggers_)
		ioapic_.set_resample(pin, {});
}

void LevelIrqfds::wake()
{
	const std::uint64_t one = 1;
	if (wake_fd_.get() >= 0)
		(void)!::write(wake_fd_.get(), &one, sizeof(one));
}

Result<void> LevelIrqfds::start()
{
	if (thread_.joinable())
		return Error::from_errno(EBUSY, "LevelIrqfds::start", "already started");
	UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (fd.get() < 0)
		return Error::last("eventfd");
	wake_fd_ = std::move(fd);
	try {
		thread_ = std::thread([this] { loop(); });
	} catch (const std::system_error &e) {
		return Error::from_errno(e.code().value(), "LevelIrqfds::start", "thread");
	}
	return ok();
}

Result<void> LevelIrqfds::add(unsigned pin, int trigger_fd, int resample_fd)
{
	if (pin >= IoApic::pins || trigger_fd < 0 || resample_fd < 0)
		return Error::from_errno(EINVAL, "LevelIrqfds::add", "pin or fd out of range");
	{
		std::lock_guard lock(mu_);
		if (!triggers_.emplace(pin, trigger_fd).second)
			return Error::from_errno(EBUSY, "LevelIrqfds::add",
						 "pin " + std::to_string(pin) + " has one");
	}
	ioapic_.set_resample(pin, [resample_fd] {
		const std::uint64_t one = 1;
		(void)!::write(resample_fd, &one, sizeof(one));
	});
	wake();
	return ok();
}

Result<void> LevelIrqfds::remove(unsigned pin)
{
	{
		std::lock_guard lock(mu_);
		if (!triggers_.erase(pin))
			return Error::from_errno(ENOENT, "LevelIrqfds::remove",
						 "pin " + std::to_string(pin) + " has none");
	}
	wake();
	ioapic_.set_resample(pin, {});
	ioapic_.set_line(pin, false);
	return ok();
}

void LevelIrqfds::loop()
{
	std::vector<pollfd> fds;
	std::vector<unsigned> pins;

	for (;;) {
		fds.assign(1, pollfd{wake_fd_.get(), POLLIN, 0});
		pins.clear();
		{
			std::lock_guard lock(mu_);
			if (stopping_)
				return;
			for (const auto &[pin, fd] : triggers_) {
				fds.push_back(pollfd{fd, POLLIN, 0});
				pins.push_back(pin);
			}
		}
		if (::poll(fds.data(), fds.size(), -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		std::uint64_t n;
		if (fds[0].revents & POLLIN)
			(void)!::read(wake_fd_.get(), &n, sizeof(n)); /* the set changed: rebuild */
		for (std::size_t i = 1; i < fds.size(); ++i) {
			if (!(fds[i].revents & POLLIN))
				continue;
			std::lock_guard lock(mu_);
			/* Removed meanwhile: its fd may be closed or reused. */
			auto it = triggers_.find(pins[i - 1]);
			if (it == triggers_.end() || it->second != fds[i].fd)
				continue;
			if (::read(fds[i].fd, &n, sizeof(n)) == sizeof(n))
				ioapic_.set_line(pins[i - 1], true);
		}
	}
}

} // namespace vapicvm::vmm

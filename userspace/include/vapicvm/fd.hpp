// SPDX-License-Identifier: GPL-2.0
/* An owned file descriptor and an owned mmap(): move-only, closed/unmapped on destruction. */
#ifndef VAPICVM_FD_HPP
#define VAPICVM_FD_HPP

#include <cstddef>
#include <utility>

namespace vapicvm
{

class UniqueFd
{
public:
	UniqueFd() noexcept = default;
	explicit UniqueFd(int fd) noexcept : fd_(fd) {}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	UniqueFd(UniqueFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	UniqueFd &operator=(UniqueFd &&o) noexcept
	{
		if (this != &o)
			reset(std::exchange(o.fd_, -1));
		return *this;
	}
	~UniqueFd() { reset(); }

	int get() const noexcept { return fd_; }
	bool valid() const noexcept { return fd_ >= 0; }
	explicit operator bool() const noexcept { return valid(); }
	int release() noexcept { return std::exchange(fd_, -1); }
	void reset(int fd = -1) noexcept;

private:
	int fd_ = -1;
};

/* A mapping owned by this object; munmap()ed on destruction. */
class UniqueMapping
{
public:
	UniqueMapping() noexcept = default;
	UniqueMapping(void *addr, std::size_t size) noexcept : addr_(addr), size_(size) {}
	UniqueMapping(const UniqueMapping &) = delete;
	UniqueMapping &operator=(const UniqueMapping &) = delete;
	UniqueMapping(UniqueMapping &&o) noexcept
	    : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0))
	{
	}
	UniqueMapping &operator=(UniqueMapping &&o) noexcept
	{
		if (this != &o) {
			reset();
			addr_ = std::exchange(o.addr_, nullptr);
			size_ = std::exchange(o.size_, 0);
		}
		return *this;
	}
	~UniqueMapping() { reset(); }

	void *get() const noexcept { return addr_; }
	std::size_t size() const noexcept { return size_; }
	explicit operator bool() const noexcept { return addr_ != nullptr; }
	void reset() noexcept;

private:
	void *addr_ = nullptr;
	std::size_t size_ = 0;
};

} // namespace vapicvm

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Internal: the argument of the ioctls whose structure is a header followed
 * by a flexible array (vapicvm_msrs, vapicvm_cpuid, vapicvm_stats), built in
 * 8-byte aligned storage and read back with memcpy.
 */
#ifndef VAPICVM_LIB_FLEX_BUFFER_HPP
#define VAPICVM_LIB_FLEX_BUFFER_HPP

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "vapicvm/result.hpp"

namespace vapicvm::detail
{

template <typename Header, typename Entry>
class FlexBuffer
{
	static_assert(sizeof(Header) % alignof(Entry) == 0 && alignof(Entry) <= 8);

public:
	/* hdr, then room for capacity entries of which the first entries.size() are set. */
	FlexBuffer(const Header &hdr, std::span<const Entry> entries, std::size_t capacity)
	    : capacity_(capacity < entries.size() ? entries.size() : capacity),
	      words_((sizeof(Header) + capacity_ * sizeof(Entry) + 7) / 8)
	{
		std::memcpy(bytes(), &hdr, sizeof(Header));
		if (!entries.empty())
			std::memcpy(bytes() + sizeof(Header), entries.data(), entries.size_bytes());
	}

	void *data() noexcept { return words_.data(); }
	std::size_t capacity() const noexcept { return capacity_; }

	Header header() const noexcept
	{
		Header h;
		std::memcpy(&h, bytes(), sizeof(Header));
		return h;
	}
	/* Copy the first out.size() entries out (out.size() <= capacity()). */
	void copy_to(std::span<Entry> out) const noexcept
	{
		if (!out.empty())
			std::memcpy(out.data(), bytes() + sizeof(Header), out.size_bytes());
	}
	/* The first n entries; EPROTO when the kernel claimed more than fit. */
	Result<std::vector<Entry>> entries(std::size_t n, const char *op) const
	{
		if (n > capacity_)
			return Error::from_errno(EPROTO, op, "entry count exceeds the buffer");
		std::vector<Entry> v(n);
		copy_to(v);
		return v;
	}

private:
	std::uint8_t *bytes() noexcept { return reinterpret_cast<std::uint8_t *>(words_.data()); }
	const std::uint8_t *bytes() const noexcept
	{
		return reinterpret_cast<const std::uint8_t *>(words_.data());
	}

	std::size_t capacity_;
	std::vector<std::uint64_t> words_;
};

} // namespace vapicvm::detail

#endif

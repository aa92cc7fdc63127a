// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-physical access to guest RAM: GuestMemory maps guest-physical
 * ranges onto host memory and copies with bounds checks.  It is a view,
 * like std::span: it owns nothing, and the memory it was given (a Vm's
 * memory slots, or regions a test keeps) must outlive it.
 */
#ifndef VAPICVM_VMM_GUEST_MEMORY_HPP
#define VAPICVM_VMM_GUEST_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vapicvm/memory.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm::vmm
{

class GuestMemory
{
public:
	GuestMemory() = default;
	/* A view of memory slots, e.g. Vm::memory_slots(). */
	explicit GuestMemory(std::span<const MemorySlot> slots);

	/* Map [gpa, gpa + host.size()) onto host; EEXIST if it overlaps a range already added. */
	Result<void> add(std::uint64_t gpa, std::span<std::uint8_t> host);

	/* The host bytes of [gpa, gpa + len) if one range holds them all, else empty. */
	std::span<std::uint8_t> span(std::uint64_t gpa, std::size_t len) const noexcept;
	bool contains(std::uint64_t gpa, std::size_t len = 1) const noexcept
	{
		return len == 0 || !span(gpa, len).empty();
	}
	/* Copies; EFAULT when the range is not guest RAM. */
	Result<void> write(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const;
	Result<void> read(std::uint64_t gpa, std::span<std::uint8_t> out) const;
	Result<void> fill(std::uint64_t gpa, std::uint8_t byte, std::size_t len) const;

	template <typename T>
	Result<void> write_obj(std::uint64_t gpa, const T &obj) const
	{
		return write(gpa,
			     std::span(reinterpret_cast<const std::uint8_t *>(&obj), sizeof(T)));
	}
	template <typename T>
	Result<T> read_obj(std::uint64_t gpa) const
	{
		T obj{};
		return read(gpa, std::span(reinterpret_cast<std::uint8_t *>(&obj), sizeof(T)))
			.transform([&obj] { return obj; });
	}

	/* The sum of the ranges' sizes. */
	std::uint64_t total_size() const noexcept;

private:
	struct Range {
		std::uint64_t gpa;
		std::span<std::uint8_t> host;
		std::uint64_t end() const noexcept { return gpa + host.size(); }
	};
	/* The host bytes of [gpa, gpa + len), or EFAULT naming op. */
	Result<std::span<std::uint8_t>> checked(std::uint64_t gpa, std::size_t len,
						const char *op) const;

	std::vector<Range> ranges_;
};

} // namespace vapicvm::vmm

#endif

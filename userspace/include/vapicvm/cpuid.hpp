// SPDX-License-Identifier: GPL-2.0
/* A CPUID table as VAPICVM_GET_SUPPORTED_CPUID returns it and VAPICVM_SET_CPUID takes it. */
#ifndef VAPICVM_CPUID_HPP
#define VAPICVM_CPUID_HPP

#include <cstdint>
#include <span>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/result.hpp"

namespace vapicvm
{

class CpuidTable
{
public:
	CpuidTable() = default;
	explicit CpuidTable(std::vector<vapicvm_cpuid_entry> e) : entries_(std::move(e)) {}

	std::span<const vapicvm_cpuid_entry> entries() const noexcept { return entries_; }
	std::size_t size() const noexcept { return entries_.size(); }

	/* The entry CPUID(function, index) would use, or nullptr. */
	vapicvm_cpuid_entry *find(std::uint32_t function, std::uint32_t index = 0) noexcept;
	const vapicvm_cpuid_entry *find(std::uint32_t function,
					std::uint32_t index = 0) const noexcept;

	/*
	 * Add or replace the entry for (function, index); significant_index
	 * marks leaves whose ECX input selects a sub-leaf.  Fails with E2BIG
	 * past VAPICVM_MAX_CPUID_ENTRIES.
	 */
	Result<void> set(std::uint32_t function, std::uint32_t index, bool significant_index,
			 std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx,
			 std::uint32_t edx);
	bool remove(std::uint32_t function, std::uint32_t index = 0) noexcept;

	/* The largest basic (0) or extended (0x80000000) leaf the table reports. */
	std::uint32_t max_basic_leaf() const noexcept;

	/* The ioctl buffer: a vapicvm_cpuid header followed by the entries. */
	std::vector<std::uint8_t> to_ioctl_buffer() const;
	static Result<CpuidTable> from_ioctl_buffer(std::span<const std::uint8_t> buf);

private:
	std::vector<vapicvm_cpuid_entry> entries_;
};

} // namespace vapicvm

#endif

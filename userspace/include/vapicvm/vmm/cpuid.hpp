// SPDX-License-Identifier: GPL-2.0
/*
 * A CPUID table to edit: what System::supported_cpuid() returns, changed by
 * the VMM and handed to Vcpu::set_cpuid() through entries().
 */
#ifndef VAPICVM_VMM_CPUID_HPP
#define VAPICVM_VMM_CPUID_HPP

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/result.hpp"

namespace vapicvm::vmm
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

	/* The largest basic leaf the table reports (leaf 0's EAX). */
	std::uint32_t max_basic_leaf() const noexcept;

private:
	std::vector<vapicvm_cpuid_entry> entries_;
};

} // namespace vapicvm::vmm

#endif

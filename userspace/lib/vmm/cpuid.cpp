// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <cstring>
#include <utility>

#include "vapicvm/vmm/cpuid.hpp"

namespace vapicvm::vmm
{

namespace
{
bool matches(const vapicvm_cpuid_entry &e, std::uint32_t fn, std::uint32_t idx)
{
	return e.function == fn &&
	       (!(e.flags & VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) || e.index == idx);
}
} // namespace

vapicvm_cpuid_entry *CpuidTable::find(std::uint32_t fn, std::uint32_t idx) noexcept
{
	return const_cast<vapicvm_cpuid_entry *>(std::as_const(*this).find(fn, idx));
}

const vapicvm_cpuid_entry *CpuidTable::find(std::uint32_t fn, std::uint32_t idx) const noexcept
{
	for (const auto &e : entries_)
		if (matches(e, fn, idx))
			return &e;
	return nullptr;
}

Result<void> CpuidTable::set(std::uint32_t fn, std::uint32_t idx, bool significant,
			     std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx,
			     std::uint32_t edx)
{
	vapicvm_cpuid_entry *e = nullptr;
	for (auto &x : entries_)
		if (x.function == fn && (!significant || x.index == idx))
			e = &x;
	if (!e) {
		if (entries_.size() >= VAPICVM_MAX_CPUID_ENTRIES)
			return Error::from_errno(E2BIG, "CpuidTable::set");
		e = &entries_.emplace_back();
	}
	std::memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = significant ? idx : 0;
	e->flags = significant ? VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX : 0;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
	return ok();
}

bool CpuidTable::remove(std::uint32_t fn, std::uint32_t idx) noexcept
{
	auto it = std::find_if(entries_.begin(), entries_.end(),
			       [&](const vapicvm_cpuid_entry &e) { return matches(e, fn, idx); });
	if (it == entries_.end())
		return false;
	entries_.erase(it);
	return true;
}

std::uint32_t CpuidTable::max_basic_leaf() const noexcept
{
	const auto *e = find(0);
	return e ? e->eax : 0;
}

} // namespace vapicvm::vmm

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-physical access to guest RAM: GuestMemory maps guest-physical
 * ranges onto host memory and copies with bounds checks.  It is a view,
 * like std::span: it owns nothing, and the memory it was given (a Vm's
 * memory slots, or regions a test keeps) must outlive it, or leave it
 * first (remove(), remove_slot()).
 *
 * Thread safety: the const members (lookups and copies) may run on many
 * threads at once; add(), remove(), move() and the slot operations change
 * the view and must not run alongside anything else on the same object
 * (the VMM serializes them, e.g. with a std::shared_mutex its device
 * threads take shared).  The guest's own accesses need no such care: the
 * kernel switches a slot atomically for running vCPUs.  A span() taken
 * before a remove dangles once the region is unmapped.
 */
#ifndef VAPICVM_VMM_GUEST_MEMORY_HPP
#define VAPICVM_VMM_GUEST_MEMORY_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vapicvm/memory.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/vm.hpp"

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
	/* Forget the range that starts at gpa (ENOENT if none does); its memory is untouched. */
	Result<void> remove(std::uint64_t gpa);
	/*
	 * Move the range that starts at gpa to new_gpa, same host memory:
	 * ENOENT if no range starts at gpa, EEXIST if the new place overlaps
	 * another range, EINVAL if it wraps.  Lookups see either place whole.
	 */
	Result<void> move(std::uint64_t gpa, std::uint64_t new_gpa);

	/*
	 * Delete memory slot `slot` of vm (Vm::remove_memory()), then forget
	 * its range here, then unmap its memory, in that order: the guest
	 * stops reaching the memory before the VMM does, and nothing reaches
	 * it once it is unmapped.  From then on the guest's accesses to the
	 * range are MMIO exits, and lookups here fail (EFAULT).  ENOENT if vm
	 * has no such slot; on any error the view is unchanged.
	 */
	Result<void> remove_slot(Vm &vm, std::uint32_t slot);
	/*
	 * Move memory slot `slot` of vm to new_gpa (Vm::move_memory(): one
	 * ioctl, the guest sees the old layout or the new one), then move its
	 * range here.  The contents go with it: the guest and the lookups here
	 * find at new_gpa + x what was at the old gpa + x.  Errors as
	 * Vm::move_memory(); on any error neither vm nor the view changes.
	 */
	Result<void> move_slot(Vm &vm, std::uint32_t slot, std::uint64_t new_gpa);

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

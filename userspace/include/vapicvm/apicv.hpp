// SPDX-License-Identifier: GPL-2.0
/*
 * APIC-virtualization feature sets: a typed bitmask over VAPICVM_APICV_*,
 * with the SDM's dependencies between the VMX controls (Vol. 3C 26.2.1.1)
 * and the named cumulative tiers.
 */
#ifndef VAPICVM_APICV_HPP
#define VAPICVM_APICV_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <linux/vapicvm.h>

namespace vapicvm
{

enum class ApicvFeature : std::uint32_t {
	TprShadow = VAPICVM_APICV_TPR_SHADOW,
	ApicAccess = VAPICVM_APICV_APIC_ACCESS,
	RegisterVirt = VAPICVM_APICV_REGISTER_VIRT,
	InterruptDelivery = VAPICVM_APICV_INTR_DELIVERY,
	X2apic = VAPICVM_APICV_X2APIC_VIRT,
	PostedInterrupts = VAPICVM_APICV_POSTED_INTR,
};

class ApicvFlags
{
public:
	constexpr ApicvFlags() noexcept = default;
	constexpr ApicvFlags(ApicvFeature f) noexcept : bits_(static_cast<std::uint32_t>(f)) {}
	/* Unknown bits are kept (valid() reports them). */
	static constexpr ApicvFlags from_raw(std::uint32_t bits) noexcept
	{
		ApicvFlags f;
		f.bits_ = bits;
		return f;
	}
	static constexpr ApicvFlags none() noexcept { return {}; }
	static constexpr ApicvFlags all() noexcept { return from_raw(VAPICVM_APICV_ALL); }

	constexpr std::uint32_t raw() const noexcept { return bits_; }
	constexpr bool empty() const noexcept { return bits_ == 0; }
	constexpr bool contains(ApicvFlags o) const noexcept
	{
		return (bits_ & o.bits_) == o.bits_;
	}
	constexpr bool intersects(ApicvFlags o) const noexcept { return (bits_ & o.bits_) != 0; }

	constexpr ApicvFlags operator|(ApicvFlags o) const noexcept
	{
		return from_raw(bits_ | o.bits_);
	}
	constexpr ApicvFlags operator&(ApicvFlags o) const noexcept
	{
		return from_raw(bits_ & o.bits_);
	}
	constexpr ApicvFlags operator-(ApicvFlags o) const noexcept
	{
		return from_raw(bits_ & ~o.bits_);
	}
	constexpr ApicvFlags &operator|=(ApicvFlags o) noexcept { return bits_ |= o.bits_, *this; }
	constexpr ApicvFlags &operator&=(ApicvFlags o) noexcept { return bits_ &= o.bits_, *this; }
	constexpr bool operator==(const ApicvFlags &) const noexcept = default;

	/*
	 * Whether the kernel accepts this set at VM creation: no unknown bits,
	 * and each feature with what it needs (APIC access and x2APIC need the
	 * TPR shadow; register virtualization needs APIC access; interrupt
	 * delivery needs register virtualization; posted interrupts need
	 * interrupt delivery).
	 */
	bool valid() const noexcept { return why_invalid().empty(); }
	/* Empty when valid(), else a sentence naming the first violated rule. */
	std::string why_invalid() const;

	/* The largest valid subset of this set (e.g. of what a host supports). */
	ApicvFlags closure_down() const noexcept;

	/* "tpr-shadow|apic-access|..." or "none". */
	std::string to_string() const;
	/*
	 * Parses a to_string() form, a tier name (see tier()), or a number
	 * (0x.. accepted).  Names: tpr-shadow apic-access register-virt
	 * intr-delivery x2apic posted-intr.
	 */
	static std::optional<ApicvFlags> parse(std::string_view s);

	/*
	 * The named tiers, cumulative: "none", "tpr" (TPR shadow), "access"
	 * (+APIC access), "regvirt" (+register virtualization), "vid"
	 * (+virtual-interrupt delivery), "posted" (+posted interrupts); each
	 * but "none" with x2APIC virtualization added by "+x2apic".
	 */
	static std::optional<ApicvFlags> tier(std::string_view name);

private:
	std::uint32_t bits_ = 0;
};

constexpr ApicvFlags operator|(ApicvFeature a, ApicvFeature b) noexcept
{
	return ApicvFlags(a) | ApicvFlags(b);
}

} // namespace vapicvm

#endif

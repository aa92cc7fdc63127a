// SPDX-License-Identifier: GPL-2.0
/*
 * APIC-virtualization feature sets: a typed bitmask over VAPICVM_APICV_*.
 * Everything about the features (names, tiers, what each requires and
 * whether the SDM or this project requires it) comes from the UAPI table
 * VAPICVM_APICV_FEATURES; apicv_features is that table as C++.
 */
#ifndef VAPICVM_APICV_HPP
#define VAPICVM_APICV_HPP

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <linux/vapicvm.h>

namespace vapicvm
{

/* ApicvFeature::TPR_SHADOW is VAPICVM_APICV_TPR_SHADOW, and so on down the table. */
enum class ApicvFeature : std::uint32_t {
#define VAPICVM_HPP_APICV_ENUM(id, bit, name, tier, sdm, policy, control) id = VAPICVM_APICV_##id,
	VAPICVM_APICV_FEATURES(VAPICVM_HPP_APICV_ENUM)
#undef VAPICVM_HPP_APICV_ENUM
};

/* One row of VAPICVM_APICV_FEATURES. */
struct ApicvFeatureInfo {
	ApicvFeature feature;
	std::uint32_t bit;             /* VAPICVM_APICV_<ID> is 1 << bit */
	std::string_view name;         /* "tpr-shadow" */
	std::string_view tier;         /* "tpr": this feature and what it requires */
	std::uint32_t sdm_requires;    /* VAPICVM_APICV_* the SDM makes a VM-entry condition */
	std::uint32_t policy_requires; /* VAPICVM_APICV_* the project requires on top */
	std::string_view vmx_control;  /* the VMX control it turns on */

	constexpr std::uint32_t mask() const noexcept { return std::uint32_t(1) << bit; }
	constexpr std::uint32_t requires_mask() const noexcept
	{
		return sdm_requires | policy_requires;
	}
};

inline constexpr std::array apicv_features = {
#define VAPICVM_HPP_APICV_INFO(id, bit, name, tier, sdm, policy, control)                          \
	ApicvFeatureInfo{ApicvFeature::id, bit, name, tier, sdm, policy, control},
	VAPICVM_APICV_FEATURES(VAPICVM_HPP_APICV_INFO)
#undef VAPICVM_HPP_APICV_INFO
};

namespace detail
{
/*
 * What the closures below rely on: bits match the IDs, cover
 * VAPICVM_APICV_ALL, and every requirement is a known feature on an
 * earlier row (so one pass in table order sees requirements first).
 */
constexpr bool apicv_table_consistent()
{
	std::uint32_t seen = 0;
	for (const auto &f : apicv_features) {
		if (static_cast<std::uint32_t>(f.feature) != f.mask() || (seen & f.mask()))
			return false;
		if (f.requires_mask() & ~seen)
			return false;
		seen |= f.mask();
	}
	return seen == VAPICVM_APICV_ALL;
}
static_assert(apicv_table_consistent(),
	      "VAPICVM_APICV_FEATURES: bits, VAPICVM_APICV_ALL or requirement order");
} // namespace detail

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
	 * and each feature with both of its requirement sets (the SDM's and
	 * the project's).
	 */
	bool valid() const noexcept { return why_invalid().empty(); }
	/*
	 * Empty when valid(), else a sentence naming the first violated rule
	 * and whose rule it is: "apic-access needs tpr-shadow (vapicvm
	 * policy)", "posted-intr needs intr-delivery (SDM VM-entry check)".
	 */
	std::string why_invalid() const;

	/* The largest valid subset of this set (e.g. of what a host supports). */
	ApicvFlags closure_down() const noexcept;

	/* This set with everything its features require, transitively. */
	constexpr ApicvFlags closure_up() const noexcept
	{
		std::uint32_t b = bits_;
		for (auto it = apicv_features.rbegin(); it != apicv_features.rend(); ++it)
			if (b & it->mask())
				b |= it->requires_mask();
		return from_raw(b);
	}

	/* The features' names joined by '|' ("tpr-shadow|apic-access"), or "none". */
	std::string to_string() const;
	/*
	 * Parses a to_string() form or a number (0x.. accepted).  "x2apic" is
	 * accepted for "x2apic-virt", its name in earlier releases.
	 */
	static std::optional<ApicvFlags> parse(std::string_view s);

private:
	std::uint32_t bits_ = 0;
};

constexpr ApicvFlags operator|(ApicvFeature a, ApicvFeature b) noexcept
{
	return ApicvFlags(a) | ApicvFlags(b);
}

/* The table's row for one feature. */
constexpr const ApicvFeatureInfo &apicv_feature_info(ApicvFeature f) noexcept
{
	for (const auto &i : apicv_features)
		if (i.feature == f)
			return i;
	return apicv_features[0]; /* unreachable for a declared enumerator */
}

} // namespace vapicvm

#endif

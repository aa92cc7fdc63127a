// SPDX-License-Identifier: GPL-2.0
#include "vapicvm/vmm/apicv_tier.hpp"

namespace vapicvm::vmm
{

std::optional<ApicvFlags> apicv_tier(std::string_view name)
{
	constexpr std::string_view suffix = "+x2apic";
	const bool x2 = name.ends_with(suffix);
	if (x2)
		name.remove_suffix(suffix.size());
	if (name == "none")
		return x2 ? std::nullopt : std::optional(ApicvFlags::none());
	for (const auto &f : apicv_features) {
		if (f.tier != name)
			continue;
		ApicvFlags t(f.feature);
		if (x2)
			t |= ApicvFeature::X2APIC_VIRT;
		return t.closure_up();
	}
	return std::nullopt;
}

std::optional<ApicvFlags> parse_apicv(std::string_view spec)
{
	if (auto t = apicv_tier(spec))
		return t;
	return ApicvFlags::parse(spec);
}

} // namespace vapicvm::vmm

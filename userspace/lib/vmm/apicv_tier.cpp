// SPDX-License-Identifier: GPL-2.0
#include <string>

#include "vapicvm/vmm/apicv_tier.hpp"

namespace vapicvm::vmm
{

namespace
{
std::string tier_names()
{
	std::string s = "none";
	for (const auto &f : apicv_features)
		s += ", " + std::string(f.tier);
	return s + " (and any but none with +x2apic)";
}
} // namespace

Result<ApicvFlags> apicv_tier(std::string_view name)
{
	constexpr std::string_view suffix = "+x2apic";
	const std::string whole(name);
	const bool x2 = name.ends_with(suffix);
	if (x2)
		name.remove_suffix(suffix.size());
	if (name == "none" && !x2)
		return ApicvFlags::none();
	for (const auto &f : apicv_features)
		if (f.tier == name)
			return apicv_tier(f.feature, x2);
	return Error::from_errno(EINVAL, "APIC tier",
				 "\"" + whole + "\" is not one of " + tier_names());
}

Result<ApicvFlags> parse_apicv(std::string_view spec)
{
	if (auto t = apicv_tier(spec))
		return t;
	if (auto f = ApicvFlags::parse(spec))
		return *f;
	return Error::from_errno(EINVAL, "APIC features",
				 "\"" + std::string(spec) + "\" is no tier (" + tier_names() +
					 ") and no list of feature names or number");
}

} // namespace vapicvm::vmm

// SPDX-License-Identifier: GPL-2.0
/*
 * The named APIC-virtualization tiers.  A tier is a feature with everything
 * it requires, transitively (the tier column of the UAPI feature table:
 * "tpr", "access", "regvirt", "vid", "posted", "x2apic"), or none; "+x2apic"
 * after any tier but "none" adds x2APIC virtualization.
 *
 * Code names a tier by its top feature, which cannot be mistyped; names are
 * parsed only at the edge (a command line), and a name that is no tier is
 * an error, never "whatever the host offers".
 */
#ifndef VAPICVM_VMM_APICV_TIER_HPP
#define VAPICVM_VMM_APICV_TIER_HPP

#include <string_view>

#include "vapicvm/apicv.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm::vmm
{

/* The tier topped by feature: it and what it requires; with x2apic, "+x2apic". */
constexpr ApicvFlags apicv_tier(ApicvFeature top, bool plus_x2apic = false) noexcept
{
	ApicvFlags t(top);
	if (plus_x2apic)
		t |= ApicvFeature::X2APIC_VIRT;
	return t.closure_up();
}

/* The features of a tier name; EINVAL, naming the tiers, for anything else. */
Result<ApicvFlags> apicv_tier(std::string_view name);

/* A tier name, else what ApicvFlags::parse() accepts (feature names, a number); EINVAL. */
Result<ApicvFlags> parse_apicv(std::string_view spec);

} // namespace vapicvm::vmm

#endif

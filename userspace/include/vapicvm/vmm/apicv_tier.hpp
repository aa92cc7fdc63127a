// SPDX-License-Identifier: GPL-2.0
/*
 * The named APIC-virtualization tiers, for command lines: "none", or the
 * tier column of the UAPI feature table ("tpr", "access", "regvirt",
 * "vid", "posted", "x2apic", ...), each meaning that feature with
 * everything it requires, transitively; "+x2apic" after any tier but
 * "none" adds x2APIC virtualization.
 */
#ifndef VAPICVM_VMM_APICV_TIER_HPP
#define VAPICVM_VMM_APICV_TIER_HPP

#include <optional>
#include <string_view>

#include "vapicvm/apicv.hpp"

namespace vapicvm::vmm
{

/* The features of a tier name, or nullopt. */
std::optional<ApicvFlags> apicv_tier(std::string_view name);

/* A tier name, else what ApicvFlags::parse() accepts (feature names, a number). */
std::optional<ApicvFlags> parse_apicv(std::string_view spec);

} // namespace vapicvm::vmm

#endif

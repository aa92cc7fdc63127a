// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "vapicvm/apicv.hpp"
#include "vapicvm/vmm/apicv_tier.hpp"

using namespace vapicvm;
using vapicvm::vmm::apicv_tier;
using vapicvm::vmm::parse_apicv;

TEST(ApicvFlags, BitsMatchTheUapi)
{
	EXPECT_EQ(VAPICVM_APICV_TPR_SHADOW, ApicvFlags(ApicvFeature::TPR_SHADOW).raw());
	EXPECT_EQ(VAPICVM_APICV_POSTED_INTR, ApicvFlags(ApicvFeature::POSTED_INTR).raw());
	EXPECT_EQ(VAPICVM_APICV_ALL, ApicvFlags::all().raw());
	auto f = ApicvFeature::TPR_SHADOW | ApicvFeature::X2APIC_VIRT;
	EXPECT_TRUE(f.contains(ApicvFeature::X2APIC_VIRT));
	EXPECT_FALSE(f.contains(ApicvFeature::APIC_ACCESS));
	EXPECT_EQ(ApicvFlags(ApicvFeature::TPR_SHADOW), f - ApicvFeature::X2APIC_VIRT);
}

/* The same combinations the kernel's create_vm tests accept and reject. */
TEST(ApicvFlags, DependenciesAsTheKernelChecksThem)
{
	EXPECT_TRUE(ApicvFlags::none().valid());
	EXPECT_TRUE(ApicvFlags::all().valid());
	EXPECT_TRUE((ApicvFeature::TPR_SHADOW | ApicvFeature::X2APIC_VIRT).valid());
	EXPECT_TRUE(ApicvFlags::from_raw(VAPICVM_APICV_ALL & ~VAPICVM_APICV_POSTED_INTR).valid());
	EXPECT_FALSE(ApicvFlags(ApicvFeature::APIC_ACCESS).valid());
	EXPECT_EQ("apic-access needs tpr-shadow (vapicvm policy)",
		  ApicvFlags(ApicvFeature::APIC_ACCESS).why_invalid());
	EXPECT_EQ("posted-intr needs intr-delivery (SDM VM-entry check)",
		  ApicvFlags::from_raw(VAPICVM_APICV_ALL & ~VAPICVM_APICV_INTR_DELIVERY)
			  .why_invalid());
	EXPECT_EQ("x2apic-virt needs tpr-shadow (SDM VM-entry check)",
		  ApicvFlags(ApicvFeature::X2APIC_VIRT).why_invalid());
	auto no_regvirt = ApicvFlags::from_raw(
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_INTR_DELIVERY);
	EXPECT_FALSE(no_regvirt.valid());
	EXPECT_EQ("intr-delivery needs register-virt (vapicvm policy)", no_regvirt.why_invalid());
	EXPECT_FALSE(ApicvFlags::from_raw(1u << 20).valid());
}

TEST(ApicvFlags, ClosureDownDropsWhatLostItsPrerequisites)
{
	/* A host with posted interrupts but (oddly) no register virtualization. */
	auto host = ApicvFlags::from_raw(VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
					 VAPICVM_APICV_INTR_DELIVERY | VAPICVM_APICV_POSTED_INTR |
					 VAPICVM_APICV_X2APIC_VIRT);
	auto c = host.closure_down();
	EXPECT_TRUE(c.valid());
	EXPECT_EQ(ApicvFlags::from_raw(VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS |
				       VAPICVM_APICV_X2APIC_VIRT),
		  c);
	EXPECT_EQ(ApicvFlags::all(), ApicvFlags::all().closure_down());
}

TEST(ApicvFlags, Tiers)
{
	EXPECT_EQ(ApicvFlags::none(), *apicv_tier("none"));
	EXPECT_EQ(ApicvFlags(ApicvFeature::TPR_SHADOW), *apicv_tier("tpr"));
	EXPECT_EQ(ApicvFlags::all(), *apicv_tier("posted+x2apic"));
	EXPECT_EQ(ApicvFlags::from_raw(0x0f), *apicv_tier("vid"));
	for (const char *t : {"tpr", "access", "regvirt", "vid", "posted", "tpr+x2apic",
			      "access+x2apic", "vid+x2apic"})
		EXPECT_TRUE(apicv_tier(t)->valid()) << t;
	EXPECT_FALSE(apicv_tier("none+x2apic"));
	EXPECT_FALSE(apicv_tier("turbo"));
	EXPECT_EQ(ApicvFeature::TPR_SHADOW | ApicvFeature::X2APIC_VIRT, *apicv_tier("x2apic"));
	EXPECT_EQ(ApicvFlags::from_raw(0x2f), *apicv_tier("posted"))
		<< "posted needs VID (SDM), VID needs register virtualization (policy)...";
	/* Every tier in the table is its feature closed over its requirements, and valid. */
	for (const auto &f : apicv_features) {
		auto t = apicv_tier(f.tier);
		ASSERT_TRUE(t) << f.tier;
		EXPECT_TRUE(t->contains(f.feature)) << f.tier;
		EXPECT_TRUE(t->valid()) << f.tier << ": " << t->why_invalid();
		EXPECT_EQ(*t, t->closure_down()) << f.tier;
	}
	EXPECT_EQ(*apicv_tier("vid+x2apic"), *parse_apicv("vid+x2apic"));
	EXPECT_EQ(ApicvFlags::from_raw(3), *parse_apicv("tpr-shadow|apic-access"));
	EXPECT_FALSE(parse_apicv("turbo"));
}

/* Typed tiers cannot be mistyped; a mistyped name is an error that says why. */
TEST(ApicvFlags, TypedTiersAndNamedErrors)
{
	static_assert(apicv_tier(ApicvFeature::INTR_DELIVERY) == ApicvFlags::from_raw(0x0f));
	EXPECT_EQ(*apicv_tier("posted+x2apic"), apicv_tier(ApicvFeature::POSTED_INTR, true));
	EXPECT_EQ(*apicv_tier("x2apic"), apicv_tier(ApicvFeature::X2APIC_VIRT));
	auto bad = apicv_tier("vdi");
	ASSERT_FALSE(bad);
	EXPECT_EQ(std::errc::invalid_argument, bad.error().code());
	EXPECT_NE(std::string::npos, bad.error().message().find("\"vdi\" is not one of none, tpr"))
		<< bad.error().message();
	auto worse = parse_apicv("vid+x2apc");
	ASSERT_FALSE(worse);
	EXPECT_EQ(std::errc::invalid_argument, worse.error().code());
	EXPECT_NE(std::string::npos, worse.error().message().find("vid+x2apc"));
}

/* One row per feature: the enum, the UAPI bits and the table agree. */
TEST(ApicvFlags, TableFromTheUapi)
{
	std::uint32_t all = 0;
	for (const auto &f : apicv_features) {
		EXPECT_EQ(f.mask(), static_cast<std::uint32_t>(f.feature));
		EXPECT_EQ(&f, &apicv_feature_info(f.feature));
		EXPECT_FALSE(f.name.empty());
		EXPECT_FALSE(f.vmx_control.empty());
		all |= f.mask();
	}
	EXPECT_EQ(VAPICVM_APICV_ALL, all);
	EXPECT_EQ("x2apic-virt", apicv_feature_info(ApicvFeature::X2APIC_VIRT).name);
	static_assert(ApicvFlags(ApicvFeature::INTR_DELIVERY).closure_up().raw() == 0x0f);
}

TEST(ApicvFlags, StringRoundTrip)
{
	for (std::uint32_t b = 0; b <= VAPICVM_APICV_ALL; b++) {
		auto f = ApicvFlags::from_raw(b);
		auto back = ApicvFlags::parse(f.to_string());
		ASSERT_TRUE(back) << f.to_string();
		EXPECT_EQ(f, *back);
	}
	EXPECT_EQ("tpr-shadow|x2apic-virt",
		  (ApicvFeature::TPR_SHADOW | ApicvFeature::X2APIC_VIRT).to_string());
	EXPECT_EQ(ApicvFeature::TPR_SHADOW | ApicvFeature::X2APIC_VIRT,
		  *ApicvFlags::parse("tpr-shadow|x2apic"))
		<< "the old name still parses";
	EXPECT_EQ(ApicvFlags::none(), *ApicvFlags::parse("none"));
	EXPECT_EQ(ApicvFlags::from_raw(0x13), *ApicvFlags::parse("0x13"));
	EXPECT_EQ(ApicvFlags::from_raw(3), *ApicvFlags::parse("3"));
	EXPECT_FALSE(ApicvFlags::parse(""));
	EXPECT_FALSE(ApicvFlags::parse("tpr-shadow|"));
	EXPECT_FALSE(ApicvFlags::parse("tpr-shadow|bogus"));
	EXPECT_FALSE(ApicvFlags::parse("0x"));
	EXPECT_EQ("tpr-shadow|0x40", ApicvFlags::from_raw(0x41).to_string());
}

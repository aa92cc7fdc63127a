// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "vapicvm/apicv.hpp"

using namespace vapicvm;

TEST(ApicvFlags, BitsMatchTheUapi)
{
	EXPECT_EQ(VAPICVM_APICV_TPR_SHADOW, ApicvFlags(ApicvFeature::TprShadow).raw());
	EXPECT_EQ(VAPICVM_APICV_POSTED_INTR, ApicvFlags(ApicvFeature::PostedInterrupts).raw());
	EXPECT_EQ(VAPICVM_APICV_ALL, ApicvFlags::all().raw());
	auto f = ApicvFeature::TprShadow | ApicvFeature::X2apic;
	EXPECT_TRUE(f.contains(ApicvFeature::X2apic));
	EXPECT_FALSE(f.contains(ApicvFeature::ApicAccess));
	EXPECT_EQ(ApicvFlags(ApicvFeature::TprShadow), f - ApicvFeature::X2apic);
}

/* The same combinations the kernel's create_vm tests accept and reject. */
TEST(ApicvFlags, DependenciesAsTheKernelChecksThem)
{
	EXPECT_TRUE(ApicvFlags::none().valid());
	EXPECT_TRUE(ApicvFlags::all().valid());
	EXPECT_TRUE((ApicvFeature::TprShadow | ApicvFeature::X2apic).valid());
	EXPECT_TRUE(ApicvFlags::from_raw(VAPICVM_APICV_ALL & ~VAPICVM_APICV_POSTED_INTR).valid());
	EXPECT_FALSE(ApicvFlags(ApicvFeature::ApicAccess).valid());
	EXPECT_EQ("apic-access needs tpr-shadow",
		  ApicvFlags(ApicvFeature::ApicAccess).why_invalid());
	auto no_regvirt = ApicvFlags::from_raw(
		VAPICVM_APICV_TPR_SHADOW | VAPICVM_APICV_APIC_ACCESS | VAPICVM_APICV_INTR_DELIVERY);
	EXPECT_FALSE(no_regvirt.valid());
	EXPECT_EQ("intr-delivery needs register-virt", no_regvirt.why_invalid());
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
	EXPECT_EQ(ApicvFlags::none(), *ApicvFlags::tier("none"));
	EXPECT_EQ(ApicvFlags(ApicvFeature::TprShadow), *ApicvFlags::tier("tpr"));
	EXPECT_EQ(ApicvFlags::all(), *ApicvFlags::tier("posted+x2apic"));
	EXPECT_EQ(ApicvFlags::from_raw(0x0f), *ApicvFlags::tier("vid"));
	for (const char *t : {"tpr", "access", "regvirt", "vid", "posted", "tpr+x2apic",
			      "access+x2apic", "vid+x2apic"})
		EXPECT_TRUE(ApicvFlags::tier(t)->valid()) << t;
	EXPECT_FALSE(ApicvFlags::tier("none+x2apic"));
	EXPECT_FALSE(ApicvFlags::tier("turbo"));
}

TEST(ApicvFlags, StringRoundTrip)
{
	for (std::uint32_t b = 0; b <= VAPICVM_APICV_ALL; b++) {
		auto f = ApicvFlags::from_raw(b);
		auto back = ApicvFlags::parse(f.to_string());
		ASSERT_TRUE(back) << f.to_string();
		EXPECT_EQ(f, *back);
	}
	EXPECT_EQ("tpr-shadow|x2apic",
		  (ApicvFeature::TprShadow | ApicvFeature::X2apic).to_string());
	EXPECT_EQ(ApicvFlags::from_raw(0x13), *ApicvFlags::parse("0x13"));
	EXPECT_EQ(ApicvFlags::from_raw(3), *ApicvFlags::parse("3"));
	EXPECT_FALSE(ApicvFlags::parse(""));
	EXPECT_FALSE(ApicvFlags::parse("tpr-shadow|"));
	EXPECT_FALSE(ApicvFlags::parse("tpr-shadow|bogus"));
	EXPECT_FALSE(ApicvFlags::parse("0x"));
	EXPECT_EQ("tpr-shadow|0x40", ApicvFlags::from_raw(0x41).to_string());
}

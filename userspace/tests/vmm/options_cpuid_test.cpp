// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "cpuid_setup.hpp"
#include "options.hpp"

using namespace vrun;

namespace
{
vapicvm::Result<Options> parse(std::vector<std::string> a)
{
	return parse_options(a);
}
} // namespace

TEST(Options, Defaults)
{
	auto o = parse({"-k", "bzImage"});
	ASSERT_TRUE(o) << o.error().message();
	EXPECT_EQ("bzImage", o->kernel);
	EXPECT_EQ(256ull << 20, o->mem_bytes);
	EXPECT_EQ(1u, o->cpus);
	EXPECT_FALSE(o->cmdline);
	EXPECT_FALSE(o->apicv);
	EXPECT_EQ(0xf4, o->debug_exit_port);
	EXPECT_TRUE(o->stdin_input);
}

TEST(Options, Everything)
{
	auto o = parse({"--kernel=k",
			"-i",
			"initrd",
			"-p",
			"console=ttyS0 quiet",
			"-m",
			"1G",
			"--cpus",
			"4",
			"--apicv",
			"vid+x2apic",
			"--tsc-khz",
			"2000000",
			"--debug-exit-port",
			"0x501",
			"--no-stdin",
			"--stats",
			"-v",
			"--device",
			"/tmp/dev"});
	ASSERT_TRUE(o) << o.error().message();
	EXPECT_EQ("k", o->kernel);
	EXPECT_EQ("initrd", o->initrd);
	EXPECT_EQ("console=ttyS0 quiet", *o->cmdline);
	EXPECT_EQ(1ull << 30, o->mem_bytes);
	EXPECT_EQ(4u, o->cpus);
	EXPECT_EQ(vapicvm::ApicvFlags::from_raw(0x1f), *o->apicv);
	EXPECT_EQ(2000000u, o->tsc_khz);
	EXPECT_EQ(0x501, o->debug_exit_port);
	EXPECT_FALSE(o->stdin_input);
	EXPECT_TRUE(o->stats);
	EXPECT_TRUE(o->verbose);
	EXPECT_EQ("/tmp/dev", o->device);
}

TEST(Options, FlatAndEntryMode)
{
	auto o = parse({"-k", "f.bin", "--flat", "0x7c00", "--entry-mode", "real"});
	ASSERT_TRUE(o);
	EXPECT_EQ(0x7c00u, *o->flat_addr);
	EXPECT_EQ(CpuMode::Real16, *o->entry_mode);
	EXPECT_FALSE(parse({"-k", "f", "--entry-mode", "long"})) << "needs --flat";
	EXPECT_FALSE(parse({"-k", "f", "--flat", "0x1000", "--entry-mode", "virtual86"}));
}

TEST(Options, ErrorsNameTheOption)
{
	auto e = parse({"-k", "k", "-c", "0"});
	ASSERT_FALSE(e);
	EXPECT_EQ("option -c", e.error().operation());
	EXPECT_EQ(EINVAL, e.error().errno_value());
	EXPECT_FALSE(parse({"-k", "k", "-c", "256"}));
	EXPECT_FALSE(parse({"-k", "k", "-m", "1M"})) << "too small";
	EXPECT_FALSE(parse({"-k", "k", "-m", "lots"}));
	EXPECT_FALSE(parse({"-k", "k", "--bogus"}));
	EXPECT_FALSE(parse({"-k"})) << "missing value";
	EXPECT_FALSE(parse({})) << "no kernel";
	auto a = parse({"-k", "k", "--apicv", "apic-access"});
	ASSERT_FALSE(a);
	EXPECT_EQ("apic-access needs tpr-shadow (vapicvm policy)", a.error().detail());
	auto typo = parse({"-k", "k", "--apicv", "vdi"});
	ASSERT_FALSE(typo) << "a mistyped tier is an error, not the best the host offers";
	EXPECT_NE(std::string::npos, typo.error().detail().find("\"vdi\" is no tier"))
		<< typo.error().detail();
	EXPECT_TRUE(parse({"--help"})) << "help needs no kernel";
	EXPECT_TRUE(parse({"--help"})->help);
}

TEST(Options, Sizes)
{
	EXPECT_EQ(256ull << 20, *parse_size("256"));
	EXPECT_EQ(512ull << 20, *parse_size("512M"));
	EXPECT_EQ(2ull << 30, *parse_size("2g"));
	EXPECT_EQ(65536ull << 10, *parse_size("65536K"));
	EXPECT_EQ(0x100ull << 20, *parse_size("0x100"));
	EXPECT_FALSE(parse_size(""));
	EXPECT_FALSE(parse_size("M"));
	EXPECT_FALSE(parse_size("0"));
	EXPECT_FALSE(parse_size("99999999999999999999"));
}

TEST(Options, HelpIsUsable)
{
	auto u = usage("vapicvm-run");
	for (const char *s : {"--kernel", "--initrd", "--params", "--mem", "--cpus", "--flat",
			      "--apicv", "Exit status", "0x3f8", "acpi=off", "Ctrl-A x"})
		EXPECT_NE(std::string::npos, u.find(s)) << s;
	for (std::size_t pos = 0, nl; pos < u.size(); pos = nl + 1) {
		nl = u.find('\n', pos);
		if (nl == std::string::npos)
			nl = u.size();
		EXPECT_LE(nl - pos, 80u) << u.substr(pos, nl - pos);
	}
}

TEST(TscRatio, ExactWhenItFits)
{
	auto [n, d] = tsc_ratio(2000000, 1000000);
	EXPECT_EQ(2u, n);
	EXPECT_EQ(1u, d);
	auto [n2, d2] = tsc_ratio(2112000, 1000000);
	EXPECT_EQ(264u, n2) << "2112/1000, reduced";
	EXPECT_EQ(125u, d2);
}

TEST(TscRatio, ApproximatesWithin32BitProducts)
{
	for (std::uint32_t khz : {2112345u, 1999999u, 3600001u, 200000u, 123457u, 4294967u}) {
		auto [n, d] = tsc_ratio(khz, 1000000);
		ASSERT_NE(0u, d);
		EXPECT_LE(std::uint64_t(n) * 1000000, 0xffffffffull) << khz;
		/* What Linux computes, in 32-bit arithmetic. */
		std::uint32_t linux_khz = static_cast<std::uint32_t>(1000000u * n) / d;
		double err = std::abs(double(linux_khz) - khz) / khz;
		EXPECT_LT(err, 1e-4) << khz << " -> " << n << "/" << d << " = " << linux_khz;
	}
	auto z = tsc_ratio(0, 1000000);
	EXPECT_EQ(0u, z.first);
}

TEST(TscCalibration, AgainstAFakeClock)
{
	std::uint64_t t = 0;
	/* 2.5 GHz: 2.5 ticks per ns; each clock read advances 1 us. */
	auto now = [&] { return t += 1000; };
	auto tsc = [&] { return t * 5 / 2; };
	EXPECT_EQ(2500000u, calibrate_tsc_khz(now, tsc, 50000000));
}

namespace
{
vapicvm::vmm::CpuidTable supported()
{
	vapicvm::vmm::CpuidTable t;
	EXPECT_TRUE(t.set(0, 0, false, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69));
	EXPECT_TRUE(t.set(1, 0, false, 0x50654, 0x00010800, 0x80000000, 0x078bfbff));
	EXPECT_TRUE(t.set(4, 0, true, 0x1c004121, 0, 0, 0));
	EXPECT_TRUE(t.set(6, 0, false, 0, 0, 0, 0));
	EXPECT_TRUE(t.set(0xb, 0, true, 1, 2, 0x100, 0));
	EXPECT_TRUE(t.set(0xb, 1, true, 4, 4, 0x201, 0));
	EXPECT_TRUE(t.set(0x40000000, 0, false, 0x40000000, 0x69706176, 0x616d7663, 0x63697061));
	return t;
}
} // namespace

TEST(GuestCpuid, FrequenciesAndTopology)
{
	auto g = build_guest_cpuid(supported(), CpuidOptions{2, 2112345});
	ASSERT_TRUE(g) << g.error().message();
	EXPECT_EQ(0x16u, g->find(0)->eax) << "max leaf raised to cover 0x15/0x16";
	EXPECT_EQ(2u, (g->find(1)->ebx >> 16) & 0xff);
	EXPECT_TRUE(g->find(1)->edx & (1u << 28));
	EXPECT_EQ(1u, g->find(4, 0)->eax >> 26);
	EXPECT_TRUE(g->find(6)->eax & 4) << "ARAT";
	EXPECT_EQ(1u, g->find(0xb, 1)->eax) << "shift for 2 cores";
	EXPECT_EQ(2u, g->find(0xb, 1)->ebx);
	const auto *l15 = g->find(0x15);
	ASSERT_NE(nullptr, l15);
	EXPECT_EQ(apic_timer_hz, l15->ecx);
	std::uint32_t linux_khz = (l15->ecx / 1000) * l15->ebx / l15->eax;
	EXPECT_NEAR(2112345.0, linux_khz, 2112345.0 * 1e-4);
	EXPECT_EQ(2112u, g->find(0x16)->eax);
	EXPECT_EQ(1000u, g->find(0x16)->ecx);
	EXPECT_EQ(0x40000010u, g->find(0x40000000)->eax);
	EXPECT_EQ(2112345u, g->find(0x40000010)->eax);
	EXPECT_EQ(1000000u, g->find(0x40000010)->ebx);
	/* The input is untouched. */
	auto s = supported();
	EXPECT_EQ(0xdu, s.find(0)->eax);
}

TEST(GuestCpuid, WithoutAFrequency)
{
	auto g = build_guest_cpuid(supported(), CpuidOptions{1, 0});
	ASSERT_TRUE(g);
	EXPECT_EQ(nullptr, g->find(0x15));
	EXPECT_EQ(0xdu, g->find(0)->eax);
	EXPECT_FALSE(g->find(1)->edx & (1u << 28) && false);
	EXPECT_EQ(1u, (g->find(1)->ebx >> 16) & 0xff);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm-stat's model and formatting on made-up snapshots: rates,
 * sorting, the live view within 80x24, valid JSON, event lines.
 */
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "format.hpp"
#include "model.hpp"
#include "options.hpp"

using namespace vstat;
using vapicvm::VcpuInfo;
using vapicvm::VmInfo;

namespace
{
/*
 * A small JSON checker (RFC 8259): true if s is exactly one value,
 * whitespace around it allowed.
 */
class JsonChecker
{
public:
	explicit JsonChecker(std::string_view s) : s_(s) {}

	bool valid()
	{
		ws();
		if (!value())
			return false;
		ws();
		return i_ == s_.size();
	}

private:
	bool value()
	{
		if (i_ >= s_.size() || ++depth_ > 64)
			return false;
		bool r;
		char c = s_[i_];
		if (c == '{')
			r = object();
		else if (c == '[')
			r = array();
		else if (c == '"')
			r = string();
		else if (c == '-' || std::isdigit(static_cast<unsigned char>(c)))
			r = number();
		else
			r = literal("true") || literal("false") || literal("null");
		depth_--;
		return r;
	}
	bool object()
	{
		i_++;
		ws();
		if (eat('}'))
			return true;
		for (;;) {
			ws();
			if (!string())
				return false;
			ws();
			if (!eat(':'))
				return false;
			ws();
			if (!value())
				return false;
			ws();
			if (eat('}'))
				return true;
			if (!eat(','))
				return false;
		}
	}
	bool array()
	{
		i_++;
		ws();
		if (eat(']'))
			return true;
		for (;;) {
			ws();
			if (!value())
				return false;
			ws();
			if (eat(']'))
				return true;
			if (!eat(','))
				return false;
		}
	}
	bool string()
	{
		if (!eat('"'))
			return false;
		while (i_ < s_.size()) {
			unsigned char c = static_cast<unsigned char>(s_[i_++]);
			if (c == '"')
				return true;
			if (c < 0x20)
				return false;
			if (c == '\\') {
				if (i_ >= s_.size())
					return false;
				char e = s_[i_++];
				if (e == 'u') {
					for (int k = 0; k < 4; k++)
						if (i_ >= s_.size() ||
						    !std::isxdigit(
							    static_cast<unsigned char>(s_[i_++])))
							return false;
				} else if (std::string_view("\"\\/bfnrt").find(e) ==
					   std::string_view::npos) {
					return false;
				}
			}
		}
		return false;
	}
	bool number()
	{
		eat('-');
		if (eat('0')) {
		} else if (!digits()) {
			return false;
		}
		if (eat('.') && !digits())
			return false;
		if (eat('e') || eat('E')) {
			if (!eat('+'))
				eat('-');
			if (!digits())
				return false;
		}
		return true;
	}
	bool digits()
	{
		std::size_t start = i_;
		while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
			i_++;
		return i_ > start;
	}
	bool literal(std::string_view w)
	{
		if (s_.substr(i_, w.size()) != w)
			return false;
		i_ += w.size();
		return true;
	}
	bool eat(char c)
	{
		if (i_ < s_.size() && s_[i_] == c) {
			i_++;
			return true;
		}
		return false;
	}
	void ws()
	{
		while (i_ < s_.size() &&
		       std::string_view(" \t\r\n").find(s_[i_]) != std::string_view::npos)
			i_++;
	}

	std::string_view s_;
	std::size_t i_ = 0;
	int depth_ = 0;
};

bool valid_json(std::string_view s)
{
	return JsonChecker(s).valid();
}

VmSnapshot vm(std::uint64_t id, std::uint64_t exits, std::uint32_t nr_vcpus = 2)
{
	VmSnapshot v;
	v.info.id = id;
	v.info.pid = 1000 + std::uint32_t(id);
	v.info.uid = 0;
	v.info.nr_vcpus = nr_vcpus;
	v.info.mem_bytes = 256ull << 20;
	v.info.tier = "posted";
	v.info.apicv = 0x3f;
	v.info.features.push_back({"tpr-shadow", VAPICVM_FEATURE_IN_USE, 0});
	v.info.features.push_back({"posted-intr", VAPICVM_FEATURE_NEEDS_FEATURE, 0x8});
	v.info.counters.stats[VAPICVM_STAT_EXITS] = exits;
	v.info.counters.stats[VAPICVM_STAT_EXIT_HLT] = exits / 2;
	v.info.counters.stats[VAPICVM_STAT_IRQ_INJECTED] = exits / 4;
	v.info.counters.exit_reasons[12] = exits / 2;
	v.info.counters.exit_reasons[1234] = 1;
	v.info.counters.apic_access[0xb0] = 3;
	v.info.counters.apic_write[0x300] = 4;
	v.info.counters.user_exits[VAPICVM_EXIT_IO] = 5;
	v.info.counters.extra[VAPICVM_STAT_NR + 2] = 9;
	v.info.vm_stats[VAPICVM_VM_STAT_EPT_TABLES] = 17;
	for (std::uint32_t i = 0; i < nr_vcpus; i++) {
		VcpuInfo c;
		c.vm_id = id;
		c.vcpu_id = i;
		if (i)
			c.last_cpu = i;
		c.apic_mode = VAPICVM_APIC_MODE_XAPIC;
		c.mp_state = i ? VAPICVM_MP_STATE_INIT_RECEIVED : VAPICVM_MP_STATE_RUNNABLE;
		c.counters.stats[VAPICVM_STAT_EXITS] = exits / nr_vcpus;
		v.vcpus.push_back(c);
	}
	return v;
}
} // namespace

TEST(StatJson, Checker)
{
	EXPECT_TRUE(valid_json("{\"a\":[1,2.5,-3e2,true,null,\"x\\u00e9\\n\"]}"));
	EXPECT_FALSE(valid_json("{\"a\":1,}"));
	EXPECT_FALSE(valid_json("{\"a\" 1}"));
	EXPECT_FALSE(valid_json("[01]"));
	EXPECT_FALSE(valid_json("\"a\nb\""));
	EXPECT_FALSE(valid_json("{} {}"));
}

TEST(StatModel, Rates)
{
	EXPECT_DOUBLE_EQ(50.0, rate(100, 200, 2.0));
	EXPECT_EQ(0.0, rate(200, 100, 2.0)); /* went back */
	EXPECT_EQ(0.0, rate(100, 200, 0.0));

	Snapshot a, b;
	a.time = 10;
	b.time = 12;
	a.vms.push_back(vm(1, 1000));
	a.vms.push_back(vm(2, 1000));
	b.vms.push_back(vm(1, 1100)); /* 50/s */
	b.vms.push_back(vm(2, 3000)); /* 1000/s */
	b.vms.push_back(vm(3, 400));  /* new: 200/s */
	b.vms[0].info.counters.stats[VAPICVM_STAT_GUEST_NS] =
		2'000'000'000; /* 1 s per vCPU-s of 4 */
	auto rows = vm_rates(&a, b);
	ASSERT_EQ(3u, rows.size());
	EXPECT_EQ(2u, rows[0].vm->info.id);
	EXPECT_DOUBLE_EQ(1000.0, rows[0].exits);
	EXPECT_EQ(3u, rows[1].vm->info.id);
	EXPECT_DOUBLE_EQ(200.0, rows[1].exits);
	EXPECT_EQ(1u, rows[2].vm->info.id);
	EXPECT_DOUBLE_EQ(50.0, rows[2].exits);
	EXPECT_DOUBLE_EQ(50.0, rows[2].guest);
	auto t = totals(rows);
	EXPECT_EQ(3u, t.vms);
	EXPECT_EQ(6u, t.vcpus);
	EXPECT_DOUBLE_EQ(1250.0, t.exits);

	/* The first snapshot has no rates. */
	for (const auto &r : vm_rates(nullptr, b))
		EXPECT_EQ(0.0, r.exits);

	auto top = top_counters(&a, b, 3);
	ASSERT_FALSE(top.empty());
	EXPECT_EQ("exits", top[0].name);
	EXPECT_DOUBLE_EQ(1250.0, top[0].rate);
	EXPECT_EQ(4500u, top[0].total);
	EXPECT_LE(top.size(), 3u);

	auto vr = vcpu_rates(&a.vms[1], b.vms[1], 2.0);
	ASSERT_EQ(2u, vr.size());
	EXPECT_DOUBLE_EQ(500.0, vr[0].exits);
}

TEST(StatFormat, Human)
{
	EXPECT_EQ("0", human_bytes(0));
	EXPECT_EQ("512", human_bytes(512));
	EXPECT_EQ("256M", human_bytes(256ull << 20));
	EXPECT_EQ("1.5G", human_bytes(3ull << 29));
	EXPECT_EQ("0", human_rate(0));
	EXPECT_EQ("950", human_rate(950));
	EXPECT_EQ("12.3k", human_rate(12345));
	EXPECT_EQ("4.57M", human_rate(4567890));
	EXPECT_EQ("\"a\\\"b\\\\c\\n\\u0001\"", json_string("a\"b\\c\n\x01"));
}

TEST(StatFormat, Json)
{
	Snapshot s;
	s.vms.push_back(vm(1, 100));
	s.vms.push_back(vm(2, 0, 1));
	s.vms[1].info.tier = "we\"ird\\\n";
	auto j = format_json(s);
	EXPECT_TRUE(valid_json(j)) << j;
	EXPECT_NE(std::string::npos, j.find("\"counters\":{\"exits\":100,"));
	EXPECT_NE(std::string::npos, j.find("\"HLT\":50"));
	EXPECT_NE(std::string::npos, j.find("\"reason_1234\":1"));
	EXPECT_NE(std::string::npos, j.find("\"apic_access\":{\"0x0b0\":3}"));
	EXPECT_NE(std::string::npos, j.find("\"apic_write\":{\"0x300\":4}"));
	EXPECT_NE(std::string::npos, j.find("\"user_exits\":{\"io\":5}"));
	EXPECT_NE(std::string::npos, j.find("\"ept_tables\":17"));
	EXPECT_NE(std::string::npos,
		  j.find("\"stat_" + std::to_string(VAPICVM_STAT_NR + 2) + "\":9"));
	EXPECT_NE(std::string::npos, j.find("\"vcpus\":[{\"id\":0,\"last_cpu\":null"));
	EXPECT_NE(std::string::npos, j.find("\"state\":\"needs-feature\""));
	EXPECT_TRUE(valid_json(format_json(Snapshot{})));
	EXPECT_EQ("{\"vms\":[]}", format_json(Snapshot{}));
}

TEST(StatFormat, Table)
{
	Snapshot s;
	s.vms.push_back(vm(7, 100));
	auto t = format_table(s);
	EXPECT_NE(std::string::npos, t.find("TIER"));
	EXPECT_NE(std::string::npos, t.find("VM 7 (pid 1007"));
	EXPECT_NE(std::string::npos, t.find("exit_hlt"));
	EXPECT_NE(std::string::npos, t.find("HLT=50"));
	EXPECT_NE(std::string::npos, t.find("EOI(0x0b0)=3"));
	EXPECT_NE(std::string::npos, t.find("ICR_LO(0x300)=4"));
	EXPECT_NE(std::string::npos, t.find("io=5"));
	EXPECT_NE(std::string::npos, t.find("posted-intr=needs-feature(0x08)"));
	EXPECT_EQ(std::string::npos, t.find("ipi_sent")); /* zero: left out */
	EXPECT_NE(std::string::npos, format_table(Snapshot{}).find("(no VMs)"));
}

TEST(StatFormat, WatchFits)
{
	Snapshot a, b;
	a.time = 0;
	b.time = 1;
	for (std::uint64_t id = 1; id <= 40; id++) {
		a.vms.push_back(vm(id, 1000, 4));
		b.vms.push_back(vm(id, 1000 + id * 100, 4));
	}
	for (Screen sc : {Screen{80, 24}, Screen{40, 10}, Screen{200, 60}, Screen{80, 5}}) {
		for (bool vcpus : {false, true}) {
			auto lines = format_watch(&a, b, sc, vcpus, "22:00:00", 1.0);
			EXPECT_LE(lines.size(), sc.rows);
			for (const auto &l : lines) {
				EXPECT_LE(l.size(), sc.cols) << l;
				for (char c : l)
					EXPECT_TRUE(c >= 0x20 && c < 0x7f) << l;
			}
		}
	}
	auto lines = format_watch(&a, b, Screen{80, 24}, false, "22:00:00", 1.0);
	ASSERT_GE(lines.size(), 3u);
	EXPECT_NE(std::string::npos, lines[0].find("VMs 40"));
	EXPECT_NE(std::string::npos, lines[0].find("vCPUs 160"));
	/* Highest exit rate first: VM 40. */
	EXPECT_EQ(0u, lines[2].find("   40 "));
	bool more = false, top = false;
	for (const auto &l : lines) {
		more |= l.find("more VMs") != std::string::npos;
		top |= l.find("TOP COUNTERS") != std::string::npos;
	}
	EXPECT_TRUE(more);
	EXPECT_TRUE(top);

	auto with = format_watch(&a, b, Screen{80, 24}, true, "22:00:00", 1.0);
	EXPECT_NE(std::string::npos, with[3].find("vcpu0"));

	auto empty = format_watch(nullptr, Snapshot{}, Screen{80, 24}, false, "x", 1.0);
	bool none = false;
	for (const auto &l : empty)
		none |= l.find("(no VMs)") != std::string::npos;
	EXPECT_TRUE(none);
}

TEST(StatFormat, Events)
{
	vapicvm::Event e;
	e.kind = vapicvm::EventKind::VmCreate;
	e.vm_id = 3;
	e.pid = 55;
	e.uid = 0;
	e.apicv = 0x3f;
	e.tier = "posted";
	auto line = format_event(e, "2026-01-01T00:00:00.000Z", false);
	EXPECT_EQ("2026-01-01T00:00:00.000Z vm-create vm 3 pid 55 uid 0 apicv 0x3f tier posted",
		  line);
	auto j = format_event(e, "t", true);
	EXPECT_TRUE(valid_json(j)) << j;
	EXPECT_NE(std::string::npos, j.find("\"event\":\"vm-create\""));

	vapicvm::Event m;
	m.kind = vapicvm::EventKind::ApicMode;
	m.vm_id = 3;
	m.vcpu_id = 1;
	m.old_value = VAPICVM_APIC_MODE_XAPIC;
	m.new_value = VAPICVM_APIC_MODE_X2APIC;
	EXPECT_EQ("t apic-mode vm 3 vcpu 1 xapic -> x2apic", format_event(m, "t", false));
	EXPECT_TRUE(valid_json(format_event(m, "t", true)));
}

TEST(StatOptions, Parse)
{
	auto o = parse_options({"--watch", "--interval", "0.5", "--iterations=3", "--vm", "0x10"});
	ASSERT_TRUE(o) << o.error().message();
	EXPECT_TRUE(o->watch);
	EXPECT_DOUBLE_EQ(0.5, o->interval);
	EXPECT_EQ(3u, o->iterations.value_or(0));
	EXPECT_EQ(16u, o->vm.value_or(0));
	EXPECT_FALSE(parse_options({"--watch", "--events"}));
	EXPECT_FALSE(parse_options({"--watch", "--json"}));
	EXPECT_FALSE(parse_options({"--vcpu", "1"}));
	EXPECT_FALSE(parse_options({"--interval", "0"}));
	EXPECT_FALSE(parse_options({"--iterations", "-1"}));
	EXPECT_FALSE(parse_options({"--nope"}));
	EXPECT_FALSE(parse_options({"--vm"}));
	auto v = parse_options({"--vm", "1", "--vcpu", "2", "--json"});
	ASSERT_TRUE(v);
	EXPECT_TRUE(v->vcpus);
	EXPECT_TRUE(v->json);
}

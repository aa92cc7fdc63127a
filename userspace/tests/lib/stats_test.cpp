// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink replies and events, built with libnl as the module
 * would send them, through VmInfo::parse(), VcpuInfo::parse() and
 * Event::parse(); and the name tables.
 */
#include <cstdint>
#include <memory>
#include <span>

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "vapicvm/exit.hpp"
#include "vapicvm/stats.hpp"

using namespace vapicvm;

namespace
{
struct MsgFree {
	void operator()(nl_msg *m) const noexcept { nlmsg_free(m); }
};
using Msg = std::unique_ptr<nl_msg, MsgFree>;

constexpr int family = 0x1c;

Msg message(std::uint8_t cmd)
{
	Msg m(nlmsg_alloc());
	EXPECT_TRUE(genlmsg_put(m.get(), 0, 1, family, 0, 0, cmd, VAPICVM_GENL_VERSION));
	return m;
}

std::span<const std::uint8_t> bytes(const Msg &m)
{
	nlmsghdr *h = nlmsg_hdr(m.get());
	return {reinterpret_cast<const std::uint8_t *>(h), h->nlmsg_len};
}

void put_u64(nl_msg *m, int type, std::uint64_t v)
{
	ASSERT_EQ(0, nla_put_u64(m, type, v));
}

/* The counter nests a VM and a vCPU share. */
void put_counters(nl_msg *m)
{
	nlattr *s = nla_nest_start(m, VAPICVM_A_STATS);
	for (int i = 0; i < VAPICVM_STAT_NR; i++)
		put_u64(m, i + 1, 1000 + i);
	put_u64(m, VAPICVM_STAT_NR + 5 + 1, 77); /* from a newer module */
	nla_nest_end(m, s);
	nlattr *r = nla_nest_start(m, VAPICVM_A_EXIT_REASONS);
	put_u64(m, 10 + 1, 5); /* CPUID */
	put_u64(m, 12 + 1, 6); /* HLT */
	put_u64(m, 99 + 1, 1); /* unknown */
	nla_nest_end(m, r);
	nlattr *a = nla_nest_start(m, VAPICVM_A_APIC_ACCESS);
	put_u64(m, 0xb0 / 16 + 1, 8); /* EOI */
	nla_nest_end(m, a);
	nlattr *w = nla_nest_start(m, VAPICVM_A_APIC_WRITE);
	put_u64(m, 0x300 / 16 + 1, 9); /* ICR_LO */
	nla_nest_end(m, w);
	nlattr *u = nla_nest_start(m, VAPICVM_A_USER_EXITS);
	put_u64(m, VAPICVM_EXIT_IO + 1, 11);
	nla_nest_end(m, u);
}

void check_counters(const Counters &c)
{
	for (int i = 0; i < VAPICVM_STAT_NR; i++)
		EXPECT_EQ(std::uint64_t(1000 + i), c.stats[i]) << stat_name(i);
	EXPECT_EQ(1000u, c[VAPICVM_STAT_EXITS]);
	ASSERT_EQ(1u, c.extra.size());
	EXPECT_EQ(77u, c.extra.at(VAPICVM_STAT_NR + 5));
	EXPECT_EQ(5u, c.exit_reasons.at(10));
	EXPECT_EQ(6u, c.exit_reasons.at(12));
	EXPECT_EQ(1u, c.exit_reasons.at(99));
	EXPECT_EQ(8u, c.apic_access.at(0xb0));
	EXPECT_EQ(9u, c.apic_write.at(0x300));
	EXPECT_EQ(11u, c.user_exits.at(VAPICVM_EXIT_IO));
}
} // namespace

TEST(StatsParse, Vm)
{
	Msg m = message(VAPICVM_CMD_GET_VM);
	put_u64(m.get(), VAPICVM_A_VM_ID, 42);
	nla_put_u32(m.get(), VAPICVM_A_PID, 1234);
	nla_put_u32(m.get(), VAPICVM_A_UID, 1000);
	nla_put_u32(m.get(), VAPICVM_A_NR_VCPUS, 2);
	put_u64(m.get(), VAPICVM_A_MEM_BYTES, 256ull << 20);
	put_u64(m.get(), VAPICVM_A_PINNED_BYTES, 1ull << 20);
	nla_put_u32(m.get(), VAPICVM_A_APICV, 0x0f);
	nla_put_u32(m.get(), VAPICVM_A_APICV_REQUESTED, 0x3f);
	nla_put_string(m.get(), VAPICVM_A_APICV_TIER, "vid");
	nlattr *fs = nla_nest_start(m.get(), VAPICVM_A_APICV_FEATURES);
	nlattr *f = nla_nest_start(m.get(), VAPICVM_A_FEATURE);
	nla_put_string(m.get(), VAPICVM_A_FEATURE_NAME, "tpr-shadow");
	nla_put_u32(m.get(), VAPICVM_A_FEATURE_STATE, VAPICVM_FEATURE_IN_USE);
	nla_put_u32(m.get(), VAPICVM_A_FEATURE_NEEDS, 0);
	nla_nest_end(m.get(), f);
	f = nla_nest_start(m.get(), VAPICVM_A_FEATURE);
	nla_put_string(m.get(), VAPICVM_A_FEATURE_NAME, "posted-intr");
	nla_put_u32(m.get(), VAPICVM_A_FEATURE_STATE, VAPICVM_FEATURE_NOT_OFFERED);
	nla_put_u32(m.get(), VAPICVM_A_FEATURE_NEEDS, 0);
	nla_nest_end(m.get(), f);
	nla_nest_end(m.get(), fs);
	put_counters(m.get());
	nlattr *vs = nla_nest_start(m.get(), VAPICVM_A_VM_STATS);
	/* A pad (type 1, empty) as a u64 gets where alignment needs it. */
	ASSERT_EQ(0, nla_put(m.get(), VAPICVM_A_PAD, 0, nullptr));
	put_u64(m.get(), VAPICVM_VM_STAT_EPT_TABLES + 1, 12);
	put_u64(m.get(), VAPICVM_VM_STAT_NR + 1, 3);
	nla_nest_end(m.get(), vs);
	nla_put_u32(m.get(), __VAPICVM_A_MAX + 3, 1); /* an attribute from a newer module */

	auto vm = VmInfo::parse(bytes(m));
	ASSERT_TRUE(vm) << vm.error().message();
	EXPECT_EQ(42u, vm->id);
	EXPECT_EQ(1234u, vm->pid);
	EXPECT_EQ(1000u, vm->uid);
	EXPECT_EQ(2u, vm->nr_vcpus);
	EXPECT_EQ(256ull << 20, vm->mem_bytes);
	EXPECT_EQ(1ull << 20, vm->pinned_bytes);
	EXPECT_EQ(0x0fu, vm->apicv);
	EXPECT_EQ(0x3fu, vm->apicv_requested);
	EXPECT_EQ("vid", vm->tier);
	ASSERT_EQ(2u, vm->features.size());
	EXPECT_EQ("tpr-shadow", vm->features[0].name);
	EXPECT_EQ(std::uint32_t(VAPICVM_FEATURE_IN_USE), vm->features[0].state);
	EXPECT_EQ("posted-intr", vm->features[1].name);
	EXPECT_EQ(std::uint32_t(VAPICVM_FEATURE_NOT_OFFERED), vm->features[1].state);
	check_counters(vm->counters);
	EXPECT_EQ(12u, vm->vm_stats[VAPICVM_VM_STAT_EPT_TABLES]);
	EXPECT_EQ(3u, vm->vm_stats_extra.at(VAPICVM_VM_STAT_NR));
}

TEST(StatsParse, Vcpu)
{
	Msg m = message(VAPICVM_CMD_GET_VCPU);
	put_u64(m.get(), VAPICVM_A_VM_ID, 42);
	nla_put_u32(m.get(), VAPICVM_A_VCPU_ID, 1);
	nla_put_u32(m.get(), VAPICVM_A_LAST_CPU, 0xffffffffu);
	nla_put_u32(m.get(), VAPICVM_A_APIC_MODE, VAPICVM_APIC_MODE_X2APIC);
	nla_put_u32(m.get(), VAPICVM_A_MP_STATE, VAPICVM_MP_STATE_HALTED);
	nla_put_u8(m.get(), VAPICVM_A_IN_GUEST, 1);
	put_counters(m.get());
	auto v = VcpuInfo::parse(bytes(m));
	ASSERT_TRUE(v) << v.error().message();
	EXPECT_EQ(42u, v->vm_id);
	EXPECT_EQ(1u, v->vcpu_id);
	EXPECT_FALSE(v->last_cpu); /* never ran */
	EXPECT_EQ(std::uint32_t(VAPICVM_APIC_MODE_X2APIC), v->apic_mode);
	EXPECT_EQ(std::uint32_t(VAPICVM_MP_STATE_HALTED), v->mp_state);
	EXPECT_TRUE(v->in_guest);
	check_counters(v->counters);

	Msg m2 = message(VAPICVM_CMD_GET_VCPU);
	put_u64(m2.get(), VAPICVM_A_VM_ID, 42);
	nla_put_u32(m2.get(), VAPICVM_A_VCPU_ID, 0);
	nla_put_u32(m2.get(), VAPICVM_A_LAST_CPU, 3);
	auto v2 = VcpuInfo::parse(bytes(m2));
	ASSERT_TRUE(v2);
	ASSERT_TRUE(v2->last_cpu);
	EXPECT_EQ(3u, *v2->last_cpu);
	EXPECT_FALSE(v2->in_guest);
}

TEST(StatsParse, Events)
{
	Msg m = message(VAPICVM_CMD_EVENT);
	nla_put_u32(m.get(), VAPICVM_A_EVENT, VAPICVM_EVENT_VM_CREATE);
	put_u64(m.get(), VAPICVM_A_VM_ID, 7);
	nla_put_u32(m.get(), VAPICVM_A_PID, 99);
	nla_put_u32(m.get(), VAPICVM_A_UID, 0);
	nla_put_u32(m.get(), VAPICVM_A_APICV, 0x3f);
	nla_put_string(m.get(), VAPICVM_A_APICV_TIER, "posted");
	auto e = Event::parse(bytes(m));
	ASSERT_TRUE(e) << e.error().message();
	EXPECT_EQ(EventKind::VmCreate, e->kind);
	EXPECT_EQ("vm-create", event_kind_name(e->kind));
	EXPECT_EQ(7u, e->vm_id);
	EXPECT_FALSE(e->vcpu_id);
	EXPECT_EQ(99u, e->pid.value_or(0));
	EXPECT_EQ(0u, e->uid.value_or(1));
	EXPECT_EQ(0x3fu, e->apicv.value_or(0));
	EXPECT_EQ("posted", e->tier.value_or(""));

	Msg f = message(VAPICVM_CMD_EVENT);
	nla_put_u32(f.get(), VAPICVM_A_EVENT, VAPICVM_EVENT_ENTRY_FAILED);
	put_u64(f.get(), VAPICVM_A_VM_ID, 7);
	nla_put_u32(f.get(), VAPICVM_A_VCPU_ID, 2);
	nla_put_u32(f.get(), VAPICVM_A_REASON, 33);
	put_u64(f.get(), VAPICVM_A_QUALIFICATION, 0x1234);
	auto ef = Event::parse(bytes(f));
	ASSERT_TRUE(ef);
	EXPECT_EQ(EventKind::EntryFailed, ef->kind);
	EXPECT_EQ(2u, ef->vcpu_id.value_or(0));
	EXPECT_EQ(33u, ef->reason.value_or(0));
	EXPECT_EQ(0x1234u, ef->qualification.value_or(0));
	EXPECT_FALSE(ef->pid);
}

TEST(StatsParse, Malformed)
{
	/* The wrong command. */
	Msg m = message(VAPICVM_CMD_GET_VCPU);
	put_u64(m.get(), VAPICVM_A_VM_ID, 1);
	auto r = VmInfo::parse(bytes(m));
	ASSERT_FALSE(r);
	EXPECT_EQ(EBADMSG, r.error().errno_value());

	/* No id. */
	Msg n = message(VAPICVM_CMD_GET_VM);
	nla_put_u32(n.get(), VAPICVM_A_PID, 1);
	EXPECT_FALSE(VmInfo::parse(bytes(n)));
	Msg ne = message(VAPICVM_CMD_EVENT);
	EXPECT_FALSE(Event::parse(bytes(ne)));

	/* A short u64. */
	Msg s = message(VAPICVM_CMD_GET_VM);
	nla_put_u32(s.get(), VAPICVM_A_VM_ID, 1);
	EXPECT_FALSE(VmInfo::parse(bytes(s)));

	/* Truncated: the buffer ends inside an attribute, or inside the header. */
	Msg t = message(VAPICVM_CMD_GET_VM);
	put_u64(t.get(), VAPICVM_A_VM_ID, 1);
	put_counters(t.get());
	auto full = bytes(t);
	EXPECT_FALSE(VmInfo::parse(full.first(full.size() - 4)));
	EXPECT_FALSE(VmInfo::parse(full.first(10)));
	EXPECT_FALSE(VmInfo::parse({}));
	/* A nest whose attribute claims more than the nest holds. */
	Msg b = message(VAPICVM_CMD_GET_VM);
	put_u64(b.get(), VAPICVM_A_VM_ID, 1);
	nlattr *st = nla_nest_start(b.get(), VAPICVM_A_STATS);
	put_u64(b.get(), 1, 5);
	nla_nest_end(b.get(), st);
	auto *inner = reinterpret_cast<nlattr *>(static_cast<char *>(nla_data(st)));
	inner->nla_len = 200;
	auto rb = VmInfo::parse(bytes(b));
	ASSERT_FALSE(rb);
	EXPECT_EQ(EBADMSG, rb.error().errno_value());
}

TEST(StatsNames, Tables)
{
	EXPECT_EQ("exits", stat_name(VAPICVM_STAT_EXITS));
	EXPECT_EQ("guest_ns", stat_name(VAPICVM_STAT_GUEST_NS));
	EXPECT_EQ("", stat_name(VAPICVM_STAT_NR));
	EXPECT_EQ("time in guest mode, ns", stat_description(VAPICVM_STAT_GUEST_NS));
	EXPECT_EQ("ept_tables", vm_stat_name(VAPICVM_VM_STAT_EPT_TABLES));
	EXPECT_EQ("", vm_stat_name(VAPICVM_VM_STAT_NR));
	EXPECT_EQ("EXCEPTION_NMI", vmx_exit_reason_name(0));
	EXPECT_EQ("EXTERNAL_INTERRUPT", vmx_exit_reason_name(1));
	EXPECT_EQ("CPUID", vmx_exit_reason_name(10));
	EXPECT_EQ("HLT", vmx_exit_reason_name(12));
	EXPECT_EQ("IO_INSTRUCTION", vmx_exit_reason_name(30));
	EXPECT_EQ("MSR_READ", vmx_exit_reason_name(31));
	EXPECT_EQ("MSR_WRITE", vmx_exit_reason_name(32));
	EXPECT_EQ("APIC_ACCESS", vmx_exit_reason_name(44));
	EXPECT_EQ("EOI_INDUCED", vmx_exit_reason_name(45));
	EXPECT_EQ("EPT_VIOLATION", vmx_exit_reason_name(48));
	EXPECT_EQ("PREEMPTION_TIMER", vmx_exit_reason_name(52));
	EXPECT_EQ("APIC_WRITE", vmx_exit_reason_name(56));
	EXPECT_EQ("", vmx_exit_reason_name(35));
	EXPECT_EQ("", vmx_exit_reason_name(1000));
	EXPECT_EQ("TPR", apic_register_name(0x80));
	EXPECT_EQ("EOI", apic_register_name(0xb0));
	EXPECT_EQ("ICR_LO", apic_register_name(0x300));
	EXPECT_EQ("TMICT", apic_register_name(0x380));
	EXPECT_EQ("", apic_register_name(0x40));
	EXPECT_EQ("x2apic", apic_mode_name(VAPICVM_APIC_MODE_X2APIC));
	EXPECT_EQ("needs-feature", feature_state_name(VAPICVM_FEATURE_NEEDS_FEATURE));
	EXPECT_EQ("?", event_kind_name(EventKind(1000)));
	EXPECT_EQ("io", exit_reason_name(VAPICVM_EXIT_IO));
}

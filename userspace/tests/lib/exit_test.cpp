// SPDX-License-Identifier: GPL-2.0
/* Exit decoding from a fake run page laid out as the kernel writes it. */
#include <cstring>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "vapicvm/exit.hpp"

using namespace vapicvm;

namespace
{
struct FakeRunPage {
	alignas(4096) std::uint8_t bytes[4096] = {};
	vapicvm_run *run() { return reinterpret_cast<vapicvm_run *>(bytes); }

	/* The run page of a port I/O exit, data at the usual offset. */
	vapicvm_run *io(std::uint8_t direction, std::uint8_t size, std::uint16_t port,
			std::uint32_t count)
	{
		auto *r = run();
		r->exit_reason = VAPICVM_EXIT_IO;
		r->io.direction = direction;
		r->io.size = size;
		r->io.port = port;
		r->io.count = count;
		r->io.data_offset = VAPICVM_RUN_IO_DATA_OFFSET;
		return r;
	}
};

template <typename T>
T &expect_alt(Result<VcpuExit> &r)
{
	EXPECT_TRUE(r) << (r ? "" : r.error().message());
	EXPECT_TRUE(std::holds_alternative<T>(*r)) << exit_name(*r);
	return std::get<T>(*r);
}
} // namespace

TEST(DecodeExit, IoOut)
{
	FakeRunPage p;
	auto *run = p.io(VAPICVM_EXIT_IO_OUT, 2, 0x3f8, 1);
	std::uint16_t v = 0x1234;
	std::memcpy(p.bytes + VAPICVM_RUN_IO_DATA_OFFSET, &v, 2);
	auto r = decode_exit(run, sizeof(p.bytes));
	auto &io = expect_alt<IoOut>(r);
	EXPECT_EQ(0x3f8, io.port);
	EXPECT_EQ(2, io.size);
	EXPECT_EQ(2u, io.data.size());
	EXPECT_EQ(p.bytes + VAPICVM_RUN_IO_DATA_OFFSET, io.data.data());
	EXPECT_EQ(0x1234u, io.value());
	EXPECT_EQ("io", exit_name(*r));
}

TEST(DecodeExit, IoInFillsTheRunPage)
{
	FakeRunPage p;
	auto *run = p.io(VAPICVM_EXIT_IO_IN, 1, 0x3fd, 1);
	auto r = decode_exit(run, sizeof(p.bytes));
	auto &io = expect_alt<IoIn>(r);
	io.complete(0x60);
	EXPECT_EQ(0x60, p.bytes[VAPICVM_RUN_IO_DATA_OFFSET]);
	EXPECT_EQ(0, p.bytes[VAPICVM_RUN_IO_DATA_OFFSET + 1]) << "an IN of size 1 writes one byte";
}

TEST(DecodeExit, IoRepeatedAccesses)
{
	FakeRunPage p;
	auto *run = p.io(VAPICVM_EXIT_IO_IN, 4, 0, 3);
	auto r = decode_exit(run, sizeof(p.bytes));
	auto &io = expect_alt<IoIn>(r);
	EXPECT_EQ(12u, io.data.size());
	io.complete(0xaabbccdd, 2);
	io.complete(0x11111111, 3); /* out of range: ignored */
	std::uint32_t v;
	std::memcpy(&v, p.bytes + VAPICVM_RUN_IO_DATA_OFFSET + 8, 4);
	EXPECT_EQ(0xaabbccddu, v);
	std::memcpy(&v, p.bytes + VAPICVM_RUN_IO_DATA_OFFSET + 12, 4);
	EXPECT_EQ(0u, v);
}

TEST(DecodeExit, MalformedIoIsEproto)
{
	FakeRunPage p;
	auto *run = p.io(VAPICVM_EXIT_IO_OUT, 4, 0, 1);
	run->io.data_offset = 4094; /* crosses the end of the page */
	auto r = decode_exit(run, sizeof(p.bytes));
	ASSERT_FALSE(r);
	EXPECT_EQ(EPROTO, r.error().errno_value());
	EXPECT_EQ("decode run page", r.error().operation());

	run->io.data_offset = 16; /* inside struct vapicvm_run */
	EXPECT_FALSE(decode_exit(run, sizeof(p.bytes)));
	run->io.data_offset = VAPICVM_RUN_IO_DATA_OFFSET;
	run->io.size = 3;
	EXPECT_FALSE(decode_exit(run, sizeof(p.bytes)));
	run->io.size = 4;
	run->io.count = 0x40000000; /* size * count overflows 32 bits */
	EXPECT_FALSE(decode_exit(run, sizeof(p.bytes)));
	EXPECT_FALSE(decode_exit(nullptr, 4096));
	EXPECT_FALSE(decode_exit(run, 64));
}

TEST(DecodeExit, Mmio)
{
	FakeRunPage p;
	auto *run = p.run();
	run->exit_reason = VAPICVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xfed00000;
	run->mmio.len = 4;
	run->mmio.is_write = 0;
	auto r = decode_exit(run, sizeof(p.bytes));
	auto &m = expect_alt<MmioRead>(r);
	EXPECT_EQ(0xfed00000u, m.gpa);
	EXPECT_EQ(4u, m.len());
	m.complete(0xffffffffffffffffull);
	EXPECT_EQ(0xff, run->mmio.data[3]);
	EXPECT_EQ(0, run->mmio.data[4]);
	EXPECT_EQ("mmio", exit_name(*r));

	run->mmio.is_write = 1;
	run->mmio.len = 2;
	r = decode_exit(run, sizeof(p.bytes));
	auto &w = expect_alt<MmioWrite>(r);
	EXPECT_EQ(0xffffu, w.value());
	EXPECT_EQ(run->mmio.data, w.data.data());

	run->mmio.len = 9;
	EXPECT_FALSE(decode_exit(run, sizeof(p.bytes)));
	run->mmio.len = 0;
	EXPECT_FALSE(decode_exit(run, sizeof(p.bytes)));
}

TEST(DecodeExit, TheOtherReasons)
{
	FakeRunPage p;
	auto *run = p.run();

	run->exit_reason = VAPICVM_EXIT_HLT;
	auto r = decode_exit(run, 4096);
	expect_alt<HaltExit>(r);
	run->exit_reason = VAPICVM_EXIT_SHUTDOWN;
	r = decode_exit(run, 4096);
	expect_alt<ShutdownExit>(r);
	run->exit_reason = VAPICVM_EXIT_INTR;
	r = decode_exit(run, 4096);
	expect_alt<InterruptedExit>(r);

	run->exit_reason = VAPICVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	run->fail_entry.exit_qualification = 3;
	run->fail_entry.cpu = 1;
	r = decode_exit(run, 4096);
	auto &f = expect_alt<FailEntryExit>(r);
	EXPECT_EQ(0x80000021u, f.hardware_entry_failure_reason);
	EXPECT_EQ(1u, f.cpu);

	std::memset(&run->internal, 0, sizeof(run->internal));
	run->exit_reason = VAPICVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT;
	run->internal.ndata = 2;
	run->internal.data[0] = 48;
	run->internal.data[1] = 0x181;
	r = decode_exit(run, 4096);
	auto &ie = expect_alt<InternalErrorExit>(r);
	ASSERT_EQ(2u, ie.data.size());
	EXPECT_EQ(48u, ie.data[0]);
	EXPECT_EQ("unhandled exit", ie.suberror_name());
	run->internal.ndata = 1000; /* clamped to the array */
	r = decode_exit(run, 4096);
	EXPECT_EQ(16u, std::get<InternalErrorExit>(*r).data.size());

	run->exit_reason = VAPICVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = VAPICVM_SYSTEM_EVENT_RESET;
	run->system_event.ndata = 0;
	r = decode_exit(run, 4096);
	EXPECT_TRUE(expect_alt<SystemEventExit>(r).is_reset());

	run->exit_reason = VAPICVM_EXIT_IOAPIC_EOI;
	run->eoi.vector = 0xa5;
	r = decode_exit(run, 4096);
	EXPECT_EQ(0xa5u, expect_alt<IoapicEoiExit>(r).vector);

	std::memset(&run->msr, 0, sizeof(run->msr));
	run->exit_reason = VAPICVM_EXIT_X86_RDMSR;
	run->msr.index = 0x4b564dff;
	run->msr.reason = VAPICVM_MSR_EXIT_UNKNOWN;
	r = decode_exit(run, 4096);
	auto &rd = expect_alt<MsrRead>(r);
	EXPECT_EQ(0x4b564dffu, rd.index);
	EXPECT_EQ(std::uint32_t(VAPICVM_MSR_EXIT_UNKNOWN), rd.reason);
	rd.complete(0x1122334455667788ull);
	EXPECT_EQ(0x1122334455667788ull, run->msr.data);
	EXPECT_EQ(0, run->msr.error);
	rd.fault();
	EXPECT_EQ(1, run->msr.error);

	std::memset(&run->msr, 0, sizeof(run->msr));
	run->exit_reason = VAPICVM_EXIT_X86_WRMSR;
	run->msr.index = 0x174;
	run->msr.reason = VAPICVM_MSR_EXIT_FILTER;
	run->msr.data = 42;
	r = decode_exit(run, 4096);
	auto &wr = expect_alt<MsrWrite>(r);
	EXPECT_EQ(42u, wr.data);
	EXPECT_EQ(0x174u, wr.index);
	wr.fault();
	EXPECT_EQ(1, run->msr.error);

	std::memset(&run->hypercall, 0, sizeof(run->hypercall));
	run->exit_reason = VAPICVM_EXIT_HYPERCALL;
	run->hypercall.nr = 9;
	run->hypercall.args[3] = 4;
	run->hypercall.longmode = 1;
	r = decode_exit(run, 4096);
	auto &hc = expect_alt<HypercallExit>(r);
	EXPECT_EQ(9u, hc.nr);
	EXPECT_EQ(4u, hc.args[3]);
	EXPECT_TRUE(hc.longmode);
	hc.complete(0x77);
	EXPECT_EQ(0x77u, run->hypercall.ret);

	run->exit_reason = 77;
	r = decode_exit(run, 4096);
	EXPECT_EQ(77u, expect_alt<UnknownExit>(r).reason);
	run->exit_reason = VAPICVM_EXIT_UNKNOWN;
	r = decode_exit(run, 4096);
	EXPECT_EQ(0u, expect_alt<UnknownExit>(r).reason);
}

/* Names come from the UAPI table; every reason has one and an alternative names it. */
TEST(DecodeExit, ReasonNames)
{
	EXPECT_EQ("io", exit_reason_name(VAPICVM_EXIT_IO));
	EXPECT_EQ("intr", exit_reason_name(VAPICVM_EXIT_INTR));
	EXPECT_EQ("?", exit_reason_name(1234));
#define CHECK_NAME(id, value, name) EXPECT_EQ(name, exit_reason_name(VAPICVM_EXIT_##id));
	VAPICVM_EXIT_REASONS(CHECK_NAME)
#undef CHECK_NAME
	EXPECT_EQ("hlt", exit_name(HaltExit{}));
	EXPECT_EQ("unknown", exit_name(UnknownExit{77}));
}

/* Only reads can be completed: writes' data is const and they have no complete(). */
template <typename E>
concept completable = requires(const E &e)
{
	e.complete(0u);
};
template <typename E>
concept writable_data = requires(const E &e)
{
	e.data[0] = std::uint8_t(0);
};

static_assert(completable<IoIn> && completable<MmioRead>);
static_assert(!completable<IoOut> && !completable<MmioWrite>);
static_assert(writable_data<IoIn> && writable_data<MmioRead>);
static_assert(!writable_data<IoOut> && !writable_data<MmioWrite>);

TEST(DecodeExit, OutIsReadOnly)
{
	FakeRunPage p;
	auto *run = p.io(VAPICVM_EXIT_IO_OUT, 1, 0, 3); /* OUTSB with REP */
	std::memcpy(p.bytes + VAPICVM_RUN_IO_DATA_OFFSET, "abc", 3);
	auto r = decode_exit(run, sizeof(p.bytes));
	auto &out = expect_alt<IoOut>(r);
	EXPECT_EQ(std::uint32_t('c'), out.value(2));
	EXPECT_EQ(0u, out.value(3)) << "past count: 0";
}

/* Views into the run page are move-only; plain values copy. */
static_assert(!std::is_copy_constructible_v<IoIn> && std::is_move_constructible_v<IoIn>);
static_assert(!std::is_copy_constructible_v<IoOut> && !std::is_copy_assignable_v<IoOut>);
static_assert(!std::is_copy_constructible_v<MmioRead> && !std::is_copy_constructible_v<MmioWrite>);
static_assert(!std::is_copy_constructible_v<InternalErrorExit>);
static_assert(!std::is_copy_constructible_v<SystemEventExit>);
static_assert(!std::is_copy_constructible_v<MsrRead> && !std::is_copy_constructible_v<MsrWrite>);
static_assert(!std::is_copy_constructible_v<HypercallExit>);
static_assert(!std::is_copy_constructible_v<VcpuExit> && std::is_move_constructible_v<VcpuExit>);
static_assert(std::is_copy_constructible_v<IoapicEoiExit> &&
	      std::is_copy_constructible_v<HaltExit>);
static_assert(std::is_copy_constructible_v<FailEntryExit> &&
	      std::is_copy_constructible_v<UnknownExit>);
/* The mark costs no space. */
static_assert(sizeof(IoOut) == sizeof(IoAccess) + sizeof(std::span<const std::uint8_t>));

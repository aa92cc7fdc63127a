// SPDX-License-Identifier: GPL-2.0
/* The gdb remote protocol of vapicvm-run --gdb, over a fake machine. */
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gdb_protocol.hpp"

using namespace vrun::gdb;
using vapicvm::Error;
using vapicvm::Result;

namespace
{
/* Two vCPUs; linear addresses below 64 KiB are memory, the rest faults. */
struct FakeTarget : Target {
	std::vector<std::uint8_t> mem = std::vector<std::uint8_t>(65536);
	CpuState cpu[2];
	vapicvm::GuestDebug debug[2];
	unsigned writes = 0;

	unsigned vcpu_count() const override { return 2; }
	Result<CpuState> read_state(unsigned i) override { return cpu[i]; }
	Result<void> write_state(unsigned i, const CpuState &s) override
	{
		cpu[i] = s;
		writes++;
		return vapicvm::ok();
	}
	Result<void> read_memory(unsigned, std::uint64_t a, std::span<std::uint8_t> out) override
	{
		if (a > mem.size() || out.size() > mem.size() - a)
			return Error::from_errno(EFAULT, "read");
		std::memcpy(out.data(), mem.data() + a, out.size());
		return vapicvm::ok();
	}
	Result<void> write_memory(unsigned, std::uint64_t a,
				  std::span<const std::uint8_t> b) override
	{
		if (a > mem.size() || b.size() > mem.size() - a)
			return Error::from_errno(EFAULT, "write");
		std::memcpy(mem.data() + a, b.data(), b.size());
		return vapicvm::ok();
	}
	Result<void> set_debug(unsigned i, const vapicvm::GuestDebug &d) override
	{
		debug[i] = d;
		return vapicvm::ok();
	}
};

struct SessionTest : testing::Test {
	FakeTarget t;
	Session s{t, Arch::X86_64};

	std::string reply(const std::string &p)
	{
		auto o = s.handle(p);
		EXPECT_EQ(Session::Action::Reply, o.action) << p;
		return o.reply;
	}
};

std::vector<PacketReader::Event> feed(PacketReader &r, std::string_view bytes)
{
	std::vector<PacketReader::Event> out;
	for (char c : bytes) {
		auto e = r.feed(static_cast<std::uint8_t>(c));
		if (e != PacketReader::Event::None)
			out.push_back(e);
	}
	return out;
}
} // namespace

TEST(GdbPacket, Checksum)
{
	EXPECT_EQ("$OK#9a", packet("OK"));
	EXPECT_EQ("$#00", packet(""));
	/* '#', '$', '}' and '*' are escaped: '}' then the byte xor 0x20. */
	EXPECT_EQ("$}\x03#80", packet("#"));
}

TEST(GdbPacket, ReaderRoundTrip)
{
	PacketReader r;
	for (std::string p : {"g", "m100000,4", "qSupported:multiprocess+", "a#b$c}d*e", ""}) {
		auto ev = feed(r, packet(p));
		ASSERT_EQ(1u, ev.size()) << p;
		EXPECT_EQ(PacketReader::Event::Packet, ev[0]);
		EXPECT_EQ(p, r.payload());
	}
}

TEST(GdbPacket, ReaderEvents)
{
	PacketReader r;
	using E = PacketReader::Event;
	EXPECT_EQ((std::vector<E>{E::Ack, E::Nack, E::Interrupt}), feed(r, "+-\x03"));
	EXPECT_EQ(std::vector<E>{E::BadPacket}, feed(r, "$g#00")) << "wrong checksum";
	EXPECT_EQ(std::vector<E>{E::BadPacket}, feed(r, "$g#zz")) << "not hex";
	EXPECT_EQ((std::vector<E>{E::BadPacket, E::Packet}), feed(r, "$m1$g#67"))
		<< "a packet cut short by another";
	EXPECT_EQ("g", r.payload());
	EXPECT_TRUE(feed(r, "garbage").empty());
	std::string big(PacketReader::max_packet + 10, 'x');
	EXPECT_EQ(std::vector<E>{E::BadPacket}, feed(r, packet(big))) << "too long";
	EXPECT_EQ(std::vector<E>{E::Packet}, feed(r, packet("?")));
}

TEST(GdbHex, Parse)
{
	EXPECT_EQ((std::vector<std::uint8_t>{0xab, 0x01}), parse_hex("aB01"));
	EXPECT_FALSE(parse_hex("abc"));
	EXPECT_FALSE(parse_hex("zz"));
	EXPECT_EQ(0x100000u, parse_hex_number("100000"));
	EXPECT_FALSE(parse_hex_number(""));
	EXPECT_FALSE(parse_hex_number("12345678123456789")) << "more than 64 bits";
	EXPECT_FALSE(parse_hex_number("-1"));
	std::uint8_t b[] = {0, 0x7f, 0xff};
	EXPECT_EQ("007fff", to_hex(b));
}

TEST(GdbRegisters, Layouts)
{
	/* gdb's amd64 core + sse + segments, and i386's core + sse. */
	EXPECT_EQ(59u, registers(Arch::X86_64).size());
	EXPECT_EQ(16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 2 * 8,
		  g_packet_bytes(Arch::X86_64));
	EXPECT_EQ("rip", registers(Arch::X86_64)[16].name);
	EXPECT_EQ(41u, registers(Arch::I386).size());
	EXPECT_EQ(8 * 4 + 4 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 8 * 16 + 4, g_packet_bytes(Arch::I386));
	EXPECT_EQ("esp", registers(Arch::I386)[4].name);
	EXPECT_EQ("eip", registers(Arch::I386)[8].name);
	for (auto a : {Arch::X86_64, Arch::I386}) {
		const auto &x = target_xml(a);
		EXPECT_NE(std::string::npos, x.find("org.gnu.gdb.i386.core"));
		EXPECT_NE(std::string::npos, x.find("<reg name=\"mxcsr\""));
	}
	EXPECT_NE(std::string::npos, target_xml(Arch::X86_64).find(">i386:x86-64<"));
	EXPECT_NE(std::string::npos, target_xml(Arch::I386).find(">i386<"));
	vapicvm_sregs s{};
	EXPECT_EQ(Arch::I386, arch_of(s));
	s.efer = 0x500;
	EXPECT_EQ(Arch::X86_64, arch_of(s));
}

TEST(GdbRegisters, ReadWrite)
{
	CpuState s;
	s.regs.rsp = 0x1122334455667788;
	s.regs.rip = 0xffffffff81000000;
	s.sregs.cs.selector = 0x10;
	std::memcpy(reinterpret_cast<std::uint8_t *>(s.xsave.region) + 160 + 16, "0123456789abcdef",
		    16);
	auto rsp = read_register(Arch::X86_64, s, 7);
	EXPECT_EQ("8877665544332211", to_hex(rsp));
	EXPECT_EQ("88776655", to_hex(read_register(Arch::I386, s, 4))) << "esp: the low half";
	EXPECT_EQ("10000000", to_hex(read_register(Arch::X86_64, s, 18)));
	EXPECT_EQ(16u, read_register(Arch::X86_64, s, 41).size());
	EXPECT_EQ(0, std::memcmp("0123456789abcdef", read_register(Arch::X86_64, s, 41).data(), 16))
		<< "xmm1 from the XSAVE legacy area";
	EXPECT_TRUE(read_register(Arch::X86_64, s, 59).empty());

	std::uint8_t eip[] = {0x78, 0x56, 0x34, 0x12};
	ASSERT_TRUE(write_register(Arch::I386, s, 8, eip));
	EXPECT_EQ(0xffffffff12345678u, s.regs.rip) << "a 32-bit write keeps the high half";
	std::uint8_t sel[] = {0x18, 0, 0, 0};
	auto r = write_register(Arch::X86_64, s, 18, sel);
	ASSERT_FALSE(r);
	EXPECT_EQ(EPERM, r.error().errno_value());
	sel[0] = 0x10;
	EXPECT_TRUE(write_register(Arch::X86_64, s, 18, sel)) << "the same selector is fine";
	EXPECT_FALSE(write_register(Arch::X86_64, s, 0, eip)) << "wrong size";
	EXPECT_FALSE(write_register(Arch::X86_64, s, 99, eip));
}

TEST_F(SessionTest, Basics)
{
	EXPECT_EQ("T05thread:1;", reply("?"));
	EXPECT_NE(std::string::npos,
		  reply("qSupported:xmlRegisters=i386").find("qXfer:features:read+"));
	EXPECT_EQ("1", reply("qAttached"));
	EXPECT_EQ("m1,2", reply("qfThreadInfo"));
	EXPECT_EQ("l", reply("qsThreadInfo"));
	EXPECT_EQ("QC1", reply("qC"));
	EXPECT_EQ("OK", reply("T2"));
	EXPECT_EQ("E01", reply("T3"));
	EXPECT_EQ("", reply("vMustReplyEmpty"));
	EXPECT_EQ("", reply("X0,0:"));
	EXPECT_EQ("", reply(""));
}

TEST_F(SessionTest, TargetXmlInPieces)
{
	std::string got;
	for (std::size_t off = 0;; off += 100) {
		char q[64];
		std::snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,64", off);
		auto r = reply(q);
		ASSERT_FALSE(r.empty());
		ASSERT_TRUE(r[0] == 'm' || r[0] == 'l') << r;
		got += r.substr(1);
		if (r[0] == 'l')
			break;
	}
	EXPECT_EQ(target_xml(Arch::X86_64), got);
	EXPECT_EQ("E00", reply("qXfer:features:read:other.xml:0,100"));
	EXPECT_EQ("E01", reply("qXfer:features:read:target.xml:zz,100"));
}

TEST_F(SessionTest, RegistersOfTheSelectedVcpu)
{
	t.cpu[1].regs.rax = 0x42;
	auto g0 = reply("g");
	EXPECT_EQ(2 * g_packet_bytes(Arch::X86_64), g0.size());
	EXPECT_EQ("OK", reply("Hg2"));
	EXPECT_EQ("4200000000000000", reply("p0"));
	EXPECT_EQ("OK", reply("P10=0010100000000000")) << "rip";
	EXPECT_EQ(0x101000u, t.cpu[1].regs.rip);
	EXPECT_EQ(0u, t.cpu[0].regs.rip);
	EXPECT_EQ("E01", reply("p3b"));
	EXPECT_EQ("E01", reply("P10=00"));
	EXPECT_EQ("E01", reply("Hg3"));
	EXPECT_EQ("E01", reply("Hx1"));

	auto g1 = reply("g");
	g1.replace(0, 16, "efbeadde00000000");
	EXPECT_EQ("OK", reply("G" + g1));
	EXPECT_EQ(0xdeadbeefu, t.cpu[1].regs.rax);
	EXPECT_EQ("E01", reply("G" + g1.substr(2)));
	EXPECT_EQ("E01", reply("gx"));
}

TEST_F(SessionTest, Memory)
{
	t.mem[0x1000] = 0x90;
	t.mem[0x1001] = 0xc3;
	EXPECT_EQ("90c3", reply("m1000,2"));
	EXPECT_EQ("OK", reply("M2000,3:010203"));
	EXPECT_EQ(3, t.mem[0x2002]);
	EXPECT_EQ("E0e", reply("m20000,4")) << "not mapped";
	EXPECT_EQ("E0e", reply("Mffff,2:0102"));
	EXPECT_EQ("E01", reply("M2000,3:0102"));
	EXPECT_EQ("E01", reply("m2000"));
	EXPECT_EQ("E01", reply("mzz,1"));
	/* A huge length is cut to what fits a packet. */
	EXPECT_LE(reply("m0,ffffffff").size(), PacketReader::max_packet);
}

TEST_F(SessionTest, SoftwareBreakpoints)
{
	t.mem[0x1000] = 0x55;
	EXPECT_EQ("OK", reply("Z0,1000,1"));
	EXPECT_EQ(0xcc, t.mem[0x1000]);
	EXPECT_EQ("55", reply("m1000,1")) << "gdb sees the guest's byte";
	EXPECT_EQ("OK", reply("Z0,1000,1")) << "twice is once";
	EXPECT_EQ("OK", reply("M1000,1:56")) << "a write under the INT3";
	EXPECT_EQ(0xcc, t.mem[0x1000]);
	EXPECT_EQ("56", reply("m1000,1"));
	EXPECT_EQ("E0e", reply("Z0,30000,1"));
	EXPECT_EQ("E01", reply("Z0,1000,2"));

	auto c = s.handle("c");
	EXPECT_EQ(Session::Action::Resume, c.action);
	EXPECT_TRUE(t.debug[0].sw_breakpoints && t.debug[1].sw_breakpoints);
	EXPECT_FALSE(t.debug[0].single_step);

	EXPECT_EQ("OK", reply("z0,1000,1"));
	EXPECT_EQ(0x56, t.mem[0x1000]);
	EXPECT_EQ("OK", reply("z0,1000,1"));
	EXPECT_EQ(0u, s.sw_breakpoints());
	s.handle("c");
	EXPECT_FALSE(t.debug[0].sw_breakpoints);
}

TEST_F(SessionTest, HardwareBreakpointsAndWatchpoints)
{
	EXPECT_EQ("OK", reply("Z1,100000,1"));
	EXPECT_EQ("OK", reply("Z2,2000,4"));
	EXPECT_EQ("OK", reply("Z4,3000,8"));
	EXPECT_EQ("", reply("Z3,4000,4")) << "no read-only watchpoints on x86";
	EXPECT_EQ("E0e", reply("Z2,2001,4")) << "misaligned: 1+2+1, one too many";
	EXPECT_EQ("E01", reply("Z1,100000,2"));
	EXPECT_EQ("E01", reply("Z2,2000,0"));
	EXPECT_EQ("OK", reply("Z1,100010,1"));
	EXPECT_EQ("E0e", reply("Z1,100020,1")) << "four debug registers";
	EXPECT_EQ("", reply("Z5,0,1"));
	s.handle("c");
	ASSERT_EQ(4u, t.debug[1].hw.size());
	EXPECT_EQ(0x2000u, t.debug[1].hw[1].addr);
	EXPECT_EQ(vapicvm::HwBreakType::Write, t.debug[1].hw[1].type);
	EXPECT_EQ(vapicvm::HwBreakType::ReadWrite, t.debug[1].hw[2].type);
	EXPECT_EQ(8, t.debug[1].hw[2].len);

	StopEvent e;
	e.vcpu = 1;
	e.watchpoint = 1;
	EXPECT_EQ("T05thread:2;watch:2000;", s.stop_reply(e));
	e.watchpoint = 2;
	EXPECT_EQ("T05thread:2;awatch:3000;", s.stop_reply(e));
	e.watchpoint = 0;
	EXPECT_EQ("T05thread:2;", s.stop_reply(e));
	EXPECT_EQ("QC2", reply("qC")) << "the stopped vCPU is selected";

	EXPECT_EQ("OK", reply("z2,2000,4"));
	EXPECT_EQ("OK", reply("z1,100000,1"));
	EXPECT_EQ(2u, s.hw_breakpoints());
}

TEST_F(SessionTest, UnalignedWatchpointsTakeSeveralRegisters)
{
	EXPECT_EQ("OK", reply("Z2,1002fe,4"));
	EXPECT_EQ(2u, s.hw_breakpoints()) << "2 + 2 bytes";
	EXPECT_EQ("OK", reply("Z4,3001,2"));
	EXPECT_EQ(4u, s.hw_breakpoints()) << "1 + 1 bytes";
	s.handle("c");
	ASSERT_EQ(4u, t.debug[0].hw.size());
	EXPECT_EQ(0x1002feu, t.debug[0].hw[0].addr);
	EXPECT_EQ(2, t.debug[0].hw[0].len);
	EXPECT_EQ(0x100300u, t.debug[0].hw[1].addr);
	EXPECT_EQ(2, t.debug[0].hw[1].len);
	EXPECT_EQ(0x3002u, t.debug[0].hw[3].addr);
	EXPECT_EQ(1, t.debug[0].hw[3].len);
	StopEvent e;
	e.watchpoint = 1;
	EXPECT_EQ("T05thread:1;watch:1002fe;", s.stop_reply(e)) << "the range gdb asked for";
	e.watchpoint = 3;
	EXPECT_EQ("T05thread:1;awatch:3001;", s.stop_reply(e));
	EXPECT_EQ("OK", reply("z2,1002fe,4"));
	EXPECT_EQ(2u, s.hw_breakpoints());
	EXPECT_EQ("OK", reply("Z2,8,8"));
	EXPECT_EQ("OK", reply("z4,3001,2"));
	EXPECT_EQ("OK", reply("z2,8,8"));
	EXPECT_EQ(0u, s.hw_breakpoints());
}

TEST_F(SessionTest, StepAndContinue)
{
	auto o = s.handle("s");
	EXPECT_EQ(Session::Action::Resume, o.action);
	ASSERT_TRUE(s.stepping());
	EXPECT_EQ(0u, *s.stepping());
	EXPECT_TRUE(t.debug[0].single_step);
	EXPECT_FALSE(t.debug[1].single_step) << "only the selected vCPU steps";

	EXPECT_EQ("OK", reply("Hc2"));
	s.handle("s");
	EXPECT_TRUE(t.debug[1].single_step);
	EXPECT_FALSE(t.debug[0].single_step);

	o = s.handle("c1000");
	EXPECT_EQ(Session::Action::Resume, o.action);
	EXPECT_FALSE(s.stepping());
	EXPECT_EQ(0x1000u, t.cpu[1].regs.rip) << "c ADDR resumes there";
	EXPECT_EQ(Session::Action::Resume, s.handle("C05").action) << "signal ignored";
	EXPECT_EQ(Session::Action::Resume, s.handle("S05;2000").action);
	EXPECT_EQ(0x2000u, t.cpu[1].regs.rip);
	EXPECT_EQ("E01", reply("cxyz"));

	StopEvent irq;
	irq.kind = StopEvent::Kind::Interrupt;
	EXPECT_EQ("T02thread:1;", s.stop_reply(irq));
	EXPECT_EQ("T02thread:1;", reply("?"));
	StopEvent exited;
	exited.kind = StopEvent::Kind::Exited;
	exited.exit_code = 3;
	EXPECT_EQ("W03", s.stop_reply(exited));
}

TEST_F(SessionTest, DetachAndKillRemoveEverything)
{
	t.mem[0x10] = 0x12;
	reply("Z0,10,1");
	reply("Z1,20,1");
	s.handle("c");
	auto d = s.handle("D");
	EXPECT_EQ(Session::Action::Detach, d.action);
	EXPECT_EQ("OK", d.reply);
	EXPECT_EQ(0x12, t.mem[0x10]);
	EXPECT_EQ(0u, s.sw_breakpoints() + s.hw_breakpoints());
	EXPECT_FALSE(t.debug[0].sw_breakpoints);
	EXPECT_TRUE(t.debug[0].hw.empty());

	reply("Z0,10,1");
	EXPECT_EQ(Session::Action::Kill, s.handle("k").action);
	EXPECT_EQ(0x12, t.mem[0x10]);
}

/* Whatever arrives, a reply and no crash (the sanitizers watch). */
TEST_F(SessionTest, MalformedPackets)
{
	for (const char *p : {"m",
			      "m,",
			      "m1,",
			      "M",
			      "M1,1",
			      "M1,1:",
			      "M1,1:zz",
			      "p",
			      "P",
			      "P1",
			      "P1=",
			      "Pz=00",
			      "Z",
			      "Z0",
			      "Z0,",
			      "Z0,1",
			      "Z0,1,",
			      "z9,1,1",
			      "H",
			      "Hg",
			      "Hgz",
			      "T",
			      "Tz",
			      "qXfer",
			      "qXfer:features:read:target.xml",
			      "qXfer:features:read:target.xml:1",
			      "qThreadExtraInfo,",
			      "qThreadExtraInfo,9",
			      "G",
			      "Gzz",
			      "c;",
			      "s;zz",
			      "C",
			      "S;",
			      "\x01\xff"}) {
		auto o = s.handle(p);
		EXPECT_EQ(Session::Action::Reply, o.action) << p;
	}
	EXPECT_EQ(0u, t.writes);
}

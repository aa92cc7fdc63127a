// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "gdb_protocol.hpp"

namespace vrun::gdb
{

using vapicvm::Error;
using vapicvm::Result;

namespace
{
int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

constexpr char hex_chars[] = "0123456789abcdef";
} // namespace

std::string to_hex(std::span<const std::uint8_t> bytes)
{
	std::string s;
	s.reserve(bytes.size() * 2);
	for (auto b : bytes) {
		s += hex_chars[b >> 4];
		s += hex_chars[b & 0xf];
	}
	return s;
}

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s)
{
	if (s.size() % 2)
		return std::nullopt;
	std::vector<std::uint8_t> out(s.size() / 2);
	for (std::size_t i = 0; i < out.size(); i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return std::nullopt;
		out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
	}
	return out;
}

std::optional<std::uint64_t> parse_hex_number(std::string_view s)
{
	if (s.empty() || s.size() > 16)
		return std::nullopt;
	std::uint64_t v = 0;
	auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
	if (r.ec != std::errc() || r.ptr != s.data() + s.size())
		return std::nullopt;
	return v;
}

std::string packet(std::string_view payload)
{
	std::string out = "$";
	std::uint8_t sum = 0;
	for (char c : payload) {
		if (c == '#' || c == '$' || c == '}' || c == '*') {
			out += '}';
			sum += '}';
			c ^= 0x20;
		}
		out += c;
		sum += static_cast<std::uint8_t>(c);
	}
	out += '#';
	out += hex_chars[sum >> 4];
	out += hex_chars[sum & 0xf];
	return out;
}

PacketReader::Event PacketReader::feed(std::uint8_t byte)
{
	switch (state_) {
	case State::Idle:
		if (byte == '$') {
			state_ = State::Body;
			body_.clear();
			sum_ = 0;
			overflow_ = false;
		} else if (byte == '+') {
			return Event::Ack;
		} else if (byte == '-') {
			return Event::Nack;
		} else if (byte == 0x03) {
			return Event::Interrupt;
		}
		return Event::None;
	case State::Body:
	case State::Escape:
		if (byte == '#') {
			state_ = State::Sum1;
			return Event::None;
		}
		if (byte == '$') { /* a new packet: the old one was cut short */
			body_.clear();
			sum_ = 0;
			overflow_ = false;
			state_ = State::Body;
			return Event::BadPacket;
		}
		sum_ += byte;
		if (state_ == State::Escape) {
			byte ^= 0x20;
			state_ = State::Body;
		} else if (byte == '}') {
			state_ = State::Escape;
			return Event::None;
		}
		if (body_.size() < max_packet)
			body_ += static_cast<char>(byte);
		else
			overflow_ = true;
		return Event::None;
	case State::Sum1: {
		int d = hex_digit(static_cast<char>(byte));
		want_ = static_cast<std::uint8_t>((d < 0 ? 0 : d) << 4);
		if (d < 0)
			overflow_ = true; /* reported bad at the second digit */
		state_ = State::Sum2;
		return Event::None;
	}
	case State::Sum2: {
		int d = hex_digit(static_cast<char>(byte));
		state_ = State::Idle;
		if (d < 0 || overflow_ || (want_ | d) != sum_)
			return Event::BadPacket;
		done_ = std::move(body_);
		body_.clear();
		return Event::Packet;
	}
	}
	return Event::None;
}

/* ------------------------------------------------------------------ registers */

namespace
{
constexpr std::string_view core = "org.gnu.gdb.i386.core";
constexpr std::string_view sse = "org.gnu.gdb.i386.sse";
constexpr std::string_view segs = "org.gnu.gdb.i386.segments";

/* The vCPU's registers as this file knows them: amd64's gdb numbers. */
enum : unsigned {
	r_rax,
	r_rbx,
	r_rcx,
	r_rdx,
	r_rsi,
	r_rdi,
	r_rbp,
	r_rsp,
	r_r8,
	r_rip = 16,
	r_eflags,
	r_cs,
	r_ss,
	r_ds,
	r_es,
	r_fs,
	r_gs,
	r_st0,
	r_fctrl = r_st0 + 8,
	r_fstat,
	r_ftag,
	r_fiseg,
	r_fioff,
	r_foseg,
	r_fooff,
	r_fop,
	r_xmm0,
	r_mxcsr = r_xmm0 + 16,
	r_fs_base,
	r_gs_base,
	r_count,
};

constexpr RegInfo amd64_regs[] = {
	{"rax", 64, "int64", core, r_rax},
	{"rbx", 64, "int64", core, r_rbx},
	{"rcx", 64, "int64", core, r_rcx},
	{"rdx", 64, "int64", core, r_rdx},
	{"rsi", 64, "int64", core, r_rsi},
	{"rdi", 64, "int64", core, r_rdi},
	{"rbp", 64, "data_ptr", core, r_rbp},
	{"rsp", 64, "data_ptr", core, r_rsp},
	{"r8", 64, "int64", core, r_r8},
	{"r9", 64, "int64", core, r_r8 + 1},
	{"r10", 64, "int64", core, r_r8 + 2},
	{"r11", 64, "int64", core, r_r8 + 3},
	{"r12", 64, "int64", core, r_r8 + 4},
	{"r13", 64, "int64", core, r_r8 + 5},
	{"r14", 64, "int64", core, r_r8 + 6},
	{"r15", 64, "int64", core, r_r8 + 7},
	{"rip", 64, "code_ptr", core, r_rip},
	{"eflags", 32, "i386_eflags", core, r_eflags},
	{"cs", 32, "int32", core, r_cs},
	{"ss", 32, "int32", core, r_ss},
	{"ds", 32, "int32", core, r_ds},
	{"es", 32, "int32", core, r_es},
	{"fs", 32, "int32", core, r_fs},
	{"gs", 32, "int32", core, r_gs},
	{"st0", 80, "i387_ext", core, r_st0},
	{"st1", 80, "i387_ext", core, r_st0 + 1},
	{"st2", 80, "i387_ext", core, r_st0 + 2},
	{"st3", 80, "i387_ext", core, r_st0 + 3},
	{"st4", 80, "i387_ext", core, r_st0 + 4},
	{"st5", 80, "i387_ext", core, r_st0 + 5},
	{"st6", 80, "i387_ext", core, r_st0 + 6},
	{"st7", 80, "i387_ext", core, r_st0 + 7},
	{"fctrl", 32, "int", core, r_fctrl},
	{"fstat", 32, "int", core, r_fstat},
	{"ftag", 32, "int", core, r_ftag},
	{"fiseg", 32, "int", core, r_fiseg},
	{"fioff", 32, "int", core, r_fioff},
	{"foseg", 32, "int", core, r_foseg},
	{"fooff", 32, "int", core, r_fooff},
	{"fop", 32, "int", core, r_fop},
	{"xmm0", 128, "vec128", sse, r_xmm0},
	{"xmm1", 128, "vec128", sse, r_xmm0 + 1},
	{"xmm2", 128, "vec128", sse, r_xmm0 + 2},
	{"xmm3", 128, "vec128", sse, r_xmm0 + 3},
	{"xmm4", 128, "vec128", sse, r_xmm0 + 4},
	{"xmm5", 128, "vec128", sse, r_xmm0 + 5},
	{"xmm6", 128, "vec128", sse, r_xmm0 + 6},
	{"xmm7", 128, "vec128", sse, r_xmm0 + 7},
	{"xmm8", 128, "vec128", sse, r_xmm0 + 8},
	{"xmm9", 128, "vec128", sse, r_xmm0 + 9},
	{"xmm10", 128, "vec128", sse, r_xmm0 + 10},
	{"xmm11", 128, "vec128", sse, r_xmm0 + 11},
	{"xmm12", 128, "vec128", sse, r_xmm0 + 12},
	{"xmm13", 128, "vec128", sse, r_xmm0 + 13},
	{"xmm14", 128, "vec128", sse, r_xmm0 + 14},
	{"xmm15", 128, "vec128", sse, r_xmm0 + 15},
	{"mxcsr", 32, "i386_mxcsr", sse, r_mxcsr},
	{"fs_base", 64, "int", segs, r_fs_base},
	{"gs_base", 64, "int", segs, r_gs_base},
};

/* i386's order: eax ecx edx ebx esp ebp esi edi, the low halves. */
constexpr RegInfo i386_regs[] = {
	{"eax", 32, "int32", core, r_rax},         {"ecx", 32, "int32", core, r_rcx},
	{"edx", 32, "int32", core, r_rdx},         {"ebx", 32, "int32", core, r_rbx},
	{"esp", 32, "data_ptr", core, r_rsp},      {"ebp", 32, "data_ptr", core, r_rbp},
	{"esi", 32, "int32", core, r_rsi},         {"edi", 32, "int32", core, r_rdi},
	{"eip", 32, "code_ptr", core, r_rip},      {"eflags", 32, "i386_eflags", core, r_eflags},
	{"cs", 32, "int32", core, r_cs},           {"ss", 32, "int32", core, r_ss},
	{"ds", 32, "int32", core, r_ds},           {"es", 32, "int32", core, r_es},
	{"fs", 32, "int32", core, r_fs},           {"gs", 32, "int32", core, r_gs},
	{"st0", 80, "i387_ext", core, r_st0},      {"st1", 80, "i387_ext", core, r_st0 + 1},
	{"st2", 80, "i387_ext", core, r_st0 + 2},  {"st3", 80, "i387_ext", core, r_st0 + 3},
	{"st4", 80, "i387_ext", core, r_st0 + 4},  {"st5", 80, "i387_ext", core, r_st0 + 5},
	{"st6", 80, "i387_ext", core, r_st0 + 6},  {"st7", 80, "i387_ext", core, r_st0 + 7},
	{"fctrl", 32, "int", core, r_fctrl},       {"fstat", 32, "int", core, r_fstat},
	{"ftag", 32, "int", core, r_ftag},         {"fiseg", 32, "int", core, r_fiseg},
	{"fioff", 32, "int", core, r_fioff},       {"foseg", 32, "int", core, r_foseg},
	{"fooff", 32, "int", core, r_fooff},       {"fop", 32, "int", core, r_fop},
	{"xmm0", 128, "vec128", sse, r_xmm0},      {"xmm1", 128, "vec128", sse, r_xmm0 + 1},
	{"xmm2", 128, "vec128", sse, r_xmm0 + 2},  {"xmm3", 128, "vec128", sse, r_xmm0 + 3},
	{"xmm4", 128, "vec128", sse, r_xmm0 + 4},  {"xmm5", 128, "vec128", sse, r_xmm0 + 5},
	{"xmm6", 128, "vec128", sse, r_xmm0 + 6},  {"xmm7", 128, "vec128", sse, r_xmm0 + 7},
	{"mxcsr", 32, "i386_mxcsr", sse, r_mxcsr},
};

static_assert(std::size(amd64_regs) == r_count);

std::span<const RegInfo> table(Arch a)
{
	if (a == Arch::I386)
		return i386_regs;
	return amd64_regs;
}

/* The XSAVE legacy area (Vol. 1 13.4.1). */
std::uint8_t *fx(CpuState &s)
{
	return reinterpret_cast<std::uint8_t *>(s.xsave.region);
}

/* Where in the legacy area register id lives, and how many bytes (0: not there). */
std::pair<std::size_t, std::size_t> fx_slot(unsigned id)
{
	if (id >= r_st0 && id < r_st0 + 8)
		return {32 + 16 * (id - r_st0), 10};
	if (id >= r_xmm0 && id < r_xmm0 + 16)
		return {160 + 16 * (id - r_xmm0), 16};
	switch (id) {
	case r_fctrl:
		return {0, 2};
	case r_fstat:
		return {2, 2};
	case r_fiseg: /* FCS */
		return {12, 2};
	case r_fioff: /* FIP */
		return {8, 4};
	case r_foseg: /* FDS */
		return {20, 2};
	case r_fooff: /* FDP */
		return {16, 4};
	case r_fop:
		return {6, 2};
	case r_mxcsr:
		return {24, 4};
	default:
		return {0, 0};
	}
}

__u64 *gpr(vapicvm_regs &r, unsigned id)
{
	__u64 *const order[] = {&r.rax, &r.rbx, &r.rcx, &r.rdx, &r.rsi, &r.rdi, &r.rbp, &r.rsp,
				&r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
	return order[id];
}

vapicvm_segment &segment(vapicvm_sregs &s, unsigned id)
{
	vapicvm_segment *const order[] = {&s.cs, &s.ss, &s.ds, &s.es, &s.fs, &s.gs};
	return *order[id - r_cs];
}

/* The full tag word gdb shows, from FXSAVE's abridged one: valid or empty. */
std::uint32_t full_tag(std::uint8_t abridged)
{
	std::uint32_t t = 0;
	for (unsigned i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			t |= 3u << (2 * i);
	return t;
}

std::uint8_t abridged_tag(std::uint32_t full)
{
	std::uint8_t t = 0;
	for (unsigned i = 0; i < 8; i++)
		if (((full >> (2 * i)) & 3) != 3)
			t |= static_cast<std::uint8_t>(1u << i);
	return t;
}

/* A register that is a number (not in the legacy area): a pointer to it, as 64 bits. */
std::optional<std::uint64_t *> number(CpuState &s, unsigned id)
{
	static_assert(sizeof(__u64) == sizeof(std::uint64_t));
	if (id < 16)
		return reinterpret_cast<std::uint64_t *>(gpr(s.regs, id));
	if (id == r_rip)
		return reinterpret_cast<std::uint64_t *>(&s.regs.rip);
	if (id == r_eflags)
		return reinterpret_cast<std::uint64_t *>(&s.regs.rflags);
	if (id == r_fs_base)
		return reinterpret_cast<std::uint64_t *>(&s.sregs.fs.base);
	if (id == r_gs_base)
		return reinterpret_cast<std::uint64_t *>(&s.sregs.gs.base);
	return std::nullopt;
}
} // namespace

std::span<const RegInfo> registers(Arch a) noexcept
{
	return table(a);
}

std::size_t g_packet_bytes(Arch a) noexcept
{
	std::size_t n = 0;
	for (const auto &r : table(a))
		n += r.bits / 8;
	return n;
}

std::vector<std::uint8_t> read_register(Arch a, const CpuState &cs, unsigned n)
{
	auto t = table(a);
	if (n >= t.size())
		return {};
	CpuState &s = const_cast<CpuState &>(cs); /* only read */
	unsigned id = t[n].id;
	std::size_t size = t[n].bits / 8;
	std::vector<std::uint8_t> out(std::max<std::size_t>(size, 8), 0);
	std::uint64_t v = 0;
	if (auto p = number(s, id)) {
		v = **p;
	} else if (id >= r_cs && id <= r_gs) {
		v = segment(s.sregs, id).selector;
	} else if (id == r_ftag) {
		v = full_tag(fx(s)[4]);
	} else {
		auto [off, len] = fx_slot(id);
		out.assign(fx(s) + off, fx(s) + off + len);
		out.resize(size, 0);
		return out;
	}
	for (std::size_t i = 0; i < 8; i++)
		out[i] = static_cast<std::uint8_t>(v >> (8 * i));
	out.resize(size);
	return out;
}

Result<void> write_register(Arch a, CpuState &s, unsigned n, std::span<const std::uint8_t> bytes)
{
	auto t = table(a);
	if (n >= t.size())
		return Error::from_errno(EINVAL, "register " + std::to_string(n));
	if (bytes.size() != t[n].bits / 8)
		return Error::from_errno(EINVAL, std::string(t[n].name), "wrong size");
	unsigned id = t[n].id;
	std::uint64_t v = 0;
	for (std::size_t i = 0; i < bytes.size() && i < 8; i++)
		v |= std::uint64_t(bytes[i]) << (8 * i);
	if (auto p = number(s, id)) {
		/* A 32-bit view replaces the low half only. */
		std::uint64_t mask = bytes.size() >= 8 ? ~0ull : (1ull << (8 * bytes.size())) - 1;
		**p = (**p & ~mask) | (v & mask);
	} else if (id >= r_cs && id <= r_gs) {
		if (v != segment(s.sregs, id).selector)
			return Error::from_errno(EPERM, std::string(t[n].name),
						 "segment selectors are read-only");
	} else if (id == r_ftag) {
		fx(s)[4] = abridged_tag(static_cast<std::uint32_t>(v));
	} else {
		auto [off, len] = fx_slot(id);
		std::memcpy(fx(s) + off, bytes.data(), std::min(len, bytes.size()));
	}
	return vapicvm::ok();
}

Arch arch_of(const vapicvm_sregs &s) noexcept
{
	return (s.efer & (1u << 10)) ? Arch::X86_64 : Arch::I386; /* EFER.LMA */
}

const std::string &target_xml(Arch a)
{
	auto build = [](Arch arch) {
		std::string x = "<?xml version=\"1.0\"?>\n"
				"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
				"<target version=\"1.0\">\n<architecture>";
		x += arch == Arch::I386 ? "i386" : "i386:x86-64";
		x += "</architecture>\n";
		std::string_view feature;
		auto t = table(arch);
		for (unsigned n = 0; n < t.size(); n++) {
			const auto &r = t[n];
			if (r.feature != feature) {
				if (!feature.empty())
					x += "</feature>\n";
				feature = r.feature;
				x += "<feature name=\"" + std::string(feature) + "\">\n";
				if (feature == core)
					x += "<flags id=\"i386_eflags\" size=\"4\">"
					     "<field name=\"CF\" start=\"0\" end=\"0\"/>"
					     "<field name=\"PF\" start=\"2\" end=\"2\"/>"
					     "<field name=\"AF\" start=\"4\" end=\"4\"/>"
					     "<field name=\"ZF\" start=\"6\" end=\"6\"/>"
					     "<field name=\"SF\" start=\"7\" end=\"7\"/>"
					     "<field name=\"TF\" start=\"8\" end=\"8\"/>"
					     "<field name=\"IF\" start=\"9\" end=\"9\"/>"
					     "<field name=\"DF\" start=\"10\" end=\"10\"/>"
					     "<field name=\"OF\" start=\"11\" end=\"11\"/>"
					     "</flags>\n";
				if (feature == sse)
					x += "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
					     "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
					     "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
					     "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
					     "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
					     "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
					     "<union id=\"vec128\"><field name=\"v4_float\" "
					     "type=\"v4f\"/><field name=\"v2_double\" "
					     "type=\"v2d\"/>"
					     "<field name=\"v16_int8\" type=\"v16i8\"/>"
					     "<field name=\"v8_int16\" type=\"v8i16\"/>"
					     "<field name=\"v4_int32\" type=\"v4i32\"/>"
					     "<field name=\"v2_int64\" type=\"v2i64\"/>"
					     "<field name=\"uint128\" type=\"uint128\"/></union>"
					     "<flags id=\"i386_mxcsr\" size=\"4\">"
					     "<field name=\"IE\" start=\"0\" end=\"0\"/>"
					     "<field name=\"DAZ\" start=\"6\" end=\"6\"/>"
					     "<field name=\"FZ\" start=\"15\" end=\"15\"/>"
					     "</flags>\n";
			}
			x += "<reg name=\"" + std::string(r.name) + "\" bitsize=\"" +
			     std::to_string(r.bits) + "\" type=\"" + std::string(r.type) +
			     "\" regnum=\"" + std::to_string(n) + "\"";
			if (r.id >= r_fctrl && r.id <= r_fop)
				x += " group=\"float\"";
			x += "/>\n";
		}
		return x + "</feature>\n</target>\n";
	};
	static const std::string amd64 = build(Arch::X86_64), i386 = build(Arch::I386);
	return a == Arch::I386 ? i386 : amd64;
}

/* ------------------------------------------------------------------ session */

namespace
{
std::string err(int e)
{
	char b[4] = {'E', hex_chars[(e >> 4) & 0xf], hex_chars[e & 0xf], 0};
	return b;
}
constexpr int e_args = 0x01;   /* a malformed packet */
constexpr int e_target = 0x0e; /* the vCPU or memory said no */
constexpr std::size_t max_memory_bytes = (PacketReader::max_packet - 16) / 2;

/* "a,b" split at the first sep. */
std::pair<std::string_view, std::string_view> split(std::string_view s, char sep)
{
	auto i = s.find(sep);
	if (i == std::string_view::npos)
		return {s, {}};
	return {s.substr(0, i), s.substr(i + 1)};
}
} // namespace

std::optional<unsigned> Session::thread_vcpu(std::string_view id) const
{
	/* -1: all; 0: any. */
	if (id == "-1" || id == "0")
		return g_vcpu_;
	auto n = parse_hex_number(id);
	if (!n || *n == 0 || *n > target_.vcpu_count())
		return std::nullopt;
	return static_cast<unsigned>(*n - 1);
}

std::string Session::regs_read()
{
	auto s = target_.read_state(g_vcpu_);
	if (!s)
		return err(e_target);
	std::string out;
	for (unsigned n = 0; n < registers(arch_).size(); n++)
		out += to_hex(read_register(arch_, *s, n));
	return out;
}

std::string Session::regs_write(std::string_view hex)
{
	auto bytes = parse_hex(hex);
	if (!bytes || bytes->size() != g_packet_bytes(arch_))
		return err(e_args);
	auto s = target_.read_state(g_vcpu_);
	if (!s)
		return err(e_target);
	std::size_t off = 0;
	auto regs = registers(arch_);
	for (unsigned n = 0; n < regs.size(); n++) {
		std::size_t len = regs[n].bits / 8;
		if (!write_register(arch_, *s, n, std::span(*bytes).subspan(off, len)))
			return err(e_args);
		off += len;
	}
	return target_.write_state(g_vcpu_, *s) ? "OK" : err(e_target);
}

std::string Session::reg_read(std::string_view args)
{
	auto n = parse_hex_number(args);
	if (!n || *n >= registers(arch_).size())
		return err(e_args);
	auto s = target_.read_state(g_vcpu_);
	if (!s)
		return err(e_target);
	return to_hex(read_register(arch_, *s, static_cast<unsigned>(*n)));
}

std::string Session::reg_write(std::string_view args)
{
	auto [num, val] = split(args, '=');
	auto n = parse_hex_number(num);
	auto bytes = parse_hex(val);
	if (!n || *n >= registers(arch_).size() || !bytes)
		return err(e_args);
	auto s = target_.read_state(g_vcpu_);
	if (!s)
		return err(e_target);
	if (!write_register(arch_, *s, static_cast<unsigned>(*n), *bytes))
		return err(e_args);
	return target_.write_state(g_vcpu_, *s) ? "OK" : err(e_target);
}

std::string Session::mem_read(std::string_view args)
{
	auto [a, l] = split(args, ',');
	auto addr = parse_hex_number(a);
	auto len = parse_hex_number(l);
	if (!addr || !len)
		return err(e_args);
	std::vector<std::uint8_t> buf(std::min<std::uint64_t>(*len, max_memory_bytes));
	if (!target_.read_memory(g_vcpu_, *addr, buf))
		return err(e_target);
	/* The guest's bytes, not our INT3s. */
	for (auto it = sw_.lower_bound(*addr); it != sw_.end() && it->first - *addr < buf.size();
	     ++it)
		buf[it->first - *addr] = it->second;
	return to_hex(buf);
}

std::string Session::mem_write(std::string_view args)
{
	auto [head, data] = split(args, ':');
	auto [a, l] = split(head, ',');
	auto addr = parse_hex_number(a);
	auto len = parse_hex_number(l);
	auto bytes = parse_hex(data);
	if (!addr || !len || !bytes || bytes->size() != *len)
		return err(e_args);
	/* A write under an INT3 of ours changes the byte we restore; the INT3 stays. */
	for (auto it = sw_.lower_bound(*addr); it != sw_.end() && it->first - *addr < bytes->size();
	     ++it) {
		std::swap(it->second, (*bytes)[it->first - *addr]);
		(*bytes)[it->first - *addr] = 0xcc;
	}
	return target_.write_memory(g_vcpu_, *addr, *bytes) ? "OK" : err(e_target);
}

std::string Session::breakpoint(std::string_view args, bool insert)
{
	/* type,addr,kind */
	auto [t, rest] = split(args, ',');
	auto [a, k] = split(rest, ',');
	k = split(k, ';').first; /* no conditions */
	auto type = parse_hex_number(t);
	auto addr = parse_hex_number(a);
	auto kind = parse_hex_number(k);
	if (!type || !addr || !kind)
		return err(e_args);
	if (*type == 0) {
		if (*kind != 1)
			return err(e_args);
		auto it = sw_.find(*addr);
		if (insert) {
			if (it != sw_.end())
				return "OK";
			std::uint8_t old = 0, cc = 0xcc;
			if (!target_.read_memory(g_vcpu_, *addr, std::span(&old, 1)) ||
			    !target_.write_memory(g_vcpu_, *addr, std::span(&cc, 1)))
				return err(e_target);
			sw_[*addr] = old;
			return "OK";
		}
		if (it == sw_.end())
			return "OK";
		std::uint8_t old = it->second;
		sw_.erase(it);
		return target_.write_memory(g_vcpu_, *addr, std::span(&old, 1)) ? "OK"
										: err(e_target);
	}
	if (*type > 4)
		return ""; /* unsupported */
	if (*type == 3)
		return ""; /* read-only watchpoints: x86 has none; gdb uses Z4 */
	int ztype = static_cast<int>(*type);
	if (*kind == 0 || *kind > 32 || (ztype == 1 && *kind != 1))
		return err(e_args);
	auto same = [&](const Hw &h) {
		return h.kind == ztype && h.addr == *addr && h.len == *kind;
	};
	if (!insert) {
		std::erase_if(hw_, same);
		return "OK";
	}
	if (std::any_of(hw_.begin(), hw_.end(), same))
		return "OK";
	/* A range the debug registers cannot take at once: aligned pieces. */
	std::vector<Hw> pieces;
	for (std::uint64_t a = *addr, left = *kind; left;) {
		std::uint8_t len = 8;
		while (len > 1 && ((a & (len - 1)) || len > left))
			len /= 2;
		Hw h{ztype, *addr, *kind, {}};
		h.bp.addr = a;
		h.bp.len = len;
		h.bp.type = ztype == 1   ? vapicvm::HwBreakType::Execute
			    : ztype == 2 ? vapicvm::HwBreakType::Write
					 : vapicvm::HwBreakType::ReadWrite;
		pieces.push_back(h);
		a += len;
		left -= len;
	}
	if (hw_.size() + pieces.size() > 4)
		return err(e_target); /* gdb says: no more hardware breakpoints */
	hw_.insert(hw_.end(), pieces.begin(), pieces.end());
	return "OK";
}

std::string Session::query(std::string_view q)
{
	if (q.starts_with("Supported"))
		return "PacketSize=" + std::to_string(PacketReader::max_packet) +
		       ";qXfer:features:read+";
	if (q == "Attached")
		return "1";
	if (q == "C")
		return "QC" + std::to_string(g_vcpu_ + 1);
	if (q == "fThreadInfo" || q == "sThreadInfo") {
		if (q[0] == 'f')
			thread_list_pos_ = 0;
		if (thread_list_pos_ >= target_.vcpu_count())
			return "l";
		std::string out = "m";
		for (; thread_list_pos_ < target_.vcpu_count(); thread_list_pos_++) {
			char b[16];
			std::snprintf(b, sizeof(b), "%s%x", out.size() > 1 ? "," : "",
				      static_cast<unsigned>(thread_list_pos_ + 1));
			out += b;
		}
		return out;
	}
	if (q.starts_with("ThreadExtraInfo,")) {
		auto v = thread_vcpu(q.substr(16));
		if (!v)
			return err(e_args);
		std::string s = "vCPU " + std::to_string(*v);
		return to_hex(
			std::span(reinterpret_cast<const std::uint8_t *>(s.data()), s.size()));
	}
	if (q.starts_with("Xfer:features:read:")) {
		auto [annex, range] = split(q.substr(19), ':');
		if (annex != "target.xml")
			return "E00";
		auto [o, l] = split(range, ',');
		auto off = parse_hex_number(o);
		auto len = parse_hex_number(l);
		if (!off || !len)
			return err(e_args);
		const auto &x = target_xml(arch_);
		if (*off >= x.size())
			return "l";
		auto n = std::min<std::uint64_t>({*len, x.size() - *off, max_memory_bytes});
		return (*off + n >= x.size() ? "l" : "m") + x.substr(*off, n);
	}
	return "";
}

std::string Session::set_thread(std::string_view args)
{
	if (args.empty())
		return err(e_args);
	char op = args[0];
	auto id = args.substr(1);
	if (op == 'c') {
		if (id == "-1" || id == "0") {
			c_vcpu_.reset();
			return "OK";
		}
		auto v = thread_vcpu(id);
		if (!v)
			return err(e_args);
		c_vcpu_ = *v;
		return "OK";
	}
	if (op != 'g')
		return err(e_args);
	auto v = thread_vcpu(id);
	if (!v)
		return err(e_args);
	g_vcpu_ = *v;
	return "OK";
}

Session::Outcome Session::resume(std::string_view args, bool step)
{
	/* args: where to resume, if not at RIP. */
	unsigned who = c_vcpu_.value_or(g_vcpu_);
	if (!args.empty()) {
		auto addr = parse_hex_number(args);
		if (!addr)
			return {Action::Reply, err(e_args)};
		auto s = target_.read_state(who);
		if (!s)
			return {Action::Reply, err(e_target)};
		s->regs.rip = *addr;
		if (!target_.write_state(who, *s))
			return {Action::Reply, err(e_target)};
	}
	step_.reset();
	if (step)
		step_ = who;
	for (unsigned i = 0; i < target_.vcpu_count(); i++) {
		vapicvm::GuestDebug d;
		d.single_step = step && i == who;
		d.sw_breakpoints = !sw_.empty();
		for (const auto &h : hw_)
			d.hw.push_back(h.bp);
		if (!target_.set_debug(i, d))
			return {Action::Reply, err(e_target)};
	}
	return {Action::Resume, {}};
}

void Session::remove_all()
{
	for (auto &[addr, old] : sw_)
		(void)target_.write_memory(g_vcpu_, addr, std::span(&old, 1));
	sw_.clear();
	hw_.clear();
	for (unsigned i = 0; i < target_.vcpu_count(); i++)
		(void)target_.set_debug(i, vapicvm::GuestDebug{});
}

std::string Session::stop_reply(const StopEvent &e)
{
	last_ = e;
	if (e.kind == StopEvent::Kind::Exited) {
		char b[8];
		std::snprintf(b, sizeof(b), "W%02x", e.exit_code & 0xff);
		return b;
	}
	if (e.vcpu < target_.vcpu_count()) {
		g_vcpu_ = e.vcpu;
		c_vcpu_.reset();
	}
	std::string out = e.kind == StopEvent::Kind::Interrupt ? "T02" : "T05";
	char b[32];
	std::snprintf(b, sizeof(b), "thread:%x;", e.vcpu + 1);
	out += b;
	if (e.watchpoint && *e.watchpoint < hw_.size()) {
		const auto &h = hw_[*e.watchpoint];
		if (h.kind == 2 || h.kind == 4) {
			std::snprintf(b, sizeof(b), "%s:%llx;", h.kind == 2 ? "watch" : "awatch",
				      static_cast<unsigned long long>(h.addr));
			out += b;
		}
	}
	return out;
}

Session::Outcome Session::handle(std::string_view p)
{
	if (p.empty())
		return {Action::Reply, ""};
	char cmd = p[0];
	auto args = p.substr(1);
	switch (cmd) {
	case '?':
		return {Action::Reply, stop_reply(last_)};
	case 'g':
		return {Action::Reply, args.empty() ? regs_read() : err(e_args)};
	case 'G':
		return {Action::Reply, regs_write(args)};
	case 'p':
		return {Action::Reply, reg_read(args)};
	case 'P':
		return {Action::Reply, reg_write(args)};
	case 'm':
		return {Action::Reply, mem_read(args)};
	case 'M':
		return {Action::Reply, mem_write(args)};
	case 'c':
	case 's':
		if (args.find(';') != std::string_view::npos)
			return {Action::Reply, err(e_args)};
		return resume(args, cmd == 's');
	case 'C':
	case 'S': {
		/* sig[;addr]: the signal is not given to the guest. */
		auto [sig, addr] = split(args, ';');
		if (!parse_hex_number(sig))
			return {Action::Reply, err(e_args)};
		return resume(addr, cmd == 'S');
	}
	case 'Z':
	case 'z':
		return {Action::Reply, breakpoint(args, cmd == 'Z')};
	case 'H':
		return {Action::Reply, set_thread(args)};
	case 'T':
		return {Action::Reply,
			thread_vcpu(args) && args != "-1" && args != "0" ? "OK" : err(e_args)};
	case 'q':
		return {Action::Reply, query(args)};
	case 'k':
		remove_all();
		return {Action::Kill, {}};
	case 'D':
		remove_all();
		return {Action::Detach, "OK"};
	default:
		return {Action::Reply, ""}; /* unsupported: the empty reply */
	}
}

} // namespace vrun::gdb

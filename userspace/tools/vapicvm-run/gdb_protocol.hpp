// SPDX-License-Identifier: GPL-2.0
/*
 * The gdb remote serial protocol, apart from any vCPU: packet framing
 * (PacketReader, packet()), the amd64 register set gdb's i386:x86-64
 * target expects (described to it by target.xml), and Session, which
 * answers gdb's packets through a Target.  gdbstub.cpp puts a Target over
 * the vCPUs and a socket around it; the unit tests use a fake one.
 */
#ifndef VAPICVM_RUN_GDB_PROTOCOL_HPP
#define VAPICVM_RUN_GDB_PROTOCOL_HPP

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <vapicvm/result.hpp>
#include <vapicvm/vcpu.hpp>

namespace vrun::gdb
{

/* "$payload#xx", with '#', '$', '}' and '*' escaped. */
std::string packet(std::string_view payload);

/*
 * Bytes from gdb in, events out: feed() one byte, and look at what it
 * completed.  A packet with a bad checksum, or longer than max_packet,
 * is BadPacket (answer '-'); bytes outside a packet other than '+', '-'
 * and 0x03 are ignored.
 */
class PacketReader
{
public:
	static constexpr std::size_t max_packet = 16384;
	enum class Event { None, Ack, Nack, Interrupt, Packet, BadPacket };

	Event feed(std::uint8_t byte);
	/* After Event::Packet: the payload, unescaped. */
	const std::string &payload() const noexcept { return done_; }

private:
	enum class State { Idle, Body, Escape, Sum1, Sum2 };
	State state_ = State::Idle;
	std::string body_, done_;
	std::uint8_t sum_ = 0, want_ = 0;
	bool overflow_ = false;
};

/* The vCPU state gdb's registers come from. */
struct CpuState {
	vapicvm_regs regs{};
	vapicvm_sregs sregs{};
	vapicvm_xsave xsave{}; /* the legacy area holds x87 and SSE */
};

/*
 * The register set gdb gets, fixed for a connection: amd64's when vCPU 0
 * is in long mode when gdb connects, else i386's (the low halves of the
 * registers), which is what gdb takes with a 32-bit ELF's symbols.
 */
enum class Arch { X86_64, I386 };
Arch arch_of(const vapicvm_sregs &s) noexcept;

/* One register of the description: its gdb number is its index. */
struct RegInfo {
	std::string_view name;
	unsigned bits;
	std::string_view type;
	std::string_view feature; /* which target.xml feature holds it */
	unsigned id;              /* which register of CpuState (gdb_protocol.cpp) */
};
std::span<const RegInfo> registers(Arch a) noexcept;
/* The 'g' packet's size in bytes: every register, in order. */
std::size_t g_packet_bytes(Arch a) noexcept;

/* Register n of s, little-endian, registers(a)[n].bits / 8 bytes. */
std::vector<std::uint8_t> read_register(Arch a, const CpuState &s, unsigned n);
/*
 * Set register n from bytes (exactly its size; a 32-bit view of a 64-bit
 * register sets its low half).  The segment selectors are read-only
 * (EPERM: a selector alone is not a segment); fs_base and gs_base write
 * the segments' bases.
 */
vapicvm::Result<void> write_register(Arch a, CpuState &s, unsigned n,
				     std::span<const std::uint8_t> bytes);

/* The target description gdb reads with qXfer:features:read:target.xml. */
const std::string &target_xml(Arch a);

/* Hex helpers: lower-case pairs; parse_hex() rejects odd lengths and non-hex. */
std::string to_hex(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s);
std::optional<std::uint64_t> parse_hex_number(std::string_view s);

/* What Session needs from the machine; every call is made with the guest stopped. */
class Target
{
public:
	virtual ~Target() = default;
	virtual unsigned vcpu_count() const = 0;
	virtual vapicvm::Result<CpuState> read_state(unsigned vcpu) = 0;
	virtual vapicvm::Result<void> write_state(unsigned vcpu, const CpuState &s) = 0;
	/* Guest linear addresses, through vcpu's paging. */
	virtual vapicvm::Result<void> read_memory(unsigned vcpu, std::uint64_t addr,
						  std::span<std::uint8_t> out) = 0;
	virtual vapicvm::Result<void> write_memory(unsigned vcpu, std::uint64_t addr,
						   std::span<const std::uint8_t> bytes) = 0;
	/* The debug controls of vCPU vcpu for the next resumption. */
	virtual vapicvm::Result<void> set_debug(unsigned vcpu, const vapicvm::GuestDebug &d) = 0;
};

/* Why the guest stopped, for the stop reply. */
struct StopEvent {
	enum class Kind { Trap, Interrupt, Exited };
	Kind kind = Kind::Trap;
	unsigned vcpu = 0;
	int exit_code = 0;                    /* Exited */
	std::optional<unsigned> watchpoint{}; /* Trap: the DR0-DR3 that hit */
};

/*
 * gdb's side of one connection.  handle() answers one packet; when the
 * answer is to resume the guest, it returns no reply and sets resume():
 * the caller runs the guest and, when it stops, sends stop_reply().
 * All-stop: one vCPU stopping stops all.  Thread ids are vCPU ids + 1.
 */
class Session
{
public:
	enum class Action { Reply, Resume, Kill, Detach };
	struct Outcome {
		Action action = Action::Reply;
		std::string reply; /* the payload to send (Reply, Kill, Detach) */
	};

	Session(Target &t, Arch arch) : target_(t), arch_(arch) {}

	Outcome handle(std::string_view packet);
	/* Builds the stop reply and makes the stopped vCPU the selected one. */
	std::string stop_reply(const StopEvent &e);
	/* The last stop, for '?'. */
	const StopEvent &last_stop() const noexcept { return last_; }

	/* With Resume: the vCPU that single-steps, if any (set_debug is done). */
	std::optional<unsigned> stepping() const noexcept { return step_; }

	/* The breakpoints in place (tests). */
	std::size_t sw_breakpoints() const noexcept { return sw_.size(); }
	std::size_t hw_breakpoints() const noexcept { return hw_.size(); }
	/* Take every breakpoint out of the guest (detach, kill). */
	void remove_all();

private:
	/* One debug register; a Z packet's range may take several. */
	struct Hw {
		int kind;           /* Z1, Z2 or Z4 */
		std::uint64_t addr; /* the Z packet's range */
		std::uint64_t len;
		vapicvm::HwBreakpoint bp;
	};

	std::string regs_read();
	std::string regs_write(std::string_view hex);
	std::string reg_read(std::string_view args);
	std::string reg_write(std::string_view args);
	std::string mem_read(std::string_view args);
	std::string mem_write(std::string_view args);
	std::string breakpoint(std::string_view args, bool insert);
	std::string query(std::string_view q);
	std::string set_thread(std::string_view args);
	Outcome resume(std::string_view args, bool step);
	std::optional<unsigned> thread_vcpu(std::string_view id) const;

	Target &target_;
	Arch arch_;
	unsigned g_vcpu_ = 0;              /* 'Hg': registers and memory */
	std::optional<unsigned> c_vcpu_{}; /* 'Hc': the one that steps; none: g_vcpu_ */
	std::optional<unsigned> step_{};
	std::map<std::uint64_t, std::uint8_t> sw_; /* address -> the byte under the INT3 */
	std::vector<Hw> hw_;
	StopEvent last_{};
	std::size_t thread_list_pos_ = 0;
};

} // namespace vrun::gdb

#endif

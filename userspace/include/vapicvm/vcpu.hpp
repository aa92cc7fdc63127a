// SPDX-License-Identifier: GPL-2.0
/* A vCPU: its fd and its mmap()ed run page. */
#ifndef VAPICVM_VCPU_HPP
#define VAPICVM_VCPU_HPP

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <linux/vapicvm.h>

#include "vapicvm/exit.hpp"
#include "vapicvm/fd.hpp"
#include "vapicvm/result.hpp"

namespace vapicvm
{

enum class MpState : std::uint32_t {
	Runnable = VAPICVM_MP_STATE_RUNNABLE,
	Uninitialized = VAPICVM_MP_STATE_UNINITIALIZED,
	InitReceived = VAPICVM_MP_STATE_INIT_RECEIVED,
	Halted = VAPICVM_MP_STATE_HALTED,
};
std::string_view mp_state_name(MpState s) noexcept;

enum class LintPin : std::uint32_t {
	Lint0 = VAPICVM_INTERRUPT_LINT0,
	Lint1 = VAPICVM_INTERRUPT_LINT1,
};

/* The local APIC's state; reg()/set_reg() access the xAPIC register page. */
struct LapicState {
	vapicvm_lapic_state raw{};

	std::uint32_t reg(std::uint32_t offset) const noexcept;
	void set_reg(std::uint32_t offset, std::uint32_t value) noexcept;
};

/* Per-vCPU counters, indexed by enum vapicvm_stat. */
struct VcpuStats {
	std::vector<std::uint64_t> counters;

	std::uint64_t operator[](vapicvm_stat s) const noexcept
	{
		return std::size_t(s) < counters.size() ? counters[s] : 0;
	}
	/* From the UAPI table: "exits", "exit_io", ...; "" past VAPICVM_STAT_NR. */
	static std::string_view name(std::size_t index) noexcept;
	/* "all VM exits", ...; "" past VAPICVM_STAT_NR. */
	static std::string_view description(std::size_t index) noexcept;
};

/* What a hardware breakpoint (one of DR0-DR3) stops on. */
enum class HwBreakType : std::uint8_t {
	Execute = 0,   /* an instruction fetch at addr (len 1) */
	Write = 1,     /* a data write to [addr, addr + len) */
	ReadWrite = 3, /* a data read or write */
};

struct HwBreakpoint {
	std::uint64_t addr = 0; /* a linear address, aligned to len */
	HwBreakType type = HwBreakType::Execute;
	std::uint8_t len = 1; /* 1, 2, 4 or 8 bytes; 1 for Execute */
};

/*
 * The VMM debugging the guest (VAPICVM_SET_GUEST_DEBUG): all off (the
 * default) gives the guest back its own #DB and #BP.  Anything on exits as
 * DebugExit.  raw() encodes it: EINVAL for more than 4 hardware
 * breakpoints, a bad length or a misaligned address.
 */
struct GuestDebug {
	bool single_step = false;     /* a #DB after each instruction */
	bool sw_breakpoints = false;  /* the guest's INT3s exit (the VMM writes them) */
	std::vector<HwBreakpoint> hw; /* DR0-DR3, in order */

	Result<vapicvm_guest_debug> raw() const;
};

/* VAPICVM_TRANSLATE's answer for one linear address. */
struct Translation {
	std::uint64_t physical = 0; /* the guest-physical address, if valid */
	bool valid = false;         /* mapped by the guest's page tables */
	bool writeable = false;     /* writes allowed at CPL 0 */
	bool usermode = false;      /* reachable at CPL 3 */
};

/*
 * Threading: run() and the state accessors take the kernel's vCPU lock,
 * which RUN holds throughout; from another thread they wait until that RUN
 * returns.  set_immediate_exit(), immediate_exit(), interrupt(),
 * mp_state() and stats() take no lock: safe from any thread while the vCPU
 * runs.  Documentation/userspace-library.rst has the table.
 */
class Vcpu
{
public:
	Vcpu(const Vcpu &) = delete;
	Vcpu &operator=(const Vcpu &) = delete;
	Vcpu(Vcpu &&) noexcept = default;
	Vcpu &operator=(Vcpu &&) noexcept = default;
	~Vcpu() = default;

	std::uint32_t id() const noexcept { return id_; }
	int fd() const noexcept { return fd_.get(); }

	/*
	 * Enter the guest until the next exit to userspace.  EINTR (a signal,
	 * immediate_exit) is InterruptedExit, not an error.  The exit's views
	 * point into the run page: valid until the next run().
	 */
	Result<VcpuExit> run();

	/*
	 * Set or clear run->immediate_exit: a RUN that starts while it is set
	 * returns EINTR at once.  Safe from any thread (see VcpuRunner).
	 */
	void set_immediate_exit(bool on) noexcept;
	bool immediate_exit() const noexcept;
	vapicvm_run *run_page() const noexcept { return static_cast<vapicvm_run *>(run_.get()); }
	std::size_t run_page_size() const noexcept { return run_.size(); }

	Result<vapicvm_regs> regs() const;
	Result<void> set_regs(const vapicvm_regs &r);
	Result<vapicvm_sregs> sregs() const;
	Result<void> set_sregs(const vapicvm_sregs &s);

	/*
	 * Read/write MSRs in order; returns how many the kernel processed (it
	 * stops at the first MSR it does not virtualize).
	 */
	Result<std::size_t> get_msrs(std::span<vapicvm_msr_entry> entries) const;
	Result<std::size_t> set_msrs(std::span<const vapicvm_msr_entry> entries);
	/* One MSR; ENOENT when the kernel refuses it. */
	Result<std::uint64_t> get_msr(std::uint32_t index) const;
	Result<void> set_msr(std::uint32_t index, std::uint64_t value);
	/*
	 * The guest TSC's rate in kHz (VAPICVM_SET/GET_TSC_KHZ): the host's
	 * (Capability::TscKhz) until set.  Another rate needs
	 * Capability::TscControl, else EOPNOTSUPP; EINVAL outside host/256 to
	 * host*256.  The guest's TSC goes on from its value, at the new rate.
	 */
	Result<void> set_tsc_khz(std::uint32_t khz);
	Result<std::uint32_t> tsc_khz() const;

	/* VAPICVM_SET_CPUID (at most VAPICVM_MAX_CPUID_ENTRIES, else E2BIG). */
	Result<void> set_cpuid(std::span<const vapicvm_cpuid_entry> entries);

	Result<vapicvm_xsave> xsave() const;
	Result<void> set_xsave(const vapicvm_xsave &x);

	Result<vapicvm_debugregs> debugregs() const;
	Result<void> set_debugregs(const vapicvm_debugregs &d);
	/*
	 * Events in flight (VAPICVM_GET/SET_VCPU_EVENTS): the event being
	 * delivered, a pending exception, NMIs, the interrupt shadow, ExtINT,
	 * INIT and SIPI.  Restore after set_regs() (the shadow depends on IF).
	 */
	Result<vapicvm_vcpu_events> events() const;
	Result<void> set_events(const vapicvm_vcpu_events &e);
	/* XCR0 (VAPICVM_GET/SET_XCRS; the kernel checks it as XSETBV would). */
	Result<std::uint64_t> xcr0() const;
	Result<void> set_xcr0(std::uint64_t value);
	/*
	 * Guest debugging (VAPICVM_SET_GUEST_DEBUG, VAPICVM_CAP_SET_GUEST_DEBUG
	 * says which flags the kernel takes): the typed form, or the raw
	 * struct as the kernel takes it.  GuestDebug{} turns it off.
	 */
	Result<void> set_guest_debug(const GuestDebug &d);
	Result<void> set_guest_debug(const vapicvm_guest_debug &raw);
	/* A linear address through the guest's current paging (VAPICVM_TRANSLATE). */
	Result<Translation> translate(std::uint64_t linear) const;
	/* The vCPU's CPUID table (VAPICVM_GET_CPUID). */
	Result<std::vector<vapicvm_cpuid_entry>> cpuid() const;

	Result<LapicState> lapic() const;
	Result<void> set_lapic(const LapicState &s);

	/* No lock: a snapshot, from any thread. */
	Result<MpState> mp_state() const;
	Result<void> set_mp_state(MpState s);

	/*
	 * A pulse on LINT0/LINT1 (a userspace PIC's INTR, or NMI); vector is
	 * what the PIC supplies when the LVT entry is in ExtINT mode.  No lock:
	 * from any thread, also while the vCPU runs.
	 */
	Result<void> interrupt(LintPin pin, std::uint8_t vector = 0);

	/* The per-vCPU counters the kernel keeps (VAPICVM_GET_STATS); no lock. */
	Result<VcpuStats> stats() const;

private:
	friend class Vm;
	Vcpu(UniqueFd fd, UniqueMapping run, std::uint32_t id) noexcept
	    : fd_(std::move(fd)), run_(std::move(run)), id_(id)
	{
	}

	UniqueFd fd_;
	UniqueMapping run_;
	std::uint32_t id_ = 0;
};

} // namespace vapicvm

#endif

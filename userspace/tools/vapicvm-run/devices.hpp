// SPDX-License-Identifier: GPL-2.0
/*
 * The machine's devices (port I/O, and MMIO outside RAM and the local APIC)
 * and the bus that dispatches exits to them.  Each device locks itself:
 * vCPU threads reach devices concurrently.
 */
#ifndef VAPICVM_RUN_DEVICES_HPP
#define VAPICVM_RUN_DEVICES_HPP

#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <vapicvm/exit.hpp>
#include <vapicvm/vmm/ioapic.hpp>

namespace vrun
{

class PortDevice
{
public:
	virtual ~PortDevice() = default;
	/* port is absolute; size 1, 2 or 4.  Reads return the value zero-extended. */
	virtual std::uint32_t read(std::uint16_t port, std::uint8_t size) = 0;
	virtual void write(std::uint16_t port, std::uint8_t size, std::uint32_t value) = 0;
	virtual const char *name() const = 0;
};

class MmioDevice
{
public:
	virtual ~MmioDevice() = default;
	/* offset from the device's base; size 1 to 8.  Reads return the value zero-extended. */
	virtual std::uint64_t read(std::uint64_t offset, std::uint8_t size) = 0;
	virtual void write(std::uint64_t offset, std::uint8_t size, std::uint64_t value) = 0;
	virtual const char *name() const = 0;
};

/*
 * Port and MMIO dispatch.  Ports no device claims: reads return all ones,
 * writes are dropped, and each such port is reported once through the log
 * function.  MMIO outside RAM, the APIC and the MMIO devices is treated the
 * same way, per address.  Devices are added before the vCPUs run.
 */
class IoBus
{
public:
	using Log = std::function<void(const std::string &)>;

	explicit IoBus(Log log = {}) : log_(std::move(log)) {}
	/* Claims [first, first + count); devices are shared (one may sit at several ranges). */
	void add(std::uint16_t first, std::uint16_t count, std::shared_ptr<PortDevice> dev);
	PortDevice *find(std::uint16_t port) const;
	/* Claims guest-physical [base, base + size); an access is routed by its first byte. */
	void add_mmio(std::uint64_t base, std::uint64_t size, std::shared_ptr<MmioDevice> dev);
	/* The device at gpa and gpa's offset from the device's base. */
	MmioDevice *find_mmio(std::uint64_t gpa, std::uint64_t *offset = nullptr) const;

	void handle_io(const vapicvm::IoIn &io);
	void handle_io(const vapicvm::IoOut &io);
	void handle_mmio(const vapicvm::MmioRead &m);
	void handle_mmio(const vapicvm::MmioWrite &m);
	/* How many distinct unclaimed ports / MMIO addresses were reported. */
	std::size_t unknown_ports() const;
	std::size_t unknown_mmio() const;

private:
	void unknown(bool mmio, std::uint64_t addr, bool write, std::uint64_t value);

	struct Range {
		std::uint16_t count;
		std::shared_ptr<PortDevice> dev;
	};
	std::map<std::uint16_t, Range> ranges_; /* by first port */
	struct MmioRange {
		std::uint64_t size;
		std::shared_ptr<MmioDevice> dev;
	};
	std::map<std::uint64_t, MmioRange> mmio_; /* by base */
	Log log_;
	mutable std::mutex mu_;
	std::set<std::uint16_t> seen_ports_;
	std::set<std::uint64_t> seen_mmio_;
};

/*
 * The I/O APIC's MMIO window (vapicvm::vmm::IoApic::mmio_size bytes): its
 * registers take aligned 32-bit accesses, as the 82093AA's; other accesses
 * read as zero and write nothing.
 */
class IoApicMmio : public MmioDevice
{
public:
	explicit IoApicMmio(vapicvm::vmm::IoApic &ioapic) : ioapic_(ioapic) {}
	std::uint64_t read(std::uint64_t offset, std::uint8_t size) override;
	void write(std::uint64_t offset, std::uint8_t size, std::uint64_t value) override;
	const char *name() const override { return "I/O APIC"; }

private:
	vapicvm::vmm::IoApic &ioapic_;
};

/*
 * A 16550A UART: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, scratch, the
 * divisor latch, loopback, a 16-byte receive FIFO (extra input waits in an
 * unbounded queue, nothing is lost).  Transmission is instant, so THRE and
 * TEMT are always set and polling drivers never wait.
 *
 * Interrupts, as Linux's 8250 driver expects them: received data (IER.RDI)
 * is pending while the FIFO holds a byte and outranks THRE; THRE (IER.THRI)
 * becomes pending when IER.THRI goes from 0 to 1 (THR is always empty),
 * reading IIR while it names THRE clears it, and writing THR clears it and,
 * the byte being sent at once, makes it pending again.  The interrupt line
 * follows IIR and is gated by MCR.OUT2, as on a PC: a device for an
 * edge-triggered controller, which sees a new edge each time the line
 * rises.  The IrqLine callback is called with the UART's lock held, each
 * time the level changes and in the order of the changes; it must not call
 * back into the UART.
 */
class Uart16550 : public PortDevice
{
public:
	using Output = std::function<void(std::uint8_t)>;
	using IrqLine = std::function<void(bool level)>;

	Uart16550(std::uint16_t base, Output out, IrqLine irq = {})
	    : base_(base), out_(std::move(out)), irq_(std::move(irq))
	{
	}

	std::uint32_t read(std::uint16_t port, std::uint8_t size) override;
	void write(std::uint16_t port, std::uint8_t size, std::uint32_t value) override;
	const char *name() const override { return "16550 UART"; }

	/* Host input (any thread). */
	void receive(std::uint8_t byte);
	bool irq_level() const;

	/* Register offsets and bits. */
	enum : std::uint8_t {
		RBR = 0,
		THR = 0,
		DLL = 0,
		IER = 1,
		DLM = 1,
		IIR = 2,
		FCR = 2,
		LCR = 3,
		MCR = 4,
		LSR = 5,
		MSR = 6,
		SCR = 7
	};
	enum : std::uint8_t { IER_RDI = 1, IER_THRI = 2, IER_RLSI = 4, IER_MSI = 8 };
	enum : std::uint8_t {
		IIR_NO_INT = 1,
		IIR_THRI = 2,
		IIR_RDI = 4,
		IIR_RLSI = 6,
		IIR_FIFO = 0xc0
	};
	enum : std::uint8_t { LCR_DLAB = 0x80 };
	enum : std::uint8_t {
		MCR_DTR = 1,
		MCR_RTS = 2,
		MCR_OUT1 = 4,
		MCR_OUT2 = 8,
		MCR_LOOP = 0x10
	};
	enum : std::uint8_t { LSR_DR = 1, LSR_OE = 2, LSR_THRE = 0x20, LSR_TEMT = 0x40 };

private:
	std::uint8_t iir_locked() const;
	/* Recompute the line's level and tell irq_ if it changed; lock held. */
	void update_irq_locked();
	void rx_push_locked(std::uint8_t b);

	std::uint16_t base_;
	Output out_;
	IrqLine irq_;
	mutable std::mutex mu_;
	std::deque<std::uint8_t> rx_;
	std::uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, fcr_ = 0, dll_ = 12, dlm_ = 0;
	bool thri_pending_ = false, overrun_ = false, irq_level_ = false;
};

/*
 * isa-debug-exit, as QEMU's: writing v ends the run with exit status
 * (v << 1) | 1.
 */
class DebugExit : public PortDevice
{
public:
	explicit DebugExit(std::function<void(int status)> on_exit) : on_exit_(std::move(on_exit))
	{
	}
	static int status_for(std::uint32_t v) { return static_cast<int>((v << 1) | 1); }
	std::uint32_t read(std::uint16_t, std::uint8_t) override { return 0xffffffff; }
	void write(std::uint16_t, std::uint8_t, std::uint32_t v) override
	{
		on_exit_(status_for(v));
	}
	const char *name() const override { return "debug exit"; }

private:
	std::function<void(int)> on_exit_;
};

/*
 * Reset and power-off:
 *   0xcf9   reset control: a write with bit 2 (RST_CPU) set resets
 *   0x64    keyboard controller command 0xfe (pulse reset) resets; reads: 0xff
 *   0x604   PM1a control (ACPI-style): a write with SLP_EN (bit 13) powers off
 */
class SystemControl : public PortDevice
{
public:
	enum class Event { Reset, PowerOff };
	explicit SystemControl(std::function<void(Event)> on_event) : on_event_(std::move(on_event))
	{
	}
	std::uint32_t read(std::uint16_t port, std::uint8_t size) override;
	void write(std::uint16_t port, std::uint8_t size, std::uint32_t v) override;
	const char *name() const override { return "system control"; }

	static constexpr std::uint16_t reset_port = 0xcf9, kbc_port = 0x64, pm1a_cnt_port = 0x604;

private:
	std::function<void(Event)> on_event_;
	std::mutex mu_;
	std::uint8_t cf9_ = 0;
	std::uint16_t pm1a_ = 0;
};

/*
 * The MC146818 CMOS clock at 0x70/0x71: the time of day from the host
 * clock (UTC, BCD, 24-hour), registers A-D saying "valid, no update in
 * progress", and 114 bytes of CMOS RAM.  Enough for a guest's wall clock.
 */
class CmosRtc : public PortDevice
{
public:
	explicit CmosRtc(std::function<std::time_t()> now = {}) : now_(std::move(now)) {}
	std::uint32_t read(std::uint16_t port, std::uint8_t size) override;
	void write(std::uint16_t port, std::uint8_t size, std::uint32_t v) override;
	const char *name() const override { return "CMOS RTC"; }

private:
	std::function<std::time_t()> now_;
	std::mutex mu_;
	std::uint8_t index_ = 0;
	std::uint8_t ram_[128] = {};
};

/* Writes ignored, reads all ones, never reported (POST code port 0x80, I/O delays). */
class SinkPort : public PortDevice
{
public:
	std::uint32_t read(std::uint16_t, std::uint8_t) override { return 0xffffffff; }
	void write(std::uint16_t, std::uint8_t, std::uint32_t) override {}
	const char *name() const override { return "sink"; }
};

/*
 * The PC's system ports every machine here has: SystemControl (reset,
 * power off; on_event says which), the CMOS clock and the sink at 0x80.
 */
void add_system_ports(IoBus &bus, std::function<void(SystemControl::Event)> on_event);

} // namespace vrun

#endif

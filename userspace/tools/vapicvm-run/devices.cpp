// SPDX-License-Identifier: GPL-2.0
#include <cstdio>
#include <cstring>
#include <optional>

#include "devices.hpp"

namespace vrun
{

/* ------------------------------------------------------------------ bus */

void IoBus::add(std::uint16_t first, std::uint16_t count, std::shared_ptr<PortDevice> dev)
{
	ranges_[first] = Range{count, std::move(dev)};
}

PortDevice *IoBus::find(std::uint16_t port) const
{
	auto it = ranges_.upper_bound(port);
	if (it == ranges_.begin())
		return nullptr;
	--it;
	if (port - it->first < it->second.count)
		return it->second.dev.get();
	return nullptr;
}

void IoBus::add_mmio(std::uint64_t base, std::uint64_t size, std::shared_ptr<MmioDevice> dev)
{
	mmio_[base] = MmioRange{size, std::move(dev)};
}

MmioDevice *IoBus::find_mmio(std::uint64_t gpa, std::uint64_t *offset) const
{
	auto it = mmio_.upper_bound(gpa);
	if (it == mmio_.begin())
		return nullptr;
	--it;
	if (gpa - it->first >= it->second.size)
		return nullptr;
	if (offset)
		*offset = gpa - it->first;
	return it->second.dev.get();
}

void IoBus::unknown(bool mmio, std::uint64_t addr, bool write, std::uint64_t value)
{
	{
		std::lock_guard<std::mutex> g(mu_);
		bool fresh = mmio ? seen_mmio_.insert(addr).second
				  : seen_ports_.insert(static_cast<std::uint16_t>(addr)).second;
		if (!fresh || !log_)
			return;
	}
	char buf[160];
	if (write)
		std::snprintf(buf, sizeof(buf), "unhandled %s write %#llx <- %#llx (reported once)",
			      mmio ? "MMIO" : "port", static_cast<unsigned long long>(addr),
			      static_cast<unsigned long long>(value));
	else
		std::snprintf(buf, sizeof(buf),
			      "unhandled %s read %#llx (reads all ones; reported once)",
			      mmio ? "MMIO" : "port", static_cast<unsigned long long>(addr));
	log_(buf);
}

void IoBus::handle_io(const vapicvm::IoIn &io)
{
	PortDevice *d = find(io.port);
	for (std::uint32_t i = 0; i < io.count; i++) {
		io.complete(d ? d->read(io.port, io.size) : 0xffffffffu, i);
		if (!d)
			unknown(false, io.port, false, 0);
	}
}

void IoBus::handle_io(const vapicvm::IoOut &io)
{
	PortDevice *d = find(io.port);
	for (std::uint32_t i = 0; i < io.count; i++) {
		if (d)
			d->write(io.port, io.size, io.value(i));
		else
			unknown(false, io.port, true, io.value(i));
	}
}

void IoBus::handle_mmio(const vapicvm::MmioRead &m)
{
	std::uint64_t off = 0;
	if (MmioDevice *d = find_mmio(m.gpa, &off)) {
		m.complete(d->read(off, static_cast<std::uint8_t>(m.len())));
		return;
	}
	m.complete(~0ull);
	unknown(true, m.gpa, false, 0);
}

void IoBus::handle_mmio(const vapicvm::MmioWrite &m)
{
	std::uint64_t off = 0;
	if (MmioDevice *d = find_mmio(m.gpa, &off)) {
		d->write(off, static_cast<std::uint8_t>(m.len()), m.value());
		return;
	}
	unknown(true, m.gpa, true, m.value());
}

std::size_t IoBus::unknown_ports() const
{
	std::lock_guard<std::mutex> g(mu_);
	return seen_ports_.size();
}

std::size_t IoBus::unknown_mmio() const
{
	std::lock_guard<std::mutex> g(mu_);
	return seen_mmio_.size();
}

/* ------------------------------------------------------------------ I/O APIC */

std::uint64_t IoApicMmio::read(std::uint64_t offset, std::uint8_t size)
{
	if (size != 4 || (offset & 3))
		return 0;
	return ioapic_.mmio_read(offset);
}

void IoApicMmio::write(std::uint64_t offset, std::uint8_t size, std::uint64_t value)
{
	if (size == 4 && !(offset & 3))
		ioapic_.mmio_write(offset, static_cast<std::uint32_t>(value));
}

/* ------------------------------------------------------------------ UART */

std::uint8_t Uart16550::iir_locked() const
{
	std::uint8_t fifo = (fcr_ & 1) ? IIR_FIFO : 0;
	if ((ier_ & IER_RLSI) && overrun_)
		return fifo | IIR_RLSI;
	if ((ier_ & IER_RDI) && !rx_.empty())
		return fifo | IIR_RDI;
	if ((ier_ & IER_THRI) && thri_pending_)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/*
 * Under the lock, so that the controller sees the line's changes in the
 * order they happen: two threads' changes told after unlocking could
 * arrive swapped and leave the controller's idea of the line high while
 * the UART's is low, and an edge-triggered controller would then miss the
 * next rise.
 */
void Uart16550::update_irq_locked()
{
	bool level = !(iir_locked() & IIR_NO_INT) && (mcr_ & MCR_OUT2) && !(mcr_ & MCR_LOOP);
	if (level == irq_level_)
		return;
	irq_level_ = level;
	if (irq_)
		irq_(level);
}

bool Uart16550::irq_level() const
{
	std::lock_guard<std::mutex> g(mu_);
	return irq_level_;
}

void Uart16550::rx_push_locked(std::uint8_t b)
{
	/* A real FIFO holds 16; the rest of the host's input waits here. */
	rx_.push_back(b);
}

void Uart16550::receive(std::uint8_t byte)
{
	std::lock_guard<std::mutex> g(mu_);
	rx_push_locked(byte);
	update_irq_locked();
}

std::uint32_t Uart16550::read(std::uint16_t port, std::uint8_t)
{
	std::uint8_t off = static_cast<std::uint8_t>(port - base_), v = 0xff;
	{
		std::lock_guard<std::mutex> g(mu_);
		switch (off) {
		case RBR:
			if (lcr_ & LCR_DLAB) {
				v = dll_;
			} else if (!rx_.empty()) {
				v = rx_.front();
				rx_.pop_front();
			} else {
				v = 0;
			}
			break;
		case IER:
			v = (lcr_ & LCR_DLAB) ? dlm_ : ier_;
			break;
		case IIR:
			v = iir_locked();
			/* Reading IIR when it reports THRE clears that interrupt. */
			if ((v & 0x0f) == IIR_THRI)
				thri_pending_ = false;
			break;
		case LCR:
			v = lcr_;
			break;
		case MCR:
			v = mcr_;
			break;
		case LSR:
			v = LSR_THRE | LSR_TEMT | (rx_.empty() ? 0 : LSR_DR) |
			    (overrun_ ? LSR_OE : 0);
			overrun_ = false;
			break;
		case MSR:
			if (mcr_ & MCR_LOOP) {
				/* Loopback: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2. */
				v = static_cast<std::uint8_t>(((mcr_ & MCR_RTS) ? 0x10 : 0) |
							      ((mcr_ & MCR_DTR) ? 0x20 : 0) |
							      ((mcr_ & MCR_OUT1) ? 0x40 : 0) |
							      ((mcr_ & MCR_OUT2) ? 0x80 : 0));
			} else {
				v = 0xb0; /* DCD, DSR, CTS: a terminal is connected */
			}
			break;
		case SCR:
			v = scr_;
			break;
		}
		update_irq_locked();
	}
	return v;
}

void Uart16550::write(std::uint16_t port, std::uint8_t, std::uint32_t value)
{
	std::uint8_t off = static_cast<std::uint8_t>(port - base_);
	std::uint8_t v = static_cast<std::uint8_t>(value);
	bool emit = false;
	{
		std::lock_guard<std::mutex> g(mu_);
		switch (off) {
		case THR:
			if (lcr_ & LCR_DLAB) {
				dll_ = v;
			} else {
				if (mcr_ & MCR_LOOP)
					rx_push_locked(v);
				else
					emit = true;
				/*
				 * Writing THR clears a pending THRE interrupt (the line
				 * drops if nothing else holds it up); the byte is sent at
				 * once, THR is empty again, and THRE is pending again: a
				 * new edge.
				 */
				thri_pending_ = false;
				update_irq_locked();
				thri_pending_ = true;
			}
			break;
		case IER:
			if (lcr_ & LCR_DLAB) {
				dlm_ = v;
			} else {
				/* Enabling the THRE interrupt while THR is empty raises it. */
				if ((v & IER_THRI) && !(ier_ & IER_THRI))
					thri_pending_ = true;
				ier_ = v & 0x0f;
			}
			break;
		case FCR:
			fcr_ = v & 0xc9;
			if (v & 0x02) /* clear the receive FIFO */
				rx_.clear();
			break;
		case LCR:
			lcr_ = v;
			break;
		case MCR:
			mcr_ = v & 0x1f;
			break;
		case SCR:
			scr_ = v;
			break;
		default: /* LSR, MSR: read-only */
			break;
		}
		update_irq_locked();
	}
	if (emit && out_)
		out_(v);
}

/* ------------------------------------------------------------------ system control */

std::uint32_t SystemControl::read(std::uint16_t port, std::uint8_t)
{
	std::lock_guard<std::mutex> g(mu_);
	if (port == reset_port)
		return cf9_;
	if (port == pm1a_cnt_port)
		return pm1a_;
	return 0xffffffff;
}

void SystemControl::write(std::uint16_t port, std::uint8_t, std::uint32_t v)
{
	std::optional<Event> ev;
	{
		std::lock_guard<std::mutex> g(mu_);
		if (port == reset_port) {
			cf9_ = v & 0x0e;
			if (v & 0x04)
				ev = Event::Reset;
		} else if (port == kbc_port) {
			if ((v & 0xff) == 0xfe)
				ev = Event::Reset;
		} else if (port == pm1a_cnt_port) {
			pm1a_ = static_cast<std::uint16_t>(v & ~(1u << 13));
			if (v & (1u << 13))
				ev = Event::PowerOff;
		}
	}
	if (ev)
		on_event_(*ev);
}

/* ------------------------------------------------------------------ CMOS */

namespace
{
std::uint8_t bcd(int v)
{
	return static_cast<std::uint8_t>(((v / 10) << 4) | (v % 10));
}
} // namespace

std::uint32_t CmosRtc::read(std::uint16_t port, std::uint8_t)
{
	std::lock_guard<std::mutex> g(mu_);
	if (port == 0x70)
		return 0xff;
	std::time_t t = now_ ? now_() : std::time(nullptr);
	std::tm tm{};
	gmtime_r(&t, &tm);
	switch (index_) {
	case 0x00:
		return bcd(tm.tm_sec);
	case 0x02:
		return bcd(tm.tm_min);
	case 0x04:
		return bcd(tm.tm_hour);
	case 0x06:
		return bcd(tm.tm_wday + 1);
	case 0x07:
		return bcd(tm.tm_mday);
	case 0x08:
		return bcd(tm.tm_mon + 1);
	case 0x09:
		return bcd(tm.tm_year % 100);
	case 0x32:
		return bcd(19 + tm.tm_year / 100);
	case 0x0a:
		return 0x26; /* 32.768 kHz time base, no update in progress */
	case 0x0b:
		return 0x02; /* 24-hour, BCD, no interrupts */
	case 0x0c:
		return 0x00;
	case 0x0d:
		return 0x80; /* valid RAM and time */
	default:
		return ram_[index_ & 0x7f];
	}
}

void CmosRtc::write(std::uint16_t port, std::uint8_t, std::uint32_t v)
{
	std::lock_guard<std::mutex> g(mu_);
	if (port == 0x70)
		index_ = v & 0x7f; /* bit 7 is the NMI mask */
	else if (index_ >= 0x0e)
		ram_[index_] = static_cast<std::uint8_t>(v);
}

void add_system_ports(IoBus &bus, std::function<void(SystemControl::Event)> on_event)
{
	auto sysctl = std::make_shared<SystemControl>(std::move(on_event));
	bus.add(SystemControl::reset_port, 1, sysctl);
	bus.add(SystemControl::kbc_port, 1, sysctl);
	bus.add(SystemControl::pm1a_cnt_port, 2, sysctl);
	bus.add(0x70, 2, std::make_shared<CmosRtc>());
	bus.add(0x80, 1, std::make_shared<SinkPort>());
}

} // namespace vrun

// SPDX-License-Identifier: GPL-2.0
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "devices.hpp"

using namespace vrun;

namespace
{
struct UartFixture : testing::Test {
	std::string out;
	std::vector<bool> irqs;
	Uart16550 u{0x3f8, [this](std::uint8_t b) { out += static_cast<char>(b); },
		    [this](bool l) { irqs.push_back(l); }};
	std::uint8_t in(std::uint8_t off)
	{
		return static_cast<std::uint8_t>(u.read(0x3f8 + off, 1));
	}
	void outb(std::uint8_t off, std::uint8_t v) { u.write(0x3f8 + off, 1, v); }
};

/* Drive an IoBus with a fake run page's I/O data. */
struct FakeIo {
	std::uint8_t data[16] = {};
	vapicvm::IoIn in(std::uint16_t port, std::uint8_t size)
	{
		std::memset(data, 0, sizeof(data));
		return vapicvm::IoIn{{port, size, 1}, std::span<std::uint8_t>(data, size)};
	}
	vapicvm::IoOut out(std::uint16_t port, std::uint8_t size, std::uint32_t v)
	{
		std::memset(data, 0, sizeof(data));
		std::memcpy(data, &v, size);
		return vapicvm::IoOut{{port, size, 1}, std::span<const std::uint8_t>(data, size)};
	}
};
} // namespace

TEST_F(UartFixture, PolledTransmit)
{
	EXPECT_EQ(Uart16550::LSR_THRE | Uart16550::LSR_TEMT, in(Uart16550::LSR));
	for (char c : std::string("hi\n"))
		outb(Uart16550::THR, static_cast<std::uint8_t>(c));
	EXPECT_EQ("hi\n", out);
	EXPECT_TRUE(irqs.empty()) << "no interrupt without IER and OUT2";
}

TEST_F(UartFixture, ScratchAndDivisorLatch)
{
	outb(Uart16550::SCR, 0xa5);
	EXPECT_EQ(0xa5, in(Uart16550::SCR));
	outb(Uart16550::LCR, Uart16550::LCR_DLAB | 3);
	outb(Uart16550::DLL, 1);
	outb(Uart16550::DLM, 0);
	EXPECT_EQ(1, in(Uart16550::DLL));
	EXPECT_EQ(0, in(Uart16550::DLM));
	outb(Uart16550::LCR, 3);
	outb(Uart16550::THR, 'x'); /* with DLAB clear: data again */
	EXPECT_EQ("x", out);
	EXPECT_EQ(3, in(Uart16550::LCR));
}

TEST_F(UartFixture, ReceiveAndLsr)
{
	EXPECT_EQ(0, in(Uart16550::LSR)&Uart16550::LSR_DR);
	u.receive('a');
	u.receive('b');
	EXPECT_TRUE(in(Uart16550::LSR)&Uart16550::LSR_DR);
	EXPECT_EQ('a', in(Uart16550::RBR));
	EXPECT_EQ('b', in(Uart16550::RBR));
	EXPECT_EQ(0, in(Uart16550::LSR)&Uart16550::LSR_DR);
	u.receive('c');
	outb(Uart16550::FCR, 0x03); /* enable and clear the receive FIFO */
	EXPECT_EQ(0, in(Uart16550::LSR)&Uart16550::LSR_DR);
}

TEST_F(UartFixture, InterruptIdentification)
{
	EXPECT_EQ(Uart16550::IIR_NO_INT, in(Uart16550::IIR));
	outb(Uart16550::FCR, 1);
	EXPECT_EQ(0xc1, in(Uart16550::IIR)) << "16550A: FIFO bits";
	outb(Uart16550::MCR, Uart16550::MCR_OUT2);
	/* Enabling the THRE interrupt with THR empty raises it... */
	outb(Uart16550::IER, Uart16550::IER_THRI);
	ASSERT_EQ(1u, irqs.size());
	EXPECT_TRUE(irqs.back());
	EXPECT_EQ(0xc2, in(Uart16550::IIR));
	/* ...and reading IIR clears it. */
	EXPECT_FALSE(irqs.back());
	EXPECT_EQ(0xc1, in(Uart16550::IIR));
	/* A transmitted byte empties THR again. */
	outb(Uart16550::THR, 'z');
	EXPECT_TRUE(irqs.back());
	EXPECT_EQ(0xc2, in(Uart16550::IIR));
	/* Received data outranks THRE. */
	outb(Uart16550::IER, Uart16550::IER_RDI | Uart16550::IER_THRI);
	u.receive('q');
	EXPECT_EQ(0xc4, in(Uart16550::IIR));
	EXPECT_TRUE(irqs.back());
	EXPECT_EQ('q', in(Uart16550::RBR));
	/* Toggling ETBEI re-asserts THRE (Linux's THRE test must pass). */
	outb(Uart16550::IER, 0);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_EQ(0xc2, in(Uart16550::IIR));
	outb(Uart16550::IER, 0);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_EQ(0xc2, in(Uart16550::IIR));
	/* OUT2 clear: no line to the interrupt controller. */
	outb(Uart16550::IER, 0);
	outb(Uart16550::MCR, 0);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_FALSE(u.irq_level());
}

TEST_F(UartFixture, ThreInterruptAsLinuxStartupTestsIt)
{
	/* serial8250_do_startup's THRE test, OUT2 clear: IIR says THRE both times. */
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_EQ(Uart16550::IIR_THRI, in(Uart16550::IIR));
	outb(Uart16550::IER, 0);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_EQ(Uart16550::IIR_THRI, in(Uart16550::IIR));
	outb(Uart16550::IER, 0);
	EXPECT_TRUE(irqs.empty()) << "OUT2 clear: the line stays low";
	/* Its "quick test" with OUT2 set: THRE raises the line, reading IIR drops it. */
	outb(Uart16550::MCR, Uart16550::MCR_OUT2 | Uart16550::MCR_DTR | Uart16550::MCR_RTS);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	EXPECT_EQ(std::vector<bool>{true}, irqs);
	EXPECT_TRUE(in(Uart16550::LSR)&Uart16550::LSR_TEMT);
	EXPECT_EQ(Uart16550::IIR_THRI, in(Uart16550::IIR));
	outb(Uart16550::IER, 0);
	EXPECT_EQ((std::vector<bool>{true, false}), irqs);
}

TEST_F(UartFixture, EachTransmittedByteIsANewThreEdge)
{
	outb(Uart16550::MCR, Uart16550::MCR_OUT2);
	outb(Uart16550::IER, Uart16550::IER_THRI);
	ASSERT_EQ(std::vector<bool>{true}, irqs);
	/* THRE pending and not acknowledged: writing THR clears it, sending makes it pending. */
	outb(Uart16550::THR, 'a');
	EXPECT_EQ((std::vector<bool>{true, false, true}), irqs);
	/* Acknowledged through IIR: the write raises the line again. */
	EXPECT_EQ(Uart16550::IIR_THRI, in(Uart16550::IIR));
	outb(Uart16550::THR, 'b');
	EXPECT_EQ((std::vector<bool>{true, false, true, false, true}), irqs);
	EXPECT_EQ("ab", out);
	/* Received data holds the line up: no edge for THRE then. */
	outb(Uart16550::IER, Uart16550::IER_THRI | Uart16550::IER_RDI);
	u.receive('x');
	irqs.clear();
	outb(Uart16550::THR, 'c');
	EXPECT_TRUE(irqs.empty());
	EXPECT_EQ(Uart16550::IIR_RDI, in(Uart16550::IIR));
	EXPECT_EQ(Uart16550::IIR_RDI, in(Uart16550::IIR)) << "reading IIR leaves RDI";
	EXPECT_EQ('x', in(Uart16550::RBR));
	EXPECT_EQ(Uart16550::IIR_THRI, in(Uart16550::IIR)) << "THRE still pending under RDI";
	EXPECT_EQ(Uart16550::IIR_NO_INT, in(Uart16550::IIR));
	EXPECT_FALSE(u.irq_level());
	/* The polled console: IER 0 while writing, no line activity. */
	outb(Uart16550::IER, 0);
	irqs.clear();
	for (char c : std::string("polled"))
		outb(Uart16550::THR, static_cast<std::uint8_t>(c));
	EXPECT_TRUE(irqs.empty());
}

TEST_F(UartFixture, ReceivedDataInterrupts)
{
	outb(Uart16550::FCR, 0x07);
	outb(Uart16550::MCR, Uart16550::MCR_OUT2);
	outb(Uart16550::IER, Uart16550::IER_RDI | Uart16550::IER_RLSI);
	EXPECT_TRUE(irqs.empty());
	u.receive('h');
	u.receive('i');
	EXPECT_EQ(std::vector<bool>{true}, irqs) << "one rise for the first byte";
	EXPECT_EQ(0xc4, in(Uart16550::IIR));
	/* Linux's receive loop: RBR while LSR.DR. */
	std::string got;
	while (in(Uart16550::LSR)&Uart16550::LSR_DR)
		got += static_cast<char>(in(Uart16550::RBR));
	EXPECT_EQ("hi", got);
	EXPECT_EQ((std::vector<bool>{true, false}), irqs);
	EXPECT_EQ(0xc1, in(Uart16550::IIR));
	u.receive('!');
	EXPECT_EQ((std::vector<bool>{true, false, true}), irqs) << "a new edge";
	/* IER.RDI clear: data waits without an interrupt. */
	outb(Uart16550::IER, 0);
	EXPECT_FALSE(irqs.back());
	EXPECT_EQ('!', in(Uart16550::RBR));
}

/*
 * Host input and the guest's vCPUs reach the UART at once: whatever the
 * interleaving, the interrupt controller sees the line alternate and ends
 * where the UART's line is.
 */
TEST(Uart, LineChangesReachTheControllerInOrder)
{
	std::vector<bool> seen; /* appended with the UART's lock held */
	Uart16550 u(0x3f8, {}, [&](bool l) {
		std::this_thread::yield(); /* as slow as an ioctl: let the other thread run */
		seen.push_back(l);
	});
	u.write(0x3f8 + Uart16550::MCR, 1, Uart16550::MCR_OUT2);
	u.write(0x3f8 + Uart16550::IER, 1, Uart16550::IER_RDI);
	std::thread host([&] {
		for (int i = 0; i < 20000; i++)
			u.receive(static_cast<std::uint8_t>(i));
	});
	std::thread guest([&] {
		for (int i = 0; i < 20000; i++)
			(void)u.read(0x3f8 + Uart16550::RBR, 1);
	});
	host.join();
	guest.join();
	ASSERT_FALSE(seen.empty());
	for (std::size_t i = 1; i < seen.size(); i++)
		ASSERT_NE(seen[i - 1], seen[i]) << "change " << i << " repeats the level";
	EXPECT_EQ(u.irq_level(), seen.back());
}

/* COM1 on pin 4 of the library's I/O APIC, as vapicvm-run wires them. */
struct UartOnIoApic : testing::Test {
	std::vector<vapicvm::Msi> sent;
	vapicvm::vmm::IoApic io{[this](const vapicvm::Msi &m) { sent.push_back(m); }, 2};
	IoBus bus;
	std::string out;
	std::shared_ptr<Uart16550> uart = std::make_shared<Uart16550>(
		0x3f8, [this](std::uint8_t b) { out += static_cast<char>(b); },
		[this](bool l) { io.set_line(4, l); });
	FakeIo fio;

	UartOnIoApic()
	{
		bus.add(0x3f8, 8, uart);
		bus.add_mmio(0xfec00000, vapicvm::vmm::IoApic::mmio_size,
			     std::make_shared<IoApicMmio>(io));
	}
	std::uint32_t mmio_read(std::uint64_t gpa)
	{
		std::uint8_t d[4] = {};
		bus.handle_mmio(vapicvm::MmioRead{gpa, std::span<std::uint8_t>(d, 4)});
		std::uint32_t v;
		std::memcpy(&v, d, 4);
		return v;
	}
	void mmio_write(std::uint64_t gpa, std::uint32_t v)
	{
		std::uint8_t d[4];
		std::memcpy(d, &v, 4);
		bus.handle_mmio(vapicvm::MmioWrite{gpa, std::span<const std::uint8_t>(d, 4)});
	}
	std::uint8_t inb(std::uint16_t port)
	{
		auto io_in = fio.in(port, 1);
		bus.handle_io(io_in);
		return fio.data[0];
	}
	void outb(std::uint16_t port, std::uint8_t v) { bus.handle_io(fio.out(port, 1, v)); }
	/* serial8250_interrupt's loop: handle until IIR says no interrupt. */
	void linux_handler()
	{
		for (int pass = 0; pass < 512; pass++) {
			std::uint8_t iir = inb(0x3fa);
			if (iir & Uart16550::IIR_NO_INT)
				return;
			while (inb(0x3fd) & Uart16550::LSR_DR)
				received += static_cast<char>(inb(0x3f8));
			if ((inb(0x3fd) & Uart16550::LSR_THRE) && (ier & Uart16550::IER_THRI)) {
				for (int n = 0; n < 16 && !tx.empty(); n++) {
					outb(0x3f8, static_cast<std::uint8_t>(tx.front()));
					tx.erase(0, 1);
				}
				if (tx.empty()) { /* __stop_tx */
					ier &= ~Uart16550::IER_THRI;
					outb(0x3f9, ier);
				}
			}
		}
		ADD_FAILURE() << "the handler never saw IIR clear";
	}
	std::uint8_t ier = 0;
	std::string tx, received;
};

TEST_F(UartOnIoApic, IsaIrq4DrivesPin4)
{
	/* Linux: pin 4 edge, active high, vector 0x24, to APIC ID 1. */
	mmio_write(0xfec00000, 0x10 + 2 * 4 + 1);
	mmio_write(0xfec00010, 1u << 24);
	mmio_write(0xfec00000, 0x10 + 2 * 4);
	mmio_write(0xfec00010, 0x24);
	EXPECT_EQ(0x24u, mmio_read(0xfec00010));
	mmio_write(0xfec00000, 0x01);
	EXPECT_EQ(0x170020u, mmio_read(0xfec00010)) << "24 pins, version 0x20";
	mmio_write(0xfec00000, 0x00);
	EXPECT_EQ(2u << 24, mmio_read(0xfec00010)) << "ID";

	/* serial8250_do_startup: OUT2, then IER = RLSI | RDI. */
	outb(0x3fc, Uart16550::MCR_OUT2 | Uart16550::MCR_DTR | Uart16550::MCR_RTS);
	ier = Uart16550::IER_RLSI | Uart16550::IER_RDI;
	outb(0x3f9, ier);
	EXPECT_TRUE(sent.empty());

	/* A tty write: start_tx sets IER.THRI, the interrupt sends the text. */
	tx = "a line through the tty, longer than the sixteen-byte FIFO\n";
	const std::string text = tx;
	ier |= Uart16550::IER_THRI;
	outb(0x3f9, ier);
	ASSERT_EQ(1u, sent.size());
	EXPECT_EQ(0xfee01000u, sent[0].address_lo) << "APIC ID 1";
	EXPECT_EQ(0x24u, sent[0].data & 0xff);
	EXPECT_EQ(0u, sent[0].data & (1u << 15)) << "edge";
	for (int irq = 0; irq < 32 && !tx.empty(); irq++)
		linux_handler();
	EXPECT_EQ(text, out);
	EXPECT_EQ(0, ier & Uart16550::IER_THRI);
	EXPECT_FALSE(uart->irq_level());
	EXPECT_FALSE(io.line(4));
	const auto after_tx = io.delivered(4);
	EXPECT_EQ(sent.size(), after_tx);

	/* Host input: one message, the handler reads it all, the line drops. */
	for (char c : std::string("ls\r"))
		uart->receive(static_cast<std::uint8_t>(c));
	EXPECT_EQ(after_tx + 1, io.delivered(4));
	linux_handler();
	EXPECT_EQ("ls\r", received);
	EXPECT_FALSE(io.line(4));
	uart->receive('x');
	EXPECT_EQ(after_tx + 2, io.delivered(4)) << "the next byte is a new edge";

	/* Masked (free_irq): nothing is sent. */
	linux_handler();
	mmio_write(0xfec00000, 0x10 + 2 * 4);
	mmio_write(0xfec00010, 0x24 | vapicvm::vmm::IoApic::masked);
	uart->receive('y');
	EXPECT_EQ(after_tx + 2, io.delivered(4));
}

TEST_F(UartOnIoApic, OnlyAlignedDwordsReachTheRegisters)
{
	mmio_write(0xfec00000, 0x01);
	std::uint8_t b[8] = {};
	bus.handle_mmio(vapicvm::MmioRead{0xfec00010, std::span<std::uint8_t>(b, 1)});
	EXPECT_EQ(0, b[0]) << "a byte read";
	bus.handle_mmio(vapicvm::MmioRead{0xfec00012, std::span<std::uint8_t>(b, 4)});
	EXPECT_EQ(0, b[0] | b[1] | b[2] | b[3]) << "unaligned";
	const std::uint8_t w[1] = {0x00};
	bus.handle_mmio(vapicvm::MmioWrite{0xfec00000, std::span<const std::uint8_t>(w, 1)});
	EXPECT_EQ(0x01u, mmio_read(0xfec00000)) << "a byte write changes nothing";
	EXPECT_EQ(0u, bus.unknown_mmio()) << "the window is claimed";
	EXPECT_NE(nullptr, bus.find_mmio(0xfec00fff));
	EXPECT_EQ(nullptr, bus.find_mmio(0xfec01000));
	EXPECT_EQ(nullptr, bus.find_mmio(0xfebfffff));
	EXPECT_EQ(~0u, mmio_read(0xfec01000)) << "past the window: unclaimed";
	EXPECT_EQ(1u, bus.unknown_mmio());
}

TEST_F(UartFixture, LoopbackAsLinuxProbesIt)
{
	/* serial8250's autoconfig: MCR = LOOP | 0x0a, then MSR & 0xf0 must be 0x90. */
	outb(Uart16550::MCR, Uart16550::MCR_LOOP | 0x0a);
	EXPECT_EQ(0x90, in(Uart16550::MSR)&0xf0);
	outb(Uart16550::THR, 'L');
	EXPECT_EQ("", out) << "looped back, not sent";
	EXPECT_EQ('L', in(Uart16550::RBR));
	outb(Uart16550::MCR, 0);
	EXPECT_EQ(0xb0, in(Uart16550::MSR));
}

TEST(DebugExit, StatusIsValueShiftedOrOne)
{
	int status = -1;
	DebugExit d([&](int s) { status = s; });
	d.write(0xf4, 1, 0);
	EXPECT_EQ(1, status);
	d.write(0xf4, 1, 0x10);
	EXPECT_EQ(0x21, status);
	EXPECT_EQ(3, DebugExit::status_for(1));
}

TEST(SystemControl, ResetAndPowerOff)
{
	std::vector<SystemControl::Event> ev;
	SystemControl s([&](SystemControl::Event e) { ev.push_back(e); });
	s.write(0xcf9, 1, 0x02); /* hard reset selected, not triggered */
	EXPECT_TRUE(ev.empty());
	EXPECT_EQ(0x02u, s.read(0xcf9, 1));
	s.write(0xcf9, 1, 0x06);
	ASSERT_EQ(1u, ev.size());
	EXPECT_EQ(SystemControl::Event::Reset, ev[0]);
	s.write(0x64, 1, 0xd1); /* another keyboard-controller command */
	EXPECT_EQ(1u, ev.size());
	s.write(0x64, 1, 0xfe);
	EXPECT_EQ(SystemControl::Event::Reset, ev.back());
	EXPECT_EQ(0xffu, s.read(0x64, 1) & 0xff);
	s.write(0x604, 2, 5 << 10); /* SLP_TYP without SLP_EN */
	EXPECT_EQ(2u, ev.size());
	s.write(0x604, 2, (5 << 10) | (1 << 13));
	ASSERT_EQ(3u, ev.size());
	EXPECT_EQ(SystemControl::Event::PowerOff, ev.back());
}

TEST(CmosRtc, TimeInBcdAndValidFlags)
{
	/* 2024-02-29 13:45:07 UTC, a Thursday. */
	CmosRtc rtc([] { return std::time_t(1709214307); });
	auto reg = [&](std::uint8_t i) {
		rtc.write(0x70, 1, i | 0x80); /* NMI-disable bit ignored */
		return rtc.read(0x71, 1);
	};
	EXPECT_EQ(0x07u, reg(0x00));
	EXPECT_EQ(0x45u, reg(0x02));
	EXPECT_EQ(0x13u, reg(0x04));
	EXPECT_EQ(0x05u, reg(0x06));
	EXPECT_EQ(0x29u, reg(0x07));
	EXPECT_EQ(0x02u, reg(0x08));
	EXPECT_EQ(0x24u, reg(0x09));
	EXPECT_EQ(0x20u, reg(0x32));
	EXPECT_EQ(0u, reg(0x0a) & 0x80) << "no update in progress";
	EXPECT_EQ(0x80u, reg(0x0d)) << "valid RAM and time";
	rtc.write(0x70, 1, 0x40);
	rtc.write(0x71, 1, 0x99);
	EXPECT_EQ(0x99u, reg(0x40));
}

TEST(IoBus, DispatchAndUnknownPortsReportedOnce)
{
	std::vector<std::string> logs;
	IoBus bus([&](const std::string &s) { logs.push_back(s); });
	std::string out;
	auto uart = std::make_shared<Uart16550>(0x3f8, [&](std::uint8_t b) { out += char(b); });
	bus.add(0x3f8, 8, uart);
	bus.add(0x80, 1, std::make_shared<SinkPort>());
	EXPECT_EQ(uart.get(), bus.find(0x3ff));
	EXPECT_EQ(nullptr, bus.find(0x400));
	EXPECT_EQ(nullptr, bus.find(0x3f7));

	FakeIo io;
	bus.handle_io(io.out(0x3f8, 1, 'A'));
	EXPECT_EQ("A", out);
	auto lsr = io.in(0x3fd, 1);
	bus.handle_io(lsr);
	EXPECT_EQ(0x60, io.data[0]);

	auto unk = io.in(0x61, 2);
	bus.handle_io(unk);
	EXPECT_EQ(0xff, io.data[0]);
	EXPECT_EQ(0xff, io.data[1]);
	EXPECT_EQ(0, io.data[2]) << "only size bytes written";
	bus.handle_io(io.out(0x61, 1, 3));
	bus.handle_io(io.in(0x61, 1));
	bus.handle_io(io.out(0x80, 1, 0x12)); /* claimed: silent */
	EXPECT_EQ(1u, logs.size()) << "port 0x61 reported once";
	EXPECT_NE(std::string::npos, logs[0].find("0x61"));
	EXPECT_EQ(1u, bus.unknown_ports());

	std::uint8_t m[8] = {};
	vapicvm::MmioRead mm{0xfed00000, std::span<std::uint8_t>(m, 4)};
	bus.handle_mmio(mm);
	EXPECT_EQ(0xff, m[3]);
	EXPECT_EQ(0, m[4]);
	bus.handle_mmio(mm);
	EXPECT_EQ(2u, logs.size());
	EXPECT_EQ(1u, bus.unknown_mmio());
	const std::uint8_t w[2] = {0x34, 0x12};
	bus.handle_mmio(vapicvm::MmioWrite{0xfed00010, std::span<const std::uint8_t>(w, 2)});
	ASSERT_EQ(3u, logs.size());
	EXPECT_NE(std::string::npos, logs[2].find("0x1234")) << logs[2];
}

/* REP OUTSB and REP INSB: one device access per element. */
TEST(IoBus, RepeatedAccesses)
{
	IoBus bus;
	std::string out;
	bus.add(0x3f8, 8,
		std::make_shared<Uart16550>(0x3f8, [&](std::uint8_t b) { out += char(b); }));
	const std::uint8_t text[3] = {'a', 'b', 'c'};
	bus.handle_io(vapicvm::IoOut{{0x3f8, 1, 3}, std::span<const std::uint8_t>(text, 3)});
	EXPECT_EQ("abc", out);
	std::uint8_t in[3] = {};
	bus.handle_io(vapicvm::IoIn{{0x3fd, 1, 3}, std::span<std::uint8_t>(in, 3)});
	EXPECT_EQ(0x60, in[0]) << "LSR: transmitter empty";
	EXPECT_EQ(0x60, in[2]);
}

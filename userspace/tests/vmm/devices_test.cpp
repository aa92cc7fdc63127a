// SPDX-License-Identifier: GPL-2.0
#include <cstring>
#include <string>
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

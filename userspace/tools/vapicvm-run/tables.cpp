// SPDX-License-Identifier: GPL-2.0
#include <cstring>

#include "tables.hpp"

namespace vrun
{

std::uint8_t checksum_fix(const std::uint8_t *p, std::size_t n)
{
	std::uint8_t s = 0;
	for (std::size_t i = 0; i < n; i++)
		s = static_cast<std::uint8_t>(s + p[i]);
	return static_cast<std::uint8_t>(-s);
}

namespace
{
void put8(std::vector<std::uint8_t> &v, std::uint8_t x)
{
	v.push_back(x);
}
void put16(std::vector<std::uint8_t> &v, std::uint16_t x)
{
	put8(v, x & 0xff);
	put8(v, x >> 8);
}
void put32(std::vector<std::uint8_t> &v, std::uint32_t x)
{
	put16(v, x & 0xffff);
	put16(v, x >> 16);
}
void puts(std::vector<std::uint8_t> &v, const char *s, std::size_t n)
{
	for (std::size_t i = 0; i < n; i++)
		put8(v, static_cast<std::uint8_t>(s[i]));
}
} // namespace

std::vector<std::uint8_t> build_mptable(std::uint32_t base, unsigned ncpus, MpTableCpu cpu,
					std::optional<MpTableIoApic> ioapic)
{
	std::vector<std::uint8_t> v;
	const std::uint32_t config = base + 16;

	/* Floating pointer structure. */
	puts(v, "_MP_", 4);
	put32(v, config);
	put8(v, 1); /* length in 16-byte units */
	put8(v, 4); /* spec revision 1.4 */
	put8(v, 0); /* checksum */
	put8(v, 0); /* feature 1: a configuration table is present */
	put8(v, 0); /* feature 2: bit 7 clear = virtual wire mode, no IMCR */
	put8(v, 0);
	put8(v, 0);
	put8(v, 0);
	v[10] = checksum_fix(v.data(), 16);

	/* Configuration table header. */
	std::size_t h = v.size();
	puts(v, "PCMP", 4);
	put16(v, 0); /* base table length, below */
	put8(v, 4);
	put8(v, 0); /* checksum */
	puts(v, "VAPICVM ", 8);
	puts(v, "VAPICVM-RUN ", 12);
	put32(v, 0); /* OEM table */
	put16(v, 0);
	put16(v, 0); /* entry count, below */
	put32(v, 0xfee00000u);
	put16(v, 0); /* extended table */
	put8(v, 0);
	put8(v, 0);

	std::uint16_t entries = 0;
	for (unsigned i = 0; i < ncpus; i++) {
		put8(v, 0); /* processor */
		put8(v, static_cast<std::uint8_t>(i));
		put8(v, 0x14); /* local APIC version */
		put8(v, static_cast<std::uint8_t>(0x01 | (i == 0 ? 0x02 : 0))); /* EN, BP */
		put32(v, cpu.signature);
		put32(v, cpu.feature_flags);
		put32(v, 0);
		put32(v, 0);
		entries++;
	}
	put8(v, 1); /* bus */
	put8(v, 0);
	puts(v, "ISA   ", 6);
	entries++;
	if (ioapic) {
		put8(v, 2); /* I/O APIC */
		put8(v, ioapic->id);
		put8(v, 0x20); /* version */
		put8(v, 0x01); /* EN */
		put32(v, ioapic->address);
		entries++;
		/* ISA IRQ n on pin n: INT, conforming polarity and trigger (ISA: edge, high). */
		for (std::uint8_t irq = 0; irq < 16; irq++) {
			if (!mptable_isa_irq_routed(irq))
				continue;
			put8(v, 3);
			put8(v, 0); /* INT */
			put16(v, 0);
			put8(v, 0); /* source bus: ISA */
			put8(v, irq);
			put8(v, ioapic->id);
			put8(v, irq); /* INTIN# */
			entries++;
		}
	}
	/* Local interrupt assignments: LINT0 ExtINT, LINT1 NMI, on every local APIC. */
	for (std::uint8_t lint = 0; lint < 2; lint++) {
		put8(v, 4);
		put8(v, lint == 0 ? 3 : 1);
		put16(v, 0);
		put8(v, 0);
		put8(v, 0);
		put8(v, 0xff);
		put8(v, lint);
		entries++;
	}

	std::uint16_t len = static_cast<std::uint16_t>(v.size() - h);
	std::memcpy(&v[h + 4], &len, 2);
	std::memcpy(&v[h + 34], &entries, 2);
	v[h + 7] = checksum_fix(v.data() + h, len);
	return v;
}

} // namespace vrun

// SPDX-License-Identifier: GPL-2.0
/*
 * Firmware tables that tell a guest where its local APICs and its I/O APIC
 * are, and how the ISA interrupts reach the I/O APIC.
 *
 * vapicvm-run builds an Intel MultiProcessor Specification 1.4 table (a
 * floating pointer and a configuration table in the BIOS area at 0xf0000),
 * its entries in the order the specification asks for:
 *   - one processor per vCPU (APIC ID = vCPU index, vCPU 0 the BSP);
 *   - an ISA bus (bus 0);
 *   - the I/O APIC, when the machine has one (ID = the vCPU count, so that
 *     it is no CPU's, version 0x20, enabled, usually at 0xfec00000);
 *   - with it, an I/O interrupt entry (INT, ISA bus, conforming polarity
 *     and trigger: edge, active high) for ISA IRQs 1 and 3-15, each on the
 *     I/O APIC pin of the same number.  There is no PIT and no PIC, so
 *     IRQ 0 (pin 2 on a PC) and the cascade IRQ 2 have no entry, and no
 *     pin is ExtINT;
 *   - LINT0 = ExtINT and LINT1 = NMI local interrupt entries.
 * Linux finds it with or without ACPI; vapicvm-run gives no ACPI tables,
 * so Linux guests should run with acpi=off (the default command line says
 * so).  Without a PIC, Linux has no legacy IRQs (nr_legacy_irqs() is 0) and
 * takes ISA IRQ n as GSI n of the I/O APIC.
 */
#ifndef VAPICVM_RUN_TABLES_HPP
#define VAPICVM_RUN_TABLES_HPP

#include <cstdint>
#include <optional>
#include <vector>

namespace vrun
{

struct MpTableCpu {
	std::uint32_t signature = 0;     /* CPUID.1:EAX */
	std::uint32_t feature_flags = 0; /* CPUID.1:EDX */
};

struct MpTableIoApic {
	std::uint8_t id = 0;
	std::uint32_t address = 0xfec00000u;
};

/* The ISA IRQs the table routes to the I/O APIC: 1 and 3-15, pin = IRQ. */
constexpr bool mptable_isa_irq_routed(unsigned irq)
{
	return irq == 1 || (irq >= 3 && irq <= 15);
}

/*
 * The MP floating pointer (16 bytes at base) followed by the configuration
 * table, as bytes to copy to guest-physical base.  Without ioapic, the
 * table has no I/O APIC and no I/O interrupt entries.
 */
std::vector<std::uint8_t> build_mptable(std::uint32_t base, unsigned ncpus, MpTableCpu cpu,
					std::optional<MpTableIoApic> ioapic);

/* The byte sum that makes a table's checksum come out zero. */
std::uint8_t checksum_fix(const std::uint8_t *p, std::size_t n);

} // namespace vrun

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Firmware tables that tell a guest where its local APICs are.
 *
 * vapicvm-run builds an Intel MultiProcessor Specification 1.4 table (a
 * floating pointer and a configuration table in the BIOS area at 0xf0000):
 * one processor entry per vCPU (APIC ID = vCPU index, vCPU 0 the BSP), an
 * ISA bus, and LINT0 = ExtINT / LINT1 = NMI local interrupt entries.  There
 * is no I/O APIC.  Linux finds it with or without ACPI; vapicvm-run gives no
 * ACPI tables, so Linux guests should run with acpi=off (the default
 * command line says so).
 */
#ifndef VAPICVM_RUN_TABLES_HPP
#define VAPICVM_RUN_TABLES_HPP

#include <cstdint>
#include <vector>

namespace vrun
{

struct MpTableCpu {
	std::uint32_t signature = 0;     /* CPUID.1:EAX */
	std::uint32_t feature_flags = 0; /* CPUID.1:EDX */
};

/*
 * The MP floating pointer (16 bytes at base) followed by the configuration
 * table, as bytes to copy to guest-physical base.
 */
std::vector<std::uint8_t> build_mptable(std::uint32_t base, unsigned ncpus, MpTableCpu cpu);

/* The byte sum that makes a table's checksum come out zero. */
std::uint8_t checksum_fix(const std::uint8_t *p, std::size_t n);

} // namespace vrun

#endif

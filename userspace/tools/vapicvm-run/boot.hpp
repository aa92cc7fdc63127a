// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-physical layout of a vapicvm-run machine and the loaders that
 * fill it: a Linux bzImage (64-bit boot protocol), a multiboot v1 kernel
 * (as QEMU's -kernel loads one) and a flat binary.
 *
 *   0x00000000  real-mode IVT and BDA (zero)
 *   0x00000500  boot GDT (null, null, 0x10 code64, 0x18 data, 0x20 code32, 0x28 data16)
 *   0x00001000  page tables: PML4, PDPT, 4 PDs identity-mapping 0-4 GiB with 2 MiB pages
 *   0x00007000  Linux boot_params (the zero page)
 *   0x00008000  boot stack top (grows down)
 *   0x00009000  multiboot info, memory map, module list, loader name
 *   0x00020000  kernel command line (4 KiB)
 *   0x0009fc00  EBDA (e820 reserved) to 0xa0000; 0xa0000-0xf0000 is not RAM in e820
 *   0x000e0000  ACPI tables (reserved), 0x000f0000 MP table (reserved) to 1 MiB
 *   0x00100000  kernel
 *   ...         initrd at the top of low RAM
 *   lowmem_end  (at most 3 GiB) the 32-bit hole: I/O APIC at 0xfec00000 (vapicvm-run),
 *               local APIC at 0xfee00000
 *   4 GiB       RAM above lowmem_end, if any
 */
#ifndef VAPICVM_RUN_BOOT_HPP
#define VAPICVM_RUN_BOOT_HPP

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <vapicvm/result.hpp>
#include <vapicvm/vmm/guest_memory.hpp>

namespace vrun
{

using vapicvm::Result;
using vapicvm::vmm::GuestMemory;

namespace layout
{
constexpr std::uint64_t gdt = 0x500;
constexpr std::uint64_t pml4 = 0x1000;
constexpr std::uint64_t zero_page = 0x7000;
constexpr std::uint64_t stack_top = 0x8000;
constexpr std::uint64_t mb_info = 0x9000;
constexpr std::uint64_t cmdline = 0x20000;
constexpr std::uint64_t cmdline_max = 0x1000;
constexpr std::uint64_t ebda = 0x9fc00;
constexpr std::uint64_t legacy_hole = 0xa0000;
constexpr std::uint64_t acpi_tables = 0xe0000;
constexpr std::uint64_t mptable = 0xf0000;
constexpr std::uint64_t bios_end = 0x100000;
constexpr std::uint64_t kernel = 0x100000;
constexpr std::uint64_t max_lowmem = 0xc0000000ull; /* 3 GiB */
constexpr std::uint64_t ioapic_base = 0xfec00000ull;
constexpr std::uint64_t apic_base = 0xfee00000ull;
constexpr std::uint64_t high_base = 0x100000000ull;

/* GDT selectors. */
constexpr std::uint16_t sel_code64 = 0x10; /* __BOOT_CS of the Linux boot protocol */
constexpr std::uint16_t sel_data = 0x18;   /* __BOOT_DS */
constexpr std::uint16_t sel_code32 = 0x20;
} // namespace layout

/* How much RAM sits where. */
struct MemoryMap {
	std::uint64_t lowmem_end = 0;   /* RAM [0, lowmem_end) */
	std::uint64_t highmem_size = 0; /* RAM [4 GiB, 4 GiB + highmem_size) */

	static MemoryMap for_size(std::uint64_t bytes) noexcept;
	std::uint64_t total() const noexcept { return lowmem_end + highmem_size; }
};

enum class E820Type : std::uint32_t { Ram = 1, Reserved = 2, Acpi = 3 };

struct E820Entry {
	std::uint64_t addr;
	std::uint64_t size;
	E820Type type;
	bool operator==(const E820Entry &) const = default;
};

/*
 * The BIOS memory map: low RAM to the EBDA, the EBDA and 0xe0000-1 MiB
 * reserved (ACPI and MP tables live there), the 640K-1M hole otherwise
 * absent, RAM from 1 MiB to lowmem_end, the local APIC page reserved, and
 * RAM above 4 GiB.
 */
std::vector<E820Entry> e820_map(const MemoryMap &m);

enum class CpuMode { Real16, Protected32, Long64 };

/* How the boot vCPU starts. */
struct BootEntry {
	CpuMode mode = CpuMode::Long64;
	std::uint64_t rip = 0;
	std::uint64_t rsp = 0;
	std::uint64_t rsi = 0;     /* Linux: boot_params */
	std::uint64_t rax = 0;     /* multiboot: magic */
	std::uint64_t rbx = 0;     /* multiboot: info */
	std::uint16_t real_cs = 0; /* Real16: CS selector (base = selector << 4) */
	std::string description;
};

enum class KernelFormat { BzImage, Multiboot, Elf, Unknown };
KernelFormat detect_format(std::span<const std::uint8_t> image);
const char *format_name(KernelFormat f);

/* GDT and identity page tables for 32/64-bit entry (see the layout above). */
Result<void> write_boot_gdt(const GuestMemory &mem);
Result<void> write_identity_page_tables(const GuestMemory &mem);

struct LinuxBootInfo {
	std::uint16_t protocol = 0;
	std::uint64_t kernel_addr = 0;
	std::uint64_t kernel_size = 0;
	std::uint64_t init_size = 0;
	std::uint64_t initrd_addr = 0;
	std::uint64_t initrd_size = 0;
};

/*
 * Load a bzImage per the x86 boot protocol for its 64-bit entry point:
 * protected-mode kernel at 1 MiB, boot_params with the setup header, e820,
 * command line and initrd (placed as high as initrd_addr_max and low RAM
 * allow, above the kernel's init_size), GDT and identity page tables.
 */
Result<BootEntry> load_bzimage(const GuestMemory &mem, const MemoryMap &map,
			       std::span<const std::uint8_t> image,
			       std::span<const std::uint8_t> initrd, const std::string &cmdline,
			       std::uint64_t acpi_rsdp = 0, LinuxBootInfo *info = nullptr);

/*
 * Load a multiboot v1 kernel as QEMU's -kernel does: a 32-bit ELF (or the
 * header's a.out-kludge addresses), the initrd as module 0 (its string the
 * command line's "initrd"), the command line, memory sizes and the memory
 * map; 32-bit protected mode, paging off, EAX=0x2badb002, EBX=info.
 */
Result<BootEntry> load_multiboot(const GuestMemory &mem, const MemoryMap &map,
				 std::span<const std::uint8_t> image,
				 std::span<const std::uint8_t> initrd, const std::string &cmdline);

/*
 * A flat binary at addr.  mode unset: real mode if it ends below 1 MiB
 * (CS = addr >> 4, IP = addr & 15), otherwise 32-bit protected mode.
 */
Result<BootEntry> load_flat(const GuestMemory &mem, std::span<const std::uint8_t> image,
			    std::uint64_t addr, std::optional<CpuMode> mode = std::nullopt);

/* Offsets into boot_params / the setup header (Documentation/arch/x86/boot.rst). */
namespace bp
{
constexpr std::size_t acpi_rsdp_addr = 0x070;
constexpr std::size_t ext_ramdisk_image = 0x0c0;
constexpr std::size_t ext_ramdisk_size = 0x0c4;
constexpr std::size_t ext_cmd_line_ptr = 0x0c8;
constexpr std::size_t e820_entries = 0x1e8;
constexpr std::size_t setup_header = 0x1f1;
constexpr std::size_t setup_sects = 0x1f1;
constexpr std::size_t boot_flag = 0x1fe;
constexpr std::size_t jump = 0x200;
constexpr std::size_t header = 0x202;
constexpr std::size_t version = 0x206;
constexpr std::size_t type_of_loader = 0x210;
constexpr std::size_t loadflags = 0x211;
constexpr std::size_t code32_start = 0x214;
constexpr std::size_t ramdisk_image = 0x218;
constexpr std::size_t ramdisk_size = 0x21c;
constexpr std::size_t heap_end_ptr = 0x224;
constexpr std::size_t cmd_line_ptr = 0x228;
constexpr std::size_t initrd_addr_max = 0x22c;
constexpr std::size_t kernel_alignment = 0x230;
constexpr std::size_t relocatable_kernel = 0x234;
constexpr std::size_t xloadflags = 0x236;
constexpr std::size_t cmdline_size = 0x238;
constexpr std::size_t pref_address = 0x258;
constexpr std::size_t init_size = 0x260;
constexpr std::size_t e820_table = 0x2d0;
constexpr std::size_t e820_max = 128;

constexpr std::uint8_t LOADED_HIGH = 0x01;
constexpr std::uint8_t KEEP_SEGMENTS = 0x40;
constexpr std::uint8_t CAN_USE_HEAP = 0x80;
constexpr std::uint16_t XLF_KERNEL_64 = 0x01;
} // namespace bp

namespace mb
{
constexpr std::uint32_t header_magic = 0x1badb002;
constexpr std::uint32_t boot_magic = 0x2badb002;
constexpr std::uint32_t flag_aout_kludge = 1u << 16;
/* multiboot_info.flags */
constexpr std::uint32_t info_mem = 1u << 0;
constexpr std::uint32_t info_cmdline = 1u << 2;
constexpr std::uint32_t info_mods = 1u << 3;
constexpr std::uint32_t info_mmap = 1u << 6;
constexpr std::uint32_t info_loader_name = 1u << 9;
} // namespace mb

} // namespace vrun

#endif

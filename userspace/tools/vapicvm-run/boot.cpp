// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <cstring>

#include <elf.h>

#include "boot.hpp"

namespace vrun
{

using vapicvm::Error;
using vapicvm::ok;

namespace
{
template <typename T>
T get(std::span<const std::uint8_t> b, std::size_t off)
{
	T v{};
	if (off + sizeof(T) <= b.size())
		std::memcpy(&v, b.data() + off, sizeof(T));
	return v;
}

template <typename T>
void put(std::span<std::uint8_t> b, std::size_t off, T v)
{
	if (off + sizeof(T) <= b.size())
		std::memcpy(b.data() + off, &v, sizeof(T));
}

Error load_error(const char *what, std::string detail, int err = EINVAL)
{
	return Error::from_errno(err, what, std::move(detail));
}

std::string hex(std::uint64_t v)
{
	char buf[32];
	std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
	return buf;
}

Result<void> write_cmdline(const GuestMemory &mem, const std::string &cmdline, std::size_t max)
{
	if (cmdline.size() + 1 > max || cmdline.size() + 1 > layout::cmdline_max)
		return load_error("command line",
				  "longer than " + std::to_string(max - 1) + " bytes", E2BIG);
	auto r = mem.fill(layout::cmdline, 0, layout::cmdline_max);
	if (!r)
		return r;
	return mem.write(
		layout::cmdline,
		std::span(reinterpret_cast<const std::uint8_t *>(cmdline.data()), cmdline.size()));
}

/* The offset of a valid multiboot v1 header in the first 8 KiB, if any. */
std::optional<std::size_t> find_multiboot_header(std::span<const std::uint8_t> image)
{
	std::size_t end = std::min<std::size_t>(image.size(), 8192);
	for (std::size_t off = 0; off + 12 <= end; off += 4) {
		auto magic = get<std::uint32_t>(image, off);
		if (magic != mb::header_magic)
			continue;
		auto flags = get<std::uint32_t>(image, off + 4);
		auto sum = get<std::uint32_t>(image, off + 8);
		if (static_cast<std::uint32_t>(magic + flags + sum) == 0)
			return off;
	}
	return std::nullopt;
}
} // namespace

MemoryMap MemoryMap::for_size(std::uint64_t bytes) noexcept
{
	MemoryMap m;
	m.lowmem_end = std::min(bytes, layout::max_lowmem);
	m.highmem_size = bytes - m.lowmem_end;
	return m;
}

std::vector<E820Entry> e820_map(const MemoryMap &m)
{
	std::vector<E820Entry> e;
	e.push_back({0, layout::ebda, E820Type::Ram});
	e.push_back({layout::ebda, layout::legacy_hole - layout::ebda, E820Type::Reserved});
	e.push_back(
		{layout::acpi_tables, layout::bios_end - layout::acpi_tables, E820Type::Reserved});
	if (m.lowmem_end > layout::bios_end)
		e.push_back({layout::bios_end, m.lowmem_end - layout::bios_end, E820Type::Ram});
	e.push_back({layout::apic_base, 0x100000, E820Type::Reserved});
	if (m.highmem_size)
		e.push_back({layout::high_base, m.highmem_size, E820Type::Ram});
	return e;
}

KernelFormat detect_format(std::span<const std::uint8_t> image)
{
	if (image.size() > 0x300 && get<std::uint16_t>(image, bp::boot_flag) == 0xaa55 &&
	    std::memcmp(image.data() + bp::header, "HdrS", 4) == 0)
		return KernelFormat::BzImage;
	if (find_multiboot_header(image))
		return KernelFormat::Multiboot;
	if (image.size() >= 4 && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0)
		return KernelFormat::Elf;
	return KernelFormat::Unknown;
}

const char *format_name(KernelFormat f)
{
	switch (f) {
	case KernelFormat::BzImage:
		return "bzImage";
	case KernelFormat::Multiboot:
		return "multiboot";
	case KernelFormat::Elf:
		return "ELF (no multiboot header)";
	case KernelFormat::Unknown:
		break;
	}
	return "unknown";
}

Result<void> write_boot_gdt(const GuestMemory &mem)
{
	const std::uint64_t gdt[] = {
		0,
		0,
		0x00af9b000000ffffull, /* 0x10: 64-bit code */
		0x00cf93000000ffffull, /* 0x18: flat data */
		0x00cf9b000000ffffull, /* 0x20: 32-bit flat code */
		0x00009b000000ffffull, /* 0x28: 16-bit code */
	};
	return mem.write(layout::gdt,
			 std::span(reinterpret_cast<const std::uint8_t *>(gdt), sizeof(gdt)));
}

Result<void> write_identity_page_tables(const GuestMemory &mem)
{
	const std::uint64_t pdpt = layout::pml4 + 0x1000, pd = layout::pml4 + 0x2000;
	auto r = mem.fill(layout::pml4, 0, 6 * 0x1000);
	if (!r)
		return r;
	r = mem.write_obj<std::uint64_t>(layout::pml4, pdpt | 3);
	for (std::uint64_t i = 0; r && i < 4; i++) {
		r = mem.write_obj<std::uint64_t>(pdpt + 8 * i, (pd + 0x1000 * i) | 3);
		for (std::uint64_t j = 0; r && j < 512; j++)
			r = mem.write_obj<std::uint64_t>(pd + 0x1000 * i + 8 * j,
							 (i << 30) | (j << 21) | 0x83);
	}
	return r;
}

Result<BootEntry> load_bzimage(const GuestMemory &mem, const MemoryMap &map,
			       std::span<const std::uint8_t> image,
			       std::span<const std::uint8_t> initrd, const std::string &cmdline,
			       std::uint64_t acpi_rsdp, LinuxBootInfo *info)
{
	const char *op = "bzImage";
	if (detect_format(image) != KernelFormat::BzImage)
		return load_error(op, "no setup header (boot flag 0xaa55, \"HdrS\")");
	auto version = get<std::uint16_t>(image, bp::version);
	if (version < 0x20c)
		return load_error(op,
				  "boot protocol " + hex(version) +
					  " has no 64-bit entry point (needs 2.12+)",
				  ENOEXEC);
	if (!(get<std::uint16_t>(image, bp::xloadflags) & bp::XLF_KERNEL_64))
		return load_error(op, "kernel has no 64-bit entry point (XLF_KERNEL_64)", ENOEXEC);
	std::size_t setup_sects = image[bp::setup_sects] ? image[bp::setup_sects] : 4;
	std::size_t setup_size = (setup_sects + 1) * 512;
	if (setup_size >= image.size())
		return load_error(op, "truncated image");
	auto kernel = image.subspan(setup_size);
	const std::uint64_t kaddr = layout::kernel;
	std::uint64_t init_size = get<std::uint32_t>(image, bp::init_size);
	std::uint64_t pref = get<std::uint64_t>(image, bp::pref_address);
	if (init_size < kernel.size())
		init_size = kernel.size();
	/* Where the kernel decompresses and runs: keep the initrd above it. */
	std::uint64_t kernel_top = std::max(kaddr + init_size, pref + init_size);
	if (kernel_top > map.lowmem_end)
		return load_error(
			op, "needs RAM up to " + hex(kernel_top) + ", have " + hex(map.lowmem_end),
			ENOMEM);
	auto r = mem.write(kaddr, kernel);
	if (!r)
		return std::move(r).error();

	/* The zero page: the setup header as the image has it, then our fields. */
	auto zp = mem.span(layout::zero_page, 0x1000);
	if (zp.empty())
		return load_error(op, "zero page not in RAM", EFAULT);
	std::memset(zp.data(), 0, zp.size());
	std::size_t hdr_end = 0x202 + image[bp::jump + 1];
	hdr_end = std::min<std::size_t>(hdr_end, 0x1000);
	hdr_end = std::min(hdr_end, image.size());
	std::memcpy(zp.data() + bp::setup_header, image.data() + bp::setup_header,
		    hdr_end - bp::setup_header);
	put<std::uint8_t>(zp, bp::type_of_loader, 0xff);
	put<std::uint8_t>(zp, bp::loadflags,
			  static_cast<std::uint8_t>(zp[bp::loadflags] | bp::CAN_USE_HEAP));
	put<std::uint16_t>(zp, bp::heap_end_ptr, 0xfe00);
	put<std::uint32_t>(zp, bp::code32_start, static_cast<std::uint32_t>(kaddr));

	std::size_t cmdline_size = get<std::uint32_t>(image, bp::cmdline_size);
	if (cmdline_size == 0)
		cmdline_size = 255;
	r = write_cmdline(mem, cmdline, cmdline_size + 1);
	if (!r)
		return std::move(r).error();
	put<std::uint32_t>(zp, bp::cmd_line_ptr, static_cast<std::uint32_t>(layout::cmdline));

	std::uint64_t initrd_addr = 0;
	if (!initrd.empty()) {
		std::uint64_t max = get<std::uint32_t>(image, bp::initrd_addr_max);
		if (max == 0)
			max = 0x37ffffff;
		std::uint64_t top = std::min(map.lowmem_end, max + 1);
		if (initrd.size() > top)
			return load_error("initrd", "larger than low RAM", ENOMEM);
		initrd_addr = (top - initrd.size()) & ~0xfffull;
		if (initrd_addr < kernel_top)
			return load_error("initrd",
					  "does not fit between the kernel (up to " +
						  hex(kernel_top) + ") and " + hex(top),
					  ENOMEM);
		r = mem.write(initrd_addr, initrd);
		if (!r)
			return std::move(r).error();
		put<std::uint32_t>(zp, bp::ramdisk_image, static_cast<std::uint32_t>(initrd_addr));
		put<std::uint32_t>(zp, bp::ramdisk_size, static_cast<std::uint32_t>(initrd.size()));
		put<std::uint32_t>(zp, bp::ext_ramdisk_image,
				   static_cast<std::uint32_t>(initrd_addr >> 32));
		put<std::uint32_t>(zp, bp::ext_ramdisk_size,
				   static_cast<std::uint32_t>(std::uint64_t(initrd.size()) >> 32));
	}

	auto e820 = e820_map(map);
	if (e820.size() > bp::e820_max)
		return load_error(op, "e820 map too long");
	put<std::uint8_t>(zp, bp::e820_entries, static_cast<std::uint8_t>(e820.size()));
	for (std::size_t i = 0; i < e820.size(); i++) {
		put<std::uint64_t>(zp, bp::e820_table + 20 * i, e820[i].addr);
		put<std::uint64_t>(zp, bp::e820_table + 20 * i + 8, e820[i].size);
		put<std::uint32_t>(zp, bp::e820_table + 20 * i + 16,
				   static_cast<std::uint32_t>(e820[i].type));
	}
	if (acpi_rsdp && version >= 0x20e)
		put<std::uint64_t>(zp, bp::acpi_rsdp_addr, acpi_rsdp);

	r = write_boot_gdt(mem);
	if (r)
		r = write_identity_page_tables(mem);
	if (!r)
		return std::move(r).error();

	if (info)
		*info = {version, kaddr, kernel.size(), init_size, initrd_addr, initrd.size()};
	BootEntry e;
	e.mode = CpuMode::Long64;
	e.rip = kaddr + 0x200;
	e.rsi = layout::zero_page;
	e.rsp = layout::stack_top;
	e.description = "Linux bzImage, boot protocol " + std::to_string(version >> 8) + "." +
			std::to_string(version & 0xff) + ", 64-bit entry at " + hex(e.rip);
	return e;
}

namespace
{
/* Load a 32-bit ELF's PT_LOAD segments at their physical addresses. */
Result<std::uint64_t> load_elf32(const GuestMemory &mem, std::span<const std::uint8_t> image,
				 std::uint64_t *end, std::uint32_t *entry)
{
	const char *op = "ELF";
	if (image.size() < sizeof(Elf32_Ehdr))
		return load_error(op, "truncated header");
	auto eh = get<Elf32_Ehdr>(image, 0);
	if (eh.e_ident[EI_CLASS] == ELFCLASS64)
		return load_error(op, "64-bit ELF: a multiboot kernel must be a 32-bit ELF",
				  ENOEXEC);
	if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_386)
		return load_error(op, "not a little-endian i386 ELF", ENOEXEC);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phoff + std::uint64_t(eh.e_phnum) * sizeof(Elf32_Phdr) > image.size())
		return load_error(op, "bad program headers");
	std::uint64_t top = 0, loaded = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		auto ph = get<Elf32_Phdr>(image, eh.e_phoff + i * sizeof(Elf32_Phdr));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz ||
		    std::uint64_t(ph.p_offset) + ph.p_filesz > image.size())
			return load_error(op, "segment outside the file");
		auto r = mem.fill(ph.p_paddr, 0, ph.p_memsz);
		if (r)
			r = mem.write(ph.p_paddr, image.subspan(ph.p_offset, ph.p_filesz));
		if (!r)
			return load_error(op,
					  "segment at " + hex(ph.p_paddr) + "+" + hex(ph.p_memsz) +
						  " is not in guest RAM",
					  EFAULT);
		top = std::max<std::uint64_t>(top, std::uint64_t(ph.p_paddr) + ph.p_memsz);
		loaded++;
	}
	if (!loaded)
		return load_error(op, "no loadable segment", ENOEXEC);
	*end = top;
	*entry = eh.e_entry;
	return loaded;
}
} // namespace

Result<BootEntry> load_multiboot(const GuestMemory &mem, const MemoryMap &map,
				 std::span<const std::uint8_t> image,
				 std::span<const std::uint8_t> initrd, const std::string &cmdline)
{
	const char *op = "multiboot";
	auto hoff = find_multiboot_header(image);
	if (!hoff)
		return load_error(op, "no multiboot header in the first 8 KiB", ENOEXEC);
	auto flags = get<std::uint32_t>(image, *hoff + 4);
	/* Bits 0-15 are requirements: page-aligned modules, memory info, video mode. */
	if (flags & 0xfff8)
		return load_error(op, "header requires unsupported features " + hex(flags & 0xffff),
				  ENOEXEC);

	std::uint64_t end = 0;
	std::uint32_t entry = 0;
	if (flags & mb::flag_aout_kludge) {
		auto header_addr = get<std::uint32_t>(image, *hoff + 12);
		auto load_addr = get<std::uint32_t>(image, *hoff + 16);
		auto load_end = get<std::uint32_t>(image, *hoff + 20);
		auto bss_end = get<std::uint32_t>(image, *hoff + 24);
		entry = get<std::uint32_t>(image, *hoff + 28);
		if (header_addr < load_addr || header_addr - load_addr > *hoff)
			return load_error(op, "header_addr/load_addr inconsistent");
		std::size_t file_off = *hoff - (header_addr - load_addr);
		std::size_t len = load_end ? load_end - load_addr : image.size() - file_off;
		if (load_end && load_end < load_addr)
			return load_error(op, "load_end_addr below load_addr");
		if (file_off + len > image.size())
			return load_error(op, "load range beyond the file");
		auto r = mem.write(load_addr, image.subspan(file_off, len));
		if (!r)
			return load_error(op, "kernel at " + hex(load_addr) + " not in guest RAM",
					  EFAULT);
		end = std::uint64_t(load_addr) + len;
		if (bss_end > end) {
			r = mem.fill(end, 0, bss_end - end);
			if (!r)
				return load_error(op, "bss not in guest RAM", EFAULT);
			end = bss_end;
		}
	} else {
		auto r = load_elf32(mem, image, &end, &entry);
		if (!r)
			return std::move(r).error().context(op);
	}

	/* Modules: the initrd, page-aligned after the kernel. */
	std::uint64_t mod_addr = (end + 0xfff) & ~0xfffull;
	std::uint32_t info_flags =
		mb::info_mem | mb::info_cmdline | mb::info_mmap | mb::info_loader_name;
	const std::uint64_t mmap_addr = layout::mb_info + 0x100,
			    mods_addr = layout::mb_info + 0x400, mod_str = layout::mb_info + 0x500,
			    name_addr = layout::mb_info + 0x600;
	if (!initrd.empty()) {
		if (mod_addr + initrd.size() > map.lowmem_end)
			return load_error("initrd", "does not fit after the kernel", ENOMEM);
		auto r = mem.write(mod_addr, initrd);
		if (!r)
			return std::move(r).error();
		std::uint32_t mod[4] = {static_cast<std::uint32_t>(mod_addr),
					static_cast<std::uint32_t>(mod_addr + initrd.size()),
					static_cast<std::uint32_t>(mod_str), 0};
		r = mem.write_obj(mods_addr, mod);
		if (r)
			r = mem.write(
				mod_str,
				std::span(reinterpret_cast<const std::uint8_t *>("initrd"), 7));
		if (!r)
			return std::move(r).error();
		info_flags |= mb::info_mods;
	}
	auto r = write_cmdline(mem, cmdline, layout::cmdline_max);
	if (!r)
		return std::move(r).error();

	auto e820 = e820_map(map);
	std::uint32_t mmap_len = 0;
	for (const auto &e : e820) {
		std::uint8_t ent[24];
		put<std::uint32_t>(ent, 0, 20);
		put<std::uint64_t>(ent, 4, e.addr);
		put<std::uint64_t>(ent, 12, e.size);
		put<std::uint32_t>(ent, 20, static_cast<std::uint32_t>(e.type));
		r = mem.write(mmap_addr + mmap_len, ent);
		if (!r)
			return std::move(r).error();
		mmap_len += 24;
	}
	static const char name[] = "vapicvm-run";
	r = mem.write(name_addr,
		      std::span(reinterpret_cast<const std::uint8_t *>(name), sizeof(name)));
	if (!r)
		return std::move(r).error();

	std::uint8_t info[88] = {};
	put<std::uint32_t>(info, 0, info_flags);
	put<std::uint32_t>(info, 4, static_cast<std::uint32_t>(layout::ebda / 1024));
	put<std::uint32_t>(info, 8,
			   static_cast<std::uint32_t>((map.lowmem_end - layout::bios_end) / 1024));
	put<std::uint32_t>(info, 16, static_cast<std::uint32_t>(layout::cmdline));
	put<std::uint32_t>(info, 20, initrd.empty() ? 0 : 1);
	put<std::uint32_t>(info, 24, static_cast<std::uint32_t>(mods_addr));
	put<std::uint32_t>(info, 44, mmap_len);
	put<std::uint32_t>(info, 48, static_cast<std::uint32_t>(mmap_addr));
	put<std::uint32_t>(info, 64, static_cast<std::uint32_t>(name_addr));
	r = mem.write(layout::mb_info, info);
	if (r)
		r = write_boot_gdt(mem);
	if (!r)
		return std::move(r).error();

	BootEntry e;
	e.mode = CpuMode::Protected32;
	e.rip = entry;
	e.rax = mb::boot_magic;
	e.rbx = layout::mb_info;
	e.rsp = layout::stack_top;
	e.description = "multiboot kernel, entry " + hex(entry);
	return e;
}

Result<BootEntry> load_flat(const GuestMemory &mem, std::span<const std::uint8_t> image,
			    std::uint64_t addr, std::optional<CpuMode> mode)
{
	auto r = mem.write(addr, image);
	if (!r)
		return load_error("flat binary",
				  hex(addr) + "+" + hex(image.size()) + " is not in guest RAM",
				  EFAULT);
	CpuMode m = mode.value_or(addr + image.size() <= layout::bios_end ? CpuMode::Real16
									  : CpuMode::Protected32);
	BootEntry e;
	e.mode = m;
	e.rsp = layout::stack_top;
	switch (m) {
	case CpuMode::Real16:
		if (addr >= layout::bios_end)
			return load_error("flat binary", "real mode needs an address below 1 MiB");
		e.real_cs = static_cast<std::uint16_t>(addr >> 4);
		e.rip = addr & 0xf;
		break;
	case CpuMode::Protected32:
		r = write_boot_gdt(mem);
		e.rip = addr;
		break;
	case CpuMode::Long64:
		r = write_boot_gdt(mem);
		if (r)
			r = write_identity_page_tables(mem);
		e.rip = addr;
		break;
	}
	if (!r)
		return std::move(r).error();
	e.description = "flat binary at " + hex(addr);
	return e;
}

} // namespace vrun

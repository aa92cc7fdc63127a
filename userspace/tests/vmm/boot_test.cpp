// SPDX-License-Identifier: GPL-2.0
/* The loaders and the boot-time tables, against guest memory without a VM. */
#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "boot.hpp"
#include "machine.hpp"
#include "tables.hpp"

using namespace vrun;
using vapicvm::MemoryRegion;
using vapicvm::vmm::GuestMemory;

namespace
{
/* RAM at 0: a view of a region kept for the rest of the run. */
GuestMemory make_memory(std::uint64_t size)
{
	static std::vector<MemoryRegion> keep;
	GuestMemory m;
	auto r = MemoryRegion::anonymous(size);
	EXPECT_TRUE(r);
	EXPECT_TRUE(m.add(0, r->span()));
	keep.push_back(std::move(*r));
	return m;
}

template <typename T>
T rd(const GuestMemory &m, std::uint64_t gpa)
{
	auto v = m.read_obj<T>(gpa);
	EXPECT_TRUE(v) << std::hex << gpa;
	return v ? *v : T{};
}

template <typename T>
void wr(std::vector<std::uint8_t> &b, std::size_t off, T v)
{
	std::memcpy(b.data() + off, &v, sizeof(T));
}

/* A bzImage as far as the loader cares: setup header, one setup sector, a payload. */
std::vector<std::uint8_t> fake_bzimage(std::uint16_t version = 0x20f, std::uint16_t xlf = 1,
				       std::size_t payload = 0x3000)
{
	std::vector<std::uint8_t> b(1024 + payload);
	b[bp::setup_sects] = 1;
	wr<std::uint16_t>(b, bp::boot_flag, 0xaa55);
	b[bp::jump] = 0xeb;
	b[bp::jump + 1] = 0x66; /* header ends at 0x268 */
	std::memcpy(&b[bp::header], "HdrS", 4);
	wr<std::uint16_t>(b, bp::version, version);
	b[bp::loadflags] = bp::LOADED_HIGH;
	wr<std::uint32_t>(b, bp::initrd_addr_max, 0x7fffffff);
	wr<std::uint32_t>(b, bp::kernel_alignment, 0x200000);
	b[bp::relocatable_kernel] = 1;
	wr<std::uint16_t>(b, bp::xloadflags, xlf);
	wr<std::uint32_t>(b, bp::cmdline_size, 2047);
	wr<std::uint64_t>(b, bp::pref_address, 0x1000000);
	wr<std::uint32_t>(b, bp::init_size, 0x400000);
	for (std::size_t i = 0; i < payload; i++)
		b[1024 + i] = static_cast<std::uint8_t>(i * 7);
	return b;
}
} // namespace

TEST(E820, HolesForLegacyAreaAndApic)
{
	auto e = e820_map(MemoryMap::for_size(256ull << 20));
	ASSERT_EQ(5u, e.size());
	EXPECT_EQ((E820Entry{0, 0x9fc00, E820Type::Ram}), e[0]);
	EXPECT_EQ((E820Entry{0x9fc00, 0x400, E820Type::Reserved}), e[1]);
	EXPECT_EQ((E820Entry{0xe0000, 0x20000, E820Type::Reserved}), e[2]);
	EXPECT_EQ((E820Entry{0x100000, (256ull << 20) - 0x100000, E820Type::Ram}), e[3]);
	EXPECT_EQ((E820Entry{0xfee00000, 0x100000, E820Type::Reserved}), e[4]);
	/* Nothing claims 0xa0000-0xe0000: the VGA/option-ROM hole. */
	for (const auto &x : e)
		EXPECT_FALSE(x.addr < 0xe0000 && x.addr + x.size > 0xa0000);
}

TEST(E820, MemoryAbove4GiB)
{
	auto m = MemoryMap::for_size(5ull << 30);
	EXPECT_EQ(3ull << 30, m.lowmem_end);
	EXPECT_EQ(2ull << 30, m.highmem_size);
	auto e = e820_map(m);
	EXPECT_EQ((E820Entry{1ull << 32, 2ull << 30, E820Type::Ram}), e.back());
	for (const auto &x : e) {
		bool covers_apic = x.addr <= 0xfee00000 && x.addr + x.size > 0xfee00000;
		EXPECT_FALSE(x.type == E820Type::Ram && covers_apic);
	}
}

TEST(Formats, Detection)
{
	EXPECT_EQ(KernelFormat::BzImage, detect_format(fake_bzimage()));
	std::vector<std::uint8_t> mbh(64);
	wr<std::uint32_t>(mbh, 8, mb::header_magic);
	wr<std::uint32_t>(mbh, 12, 0);
	wr<std::uint32_t>(mbh, 16, -mb::header_magic);
	EXPECT_EQ(KernelFormat::Multiboot, detect_format(mbh));
	wr<std::uint32_t>(mbh, 16, 0); /* bad checksum */
	EXPECT_EQ(KernelFormat::Unknown, detect_format(mbh));
	std::vector<std::uint8_t> elf = {0x7f, 'E', 'L', 'F', 1, 1};
	EXPECT_EQ(KernelFormat::Elf, detect_format(elf));
}

TEST(BzImage, ZeroPageCmdlineE820AndEntry)
{
	auto mem = make_memory(64ull << 20);
	auto map = MemoryMap::for_size(64ull << 20);
	auto img = fake_bzimage();
	std::vector<std::uint8_t> initrd(10000, 0x5a);
	LinuxBootInfo info;
	auto e = load_bzimage(mem, map, img, initrd, "console=ttyS0 quiet", 0xe0000, &info);
	ASSERT_TRUE(e) << e.error().message();
	EXPECT_EQ(CpuMode::Long64, e->mode);
	EXPECT_EQ(0x100200u, e->rip) << "64-bit entry: load address + 0x200";
	EXPECT_EQ(layout::zero_page, e->rsi);

	/* The protected-mode kernel at 1 MiB. */
	EXPECT_EQ(0, std::memcmp(mem.span(0x100000, 0x3000).data(), img.data() + 1024, 0x3000));
	/* The setup header copied, our fields set. */
	const auto zp = layout::zero_page;
	EXPECT_EQ(0x53726448u, rd<std::uint32_t>(mem, zp + bp::header));
	EXPECT_EQ(0xffu, rd<std::uint8_t>(mem, zp + bp::type_of_loader));
	EXPECT_EQ(bp::LOADED_HIGH | bp::CAN_USE_HEAP, rd<std::uint8_t>(mem, zp + bp::loadflags));
	EXPECT_EQ(0x7fffffffu, rd<std::uint32_t>(mem, zp + bp::initrd_addr_max));
	EXPECT_EQ(layout::cmdline, rd<std::uint32_t>(mem, zp + bp::cmd_line_ptr));
	EXPECT_STREQ("console=ttyS0 quiet",
		     reinterpret_cast<const char *>(mem.span(layout::cmdline, 32).data()));
	EXPECT_EQ(0xe0000u, rd<std::uint64_t>(mem, zp + bp::acpi_rsdp_addr));
	/* Nothing of the image past the header leaks into the zero page. */
	EXPECT_EQ(0u, rd<std::uint32_t>(mem, zp + 0x268));

	/* e820 */
	ASSERT_EQ(5u, rd<std::uint8_t>(mem, zp + bp::e820_entries));
	EXPECT_EQ(0x100000u, rd<std::uint64_t>(mem, zp + bp::e820_table + 3 * 20));
	EXPECT_EQ(1u, rd<std::uint32_t>(mem, zp + bp::e820_table + 3 * 20 + 16));

	/* The initrd at the top of RAM, page aligned, above the kernel's init_size. */
	auto ia = rd<std::uint32_t>(mem, zp + bp::ramdisk_image);
	EXPECT_EQ(10000u, rd<std::uint32_t>(mem, zp + bp::ramdisk_size));
	EXPECT_EQ(0u, ia & 0xfff);
	EXPECT_LE(ia + 10000u, 64u << 20);
	EXPECT_GE(ia, (64u << 20) - 0x3000);
	EXPECT_GE(ia, 0x1000000u + 0x400000u);
	EXPECT_EQ(ia, info.initrd_addr);
	EXPECT_EQ(0x5a, mem.span(ia, 1)[0]);

	/* Identity map and GDT. */
	EXPECT_EQ(0x2003u, rd<std::uint64_t>(mem, layout::pml4));
	EXPECT_EQ(0x83u, rd<std::uint64_t>(mem, 0x3000));
	EXPECT_EQ((3ull << 30) | (511ull << 21) | 0x83, rd<std::uint64_t>(mem, 0x6000 + 511 * 8));
	EXPECT_EQ(0x00af9b000000ffffull, rd<std::uint64_t>(mem, layout::gdt + 0x10));
}

TEST(BzImage, InitrdAddrMaxIsHonoured)
{
	auto mem = make_memory(256ull << 20);
	auto img = fake_bzimage();
	wr<std::uint32_t>(img, bp::initrd_addr_max, 0x07ffffff); /* below 128 MiB */
	std::vector<std::uint8_t> initrd(4096, 1);
	auto e = load_bzimage(mem, MemoryMap::for_size(256ull << 20), img, initrd, "");
	ASSERT_TRUE(e) << e.error().message();
	auto ia = rd<std::uint32_t>(mem, layout::zero_page + bp::ramdisk_image);
	EXPECT_EQ(0x07fff000u, ia);
}

TEST(BzImage, Refusals)
{
	auto mem = make_memory(64ull << 20);
	auto map = MemoryMap::for_size(64ull << 20);
	auto old = load_bzimage(mem, map, fake_bzimage(0x20b), {}, "");
	ASSERT_FALSE(old);
	EXPECT_NE(std::string::npos, old.error().detail().find("64-bit entry"));
	EXPECT_FALSE(load_bzimage(mem, map, fake_bzimage(0x20f, 0), {}, ""));
	auto small = make_memory(16ull << 20);
	auto e = load_bzimage(small, MemoryMap::for_size(16ull << 20), fake_bzimage(), {}, "");
	ASSERT_FALSE(e) << "init_size above 16 MiB does not fit";
	EXPECT_EQ(ENOMEM, e.error().errno_value());
	std::vector<std::uint8_t> huge(60ull << 20);
	auto i = load_bzimage(mem, map, fake_bzimage(), huge, "");
	ASSERT_FALSE(i);
	EXPECT_EQ("initrd", i.error().operation());
	auto c = load_bzimage(mem, map, fake_bzimage(), {}, std::string(3000, 'x'));
	ASSERT_FALSE(c);
	EXPECT_EQ(E2BIG, c.error().errno_value());
}

TEST(Multiboot, TheTestKernel)
{
	std::ifstream f(MBTEST_ELF, std::ios::binary);
	ASSERT_TRUE(f) << MBTEST_ELF;
	std::vector<std::uint8_t> img((std::istreambuf_iterator<char>(f)),
				      std::istreambuf_iterator<char>());
	ASSERT_EQ(KernelFormat::Multiboot, detect_format(img));
	auto mem = make_memory(32ull << 20);
	std::vector<std::uint8_t> mod(100, 0xcd);
	auto e = load_multiboot(mem, MemoryMap::for_size(32ull << 20), img, mod, "hello world");
	ASSERT_TRUE(e) << e.error().message();
	EXPECT_EQ(CpuMode::Protected32, e->mode);
	EXPECT_EQ(mb::boot_magic, e->rax);
	EXPECT_EQ(layout::mb_info, e->rbx);
	EXPECT_EQ(0x10000cu, e->rip) << "the ELF entry";
	/* The header bytes landed at their physical address. */
	EXPECT_EQ(mb::header_magic, rd<std::uint32_t>(mem, 0x100000));

	const auto mbi = layout::mb_info;
	auto flags = rd<std::uint32_t>(mem, mbi);
	EXPECT_EQ(mb::info_mem | mb::info_cmdline | mb::info_mods | mb::info_mmap |
			  mb::info_loader_name,
		  flags);
	EXPECT_EQ(639u, rd<std::uint32_t>(mem, mbi + 4));
	EXPECT_EQ(31u * 1024, rd<std::uint32_t>(mem, mbi + 8));
	EXPECT_STREQ("hello world", reinterpret_cast<const char *>(
					    mem.span(rd<std::uint32_t>(mem, mbi + 16), 12).data()));
	ASSERT_EQ(1u, rd<std::uint32_t>(mem, mbi + 20));
	auto mods = rd<std::uint32_t>(mem, mbi + 24);
	auto mstart = rd<std::uint32_t>(mem, mods), mend = rd<std::uint32_t>(mem, mods + 4);
	EXPECT_EQ(100u, mend - mstart);
	EXPECT_EQ(0u, mstart & 0xfff);
	EXPECT_GE(mstart, 0x100000u);
	EXPECT_EQ(0xcd, mem.span(mstart, 1)[0]);
	/* mmap: size-prefixed entries mirroring e820. */
	auto len = rd<std::uint32_t>(mem, mbi + 44), addr = rd<std::uint32_t>(mem, mbi + 48);
	EXPECT_EQ(5u * 24, len);
	EXPECT_EQ(20u, rd<std::uint32_t>(mem, addr));
	EXPECT_EQ(0x100000u, rd<std::uint64_t>(mem, addr + 3 * 24 + 4));
	EXPECT_STREQ("vapicvm-run", reinterpret_cast<const char *>(
					    mem.span(rd<std::uint32_t>(mem, mbi + 64), 12).data()));
}

TEST(Multiboot, AoutKludge)
{
	/* Header at offset 0, loaded at 0x200000 with 0x1000 bytes of bss. */
	std::vector<std::uint8_t> img(0x100, 0x90);
	std::uint32_t flags = mb::flag_aout_kludge | 2;
	wr<std::uint32_t>(img, 0, mb::header_magic);
	wr<std::uint32_t>(img, 4, flags);
	wr<std::uint32_t>(img, 8, -(mb::header_magic + flags));
	wr<std::uint32_t>(img, 12, 0x200000); /* header_addr */
	wr<std::uint32_t>(img, 16, 0x200000); /* load_addr */
	wr<std::uint32_t>(img, 20, 0);        /* load_end: whole file */
	wr<std::uint32_t>(img, 24, 0x201100); /* bss_end */
	wr<std::uint32_t>(img, 28, 0x200040); /* entry */
	auto mem = make_memory(8ull << 20);
	ASSERT_TRUE(mem.fill(0x200100, 0xee, 0x1000));
	auto e = load_multiboot(mem, MemoryMap::for_size(8ull << 20), img, {}, "");
	ASSERT_TRUE(e) << e.error().message();
	EXPECT_EQ(0x200040u, e->rip);
	EXPECT_EQ(0x90, mem.span(0x2000ff, 1)[0]);
	EXPECT_EQ(0, mem.span(0x200100, 1)[0]) << "bss zeroed";
	EXPECT_EQ(0, mem.span(0x2010ff, 1)[0]);
	EXPECT_EQ(0u, rd<std::uint32_t>(mem, layout::mb_info) & mb::info_mods);
}

TEST(Multiboot, RefusesUnknownRequirementsAnd64BitElf)
{
	std::vector<std::uint8_t> img(0x100);
	std::uint32_t flags = 1u << 5;
	wr<std::uint32_t>(img, 0, mb::header_magic);
	wr<std::uint32_t>(img, 4, flags);
	wr<std::uint32_t>(img, 8, -(mb::header_magic + flags));
	auto mem = make_memory(8ull << 20);
	auto e = load_multiboot(mem, MemoryMap::for_size(8ull << 20), img, {}, "");
	ASSERT_FALSE(e);
	EXPECT_EQ(ENOEXEC, e.error().errno_value());

	std::vector<std::uint8_t> elf(0x200);
	std::memcpy(elf.data(),
		    "\x7f"
		    "ELF\x02\x01",
		    6);
	wr<std::uint32_t>(elf, 0x100, mb::header_magic);
	wr<std::uint32_t>(elf, 0x104, 0);
	wr<std::uint32_t>(elf, 0x108, -mb::header_magic);
	auto e64 = load_multiboot(mem, MemoryMap::for_size(8ull << 20), elf, {}, "");
	ASSERT_FALSE(e64);
	EXPECT_NE(std::string::npos, e64.error().detail().find("64-bit ELF"));
}

TEST(Flat, ModesAndPlacement)
{
	auto mem = make_memory(4ull << 20);
	std::vector<std::uint8_t> code = {0xf4};
	auto r = load_flat(mem, code, 0x7c00);
	ASSERT_TRUE(r);
	EXPECT_EQ(CpuMode::Real16, r->mode);
	EXPECT_EQ(0x7c0, r->real_cs);
	EXPECT_EQ(0u, r->rip);
	EXPECT_EQ(0xf4, mem.span(0x7c00, 1)[0]);
	auto p = load_flat(mem, code, 0x200000);
	ASSERT_TRUE(p);
	EXPECT_EQ(CpuMode::Protected32, p->mode);
	auto l = load_flat(mem, code, 0x200000, CpuMode::Long64);
	ASSERT_TRUE(l);
	EXPECT_EQ(0x2003u, rd<std::uint64_t>(mem, layout::pml4));
	EXPECT_FALSE(load_flat(mem, code, 0x200000, CpuMode::Real16));
	EXPECT_FALSE(load_flat(mem, code, 0x800000)) << "outside RAM";
}

TEST(Entry, RegisterStates)
{
	vapicvm_sregs s{};
	vapicvm_regs r{};
	BootEntry e;
	e.mode = CpuMode::Long64;
	e.rip = 0x100200;
	e.rsi = 0x7000;
	apply_entry(e, s, r);
	EXPECT_EQ(0x100200u, r.rip);
	EXPECT_EQ(0x7000u, r.rsi);
	EXPECT_EQ(2u, r.rflags) << "interrupts off";
	EXPECT_EQ(0x10, s.cs.selector);
	EXPECT_EQ(1, s.cs.l);
	EXPECT_EQ(0x18, s.ds.selector);
	EXPECT_EQ(0x18, s.ss.selector);
	EXPECT_EQ(0x500u, s.efer);
	EXPECT_EQ(layout::pml4, s.cr3);
	EXPECT_TRUE(s.cr0 & 0x80000001);
	EXPECT_EQ(11, s.tr.type);

	vapicvm_sregs s32{};
	e.mode = CpuMode::Protected32;
	e.rax = mb::boot_magic;
	e.rbx = 0x9000;
	apply_entry(e, s32, r);
	EXPECT_EQ(mb::boot_magic, r.rax);
	EXPECT_EQ(0x9000u, r.rbx);
	EXPECT_EQ(0x20, s32.cs.selector);
	EXPECT_EQ(1, s32.cs.db);
	EXPECT_EQ(0x11u, s32.cr0);
	EXPECT_EQ(0u, s32.efer);

	vapicvm_sregs s16{};
	e.mode = CpuMode::Real16;
	e.real_cs = 0x7c0;
	e.rip = 0;
	apply_entry(e, s16, r);
	EXPECT_EQ(0x7c00u, s16.cs.base);
	EXPECT_EQ(0x7c0, s16.ds.selector);
}

namespace
{
/* An MP table's entries, as a guest's parser sees them. */
struct ParsedMpTable {
	std::uint32_t lapic = 0;
	std::vector<std::array<std::uint8_t, 20>> cpus;
	std::vector<std::array<std::uint8_t, 8>> buses, ioapics, intsrcs, lints;
	std::vector<int> order; /* each entry's type, in table order */
};

/* Parse t (built for 0xf0000): checksums, lengths and the entry count checked on the way. */
ParsedMpTable parse_mptable(const std::vector<std::uint8_t> &t)
{
	ParsedMpTable r;
	EXPECT_GE(t.size(), 16u + 44u);
	if (t.size() < 16 + 44)
		return r;
	EXPECT_EQ(0, std::memcmp(t.data(), "_MP_", 4));
	EXPECT_EQ(0, checksum_fix(t.data(), 16)) << "floating pointer sums to zero";
	EXPECT_EQ(1, t[8]) << "16 bytes";
	EXPECT_EQ(4, t[9]) << "revision 1.4";
	EXPECT_EQ(0, t[11]) << "a configuration table, no default configuration";
	EXPECT_EQ(0, t[12]) << "no IMCR: virtual wire mode";
	std::uint32_t cfg;
	std::memcpy(&cfg, t.data() + 4, 4);
	EXPECT_EQ(0xf0010u, cfg);
	const std::uint8_t *c = t.data() + 16;
	EXPECT_EQ(0, std::memcmp(c, "PCMP", 4));
	std::uint16_t len, count;
	std::memcpy(&len, c + 4, 2);
	std::memcpy(&count, c + 34, 2);
	EXPECT_EQ(t.size() - 16, len);
	EXPECT_EQ(0, checksum_fix(c, len));
	std::memcpy(&r.lapic, c + 36, 4);
	const std::uint8_t *p = c + 44, *end = c + len;
	for (int i = 0; i < count; i++) {
		std::size_t size = p < end && p[0] == 0 ? 20 : 8;
		if (p + size > end) {
			ADD_FAILURE() << "entry " << i << " runs past the table";
			return r;
		}
		r.order.push_back(p[0]);
		if (p[0] == 0) {
			r.cpus.emplace_back();
			std::memcpy(r.cpus.back().data(), p, 20);
		} else {
			auto *v = p[0] == 1   ? &r.buses
				  : p[0] == 2 ? &r.ioapics
				  : p[0] == 3 ? &r.intsrcs
				  : p[0] == 4 ? &r.lints
					      : nullptr;
			if (!v) {
				ADD_FAILURE() << "entry " << i << ": type " << int(p[0]);
				return r;
			}
			v->emplace_back();
			std::memcpy(v->back().data(), p, 8);
		}
		p += size;
	}
	EXPECT_EQ(end, p) << "the entry count covers the table";
	return r;
}

void expect_common(const ParsedMpTable &m, unsigned ncpus, const MpTableCpu &cpu)
{
	EXPECT_EQ(0xfee00000u, m.lapic);
	ASSERT_EQ(ncpus, m.cpus.size());
	for (unsigned i = 0; i < ncpus; i++) {
		const auto &e = m.cpus[i];
		EXPECT_EQ(i, e[1]) << "APIC ID";
		EXPECT_EQ(i == 0 ? 3 : 1, e[3]) << "EN|BP";
		std::uint32_t sig;
		std::memcpy(&sig, e.data() + 4, 4);
		EXPECT_EQ(cpu.signature, sig);
	}
	ASSERT_EQ(1u, m.buses.size());
	EXPECT_EQ(0, m.buses[0][1]) << "bus 0";
	EXPECT_EQ(0, std::memcmp(m.buses[0].data() + 2, "ISA   ", 6));
	/* LINT0 ExtINT, LINT1 NMI, both on every local APIC (0xff). */
	ASSERT_EQ(2u, m.lints.size());
	for (unsigned i = 0; i < 2; i++) {
		EXPECT_EQ(i == 0 ? 3 : 1, m.lints[i][1]) << "interrupt type";
		EXPECT_EQ(0xff, m.lints[i][6]);
		EXPECT_EQ(i, m.lints[i][7]) << "LINTIN#";
	}
	/* The specification's order: by entry type. */
	EXPECT_TRUE(std::is_sorted(m.order.begin(), m.order.end()));
}
} // namespace

TEST(MpTable, WithoutIoApic)
{
	MpTableCpu cpu{0x50654, 0x178bfbff};
	auto m = parse_mptable(build_mptable(0xf0000, 3, cpu, std::nullopt));
	expect_common(m, 3, cpu);
	EXPECT_TRUE(m.ioapics.empty());
	EXPECT_TRUE(m.intsrcs.empty());
}

TEST(MpTable, IoApicAndIsaInterrupts)
{
	MpTableCpu cpu{0x50654, 0x178bfbff};
	auto m = parse_mptable(build_mptable(0xf0000, 2, cpu, MpTableIoApic{2, 0xfec00000u}));
	expect_common(m, 2, cpu);
	ASSERT_EQ(1u, m.ioapics.size());
	const auto &io = m.ioapics[0];
	EXPECT_EQ(2, io[1]) << "ID: after the CPUs' 0 and 1";
	EXPECT_EQ(0x20, io[2]) << "version";
	EXPECT_EQ(1, io[3]) << "enabled";
	std::uint32_t addr;
	std::memcpy(&addr, io.data() + 4, 4);
	EXPECT_EQ(0xfec00000u, addr);
	/* ISA IRQs 1 and 3-15 on the pins of the same numbers; no timer, no cascade. */
	std::vector<unsigned> irqs;
	for (const auto &e : m.intsrcs) {
		EXPECT_EQ(0, e[1]) << "INT";
		EXPECT_EQ(0, e[2] | e[3]) << "conforming polarity and trigger";
		EXPECT_EQ(0, e[4]) << "ISA bus";
		EXPECT_EQ(2, e[6]) << "the I/O APIC's ID";
		EXPECT_EQ(e[5], e[7]) << "IRQ n on pin n";
		irqs.push_back(e[5]);
	}
	EXPECT_EQ((std::vector<unsigned>{1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}), irqs);
	for (unsigned irq = 0; irq < 16; irq++)
		EXPECT_EQ(irq == 1 || irq >= 3, mptable_isa_irq_routed(irq)) << irq;
	EXPECT_EQ(2u + 1 + 1 + 14 + 2, m.order.size());
}

TEST(MpTable, FitsBelowOneMiBWithTheMostVcpus)
{
	auto t = build_mptable(0xf0000, 255, MpTableCpu{}, MpTableIoApic{255, 0xfec00000u});
	EXPECT_LE(0xf0000 + t.size(), 0x100000u);
	auto m = parse_mptable(t);
	EXPECT_EQ(255u, m.cpus.size());
	EXPECT_EQ(14u, m.intsrcs.size());
}

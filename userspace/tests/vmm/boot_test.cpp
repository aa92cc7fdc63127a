// SPDX-License-Identifier: GPL-2.0
/* The loaders and the boot-time tables, against guest memory without a VM. */
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

TEST(MpTable, ParsesAndChecksums)
{
	MpTableCpu cpu{0x50654, 0x178bfbff};
	auto t = build_mptable(0xf0000, 3, cpu);
	ASSERT_GE(t.size(), 16u + 44u);
	EXPECT_EQ(0, std::memcmp(t.data(), "_MP_", 4));
	EXPECT_EQ(0, checksum_fix(t.data(), 16)) << "floating pointer sums to zero";
	std::uint32_t cfg;
	std::memcpy(&cfg, t.data() + 4, 4);
	ASSERT_EQ(0xf0010u, cfg);
	const std::uint8_t *c = t.data() + 16;
	EXPECT_EQ(0, std::memcmp(c, "PCMP", 4));
	std::uint16_t len, count;
	std::memcpy(&len, c + 4, 2);
	std::memcpy(&count, c + 34, 2);
	EXPECT_EQ(t.size() - 16, len);
	EXPECT_EQ(0, checksum_fix(c, len));
	std::uint32_t lapic;
	std::memcpy(&lapic, c + 36, 4);
	EXPECT_EQ(0xfee00000u, lapic);
	/* Walk the entries: 3 processors (0 is the BSP), a bus, 2 local interrupts. */
	const std::uint8_t *p = c + 44;
	int cpus = 0, buses = 0, lints = 0;
	for (int i = 0; i < count; i++) {
		if (p[0] == 0) {
			EXPECT_EQ(cpus, p[1]) << "APIC ID";
			EXPECT_EQ(cpus == 0 ? 3 : 1, p[3]) << "EN|BP";
			std::uint32_t sig;
			std::memcpy(&sig, p + 4, 4);
			EXPECT_EQ(cpu.signature, sig);
			cpus++;
			p += 20;
		} else {
			buses += p[0] == 1;
			lints += p[0] == 4;
			p += 8;
		}
	}
	EXPECT_EQ(3, cpus);
	EXPECT_EQ(1, buses);
	EXPECT_EQ(2, lints);
	EXPECT_EQ(c + len, p);
}

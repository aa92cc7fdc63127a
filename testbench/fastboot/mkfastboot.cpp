// SPDX-License-Identifier: GPL-2.0
//
// mkfastboot: turn a compressed x86 bzImage into a "fast-boot" bzImage whose
// protected-mode part is trampoline.S followed by the kernel's own
// uncompressed segments.  The real-mode setup code is kept byte for byte, so
// any BIOS boot loader (isolinux here) boots it as it boots the original; the
// kernel that runs is the original, unmodified.  Under emulation this saves
// the decompression, which costs more than everything else in a boot.
//
//   mkfastboot <bzImage> <trampoline.bin> <output>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace
{

using Bytes = std::vector<uint8_t>;

constexpr size_t kPage = 4096;

Bytes read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error("cannot read " + path);
	return Bytes(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
T get(const Bytes &b, size_t off)
{
	if (off + sizeof(T) > b.size())
		throw std::runtime_error("truncated input");
	T v;
	std::memcpy(&v, b.data() + off, sizeof(T));
	return v;
}

template <typename T>
void put(Bytes &b, size_t off, T v)
{
	std::memcpy(b.data() + off, &v, sizeof(T));
}

// Decompress the kernel payload with the matching command-line tool.  The
// payload ends with the 32-bit decompressed size, which some tools reject as
// trailing garbage: judge success by that size, not by the exit status.
Bytes decompress(const Bytes &payload)
{
	const char *tool;
	if (payload.size() > 6 && !std::memcmp(payload.data(),
					       "\xfd"
					       "7zXZ",
					       5))
		tool = "xz -dc --single-stream";
	else if (payload.size() > 2 && payload[0] == 0x1f && payload[1] == 0x8b)
		tool = "gzip -dc";
	else if (payload.size() > 4 && !std::memcmp(payload.data(), "\x28\xb5\x2f\xfd", 4))
		tool = "zstd -qdc";
	else
		throw std::runtime_error("unsupported kernel compression");

	char tmpl[] = "/tmp/mkfastboot.XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		throw std::runtime_error("mkstemp failed");
	if (write(fd, payload.data(), payload.size()) != (ssize_t)payload.size()) {
		close(fd);
		unlink(tmpl);
		throw std::runtime_error("cannot write temporary file");
	}
	close(fd);
	std::string cmd = std::string(tool) + " < " + tmpl + " 2>/dev/null";
	FILE *p = popen(cmd.c_str(), "r");
	Bytes out;
	if (p) {
		uint8_t buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			out.insert(out.end(), buf, buf + n);
		pclose(p);
	}
	unlink(tmpl);
	uint32_t expected = get<uint32_t>(payload, payload.size() - 4);
	if (out.size() != expected)
		throw std::runtime_error("decompressed size mismatch");
	return out;
}

struct Op {
	uint64_t dest;
	uint32_t src_offset; // filled once the data layout is known
	uint32_t copy_len;
	uint32_t zero_len;
	size_t data_pos; // offset of the bytes in the decompressed image
};

bool zero_page(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

} // namespace

int main(int argc, char **argv)
try {
	if (argc != 4) {
		std::fprintf(stderr, "usage: %s <bzImage> <trampoline.bin> <output>\n", argv[0]);
		return 2;
	}
	Bytes kernel = read_file(argv[1]);
	Bytes tramp = read_file(argv[2]);

	if (get<uint32_t>(kernel, 0x202) != 0x53726448) // "HdrS"
		throw std::runtime_error("not a bzImage");
	if (get<uint16_t>(kernel, 0x206) < 0x208)
		throw std::runtime_error("boot protocol older than 2.08");
	size_t setup_sects = kernel[0x1f1] ? kernel[0x1f1] : 4;
	size_t setup_size = (setup_sects + 1) * 512;
	uint32_t payload_offset = get<uint32_t>(kernel, 0x248);
	uint32_t payload_length = get<uint32_t>(kernel, 0x24c);
	if (setup_size + payload_offset + payload_length > kernel.size())
		throw std::runtime_error("payload outside the image");
	Bytes payload(kernel.begin() + setup_size + payload_offset,
		      kernel.begin() + setup_size + payload_offset + payload_length);
	Bytes elf = decompress(payload);

	if (elf.size() < 64 || std::memcmp(elf.data(),
					   "\x7f"
					   "ELF\x02\x01",
					   6))
		throw std::runtime_error("payload is not an ELF64 image");
	uint64_t entry = get<uint64_t>(elf, 0x18);
	uint64_t phoff = get<uint64_t>(elf, 0x20);
	uint16_t phnum = get<uint16_t>(elf, 0x38);

	std::vector<Op> ops;
	uint64_t highest = 0;
	uint64_t entry_phys = 0;
	for (unsigned i = 0; i < phnum; i++) {
		size_t ph = phoff + i * 56;
		if (get<uint32_t>(elf, ph) != 1) // PT_LOAD
			continue;
		uint64_t off = get<uint64_t>(elf, ph + 8);
		uint64_t vaddr = get<uint64_t>(elf, ph + 16);
		uint64_t paddr = get<uint64_t>(elf, ph + 24);
		uint64_t filesz = get<uint64_t>(elf, ph + 32);
		uint64_t memsz = get<uint64_t>(elf, ph + 40);
		if (off + filesz > elf.size() || paddr + memsz > 0xffffffffull)
			throw std::runtime_error("bad program header");
		// The kernel's ELF entry is a physical address (the
		// decompressor jumps there with paging identity-mapped);
		// accept a virtual one too.
		if (entry >= paddr && entry < paddr + memsz)
			entry_phys = entry;
		else if (entry >= vaddr && entry < vaddr + memsz)
			entry_phys = paddr + (entry - vaddr);
		highest = std::max(highest, paddr + memsz);
		// Runs of non-zero pages are copied; zero pages and the tail
		// up to memsz are zeroed.
		uint64_t pos = 0;
		Op *cur = nullptr;
		while (pos < memsz) {
			size_t len = std::min<uint64_t>(kPage, memsz - pos);
			bool has_data =
				pos < filesz &&
				!zero_page(&elf[off + pos], std::min<uint64_t>(len, filesz - pos));
			if (has_data) {
				size_t n = std::min<uint64_t>(len, filesz - pos);
				if (!cur || cur->zero_len) {
					ops.push_back({paddr + pos, 0, 0, 0, off + pos});
					cur = &ops.back();
				}
				cur->copy_len += n;
				cur->zero_len += len - n;
			} else {
				if (!cur) {
					ops.push_back({paddr + pos, 0, 0, 0, off + pos});
					cur = &ops.back();
				}
				cur->zero_len += len;
			}
			pos += len;
		}
	}
	if (!entry_phys)
		throw std::runtime_error("entry point not in a loadable segment");

	size_t header_off = (tramp.size() + 15) & ~size_t(15);
	size_t data_off = header_off + 16 + ops.size() * 32;
	Bytes image(data_off, 0);
	std::memcpy(image.data(), tramp.data(), tramp.size());
	put<uint32_t>(image, header_off, 0x31424656); // 'VFB1'
	put<uint32_t>(image, header_off + 4, ops.size());
	put<uint64_t>(image, header_off + 8, entry_phys);
	for (size_t i = 0; i < ops.size(); i++) {
		Op &op = ops[i];
		op.src_offset = image.size();
		image.insert(image.end(), elf.begin() + op.data_pos,
			     elf.begin() + op.data_pos + op.copy_len);
		size_t o = header_off + 16 + i * 32;
		put<uint64_t>(image, o, op.dest);
		put<uint32_t>(image, o + 8, op.src_offset);
		put<uint32_t>(image, o + 12, op.copy_len);
		put<uint32_t>(image, o + 16, op.zero_len);
		put<uint32_t>(image, o + 20, 0);
		// The trampoline copies backwards and assumes the image is
		// loaded at 1 MiB and never above its destinations.
		if (op.dest < 0x100000 + op.src_offset)
			throw std::runtime_error("segment below its source in the image");
	}
	image.resize((image.size() + 15) & ~size_t(15), 0);

	Bytes out(kernel.begin(), kernel.begin() + setup_size);
	put<uint32_t>(out, 0x1f4, image.size() / 16); // syssize
	out[0x234] = 0;                               // not relocatable: load at 1 MiB
	put<uint16_t>(out, 0x236, 0);                 // no 64-bit/EFI entry points
	put<uint32_t>(out, 0x260,
		      std::max<uint64_t>(get<uint32_t>(out, 0x260),
					 highest - 0x100000)); // init_size
	out.insert(out.end(), image.begin(), image.end());

	std::ofstream o(argv[3], std::ios::binary);
	o.write(reinterpret_cast<const char *>(out.data()), out.size());
	if (!o)
		throw std::runtime_error(std::string("cannot write ") + argv[3]);
	std::printf("mkfastboot: %zu ops, %zu bytes (from %zu compressed, %zu uncompressed)\n",
		    ops.size(), out.size(), kernel.size(), elf.size());
	return 0;
} catch (const std::exception &e) {
	std::fprintf(stderr, "mkfastboot: %s\n", e.what());
	return 1;
}

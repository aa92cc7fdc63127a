// SPDX-License-Identifier: GPL-2.0
#include <charconv>

#include <vapicvm/vmm/apicv_tier.hpp>

#include "options.hpp"

namespace vrun
{

namespace
{
/* The --apicv help's lists, from the feature table: "tpr, access, ..." and "a|b|...". */
std::string apicv_help()
{
	std::string tiers = "none", names;
	for (const auto &f : vapicvm::apicv_features) {
		tiers += ", " + std::string(f.tier);
		names += (names.empty() ? "" : "|") + std::string(f.name);
	}
	return "a tier (" + tiers + "; each but none with an optional +x2apic), a list (" + names +
	       ") or a number";
}

/* text wrapped at width columns, every line after the first indented by indent. */
std::string wrap(const std::string &text, std::size_t indent, std::size_t width)
{
	std::string out, line;
	std::size_t start = 0;
	while (start < text.size()) {
		auto sp = text.find_first_of(" |", start);
		auto end = sp == std::string::npos ? text.size() : sp + 1;
		auto word = text.substr(start, end - start);
		if (!line.empty() && indent + line.size() + word.size() > width) {
			while (!line.empty() && line.back() == ' ')
				line.pop_back();
			out += line + "\n" + std::string(indent, ' ');
			line.clear();
		}
		line += word;
		start = end;
	}
	return out + line;
}
} // namespace

using vapicvm::Error;

const char *const default_linux_cmdline = "console=ttyS0 earlyprintk=serial acpi=off";

std::optional<std::uint64_t> parse_number(const std::string &s)
{
	std::string_view v = s;
	int base = 10;
	if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		v.remove_prefix(2);
		base = 16;
	}
	if (v.empty())
		return std::nullopt;
	std::uint64_t n = 0;
	auto r = std::from_chars(v.data(), v.data() + v.size(), n, base);
	if (r.ec != std::errc() || r.ptr != v.data() + v.size())
		return std::nullopt;
	return n;
}

std::optional<std::uint64_t> parse_size(const std::string &s)
{
	if (s.empty())
		return std::nullopt;
	std::uint64_t mul = 1ull << 20;
	std::string num = s;
	switch (s.back()) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		num.pop_back();
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		num.pop_back();
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		num.pop_back();
		break;
	default:
		break;
	}
	auto n = parse_number(num);
	if (!n || *n == 0 || *n > (~0ull / mul))
		return std::nullopt;
	return *n * mul;
}

vapicvm::Result<Options> parse_options(const std::vector<std::string> &args)
{
	Options o;
	auto bad = [](const std::string &opt, const std::string &why) {
		return Error::from_errno(EINVAL, "option " + opt, why);
	};
	for (std::size_t i = 0; i < args.size(); i++) {
		std::string a = args[i], val;
		bool has_inline = false;
		if (a.rfind("--", 0) == 0) {
			auto eq = a.find('=');
			if (eq != std::string::npos) {
				val = a.substr(eq + 1);
				a = a.substr(0, eq);
				has_inline = true;
			}
		}
		auto need = [&](std::string &out) -> bool {
			if (has_inline) {
				out = val;
				return true;
			}
			if (i + 1 >= args.size())
				return false;
			out = args[++i];
			return true;
		};
		std::string v;
		if (a == "-h" || a == "--help") {
			o.help = true;
		} else if (a == "--version") {
			o.version = true;
		} else if (a == "-v" || a == "--verbose") {
			o.verbose = true;
		} else if (a == "--stats") {
			o.stats = true;
		} else if (a == "--prefault") {
			o.prefault = true;
		} else if (a == "--no-stdin") {
			o.stdin_input = false;
		} else if (a == "-k" || a == "--kernel") {
			if (!need(o.kernel))
				return bad(a, "needs a file");
		} else if (a == "-i" || a == "--initrd") {
			if (!need(o.initrd))
				return bad(a, "needs a file");
		} else if (a == "--disk") {
			if (!need(o.disk) || o.disk.empty())
				return bad(a, "needs a file");
		} else if (a == "--disk-readonly") {
			o.disk_readonly = true;
		} else if (a == "-p" || a == "--params" || a == "--cmdline") {
			if (!need(v))
				return bad(a, "needs a command line");
			o.cmdline = v;
		} else if (a == "-m" || a == "--mem") {
			if (!need(v))
				return bad(a, "needs a size");
			auto s = parse_size(v);
			if (!s || *s < (2ull << 20))
				return bad(a, "\"" + v + "\" is not a size of at least 2M");
			o.mem_bytes = *s;
		} else if (a == "-c" || a == "--cpus") {
			if (!need(v))
				return bad(a, "needs a number");
			auto n = parse_number(v);
			if (!n || *n < 1 || *n > 255)
				return bad(a, "\"" + v + "\" is not a vCPU count 1-255");
			o.cpus = static_cast<unsigned>(*n);
		} else if (a == "--flat") {
			if (!need(v))
				return bad(a, "needs an address");
			auto n = parse_number(v);
			if (!n)
				return bad(a, "\"" + v + "\" is not an address");
			o.flat_addr = *n;
		} else if (a == "--entry-mode") {
			if (!need(v))
				return bad(a, "needs real, protected or long");
			if (v == "real")
				o.entry_mode = CpuMode::Real16;
			else if (v == "protected")
				o.entry_mode = CpuMode::Protected32;
			else if (v == "long")
				o.entry_mode = CpuMode::Long64;
			else
				return bad(a, "\"" + v + "\" is not real, protected or long");
		} else if (a == "--apicv") {
			if (!need(v))
				return bad(a, "needs a tier or feature list");
			auto f = vapicvm::vmm::parse_apicv(v);
			if (!f)
				return bad(a, f.error().detail());
			if (!f->valid())
				return bad(a, f->why_invalid());
			o.apicv = *f;
		} else if (a == "--tsc-khz") {
			if (!need(v))
				return bad(a, "needs a frequency");
			auto n = parse_number(v);
			if (!n || *n == 0 || *n > 0xffffffffull)
				return bad(a, "\"" + v + "\" is not a frequency in kHz");
			o.tsc_khz = static_cast<std::uint32_t>(*n);
		} else if (a == "--debug-exit-port") {
			if (!need(v))
				return bad(a, "needs a port");
			auto n = parse_number(v);
			if (!n || *n > 0xffff)
				return bad(a, "\"" + v + "\" is not a port");
			o.debug_exit_port = static_cast<std::uint16_t>(*n);
		} else if (a == "--gdb") {
			if (!need(v))
				return bad(a, "needs a port");
			auto n = parse_number(v);
			if (!n || *n > 0xffff)
				return bad(a, "\"" + v + "\" is not a TCP port");
			o.gdb_port = static_cast<std::uint16_t>(*n);
		} else if (a == "--device") {
			if (!need(o.device))
				return bad(a, "needs a path");
		} else {
			return bad(a, "unknown (see --help)");
		}
	}
	if (o.disk_readonly && o.disk.empty())
		return bad("--disk-readonly", "only applies with --disk");
	if (o.entry_mode && !o.flat_addr)
		return bad("--entry-mode", "only applies with --flat");
	if (!o.help && !o.version && o.kernel.empty())
		return bad("--kernel", "is required (see --help)");
	return o;
}

std::string usage(const char *prog)
{
	std::string p = prog;
	return "usage: " + p +
	       " [options] -k KERNEL\n"
	       R"(
Run a guest on vapicvm: one thread per vCPU, an I/O APIC, a 16550 serial
console on the terminal, and nothing else a guest does not need to boot.

Guest:
  -k, --kernel FILE        the kernel: a Linux bzImage (64-bit boot protocol),
                           a multiboot v1 kernel (32-bit ELF), or a flat
                           binary with --flat
  -i, --initrd FILE        initrd (Linux) or module 0 (multiboot)
      --disk FILE          a virtio-mmio block device on FILE (a disk image;
                           Linux's command line gets its
                           virtio_mmio.device=512@0xd0000000:5)
      --disk-readonly      the disk is read-only (VIRTIO_BLK_F_RO)
  -p, --params CMDLINE     kernel command line; Linux default:
                           ")" +
	       std::string(default_linux_cmdline) + R"("
  -m, --mem SIZE           guest RAM: 256 (MiB), 512M, 2G ... (default 256M)
  -c, --cpus N             vCPUs (default 1); the guest starts the others
                           with INIT/SIPI through its local APIC
      --flat ADDR          load KERNEL as a flat binary at ADDR and start it
                           there: in real mode (CS=ADDR>>4) if it ends below
                           1 MiB, else in 32-bit protected mode
      --entry-mode MODE    with --flat: real, protected or long (64-bit,
                           identity-mapped low 4 GiB)

Machine:
      --apicv SET          )" +
	       wrap("APIC virtualization for the VM: " + apicv_help() +
			    "; default: the best the host offers",
		    27, 79) +
	       R"(
      --tsc-khz KHZ        the TSC frequency CPUID reports (default: the host's)
      --debug-exit-port P  the isa-debug-exit port (default 0xf4)
      --device PATH        the vapicvm device (default /dev/vapicvm)
      --no-stdin           do not connect standard input to the serial port
      --gdb PORT           a gdb remote stub on 127.0.0.1:PORT (0: any free
                           port): waits for gdb before the guest starts and
                           stops it at its first instruction ("target remote
                           127.0.0.1:PORT"); one thread per vCPU

Output:
      --stats              print each vCPU's exit counters and the interrupts
                           each I/O APIC pin delivered at the end
      --prefault           map guest RAM 2 MiB at a time as the guest touches it
  -v, --verbose            say what is loaded where
  -h, --help, --version

Devices: an I/O APIC at 0xfec00000 (24 pins; ISA IRQ n is pin n), COM1
16550 UART at 0x3f8 on IRQ 4 (standard input/output; on a terminal, Ctrl-A x
quits), debug exit (0xf4), reset (0xcf9 bit 2, or 0xfe to the keyboard
controller at 0x64), power off (SLP_EN, bit 13, written to the PM1a control
port 0x604), CMOS clock (0x70/0x71), with --disk a virtio-mmio block
device at 0xd0000000 on IRQ 5.  An MP table (0xf0000) describes the
CPUs, the I/O APIC and the ISA IRQs; there are no ACPI tables, no PIC and no
PIT: Linux needs acpi=off, and its serial port is interrupt-driven.  Ports
and MMIO nobody claims read as all ones and are reported once each.

Exit status: 0 when the guest powers off, resets, or halts vCPU 0 with
interrupts disabled (what Linux does for "poweroff" without ACPI);
(v << 1) | 1 when it writes v to the debug-exit port; 2 for a usage error;
4 when the guest crashes (triple fault, failed entry, internal error);
6 when the host side fails; 8 when SIGINT or SIGTERM stopped it (each
vCPU's registers are printed first: where a hung guest was) or gdb killed it.
)";
}

} // namespace vrun

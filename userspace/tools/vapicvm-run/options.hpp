// SPDX-License-Identifier: GPL-2.0
/* vapicvm-run's command line. */
#ifndef VAPICVM_RUN_OPTIONS_HPP
#define VAPICVM_RUN_OPTIONS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <vapicvm/apicv.hpp>
#include <vapicvm/result.hpp>

#include "boot.hpp"

namespace vrun
{

struct Options {
	std::string kernel;
	std::string initrd;
	std::string disk; /* a virtio-blk disk image */
	bool disk_readonly = false;
	std::optional<std::string> cmdline; /* unset: the default for the kernel's format */
	std::uint64_t mem_bytes = 256ull << 20;
	unsigned cpus = 1;
	std::optional<std::uint64_t> flat_addr;
	std::optional<CpuMode> entry_mode;
	std::optional<vapicvm::ApicvFlags> apicv;
	std::uint32_t tsc_khz = 0; /* 0: the host's */
	std::uint16_t debug_exit_port = 0xf4;
	std::string device = "/dev/vapicvm";
	std::optional<std::uint16_t> gdb_port; /* --gdb: a gdb remote stub on 127.0.0.1 */
	bool stdin_input = true;
	bool stats = false;
	bool prefault = false; /* VAPICVM_MEM_PREFAULT on the RAM slots */
	bool verbose = false;
	bool help = false;
	bool version = false;
};

/* The command line Linux gets when -p is not given. */
extern const char *const default_linux_cmdline;

/* argv without the program name.  Errors name the offending option. */
vapicvm::Result<Options> parse_options(const std::vector<std::string> &args);

/* "256", "256M", "1G", "65536K" (no suffix: MiB). */
std::optional<std::uint64_t> parse_size(const std::string &s);
/* Decimal or 0x-hex. */
std::optional<std::uint64_t> parse_number(const std::string &s);

std::string usage(const char *prog);

} // namespace vrun

#endif

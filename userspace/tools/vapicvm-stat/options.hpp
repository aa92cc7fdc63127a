// SPDX-License-Identifier: GPL-2.0
/* vapicvm-stat's command line. */
#ifndef VAPICVM_STAT_OPTIONS_HPP
#define VAPICVM_STAT_OPTIONS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <vapicvm/result.hpp>

namespace vstat
{

struct Options {
	bool watch = false;
	bool events = false;
	bool json = false;
	bool vcpus = false;
	double interval = 1.0;              /* seconds between refreshes (--watch) */
	std::optional<unsigned> iterations; /* stop after this many refreshes or events */
	std::optional<std::uint64_t> vm;
	std::optional<std::uint32_t> vcpu;
	bool help = false;
	bool version = false;
};

/* argv without the program name.  Errors (EINVAL) name the offending option. */
vapicvm::Result<Options> parse_options(const std::vector<std::string> &args);

std::string usage(const char *prog);

/* The exit status of each failure; the man page lists them. */
enum class Status : int {
	Ok = 0,
	Error = 1,    /* any other failure */
	Usage = 2,    /* a bad command line */
	NoModule = 3, /* the vapicvm module is not loaded */
	NoFamily = 4, /* loaded, but without its netlink family */
	Denied = 5,   /* EPERM/EACCES: e.g. --events without CAP_SYS_ADMIN */
	NoVm = 6,     /* --vm names no VM the caller may see */
};

} // namespace vstat

#endif

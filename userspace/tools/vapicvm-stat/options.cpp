// SPDX-License-Identifier: GPL-2.0
#include <cerrno>
#include <cstdlib>

#include "options.hpp"

namespace vstat
{

using vapicvm::Error;
using vapicvm::Result;

namespace
{
std::optional<std::uint64_t> number(const std::string &s)
{
	if (s.empty() || s[0] == '-')
		return std::nullopt;
	char *end = nullptr;
	errno = 0;
	unsigned long long v = std::strtoull(s.c_str(), &end, 0);
	if (errno || *end)
		return std::nullopt;
	return v;
}

std::optional<double> seconds(const std::string &s)
{
	if (s.empty())
		return std::nullopt;
	char *end = nullptr;
	errno = 0;
	double v = std::strtod(s.c_str(), &end);
	if (errno || *end || !(v >= 0.05) || v > 3600)
		return std::nullopt;
	return v;
}

Error bad(const std::string &opt, const std::string &why)
{
	return Error::from_errno(EINVAL, opt, why);
}
} // namespace

Result<Options> parse_options(const std::vector<std::string> &args)
{
	Options o;
	for (std::size_t i = 0; i < args.size(); i++) {
		std::string a = args[i];
		std::optional<std::string> inline_value;
		if (a.rfind("--", 0) == 0) {
			auto eq = a.find('=');
			if (eq != std::string::npos) {
				inline_value = a.substr(eq + 1);
				a = a.substr(0, eq);
			}
		}
		auto value = [&]() -> std::optional<std::string> {
			if (inline_value)
				return inline_value;
			if (i + 1 < args.size())
				return args[++i];
			return std::nullopt;
		};
		if (a == "-h" || a == "--help") {
			o.help = true;
		} else if (a == "-V" || a == "--version") {
			o.version = true;
		} else if (a == "-w" || a == "--watch") {
			o.watch = true;
		} else if (a == "-e" || a == "--events") {
			o.events = true;
		} else if (a == "-j" || a == "--json") {
			o.json = true;
		} else if (a == "--vcpus") {
			o.vcpus = true;
		} else if (a == "-i" || a == "--interval") {
			auto v = value();
			auto s = v ? seconds(*v) : std::nullopt;
			if (!s)
				return bad(a, "needs seconds, 0.05 to 3600");
			o.interval = *s;
		} else if (a == "-n" || a == "--iterations") {
			auto v = value();
			auto n = v ? number(*v) : std::nullopt;
			if (!n || *n == 0 || *n > 1000000000u)
				return bad(a, "needs a count of at least 1");
			o.iterations = unsigned(*n);
		} else if (a == "--vm") {
			auto v = value();
			auto n = v ? number(*v) : std::nullopt;
			if (!n)
				return bad(a, "needs a VM id");
			o.vm = *n;
		} else if (a == "--vcpu") {
			auto v = value();
			auto n = v ? number(*v) : std::nullopt;
			if (!n || *n > 0xffffffffu)
				return bad(a, "needs a vCPU id");
			o.vcpu = std::uint32_t(*n);
		} else {
			return bad(a, "unknown option");
		}
		if (inline_value &&
		    (a == "-h" || a == "--help" || a == "--watch" || a == "--events" ||
		     a == "--json" || a == "--vcpus" || a == "--version"))
			return bad(a, "takes no value");
	}
	if (o.watch && o.events)
		return bad("--watch", "and --events exclude each other");
	if (o.watch && o.json)
		return bad("--watch", "and --json exclude each other");
	if (o.vcpu && !o.vm)
		return bad("--vcpu", "needs --vm");
	if (o.vcpu)
		o.vcpus = true;
	return o;
}

std::string usage(const char *prog)
{
	std::string p = prog;
	return "Usage: " + p +
	       " [--json] [--vcpus] [--vm ID [--vcpu N]]\n"
	       "       " +
	       p +
	       " --watch [--interval S] [--iterations N] [--vcpus] [--vm ID]\n"
	       "       " +
	       p +
	       " --events [--json] [--iterations N] [--vm ID [--vcpu N]]\n"
	       "\n"
	       "The vapicvm module's VMs, vCPUs and counters, through its generic\n"
	       "netlink family \"vapicvm\".\n"
	       "\n"
	       "  -j, --json            machine-readable output (one object; with --events,\n"
	       "                        one object per line)\n"
	       "      --vcpus           show each VM's vCPUs too ('v' toggles in --watch)\n"
	       "      --vm ID           only this VM\n"
	       "      --vcpu N          only this vCPU of --vm ID\n"
	       "  -w, --watch           a live view, refreshed in place ('q' quits)\n"
	       "  -i, --interval S      seconds between refreshes (default 1)\n"
	       "  -n, --iterations N    stop after N refreshes (--watch) or N events\n"
	       "  -e, --events          follow the events group (needs CAP_SYS_ADMIN)\n"
	       "  -V, --version         print the version\n"
	       "  -h, --help            this text\n"
	       "\n"
	       "Exit status: 0 ok, 1 error, 2 usage, 3 module not loaded, 4 no netlink\n"
	       "family, 5 access denied, 6 no such VM.  See vapicvm-stat(1).\n";
}

} // namespace vstat

// SPDX-License-Identifier: GPL-2.0
/* vapicvm-run: boot a guest on vapicvm.  See --help. */
#include <cstdio>
#include <string>
#include <vector>

#include <vapicvm/version.hpp>

#include "machine.hpp"
#include "options.hpp"

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	auto o = vrun::parse_options(args);
	if (!o) {
		std::fprintf(stderr, "vapicvm-run: %s\n", o.error().message().c_str());
		std::fprintf(stderr, "Try 'vapicvm-run --help'.\n");
		return vrun::exit_usage;
	}
	if (o->help) {
		std::fputs(vrun::usage("vapicvm-run").c_str(), stdout);
		return 0;
	}
	if (o->version) {
		std::printf("vapicvm-run %s (UAPI %d)\n", vapicvm::library_version(),
			    VAPICVM_API_VERSION);
		return 0;
	}
	return vrun::run_machine(*o);
}

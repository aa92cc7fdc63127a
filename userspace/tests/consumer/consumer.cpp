// SPDX-License-Identifier: GPL-2.0
/* Uses the installed headers and library without a vapicvm device. */
#include <cstdio>
#include <cstring>

#include <vapicvm/stats.hpp>
#include <vapicvm/vmm/vmm.hpp>

int main()
{
	using namespace vapicvm;
	auto tier = vmm::apicv_tier("vid+x2apic");
	if (!tier || !tier->valid())
		return 1;
	auto sys = System::open("/nonexistent/vapicvm");
	if (sys || sys.error().errno_value() != ENOENT)
		return 2;
	/* The installed header and the installed library agree. */
	char expected[32];
	std::snprintf(expected, sizeof(expected), "%d.%d.%d", VAPICVM_LIB_VERSION_MAJOR,
		      VAPICVM_LIB_VERSION_MINOR, VAPICVM_LIB_VERSION_PATCH);
	if (std::strcmp(library_version(), expected) != 0)
		return 3;
	/* The netlink family's side links (libnl-genl-3) and names its counters. */
	if (stat_name(VAPICVM_STAT_EXITS) != "exits")
		return 4;
	auto stats = Stats::open();
	if (!stats && stats.error().errno_value() == 0)
		return 5;
	std::printf("consumer: vapicvm %s, %s, %s\n", library_version(), tier->to_string().c_str(),
		    sys.error().message().c_str());
	return 0;
}

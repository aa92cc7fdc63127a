// SPDX-License-Identifier: GPL-2.0
/* vapicvm-stat's output: the one-shot table, JSON, the live view, event lines. */
#ifndef VAPICVM_STAT_FORMAT_HPP
#define VAPICVM_STAT_FORMAT_HPP

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <vapicvm/stats.hpp>

#include "model.hpp"

namespace vstat
{

/* "0", "512K", "256M", "1.5G". */
std::string human_bytes(std::uint64_t bytes);
/* "0", "950", "12.3k", "4.56M": three significant digits at most past a thousand. */
std::string human_rate(double per_second);
/* A JSON string literal, quotes included. */
std::string json_string(std::string_view s);

/* The one-shot view: a line per VM, then each VM's non-zero counters by name. */
std::string format_table(const Snapshot &s);

/* {"vms":[...]} with every counter by its table's name; one line. */
std::string format_json(const Snapshot &s);

struct Screen {
	unsigned cols = 80;
	unsigned rows = 24;
};

/*
 * The live view's lines: a header with totals, a line per VM by exit
 * rate (with vcpus, its vCPUs under it), the counters with the highest
 * rates.  At most screen.rows lines of at most screen.cols characters;
 * clock is the wall-clock time to show.
 */
std::vector<std::string> format_watch(const Snapshot *prev, const Snapshot &cur, Screen screen,
				      bool vcpus, std::string_view clock, double interval);

/* One event: a text line, or one JSON object; no newline. */
std::string format_event(const vapicvm::Event &e, std::string_view timestamp, bool json);

} // namespace vstat

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * vapicvm-stat: the vapicvm module's VMs, vCPUs, counters and events,
 * through its generic netlink family.  See vapicvm-stat.1.
 */
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <vapicvm/stats.hpp>
#include <vapicvm/version.hpp>

#include "format.hpp"
#include "model.hpp"
#include "options.hpp"

namespace
{

using vstat::Status;

double monotonic_seconds()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

/* "2026-12-05T22:30:01.123Z" (ms false: "22:30:01"). */
std::string wall_clock(bool full)
{
	timespec ts{};
	clock_gettime(CLOCK_REALTIME, &ts);
	tm t{};
	gmtime_r(&ts.tv_sec, &t);
	char buf[64];
	if (!full) {
		strftime(buf, sizeof(buf), "%H:%M:%S", &t);
		return buf;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
	char out[80];
	std::snprintf(out, sizeof(out), "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
	return out;
}

bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A failure's message on stderr, and its exit status. */
Status fail(const vapicvm::Error &e, bool opening, bool vm_lookup)
{
	int err = e.errno_value();
	Status st = Status::Error;
	std::string hint;
	if (err == EPERM || err == EACCES) {
		st = Status::Denied;
		hint = "access denied (the events group needs CAP_SYS_ADMIN)";
	} else if (err == ENOENT && opening) {
		if (!exists("/sys/module/vapicvm") && !exists("/dev/vapicvm")) {
			st = Status::NoModule;
			hint = "the vapicvm module is not loaded";
		} else {
			st = Status::NoFamily;
			hint = "the vapicvm module has no netlink family here (built without "
			       "networking, or not in the initial network namespace)";
		}
	} else if (err == ENOENT && vm_lookup) {
		st = Status::NoVm;
		hint = "no such VM (or not one of yours: seeing other users' VMs needs "
		       "CAP_PERFMON)";
	}
	std::fprintf(stderr, "vapicvm-stat: %s\n", e.message().c_str());
	if (!hint.empty())
		std::fprintf(stderr, "vapicvm-stat: %s\n", hint.c_str());
	return st;
}

/* The terminal in non-canonical mode without echo while it lives (stdin a tty). */
class RawStdin
{
public:
	RawStdin()
	{
		if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) < 0)
			return;
		termios t = saved_;
		t.c_lflag &= ~tcflag_t(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		active_ = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	RawStdin(const RawStdin &) = delete;
	RawStdin &operator=(const RawStdin &) = delete;
	~RawStdin()
	{
		if (active_)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
	}
	bool active() const noexcept { return active_; }

private:
	termios saved_{};
	bool active_ = false;
};

vstat::Screen screen_size()
{
	vstat::Screen s;
	winsize w{};
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col && w.ws_row) {
		s.cols = w.ws_col;
		s.rows = w.ws_row;
	}
	return s;
}

int run_events(const vstat::Options &o)
{
	auto ev = vapicvm::Events::open();
	if (!ev)
		return int(fail(ev.error(), true, false));
	unsigned shown = 0;
	for (;;) {
		auto e = ev->next(std::chrono::milliseconds(-1));
		if (!e) {
			if (e.error() == std::errc::no_buffer_space) {
				std::fprintf(stderr,
					     "vapicvm-stat: events lost (socket overflow)\n");
				continue;
			}
			return int(fail(e.error(), false, false));
		}
		if (!*e)
			continue;
		const auto &event = **e;
		if (o.vm && event.vm_id != *o.vm)
			continue;
		if (o.vcpu && event.vcpu_id != o.vcpu)
			continue;
		std::printf("%s\n", vstat::format_event(event, wall_clock(true), o.json).c_str());
		std::fflush(stdout);
		if (o.iterations && ++shown >= *o.iterations)
			return int(Status::Ok);
	}
}

int run_watch(vapicvm::Stats &stats, const vstat::Options &o)
{
	RawStdin raw;
	vstat::Filter f{o.vm, o.vcpu, o.vcpus};
	std::optional<vstat::Snapshot> prev;
	for (unsigned n = 0;;) {
		auto snap = vstat::take_snapshot(stats, f, monotonic_seconds());
		if (!snap)
			return int(fail(snap.error(), false, bool(o.vm)));
		auto lines = vstat::format_watch(prev ? &*prev : nullptr, *snap, screen_size(),
						 f.vcpus, wall_clock(false), o.interval);
		std::string frame = "\x1b[H\x1b[2J";
		for (std::size_t i = 0; i < lines.size(); i++)
			frame += lines[i] + (i + 1 < lines.size() ? "\n" : "");
		std::fputs(frame.c_str(), stdout);
		std::fflush(stdout);
		prev = std::move(*snap);
		if (o.iterations && ++n >= *o.iterations)
			break;
		/* Wait out the interval, taking keys. */
		double until = monotonic_seconds() + o.interval;
		bool quit = false;
		for (double now = monotonic_seconds(); now < until && !quit;
		     now = monotonic_seconds()) {
			pollfd p{STDIN_FILENO, POLLIN, 0};
			int wait = int((until - now) * 1000) + 1;
			if (!raw.active()) {
				poll(nullptr, 0, wait);
				continue;
			}
			if (poll(&p, 1, wait) <= 0)
				continue;
			char c = 0;
			if (read(STDIN_FILENO, &c, 1) != 1)
				continue;
			if (c == 'q' || c == 'Q')
				quit = true;
			else if (c == 'v' || c == 'V')
				f.vcpus = !f.vcpus;
			if (c == 'v' || c == 'V')
				break; /* redraw now */
		}
		if (quit)
			break;
	}
	std::fputs("\n", stdout);
	return int(Status::Ok);
}

} // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	auto opts = vstat::parse_options(args);
	if (!opts) {
		std::fprintf(stderr, "vapicvm-stat: %s\n%s", opts.error().message().c_str(),
			     vstat::usage(argv[0]).c_str());
		return int(Status::Usage);
	}
	const auto &o = *opts;
	if (o.help) {
		std::fputs(vstat::usage(argv[0]).c_str(), stdout);
		return int(Status::Ok);
	}
	if (o.version) {
		std::printf("vapicvm-stat %s\n", vapicvm::library_version());
		return int(Status::Ok);
	}
	if (o.events)
		return run_events(o);

	auto stats = vapicvm::Stats::open();
	if (!stats)
		return int(fail(stats.error(), true, false));
	if (o.watch)
		return run_watch(*stats, o);
	auto snap = vstat::take_snapshot(*stats, {o.vm, o.vcpu, o.vcpus || o.json},
					 monotonic_seconds());
	if (!snap)
		return int(fail(snap.error(), false, bool(o.vm)));
	if (o.json)
		std::printf("%s\n", vstat::format_json(*snap).c_str());
	else
		std::fputs(vstat::format_table(*snap).c_str(), stdout);
	return int(Status::Ok);
}

// SPDX-License-Identifier: GPL-2.0
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include <vapicvm/exit.hpp>
#include <vapicvm/vcpu.hpp>

#include "format.hpp"

namespace vstat
{

using vapicvm::Counters;

namespace
{
template <typename... Args>
std::string fmt(const char *f, Args... args)
{
	char buf[512];
	int n = std::snprintf(buf, sizeof(buf), f, args...);
	if (n < 0)
		return {};
	return std::string(buf, std::min<std::size_t>(std::size_t(n), sizeof(buf) - 1));
}

std::string hex(std::uint64_t v, int width = 0)
{
	return fmt("0x%0*" PRIx64, width, v);
}

/* The name of a VMX basic exit reason, or "reason_<n>". */
std::string vmx_name(std::uint32_t r)
{
	auto n = vapicvm::vmx_exit_reason_name(r);
	return n.empty() ? "reason_" + std::to_string(r) : std::string(n);
}

/* "EOI(0x0b0)", or the offset alone. */
std::string apic_name(std::uint32_t off)
{
	auto n = vapicvm::apic_register_name(off);
	return n.empty() ? hex(off, 3) : std::string(n) + "(" + hex(off, 3) + ")";
}

std::string user_exit_name(std::uint32_t r)
{
	auto n = vapicvm::exit_reason_name(r);
	return n.empty() || n == "?" ? "exit_" + std::to_string(r) : std::string(n);
}

std::string stat_key(std::size_t i)
{
	auto n = vapicvm::stat_name(i);
	return n.empty() ? "stat_" + std::to_string(i) : std::string(n);
}

std::string vm_stat_key(std::size_t i)
{
	auto n = vapicvm::vm_stat_name(i);
	return n.empty() ? "vm_stat_" + std::to_string(i) : std::string(n);
}

std::string mp_state(std::uint32_t s)
{
	return std::string(vapicvm::mp_state_name(vapicvm::MpState(s)));
}

/* The live view's short vCPU states. */
std::string short_mp_state(std::uint32_t s)
{
	switch (s) {
	case VAPICVM_MP_STATE_RUNNABLE:
		return "run";
	case VAPICVM_MP_STATE_UNINITIALIZED:
		return "uninit";
	case VAPICVM_MP_STATE_INIT_RECEIVED:
		return "sipi-wait";
	case VAPICVM_MP_STATE_HALTED:
		return "halted";
	}
	return "?";
}

bool is_time(std::size_t i)
{
	return i == VAPICVM_STAT_HALT_NS || i == VAPICVM_STAT_GUEST_NS;
}

std::string seconds(std::uint64_t ns)
{
	return fmt("%.3f s", double(ns) / 1e9);
}

/* Cut s to n characters (the output is ASCII). */
std::string fit(std::string s, unsigned n)
{
	if (s.size() > n)
		s.resize(n);
	return s;
}

/* ---------------------------------------------------------------- table */

void counter_lines(std::string &out, const Counters &c, const char *indent)
{
	for (std::size_t i = 0; i < c.stats.size(); i++) {
		if (!c.stats[i])
			continue;
		out += fmt("%s%-26s %20" PRIu64, indent, stat_key(i).c_str(), c.stats[i]);
		if (is_time(i))
			out += "  (" + seconds(c.stats[i]) + ")";
		out += "\n";
	}
	for (const auto &[i, v] : c.extra)
		if (v)
			out += fmt("%s%-26s %20" PRIu64 "\n", indent, stat_key(i).c_str(), v);
	auto map_line = [&](const char *title, const auto &m, auto name) {
		if (m.empty())
			return;
		out += fmt("%s%s:", indent, title);
		for (const auto &[k, v] : m)
			out += " " + name(k) + "=" + std::to_string(v);
		out += "\n";
	};
	map_line("exit reasons", c.exit_reasons, vmx_name);
	map_line("APIC accesses", c.apic_access, apic_name);
	map_line("APIC writes", c.apic_write, apic_name);
	map_line("exits to userspace", c.user_exits, user_exit_name);
}

std::string vcpu_summary(const vapicvm::VcpuInfo &v)
{
	return fmt("vCPU %u: cpu %s, %s, %s%s", v.vcpu_id,
		   v.last_cpu ? std::to_string(*v.last_cpu).c_str() : "-",
		   std::string(vapicvm::apic_mode_name(v.apic_mode)).c_str(),
		   mp_state(v.mp_state).c_str(), v.in_guest ? ", in guest" : "");
}

/* ---------------------------------------------------------------- JSON */

void json_map(std::string &out, const char *key, const std::map<std::uint32_t, std::uint64_t> &m,
	      std::string (*name)(std::uint32_t))
{
	out += ",\"";
	out += key;
	out += "\":{";
	bool first = true;
	for (const auto &[k, v] : m) {
		if (!first)
			out += ",";
		first = false;
		out += json_string(name(k)) + ":" + std::to_string(v);
	}
	out += "}";
}

std::string apic_key(std::uint32_t off)
{
	return hex(off, 3);
}

void json_counters(std::string &out, const Counters &c)
{
	out += ",\"counters\":{";
	for (std::size_t i = 0; i < c.stats.size(); i++) {
		if (i)
			out += ",";
		out += json_string(stat_key(i)) + ":" + std::to_string(c.stats[i]);
	}
	for (const auto &[i, v] : c.extra)
		out += "," + json_string(stat_key(i)) + ":" + std::to_string(v);
	out += "}";
	json_map(out, "exit_reasons", c.exit_reasons, vmx_name);
	json_map(out, "apic_access", c.apic_access, apic_key);
	json_map(out, "apic_write", c.apic_write, apic_key);
	json_map(out, "user_exits", c.user_exits, user_exit_name);
}

std::string json_vcpu(const vapicvm::VcpuInfo &v)
{
	std::string out = "{\"id\":" + std::to_string(v.vcpu_id);
	out += ",\"last_cpu\":" + (v.last_cpu ? std::to_string(*v.last_cpu) : std::string("null"));
	out += ",\"apic_mode\":" + json_string(vapicvm::apic_mode_name(v.apic_mode));
	out += ",\"mp_state\":" + json_string(mp_state(v.mp_state));
	out += std::string(",\"in_guest\":") + (v.in_guest ? "true" : "false");
	json_counters(out, v.counters);
	return out + "}";
}

std::string json_vm(const VmSnapshot &s)
{
	const auto &vm = s.info;
	std::string out = "{\"id\":" + std::to_string(vm.id);
	out += ",\"pid\":" + std::to_string(vm.pid);
	out += ",\"uid\":" + std::to_string(vm.uid);
	out += ",\"nr_vcpus\":" + std::to_string(vm.nr_vcpus);
	out += ",\"mem_bytes\":" + std::to_string(vm.mem_bytes);
	out += ",\"pinned_bytes\":" + std::to_string(vm.pinned_bytes);
	out += ",\"apicv\":" + std::to_string(vm.apicv);
	out += ",\"apicv_requested\":" + std::to_string(vm.apicv_requested);
	out += ",\"tier\":" + json_string(vm.tier);
	out += ",\"features\":[";
	for (std::size_t i = 0; i < vm.features.size(); i++) {
		const auto &f = vm.features[i];
		if (i)
			out += ",";
		out += "{\"name\":" + json_string(f.name) +
		       ",\"state\":" + json_string(vapicvm::feature_state_name(f.state)) +
		       ",\"needs\":" + std::to_string(f.needs) + "}";
	}
	out += "]";
	json_counters(out, vm.counters);
	out += ",\"vm_counters\":{";
	for (std::size_t i = 0; i < vm.vm_stats.size(); i++) {
		if (i)
			out += ",";
		out += json_string(vm_stat_key(i)) + ":" + std::to_string(vm.vm_stats[i]);
	}
	for (const auto &[i, v] : vm.vm_stats_extra)
		out += "," + json_string(vm_stat_key(i)) + ":" + std::to_string(v);
	out += "},\"vcpus\":[";
	for (std::size_t i = 0; i < s.vcpus.size(); i++) {
		if (i)
			out += ",";
		out += json_vcpu(s.vcpus[i]);
	}
	return out + "]}";
}
} // namespace

std::string human_bytes(std::uint64_t b)
{
	static const char units[] = "KMGTPE";
	if (b < 1024)
		return std::to_string(b);
	double v = double(b);
	int u = -1;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v < 10 && std::fmod(v, 1.0) != 0)
		return fmt("%.1f%c", v, units[u]);
	return fmt("%.0f%c", v, units[u]);
}

std::string human_rate(double r)
{
	if (!(r > 0))
		return "0";
	if (r < 1000)
		return r < 10 && std::fmod(r, 1.0) != 0 ? fmt("%.1f", r) : fmt("%.0f", r);
	static const char units[] = "kMGTP";
	int u = -1;
	while (r >= 1000 && u < 4) {
		r /= 1000;
		u++;
	}
	if (r < 10)
		return fmt("%.2f%c", r, units[u]);
	if (r < 100)
		return fmt("%.1f%c", r, units[u]);
	return fmt("%.0f%c", r, units[u]);
}

std::string json_string(std::string_view s)
{
	std::string out = "\"";
	for (unsigned char c : s) {
		switch (c) {
		case '"':
			out += "\\\"";
			break;
		case '\\':
			out += "\\\\";
			break;
		case '\n':
			out += "\\n";
			break;
		case '\t':
			out += "\\t";
			break;
		case '\r':
			out += "\\r";
			break;
		default:
			if (c < 0x20)
				out += fmt("\\u%04x", c);
			else
				out += char(c);
		}
	}
	return out + "\"";
}

std::string format_table(const Snapshot &s)
{
	std::string out = fmt("%6s %7s %6s %5s %6s %-13s %12s %10s %9s %10s\n", "VM", "PID", "UID",
			      "VCPUS", "MEM", "TIER", "EXITS", "IRQS", "IPIS", "GUEST_S");
	for (const auto &v : s.vms) {
		const auto &vm = v.info;
		out += fmt("%6" PRIu64 " %7u %6u %5u %6s %-13s %12" PRIu64 " %10" PRIu64
			   " %9" PRIu64 " %10.3f\n",
			   vm.id, vm.pid, vm.uid, vm.nr_vcpus, human_bytes(vm.mem_bytes).c_str(),
			   fit(vm.tier, 13).c_str(), vm.counters[VAPICVM_STAT_EXITS],
			   irqs(vm.counters), vm.counters[VAPICVM_STAT_IPI_SENT],
			   double(vm.counters[VAPICVM_STAT_GUEST_NS]) / 1e9);
	}
	if (s.vms.empty())
		out += "(no VMs)\n";
	for (const auto &v : s.vms) {
		const auto &vm = v.info;
		out += fmt("\nVM %" PRIu64 " (pid %u, uid %u): %u vCPUs, memory %s (%s pinned)\n",
			   vm.id, vm.pid, vm.uid, vm.nr_vcpus, human_bytes(vm.mem_bytes).c_str(),
			   human_bytes(vm.pinned_bytes).c_str());
		out += fmt("  APIC virtualization: tier %s, in use %s, requested %s\n",
			   vm.tier.c_str(), hex(vm.apicv, 2).c_str(),
			   hex(vm.apicv_requested, 2).c_str());
		if (!vm.features.empty()) {
			out += "  features:";
			for (const auto &f : vm.features) {
				out += " " + f.name + "=" +
				       std::string(vapicvm::feature_state_name(f.state));
				if (f.state == VAPICVM_FEATURE_NEEDS_FEATURE)
					out += "(" + hex(f.needs, 2) + ")";
			}
			out += "\n";
		}
		counter_lines(out, vm.counters, "  ");
		for (std::size_t i = 0; i < vm.vm_stats.size(); i++)
			if (vm.vm_stats[i])
				out += fmt("  %-26s %20" PRIu64 "\n", vm_stat_key(i).c_str(),
					   vm.vm_stats[i]);
		for (const auto &[i, val] : vm.vm_stats_extra)
			if (val)
				out += fmt("  %-26s %20" PRIu64 "\n", vm_stat_key(i).c_str(), val);
		for (const auto &c : v.vcpus) {
			out += "  " + vcpu_summary(c) + "\n";
			counter_lines(out, c.counters, "    ");
		}
	}
	return out;
}

std::string format_json(const Snapshot &s)
{
	std::string out = "{\"vms\":[";
	for (std::size_t i = 0; i < s.vms.size(); i++) {
		if (i)
			out += ",";
		out += json_vm(s.vms[i]);
	}
	return out + "]}";
}

std::vector<std::string> format_watch(const Snapshot *prev, const Snapshot &cur, Screen screen,
				      bool vcpus, std::string_view clock, double interval)
{
	unsigned cols = std::max(screen.cols, 20u);
	unsigned rows = std::max(screen.rows, 3u);
	auto rates = vm_rates(prev, cur);
	auto t = totals(rates);
	double dt = prev ? cur.time - prev->time : 0;
	std::vector<std::string> lines;
	auto add = [&](std::string l) {
		if (lines.size() < rows)
			lines.push_back(fit(std::move(l), cols));
	};
	add(fmt("vapicvm-stat %.*s  every %.1fs  VMs %zu  vCPUs %zu  exits/s %s  irqs/s %s",
		int(clock.size()), clock.data(), interval, t.vms, t.vcpus,
		human_rate(t.exits).c_str(), human_rate(t.irqs).c_str()));
	add(fmt("%5s %7s %5s %5s %-13s %8s %7s %7s %6s %6s", "VM", "PID", "VCPUS", "MEM", "TIER",
		"EXITS/s", "IRQS/s", "IPIS/s", "GUEST%", "HALT%"));
	/* Keep room for at least a few top counters below the VMs. */
	unsigned top_rows = rows >= 12 ? 5 : 0;
	unsigned vm_room = rows - std::min<unsigned>(rows, unsigned(lines.size()) + top_rows +
								   (top_rows ? 2 : 0));
	unsigned used = 0;
	std::size_t hidden = 0;
	for (const auto &r : rates) {
		const auto &vm = r.vm->info;
		if (used >= vm_room) {
			hidden++;
			continue;
		}
		add(fmt("%5" PRIu64 " %7u %5u %5s %-13s %8s %7s %7s %6.1f %6.1f", vm.id, vm.pid,
			vm.nr_vcpus, human_bytes(vm.mem_bytes).c_str(), fit(vm.tier, 13).c_str(),
			human_rate(r.exits).c_str(), human_rate(r.irqs).c_str(),
			human_rate(r.ipis).c_str(), r.guest, r.halt));
		used++;
		if (!vcpus)
			continue;
		const VmSnapshot *p = nullptr;
		if (prev)
			for (const auto &pv : prev->vms)
				if (pv.info.id == vm.id)
					p = &pv;
		for (const auto &c : vcpu_rates(p, *r.vm, dt)) {
			if (used >= vm_room)
				break;
			const auto &v = *c.vcpu;
			std::string desc =
				"cpu " +
				(v.last_cpu ? std::to_string(*v.last_cpu) : std::string("-")) +
				" " + std::string(vapicvm::apic_mode_name(v.apic_mode)) + " " +
				short_mp_state(v.mp_state) + (v.in_guest ? " G" : "");
			add(fmt("  vcpu%-7u %-25s %8s %7s %7s %6.1f %6.1f", v.vcpu_id,
				fit(desc, 25).c_str(), human_rate(c.exits).c_str(),
				human_rate(c.irqs).c_str(), "-", c.guest, c.halt));
			used++;
		}
	}
	if (hidden)
		add(fmt("  ... %zu more VMs", hidden));
	if (cur.vms.empty())
		add("  (no VMs)");
	if (top_rows && lines.size() + 2 <= rows) {
		add("");
		add(fmt("%-28s %10s %20s", "TOP COUNTERS", "/s", "TOTAL"));
		for (const auto &c : top_counters(prev, cur, rows - lines.size()))
			add(fmt("  %-26s %10s %20" PRIu64, c.name.c_str(),
				human_rate(c.rate).c_str(), c.total));
	}
	return lines;
}

std::string format_event(const vapicvm::Event &e, std::string_view ts, bool json)
{
	std::string kind(vapicvm::event_kind_name(e.kind));
	if (json) {
		std::string out =
			"{\"time\":" + json_string(ts) + ",\"event\":" + json_string(kind);
		out += ",\"kind\":" + std::to_string(std::uint32_t(e.kind));
		out += ",\"vm\":" + std::to_string(e.vm_id);
		auto num = [&](const char *k, const auto &v) {
			if (v)
				out += std::string(",\"") + k + "\":" + std::to_string(*v);
		};
		num("vcpu", e.vcpu_id);
		num("old", e.old_value);
		num("new", e.new_value);
		num("reason", e.reason);
		num("qualification", e.qualification);
		num("pid", e.pid);
		num("uid", e.uid);
		num("apicv", e.apicv);
		if (e.tier)
			out += ",\"tier\":" + json_string(*e.tier);
		return out + "}";
	}
	std::string out = std::string(ts) + " " + kind + " vm " + std::to_string(e.vm_id);
	if (e.vcpu_id)
		out += " vcpu " + std::to_string(*e.vcpu_id);
	switch (e.kind) {
	case vapicvm::EventKind::ApicMode:
		if (e.old_value && e.new_value)
			out += " " + std::string(vapicvm::apic_mode_name(*e.old_value)) + " -> " +
			       std::string(vapicvm::apic_mode_name(*e.new_value));
		break;
	case vapicvm::EventKind::Apicv:
		if (e.old_value && e.new_value)
			out += " " + hex(*e.old_value, 2) + " -> " + hex(*e.new_value, 2);
		break;
	case vapicvm::EventKind::EntryFailed:
		if (e.reason)
			out += " reason " + hex(*e.reason);
		if (e.qualification)
			out += " qualification " + hex(*e.qualification);
		break;
	case vapicvm::EventKind::InternalError:
		if (e.reason)
			out += " suberror " + std::to_string(*e.reason);
		break;
	case vapicvm::EventKind::RateClamp:
		if (e.reason)
			out += *e.reason == VAPICVM_CLAMP_TIMER
				       ? " timer"
				       : " kind " + std::to_string(*e.reason);
		break;
	case vapicvm::EventKind::VmCreate:
		if (e.pid)
			out += " pid " + std::to_string(*e.pid);
		if (e.uid)
			out += " uid " + std::to_string(*e.uid);
		if (e.apicv)
			out += " apicv " + hex(*e.apicv, 2);
		if (e.tier)
			out += " tier " + *e.tier;
		break;
	default:
		break;
	}
	return out;
}

} // namespace vstat

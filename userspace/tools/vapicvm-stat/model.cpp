// SPDX-License-Identifier: GPL-2.0
#include <algorithm>

#include "model.hpp"

namespace vstat
{

using vapicvm::Counters;
using vapicvm::Result;

Result<Snapshot> take_snapshot(vapicvm::Stats &stats, const Filter &filter, double now)
{
	Snapshot s;
	s.time = now;
	std::vector<vapicvm::VmInfo> vms;
	if (filter.vm) {
		auto vm = stats.vm(*filter.vm);
		if (!vm)
			return std::move(vm).error();
		vms.push_back(std::move(*vm));
	} else {
		auto all = stats.vms();
		if (!all)
			return std::move(all).error();
		vms = std::move(*all);
	}
	for (auto &vm : vms) {
		VmSnapshot v{std::move(vm), {}};
		if (filter.vcpus) {
			auto vcpus = stats.vcpus(v.info.id, filter.vcpu);
			if (!vcpus) {
				if (vcpus.error() == std::errc::no_such_file_or_directory &&
				    !filter.vm)
					continue; /* destroyed since the dump */
				return std::move(vcpus).error();
			}
			v.vcpus = std::move(*vcpus);
		}
		s.vms.push_back(std::move(v));
	}
	return s;
}

double rate(std::uint64_t prev, std::uint64_t cur, double dt) noexcept
{
	if (dt <= 0 || cur < prev)
		return 0;
	return double(cur - prev) / dt;
}

std::uint64_t irqs(const Counters &c) noexcept
{
	return c[VAPICVM_STAT_IRQ_INJECTED] + c[VAPICVM_STAT_IRQ_POSTED] + c[VAPICVM_STAT_IRQ_VID];
}

namespace
{
const VmSnapshot *find_vm(const Snapshot *s, std::uint64_t id)
{
	if (!s)
		return nullptr;
	for (const auto &v : s->vms)
		if (v.info.id == id)
			return &v;
	return nullptr;
}

const vapicvm::VcpuInfo *find_vcpu(const VmSnapshot *v, std::uint32_t id)
{
	if (!v)
		return nullptr;
	for (const auto &c : v->vcpus)
		if (c.vcpu_id == id)
			return &c;
	return nullptr;
}

const Counters zero{};

/* Percent of n vCPUs' dt seconds a nanosecond counter grew by. */
double percent(std::uint64_t prev, std::uint64_t cur, double dt, std::uint32_t n)
{
	if (n == 0)
		return 0;
	double p = rate(prev, cur, dt) / 1e9 / n * 100;
	return std::min(p, 100.0);
}
} // namespace

std::vector<VmRates> vm_rates(const Snapshot *prev, const Snapshot &cur)
{
	double dt = prev ? cur.time - prev->time : 0;
	std::vector<VmRates> out;
	for (const auto &v : cur.vms) {
		const VmSnapshot *p = find_vm(prev, v.info.id);
		const Counters &a = p ? p->info.counters : zero;
		const Counters &b = v.info.counters;
		VmRates r;
		r.vm = &v;
		r.exits = rate(a[VAPICVM_STAT_EXITS], b[VAPICVM_STAT_EXITS], dt);
		r.irqs = rate(irqs(a), irqs(b), dt);
		r.ipis = rate(a[VAPICVM_STAT_IPI_SENT], b[VAPICVM_STAT_IPI_SENT], dt);
		std::uint32_t n = std::max<std::uint32_t>(v.info.nr_vcpus, 1);
		r.guest = percent(a[VAPICVM_STAT_GUEST_NS], b[VAPICVM_STAT_GUEST_NS], dt, n);
		r.halt = percent(a[VAPICVM_STAT_HALT_NS], b[VAPICVM_STAT_HALT_NS], dt, n);
		out.push_back(r);
	}
	std::stable_sort(out.begin(), out.end(), [](const VmRates &x, const VmRates &y) {
		if (x.exits != y.exits)
			return x.exits > y.exits;
		return x.vm->info.id < y.vm->info.id;
	});
	return out;
}

std::vector<VcpuRates> vcpu_rates(const VmSnapshot *prev, const VmSnapshot &cur, double dt)
{
	std::vector<VcpuRates> out;
	for (const auto &c : cur.vcpus) {
		const vapicvm::VcpuInfo *p = find_vcpu(prev, c.vcpu_id);
		const Counters &a = p ? p->counters : zero;
		const Counters &b = c.counters;
		VcpuRates r;
		r.vcpu = &c;
		double d = prev ? dt : 0;
		r.exits = rate(a[VAPICVM_STAT_EXITS], b[VAPICVM_STAT_EXITS], d);
		r.irqs = rate(irqs(a), irqs(b), d);
		r.guest = percent(a[VAPICVM_STAT_GUEST_NS], b[VAPICVM_STAT_GUEST_NS], d, 1);
		r.halt = percent(a[VAPICVM_STAT_HALT_NS], b[VAPICVM_STAT_HALT_NS], d, 1);
		out.push_back(r);
	}
	return out;
}

std::vector<CounterRate> top_counters(const Snapshot *prev, const Snapshot &cur, std::size_t n)
{
	double dt = prev ? cur.time - prev->time : 0;
	std::vector<CounterRate> out;
	for (std::size_t i = 0; i < VAPICVM_STAT_NR; i++) {
		if (i == VAPICVM_STAT_HALT_NS || i == VAPICVM_STAT_GUEST_NS)
			continue;
		CounterRate c;
		c.name = std::string(vapicvm::stat_name(i));
		for (const auto &v : cur.vms) {
			const VmSnapshot *p = find_vm(prev, v.info.id);
			std::uint64_t before = p ? p->info.counters.stats[i] : 0;
			c.rate += rate(before, v.info.counters.stats[i], dt);
			c.total += v.info.counters.stats[i];
		}
		if (c.total > 0)
			out.push_back(std::move(c));
	}
	std::stable_sort(out.begin(), out.end(), [](const CounterRate &x, const CounterRate &y) {
		if (x.rate != y.rate)
			return x.rate > y.rate;
		return x.total > y.total;
	});
	if (out.size() > n)
		out.resize(n);
	return out;
}

Totals totals(const std::vector<VmRates> &rows)
{
	Totals t;
	for (const auto &r : rows) {
		t.vms++;
		t.vcpus += r.vm->info.nr_vcpus;
		t.exits += r.exits;
		t.irqs += r.irqs;
		t.ipis += r.ipis;
	}
	return t;
}

} // namespace vstat

// SPDX-License-Identifier: GPL-2.0
/* vapicvm-stat's data: snapshots of the family's VMs and vCPUs, and rates between two. */
#ifndef VAPICVM_STAT_MODEL_HPP
#define VAPICVM_STAT_MODEL_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <vapicvm/result.hpp>
#include <vapicvm/stats.hpp>

namespace vstat
{

struct VmSnapshot {
	vapicvm::VmInfo info;
	std::vector<vapicvm::VcpuInfo> vcpus; /* when asked for */
};

struct Snapshot {
	double time = 0; /* seconds, monotonic */
	std::vector<VmSnapshot> vms;
};

/* Which VMs and vCPUs a snapshot holds. */
struct Filter {
	std::optional<std::uint64_t> vm;
	std::optional<std::uint32_t> vcpu;
	bool vcpus = false; /* read the vCPUs too */
};

/*
 * Read the family now.  A VM that goes away between the dump and its
 * vCPUs' is left out; with filter.vm, ENOENT when there is no such VM.
 */
vapicvm::Result<Snapshot> take_snapshot(vapicvm::Stats &stats, const Filter &filter, double now);

/* (cur - prev) / dt; 0 when the counter went back (a new VM reusing nothing) or dt <= 0. */
double rate(std::uint64_t prev, std::uint64_t cur, double dt) noexcept;

/* A VM's line in the live view, its rates against the previous snapshot. */
struct VmRates {
	const VmSnapshot *vm = nullptr;
	double exits = 0; /* per second */
	double irqs = 0;  /* injected + posted + left to VID, per second */
	double ipis = 0;  /* per second */
	double guest = 0; /* percent of its vCPUs' time in guest mode */
	double halt = 0;  /* percent of its vCPUs' time halted */
};

struct VcpuRates {
	const vapicvm::VcpuInfo *vcpu = nullptr;
	double exits = 0;
	double irqs = 0;
	double guest = 0;
	double halt = 0;
};

/* The rates of cur's VMs (a VM new since prev: from zero over dt), by exit rate, highest first. */
std::vector<VmRates> vm_rates(const Snapshot *prev, const Snapshot &cur);
/* The rates of one VM's vCPUs, by id. */
std::vector<VcpuRates> vcpu_rates(const VmSnapshot *prev, const VmSnapshot &cur, double dt);

/* A counter summed over all VMs: its rate and total. */
struct CounterRate {
	std::string name;
	double rate = 0;
	std::uint64_t total = 0;
};

/* The non-zero per-vCPU counters (times excluded) by rate, then total; at most n. */
std::vector<CounterRate> top_counters(const Snapshot *prev, const Snapshot &cur, std::size_t n);

/* Totals over cur's VMs. */
struct Totals {
	std::size_t vms = 0;
	std::size_t vcpus = 0;
	double exits = 0; /* per second */
	double irqs = 0;
	double ipis = 0;
};
Totals totals(const std::vector<VmRates> &rows);

/* irq_injected + irq_posted + irq_vid. */
std::uint64_t irqs(const vapicvm::Counters &c) noexcept;

} // namespace vstat

#endif

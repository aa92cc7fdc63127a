// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID, from VAPICVM_GET_SUPPORTED_CPUID plus what the machine
 * tells the guest about itself: the vCPU count, the always-running APIC
 * timer (ARAT), and the TSC and crystal frequencies (leaves 0x15, 0x16 and
 * the hypervisor timing leaf 0x40000010), so the guest needs no legacy
 * timer to calibrate.
 */
#ifndef VAPICVM_RUN_CPUID_SETUP_HPP
#define VAPICVM_RUN_CPUID_SETUP_HPP

#include <cstdint>
#include <functional>
#include <utility>

#include <vapicvm/result.hpp>
#include <vapicvm/vmm/cpuid.hpp>

namespace vrun
{

/* vapicvm's local APIC timer runs at 1 GHz (module/lapic.c): the "crystal". */
constexpr std::uint32_t apic_timer_hz = 1000000000u;

struct CpuidOptions {
	unsigned ncpus = 1;
	std::uint32_t tsc_khz = 0; /* 0: leave the frequency leaves alone */
};

vapicvm::Result<vapicvm::vmm::CpuidTable>
build_guest_cpuid(const vapicvm::vmm::CpuidTable &supported, const CpuidOptions &opts);

/*
 * numerator/denominator approximating khz/crystal_khz with numerator *
 * crystal_khz below 2^32 (Linux multiplies them in 32 bits).
 */
std::pair<std::uint32_t, std::uint32_t> tsc_ratio(std::uint32_t tsc_khz, std::uint32_t crystal_khz);

/*
 * The host TSC frequency in kHz, when VAPICVM_CAP_TSC_KHZ did not give the
 * guest's: /sys/devices/system/cpu/cpu0/tsc_freq_khz where a kernel
 * provides it, else a calibration of RDTSC against CLOCK_MONOTONIC_RAW over
 * about 50 ms.
 */
vapicvm::Result<std::uint32_t> host_tsc_khz();

/* The calibration, with its clocks passed in (for tests). */
std::uint32_t calibrate_tsc_khz(const std::function<std::uint64_t()> &now_ns,
				const std::function<std::uint64_t()> &rdtsc,
				std::uint64_t interval_ns);

} // namespace vrun

#endif

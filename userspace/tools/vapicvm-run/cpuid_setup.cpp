// SPDX-License-Identifier: GPL-2.0
#include <fstream>
#include <numeric>

#include <time.h>
#include <x86intrin.h>

#include "cpuid_setup.hpp"

namespace vrun
{

using vapicvm::Error;
using vapicvm::Result;
using vapicvm::vmm::CpuidTable;

std::pair<std::uint32_t, std::uint32_t> tsc_ratio(std::uint32_t tsc_khz, std::uint32_t crystal_khz)
{
	if (tsc_khz == 0 || crystal_khz == 0)
		return {0, 0};
	const std::uint64_t max_num = 0xffffffffull / crystal_khz;
	std::uint64_t g = std::gcd(tsc_khz, crystal_khz);
	std::uint64_t p = tsc_khz / g, q = crystal_khz / g;
	if (p <= max_num)
		return {static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(q)};
	/* Continued fraction of p/q; keep the best (semi)convergent with numerator <= max_num. */
	std::uint64_t h2 = 0, h1 = 1, k2 = 1, k1 = 0;
	std::uint64_t a = p, b = q;
	std::uint64_t best_h = 1, best_k = 1;
	while (b) {
		std::uint64_t ai = a / b;
		std::uint64_t h = ai * h1 + h2, k = ai * k1 + k2;
		if (h > max_num) {
			std::uint64_t t = h1 ? (max_num - h2) / h1 : 0;
			if (t > 0) {
				std::uint64_t sh = t * h1 + h2, sk = t * k1 + k2;
				/* |sh/sk - p/q| < |h1/k1 - p/q| ? */
				auto err = [&](std::uint64_t x, std::uint64_t y) {
					__int128 d = (__int128)x * q - (__int128)p * y;
					if (d < 0)
						d = -d;
					return static_cast<long double>(d) /
					       (static_cast<long double>(y) * q);
				};
				if (k1 == 0 || err(sh, sk) < err(h1, k1))
					return {static_cast<std::uint32_t>(sh),
						static_cast<std::uint32_t>(sk)};
			}
			break;
		}
		h2 = h1;
		h1 = h;
		k2 = k1;
		k1 = k;
		best_h = h;
		best_k = k;
		std::uint64_t r = a % b;
		a = b;
		b = r;
	}
	return {static_cast<std::uint32_t>(best_h), static_cast<std::uint32_t>(best_k)};
}

Result<CpuidTable> build_guest_cpuid(const CpuidTable &supported, const CpuidOptions &o)
{
	CpuidTable t = supported;
	const unsigned n = o.ncpus ? o.ncpus : 1;
	auto set = [&](std::uint32_t fn, std::uint32_t idx, bool sig, std::uint32_t a,
		       std::uint32_t b, std::uint32_t c,
		       std::uint32_t d) { return t.set(fn, idx, sig, a, b, c, d); };
	Result<void> r = vapicvm::ok();

	if (auto *e = t.find(0); e && o.tsc_khz && e->eax < 0x16)
		e->eax = 0x16;
	if (auto *e = t.find(1)) {
		e->ebx = (e->ebx & ~0x00ff0000u) | ((n & 0xff) << 16);
		if (n > 1)
			e->edx |= 1u << 28; /* HTT: "more than one logical processor" */
	}
	/* Leaf 4: cores per package. */
	for (std::uint32_t i = 0; i < 8; i++)
		if (auto *e = t.find(4, i); e && (e->flags & VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX))
			e->eax = (e->eax & 0x03ffffffu) | (((n - 1) & 0x3f) << 26);
	/* Leaf 6: the APIC timer runs in every C-state (ARAT). */
	if (auto *e = t.find(6))
		e->eax |= 1u << 2;
	else
		r = set(6, 0, false, 1u << 2, 0, 0, 0);
	/* Leaf 0xb: one thread per core, n cores (EDX, the x2APIC ID, is the kernel's). */
	if (r && t.find(0xb, 0)) {
		unsigned shift = 0;
		while ((1u << shift) < n)
			shift++;
		r = set(0xb, 0, true, 0, 1, 0x100, 0);
		if (r)
			r = set(0xb, 1, true, shift, n, 0x201, 0);
		if (r)
			r = set(0xb, 2, true, 0, 0, 2, 0);
	}
	if (r && o.tsc_khz) {
		auto [num, den] = tsc_ratio(o.tsc_khz, apic_timer_hz / 1000);
		r = set(0x15, 0, false, den, num, apic_timer_hz, 0);
		std::uint32_t mhz = o.tsc_khz / 1000;
		if (r)
			r = set(0x16, 0, false, mhz, mhz, apic_timer_hz / 1000000, 0);
		if (r) {
			auto *h = t.find(0x40000000);
			if (h && h->eax < 0x40000010)
				h->eax = 0x40000010;
			else if (!h)
				r = set(0x40000000, 0, false, 0x40000010, 0x69706176, 0x616d7663,
					0x63697061);
		}
		if (r)
			r = set(0x40000010, 0, false, o.tsc_khz, apic_timer_hz / 1000, 0, 0);
	}
	if (!r)
		return std::move(r).error().context("guest CPUID");
	return t;
}

std::uint32_t calibrate_tsc_khz(const std::function<std::uint64_t()> &now_ns,
				const std::function<std::uint64_t()> &rdtsc,
				std::uint64_t interval_ns)
{
	std::uint64_t t0 = now_ns(), c0 = rdtsc(), t1, c1;
	do {
		t1 = now_ns();
		c1 = rdtsc();
	} while (t1 - t0 < interval_ns);
	if (t1 == t0)
		return 0;
	return static_cast<std::uint32_t>((c1 - c0) * 1000000ull / (t1 - t0));
}

Result<std::uint32_t> host_tsc_khz()
{
	std::ifstream f("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
	std::uint32_t khz = 0;
	if (f && (f >> khz) && khz)
		return khz;
	khz = calibrate_tsc_khz(
		[] {
			timespec ts;
			clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
			return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
		},
		[] { return static_cast<std::uint64_t>(__rdtsc()); }, 50000000ull);
	if (!khz)
		return Error::from_errno(EIO, "TSC calibration");
	return khz;
}

} // namespace vrun

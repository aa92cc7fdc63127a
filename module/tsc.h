/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's TSC (tsc.c): host TSC x multiplier >> 48 + offset, at a
 * per-vCPU rate (SET_TSC_KHZ), and the conversions that follow that rate.
 */
#ifndef VAPICVM_TSC_H
#define VAPICVM_TSC_H

#include <linux/math64.h>
#include <linux/types.h>
#include <asm/msr.h>

#include "vcpu.h"

/* The TSC multiplier is a 16.48 fixed-point number (Vol. 3C 25.3). */
#define VCPU_TSC_FRAC_BITS	48
#define VCPU_TSC_RATIO_ONE	BIT_ULL(VCPU_TSC_FRAC_BITS)

/*
 * A scaled rate is at least 1/256 and at most 256 times the host's: the
 * multiplier stays within [2^40, 2^56], and a guest TSC delta below 2^56
 * converts to host ticks without overflow.  It is also at most 500 GHz:
 * the longest LAPIC timer expiry, 2^55 ns, is then fewer than 2^64 ticks.
 */
#define VCPU_TSC_RATIO_SHIFT	8
#define VCPU_TSC_KHZ_MAX	500000000U

/* A vCPU's rate is the host's until SET_TSC_KHZ; before its LAPIC exists. */
void vcpu_tsc_init(struct vapicvm_vcpu *vcpu);

/* The guest TSC at a host TSC value; the vCPU's now. */
static inline u64 vcpu_guest_tsc_at(struct vapicvm_vcpu *vcpu, u64 host_tsc)
{
	if (vcpu->tsc_ratio != VCPU_TSC_RATIO_ONE)
		host_tsc = mul_u64_u64_shr(host_tsc, vcpu->tsc_ratio, VCPU_TSC_FRAC_BITS);
	return host_tsc + vcpu->tsc_offset;
}

static inline u64 vcpu_guest_tsc(struct vapicvm_vcpu *vcpu)
{
	return vcpu_guest_tsc_at(vcpu, rdtsc());
}

/* Host nanoseconds to guest TSC ticks, rounded down. */
static inline u64 vcpu_ns_to_tsc(struct vapicvm_vcpu *vcpu, u64 ns)
{
	return mul_u64_u32_div(ns, vcpu->tsc_khz, 1000000);
}

/*
 * A guest TSC delta in host TSC ticks (the VMX-preemption timer's), rounded
 * up; saturated at 2^48, ahead of any expiry the timer can count to.
 */
u64 vcpu_tsc_to_host_ticks(struct vapicvm_vcpu *vcpu, u64 delta);

/*
 * True if SET_TSC_KHZ can change the rate of vCPUs created now
 * (VAPICVM_CAP_TSC_CONTROL): the CPU scales and tsc_scaling is on.
 */
bool vcpu_tsc_scaling_available(void);
/* VAPICVM_SET_TSC_KHZ, vCPU lock held. */
int vcpu_set_tsc_khz(struct vapicvm_vcpu *vcpu, unsigned long khz);

#endif /* VAPICVM_TSC_H */

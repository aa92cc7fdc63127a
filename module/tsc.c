// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TSC rate.  Each vCPU's TSC runs at the host's rate unless
 * SET_TSC_KHZ chose another, which needs the VMX "use TSC scaling" control
 * (Vol. 3C 25.3): RDTSC, RDTSCP and RDMSR of IA32_TSC in the guest then
 * read (host TSC x multiplier) >> 48 + offset.  Whatever converts between
 * guest TSC ticks and host time (the TSC-deadline timer, the VMX-preemption
 * timer, IA32_TSC and IA32_TSC_ADJUST) goes through here or vcpu->tsc_khz.
 */
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <asm/tsc.h>

#include "capabilities.h"
#include "lapic_timer.h"
#include "tsc.h"
#include "vcpu.h"
#include "vcpu_vmcs.h"

/* Read when a vCPU is created, as preemption_timer. */
static bool tsc_scaling = true;
module_param(tsc_scaling, bool, 0644);
MODULE_PARM_DESC(tsc_scaling,
		 "vCPUs created from now on may run their TSC at a rate other than the host's where the CPU has VMX TSC scaling (default: Y)");

bool vcpu_tsc_scaling_available(void)
{
	return (vmx_caps.cpu2_allowed1 & SEC_TSC_SCALING) &&
	       (vmx_caps.cpu_allowed1 & CPU_USE_TSC_OFFSETTING) && tsc_khz &&
	       READ_ONCE(tsc_scaling);
}

void vcpu_tsc_init(struct vapicvm_vcpu *vcpu)
{
	vcpu->tsc_khz = tsc_khz ?: 1000000;
	vcpu->tsc_ratio = VCPU_TSC_RATIO_ONE;
	vcpu->tsc_scaling = vcpu_tsc_scaling_available();
}

u64 vcpu_tsc_to_host_ticks(struct vapicvm_vcpu *vcpu, u64 delta)
{
	if (vcpu->tsc_ratio == VCPU_TSC_RATIO_ONE)
		return delta;
	/*
	 * delta x 2^48 / ratio fits in 64 bits for delta < 2^56, as the
	 * ratio is at least 2^40; a larger delta is at least 2^48 host ticks
	 * away at any ratio allowed.
	 */
	if (delta >> 56)
		return 1ULL << 48;
	return mul_u64_u64_div_u64(delta, VCPU_TSC_RATIO_ONE, vcpu->tsc_ratio) + 1;
}

/* The rates SET_TSC_KHZ accepts with scaling: see VCPU_TSC_RATIO_SHIFT. */
static bool tsc_khz_in_range(unsigned long khz)
{
	u64 host = tsc_khz;

	return khz >= DIV_ROUND_UP(host, 1U << VCPU_TSC_RATIO_SHIFT) &&
	       khz <= min_t(u64, host << VCPU_TSC_RATIO_SHIFT, VCPU_TSC_KHZ_MAX);
}

int vcpu_set_tsc_khz(struct vapicvm_vcpu *vcpu, unsigned long khz)
{
	u32 old_khz = vcpu->tsc_khz;
	u64 ratio, host, guest;
	bool scale;

	if (!khz || khz > VCPU_TSC_KHZ_MAX)
		return -EINVAL;
	if (khz == old_khz)
		return 0;
	if (!vcpu->tsc_scaling)
		return khz == tsc_khz ? 0 : -EOPNOTSUPP;
	if (!tsc_khz_in_range(khz))
		return -EINVAL;

	ratio = khz == tsc_khz ? VCPU_TSC_RATIO_ONE :
		mul_u64_u32_div(VCPU_TSC_RATIO_ONE, khz, tsc_khz);
	scale = ratio != VCPU_TSC_RATIO_ONE;

	vapicvm_vcpu_load(vcpu);
	/* The guest sees no jump: the offset takes up the change at this instant. */
	host = rdtsc();
	guest = vcpu_guest_tsc_at(vcpu, host);
	vcpu->tsc_ratio = ratio;
	vcpu->tsc_offset = guest - mul_u64_u64_shr(host, ratio, VCPU_TSC_FRAC_BITS);
	vmcs_write64(TSC_OFFSET, vcpu->tsc_offset);
	vmcs_write64(TSC_MULTIPLIER, ratio);
	vcpu_set_cpu2_ctls(vcpu, SEC_TSC_SCALING, scale);
	WRITE_ONCE(vcpu->tsc_khz, khz);
	lapic_timer_tsc_rate_changed(vcpu, old_khz);
	vapicvm_vcpu_put(vcpu);
	return 0;
}

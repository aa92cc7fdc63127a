// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM debugging its guest, after KVM's KVM_SET_GUEST_DEBUG: what a
 * gdb stub needs.
 *
 * - Single step: the monitor trap flag (Vol. 3C 26.5.2), an exit after
 *   each instruction the guest runs, and a report after each one vapicvm
 *   completes for it (an exit handler's emulation).  Not RFLAGS.TF: the
 *   guest would see it (PUSHF) and could clear it (POPF, IRET).
 * - Hardware breakpoints: the VMM's DR0-DR3 and DR7 are loaded in place of
 *   the guest's while the guest runs.  The guest's own stay in vcpu->dr[]
 *   (MOV DR always exits), read back unchanged and in force again when the
 *   VMM lets go.
 * - Software breakpoints: #BP is intercepted; the VMM's INT3 bytes are its
 *   business, as is re-injecting an INT3 that is the guest's.
 *
 * Everything runs in the vCPU's thread, under its mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>

#include "capabilities.h"
#include "emulate.h"
#include "guest_debug.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vcpu_vmcs.h"
#include "vmx_ops.h"

#define DR7_GENERAL_DETECT	BIT(13)	/* Vol. 3B 18.2.4 */

u32 guest_debug_supported(void)
{
	u32 flags = VAPICVM_GUESTDBG_ENABLE | VAPICVM_GUESTDBG_USE_SW_BP |
		    VAPICVM_GUESTDBG_USE_HW_BP;

	if (cpu_has_monitor_trap_flag())
		flags |= VAPICVM_GUESTDBG_SINGLESTEP;
	return flags;
}

unsigned long vcpu_effective_dr7(struct vapicvm_vcpu *vcpu)
{
	if (unlikely(vcpu->guest_debug & VAPICVM_GUESTDBG_USE_HW_BP))
		return vcpu->guest_debug_dr7;
	return vcpu->dr[7];
}

const unsigned long *vcpu_effective_db(struct vapicvm_vcpu *vcpu)
{
	if (unlikely(vcpu->guest_debug & VAPICVM_GUESTDBG_USE_HW_BP))
		return vcpu->guest_debug_db;
	return vcpu->dr;
}

void vcpu_load_guest_dr7(struct vapicvm_vcpu *vcpu)
{
	vmcs_writel(GUEST_DR7, vcpu_effective_dr7(vcpu));
}

static int guest_debug_check(const struct vapicvm_guest_debug *dbg)
{
	int i;

	if (dbg->pad || (dbg->control & ~guest_debug_supported()))
		return -EINVAL;
	/* Without ENABLE there is nothing to ask for. */
	if (!(dbg->control & VAPICVM_GUESTDBG_ENABLE) && dbg->control)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(dbg->reserved); i++)
		if (dbg->reserved[i])
			return -EINVAL;
	if (dbg->debugreg[4] || dbg->debugreg[5] || dbg->debugreg[6])
		return -EINVAL;
	if (!(dbg->control & VAPICVM_GUESTDBG_USE_HW_BP)) {
		for (i = 0; i < 4; i++)
			if (dbg->debugreg[i])
				return -EINVAL;
		return dbg->debugreg[7] ? -EINVAL : 0;
	}
	/*
	 * As MOV to DR7 takes it; not GD, whose #DB on a MOV DR would be the
	 * guest's (MOV DR exits first, Vol. 3C 26.1.3).
	 */
	if ((dbg->debugreg[7] >> 32) || (dbg->debugreg[7] & DR7_GENERAL_DETECT))
		return -EINVAL;
	return 0;
}

long vcpu_ioctl_set_guest_debug(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_guest_debug dbg;
	int i, r;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	r = guest_debug_check(&dbg);
	if (r)
		return r;
	vcpu->guest_debug = dbg.control;
	for (i = 0; i < 4; i++)
		vcpu->guest_debug_db[i] = dbg.debugreg[i];
	vcpu->guest_debug_dr7 = vcpu_dr7_from_write(dbg.debugreg[7]);
	vcpu->debug_step_done = false;
	/*
	 * Processors match breakpoints on every access, but an emulator may
	 * check data breakpoints only when it fills its TLB (Bochs does):
	 * drop the vCPU's translations so that new ones apply at once.
	 */
	if (dbg.control & VAPICVM_GUESTDBG_USE_HW_BP)
		vcpu_make_request(vcpu, VCPU_REQ_TLB_FLUSH);
	vapicvm_vcpu_load(vcpu);
	vcpu_load_guest_dr7(vcpu);
	vcpu_update_exception_bitmap(vcpu);
	vcpu_set_cpu_ctls(vcpu, CPU_MONITOR_TRAP_FLAG, dbg.control & VAPICVM_GUESTDBG_SINGLESTEP);
	vapicvm_vcpu_put(vcpu);
	return 0;
}

long vcpu_ioctl_translate(struct vapicvm_vcpu *vcpu, void __user *argp)
{
	struct vapicvm_translation tr = {};
	unsigned int perm = 0;
	u64 gpa = 0;
	bool valid;

	/* Only linear_address is input: the rest is all output. */
	if (copy_from_user(&tr.linear_address, argp, sizeof(tr.linear_address)))
		return -EFAULT;
	vapicvm_vcpu_load(vcpu);
	/* Outside IA-32e mode a linear address has 32 bits. */
	valid = ((vcpu->efer & EFER_LMA) || !(tr.linear_address >> 32)) &&
		!vcpu_walk_linear(vcpu, tr.linear_address, &gpa, &perm);
	/* With CR0.WP clear, supervisor writes ignore R/W (Vol. 3A 4.6.1). */
	if (!(vcpu_read_cr0(vcpu) & X86_CR0_WP))
		perm |= WALK_PERM_WRITE;
	vapicvm_vcpu_put(vcpu);
	if (valid) {
		tr.physical_address = gpa;
		tr.valid = 1;
		tr.writeable = !!(perm & WALK_PERM_WRITE);
		tr.usermode = !!(perm & WALK_PERM_USER);
	}
	return copy_to_user(argp, &tr, sizeof(tr)) ? -EFAULT : 0;
}

static int guest_debug_exit(struct vapicvm_vcpu *vcpu, u32 exception, unsigned long dr6)
{
	struct vapicvm_run *run = vcpu->run;

	run->exit_reason = VAPICVM_EXIT_DEBUG;
	memset(&run->debug, 0, sizeof(run->debug));
	run->debug.exception = exception;
	run->debug.pc = vmcs_readl(GUEST_RIP);
	run->debug.dr6 = dr6 | DR6_RESERVED;
	run->debug.dr7 = vcpu_effective_dr7(vcpu);
	return 0;
}

/*
 * A #DB the CPU raised.  With USE_HW_BP the breakpoints loaded are the
 * VMM's, so B0-B3 are its hits; a single-step trap of the guest's own
 * RFLAGS.TF (BS alone) is the guest's.
 */
int guest_debug_handle_db(struct vapicvm_vcpu *vcpu, unsigned long qual)
{
	if ((vcpu->guest_debug & VAPICVM_GUESTDBG_USE_HW_BP) && (qual & DR_TRAP_BITS))
		return guest_debug_exit(vcpu, 1, qual & (DR_TRAP_BITS | DR_STEP));
	return 1;
}

/* A #BP: intercepted only for USE_SW_BP.  RIP is the INT3's. */
int guest_debug_handle_bp(struct vapicvm_vcpu *vcpu)
{
	if (vcpu->guest_debug & VAPICVM_GUESTDBG_USE_SW_BP)
		return guest_debug_exit(vcpu, 3, 0);
	return 1;
}

int guest_debug_handle_mtf(struct vapicvm_vcpu *vcpu)
{
	if (vcpu->guest_debug & VAPICVM_GUESTDBG_SINGLESTEP)
		return guest_debug_exit(vcpu, 1, DR_STEP);
	vcpu_set_cpu_ctls(vcpu, CPU_MONITOR_TRAP_FLAG, false);	/* not ours any more */
	return 1;
}

void guest_debug_instruction_done(struct vapicvm_vcpu *vcpu)
{
	if (unlikely(vcpu->guest_debug & VAPICVM_GUESTDBG_SINGLESTEP))
		vcpu->debug_step_done = true;
}

bool guest_debug_report_step(struct vapicvm_vcpu *vcpu)
{
	if (likely(!vcpu->debug_step_done))
		return false;
	vcpu->debug_step_done = false;
	if (!(vcpu->guest_debug & VAPICVM_GUESTDBG_SINGLESTEP))
		return false;
	guest_debug_exit(vcpu, 1, DR_STEP);
	return true;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * PAUSE-loop exiting (Vol. 3C 26.1.3, 25.6.13) and directed yield.
 *
 * A guest vCPU that spins with PAUSE waits for another vCPU: a lock
 * holder, or the answer to an IPI.  When that vCPU's thread is waiting for
 * the same host CPU, every cycle spun is lost until the host's scheduler
 * tick preempts the spinner, milliseconds later.  With the control set,
 * the CPU exits when PAUSEs executed at CPL 0 come within ple_gap TSC
 * ticks of each other for longer than ple_window ticks; the exit handler
 * then gives the host CPU to a sibling vCPU that is runnable but not
 * running, as KVM's kvm_vcpu_on_spin() does.  The siblings are tried in
 * turn from the one after the last boosted, so that no vCPU is favoured.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "capabilities.h"
#include "spin.h"
#include "vcpu.h"
#include "vm.h"
#include "vmcs.h"

/* KVM's defaults; both are read at vCPU creation. */
static unsigned int ple_gap = 128;
module_param(ple_gap, uint, 0644);
MODULE_PARM_DESC(ple_gap,
		 "Most TSC ticks between two PAUSEs of one spin loop for vCPUs created from now on; 0 turns PAUSE-loop exiting off (default 128, 0 without the CPU control)");

static unsigned int ple_window = 4096;
module_param(ple_window, uint, 0644);
MODULE_PARM_DESC(ple_window,
		 "TSC ticks a vCPU may spin with PAUSE before it exits to yield, for vCPUs created from now on (default 4096)");

void vcpu_spin_init(void)
{
	if (!cpu_has_pause_loop_exiting())
		ple_gap = 0;
}

void vcpu_setup_pause_loop_exiting(struct vapicvm_vcpu *vcpu)
{
	unsigned int gap = READ_ONCE(ple_gap);

	if (!gap || !cpu_has_pause_loop_exiting())
		return;
	vcpu->cpu2_ctls |= SEC_PAUSE_LOOP_EXITING;
	vmcs_write32(PLE_GAP, gap);
	vmcs_write32(PLE_WINDOW, READ_ONCE(ple_window));
}

/*
 * The sibling's thread, referenced, if it may be waiting for a CPU: it is
 * in RUN and was preempted or woken since it last ran.  yield_to() checks
 * the rest under the run-queue locks.
 */
static struct task_struct *vcpu_waiting_task(struct vapicvm_vcpu *vcpu)
{
	struct task_struct *task;

	if (!READ_ONCE(vcpu->ready))
		return NULL;
	/*
	 * A thread clears vcpu->task before it leaves RUN, and can only exit
	 * after: a task read here is freed no sooner than a grace period.
	 */
	rcu_read_lock();
	task = READ_ONCE(vcpu->task);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	return task;
}

void vcpu_on_spin(struct vapicvm_vcpu *me)
{
	struct vapicvm_vm *vm = me->vm;
	unsigned int n = READ_ONCE(vm->nr_vcpus);
	unsigned int start = READ_ONCE(vm->last_boosted_vcpu);
	unsigned int k;

	for (k = 1; k <= n; k++) {
		unsigned int i = (start + k) % n;
		/* Pairs with the release that publishes a new vCPU. */
		struct vapicvm_vcpu *v = smp_load_acquire(&vm->vcpus[i]);
		struct task_struct *task;
		int yielded;

		if (v == me)
			continue;
		task = vcpu_waiting_task(v);
		if (!task)
			continue;
		yielded = yield_to(task, true);
		put_task_struct(task);
		if (yielded > 0) {
			WRITE_ONCE(vm->last_boosted_vcpu, i);
			vcpu_stat_inc(me, VAPICVM_STAT_DIRECTED_YIELD);
			return;
		}
		/* Nothing else runnable here nor on its CPU: nobody to yield to. */
		if (yielded < 0)
			return;
	}
}

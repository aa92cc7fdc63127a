// SPDX-License-Identifier: GPL-2.0
/* A vapicvm-run machine: the VM, its vCPU threads and devices, and its end. */
#ifndef VAPICVM_RUN_MACHINE_HPP
#define VAPICVM_RUN_MACHINE_HPP

#include <linux/vapicvm.h>

#include "boot.hpp"
#include "options.hpp"

namespace vrun
{

/* Exit statuses of vapicvm-run (debug-exit statuses are odd). */
enum ExitStatus : int {
	exit_ok = 0,
	exit_usage = 2,
	exit_guest_crash = 4,
	exit_host_failure = 6,
	exit_signal = 8,
};

/* Registers for the boot vCPU's entry state (from its reset state in sregs). */
void apply_entry(const BootEntry &e, vapicvm_sregs &s, vapicvm_regs &r);

/* Build, boot and run the machine; returns the process exit status. */
int run_machine(const Options &o);

} // namespace vrun

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * The vapicvm userspace library's core: the ioctl wrappers (System, Vm,
 * Vcpu), exits, state, errors.  The VMM helpers built on it are
 * <vapicvm/vmm/vmm.hpp>.
 */
#ifndef VAPICVM_VAPICVM_HPP
#define VAPICVM_VAPICVM_HPP

#include "vapicvm/apicv.hpp"
#include "vapicvm/capability.hpp"
#include "vapicvm/exit.hpp"
#include "vapicvm/fd.hpp"
#include "vapicvm/memory.hpp"
#include "vapicvm/result.hpp"
#include "vapicvm/system.hpp"
#include "vapicvm/vcpu.hpp"
#include "vapicvm/version.hpp"
#include "vapicvm/vm.hpp"

#endif

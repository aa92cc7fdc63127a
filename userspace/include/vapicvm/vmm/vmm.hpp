// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM helper layer, namespace vapicvm::vmm: a thread per vCPU
 * (VcpuRunner), guest-physical memory access (GuestMemory), an I/O APIC
 * for a split irqchip (IoApic), an editable CPUID table (CpuidTable) and
 * the APIC-virtualization tiers.  It is built on the core
 * (<vapicvm/vapicvm.hpp>), which never depends on it.
 */
#ifndef VAPICVM_VMM_VMM_HPP
#define VAPICVM_VMM_VMM_HPP

#include "vapicvm/vapicvm.hpp"
#include "vapicvm/vmm/apicv_tier.hpp"
#include "vapicvm/vmm/cpuid.hpp"
#include "vapicvm/vmm/guest_memory.hpp"
#include "vapicvm/vmm/ioapic.hpp"
#include "vapicvm/vmm/level_irqfds.hpp"
#include "vapicvm/vmm/runner.hpp"

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time check of the ABI: the layouts below are the ones
 * Documentation/api.rst documents.  A change to uapi/linux/vapicvm.h that
 * moves a field fails the build here (and in abi_check_cxx.cpp for C++).
 */
#include <stddef.h>
#include <stdio.h>

#include <linux/vapicvm.h>

#define LAYOUT(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define FIELD(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

LAYOUT(struct vapicvm_create_vm, 32);
FIELD(struct vapicvm_create_vm, apicv, 4);
FIELD(struct vapicvm_create_vm, reserved, 8);

LAYOUT(struct vapicvm_userspace_memory_region, 32);
FIELD(struct vapicvm_userspace_memory_region, guest_phys_addr, 8);
FIELD(struct vapicvm_userspace_memory_region, memory_size, 16);
FIELD(struct vapicvm_userspace_memory_region, userspace_addr, 24);

LAYOUT(struct vapicvm_apicv_info, 56);
FIELD(struct vapicvm_apicv_info, apic_access_gpa, 16);

LAYOUT(struct vapicvm_msi, 32);
LAYOUT(struct vapicvm_enable_cap, 72);
LAYOUT(struct vapicvm_ioeventfd, 48);
LAYOUT(struct vapicvm_msr_list, 8);
LAYOUT(struct vapicvm_gsi_route, 56);
FIELD(struct vapicvm_gsi_route, msi, 8);
FIELD(struct vapicvm_gsi_route, reserved, 40);
LAYOUT(struct vapicvm_irqfd, 32);
LAYOUT(struct vapicvm_dirty_log, 32);
LAYOUT(struct vapicvm_msr_filter_range, 24);
LAYOUT(struct vapicvm_msr_filter, 8 + 16 * 24);
LAYOUT(struct vapicvm_exit_msr, 24);
LAYOUT(struct vapicvm_exit_hypercall, 56);
LAYOUT(struct vapicvm_vcpu_events, 72);
FIELD(struct vapicvm_vcpu_events, exception, 16);
FIELD(struct vapicvm_vcpu_events, nmi_pending, 24);
FIELD(struct vapicvm_vcpu_events, flags, 36);
FIELD(struct vapicvm_vcpu_events, reserved, 40);
FIELD(struct vapicvm_irqfd, flags, 8);
FIELD(struct vapicvm_irqfd, reserved, 16);
LAYOUT(struct vapicvm_debugregs, 128);
LAYOUT(struct vapicvm_guest_debug, 104);
FIELD(struct vapicvm_guest_debug, debugreg, 8);
FIELD(struct vapicvm_guest_debug, reserved, 72);
LAYOUT(struct vapicvm_translation, 24);
FIELD(struct vapicvm_translation, valid, 16);
LAYOUT(struct vapicvm_exit_debug, 32);
FIELD(struct vapicvm_exit_debug, pc, 8);
FIELD(struct vapicvm_debugregs, dr7, 40);
LAYOUT(struct vapicvm_xcr, 16);
LAYOUT(struct vapicvm_xcrs, 8 + 16 * 16 + 128);
FIELD(struct vapicvm_ioeventfd, len, 16);
FIELD(struct vapicvm_ioeventfd, flags, 24);
FIELD(struct vapicvm_enable_cap, args, 8);
FIELD(struct vapicvm_enable_cap, reserved, 40);
LAYOUT(struct vapicvm_regs, 144);
FIELD(struct vapicvm_regs, rip, 128);

LAYOUT(struct vapicvm_segment, 24);
FIELD(struct vapicvm_segment, selector, 12);
FIELD(struct vapicvm_segment, unusable, 22);
LAYOUT(struct vapicvm_dtable, 16);
LAYOUT(struct vapicvm_sregs, 8 * 24 + 2 * 16 + 7 * 8 + 4 * 8);
FIELD(struct vapicvm_sregs, gdt, 192);
FIELD(struct vapicvm_sregs, cr0, 224);
FIELD(struct vapicvm_sregs, efer, 264);
FIELD(struct vapicvm_sregs, apic_base, 272);

LAYOUT(struct vapicvm_msr_entry, 16);
LAYOUT(struct vapicvm_msrs, 8);
LAYOUT(struct vapicvm_cpuid_entry, 40);
LAYOUT(struct vapicvm_cpuid, 8);
LAYOUT(struct vapicvm_xsave, 4096);
LAYOUT(struct vapicvm_lapic_state, 1024 + 64);
FIELD(struct vapicvm_lapic_state, apic_base, 1024);
FIELD(struct vapicvm_lapic_state, flags, 1048);
LAYOUT(struct vapicvm_interrupt, 16);
LAYOUT(struct vapicvm_mp_state, 8);
LAYOUT(struct vapicvm_stats, 8);

FIELD(struct vapicvm_run, immediate_exit, 0);
FIELD(struct vapicvm_run, exit_reason, 8);
FIELD(struct vapicvm_run, cr8, 16);
FIELD(struct vapicvm_run, apic_base, 24);
FIELD(struct vapicvm_run, io, 32);
FIELD(struct vapicvm_run, mmio.data, 40);
FIELD(struct vapicvm_run, mmio.len, 48);
FIELD(struct vapicvm_run, internal.data, 40);
FIELD(struct vapicvm_run, eoi.vector, 32);
LAYOUT(struct vapicvm_exit_eoi, 8);
LAYOUT(struct vapicvm_run, 32 + 256);
_Static_assert(sizeof(struct vapicvm_run) <= VAPICVM_RUN_IO_DATA_OFFSET, "I/O data area");

/* One type byte; ranges per fd kind. */
_Static_assert(_IOC_TYPE(VAPICVM_CREATE_VM) == VAPICVMIO, "type byte");
_Static_assert(_IOC_NR(VAPICVM_CREATE_VM) < 0x40, "system range");
_Static_assert(_IOC_NR(VAPICVM_SET_USER_MEMORY_REGION) >= 0x40 &&
	       _IOC_NR(VAPICVM_IOEVENTFD) < 0x80, "VM range");
_Static_assert(_IOC_NR(VAPICVM_RUN) >= 0x80 && _IOC_NR(VAPICVM_GET_CPUID) < 0xc0, "vCPU range");
_Static_assert(_IOC_NR(VAPICVM_GET_MSR_INDEX_LIST) < 0x40, "system range");

int abi_check_cxx(void);

int main(void)
{
	printf("TAP version 13\n1..2\n");
	printf("ok 1 abi layouts (C)\n");
	printf("%s 2 abi layouts (C++)\n", abi_check_cxx() ? "ok" : "not ok");
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       1 + !!abi_check_cxx(), !abi_check_cxx());
	return abi_check_cxx() ? 0 : 1;
}

/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vapicvm: a KVM-like VMX backend centred on APIC virtualization.
 *
 * This header is the whole userspace ABI.  It follows KVM's conventions:
 * one ioctl type byte with number ranges per file-descriptor kind,
 * fixed-width fields with explicit padding, flags whose reserved bits are
 * rejected with EINVAL, capability probing (VAPICVM_CHECK_EXTENSION)
 * instead of version checks, and a run structure shared with the kernel
 * through mmap() of the vCPU fd.  Documentation/api.rst documents every
 * ioctl; the layouts here are checked at build time (selftests/abi_check.c).
 * It is ISO C11 and ISO C++11 and later: clean under -Wpedantic in both.
 */
#ifndef _UAPI_LINUX_VAPICVM_H
#define _UAPI_LINUX_VAPICVM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VAPICVM_API_VERSION		1

/*
 * Flexible array members are C99 but an extension in C++: mark them so that
 * the header stays clean under -Wpedantic in both languages.
 */
#if defined(__cplusplus) && defined(__clang__)
#define __VAPICVM_FLEX_ARRAY(type, name)				\
	_Pragma("clang diagnostic push")				\
	_Pragma("clang diagnostic ignored \"-Wc99-extensions\"")	\
	type name[]							\
	_Pragma("clang diagnostic pop")
#elif defined(__cplusplus)
#define __VAPICVM_FLEX_ARRAY(type, name)	__extension__ type name[]
#else
#define __VAPICVM_FLEX_ARRAY(type, name)	type name[]
#endif

/* The ioctl type byte.  Numbers: 0x00-0x3f system, 0x40-0x7f VM, 0x80-0xbf vCPU. */
#define VAPICVMIO			0xAF

/* ------------------------------------------------------------------ */
/* System ioctls, on /dev/vapicvm                                      */
/* ------------------------------------------------------------------ */

#define VAPICVM_GET_API_VERSION		_IO(VAPICVMIO, 0x00)
#define VAPICVM_CHECK_EXTENSION		_IO(VAPICVMIO, 0x01)	/* also on VM fds */
#define VAPICVM_CREATE_VM		_IOW(VAPICVMIO, 0x02, struct vapicvm_create_vm)
#define VAPICVM_GET_VCPU_MMAP_SIZE	_IO(VAPICVMIO, 0x03)
#define VAPICVM_GET_SUPPORTED_CPUID	_IOWR(VAPICVMIO, 0x04, struct vapicvm_cpuid)
#define VAPICVM_GET_MSR_INDEX_LIST	_IOWR(VAPICVMIO, 0x05, struct vapicvm_msr_list)

/* The MSRs GET/SET_MSRS save and restore, for a VMM's migration. */
struct vapicvm_msr_list {
	__u32 nmsrs;		/* in: room in indices; out: how many there are */
	__u32 pad;		/* must be zero */
	__VAPICVM_FLEX_ARRAY(__u32, indices);
};

/*
 * APIC-virtualization features: the one table of them.  The kernel, the C++
 * library and the selftests all expand it; nothing else lists the features,
 * their names or their dependencies.
 *
 *   X(ID, bit, name, tier, sdm_requires, policy_requires, vmx_control)
 *
 * ID            VAPICVM_APICV_<ID> is (1U << bit)
 * name          the feature's name wherever it is printed or parsed
 * tier          the name of the cumulative tier this feature tops: the
 *               feature with everything it requires, transitively
 * sdm_requires  features the SDM makes a VM-entry condition (Vol. 3C
 *               26.2.1.1: APIC-register virtualization, virtual-interrupt
 *               delivery and x2APIC virtualization need "use TPR shadow";
 *               posted interrupts need virtual-interrupt delivery)
 * policy_requires  features this project requires on top, so that the
 *               feature sets form a ladder that is tested rung by rung:
 *               APIC access needs the TPR shadow (the APIC-access page
 *               without a virtual-APIC page would trap every access);
 *               register virtualization needs APIC access (it is what
 *               serves reads from the APIC-access page); virtual-interrupt
 *               delivery needs register virtualization (VID's EOI and
 *               self-IPI virtualization are xAPIC writes to that page)
 * vmx_control   the VMX execution control the feature turns on
 *
 * A VM's feature set is chosen at VAPICVM_CREATE_VM and must contain, with
 * each feature, both of its requirement sets.
 */
#define VAPICVM_APICV_TPR_SHADOW	(1U << 0)
#define VAPICVM_APICV_APIC_ACCESS	(1U << 1)
#define VAPICVM_APICV_REGISTER_VIRT	(1U << 2)
#define VAPICVM_APICV_INTR_DELIVERY	(1U << 3)
#define VAPICVM_APICV_X2APIC_VIRT	(1U << 4)
#define VAPICVM_APICV_POSTED_INTR	(1U << 5)
#define VAPICVM_APICV_ALL		0x3fU

#define VAPICVM_APICV_FEATURES(X)						\
	X(TPR_SHADOW, 0, "tpr-shadow", "tpr", 0, 0,				\
	  "use TPR shadow")							\
	X(APIC_ACCESS, 1, "apic-access", "access", 0,				\
	  VAPICVM_APICV_TPR_SHADOW, "virtualize APIC accesses")		\
	X(REGISTER_VIRT, 2, "register-virt", "regvirt",			\
	  VAPICVM_APICV_TPR_SHADOW, VAPICVM_APICV_APIC_ACCESS,		\
	  "APIC-register virtualization")					\
	X(INTR_DELIVERY, 3, "intr-delivery", "vid",				\
	  VAPICVM_APICV_TPR_SHADOW, VAPICVM_APICV_REGISTER_VIRT,		\
	  "virtual-interrupt delivery")						\
	X(X2APIC_VIRT, 4, "x2apic-virt", "x2apic",				\
	  VAPICVM_APICV_TPR_SHADOW, 0, "virtualize x2APIC mode")		\
	X(POSTED_INTR, 5, "posted-intr", "posted",				\
	  VAPICVM_APICV_INTR_DELIVERY, 0, "process posted interrupts")

/* struct vapicvm_create_vm.flags */
#define VAPICVM_VM_APICV_MASK		(1U << 0) /* use .apicv instead of the best available */
#define VAPICVM_VM_FLAGS_ALL		VAPICVM_VM_APICV_MASK

struct vapicvm_create_vm {
	__u32 flags;
	__u32 apicv;		/* VAPICVM_APICV_*, honoured with VAPICVM_VM_APICV_MASK */
	__u64 reserved[3];	/* must be zero */
};

/* Capabilities for VAPICVM_CHECK_EXTENSION; 0 means "not supported". */
#define VAPICVM_CAP_USER_MEMORY		1  /* SET_USER_MEMORY_REGION: 1 */
#define VAPICVM_CAP_READONLY_MEM	2  /* read-only slots: 1 */
#define VAPICVM_CAP_NR_MEMSLOTS		3  /* number of memory slots */
#define VAPICVM_CAP_MAX_VCPUS		4  /* vCPUs per VM */
#define VAPICVM_CAP_MAX_VCPU_ID		5  /* vCPU ids are below this */
#define VAPICVM_CAP_IMMEDIATE_EXIT	6  /* vapicvm_run.immediate_exit: 1 */
#define VAPICVM_CAP_XSAVE		7  /* GET/SET_XSAVE: 1 */
#define VAPICVM_CAP_IRQCHIP		8  /* in-kernel local APIC: 1 */
#define VAPICVM_CAP_APICV		9  /* mask of VAPICVM_APICV_* the host supports */
#define VAPICVM_CAP_TSC_DEADLINE	10 /* IA32_TSC_DEADLINE emulated: 1 */
#define VAPICVM_CAP_X2APIC		11 /* x2APIC mode emulated: 1 */
#define VAPICVM_CAP_SIGNAL_MSI		12 /* VAPICVM_SIGNAL_MSI: 1 */
#define VAPICVM_CAP_EPT			13 /* guest memory mapped by EPT: 1 */
#define VAPICVM_CAP_VPID		14 /* vCPUs tagged with VPIDs: 1 */
#define VAPICVM_CAP_UNRESTRICTED_GUEST	15 /* real mode runs natively: 1 */
#define VAPICVM_CAP_STATS		16 /* per-vCPU exit counters: number of counters */
#define VAPICVM_CAP_TSC_KHZ		17 /* the guest TSC's frequency in kHz */
#define VAPICVM_CAP_VM_STATS		18 /* per-VM counters: number of counters */
#define VAPICVM_CAP_PREEMPTION_TIMER	19 /* TSC deadlines on the preemption timer: 1 */
#define VAPICVM_CAP_MEM_PREFAULT	20 /* VAPICVM_MEM_PREFAULT slots: 1 */
#define VAPICVM_CAP_IOAPIC_EOI		21 /* ENABLE_CAP: level-triggered EOIs exit: 1 */
#define VAPICVM_CAP_IOEVENTFD		22 /* VAPICVM_IOEVENTFD: how many a VM may hold */
#define VAPICVM_CAP_MSR_INDEX_LIST	23 /* VAPICVM_GET_MSR_INDEX_LIST: 1 */
#define VAPICVM_CAP_DEBUGREGS		24 /* GET/SET_DEBUGREGS: 1 */
#define VAPICVM_CAP_XCRS		25 /* GET/SET_XCRS: 1 */
#define VAPICVM_CAP_GET_CPUID		26 /* VAPICVM_GET_CPUID: 1 */
#define VAPICVM_CAP_GSI_ROUTING		27 /* VAPICVM_SET_GSI_ROUTE: GSIs are below this */
#define VAPICVM_CAP_IRQFD		28 /* VAPICVM_IRQFD: how many a VM may hold */
#define VAPICVM_CAP_DIRTY_LOG		29 /* GET_DIRTY_LOG: VAPICVM_DIRTY_LOG_* */
#define VAPICVM_CAP_USER_MSR		30 /* ENABLE_CAP: VAPICVM_MSR_EXIT_* it can give */
#define VAPICVM_CAP_MSR_FILTER		31 /* VAPICVM_SET_MSR_FILTER: 1 */
#define VAPICVM_CAP_EXIT_HYPERCALL	32 /* ENABLE_CAP: VMCALL exits to userspace: 1 */
#define VAPICVM_CAP_VCPU_EVENTS		33 /* GET/SET_VCPU_EVENTS: 1 */
#define VAPICVM_CAP_SET_GUEST_DEBUG	34 /* VAPICVM_GUESTDBG_* SET_GUEST_DEBUG takes */
#define VAPICVM_CAP_TSC_CONTROL		35 /* SET_TSC_KHZ can scale the guest TSC: 1 */
#define VAPICVM_CAP_TRANSLATE		36 /* VAPICVM_TRANSLATE: 1 */
#define VAPICVM_CAP_GENL		37 /* the "vapicvm" netlink family is registered: 1 */

/* ------------------------------------------------------------------ */
/* VM ioctls, on the fd returned by VAPICVM_CREATE_VM                  */
/* ------------------------------------------------------------------ */

#define VAPICVM_SET_USER_MEMORY_REGION \
	_IOW(VAPICVMIO, 0x40, struct vapicvm_userspace_memory_region)
#define VAPICVM_CREATE_VCPU		_IO(VAPICVMIO, 0x41)
#define VAPICVM_GET_APICV		_IOR(VAPICVMIO, 0x42, struct vapicvm_apicv_info)
#define VAPICVM_SIGNAL_MSI		_IOW(VAPICVMIO, 0x43, struct vapicvm_msi)
#define VAPICVM_GET_VM_STATS		_IOWR(VAPICVMIO, 0x44, struct vapicvm_stats)
#define VAPICVM_ENABLE_CAP		_IOW(VAPICVMIO, 0x45, struct vapicvm_enable_cap)
#define VAPICVM_IOEVENTFD		_IOW(VAPICVMIO, 0x46, struct vapicvm_ioeventfd)
#define VAPICVM_SET_GSI_ROUTE		_IOW(VAPICVMIO, 0x47, struct vapicvm_gsi_route)
#define VAPICVM_IRQFD			_IOW(VAPICVMIO, 0x48, struct vapicvm_irqfd)
#define VAPICVM_GET_DIRTY_LOG		_IOW(VAPICVMIO, 0x49, struct vapicvm_dirty_log)
#define VAPICVM_SET_MSR_FILTER		_IOW(VAPICVMIO, 0x4a, struct vapicvm_msr_filter)
/* The id the generic netlink family and the tracepoints know this VM by. */
#define VAPICVM_GET_VM_ID		_IOR(VAPICVMIO, 0x4b, __u64)

/* struct vapicvm_userspace_memory_region.flags */
/* Writes are logged for VAPICVM_GET_DIRTY_LOG (the slot maps 4 KiB pages). */
#define VAPICVM_MEM_LOG_DIRTY_PAGES	(1U << 0)
#define VAPICVM_MEM_READONLY		(1U << 1)
/* A fault maps the whole 2 MiB-aligned block around it (within the slot). */
#define VAPICVM_MEM_PREFAULT		(1U << 2)
#define VAPICVM_MEM_FLAGS_ALL		(VAPICVM_MEM_LOG_DIRTY_PAGES | VAPICVM_MEM_READONLY | \
					 VAPICVM_MEM_PREFAULT)

struct vapicvm_userspace_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;	/* page aligned */
	__u64 memory_size;	/* bytes, page aligned; 0 deletes the slot */
	__u64 userspace_addr;	/* page aligned */
};

struct vapicvm_apicv_info {
	__u32 supported;	/* VAPICVM_APICV_* the host CPU offers */
	__u32 enabled;		/* VAPICVM_APICV_* this VM uses */
	__u32 posted_intr_vector; /* notification vector, when POSTED_INTR */
	__u32 pad;
	__u64 apic_access_gpa;	/* guest-physical address of the APIC-access page */
	__u64 reserved[4];
};

/* An MSI: the address/data pair a device would write (Vol. 3A 11.11). */
struct vapicvm_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 flags;		/* must be zero */
	__u64 reserved[2];
};

/*
 * VAPICVM_ENABLE_CAP: turn on a behaviour a VMM must ask for.
 *
 * VAPICVM_CAP_IOAPIC_EOI (a split irqchip: the local APICs in the kernel,
 * the I/O APIC in the VMM): args[0] = 1 turns on, 0 turns off, the exit
 * VAPICVM_EXIT_IOAPIC_EOI for each EOI of an interrupt the local APIC
 * accepted as level-triggered (its TMR bit set; Vol. 3A 11.8.4-11.8.5),
 * which is when a local APIC sends the I/O APICs its EOI message.
 */
struct vapicvm_enable_cap {
	__u32 cap;		/* VAPICVM_CAP_* */
	__u32 flags;		/* must be zero */
	__u64 args[4];
	__u64 reserved[4];	/* must be zero */
};

/*
 * VAPICVM_IOEVENTFD: a guest write of len bytes at addr (a port with
 * VAPICVM_IOEVENTFD_PIO, else a guest-physical address no slot backs),
 * and with VAPICVM_IOEVENTFD_DATAMATCH only of the value datamatch,
 * signals the eventfd fd and completes without an exit to userspace.
 */
#define VAPICVM_IOEVENTFD_DATAMATCH	(1U << 0)
#define VAPICVM_IOEVENTFD_PIO		(1U << 1)
#define VAPICVM_IOEVENTFD_DEASSIGN	(1U << 2)
#define VAPICVM_IOEVENTFD_FLAGS_ALL	0x7U

struct vapicvm_ioeventfd {
	__u64 datamatch;	/* the low len bytes, with _DATAMATCH */
	__u64 addr;
	__u32 len;		/* 1, 2 or 4; 8 too for MMIO */
	__s32 fd;		/* an eventfd */
	__u32 flags;		/* VAPICVM_IOEVENTFD_* */
	__u32 pad;		/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

/*
 * VAPICVM_SET_GSI_ROUTE: what a signal on GSI gsi (an irqfd's) delivers.
 * With VAPICVM_GSI_ROUTE_MSI, the message msi (its flags and reserved
 * words zero, as for VAPICVM_SIGNAL_MSI); with flags zero, nothing: the
 * route is removed and msi must be all zeros.  A VMM's I/O APIC keeps
 * each pin's route in step with its redirection entry.
 */
#define VAPICVM_GSI_ROUTE_MSI		(1U << 0)
#define VAPICVM_GSI_ROUTE_FLAGS_ALL	0x1U

struct vapicvm_gsi_route {
	__u32 gsi;		/* below VAPICVM_CAP_GSI_ROUTING */
	__u32 flags;		/* VAPICVM_GSI_ROUTE_* */
	struct vapicvm_msi msi;
	__u64 reserved[2];	/* must be zero */
};

/*
 * VAPICVM_IRQFD: each signal of the eventfd fd delivers GSI gsi's route
 * from the eventfd's wake-up, with no ioctl and no exit; signals that come
 * before the guest took the previous one may coalesce, as edges do.
 * VAPICVM_IRQFD_DEASSIGN removes the pairing; after it returns, the
 * eventfd delivers nothing.  Closing the eventfd removes it too.
 */
#define VAPICVM_IRQFD_DEASSIGN		(1U << 0)
#define VAPICVM_IRQFD_FLAGS_ALL		0x1U

struct vapicvm_irqfd {
	__s32 fd;		/* an eventfd */
	__u32 gsi;		/* below VAPICVM_CAP_GSI_ROUTING */
	__u32 flags;		/* VAPICVM_IRQFD_* */
	__u32 pad;		/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

/*
 * VAPICVM_GET_DIRTY_LOG: the pages of a VAPICVM_MEM_LOG_DIRTY_PAGES slot
 * written since the slot got the flag or since the last call, one bit per
 * page (bit i of word i / 64: the slot's page i), into the
 * (memory_size / 4096 + 63) / 64 words at dirty_bitmap; the log is cleared
 * and those pages' next writes are logged again.
 */
#define VAPICVM_DIRTY_LOG_ON		(1U << 0)	/* dirty logging works */
#define VAPICVM_DIRTY_LOG_PML		(1U << 1)	/* first writes cost no exit (PML) */

struct vapicvm_dirty_log {
	__u32 slot;
	__u32 pad;		/* must be zero */
	__u64 dirty_bitmap;	/* userspace address of the bitmap */
	__u64 reserved[2];	/* must be zero */
};

/*
 * VAPICVM_ENABLE_CAP of VAPICVM_CAP_USER_MSR: args[0] says which guest
 * RDMSR/WRMSR exit to userspace (VAPICVM_EXIT_X86_RDMSR/_WRMSR) instead
 * of raising #GP: those of MSRs vapicvm does not know, those the filter
 * denies.  The same bits are vapicvm_run.msr.reason.
 */
#define VAPICVM_MSR_EXIT_UNKNOWN	(1U << 0)
#define VAPICVM_MSR_EXIT_FILTER		(1U << 1)
#define VAPICVM_MSR_EXIT_ALL		0x3U

/*
 * VAPICVM_SET_MSR_FILTER: which guest MSR accesses are allowed.  An access
 * is looked up in the first range with its kind (_READ, _WRITE) whose
 * [base, base + nmsrs) holds the MSR: allowed if its bit in bitmap is set.
 * No such range: allowed unless VAPICVM_MSR_FILTER_DEFAULT_DENY.  A range
 * with nmsrs 0 is unused.  Denied accesses raise #GP in the guest, or exit
 * (VAPICVM_MSR_EXIT_FILTER).  x2APIC MSRs (0x800-0x8ff) are never filtered.
 */
#define VAPICVM_MSR_FILTER_DEFAULT_DENY	(1U << 0)
#define VAPICVM_MSR_FILTER_READ		(1U << 0)
#define VAPICVM_MSR_FILTER_WRITE	(1U << 1)
#define VAPICVM_MSR_FILTER_MAX_RANGES	16
#define VAPICVM_MSR_FILTER_MAX_BITS	(0x600 * 8)	/* nmsrs of one range */

struct vapicvm_msr_filter_range {
	__u32 flags;		/* VAPICVM_MSR_FILTER_READ, _WRITE */
	__u32 nmsrs;
	__u32 base;
	__u32 pad;		/* must be zero */
	__u64 bitmap;		/* userspace address: (nmsrs + 7) / 8 bytes */
};

struct vapicvm_msr_filter {
	__u32 flags;		/* VAPICVM_MSR_FILTER_DEFAULT_DENY */
	__u32 pad;		/* must be zero */
	struct vapicvm_msr_filter_range ranges[VAPICVM_MSR_FILTER_MAX_RANGES];
};

/* ------------------------------------------------------------------ */
/* vCPU ioctls, on the fd returned by VAPICVM_CREATE_VCPU              */
/* ------------------------------------------------------------------ */

#define VAPICVM_RUN			_IO(VAPICVMIO, 0x80)
#define VAPICVM_GET_REGS		_IOR(VAPICVMIO, 0x81, struct vapicvm_regs)
#define VAPICVM_SET_REGS		_IOW(VAPICVMIO, 0x82, struct vapicvm_regs)
#define VAPICVM_GET_SREGS		_IOR(VAPICVMIO, 0x83, struct vapicvm_sregs)
#define VAPICVM_SET_SREGS		_IOW(VAPICVMIO, 0x84, struct vapicvm_sregs)
#define VAPICVM_GET_MSRS		_IOWR(VAPICVMIO, 0x85, struct vapicvm_msrs)
#define VAPICVM_SET_MSRS		_IOW(VAPICVMIO, 0x86, struct vapicvm_msrs)
#define VAPICVM_SET_CPUID		_IOW(VAPICVMIO, 0x87, struct vapicvm_cpuid)
#define VAPICVM_GET_XSAVE		_IOR(VAPICVMIO, 0x88, struct vapicvm_xsave)
#define VAPICVM_SET_XSAVE		_IOW(VAPICVMIO, 0x89, struct vapicvm_xsave)
#define VAPICVM_GET_LAPIC		_IOR(VAPICVMIO, 0x8a, struct vapicvm_lapic_state)
#define VAPICVM_SET_LAPIC		_IOW(VAPICVMIO, 0x8b, struct vapicvm_lapic_state)
#define VAPICVM_INTERRUPT		_IOW(VAPICVMIO, 0x8c, struct vapicvm_interrupt)
#define VAPICVM_GET_MP_STATE		_IOR(VAPICVMIO, 0x8d, struct vapicvm_mp_state)
#define VAPICVM_SET_MP_STATE		_IOW(VAPICVMIO, 0x8e, struct vapicvm_mp_state)
#define VAPICVM_GET_STATS		_IOWR(VAPICVMIO, 0x8f, struct vapicvm_stats)
#define VAPICVM_GET_DEBUGREGS		_IOR(VAPICVMIO, 0x90, struct vapicvm_debugregs)
#define VAPICVM_SET_DEBUGREGS		_IOW(VAPICVMIO, 0x91, struct vapicvm_debugregs)
#define VAPICVM_GET_XCRS		_IOR(VAPICVMIO, 0x92, struct vapicvm_xcrs)
#define VAPICVM_SET_XCRS		_IOW(VAPICVMIO, 0x93, struct vapicvm_xcrs)
#define VAPICVM_GET_CPUID		_IOWR(VAPICVMIO, 0x94, struct vapicvm_cpuid)
#define VAPICVM_GET_VCPU_EVENTS		_IOR(VAPICVMIO, 0x95, struct vapicvm_vcpu_events)
#define VAPICVM_SET_VCPU_EVENTS		_IOW(VAPICVMIO, 0x96, struct vapicvm_vcpu_events)
#define VAPICVM_SET_GUEST_DEBUG		_IOW(VAPICVMIO, 0x97, struct vapicvm_guest_debug)
#define VAPICVM_TRANSLATE		_IOWR(VAPICVMIO, 0x98, struct vapicvm_translation)
#define VAPICVM_SET_TSC_KHZ		_IO(VAPICVMIO, 0x99)	/* arg: kHz */
#define VAPICVM_GET_TSC_KHZ		_IO(VAPICVMIO, 0x9a)	/* returns kHz */

/* Event types: the VMX interruption types (Vol. 3C 24.8.3). */
#define VAPICVM_EVENT_EXT_INTR		0
#define VAPICVM_EVENT_NMI		2
#define VAPICVM_EVENT_HW_EXCEPTION	3
#define VAPICVM_EVENT_SOFT_INTR		4	/* INT n */
#define VAPICVM_EVENT_PRIV_SW_EXCEPTION	5	/* INT1 */
#define VAPICVM_EVENT_SOFT_EXCEPTION	6	/* INT3, INTO */

/* vapicvm_vcpu_events.shadow: the interrupt shadow (Vol. 3C 24.4.2). */
#define VAPICVM_SHADOW_STI		(1U << 0)
#define VAPICVM_SHADOW_MOV_SS		(1U << 1)

/*
 * The vCPU's events in flight, for save and restore: what the next entry
 * delivers, what is pending, and what blocks delivery.
 */
struct vapicvm_vcpu_events {
	/* An event whose delivery a VM exit interrupted: it goes in first. */
	struct {
		__u8  valid;
		__u8  type;		/* VAPICVM_EVENT_* */
		__u8  vector;
		__u8  has_error_code;
		__u32 error_code;
		__u32 insn_len;		/* the software types: the instruction's length */
		__u32 pad;
	} injected;
	/* An exception vapicvm raised for the guest, not yet delivered. */
	struct {
		__u8  pending;
		__u8  vector;
		__u8  has_error_code;
		__u8  pad;
		__u32 error_code;
	} exception;
	__u8  nmi_pending;	/* 0-2: NMIs received, not yet delivered */
	__u8  nmi_masked;	/* an NMI handler runs: NMIs blocked until its IRET */
	__u8  shadow;		/* VAPICVM_SHADOW_* */
	__u8  extint_pending;	/* an ExtINT from the VMM's PIC, not yet delivered */
	__u8  extint_vector;
	__u8  triple_fault;	/* reported by the next RUN */
	__u8  init_pending;	/* an INIT received, not yet acted on */
	__u8  sipi_pending;	/* a SIPI received, not yet acted on */
	__u8  sipi_vector;
	__u8  pad[3];
	__u32 flags;		/* must be zero */
	__u64 reserved[4];	/* must be zero */
};

/* The guest's debug registers (DR4 and DR5 are DR6 and DR7's aliases). */
struct vapicvm_debugregs {
	__u64 db[4];		/* DR0-DR3 */
	__u64 dr6;		/* bits 63:32 must be zero */
	__u64 dr7;		/* bits 63:32 must be zero */
	__u64 flags;		/* must be zero */
	__u64 reserved[9];	/* must be zero */
};

/*
 * VAPICVM_SET_GUEST_DEBUG: the VMM debugs the guest.  With ENABLE, the
 * guest's #DB and #BP (as USE_HW_BP/USE_SW_BP ask) exit to userspace as
 * VAPICVM_EXIT_DEBUG instead of reaching the guest; SINGLESTEP exits
 * after each guest instruction.  With USE_HW_BP, debugreg[0-3] and
 * debugreg[7] are loaded into DR0-3 and DR7 while the guest runs (the
 * guest's own debug registers are kept aside and read back unchanged).
 */
#define VAPICVM_GUESTDBG_ENABLE		(1U << 0)
#define VAPICVM_GUESTDBG_SINGLESTEP	(1U << 1)
#define VAPICVM_GUESTDBG_USE_SW_BP	(1U << 2)
#define VAPICVM_GUESTDBG_USE_HW_BP	(1U << 3)
#define VAPICVM_GUESTDBG_FLAGS_ALL	0xfU

struct vapicvm_guest_debug {
	__u32 control;		/* VAPICVM_GUESTDBG_* */
	__u32 pad;		/* must be zero */
	__u64 debugreg[8];	/* USE_HW_BP: DR0-DR3 and DR7 ([4-6] must be zero) */
	__u64 reserved[4];	/* must be zero */
};

/* VAPICVM_TRANSLATE: the guest's paging, as its current CR3/CR0/CR4/EFER. */
struct vapicvm_translation {
	__u64 linear_address;	/* in */
	__u64 physical_address;	/* out */
	__u8  valid;		/* out: 1 if mapped */
	__u8  writeable;	/* out: writes allowed at CPL 0 */
	__u8  usermode;		/* out: reachable at CPL 3 */
	__u8  pad[5];
};

/* Extended control registers: XCR0 is the only one. */
#define VAPICVM_MAX_XCRS		16

struct vapicvm_xcr {
	__u32 xcr;		/* its index (XSETBV's ECX) */
	__u32 reserved;		/* must be zero */
	__u64 value;
};

struct vapicvm_xcrs {
	__u32 nr_xcrs;		/* at most VAPICVM_MAX_XCRS */
	__u32 flags;		/* must be zero */
	struct vapicvm_xcr xcrs[VAPICVM_MAX_XCRS];
	__u64 padding[16];	/* must be zero */
};

/* General-purpose registers. */
struct vapicvm_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct vapicvm_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8  type;
	__u8  present, dpl, db, s, l, g, avl;
	__u8  unusable;
	__u8  padding;
};

struct vapicvm_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

/* Segment, control and descriptor-table registers. */
struct vapicvm_sregs {
	struct vapicvm_segment cs, ds, es, fs, gs, ss;
	struct vapicvm_segment tr, ldt;
	struct vapicvm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
	__u64 reserved[4];	/* must be zero */
};

struct vapicvm_msr_entry {
	__u32 index;
	__u32 reserved;		/* must be zero */
	__u64 data;
};

/*
 * GET_MSRS/SET_MSRS process entries in order and return how many succeeded;
 * processing stops at the first MSR that vapicvm does not virtualize (or at
 * a value the guest could not write either).
 */
struct vapicvm_msrs {
	__u32 nmsrs;		/* at most VAPICVM_MAX_MSR_ENTRIES */
	__u32 pad;
	__VAPICVM_FLEX_ARRAY(struct vapicvm_msr_entry, entries);
};

#define VAPICVM_MAX_MSR_ENTRIES		256

struct vapicvm_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 padding[3];
};

/* vapicvm_cpuid_entry.flags */
#define VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX	(1U << 0)

struct vapicvm_cpuid {
	__u32 nent;		/* at most VAPICVM_MAX_CPUID_ENTRIES */
	__u32 padding;
	__VAPICVM_FLEX_ARRAY(struct vapicvm_cpuid_entry, entries);
};

#define VAPICVM_MAX_CPUID_ENTRIES	256

/* The guest's FPU/XSAVE state, in the XSAVE standard format (4 KiB). */
struct vapicvm_xsave {
	__u32 region[1024];
};

/*
 * The local APIC: the xAPIC register page as the guest would read it at
 * offsets 0x000-0x3ff (offset 0x390, "current count", is computed at GET),
 * and the timer and mode state that is not visible in the register page.
 */
#define VAPICVM_APIC_REG_SIZE		0x400

struct vapicvm_lapic_state {
	__u8  regs[VAPICVM_APIC_REG_SIZE];
	__u64 apic_base;		/* IA32_APIC_BASE */
	__u64 tsc_deadline;		/* IA32_TSC_DEADLINE, 0 when disarmed */
	__u64 timer_remaining_ns;	/* one-shot/periodic: time to next expiry */
	__u32 flags;			/* must be zero */
	/* out: RVI (7:0), SVI (15:8) with virtual-interrupt delivery; SET ignores it */
	__u16 intr_status;
	__u16 pad;
	__u64 reserved[4];		/* must be zero */
};

/* VAPICVM_INTERRUPT: a pulse on the local APIC's LINT0 (a userspace PIC). */
#define VAPICVM_INTERRUPT_LINT0		0
#define VAPICVM_INTERRUPT_LINT1		1

struct vapicvm_interrupt {
	__u32 pin;		/* VAPICVM_INTERRUPT_LINT0/1 */
	__u32 vector;		/* for an ExtINT-mode LINT: the vector the PIC supplies */
	__u32 flags;		/* must be zero */
	__u32 pad;
};

#define VAPICVM_MP_STATE_RUNNABLE	0
#define VAPICVM_MP_STATE_UNINITIALIZED	1 /* an AP before INIT */
#define VAPICVM_MP_STATE_INIT_RECEIVED	2 /* wait-for-SIPI */
#define VAPICVM_MP_STATE_HALTED		3

struct vapicvm_mp_state {
	__u32 mp_state;
	__u32 pad;
};

/*
 * Per-vCPU counters, one table: X(ID, name, description).  VAPICVM_CAP_STATS
 * gives the number of counters the kernel keeps; GET_STATS fills
 * min(n, that number).  Rows are only ever appended: the index of a
 * counter is its row, VAPICVM_STAT_<ID>.
 */
#define VAPICVM_STATS(X)							\
	X(EXITS, "exits", "all VM exits")	\
	X(EXIT_EXTINT, "exit_extint", "external-interrupt exits")	\
	X(EXIT_NMI, "exit_nmi", "exception or NMI exits")	\
	X(EXIT_CPUID, "exit_cpuid", "CPUID exits")	\
	X(EXIT_HLT, "exit_hlt", "HLT exits")	\
	X(EXIT_IO, "exit_io", "I/O instruction exits")	\
	X(EXIT_MSR_READ, "exit_msr_read", "RDMSR exits")	\
	X(EXIT_MSR_WRITE, "exit_msr_write", "WRMSR exits")	\
	X(EXIT_CR, "exit_cr", "control-register access exits")	\
	X(EXIT_EPT_VIOLATION, "exit_ept_violation", "EPT-violation exits")	\
	X(EXIT_EPT_MISCONFIG, "exit_ept_misconfig", "EPT-misconfiguration exits")	\
	X(EXIT_VMCALL, "exit_vmcall", "VMCALL exits")	\
	X(EXIT_PREEMPT_TIMER, "exit_preempt_timer", "VMX-preemption-timer exits")	\
	X(EXIT_INTR_WINDOW, "exit_intr_window", "interrupt-window exits")	\
	X(EXIT_TPR_BELOW_THRESHOLD, "exit_tpr_below_threshold",		\
	  "TPR-below-threshold exits (43)")	\
	X(EXIT_APIC_ACCESS, "exit_apic_access", "APIC-access exits (44)")	\
	X(EXIT_EOI_INDUCED, "exit_eoi_induced", "EOI-induced exits (45)")	\
	X(EXIT_APIC_WRITE, "exit_apic_write", "APIC-write exits (56)")	\
	X(EXIT_XSETBV, "exit_xsetbv", "XSETBV exits")	\
	X(EXIT_OTHER, "exit_other", "exits of any other reason")	\
	X(EXIT_USERSPACE, "exit_userspace", "RUN returned to userspace")	\
	X(HALT_WAKEUP, "halt_wakeup", "blocked on HLT and woken")	\
	X(IRQ_INJECTED, "irq_injected", "interrupts injected by event injection")	\
	X(IRQ_POSTED, "irq_posted", "interrupts delivered through the PIR")	\
	X(IPI_SENT, "ipi_sent", "IPIs sent")	\
	X(APIC_MMIO_EMULATED, "apic_mmio_emulated", "xAPIC accesses emulated by the model")	\
	X(APIC_MSR_EMULATED, "apic_msr_emulated", "x2APIC MSR accesses emulated")	\
	X(TIMER_FIRED, "timer_fired", "local APIC timer expiries")	\
	X(TIMER_FIRED_PREEMPT, "timer_fired_preempt",				\
	  "APIC timer expiries (any mode) taken by the VMX-preemption timer")	\
	X(HALT_POLL_SUCCESS, "halt_poll_success",				\
	  "halts whose wake-up came while the vCPU polled, before it slept")	\
	X(IOAPIC_EOI, "ioapic_eoi",						\
	  "EOIs of level-triggered interrupts reported to userspace")	\
	X(IOEVENTFD, "ioeventfd",						\
	  "guest writes that signalled an ioeventfd instead of exiting")	\
	X(IRQ_VID, "irq_vid",							\
	  "interrupts left to virtual-interrupt delivery (RVI), not injected")	\
	X(IPI_FIXED, "ipi_fixed", "IPIs sent with fixed delivery")		\
	X(IPI_LOWEST_PRIORITY, "ipi_lowest_priority",				\
	  "IPIs sent with lowest-priority delivery")				\
	X(IPI_NMI, "ipi_nmi", "NMI IPIs sent")					\
	X(IPI_INIT, "ipi_init", "INIT IPIs sent (not INIT level de-assert)")	\
	X(IPI_SIPI, "ipi_sipi", "start-up IPIs sent")				\
	X(IPI_SELF, "ipi_self", "IPIs sent to self (shorthand or SELF IPI)")	\
	X(IPI_BROADCAST, "ipi_broadcast", "IPIs sent to all (shorthand or 0xff)") \
	X(HALT_NS, "halt_ns", "time blocked in HLT or wait-for-SIPI, ns")	\
	X(GUEST_NS, "guest_ns", "time in guest mode, ns")	\
	X(EXIT_PAUSE, "exit_pause", "PAUSE-loop exits (40)")	\
	X(DIRECTED_YIELD, "directed_yield",					\
	  "PAUSE-loop exits that gave the host CPU to another vCPU of the VM")

enum vapicvm_stat {
#define __VAPICVM_STAT_ENUM(id, name, desc) VAPICVM_STAT_##id,
	VAPICVM_STATS(__VAPICVM_STAT_ENUM)
#undef __VAPICVM_STAT_ENUM
	VAPICVM_STAT_NR
};

/*
 * Per-VM counters and levels, one table: X(ID, name, description), read
 * with VAPICVM_GET_VM_STATS into the same struct vapicvm_stats;
 * VAPICVM_CAP_VM_STATS gives their number.  Rows are only ever appended.
 */
#define VAPICVM_VM_STATS(X)						\
	X(EPT_TABLES, "ept_tables", "EPT paging-structure pages held now")	\
	X(TLB_FLUSHES, "tlb_flushes", "EPT invalidations asked of every vCPU")	\
	X(TLB_FLUSH_IPIS, "tlb_flush_ipis", "host CPUs interrupted for them")	\
	X(VCPUS_WITHOUT_VPID, "vcpus_without_vpid",				\
	  "vCPUs without a VPID of their own: they flush on every entry")

enum vapicvm_vm_stat {
#define __VAPICVM_VM_STAT_ENUM(id, name, desc) VAPICVM_VM_STAT_##id,
	VAPICVM_VM_STATS(__VAPICVM_VM_STAT_ENUM)
#undef __VAPICVM_VM_STAT_ENUM
	VAPICVM_VM_STAT_NR
};

struct vapicvm_stats {
	__u32 n;		/* in: capacity of .counters; out: number filled */
	__u32 pad;
	__VAPICVM_FLEX_ARRAY(__u64, counters);
};

/* ------------------------------------------------------------------ */
/* The run structure, mmap()ed from the vCPU fd at offset 0            */
/* ------------------------------------------------------------------ */

/*
 * vapicvm_run.exit_reason, one table: X(ID, value, name).  RUN returns 0
 * with one of these in the run structure (VAPICVM_EXIT_INTR goes with
 * -EINTR: a signal or immediate_exit).
 */
#define VAPICVM_EXIT_REASONS(X)						\
	X(UNKNOWN, 0, "unknown")						\
	X(IO, 1, "io")								\
	X(MMIO, 2, "mmio")							\
	X(HLT, 3, "hlt")							\
	X(SHUTDOWN, 4, "shutdown")	/* triple fault */			\
	X(FAIL_ENTRY, 5, "fail-entry")						\
	X(INTERNAL_ERROR, 6, "internal-error")					\
	X(SYSTEM_EVENT, 7, "system-event")					\
	X(INTR, 8, "intr")							\
	X(IOAPIC_EOI, 9, "ioapic-eoi")	/* VAPICVM_CAP_IOAPIC_EOI */		\
	X(X86_RDMSR, 10, "x86-rdmsr")	/* VAPICVM_CAP_USER_MSR */		\
	X(X86_WRMSR, 11, "x86-wrmsr")						\
	X(HYPERCALL, 12, "hypercall")	/* VAPICVM_CAP_EXIT_HYPERCALL */	\
	X(DEBUG, 13, "debug")		/* VAPICVM_SET_GUEST_DEBUG */

enum vapicvm_exit_reason {
#define __VAPICVM_EXIT_ENUM(id, value, name) VAPICVM_EXIT_##id = value,
	VAPICVM_EXIT_REASONS(__VAPICVM_EXIT_ENUM)
#undef __VAPICVM_EXIT_ENUM
};

#define VAPICVM_EXIT_IO_IN		0
#define VAPICVM_EXIT_IO_OUT		1

/* vapicvm_run.internal.suberror */
#define VAPICVM_INTERNAL_ERROR_UNHANDLED_EXIT	1 /* data[0] = exit reason, [1] = qualification */
#define VAPICVM_INTERNAL_ERROR_EMULATION	2 /* not emulated; data[3..5]: the insn bytes */
#define VAPICVM_INTERNAL_ERROR_DELIVERY_EV	3 /* an exit while delivering an event */
#define VAPICVM_INTERNAL_ERROR_VMX		4 /* a VMX instruction failed; data[0] = error */

/* vapicvm_run.system_event.type */
#define VAPICVM_SYSTEM_EVENT_RESET	1

/* What each exit reason leaves in the run structure (its union below). */

/* VAPICVM_EXIT_FAIL_ENTRY */
struct vapicvm_exit_fail_entry {
	__u64 hardware_entry_failure_reason; /* the VM-exit reason, bit 31 set */
	__u64 exit_qualification;
	__u32 cpu;
	__u32 pad;
};

/*
 * VAPICVM_EXIT_IO: count accesses of size bytes each; the data is at
 * (char *)run + data_offset.  For IN, userspace fills it and the next RUN
 * completes the instruction.
 */
struct vapicvm_exit_io {
	__u8  direction;	/* VAPICVM_EXIT_IO_IN or _OUT */
	__u8  size;
	__u16 port;
	__u32 count;
	__u64 data_offset;
};

/*
 * VAPICVM_EXIT_MMIO: for a read, userspace fills data[0..len) and the next
 * RUN completes the instruction.
 */
struct vapicvm_exit_mmio {
	__u64 phys_addr;
	__u8  data[8];
	__u32 len;
	__u8  is_write;
	__u8  pad[3];
};

/*
 * VAPICVM_EXIT_IOAPIC_EOI: the guest ended a level-triggered interrupt of
 * this vector; the VMM's I/O APIC clears the remote IRR of the entries
 * with it (and delivers again any whose line is still asserted).  The
 * next RUN goes on after the EOI; nothing needs to be completed.
 */
struct vapicvm_exit_eoi {
	__u8  vector;
	__u8  pad[7];
};

/*
 * VAPICVM_EXIT_X86_RDMSR, VAPICVM_EXIT_X86_WRMSR: the guest's RDMSR or
 * WRMSR of index (with data, for WRMSR), for the reason (a
 * VAPICVM_MSR_EXIT_* bit).  Userspace sets error to 1 for a #GP, or for
 * RDMSR fills data; the next RUN completes the instruction.
 */
struct vapicvm_exit_msr {
	__u8  error;		/* in: 1 raises #GP */
	__u8  pad[3];
	__u32 reason;		/* VAPICVM_MSR_EXIT_* */
	__u32 index;
	__u32 pad2;
	__u64 data;		/* WRMSR: the value; RDMSR: in, the result */
};

/*
 * VAPICVM_EXIT_HYPERCALL: a VMCALL at CPL 0: nr from RAX, args from RBX,
 * RCX, RDX, RSI (32 bits of each unless longmode).  The next RUN puts ret
 * in RAX and goes on after the VMCALL.
 */
struct vapicvm_exit_hypercall {
	__u64 nr;
	__u64 args[4];
	__u64 ret;		/* in */
	__u32 longmode;		/* 1: the guest was in 64-bit mode */
	__u32 pad;
};

/*
 * VAPICVM_EXIT_DEBUG: a #DB (exception 1: a single step, a hardware
 * breakpoint; dr6 says which) or a #BP (exception 3: INT3 at pc) taken
 * for the VMM's SET_GUEST_DEBUG.  The next RUN goes on at the guest's
 * RIP: after an INT3, RIP is still the INT3's address.
 */
struct vapicvm_exit_debug {
	__u32 exception;	/* 1 (#DB) or 3 (#BP) */
	__u32 pad;
	__u64 pc;		/* the guest's RIP */
	__u64 dr6;
	__u64 dr7;
};

/* VAPICVM_EXIT_INTERNAL_ERROR */
struct vapicvm_exit_internal {
	__u32 suberror;		/* VAPICVM_INTERNAL_ERROR_* */
	__u32 ndata;
	__u64 data[16];
};

/* VAPICVM_EXIT_SYSTEM_EVENT */
struct vapicvm_exit_system_event {
	__u32 type;		/* VAPICVM_SYSTEM_EVENT_* */
	__u32 ndata;
	__u64 data[16];
};

/*
 * The union is anonymous, as in KVM's struct kvm_run; its member types are
 * named so that the header is ISO C11 and ISO C++ alike.
 */
struct vapicvm_run {
	/* in */
	__u8  immediate_exit;	/* RUN returns -EINTR at once when set */
	__u8  padding1[7];
	/* out */
	__u32 exit_reason;	/* VAPICVM_EXIT_* */
	__u32 flags;
	__u64 cr8;
	__u64 apic_base;
	union {
		struct vapicvm_exit_fail_entry fail_entry;
		struct vapicvm_exit_io io;
		struct vapicvm_exit_mmio mmio;
		struct vapicvm_exit_internal internal;
		struct vapicvm_exit_system_event system_event;
		struct vapicvm_exit_eoi eoi;
		struct vapicvm_exit_msr msr;
		struct vapicvm_exit_hypercall hypercall;
		struct vapicvm_exit_debug debug;
		char padding[256];
	};
};

/* The I/O data area follows the run structure in the same page. */
#define VAPICVM_RUN_IO_DATA_OFFSET	1024

/* ------------------------------------------------------------------ */
/* Generic netlink: VMs, vCPUs, their counters, and events             */
/* ------------------------------------------------------------------ */

/*
 * The family lives in the initial network namespace only.  A dump shows
 * the VMs whose creator had the caller's effective uid; with CAP_PERFMON
 * or CAP_SYS_ADMIN, every VM.  The events group needs CAP_SYS_ADMIN to
 * join.  Documentation/netlink.rst has the tables.
 */
#define VAPICVM_GENL_NAME		"vapicvm"
#define VAPICVM_GENL_VERSION		1
#define VAPICVM_GENL_MCGRP_EVENTS	"events"

enum vapicvm_genl_cmd {
	VAPICVM_CMD_UNSPEC,
	VAPICVM_CMD_GET_VM,	/* doit with VM_ID, or dump */
	VAPICVM_CMD_GET_VCPU,	/* dump; VM_ID required, VCPU_ID optional */
	VAPICVM_CMD_EVENT,	/* notification on the events group */
	__VAPICVM_CMD_MAX
};
#define VAPICVM_CMD_MAX			(__VAPICVM_CMD_MAX - 1)

/*
 * Attributes, one flat space.  A request may carry only VM_ID and
 * VCPU_ID; every other attribute is output.
 */
enum vapicvm_genl_attr {
	VAPICVM_A_UNSPEC,
	VAPICVM_A_PAD,			/* alignment of the u64s */
	VAPICVM_A_VM_ID,		/* u64 */
	VAPICVM_A_VCPU_ID,		/* u32 */
	VAPICVM_A_PID,			/* u32: the creator's thread group */
	VAPICVM_A_UID,			/* u32: the creator's effective uid */
	VAPICVM_A_NR_VCPUS,		/* u32 */
	VAPICVM_A_MEM_BYTES,		/* u64: guest memory in slots */
	VAPICVM_A_PINNED_BYTES,		/* u64: of it, pinned now */
	VAPICVM_A_APICV,		/* u32: VAPICVM_APICV_* in use */
	VAPICVM_A_APICV_REQUESTED,	/* u32: asked for (all, without a mask) */
	VAPICVM_A_APICV_TIER,		/* string: the tier's name */
	VAPICVM_A_APICV_FEATURES,	/* nest of FEATURE */
	VAPICVM_A_FEATURE,		/* nest: FEATURE_* */
	VAPICVM_A_FEATURE_NAME,		/* string */
	VAPICVM_A_FEATURE_STATE,	/* u32: enum vapicvm_feature_state */
	VAPICVM_A_FEATURE_NEEDS,	/* u32: VAPICVM_APICV_* it lacks */
	VAPICVM_A_LAST_CPU,		/* u32: host CPU it last ran on, ~0 never */
	VAPICVM_A_APIC_MODE,		/* u32: enum vapicvm_apic_mode */
	VAPICVM_A_MP_STATE,		/* u32: VAPICVM_MP_STATE_* */
	VAPICVM_A_IN_GUEST,		/* u8: 1 if in guest mode now */
	VAPICVM_A_STATS,		/* nest: type VAPICVM_STAT_x + 1, u64 */
	VAPICVM_A_VM_STATS,		/* nest: type VAPICVM_VM_STAT_x + 1, u64 */
	VAPICVM_A_EXIT_REASONS,		/* nest: type VMX basic reason + 1, u64, non-zero only */
	VAPICVM_A_APIC_ACCESS,		/* nest: type APIC offset / 16 + 1, u64, non-zero only */
	VAPICVM_A_APIC_WRITE,		/* nest: type APIC offset / 16 + 1, u64, non-zero only */
	VAPICVM_A_USER_EXITS,		/* nest: type VAPICVM_EXIT_x + 1, u64, non-zero only */
	VAPICVM_A_EVENT,		/* u32: enum vapicvm_event */
	VAPICVM_A_OLD,			/* u32: the value before (mode, features) */
	VAPICVM_A_NEW,			/* u32: the value after */
	VAPICVM_A_REASON,		/* u32: exit reason, entry error, clamp kind */
	VAPICVM_A_QUALIFICATION,	/* u64 */
	__VAPICVM_A_MAX
};
#define VAPICVM_A_MAX			(__VAPICVM_A_MAX - 1)

/* VAPICVM_A_FEATURE_STATE: why a feature is or is not in use. */
enum vapicvm_feature_state {
	VAPICVM_FEATURE_IN_USE,
	VAPICVM_FEATURE_NOT_ASKED,	/* left out of VAPICVM_CREATE_VM's mask */
	VAPICVM_FEATURE_NOT_OFFERED,	/* this CPU (or the module) lacks it */
	VAPICVM_FEATURE_NEEDS_FEATURE,	/* offered, but FEATURE_NEEDS is not */
};

/* VAPICVM_A_APIC_MODE */
enum vapicvm_apic_mode {
	VAPICVM_APIC_MODE_DISABLED,
	VAPICVM_APIC_MODE_XAPIC,
	VAPICVM_APIC_MODE_X2APIC,
};

/* VAPICVM_A_EVENT: what a VAPICVM_CMD_EVENT reports. */
enum vapicvm_event {
	VAPICVM_EVENT_VM_CREATE,	/* VM_ID, PID, UID, APICV, APICV_TIER */
	VAPICVM_EVENT_VM_DESTROY,	/* VM_ID */
	VAPICVM_EVENT_VCPU_CREATE,	/* VM_ID, VCPU_ID */
	VAPICVM_EVENT_APIC_MODE,	/* VM_ID, VCPU_ID, OLD, NEW: enum vapicvm_apic_mode */
	VAPICVM_EVENT_APICV,		/* VM_ID, VCPU_ID, OLD, NEW: VAPICVM_APICV_* active */
	VAPICVM_EVENT_ENTRY_FAILED,	/* VM_ID, VCPU_ID, REASON, QUALIFICATION */
	VAPICVM_EVENT_SHUTDOWN,		/* VM_ID, VCPU_ID: triple fault */
	VAPICVM_EVENT_INTERNAL_ERROR,	/* VM_ID, VCPU_ID, REASON: VAPICVM_INTERNAL_ERROR_* */
	VAPICVM_EVENT_RATE_CLAMP,	/* VM_ID, VCPU_ID, REASON: enum vapicvm_clamp */
};

/*
 * VAPICVM_A_REASON of VAPICVM_EVENT_RATE_CLAMP, sent once per VM and kind.
 * IPIs are not clamped: each costs its sender an exit at most.
 */
enum vapicvm_clamp {
	VAPICVM_CLAMP_TIMER,		/* a periodic timer raised to 200 us */
};

#endif /* _UAPI_LINUX_VAPICVM_H */

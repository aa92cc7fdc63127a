/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vCPU: its state, its lifetime (vcpu.c), requests and kicks.  The
 * other files that work on a vCPU each have their own header: its VMCS
 * (vcpu_vmcs.h), its architectural registers (vcpu_regs.h), its ioctls
 * (vcpu_ioctl.h), the run loop (run.h) and its local APIC (lapic.h).
 */
#ifndef VAPICVM_VCPU_H
#define VAPICVM_VCPU_H

#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/types.h>
#include <asm/fpu/api.h>

#include <uapi/linux/vapicvm.h>
#include "stats.h"
#include "vm.h"
#include "vmcs.h"

struct vapicvm_lapic;

/* General-purpose registers in the architectural encoding order. */
enum vcpu_reg {
	VCPU_REG_RAX, VCPU_REG_RCX, VCPU_REG_RDX, VCPU_REG_RBX,
	VCPU_REG_RSP, VCPU_REG_RBP, VCPU_REG_RSI, VCPU_REG_RDI,
	VCPU_REG_R8, VCPU_REG_R9, VCPU_REG_R10, VCPU_REG_R11,
	VCPU_REG_R12, VCPU_REG_R13, VCPU_REG_R14, VCPU_REG_R15,
	NR_VCPU_REGS
};

/* vcpu->mode: whether a kick must interrupt the guest (see vcpu_kick()). */
enum vcpu_mode {
	OUTSIDE_GUEST_MODE,
	IN_GUEST_MODE,
	EXITING_GUEST_MODE,
};

/* Work a vCPU must do before its next entry (vcpu->requests bits). */
#define VCPU_REQ_TLB_FLUSH	0	/* INVEPT for this VM on this CPU */
#define VCPU_REQ_APIC_MODE	1	/* the APIC mode changed: update controls */
#define VCPU_REQ_EOI_BITMAP	2	/* recompute the EOI-exit bitmap */
#define VCPU_REQ_UNBLOCK	3	/* leave the halted wait */
#define VCPU_REQ_MSR_FILTER	4	/* the MSR filter changed: update the MSR bitmap */

/* What a RUN must finish first after userspace served an exit. */
enum vcpu_completion {
	COMPLETE_NONE,
	COMPLETE_PIO_IN,	/* copy the I/O data into RAX */
	COMPLETE_MMIO_READ,	/* copy run->mmio.data into the destination */
	COMPLETE_RDMSR,		/* run->msr: #GP, or the value into EDX:EAX */
	COMPLETE_WRMSR,		/* run->msr: #GP, or done */
	COMPLETE_HYPERCALL,	/* run->hypercall.ret into RAX */
};

struct vapicvm_vcpu {
	struct vapicvm_vm *vm;
	u32 id;			/* the vCPU id, also its initial APIC ID */
	struct mutex mutex;
	struct vapicvm_run *run;	/* shared with userspace through mmap */

	/* VMCS: current on this CPU between vapicvm_vcpu_load() and _put(). */
	void *vmcs;
	u64 vmcs_phys;
	int cpu;		/* CPU the VMCS is current on, -1 if none */
	int last_cpu;		/* CPU of the previous load (TLB freshness) */
	int last_entry_cpu;	/* CPU of the last VM entry, -1 before the first */
	unsigned long host_cr3, host_cr4;	/* HOST_CR3/CR4 last written */
	bool launched;
	bool vmx_insn_failed;	/* a VMX instruction failed on this VMCS */
	struct preempt_notifier preempt_notifier;
	unsigned long host_rsp;	/* HOST_RSP last written */
	u64 host_debugctl;	/* the host's IA32_DEBUGCTL when loaded */
	bool l1d_flush_pending;	/* host work since the last entry (L1TF) */
	u16 vpid;		/* 0: none, see vpid_alloc() */
	kuid_t vpid_owner;	/* the user its VPID is counted against */

	/* Controls currently in the VMCS, cached to avoid VMREADs. */
	u32 pin_ctls, cpu_ctls, cpu2_ctls, entry_ctls, exit_ctls;
	/* VMX_PREEMPTION_TIMER_VALUE is at its maximum: watching nothing. */
	bool preemption_timer_idle;

	unsigned long regs[NR_VCPU_REGS];	/* RSP lives in the VMCS */
	unsigned long cr2;	/* not switched by VMX */
	u64 xcr0;
	u64 efer;
	struct fpu_guest guest_fpu;
	u64 ia32_misc_enable;
	u64 tsc_offset;
	u64 tsc_ratio;		/* TSC multiplier, 16.48 (tsc.c) */
	u32 tsc_khz;		/* the guest TSC's rate (SET_TSC_KHZ) */
	bool tsc_scaling;	/* SET_TSC_KHZ may scale (tsc.c) */
	u64 tsc_adjust;		/* IA32_TSC_ADJUST (Vol. 3B 17.17.3) */
	u64 pat;
	unsigned long dr[8];	/* emulated debug registers (MOV DR exits) */
	u32 db_trap_bits;	/* DR6 B0-B3 of the instruction being emulated */

	/* SET_GUEST_DEBUG: the VMM debugs the guest (guest_debug.c). */
	u32 guest_debug;	/* VAPICVM_GUESTDBG_* */
	unsigned long guest_debug_db[4];	/* USE_HW_BP: DR0-DR3 ... */
	unsigned long guest_debug_dr7;		/* ... and DR7 */
	bool debug_step_done;	/* SINGLESTEP: vapicvm completed an instruction */

	/* MSRs switched lazily: guest values while guest state is loaded. */
	bool guest_msrs_loaded;
	u64 guest_kernel_gs_base, guest_star, guest_lstar, guest_cstar, guest_sfmask;
	u64 guest_tsc_aux;	/* loaded only on a CPU with RDTSCP */
	struct {
		u16 ds_sel, es_sel, fs_sel, gs_sel, ldt_sel;
		unsigned long fs_base, kernel_gs_base;
		u64 star, lstar, cstar, sfmask, tsc_aux;
	} host;

	/* The guest's CPUID table (SET_CPUID). */
	struct vapicvm_cpuid_entry *cpuid;
	u32 cpuid_nent;

	/* Exit information of the exit being handled. */
	u32 exit_reason;
	unsigned long exit_qual;
	u32 exit_intr_info;
	u32 idt_vectoring_info;
	u32 idt_vectoring_error;
	u32 idt_vectoring_insn_len;

	/*
	 * A load whose value comes from userspace (IN, MMIO read): what the
	 * next RUN must do with the value userspace left in the run page.
	 */
	enum vcpu_completion completion;
	struct {
		u8 reg;		/* destination register */
		bool reg_high8;	/* AH..BH */
		u8 size;	/* bytes read */
		u8 dst_size;	/* bytes written into the register */
		bool sign_extend;
		u8 insn_len;	/* RIP advance once complete */
		u8 io_size;
		u8 kind;	/* enum emul_load_kind */
		u8 op;		/* enum emul_op */
		bool reg_dst;
		bool mem_second;
		u64 operand;	/* TEST/CMP/ALU...: the other operand */
		u64 gpa;	/* read-modify-write: where the result goes */
		u8 addr_size;	/* string instructions: RSI/RDI/RCX size */
		bool rep;
	} pending_load;

	/* Event injection. */
	/*
	 * NMIs taken from the APIC, not yet injected: at most 2 (one to go in
	 * now, one latched behind it), 1 while the guest blocks NMIs.
	 */
	u8 nmi_pending;
	bool exception_pending;
	u8 exception_vector;
	bool exception_has_error;
	u32 exception_error;
	bool triple_fault;
	bool extint_pending;	/* an ExtINT vector from a userspace PIC */
	u8 extint_vector;

	/*
	 * Level-triggered EOIs not yet reported to userspace
	 * (VAPICVM_EXIT_IOAPIC_EOI, one per exit), the vCPU's thread only.
	 */
	bool ioapic_eoi_pending;
	DECLARE_BITMAP(ioapic_eoi_vectors, 256);

	/* Halting, kicks and cross-vCPU requests. */
	int mode;		/* enum vcpu_mode */
	unsigned long requests;
	u32 mp_state;		/* VAPICVM_MP_STATE_* */
	bool halt_if;		/* RFLAGS.IF when the vCPU halted */
	unsigned int halt_poll_ns;	/* how long it spins before sleeping (run.c) */
	struct rcuwait wait;
	struct task_struct *task;	/* thread in RUN, for kicks */
	/* Preempted or woken since it last ran: a spinning sibling may yield to it. */
	bool ready;

	struct vapicvm_lapic *lapic;
	u32 apicv_active;	/* the VM's features in effect now (apicv.c) */
#define APICV_ACTIVE_UNDECIDED	~0U
	struct page *msr_bitmap;
	struct page *pml_page;	/* the PML log, where the CPU has PML (pml.c) */

	u64 stats[VAPICVM_STAT_NR];
	struct vcpu_counters counters;	/* stats.h */
};

static inline void vcpu_stat_inc(struct vapicvm_vcpu *vcpu, enum vapicvm_stat stat)
{
	vcpu->stats[stat]++;
}

int vapicvm_create_vcpu(struct vapicvm_vm *vm, unsigned long id);
void vcpu_destroy(struct vapicvm_vcpu *vcpu);
void vcpu_kick(struct vapicvm_vcpu *vcpu);
void vcpu_make_request(struct vapicvm_vcpu *vcpu, int req);
bool vcpu_check_request(struct vapicvm_vcpu *vcpu, int req);
int vcpu_module_init(void);
void vcpu_module_exit(void);

#endif /* VAPICVM_VCPU_H */

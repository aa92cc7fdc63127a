/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vapicvm's core objects: the VM and its vCPUs.  One VM is one file
 * descriptor; each vCPU is another and holds a reference on its VM.
 *
 * Locking, outermost first:
 *   vcpu->mutex  serializes the ioctls of one vCPU (RUN included);
 *   vm->lock     vCPU creation, memory slots, the EPT hierarchy;
 *   lapic->lock  (lapic.h) the parts of a local APIC other vCPUs touch.
 * The hot exit path of a vCPU takes none of them.
 */
#ifndef VAPICVM_VAPICVM_H
#define VAPICVM_VAPICVM_H

#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/fpu/api.h>

#include <uapi/linux/vapicvm.h>
#include "ept.h"
#include "vmcs.h"

#define VAPICVM_MAX_VCPUS	64
#define VAPICVM_MAX_VCPU_ID	255	/* ids below: 8-bit xAPIC IDs, 0xff is broadcast */
#define VAPICVM_MAX_MEMSLOTS	32
#define VAPICVM_MAX_MEM_PAGES	BIT_ULL(26)	/* 256 GiB per slot */

struct vapicvm_lapic;

/*
 * A memory slot: guest-physical [base_gfn, base_gfn + npages) backed by
 * userspace [userspace_addr, ...).  Pages are pinned (FOLL_LONGTERM) when the
 * guest first touches them and unpinned only after the slot's EPT entries
 * are gone and invalidated everywhere, so the host never frees a page the
 * guest can still reach, whatever userspace does to its mapping.
 */
struct vapicvm_memslot {
	u32 id;
	u32 flags;		/* VAPICVM_MEM_* */
	u64 base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	struct page **pages;	/* pinned backing pages, NULL until touched */
};

struct vapicvm_vm {
	refcount_t users;	/* the VM fd and each vCPU fd */
	struct mm_struct *mm;	/* the creator's: guest memory lives there */
	struct mutex lock;
	u32 apicv;		/* VAPICVM_APICV_* in use */

	struct vapicvm_memslot *slots[VAPICVM_MAX_MEMSLOTS];
	struct vapicvm_ept ept;

	/*
	 * The APIC-access page: one per VM, never seen by userspace, mapped by
	 * one EPT entry at the guest-physical APIC base.  Every vCPU's VMCS
	 * holds its address; accesses to it are virtualized by the CPU
	 * against each vCPU's own virtual-APIC page.
	 */
	struct page *apic_access_page;
	u64 apic_access_gpa;	/* where it is mapped, or ~0 when unmapped */

	struct vapicvm_vcpu *vcpus[VAPICVM_MAX_VCPUS];
	unsigned int nr_vcpus;	/* written under lock, read locklessly */
};

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
#define VCPU_REQ_EVENT		1	/* re-evaluate pending interrupts */
#define VCPU_REQ_APIC_MODE	2	/* the APIC mode changed: update controls */
#define VCPU_REQ_EOI_BITMAP	3	/* recompute the EOI-exit bitmap */
#define VCPU_REQ_UNBLOCK	4	/* leave the halted wait */

/* What a RUN must finish first after userspace served an exit. */
enum vcpu_completion {
	COMPLETE_NONE,
	COMPLETE_PIO_IN,	/* copy the I/O data into RAX */
	COMPLETE_MMIO_READ,	/* copy run->mmio.data into the destination */
};

struct vapicvm_vcpu {
	struct vapicvm_vm *vm;
	u32 id;			/* the vCPU id, also its initial APIC ID */
	struct mutex mutex;
	struct vapicvm_run *run;	/* shared with userspace through mmap */

	/* VMCS: loaded on this CPU between vcpu_load() and vcpu_put(). */
	void *vmcs;
	u64 vmcs_phys;
	int cpu;		/* CPU the VMCS is current on, -1 if none */
	int last_cpu;		/* CPU of the previous load (TLB freshness) */
	unsigned long host_cr3, host_cr4;	/* HOST_CR3/CR4 last written */
	bool launched;
	struct preempt_notifier preempt_notifier;
	unsigned long host_rsp;	/* HOST_RSP last written */
	u16 vpid;

	/* Controls currently in the VMCS, cached to avoid VMREADs. */
	u32 pin_ctls, cpu_ctls, cpu2_ctls, entry_ctls, exit_ctls;

	unsigned long regs[NR_VCPU_REGS];	/* RSP lives in the VMCS */
	unsigned long cr2;	/* not switched by VMX */
	u64 xcr0;
	u64 efer;
	struct fpu_guest guest_fpu;
	u64 ia32_misc_enable;
	u64 tsc_offset;
	u64 pat;
	unsigned long dr[8];	/* emulated debug registers (MOV DR exits) */

	/* MSRs switched lazily: guest values while guest state is loaded. */
	bool guest_msrs_loaded;
	u64 guest_kernel_gs_base, guest_star, guest_lstar, guest_cstar, guest_sfmask;
	struct {
		u16 ds_sel, es_sel, fs_sel, gs_sel, ldt_sel;
		unsigned long fs_base, kernel_gs_base;
		u64 star, lstar, cstar, sfmask;
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

	/* An exit to userspace waiting for its completion. */
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
		bool mem_second;
		u64 operand;	/* TEST/CMP: the other operand */
	} pending;

	/* Event injection. */
	bool nmi_pending;
	bool nmi_injected;
	bool exception_pending;
	u8 exception_vector;
	bool exception_has_error;
	u32 exception_error;
	bool triple_fault;
	bool extint_pending;	/* an ExtINT vector from a userspace PIC */
	u8 extint_vector;

	/* Halting, kicks and cross-vCPU requests. */
	int mode;		/* enum vcpu_mode */
	unsigned long requests;
	u32 mp_state;		/* VAPICVM_MP_STATE_* */
	bool halt_if;		/* RFLAGS.IF when the vCPU halted */
	struct rcuwait wait;
	struct task_struct *task;	/* thread in RUN, for kicks */

	struct vapicvm_lapic *lapic;
	struct page *msr_bitmap;

	u64 stats[VAPICVM_STAT_NR];
};

static inline void vcpu_stat_inc(struct vapicvm_vcpu *vcpu, enum vapicvm_stat stat)
{
	vcpu->stats[stat]++;
}

/* main.c */
long vapicvm_check_extension(struct vapicvm_vm *vm, unsigned long cap);

/* vm.c */
int vapicvm_create_vm(const struct vapicvm_create_vm *params);
int vm_fault_in(struct vapicvm_vm *vm, u64 gpa, bool write);
int vm_read_guest(struct vapicvm_vm *vm, u64 gpa, void *buf, unsigned int len);
int vm_write_guest(struct vapicvm_vm *vm, u64 gpa, const void *buf, unsigned int len);
void vapicvm_vm_get(struct vapicvm_vm *vm);
void vapicvm_vm_put(struct vapicvm_vm *vm);
struct vapicvm_memslot *vm_find_slot(struct vapicvm_vm *vm, u64 gfn);
void vm_flush_tlbs(struct vapicvm_vm *vm);
int vm_map_apic_access_page(struct vapicvm_vm *vm, u64 gpa);
int vapicvm_vm_init(void);
void vapicvm_vm_exit(void);

/* vcpu.c */
int vapicvm_create_vcpu(struct vapicvm_vm *vm, unsigned long id);
void vcpu_destroy(struct vapicvm_vcpu *vcpu);
int vcpu_module_init(void);
void vcpu_module_exit(void);
void vcpu_load(struct vapicvm_vcpu *vcpu);
void vcpu_put(struct vapicvm_vcpu *vcpu);
void vcpu_kick(struct vapicvm_vcpu *vcpu);
void vcpu_make_request(struct vapicvm_vcpu *vcpu, int req);
bool vcpu_check_request(struct vapicvm_vcpu *vcpu, int req);
void vcpu_set_cr0(struct vapicvm_vcpu *vcpu, unsigned long cr0);
int vcpu_set_cr4(struct vapicvm_vcpu *vcpu, unsigned long cr4);
void vcpu_set_efer(struct vapicvm_vcpu *vcpu, u64 efer);
unsigned long vcpu_read_cr0(struct vapicvm_vcpu *vcpu);
unsigned long vcpu_read_cr4(struct vapicvm_vcpu *vcpu);
void vcpu_reset(struct vapicvm_vcpu *vcpu, bool init_only);
void vcpu_update_msr_bitmap_x2apic(struct vapicvm_vcpu *vcpu);
long vapicvm_get_supported_cpuid(void __user *argp);

/* run.c */
int vcpu_run(struct vapicvm_vcpu *vcpu);
void vcpu_queue_exception(struct vapicvm_vcpu *vcpu, u8 vector, bool has_error, u32 error);
void vcpu_prepare_switch_to_host(struct vapicvm_vcpu *vcpu);

static inline void vcpu_inject_gp(struct vapicvm_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, 13, true, 0);
}

static inline void vcpu_inject_ud(struct vapicvm_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, 6, false, 0);
}

#endif /* VAPICVM_VAPICVM_H */

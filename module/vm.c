// SPDX-License-Identifier: GPL-2.0
/*
 * The VM file descriptor: memory slots, the EPT hierarchy they feed, the
 * APIC-access page, vCPU creation, and MSIs from userspace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "apicv.h"
#include "capabilities.h"
#include "ioeventfd.h"
#include "irqfd.h"
#include "msr_filter.h"
#include "lapic.h"
#include "main.h"
#include "netlink.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"
#include "vmx_enable.h"

static atomic64_t vm_ids = ATOMIC64_INIT(0);

static int apicv_validate(u32 requested)
{
	if (requested & ~VAPICVM_APICV_ALL)
		return -EINVAL;
	if (apicv_features_missing(requested))
		return -EINVAL;
	if (requested & ~vmx_caps.apicv_supported)
		return -EOPNOTSUPP;
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLB flushes                                                         */
/* ------------------------------------------------------------------ */

static void vm_flush_ack(void *unused)
{
}

/*
 * Make every vCPU of the VM flush its cached EPT translations before its
 * next VM entry, and wait until none still runs in the guest with stale
 * ones.  Only the CPUs where a vCPU of this VM is in guest mode are
 * interrupted (the IPI is an external-interrupt exit; the ack comes once
 * that vCPU is out of the guest, and it cannot re-enter without honouring
 * the request).  Other CPUs need nothing: a vCPU that comes to one has the
 * request pending, or flushes because it moved there (vcpu_vmcs.c).  Many
 * flushes before a vCPU's next entry cost it one INVEPT.  After this, no
 * CPU can reach the EPT tables an unmap unlinked: they are freed.
 */
void vm_flush_tlbs(struct vapicvm_vm *vm)
{
	unsigned int i;
	int me;

	lockdep_assert_held(&vm->lock);
	cpumask_clear(vm->flush_cpus);
	me = get_cpu();
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vapicvm_vcpu *vcpu = vm->vcpus[i];
		int cpu;

		vcpu_make_request(vcpu, VCPU_REQ_TLB_FLUSH);
		/* Pairs with the barrier after a vCPU's IN_GUEST_MODE (run.c). */
		smp_mb__after_atomic();
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu >= 0 && cpu != me && READ_ONCE(vcpu->mode) != OUTSIDE_GUEST_MODE)
			__cpumask_set_cpu(cpu, vm->flush_cpus);
	}
	smp_call_function_many(vm->flush_cpus, vm_flush_ack, NULL, true);
	put_cpu();
	vm->stats[VAPICVM_VM_STAT_TLB_FLUSHES]++;
	vm->stats[VAPICVM_VM_STAT_TLB_FLUSH_IPIS] += cpumask_weight(vm->flush_cpus);
	ept_free_detached(&vm->ept);
}

static void invept_this_cpu(void *data)
{
	struct vapicvm_vm *vm = data;

	if (!vmx_is_on_this_cpu())
		return;
	if (cpu_has_invept_single())
		__invept(INVEPT_SINGLE_CONTEXT, vm->ept.eptp);
	else
		__invept(INVEPT_ALL_CONTEXT, 0);
}

/* ------------------------------------------------------------------ */
/* Memory slots                                                        */
/* ------------------------------------------------------------------ */

struct vapicvm_memslot *vm_find_slot(struct vapicvm_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < VAPICVM_MAX_MEMSLOTS; i++) {
		struct vapicvm_memslot *s = vm->slots[i];

		if (s && gfn >= s->base_gfn && gfn < s->base_gfn + s->npages)
			return s;
	}
	return NULL;
}

/*
 * Every page of a slot may end up pinned, so a slot's whole size is charged
 * to the VM owner's locked memory (RLIMIT_MEMLOCK, unless CAP_IPC_LOCK) while
 * it exists, as VFIO does for DMA mappings.
 */
static int memslot_account(struct vapicvm_vm *vm, u64 npages, bool inc)
{
	int r = 0;

	/* The owner may have exited already (a late close): nothing to uncharge. */
	if (mmget_not_zero(vm->mm)) {
		r = account_locked_vm(vm->mm, npages, inc);
		mmput(vm->mm);
	}
	return r;
}

static void memslot_free(struct vapicvm_memslot *slot)
{
	kvfree(slot->dirty_bitmap);
	kfree(slot);
}

static void memslot_unpin(struct vapicvm_vm *vm, struct vapicvm_memslot *slot)
{
	struct page *page;
	unsigned long idx;

	xa_for_each(&slot->pages, idx, page) {
		unpin_user_pages_dirty_lock(&page, 1, !(slot->flags & VAPICVM_MEM_READONLY));
		atomic64_dec(&vm->pinned_pages);
		cond_resched();
	}
	xa_destroy(&slot->pages);
}

/*
 * Remove a slot from the EPT and from every TLB, then unpin its pages;
 * uncharge its locked memory unless the slot lives on (moved).
 */
static void memslot_remove(struct vapicvm_vm *vm, struct vapicvm_memslot *slot, bool uncharge)
{
	vm->slots[slot->id] = NULL;
	WRITE_ONCE(vm->mem_pages, vm->mem_pages - slot->npages);
	if (slot->dirty_bitmap)
		WRITE_ONCE(vm->logging_slots, vm->logging_slots - 1);
	ept_unmap_range(&vm->ept, slot->base_gfn << PAGE_SHIFT, slot->npages << PAGE_SHIFT);
	/* The APIC-access page may sit inside the slot: keep it mapped. */
	if (vm->apic_access_page && vm->apic_access_gpa != ~0ULL &&
	    (vm->apic_access_gpa >> PAGE_SHIFT) - slot->base_gfn < slot->npages)
		ept_map_page(&vm->ept, vm->apic_access_gpa, page_to_phys(vm->apic_access_page),
			     EPT_RWX | EPT_MT_WB | EPT_AD);
	vm_flush_tlbs(vm);
	memslot_unpin(vm, slot);
	if (uncharge)
		memslot_account(vm, slot->npages, false);
	memslot_free(slot);
}

static int vm_set_memory_region(struct vapicvm_vm *vm,
				const struct vapicvm_userspace_memory_region *mem)
{
	struct vapicvm_memslot *old, *slot;
	u64 npages, base_gfn;
	int i, r = 0;

	if (mem->flags & ~VAPICVM_MEM_FLAGS_ALL)
		return -EINVAL;
	if (mem->slot >= VAPICVM_MAX_MEMSLOTS)
		return -EINVAL;
	if (!PAGE_ALIGNED(mem->guest_phys_addr) || !PAGE_ALIGNED(mem->memory_size) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	npages = mem->memory_size >> PAGE_SHIFT;
	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	if (npages > VAPICVM_MAX_MEM_PAGES ||
	    mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr ||
	    (mem->memory_size &&
	     (mem->guest_phys_addr + mem->memory_size - 1) >> EPT_MAX_GPA_BITS))
		return -EINVAL;
	if (mem->memory_size &&
	    (mem->userspace_addr + mem->memory_size < mem->userspace_addr ||
	     !access_ok((void __user *)(unsigned long)mem->userspace_addr, mem->memory_size)))
		return -EFAULT;

	mutex_lock(&vm->lock);
	old = vm->slots[mem->slot];
	if (!mem->memory_size) {
		/* Delete. */
		if (!old)
			r = -EINVAL;
		else
			memslot_remove(vm, old, true);
		goto out;
	}
	/* An existing slot may move or change flags, not change its memory. */
	if (old && (old->npages != npages || old->userspace_addr != mem->userspace_addr)) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < VAPICVM_MAX_MEMSLOTS; i++) {
		struct vapicvm_memslot *s = vm->slots[i];

		if (!s || s == old)
			continue;
		if (base_gfn < s->base_gfn + s->npages && s->base_gfn < base_gfn + npages) {
			r = -EEXIST;
			goto out;
		}
	}
	if (old && old->base_gfn == base_gfn && old->flags == mem->flags)
		goto out;	/* nothing changes */

	/*
	 * A move keeps its charge; a new slot must fit the locked-memory limit,
	 * checked before anything is allocated for it.
	 */
	if (!old) {
		r = memslot_account(vm, npages, true);
		if (r)
			goto out;
	}
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot) {
		if (!old)
			memslot_account(vm, npages, false);
		r = -ENOMEM;
		goto out;
	}
	if (mem->flags & VAPICVM_MEM_LOG_DIRTY_PAGES) {
		slot->dirty_bitmap = kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
					      GFP_KERNEL_ACCOUNT);
		if (!slot->dirty_bitmap) {
			kfree(slot);
			if (!old)
				memslot_account(vm, npages, false);
			r = -ENOMEM;
			goto out;
		}
	}
	xa_init(&slot->pages);
	slot->id = mem->slot;
	slot->flags = mem->flags;
	slot->base_gfn = base_gfn;
	slot->npages = npages;
	slot->userspace_addr = mem->userspace_addr;
	/* A move or a flag change: the old mapping goes first (its charge stays). */
	if (old)
		memslot_remove(vm, old, false);
	vm->slots[mem->slot] = slot;
	WRITE_ONCE(vm->mem_pages, vm->mem_pages + npages);
	if (slot->dirty_bitmap)
		WRITE_ONCE(vm->logging_slots, vm->logging_slots + 1);
out:
	mutex_unlock(&vm->lock);
	return r;
}

#define BLOCK_PAGES	(SZ_2M >> PAGE_SHIFT)	/* a 2 MiB EPT leaf */
#define PIN_BATCH	64

static struct page *memslot_page(struct vapicvm_memslot *slot, u64 idx)
{
	return xa_load(&slot->pages, idx);
}

/*
 * Pin the pages of [idx, idx + n) of a slot that are not pinned yet, in
 * runs.  Pinned against the VM owner's mm: ioctls check current->mm.  A
 * read-only slot's page is pinned writable too when the mapping allows it:
 * a read-only pin of a private page the host has not written yet pins the
 * shared zero page, and the host's later writes would go to a new page the
 * guest never sees.
 */
static int memslot_pin(struct vapicvm_vm *vm, struct vapicvm_memslot *slot, u64 idx, u64 n)
{
	bool readonly = slot->flags & VAPICVM_MEM_READONLY;
	struct page *pages[PIN_BATCH];
	u64 end = idx + n;
	int r = 0;

	while (idx < end) {
		unsigned long hva = slot->userspace_addr + (idx << PAGE_SHIFT);
		int run = 0, got, i;

		while (idx + run < end && run < PIN_BATCH && !xa_load(&slot->pages, idx + run))
			run++;
		if (!run) {
			idx++;
			continue;
		}
		got = pin_user_pages_fast(hva, run, FOLL_LONGTERM | FOLL_WRITE, pages);
		if (got <= 0 && readonly)
			got = pin_user_pages_fast(hva, run, FOLL_LONGTERM, pages);
		if (got <= 0)
			return -EFAULT;
		for (i = 0; i < got; i++) {
			r = xa_err(xa_store(&slot->pages, idx + i, pages[i], GFP_KERNEL_ACCOUNT));
			if (r) {
				unpin_user_pages(pages + i, got - i);
				return r;
			}
			atomic64_inc(&vm->pinned_pages);
		}
		idx += got;
	}
	return 0;
}

/* Whether the 2 MiB block at gpa holds the APIC-access page or an xAPIC window. */
static bool block_has_apic_page(struct vapicvm_vm *vm, u64 gpa)
{
	if (vm->apic_access_page && vm->apic_access_gpa != ~0ULL &&
	    vm->apic_access_gpa - gpa < SZ_2M)
		return true;
	return vm_xapic_window_in(vm, gpa, SZ_2M);
}

/*
 * The block of gfn maps as one 2 MiB leaf: it lies in the slot, the
 * CPU has such leaves, and its pinned pages are physically contiguous
 * from a 2 MiB boundary (a THP or a hugetlbfs page).  first: the
 * block's first index in the slot.
 */
static bool block_is_large(struct vapicvm_vm *vm, struct vapicvm_memslot *slot, u64 first)
{
	struct page *page = memslot_page(slot, first);
	unsigned long pfn;
	u64 i;

	if (!page)
		return false;
	pfn = page_to_pfn(page);
	if (!IS_ALIGNED(pfn, BLOCK_PAGES))
		return false;
	for (i = 1; i < BLOCK_PAGES; i++) {
		page = memslot_page(slot, first + i);
		if (!page || page_to_pfn(page) != pfn + i)
			return false;
	}
	return true;
}

/*
 * Map the 2 MiB block around gfn, all at once: as a 2 MiB leaf where the
 * backing allows it (huge-page backed and aligned, see block_is_large()),
 * else page by page when the slot asks for it (VAPICVM_MEM_PREFAULT).
 * Returns 0 if it did, 1 if the caller is to map the one page, -errno.
 */
static int memslot_map_block(struct vapicvm_vm *vm, struct vapicvm_memslot *slot, u64 gfn,
			     u64 flags)
{
	u64 block_gfn = ALIGN_DOWN(gfn, BLOCK_PAGES), first, last, i;
	/* Where the block would start in userspace, if it lies in the slot. */
	unsigned long block_hva = slot->userspace_addr +
				  ((block_gfn - slot->base_gfn) << PAGE_SHIFT);
	bool whole = block_gfn >= slot->base_gfn &&
		     block_gfn + BLOCK_PAGES <= slot->base_gfn + slot->npages;
	bool prefault = slot->flags & VAPICVM_MEM_PREFAULT, apic_page, may_be_large;
	int r;

	if (!prefault) {
		struct page *page = memslot_page(slot, gfn - slot->base_gfn);

		/*
		 * Only memory backed by a huge page is worth pinning 2 MiB of;
		 * tested first, since every 4 KiB fault of such a slot comes here.
		 */
		if (!page || !PageCompound(page) ||
		    compound_order(compound_head(page)) < get_order(SZ_2M))
			return 1;
	}
	apic_page = block_has_apic_page(vm, block_gfn << PAGE_SHIFT);
	may_be_large = whole && cpu_has_ept_2mb_pages() && IS_ALIGNED(block_hva, SZ_2M) &&
		       !apic_page;
	if (!prefault && !may_be_large)
		return 1;
	first = max(block_gfn, slot->base_gfn) - slot->base_gfn;
	last = min(block_gfn + BLOCK_PAGES, slot->base_gfn + slot->npages) - slot->base_gfn;
	r = memslot_pin(vm, slot, first, last - first);
	if (r)
		return r;
	if (may_be_large && block_is_large(vm, slot, first))
		return ept_map_large(&vm->ept, block_gfn << PAGE_SHIFT,
				     page_to_phys(memslot_page(slot, first)), flags);
	if (!prefault)
		return 1;
	for (i = first; i < last; i++) {
		u64 gpa = (slot->base_gfn + i) << PAGE_SHIFT;

		/* Those pages are mapped (or not) by their own paths. */
		if (apic_page && (gpa == vm->apic_access_gpa || vm_gpa_is_xapic_window(vm, gpa)))
			continue;
		r = ept_map_page(&vm->ept, gpa, page_to_phys(memslot_page(slot, i)), flags);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Resolve an EPT violation on a slot: pin the backing page and map it (or
 * its whole 2 MiB block, see memslot_map_block()).  Returns 0 when mapped,
 * 1 when the access is not RAM the guest may make (no slot, or a write to
 * a read-only slot: emulate it as MMIO), or -errno.
 */
int vm_fault_in(struct vapicvm_vm *vm, u64 gpa, bool write)
{
	struct vapicvm_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT, idx, flags;
	bool readonly;
	int r = 0;

	mutex_lock(&vm->lock);
	if (vm->apic_access_page && vm->apic_access_gpa != ~0ULL &&
	    gfn == vm->apic_access_gpa >> PAGE_SHIFT) {
		r = ept_map_page(&vm->ept, gfn << PAGE_SHIFT, page_to_phys(vm->apic_access_page),
				 EPT_RWX | EPT_MT_WB | EPT_AD);
		goto out;
	}
	slot = vm_find_slot(vm, gfn);
	/* An xAPIC window is never RAM, whatever slot covers it. */
	if (!slot || vm_gpa_is_xapic_window(vm, gfn << PAGE_SHIFT)) {
		r = 1;
		goto out;
	}
	readonly = slot->flags & VAPICVM_MEM_READONLY;
	if (write && readonly) {
		r = 1;
		goto out;
	}
	/* Flags preset: PML logs nothing for them (no logging slot's pages). */
	flags = (readonly ? EPT_READ | EPT_EXEC : EPT_RWX) | EPT_MT_WB | EPT_AD;
	idx = gfn - slot->base_gfn;
	if (slot->dirty_bitmap) {
		/*
		 * Logged: page by page.  A read maps the page so that its first
		 * write is seen: with PML writable but not dirty (the CPU logs
		 * the write), otherwise read-only (the write faults).
		 */
		r = memslot_pin(vm, slot, idx, 1);
		if (r)
			goto out;
		if (write)
			__set_bit(idx, slot->dirty_bitmap);
		else if (cpu_has_pml() && !readonly)
			flags &= ~EPT_DIRTY;
		else
			flags &= ~EPT_WRITE;
		r = ept_map_page(&vm->ept, gfn << PAGE_SHIFT,
				 page_to_phys(memslot_page(slot, idx)), flags);
		goto out;
	}
	if (!(slot->flags & VAPICVM_MEM_PREFAULT)) {
		r = memslot_pin(vm, slot, idx, 1);
		if (r)
			goto out;
	}
	r = memslot_map_block(vm, slot, gfn, flags);
	/* A block that could not be pinned whole still maps the page asked for. */
	if (r < 0 && (slot->flags & VAPICVM_MEM_PREFAULT))
		r = memslot_pin(vm, slot, idx, 1) ?: 1;
	if (r == 1)
		r = ept_map_page(&vm->ept, gfn << PAGE_SHIFT,
				 page_to_phys(memslot_page(slot, idx)), flags);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * Read guest-physical memory.  A page the guest already uses is read
 * through its pinned page, which is what the guest sees even if userspace
 * has since changed its own mapping; other pages through the userspace
 * mapping.
 */
/*
 * Under vm->lock: the slot page behind gpa, if pinned (else NULL), its
 * address in the VMM (*hva, 0 where no slot is: MMIO) and whether the
 * slot is read-only.  The one lookup behind vm_read_guest() and
 * vm_write_guest().
 */
static struct page *vm_guest_page_locked(struct vapicvm_vm *vm, u64 gpa, unsigned long *hva,
					 bool *readonly)
{
	struct vapicvm_memslot *slot = vm_find_slot(vm, gpa >> PAGE_SHIFT);
	u64 idx;

	*hva = 0;
	*readonly = false;
	if (!slot)
		return NULL;
	idx = (gpa >> PAGE_SHIFT) - slot->base_gfn;
	*readonly = slot->flags & VAPICVM_MEM_READONLY;
	*hva = slot->userspace_addr + (idx << PAGE_SHIFT) + offset_in_page(gpa);
	return xa_load(&slot->pages, idx);
}

/* A write to gpa by the kernel, for a logging slot; under vm->lock. */
static void vm_log_dirty_locked(struct vapicvm_vm *vm, u64 gpa)
{
	struct vapicvm_memslot *slot = vm_find_slot(vm, gpa >> PAGE_SHIFT);

	if (slot && slot->dirty_bitmap)
		__set_bit((gpa >> PAGE_SHIFT) - slot->base_gfn, slot->dirty_bitmap);
}

void vm_log_dirty_gpas(struct vapicvm_vm *vm, const u64 *gpas, unsigned int n)
{
	unsigned int i;

	mutex_lock(&vm->lock);
	for (i = 0; i < n; i++)
		vm_log_dirty_locked(vm, gpas[i]);
	mutex_unlock(&vm->lock);
}

/*
 * Write guest RAM, as the guest's own store would: -EFAULT where no slot
 * is (MMIO), -EPERM in a read-only slot.  From the vCPU's thread (the
 * VMM's address space, for a slot page not pinned yet).
 */
int vm_write_guest(struct vapicvm_vm *vm, u64 gpa, const void *buf, unsigned int len)
{
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		unsigned long hva;
		struct page *page;
		bool readonly;

		mutex_lock(&vm->lock);
		page = vm_guest_page_locked(vm, gpa, &hva, &readonly);
		/* A pinned page of a writable slot was pinned for writing. */
		if (page && !readonly)
			memcpy_to_page(page, off, buf, n);
		if (hva && !readonly)
			vm_log_dirty_locked(vm, gpa);
		mutex_unlock(&vm->lock);
		if (!hva)
			return -EFAULT;
		if (readonly)
			return -EPERM;
		if (!page && copy_to_user((void __user *)hva, buf, n))
			return -EFAULT;
		buf += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int vm_read_guest(struct vapicvm_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		unsigned long hva;
		struct page *page;
		bool readonly;

		mutex_lock(&vm->lock);
		page = vm_guest_page_locked(vm, gpa, &hva, &readonly);
		if (page)
			memcpy_from_page(buf, page, off, n);
		mutex_unlock(&vm->lock);
		if (!hva)
			return -EFAULT;
		if (!page && copy_from_user(buf, (void __user *)hva, n))
			return -EFAULT;
		buf += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

/*
 * VAPICVM_GET_DIRTY_LOG: hand out and clear a logging slot's bitmap, then
 * write-protect the pages it names, so that their next write is logged.
 * The copy to userspace comes before anything changes: a bad buffer
 * (EFAULT) loses no dirty bit.  A page written between the snapshot and
 * its write protection is in this snapshot, and a VMM copies it after the
 * call returns, so nothing written is missed.
 */
static int vm_get_dirty_log(struct vapicvm_vm *vm, const struct vapicvm_dirty_log *log)
{
	void __user *buf = u64_to_user_ptr(log->dirty_bitmap);
	struct vapicvm_memslot *slot;
	unsigned long *snap = NULL;
	u64 i, words, bytes;
	bool any = false;
	int r = 0;

	if (log->pad || log->reserved[0] || log->reserved[1] ||
	    log->slot >= VAPICVM_MAX_MEMSLOTS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	slot = vm->slots[log->slot];
	if (!slot || !slot->dirty_bitmap) {
		r = -ENOENT;
		goto out;
	}
	words = BITS_TO_LONGS(slot->npages);
	bytes = DIV_ROUND_UP(slot->npages, 64) * 8;
	snap = kvmalloc_array(words, sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!snap) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(snap, slot->dirty_bitmap, words * sizeof(long));
	if (copy_to_user(buf, snap, bytes)) {
		r = -EFAULT;
		goto out;
	}
	memset(slot->dirty_bitmap, 0, words * sizeof(long));
	for_each_set_bit(i, snap, slot->npages) {
		if (cpu_has_pml())
			ept_clear_dirty(&vm->ept, (slot->base_gfn + i) << PAGE_SHIFT);
		else
			ept_write_protect(&vm->ept, (slot->base_gfn + i) << PAGE_SHIFT);
		any = true;
	}
	/* No vCPU keeps a writable translation of those pages. */
	if (any)
		vm_flush_tlbs(vm);
out:
	mutex_unlock(&vm->lock);
	kvfree(snap);
	return r;
}

/* ------------------------------------------------------------------ */
/* The APIC-access page                                                */
/* ------------------------------------------------------------------ */

/*
 * Move (or remove, gpa == ~0) the VM's single APIC-access EPT entry.  The
 * page it leaves is RAM again if a slot covers it: the next access faults
 * it back in.  Caller holds vm->lock.
 */
int vm_map_apic_access_page(struct vapicvm_vm *vm, u64 gpa)
{
	int r = 0;

	if (!vm->apic_access_page || gpa == vm->apic_access_gpa)
		return 0;
	if (vm->apic_access_gpa != ~0ULL)
		ept_unmap_range(&vm->ept, vm->apic_access_gpa, PAGE_SIZE);
	vm->apic_access_gpa = gpa;
	if (gpa != ~0ULL)
		r = ept_map_page(&vm->ept, gpa, page_to_phys(vm->apic_access_page),
				 EPT_RWX | EPT_MT_WB | EPT_AD);
	vm_flush_tlbs(vm);
	return r;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

/* vm.h: every VM. */
LIST_HEAD(vapicvm_vms);
/* Guards vapicvm_vms and vapicvm_vms_gen; taken outside any vm->lock. */
DEFINE_MUTEX(vapicvm_vms_lock);
unsigned int vapicvm_vms_gen = 1;	/* never 0: a dump's sequence of 0 means none */

static void vm_list_changed(void)
{
	lockdep_assert_held(&vapicvm_vms_lock);
	if (!++vapicvm_vms_gen)
		vapicvm_vms_gen = 1;
}

static void vm_list_add(struct vapicvm_vm *vm)
{
	mutex_lock(&vapicvm_vms_lock);
	list_add_tail(&vm->node, &vapicvm_vms);
	vm_list_changed();
	mutex_unlock(&vapicvm_vms_lock);
	vapicvm_event_vm(vm, VAPICVM_EVENT_VM_CREATE);
}

static void vm_list_del(struct vapicvm_vm *vm)
{
	if (list_empty(&vm->node))
		return;
	mutex_lock(&vapicvm_vms_lock);
	list_del_init(&vm->node);
	vm_list_changed();
	mutex_unlock(&vapicvm_vms_lock);
	vapicvm_event_vm(vm, VAPICVM_EVENT_VM_DESTROY);
}

static void vapicvm_vm_free(struct vapicvm_vm *vm)
{
	int i;

	/* First of all: nobody may find it any more. */
	vm_list_del(vm);
	/* First: an irqfd's wake-up delivers to the vCPUs. */
	vm_irqfd_release_all(vm);
	for (i = 0; i < VAPICVM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_destroy(vm->vcpus[i]);
	ept_destroy(&vm->ept);
	/*
	 * No vCPU left to honour a request: flush every CPU, so that no CPU
	 * holds a translation to the pages below, nor one a new VM whose EPT
	 * root lands on the same page could use.
	 */
	on_each_cpu(invept_this_cpu, vm, 1);
	for (i = 0; i < VAPICVM_MAX_MEMSLOTS; i++) {
		if (vm->slots[i]) {
			memslot_unpin(vm, vm->slots[i]);
			memslot_account(vm, vm->slots[i]->npages, false);
			memslot_free(vm->slots[i]);
		}
	}
	if (vm->apic_access_page)
		__free_page(vm->apic_access_page);
	vm_ioeventfd_release_all(vm);
	vm_msr_filter_free(vm);
	free_cpumask_var(vm->flush_cpus);
	if (vm->mm)
		mmdrop(vm->mm);
	put_pid(vm->owner_pid);
	kfree(vm);
	vmx_put();
}

void vapicvm_vm_get(struct vapicvm_vm *vm)
{
	refcount_inc(&vm->users);
}

void vapicvm_vm_put(struct vapicvm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		vapicvm_vm_free(vm);
}

static int vapicvm_vm_release(struct inode *inode, struct file *filp)
{
	vapicvm_vm_put(filp->private_data);
	return 0;
}

static int vm_signal_msi(struct vapicvm_vm *vm, const struct vapicvm_msi *msi)
{
	if (msi->flags || msi->reserved[0] || msi->reserved[1])
		return -EINVAL;
	if (!lapic_msi_valid(msi->address_lo, msi->address_hi))
		return -EINVAL;
	return lapic_deliver_msi(vm, msi->address_lo, msi->data);
}

static int vm_enable_cap(struct vapicvm_vm *vm, const struct vapicvm_enable_cap *cap)
{
	int i;

	if (cap->flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cap->reserved); i++)
		if (cap->reserved[i])
			return -EINVAL;
	/* Every capability that can be enabled takes args[0] alone. */
	if (cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	switch (cap->cap) {
	case VAPICVM_CAP_IOAPIC_EOI:
		if (cap->args[0] > 1)
			return -EINVAL;
		WRITE_ONCE(vm->ioapic_eoi_exits, cap->args[0]);
		return 0;
	case VAPICVM_CAP_EXIT_HYPERCALL:
		if (cap->args[0] > 1)
			return -EINVAL;
		WRITE_ONCE(vm->hypercall_exits, cap->args[0]);
		return 0;
	case VAPICVM_CAP_USER_MSR:
		if (cap->args[0] & ~(u64)VAPICVM_MSR_EXIT_ALL)
			return -EINVAL;
		WRITE_ONCE(vm->user_msr_exits, cap->args[0]);
		return 0;
	default:
		return -EINVAL;
	}
}

/* The VM's counters, and the levels computed now (VAPICVM_GET_VM_STATS). */
static long vm_ioctl_stats(struct vapicvm_vm *vm, void __user *argp)
{
	u64 stats[VAPICVM_VM_STAT_NR];
	struct vapicvm_stats hdr;
	u32 n;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.pad)
		return -EINVAL;
	stats_read_vm(vm, stats);
	n = min_t(u32, hdr.n, VAPICVM_VM_STAT_NR);
	if (copy_to_user(argp + sizeof(hdr), stats, n * sizeof(u64)))
		return -EFAULT;
	hdr.n = n;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

static long vapicvm_vm_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	struct vapicvm_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	/* Guest memory is the creator's: no other process may drive the VM. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case VAPICVM_CHECK_EXTENSION:
		return vapicvm_check_extension(vm, arg);
	case VAPICVM_SET_USER_MEMORY_REGION: {
		struct vapicvm_userspace_memory_region mem;

		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return vm_set_memory_region(vm, &mem);
	}
	case VAPICVM_CREATE_VCPU:
		return vapicvm_create_vcpu(vm, arg);
	case VAPICVM_GET_APICV: {
		struct vapicvm_apicv_info info = {
			.supported = vmx_caps.apicv_supported,
			.enabled = vm->apicv,
			.posted_intr_vector = (vm->apicv & VAPICVM_APICV_POSTED_INTR) ?
					      LAPIC_POSTED_INTR_VECTOR : 0,
			.apic_access_gpa = vm->apic_access_gpa,
		};

		if (copy_to_user(argp, &info, sizeof(info)))
			return -EFAULT;
		return 0;
	}
	case VAPICVM_SIGNAL_MSI: {
		struct vapicvm_msi msi;

		if (copy_from_user(&msi, argp, sizeof(msi)))
			return -EFAULT;
		return vm_signal_msi(vm, &msi);
	}
	case VAPICVM_GET_VM_STATS:
		return vm_ioctl_stats(vm, argp);
	case VAPICVM_GET_VM_ID:
		return put_user(vm->id, (u64 __user *)argp);
	case VAPICVM_IOEVENTFD: {
		struct vapicvm_ioeventfd io;

		if (copy_from_user(&io, argp, sizeof(io)))
			return -EFAULT;
		return vm_ioeventfd_ioctl(vm, &io);
	}
	case VAPICVM_SET_GSI_ROUTE: {
		struct vapicvm_gsi_route route;

		if (copy_from_user(&route, argp, sizeof(route)))
			return -EFAULT;
		return vm_gsi_route_ioctl(vm, &route);
	}
	case VAPICVM_SET_MSR_FILTER: {
		struct vapicvm_msr_filter *f;
		int r;

		f = memdup_user(argp, sizeof(*f));
		if (IS_ERR(f))
			return PTR_ERR(f);
		r = vm_set_msr_filter(vm, f);
		kfree(f);
		return r;
	}
	case VAPICVM_GET_DIRTY_LOG: {
		struct vapicvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return vm_get_dirty_log(vm, &log);
	}
	case VAPICVM_IRQFD: {
		struct vapicvm_irqfd irqfd;

		if (copy_from_user(&irqfd, argp, sizeof(irqfd)))
			return -EFAULT;
		return vm_irqfd_ioctl(vm, &irqfd);
	}
	case VAPICVM_ENABLE_CAP: {
		struct vapicvm_enable_cap cap;

		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		return vm_enable_cap(vm, &cap);
	}
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vapicvm_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vapicvm_vm_release,
	.unlocked_ioctl	= vapicvm_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

int vapicvm_create_vm(const struct vapicvm_create_vm *params)
{
	struct vapicvm_vm *vm;
	u32 apicv = vmx_caps.apicv_supported;
	int r, i;

	if (params->flags & ~VAPICVM_VM_FLAGS_ALL)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(params->reserved); i++)
		if (params->reserved[i])
			return -EINVAL;
	if (params->flags & VAPICVM_VM_APICV_MASK) {
		r = apicv_validate(params->apicv);
		if (r)
			return r;
		apicv = params->apicv;
	} else if (params->apicv) {
		return -EINVAL;
	}

	r = vmx_get();
	if (r)
		return r;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		vmx_put();
		return -ENOMEM;
	}
	refcount_set(&vm->users, 1);
	vm->id = atomic64_inc_return(&vm_ids);
	INIT_LIST_HEAD(&vm->node);
	vm->owner_pid = get_task_pid(current, PIDTYPE_TGID);
	vm->owner_uid = current_euid();
	vm->apicv_requested = params->flags & VAPICVM_VM_APICV_MASK ? params->apicv :
			      VAPICVM_APICV_ALL;
	atomic64_set(&vm->pinned_pages, 0);
	mutex_init(&vm->lock);
	INIT_LIST_HEAD(&vm->ioeventfds);
	vm_irqfd_vm_init(vm);
	vm->apicv = apicv;
	vm->apic_access_gpa = ~0ULL;
	vm->mm = current->mm;
	mmgrab(vm->mm);

	if (!zalloc_cpumask_var(&vm->flush_cpus, GFP_KERNEL_ACCOUNT)) {
		r = -ENOMEM;
		goto err;
	}
	r = ept_init(&vm->ept);
	if (r)
		goto err;
	if (apicv & VAPICVM_APICV_APIC_ACCESS) {
		vm->apic_access_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vm->apic_access_page) {
			r = -ENOMEM;
			goto err;
		}
		mutex_lock(&vm->lock);
		r = vm_map_apic_access_page(vm, LAPIC_DEFAULT_BASE);
		mutex_unlock(&vm->lock);
		if (r)
			goto err;
	}

	trace_vapicvm_apicv_tier(vm->id, vm->apicv_requested, vmx_caps.apicv_supported, apicv);
	/* Listed before its fd exists: a close racing the return frees it. */
	vm_list_add(vm);
	r = anon_inode_getfd("vapicvm-vm", &vapicvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto err;
	return r;
err:
	vapicvm_vm_free(vm);
	return r;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The EPT hierarchy of a VM.  Tables are allocated on demand, one page per
 * table; a table an unmap leaves empty is unlinked and freed after the next
 * TLB flush, so that mappings that move (the APIC-access page follows the
 * guest's APIC base) cannot grow the hierarchy without bound.  Leaves point
 * at pinned guest pages (see vm.c) or at the VM's APIC-access page: 4 KiB
 * leaves, and 2 MiB leaves where vm.c found a block of guest memory
 * physically contiguous and aligned.  A 4 KiB mapping inside a 2 MiB leaf
 * splits it into a table of the same pages; an unmap inside one removes it
 * whole (its other pages fault back in).
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "capabilities.h"
#include "ept.h"

#define EPT_ENTRIES		512
#define EPT_LEVEL_SHIFT(l)	(12 + 9 * (l))	/* level 0 = PT, 3 = PML4 */
#define EPT_INDEX(gpa, l)	(((gpa) >> EPT_LEVEL_SHIFT(l)) & (EPT_ENTRIES - 1))
#define EPT_LARGE_SIZE		BIT_ULL(EPT_LEVEL_SHIFT(1))

/* A present entry that points at a table (level > 0, not a large leaf). */
static bool ept_is_table(u64 entry)
{
	return (entry & EPT_RWX) && !(entry & EPT_LARGE);
}

static u64 *ept_alloc_table(struct vapicvm_ept *ept)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return NULL;
	ept->nr_tables++;
	return page_address(page);
}

int ept_init(struct vapicvm_ept *ept)
{
	ept->nr_tables = 0;
	INIT_LIST_HEAD(&ept->detached);
	ept->root = ept_alloc_table(ept);
	if (!ept->root)
		return -ENOMEM;
	ept->eptp = virt_to_phys(ept->root) | EPTP_WALK_4 | EPTP_MT_WB;
	/*
	 * Where PML logs dirty pages: it logs a leaf's dirty flag going from
	 * 0 to 1.  Leaves are installed with both flags set unless a logging
	 * slot wants its first write seen.
	 */
	if (cpu_has_pml())
		ept->eptp |= EPTP_AD;
	return 0;
}

static void ept_free_table(u64 *table, int level)
{
	int i;

	if (level > 0) {
		for (i = 0; i < EPT_ENTRIES; i++)
			if (ept_is_table(table[i]))
				ept_free_table(phys_to_virt(table[i] & EPT_ADDR_MASK), level - 1);
	}
	free_page((unsigned long)table);
}

void ept_destroy(struct vapicvm_ept *ept)
{
	if (!ept->root)
		return;		/* ept_init() failed or never ran */
	ept_free_detached(ept);
	ept_free_table(ept->root, 3);
	ept->root = NULL;
	ept->nr_tables = 0;
}

/* The level-1 entry (PDE) covering gpa, allocating the tables above it if asked to. */
static u64 *ept_pde(struct vapicvm_ept *ept, u64 gpa, bool alloc)
{
	u64 *table = ept->root;
	int level;

	for (level = 3; level > 1; level--) {
		u64 *entry = &table[EPT_INDEX(gpa, level)];

		if (!(*entry & EPT_RWX)) {
			u64 *next;

			if (!alloc)
				return NULL;
			next = ept_alloc_table(ept);
			if (!next)
				return NULL;
			/* Non-leaf entries allow everything; leaves decide. */
			WRITE_ONCE(*entry, virt_to_phys(next) | EPT_RWX);
		}
		table = phys_to_virt(*entry & EPT_ADDR_MASK);
	}
	return &table[EPT_INDEX(gpa, 1)];
}

/*
 * The level-0 table covering gpa, allocating the path if asked to; a 2 MiB
 * leaf there becomes a table of the same 512 pages, with the same
 * permissions (the translations do not change: no flush is needed for it).
 */
static u64 *ept_walk(struct vapicvm_ept *ept, u64 gpa, bool alloc)
{
	u64 *pde = ept_pde(ept, gpa, alloc), *pt, entry;
	int i;

	if (!pde)
		return NULL;
	entry = READ_ONCE(*pde);
	if (ept_is_table(entry))
		return phys_to_virt(entry & EPT_ADDR_MASK);
	if (!alloc)
		return NULL;
	pt = ept_alloc_table(ept);
	if (!pt)
		return NULL;
	if (entry & EPT_LARGE) {
		for (i = 0; i < EPT_ENTRIES; i++)
			pt[i] = (entry & ~EPT_LARGE) + ((u64)i << PAGE_SHIFT);
	}
	WRITE_ONCE(*pde, virt_to_phys(pt) | EPT_RWX);
	return pt;
}

int ept_map_page(struct vapicvm_ept *ept, u64 gpa, u64 hpa, u64 flags)
{
	u64 *pt;

	if (gpa >> EPT_MAX_GPA_BITS)
		return -EINVAL;
	pt = ept_walk(ept, gpa, true);
	if (!pt)
		return -ENOMEM;
	WRITE_ONCE(pt[EPT_INDEX(gpa, 0)], (hpa & EPT_ADDR_MASK) | flags);
	return 0;
}

int ept_map_large(struct vapicvm_ept *ept, u64 gpa, u64 hpa, u64 flags)
{
	u64 *pde, old;

	if ((gpa | hpa) & (EPT_LARGE_SIZE - 1) || gpa >> EPT_MAX_GPA_BITS)
		return -EINVAL;
	pde = ept_pde(ept, gpa, true);
	if (!pde)
		return -ENOMEM;
	old = READ_ONCE(*pde);
	WRITE_ONCE(*pde, (hpa & EPT_ADDR_MASK) | flags | EPT_LARGE);
	/*
	 * A table of 4 KiB leaves it replaces mapped the same pages; a CPU
	 * may still walk it until the next INVEPT, so it is freed after one.
	 */
	if (ept_is_table(old)) {
		list_add(&virt_to_page(phys_to_virt(old & EPT_ADDR_MASK))->lru, &ept->detached);
		ept->nr_tables--;
	}
	return 0;
}

static bool ept_table_empty(const u64 *table)
{
	int i;

	for (i = 0; i < EPT_ENTRIES; i++)
		if (READ_ONCE(table[i]))
			return false;
	return true;
}

/* Unlink the tables on gpa's path that hold nothing any more, bottom up. */
static void ept_prune(struct vapicvm_ept *ept, u64 gpa)
{
	u64 *path[4];
	int level, depth = 3;

	path[3] = ept->root;
	for (level = 3; level > 0; level--) {
		u64 entry = READ_ONCE(path[level][EPT_INDEX(gpa, level)]);

		if (!ept_is_table(entry))
			break;
		path[level - 1] = phys_to_virt(entry & EPT_ADDR_MASK);
		depth = level - 1;
	}
	for (level = depth; level < 3 && ept_table_empty(path[level]); level++) {
		WRITE_ONCE(path[level + 1][EPT_INDEX(gpa, level + 1)], 0);
		list_add(&virt_to_page(path[level])->lru, &ept->detached);
		ept->nr_tables--;
	}
}

void ept_write_protect(struct vapicvm_ept *ept, u64 gpa)
{
	u64 *pt = ept_walk(ept, gpa, false);

	if (pt)
		WRITE_ONCE(pt[EPT_INDEX(gpa, 0)], READ_ONCE(pt[EPT_INDEX(gpa, 0)]) & ~EPT_WRITE);
}

void ept_clear_dirty(struct vapicvm_ept *ept, u64 gpa)
{
	u64 *pt = ept_walk(ept, gpa, false);

	if (pt)
		WRITE_ONCE(pt[EPT_INDEX(gpa, 0)], READ_ONCE(pt[EPT_INDEX(gpa, 0)]) & ~EPT_DIRTY);
}

void ept_unmap_range(struct vapicvm_ept *ept, u64 gpa, u64 size)
{
	u64 end = gpa + size;

	while (gpa < end) {
		u64 *pde = ept_pde(ept, gpa, false);
		u64 next_pt = (gpa | (EPT_LARGE_SIZE - 1)) + 1;
		u64 *pt;

		if (!pde || !(READ_ONCE(*pde) & EPT_RWX)) {
			/* Nothing mapped in this 2 MiB region: skip it. */
			gpa = next_pt;
			continue;
		}
		if (READ_ONCE(*pde) & EPT_LARGE) {
			/* Whole: the pages outside the range fault back in. */
			WRITE_ONCE(*pde, 0);
			ept_prune(ept, gpa);
			gpa = next_pt;
			continue;
		}
		pt = phys_to_virt(READ_ONCE(*pde) & EPT_ADDR_MASK);
		WRITE_ONCE(pt[EPT_INDEX(gpa, 0)], 0);
		gpa += PAGE_SIZE;
		/* Once per table: the last page of it in the range. */
		if (gpa == next_pt || gpa >= end)
			ept_prune(ept, gpa - PAGE_SIZE);
	}
}

void ept_free_detached(struct vapicvm_ept *ept)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &ept->detached, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

u64 ept_lookup(struct vapicvm_ept *ept, u64 gpa)
{
	u64 *pde = ept_pde(ept, gpa, false), entry;

	if (!pde)
		return 0;
	entry = READ_ONCE(*pde);
	if (!(entry & EPT_RWX))
		return 0;
	/* Inside a 2 MiB leaf: what a 4 KiB leaf for gpa would hold. */
	if (entry & EPT_LARGE)
		return (entry & ~EPT_LARGE) + (gpa & (EPT_LARGE_SIZE - 1) & PAGE_MASK);
	return READ_ONCE(((u64 *)phys_to_virt(entry & EPT_ADDR_MASK))[EPT_INDEX(gpa, 0)]);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM's single EPT hierarchy: guest-physical to host-physical, shared
 * by every vCPU of the VM.  Four levels, 4 KiB and 2 MiB leaves.  Callers hold
 * vm->lock; ept_* never flush TLBs themselves (vm_flush_tlbs() does).
 */
#ifndef VAPICVM_EPT_H
#define VAPICVM_EPT_H

#include <linux/list.h>
#include <linux/types.h>

#define EPT_READ		BIT_ULL(0)
#define EPT_WRITE		BIT_ULL(1)
#define EPT_EXEC		BIT_ULL(2)
#define EPT_RWX			(EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MT_SHIFT		3
#define EPT_MT_UC		(0ULL << EPT_MT_SHIFT)
#define EPT_MT_WB		(6ULL << EPT_MT_SHIFT)
#define EPT_IGNORE_PAT		BIT_ULL(6)
#define EPT_LARGE		BIT_ULL(7)
/* With EPTP_AD: set by the CPU on a leaf's first access and first write. */
#define EPT_ACCESSED		BIT_ULL(8)
#define EPT_DIRTY		BIT_ULL(9)
#define EPT_AD			(EPT_ACCESSED | EPT_DIRTY)
#define EPT_ADDR_MASK		GENMASK_ULL(51, 12)

/* EPT pointer: write-back paging structures, 4-level walk (Vol. 3C 25.6.11). */
#define EPTP_MT_WB		6ULL
#define EPTP_WALK_4		(3ULL << 3)
#define EPTP_AD			BIT_ULL(6)	/* accessed and dirty flags (28.3.5) */

#define EPT_MAX_GPA_BITS	48

struct vapicvm_ept {
	u64 *root;		/* the PML4 table */
	u64 eptp;
	unsigned long nr_tables;
	/*
	 * Tables an unmap left empty, already unlinked: a CPU may still hold
	 * them in its paging-structure caches until the next INVEPT, so they
	 * are freed only after it (ept_free_detached()).
	 */
	struct list_head detached;
};

int ept_init(struct vapicvm_ept *ept);
void ept_destroy(struct vapicvm_ept *ept);
/* Install gpa -> hpa (both page aligned) with EPT_* permission and type bits. */
int ept_map_page(struct vapicvm_ept *ept, u64 gpa, u64 hpa, u64 flags);
/* Install a 2 MiB leaf gpa -> hpa (both 2 MiB aligned), replacing what was there. */
int ept_map_large(struct vapicvm_ept *ept, u64 gpa, u64 hpa, u64 flags);
/* Remove every leaf in [gpa, gpa + size), and unlink the tables left empty. */
void ept_unmap_range(struct vapicvm_ept *ept, u64 gpa, u64 size);
/* Take write permission from the 4 KiB leaf at gpa, if one is mapped; caller flushes. */
void ept_write_protect(struct vapicvm_ept *ept, u64 gpa);
/* Clear the dirty flag of the 4 KiB leaf at gpa, if one is mapped; caller flushes. */
void ept_clear_dirty(struct vapicvm_ept *ept, u64 gpa);
/* Free the unlinked tables: only after an INVEPT on every CPU. */
void ept_free_detached(struct vapicvm_ept *ept);
/* The leaf entry for gpa, or 0. */
u64 ept_lookup(struct vapicvm_ept *ept, u64 gpa);

#endif /* VAPICVM_EPT_H */

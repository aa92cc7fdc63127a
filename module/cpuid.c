// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID: a table set by userspace (VAPICVM_SET_CPUID), masked
 * against what vapicvm can virtualize (VAPICVM_GET_SUPPORTED_CPUID), with
 * the per-vCPU and per-state bits (APIC IDs, OSXSAVE, APIC enable, XSAVE
 * area size) filled in at each CPUID exit.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/xstate.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "capabilities.h"
#include "cpuid.h"
#include "lapic.h"
#include "run.h"
#include "vcpu.h"
#include "vcpu_regs.h"
#include "vm.h"

/* CPUID.1:ECX */
#define F1_ECX_ALLOWED	(BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | BIT(19) | \
			 BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(26) | BIT(28) | BIT(29) | \
			 BIT(30))
#define F1_ECX_X2APIC	BIT(21)
#define F1_ECX_TSC_DEADLINE BIT(24)
#define F1_ECX_OSXSAVE	BIT(27)
#define F1_ECX_HYPERVISOR BIT(31)
/*
 * CPUID.1:EDX: no MTRR, DS, ACPI, TM, PBE, PN.  MCE and MCA: the
 * machine-check MSRs are there, with no bank (msr.c), as KVM offers them.
 */
#define F1_EDX_ALLOWED	(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | \
			 BIT(7) | BIT(8) | BIT(11) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | \
			 BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | BIT(28))
#define F1_EDX_APIC	BIT(9)
/* CPUID.7.0:EBX: FSGSBASE, BMI1, AVX2, SMEP, BMI2, ERMS, INVPCID, AVX512*, RDSEED, ADX, SMAP,
 * CLFLUSHOPT, CLWB, SHA.
 */
#define F7_EBX_ALLOWED	(BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9) | BIT(16) | \
			 BIT(17) | BIT(18) | BIT(19) | BIT(20) | BIT(21) | BIT(23) | BIT(24) | \
			 BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(30) | BIT(31))
/*
 * CPUID.7.0:ECX: AVX512_VBMI, UMIP, AVX512 extensions, GFNI, VAES, VPCLMULQDQ;
 * RDPID with RDTSCP (both read IA32_TSC_AUX, which run.c switches).
 */
#define F7_ECX_ALLOWED	(BIT(1) | BIT(2) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(11) | \
			 BIT(12) | BIT(14))
/* CPUID.7.0:EDX: fast short REP MOV only. */
#define F7_EDX_ALLOWED	BIT(4)
/* CPUID.0x80000001 */
#define FX1_ECX_ALLOWED	(BIT(0) | BIT(5) | BIT(8))
#define FX1_EDX_ALLOWED	(BIT(11) | BIT(20) | BIT(26) | BIT(29))

#define XCR0_ALLOWED	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM | \
			 XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 | XFEATURE_MASK_Hi16_ZMM)

#define HYPERVISOR_LEAF	0x40000000

u64 vcpu_supported_xcr0(void)
{
	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	return vmx_caps.host_xcr0 & XCR0_ALLOWED;
}

static void clear_regs(struct vapicvm_cpuid_entry *x)
{
	x->eax = 0;
	x->ebx = 0;
	x->ecx = 0;
	x->edx = 0;
}

static void add(struct vapicvm_cpuid_entry *e, u32 *n, u32 fn, u32 idx, u32 flags)
{
	struct vapicvm_cpuid_entry *x = &e[(*n)++];

	memset(x, 0, sizeof(*x));
	x->function = fn;
	x->index = idx;
	x->flags = flags;
	cpuid_count(fn, idx, &x->eax, &x->ebx, &x->ecx, &x->edx);
}

/* Mask a raw host entry down to what vapicvm virtualizes. */
static void mask_entry(struct vapicvm_cpuid_entry *x)
{
	u64 xcr0 = vcpu_supported_xcr0();

	switch (x->function) {
	case 0:
		x->eax = min_t(u32, x->eax, 0x16);
		break;
	case 1:
		/* The initial APIC ID is the vCPU's (filled in at CPUID), not this CPU's. */
		x->ebx &= 0x00ffffff;
		x->ecx = (x->ecx & F1_ECX_ALLOWED) | F1_ECX_X2APIC | F1_ECX_TSC_DEADLINE |
			 F1_ECX_HYPERVISOR;
		x->edx = (x->edx & F1_EDX_ALLOWED) | F1_EDX_APIC;
		break;
	case 0xb:
		x->edx = 0;	/* the x2APIC ID: the vCPU's, as above */
		break;
	case 5: case 6: case 8: case 9: case 0xa: case 0xc: case 0xe: case 0xf:
	case 0x10: case 0x11: case 0x12: case 0x13: case 0x14:
		/* Monitor/mwait, power and thermal, PMU, RDT, SGX, PT: not virtualized. */
		clear_regs(x);
		break;
	case 7:
		if (x->index == 0) {
			x->eax = 0;
			x->ebx &= F7_EBX_ALLOWED | (cpu_has_invpcid() ? CPUID_7_EBX_INVPCID : 0);
			/* Emulated (msr.c) whatever the CPU has, as KVM does. */
			x->ebx |= CPUID_7_EBX_TSC_ADJUST;
			if (!(xcr0 & XFEATURE_MASK_AVX512))
				x->ebx &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) |
					    BIT(28) | BIT(30) | BIT(31));
			x->ecx &= F7_ECX_ALLOWED | (cpu_has_rdtscp() ? CPUID_7_ECX_RDPID : 0);
			x->edx &= F7_EDX_ALLOWED;
		} else {
			clear_regs(x);
		}
		break;
	case 0xd:
		if (x->index == 0) {
			x->eax = (u32)xcr0;
			x->edx = (u32)(xcr0 >> 32);
		} else if (x->index == 1) {
			x->eax &= BIT(0) | BIT(1) | BIT(2);	/* XSAVEOPT, XSAVEC, XGETBV1 */
			x->ebx = 0;
			x->ecx = 0;
			x->edx = 0;
		} else if (!(xcr0 & BIT_ULL(x->index))) {
			clear_regs(x);
		}
		break;
	case 0x80000000:
		x->eax = min_t(u32, x->eax, 0x80000008);
		break;
	case 0x80000001:
		x->ecx &= FX1_ECX_ALLOWED;
		x->edx &= FX1_EDX_ALLOWED | (cpu_has_rdtscp() ? CPUID_X1_EDX_RDTSCP : 0);
		break;
	case 0x80000007:
		x->edx &= BIT(8);	/* invariant TSC */
		x->eax = 0;
		x->ebx = 0;
		x->ecx = 0;
		break;
	case HYPERVISOR_LEAF:
		/* "vapicvmvapic": a signature guests can recognize. */
		x->eax = HYPERVISOR_LEAF;
		x->ebx = 0x69706176;	/* "vapi" */
		x->ecx = 0x766d7663;	/* "cvmv" */
		x->edx = 0x63697061;	/* "apic" */
		break;
	}
}

/* Fill e[] (capacity max) with the supported table; returns the count. */
static u32 build_supported(struct vapicvm_cpuid_entry *e, u32 max)
{
	u32 n = 0, fn, i, basic_max, ext_max, a, b, c, d;

	cpuid(0, &basic_max, &b, &c, &d);
	basic_max = min_t(u32, basic_max, 0x16);
	for (fn = 0; fn <= basic_max && n + 64 < max; fn++) {
		switch (fn) {
		case 4:
			for (i = 0; i < 8; i++) {
				add(e, &n, fn, i, VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX);
				if (!(e[n - 1].eax & 0x1f))
					break;
			}
			break;
		case 7:
		case 0xb:
			add(e, &n, fn, 0, VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX);
			add(e, &n, fn, 1, VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX);
			break;
		case 0xd:
			for (i = 0; i < 19; i++)
				add(e, &n, fn, i, VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX);
			break;
		default:
			add(e, &n, fn, 0, 0);
		}
	}
	add(e, &n, HYPERVISOR_LEAF, 0, 0);
	cpuid(0x80000000, &ext_max, &b, &c, &d);
	ext_max = min_t(u32, ext_max, 0x80000008);
	for (fn = 0x80000000; fn <= ext_max && n < max; fn++)
		add(e, &n, fn, 0, 0);
	for (i = 0; i < n; i++)
		mask_entry(&e[i]);
	(void)a;
	return n;
}

/* Fill e[0..max) with the supported table; returns the number of entries. */
u32 cpuid_get_supported(struct vapicvm_cpuid_entry *e, u32 max)
{
	return build_supported(e, max);
}

int cpuid_set_default(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_cpuid_entry *e = kcalloc(VAPICVM_MAX_CPUID_ENTRIES, sizeof(*e),
						 GFP_KERNEL_ACCOUNT);

	if (!e)
		return -ENOMEM;
	vcpu->cpuid_nent = build_supported(e, VAPICVM_MAX_CPUID_ENTRIES);
	kfree(vcpu->cpuid);
	vcpu->cpuid = e;
	return 0;
}

static struct vapicvm_cpuid_entry *find_entry(struct vapicvm_cpuid_entry *e, u32 n,
					      u32 fn, u32 idx)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

/*
 * Feature leaves never say more than vapicvm supports: their feature
 * registers are ANDed with the supported table (a leaf or subleaf vapicvm
 * does not support at all reads as zeros).  Other leaves (vendor, cache and
 * topology, brand, address sizes, frequencies, hypervisor) are userspace's
 * to choose.
 */
static void mask_to_supported(struct vapicvm_cpuid_entry *x, struct vapicvm_cpuid_entry *sup,
			      u32 nsup)
{
	struct vapicvm_cpuid_entry zero = { 0 };
	struct vapicvm_cpuid_entry *s = find_entry(sup, nsup, x->function, x->index);

	if (!s)
		s = &zero;
	switch (x->function) {
	case 1:
	case 0x80000001:
		x->ecx &= s->ecx;
		x->edx &= s->edx;
		break;
	case 7:
		if (x->index == 0)
			x->eax = min(x->eax, s->eax);
		else
			x->eax &= s->eax;
		x->ebx &= s->ebx;
		x->ecx &= s->ecx;
		x->edx &= s->edx;
		break;
	case 6:
	case 0xa:
		x->eax &= s->eax;
		x->ebx &= s->ebx;
		x->ecx &= s->ecx;
		x->edx &= s->edx;
		break;
	case 0xd:
		if (x->index == 0) {
			x->eax &= (u32)vcpu_supported_xcr0();
			x->edx &= (u32)(vcpu_supported_xcr0() >> 32);
		} else if (x->index == 1) {
			x->eax &= s->eax;
			x->ecx = 0;
			x->edx = 0;
		}
		break;
	case 0x80000007:
		x->edx &= s->edx;
		break;
	}
}

/*
 * SET_CPUID on a kernel copy of n entries: reject reserved bits, mask the
 * feature leaves to what vapicvm supports, and make it the vCPU's table.
 */
int cpuid_set_table(struct vapicvm_vcpu *vcpu, struct vapicvm_cpuid_entry *e, u32 n)
{
	struct vapicvm_cpuid_entry *sup, *table;
	u32 nsup, i;

	for (i = 0; i < n; i++)
		if ((e[i].flags & ~VAPICVM_CPUID_FLAG_SIGNIFICANT_INDEX) ||
		    e[i].padding[0] || e[i].padding[1] || e[i].padding[2])
			return -EINVAL;
	sup = kcalloc(VAPICVM_MAX_CPUID_ENTRIES, sizeof(*sup), GFP_KERNEL);
	table = kcalloc(max_t(u32, n, 1), sizeof(*table), GFP_KERNEL_ACCOUNT);
	if (!sup || !table) {
		kfree(sup);
		kfree(table);
		return -ENOMEM;
	}
	nsup = build_supported(sup, VAPICVM_MAX_CPUID_ENTRIES);
	for (i = 0; i < n; i++) {
		table[i] = e[i];
		mask_to_supported(&table[i], sup, nsup);
	}
	kfree(sup);
	kfree(vcpu->cpuid);
	vcpu->cpuid = table;
	vcpu->cpuid_nent = n;
	return 0;
}

bool cpuid_guest_has(struct vapicvm_vcpu *vcpu, u32 fn, u32 idx, enum cpuid_regs_idx reg,
		     u32 bit)
{
	struct vapicvm_cpuid_entry *x = find_entry(vcpu->cpuid, vcpu->cpuid_nent, fn, idx);
	u32 v;

	if (!x)
		return false;
	switch (reg) {
	case CPUID_EAX:
		v = x->eax;
		break;
	case CPUID_EBX:
		v = x->ebx;
		break;
	case CPUID_ECX:
		v = x->ecx;
		break;
	default:
		v = x->edx;
		break;
	}
	return v & bit;
}

u64 vcpu_guest_xcr0_mask(struct vapicvm_vcpu *vcpu)
{
	struct vapicvm_cpuid_entry *x = find_entry(vcpu->cpuid, vcpu->cpuid_nent, 0xd, 0);
	struct vapicvm_cpuid_entry *f1 = find_entry(vcpu->cpuid, vcpu->cpuid_nent, 1, 0);

	if (!x || !f1 || !(f1->ecx & BIT(26)))
		return XFEATURE_MASK_FP;
	return (((u64)x->edx << 32) | x->eax) & vcpu_supported_xcr0();
}

/* The rules of Vol. 1 13.3: x87 always, AVX needs SSE, AVX-512 all or none. */
bool vcpu_xcr0_valid(struct vapicvm_vcpu *vcpu, u64 xcr0)
{
	if ((xcr0 & ~vcpu_guest_xcr0_mask(vcpu)) || !(xcr0 & XFEATURE_MASK_FP))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if ((xcr0 & XFEATURE_MASK_AVX512) &&
	    ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
	     !(xcr0 & XFEATURE_MASK_YMM)))
		return false;
	return true;
}

/* The XSAVE area size for the components enabled in xcr0. */
static u32 xsave_size(u64 xcr0)
{
	u32 size = 512 + 64, i, a, b, c, d;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &a, &b, &c, &d);
		size = max(size, a + b);
	}
	return size;
}

/*
 * The compacted (XSAVEC) area size for xcr0: the legacy area and header,
 * then each enabled component, 64-byte aligned where CPUID.(0xd,i):ECX[1]
 * says so.  This is CPUID.(0xd,1):EBX with no supervisor states.
 */
static u32 xsave_compacted_size(u64 xcr0)
{
	u32 size = 512 + 64, i, a, b, c, d;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &a, &b, &c, &d);
		if (c & BIT(1))
			size = ALIGN(size, 64);
		size += a;
	}
	return size;
}

void cpuid_emulate(struct vapicvm_vcpu *vcpu)
{
	u32 fn = vcpu->regs[VCPU_REG_RAX], idx = vcpu->regs[VCPU_REG_RCX];
	struct vapicvm_cpuid_entry *x = find_entry(vcpu->cpuid, vcpu->cpuid_nent, fn, idx);
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	if (x) {
		eax = x->eax;
		ebx = x->ebx;
		ecx = x->ecx;
		edx = x->edx;
	}
	switch (fn) {
	case 0:
		/* IA32_MISC_ENABLE "limit CPUID maxval" (Vol. 4 Table 2-2). */
		if (vcpu->ia32_misc_enable & MSR_IA32_MISC_ENABLE_LIMIT_CPUID)
			eax = min(eax, 2U);
		break;
	case 1:
		ebx = (ebx & 0x00ffffff) | (lapic_id(vcpu) << 24);
		ecx &= ~F1_ECX_OSXSAVE;
		if (vcpu_read_cr4(vcpu) & X86_CR4_OSXSAVE)
			ecx |= F1_ECX_OSXSAVE;
		if (!lapic_is_enabled(vcpu))
			edx &= ~F1_EDX_APIC;
		break;
	case 0xb:
	case 0x1f:
		edx = lapic_id(vcpu);
		break;
	case 0x80000001:
		/* IA32_MISC_ENABLE "XD bit disable": no NX (Vol. 4 Table 2-2). */
		if (vcpu->ia32_misc_enable & MSR_IA32_MISC_ENABLE_XD_DISABLE)
			edx &= ~CPUID_X1_EDX_NX;
		break;
	case 0xd:
		if (idx == 0 && x)
			ebx = xsave_size(vcpu->xcr0);
		else if (idx == 1 && x)
			ebx = xsave_compacted_size(vcpu->xcr0);
		break;
	}
	vcpu->regs[VCPU_REG_RAX] = eax;
	vcpu->regs[VCPU_REG_RBX] = ebx;
	vcpu->regs[VCPU_REG_RCX] = ecx;
	vcpu->regs[VCPU_REG_RDX] = edx;
}

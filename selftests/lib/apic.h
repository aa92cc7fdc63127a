/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Local APIC helpers for selftests: register offsets, guest-side xAPIC
 * (MMIO) and x2APIC (MSR) accessors, and the APIC-virtualization tiers a
 * test runs on (every test runs on every tier the host CPU offers).
 */
#ifndef SELFTEST_APIC_H
#define SELFTEST_APIC_H

#include "vapicvm_util.h"

#define APIC_DEFAULT_GPA	0xfee00000ULL
#define MSR_APIC_BASE		0x1b
#define MSR_TSC_DEADLINE	0x6e0
#define APIC_BASE_BSP		(1ULL << 8)
#define APIC_BASE_EXTD		(1ULL << 10)
#define APIC_BASE_EN		(1ULL << 11)

#define REG_ID		0x020
#define REG_LVR		0x030
#define REG_TPR		0x080
#define REG_PPR		0x0a0
#define REG_EOI		0x0b0
#define REG_LDR		0x0d0
#define REG_DFR		0x0e0
#define REG_SVR		0x0f0
#define REG_ISR		0x100
#define REG_TMR		0x180
#define REG_IRR		0x200
#define REG_ESR		0x280
#define REG_ICR		0x300
#define REG_ICR2	0x310
#define REG_LVTT	0x320
#define REG_LVTTHMR	0x330
#define REG_LVTPC	0x340
#define REG_LVT0	0x350
#define REG_LVT1	0x360
#define REG_LVTERR	0x370
#define REG_TMICT	0x380
#define REG_TMCCT	0x390
#define REG_TDCR	0x3e0
#define REG_SELF_IPI	0x3f0

#define ICR_FIXED	(0 << 8)
#define ICR_LOWEST	(1 << 8)
#define ICR_NMI		(4 << 8)
#define ICR_INIT	(5 << 8)
#define ICR_SIPI	(6 << 8)
#define ICR_LOGICAL	(1 << 11)
#define ICR_ASSERT	(1 << 14)
#define ICR_LEVEL	(1 << 15)
#define ICR_SELF	(1 << 18)
#define ICR_ALL		(2 << 18)
#define ICR_ALL_BUT	(3 << 18)
#define LVT_MASKED	(1 << 16)
#define LVT_PERIODIC	(1 << 17)
#define LVT_TSC_DEADLINE (2 << 17)
#define SVR_ENABLE	(1 << 8)

/*
 * The APIC-virtualization tiers (apic.c).  A tier is a set of features
 * closed under their requirements (the UAPI header's feature table): the
 * tier of some features is them with everything they require, transitively.
 */
uint32_t apicv_tier(uint32_t features);
/* The features' names, from the table ("none" for none). */
const char *apicv_str(uint32_t mask, char *buf, size_t n);
/* The features this host offers, via /dev/vapicvm. */
uint32_t host_apicv(void);
/* A VM (vm_create_apicv()) on exactly the tier asked for. */
struct vm *vm_create_apic_tier(uint32_t apicv);

/*
 * The variants of a fixture run on every tier: each feature of the ladder
 * (TPR shadow, APIC access, register virtualization, virtual-interrupt
 * delivery) on its own tier, x2APIC virtualization on its own, everything
 * but posted interrupts, and everything.
 */
#define APIC_TIER_VARIANTS(fixture)						\
	FIXTURE_VARIANT_ADD(fixture, none) {					\
		.features = 0 };						\
	FIXTURE_VARIANT_ADD(fixture, tpr_shadow) {				\
		.features = VAPICVM_APICV_TPR_SHADOW };				\
	FIXTURE_VARIANT_ADD(fixture, apic_access) {				\
		.features = VAPICVM_APICV_APIC_ACCESS };			\
	FIXTURE_VARIANT_ADD(fixture, register_virt) {				\
		.features = VAPICVM_APICV_REGISTER_VIRT };			\
	FIXTURE_VARIANT_ADD(fixture, intr_delivery) {				\
		.features = VAPICVM_APICV_INTR_DELIVERY };			\
	FIXTURE_VARIANT_ADD(fixture, x2apic_virt) {				\
		.features = VAPICVM_APICV_X2APIC_VIRT };			\
	FIXTURE_VARIANT_ADD(fixture, all_but_posted) {				\
		.features = VAPICVM_APICV_ALL & ~VAPICVM_APICV_POSTED_INTR };	\
	FIXTURE_VARIANT_ADD(fixture, posted_intr) {				\
		.features = VAPICVM_APICV_ALL }

/*
 * The variants and the teardown of a fixture run on every tier.  Its data
 * has at least `struct vm *vm` and `uint32_t apicv`; its FIXTURE_SETUP
 * starts with APIC_TIER_SETUP().
 */
#define APIC_TIER_FIXTURE(fixture)						\
	FIXTURE_VARIANT(fixture) {						\
		uint32_t features;	/* the tier: these and all they need */	\
	};									\
	APIC_TIER_VARIANTS(fixture);						\
	FIXTURE_TEARDOWN(fixture)						\
	{									\
		if (self->vm)							\
			vm_free(self->vm);					\
	}

/*
 * In an APIC_TIER_FIXTURE's FIXTURE_SETUP: skip the tier if this CPU does
 * not offer it, else create its VM (self->vm, self->apicv) and log it.
 */
#define APIC_TIER_SETUP() do {							\
	uint32_t __apicv = apicv_tier(variant->features);			\
	char __tier[128];							\
										\
	apicv_str(__apicv, __tier, sizeof(__tier));				\
	self->vm = NULL;							\
	TEST_REQUIRE(!(__apicv & ~host_apicv()),				\
		     "tier %s not offered by this CPU", __tier);		\
	self->apicv = __apicv;							\
	self->vm = vm_create_apic_tier(__apicv);				\
	TH_LOG("tier: %s", __tier);						\
} while (0)

/*
 * In an APIC_TIER_FIXTURE whose self->vm is the tier's VM: the test `name`
 * in xAPIC and in x2APIC mode (name_xapic, name_x2apic), each calling
 * fn(_metadata, self->vm, x2apic).
 */
#define APIC_TEST_F_BOTH_MODES(fixture, name, fn)				\
	TEST_F(fixture, name##_xapic)						\
	{									\
		fn(_metadata, self->vm, false);					\
	}									\
	TEST_F(fixture, name##_x2apic)						\
	{									\
		fn(_metadata, self->vm, true);					\
	}

/* Signal an MSI to APIC ID dest: an edge (or level, asserted) fixed interrupt. */
void vm_send_msi(struct vm *vm, uint8_t dest, uint32_t vector, bool level);
/*
 * After a test: the APIC state of every vCPU keeps the invariants
 * lapic_state_inconsistency() checks (below), or the test fails.
 */
void vm_assert_lapic_consistent(struct vm *vm);

/* ---------------- guest side ---------------- */

/* Whether the guest uses x2APIC MSRs (else xAPIC MMIO); set per test (apic.c). */
extern bool guest_x2apic;

static inline uint32_t xapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_DEFAULT_GPA + reg);
}

static inline void xapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_DEFAULT_GPA + reg) = v;
}

static inline uint64_t x2apic_read(uint32_t reg)
{
	return guest_rdmsr(0x800 + (reg >> 4));
}

static inline void x2apic_write(uint32_t reg, uint64_t v)
{
	guest_wrmsr(0x800 + (reg >> 4), v);
}

static inline uint32_t apic_read(uint32_t reg)
{
	return guest_x2apic ? (uint32_t)x2apic_read(reg) : xapic_read(reg);
}

static inline void apic_write(uint32_t reg, uint32_t v)
{
	if (guest_x2apic)
		x2apic_write(reg, v);
	else
		xapic_write(reg, v);
}

static inline void apic_eoi(void)
{
	apic_write(REG_EOI, 0);
}

/* Send an IPI: dest is an APIC ID (xAPIC: 8 bits, x2APIC: 32 bits). */
static inline void apic_icr(uint32_t dest, uint32_t low)
{
	if (guest_x2apic) {
		x2apic_write(REG_ICR, ((uint64_t)dest << 32) | low);
	} else {
		xapic_write(REG_ICR2, dest << 24);
		xapic_write(REG_ICR, low);
	}
}

static inline uint32_t apic_id(void)
{
	return guest_x2apic ? (uint32_t)x2apic_read(REG_ID) : xapic_read(REG_ID) >> 24;
}

/* Enable the APIC in the mode guest_x2apic says, software-enabled. */
static inline void apic_enable(void)
{
	if (guest_x2apic)
		guest_wrmsr(MSR_APIC_BASE, guest_rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	apic_write(REG_SVR, SVR_ENABLE | 0xff);
}

static inline bool apic_isr_set(int v)
{
	return apic_read(REG_ISR + (v / 32) * 0x10) & (1U << (v % 32));
}

static inline bool apic_irr_set(int v)
{
	return apic_read(REG_IRR + (v / 32) * 0x10) & (1U << (v % 32));
}

/* ---------------- host-side state checks ---------------- */

/* Highest set vector in a 256-bit register of the page, or -1. */
static inline int lapic_state_highest(const struct vapicvm_lapic_state *s, unsigned int base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		uint32_t w = *(const uint32_t *)(s->regs + base + i * 0x10);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static inline uint32_t lapic_state_reg(const struct vapicvm_lapic_state *s, unsigned int off)
{
	return *(const uint32_t *)(s->regs + off);
}

/*
 * The invariants every APIC state must keep, checked after each test:
 * PPR derived from TPR and the highest ISR vector; with virtual-interrupt
 * delivery RVI is the highest IRR vector and SVI the highest ISR vector;
 * no vector below 16 pending or in service.  Returns NULL or what is wrong.
 */
static inline const char *lapic_state_inconsistency(const struct vapicvm_lapic_state *s,
						    bool vid)
{
	int irr = lapic_state_highest(s, REG_IRR), isr = lapic_state_highest(s, REG_ISR);
	uint32_t tpr = lapic_state_reg(s, REG_TPR) & 0xff, ppr = lapic_state_reg(s, REG_PPR);
	uint32_t isrc = isr < 0 ? 0 : isr & 0xf0;
	uint32_t want_ppr = (tpr & 0xf0) >= isrc ? tpr : isrc;

	if (ppr != want_ppr)
		return "PPR does not follow TPR and ISR";
	if ((lapic_state_reg(s, REG_IRR) & 0xffff) || (lapic_state_reg(s, REG_ISR) & 0xffff))
		return "a vector below 16 is pending or in service";
	if (vid) {
		if ((s->intr_status & 0xff) != (irr < 0 ? 0 : irr))
			return "RVI is not the highest IRR vector";
		if ((s->intr_status >> 8) != (isr < 0 ? 0 : isr))
			return "SVI is not the highest ISR vector";
	}
	return NULL;
}

#endif /* SELFTEST_APIC_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * Local APIC registers on every APIC-virtualization tier: TPR through CR8,
 * MMIO and MSR (and which of those exit), the TPR threshold, PPR, software
 * disable, xAPIC/x2APIC transitions, base relocation, GET/SET_LAPIC, and a
 * guest writing garbage everywhere.
 */
#include "kselftest_harness.h"
#include "apic.h"

FIXTURE(apic) {
	struct vm *vm;
	uint32_t apicv;
};

APIC_TIER_FIXTURE(apic);

FIXTURE_SETUP(apic)
{
	APIC_TIER_SETUP();
}

static volatile uint32_t irq_count[256];
static volatile uint32_t irq_seen_ppr;

static void count_and_eoi(struct ex_regs *regs)
{
	irq_count[regs->vector]++;
	apic_eoi();
}

/* ---------------------------------------------------------------- */

static void guest_tpr_views(void)
{
	int i;

	guest_x2apic = false;
	apic_enable();
	for (i = 0; i < 100; i++) {
		uint64_t cr8;

		__asm__ volatile("mov %0, %%cr8" : : "r"((uint64_t)(i & 15)));
		__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
		GUEST_ASSERT_EQ(cr8, i & 15);
	}
	GUEST_ASSERT_EQ(xapic_read(REG_TPR), 99 & 15 ? (99 & 15) << 4 : 0);
	GUEST_SYNC(1);
	for (i = 0; i < 100; i++) {
		uint64_t cr8;

		xapic_write(REG_TPR, (i & 15) << 4);
		GUEST_ASSERT_EQ(xapic_read(REG_TPR), (i & 15) << 4);
		__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
		GUEST_ASSERT_EQ(cr8, i & 15);
	}
	GUEST_SYNC(2);
	xapic_write(REG_TPR, 0);
	GUEST_DONE();
}

TEST_F(apic, tpr_cr8_and_mmio_agree)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tpr_views, 0);
	uint64_t cr0, cr1, acc0, acc1, emu0, emu1;

	cr0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_CR);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	cr1 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_CR);
	if (self->apicv & VAPICVM_APICV_TPR_SHADOW) {
		EXPECT_EQ(0, cr1 - cr0) TH_LOG("CR8 accesses exited with the TPR shadow");
	} else {
		EXPECT_GE(cr1 - cr0, 200);
	}

	acc0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_APIC_ACCESS);
	emu0 = vcpu_stat(vcpu, VAPICVM_STAT_APIC_MMIO_EMULATED);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	acc1 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_APIC_ACCESS);
	emu1 = vcpu_stat(vcpu, VAPICVM_STAT_APIC_MMIO_EMULATED);
	if (self->apicv & VAPICVM_APICV_APIC_ACCESS) {
		/* TPR reads and writes are virtualized: no APIC-access exit. */
		EXPECT_EQ(0, acc1 - acc0);
		EXPECT_EQ(0, emu1 - emu0);
	} else {
		EXPECT_GE(emu1 - emu0, 200) TH_LOG("xAPIC TPR accesses not emulated?");
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

static void guest_x2apic_tpr_views(void)
{
	int i;

	guest_x2apic = true;
	apic_enable();
	GUEST_SYNC(0);
	for (i = 0; i < 100; i++) {
		uint64_t cr8;

		x2apic_write(REG_TPR, (i & 15) << 4);
		GUEST_ASSERT_EQ(x2apic_read(REG_TPR), (i & 15) << 4);
		__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
		GUEST_ASSERT_EQ(cr8, i & 15);
	}
	GUEST_SYNC(1);
	x2apic_write(REG_TPR, 0);
	GUEST_DONE();
}

TEST_F(apic, x2apic_tpr_msr_and_cr8_agree)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_x2apic_tpr_views, 0);
	uint64_t r0, w0;

	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	r0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_READ);
	w0 = vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	if (self->apicv & VAPICVM_APICV_X2APIC_VIRT) {
		EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_READ) - r0);
		EXPECT_EQ(0, vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE) - w0);
	} else {
		EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_MSR_WRITE) - w0, 100);
	}
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define VEC_THRESHOLD 0x50

static void guest_tpr_threshold(void)
{
	guest_x2apic = false;
	apic_enable();
	__asm__ volatile("mov %0, %%cr8" : : "r"(15ULL));
	guest_sti();
	GUEST_SYNC(1);			/* the host sends vector 0x50 now */
	GUEST_ASSERT_EQ(irq_count[VEC_THRESHOLD], 0);
	GUEST_ASSERT(xapic_read(REG_IRR + 0x20) & (1U << (VEC_THRESHOLD - 64)));
	GUEST_SYNC(2);
	/* Lowering the TPR below the vector's class delivers it at once. */
	__asm__ volatile("mov %0, %%cr8" : : "r"(4ULL));
	GUEST_ASSERT_EQ(irq_count[VEC_THRESHOLD], 1);
	GUEST_DONE();
}

TEST_F(apic, tpr_threshold_delivers_when_tpr_drops)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tpr_threshold, 0);
	struct vapicvm_lapic_state s;

	vm_install_handler(self->vm, VEC_THRESHOLD, count_and_eoi);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vm_send_msi(self->vm, 0, VEC_THRESHOLD, false);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &s));
	EXPECT_EQ(VEC_THRESHOLD, lapic_state_highest(&s, REG_IRR));
	EXPECT_EQ(0xf0, lapic_state_reg(&s, REG_PPR));
	vm_assert_lapic_consistent(self->vm);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	if ((self->apicv & VAPICVM_APICV_TPR_SHADOW) &&
	    !(self->apicv & VAPICVM_APICV_INTR_DELIVERY))
		EXPECT_GE(vcpu_stat(vcpu, VAPICVM_STAT_EXIT_TPR_BELOW_THRESHOLD), 1);
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

static volatile uint32_t nmi_count;

static void count_nmi(struct ex_regs *regs)
{
	nmi_count++;
}

static void guest_tpr_lowered_by_host(void)
{
	int i;

	guest_x2apic = false;
	apic_enable();
	__asm__ volatile("mov %0, %%cr8" : : "r"(15ULL));
	guest_sti();
	GUEST_SYNC(1);			/* the host sends vector 0x50 now */
	GUEST_SYNC(2);			/* the host lowers CR8 to 0 and sends an NMI */
	/* Exits, in case the NMI went in alone: the interrupt follows. */
	for (i = 0; i < 1000 && !irq_count[VEC_THRESHOLD]; i++)
		guest_cpuid(0, 0, &(uint32_t){ 0 }, &(uint32_t){ 0 }, &(uint32_t){ 0 },
			    &(uint32_t){ 0 });
	GUEST_ASSERT_EQ(nmi_count, 1);
	GUEST_ASSERT_EQ(irq_count[VEC_THRESHOLD], 1);
	GUEST_DONE();
}

/*
 * An interrupt blocked by the TPR sets the TPR threshold; the host then
 * lowers the TPR (SET_SREGS) and an NMI goes in at the next entry: VM
 * entry must not fail (threshold above the new TPR), and the interrupt is
 * delivered after the NMI.
 */
TEST_F(apic, host_lowers_tpr_while_an_nmi_goes_in)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_tpr_lowered_by_host, 0);
	struct vapicvm_msi nmi = { .address_lo = 0xfee00000, .data = 0x400 };
	struct vapicvm_sregs sregs;

	vm_install_handler(self->vm, VEC_THRESHOLD, count_and_eoi);
	vm_install_handler(self->vm, 2, count_nmi);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vm_send_msi(self->vm, 0, VEC_THRESHOLD, false);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr8 = 0;
	vcpu_set_sregs(vcpu, &sregs);
	ASSERT_EQ(1, __vm_ioctl(self->vm, VAPICVM_SIGNAL_MSI, &nmi));
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define VEC_PPR 0x80

static void ppr_handler(struct ex_regs *regs)
{
	GUEST_ASSERT(apic_isr_set(VEC_PPR));
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x80);	/* ISR class, TPR 0 */
	apic_write(REG_TPR, 0x95);
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x95);	/* TPR above ISR class */
	apic_write(REG_TPR, 0x20);
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x80);	/* back to ISR class */
	irq_seen_ppr = 1;
	apic_eoi();
	GUEST_ASSERT_EQ(apic_read(REG_PPR), 0x20);	/* only TPR left */
	GUEST_ASSERT(!apic_isr_set(VEC_PPR));
}

static void guest_ppr(uint64_t x2)
{
	guest_x2apic = x2;
	apic_enable();
	guest_sti();
	if (x2)
		x2apic_write(REG_SELF_IPI, VEC_PPR);
	else
		apic_icr(0, ICR_SELF | ICR_FIXED | VEC_PPR);
	GUEST_ASSERT_EQ(irq_seen_ppr, 1);
	apic_write(REG_TPR, 0);
	GUEST_DONE();
}

TEST_F(apic, ppr_follows_isr_and_tpr_xapic)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_ppr, 0);

	vm_install_handler(self->vm, VEC_PPR, ppr_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, ppr_follows_isr_and_tpr_x2apic)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_ppr, 1);

	vm_install_handler(self->vm, VEC_PPR, ppr_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

static void guest_sw_disable(void)
{
	uint32_t r;

	guest_x2apic = false;
	apic_enable();
	xapic_write(REG_LVTT, 0x70);
	xapic_write(REG_LVT0, 0x700);
	xapic_write(REG_LVTERR, 0x71);
	GUEST_ASSERT_EQ(xapic_read(REG_LVTT) & LVT_MASKED, 0);
	/* Software disable: every LVT masked, and it stays masked. */
	xapic_write(REG_SVR, 0xff);
	for (r = REG_LVTT; r <= REG_LVTERR; r += 0x10)
		GUEST_ASSERT(xapic_read(r) & LVT_MASKED);
	xapic_write(REG_LVTT, 0x70);
	GUEST_ASSERT(xapic_read(REG_LVTT) & LVT_MASKED);
	/* No fixed interrupt from outside is accepted while disabled. */
	guest_sti();
	GUEST_SYNC(1);		/* the host sends an MSI */
	GUEST_ASSERT_EQ(irq_count[0x72], 0);
	GUEST_ASSERT(!apic_irr_set(0x72));
	/* Re-enabled, the LVTs stay masked until written. */
	xapic_write(REG_SVR, SVR_ENABLE | 0xff);
	GUEST_ASSERT(xapic_read(REG_LVTT) & LVT_MASKED);
	xapic_write(REG_LVTT, 0x70);
	GUEST_ASSERT_EQ(xapic_read(REG_LVTT), 0x70);
	apic_icr(0, ICR_SELF | 0x72);
	GUEST_ASSERT_EQ(irq_count[0x72], 1);
	GUEST_DONE();
}

TEST_F(apic, software_disable_masks_lvts)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_sw_disable, 0);

	struct vapicvm_msi msi = { .address_lo = 0xfee00000, .data = 0x72 };

	vm_install_handler(self->vm, 0x72, count_and_eoi);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	EXPECT_EQ(0, __vm_ioctl(self->vm, VAPICVM_SIGNAL_MSI, &msi))
		TH_LOG("a software-disabled APIC accepted an MSI");
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

static volatile uint32_t gp_count;

/* #GP on WRMSR/RDMSR: count it and step over the 2-byte instruction. */
static void gp_skip_msr(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;
}

static bool try_wrmsr(uint32_t msr, uint64_t v)
{
	uint32_t before = gp_count;

	guest_wrmsr(msr, v);
	return gp_count == before;
}

static void guest_x2apic_transitions(void)
{
	uint64_t base = guest_rdmsr(MSR_APIC_BASE);
	uint64_t addr = base & ~0xfffULL;

	GUEST_ASSERT_EQ(base & (APIC_BASE_EN | APIC_BASE_EXTD), APIC_BASE_EN);
	GUEST_ASSERT(base & APIC_BASE_BSP);
	/* In xAPIC mode the x2APIC MSRs do not exist. */
	GUEST_ASSERT(!try_wrmsr(0x808, 0));
	/* EN=0, EXTD=1 is invalid. */
	GUEST_ASSERT(!try_wrmsr(MSR_APIC_BASE, addr | APIC_BASE_BSP | APIC_BASE_EXTD));
	/* Reserved bits. */
	GUEST_ASSERT(!try_wrmsr(MSR_APIC_BASE, base | (1ULL << 9)));
	/* xAPIC -> x2APIC: valid; the ID is the full x2APIC ID. */
	GUEST_ASSERT(try_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD));
	GUEST_ASSERT_EQ(x2apic_read(REG_ID), 0);
	GUEST_ASSERT_EQ(x2apic_read(REG_LDR), 1);	/* cluster 0, bit 0 */
	/* x2APIC -> xAPIC: invalid. */
	GUEST_ASSERT(!try_wrmsr(MSR_APIC_BASE, base));
	/* Writes to read-only x2APIC registers and reserved bits #GP. */
	GUEST_ASSERT(!try_wrmsr(0x802, 5));		/* ID */
	GUEST_ASSERT(!try_wrmsr(0x808, 0x100));		/* TPR bits 31:8 */
	GUEST_ASSERT(!try_wrmsr(0x80b, 1));		/* EOI must be 0 */
	GUEST_ASSERT(try_wrmsr(0x80b, 0));
	/* x2APIC -> disabled: valid. */
	GUEST_ASSERT(try_wrmsr(MSR_APIC_BASE, addr | APIC_BASE_BSP));
	/* disabled -> x2APIC: invalid; disabled -> xAPIC: valid. */
	GUEST_ASSERT(!try_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD));
	GUEST_ASSERT(try_wrmsr(MSR_APIC_BASE, base));
	/* Back in xAPIC mode, as after reset: software-disabled, ID restored. */
	GUEST_ASSERT_EQ(xapic_read(REG_SVR) & SVR_ENABLE, 0);
	GUEST_ASSERT_EQ(xapic_read(REG_ID), 0);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_APIC_BASE), base);
	GUEST_DONE();
}

TEST_F(apic, x2apic_transitions_per_sdm)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_x2apic_transitions, 0);

	vm_install_handler(self->vm, 13, gp_skip_msr);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	sync_global_from_guest(self->vm, gp_count);
	EXPECT_EQ(8, gp_count);
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define NEW_BASE 0xfed00000ULL

static void guest_relocate(uint64_t id)
{
	uint64_t base = guest_rdmsr(MSR_APIC_BASE);

	GUEST_ASSERT_EQ(*(volatile uint32_t *)(APIC_DEFAULT_GPA + REG_ID) >> 24, id);
	guest_wrmsr(MSR_APIC_BASE, (base & 0xfff) | NEW_BASE);
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(NEW_BASE + REG_ID) >> 24, id);
	*(volatile uint32_t *)(NEW_BASE + REG_TPR) = 0x30;
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(NEW_BASE + REG_TPR), 0x30);
	*(volatile uint32_t *)(NEW_BASE + REG_TPR) = 0;
	GUEST_SYNC(1);
	/* The old window is no longer the APIC: plain unbacked memory. */
	GUEST_ASSERT_EQ(*(volatile uint32_t *)(APIC_DEFAULT_GPA + REG_ID), 0xdeadbeef);
	GUEST_DONE();
}

static uint64_t apic_access_gpa(struct __test_metadata *_metadata, struct vm *vm)
{
	struct vapicvm_apicv_info info;

	EXPECT_EQ(0, __vm_ioctl(vm, VAPICVM_GET_APICV, &info));
	return info.apic_access_gpa;
}

/* Run until a ucall, answering reads of unbacked memory with 0xdeadbeef. */
static uint64_t run_answering_mmio(struct vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == VAPICVM_EXIT_MMIO) {
			uint32_t v = 0xdeadbeef;

			TEST_ASSERT(vcpu->run->mmio.phys_addr == APIC_DEFAULT_GPA + REG_ID,
				    "MMIO at %#llx",
				    (unsigned long long)vcpu->run->mmio.phys_addr);
			memcpy(vcpu->run->mmio.data, &v, 4);
			continue;
		}
		if (get_ucall(vcpu, &uc) == UCALL_ABORT)
			TEST_FAIL("guest assertion %s:%lu: %s %s", uc.file, (unsigned long)uc.line,
				  uc.expr, uc.msg);
		return uc.cmd;
	}
}

TEST_F(apic, base_relocation_moves_the_apic_access_page)
{
	struct vcpu *v0 = vm_add_vcpu(self->vm, 0, guest_relocate, 0);
	bool access = self->apicv & VAPICVM_APICV_APIC_ACCESS;

	if (access)
		EXPECT_EQ(APIC_DEFAULT_GPA, apic_access_gpa(_metadata, self->vm));
	ASSERT_EQ(UCALL_SYNC, run_answering_mmio(v0));
	if (access)
		EXPECT_EQ(NEW_BASE, apic_access_gpa(_metadata, self->vm))
			TH_LOG("the APIC-access EPT entry did not follow the base");
	ASSERT_EQ(UCALL_DONE, run_answering_mmio(v0));
	vm_assert_lapic_consistent(self->vm);
}

TEST_F(apic, disagreeing_bases_fall_back_to_emulation)
{
	struct vcpu *v0 = vm_add_vcpu(self->vm, 0, guest_relocate, 0);
	struct vcpu *v1 = vm_add_vcpu(self->vm, 1, guest_relocate, 1);
	uint64_t emu0;

	/* vCPU 0 moves its APIC; vCPU 1 has not: they disagree. */
	ASSERT_EQ(UCALL_SYNC, run_answering_mmio(v0));
	if (self->apicv & VAPICVM_APICV_APIC_ACCESS)
		EXPECT_EQ(~0ULL, apic_access_gpa(_metadata, self->vm))
			TH_LOG("the APIC-access page stays mapped while bases disagree");
	/* Both APICs still work, now through emulation. */
	emu0 = vcpu_stat(v1, VAPICVM_STAT_APIC_MMIO_EMULATED);
	ASSERT_EQ(UCALL_SYNC, run_answering_mmio(v1));
	EXPECT_GE(vcpu_stat(v1, VAPICVM_STAT_APIC_MMIO_EMULATED) - emu0, 1);
	/* Now they agree again on the new base. */
	if (self->apicv & VAPICVM_APICV_APIC_ACCESS)
		EXPECT_EQ(NEW_BASE, apic_access_gpa(_metadata, self->vm));
	ASSERT_EQ(UCALL_DONE, run_answering_mmio(v0));
	ASSERT_EQ(UCALL_DONE, run_answering_mmio(v1));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

#define VEC_LOW		0x41
#define VEC_HIGH	0x92

static volatile uint32_t order[4];
static volatile uint32_t norder;

static void record_and_eoi(struct ex_regs *regs)
{
	if (norder < 4)
		order[norder++] = regs->vector;
	apic_eoi();
}

static void guest_state_roundtrip(void)
{
	guest_x2apic = false;
	apic_enable();
	xapic_write(REG_TPR, 0x30);
	GUEST_SYNC(1);		/* interrupts are posted while IF=0 */
	guest_sti();
	__asm__ volatile("nop");
	GUEST_ASSERT_EQ(norder, 2);
	GUEST_ASSERT_EQ(order[0], VEC_HIGH);	/* priority order */
	GUEST_ASSERT_EQ(order[1], VEC_LOW);
	xapic_write(REG_TPR, 0);
	GUEST_DONE();
}

TEST_F(apic, get_set_lapic_roundtrip_with_pending_interrupts)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_state_roundtrip, 0);
	struct vapicvm_lapic_state a, b;

	vm_install_handler(self->vm, VEC_LOW, record_and_eoi);
	vm_install_handler(self->vm, VEC_HIGH, record_and_eoi);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, NULL));
	vm_send_msi(self->vm, 0, VEC_LOW, false);
	vm_send_msi(self->vm, 0, VEC_HIGH, false);

	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &a));
	EXPECT_EQ(VEC_HIGH, lapic_state_highest(&a, REG_IRR));
	EXPECT_EQ(0x30, lapic_state_reg(&a, REG_TPR));
	vm_assert_lapic_consistent(self->vm);

	/* Restore what we saved: nothing changes, nothing is lost. */
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_SET_LAPIC, &a));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VAPICVM_GET_LAPIC, &b));
	EXPECT_EQ(0, memcmp(a.regs, b.regs, REG_TMCCT));
	EXPECT_EQ(0, memcmp(a.regs + REG_TMCCT + 0x10, b.regs + REG_TMCCT + 0x10,
			    sizeof(a.regs) - REG_TMCCT - 0x10));
	EXPECT_EQ(a.apic_base, b.apic_base);
	EXPECT_EQ(a.intr_status, b.intr_status);

	/* Bad arguments. */
	b.flags = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_LAPIC, &b, EINVAL));
	b.flags = 0;
	b.reserved[1] = 1;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_LAPIC, &b, EINVAL));
	b.reserved[1] = 0;
	b.apic_base |= 1ULL << 9;
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_SET_LAPIC, &b, EINVAL));
	EXPECT_TRUE(ioctl_fails_with(vcpu->fd, VAPICVM_GET_LAPIC, NULL, EFAULT));

	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_assert_lapic_consistent(self->vm);
}

/* ---------------------------------------------------------------- */

static uint64_t rand_state;

static uint32_t rnd(void)
{
	rand_state = rand_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rand_state >> 33;
}

static void ignore_irq(struct ex_regs *regs)
{
	if (guest_x2apic)
		guest_wrmsr(0x80b, 0);
	else
		xapic_write(REG_EOI, 0);
}

static void skip_fault(struct ex_regs *regs)
{
	/* WRMSR/RDMSR #GP: skip 2 bytes; anything else: give up cleanly. */
	regs->rip += 2;
}

static void guest_hammer(uint64_t seed)
{
	int i;

	rand_state = seed;
	guest_x2apic = false;
	for (i = 0; i < 4000; i++) {
		uint32_t off = (rnd() % 0x100) << 4, v = rnd();
		uint32_t dm = (v >> 8) & 7;

		/* INIT/SIPI to ourselves would restart this code: skip those. */
		if (off == REG_ICR && (dm == 5 || dm == 6))
			continue;
		if (off == REG_SVR)
			v |= SVR_ENABLE;
		xapic_write(off, v);
		(void)xapic_read((rnd() % 0x100) << 4);
	}
	guest_sti();
	/* Now x2APIC mode, and garbage through the MSRs. */
	guest_wrmsr(MSR_APIC_BASE, guest_rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	guest_x2apic = true;
	for (i = 0; i < 4000; i++) {
		uint32_t msr = 0x800 + rnd() % 0x100;
		uint64_t v = ((uint64_t)rnd() << 32) | rnd();

		if (msr == 0x830 && (((v >> 8) & 7) == 5 || ((v >> 8) & 7) == 6))
			continue;
		if (msr == 0x830)
			v &= ~(3ULL << 18);	/* no broadcast storms of our own */
		guest_wrmsr(msr, v);
		(void)guest_rdmsr(0x800 + rnd() % 0x100);
	}
	guest_cli();
	GUEST_DONE();
}

TEST_F(apic, garbage_in_every_register_cannot_hurt_the_host)
{
	struct vcpu *vcpu = vm_add_vcpu(self->vm, 0, guest_hammer, 0x1234567);
	struct ucall uc;
	int v;

	for (v = 16; v < 256; v++)
		vm_install_handler(self->vm, v, ignore_irq);
	vm_install_handler(self->vm, 13, skip_fault);
	vm_install_handler(self->vm, 2, ignore_irq);
	/*
	 * The guest may wreck itself; the host must not notice: RUN keeps
	 * returning sane exits and the VM tears down cleanly.
	 */
	for (v = 0; v < 1000; v++) {
		int r = __vcpu_run(vcpu);

		ASSERT_TRUE(r == 0 || errno == EINTR) TH_LOG("RUN: %s", strerror(errno));
		if (get_ucall(vcpu, &uc) == UCALL_DONE)
			break;
		if (vcpu->run->exit_reason == VAPICVM_EXIT_MMIO ||
		    vcpu->run->exit_reason == VAPICVM_EXIT_IO)
			continue;
		if (uc.cmd != UCALL_NONE && uc.cmd != UCALL_ABORT)
			continue;
		TH_LOG("guest stopped with %s", exit_reason_str(vcpu->run->exit_reason));
		break;
	}
	vm_assert_lapic_consistent(self->vm);
}

TEST_HARNESS_MAIN

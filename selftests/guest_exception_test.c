// SPDX-License-Identifier: GPL-2.0
/*
 * Exceptions the guest handles itself, including ones whose delivery is
 * interrupted by a VM exit (an EPT violation on the IDT, handler or stack
 * page the first time it is touched) and must be re-injected exactly: the
 * same vector, error code and CR2, and the handler's IRET returning to the
 * same stack.
 */
#include "kselftest_harness.h"
#include "vapicvm_util.h"

#define HOLE_GPA	0x3000000ULL	/* a 2 MiB page the guest unmaps */
#define FRESH_STACK	0x3800000ULL	/* a stack page never touched before */

static volatile uint64_t pf_count, pf_cr2, pf_error, pf_rsp_ok;

static uint64_t *pde_for(uint64_t gva)
{
	/* The library's identity map: PDs at PML4 + 0x2000, 2 MiB entries. */
	return (uint64_t *)(GUEST_PML4 + 0x2000 + (gva >> 30) * 0x1000) + ((gva >> 21) & 511);
}

static void pf_handler(struct ex_regs *regs)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	pf_count++;
	pf_cr2 = cr2;
	pf_error = regs->error_code;
	/* Map the page back and retry the access. */
	*pde_for(cr2) |= 1;
	__asm__ volatile("invlpg (%0)" : : "r"(cr2) : "memory");
}

static void guest_page_faults(void)
{
	volatile uint64_t *p = (volatile uint64_t *)(HOLE_GPA + 0x1238);
	uint64_t rsp0, rsp1;
	int i;

	for (i = 0; i < 3; i++) {
		*pde_for(HOLE_GPA) &= ~1ULL;
		__asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
		__asm__ volatile("mov %%rsp, %0" : "=r"(rsp0));
		if (i == 1)
			*p = 0x1122334455667788ULL;	/* write fault */
		else
			(void)*p;			/* read fault */
		__asm__ volatile("mov %%rsp, %0" : "=r"(rsp1));
		GUEST_ASSERT_EQ(rsp0, rsp1);
		GUEST_ASSERT_EQ(pf_count, i + 1);
		GUEST_ASSERT_EQ(pf_cr2, (uint64_t)p);
		GUEST_ASSERT_EQ(pf_error, i == 1 ? 2 : 0);	/* not present, W/R */
	}
	GUEST_ASSERT_EQ(*p, 0x1122334455667788ULL);
	GUEST_DONE();
}

TEST(page_faults_with_first_touch_exits_during_delivery)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_page_faults, 0);

	vm_install_handler(vm, 14, pf_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

/* The same on a stack page never touched before: the pushes themselves exit. */
TEST(page_fault_on_a_fresh_stack)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_page_faults, 0);
	struct vapicvm_regs r;

	vm_install_handler(vm, 14, pf_handler);
	vcpu_get_regs(vcpu, &r);
	r.rsp = FRESH_STACK + 0x1000 - 8;
	vcpu_set_regs(vcpu, &r);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

static volatile uint64_t ud_count;

static void ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rip += 2;		/* ud2 */
}

static void guest_ud(void)
{
	int i;

	for (i = 0; i < 5; i++)
		__asm__ volatile("ud2");
	GUEST_ASSERT_EQ(ud_count, 5);
	GUEST_DONE();
}

TEST(invalid_opcode_handled_by_the_guest)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_ud, 0);

	vm_install_handler(vm, 6, ud_handler);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	vm_free(vm);
}

TEST_HARNESS_MAIN

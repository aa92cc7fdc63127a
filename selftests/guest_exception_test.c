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

/* ---------------------------------------------------------------- */

/*
 * SDM Vol. 3A 6.6 and 18.3.1.1: a fault's frame holds RFLAGS with RF set
 * (the CPU sets it for every fault but an instruction breakpoint #DB), so
 * that the IRET back to the faulting instruction does not take its
 * instruction breakpoint again.  Faults the module raises on the CPU's
 * behalf must look the same: #GP from a refused CR4 write and from RDMSR
 * and WRMSR of an MSR that does not exist, #UD for a VMX instruction.  (KVM sets RF before injecting any fault.)  The
 * handler's IRET then clears RF again: the next instruction runs with it
 * clear.
 */
#define X86_EFLAGS_RF	(1ULL << 16)

static volatile uint64_t frame_rflags[8];
static volatile uint32_t faults, skip_len;

static void record_fault(struct ex_regs *regs)
{
	if (faults < 8)
		frame_rflags[faults] = regs->rflags;
	faults++;
	regs->rip += skip_len;		/* the faulting instruction's length */
}

static void guest_injected_faults(void)
{
	uint64_t rflags;

	/* MOV to CR4 with a reserved bit (0f 22 /r, 3 bytes with RAX): #GP(0). */
	skip_len = 3;
	__asm__ volatile("mov %0, %%cr4" : : "a"(guest_read_cr4() | (1ULL << 63)) : "memory");
	/* RDMSR and WRMSR of an MSR that does not exist. */
	skip_len = 2;
	__asm__ volatile("rdmsr" : : "c"(0x4b564dff) : "rax", "rdx", "memory");
	__asm__ volatile("wrmsr" : : "c"(0x4b564dff), "a"(1), "d"(0) : "memory");
	/* VMXOFF: it exits, and the module answers #UD (0f 01 c4, 3 bytes). */
	skip_len = 3;
	__asm__ volatile(".byte 0x0f, 0x01, 0xc4" ::: "memory");
	__asm__ volatile("pushfq; pop %0" : "=r"(rflags));
	GUEST_ASSERT_EQ(faults, 4);
	GUEST_ASSERT_EQ(rflags & X86_EFLAGS_RF, 0);
	GUEST_DONE();
}

TEST(injected_faults_have_rf_in_their_frame)
{
	struct vm *vm = vm_create();
	struct vcpu *vcpu = vm_add_vcpu(vm, 0, guest_injected_faults, 0);
	int i;

	vm_install_handler(vm, 13, record_fault);
	vm_install_handler(vm, 6, record_fault);
	ASSERT_EQ(UCALL_DONE, vcpu_run_ucall(vcpu, NULL));
	sync_global_from_guest(vm, frame_rflags);
	for (i = 0; i < 4; i++) {
		TH_LOG("fault %d: RFLAGS %#lx in the frame", i, (unsigned long)frame_rflags[i]);
		EXPECT_TRUE(frame_rflags[i] & X86_EFLAGS_RF);
	}
	vm_free(vm);
}

TEST_HARNESS_MAIN

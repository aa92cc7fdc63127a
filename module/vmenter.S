/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM entry and the VM-exit landing point, and the synthetic interrupt frame
 * used to hand an interrupt acknowledged on VM exit to the host's handler.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#define HOST_RSP_FIELD	0x6c14

/* Offsets of enum vcpu_reg in the regs array. */
#define VCPU_RAX	(0 * 8)
#define VCPU_RCX	(1 * 8)
#define VCPU_RDX	(2 * 8)
#define VCPU_RBX	(3 * 8)
#define VCPU_RBP	(5 * 8)
#define VCPU_RSI	(6 * 8)
#define VCPU_RDI	(7 * 8)
#define VCPU_R8		(8 * 8)
#define VCPU_R9		(9 * 8)
#define VCPU_R10	(10 * 8)
#define VCPU_R11	(11 * 8)
#define VCPU_R12	(12 * 8)
#define VCPU_R13	(13 * 8)
#define VCPU_R14	(14 * 8)
#define VCPU_R15	(15 * 8)

	.text

/*
 * int __vapicvm_vcpu_run(unsigned long *regs, unsigned long *host_rsp, bool launched)
 *
 * Loads the guest's general-purpose registers (RSP and RIP come from the
 * VMCS), enters the guest with VMLAUNCH or VMRESUME, and on VM exit
 * (HOST_RIP = vapicvm_vmexit) stores them back.  Returns 0 after a VM exit, 1
 * if the VM-entry instruction itself failed (VMfailValid/VMfailInvalid or
 * a fault).  HOST_RSP is rewritten only when this frame's RSP differs from
 * the cached value, which saves a VMWRITE on nearly every entry.
 */
SYM_FUNC_START(__vapicvm_vcpu_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi			/* @regs, needed after VM exit */

	/* Keep @launched in BL: callee-saved, survives to the branch. */
	mov	%edx, %ebx

	cmp	%rsp, (%rsi)
	je	1f
	mov	%rsp, (%rsi)
	mov	$HOST_RSP_FIELD, %eax
	vmwrite	%rsp, %rax
1:
	mov	%rdi, %rax
	mov	VCPU_RCX(%rax), %rcx
	mov	VCPU_RDX(%rax), %rdx
	mov	VCPU_RBP(%rax), %rbp
	mov	VCPU_RSI(%rax), %rsi
	mov	VCPU_RDI(%rax), %rdi
	mov	VCPU_R8(%rax), %r8
	mov	VCPU_R9(%rax), %r9
	mov	VCPU_R10(%rax), %r10
	mov	VCPU_R11(%rax), %r11
	mov	VCPU_R12(%rax), %r12
	mov	VCPU_R13(%rax), %r13
	mov	VCPU_R14(%rax), %r14
	mov	VCPU_R15(%rax), %r15
	/* Clear CPU buffers where the kernel does (VERW clobbers ZF). */
	CLEAR_CPU_BUFFERS
	test	%bl, %bl
	mov	VCPU_RBX(%rax), %rbx
	mov	VCPU_RAX(%rax), %rax	/* last: this kills @regs */
	jz	.Lvmlaunch

	UNWIND_HINT_SAVE
.Lvmresume:
	vmresume
	jmp	.Lvmfail
.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail

	_ASM_EXTABLE(.Lvmresume, .Lfixup)
	_ASM_EXTABLE(.Lvmlaunch, .Lfixup)

SYM_INNER_LABEL(vapicvm_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push	%rax			/* guest RAX */
	mov	8(%rsp), %rax		/* @regs */
	pop	VCPU_RAX(%rax)
	mov	%rcx, VCPU_RCX(%rax)
	mov	%rdx, VCPU_RDX(%rax)
	mov	%rbx, VCPU_RBX(%rax)
	mov	%rbp, VCPU_RBP(%rax)
	mov	%rsi, VCPU_RSI(%rax)
	mov	%rdi, VCPU_RDI(%rax)
	mov	%r8, VCPU_R8(%rax)
	mov	%r9, VCPU_R9(%rax)
	mov	%r10, VCPU_R10(%rax)
	mov	%r11, VCPU_R11(%rax)
	mov	%r12, VCPU_R12(%rax)
	mov	%r13, VCPU_R13(%rax)
	mov	%r14, VCPU_R14(%rax)
	mov	%r15, VCPU_R15(%rax)
	xor	%ebx, %ebx		/* return 0: a VM exit */

.Lout:
	/* Leave no guest value in a register the host could speculate on. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	/* Refill the return stack buffer before the first unbalanced RET. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	/* And the branch history the guest left, where BHI needs it. */
	CLEAR_BRANCH_HISTORY_VMEXIT
	mov	%rbx, %rax
	pop	%rdi			/* @regs */
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lfixup:
	/* VMX was off (a reboot in progress): report failure, not a crash. */
.Lvmfail:
	/* RSP and the callee-saved registers are untouched on failure. */
	mov	$1, %ebx
	/* The guest values loaded above must not survive either. */
	xor	%ebp, %ebp
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	jmp	.Lout
SYM_FUNC_END(__vapicvm_vcpu_run)

/*
 * void vapicvm_do_interrupt_irqoff(unsigned long entry)
 *
 * With "acknowledge interrupt on exit" the interrupt that caused the exit
 * is already acknowledged; call its host IDT entry with the frame the CPU
 * would have pushed (SS, RSP, RFLAGS with IF clear, CS) so that its IRET
 * returns here with interrupts still disabled.
 */
SYM_FUNC_START(vapicvm_do_interrupt_irqoff)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	CALL_NOSPEC rdi
	leave
	RET
SYM_FUNC_END(vapicvm_do_interrupt_irqoff)

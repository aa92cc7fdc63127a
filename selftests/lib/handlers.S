/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest IDT stubs: one per vector, each pushing a dummy error code when the
 * CPU does not push one, then the vector, then jumping to a common entry
 * that saves the registers as struct ex_regs and calls
 * guest_route_interrupt().
 */
	.text
	.code64

	.macro stub vector
	.align 16
stub_\vector:
	.if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vector
	jmp	common_entry
	.endm

	.altmacro
	.set	v, 0
	.rept	256
	stub	%v
	.set	v, v + 1
	.endr

common_entry:
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rdi
	pushq	%rsi
	pushq	%rbp
	pushq	%rbx
	pushq	%rdx
	pushq	%rcx
	pushq	%rax
	movq	%rsp, %rdi
	cld
	call	guest_route_interrupt
	popq	%rax
	popq	%rcx
	popq	%rdx
	popq	%rbx
	popq	%rbp
	popq	%rsi
	popq	%rdi
	popq	%r8
	popq	%r9
	popq	%r10
	popq	%r11
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	addq	$16, %rsp
	iretq

	.macro stub_addr vector
	.quad	stub_\vector
	.endm

	.data
	.globl	guest_idt_stubs
	.align	8
guest_idt_stubs:
	.set	v, 0
	.rept	256
	stub_addr %v
	.set	v, v + 1
	.endr

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbtest: a multiboot v1 test kernel for vapicvm-run.
 *
 * Checks the multiboot hand-off (EAX magic, EBX info with memory sizes, the
 * command line and the memory map), prints through the 16550 UART at
 * 0x3f8 with polled output, counts the CPUs in the MP table, starts the
 * APs with INIT/SIPI through the local APIC (xAPIC MMIO at 0xfee00000),
 * waits for each to check in, and ends through the debug-exit port 0xf4:
 * 0 when all is well (vapicvm-run exits 1), 1 otherwise (exit 3).
 *
 * Output: "MBTEST: ..." lines; the last is "MBTEST: cpus=N up=M result=ok|fail".
 */
	.set	MB_MAGIC, 0x1badb002
	.set	MB_FLAGS, 0x00000003	/* page-aligned modules, memory info */
	.set	UART, 0x3f8
	.set	DEBUG_EXIT, 0xf4
	.set	APIC, 0xfee00000
	.set	TRAMP, 0x7000		/* AP start-up code: SIPI vector 0x07 */

	.text
	.code32
	.globl	_start
	.align	4
mb_header:
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

_start:
	cli
	mov	$stack_top, %esp
	mov	%eax, %edi			/* keep the magic */
	mov	%ebx, %esi			/* and the info pointer */
	lgdt	gdtr
	ljmp	$0x08, $1f
1:	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss

	mov	$msg_hello, %eax
	call	puts
	cmp	$0x2badb002, %edi
	jne	fail_magic

	/* Memory: flags bit 0, mem_upper in KiB. */
	testl	$1, (%esi)
	jz	fail_info
	mov	$msg_mem, %eax
	call	puts
	mov	8(%esi), %eax
	shr	$10, %eax			/* MiB above 1 MiB */
	call	putdec
	mov	$msg_mib, %eax
	call	puts

	/* Command line: flags bit 2. */
	testl	$4, (%esi)
	jz	1f
	mov	$msg_cmdline, %eax
	call	puts
	mov	16(%esi), %eax
	call	puts
	mov	$msg_nl, %eax
	call	puts
1:
	/* Memory map: flags bit 6; count the RAM entries. */
	testl	$0x40, (%esi)
	jz	fail_info
	mov	48(%esi), %ebx			/* mmap_addr */
	mov	44(%esi), %ecx			/* mmap_length */
	add	%ebx, %ecx
	xor	%edx, %edx
2:	cmp	%ecx, %ebx
	jae	3f
	cmpl	$1, 20(%ebx)			/* type RAM */
	jne	4f
	inc	%edx
4:	add	(%ebx), %ebx
	add	$4, %ebx
	jmp	2b
3:	mov	$msg_mmap, %eax
	call	puts
	mov	%edx, %eax
	call	putdec
	mov	$msg_nl, %eax
	call	puts

	/* The MP table: count processor entries. */
	mov	$0xf0000, %ebx
5:	cmpl	$0x5f504d5f, (%ebx)		/* "_MP_" */
	je	6f
	add	$16, %ebx
	cmp	$0x100000, %ebx
	jb	5b
	jmp	fail_mptable
6:	mov	4(%ebx), %ebx			/* configuration table */
	cmpl	$0x504d4350, (%ebx)		/* "PCMP" */
	jne	fail_mptable
	movzwl	34(%ebx), %ecx			/* entry count */
	lea	44(%ebx), %ebx
	xor	%edx, %edx
7:	test	%ecx, %ecx
	jz	9f
	cmpb	$0, (%ebx)
	jne	8f
	inc	%edx				/* a processor */
	add	$20, %ebx
	dec	%ecx
	jmp	7b
8:	add	$8, %ebx			/* other entries are 8 bytes */
	dec	%ecx
	jmp	7b
9:	mov	%edx, ncpus

	/* Enable the local APIC (SVR bit 8, spurious vector 0xff). */
	movl	$0x1ff, APIC + 0xf0
	mov	APIC + 0x20, %eax
	shr	$24, %eax
	mov	$msg_bsp, %eax
	call	puts
	mov	APIC + 0x20, %eax
	shr	$24, %eax
	call	putdec
	mov	$msg_nl, %eax
	call	puts

	cmpl	$1, ncpus
	jbe	done

	/* Copy the trampoline below 1 MiB, then INIT and SIPI to all but self. */
	mov	$tramp_start, %esi
	mov	$TRAMP, %edi
	mov	$(tramp_end - tramp_start), %ecx
	rep	movsb
	movl	$0, APIC + 0x310
	movl	$0x000c4500, APIC + 0x300	/* INIT, level assert, all excluding self */
	call	icr_wait
	movl	$0x000c4600 + (TRAMP >> 12), APIC + 0x300	/* SIPI */
	call	icr_wait
	movl	$0x000c4600 + (TRAMP >> 12), APIC + 0x300	/* SIPI again, per the MP spec */
	call	icr_wait

	/* Wait for the APs, with a bound. */
	mov	$200000000, %ecx
1:	mov	ncpus, %eax
	dec	%eax
	cmp	%eax, ap_up
	jae	done
	pause
	dec	%ecx
	jnz	1b

done:
	mov	$msg_cpus, %eax
	call	puts
	mov	ncpus, %eax
	call	putdec
	mov	$msg_up, %eax
	call	puts
	mov	ap_up, %eax
	inc	%eax				/* the BSP */
	call	putdec
	mov	ap_up, %eax
	inc	%eax
	cmp	ncpus, %eax
	jne	fail_aps
	mov	$msg_ok, %eax
	call	puts
	xor	%eax, %eax
	out	%al, $DEBUG_EXIT
	jmp	halt

fail_aps:
	mov	$msg_fail, %eax
	jmp	fail
fail_magic:
	mov	$msg_bad_magic, %eax
	jmp	fail
fail_info:
	mov	$msg_bad_info, %eax
	jmp	fail
fail_mptable:
	mov	$msg_bad_mptable, %eax
fail:
	call	puts
	mov	$1, %al
	out	%al, $DEBUG_EXIT
halt:
	cli
	hlt
	jmp	halt

icr_wait:
	testl	$0x1000, APIC + 0x300		/* delivery status */
	jz	1f
	pause
	jmp	icr_wait
1:	ret

/* Print the NUL-terminated string at %eax (polled: LSR.THRE). */
puts:
	push	%esi
	push	%edx
	mov	%eax, %esi
1:	movb	(%esi), %al
	test	%al, %al
	jz	3f
	mov	%al, %ah
	mov	$UART + 5, %dx
2:	inb	%dx, %al
	test	$0x20, %al
	jz	2b
	mov	$UART, %dx
	mov	%ah, %al
	outb	%al, %dx
	inc	%esi
	jmp	1b
3:	pop	%edx
	pop	%esi
	ret

/* Print %eax in decimal. */
putdec:
	push	%ebx
	push	%ecx
	push	%edx
	mov	$numbuf + 11, %ebx
	movb	$0, (%ebx)
	mov	$10, %ecx
1:	xor	%edx, %edx
	div	%ecx
	add	$'0', %dl
	dec	%ebx
	mov	%dl, (%ebx)
	test	%eax, %eax
	jnz	1b
	mov	%ebx, %eax
	call	puts
	pop	%edx
	pop	%ecx
	pop	%ebx
	ret

/* APs arrive here in 32-bit mode from the trampoline. */
ap_entry32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$1, %eax
	lock	xadd %eax, ap_index
	inc	%eax
	shl	$10, %eax
	add	$ap_stacks, %eax
	mov	%eax, %esp
	lock	incl ap_up
1:	cli
	hlt
	jmp	1b

/* Real-mode start-up code, copied to TRAMP; CS = TRAMP >> 4, IP = 0. */
	.code16
tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	tramp_gdtr - tramp_start
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $ap_entry32
	.align	4
tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
tramp_end:
	.code32

	.data
	.align	8
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff		/* 0x08: code */
	.quad	0x00cf93000000ffff		/* 0x10: data */
gdt_end:
gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
ncpus:	.long	1
ap_up:	.long	0
ap_index: .long	0
numbuf:	.space	12

msg_hello:	.asciz	"MBTEST: hello from a multiboot kernel\n"
msg_mem:	.asciz	"MBTEST: mem_upper="
msg_mib:	.asciz	" MiB\n"
msg_cmdline:	.asciz	"MBTEST: cmdline="
msg_mmap:	.asciz	"MBTEST: mmap RAM entries="
msg_bsp:	.asciz	"MBTEST: BSP APIC ID="
msg_cpus:	.asciz	"MBTEST: cpus="
msg_up:		.asciz	" up="
msg_ok:		.asciz	" result=ok\n"
msg_fail:	.asciz	" result=fail\n"
msg_bad_magic:	.asciz	"MBTEST: bad multiboot magic result=fail\n"
msg_bad_info:	.asciz	"MBTEST: multiboot info lacks memory or mmap result=fail\n"
msg_bad_mptable: .asciz	"MBTEST: no MP table result=fail\n"
msg_nl:		.asciz	"\n"

	.bss
	.align	16
	.space	4096
stack_top:
ap_stacks:
	.space	1024 * 64

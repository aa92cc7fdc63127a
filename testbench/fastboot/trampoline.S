/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fast-boot trampoline: stands in for the protected-mode part of a bzImage.
 *
 * The kernel's own real-mode setup code (kept unchanged) queries the BIOS,
 * fills boot_params and jumps here in 32-bit flat protected mode with
 * %esi = &boot_params.  We place the uncompressed vmlinux segments that
 * follow us at their physical addresses, zero the holes, enter long mode on
 * an identity map of the low 4 GiB and jump to the kernel's startup_64, as
 * the kernel's decompressor would have done after decompressing.  This skips
 * the xz decompression, the single largest cost of a boot under emulation.
 *
 * Image layout after this code (all little endian), see mkfastboot.cpp:
 *   u32 magic 'VFB1', u32 nr_ops, u64 entry
 *   nr_ops * { u64 dest, u32 src_offset, u32 copy_len, u32 zero_len, u32 pad }
 * Ops are applied last to first; each copies copy_len bytes from the image
 * to dest (dest >= source, so a backward copy is safe) and then zeroes
 * zero_len bytes after them.  All copies precede the first zeroing, so no
 * zeroing can clobber a source still to be copied.
 */
	.code32
	.section .text
	.globl _start
_start:
	cli
	cld
	movl	%esi, %ebp			/* boot_params, kept until the jump */
	/*
	 * %esp is not defined on the 32-bit entry: borrow boot_params'
	 * scratch field (offset 0x1e4) as a one-slot stack to learn where we
	 * were loaded, as the kernel's own decompressor does, then switch to
	 * our stack.
	 */
	leal	(0x1e4 + 4)(%esi), %esp
	call	1f
1:	popl	%ebx
	subl	$(1b - _start), %ebx		/* %ebx = where we were loaded */
	leal	(stack_top - _start)(%ebx), %esp

	leal	(image_header - _start)(%ebx), %edx
	cmpl	$0x31424656, (%edx)		/* 'VFB1' */
	jne	bad_image
	movl	4(%edx), %ecx			/* nr_ops */
	leal	16(%edx), %edi			/* first op */

	/* Copy pass, last op first. */
	movl	%ecx, %eax
copy_loop:
	testl	%eax, %eax
	jz	copy_done
	decl	%eax
	pushl	%eax
	pushl	%ecx
	shll	$5, %eax
	leal	(%edx, %eax), %eax
	leal	16(%eax), %eax			/* op */
	movl	(%eax), %edi			/* dest (low 4 GiB only) */
	movl	8(%eax), %esi
	addl	%ebx, %esi			/* source = load base + offset */
	movl	12(%eax), %ecx			/* copy_len */
	cmpl	%esi, %edi
	jb	bad_image
	/* Backward copy: the source and destination of one op may overlap. */
	leal	-1(%esi, %ecx), %esi
	leal	-1(%edi, %ecx), %edi
	std
	rep movsb
	cld
	popl	%ecx
	popl	%eax
	jmp	copy_loop
copy_done:

	/* Zero pass. */
	xorl	%eax, %eax
zero_loop:
	cmpl	%ecx, %eax
	je	zero_done
	pushl	%eax
	pushl	%ecx
	shll	$5, %eax
	leal	16(%edx, %eax), %esi		/* op */
	movl	(%esi), %edi
	addl	12(%esi), %edi			/* dest + copy_len */
	movl	16(%esi), %ecx			/* zero_len */
	xorl	%eax, %eax
	rep stosb
	popl	%ecx
	popl	%eax
	incl	%eax
	jmp	zero_loop
zero_done:

	/* Identity map 0..4 GiB with 2 MiB pages: PML4 -> PDPT -> 4 PDs. */
	leal	(page_tables - _start)(%ebx), %edi
	addl	$4095, %edi
	andl	$~4095, %edi
	movl	%edi, %esi			/* %esi = PML4 */
	pushl	%edi
	movl	$(6 * 4096 / 4), %ecx
	xorl	%eax, %eax
	rep stosl
	popl	%edi
	leal	0x1000 + 3(%esi), %eax		/* PML4[0] -> PDPT */
	movl	%eax, (%esi)
	xorl	%ecx, %ecx
pdpt_loop:
	leal	0x2003(%esi), %eax
	movl	%ecx, %edx
	shll	$12, %edx
	addl	%edx, %eax
	movl	%eax, 0x1000(%esi, %ecx, 8)	/* PDPT[i] -> PD i */
	incl	%ecx
	cmpl	$4, %ecx
	jne	pdpt_loop
	xorl	%ecx, %ecx
pd_loop:
	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax			/* present, writable, 2 MiB */
	movl	%eax, 0x2000(%esi, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jne	pd_loop

	/* Enter long mode. */
	leal	(gdt - _start)(%ebx), %eax
	movl	%eax, (gdt_desc + 2 - _start)(%ebx)
	lgdt	(gdt_desc - _start)(%ebx)
	movl	%cr4, %eax
	orl	$0x20, %eax			/* PAE */
	movl	%eax, %cr4
	movl	%esi, %cr3
	movl	$0xc0000080, %ecx		/* EFER */
	rdmsr
	orl	$0x100, %eax			/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* PG | PE */
	movl	%eax, %cr0
	leal	(long_mode - _start)(%ebx), %eax
	pushl	$0x10
	pushl	%eax
	lret

	.code64
long_mode:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%ebp, %esi			/* boot_params, as startup_64 wants */
	movl	%ebx, %eax
	movq	(image_header + 8 - _start)(%rax), %rax
	jmp	*%rax

	.code32
bad_image:
	leal	(bad_msg - _start)(%ebx), %esi
1:	lodsb
	testb	%al, %al
	jz	2f
	movw	$0x3f8, %dx
	outb	%al, %dx
	jmp	1b
2:	hlt
	jmp	2b

bad_msg:
	.asciz	"fastboot: bad image\r\n"

	.balign	8
gdt:
	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x10: 64-bit code */
	.quad	0x00cf92000000ffff		/* 0x18: data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	0

	.balign	16
stack:
	.fill	1024, 1, 0
stack_top:

	.balign	4096
page_tables:
	.fill	7 * 4096, 1, 0			/* 6 pages + alignment slack */

	.balign	16
image_header:

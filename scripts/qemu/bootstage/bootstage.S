/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The QEMU twin's boot stage (docs/qemu-twin.md, "Firmware before Linux"):
 * what a board's U-Boot does with the layer's rtd_amp_start (dynamic-layers/
 * avengers/recipes-bsp/u-boot/u-boot-rtd-amp-start.inc), in a few dozen
 * instructions. QEMU's generic loader has put the firmware's ELF
 * segments into the carveout, Linux's Image, the DTB and the initramfs into
 * RAM, and starts CPU 0 here at EL1 (virt without EL2/EL3); CPUs 1-3 are
 * powered off (PSCI). This code
 *   1. starts the remote core on the firmware's entry point with PSCI
 *      CPU_ON(MPIDR, entry, context = the control page's physical address),
 *      the same call rtd_amp_rproc.c makes (the firmware takes its control
 *      page from x0);
 *   2. prints what it did on the PL011 (one line, for the logs);
 *   3. enters Linux as arm64's booting.rst asks: x0 = the DTB, x1..x3 = 0,
 *      MMU and caches off (they are, from reset), at the Image's start.
 * Every value comes from the build (scripts/qemu/bootstage.sh), read from
 * the DTB the twin boots (/psci method, /cpus/cpu@3 reg, the ctrl
 * reserved-memory region, the PL011) and the firmware ELF (e_entry):
 *   CONDUIT hvc|smc, MPIDR, FW_ENTRY, CTRL_PA, UART, KERNEL, DTB.
 * With SKIP_CPU_ON defined the call is left out (x0 = 1 reported), for
 * seeing the suite fail when the core was not started.
 */
#define PSCI_0_2_FN64_CPU_ON 0xc4000003

	.section .text.boot, "ax"
	.global _start
_start:
	/* PL011: UARTEN | TXE | RXE (newer QEMU transmits only then). */
	ldr	x20, =UART
	mov	w0, #0x301
	str	w0, [x20, #0x30]

	mrs	x21, cntpct_el0
	ldr	x0, =PSCI_0_2_FN64_CPU_ON
	ldr	x1, =MPIDR
	ldr	x2, =FW_ENTRY
	ldr	x3, =CTRL_PA
#ifdef SKIP_CPU_ON
	mov	x0, #1
#else
	CONDUIT	#0
#endif
	mov	x22, x0

	adr	x1, msg_on
	bl	puts
	ldr	x0, =MPIDR
	bl	puthex
	adr	x1, msg_entry
	bl	puts
	ldr	x0, =FW_ENTRY
	bl	puthex
	adr	x1, msg_ctx
	bl	puts
	ldr	x0, =CTRL_PA
	bl	puthex
	adr	x1, msg_cnt
	bl	puts
	mov	x0, x21
	bl	puthex
	adr	x1, msg_ret
	bl	puts
	mov	x0, x22
	bl	puthex
	adr	x1, msg_linux
	bl	puts
	ldr	x0, =KERNEL
	bl	puthex
	adr	x1, msg_nl
	bl	puts

	ldr	x0, =DTB
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	ldr	x4, =KERNEL
	br	x4

/* putc w0 (waits while the TX FIFO is full: UARTFR bit 5). */
putc:
1:	ldr	w9, [x20, #0x18]
	tbnz	w9, #5, 1b
	str	w0, [x20]
	ret

/* puts x1: a NUL-terminated string. */
puts:
	mov	x10, x30
2:	ldrb	w0, [x1], #1
	cbz	w0, 3f
	bl	putc
	b	2b
3:	mov	x30, x10
	ret

/* puthex x0: 0x and 16 hex digits. */
puthex:
	mov	x10, x30
	mov	x11, x0
	mov	w0, #'0'
	bl	putc
	mov	w0, #'x'
	bl	putc
	mov	x12, #60
4:	lsr	x0, x11, x12
	and	x0, x0, #0xf
	cmp	x0, #10
	add	x13, x0, #'0'
	add	x14, x0, #('a' - 10)
	csel	x0, x13, x14, lo
	bl	putc
	subs	x12, x12, #4
	b.pl	4b
	mov	x30, x10
	ret

msg_on:		.asciz "bootstage: PSCI CPU_ON(mpidr "
msg_entry:	.asciz ", entry "
msg_ctx:	.asciz ", context "
msg_cnt:	.asciz ") at counter "
msg_ret:	.asciz " returned "
msg_linux:	.asciz "; entering Linux at "
msg_nl:		.asciz "\r\n"
	.balign 8
	.ltorg

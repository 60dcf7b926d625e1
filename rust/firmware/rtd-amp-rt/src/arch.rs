//! The hardware itself: boot code, exception vectors, system registers,
//! MMIO, cache maintenance, PSCI. This is the runtime's only `unsafe`
//! module besides amp-proto's `shmem` and three spots in `runtime`; the
//! registers it reads and the timer go through `aarch64-cpu`, PSCI through
//! `smccc` (docs/firmware.md, "Crates the runtime uses"), without `unsafe`
//! here.
//!
//! # Invariants
//!
//! * The firmware runs on one core. Interrupts are taken by polling the GIC
//!   after WFI, with PSTATE.I set, except one: the doorbell, at the highest
//!   priority, is also taken as an IRQ exception while the firmware runs
//!   (PSTATE.I clear, `ICC_PMR_EL1` letting only the doorbell through), so
//!   a stop request is served even when the application's code never
//!   returns. Its handler (`runtime`, "The stop interrupt") touches only
//!   the GIC's system registers, the control page and one atomic flag;
//!   it saves every register the AAPCS64 lets a call clobber, SIMD
//!   included, and returns with `eret`.
//! * MMIO addresses come from [`crate::board`] and are mapped Device by
//!   [`crate::mmu`] before any access; each access is one aligned 32-bit
//!   volatile load or store. The MMIO helpers are `unsafe fn`: a safe
//!   function never dereferences an address its caller chose.
//! * Before the MMU is on, Rust code runs on Device memory, which faults on
//!   unaligned accesses: the only Rust code run then builds the tables with
//!   aligned 64-bit stores.
//!
//! # Two stacks
//!
//! The firmware runs at EL1 on `SP_EL0` (`SPSel` = 0, "EL1t"): its stack is
//! `__stack_bottom..__stack_top`, with an unmapped guard page below it. An
//! exception switches the core to `SP_EL1` by itself, before the vector's
//! first instruction, and `SP_EL1` points at a separate 16 KiB exception
//! stack (`__exc_stack_*`, its own guard page below). So when the firmware
//! overflows its stack into the guard page, the data abort is handled on
//! an intact stack and produces a crash record; with one stack the vector's
//! first store would fault again at the same address, forever, or (without
//! the guard) the stack would silently run into `.bss`, where the page
//! tables live. The alternative, checking `SP` against the guard on entry,
//! would still need somewhere to put the frame. The firmware's exceptions
//! arrive at the "current EL with SP_EL0" vectors; the "current EL with
//! SP_ELx" vectors are only reached by a fault inside the crash handler
//! itself: they restart the exception stack from its top (the first
//! handler's frame is abandoned) and report a nested crash. rustc probes
//! every page of a stack frame larger than a page (`stack-probes` inline
//! on `aarch64-unknown-none`), so no frame steps over a guard page.

use core::arch::{asm, global_asm};

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTPCT_EL0, CNTP_CTL_EL0, CNTP_CVAL_EL0, ELR_EL1, ESR_EL1,
    FAR_EL1, MPIDR_EL1, SPSR_EL1,
};

use crate::board::{Board, Conduit};
use crate::mmu::Image;

// Entry from PSCI CPU_ON: x0 = context id (the control page's address),
// MMU and caches off, at EL2 or EL1. Drop to EL1, allow FP/SIMD, set the
// stack, drop stale cache lines of the image (a previous run may have left
// some in the shared L3), zero .bss, install the vectors, enter Rust.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    mov     x19, x0
    mrs     x20, CurrentEL
    ldr     x1, =0x30d00800
    msr     sctlr_el1, x1
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.ne    1f
    mov     x1, #(1 << 31)
    msr     hcr_el2, x1
    mov     x1, #3
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mrs     x1, s3_4_c12_c9_5
    mov     x2, #0x9
    orr     x1, x1, x2
    msr     s3_4_c12_c9_5, x1
    isb
    mov     x1, #0x3c5
    msr     spsr_el2, x1
    adr     x1, 1f
    msr     elr_el2, x1
    eret
1:
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    // SP_EL1: the exception stack; then SP_EL0, the firmware's stack,
    // used from here on (SPSel 0).
    msr     spsel, #1
    ldr     x1, =__exc_stack_top
    mov     sp, x1
    msr     spsel, #0
    ldr     x1, =__stack_top
    mov     sp, x1
    ldr     x1, =__image_start
    ldr     x2, =__image_end
2:
    dc      ivac, x1
    add     x1, x1, #64
    cmp     x1, x2
    b.lo    2b
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
3:
    cmp     x1, x2
    b.hs    4f
    str     xzr, [x1], #8
    b       3b
4:
    ldr     x1, =__vectors
    msr     vbar_el1, x1
    isb
    mov     x0, x19
    lsr     x1, x20, #2
    mov     x29, xzr
    mov     x30, xzr
    bl      rtd_amp_rt_entry
5:
    wfe
    b       5b

    // The doorbell taken as an interrupt (from SP_EL0, now on SP_EL1).
    .macro  VECTOR_IRQ
    .balign 0x80
    b       __irq_entry
    .endm

    // The firmware's exceptions (taken from SP_EL0, now on SP_EL1).
    .macro  VECTOR kind
    .balign 0x80
    sub     sp, sp, #96
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x29, x30, [sp, #64]
    mov     x0, #\kind
    mov     x1, sp
    b       rtd_amp_rt_exception
    .endm

    // A fault in the handler itself (on SP_EL1), or from a lower EL, which
    // never runs: restart the exception stack at its top (SP may be in its
    // guard page), at the cost of x0's value, and report a nested crash.
    .macro  VECTOR_NESTED kind
    .balign 0x80
    adrp    x0, __exc_stack_top
    add     x0, x0, :lo12:__exc_stack_top
    mov     sp, x0
    sub     sp, sp, #96
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x29, x30, [sp, #64]
    mov     x0, #(\kind | 0x100)
    mov     x1, sp
    b       rtd_amp_rt_exception
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global __vectors
__vectors:
    VECTOR 1
    VECTOR_IRQ
    VECTOR 3
    VECTOR 4
    VECTOR_NESTED 1
    VECTOR_NESTED 2
    VECTOR_NESTED 3
    VECTOR_NESTED 4
    VECTOR_NESTED 1
    VECTOR_NESTED 2
    VECTOR_NESTED 3
    VECTOR_NESTED 4
    VECTOR_NESTED 1
    VECTOR_NESTED 2
    VECTOR_NESTED 3
    VECTOR_NESTED 4

    // Saves x0-x18, x29, x30, ELR, SPSR, FPCR, FPSR and the caller-saved
    // SIMD registers (q0-q7, q16-q31: Rust code may use them) in
    // IRQ_FRAME_BYTES on the exception stack, calls the handler, restores
    // them and returns to the interrupted code.
__irq_entry:
    sub     sp, sp, #{irq_frame}
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x29, [sp, #144]
    mrs     x0, elr_el1
    stp     x30, x0, [sp, #160]
    mrs     x0, spsr_el1
    mrs     x1, fpcr
    stp     x0, x1, [sp, #176]
    mrs     x0, fpsr
    str     x0, [sp, #192]
    stp     q0, q1, [sp, #208]
    stp     q2, q3, [sp, #240]
    stp     q4, q5, [sp, #272]
    stp     q6, q7, [sp, #304]
    stp     q16, q17, [sp, #336]
    stp     q18, q19, [sp, #368]
    stp     q20, q21, [sp, #400]
    stp     q22, q23, [sp, #432]
    stp     q24, q25, [sp, #464]
    stp     q26, q27, [sp, #496]
    stp     q28, q29, [sp, #528]
    stp     q30, q31, [sp, #560]
    bl      rtd_amp_rt_irq
    ldp     q30, q31, [sp, #560]
    ldp     q28, q29, [sp, #528]
    ldp     q26, q27, [sp, #496]
    ldp     q24, q25, [sp, #464]
    ldp     q22, q23, [sp, #432]
    ldp     q20, q21, [sp, #400]
    ldp     q18, q19, [sp, #368]
    ldp     q16, q17, [sp, #336]
    ldp     q6, q7, [sp, #304]
    ldp     q4, q5, [sp, #272]
    ldp     q2, q3, [sp, #240]
    ldp     q0, q1, [sp, #208]
    ldr     x0, [sp, #192]
    msr     fpsr, x0
    ldp     x0, x1, [sp, #176]
    msr     spsr_el1, x0
    msr     fpcr, x1
    ldp     x30, x0, [sp, #160]
    msr     elr_el1, x0
    ldp     x18, x29, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{irq_frame}
    eret
"#,
    irq_frame = const IRQ_FRAME_BYTES,
);

/// Bytes `__irq_entry` saves: 21 general registers, ELR, SPSR, FPCR, FPSR
/// (26 words with padding; the SIMD stores start at 208), then 24 SIMD
/// registers of 16 bytes (the last pair at 560).
pub const IRQ_FRAME_BYTES: u64 = 26 * 8 + 24 * 16;
const _: () = assert!(IRQ_FRAME_BYTES == 560 + 32 && IRQ_FRAME_BYTES % 16 == 0);

/// Bytes the exception vectors push: x0..x7, x29, x30, 16 bytes of padding.
pub const FRAME_BYTES: u64 = 96;
/// Added to the vector's kind by the nested vectors (a fault in the
/// handler).
pub const NESTED: u64 = 0x100;

// The registers the runtime reads and the timer it arms, through
// aarch64-cpu (docs/firmware.md, "Crates the runtime uses"): named
// registers and fields, no unsafe; the same `mrs`/`msr` instructions. The
// GIC's ICC_* registers, cache maintenance by address and the MMU switch
// below stay in `asm!` (aarch64-cpu has no ICC_* registers, and the MMU
// switch is one sequence with its barriers).

/// Reads `MPIDR_EL1`.
#[inline(always)]
pub fn mpidr() -> u64 {
    MPIDR_EL1.get()
}

/// Reads `ESR_EL1`.
#[inline(always)]
pub fn esr() -> u64 {
    ESR_EL1.get()
}

/// Reads `ELR_EL1`.
#[inline(always)]
pub fn elr() -> u64 {
    ELR_EL1.get()
}

/// Reads `FAR_EL1`.
#[inline(always)]
pub fn far() -> u64 {
    FAR_EL1.get()
}

/// Reads `SPSR_EL1`.
#[inline(always)]
pub fn spsr() -> u64 {
    SPSR_EL1.get()
}

/// Reads `CNTPCT_EL0`.
#[inline(always)]
pub fn cntpct() -> u64 {
    CNTPCT_EL0.get()
}

/// Reads `CNTFRQ_EL0`.
#[inline(always)]
pub fn cntfrq() -> u64 {
    CNTFRQ_EL0.get()
}

/// Turns the MMU and caches on with `ttbr0` as the level-1 table.
///
/// # Safety
/// `ttbr0` must identity-map all code, data and stack in use.
pub unsafe fn enable_mmu(mair: u64, tcr: u64, ttbr0: u64) {
    // SAFETY: caller guarantees the tables keep the running code mapped.
    unsafe {
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "dsb ish",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "mrs {t}, sctlr_el1",
            "orr {t}, {t}, #0x1",
            "orr {t}, {t}, #0x4",
            "orr {t}, {t}, #0x1000",
            "msr sctlr_el1, {t}",
            "isb",
            mair = in(reg) mair,
            tcr = in(reg) tcr,
            ttbr = in(reg) ttbr0,
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Cleans and invalidates the data cache over `[start, end)` so the other
/// side (which maps it non-cacheable) sees what was written and we see what
/// it wrote.
///
/// # Safety
/// `[start, end)` must be mapped readable (with the MMU on) or be memory
/// whose stale cache lines may be dropped; an unmapped address faults.
pub unsafe fn clean_invalidate(start: u64, end: u64) {
    let mut a = start & !63;
    while a < end {
        // SAFETY: cache maintenance by VA on mapped memory has no effect on
        // program state beyond visibility.
        unsafe { asm!("dc civac, {}", in(reg) a, options(nostack)) };
        a += 64;
    }
    // SAFETY: barrier only.
    unsafe { asm!("dsb sy", options(nostack)) };
}

/// Reads a 32-bit device register.
///
/// # Safety
/// `addr` must be a 4-byte aligned register of a device [`crate::mmu`]
/// maps (the board's GIC), where a read has no effect the caller does not
/// intend.
pub unsafe fn mmio_read(addr: u64) -> u32 {
    // SAFETY: the caller guarantees a mapped, aligned device register.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Reads a 64-bit device register as two 32-bit halves (GICR_TYPER).
///
/// # Safety
/// As [`mmio_read`], for both `addr` and `addr + 4`.
pub unsafe fn mmio_read64(addr: u64) -> u64 {
    // SAFETY: the caller's guarantee covers both halves.
    unsafe { u64::from(mmio_read(addr)) | (u64::from(mmio_read(addr + 4)) << 32) }
}

/// Writes a 32-bit device register.
///
/// # Safety
/// `addr` must be a 4-byte aligned register of a device [`crate::mmu`]
/// maps, and writing `v` there must be what the caller means to do to the
/// device.
pub unsafe fn mmio_write(addr: u64, v: u32) {
    // SAFETY: the caller guarantees a mapped, aligned device register.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

/// Writes one byte of a byte-accessible device register (GICR_IPRIORITYR).
///
/// # Safety
/// As [`mmio_write`], for a register that accepts byte writes.
pub unsafe fn mmio_write8(addr: u64, v: u8) {
    // SAFETY: the caller guarantees a mapped, byte-accessible register.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}

/// Sets up this core's GIC CPU interface for group-1 interrupts.
pub fn gic_cpu_init() {
    // SAFETY: ICC_SRE_EL1.SRE (EL2 allowed it at boot), PMR, BPR, IGRPEN1;
    // interrupts stay masked in PSTATE, so nothing is taken.
    unsafe {
        asm!(
            "mrs {t}, s3_0_c12_c12_5",
            "orr {t}, {t}, #1",
            "msr s3_0_c12_c12_5, {t}",
            "isb",
            "mov {t}, #0xff",
            "msr s3_0_c4_c6_0, {t}",
            "msr s3_0_c12_c12_3, xzr",
            "mov {t}, #1",
            "msr s3_0_c12_c12_7, {t}",
            "isb",
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Acknowledges the highest pending group-1 interrupt (ICC_IAR1_EL1).
pub fn gic_ack() -> u32 {
    let v: u64;
    // SAFETY: reading IAR1 acknowledges one interrupt; matched by gic_eoi.
    unsafe { asm!("mrs {}, s3_0_c12_c12_0", out(reg) v, options(nostack)) };
    v as u32
}

/// Ends an interrupt (ICC_EOIR1_EL1).
pub fn gic_eoi(intid: u32) {
    // SAFETY: completes an interrupt this core acknowledged.
    unsafe { asm!("msr s3_0_c12_c12_1, {}", "isb", in(reg) u64::from(intid), options(nostack)) };
}

/// Masks interrupts (`PSTATE.I`): from here none is taken as an exception;
/// the GIC still wakes a `WFI` for any it signals.
#[inline(always)]
pub fn irq_mask() {
    // SAFETY: sets PSTATE.I only; also a compiler barrier (no `nomem`), so
    // no memory access moves out of the masked section.
    unsafe { asm!("msr daifset, #2", options(nostack, preserves_flags)) };
}

/// Unmasks interrupts (`PSTATE.I`): the doorbell, the only one `ICC_PMR_EL1`
/// lets through while running, is taken as an exception from here.
#[inline(always)]
pub fn irq_unmask() {
    // SAFETY: clears PSTATE.I only; the vector table is installed at boot
    // and its IRQ entry returns. A compiler barrier as above.
    unsafe { asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Masks every exception the firmware could take (`PSTATE.DAIF`) and spins
/// forever: what a firmware whose code hangs with interrupts off looks
/// like to Linux (fault injection only).
#[cfg(feature = "fault-injection")]
pub fn hang_masked() -> ! {
    // SAFETY: masks this core's own exceptions; nothing else.
    unsafe { asm!("msr daifset, #0xf", options(nostack)) };
    loop {
        core::hint::spin_loop();
    }
}

/// Writes `ICC_SGI1R_EL1`: sends a group-1 SGI (the runtime only ever to
/// itself, see [`crate::gic::sgi1r_to_self`]).
pub fn gic_send_sgi(value: u64) {
    // SAFETY: raises one SGI; the runtime's handler takes its doorbell.
    unsafe { asm!("msr s3_0_c12_c11_5, {}", "isb", in(reg) value, options(nostack)) };
}

/// Sleeps until an interrupt is pending (taken or not: PSTATE.I is set).
pub fn wait_for_interrupt() {
    // SAFETY: wfi only waits.
    unsafe { asm!("dsb sy", "wfi", options(nostack)) };
}

/// Turns on the generic timer's event stream (`CNTKCTL_EL1.EVNTEN`, on
/// transitions of counter bit 15: every 0.5 to 1.4 ms at 24 to 62.5 MHz),
/// so [`wait_for_event`] never sleeps longer than that.
pub fn event_stream_on() {
    // SAFETY: only EL0 timer access and event-stream fields of this core's
    // CNTKCTL_EL1 change; nothing depends on them otherwise.
    unsafe {
        asm!(
            "mrs {t}, cntkctl_el1",
            // EVNTDIR 0 (0 to 1 transitions), EVNTI 15, EVNTEN 1.
            "bic {t}, {t}, #0x8",
            "orr {t}, {t}, #0xf0",
            "orr {t}, {t}, #0x4",
            "msr cntkctl_el1, {t}",
            "isb",
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Sleeps until the next event (at the latest the event stream's next tick).
pub fn wait_for_event() {
    // SAFETY: wfe only waits.
    unsafe { asm!("wfe", options(nostack)) };
}

/// Arms the EL1 physical timer (`CNTP_CVAL_EL0`, `CNTP_CTL_EL0` ENABLE,
/// IMASK clear; Arm DDI 0487, "The Generic Timer in AArch64 state") to fire at
/// counter value `cval`. EL1 may use it: the boot code sets
/// `CNTHCTL_EL2.EL1PCEN` when entered at EL2; entered at EL1, BL31 must
/// have (on silicon: unproven, the self-test's `timer-latency` shows it).
pub fn timer_arm(cval: u64) {
    // This core's own timer; its interrupt is only taken by the self-test's
    // polling loop (PSTATE.I stays set).
    CNTP_CVAL_EL0.set(cval);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Disables the EL1 physical timer (its interrupt line drops).
pub fn timer_off() {
    CNTP_CTL_EL0.set(0);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Sets the GIC CPU interface's priority mask (`ICC_PMR_EL1`, Arm IHI 0069
/// register description): only interrupts with a priority value below `pmr` are
/// signalled.
pub fn gic_set_pmr(pmr: u8) {
    // SAFETY: masks or unmasks interrupt priorities of this core only.
    unsafe { asm!("msr s3_0_c4_c6_0, {}", "isb", in(reg) u64::from(pmr), options(nostack)) };
}

/// Full system barrier before ringing a doorbell.
pub fn barrier() {
    // SAFETY: barrier only.
    unsafe { asm!("dsb sy", options(nostack)) };
}

/// PSCI `CPU_OFF`: does not return when it works.
pub fn psci_cpu_off(board: &Board) -> i64 {
    use smccc::Call;
    // The smccc crate declares x0-x7 as changed by the call (SMCCC v1.4);
    // CPU_OFF returns only an error code, in w0 (PSCI, Arm DEN0022, CPU_OFF).
    let id = smccc::psci::PSCI_CPU_OFF;
    let r = match board.conduit {
        Conduit::Hvc => smccc::Hvc::call32(id, [0; 7]),
        Conduit::Smc => smccc::Smc::call32(id, [0; 7]),
    };
    i64::from(r[0] as i32)
}

/// The image's parts, from the linker script's symbols.
pub fn image() -> Image {
    extern "C" {
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __data_start: u8;
        static __data_end: u8;
        static __stack_bottom: u8;
        static __stack_top: u8;
        static __exc_stack_bottom: u8;
        static __exc_stack_top: u8;
    }
    // Only the symbols' addresses are taken, never their contents (safe
    // since Rust 1.82).
    macro_rules! range {
        ($a:ident, $b:ident) => {
            core::ptr::addr_of!($a) as u64..core::ptr::addr_of!($b) as u64
        };
    }
    Image {
        text: range!(__text_start, __text_end),
        rodata: range!(__rodata_start, __rodata_end),
        data: range!(__data_start, __data_end),
        stack: range!(__stack_bottom, __stack_top),
        exc_stack: range!(__exc_stack_bottom, __exc_stack_top),
    }
}

/// The firmware stack's bounds (`__stack_bottom..__stack_top`).
pub fn stack_range() -> core::ops::Range<u64> {
    image().stack
}

/// The firmware's stack pointer: `SP_EL0` read from the exception handler
/// (`SPSel` 1), the current `SP` elsewhere (where it is `SP_EL0` itself,
/// which `mrs` may not read).
pub fn firmware_sp() -> u64 {
    let sel: u64;
    // SAFETY: reads a register.
    unsafe { asm!("mrs {}, spsel", out(reg) sel, options(nomem, nostack)) };
    let sp: u64;
    if sel & 1 == 1 {
        // SAFETY: SPSel is 1, so SP_EL0 is readable; no side effect.
        unsafe { asm!("mrs {}, sp_el0", out(reg) sp, options(nomem, nostack)) };
    } else {
        // SAFETY: reads a register.
        unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    }
    sp
}

/// Reads one 64-bit word of the stack (for the crash backtrace); 0 for an
/// address outside it or not 8-byte aligned.
pub fn stack_word(addr: u64) -> u64 {
    let s = stack_range();
    if addr % 8 != 0 || addr < s.start || addr.checked_add(8).is_none_or(|e| e > s.end) {
        return 0;
    }
    // SAFETY: an aligned word inside the stack, which is mapped (image) and
    // always readable.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// The current frame pointer (`x29`).
#[inline(always)]
pub fn frame_pointer() -> u64 {
    let fp: u64;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags)) };
    fp
}

/// Address [`data_abort`] loads from: in the first page, which no board
/// maps (an mmu test checks it).
pub const FAULT_ADDR: u64 = 0x10;

/// A deliberate data abort: loads from [`FAULT_ADDR`], which is unmapped.
pub fn data_abort() -> ! {
    // SAFETY: FAULT_ADDR is never mapped, so the load faults and the
    // exception handler takes over; it never returns here.
    unsafe { core::ptr::read_volatile(FAULT_ADDR as *const u32) };
    unreachable!("a load from an unmapped page returned")
}

/// Executes an undefined instruction (a deliberate fault).
pub fn undefined() {
    // SAFETY: traps to the exception handler, which never returns.
    unsafe { asm!("udf #0", options(nostack)) };
}

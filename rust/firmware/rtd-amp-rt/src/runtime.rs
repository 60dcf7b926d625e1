//! The running firmware: entry from the boot code, the doorbells, the
//! trace, crash handling and the stop handshake.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use amp_proto::shmem::{BusWindow, Shm};

use crate::board::{layout, Board, BOARD};
use crate::ctrl::{self, esr_class, ControlPage, CrashKind, CrashRecord, State};
use crate::{arch, backtrace, gic, mmu, selftest, trace::Trace, LineBuf};

static mut TABLES: mmu::Tables = mmu::Tables::new();
static TRACE_POS: AtomicUsize = AtomicUsize::new(0);
/// Redistributor of this core, found at boot (0 before).
static RD_BASE: AtomicU64 = AtomicU64::new(0);
/// Exceptions taken inside the crash handler (nested vectors).
static NESTED: AtomicU32 = AtomicU32::new(0);
/// A doorbell acknowledged outside the wait (by the stop interrupt or the
/// self-test's latency run) that was not a stop request: the next wait
/// returns at once instead of sleeping through it.
static DOORBELL_LATCHED: AtomicBool = AtomicBool::new(false);
/// CNTPCT when the last doorbell woke the firmware, until its first reply
/// doorbell (0: no service under way). Feeds the control page's
/// service-time statistics.
static WOKEN_AT: AtomicU64 = AtomicU64::new(0);

/// One of the shared regions [`mmu::regions`] maps for the whole run, as a
/// `Shm`. Each is a separate region (the control page, the trace, the
/// RPMsg window), so no `Shm` spans the unmapped pages between them.
fn shared_region(offset: u64, size: u64) -> Shm<'static> {
    let (base, len) = (BOARD.at(offset), size as usize);
    // SAFETY: called only with the control page, the trace buffer, the
    // RPMsg window and the bulk region (below), which are reserved for this firmware and
    // Linux's remoteproc driver, mapped Normal read-write for the whole
    // run (mmu::regions), and never referenced by Rust: everything goes
    // through Shm.
    unsafe { Shm::new(base as *mut u8, len) }
}

/// The control page as shared memory.
pub(crate) fn ctrl_shm() -> Shm<'static> {
    shared_region(layout::CTRL, ctrl::SIZE as u64)
}

/// This core's redistributor (0 before `gic_init`).
pub(crate) fn rd_base() -> u64 {
    RD_BASE.load(Ordering::Relaxed)
}

fn ctrl() -> ControlPage<'static> {
    ControlPage::new(ctrl_shm()).expect("page size")
}

fn trace_shm() -> Shm<'static> {
    shared_region(layout::TRACE, layout::TRACE_SIZE)
}

/// Appends a line to the trace and makes it visible to Linux.
pub fn log_line(text: &[u8]) {
    let t = Trace::new(trace_shm(), &TRACE_POS);
    if let Some((a, b)) = t.line(text) {
        let base = BOARD.at(layout::TRACE);
        // SAFETY: inside the trace buffer, which is mapped (mmu::regions).
        unsafe { arch::clean_invalidate(base + a as u64, base + b as u64) };
    }
}

fn ring_linux(board: &Board) {
    arch::barrier();
    let (off, bit) = gic::ispendr(board.spi_intid());
    // SAFETY: one GICD_ISPENDR register of the board's distributor (mapped
    // Device); setting this core's doorbell SPI pending is its purpose.
    unsafe { arch::mmio_write(board.gicd + off, bit) };
    selftest::count_spi(&ctrl_shm());
}

/// What an application gets: the board, the shared memory, doorbells.
pub struct Runtime {
    board: Board,
    ctrl: ControlPage<'static>,
    ticks_per_ms: u64,
    start: u64,
}

impl Runtime {
    /// The board this firmware was built for.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The RPMsg device role's window at its bus (= physical) address:
    /// the vrings and the buffer pool ([`layout::RPMSG`]), nothing else. A
    /// vring address or descriptor Linux (or anyone who can write the
    /// rings) puts outside it is refused by amp-proto, so it can never
    /// reach the firmware's image, stacks, trace or control page.
    pub fn shared(&self) -> BusWindow<'static> {
        let (base, _) = self.board.rpmsg_window();
        BusWindow::new(shared_region(layout::RPMSG, layout::RPMSG_SIZE), base)
    }

    /// The bulk channel's region ([`layout::BULK`]: both rings, mapped
    /// Normal non-cacheable as Linux maps it for user space). Only the
    /// rings' protocol (amp-proto's `bulk`) reaches into it.
    pub fn bulk_region(&self) -> Shm<'static> {
        shared_region(layout::BULK, layout::BULK_SIZE)
    }

    /// Appends a formatted line to the trace.
    pub fn log(&self, args: core::fmt::Arguments<'_>) {
        let mut l = LineBuf::<160>::new();
        let _ = l.write_fmt(args);
        log_line(l.as_bytes());
    }

    /// Rings Linux's doorbell (the vring number is not carried: Linux
    /// services both rings on every doorbell). The first one after a
    /// doorbell from Linux ends a service-time sample.
    pub fn notify(&self, _vring: u32) {
        ring_linux(&self.board);
        let woken = WOKEN_AT.swap(0, Ordering::Relaxed);
        if woken != 0 {
            let ticks = arch::cntpct().saturating_sub(woken);
            self.ctrl.record_service(self.ticks_to_ns(ticks));
        }
    }

    /// Nanoseconds of `ticks` of the generic timer (capped at one second).
    fn ticks_to_ns(&self, ticks: u64) -> u64 {
        let freq = self.ticks_per_ms.max(1) * 1000;
        ticks.min(freq) * 1_000_000_000 / freq
    }

    /// Sleeps until Linux rings (or any interrupt is pending), then
    /// acknowledges what is pending. Never a busy spin. A doorbell ping
    /// from Linux (control page 0x300) is answered here at once, before
    /// the rings are looked at.
    pub fn wait_for_doorbell(&self) {
        self.wait_dispatch(&mut |_| {});
    }

    /// [`Runtime::wait_for_doorbell`], handing every other interrupt
    /// acknowledged (the timer, the application's SPIs) to `on_irq`
    /// before its end of interrupt.
    pub(crate) fn wait_dispatch(&self, on_irq: &mut dyn FnMut(u32)) {
        WOKEN_AT.store(0, Ordering::Relaxed);
        let mut rang = polled(0xFF, || {
            // Masked before the flag is read: a doorbell arriving after
            // the read stays pending in the GIC and ends the WFI.
            let latched = DOORBELL_LATCHED.swap(false, Ordering::Relaxed);
            if !latched {
                arch::wait_for_interrupt();
            }
            let mut rang = latched;
            loop {
                let id = arch::gic_ack();
                if id >= gic::SPECIAL_INTID {
                    break;
                }
                if id == self.board.doorbell_sgi {
                    selftest::count_sgi(&ctrl_shm());
                    rang = true;
                } else {
                    // The application's handler runs as the rest of its
                    // code does: the doorbell preempts it (the SPI's
                    // priority, now running, is below the doorbell's).
                    running(|| on_irq(id));
                }
                arch::gic_eoi(id);
            }
            rang
        });
        if self.ctrl.stop_requested() {
            self.stop();
        }
        rang |= DOORBELL_LATCHED.swap(false, Ordering::Relaxed);
        if let Some(seq) = self.ctrl.ping_pending() {
            self.ctrl.ack_ping(seq);
            ring_linux(&self.board);
        } else if rang {
            WOKEN_AT.store(arch::cntpct().max(1), Ordering::Relaxed);
        }
    }

    /// Waits at most `ms` milliseconds for Linux's doorbell and
    /// acknowledges it; returns whether it rang. Sleeps with `WFE` between
    /// ticks of the timer's event stream, so the wait is bounded without a
    /// timer interrupt. For the rare waits that must end (for instance:
    /// let Linux collect a reply before a deliberate fault); the idle loop
    /// uses [`Runtime::wait_for_doorbell`].
    pub fn wait_for_doorbell_timeout(&self, ms: u64) -> bool {
        let rd = RD_BASE.load(Ordering::Relaxed);
        let bit = 1u32 << self.board.doorbell_sgi;
        let end = arch::cntpct().saturating_add(ms.saturating_mul(self.ticks_per_ms));
        loop {
            // SAFETY: GICR_ISPENDR0 of this core's redistributor, found and
            // mapped at boot; reading it has no side effect. (The stop
            // interrupt may have taken the doorbell first: the latch.)
            if DOORBELL_LATCHED.load(Ordering::Relaxed)
                || unsafe { arch::mmio_read(rd + gic::GICR_ISPENDR0) } & bit != 0
            {
                self.wait_for_doorbell();
                return true;
            }
            if arch::cntpct() >= end {
                return false;
            }
            arch::wait_for_event();
        }
    }

    /// Whether Linux asked the core to stop.
    pub fn stop_requested(&self) -> bool {
        self.ctrl.stop_requested()
    }

    /// Acknowledges a stop and powers the core off through PSCI.
    pub fn stop(&self) -> ! {
        stop_now(&self.board, &self.ctrl)
    }

    /// Publishes the loaded resource table in the control page, so a
    /// later Linux can attach to this firmware without reloading it
    /// (`docs/kernel.md`, "Attach and detach"). Call it before serving.
    pub fn publish_resource_table(&self, addr: u64, len: usize) {
        self.ctrl
            .publish_resource_table(addr, u32::try_from(len).unwrap_or(u32::MAX));
    }

    /// Publishes the count of virtio re-initialisations by Linux.
    pub fn publish_virtio_resets(&self, n: u32) {
        self.ctrl.publish_virtio_resets(n);
    }

    /// Milliseconds since boot.
    pub fn uptime_ms(&self) -> u64 {
        (arch::cntpct() - self.start) / self.ticks_per_ms.max(1)
    }

    /// Makes the memory range `[start, end)` coherent with Linux's
    /// non-cacheable view (for data in the firmware image that Linux reads
    /// or writes, such as the resource table).
    ///
    /// # Panics
    /// If the range is not inside the image's data (`.resource_table`,
    /// `.data`, `.bss`).
    pub fn sync_shared(&self, start: u64, end: u64) {
        let data = arch::image().data;
        assert!(
            data.start <= start && start <= end && end <= data.end,
            "sync_shared outside the firmware's data"
        );
        // SAFETY: inside the image's data, which is mapped (checked above).
        unsafe { arch::clean_invalidate(start, end) };
    }
}

/// Runs `f` with interrupts masked and `ICC_PMR_EL1` = `pmr`: the
/// runtime's own polling of the GIC (the wait, the self-test's latency
/// run). Afterwards the firmware runs again as [`running`] describes.
pub(crate) fn polled<R>(pmr: u8, f: impl FnOnce() -> R) -> R {
    arch::irq_mask();
    arch::gic_set_pmr(pmr);
    let r = f();
    arch::gic_set_pmr(gic::RUN_PMR);
    arch::irq_unmask();
    r
}

/// Runs `f` as the firmware runs outside its polling: interrupts unmasked,
/// only the doorbell signalled ([`gic::RUN_PMR`]), so a stop request
/// reaches [`rtd_amp_rt_irq`] whatever `f` does. Then masks them again
/// (inside [`polled`]).
fn running<R>(f: impl FnOnce() -> R) -> R {
    arch::gic_set_pmr(gic::RUN_PMR);
    arch::irq_unmask();
    let r = f();
    arch::irq_mask();
    arch::gic_set_pmr(0xFF);
    r
}

/// A doorbell acknowledged outside the wait: a stop request is served at
/// once, anything else is left for the next wait. Ends the interrupt.
pub(crate) fn doorbell_outside_wait(id: u32) {
    selftest::count_sgi(&ctrl_shm());
    let ctrl = ctrl();
    if ctrl.stop_requested() {
        // End the interrupt first: the redistributor keeps its state
        // across CPU_OFF, and an SGI left active would never be
        // delivered to the next firmware (which also clears it at boot).
        arch::gic_eoi(id);
        stop_now(&BOARD, &ctrl);
    }
    DOORBELL_LATCHED.store(true, Ordering::Relaxed);
    arch::gic_eoi(id);
}

// # The stop interrupt
//
// PSCI cannot power another core off, so the stop handshake needs this
// core's cooperation; a main loop that checks the stop request would give
// none while the application's code spins. The doorbell therefore has the
// highest priority and stays unmasked while the firmware runs (arch.rs,
// "Invariants"): Linux writes the stop request and rings it, and the
// handler powers the core off from wherever it was. A firmware that masks
// interrupts itself and hangs is beyond this; the driver reports its core
// as stuck (docs/kernel.md, "The stop/crash contract").

/// The IRQ exception, from `__irq_entry` (arch.rs): only the doorbell is
/// signalled while interrupts are unmasked ([`gic::RUN_PMR`]).
#[no_mangle]
extern "C" fn rtd_amp_rt_irq() {
    let id = arch::gic_ack();
    if id >= gic::SPECIAL_INTID {
        return;
    }
    if id == BOARD.doorbell_sgi {
        doorbell_outside_wait(id);
    } else {
        // Nothing else is ever given a priority above RUN_PMR: end it, the
        // wait finds what it was about (a polled interrupt stays pending
        // until its source is served).
        arch::gic_eoi(id);
    }
}

/// How long the boot-time check of the stop interrupt waits for it.
const STOP_IRQ_CHECK_MS: u64 = 10;

/// Rings this core's own doorbell while running and waits (at most
/// [`STOP_IRQ_CHECK_MS`]) for the stop interrupt's handler to take it;
/// returns the microseconds it took (`freq`: the counter's ticks per
/// second). The proof, on each boot, that the
/// priority and mask settings let the doorbell through (on the board:
/// under BL31's GIC configuration, which only silicon shows;
/// docs/bring-up.md). The doorbell it leaves latched costs the first wait
/// nothing but a look at the rings.
fn stop_irq_check(board: &Board, freq: u64) -> Option<u64> {
    let ticks_per_ms = (freq / 1000).max(1);
    let t0 = arch::cntpct();
    let end = t0.saturating_add(STOP_IRQ_CHECK_MS * ticks_per_ms);
    arch::gic_send_sgi(gic::sgi1r_to_self(arch::mpidr(), board.doorbell_sgi));
    loop {
        let t = arch::cntpct();
        if DOORBELL_LATCHED.load(Ordering::Relaxed) {
            return Some((t - t0) * 1000 / ticks_per_ms);
        }
        if t >= end {
            return None;
        }
        core::hint::spin_loop();
    }
}

fn stop_now(board: &Board, ctrl: &ControlPage<'_>) -> ! {
    arch::irq_mask();
    ctrl.set_state(State::Stopping);
    log_line(b"stop requested: powering off");
    // Write back everything Linux might read later (trace, coredump): the
    // cacheable regions, one by one (the guard pages between them fault).
    for r in mmu::regions(board, &arch::image()) {
        if matches!(
            r.attr,
            mmu::Attr::Code | mmu::Attr::ReadOnly | mmu::Attr::Data
        ) {
            // SAFETY: a region the tables map (readable) for the whole run.
            unsafe { arch::clean_invalidate(r.base, r.base + r.size) };
        }
    }
    let r = arch::psci_cpu_off(board);
    let mut l = LineBuf::<64>::new();
    let _ = write!(l, "PSCI CPU_OFF failed: {r}");
    log_line(l.as_bytes());
    loop {
        arch::wait_for_interrupt();
    }
}

/// After a crash: keep answering the stop request, nothing else.
fn wait_for_stop(board: &Board, ctrl: &ControlPage<'_>) -> ! {
    loop {
        if ctrl.stop_requested() {
            stop_now(board, ctrl);
        }
        arch::wait_for_interrupt();
        if RD_BASE.load(Ordering::Relaxed) != 0 {
            loop {
                let id = arch::gic_ack();
                if id >= gic::SPECIAL_INTID {
                    break;
                }
                arch::gic_eoi(id);
            }
        }
    }
}

fn gic_init(board: &Board) -> Result<u64, &'static str> {
    let mapped = board.gicd & !0x1F_FFFF;
    let rd = gic::find_redistributor(
        board.gicr,
        mapped + board.gic_span,
        arch::mpidr(),
        16,
        // SAFETY: find_redistributor only asks for frames that lie inside
        // the mapped GIC span; GICR_TYPER is a read-only register.
        |rd| unsafe { arch::mmio_read64(rd + gic::GICR_TYPER) },
    )
    .ok_or("no GIC redistributor for this core")?;
    // SAFETY (every access below): registers of this core's own
    // redistributor, found above inside the mapped GIC span; the firmware
    // owns its redistributor (docs/firmware.md, "Doorbells").
    let waker = rd + gic::GICR_WAKER;
    unsafe { arch::mmio_write(waker, arch::mmio_read(waker) & !(1 << 1)) };
    let mut spins = 0u32;
    // SAFETY: as above.
    while unsafe { arch::mmio_read(waker) } & (1 << 2) != 0 {
        spins += 1;
        if spins > 1_000_000 {
            return Err("GIC redistributor did not wake up");
        }
    }
    let sgi = board.doorbell_sgi;
    // What a previous firmware on this core left behind survives its
    // CPU_OFF: the redistributor keeps its state, and the timer may still
    // be armed (seen in the twin: the template's 10 ms task left the
    // timer PPI enabled and firing, and the next firmware, which has no
    // task, spun in its interrupt loop and never saw the stop request).
    // Start clean: timer off, every SGI and PPI but the doorbell disabled,
    // none pending (the doorbell's may be Linux's), none active.
    arch::timer_off();
    // SAFETY: as above.
    unsafe {
        arch::mmio_write(rd + gic::GICR_ICENABLER0, !(1 << sgi));
        arch::mmio_write(rd + gic::GICR_ICPENDR0, !(1 << sgi));
        arch::mmio_write(rd + gic::GICR_ICACTIVER0, u32::MAX);
    }
    // SAFETY: as above.
    unsafe {
        arch::mmio_write(
            rd + gic::GICR_IGROUPR0,
            arch::mmio_read(rd + gic::GICR_IGROUPR0) | (1 << sgi),
        );
        arch::mmio_write8(
            rd + gic::GICR_IPRIORITYR + u64::from(sgi),
            gic::DOORBELL_PRIORITY,
        );
        arch::mmio_write(rd + gic::GICR_ISENABLER0, 1 << sgi);
    }
    arch::gic_cpu_init();
    arch::event_stream_on();
    RD_BASE.store(rd, Ordering::Relaxed);
    Ok(rd)
}

extern "Rust" {
    fn rtd_amp_main(rt: &'static mut Runtime) -> !;
}

static mut RUNTIME: Option<Runtime> = None;

/// Called by the boot code with the PSCI context id (the control page).
#[no_mangle]
extern "C" fn rtd_amp_rt_entry(ctrl_pa: u64, entry_el: u64) -> ! {
    let entry_cntpct = arch::cntpct();
    let board = BOARD;
    // SAFETY: single core, interrupts masked, called once: nothing else
    // touches TABLES, and they lie in the identity-mapped image.
    let tables = unsafe { &mut *core::ptr::addr_of_mut!(TABLES) };
    for r in mmu::regions(&board, &arch::image()) {
        if tables.map(&r).is_err() {
            loop {
                arch::wait_for_interrupt();
            }
        }
    }
    // SAFETY: the tables map the image (code, data, both stacks) identically.
    unsafe { arch::enable_mmu(mmu::MAIR, mmu::TCR, core::ptr::addr_of!(tables.l1) as u64) };

    let ctrl = ctrl();
    // The self-test stamp first (docs/bring-up.md, check "fw-entry"):
    // Linux takes the magic below as the sign of life, so the stamp is
    // complete by then.
    selftest::write_stamp(
        &ctrl_shm(),
        &selftest::Stamp {
            entry_el: entry_el as u32,
            sgi: board.doorbell_sgi,
            spi_intid: board.spi_intid(),
            cntfrq: arch::cntfrq(),
            entry_cntpct,
            window: board.window,
            mpidr: arch::mpidr(),
        },
    );
    ctrl.init();
    Trace::new(trace_shm(), &TRACE_POS).clear();
    let mut l = LineBuf::<160>::new();
    let _ = write!(
        l,
        "rtd-amp-rt {}: board {}, MPIDR {:#x}, entered at EL{}, ctrl {:#x}",
        env!("CARGO_PKG_VERSION"),
        board.name,
        arch::mpidr() & 0xFF_00FF_FFFF,
        entry_el,
        ctrl_pa,
    );
    log_line(l.as_bytes());
    if ctrl_pa != board.at(layout::CTRL) {
        log_line(b"warning: PSCI context id is not this board's control page");
    }
    if let Err(e) = gic_init(&board) {
        crash(CrashKind::Panic, None, e.as_bytes());
    }
    let freq = arch::cntfrq();
    let start = arch::cntpct();
    ctrl.publish_run_stamp(start, freq);
    // SAFETY: single core, set once before the application runs.
    let rt = unsafe {
        let slot = &mut *core::ptr::addr_of_mut!(RUNTIME);
        slot.insert(Runtime {
            board,
            ctrl,
            ticks_per_ms: freq / 1000,
            start,
        })
    };
    ctrl.set_state(State::Running);
    // From here the doorbell interrupts whatever runs ("The stop
    // interrupt").
    arch::gic_set_pmr(gic::RUN_PMR);
    arch::irq_unmask();
    let mut l = LineBuf::<160>::new();
    let _ = match stop_irq_check(&board, freq) {
        Some(us) => write!(
            l,
            "stop interrupt: ok, own doorbell taken {us} us after it rang"
        ),
        None => write!(
            l,
            "warning: stop interrupt not taken within {STOP_IRQ_CHECK_MS} ms: a hung application cannot be stopped"
        ),
    };
    log_line(l.as_bytes());
    // SAFETY: provided by the application (documented contract).
    unsafe { rtd_amp_main(rt) }
}

fn crash(kind: CrashKind, frame: Option<&[u64; 12]>, msg: &[u8]) -> ! {
    // From here only the polling below answers the doorbell (a panic does
    // not mask interrupts by itself, an exception does).
    arch::irq_mask();
    let board = BOARD;
    let ctrl = ctrl();
    let (esr, elr, far, spsr) = match kind {
        CrashKind::Panic => (0, 0, 0, 0),
        _ => (arch::esr(), arch::elr(), arch::far(), arch::spsr()),
    };
    let mut x = [0u64; 8];
    // The firmware's SP_EL0 (the handler itself runs on SP_EL1).
    let sp = arch::firmware_sp();
    // A few frames of context: the link register at the exception, then
    // the return addresses of the frame-record chain.
    let mut frames = [0u64; 6];
    let mut nframes = 0;
    let fp = if let Some(f) = frame {
        x.copy_from_slice(&f[..8]);
        frames[0] = f[9];
        nframes = 1;
        f[8]
    } else {
        arch::frame_pointer()
    };
    nframes += backtrace::walk(
        fp,
        arch::stack_range(),
        arch::stack_word,
        &mut frames[nframes..],
    );
    let rec = CrashRecord {
        kind,
        esr,
        elr,
        far,
        spsr,
        sp,
        x,
    };
    ctrl.record_crash(&rec, msg);
    let mut l = LineBuf::<200>::new();
    let _ = write!(
        l,
        "CRASH kind {} ESR {esr:#x} ELR {elr:#x} FAR {far:#x}: ",
        kind as u32
    );
    let _ = l.write_str(core::str::from_utf8(msg).unwrap_or("?"));
    log_line(l.as_bytes());
    let mut l = LineBuf::<200>::new();
    let _ = l.write_str(match frame {
        Some(_) => "CRASH lr + backtrace:",
        None => "CRASH backtrace:",
    });
    for a in &frames[..nframes] {
        let _ = write!(l, " {a:#x}");
    }
    log_line(l.as_bytes());
    ring_linux(&board);
    wait_for_stop(&board, &ctrl)
}

#[no_mangle]
extern "C" fn rtd_amp_rt_exception(kind: u64, frame: *const [u64; 12]) -> ! {
    let nested = kind & arch::NESTED != 0;
    if nested && NESTED.fetch_add(1, Ordering::Relaxed) > 0 {
        // The nested crash's own handler faulted: stop touching anything.
        loop {
            arch::wait_for_interrupt();
        }
    }
    let kind = match kind & 0xFF {
        1 => CrashKind::Sync,
        2 => CrashKind::Irq,
        3 => CrashKind::Fiq,
        _ => CrashKind::SError,
    };
    let (esr, elr, far) = (arch::esr(), arch::elr(), arch::far());
    let mut m = LineBuf::<128>::new();
    if nested {
        let _ = write!(m, "nested in the crash handler: ");
    }
    let guard = arch::image().stack_guard();
    if !nested && ctrl::is_stack_overflow(esr, far, &guard) {
        let _ = write!(
            m,
            "{kind:?}: stack overflow (guard page {:#x}) at ELR {elr:#x}, FAR {far:#x}, SP {:#x}",
            guard.start,
            arch::firmware_sp()
        );
    } else {
        let _ = write!(
            m,
            "{:?}: {} at ELR {:#x}, FAR {:#x}",
            kind,
            esr_class(esr),
            elr,
            far
        );
    }
    // SAFETY: the vector code passes its saved-register frame on the stack.
    let f = unsafe { frame.as_ref() };
    crash(kind, f, m.as_bytes())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut m = LineBuf::<128>::new();
    let _ = write!(m, "panic: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(m, " at {}:{}", loc.file(), loc.line());
    }
    crash(CrashKind::Panic, None, m.as_bytes())
}

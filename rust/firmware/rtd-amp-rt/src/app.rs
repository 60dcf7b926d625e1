//! The application framework: the runtime owns the main loop, the
//! application registers what it serves.
//!
//! An application (see `docs/firmware.md`, "The application API") builds
//! an [`App`]: RPMsg services (a name announced through the name service,
//! an address, a handler that sees each message in place), periodic tasks
//! and one-shot timers on the generic timer, the peripheral SPIs it owns
//! with a handler each, and a hook called on every wake-up. Then
//! [`Firmware::run`] runs the loop: answer a stop request, make the
//! resource table coherent, poll the rings (every message to its
//! service), run the tasks that are due, and sleep in `WFI` until a
//! doorbell, the timer or an owned interrupt. Handlers and tasks run in
//! that loop, one at a time, never in an exception handler: interrupts
//! stay masked (`DAIF.I`), the loop acknowledges them after `WFI`.
//!
//! Every application also gets the control service (`rtd-amp-ctrl`, 1026):
//! ping, version, statistics, the self-test commands and TASK, the
//! statistics of its tasks (`ampctl tasks`).

use core::sync::atomic::{AtomicU32, Ordering};

use amp_control::{SelftestInfo, Stats, CONTROL_ADDR, SERVICE_NAME};
use amp_proto::rpmsg::{Message, RpmsgDevice, RpmsgError, Sender};
use amp_proto::rsc::LiveVdev;

use crate::board::Conduit;
use crate::control::{Control, SelftestHw};
use crate::irq::{self, IrqError, MAX_IRQS};
use crate::sched::{Sched, SchedError};
use crate::table::{Table, RSC_LEN};
use crate::{arch, gic, Runtime};

/// Services one application can register (the control service aside).
pub const MAX_SERVICES: usize = 6;

/// A service's handler. Every closure
/// `|cx: &mut Cx, tx: &mut Sender<'_, '_>, msg: &Message<'_>| -> Result<(), RpmsgError>`
/// is one.
pub trait Service {
    /// Handles one message: `msg`'s payload is still in the shared buffer
    /// ([`Message::payload`] reads it in place, [`Message::copy_to`]
    /// copies it out); replies go through `tx`. An error other than a
    /// ring reset counts in STATS' `errors`.
    fn on_message(
        &mut self,
        cx: &mut Cx,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
    ) -> Result<(), RpmsgError>;
}

impl<F> Service for F
where
    F: FnMut(&mut Cx, &mut Sender<'_, '_>, &Message<'_>) -> Result<(), RpmsgError>,
{
    fn on_message(
        &mut self,
        cx: &mut Cx,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
    ) -> Result<(), RpmsgError> {
        self(cx, tx, msg)
    }
}

pub use crate::sched::Task;

/// A service's handler.
pub type ServiceFn<'a> = dyn Service + 'a;

/// A task's, an interrupt's or the wake-up hook's handler: every
/// `|cx: &mut Cx| { ... }` closure.
pub type TaskFn<'a> = dyn Task<Cx> + 'a;

/// What a handler can reach: the runtime, and what to do after the
/// current replies have reached Linux.
pub struct Cx {
    rt: &'static Runtime,
    after: Option<(fn(u32), u32)>,
}

impl Cx {
    /// The runtime (board, doorbells, shared regions, uptime).
    pub fn runtime(&self) -> &'static Runtime {
        self.rt
    }

    /// Milliseconds since boot.
    pub fn uptime_ms(&self) -> u64 {
        self.rt.uptime_ms()
    }

    /// Runs `f(arg)` once the replies sent so far have been collected by
    /// Linux (at most 100 ms later): for an action that must not cut off
    /// its own acknowledgement, such as a deliberate fault.
    pub fn after_delivery(&mut self, f: fn(u32), arg: u32) {
        self.after = Some((f, arg));
    }

    /// Raises SPI `intid` (sets it pending in the distributor), for
    /// checking an interrupt path from software. Only an SPI this
    /// application owns: registered with [`App::irq`] (else nothing).
    pub fn raise_irq(&self, intid: u32) {
        // OWNED is written before the loop starts, read only after.
        let owned = OWNED.iter().any(|o| o.load(Ordering::Relaxed) == intid);
        if owned {
            irq::raise(self.rt.board().gicd, intid);
        }
    }
}

/// The SPIs the application owns (0: none), for [`Cx::raise_irq`].
static OWNED: [AtomicU32; MAX_IRQS] = [const { AtomicU32::new(0) }; MAX_IRQS];

struct Svc<'a> {
    name: &'static str,
    addr: u32,
    handler: &'a mut ServiceFn<'a>,
}

/// An application: what it serves, its tasks and its interrupts.
pub struct App<'a> {
    firmware: &'static str,
    services: [Option<Svc<'a>>; MAX_SERVICES],
    sched: Sched<'a, Cx>,
    irqs: [Option<(u32, &'a mut TaskFn<'a>)>; MAX_IRQS],
    on_wake: Option<&'a mut TaskFn<'a>>,
}

impl<'a> App<'a> {
    /// An application named `firmware` (VERSION's text, at most 31
    /// bytes), nothing registered.
    pub fn new(firmware: &'static str) -> Self {
        App {
            firmware,
            services: [const { None }; MAX_SERVICES],
            sched: Sched::new(arch::cntfrq()),
            irqs: [const { None }; MAX_IRQS],
            on_wake: None,
        }
    }

    /// Registers an RPMsg service: `name` is announced through the name
    /// service (at most 31 bytes; Linux binds a driver by it, e.g.
    /// `rpmsg-raw` gets `/dev/rpmsgN`), `addr` is its local address
    /// (1024.., not the control service's 1026). Messages to `addr` go to
    /// `handler`, which replies with `tx` (to `msg.src`, from `addr`).
    ///
    /// # Panics
    /// When the table is full or the address is taken or reserved: a
    /// programming error, reported as a panic in the crash record.
    pub fn service(&mut self, name: &'static str, addr: u32, handler: &'a mut ServiceFn<'a>) {
        let free = addr >= 1024
            && addr != CONTROL_ADDR
            && self.services.iter().flatten().all(|s| s.addr != addr);
        let slot = self.services.iter_mut().find(|s| s.is_none());
        let (true, Some(slot)) = (free, slot) else {
            panic!("service {name} at {addr}: address reserved or taken, or {MAX_SERVICES} services already")
        };
        *slot = Some(Svc {
            name,
            addr,
            handler,
        });
    }

    /// Registers a task run every `period_us` microseconds on the generic
    /// timer (the first run one period after the loop starts); its
    /// statistics (runs, lateness, overruns) are TASK's answer.
    ///
    /// # Panics
    /// When [`crate::sched::MAX_TASKS`] are registered or the period is 0.
    pub fn periodic(&mut self, name: &'static str, period_us: u32, task: &'a mut TaskFn<'a>) {
        if let Err(e) = self.sched.periodic(name, period_us, task) {
            sched_panic(name, e)
        }
    }

    /// Registers a one-shot timer, run once `delay_us` after the loop
    /// starts (listed by TASK with period 0).
    ///
    /// # Panics
    /// When [`crate::sched::MAX_TASKS`] are registered.
    pub fn timer(&mut self, name: &'static str, delay_us: u64, task: &'a mut TaskFn<'a>) {
        if let Err(e) = self.sched.timer(name, delay_us, task) {
            sched_panic(name, e)
        }
    }

    /// Hands SPI `intid` to the firmware: the loop routes it to this core
    /// (`GICD_IROUTER`), enables it, and calls `handler` for each one
    /// before its end of interrupt (a level-sensitive source must be
    /// quieted there). The device tree must give the SPI to the firmware
    /// (docs/firmware.md, "Peripheral interrupts").
    ///
    /// # Panics
    /// For an SGI/PPI, the board's doorbell SPI, an SPI registered twice,
    /// or more than [`MAX_IRQS`].
    pub fn irq(&mut self, intid: u32, handler: &'a mut TaskFn<'a>) {
        let r = irq::check(intid, crate::board::BOARD.spi_intid()).and_then(|()| {
            if self.irqs.iter().flatten().any(|(i, _)| *i == intid) {
                return Err(IrqError::Twice);
            }
            self.irqs
                .iter_mut()
                .find(|s| s.is_none())
                .ok_or(IrqError::Full)
        });
        match r {
            Ok(slot) => *slot = Some((intid, handler)),
            Err(e) => panic!("irq {intid}: {e:?}"),
        }
    }

    /// Registers a hook called on every wake-up of the loop (after the
    /// rings are polled): for work that has no doorbell of its own, such
    /// as rings of another protocol in shared memory.
    pub fn on_wake(&mut self, hook: &'a mut TaskFn<'a>) {
        self.on_wake = Some(hook);
    }
}

fn sched_panic(name: &str, e: SchedError) -> ! {
    panic!("task {name}: {e:?}")
}

/// Appends a formatted line to the trace ([`crate::log!`]).
pub fn log_fmt(args: core::fmt::Arguments<'_>) {
    let mut l = crate::LineBuf::<160>::new();
    let _ = core::fmt::Write::write_fmt(&mut l, args);
    crate::runtime::log_line(l.as_bytes());
}

/// The self-test commands' hardware: this core, through the runtime.
impl SelftestHw for Runtime {
    fn info(&self) -> SelftestInfo {
        let s = self.stamp();
        let (sgis, spis) = self.doorbell_counts();
        SelftestInfo {
            entry_el: s.entry_el,
            doorbell_sgi: s.sgi,
            doorbell_spi: s.spi_intid,
            psci_conduit: match self.board().conduit {
                Conduit::Smc => amp_control::CONDUIT_SMC,
                Conduit::Hvc => amp_control::CONDUIT_HVC,
            },
            cntfrq: s.cntfrq,
            entry_cntpct: s.entry_cntpct,
            now_cntpct: self.cntpct(),
            window: s.window,
            sgis_received: sgis,
            spis_raised: spis,
        }
    }
    fn cntfrq(&self) -> u64 {
        arch::cntfrq()
    }
    fn timer_latency(&self, period: u64, out: &mut [u64]) -> u32 {
        Runtime::timer_latency(self, period, out)
    }
}

/// Recurses with 512-byte frames until the stack runs into its guard
/// page (about 130 calls for the 64 KiB stack): the data abort there is
/// reported as a stack overflow. `black_box` keeps the frames real and
/// the recursion from becoming a loop.
#[cfg(feature = "fault-injection")]
#[inline(never)]
fn overflow_stack(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    frame[0] = depth as u8;
    let frame = core::hint::black_box(frame);
    if core::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    overflow_stack(depth + 1) + u64::from(frame[0])
}

/// A deliberate fault (FAULT; only in builds with `fault-injection`).
#[cfg(feature = "fault-injection")]
fn fault(kind: u32) {
    use amp_control::FaultKind;
    match FaultKind::from_u32(kind) {
        Some(FaultKind::DataAbort) => arch::data_abort(),
        Some(FaultKind::Panic) => panic!("deliberate panic (control protocol)"),
        Some(FaultKind::Undefined) => arch::undefined(),
        Some(FaultKind::StackOverflow) => {
            overflow_stack(0);
        }
        Some(FaultKind::Hang) => loop {
            core::hint::spin_loop();
        },
        Some(FaultKind::HangMasked) => arch::hang_masked(),
        None => {}
    }
}

/// The booted firmware, handed to the application's main by
/// [`crate::entry!`].
pub struct Firmware {
    rt: &'static Runtime,
    table: &'static Table,
}

impl Firmware {
    /// Used by [`crate::entry!`].
    #[doc(hidden)]
    pub fn new(rt: &'static mut Runtime, table: &'static Table) -> Self {
        Firmware { rt, table }
    }

    /// The runtime.
    pub fn runtime(&self) -> &'static Runtime {
        self.rt
    }

    /// Runs the application: announces its services and the control
    /// service, routes its interrupts, starts its tasks, and serves until
    /// Linux stops the core.
    pub fn run(self, mut app: App<'_>) -> ! {
        let rt = self.rt;
        let shm = self.table.shm();
        let table_start = shm.addr() as u64;
        let table_end = table_start + RSC_LEN as u64;
        rt.sync_shared(table_start, table_end);
        rt.publish_resource_table(table_start, RSC_LEN);
        let Some(vdev) = LiveVdev::find(shm, 0) else {
            panic!("no vdev in the resource table");
        };
        let mut dev = RpmsgDevice::<'_, { MAX_SERVICES + 1 }>::new(vdev, rt.shared());
        let names = app.services.iter().flatten().map(|s| (s.name, s.addr));
        for (name, addr) in names.chain([(SERVICE_NAME, CONTROL_ADDR)]) {
            if let Err(e) = dev.create_endpoint(name, Some(addr)) {
                panic!("endpoint {name} at {addr}: {e}");
            }
        }
        let gicd = rt.board().gicd;
        for (i, (intid, _)) in app.irqs.iter().flatten().enumerate() {
            OWNED[i].store(*intid, Ordering::Relaxed);
            irq::route_to_self(gicd, *intid);
        }
        let timed = !app.sched.is_empty();
        app.sched.start(arch::cntpct());
        let mut cx = Cx { rt, after: None };
        let (mut messages, mut bytes, mut errors) = (0u64, 0u64, 0u64);
        let mut was_ready = false;
        loop {
            if rt.stop_requested() {
                rt.stop();
            }
            // Linux writes the vdev status and vring addresses through an
            // uncached mapping: drop our cached copy before reading.
            rt.sync_shared(table_start, table_end);
            let uptime_ms = rt.uptime_ms();
            let stats = dev.stats();
            let mut fault_kind = None;
            let App {
                firmware,
                services,
                sched,
                irqs,
                on_wake,
            } = &mut app;
            let r = dev.poll(&mut |v| rt.notify(v), |tx, m| {
                messages += 1;
                bytes += m.len() as u64;
                let r = if m.dst == CONTROL_ADDR {
                    let view = Control {
                        firmware: *firmware,
                        stats: Stats {
                            messages,
                            bytes,
                            errors: errors + stats.errors,
                            uptime_ms,
                        },
                        faults: cfg!(feature = "fault-injection"),
                        hw: Some(rt),
                        tasks: Some(&*sched),
                    };
                    let (r, f) = view.reply(tx, m);
                    fault_kind = f;
                    r
                } else if let Some(s) = services.iter_mut().flatten().find(|s| s.addr == m.dst) {
                    s.handler.on_message(&mut cx, tx, m)
                } else {
                    Ok(())
                };
                // A reply that found the rings re-initialised is Linux
                // resetting the device, which counts it in its resets.
                if r.is_err_and(|e| !e.is_reset()) {
                    errors += 1;
                }
            });
            if let Err(e) = r {
                crate::log!("rpmsg: {e}");
            }
            if let Some(hook) = on_wake {
                hook.run(&mut cx);
            }
            if dev.is_ready() != was_ready {
                was_ready = dev.is_ready();
                rt.publish_virtio_resets(dev.stats().resets as u32);
                crate::log!(
                    "virtio {}",
                    if was_ready {
                        "DRIVER_OK: rings attached"
                    } else {
                        "reset by Linux"
                    }
                );
            }
            #[cfg(feature = "fault-injection")]
            if let Some(kind) = fault_kind {
                crate::log!("control: deliberate fault {kind:?}");
                cx.after_delivery(fault, kind.to_u32());
            }
            // Never set without fault-injection (serve asks for a fault
            // only when faults are enabled).
            #[cfg(not(feature = "fault-injection"))]
            let _ = fault_kind;
            if let Some((f, arg)) = cx.after.take() {
                // The replies are in vring0; Linux kicks vring0 when it
                // has delivered them (re-posting the buffers). That kick
                // is normally off (VRING_USED_F_NO_NOTIFY, amp-proto's
                // RpmsgDevice): ask for it first, then never wait long.
                let _ = dev.want_buffer_kick();
                let collected = rt.wait_for_doorbell_timeout(100);
                if !collected {
                    crate::log!("replies not collected in 100 ms");
                }
                f(arg);
            }
            sched.run_due(&mut arch::cntpct, &mut cx);
            // After a reset, start over at once (the loop re-reads the
            // table): Linux kicks once after DRIVER_OK, and that kick may
            // be the one that showed the re-initialised rings.
            if dev.stats().resets != stats.resets {
                continue;
            }
            if timed {
                match sched.next_deadline() {
                    Some(t) if t <= arch::cntpct() => continue,
                    Some(t) => arm_timer(t),
                    None => arch::timer_off(),
                }
            }
            rt.wait_dispatch(&mut |id| {
                if id == gic::TIMER_PPI {
                    // Level-sensitive: quiet it before the end of
                    // interrupt; the loop re-arms it for the next deadline.
                    arch::timer_off();
                } else if let Some((_, h)) = irqs.iter_mut().flatten().find(|(i, _)| *i == id) {
                    h.run(&mut cx);
                }
            });
        }
    }
}

/// Arms the EL1 physical timer for `cval` and enables its PPI on this
/// core's redistributor (again each time: the self-test's latency run
/// disables both when it ends).
fn arm_timer(cval: u64) {
    let rd = crate::runtime::rd_base();
    let bit = 1u32 << gic::TIMER_PPI;
    // SAFETY: registers of this core's own redistributor (found and
    // mapped at boot), the timer PPI's group, priority and enable bits.
    unsafe {
        let g = rd + gic::GICR_IGROUPR0;
        arch::mmio_write(g, arch::mmio_read(g) | bit);
        arch::mmio_write8(
            rd + gic::GICR_IPRIORITYR + u64::from(gic::TIMER_PPI),
            gic::POLLED_PRIORITY,
        );
        arch::mmio_write(rd + gic::GICR_ISENABLER0, bit);
    }
    arch::timer_arm(cval);
}

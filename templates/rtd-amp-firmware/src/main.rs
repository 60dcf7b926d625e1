//! Your first firmware on the rtd-amp runtime: a periodic task that counts
//! its runs, and a service that answers every message with that count.
//! The runtime owns the main loop (stop requests, the resource table,
//! RPMsg, idle in WFI) and adds its control service (`rtd-amp-ctrl`), whose
//! task statistics `ampctl tasks` shows.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use core::cell::Cell;
    use core::fmt::Write;

    use rtd_amp_rt::app::{App, Cx, Firmware};
    use rtd_amp_rt::rpmsg::{Message, RpmsgError, Sender};
    use rtd_amp_rt::LineBuf;

    // The resource table and the entry point the runtime calls.
    rtd_amp_rt::entry!(main);

    /// The service's channel name (announced through the name service) and
    /// its RPMsg address.
    const SERVICE: &str = "tick-count";
    const SERVICE_ADDR: u32 = 1040;
    /// The task's period in microseconds.
    const PERIOD_US: u32 = 10_000;
    /// What the control service's VERSION answers (`ampctl version`).
    const VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

    fn main(fw: Firmware) -> ! {
        // Shared by the task (writes) and the service (reads): both run
        // from the runtime's loop, one at a time, so a Cell is enough.
        let ticks = Cell::new(0u64);

        let mut tick = |_cx: &mut Cx| ticks.set(ticks.get() + 1);

        let mut count =
            |_cx: &mut Cx, tx: &mut Sender<'_, '_>, m: &Message<'_>| -> Result<(), RpmsgError> {
                let mut reply = LineBuf::<32>::new();
                let _ = write!(reply, "ticks {}", ticks.get());
                // Back to whoever asked.
                tx.try_send(m.dst, m.src, reply.as_bytes())
            };

        let mut app = App::new(VERSION);
        app.service(SERVICE, SERVICE_ADDR, &mut count);
        app.periodic("tick", PERIOD_US, &mut tick);
        rtd_amp_rt::log!("{}: up", env!("CARGO_PKG_NAME"));
        fw.run(app)
    }
}

// Host builds (cargo test, clippy on the build machine) have nothing to run.
#[cfg(not(target_os = "none"))]
fn main() {}

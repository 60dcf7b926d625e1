//! The second example application of the runtime's API: a 1 ms control
//! task (a low-pass filter), a one-second report task, a one-shot timer,
//! a peripheral interrupt and a service, in one `main`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use rtd_amp_example::{answer, LowPass, ADDR, EXAMPLE_INTID, NAME, PERIOD_US};
    use rtd_amp_rt::app::{App, Cx, Firmware};
    use rtd_amp_rt::rpmsg::{Message, Sender};

    rtd_amp_rt::entry!(main);

    fn main(fw: Firmware) -> ! {
        // The tasks and handlers share these through cells: the loop
        // calls one handler at a time.
        let filter_c = core::cell::RefCell::new(LowPass::default());
        let out_c = core::cell::Cell::new(0i32);
        let irqs_c = core::cell::Cell::new(0u64);

        let mut control = |_: &mut Cx| {
            // A square wave of period 200 steps as the set point.
            let mut f = filter_c.borrow_mut();
            let x = if (f.steps / 100) % 2 == 0 {
                1000
            } else {
                -1000
            };
            out_c.set(f.step(x));
        };
        let mut report = |cx: &mut Cx| {
            rtd_amp_rt::log!(
                "example: {} steps, out {}, {} irqs, up {} ms",
                filter_c.borrow().steps,
                out_c.get(),
                irqs_c.get(),
                cx.uptime_ms()
            );
        };
        let mut hello = |_: &mut Cx| rtd_amp_rt::log!("example: one-shot timer fired");
        let mut on_irq = |_: &mut Cx| irqs_c.set(irqs_c.get() + 1);
        let mut service = |cx: &mut Cx, tx: &mut Sender<'_, '_>, m: &Message<'_>| {
            let mut req = [0u8; 16];
            let n = m.copy_to(&mut req);
            let steps = filter_c.borrow().steps;
            let (reply, raise) = answer(&req[..n], steps, irqs_c.get(), out_c.get());
            if raise {
                cx.raise_irq(EXAMPLE_INTID);
            }
            tx.try_send(m.dst, m.src, reply.as_bytes())
        };

        let mut app = App::new(concat!("rtd-amp-example ", env!("CARGO_PKG_VERSION")));
        app.service(NAME, ADDR, &mut service);
        app.periodic("control", PERIOD_US, &mut control);
        app.periodic("report", 1_000_000, &mut report);
        app.timer("hello", 50_000, &mut hello);
        app.irq(EXAMPLE_INTID, &mut on_irq);
        rtd_amp_rt::log!("example: serving {NAME}@{ADDR}, control task every {PERIOD_US} us");
        fw.run(app)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("rtd-amp-example is bare-metal firmware: build it with scripts/build-firmware BOARD production rtd-amp-example");
    std::process::exit(2);
}

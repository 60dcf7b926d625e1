//! The rtd-amp firmware image for CPU3: an application of the runtime
//! (`rtd_amp_rt::app`) with the library's services, the bulk echo on every
//! wake-up, and the runtime's control service.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use amp_control::{ECHO_ADDR, TTY_ADDR};
    use rtd_amp_fw::bulk::BulkEcho;
    use rtd_amp_fw::{echo, Tty, FIRMWARE};
    use rtd_amp_rt::app::{App, Cx, Firmware};
    use rtd_amp_rt::rpmsg::{Message, Sender};

    rtd_amp_rt::entry!(main);

    fn main(fw: Firmware) -> ! {
        let mut echo = |_: &mut Cx, tx: &mut Sender<'_, '_>, m: &Message<'_>| echo(tx, m);
        let mut tty_state = Tty::new();
        let mut tty =
            |_: &mut Cx, tx: &mut Sender<'_, '_>, m: &Message<'_>| tty_state.input(tx, m.src, m);
        let mut bulk = BulkEcho::new(fw.runtime().bulk_region());
        let mut bulk_poll = |cx: &mut Cx| {
            // The bulk rings on every wake-up: the doorbells carry no data.
            let (ring, err) = bulk.poll();
            if let Some(e) = err {
                rtd_amp_rt::log!("bulk: {e}: rings initialized again");
            }
            if ring {
                cx.runtime().notify(0);
            }
        };
        let mut app = App::new(FIRMWARE);
        app.service("rpmsg-raw", ECHO_ADDR, &mut echo);
        app.service("rpmsg-tty", TTY_ADDR, &mut tty);
        app.on_wake(&mut bulk_poll);
        rtd_amp_rt::log!(
            "{FIRMWARE}: serving rpmsg-raw@1024 rpmsg-tty@1025 rtd-amp-ctrl@1026, bulk echo"
        );
        fw.run(app)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("rtd-amp-fw is bare-metal firmware: build it with scripts/build-firmware BOARD");
    std::process::exit(2);
}

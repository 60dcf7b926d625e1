//! Exercises the library against the real kernel (run on a target or in the
//! QEMU twin with the firmware installed): starts `rtd-amp` if needed, echoes
//! over the announced `rpmsg-raw` channel, creates an endpoint to the control
//! service through `/dev/rpmsg_ctrlN`, checks the kernel's errnos (EBUSY on a
//! second open, refusing to destroy an announced endpoint, flow control),
//! destroys its endpoint and reads the trace. Prints one line per step,
//! exits 1 on the first failure.
//!
//! `cargo run --example smoke` (or the static aarch64 build of it).

use std::time::Duration;

use amp_host::remoteproc::{Remoteproc, State};
use amp_host::rpmsg::{self, Ctrl, Endpoint, ADDR_ANY};
use amp_host::Sys;

const T: Duration = Duration::from_secs(5);

fn step(what: &str, r: amp_host::Result<String>) -> String {
    match r {
        Ok(s) => {
            println!("ok   {what}: {s}");
            s
        }
        Err(e) => {
            println!("FAIL {what}: {e}");
            std::process::exit(1);
        }
    }
}

fn expect_errno(what: &str, r: amp_host::Result<()>, errnos: &[i32]) {
    match r {
        Err(e) if e.raw_os_error().is_some_and(|n| errnos.contains(&n)) => {
            println!("ok   {what}: {e}")
        }
        Err(e) => {
            println!("FAIL {what}: unexpected error {e}");
            std::process::exit(1);
        }
        Ok(()) => {
            println!("FAIL {what}: succeeded, expected errno {errnos:?}");
            std::process::exit(1);
        }
    }
}

fn main() {
    let sys = Sys::from_env();
    let r = Remoteproc::find(&sys, "rtd-amp")
        .or_else(|_| Remoteproc::find(&sys, "0"))
        .unwrap_or_else(|e| {
            println!("FAIL find: {e}");
            std::process::exit(1)
        });
    step(
        "remoteproc",
        Ok(format!(
            "{} firmware {}",
            r.device(),
            r.firmware().unwrap_or_default()
        )),
    );
    if !r.state().is_ok_and(|s| s.is_up()) {
        step(
            "start",
            r.start()
                .and_then(|_| r.wait_for(State::Running, T))
                .map(|_| "running".into()),
        );
    }
    // The channels appear shortly after the start.
    let raw = step(
        "rpmsg-raw endpoint",
        (|| {
            let end = std::time::Instant::now() + T;
            loop {
                match rpmsg::find_endpoint(&sys, "rpmsg-raw", None) {
                    Ok(p) if p.exists() => return Ok(p.display().to_string()),
                    Err(e) if std::time::Instant::now() >= end => return Err(e),
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        })(),
    );
    for ch in rpmsg::channels(&sys).unwrap_or_default() {
        println!(
            "     channel {} dst {} nodes {:?}",
            ch.name,
            ch.dst,
            ch.dev_nodes(&sys)
        );
    }
    let mut ep = Endpoint::open(raw.as_ref()).unwrap();
    step(
        "echo",
        (|| {
            ep.send(b"amp-host smoke")?;
            let mut buf = [0u8; rpmsg::MAX_PAYLOAD];
            let n = ep.recv(&mut buf, Some(T))?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        })(),
    );
    expect_errno(
        "second open is refused",
        Endpoint::open(raw.as_ref()).map(|_| ()),
        &[nix::libc::EBUSY],
    );
    expect_errno(
        "message over 496 bytes",
        ep.send(&[0; 497]),
        &[nix::libc::EMSGSIZE],
    );
    expect_errno(
        "flow control on virtio-rpmsg",
        ep.outgoing_flow_paused().map(|_| ()),
        &[nix::libc::EINVAL, nix::libc::ENOTTY, nix::libc::EOPNOTSUPP],
    );
    expect_errno(
        "destroying an announced endpoint",
        ep.destroy(),
        &[nix::libc::EINVAL],
    );
    let idx = *rpmsg::ctrl_indices(&sys).first().unwrap_or(&0);
    let ctrl = Ctrl::open(&sys, idx).unwrap_or_else(|e| {
        println!("FAIL open ctrl: {e}");
        std::process::exit(1)
    });
    let dev = step(
        "create endpoint to 1026",
        ctrl.create_endpoint("amp-host-smoke", ADDR_ANY, 1026, T)
            .map(|p| p.display().to_string()),
    );
    let mut mine = Endpoint::open(dev.as_ref()).unwrap();
    step(
        "control service answers",
        (|| {
            mine.send(&[0])?;
            let mut buf = [0u8; rpmsg::MAX_PAYLOAD];
            let n = mine.recv(&mut buf, Some(T))?;
            Ok(format!("{n}-byte reply"))
        })(),
    );
    step(
        "destroy own endpoint",
        mine.destroy().map(|_| "gone".into()),
    );
    let trace = r
        .trace(0)
        .map(|t| String::from_utf8_lossy(&t).lines().count().to_string());
    step("trace lines", trace);
    println!("smoke: all steps passed");
}

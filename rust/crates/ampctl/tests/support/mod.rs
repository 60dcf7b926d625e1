//! An in-process rtd-ampd over the sysfs test double, shared by the
//! ampctl tests that go through the daemon (cli.rs, attach.rs, stuck.rs),
//! and how those tests run ampctl. Not every test uses every item.
#![allow(dead_code)]

use crate::common::{self, FakeKernel};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Starts rtd-ampd (no autostart, no firmware check, 5 ms polls) on
/// `k`'s root; returns its socket and the call that shuts it down.
pub fn daemon(k: &FakeKernel) -> (PathBuf, impl FnOnce()) {
    let socket = k.root().join("run/rtd-ampd.sock");
    let cfg = rtd_ampd::config::Config::parse(
        &format!(
            "[daemon]\nsocket = \"{}\"\npoll_interval_ms = 5\n[[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"fw.elf\"\ncheck_firmware = false\nautostart = false\n",
            socket.display()
        ),
        Path::new("t.toml"),
    )
    .unwrap();
    let (tx, handle) = rtd_ampd::spawn(
        cfg,
        rtd_ampd::hw::Hw::under(k.root()),
        Box::new(rtd_ampd::supervisor::NoNotify),
    )
    .unwrap();
    common::wait_for("the socket", || socket.exists().then_some(()));
    (socket, move || {
        tx.send(rtd_ampd::supervisor::Msg::Shutdown).unwrap();
        handle.join().unwrap();
    })
}

/// Runs the ampctl binary on the double under `root`, its daemon socket at
/// `socket`.
pub fn ampctl(root: &Path, socket: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ampctl"))
        .args(args)
        .env("RTD_AMP_ROOT", root)
        .env("RTD_AMPD_SOCKET", socket)
        .output()
        .unwrap()
}

/// A run's standard output.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run's standard error.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

//! A core that does not power off after a stop (rtd_amp_rproc's
//! `device/core_state` reads `stuck`), against the sysfs test double:
//! `ampctl status` shows it and every command that would start or stop it
//! fails (exit 1) with "reboot needed", directly and through rtd-ampd.

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;
mod support;

use common::FakeKernel;
use std::process::Output;
use std::sync::atomic::Ordering;
use support::{ampctl, daemon, err, out};

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Exit 1, "reboot needed" on stderr.
fn assert_reboot_needed(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(1), "{what}: {o:?}");
    assert!(err(o).contains("reboot needed"), "{what}: {}", err(o));
}

#[test]
fn direct_commands_on_a_stuck_core_say_reboot_needed() {
    let k = FakeKernel::new();
    let none = k.root().join("run/none.sock");
    let run = |args: &[&str]| ampctl(k.root(), &none, args);

    // A driver without the attribute: status as it always was.
    let o = run(&["status"]);
    assert!(o.status.success() && !out(&o).contains("core:"), "{o:?}");
    assert!(json(&run(&["status", "--json"]))["core_state"].is_null());

    k.set_core_state("off");
    assert!(run(&["start", "--no-check"]).status.success());
    assert!(out(&run(&["status"])).contains("\ncore:      on\n"));

    // The firmware ignores the stop: the kernel says offline, not ampctl.
    k.stop_hangs.store(true, Ordering::SeqCst);
    assert_reboot_needed(&run(&["stop"]), "stop");
    assert_eq!(
        (k.state(), k.core_state()),
        ("offline".into(), "stuck".into())
    );
    let o = run(&["status"]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        out(&o).contains("core:      stuck (") && out(&o).contains("reboot needed"),
        "{}",
        out(&o)
    );
    assert_eq!(json(&run(&["status", "--json"]))["core_state"], "stuck");

    // Nothing starts it: not even the firmware check runs (there is no
    // file: its error would hide the reason).
    let starts = k.starts.load(Ordering::SeqCst);
    for args in [
        &["start"][..],
        &["start", "--no-check"],
        &["restart", "--direct"],
        &["stop", "--direct"],
        &["attach", "--direct"],
    ] {
        assert_reboot_needed(&run(args), &args.join(" "));
    }
    assert_eq!(
        k.starts.load(Ordering::SeqCst),
        starts,
        "a start was written"
    );
}

#[test]
fn through_the_daemon_a_stuck_core_fails_and_says_reboot_needed() {
    let k = FakeKernel::new();
    k.set_core_state("off");
    let (socket, shutdown) = daemon(&k);
    let run = |args: &[&str]| ampctl(k.root(), &socket, args);
    assert!(run(&["start"]).status.success());
    common::wait_for("running", || (k.state() == "running").then_some(()));

    k.stop_hangs.store(true, Ordering::SeqCst);
    let o = run(&["stop"]);
    assert_reboot_needed(&o, "stop");
    assert!(
        err(&o).contains("rtd-ampd: could not stop rtd-amp"),
        "{o:?}"
    );
    for args in [&["start"][..], &["restart"], &["attach"]] {
        assert_reboot_needed(&run(args), &args.join(" "));
    }
    assert_eq!(k.starts.load(Ordering::SeqCst), 1, "a start was written");

    let o = run(&["status"]);
    let text = out(&o);
    assert!(text.contains("daemon:    failed"), "{text}");
    assert!(
        text.contains("last error: ") && text.contains("reboot needed"),
        "{text}"
    );
    assert!(text.contains(" stuck "), "no stuck event:\n{text}");
    // Failed for good: the stop was not taken for a crash to restart from.
    assert!(!text.contains("restart-scheduled"), "{text}");
    let v = json(&run(&["status", "--json"]));
    assert_eq!(v["daemon"]["phase"], "failed");
    assert_eq!(v["daemon"]["core_state"], "stuck");
    shutdown();
}

//! `ampctl attach` and `ampctl detach` against the sysfs test double:
//! directly (through amp_host::lifecycle) and through an in-process
//! rtd-ampd, for every state the kernel reports.

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;
mod support;

use common::FakeKernel;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::{ampctl, daemon, err, out};

#[test]
fn help_lists_attach_and_detach() {
    let o = ampctl(Path::new("/nonexistent"), Path::new("/none"), &["--help"]);
    assert!(o.status.success());
    for c in ["attach", "detach"] {
        assert!(out(&o).contains(&format!("\n  {c} ")), "{}", out(&o));
    }
}

#[test]
fn direct_attach_and_detach_in_every_state() {
    let k = FakeKernel::new();
    let none = k.root().join("run/none.sock");
    let run = |args: &[&str]| ampctl(k.root(), &none, args);

    // Attached (Linux attached to a running firmware): detach leaves it
    // running without Linux; again: nothing to do.
    k.put("attached");
    let o = run(&["detach"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: detached (detached)");
    assert_eq!(k.state(), "detached");
    let o = run(&["detach", "rtd-amp"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: detached (already detached)");

    // Detached: attach, without a load (the double counts a load as a
    // start from offline).
    let loads = k.starts.load(Ordering::SeqCst);
    let o = run(&["attach", "remoteproc0"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: attached (attached)");
    assert_eq!(k.state(), "attached");
    assert_eq!(k.starts.load(Ordering::SeqCst), loads, "attach loaded");
    let o = run(&["attach"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: attached (already up)");

    // Running (Linux booted it): the kernel would refuse; said why, state kept.
    k.put("running");
    let o = run(&["detach"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        err(&o).contains("detach needs the remote processor attached, it is running")
            && err(&o).contains("Linux booted this firmware itself"),
        "{o:?}"
    );
    assert_eq!(k.state(), "running");
    let o = run(&["attach"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: running (already up)");

    // Offline and crashed: nothing runs to attach to or detach from.
    for st in ["offline", "crashed"] {
        k.put(st);
        for cmd in ["attach", "detach"] {
            let o = run(&[cmd]);
            assert_eq!(o.status.code(), Some(1), "{cmd} from {st}: {o:?}");
            assert!(
                err(&o).contains(&format!("{cmd} needs the remote processor"))
                    && err(&o).contains(&format!("it is {st}")),
                "{cmd} from {st}: {o:?}"
            );
            assert_eq!(k.state(), st, "{cmd} changed {st}");
        }
    }
}

fn daemon_phase(k: &FakeKernel, socket: &Path) -> String {
    let o = ampctl(k.root(), socket, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["daemon"]["phase"].as_str().unwrap_or("none").to_owned()
}

#[test]
fn attach_and_detach_go_through_a_running_daemon() {
    let k = FakeKernel::new();
    k.put("attached");
    let (socket, shutdown) = daemon(&k);
    let run = |args: &[&str]| ampctl(k.root(), &socket, args);

    let o = run(&["detach"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "rtd-amp: detached (kernel: detached)");
    assert_eq!(k.state(), "detached");
    // Not supervised while detached: no start, no restart, no attach.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(k.state(), "detached");
    assert_eq!(k.starts.load(Ordering::SeqCst), 0);
    assert_eq!(daemon_phase(&k, &socket), "detached");

    let o = run(&["attach"]);
    assert!(o.status.success(), "{o:?}");
    assert!(out(&o).contains("(kernel: attached)"), "{o:?}");
    assert_eq!(k.state(), "attached");
    assert_eq!(k.starts.load(Ordering::SeqCst), 0, "attach loaded");
    common::wait_for("supervised", || {
        (daemon_phase(&k, &socket) == "running").then_some(())
    });
    let o = run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let kinds: Vec<&str> = v["daemon"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.ends_with(&["detached", "attached"]),
        "events {kinds:?}"
    );

    // The daemon reports the kernel's refusal.
    k.put("running");
    let o = run(&["detach"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        err(&o).contains("rtd-ampd: could not detach rtd-amp")
            && err(&o).contains("Linux booted this firmware itself"),
        "{o:?}"
    );
    assert_eq!(k.state(), "running");

    // --direct skips the daemon: it goes on supervising.
    k.put("attached");
    let o = run(&["detach", "--direct"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(out(&o).trim(), "remoteproc0: detached (detached)");
    shutdown();
}

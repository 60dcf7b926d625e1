//! The lifecycle layer against a sysfs double whose kernel thread answers
//! `state` and `recovery` writes the way `remoteproc_core.c` of Linux 6.1 or
//! 6.12 does (the table in `amp_host::lifecycle`): every state the kernel
//! reports, every transition, including crashed, attached and detached;
//! and, when the double has rtd_amp_rproc's `device/core_state`, a stop
//! the firmware ignores (the core stays on, `stuck`).

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use amp_host::lifecycle::{Lifecycle, Outcome};
use amp_host::remoteproc::{CoreState, Remoteproc, State};
use amp_host::{Error, Sys};

/// Which release's `rproc_shutdown` the double plays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Release {
    /// `stop` accepted from `crashed`.
    V6_1,
    /// `stop` refused from `crashed`.
    V6_12,
}

struct Kernel {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    /// Every command in order, as `state-before:command` (`…:refused` when
    /// the kernel would have answered -EINVAL).
    log: Arc<Mutex<Vec<String>>>,
    /// The reload of a `recover` fails (bad firmware): left offline.
    reload_fails: Arc<AtomicBool>,
    /// The firmware ignores the next stop requests: the driver's `.stop`
    /// times out, the core stays on (`core_state` ← `stuck`, before
    /// `state` ← `offline`, as the driver does).
    stop_hangs: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

fn set(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl Kernel {
    /// A driver without `core_state` (another driver, or rtd_amp_rproc
    /// before it had one).
    fn new(release: Release, state: &str) -> Kernel {
        Kernel::with_core(release, state, None)
    }

    /// rtd_amp_rproc with `device/core_state` reading `core` at first.
    fn with_core(release: Release, state: &str, core: Option<&str>) -> Kernel {
        let dir = tempfile::tempdir().unwrap();
        let rp = dir.path().join("sys/class/remoteproc/remoteproc0");
        fs::create_dir_all(&rp).unwrap();
        for (f, v) in [
            ("name", "rtd-amp"),
            ("state", state),
            ("firmware", "rtd-amp/rtd-amp-fw.elf"),
            ("recovery", "disabled"),
            ("coredump", "disabled"),
        ] {
            fs::write(rp.join(f), format!("{v}\n")).unwrap();
        }
        if let Some(c) = core {
            fs::create_dir_all(rp.join("device")).unwrap();
            fs::write(rp.join("device/core_state"), format!("{c}\n")).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(vec![]));
        let reload_fails = Arc::new(AtomicBool::new(false));
        let stop_hangs = Arc::new(AtomicBool::new(false));
        let handle = {
            let (stop, log, reload_fails, stop_hangs) = (
                stop.clone(),
                log.clone(),
                reload_fails.clone(),
                stop_hangs.clone(),
            );
            let now = state.to_owned();
            thread::spawn(move || {
                kernel_loop(&rp, release, now, &stop, &log, &reload_fails, &stop_hangs)
            })
        };
        Kernel {
            dir,
            stop,
            log,
            reload_fails,
            stop_hangs,
            handle: Some(handle),
        }
    }

    fn sys(&self) -> Sys {
        Sys::under(self.dir.path())
    }

    fn state(&self) -> String {
        read(
            &self
                .dir
                .path()
                .join("sys/class/remoteproc/remoteproc0/state"),
        )
    }

    fn core_state(&self) -> String {
        read(
            &self
                .dir
                .path()
                .join("sys/class/remoteproc/remoteproc0/device/core_state"),
        )
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The kernel's answer to `cmd` written while in `now` (None: -EINVAL, the
/// state stays; `Some(now)` for the refcount-only no-ops).
fn answer(release: Release, now: &str, cmd: &str) -> Option<&'static str> {
    match (now, cmd) {
        ("offline", "start") => Some("running"),
        ("detached", "start") => Some("attached"),
        // rproc_boot: power refcount > 1, nothing else happens.
        ("running", "start") => Some("running"),
        ("attached", "start") => Some("attached"),
        ("crashed", "start") => Some("crashed"),
        ("running" | "attached", "stop") => Some("offline"),
        ("crashed", "stop") if release == Release::V6_1 => Some("offline"),
        ("attached", "detach") => Some("detached"),
        _ => None,
    }
}

fn kernel_loop(
    rp: &Path,
    release: Release,
    mut now: String,
    stop: &AtomicBool,
    log: &Mutex<Vec<String>>,
    reload_fails: &AtomicBool,
    stop_hangs: &AtomicBool,
) {
    let state = rp.join("state");
    let recovery = rp.join("recovery");
    // rtd_amp_rproc's attribute, when the double has it: kept in step with
    // the core's power; `stuck` makes `start` and `recover` fail (-EBUSY).
    let core = rp.join("device/core_state");
    let has_core = core.exists();
    let stuck = || has_core && read(&core) == "stuck";
    // `now`: what the kernel holds (the file also shows the command word
    // until the double acts on it, maybe before this thread first runs).
    while !stop.load(Ordering::SeqCst) {
        // A state a test set (a crash...) is seen before a `recover`
        // written after it.
        let s = read(&state);
        if s != now && s.parse::<State>().is_ok() {
            now = s;
        }
        if read(&recovery) == "recover" {
            set(&recovery, "disabled\n");
            let mut l = log.lock().unwrap();
            if stuck() {
                // The driver's .start refuses the reload: it stays crashed.
                l.push(format!("{now}:recover:refused"));
            } else {
                l.push(format!("{now}:recover"));
                if now == "crashed" {
                    now = if reload_fails.load(Ordering::SeqCst) {
                        "offline".into()
                    } else {
                        "running".into()
                    };
                    set(&state, &format!("{now}\n"));
                }
            }
        }
        let s = read(&state);
        if matches!(s.as_str(), "start" | "stop" | "detach") {
            let mut l = log.lock().unwrap();
            match answer(release, &now, &s) {
                Some(_) if s == "start" && stuck() => l.push(format!("{now}:{s}:refused")),
                Some(next) => {
                    l.push(format!("{now}:{s}"));
                    if has_core && s != "detach" {
                        let c = match next {
                            "offline" if stop_hangs.load(Ordering::SeqCst) => "stuck",
                            "offline" => "off",
                            _ => "on",
                        };
                        set(&core, &format!("{c}\n"));
                    }
                    now = next.into();
                }
                None => l.push(format!("{now}:{s}:refused")),
            }
            set(&state, &format!("{now}\n"));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn with<T>(k: &Kernel, f: impl FnOnce(&Lifecycle) -> T) -> T {
    let r = Remoteproc::find(&k.sys(), "rtd-amp").unwrap();
    let lc = Lifecycle::new(&r).with_timeout(Duration::from_secs(20));
    f(&lc)
}

const BOTH: [Release; 2] = [Release::V6_1, Release::V6_12];

#[test]
fn offline_boots_and_running_shuts_down() {
    for rel in BOTH {
        let k = Kernel::new(rel, "offline");
        with(&k, |lc| {
            assert_eq!(lc.boot().unwrap(), Outcome::Booted);
            assert_eq!(lc.boot().unwrap(), Outcome::AlreadyUp(State::Running));
            assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped);
            assert_eq!(lc.shutdown().unwrap(), Outcome::AlreadyOffline);
        });
        assert_eq!(k.state(), "offline");
        // The second boot and shutdown wrote nothing (a second `start`
        // would only have bumped the kernel's refcount).
        assert_eq!(k.log(), ["offline:start", "running:stop"], "{rel:?}");
    }
}

#[test]
fn restart_stops_then_boots() {
    let k = Kernel::new(Release::V6_12, "running");
    with(&k, |lc| assert_eq!(lc.restart().unwrap(), Outcome::Booted));
    assert_eq!(k.log(), ["running:stop", "offline:start"]);
    assert_eq!(k.state(), "running");
}

#[test]
fn crashed_boots_with_recover_never_start() {
    for rel in BOTH {
        let k = Kernel::new(rel, "crashed");
        with(&k, |lc| assert_eq!(lc.boot().unwrap(), Outcome::Recovered));
        assert_eq!(k.state(), "running");
        assert_eq!(k.log(), ["crashed:recover"], "{rel:?}");
    }
}

#[test]
fn crashed_shuts_down_on_both_releases() {
    for rel in BOTH {
        let k = Kernel::new(rel, "crashed");
        with(&k, |lc| {
            assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped)
        });
        assert_eq!(k.state(), "offline", "{rel:?}");
        // Never `stop` while crashed: 6.12 refuses it.
        assert_eq!(k.log(), ["crashed:recover", "running:stop"], "{rel:?}");
    }
}

#[test]
fn crashed_whose_reload_fails_is_stopped_but_not_booted() {
    let k = Kernel::new(Release::V6_12, "crashed");
    k.reload_fails.store(true, Ordering::SeqCst);
    with(&k, |lc| {
        assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped)
    });
    assert_eq!(k.state(), "offline");
    assert_eq!(k.log(), ["crashed:recover"]);

    let k = Kernel::new(Release::V6_12, "crashed");
    k.reload_fails.store(true, Ordering::SeqCst);
    let e = with(&k, |lc| lc.boot().unwrap_err());
    assert!(
        e.to_string().contains("reload after the crash failed"),
        "{e}"
    );
}

#[test]
fn a_crash_seen_after_a_boot_is_an_error() {
    let k = Kernel::new(Release::V6_12, "offline");
    let r = Remoteproc::find(&k.sys(), "rtd-amp").unwrap();
    let lc = Lifecycle::new(&r).with_timeout(Duration::from_secs(20));
    lc.boot().unwrap();
    // The firmware crashes; recovery disabled: the kernel shows crashed.
    set(&r.path().join("state"), "crashed\n");
    r.wait_for(State::Crashed, Duration::from_secs(20)).unwrap();
    assert_eq!(lc.boot().unwrap(), Outcome::Recovered);
    assert_eq!(k.log(), ["offline:start", "crashed:recover"]);
}

#[test]
fn detached_attaches_and_attached_detaches() {
    for rel in BOTH {
        let k = Kernel::new(rel, "detached");
        with(&k, |lc| {
            assert_eq!(lc.attach().unwrap(), Outcome::Attached);
            assert_eq!(lc.attach().unwrap(), Outcome::AlreadyUp(State::Attached));
            assert_eq!(lc.detach().unwrap(), Outcome::Detached);
            assert_eq!(lc.detach().unwrap(), Outcome::AlreadyDetached);
            // boot of a detached processor attaches (never reloads).
            assert_eq!(lc.boot().unwrap(), Outcome::Attached);
            assert_eq!(lc.boot().unwrap(), Outcome::AlreadyUp(State::Attached));
        });
        assert_eq!(
            k.log(),
            ["detached:start", "attached:detach", "detached:start"],
            "{rel:?}"
        );
        assert_eq!(k.state(), "attached");
    }
}

#[test]
fn detached_and_attached_shut_down() {
    let k = Kernel::new(Release::V6_12, "detached");
    with(&k, |lc| {
        assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped)
    });
    // The kernel refuses `stop` while detached: attach first.
    assert_eq!(k.log(), ["detached:start", "attached:stop"]);
    assert_eq!(k.state(), "offline");

    let k = Kernel::new(Release::V6_1, "attached");
    with(&k, |lc| {
        assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped)
    });
    assert_eq!(k.log(), ["attached:stop"]);
}

#[test]
fn running_booted_by_linux_is_not_detached() {
    let k = Kernel::new(Release::V6_12, "running");
    let e = with(&k, |lc| lc.detach().unwrap_err());
    assert!(e.to_string().contains("only detaches"), "{e}");
    let e = with(&k, |lc| lc.attach().unwrap());
    assert_eq!(e, Outcome::AlreadyUp(State::Running));
    let k2 = Kernel::new(Release::V6_12, "offline");
    let e = with(&k2, |lc| lc.attach().unwrap_err());
    assert!(matches!(e, Error::WrongState { .. }), "{e}");
    thread::sleep(Duration::from_millis(50));
    assert!(k.log().is_empty() && k2.log().is_empty());
}

#[test]
fn adopt_leaves_a_running_core_alone_and_attaches_a_detached_one() {
    for (st, want, log) in [
        ("running", Some(Outcome::AlreadyUp(State::Running)), vec![]),
        (
            "attached",
            Some(Outcome::AlreadyUp(State::Attached)),
            vec![],
        ),
        ("detached", Some(Outcome::Attached), vec!["detached:start"]),
        ("offline", None, vec![]),
        ("crashed", None, vec![]),
    ] {
        let k = Kernel::new(Release::V6_12, st);
        assert_eq!(with(&k, |lc| lc.adopt().unwrap()), want, "{st}");
        thread::sleep(Duration::from_millis(50));
        assert_eq!(k.log(), log, "{st}");
    }
}

#[test]
fn states_the_kernel_reports_but_never_reaches_here_are_refused() {
    for st in ["suspended", "deleted", "invalid"] {
        let k = Kernel::new(Release::V6_12, st);
        for op in 0..3 {
            let e = with(&k, |lc| {
                match op {
                    0 => lc.boot(),
                    1 => lc.shutdown(),
                    _ => lc.detach(),
                }
                .unwrap_err()
            });
            assert!(
                matches!(&e, Error::WrongState { state, .. } if state == st),
                "{st}: {e}"
            );
        }
        assert_eq!(with(&k, |lc| lc.adopt().unwrap()), None);
        thread::sleep(Duration::from_millis(50));
        assert!(k.log().is_empty(), "{st}: {:?}", k.log());
    }
}

fn assert_stuck(e: &Error) {
    assert!(
        matches!(e, Error::CoreStuck { device } if device == "remoteproc0"),
        "{e:?}"
    );
    assert!(e.to_string().contains("reboot needed"), "{e}");
    assert_eq!(e.raw_os_error(), Some(nix::libc::EBUSY));
}

#[test]
fn a_stop_the_firmware_ignores_is_core_stuck_not_success() {
    // From every state a shutdown stops from: the stop itself (after a
    // recover or an attach) leaves the core on.
    for (rel, st, log) in [
        (Release::V6_12, "running", vec!["running:stop"]),
        (Release::V6_1, "attached", vec!["attached:stop"]),
        (
            Release::V6_12,
            "crashed",
            vec!["crashed:recover", "running:stop"],
        ),
        (
            Release::V6_12,
            "detached",
            vec!["detached:start", "attached:stop"],
        ),
    ] {
        let k = Kernel::with_core(rel, st, Some("on"));
        k.stop_hangs.store(true, Ordering::SeqCst);
        let e = with(&k, |lc| lc.shutdown().unwrap_err());
        assert_stuck(&e);
        // What the kernel shows: offline, the core on.
        assert_eq!(k.state(), "offline", "{st}");
        assert_eq!(k.core_state(), "stuck", "{st}");
        assert_eq!(k.log(), log, "{st}");
    }

    // A restart stops there: no `start` follows the stop.
    let k = Kernel::with_core(Release::V6_12, "running", Some("on"));
    k.stop_hangs.store(true, Ordering::SeqCst);
    assert_stuck(&with(&k, |lc| lc.restart().unwrap_err()));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(k.log(), ["running:stop"]);
}

#[test]
fn a_stuck_core_is_refused_up_front() {
    // Offline (the stop "succeeded") or crashed (a recovery whose stop
    // timed out): nothing is written, whatever the operation.
    for st in ["offline", "crashed"] {
        let k = Kernel::with_core(Release::V6_12, st, Some("stuck"));
        for op in ["boot", "shutdown", "restart", "attach", "adopt"] {
            let e = with(&k, |lc| match op {
                "boot" => lc.boot().map(|_| ()),
                "shutdown" => lc.shutdown().map(|_| ()),
                "restart" => lc.restart().map(|_| ()),
                "attach" => lc.attach().map(|_| ()),
                _ => lc.adopt().map(|_| ()),
            })
            .unwrap_err();
            assert_stuck(&e);
        }
        thread::sleep(Duration::from_millis(50));
        assert!(k.log().is_empty(), "{st}: {:?}", k.log());
        assert_eq!(k.state(), st);
    }
}

#[test]
fn core_state_on_and_off_change_nothing() {
    // The attribute present and the stops honoured: the same writes and
    // outcomes as without it (the other tests), the core's power followed.
    let k = Kernel::with_core(Release::V6_12, "offline", Some("off"));
    with(&k, |lc| {
        assert_eq!(lc.boot().unwrap(), Outcome::Booted);
        assert_eq!(lc.remoteproc().core_state().unwrap(), Some(CoreState::On));
        assert_eq!(lc.restart().unwrap(), Outcome::Booted);
        assert_eq!(lc.shutdown().unwrap(), Outcome::Stopped);
        assert_eq!(lc.shutdown().unwrap(), Outcome::AlreadyOffline);
        assert_eq!(lc.adopt().unwrap(), None);
    });
    assert_eq!(k.core_state(), "off");
    assert_eq!(
        k.log(),
        [
            "offline:start",
            "running:stop",
            "offline:start",
            "running:stop"
        ]
    );
}

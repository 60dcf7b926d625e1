//! The lifecycle layer against a sysfs double whose kernel thread answers
//! `state` and `recovery` writes the way `remoteproc_core.c` of Linux 6.1 or
//! 6.12 does (the table in `amp_host::lifecycle`): every state the kernel
//! reports, every transition, including crashed, attached and detached.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use amp_host::lifecycle::{Lifecycle, Outcome};
use amp_host::remoteproc::{Remoteproc, State};
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
    fn new(release: Release, state: &str) -> Kernel {
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
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(vec![]));
        let reload_fails = Arc::new(AtomicBool::new(false));
        let handle = {
            let (stop, log, reload_fails) = (stop.clone(), log.clone(), reload_fails.clone());
            let now = state.to_owned();
            thread::spawn(move || kernel_loop(&rp, release, now, &stop, &log, &reload_fails))
        };
        Kernel {
            dir,
            stop,
            log,
            reload_fails,
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
) {
    let state = rp.join("state");
    let recovery = rp.join("recovery");
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
        let s = read(&state);
        if matches!(s.as_str(), "start" | "stop" | "detach") {
            let mut l = log.lock().unwrap();
            match answer(release, &now, &s) {
                Some(next) => {
                    l.push(format!("{now}:{s}"));
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

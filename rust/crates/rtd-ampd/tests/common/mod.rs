//! Test double: a sysfs/devfs tree in a temp dir and a thread that plays the
//! kernel's remoteproc core on it (reacts to `start`/`stop` written to
//! `state`, attaches a detached one, can crash the processor after a start,
//! can leave the core on after a stop as rtd_amp_rproc reports it in
//! `device/core_state`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct FakeKernel {
    pub dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    /// Starts seen (those refused while the core is stuck too).
    pub starts: Arc<AtomicU32>,
    /// Stops seen.
    pub stops: Arc<AtomicU32>,
    /// The next this-many starts crash right after running.
    pub crash_next: Arc<AtomicU32>,
    /// Stops time out in the driver: `state` ← `offline` (its `.stop`
    /// returns 0) but `device/core_state` ← `stuck`, written first.
    pub stop_hangs: Arc<AtomicBool>,
    /// The last state the kernel thread saw (not a command word).
    seen: Arc<std::sync::Mutex<String>>,
    handle: Option<JoinHandle<()>>,
}

pub fn rproc_dir(root: &Path) -> PathBuf {
    root.join("sys/class/remoteproc/remoteproc0")
}

/// rtd_amp_rproc's attribute; absent until a test writes it or a stop
/// hangs (other drivers have none).
pub fn core_state_path(root: &Path) -> PathBuf {
    rproc_dir(root).join("device/core_state")
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Replaces a file's content atomically, as sysfs attributes change.
pub fn set(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl FakeKernel {
    pub fn new() -> FakeKernel {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let rp = rproc_dir(root);
        write(&rp.join("name"), "rtd-amp\n");
        write(&rp.join("state"), "offline\n");
        write(&rp.join("firmware"), "rproc-rtd-amp-fw\n");
        write(&rp.join("recovery"), "enabled\n");
        write(&rp.join("coredump"), "disabled\n");
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::fs::create_dir_all(root.join("sys/bus/rpmsg/devices")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let starts = Arc::new(AtomicU32::new(0));
        let stops = Arc::new(AtomicU32::new(0));
        let crash_next = Arc::new(AtomicU32::new(0));
        let stop_hangs = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new("offline".to_owned()));
        let handle = {
            let (stop, starts, stops, crash_next, stop_hangs, seen) = (
                stop.clone(),
                starts.clone(),
                stops.clone(),
                crash_next.clone(),
                stop_hangs.clone(),
                seen.clone(),
            );
            let state = rp.join("state");
            let core = core_state_path(root);
            std::thread::spawn(move || {
                let recovery = state.with_file_name("recovery");
                // The core's power, kept in step when the attribute exists.
                let power = |c: &str| {
                    if core.exists() {
                        set(&core, &format!("{c}\n"));
                    }
                };
                // The last state shown (not a command word): `start` on a
                // detached processor attaches, as the kernel's rproc_boot.
                let mut last = read(&state);
                while !stop.load(Ordering::SeqCst) {
                    (*seen.lock().unwrap()).clone_from(&last);
                    // `recover` reboots a crashed processor; the attribute
                    // keeps showing the recovery setting.
                    if read(&recovery) == "recover" {
                        set(&recovery, "disabled\n");
                        set(&state, "start\n");
                    }
                    match read(&state).as_str() {
                        // The driver refuses (-EBUSY) to start or recover
                        // a core a stop left on: the state stays.
                        "start" if read(&core) == "stuck" => {
                            starts.fetch_add(1, Ordering::SeqCst);
                            set(&state, &format!("{last}\n"));
                        }
                        "start" if last == "detached" => {
                            set(&state, "attached\n");
                        }
                        // `detach` leaves an attached processor running
                        // without Linux; the kernel refuses it otherwise
                        // (-EINVAL: the state stays).
                        "detach" => {
                            let next = if last == "attached" {
                                "detached"
                            } else {
                                &last
                            };
                            set(&state, &format!("{next}\n"));
                        }
                        "start" => {
                            starts.fetch_add(1, Ordering::SeqCst);
                            let crash = crash_next
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            power("on");
                            set(&state, if crash { "crashed\n" } else { "running\n" });
                        }
                        "stop" => {
                            stops.fetch_add(1, Ordering::SeqCst);
                            if stop_hangs.load(Ordering::SeqCst) {
                                std::fs::create_dir_all(core.parent().unwrap()).unwrap();
                                set(&core, "stuck\n");
                            } else {
                                power("off");
                            }
                            set(&state, "offline\n");
                        }
                        // Not a half-written command word.
                        other @ ("offline" | "running" | "crashed" | "attached" | "detached"
                        | "suspended" | "deleted" | "invalid") => last = other.to_owned(),
                        _ => {}
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        FakeKernel {
            dir,
            stop,
            starts,
            stops,
            crash_next,
            stop_hangs,
            seen,
            handle: Some(handle),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> String {
        read(&rproc_dir(self.root()).join("state"))
    }

    /// Puts the processor in state `st` (as if the kernel had: a crash, a
    /// core left running by an earlier boot) and waits until the kernel
    /// thread has seen it, so a command written next acts on it.
    pub fn put(&self, st: &str) {
        set(&rproc_dir(self.root()).join("state"), &format!("{st}\n"));
        wait_for(st, || (*self.seen.lock().unwrap() == st).then_some(()));
    }

    /// `device/core_state` (empty when absent).
    pub fn core_state(&self) -> String {
        read(&core_state_path(self.root()))
    }

    /// Writes `device/core_state` (creating it): `stuck` as a stop that
    /// timed out before this test left it.
    pub fn set_core_state(&self, c: &str) {
        let p = core_state_path(self.root());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        set(&p, &format!("{c}\n"));
    }

    /// Crash the running processor, as the kernel reports it.
    pub fn crash(&self) {
        set(&rproc_dir(self.root()).join("state"), "crashed\n");
    }
}

impl Drop for FakeKernel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Polls `f` until it returns Some (hang guard: panics after 30 s).
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

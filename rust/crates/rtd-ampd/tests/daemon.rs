//! Daemon tests against the temp-dir test double: restart policy and
//! backoff with simulated crashes, socket permissions, bad configs, SIGTERM.

mod common;

use common::{wait_for, FakeKernel};
use rtd_ampd::config::Config;
use rtd_ampd::hw::Hw;
use rtd_ampd::protocol::{Phase, ProcStatus, Request};
use rtd_ampd::server::request;
use rtd_ampd::supervisor::{Msg, NoNotify};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::Ordering;

fn config(k: &FakeKernel, extra: &str) -> Config {
    let text = format!(
        r#"
[daemon]
socket = "{}/run/rtd-ampd.sock"
poll_interval_ms = 5

[[remoteproc]]
name = "rtd-amp"
firmware = "rtd-amp/rtd-amp-fw.elf"
check_firmware = false
{extra}
"#,
        k.root().display()
    );
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

fn status(config: &Config) -> ProcStatus {
    let reply = request(
        &config.daemon.socket,
        &Request::Status {
            name: Some("rtd-amp".into()),
        },
    )
    .unwrap();
    assert!(reply.ok, "{reply:?}");
    reply.status.into_iter().next().unwrap()
}

fn backoffs(s: &ProcStatus) -> Vec<u64> {
    s.events
        .iter()
        .filter(|e| e.kind == "restart-scheduled")
        .filter_map(|e| e.backoff_ms)
        .collect()
}

#[test]
fn crash_loop_backs_off_then_gives_up() {
    let k = FakeKernel::new();
    k.crash_next.store(100, Ordering::SeqCst);
    let cfg = config(
        &k,
        "[remoteproc.restart]\nmax_restarts = 3\nbackoff_initial_ms = 10\nbackoff_factor = 3.0\nbackoff_max_ms = 50\n",
    );
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let s = wait_for("phase failed", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
    });
    assert_eq!(s.restarts, 3);
    assert_eq!(s.total_restarts, 3);
    // initial * factor^n, capped at backoff_max_ms
    assert_eq!(backoffs(&s), [10, 30, 50]);
    assert_eq!(s.events.last().unwrap().kind, "gave-up");
    assert_eq!(
        k.starts.load(Ordering::SeqCst),
        4,
        "1 boot start + 3 restarts"
    );
    assert_eq!(s.kernel_state.as_deref(), Some("crashed"));

    // An explicit start resets the count and supervision resumes.
    k.crash_next.store(0, Ordering::SeqCst);
    let r = request(
        &cfg.daemon.socket,
        &Request::Start {
            name: "rtd-amp".into(),
        },
    )
    .unwrap();
    assert!(r.ok, "{r:?}");
    let s = wait_for("running", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Running)
    });
    assert_eq!(s.restarts, 0);
    assert_eq!(k.state(), "running");
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
    assert_eq!(
        k.state(),
        "running",
        "stop_on_exit = false: shutdown leaves it running"
    );
}

#[test]
fn crash_is_recovered_within_policy() {
    let k = FakeKernel::new();
    let cfg = config(
        &k,
        "[remoteproc.restart]\nmax_restarts = 2\nbackoff_initial_ms = 5\n",
    );
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    wait_for("running", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Running)
    });
    assert_eq!(k.state(), "running");
    k.crash();
    let s = wait_for("restarted", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Running && s.restarts == 1)
    });
    assert_eq!(backoffs(&s), [5]);
    assert!(
        s.events.iter().any(|e| e.kind == "crashed"),
        "{:?}",
        s.events
    );
    assert_eq!(k.starts.load(Ordering::SeqCst), 2);
    // A stop behind the daemon's back is a failure too.
    common::set(&common::rproc_dir(k.root()).join("state"), "offline\n");
    let s = wait_for("restarted again", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Running && s.restarts == 2)
    });
    assert!(
        s.events.iter().any(|e| e.kind == "unexpected-stop"),
        "{:?}",
        s.events
    );
    // Stop over the socket: no restart follows.
    let r = request(
        &cfg.daemon.socket,
        &Request::Stop {
            name: "rtd-amp".into(),
        },
    )
    .unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.status[0].phase, Phase::Stopped);
    assert_eq!(k.state(), "offline");
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
    assert_eq!(k.starts.load(Ordering::SeqCst), 3);
}

#[test]
fn restart_mode_never_leaves_it_crashed() {
    let k = FakeKernel::new();
    k.crash_next.store(1, Ordering::SeqCst);
    let cfg = config(&k, "[remoteproc.restart]\nmode = \"never\"\n");
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let s = wait_for("failed", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
    });
    assert_eq!(s.restarts, 0);
    assert_eq!(k.starts.load(Ordering::SeqCst), 1);
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[test]
fn unknown_names_and_bad_requests_get_clear_errors() {
    let k = FakeKernel::new();
    let cfg = config(&k, "autostart = false\n");
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    assert_eq!(status(&cfg).phase, Phase::Stopped);
    assert_eq!(k.starts.load(Ordering::SeqCst), 0, "autostart = false");
    let r = request(
        &cfg.daemon.socket,
        &Request::Start {
            name: "nope".into(),
        },
    )
    .unwrap();
    assert!(!r.ok);
    assert!(r
        .error
        .unwrap()
        .contains("not in the daemon's config (configured: rtd-amp)"));
    // raw garbage line
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&cfg.daemon.socket).unwrap();
    s.write_all(b"{\"cmd\":\"explode\"}\n").unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    assert!(
        line.contains("\"ok\":false") && line.contains("bad request"),
        "{line}"
    );
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[test]
fn socket_is_0660_with_the_configured_group() {
    let k = FakeKernel::new();
    let gid = nix::unistd::getegid();
    let group = nix::unistd::Group::from_gid(gid)
        .unwrap()
        .expect("test process's group has a name")
        .name;
    let mut cfg = config(&k, "autostart = false\n");
    cfg.daemon.socket_group = Some(group);
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let meta = std::fs::metadata(&cfg.daemon.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid.as_raw());
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();

    // A group that does not exist is refused with advice.
    cfg.daemon.socket_group = Some("no-such-group-rtdamp".into());
    let e = rtd_ampd::spawn(cfg, Hw::under(k.root()), Box::new(NoNotify))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("groupadd no-such-group-rtdamp"),
        "{e}"
    );
}

#[test]
fn socket_path_occupied_by_a_file_is_refused() {
    let k = FakeKernel::new();
    let cfg = config(&k, "autostart = false\n");
    common::write(&cfg.daemon.socket, "not a socket");
    let e = rtd_ampd::spawn(cfg, Hw::under(k.root()), Box::new(NoNotify))
        .err()
        .unwrap();
    assert!(e.to_string().contains("is not a socket"), "{e}");
}

fn daemon_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_rtd-ampd"))
}

#[test]
fn bad_config_file_exits_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[daemon]\npoll_interval_ms = 5\n\n[[remoteproc]]\nname = \"x\"\nfirmware = \"f.elf\"\nrestart_policy = 3\n").unwrap();
    let out = daemon_bin().arg("--config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:7:1: unknown field `restart_policy`",
            path.display()
        )),
        "{err}"
    );

    let out = daemon_bin()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file"));

    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtd-ampd.toml");
    let out = daemon_bin()
        .arg("--check-config")
        .arg("--config")
        .arg(&shipped)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the daemon binary on `k` with `extra` config lines until it reports
/// the processor `Running`, then sends it `sig` and waits for it. Returns
/// the last status seen before the signal and how the daemon exited.
fn run_daemon_until(
    k: &FakeKernel,
    extra: &str,
    sig: nix::sys::signal::Signal,
) -> (ProcStatus, std::process::ExitStatus) {
    let cfg_path = k.root().join("rtd-ampd.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "[daemon]\nsocket = \"{}/run/s.sock\"\npoll_interval_ms = 5\n[[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"rproc-rtd-amp-fw\"\ncheck_firmware = false\n{extra}\n",
            k.root().display()
        ),
    )
    .unwrap();
    let mut child = daemon_bin()
        .arg("--config")
        .arg(&cfg_path)
        .env("RTD_AMP_ROOT", k.root())
        .env_remove("NOTIFY_SOCKET")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = k.root().join("run/s.sock");
    let st = wait_for("running", || {
        let r = request(&socket, &Request::Status { name: None }).ok()?;
        let s = r.status.into_iter().next()?;
        (s.phase == Phase::Running).then_some(s)
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
    (st, child.wait().unwrap())
}

#[test]
fn sigterm_leaves_the_firmware_running_and_removes_the_socket() {
    use nix::sys::signal::Signal;
    let k = FakeKernel::new();
    let (st, exit) = run_daemon_until(&k, "", Signal::SIGTERM);
    assert!(exit.success(), "{exit:?}");
    assert_eq!(st.events.last().unwrap().kind, "started");
    assert_eq!(k.state(), "running", "stop_on_exit defaults to false");
    assert!(!k.root().join("run/s.sock").exists());
    assert_eq!(k.stops.load(Ordering::SeqCst), 0);

    // The next daemon adopts it: no stop, no start.
    let (st, exit) = run_daemon_until(&k, "", Signal::SIGKILL);
    assert!(!exit.success());
    assert_eq!(st.events.last().unwrap().kind, "adopted", "{st:?}");
    // And after a SIGKILL, once more.
    let (st, _) = run_daemon_until(&k, "", Signal::SIGTERM);
    assert_eq!(st.events.last().unwrap().kind, "adopted", "{st:?}");
    assert_eq!(k.starts.load(Ordering::SeqCst), 1, "only the first boot");
    assert_eq!(k.stops.load(Ordering::SeqCst), 0);
    assert_eq!(k.state(), "running");
}

#[test]
fn stop_on_exit_stops_the_firmware_at_sigterm() {
    use nix::sys::signal::Signal;
    let k = FakeKernel::new();
    let (_, exit) = run_daemon_until(&k, "stop_on_exit = true", Signal::SIGTERM);
    assert!(exit.success(), "{exit:?}");
    assert_eq!(k.state(), "offline");
    assert_eq!(k.stops.load(Ordering::SeqCst), 1);
}

#[test]
fn another_firmware_running_is_restarted_not_adopted() {
    use nix::sys::signal::Signal;
    let k = FakeKernel::new();
    // Running what the config does not name (the config changed).
    k.put("running");
    common::set(
        &common::rproc_dir(k.root()).join("firmware"),
        "old-fw.elf\n",
    );
    let (st, _) = run_daemon_until(&k, "", Signal::SIGTERM);
    assert_eq!(st.events.last().unwrap().kind, "started", "{st:?}");
    assert_eq!(k.stops.load(Ordering::SeqCst), 1);
    assert_eq!(k.starts.load(Ordering::SeqCst), 1);
    assert_eq!(
        common::read(&common::rproc_dir(k.root()).join("firmware")),
        "rproc-rtd-amp-fw"
    );
}

#[test]
fn a_detached_processor_is_attached_not_restarted() {
    use nix::sys::signal::Signal;
    let k = FakeKernel::new();
    k.put("detached");
    let (st, _) = run_daemon_until(&k, "", Signal::SIGTERM);
    assert_eq!(st.events.last().unwrap().kind, "adopted", "{st:?}");
    assert_eq!(k.state(), "attached");
    assert_eq!(k.stops.load(Ordering::SeqCst), 0);
}

/// The daemon checks the file the kernel will load (amp-host's
/// `resolve_firmware`, the kernel's search order): a copy in `updates/`
/// shadows the one in the firmware directory itself (absent here), so that
/// is the file checked, not `firmware_dir.join(name)`.
#[test]
fn firmware_is_checked_where_the_kernel_finds_it() {
    let k = FakeKernel::new();
    let fwdir = k.root().join("lib/firmware");
    std::fs::create_dir_all(fwdir.join("updates/rtd-amp")).unwrap();
    std::fs::write(fwdir.join("updates/rtd-amp/fw.elf"), b"short").unwrap();
    let text = format!(
        "[daemon]\nsocket = \"{root}/run/rtd-ampd.sock\"\npoll_interval_ms = 5\nfirmware_dir = \"{fw}\"\n\
         [[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"rtd-amp/fw.elf\"\ncheck_firmware = true\n",
        root = k.root().display(),
        fw = fwdir.display()
    );
    let cfg = Config::parse(&text, Path::new("test.toml")).unwrap();
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let s = wait_for("phase failed", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
    });
    let err = s.last_error.unwrap_or_default();
    assert!(
        err.contains("firmware check of ") && err.contains("/lib/firmware/updates/rtd-amp/fw.elf"),
        "{err}"
    );
    assert_eq!(k.starts.load(Ordering::SeqCst), 0);
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[path = "../../amp-host/tests/support/signing.rs"]
mod signing;
use signing::{keypair, sign_like_the_tool as sign};

/// The daemon's start path refuses a firmware whose signature the kernel
/// would refuse, for the kernel's reason, and never starts it: unsigned
/// (enforced by the configuration here, the fake kernel has no driver
/// parameter), tampered after signing, signed by an unknown key, another
/// file's signature. Signed by the trusted key, the check goes on to the
/// ELF rules (this file is no ELF).
#[test]
fn firmware_signature_is_checked_before_a_start() {
    let k = FakeKernel::new();
    let d = k.root();
    let fwdir = d.join("lib/firmware");
    std::fs::create_dir_all(fwdir.join("rtd-amp")).unwrap();
    let fw = fwdir.join("rtd-amp/fw.elf");
    let dts = d.join("t.dts");
    std::fs::write(
        &dts,
        "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>;\n\
         reserved-memory { #address-cells = <2>; #size-cells = <2>; ranges;\n\
         fw: firmware@70000000 { reg = <0 0x70000000 0 0x400000>; no-map; }; };\n\
         rproc { compatible = \"realtek,rtd1619b-amp-rproc\"; memory-region = <&fw>; }; };\n",
    )
    .unwrap();
    let dtb = d.join("t.dtb");
    let st = std::process::Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o"])
        .args([&dtb, &dts])
        .status()
        .expect("dtc");
    assert!(st.success());
    let trusted = keypair(d, "trusted");
    let unknown = keypair(d, "unknown");
    let other = d.join("other.elf");
    std::fs::write(&other, b"another firmware").unwrap();
    sign(&other, &trusted);
    let image = vec![0x5au8; 512];
    type Setup = Box<dyn Fn()>;
    let (fw2, image2) = (fw.clone(), image.clone());
    let reset: Setup = Box::new(move || {
        std::fs::write(&fw2, &image2).unwrap();
        let _ = std::fs::remove_file(format!("{}.p7s", fw2.display()));
    });
    let (fw_, t_, u_, o_) = (fw.clone(), trusted.clone(), unknown.clone(), other.clone());
    let cases: Vec<(&str, Setup)> = vec![
        ("[sig-unsigned]", Box::new(|| {})),
        (
            "[sig-mismatch]",
            Box::new({
                let (fw, t) = (fw_.clone(), t_.clone());
                move || {
                    sign(&fw, &t);
                    let mut b = std::fs::read(&fw).unwrap();
                    b[100] ^= 1;
                    std::fs::write(&fw, b).unwrap();
                }
            }),
        ),
        (
            "[sig-unknown-key]",
            Box::new({
                let fw = fw_.clone();
                move || {
                    sign(&fw, &u_);
                }
            }),
        ),
        (
            "[sig-mismatch]",
            Box::new({
                let fw = fw_.clone();
                move || {
                    std::fs::copy(
                        format!("{}.p7s", o_.display()),
                        format!("{}.p7s", fw.display()),
                    )
                    .unwrap();
                }
            }),
        ),
        // Past the signature: the ELF rules refuse this file.
        (
            "[elf-magic]",
            Box::new({
                let fw = fw_.clone();
                move || {
                    sign(&fw, &t_);
                }
            }),
        ),
    ];
    for (want, setup) in cases {
        reset();
        setup();
        let text = format!(
            "[daemon]\nsocket = \"{root}/run/rtd-ampd.sock\"\npoll_interval_ms = 5\n\
             firmware_dir = \"{fwdir}\"\ndtb = \"{dtb}\"\n\
             [firmware]\nsigning_certs = [\"{cert}\"]\nrequire_signature = true\n\
             [[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"rtd-amp/fw.elf\"\n",
            root = d.display(),
            fwdir = fwdir.display(),
            dtb = dtb.display(),
            cert = trusted.1.display(),
        );
        let cfg = Config::parse(&text, Path::new("test.toml")).unwrap();
        let (tx, handle) =
            rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
        let s = wait_for("phase failed", || {
            Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
        });
        let err = s.last_error.unwrap_or_default();
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(k.starts.load(Ordering::SeqCst), 0, "{want}: started");
        tx.send(Msg::Shutdown).unwrap();
        handle.join().unwrap();
    }
}

fn send(cfg: &Config, req: Request) -> rtd_ampd::protocol::Reply {
    request(&cfg.daemon.socket, &req).unwrap()
}

/// Phase `failed` with the `stuck` event last and "reboot needed" said.
fn assert_stuck(s: &ProcStatus) {
    assert_eq!(s.phase, Phase::Failed, "{s:?}");
    assert_eq!(s.events.last().unwrap().kind, "stuck", "{:?}", s.events);
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("reboot needed"),
        "{s:?}"
    );
    assert_eq!(s.core_state.as_deref(), Some("stuck"));
    assert_eq!(s.next_restart_in_ms, None);
}

/// A daemon that would restart a crashed firmware (5 restarts, 5 ms
/// backoff), serving it on `k` whose driver has `core_state`; returns its
/// configuration, channel and thread once the phase is running.
fn serving_with_restarts(
    k: &FakeKernel,
) -> (
    Config,
    std::sync::mpsc::Sender<Msg>,
    std::thread::JoinHandle<()>,
) {
    k.set_core_state("off");
    let cfg = config(
        k,
        "[remoteproc.restart]\nmax_restarts = 5\nbackoff_initial_ms = 5\n",
    );
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let s = wait_for("running", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Running)
    });
    assert_eq!(s.core_state.as_deref(), Some("on"));
    (cfg, tx, handle)
}

#[test]
fn a_stop_that_leaves_the_core_on_fails_for_good() {
    let k = FakeKernel::new();
    let (cfg, tx, handle) = serving_with_restarts(&k);

    // The firmware ignores the stop request: the kernel shows offline.
    k.stop_hangs.store(true, Ordering::SeqCst);
    let name = || "rtd-amp".to_string();
    let r = send(&cfg, Request::Stop { name: name() });
    assert!(!r.ok, "{r:?}");
    let e = r.error.unwrap();
    assert!(
        e.contains("could not stop rtd-amp") && e.contains("reboot needed"),
        "{e}"
    );
    assert_eq!(k.state(), "offline");
    let s = status(&cfg);
    assert_stuck(&s);
    assert_eq!(s.kernel_state.as_deref(), Some("offline"));

    // Retrying cannot help: nothing is scheduled, nothing written, and an
    // explicit start or restart is refused the same way.
    std::thread::sleep(std::time::Duration::from_millis(200));
    for req in [
        Request::Start { name: name() },
        Request::Restart { name: name() },
    ] {
        let r = send(&cfg, req);
        assert!(
            !r.ok && r.error.as_deref().unwrap().contains("reboot needed"),
            "{r:?}"
        );
    }
    let s = status(&cfg);
    assert_stuck(&s);
    assert_eq!(s.restarts, 0);
    assert!(
        !s.events.iter().any(|e| e.kind == "restart-scheduled"),
        "{:?}",
        s.events
    );
    assert_eq!(k.starts.load(Ordering::SeqCst), 1, "only the boot start");
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[test]
fn a_crash_whose_core_stays_on_is_not_restarted_in_a_loop() {
    let k = FakeKernel::new();
    let (cfg, tx, handle) = serving_with_restarts(&k);
    // A crash the kernel's recovery could not stop (its stop timed out).
    k.set_core_state("stuck");
    k.crash();
    let s = wait_for("stuck", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
    });
    assert_stuck(&s);
    // One restart was scheduled for the crash; it found the core stuck
    // and wrote nothing; none follows.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let s = status(&cfg);
    assert_stuck(&s);
    assert_eq!(backoffs(&s), [5]);
    assert_eq!(k.starts.load(Ordering::SeqCst), 1);
    assert_eq!(k.state(), "crashed");
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[test]
fn a_daemon_started_on_a_stuck_core_does_not_start_it() {
    let k = FakeKernel::new();
    k.set_core_state("stuck");
    // A firmware the check refuses (there is none): the stuck core is the
    // reason given, not the check's verdict.
    let mut cfg = config(&k, "");
    cfg.remoteprocs[0].check_firmware = true;
    cfg.daemon.firmware_dir = k.root().join("lib/firmware");
    let (tx, handle) =
        rtd_ampd::spawn(cfg.clone(), Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    let s = wait_for("failed", || {
        Some(status(&cfg)).filter(|s| s.phase == Phase::Failed)
    });
    assert_stuck(&s);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(k.starts.load(Ordering::SeqCst), 0);
    assert_eq!(status(&cfg).phase, Phase::Failed);
    tx.send(Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

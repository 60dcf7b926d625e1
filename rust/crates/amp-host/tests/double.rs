//! More of the library against a temp-dir test double: a thread plays the
//! kernel's remoteproc core (answers `start`/`stop` writes), devcoredump,
//! and ioctls on descriptors that are not rpmsg devices.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use amp_host::remoteproc::{Remoteproc, State};
use amp_host::rpmsg::{Ctrl, Endpoint};
use amp_host::{Error, Sys};

/// Generous: only bounds a hang, never asserts timing.
const LONG: Duration = Duration::from_secs(20);

fn rproc(root: &Path, state: &str) -> PathBuf {
    let d = root.join("sys/class/remoteproc/remoteproc0");
    fs::create_dir_all(&d).unwrap();
    for (f, v) in [
        ("name", "rtd-amp"),
        ("state", state),
        ("firmware", "rtd-amp/rtd-amp-fw.elf"),
        ("recovery", "enabled"),
        ("coredump", "enabled"),
    ] {
        fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
    d
}

/// Rewrites `state` the way the kernel reports it after a command.
fn kernel(dir: PathBuf, stop: Arc<AtomicBool>) -> thread::JoinHandle<Vec<String>> {
    thread::spawn(move || {
        let mut seen = vec![];
        while !stop.load(Ordering::Relaxed) {
            let p = dir.join("state");
            let s = fs::read_to_string(&p).unwrap_or_default();
            let answer = match s.as_str() {
                "start" => Some("running\n"),
                "stop" => Some("offline\n"),
                _ => None,
            };
            if let Some(a) = answer {
                seen.push(s.clone());
                fs::write(&p, a).unwrap();
            }
            thread::sleep(Duration::from_millis(2));
        }
        seen
    })
}

#[test]
fn start_stop_cycle_with_a_kernel_double() {
    let t = tempfile::tempdir().unwrap();
    let dir = rproc(t.path(), "offline");
    let stop = Arc::new(AtomicBool::new(false));
    let k = kernel(dir, stop.clone());
    let sys = Sys::under(t.path());
    let r = Remoteproc::find(&sys, "rtd-amp").unwrap();
    for _ in 0..3 {
        r.start().unwrap();
        r.wait_for(State::Running, LONG).unwrap();
        assert!(r.state().unwrap().is_up());
        r.stop().unwrap();
        r.wait_for(State::Offline, LONG).unwrap();
    }
    // Not up: stopping again is refused before anything is written.
    let e = r.stop().unwrap_err();
    assert!(e.to_string().contains("nothing to stop"), "{e}");
    assert_eq!(e.raw_os_error(), Some(nix::libc::EBUSY));
    stop.store(true, Ordering::Relaxed);
    assert_eq!(k.join().unwrap(), ["start", "stop"].repeat(3));
}

#[test]
fn crashed_processor_can_change_firmware_and_restart() {
    let t = tempfile::tempdir().unwrap();
    let dir = rproc(t.path(), "crashed");
    let r = Remoteproc::find(&Sys::under(t.path()), "remoteproc0").unwrap();
    assert_eq!(r.state().unwrap(), State::Crashed);
    assert!(!r.state().unwrap().is_up());
    r.set_firmware("rtd-amp/new.elf").unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("firmware")).unwrap(),
        "rtd-amp/new.elf"
    );
    // The kernel's recovery command (what to use after a crash).
    r.recover().unwrap();
    assert_eq!(fs::read_to_string(dir.join("recovery")).unwrap(), "recover");
    assert!(r.set_firmware("").is_err());
    assert!(r.set_firmware("a\nb").is_err());
    // A sysfs write error (read-only attribute) carries the errno and a hint.
    let ro = dir.join("coredump");
    fs::remove_file(&ro).unwrap();
    fs::create_dir(&ro).unwrap();
    let e = r
        .set_coredump(amp_host::remoteproc::Coredump::Disabled)
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("coredump"), "{e}");
}

#[test]
fn devcoredump_is_found_saved_and_dismissed() {
    let t = tempfile::tempdir().unwrap();
    let dir = rproc(t.path(), "crashed");
    let other = t.path().join("sys/class/remoteproc/remoteproc1");
    fs::create_dir_all(&other).unwrap();
    let class = t.path().join("sys/class/devcoredump");
    for (cd, dev, data) in [
        ("devcd1", &dir, &b"\x7fELF core of remoteproc0"[..]),
        ("devcd2", &other, &b"someone else's"[..]),
    ] {
        let d = class.join(cd);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("data"), data).unwrap();
        symlink(dev, d.join("failing_device")).unwrap();
    }
    let sys = Sys::under(t.path());
    let r = Remoteproc::find(&sys, "0").unwrap();
    let dumps = r.coredumps().unwrap();
    assert_eq!(dumps.len(), 1);
    assert!(dumps[0].path().ends_with("devcd1"));
    let out = t.path().join("rtd-amp.core");
    assert_eq!(dumps[0].save(&out).unwrap(), 24);
    assert_eq!(fs::read(&out).unwrap(), b"\x7fELF core of remoteproc0");
    // Dismissed: the kernel frees it on any write to `data`.
    assert_eq!(fs::read(class.join("devcd1/data")).unwrap(), b"1");
    // No devcoredump class at all: nothing, not an error.
    let t2 = tempfile::tempdir().unwrap();
    rproc(t2.path(), "offline");
    let r2 = Remoteproc::find(&Sys::under(t2.path()), "0").unwrap();
    assert!(r2.coredumps().unwrap().is_empty());
}

#[test]
fn devcoredumps_are_ours_only_when_failing_device_resolves_to_us() {
    let t = tempfile::tempdir().unwrap();
    rproc(t.path(), "crashed");
    let class = t.path().join("sys/class/devcoredump");
    let elsewhere = t.path().join("sys/devices/elsewhere/remoteproc0");
    fs::create_dir_all(&elsewhere).unwrap();
    // (N, failing_device link): relative links, as sysfs has them.
    for (n, link) in [
        (10, Some("../../remoteproc/remoteproc0")),
        (9, Some("../../remoteproc/remoteproc0")),
        (11, None),
        (12, Some("../../../devices/gone/remoteproc0")),
        (13, Some("../../../devices/elsewhere/remoteproc0")),
    ] {
        let d = class.join(format!("devcd{n}"));
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("data"), format!("core {n}")).unwrap();
        if let Some(l) = link {
            symlink(l, d.join("failing_device")).unwrap();
        }
    }
    fs::create_dir_all(class.join("devcdx")).unwrap();
    let sys = Sys::under(t.path());
    let r = Remoteproc::find(&sys, "rtd-amp").unwrap();
    // Ours, oldest first by number (a string sort puts devcd10 first).
    let mine: Vec<u64> = r.coredumps().unwrap().iter().map(|d| d.index()).collect();
    assert_eq!(mine, [9, 10]);
    let all = amp_host::remoteproc::devcoredumps(&sys).unwrap();
    let shown: Vec<String> = all.iter().map(|d| d.to_string()).collect();
    assert_eq!(shown.len(), 5, "{shown:?}");
    assert_eq!(shown[2], "devcd11 (no failing_device link)");
    assert_eq!(
        shown[3],
        "devcd12 (failing_device -> ../../../devices/gone/remoteproc0 does not resolve)"
    );
    assert_eq!(
        all[4].failing_device(),
        Some(fs::canonicalize(&elsewhere).unwrap().as_path())
    );
    // Listing reads and releases nothing.
    for n in 9..=13 {
        assert_eq!(
            fs::read_to_string(class.join(format!("devcd{n}/data"))).unwrap(),
            format!("core {n}")
        );
    }
}

#[test]
fn ioctls_on_non_rpmsg_files_are_explained() {
    let t = tempfile::tempdir().unwrap();
    let dev = t.path().join("dev");
    fs::create_dir_all(&dev).unwrap();
    for n in ["rpmsg_ctrl0", "rpmsg0"] {
        nix::unistd::mkfifo(&dev.join(n), nix::sys::stat::Mode::S_IRWXU).unwrap();
    }
    let sys = Sys::under(t.path());
    let ctrl = Ctrl::open(&sys, 0).unwrap();
    let e = ctrl
        .create_endpoint("ctl", amp_host::rpmsg::ADDR_ANY, 1026, LONG)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(nix::libc::ENOTTY), "{e}");
    let s = e.to_string();
    assert!(
        s.contains("RPMSG_CREATE_EPT") && s.contains("rpmsg_ctrl0"),
        "{s}"
    );
    assert!(s.contains("is it an rpmsg device"), "{s}");
    let e = ctrl
        .create_endpoint(&"n".repeat(40), 1, 2, LONG)
        .unwrap_err();
    assert!(e.to_string().contains("1..31 bytes"), "{e}");
    assert!(ctrl.create_device("rpmsg-raw", 1, 2).is_err());
    assert!(ctrl.release_device("rpmsg-raw", 1, 2).is_err());
    let e = Ctrl::open(&sys, 7).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(nix::libc::ENOENT));

    let ep = Endpoint::open(&dev.join("rpmsg0")).unwrap();
    let e = ep.outgoing_flow_paused().unwrap_err();
    assert!(
        e.to_string().contains("RPMSG_GET_OUTGOING_FLOWCONTROL"),
        "{e}"
    );
    let e = ep.set_incoming_flow_paused(true).unwrap_err();
    assert!(e.to_string().contains("Linux 6.2+"), "{e}");
    let e = ep.destroy().unwrap_err();
    assert!(e.to_string().contains("RPMSG_DESTROY_EPT"), "{e}");
}

#[test]
fn endpoint_keeps_message_boundaries_and_works_with_poll() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("rpmsg0");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut ep = Endpoint::open(&fifo).unwrap();
    assert_eq!(ep.path(), fifo);
    // Exactly the limit is fine, one more is refused before any write.
    ep.send(&[0xA5; amp_host::rpmsg::MAX_PAYLOAD]).unwrap();
    let e = ep.send(&[0; amp_host::rpmsg::MAX_PAYLOAD + 1]).unwrap_err();
    assert!(matches!(e, Error::MessageTooLong(497)), "{e}");
    let mut fds = [PollFd::new(ep.as_fd(), PollFlags::POLLIN)];
    assert_eq!(
        poll(&mut fds, PollTimeout::try_from(20_000).unwrap()).unwrap(),
        1
    );
    let mut buf = [0u8; 512];
    assert_eq!(ep.recv(&mut buf, Some(LONG)).unwrap(), 496);
    assert!(buf[..496].iter().all(|&b| b == 0xA5));
    // Nothing more: a short timeout reports which endpoint it waited on.
    let e = ep
        .recv(&mut buf, Some(Duration::from_millis(1)))
        .unwrap_err();
    assert!(e.to_string().contains("rpmsg0"), "{e}");
    assert_eq!(e.raw_os_error(), Some(nix::libc::ETIMEDOUT));
}

/// `/sys/class/<class>/<name>` with attributes and a `device` link to `parent`.
fn class_dev(root: &Path, class: &str, name: &str, attrs: &[(&str, &str)], parent: &Path) {
    let d = root.join("sys/class").join(class).join(name);
    fs::create_dir_all(&d).unwrap();
    for (f, v) in attrs {
        fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
    symlink(parent, d.join("device")).unwrap();
}

#[test]
fn device_nodes_map_to_channels_through_sysfs() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let bus = root.join("sys/bus/rpmsg/devices");
    let devices = root.join("sys/devices/virtio0");
    let mut chans = vec![];
    for (dev, name, dst) in [
        ("virtio0.rpmsg-raw.-1.1024", "rpmsg-raw", "1024"),
        ("virtio0.rpmsg-tty.-1.1025", "rpmsg-tty", "1025"),
        ("virtio0.rpmsg-ctrl.0.0", "rpmsg_ctrl", "0"),
    ] {
        let real = devices.join(dev);
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("name"), format!("{name}\n")).unwrap();
        fs::write(real.join("src"), "0xffffffff\n").unwrap();
        fs::write(real.join("dst"), format!("{dst}\n")).unwrap();
        fs::create_dir_all(&bus).unwrap();
        symlink(&real, bus.join(dev)).unwrap();
        chans.push(real);
    }
    // rpmsg_char's node for the announced echo channel (src printed %d),
    // one made through the control device, the tty, the control device.
    let raw = [("name", "rpmsg-raw"), ("src", "-1"), ("dst", "1024")];
    class_dev(root, "rpmsg", "rpmsg0", &raw, &chans[0]);
    let ctrl_dir = root.join("sys/class/rpmsg/rpmsg_ctrl0");
    class_dev(root, "rpmsg", "rpmsg_ctrl0", &[], &chans[2]);
    let mine = [("name", "rtd-amp-ctrl"), ("src", "1030"), ("dst", "1026")];
    class_dev(root, "rpmsg", "rpmsg1", &mine, &ctrl_dir);
    class_dev(root, "tty", "ttyRPMSG0", &[], &chans[1]);
    class_dev(root, "tty", "ttyS0", &[], &devices);

    let sys = Sys::under(root);
    let eps = amp_host::rpmsg::endpoints(&sys).unwrap();
    assert_eq!(eps.len(), 2, "{eps:?}");
    assert_eq!(eps[0].path, root.join("dev/rpmsg0"));
    assert_eq!(
        (eps[0].name.as_str(), eps[0].src, eps[0].dst),
        ("rpmsg-raw", amp_host::rpmsg::ADDR_ANY, 1024)
    );
    assert_eq!(eps[0].parent.as_deref(), Some("virtio0.rpmsg-raw.-1.1024"));
    assert_eq!(
        (eps[1].name.as_str(), eps[1].src, eps[1].parent.as_deref()),
        ("rtd-amp-ctrl", 1030, Some("rpmsg_ctrl0"))
    );
    assert_eq!(
        amp_host::rpmsg::find_endpoint(&sys, "rpmsg-raw", None).unwrap(),
        root.join("dev/rpmsg0")
    );
    assert_eq!(
        amp_host::rpmsg::find_endpoint(&sys, "rtd-amp-ctrl", Some(1026)).unwrap(),
        root.join("dev/rpmsg1")
    );
    let e = amp_host::rpmsg::find_endpoint(&sys, "rtd-amp-ctrl", Some(1)).unwrap_err();
    assert!(e.to_string().contains("announced"), "{e}");
    assert_eq!(amp_host::rpmsg::ctrl_indices(&sys), [0]);

    let ch = amp_host::rpmsg::channels(&sys).unwrap();
    let nodes: Vec<_> = ch.iter().map(|c| c.dev_nodes(&sys)).collect();
    assert_eq!(
        nodes,
        // Sorted by bus device: rpmsg-ctrl, rpmsg-raw, rpmsg-tty.
        [
            vec![],
            vec![root.join("dev/rpmsg0")],
            vec![root.join("dev/ttyRPMSG0")]
        ],
        "{ch:?}"
    );
    // Nothing registered at all: empty, not errors.
    let empty = Sys::under(&root.join("nothing"));
    assert!(amp_host::rpmsg::endpoints(&empty).unwrap().is_empty());
    assert!(amp_host::rpmsg::ctrl_indices(&empty).is_empty());
}

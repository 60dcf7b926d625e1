//! The library against a sysfs/devfs tree in a temporary directory (the
//! test double for the kernel; the real kernel runs in the QEMU twin).

use std::fs;
use std::path::Path;
use std::time::Duration;

use amp_host::remoteproc::{self, CoreState, Coredump, Recovery, Remoteproc, State};
use amp_host::rpmsg::{self, Endpoint};
use amp_host::{Error, Sys};

fn remoteproc_double(root: &Path, index: u32, name: &str, state: &str) {
    let d = root.join(format!("sys/class/remoteproc/remoteproc{index}"));
    fs::create_dir_all(&d).unwrap();
    for (f, v) in [
        ("name", name),
        ("state", state),
        ("firmware", "rtd-amp/rtd-amp-fw.elf"),
        ("recovery", "enabled"),
        ("coredump", "disabled"),
    ] {
        fs::write(d.join(f), format!("{v}\n")).unwrap();
    }
    let dbg = root.join(format!("sys/kernel/debug/remoteproc/remoteproc{index}"));
    fs::create_dir_all(&dbg).unwrap();
    fs::write(dbg.join("trace0"), "rtd-amp-rt 0.1.0: board qemu-virt\n").unwrap();
}

#[test]
fn lists_and_finds_remote_processors() {
    let t = tempfile::tempdir().unwrap();
    let sys = Sys::under(t.path());
    assert!(
        remoteproc::list(&sys).unwrap().is_empty(),
        "no class dir: empty"
    );
    remoteproc_double(t.path(), 1, "other", "offline");
    remoteproc_double(t.path(), 0, "remoteproc-cpu3", "running");
    let all = remoteproc::list(&sys).unwrap();
    assert_eq!(
        all.iter().map(|r| r.device()).collect::<Vec<_>>(),
        ["remoteproc0", "remoteproc1"]
    );
    for id in ["remoteproc0", "0", "remoteproc-cpu3"] {
        assert_eq!(Remoteproc::find(&sys, id).unwrap().index(), 0, "{id}");
    }
    let e = Remoteproc::find(&sys, "nope").unwrap_err();
    assert!(e.to_string().contains("ampctl list"), "{e}");
    let r = Remoteproc::find(&sys, "0").unwrap();
    assert_eq!(r.state().unwrap(), State::Running);
    assert_eq!(r.firmware().unwrap(), "rtd-amp/rtd-amp-fw.elf");
    assert_eq!(r.recovery().unwrap(), Recovery::Enabled);
    assert_eq!(r.coredump().unwrap(), Coredump::Disabled);
    assert!(String::from_utf8(r.trace(0).unwrap())
        .unwrap()
        .contains("qemu-virt"));
    let e = r.trace(1).unwrap_err();
    assert!(e.to_string().contains("trace1"), "{e}");
}

#[test]
fn state_changes_follow_the_rules() {
    let t = tempfile::tempdir().unwrap();
    remoteproc_double(t.path(), 0, "remoteproc-cpu3", "running");
    let sys = Sys::under(t.path());
    let r = Remoteproc::find(&sys, "0").unwrap();
    let e = r.set_firmware("x.elf").unwrap_err();
    assert!(e.to_string().contains("stop it first"), "{e}");
    assert!(matches!(r.start(), Err(Error::WrongState { .. })));
    r.stop().unwrap();
    assert_eq!(fs::read_to_string(r.path().join("state")).unwrap(), "stop");
    fs::write(r.path().join("state"), "offline\n").unwrap();
    r.set_firmware("rtd-amp/other.elf").unwrap();
    assert_eq!(r.firmware().unwrap(), "rtd-amp/other.elf");
    r.start().unwrap();
    assert_eq!(fs::read_to_string(r.path().join("state")).unwrap(), "start");
    // "start" is what was written; the double never answers, so waiting times out.
    let e = r
        .wait_for(State::Running, Duration::from_millis(50))
        .unwrap_err();
    assert!(
        matches!(e, Error::Parse { .. } | Error::Timeout { .. }),
        "{e}"
    );
    fs::write(r.path().join("state"), "running\n").unwrap();
    r.wait_for(State::Running, Duration::from_millis(50))
        .unwrap();
    r.set_recovery(Recovery::Disabled).unwrap();
    assert_eq!(
        fs::read_to_string(r.path().join("recovery")).unwrap(),
        "disabled"
    );
    r.set_coredump(Coredump::Inline).unwrap();
    assert_eq!(r.coredump().unwrap(), Coredump::Inline);
    fs::write(r.path().join("state"), "booting\n").unwrap();
    assert!(matches!(r.state(), Err(Error::Parse { .. })));
}

#[test]
fn core_state_is_read_from_the_platform_device() {
    let t = tempfile::tempdir().unwrap();
    remoteproc_double(t.path(), 0, "rtd-amp", "offline");
    let r = Remoteproc::find(&Sys::under(t.path()), "rtd-amp").unwrap();
    // Another driver: neither `device/` nor the attribute; then a device
    // without it (another driver's platform device): unknown, not errors.
    assert_eq!(r.core_state().unwrap(), None);
    let dev = t.path().join("sys/devices/platform/remoteproc-cpu3");
    fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink(&dev, r.path().join("device")).unwrap();
    assert_eq!(r.core_state().unwrap(), None);
    // `device` is a link to the platform device, as in sysfs.
    for (text, want) in [
        ("off\n", CoreState::Off),
        ("on\n", CoreState::On),
        ("stuck\n", CoreState::Stuck),
    ] {
        fs::write(dev.join("core_state"), text).unwrap();
        assert_eq!(r.core_state().unwrap(), Some(want), "{text:?}");
        assert_eq!(want.to_string(), text.trim_end());
    }
    fs::write(dev.join("core_state"), "halted\n").unwrap();
    let e = r.core_state().unwrap_err();
    assert!(
        matches!(&e, Error::Parse { value, path } if value == "halted" && path.ends_with("device/core_state")),
        "{e}"
    );
    // Unreadable is an error (it is not absent).
    fs::remove_file(dev.join("core_state")).unwrap();
    fs::create_dir(dev.join("core_state")).unwrap();
    assert!(matches!(r.core_state(), Err(Error::Io { .. })));
}

#[test]
fn channels_and_devices() {
    let t = tempfile::tempdir().unwrap();
    let sys = Sys::under(t.path());
    assert!(rpmsg::channels(&sys).unwrap().is_empty());
    let d = t
        .path()
        .join("sys/bus/rpmsg/devices/virtio0.rpmsg-raw.-1.1024");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("name"), "rpmsg-raw\n").unwrap();
    fs::write(d.join("src"), "0xffffffff\n").unwrap();
    fs::write(d.join("dst"), "0x400\n").unwrap();
    let ch = rpmsg::channels(&sys).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (ch[0].name.as_str(), ch[0].src, ch[0].dst),
        ("rpmsg-raw", 0xFFFF_FFFF, 1024)
    );
    fs::create_dir_all(t.path().join("dev")).unwrap();
    for n in ["rpmsg0", "rpmsg12", "rpmsg_ctrl0", "ttyRPMSG0"] {
        fs::write(t.path().join("dev").join(n), "").unwrap();
    }
    let eps: Vec<_> = rpmsg::endpoint_devices(&sys).into_iter().collect();
    assert_eq!(
        eps,
        [t.path().join("dev/rpmsg0"), t.path().join("dev/rpmsg12")]
    );
    assert_eq!(rpmsg::tty_devices(&sys).len(), 1);
}

#[test]
fn endpoint_io_limits_and_timeouts() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("ep");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    // A FIFO opened read-write stands in for the character device's file
    // semantics: poll, read, write on one descriptor.
    let mut ep = Endpoint::open(&fifo).unwrap();
    let e = ep.send(&[0; 497]).unwrap_err();
    assert!(e.to_string().contains("496"), "{e}");
    let mut buf = [0u8; 496];
    let e = ep
        .recv(&mut buf, Some(Duration::from_millis(30)))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    ep.send(b"ping").unwrap();
    assert_eq!(ep.recv(&mut buf, Some(Duration::from_secs(1))).unwrap(), 4);
    assert_eq!(&buf[..4], b"ping");
    ep.set_nonblocking(true).unwrap();
    let e = ep.recv(&mut buf, None).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(nix::libc::EAGAIN), "{e}");
    let e = Endpoint::open(&t.path().join("missing")).unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
}

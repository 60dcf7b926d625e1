//! The control device of a remote processor, found through the sysfs parent
//! chain (a double laid out as Linux 6.1/6.12 lay it out: the rpmsg_ctrl
//! device below the virtio device below the remoteproc), not by index.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use amp_host::control::{ctrl_of, parse_ctrl_name};
use amp_host::remoteproc::Remoteproc;
use amp_host::Sys;

/// remoteprocM under platform device `plat`, named `name`, with its
/// virtio device `virtioK` and, when `ctrl` is given, `rpmsg_ctrl<ctrl>`.
fn rproc(root: &Path, plat: &str, m: u32, name: &str, k: u32, ctrl: Option<u32>) {
    let rp = root.join(format!(
        "sys/devices/platform/{plat}/remoteproc/remoteproc{m}"
    ));
    fs::create_dir_all(&rp).unwrap();
    fs::write(rp.join("name"), format!("{name}\n")).unwrap();
    fs::write(rp.join("state"), "running\n").unwrap();
    let class = root.join("sys/class/remoteproc");
    fs::create_dir_all(&class).unwrap();
    symlink(&rp, class.join(format!("remoteproc{m}"))).unwrap();
    let virtio = rp.join(format!("remoteproc{m}#vdev0buffer/virtio{k}"));
    let rpdev = virtio.join(format!("virtio{k}.rpmsg_ctrl.0.0"));
    fs::create_dir_all(&rpdev).unwrap();
    if let Some(n) = ctrl {
        let c = rpdev.join(format!("rpmsg/rpmsg_ctrl{n}"));
        fs::create_dir_all(&c).unwrap();
        symlink("../../", c.join("device")).unwrap();
        let class = root.join("sys/class/rpmsg");
        fs::create_dir_all(&class).unwrap();
        symlink(&c, class.join(format!("rpmsg_ctrl{n}"))).unwrap();
    }
}

#[test]
fn the_control_device_is_the_one_below_the_processor() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    // Probe order gave the other processor rpmsg_ctrl0: ours is rpmsg_ctrl1.
    rproc(root, "other", 0, "dsp", 0, Some(0));
    rproc(root, "rtd-amp", 1, "rtd-amp", 1, Some(1));
    rproc(root, "idle", 2, "idle", 2, None);
    let sys = Sys::under(root);
    let ours = Remoteproc::find(&sys, "rtd-amp").unwrap();
    assert_eq!(ctrl_of(&sys, &ours).unwrap(), 1);
    let dsp = Remoteproc::find(&sys, "dsp").unwrap();
    assert_eq!(ctrl_of(&sys, &dsp).unwrap(), 0);
    let idle = Remoteproc::find(&sys, "idle").unwrap();
    let e = ctrl_of(&sys, &idle).unwrap_err();
    assert!(
        e.to_string()
            .contains("no rpmsg control device below remoteproc2"),
        "{e}"
    );
}

#[test]
fn one_parser_of_control_device_names() {
    assert_eq!(parse_ctrl_name("/dev/rpmsg_ctrl7").unwrap(), 7);
    assert!(parse_ctrl_name("/dev/rpmsg7").is_err());
}

//! Where the kernel's interfaces live.

use std::path::{Path, PathBuf};

/// Roots of sysfs, devfs and debugfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sys {
    /// Usually `/sys`.
    pub sysfs: PathBuf,
    /// Usually `/dev`.
    pub dev: PathBuf,
    /// Usually `/sys/kernel/debug`.
    pub debugfs: PathBuf,
}

impl Sys {
    /// The running system.
    pub fn system() -> Self {
        Sys::under(Path::new("/"))
    }

    /// A system image below `root` (`root/sys`, `root/dev`,
    /// `root/sys/kernel/debug`): a test double, or a target's copy.
    pub fn under(root: &Path) -> Self {
        Sys {
            sysfs: root.join("sys"),
            dev: root.join("dev"),
            debugfs: root.join("sys/kernel/debug"),
        }
    }

    /// `RTD_AMP_ROOT` when set, else the running system.
    pub fn from_env() -> Self {
        match std::env::var_os("RTD_AMP_ROOT") {
            Some(r) if !r.is_empty() => Sys::under(Path::new(&r)),
            _ => Sys::system(),
        }
    }

    /// `/sys/class/remoteproc`.
    pub fn remoteproc_class(&self) -> PathBuf {
        self.sysfs.join("class/remoteproc")
    }

    /// `/sys/bus/rpmsg/devices`.
    pub fn rpmsg_devices(&self) -> PathBuf {
        self.sysfs.join("bus/rpmsg/devices")
    }

    /// `/sys/class/rpmsg`.
    pub fn rpmsg_class(&self) -> PathBuf {
        self.sysfs.join("class/rpmsg")
    }

    /// `/sys/class/tty`.
    pub fn tty_class(&self) -> PathBuf {
        self.sysfs.join("class/tty")
    }

    /// The flattened device tree the kernel booted with.
    pub fn fdt(&self) -> PathBuf {
        self.sysfs.join("firmware/fdt")
    }
}

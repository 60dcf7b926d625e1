//! Installs a firmware file, and its signature, under
//! `/lib/firmware/updates/` atomically, keeping what was there for a
//! rollback (`ampctl deploy`, docs/daemon-cli.md "Deploying a firmware").
//!
//! The kernel's firmware search (`fw_path[]` in
//! drivers/base/firmware_loader/main.c, 6.1 and 6.12; see
//! [`crate::fwcheck::FirmwareSearch`]) looks in `updates/` before
//! `/lib/firmware` itself, so a file installed there replaces the shipped
//! one without touching the package's file, and removing it brings the
//! shipped one back.
//!
//! Three steps, each leaving a consistent tree if the process dies:
//!
//! 1. [`Staged::stage`]: the new ELF (and `.p7s`) copied to temporary
//!    files in the target directory, `fsync`ed. Nothing the kernel looks
//!    at has changed; dropping a [`Staged`] removes the temporaries.
//!    Staging also takes an exclusive `flock` on `updates/.deploy.lock`,
//!    held until the deployment is finished or rolled back, so two
//!    deployments never interleave.
//! 2. [`Staged::commit`]: the current `updates/NAME` and `NAME.p7s`
//!    hard-linked to `NAME.prev` and `NAME.p7s.prev` (a link is atomic and
//!    leaves no moment without the file), then each temporary renamed over
//!    its target (`rename(2)` is atomic), an unsigned new firmware's stale
//!    `NAME.p7s` removed, the directory `fsync`ed.
//! 3. [`Deployed::rollback`] puts the previous files back the same way (or
//!    removes ours when `updates/` had none: the shipped file serves
//!    again); [`Deployed::keep`] leaves the new one, and the `.prev` files
//!    for a manual rollback.
//!
//! Between the two renames of step 2 the ELF and its signature do not
//! match; the processor is restarted only after the commit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::fwsig::SIG_SUFFIX;

/// Suffix of the kept previous files.
pub const PREV_SUFFIX: &str = ".prev";
/// The lock file in `updates/`.
pub const LOCK_FILE: &str = ".deploy.lock";

/// An installation step failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The firmware name cannot be installed under `updates/`.
    #[error("firmware name {name:?}: {why}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}{}", path.display(), permission_hint(source))]
    Io {
        /// What was done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another deployment holds the lock.
    #[error("another deployment is in progress ({} is locked)", .0.display())]
    Busy(PathBuf),
}

fn permission_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::PermissionDenied {
        " (installing a firmware needs write access to /lib/firmware/updates: run as root)"
    } else {
        ""
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> InstallError + 'a {
    move |source| InstallError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// `base/updates/NAME` for a firmware name as the remoteproc `firmware`
/// attribute holds it: relative, no `..` component, no empty component.
pub fn updates_path(base: &Path, name: &str) -> Result<PathBuf, InstallError> {
    let refuse = |why| InstallError::Name {
        name: name.to_string(),
        why,
    };
    if name.is_empty() || name.contains('\n') {
        return Err(refuse("empty or more than one line"));
    }
    if name.starts_with('/') {
        return Err(refuse(
            "absolute: the kernel looks it up below each firmware directory",
        ));
    }
    if name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(refuse("has an empty, '.' or '..' component"));
    }
    Ok(base.join("updates").join(name))
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn fsync_dir(dir: &Path) -> Result<(), InstallError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync", dir))
}

/// A temporary copy of `from` next to `target`, written and fsynced.
fn stage_one(from: &Path, target: &Path) -> Result<PathBuf, InstallError> {
    let data = fs::read(from).map_err(io_err("read", from))?;
    let tmp = with_suffix(target, &format!(".deploy-{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    f.write_all(&data).and_then(|_| f.sync_all()).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        InstallError::Io {
            op: "write",
            path: tmp.clone(),
            source: e,
        }
    })?;
    Ok(tmp)
}

/// The directory an install of `name` below `base` writes into first: the
/// target's directory, or its nearest ancestor that exists (the install
/// creates the rest), never above `base`.
pub fn install_dir(base: &Path, name: &str) -> Result<PathBuf, InstallError> {
    let target = updates_path(base, name)?;
    let mut dir = target.parent().expect("below updates/");
    while !dir.is_dir() && dir != base {
        dir = dir.parent().expect("below base");
    }
    Ok(dir.to_path_buf())
}

/// Checks, before anything is read or changed, that this process may
/// install `name` below `base` (write access to [`install_dir`]), so a
/// user who may not deploy learns it first, with the reason, and not
/// after a firmware check that needs other rights.
pub fn check_writable(base: &Path, name: &str) -> Result<(), InstallError> {
    let dir = install_dir(base, name)?;
    nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).map_err(|e| InstallError::Io {
        op: "write to",
        path: dir,
        source: io::Error::from(e),
    })
}

/// The new files, written beside their targets; nothing the kernel loads
/// has changed yet.
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    elf_tmp: Option<PathBuf>,
    sig_tmp: Option<PathBuf>,
    lock: Option<Flock<File>>,
}

impl Staged {
    /// Stages `elf` (and `sig`, its signature, when given) for
    /// `base/updates/NAME`, creating the directories.
    pub fn stage(
        base: &Path,
        name: &str,
        elf: &Path,
        sig: Option<&Path>,
    ) -> Result<Staged, InstallError> {
        let target = updates_path(base, name)?;
        let updates = base.join("updates");
        let dir = target.parent().expect("below updates/").to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let lock_path = updates.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| InstallError::Busy(lock_path.clone()))?;
        let mut staged = Staged {
            target: target.clone(),
            elf_tmp: None,
            sig_tmp: None,
            lock: Some(lock),
        };
        staged.elf_tmp = Some(stage_one(elf, &target)?);
        if let Some(sig) = sig {
            staged.sig_tmp = Some(stage_one(sig, &with_suffix(&target, SIG_SUFFIX))?);
        }
        Ok(staged)
    }

    /// Where the firmware will be: `base/updates/NAME`.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Keeps the current files as `.prev` and moves the new ones in.
    pub fn commit(mut self) -> Result<Deployed, InstallError> {
        let target = self.target.clone();
        let sig_target = with_suffix(&target, SIG_SUFFIX);
        let dir = target.parent().expect("below updates/").to_path_buf();
        let mut had = [false, false];
        for (i, t) in [&target, &sig_target].into_iter().enumerate() {
            let prev = with_suffix(t, PREV_SUFFIX);
            match fs::remove_file(&prev) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &prev)(e)),
            }
            match fs::hard_link(t, &prev) {
                Ok(()) => had[i] = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("keep (link)", t)(e)),
            }
        }
        let deployed = Deployed {
            target: target.clone(),
            had_elf: had[0],
            had_sig: had[1],
            _lock: None,
        };
        // From here a failure rolls back what was moved.
        let step = (|| {
            let elf_tmp = self.elf_tmp.take().expect("staged");
            fs::rename(&elf_tmp, &target).map_err(|e| {
                let _ = fs::remove_file(&elf_tmp);
                io_err("rename", &target)(e)
            })?;
            match self.sig_tmp.take() {
                Some(tmp) => fs::rename(&tmp, &sig_target).map_err(|e| {
                    let _ = fs::remove_file(&tmp);
                    io_err("rename", &sig_target)(e)
                })?,
                None => match fs::remove_file(&sig_target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove", &sig_target)(e)),
                },
            }
            fsync_dir(&dir)
        })();
        let deployed = Deployed {
            _lock: self.lock.take(),
            ..deployed
        };
        match step {
            Ok(()) => Ok(deployed),
            Err(e) => {
                let _ = deployed.rollback();
                Err(e)
            }
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for t in [self.elf_tmp.take(), self.sig_tmp.take()]
            .into_iter()
            .flatten()
        {
            let _ = fs::remove_file(t);
        }
    }
}

/// The new firmware in place; the previous one kept.
#[derive(Debug)]
pub struct Deployed {
    target: PathBuf,
    had_elf: bool,
    had_sig: bool,
    _lock: Option<Flock<File>>,
}

impl Deployed {
    /// The installed file.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether `updates/` held a previous file (else the rollback removes
    /// ours and the shipped `/lib/firmware` file serves again).
    pub fn had_previous(&self) -> bool {
        self.had_elf
    }

    /// The previous file the rollback restores, when there was one.
    pub fn previous(&self) -> Option<PathBuf> {
        self.had_elf.then(|| with_suffix(&self.target, PREV_SUFFIX))
    }

    /// Puts the previous files back (or removes the new ones when there
    /// were none), atomically per file, and syncs the directory.
    pub fn rollback(self) -> Result<(), InstallError> {
        let sig_target = with_suffix(&self.target, SIG_SUFFIX);
        for (t, had) in [(&self.target, self.had_elf), (&sig_target, self.had_sig)] {
            if had {
                let prev = with_suffix(t, PREV_SUFFIX);
                fs::rename(&prev, t).map_err(io_err("restore", &prev))?;
            } else {
                match fs::remove_file(t) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("remove", t)(e)),
                }
            }
        }
        fsync_dir(self.target.parent().expect("below updates/"))
    }

    /// Keeps the new firmware (and the `.prev` files).
    pub fn keep(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_would_not_look_up_there_are_refused() {
        let b = Path::new("/lib/firmware");
        assert_eq!(
            updates_path(b, "rtd-amp/fw.elf").unwrap(),
            Path::new("/lib/firmware/updates/rtd-amp/fw.elf")
        );
        for bad in ["", "/etc/x", "a/../b", "..", "a//b", "./a", "a\nb"] {
            assert!(updates_path(b, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_write_check_looks_at_the_directory_the_install_creates_in() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("lib/firmware");
        fs::create_dir_all(&base).unwrap();
        let name = "rtd-amp/fw.elf";
        assert_eq!(install_dir(&base, name).unwrap(), base);
        fs::create_dir_all(base.join("updates")).unwrap();
        assert_eq!(install_dir(&base, name).unwrap(), base.join("updates"));
        fs::create_dir_all(base.join("updates/rtd-amp")).unwrap();
        assert_eq!(
            install_dir(&base, name).unwrap(),
            base.join("updates/rtd-amp")
        );
        check_writable(&base, name).unwrap();
        assert!(
            check_writable(&base, "../x").is_err(),
            "a bad name is refused first"
        );
        // Root passes access(W_OK) on any directory, so the denial itself is
        // the twin's case (tests.d/74-deploy.sh, an application user).
    }

    #[test]
    fn staging_changes_nothing_and_one_deployment_at_a_time() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("lib/firmware");
        let new = d.path().join("new.elf");
        fs::write(&new, b"new").unwrap();
        let s = Staged::stage(&base, "rtd-amp/fw.elf", &new, None).unwrap();
        assert!(!s.target().exists());
        let e = Staged::stage(&base, "rtd-amp/fw.elf", &new, None).unwrap_err();
        assert!(matches!(e, InstallError::Busy(_)), "{e}");
        drop(s);
        // The temporaries are gone with it, and the lock is free again.
        let dir = base.join("updates/rtd-amp");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        let s = Staged::stage(&base, "rtd-amp/fw.elf", &new, None).unwrap();
        let deployed = s.commit().unwrap();
        assert_eq!(fs::read(deployed.target()).unwrap(), b"new");
        assert_eq!(deployed.previous(), None);
        deployed.rollback().unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }
}

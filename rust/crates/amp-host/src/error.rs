//! Errors with messages a user can act on.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use amp_proto::bulk::BulkError;
use nix::errno::Errno;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bulk channel refused: a record longer than allowed, or rings the
    /// firmware corrupted or initialized again (attach again: a new
    /// `BulkDevice::channel`).
    #[error("bulk channel {}: {source}", path.display())]
    Bulk {
        /// The bulk device.
        path: PathBuf,
        /// What amp-proto found.
        #[source]
        source: BulkError,
    },
    /// A system call on a path failed.
    #[error("{op} {}: {source}: {}", path.display(), hint_for(op, path, source))]
    Io {
        /// What was being done ("open", "write", "ioctl CREATE_EPT"...).
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// No remote processor matches.
    #[error("no remote processor {0:?}: `ampctl list` shows the ones the kernel registered (is the rtd_amp_rproc module loaded?)")]
    NoSuchRemoteproc(String),
    /// A sysfs attribute holds something unexpected.
    #[error("{}: unexpected value {value:?}", path.display())]
    Parse {
        /// Attribute.
        path: PathBuf,
        /// What it held.
        value: String,
    },
    /// An operation needs another state.
    #[error("{what} needs the remote processor {needed}, it is {state}: {hint}")]
    WrongState {
        /// The operation.
        what: &'static str,
        /// State it needs.
        needed: &'static str,
        /// State it has.
        state: String,
        /// What to do.
        hint: &'static str,
    },
    /// The core did not power off after a stop request (`device/core_state`
    /// reads `stuck`): PSCI cannot power off another core, so it stays on
    /// until the next reboot, whatever `state` says, and the driver refuses
    /// to start or recover it. Retrying cannot help.
    #[error("{device}: the core did not power off after a stop request and stays on until the next reboot (core_state: stuck): reboot needed; it cannot be started, recovered or attached until then (see dmesg)")]
    CoreStuck {
        /// The remote processor (`remoteprocN`).
        device: String,
    },
    /// A message over the RPMsg limit.
    #[error("message of {0} bytes is too long: an RPMsg message carries at most 496 bytes")]
    MessageTooLong(usize),
    /// Nothing arrived or happened in time.
    #[error("{what}: nothing after {after:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
    /// No such RPMsg device or channel.
    #[error("{0}")]
    NotFound(String),
    /// The firmware's control service answered with an error or something
    /// unexpected.
    #[error("control service: {0}")]
    Control(String),
    /// The firmware check failed.
    #[error(transparent)]
    Check(#[from] crate::fwcheck::CheckError),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn errno(op: &'static str, path: impl Into<PathBuf>, e: Errno) -> Self {
        Error::io(op, path, io::Error::from_raw_os_error(e as i32))
    }

    /// The errno behind the error, when there is one (for C callers).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::NoSuchRemoteproc(_) | Error::NotFound(_) => Some(libc_errno::ENODEV),
            // What the driver answers to `start` and `recover` while stuck.
            Error::WrongState { .. } | Error::CoreStuck { .. } => Some(libc_errno::EBUSY),
            Error::MessageTooLong(_) => Some(libc_errno::EMSGSIZE),
            Error::Timeout { .. } => Some(libc_errno::ETIMEDOUT),
            Error::Parse { .. } | Error::Check(_) => Some(libc_errno::EINVAL),
            Error::Control(_) => Some(libc_errno::EPROTO),
            Error::Bulk { source, .. } => Some(match source {
                BulkError::TooLong { .. } => libc_errno::EMSGSIZE,
                BulkError::Empty | BulkError::Full => libc_errno::EAGAIN,
                BulkError::Reset => libc_errno::ECONNRESET,
                BulkError::BadRegion { .. } | BulkError::Corrupt { .. } => libc_errno::EPROTO,
            }),
        }
    }
}

mod libc_errno {
    use nix::errno::Errno;
    pub const ENODEV: i32 = Errno::ENODEV as i32;
    pub const EBUSY: i32 = Errno::EBUSY as i32;
    pub const EMSGSIZE: i32 = Errno::EMSGSIZE as i32;
    pub const ETIMEDOUT: i32 = Errno::ETIMEDOUT as i32;
    pub const EINVAL: i32 = Errno::EINVAL as i32;
    pub const EAGAIN: i32 = Errno::EAGAIN as i32;
    pub const ECONNRESET: i32 = Errno::ECONNRESET as i32;
    pub const EPROTO: i32 = Errno::EPROTO as i32;
}

/// [`hint`], sharpened by what was being done: the same errno means
/// different things for different requests.
pub fn hint_for(op: &str, path: &std::path::Path, e: &io::Error) -> &'static str {
    let errno = e.raw_os_error().map(Errno::from_raw);
    let unknown_request = matches!(errno, Some(Errno::EINVAL) | Some(Errno::ENOTTY));
    if op.contains("FLOWCONTROL") && unknown_request {
        return "this kernel has no RPMsg flow-control ioctls (Linux 6.2+), or this is not an rpmsg endpoint device";
    }
    if op.contains("DESTROY_EPT") && errno == Some(Errno::EINVAL) {
        return "the endpoint of an announced channel cannot be destroyed (only ones made with create_endpoint): close it instead";
    }
    if op.contains("CREATE_EPT") && errno == Some(Errno::EINVAL) {
        return "the kernel refused the endpoint (name 1..31 bytes; a source address below 1024 is reserved; check dmesg)";
    }
    if op == "write" && path.ends_with("firmware") && errno == Some(Errno::EBUSY) {
        return "the firmware can only change while the remote processor is offline: stop it first";
    }
    hint(e)
}

/// What a user can do about an OS error in this domain.
pub fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EBUSY) => "busy: another process has this endpoint open, or the remote processor must be stopped first",
        Some(Errno::ENETRESET) => "the remote processor restarted: close the endpoint and open it again",
        Some(Errno::EPIPE) => "the channel is gone (remote processor stopped or crashed): reopen it once the firmware runs again",
        Some(Errno::EMSGSIZE) => "message too long: at most 496 bytes per message",
        Some(Errno::ENXIO) | Some(Errno::ENODEV) => "no such device: is the firmware running and has it announced this channel?",
        Some(Errno::ENOENT) => "not found: check the name (`ampctl list`) and that the modules are loaded",
        Some(Errno::EACCES) | Some(Errno::EPERM) => "permission denied: run as root or as a member of the group the udev rule names",
        Some(Errno::ETIMEDOUT) => "timed out: the remote processor did not answer",
        Some(Errno::EAGAIN) => "nothing to read yet (non-blocking)",
        Some(Errno::EINVAL) => "the kernel refused the request: check the value and dmesg",
        Some(Errno::ENOTTY) => "the device does not know this request: is it an rpmsg device?",
        Some(Errno::EOPNOTSUPP) => "the transport does not support this (virtio-rpmsg has no flow control)",
        Some(Errno::ENOMEM) => "out of memory or no free RPMsg buffer: retry later",
        _ => "see dmesg for the kernel's side",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_messages_say_what_to_do() {
        let e = Error::errno("open", "/dev/rpmsg0", Errno::EBUSY);
        let s = e.to_string();
        assert!(s.starts_with("open /dev/rpmsg0: "), "{s}");
        assert!(s.contains("another process has this endpoint open"), "{s}");
        assert_eq!(e.raw_os_error(), Some(Errno::EBUSY as i32));
        for (errno, words) in [
            (Errno::ENETRESET, "open it again"),
            (Errno::EPIPE, "channel is gone"),
            (Errno::EMSGSIZE, "496"),
            (Errno::ENXIO, "announced"),
            (Errno::EACCES, "group"),
        ] {
            let s = Error::errno("write", "/dev/rpmsg1", errno).to_string();
            assert!(s.contains(words), "{errno}: {s}");
        }
        for (op, errno, words) in [
            (
                "ioctl RPMSG_GET_OUTGOING_FLOWCONTROL on",
                Errno::EINVAL,
                "Linux 6.2+",
            ),
            (
                "ioctl RPMSG_SET_INCOMING_FLOWCONTROL on",
                Errno::ENOTTY,
                "Linux 6.2+",
            ),
            (
                "ioctl RPMSG_DESTROY_EPT on",
                Errno::EINVAL,
                "close it instead",
            ),
            ("ioctl RPMSG_CREATE_EPT on", Errno::EINVAL, "below 1024"),
            ("ioctl RPMSG_DESTROY_EPT on", Errno::ENOTTY, "rpmsg device"),
            ("write", Errno::EINVAL, "dmesg"),
        ] {
            let s = Error::errno(op, "/dev/rpmsg2", errno).to_string();
            assert!(s.contains(words), "{op} {errno}: {s}");
        }
        let s = Error::errno(
            "write",
            "/sys/class/remoteproc/remoteproc0/firmware",
            Errno::EBUSY,
        )
        .to_string();
        assert!(s.contains("stop it first"), "{s}");
        let e = Error::CoreStuck {
            device: "remoteproc0".into(),
        };
        let s = e.to_string();
        assert!(
            s.starts_with("remoteproc0: ") && s.contains("reboot needed"),
            "{s}"
        );
        assert_eq!(e.raw_os_error(), Some(Errno::EBUSY as i32));
        assert_eq!(
            Error::MessageTooLong(497).raw_os_error(),
            Some(Errno::EMSGSIZE as i32)
        );
    }
}

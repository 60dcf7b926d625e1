//! RPMsg on Linux: announced channels, the control device, endpoints.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;

use crate::uapi::{self, rpmsg_endpoint_info};
use crate::{Error, Result, Sys};

/// Largest payload of one message.
pub const MAX_PAYLOAD: usize = 496;
/// How long [`Endpoint::send_timeout`] waits for `POLLOUT` between two
/// tries to write (virtio-rpmsg never reports it).
pub const SEND_RETRY: Duration = Duration::from_millis(2);
/// `RPMSG_ADDR_ANY`: let the kernel pick the local address.
pub const ADDR_ANY: u32 = uapi::RPMSG_ADDR_ANY;

/// A channel the remote announced (`/sys/bus/rpmsg/devices/*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// Bus device name, e.g. `virtio0.rpmsg-raw.-1.1024`.
    pub device: String,
    /// Channel name.
    pub name: String,
    /// Local (Linux) address.
    pub src: u32,
    /// Remote address.
    pub dst: u32,
    /// Bound driver, if any.
    pub driver: Option<String>,
}

fn read_u32(path: &Path) -> Option<u32> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse::<i64>().ok().map(|v| v as u32),
    }
}

fn read_str(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// Every announced channel.
pub fn channels(sys: &Sys) -> Result<Vec<Channel>> {
    let dir = sys.rpmsg_devices();
    let rd = match fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    let mut v: Vec<Channel> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            Some(Channel {
                device: e.file_name().into_string().ok()?,
                name: read_str(&p.join("name"))?,
                src: read_u32(&p.join("src")).unwrap_or(ADDR_ANY),
                dst: read_u32(&p.join("dst")).unwrap_or(ADDR_ANY),
                driver: fs::read_link(p.join("driver"))
                    .ok()
                    .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned())),
            })
        })
        .collect();
    v.sort_by(|a, b| a.device.cmp(&b.device));
    Ok(v)
}

/// `/dev/rpmsgN` character devices that exist now (endpoint devices).
pub fn endpoint_devices(sys: &Sys) -> BTreeSet<PathBuf> {
    let mut s = BTreeSet::new();
    if let Ok(rd) = fs::read_dir(&sys.dev) {
        for e in rd.filter_map(|e| e.ok()) {
            let n = e.file_name().to_string_lossy().into_owned();
            if is_numbered(&n, "rpmsg") {
                s.insert(e.path());
            }
        }
    }
    s
}

/// `/dev/ttyRPMSGN` devices that exist now.
pub fn tty_devices(sys: &Sys) -> BTreeSet<PathBuf> {
    let mut s = BTreeSet::new();
    if let Ok(rd) = fs::read_dir(&sys.dev) {
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().starts_with("ttyRPMSG") {
                s.insert(e.path());
            }
        }
    }
    s
}

/// An endpoint character device as sysfs describes it
/// (`/sys/class/rpmsg/rpmsgN/{name,src,dst,device}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointDevice {
    /// The device node, `/dev/rpmsgN`.
    pub path: PathBuf,
    /// Channel/endpoint name.
    pub name: String,
    /// Local address (`ADDR_ANY` when the kernel picks it).
    pub src: u32,
    /// Remote address.
    pub dst: u32,
    /// The parent device: the announced channel's bus device (e.g.
    /// `virtio0.rpmsg-raw.-1.1024`) for the endpoint `rpmsg_char` made for
    /// it, or `rpmsg_ctrlN` for one made with [`Ctrl::create_endpoint`].
    pub parent: Option<String>,
}

fn parent_of(class_dev: &Path) -> Option<String> {
    fs::read_link(class_dev.join("device"))
        .ok()
        .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
}

fn is_numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|i| !i.is_empty() && i.bytes().all(|c| c.is_ascii_digit()))
}

/// Every endpoint device sysfs knows (`/sys/class/rpmsg/rpmsgN`), sorted by
/// path; the node in [`Sys::dev`] need not exist yet (udev may lag).
pub fn endpoints(sys: &Sys) -> Result<Vec<EndpointDevice>> {
    let class = sys.rpmsg_class();
    let rd = match fs::read_dir(&class) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("list", class, e)),
    };
    let mut v: Vec<EndpointDevice> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            if !is_numbered(&n, "rpmsg") {
                return None;
            }
            let p = e.path();
            Some(EndpointDevice {
                path: sys.dev.join(&n),
                name: read_str(&p.join("name")).unwrap_or_default(),
                src: read_u32(&p.join("src")).unwrap_or(ADDR_ANY),
                dst: read_u32(&p.join("dst")).unwrap_or(ADDR_ANY),
                parent: parent_of(&p),
            })
        })
        .collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(v)
}

/// The `/dev/rpmsgN` of an endpoint called `name` (and talking to `dst`
/// when given): e.g. `find_endpoint(&sys, "rpmsg-raw", None)` for the
/// firmware's echo channel.
pub fn find_endpoint(sys: &Sys, name: &str, dst: Option<u32>) -> Result<PathBuf> {
    endpoints(sys)?
        .into_iter()
        .find(|e| e.name == name && dst.is_none_or(|d| d == e.dst))
        .map(|e| e.path)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no /dev/rpmsgN for endpoint {name:?}{}: is the firmware running and has it announced the channel? (`ampctl list` shows the channels)",
                dst.map(|d| format!(" to {d}")).unwrap_or_default()
            ))
        })
}

/// Indices N of the control devices `/dev/rpmsg_ctrlN` (one per rpmsg bus
/// instance, e.g. per remote processor), from `/sys/class/rpmsg`.
pub fn ctrl_indices(sys: &Sys) -> Vec<u32> {
    let mut v: Vec<u32> = fs::read_dir(sys.rpmsg_class())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("rpmsg_ctrl")?
                .parse()
                .ok()
        })
        .collect();
    v.sort_unstable();
    v
}

impl Channel {
    /// The device nodes made for this channel: its `/dev/rpmsgN`
    /// (`rpmsg_char`) and/or `/dev/ttyRPMSGN` (`rpmsg_tty`), found through
    /// the `device` links in `/sys/class/{rpmsg,tty}`.
    pub fn dev_nodes(&self, sys: &Sys) -> Vec<PathBuf> {
        let mut v = vec![];
        for (class, prefix) in [(sys.rpmsg_class(), "rpmsg"), (sys.tty_class(), "ttyRPMSG")] {
            for e in fs::read_dir(&class)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
            {
                let n = e.file_name().to_string_lossy().into_owned();
                if is_numbered(&n, prefix) && parent_of(&e.path()).as_deref() == Some(&self.device)
                {
                    v.push(sys.dev.join(n));
                }
            }
        }
        v.sort();
        v
    }
}

fn endpoint_info(name: &str, src: u32, dst: u32) -> Result<rpmsg_endpoint_info> {
    let mut info = rpmsg_endpoint_info::default();
    let b = name.as_bytes();
    if b.len() >= info.name.len() || b.contains(&0) {
        return Err(Error::NotFound(format!(
            "endpoint name {name:?} must be 1..31 bytes without NUL"
        )));
    }
    for (d, s) in info.name.iter_mut().zip(b) {
        *d = *s as _;
    }
    info.src = src;
    info.dst = dst;
    Ok(info)
}

/// `/dev/rpmsg_ctrlN`.
#[derive(Debug)]
pub struct Ctrl {
    file: File,
    path: PathBuf,
    index: u32,
    sys: Sys,
}

impl Ctrl {
    /// Opens `/dev/rpmsg_ctrl<index>`.
    pub fn open(sys: &Sys, index: u32) -> Result<Self> {
        let path = sys.dev.join(format!("rpmsg_ctrl{index}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        Ok(Ctrl {
            file,
            path,
            index,
            sys: sys.clone(),
        })
    }

    /// N of `/dev/rpmsg_ctrlN`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Creates an endpoint (`RPMSG_CREATE_EPT_IOCTL`) and returns the path of
    /// its new `/dev/rpmsgN`, waiting up to `timeout` for udev/devtmpfs.
    ///
    /// The new device is recognised in `/sys/class/rpmsg` by its parent
    /// (this control device), name and addresses, so endpoints another
    /// process creates at the same time are not mistaken for it; without
    /// that class directory, by the node that appeared in `/dev`.
    pub fn create_endpoint(
        &self,
        name: &str,
        src: u32,
        dst: u32,
        timeout: Duration,
    ) -> Result<PathBuf> {
        let info = endpoint_info(name, src, dst)?;
        let before = endpoint_devices(&self.sys);
        let known: BTreeSet<PathBuf> = endpoints(&self.sys)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect();
        let by_sysfs = self.sys.rpmsg_class().is_dir();
        let parent = format!("rpmsg_ctrl{}", self.index);
        // SAFETY: the fd is a rpmsg_ctrl device and `info` outlives the call.
        unsafe { uapi::rpmsg_create_ept(self.file.as_raw_fd(), &info) }
            .map_err(|e| Error::errno("ioctl RPMSG_CREATE_EPT on", &self.path, e))?;
        let end = Instant::now() + timeout;
        loop {
            let found = if by_sysfs {
                endpoints(&self.sys)?
                    .into_iter()
                    .find(|e| {
                        !known.contains(&e.path)
                            && e.parent.as_deref() == Some(parent.as_str())
                            && e.name == name
                            && e.src == src
                            && e.dst == dst
                            && e.path.exists()
                    })
                    .map(|e| e.path)
            } else {
                endpoint_devices(&self.sys)
                    .difference(&before)
                    .next()
                    .cloned()
            };
            if let Some(p) = found {
                return Ok(wait_accessible(p, end));
            }
            if Instant::now() >= end {
                return Err(Error::Timeout {
                    what: format!("the /dev/rpmsgN of endpoint {name:?}"),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asks the kernel to create an rpmsg device for a channel
    /// (`RPMSG_CREATE_DEV_IOCTL`), e.g. to bind `rpmsg_chrdev` to it.
    pub fn create_device(&self, name: &str, src: u32, dst: u32) -> Result<()> {
        let info = endpoint_info(name, src, dst)?;
        // SAFETY: as above.
        unsafe { uapi::rpmsg_create_dev(self.file.as_raw_fd(), &info) }
            .map(|_| ())
            .map_err(|e| Error::errno("ioctl RPMSG_CREATE_DEV on", &self.path, e))
    }

    /// Releases a device created with [`Self::create_device`].
    pub fn release_device(&self, name: &str, src: u32, dst: u32) -> Result<()> {
        let info = endpoint_info(name, src, dst)?;
        // SAFETY: as above.
        unsafe { uapi::rpmsg_release_dev(self.file.as_raw_fd(), &info) }
            .map(|_| ())
            .map_err(|e| Error::errno("ioctl RPMSG_RELEASE_DEV on", &self.path, e))
    }
}

/// `path` once the caller may read and write it, or at `end`. devtmpfs
/// creates a new node `root:root` 0600 and udev gives it its group and mode
/// a moment later: an unprivileged member of that group opening it at once
/// gets EACCES (seen in the systemd twin). Root passes at once; a caller who
/// never gets access finds out from the open that follows.
fn wait_accessible(path: PathBuf, end: Instant) -> PathBuf {
    use nix::unistd::{access, AccessFlags};
    while access(&path, AccessFlags::R_OK | AccessFlags::W_OK) == Err(Errno::EACCES)
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    path
}

/// An open endpoint (`/dev/rpmsgN`): one write is one message.
#[derive(Debug)]
pub struct Endpoint {
    file: File,
    path: PathBuf,
}

impl Endpoint {
    /// Opens an endpoint device (blocking I/O; see [`Self::set_nonblocking`]).
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        Ok(Endpoint {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Switches non-blocking mode (for poll/epoll and async runtimes).
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let fl = fcntl(self.file.as_raw_fd(), FcntlArg::F_GETFL)
            .map_err(|e| Error::errno("fcntl", &self.path, e))?;
        let mut fl = OFlag::from_bits_truncate(fl);
        fl.set(OFlag::O_NONBLOCK, on);
        fcntl(self.file.as_raw_fd(), FcntlArg::F_SETFL(fl))
            .map(|_| ())
            .map_err(|e| Error::errno("fcntl", &self.path, e))
    }

    /// Sends one message.
    pub fn send(&mut self, msg: &[u8]) -> Result<()> {
        if msg.len() > MAX_PAYLOAD {
            return Err(Error::MessageTooLong(msg.len()));
        }
        self.write_message(msg)
    }

    /// Sends one message, waiting at most `timeout` for room (forever when
    /// `None`, as [`Self::send`]). `Error::Timeout` (ETIMEDOUT) when the
    /// kernel had no free buffer in time; nothing is written then.
    ///
    /// Room is found by writing: virtio-rpmsg, the transport of every
    /// rtd-amp endpoint, never reports `POLLOUT` (`virtio_rpmsg_bus.c` has
    /// no `poll` operation in Linux 6.1 or 6.12, so `rpmsg_char`'s poll
    /// gives only `POLLIN`; waiting for `POLLOUT` first timed out on every
    /// send, seen in the twin's librtdamp echo). With a timeout the write
    /// is non-blocking (`rpmsg_char` then uses `rpmsg_trysend`: `EAGAIN`
    /// when no buffer is free); between tries the call waits for `POLLOUT`
    /// at most [`SEND_RETRY`] (a transport that reports it ends the wait at
    /// once), against the same monotonic deadline.
    pub fn send_timeout(&mut self, msg: &[u8], timeout: Option<Duration>) -> Result<()> {
        if msg.len() > MAX_PAYLOAD {
            return Err(Error::MessageTooLong(msg.len()));
        }
        let Some(t) = timeout else {
            return self.write_message(msg);
        };
        let deadline = Instant::now().checked_add(t);
        loop {
            if self.try_write_message(msg)? {
                return Ok(());
            }
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Err(Error::Timeout {
                    what: format!("room to send on {}", self.path.display()),
                    after: t,
                });
            }
            match self.wait_ready(PollFlags::POLLOUT, left.min(SEND_RETRY), "room to send") {
                Ok(()) | Err(Error::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One non-blocking write of `msg`: `Ok(false)` when the kernel had no
    /// free buffer (`EAGAIN`). The descriptor's own mode is restored.
    fn try_write_message(&mut self, msg: &[u8]) -> Result<bool> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let fd = self.file.as_raw_fd();
        let fl = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| Error::errno("fcntl", &self.path, e))?;
        let fl = OFlag::from_bits_truncate(fl);
        let nb = fl | OFlag::O_NONBLOCK;
        if nb != fl {
            fcntl(fd, FcntlArg::F_SETFL(nb)).map_err(|e| Error::errno("fcntl", &self.path, e))?;
        }
        let r = self.write_message(msg);
        if nb != fl {
            fcntl(fd, FcntlArg::F_SETFL(fl)).map_err(|e| Error::errno("fcntl", &self.path, e))?;
        }
        match r {
            Ok(()) => Ok(true),
            Err(Error::Io { ref source, .. })
                if source.kind() == std::io::ErrorKind::WouldBlock =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn write_message(&mut self, msg: &[u8]) -> Result<()> {
        let n = self
            .file
            .write(msg)
            .map_err(|e| Error::io("write", &self.path, e))?;
        if n != msg.len() {
            return Err(Error::io(
                "write",
                &self.path,
                std::io::Error::other(format!("short write: {n} of {} bytes", msg.len())),
            ));
        }
        Ok(())
    }

    /// Receives one message into `buf`; waits at most `timeout` (forever
    /// when `None`). Returns the message length.
    pub fn recv(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        if let Some(t) = timeout {
            self.wait_ready(PollFlags::POLLIN, t, "a message")?;
        }
        self.file
            .read(buf)
            .map_err(|e| Error::io("read", &self.path, e))
    }

    /// Waits until the descriptor is ready for `want` (`POLLIN` or
    /// `POLLOUT`) or `timeout` has passed. The deadline is monotonic: a
    /// signal that interrupts `poll` (EINTR) resumes the wait for the time
    /// left, so neither returns early nor waits longer than asked.
    fn wait_ready(&self, want: PollFlags, timeout: Duration, what: &str) -> Result<()> {
        // `None`: further away than an `Instant` can hold, i.e. forever.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            let mut fds = [PollFd::new(self.file.as_fd(), want)];
            match poll(&mut fds, poll_timeout(left)) {
                // A signal handler ran: wait again for what is left.
                Err(Errno::EINTR) | Ok(0) => {}
                Err(e) => return Err(Error::errno("poll", &self.path, e)),
                Ok(_) => match readiness(fds[0].revents().unwrap_or(PollFlags::empty()), want) {
                    Readiness::Ready => return Ok(()),
                    Readiness::Invalid => {
                        return Err(Error::errno("poll", &self.path, Errno::EBADF))
                    }
                    Readiness::Gone => return Err(Error::errno("poll", &self.path, Errno::EPIPE)),
                    Readiness::NotYet => {}
                },
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout {
                    what: format!("{what} on {}", self.path.display()),
                    after: timeout,
                });
            }
        }
    }

    /// Whether the remote asked us to pause sending
    /// (`RPMSG_GET_OUTGOING_FLOWCONTROL`, Linux 6.2+; `poll` reports a change
    /// as `POLLPRI`). Transports without flow control never set it.
    pub fn outgoing_flow_paused(&self) -> Result<bool> {
        let mut v: std::os::raw::c_int = 0;
        // SAFETY: the fd is an rpmsg endpoint device; `v` outlives the call.
        unsafe { uapi::rpmsg_get_outgoing_flowcontrol(self.file.as_raw_fd(), &mut v) }
            .map_err(|e| Error::errno("ioctl RPMSG_GET_OUTGOING_FLOWCONTROL on", &self.path, e))?;
        Ok(v != 0)
    }

    /// Asks the remote to pause (`true`) or resume (`false`) sending to us
    /// (`RPMSG_SET_INCOMING_FLOWCONTROL`, Linux 6.2+). virtio-rpmsg has no
    /// flow control and answers `EOPNOTSUPP`.
    pub fn set_incoming_flow_paused(&self, pause: bool) -> Result<()> {
        // SAFETY: the fd is an rpmsg endpoint device; the argument is a value.
        unsafe { uapi::rpmsg_set_incoming_flowcontrol(self.file.as_raw_fd(), pause.into()) }
            .map(|_| ())
            .map_err(|e| Error::errno("ioctl RPMSG_SET_INCOMING_FLOWCONTROL on", &self.path, e))
    }

    /// Destroys the endpoint (`RPMSG_DESTROY_EPT_IOCTL`); the device goes away.
    pub fn destroy(self) -> Result<()> {
        // SAFETY: the fd is an rpmsg endpoint device.
        unsafe { uapi::rpmsg_destroy_ept(self.file.as_raw_fd()) }
            .map(|_| ())
            .map_err(|e| Error::errno("ioctl RPMSG_DESTROY_EPT on", &self.path, e))
    }
}

impl AsFd for Endpoint {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for Endpoint {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// Opens a `/dev/ttyRPMSGN` in raw mode (no echo, no line editing).
pub fn open_tty(path: &Path) -> Result<File> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    let mut t = tcgetattr(&file).map_err(|e| Error::errno("tcgetattr", path, e))?;
    cfmakeraw(&mut t);
    tcsetattr(&file, SetArg::TCSANOW, &t).map_err(|e| Error::errno("tcsetattr", path, e))?;
    Ok(file)
}

/// What one `poll` answer means for a wait for `want`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readiness {
    /// `want` is set (data may still be there after a hang-up).
    Ready,
    /// `POLLERR`/`POLLHUP` without `want`: rpmsg_char reports `POLLERR` when
    /// the endpoint is gone, where read/write fail with EPIPE.
    Gone,
    /// `POLLNVAL`: not an open descriptor.
    Invalid,
    /// Nothing we asked for (yet).
    NotYet,
}

fn readiness(revents: PollFlags, want: PollFlags) -> Readiness {
    if revents.contains(PollFlags::POLLNVAL) {
        Readiness::Invalid
    } else if revents.intersects(want) {
        Readiness::Ready
    } else if revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) {
        Readiness::Gone
    } else {
        Readiness::NotYet
    }
}

/// `left` as a `poll` timeout: whole milliseconds rounded up (so a wait never
/// ends before the deadline), at most `i32::MAX` (the loop waits again).
pub(crate) fn poll_timeout(left: Duration) -> PollTimeout {
    let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
    i32::try_from(ms)
        .ok()
        .and_then(|ms| PollTimeout::try_from(ms).ok())
        .unwrap_or(PollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_answers_are_classified() {
        use PollFlags as F;
        let r = |revents, want| readiness(revents, want);
        assert_eq!(r(F::POLLOUT, F::POLLOUT), Readiness::Ready);
        assert_eq!(r(F::POLLIN | F::POLLHUP, F::POLLIN), Readiness::Ready);
        assert_eq!(r(F::POLLERR, F::POLLOUT), Readiness::Gone);
        assert_eq!(r(F::POLLHUP, F::POLLIN), Readiness::Gone);
        assert_eq!(r(F::POLLNVAL, F::POLLIN), Readiness::Invalid);
        assert_eq!(r(F::POLLNVAL | F::POLLOUT, F::POLLOUT), Readiness::Invalid);
        assert_eq!(r(F::POLLPRI, F::POLLIN), Readiness::NotYet);
        assert_eq!(r(F::empty(), F::POLLOUT), Readiness::NotYet);
    }

    #[test]
    fn poll_timeouts_round_up_and_saturate() {
        let ms = |d| i32::from(poll_timeout(d));
        assert_eq!(ms(Duration::ZERO), 0);
        assert_eq!(ms(Duration::from_nanos(1)), 1);
        assert_eq!(ms(Duration::from_micros(1500)), 2);
        assert_eq!(ms(Duration::from_millis(250)), 250);
        assert_eq!(ms(Duration::MAX), i32::MAX);
    }

    #[test]
    fn endpoint_names_are_checked() {
        let i = endpoint_info("ctl", 0x400, 1026).unwrap();
        assert_eq!(
            (i.src, i.dst, i.name[0] as u8, i.name[3]),
            (0x400, 1026, b'c', 0)
        );
        assert!(endpoint_info(&"x".repeat(32), 1, 2).is_err());
        assert!(endpoint_info("a\0b", 1, 2).is_err());
    }
}

//! The bulk channel from Linux user space: `/dev/rtd-amp-bulkN` (the
//! driver's `rtd_amp_bulk.c`) mapped, amp-proto's rings on the mapping,
//! the device's doorbells for waiting and waking.
//!
//! Linux produces into the host → firmware ring and consumes the firmware
//! → host ring. Zero-copy: [`BulkChannel::reserve`] hands out the next
//! record's space in the ring, [`BulkChannel::recv_borrowed`] a received
//! record in place; one copy: [`BulkChannel::send`], [`BulkChannel::recv`].
//! A full ring is back-pressure: the sender waits (bounded by its
//! timeout) for the firmware to free space, nothing is dropped.
//!
//! The kernel maps the region and carries doorbells; it never reads the
//! rings. Every check on what the firmware wrote is amp-proto's.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use amp_proto::bulk::{self, BulkError, Consumer, Producer, ReadGrant, WriteGrant};
use amp_proto::shmem::Shm;
use nix::errno::Errno;
use nix::libc;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};

/// The first bulk device.
pub const DEFAULT_DEVICE: &str = "/dev/rtd-amp-bulk0";

/// An open, mapped bulk device.
pub struct BulkDevice {
    file: File,
    path: PathBuf,
    map: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is shared memory reached only through Shm (volatile,
// bounds-checked) or the unsafe slice views whose callers take the
// exclusivity promise; the File is Send + Sync.
unsafe impl Send for BulkDevice {}
// SAFETY: as above.
unsafe impl Sync for BulkDevice {}

impl std::fmt::Debug for BulkDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BulkDevice({}, {} bytes)", self.path.display(), self.len)
    }
}

fn bulk_err(path: &Path, e: BulkError) -> Error {
    Error::Bulk {
        path: path.to_path_buf(),
        source: e,
    }
}

impl BulkDevice {
    /// Opens and maps `path` (e.g. [`DEFAULT_DEVICE`]): the whole region,
    /// [`bulk::REGION_SIZE`] bytes, shared, read-write.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        let len = bulk::REGION_SIZE;
        // SAFETY: a fresh shared mapping of the device chosen by the kernel
        // (no fixed address); the result is checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::io("mmap", path, std::io::Error::last_os_error()));
        }
        Ok(BulkDevice {
            file,
            path: path.to_path_buf(),
            map: NonNull::new(p.cast()).expect("mmap returned NULL"),
            len,
        })
    }

    /// The device's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mapped region (both rings).
    pub fn region(&self) -> Shm<'_> {
        // SAFETY: `len` bytes mapped shared, read-write, as Normal memory
        // (write-combined) until drop; no Rust reference into it is held
        // except through the unsafe slice views' own promise.
        unsafe { Shm::new(self.map.as_ptr(), self.len) }
    }

    /// Rings the firmware's doorbell. (The device ignores the file
    /// position; `pwrite` past the region keeps a regular file standing in
    /// for the device in tests intact.)
    pub fn ring(&self) -> Result<()> {
        self.file
            .write_all_at(&1u64.to_ne_bytes(), self.len as u64)
            .map_err(|e| Error::io("write (doorbell)", &self.path, e))
    }

    /// Waits until the firmware rang since the last wait (any doorbell: the
    /// caller then looks at the rings) or `timeout` passed; `Ok(false)` on
    /// timeout. `None` waits forever.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let mut n = [0u8; 8];
            match self.file.read_at(&mut n, self.len as u64) {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read (doorbell)", &self.path, e)),
            }
            let left = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    crate::rpmsg::poll_timeout(left)
                }
                None if timeout.is_some() => PollTimeout::MAX,
                None => PollTimeout::NONE,
            };
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, left) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::errno("poll", &self.path, e)),
            }
        }
    }

    /// Attaches to both rings (they must be initialized: the firmware does
    /// it at boot).
    pub fn channel(&self) -> Result<BulkChannel<'_>> {
        let r = self.region();
        let e = |e| bulk_err(&self.path, e);
        Ok(BulkChannel {
            dev: self,
            tx: Producer::attach(bulk::ring(r, bulk::RING_H2F).map_err(e)?).map_err(e)?,
            rx: Consumer::attach(bulk::ring(r, bulk::RING_F2H).map_err(e)?).map_err(e)?,
        })
    }
}

/// The device's descriptor: `POLLIN` when the firmware rang (for an
/// application's own poll/epoll loop; [`BulkDevice::wait`] drains it).
impl AsFd for BulkDevice {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for BulkDevice {
    fn drop(&mut self) {
        // SAFETY: the mapping made in open(), unmapped once; every Shm and
        // grant borrows self, so none outlives it.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.len) };
    }
}

/// Linux's ends of both rings.
#[derive(Debug)]
pub struct BulkChannel<'d> {
    dev: &'d BulkDevice,
    tx: Producer<'d>,
    rx: Consumer<'d>,
}

/// Space for one record in the host → firmware ring: fill it, then
/// [`TxGrant::commit`]. Dropped uncommitted, nothing is sent.
#[derive(Debug)]
pub struct TxGrant<'c, 'd> {
    dev: &'d BulkDevice,
    g: WriteGrant<'c, 'd>,
}

/// One received record, in the firmware → host ring: read it, then
/// [`RxGrant::release`]. Dropped unreleased, it is received again.
#[derive(Debug)]
pub struct RxGrant<'c, 'd> {
    dev: &'d BulkDevice,
    g: ReadGrant<'c, 'd>,
}

fn timed_out(dev: &BulkDevice, what: &str, timeout: Option<Duration>) -> Error {
    Error::Timeout {
        what: format!("{what} on {}", dev.path.display()),
        after: timeout.unwrap_or(Duration::MAX),
    }
}

impl<'d> BulkChannel<'d> {
    /// The longest payload of one record.
    pub fn max_payload(&self) -> usize {
        self.tx.max_payload()
    }

    /// Reserves room for `len` payload bytes, waiting at most `timeout`
    /// (`None`: forever) while the ring is full.
    pub fn reserve(&mut self, len: usize, timeout: Option<Duration>) -> Result<TxGrant<'_, 'd>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let dev = self.dev;
        loop {
            // The borrow checker cannot see that Full ends the borrow of a
            // failed attempt: ask first, then take the grant.
            match self.tx.try_reserve(len) {
                Ok(_) => break,
                Err(BulkError::Full) => {}
                Err(e) => return Err(bulk_err(&dev.path, e)),
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) || !dev.wait(left)? {
                return Err(timed_out(dev, "room in the bulk ring", timeout));
            }
        }
        let g = self
            .tx
            .try_reserve(len)
            .map_err(|e| bulk_err(&dev.path, e))?;
        Ok(TxGrant { dev, g })
    }

    /// One copy: sends `data` with `tag`, waiting at most `timeout` for room.
    pub fn send(&mut self, data: &[u8], tag: u32, timeout: Option<Duration>) -> Result<()> {
        let g = self.reserve(data.len(), timeout)?;
        g.payload().write_bytes(0, data);
        g.commit(data.len(), tag)
    }

    /// The next record from the firmware, in place, waiting at most
    /// `timeout` for one.
    pub fn recv_borrowed(&mut self, timeout: Option<Duration>) -> Result<RxGrant<'_, 'd>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let dev = self.dev;
        loop {
            match self.rx.try_recv() {
                Ok(_) => break,
                Err(BulkError::Empty) => {}
                Err(e) => return Err(bulk_err(&dev.path, e)),
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) || !dev.wait(left)? {
                return Err(timed_out(dev, "a record in the bulk ring", timeout));
            }
        }
        let g = self.rx.try_recv().map_err(|e| bulk_err(&dev.path, e))?;
        Ok(RxGrant { dev, g })
    }

    /// One copy: receives the next record into `buf`; returns its length
    /// and tag. A record longer than `buf` stays in the ring (`TooLong`).
    pub fn recv(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<(usize, u32)> {
        let path = self.dev.path.clone();
        let g = self.recv_borrowed(timeout)?;
        if g.len() > buf.len() {
            return Err(bulk_err(
                &path,
                BulkError::TooLong {
                    len: g.len(),
                    max: buf.len(),
                },
            ));
        }
        let (n, tag) = (g.len(), g.tag());
        g.payload().read_bytes(0, &mut buf[..n]);
        g.release()?;
        Ok((n, tag))
    }
}

impl<'d> TxGrant<'_, 'd> {
    /// The reserved bytes, in the ring.
    pub fn payload(&self) -> Shm<'d> {
        self.g.payload()
    }

    /// The reserved bytes as a slice, in the ring (zero-copy).
    ///
    /// # Safety
    /// The firmware must not touch these bytes before the commit (the
    /// protocol gives them to Linux; the firmware follows it), and nothing
    /// else in this process may access them while the slice lives.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the caller's promise is WriteGrant::as_mut_slice's.
        unsafe { self.g.as_mut_slice() }
    }

    /// Sends the first `len` bytes with `tag`; rings the firmware's doorbell
    /// when it asked for one.
    pub fn commit(self, len: usize, tag: u32) -> Result<()> {
        if self.g.commit(len, tag) {
            self.dev.ring()?;
        }
        Ok(())
    }
}

impl<'d> RxGrant<'_, 'd> {
    /// The payload, in the ring.
    pub fn payload(&self) -> Shm<'d> {
        self.g.payload()
    }

    /// Payload length.
    pub fn len(&self) -> usize {
        self.g.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.g.is_empty()
    }

    /// The firmware's tag.
    pub fn tag(&self) -> u32 {
        self.g.tag()
    }

    /// The payload as a slice, in the ring (zero-copy).
    ///
    /// # Safety
    /// The firmware must not write the record before it is released (the
    /// protocol forbids it; the firmware follows it), nor may anything in
    /// this process.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the caller's promise is ReadGrant::as_slice's.
        unsafe { self.g.as_slice() }
    }

    /// Gives the space back; rings the firmware's doorbell when it asked.
    pub fn release(self) -> Result<()> {
        if self.g.release() {
            self.dev.ring()?;
        }
        Ok(())
    }
}

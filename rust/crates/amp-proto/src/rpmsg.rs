//! RPMsg over a virtio vdev (`drivers/rpmsg/virtio_rpmsg_bus.c`), both
//! roles.
//!
//! * [`RpmsgDevice`]: the remote side a firmware runs. It waits for
//!   `DRIVER_OK`, then takes Linux's RX buffers from vring0 to transmit and
//!   Linux's TX buffers from vring1 to receive; endpoints are announced
//!   through the name service (address 53) on `DRIVER_OK`, and again on a
//!   later poll (the first kick) if no buffer was free then.
//! * [`RpmsgDriver`]: a model of Linux's side — it zeroes the rings, posts
//!   `num` RX buffers on vring0, keeps `num` TX buffers, negotiates `F_NS`,
//!   sets `DRIVER_OK` and validates inbound messages exactly where Linux
//!   does. The firmware and the tests run against it.
//!
//! Buffers are 512 bytes: a 16-byte [`RpmsgHdr`] and up to 496 payload bytes.

use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::rsc::{LiveVdev, FW_RSC_ADDR_ANY};
use crate::shmem::{full_barrier, BusWindow, Shm};
use crate::virtio::{status, VIRTIO_RPMSG_F_NS};
use crate::vring::{DeviceQueue, DriverQueue, VringError, VringLayout, VRING_DESC_F_WRITE};

/// Size of every RPMsg buffer.
pub const RPMSG_BUF_SIZE: usize = 512;
/// Size of [`RpmsgHdr`].
pub const RPMSG_HDR_LEN: usize = 16;
/// Largest payload of one message.
pub const RPMSG_MAX_PAYLOAD: usize = RPMSG_BUF_SIZE - RPMSG_HDR_LEN;
/// Address of the name service.
pub const RPMSG_NS_ADDR: u32 = 53;
/// Addresses below this are reserved; dynamic ones are allocated from it.
pub const RPMSG_RESERVED_ADDRESSES: u32 = 1024;
/// `RPMSG_ADDR_ANY`.
pub const RPMSG_ADDR_ANY: u32 = 0xFFFF_FFFF;
/// `rpmsg_ns_msg.flags`: a channel was created.
pub const RPMSG_NS_CREATE: u32 = 0;
/// `rpmsg_ns_msg.flags`: a channel was destroyed.
pub const RPMSG_NS_DESTROY: u32 = 1;
/// Length of a channel name field.
pub const RPMSG_NAME_SIZE: usize = 32;
/// Size of [`RpmsgNsMsg`].
const NS_MSG_LEN: usize = core::mem::size_of::<RpmsgNsMsg>();

/// `struct rpmsg_hdr` (packed, little-endian).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RpmsgHdr {
    /// Source address.
    pub src: U32,
    /// Destination address.
    pub dst: U32,
    /// Reserved, zero.
    pub reserved: U32,
    /// Payload length.
    pub len: U16,
    /// Flags, zero.
    pub flags: U16,
}

/// `struct rpmsg_ns_msg` (packed, little-endian).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RpmsgNsMsg {
    /// NUL-padded channel name.
    pub name: [u8; RPMSG_NAME_SIZE],
    /// Address of the announcing endpoint.
    pub addr: U32,
    /// [`RPMSG_NS_CREATE`] or [`RPMSG_NS_DESTROY`].
    pub flags: U32,
}

impl RpmsgNsMsg {
    /// Builds an announcement; `None` when the name has no room for its NUL.
    pub fn new(name: &str, addr: u32, flags: u32) -> Option<Self> {
        let b = name.as_bytes();
        if b.len() >= RPMSG_NAME_SIZE {
            return None;
        }
        let mut n = [0u8; RPMSG_NAME_SIZE];
        n[..b.len()].copy_from_slice(b);
        Some(RpmsgNsMsg {
            name: n,
            addr: addr.into(),
            flags: flags.into(),
        })
    }

    /// The name up to its first NUL, when it is UTF-8.
    pub fn name(&self) -> Option<&str> {
        let end = self.name.iter().position(|&c| c == 0)?;
        core::str::from_utf8(&self.name[..end]).ok()
    }
}

/// Why an RPMsg operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpmsgError {
    /// The driver has not set `DRIVER_OK` yet (or reset the device).
    #[error("the virtio device is not ready (DRIVER_OK not set)")]
    NotReady,
    /// No free buffer to transmit: try again after the peer consumed some.
    #[error("no free transmit buffer")]
    NoBuffer,
    /// The bounded wait for a buffer ran out.
    #[error("timed out waiting for a transmit buffer")]
    Timeout,
    /// Payload longer than [`RPMSG_MAX_PAYLOAD`] (or than the buffer).
    #[error("payload of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Requested length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Address already used by another endpoint.
    #[error("address {0} is already in use")]
    AddrInUse(u32),
    /// Address below 1024 or `RPMSG_ADDR_ANY` where a fixed one is needed.
    #[error("address {0} is reserved")]
    ReservedAddr(u32),
    /// No endpoint slot left.
    #[error("no free endpoint slot")]
    NoSlot,
    /// Unknown endpoint address.
    #[error("no endpoint at address {0}")]
    NoEndpoint(u32),
    /// Channel name too long (31 bytes at most).
    #[error("channel name longer than 31 bytes")]
    NameTooLong,
    /// A vring address or buffer lies outside the shared window.
    #[error("{what} at bus address {addr:#x}+{len:#x} is outside the shared memory window")]
    OutOfWindow {
        /// What was looked up.
        what: &'static str,
        /// Bus address.
        addr: u64,
        /// Length.
        len: usize,
    },
    /// A buffer whose length, direction or address (not 8-byte aligned)
    /// does not fit RPMsg.
    #[error("buffer {head}: length {len}, flags {flags:#x} or address unusable for RPMsg")]
    BadBuffer {
        /// Descriptor head.
        head: u16,
        /// Descriptor length.
        len: u32,
        /// Descriptor flags.
        flags: u16,
    },
    /// An inbound message whose lengths are inconsistent (dropped, as Linux does).
    #[error("inbound message dropped: used.len {used_len}, header len {hdr_len}")]
    BadInbound {
        /// `used.len` (or descriptor length).
        used_len: u32,
        /// `hdr.len`.
        hdr_len: u16,
    },
    /// A ring error (stale index, bad descriptor, loop...).
    #[error("vring: {0}")]
    Ring(#[from] VringError),
}

impl RpmsgError {
    /// Device role: whether this is the device finding its rings
    /// re-initialised by the driver, or stale ([`VringError::StaleIndex`]).
    /// The device has reset, or resets at its next poll (counted in
    /// [`DeviceStats::resets`]), so a service whose reply fails this way
    /// has nothing to count or retry.
    pub fn is_reset(&self) -> bool {
        matches!(self, RpmsgError::Ring(VringError::StaleIndex { .. }))
    }
}

/// A received message; its payload stays in shared memory until the poll
/// callback returns (zero-copy), or can be copied out.
#[derive(Clone, Copy, Debug)]
pub struct Message<'m> {
    /// Source address.
    pub src: u32,
    /// Destination (one of our endpoints).
    pub dst: u32,
    payload: Shm<'m>,
}

impl<'m> Message<'m> {
    /// Payload length.
    pub fn len(&self) -> usize {
        self.payload.len()
    }
    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
    /// The payload in place (zero-copy).
    pub fn payload(&self) -> Shm<'m> {
        self.payload
    }
    /// Copies as much payload as fits into `out`; returns the bytes copied.
    pub fn copy_to(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.payload.len());
        self.payload.read_bytes(0, &mut out[..n]);
        n
    }
}

fn write_hdr(buf: &Shm<'_>, src: u32, dst: u32, len: usize) {
    // Two little-endian words: src and dst, then reserved 0, len and
    // flags 0. Aligned stores when the buffer is (Linux's are), where a
    // 16-byte copy to a pointer of unknown alignment goes byte by byte on
    // a strict-alignment target.
    buf.write_u64_aligned(0, u64::from(dst) << 32 | u64::from(src));
    buf.write_u64_aligned(8, (len as u64 & 0xffff) << 32);
}

/// The header's `src`, `dst` and `len`.
fn read_hdr(buf: &Shm<'_>) -> (u32, u32, u16) {
    let (w, v) = (buf.read_u64_aligned(0), buf.read_u64_aligned(8));
    (w as u32, (w >> 32) as u32, (v >> 32) as u16)
}

/// Whether a buffer's bus address (from a descriptor, untrusted) is 8-byte
/// aligned. The device role refuses any other: its header and name-service
/// accesses are aligned 8-byte words without a byte-by-byte fallback.
/// Linux never posts one: `rpmsg_probe` in drivers/rpmsg/virtio_rpmsg_bus.c
/// takes all buffers from one `dma_alloc_coherent` block (page aligned) in
/// `buf_size` (512-byte) steps (`rbufs = bufs_va`, `sbufs = bufs_va +
/// total_buf_space / 2`, `cpu_addr = vrp->rbufs + i * vrp->buf_size`).
fn buf_aligned(addr: u64) -> bool {
    addr % 8 == 0
}

// ------------------------------------------------------------ device role

#[derive(Clone, Copy, Debug)]
struct Ept<'a> {
    addr: u32,
    /// Checked shorter than [`RPMSG_NAME_SIZE`]; borrowed, not copied.
    /// `None` in a free slot, so that [`Ept::FREE`] is all zeroes.
    name: Option<&'a str>,
    announced: bool,
}

impl Ept<'_> {
    /// A free slot: address 0 is reserved (below 1024), never an
    /// endpoint's. Slots are plain values rather than `Option`s, so a
    /// device's endpoint table starts as zeroes.
    const FREE: Ept<'static> = Ept {
        addr: 0,
        name: None,
        announced: false,
    };

    /// Whether the slot holds endpoint `addr`.
    fn is(&self, addr: u32) -> bool {
        self.addr == addr && addr != 0
    }

    fn announces(&self) -> bool {
        self.name().bytes().next().is_some_and(|c| c != 0)
    }

    fn name(&self) -> &str {
        self.name.unwrap_or_default()
    }
}

/// Writes a `struct rpmsg_ns_msg` in place: the NUL-padded name (byte by
/// byte: no copy routine, and the name is at most 31 bytes), the address
/// and the flags. Returns its length.
fn write_ns(p: Shm<'_>, name: &str, addr: u32, flags: u32) -> usize {
    for i in 0..RPMSG_NAME_SIZE {
        p.write_u8(i, name.as_bytes().get(i).copied().unwrap_or(0));
    }
    p.write_u64_aligned(RPMSG_NAME_SIZE, u64::from(flags) << 32 | u64::from(addr));
    NS_MSG_LEN
}

/// Counters a firmware reports in its statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Messages received and delivered.
    pub rx_messages: u64,
    /// Payload bytes received.
    pub rx_bytes: u64,
    /// Messages sent.
    pub tx_messages: u64,
    /// Payload bytes sent.
    pub tx_bytes: u64,
    /// Inbound messages dropped (bad lengths, unknown destination, bad ring).
    pub errors: u64,
    /// Times the device was reset (DRIVER_OK cleared, or rings the driver
    /// re-initialised or left stale).
    pub resets: u64,
}

/// Transmit half handed to the poll callback, so a service can answer
/// while the message it answers is still in place.
///
/// A send that finds the rings re-initialised fails with the
/// [`RpmsgError::is_reset`] error and publishes nothing; so does every
/// later one, since only the device could make `used.idx` match again.
pub struct Sender<'s, 'a> {
    tx: &'s mut DeviceQueue<'a>,
    rx: &'s DeviceQueue<'a>,
    mem: &'s BusWindow<'a>,
    notify: &'s mut dyn FnMut(u32),
    stats: &'s mut DeviceStats,
}

impl<'a> Sender<'_, 'a> {
    /// Sends `data` from `src` to `dst`; [`RpmsgError::NoBuffer`] when
    /// Linux has no RX buffer posted. Never blocks.
    pub fn try_send(&mut self, src: u32, dst: u32, data: &[u8]) -> Result<(), RpmsgError> {
        self.try_send_with(src, dst, data.len(), |p| {
            p.write_bytes(0, data);
            data.len()
        })
    }

    /// Zero-copy send: `fill` writes at most `max_len` bytes directly into
    /// the shared buffer and returns how many it wrote.
    pub fn try_send_with(
        &mut self,
        src: u32,
        dst: u32,
        max_len: usize,
        fill: impl FnOnce(Shm<'_>) -> usize,
    ) -> Result<(), RpmsgError> {
        // Only this shell is generic: one copy per caller's closure.
        let (head, buf) = self.take_tx(max_len)?;
        let len = fill(
            buf.window(RPMSG_HDR_LEN, max_len)
                .expect("checked by take_tx"),
        );
        self.publish(head, buf, src, dst, len.min(max_len))
    }

    /// Takes a transmit buffer with room for a header and `max_len`
    /// payload bytes: its head and the buffer.
    fn take_tx(&mut self, max_len: usize) -> Result<(u16, Shm<'a>), RpmsgError> {
        if max_len > RPMSG_MAX_PAYLOAD {
            return Err(RpmsgError::TooLong {
                len: max_len,
                max: RPMSG_MAX_PAYLOAD,
            });
        }
        let buf = self.tx.pop_avail()?.ok_or(RpmsgError::NoBuffer)?;
        let d = buf.desc;
        let usable = (d.len as usize).min(RPMSG_BUF_SIZE);
        let aligned = buf_aligned(d.addr);
        if !aligned || d.flags & VRING_DESC_F_WRITE == 0 || usable < RPMSG_HDR_LEN + max_len {
            // Only a broken driver posts such a buffer. It must still go
            // back, or the ring leaks it: as an empty message to address 0,
            // which Linux drops with a warning for lack of a recipient.
            // A buffer too short (or not writable) for even a header is
            // never written, nor is a misaligned one (`buf_aligned`): it
            // stays with us, lost to a broken driver.
            let room =
                aligned && d.flags & VRING_DESC_F_WRITE != 0 && d.len as usize >= RPMSG_HDR_LEN;
            if let Some(shm) = self.mem.map(d.addr, RPMSG_HDR_LEN).filter(|_| room) {
                write_hdr(&shm, 0, 0, 0);
                self.tx.push_used(buf.head, RPMSG_HDR_LEN as u32);
            }
            return Err(RpmsgError::BadBuffer {
                head: buf.head,
                len: d.len,
                flags: d.flags,
            });
        }
        let shm = self
            .mem
            .map(d.addr, usable)
            .ok_or(RpmsgError::OutOfWindow {
                what: "transmit buffer",
                addr: d.addr,
                len: usable,
            })?;
        Ok((buf.head, shm))
    }

    /// Writes the header of a message of `len` payload bytes and returns
    /// the buffer to the driver. Inlined into each send: out of line, its
    /// result plumbing costs more than the copies (the device-role probe
    /// is 392 bytes smaller, the firmware 208, docs/benchmarks.md).
    #[inline(always)]
    fn publish(
        &mut self,
        head: u16,
        buf: Shm<'_>,
        src: u32,
        dst: u32,
        len: usize,
    ) -> Result<(), RpmsgError> {
        write_hdr(&buf, src, dst, len);
        // pop_avail checked vring0 only, and `fill` is the caller's code:
        // publish only if neither ring was re-initialised meanwhile.
        rings_intact(self.tx, self.rx)?;
        self.tx.push_used(head, (RPMSG_HDR_LEN + len) as u32);
        self.stats.tx_messages += 1;
        self.stats.tx_bytes += len as u64;
        if self.tx.needs_interrupt() {
            (self.notify)(0);
        }
        Ok(())
    }
}

/// Whether both rings are as this device left them
/// ([`DeviceQueue::check_used`]); checked before the device takes the
/// first buffer of a poll, before it publishes a message and before it
/// returns a received buffer. Both rings:
/// the driver re-initialises them together, and a ring shows it only if
/// the device has returned something on it (a used shadow of 0 reads the
/// same after zeroing). So it misses a re-initialisation only when both
/// shadows are 0 (modulo 65536). The condition lasts (only the device
/// writes `used.idx`), so whichever check sees it first, the next poll
/// sees it again and resets.
#[inline(always)] // see Sender::publish
fn rings_intact(tx: &DeviceQueue<'_>, rx: &DeviceQueue<'_>) -> Result<(), VringError> {
    tx.check_used()?;
    rx.check_used()
}

/// The remote (device) side of an RPMsg vdev with up to `EPS` endpoints.
pub struct RpmsgDevice<'a, const EPS: usize> {
    vdev: LiveVdev<'a>,
    mem: BusWindow<'a>,
    queues: Option<(DeviceQueue<'a>, DeviceQueue<'a>)>,
    eps: [Ept<'a>; EPS],
    next_addr: u32,
    stats: DeviceStats,
}

impl<'a, const EPS: usize> RpmsgDevice<'a, EPS> {
    /// The empty endpoint table, all zeroes: a constant, so it is stored
    /// in place (an array expression is built aside and copied).
    const NO_EPS: [Ept<'static>; EPS] = [Ept::FREE; EPS];

    /// A device over `vdev` (the entry in the firmware's resource table)
    /// that may reach shared memory only through `mem`.
    pub fn new(vdev: LiveVdev<'a>, mem: BusWindow<'a>) -> Self {
        RpmsgDevice {
            vdev,
            mem,
            queues: None,
            eps: Self::NO_EPS,
            next_addr: RPMSG_RESERVED_ADDRESSES,
            stats: DeviceStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> DeviceStats {
        self.stats
    }

    /// Whether the rings are attached (DRIVER_OK seen).
    pub fn is_ready(&self) -> bool {
        self.queues.is_some()
    }

    /// Whether every endpoint with a name has been announced.
    pub fn announced(&self) -> bool {
        self.eps.iter().all(|e| !e.announces() || e.announced)
    }

    /// Creates an endpoint at `addr` (or the next free dynamic address) and,
    /// when `name` is not empty, announces it as a channel.
    /// The name is borrowed for the device's lifetime (a firmware's are
    /// constants), and written into the announcement when it is sent.
    pub fn create_endpoint(&mut self, name: &'a str, addr: Option<u32>) -> Result<u32, RpmsgError> {
        if name.len() >= RPMSG_NAME_SIZE {
            return Err(RpmsgError::NameTooLong);
        }
        let free = self
            .eps
            .iter()
            .position(|e| e.addr == 0)
            .ok_or(RpmsgError::NoSlot)?;
        let addr = match addr {
            Some(a) if a < RPMSG_RESERVED_ADDRESSES || a == RPMSG_ADDR_ANY => {
                return Err(RpmsgError::ReservedAddr(a))
            }
            Some(a) if self.find(a).is_some() => return Err(RpmsgError::AddrInUse(a)),
            Some(a) => a,
            None => self.alloc_addr()?,
        };
        let slot = self.eps.get_mut(free).ok_or(RpmsgError::NoSlot)?;
        *slot = Ept {
            addr,
            name: Some(name),
            announced: false,
        };
        Ok(addr)
    }

    fn alloc_addr(&mut self) -> Result<u32, RpmsgError> {
        for _ in 0..=EPS {
            let a = self.next_addr;
            self.next_addr = match a.wrapping_add(1) {
                RPMSG_ADDR_ANY | 0 => RPMSG_RESERVED_ADDRESSES,
                n => n,
            };
            if self.find(a).is_none() {
                return Ok(a);
            }
        }
        Err(RpmsgError::NoSlot)
    }

    fn find(&self, addr: u32) -> Option<usize> {
        self.eps.iter().position(|e| e.is(addr))
    }

    /// Destroys an endpoint, announcing the destruction if it was announced
    /// (best effort: if no buffer is free, Linux learns it on its next reset).
    pub fn destroy_endpoint(
        &mut self,
        addr: u32,
        notify: &mut dyn FnMut(u32),
    ) -> Result<(), RpmsgError> {
        let i = self.find(addr).ok_or(RpmsgError::NoEndpoint(addr))?;
        let ept = core::mem::replace(&mut self.eps[i], Ept::FREE);
        if ept.announced {
            if let Ok(mut s) = self.sender(notify) {
                s.try_send_with(addr, RPMSG_NS_ADDR, NS_MSG_LEN, |p| {
                    write_ns(p, ept.name(), addr, RPMSG_NS_DESTROY)
                })?;
            }
        }
        Ok(())
    }

    /// The transmit half, when ready.
    pub fn sender<'s>(
        &'s mut self,
        notify: &'s mut dyn FnMut(u32),
    ) -> Result<Sender<'s, 'a>, RpmsgError> {
        let (tx, rx) = self.queues.as_mut().ok_or(RpmsgError::NotReady)?;
        Ok(Sender {
            tx,
            rx,
            mem: &self.mem,
            notify,
            stats: &mut self.stats,
        })
    }

    /// Sends, waiting for a free buffer: `wait` is called while none is
    /// free (a firmware idles there with WFI until the next doorbell) and
    /// returns `false` when the caller's deadline has passed.
    pub fn send(
        &mut self,
        src: u32,
        dst: u32,
        data: &[u8],
        notify: &mut dyn FnMut(u32),
        mut wait: impl FnMut() -> bool,
    ) -> Result<(), RpmsgError> {
        loop {
            self.sync_state()?;
            match self
                .sender(notify)
                .and_then(|mut s| s.try_send(src, dst, data))
            {
                Err(RpmsgError::NoBuffer) => {
                    // vring0's kicks are off (see `poll`): turn them on
                    // and look again before sleeping, or a buffer Linux
                    // adds meanwhile wakes nobody. On until the next poll.
                    match self.want_buffer_kick() {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => {
                            if e.is_reset() {
                                self.reset();
                            }
                            return Err(e);
                        }
                    }
                    if !wait() {
                        return Err(RpmsgError::Timeout);
                    }
                }
                Err(RpmsgError::NotReady) => {
                    if !wait() {
                        return Err(RpmsgError::Timeout);
                    }
                }
                Err(e) if e.is_reset() => {
                    self.reset();
                    return Err(e);
                }
                r => return r,
            }
        }
    }

    /// Follows the driver's status: attaches on DRIVER_OK, drops the rings
    /// when the driver resets the device.
    fn sync_state(&mut self) -> Result<(), RpmsgError> {
        let ok = status::driver_ok(self.vdev.status());
        match (ok, self.queues.is_some()) {
            (false, true) => self.reset(),
            (true, false) => {
                // The status byte is a plain access: order the ring and
                // table reads of attach() after it, so they see what the
                // driver wrote before it set DRIVER_OK.
                full_barrier();
                self.attach()?
            }
            _ => {}
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.queues = None;
        self.stats.resets += 1;
        for e in self.eps.iter_mut() {
            e.announced = false;
        }
    }

    fn attach(&mut self) -> Result<(), RpmsgError> {
        let tx = self.ring(0)?;
        let rx = self.ring(1)?;
        self.queues = Some((tx, rx));
        Ok(())
    }

    /// Attaches to vring `i` as the table now describes it.
    fn ring(&self, i: usize) -> Result<DeviceQueue<'a>, RpmsgError> {
        let spec = self.vdev.vring(i).ok_or(RpmsgError::NotReady)?;
        let layout = VringLayout::new(spec.num, spec.align)?;
        if spec.da == FW_RSC_ADDR_ANY {
            return Err(RpmsgError::NotReady);
        }
        let shm = self
            .mem
            .map(spec.da.into(), layout.size())
            .ok_or(RpmsgError::OutOfWindow {
                what: "vring",
                addr: spec.da.into(),
                len: layout.size(),
            })?;
        Ok(DeviceQueue::attach(shm, layout)?)
    }

    fn announce_pending(&mut self, notify: &mut dyn FnMut(u32)) -> Result<(), RpmsgError> {
        let negotiated = self.vdev.gfeatures() & (1 << VIRTIO_RPMSG_F_NS) != 0;
        let RpmsgDevice {
            queues,
            eps,
            mem,
            stats,
            ..
        } = self;
        let (tx, rx) = queues.as_mut().ok_or(RpmsgError::NotReady)?;
        'retry: loop {
            for e in eps.iter_mut() {
                if !negotiated || !e.announces() || e.announced {
                    continue;
                }
                let mut s = Sender {
                    tx,
                    rx,
                    mem: &*mem,
                    notify: &mut *notify,
                    stats: &mut *stats,
                };
                let r = s.try_send_with(e.addr, RPMSG_NS_ADDR, NS_MSG_LEN, |p| {
                    write_ns(p, e.name(), e.addr, RPMSG_NS_CREATE)
                });
                match r {
                    Ok(()) => e.announced = true,
                    // Retried on the next poll, which Linux's next RX
                    // refill kicks: kicks on, then one more look at
                    // vring0 for a buffer added before they were.
                    Err(RpmsgError::NoBuffer) => {
                        if tx.arm_notify()? {
                            continue 'retry;
                        }
                        return Ok(());
                    }
                    Err(err) => return Err(err),
                }
            }
            // Nothing waits for a buffer: Linux need not kick when it
            // re-posts the RX buffers it consumed (one doorbell and one
            // wake-up per reply saved); the device looks at vring0 when
            // it has something to send.
            tx.set_no_notify(true);
            return Ok(());
        }
    }

    /// Asks Linux to kick when it next makes an RX buffer available on
    /// vring0, and looks once more: whether one is available now. The
    /// device keeps those kicks off (`VRING_USED_F_NO_NOTIFY`) while
    /// nothing waits for a buffer; this turns them on until the next
    /// poll, for a firmware about to sleep until Linux has taken what it
    /// sent (it re-posts the buffer then). [`Self::send`] does it itself.
    pub fn want_buffer_kick(&mut self) -> Result<bool, RpmsgError> {
        let (tx, _) = self.queues.as_mut().ok_or(RpmsgError::NotReady)?;
        Ok(tx.arm_notify()?)
    }

    /// Does everything pending: follows the status, announces endpoints,
    /// and delivers every received message to `on_msg` (which may answer
    /// through the [`Sender`]). Returns the number of messages delivered.
    /// A firmware calls it on every doorbell; `notify(vring)` rings the
    /// doorbell to Linux.
    ///
    /// When it finds the rings re-initialised (before the first delivery,
    /// or later, in a reply or while the callback ran) it publishes nothing
    /// more, resets the device and returns the [`RpmsgError::is_reset`]
    /// error. Call it again at once, not at the next doorbell: Linux kicks
    /// once after `DRIVER_OK`, and that kick may be the one that showed the
    /// reset. That poll attaches and announces again.
    pub fn poll(
        &mut self,
        notify: &mut dyn FnMut(u32),
        mut on_msg: impl FnMut(&mut Sender<'_, 'a>, &Message<'_>),
    ) -> Result<usize, RpmsgError> {
        self.sync_state()?;
        if self.queues.is_none() {
            return Ok(0);
        }
        let r = self.poll_ready(notify, &mut on_msg);
        if let Err(RpmsgError::Ring(VringError::StaleIndex { .. })) = r {
            // The driver reloaded the rings without us seeing the status
            // drop: start over from what the rings hold now.
            self.reset();
        }
        r
    }

    fn poll_ready(
        &mut self,
        notify: &mut dyn FnMut(u32),
        on_msg: &mut impl FnMut(&mut Sender<'_, 'a>, &Message<'_>),
    ) -> Result<usize, RpmsgError> {
        // Before anything is taken: a message from a re-initialised ring
        // would be handled twice (the next attach starts it over).
        let (tx, rx) = self.queues.as_ref().ok_or(RpmsgError::NotReady)?;
        rings_intact(tx, rx)?;
        self.announce_pending(notify)?;
        let RpmsgDevice {
            queues,
            eps,
            mem,
            stats,
            ..
        } = self;
        let (tx, rx) = queues.as_mut().ok_or(RpmsgError::NotReady)?;
        let mut delivered = 0;
        let mut returned = false;
        loop {
            let buf = match rx.pop_avail() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e @ VringError::StaleIndex { .. }) => return Err(e.into()),
                Err(_) => {
                    // A bad descriptor index or loop: the slot is consumed,
                    // count it and go on with the next one.
                    stats.errors += 1;
                    continue;
                }
            };
            let d = buf.desc;
            let len = (d.len as usize).min(RPMSG_BUF_SIZE);
            let msg = match mem.map(d.addr, len) {
                Some(shm)
                    if len >= RPMSG_HDR_LEN
                        && d.flags & VRING_DESC_F_WRITE == 0
                        && buf_aligned(d.addr) =>
                {
                    let (src, dst, hlen) = read_hdr(&shm);
                    let known = eps.iter().any(|e| e.is(dst));
                    // `None` when `hlen` runs past the buffer.
                    shm.window(RPMSG_HDR_LEN, usize::from(hlen))
                        .filter(|_| known)
                        .map(|payload| Message { src, dst, payload })
                }
                _ => None,
            };
            if let Some(msg) = msg {
                stats.rx_messages += 1;
                stats.rx_bytes += msg.len() as u64;
                let mut s = Sender {
                    tx,
                    rx,
                    mem: &*mem,
                    notify: &mut *notify,
                    stats,
                };
                on_msg(&mut s, &msg);
                delivered += 1;
            } else {
                stats.errors += 1;
            }
            // The callback may have run while the driver re-initialised the
            // rings (its reply then failed as a reset): the buffer belongs
            // to a ring that is gone and is not returned.
            rings_intact(tx, rx)?;
            rx.push_used(buf.head, d.len);
            returned = true;
        }
        if returned && rx.needs_interrupt() {
            notify(1);
        }
        Ok(delivered)
    }
}

// ------------------------------------------------------------ driver role

/// Where the driver model puts its rings and buffers (bus addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverLayout {
    /// vring0 and vring1, used when the table says `FW_RSC_ADDR_ANY`.
    pub vrings: [u64; 2],
    /// First of the `2 * num` buffers of 512 bytes.
    pub buffers: u64,
}

/// A message the driver received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Source address.
    pub src: u32,
    /// Destination address.
    pub dst: u32,
    /// Payload bytes copied out.
    pub len: usize,
}

/// Capacity of the driver's TX free list (num ≤ 256 as in Linux).
const DRIVER_MAX_BUFS: usize = 256;

/// A model of Linux's `virtio_rpmsg_bus` (the driver side) over the same
/// shared memory a firmware uses.
pub struct RpmsgDriver<'a> {
    vdev: LiveVdev<'a>,
    mem: BusWindow<'a>,
    rx: DriverQueue<'a>,
    tx: DriverQueue<'a>,
    buffers: u64,
    num: usize,
    tx_unused: usize,
}

impl<'a> RpmsgDriver<'a> {
    /// Brings the device up as `rpmsg_probe()` does: rings zeroed, RX
    /// buffers posted on vring0, TX completion interrupts off, `F_NS`
    /// negotiated, `DRIVER_OK` set. Returns the driver and whether vring0
    /// must be kicked.
    pub fn probe(
        vdev: LiveVdev<'a>,
        mem: BusWindow<'a>,
        at: DriverLayout,
    ) -> Result<(Self, bool), RpmsgError> {
        vdev.set_status(0);
        let mut queues: [Option<DriverQueue<'a>>; 2] = [None, None];
        let mut num = 0;
        for (i, q) in queues.iter_mut().enumerate() {
            let spec = vdev.vring(i).ok_or(RpmsgError::NotReady)?;
            let layout = VringLayout::new(spec.num, spec.align)?;
            let da = if spec.da == FW_RSC_ADDR_ANY {
                at.vrings[i]
            } else {
                spec.da.into()
            };
            let shm = mem.map(da, layout.size()).ok_or(RpmsgError::OutOfWindow {
                what: "vring",
                addr: da,
                len: layout.size(),
            })?;
            vdev.set_vring(i, da as u32, i as u32);
            *q = Some(DriverQueue::init(shm, layout)?);
            num = spec.num as usize;
        }
        let [Some(mut rx), Some(tx)] = queues else {
            return Err(RpmsgError::NotReady);
        };
        if num > DRIVER_MAX_BUFS {
            return Err(VringError::BadNum(num as u32).into());
        }
        let bytes = 2 * num * RPMSG_BUF_SIZE;
        let area = mem.map(at.buffers, bytes).ok_or(RpmsgError::OutOfWindow {
            what: "buffers",
            addr: at.buffers,
            len: bytes,
        })?;
        area.fill(0, bytes, 0);
        for i in 0..num {
            rx.add(
                at.buffers + (i * RPMSG_BUF_SIZE) as u64,
                RPMSG_BUF_SIZE as u32,
                true,
            )?;
        }
        tx.set_no_interrupt(true);
        vdev.set_gfeatures(vdev.dfeatures() & (1 << VIRTIO_RPMSG_F_NS));
        vdev.set_status(status::LINUX_READY);
        let kick = rx.kick_needed();
        Ok((
            RpmsgDriver {
                vdev,
                mem,
                rx,
                tx,
                buffers: at.buffers,
                num,
                tx_unused: 0,
            },
            kick,
        ))
    }

    /// Resets the device (status 0), as Linux does when the remote stops.
    pub fn reset(self) {
        self.vdev.set_status(0);
    }

    /// Receives one message into `out`. Inbound lengths are checked where
    /// Linux checks them (`used.len` ≤ 512, `hdr.len` ≤ `used.len` − 16);
    /// a bad message is dropped with an error and its buffer reposted.
    /// Returns the message and whether vring0 must be kicked.
    pub fn recv(&mut self, out: &mut [u8]) -> Result<Option<(Received, bool)>, RpmsgError> {
        let Some(u) = self.rx.pop_used()? else {
            return Ok(None);
        };
        let result = self.read_inbound(&u, out);
        self.rx.add(u.addr, u.buf_len, true)?;
        let kick = self.rx.kick_needed();
        result.map(|r| Some((r, kick)))
    }

    fn read_inbound(
        &self,
        u: &crate::vring::UsedBuf,
        out: &mut [u8],
    ) -> Result<Received, RpmsgError> {
        let bad = |hdr_len| RpmsgError::BadInbound {
            used_len: u.len,
            hdr_len,
        };
        let len = u.len as usize;
        if !(RPMSG_HDR_LEN..=RPMSG_BUF_SIZE).contains(&len) || len > u.buf_len as usize {
            return Err(bad(0));
        }
        let shm = self.mem.map(u.addr, len).ok_or(RpmsgError::OutOfWindow {
            what: "receive buffer",
            addr: u.addr,
            len,
        })?;
        let (src, dst, hlen) = read_hdr(&shm);
        let plen = usize::from(hlen);
        if plen > len - RPMSG_HDR_LEN {
            return Err(bad(hlen));
        }
        let n = plen.min(out.len());
        shm.read_bytes(RPMSG_HDR_LEN, &mut out[..n]);
        Ok(Received {
            src,
            dst,
            len: plen,
        })
    }

    /// Sends without blocking ([`RpmsgError::NoBuffer`] when all TX buffers
    /// are with the remote). Returns whether vring1 must be kicked.
    pub fn try_send(&mut self, src: u32, dst: u32, data: &[u8]) -> Result<bool, RpmsgError> {
        if data.len() > RPMSG_MAX_PAYLOAD {
            return Err(RpmsgError::TooLong {
                len: data.len(),
                max: RPMSG_MAX_PAYLOAD,
            });
        }
        // Never-used buffers first, then those the remote has returned.
        let addr = if self.tx_unused < self.num {
            let i = self.num + self.tx_unused;
            self.tx_unused += 1;
            self.buffers + (i * RPMSG_BUF_SIZE) as u64
        } else {
            match self.tx.pop_used()? {
                Some(u) => u.addr,
                None => return Err(RpmsgError::NoBuffer),
            }
        };
        let shm = self
            .mem
            .map(addr, RPMSG_BUF_SIZE)
            .expect("own buffer in window");
        write_hdr(&shm, src, dst, data.len());
        shm.write_bytes(RPMSG_HDR_LEN, data);
        self.tx
            .add(addr, (RPMSG_HDR_LEN + data.len()) as u32, false)?;
        Ok(self.tx.kick_needed())
    }

    /// The vdev status as the driver last wrote it.
    pub fn status(&self) -> u8 {
        self.vdev.status()
    }
}

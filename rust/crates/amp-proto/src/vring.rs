//! Legacy virtio split rings (`include/uapi/linux/virtio_ring.h`), both
//! roles, over [`Shm`].
//!
//! * [`DriverQueue`]: what Linux's `virtio_ring.c` does — owns descriptors,
//!   makes buffers available, reaps the used ring.
//! * [`DeviceQueue`]: what the remote does — takes available buffers and
//!   returns them through the used ring.
//!
//! Every value read from the ring is untrusted: indices are checked against
//! `num`, descriptor chains against loops. The device notices a ring the
//! driver re-initialised under it exactly: `used.idx` is written by the
//! device alone, so a value other than the one it last published means the
//! driver zeroed the ring (Linux does, in `rp_find_vq()`, on every probe).
//! That, or an avail index that moved by more than `num`, is
//! [`VringError::StaleIndex`], which the caller answers by resetting.

use crate::shmem::{full_barrier, Shm};

/// `VRING_DESC_F_NEXT`: the chain continues in `next`.
pub const VRING_DESC_F_NEXT: u16 = 1;
/// `VRING_DESC_F_WRITE`: the device writes this buffer.
pub const VRING_DESC_F_WRITE: u16 = 2;
/// `VRING_DESC_F_INDIRECT`: not negotiated here, rejected.
pub const VRING_DESC_F_INDIRECT: u16 = 4;
/// `VRING_USED_F_NO_NOTIFY`: the device asks not to be kicked.
pub const VRING_USED_F_NO_NOTIFY: u16 = 1;
/// `VRING_AVAIL_F_NO_INTERRUPT`: the driver asks not to be interrupted.
pub const VRING_AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Largest ring the protocol allows (16-bit indices, `num` ≤ 32768).
pub const MAX_NUM: u16 = 32768;

/// Which ring index [`VringError::StaleIndex`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingIndex {
    /// `avail.idx`, written by the driver.
    Avail,
    /// `used.idx`, written by the device.
    Used,
}

impl core::fmt::Display for RingIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RingIndex::Avail => "avail.idx",
            RingIndex::Used => "used.idx",
        })
    }
}

/// Why a ring operation failed. At most 16 bytes, so a `Result` of it
/// comes back in two registers: the device role checks every index it
/// reads, and a larger error would cost each check a copy through memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VringError {
    /// `num` zero, not a power of two, or above [`MAX_NUM`].
    #[error("vring num {0} is not a power of two in 1..=32768")]
    BadNum(u32),
    /// `align` zero or not a power of two.
    #[error("vring align {0} is not a power of two")]
    BadAlign(u32),
    /// The memory given is smaller than the ring layout.
    #[error("vring of num {num} needs {need} bytes, the region has {have}")]
    TooSmall {
        /// Descriptors.
        num: u16,
        /// Bytes needed (below 2^32: [`VringLayout`]).
        need: u32,
        /// Bytes available (`u32::MAX` when more than that).
        have: u32,
    },
    /// The peer published an index that moved by more than `num`.
    #[error("stale or corrupt ring index: {what} is {seen}, last seen {last} (num {num})")]
    StaleIndex {
        /// Which index.
        what: RingIndex,
        /// Value read.
        seen: u16,
        /// Our shadow.
        last: u16,
        /// Ring size.
        num: u16,
    },
    /// A descriptor index ≥ `num`.
    #[error("descriptor index {index} out of range (num {num})")]
    BadDescriptor {
        /// Index read from the ring.
        index: u32,
        /// Ring size.
        num: u16,
    },
    /// A descriptor chain longer than `num`: it loops.
    #[error("descriptor chain from {head} loops (longer than num {num})")]
    Loop {
        /// Head of the chain.
        head: u16,
        /// Ring size.
        num: u16,
    },
    /// Indirect descriptors were not negotiated.
    #[error("descriptor {0} is indirect, which was not negotiated")]
    Indirect(u16),
    /// The used ring returned a descriptor the driver had not made available.
    #[error("used ring returned descriptor {0}, which is not in flight")]
    NotInFlight(u16),
    /// No free descriptor (driver) — the ring is full.
    #[error("no free descriptor")]
    Full,
    /// The ring does not start on a 16-byte boundary (the descriptor
    /// table's alignment in the virtio spec; an index then would not be
    /// naturally aligned either).
    #[error("vring at {addr:#x} is not 16-byte aligned")]
    Misaligned {
        /// CPU address of the ring.
        addr: usize,
    },
}

const _: () = assert!(core::mem::size_of::<VringError>() <= 16);

/// Byte layout of a split ring of `num` descriptors with `align`ment between
/// the avail and used rings, as `vring_init()`/`vring_size()` compute it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VringLayout {
    num: u16,
    /// Offset of the used ring; below 2^32 (at most 2^31 for the
    /// largest `align`, 589 830 otherwise), so a ring's state stays small.
    used: u32,
}

impl VringLayout {
    /// Checks `num` and `align` and computes the offsets.
    pub const fn new(num: u32, align: u32) -> Result<Self, VringError> {
        if num == 0 || !num.is_power_of_two() || num > MAX_NUM as u32 {
            return Err(VringError::BadNum(num));
        }
        if align == 0 || !align.is_power_of_two() {
            return Err(VringError::BadAlign(align));
        }
        let n = num as usize;
        let a = align as usize;
        // desc[num] (16 B) + avail { flags, idx, ring[num], used_event } ...
        let avail_end = 16 * n + 2 * (3 + n);
        let used = (avail_end + a - 1) & !(a - 1);
        // ... + used { flags, idx, ring[num] (8 B), avail_event }
        Ok(VringLayout {
            num: num as u16,
            used: used as u32,
        })
    }

    /// Number of descriptors.
    pub const fn num(&self) -> u16 {
        self.num
    }
    /// Total bytes (`vring_size`).
    pub const fn size(&self) -> usize {
        self.used as usize + 2 * 3 + 8 * self.num as usize
    }
    /// Offset of descriptor `i`.
    pub const fn desc(&self, i: u16) -> usize {
        16 * i as usize
    }
    /// Offset of `avail.flags`.
    pub const fn avail_flags(&self) -> usize {
        16 * self.num as usize
    }
    /// Offset of `avail.idx`.
    pub const fn avail_idx(&self) -> usize {
        self.avail_flags() + 2
    }
    /// Offset of `avail.ring[slot]`.
    pub const fn avail_ring(&self, slot: u16) -> usize {
        self.avail_flags() + 4 + 2 * slot as usize
    }
    /// Offset of `used_event` (`avail.ring[num]`, `vring_used_event()`),
    /// meaningful only with `VIRTIO_RING_F_EVENT_IDX`, which this protocol
    /// does not offer.
    pub const fn used_event(&self) -> usize {
        self.avail_ring(self.num)
    }
    /// Offset of `used.flags`.
    pub const fn used_flags(&self) -> usize {
        self.used as usize
    }
    /// Offset of `used.idx`.
    pub const fn used_idx(&self) -> usize {
        self.used as usize + 2
    }
    /// Offset of `used.ring[slot]` (`{ u32 id; u32 len; }`).
    pub const fn used_ring(&self, slot: u16) -> usize {
        self.used as usize + 4 + 8 * slot as usize
    }
    /// Offset of `avail_event` (`used.ring[num]`, `vring_avail_event()`);
    /// the last two bytes of the layout.
    pub const fn avail_event(&self) -> usize {
        self.used_ring(self.num)
    }

    fn check(&self, ring: &Shm<'_>) -> Result<(), VringError> {
        if ring.addr() % 16 != 0 {
            return Err(VringError::Misaligned { addr: ring.addr() });
        }
        if ring.len() < self.size() {
            return Err(VringError::TooSmall {
                num: self.num,
                need: self.size() as u32,
                have: u32::try_from(ring.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }
}

/// One descriptor as read from the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    /// Bus address of the buffer.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// `VRING_DESC_F_*`.
    pub flags: u16,
    /// Next descriptor when `flags` has NEXT.
    pub next: u16,
}

fn read_desc(ring: &Shm<'_>, l: &VringLayout, i: u16) -> Desc {
    let o = l.desc(i);
    // Two 8-byte reads: `len`, `flags` and `next` are the second
    // little-endian word's 32 + 16 + 16 bits.
    let w = ring.read_u64_aligned(o + 8);
    Desc {
        addr: ring.read_u64_aligned(o),
        len: w as u32,
        flags: (w >> 32) as u16,
        next: (w >> 48) as u16,
    }
}

/// A buffer the device took from the avail ring: the head descriptor and
/// the length of its (validated) chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvailBuf {
    /// Head descriptor index, to give back with [`DeviceQueue::push_used`].
    pub head: u16,
    /// The head descriptor.
    pub desc: Desc,
    /// Descriptors in the chain (1 for RPMsg).
    pub chain_len: u16,
}

// ------------------------------------------------------------ device role

/// The device (remote) side of one split ring.
#[derive(Debug)]
pub struct DeviceQueue<'a> {
    ring: Shm<'a>,
    layout: VringLayout,
    last_avail: u16,
    used_idx: u16,
    /// `VRING_USED_F_NO_NOTIFY` as this device last wrote it (or found
    /// it at attach), so a poll that keeps it does not write it again.
    no_notify: bool,
}

impl<'a> DeviceQueue<'a> {
    /// Attaches to a ring the driver has initialised (after `DRIVER_OK`).
    /// The shadows start from the ring's own `used.idx`, so a device that
    /// attaches to a freshly zeroed ring starts at 0.
    pub fn attach(ring: Shm<'a>, layout: VringLayout) -> Result<Self, VringError> {
        layout.check(&ring)?;
        let used_idx = ring.load_u16_acquire(layout.used_idx());
        let no_notify = ring.load_u16_acquire(layout.used_flags()) & VRING_USED_F_NO_NOTIFY != 0;
        Ok(DeviceQueue {
            ring,
            layout,
            last_avail: used_idx,
            used_idx,
            no_notify,
        })
    }

    /// The layout.
    pub fn layout(&self) -> VringLayout {
        self.layout
    }

    /// Checks that the ring is still the one this device attached to:
    /// only the device writes `used.idx`, so anything but the value it last
    /// published means the driver re-initialised (zeroed) the ring, or
    /// scribbled on it. Counting how far `avail.idx` moved cannot tell: a
    /// re-initialised ring may show fewer than `num` new buffers.
    pub fn check_used(&self) -> Result<(), VringError> {
        let seen = self.ring.load_u16_acquire(self.layout.used_idx());
        if seen != self.used_idx {
            return Err(VringError::StaleIndex {
                what: RingIndex::Used,
                seen,
                last: self.used_idx,
                num: self.layout.num,
            });
        }
        Ok(())
    }

    /// Available buffers not yet taken (0 when none; an error when the
    /// driver re-initialised the ring or its index is stale or corrupt).
    pub fn pending(&self) -> Result<u16, VringError> {
        let idx = self.ring.load_u16_acquire(self.layout.avail_idx());
        // After the avail load (acquire): a driver re-initialising the ring
        // zeroes used.idx before it publishes a new avail.idx, so if `idx`
        // is a new one, this sees the zeroed used.idx.
        self.check_used()?;
        let n = idx.wrapping_sub(self.last_avail);
        if n > self.layout.num {
            return Err(VringError::StaleIndex {
                what: RingIndex::Avail,
                seen: idx,
                last: self.last_avail,
                num: self.layout.num,
            });
        }
        Ok(n)
    }

    /// Takes the next available buffer, validating its chain.
    pub fn pop_avail(&mut self) -> Result<Option<AvailBuf>, VringError> {
        if self.pending()? == 0 {
            return Ok(None);
        }
        let num = self.layout.num;
        let slot = self.last_avail & (num - 1);
        // The slot is consumed whatever it holds, so one bad entry cannot
        // wedge the ring; the caller reports an error and goes on.
        self.last_avail = self.last_avail.wrapping_add(1);
        let head = self.ring.load_u16_acquire(self.layout.avail_ring(slot));
        let (chain_len, w) = self.walk(head)?;
        // The first descriptor as `walk` validated it: its second word is
        // not read again.
        Ok(Some(AvailBuf {
            head,
            desc: Desc {
                addr: self.ring.read_u64_aligned(self.layout.desc(head)),
                len: w as u32,
                flags: (w >> 32) as u16,
                next: (w >> 48) as u16,
            },
            chain_len,
        }))
    }

    /// Follows the chain from `head`, checking `head` itself first (one
    /// index check for the head and every link): its length and the head
    /// descriptor's second word (len, flags, next), or why it is unusable.
    fn walk(&self, head: u16) -> Result<(u16, u64), VringError> {
        let num = self.layout.num;
        let (mut flags, mut next) = (VRING_DESC_F_NEXT, head);
        let mut count = 0u16;
        let mut first = 0;
        loop {
            if flags & VRING_DESC_F_INDIRECT != 0 {
                return Err(VringError::Indirect(head));
            }
            if flags & VRING_DESC_F_NEXT == 0 {
                return Ok((count, first));
            }
            if next >= num {
                return Err(VringError::BadDescriptor {
                    index: next.into(),
                    num,
                });
            }
            if count >= num {
                return Err(VringError::Loop { head, num });
            }
            count += 1;
            // Only flags and next: the second word of the descriptor.
            let w = self.ring.read_u64_aligned(self.layout.desc(next) + 8);
            if count == 1 {
                first = w;
            }
            (flags, next) = ((w >> 32) as u16, (w >> 48) as u16);
        }
    }

    /// The `n`-th descriptor of the chain starting at `head` (validated by
    /// [`Self::pop_avail`]).
    pub fn chain_desc(&self, head: u16, n: u16) -> Option<Desc> {
        let mut d = read_desc(&self.ring, &self.layout, head);
        for _ in 0..n {
            if d.flags & VRING_DESC_F_NEXT == 0 || d.next >= self.layout.num {
                return None;
            }
            d = read_desc(&self.ring, &self.layout, d.next);
        }
        Some(d)
    }

    /// Returns a buffer to the driver with `len` bytes written.
    pub fn push_used(&mut self, head: u16, len: u32) {
        let slot = self.used_idx & (self.layout.num - 1);
        let o = self.layout.used_ring(slot);
        self.ring.write_u32_aligned(o, head.into());
        self.ring.write_u32_aligned(o + 4, len);
        self.used_idx = self.used_idx.wrapping_add(1);
        self.ring
            .store_u16_release(self.layout.used_idx(), self.used_idx);
    }

    /// Whether the driver wants an interrupt now (its NO_INTERRUPT flag is
    /// clear). The full barrier orders our used-index store before the flag
    /// load, so an interrupt cannot be lost.
    pub fn needs_interrupt(&self) -> bool {
        full_barrier();
        self.ring.load_u16_acquire(self.layout.avail_flags()) & VRING_AVAIL_F_NO_INTERRUPT == 0
    }

    /// Asks the driver not to kick when it makes buffers available
    /// (`VRING_USED_F_NO_NOTIFY` in `used.flags`), or to kick again.
    /// Linux honours it in `virtqueue_kick_prepare_split()` when
    /// `VIRTIO_RING_F_EVENT_IDX` is not negotiated (it is not offered
    /// here): `needs_kick = !(vq->split.vring.used->flags &
    /// VRING_USED_F_NO_NOTIFY)`, drivers/virtio/virtio_ring.c lines
    /// 757-759 in 6.12, 726-728 in 6.1. The flag is a hint: the driver
    /// may still kick. Written only when it changes; the full barrier
    /// orders the store before any later load of `avail.idx`.
    pub fn set_no_notify(&mut self, on: bool) {
        if self.no_notify == on {
            return;
        }
        self.no_notify = on;
        let v = if on { VRING_USED_F_NO_NOTIFY } else { 0 };
        // A release store, as the index beside it is written.
        self.ring.store_u16_release(self.layout.used_flags(), v);
        full_barrier();
    }

    /// Before a device sleeps waiting for a buffer: asks the driver to
    /// kick again, then looks at `avail.idx` once more, returning whether
    /// a buffer is available now. A buffer the driver added while its
    /// kicks were off is found here; one it adds after it has seen the
    /// cleared flag comes with a kick (the driver's full barrier between
    /// its `avail.idx` store and its flag load, and ours between the flag
    /// store and the index load, mean one side sees the other).
    pub fn arm_notify(&mut self) -> Result<bool, VringError> {
        self.set_no_notify(false);
        Ok(self.pending()? != 0)
    }
}

// ------------------------------------------------------------ driver role

/// Capacity of the driver's private bookkeeping: the largest `num` a
/// [`DriverQueue`] handles (RPMsg uses up to 256).
pub const DRIVER_MAX_NUM: usize = 512;

/// The driver (Linux) side of one split ring. Bookkeeping (free list,
/// in-flight set, and the address and length of every posted buffer, like
/// Linux's `desc_extra`) is private, never in shared memory, so a faulty
/// device cannot corrupt it: rewriting a descriptor in the shared table
/// cannot redirect the driver to another buffer.
pub struct DriverQueue<'a> {
    ring: Shm<'a>,
    layout: VringLayout,
    free: [u16; DRIVER_MAX_NUM],
    nfree: usize,
    in_flight: [bool; DRIVER_MAX_NUM],
    posted: [(u64, u32); DRIVER_MAX_NUM],
    avail_idx: u16,
    last_used: u16,
}

impl core::fmt::Debug for DriverQueue<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DriverQueue")
            .field("num", &self.layout.num)
            .field("free", &self.nfree)
            .field("avail_idx", &self.avail_idx)
            .field("last_used", &self.last_used)
            .finish()
    }
}

/// A buffer the device returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedBuf {
    /// Descriptor index (head).
    pub id: u16,
    /// Bytes the device wrote (`used.len`, untrusted).
    pub len: u32,
    /// The descriptor's bus address as the driver posted it (from the
    /// driver's private copy, not from shared memory).
    pub addr: u64,
    /// Posted length.
    pub buf_len: u32,
}

impl<'a> DriverQueue<'a> {
    /// Zeroes the ring and takes ownership of all descriptors, as Linux
    /// does before it publishes any buffer.
    pub fn init(ring: Shm<'a>, layout: VringLayout) -> Result<Self, VringError> {
        layout.check(&ring)?;
        if usize::from(layout.num) > DRIVER_MAX_NUM {
            return Err(VringError::BadNum(layout.num.into()));
        }
        ring.fill(0, layout.size(), 0);
        full_barrier();
        let mut free = [0u16; DRIVER_MAX_NUM];
        let n = usize::from(layout.num);
        for (i, f) in free.iter_mut().take(n).enumerate() {
            // Hand out low indices first (pop from the end).
            *f = (n - 1 - i) as u16;
        }
        Ok(DriverQueue {
            ring,
            layout,
            free,
            nfree: n,
            in_flight: [false; DRIVER_MAX_NUM],
            posted: [(0, 0); DRIVER_MAX_NUM],
            avail_idx: 0,
            last_used: 0,
        })
    }

    /// The layout.
    pub fn layout(&self) -> VringLayout {
        self.layout
    }

    /// Free descriptors.
    pub fn free_count(&self) -> usize {
        self.nfree
    }

    /// Makes one buffer available (`device_writes` for RX buffers) and
    /// publishes the new `avail.idx`.
    pub fn add(&mut self, addr: u64, len: u32, device_writes: bool) -> Result<u16, VringError> {
        if self.nfree == 0 {
            return Err(VringError::Full);
        }
        self.nfree -= 1;
        let id = self.free[self.nfree];
        let o = self.layout.desc(id);
        self.ring.write_u64(o, addr);
        self.ring.write_u32(o + 8, len);
        let flags = if device_writes { VRING_DESC_F_WRITE } else { 0 };
        self.ring.write_u16(o + 12, flags);
        self.ring.write_u16(o + 14, 0);
        let slot = self.avail_idx & (self.layout.num - 1);
        self.ring.write_u16(self.layout.avail_ring(slot), id);
        self.in_flight[usize::from(id)] = true;
        self.posted[usize::from(id)] = (addr, len);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.ring
            .store_u16_release(self.layout.avail_idx(), self.avail_idx);
        Ok(id)
    }

    /// Whether the device wants a kick (`virtqueue_kick_prepare`).
    pub fn kick_needed(&self) -> bool {
        full_barrier();
        self.ring.read_u16(self.layout.used_flags()) & VRING_USED_F_NO_NOTIFY == 0
    }

    /// Reaps one used buffer, validating what the device wrote.
    pub fn pop_used(&mut self) -> Result<Option<UsedBuf>, VringError> {
        let idx = self.ring.load_u16_acquire(self.layout.used_idx());
        let n = idx.wrapping_sub(self.last_used);
        if n == 0 {
            return Ok(None);
        }
        if n > self.layout.num {
            return Err(VringError::StaleIndex {
                what: RingIndex::Used,
                seen: idx,
                last: self.last_used,
                num: self.layout.num,
            });
        }
        let slot = self.last_used & (self.layout.num - 1);
        let o = self.layout.used_ring(slot);
        let id = self.ring.read_u32(o);
        let len = self.ring.read_u32(o + 4);
        self.last_used = self.last_used.wrapping_add(1);
        let num = self.layout.num;
        let id = u16::try_from(id)
            .ok()
            .filter(|&i| i < num)
            .ok_or(VringError::BadDescriptor { index: id, num })?;
        if !self.in_flight[usize::from(id)] {
            return Err(VringError::NotInFlight(id));
        }
        self.in_flight[usize::from(id)] = false;
        // From the private copy: the shared descriptor may have been
        // rewritten by the device.
        let (addr, buf_len) = self.posted[usize::from(id)];
        self.free[self.nfree] = id;
        self.nfree += 1;
        Ok(Some(UsedBuf {
            id,
            len,
            addr,
            buf_len,
        }))
    }

    /// Sets or clears `VRING_AVAIL_F_NO_INTERRUPT`.
    pub fn set_no_interrupt(&self, on: bool) {
        let v = if on { VRING_AVAIL_F_NO_INTERRUPT } else { 0 };
        self.ring.write_u16(self.layout.avail_flags(), v);
        full_barrier();
    }

    /// Publishes a raw avail entry without bookkeeping: lets tests play a
    /// faulty or malicious driver (bad indices, loops).
    #[doc(hidden)]
    pub fn raw_ring(&self) -> Shm<'a> {
        self.ring
    }
}

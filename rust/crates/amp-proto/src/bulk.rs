//! The bulk channel: a shared-memory byte ring per direction for data that
//! does not fit 496-byte RPMsg messages (sensor frames, logs, buffers the
//! firmware produces). One producer and one consumer per ring; each side
//! hands out borrowed views of the ring itself (zero-copy), and a one-copy
//! send/receive is built on them.
//!
//! The channel has no interrupt of its own: the doorbells of the RPMsg
//! transport (SGI Linux → CPU3, SPI CPU3 → Linux) carry no data, so a side
//! that publishes a record or frees space and finds the other side waiting
//! (its flag below) rings the ordinary doorbell, and each side checks the
//! bulk rings on every wake-up.
//!
//! # Region layout (little-endian, byte-exact)
//!
//! The bulk region (its own reserved-memory region, [`REGION_SIZE`] bytes)
//! holds two rings of `REGION_SIZE / 2` bytes each:
//!
//! | offset in the region | ring | producer | consumer |
//! |---|---|---|---|
//! | `0` | [`RING_H2F`] | Linux (user space) | firmware |
//! | `REGION_SIZE / 2` | [`RING_F2H`] | firmware | Linux (user space) |
//!
//! Each ring is a 4 KiB header page followed by the data area
//! (`span − 4096` bytes rounded down to 64; 1 044 480 bytes for a 1 MiB
//! span). Header, offsets from the ring's start:
//!
//! | offset | size | field | written by |
//! |---|---|---|---|
//! | `0x00` | u32 | magic `0x4B4C5542` ("BULK") | initializer (firmware) |
//! | `0x04` | u32 | version (1) | initializer |
//! | `0x08` | u32 | data size in bytes (multiple of 64) | initializer |
//! | `0x0C` | u32 | generation: +1 on every initialization | initializer |
//! | `0x40` | u64 | head: bytes ever published (free-running) | producer (release) |
//! | `0x48` | u32 | producer waiting: 1 = ring the doorbell when space frees | producer |
//! | `0x80` | u64 | tail: bytes ever consumed (free-running) | consumer (release) |
//! | `0x88` | u32 | consumer waiting: 1 = ring the doorbell when a record arrives | consumer |
//!
//! The rest of the page is reserved (zero). Producer and consumer fields
//! sit in separate 64-byte lines. Byte `i` of the stream lives at data
//! offset `i mod size`; `head − tail` is the number of bytes in flight and
//! never exceeds the size. Head and tail are multiples of 64.
//!
//! Records start on 64-byte boundaries: a 16-byte header (u32 payload
//! length, u32 kind, u32 tag for the application, u32 reserved 0) and the
//! payload at +16; a record occupies `align_up(16 + len, 64)` bytes and
//! never wraps: when it does not fit before the end of the data area, the
//! producer writes a pad record (kind [`KIND_PAD`]) that covers the rest of
//! the area and starts the record at data offset 0. A payload is at most
//! [`Geometry::max_payload`] (half the data area minus the header), so a
//! record always fits once the ring has drained.
//!
//! # Trust
//!
//! Either side may be hostile. Each side keeps its own index in a private
//! shadow and never reads it back; the other side's index and the record
//! headers are checked before use: an index that is not a multiple of 64 or
//! claims more than `size` bytes in flight, a length beyond the maximum, a
//! kind other than data or pad, or a record that reaches past the published
//! bytes or the end of the area is [`BulkError::Corrupt`], and nothing
//! outside the ring is ever touched (every access goes through [`Shm`]'s
//! bounds checks). A changed generation or header is [`BulkError::Reset`]:
//! the other side re-initialized the ring; attach again.
//!
//! # Waiting without lost wake-ups
//!
//! A producer that finds the ring full sets its waiting flag, issues a full
//! barrier and reads the tail again before it reports [`BulkError::Full`];
//! a consumer stores the new tail, issues a full barrier and then reads the
//! flag: whichever order the two run in, either the producer sees the space
//! or the consumer sees the flag (the same argument as virtio's event
//! suppression). The consumer's side is symmetric. The side that set a flag
//! clears it when it makes progress.

use crate::shmem::{full_barrier, Shm};

/// Size of the bulk region (both rings): 2 MiB.
pub const REGION_SIZE: usize = 0x20_0000;
/// Offset of the bulk region in the 16 MiB shared window (the firmware's
/// board layout and both overlays use it; checked by tests).
pub const REGION_WINDOW_OFFSET: u64 = 0x80_0000;
/// Ring index of the host → firmware ring.
pub const RING_H2F: usize = 0;
/// Ring index of the firmware → host ring.
pub const RING_F2H: usize = 1;

/// Magic of an initialized ring header ("BULK").
pub const BULK_MAGIC: u32 = 0x4B4C_5542;
/// Layout version.
pub const BULK_VERSION: u32 = 1;
/// Bytes of header page before the data area.
pub const HEADER_SIZE: usize = 0x1000;
/// Alignment (and granule) of records and indices.
pub const RECORD_ALIGN: usize = 64;
/// Bytes of record header before the payload.
pub const RECORD_HEADER: usize = 16;
/// Record kind: a payload.
pub const KIND_DATA: u32 = 1;
/// Record kind: padding to the end of the data area.
pub const KIND_PAD: u32 = 2;

/// Offsets of the header fields in a ring (see the module documentation).
pub mod off {
    /// u32 magic.
    pub const MAGIC: usize = 0x00;
    /// u32 version.
    pub const VERSION: usize = 0x04;
    /// u32 data size.
    pub const DATA_SIZE: usize = 0x08;
    /// u32 generation.
    pub const GENERATION: usize = 0x0C;
    /// u64 head (producer).
    pub const HEAD: usize = 0x40;
    /// u32 producer waiting.
    pub const PRODUCER_WAITING: usize = 0x48;
    /// u64 tail (consumer).
    pub const TAIL: usize = 0x80;
    /// u32 consumer waiting.
    pub const CONSUMER_WAITING: usize = 0x88;
}

/// What went wrong on a bulk ring (never a panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    /// No record to read (the consumer's waiting flag is now set).
    #[error("bulk ring empty")]
    Empty,
    /// No room for the record (the producer's waiting flag is now set).
    #[error("bulk ring full")]
    Full,
    /// Payload longer than the ring takes.
    #[error("bulk payload of {len} bytes, at most {max}")]
    TooLong {
        /// Requested length.
        len: usize,
        /// Maximum payload.
        max: usize,
    },
    /// The ring region is too small or misaligned for a ring.
    #[error("bulk ring region of {len} bytes is unusable")]
    BadRegion {
        /// Its length.
        len: usize,
    },
    /// The header does not describe this ring (not initialized, another
    /// version or size) or its generation changed: attach again.
    #[error("bulk ring re-initialized or not initialized")]
    Reset,
    /// The other side wrote something impossible; `what` names it.
    #[error("bulk ring corrupt: {what} {value:#x}")]
    Corrupt {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u64,
    },
}

/// The fixed shape of one ring, from the length of its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    data_size: usize,
}

impl Geometry {
    /// The geometry of a ring occupying `span` bytes.
    pub const fn new(span: usize) -> Result<Self, BulkError> {
        if span < HEADER_SIZE + 2 * RECORD_ALIGN || span > HEADER_SIZE + u32::MAX as usize {
            return Err(BulkError::BadRegion { len: span });
        }
        let data_size = (span - HEADER_SIZE) / RECORD_ALIGN * RECORD_ALIGN;
        Ok(Geometry { data_size })
    }

    /// Bytes of data area.
    pub const fn data_size(&self) -> usize {
        self.data_size
    }

    /// The longest payload one record carries.
    pub const fn max_payload(&self) -> usize {
        (self.data_size / 2) / RECORD_ALIGN * RECORD_ALIGN - RECORD_HEADER
    }
}

/// Bytes a record with `len` payload bytes occupies.
pub const fn record_span(len: usize) -> usize {
    (RECORD_HEADER + len).div_ceil(RECORD_ALIGN) * RECORD_ALIGN
}

/// The ring `ring` ([`RING_H2F`] or [`RING_F2H`]) of a bulk region.
pub fn ring(region: Shm<'_>, ring: usize) -> Result<Shm<'_>, BulkError> {
    let half = region.len() / 2 / RECORD_ALIGN * RECORD_ALIGN;
    if ring > 1 || region.addr() % RECORD_ALIGN != 0 {
        return Err(BulkError::BadRegion { len: region.len() });
    }
    region
        .window(ring * half, half)
        .ok_or(BulkError::BadRegion { len: region.len() })
}

/// Initializes a ring (the initializer's role, the firmware at boot): empty,
/// no one waiting, a generation one above the one found. Whoever was
/// attached sees [`BulkError::Reset`] from then on.
pub fn init(span: Shm<'_>) -> Result<Geometry, BulkError> {
    let g = Geometry::new(span.len())?;
    if span.addr() % RECORD_ALIGN != 0 {
        return Err(BulkError::BadRegion { len: span.len() });
    }
    let generation = span.read_u32(off::GENERATION).wrapping_add(1);
    span.fill(0, HEADER_SIZE, 0);
    span.write_u32(off::VERSION, BULK_VERSION);
    span.write_u32(off::DATA_SIZE, g.data_size as u32);
    span.write_u32(off::GENERATION, generation);
    // The magic last, released: a header with the magic is complete.
    full_barrier();
    span.write_u32(off::MAGIC, BULK_MAGIC);
    full_barrier();
    Ok(g)
}

/// The parts of a ring both roles share.
#[derive(Debug, Clone, Copy)]
struct Ring<'a> {
    hdr: Shm<'a>,
    data: Shm<'a>,
    size: u64,
    generation: u32,
}

impl<'a> Ring<'a> {
    fn attach(span: Shm<'a>) -> Result<Self, BulkError> {
        let g = Geometry::new(span.len())?;
        if span.addr() % RECORD_ALIGN != 0 {
            return Err(BulkError::BadRegion { len: span.len() });
        }
        let hdr = span.window(0, HEADER_SIZE).expect("checked by Geometry");
        let data = span
            .window(HEADER_SIZE, g.data_size)
            .expect("checked by Geometry");
        if hdr.read_u32(off::MAGIC) != BULK_MAGIC
            || hdr.read_u32(off::VERSION) != BULK_VERSION
            || hdr.read_u32(off::DATA_SIZE) as usize != g.data_size
        {
            return Err(BulkError::Reset);
        }
        full_barrier();
        Ok(Ring {
            hdr,
            data,
            size: g.data_size as u64,
            generation: hdr.read_u32(off::GENERATION),
        })
    }

    fn check_generation(&self) -> Result<(), BulkError> {
        if self.hdr.read_u32(off::GENERATION) != self.generation
            || self.hdr.read_u32(off::MAGIC) != BULK_MAGIC
        {
            return Err(BulkError::Reset);
        }
        Ok(())
    }

    /// The other side's index, checked against our shadow: `lo..=hi` in
    /// flight, at most `size`, 64-aligned.
    fn in_flight(
        &self,
        head: u64,
        tail: u64,
        what: &'static str,
        value: u64,
    ) -> Result<u64, BulkError> {
        let used = head.wrapping_sub(tail);
        if used > self.size || value % RECORD_ALIGN as u64 != 0 {
            return Err(BulkError::Corrupt { what, value });
        }
        Ok(used)
    }

    fn max_payload(&self) -> usize {
        Geometry {
            data_size: self.size as usize,
        }
        .max_payload()
    }
}

/// The producer's end of a ring.
#[derive(Debug)]
pub struct Producer<'a> {
    ring: Ring<'a>,
    head: u64,
    waiting: bool,
}

/// Space reserved for one record: fill [`WriteGrant::payload`] in place,
/// then [`WriteGrant::commit`]. Dropped uncommitted, nothing is published.
#[derive(Debug)]
pub struct WriteGrant<'p, 'a> {
    producer: &'p mut Producer<'a>,
    at: usize,
    pad: usize,
    payload: Shm<'a>,
}

impl<'a> Producer<'a> {
    /// Attaches to an initialized ring (`span` from [`ring`]); resumes at the
    /// head found there (a producer that restarts continues the stream).
    pub fn attach(span: Shm<'a>) -> Result<Self, BulkError> {
        let ring = Ring::attach(span)?;
        let head = ring.hdr.load_u64_acquire(off::HEAD);
        let tail = ring.hdr.load_u64_acquire(off::TAIL);
        ring.in_flight(head, tail, "head", head)?;
        ring.in_flight(head, tail, "tail", tail)?;
        Ok(Producer {
            ring,
            head,
            waiting: false,
        })
    }

    /// The longest payload of one record.
    pub fn max_payload(&self) -> usize {
        self.ring.max_payload()
    }

    /// Bytes of data area.
    pub fn data_size(&self) -> usize {
        self.ring.size as usize
    }

    fn free(&self) -> Result<u64, BulkError> {
        self.ring.check_generation()?;
        let tail = self.ring.hdr.load_u64_acquire(off::TAIL);
        let used = self.ring.in_flight(self.head, tail, "tail", tail)?;
        Ok(self.ring.size - used)
    }

    /// Reserves room for a record of `len` payload bytes, or
    /// [`BulkError::Full`] (and asks the consumer for a doorbell when it
    /// frees space). Never blocks.
    pub fn try_reserve(&mut self, len: usize) -> Result<WriteGrant<'_, 'a>, BulkError> {
        let max = self.max_payload();
        if len > max {
            return Err(BulkError::TooLong { len, max });
        }
        let span = record_span(len) as u64;
        let at = (self.head % self.ring.size) as usize;
        let to_end = self.ring.size - at as u64;
        let (need, pad) = if span <= to_end {
            (span, 0)
        } else {
            (to_end + span, to_end as usize)
        };
        let mut free = self.free()?;
        if free < need {
            self.ring.hdr.write_u32(off::PRODUCER_WAITING, 1);
            self.waiting = true;
            full_barrier();
            free = self.free()?;
            if free < need {
                return Err(BulkError::Full);
            }
        }
        if self.waiting {
            self.ring.hdr.write_u32(off::PRODUCER_WAITING, 0);
            self.waiting = false;
        }
        let rec = if pad > 0 { 0 } else { at };
        let payload = self
            .ring
            .data
            .window(rec + RECORD_HEADER, len)
            .expect("record inside the data area");
        Ok(WriteGrant {
            producer: self,
            at,
            pad,
            payload,
        })
    }

    /// One-copy send: reserves, copies `data`, commits. Returns whether the
    /// consumer asked for a doorbell (ring it).
    pub fn try_send(&mut self, data: &[u8], tag: u32) -> Result<bool, BulkError> {
        let g = self.try_reserve(data.len())?;
        g.payload().write_bytes(0, data);
        Ok(g.commit(data.len(), tag))
    }
}

impl<'a> WriteGrant<'_, 'a> {
    /// The reserved payload bytes, in the ring (write them in place).
    pub fn payload(&self) -> Shm<'a> {
        self.payload
    }

    /// The reserved payload as a Rust slice, in the ring.
    ///
    /// # Safety
    /// Nothing else in this program may access these bytes while the slice
    /// lives, and the peer must not access them before the commit (a peer
    /// that follows the protocol does not: they are outside its published
    /// bytes). The safe [`WriteGrant::payload`] view makes no such demand.
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the reservation is ours until the commit (protocol) and
        // `&mut self` keeps a second slice away; the rest is the caller's
        // promise above, which is Shm::as_mut_slice's.
        unsafe { self.payload.as_mut_slice() }
    }

    /// Publishes the first `len` payload bytes (at most the reserved length)
    /// with `tag`. Returns whether the consumer asked for a doorbell.
    pub fn commit(self, len: usize, tag: u32) -> bool {
        let p = self.producer;
        let len = len.min(self.payload.len());
        let data = p.ring.data;
        let mut head = p.head;
        if self.pad > 0 {
            data.write_u32(self.at, (self.pad - RECORD_HEADER) as u32);
            data.write_u32(self.at + 4, KIND_PAD);
            data.write_u32(self.at + 8, 0);
            data.write_u32(self.at + 12, 0);
            head = head.wrapping_add(self.pad as u64);
        }
        let rec = (head % p.ring.size) as usize;
        data.write_u32(rec, len as u32);
        data.write_u32(rec + 4, KIND_DATA);
        data.write_u32(rec + 8, tag);
        data.write_u32(rec + 12, 0);
        head = head.wrapping_add(record_span(len) as u64);
        p.head = head;
        p.ring.hdr.store_u64_release(off::HEAD, head);
        full_barrier();
        p.ring.hdr.read_u32(off::CONSUMER_WAITING) != 0
    }
}

/// The consumer's end of a ring.
#[derive(Debug)]
pub struct Consumer<'a> {
    ring: Ring<'a>,
    tail: u64,
    waiting: bool,
}

/// One received record, still in the ring: read [`ReadGrant::payload`] in
/// place, then [`ReadGrant::release`] it. Dropped unreleased, the record
/// stays and is read again.
#[derive(Debug)]
pub struct ReadGrant<'c, 'a> {
    consumer: &'c mut Consumer<'a>,
    next_tail: u64,
    tag: u32,
    payload: Shm<'a>,
}

impl<'a> Consumer<'a> {
    /// Attaches to an initialized ring; resumes at the tail found there.
    pub fn attach(span: Shm<'a>) -> Result<Self, BulkError> {
        let ring = Ring::attach(span)?;
        let head = ring.hdr.load_u64_acquire(off::HEAD);
        let tail = ring.hdr.load_u64_acquire(off::TAIL);
        ring.in_flight(head, tail, "tail", tail)?;
        ring.in_flight(head, tail, "head", head)?;
        Ok(Consumer {
            ring,
            tail,
            waiting: false,
        })
    }

    /// The longest payload of one record.
    pub fn max_payload(&self) -> usize {
        self.ring.max_payload()
    }

    fn published(&self) -> Result<u64, BulkError> {
        self.ring.check_generation()?;
        let head = self.ring.hdr.load_u64_acquire(off::HEAD);
        self.ring.in_flight(head, self.tail, "head", head)
    }

    /// The next record, or [`BulkError::Empty`] (and asks the producer for
    /// a doorbell when one arrives). Never blocks. Pad records are skipped
    /// (their space is released at once).
    pub fn try_recv(&mut self) -> Result<ReadGrant<'_, 'a>, BulkError> {
        let mut avail = self.published()?;
        if avail == 0 {
            self.ring.hdr.write_u32(off::CONSUMER_WAITING, 1);
            self.waiting = true;
            full_barrier();
            avail = self.published()?;
            if avail == 0 {
                return Err(BulkError::Empty);
            }
        }
        if self.waiting {
            self.ring.hdr.write_u32(off::CONSUMER_WAITING, 0);
            self.waiting = false;
        }
        let data = self.ring.data;
        let mut at = (self.tail % self.ring.size) as usize;
        let mut to_end = self.ring.size - at as u64;
        let mut tail = self.tail;
        // Read each header field once; everything below uses these copies.
        let mut len = data.read_u32(at) as usize;
        let mut kind = data.read_u32(at + 4);
        if kind == KIND_PAD {
            if len as u64 != to_end - RECORD_HEADER as u64 || to_end >= avail {
                return Err(BulkError::Corrupt {
                    what: "pad",
                    value: len as u64,
                });
            }
            avail -= to_end;
            tail = tail.wrapping_add(to_end);
            at = 0;
            to_end = self.ring.size;
            len = data.read_u32(0) as usize;
            kind = data.read_u32(4);
        }
        if kind != KIND_DATA {
            return Err(BulkError::Corrupt {
                what: "kind",
                value: kind.into(),
            });
        }
        if len > self.max_payload() {
            return Err(BulkError::Corrupt {
                what: "len",
                value: len as u64,
            });
        }
        let span = record_span(len) as u64;
        if span > avail || span > to_end {
            return Err(BulkError::Corrupt {
                what: "record",
                value: span,
            });
        }
        let tag = data.read_u32(at + 8);
        let payload = data
            .window(at + RECORD_HEADER, len)
            .expect("record inside the data area");
        Ok(ReadGrant {
            consumer: self,
            next_tail: tail.wrapping_add(span),
            tag,
            payload,
        })
    }

    /// One-copy receive into `out`: returns (payload length, tag, whether
    /// the producer asked for a doorbell). A record longer than `out` is
    /// left in the ring and reported as `TooLong`.
    pub fn recv_into(&mut self, out: &mut [u8]) -> Result<(usize, u32, bool), BulkError> {
        let g = self.try_recv()?;
        let n = g.len();
        if n > out.len() {
            return Err(BulkError::TooLong {
                len: n,
                max: out.len(),
            });
        }
        g.payload().read_bytes(0, &mut out[..n]);
        let tag = g.tag();
        Ok((n, tag, g.release()))
    }
}

impl<'a> ReadGrant<'_, 'a> {
    /// The payload, in the ring.
    pub fn payload(&self) -> Shm<'a> {
        self.payload
    }

    /// The payload length.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// The producer's tag.
    pub fn tag(&self) -> u32 {
        self.tag
    }

    /// The payload as a Rust slice, in the ring.
    ///
    /// # Safety
    /// Nothing may write these bytes while the slice lives: the peer
    /// following the protocol does not (they are published and not yet
    /// released), nor may anything in this program. Against a peer that
    /// may break the protocol, use the safe [`ReadGrant::payload`] view.
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the caller's promise above is Shm::as_slice's.
        unsafe { self.payload.as_slice() }
    }

    /// Gives the record's space back to the producer. Returns whether the
    /// producer asked for a doorbell.
    pub fn release(self) -> bool {
        let c = self.consumer;
        c.tail = self.next_tail;
        c.ring.hdr.store_u64_release(off::TAIL, c.tail);
        full_barrier();
        c.ring.hdr.read_u32(off::PRODUCER_WAITING) != 0
    }
}

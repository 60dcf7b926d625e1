//! The remoteproc resource table (`include/linux/remoteproc.h`).
//!
//! * Wire structs ([`TableHeader`], [`FwRscCarveout`], [`FwRscDevmem`],
//!   [`FwRscTrace`], [`FwRscVdev`], [`FwRscVdevVring`]): packed,
//!   little-endian, byte-for-byte Linux's.
//! * [`TableBuilder`]: a `const` builder, so a firmware can write
//!   `#[link_section = ".resource_table"] static RSC: ResourceTable<LEN> = ...`.
//! * [`parse`]: a validator for host tools, with precise [`RscError`]s.
//! * [`LiveVdev`]: volatile access to the vdev fields Linux writes back
//!   (status, vring addresses, negotiated features) while both sides run.

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::shmem::{SharedBytes, Shm};

/// `ver` of every table Linux accepts.
pub const RSC_TABLE_VERSION: u32 = 1;
/// `RSC_CARVEOUT`: memory the remote needs, allocated by Linux or fixed.
pub const RSC_CARVEOUT: u32 = 0;
/// `RSC_DEVMEM`: a device region to map for the remote.
pub const RSC_DEVMEM: u32 = 1;
/// `RSC_TRACE`: a trace buffer Linux shows in debugfs.
pub const RSC_TRACE: u32 = 2;
/// `RSC_VDEV`: a virtio device with its vrings.
pub const RSC_VDEV: u32 = 3;
/// First vendor-specific type (`RSC_VENDOR_START`).
pub const RSC_VENDOR_START: u32 = 128;
/// Last vendor-specific type (`RSC_VENDOR_END`).
pub const RSC_VENDOR_END: u32 = 512;
/// `FW_RSC_ADDR_ANY`: "Linux, pick the address and write it back".
pub const FW_RSC_ADDR_ANY: u32 = 0xFFFF_FFFF;
/// Longest name (bytes before the terminating NUL) in a 32-byte name field.
pub const NAME_MAX: usize = 31;
/// Linux handles at most two vrings per vdev (RX and TX).
pub const MAX_VRINGS: usize = 2;
/// Most entries [`parse`] accepts; bounds the overlap check.
pub const MAX_ENTRIES: usize = 128;

/// `struct resource_table` without its flexible `offset[]` array.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct TableHeader {
    /// Table version, 1.
    pub ver: U32,
    /// Number of entries (and of `offset[]` words after this header).
    pub num: U32,
    /// Must be zero.
    pub reserved: [U32; 2],
}

/// `struct fw_rsc_carveout` (after the 4-byte type word).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct FwRscCarveout {
    /// Device address, or `FW_RSC_ADDR_ANY` (Linux writes it back).
    pub da: U32,
    /// Physical address, or `FW_RSC_ADDR_ANY` (Linux writes it back).
    pub pa: U32,
    /// Length in bytes.
    pub len: U32,
    /// IOMMU protection flags.
    pub flags: U32,
    /// Must be zero.
    pub reserved: U32,
    /// NUL-terminated name.
    pub name: [u8; 32],
}

/// `struct fw_rsc_devmem` (after the 4-byte type word).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct FwRscDevmem {
    /// Device address.
    pub da: U32,
    /// Physical address.
    pub pa: U32,
    /// Length in bytes.
    pub len: U32,
    /// IOMMU protection flags.
    pub flags: U32,
    /// Must be zero.
    pub reserved: U32,
    /// NUL-terminated name.
    pub name: [u8; 32],
}

/// `struct fw_rsc_trace` (after the 4-byte type word).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct FwRscTrace {
    /// Device address of the trace buffer.
    pub da: U32,
    /// Its length in bytes.
    pub len: U32,
    /// Must be zero.
    pub reserved: U32,
    /// NUL-terminated name.
    pub name: [u8; 32],
}

/// `struct fw_rsc_vdev` (after the 4-byte type word), followed on the wire
/// by `num_of_vrings` [`FwRscVdevVring`]s and `config_len` config bytes.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct FwRscVdev {
    /// Virtio device id ([`crate::virtio::VIRTIO_ID_RPMSG`]).
    pub id: U32,
    /// Notify id of the vdev (config changes).
    pub notifyid: U32,
    /// Features the device offers.
    pub dfeatures: U32,
    /// Features the driver accepted (written back by Linux).
    pub gfeatures: U32,
    /// Bytes of config space after the vrings.
    pub config_len: U32,
    /// Virtio status (written back by Linux).
    pub status: u8,
    /// Number of [`FwRscVdevVring`]s that follow.
    pub num_of_vrings: u8,
    /// Must be zero.
    pub reserved: [u8; 2],
}

/// `struct fw_rsc_vdev_vring`.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct FwRscVdevVring {
    /// Device address, or `FW_RSC_ADDR_ANY` (Linux writes it back).
    pub da: U32,
    /// Alignment between the avail and used rings.
    pub align: U32,
    /// Number of descriptors (power of two).
    pub num: U32,
    /// Notify id Linux assigns (written back), the doorbell payload.
    pub notifyid: U32,
    /// Physical address (Linux may leave it zero).
    pub pa: U32,
}

const HDR_LEN: usize = core::mem::size_of::<TableHeader>();
const TYPE_LEN: usize = 4;
const CARVEOUT_LEN: usize = core::mem::size_of::<FwRscCarveout>();
const DEVMEM_LEN: usize = core::mem::size_of::<FwRscDevmem>();
const TRACE_LEN: usize = core::mem::size_of::<FwRscTrace>();
const VDEV_LEN: usize = core::mem::size_of::<FwRscVdev>();
const VRING_LEN: usize = core::mem::size_of::<FwRscVdevVring>();

/// Bytes of the header plus `num` offsets.
pub const fn header_len(num: usize) -> usize {
    HDR_LEN + 4 * num
}
/// Bytes of a carveout entry, type word included.
pub const CARVEOUT_ENTRY_LEN: usize = TYPE_LEN + CARVEOUT_LEN;
/// Bytes of a devmem entry, type word included.
pub const DEVMEM_ENTRY_LEN: usize = TYPE_LEN + DEVMEM_LEN;
/// Bytes of a trace entry, type word included.
pub const TRACE_ENTRY_LEN: usize = TYPE_LEN + TRACE_LEN;
/// Bytes a vdev entry takes in a built table: type word, vdev, vrings and
/// config, padded to 4 so the next entry stays aligned.
pub const fn vdev_entry_len(vrings: usize, config_len: usize) -> usize {
    (TYPE_LEN + VDEV_LEN + VRING_LEN * vrings + config_len + 3) & !3
}

/// Bytes of a vendor entry (type word included) with a `body_len`-byte
/// body (a multiple of 4, so the next entry stays aligned).
pub const fn vendor_entry_len(body_len: usize) -> usize {
    TYPE_LEN + body_len
}

// ---------------------------------------------------------------- builder

/// A vring of a vdev entry, as the firmware declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VringSpec {
    /// Device address, usually [`FW_RSC_ADDR_ANY`].
    pub da: u32,
    /// Alignment of the used ring (power of two).
    pub align: u32,
    /// Number of descriptors (power of two).
    pub num: u32,
    /// Initial notify id (Linux overwrites it).
    pub notifyid: u32,
}

/// The fixed part of a vdev entry, as the firmware declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VdevSpec {
    /// Virtio device id.
    pub id: u32,
    /// Notify id of the vdev.
    pub notifyid: u32,
    /// Offered features.
    pub dfeatures: u32,
    /// Zeroed config bytes after the vrings.
    pub config_len: u32,
}

/// Builds a resource table in a `LEN`-byte array at compile time. Declare
/// the entry count up front, add exactly that many entries, then
/// [`build`](Self::build). Misuse (too many entries, wrong `LEN`, a name
/// over 31 bytes, a bad vring) is a compile-time error in a `const`/`static`.
///
/// ```
/// use amp_proto::rsc::{self, ResourceTable, TableBuilder};
/// const LEN: usize = rsc::header_len(2)
///     + rsc::vdev_entry_len(2, 0)
///     + rsc::TRACE_ENTRY_LEN;
/// static RSC: ResourceTable<LEN> = TableBuilder::new(2)
///     .rpmsg_vdev(64, 4096)
///     .trace(0x7030_0000, 0x1000, "trace0")
///     .build();
/// # assert_eq!(rsc::parse(&RSC.snapshot()).unwrap().entries().count(), 2);
/// ```
pub struct TableBuilder<const LEN: usize> {
    buf: [u8; LEN],
    num: usize,
    added: usize,
    cursor: usize,
}

const fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    let b = v.to_le_bytes();
    buf[off] = b[0];
    buf[off + 1] = b[1];
    buf[off + 2] = b[2];
    buf[off + 3] = b[3];
}

const fn put_name(buf: &mut [u8], off: usize, name: &str) {
    let n = name.as_bytes();
    assert!(n.len() <= NAME_MAX, "resource name longer than 31 bytes");
    let mut i = 0;
    while i < n.len() {
        buf[off + i] = n[i];
        i += 1;
    }
}

impl<const LEN: usize> TableBuilder<LEN> {
    /// Starts a version-1 table with `num` entries.
    pub const fn new(num: usize) -> Self {
        assert!(header_len(num) <= LEN, "table LEN too small for the header");
        let mut buf = [0u8; LEN];
        put_u32(&mut buf, 0, RSC_TABLE_VERSION);
        put_u32(&mut buf, 4, num as u32);
        TableBuilder {
            buf,
            num,
            added: 0,
            cursor: header_len(num),
        }
    }

    const fn begin(mut self, kind: u32, len: usize) -> (Self, usize) {
        assert!(self.added < self.num, "more entries than declared in new()");
        assert!(
            self.cursor + len <= LEN,
            "table LEN too small for the entries"
        );
        let off = self.cursor;
        put_u32(&mut self.buf, HDR_LEN + 4 * self.added, off as u32);
        put_u32(&mut self.buf, off, kind);
        self.added += 1;
        self.cursor += len;
        (self, off + TYPE_LEN)
    }

    /// Adds a carveout.
    pub const fn carveout(self, da: u32, pa: u32, len: u32, flags: u32, name: &str) -> Self {
        let (mut s, o) = self.begin(RSC_CARVEOUT, CARVEOUT_ENTRY_LEN);
        put_u32(&mut s.buf, o, da);
        put_u32(&mut s.buf, o + 4, pa);
        put_u32(&mut s.buf, o + 8, len);
        put_u32(&mut s.buf, o + 12, flags);
        put_name(&mut s.buf, o + 20, name);
        s
    }

    /// Adds a device-memory mapping.
    pub const fn devmem(self, da: u32, pa: u32, len: u32, flags: u32, name: &str) -> Self {
        let (mut s, o) = self.begin(RSC_DEVMEM, DEVMEM_ENTRY_LEN);
        put_u32(&mut s.buf, o, da);
        put_u32(&mut s.buf, o + 4, pa);
        put_u32(&mut s.buf, o + 8, len);
        put_u32(&mut s.buf, o + 12, flags);
        put_name(&mut s.buf, o + 20, name);
        s
    }

    /// Adds a trace buffer of `len` bytes at device address `da`.
    pub const fn trace(self, da: u32, len: u32, name: &str) -> Self {
        let (mut s, o) = self.begin(RSC_TRACE, TRACE_ENTRY_LEN);
        put_u32(&mut s.buf, o, da);
        put_u32(&mut s.buf, o + 4, len);
        put_name(&mut s.buf, o + 12, name);
        s
    }

    /// Adds a vdev with up to two vrings and `config_len` zeroed config bytes.
    pub const fn vdev(self, vdev: VdevSpec, vrings: &[VringSpec]) -> Self {
        assert!(vrings.len() <= MAX_VRINGS, "a vdev has at most 2 vrings");
        let len = vdev_entry_len(vrings.len(), vdev.config_len as usize);
        let (mut s, o) = self.begin(RSC_VDEV, len);
        put_u32(&mut s.buf, o, vdev.id);
        put_u32(&mut s.buf, o + 4, vdev.notifyid);
        put_u32(&mut s.buf, o + 8, vdev.dfeatures);
        put_u32(&mut s.buf, o + 16, vdev.config_len);
        s.buf[o + 21] = vrings.len() as u8;
        let mut i = 0;
        while i < vrings.len() {
            let v = vrings[i];
            assert!(
                v.num != 0 && v.num.is_power_of_two(),
                "vring num must be a power of two"
            );
            assert!(
                v.align != 0 && v.align.is_power_of_two(),
                "vring align must be a power of two"
            );
            let vo = o + VDEV_LEN + i * VRING_LEN;
            put_u32(&mut s.buf, vo, v.da);
            put_u32(&mut s.buf, vo + 4, v.align);
            put_u32(&mut s.buf, vo + 8, v.num);
            put_u32(&mut s.buf, vo + 12, v.notifyid);
            i += 1;
        }
        s
    }

    /// Adds a vendor-specific entry (type in `RSC_VENDOR_START..=
    /// RSC_VENDOR_END`, which Linux hands to the driver's `handle_rsc`):
    /// the type word, then `body` (a multiple of 4 bytes), e.g. the
    /// rtd-amp stop/crash contract of `amp-ctrl-page`.
    pub const fn vendor(self, kind: u32, body: &[u8]) -> Self {
        assert!(
            kind >= RSC_VENDOR_START && kind <= RSC_VENDOR_END,
            "a vendor type is in 128..=512"
        );
        assert!(
            body.len() % 4 == 0,
            "a vendor body is a multiple of 4 bytes"
        );
        let (mut s, o) = self.begin(kind, vendor_entry_len(body.len()));
        let mut i = 0;
        while i < body.len() {
            s.buf[o + i] = body[i];
            i += 1;
        }
        s
    }

    /// Adds the RPMsg vdev Linux's `virtio_rpmsg_bus` binds to: id 7, the
    /// name-service feature, vring0 (Linux RX) and vring1 (Linux TX) with
    /// `num` descriptors each, addresses left to Linux.
    pub const fn rpmsg_vdev(self, num: u32, align: u32) -> Self {
        self.vdev(
            VdevSpec {
                id: crate::virtio::VIRTIO_ID_RPMSG,
                notifyid: 0,
                dfeatures: 1 << crate::virtio::VIRTIO_RPMSG_F_NS,
                config_len: 0,
            },
            &[
                VringSpec {
                    da: FW_RSC_ADDR_ANY,
                    align,
                    num,
                    notifyid: 0,
                },
                VringSpec {
                    da: FW_RSC_ADDR_ANY,
                    align,
                    num,
                    notifyid: 1,
                },
            ],
        )
    }

    /// The finished bytes (for tests and tools).
    pub const fn finish(self) -> [u8; LEN] {
        assert!(
            self.added == self.num,
            "fewer entries than declared in new()"
        );
        assert!(self.cursor == LEN, "table LEN larger than its entries");
        self.buf
    }

    /// The finished table, ready for a `.resource_table` static.
    pub const fn build(self) -> ResourceTable<LEN> {
        ResourceTable(SharedBytes::new(self.finish()))
    }
}

/// A resource table in firmware memory. Linux rewrites parts of it while
/// the firmware runs, so it is only reachable through volatile accesses.
#[repr(transparent)]
pub struct ResourceTable<const LEN: usize>(SharedBytes<LEN>);

impl<const LEN: usize> ResourceTable<LEN> {
    /// Wraps table bytes made elsewhere (see [`TableBuilder`]).
    pub const fn from_bytes(bytes: [u8; LEN]) -> Self {
        ResourceTable(SharedBytes::new(bytes))
    }

    /// The table as shared memory (what [`LiveVdev::find`] takes).
    pub fn shm(&self) -> Shm<'_> {
        self.0.shm()
    }

    /// A copy of the current bytes (for [`parse`]).
    pub fn snapshot(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        self.shm().read_bytes(0, &mut b);
        b
    }
}

// ----------------------------------------------------------------- parser

/// Why a table was rejected. Indices are entry numbers, offsets are bytes
/// from the start of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RscError {
    /// Shorter than the 16-byte header.
    #[error("resource table is {len} bytes, shorter than its 16-byte header")]
    TooShort {
        /// Table length.
        len: usize,
    },
    /// `ver` is not 1.
    #[error("resource table version {ver} is not supported (expected 1)")]
    BadVersion {
        /// Version found.
        ver: u32,
    },
    /// More entries than [`MAX_ENTRIES`].
    #[error("resource table declares {num} entries, more than the {max} accepted")]
    TooManyEntries {
        /// `num` found.
        num: u32,
        /// [`MAX_ENTRIES`].
        max: usize,
    },
    /// The `offset[]` array does not fit in the table.
    #[error("resource table declares {num} entries: header and offsets need {need} bytes, table has {len}")]
    OffsetsTruncated {
        /// `num` found.
        num: u32,
        /// Bytes needed.
        need: usize,
        /// Table length.
        len: usize,
    },
    /// An offset is not a multiple of 4.
    #[error("entry {index}: offset {offset:#x} is not 4-byte aligned")]
    MisalignedOffset {
        /// Entry number.
        index: usize,
        /// Offset found.
        offset: u32,
    },
    /// An offset points into the header or the offset array.
    #[error(
        "entry {index}: offset {offset:#x} points into the header (which ends at {header_end:#x})"
    )]
    OffsetInHeader {
        /// Entry number.
        index: usize,
        /// Offset found.
        offset: u32,
        /// End of header plus offsets.
        header_end: usize,
    },
    /// No room for even the type word.
    #[error("entry {index}: offset {offset:#x} is outside the {len}-byte table")]
    OffsetOutOfBounds {
        /// Entry number.
        index: usize,
        /// Offset found.
        offset: u32,
        /// Table length.
        len: usize,
    },
    /// The entry runs past the end of the table.
    #[error("entry {index} ({kind}) at {offset:#x} needs {need} bytes, only {have} remain")]
    Truncated {
        /// Entry number.
        index: usize,
        /// Entry kind name.
        kind: &'static str,
        /// Offset of the entry.
        offset: u32,
        /// Bytes the entry needs (type word included).
        need: usize,
        /// Bytes left in the table from its offset.
        have: usize,
    },
    /// Two entries share bytes.
    #[error("entry {index} at {offset:#x} overlaps entry {other} at {other_offset:#x}")]
    Overlap {
        /// Entry number.
        index: usize,
        /// Its offset.
        offset: u32,
        /// The earlier entry it overlaps.
        other: usize,
        /// That entry's offset.
        other_offset: u32,
    },
    /// A vdev with more than two vrings.
    #[error("entry {index}: vdev declares {count} vrings, Linux supports at most 2")]
    TooManyVrings {
        /// Entry number.
        index: usize,
        /// `num_of_vrings` found.
        count: u8,
    },
    /// A vring with zero or non-power-of-two `num`.
    #[error("entry {index}: vring {vring} has num {num}, not a non-zero power of two")]
    BadVringNum {
        /// Entry number.
        index: usize,
        /// Vring number in the vdev.
        vring: usize,
        /// `num` found.
        num: u32,
    },
    /// A vring with zero or non-power-of-two `align`.
    #[error("entry {index}: vring {vring} has align {align}, not a non-zero power of two")]
    BadVringAlign {
        /// Entry number.
        index: usize,
        /// Vring number in the vdev.
        vring: usize,
        /// `align` found.
        align: u32,
    },
}

/// One entry of a validated table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// `RSC_CARVEOUT`.
    Carveout(&'a FwRscCarveout),
    /// `RSC_DEVMEM`.
    Devmem(&'a FwRscDevmem),
    /// `RSC_TRACE`.
    Trace(&'a FwRscTrace),
    /// `RSC_VDEV` with its vrings and config bytes.
    Vdev {
        /// The fixed part.
        vdev: &'a FwRscVdev,
        /// `num_of_vrings` vrings.
        vrings: &'a [FwRscVdevVring],
        /// `config_len` bytes.
        config: &'a [u8],
    },
    /// A type this crate does not know (vendor types included): reported,
    /// not fatal, as Linux also skips vendor resources it cannot handle.
    Unknown {
        /// The type word.
        kind: u32,
    },
}

impl Entry<'_> {
    /// Whether an unknown entry is in the vendor range 128..=512.
    pub fn is_vendor(&self) -> bool {
        matches!(self, Entry::Unknown { kind } if (RSC_VENDOR_START..=RSC_VENDOR_END).contains(kind))
    }
}

/// A table that passed [`parse`].
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    bytes: &'a [u8],
    num: usize,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Decodes the entry at `off` (type word included) and its extent, or the
/// reason it does not fit.
fn decode(bytes: &[u8], index: usize, off: usize) -> Result<(Entry<'_>, usize), RscError> {
    let kind = u32_at(bytes, off);
    let body = &bytes[off + TYPE_LEN..];
    let have = bytes.len() - off;
    let truncated = |kind, need| RscError::Truncated {
        index,
        kind,
        offset: off as u32,
        need,
        have,
    };
    let entry = match kind {
        RSC_CARVEOUT => FwRscCarveout::ref_from_prefix(body)
            .map(|(c, _)| (Entry::Carveout(c), CARVEOUT_ENTRY_LEN))
            .map_err(|_| truncated("carveout", CARVEOUT_ENTRY_LEN))?,
        RSC_DEVMEM => FwRscDevmem::ref_from_prefix(body)
            .map(|(d, _)| (Entry::Devmem(d), DEVMEM_ENTRY_LEN))
            .map_err(|_| truncated("devmem", DEVMEM_ENTRY_LEN))?,
        RSC_TRACE => FwRscTrace::ref_from_prefix(body)
            .map(|(t, _)| (Entry::Trace(t), TRACE_ENTRY_LEN))
            .map_err(|_| truncated("trace", TRACE_ENTRY_LEN))?,
        RSC_VDEV => {
            let (vdev, rest) = FwRscVdev::ref_from_prefix(body)
                .map_err(|_| truncated("vdev", TYPE_LEN + VDEV_LEN))?;
            let count = vdev.num_of_vrings;
            if usize::from(count) > MAX_VRINGS {
                return Err(RscError::TooManyVrings { index, count });
            }
            let cfg = vdev.config_len.get() as usize;
            let need = TYPE_LEN + VDEV_LEN + VRING_LEN * usize::from(count) + cfg;
            let (vrings, rest) = <[FwRscVdevVring]>::ref_from_prefix_with_elems(rest, count.into())
                .map_err(|_| truncated("vdev", need))?;
            let config = rest.get(..cfg).ok_or(truncated("vdev", need))?;
            for (vring, v) in vrings.iter().enumerate() {
                let num = v.num.get();
                if num == 0 || !num.is_power_of_two() {
                    return Err(RscError::BadVringNum { index, vring, num });
                }
                let align = v.align.get();
                if align == 0 || !align.is_power_of_two() {
                    return Err(RscError::BadVringAlign {
                        index,
                        vring,
                        align,
                    });
                }
            }
            (
                Entry::Vdev {
                    vdev,
                    vrings,
                    config,
                },
                need,
            )
        }
        _ => (Entry::Unknown { kind }, TYPE_LEN),
    };
    Ok(entry)
}

/// Validates a resource table: version, `num` against the length, every
/// offset (aligned, past the offset array, in bounds), every entry complete
/// and not overlapping another, vdevs with at most two vrings whose `num`
/// and `align` are non-zero powers of two. Unknown types are accepted and
/// show up as [`Entry::Unknown`]. Never panics, whatever the input.
pub fn parse(bytes: &[u8]) -> Result<Table<'_>, RscError> {
    let (hdr, _) =
        TableHeader::ref_from_prefix(bytes).map_err(|_| RscError::TooShort { len: bytes.len() })?;
    let ver = hdr.ver.get();
    if ver != RSC_TABLE_VERSION {
        return Err(RscError::BadVersion { ver });
    }
    let num_raw = hdr.num.get();
    let num = num_raw as usize;
    if num > MAX_ENTRIES {
        return Err(RscError::TooManyEntries {
            num: num_raw,
            max: MAX_ENTRIES,
        });
    }
    let header_end = header_len(num);
    if header_end > bytes.len() {
        return Err(RscError::OffsetsTruncated {
            num: num_raw,
            need: header_end,
            len: bytes.len(),
        });
    }
    let mut extents = [(0usize, 0usize); MAX_ENTRIES];
    for index in 0..num {
        let offset = u32_at(bytes, HDR_LEN + 4 * index);
        let off = offset as usize;
        if off % 4 != 0 {
            return Err(RscError::MisalignedOffset { index, offset });
        }
        if off < header_end {
            return Err(RscError::OffsetInHeader {
                index,
                offset,
                header_end,
            });
        }
        if off
            .checked_add(TYPE_LEN)
            .is_none_or(|end| end > bytes.len())
        {
            return Err(RscError::OffsetOutOfBounds {
                index,
                offset,
                len: bytes.len(),
            });
        }
        let (_, size) = decode(bytes, index, off)?;
        let end = off + size;
        for (other, &(o_start, o_end)) in extents[..index].iter().enumerate() {
            if off < o_end && o_start < end {
                return Err(RscError::Overlap {
                    index,
                    offset,
                    other,
                    other_offset: o_start as u32,
                });
            }
        }
        extents[index] = (off, end);
    }
    Ok(Table { bytes, num })
}

impl<'a> Table<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.num
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Byte offset of entry `index` (its type word).
    pub fn offset(&self, index: usize) -> Option<usize> {
        (index < self.num).then(|| u32_at(self.bytes, HDR_LEN + 4 * index) as usize)
    }

    /// The entries in table order, each with its offset.
    pub fn entries(&self) -> impl Iterator<Item = (usize, Entry<'a>)> + '_ {
        let bytes = self.bytes;
        (0..self.num).map(move |i| {
            let off = u32_at(bytes, HDR_LEN + 4 * i) as usize;
            let (entry, _) = decode(bytes, i, off).expect("validated by parse");
            (off, entry)
        })
    }
}

/// The name in a 32-byte name field, up to the first NUL (lossy: invalid
/// UTF-8 yields `None`).
pub fn name_str(name: &[u8; 32]) -> Option<&str> {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    core::str::from_utf8(&name[..end]).ok()
}

// ------------------------------------------------------------ live access

/// The vdev entry of a table in shared memory, read and written with
/// volatile accesses: Linux writes `status`, `gfeatures` and the vrings'
/// `da`/`notifyid` while the firmware runs.
#[derive(Clone, Copy, Debug)]
pub struct LiveVdev<'a> {
    shm: Shm<'a>,
    /// Offset of the `fw_rsc_vdev` body (after the type word).
    body: usize,
    vrings: usize,
}

impl<'a> LiveVdev<'a> {
    /// Finds the `n`-th vdev entry of the table in `table`. Only the header,
    /// offsets and that entry's fixed part are checked; run [`parse`] on a
    /// snapshot first when the table is untrusted. A table not 4-byte
    /// aligned is not found and an entry at an offset that is not a
    /// multiple of 4 is skipped ([`parse`] refuses both as
    /// `MisalignedOffset`; [`TableBuilder`] never makes one): every word is
    /// then read with an aligned access, no byte-by-byte fallback.
    pub fn find(table: Shm<'a>, n: usize) -> Option<Self> {
        if table.addr() % 4 != 0
            || table.len() < HDR_LEN
            || table.read_u32_aligned(0) != RSC_TABLE_VERSION
        {
            return None;
        }
        let num = (table.read_u32_aligned(4) as usize).min(MAX_ENTRIES);
        if header_len(num) > table.len() {
            return None;
        }
        let mut seen = 0;
        for i in 0..num {
            let off = table.read_u32_aligned(HDR_LEN + 4 * i) as usize;
            let body = off.checked_add(TYPE_LEN)?;
            if off % 4 != 0
                || table.window(off, TYPE_LEN + VDEV_LEN).is_none()
                || table.read_u32_aligned(off) != RSC_VDEV
            {
                continue;
            }
            if seen == n {
                let vrings = usize::from(table.read_u8(body + 21)).min(MAX_VRINGS);
                table.window(body, VDEV_LEN + VRING_LEN * vrings)?;
                return Some(LiveVdev {
                    shm: table,
                    body,
                    vrings,
                });
            }
            seen += 1;
        }
        None
    }

    /// Virtio device id.
    pub fn id(&self) -> u32 {
        self.shm.read_u32_aligned(self.body)
    }
    /// Offered features.
    pub fn dfeatures(&self) -> u32 {
        self.shm.read_u32_aligned(self.body + 8)
    }
    /// Accepted features (Linux writes them before DRIVER_OK).
    pub fn gfeatures(&self) -> u32 {
        self.shm.read_u32_aligned(self.body + 12)
    }
    /// Writes the accepted features (driver role).
    pub fn set_gfeatures(&self, f: u32) {
        self.shm.write_u32_aligned(self.body + 12, f)
    }
    /// Virtio status byte.
    pub fn status(&self) -> u8 {
        self.shm.read_u8(self.body + 20)
    }
    /// Writes the status byte (driver role), ordered after everything the
    /// driver wrote before (rings, buffers).
    pub fn set_status(&self, s: u8) {
        crate::shmem::full_barrier();
        self.shm.write_u8(self.body + 20, s)
    }
    /// Number of vrings (at most 2).
    pub fn num_vrings(&self) -> usize {
        self.vrings
    }
    /// Vring `i` as currently in the table.
    pub fn vring(&self, i: usize) -> Option<VringSpec> {
        (i < self.vrings).then(|| {
            let o = self.body + VDEV_LEN + i * VRING_LEN;
            VringSpec {
                da: self.shm.read_u32_aligned(o),
                align: self.shm.read_u32_aligned(o + 4),
                num: self.shm.read_u32_aligned(o + 8),
                notifyid: self.shm.read_u32_aligned(o + 12),
            }
        })
    }
    /// Writes back vring `i`'s address and notify id (driver role).
    pub fn set_vring(&self, i: usize, da: u32, notifyid: u32) {
        assert!(i < self.vrings, "vring {i} out of range");
        let o = self.body + VDEV_LEN + i * VRING_LEN;
        self.shm.write_u32_aligned(o, da);
        self.shm.write_u32_aligned(o + 12, notifyid);
    }
}

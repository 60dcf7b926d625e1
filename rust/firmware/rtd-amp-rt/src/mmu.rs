//! Identity-mapped translation tables (4 KiB granule, 39-bit VA) with the
//! memory attributes of docs/design.md ("Memory attributes") and the
//! permissions of docs/firmware.md ("Memory map"):
//!
//! * the firmware image in 4 KiB pages: code read-only and executable,
//!   read-only data never executed, data/bss/stacks read-write never
//!   executed, and an **unmapped guard page below each stack**, so an
//!   overflow faults (a crash record) instead of running into `.bss`, where
//!   these very tables live;
//! * the trace buffer read-write, cacheable, never executed;
//! * the vrings and the buffer pool ([`layout::RPMSG`]), the bulk region
//!   ([`layout::BULK`]) and the control page Normal non-cacheable (Linux
//!   maps them write-combined, the bulk region also for user space),
//!   never executed;
//! * the GIC Device, in 2 MiB blocks.
//!
//! Everything else, the rest of the 16 MiB window included, is unmapped,
//! so stray accesses show up as crash records.
//!
//! `aarch64-paging` was evaluated for these tables and not taken: see
//! docs/firmware.md ("Translation tables").

use core::ops::Range;

use crate::board::{layout, Board};

/// `MAIR_EL1`: index 0 Device-nGnRE, 1 Normal write-back, 2 Normal non-cacheable.
pub const MAIR: u64 = 0x04 | (0xFF << 8) | (0x44 << 16);
/// `TCR_EL1`: T0SZ 25 (512 GiB), inner/outer write-back walks, inner
/// shareable, 4 KiB granule, TTBR1 walks disabled, 36-bit PA.
pub const TCR: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 32);

const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;
const PAGE: u64 = 0b11;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
/// `AP[2]`: read-only (at EL1; EL0 has no access either way).
const AP_RO: u64 = 1 << 7;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR: u64 = 0x0000_FFFF_FFFF_F000;
const BLOCK_SIZE: u64 = 2 << 20;
/// Page size.
pub const PAGE_SIZE: u64 = 4096;
/// Second-level tables available (one per GiB that holds a mapping).
pub const L2_TABLES: usize = 2;
/// Third-level tables available (one per 2 MiB that holds pages): the
/// image, the trace, the RPMsg window and the control page.
pub const L3_TABLES: usize = 4;

/// How a region is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// Firmware code: cacheable, read-only, executable.
    Code,
    /// Read-only data: cacheable, read-only, never executed.
    ReadOnly,
    /// Data, bss, stacks, trace: cacheable, read-write, never executed.
    Data,
    /// Memory shared with Linux: Normal non-cacheable, read-write, never
    /// executed.
    Shared,
    /// Device registers: Device-nGnRE, never executed.
    Device,
}

impl Attr {
    const fn bits(self) -> u64 {
        const WB: u64 = (1 << 2) | SH_INNER | AF;
        match self {
            Attr::Code => WB | AP_RO | UXN,
            Attr::ReadOnly => WB | AP_RO | PXN | UXN,
            Attr::Data => WB | PXN | UXN,
            Attr::Shared => (2 << 2) | SH_INNER | AF | PXN | UXN,
            Attr::Device => AF | PXN | UXN,
        }
    }
}

/// A region to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Base (4 KiB aligned).
    pub base: u64,
    /// Size (multiple of 4 KiB).
    pub size: u64,
    /// Attributes.
    pub attr: Attr,
}

impl Region {
    /// The addresses it covers.
    pub const fn range(&self) -> Range<u64> {
        self.base..self.base + self.size
    }
}

/// Why a map failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Base or size not 4 KiB aligned.
    Unaligned(u64),
    /// Beyond the 512 GiB the tables cover.
    OutOfRange(u64),
    /// More distinct GiBs than [`L2_TABLES`], or 2 MiB ranges with pages
    /// than [`L3_TABLES`].
    NoTable(u64),
    /// Would split a 2 MiB block already mapped, or put a block where pages are.
    Overlap(u64),
}

/// The firmware image's parts, from the linker script's symbols
/// (`rtd-amp-fw/link.x.in`); each boundary is page aligned. The gaps
/// between `data` and `stack` and between `stack` and `exc_stack` are the
/// guard pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// `.text`: code, boot code and vectors.
    pub text: Range<u64>,
    /// `.rodata`.
    pub rodata: Range<u64>,
    /// `.resource_table`, `.data`, `.bss`.
    pub data: Range<u64>,
    /// The firmware's stack (`SP_EL0`).
    pub stack: Range<u64>,
    /// The exception handlers' stack (`SP_EL1`).
    pub exc_stack: Range<u64>,
}

impl Image {
    /// The guard page below the firmware's stack.
    pub const fn stack_guard(&self) -> Range<u64> {
        self.stack.start - PAGE_SIZE..self.stack.start
    }
}

/// Number of regions [`regions`] returns.
pub const REGIONS: usize = 10;

/// The regions a board's firmware maps, image parts first.
pub fn regions(b: &Board, img: &Image) -> [Region; REGIONS] {
    let r = |range: &Range<u64>, attr| Region {
        base: range.start,
        size: range.end - range.start,
        attr,
    };
    let (rpmsg, rpmsg_size) = b.rpmsg_window();
    [
        r(&img.text, Attr::Code),
        r(&img.rodata, Attr::ReadOnly),
        r(&img.data, Attr::Data),
        r(&img.stack, Attr::Data),
        r(&img.exc_stack, Attr::Data),
        r(
            &(b.at(layout::TRACE)..b.at(layout::TRACE) + layout::TRACE_SIZE),
            Attr::Data,
        ),
        r(&(rpmsg..rpmsg + rpmsg_size), Attr::Shared),
        r(
            &(b.at(layout::BULK)..b.at(layout::BULK) + layout::BULK_SIZE),
            Attr::Shared,
        ),
        r(
            &(b.at(layout::CTRL)..b.at(layout::CTRL) + crate::ctrl::SIZE as u64),
            Attr::Shared,
        ),
        Region {
            base: b.gicd & !(BLOCK_SIZE - 1),
            size: b.gic_span,
            attr: Attr::Device,
        },
    ]
}

/// Level-1 table plus the level-2 and level-3 tables it points to. The
/// tables' own addresses are what the hardware walks, so they must live at
/// an identity mapped address (they do: the firmware's `.bss`).
#[repr(C, align(4096))]
pub struct Tables {
    /// Level 1: one entry per GiB.
    pub l1: [u64; 512],
    /// Level 2: one entry per 2 MiB.
    pub l2: [[u64; 512]; L2_TABLES],
    /// Level 3: one entry per 4 KiB.
    pub l3: [[u64; 512]; L3_TABLES],
    used2: usize,
    used3: usize,
}

impl Tables {
    /// Empty tables (everything faults).
    pub const fn new() -> Self {
        Tables {
            l1: [0; 512],
            l2: [[0; 512]; L2_TABLES],
            l3: [[0; 512]; L3_TABLES],
            used2: 0,
            used3: 0,
        }
    }

    fn l2_index(&self, e1: u64) -> usize {
        (0..self.used2)
            .find(|&k| core::ptr::addr_of!(self.l2[k]) as u64 == e1 & ADDR)
            .expect("l1 entry points at one of our l2 tables")
    }

    fn l3_index(&self, e2: u64) -> Option<usize> {
        (0..self.used3).find(|&k| core::ptr::addr_of!(self.l3[k]) as u64 == e2 & ADDR)
    }

    /// The level-2 table for `a`, created if needed.
    fn l2_for(&mut self, a: u64) -> Result<usize, MapError> {
        let i1 = (a >> 30) as usize;
        if i1 >= 512 {
            return Err(MapError::OutOfRange(a));
        }
        if self.l1[i1] == 0 {
            if self.used2 == L2_TABLES {
                return Err(MapError::NoTable(a));
            }
            self.l1[i1] = core::ptr::addr_of!(self.l2[self.used2]) as u64 | TABLE;
            self.used2 += 1;
        }
        Ok(self.l2_index(self.l1[i1]))
    }

    /// Maps `r`: 2 MiB blocks where base and size allow, 4 KiB pages
    /// elsewhere.
    pub fn map(&mut self, r: &Region) -> Result<(), MapError> {
        if r.base % PAGE_SIZE != 0 || r.size % PAGE_SIZE != 0 {
            return Err(MapError::Unaligned(r.base));
        }
        let end = r
            .base
            .checked_add(r.size)
            .ok_or(MapError::OutOfRange(r.base))?;
        let mut a = r.base;
        while a < end {
            let k2 = self.l2_for(a)?;
            let i2 = ((a >> 21) & 511) as usize;
            let e2 = self.l2[k2][i2];
            if a % BLOCK_SIZE == 0 && end - a >= BLOCK_SIZE {
                if e2 & 0b11 == TABLE {
                    return Err(MapError::Overlap(a));
                }
                self.l2[k2][i2] = a | r.attr.bits() | BLOCK;
                a += BLOCK_SIZE;
                continue;
            }
            let k3 = match e2 & 0b11 {
                0 => {
                    if self.used3 == L3_TABLES {
                        return Err(MapError::NoTable(a));
                    }
                    let k = self.used3;
                    self.l2[k2][i2] = core::ptr::addr_of!(self.l3[k]) as u64 | TABLE;
                    self.used3 += 1;
                    k
                }
                TABLE => self
                    .l3_index(e2)
                    .expect("l2 entry points at one of our l3 tables"),
                _ => return Err(MapError::Overlap(a)),
            };
            self.l3[k3][((a >> 12) & 511) as usize] = a | r.attr.bits() | PAGE;
            a += PAGE_SIZE;
        }
        Ok(())
    }

    /// The block or page descriptor that maps `addr`, if any.
    pub fn lookup(&self, addr: u64) -> Option<u64> {
        let e1 = *self.l1.get((addr >> 30) as usize)?;
        if e1 & 0b11 != TABLE {
            return None;
        }
        let e2 = self.l2[self.l2_index(e1)][((addr >> 21) & 511) as usize];
        match e2 & 0b11 {
            BLOCK => Some(e2),
            TABLE => {
                let e3 = self.l3[self.l3_index(e2)?][((addr >> 12) & 511) as usize];
                (e3 & 0b11 == PAGE).then_some(e3)
            }
            _ => None,
        }
    }
}

impl Default for Tables {
    fn default() -> Self {
        Self::new()
    }
}

/// What a descriptor allows, for tests and the crash report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// Writable at EL1.
    pub write: bool,
    /// Executable at EL1.
    pub exec: bool,
    /// `MAIR` index (0 Device, 1 write-back, 2 non-cacheable).
    pub mair: u64,
}

/// Decodes a descriptor from [`Tables::lookup`].
pub const fn perm(desc: u64) -> Perm {
    Perm {
        write: desc & AP_RO == 0,
        exec: desc & PXN == 0,
        mair: (desc >> 2) & 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{QEMU_VIRT, RTD1619B, WINDOW_SIZE};

    /// An image laid out as link.x.in does (sizes of a real build).
    fn image(b: &Board) -> Image {
        let w = b.window;
        Image {
            text: w..w + 0x7000,
            rodata: w + 0x7000..w + 0x9000,
            data: w + 0x9000..w + 0x1_0000,
            stack: w + 0x1_1000..w + 0x2_1000,
            exc_stack: w + 0x2_2000..w + 0x2_6000,
        }
    }

    fn tables(b: &Board) -> Box<Tables> {
        let mut t = Box::new(Tables::new());
        for r in regions(b, &image(b)) {
            t.map(&r)
                .unwrap_or_else(|e| panic!("{}: {r:?}: {e:?}", b.name));
        }
        t
    }

    #[test]
    fn board_maps_have_the_right_attributes() {
        for b in [QEMU_VIRT, RTD1619B] {
            let t = tables(&b);
            let img = image(&b);
            let p = |a: u64| t.lookup(a).map(perm);
            let rx = Some(Perm {
                write: false,
                exec: true,
                mair: 1,
            });
            let ro = Some(Perm {
                write: false,
                exec: false,
                mair: 1,
            });
            let rw = Some(Perm {
                write: true,
                exec: false,
                mair: 1,
            });
            let nc = Some(Perm {
                write: true,
                exec: false,
                mair: 2,
            });
            assert_eq!(p(b.window), rx, "{}: code read-only, executable", b.name);
            assert_eq!(p(img.text.end - 1), rx);
            assert_eq!(p(img.rodata.start), ro, "rodata read-only, never executed");
            assert_eq!(p(img.data.start), rw, "data read-write, never executed");
            assert_eq!(p(img.data.end - 1), rw);
            assert_eq!(p(img.stack_guard().start), None, "guard below the stack");
            assert_eq!(p(img.stack.start), rw);
            assert_eq!(p(img.stack.end - 8), rw);
            assert_eq!(
                p(img.exc_stack.start - 1),
                None,
                "guard below the exception stack"
            );
            assert_eq!(p(img.exc_stack.start), rw);
            assert_eq!(p(img.exc_stack.end), None, "nothing after the image");
            assert_eq!(p(b.at(layout::TRACE) - 1), None);
            assert_eq!(p(b.at(layout::TRACE)), rw, "trace cacheable");
            assert_eq!(p(b.window + 0x3F_FFFF), rw);
            assert_eq!(p(b.at(layout::VRING0)), nc, "vrings non-cacheable");
            assert_eq!(p(b.at(layout::BUFFERS)), nc);
            assert_eq!(p(b.at(layout::BUFFERS + layout::BUFFERS_SIZE - 1)), nc);
            assert_eq!(p(b.at(layout::BUFFERS + layout::BUFFERS_SIZE)), None);
            assert_eq!(p(b.at(layout::BULK) - 1), None);
            assert_eq!(
                p(b.at(layout::BULK)),
                nc,
                "bulk non-cacheable, as Linux maps it"
            );
            assert_eq!(p(b.at(layout::BULK + layout::BULK_SIZE - 1)), nc);
            assert_eq!(p(b.at(layout::BULK + layout::BULK_SIZE)), None);
            assert_eq!(p(b.at(layout::CTRL)), nc, "ctrl non-cacheable");
            assert_eq!(p(b.at(layout::CTRL) - 1), None);
            assert_eq!(p(b.at(layout::CTRL) + 0x1000), None);
            assert_eq!(
                p(b.gicd).map(|p| (p.mair, p.exec)),
                Some((0, false)),
                "GIC device"
            );
            assert_eq!(
                p(b.gicr + 0x6_0000).map(|p| p.mair),
                Some(0),
                "CPU3 redistributor"
            );
            assert_eq!(p(b.window + WINDOW_SIZE), None, "nothing else mapped");
            assert_eq!(p(0x10), None, "the data-abort fault's address");
            // Identity.
            for a in [b.window + 0x1234, b.at(layout::CTRL), img.stack.start] {
                assert_eq!(t.lookup(a).unwrap() & ADDR, a & !0xFFF, "{a:#x}");
            }
            assert_eq!(t.lookup(b.gicd).unwrap() & ADDR, b.gicd & !(BLOCK_SIZE - 1));
        }
    }

    #[test]
    fn nothing_is_both_writable_and_executable() {
        for b in [QEMU_VIRT, RTD1619B] {
            let t = tables(&b);
            let mut a = b.window;
            while a < b.window + WINDOW_SIZE {
                if let Some(p) = t.lookup(a).map(perm) {
                    assert!(!(p.write && p.exec), "{}: W^X at {a:#x}", b.name);
                }
                a += PAGE_SIZE;
            }
        }
    }

    #[test]
    fn rejects_bad_regions() {
        let mut t = Box::new(Tables::new());
        let r = |base, size| Region {
            base,
            size,
            attr: Attr::Device,
        };
        assert_eq!(
            t.map(&r(0x1010, PAGE_SIZE)),
            Err(MapError::Unaligned(0x1010))
        );
        assert_eq!(t.map(&r(0x1000, 0x10)), Err(MapError::Unaligned(0x1000)));
        assert_eq!(
            t.map(&r(1 << 40, BLOCK_SIZE)),
            Err(MapError::OutOfRange(1 << 40))
        );
        for g in 0..L2_TABLES as u64 {
            t.map(&r(g << 30, BLOCK_SIZE)).unwrap();
        }
        assert_eq!(
            t.map(&r(5 << 30, BLOCK_SIZE)),
            Err(MapError::NoTable(5 << 30))
        );
        // A page inside a block, a block over pages.
        assert_eq!(t.map(&r(0x1000, PAGE_SIZE)), Err(MapError::Overlap(0x1000)));
        t.map(&r(BLOCK_SIZE + 0x1000, PAGE_SIZE)).unwrap();
        assert_eq!(
            t.map(&r(BLOCK_SIZE, BLOCK_SIZE)),
            Err(MapError::Overlap(BLOCK_SIZE))
        );
        // Level-3 tables run out.
        for i in 2..=L3_TABLES as u64 {
            t.map(&r(i * BLOCK_SIZE, PAGE_SIZE)).unwrap();
        }
        let a = (L3_TABLES as u64 + 1) * BLOCK_SIZE;
        assert_eq!(t.map(&r(a, PAGE_SIZE)), Err(MapError::NoTable(a)));
    }

    #[test]
    fn system_register_values() {
        // MAIR: attr0 Device-nGnRE, attr1 Normal WB RW-allocate, attr2 Normal NC.
        assert_eq!(MAIR & 0xFF, 0x04);
        assert_eq!((MAIR >> 8) & 0xFF, 0xFF);
        assert_eq!((MAIR >> 16) & 0xFF, 0x44);
        // TCR: T0SZ 25 => 39-bit VA (level-1 start, 512 GiB); 4 KiB granule
        // (TG0 = 0); EPD1 set; IPS 36 bits covers every mapped address.
        assert_eq!(TCR & 0x3F, 25);
        assert_eq!((TCR >> 14) & 3, 0);
        assert_ne!(TCR & (1 << 23), 0);
        assert_eq!((TCR >> 32) & 7, 1);
        for b in [QEMU_VIRT, RTD1619B] {
            for r in regions(&b, &image(&b)) {
                assert!(r.base + r.size <= 1 << 36);
                assert!(r.base + r.size <= 1 << (64 - 25));
            }
        }
    }

    #[test]
    fn descriptors_are_valid_blocks_pages_and_tables() {
        let mut t = tables(&QEMU_VIRT);
        // Level-1 entries point at our level-2 tables (page aligned).
        let used: Vec<u64> = t.l1.iter().copied().filter(|&e| e != 0).collect();
        assert_eq!(used.len(), 2, "GIC GiB and window GiB");
        for e in used {
            assert_eq!(e & 0b11, TABLE);
            assert_eq!((e & !0xFFF) % 4096, 0);
        }
        // Blocks for the GIC and the bulk region; level-3 tables for the
        // image's, the trace's, the RPMsg window's and the control page's
        // 2 MiB.
        let entries = |bits| -> usize {
            t.l2.iter()
                .map(|l2| l2.iter().filter(|&&e| e & 0b11 == bits).count())
                .sum()
        };
        assert_eq!(entries(BLOCK), 2);
        assert_eq!(entries(TABLE), L3_TABLES);
        let img = image(&QEMU_VIRT);
        let pages: usize =
            t.l3.iter()
                .map(|l3| l3.iter().filter(|&&e| e & 0b11 == PAGE).count())
                .sum();
        let want = (img.text.end - img.text.start + img.rodata.end - img.rodata.start
            + img.data.end
            - img.data.start
            + img.stack.end
            - img.stack.start
            + img.exc_stack.end
            - img.exc_stack.start
            + layout::TRACE_SIZE
            + layout::RPMSG_SIZE
            + 0x1000)
            / PAGE_SIZE;
        assert_eq!(pages as u64, want);
        // Mapping the same region twice changes nothing.
        let before = (t.l2, t.l3);
        t.map(&regions(&QEMU_VIRT, &img)[0]).unwrap();
        assert_eq!(before, (t.l2, t.l3));
    }
}

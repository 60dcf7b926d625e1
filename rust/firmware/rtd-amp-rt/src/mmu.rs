//! Identity-mapped translation tables (4 KiB granule, 39-bit VA, 2 MiB
//! blocks) with the memory attributes of docs/design.md ("Memory
//! attributes"): the firmware's own image write-back cacheable, the rings, buffers and control page
//! Normal non-cacheable (Linux maps them write-combined), the GIC Device.
//! Anything not mapped faults, so stray accesses show up as crash records.

use crate::board::{layout, Board, WINDOW_SIZE};

/// `MAIR_EL1`: index 0 Device-nGnRE, 1 Normal write-back, 2 Normal non-cacheable.
pub const MAIR: u64 = 0x04 | (0xFF << 8) | (0x44 << 16);
/// `TCR_EL1`: T0SZ 25 (512 GiB), inner/outer write-back walks, inner
/// shareable, 4 KiB granule, TTBR1 walks disabled, 36-bit PA.
pub const TCR: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 32);

const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const BLOCK_SIZE: u64 = 2 << 20;
/// Second-level tables available (one per GiB that holds a mapping).
pub const L2_TABLES: usize = 4;

/// How a region is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// The firmware image: cacheable, executable.
    Image,
    /// Memory shared with Linux: Normal non-cacheable, never executed.
    Shared,
    /// Device registers: Device-nGnRE, never executed.
    Device,
}

impl Attr {
    const fn bits(self) -> u64 {
        match self {
            Attr::Image => (1 << 2) | SH_INNER | AF,
            Attr::Shared => (2 << 2) | SH_INNER | AF | PXN | UXN,
            Attr::Device => AF | PXN | UXN,
        }
    }
}

/// A region to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Base (2 MiB aligned).
    pub base: u64,
    /// Size (multiple of 2 MiB).
    pub size: u64,
    /// Attributes.
    pub attr: Attr,
}

/// Why a map failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Base or size not 2 MiB aligned.
    Unaligned(u64),
    /// Beyond the 512 GiB the tables cover.
    OutOfRange(u64),
    /// More distinct GiBs than [`L2_TABLES`].
    NoTable(u64),
}

/// The regions a board's firmware maps.
pub fn regions(b: &Board) -> [Region; 3] {
    [
        Region {
            base: b.window,
            size: layout::FIRMWARE_SIZE,
            attr: Attr::Image,
        },
        Region {
            base: b.window + layout::FIRMWARE_SIZE,
            size: WINDOW_SIZE - layout::FIRMWARE_SIZE,
            attr: Attr::Shared,
        },
        Region {
            base: b.gicd & !(BLOCK_SIZE - 1),
            size: b.gic_span,
            attr: Attr::Device,
        },
    ]
}

/// Level-1 table plus the level-2 tables it points to. The tables' own
/// addresses are what the hardware walks, so it must live at an identity
/// mapped address (it does: the firmware's image).
#[repr(C, align(4096))]
pub struct Tables {
    /// Level 1: one entry per GiB.
    pub l1: [u64; 512],
    /// Level 2: one entry per 2 MiB.
    pub l2: [[u64; 512]; L2_TABLES],
    used: usize,
}

impl Tables {
    /// Empty tables (everything faults).
    pub const fn new() -> Self {
        Tables {
            l1: [0; 512],
            l2: [[0; 512]; L2_TABLES],
            used: 0,
        }
    }

    /// Maps `r` with 2 MiB blocks.
    pub fn map(&mut self, r: &Region) -> Result<(), MapError> {
        if r.base % BLOCK_SIZE != 0 || r.size % BLOCK_SIZE != 0 {
            return Err(MapError::Unaligned(r.base));
        }
        let mut a = r.base;
        while a < r.base + r.size {
            let i1 = (a >> 30) as usize;
            if i1 >= 512 {
                return Err(MapError::OutOfRange(a));
            }
            if self.l1[i1] == 0 {
                if self.used == L2_TABLES {
                    return Err(MapError::NoTable(a));
                }
                let t = core::ptr::addr_of!(self.l2[self.used]) as u64;
                self.l1[i1] = t | TABLE;
                self.used += 1;
            }
            let t = self.l1[i1] & !0xFFF;
            let k = (0..self.used)
                .find(|&k| core::ptr::addr_of!(self.l2[k]) as u64 == t)
                .expect("l1 entry points at one of our l2 tables");
            self.l2[k][((a >> 21) & 511) as usize] = a | r.attr.bits() | BLOCK;
            a += BLOCK_SIZE;
        }
        Ok(())
    }

    /// The block descriptor that maps `addr`, if any.
    pub fn lookup(&self, addr: u64) -> Option<u64> {
        let e1 = *self.l1.get((addr >> 30) as usize)?;
        if e1 & TABLE != TABLE {
            return None;
        }
        let k = (0..self.used).find(|&k| core::ptr::addr_of!(self.l2[k]) as u64 == e1 & !0xFFF)?;
        let e2 = self.l2[k][((addr >> 21) & 511) as usize];
        (e2 & 0b11 == BLOCK).then_some(e2)
    }
}

impl Default for Tables {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{QEMU_VIRT, RTD1619B};

    #[test]
    fn board_maps_have_the_right_attributes() {
        for b in [QEMU_VIRT, RTD1619B] {
            let mut t = Box::new(Tables::new());
            for r in regions(&b) {
                t.map(&r).unwrap();
            }
            let attr = |a: u64| t.lookup(a).map(|e| (e >> 2) & 7);
            assert_eq!(attr(b.window), Some(1), "{}: image cacheable", b.name);
            assert_eq!(attr(b.window + 0x3F_F000), Some(1), "trace in the image");
            assert_eq!(attr(b.at(layout::VRING0)), Some(2), "vrings non-cacheable");
            assert_eq!(attr(b.at(layout::BUFFERS)), Some(2));
            assert_eq!(attr(b.at(layout::CTRL)), Some(2), "ctrl non-cacheable");
            assert_eq!(attr(b.gicd), Some(0), "GIC device");
            assert_eq!(attr(b.gicr + 0x6_0000), Some(0), "CPU3 redistributor");
            assert_eq!(attr(b.window + WINDOW_SIZE), None, "nothing else mapped");
            let e = t.lookup(b.at(layout::CTRL)).unwrap();
            assert_eq!(
                e & 0x0000_FFFF_FFE0_0000,
                b.at(layout::CTRL) & !0x1F_FFFF,
                "identity"
            );
            assert_ne!(e & UXN, 0, "shared memory is never executed");
            assert_eq!(t.lookup(b.window).unwrap() & UXN, 0);
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
            t.map(&r(0x1000, BLOCK_SIZE)),
            Err(MapError::Unaligned(0x1000))
        );
        assert_eq!(
            t.map(&r(1 << 40, BLOCK_SIZE)),
            Err(MapError::OutOfRange(1 << 40))
        );
        for g in 0..4u64 {
            t.map(&r(g << 30, BLOCK_SIZE)).unwrap();
        }
        assert_eq!(
            t.map(&r(5 << 30, BLOCK_SIZE)),
            Err(MapError::NoTable(5 << 30))
        );
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
            for r in regions(&b) {
                assert!(r.base + r.size <= 1 << 36);
                assert!(r.base + r.size <= 1 << (64 - 25));
            }
        }
    }

    #[test]
    fn descriptors_are_valid_blocks_and_tables() {
        let mut t = Box::new(Tables::new());
        for r in regions(&QEMU_VIRT) {
            t.map(&r).unwrap();
        }
        // Level-1 entries point at our level-2 tables (page aligned).
        let used: Vec<u64> = t.l1.iter().copied().filter(|&e| e != 0).collect();
        assert_eq!(used.len(), 2, "GIC GiB and window GiB");
        for e in used {
            assert_eq!(e & 0b11, TABLE);
            assert_eq!((e & !0xFFF) % 4096, 0);
        }
        // 8 blocks for the window (16 MiB) + 1 for the GIC.
        let blocks: usize =
            t.l2.iter()
                .map(|l2| l2.iter().filter(|&&e| e & 0b11 == BLOCK).count())
                .sum();
        assert_eq!(blocks, 9);
        // Mapping the same region twice changes nothing.
        let before = t.l2;
        t.map(&regions(&QEMU_VIRT)[0]).unwrap();
        assert_eq!(before, t.l2);
    }
}

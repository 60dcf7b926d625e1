//! Self-test support (`ampctl selftest`, `docs/bring-up.md`): the boot
//! stamp the firmware writes into the control page before anything else
//! (offsets 0x200..0x2FF, `docs/kernel.md` "Control page"), and its
//! doorbell counters. The stamp tells Linux, even when RPMsg never comes
//! up, that the firmware reached its entry, at which exception level, when
//! (the generic counter) and which doorbells it was built for.

use amp_proto::shmem::Shm;
use core::sync::atomic::{AtomicU64, Ordering};

/// u32: exception level at entry (`CurrentEL` bits 3:2).
pub const OFF_ENTRY_EL: usize = 0x200;
/// u32: the SGI the firmware takes as Linux's doorbell.
pub const OFF_SGI: usize = 0x204;
/// u32: the interrupt id (SPI + 32) the firmware raises towards Linux.
pub const OFF_SPI: usize = 0x208;
/// u32: "STMP" once the stamp is complete (written last).
pub const OFF_STAMP_MAGIC: usize = 0x20C;
/// u64: `CNTFRQ_EL0` as the firmware reads it.
pub const OFF_CNTFRQ: usize = 0x210;
/// u64: `CNTPCT_EL0` at the firmware's first Rust instruction.
pub const OFF_ENTRY_CNTPCT: usize = 0x218;
/// u64: the AMP window's physical base the firmware was built for.
pub const OFF_WINDOW: usize = 0x220;
/// u64: `MPIDR_EL1` of the core the firmware runs on.
pub const OFF_MPIDR: usize = 0x228;
/// u64: doorbell SGIs acknowledged since entry.
pub const OFF_SGIS: usize = 0x230;
/// u64: doorbell SPIs raised since entry.
pub const OFF_SPIS: usize = 0x238;
/// End of the self-test block.
pub const END: usize = 0x300;
/// "STMP".
pub const STAMP_MAGIC: u32 = 0x504D_5453;

/// What the firmware stamps at entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Exception level at entry.
    pub entry_el: u32,
    /// Doorbell SGI.
    pub sgi: u32,
    /// Doorbell interrupt id towards Linux.
    pub spi_intid: u32,
    /// `CNTFRQ_EL0`.
    pub cntfrq: u64,
    /// `CNTPCT_EL0` at entry.
    pub entry_cntpct: u64,
    /// AMP window base.
    pub window: u64,
    /// `MPIDR_EL1`.
    pub mpidr: u64,
}

static SGIS: AtomicU64 = AtomicU64::new(0);
static SPIS: AtomicU64 = AtomicU64::new(0);

/// Writes the stamp into the control page `page` (counters zero), its
/// magic last.
pub fn write_stamp(page: &Shm<'_>, s: &Stamp) {
    SGIS.store(0, Ordering::Relaxed);
    SPIS.store(0, Ordering::Relaxed);
    page.write_u32(OFF_ENTRY_EL, s.entry_el);
    page.write_u32(OFF_SGI, s.sgi);
    page.write_u32(OFF_SPI, s.spi_intid);
    page.write_u64(OFF_CNTFRQ, s.cntfrq);
    page.write_u64(OFF_ENTRY_CNTPCT, s.entry_cntpct);
    page.write_u64(OFF_WINDOW, s.window);
    page.write_u64(OFF_MPIDR, s.mpidr);
    page.write_u64(OFF_SGIS, 0);
    page.write_u64(OFF_SPIS, 0);
    amp_proto::shmem::full_barrier();
    page.write_u32(OFF_STAMP_MAGIC, STAMP_MAGIC);
}

/// Reads the stamp back (what Linux sees).
pub fn read_stamp(page: &Shm<'_>) -> Option<Stamp> {
    (page.read_u32(OFF_STAMP_MAGIC) == STAMP_MAGIC).then(|| Stamp {
        entry_el: page.read_u32(OFF_ENTRY_EL),
        sgi: page.read_u32(OFF_SGI),
        spi_intid: page.read_u32(OFF_SPI),
        cntfrq: page.read_u64(OFF_CNTFRQ),
        entry_cntpct: page.read_u64(OFF_ENTRY_CNTPCT),
        window: page.read_u64(OFF_WINDOW),
        mpidr: page.read_u64(OFF_MPIDR),
    })
}

/// Counts one doorbell SGI received (and mirrors it into the page).
pub fn count_sgi(page: &Shm<'_>) {
    let n = SGIS.fetch_add(1, Ordering::Relaxed) + 1;
    page.write_u64(OFF_SGIS, n);
}

/// Counts one doorbell SPI raised (and mirrors it into the page).
pub fn count_spi(page: &Shm<'_>) {
    let n = SPIS.fetch_add(1, Ordering::Relaxed) + 1;
    page.write_u64(OFF_SPIS, n);
}

/// (SGIs received, SPIs raised) since entry.
pub fn counters() -> (u64, u64) {
    (SGIS.load(Ordering::Relaxed), SPIS.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_proto::shmem::OwnedRegion;

    #[test]
    fn stamp_layout_is_the_drivers() {
        let r = OwnedRegion::new(crate::ctrl::SIZE);
        let page = r.shm();
        assert_eq!(read_stamp(&page), None, "no magic, no stamp");
        let s = Stamp {
            entry_el: 2,
            sgi: 7,
            spi_intid: 152,
            cntfrq: 62_500_000,
            entry_cntpct: 0x1_0000_0001,
            window: 0x7000_0000,
            mpidr: 0x8000_0003,
        };
        write_stamp(&page, &s);
        // The offsets docs/kernel.md and rtd_amp_rproc.c (CTRL_ST_*) use.
        assert_eq!(page.read_u32(0x200), 2);
        assert_eq!(page.read_u32(0x204), 7);
        assert_eq!(page.read_u32(0x208), 152);
        assert_eq!(page.read_u32(0x20C), 0x504D_5453);
        assert_eq!(&page.read_u32(0x20C).to_le_bytes(), b"STMP");
        assert_eq!(page.read_u64(0x210), 62_500_000);
        assert_eq!(page.read_u64(0x218), 0x1_0000_0001);
        assert_eq!(page.read_u64(0x220), 0x7000_0000);
        assert_eq!(page.read_u64(0x228), 0x8000_0003);
        assert_eq!(read_stamp(&page), Some(s));
        count_sgi(&page);
        count_sgi(&page);
        count_spi(&page);
        assert_eq!(page.read_u64(0x230), 2);
        assert_eq!(page.read_u64(0x238), 1);
        assert_eq!(counters(), (2, 1));
        const { assert!(OFF_SPIS + 8 <= END && END == 0x300, "inside 0x200..0x2FF") };
    }
}

//! Self-test support (`ampctl selftest`, `docs/bring-up.md`): the boot
//! stamp the firmware writes into the control page before anything else
//! (offsets 0x200..0x2FF, `docs/kernel.md` "Control page"), and its
//! doorbell counters. The stamp tells Linux, even when RPMsg never comes
//! up, that the firmware reached its entry, at which exception level, when
//! (the generic counter) and which doorbells it was built for.

use amp_proto::shmem::Shm;
use core::sync::atomic::{AtomicU64, Ordering};

// The offsets are amp-ctrl-page's (the one source of the layout).
pub use amp_ctrl_page::{
    OFF_ST_CNTFRQ as OFF_CNTFRQ, OFF_ST_ENTRY_CNT as OFF_ENTRY_CNTPCT,
    OFF_ST_ENTRY_EL as OFF_ENTRY_EL, OFF_ST_MAGIC as OFF_STAMP_MAGIC, OFF_ST_MPIDR as OFF_MPIDR,
    OFF_ST_SGI as OFF_SGI, OFF_ST_SGIS as OFF_SGIS, OFF_ST_SPI as OFF_SPI, OFF_ST_SPIS as OFF_SPIS,
    OFF_ST_WINDOW as OFF_WINDOW, ST_END as END, ST_MAGIC_VALUE as STAMP_MAGIC,
};

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

//! GICv3 register arithmetic. The firmware touches only its own
//! redistributor (to enable its doorbell SGI) and one `GICD_ISPENDR` bit
//! (to raise its doorbell SPI); the distributor belongs to Linux.

/// `GICR_WAKER`.
pub const GICR_WAKER: u64 = 0x14;
/// `GICR_TYPER`.
pub const GICR_TYPER: u64 = 0x08;
/// SGI frame offset from `RD_base`.
pub const SGI_BASE: u64 = 0x1_0000;
/// `GICR_IGROUPR0` (SGI frame).
pub const GICR_IGROUPR0: u64 = SGI_BASE + 0x80;
/// `GICR_ISENABLER0` (SGI frame).
pub const GICR_ISENABLER0: u64 = SGI_BASE + 0x100;
/// `GICR_ICENABLER0` (SGI frame).
pub const GICR_ICENABLER0: u64 = SGI_BASE + 0x180;
/// `GICR_ISPENDR0` (SGI frame): pending SGIs and PPIs.
pub const GICR_ISPENDR0: u64 = SGI_BASE + 0x200;
/// `GICR_ICPENDR0` (SGI frame).
pub const GICR_ICPENDR0: u64 = SGI_BASE + 0x280;
/// `GICR_ICACTIVER0` (SGI frame).
pub const GICR_ICACTIVER0: u64 = SGI_BASE + 0x380;
/// `GICR_IPRIORITYR` bytes (SGI frame).
pub const GICR_IPRIORITYR: u64 = SGI_BASE + 0x400;
/// Priority of the doorbell SGI: the highest (GIC priorities count down),
/// so it preempts whatever else this core is handling and the stop
/// request it may carry is always served (`crate::runtime`, "The stop
/// interrupt"). Through a non-secure view of a GIC with security enabled
/// (the board: BL31 runs at EL3) the stored value is `0x80 | (v >> 1)`
/// (Arm IHI 0069H, 4.8.6 "Software accesses of interrupt priority"): the
/// order of this module's priorities, all multiples of 16, is kept, and
/// so is their order against [`RUN_PMR`], also written non-secure.
pub const DOORBELL_PRIORITY: u8 = 0x00;
/// Priority of every interrupt the runtime polls: the scheduler's timer
/// PPI and the application's SPIs.
pub const POLLED_PRIORITY: u8 = 0xA0;
/// `ICC_PMR_EL1` while the firmware runs with interrupts unmasked (all the
/// time but its wait): only the doorbell, above it, is taken as an
/// exception; the polled interrupts stay pending for the wait.
pub const RUN_PMR: u8 = 0x80;
/// INTID of the EL1 non-secure physical timer (`CNTP_*_EL0`): PPI 14 =
/// INTID 30, as Arm's Base System Architecture (DEN0094, "PPI
/// assignments") recommends; the second interrupt of the `arm,armv8-timer`
/// node in QEMU virt's DT and in meta-xpressreal's rtd16xxb.dtsi (`timer`
/// node, `<GIC_PPI 14 ...>`). Used only by the self-test's latency run.
pub const TIMER_PPI: u32 = 30;
/// Priority of the timer PPI during the self-test's latency run: above the
/// polled interrupts', which the run masks with `ICC_PMR_EL1` =
/// [`POLLED_PRIORITY`] (they stay pending, none is consumed), below the
/// doorbell's.
pub const TIMER_PRIORITY: u8 = 0x90;
/// INTIDs from 1020 up are special (1023: nothing pending).
pub const SPECIAL_INTID: u32 = 1020;

/// `GICR_TYPER.Affinity` (bits 63:32) of the core with `mpidr`.
pub const fn typer_affinity(mpidr: u64) -> u32 {
    let aff0 = mpidr & 0xFF;
    let aff1 = (mpidr >> 8) & 0xFF;
    let aff2 = (mpidr >> 16) & 0xFF;
    let aff3 = (mpidr >> 32) & 0xFF;
    ((aff3 << 24) | (aff2 << 16) | (aff1 << 8) | aff0) as u32
}

/// `ICC_SGI1R_EL1` value that sends SGI `intid` to the core with `mpidr`
/// itself (Arm IHI 0069H, 12.11.26: TargetList 15:0 holds bit Aff0 % 16,
/// Aff1 23:16, INTID 27:24, Aff2 39:32, IRM 40 = 0, RS 47:44 = Aff0 / 16,
/// Aff3 55:48).
pub const fn sgi1r_to_self(mpidr: u64, intid: u32) -> u64 {
    let aff0 = mpidr & 0xFF;
    let aff1 = (mpidr >> 8) & 0xFF;
    let aff2 = (mpidr >> 16) & 0xFF;
    let aff3 = (mpidr >> 32) & 0xFF;
    (1 << (aff0 % 16))
        | (aff1 << 16)
        | ((intid as u64 & 0xF) << 24)
        | (aff2 << 32)
        | ((aff0 / 16) << 44)
        | (aff3 << 48)
}

/// Stride between redistributor frames: 128 KiB, or 256 KiB with VLPIs.
pub const fn frame_stride(typer: u64) -> u64 {
    if typer & (1 << 1) != 0 {
        0x4_0000
    } else {
        0x2_0000
    }
}

/// Whether a redistributor is the last one (`GICR_TYPER.Last`).
pub const fn is_last(typer: u64) -> bool {
    typer & (1 << 4) != 0
}

/// Offset and bit of `GICD_ISPENDR<n>` for interrupt `intid`.
pub const fn ispendr(intid: u32) -> (u64, u32) {
    (0x200 + 4 * (intid / 32) as u64, 1 << (intid % 32))
}

/// Size of the RD and SGI frames of one redistributor.
pub const FRAME_SIZE: u64 = 0x2_0000;

/// Finds the redistributor frame of `mpidr` given a way to read each
/// frame's `GICR_TYPER`; at most `max` frames are examined, and only frames
/// that end at or below `end` (the mapped GIC span): `typer_at` is never
/// asked for an address outside it.
pub fn find_redistributor(
    gicr: u64,
    end: u64,
    mpidr: u64,
    max: usize,
    mut typer_at: impl FnMut(u64) -> u64,
) -> Option<u64> {
    let want = typer_affinity(mpidr);
    let mut rd = gicr;
    for _ in 0..max {
        if rd.checked_add(FRAME_SIZE).is_none_or(|e| e > end) {
            return None;
        }
        let typer = typer_at(rd);
        if (typer >> 32) as u32 == want {
            return Some(rd);
        }
        if is_last(typer) {
            return None;
        }
        rd += frame_stride(typer);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doorbell_registers() {
        assert_eq!(ispendr(152), (0x210, 1 << 24), "QEMU's SPI 120");
        assert_eq!(ispendr(32), (0x204, 1));
        assert_eq!(GICR_ISPENDR0, 0x1_0200, "pending SGIs, SGI frame");
        assert_eq!(GICR_ISENABLER0, 0x1_0100);
        assert_eq!(GICR_ICENABLER0, 0x1_0180);
        assert_eq!(GICR_ICPENDR0, 0x1_0280);
        assert_eq!(GICR_ICACTIVER0, 0x1_0380);
        // Highest first: doorbell, then (only signalled while running)
        // nothing else, then the latency run's timer, then the polled.
        const {
            assert!(DOORBELL_PRIORITY < RUN_PMR);
            assert!(RUN_PMR <= TIMER_PRIORITY);
            assert!(TIMER_PRIORITY < POLLED_PRIORITY);
        };
        assert_eq!(GICR_IPRIORITYR + 7, 0x1_0407, "SGI 7's priority byte");
        assert_eq!(
            typer_affinity(0x8000_0003),
            3,
            "MPIDR bit 31 (RES1) ignored"
        );
        assert_eq!(typer_affinity(0x300), 0x300, "RTD1619B cpu3");
        assert_eq!(typer_affinity(0x12_0000_0000 | 0x01_0203), 0x1201_0203);
    }

    #[test]
    fn sgi_to_self() {
        // QEMU virt's cpu3: Aff0 3 (MPIDR bit 31 is RES1, ignored).
        assert_eq!(sgi1r_to_self(0x8000_0003, 7), (7 << 24) | (1 << 3));
        // RTD1619B's cpu3, MPIDR 0x300 with the MT bit: Aff1 3, Aff0 0.
        assert_eq!(sgi1r_to_self(0x8100_0300, 7), (7 << 24) | (3 << 16) | 1);
        // Aff0 beyond 15 goes through the range selector.
        assert_eq!(
            sgi1r_to_self(0x12_0001_0011, 7),
            (0x12 << 48) | (1 << 44) | (1 << 32) | (7 << 24) | (1 << 1)
        );
    }

    #[test]
    fn finds_cpu3_frame() {
        // QEMU virt: four frames of 128 KiB from 0x080A0000, the last flagged.
        let typer = |rd: u64| {
            let cpu = (rd - 0x080A_0000) / 0x2_0000;
            (cpu << 32) | if cpu == 3 { 1 << 4 } else { 0 }
        };
        let end = 0x0820_0000;
        assert_eq!(
            find_redistributor(0x080A_0000, end, 3, 8, typer),
            Some(0x0810_0000)
        );
        assert_eq!(find_redistributor(0x080A_0000, end, 7, 8, typer), None);
        // Never reads past the mapped span, even without a Last flag.
        let mut seen = Vec::new();
        let none = |rd: u64| {
            seen.push(rd);
            9u64 << 32
        };
        assert_eq!(find_redistributor(0x081A_0000, end, 3, 16, none), None);
        assert_eq!(seen, [0x081A_0000, 0x081C_0000, 0x081E_0000]);
        // RTD1619B: affinity in Aff1, frames from 0xFF140000.
        let typer = |rd: u64| {
            let cpu = (rd - 0xFF14_0000) / 0x2_0000;
            ((cpu << 8) << 32) | if cpu == 3 { 1 << 4 } else { 0 }
        };
        assert_eq!(
            find_redistributor(0xFF14_0000, 0xFF30_0000, 0x300, 8, typer),
            Some(0xFF1A_0000)
        );
        // Never loops forever on a broken TYPER.
        assert_eq!(find_redistributor(0, 1 << 30, 3, 8, |_| 0), None);
    }
}

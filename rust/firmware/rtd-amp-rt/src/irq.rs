//! Peripheral interrupts handed to the firmware: the application names
//! the SPIs it owns (`App::irq`), the runtime routes each one to this
//! core in the GIC distributor and calls its handler from the main loop.
//!
//! Register offsets and fields from Arm's GICv3/v4 architecture
//! specification (IHI 0069H, 12.9 "The GIC Distributor register
//! descriptions"): `GICD_IGROUPR<n>` 0x0080, `GICD_ISENABLER<n>` 0x0100,
//! `GICD_ICENABLER<n>` 0x0180, `GICD_ISPENDR<n>` 0x0200,
//! `GICD_IPRIORITYR<n>` 0x0400 (one byte per INTID), `GICD_IROUTER<n>`
//! 0x6000 + 8n (12.9.22: Aff3 in bits 39:32, Aff2/Aff1/Aff0 in 23:0,
//! `Interrupt_Routing_Mode` bit 31 = 0 routes to exactly that PE; Linux's
//! GICv3 driver enables affinity routing, `GICD_CTLR.ARE_NS`). The
//! distributor otherwise belongs to Linux: the runtime writes only the
//! bits of the SPIs the application owns, which the device tree gives to
//! the firmware and Linux leaves alone (docs/firmware.md, "Peripheral
//! interrupts"). On the RTD1619B unproven: nothing has run on silicon.

/// `GICD_IGROUPR<n>`.
pub const GICD_IGROUPR: u64 = 0x0080;
/// `GICD_ISENABLER<n>`.
pub const GICD_ISENABLER: u64 = 0x0100;
/// `GICD_ICENABLER<n>`.
pub const GICD_ICENABLER: u64 = 0x0180;
/// `GICD_ISPENDR<n>`.
pub const GICD_ISPENDR: u64 = 0x0200;
/// `GICD_IPRIORITYR<n>` (bytes).
pub const GICD_IPRIORITYR: u64 = 0x0400;
/// `GICD_IROUTER<n>` (64-bit, SPIs only).
pub const GICD_IROUTER: u64 = 0x6000;

/// Interrupts an application can own.
pub const MAX_IRQS: usize = 4;

/// Offset and bit of the one-bit-per-INTID register at `base` for `intid`.
pub const fn bit_reg(base: u64, intid: u32) -> (u64, u32) {
    (base + 4 * (intid / 32) as u64, 1 << (intid % 32))
}

/// Offset of `GICD_IROUTER<intid>`.
pub const fn irouter(intid: u32) -> u64 {
    GICD_IROUTER + 8 * intid as u64
}

/// `GICD_IROUTER` value routing to the core with `mpidr` (IRM = 0).
pub const fn irouter_value(mpidr: u64) -> u64 {
    mpidr & 0xFF_00FF_FFFF
}

/// Why an interrupt cannot be handed to the firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// Not an SPI (INTIDs 32..1019): SGIs and PPIs are per core and the
    /// runtime's own (doorbell, timer).
    NotSpi,
    /// The board's doorbell SPI towards Linux.
    Doorbell,
    /// Registered twice.
    Twice,
    /// [`MAX_IRQS`] are registered already.
    Full,
}

/// Checks that `intid` may be handed to the firmware on a board whose
/// doorbell SPI is `doorbell_spi`.
pub const fn check(intid: u32, doorbell_spi: u32) -> Result<(), IrqError> {
    if intid < 32 || intid >= crate::gic::SPECIAL_INTID {
        Err(IrqError::NotSpi)
    } else if intid == doorbell_spi {
        Err(IrqError::Doorbell)
    } else {
        Ok(())
    }
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod hw {
    use super::*;
    use crate::{arch, gic};

    /// Routes SPI `intid` to this core, group 1, at the polled priority
    /// (below the doorbell's, so a handler that hangs can still be
    /// stopped; the self-test's latency run masks it and leaves it
    /// pending), and enables it.
    /// Crate-private: `gicd` must be the running board's distributor
    /// (callers pass `Runtime::board().gicd`), never a caller's address.
    #[inline(never)]
    pub(crate) fn route_to_self(gicd: u64, intid: u32) {
        let (en, bit) = bit_reg(0, intid);
        let route = irouter_value(arch::mpidr());
        // SAFETY (every access): registers of the board's distributor,
        // mapped Device for the whole run (mmu::regions); only the bits
        // and bytes of `intid`, an SPI the application owns (checked by
        // App::irq against the doorbell; the device tree gives it to the
        // firmware).
        unsafe {
            arch::mmio_write(gicd + GICD_ICENABLER + en, bit);
            let g = gicd + GICD_IGROUPR + en;
            arch::mmio_write(g, arch::mmio_read(g) | bit);
            arch::mmio_write8(
                gicd + GICD_IPRIORITYR + u64::from(intid),
                gic::POLLED_PRIORITY,
            );
            // Two 32-bit halves: the architecture allows 32-bit accesses
            // to GICD_IROUTER (IHI 0069H 12.1.3), low half first.
            arch::mmio_write(gicd + irouter(intid), route as u32);
            arch::mmio_write(gicd + irouter(intid) + 4, (route >> 32) as u32);
            arch::mmio_write(gicd + GICD_ISENABLER + en, bit);
        }
    }

    /// Sets SPI `intid` pending (a software-raised interrupt: tests and
    /// self-checks of the path). Crate-private, as `route_to_self`.
    pub(crate) fn raise(gicd: u64, intid: u32) {
        let (off, bit) = bit_reg(GICD_ISPENDR, intid);
        arch::barrier();
        // SAFETY: as above, one GICD_ISPENDR bit of an owned SPI.
        unsafe { arch::mmio_write(gicd + off, bit) };
    }
}
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub(crate) use hw::{raise, route_to_self};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributor_offsets() {
        assert_eq!(bit_reg(GICD_ISENABLER, 153), (0x110, 1 << 25));
        assert_eq!(bit_reg(GICD_ISPENDR, 32), (0x204, 1));
        assert_eq!(
            bit_reg(GICD_ISPENDR, 152),
            crate::gic::ispendr(152),
            "the doorbell's arithmetic"
        );
        assert_eq!(irouter(32), 0x6100);
        assert_eq!(irouter(153), 0x64C8);
        assert_eq!(irouter_value(0x8000_0003), 3, "RES1 bit 31 dropped: IRM 0");
        assert_eq!(
            irouter_value(0x8100_0300),
            0x300,
            "RTD1619B cpu3, MT bit dropped"
        );
        assert_eq!(irouter_value(0x12_0000_0102), 0x12_0000_0102);
    }

    #[test]
    fn only_spis_other_than_the_doorbell() {
        assert_eq!(check(31, 152), Err(IrqError::NotSpi));
        assert_eq!(check(1020, 152), Err(IrqError::NotSpi));
        assert_eq!(check(152, 152), Err(IrqError::Doorbell));
        assert_eq!(check(32, 152), Ok(()));
        assert_eq!(check(1019, 152), Ok(()));
    }
}

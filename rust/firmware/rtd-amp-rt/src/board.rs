//! Everything that differs between boards, chosen once at build time by a
//! cargo feature (`board-qemu-virt`, the default for host tests, or
//! `board-rtd1619b`). Nothing else in the firmware is board-specific.

/// How PSCI is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// `hvc #0` (QEMU virt).
    Hvc,
    /// `smc #0` (TF-A on the board).
    Smc,
}

/// The constants of one board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Board {
    /// Name, as in `scripts/build-firmware BOARD`.
    pub name: &'static str,
    /// Board id of the control protocol.
    pub id: u16,
    /// Start of the 16 MiB AMP window (identity mapped).
    pub window: u64,
    /// GICv3 distributor.
    pub gicd: u64,
    /// First GICv3 redistributor frame.
    pub gicr: u64,
    /// Bytes of the GIC register block to map (from `gicd`, 2 MiB blocks).
    pub gic_span: u64,
    /// SGI Linux raises on this core.
    pub doorbell_sgi: u32,
    /// SPI this core raises towards Linux.
    pub doorbell_spi: u32,
    /// PSCI conduit.
    pub conduit: Conduit,
}

/// Size of the AMP window.
pub const WINDOW_SIZE: u64 = 0x100_0000;
/// Offsets inside the window (`recipes-bsp/rtd-amp-overlays`).
pub mod layout {
    /// The firmware image (code, data, stack, trace).
    pub const FIRMWARE: u64 = 0;
    /// Size of the firmware carveout.
    pub const FIRMWARE_SIZE: u64 = 0x40_0000;
    /// vring0 carveout.
    pub const VRING0: u64 = 0x40_0000;
    /// vring1 carveout.
    pub const VRING1: u64 = 0x40_8000;
    /// Size of each vring carveout.
    pub const VRING_SIZE: u64 = 0x8000;
    /// RPMsg buffer pool.
    pub const BUFFERS: u64 = 0x41_0000;
    /// Size of the buffer pool (`vdev0buffer`).
    pub const BUFFERS_SIZE: u64 = 0x4_0000;
    /// The RPMsg device role's window: both vring carveouts and the buffer
    /// pool, which are contiguous, and nothing else (not the image, stack,
    /// trace or control page). Linux allocates the vrings from
    /// `vdev0vring0/1` and the buffers from `vdev0buffer`; a vring address
    /// or descriptor outside this window is refused by amp-proto.
    pub const RPMSG: u64 = VRING0;
    /// Size of [`RPMSG`].
    pub const RPMSG_SIZE: u64 = BUFFERS + BUFFERS_SIZE - RPMSG;
    /// The bulk channel's region (`bulk` in the overlays; both rings, see
    /// `amp_proto::bulk`), from amp-proto's constants: written once.
    pub const BULK: u64 = amp_proto::bulk::REGION_WINDOW_OFFSET;
    /// Size of [`BULK`].
    pub const BULK_SIZE: u64 = amp_proto::bulk::REGION_SIZE as u64;
    /// Control page.
    pub const CTRL: u64 = 0xFF_0000;
    /// Trace buffer, at the end of the firmware carveout.
    pub const TRACE: u64 = 0x3F_8000;
    /// Trace buffer size.
    pub const TRACE_SIZE: u64 = 0x8000;
}

/// QEMU `virt`, `gic-version=3`: CPU3 is MPIDR 0x3, PSCI over hvc.
pub const QEMU_VIRT: Board = Board {
    name: "qemu-virt",
    id: 1,
    window: 0x7000_0000,
    gicd: 0x0800_0000,
    gicr: 0x080A_0000,
    gic_span: 0x20_0000,
    doorbell_sgi: 7,
    doorbell_spi: 120,
    conduit: Conduit::Hvc,
};

/// Realtek RTD1619B: CPU3 is MPIDR 0x300, PSCI over smc (TF-A).
pub const RTD1619B: Board = Board {
    name: "rtd1619b",
    id: 2,
    window: 0x3200_0000,
    gicd: 0xFF10_0000,
    gicr: 0xFF14_0000,
    gic_span: 0x20_0000,
    doorbell_sgi: 7,
    doorbell_spi: 120,
    conduit: Conduit::Smc,
};

// The layout fits the window: checked when compiling.
const _: () = assert!(layout::TRACE + layout::TRACE_SIZE <= layout::FIRMWARE_SIZE);
const _: () = assert!(layout::CTRL + 0x1000 <= WINDOW_SIZE);
const _: () = assert!(layout::BUFFERS + layout::BUFFERS_SIZE <= layout::CTRL);
// The RPMsg window is exactly the three carveouts, outside the image.
const _: () = assert!(layout::VRING1 == layout::VRING0 + layout::VRING_SIZE);
const _: () = assert!(layout::BUFFERS == layout::VRING1 + layout::VRING_SIZE);
const _: () = assert!(layout::RPMSG >= layout::FIRMWARE + layout::FIRMWARE_SIZE);
const _: () = assert!(layout::RPMSG + layout::RPMSG_SIZE <= layout::CTRL);
// The bulk region lies between the RPMsg window and the control page, on a
// 2 MiB boundary (one block of the translation tables).
const _: () = assert!(layout::BULK >= layout::RPMSG + layout::RPMSG_SIZE);
const _: () = assert!(layout::BULK + layout::BULK_SIZE <= layout::CTRL);
const _: () = assert!(layout::BULK % 0x20_0000 == 0 && layout::BULK_SIZE % 0x20_0000 == 0);

// The board's window lies below 2 GiB, so 2 GiB boards have it.
const _: () = assert!(RTD1619B.window + WINDOW_SIZE <= 0x8000_0000);

#[cfg(all(feature = "board-qemu-virt", feature = "board-rtd1619b"))]
compile_error!("select exactly one board feature");

/// The board this firmware is built for.
#[cfg(feature = "board-rtd1619b")]
pub const BOARD: Board = RTD1619B;
/// The board this firmware is built for.
#[cfg(not(feature = "board-rtd1619b"))]
pub const BOARD: Board = QEMU_VIRT;

impl Board {
    /// Physical address of a window offset.
    pub const fn at(&self, offset: u64) -> u64 {
        self.window + offset
    }
    /// Physical (= bus) address and size of the RPMsg device role's window
    /// ([`layout::RPMSG`]).
    pub const fn rpmsg_window(&self) -> (u64, u64) {
        (self.at(layout::RPMSG), layout::RPMSG_SIZE)
    }
    /// The doorbell SPI's interrupt id (SPIs start at 32).
    pub const fn spi_intid(&self) -> u32 {
        self.doorbell_spi + 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_hold_the_layout() {
        for b in [QEMU_VIRT, RTD1619B] {
            assert_eq!(
                b.window % 0x20_0000,
                0,
                "{}: 2 MiB aligned for block maps",
                b.name
            );
            assert!(b.window + WINDOW_SIZE <= 1 << 32, "32-bit device addresses");
            assert!(b.doorbell_sgi < 16);
        }
        assert_eq!(QEMU_VIRT.spi_intid(), 152);
        assert_eq!(QEMU_VIRT.at(layout::CTRL), 0x70FF_0000);
        assert_eq!(RTD1619B.at(layout::VRING1), 0x3240_8000);
    }

    #[test]
    fn constants_match_the_fixed_contracts() {
        // QEMU virt: PSCI hvc, CPU3's redistributor at 0x08100000.
        assert_eq!(QEMU_VIRT.conduit, Conduit::Hvc);
        assert_eq!(QEMU_VIRT.gicr + 3 * 0x2_0000, 0x0810_0000);
        assert_eq!(QEMU_VIRT.doorbell_sgi, 7);
        // RTD1619B: PSCI smc, GICD 0xFF100000, CPU3's RD_base 0xFF1A0000.
        assert_eq!(RTD1619B.conduit, Conduit::Smc);
        assert_eq!(RTD1619B.gicd, 0xFF10_0000);
        assert_eq!(RTD1619B.gicr + 3 * 0x2_0000, 0xFF1A_0000);
        assert_eq!(RTD1619B.doorbell_sgi, 7, "an SGI in 0-7 (8-15 are TF-A's)");
        assert_eq!(RTD1619B.window, 0x3200_0000);
        // Both GIC mappings cover CPU3's redistributor (RD and SGI frames).
        for b in [QEMU_VIRT, RTD1619B] {
            let rd3 = b.gicr + 3 * 0x2_0000;
            let base = b.gicd & !0x1F_FFFF;
            assert!(
                rd3 >= base && rd3 + 0x2_0000 <= base + b.gic_span,
                "{}",
                b.name
            );
        }
        // The carveouts of the contract, in order and not overlapping.
        let parts = [
            (layout::FIRMWARE, layout::FIRMWARE_SIZE),
            (layout::VRING0, layout::VRING_SIZE),
            (layout::VRING1, layout::VRING_SIZE),
            (layout::BUFFERS, layout::BUFFERS_SIZE),
            (layout::CTRL, 0x1000),
        ];
        assert_eq!(
            parts,
            [
                (0, 0x40_0000),
                (0x40_0000, 0x8000),
                (0x40_8000, 0x8000),
                (0x41_0000, 0x4_0000),
                (0xFF_0000, 0x1000)
            ]
        );
        for w in parts.windows(2) {
            assert!(w[0].0 + w[0].1 <= w[1].0);
        }
        // The RPMsg window: vring0 to the end of the buffer pool, 320 KiB.
        assert_eq!((layout::RPMSG, layout::RPMSG_SIZE), (0x40_0000, 0x5_0000));
        assert_eq!(QEMU_VIRT.rpmsg_window(), (0x7040_0000, 0x5_0000));
        // Host tests build the default board.
        assert_eq!(BOARD, QEMU_VIRT);
    }
}

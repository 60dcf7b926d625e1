//! A shared-memory rig for the RPMsg tests: one resource table and one
//! window holding both vrings and the buffers, as in the firmware carveouts.
#![allow(dead_code)]

use amp_proto::rpmsg::{DriverLayout, RPMSG_BUF_SIZE};
use amp_proto::rsc::{self, LiveVdev, TableBuilder};
use amp_proto::shmem::{BusWindow, OwnedRegion};

/// Descriptors per ring, as the firmware declares (and ARCHITECTURE §5).
pub const NUM: u32 = 64;
/// Bus address of the shared window (the QEMU twin's vring carveout).
pub const BUS: u64 = 0x7040_0000;
const RING_SPAN: u64 = 0x8000;

pub const TABLE_LEN: usize = rsc::header_len(1) + rsc::vdev_entry_len(2, 0);
pub const TABLE: [u8; TABLE_LEN] = TableBuilder::<TABLE_LEN>::new(1)
    .rpmsg_vdev(NUM, 4096)
    .finish();

pub struct Rig {
    pub table: OwnedRegion,
    pub window: OwnedRegion,
}

impl Rig {
    pub fn new() -> Self {
        let table = OwnedRegion::new(TABLE_LEN);
        table.shm().write_bytes(0, &TABLE);
        let len = 2 * RING_SPAN as usize + 2 * NUM as usize * RPMSG_BUF_SIZE;
        Rig {
            table,
            window: OwnedRegion::new(len),
        }
    }

    pub fn vdev(&self) -> LiveVdev<'_> {
        LiveVdev::find(self.table.shm(), 0).expect("vdev in table")
    }

    pub fn bus(&self) -> BusWindow<'_> {
        BusWindow::new(self.window.shm(), BUS)
    }

    pub fn layout() -> DriverLayout {
        DriverLayout {
            vrings: [BUS, BUS + RING_SPAN],
            buffers: BUS + 2 * RING_SPAN,
        }
    }
}

/// Payload byte `i` of message `seq`: every message different, so a lost,
/// stale or replayed one is caught by content.
pub fn pattern(seq: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i * 7) as u8)
        .collect()
}

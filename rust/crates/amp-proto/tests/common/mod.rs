//! The shared-memory rig for the RPMsg tests: the firmware's table layout
//! (one RPMsg vdev, 64-descriptor rings) on an in-process [`SimVdev`].
#![allow(dead_code)]

use amp_proto::rsc::{self, TableBuilder};
use amp_proto::sim::SimVdev;

/// Descriptors per ring, as the firmware declares (docs/protocol.md).
pub const NUM: u32 = 64;
/// Bus address of the shared window (the QEMU twin's vring carveout).
pub const BUS: u64 = 0x7040_0000;

pub const TABLE_LEN: usize = rsc::header_len(1) + rsc::vdev_entry_len(2, 0);
pub const TABLE: [u8; TABLE_LEN] = TableBuilder::<TABLE_LEN>::new(1)
    .rpmsg_vdev(NUM, 4096)
    .finish();

pub type Rig = SimVdev;

pub fn rig() -> Rig {
    SimVdev::new(&TABLE, NUM as usize, BUS)
}

/// Payload byte `i` of message `seq`: every message different, so a lost,
/// stale or replayed one is caught by content.
pub fn pattern(seq: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i * 7) as u8)
        .collect()
}

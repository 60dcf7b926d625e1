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

/// xorshift64*: small, seeded, good enough to pick offsets and values for
/// the hostile-peer tests (each test file adds its own edge-biased
/// `value`).
pub struct Rng(pub u64);

impl Rng {
    /// Seeded with `base`, mixed with `AMP_HOSTILE_SEED` when set.
    pub fn seeded(base: u64) -> Rng {
        let extra = std::env::var("AMP_HOSTILE_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        Rng((base ^ extra.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Rounds per hostile test: 300, or `AMP_HOSTILE_ROUNDS`.
pub fn rounds() -> u32 {
    std::env::var("AMP_HOSTILE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

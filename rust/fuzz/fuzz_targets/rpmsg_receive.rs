//! The firmware's receive path against a hostile Linux: the fuzzer writes
//! arbitrary bytes over the TX ring (vring1) and the TX buffers after a
//! regular probe, then the device polls. It must never panic, never deliver
//! a payload longer than 496 bytes or outside the shared window, and must
//! still be able to poll afterwards.
#![no_main]

use amp_proto::rpmsg::{RpmsgDevice, RpmsgDriver, RPMSG_MAX_PAYLOAD};
use amp_proto::rsc::{self, TableBuilder};
use amp_proto::sim::{SimVdev, RING_SPAN};
use libfuzzer_sys::fuzz_target;

const NUM: u32 = 8;
const LEN: usize = rsc::header_len(1) + rsc::vdev_entry_len(2, 0);
const TABLE: [u8; LEN] = TableBuilder::<LEN>::new(1).rpmsg_vdev(NUM, 4096).finish();

fuzz_target!(|data: &[u8]| {
    let sim = SimVdev::new(&TABLE, NUM as usize, 0x7040_0000);
    let Ok((_drv, _)) = RpmsgDriver::probe(sim.vdev(), sim.bus(), sim.layout()) else {
        return;
    };
    let mut dev = RpmsgDevice::<'_, 2>::new(sim.vdev(), sim.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    let _ = dev.poll(&mut |_| {}, |_, _| {});
    // Scribble over vring1 (Linux TX) and the TX buffers, as pairs of
    // (offset, byte) so short inputs reach deep offsets.
    let win = sim.window().shm();
    let tx_ring = RING_SPAN as usize;
    let bufs = 2 * RING_SPAN as usize + NUM as usize * 512;
    let span = (RING_SPAN as usize) + NUM as usize * 512;
    for pair in data.chunks_exact(3) {
        let off = (usize::from(pair[0]) << 8 | usize::from(pair[1])) % span;
        let at = if off < RING_SPAN as usize {
            tx_ring + off
        } else {
            bufs + off - RING_SPAN as usize
        };
        win.write_u8(at, pair[2]);
    }
    for _ in 0..2 {
        let _ = dev.poll(&mut |_| {}, |_, m| {
            assert!(m.len() <= RPMSG_MAX_PAYLOAD);
            let mut b = [0u8; RPMSG_MAX_PAYLOAD];
            m.copy_to(&mut b);
        });
    }
});

//! Both roles of the bulk channel against a hostile peer: after a regular
//! exchange, the fuzzer writes arbitrary bytes over the ring (header and
//! data, as (u16 offset, byte) pairs; a 16 KiB data area so every offset
//! is reachable and runs are fast: the code does not depend on the size),
//! then the consumer drains and the producer sends. Neither
//! may panic; every payload handed out lies inside the data area, within
//! the published bytes and the maximum length.
#![no_main]

use amp_proto::bulk::{init, record_span, Consumer, Producer, HEADER_SIZE, REGION_SIZE};
use amp_proto::shmem::OwnedRegion;
use libfuzzer_sys::fuzz_target;

const SPAN: usize = HEADER_SIZE + 0x4000;

fuzz_target!(|data: &[u8]| {
    let region = OwnedRegion::new(SPAN);
    let s = region.shm();
    let size = init(s).unwrap().data_size();
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    // A regular start: some records, some consumed, one past the wrap.
    for len in [100usize, 6_000, 5_000, 5, 0] {
        let _ = p.try_send(&vec![0x5A; len], len as u32);
        if len == 5_000 {
            let mut b = vec![0u8; 8_192];
            while c.recv_into(&mut b).is_ok() {}
        }
    }
    // The consumer's own tail: it keeps it privately and only publishes it
    // (a peer's write to TAIL must not move it), so the oracle follows what
    // the consumer last published, not what the fuzzer wrote over it.
    let mut tail = s.read_u64(amp_proto::bulk::off::TAIL);
    for pair in data.chunks_exact(3) {
        let o = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
        s.write_u8(o % SPAN, pair[2]);
    }
    let data_lo = s.addr() + HEADER_SIZE;
    let data_hi = data_lo + size;
    for _ in 0..16 {
        let published = s.read_u64(amp_proto::bulk::off::HEAD).wrapping_sub(tail);
        let Ok(g) = c.try_recv() else { break };
        let pl = g.payload();
        assert!(pl.len() <= c_max(size));
        assert!(pl.addr() >= data_lo && pl.addr() + pl.len() <= data_hi);
        assert!(record_span(pl.len()) as u64 <= published);
        let mut b = vec![0u8; pl.len()];
        pl.read_bytes(0, &mut b);
        g.release();
        tail = s.read_u64(amp_proto::bulk::off::TAIL);
    }
    for len in [64usize, 4_000, 9_000] {
        match p.try_reserve(len) {
            Ok(g) => {
                let pl = g.payload();
                assert!(pl.len() == len && pl.addr() >= data_lo && pl.addr() + len <= data_hi);
                pl.fill(0, len.min(256), 0xC3);
                g.commit(len, 1);
            }
            Err(_) => break,
        }
    }
    let _ = Producer::attach(s);
    let _ = Consumer::attach(s);
});

fn c_max(size: usize) -> usize {
    amp_proto::bulk::Geometry::new(size + HEADER_SIZE)
        .unwrap()
        .max_payload()
}

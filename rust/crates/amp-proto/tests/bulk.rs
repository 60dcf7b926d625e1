//! The bulk channel: byte-exact layout, both roles in two threads (every
//! byte checked, a slow consumer loses nothing), the doorbell requests,
//! re-initialization, and each role against a hostile peer that scribbles
//! over everything that peer may write.

mod common;

use amp_proto::bulk::*;
use amp_proto::shmem::{OwnedRegion, Shm};
use common::{rounds, Rng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Sets the flag when dropped: a consumer that panics stops the producer
/// (which would otherwise wait for space forever and hang the test).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A 1 MiB ring span, as each half of the real 2 MiB region.
const SPAN: usize = REGION_SIZE / 2;

fn region() -> OwnedRegion {
    OwnedRegion::new(REGION_SIZE)
}

/// The byte at `i` of record `seq`.
fn pat(seq: u32, i: usize) -> u8 {
    (seq.wrapping_mul(131) as usize ^ i.wrapping_mul(7) ^ (i >> 8)) as u8
}

#[test]
fn layout_is_byte_exact() {
    assert_eq!(REGION_SIZE, 0x20_0000);
    assert_eq!(REGION_WINDOW_OFFSET, 0x80_0000);
    assert_eq!(
        (off::MAGIC, off::VERSION, off::DATA_SIZE, off::GENERATION),
        (0x00, 0x04, 0x08, 0x0C)
    );
    assert_eq!(
        (
            off::HEAD,
            off::PRODUCER_WAITING,
            off::TAIL,
            off::CONSUMER_WAITING
        ),
        (0x40, 0x48, 0x80, 0x88)
    );
    let g = Geometry::new(SPAN).unwrap();
    assert_eq!(g.data_size(), 1_044_480);
    assert_eq!(g.max_payload(), 522_240 - 16);
    assert_eq!(record_span(0), 64);
    assert_eq!(record_span(48), 64);
    assert_eq!(record_span(49), 128);
    assert_eq!(record_span(65536), 65536 + 64);
    assert!(Geometry::new(HEADER_SIZE + 127).is_err());

    let r = region();
    let h2f = ring(r.shm(), RING_H2F).unwrap();
    let f2h = ring(r.shm(), RING_F2H).unwrap();
    assert_eq!(f2h.addr() - h2f.addr(), SPAN);
    assert_eq!((h2f.len(), f2h.len()), (SPAN, SPAN));
    assert!(ring(r.shm(), 2).is_err());
    init(h2f).unwrap();
    let mut hdr = [0u8; 0x90];
    h2f.read_bytes(0, &mut hdr);
    let mut want = [0u8; 0x90];
    want[..16].copy_from_slice(&[
        b'B', b'U', b'L', b'K', 1, 0, 0, 0, 0x00, 0xF0, 0x0F, 0, 1, 0, 0, 0,
    ]);
    assert_eq!(hdr, want);

    // One 5-byte record, tag 0x11223344: header, payload, head = 64.
    let mut p = Producer::attach(h2f).unwrap();
    assert!(!p.try_send(b"hello", 0x1122_3344).unwrap());
    let mut rec = [0u8; 21];
    h2f.read_bytes(HEADER_SIZE, &mut rec);
    assert_eq!(
        rec,
        [
            5, 0, 0, 0, 1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, b'h', b'e', b'l', b'l',
            b'o'
        ]
    );
    assert_eq!(h2f.read_u64(off::HEAD), 64);
    let mut c = Consumer::attach(h2f).unwrap();
    let mut out = [0u8; 8];
    assert_eq!(c.recv_into(&mut out).unwrap(), (5, 0x1122_3344, false));
    assert_eq!(&out[..5], b"hello");
    assert_eq!(h2f.read_u64(off::TAIL), 64);
    // A second init bumps the generation.
    init(h2f).unwrap();
    assert_eq!(h2f.read_u32(off::GENERATION), 2);
}

#[test]
fn uninitialized_ring_is_refused() {
    let r = region();
    let h2f = ring(r.shm(), RING_H2F).unwrap();
    assert_eq!(Producer::attach(h2f).unwrap_err(), BulkError::Reset);
    assert_eq!(Consumer::attach(h2f).unwrap_err(), BulkError::Reset);
    init(h2f).unwrap();
    h2f.write_u32(off::DATA_SIZE, 4096);
    assert_eq!(Consumer::attach(h2f).unwrap_err(), BulkError::Reset);
}

#[test]
fn pad_and_wrap() {
    let r = region();
    let s = ring(r.shm(), RING_H2F).unwrap();
    let size = init(s).unwrap().data_size();
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    // Fill to 64 bytes before the end, then a record that must wrap.
    let big = 400_000;
    let mut buf = vec![0u8; big];
    for _ in 0..2 {
        p.try_send(&vec![1; big], 1).unwrap();
        c.recv_into(&mut buf).unwrap();
    }
    let rest = size - 2 * record_span(big) - 64 - RECORD_HEADER;
    p.try_send(&vec![2; rest], 2).unwrap();
    c.recv_into(&mut buf).unwrap();
    assert_eq!(s.read_u64(off::HEAD) as usize, size - 64);
    p.try_send(&[3; 100], 3).unwrap();
    // A pad record of 48 bytes at the last 64, the record at offset 0.
    assert_eq!(s.read_u32(HEADER_SIZE + size - 64), 48);
    assert_eq!(s.read_u32(HEADER_SIZE + size - 60), KIND_PAD);
    assert_eq!(s.read_u32(HEADER_SIZE), 100);
    assert_eq!(s.read_u64(off::HEAD) as usize, size + 128);
    let (n, tag, _) = c.recv_into(&mut buf).unwrap();
    assert_eq!((n, tag, &buf[..3]), (100, 3, &[3u8, 3, 3][..]));
    assert_eq!(c.try_recv().unwrap_err(), BulkError::Empty);
}

#[test]
fn doorbell_requests_and_back_pressure() {
    let r = region();
    let s = ring(r.shm(), RING_F2H).unwrap();
    init(s).unwrap();
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    assert_eq!(c.try_recv().unwrap_err(), BulkError::Empty);
    assert_eq!(s.read_u32(off::CONSUMER_WAITING), 1);
    // The consumer waits: the commit asks for a doorbell.
    assert!(p.try_send(&[7; 10], 0).unwrap());
    let g = c.try_recv().unwrap();
    assert_eq!(s.read_u32(off::CONSUMER_WAITING), 0);
    assert!(!g.release());
    // Fill the ring with 64 KiB records until Full.
    let block = vec![9u8; 65536];
    let mut sent = 0;
    loop {
        match p.try_send(&block, sent) {
            Ok(_) => sent += 1,
            Err(BulkError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sent, 15);
    assert_eq!(s.read_u32(off::PRODUCER_WAITING), 1);
    assert_eq!(
        p.try_send(&vec![0; p.max_payload() + 1], 0),
        Err(BulkError::TooLong {
            len: p.max_payload() + 1,
            max: p.max_payload()
        })
    );
    // The first release asks for a doorbell; the producer then goes on and
    // clears its flag.
    let mut out = vec![0u8; 65536];
    assert!(c.recv_into(&mut out).unwrap().2);
    p.try_send(&block, sent).unwrap();
    assert_eq!(s.read_u32(off::PRODUCER_WAITING), 0);
    for i in 1..=sent {
        let (n, tag, _) = c.recv_into(&mut out).unwrap();
        assert_eq!((n, tag), (65536, i));
    }
    assert_eq!(c.recv_into(&mut out).unwrap_err(), BulkError::Empty);
    // A record larger than the buffer stays in the ring.
    p.try_send(&[1; 100], 77).unwrap();
    assert!(matches!(
        c.recv_into(&mut out[..99]),
        Err(BulkError::TooLong { len: 100, .. })
    ));
    assert_eq!(c.recv_into(&mut out).unwrap().1, 77);
}

#[test]
fn reinit_is_a_reset() {
    let r = region();
    let s = ring(r.shm(), RING_H2F).unwrap();
    init(s).unwrap();
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    p.try_send(&[1; 10], 0).unwrap();
    init(s).unwrap();
    assert_eq!(p.try_send(&[1; 10], 0).unwrap_err(), BulkError::Reset);
    assert_eq!(c.try_recv().unwrap_err(), BulkError::Reset);
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    p.try_send(&[2; 10], 5).unwrap();
    assert_eq!(c.try_recv().unwrap().tag(), 5);
}

/// Both roles in two threads, zero-copy on both ends, sizes from 0 to the
/// maximum, a consumer that sleeps now and then: every record arrives, in
/// order, every byte as written.
#[test]
fn two_threads_every_byte_slow_consumer() {
    let r = region();
    let s = ring(r.shm(), RING_H2F).unwrap();
    init(s).unwrap();
    let max = Geometry::new(SPAN).unwrap().max_payload();
    let sizes: Vec<usize> = (0..700u32)
        .map(|i| match i % 7 {
            0 => 65536,
            1 => (i as usize * 977) % 4096,
            2 => max,
            3 => 0,
            _ => (i as usize * 7919) % 200_000,
        })
        .collect();
    let stop = AtomicBool::new(false);
    let fulls = std::thread::scope(|sc| {
        let sizes2 = sizes.clone();
        let stop = &stop;
        let prod = sc.spawn(move || {
            let mut p = Producer::attach(s).unwrap();
            let mut fulls = 0;
            for (seq, &len) in sizes2.iter().enumerate() {
                let seq = seq as u32;
                loop {
                    match p.try_reserve(len) {
                        Ok(mut g) => {
                            // SAFETY: the reservation is ours until commit.
                            let b = unsafe { g.as_mut_slice() };
                            for (i, x) in b.iter_mut().enumerate() {
                                *x = pat(seq, i);
                            }
                            g.commit(len, seq);
                            break;
                        }
                        Err(BulkError::Full) => {
                            fulls += 1;
                            if stop.load(Ordering::Relaxed) {
                                return fulls;
                            }
                            std::thread::yield_now();
                        }
                        Err(e) => panic!("producer: {e}"),
                    }
                }
            }
            fulls
        });
        let _stop = StopOnDrop(stop);
        let mut c = Consumer::attach(s).unwrap();
        for (seq, &len) in sizes.iter().enumerate() {
            let seq = seq as u32;
            if seq % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            loop {
                match c.try_recv() {
                    Ok(g) => {
                        assert_eq!((g.tag(), g.len()), (seq, len));
                        // SAFETY: published and not released: the producer
                        // does not write it.
                        let b = unsafe { g.as_slice() };
                        for (i, &x) in b.iter().enumerate() {
                            assert_eq!(x, pat(seq, i), "record {seq} byte {i}");
                        }
                        g.release();
                        break;
                    }
                    Err(BulkError::Empty) => std::thread::yield_now(),
                    Err(e) => panic!("consumer: {e}"),
                }
            }
        }
        assert_eq!(c.try_recv().unwrap_err(), BulkError::Empty);
        prod.join().unwrap()
    });
    // The slow consumer made the producer wait: back-pressure was exercised.
    assert!(fulls > 0);
}

impl Rng {
    /// Edge-biased values for indices and lengths.
    fn value(&mut self, size: u64) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => size + self.below(3) * 64,
            3 => size - self.below(4) * 64,
            4 => self.below(size) & !63,
            5 => u64::from(u32::MAX),
            6 => self.below(1 << 20),
            _ => self.next(),
        }
    }
}

/// Every payload a consumer is handed lies in the ring's data area.
fn inside(span: Shm<'_>, payload: Shm<'_>, max: usize) {
    assert!(payload.len() <= max);
    assert!(payload.addr() >= span.addr() + HEADER_SIZE);
    assert!(payload.addr() + payload.len() <= span.addr() + span.len());
}

/// A hostile producer: head, the waiting flag, the header fields and record
/// headers scribbled; the consumer never panics, never hands out a payload
/// outside the data area, and a clean exchange works after re-init.
#[test]
fn hostile_producer() {
    let mut rng = Rng::seeded(0xB01C_0001);
    let r = region();
    let s = ring(r.shm(), RING_H2F).unwrap();
    let size = init(s).unwrap().data_size() as u64;
    let mut errors = 0;
    for _ in 0..rounds() {
        init(s).unwrap();
        let mut p = Producer::attach(s).unwrap();
        let Ok(mut c) = Consumer::attach(s) else {
            continue;
        };
        let max = c.max_payload();
        for k in 0..rng.below(4) {
            let _ = p.try_send(&vec![k as u8; rng.below(100_000) as usize], 0);
        }
        for _ in 0..1 + rng.below(6) {
            match rng.below(6) {
                0 => s.write_u64(off::HEAD, rng.value(size)),
                1 => s.write_u32(off::PRODUCER_WAITING, rng.next() as u32),
                2 => s.write_u32(4 * rng.below(4) as usize, rng.next() as u32),
                _ => {
                    // A record header at a 64-byte boundary (or anywhere).
                    let at = if rng.below(2) == 0 {
                        let t = s.read_u64(off::TAIL) % size;
                        (if rng.below(2) == 0 {
                            t
                        } else {
                            rng.below(size) & !63
                        }) as usize
                    } else {
                        rng.below(size - 4) as usize & !3
                    };
                    s.write_u32(
                        HEADER_SIZE + at + 4 * rng.below(3) as usize,
                        rng.value(size) as u32,
                    );
                }
            }
        }
        for _ in 0..8 {
            let published = s.read_u64(off::HEAD).wrapping_sub(s.read_u64(off::TAIL));
            match c.try_recv() {
                Ok(g) => {
                    inside(s, g.payload(), max);
                    // Never past the bytes the producer published.
                    assert!(record_span(g.len()) as u64 <= published);
                    let mut b = vec![0u8; g.len()];
                    g.payload().read_bytes(0, &mut b);
                    g.release();
                }
                Err(BulkError::Empty) => break,
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
    }
    assert!(errors > 0, "the scribbles never produced a refusal");
    init(s).unwrap();
    let mut p = Producer::attach(s).unwrap();
    let mut c = Consumer::attach(s).unwrap();
    p.try_send(b"clean", 9).unwrap();
    let mut out = [0u8; 5];
    assert_eq!(c.recv_into(&mut out).unwrap(), (5, 9, false));
    assert_eq!(&out, b"clean");
}

/// A hostile consumer: tail, its waiting flag and the header scribbled; the
/// producer never panics and never reserves outside the data area.
#[test]
fn hostile_consumer() {
    let mut rng = Rng::seeded(0xB01C_0002);
    let r = region();
    let s = ring(r.shm(), RING_F2H).unwrap();
    let size = init(s).unwrap().data_size() as u64;
    let mut errors = 0;
    for _ in 0..rounds() {
        init(s).unwrap();
        let mut p = Producer::attach(s).unwrap();
        for k in 0..rng.below(4) {
            let _ = p.try_send(&vec![k as u8; rng.below(100_000) as usize], 0);
        }
        match rng.below(4) {
            0 | 1 => s.write_u64(off::TAIL, rng.value(size)),
            2 => s.write_u32(off::CONSUMER_WAITING, rng.next() as u32),
            _ => s.write_u32(4 * rng.below(4) as usize, rng.next() as u32),
        }
        for _ in 0..4 {
            let len = rng.below(p.max_payload() as u64 + 2) as usize;
            match p.try_reserve(len) {
                Ok(mut g) => {
                    inside(s, g.payload(), 1 << 20);
                    // SAFETY: single-threaded test; nobody else touches it.
                    unsafe { g.as_mut_slice() }.fill(0xA5);
                    g.commit(len, 1);
                }
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
        // Attaching to whatever is left never panics either.
        let _ = Producer::attach(s);
        let _ = Consumer::attach(s);
    }
    assert!(errors > 0, "the scribbles never produced a refusal");
}

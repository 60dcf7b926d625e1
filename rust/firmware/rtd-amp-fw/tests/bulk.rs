//! The firmware's bulk echo service, in process, against amp-proto's host
//! roles over a region of the real size: every byte comes back with its
//! tag, a slow reader loses nothing (records wait in their ring), and a
//! ring corrupted by Linux is initialized again instead of trusted.

use amp_proto::bulk::{self, BulkError, Consumer, Producer, REGION_SIZE, RING_F2H, RING_H2F};
use amp_proto::shmem::OwnedRegion;
use rtd_amp_fw::bulk::BulkEcho;

fn pat(seq: u32, i: usize) -> u8 {
    (seq as usize * 31 + i * 7 + (i >> 9)) as u8
}

#[test]
fn echoes_every_byte_and_a_slow_reader_loses_nothing() {
    let r = OwnedRegion::new(REGION_SIZE);
    let mut fw = BulkEcho::new(r.shm());
    let mut tx = Producer::attach(bulk::ring(r.shm(), RING_H2F).unwrap()).unwrap();
    let mut rx = Consumer::attach(bulk::ring(r.shm(), RING_F2H).unwrap()).unwrap();
    let sizes: Vec<usize> = (0..200)
        .map(|i| [65536, 0, 1, 4095, 100_000][i % 5])
        .collect();
    let (mut sent, mut got) = (0usize, 0usize);
    let mut out = vec![0u8; 100_000];
    let mut waited_for_reader = 0;
    while got < sizes.len() {
        // Send as much as fits, then let the firmware run.
        while sent < sizes.len() {
            let data: Vec<u8> = (0..sizes[sent]).map(|i| pat(sent as u32, i)).collect();
            match tx.try_send(&data, sent as u32) {
                Ok(_) => sent += 1,
                Err(BulkError::Full) => break,
                Err(e) => panic!("{e}"),
            }
        }
        let before = fw.stats().records;
        assert_eq!(fw.poll().1, None);
        if fw.stats().records - before < (sent - got) as u64 {
            waited_for_reader += 1;
        }
        // A slow reader: one record per round.
        if let Ok((n, tag, _)) = rx.recv_into(&mut out) {
            assert_eq!((tag as usize, n), (got, sizes[got]));
            for (i, &b) in out[..n].iter().enumerate() {
                assert_eq!(b, pat(tag, i), "record {tag} byte {i}");
            }
            got += 1;
        }
    }
    assert_eq!(fw.stats().records, sizes.len() as u64);
    assert_eq!(fw.stats().resets, 0);
    assert!(waited_for_reader > 0, "the reply ring never filled");
}

#[test]
fn a_corrupted_ring_is_initialized_again() {
    let r = OwnedRegion::new(REGION_SIZE);
    let mut fw = BulkEcho::new(r.shm());
    let h2f = bulk::ring(r.shm(), RING_H2F).unwrap();
    let mut tx = Producer::attach(h2f).unwrap();
    tx.try_send(b"x", 1).unwrap();
    // Linux claims more bytes than the ring holds.
    h2f.write_u64(bulk::off::HEAD, 1 << 40);
    let (notify, err) = fw.poll();
    assert!(matches!(err, Some(BulkError::Corrupt { .. })), "{err:?}");
    assert!(notify);
    assert_eq!(fw.stats().resets, 1);
    // The old attachment sees the new generation; a new one works.
    assert_eq!(tx.try_send(b"y", 2).unwrap_err(), BulkError::Reset);
    let mut tx = Producer::attach(h2f).unwrap();
    let mut rx = Consumer::attach(bulk::ring(r.shm(), RING_F2H).unwrap()).unwrap();
    tx.try_send(b"again", 3).unwrap();
    assert_eq!(fw.poll(), (false, None));
    let mut out = [0u8; 8];
    assert_eq!(rx.recv_into(&mut out).unwrap(), (5, 3, false));
    assert_eq!(&out[..5], b"again");
}

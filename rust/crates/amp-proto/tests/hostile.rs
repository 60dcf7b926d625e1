//! Fuzz-like robustness: each role runs against a peer that scribbles
//! pseudo-random values over everything that peer may write (ring indices,
//! descriptors, used entries, buffer headers, the vdev fields of the
//! resource table). Neither role may panic or reach outside the shared
//! window, and after the peer is reset a clean exchange works again.
//! The generator is seeded, so a failure replays exactly. Longer runs:
//! `AMP_HOSTILE_SEED=<n> AMP_HOSTILE_ROUNDS=<n> cargo test -p amp-proto
//! --release --test hostile` (the seed is mixed into each test's own).

mod common;

use amp_proto::rpmsg::*;
use amp_proto::rsc;
use amp_proto::sim::RING_SPAN;
use amp_proto::vring::{DeviceQueue, VringLayout};
use common::{pattern, rounds, Rig, Rng, BUS, NUM, TABLE};

impl Rng {
    /// A value biased towards the interesting edges of a field.
    fn value(&mut self, bits: u32) -> u64 {
        let max = if bits == 64 {
            u64::MAX
        } else {
            (1 << bits) - 1
        };
        match self.below(6) {
            0 => 0,
            1 => max,
            2 => u64::from(NUM) + self.below(4),
            3 => 512 + self.below(32) - 16,
            4 => self.below(u64::from(NUM)),
            _ => self.next() & max,
        }
    }
}

/// Writes one random field (u8/u16/u32/u64) at a random offset in `shm`'s
/// `off..off+len`.
fn scribble(rng: &mut Rng, shm: amp_proto::shmem::Shm<'_>, off: usize, len: usize) {
    let at = off + rng.below(len as u64) as usize;
    match rng.below(4) {
        0 => shm.write_u8(at, rng.value(8) as u8),
        1 if at + 2 <= off + len => shm.write_u16(at & !1, rng.value(16) as u16),
        2 if at + 4 <= off + len => shm.write_u32(at & !3, rng.value(32) as u32),
        _ if at + 8 <= off + len => shm.write_u64(at & !7, rng.value(64)),
        _ => shm.write_u8(at, rng.value(8) as u8),
    }
}

/// The test's seed, mixed with `AMP_HOSTILE_SEED` when set.
fn rng(base: u64) -> Rng {
    let mut r = Rng::seeded(base);
    r.next();
    r
}

fn layout() -> VringLayout {
    VringLayout::new(NUM, 4096).unwrap()
}

/// Offset of the first vdev vring entry in the test table (after the header,
/// one offset word, the type word and the 24-byte vdev body).
const VRING0_ENTRY: usize = rsc::header_len(1) + 4 + 24;

/// What a hostile driver may write: its rings (all of them), the buffers
/// it owns, and the vdev fields of the table.
fn hostile_driver_write(rng: &mut Rng, rig: &Rig) {
    let win = rig.window().shm();
    let l = layout();
    match rng.below(8) {
        // descriptors of either ring
        0 | 1 => {
            let ring = rng.below(2) as usize * RING_SPAN as usize;
            scribble(rng, win, ring, l.avail_flags());
        }
        // avail flags / idx / ring of either ring
        2 | 3 => {
            let ring = rng.below(2) as usize * RING_SPAN as usize;
            let a = l.avail_flags();
            scribble(rng, win, ring + a, l.used_event() + 2 - a);
        }
        // RPMsg headers of Linux's TX buffers
        4 | 5 => {
            let b = 2 * RING_SPAN as usize + (NUM as usize + rng.below(NUM.into()) as usize) * 512;
            scribble(rng, win, b, RPMSG_HDR_LEN);
        }
        // status, features, vring da/align/num/notifyid in the table
        6 => {
            let t = rig.table().shm();
            if rng.below(2) == 0 {
                // status (offset 20 of the vdev body) or gfeatures (12)
                let body = VRING0_ENTRY - 24;
                let at = body + [12, 20][rng.below(2) as usize];
                t.write_u8(at, rng.value(8) as u8);
            } else {
                scribble(rng, t, VRING0_ENTRY, 2 * 16);
            }
        }
        // a random byte anywhere in the window
        _ => scribble(rng, win, 0, win.len()),
    }
}

fn expect_ns(drv: &mut RpmsgDriver<'_>, dev: &mut RpmsgDevice<'_, 4>) {
    let mut out = [0u8; 512];
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    let (m, _) = drv.recv(&mut out).unwrap().expect("announcement");
    assert_eq!((m.src, m.dst, m.len), (1024, RPMSG_NS_ADDR, 40));
    assert_eq!(&out[..10], b"rpmsg-raw\0");
}

fn echo(dev: &mut RpmsgDevice<'_, 4>) -> Result<usize, RpmsgError> {
    let mut buf = [0u8; RPMSG_MAX_PAYLOAD];
    dev.poll(&mut |_| {}, |tx, m| {
        let n = m.copy_to(&mut buf);
        // The hostile driver may have left no buffer: that is its problem.
        let _ = tx.try_send(m.dst, m.src, &buf[..n]);
    })
}

#[test]
fn device_survives_a_hostile_driver() {
    let rig = common::rig();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    let mut rng = rng(0x9E37_79B9_7F4A_7C15);
    let mut out = [0u8; 512];
    let (mut poll_errors, mut dropped) = (0u32, 0u64);
    for round in 0..rounds() {
        // A clean start: the table as built, a fresh probe. The device sees
        // the status drop first, as it does when Linux stops and restarts.
        rig.table().shm().write_bytes(0, &TABLE);
        echo(&mut dev).unwrap();
        let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
        expect_ns(&mut drv, &mut dev);
        let data = pattern(round, (round as usize * 37) % 497);
        drv.try_send(0x400 + round, 1024, &data).unwrap();
        assert_eq!(echo(&mut dev), Ok(1), "round {round}: clean echo");
        let (m, _) = drv.recv(&mut out).unwrap().expect("echo back");
        assert_eq!((m.src, m.dst), (1024, 0x400 + round));
        assert_eq!(&out[..m.len], &data[..], "round {round}: echo content");

        // The hostile phase: the driver keeps talking while its memory is
        // scribbled on; only the absence of panics is checked here.
        let before = dev.stats().errors;
        for i in 0..40u32 {
            for _ in 0..=rng.below(3) {
                hostile_driver_write(&mut rng, &rig);
            }
            let _ = drv.try_send(0x400, 1024, &pattern(i, rng.below(497) as usize));
            if echo(&mut dev).is_err() {
                poll_errors += 1;
            }
            let _ = drv.recv(&mut out);
        }
        dropped += dev.stats().errors - before;
        drv.reset();
    }
    // The scribbles did reach the checks (the counts depend on the seed only).
    assert!(poll_errors > 0, "no ring error was provoked");
    assert!(dropped > 0, "no inbound message was dropped");
}

/// What a hostile device may write: used rings, descriptors (the whole ring
/// is shared), the buffers Linux posted for it to fill.
fn hostile_device_write(rng: &mut Rng, rig: &Rig) {
    let win = rig.window().shm();
    let l = layout();
    let ring = rng.below(2) as usize * RING_SPAN as usize;
    match rng.below(6) {
        0 => scribble(rng, win, ring, l.avail_flags()),
        1 | 2 => {
            let u = l.used_flags();
            scribble(rng, win, ring + u, l.avail_event() + 2 - u);
        }
        3 | 4 => {
            let b = 2 * RING_SPAN as usize + rng.below(NUM.into()) as usize * 512;
            scribble(rng, win, b, RPMSG_HDR_LEN);
        }
        _ => scribble(rng, win, 0, win.len()),
    }
}

#[test]
fn driver_survives_a_hostile_device() {
    let rig = common::rig();
    let l = layout();
    let win = rig.window().shm();
    let mut rng = rng(0xD1B5_4A32_D192_ED03);
    let mut out = [0u8; 512];
    let mut rejected = 0u32;
    for round in 0..rounds() {
        let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
        let map = |i: u64| rig.bus().map(BUS + i * RING_SPAN, l.size()).unwrap();
        let mut v0 = DeviceQueue::attach(map(0), l).unwrap();
        let mut v1 = DeviceQueue::attach(map(1), l).unwrap();
        for _ in 0..60 {
            match rng.below(4) {
                // a plausible message with random lengths and header
                0 => {
                    if let Ok(Some(b)) = v0.pop_avail() {
                        let off = (b.desc.addr.wrapping_sub(BUS)) as usize;
                        if off + 16 <= win.len() {
                            win.write_u32(off, 1024);
                            win.write_u32(off + 4, 0x400);
                            win.write_u16(off + 12, rng.value(16) as u16);
                        }
                        v0.push_used(b.head, rng.value(32) as u32);
                    }
                }
                // a used entry with a random id on either ring
                1 => {
                    let q = if rng.below(2) == 0 { &mut v0 } else { &mut v1 };
                    q.push_used(rng.value(16) as u16, rng.value(32) as u32);
                }
                // consume Linux's TX buffers
                2 => {
                    if let Ok(Some(b)) = v1.pop_avail() {
                        v1.push_used(b.head, 0);
                    }
                }
                _ => hostile_device_write(&mut rng, &rig),
            }
            if drv.recv(&mut out).is_err() {
                rejected += 1;
            }
            let _ = drv.try_send(0x400, 1024, &pattern(round, rng.below(497) as usize));
        }
        drv.reset();
    }
    assert!(rejected > 0, "no inbound error was provoked");
}

#[test]
fn driver_keeps_its_own_buffer_addresses() {
    // A device that rewrites a TX descriptor to point into vring0 must not
    // make Linux's next message land there: the driver reuses the address
    // it posted (its private copy), as Linux does.
    let rig = common::rig();
    let l = layout();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut v1 = DeviceQueue::attach(rig.bus().map(BUS + RING_SPAN, l.size()).unwrap(), l).unwrap();
    let win = rig.window().shm();
    // Use up every never-used TX buffer so the next send recycles one.
    for i in 0..NUM {
        drv.try_send(0x400, 1024, &[i as u8; 4]).unwrap();
        let b = v1.pop_avail().unwrap().unwrap();
        // Redirect the descriptor to vring0's descriptor table, then return it.
        win.write_u64(RING_SPAN as usize + l.desc(b.head), BUS);
        v1.push_used(b.head, 0);
    }
    let mut ring0 = vec![0u8; l.size()];
    win.read_bytes(0, &mut ring0);
    drv.try_send(0x400, 1024, &[0xAB; 100]).unwrap();
    let mut after = vec![0u8; l.size()];
    win.read_bytes(0, &mut after);
    assert_eq!(ring0, after, "vring0 untouched");
    let b = v1.pop_avail().unwrap().unwrap();
    let tx_first = rig.layout().buffers + 512 * u64::from(NUM);
    assert!(
        (tx_first..tx_first + 512 * u64::from(NUM)).contains(&b.desc.addr),
        "the message went into one of Linux's TX buffers"
    );
    let off = (b.desc.addr - BUS) as usize;
    assert_eq!(win.read_u16(off + 12), 100);
    assert_eq!(win.read_u8(off + 16), 0xAB);
}

/// Linux's next TX buffer (vring0, descriptor 0) as `corrupt` leaves its
/// descriptor (given the descriptor's offset and the rig's buffer bus
/// address) is refused as `BadBuffer` of `len` bytes: the device writes
/// nothing into it or the buffer after it, returns nothing, and the next
/// buffer is fine.
fn tx_buffer_refused(corrupt: impl FnOnce(amp_proto::shmem::Shm<'_>, usize, u64), len: u32) {
    let rig = common::rig();
    let l = layout();
    let (_drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    let win = rig.window().shm();
    corrupt(win, l.desc(0), rig.layout().buffers);
    let buf0 = (rig.layout().buffers - BUS) as usize;
    win.fill(buf0, 1024, 0x5A);
    let used = win.read_u16(l.used_idx());
    let r = dev.sender(&mut |_| {}).unwrap().try_send(ept, 0x400, b"hi");
    assert!(
        matches!(r, Err(RpmsgError::BadBuffer { head: 0, len: l, .. }) if l == len),
        "{r:?}"
    );
    let mut b = [0u8; 1024];
    win.read_bytes(buf0, &mut b);
    assert!(b.iter().all(|&x| x == 0x5A), "buffer untouched");
    assert_eq!(win.read_u16(l.used_idx()), used, "nothing returned");
    // The next buffer is fine.
    dev.sender(&mut |_| {})
        .unwrap()
        .try_send(ept, 0x400, b"hi")
        .unwrap();
}

#[test]
fn device_never_writes_a_buffer_too_short_for_a_header() {
    // A broken driver posts an RX buffer of 8 bytes: the device must not
    // write the 16-byte header over whatever follows it.
    tx_buffer_refused(|win, desc, _| win.write_u32(desc + 8, 8), 8);
}

/// A transmit buffer (vring0) whose bus address is not 8-byte aligned is
/// refused and never written: Linux never posts one (rpmsg_probe in
/// drivers/rpmsg/virtio_rpmsg_bus.c carves all buffers out of one
/// dma_alloc_coherent block in 512-byte steps), and the device role's
/// header accesses are aligned 8-byte words.
#[test]
fn device_refuses_a_misaligned_tx_buffer() {
    // Descriptor 0 moved 4 bytes on.
    tx_buffer_refused(|win, desc, buffers| win.write_u64(desc, buffers + 4), 512);
}

/// A received buffer (vring1) whose bus address is not 8-byte aligned is
/// counted as an error, returned, and not delivered, even though a valid
/// message lies at that address.
#[test]
fn device_drops_a_misaligned_rx_buffer() {
    let rig = common::rig();
    let l = layout();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    drv.try_send(0x400, ept, b"hello").unwrap();
    let win = rig.window().shm();
    let v1 = RING_SPAN as usize;
    let head = win.read_u16(v1 + l.avail_ring(0));
    let d = v1 + l.desc(head);
    let addr = win.read_u64(d);
    // The same message 4 bytes further on, and the descriptor pointing there.
    let off = (addr - BUS) as usize;
    let mut msg = [0u8; 21];
    win.read_bytes(off, &mut msg);
    win.write_bytes(off + 4, &msg);
    win.write_u64(d, addr + 4);
    let mut got = 0;
    dev.poll(&mut |_| {}, |_, _| got += 1).unwrap();
    assert_eq!(got, 0, "not delivered");
    assert_eq!(dev.stats().errors, 1);
    assert_eq!(win.read_u16(v1 + l.used_idx()), 1, "returned");
    // The next message, in another buffer, gets through.
    drv.try_send(0x400, ept, b"again").unwrap();
    dev.poll(&mut |_| {}, |_, m| {
        assert_eq!(m.len(), 5);
        got += 1
    })
    .unwrap();
    assert_eq!(got, 1);
}

fn window_bytes(rig: &Rig) -> Vec<u8> {
    let mut v = vec![0u8; rig.window().shm().len()];
    rig.window().shm().read_bytes(0, &mut v);
    v
}

/// Hostile case (a): Linux removes and probes the vdev again between two
/// doorbells (the status drop is never seen), after `echoes` exchanges,
/// and sends three messages. Both new avail indices lie less than num
/// beyond the device's (vring0 64 against 1 + echoes, vring1 3 against
/// echoes), so counting avail.idx cannot tell; used.idx can (0 now, the
/// device published 1 + echoes and echoes). With no echo before, only
/// vring0 shows it, and nothing may be taken from vring1 before it is
/// noticed.
fn reprobe_unseen(echoes: u32) {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    expect_ns(&mut drv, &mut dev);
    let mut out = [0u8; 512];
    for i in 0..echoes {
        drv.try_send(0x400, 1024, &pattern(i, 10)).unwrap();
        assert_eq!(echo(&mut dev), Ok(1));
        drv.recv(&mut out).unwrap().expect("echo");
    }
    drv.reset();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    for i in 0..3 {
        drv.try_send(0x500, 1024, &pattern(100 + i, 20 + i as usize))
            .unwrap();
    }
    let before = window_bytes(&rig);
    let r = dev.poll(&mut |_| {}, |_, _| {
        panic!("delivered from a re-initialised ring")
    });
    assert!(r.is_err_and(|e| e.is_reset()), "{r:?}");
    assert!(!dev.is_ready());
    assert_eq!((dev.stats().resets, dev.stats().errors), (1, 0));
    assert!(
        before == window_bytes(&rig),
        "the device wrote into the new rings"
    );
    // The next poll, without another kick, starts over: announcement
    // first, then every message in order.
    assert_eq!(echo(&mut dev), Ok(3));
    let (m, _) = drv.recv(&mut out).unwrap().expect("announcement");
    assert_eq!((m.src, m.dst, m.len), (1024, RPMSG_NS_ADDR, 40));
    for i in 0..3 {
        let (m, _) = drv.recv(&mut out).unwrap().expect("echo");
        assert_eq!((m.src, m.dst), (1024, 0x500));
        assert_eq!(&out[..m.len], &pattern(100 + i, 20 + i as usize)[..]);
    }
    assert_eq!(drv.recv(&mut out), Ok(None));
    assert_eq!(dev.stats().rx_messages, u64::from(echoes) + 3);
}

#[test]
fn reprobe_the_device_did_not_see_is_noticed() {
    reprobe_unseen(2);
    reprobe_unseen(0);
}

#[test]
fn send_after_a_reprobe_it_did_not_see_fails_as_a_reset() {
    // The bounded send outside a poll meets the same re-initialised rings:
    // it must not hand Linux's next incarnation a message meant for the
    // last one, and the device must reset.
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    expect_ns(&mut drv, &mut dev);
    drv.reset();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let before = window_bytes(&rig);
    let r = dev.send(1024, 0x400, b"late", &mut |_| {}, || {
        panic!("Linux posted all its buffers: no wait")
    });
    assert!(r.is_err_and(|e| e.is_reset()), "{r:?}");
    assert!(!dev.is_ready());
    assert_eq!(dev.stats().resets, 1);
    assert!(
        before == window_bytes(&rig),
        "the device wrote into the new rings"
    );
    expect_ns(&mut drv, &mut dev);
}

/// When, during the poll callback, Linux re-initialises the rings.
#[derive(Clone, Copy, Debug)]
enum During {
    /// Before the reply: the reply's buffer comes from the new vring0.
    Reply,
    /// While the reply is written (`try_send_with`'s fill).
    Fill,
    /// In a callback that does not reply (a partial tty line).
    NoReply,
}

/// Hostile case (b): Linux re-initialises the rings while the device is
/// handling a message. Before that, the device announced its endpoint if
/// `named` and answered `earlier` messages, or, unnamed, took `earlier`
/// messages without answering, so its used shadow may still be 0 on one
/// ring (which then reads the same after zeroing) and only the other ring
/// shows the reset. The reply must fail as a reset, nothing may be
/// published into the new rings (no reply, and the message's buffer is not
/// returned into a ring that no longer has it), and the device starts over.
fn reset_during_callback(named: bool, earlier: u32, when: During) {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint(if named { "rpmsg-raw" } else { "" }, Some(1024))
        .unwrap();
    if named {
        expect_ns(&mut drv, &mut dev);
    }
    let mut out = [0u8; 512];
    for i in 0..earlier {
        drv.try_send(0x400, 1024, &pattern(i, 10)).unwrap();
        if named {
            assert_eq!(echo(&mut dev), Ok(1));
            drv.recv(&mut out).unwrap().expect("echo");
        } else {
            assert_eq!(dev.poll(&mut |_| {}, |_, _| {}), Ok(1));
        }
    }
    drv.try_send(0x400, 1024, b"first").unwrap();
    // Linux's remove + probe, once, from inside the callback.
    let mut old = Some(drv);
    let mut new = None;
    let mut rings = vec![];
    let mut reprobe = || {
        old.take().expect("one message").reset();
        let (d, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
        new = Some(d);
        // A buffer written but not published is invisible to Linux: what
        // must not change is the rings.
        rings = window_bytes(&rig)[..2 * RING_SPAN as usize].to_vec();
    };
    let mut replies = vec![];
    let r = dev.poll(&mut |_| {}, |tx, m| match when {
        During::Reply => {
            reprobe();
            replies.push(tx.try_send(1024, m.src, b"reply"));
            replies.push(tx.try_send(1024, m.src, b"again"));
        }
        During::Fill => {
            replies.push(tx.try_send_with(1024, m.src, 5, |p| {
                reprobe();
                p.write_bytes(0, b"reply");
                5
            }));
            replies.push(tx.try_send(1024, m.src, b"again"));
        }
        During::NoReply => reprobe(),
    });
    let ctx = format!("named {named}, {earlier} earlier, reset during {when:?}");
    assert!(r.is_err_and(|e| e.is_reset()), "{ctx}: {r:?}");
    for s in &replies {
        assert!(s.is_err_and(|e| e.is_reset()), "{ctx}: {s:?}");
    }
    assert!(
        rings == window_bytes(&rig)[..2 * RING_SPAN as usize],
        "{ctx}: the device published into the new rings"
    );
    assert!(!dev.is_ready(), "{ctx}");
    let st = dev.stats();
    let sent = if named { 1 + u64::from(earlier) } else { 0 };
    assert_eq!(
        (st.resets, st.errors, st.tx_messages),
        (1, 0, sent),
        "{ctx}"
    );
    // Starting over: announcement, then a clean echo.
    let mut drv = new.expect("reprobed");
    if named {
        expect_ns(&mut drv, &mut dev);
    }
    drv.try_send(0x401, 1024, b"second").unwrap();
    assert_eq!(echo(&mut dev), Ok(1), "{ctx}");
    let (m, _) = drv.recv(&mut out).unwrap().expect("echo");
    assert_eq!((m.src, m.dst, &out[..m.len]), (1024, 0x401, &b"second"[..]));
    assert_eq!(drv.recv(&mut out), Ok(None));
}

#[test]
fn reset_seen_in_the_middle_of_a_reply() {
    // (named, 0): only vring0 shows it; (false, 3): only vring1 does.
    // (false, 0) is the blind case: both shadows 0, as after attaching.
    for (named, earlier) in [(true, 0), (true, 3), (false, 3)] {
        for when in [During::Reply, During::Fill, During::NoReply] {
            reset_during_callback(named, earlier, when);
        }
    }
}

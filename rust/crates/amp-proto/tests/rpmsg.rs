//! RPMsg: wire bytes against `virtio_rpmsg_bus.c` / `rpmsg/ns.h`, and the
//! device role (firmware) against the driver role (Linux model) in two
//! threads over one shared window.

mod common;

use core::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use amp_proto::rpmsg::*;
use amp_proto::vring::{DeviceQueue, VringLayout};
use common::{pattern, Rig, BUS, NUM};
use zerocopy::IntoBytes;

#[test]
fn wire_structs_match_linux() {
    // struct rpmsg_hdr { __rpmsg32 src, dst, reserved; __rpmsg16 len, flags; u8 data[]; } __packed
    assert_eq!(size_of::<RpmsgHdr>(), 16);
    assert_eq!(offset_of!(RpmsgHdr, dst), 4);
    assert_eq!(offset_of!(RpmsgHdr, reserved), 8);
    assert_eq!(offset_of!(RpmsgHdr, len), 12);
    assert_eq!(offset_of!(RpmsgHdr, flags), 14);
    // struct rpmsg_ns_msg { char name[32]; __rpmsg32 addr; __rpmsg32 flags; } __packed
    assert_eq!(size_of::<RpmsgNsMsg>(), 40);
    assert_eq!(offset_of!(RpmsgNsMsg, addr), 32);
    assert_eq!(offset_of!(RpmsgNsMsg, flags), 36);
    assert_eq!(RPMSG_MAX_PAYLOAD, 496);
    assert_eq!(RPMSG_NS_ADDR, 53);
}

#[test]
fn header_and_ns_bytes() {
    let hdr = RpmsgHdr {
        src: 1024.into(),
        dst: 53.into(),
        reserved: 0.into(),
        len: 40.into(),
        flags: 0.into(),
    };
    assert_eq!(
        hdr.as_bytes(),
        &[0x00, 0x04, 0, 0, 0x35, 0, 0, 0, 0, 0, 0, 0, 0x28, 0, 0, 0]
    );
    let ns = RpmsgNsMsg::new("rpmsg-raw", 1024, RPMSG_NS_CREATE).unwrap();
    let mut want = [0u8; 40];
    want[..9].copy_from_slice(b"rpmsg-raw");
    want[32..36].copy_from_slice(&[0x00, 0x04, 0, 0]);
    assert_eq!(ns.as_bytes(), &want);
    assert_eq!(ns.name(), Some("rpmsg-raw"));
    let d = RpmsgNsMsg::new("x", 0x1234_5678, RPMSG_NS_DESTROY).unwrap();
    assert_eq!(&d.as_bytes()[32..], &[0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0]);
    assert!(RpmsgNsMsg::new(&"n".repeat(32), 1, 0).is_none());
    assert!(RpmsgNsMsg::new(&"n".repeat(31), 1, 0).is_some());
}

/// What the device writes into Linux's first RX buffer when it announces
/// `rpmsg-raw` at 1024, byte for byte, and the used entry it returns.
#[test]
fn captured_announcement_bytes() {
    let rig = common::rig();
    let (_drv, kick) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    assert!(kick, "Linux kicks vring0 after posting its RX buffers");
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    let mut kicks = 0;
    dev.poll(&mut |_| kicks += 1, |_, _| {}).unwrap();
    assert!(dev.announced());
    assert_eq!(kicks, 1, "vring0 interrupt for the announcement");
    let buf0 = rig.layout().buffers - BUS;
    let mut got = [0u8; 56];
    rig.window().shm().read_bytes(buf0 as usize, &mut got);
    let mut want = [0u8; 56];
    want[..16].copy_from_slice(&[0, 4, 0, 0, 53, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0]);
    want[16..25].copy_from_slice(b"rpmsg-raw");
    want[48..52].copy_from_slice(&[0, 4, 0, 0]);
    assert_eq!(got, want);
    let l = VringLayout::new(NUM, 4096).unwrap();
    let ring0 = rig.bus().map(BUS, l.size()).unwrap();
    assert_eq!(ring0.read_u16(l.used_idx()), 1);
    assert_eq!(ring0.read_u32(l.used_ring(0)), 0, "descriptor 0");
    assert_eq!(ring0.read_u32(l.used_ring(0) + 4), 56, "used.len = 16 + 40");
}

#[test]
fn device_waits_for_driver_ok() {
    let rig = common::rig();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    // Before DRIVER_OK the rings hold garbage: nothing may be touched.
    rig.window().shm().fill(0, rig.window().shm().len(), 0xA5);
    let before = snapshot(&rig);
    assert_eq!(dev.poll(&mut |_| panic!("no kick"), |_, _| {}), Ok(0));
    assert!(!dev.is_ready());
    assert_eq!(
        dev.sender(&mut |_| {}).err(),
        Some(RpmsgError::NotReady),
        "no send before DRIVER_OK"
    );
    assert!(before == snapshot(&rig), "device wrote before DRIVER_OK");
}

fn snapshot(rig: &Rig) -> Vec<u8> {
    let mut v = vec![0u8; rig.window().shm().len()];
    rig.window().shm().read_bytes(0, &mut v);
    v
}

#[test]
fn announcement_missed_on_driver_ok_is_sent_on_first_kick() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    // An unnamed endpoint uses up every RX buffer Linux posted, so the
    // announcement of the next one cannot go out at DRIVER_OK.
    let quiet = dev.create_endpoint("", Some(2000)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(dev.is_ready());
    for i in 0..NUM {
        dev.sender(&mut |_| {})
            .unwrap()
            .try_send(quiet, 0x400, &i.to_le_bytes())
            .unwrap();
    }
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(!dev.announced(), "no buffer: announcement pending");
    // Linux reads (and reposts) them ...
    let mut out = [0u8; 512];
    for i in 0..NUM {
        let (m, _) = drv.recv(&mut out).unwrap().unwrap();
        assert_eq!((m.src, m.dst, m.len), (quiet, 0x400, 4));
        assert_eq!(out[..4], i.to_le_bytes());
    }
    // ... and the next kick makes the device announce.
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(dev.announced());
    let (m, _) = drv.recv(&mut out).unwrap().unwrap();
    assert_eq!((m.src, m.dst, m.len), (1024, RPMSG_NS_ADDR, 40));
    assert_eq!(&out[..9], b"rpmsg-raw");
}

#[test]
fn endpoint_addresses() {
    let rig = common::rig();
    let long = "n".repeat(32);
    let mut dev = RpmsgDevice::<'_, 3>::new(rig.vdev(), rig.bus());
    assert_eq!(dev.create_endpoint("a", None), Ok(1024));
    assert_eq!(dev.create_endpoint("b", None), Ok(1025));
    assert_eq!(
        dev.create_endpoint("c", Some(1024)),
        Err(RpmsgError::AddrInUse(1024))
    );
    assert_eq!(
        dev.create_endpoint("c", Some(53)),
        Err(RpmsgError::ReservedAddr(53))
    );
    assert_eq!(
        dev.create_endpoint(&long, None),
        Err(RpmsgError::NameTooLong)
    );
    assert_eq!(dev.create_endpoint("c", Some(5000)), Ok(5000));
    assert_eq!(dev.create_endpoint("d", None), Err(RpmsgError::NoSlot));
    dev.destroy_endpoint(1024, &mut |_| {}).unwrap();
    assert_eq!(
        dev.destroy_endpoint(1024, &mut |_| {}),
        Err(RpmsgError::NoEndpoint(1024))
    );
    assert_eq!(dev.create_endpoint("d", None), Ok(1026));
}

/// Linux-side helper for the threaded tests: receive with a deadline.
fn recv_wait(drv: &mut RpmsgDriver<'_>, out: &mut [u8]) -> Received {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        match drv.recv(out) {
            Ok(Some((m, _))) => return m,
            Ok(None) => {
                assert!(Instant::now() < end, "no message within 20 s");
                std::thread::yield_now();
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn send_wait(drv: &mut RpmsgDriver<'_>, src: u32, dst: u32, data: &[u8]) {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        match drv.try_send(src, dst, data) {
            Ok(_) => return,
            Err(RpmsgError::NoBuffer) => {
                assert!(Instant::now() < end, "no TX buffer within 20 s");
                std::thread::yield_now();
            }
            Err(e) => panic!("send: {e}"),
        }
    }
}

/// The firmware's echo service, run until `stop`.
fn echo_device(rig: &Rig, stop: &AtomicBool, resets: &AtomicU32) {
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    let mut buf = [0u8; RPMSG_MAX_PAYLOAD];
    while !stop.load(Ordering::Relaxed) {
        let r = dev.poll(&mut |_| {}, |tx, m| {
            let n = m.copy_to(&mut buf);
            // Linux reposts promptly; a full ring here would be a bug.
            tx.try_send(ept, m.src, &buf[..n]).expect("echo");
        });
        match r {
            Ok(_) | Err(RpmsgError::Ring(_)) => {}
            Err(e) => panic!("device: {e}"),
        }
        resets.store(dev.stats().resets as u32, Ordering::Relaxed);
        std::thread::yield_now();
    }
}

fn expect_ns(drv: &mut RpmsgDriver<'_>) {
    let mut out = [0u8; 512];
    let m = recv_wait(drv, &mut out);
    assert_eq!((m.src, m.dst, m.len), (1024, RPMSG_NS_ADDR, 40));
    assert_eq!(&out[..10], b"rpmsg-raw\0");
    assert_eq!(&out[32..40], &[0, 4, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn threads_ten_thousand_echoes_of_every_size() {
    let rig = common::rig();
    let stop = AtomicBool::new(false);
    let resets = AtomicU32::new(0);
    std::thread::scope(|s| {
        s.spawn(|| echo_device(&rig, &stop, &resets));
        let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
        expect_ns(&mut drv);
        let mut out = [0u8; 512];
        for seq in 0..10_000u32 {
            let len = (seq % 497) as usize;
            let data = pattern(seq, len);
            send_wait(&mut drv, 0x400 + seq % 7, 1024, &data);
            let m = recv_wait(&mut drv, &mut out);
            assert_eq!((m.src, m.dst, m.len), (1024, 0x400 + seq % 7, len));
            assert_eq!(&out[..len], &data[..], "message {seq}");
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn threads_reload_with_stale_indices() {
    let rig = common::rig();
    let stop = AtomicBool::new(false);
    let resets = AtomicU32::new(0);
    std::thread::scope(|s| {
        s.spawn(|| echo_device(&rig, &stop, &resets));
        let mut out = [0u8; 512];
        for round in 0..5u32 {
            // Each probe zeroes the rings while the device still holds its
            // shadows from the last round: it must notice and start over.
            let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
            expect_ns(&mut drv);
            for seq in 0..(37 + round * 11) {
                let data = pattern(seq + 1000 * round, 1 + (seq as usize * 13) % 496);
                send_wait(&mut drv, 0x500, 1024, &data);
                let m = recv_wait(&mut drv, &mut out);
                assert_eq!(&out[..m.len], &data[..], "round {round} message {seq}");
            }
            drv.reset();
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        resets.load(Ordering::Relaxed) >= 4,
        "device noticed reloads"
    );
}

#[test]
fn threads_flood_to_linux_until_buffers_run_out_then_recover() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let blocked = AtomicU32::new(0);
    let total = 5 * NUM;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut dev = RpmsgDevice::<'_, 2>::new(rig.vdev(), rig.bus());
            let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
            let mut seq = 0;
            while seq < total {
                let data = pattern(seq, 1 + (seq as usize % 496));
                dev.poll(&mut |_| {}, |_, _| {}).unwrap();
                let sent = match dev.sender(&mut |_| {}) {
                    Ok(mut tx) => tx.try_send(ept, 0x400, &data),
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(()) => seq += 1,
                    Err(RpmsgError::NoBuffer) => {
                        blocked.fetch_add(1, Ordering::Relaxed);
                        // The bounded wait: poll until a buffer is back.
                        let end = Instant::now() + Duration::from_secs(20);
                        dev.send(ept, 0x400, &data, &mut |_| {}, || {
                            std::thread::yield_now();
                            Instant::now() < end
                        })
                        .expect("buffer came back within the wait");
                        seq += 1;
                    }
                    Err(RpmsgError::NotReady) => std::thread::yield_now(),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let mut out = [0u8; 512];
        expect_ns(&mut drv);
        // Linux does not read until the remote has run out of buffers.
        let end = Instant::now() + Duration::from_secs(20);
        while blocked.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < end, "device never ran out of buffers");
            std::thread::yield_now();
        }
        for seq in 0..total {
            let m = recv_wait(&mut drv, &mut out);
            let want = pattern(seq, 1 + (seq as usize % 496));
            assert_eq!(m.len, want.len(), "message {seq}");
            assert_eq!(&out[..m.len], &want[..], "message {seq}: lost or reordered");
        }
        assert_eq!(drv.recv(&mut out).unwrap(), None, "nothing extra");
    });
    assert!(blocked.load(Ordering::Relaxed) >= 1);
}

#[test]
fn flood_to_remote_until_buffers_run_out_then_recover() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 2>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    let mut sent = 0u32;
    while drv.try_send(0x400, ept, &pattern(sent, 100)).is_ok() {
        sent += 1;
    }
    assert_eq!(sent, NUM, "Linux has num TX buffers");
    assert_eq!(drv.try_send(0x400, ept, b"x"), Err(RpmsgError::NoBuffer));
    let mut got = vec![];
    dev.poll(&mut |_| {}, |_, m| {
        let mut b = [0u8; 100];
        m.copy_to(&mut b);
        got.push(b.to_vec());
    })
    .unwrap();
    assert_eq!(got.len(), NUM as usize);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g, &pattern(i as u32, 100));
    }
    for i in 0..NUM {
        drv.try_send(0x400, ept, &pattern(1000 + i, 10)).unwrap();
    }
    let mut n = 0;
    dev.poll(&mut |_| {}, |_, _| n += 1).unwrap();
    assert_eq!(n, NUM);
    assert_eq!(dev.stats().rx_messages, 2 * u64::from(NUM));
}

#[test]
fn endpoint_create_destroy_is_announced() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    let mut out = [0u8; 512];
    for round in 0..3 {
        let a = dev.create_endpoint("rpmsg-tty", None).unwrap();
        dev.poll(&mut |_| {}, |_, _| {}).unwrap();
        let (m, _) = drv.recv(&mut out).unwrap().unwrap();
        assert_eq!((m.src, m.dst), (a, RPMSG_NS_ADDR), "round {round}");
        assert_eq!(&out[36..40], &[0, 0, 0, 0], "create");
        // A message to the endpoint is delivered while it exists ...
        drv.try_send(0x400, a, b"hi").unwrap();
        let mut seen = 0;
        dev.poll(&mut |_| {}, |_, m| {
            assert_eq!(m.dst, a);
            seen += 1
        })
        .unwrap();
        assert_eq!(seen, 1);
        dev.destroy_endpoint(a, &mut |_| {}).unwrap();
        let (m, _) = drv.recv(&mut out).unwrap().unwrap();
        assert_eq!((m.src, m.dst), (a, RPMSG_NS_ADDR));
        assert_eq!(&out[32..40], &[a as u8, (a >> 8) as u8, 0, 0, 1, 0, 0, 0]);
        // ... and dropped (counted) once it is gone.
        let errors = dev.stats().errors;
        drv.try_send(0x400, a, b"late").unwrap();
        dev.poll(&mut |_| {}, |_, _| {
            panic!("delivered to a destroyed endpoint")
        })
        .unwrap();
        assert_eq!(dev.stats().errors, errors + 1);
    }
}

#[test]
fn driver_rejects_malformed_inbound() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let l = VringLayout::new(NUM, 4096).unwrap();
    let mut bad = DeviceQueue::attach(rig.bus().map(BUS, l.size()).unwrap(), l).unwrap();
    let win = rig.window().shm();
    let mut out = [0u8; 512];
    let mut post = |len: u32, hdr_len: u16| {
        let b = bad.pop_avail().unwrap().unwrap();
        let off = (b.desc.addr - BUS) as usize;
        win.write_bytes(off, &[0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0]);
        win.write_u16(off + 12, hdr_len);
        bad.push_used(b.head, len);
    };
    // used.len > 512
    post(513, 10);
    assert_eq!(
        drv.recv(&mut out),
        Err(RpmsgError::BadInbound {
            used_len: 513,
            hdr_len: 0
        })
    );
    // hdr.len > used.len - 16
    post(100, 85);
    assert_eq!(
        drv.recv(&mut out),
        Err(RpmsgError::BadInbound {
            used_len: 100,
            hdr_len: 85
        })
    );
    // used.len shorter than a header
    post(8, 0);
    assert!(matches!(
        drv.recv(&mut out),
        Err(RpmsgError::BadInbound { used_len: 8, .. })
    ));
    // The largest valid message still passes, and every bad buffer was
    // reposted: the device can take all num buffers again.
    post(512, 496);
    assert_eq!(drv.recv(&mut out).unwrap().unwrap().0.len, 496);
    let mut n = 0;
    while bad.pop_avail().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, NUM - 4 + 4, "every buffer back with the remote");
}

#[test]
fn device_rejects_malformed_inbound() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 2>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    // Linux's first TX buffer; corrupt the header after the driver wrote it.
    let tx0 = (rig.layout().buffers - BUS) as usize + 512 * NUM as usize;
    drv.try_send(0x400, ept, &[1; 20]).unwrap();
    rig.window().shm().write_u16(tx0 + 12, 21);
    drv.try_send(0x400, ept, &[2; 20]).unwrap();
    let mut got = vec![];
    dev.poll(&mut |_| {}, |_, m| got.push(m.len())).unwrap();
    assert_eq!(
        got,
        vec![20],
        "the bad one is dropped, the good one delivered"
    );
    assert_eq!(dev.stats().errors, 1);
    // Too long to send.
    assert_eq!(
        dev.sender(&mut |_| {})
            .unwrap()
            .try_send(ept, 0x400, &[0; 497]),
        Err(RpmsgError::TooLong { len: 497, max: 496 })
    );
    assert_eq!(
        drv.try_send(0x400, ept, &[0; 497]),
        Err(RpmsgError::TooLong { len: 497, max: 496 })
    );
}

/// The echo as the firmware runs it: `try_send_with` and `Shm::copy_from`
/// copy each payload once, from Linux's TX buffer straight into its RX
/// buffer. Every size from empty to the largest comes back intact.
#[test]
fn in_place_echo_copies_each_payload_once() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 2>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    expect_ns(&mut drv);
    let mut out = [0u8; 512];
    for (seq, len) in [0, 1, 15, 16, 17, 255, 495, RPMSG_MAX_PAYLOAD]
        .into_iter()
        .enumerate()
    {
        let data = pattern(seq as u32, len);
        drv.try_send(0x400 + seq as u32, 1024, &data).unwrap();
        let n = dev
            .poll(&mut |_| {}, |tx, m| {
                tx.try_send_with(ept, m.src, m.len(), |p| {
                    p.copy_from(0, &m.payload());
                    m.len()
                })
                .expect("echo");
            })
            .unwrap();
        assert_eq!(n, 1);
        let m = drv.recv(&mut out).unwrap().expect("the echo").0;
        assert_eq!((m.src, m.dst, m.len), (1024, 0x400 + seq as u32, len));
        assert_eq!(&out[..len], &data[..], "echo of {len} bytes");
    }
}

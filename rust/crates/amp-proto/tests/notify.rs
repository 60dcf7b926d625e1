//! Kick suppression on vring0 (Linux's RX ring): the device sets
//! `VRING_USED_F_NO_NOTIFY` in its `used.flags` while nothing waits for a
//! buffer, so Linux does not ring the doorbell each time it re-posts the
//! RX buffer of a reply it consumed; it clears the flag, then looks at
//! `avail.idx` again, before anything sleeps waiting for a buffer.
//! Checked byte for byte at the flags word's offset (docs/protocol.md).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use amp_proto::rpmsg::*;
use amp_proto::shmem::OwnedRegion;
use amp_proto::sim::RING_SPAN;
use amp_proto::vring::{DeviceQueue, DriverQueue, VringLayout, VRING_USED_F_NO_NOTIFY};
use common::{pattern, Rig, NUM};

fn layout() -> VringLayout {
    VringLayout::new(NUM, 4096).unwrap()
}

/// `used.flags` of vring `i`, read from the window as Linux reads it.
fn used_flags(rig: &Rig, i: u64) -> u16 {
    let off = (i * RING_SPAN) as usize + layout().used_flags();
    assert_eq!(layout().used_flags(), 4096, "16 * 64 + 2 * 67 rounded up");
    let mut b = [0u8; 2];
    rig.window().shm().read_bytes(off, &mut b);
    u16::from_le_bytes(b)
}

fn ready_device<'a>(rig: &'a Rig) -> (RpmsgDriver<'a>, RpmsgDevice<'a, 4>, u32) {
    let (drv, kick) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    assert!(kick, "Linux kicks vring0 once after DRIVER_OK");
    assert_eq!(used_flags(rig, 0), 0, "the driver zeroed the rings");
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    (drv, dev, ept)
}

#[test]
fn queue_flag_bytes_and_recheck() {
    let l = VringLayout::new(4, 4096).unwrap();
    let r = OwnedRegion::new(l.size());
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    let flags = |r: &OwnedRegion| {
        let mut b = [0u8; 2];
        r.shm().read_bytes(l.used_flags(), &mut b);
        b
    };
    dev.set_no_notify(true);
    assert_eq!(flags(&r), [1, 0], "VRING_USED_F_NO_NOTIFY, little-endian");
    assert_eq!(VRING_USED_F_NO_NOTIFY, 1);
    assert_eq!(r.shm().read_u16(l.used_idx()), 0, "only the flags word");
    // A buffer added while kicks are off: no kick, and found by the
    // look the device takes after turning kicks on again.
    drv.add(0x1000, 512, true).unwrap();
    assert!(!drv.kick_needed());
    assert_eq!(
        dev.arm_notify(),
        Ok(true),
        "buffer added before the flag was cleared"
    );
    assert_eq!(flags(&r), [0, 0]);
    assert!(drv.kick_needed());
    dev.pop_avail().unwrap().unwrap();
    assert_eq!(
        dev.arm_notify(),
        Ok(false),
        "nothing available: sleep, a kick will come"
    );
    // A re-attach takes the flag as the ring holds it.
    dev.set_no_notify(true);
    let mut again = DeviceQueue::attach(r.shm(), l).unwrap();
    again.set_no_notify(false);
    assert_eq!(
        flags(&r),
        [0, 0],
        "cleared although this queue never set it"
    );
}

#[test]
fn rx_refills_do_not_kick_tx_sends_do() {
    let rig = common::rig();
    let (mut drv, mut dev, ept) = ready_device(&rig);
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(dev.announced());
    assert_eq!(
        used_flags(&rig, 0),
        VRING_USED_F_NO_NOTIFY,
        "vring0: refills need no kick"
    );
    assert_eq!(used_flags(&rig, 1), 0, "vring1: Linux's sends still kick");
    let mut out = [0u8; 512];
    let (m, kick) = drv.recv(&mut out).unwrap().unwrap();
    assert_eq!(m.dst, RPMSG_NS_ADDR);
    assert!(!kick, "re-posting the announcement's buffer does not kick");
    let (mut rx_kicks, mut tx_kicks) = (0, 0);
    for seq in 0..3 * NUM {
        let data = pattern(seq, 1 + (seq as usize * 13) % 496);
        tx_kicks += u32::from(drv.try_send(0x400, ept, &data).unwrap());
        let n = dev
            .poll(&mut |_| {}, |tx, m| {
                tx.try_send_with(ept, m.src, m.len(), |p| {
                    p.copy_from(0, &m.payload());
                    m.len()
                })
                .unwrap();
            })
            .unwrap();
        assert_eq!(n, 1);
        let (m, kick) = drv.recv(&mut out).unwrap().unwrap();
        assert_eq!(&out[..m.len], &data[..], "echo {seq}");
        rx_kicks += u32::from(kick);
    }
    assert_eq!(rx_kicks, 0, "no doorbell for re-posted RX buffers");
    assert_eq!(tx_kicks, 3 * NUM, "one doorbell per message to the device");
    assert_eq!(used_flags(&rig, 0), VRING_USED_F_NO_NOTIFY);
}

/// Uses up every RX buffer Linux posted (from an unnamed endpoint).
fn exhaust(dev: &mut RpmsgDevice<'_, 4>, src: u32) {
    for i in 0..NUM {
        dev.sender(&mut |_| {})
            .unwrap()
            .try_send(src, 0x400, &i.to_le_bytes())
            .unwrap();
    }
}

#[test]
fn pending_announcement_turns_kicks_on_until_it_is_sent() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
    let quiet = dev.create_endpoint("", Some(2000)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert_eq!(used_flags(&rig, 0), VRING_USED_F_NO_NOTIFY);
    exhaust(&mut dev, quiet);
    dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(!dev.announced());
    assert_eq!(used_flags(&rig, 0), 0, "waiting for a buffer: kicks on");
    // The refill kicks: that doorbell is what makes the firmware poll.
    let mut out = [0u8; 512];
    let (_, kick) = drv.recv(&mut out).unwrap().unwrap();
    assert!(kick, "a re-posted buffer wakes the device");
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert!(dev.announced());
    assert_eq!(
        used_flags(&rig, 0),
        VRING_USED_F_NO_NOTIFY,
        "announced: off again"
    );
}

#[test]
fn blocking_send_turns_kicks_on_before_it_sleeps() {
    let rig = common::rig();
    let (mut drv, mut dev, _) = ready_device(&rig);
    let quiet = dev.create_endpoint("", Some(2000)).unwrap();
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    let mut out = [0u8; 512];
    assert!(!drv.recv(&mut out).unwrap().unwrap().1, "the announcement");
    exhaust(&mut dev, quiet);
    let mut waits = 0;
    let mut woken = 0;
    dev.send(quiet, 0x400, b"late", &mut |_| {}, || {
        waits += 1;
        assert_eq!(used_flags(&rig, 0), 0, "asleep with kicks off");
        // Linux takes one message and re-posts its buffer.
        let (_, kick) = drv.recv(&mut out).unwrap().unwrap();
        woken += u32::from(kick);
        true
    })
    .unwrap();
    assert_eq!(
        (waits, woken),
        (1, 1),
        "one sleep, ended by the refill's kick"
    );
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert_eq!(
        used_flags(&rig, 0),
        VRING_USED_F_NO_NOTIFY,
        "the next poll: off again"
    );
}

#[test]
fn want_buffer_kick_for_a_firmware_waiting_on_linux() {
    let rig = common::rig();
    let (_drv, mut dev, _) = ready_device(&rig);
    assert_eq!(dev.want_buffer_kick(), Err(RpmsgError::NotReady));
    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
    assert_eq!(used_flags(&rig, 0), VRING_USED_F_NO_NOTIFY);
    assert_eq!(
        dev.want_buffer_kick(),
        Ok(true),
        "NUM - 1 buffers still posted"
    );
    assert_eq!(used_flags(&rig, 0), 0);
}

/// The lost wake-up, under real scheduling: a device that sleeps until a
/// (latched) doorbell whenever Linux's RX buffers run out, against a
/// Linux that kicks only when the flag asks for it. A device that cleared
/// the flag without looking at `avail.idx` again, or slept with it set,
/// would sleep through its 10 s deadline.
#[test]
fn threads_blocked_sender_is_always_woken() {
    let rig = common::rig();
    let (mut drv, _) = RpmsgDriver::probe(rig.vdev(), rig.bus(), rig.layout()).unwrap();
    let doorbell = AtomicU32::new(1);
    let done = AtomicBool::new(false);
    let total = 20 * NUM;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut dev = RpmsgDevice::<'_, 4>::new(rig.vdev(), rig.bus());
            let ept = dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
            let mut seen = 0;
            let sleep = |seen: &mut u32| {
                let end = Instant::now() + Duration::from_secs(10);
                loop {
                    let d = doorbell.load(Ordering::Acquire);
                    if d != *seen {
                        *seen = d;
                        return true;
                    }
                    if Instant::now() > end {
                        return false;
                    }
                    std::thread::yield_now();
                }
            };
            while !dev.announced() {
                dev.poll(&mut |_| {}, |_, _| {}).unwrap();
                sleep(&mut seen);
            }
            for seq in 0..total {
                let data = pattern(seq, 1 + (seq as usize % 64));
                dev.send(ept, 0x400, &data, &mut |_| {}, || sleep(&mut seen))
                    .unwrap_or_else(|e| panic!("message {seq}: {e} (a lost wake-up)"));
                if seq % 7 == 0 {
                    dev.poll(&mut |_| {}, |_, _| {}).unwrap();
                }
            }
            done.store(true, Ordering::Release);
        });
        let mut out = [0u8; 512];
        let mut seq = 0;
        let end = Instant::now() + Duration::from_secs(60);
        while seq <= total {
            assert!(Instant::now() < end, "stuck at message {seq}");
            match drv.recv(&mut out).unwrap() {
                Some((m, kick)) => {
                    if seq == 0 {
                        assert_eq!(m.dst, RPMSG_NS_ADDR);
                    } else {
                        let want = pattern(seq - 1, 1 + ((seq - 1) as usize % 64));
                        assert_eq!(&out[..m.len], &want[..], "message {}", seq - 1);
                    }
                    seq += 1;
                    if kick {
                        doorbell.fetch_add(1, Ordering::Release);
                    }
                }
                None => std::thread::yield_now(),
            }
        }
    });
    assert!(done.load(Ordering::Acquire));
}

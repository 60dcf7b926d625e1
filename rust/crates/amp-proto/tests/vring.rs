//! Split rings: layout against Linux's `vring_size()`, both roles in one
//! thread, wrap-around, suppression flags and hostile rings.

use amp_proto::shmem::OwnedRegion;
use amp_proto::vring::*;

#[test]
fn layout_matches_linux_vring_size() {
    // vring_size(num, align) = ALIGN(16*num + 2*(3+num), align) + 2*3 + 8*num
    let l = VringLayout::new(64, 4096).unwrap();
    assert_eq!(l.avail_flags(), 1024);
    assert_eq!(l.avail_idx(), 1026);
    assert_eq!(l.avail_ring(0), 1028);
    assert_eq!(l.used_flags(), 4096);
    assert_eq!(l.used_idx(), 4098);
    assert_eq!(l.used_ring(1), 4096 + 4 + 8);
    assert_eq!(l.size(), 4096 + 6 + 8 * 64);
    let l = VringLayout::new(256, 16).unwrap();
    // 16*256 + 2*259 = 4614 -> 4624 (align 16); + 6 + 2048
    assert_eq!(l.used_flags(), 4624);
    assert_eq!(l.size(), 4624 + 6 + 2048);
    assert_eq!(VringLayout::new(0, 4096), Err(VringError::BadNum(0)));
    assert_eq!(VringLayout::new(96, 4096), Err(VringError::BadNum(96)));
    assert_eq!(
        VringLayout::new(65536, 4096),
        Err(VringError::BadNum(65536))
    );
    assert_eq!(VringLayout::new(64, 0), Err(VringError::BadAlign(0)));
    assert_eq!(VringLayout::new(64, 3000), Err(VringError::BadAlign(3000)));
}

fn pair(num: u32) -> (OwnedRegion, VringLayout) {
    let l = VringLayout::new(num, 4096).unwrap();
    (OwnedRegion::new(l.size()), l)
}

#[test]
fn rejects_small_region() {
    let l = VringLayout::new(64, 4096).unwrap();
    let r = OwnedRegion::new(100);
    assert!(matches!(
        DeviceQueue::attach(r.shm(), l),
        Err(VringError::TooSmall { need, have: 100, .. }) if need as usize == l.size()
    ));
}

#[test]
fn both_roles_with_index_wrap_around() {
    let (r, l) = pair(8);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    // 70 000 round trips push both 16-bit indices through 65535 -> 0.
    for i in 0u32..70_000 {
        let n = 1 + (i % 8) as u16;
        for k in 0..n {
            drv.add(0x1000 * u64::from(k), 100 + u32::from(k), true)
                .unwrap();
        }
        assert_eq!(dev.pending().unwrap(), n);
        for k in 0..n {
            let b = dev.pop_avail().unwrap().unwrap();
            assert_eq!(b.desc.addr, 0x1000 * u64::from(k));
            assert_eq!(b.desc.flags, VRING_DESC_F_WRITE);
            assert_eq!(b.chain_len, 1);
            dev.push_used(b.head, k.into());
        }
        assert_eq!(dev.pop_avail().unwrap(), None);
        for k in 0..n {
            let u = drv.pop_used().unwrap().unwrap();
            assert_eq!(u.len, u32::from(k));
            assert_eq!(u.buf_len, 100 + u32::from(k));
        }
        assert_eq!(drv.pop_used().unwrap(), None);
        assert_eq!(drv.free_count(), 8);
    }
    let idx = r.shm().read_u16(l.avail_idx());
    assert_eq!(
        u32::from(idx),
        (0..70_000u32).map(|i| 1 + i % 8).sum::<u32>() % 65536
    );
}

#[test]
fn full_ring_and_suppression_flags() {
    let (r, l) = pair(4);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    for _ in 0..4 {
        drv.add(0, 16, false).unwrap();
    }
    assert_eq!(drv.add(0, 16, false), Err(VringError::Full));
    assert!(drv.kick_needed());
    dev.set_no_notify(true);
    assert!(!drv.kick_needed());
    dev.set_no_notify(false);
    assert!(drv.kick_needed());
    assert!(dev.needs_interrupt());
    drv.set_no_interrupt(true);
    assert!(!dev.needs_interrupt());
}

/// `n` buffers posted by the driver, taken, used and collected.
fn serve(drv: &mut DriverQueue<'_>, dev: &mut DeviceQueue<'_>, n: usize) {
    for _ in 0..n {
        drv.add(0, 16, true).unwrap();
        let b = dev.pop_avail().unwrap().unwrap();
        dev.push_used(b.head, 0);
        drv.pop_used().unwrap().unwrap();
    }
}

#[test]
fn reload_is_detected_through_used_idx() {
    let (r, l) = pair(8);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    serve(&mut drv, &mut dev, 5);
    // The driver reloads: zeroed ring, three new buffers. used.idx, which
    // only the device writes, is no longer the 5 the device published.
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    for _ in 0..3 {
        drv.add(0, 16, true).unwrap();
    }
    assert_eq!(
        dev.pop_avail(),
        Err(VringError::StaleIndex {
            what: RingIndex::Used,
            seen: 0,
            last: 5,
            num: 8
        })
    );
    // Re-attaching starts from the ring's own state and works.
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    assert_eq!(dev.pending().unwrap(), 3);
    assert!(dev.pop_avail().unwrap().is_some());
}

#[test]
fn reload_with_fewer_than_num_new_buffers_is_detected() {
    // Hostile case (a): the driver re-initialises the ring while the
    // device is not looking and posts more buffers than the device had
    // taken, but fewer than num beyond them: avail.idx 7 against the
    // device's 5 looks like two new buffers, and slot 5 would be taken
    // while Linux's buffers are in slots 0..7, then returned where Linux
    // expects slot 0.
    let (r, l) = pair(8);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    serve(&mut drv, &mut dev, 5);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    for _ in 0..7 {
        drv.add(0, 16, true).unwrap();
    }
    let stale = VringError::StaleIndex {
        what: RingIndex::Used,
        seen: 0,
        last: 5,
        num: 8,
    };
    assert_eq!(dev.pending(), Err(stale));
    assert_eq!(dev.pop_avail(), Err(stale));
    assert_eq!(r.shm().read_u16(l.used_idx()), 0, "nothing returned");
    // The driver sees nothing, and a device attaching afresh gets all 7.
    assert_eq!(drv.pop_used(), Ok(None));
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    assert_eq!(dev.pending(), Ok(7));
    for want in 0..7 {
        let b = dev.pop_avail().unwrap().unwrap();
        assert_eq!(b.head, want);
        dev.push_used(b.head, 16);
        assert_eq!(drv.pop_used().unwrap().unwrap().id, want);
    }
}

#[test]
fn hostile_driver_descriptors_are_rejected() {
    let (r, l) = pair(4);
    let drv = DriverQueue::init(r.shm(), l).unwrap();
    let ring = drv.raw_ring();
    let mut dev = DeviceQueue::attach(r.shm(), l).unwrap();
    let publish = |slot: u16, head: u16, idx: u16| {
        ring.write_u16(l.avail_ring(slot), head);
        ring.store_u16_release(l.avail_idx(), idx);
    };
    // Head index out of range.
    publish(0, 9, 1);
    assert_eq!(
        dev.pop_avail(),
        Err(VringError::BadDescriptor { index: 9, num: 4 })
    );
    // A loop 0 -> 1 -> 0.
    ring.write_u16(l.desc(0) + 12, VRING_DESC_F_NEXT);
    ring.write_u16(l.desc(0) + 14, 1);
    ring.write_u16(l.desc(1) + 12, VRING_DESC_F_NEXT);
    ring.write_u16(l.desc(1) + 14, 0);
    publish(1, 0, 2);
    assert_eq!(dev.pop_avail(), Err(VringError::Loop { head: 0, num: 4 }));
    // A chain whose `next` is out of range.
    ring.write_u16(l.desc(1) + 14, 77);
    publish(2, 0, 3);
    assert_eq!(
        dev.pop_avail(),
        Err(VringError::BadDescriptor { index: 77, num: 4 })
    );
    // Indirect descriptors were not negotiated.
    ring.write_u16(l.desc(2) + 12, VRING_DESC_F_INDIRECT);
    publish(3, 2, 4);
    assert_eq!(dev.pop_avail(), Err(VringError::Indirect(2)));
    // A valid two-descriptor chain is accepted, and each bad slot was
    // consumed so the ring did not wedge.
    ring.write_u16(l.desc(1) + 12, 0);
    publish(0, 0, 5);
    let b = dev.pop_avail().unwrap().unwrap();
    assert_eq!((b.head, b.chain_len), (0, 2));
    assert_eq!(dev.chain_desc(0, 1).unwrap().flags, 0);
    // An index that jumps by more than num.
    ring.store_u16_release(l.avail_idx(), 100);
    assert!(matches!(
        dev.pop_avail(),
        Err(VringError::StaleIndex { seen: 100, .. })
    ));
}

#[test]
fn hostile_device_used_entries_are_rejected() {
    let (r, l) = pair(4);
    let mut drv = DriverQueue::init(r.shm(), l).unwrap();
    let ring = drv.raw_ring();
    drv.add(0x100, 512, true).unwrap();
    // Used entry naming a descriptor that is out of range.
    ring.write_u32(l.used_ring(0), 1000);
    ring.store_u16_release(l.used_idx(), 1);
    assert_eq!(
        drv.pop_used(),
        Err(VringError::BadDescriptor {
            index: 1000,
            num: 4
        })
    );
    // ... or one that was never made available.
    ring.write_u32(l.used_ring(1), 3);
    ring.store_u16_release(l.used_idx(), 2);
    assert_eq!(drv.pop_used(), Err(VringError::NotInFlight(3)));
    // ... or a used index that jumps.
    ring.store_u16_release(l.used_idx(), 60);
    assert!(matches!(
        drv.pop_used(),
        Err(VringError::StaleIndex {
            what: RingIndex::Used,
            ..
        })
    ));
}

#[test]
fn event_index_fields_where_linux_puts_them() {
    // vring_used_event(vr) = vr->avail->ring[vr->num]
    // vring_avail_event(vr) = *(__virtio16 *)&vr->used->ring[vr->num]
    let l = VringLayout::new(64, 4096).unwrap();
    assert_eq!(l.used_event(), 1024 + 4 + 2 * 64);
    assert_eq!(l.avail_event(), 4096 + 4 + 8 * 64);
    assert_eq!(l.avail_event() + 2, l.size(), "the last field of the ring");
    let l = VringLayout::new(32768, 4096).unwrap();
    assert_eq!(l.avail_event() + 2, l.size());
}

#[test]
fn misaligned_ring_is_rejected() {
    let l = VringLayout::new(8, 16).unwrap();
    let r = OwnedRegion::new(l.size() + 16);
    for off in [2, 8] {
        let shm = r.shm().window(off, l.size()).unwrap();
        assert!(matches!(
            DeviceQueue::attach(shm, l),
            Err(VringError::Misaligned { .. })
        ));
        assert!(matches!(
            DriverQueue::init(shm, l),
            Err(VringError::Misaligned { .. })
        ));
    }
    let shm = r.shm().window(16, l.size()).unwrap();
    assert!(DeviceQueue::attach(shm, l).is_ok());
}

/// `Shm::copy_from` copies a whole region into another at an offset; when
/// a faulty peer makes the two overlap it goes byte by byte (never
/// `copy_nonoverlapping` on overlapping memory), and it never writes past
/// its destination.
#[test]
fn shm_copy_from_disjoint_overlapping_and_bounds() {
    let r = OwnedRegion::new(64);
    let shm = r.shm();
    for i in 0..64 {
        shm.write_u8(i, i as u8);
    }
    // Disjoint: 8..16 into 40..48.
    let (src, dst) = (shm.window(8, 8).unwrap(), shm.window(32, 32).unwrap());
    dst.copy_from(8, &src);
    let mut b = [0u8; 64];
    shm.read_bytes(0, &mut b);
    let want: Vec<u8> = (0..64)
        .map(|i| {
            if (40..48).contains(&i) {
                i as u8 - 32
            } else {
                i as u8
            }
        })
        .collect();
    assert_eq!(&b[..], &want[..]);
    // The same bytes (one buffer posted in both rings): unchanged.
    let same = shm.window(16, 8).unwrap();
    same.copy_from(0, &same);
    shm.read_bytes(0, &mut b);
    assert_eq!(&b[..], &want[..]);
    // Overlapping, destination after the source: a forward byte copy.
    let (src, dst) = (shm.window(0, 4).unwrap(), shm.window(2, 4).unwrap());
    dst.copy_from(0, &src);
    shm.read_bytes(0, &mut b);
    assert_eq!(&b[..6], &[0, 1, 0, 1, 0, 1]);
    assert_eq!(&b[6..], &want[6..]);
    // A source longer than the room left panics before writing anything.
    let big = shm.window(0, 9).unwrap();
    let small = shm.window(48, 16).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| small.copy_from(8, &big)));
    assert!(r.is_err(), "copy past the destination must panic");
    shm.read_bytes(0, &mut b);
    assert_eq!(&b[48..], &want[48..]);
}

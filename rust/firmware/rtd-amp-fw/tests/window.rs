//! A hostile driver against the firmware's RPMsg device role with the
//! firmware's real window configuration: the whole 16 MiB AMP window is
//! one region here (Linux can write all of it), the device sees only what
//! the firmware gives it (`Board::rpmsg_window`, as `Runtime::shared`),
//! and the image, stacks, trace and control page sit where the built ELF
//! and the board layout put them. Descriptors and vring addresses that
//! point at any of them are refused, and not one byte there changes.

mod common;

use amp_proto::rpmsg::{DriverLayout, RpmsgDevice, RpmsgDriver, RpmsgError, RPMSG_HDR_LEN};
use amp_proto::rsc::LiveVdev;
use amp_proto::shmem::{BusWindow, OwnedRegion, Shm};
use amp_proto::vring::VringLayout;
use rtd_amp_fw::{resource_table, Services, CHANNELS, VRING_ALIGN, VRING_NUM};
use rtd_amp_rt::board::{layout, Board, QEMU_VIRT, RTD1619B, WINDOW_SIZE};
use rtd_amp_rt::ctrl;

/// The AMP window, the firmware's resource table and both roles over them.
struct Amp {
    board: Board,
    window: OwnedRegion,
    table: OwnedRegion,
}

impl Amp {
    fn new(board: Board) -> Self {
        let bytes = resource_table(&board).finish();
        let table = OwnedRegion::new(bytes.len());
        table.shm().write_bytes(0, &bytes);
        Amp {
            board,
            window: OwnedRegion::new(WINDOW_SIZE as usize),
            table,
        }
    }

    fn vdev(&self) -> LiveVdev<'_> {
        LiveVdev::find(self.table.shm(), 0).unwrap()
    }

    /// Linux's view: the whole window.
    fn linux(&self) -> BusWindow<'_> {
        BusWindow::new(self.window.shm(), self.board.window)
    }

    /// The device role's window, derived as the firmware derives it.
    fn device(&self) -> BusWindow<'_> {
        let (base, size) = self.board.rpmsg_window();
        let shm = self
            .window
            .shm()
            .window((base - self.board.window) as usize, size as usize)
            .unwrap();
        BusWindow::new(shm, base)
    }

    fn off(&self, bus: u64) -> usize {
        (bus - self.board.window) as usize
    }

    fn shm(&self) -> Shm<'_> {
        self.window.shm()
    }
}

/// Where Linux puts the rings and buffers (the DT carveouts).
fn linux_layout(b: &Board) -> DriverLayout {
    DriverLayout {
        vrings: [b.at(layout::VRING0), b.at(layout::VRING1)],
        buffers: b.at(layout::BUFFERS),
    }
}

/// The firmware's own memory a descriptor must never reach: (what, bus
/// address), from the built ELF's symbols and the board layout.
fn targets(b: &Board) -> Vec<(&'static str, u64)> {
    let img = common::image(b);
    // The carveouts as the device tree declares them (not the firmware's
    // window, which is what is under test).
    let (rings, end) = (
        b.at(layout::VRING0),
        b.at(layout::BUFFERS + layout::BUFFERS_SIZE),
    );
    vec![
        ("image: code", img.text.start),
        ("image: boot code at the entry", b.window),
        ("image: rodata", img.rodata.start),
        ("image: resource table and data", img.data.start),
        ("image: bss (page tables)", img.data.end - 0x1000),
        ("stack: bottom", img.stack.start),
        ("stack: top", img.stack.end - 0x200),
        ("exception stack", img.exc_stack.start),
        ("trace", b.at(layout::TRACE)),
        (
            "trace: last page",
            b.at(layout::TRACE) + layout::TRACE_SIZE - 0x1000,
        ),
        ("control page", b.at(layout::CTRL)),
        ("straddling the window's start", rings - 8),
        ("straddling the window's end", end - 8),
        ("past the window", end),
    ]
}

/// The bytes of a target that are watched: 512 (a whole RPMsg buffer),
/// but never into the vrings (a target just below them).
fn watched(amp: &Amp, a: u64) -> std::ops::Range<usize> {
    let base = amp.board.at(layout::VRING0);
    let end = if a < base {
        (a + 0x200).min(base)
    } else {
        a + 0x200
    };
    amp.off(a)..amp.off(end)
}

/// Fills every target with a pattern, so a write shows.
fn paint(amp: &Amp, targets: &[(&str, u64)]) {
    for &(_, a) in targets {
        let r = watched(amp, a);
        amp.shm().fill(r.start, r.len(), 0xA5);
    }
}

fn painted(amp: &Amp, targets: &[(&str, u64)]) -> Vec<Vec<u8>> {
    targets
        .iter()
        .map(|&(_, a)| {
            let r = watched(amp, a);
            let mut v = vec![0u8; r.len()];
            amp.shm().read_bytes(r.start, &mut v);
            v
        })
        .collect()
}

fn ring_layout() -> VringLayout {
    VringLayout::new(VRING_NUM, VRING_ALIGN).unwrap()
}

/// The descriptor Linux posted last on vring `i` (its avail ring's newest
/// entry), as an offset in the AMP window.
fn last_posted_desc(amp: &Amp, i: usize) -> usize {
    let l = ring_layout();
    let ring = amp.off(linux_layout(&amp.board).vrings[i]);
    let idx = amp.shm().read_u16(ring + l.avail_idx());
    let slot = idx.wrapping_sub(1) % l.num();
    let head = amp.shm().read_u16(ring + l.avail_ring(slot));
    ring + l.desc(head)
}

fn for_both_boards(f: impl Fn(Board)) {
    for b in [QEMU_VIRT, RTD1619B] {
        f(b);
    }
}

#[test]
fn descriptors_into_the_firmware_are_refused() {
    for_both_boards(|b| {
        let amp = Amp::new(b);
        let (mut drv, _) = RpmsgDriver::probe(amp.vdev(), amp.linux(), linux_layout(&b)).unwrap();
        let mut dev = RpmsgDevice::<'_, 4>::new(amp.vdev(), amp.device());
        for (name, addr) in CHANNELS {
            dev.create_endpoint(name, Some(addr)).unwrap();
        }
        let mut services = Services::new();
        let mut poll = |dev: &mut RpmsgDevice<'_, 4>| {
            let mut delivered = vec![];
            let r = dev.poll(&mut |_| {}, |tx, m| {
                let mut buf = [0u8; 512];
                let n = m.copy_to(&mut buf);
                delivered.push(buf[..n].to_vec());
                services.handle(tx, m, 0, 0);
            });
            (r, delivered)
        };
        // Announcements out, then a clean echo: the rings work.
        poll(&mut dev).0.unwrap();
        let mut out = [0u8; 512];
        while drv.recv(&mut out).unwrap().is_some() {}
        drv.try_send(0x401, 1024, b"clean").unwrap();
        assert_eq!(poll(&mut dev).1, [b"clean".to_vec()]);
        assert!(drv.recv(&mut out).unwrap().is_some());

        let targets = targets(&b);
        paint(&amp, &targets);
        // The firmware's memory holds what looks like a message to the echo
        // service, so a device that followed the descriptor would deliver it.
        for &(_, a) in &targets {
            let off = amp.off(a);
            let mut hdr = [0u8; RPMSG_HDR_LEN];
            hdr[0..4].copy_from_slice(&0x401u32.to_le_bytes());
            hdr[4..8].copy_from_slice(&1024u32.to_le_bytes());
            hdr[12..14].copy_from_slice(&4u16.to_le_bytes());
            amp.shm().write_bytes(off, &hdr);
            amp.shm().write_bytes(off + RPMSG_HDR_LEN, b"evil");
        }
        let before = painted(&amp, &targets);

        // Inbound (vring1): Linux's TX descriptor rewritten to point at the
        // firmware. Nothing is delivered, the error is counted, the slot
        // is returned, and nothing in the firmware's memory changes.
        for &(what, a) in &targets {
            let errors = dev.stats().errors;
            drv.try_send(0x401, 1024, b"legit").unwrap();
            let d = last_posted_desc(&amp, 1);
            amp.shm().write_u64(d, a);
            let (r, delivered) = poll(&mut dev);
            assert!(r.is_ok(), "{}: {what}: {r:?}", b.name);
            assert!(
                delivered.is_empty(),
                "{}: {what}: delivered {delivered:?}",
                b.name
            );
            assert_eq!(dev.stats().errors, errors + 1, "{}: {what}", b.name);
            assert!(
                drv.recv(&mut out).unwrap().is_none(),
                "{}: {what}: no echo",
                b.name
            );
        }
        assert_eq!(painted(&amp, &targets), before, "{}: inbound wrote", b.name);

        // Outbound (vring0): Linux's RX buffers pointed at the firmware.
        // The reply is refused as out of the window and writes nothing.
        for &(what, a) in &targets {
            // Every posted RX buffer points there, so whichever one the
            // device takes next is hostile.
            let l = ring_layout();
            let ring0 = amp.off(linux_layout(&b).vrings[0]);
            let mut saved_all = vec![];
            for i in 0..l.num() {
                saved_all.push(amp.shm().read_u64(ring0 + l.desc(i)));
                amp.shm().write_u64(ring0 + l.desc(i), a);
            }
            let r = dev
                .sender(&mut |_| {})
                .unwrap()
                .try_send(1024, 0x401, b"reply");
            assert!(
                matches!(r, Err(RpmsgError::OutOfWindow { .. })),
                "{}: {what}: {r:?}",
                b.name
            );
            for (i, v) in saved_all.into_iter().enumerate() {
                amp.shm().write_u64(ring0 + l.desc(i as u16), v);
            }
        }
        assert_eq!(
            painted(&amp, &targets),
            before,
            "{}: outbound wrote",
            b.name
        );
    });
}

#[test]
fn vrings_placed_in_the_firmware_are_refused() {
    for_both_boards(|b| {
        let targets = targets(&b);
        for &(what, a) in &targets {
            for ring in 0..2 {
                let amp = Amp::new(b);
                let (_drv, _) =
                    RpmsgDriver::probe(amp.vdev(), amp.linux(), linux_layout(&b)).unwrap();
                paint(&amp, &targets);
                let before = painted(&amp, &targets);
                // Linux (or whoever rewrites the table) says the ring is
                // there; DRIVER_OK is already set.
                amp.vdev().set_vring(ring, a as u32, ring as u32);
                let mut dev = RpmsgDevice::<'_, 4>::new(amp.vdev(), amp.device());
                dev.create_endpoint("rpmsg-raw", Some(1024)).unwrap();
                let r = dev.poll(&mut |_| {}, |_, _| {});
                assert!(
                    matches!(r, Err(RpmsgError::OutOfWindow { what: "vring", .. })),
                    "{}: vring{ring} at {what}: {r:?}",
                    b.name
                );
                assert!(!dev.is_ready());
                assert_eq!(painted(&amp, &targets), before, "{}: {what}", b.name);
            }
        }
    });
}

#[test]
fn the_window_is_the_vrings_and_buffers_only() {
    for_both_boards(|b| {
        let (base, size) = b.rpmsg_window();
        assert_eq!(base, b.at(layout::VRING0));
        assert_eq!(base + size, b.at(layout::BUFFERS + layout::BUFFERS_SIZE));
        let img = common::image(&b);
        let fw = b.window..b.window + layout::FIRMWARE_SIZE;
        let ctrl_page = b.at(layout::CTRL)..b.at(layout::CTRL) + ctrl::SIZE as u64;
        for r in [fw, img.stack, ctrl_page] {
            assert!(
                r.end <= base || base + size <= r.start,
                "{}: {r:x?}",
                b.name
            );
        }
        // Linux's real allocation fits: both rings and 2 × 64 buffers.
        let amp = Amp::new(b);
        let dev = amp.device();
        let l = ring_layout();
        for v in linux_layout(&b).vrings {
            assert!(dev.map(v, l.size()).is_some());
        }
        assert!(dev
            .map(b.at(layout::BUFFERS), layout::BUFFERS_SIZE as usize)
            .is_some());
    });
}

//! The firmware's RPMsg path, in process: its resource table, endpoints and
//! services (device role) against the protocol core's model of Linux
//! (driver role) over one shared window.

use amp_control::{Request, Response};
use amp_proto::rpmsg::{RpmsgDevice, RpmsgDriver, RPMSG_NS_ADDR};
use amp_proto::sim::SimVdev;
use rtd_amp_fw::{resource_table, Services, CHANNELS};
use rtd_amp_rt::board::QEMU_VIRT;

struct Fw<'a> {
    dev: RpmsgDevice<'a, 4>,
    services: Services,
}

impl Fw<'_> {
    fn poll(&mut self) -> Option<amp_control::FaultKind> {
        let mut fault = None;
        let services = &mut self.services;
        self.dev
            .poll(&mut |_| {}, |tx, m| {
                if let Some(k) = services.handle(tx, m, 1234, 0) {
                    fault = Some(k);
                }
            })
            .unwrap();
        fault
    }
}

fn setup(sim: &SimVdev) -> (RpmsgDriver<'_>, Fw<'_>) {
    let (drv, _) = RpmsgDriver::probe(sim.vdev(), sim.bus(), sim.layout()).unwrap();
    let mut dev = RpmsgDevice::new(sim.vdev(), sim.bus());
    for (name, addr) in CHANNELS {
        dev.create_endpoint(name, Some(addr)).unwrap();
    }
    (
        drv,
        Fw {
            dev,
            services: Services::new(),
        },
    )
}

fn recv(drv: &mut RpmsgDriver<'_>) -> (u32, u32, Vec<u8>) {
    let mut out = [0u8; 512];
    let (m, _) = drv.recv(&mut out).unwrap().expect("a message");
    (m.src, m.dst, out[..m.len].to_vec())
}

#[test]
fn announces_its_three_channels() {
    let sim = SimVdev::new(&resource_table(&QEMU_VIRT).finish(), 64, 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    fw.poll();
    for (name, addr) in CHANNELS {
        let (src, dst, body) = recv(&mut drv);
        assert_eq!((src, dst), (addr, RPMSG_NS_ADDR));
        assert_eq!(&body[..name.len()], name.as_bytes());
        assert_eq!(body[name.len()], 0);
    }
}

#[test]
fn echo_tty_and_control() {
    let sim = SimVdev::new(&resource_table(&QEMU_VIRT).finish(), 64, 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    fw.poll();
    for _ in 0..3 {
        recv(&mut drv);
    }
    // Echo, every size.
    for len in 0..=496usize {
        let data: Vec<u8> = (0..len).map(|i| (i * 3 + len) as u8).collect();
        drv.try_send(0x401, 1024, &data).unwrap();
        assert_eq!(fw.poll(), None);
        assert_eq!(recv(&mut drv), (1024, 0x401, data));
    }
    // TTY: lines come back prefixed, split writes are joined.
    drv.try_send(0x402, 1025, b"hel").unwrap();
    fw.poll();
    assert!(drv.recv(&mut [0u8; 512]).unwrap().is_none(), "no line yet");
    drv.try_send(0x402, 1025, b"lo\nsecond\n").unwrap();
    fw.poll();
    assert_eq!(recv(&mut drv), (1025, 0x402, b"fw: hello\n".to_vec()));
    assert_eq!(recv(&mut drv), (1025, 0x402, b"fw: second\n".to_vec()));
    // Control: ping and stats from an endpoint Linux created (any src).
    let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
    let n = Request::Ping { nonce: 0xfeed }.encode(7, &mut buf).unwrap();
    drv.try_send(0x4000, 1026, &buf[..n]).unwrap();
    fw.poll();
    let (src, dst, body) = recv(&mut drv);
    assert_eq!((src, dst), (1026, 0x4000));
    let (tag, resp) = Response::decode(&body).unwrap();
    assert_eq!(tag, 7);
    assert_eq!(resp, Response::Pong { nonce: 0xfeed });
    let n = Request::Stats.encode(8, &mut buf).unwrap();
    drv.try_send(0x4000, 1026, &buf[..n]).unwrap();
    fw.poll();
    let (_, _, body) = recv(&mut drv);
    match Response::decode(&body).unwrap().1 {
        Response::Stats(s) => {
            assert_eq!(s.messages, 497 + 2 + 2);
            assert_eq!(s.uptime_ms, 1234);
        }
        other => panic!("{other:?}"),
    }
    // Fault (a debug/test build): answered, then the firmware is told to
    // fault.
    fw.services.fault_enabled = true;
    let n = Request::Fault {
        kind: amp_control::FaultKind::DataAbort,
    }
    .encode(9, &mut buf)
    .unwrap();
    drv.try_send(0x4000, 1026, &buf[..n]).unwrap();
    assert_eq!(fw.poll(), Some(amp_control::FaultKind::DataAbort));
    let (_, _, body) = recv(&mut drv);
    assert_eq!(Response::decode(&body).unwrap().0, 9);
}

fn ready(table: &[u8], bus: u64) -> SimVdev {
    SimVdev::new(table, 64, bus)
}

fn drain_announcements(drv: &mut RpmsgDriver<'_>, fw: &mut Fw<'_>) {
    fw.poll();
    for _ in 0..CHANNELS.len() {
        let (_, dst, _) = recv(drv);
        assert_eq!(dst, RPMSG_NS_ADDR);
    }
}

fn control(drv: &mut RpmsgDriver<'_>, fw: &mut Fw<'_>, req: Request, tag: u32) -> Response {
    let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
    let n = req.encode(tag, &mut buf).unwrap();
    drv.try_send(0x4001, 1026, &buf[..n]).unwrap();
    fw.poll();
    let (src, dst, body) = recv(drv);
    assert_eq!((src, dst), (1026, 0x4001));
    let (t, resp) = Response::decode(&body).unwrap();
    assert_eq!(t, tag);
    resp
}

#[test]
fn tty_splits_long_lines_and_answers_each_line() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    // Three lines in one message: three replies, in order.
    drv.try_send(0x402, 1025, b"a\nbb\nccc\n").unwrap();
    fw.poll();
    for want in [&b"fw: a\n"[..], b"fw: bb\n", b"fw: ccc\n"] {
        assert_eq!(recv(&mut drv), (1025, 0x402, want.to_vec()));
    }
    // A full payload without a newline: the first 492 bytes leave as one
    // piece (prefix + 492 = 496, the largest payload), the rest waits.
    let long: Vec<u8> = (0..496).map(|i| b'a' + (i % 26) as u8).collect();
    drv.try_send(0x402, 1025, &long).unwrap();
    fw.poll();
    let (_, _, body) = recv(&mut drv);
    assert_eq!(body.len(), 496);
    assert_eq!(&body[..4], b"fw: ");
    assert_eq!(&body[4..], &long[..492]);
    assert!(drv.recv(&mut [0u8; 512]).unwrap().is_none());
    drv.try_send(0x402, 1025, b"\n").unwrap();
    fw.poll();
    let mut tail = b"fw: ".to_vec();
    tail.extend_from_slice(&long[492..]);
    tail.push(b'\n');
    assert_eq!(recv(&mut drv), (1025, 0x402, tail));
}

#[test]
fn any_source_gets_answers_and_unknown_addresses_are_dropped() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    // Linux-created endpoints get any address from 1024 up.
    for src in [1024u32, 0x1234, 0xFFFF_FFFE] {
        drv.try_send(src, 1024, b"hi").unwrap();
        fw.poll();
        assert_eq!(recv(&mut drv), (1024, src, b"hi".to_vec()));
    }
    // Nothing listens at 1030: the buffer is returned, no reply, no fault.
    drv.try_send(0x500, 1030, b"lost").unwrap();
    assert_eq!(fw.poll(), None);
    assert!(drv.recv(&mut [0u8; 512]).unwrap().is_none());
    assert_eq!(fw.dev.stats().errors, 1, "counted by the RPMsg layer");
    // An empty control message is answered with an error, not dropped.
    drv.try_send(0x501, 1026, b"").unwrap();
    fw.poll();
    let (_, dst, body) = recv(&mut drv);
    assert_eq!(dst, 0x501);
    assert!(matches!(
        Response::decode(&body).unwrap().1,
        Response::Error { .. }
    ));
}

#[test]
fn version_names_the_firmware_and_the_board() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    match control(&mut drv, &mut fw, Request::Version, 1) {
        Response::Version(v) => {
            assert_eq!(v.protocol, u16::from(amp_control::PROTOCOL_VERSION));
            let text = |b: &[u8]| {
                String::from_utf8(b.iter().copied().take_while(|&c| c != 0).collect()).unwrap()
            };
            assert_eq!(
                text(&v.firmware),
                format!("rtd-amp-fw {}", env!("CARGO_PKG_VERSION"))
            );
            // Host tests build the default board.
            assert_eq!(text(&v.board), "qemu-virt");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn replies_that_find_no_buffer_are_counted_as_errors() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    // Linux posts 64 RX buffers; it reads none while sending 70 messages
    // (in batches, as its own TX buffers come back).
    let mut sent = 0;
    while sent < 70 {
        match drv.try_send(0x401, 1024, &[sent as u8; 8]) {
            Ok(_) => sent += 1,
            Err(_) => {
                fw.poll();
            }
        }
        if sent % 32 == 0 {
            fw.poll();
        }
    }
    fw.poll();
    assert_eq!(fw.services.messages, 70);
    assert_eq!(fw.services.errors, 6, "64 replies fit, 6 did not");
    for i in 0..64u8 {
        assert_eq!(recv(&mut drv), (1024, 0x401, vec![i; 8]));
    }
    match control(&mut drv, &mut fw, Request::Stats, 2) {
        Response::Stats(s) => {
            assert_eq!(s.messages, 71);
            assert_eq!(s.bytes, 70 * 8 + 8);
            assert_eq!(s.errors, 6);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reset_during_a_reply_is_not_a_service_error() {
    // Linux removes and probes the vdev again while the firmware answers a
    // STATS request: the reply fails as a reset, the device resets (and
    // announces again on the next poll), and STATS counts no error.
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (drv, mut fw) = setup(&sim);
    let mut drv = Some(drv);
    drain_announcements(drv.as_mut().unwrap(), &mut fw);
    let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
    let n = Request::Stats.encode(1, &mut buf).unwrap();
    drv.as_mut()
        .unwrap()
        .try_send(0x4001, 1026, &buf[..n])
        .unwrap();
    let services = &mut fw.services;
    let r = fw.dev.poll(&mut |_| {}, |tx, m| {
        drv.take().unwrap().reset();
        drv = Some(
            RpmsgDriver::probe(sim.vdev(), sim.bus(), sim.layout())
                .unwrap()
                .0,
        );
        assert_eq!(services.handle(tx, m, 1234, 0), None);
    });
    assert!(r.is_err_and(|e| e.is_reset()), "{r:?}");
    assert_eq!(fw.services.errors, 0, "a reset is not a service error");
    assert_eq!((fw.dev.stats().resets, fw.dev.stats().errors), (1, 0));
    let mut drv = drv.unwrap();
    drain_announcements(&mut drv, &mut fw);
    match control(&mut drv, &mut fw, Request::Stats, 2) {
        Response::Stats(s) => assert_eq!((s.messages, s.errors), (2, 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rtd1619b_table_serves_the_same_way() {
    let sim = ready(
        &resource_table(&rtd_amp_rt::board::RTD1619B).finish(),
        0x3240_0000,
    );
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    drv.try_send(0x401, 1024, b"board").unwrap();
    fw.poll();
    assert_eq!(recv(&mut drv), (1024, 0x401, b"board".to_vec()));
}

#[test]
fn a_reloaded_driver_gets_the_announcements_again() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    drv.try_send(0x401, 1024, b"before").unwrap();
    fw.poll();
    recv(&mut drv);
    // Linux resets the virtio device (status 0), then probes it again with
    // fresh, zeroed rings: the firmware must follow and announce again.
    drv.reset();
    fw.poll();
    assert!(!fw.dev.is_ready());
    let (mut drv, _) = RpmsgDriver::probe(sim.vdev(), sim.bus(), sim.layout()).unwrap();
    drain_announcements(&mut drv, &mut fw);
    drv.try_send(0x401, 1024, b"after").unwrap();
    fw.poll();
    assert_eq!(recv(&mut drv), (1024, 0x401, b"after".to_vec()));
}

#[test]
fn fault_kinds_reach_the_firmware_after_the_reply() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    fw.services.fault_enabled = true;
    for (tag, kind) in amp_control::FaultKind::ALL.into_iter().enumerate() {
        let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
        let n = Request::Fault { kind }
            .encode(tag as u32, &mut buf)
            .unwrap();
        drv.try_send(0x4000, 1026, &buf[..n]).unwrap();
        assert_eq!(fw.poll(), Some(kind));
        let (_, _, body) = recv(&mut drv);
        assert_eq!(
            Response::decode(&body).unwrap(),
            (tag as u32, Response::FaultAck { kind })
        );
    }
    // A production build: every kind answered "not supported", no fault,
    // and the firmware goes on serving.
    fw.services.fault_enabled = false;
    for (tag, kind) in amp_control::FaultKind::ALL.into_iter().enumerate() {
        let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
        let n = Request::Fault { kind }
            .encode(100 + tag as u32, &mut buf)
            .unwrap();
        drv.try_send(0x4000, 1026, &buf[..n]).unwrap();
        assert_eq!(fw.poll(), None, "{kind}: no fault");
        let (_, _, body) = recv(&mut drv);
        assert_eq!(
            Response::decode(&body).unwrap(),
            (
                100 + tag as u32,
                Response::Error {
                    code: amp_control::ErrorCode::Unsupported,
                    opcode: amp_control::op::FAULT
                }
            ),
            "{kind}"
        );
    }
    drv.try_send(0x401, 1024, b"still here").unwrap();
    assert_eq!(fw.poll(), None);
    assert_eq!(recv(&mut drv), (1024, 0x401, b"still here".to_vec()));
}

/// Production is the default build: the features cargo builds without
/// arguments leave fault injection out, and so does `Services::new()` then.
#[test]
fn production_build_is_the_default() {
    let manifest = include_str!("../Cargo.toml");
    let default = manifest
        .lines()
        .find(|l| l.starts_with("default = "))
        .expect("a default feature list");
    assert!(!default.contains("fault-injection"), "{default}");
    assert_eq!(
        Services::new().fault_enabled,
        cfg!(feature = "fault-injection")
    );
}

/// The self-test hardware of a test: a fixed stamp and latencies.
struct FakeHw;

impl rtd_amp_fw::SelftestHw for FakeHw {
    fn info(&self) -> amp_control::SelftestInfo {
        amp_control::SelftestInfo {
            entry_el: 1,
            doorbell_sgi: 7,
            doorbell_spi: 152,
            psci_conduit: amp_control::CONDUIT_HVC,
            cntfrq: 62_500_000,
            entry_cntpct: 100,
            now_cntpct: 200,
            window: 0x7000_0000,
            sgis_received: 3,
            spis_raised: 4,
        }
    }
    fn cntfrq(&self) -> u64 {
        62_500_000
    }
    fn timer_latency(&self, period: u64, out: &mut [u64]) -> u32 {
        // 100 us at 62.5 MHz.
        assert_eq!(period, 62 * 100);
        let fake = [5, 1, 4, u64::MAX, 2];
        out.copy_from_slice(&fake[..out.len()]);
        1
    }
}

#[test]
fn selftest_commands_through_the_rings() {
    let sim = ready(&resource_table(&QEMU_VIRT).finish(), 0x7040_0000);
    let (mut drv, mut fw) = setup(&sim);
    drain_announcements(&mut drv, &mut fw);
    let ask = |drv: &mut RpmsgDriver<'_>, fw: &mut Fw<'_>, req: Request, hw: bool| {
        let mut buf = [0u8; amp_control::MAX_MESSAGE_LEN];
        let n = req.encode(9, &mut buf).unwrap();
        drv.try_send(0x4001, 1026, &buf[..n]).unwrap();
        let services = &mut fw.services;
        fw.dev
            .poll(&mut |_| {}, |tx, m| {
                let h: Option<&dyn rtd_amp_fw::SelftestHw> = if hw { Some(&FakeHw) } else { None };
                assert_eq!(services.handle_with(tx, m, 0, 0, h), None);
            })
            .unwrap();
        let (_, _, body) = recv(drv);
        Response::decode(&body).unwrap().1
    };
    assert_eq!(
        ask(&mut drv, &mut fw, Request::SelftestInfo, true),
        Response::SelftestInfo(rtd_amp_fw::SelftestHw::info(&FakeHw))
    );
    // Without the hardware (a host build): not supported, not a crash.
    assert_eq!(
        ask(&mut drv, &mut fw, Request::SelftestInfo, false),
        Response::Error {
            code: amp_control::ErrorCode::Unsupported,
            opcode: 0x10
        }
    );
    // The pattern crosses the buffer pool both ways intact.
    let mut p = [0u8; amp_control::SHM_PATTERN_LEN];
    amp_control::pattern(77, &mut p);
    match ask(
        &mut drv,
        &mut fw,
        Request::SelftestShm {
            seed: 77,
            pattern: p,
        },
        false,
    ) {
        Response::SelftestShm(r) => {
            assert_eq!((r.mismatches, r.first_bad), (0, amp_control::NO_MISMATCH));
            assert_eq!(
                amp_control::check_pattern(r.seed, &r.pattern),
                (0, amp_control::NO_MISMATCH)
            );
        }
        other => panic!("{other:?}"),
    }
    // Five interrupts, one never came: four measured, sorted 1 2 4 5.
    assert_eq!(
        ask(
            &mut drv,
            &mut fw,
            Request::SelftestTimer {
                count: 5,
                period_us: 100
            },
            true
        ),
        Response::SelftestTimer(amp_control::TimerLatency {
            count: 4,
            lost: 1,
            cntfrq: 62_500_000,
            min: 1,
            p50: 2,
            p99: 5,
            max: 5
        })
    );
}

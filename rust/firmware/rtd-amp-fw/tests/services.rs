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
    // Fault: answered, then the firmware is told to fault.
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

//! The control page shared with Linux's remoteproc driver (layout in
//! `docs/kernel.md`): firmware state, stop request, crash record, the
//! doorbell ping and the service-time statistics.

use amp_proto::shmem::Shm;
// The layout is written once, in the `amp-ctrl-page` crate (it also
// generates the driver's C header and the table in docs/kernel.md).
pub use amp_ctrl_page::{
    CRASH_MSG_LEN as MSG_LEN, LAYOUT_VERSION as VERSION, MAGIC_VALUE as MAGIC, OFF_PINGS,
    OFF_PING_ACK, OFF_PING_SEQ, OFF_SVC_COUNT, OFF_SVC_HIST, OFF_SVC_MAX, OFF_SVC_SUM, SIZE,
    STOP_VALUE as STOP, SVC_BINS,
};
use amp_ctrl_page::{
    OFF_CRASH_SEQ, OFF_FW_STATE as OFF_STATE, OFF_MAGIC, OFF_RSC_ADDR, OFF_RSC_SIZE, OFF_RUN_CNT,
    OFF_RUN_FRQ, OFF_STOP_REQ as OFF_STOP, OFF_VERSION, OFF_VIRTIO_RESETS,
};

/// Histogram bin of a service time of `ns` nanoseconds: bin 0 below
/// 256 ns, then four bins per power of two (each 1/4 of its octave wide,
/// at most 25 % of its lower bound), the last bin open-ended (from
/// 786 432 ns). [`svc_bin_low`] is the inverse.
pub const fn svc_bin(ns: u64) -> usize {
    if ns < 256 {
        return 0;
    }
    let e = 63 - ns.leading_zeros() as usize;
    let sub = ((ns >> (e - 2)) & 3) as usize;
    let b = 4 * (e - 8) + sub + 1;
    if b < SVC_BINS {
        b
    } else {
        SVC_BINS - 1
    }
}

/// Lower bound (ns) of histogram bin `b`.
pub const fn svc_bin_low(b: usize) -> u64 {
    if b == 0 {
        return 0;
    }
    let e = 8 + (b - 1) / 4;
    let sub = ((b - 1) % 4) as u64;
    (4 + sub) << (e - 2)
}

/// Firmware state as Linux reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    /// Not running (Linux zeroed the page).
    Off = amp_ctrl_page::STATE_OFF,
    /// Initialising.
    Booting = amp_ctrl_page::STATE_BOOTING,
    /// Serving.
    Running = amp_ctrl_page::STATE_RUNNING,
    /// A crash record is in the page.
    Crashed = amp_ctrl_page::STATE_CRASHED,
    /// Acknowledged a stop request; about to call PSCI CPU_OFF.
    Stopping = amp_ctrl_page::STATE_STOPPING,
}

/// Kind of a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum CrashKind {
    /// Synchronous exception.
    Sync = amp_ctrl_page::CRASH_KIND_SYNC,
    /// Unexpected IRQ vector.
    Irq = amp_ctrl_page::CRASH_KIND_IRQ,
    /// Unexpected FIQ vector.
    Fiq = amp_ctrl_page::CRASH_KIND_FIQ,
    /// SError.
    SError = amp_ctrl_page::CRASH_KIND_SERROR,
    /// Rust panic.
    Panic = amp_ctrl_page::CRASH_KIND_PANIC,
}

/// What a crash record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashRecord {
    /// Kind.
    pub kind: CrashKind,
    /// ESR_EL1.
    pub esr: u64,
    /// ELR_EL1 (faulting instruction).
    pub elr: u64,
    /// FAR_EL1 (faulting address).
    pub far: u64,
    /// SPSR_EL1.
    pub spsr: u64,
    /// Stack pointer at the exception.
    pub sp: u64,
    /// x0..x7 at the exception.
    pub x: [u64; 8],
}

/// The page.
#[derive(Clone, Copy, Debug)]
pub struct ControlPage<'a>(Shm<'a>);

impl<'a> ControlPage<'a> {
    /// Wraps the page; `None` if smaller than [`SIZE`].
    pub fn new(shm: Shm<'a>) -> Option<Self> {
        (shm.len() >= SIZE).then_some(ControlPage(shm))
    }

    /// Marks the page as this firmware's, booting.
    pub fn init(&self) {
        self.0.write_u32(OFF_MAGIC, MAGIC);
        self.0.write_u32(OFF_VERSION, VERSION);
        self.set_state(State::Booting);
    }

    /// Publishes what Linux needs to attach to this firmware later
    /// (layout version 2): when it started serving (`CNTPCT_EL0` and
    /// `CNTFRQ_EL0`, so Linux and `ampctl` can tell the uptime went on).
    pub fn publish_run_stamp(&self, cntpct: u64, cntfrq: u64) {
        self.0.write_u64(OFF_RUN_CNT, cntpct);
        self.0.write_u64(OFF_RUN_FRQ, cntfrq);
    }

    /// Publishes the loaded resource table (physical address and size):
    /// the driver checks both against its carveouts before it attaches.
    pub fn publish_resource_table(&self, addr: u64, len: u32) {
        self.0.write_u64(OFF_RSC_ADDR, addr);
        amp_proto::shmem::full_barrier();
        self.0.write_u32(OFF_RSC_SIZE, len);
    }

    /// Publishes how many times Linux re-initialised virtio.
    pub fn publish_virtio_resets(&self, n: u32) {
        self.0.write_u32(OFF_VIRTIO_RESETS, n);
    }

    /// Publishes a state.
    pub fn set_state(&self, s: State) {
        amp_proto::shmem::full_barrier();
        self.0.write_u32(OFF_STATE, s as u32);
    }

    /// The state as written.
    pub fn state(&self) -> u32 {
        self.0.read_u32(OFF_STATE)
    }

    /// Whether Linux asked for a stop.
    pub fn stop_requested(&self) -> bool {
        self.0.read_u32(OFF_STOP) == STOP
    }

    /// The sequence number of a ping Linux is waiting for, if any.
    pub fn ping_pending(&self) -> Option<u32> {
        let seq = self.0.read_u32(OFF_PING_SEQ);
        (seq != self.0.read_u32(OFF_PING_ACK)).then_some(seq)
    }

    /// Answers ping `seq` (the caller rings Linux afterwards).
    pub fn ack_ping(&self, seq: u32) {
        self.0.write_u32(OFF_PING_ACK, seq);
        let n = self.0.read_u32(OFF_PINGS);
        self.0.write_u32(OFF_PINGS, n.wrapping_add(1));
    }

    /// Adds one service time (ns) to the statistics: count, sum, max and
    /// its histogram bin. Counters wrap; Linux reads differences.
    pub fn record_service(&self, ns: u64) {
        let ns32 = u32::try_from(ns).unwrap_or(u32::MAX);
        let count = self.0.read_u32(OFF_SVC_COUNT);
        self.0.write_u32(OFF_SVC_COUNT, count.wrapping_add(1));
        let sum = self.0.read_u64(OFF_SVC_SUM);
        self.0.write_u64(OFF_SVC_SUM, sum.wrapping_add(ns));
        if ns32 > self.0.read_u32(OFF_SVC_MAX) {
            self.0.write_u32(OFF_SVC_MAX, ns32);
        }
        let at = OFF_SVC_HIST + 2 * svc_bin(ns);
        self.0.write_u16(at, self.0.read_u16(at).wrapping_add(1));
    }

    /// Crash sequence number.
    pub fn crash_seq(&self) -> u32 {
        self.0.read_u32(OFF_CRASH_SEQ)
    }

    /// Writes a crash record and its message, bumps the sequence number and
    /// only then says `Crashed`, so Linux never reads half a record.
    pub fn record_crash(&self, r: &CrashRecord, msg: &[u8]) {
        use amp_ctrl_page::{
            OFF_CRASH_ELR, OFF_CRASH_ESR, OFF_CRASH_FAR, OFF_CRASH_KIND, OFF_CRASH_MSG,
            OFF_CRASH_SP, OFF_CRASH_SPSR, OFF_CRASH_X0,
        };
        self.0.write_u32(OFF_CRASH_KIND, r.kind as u32);
        self.0.write_u32(OFF_CRASH_KIND + 4, 0);
        for (at, v) in [
            (OFF_CRASH_ESR, r.esr),
            (OFF_CRASH_ELR, r.elr),
            (OFF_CRASH_FAR, r.far),
            (OFF_CRASH_SPSR, r.spsr),
            (OFF_CRASH_SP, r.sp),
        ] {
            self.0.write_u64(at, v);
        }
        for (i, v) in r.x.into_iter().enumerate() {
            self.0.write_u64(OFF_CRASH_X0 + 8 * i, v);
        }
        let n = msg.len().min(MSG_LEN - 1);
        self.0.write_bytes(OFF_CRASH_MSG, &msg[..n]);
        self.0.fill(OFF_CRASH_MSG + n, MSG_LEN - n, 0);
        self.0
            .write_u32(OFF_CRASH_SEQ, self.crash_seq().wrapping_add(1));
        self.set_state(State::Crashed);
    }
}

/// A short name for the exception class of an ESR.
pub fn esr_class(esr: u64) -> &'static str {
    match esr >> 26 {
        0x00 => "unknown reason (undefined instruction?)",
        0x01 => "WFI/WFE trap",
        0x07 => "FP/SIMD access trap",
        0x0E => "illegal execution state",
        0x15 => "SVC",
        0x16 => "HVC",
        0x17 => "SMC",
        0x18 => "system register trap",
        0x20 | 0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 | 0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2F => "SError",
        0x3C => "BRK instruction",
        _ => "other exception",
    }
}

/// Whether an exception is the firmware running out of stack: a data
/// abort (from the current EL) whose faulting address lies in the unmapped
/// guard page below the stack.
pub fn is_stack_overflow(esr: u64, far: u64, guard: &core::ops::Range<u64>) -> bool {
    esr >> 26 == 0x25 && guard.contains(&far)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_proto::shmem::OwnedRegion;

    #[test]
    fn layout_matches_the_driver() {
        let r = OwnedRegion::new(SIZE);
        let p = ControlPage::new(r.shm()).unwrap();
        p.init();
        let mut b = [0u8; 0x140];
        r.shm().read_bytes(0, &mut b);
        assert_eq!(&b[0..12], &[0x52, 0x41, 0x4D, 0x50, 2, 0, 0, 0, 1, 0, 0, 0]);
        assert!(!p.stop_requested());
        r.shm().write_u32(0x0C, STOP);
        assert!(p.stop_requested());
        let rec = CrashRecord {
            kind: CrashKind::Sync,
            esr: 0x9600_0007,
            elr: 0x7000_1234,
            far: 0xDEAD_0000,
            spsr: 0x3C5,
            sp: 0x703F_0000,
            x: [10, 11, 12, 13, 14, 15, 16, 17],
        };
        p.record_crash(&rec, b"data abort at 0xdead0000");
        r.shm().read_bytes(0, &mut b);
        assert_eq!(&b[0x08..0x0C], &[3, 0, 0, 0], "state crashed");
        assert_eq!(&b[0x10..0x14], &[1, 0, 0, 0], "crash_seq");
        assert_eq!(&b[0x40..0x44], &[1, 0, 0, 0], "kind @0x40");
        assert_eq!(&b[0x48..0x50], &0x9600_0007u64.to_le_bytes(), "esr @0x48");
        assert_eq!(&b[0x50..0x58], &0x7000_1234u64.to_le_bytes(), "elr @0x50");
        assert_eq!(&b[0x58..0x60], &0xDEAD_0000u64.to_le_bytes(), "far @0x58");
        assert_eq!(&b[0x60..0x68], &0x3C5u64.to_le_bytes(), "spsr @0x60");
        assert_eq!(&b[0x68..0x70], &0x703F_0000u64.to_le_bytes(), "sp @0x68");
        assert_eq!(&b[0x70..0x78], &10u64.to_le_bytes(), "x0 @0x70");
        assert_eq!(&b[0xA8..0xB0], &17u64.to_le_bytes(), "x7 @0xA8");
        assert_eq!(
            &b[0xB0..0xB0 + 24],
            b"data abort at 0xdead0000",
            "msg @0xB0"
        );
        assert_eq!(b[0xB0 + 24], 0);
        p.record_crash(&rec, &[b'x'; 300]);
        assert_eq!(p.crash_seq(), 2);
        r.shm().read_bytes(0, &mut b);
        assert_eq!(b[0xB0 + 126], b'x');
        assert_eq!(b[0xB0 + 127], 0, "message always terminated");
        assert_eq!(esr_class(0x9600_0007), "data abort");
        assert_eq!(
            esr_class(0x0200_0000),
            "unknown reason (undefined instruction?)"
        );
    }

    #[test]
    fn a_serving_firmware_publishes_a_page_the_driver_attaches_to() {
        let r = OwnedRegion::new(SIZE);
        let p = ControlPage::new(r.shm()).unwrap();
        let carveout = [(0x7000_0000u64, 0x40_0000u64)];
        let check = || {
            amp_ctrl_page::check_attach(|o| r.shm().read_u32(o), |o| r.shm().read_u64(o), &carveout)
        };
        p.init();
        p.publish_run_stamp(77, 62_500_000);
        assert_eq!(check(), Err(amp_ctrl_page::Refusal::State(1)), "booting");
        p.set_state(State::Running);
        assert_eq!(
            check(),
            Err(amp_ctrl_page::Refusal::RscSize(0)),
            "serving before the table is published"
        );
        p.publish_resource_table(0x7000_1000, 0x8C);
        let a = check().unwrap();
        assert_eq!((a.rsc_addr, a.rsc_size, a.run_cnt), (0x7000_1000, 0x8C, 77));
        assert_eq!(r.shm().read_u64(0x28), 62_500_000, "frequency @0x28");
        p.publish_virtio_resets(3);
        assert_eq!(r.shm().read_u32(0x30), 3, "virtio resets @0x30");
        // A crash or a stop makes the page unattachable.
        p.set_state(State::Stopping);
        assert_eq!(check(), Err(amp_ctrl_page::Refusal::State(4)));
    }

    #[test]
    fn ping_and_service_statistics_at_the_documented_offsets() {
        let r = OwnedRegion::new(SIZE);
        let p = ControlPage::new(r.shm()).unwrap();
        p.init();
        assert_eq!(p.ping_pending(), None, "a fresh page has no ping");
        r.shm().write_u32(0x300, 7);
        assert_eq!(p.ping_pending(), Some(7));
        p.ack_ping(7);
        assert_eq!(r.shm().read_u32(0x304), 7, "ack @0x304");
        assert_eq!(r.shm().read_u32(0x318), 1, "pings answered @0x318");
        assert_eq!(p.ping_pending(), None);
        for ns in [100, 3_000, 3_050, 1_000_000_000_000] {
            p.record_service(ns);
        }
        assert_eq!(r.shm().read_u32(0x308), 4, "count @0x308");
        assert_eq!(r.shm().read_u32(0x30C), u32::MAX, "max @0x30C saturates");
        assert_eq!(r.shm().read_u64(0x310), 1_000_000_006_150, "sum @0x310");
        assert_eq!(r.shm().read_u16(0x320), 1, "bin 0 @0x320");
        assert_eq!(r.shm().read_u16(0x320 + 2 * svc_bin(3_000)), 2);
        assert_eq!(r.shm().read_u16(0x37E), 1, "last bin @0x37E");
        // Nothing of it spills over the crash record or past 0x37F.
        assert_eq!(OFF_SVC_HIST + 2 * SVC_BINS, 0x380);
        assert_eq!(r.shm().read_u32(0x40), 0);
    }

    #[test]
    fn service_bins_are_quarter_octaves() {
        assert_eq!(svc_bin(0), 0);
        assert_eq!(svc_bin(255), 0);
        assert_eq!(svc_bin(256), 1);
        assert_eq!(svc_bin(511), 4);
        assert_eq!(svc_bin(512), 5);
        assert_eq!(svc_bin(u64::MAX), SVC_BINS - 1);
        assert_eq!(svc_bin_low(SVC_BINS - 1), 786_432);
        for b in 1..SVC_BINS {
            let lo = svc_bin_low(b);
            assert_eq!(svc_bin(lo), b, "low bound of bin {b}");
            assert_eq!(svc_bin(lo - 1), b - 1, "just below bin {b}");
            assert!(svc_bin_low(b + 1) - lo <= lo / 4, "bin {b} too wide");
        }
    }

    #[test]
    fn stack_overflow_is_a_data_abort_in_the_guard_page() {
        let guard = 0x7001_0000..0x7001_1000;
        // A translation fault on a store at level 3 (ESR of the twin).
        let esr = 0x9600_0047;
        assert!(is_stack_overflow(esr, 0x7001_0ff0, &guard));
        assert!(is_stack_overflow(esr, 0x7001_0000, &guard));
        assert!(
            !is_stack_overflow(esr, 0x7001_1000, &guard),
            "the stack itself"
        );
        assert!(
            !is_stack_overflow(esr, 0x7000_fff8, &guard),
            "below the guard"
        );
        assert!(
            !is_stack_overflow(0x9600_0006, 0x10, &guard),
            "another data abort"
        );
        // An instruction abort or a lower-EL data abort is not one.
        assert!(!is_stack_overflow(0x8600_0007, 0x7001_0ff0, &guard));
        assert!(!is_stack_overflow(0x9200_0047, 0x7001_0ff0, &guard));
    }

    #[test]
    fn stop_request_survives_a_crash_and_states_have_the_driver_values() {
        let r = OwnedRegion::new(SIZE);
        let p = ControlPage::new(r.shm()).unwrap();
        assert!(ControlPage::new(r.shm().window(0, SIZE - 1).unwrap()).is_none());
        p.init();
        for (s, v) in [
            (State::Off, 0),
            (State::Booting, 1),
            (State::Running, 2),
            (State::Crashed, 3),
            (State::Stopping, 4),
        ] {
            p.set_state(s);
            assert_eq!(p.state(), v);
            assert_eq!(r.shm().read_u32(0x08), v);
        }
        // Linux asks to stop; the firmware crashes before it sees it: the
        // request stays, so the crash loop still honours it.
        r.shm().write_u32(0x0C, STOP);
        let rec = CrashRecord {
            kind: CrashKind::Panic,
            esr: 0,
            elr: 0,
            far: 0,
            spsr: 0,
            sp: 0,
            x: [0; 8],
        };
        p.record_crash(&rec, b"");
        assert!(p.stop_requested());
        assert_eq!(r.shm().read_u32(0x40), 5, "panic kind");
        assert_eq!(r.shm().read_u8(0xB0), 0, "empty message terminated");
        // Anything but the exact word is not a stop request.
        r.shm().write_u32(0x0C, STOP + 1);
        assert!(!p.stop_requested());
        // The sequence number wraps instead of overflowing.
        r.shm().write_u32(0x10, u32::MAX);
        p.record_crash(&rec, b"again");
        assert_eq!(p.crash_seq(), 0);
        assert_eq!(p.state(), 3);
    }
}

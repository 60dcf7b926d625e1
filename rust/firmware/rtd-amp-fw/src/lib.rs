//! The default rtd-amp firmware application, as host-testable logic: the
//! resource table it declares and the services it runs.
//!
//! | address | channel | service |
//! |---|---|---|
//! | 1024 | `rpmsg-raw` | echo: every message comes back unchanged (Linux binds `/dev/rpmsgN`) |
//! | 1025 | `rpmsg-tty` | line echo: each received line comes back as `fw: <line>` (`/dev/ttyRPMSGN`) |
//! | 1026 | `rtd-amp-ctrl` | control protocol (`amp-control`): ping, version, stats, fault, self-test |
//!
//! Each service answers whatever address wrote to it, so endpoints Linux
//! creates with `RPMSG_CREATE_EPT_IOCTL` (destination 1024 or 1026) work too.
#![cfg_attr(not(test), no_std)]

pub mod bulk;

use amp_control::{
    FaultKind, SelftestInfo, Service, Stats, TimerLatency, VersionInfo, CONTROL_ADDR, ECHO_ADDR,
    TTY_ADDR,
};
use amp_proto::rpmsg::{Message, RpmsgError, Sender, RPMSG_MAX_PAYLOAD};
use amp_proto::rsc::{self, ResourceTable, TableBuilder};
use rtd_amp_rt::board::{layout, Board, BOARD};

/// Descriptors per vring (Linux allocates 2 × num buffers of 512 bytes).
pub const VRING_NUM: u32 = 64;
/// Vring alignment.
pub const VRING_ALIGN: u32 = 4096;
/// Bytes of the resource table: carveout, trace, vdev with two vrings.
pub const RSC_LEN: usize =
    rsc::header_len(3) + rsc::CARVEOUT_ENTRY_LEN + rsc::TRACE_ENTRY_LEN + rsc::vdev_entry_len(2, 0);

/// The resource table of a board's firmware.
pub const fn resource_table(b: &Board) -> TableBuilder<RSC_LEN> {
    let fw = b.window as u32;
    TableBuilder::new(3)
        .carveout(fw, fw, layout::FIRMWARE_SIZE as u32, 0, "firmware")
        .trace(
            b.at(layout::TRACE) as u32,
            layout::TRACE_SIZE as u32,
            "trace0",
        )
        .rpmsg_vdev(VRING_NUM, VRING_ALIGN)
}

/// The table this build places in `.resource_table`.
pub static RESOURCE_TABLE_BYTES: [u8; RSC_LEN] = resource_table(&BOARD).finish();

/// Builds the `.resource_table` static.
pub const fn table() -> ResourceTable<RSC_LEN> {
    ResourceTable::from_bytes(resource_table(&BOARD).finish())
}

/// Channels announced at boot: (name, address).
pub const CHANNELS: [(&str, u32); 3] = [
    ("rpmsg-raw", ECHO_ADDR),
    ("rpmsg-tty", TTY_ADDR),
    (amp_control::SERVICE_NAME, CONTROL_ADDR),
];

/// The hardware side of the control service's self-test commands
/// (`amp-control` 0x10..0x12), provided by the runtime on the core.
pub trait SelftestHw {
    /// SELFTEST_INFO: the boot stamp, the counter now, doorbell counters.
    fn info(&self) -> SelftestInfo;
    /// Generic-counter frequency (Hz).
    fn cntfrq(&self) -> u64;
    /// Fills `out` with timer-interrupt latencies `period` ticks apart (in
    /// ticks, `u64::MAX` for one not measured); returns how many did not
    /// come.
    fn timer_latency(&self, period: u64, out: &mut [u64]) -> u32;
}

/// Sorts in place, ascending: a heapsort, a few hundred bytes of code where
/// `core`'s `sort_unstable` costs about 2 KiB in the firmware image (4096
/// samples at most, so O(n log n) without recursion or allocation is
/// plenty).
pub fn heapsort(v: &mut [u64]) {
    fn sift_down(v: &mut [u64], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child] < v[child + 1] {
                child += 1;
            }
            if v[root] >= v[child] {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift_down(v, start, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Summarises a latency run: the samples measured (not `u64::MAX`),
/// sorted, as min/p50/p99/max.
pub fn timer_summary(cntfrq: u64, samples: &mut [u64], lost: u32) -> TimerLatency {
    heapsort(samples);
    let got = &samples[..samples.partition_point(|&s| s != u64::MAX)];
    let (min, p50, p99, max) = amp_control::percentiles(got);
    TimerLatency {
        count: got.len() as u32,
        lost,
        cntfrq,
        min,
        p50,
        p99,
        max,
    }
}

/// What the control service reports.
struct ControlView<'h> {
    stats: Stats,
    faults: bool,
    hw: Option<&'h dyn SelftestHw>,
}

/// Samples of one latency run (in `.bss`: 32 KiB, not on the stack).
static mut TIMER_SAMPLES: [u64; amp_control::TIMER_MAX_COUNT as usize] =
    [0; amp_control::TIMER_MAX_COUNT as usize];

impl Service for ControlView<'_> {
    fn version(&self) -> VersionInfo {
        VersionInfo::new(
            concat!("rtd-amp-fw ", env!("CARGO_PKG_VERSION")),
            BOARD.name,
        )
    }
    fn stats(&self) -> Stats {
        self.stats
    }
    fn faults_enabled(&self) -> bool {
        self.faults
    }
    fn selftest_info(&self) -> Option<SelftestInfo> {
        self.hw.map(|h| h.info())
    }
    fn timer_latency(&self, count: u32, period_us: u32) -> Option<TimerLatency> {
        let hw = self.hw?;
        let freq = hw.cntfrq();
        let period = (freq / 1_000_000).max(1) * u64::from(period_us);
        // SAFETY: the firmware is single-threaded (one core, no interrupt
        // handlers) and this is the only reference to the samples, for the
        // duration of this call; serve() never re-enters it.
        let all = unsafe { &mut *core::ptr::addr_of_mut!(TIMER_SAMPLES) };
        let samples = &mut all[..count.min(amp_control::TIMER_MAX_COUNT) as usize];
        let lost = hw.timer_latency(period, samples);
        Some(timer_summary(freq, samples, lost))
    }
}

/// Prefix of every tty line.
pub const TTY_PREFIX: &[u8] = b"fw: ";
const TTY_LINE: usize = RPMSG_MAX_PAYLOAD - 4;

/// State of the services.
pub struct Services {
    tty: [u8; TTY_LINE],
    tty_len: usize,
    /// Messages the services received.
    pub messages: u64,
    /// Payload bytes the services received.
    pub bytes: u64,
    /// Replies that could not be sent (a reset aside), and other errors.
    pub errors: u64,
    /// Whether FAULT is honoured: the `fault-injection` build feature (off
    /// in production builds, which answer FAULT "not supported").
    pub fault_enabled: bool,
}

impl Default for Services {
    fn default() -> Self {
        Self::new()
    }
}

impl Services {
    /// Fresh state.
    pub const fn new() -> Self {
        Services {
            tty: [0; TTY_LINE],
            tty_len: 0,
            messages: 0,
            bytes: 0,
            errors: 0,
            fault_enabled: cfg!(feature = "fault-injection"),
        }
    }

    /// Handles one message; `uptime_ms` and `device_errors` feed STATS.
    /// Returns the fault the control service was asked for, if any (the
    /// reply is already sent).
    pub fn handle(
        &mut self,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
        uptime_ms: u64,
        device_errors: u64,
    ) -> Option<FaultKind> {
        self.handle_with(tx, msg, uptime_ms, device_errors, None)
    }

    /// [`Services::handle`] with the hardware for the self-test commands
    /// (without it they are answered "not supported").
    pub fn handle_with(
        &mut self,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
        uptime_ms: u64,
        device_errors: u64,
        hw: Option<&dyn SelftestHw>,
    ) -> Option<FaultKind> {
        self.messages += 1;
        self.bytes += msg.len() as u64;
        let mut buf = [0u8; RPMSG_MAX_PAYLOAD];
        let (r, action) = match msg.dst {
            // One copy: from the received buffer into the reply's.
            ECHO_ADDR => (
                tx.try_send_with(ECHO_ADDR, msg.src, msg.len(), |p| {
                    p.copy_from(0, &msg.payload());
                    msg.len()
                }),
                None,
            ),
            TTY_ADDR => {
                let n = msg.copy_to(&mut buf);
                (self.tty_input(tx, msg.src, &buf[..n]), None)
            }
            CONTROL_ADDR => {
                let n = msg.copy_to(&mut buf);
                let view = ControlView {
                    stats: Stats {
                        messages: self.messages,
                        bytes: self.bytes,
                        errors: self.errors + device_errors,
                        uptime_ms,
                    },
                    faults: self.fault_enabled,
                    hw,
                };
                let mut out = [0u8; amp_control::MAX_MESSAGE_LEN];
                // serve asks for a fault only when faults are enabled.
                let served = amp_control::serve(&view, &buf[..n], &mut out);
                (
                    tx.try_send(CONTROL_ADDR, msg.src, &out[..served.len]),
                    served.fault,
                )
            }
            _ => (Ok(()), None),
        };
        // A reply that found the rings re-initialised is Linux resetting
        // the device, which counts it in its resets: not a service error.
        if r.is_err_and(|e| !e.is_reset()) {
            self.errors += 1;
        }
        action
    }

    fn tty_input(
        &mut self,
        tx: &mut Sender<'_, '_>,
        to: u32,
        data: &[u8],
    ) -> Result<(), RpmsgError> {
        for &c in data {
            if self.tty_len < TTY_LINE {
                self.tty[self.tty_len] = c;
                self.tty_len += 1;
            }
            if c == b'\n' || self.tty_len == TTY_LINE {
                let line = &self.tty[..self.tty_len];
                let tty = TTY_ADDR;
                tx.try_send_with(tty, to, TTY_PREFIX.len() + line.len(), |p| {
                    p.write_bytes(0, TTY_PREFIX);
                    p.write_bytes(TTY_PREFIX.len(), line);
                    TTY_PREFIX.len() + line.len()
                })?;
                self.tty_len = 0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_proto::rsc::Entry;
    use rtd_amp_rt::board::{QEMU_VIRT, RTD1619B};

    #[test]
    fn heapsort_sorts() {
        // A linear congruential sequence (Knuth's MMIX constants), with
        // duplicates and the u64::MAX markers of unmeasured samples.
        let mut x = 12345u64;
        for n in [0usize, 1, 2, 3, 7, 100, 1000, 4096] {
            let mut v: Vec<u64> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if i % 97 == 5 {
                        u64::MAX
                    } else {
                        (x >> 40) % 500
                    }
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            heapsort(&mut v);
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn both_boards_tables_validate() {
        assert_eq!(RSC_LEN, 200);
        for b in [QEMU_VIRT, RTD1619B] {
            let bytes = resource_table(&b).finish();
            let t = rsc::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            let n = t.entries().count();
            assert_eq!(n, 3, "{}", b.name);
            for (_, e) in t.entries() {
                if let Entry::Trace(tr) = e {
                    assert_eq!(rsc::name_str(&tr.name), Some("trace0"));
                    assert_eq!(u64::from(tr.len.get()), layout::TRACE_SIZE);
                }
            }
        }
        // This build's static is the default board's table.
        assert_eq!(RESOURCE_TABLE_BYTES, resource_table(&QEMU_VIRT).finish());
    }

    #[test]
    fn channel_names_are_the_ones_linux_binds() {
        assert_eq!(
            CHANNELS,
            [
                ("rpmsg-raw", 1024),
                ("rpmsg-tty", 1025),
                ("rtd-amp-ctrl", 1026)
            ]
        );
        for (name, addr) in CHANNELS {
            assert!(name.len() < 32, "fits rpmsg_ns_msg.name");
            assert!(addr >= 1024, "not a reserved address");
        }
    }
}

//! The control service (`rtd-amp-ctrl`, `amp-control`) every application
//! of the runtime gets: ping, version, statistics, the self-test commands,
//! the periodic tasks' statistics (TASK), and FAULT when the application
//! allows it (a debug/test build only). Host-testable: the hardware comes
//! in through [`SelftestHw`], the tasks through [`TaskTable`].

use amp_control::{
    FaultKind, SelftestInfo, Service, Stats, TaskInfo, TimerLatency, VersionInfo, CONTROL_ADDR,
};
use amp_proto::rpmsg::{Message, RpmsgError, Sender, RPMSG_MAX_PAYLOAD};

use crate::board::BOARD;

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

/// The periodic tasks' statistics, as TASK answers them.
pub trait TaskTable {
    /// Task `index` (`count` is always set; the rest zero past the end).
    fn task_info(&self, index: u32) -> TaskInfo;
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

/// Samples of one latency run (in `.bss`: 32 KiB, not on the stack).
static mut TIMER_SAMPLES: [u64; amp_control::TIMER_MAX_COUNT as usize] =
    [0; amp_control::TIMER_MAX_COUNT as usize];

/// What the control service reports.
pub struct Control<'h> {
    /// VERSION's firmware text (cut to 31 bytes).
    pub firmware: &'h str,
    /// STATS.
    pub stats: Stats,
    /// Whether FAULT is honoured (debug/test builds only).
    pub faults: bool,
    /// The self-test hardware (`None`: those commands are unsupported).
    pub hw: Option<&'h dyn SelftestHw>,
    /// The periodic tasks (`None`: TASK is unsupported).
    pub tasks: Option<&'h dyn TaskTable>,
}

impl Service for Control<'_> {
    fn version(&self) -> VersionInfo {
        VersionInfo::new(self.firmware, BOARD.name)
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
        // SAFETY: the firmware is single-threaded (one core, interrupts
        // taken only by the main loop) and this is the only reference to
        // the samples, for the duration of this call; the control service
        // is never re-entered.
        let all = unsafe { &mut *core::ptr::addr_of_mut!(TIMER_SAMPLES) };
        let samples = &mut all[..count.min(amp_control::TIMER_MAX_COUNT) as usize];
        let lost = hw.timer_latency(period, samples);
        Some(timer_summary(freq, samples, lost))
    }
    fn task(&self, index: u32) -> Option<TaskInfo> {
        self.tasks.map(|t| t.task_info(index))
    }
}

impl Control<'_> {
    /// Answers one control message (from the buffer to the requester's
    /// address); returns the send result and the fault asked for, if any
    /// (only when [`Control::faults`] is set).
    #[inline(never)]
    pub fn reply(
        &self,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
    ) -> (Result<(), RpmsgError>, Option<FaultKind>) {
        let mut buf = [0u8; RPMSG_MAX_PAYLOAD];
        let n = msg.copy_to(&mut buf);
        let mut out = [0u8; amp_control::MAX_MESSAGE_LEN];
        let served = amp_control::serve(self, &buf[..n], &mut out);
        (
            tx.try_send(CONTROL_ADDR, msg.src, &out[..served.len]),
            served.fault,
        )
    }
}

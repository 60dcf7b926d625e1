//! Control protocol of the firmware's `rtd-amp-ctrl` RPMsg service
//! (local address [`CONTROL_ADDR`] = 1026), shared by the bare-metal firmware
//! (which serves it with [`serve`]) and the Linux host tools (which encode
//! [`Request`]s and decode [`Response`]s).
//!
//! Every message is one RPMsg payload: an 8-byte [`Header`] followed by a
//! fixed-size, little-endian body whose size depends on the opcode. The
//! layouts are documented byte by byte in `docs/control-protocol.md`, and the
//! tests below pin them.
//!
//! The crate is `no_std` and allocation-free. Whether FAULT is honoured is
//! the firmware's decision ([`Service::faults_enabled`], the firmware's
//! `fault-injection` build feature): when it is not, [`serve`] answers FAULT
//! with [`ErrorCode::Unsupported`] and asks for no fault.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Version of this protocol, carried in every header.
pub const PROTOCOL_VERSION: u8 = 1;
/// RPMsg name-service name of the control service.
pub const SERVICE_NAME: &str = "rtd-amp-ctrl";
/// Well-known firmware address of the `rpmsg-raw` echo service.
pub const ECHO_ADDR: u32 = 1024;
/// Well-known firmware address of the `rpmsg-tty` line-echo service.
pub const TTY_ADDR: u32 = 1025;
/// Well-known firmware address of the control service.
pub const CONTROL_ADDR: u32 = 1026;
/// Largest RPMsg payload (512-byte buffer minus the 16-byte RPMsg header).
pub const RPMSG_MAX_PAYLOAD: usize = 496;
/// Size of [`Header`].
pub const HEADER_LEN: usize = 8;
/// Size of the longest message of the protocol (a SELFTEST_SHM_RESULT
/// response).
pub const MAX_MESSAGE_LEN: usize = HEADER_LEN + SELFTEST_SHM_RESULT_LEN;
/// Size of the NUL-padded text fields of VERSION_INFO.
pub const TEXT_LEN: usize = 32;

/// Body size of VERSION_INFO.
pub const VERSION_INFO_LEN: usize = 4 + 2 * TEXT_LEN;
/// Body size of STATS_INFO.
pub const STATS_INFO_LEN: usize = 32;
/// Body size of SELFTEST_INFO_RESULT.
pub const SELFTEST_INFO_LEN: usize = 64;
/// Pattern bytes carried each way by a SELFTEST_SHM round trip.
pub const SHM_PATTERN_LEN: usize = 256;
/// Body size of SELFTEST_SHM (seed, pattern).
pub const SELFTEST_SHM_LEN: usize = 4 + SHM_PATTERN_LEN;
/// Body size of SELFTEST_SHM_RESULT (mismatches, first bad, seed,
/// reserved, pattern).
pub const SELFTEST_SHM_RESULT_LEN: usize = 16 + SHM_PATTERN_LEN;
/// Body size of SELFTEST_TIMER.
pub const SELFTEST_TIMER_LEN: usize = 8;
/// Body size of SELFTEST_TIMER_RESULT.
pub const SELFTEST_TIMER_RESULT_LEN: usize = 48;
/// Most timer interrupts one SELFTEST_TIMER run may ask for.
pub const TIMER_MAX_COUNT: u32 = 4096;
/// Longest period between two of them, microseconds.
pub const TIMER_MAX_PERIOD_US: u32 = 10_000;
/// Body bytes of TASK (the task's index).
pub const TASK_LEN: usize = 4;
/// Body bytes of TASK_INFO.
pub const TASK_INFO_LEN: usize = 64;
/// Bytes of a task's name in TASK_INFO (NUL padded).
pub const TASK_NAME_LEN: usize = 16;

/// Opcodes. A response opcode is the request opcode with bit 7 set; ERROR
/// answers any request.
pub mod op {
    /// Request: echo a 64-bit nonce.
    pub const PING: u8 = 0x01;
    /// Request: protocol and firmware version, board name.
    pub const VERSION: u8 = 0x02;
    /// Request: firmware counters.
    pub const STATS: u8 = 0x03;
    /// Request: make the firmware fault on purpose.
    pub const FAULT: u8 = 0x04;
    /// Request (self-test): the firmware's boot stamp and doorbell counters.
    pub const SELFTEST_INFO: u8 = 0x10;
    /// Request (self-test): a pattern each way through the shared buffers.
    pub const SELFTEST_SHM: u8 = 0x11;
    /// Request (self-test): a timer-interrupt latency run on the core.
    pub const SELFTEST_TIMER: u8 = 0x12;
    /// Request: statistics of one periodic task of the firmware runtime.
    pub const TASK: u8 = 0x20;
    /// Response to TASK.
    pub const TASK_INFO: u8 = 0xA0;
    /// Response to SELFTEST_INFO.
    pub const SELFTEST_INFO_RESULT: u8 = 0x90;
    /// Response to SELFTEST_SHM.
    pub const SELFTEST_SHM_RESULT: u8 = 0x91;
    /// Response to SELFTEST_TIMER.
    pub const SELFTEST_TIMER_RESULT: u8 = 0x92;
    /// Response to PING.
    pub const PONG: u8 = 0x81;
    /// Response to VERSION.
    pub const VERSION_INFO: u8 = 0x82;
    /// Response to STATS.
    pub const STATS_INFO: u8 = 0x83;
    /// Response to FAULT, sent just before the firmware faults.
    pub const FAULT_ACK: u8 = 0x84;
    /// Error response.
    pub const ERROR: u8 = 0xFF;
    /// Bit set in every response opcode.
    pub const RESPONSE: u8 = 0x80;
}

/// Message header, 8 bytes, little-endian.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct Header {
    /// [`PROTOCOL_VERSION`].
    pub version: u8,
    /// One of [`op`].
    pub opcode: u8,
    /// Body length in bytes (the message is exactly `8 + len` bytes).
    pub len: U16,
    /// Chosen by the requester, echoed in the response.
    pub tag: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireU64 {
    value: U64,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireU32 {
    value: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireVersion {
    protocol: U16,
    reserved: U16,
    firmware: [u8; TEXT_LEN],
    board: [u8; TEXT_LEN],
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireStats {
    messages: U64,
    bytes: U64,
    errors: U64,
    uptime_ms: U64,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireSelftestInfo {
    entry_el: U32,
    doorbell_sgi: U32,
    doorbell_spi: U32,
    psci_conduit: U32,
    cntfrq: U64,
    entry_cntpct: U64,
    now_cntpct: U64,
    window: U64,
    sgis_received: U64,
    spis_raised: U64,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireShm {
    seed: U32,
    pattern: [u8; SHM_PATTERN_LEN],
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireShmResult {
    mismatches: U32,
    first_bad: U32,
    seed: U32,
    reserved: U32,
    pattern: [u8; SHM_PATTERN_LEN],
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireTimer {
    count: U32,
    period_us: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireTimerResult {
    count: U32,
    lost: U32,
    cntfrq: U64,
    min: U64,
    p50: U64,
    p99: U64,
    max: U64,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireTaskInfo {
    index: U32,
    count: U32,
    period_us: U32,
    overruns: U32,
    runs: U64,
    worst_late_ns: U64,
    last_late_ns: U64,
    late_sum_ns: U64,
    name: [u8; TASK_NAME_LEN],
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct WireError {
    code: U16,
    opcode: u8,
    reserved: u8,
}

const _: () = {
    assert!(core::mem::size_of::<Header>() == HEADER_LEN);
    assert!(core::mem::size_of::<WireVersion>() == VERSION_INFO_LEN);
    assert!(core::mem::size_of::<WireStats>() == STATS_INFO_LEN);
    assert!(core::mem::size_of::<WireError>() == 4);
    assert!(core::mem::size_of::<WireSelftestInfo>() == SELFTEST_INFO_LEN);
    assert!(core::mem::size_of::<WireShm>() == SELFTEST_SHM_LEN);
    assert!(core::mem::size_of::<WireShmResult>() == SELFTEST_SHM_RESULT_LEN);
    assert!(core::mem::size_of::<WireTimer>() == SELFTEST_TIMER_LEN);
    assert!(core::mem::size_of::<WireTimerResult>() == SELFTEST_TIMER_RESULT_LEN);
    assert!(core::mem::size_of::<WireTaskInfo>() == TASK_INFO_LEN);
    assert!(MAX_MESSAGE_LEN <= RPMSG_MAX_PAYLOAD);
};

/// What a FAULT request asks the firmware to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FaultKind {
    /// Load from an unmapped address: synchronous data abort (crash kind 1).
    DataAbort = 1,
    /// Rust `panic!` in the firmware (crash kind 5).
    Panic = 2,
    /// Execute a permanently undefined instruction (crash kind 1).
    Undefined = 3,
    /// Recurse until the stack runs into its guard page: a data abort the
    /// firmware reports as a stack overflow (crash kind 1).
    StackOverflow = 4,
    /// Spin forever in the application's code, interrupts enabled: no
    /// crash, the main loop never runs again; only the stop interrupt can
    /// still stop the core.
    Hang = 5,
    /// Mask every interrupt and spin forever: nothing can stop the core,
    /// the driver reports it stuck until a reboot.
    HangMasked = 6,
}

impl FaultKind {
    /// Every kind, in wire order.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::DataAbort,
        FaultKind::Panic,
        FaultKind::Undefined,
        FaultKind::StackOverflow,
        FaultKind::Hang,
        FaultKind::HangMasked,
    ];

    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        self as u32
    }

    /// Parses a wire value.
    pub const fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(FaultKind::DataAbort),
            2 => Some(FaultKind::Panic),
            3 => Some(FaultKind::Undefined),
            4 => Some(FaultKind::StackOverflow),
            5 => Some(FaultKind::Hang),
            6 => Some(FaultKind::HangMasked),
            _ => None,
        }
    }

    /// Short lower-case name (`data-abort`, `panic`, `undefined`,
    /// `stack-overflow`, `hang`, `hang-masked`).
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::DataAbort => "data-abort",
            FaultKind::Panic => "panic",
            FaultKind::Undefined => "undefined",
            FaultKind::StackOverflow => "stack-overflow",
            FaultKind::Hang => "hang",
            FaultKind::HangMasked => "hang-masked",
        }
    }

    /// Parses [`FaultKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error codes carried by an ERROR response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 1: the opcode is not a request this service knows.
    UnknownCommand,
    /// 2: the message is shorter than a header, the header's `len` does not
    /// match the message, or the body size is wrong for the opcode.
    BadLength,
    /// 3: the header's version is not [`PROTOCOL_VERSION`].
    BadVersion,
    /// 4: the request is valid but disabled in this firmware build.
    Unsupported,
    /// 5: a field of the body has a value the service does not accept.
    BadArgument,
    /// Any other code (sent by a newer firmware).
    Other(u16),
}

impl ErrorCode {
    /// The wire value.
    pub const fn to_u16(self) -> u16 {
        match self {
            ErrorCode::UnknownCommand => 1,
            ErrorCode::BadLength => 2,
            ErrorCode::BadVersion => 3,
            ErrorCode::Unsupported => 4,
            ErrorCode::BadArgument => 5,
            ErrorCode::Other(v) => v,
        }
    }

    /// Parses a wire value.
    pub const fn from_u16(value: u16) -> Self {
        match value {
            1 => ErrorCode::UnknownCommand,
            2 => ErrorCode::BadLength,
            3 => ErrorCode::BadVersion,
            4 => ErrorCode::Unsupported,
            5 => ErrorCode::BadArgument,
            v => ErrorCode::Other(v),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::UnknownCommand => f.write_str("unknown command"),
            ErrorCode::BadLength => f.write_str("bad length"),
            ErrorCode::BadVersion => f.write_str("unsupported protocol version"),
            ErrorCode::Unsupported => f.write_str("not supported by this firmware build"),
            ErrorCode::BadArgument => f.write_str("bad argument"),
            ErrorCode::Other(v) => write!(f, "error code {v}"),
        }
    }
}

/// Answer to VERSION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// Control protocol version the firmware speaks.
    pub protocol: u16,
    /// Firmware version, NUL-padded UTF-8.
    pub firmware: [u8; TEXT_LEN],
    /// Board name, NUL-padded UTF-8.
    pub board: [u8; TEXT_LEN],
}

/// Copies `s` into a NUL-padded field, truncating at a character boundary so
/// the field stays valid UTF-8.
pub const fn text_field(s: &str) -> [u8; TEXT_LEN] {
    let bytes = s.as_bytes();
    let mut n = if bytes.len() < TEXT_LEN {
        bytes.len()
    } else {
        TEXT_LEN
    };
    // Back off to a char boundary (continuation bytes are 0b10xx_xxxx).
    while n > 0 && n < bytes.len() && (bytes[n] & 0xC0) == 0x80 {
        n -= 1;
    }
    let mut out = [0u8; TEXT_LEN];
    let mut i = 0;
    while i < n {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// Reads a NUL-padded text field: the bytes up to the first NUL, or the
/// longest valid UTF-8 prefix of them.
pub fn field_text(field: &[u8]) -> &str {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let bytes = &field[..end];
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        // valid_up_to() is a boundary, so this cannot fail.
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

impl VersionInfo {
    /// Builds the answer from strings (truncated to 32 bytes each).
    pub const fn new(firmware: &str, board: &str) -> Self {
        VersionInfo {
            protocol: PROTOCOL_VERSION as u16,
            firmware: text_field(firmware),
            board: text_field(board),
        }
    }

    /// The firmware version as text.
    pub fn firmware_str(&self) -> &str {
        field_text(&self.firmware)
    }

    /// The board name as text.
    pub fn board_str(&self) -> &str {
        field_text(&self.board)
    }
}

/// Answer to STATS: counters since the firmware booted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// RPMsg messages received by the firmware, all services.
    pub messages: u64,
    /// Payload bytes received by the firmware, all services.
    pub bytes: u64,
    /// Messages the firmware rejected or could not answer.
    pub errors: u64,
    /// Milliseconds since the firmware started.
    pub uptime_ms: u64,
}

/// Answer to SELFTEST_INFO: what the firmware stamped at entry (the same
/// values as the control page's self-test block, `docs/kernel.md`) and its
/// doorbell counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelftestInfo {
    /// Exception level the core entered the firmware at (`CurrentEL`).
    pub entry_el: u32,
    /// SGI the firmware takes as Linux's doorbell.
    pub doorbell_sgi: u32,
    /// Interrupt id (SPI + 32) the firmware raises towards Linux.
    pub doorbell_spi: u32,
    /// PSCI conduit the firmware was built to call: [`CONDUIT_SMC`],
    /// [`CONDUIT_HVC`], or 0 (not reported).
    pub psci_conduit: u32,
    /// `CNTFRQ_EL0` as the firmware reads it (Hz).
    pub cntfrq: u64,
    /// `CNTPCT_EL0` at the firmware's first Rust instruction.
    pub entry_cntpct: u64,
    /// `CNTPCT_EL0` when the firmware answered.
    pub now_cntpct: u64,
    /// Physical base of the AMP window the firmware was built for.
    pub window: u64,
    /// Doorbell SGIs the firmware acknowledged since it started.
    pub sgis_received: u64,
    /// Doorbell SPIs the firmware raised since it started.
    pub spis_raised: u64,
}

/// [`SelftestInfo::psci_conduit`]: PSCI calls through `smc #0`.
pub const CONDUIT_SMC: u32 = 1;
/// [`SelftestInfo::psci_conduit`]: PSCI calls through `hvc #0`.
pub const CONDUIT_HVC: u32 = 2;

/// Name of a [`SelftestInfo::psci_conduit`] as the device tree's `/psci`
/// `method` spells it (`None` when not reported or unknown).
pub const fn conduit_name(c: u32) -> Option<&'static str> {
    match c {
        CONDUIT_SMC => Some("smc"),
        CONDUIT_HVC => Some("hvc"),
        _ => None,
    }
}

/// Answer to SELFTEST_TIMER: latency of the core's timer interrupt, from
/// the programmed compare value to the interrupt's acknowledgement, in
/// counter ticks (`cntfrq` per second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerLatency {
    /// Interrupts measured.
    pub count: u32,
    /// 1 when an interrupt did not come within ten periods or one second,
    /// whichever is longer (the run stops there), else 0.
    pub lost: u32,
    /// `CNTFRQ_EL0` of the firmware (Hz).
    pub cntfrq: u64,
    /// Smallest latency.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// Answer to TASK: one periodic task of the firmware runtime
/// (`rtd-amp-rt`'s scheduler), its statistics since the firmware started.
/// Lateness is from the task's deadline to the moment it started running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// The index asked for.
    pub index: u32,
    /// Tasks the firmware has; `index >= count`: every other field is zero.
    pub count: u32,
    /// Period in microseconds (0: a one-shot timer).
    pub period_us: u32,
    /// Periods missed: the task was still due a whole period after its
    /// deadline, so runs were skipped to get back onto its grid.
    pub overruns: u32,
    /// Times the task ran.
    pub runs: u64,
    /// Worst lateness, nanoseconds.
    pub worst_late_ns: u64,
    /// Lateness of the last run, nanoseconds.
    pub last_late_ns: u64,
    /// Sum of the lateness of every run, nanoseconds (mean = sum / runs).
    pub late_sum_ns: u64,
    /// The task's name, NUL padded ([`field_text`] reads it).
    pub name: [u8; TASK_NAME_LEN],
}

impl TaskInfo {
    /// The name as text.
    pub fn name_str(&self) -> &str {
        field_text(&self.name)
    }
}

/// What the firmware found in a SELFTEST_SHM request's pattern and what it
/// wrote back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmResult {
    /// Bytes of the request's pattern that differed from [`pattern`]`(seed)`.
    pub mismatches: u32,
    /// Offset of the first differing byte ([`NO_MISMATCH`] when none).
    pub first_bad: u32,
    /// Seed of the pattern the firmware wrote back (the request's seed
    /// with all bits inverted, so the two directions differ).
    pub seed: u32,
    /// The pattern the firmware wrote.
    pub pattern: [u8; SHM_PATTERN_LEN],
}

/// [`ShmResult::first_bad`] when every byte matched.
pub const NO_MISMATCH: u32 = u32::MAX;

/// The self-test pattern of `seed`: an xorshift32 stream (Marsaglia 2003,
/// shifts 13/17/5), so every byte depends on its offset and the seed and a
/// stale or half-written buffer cannot pass by accident.
pub fn pattern(seed: u32, out: &mut [u8]) {
    let mut x = seed | 1;
    for b in out.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
}

/// Compares `got` with [`pattern`]`(seed)`: (mismatching bytes, offset of
/// the first or [`NO_MISMATCH`]).
pub fn check_pattern(seed: u32, got: &[u8]) -> (u32, u32) {
    let mut want = [0u8; SHM_PATTERN_LEN];
    let mut bad = 0u32;
    let mut first = NO_MISMATCH;
    for (i, chunk) in got.chunks(SHM_PATTERN_LEN).enumerate() {
        let w = &mut want[..chunk.len()];
        pattern(seed.wrapping_add(i as u32), w);
        for (j, (a, b)) in chunk.iter().zip(w.iter()).enumerate() {
            if a != b {
                bad += 1;
                if first == NO_MISMATCH {
                    first = (i * SHM_PATTERN_LEN + j) as u32;
                }
            }
        }
    }
    (bad, first)
}

/// A request, host to firmware.
// The SELFTEST_SHM variant carries its 256-byte pattern inline: the crate
// is no_std without an allocator (no Box), and a few hundred bytes on the
// stack are fine on both sides.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// PING: the firmware answers PONG with the same nonce.
    Ping {
        /// Any value.
        nonce: u64,
    },
    /// VERSION: answered with VERSION_INFO.
    Version,
    /// STATS: answered with STATS_INFO.
    Stats,
    /// FAULT: answered with FAULT_ACK, then the firmware faults; or, when
    /// [`Service::faults_enabled`] is false (a production firmware), ERROR
    /// `Unsupported` and nothing happens.
    Fault {
        /// How to fault.
        kind: FaultKind,
    },
    /// SELFTEST_INFO: answered with SELFTEST_INFO_RESULT.
    SelftestInfo,
    /// SELFTEST_SHM: the firmware checks `pattern` against
    /// [`pattern`]`(seed)` and answers with its own pattern.
    SelftestShm {
        /// Seed of the pattern.
        seed: u32,
        /// The pattern as the host wrote it.
        pattern: [u8; SHM_PATTERN_LEN],
    },
    /// SELFTEST_TIMER: `count` timer interrupts `period_us` apart on the
    /// firmware's core (at most [`TIMER_MAX_COUNT`] and
    /// [`TIMER_MAX_PERIOD_US`]; the control service is busy meanwhile).
    SelftestTimer {
        /// Interrupts to measure (1..=[`TIMER_MAX_COUNT`]).
        count: u32,
        /// Microseconds between them (1..=[`TIMER_MAX_PERIOD_US`]).
        period_us: u32,
    },
    /// TASK: the statistics of periodic task `index`, answered with
    /// TASK_INFO (which also says how many tasks there are).
    Task {
        /// Which task (0-based).
        index: u32,
    },
}

/// A response, firmware to host.
// The SELFTEST_SHM variant carries its 256-byte pattern inline: the crate
// is no_std without an allocator (no Box), and a few hundred bytes on the
// stack are fine on both sides.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// Answer to PING.
    Pong {
        /// The request's nonce.
        nonce: u64,
    },
    /// Answer to VERSION.
    Version(VersionInfo),
    /// Answer to STATS.
    Stats(Stats),
    /// Answer to FAULT; the firmware faults right after sending it.
    FaultAck {
        /// The fault about to happen.
        kind: FaultKind,
    },
    /// Answer to SELFTEST_INFO.
    SelftestInfo(SelftestInfo),
    /// Answer to SELFTEST_SHM.
    SelftestShm(ShmResult),
    /// Answer to SELFTEST_TIMER.
    SelftestTimer(TimerLatency),
    /// Answer to TASK.
    Task(TaskInfo),
    /// The request failed.
    Error {
        /// Why.
        code: ErrorCode,
        /// Opcode of the failed request (0 when the message was too short
        /// to carry one).
        opcode: u8,
    },
}

/// Why a message could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoError {
    /// The message is shorter than the 8-byte header.
    Truncated {
        /// Its length.
        len: usize,
    },
    /// The header carries another protocol version.
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// The opcode is not one this side decodes.
    UnknownOpcode {
        /// The opcode found.
        opcode: u8,
    },
    /// Header `len` and message size disagree, or the body size is wrong
    /// for the opcode.
    BadLength {
        /// The opcode.
        opcode: u8,
        /// Body size the opcode requires.
        expected: usize,
        /// Body size found.
        found: usize,
    },
    /// A body field has an invalid value (e.g. an unknown fault kind).
    BadArgument {
        /// The opcode.
        opcode: u8,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProtoError::Truncated { len } => {
                write!(f, "control message of {len} bytes is shorter than the {HEADER_LEN}-byte header")
            }
            ProtoError::BadVersion { version } => write!(
                f,
                "control protocol version {version} is not supported (this side speaks {PROTOCOL_VERSION})"
            ),
            ProtoError::UnknownOpcode { opcode } => write!(f, "unknown control opcode {opcode:#04x}"),
            ProtoError::BadLength { opcode, expected, found } => write!(
                f,
                "control opcode {opcode:#04x}: body is {found} bytes, expected {expected}"
            ),
            ProtoError::BadArgument { opcode } => {
                write!(f, "control opcode {opcode:#04x}: invalid field value")
            }
            ProtoError::BufferTooSmall { need } => {
                write!(f, "output buffer too small: {need} bytes needed")
            }
        }
    }
}

impl core::error::Error for ProtoError {}

impl ProtoError {
    /// The ERROR code a server answers this decode failure with.
    pub const fn code(&self) -> ErrorCode {
        match self {
            ProtoError::Truncated { .. } | ProtoError::BadLength { .. } => ErrorCode::BadLength,
            ProtoError::BadVersion { .. } => ErrorCode::BadVersion,
            ProtoError::UnknownOpcode { .. } => ErrorCode::UnknownCommand,
            ProtoError::BadArgument { .. } | ProtoError::BufferTooSmall { .. } => {
                ErrorCode::BadArgument
            }
        }
    }
}

/// Body size each opcode requires, `None` for unknown opcodes.
pub const fn body_len(opcode: u8) -> Option<usize> {
    match opcode {
        op::PING | op::PONG => Some(8),
        op::VERSION | op::STATS => Some(0),
        op::FAULT | op::FAULT_ACK | op::ERROR => Some(4),
        op::VERSION_INFO => Some(VERSION_INFO_LEN),
        op::STATS_INFO => Some(STATS_INFO_LEN),
        op::SELFTEST_INFO => Some(0),
        op::SELFTEST_INFO_RESULT => Some(SELFTEST_INFO_LEN),
        op::SELFTEST_SHM => Some(SELFTEST_SHM_LEN),
        op::SELFTEST_SHM_RESULT => Some(SELFTEST_SHM_RESULT_LEN),
        op::SELFTEST_TIMER => Some(SELFTEST_TIMER_LEN),
        op::SELFTEST_TIMER_RESULT => Some(SELFTEST_TIMER_RESULT_LEN),
        op::TASK => Some(TASK_LEN),
        op::TASK_INFO => Some(TASK_INFO_LEN),
        _ => None,
    }
}

/// Splits a message into its header and body, checking the version and that
/// the header's `len` matches the message size.
pub fn split(msg: &[u8]) -> Result<(Header, &[u8]), ProtoError> {
    let (header, body) =
        Header::read_from_prefix(msg).map_err(|_| ProtoError::Truncated { len: msg.len() })?;
    if header.version != PROTOCOL_VERSION {
        return Err(ProtoError::BadVersion {
            version: header.version,
        });
    }
    if usize::from(header.len.get()) != body.len() {
        return Err(ProtoError::BadLength {
            opcode: header.opcode,
            expected: usize::from(header.len.get()),
            found: body.len(),
        });
    }
    Ok((header, body))
}

fn checked_body(header: &Header, body: &[u8], known: &[u8]) -> Result<(), ProtoError> {
    let opcode = header.opcode;
    let expected = match body_len(opcode) {
        Some(n) if known.contains(&opcode) => n,
        _ => return Err(ProtoError::UnknownOpcode { opcode }),
    };
    if body.len() != expected {
        return Err(ProtoError::BadLength {
            opcode,
            expected,
            found: body.len(),
        });
    }
    Ok(())
}

fn write_message(out: &mut [u8], opcode: u8, tag: u32, body: &[u8]) -> Result<usize, ProtoError> {
    let total = HEADER_LEN + body.len();
    if out.len() < total {
        return Err(ProtoError::BufferTooSmall { need: total });
    }
    let header = Header {
        version: PROTOCOL_VERSION,
        opcode,
        len: U16::new(body.len() as u16),
        tag: U32::new(tag),
    };
    out[..HEADER_LEN].copy_from_slice(header.as_bytes());
    out[HEADER_LEN..total].copy_from_slice(body);
    Ok(total)
}

fn read_u64(body: &[u8]) -> u64 {
    WireU64::read_from_bytes(body)
        .map(|w| w.value.get())
        .unwrap_or(0)
}

fn read_u32(body: &[u8]) -> u32 {
    WireU32::read_from_bytes(body)
        .map(|w| w.value.get())
        .unwrap_or(0)
}

impl Request {
    /// The request's opcode.
    pub const fn opcode(&self) -> u8 {
        match self {
            Request::Ping { .. } => op::PING,
            Request::Version => op::VERSION,
            Request::Stats => op::STATS,
            Request::Fault { .. } => op::FAULT,
            Request::SelftestInfo => op::SELFTEST_INFO,
            Request::SelftestShm { .. } => op::SELFTEST_SHM,
            Request::SelftestTimer { .. } => op::SELFTEST_TIMER,
            Request::Task { .. } => op::TASK,
        }
    }

    /// Encodes into `out`, returns the message length.
    pub fn encode(&self, tag: u32, out: &mut [u8]) -> Result<usize, ProtoError> {
        match *self {
            Request::Ping { nonce } => write_message(
                out,
                op::PING,
                tag,
                WireU64 {
                    value: U64::new(nonce),
                }
                .as_bytes(),
            ),
            Request::Version => write_message(out, op::VERSION, tag, &[]),
            Request::Stats => write_message(out, op::STATS, tag, &[]),
            Request::Fault { kind } => write_message(
                out,
                op::FAULT,
                tag,
                WireU32 {
                    value: U32::new(kind.to_u32()),
                }
                .as_bytes(),
            ),
            Request::SelftestInfo => write_message(out, op::SELFTEST_INFO, tag, &[]),
            Request::SelftestShm { seed, pattern } => write_message(
                out,
                op::SELFTEST_SHM,
                tag,
                WireShm {
                    seed: U32::new(seed),
                    pattern,
                }
                .as_bytes(),
            ),
            Request::SelftestTimer { count, period_us } => write_message(
                out,
                op::SELFTEST_TIMER,
                tag,
                WireTimer {
                    count: U32::new(count),
                    period_us: U32::new(period_us),
                }
                .as_bytes(),
            ),
            Request::Task { index } => write_message(
                out,
                op::TASK,
                tag,
                WireU32 {
                    value: U32::new(index),
                }
                .as_bytes(),
            ),
        }
    }

    /// Decodes a request message, returns its tag and the request.
    pub fn decode(msg: &[u8]) -> Result<(u32, Request), ProtoError> {
        let (header, body) = split(msg)?;
        checked_body(
            &header,
            body,
            &[
                op::PING,
                op::VERSION,
                op::STATS,
                op::FAULT,
                op::SELFTEST_INFO,
                op::SELFTEST_SHM,
                op::SELFTEST_TIMER,
                op::TASK,
            ],
        )?;
        let request = match header.opcode {
            op::PING => Request::Ping {
                nonce: read_u64(body),
            },
            op::VERSION => Request::Version,
            op::STATS => Request::Stats,
            op::SELFTEST_INFO => Request::SelftestInfo,
            op::TASK => Request::Task {
                index: read_u32(body),
            },
            op::SELFTEST_SHM => {
                let w = WireShm::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::SELFTEST_SHM,
                    expected: SELFTEST_SHM_LEN,
                    found: body.len(),
                })?;
                Request::SelftestShm {
                    seed: w.seed.get(),
                    pattern: w.pattern,
                }
            }
            op::SELFTEST_TIMER => {
                let w = WireTimer::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::SELFTEST_TIMER,
                    expected: SELFTEST_TIMER_LEN,
                    found: body.len(),
                })?;
                let (count, period_us) = (w.count.get(), w.period_us.get());
                if !(1..=TIMER_MAX_COUNT).contains(&count)
                    || !(1..=TIMER_MAX_PERIOD_US).contains(&period_us)
                {
                    return Err(ProtoError::BadArgument {
                        opcode: op::SELFTEST_TIMER,
                    });
                }
                Request::SelftestTimer { count, period_us }
            }
            _ => Request::Fault {
                kind: FaultKind::from_u32(read_u32(body))
                    .ok_or(ProtoError::BadArgument { opcode: op::FAULT })?,
            },
        };
        Ok((header.tag.get(), request))
    }
}

impl Response {
    /// The response's opcode.
    pub const fn opcode(&self) -> u8 {
        match self {
            Response::Pong { .. } => op::PONG,
            Response::Version(_) => op::VERSION_INFO,
            Response::Stats(_) => op::STATS_INFO,
            Response::FaultAck { .. } => op::FAULT_ACK,
            Response::SelftestInfo(_) => op::SELFTEST_INFO_RESULT,
            Response::SelftestShm(_) => op::SELFTEST_SHM_RESULT,
            Response::SelftestTimer(_) => op::SELFTEST_TIMER_RESULT,
            Response::Task(_) => op::TASK_INFO,
            Response::Error { .. } => op::ERROR,
        }
    }

    /// Whether this response answers a request with opcode `request`
    /// (its own response, or an ERROR naming it).
    pub const fn answers(&self, request: u8) -> bool {
        match self {
            Response::Error { opcode, .. } => *opcode == request,
            r => r.opcode() == request | op::RESPONSE,
        }
    }

    /// Encodes into `out`, returns the message length.
    pub fn encode(&self, tag: u32, out: &mut [u8]) -> Result<usize, ProtoError> {
        match *self {
            Response::Pong { nonce } => write_message(
                out,
                op::PONG,
                tag,
                WireU64 {
                    value: U64::new(nonce),
                }
                .as_bytes(),
            ),
            Response::Version(v) => {
                let wire = WireVersion {
                    protocol: U16::new(v.protocol),
                    reserved: U16::ZERO,
                    firmware: v.firmware,
                    board: v.board,
                };
                write_message(out, op::VERSION_INFO, tag, wire.as_bytes())
            }
            Response::Stats(s) => {
                let wire = WireStats {
                    messages: U64::new(s.messages),
                    bytes: U64::new(s.bytes),
                    errors: U64::new(s.errors),
                    uptime_ms: U64::new(s.uptime_ms),
                };
                write_message(out, op::STATS_INFO, tag, wire.as_bytes())
            }
            Response::FaultAck { kind } => write_message(
                out,
                op::FAULT_ACK,
                tag,
                WireU32 {
                    value: U32::new(kind.to_u32()),
                }
                .as_bytes(),
            ),
            Response::SelftestInfo(i) => {
                let wire = WireSelftestInfo {
                    entry_el: U32::new(i.entry_el),
                    doorbell_sgi: U32::new(i.doorbell_sgi),
                    doorbell_spi: U32::new(i.doorbell_spi),
                    psci_conduit: U32::new(i.psci_conduit),
                    cntfrq: U64::new(i.cntfrq),
                    entry_cntpct: U64::new(i.entry_cntpct),
                    now_cntpct: U64::new(i.now_cntpct),
                    window: U64::new(i.window),
                    sgis_received: U64::new(i.sgis_received),
                    spis_raised: U64::new(i.spis_raised),
                };
                write_message(out, op::SELFTEST_INFO_RESULT, tag, wire.as_bytes())
            }
            Response::SelftestShm(r) => {
                let wire = WireShmResult {
                    mismatches: U32::new(r.mismatches),
                    first_bad: U32::new(r.first_bad),
                    seed: U32::new(r.seed),
                    reserved: U32::ZERO,
                    pattern: r.pattern,
                };
                write_message(out, op::SELFTEST_SHM_RESULT, tag, wire.as_bytes())
            }
            Response::SelftestTimer(t) => {
                let wire = WireTimerResult {
                    count: U32::new(t.count),
                    lost: U32::new(t.lost),
                    cntfrq: U64::new(t.cntfrq),
                    min: U64::new(t.min),
                    p50: U64::new(t.p50),
                    p99: U64::new(t.p99),
                    max: U64::new(t.max),
                };
                write_message(out, op::SELFTEST_TIMER_RESULT, tag, wire.as_bytes())
            }
            Response::Task(t) => {
                let wire = WireTaskInfo {
                    index: U32::new(t.index),
                    count: U32::new(t.count),
                    period_us: U32::new(t.period_us),
                    overruns: U32::new(t.overruns),
                    runs: U64::new(t.runs),
                    worst_late_ns: U64::new(t.worst_late_ns),
                    last_late_ns: U64::new(t.last_late_ns),
                    late_sum_ns: U64::new(t.late_sum_ns),
                    name: t.name,
                };
                write_message(out, op::TASK_INFO, tag, wire.as_bytes())
            }
            Response::Error { code, opcode } => {
                let wire = WireError {
                    code: U16::new(code.to_u16()),
                    opcode,
                    reserved: 0,
                };
                write_message(out, op::ERROR, tag, wire.as_bytes())
            }
        }
    }

    /// Decodes a response message, returns its tag and the response.
    pub fn decode(msg: &[u8]) -> Result<(u32, Response), ProtoError> {
        let (header, body) = split(msg)?;
        checked_body(
            &header,
            body,
            &[
                op::PONG,
                op::VERSION_INFO,
                op::STATS_INFO,
                op::FAULT_ACK,
                op::SELFTEST_INFO_RESULT,
                op::SELFTEST_SHM_RESULT,
                op::SELFTEST_TIMER_RESULT,
                op::TASK_INFO,
                op::ERROR,
            ],
        )?;
        let response = match header.opcode {
            op::PONG => Response::Pong {
                nonce: read_u64(body),
            },
            op::VERSION_INFO => {
                let w = WireVersion::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::VERSION_INFO,
                    expected: VERSION_INFO_LEN,
                    found: body.len(),
                })?;
                Response::Version(VersionInfo {
                    protocol: w.protocol.get(),
                    firmware: w.firmware,
                    board: w.board,
                })
            }
            op::STATS_INFO => {
                let w = WireStats::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::STATS_INFO,
                    expected: STATS_INFO_LEN,
                    found: body.len(),
                })?;
                Response::Stats(Stats {
                    messages: w.messages.get(),
                    bytes: w.bytes.get(),
                    errors: w.errors.get(),
                    uptime_ms: w.uptime_ms.get(),
                })
            }
            op::FAULT_ACK => Response::FaultAck {
                kind: FaultKind::from_u32(read_u32(body)).ok_or(ProtoError::BadArgument {
                    opcode: op::FAULT_ACK,
                })?,
            },
            op::SELFTEST_INFO_RESULT => {
                let w =
                    WireSelftestInfo::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                        opcode: op::SELFTEST_INFO_RESULT,
                        expected: SELFTEST_INFO_LEN,
                        found: body.len(),
                    })?;
                Response::SelftestInfo(SelftestInfo {
                    entry_el: w.entry_el.get(),
                    doorbell_sgi: w.doorbell_sgi.get(),
                    doorbell_spi: w.doorbell_spi.get(),
                    psci_conduit: w.psci_conduit.get(),
                    cntfrq: w.cntfrq.get(),
                    entry_cntpct: w.entry_cntpct.get(),
                    now_cntpct: w.now_cntpct.get(),
                    window: w.window.get(),
                    sgis_received: w.sgis_received.get(),
                    spis_raised: w.spis_raised.get(),
                })
            }
            op::SELFTEST_SHM_RESULT => {
                let w =
                    WireShmResult::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                        opcode: op::SELFTEST_SHM_RESULT,
                        expected: SELFTEST_SHM_RESULT_LEN,
                        found: body.len(),
                    })?;
                Response::SelftestShm(ShmResult {
                    mismatches: w.mismatches.get(),
                    first_bad: w.first_bad.get(),
                    seed: w.seed.get(),
                    pattern: w.pattern,
                })
            }
            op::SELFTEST_TIMER_RESULT => {
                let w =
                    WireTimerResult::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                        opcode: op::SELFTEST_TIMER_RESULT,
                        expected: SELFTEST_TIMER_RESULT_LEN,
                        found: body.len(),
                    })?;
                Response::SelftestTimer(TimerLatency {
                    count: w.count.get(),
                    lost: w.lost.get(),
                    cntfrq: w.cntfrq.get(),
                    min: w.min.get(),
                    p50: w.p50.get(),
                    p99: w.p99.get(),
                    max: w.max.get(),
                })
            }
            op::TASK_INFO => {
                let w = WireTaskInfo::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::TASK_INFO,
                    expected: TASK_INFO_LEN,
                    found: body.len(),
                })?;
                Response::Task(TaskInfo {
                    index: w.index.get(),
                    count: w.count.get(),
                    period_us: w.period_us.get(),
                    overruns: w.overruns.get(),
                    runs: w.runs.get(),
                    worst_late_ns: w.worst_late_ns.get(),
                    last_late_ns: w.last_late_ns.get(),
                    late_sum_ns: w.late_sum_ns.get(),
                    name: w.name,
                })
            }
            _ => {
                let w = WireError::read_from_bytes(body).map_err(|_| ProtoError::BadLength {
                    opcode: op::ERROR,
                    expected: 4,
                    found: body.len(),
                })?;
                Response::Error {
                    code: ErrorCode::from_u16(w.code.get()),
                    opcode: w.opcode,
                }
            }
        };
        Ok((header.tag.get(), response))
    }
}

/// What the firmware provides to [`serve`].
pub trait Service {
    /// Answer to VERSION.
    fn version(&self) -> VersionInfo;
    /// Answer to STATS (current counters).
    fn stats(&self) -> Stats;
    /// Whether FAULT requests are honoured: only in a debug/test build of
    /// the firmware. Every fault kind, present and future, is gated here.
    fn faults_enabled(&self) -> bool;
    /// Answer to SELFTEST_INFO; `None` (the default): ERROR `Unsupported`.
    fn selftest_info(&self) -> Option<SelftestInfo> {
        None
    }
    /// Runs SELFTEST_TIMER (arguments already range-checked); `None` (the
    /// default): ERROR `Unsupported`.
    fn timer_latency(&self, count: u32, period_us: u32) -> Option<TimerLatency> {
        let _ = (count, period_us);
        None
    }
    /// Answer to TASK for task `index` (the firmware runtime's periodic
    /// tasks); `None` (the default): ERROR `Unsupported`.
    fn task(&self, index: u32) -> Option<TaskInfo> {
        let _ = index;
        None
    }
}

/// The firmware's side of SELFTEST_SHM: checks the host's pattern and
/// writes its own (seed inverted) into the answer.
pub fn serve_shm(seed: u32, got: &[u8; SHM_PATTERN_LEN]) -> ShmResult {
    let (mismatches, first_bad) = check_pattern(seed, got);
    let mut out = [0u8; SHM_PATTERN_LEN];
    pattern(!seed, &mut out);
    ShmResult {
        mismatches,
        first_bad,
        seed: !seed,
        pattern: out,
    }
}

/// Median and 99th percentile of sorted samples (nearest rank); zeros for
/// none.
pub fn percentiles(sorted: &[u64]) -> (u64, u64, u64, u64) {
    let n = sorted.len();
    if n == 0 {
        return (0, 0, 0, 0);
    }
    let rank = |p: usize| sorted[((n * p).div_ceil(100)).clamp(1, n) - 1];
    (sorted[0], rank(50), rank(99), sorted[n - 1])
}

/// Result of [`serve`]: send `reply[..len]` back to the requester's address,
/// then, if `fault` is set, fault that way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Served {
    /// Length of the reply written to the output buffer (always > 0).
    pub len: usize,
    /// Fault to trigger after the reply has been sent.
    pub fault: Option<FaultKind>,
}

fn unsupported(opcode: u8) -> (Response, Option<FaultKind>) {
    (
        Response::Error {
            code: ErrorCode::Unsupported,
            opcode,
        },
        None,
    )
}

/// Serves one request message: decodes it, asks `service` for the data and
/// writes the reply into `out`. Malformed requests get an ERROR reply (with
/// tag 0 and opcode 0 when the message is too short to carry them); every
/// message gets exactly one reply.
pub fn serve<S: Service + ?Sized>(
    service: &S,
    request: &[u8],
    out: &mut [u8; MAX_MESSAGE_LEN],
) -> Served {
    let header = Header::read_from_prefix(request).ok().map(|(h, _)| h);
    let (tag, opcode) = header.map_or((0, 0), |h| (h.tag.get(), h.opcode));
    let (response, fault) = match Request::decode(request) {
        Ok((_, Request::Ping { nonce })) => (Response::Pong { nonce }, None),
        Ok((_, Request::Version)) => (Response::Version(service.version()), None),
        Ok((_, Request::Stats)) => (Response::Stats(service.stats()), None),
        Ok((_, Request::SelftestInfo)) => match service.selftest_info() {
            Some(i) => (Response::SelftestInfo(i), None),
            None => unsupported(opcode),
        },
        Ok((_, Request::SelftestShm { seed, pattern })) => {
            (Response::SelftestShm(serve_shm(seed, &pattern)), None)
        }
        Ok((_, Request::SelftestTimer { count, period_us })) => {
            match service.timer_latency(count, period_us) {
                Some(t) => (Response::SelftestTimer(t), None),
                None => unsupported(opcode),
            }
        }
        Ok((_, Request::Task { index })) => match service.task(index) {
            Some(t) => (Response::Task(t), None),
            None => unsupported(opcode),
        },
        Ok((_, Request::Fault { kind })) => {
            if service.faults_enabled() {
                (Response::FaultAck { kind }, Some(kind))
            } else {
                (
                    Response::Error {
                        code: ErrorCode::Unsupported,
                        opcode,
                    },
                    None,
                )
            }
        }
        Err(e) => (
            Response::Error {
                code: e.code(),
                opcode,
            },
            None,
        ),
    };
    // MAX_MESSAGE_LEN fits every response, so encoding cannot fail.
    let len = response.encode(tag, out).unwrap_or(0);
    Served { len, fault }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_req(r: Request, tag: u32) -> ([u8; MAX_MESSAGE_LEN], usize) {
        let mut b = [0u8; MAX_MESSAGE_LEN];
        let n = r.encode(tag, &mut b).unwrap();
        (b, n)
    }

    fn enc_resp(r: Response, tag: u32) -> ([u8; MAX_MESSAGE_LEN], usize) {
        let mut b = [0u8; MAX_MESSAGE_LEN];
        let n = r.encode(tag, &mut b).unwrap();
        (b, n)
    }

    struct Fw;
    impl Service for Fw {
        fn version(&self) -> VersionInfo {
            VersionInfo::new("0.1.0", "qemu-virt")
        }
        fn stats(&self) -> Stats {
            Stats {
                messages: 5,
                bytes: 300,
                errors: 1,
                uptime_ms: 1234,
            }
        }
        fn faults_enabled(&self) -> bool {
            false
        }
    }
    /// A debug/test build: FAULT honoured.
    struct DebugFw;
    impl Service for DebugFw {
        fn version(&self) -> VersionInfo {
            Fw.version()
        }
        fn stats(&self) -> Stats {
            Fw.stats()
        }
        fn faults_enabled(&self) -> bool {
            true
        }
    }

    #[test]
    fn ping_bytes() {
        let (b, n) = enc_req(
            Request::Ping {
                nonce: 0x1122_3344_5566_7788,
            },
            0xA1B2_C3D4,
        );
        assert_eq!(
            &b[..n],
            &[
                1, 0x01, 8, 0, 0xD4, 0xC3, 0xB2, 0xA1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
                0x11
            ]
        );
        assert_eq!(
            Request::decode(&b[..n]).unwrap(),
            (
                0xA1B2_C3D4,
                Request::Ping {
                    nonce: 0x1122_3344_5566_7788
                }
            )
        );
        let (b, n) = enc_resp(Response::Pong { nonce: 7 }, 9);
        assert_eq!(
            &b[..n],
            &[1, 0x81, 8, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn empty_requests_bytes() {
        let (b, n) = enc_req(Request::Version, 1);
        assert_eq!(&b[..n], &[1, 0x02, 0, 0, 1, 0, 0, 0]);
        let (b, n) = enc_req(Request::Stats, 0x0102_0304);
        assert_eq!(&b[..n], &[1, 0x03, 0, 0, 4, 3, 2, 1]);
    }

    #[test]
    fn fault_bytes() {
        let (b, n) = enc_req(
            Request::Fault {
                kind: FaultKind::Panic,
            },
            2,
        );
        assert_eq!(&b[..n], &[1, 0x04, 4, 0, 2, 0, 0, 0, 2, 0, 0, 0]);
        let (b, n) = enc_resp(
            Response::FaultAck {
                kind: FaultKind::DataAbort,
            },
            2,
        );
        assert_eq!(&b[..n], &[1, 0x84, 4, 0, 2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(FaultKind::from_u32(4), Some(FaultKind::StackOverflow));
        assert_eq!(
            FaultKind::from_name("stack-overflow"),
            Some(FaultKind::StackOverflow)
        );
        assert_eq!(FaultKind::from_u32(5), Some(FaultKind::Hang));
        assert_eq!(
            FaultKind::from_name("hang-masked"),
            Some(FaultKind::HangMasked)
        );
        assert_eq!(FaultKind::from_u32(7), None);
        let bad = [1, 0x04, 4, 0, 2, 0, 0, 0, 9, 0, 0, 0];
        assert_eq!(
            Request::decode(&bad),
            Err(ProtoError::BadArgument { opcode: op::FAULT })
        );
    }

    #[test]
    fn version_info_bytes() {
        let v = VersionInfo::new("1.2.3", "rtd1619b");
        let (b, n) = enc_resp(Response::Version(v), 3);
        assert_eq!(n, 8 + 68);
        assert_eq!(&b[..8], &[1, 0x82, 68, 0, 3, 0, 0, 0]);
        assert_eq!(&b[8..12], &[1, 0, 0, 0]);
        assert_eq!(&b[12..17], b"1.2.3");
        assert!(b[17..44].iter().all(|&x| x == 0));
        assert_eq!(&b[44..52], b"rtd1619b");
        assert!(b[52..76].iter().all(|&x| x == 0));
        let (tag, r) = Response::decode(&b[..n]).unwrap();
        assert_eq!(tag, 3);
        match r {
            Response::Version(v) => {
                assert_eq!(v.protocol, 1);
                assert_eq!(v.firmware_str(), "1.2.3");
                assert_eq!(v.board_str(), "rtd1619b");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stats_bytes() {
        let s = Stats {
            messages: 1,
            bytes: 0x0203,
            errors: 4,
            uptime_ms: 0x0100_0000_0000,
        };
        let (b, n) = enc_resp(Response::Stats(s), 0);
        assert_eq!(n, 40);
        assert_eq!(&b[..8], &[1, 0x83, 32, 0, 0, 0, 0, 0]);
        assert_eq!(&b[8..16], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[16..24], &[3, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[24..32], &[4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[32..40], &[0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(Response::decode(&b[..n]).unwrap(), (0, Response::Stats(s)));
    }

    #[test]
    fn error_bytes() {
        let r = Response::Error {
            code: ErrorCode::BadLength,
            opcode: 0x03,
        };
        let (b, n) = enc_resp(r, 0x10);
        assert_eq!(&b[..n], &[1, 0xFF, 4, 0, 0x10, 0, 0, 0, 2, 0, 3, 0]);
        assert_eq!(Response::decode(&b[..n]).unwrap(), (0x10, r));
        let other = [1, 0xFF, 4, 0, 0, 0, 0, 0, 0x34, 0x12, 1, 0];
        assert_eq!(
            Response::decode(&other).unwrap().1,
            Response::Error {
                code: ErrorCode::Other(0x1234),
                opcode: 1
            }
        );
    }

    #[test]
    fn decode_errors() {
        assert_eq!(
            Request::decode(&[1, 2, 0]),
            Err(ProtoError::Truncated { len: 3 })
        );
        assert_eq!(
            Request::decode(&[2, 1, 0, 0, 0, 0, 0, 0]),
            Err(ProtoError::BadVersion { version: 2 })
        );
        // header len says 8, body has 4
        assert_eq!(
            Request::decode(&[1, 1, 8, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
            Err(ProtoError::BadLength {
                opcode: 1,
                expected: 8,
                found: 4
            })
        );
        // consistent header, wrong body size for the opcode
        assert_eq!(
            Request::decode(&[1, 2, 1, 0, 0, 0, 0, 0, 9]),
            Err(ProtoError::BadLength {
                opcode: 2,
                expected: 0,
                found: 1
            })
        );
        assert_eq!(
            Request::decode(&[1, 0x42, 0, 0, 0, 0, 0, 0]),
            Err(ProtoError::UnknownOpcode { opcode: 0x42 })
        );
        // a response opcode is not a request
        assert_eq!(
            Request::decode(&[1, 0x81, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtoError::UnknownOpcode { opcode: 0x81 })
        );
        let mut small = [0u8; 10];
        assert_eq!(
            Request::Ping { nonce: 1 }.encode(0, &mut small),
            Err(ProtoError::BufferTooSmall { need: 16 })
        );
    }

    #[test]
    fn serve_answers_everything() {
        let mut out = [0u8; MAX_MESSAGE_LEN];
        let (b, n) = enc_req(Request::Ping { nonce: 42 }, 77);
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(s.fault, None);
        assert_eq!(
            Response::decode(&out[..s.len]).unwrap(),
            (77, Response::Pong { nonce: 42 })
        );

        let (b, n) = enc_req(Request::Stats, 5);
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(
            Response::decode(&out[..s.len]).unwrap(),
            (5, Response::Stats(Fw.stats()))
        );

        let (b, n) = enc_req(Request::Version, 6);
        let s = serve(&Fw, &b[..n], &mut out);
        let (_, r) = Response::decode(&out[..s.len]).unwrap();
        assert!(r.answers(op::VERSION));

        let s = serve(&Fw, &[1, 0x42, 0, 0, 8, 0, 0, 0], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 8, 0, 0, 0, 1, 0, 0x42, 0]);

        let s = serve(&Fw, &[1, 0x01, 1, 0, 8, 0, 0, 0, 0], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 8, 0, 0, 0, 2, 0, 0x01, 0]);

        let s = serve(&Fw, &[1, 0x01], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 0, 0, 0, 0, 2, 0, 0, 0]);

        let s = serve(&Fw, &[3, 0x01, 0, 0, 1, 0, 0, 0], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 1, 0, 0, 0, 3, 0, 0x01, 0]);
    }

    #[test]
    fn serve_fault() {
        // Every kind: a production firmware (Fw) answers Unsupported and
        // asks for no fault; a debug build acknowledges, then faults.
        for (tag, kind) in FaultKind::ALL.into_iter().enumerate() {
            let mut out = [0u8; MAX_MESSAGE_LEN];
            let (b, n) = enc_req(Request::Fault { kind }, tag as u32);
            let s = serve(&Fw, &b[..n], &mut out);
            assert_eq!(s.fault, None, "{kind}");
            assert_eq!(
                Response::decode(&out[..s.len]).unwrap(),
                (
                    tag as u32,
                    Response::Error {
                        code: ErrorCode::Unsupported,
                        opcode: op::FAULT
                    }
                ),
                "{kind}"
            );
            let s = serve(&DebugFw, &b[..n], &mut out);
            assert_eq!(s.fault, Some(kind));
            assert_eq!(
                Response::decode(&out[..s.len]).unwrap(),
                (tag as u32, Response::FaultAck { kind })
            );
        }
    }

    /// A firmware with the self-test commands.
    struct SelftestFw;
    impl Service for SelftestFw {
        fn version(&self) -> VersionInfo {
            Fw.version()
        }
        fn stats(&self) -> Stats {
            Fw.stats()
        }
        fn faults_enabled(&self) -> bool {
            false
        }
        fn selftest_info(&self) -> Option<SelftestInfo> {
            Some(SelftestInfo {
                entry_el: 1,
                doorbell_sgi: 7,
                doorbell_spi: 152,
                psci_conduit: CONDUIT_HVC,
                cntfrq: 62_500_000,
                entry_cntpct: 0x1122,
                now_cntpct: 0x3344,
                window: 0x7000_0000,
                sgis_received: 9,
                spis_raised: 10,
            })
        }
        fn timer_latency(&self, count: u32, _period_us: u32) -> Option<TimerLatency> {
            Some(TimerLatency {
                count,
                lost: 0,
                cntfrq: 62_500_000,
                min: 1,
                p50: 2,
                p99: 3,
                max: 4,
            })
        }
    }

    #[test]
    fn selftest_info_bytes() {
        let (b, n) = enc_req(Request::SelftestInfo, 0x11);
        assert_eq!(&b[..n], &[1, 0x10, 0, 0, 0x11, 0, 0, 0]);
        let info = SelftestFw.selftest_info().unwrap();
        let (b, n) = enc_resp(Response::SelftestInfo(info), 0x11);
        assert_eq!(n, 8 + 64);
        assert_eq!(&b[..8], &[1, 0x90, 64, 0, 0x11, 0, 0, 0]);
        assert_eq!(
            &b[8..24],
            &[1, 0, 0, 0, 7, 0, 0, 0, 152, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(&b[24..32], &62_500_000u64.to_le_bytes());
        assert_eq!(&b[32..40], &[0x22, 0x11, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[40..48], &[0x44, 0x33, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[48..56], &[0, 0, 0, 0x70, 0, 0, 0, 0]);
        assert_eq!(&b[56..64], &[9, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[64..72], &[10, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            Response::decode(&b[..n]).unwrap(),
            (0x11, Response::SelftestInfo(info))
        );
        // A firmware without the self-test answers Unsupported.
        let mut out = [0u8; MAX_MESSAGE_LEN];
        let (b, n) = enc_req(Request::SelftestInfo, 3);
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 3, 0, 0, 0, 4, 0, 0x10, 0]);
        let s = serve(&SelftestFw, &b[..n], &mut out);
        assert_eq!(
            Response::decode(&out[..s.len]).unwrap(),
            (3, Response::SelftestInfo(info))
        );
    }

    #[test]
    fn selftest_shm_bytes_and_both_directions() {
        let mut p = [0u8; SHM_PATTERN_LEN];
        pattern(0xDEAD_BEEF, &mut p);
        // xorshift32 of 0xDEADBEEF: 0x477D20B7 (Marsaglia's shifts 13/17/5;
        // computed independently in Python).
        assert_eq!(p[0], 0xB7);
        assert_ne!(p[..128], p[128..], "no short period");
        let (b, n) = enc_req(
            Request::SelftestShm {
                seed: 0xDEAD_BEEF,
                pattern: p,
            },
            5,
        );
        assert_eq!(n, 8 + 260);
        assert_eq!(
            &b[..12],
            &[1, 0x11, 4, 1, 5, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE]
        );
        assert_eq!(&b[12..n], &p[..]);
        // The firmware finds the host's pattern intact and writes its own.
        let mut out = [0u8; MAX_MESSAGE_LEN];
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(s.len, 8 + 272);
        assert_eq!(&out[..8], &[1, 0x91, 16, 1, 5, 0, 0, 0]);
        assert_eq!(&out[8..16], &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(&out[16..20], &(!0xDEAD_BEEFu32).to_le_bytes());
        let Ok((5, Response::SelftestShm(r))) = Response::decode(&out[..s.len]) else {
            panic!("not a SELFTEST_SHM_RESULT");
        };
        assert_eq!((r.mismatches, r.first_bad), (0, NO_MISMATCH));
        assert_eq!(check_pattern(r.seed, &r.pattern), (0, NO_MISMATCH));
        // Two bytes damaged on the way in (a stale cache line, say).
        let mut bad = b;
        bad[12 + 70] ^= 0x10;
        bad[12 + 200] = !bad[12 + 200];
        let s = serve(&Fw, &bad[..n], &mut out);
        let Ok((_, Response::SelftestShm(r))) = Response::decode(&out[..s.len]) else {
            panic!("not a SELFTEST_SHM_RESULT");
        };
        assert_eq!((r.mismatches, r.first_bad), (2, 70));
        // Longer buffers: each 256-byte chunk uses the next seed.
        let mut long = [0u8; 2 * SHM_PATTERN_LEN];
        pattern(9, &mut long[..SHM_PATTERN_LEN]);
        pattern(10, &mut long[SHM_PATTERN_LEN..]);
        assert_eq!(check_pattern(9, &long), (0, NO_MISMATCH));
        long[300] ^= 1;
        assert_eq!(check_pattern(9, &long), (1, 300));
    }

    #[test]
    fn selftest_timer_bytes() {
        let (b, n) = enc_req(
            Request::SelftestTimer {
                count: 1000,
                period_us: 500,
            },
            6,
        );
        assert_eq!(
            &b[..n],
            &[1, 0x12, 8, 0, 6, 0, 0, 0, 0xE8, 3, 0, 0, 0xF4, 1, 0, 0]
        );
        let mut out = [0u8; MAX_MESSAGE_LEN];
        let s = serve(&SelftestFw, &b[..n], &mut out);
        assert_eq!(s.len, 8 + 48);
        assert_eq!(&out[..8], &[1, 0x92, 48, 0, 6, 0, 0, 0]);
        assert_eq!(&out[8..16], &[0xE8, 3, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&out[16..24], &62_500_000u64.to_le_bytes());
        assert_eq!(&out[24..32], &1u64.to_le_bytes());
        assert_eq!(&out[48..56], &4u64.to_le_bytes());
        assert_eq!(
            Response::decode(&out[..s.len]).unwrap().1,
            Response::SelftestTimer(TimerLatency {
                count: 1000,
                lost: 0,
                cntfrq: 62_500_000,
                min: 1,
                p50: 2,
                p99: 3,
                max: 4
            })
        );
        // Out of range: refused before the firmware runs anything.
        for (count, period) in [(0, 500), (TIMER_MAX_COUNT + 1, 500), (1, 0), (1, 10_001)] {
            let (b, n) = enc_req(
                Request::SelftestTimer {
                    count,
                    period_us: period,
                },
                7,
            );
            assert_eq!(
                Request::decode(&b[..n]),
                Err(ProtoError::BadArgument {
                    opcode: op::SELFTEST_TIMER
                })
            );
            let s = serve(&SelftestFw, &b[..n], &mut out);
            assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 7, 0, 0, 0, 5, 0, 0x12, 0]);
        }
        // Without the timer: Unsupported.
        let (b, n) = enc_req(
            Request::SelftestTimer {
                count: 1,
                period_us: 1,
            },
            8,
        );
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(&out[..s.len], &[1, 0xFF, 4, 0, 8, 0, 0, 0, 4, 0, 0x12, 0]);
        assert_eq!(percentiles(&[]), (0, 0, 0, 0));
        let mut v = [0u64; 200];
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as u64 + 1;
        }
        assert_eq!(percentiles(&v), (1, 100, 198, 200));
        assert_eq!(percentiles(&[5]), (5, 5, 5, 5));
    }

    #[test]
    fn text_fields() {
        let long = "abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(field_text(&text_field(long)), &long[..32]);
        // 31 ASCII bytes then a 2-byte char: it must not be split
        let s = "0123456789012345678901234567890é";
        assert_eq!(field_text(&text_field(s)), &s[..31]);
        assert_eq!(field_text(&[b'a', 0xFF, b'b']), "a");
        assert_eq!(
            FaultKind::from_name("data-abort"),
            Some(FaultKind::DataAbort)
        );
        assert_eq!(FaultKind::from_name("nope"), None);
    }

    /// A firmware of the runtime with two periodic tasks.
    struct TaskFw;
    impl Service for TaskFw {
        fn version(&self) -> VersionInfo {
            Fw.version()
        }
        fn stats(&self) -> Stats {
            Fw.stats()
        }
        fn faults_enabled(&self) -> bool {
            false
        }
        fn task(&self, index: u32) -> Option<TaskInfo> {
            let mut t = TaskInfo {
                index,
                count: 2,
                ..TaskInfo::default()
            };
            if index == 1 {
                t.period_us = 1000;
                t.overruns = 3;
                t.runs = 0x0102;
                t.worst_late_ns = 0x0A0B;
                t.last_late_ns = 7;
                t.late_sum_ns = 0x0100_0000_0000;
                t.name = text_field_n("tick");
            }
            Some(t)
        }
    }

    fn text_field_n(s: &str) -> [u8; TASK_NAME_LEN] {
        let mut f = [0u8; TASK_NAME_LEN];
        f[..s.len()].copy_from_slice(s.as_bytes());
        f
    }

    #[test]
    fn task_bytes() {
        let (b, n) = enc_req(Request::Task { index: 0x0102_0304 }, 9);
        assert_eq!(&b[..n], &[1, 0x20, 4, 0, 9, 0, 0, 0, 4, 3, 2, 1]);
        assert_eq!(
            Request::decode(&b[..n]).unwrap(),
            (9, Request::Task { index: 0x0102_0304 })
        );
        // Served by a firmware with tasks: TASK_INFO, 64 bytes, every field
        // at its offset (docs/control-protocol.md, "TASK_INFO").
        let (b, n) = enc_req(Request::Task { index: 1 }, 0x0A0B_0C0D);
        let mut out = [0u8; MAX_MESSAGE_LEN];
        let s = serve(&TaskFw, &b[..n], &mut out);
        assert_eq!(s.fault, None);
        let mut want = [0u8; HEADER_LEN + TASK_INFO_LEN];
        let mut at = 0;
        for part in [
            &[1u8, 0xA0, 64, 0, 0x0D, 0x0C, 0x0B, 0x0A][..],
            &[1, 0, 0, 0],                   // index
            &[2, 0, 0, 0],                   // count
            &[0xE8, 0x03, 0, 0],             // period_us 1000
            &[3, 0, 0, 0],                   // overruns
            &[2, 1, 0, 0, 0, 0, 0, 0],       // runs
            &[0x0B, 0x0A, 0, 0, 0, 0, 0, 0], // worst_late_ns
            &[7, 0, 0, 0, 0, 0, 0, 0],       // last_late_ns
            &[0, 0, 0, 0, 0, 1, 0, 0],       // late_sum_ns
            b"tick\0\0\0\0\0\0\0\0\0\0\0\0", // name
        ] {
            want[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        assert_eq!(at, want.len());
        assert_eq!(&out[..s.len], &want[..]);
        let (tag, r) = Response::decode(&out[..s.len]).unwrap();
        assert_eq!(tag, 0x0A0B_0C0D);
        let Response::Task(t) = r else {
            panic!("{r:?}")
        };
        assert_eq!((t.index, t.count, t.name_str()), (1, 2, "tick"));
        assert!(r.answers(op::TASK));
        assert_eq!(
            Response::Task(t).encode(0x0A0B_0C0D, &mut [0u8; 80]),
            Ok(72)
        );
        // A firmware without the runtime's scheduler: Unsupported.
        let s = serve(&Fw, &b[..n], &mut out);
        assert_eq!(
            Response::decode(&out[..s.len]).unwrap().1,
            Response::Error {
                code: ErrorCode::Unsupported,
                opcode: op::TASK
            }
        );
        // Wrong body sizes are refused.
        let mut short = b;
        short[2] = 3;
        assert!(matches!(
            Request::decode(&short[..n - 1]),
            Err(ProtoError::BadLength {
                opcode: op::TASK,
                expected: 4,
                found: 3
            })
        ));
    }
}

//! The control page: one 4 KiB page of shared memory between the firmware
//! on CPU3 and Linux's `rtd_amp_rproc` driver (`docs/kernel.md`, "Control
//! page"). This crate is the single source of truth of its layout: the
//! firmware (`rtd-amp-rt`) uses the constants below, and the driver's C
//! header `recipes-kernel/rtd-amp-modules/files/rtd_amp_ctrl.h` is generated
//! from [`ITEMS`] by [`write_c_header`] (`tests/c_header.rs` fails when the
//! checked-in header differs; `AMP_CTRL_BLESS=1` rewrites it). The table in
//! `docs/kernel.md` is checked against [`ITEMS`] by the same test.
//!
//! Every field is little-endian (both sides are AArch64) and naturally
//! aligned. Offsets are from the start of the page.
//!
//! [`check_attach`] states the rules the driver applies before it trusts a
//! page it did not initialise itself (attaching to a running firmware); the
//! C implementation in `rtd_amp_rproc.c` follows it rule for rule.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;

/// One named constant of the layout, as the C header gets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// Rust name; the C name is `CTRL_` + this without a leading `OFF_`.
    pub name: &'static str,
    /// Value (an offset, a size, or a marker value).
    pub value: u64,
    /// One-line description (the doc comment).
    pub doc: &'static str,
}

impl Item {
    /// The name the C header gives it.
    pub fn c_name(&self) -> CName {
        CName(self.name)
    }
}

/// Display of an [`Item`]'s C name.
#[derive(Clone, Copy, Debug)]
pub struct CName(&'static str);

impl fmt::Display for CName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CTRL_{}", self.0.strip_prefix("OFF_").unwrap_or(self.0))
    }
}

macro_rules! layout {
    ($( $(#[doc = $d:literal])+ $name:ident: $ty:ty = $val:expr; )*) => {
        $( $(#[doc = $d])+ pub const $name: $ty = $val; )*
        /// Every constant above, in order, for the C header and the docs.
        pub const ITEMS: &[Item] = &[
            $( Item { name: stringify!($name), value: $name as u64, doc: layout!(@first $($d)+) }, )*
        ];
    };
    (@first $d:literal $($rest:literal)*) => { $d };
}

layout! {
    /// Size of the page, bytes.
    SIZE: usize = 0x1000;
    /// Layout version this firmware and driver speak (1: no attach fields).
    LAYOUT_VERSION: u32 = 2;
    /// "RAMP" (LE): the page was initialised by an rtd-amp firmware.
    MAGIC_VALUE: u32 = 0x504D_4152;
    /// "STOP" (as a big-endian word): Linux asks the firmware to stop.
    STOP_VALUE: u32 = 0x5354_4F50;

    /// u32: [`MAGIC_VALUE`], written by the firmware at entry.
    OFF_MAGIC: usize = 0x00;
    /// u32: [`LAYOUT_VERSION`] of the firmware that wrote the page.
    OFF_VERSION: usize = 0x04;
    /// u32: firmware state, one of the `STATE_*` values.
    OFF_FW_STATE: usize = 0x08;
    /// u32: [`STOP_VALUE`] when Linux asks for a stop (Linux writes it).
    OFF_STOP_REQ: usize = 0x0C;
    /// u32: crash records written so far (wrapping).
    OFF_CRASH_SEQ: usize = 0x10;
    /// u32 (v2): size in bytes of the loaded resource table.
    OFF_RSC_SIZE: usize = 0x14;
    /// u64 (v2): physical address of the loaded resource table.
    OFF_RSC_ADDR: usize = 0x18;
    /// u64 (v2): CNTPCT_EL0 when the firmware started serving.
    OFF_RUN_CNT: usize = 0x20;
    /// u64 (v2): CNTFRQ_EL0 as the firmware reads it (ticks per second).
    OFF_RUN_FRQ: usize = 0x28;
    /// u32 (v2): times Linux re-initialised virtio (status reset) since entry.
    OFF_VIRTIO_RESETS: usize = 0x30;

    /// Crash record (0x40..0x13F), valid once the state is crashed.
    OFF_CRASH: usize = 0x40;
    /// u32: kind of the crash, one of the `CRASH_KIND_*` values.
    OFF_CRASH_KIND: usize = 0x40;
    /// u64: ESR_EL1.
    OFF_CRASH_ESR: usize = 0x48;
    /// u64: ELR_EL1, the faulting instruction.
    OFF_CRASH_ELR: usize = 0x50;
    /// u64: FAR_EL1, the faulting address.
    OFF_CRASH_FAR: usize = 0x58;
    /// u64: SPSR_EL1.
    OFF_CRASH_SPSR: usize = 0x60;
    /// u64: stack pointer at the exception.
    OFF_CRASH_SP: usize = 0x68;
    /// u64[8]: x0..x7 at the exception.
    OFF_CRASH_X0: usize = 0x70;
    /// Registers in the crash record.
    CRASH_NR_X: usize = 8;
    /// char[128]: NUL-terminated message (panic text or exception class).
    OFF_CRASH_MSG: usize = 0xB0;
    /// Bytes of the crash message, terminator included.
    CRASH_MSG_LEN: usize = 128;

    /// u32: CurrentEL.EL at the firmware's entry (boot stamp, 0x200..0x2FF).
    OFF_ST_ENTRY_EL: usize = 0x200;
    /// u32: the SGI the firmware takes as Linux's doorbell.
    OFF_ST_SGI: usize = 0x204;
    /// u32: the interrupt id (SPI + 32) the firmware raises towards Linux.
    OFF_ST_SPI: usize = 0x208;
    /// u32: [`ST_MAGIC_VALUE`] once the stamp is complete (written last).
    OFF_ST_MAGIC: usize = 0x20C;
    /// u64: CNTFRQ_EL0 at entry.
    OFF_ST_CNTFRQ: usize = 0x210;
    /// u64: CNTPCT_EL0 at the firmware's first Rust instruction.
    OFF_ST_ENTRY_CNT: usize = 0x218;
    /// u64: the AMP window's physical base the firmware was built for.
    OFF_ST_WINDOW: usize = 0x220;
    /// u64: MPIDR_EL1 of the core the firmware runs on.
    OFF_ST_MPIDR: usize = 0x228;
    /// u64: doorbell SGIs received since entry.
    OFF_ST_SGIS: usize = 0x230;
    /// u64: doorbell SPIs raised since entry.
    OFF_ST_SPIS: usize = 0x238;
    /// End of the boot-stamp block.
    ST_END: usize = 0x300;
    /// "STMP" (LE): the boot stamp is complete.
    ST_MAGIC_VALUE: u32 = 0x504D_5453;

    /// u32: doorbell ping sequence number (Linux's debug build writes it).
    OFF_PING_SEQ: usize = 0x300;
    /// u32: the firmware copies the sequence number here, then rings back.
    OFF_PING_ACK: usize = 0x304;
    /// u32: service samples taken (doorbell received to first one sent).
    OFF_SVC_COUNT: usize = 0x308;
    /// u32: largest service time, ns.
    OFF_SVC_MAX: usize = 0x30C;
    /// u64: sum of the service times, ns.
    OFF_SVC_SUM: usize = 0x310;
    /// u32: pings answered.
    OFF_PINGS: usize = 0x318;
    /// u16[SVC_BINS]: service-time histogram (wrapping counters).
    OFF_SVC_HIST: usize = 0x320;
    /// Bins of the service-time histogram (0x320..0x37F).
    SVC_BINS: usize = 48;

    /// Firmware state: not running (Linux zeroed the page).
    STATE_OFF: u32 = 0;
    /// Firmware state: initialising.
    STATE_BOOTING: u32 = 1;
    /// Firmware state: serving.
    STATE_RUNNING: u32 = 2;
    /// Firmware state: a crash record is in the page.
    STATE_CRASHED: u32 = 3;
    /// Firmware state: acknowledged a stop request, about to call CPU_OFF.
    STATE_STOPPING: u32 = 4;

    /// Crash kind: synchronous exception.
    CRASH_KIND_SYNC: u32 = 1;
    /// Crash kind: unexpected IRQ vector.
    CRASH_KIND_IRQ: u32 = 2;
    /// Crash kind: unexpected FIQ vector.
    CRASH_KIND_FIQ: u32 = 3;
    /// Crash kind: SError.
    CRASH_KIND_SERROR: u32 = 4;
    /// Crash kind: Rust panic.
    CRASH_KIND_PANIC: u32 = 5;

    /// Smallest resource table the driver accepts (header, no entries).
    RSC_MIN_SIZE: u32 = 16;
    /// Largest resource table the driver accepts when attaching.
    RSC_MAX_SIZE: u32 = 0x1000;

    /// Resource-table entry type (vendor range 128..=512) of the stop/crash contract.
    ///
    /// `RSC_VENDOR_START..=RSC_VENDOR_END` of Linux's
    /// include/linux/remoteproc.h. Its body (after the type word) follows.
    RSC_CONTRACT_TYPE: u32 = 0xAA;
    /// Bytes of the contract entry's body (the type word not included).
    CONTRACT_LEN: usize = 16;
    /// "RAMC" (LE): the entry is an rtd-amp contract, not another vendor's.
    CONTRACT_MAGIC_VALUE: u32 = 0x434D_4152;
    /// Stop/crash contract version this firmware and driver speak.
    CONTRACT_VERSION: u32 = 1;
    /// Flag: the firmware serves the stop request from an interrupt.
    CONTRACT_F_STOP_IRQ: u32 = 1;
    /// Every flag contract version 1 defines; other bits must be zero.
    CONTRACT_FLAGS_KNOWN: u32 = 1;
    /// u32: [`CONTRACT_MAGIC_VALUE`] (offsets from the body's start).
    CONTRACT_OFF_MAGIC: usize = 0x00;
    /// u32: [`CONTRACT_VERSION`] the firmware implements.
    CONTRACT_OFF_VERSION: usize = 0x04;
    /// u32: the control-page [`LAYOUT_VERSION`] the firmware writes.
    CONTRACT_OFF_CTRL_VERSION: usize = 0x08;
    /// u32: [`CONTRACT_F_*`] flags.
    CONTRACT_OFF_FLAGS: usize = 0x0C;
}

const _: () = assert!(
    RSC_CONTRACT_TYPE >= 128
        && RSC_CONTRACT_TYPE <= 512
        && CONTRACT_OFF_FLAGS + 4 == CONTRACT_LEN
        && CONTRACT_LEN % 4 == 0
        && CONTRACT_F_STOP_IRQ & !CONTRACT_FLAGS_KNOWN == 0
);

/// The contract entry's body (after its type word) as a firmware publishes
/// it: magic, [`CONTRACT_VERSION`], [`LAYOUT_VERSION`], `flags`.
pub const fn contract_body(flags: u32) -> [u8; CONTRACT_LEN] {
    let mut b = [0u8; CONTRACT_LEN];
    let words = [
        (CONTRACT_OFF_MAGIC, CONTRACT_MAGIC_VALUE),
        (CONTRACT_OFF_VERSION, CONTRACT_VERSION),
        (CONTRACT_OFF_CTRL_VERSION, LAYOUT_VERSION),
        (CONTRACT_OFF_FLAGS, flags),
    ];
    let mut i = 0;
    while i < words.len() {
        let (at, v) = words[i];
        let le = v.to_le_bytes();
        let mut j = 0;
        while j < 4 {
            b[at + j] = le[j];
            j += 1;
        }
        i += 1;
    }
    b
}

/// Why a contract entry is refused (the driver's `rsc-contract` rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractRefusal {
    /// The table has no entry of type [`RSC_CONTRACT_TYPE`].
    Missing,
    /// A second contract entry.
    Duplicate,
    /// The entry's body is shorter than [`CONTRACT_LEN`] (bytes left).
    Short(usize),
    /// The magic is not [`CONTRACT_MAGIC_VALUE`].
    Magic(u32),
    /// A contract version this driver does not implement.
    Version(u32),
    /// A control-page layout other than [`LAYOUT_VERSION`].
    CtrlVersion(u32),
    /// Flag bits outside [`CONTRACT_FLAGS_KNOWN`].
    Flags(u32),
}

impl fmt::Display for ContractRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ContractRefusal::Missing => write!(
                f,
                "no stop/crash contract entry (type {RSC_CONTRACT_TYPE}): not an rtd-amp firmware, or one that may never power its core off"
            ),
            ContractRefusal::Duplicate => write!(f, "a second stop/crash contract entry"),
            ContractRefusal::Short(n) => write!(
                f,
                "contract entry body needs {CONTRACT_LEN} bytes, {n} remain"
            ),
            ContractRefusal::Magic(m) => write!(
                f,
                "contract entry magic {m:#x} != {CONTRACT_MAGIC_VALUE:#x}"
            ),
            ContractRefusal::Version(v) => write!(
                f,
                "stop/crash contract version {v}, this driver implements {CONTRACT_VERSION}"
            ),
            ContractRefusal::CtrlVersion(v) => write!(
                f,
                "contract entry: control page version {v}, this driver speaks {LAYOUT_VERSION}"
            ),
            ContractRefusal::Flags(x) => write!(
                f,
                "contract entry flags {x:#x}: unknown bits {:#x}",
                x & !CONTRACT_FLAGS_KNOWN
            ),
        }
    }
}

/// The contract a firmware declares, read from a valid entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contract {
    /// [`CONTRACT_VERSION`].
    pub version: u32,
    /// `CONTRACT_F_*` flags.
    pub flags: u32,
}

/// The rules of one contract entry, `body` being the bytes from the end of
/// its type word to the end of the table. The order of the checks is the
/// driver's (`rtd_amp_check_contract()`), so both report the same first
/// failure.
pub fn check_contract(body: &[u8]) -> Result<Contract, ContractRefusal> {
    if body.len() < CONTRACT_LEN {
        return Err(ContractRefusal::Short(body.len()));
    }
    let w = |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    let magic = w(CONTRACT_OFF_MAGIC);
    if magic != CONTRACT_MAGIC_VALUE {
        return Err(ContractRefusal::Magic(magic));
    }
    let version = w(CONTRACT_OFF_VERSION);
    if version != CONTRACT_VERSION {
        return Err(ContractRefusal::Version(version));
    }
    let ctrl = w(CONTRACT_OFF_CTRL_VERSION);
    if ctrl != LAYOUT_VERSION {
        return Err(ContractRefusal::CtrlVersion(ctrl));
    }
    let flags = w(CONTRACT_OFF_FLAGS);
    if flags & !CONTRACT_FLAGS_KNOWN != 0 {
        return Err(ContractRefusal::Flags(flags));
    }
    Ok(Contract { version, flags })
}

// The blocks do not run into each other (the field-by-field check is a
// test below).
const _: () = assert!(
    OFF_VIRTIO_RESETS + 4 <= OFF_CRASH
        && OFF_CRASH == OFF_CRASH_KIND
        && OFF_CRASH_MSG + CRASH_MSG_LEN <= OFF_ST_ENTRY_EL
        && OFF_ST_SPIS + 8 <= ST_END
        && ST_END == OFF_PING_SEQ
        && OFF_SVC_HIST + 2 * SVC_BINS == 0x380
        && 0x380 <= SIZE
);

/// Why a page that Linux did not initialise is not trusted for attaching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The magic is not [`MAGIC_VALUE`]: no rtd-amp firmware wrote it.
    Magic(u32),
    /// An older or newer layout (version 1 has no resource-table address).
    Version(u32),
    /// The firmware is not serving (booting, crashed, stopping, off).
    State(u32),
    /// The resource table's size is outside
    /// [`RSC_MIN_SIZE`]..=[`RSC_MAX_SIZE`] or not a multiple of 4.
    RscSize(u32),
    /// The resource table does not lie entirely inside a firmware carveout.
    RscOutside(u64, u32),
    /// The running-since counter stamp is zero.
    NoRunStamp,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::Magic(m) => write!(f, "bad magic {m:#010x}"),
            Refusal::Version(v) => write!(
                f,
                "control page version {v}, this driver needs {LAYOUT_VERSION}"
            ),
            Refusal::State(s) => write!(f, "firmware state {s} is not running"),
            Refusal::RscSize(n) => write!(f, "resource table size {n} out of range"),
            Refusal::RscOutside(a, n) => {
                write!(f, "resource table {a:#x}+{n:#x} outside the carveouts")
            }
            Refusal::NoRunStamp => write!(f, "no running-since stamp"),
        }
    }
}

/// What the driver needs to attach, read from a valid page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attach {
    /// Physical address of the loaded resource table.
    pub rsc_addr: u64,
    /// Its size, bytes.
    pub rsc_size: u32,
    /// CNTPCT_EL0 when the firmware started serving.
    pub run_cnt: u64,
}

/// The attach rules. `read32`/`read64` read the page at an offset; a
/// carveout is `(physical base, size)`. The order of the checks is the
/// driver's, so both report the same first failure.
pub fn check_attach(
    read32: impl Fn(usize) -> u32,
    read64: impl Fn(usize) -> u64,
    carveouts: &[(u64, u64)],
) -> Result<Attach, Refusal> {
    let magic = read32(OFF_MAGIC);
    if magic != MAGIC_VALUE {
        return Err(Refusal::Magic(magic));
    }
    let version = read32(OFF_VERSION);
    if version != LAYOUT_VERSION {
        return Err(Refusal::Version(version));
    }
    let state = read32(OFF_FW_STATE);
    if state != STATE_RUNNING {
        return Err(Refusal::State(state));
    }
    let rsc_size = read32(OFF_RSC_SIZE);
    if !(RSC_MIN_SIZE..=RSC_MAX_SIZE).contains(&rsc_size) || rsc_size % 4 != 0 {
        return Err(Refusal::RscSize(rsc_size));
    }
    let rsc_addr = read64(OFF_RSC_ADDR);
    let inside = carveouts.iter().any(|&(base, size)| {
        rsc_addr >= base
            && rsc_addr % 8 == 0
            && (rsc_addr - base)
                .checked_add(u64::from(rsc_size))
                .is_some_and(|end| end <= size)
    });
    if !inside {
        return Err(Refusal::RscOutside(rsc_addr, rsc_size));
    }
    let run_cnt = read64(OFF_RUN_CNT);
    if run_cnt == 0 {
        return Err(Refusal::NoRunStamp);
    }
    Ok(Attach {
        rsc_addr,
        rsc_size,
        run_cnt,
    })
}

/// Writes the C header for the driver (`rtd_amp_ctrl.h`).
pub fn write_c_header(w: &mut impl fmt::Write) -> fmt::Result {
    w.write_str(
        "/* SPDX-License-Identifier: GPL-2.0 */\n\
         /*\n \
         * The control page shared with the firmware (docs/kernel.md).\n \
         * Generated from rust/crates/amp-ctrl-page/src/lib.rs; do not edit:\n \
         * AMP_CTRL_BLESS=1 cargo test -p amp-ctrl-page regenerates it.\n \
         */\n\
         #ifndef __RTD_AMP_CTRL_H\n\
         #define __RTD_AMP_CTRL_H\n\n",
    )?;
    for it in ITEMS {
        let name = it.c_name();
        let mut n = Counter(0);
        fmt::write(&mut n, format_args!("#define {name}"))?;
        let tabs = 32usize.saturating_sub(n.0).div_ceil(8);
        writeln!(w, "/* {} */", CDoc(it.doc.trim()))?;
        write!(w, "#define {name}")?;
        for _ in 0..tabs.max(1) {
            w.write_char('\t')?;
        }
        if it.value < 0x100 && !it.name.starts_with("OFF_") {
            writeln!(w, "{}", it.value)?;
        } else {
            writeln!(w, "{:#x}", it.value)?;
        }
    }
    w.write_str("\n#endif /* __RTD_AMP_CTRL_H */\n")
}

struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// A doc line for C: rustdoc links `[`X`]` become the C name `CTRL_X`.
struct CDoc(&'static str);

impl fmt::Display for CDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find("[`") {
            write!(f, "{}", NoTicks(&rest[..i]))?;
            let after = &rest[i + 2..];
            match after.find("`]") {
                Some(j) => {
                    let name = &after[..j];
                    match name.strip_suffix("_*") {
                        Some(stem) => write!(f, "CTRL_{stem}_*")?,
                        None => write!(f, "CTRL_{}", name.strip_prefix("OFF_").unwrap_or(name))?,
                    }
                    rest = &after[j + 2..];
                }
                None => {
                    write!(f, "{}", NoTicks(&rest[i..]))?;
                    rest = "";
                }
            }
        }
        write!(f, "{}", NoTicks(rest))
    }
}

/// Strips the rustdoc backticks of a doc line.
struct NoTicks<'a>(&'a str);

impl fmt::Display for NoTicks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.split('`').try_for_each(|p| f.write_str(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARVEOUT: (u64, u64) = (0x7000_0000, 0x40_0000);

    /// A page as a v2 firmware publishes it.
    fn page() -> [u8; SIZE] {
        let mut p = [0u8; SIZE];
        put32(&mut p, OFF_MAGIC, MAGIC_VALUE);
        put32(&mut p, OFF_VERSION, LAYOUT_VERSION);
        put32(&mut p, OFF_FW_STATE, STATE_RUNNING);
        put32(&mut p, OFF_RSC_SIZE, 0x8C);
        put64(&mut p, OFF_RSC_ADDR, 0x7000_2000);
        put64(&mut p, OFF_RUN_CNT, 12_345);
        p
    }

    fn put32(p: &mut [u8], at: usize, v: u32) {
        p[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn put64(p: &mut [u8], at: usize, v: u64) {
        p[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn check(p: &[u8]) -> Result<Attach, Refusal> {
        check_attach(
            |o| u32::from_le_bytes(p[o..o + 4].try_into().unwrap()),
            |o| u64::from_le_bytes(p[o..o + 8].try_into().unwrap()),
            &[(0x1000, 0x1000), CARVEOUT],
        )
    }

    #[test]
    fn a_published_page_is_accepted() {
        assert_eq!(
            check(&page()),
            Ok(Attach {
                rsc_addr: 0x7000_2000,
                rsc_size: 0x8C,
                run_cnt: 12_345
            })
        );
        // The last byte of the table may be the carveout's last byte.
        let mut p = page();
        put64(&mut p, OFF_RSC_ADDR, CARVEOUT.0 + CARVEOUT.1 - 0x90);
        put32(&mut p, OFF_RSC_SIZE, 0x90);
        assert!(check(&p).is_ok());
    }

    #[test]
    fn every_rule_refuses_a_bad_page() {
        let cases: [(usize, u64, bool, Refusal); 12] = [
            (OFF_MAGIC, 0x504D_4153, false, Refusal::Magic(0x504D_4153)),
            (OFF_MAGIC, 0, false, Refusal::Magic(0)),
            (OFF_VERSION, 1, false, Refusal::Version(1)),
            (OFF_VERSION, 3, false, Refusal::Version(3)),
            (OFF_FW_STATE, 3, false, Refusal::State(3)),
            (OFF_FW_STATE, 1, false, Refusal::State(1)),
            (OFF_RSC_SIZE, 8, false, Refusal::RscSize(8)),
            (OFF_RSC_SIZE, 0x1004, false, Refusal::RscSize(0x1004)),
            (OFF_RSC_SIZE, 0x8E, false, Refusal::RscSize(0x8E)),
            (
                OFF_RSC_ADDR,
                0x6FFF_FFF8,
                true,
                Refusal::RscOutside(0x6FFF_FFF8, 0x8C),
            ),
            (
                OFF_RSC_ADDR,
                0x7040_0000 - 0x88,
                true,
                Refusal::RscOutside(0x7040_0000 - 0x88, 0x8C),
            ),
            (OFF_RUN_CNT, 0, true, Refusal::NoRunStamp),
        ];
        for (at, v, wide, want) in cases {
            let mut p = page();
            if wide {
                put64(&mut p, at, v);
            } else {
                put32(&mut p, at, v as u32);
            }
            assert_eq!(check(&p), Err(want), "{at:#x} = {v:#x}");
        }
        // Misaligned, and an address whose end wraps around.
        let mut p = page();
        put64(&mut p, OFF_RSC_ADDR, 0x7000_2004);
        assert_eq!(check(&p), Err(Refusal::RscOutside(0x7000_2004, 0x8C)));
        put64(&mut p, OFF_RSC_ADDR, u64::MAX - 7);
        assert!(check(&p).is_err());
        // All ones (a page nobody wrote on some boards) and all zeros.
        assert_eq!(check(&[0xFF; SIZE]), Err(Refusal::Magic(u32::MAX)));
        assert_eq!(check(&[0; SIZE]), Err(Refusal::Magic(0)));
    }

    #[test]
    fn layout_has_no_overlaps_and_fits_the_page() {
        // (offset, bytes) of every field, in the order of the page.
        let fields = [
            (OFF_MAGIC, 4),
            (OFF_VERSION, 4),
            (OFF_FW_STATE, 4),
            (OFF_STOP_REQ, 4),
            (OFF_CRASH_SEQ, 4),
            (OFF_RSC_SIZE, 4),
            (OFF_RSC_ADDR, 8),
            (OFF_RUN_CNT, 8),
            (OFF_RUN_FRQ, 8),
            (OFF_VIRTIO_RESETS, 4),
            (OFF_CRASH_KIND, 8),
            (OFF_CRASH_ESR, 8),
            (OFF_CRASH_ELR, 8),
            (OFF_CRASH_FAR, 8),
            (OFF_CRASH_SPSR, 8),
            (OFF_CRASH_SP, 8),
            (OFF_CRASH_X0, 8 * CRASH_NR_X),
            (OFF_CRASH_MSG, CRASH_MSG_LEN),
            (OFF_ST_ENTRY_EL, 4),
            (OFF_ST_SGI, 4),
            (OFF_ST_SPI, 4),
            (OFF_ST_MAGIC, 4),
            (OFF_ST_CNTFRQ, 8),
            (OFF_ST_ENTRY_CNT, 8),
            (OFF_ST_WINDOW, 8),
            (OFF_ST_MPIDR, 8),
            (OFF_ST_SGIS, 8),
            (OFF_ST_SPIS, 8),
            (OFF_PING_SEQ, 4),
            (OFF_PING_ACK, 4),
            (OFF_SVC_COUNT, 4),
            (OFF_SVC_MAX, 4),
            (OFF_SVC_SUM, 8),
            (OFF_PINGS, 4),
            (OFF_SVC_HIST, 2 * SVC_BINS),
        ];
        for w in fields.windows(2) {
            assert!(
                w[0].0 + w[0].1 <= w[1].0,
                "{:#x} overlaps {:#x}",
                w[0].0,
                w[1].0
            );
        }
        for (at, n) in fields {
            assert_eq!(at % n.min(8), 0, "{at:#x} misaligned");
        }
        assert_eq!(&MAGIC_VALUE.to_le_bytes(), b"RAMP");
        assert_eq!(&STOP_VALUE.to_be_bytes(), b"STOP");
        assert_eq!(&ST_MAGIC_VALUE.to_le_bytes(), b"STMP");
    }

    #[test]
    fn contract_entry_bytes() {
        // Byte for byte what a Zephyr/OpenAMP firmware must put after the
        // type word 0xAA (docs/kernel.md, "The stop/crash contract").
        assert_eq!(
            contract_body(CONTRACT_F_STOP_IRQ),
            [b'R', b'A', b'M', b'C', 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(RSC_CONTRACT_TYPE, 170);
        assert_eq!(
            [
                CONTRACT_OFF_MAGIC,
                CONTRACT_OFF_VERSION,
                CONTRACT_OFF_CTRL_VERSION,
                CONTRACT_OFF_FLAGS,
                CONTRACT_LEN
            ],
            [0, 4, 8, 12, 16]
        );
        assert_eq!(
            check_contract(&contract_body(1)),
            Ok(Contract {
                version: 1,
                flags: 1
            })
        );
        assert_eq!(
            check_contract(&contract_body(0)),
            Ok(Contract {
                version: 1,
                flags: 0
            })
        );
    }

    #[test]
    fn every_contract_rule_refuses_a_bad_entry() {
        let good = contract_body(1);
        assert_eq!(check_contract(&good[..15]), Err(ContractRefusal::Short(15)));
        assert_eq!(check_contract(&[]), Err(ContractRefusal::Short(0)));
        let cases = [
            (
                CONTRACT_OFF_MAGIC,
                0x434D_4153,
                ContractRefusal::Magic(0x434D_4153),
            ),
            (CONTRACT_OFF_VERSION, 0, ContractRefusal::Version(0)),
            (CONTRACT_OFF_VERSION, 2, ContractRefusal::Version(2)),
            (
                CONTRACT_OFF_CTRL_VERSION,
                1,
                ContractRefusal::CtrlVersion(1),
            ),
            (CONTRACT_OFF_FLAGS, 3, ContractRefusal::Flags(3)),
            (CONTRACT_OFF_FLAGS, 1 << 31, ContractRefusal::Flags(1 << 31)),
        ];
        for (at, v, want) in cases {
            let mut b = good;
            b[at..at + 4].copy_from_slice(&u32::to_le_bytes(v));
            assert_eq!(check_contract(&b), Err(want), "{at:#x} = {v:#x}");
        }
        // A longer remainder (the rest of the table) is fine.
        let mut long = [0u8; 40];
        long[..16].copy_from_slice(&good);
        assert!(check_contract(&long).is_ok());
    }

    #[test]
    fn c_names_and_docs() {
        let find = |n: &str| ITEMS.iter().find(|i| i.name == n).unwrap();
        extern crate std;
        use std::string::ToString;
        assert_eq!(find("OFF_MAGIC").c_name().to_string(), "CTRL_MAGIC");
        assert_eq!(find("MAGIC_VALUE").c_name().to_string(), "CTRL_MAGIC_VALUE");
        assert_eq!(
            CDoc(find("OFF_VERSION").doc.trim()).to_string(),
            "u32: CTRL_LAYOUT_VERSION of the firmware that wrote the page."
        );
        assert_eq!(
            CDoc(find("OFF_FW_STATE").doc.trim()).to_string(),
            "u32: firmware state, one of the STATE_* values."
        );
        let mut names: std::vec::Vec<_> = ITEMS.iter().map(|i| i.c_name().to_string()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ITEMS.len(), "two items share a C name");
    }
}

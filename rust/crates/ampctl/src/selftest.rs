//! `ampctl selftest`: the board bring-up self-test (docs/bring-up.md).
//!
//! Every hardware assumption the layer makes about the RTD1619B (or the
//! QEMU twin) gets one check: PASS, FAIL or SKIP, the value measured, the
//! assumption with its source, and on a failure the likely cause and the
//! fix. The checks read the live device tree (`/sys/firmware/devicetree`),
//! `/proc/iomem`, `/proc/interrupts`, the CPU hotplug state, the driver's
//! debugfs (`rtd_amp_boot`, and the debug build's `rtd_amp_doorbell_rtt`),
//! the firmware ELF, and ask the firmware's control service (the self-test
//! commands of `amp-control`). Everything below the root given with
//! `--root` (fixture trees in the tests).

use amp_control::{
    check_pattern, pattern, Request, Response, SelftestInfo, TimerLatency, NO_MISMATCH,
    SHM_PATTERN_LEN,
};
use amp_host::fwcheck::{self, FirmwareSearch, Region};
use amp_host::remoteproc::{Remoteproc, State};
use amp_host::Sys;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Version of the `--json` document (docs/bring-up.md, "JSON schema").
pub const SCHEMA: u32 = 1;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The assumption holds.
    Pass,
    /// It does not: see the hint.
    Fail,
    /// Not checked here: the value says why.
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// Stable identifier (docs/bring-up.md lists them).
    pub id: &'static str,
    /// PASS, FAIL or SKIP.
    pub status: Status,
    /// What was measured (or why it was skipped).
    pub value: String,
    /// The assumption tested.
    pub assumption: &'static str,
    /// Where the assumption comes from (document and section, or BSP file).
    pub source: &'static str,
    /// On FAIL: the most likely cause and the fix.
    pub hint: Option<String>,
}

/// A measured figure (also printed as a `FIGURE:` line).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Name.
    pub name: &'static str,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: &'static str,
    /// How it was measured.
    pub method: String,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Figures.
    pub figures: Vec<Figure>,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks skipped.
    pub skipped: usize,
}

impl Report {
    fn new(checks: Vec<Check>, figures: Vec<Figure>) -> Report {
        let n = |s| checks.iter().filter(|c| c.status == s).count();
        Report {
            schema: SCHEMA,
            passed: n(Status::Pass),
            failed: n(Status::Fail),
            skipped: n(Status::Skip),
            checks,
            figures,
        }
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        format!(
            "selftest: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }

    /// The text report: one block per check, the figures, the summary.
    pub fn text(&self) -> String {
        let mut o = String::new();
        for c in &self.checks {
            let _ = writeln!(o, "{} {}: {}", c.status.word(), c.id, c.value);
            let _ = writeln!(o, "    assumption: {} [{}]", c.assumption, c.source);
            if let Some(h) = &c.hint {
                let _ = writeln!(o, "    hint: {h}");
            }
        }
        for f in &self.figures {
            let _ = writeln!(
                o,
                "FIGURE: {} {} {} ({})",
                f.name,
                fmt_num(f.value),
                f.unit,
                f.method
            );
        }
        let _ = writeln!(o, "{}", self.summary());
        o
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The firmware's control service, as the checks use it.
pub trait Control {
    /// Sends a request and waits up to `timeout` for its answer (an ERROR
    /// answer is an `Err`).
    fn call(&mut self, req: Request, timeout: Duration) -> Result<Response>;
}

/// Tunables of a run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Control pings for the doorbell counters.
    pub pings: u32,
    /// Raw doorbell round trips (debug driver only).
    pub doorbells: u32,
    /// Pattern round trips through the shared buffers.
    pub shm_rounds: u32,
    /// Timer interrupts of the latency run.
    pub timer_count: u32,
    /// Microseconds between them.
    pub timer_period_us: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pings: 20,
            doorbells: 1000,
            shm_rounds: 64,
            timer_count: 2000,
            timer_period_us: 1000,
        }
    }
}

// ---- sources, cited once -------------------------------------------------

const SRC_OVERLAY: &str = "recipes-bsp/rtd-amp-overlays/files/rtd1619b-amp.dtso (qemu-virt-amp.dtso in the twin); docs/kernel.md \"Device tree\"";
const SRC_RESERVED: &str = "rtd1619b-amp.dtso reserved-memory (window 0x32000000, free in meta-xpressreal's rtd16xxb.dtsi memory map); Linux Documentation/devicetree/bindings/reserved-memory/reserved-memory.yaml (no-map)";
const SRC_FW_LAYOUT: &str =
    "rust/firmware/rtd-amp-rt/src/board.rs (layout, RTD1619B.window); docs/kernel.md \"Firmware rules\"";
const SRC_CPU: &str = "docs/design.md (CPU3 = MPIDR 0x300 is left to the firmware: maxcpus=3); rtd1619b-amp.dtso realtek,cpu";
const SRC_PSCI: &str = "Arm DEN0022 (PSCI), function descriptions of CPU_ON, AFFINITY_INFO and PSCI_VERSION; meta-xpressreal rtd16xxb.dtsi psci node (method = \"smc\")";
const SRC_ENTRY: &str = "rust/firmware/rtd-amp-rt/src/arch.rs _start (entered at EL2 or EL1 with the MMU off); Arm DEN0022, CPU_ON (the core's state at the entry point)";
const SRC_DOORBELL: &str = "rust/firmware/rtd-amp-rt/src/board.rs RTD1619B (doorbell_sgi 7: SGIs 8-15 are the secure world's in TF-A's plat_arm GIC setup; doorbell_spi 120, unused in rtd16xxb.dtsi); rtd1619b-amp.dtso mailbox node";
const SRC_GIC: &str = "Arm IHI 0069 (GICv3), the register descriptions of GICR_WAKER, GICD_ISPENDR<n>, GICR_IGROUPR0 and GICD_CTLR.DS; docs/firmware.md \"Doorbells\"";
const SRC_TIMER: &str = "Arm DDI 0487, \"The Generic Timer in AArch64 state\" (one system counter; CNTFRQ_EL0 written by the boot firmware); rtd16xxb.dtsi timer node (arm,armv8-timer)";
const SRC_SHM: &str = "rust/firmware/rtd-amp-rt/src/mmu.rs (the RPMsg window mapped Normal non-cacheable) and rtd_amp_rproc.c rtd_amp_mem_alloc (ioremap_wc); Arm DDI 0487, \"Mismatched memory attributes\"";
const SRC_LATENCY: &str = "Arm BSA DEN0094 (PPI 30 = EL1 non-secure physical timer); rust/firmware/rtd-amp-rt/src/gic.rs TIMER_PPI";

const NOT_RUNNING: &str =
    "the firmware is not running: start it (`ampctl start`) and run the self-test again";
const RTT_MISSING: &str = "driver built without rtd-amp-debug: raw doorbell timing not compiled in; rebuild with DISTRO_FEATURES rtd-amp-debug";

// ---- the live system ------------------------------------------------------

/// What the checks read, below `root`.
pub struct Env<'a> {
    /// Root of the file system (`/`).
    pub root: &'a Path,
    /// sysfs, /dev and debugfs below it.
    pub sys: &'a Sys,
}

impl Env<'_> {
    fn dt_base(&self) -> PathBuf {
        let a = self.root.join("sys/firmware/devicetree/base");
        if a.is_dir() {
            a
        } else {
            self.root.join("proc/device-tree")
        }
    }
}

fn read_bytes(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

fn read_text(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn be_cells(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A device-tree node of the live tree (a directory).
#[derive(Clone, Debug)]
struct Node(PathBuf);

impl Node {
    fn prop(&self, name: &str) -> Option<Vec<u8>> {
        read_bytes(&self.0.join(name))
    }
    fn has(&self, name: &str) -> bool {
        self.0.join(name).is_file()
    }
    fn cells(&self, name: &str) -> Option<Vec<u32>> {
        self.prop(name).map(|b| be_cells(&b))
    }
    fn u32(&self, name: &str) -> Option<u32> {
        self.cells(name).and_then(|c| c.first().copied())
    }
    fn string(&self, name: &str) -> Option<String> {
        self.prop(name).map(|b| {
            String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[])).into_owned()
        })
    }
    fn name(&self) -> String {
        self.0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    fn compatible(&self, c: &str) -> bool {
        self.prop("compatible")
            .is_some_and(|b| b.split(|&x| x == 0).any(|s| s == c.as_bytes()))
    }
}

/// All nodes of the tree, depth first (the live tree is small).
fn nodes(base: &Path) -> Vec<Node> {
    let mut out = vec![];
    let mut stack = vec![base.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut subs: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subs.sort();
        stack.extend(subs.into_iter().rev());
        out.push(Node(d));
    }
    out
}

fn find_compatible(all: &[Node], c: &str) -> Option<Node> {
    all.iter().find(|n| n.compatible(c)).cloned()
}

fn by_phandle(all: &[Node], ph: u32) -> Option<Node> {
    all.iter().find(|n| n.u32("phandle") == Some(ph)).cloned()
}

/// What the device tree says, gathered once.
#[derive(Debug, Default)]
struct Dt {
    rproc: Option<Node>,
    mbox: Option<Node>,
    /// (region, has no-map) of the remoteproc's memory-region list.
    regions: Vec<(Region, bool)>,
    cpu: Option<Node>,
    cpu_mpidr: Option<u64>,
    sgi: Option<u32>,
    spi: Option<u32>,
    psci_method: Option<String>,
}

const RPROC_COMPAT: &str = "realtek,rtd1619b-amp-rproc";
const MBOX_COMPAT: &str = "realtek,rtd1619b-amp-mbox";

fn read_dt(env: &Env<'_>) -> Dt {
    let all = nodes(&env.dt_base());
    let mut dt = Dt {
        rproc: find_compatible(&all, RPROC_COMPAT),
        mbox: find_compatible(&all, MBOX_COMPAT),
        ..Dt::default()
    };
    dt.psci_method = find_compatible(&all, "arm,psci-1.0")
        .or_else(|| find_compatible(&all, "arm,psci-0.2"))
        .and_then(|n| n.string("method"));
    if let Some(r) = &dt.rproc {
        for ph in r.cells("memory-region").unwrap_or_default() {
            let Some(n) = by_phandle(&all, ph) else {
                continue;
            };
            let parent = Node(n.0.parent().map(Path::to_path_buf).unwrap_or_default());
            let ac = parent.u32("#address-cells").unwrap_or(2) as usize;
            let sc = parent.u32("#size-cells").unwrap_or(2) as usize;
            let reg = n.cells("reg").unwrap_or_default();
            if ac == 0 || sc == 0 || reg.len() < ac + sc {
                continue;
            }
            let num = |c: &[u32]| c.iter().fold(0u64, |v, &x| (v << 32) | u64::from(x));
            let name = n.name();
            dt.regions.push((
                Region {
                    name: name.split('@').next().unwrap_or(&name).to_string(),
                    base: num(&reg[..ac]),
                    size: num(&reg[ac..ac + sc]),
                },
                n.has("no-map"),
            ));
        }
        if let Some(cpu) = r.u32("realtek,cpu").and_then(|ph| by_phandle(&all, ph)) {
            dt.cpu_mpidr = cpu
                .cells("reg")
                .map(|c| c.iter().fold(0u64, |v, &x| (v << 32) | u64::from(x)));
            dt.cpu = Some(cpu);
        }
    }
    if let Some(m) = &dt.mbox {
        dt.sgi = m.u32("realtek,sgi");
        // interrupts = <GIC_SPI n flags>: the SPI number.
        dt.spi = m
            .cells("interrupts")
            .and_then(|c| (c.len() >= 2 && c[0] == 0).then_some(c[1]));
    }
    dt
}

/// `key: value` lines of a debugfs file.
fn kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn num(m: &BTreeMap<String, String>, k: &str) -> Option<i128> {
    let v = m.get(k)?;
    let v = v.split_whitespace().next()?;
    match v.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

/// System RAM ranges of `/proc/iomem` (`None` when unreadable; all-zero
/// addresses, as a non-root reader gets, count as unreadable).
fn system_ram(text: &str) -> Option<Vec<(u64, u64)>> {
    let mut out = vec![];
    let mut any_nonzero = false;
    for l in text.lines() {
        let Some((range, name)) = l.split_once(" : ") else {
            continue;
        };
        let Some((a, b)) = range.trim().split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        any_nonzero |= b != 0;
        if name.trim() == "System RAM" {
            out.push((a, b));
        }
    }
    any_nonzero.then_some(out)
}

/// Interrupts Linux took on the line named `name` in `/proc/interrupts`.
fn irq_count(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map_while(|w| w.parse::<u64>().ok())
                .sum()
        })
}

// ---- the checks ----------------------------------------------------------

struct Run<'a, 'e> {
    env: &'a Env<'e>,
    opts: Options,
    checks: Vec<Check>,
    figures: Vec<Figure>,
}

impl Run<'_, '_> {
    fn add(
        &mut self,
        id: &'static str,
        status: Status,
        value: impl Into<String>,
        assumption: &'static str,
        source: &'static str,
        hint: Option<String>,
    ) {
        self.checks.push(Check {
            id,
            status,
            value: value.into(),
            assumption,
            source,
            hint: if status == Status::Fail { hint } else { None },
        });
    }

    fn figure(&mut self, name: &'static str, value: f64, unit: &'static str, method: String) {
        self.figures.push(Figure {
            name,
            value,
            unit,
            method,
        });
    }
}

const A_OVERLAY: &str =
    "U-Boot applied the AMP overlay: the remoteproc and mailbox nodes are in the live device tree";
const A_RESERVED: &str = "the remoteproc node's reserved-memory regions (at least firmware, vdev0vring0, vdev0vring1, vdev0buffer, ctrl) exist and are all no-map";
const A_IOMEM: &str =
    "no carveout overlaps System RAM in /proc/iomem (Linux never maps or allocates it)";
const A_ELF: &str = "the firmware ELF's segments, carveout and trace fit the device tree's regions";
const A_CPU: &str = "Linux keeps the firmware's core offline (maxcpus=3)";
const A_AFFINITY: &str = "PSCI AFFINITY_INFO says the core is off before CPU_ON";
const A_PSCI_VERSION: &str = "PSCI 0.2 or later (CPU_ON, AFFINITY_INFO, CPU_OFF by function id)";
const A_CPU_ON: &str = "BL31 accepts CPU_ON with the firmware's entry point (not a Linux image)";
const A_FW_CONDUIT: &str =
    "the firmware was built for the PSCI conduit the device tree's /psci method names";
const A_CONDUIT: &str =
    "the driver calls PSCI (CPU_ON, AFFINITY_INFO) through the conduit the device tree's /psci method names";
const A_ENTRY: &str =
    "the core reached the firmware's entry at EL2 or EL1 and stamped the control page";
const A_IDS: &str =
    "the device tree's doorbell SGI and SPI are the ones the firmware was built for";
const A_GICR: &str = "the firmware woke CPU3's GIC redistributor (GICR_WAKER) and enabled its SGI";
const A_COUNTS: &str = "SGIs reach CPU3 (non-secure group 1) and its GICD_ISPENDR write from non-secure EL1 raises the SPI Linux takes";
const A_RTT: &str = "a raw doorbell round trip (SGI out, SPI back) completes without loss";
const A_CNTFRQ: &str = "CNTFRQ_EL0 is the same on Linux's cores and CPU3";
const A_COUNTER: &str = "both sides read one system counter (no offset between them)";
const A_SHM: &str =
    "both sides see each other's writes to the shared buffers (matching memory attributes)";
const A_LATENCY: &str =
    "CPU3 takes its generic-timer interrupt (PPI 30) promptly and never loses one";

/// Runs the checks.
pub fn run(
    env: &Env<'_>,
    rproc: Option<&Remoteproc>,
    control: &mut dyn FnMut() -> Result<Box<dyn Control>>,
    opts: Options,
) -> Report {
    let mut r = Run {
        env,
        opts,
        checks: vec![],
        figures: vec![],
    };
    let dt = read_dt(env);
    check_dt(&mut r, &dt);
    check_cpu(&mut r, &dt);
    let debug = rproc.map(|p| env.sys.debugfs.join("remoteproc").join(p.device()));
    let boot = debug
        .as_ref()
        .and_then(|d| read_text(&d.join("rtd_amp_boot")))
        .map(|t| kv(&t));
    let ctrl = debug
        .as_ref()
        .and_then(|d| read_text(&d.join("rtd_amp_ctrl")))
        .map(|t| kv(&t));
    let state = rproc.and_then(|p| p.state().ok());
    check_elf(&mut r, &dt, rproc);
    check_psci(&mut r, &dt, boot.as_ref(), rproc.is_some());
    let stamped = check_entry(&mut r, &dt, boot.as_ref(), ctrl.as_ref(), state);
    if !stamped {
        for (id, a, s) in [
            ("doorbell-count", A_COUNTS, SRC_GIC),
            ("doorbell-rtt", A_RTT, SRC_GIC),
            ("timer-cntfrq", A_CNTFRQ, SRC_TIMER),
            ("timer-counter", A_COUNTER, SRC_TIMER),
            ("shm-pattern", A_SHM, SRC_SHM),
            ("timer-latency", A_LATENCY, SRC_LATENCY),
        ] {
            let why = if state.is_some_and(|s| s.is_up()) {
                "the firmware did not stamp the control page (see fw-entry)"
            } else {
                NOT_RUNNING
            };
            r.add(id, Status::Skip, why, a, s, None);
        }
        return Report::new(r.checks, r.figures);
    }
    let boot = boot.unwrap_or_default();
    let mut link = control();
    check_doorbells(&mut r, &dt, &mut link, debug.as_deref());
    if r.checks
        .iter()
        .any(|c| c.id == "doorbell-count" && c.status == Status::Fail)
    {
        // Requests would only time out one by one (the latency run's
        // budget is seconds): the checks that need the service are skipped.
        link = Err(anyhow::anyhow!("no doorbell round trip"));
    }
    check_timer(&mut r, &boot, &mut link, debug.as_deref());
    check_shm(&mut r, &mut link);
    check_latency(&mut r, &mut link);
    Report::new(r.checks, r.figures)
}

fn check_dt(r: &mut Run<'_, '_>, dt: &Dt) {
    match (&dt.rproc, &dt.mbox) {
        (Some(p), Some(m)) => r.add(
            "dt-overlay",
            Status::Pass,
            format!("remoteproc node {} and mailbox node {}", p.name(), m.name()),
            A_OVERLAY,
            SRC_OVERLAY,
            None,
        ),
        _ => r.add(
            "dt-overlay",
            Status::Fail,
            format!(
                "no {} node in the live device tree",
                [
                    dt.rproc.is_none().then_some(RPROC_COMPAT),
                    dt.mbox.is_none().then_some(MBOX_COMPAT)
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" and no ")
            ),
            A_OVERLAY,
            SRC_OVERLAY,
            Some(
                "the overlay is not in the device tree Linux booted with: the layer merges rtd1619b-amp.dtbo into the DTBs of yocto.itb at build time (docs/yocto.md \"Boot integration\"); check that U-Boot booted that FIT (not the rescue DTB or an old boot partition: `fdtdump` of the FIT), that the image was built with the rtd-amp DISTRO_FEATURE, and that a BSP U-Boot applying overlays itself logs no \"failed on fdt_overlay_apply\" (base DTB built with -@)".into(),
            ),
        ),
    }
    let want = [
        "firmware",
        "vdev0vring0",
        "vdev0vring1",
        "vdev0buffer",
        "ctrl",
    ];
    if dt.rproc.is_none() {
        r.add(
            "dt-reserved-memory",
            Status::Skip,
            "no remoteproc node (see dt-overlay)",
            A_RESERVED,
            SRC_RESERVED,
            None,
        );
        r.add(
            "iomem",
            Status::Skip,
            "no remoteproc node (see dt-overlay)",
            A_IOMEM,
            SRC_RESERVED,
            None,
        );
        return;
    }
    let missing: Vec<&str> = want
        .iter()
        .filter(|w| !dt.regions.iter().any(|(g, _)| g.name == **w))
        .copied()
        .collect();
    let mapped: Vec<String> = dt
        .regions
        .iter()
        .filter(|(_, nomap)| !nomap)
        .map(|(g, _)| g.name.clone())
        .collect();
    let list = dt
        .regions
        .iter()
        .map(|(g, nm)| {
            format!(
                "{} {:#x}+{:#x}{}",
                g.name,
                g.base,
                g.size,
                if *nm { " no-map" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if missing.is_empty() && mapped.is_empty() {
        r.add(
            "dt-reserved-memory",
            Status::Pass,
            list,
            A_RESERVED,
            SRC_RESERVED,
            None,
        );
    } else {
        let mut why = vec![];
        if !missing.is_empty() {
            why.push(format!("missing: {}", missing.join(", ")));
        }
        if !mapped.is_empty() {
            why.push(format!("without no-map: {}", mapped.join(", ")));
        }
        r.add(
            "dt-reserved-memory",
            Status::Fail,
            format!("{} ({list})", why.join("; ")),
            A_RESERVED,
            SRC_RESERVED,
            Some("a region without no-map is in Linux's linear map (cacheable, and the driver cannot ioremap it); use the layer's overlay unchanged, or add `no-map;` to each region and list each in the remoteproc node's memory-region".into()),
        );
    }
    match read_text(&r.env.root.join("proc/iomem"))
        .as_deref()
        .and_then(system_ram)
    {
        None => r.add(
            "iomem",
            Status::Skip,
            "/proc/iomem shows no addresses (run the self-test as root)",
            A_IOMEM,
            SRC_RESERVED,
            None,
        ),
        Some(ram) => {
            let bad: Vec<String> = dt
                .regions
                .iter()
                .filter_map(|(g, _)| {
                    let end = g.base + g.size.max(1) - 1;
                    ram.iter()
                        .find(|(a, b)| g.base <= *b && *a <= end)
                        .map(|(a, b)| {
                            format!(
                                "{} {:#x}..{:#x} in System RAM {a:#x}-{b:#x}",
                                g.name, g.base, end
                            )
                        })
                })
                .collect();
            if bad.is_empty() {
                r.add(
                    "iomem",
                    Status::Pass,
                    format!(
                        "{} carveouts outside the {} System RAM ranges",
                        dt.regions.len(),
                        ram.len()
                    ),
                    A_IOMEM,
                    SRC_RESERVED,
                    None,
                );
            } else {
                r.add(
                    "iomem",
                    Status::Fail,
                    bad.join("; "),
                    A_IOMEM,
                    SRC_RESERVED,
                    Some("Linux uses this memory as RAM: the region lacks no-map, or the bootloader's memory node or another reserved region (the BSP's ion/rpc carveouts) overlaps the AMP window; move the window to free memory in rust/firmware/rtd-amp-rt/src/board.rs and the overlay together (docs/bring-up.md \"iomem\")".into()),
                );
            }
        }
    }
}

/// The Linux cpu number of the firmware's core (`None`: not a Linux cpu).
fn linux_cpu(env: &Env<'_>, dt: &Dt) -> Option<u32> {
    let cpu = dt.cpu.as_ref()?;
    let want = std::fs::canonicalize(&cpu.0).ok()?;
    let dir = env.sys.sysfs.join("devices/system/cpu");
    let mut found = None;
    for e in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(n) = name.strip_prefix("cpu").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // of_node: a link to the cpu's node in /sys/firmware/devicetree.
        let node = std::fs::canonicalize(e.path().join("of_node")).ok();
        if node.as_ref() == Some(&want) {
            found = Some(n);
        }
    }
    found
}

fn check_cpu(r: &mut Run<'_, '_>, dt: &Dt) {
    if dt.cpu.is_none() {
        r.add(
            "cpu-offline",
            Status::Skip,
            "no realtek,cpu in the remoteproc node (see dt-overlay)",
            A_CPU,
            SRC_CPU,
            None,
        );
        return;
    }
    let mpidr = dt.cpu_mpidr.unwrap_or(u64::MAX);
    match linux_cpu(r.env, dt) {
        None => r.add(
            "cpu-offline",
            Status::Pass,
            format!("MPIDR {mpidr:#x} is not a Linux cpu (nr_cpus)"),
            A_CPU,
            SRC_CPU,
            None,
        ),
        Some(n) => {
            let p = r
                .env
                .sys
                .sysfs
                .join(format!("devices/system/cpu/cpu{n}/online"));
            let online = read_text(&p).map(|s| s.trim() == "1").unwrap_or(false);
            if online {
                r.add(
                    "cpu-offline",
                    Status::Fail,
                    format!("cpu{n} (MPIDR {mpidr:#x}) is online in Linux"),
                    A_CPU,
                    SRC_CPU,
                    Some(format!("Linux runs on the firmware's core: the driver refuses to start there; take it offline (`echo 0 > /sys/devices/system/cpu/cpu{n}/online`) or boot with maxcpus={n} on the kernel command line (docs/bring-up.md \"Boot\")")),
                );
            } else {
                r.add(
                    "cpu-offline",
                    Status::Pass,
                    format!("cpu{n} (MPIDR {mpidr:#x}) is offline in Linux"),
                    A_CPU,
                    SRC_CPU,
                    None,
                );
            }
        }
    }
}

fn check_elf(r: &mut Run<'_, '_>, dt: &Dt, rproc: Option<&Remoteproc>) {
    let Some(p) = rproc else {
        r.add(
            "fw-elf",
            Status::Skip,
            "no remote processor registered (is rtd_amp_rproc loaded? see dt-overlay)",
            A_ELF,
            SRC_FW_LAYOUT,
            None,
        );
        return;
    };
    let Ok(name) = p.firmware() else {
        r.add(
            "fw-elf",
            Status::Skip,
            "cannot read the firmware attribute",
            A_ELF,
            SRC_FW_LAYOUT,
            None,
        );
        return;
    };
    let search = FirmwareSearch::system(r.env.sys, &r.env.root.join("lib/firmware"));
    let regions: Vec<Region> = dt.regions.iter().map(|(g, _)| g.clone()).collect();
    let res = fwcheck::resolve_firmware(&name, &search).and_then(|path| {
        let bytes = std::fs::read(&path).map_err(|e| fwcheck::CheckError::Read {
            path: path.clone(),
            source: e,
        })?;
        fwcheck::check(&bytes, &regions).map(|rep| (path, rep))
    });
    match res {
        Ok((path, rep)) => r.add(
            "fw-elf",
            Status::Pass,
            format!(
                "{}: entry {:#x}, {} segments inside the regions",
                path.display(),
                rep.entry,
                rep.segments.len()
            ),
            A_ELF,
            SRC_FW_LAYOUT,
            None,
        ),
        Err(e) => r.add(
            "fw-elf",
            Status::Fail,
            format!("{name}: {e}"),
            A_ELF,
            SRC_FW_LAYOUT,
            Some("the firmware was built for another board or layout than this device tree: build it with `scripts/build-firmware rtd1619b` (or rtd-amp-firmware in Yocto) from the same revision as the overlay".into()),
        ),
    }
}

fn psci_err(code: i128) -> &'static str {
    // Arm DEN0022, table "Return error codes" (the values of Linux's
    // include/uapi/linux/psci.h).
    match code {
        0 => "SUCCESS",
        -1 => "NOT_SUPPORTED",
        -2 => "INVALID_PARAMETERS",
        -3 => "DENIED",
        -4 => "ALREADY_ON",
        -5 => "ON_PENDING",
        -6 => "INTERNAL_FAILURE",
        -7 => "NOT_PRESENT",
        -8 => "DISABLED",
        -9 => "INVALID_ADDRESS",
        _ => "unknown",
    }
}

fn check_psci(
    r: &mut Run<'_, '_>,
    dt: &Dt,
    boot: Option<&BTreeMap<String, String>>,
    have_rproc: bool,
) {
    let Some(b) = boot else {
        let why = if have_rproc {
            "no rtd_amp_boot in debugfs (mount debugfs at /sys/kernel/debug and run as root)"
        } else {
            "no remote processor (see dt-overlay)"
        };
        for (id, a) in [
            ("psci-version", A_PSCI_VERSION),
            ("psci-conduit", A_CONDUIT),
            ("psci-affinity", A_AFFINITY),
            ("psci-cpu-on", A_CPU_ON),
        ] {
            r.add(id, Status::Skip, why, a, SRC_PSCI, None);
        }
        return;
    };
    let ver = b.get("psci_version").cloned().unwrap_or_default();
    let (maj, min) = ver
        .split_once('.')
        .map(|(a, b)| (a.parse().unwrap_or(0u32), b.parse().unwrap_or(0u32)))
        .unwrap_or((0, 0));
    if (maj, min) >= (0, 2) {
        r.add(
            "psci-version",
            Status::Pass,
            format!("PSCI {ver}"),
            A_PSCI_VERSION,
            SRC_PSCI,
            None,
        );
    } else {
        r.add(
            "psci-version",
            Status::Fail,
            format!("PSCI_VERSION answered {ver:?}"),
            A_PSCI_VERSION,
            SRC_PSCI,
            Some("the secure firmware does not implement PSCI 0.2+: use the BSP's BL31 (TF-A) that boots Linux's secondary cores with PSCI".into()),
        );
    }
    let conduit = b.get("conduit").cloned().unwrap_or_default();
    let method = dt.psci_method.clone().unwrap_or_default();
    if !method.is_empty() && method == conduit {
        r.add(
            "psci-conduit",
            Status::Pass,
            format!("/psci method {method}, driver {conduit}"),
            A_CONDUIT,
            SRC_PSCI,
            None,
        );
    } else {
        r.add(
            "psci-conduit",
            Status::Fail,
            format!("/psci method {method:?}, driver {conduit:?}"),
            A_CONDUIT,
            SRC_PSCI,
            Some("the device tree's /psci node has no usable method: the RTD1619B's BL31 is called with smc (rtd16xxb.dtsi)".into()),
        );
    }
    if num(b, "started") != Some(1) {
        for (id, a) in [("psci-affinity", A_AFFINITY), ("psci-cpu-on", A_CPU_ON)] {
            r.add(
                id,
                Status::Skip,
                "the driver has not started the core since it was loaded (`ampctl start`)",
                a,
                SRC_PSCI,
                None,
            );
        }
        return;
    }
    let aff = num(b, "affinity_before_cpu_on").unwrap_or(i128::MIN);
    // AFFINITY_INFO: 0 ON, 1 OFF, 2 ON_PENDING (DEN0022, AFFINITY_INFO).
    if aff == 1 {
        r.add(
            "psci-affinity",
            Status::Pass,
            "AFFINITY_INFO 1 (OFF) before CPU_ON",
            A_AFFINITY,
            SRC_PSCI,
            None,
        );
    } else {
        r.add(
            "psci-affinity",
            Status::Fail,
            format!("AFFINITY_INFO {aff} before CPU_ON (1 = OFF)"),
            A_AFFINITY,
            SRC_PSCI,
            Some("the core was not off: Linux (cpu online) or an earlier firmware still holds it; offline the cpu or stop the firmware, and check that BL31 powers CPU3 off at boot when Linux does not bring it up".into()),
        );
    }
    let ret = num(b, "cpu_on_ret").unwrap_or(i128::MIN);
    if ret == 0 {
        r.add(
            "psci-cpu-on",
            Status::Pass,
            "CPU_ON returned 0 (SUCCESS)",
            A_CPU_ON,
            SRC_PSCI,
            None,
        );
    } else {
        r.add(
            "psci-cpu-on",
            Status::Fail,
            format!("CPU_ON returned {ret} ({})", psci_err(ret)),
            A_CPU_ON,
            SRC_PSCI,
            Some(match ret {
                -9 => "BL31 refuses the entry point (INVALID_ADDRESS): it only accepts addresses in its non-secure DRAM ranges; check the BSP's plat validate_ns_entrypoint and that the window 0x32000000 is non-secure DRAM".into(),
                -3 => "BL31 denies CPU_ON for this core (DENIED): it may be reserved by the secure world".into(),
                -4 => "the core is already on (ALREADY_ON): Linux or a previous firmware runs there".into(),
                _ => "see Arm DEN0022, CPU_ON, for the code; the BSP's BL31 must support CPU_ON for MPIDR 0x300".into(),
            }),
        );
    }
}

/// Returns whether the firmware stamped the control page (later checks
/// need it).
fn check_entry(
    r: &mut Run<'_, '_>,
    dt: &Dt,
    boot: Option<&BTreeMap<String, String>>,
    ctrl: Option<&BTreeMap<String, String>>,
    state: Option<State>,
) -> bool {
    let running = state.is_some_and(|s| s.is_up());
    let Some(b) = boot.filter(|_| running) else {
        for (id, a, s) in [
            ("fw-entry", A_ENTRY, SRC_ENTRY),
            ("doorbell-ids", A_IDS, SRC_DOORBELL),
            ("gic-redistributor", A_GICR, SRC_GIC),
        ] {
            let why = if boot.is_none() && state.is_some() {
                "no rtd_amp_boot in debugfs (run as root with debugfs mounted)"
            } else {
                NOT_RUNNING
            };
            r.add(id, Status::Skip, why, a, s, None);
        }
        return false;
    };
    if b.get("stamp").map(String::as_str) != Some("STMP") {
        let fails = [
            ("fw-entry", A_ENTRY, SRC_ENTRY),
            ("doorbell-ids", A_IDS, SRC_DOORBELL),
            ("gic-redistributor", A_GICR, SRC_GIC),
        ];
        r.add(
            fails[0].0,
            Status::Fail,
            format!(
                "no stamp in the control page after CPU_ON (CPU_ON returned {})",
                b.get("cpu_on_ret").map(String::as_str).unwrap_or("?")
            ),
            fails[0].1,
            fails[0].2,
            Some("the core never reached the firmware's first instructions, or cannot write the control page: check that BL31 accepts the entry point (psci-cpu-on), that the ELF is for this board (fw-elf), that the window is non-secure DRAM (TZC/secure carveouts of the BSP) and not mapped cacheable by Linux (iomem); `dmesg | grep rtd-amp` shows \"no sign of life\"".into()),
        );
        for (id, a, s) in &fails[1..] {
            r.add(id, Status::Skip, "no stamp (see fw-entry)", a, s, None);
        }
        return false;
    }
    let el = num(b, "fw_entry_el").unwrap_or(-1);
    let us = num(b, "cpu_on_to_stamp_us").unwrap_or(-1);
    let mpidr = num(b, "fw_mpidr").unwrap_or(-1) as u64 & 0xFF_00FF_FFFF;
    let window = num(b, "fw_window").unwrap_or(-1) as u64;
    let dt_window = dt
        .regions
        .iter()
        .find(|(g, _)| g.name == "firmware")
        .map(|(g, _)| g.base);
    let mut bad = vec![];
    if !(1..=2).contains(&el) {
        bad.push(format!("entered at EL{el}"));
    }
    if dt.cpu_mpidr.is_some_and(|m| m & 0xFF_00FF_FFFF != mpidr) {
        bad.push(format!(
            "runs on MPIDR {mpidr:#x}, the device tree names {:#x}",
            dt.cpu_mpidr.unwrap_or(0)
        ));
    }
    if dt_window.is_some_and(|w| w != window) {
        bad.push(format!(
            "built for the window {window:#x}, the device tree's firmware region is at {:#x}",
            dt_window.unwrap_or(0)
        ));
    }
    let value = format!("entered at EL{el} on MPIDR {mpidr:#x}, stamp {us} us after CPU_ON");
    if bad.is_empty() {
        r.add("fw-entry", Status::Pass, value, A_ENTRY, SRC_ENTRY, None);
    } else {
        r.add(
            "fw-entry",
            Status::Fail,
            format!("{value}: {}", bad.join("; ")),
            A_ENTRY,
            SRC_ENTRY,
            Some("an EL3 entry means BL31 handed over in the secure world, which the firmware does not support; a wrong MPIDR or window means a firmware built for another board: rebuild for this one".into()),
        );
    }
    if us >= 0 {
        r.figure(
            "cpu_on_to_stamp",
            us as f64,
            "us",
            "driver: ktime from PSCI CPU_ON to the control-page magic (polled every 50-100 us)"
                .into(),
        );
    }
    // Doorbell ids: the device tree's against the firmware's stamp.
    let fw_sgi = num(b, "fw_sgi").unwrap_or(-1);
    let fw_intid = num(b, "fw_spi_intid").unwrap_or(-1);
    let dt_sgi = dt.sgi.map(i128::from).unwrap_or(-1);
    let dt_intid = dt.spi.map(|s| i128::from(s) + 32).unwrap_or(-1);
    let value = format!(
        "device tree: SGI {dt_sgi}, SPI INTID {dt_intid}; firmware: SGI {fw_sgi}, SPI INTID {fw_intid}"
    );
    if fw_sgi == dt_sgi && fw_intid == dt_intid {
        r.add(
            "doorbell-ids",
            Status::Pass,
            value,
            A_IDS,
            SRC_DOORBELL,
            None,
        );
    } else {
        let mut h = vec![];
        if fw_sgi != dt_sgi {
            h.push(format!("the mailbox node's realtek,sgi is {dt_sgi} but the firmware takes SGI {fw_sgi}: Linux's doorbells never wake it"));
        }
        if fw_intid != dt_intid {
            h.push(format!("the mailbox node's interrupt is INTID {dt_intid} but the firmware raises {fw_intid}: Linux never hears it"));
        }
        h.push("use the overlay and firmware of the same revision (board.rs doorbell_sgi/doorbell_spi and the .dtso agree, and a test checks it)".into());
        r.add(
            "doorbell-ids",
            Status::Fail,
            value,
            A_IDS,
            SRC_DOORBELL,
            Some(h.join("; ")),
        );
    }
    let fw_state = ctrl.and_then(|c| num(c, "fw_state")).unwrap_or(-1);
    let msg = ctrl
        .and_then(|c| c.get("message").cloned())
        .unwrap_or_default();
    // fw_state 2 (running) is written after the redistributor woke up
    // (runtime.rs gic_init); 3 is a crash, with its message.
    if fw_state == 2 {
        r.add(
            "gic-redistributor",
            Status::Pass,
            "awake: the firmware passed gic_init and runs (fw_state 2)",
            A_GICR,
            SRC_GIC,
            None,
        );
    } else {
        r.add(
            "gic-redistributor",
            Status::Fail,
            format!("fw_state {fw_state} {msg}"),
            A_GICR,
            SRC_GIC,
            Some(if msg.contains("redistributor") {
                "GICR_WAKER.ChildrenAsleep never cleared or no GICR frame matches MPIDR 0x300: the redistributor of CPU3 may be powered down by the power controller, or GICR is not where board.rs says (0xFF140000)".into()
            } else {
                "the firmware crashed or did not finish its start: `ampctl status` and `ampctl trace` show its crash record and log".into()
            }),
        );
    }
    true
}

fn check_doorbells(
    r: &mut Run<'_, '_>,
    dt: &Dt,
    link: &mut Result<Box<dyn Control>>,
    debug: Option<&Path>,
) {
    let irq_name = dt.mbox.as_ref().map(|m| m.name()).unwrap_or_default();
    let irqs =
        || read_text(&r.env.root.join("proc/interrupts")).and_then(|t| irq_count(&t, &irq_name));
    let n = r.opts.pings;
    let res = (|| -> Result<(SelftestInfo, SelftestInfo, Option<u64>, Option<u64>)> {
        let l = link.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let i0 = l.call(Request::SelftestInfo, Duration::from_secs(1))?;
        let before = irqs();
        for k in 0..n {
            let nonce = 0x5E1F_7E57_0000_0000 | u64::from(k);
            match l.call(Request::Ping { nonce }, Duration::from_secs(1))? {
                Response::Pong { nonce: got } if got == nonce => {}
                other => anyhow::bail!("ping {k}: unexpected answer {other:?}"),
            }
        }
        let after = irqs();
        let i1 = l.call(Request::SelftestInfo, Duration::from_secs(1))?;
        match (i0, i1) {
            (Response::SelftestInfo(a), Response::SelftestInfo(b)) => Ok((a, b, before, after)),
            other => anyhow::bail!("unexpected answers {other:?}"),
        }
    })();
    check_fw_conduit(r, dt, res.as_ref().ok().map(|(a, ..)| a));
    match res {
        Err(e) => {
            r.add(
                "doorbell-count",
                Status::Fail,
                format!("the control service did not answer: {e:#}"),
                A_COUNTS,
                SRC_GIC,
                Some("no doorbell round trip: if doorbell-ids passed, the SGI is not delivered to CPU3 (secure group 0 in the BSP's GIC setup: TF-A plat_arm_g0/g1s interrupt lists) or the firmware's GICD_ISPENDR write does not reach Linux (GICD_CTLR.DS=0 lets non-secure EL1 set only non-secure interrupts' pending bits: the SPI must be group 1 non-secure); `ampctl trace` shows whether the firmware announced its channels".into()),
            );
        }
        Ok((a, b, before, after)) => {
            let sgis = b.sgis_received.saturating_sub(a.sgis_received);
            let spis = b.spis_raised.saturating_sub(a.spis_raised);
            let linux = match (before, after) {
                (Some(x), Some(y)) => Some(y.saturating_sub(x)),
                _ => None,
            };
            let value = format!(
                "{n} control pings: firmware received {sgis} SGIs and raised {spis} SPIs; Linux took {} interrupts on {irq_name}",
                linux.map_or("?".to_string(), |v| v.to_string())
            );
            // Every ping is answered by at least one SPI the firmware
            // raises. The SGIs it counts can be fewer than the pings: a
            // ping's SGI that arrives while the previous one is still
            // pending (the firmware already took the message from the
            // ring and answered before acknowledging its interrupt) merges
            // into it in the GIC, and since the firmware sets
            // VRING_USED_F_NO_NOTIFY no refill kick pads the count. At
            // least one SGI proves Linux's doorbell reaches CPU3. Linux may
            // likewise take several SPIs as one (edge interrupts coalesce).
            let ok = sgis >= 1 && spis >= u64::from(n) && linux.is_none_or(|l| l >= 1);
            if ok {
                r.add(
                    "doorbell-count",
                    Status::Pass,
                    value,
                    A_COUNTS,
                    SRC_GIC,
                    None,
                );
            } else {
                r.add(
                    "doorbell-count",
                    Status::Fail,
                    value,
                    A_COUNTS,
                    SRC_GIC,
                    Some("the counters do not add up: no SGI counted means Linux's doorbells are lost before CPU3 (SGI group/priority) and the firmware found the pings some other way; fewer SPIs raised than pings answered means a firmware counter bug; no Linux interrupt than expected means the SPI is not delivered to Linux (check its GICD_IGROUPR bit and routing)".into()),
                );
            }
            r.figure(
                "doorbells_per_ping",
                (sgis + spis) as f64 / f64::from(n.max(1)),
                "doorbells",
                format!("firmware counters across {n} control pings (SGIs in + SPIs out per ping)"),
            );
        }
    }
    // The raw round trip: the debug driver's file, when it has one (not
    // when the control pings already found no round trip: each raw ping
    // would wait for its timeout).
    let rtt = debug.map(|d| d.join("rtd_amp_doorbell_rtt"));
    let counted = r
        .checks
        .iter()
        .any(|c| c.id == "doorbell-count" && c.status == Status::Pass);
    match rtt.filter(|p| p.exists()) {
        Some(_) if !counted => r.add(
            "doorbell-rtt",
            Status::Skip,
            "no doorbell round trip (see doorbell-count)",
            A_RTT,
            SRC_GIC,
            None,
        ),
        None => r.add(
            "doorbell-rtt",
            Status::Skip,
            RTT_MISSING,
            A_RTT,
            SRC_GIC,
            None,
        ),
        Some(p) => {
            let res = std::fs::write(&p, format!("{}\n", r.opts.doorbells))
                .and_then(|_| std::fs::read_to_string(&p));
            match res {
                Err(e) => r.add(
                    "doorbell-rtt",
                    Status::Fail,
                    format!("{}: {e}", p.display()),
                    A_RTT,
                    SRC_GIC,
                    Some("the raw doorbell ping did not complete: the firmware does not answer doorbells (see doorbell-count)".into()),
                ),
                Ok(t) => rtt_result(r, &t),
            }
        }
    }
}

/// The PSCI conduit compiled into the firmware (board.rs: it calls CPU_OFF
/// through it to stop) against the device tree's `/psci` method, which
/// Linux and the driver use: a firmware built for another board's conduit
/// cannot power its core off (`hvc` with no hypervisor is UNDEFINED at
/// EL1, Arm DDI 0487 "HVC").
fn check_fw_conduit(r: &mut Run<'_, '_>, dt: &Dt, info: Option<&SelftestInfo>) {
    let Some(info) = info else {
        r.add(
            "fw-conduit",
            Status::Skip,
            "the control service did not answer (see doorbell-count)",
            A_FW_CONDUIT,
            SRC_PSCI,
            None,
        );
        return;
    };
    let method = dt.psci_method.clone().unwrap_or_default();
    let fw = amp_control::conduit_name(info.psci_conduit);
    let value = format!(
        "/psci method {method:?}, firmware {}",
        fw.unwrap_or("not reported")
    );
    if fw == Some(method.as_str()) {
        r.add(
            "fw-conduit",
            Status::Pass,
            value,
            A_FW_CONDUIT,
            SRC_PSCI,
            None,
        );
    } else {
        r.add(
            "fw-conduit",
            Status::Fail,
            value,
            A_FW_CONDUIT,
            SRC_PSCI,
            Some("the firmware calls PSCI through another conduit than this board's secure firmware takes: it cannot stop its core (CPU_OFF); build the firmware for this board (scripts/build-firmware rtd1619b: smc, board.rs)".into()),
        );
    }
}

/// Judges the debug driver's raw round-trip line
/// (`n=N min_ns=A p50_ns=B p99_ns=C max_ns=D lost=L`).
fn rtt_result(r: &mut Run<'_, '_>, t: &str) {
    let m: BTreeMap<&str, f64> = t
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k, v)))
        .collect();
    let lost = m.get("lost").copied().unwrap_or(f64::NAN);
    let count = m.get("n").copied().unwrap_or(0.0);
    let status = if lost == 0.0 && count > 0.0 {
        Status::Pass
    } else {
        Status::Fail
    };
    r.add(
        "doorbell-rtt",
        status,
        t.trim().to_string(),
        A_RTT,
        SRC_GIC,
        Some("raw doorbells were lost or none completed: the SPI or the SGI is dropped under load (edge interrupt coalescing in the GIC, or the firmware not acknowledging every SGI)".into()),
    );
    for (k, name) in [
        ("p50_ns", "doorbell_rtt_p50"),
        ("p99_ns", "doorbell_rtt_p99"),
    ] {
        if let Some(v) = m.get(k) {
            r.figure(
                name,
                *v,
                "ns",
                format!("debugfs rtd_amp_doorbell_rtt, {count} raw SGI->SPI round trips"),
            );
        }
    }
}

fn check_timer(
    r: &mut Run<'_, '_>,
    boot: &BTreeMap<String, String>,
    link: &mut Result<Box<dyn Control>>,
    debug: Option<&Path>,
) {
    let lf = num(boot, "linux_cntfrq").unwrap_or(-1);
    let ff = num(boot, "fw_cntfrq").unwrap_or(-2);
    if lf == ff && lf > 0 {
        r.add(
            "timer-cntfrq",
            Status::Pass,
            format!("{lf} Hz on both sides"),
            A_CNTFRQ,
            SRC_TIMER,
            None,
        );
    } else {
        r.add(
            "timer-cntfrq",
            Status::Fail,
            format!("Linux {lf} Hz, firmware {ff} Hz"),
            A_CNTFRQ,
            SRC_TIMER,
            Some("CNTFRQ_EL0 is per core and written by the boot firmware on each core's way up: BL31 (TF-A's plat setup) must program it for CPU3 too; until then the firmware's timeouts and the latency figures are off by the ratio".into()),
        );
    }
    // Entry: the firmware's counter at entry lies between Linux's at
    // CPU_ON and CPU_ON + the stamp time (+1 ms for the polling).
    let c0 = num(boot, "cpu_on_counter").unwrap_or(-1);
    let fe = num(boot, "fw_entry_counter").unwrap_or(-1);
    let us = num(boot, "cpu_on_to_stamp_us").unwrap_or(-1);
    let freq = lf.max(1);
    let entry_ok = c0 >= 0 && fe >= c0 && us >= 0 && fe - c0 <= (us + 1000) * freq / 1_000_000;
    // Now: the firmware's counter between two reads of Linux's.
    let boot_file = debug.map(|d| d.join("rtd_amp_boot"));
    let linux_now = || {
        boot_file
            .as_ref()
            .and_then(|p| read_text(p))
            .and_then(|t| num(&kv(&t), "linux_counter"))
    };
    let live = link.as_mut().ok().and_then(|l| {
        let a = linux_now()?;
        let fw = match l.call(Request::SelftestInfo, Duration::from_secs(1)).ok()? {
            Response::SelftestInfo(i) => i128::from(i.now_cntpct),
            _ => return None,
        };
        let b = linux_now()?;
        Some((a, fw, b))
    });
    let live_ok = live.is_none_or(|(a, fw, b)| a <= fw && fw <= b);
    let mut value = format!(
        "firmware counter at entry {} ticks after Linux's at CPU_ON (stamp {us} us)",
        fe - c0
    );
    if let Some((a, fw, b)) = live {
        let _ = write!(
            value,
            "; live sample {fw} within Linux's [{a}, {b}] ({} us window)",
            (b - a) * 1_000_000 / freq
        );
    }
    if entry_ok && live_ok {
        r.add(
            "timer-counter",
            Status::Pass,
            value,
            A_COUNTER,
            SRC_TIMER,
            None,
        );
    } else {
        r.add(
            "timer-counter",
            Status::Fail,
            value,
            A_COUNTER,
            SRC_TIMER,
            Some("the counters differ: Linux reads the virtual counter (CNTVCT = CNTPCT - CNTVOFF_EL2) and the firmware the physical one; a hypervisor or BL31 that sets CNTVOFF_EL2 for Linux's cores makes them disagree; timestamps exchanged between the sides need the offset".into()),
        );
    }
}

fn check_shm(r: &mut Run<'_, '_>, link: &mut Result<Box<dyn Control>>) {
    let Ok(l) = link.as_mut() else {
        r.add(
            "shm-pattern",
            Status::Skip,
            "the control service is unreachable (see doorbell-count)",
            A_SHM,
            SRC_SHM,
            None,
        );
        return;
    };
    let rounds = r.opts.shm_rounds.max(1);
    let (mut in_bad, mut out_bad, mut first) = (0u64, 0u64, None);
    let start = Instant::now();
    for k in 0..rounds {
        let seed = 0xA5A5_0000 ^ k.wrapping_mul(0x9E37_79B9);
        let mut p = [0u8; SHM_PATTERN_LEN];
        pattern(seed, &mut p);
        match l.call(
            Request::SelftestShm { seed, pattern: p },
            Duration::from_secs(1),
        ) {
            Ok(Response::SelftestShm(res)) => {
                in_bad += u64::from(res.mismatches);
                if res.first_bad != NO_MISMATCH && first.is_none() {
                    first = Some(format!(
                        "Linux->firmware round {k} offset {}",
                        res.first_bad
                    ));
                }
                let (bad, at) = check_pattern(res.seed, &res.pattern);
                out_bad += u64::from(bad);
                if at != NO_MISMATCH && first.is_none() {
                    first = Some(format!("firmware->Linux round {k} offset {at}"));
                }
            }
            Ok(other) => {
                r.add(
                    "shm-pattern",
                    Status::Fail,
                    format!("unexpected answer {other:?}"),
                    A_SHM,
                    SRC_SHM,
                    Some(
                        "the firmware is older than this ampctl: update both from one revision"
                            .into(),
                    ),
                );
                return;
            }
            Err(e) => {
                r.add(
                    "shm-pattern",
                    Status::Fail,
                    format!("round {k}: {e:#}"),
                    A_SHM,
                    SRC_SHM,
                    Some("a pattern message was lost: see doorbell-count".into()),
                );
                return;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = f64::from(rounds) * 2.0 * SHM_PATTERN_LEN as f64;
    let value = format!(
        "{rounds} round trips of {SHM_PATTERN_LEN} bytes each way: {in_bad} bad bytes Linux->firmware, {out_bad} firmware->Linux"
    );
    if in_bad == 0 && out_bad == 0 {
        r.add("shm-pattern", Status::Pass, value, A_SHM, SRC_SHM, None);
    } else {
        r.add(
            "shm-pattern",
            Status::Fail,
            format!("{value}; first at {}", first.unwrap_or_default()),
            A_SHM,
            SRC_SHM,
            Some("one side reads stale data: the two sides map the buffers with different attributes (one cacheable, one not) or a cache line is not cleaned; the firmware maps the RPMsg window Normal non-cacheable (mmu.rs), Linux with ioremap_wc/dma-coherent: check the BSP's kernel for dma-coherent on the remoteproc node and the window's DRAM attributes".into()),
        );
    }
    r.figure(
        "shm_bandwidth",
        bytes / secs.max(1e-9) / 1024.0,
        "KiB/s",
        format!("{rounds} SELFTEST_SHM round trips, pattern bytes both ways over wall time, one RPMsg message each way per trip"),
    );
}

fn check_latency(r: &mut Run<'_, '_>, link: &mut Result<Box<dyn Control>>) {
    let Ok(l) = link.as_mut() else {
        r.add(
            "timer-latency",
            Status::Skip,
            "the control service is unreachable (see doorbell-count)",
            A_LATENCY,
            SRC_LATENCY,
            None,
        );
        return;
    };
    let (count, period) = (r.opts.timer_count, r.opts.timer_period_us);
    // The run takes count x period; a lost interrupt ends it after at most
    // one second more (selftest_hw.rs).
    let budget = Duration::from_micros(u64::from(count) * u64::from(period) * 12 / 10)
        + Duration::from_secs(3);
    match l.call(
        Request::SelftestTimer {
            count,
            period_us: period,
        },
        budget,
    ) {
        Ok(Response::SelftestTimer(t)) => latency_result(r, t, period),
        Ok(other) => r.add(
            "timer-latency",
            Status::Fail,
            format!("unexpected answer {other:?}"),
            A_LATENCY,
            SRC_LATENCY,
            Some("the firmware is older than this ampctl: update both from one revision".into()),
        ),
        Err(e) => r.add(
            "timer-latency",
            Status::Fail,
            format!("{e:#}"),
            A_LATENCY,
            SRC_LATENCY,
            Some("the latency run did not answer: the firmware may be a production build without the self-test, or hung".into()),
        ),
    }
}

fn latency_result(r: &mut Run<'_, '_>, t: TimerLatency, period: u32) {
    let ns = |ticks: u64| ticks as f64 * 1e9 / t.cntfrq.max(1) as f64;
    let value = format!(
        "{} timer interrupts {period} us apart: min {:.0} ns, median {:.0} ns, p99 {:.0} ns, max {:.0} ns; {} lost",
        t.count,
        ns(t.min),
        ns(t.p50),
        ns(t.p99),
        ns(t.max),
        t.lost
    );
    if t.lost == 0 && t.count > 0 {
        r.add(
            "timer-latency",
            Status::Pass,
            value,
            A_LATENCY,
            SRC_LATENCY,
            None,
        );
    } else {
        r.add(
            "timer-latency",
            Status::Fail,
            value,
            A_LATENCY,
            SRC_LATENCY,
            Some("timer interrupts did not arrive: the EL1 physical timer's PPI is not 30 on this core, or EL1 may not use it (CNTHCTL_EL2.EL1PCEN when BL31 enters at EL2)".into()),
        );
    }
    for (name, v) in [
        ("timer_latency_min", t.min),
        ("timer_latency_p50", t.p50),
        ("timer_latency_p99", t.p99),
        ("timer_latency_max", t.max),
    ] {
        r.figure(
            name,
            ns(v).round(),
            "ns",
            format!("firmware: CNTPCT at ICC_IAR1 minus CNTP_CVAL, {} interrupts {period} us apart, core polling", t.count),
        );
    }
}

#[cfg(test)]
mod tests;

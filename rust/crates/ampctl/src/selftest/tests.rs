//! The self-test against fixture trees (a fake /sys, /proc and debugfs
//! below a temporary root) and a scripted control service: formatting, the
//! JSON schema and each FAIL path with its hint.

use super::*;
use amp_control::serve_shm;
use std::fs;
use std::os::unix::fs::symlink;

struct Fix {
    dir: tempfile::TempDir,
}

/// Knobs of the fixture: each breaks one assumption.
#[derive(Clone, Copy)]
struct Knobs {
    overlay: bool,
    fw_no_map: bool,
    ram_over_fw: bool,
    cpu_online: bool,
    dt_sgi: u32,
    stamp: bool,
    running: bool,
    cpu_on_ret: i32,
    fw_cntfrq: u64,
}

const OK: Knobs = Knobs {
    overlay: true,
    fw_no_map: true,
    ram_over_fw: false,
    cpu_online: false,
    dt_sgi: 7,
    stamp: true,
    running: true,
    cpu_on_ret: 0,
    fw_cntfrq: 62_500_000,
};

fn be(cells: &[u32]) -> Vec<u8> {
    cells.iter().flat_map(|c| c.to_be_bytes()).collect()
}

fn put(p: &Path, b: impl AsRef<[u8]>) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, b).unwrap();
}

impl Fix {
    fn new(k: Knobs) -> Fix {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let dt = root.join("sys/firmware/devicetree/base");
        put(&dt.join("psci/compatible"), b"arm,psci-1.0\0arm,psci-0.2\0");
        put(&dt.join("psci/method"), b"hvc\0");
        put(&dt.join("cpus/cpu@3/reg"), be(&[3]));
        put(&dt.join("cpus/cpu@3/phandle"), be(&[1]));
        put(&dt.join("cpus/cpu@0/reg"), be(&[0]));
        let rm = dt.join("reserved-memory");
        put(&rm.join("#address-cells"), be(&[2]));
        put(&rm.join("#size-cells"), be(&[2]));
        let regions = [
            ("firmware@70000000", 0x7000_0000u32, 0x40_0000u32, 10u32),
            ("vdev0vring0@70400000", 0x7040_0000, 0x8000, 11),
            ("vdev0vring1@70408000", 0x7040_8000, 0x8000, 12),
            ("vdev0buffer@70410000", 0x7041_0000, 0x4_0000, 13),
            ("ctrl@70ff0000", 0x70FF_0000, 0x1000, 14),
        ];
        if k.overlay {
            for (name, base, size, ph) in regions {
                let n = rm.join(name);
                put(&n.join("reg"), be(&[0, base, 0, size]));
                put(&n.join("phandle"), be(&[ph]));
                if ph != 10 || k.fw_no_map {
                    put(&n.join("no-map"), b"");
                }
            }
            let mb = dt.join("mailbox-0");
            put(&mb.join("compatible"), b"realtek,rtd1619b-amp-mbox\0");
            put(&mb.join("interrupts"), be(&[0, 120, 1]));
            put(&mb.join("realtek,sgi"), be(&[k.dt_sgi]));
            let rp = dt.join("remoteproc-cpu3");
            put(&rp.join("compatible"), b"realtek,rtd1619b-amp-rproc\0");
            put(&rp.join("realtek,cpu"), be(&[1]));
            put(&rp.join("memory-region"), be(&[10, 11, 12, 13, 14]));
        }
        for n in 0..4 {
            let c = root.join(format!("sys/devices/system/cpu/cpu{n}"));
            fs::create_dir_all(&c).unwrap();
            if n > 0 {
                let online = n < 3 || k.cpu_online;
                put(&c.join("online"), if online { "1\n" } else { "0\n" });
            }
            let node = if n == 3 { "cpu@3" } else { "cpu@0" };
            symlink(dt.join("cpus").join(node), c.join("of_node")).unwrap();
        }
        let ram_end = if k.ram_over_fw {
            "7fffffff"
        } else {
            "6fffffff"
        };
        put(
            &root.join("proc/iomem"),
            format!(
                "09000000-09000fff : pl011@9000000\n40000000-{ram_end} : System RAM\n  40210000-41ffffff : Kernel code\n70000000-703fffff : reserved\n"
            ),
        );
        put(
            &root.join("proc/interrupts"),
            "           CPU0       CPU1       CPU2\n 13:       1000        900        800     GICv3  27 Level     arch_timer\n 20:         30         10          2     GICv3 152 Edge      mailbox-0\n",
        );
        let rp = root.join("sys/class/remoteproc/remoteproc0");
        put(&rp.join("name"), "rtd-amp\n");
        put(
            &rp.join("state"),
            if k.running { "running\n" } else { "offline\n" },
        );
        put(&rp.join("firmware"), "rtd-amp/rtd-amp-fw.elf\n");
        put(
            &root.join("lib/firmware/rtd-amp/rtd-amp-fw.elf"),
            b"not an ELF",
        );
        let dbg = root.join("sys/kernel/debug/remoteproc/remoteproc0");
        let mut boot = format!(
            "psci_version: 1.1\nconduit: hvc\nmpidr: 0x3\nstarted: 1\naffinity_before_cpu_on: 1\ncpu_on_ret: {}\ncpu_on_to_stamp_us: {}\ncpu_on_counter: 1000000\nlinux_cntfrq: 62500000\nlinux_counter: 5000000\n",
            k.cpu_on_ret,
            if k.stamp { 812 } else { -1 }
        );
        if k.stamp {
            boot += &format!(
                "stamp: STMP\nfw_entry_el: 1\nfw_sgi: 7\nfw_spi_intid: 152\nfw_cntfrq: {}\nfw_entry_counter: 1040000\nfw_window: 0x70000000\nfw_mpidr: 0x80000003\nfw_sgis_received: 4\nfw_spis_raised: 5\n",
                k.fw_cntfrq
            );
        } else {
            boot += "stamp: none\n";
        }
        put(&dbg.join("rtd_amp_boot"), boot);
        put(
            &dbg.join("rtd_amp_ctrl"),
            format!(
                "magic: 0x504d4152 (RAMP)\nversion: 1\nfw_state: {}\nstop_req: 0x00000000\ncrash_seq: 0\n",
                if k.stamp { 2 } else { 0 }
            ),
        );
        Fix { dir }
    }

    fn run(&self, mut fw: FakeFw) -> Report {
        let root = self.dir.path();
        fw.interrupts = Some(Box::leak(root.join("proc/interrupts").into_boxed_path()));
        let sys = Sys::under(root);
        let env = Env { root, sys: &sys };
        let rproc = amp_host::remoteproc::list(&sys).unwrap().into_iter().next();
        let mut control = move || -> Result<Box<dyn Control>> {
            if fw.reachable {
                Ok(Box::new(fw))
            } else {
                anyhow::bail!("opening the rpmsg control device: No such file or directory")
            }
        };
        run(&env, rproc.as_ref(), &mut control, Options::default())
    }
}

/// A scripted control service: counts doorbells as the firmware would.
#[derive(Clone, Copy)]
struct FakeFw {
    /// /proc/interrupts of the fixture: each pong bumps the mailbox line,
    /// as Linux's interrupt count moves with the firmware's SPIs.
    interrupts: Option<&'static Path>,
    reachable: bool,
    corrupt_shm: bool,
    lost_timer: u32,
    /// Control calls answered (one doorbell each way per call).
    calls: u64,
    /// The firmware counts one SGI per this many calls: the GIC merges an
    /// SGI into one still pending (0: no SGI ever arrives).
    sgi_every: u64,
    now: u64,
    /// The PSCI conduit the firmware reports (amp_control::CONDUIT_*).
    conduit: u32,
}

const FW: FakeFw = FakeFw {
    interrupts: None,
    reachable: true,
    corrupt_shm: false,
    lost_timer: 0,
    calls: 0,
    sgi_every: 1,
    now: 5_000_000,
    conduit: amp_control::CONDUIT_HVC,
};

impl Control for FakeFw {
    fn call(&mut self, req: Request, _timeout: Duration) -> Result<Response> {
        self.calls += 1;
        Ok(match req {
            Request::Ping { nonce } => {
                if let Some(p) = self.interrupts {
                    put(
                        p,
                        format!(" 20:         {}          0          0     GICv3 152 Edge      mailbox-0\n", 1000 + self.calls),
                    );
                }
                Response::Pong { nonce }
            }
            Request::SelftestInfo => Response::SelftestInfo(SelftestInfo {
                entry_el: 1,
                doorbell_sgi: 7,
                doorbell_spi: 152,
                psci_conduit: self.conduit,
                cntfrq: 62_500_000,
                entry_cntpct: 1_040_000,
                now_cntpct: self.now,
                window: 0x7000_0000,
                sgis_received: self.calls.checked_div(self.sgi_every).unwrap_or(0),
                spis_raised: self.calls,
            }),
            Request::SelftestShm { seed, pattern } => {
                let mut p = pattern;
                if self.corrupt_shm {
                    p[17] ^= 0x40;
                }
                let mut r = serve_shm(seed, &p);
                if self.corrupt_shm {
                    r.pattern[3] ^= 1;
                }
                Response::SelftestShm(r)
            }
            Request::SelftestTimer { count, .. } => Response::SelftestTimer(TimerLatency {
                count: count - self.lost_timer,
                lost: self.lost_timer,
                cntfrq: 62_500_000,
                min: 100,
                p50: 150,
                p99: 600,
                max: 900,
            }),
            other => anyhow::bail!("unexpected {other:?}"),
        })
    }
}

fn get<'a>(r: &'a Report, id: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}: {}", r.text()))
}

fn status(r: &Report, id: &str) -> Status {
    get(r, id).status
}

/// Every id, in order: docs/bring-up.md documents each.
const IDS: [&str; 19] = [
    "dt-overlay",
    "dt-reserved-memory",
    "iomem",
    "cpu-offline",
    "fw-elf",
    "psci-version",
    "psci-conduit",
    "psci-affinity",
    "psci-cpu-on",
    "fw-entry",
    "doorbell-ids",
    "gic-redistributor",
    "fw-conduit",
    "doorbell-count",
    "doorbell-rtt",
    "timer-cntfrq",
    "timer-counter",
    "shm-pattern",
    "timer-latency",
];

#[test]
fn a_good_board_passes_everything_it_can_see() {
    let f = Fix::new(OK);
    let r = f.run(FW);
    let ids: Vec<&str> = r.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, IDS.to_vec());
    for c in &r.checks {
        let expect = match c.id {
            // The fixture's firmware file is not an ELF.
            "fw-elf" => Status::Fail,
            // No debug driver in this fixture.
            "doorbell-rtt" => Status::Skip,
            _ => Status::Pass,
        };
        assert_eq!(c.status, expect, "{}: {}", c.id, c.value);
        assert!(!c.assumption.is_empty() && !c.source.is_empty(), "{}", c.id);
        assert_eq!(c.hint.is_some(), c.status == Status::Fail, "{}", c.id);
    }
    assert_eq!(get(&r, "doorbell-rtt").value, RTT_MISSING);
    assert_eq!((r.passed, r.failed, r.skipped), (17, 1, 1));
    let t = r.text();
    assert!(
        t.ends_with("selftest: 17 passed, 1 failed, 1 skipped\n"),
        "{t}"
    );
    assert!(t.contains("PASS fw-entry: entered at EL1 on MPIDR 0x3, stamp 812 us after CPU_ON\n"));
    assert!(
        t.contains("FIGURE: cpu_on_to_stamp 812 us (driver: ktime"),
        "{t}"
    );
    assert!(t.contains("FIGURE: timer_latency_p99 9600 ns ("), "{t}");
    assert!(t.contains("FIGURE: shm_bandwidth "), "{t}");
    assert!(t.contains(
        "PASS timer-latency: 2000 timer interrupts 1000 us apart: min 1600 ns, median 2400 ns, p99 9600 ns, max 14400 ns; 0 lost\n"
    ));
    assert!(t.contains(
        "PASS doorbell-ids: device tree: SGI 7, SPI INTID 152; firmware: SGI 7, SPI INTID 152\n"
    ));
    assert!(t.contains("    assumption: Linux keeps the firmware's core offline (maxcpus=3) ["));
    assert!(t.contains("FAIL fw-elf: rtd-amp/rtd-amp-fw.elf: "));
    assert!(t.contains("    hint: the firmware was built for another board"));
}

#[test]
fn json_schema() {
    let f = Fix::new(OK);
    let mut r = f.run(FW);
    // The debug driver's raw round trips (its debugfs file cannot be
    // imitated by a plain file: a write starts the run).
    let root = f.dir.path();
    let sys = Sys::under(root);
    let env = Env { root, sys: &sys };
    let mut run = Run {
        env: &env,
        opts: Options::default(),
        checks: vec![],
        figures: vec![],
    };
    rtt_result(
        &mut run,
        "n=1000 min_ns=9000 p50_ns=12000 p99_ns=30000 max_ns=50000 lost=0\n",
    );
    rtt_result(
        &mut run,
        "n=1000 min_ns=9000 p50_ns=12000 p99_ns=30000 max_ns=50000 lost=2",
    );
    assert_eq!(run.checks[1].status, Status::Fail);
    assert!(run.checks[1]
        .hint
        .as_ref()
        .unwrap()
        .starts_with("raw doorbells were lost"));
    let i = r
        .checks
        .iter()
        .position(|c| c.id == "doorbell-rtt")
        .unwrap();
    r.checks[i] = run.checks[0].clone();
    r.figures.extend(run.figures.into_iter().take(2));
    let r = Report::new(r.checks, r.figures);
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        ["checks", "failed", "figures", "passed", "schema", "skipped"]
    );
    assert_eq!(v["schema"], 1);
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(
            keys(c),
            ["assumption", "hint", "id", "source", "status", "value"]
        );
        assert!(["PASS", "FAIL", "SKIP"].contains(&c["status"].as_str().unwrap()));
        assert!(c["hint"].is_null() || c["status"] == "FAIL");
    }
    for f in v["figures"].as_array().unwrap() {
        assert_eq!(keys(f), ["method", "name", "unit", "value"]);
        assert!(f["value"].is_number());
    }
    let rtt = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "doorbell-rtt")
        .unwrap();
    assert_eq!(rtt["status"], "PASS");
    assert_eq!(
        rtt["value"],
        "n=1000 min_ns=9000 p50_ns=12000 p99_ns=30000 max_ns=50000 lost=0"
    );
    let p99 = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "doorbell_rtt_p99")
        .unwrap();
    assert_eq!(p99["value"], 30000.0);
    assert_eq!(p99["unit"], "ns");
    assert_eq!(v["passed"], 18);
}

#[test]
fn overlay_not_applied() {
    let r = Fix::new(Knobs {
        overlay: false,
        ..OK
    })
    .run(FW);
    let c = get(&r, "dt-overlay");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.value,
        "no realtek,rtd1619b-amp-rproc and no realtek,rtd1619b-amp-mbox node in the live device tree"
    );
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .starts_with("the overlay is not in the device tree Linux booted with"));
    for id in ["dt-reserved-memory", "iomem", "cpu-offline"] {
        assert_eq!(status(&r, id), Status::Skip, "{id}");
    }
}

#[test]
fn a_carveout_in_system_ram() {
    let r = Fix::new(Knobs {
        fw_no_map: false,
        ram_over_fw: true,
        ..OK
    })
    .run(FW);
    let c = get(&r, "dt-reserved-memory");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.value.starts_with("without no-map: firmware ("),
        "{}",
        c.value
    );
    assert!(c.hint.as_ref().unwrap().contains("add `no-map;`"));
    let c = get(&r, "iomem");
    assert_eq!(c.status, Status::Fail);
    assert!(c
        .value
        .starts_with("firmware 0x70000000..0x703fffff in System RAM 0x40000000-0x7fffffff"));
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .starts_with("Linux uses this memory as RAM"));
    // Without root, /proc/iomem shows zeros: skipped, with the reason.
    let f = Fix::new(OK);
    put(
        &f.dir.path().join("proc/iomem"),
        "00000000-00000000 : System RAM\n",
    );
    let c = get(&f.run(FW), "iomem").clone();
    assert_eq!(c.status, Status::Skip);
    assert!(c.value.contains("as root"));
}

#[test]
fn cpu3_online() {
    let r = Fix::new(Knobs {
        cpu_online: true,
        ..OK
    })
    .run(FW);
    let c = get(&r, "cpu-offline");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.value, "cpu3 (MPIDR 0x3) is online in Linux");
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .contains("echo 0 > /sys/devices/system/cpu/cpu3/online"));
}

#[test]
fn wrong_sgi_in_the_device_tree() {
    let r = Fix::new(Knobs { dt_sgi: 6, ..OK }).run(FakeFw {
        reachable: false,
        ..FW
    });
    let c = get(&r, "doorbell-ids");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.value,
        "device tree: SGI 6, SPI INTID 152; firmware: SGI 7, SPI INTID 152"
    );
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .starts_with("the mailbox node's realtek,sgi is 6 but the firmware takes SGI 7"));
    // The doorbells then fail to work: reported, not a hang.
    assert_eq!(status(&r, "doorbell-count"), Status::Fail);
    assert_eq!(status(&r, "shm-pattern"), Status::Skip);
    assert_eq!(status(&r, "timer-latency"), Status::Skip);
}

#[test]
fn firmware_never_stamped() {
    let r = Fix::new(Knobs { stamp: false, ..OK }).run(FW);
    let c = get(&r, "fw-entry");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.value,
        "no stamp in the control page after CPU_ON (CPU_ON returned 0)"
    );
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .starts_with("the core never reached the firmware's first instructions"));
    for id in [
        "doorbell-ids",
        "doorbell-count",
        "shm-pattern",
        "timer-latency",
    ] {
        assert_eq!(status(&r, id), Status::Skip, "{id}");
    }
    assert!(r.figures.is_empty());
}

#[test]
fn firmware_not_started() {
    let r = Fix::new(Knobs {
        running: false,
        ..OK
    })
    .run(FW);
    let c = get(&r, "fw-entry");
    assert_eq!((c.status, c.value.as_str()), (Status::Skip, NOT_RUNNING));
    assert_eq!(r.failed, 1, "only fw-elf: {}", r.text());
}

#[test]
fn psci_cpu_on_refused_and_cntfrq_mismatch() {
    let r = Fix::new(Knobs {
        cpu_on_ret: -9,
        fw_cntfrq: 24_000_000,
        ..OK
    })
    .run(FW);
    let c = get(&r, "psci-cpu-on");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.value, "CPU_ON returned -9 (INVALID_ADDRESS)");
    assert!(c
        .hint
        .as_ref()
        .unwrap()
        .starts_with("BL31 refuses the entry point"));
    let c = get(&r, "timer-cntfrq");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.value, "Linux 62500000 Hz, firmware 24000000 Hz");
}

#[test]
fn firmware_built_for_another_conduit() {
    let r = Fix::new(OK).run(FakeFw {
        conduit: amp_control::CONDUIT_SMC,
        ..FW
    });
    let c = get(&r, "fw-conduit");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.value, "/psci method \"hvc\", firmware smc");
    assert!(c.hint.as_ref().unwrap().contains("cannot stop its core"));
    // A firmware that does not report it (0) fails too.
    let r = Fix::new(OK).run(FakeFw { conduit: 0, ..FW });
    assert_eq!(
        get(&r, "fw-conduit").value,
        "/psci method \"hvc\", firmware not reported"
    );
    assert_eq!(status(&r, "fw-conduit"), Status::Fail);
    // The rest of the run goes on.
    assert_eq!(status(&r, "doorbell-count"), Status::Pass);
}

#[test]
fn merged_sgis_pass_but_no_sgi_fails() {
    // One counted SGI per two pings: the GIC merged an SGI into one still
    // pending while the firmware was already serving its ring. Every ping
    // was answered, so the doorbell works.
    let r = Fix::new(OK).run(FakeFw { sgi_every: 2, ..FW });
    assert_eq!(status(&r, "doorbell-count"), Status::Pass);
    // No SGI counted at all: the firmware answers without Linux's doorbell
    // reaching it (it polls), which the board must not rely on.
    let r = Fix::new(OK).run(FakeFw { sgi_every: 0, ..FW });
    let c = get(&r, "doorbell-count");
    assert_eq!(c.status, Status::Fail);
    assert!(c.value.contains("firmware received 0 SGIs"), "{}", c.value);
}

#[test]
fn shared_memory_mismatch_and_lost_timer_interrupts() {
    let r = Fix::new(OK).run(FakeFw {
        corrupt_shm: true,
        lost_timer: 3,
        ..FW
    });
    let c = get(&r, "shm-pattern");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.value,
        "64 round trips of 256 bytes each way: 64 bad bytes Linux->firmware, 64 firmware->Linux; first at Linux->firmware round 0 offset 17"
    );
    assert!(c.hint.as_ref().unwrap().contains("different attributes"));
    let c = get(&r, "timer-latency");
    assert_eq!(c.status, Status::Fail);
    assert!(c.value.ends_with("; 3 lost"));
}

#[test]
fn counter_outside_linuxs_window() {
    // The firmware's live counter is behind Linux's (an offset): FAIL.
    let r = Fix::new(OK).run(FakeFw { now: 10, ..FW });
    let c = get(&r, "timer-counter");
    assert_eq!(c.status, Status::Fail, "{}", c.value);
    assert!(c
        .value
        .contains("live sample 10 within Linux's [5000000, 5000000]"));
    assert!(c.hint.as_ref().unwrap().contains("CNTVOFF_EL2"));
}

#[test]
fn parsers() {
    assert_eq!(
        system_ram("40000000-7fffffff : System RAM\n  40210000-41ffffff : Kernel code\n"),
        Some(vec![(0x4000_0000, 0x7FFF_FFFF)])
    );
    assert_eq!(system_ram("00000000-00000000 : System RAM\n"), None);
    let t = " 20:         30         10          2     GICv3 152 Edge      mailbox-0\n";
    assert_eq!(irq_count(t, "mailbox-0"), Some(42));
    assert_eq!(irq_count(t, "mailbox-1"), None);
    let m = kv("a: 0x10\nb: -3 (x)\n");
    assert_eq!((num(&m, "a"), num(&m, "b")), (Some(16), Some(-3)));
}

//! `ampctl deploy` against the sysfs double (a thread plays the kernel's
//! remoteproc core), real files under a temporary root, the real firmware
//! check, and a firmware double that serves (channels, ping) unless the
//! file the kernel would load is one of the "silent" images.

use super::*;
use amp_host::Sys;
use std::sync::atomic::Ordering;

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;
#[path = "../../amp-host/tests/support/fwimage.rs"]
mod fwimage;
#[path = "../../amp-host/tests/support/signing.rs"]
mod signing;

use amp_host::amp_ctrl_page::{contract_body, CONTRACT_LEN, RSC_CONTRACT_TYPE};
use amp_host::amp_proto::rsc::{self, TableBuilder};
use common::FakeKernel;
use fwimage::{elf, AARCH64, W};

const NAME: &str = "rtd-amp/fw.elf";
const TLEN: usize = rsc::header_len(3)
    + rsc::TRACE_ENTRY_LEN
    + rsc::vdev_entry_len(2, 0)
    + rsc::vendor_entry_len(CONTRACT_LEN);

/// A firmware image the check accepts; `n` makes each one different.
/// Laid out like `amp-host/tests/fwcheck.rs`'s good image: when the check
/// requires another resource entry, add it here as there.
fn image(n: u64) -> Vec<u8> {
    let t = TableBuilder::<TLEN>::new(3)
        .trace(0x703F_8000, 0x8000, "trace0")
        .rpmsg_vdev(64, 4096)
        .vendor(RSC_CONTRACT_TYPE, &contract_body(0))
        .finish();
    elf(
        AARCH64,
        W + 0x40 * n,
        &[(W, 0x8000, 0x6000), (W + 0x10000, 0x1000, 0x100)],
        Some(&t),
    )
}

/// Plays the firmware: serves when the file the kernel loads for the
/// processor's firmware name is not one of `silent`.
struct FwDouble {
    sys: Sys,
    search: FirmwareSearch,
    silent: Vec<Vec<u8>>,
    pings: u32,
}

impl FwDouble {
    fn serves(&self) -> bool {
        let r = Remoteproc::find(&self.sys, "rtd-amp").unwrap();
        let up = r.state().is_ok_and(|s| s.is_up());
        let loaded = r
            .firmware()
            .ok()
            .and_then(|n| fwcheck::resolve_firmware(&n, &self.search).ok())
            .and_then(|p| std::fs::read(p).ok());
        up && loaded.is_some_and(|b| !self.silent.contains(&b))
    }
}

impl Probe for FwDouble {
    fn state(&mut self) -> anyhow::Result<State> {
        Ok(Remoteproc::find(&self.sys, "rtd-amp")?.state()?)
    }
    fn channels(&mut self) -> Vec<String> {
        if self.serves() {
            vec!["rpmsg-raw".into(), "rtd-amp-ctrl".into()]
        } else {
            vec![]
        }
    }
    fn ping(&mut self, _: Duration) -> anyhow::Result<Duration> {
        self.pings += 1;
        if self.serves() {
            Ok(Duration::from_micros(50))
        } else {
            anyhow::bail!("no answer")
        }
    }
}

struct Rig {
    k: FakeKernel,
    ctx: Ctx,
    fw: FwDouble,
}

/// The double with the device tree, `lib/firmware/NAME` = `shipped`, the
/// processor running it, and `silent` images that never announce.
fn rig(shipped: &[u8], silent: Vec<Vec<u8>>) -> Rig {
    let k = FakeKernel::new();
    let root = k.root().to_path_buf();
    let fdt = root.join("sys/firmware/fdt");
    std::fs::create_dir_all(fdt.parent().unwrap()).unwrap();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(&fdt, fwimage::dtb(d.path(), true)).unwrap();
    let base = root.join("lib/firmware");
    std::fs::create_dir_all(base.join("rtd-amp")).unwrap();
    std::fs::write(base.join(NAME), shipped).unwrap();
    common::set(
        &common::rproc_dir(&root).join("firmware"),
        &format!("{NAME}\n"),
    );
    k.put("running");
    let sys = Sys::under(&root);
    let ctx = Ctx {
        sys: sys.clone(),
        root: root.clone(),
        socket: root.join("run/none.sock"),
    };
    let search = FirmwareSearch::system(&sys, &base);
    Rig {
        k,
        ctx,
        fw: FwDouble {
            sys,
            search,
            silent,
            pings: 0,
        },
    }
}

fn args(file: &Path) -> DeployArgs {
    DeployArgs {
        file: file.to_path_buf(),
        target: Target::default(),
        name: None,
        sig: SigArgs::default(),
        timeout_ms: 400,
        channels: vec![],
        direct: false,
        json: Json::default(),
    }
}

impl Rig {
    fn deploy(&mut self, bytes: &[u8], n: u32) -> (Report, String) {
        let file = self.ctx.root.join(format!("new-{n}.elf"));
        std::fs::write(&file, bytes).unwrap();
        self.deploy_args(&args(&file))
    }

    fn deploy_args(&mut self, a: &DeployArgs) -> (Report, String) {
        let r = Remoteproc::find(&self.ctx.sys, "rtd-amp").unwrap();
        let mut out = Vec::new();
        let rep = deploy(&self.ctx, &r, a, &mut self.fw, &mut out);
        (rep, String::from_utf8(out).unwrap())
    }

    fn updates(&self, suffix: &str) -> Option<Vec<u8>> {
        std::fs::read(
            self.ctx
                .root
                .join(format!("lib/firmware/updates/{NAME}{suffix}")),
        )
        .ok()
    }

    fn counts(&self) -> (u32, u32) {
        (
            self.k.starts.load(Ordering::SeqCst),
            self.k.stops.load(Ordering::SeqCst),
        )
    }
}

fn steps(r: &Report) -> Vec<(&str, bool)> {
    r.steps.iter().map(|s| (s.step, s.ok)).collect()
}

#[test]
fn a_bad_file_is_refused_before_anything_changes() {
    let mut g = rig(&image(0), vec![]);
    for (n, bad) in [b"not an elf".to_vec(), {
        // An ELF outside the carveout.
        let mut i = image(1);
        i[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        i
    }]
    .into_iter()
    .enumerate()
    {
        let (rep, progress) = g.deploy(&bad, n as u32);
        assert_eq!(rep.exit_code, EXIT_REFUSED, "{rep:?}");
        assert_eq!(rep.result, "refused");
        assert_eq!(steps(&rep), [("check", false)], "{progress}");
        assert!(progress.starts_with("deploy [1/4] check "), "{progress}");
        assert!(summary(&rep).contains("nothing changed"));
        assert_eq!(g.updates(""), None, "installed although refused");
        assert_eq!(g.counts(), (0, 0), "the processor was touched");
        assert_eq!(g.k.state(), "running");
    }
    // An unsigned file refused when signatures are required, and a file
    // the kernel would not load because another one shadows it.
    let f = g.ctx.root.join("u.elf");
    std::fs::write(&f, image(2)).unwrap();
    let mut a = args(&f);
    a.sig.require_signature = true;
    let (rep, _) = g.deploy_args(&a);
    assert_eq!(rep.exit_code, EXIT_REFUSED);
    assert!(
        rep.error.as_deref().unwrap().contains("sig-unsigned"),
        "{rep:?}"
    );
    let custom = g.ctx.root.join("custom");
    std::fs::create_dir_all(custom.join("rtd-amp")).unwrap();
    std::fs::write(custom.join(NAME), image(3)).unwrap();
    g.fw.search = FirmwareSearch::kernel(
        &g.ctx.root.join("lib/firmware"),
        Some(custom.to_str().unwrap()),
        "x",
    );
    common::write(
        &g.ctx.root.join("sys/module/firmware_class/parameters/path"),
        &format!("{}\n", custom.display()),
    );
    let (rep, _) = g.deploy_args(&args(&f));
    assert_eq!(rep.exit_code, EXIT_REFUSED);
    assert!(
        rep.error
            .as_deref()
            .unwrap()
            .contains("the kernel would load"),
        "{rep:?}"
    );
    assert_eq!(g.updates(""), None);
    assert_eq!(g.counts(), (0, 0));
}

#[test]
fn a_good_firmware_replaces_the_running_one_and_the_previous_is_kept() {
    let mut g = rig(&image(0), vec![]);
    let (rep, progress) = g.deploy(&image(1), 1);
    assert_eq!(rep.exit_code, EXIT_DEPLOYED, "{rep:?}\n{progress}");
    assert_eq!(
        steps(&rep),
        [
            ("check", true),
            ("install", true),
            ("restart", true),
            ("health", true)
        ]
    );
    assert_eq!(rep.restart_via, Some("direct"));
    assert_eq!(g.updates("").unwrap(), image(1));
    assert_eq!(g.counts(), (1, 1));
    assert_eq!(g.k.state(), "running");
    for n in 1..=4 {
        assert!(progress.contains(&format!("deploy [{n}/4] ")), "{progress}");
    }
    // The channels expected: the ones the running firmware announced.
    assert!(
        progress.contains("channels rpmsg-raw, rtd-amp-ctrl"),
        "{progress}"
    );
    // Again: the first deployed one is kept as NAME.prev.
    let (rep, _) = g.deploy(&image(2), 2);
    assert_eq!(rep.exit_code, EXIT_DEPLOYED, "{rep:?}");
    assert_eq!(g.updates("").unwrap(), image(2));
    assert_eq!(g.updates(".prev").unwrap(), image(1));
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(g.ctx.root.join("lib/firmware/updates/rtd-amp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("deploy"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn through_the_daemon() {
    let mut g = rig(&image(0), vec![]);
    let socket = g.ctx.root.join("run/rtd-ampd.sock");
    let cfg = rtd_ampd::config::Config::parse(
        &format!(
            "[daemon]\nsocket = \"{}\"\npoll_interval_ms = 5\n[[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"{NAME}\"\ncheck_firmware = false\nautostart = false\n",
            socket.display()
        ),
        Path::new("t.toml"),
    )
    .unwrap();
    let (tx, handle) = rtd_ampd::spawn(
        cfg,
        rtd_ampd::hw::Hw::under(g.k.root()),
        Box::new(rtd_ampd::supervisor::NoNotify),
    )
    .unwrap();
    g.ctx.socket = socket;
    let (rep, progress) = g.deploy(&image(1), 1);
    assert_eq!(rep.exit_code, EXIT_DEPLOYED, "{rep:?}\n{progress}");
    assert_eq!(rep.restart_via, Some("daemon"));
    assert!(progress.contains("by rtd-ampd (rtd-amp)"), "{progress}");
    assert_eq!(g.counts(), (1, 1));
    tx.send(rtd_ampd::supervisor::Msg::Shutdown).unwrap();
    handle.join().unwrap();
}

#[test]
fn a_firmware_that_never_announces_is_rolled_back() {
    let silent = image(9);
    let mut g = rig(&image(0), vec![silent.clone()]);
    // From the shipped file: the rollback removes ours.
    let (rep, progress) = g.deploy(&silent, 1);
    assert_eq!(rep.exit_code, EXIT_ROLLED_BACK, "{rep:?}\n{progress}");
    assert_eq!(rep.result, "rolled-back");
    assert_eq!(
        steps(&rep),
        [
            ("check", true),
            ("install", true),
            ("restart", true),
            ("health", false),
            ("restore", true),
            ("restart-previous", true),
            ("health-previous", true)
        ],
        "{progress}"
    );
    assert!(
        rep.error
            .as_deref()
            .unwrap()
            .contains("channels not announced"),
        "{rep:?}"
    );
    assert!(summary(&rep).contains("the previous rtd-amp/fw.elf serves again"));
    assert_eq!(g.updates(""), None);
    assert_eq!(g.counts(), (2, 2));
    assert!(g.fw.serves());
    // From an earlier deployment: the rollback restores it.
    let (rep, _) = g.deploy(&image(1), 2);
    assert_eq!(rep.exit_code, EXIT_DEPLOYED);
    let (rep, _) = g.deploy(&silent, 3);
    assert_eq!(rep.exit_code, EXIT_ROLLED_BACK, "{rep:?}");
    assert_eq!(g.updates("").unwrap(), image(1));
    assert!(g.fw.serves());
}

#[test]
fn a_failed_rollback_is_reported() {
    // The shipped firmware does not serve either.
    let (old, new) = (image(8), image(9));
    let mut g = rig(&old, vec![old.clone(), new.clone()]);
    let (rep, progress) = g.deploy(&new, 1);
    assert_eq!(rep.exit_code, EXIT_ROLLBACK_FAILED, "{rep:?}\n{progress}");
    assert_eq!(rep.result, "rollback-failed");
    assert_eq!(
        steps(&rep).last(),
        Some(&("health-previous", false)),
        "{progress}"
    );
    let e = rep.error.as_deref().unwrap();
    assert!(e.contains("; rollback: "), "{e}");
    assert!(summary(&rep).starts_with("ROLLBACK FAILED"));
    // The previous file is back all the same.
    assert_eq!(g.updates(""), None);
}

#[test]
fn the_signature_goes_with_the_file() {
    let mut g = rig(&image(0), vec![]);
    let pair = signing::keypair(&g.ctx.root, "trusted");
    let with_cert = |f: &Path| {
        let mut a = args(f);
        a.sig.certs = vec![pair.1.clone()];
        a
    };
    let f = g.ctx.root.join("s.elf");
    std::fs::write(&f, image(1)).unwrap();
    let sig = signing::sign_like_the_tool(&f, &pair);
    let (rep, progress) = g.deploy_args(&with_cert(&f));
    assert_eq!(rep.exit_code, EXIT_DEPLOYED, "{rep:?}\n{progress}");
    assert_eq!(g.updates(".p7s").unwrap(), std::fs::read(&sig).unwrap());
    // Tampered after signing: refused as the kernel refuses it.
    let t = g.ctx.root.join("t.elf");
    let mut b = image(2);
    std::fs::write(&t, &b).unwrap();
    signing::sign_like_the_tool(&t, &pair);
    b[100] ^= 1;
    std::fs::write(&t, &b).unwrap();
    let (rep, _) = g.deploy_args(&with_cert(&t));
    assert_eq!(rep.exit_code, EXIT_REFUSED);
    assert!(
        rep.error.as_deref().unwrap().contains("sig-mismatch"),
        "{rep:?}"
    );
    assert_eq!(g.updates("").unwrap(), image(1));
    // Unsigned next: the stale signature is not checked against it and
    // is removed (kept as .prev with the previous file).
    let u = g.ctx.root.join("u.elf");
    std::fs::write(&u, image(3)).unwrap();
    let (rep, progress) = g.deploy_args(&with_cert(&u));
    assert_eq!(rep.exit_code, EXIT_DEPLOYED, "{rep:?}\n{progress}");
    assert_eq!(g.updates(".p7s"), None);
    assert_eq!(
        g.updates(".p7s.prev").unwrap(),
        std::fs::read(&sig).unwrap()
    );
    assert_eq!(g.updates(".prev").unwrap(), image(1));
    // An unsigned file whose name has another file's signature further
    // down the kernel's search (the shipped NAME.p7s): refused.
    std::fs::copy(&sig, g.ctx.root.join(format!("lib/firmware/{NAME}.p7s"))).unwrap();
    let v = g.ctx.root.join("v.elf");
    std::fs::write(&v, image(4)).unwrap();
    let (rep, _) = g.deploy_args(&with_cert(&v));
    assert_eq!(rep.exit_code, EXIT_REFUSED, "{rep:?}");
    assert!(
        rep.error.as_deref().unwrap().contains("sig-mismatch"),
        "{rep:?}"
    );
    assert_eq!(g.updates("").unwrap(), image(3));
}

#[test]
fn a_stuck_core_is_refused_before_the_install() {
    let mut g = rig(&image(0), vec![]);
    // An earlier stop timed out: the kernel shows offline, the core is on.
    g.k.put("offline");
    g.k.set_core_state("stuck");
    let (rep, progress) = g.deploy(&image(1), 1);
    assert_eq!(rep.exit_code, EXIT_ERROR, "{rep:?}\n{progress}");
    assert_eq!(rep.result, "error");
    assert!(rep.steps.is_empty(), "{progress}");
    let s = summary(&rep);
    assert!(
        s.contains("reboot needed") && s.contains("nothing changed"),
        "{s}"
    );
    assert_eq!(g.updates(""), None);
    assert_eq!(g.counts(), (0, 0));
}

#[test]
fn a_restart_whose_stop_leaves_the_core_on_says_reboot_needed() {
    let mut g = rig(&image(0), vec![]);
    g.k.set_core_state("on");
    g.k.stop_hangs.store(true, Ordering::SeqCst);
    let (rep, progress) = g.deploy(&image(1), 1);
    // The files are put back; nothing can start either firmware before a
    // reboot, and the restart of the previous one writes nothing.
    assert_eq!(rep.exit_code, EXIT_ROLLBACK_FAILED, "{rep:?}\n{progress}");
    assert_eq!(
        steps(&rep),
        [
            ("check", true),
            ("install", true),
            ("restart", false),
            ("restore", true),
            ("restart-previous", false)
        ],
        "{progress}"
    );
    assert!(summary(&rep).contains("reboot needed"), "{}", summary(&rep));
    assert_eq!(g.updates(""), None);
    assert_eq!(g.counts(), (0, 1));
    assert_eq!(g.k.core_state(), "stuck");
}

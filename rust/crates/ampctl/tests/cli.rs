//! ampctl on good and bad input, against the temp-dir test double (and an
//! in-process rtd-ampd for the commands that go through the daemon).

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;
mod support;

use common::FakeKernel;
use std::path::Path;
use std::process::{Command, Output};

fn ampctl(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ampctl"))
        .args(args)
        .env("RTD_AMP_ROOT", root)
        .env("RTD_AMPD_SOCKET", root.join("run/none.sock"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_command_and_bad_usage_exits_2() {
    let o = ampctl(Path::new("/nonexistent"), &["--help"]);
    assert!(o.status.success());
    let (out, _) = text(&o);
    for c in [
        "list", "status", "start", "stop", "restart", "firmware", "check", "trace", "coredump",
        "ping", "fault", "bench", "selftest", "endpoint", "send", "recv",
    ] {
        assert!(
            out.contains(&format!("\n  {c} ")),
            "--help lacks {c}:\n{out}"
        );
    }
    let o = ampctl(Path::new("/nonexistent"), &["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("unrecognized subcommand"));
    let o = ampctl(Path::new("/nonexistent"), &["bench", "--size", "lots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("invalid value 'lots'"));
}

#[test]
fn list_status_and_direct_start_stop() {
    let k = FakeKernel::new();
    let o = ampctl(k.root(), &["list", "--json"]);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["device"], "remoteproc0");
    assert_eq!(v[0]["name"], "rtd-amp");
    assert_eq!(v[0]["state"], "offline");

    let (out, _) = text(&ampctl(k.root(), &["list"]));
    assert!(
        out.contains("remoteproc0") && out.contains("rtd-amp") && out.contains("offline"),
        "{out}"
    );

    let o = ampctl(k.root(), &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["recovery"], "enabled");
    assert!(v["daemon"].is_null());

    let o = ampctl(
        k.root(),
        &[
            "start",
            "--no-check",
            "--firmware",
            "rtd-amp/other.elf",
            "rtd-amp",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(k.state(), "running");
    let (out, _) = text(&ampctl(k.root(), &["firmware"]));
    assert_eq!(out.trim(), "rtd-amp/other.elf");

    let o = ampctl(k.root(), &["start", "--no-check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("already running; use `ampctl restart`"),
        "{o:?}"
    );

    let o = ampctl(k.root(), &["stop", "remoteproc0"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(k.state(), "offline");
}

#[test]
fn bad_input_gives_advice() {
    let k = FakeKernel::new();
    let o = ampctl(k.root(), &["status", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("`ampctl list` shows the ones the kernel registered"),
        "{o:?}"
    );

    // The firmware check runs before a start; a missing file stops it.
    let o = ampctl(k.root(), &["start"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("use --no-check to start it anyway"),
        "{o:?}"
    );
    assert_eq!(k.state(), "offline");

    let junk = k.root().join("junk.elf");
    std::fs::write(&junk, b"not an elf").unwrap();
    let o = ampctl(k.root(), &["check", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("does not fit this system"), "{o:?}");

    let o = ampctl(k.root(), &["bench", "--size", "600"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("--size must be 1..=496"), "{o:?}");

    let o = ampctl(k.root(), &["ping"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("opening the rpmsg control device"),
        "{o:?}"
    );

    let o = ampctl(k.root(), &["send", "rpmsg9", "--hex", "0g"]);
    assert_eq!(o.status.code(), Some(1));

    let o = ampctl(
        k.root(),
        &[
            "coredump",
            "save",
            "-o",
            k.root().join("x.core").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("echo enabled >"), "{o:?}");

    let empty = tempfile::tempdir().unwrap();
    let o = ampctl(empty.path(), &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("is the rtd_amp_rproc module loaded"),
        "{o:?}"
    );
}

/// A dump as the kernel's devcoredump class shows it: `data` and, unless
/// `failing` is None, a relative `failing_device` link.
fn devcd(root: &Path, n: u32, failing: Option<&str>, data: &str) {
    let d = root.join(format!("sys/class/devcoredump/devcd{n}"));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("data"), data).unwrap();
    if let Some(f) = failing {
        std::os::unix::fs::symlink(f, d.join("failing_device")).unwrap();
    }
}

fn dump_data(root: &Path, n: u32) -> String {
    std::fs::read_to_string(root.join(format!("sys/class/devcoredump/devcd{n}/data"))).unwrap()
}

#[test]
fn coredump_save_takes_only_its_own_newest_dump() {
    let k = FakeKernel::new();
    let root = k.root();
    // remoteproc0 itself, from sys/class/devcoredump/devcdN.
    let ours = "../../remoteproc/remoteproc0";
    std::fs::create_dir_all(root.join("sys/devices/other/remoteproc0")).unwrap();
    std::fs::create_dir_all(root.join("sys/class/remoteproc/remoteproc1")).unwrap();
    // Not provably ours: another processor, no link, a dangling link, and
    // a different device that is also called remoteproc0.
    devcd(root, 2, Some("../../remoteproc/remoteproc1"), "rproc1");
    devcd(root, 3, None, "no link");
    devcd(
        root,
        4,
        Some("../../../devices/gone/remoteproc0"),
        "dangling",
    );
    devcd(
        root,
        5,
        Some("../../../devices/other/remoteproc0"),
        "namesake",
    );
    let out = root.join("rtd-amp.core");
    let out_arg = out.to_str().unwrap();

    let o = ampctl(root, &["coredump", "save", "rtd-amp", "-o", out_arg]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let (_, err) = text(&o);
    for what in [
        "devcd2 (failing device ",
        "remoteproc1)",
        "devcd3 (no failing_device link)",
        "devcd4 (failing_device -> ../../../devices/gone/remoteproc0 does not resolve)",
        "devcd5 (failing device ",
        "devices/other/remoteproc0)",
        "left untouched",
        "echo enabled >",
    ] {
        assert!(err.contains(what), "no {what:?} in: {err}");
    }
    assert!(!out.exists(), "saved someone else's dump");
    // The dumps that are not provably ours are never read or released.
    let others_untouched = || {
        for (n, data) in [
            (2, "rproc1"),
            (3, "no link"),
            (4, "dangling"),
            (5, "namesake"),
        ] {
            assert_eq!(dump_data(root, n), data, "devcd{n} was released");
        }
    };
    others_untouched();

    // Two of ours: the newest (devcd10, not devcd9 as a string sort has it)
    // is saved and released; the older one and the others stay.
    devcd(root, 9, Some(ours), "older core");
    devcd(root, 10, Some(ours), "newest core");
    let o = ampctl(root, &["coredump", "save", "rtd-amp", "-o", out_arg]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "newest core");
    assert_eq!(dump_data(root, 10), "1", "devcd10 not released");
    assert_eq!(dump_data(root, 9), "older core");
    others_untouched();
    let (stdout, _) = text(&o);
    assert!(
        stdout.contains("devcd10 (11 bytes) saved")
            && stdout.contains("left in")
            && stdout.contains("devcd9"),
        "{stdout}"
    );
}

#[test]
fn send_and_recv_on_an_endpoint_device() {
    let k = FakeKernel::new();
    // A FIFO stands in for /dev/rpmsg0: what is sent comes back (echo).
    let fifo = k.root().join("dev/rpmsg0");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let _hold = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    assert!(ampctl(k.root(), &["send", "/dev/rpmsg0", "hello"])
        .status
        .success());
    let o = ampctl(k.root(), &["recv", "rpmsg0", "--timeout-ms", "1000"]);
    assert_eq!(text(&o).0, "hello\n", "{o:?}");
    // (a FIFO keeps no message boundaries: one message at a time)
    assert!(ampctl(k.root(), &["send", "rpmsg0", "--hex", "00ff"])
        .status
        .success());
    let o = ampctl(k.root(), &["recv", "rpmsg0", "--hex", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["data"], "00ff");
    let o = ampctl(k.root(), &["recv", "rpmsg0", "--timeout-ms", "20"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("nothing after"), "{o:?}");
}

#[test]
fn state_changes_go_through_a_running_daemon() {
    let k = FakeKernel::new();
    let (socket, shutdown) = support::daemon(&k);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ampctl"))
            .args(args)
            .env("RTD_AMP_ROOT", k.root())
            .env("RTD_AMPD_SOCKET", &socket)
            .output()
            .unwrap()
    };
    let o = run(&["start", "remoteproc0"]);
    assert!(o.status.success(), "{o:?}");
    assert!(text(&o).0.contains("rtd-amp: starting"), "{o:?}");
    common::wait_for("running", || (k.state() == "running").then_some(()));
    let o = run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["daemon"]["name"], "rtd-amp");
    let o = run(&["stop"]);
    assert!(o.status.success(), "{o:?}");
    assert!(text(&o).0.contains("rtd-amp: stopped"), "{o:?}");
    assert_eq!(k.state(), "offline");
    shutdown();
}

#[test]
fn man_pages_and_completions_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = ampctl(
        dir.path(),
        &["generate", "man", dir.path().to_str().unwrap()],
    );
    assert!(o.status.success(), "{o:?}");
    let man = std::fs::read_to_string(dir.path().join("ampctl.1")).unwrap();
    for c in ["list", "status", "bench", "coredump", "endpoint", "recv"] {
        assert!(man.contains(&format!("ampctl\\-{c}")), "ampctl.1 lacks {c}");
        assert!(dir.path().join(format!("ampctl-{c}.1")).exists());
    }
    assert!(
        !dir.path().join("ampctl-generate.1").exists(),
        "hidden command documented"
    );
    let o = ampctl(dir.path(), &["generate", "completions", "bash"]);
    let (out, _) = text(&o);
    assert!(
        out.contains("ampctl__bench") || out.contains("bench"),
        "{out}"
    );
}

/// `ampctl start` checks the file the kernel will load: the kernel's
/// firmware search puts `updates/` before `/lib/firmware`, and refuses a
/// name with a `..` component.
#[test]
fn start_checks_the_file_the_kernel_loads() {
    let k = FakeKernel::new();
    let updates = k.root().join("lib/firmware/updates/rtd-amp");
    std::fs::create_dir_all(&updates).unwrap();
    std::fs::write(updates.join("x.elf"), b"not an elf").unwrap();
    let o = ampctl(k.root(), &["start", "--firmware", "rtd-amp/x.elf"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let (_, err) = text(&o);
    assert!(
        err.contains("lib/firmware/updates/rtd-amp/x.elf"),
        "the check did not look at the updates/ copy the kernel loads: {err}"
    );
    assert_eq!(k.state(), "offline");

    let o = ampctl(k.root(), &["start", "--firmware", "../etc/x.elf"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(text(&o).1.contains("the kernel would not load it"), "{o:?}");
    assert_eq!(k.state(), "offline");
}

#[path = "../../amp-host/tests/support/signing.rs"]
mod signing;

/// `ampctl check` refuses the firmware signatures the kernel refuses, each
/// with the kernel's `[sig-...]` rule, with --cert, --sig and
/// --require-signature, and the default certificate under the root; the
/// trusted signature lets the check go on to the ELF rules.
#[test]
fn check_verifies_the_signature_like_the_kernel() {
    let k = FakeKernel::new();
    let d = k.root();
    let s = |p: &Path| p.display().to_string();
    let certs = [
        signing::keypair(d, "trusted"),
        signing::keypair(d, "unknown"),
    ];
    let sign = signing::sign_like_the_tool;
    let fw = d.join("fw.elf");
    let other = d.join("other.elf");
    std::fs::write(&other, b"another firmware").unwrap();
    sign(&other, &certs[0]);
    let trusted = s(&certs[0].1);
    let rule = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = ampctl(d, &args);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let err = text(&o).1;
        assert_eq!(err.matches("refused [").count(), 1, "said once: {err}");
        err.split('[')
            .nth(1)
            .and_then(|r| r.split(']').next())
            .unwrap_or_else(|| panic!("no [rule] in {err}"))
            .to_string()
    };
    let fw_s = s(&fw);
    std::fs::write(&fw, [0x5au8; 512]).unwrap();
    // Unsigned: refused when required (no driver parameter in the double).
    let dtb = d.join("t.dtb");
    let dts = d.join("t.dts");
    std::fs::write(
        &dts,
        "/dts-v1/;\n/ { rproc { compatible = \"realtek,rtd1619b-amp-rproc\"; }; };\n",
    )
    .unwrap();
    let st = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o", &s(&dtb), &s(&dts)])
        .status()
        .expect("dtc");
    assert!(st.success());
    let dtb_s = s(&dtb);
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["check", "--cert", &trusted, "--dtb", &dtb_s]
            .iter()
            .map(|a| a.to_string())
            .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v.push(fw_s.clone());
        v
    };
    assert_eq!(rule(&with(&["--require-signature"])), "sig-unsigned");
    // Not required: the check goes on (to the DT, which has no regions).
    let o = ampctl(d, &as_strs(&with(&[])));
    assert!(text(&o).1.contains("memory-region"), "{o:?}");
    // Trusted: past the signature as well.
    sign(&fw, &certs[0]);
    let o = ampctl(d, &as_strs(&with(&["--require-signature"])));
    assert!(text(&o).1.contains("memory-region"), "{o:?}");
    // Tampered after signing.
    let mut b = std::fs::read(&fw).unwrap();
    b[7] ^= 1;
    std::fs::write(&fw, &b).unwrap();
    assert_eq!(rule(&with(&[])), "sig-mismatch");
    b[7] ^= 1;
    std::fs::write(&fw, &b).unwrap();
    // The last byte of the RSA signature flipped.
    let sig = format!("{}.p7s", fw.display());
    let mut p = std::fs::read(&sig).unwrap();
    let last = p.len() - 1;
    p[last] ^= 1;
    std::fs::write(&sig, &p).unwrap();
    assert_eq!(rule(&with(&[])), "sig-bad");
    // Signed by a key nobody trusts.
    sign(&fw, &certs[1]);
    assert_eq!(rule(&with(&[])), "sig-unknown-key");
    // Another file's signature, named with --sig.
    let other_sig = format!("{}.p7s", other.display());
    assert_eq!(rule(&with(&["--sig", &other_sig])), "sig-mismatch");
    // Not a signature.
    std::fs::write(&sig, b"junk").unwrap();
    assert_eq!(rule(&with(&[])), "sig-malformed");
    // Without --cert the default certificate under the root is trusted.
    sign(&fw, &certs[0]);
    let no_cert: Vec<String> = ["check", "--dtb", &dtb_s, &fw_s]
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(rule(&no_cert), "sig-unknown-key");
    std::fs::create_dir_all(d.join("etc/rtd-amp")).unwrap();
    std::fs::copy(&certs[0].1, d.join("etc/rtd-amp/fw-signing.pem")).unwrap();
    let o = ampctl(d, &as_strs(&no_cert));
    assert!(text(&o).1.contains("memory-region"), "{o:?}");
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `ampctl selftest` on a root without the overlay: the report on stdout,
/// its summary last, exit status 1; `--json` is one JSON document.
#[test]
fn selftest_reports_and_fails_without_the_overlay() {
    let d = tempfile::tempdir().unwrap();
    let o = ampctl(d.path(), &["selftest"]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = text(&o);
    assert!(out.starts_with("FAIL dt-overlay: no realtek,rtd1619b-amp-rproc and no realtek,rtd1619b-amp-mbox node in the live device tree\n"), "{out}");
    assert!(
        out.contains("    hint: the overlay is not in the device tree Linux booted with"),
        "{out}"
    );
    assert!(out.contains("SKIP cpu-offline: "), "{out}");
    assert!(
        out.ends_with("selftest: 0 passed, 1 failed, 17 skipped\n"),
        "{out}"
    );
    assert_eq!(
        err.trim(),
        "ampctl: selftest: 0 passed, 1 failed, 17 skipped"
    );
    let o = ampctl(d.path(), &["selftest", "--json", "--quick"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["schema"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["checks"][0]["id"], "dt-overlay");
    assert_eq!(v["checks"][0]["status"], "FAIL");
}

//! Builds examples/c/rtdamp_example.c against librtdamp.a with the `cc`
//! crate's compiler and runs it against the temp-dir sysfs/devfs test double
//! (a thread plays the kernel; a FIFO stands in for /dev/rpmsg0 and echoes
//! what is written to it).

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The static library cargo built for this test run: next to the test
/// executable in target/<profile>/deps (cargo uplifts it to target/<profile>
/// only on `cargo build`).
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join("librtdamp.a")
}

fn build_example(out: &Path) {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = static_lib();
    assert!(lib.exists(), "{} not built", lib.display());
    let host = "x86_64-unknown-linux-gnu";
    let target = std::env::var("TARGET").unwrap_or_else(|_| {
        if cfg!(target_arch = "aarch64") {
            "aarch64-unknown-linux-gnu".into()
        } else {
            host.into()
        }
    });
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .target(&target)
        .host(&target)
        .opt_level(0)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .get_compiler();
    let mut cmd = compiler.to_command();
    cmd.arg("-std=c11")
        .arg("-D_POSIX_C_SOURCE=200809L")
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("examples/c/rtdamp_example.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out);
    let status = cmd.status().unwrap();
    assert!(status.success(), "compiling the C example failed: {cmd:?}");
}

#[test]
fn c_example_runs_against_the_test_double() {
    let k = common::FakeKernel::new();
    let fifo = k.root().join("dev/rpmsg0");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let exe = k.root().join("rtdamp_example");
    build_example(&exe);

    let out = Command::new(&exe)
        .arg("rtd-amp")
        .arg("rpmsg0")
        .env("RTD_AMP_ROOT", k.root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("rtd-amp: offline"), "{stdout}");
    assert!(stdout.contains("rtd-amp: started, running"), "{stdout}");
    assert!(
        stdout.contains("received 12 bytes: hello from C"),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing processor: no remote processor \"no-such-rproc\""),
        "{stdout}"
    );
    assert!(stdout.contains("rtd-amp: stopped"), "{stdout}");
    assert_eq!(k.starts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(k.state(), "offline");

    // Bad input: a missing processor gives exit 1 and the library's message.
    let out = Command::new(&exe)
        .arg("remoteproc7")
        .env("RTD_AMP_ROOT", k.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ampctl list"),
        "{out:?}"
    );
}

#[test]
fn header_matches_the_exported_symbols() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/rtdamp.h"))
            .unwrap();
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let exported: Vec<&str> = src
        .split("extern \"C\" fn ")
        .skip(1)
        .map(|s| s.split('(').next().unwrap())
        .collect();
    assert_eq!(exported.len(), 12, "{exported:?}");
    for f in &exported {
        assert!(
            header.contains(&format!(" {f}(")) || header.contains(&format!("*{f}(")),
            "{f} missing from rtdamp.h"
        );
    }
    let pc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rtdamp.pc.in"))
        .unwrap();
    assert!(pc.contains("-lrtdamp") && pc.contains("@VERSION@"));
}

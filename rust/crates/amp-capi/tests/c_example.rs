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
    build_c("rtdamp_example.c", out)
}

/// Compiles examples/c/`src` against librtdamp.a into `out`.
fn build_c(src: &str, out: &Path) {
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
        .arg(crate_dir.join("examples/c").join(src))
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
    assert_eq!(exported.len(), 22, "{exported:?}");
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

/// The C bulk example against a firmware played by a thread: a regular
/// file of the region's size stands in for /dev/rtd-amp-bulk0 (the API
/// maps it; the doorbell write and read go past the region), the thread
/// maps it too, initializes both rings as the firmware does and echoes
/// every record (amp-proto's roles). The example checks every byte.
#[test]
fn c_bulk_example_echoes_through_a_firmware_thread() {
    use amp_host::amp_proto::bulk::{self, BulkError, Consumer, Producer};
    use amp_host::bulk::BulkDevice;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("rtd-amp-bulk0");
    std::fs::write(&dev, vec![0u8; bulk::REGION_SIZE]).unwrap();
    let fw = BulkDevice::open(&dev).unwrap();
    let region = fw.region();
    let (h2f, f2h) = (
        bulk::ring(region, bulk::RING_H2F).unwrap(),
        bulk::ring(region, bulk::RING_F2H).unwrap(),
    );
    bulk::init(h2f).unwrap();
    bulk::init(f2h).unwrap();
    let exe = dir.path().join("rtdamp_bulk_example");
    build_c("rtdamp_bulk_example.c", &exe);
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut rx = Consumer::attach(h2f).unwrap();
            let mut tx = Producer::attach(f2h).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let g = match rx.try_recv() {
                    Ok(g) => g,
                    Err(BulkError::Empty) => {
                        std::thread::yield_now();
                        continue;
                    }
                    Err(e) => panic!("firmware thread: {e}"),
                };
                let Ok(w) = tx.try_reserve(g.len()) else {
                    std::thread::yield_now();
                    continue;
                };
                let mut b = vec![0u8; g.len()];
                g.payload().read_bytes(0, &mut b);
                w.payload().write_bytes(0, &b);
                w.commit(b.len(), g.tag());
                g.release();
            }
        });
        let out = Command::new(&exe).arg(&dev).arg("20").output().unwrap();
        stop.store(true, Ordering::Relaxed);
        out
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("max payload 522224"), "{stdout}");
    assert!(
        stdout.contains("bulk: 20 records of 65536 bytes and one copied record echoed"),
        "{stdout}"
    );
}

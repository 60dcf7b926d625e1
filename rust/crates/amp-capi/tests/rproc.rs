//! `rtdamp_rproc_start` / `rtdamp_rproc_stop` through the lifecycle layer,
//! against the sysfs double (a thread plays the kernel): a crashed
//! processor is stopped (recovered first: the path Linux 6.12 accepts, see
//! `amp_host::lifecycle`), a detached one is attached on start and attached
//! then stopped on stop. One test, since `rtdamp_set_root` is process-wide.

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;

use std::ffi::CString;
use std::sync::atomic::Ordering;

use rtdamp::{rtdamp_rproc_start, rtdamp_rproc_stop, rtdamp_set_root};

#[test]
fn start_and_stop_handle_crashed_and_detached() {
    let name = CString::new("rtd-amp").unwrap();

    // Crashed: stop recovers, then stops.
    let k = common::FakeKernel::new();
    let root = CString::new(k.root().to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated strings that outlive the calls.
    assert_eq!(unsafe { rtdamp_set_root(root.as_ptr()) }, 0);
    k.put("crashed");
    assert_eq!(unsafe { rtdamp_rproc_stop(name.as_ptr()) }, 0);
    assert_eq!(k.state(), "offline");
    assert_eq!(k.starts.load(Ordering::SeqCst), 1, "the recover reboot");
    assert_eq!(k.stops.load(Ordering::SeqCst), 1);

    // Crashed: start recovers (a `start` would only bump the refcount).
    k.put("crashed");
    assert_eq!(unsafe { rtdamp_rproc_start(name.as_ptr()) }, 0);
    assert_eq!(k.state(), "running");
    assert_eq!(
        common::read(&common::rproc_dir(k.root()).join("recovery")),
        "disabled",
        "recovered through `recover`"
    );

    // Detached: stop attaches first (the kernel refuses `stop` while
    // detached), start attaches without reloading.
    k.put("detached");
    assert_eq!(unsafe { rtdamp_rproc_stop(name.as_ptr()) }, 0);
    assert_eq!(k.state(), "offline");
    k.put("detached");
    let starts = k.starts.load(Ordering::SeqCst);
    assert_eq!(unsafe { rtdamp_rproc_start(name.as_ptr()) }, 0);
    assert_eq!(k.state(), "attached");
    assert_eq!(
        k.starts.load(Ordering::SeqCst),
        starts,
        "attached, not booted"
    );
}

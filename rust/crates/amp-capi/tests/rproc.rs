//! `rtdamp_rproc_start` / `rtdamp_rproc_stop` through the lifecycle layer,
//! against the sysfs double (a thread plays the kernel): a crashed
//! processor is stopped (recovered first: the path Linux 6.12 accepts, see
//! `amp_host::lifecycle`), a detached one is attached on start and attached
//! then stopped on stop; a stop the firmware ignores (the core stays on,
//! `core_state` `stuck`) is -EBUSY, and so is every start after it. One
//! test, since `rtdamp_set_root` is process-wide.

#[path = "../../rtd-ampd/tests/common/mod.rs"]
mod common;

use std::ffi::{CStr, CString};
use std::sync::atomic::Ordering;

use rtdamp::{rtdamp_last_error, rtdamp_rproc_start, rtdamp_rproc_stop, rtdamp_set_root};

#[test]
fn start_and_stop_handle_crashed_detached_and_stuck() {
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

    // The firmware ignores the stop: the kernel shows offline, the core
    // stays on. Not 0: -EBUSY, "reboot needed"; a start writes nothing.
    k.set_core_state("on");
    k.stop_hangs.store(true, Ordering::SeqCst);
    let starts = k.starts.load(Ordering::SeqCst);
    for f in [rtdamp_rproc_stop, rtdamp_rproc_start, rtdamp_rproc_stop] {
        assert_eq!(unsafe { f(name.as_ptr()) }, -libc::EBUSY);
        // SAFETY: a NUL-terminated string valid until the next call.
        let msg = unsafe { CStr::from_ptr(rtdamp_last_error()) };
        assert!(msg.to_str().unwrap().contains("reboot needed"), "{msg:?}");
    }
    assert_eq!(
        (k.state(), k.core_state()),
        ("offline".into(), "stuck".into())
    );
    assert_eq!(k.starts.load(Ordering::SeqCst), starts);
}

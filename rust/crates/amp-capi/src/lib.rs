//! `librtdamp`: the C API of the rtd-amp host library (`include/rtdamp.h`).
//!
//! Every function returns 0 (or a byte count) on success and a negative
//! errno value on failure; `rtdamp_last_error()` gives the message of the
//! calling thread's last failure. No Rust panic crosses the boundary.
#![allow(clippy::missing_safety_doc)] // the safety contract is in rtdamp.h

use amp_host::bulk::{BulkChannel, BulkDevice};
use amp_host::lifecycle::Lifecycle;
use amp_host::remoteproc::{Remoteproc, State};
use amp_host::rpmsg::{Ctrl, Endpoint};
use amp_host::Sys;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

static ROOT: RwLock<Option<PathBuf>> = RwLock::new(None);

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn sys() -> Sys {
    match &*ROOT.read().unwrap_or_else(|e| e.into_inner()) {
        Some(root) => Sys::under(root),
        None => Sys::system(),
    }
}

fn set_error(msg: String) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn fail(e: amp_host::Error) -> c_int {
    let errno = match &e {
        amp_host::Error::NoSuchRemoteproc(_) => libc::ENOENT,
        other => other.raw_os_error().unwrap_or(libc::EIO),
    };
    set_error(e.to_string());
    -errno
}

fn invalid(what: &str) -> c_int {
    set_error(format!("invalid argument: {what}"));
    -libc::EINVAL
}

/// Runs `f`, turning a panic into -EIO.
fn guard(f: impl FnOnce() -> c_int) -> c_int {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        set_error("internal error in librtdamp".into());
        -libc::EIO
    })
}

unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller passes a NUL-terminated string (rtdamp.h).
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

fn timeout(ms: c_int) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// An endpoint handle.
pub struct RtdampEndpoint {
    ep: Option<Endpoint>,
    /// Destroy on close (created by `rtdamp_endpoint_open`).
    owned: bool,
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_set_root(root: *const c_char) -> c_int {
    guard(|| {
        let r = if root.is_null() {
            None
        } else {
            // SAFETY: per the header.
            match unsafe { text(root) } {
                Some(s) => Some(PathBuf::from(s)),
                None => return invalid("root is not UTF-8"),
            }
        };
        *ROOT.write().unwrap_or_else(|e| e.into_inner()) = r;
        0
    })
}

fn dev_path(sys: &Sys, dev: &str) -> PathBuf {
    let name = dev.strip_prefix("/dev/").unwrap_or(dev);
    sys.dev.join(name)
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_endpoint_open(
    ctrl: *const c_char,
    name: *const c_char,
    src: u32,
    dst: u32,
    out: *mut *mut RtdampEndpoint,
) -> c_int {
    guard(|| {
        // SAFETY: per the header.
        let (Some(ctrl), Some(name)) = (unsafe { text(ctrl) }, unsafe { text(name) }) else {
            return invalid("ctrl and name must be UTF-8 strings");
        };
        if out.is_null() {
            return invalid("out is NULL");
        }
        let Ok(index) = amp_host::control::parse_ctrl_name(ctrl) else {
            return invalid("ctrl must be rpmsg_ctrlN");
        };
        let sys = sys();
        let r = Ctrl::open(&sys, index)
            .and_then(|c| c.create_endpoint(name, src, dst, Duration::from_secs(2)))
            .and_then(|p| Endpoint::open(&p));
        // SAFETY: out checked non-NULL.
        unsafe { hand_out(out, r, true) }
    })
}

/// Gives the caller an opened endpoint as a new handle in `*out` (0), or
/// reports why it could not be opened. `owned`: destroy it on close.
///
/// # Safety
/// `out` is non-NULL and valid for a write.
unsafe fn hand_out(
    out: *mut *mut RtdampEndpoint,
    r: Result<Endpoint, amp_host::Error>,
    owned: bool,
) -> c_int {
    match r {
        Ok(ep) => {
            let h = Box::new(RtdampEndpoint {
                ep: Some(ep),
                owned,
            });
            // SAFETY: the caller guarantees `out`.
            unsafe { *out = Box::into_raw(h) };
            0
        }
        Err(e) => fail(e),
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_endpoint_open_dev(
    dev: *const c_char,
    out: *mut *mut RtdampEndpoint,
) -> c_int {
    guard(|| {
        // SAFETY: per the header.
        let Some(dev) = (unsafe { text(dev) }) else {
            return invalid("dev must be a UTF-8 string");
        };
        if out.is_null() {
            return invalid("out is NULL");
        }
        let r = Endpoint::open(&dev_path(&sys(), dev));
        // SAFETY: out checked non-NULL.
        unsafe { hand_out(out, r, false) }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_endpoint_close(ep: *mut RtdampEndpoint) {
    if ep.is_null() {
        return;
    }
    // SAFETY: `ep` came from Box::into_raw in an open function.
    let mut h = unsafe { Box::from_raw(ep) };
    if let Some(e) = h.ep.take() {
        if h.owned {
            let _ = e.destroy();
        }
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_endpoint_fd(ep: *const RtdampEndpoint) -> c_int {
    // SAFETY: a live handle or NULL.
    match unsafe { ep.as_ref() }.and_then(|h| h.ep.as_ref()) {
        Some(e) => e.as_raw_fd(),
        None => invalid("ep is NULL"),
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_send(
    ep: *mut RtdampEndpoint,
    buf: *const c_void,
    len: usize,
    timeout_ms: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let Some(e) = (unsafe { ep.as_mut() }).and_then(|h| h.ep.as_mut()) else {
            return invalid("ep is NULL");
        };
        if buf.is_null() || len == 0 {
            return invalid("empty message");
        }
        // SAFETY: the caller provides `len` readable bytes.
        let msg = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
        // The library waits against a monotonic deadline: a signal during
        // the wait (EINTR) resumes it for the time left.
        match e.send_timeout(msg, timeout(timeout_ms)) {
            Ok(()) => 0,
            Err(err) => fail(err),
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_recv(
    ep: *mut RtdampEndpoint,
    buf: *mut c_void,
    cap: usize,
    timeout_ms: c_int,
) -> isize {
    let r = guard(|| {
        // SAFETY: a live handle or NULL.
        let Some(e) = (unsafe { ep.as_mut() }).and_then(|h| h.ep.as_mut()) else {
            return invalid("ep is NULL");
        };
        if buf.is_null() || cap == 0 {
            return invalid("empty buffer");
        }
        // SAFETY: the caller provides `cap` writable bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), cap) };
        match e.recv(out, timeout(timeout_ms)) {
            Ok(n) => n as c_int,
            Err(err) => fail(err),
        }
    });
    r as isize
}

fn with_rproc(name: *const c_char, f: impl FnOnce(&Remoteproc) -> amp_host::Result<()>) -> c_int {
    guard(|| {
        // SAFETY: per the header.
        let Some(name) = (unsafe { text(name) }) else {
            return invalid("rproc must be a UTF-8 string");
        };
        match Remoteproc::find(&sys(), name).and_then(|r| f(&r)) {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_rproc_start(rproc: *const c_char) -> c_int {
    with_rproc(rproc, |r| Lifecycle::new(r).boot().map(|_| ()))
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_rproc_stop(rproc: *const c_char) -> c_int {
    with_rproc(rproc, |r| Lifecycle::new(r).shutdown().map(|_| ()))
}

fn state_code(s: State) -> c_int {
    match s {
        State::Offline => 0,
        State::Suspended => 1,
        State::Running => 2,
        State::Crashed => 3,
        State::Deleted => 4,
        State::Attached => 5,
        State::Detached => 6,
        State::Invalid => 7,
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_rproc_state(rproc: *const c_char, out: *mut c_int) -> c_int {
    if out.is_null() {
        return invalid("out is NULL");
    }
    with_rproc(rproc, |r| {
        let s = r.state()?;
        // SAFETY: out checked non-NULL.
        unsafe { *out = state_code(s) };
        Ok(())
    })
}

/// See rtdamp.h.
#[no_mangle]
pub extern "C" fn rtdamp_state_name(state: c_int) -> *const c_char {
    let s: &'static CStr = match state {
        0 => c"offline",
        1 => c"suspended",
        2 => c"running",
        3 => c"crashed",
        4 => c"deleted",
        5 => c"attached",
        6 => c"detached",
        7 => c"invalid",
        _ => c"unknown",
    };
    s.as_ptr()
}

/// See rtdamp.h.
#[no_mangle]
pub extern "C" fn rtdamp_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A bulk channel handle: the mapped device and Linux's ends of its rings.
pub struct RtdampBulk {
    /// Borrows `*dev`; dropped before it (see `rtdamp_bulk_close`).
    ch: Option<BulkChannel<'static>>,
    dev: *mut BulkDevice,
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_open(dev: *const c_char, out: *mut *mut RtdampBulk) -> c_int {
    guard(|| {
        if out.is_null() {
            return invalid("out is NULL");
        }
        let path = if dev.is_null() {
            PathBuf::from(amp_host::bulk::DEFAULT_DEVICE)
        } else {
            // SAFETY: per the header.
            match unsafe { text(dev) } {
                Some(d) => dev_path(&sys(), d),
                None => return invalid("dev is not UTF-8"),
            }
        };
        let d = match BulkDevice::open(&path) {
            Ok(d) => Box::into_raw(Box::new(d)),
            Err(e) => return fail(e),
        };
        // SAFETY: `d` stays allocated until rtdamp_bulk_close, which drops
        // the channel borrowing it first.
        let dref: &'static BulkDevice = unsafe { &*d };
        match dref.channel() {
            Ok(ch) => {
                let h = Box::new(RtdampBulk {
                    ch: Some(ch),
                    dev: d,
                });
                // SAFETY: `out` checked non-NULL.
                unsafe { *out = Box::into_raw(h) };
                0
            }
            Err(e) => {
                // SAFETY: from Box::into_raw above, no borrow left.
                drop(unsafe { Box::from_raw(d) });
                fail(e)
            }
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_close(b: *mut RtdampBulk) {
    if b.is_null() {
        return;
    }
    // SAFETY: `b` came from Box::into_raw in rtdamp_bulk_open.
    let mut h = unsafe { Box::from_raw(b) };
    h.ch = None;
    // SAFETY: the channel borrowing the device is gone.
    drop(unsafe { Box::from_raw(h.dev) });
}

/// The live channel of a handle, or an error code.
///
/// # Safety
/// `b` is NULL or a live handle.
unsafe fn bulk<'a>(b: *mut RtdampBulk) -> Result<&'a mut BulkChannel<'static>, c_int> {
    // SAFETY: per the contract.
    match unsafe { b.as_mut() }.and_then(|h| h.ch.as_mut()) {
        Some(ch) => Ok(ch),
        None => Err(invalid("bulk handle is NULL")),
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_fd(b: *const RtdampBulk) -> c_int {
    // SAFETY: a live handle or NULL.
    match unsafe { b.as_ref() } {
        // SAFETY: dev lives as long as the handle.
        Some(h) => unsafe { &*h.dev }.as_fd().as_raw_fd(),
        None => invalid("bulk handle is NULL"),
    }
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_max_payload(b: *mut RtdampBulk) -> usize {
    // SAFETY: a live handle or NULL.
    unsafe { bulk(b) }.map_or(0, |ch| ch.max_payload())
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_send(
    b: *mut RtdampBulk,
    buf: *const c_void,
    len: usize,
    tag: u32,
    timeout_ms: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        if buf.is_null() && len > 0 {
            return invalid("buf is NULL");
        }
        let data = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the caller passes `len` readable bytes (rtdamp.h).
            unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }
        };
        match ch.send(data, tag, timeout(timeout_ms)) {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_recv(
    b: *mut RtdampBulk,
    buf: *mut c_void,
    cap: usize,
    tag: *mut u32,
    timeout_ms: c_int,
) -> isize {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        if buf.is_null() && cap > 0 {
            return invalid("buf is NULL");
        }
        let out = if cap == 0 {
            &mut [][..]
        } else {
            // SAFETY: the caller passes `cap` writable bytes (rtdamp.h).
            unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), cap) }
        };
        match ch.recv(out, timeout(timeout_ms)) {
            Ok((n, t)) => {
                if !tag.is_null() {
                    // SAFETY: non-NULL, writable per the header.
                    unsafe { *tag = t };
                }
                n as c_int
            }
            Err(e) => fail(e),
        }
    }) as isize
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_reserve(
    b: *mut RtdampBulk,
    len: usize,
    out: *mut *mut c_void,
    timeout_ms: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        if out.is_null() {
            return invalid("out is NULL");
        }
        match ch.reserve(len, timeout(timeout_ms)) {
            Ok(g) => {
                // Dropped uncommitted: rtdamp_bulk_commit reserves the same
                // space again (only this producer moves the head) and
                // publishes it.
                // SAFETY: `out` checked non-NULL.
                unsafe { *out = g.payload().addr() as *mut c_void };
                0
            }
            Err(e) => fail(e),
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_commit(
    b: *mut RtdampBulk,
    reserved: usize,
    len: usize,
    tag: u32,
) -> c_int {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        if len > reserved {
            return invalid("len is larger than the reservation");
        }
        // The same space as rtdamp_bulk_reserve's (the head has not moved
        // and space only grows), so this does not wait.
        match ch
            .reserve(reserved, Some(Duration::ZERO))
            .and_then(|g| g.commit(len, tag))
        {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_recv_borrowed(
    b: *mut RtdampBulk,
    out: *mut *const c_void,
    tag: *mut u32,
    timeout_ms: c_int,
) -> isize {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        if out.is_null() {
            return invalid("out is NULL");
        }
        match ch.recv_borrowed(timeout(timeout_ms)) {
            Ok(g) => {
                // Dropped unreleased: the record stays the next one;
                // rtdamp_bulk_release takes it again and frees it.
                // SAFETY: `out` checked non-NULL; `tag` NULL or writable.
                unsafe {
                    *out = g.payload().addr() as *const c_void;
                    if !tag.is_null() {
                        *tag = g.tag();
                    }
                }
                g.len() as c_int
            }
            Err(e) => fail(e),
        }
    }) as isize
}

/// See rtdamp.h.
#[no_mangle]
pub unsafe extern "C" fn rtdamp_bulk_release(b: *mut RtdampBulk) -> c_int {
    guard(|| {
        // SAFETY: a live handle or NULL.
        let ch = match unsafe { bulk(b) } {
            Ok(ch) => ch,
            Err(e) => return e,
        };
        match ch
            .recv_borrowed(Some(Duration::ZERO))
            .and_then(|g| g.release())
        {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}

//! `rtdamp_send` and `rtdamp_recv` while signals keep arriving during the
//! wait. The endpoint is a FIFO opened read-write (the same test double as
//! the C example): once its buffer is full, `POLLOUT` never comes; while it
//! is empty, `POLLIN` never comes. A no-op handler installed without
//! `SA_RESTART` makes every signal interrupt `poll` with EINTR.
//!
//! Either call must end with -ETIMEDOUT, and not before its timeout (the
//! monotonic deadline makes that lower bound exact; no upper bound is
//! asserted). A call that never ends (a blocking write after EINTR, or a
//! wait restarted with the full timeout on every signal) fails through the
//! watchdog instead of hanging the test run.

use std::ffi::{c_int, c_void, CString};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::thread::JoinHandleExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use rtdamp::{
    rtdamp_endpoint_close, rtdamp_endpoint_open_dev, rtdamp_last_error, rtdamp_recv, rtdamp_send,
    RtdampEndpoint,
};

/// Signals handled so far (the handler only counts).
static HANDLED: AtomicUsize = AtomicUsize::new(0);
/// One test at a time: they share the counter.
static SERIAL: Mutex<()> = Mutex::new(());

/// The call's timeout.
const TIMEOUT_MS: c_int = 200;
/// Only bounds a hang, never asserts timing.
const WATCHDOG: Duration = Duration::from_secs(20);

extern "C" fn count(_: c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

fn install_handler() {
    // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe
    // (one atomic add); no SA_RESTART, so poll/read/write see EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count as extern "C" fn(c_int) as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &sa, ptr::null_mut()),
            0,
            "sigaction"
        );
    }
}

fn fifo(dir: &Path) -> CString {
    let p = dir.join("rpmsg0");
    nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    CString::new(p.to_str().unwrap()).unwrap()
}

fn open(dev: &CString) -> usize {
    let mut ep: *mut RtdampEndpoint = ptr::null_mut();
    // SAFETY: a NUL-terminated path and a valid out pointer.
    let r = unsafe { rtdamp_endpoint_open_dev(dev.as_ptr(), &mut ep) };
    assert_eq!(r, 0, "{}", last_error());
    ep as usize
}

fn last_error() -> String {
    // SAFETY: rtdamp_last_error returns a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(rtdamp_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// What one call on the worker thread gave.
struct Outcome {
    ret: isize,
    error: String,
    waited: Duration,
    signals: usize,
}

/// Runs `call` on a thread that is sent SIGUSR1 every few milliseconds
/// until it returns; panics if it does not return within the watchdog.
/// Repeats until at least one signal was handled during the call (a loaded
/// machine may not schedule the signalling thread in time), at most 20
/// times.
fn with_signals(call: impl Fn() -> isize + Send + Sync + 'static) -> Outcome {
    let call = std::sync::Arc::new(call);
    for _ in 0..20 {
        let (tx, rx) = mpsc::channel();
        let c = call.clone();
        let worker = std::thread::spawn(move || {
            let before = HANDLED.load(Ordering::SeqCst);
            let start = Instant::now();
            let ret = c();
            let waited = start.elapsed();
            let signals = HANDLED.load(Ordering::SeqCst) - before;
            let error = last_error();
            let _ = tx.send(Outcome {
                ret,
                error,
                waited,
                signals,
            });
        });
        let started = Instant::now();
        let outcome = loop {
            // The thread is joinable until joined below: its pthread_t
            // stays valid even after it returned.
            // SAFETY: a valid thread id, a signal with a handler installed.
            unsafe { libc::pthread_kill(worker.as_pthread_t(), libc::SIGUSR1) };
            match rx.recv_timeout(Duration::from_millis(3)) {
                Ok(o) => break o,
                Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < WATCHDOG => {}
                Err(e) => panic!(
                    "the call did not return within {WATCHDOG:?} of a {TIMEOUT_MS} ms timeout \
                     while signals arrived ({e}): it blocks instead of resuming the wait"
                ),
            }
        };
        worker.join().unwrap();
        if outcome.signals > 0 {
            return outcome;
        }
    }
    panic!("no signal reached the worker during 20 calls");
}

fn assert_full_timeout(o: &Outcome, what: &str) {
    assert_eq!(
        o.ret,
        -(libc::ETIMEDOUT as isize),
        "{what}: {} ({}) after {} signals",
        o.ret,
        o.error,
        o.signals
    );
    assert!(
        o.error.contains("nothing after"),
        "{what}: message {:?}",
        o.error
    );
    // A lower bound only: with a monotonic deadline the call cannot end
    // earlier, however loaded the machine is.
    assert!(
        o.waited >= Duration::from_millis(TIMEOUT_MS as u64),
        "{what}: returned after {:?}, before its {TIMEOUT_MS} ms timeout ({} signals)",
        o.waited,
        o.signals
    );
}

#[test]
fn send_waits_out_its_timeout_through_signals() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    let t = tempfile::tempdir().unwrap();
    let dev = fifo(t.path());
    // Fill the FIFO's buffer so that POLLOUT never comes.
    let mut filler = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dev.to_str().unwrap())
        .unwrap();
    for chunk in [4096, 1] {
        let block = vec![0u8; chunk];
        while filler.write(&block).is_ok() {}
    }
    let mut pfd = libc::pollfd {
        fd: filler.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 0, "FIFO not full");

    let ep = open(&dev);
    let o = with_signals(move || {
        let msg = [0x5au8; 496];
        // SAFETY: a live handle, 496 readable bytes.
        unsafe {
            rtdamp_send(
                ep as *mut RtdampEndpoint,
                msg.as_ptr().cast::<c_void>(),
                msg.len(),
                TIMEOUT_MS,
            ) as isize
        }
    });
    assert_full_timeout(&o, "rtdamp_send");
    // SAFETY: the handle from open(), closed once.
    unsafe { rtdamp_endpoint_close(ep as *mut RtdampEndpoint) };
}

#[test]
fn recv_waits_out_its_timeout_through_signals() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    let t = tempfile::tempdir().unwrap();
    let dev = fifo(t.path());
    let ep = open(&dev);
    let o = with_signals(move || {
        let mut buf = [0u8; 496];
        // SAFETY: a live handle, 496 writable bytes.
        unsafe {
            rtdamp_recv(
                ep as *mut RtdampEndpoint,
                buf.as_mut_ptr().cast::<c_void>(),
                buf.len(),
                TIMEOUT_MS,
            )
        }
    });
    assert_full_timeout(&o, "rtdamp_recv");
    // SAFETY: the handle from open(), closed once.
    unsafe { rtdamp_endpoint_close(ep as *mut RtdampEndpoint) };
}

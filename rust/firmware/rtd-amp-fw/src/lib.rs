//! The default rtd-amp firmware application, as host-testable logic: the
//! resource table it declares and the services it runs.
//!
//! | address | channel | service |
//! |---|---|---|
//! | 1024 | `rpmsg-raw` | echo: every message comes back unchanged (Linux binds `/dev/rpmsgN`) |
//! | 1025 | `rpmsg-tty` | line echo: each received line comes back as `fw: <line>` (`/dev/ttyRPMSGN`) |
//! | 1026 | `rtd-amp-ctrl` | control protocol (`amp-control`): ping, version, stats, fault, self-test |
//!
//! Each service answers whatever address wrote to it, so endpoints Linux
//! creates with `RPMSG_CREATE_EPT_IOCTL` (destination 1024 or 1026) work too.
#![cfg_attr(not(test), no_std)]

pub mod bulk;

use amp_control::{FaultKind, Stats, CONTROL_ADDR, ECHO_ADDR, TTY_ADDR};
use amp_proto::rpmsg::{Message, RpmsgError, Sender, RPMSG_MAX_PAYLOAD};
use rtd_amp_rt::control::Control;

pub use rtd_amp_rt::control::{heapsort, timer_summary, SelftestHw};
pub use rtd_amp_rt::table::{
    resource_table, table, RESOURCE_TABLE_BYTES, RSC_LEN, VRING_ALIGN, VRING_NUM,
};

/// The firmware's name and version (VERSION's text).
pub const FIRMWARE: &str = concat!("rtd-amp-fw ", env!("CARGO_PKG_VERSION"));

/// Channels announced at boot: (name, address); the runtime adds the
/// control service, announced last.
pub const CHANNELS: [(&str, u32); 3] = [
    ("rpmsg-raw", ECHO_ADDR),
    ("rpmsg-tty", TTY_ADDR),
    (amp_control::SERVICE_NAME, CONTROL_ADDR),
];

/// The echo service: the message comes back unchanged, with one copy
/// (from the received buffer into the reply's).
// Out of line: the debugger's breakpoint (scripts/qemu/echo-break.gdb)
// stops here with `msg` in a frame of its own.
#[inline(never)]
pub fn echo(tx: &mut Sender<'_, '_>, msg: &Message<'_>) -> Result<(), RpmsgError> {
    tx.try_send_with(msg.dst, msg.src, msg.len(), |p| {
        p.copy_from(0, &msg.payload());
        msg.len()
    })
}

/// Prefix of every tty line.
pub const TTY_PREFIX: &[u8] = b"fw: ";
const TTY_LINE: usize = RPMSG_MAX_PAYLOAD - 4;

/// The tty service: collects bytes into lines and sends each line back
/// as `fw: <line>` (a line longer than a message is cut into pieces).
pub struct Tty {
    line: [u8; TTY_LINE],
    len: usize,
}

impl Default for Tty {
    fn default() -> Self {
        Self::new()
    }
}

impl Tty {
    /// No line under way.
    pub const fn new() -> Self {
        Tty {
            line: [0; TTY_LINE],
            len: 0,
        }
    }

    /// Handles one message from `to`.
    pub fn input(
        &mut self,
        tx: &mut Sender<'_, '_>,
        to: u32,
        msg: &Message<'_>,
    ) -> Result<(), RpmsgError> {
        let mut buf = [0u8; RPMSG_MAX_PAYLOAD];
        let n = msg.copy_to(&mut buf);
        for &c in &buf[..n] {
            if self.len < TTY_LINE {
                self.line[self.len] = c;
                self.len += 1;
            }
            if c == b'\n' || self.len == TTY_LINE {
                let line = &self.line[..self.len];
                tx.try_send_with(msg.dst, to, TTY_PREFIX.len() + line.len(), |p| {
                    p.write_bytes(0, TTY_PREFIX);
                    p.write_bytes(TTY_PREFIX.len(), line);
                    TTY_PREFIX.len() + line.len()
                })?;
                self.len = 0;
            }
        }
        Ok(())
    }
}

/// The three services of the default firmware with their counters, for
/// host tests (the firmware itself runs them through the runtime's
/// `App`: main.rs).
pub struct Services {
    tty: Tty,
    /// Messages the services received.
    pub messages: u64,
    /// Payload bytes the services received.
    pub bytes: u64,
    /// Replies that could not be sent (a reset aside), and other errors.
    pub errors: u64,
    /// Whether FAULT is honoured: the `fault-injection` build feature (off
    /// in production builds, which answer FAULT "not supported").
    pub fault_enabled: bool,
}

impl Default for Services {
    fn default() -> Self {
        Self::new()
    }
}

impl Services {
    /// Fresh state.
    pub const fn new() -> Self {
        Services {
            tty: Tty::new(),
            messages: 0,
            bytes: 0,
            errors: 0,
            fault_enabled: cfg!(feature = "fault-injection"),
        }
    }

    /// Handles one message; `uptime_ms` and `device_errors` feed STATS.
    /// Returns the fault the control service was asked for, if any (the
    /// reply is already sent).
    pub fn handle(
        &mut self,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
        uptime_ms: u64,
        device_errors: u64,
    ) -> Option<FaultKind> {
        self.handle_with(tx, msg, uptime_ms, device_errors, None)
    }

    /// [`Services::handle`] with the hardware for the self-test commands
    /// (without it they are answered "not supported").
    pub fn handle_with(
        &mut self,
        tx: &mut Sender<'_, '_>,
        msg: &Message<'_>,
        uptime_ms: u64,
        device_errors: u64,
        hw: Option<&dyn SelftestHw>,
    ) -> Option<FaultKind> {
        self.messages += 1;
        self.bytes += msg.len() as u64;
        let (r, action) = match msg.dst {
            ECHO_ADDR => (echo(tx, msg), None),
            TTY_ADDR => (self.tty.input(tx, msg.src, msg), None),
            CONTROL_ADDR => {
                let view = Control {
                    firmware: FIRMWARE,
                    stats: Stats {
                        messages: self.messages,
                        bytes: self.bytes,
                        errors: self.errors + device_errors,
                        uptime_ms,
                    },
                    faults: self.fault_enabled,
                    hw,
                    tasks: None,
                };
                view.reply(tx, msg)
            }
            _ => (Ok(()), None),
        };
        // A reply that found the rings re-initialised is Linux resetting
        // the device, which counts it in its resets: not a service error.
        if r.is_err_and(|e| !e.is_reset()) {
            self.errors += 1;
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtd_amp_rt::board::QEMU_VIRT;

    #[test]
    fn heapsort_sorts() {
        // A linear congruential sequence (Knuth's MMIX constants), with
        // duplicates and the u64::MAX markers of unmeasured samples.
        let mut x = 12345u64;
        for n in [0usize, 1, 2, 3, 7, 100, 1000, 4096] {
            let mut v: Vec<u64> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if i % 97 == 5 {
                        u64::MAX
                    } else {
                        (x >> 40) % 500
                    }
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            heapsort(&mut v);
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    fn the_image_carries_the_runtimes_table() {
        // The runtime's test validates both boards' tables; this build's
        // static is the default board's.
        assert_eq!(RESOURCE_TABLE_BYTES, resource_table(&QEMU_VIRT).finish());
    }

    #[test]
    fn channel_names_are_the_ones_linux_binds() {
        assert_eq!(
            CHANNELS,
            [
                ("rpmsg-raw", 1024),
                ("rpmsg-tty", 1025),
                ("rtd-amp-ctrl", 1026)
            ]
        );
        for (name, addr) in CHANNELS {
            assert!(name.len() < 32, "fits rpmsg_ns_msg.name");
            assert!(addr >= 1024, "not a reserved address");
        }
    }
}

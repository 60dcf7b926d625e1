//! A small runtime for bare-metal firmware on a Cortex-A55 core that Linux
//! leaves offline and boots through remoteproc (PSCI `CPU_ON`).
//!
//! It brings the core up (EL2→EL1, stack, BSS, MMU with the right memory
//! attributes), enables the doorbell SGI on this core's GIC redistributor,
//! keeps the `RSC_TRACE` buffer, writes crash records for exceptions and
//! panics, and performs the stop handshake. An application provides
//!
//! ```text
//! #[no_mangle]
//! fn rtd_amp_main(rt: &mut rtd_amp_rt::Runtime) -> ! { ... }
//! ```
//!
//! and a `.resource_table` (see the `rtd-amp-fw` crate for the default
//! application). Board constants come from [`board::BOARD`]; everything
//! else is board-independent. Host builds compile only the pure parts
//! (board, control page, trace, page tables, GIC arithmetic, backtrace)
//! for tests.
#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

pub mod backtrace;
pub mod board;
pub mod control;
pub mod ctrl;
pub mod gic;
pub mod irq;
pub mod mmu;
pub mod sched;
pub mod selftest;
pub mod table;
pub mod trace;

/// The protocol core's RPMsg types a service handler sees: the received
/// message (its payload read in place, zero-copy) and the reply sender.
pub mod rpmsg {
    pub use amp_proto::rpmsg::{Message, RpmsgError, Sender, RPMSG_MAX_PAYLOAD};
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod app;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod arch;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod runtime;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use runtime::Runtime;

/// Appends a formatted line to the trace buffer (`trace0` in Linux's
/// debugfs, `ampctl trace`), like `format_args!`; a line longer than 160
/// bytes is cut. When the buffer wraps, the newest lines are kept.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::app::log_fmt(format_args!($($arg)*))
    };
}

/// Declares a firmware: its `.resource_table` (the runtime's standard
/// table, [`table`]) and the entry the runtime calls after boot, which
/// hands `$main` a [`app::Firmware`]. `$main` registers its services,
/// tasks and interrupts on an [`app::App`] and ends with
/// `fw.run(app)`.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Linux copies the updated table here after loading the segments.
        #[used]
        #[link_section = ".resource_table"]
        static RTD_AMP_RESOURCE_TABLE: $crate::table::Table = $crate::table::table();

        #[no_mangle]
        fn rtd_amp_main(rt: &'static mut $crate::Runtime) -> ! {
            let main: fn($crate::app::Firmware) -> ! = $main;
            main($crate::app::Firmware::new(rt, &RTD_AMP_RESOURCE_TABLE))
        }
    };
}
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod selftest_hw;

/// Formats into a fixed buffer, cutting what does not fit (no allocation).
pub struct LineBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> LineBuf<N> {
    /// An empty line.
    pub const fn new() -> Self {
        LineBuf {
            buf: [0; N],
            len: 0,
        }
    }
    /// The bytes written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Default for LineBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::fmt::Write for LineBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn line_buffer_cuts() {
        let mut l = LineBuf::<8>::new();
        write!(l, "abc{}", 12345678).unwrap();
        assert_eq!(l.as_bytes(), b"abc12345");
    }
}

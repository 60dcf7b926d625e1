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
pub mod ctrl;
pub mod gic;
pub mod mmu;
pub mod selftest;
pub mod trace;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod arch;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod runtime;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use runtime::Runtime;
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

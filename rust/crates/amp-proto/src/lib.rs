//! The AMP protocol core shared by the Linux host tools and the bare-metal
//! firmware: the remoteproc resource table, legacy virtio split rings (both
//! the driver role Linux plays and the device role the remote plays) and
//! RPMsg on top of them, and the bulk channel ([`bulk`]) beside them.
//!
//! Everything is `no_std` and allocation-free so the firmware
//! (`aarch64-unknown-none`) can use it as is; the `std` feature only adds
//! heap-backed shared regions for tests, the benchmark and host tools.
//!
//! All `unsafe` code lives in [`shmem`]; every other module goes through its
//! bounds-checked volatile accessors ([`bulk`]'s two `unsafe fn` slice
//! views only forward to `shmem`'s, with the same contract).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod bulk;
pub mod rpmsg;
pub mod rsc;
pub mod shmem;
#[cfg(feature = "std")]
pub mod sim;
pub mod virtio;
pub mod vring;

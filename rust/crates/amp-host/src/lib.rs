//! Host-side library for the rtd-amp remote processor on Linux.
//!
//! * [`remoteproc`]: list remote processors, read and change firmware,
//!   state, recovery and coredump settings, read whether the core is
//!   powered (`core_state`) and the trace.
//! * [`lifecycle`]: boot, shutdown, attach, detach and adopt a remote
//!   processor from every state the kernel reports (its quirks in one place).
//! * [`rpmsg`]: the announced channels, the control device
//!   (`/dev/rpmsg_ctrlN`: create/destroy endpoints), endpoint I/O with
//!   timeouts (pollable file descriptors), the tty channel.
//! * [`control`]: the firmware's control service: the rpmsg control
//!   device of a remote processor (found through sysfs), a client for
//!   ping, version and stats.
//! * [`bulk`]: the bulk channel (`/dev/rtd-amp-bulkN`): zero-copy records
//!   in the shared rings, back-pressure, doorbells.
//! * [`fwcheck`]: check a firmware ELF against the device tree's
//!   reserved memory before it is started.
//! * [`fwinstall`]: install a firmware under `/lib/firmware/updates/`
//!   atomically, keeping the previous one for a rollback.
//! * [`fwsig`]: verify its detached signature (`<firmware>.p7s`) as the
//!   kernel driver does.
//! * [`Error`]: kernel errnos turned into messages that say what to do.
//!
//! Every path goes through a [`Sys`], so tests (and tools run on a copy of
//! a target's sysfs) can point the library at another root.
#![warn(missing_docs)]

pub mod bulk;
pub mod control;
/// The protocol core the bulk API's types come from (`Shm`, the ring roles),
/// for applications and tests that need them directly.
pub use amp_ctrl_page;
pub use amp_proto;
pub mod error;
pub mod fwcheck;
pub mod fwinstall;
pub mod fwsig;
pub mod lifecycle;
pub mod remoteproc;
pub mod rpmsg;
pub mod sys;
pub mod uapi;

pub use error::{Error, Result};
pub use sys::Sys;

//! One lifecycle for a remote processor: [`boot`](Lifecycle::boot),
//! [`shutdown`](Lifecycle::shutdown), [`attach`](Lifecycle::attach),
//! [`detach`](Lifecycle::detach) and [`adopt`](Lifecycle::adopt), over the
//! remoteproc sysfs `state` attribute, for every state the kernel reports.
//! The daemon, `ampctl --direct` and the C API call these; nothing else
//! writes `state` or `recovery recover`.
//!
//! # What the kernel does with each write (Linux 6.1 and 6.12)
//!
//! `state` reads one of `offline`, `suspended`, `running`, `crashed`,
//! `deleted` (6.12 only), `attached`, `detached`, `invalid`
//! (`drivers/remoteproc/remoteproc_sysfs.c`: `rproc_state_string[]`, 6.1
//! lines 166-174, 6.12 lines 166-175; 6.1 has no `RPROC_DELETED`,
//! `include/linux/remoteproc.h` 6.1 lines 161-168). Writes (`state_store`,
//! 6.1 line 188, 6.12 line 189) accept `start`, `stop` and `detach`, and are
//! synchronous: the state has changed when `write` returns.
//!
//! | state now  | `start`                        | `stop`                      | `detach`           |
//! |------------|--------------------------------|-----------------------------|--------------------|
//! | offline    | load + boot → running          | -EINVAL                     | -EINVAL            |
//! | running    | refcount only (no-op)          | → offline                   | -EINVAL            |
//! | attached   | refcount only (no-op)          | → offline                   | → detached         |
//! | detached   | attach → attached              | -EINVAL                     | -EINVAL            |
//! | crashed    | refcount only (**no reboot**)  | 6.1: → offline; 6.12: -EINVAL | -EINVAL          |
//!
//! Sources (`drivers/remoteproc/remoteproc_core.c`): `rproc_boot` (6.1 line
//! 1915, 6.12 line 1909) only attaches or loads when the power refcount
//! goes 0 → 1, so `start` on a crashed (still counted) processor does
//! nothing but leak a reference — a crashed processor is rebooted with
//! `recovery` ← `recover` (`rproc_trigger_recovery`, 6.1 line 1828, 6.12
//! line 1832; `remoteproc_sysfs.c` `recovery_store`). `rproc_shutdown`
//! accepts `crashed` in 6.1 (line 2003-2005) but not in 6.12 (line 1997-1999:
//! running or attached only). `rproc_detach` (6.1 line 2064, 6.12 line 2055)
//! needs `attached` and a driver `.detach` op (`__rproc_detach`, -EINVAL
//! without one). The core never sets `suspended` in either release (no
//! assignment of `RPROC_SUSPENDED` in `remoteproc_core.c`), `deleted` only
//! while the device goes away (6.12 `rproc_del`), `invalid` never.
//!
//! # The quirks, handled here once
//!
//! * boot of a crashed processor: `recover`, never `start`;
//! * shutdown of a crashed processor: `recover` first, then `stop` — the one
//!   path both releases accept (6.1 would take `stop` directly, 6.12 refuses
//!   it); when the reload fails the kernel leaves it `offline`, which is
//!   the wanted end state anyway;
//! * shutdown of a detached processor: attach (`start`) first, then `stop`
//!   (the kernel refuses `stop` while detached);
//! * `attached` counts as up everywhere `running` does (the `firmware`
//!   attribute then reads `unknown`, `remoteproc_sysfs.c` 6.12 line 142:
//!   Linux did not load it, so it cannot be compared with a configuration);
//! * `suspended`, `deleted`, `invalid`: refused with an error that says so;
//! * a core that did not power off: PSCI cannot power off another core, so
//!   when the firmware ignores a stop request rtd_amp_rproc's `.stop` times
//!   out, returns 0 (the kernel shows `offline`) and its platform device's
//!   `core_state` reads `stuck` until the next reboot, while `start` and
//!   `recover` fail with -EBUSY. A stop that ends so is
//!   [`Error::CoreStuck`], not success, and every operation but
//!   [`detach`](Lifecycle::detach) refuses up front with the same error.
//!   Drivers without the attribute behave as before (unknown, not stuck).
//!
//! A test double of sysfs acts on a write later than the kernel does, so
//! every operation waits (bounded) until `state` shows the outcome.

use std::time::{Duration, Instant};

use crate::remoteproc::{CoreState, Remoteproc, State};
use crate::{Error, Result};

/// How long an operation waits for `state` to show its outcome by default
/// (a real kernel has changed it when the write returns; this only bounds
/// a double or a kernel that hangs).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded and booted by Linux (`offline` → `running`).
    Booted,
    /// Rebooted after a crash with `recover` (→ `running` or `attached`).
    Recovered,
    /// Linux attached to a processor it found running (`detached` →
    /// `attached`).
    Attached,
    /// Already executing (`running` or `attached`): nothing written.
    AlreadyUp(State),
    /// Stopped (→ `offline`).
    Stopped,
    /// Already `offline`: nothing written.
    AlreadyOffline,
    /// Linux let go of it; it keeps running (`attached` → `detached`).
    Detached,
    /// Already `detached`: nothing written.
    AlreadyDetached,
}

impl Outcome {
    /// A word for logs and the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Booted => "booted",
            Outcome::Recovered => "recovered",
            Outcome::Attached => "attached",
            Outcome::AlreadyUp(_) => "already up",
            Outcome::Stopped => "stopped",
            Outcome::AlreadyOffline => "already offline",
            Outcome::Detached => "detached",
            Outcome::AlreadyDetached => "already detached",
        }
    }
}

/// The lifecycle operations on one remote processor.
#[derive(Clone, Debug)]
pub struct Lifecycle<'a> {
    r: &'a Remoteproc,
    timeout: Duration,
}

fn refused(what: &'static str, needed: &'static str, st: State) -> Error {
    let hint = match st {
        State::Suspended => "the kernel reports it suspended: wait for the system to resume",
        State::Deleted => "its driver is being removed: reload rtd_amp_rproc",
        State::Invalid => "the kernel reports an invalid state: see dmesg",
        _ => "see `ampctl status`",
    };
    Error::WrongState {
        what,
        needed,
        state: st.to_string(),
        hint,
    }
}

impl<'a> Lifecycle<'a> {
    /// Operations on `r`, waiting at most [`DEFAULT_TIMEOUT`] for each step.
    pub fn new(r: &'a Remoteproc) -> Self {
        Lifecycle {
            r,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Another bound for each step.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The processor.
    pub fn remoteproc(&self) -> &Remoteproc {
        self.r
    }

    /// [`Error::CoreStuck`] when an earlier stop left the core on
    /// (`core_state` reads `stuck`): nothing can start, recover or stop it
    /// before a reboot. Every operation but `detach` calls this first; a
    /// caller with work to do before one (a firmware check, an install)
    /// calls it before that work.
    pub fn refuse_if_stuck(&self) -> Result<()> {
        match self.r.core_state()? {
            Some(CoreState::Stuck) => Err(Error::CoreStuck {
                device: self.r.device(),
            }),
            _ => Ok(()),
        }
    }

    /// Makes it execute: boots it when `offline`, attaches when
    /// `detached`, recovers when `crashed`; nothing when already `running`
    /// or `attached` (use [`restart`](Self::restart) to reload it).
    pub fn boot(&self) -> Result<Outcome> {
        self.refuse_if_stuck()?;
        match self.r.state()? {
            State::Running => Ok(Outcome::AlreadyUp(State::Running)),
            State::Attached => Ok(Outcome::AlreadyUp(State::Attached)),
            State::Offline => {
                self.r.start()?;
                self.expect(
                    State::Offline,
                    &[State::Running, State::Attached],
                    "start",
                    "the boot failed: see dmesg and `ampctl trace`",
                )?;
                Ok(Outcome::Booted)
            }
            State::Detached => {
                self.attach_now()?;
                Ok(Outcome::Attached)
            }
            State::Crashed => {
                self.recover()?;
                Ok(Outcome::Recovered)
            }
            st => Err(refused("boot", "offline, detached or crashed", st)),
        }
    }

    /// Makes it stop (→ `offline`) from any state where it may execute:
    /// `running`, `attached`, `crashed` (recovered first), `detached`
    /// (attached first). A core left on by an earlier stop is
    /// [`Error::CoreStuck`], even though `state` reads `offline`.
    pub fn shutdown(&self) -> Result<Outcome> {
        self.refuse_if_stuck()?;
        match self.r.state()? {
            State::Offline => Ok(Outcome::AlreadyOffline),
            State::Running | State::Attached => {
                self.stop_now()?;
                Ok(Outcome::Stopped)
            }
            State::Crashed => {
                // The portable path (see the module doc): recover, then stop
                // what came back; a failed reload already left it offline.
                match self.recover() {
                    Ok(()) => {}
                    Err(Error::WrongState { state, .. }) if state == "offline" => {
                        return Ok(Outcome::Stopped)
                    }
                    Err(e) => return Err(e),
                }
                self.stop_now()?;
                Ok(Outcome::Stopped)
            }
            State::Detached => {
                self.attach_now()?;
                self.stop_now()?;
                Ok(Outcome::Stopped)
            }
            st => Err(refused(
                "shutdown",
                "running, attached, crashed or detached",
                st,
            )),
        }
    }

    /// Stops it when it executes, then boots it (from `offline` or
    /// `detached`: boots or attaches).
    pub fn restart(&self) -> Result<Outcome> {
        self.shutdown()?;
        self.boot()
    }

    /// Attaches Linux to a processor running without it (`detached` →
    /// `attached`). Already `running` or `attached`: nothing to do.
    pub fn attach(&self) -> Result<Outcome> {
        self.refuse_if_stuck()?;
        match self.r.state()? {
            State::Detached => {
                self.attach_now()?;
                Ok(Outcome::Attached)
            }
            st @ (State::Running | State::Attached) => Ok(Outcome::AlreadyUp(st)),
            st => Err(refused("attach", "detached", st)),
        }
    }

    /// Lets go of an attached processor, which keeps running (`attached`
    /// → `detached`). The kernel detaches only what it attached to: a
    /// processor Linux booted (`running`) is refused.
    pub fn detach(&self) -> Result<Outcome> {
        match self.r.state()? {
            State::Detached => Ok(Outcome::AlreadyDetached),
            State::Attached => {
                self.r.detach()?;
                self.expect(
                    State::Attached,
                    &[State::Detached],
                    "detach",
                    "the driver could not detach: see dmesg",
                )?;
                Ok(Outcome::Detached)
            }
            State::Running => Err(Error::WrongState {
                what: "detach",
                needed: "attached",
                state: "running".into(),
                hint: "Linux booted this firmware itself, and the kernel only detaches a processor it attached to",
            }),
            st => Err(refused("detach", "attached", st)),
        }
    }

    /// Takes over whatever executes without disturbing it: `running` and
    /// `attached` are left alone, `detached` is attached to. `None` when
    /// nothing executes (`offline`, `crashed`...): the caller boots it.
    pub fn adopt(&self) -> Result<Option<Outcome>> {
        self.refuse_if_stuck()?;
        match self.r.state()? {
            st @ (State::Running | State::Attached) => Ok(Some(Outcome::AlreadyUp(st))),
            State::Detached => {
                self.attach_now()?;
                Ok(Some(Outcome::Attached))
            }
            _ => Ok(None),
        }
    }

    fn attach_now(&self) -> Result<()> {
        self.r.start()?;
        self.expect(
            State::Detached,
            &[State::Attached, State::Running],
            "attach",
            "the driver could not attach: see dmesg",
        )
    }

    /// Stops it; `offline` with the core still on is [`Error::CoreStuck`]
    /// (the driver's `.stop` timed out but returned 0, see the module doc).
    fn stop_now(&self) -> Result<()> {
        let from = self.r.state()?;
        self.r.stop()?;
        self.expect(
            from,
            &[State::Offline],
            "stop",
            "the stop failed: see dmesg",
        )?;
        self.refuse_if_stuck()
    }

    /// `recovery` ← `recover`; Ok once it executes again.
    fn recover(&self) -> Result<()> {
        self.r.recover()?;
        self.expect(
            State::Crashed,
            &[State::Running, State::Attached],
            "recover",
            "the reload after the crash failed: see dmesg and `ampctl trace`",
        )
    }

    /// Waits until `state` reads a state other than `from` (a value that
    /// does not parse, such as a double's echo of the command word, counts
    /// as not changed yet), then checks it is one of `want`.
    fn expect(
        &self,
        from: State,
        want: &[State],
        what: &'static str,
        hint: &'static str,
    ) -> Result<()> {
        let end = Instant::now() + self.timeout;
        loop {
            match self.r.state() {
                Ok(st) if st != from => {
                    if want.contains(&st) {
                        return Ok(());
                    }
                    return Err(Error::WrongState {
                        what,
                        needed: want[0].as_str(),
                        state: st.to_string(),
                        hint,
                    });
                }
                Ok(_) | Err(Error::Parse { .. }) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= end {
                return Err(Error::Timeout {
                    what: format!("{} to leave {from} after `{what}`", self.r.device()),
                    after: self.timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

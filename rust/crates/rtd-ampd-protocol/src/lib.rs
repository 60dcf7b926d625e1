//! The control socket protocol of `rtd-ampd`: one JSON object per line each
//! way, and the client side of it. A crate of its own so that `ampctl` (and
//! any other client) talks to the daemon without linking it.
//!
//! Request: `{"cmd":"status"}`, `{"cmd":"start","name":"rtd-amp"}`,
//! `{"cmd":"stop","name":"rtd-amp"}`, `{"cmd":"restart","name":"rtd-amp"}`.
//! `name` may be omitted for status (all processors). Reply:
//! `{"ok":true,"status":[...]}` or `{"ok":false,"error":"..."}`.

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Default control socket (in the daemon's runtime directory, which
/// systemd creates for its user: `RuntimeDirectory=rtd-ampd`).
pub const DEFAULT_SOCKET: &str = "/run/rtd-ampd/rtd-ampd.sock";

/// Sends one request to a daemon and returns its reply.
pub fn request(socket: &Path, req: &Request) -> std::io::Result<Reply> {
    let stream = UnixStream::connect(socket)?;
    let mut out = stream.try_clone()?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    // A refused connection gets its one error line and is closed, maybe
    // before this write: read the reply anyway.
    let sent = out.write_all(line.as_bytes());
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    if reply.is_empty() {
        sent?;
    }
    serde_json::from_str(&reply)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// A request line.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Status of one or all supervised processors.
    Status {
        /// Processor name; all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Start (and supervise) a processor; resets its restart count.
    Start {
        /// Processor name.
        name: String,
    },
    /// Stop a processor and stop supervising it until the next start.
    Stop {
        /// Processor name.
        name: String,
    },
    /// Stop then start.
    Restart {
        /// Processor name.
        name: String,
    },
    /// Attach Linux to a processor that runs without it (kernel state
    /// `detached`) and supervise it; resets its restart count.
    Attach {
        /// Processor name.
        name: String,
    },
    /// Let go of an attached processor, which keeps running, and stop
    /// supervising it until the next attach or start.
    Detach {
        /// Processor name.
        name: String,
    },
}

impl Request {
    /// Whether the request changes nothing (the only ones a read-only
    /// connection may send).
    pub fn is_read_only(&self) -> bool {
        matches!(self, Request::Status { .. })
    }

    /// The `cmd` value.
    pub fn cmd(&self) -> &'static str {
        match self {
            Request::Status { .. } => "status",
            Request::Start { .. } => "start",
            Request::Stop { .. } => "stop",
            Request::Restart { .. } => "restart",
            Request::Attach { .. } => "attach",
            Request::Detach { .. } => "detach",
        }
    }
}

/// A reply line.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Reply {
    /// Whether the request succeeded.
    pub ok: bool,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Status of the processors concerned (also after start/stop/restart).
    #[serde(default)]
    pub status: Vec<ProcStatus>,
}

impl Reply {
    /// A successful reply.
    pub fn ok(status: Vec<ProcStatus>) -> Reply {
        Reply {
            ok: true,
            error: None,
            status,
        }
    }

    /// A failed reply.
    pub fn error(message: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(message.into()),
            status: Vec::new(),
        }
    }
}

/// What the daemon is doing with a processor.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Not started (autostart off, or stopped on request).
    Stopped,
    /// Started, waiting for it to run and announce its channels.
    Starting,
    /// Running and supervised.
    Running,
    /// Failed; waiting for the backoff delay before restarting it.
    Backoff,
    /// Failed too often (or restart mode `never`), the firmware check
    /// failed, or the core did not power off after a stop (event `stuck`:
    /// reboot needed): left alone until an explicit start.
    Failed,
    /// The remoteproc device is missing.
    Absent,
    /// Detached on request: the firmware runs without Linux, unsupervised
    /// until an attach or start.
    Detached,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Phase::Stopped => "stopped",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Backoff => "backoff",
            Phase::Failed => "failed",
            Phase::Absent => "absent",
            Phase::Detached => "detached",
        };
        f.write_str(s)
    }
}

/// One supervision event (kept in a short history per processor).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since the daemon started.
    pub at_ms: u64,
    /// `started`, `stopped`, `crashed`, `unexpected-stop`, `health-failed`,
    /// `restart-scheduled`, `gave-up`, `start-failed`, `channels-missing`,
    /// `adopted`, `attached`, `detached`, `stuck` (a stop left the core on:
    /// reboot needed).
    pub kind: String,
    /// Backoff delay chosen, for `restart-scheduled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_ms: Option<u64>,
    /// Details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Status of one processor.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ProcStatus {
    /// Configured name.
    pub name: String,
    /// remoteproc device directory (`remoteproc0`), if found.
    pub device: Option<String>,
    /// Configured firmware.
    pub firmware: String,
    /// Kernel state (`offline`, `running`, `crashed`...), if readable.
    pub kernel_state: Option<String>,
    /// Whether the core is powered, from the driver's `core_state`: `off`,
    /// `on`, or `stuck` (a stop request left it on: reboot needed; the
    /// kernel state then reads `offline` or `crashed`). Absent when the
    /// driver has no such attribute, and from daemons before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_state: Option<String>,
    /// Daemon phase.
    pub phase: Phase,
    /// Restarts since the last explicit start or reset.
    pub restarts: u32,
    /// Restarts since the daemon started.
    pub total_restarts: u32,
    /// Allowed restarts.
    pub max_restarts: u32,
    /// Milliseconds until the pending restart, in phase `backoff`.
    pub next_restart_in_ms: Option<u64>,
    /// Consecutive failed health pings.
    pub health_failures: u32,
    /// Round trip of the last successful health ping, microseconds.
    pub last_ping_us: Option<u64>,
    /// Last error.
    pub last_error: Option<String>,
    /// Recent events, oldest first.
    pub events: Vec<Event>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r: Request = serde_json::from_str(r#"{"cmd":"start","name":"rtd-amp"}"#).unwrap();
        assert_eq!(
            r,
            Request::Start {
                name: "rtd-amp".into()
            }
        );
        let r: Request = serde_json::from_str(r#"{"cmd":"status"}"#).unwrap();
        assert_eq!(r, Request::Status { name: None });
        assert_eq!(
            serde_json::to_string(&Request::Status { name: None }).unwrap(),
            r#"{"cmd":"status"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"explode"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"stop"}"#).is_err());
        for (line, req) in [
            (
                r#"{"cmd":"attach","name":"rtd-amp"}"#,
                Request::Attach {
                    name: "rtd-amp".into(),
                },
            ),
            (
                r#"{"cmd":"detach","name":"rtd-amp"}"#,
                Request::Detach {
                    name: "rtd-amp".into(),
                },
            ),
        ] {
            assert_eq!(serde_json::from_str::<Request>(line).unwrap(), req);
            assert_eq!(serde_json::to_string(&req).unwrap(), line);
            assert!(!req.is_read_only());
        }
        assert_eq!(
            serde_json::to_string(&Phase::Detached).unwrap(),
            r#""detached""#
        );
    }

    #[test]
    fn core_state_is_optional_both_ways() {
        // A status line of a daemon that predates `core_state`.
        let old = r#"{"name":"rtd-amp","device":"remoteproc0","firmware":"fw.elf","kernel_state":"offline","phase":"failed","restarts":0,"total_restarts":0,"max_restarts":5,"next_restart_in_ms":null,"health_failures":0,"last_ping_us":null,"last_error":null,"events":[]}"#;
        let mut s: ProcStatus = serde_json::from_str(old).unwrap();
        assert_eq!(s.core_state, None);
        assert!(!serde_json::to_string(&s).unwrap().contains("core_state"));
        s.core_state = Some("stuck".into());
        let line = serde_json::to_string(&s).unwrap();
        assert!(line.contains(r#""core_state":"stuck""#), "{line}");
        assert_eq!(serde_json::from_str::<ProcStatus>(&line).unwrap(), s);
    }
}

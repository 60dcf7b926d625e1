//! The firmware's control service (`rtd-amp-ctrl`, the `amp-control`
//! protocol, docs/control-protocol.md) seen from Linux: which rpmsg control
//! device belongs to a remote processor, and one client for its requests
//! (ping, version, stats...). The daemon's health pings, `ampctl` and the C
//! API use these.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use amp_control::{Request, Response, Stats, VersionInfo as Version, MAX_MESSAGE_LEN};

use crate::remoteproc::Remoteproc;
use crate::rpmsg::{Ctrl, Endpoint};
use crate::{Error, Result, Sys};

/// N of a control device named `rpmsg_ctrlN` or `/dev/rpmsg_ctrlN` (the one
/// parser of these names).
pub fn parse_ctrl_name(name: &str) -> Result<u32> {
    name.strip_prefix("/dev/")
        .unwrap_or(name)
        .strip_prefix("rpmsg_ctrl")
        .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{name:?} is not a control device name: expected rpmsg_ctrlN or /dev/rpmsg_ctrlN"
            ))
        })
}

/// N of the `/dev/rpmsg_ctrlN` that belongs to remote processor `r`: the
/// one whose device (`/sys/class/rpmsg/rpmsg_ctrlN/device`, the rpmsg
/// device the `rpmsg_ctrl` driver bound to) lies below the remote
/// processor's device in sysfs. The chain on Linux 6.1 and 6.12 is
/// `remoteprocM` → `remoteprocM#vdev0buffer` → `virtioK` →
/// `virtioK.rpmsg_ctrl.0.0` → `rpmsg_ctrlN` (`remoteproc_virtio.c`
/// registers the vdev below the rproc, `virtio_rpmsg_bus.c` the
/// `rpmsg_ctrl` channel below the virtio device), so no index is assumed:
/// indices follow probe order and change across module reloads.
pub fn ctrl_of(sys: &Sys, r: &Remoteproc) -> Result<u32> {
    let me = fs::canonicalize(r.path()).map_err(|e| Error::io("resolve", r.path(), e))?;
    let class = sys.rpmsg_class();
    let mut found: Vec<u32> = fs::read_dir(&class)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = parse_ctrl_name(e.file_name().to_str()?).ok()?;
            let dev = fs::canonicalize(e.path().join("device")).ok()?;
            dev.starts_with(&me).then_some(n)
        })
        .collect();
    found.sort_unstable();
    found.first().copied().ok_or_else(|| {
        Error::NotFound(format!(
            "no rpmsg control device below {} (is the firmware running, and the rpmsg_ctrl module loaded?)",
            r.device()
        ))
    })
}

/// The control device of `r`, opened.
pub fn open_ctrl_of(sys: &Sys, r: &Remoteproc) -> Result<Ctrl> {
    Ctrl::open(sys, ctrl_of(sys, r)?)
}

/// A client of the control service: an endpoint of its own towards the
/// service, requests tagged so a late answer to an earlier request is
/// skipped. Destroy it with [`close`](Self::close) (the kernel keeps an
/// endpoint made through the control device until it is destroyed).
#[derive(Debug)]
pub struct Client {
    ep: Endpoint,
    tag: u32,
}

impl Client {
    /// Creates an endpoint named `name` on `ctrl` towards address `dst`
    /// (normally [`amp_control::CONTROL_ADDR`]).
    pub fn open(ctrl: &Ctrl, name: &str, dst: u32, timeout: Duration) -> Result<Client> {
        let path: PathBuf = ctrl.create_endpoint(name, crate::rpmsg::ADDR_ANY, dst, timeout)?;
        Ok(Client {
            ep: Endpoint::open(&path)?,
            tag: 0,
        })
    }

    /// A client on an endpoint already open.
    pub fn on(ep: Endpoint) -> Client {
        Client { ep, tag: 0 }
    }

    /// The endpoint.
    pub fn endpoint(&mut self) -> &mut Endpoint {
        &mut self.ep
    }

    /// Sends `req` and waits at most `timeout` for the answer with its tag.
    /// An `Error` response is returned as [`Error::Control`].
    pub fn call(&mut self, req: Request, timeout: Duration) -> Result<(Response, Duration)> {
        self.tag = self.tag.wrapping_add(1);
        let tag = self.tag;
        let mut buf = [0u8; 512];
        let n = req
            .encode(tag, &mut buf[..MAX_MESSAGE_LEN])
            .map_err(|e| Error::Control(format!("encoding {req:?}: {e}")))?;
        let start = Instant::now();
        self.ep.send(&buf[..n])?;
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let got = self.ep.recv(&mut buf, Some(left))?;
            let Ok((t, resp)) = Response::decode(&buf[..got]) else {
                // Not an answer we can read: an earlier, garbled or foreign
                // message; keep waiting until the deadline.
                continue;
            };
            if t != tag || !resp.answers(req.opcode()) {
                continue;
            }
            if let Response::Error { code, .. } = resp {
                return Err(Error::Control(format!(
                    "the firmware refused the request: {code}"
                )));
            }
            return Ok((resp, start.elapsed()));
        }
    }

    /// One ping; returns the round trip.
    pub fn ping(&mut self, timeout: Duration) -> Result<Duration> {
        let nonce = 0x5254_4441_4d50_0000 ^ u64::from(self.tag.wrapping_add(1));
        match self.call(Request::Ping { nonce }, timeout)? {
            (Response::Pong { nonce: v }, rtt) if v == nonce => Ok(rtt),
            (other, _) => Err(Error::Control(format!(
                "ping answered with {other:?} (nonce {nonce:#x})"
            ))),
        }
    }

    /// The firmware's version record.
    pub fn version(&mut self, timeout: Duration) -> Result<Version> {
        match self.call(Request::Version, timeout)? {
            (Response::Version(v), _) => Ok(v),
            (other, _) => Err(Error::Control(format!("VERSION answered with {other:?}"))),
        }
    }

    /// The firmware's counters and uptime.
    pub fn stats(&mut self, timeout: Duration) -> Result<Stats> {
        match self.call(Request::Stats, timeout)? {
            (Response::Stats(s), _) => Ok(s),
            (other, _) => Err(Error::Control(format!("STATS answered with {other:?}"))),
        }
    }

    /// Destroys the endpoint.
    pub fn close(self) -> Result<()> {
        self.ep.destroy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_names() {
        assert_eq!(parse_ctrl_name("rpmsg_ctrl0").unwrap(), 0);
        assert_eq!(parse_ctrl_name("/dev/rpmsg_ctrl12").unwrap(), 12);
        for bad in [
            "rpmsg0",
            "rpmsg_ctrl",
            "rpmsg_ctrl-1",
            "/dev/rpmsg_ctrl1x",
            "ctrl0",
            "",
        ] {
            assert!(parse_ctrl_name(bad).is_err(), "{bad}");
        }
    }
}

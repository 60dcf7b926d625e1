//! The control socket: a unix stream socket speaking JSON lines
//! ([`crate::protocol`]), mode 0660, owned by the daemon's user and the
//! application group (`socket_group`).
//!
//! Every connection gets a role from the peer's credentials as the kernel
//! reports them at `connect()` (`SO_PEERCRED` and `SO_PEERGROUPS`, so the
//! groups of the connecting process, not of its user's entry in
//! `/etc/group`): uid 0 or a member of `admin_group` → [`Role::Admin`]
//! (everything); a member of `socket_group` → [`Role::ReadOnly`] (status);
//! anyone else is refused with one error line and the connection closed.
//! At most `max_clients` connections are served at once; a request line must
//! arrive within `client_timeout_ms` and be at most [`MAX_LINE`] bytes.

use crate::config::Daemon;
use crate::protocol::{Reply, Request};
use crate::supervisor::Msg;
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, Gid, Group};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// Longest request line accepted, newline included; a longer one gets an
/// error reply and the connection is closed.
pub const MAX_LINE: usize = 4096;

/// Errors setting the socket up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// A configured group does not exist.
    #[error("socket_group {0:?} does not exist (create it with `groupadd {0}` or fix [daemon] socket_group)")]
    NoGroup(String),
    /// The configured admin group does not exist.
    #[error("admin_group {0:?} does not exist (create it with `groupadd {0}` or fix [daemon] admin_group)")]
    NoAdminGroup(String),
    /// Something else is at the socket path.
    #[error("{0} exists and is not a socket; remove it or change [daemon] socket")]
    NotASocket(PathBuf),
    /// I/O.
    #[error("control socket {path}: {what}: {source}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Step that failed.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
}

/// What a connection may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Root or a member of the admin group: every request.
    Admin,
    /// A member of the application group: requests that change nothing
    /// ([`Request::is_read_only`]).
    ReadOnly,
}

/// Who gets which role, and the connection limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Application group (`socket_group`): read-only role; also the
    /// socket's group. `None`: nobody but the admins.
    pub app: Option<(String, Gid)>,
    /// Admin group (`admin_group`): full role besides root.
    pub admin: Option<(String, Gid)>,
    /// Connections served at once.
    pub max_clients: usize,
    /// How long a request line may take to arrive (also the write timeout
    /// of the reply).
    pub client_timeout: Duration,
}

fn lookup(name: &str) -> Result<Option<Gid>, std::io::Error> {
    Ok(Group::from_name(name)
        .map_err(std::io::Error::from)?
        .map(|g| g.gid))
}

impl Policy {
    /// The policy of a `[daemon]` table, with the group names resolved.
    pub fn from_config(d: &Daemon) -> Result<Policy, SocketError> {
        let io = |source| SocketError::Io {
            path: d.socket.clone(),
            what: "looking up its groups",
            source,
        };
        let app = match &d.socket_group {
            Some(g) => Some((
                g.clone(),
                lookup(g)
                    .map_err(io)?
                    .ok_or_else(|| SocketError::NoGroup(g.clone()))?,
            )),
            None => None,
        };
        let admin = match &d.admin_group {
            Some(g) => Some((
                g.clone(),
                lookup(g)
                    .map_err(io)?
                    .ok_or_else(|| SocketError::NoAdminGroup(g.clone()))?,
            )),
            None => None,
        };
        Ok(Policy {
            app,
            admin,
            max_clients: d.max_clients,
            client_timeout: Duration::from_millis(d.client_timeout_ms),
        })
    }

    /// The role of a peer with user id `uid` and groups `gids` (primary
    /// and supplementary), or `None`: refused.
    pub fn role(&self, uid: u32, gids: &[u32]) -> Option<Role> {
        let member = |g: &Option<(String, Gid)>| {
            g.as_ref()
                .is_some_and(|(_, gid)| gids.contains(&gid.as_raw()))
        };
        if uid == 0 || member(&self.admin) {
            Some(Role::Admin)
        } else if member(&self.app) {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }

    fn admin_text(&self) -> String {
        match &self.admin {
            Some((name, _)) => format!("root or a member of group {name}"),
            None => "root (no admin_group configured)".into(),
        }
    }
}

/// A peer's credentials as the kernel recorded them at `connect()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Process id.
    pub pid: i32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id, then the supplementary groups.
    pub gids: Vec<u32>,
}

/// Reads the credentials of the process at the other end of `stream`
/// (`SO_PEERCRED`, `SO_PEERGROUPS`).
pub fn peer(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = getsockopt(&stream.as_fd(), PeerCredentials).map_err(std::io::Error::from)?;
    let mut gids = vec![cred.gid()];
    gids.extend(peer_groups(stream)?);
    Ok(Peer {
        pid: cred.pid(),
        uid: cred.uid(),
        gids,
    })
}

/// `SO_PEERGROUPS` (Linux 4.13): the supplementary groups of the peer at
/// `connect()`. nix has no wrapper for it.
fn peer_groups(stream: &UnixStream) -> std::io::Result<Vec<u32>> {
    use nix::libc;
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: the buffer is valid for `len` bytes and outlives the call;
        // the kernel writes at most `len` bytes and sets `len` to what it
        // wrote (or, with ERANGE, to what it needs).
        let r = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / std::mem::size_of::<libc::gid_t>();
        if r == 0 {
            groups.truncate(n);
            return Ok(groups);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ERANGE) && n > groups.len() {
            groups.resize(n, 0);
            continue;
        }
        return Err(e);
    }
}

/// Binds the control socket with the right owner and mode: group `gid`
/// (the application group; the daemon's own group without it), mode 0660.
pub fn bind(path: &Path, gid: Option<Gid>) -> Result<UnixListener, SocketError> {
    let io = |what: &'static str| {
        move |source| SocketError::Io {
            path: path.to_owned(),
            what,
            source,
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("creating its directory"))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(io("removing the stale socket"))?
        }
        Ok(_) => return Err(SocketError::NotASocket(path.to_owned())),
        Err(_) => {}
    }
    // No window where the socket is reachable with looser permissions.
    let old = umask(Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    umask(old);
    let listener = bound.map_err(io("bind"))?;
    if let Some(gid) = gid {
        // Needs no capability when the daemon is a member of the group.
        chown(path, None, Some(gid)).map_err(|e| io("chown")(std::io::Error::from(e)))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(io("chmod 0660"))?;
    Ok(listener)
}

/// Binds the socket for a `[daemon]` table and returns it with its policy.
pub fn bind_config(d: &Daemon) -> Result<(UnixListener, Policy), SocketError> {
    let policy = Policy::from_config(d)?;
    let listener = bind(&d.socket, policy.app.as_ref().map(|(_, gid)| *gid))?;
    info!(
        socket = %d.socket.display(),
        read_only = policy.app.as_ref().map_or("(nobody)", |(n, _)| n.as_str()),
        admin = policy.admin.as_ref().map_or("(root only)", |(n, _)| n.as_str()),
        max_clients = policy.max_clients,
        "control socket ready"
    );
    Ok((listener, policy))
}

/// Sends one line and closes: the answer to a connection that is not served.
fn turn_away(mut stream: UnixStream, reply: Reply) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = stream.write_all(reply_line(&reply).as_bytes());
}

/// Accepts connections forever, one thread per client, within `policy`.
pub fn serve(listener: UnixListener, tx: Sender<Msg>, policy: Policy) {
    let active = Arc::new(AtomicUsize::new(0));
    let policy = Arc::new(policy);
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "accept on the control socket failed");
                continue;
            }
        };
        let who = match peer(&stream) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "cannot read the peer's credentials: refused");
                turn_away(
                    stream,
                    Reply::error("permission denied: no peer credentials"),
                );
                continue;
            }
        };
        let Some(role) = policy.role(who.uid, &who.gids) else {
            warn!(
                uid = who.uid,
                pid = who.pid,
                "control socket: refused (no role)"
            );
            turn_away(
                stream,
                Reply::error(format!(
                    "permission denied: uid {} is not root and in neither the admin nor the application group of rtd-ampd",
                    who.uid
                )),
            );
            continue;
        };
        if active.fetch_add(1, Ordering::SeqCst) >= policy.max_clients {
            active.fetch_sub(1, Ordering::SeqCst);
            warn!(
                uid = who.uid,
                pid = who.pid,
                max_clients = policy.max_clients,
                "control socket: too many clients, refused"
            );
            turn_away(
                stream,
                Reply::error(format!(
                    "too many clients (max_clients = {}); try again later",
                    policy.max_clients
                )),
            );
            continue;
        }
        debug!(
            uid = who.uid,
            pid = who.pid,
            ?role,
            "control client connected"
        );
        let tx = tx.clone();
        let active = Arc::clone(&active);
        let policy = Arc::clone(&policy);
        let spawned = std::thread::Builder::new()
            .name("control-client".into())
            .spawn(move || {
                if let Err(e) = client(stream, &tx, role, &policy) {
                    debug!(error = %e, "control client ended");
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot spawn a control client thread");
        }
    }
}

/// A stream whose reads end at a deadline (per request line).
struct Deadline {
    stream: UnixStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without its newline; a last line without one at
    /// the end of input counts too).
    Line(Vec<u8>),
    /// More than `max` bytes without a newline.
    TooLong,
    /// End of input.
    Eof,
}

/// Reads one line of at most `max` bytes (newline included) from `r`.
pub fn read_line_limited<R: BufRead>(r: &mut R, max: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(if line.is_empty() {
                Line::Eof
            } else {
                Line::Line(line)
            });
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            line.pop();
            return Ok(Line::Line(line));
        }
    }
}

/// The reply to one request line from a connection with `role`: parses
/// it, refuses what the role does not allow, and hands the rest to
/// `exec` (the supervisor).
pub fn answer(
    line: &[u8],
    role: Role,
    policy: &Policy,
    exec: impl FnOnce(Request) -> Reply,
) -> Reply {
    let req = match std::str::from_utf8(line)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str::<Request>(s.trim()).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            return Reply::error(format!(
                "bad request ({e}); expected e.g. {{\"cmd\":\"status\"}} or {{\"cmd\":\"start\",\"name\":\"rtd-amp\"}}"
            ))
        }
    };
    if role == Role::ReadOnly && !req.is_read_only() {
        return Reply::error(format!(
            "permission denied: `{}` changes the processor's state and needs the admin role ({}); this connection is read-only",
            req.cmd(),
            policy.admin_text()
        ));
    }
    exec(req)
}

/// A reply as one line, newline included.
pub fn reply_line(reply: &Reply) -> String {
    let mut text = serde_json::to_string(reply).unwrap_or_else(|_| "{\"ok\":false}".into());
    text.push('\n');
    text
}

fn client(
    stream: UnixStream,
    tx: &Sender<Msg>,
    role: Role,
    policy: &Policy,
) -> std::io::Result<()> {
    stream.set_write_timeout(Some(policy.client_timeout))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(Deadline {
        stream,
        until: Instant::now() + policy.client_timeout,
    });
    loop {
        reader.get_mut().until = Instant::now() + policy.client_timeout;
        let line = match read_line_limited(&mut reader, MAX_LINE) {
            Ok(Line::Line(l)) => l,
            Ok(Line::Eof) => return Ok(()),
            Ok(Line::TooLong) => {
                let r = Reply::error(format!(
                    "request longer than {MAX_LINE} bytes; connection closed"
                ));
                return out.write_all(reply_line(&r).as_bytes());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                let r = Reply::error(format!(
                    "no complete request within client_timeout_ms ({} ms); connection closed",
                    policy.client_timeout.as_millis()
                ));
                return out.write_all(reply_line(&r).as_bytes());
            }
            Err(e) => return Err(e),
        };
        let reply = answer(&line, role, policy, |req| {
            let (rtx, rrx) = mpsc::channel();
            if tx.send(Msg::Command(req, rtx)).is_err() {
                Reply::error("the daemon is shutting down")
            } else {
                rrx.recv()
                    .unwrap_or_else(|_| Reply::error("the daemon is shutting down"))
            }
        });
        out.write_all(reply_line(&reply).as_bytes())?;
    }
}

/// The client side, from the protocol crate.
pub use rtd_ampd_protocol::request;

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            app: Some(("rtdamp".into(), Gid::from_raw(4200))),
            admin: Some(("rtdamp-admin".into(), Gid::from_raw(4201))),
            max_clients: 4,
            client_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn roles_from_credentials() {
        let p = policy();
        assert_eq!(p.role(0, &[0]), Some(Role::Admin), "root");
        assert_eq!(p.role(1000, &[100, 4201]), Some(Role::Admin));
        assert_eq!(p.role(1000, &[4201]), Some(Role::Admin), "primary group");
        assert_eq!(p.role(1000, &[100, 4200]), Some(Role::ReadOnly));
        assert_eq!(p.role(1000, &[4200, 4201]), Some(Role::Admin), "both");
        assert_eq!(p.role(1000, &[100]), None);
        assert_eq!(p.role(1000, &[]), None);
        let root_only = Policy {
            app: None,
            admin: None,
            ..policy()
        };
        assert_eq!(root_only.role(0, &[]), Some(Role::Admin));
        assert_eq!(root_only.role(1000, &[4200, 4201]), None);
    }

    #[test]
    fn read_only_role_gets_status_only() {
        let p = policy();
        let ok = |_req| Reply::ok(vec![]);
        for line in [
            &br#"{"cmd":"status"}"#[..],
            br#"{"cmd":"status","name":"rtd-amp"}"#,
        ] {
            assert!(answer(line, Role::ReadOnly, &p, ok).ok);
        }
        for (line, cmd) in [
            (&br#"{"cmd":"start","name":"rtd-amp"}"#[..], "start"),
            (br#"{"cmd":"stop","name":"rtd-amp"}"#, "stop"),
            (br#"{"cmd":"restart","name":"rtd-amp"}"#, "restart"),
        ] {
            let r = answer(line, Role::ReadOnly, &p, |req| {
                panic!("{req:?} reached the supervisor from a read-only peer")
            });
            let e = r.error.unwrap();
            assert!(!r.ok);
            assert!(
                e.starts_with(&format!("permission denied: `{cmd}` changes")),
                "{e}"
            );
            assert!(e.contains("root or a member of group rtdamp-admin"), "{e}");
            assert!(answer(line, Role::Admin, &p, ok).ok);
        }
        let r = answer(b"\xff\xfe", Role::Admin, &p, ok);
        assert!(r.error.unwrap().starts_with("bad request"));
    }

    #[test]
    fn lines_are_limited() {
        let mut r = std::io::Cursor::new(b"abc\n\nlast".to_vec());
        assert_eq!(
            read_line_limited(&mut r, 8).unwrap(),
            Line::Line(b"abc".to_vec())
        );
        assert_eq!(read_line_limited(&mut r, 8).unwrap(), Line::Line(vec![]));
        assert_eq!(
            read_line_limited(&mut r, 8).unwrap(),
            Line::Line(b"last".to_vec())
        );
        assert_eq!(read_line_limited(&mut r, 8).unwrap(), Line::Eof);
        // The limit counts the newline: 7 bytes + '\n' fit in 8, 8 do not.
        let mut r = std::io::Cursor::new(b"1234567\n12345678\n".to_vec());
        assert_eq!(
            read_line_limited(&mut r, 8).unwrap(),
            Line::Line(b"1234567".to_vec())
        );
        assert_eq!(read_line_limited(&mut r, 8).unwrap(), Line::TooLong);
        // Across many small reads (a BufReader of 3 bytes).
        let mut r = BufReader::with_capacity(3, std::io::Cursor::new(vec![b'x'; MAX_LINE + 1]));
        assert_eq!(read_line_limited(&mut r, MAX_LINE).unwrap(), Line::TooLong);
        let mut l = vec![b'y'; MAX_LINE - 1];
        l.push(b'\n');
        let mut r = BufReader::with_capacity(3, std::io::Cursor::new(l));
        assert_eq!(
            read_line_limited(&mut r, MAX_LINE).unwrap(),
            Line::Line(vec![b'y'; MAX_LINE - 1])
        );
    }

    #[test]
    fn peer_credentials_of_a_socketpair_are_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let p = peer(&a).unwrap();
        assert_eq!(p.pid, std::process::id() as i32);
        assert_eq!(p.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(p.gids[0], nix::unistd::getegid().as_raw());
        let mut mine: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(Gid::as_raw)
            .collect();
        let mut theirs = p.gids[1..].to_vec();
        mine.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(theirs, mine);
    }
}

//! The control socket: a unix stream socket speaking JSON lines
//! ([`crate::protocol`]), mode 0660, owned by root (or the daemon's user)
//! and the configured group.

use crate::protocol::{Reply, Request};
use crate::supervisor::Msg;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, Group};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use tracing::{debug, info, warn};

/// Longest request line accepted.
const MAX_LINE: u64 = 4096;

/// Errors setting the socket up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The configured group does not exist.
    #[error("socket_group {0:?} does not exist (create it with `groupadd {0}` or fix [daemon] socket_group)")]
    NoGroup(String),
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

/// Binds the control socket with the right owner and mode.
pub fn bind(path: &Path, group: Option<&str>) -> Result<UnixListener, SocketError> {
    let io = |what: &'static str| {
        move |source| SocketError::Io {
            path: path.to_owned(),
            what,
            source,
        }
    };
    let gid = match group {
        Some(g) => Some(
            Group::from_name(g)
                .map_err(|e| io("looking up socket_group")(std::io::Error::from(e)))?
                .ok_or_else(|| SocketError::NoGroup(g.to_owned()))?
                .gid,
        ),
        None => None,
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
        chown(path, None, Some(gid)).map_err(|e| io("chown")(std::io::Error::from(e)))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(io("chmod 0660"))?;
    info!(socket = %path.display(), group = group.unwrap_or("(root only)"), "control socket ready");
    Ok(listener)
}

/// Accepts connections forever, one thread per client.
pub fn serve(listener: UnixListener, tx: Sender<Msg>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    if let Err(e) = client(stream, tx) {
                        debug!(error = %e, "control client ended");
                    }
                });
            }
            Err(e) => warn!(error = %e, "accept on the control socket failed"),
        }
    }
}

fn client(stream: UnixStream, tx: Sender<Msg>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        let n = std::io::Read::take(&mut reader, MAX_LINE).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        let reply = match serde_json::from_str::<Request>(line.trim()) {
            Ok(req) => {
                let (rtx, rrx) = mpsc::channel();
                if tx.send(Msg::Command(req, rtx)).is_err() {
                    Reply::error("the daemon is shutting down")
                } else {
                    rrx.recv().unwrap_or_else(|_| Reply::error("the daemon is shutting down"))
                }
            }
            Err(e) => Reply::error(format!(
                "bad request ({e}); expected e.g. {{\"cmd\":\"status\"}} or {{\"cmd\":\"start\",\"name\":\"rtd-amp\"}}"
            )),
        };
        let mut text = serde_json::to_string(&reply).unwrap_or_else(|_| "{\"ok\":false}".into());
        text.push('\n');
        out.write_all(text.as_bytes())?;
    }
}

/// Sends one request to a daemon and returns its reply (used by `ampctl`).
pub fn request(socket: &Path, req: &Request) -> std::io::Result<Reply> {
    let stream = UnixStream::connect(socket)?;
    let mut out = stream.try_clone()?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    out.write_all(line.as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    serde_json::from_str(&reply)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

//! The control socket's roles and limits, end to end: a real daemon on a
//! unix socket in a temp dir, and clients that are child processes of this
//! test with the credentials they are given (uid, gid, supplementary
//! groups, set before exec), so SO_PEERCRED/SO_PEERGROUPS report them for
//! real. Dropping privileges needs root; without it the role cases say so
//! and check only what root-less tests can (the limits).

mod common;

use common::{wait_for, FakeKernel};
use rtd_ampd::config::Config;
use rtd_ampd::hw::Hw;
use rtd_ampd::protocol::Reply;
use rtd_ampd::supervisor::{Msg, NoNotify};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

const CHILD_ENV: &str = "RTD_AMPD_TEST_CHILD";

/// Two groups that exist in the group database and that this process is
/// not a member of: (application group, admin group, a third group).
fn groups() -> [(String, u32); 3] {
    let mine: Vec<u32> = nix::unistd::getgroups()
        .unwrap()
        .into_iter()
        .map(|g| g.as_raw())
        .chain([nix::unistd::getegid().as_raw()])
        .collect();
    let found: Vec<(String, u32)> = (1..60000)
        .filter(|g| !mine.contains(g))
        .filter_map(|g| {
            nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(g))
                .ok()
                .flatten()
                .map(|gr| (gr.name, g))
        })
        .take(3)
        .collect();
    found.try_into().expect("three groups in /etc/group")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

struct Daemon {
    k: FakeKernel,
    socket: PathBuf,
    tx: std::sync::mpsc::Sender<Msg>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn daemon(daemon_keys: &str) -> Daemon {
    let k = FakeKernel::new();
    let text = format!(
        "[daemon]\nsocket = \"{}/run/rtd-ampd/rtd-ampd.sock\"\npoll_interval_ms = 5\n{daemon_keys}\n\
         [[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"fw.elf\"\ncheck_firmware = false\nautostart = false\n",
        k.root().display()
    );
    let cfg = Config::parse(&text, Path::new("test.toml")).unwrap();
    let socket = cfg.daemon.socket.clone();
    let (tx, handle) = rtd_ampd::spawn(cfg, Hw::under(k.root()), Box::new(NoNotify)).unwrap();
    // Children with other uids must reach the socket through the temp dir.
    for d in [
        k.root().to_path_buf(),
        k.root().join("run"),
        k.root().join("run/rtd-ampd"),
    ] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Daemon {
        k,
        socket,
        tx,
        handle: Some(handle),
    }
}

/// What a child with these credentials got for one request line: the reply,
/// or the connect error.
fn as_peer(socket: &Path, uid: u32, gids: &[u32], line: &str) -> Result<Reply, String> {
    let gids: Vec<nix::unistd::Gid> = gids
        .iter()
        .map(|&g| nix::unistd::Gid::from_raw(g))
        .collect();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_request",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, format!("{}\n{line}", socket.display()));
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setgroups(&gids[1..])?;
            nix::unistd::setgid(gids[0])?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))?;
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for l in stdout.lines() {
        // libtest prints "test child_request ... " first on the same line.
        if let Some((_, r)) = l.split_once("CHILD-REPLY: ") {
            return Ok(serde_json::from_str(r).unwrap());
        }
        if let Some((_, e)) = l.split_once("CHILD-ERROR: ") {
            return Err(e.to_owned());
        }
    }
    panic!(
        "child said nothing: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The child's side of [`as_peer`]: runs only when the test re-executes
/// itself with `RTD_AMPD_TEST_CHILD` set.
#[test]
fn child_request() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (socket, line) = spec.split_once('\n').unwrap();
    let r = UnixStream::connect(socket).and_then(|s| {
        let mut w = s.try_clone()?;
        let _ = w.write_all(format!("{line}\n").as_bytes());
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply)?;
        Ok(reply)
    });
    match r {
        Ok(reply) => println!("CHILD-REPLY: {}", reply.trim()),
        Err(e) => println!("CHILD-ERROR: {e}"),
    }
}

#[test]
fn roles_from_the_peers_credentials() {
    if !is_root() {
        eprintln!(
            "roles_from_the_peers_credentials: needs root to run clients as other users; skipped"
        );
        return;
    }
    let [(app, app_gid), (adm, adm_gid), (_, other_gid)] = groups();
    let d = daemon(&format!(
        "socket_group = \"{app}\"\nadmin_group = \"{adm}\""
    ));
    let start = r#"{"cmd":"start","name":"rtd-amp"}"#;
    let stop = r#"{"cmd":"stop","name":"rtd-amp"}"#;
    let restart = r#"{"cmd":"restart","name":"rtd-amp"}"#;
    let status = r#"{"cmd":"status"}"#;

    // Application group: status yes, anything that changes state no.
    let r = as_peer(&d.socket, 4242, &[app_gid], status).unwrap();
    assert!(r.ok && r.status.len() == 1, "{r:?}");
    for line in [start, stop, restart] {
        let r = as_peer(&d.socket, 4242, &[4242, app_gid], line).unwrap();
        let e = r.error.clone().unwrap_or_default();
        assert!(!r.ok, "{line}: {r:?}");
        assert!(e.starts_with("permission denied: `"), "{e}");
        assert!(
            e.contains(&format!("root or a member of group {adm}")),
            "{e}"
        );
    }
    assert_eq!(d.k.starts.load(Ordering::SeqCst), 0, "nothing started");
    assert_eq!(d.k.stops.load(Ordering::SeqCst), 0, "nothing stopped");

    // Admin group (supplementary, with the application group that lets it
    // reach the socket): full role.
    let r = as_peer(&d.socket, 4243, &[4243, app_gid, adm_gid], start).unwrap();
    assert!(r.ok, "{r:?}");
    wait_for("the fake kernel to see the start", || {
        (d.k.starts.load(Ordering::SeqCst) == 1).then_some(())
    });

    // Neither group: the file system refuses the connection...
    let e = as_peer(&d.socket, 4244, &[other_gid], status).unwrap_err();
    assert!(e.contains("Permission denied"), "{e}");
    // ...and so does the daemon when the socket's mode lets it through.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = as_peer(&d.socket, 4244, &[other_gid], status).unwrap();
    let e = r.error.unwrap_or_default();
    assert!(!r.ok && e.starts_with("permission denied: uid 4244"), "{e}");

    // Root: full role without any group.
    let r = rtd_ampd::server::request(
        &d.socket,
        &rtd_ampd::protocol::Request::Stop {
            name: "rtd-amp".into(),
        },
    )
    .unwrap();
    assert!(r.ok, "{r:?}");
}

#[test]
fn without_groups_only_root_is_served() {
    if !is_root() {
        eprintln!("without_groups_only_root_is_served: needs root; skipped");
        return;
    }
    let [(_, app_gid), (_, adm_gid), _] = groups();
    let d = daemon("");
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = as_peer(&d.socket, 4245, &[app_gid, adm_gid], r#"{"cmd":"status"}"#).unwrap();
    assert!(!r.ok, "{r:?}");
    let r = as_peer(&d.socket, 0, &[0], r#"{"cmd":"status"}"#).unwrap();
    assert!(r.ok, "{r:?}");
}

fn connect(socket: &Path) -> UnixStream {
    let s = UnixStream::connect(socket).unwrap();
    // Only a guard against a hang, not a timing assertion.
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    s
}

fn reply_of(s: &UnixStream) -> Reply {
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// The daemon closed the connection (a reset when it left unread input).
fn closed(mut s: &UnixStream) -> bool {
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(n) => n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn clients_are_capped() {
    let d = daemon("max_clients = 2\nclient_timeout_ms = 60000");
    let a = connect(&d.socket);
    let b = connect(&d.socket);
    // Both are being served: each answers a status.
    for s in [&a, &b] {
        (&*s).write_all(b"{\"cmd\":\"status\"}\n").unwrap();
        assert!(reply_of(s).ok);
    }
    let c = connect(&d.socket);
    let r = reply_of(&c);
    assert!(
        !r.ok
            && r.error
                .as_deref()
                .unwrap()
                .starts_with("too many clients (max_clients = 2)"),
        "{r:?}"
    );
    assert!(closed(&c));
    // A slot is free again once a client leaves.
    drop(a);
    wait_for("a free slot", || {
        let s = connect(&d.socket);
        (&s).write_all(b"{\"cmd\":\"status\"}\n").ok()?;
        Some(reply_of(&s)).filter(|r| r.ok)
    });
}

#[test]
fn idle_clients_are_disconnected_and_free_their_slot() {
    let d = daemon("max_clients = 1\nclient_timeout_ms = 50");
    // Nothing sent: an error line, then the connection is closed.
    let a = connect(&d.socket);
    let r = reply_of(&a);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .starts_with("no complete request within client_timeout_ms (50 ms)"),
        "{r:?}"
    );
    assert!(closed(&a));
    // Half a line and then nothing: the same (the timeout is per line).
    // Its slot is free once the first client's thread has ended.
    let e = wait_for("a served client", || {
        let b = connect(&d.socket);
        (&b).write_all(b"{\"cmd\":").ok()?;
        reply_of(&b)
            .error
            .filter(|e| !e.starts_with("too many clients"))
    });
    assert!(e.starts_with("no complete request"), "{e}");
    // The only slot is free again.
    wait_for("the slot back", || {
        let s = connect(&d.socket);
        (&s).write_all(b"{\"cmd\":\"status\"}\n").ok()?;
        Some(reply_of(&s)).filter(|r| r.ok)
    });
}

#[test]
fn request_lines_are_limited_to_4096_bytes() {
    let d = daemon("");
    // Exactly 4096 bytes with the newline: parsed (and answered).
    let head = r#"{"cmd":"status","name":""#;
    let tail = r#""}"#;
    let name = "x".repeat(rtd_ampd::server::MAX_LINE - 1 - head.len() - tail.len());
    let line = format!("{head}{name}{tail}\n");
    assert_eq!(line.len(), 4096);
    let s = connect(&d.socket);
    (&s).write_all(line.as_bytes()).unwrap();
    let r = reply_of(&s);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("is not in the daemon's config"),
        "{r:?}"
    );
    // One byte more: refused, connection closed.
    let s = connect(&d.socket);
    let line = format!("{head}x{name}{tail}\n");
    (&s).write_all(line.as_bytes()).unwrap();
    let r = reply_of(&s);
    assert_eq!(
        r.error.as_deref(),
        Some("request longer than 4096 bytes; connection closed")
    );
    assert!(closed(&s));
}

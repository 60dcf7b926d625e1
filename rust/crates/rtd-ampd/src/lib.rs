//! `rtd-ampd`: starts the rtd-amp remote processors at boot, supervises them
//! (kernel state polling, health pings through the firmware's control
//! service), restarts them within a policy, stops them on shutdown and
//! answers `ampctl` on a unix control socket.
//!
//! The library part is what the binary and the tests share. Clients
//! (`ampctl`) use the `rtd-ampd-protocol` crate, re-exported as
//! [`protocol`], and do not link the daemon.
#![warn(missing_docs)]

pub mod config;
pub mod hw;
/// The control socket protocol (its own crate, `rtd-ampd-protocol`).
pub use rtd_ampd_protocol as protocol;
pub mod server;
pub mod supervisor;

use std::sync::mpsc::Sender;

/// Runs a daemon with `config` against `hw` until `Msg::Shutdown` is sent on
/// the returned sender. Binds the socket first (errors out if it cannot).
/// Returns the sender and the supervisor thread's handle.
pub fn spawn(
    config: config::Config,
    hw: hw::Hw,
    notifier: Box<dyn supervisor::Notifier>,
) -> Result<(Sender<supervisor::Msg>, std::thread::JoinHandle<()>), server::SocketError> {
    let (listener, policy) = server::bind_config(&config.daemon)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let server_tx = tx.clone();
    std::thread::Builder::new()
        .name("control-socket".into())
        .spawn(move || server::serve(listener, server_tx, policy))
        .map_err(|source| server::SocketError::Io {
            path: config.daemon.socket.clone(),
            what: "spawning its thread",
            source,
        })?;
    let sup = supervisor::Supervisor::new(config, hw, notifier);
    let handle = std::thread::Builder::new()
        .name("supervisor".into())
        .spawn(move || sup.run(rx))
        .map_err(|source| server::SocketError::Io {
            path: "supervisor".into(),
            what: "spawning its thread",
            source,
        })?;
    Ok((tx, handle))
}

//! The daemon's TOML configuration (`/etc/rtd-ampd.toml`).
//!
//! Unknown keys are rejected, and every error names the file, the line and
//! the column. Durations are integers in milliseconds (keys end in `_ms`).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default configuration file.
pub const DEFAULT_PATH: &str = "/etc/rtd-ampd.toml";
/// Default control socket (from the protocol crate).
pub use rtd_ampd_protocol::DEFAULT_SOCKET;

/// Whole configuration file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[daemon]` table.
    #[serde(default)]
    pub daemon: Daemon,
    /// `[firmware]` table: how firmware signatures are checked.
    #[serde(default)]
    pub firmware: Firmware,
    /// `[[remoteproc]]` tables, one per supervised processor.
    #[serde(default, rename = "remoteproc")]
    pub remoteprocs: Vec<Remoteproc>,
}

/// `[daemon]`: settings of the daemon itself.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Daemon {
    /// Path of the control socket.
    pub socket: PathBuf,
    /// Application group: may connect (the socket is mode 0660 in this
    /// group) with the read-only role (status). Without it, only root and
    /// the admin group may use the socket.
    pub socket_group: Option<String>,
    /// Admin group: its members (and root) get the full role (start, stop,
    /// restart). Without it, only root. They connect through the file
    /// system too, so they are members of `socket_group` as well.
    pub admin_group: Option<String>,
    /// Control connections served at once; more are refused with an error.
    pub max_clients: usize,
    /// How long a client may take to send a complete request line (and to
    /// read its reply) before the daemon closes the connection.
    pub client_timeout_ms: u64,
    /// How often remoteproc states are polled.
    pub poll_interval_ms: u64,
    /// Directory firmware names are relative to (for the firmware check).
    pub firmware_dir: PathBuf,
    /// Device tree the firmware check compares against; default: the running
    /// system's (`/sys/firmware/fdt`).
    pub dtb: Option<PathBuf>,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            socket: PathBuf::from(DEFAULT_SOCKET),
            socket_group: None,
            admin_group: None,
            max_clients: 16,
            client_timeout_ms: 5000,
            poll_interval_ms: 500,
            firmware_dir: PathBuf::from("/lib/firmware"),
            dtb: None,
        }
    }
}

/// `[firmware]`: the firmware signature check (`<firmware>.p7s`), which
/// refuses what the kernel driver refuses (docs/kernel.md, "Firmware
/// signatures").
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Firmware {
    /// Trusted certificates (DER or PEM) signatures must verify against;
    /// default: `/etc/rtd-amp/fw-signing.pem` when it exists (the layer
    /// installs the certificate built into the kernel driver there).
    pub signing_certs: Option<Vec<PathBuf>>,
    /// Refuse unsigned firmware even when the kernel driver is not loaded
    /// (when it is, its `sig_enforce` parameter and the device tree decide).
    pub require_signature: bool,
}

/// `[[remoteproc]]`: one supervised remote processor.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Remoteproc {
    /// The remoteproc's `name` attribute (e.g. `rtd-amp`) or its device
    /// directory (`remoteproc0`).
    pub name: String,
    /// Firmware name, relative to the firmware directory
    /// (written to the remoteproc's `firmware` attribute).
    pub firmware: String,
    /// Start it when the daemon starts.
    #[serde(default = "yes")]
    pub autostart: bool,
    /// Check the firmware ELF against the device tree before every start.
    #[serde(default = "yes")]
    pub check_firmware: bool,
    /// Leave crash recovery to the kernel (`recovery` = enabled) instead of
    /// the daemon's restart policy.
    #[serde(default)]
    pub kernel_recovery: bool,
    /// Coredump mode written to the `coredump` attribute, if set
    /// (`disabled`, `enabled`, `inline`).
    #[serde(default)]
    pub coredump: Option<String>,
    /// RPMsg channels the firmware must announce after a start.
    #[serde(default)]
    pub expected_channels: Vec<String>,
    /// How long after a start the expected channels may take to appear.
    #[serde(default = "channel_timeout")]
    pub channel_timeout_ms: u64,
    /// `[remoteproc.restart]`.
    #[serde(default)]
    pub restart: Restart,
    /// `[remoteproc.health]`; no health pings when absent.
    #[serde(default)]
    pub health: Option<Health>,
    /// Stop the firmware when the daemon exits (SIGTERM, `systemctl stop`).
    /// Default false: the firmware keeps running and the next daemon adopts
    /// it, so a daemon restart or package upgrade does not bounce the core
    /// (docs/daemon-cli.md, "Adoption and stop_on_exit").
    #[serde(default)]
    pub stop_on_exit: bool,
}

fn yes() -> bool {
    true
}

fn channel_timeout() -> u64 {
    5000
}

/// When to restart.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// Never: a crash leaves the processor crashed.
    Never,
    /// After a crash, a failed health check or an unexpected stop.
    OnFailure,
}

/// `[remoteproc.restart]`: restart policy with exponential backoff.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Restart {
    /// `never` or `on-failure`.
    pub mode: RestartMode,
    /// Restarts allowed before the daemon gives up (state `failed`); the
    /// count resets after `reset_after_ms` of healthy running.
    pub max_restarts: u32,
    /// Delay before the first restart.
    pub backoff_initial_ms: u64,
    /// Each further restart waits this many times longer...
    pub backoff_factor: f64,
    /// ...up to this delay.
    pub backoff_max_ms: u64,
    /// Running this long without failure resets the restart count.
    pub reset_after_ms: u64,
}

impl Default for Restart {
    fn default() -> Self {
        Restart {
            mode: RestartMode::OnFailure,
            max_restarts: 5,
            backoff_initial_ms: 1000,
            backoff_factor: 2.0,
            backoff_max_ms: 60_000,
            reset_after_ms: 300_000,
        }
    }
}

impl Restart {
    /// Delay before restart number `n` (0-based):
    /// `min(initial * factor^n, max)`.
    pub fn backoff(&self, n: u32) -> Duration {
        let ms = self.backoff_initial_ms as f64 * self.backoff_factor.powi(n.min(64) as i32);
        let ms = if ms.is_finite() {
            ms.min(self.backoff_max_ms as f64)
        } else {
            self.backoff_max_ms as f64
        };
        Duration::from_millis(ms.max(0.0) as u64)
    }
}

/// `[remoteproc.health]`: ping through the control service.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Health {
    /// Time between pings.
    pub interval_ms: u64,
    /// How long to wait for the pong.
    pub timeout_ms: u64,
    /// Consecutive failed pings that count as a failure (then restart).
    pub failures: u32,
    /// Firmware address of the control service.
    pub address: u32,
    /// rpmsg control device to create the endpoint on (`rpmsg_ctrlN`);
    /// default: the one below the remote processor in sysfs (indices follow
    /// probe order, so naming one is only for unusual setups).
    pub ctrl_device: Option<String>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            interval_ms: 5000,
            timeout_ms: 1000,
            failures: 3,
            address: amp_control::CONTROL_ADDR,
            ctrl_device: None,
        }
    }
}

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax error, unknown key, wrong type...
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_col(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.daemon.poll_interval_ms == 0 {
            return Err("[daemon] poll_interval_ms must be > 0".into());
        }
        if self.daemon.max_clients == 0 || self.daemon.client_timeout_ms == 0 {
            return Err("[daemon] max_clients and client_timeout_ms must be > 0".into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, r) in self.remoteprocs.iter().enumerate() {
            let what = format!("[[remoteproc]] #{} ({:?})", i + 1, r.name);
            if r.name.is_empty() || r.name.contains('/') {
                return Err(format!(
                    "{what}: name must be a non-empty remoteproc name without '/'"
                ));
            }
            if !names.insert(&r.name) {
                return Err(format!("{what}: the name is listed twice"));
            }
            if r.firmware.is_empty() || r.firmware.starts_with('/') || r.firmware.contains("..") {
                return Err(format!(
                    "{what}: firmware must be a name relative to the firmware directory, like \"rtd-amp/rtd-amp-fw.elf\""
                ));
            }
            if let Some(c) = &r.coredump {
                if !["disabled", "enabled", "inline"].contains(&c.as_str()) {
                    return Err(format!(
                        "{what}: coredump must be disabled, enabled or inline, not {c:?}"
                    ));
                }
            }
            let p = &r.restart;
            if !(p.backoff_factor.is_finite() && p.backoff_factor >= 1.0) {
                return Err(format!(
                    "{what}: restart.backoff_factor must be a number >= 1.0"
                ));
            }
            if p.backoff_initial_ms > p.backoff_max_ms {
                return Err(format!(
                    "{what}: restart.backoff_initial_ms is larger than restart.backoff_max_ms"
                ));
            }
            if let Some(h) = &r.health {
                if h.interval_ms == 0 || h.timeout_ms == 0 || h.failures == 0 {
                    return Err(format!(
                        "{what}: health interval_ms, timeout_ms and failures must be > 0"
                    ));
                }
                if h.timeout_ms >= h.interval_ms {
                    return Err(format!(
                        "{what}: health.timeout_ms must be shorter than health.interval_ms"
                    ));
                }
                if h.address < 1024 {
                    return Err(format!(
                        "{what}: health.address {} is reserved (below 1024)",
                        h.address
                    ));
                }
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn shipped_default_config_parses() {
        let text = include_str!("../rtd-ampd.toml");
        let c = parse(text).unwrap();
        assert_eq!(c.remoteprocs.len(), 1);
        assert_eq!(c.remoteprocs[0].firmware, "rtd-amp/rtd-amp-fw.elf");
        assert!(c.remoteprocs[0].health.is_some());
        // Safe defaults: the socket's limits are on, roles need groups set
        // (the layer's install step sets both, see scripts/install-target).
        assert_eq!(c.daemon.socket, PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(c.daemon.socket_group, None);
        assert_eq!(c.daemon.admin_group, None);
        assert_eq!(c.daemon.max_clients, 16);
        assert_eq!(c.daemon.client_timeout_ms, 5000);
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse("[[remoteproc]]\nname = \"rtd-amp\"\nfirmware = \"x.elf\"\n").unwrap();
        assert_eq!(c.daemon, Daemon::default());
        let r = &c.remoteprocs[0];
        assert!(r.autostart && r.check_firmware && !r.kernel_recovery);
        assert_eq!(r.restart, Restart::default());
        assert_eq!(r.health, None);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let e = parse("[daemon]\nsocket = \"/run/x\"\n\n[[remoteproc]]\nname = \"a\"\nfirmware = \"f\"\n  autostrat = true\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("test.toml:7:3: "), "{e}");
        assert!(e.contains("unknown field `autostrat`"), "{e}");
    }

    #[test]
    fn wrong_type_names_line() {
        let e = parse("[[remoteproc]]\nname = \"a\"\nfirmware = \"f\"\n[remoteproc.restart]\nmax_restarts = \"three\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("test.toml:5:"), "{e}");
        assert!(e.contains("invalid type"), "{e}");
    }

    #[test]
    fn syntax_error_names_line() {
        let e = parse("[daemon\n").unwrap_err().to_string();
        assert!(e.starts_with("test.toml:1:"), "{e}");
    }

    #[test]
    fn semantic_errors() {
        let e = parse("[[remoteproc]]\nname = \"a\"\nfirmware = \"/abs.elf\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("relative to the firmware directory"), "{e}");
        let e = parse("[[remoteproc]]\nname = \"a\"\nfirmware = \"f\"\n[[remoteproc]]\nname = \"a\"\nfirmware = \"g\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        let e = parse("[[remoteproc]]\nname = \"a\"\nfirmware = \"f\"\n[remoteproc.health]\ninterval_ms = 100\ntimeout_ms = 200\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter than"), "{e}");
    }

    #[test]
    fn backoff_grows_and_caps() {
        let r = Restart {
            backoff_initial_ms: 100,
            backoff_factor: 2.0,
            backoff_max_ms: 500,
            ..Restart::default()
        };
        let v: Vec<u64> = (0..5).map(|n| r.backoff(n).as_millis() as u64).collect();
        assert_eq!(v, [100, 200, 400, 500, 500]);
        let r = Restart {
            backoff_factor: 1e300,
            ..Restart::default()
        };
        assert_eq!(r.backoff(60), Duration::from_millis(r.backoff_max_ms));
    }
}

//! Remote processors (`/sys/class/remoteproc/remoteprocN`).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Error, Result, Sys};

/// What `state` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not running.
    Offline,
    /// Suspended.
    Suspended,
    /// Running, booted by Linux.
    Running,
    /// Crashed (recovery pending or disabled).
    Crashed,
    /// Being removed.
    Deleted,
    /// Running, attached to (started by someone else).
    Attached,
    /// Detached from Linux, still running.
    Detached,
    /// The kernel's invalid state.
    Invalid,
}

impl State {
    /// The sysfs word.
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Offline => "offline",
            State::Suspended => "suspended",
            State::Running => "running",
            State::Crashed => "crashed",
            State::Deleted => "deleted",
            State::Attached => "attached",
            State::Detached => "detached",
            State::Invalid => "invalid",
        }
    }

    /// Whether the firmware is executing.
    pub fn is_up(&self) -> bool {
        matches!(self, State::Running | State::Attached)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.trim() {
            "offline" => State::Offline,
            "suspended" => State::Suspended,
            "running" => State::Running,
            "crashed" => State::Crashed,
            "deleted" => State::Deleted,
            "attached" => State::Attached,
            "detached" => State::Detached,
            "invalid" => State::Invalid,
            other => return Err(other.to_string()),
        })
    }
}

/// What the platform device's `core_state` attribute reads
/// (`remoteprocN/device/core_state`, rtd_amp_rproc only): whether CPU3 is
/// powered, which `state` does not say. PSCI cannot power off another
/// core, so a firmware that ignores a stop request leaves the core on while
/// the remoteproc core, whose `.stop` returned 0, shows `offline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CoreState {
    /// PSCI `AFFINITY_INFO` says the core is off.
    Off,
    /// The core is on (a firmware, attached or detached, or anything else).
    On,
    /// A stop request timed out: the core stays on until the next reboot,
    /// and the driver refuses to start or recover it (`-EBUSY`).
    Stuck,
}

impl CoreState {
    /// The sysfs word.
    pub fn as_str(&self) -> &'static str {
        match self {
            CoreState::Off => "off",
            CoreState::On => "on",
            CoreState::Stuck => "stuck",
        }
    }
}

impl fmt::Display for CoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CoreState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.trim() {
            "off" => CoreState::Off,
            "on" => CoreState::On,
            "stuck" => CoreState::Stuck,
            other => return Err(other.to_string()),
        })
    }
}

/// `recovery` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Recovery {
    /// Recover automatically after a crash.
    Enabled,
    /// Stay crashed.
    Disabled,
}

/// `coredump` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Coredump {
    /// No dump.
    Disabled,
    /// Dump copied out before recovery (devcoredump).
    Enabled,
    /// Dump read in place, recovery waits for it.
    Inline,
}

/// One remote processor.
#[derive(Clone, Debug)]
pub struct Remoteproc {
    dir: PathBuf,
    index: u32,
    debug_dir: PathBuf,
    devcd_class: PathBuf,
}

fn read_attr(path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|e| Error::io("read", path, e))
}

fn write_attr(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|e| Error::io("write", path, e))
}

/// Every remote processor, by index.
pub fn list(sys: &Sys) -> Result<Vec<Remoteproc>> {
    let class = sys.remoteproc_class();
    let entries = match fs::read_dir(&class) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("list", class, e)),
    };
    let mut v: Vec<Remoteproc> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let index = name.strip_prefix("remoteproc")?.parse().ok()?;
            Some(Remoteproc {
                dir: class.join(&name),
                index,
                debug_dir: sys.debugfs.join("remoteproc").join(&name),
                devcd_class: sys.sysfs.join("class/devcoredump"),
            })
        })
        .collect();
    v.sort_by_key(|r| r.index);
    Ok(v)
}

impl Remoteproc {
    /// By device name (`remoteproc0`), index (`0`) or the `name` attribute
    /// (`rtd-amp` for ours).
    pub fn find(sys: &Sys, id: &str) -> Result<Self> {
        let all = list(sys)?;
        if let Some(r) = all
            .iter()
            .find(|r| r.device() == id || r.index.to_string() == id)
        {
            return Ok(r.clone());
        }
        for r in &all {
            if r.name().ok().as_deref() == Some(id) {
                return Ok(r.clone());
            }
        }
        Err(Error::NoSuchRemoteproc(id.to_string()))
    }

    /// `remoteprocN`.
    pub fn device(&self) -> String {
        format!("remoteproc{}", self.index)
    }

    /// N.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The sysfs directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The `name` attribute.
    pub fn name(&self) -> Result<String> {
        read_attr(&self.dir.join("name"))
    }

    /// Current state.
    pub fn state(&self) -> Result<State> {
        let p = self.dir.join("state");
        let s = read_attr(&p)?;
        s.parse().map_err(|value| Error::Parse { path: p, value })
    }

    /// Whether the core is powered (`device/core_state`). `None` when the
    /// driver has no such attribute (another remoteproc driver, an older
    /// rtd_amp_rproc): unknown, not an error.
    pub fn core_state(&self) -> Result<Option<CoreState>> {
        let p = self.dir.join("device/core_state");
        let s = match fs::read_to_string(&p) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", p, e)),
        };
        s.trim_end_matches('\n')
            .parse()
            .map(Some)
            .map_err(|value| Error::Parse { path: p, value })
    }

    /// Firmware file name (relative to `/lib/firmware`).
    pub fn firmware(&self) -> Result<String> {
        read_attr(&self.dir.join("firmware"))
    }

    /// Changes the firmware; only while offline.
    pub fn set_firmware(&self, name: &str) -> Result<()> {
        if name.is_empty() || name.contains('\n') {
            return Err(Error::NotFound(format!("invalid firmware name {name:?}")));
        }
        let st = self.state()?;
        if st != State::Offline && st != State::Crashed {
            return Err(Error::WrongState {
                what: "changing the firmware",
                needed: "offline",
                state: st.to_string(),
                hint: "stop it first (`ampctl stop`)",
            });
        }
        write_attr(&self.dir.join("firmware"), name)
    }

    /// Starts the firmware (returns when the kernel accepted the request).
    pub fn start(&self) -> Result<()> {
        let st = self.state()?;
        if st.is_up() {
            return Err(Error::WrongState {
                what: "start",
                needed: "offline",
                state: st.to_string(),
                hint: "it is already running; use restart",
            });
        }
        write_attr(&self.dir.join("state"), "start")
    }

    /// Stops the firmware.
    pub fn stop(&self) -> Result<()> {
        let st = self.state()?;
        if !st.is_up() && st != State::Crashed {
            return Err(Error::WrongState {
                what: "stop",
                needed: "running",
                state: st.to_string(),
                hint: "nothing to stop",
            });
        }
        write_attr(&self.dir.join("state"), "stop")
    }

    /// Detaches Linux from an attached processor, which keeps running
    /// (the kernel's `detach` command; only from `attached`).
    pub fn detach(&self) -> Result<()> {
        let st = self.state()?;
        if st != State::Attached {
            return Err(Error::WrongState {
                what: "detach",
                needed: "attached",
                state: st.to_string(),
                hint: "the kernel only detaches a processor it attached to",
            });
        }
        write_attr(&self.dir.join("state"), "detach")
    }

    /// Polls until the state is `want` or `timeout` passes.
    pub fn wait_for(&self, want: State, timeout: Duration) -> Result<()> {
        let end = Instant::now() + timeout;
        loop {
            // A value the kernel never shows (a half-written file of a test
            // double, a command word) is a transient: keep polling.
            let (now, shown) = match self.state() {
                Ok(st) => (Some(st), st.to_string()),
                Err(Error::Parse { value, .. }) => (None, format!("{value:?}")),
                Err(e) => return Err(e),
            };
            if now == Some(want) {
                return Ok(());
            }
            if Instant::now() >= end {
                return Err(Error::Timeout {
                    what: format!("{} to become {want} (it is {shown})", self.device()),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `recovery`.
    pub fn recovery(&self) -> Result<Recovery> {
        let p = self.dir.join("recovery");
        match read_attr(&p)?.as_str() {
            "enabled" => Ok(Recovery::Enabled),
            "disabled" => Ok(Recovery::Disabled),
            v => Err(Error::Parse {
                path: p,
                value: v.into(),
            }),
        }
    }

    /// Sets `recovery`.
    pub fn set_recovery(&self, r: Recovery) -> Result<()> {
        let v = match r {
            Recovery::Enabled => "enabled",
            Recovery::Disabled => "disabled",
        };
        write_attr(&self.dir.join("recovery"), v)
    }

    /// Asks for a recovery now (the kernel's `recover` command).
    pub fn recover(&self) -> Result<()> {
        write_attr(&self.dir.join("recovery"), "recover")
    }

    /// `coredump`.
    pub fn coredump(&self) -> Result<Coredump> {
        let p = self.dir.join("coredump");
        match read_attr(&p)?.as_str() {
            "disabled" => Ok(Coredump::Disabled),
            "enabled" => Ok(Coredump::Enabled),
            "inline" => Ok(Coredump::Inline),
            v => Err(Error::Parse {
                path: p,
                value: v.into(),
            }),
        }
    }

    /// Sets `coredump`.
    pub fn set_coredump(&self, c: Coredump) -> Result<()> {
        let v = match c {
            Coredump::Disabled => "disabled",
            Coredump::Enabled => "enabled",
            Coredump::Inline => "inline",
        };
        write_attr(&self.dir.join("coredump"), v)
    }

    /// The firmware's trace buffer `n` (debugfs; Linux returns it up to the
    /// first NUL).
    pub fn trace(&self, n: u32) -> Result<Vec<u8>> {
        let p = self.debug_dir.join(format!("trace{n}"));
        fs::read(&p).map_err(|e| Error::io("read", p, e))
    }
}

impl Remoteproc {
    /// Core dumps of this remote processor waiting in devcoredump, oldest
    /// first (the kernel numbers them `devcdN` in creation order): those
    /// whose `failing_device` resolves to the same device as this
    /// remoteproc's directory (canonical paths). A dump without that link,
    /// or whose link does not resolve, is not ours. The kernel makes one on
    /// a crash when `coredump` is `enabled` and drops it by itself after 5
    /// minutes. [`devcoredumps`] lists every dump.
    pub fn coredumps(&self) -> Result<Vec<Devcoredump>> {
        let me = fs::canonicalize(&self.dir).map_err(|e| Error::io("resolve", &self.dir, e))?;
        let mut v = devcoredumps_in(&self.devcd_class)?;
        v.retain(|d| d.failing_device() == Some(me.as_path()));
        Ok(v)
    }
}

/// Every core dump devcoredump holds (`/sys/class/devcoredump/devcdN`),
/// oldest first (by N, as numbers); empty when the class does not exist.
pub fn devcoredumps(sys: &Sys) -> Result<Vec<Devcoredump>> {
    devcoredumps_in(&sys.sysfs.join("class/devcoredump"))
}

fn devcoredumps_in(class: &Path) -> Result<Vec<Devcoredump>> {
    let rd = match fs::read_dir(class) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io("list", class, e)),
    };
    let mut v = vec![];
    for e in rd {
        let e = e.map_err(|e| Error::io("list", class, e))?;
        let name = e.file_name();
        // Only the kernel's names: devcd1, devcd2...
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix("devcd"))
            .filter(|n| !n.starts_with('+'))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let dir = e.path();
        let link = dir.join("failing_device");
        let failing = match fs::read_link(&link) {
            Ok(target) => FailingDevice::Link {
                target,
                resolved: fs::canonicalize(&link).ok(),
            },
            Err(_) => FailingDevice::Missing,
        };
        v.push(Devcoredump {
            dir,
            index,
            failing,
        });
    }
    v.sort_by_key(|d| d.index);
    Ok(v)
}

/// Where a dump's `failing_device` link leads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FailingDevice {
    /// No link (or not one).
    Missing,
    /// The link as written, and the device it resolves to (None: dangling).
    Link {
        target: PathBuf,
        resolved: Option<PathBuf>,
    },
}

/// A core dump held by the kernel's devcoredump (`/sys/class/devcoredump/devcdN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Devcoredump {
    dir: PathBuf,
    index: u64,
    failing: FailingDevice,
}

impl Devcoredump {
    /// The `devcdN` directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// N of `devcdN` (larger is newer).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The device that failed (canonical path of `failing_device`), if the
    /// link exists and resolves.
    pub fn failing_device(&self) -> Option<&Path> {
        match &self.failing {
            FailingDevice::Link {
                resolved: Some(p), ..
            } => Some(p),
            _ => None,
        }
    }
}

/// `devcdN (failing device PATH)`, or what is wrong with the link.
impl std::fmt::Display for Devcoredump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "devcd{} ", self.index)?;
        match &self.failing {
            FailingDevice::Missing => write!(f, "(no failing_device link)"),
            FailingDevice::Link {
                resolved: Some(p), ..
            } => write!(f, "(failing device {})", p.display()),
            FailingDevice::Link {
                target,
                resolved: None,
            } => write!(
                f,
                "(failing_device -> {} does not resolve)",
                target.display()
            ),
        }
    }
}

impl Devcoredump {
    /// Copies the dump (an ELF core file) to `to` and then tells the kernel
    /// to free it. Returns the number of bytes written.
    pub fn save(&self, to: &Path) -> Result<u64> {
        let data = self.dir.join("data");
        let mut src = fs::File::open(&data).map_err(|e| Error::io("open", &data, e))?;
        let mut dst = fs::File::create(to).map_err(|e| Error::io("create", to, e))?;
        let n = std::io::copy(&mut src, &mut dst).map_err(|e| Error::io("copy", &data, e))?;
        dst.sync_all().map_err(|e| Error::io("sync", to, e))?;
        self.dismiss()?;
        Ok(n)
    }

    /// Frees the dump without saving it (any write to `data`).
    pub fn dismiss(&self) -> Result<()> {
        write_attr(&self.dir.join("data"), "1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in [
            "offline",
            "suspended",
            "running",
            "crashed",
            "deleted",
            "attached",
            "detached",
            "invalid",
        ] {
            assert_eq!(s.parse::<State>().unwrap().as_str(), s);
        }
        assert_eq!("running\n".parse::<State>(), Ok(State::Running));
        assert!("booting".parse::<State>().is_err());
    }
}

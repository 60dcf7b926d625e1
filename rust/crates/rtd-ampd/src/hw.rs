//! The daemon's view of the machine, through `amp-host`: remoteproc sysfs,
//! the RPMsg channel list, the firmware check, and a control-service
//! endpoint for health pings.

use amp_host::control::{self, Client};
use amp_host::lifecycle::{Lifecycle, Outcome};
use amp_host::remoteproc::{CoreState, Coredump, Recovery, Remoteproc};
use amp_host::rpmsg::Ctrl;
use amp_host::Sys;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub use amp_host::remoteproc::State as KState;

/// Bound on each lifecycle step (the kernel acts within the write; this
/// only bounds a hung driver).
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HwError {
    /// From amp-host (its message says what to do).
    #[error(transparent)]
    Host(#[from] amp_host::Error),
    /// The firmware check failed: retrying the same file cannot help.
    #[error("firmware check of {path} failed: {source}")]
    Firmware {
        /// The ELF checked.
        path: String,
        /// Why.
        source: amp_host::fwcheck::CheckError,
    },
}

impl HwError {
    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        matches!(self, HwError::Firmware { .. })
    }

    /// Whether a stop left the core on ([`amp_host::Error::CoreStuck`]):
    /// nothing but a reboot helps.
    pub fn is_stuck(&self) -> bool {
        matches!(self, HwError::Host(amp_host::Error::CoreStuck { .. }))
    }
}

/// Access to the remoteprocs and RPMsg devices under a root.
pub struct Hw {
    sys: Sys,
    ping_ep: Mutex<Option<Client>>,
}

impl Hw {
    /// The running system (/sys, /dev).
    pub fn system() -> Hw {
        Hw::with(Sys::system())
    }

    /// A test double rooted at `root` (root/sys, root/dev).
    pub fn under(root: &Path) -> Hw {
        Hw::with(Sys::under(root))
    }

    fn with(sys: Sys) -> Hw {
        Hw {
            sys,
            ping_ep: Mutex::new(None),
        }
    }

    fn rproc(&self, dev: &str) -> Result<Remoteproc, HwError> {
        Ok(Remoteproc::find(&self.sys, dev)?)
    }

    /// Device directory (`remoteproc0`) of a processor named by its `name`
    /// attribute or device.
    pub fn find(&self, name: &str) -> Result<String, HwError> {
        Ok(self.rproc(name)?.device())
    }

    /// Kernel state.
    pub fn state(&self, dev: &str) -> Result<KState, HwError> {
        Ok(self.rproc(dev)?.state()?)
    }

    /// Whether the core is powered (`None`: the driver does not say).
    pub fn core_state(&self, dev: &str) -> Result<Option<CoreState>, HwError> {
        Ok(self.rproc(dev)?.core_state()?)
    }

    /// [`amp_host::Error::CoreStuck`] when an earlier stop left the core
    /// on, before work that would be wasted on it (a firmware check).
    pub fn refuse_if_stuck(&self, dev: &str) -> Result<(), HwError> {
        let r = self.rproc(dev)?;
        Ok(Lifecycle::new(&r).refuse_if_stuck()?)
    }

    /// Boots it through the lifecycle layer: `start` when offline, attach
    /// when detached, `recover` when crashed; nothing when already up.
    pub fn start(&self, dev: &str) -> Result<Outcome, HwError> {
        let r = self.rproc(dev)?;
        self.drop_endpoint();
        Ok(Lifecycle::new(&r).with_timeout(STEP_TIMEOUT).boot()?)
    }

    /// Stops it from any state where it may execute (crashed and detached
    /// included; the lifecycle layer knows how).
    pub fn stop(&self, dev: &str) -> Result<Outcome, HwError> {
        let r = self.rproc(dev)?;
        self.drop_endpoint();
        Ok(Lifecycle::new(&r).with_timeout(STEP_TIMEOUT).shutdown()?)
    }

    /// Attaches Linux to a processor that runs without it (`detached` →
    /// `attached`); nothing when it already executes.
    pub fn attach(&self, dev: &str) -> Result<Outcome, HwError> {
        let r = self.rproc(dev)?;
        self.drop_endpoint();
        Ok(Lifecycle::new(&r).with_timeout(STEP_TIMEOUT).attach()?)
    }

    /// Lets go of an attached processor, which keeps running (`attached`
    /// → `detached`).
    pub fn detach(&self, dev: &str) -> Result<Outcome, HwError> {
        let r = self.rproc(dev)?;
        self.drop_endpoint();
        Ok(Lifecycle::new(&r).with_timeout(STEP_TIMEOUT).detach()?)
    }

    /// Takes over a processor that executes without restarting it
    /// (attaches a detached one); `None` when nothing executes.
    pub fn adopt(&self, dev: &str) -> Result<Option<Outcome>, HwError> {
        let r = self.rproc(dev)?;
        Ok(Lifecycle::new(&r).with_timeout(STEP_TIMEOUT).adopt()?)
    }

    /// The `firmware` attribute (`unknown` while attached).
    pub fn firmware(&self, dev: &str) -> Result<String, HwError> {
        Ok(self.rproc(dev)?.firmware()?)
    }

    /// Kernel crash recovery on or off.
    pub fn set_recovery(&self, dev: &str, on: bool) -> Result<(), HwError> {
        Ok(self.rproc(dev)?.set_recovery(if on {
            Recovery::Enabled
        } else {
            Recovery::Disabled
        })?)
    }

    /// Coredump mode (`disabled`, `enabled`, `inline`).
    pub fn set_coredump(&self, dev: &str, mode: &str) -> Result<(), HwError> {
        let c = match mode {
            "enabled" => Coredump::Enabled,
            "inline" => Coredump::Inline,
            _ => Coredump::Disabled,
        };
        Ok(self.rproc(dev)?.set_coredump(c)?)
    }

    /// Firmware name to load on the next start (only changed when different,
    /// since the kernel refuses it unless offline).
    pub fn set_firmware(&self, dev: &str, firmware: &str) -> Result<(), HwError> {
        let r = self.rproc(dev)?;
        if r.firmware()? != firmware {
            r.set_firmware(firmware)?;
        }
        Ok(())
    }

    /// The file the kernel will load for firmware `name`: its search order
    /// (`firmware_class.path`, then `updates/<release>`, `updates`,
    /// `<release>` and `dir` itself, normally `/lib/firmware`), no `..`.
    pub fn resolve_firmware(&self, name: &str, dir: &Path) -> Result<PathBuf, HwError> {
        let search = amp_host::fwcheck::FirmwareSearch::system(&self.sys, dir);
        amp_host::fwcheck::resolve_firmware(name, &search).map_err(|source| HwError::Firmware {
            path: name.to_string(),
            source,
        })
    }

    /// Checks an ELF against the device tree (`dtb`, default the running
    /// one), and its signature (`sig`) first, as the kernel driver does.
    pub fn check_firmware(
        &self,
        elf: &Path,
        dtb: Option<&Path>,
        sig: &amp_host::fwcheck::SigConfig,
    ) -> Result<(), HwError> {
        amp_host::fwcheck::check_files(elf, dtb, &self.sys, sig)
            .map(|_| ())
            .map_err(|source| HwError::Firmware {
                path: elf.display().to_string(),
                source,
            })
    }

    /// Names of the announced RPMsg channels.
    pub fn channels(&self) -> Vec<String> {
        amp_host::rpmsg::channels(&self.sys)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    fn drop_endpoint(&self) {
        if let Some(ep) = self
            .ping_ep
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = ep.close();
        }
    }

    /// Pings the control service at `addr` of processor `dev` through an
    /// endpoint of the daemon's own, created on first use and kept, on
    /// `ctrl` (`rpmsg_ctrlN`) or, when `None`, on the control device below
    /// the processor in sysfs. Returns the round trip.
    pub fn ping(
        &self,
        dev: &str,
        ctrl: Option<&str>,
        addr: u32,
        timeout: Duration,
    ) -> Result<Duration, HwError> {
        let mut guard = self.ping_ep.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let c = match ctrl {
                Some(name) => Ctrl::open(&self.sys, control::parse_ctrl_name(name)?)?,
                None => control::open_ctrl_of(&self.sys, &self.rproc(dev)?)?,
            };
            *guard = Some(Client::open(&c, "rtd-ampd", addr, timeout)?);
        }
        let result = guard
            .as_mut()
            .expect("client just opened")
            .ping(timeout)
            .map_err(HwError::from);
        if result.is_err() {
            if let Some(c) = guard.take() {
                let _ = c.close();
            }
        }
        result
    }
}

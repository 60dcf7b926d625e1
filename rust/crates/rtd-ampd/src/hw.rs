//! The daemon's view of the machine, through `amp-host`: remoteproc sysfs,
//! the RPMsg channel list, the firmware check, and a control-service
//! endpoint for health pings.

use amp_control::{Request, Response, MAX_MESSAGE_LEN};
use amp_host::lifecycle::{Lifecycle, Outcome};
use amp_host::remoteproc::{Coredump, Recovery, Remoteproc};
use amp_host::rpmsg::{Ctrl, Endpoint, ADDR_ANY};
use amp_host::Sys;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// The control service answered something unexpected.
    #[error("control service: {0}")]
    Protocol(String),
}

impl HwError {
    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        matches!(self, HwError::Firmware { .. })
    }
}

/// Access to the remoteprocs and RPMsg devices under a root.
pub struct Hw {
    sys: Sys,
    ping_ep: Mutex<Option<Endpoint>>,
    tag: Mutex<u32>,
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
            tag: Mutex::new(0),
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
            let _ = ep.destroy();
        }
    }

    /// Pings the control service at `addr` through an endpoint on `ctrl`
    /// (`rpmsg_ctrl0`), created on first use and kept. Returns the round trip.
    pub fn ping(&self, ctrl: &str, addr: u32, timeout: Duration) -> Result<Duration, HwError> {
        let mut guard = self.ping_ep.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let index = ctrl
                .trim_start_matches("/dev/")
                .trim_start_matches("rpmsg_ctrl")
                .parse()
                .unwrap_or(0);
            let c = Ctrl::open(&self.sys, index)?;
            let path = c.create_endpoint("rtd-ampd", ADDR_ANY, addr, timeout)?;
            *guard = Some(Endpoint::open(&path)?);
        }
        let tag = {
            let mut t = self.tag.lock().unwrap_or_else(|e| e.into_inner());
            *t = t.wrapping_add(1);
            *t
        };
        let result = ping_once(guard.as_mut().expect("endpoint just opened"), tag, timeout);
        if result.is_err() {
            if let Some(ep) = guard.take() {
                let _ = ep.destroy();
            }
        }
        result
    }
}

fn ping_once(ep: &mut Endpoint, tag: u32, timeout: Duration) -> Result<Duration, HwError> {
    let nonce = u64::from(tag) ^ 0x5254_4441_4d50_0000;
    let mut buf = [0u8; 512];
    let n = Request::Ping { nonce }
        .encode(tag, &mut buf[..MAX_MESSAGE_LEN])
        .map_err(|e| HwError::Protocol(e.to_string()))?;
    let start = Instant::now();
    ep.send(&buf[..n])?;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        let got = ep.recv(&mut buf, Some(left))?;
        match Response::decode(&buf[..got]) {
            Ok((t, Response::Pong { nonce: v })) if t == tag && v == nonce => {
                return Ok(start.elapsed())
            }
            Ok((t, Response::Error { code, .. })) if t == tag => {
                return Err(HwError::Protocol(format!(
                    "ping answered with error: {code}"
                )))
            }
            // A stale answer to an earlier ping: keep waiting.
            _ => continue,
        }
    }
}

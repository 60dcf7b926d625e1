//! The supervision loop: starts the configured processors, polls their
//! kernel state, pings their control service, applies the restart policy and
//! serves control-socket commands. One thread owns all the state; the socket
//! threads talk to it through a channel.

use crate::config::{Config, RestartMode};
use crate::hw::{Hw, HwError, KState};
use crate::protocol::{Event, Phase, ProcStatus, Reply, Request};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// Events kept per processor.
const HISTORY: usize = 32;
/// How long a start may stay `offline` before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages to the supervisor thread.
pub enum Msg {
    /// A control-socket request and where to send the reply.
    Command(Request, Sender<Reply>),
    /// Stop everything that was started and return.
    Shutdown,
}

struct Proc {
    cfg: crate::config::Remoteproc,
    device: Option<String>,
    kstate: Option<String>,
    /// The driver's `core_state` (`None`: it has none, or unreadable).
    core_state: Option<String>,
    phase: Phase,
    /// Whether the daemon wants it running.
    wanted: bool,
    since: Instant,
    restart_at: Option<Instant>,
    restarts: u32,
    total_restarts: u32,
    health_failures: u32,
    next_ping: Option<Instant>,
    last_ping_us: Option<u64>,
    last_error: Option<String>,
    channels_checked: bool,
    events: VecDeque<Event>,
}

/// The supervisor state.
pub struct Supervisor {
    config: Config,
    hw: Hw,
    procs: Vec<Proc>,
    epoch: Instant,
    /// Called after the first start round (sd_notify READY=1) and on every
    /// loop turn (WATCHDOG=1); see [`Notifier`].
    notifier: Box<dyn Notifier>,
}

/// Service-manager notifications.
pub trait Notifier: Send {
    /// Boot-time starts are done.
    fn ready(&mut self, status: &str);
    /// The loop is alive.
    fn watchdog(&mut self);
    /// Shutting down.
    fn stopping(&mut self);
}

/// A notifier that does nothing.
pub struct NoNotify;

impl Notifier for NoNotify {
    fn ready(&mut self, _: &str) {}
    fn watchdog(&mut self) {}
    fn stopping(&mut self) {}
}

impl Supervisor {
    /// Builds the supervisor; nothing is touched until [`Supervisor::run`].
    pub fn new(config: Config, hw: Hw, notifier: Box<dyn Notifier>) -> Supervisor {
        let now = Instant::now();
        let procs = config
            .remoteprocs
            .iter()
            .map(|cfg| Proc {
                cfg: cfg.clone(),
                device: None,
                kstate: None,
                core_state: None,
                phase: Phase::Stopped,
                wanted: false,
                since: now,
                restart_at: None,
                restarts: 0,
                total_restarts: 0,
                health_failures: 0,
                next_ping: None,
                last_ping_us: None,
                last_error: None,
                channels_checked: false,
                events: VecDeque::new(),
            })
            .collect();
        Supervisor {
            config,
            hw,
            procs,
            epoch: now,
            notifier,
        }
    }

    /// Runs until [`Msg::Shutdown`] arrives (or every sender is gone), then
    /// stops the processors it runs.
    pub fn run(mut self, rx: Receiver<Msg>) {
        for i in 0..self.procs.len() {
            self.refresh(i);
            if self.procs[i].cfg.autostart {
                self.procs[i].wanted = true;
                if !self.adopt(i) {
                    self.start(i, "autostart");
                }
            }
        }
        let summary = self.summary();
        info!(%summary, "boot-time starts done");
        self.notifier.ready(&summary);
        let poll = Duration::from_millis(self.config.daemon.poll_interval_ms);
        loop {
            let timeout = self.next_wakeup(poll);
            match rx.recv_timeout(timeout) {
                Ok(Msg::Command(req, reply)) => {
                    let r = self.command(req);
                    let _ = reply.send(r);
                }
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.tick();
            self.notifier.watchdog();
        }
        self.notifier.stopping();
        self.shutdown();
    }

    fn next_wakeup(&self, poll: Duration) -> Duration {
        let now = Instant::now();
        let mut t = poll;
        for p in &self.procs {
            for at in [p.restart_at, p.next_ping].into_iter().flatten() {
                t = t.min(at.saturating_duration_since(now));
            }
        }
        t
    }

    fn summary(&self) -> String {
        self.procs
            .iter()
            .map(|p| format!("{}: {}", p.cfg.name, p.phase))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn event(&mut self, i: usize, kind: &str, backoff: Option<Duration>, detail: String) {
        let at_ms = self.epoch.elapsed().as_millis() as u64;
        let p = &mut self.procs[i];
        if p.events.len() == HISTORY {
            p.events.pop_front();
        }
        p.events.push_back(Event {
            at_ms,
            kind: kind.to_owned(),
            backoff_ms: backoff.map(|d| d.as_millis() as u64),
            detail,
        });
    }

    /// Re-reads device and kernel state. Returns the parsed state.
    fn refresh(&mut self, i: usize) -> Option<KState> {
        let name = self.procs[i].cfg.name.clone();
        match self.hw.find(&name) {
            Ok(dev) => {
                let st = self.hw.state(&dev);
                let core = self.hw.core_state(&dev);
                let p = &mut self.procs[i];
                p.device = Some(dev);
                p.core_state = core.ok().flatten().map(|c| c.to_string());
                match st {
                    Ok(s) => {
                        p.kstate = Some(s.to_string());
                        Some(s)
                    }
                    Err(e) => {
                        p.kstate = None;
                        p.last_error = Some(e.to_string());
                        None
                    }
                }
            }
            Err(e) => {
                let p = &mut self.procs[i];
                p.device = None;
                p.kstate = None;
                p.core_state = None;
                if p.phase != Phase::Absent {
                    warn!(remoteproc = %name, error = %e, "remoteproc not found");
                    p.last_error = Some(e.to_string());
                    p.phase = Phase::Absent;
                }
                None
            }
        }
    }

    fn set_phase(&mut self, i: usize, phase: Phase) {
        let p = &mut self.procs[i];
        if p.phase != phase {
            p.phase = phase;
            p.since = Instant::now();
        }
    }

    /// Starts processor `i` (stopping it first if it runs).
    fn start(&mut self, i: usize, why: &str) {
        let name = self.procs[i].cfg.name.clone();
        match self.try_start(i) {
            Ok(()) => {
                info!(remoteproc = %name, reason = why, "started");
                self.procs[i].restart_at = None;
                self.begin_serving(i);
                self.event(i, "started", None, why.to_owned());
            }
            Err(e) if e.is_stuck() => self.stuck(i, &e),
            Err(e) => {
                error!(remoteproc = %name, error = %e, "start failed");
                self.procs[i].last_error = Some(e.to_string());
                self.event(i, "start-failed", None, e.to_string());
                if e.is_permanent() {
                    // Retrying the same firmware cannot help.
                    self.set_phase(i, Phase::Failed);
                    self.event(
                        i,
                        "gave-up",
                        None,
                        "the firmware check failed; fix the firmware or the config, then `ampctl start`".into(),
                    );
                } else {
                    self.failure(i, "start-failed");
                }
            }
        }
    }

    /// A stop left the core on (now, or before this start, recovery or
    /// attach): only a reboot helps, so processor `i` fails for good
    /// (phase `failed`, event `stuck`, no restart scheduled) until an
    /// explicit start, which the lifecycle layer refuses the same way.
    fn stuck(&mut self, i: usize, e: &HwError) {
        error!(remoteproc = %self.procs[i].cfg.name, error = %e, "core stuck on after a stop: reboot needed");
        let p = &mut self.procs[i];
        p.restart_at = None;
        p.next_ping = None;
        self.refresh(i);
        self.procs[i].last_error = Some(e.to_string());
        self.set_phase(i, Phase::Failed);
        self.event(i, "stuck", None, e.to_string());
    }

    /// [`stuck`](Self::stuck) when `e` says the core stayed on.
    fn fail_if_stuck(&mut self, i: usize, e: &HwError) {
        if e.is_stuck() {
            self.stuck(i, e);
        }
    }

    /// At daemon start: takes over a processor that already executes the
    /// configured firmware (a previous daemon's, or one Linux attached to)
    /// without restarting it. Returns whether it did.
    fn adopt(&mut self, i: usize) -> bool {
        let cfg = self.procs[i].cfg.clone();
        let Ok(dev) = self.hw.find(&cfg.name) else {
            return false;
        };
        let Ok(state) = self.hw.state(&dev) else {
            return false;
        };
        // Running another firmware than the configured one: the config
        // changed, so the configured one is started (a restart). Attached
        // or detached: Linux did not load it and the kernel shows the name
        // `unknown` (remoteproc_sysfs.c firmware_show), so it is adopted.
        if state == KState::Running {
            match self.hw.firmware(&dev) {
                Ok(fw) if fw == cfg.firmware => {}
                Ok(fw) => {
                    info!(remoteproc = %cfg.name, running = %fw, configured = %cfg.firmware, "running another firmware: restarting with the configured one");
                    return false;
                }
                Err(_) => return false,
            }
        }
        let outcome = match self.hw.adopt(&dev) {
            Ok(Some(o)) => o,
            Ok(None) => return false,
            Err(e) => {
                warn!(remoteproc = %cfg.name, error = %e, "could not adopt; starting it");
                return false;
            }
        };
        // Settings only: neither write disturbs a running core.
        if let Err(e) = self.apply_settings(&dev, &cfg) {
            warn!(remoteproc = %cfg.name, error = %e, "settings not applied to the adopted processor");
            self.procs[i].last_error = Some(e.to_string());
        }
        let detail = format!("{state}: {}", outcome.as_str());
        info!(remoteproc = %cfg.name, %detail, "adopted the running firmware");
        self.procs[i].device = Some(dev);
        self.begin_serving(i);
        self.event(i, "adopted", None, detail);
        true
    }

    /// Processor `i` now runs a firmware this daemon serves (started or
    /// adopted): its channels are to be checked again, its health count
    /// starts from zero and its first health ping is one interval away.
    fn begin_serving(&mut self, i: usize) {
        let p = &mut self.procs[i];
        p.channels_checked = false;
        p.health_failures = 0;
        p.next_ping = p
            .cfg
            .health
            .as_ref()
            .map(|h| Instant::now() + Duration::from_millis(h.interval_ms));
        self.set_phase(i, Phase::Starting);
    }

    fn apply_settings(&self, dev: &str, cfg: &crate::config::Remoteproc) -> Result<(), HwError> {
        self.hw.set_recovery(dev, cfg.kernel_recovery)?;
        if let Some(mode) = &cfg.coredump {
            self.hw.set_coredump(dev, mode)?;
        }
        Ok(())
    }

    fn try_start(&mut self, i: usize) -> Result<(), HwError> {
        let cfg = self.procs[i].cfg.clone();
        let dev = self.hw.find(&cfg.name)?;
        self.procs[i].device = Some(dev.clone());
        // Before the firmware check: its verdict would hide the reason.
        self.hw.refuse_if_stuck(&dev)?;
        let state = self.hw.state(&dev)?;
        if state.is_up() {
            self.hw.stop(&dev)?;
        }
        self.apply_settings(&dev, &cfg)?;
        if cfg.check_firmware {
            // The file the kernel loads, not firmware_dir.join(name): an
            // absolute name would replace the directory there.
            let path = self
                .hw
                .resolve_firmware(&cfg.firmware, &self.config.daemon.firmware_dir)?;
            // The signature as the kernel finds it: NAME.p7s, same search.
            let fw = &self.config.firmware;
            let sig = amp_host::fwcheck::SigConfig {
                certs: fw
                    .signing_certs
                    .clone()
                    .unwrap_or_else(|| amp_host::fwsig::default_certs(std::path::Path::new("/"))),
                require: fw.require_signature,
                sig: self
                    .hw
                    .resolve_firmware(
                        &format!("{}{}", cfg.firmware, amp_host::fwsig::SIG_SUFFIX),
                        &self.config.daemon.firmware_dir,
                    )
                    .ok(),
            };
            self.hw
                .check_firmware(&path, self.config.daemon.dtb.as_deref(), &sig)?;
        }
        self.hw.set_firmware(&dev, &cfg.firmware)?;
        self.hw.start(&dev)?;
        Ok(())
    }

    fn stop(&mut self, i: usize, why: &str) -> Result<(), HwError> {
        let p = &mut self.procs[i];
        p.wanted = false;
        p.restart_at = None;
        p.next_ping = None;
        let name = p.cfg.name.clone();
        let dev = self.hw.find(&name)?;
        self.hw
            .stop(&dev)
            .inspect_err(|e| self.fail_if_stuck(i, e))?;
        info!(remoteproc = %name, reason = why, "stopped");
        self.set_phase(i, Phase::Stopped);
        self.event(i, "stopped", None, why.to_owned());
        Ok(())
    }

    /// Attaches Linux to the processor running without it and supervises
    /// it from now on (restart count reset, channels checked again).
    fn attach(&mut self, i: usize) -> Result<(), HwError> {
        let cfg = self.procs[i].cfg.clone();
        let dev = self.hw.find(&cfg.name)?;
        self.procs[i].device = Some(dev.clone());
        let outcome = self
            .hw
            .attach(&dev)
            .inspect_err(|e| self.fail_if_stuck(i, e))?;
        // Settings only: neither write disturbs a running core.
        if let Err(e) = self.apply_settings(&dev, &cfg) {
            warn!(remoteproc = %cfg.name, error = %e, "settings not applied to the attached processor");
        }
        info!(remoteproc = %cfg.name, outcome = outcome.as_str(), "attach requested over the control socket");
        let p = &mut self.procs[i];
        p.wanted = true;
        p.restarts = 0;
        p.restart_at = None;
        p.last_error = None;
        self.refresh(i);
        self.begin_serving(i);
        self.event(i, "attached", None, outcome.as_str().to_owned());
        Ok(())
    }

    /// Lets go of the attached processor, which keeps running, and stops
    /// supervising it (nothing restarts a core Linux does not own).
    fn detach(&mut self, i: usize) -> Result<(), HwError> {
        let name = self.procs[i].cfg.name.clone();
        let dev = self.hw.find(&name)?;
        let outcome = self.hw.detach(&dev)?;
        let p = &mut self.procs[i];
        p.wanted = false;
        p.restart_at = None;
        p.next_ping = None;
        info!(remoteproc = %name, outcome = outcome.as_str(), "detached on request");
        self.refresh(i);
        self.set_phase(i, Phase::Detached);
        self.event(i, "detached", None, outcome.as_str().to_owned());
        Ok(())
    }

    /// Something went wrong with a processor the daemon wants running:
    /// schedule a restart within policy, or give up.
    fn failure(&mut self, i: usize, kind: &str) {
        let name = self.procs[i].cfg.name.clone();
        let policy = self.procs[i].cfg.restart.clone();
        let restarts = self.procs[i].restarts;
        if policy.mode == RestartMode::Never || restarts >= policy.max_restarts {
            let why = if policy.mode == RestartMode::Never {
                "restart mode is never".to_owned()
            } else {
                format!(
                    "{restarts} restarts done, max_restarts = {}",
                    policy.max_restarts
                )
            };
            error!(remoteproc = %name, failure = kind, "giving up: {why}");
            self.procs[i].restart_at = None;
            self.procs[i].next_ping = None;
            self.set_phase(i, Phase::Failed);
            self.event(i, "gave-up", None, why);
            return;
        }
        let delay = policy.backoff(restarts);
        warn!(remoteproc = %name, failure = kind, backoff_ms = delay.as_millis() as u64, restart = restarts + 1, "restart scheduled");
        let p = &mut self.procs[i];
        p.restarts += 1;
        p.total_restarts += 1;
        p.restart_at = Some(Instant::now() + delay);
        p.next_ping = None;
        self.set_phase(i, Phase::Backoff);
        self.event(i, "restart-scheduled", Some(delay), kind.to_owned());
    }

    fn tick(&mut self) {
        for i in 0..self.procs.len() {
            self.tick_one(i);
        }
    }

    fn tick_one(&mut self, i: usize) {
        let was_absent = self.procs[i].phase == Phase::Absent;
        let state = self.refresh(i);
        let now = Instant::now();
        if self.procs[i].device.is_none() {
            return;
        }
        if was_absent {
            info!(remoteproc = %self.procs[i].cfg.name, "remoteproc appeared");
            self.set_phase(i, Phase::Stopped);
            if self.procs[i].wanted {
                self.start(i, "device appeared");
            }
            return;
        }
        let Some(state) = state else { return };
        match self.procs[i].phase {
            Phase::Stopped | Phase::Failed | Phase::Absent | Phase::Detached => {}
            Phase::Backoff => {
                if self.procs[i].restart_at.is_some_and(|t| now >= t) {
                    self.start(i, "restart");
                }
            }
            Phase::Starting => match state {
                KState::Running | KState::Attached => self.came_up(i, now),
                KState::Crashed => {
                    self.event(i, "crashed", None, "crashed while starting".into());
                    self.failure(i, "crashed");
                }
                _ if now.duration_since(self.procs[i].since) > START_TIMEOUT => {
                    self.event(
                        i,
                        "start-failed",
                        None,
                        format!("still {state} after the start"),
                    );
                    self.failure(i, "start-timeout");
                }
                _ => {}
            },
            Phase::Running => self.tick_running(i, state, now),
        }
    }

    /// Running after a start: supervised once its channels are there.
    fn came_up(&mut self, i: usize, now: Instant) {
        if self.channels_ready(i, now) {
            self.set_phase(i, Phase::Running);
        }
    }

    /// Whether the expected channels are there (or the wait timed out).
    fn channels_ready(&mut self, i: usize, now: Instant) -> bool {
        if self.procs[i].channels_checked || self.procs[i].cfg.expected_channels.is_empty() {
            return true;
        }
        let present = self.hw.channels();
        let missing: Vec<String> = self.procs[i]
            .cfg
            .expected_channels
            .iter()
            .filter(|c| !present.contains(c))
            .cloned()
            .collect();
        if missing.is_empty() {
            self.procs[i].channels_checked = true;
            return true;
        }
        let waited = now.duration_since(self.procs[i].since);
        if waited >= Duration::from_millis(self.procs[i].cfg.channel_timeout_ms) {
            let detail = format!("not announced: {}", missing.join(", "));
            warn!(remoteproc = %self.procs[i].cfg.name, "expected channels {detail}");
            self.procs[i].last_error = Some(format!("expected channels {detail}"));
            self.event(i, "channels-missing", None, detail);
            self.procs[i].channels_checked = true;
            return true;
        }
        false
    }

    fn tick_running(&mut self, i: usize, state: KState, now: Instant) {
        match state {
            KState::Running | KState::Attached => {}
            KState::Crashed if self.procs[i].cfg.kernel_recovery => {
                // The kernel recovers it; note it once per crash.
                if self.procs[i]
                    .events
                    .back()
                    .is_none_or(|e| e.kind != "crashed")
                {
                    self.event(i, "crashed", None, "kernel recovery is on".into());
                }
                return;
            }
            KState::Crashed => {
                warn!(remoteproc = %self.procs[i].cfg.name, "crashed");
                self.procs[i].last_error = Some("remote processor crashed".into());
                self.event(i, "crashed", None, String::new());
                self.failure(i, "crashed");
                return;
            }
            other => {
                warn!(remoteproc = %self.procs[i].cfg.name, state = %other, "stopped behind the daemon's back");
                self.procs[i].last_error = Some(format!("kernel state became {other}"));
                self.event(i, "unexpected-stop", None, other.to_string());
                self.failure(i, "unexpected-stop");
                return;
            }
        }
        // Stable long enough: forget earlier restarts.
        let p = &mut self.procs[i];
        if p.restarts > 0
            && now.duration_since(p.since) >= Duration::from_millis(p.cfg.restart.reset_after_ms)
        {
            info!(remoteproc = %p.cfg.name, "running stably again, restart count reset");
            p.restarts = 0;
        }
        self.health(i, now);
    }

    fn health(&mut self, i: usize, now: Instant) {
        let Some(h) = self.procs[i].cfg.health.clone() else {
            return;
        };
        if self.procs[i].next_ping.is_none_or(|t| now < t) {
            return;
        }
        self.procs[i].next_ping = Some(now + Duration::from_millis(h.interval_ms));
        let dev = self.procs[i].device.clone().unwrap_or_default();
        match self.hw.ping(
            &dev,
            h.ctrl_device.as_deref(),
            h.address,
            Duration::from_millis(h.timeout_ms),
        ) {
            Ok(rtt) => {
                let p = &mut self.procs[i];
                p.health_failures = 0;
                p.last_ping_us = Some(rtt.as_micros() as u64);
            }
            Err(e) => {
                let p = &mut self.procs[i];
                p.health_failures += 1;
                p.last_error = Some(format!("health ping: {e}"));
                warn!(remoteproc = %p.cfg.name, failures = p.health_failures, error = %e, "health ping failed");
                if p.health_failures >= h.failures {
                    let detail = format!("{} pings failed: {e}", p.health_failures);
                    self.event(i, "health-failed", None, detail);
                    self.failure(i, "health-failed");
                }
            }
        }
    }

    fn index(&self, name: &str) -> Result<usize, String> {
        self.procs
            .iter()
            .position(|p| p.cfg.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.procs.iter().map(|p| p.cfg.name.as_str()).collect();
                format!(
                    "{name:?} is not in the daemon's config (configured: {})",
                    known.join(", ")
                )
            })
    }

    fn command(&mut self, req: Request) -> Reply {
        match req {
            Request::Status { name } => match name {
                None => Reply::ok((0..self.procs.len()).map(|i| self.status(i)).collect()),
                Some(n) => match self.index(&n) {
                    Ok(i) => Reply::ok(vec![self.status(i)]),
                    Err(e) => Reply::error(e),
                },
            },
            Request::Start { name } | Request::Restart { name } => {
                let i = match self.index(&name) {
                    Ok(i) => i,
                    Err(e) => return Reply::error(e),
                };
                info!(remoteproc = %name, "start requested over the control socket");
                let p = &mut self.procs[i];
                p.wanted = true;
                p.restarts = 0;
                p.last_error = None;
                self.refresh(i);
                self.start(i, "requested");
                match self.procs[i].phase {
                    Phase::Starting | Phase::Running => Reply::ok(vec![self.status(i)]),
                    _ => Reply::error(format!(
                        "could not start {name}: {}",
                        self.procs[i].last_error.clone().unwrap_or_default()
                    )),
                }
            }
            Request::Stop { name } => {
                let i = match self.index(&name) {
                    Ok(i) => i,
                    Err(e) => return Reply::error(e),
                };
                match self.stop(i, "requested") {
                    Ok(()) => Reply::ok(vec![self.status(i)]),
                    Err(e) => Reply::error(format!("could not stop {name}: {e}")),
                }
            }
            Request::Attach { name } => {
                let i = match self.index(&name) {
                    Ok(i) => i,
                    Err(e) => return Reply::error(e),
                };
                match self.attach(i) {
                    Ok(()) => Reply::ok(vec![self.status(i)]),
                    Err(e) => Reply::error(format!("could not attach {name}: {e}")),
                }
            }
            Request::Detach { name } => {
                let i = match self.index(&name) {
                    Ok(i) => i,
                    Err(e) => return Reply::error(e),
                };
                match self.detach(i) {
                    Ok(()) => Reply::ok(vec![self.status(i)]),
                    Err(e) => Reply::error(format!("could not detach {name}: {e}")),
                }
            }
        }
    }

    fn status(&self, i: usize) -> ProcStatus {
        let p = &self.procs[i];
        ProcStatus {
            name: p.cfg.name.clone(),
            device: p.device.clone(),
            firmware: p.cfg.firmware.clone(),
            kernel_state: p.kstate.clone(),
            core_state: p.core_state.clone(),
            phase: p.phase,
            restarts: p.restarts,
            total_restarts: p.total_restarts,
            max_restarts: p.cfg.restart.max_restarts,
            next_restart_in_ms: p
                .restart_at
                .map(|t| t.saturating_duration_since(Instant::now()).as_millis() as u64),
            health_failures: p.health_failures,
            last_ping_us: p.last_ping_us,
            last_error: p.last_error.clone(),
            events: p.events.iter().cloned().collect(),
        }
    }

    /// At exit: stops the processors whose `stop_on_exit` is set; the
    /// others keep running for the next daemon to adopt.
    fn shutdown(&mut self) {
        for i in 0..self.procs.len() {
            if !matches!(
                self.procs[i].phase,
                Phase::Starting | Phase::Running | Phase::Backoff
            ) {
                continue;
            }
            if !self.procs[i].cfg.stop_on_exit {
                info!(remoteproc = %self.procs[i].cfg.name, "left running (stop_on_exit = false)");
                continue;
            }
            if let Err(e) = self.stop(i, "daemon shutdown") {
                error!(remoteproc = %self.procs[i].cfg.name, error = %e, "stop at shutdown failed");
            }
        }
        info!("daemon shutdown done");
    }
}

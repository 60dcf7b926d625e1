//! `ampctl deploy FILE`: check a firmware as the kernel will, install it
//! under `/lib/firmware/updates/` atomically (amp_host::fwinstall),
//! restart the processor through rtd-ampd (or the lifecycle layer with
//! `--direct` or without a daemon), health-check it (its channels
//! announced, a control ping answered, within `--timeout-ms`), and roll
//! back to the previous firmware when it fails. docs/daemon-cli.md,
//! "Deploying a firmware".

use crate::cli::{Json, SigArgs, Target};
use crate::Ctx;
use amp_host::control::{self, Client};
use amp_host::fwcheck::{self, FirmwareSearch, SigConfig};
use amp_host::fwinstall::{self, Deployed, Staged};
use amp_host::fwsig;
use amp_host::lifecycle::Lifecycle;
use amp_host::remoteproc::{Remoteproc, State};
use clap::Args;
use rtd_ampd_protocol::Request as DaemonRequest;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Exit status: the new firmware serves.
pub const EXIT_DEPLOYED: u8 = 0;
/// Exit status: something failed before anything changed (no processor,
/// no daemon answer...).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: the file was refused by the check; nothing changed.
pub const EXIT_REFUSED: u8 = 3;
/// Exit status: the new firmware failed; the previous one serves again.
pub const EXIT_ROLLED_BACK: u8 = 4;
/// Exit status: the new firmware failed and so did the rollback: the
/// processor needs attention.
pub const EXIT_ROLLBACK_FAILED: u8 = 5;

/// `ampctl deploy` arguments.
#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// Firmware ELF to deploy (its signature: FILE.p7s, or --sig).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub target: Target,
    /// Firmware name to install it as, below /lib/firmware/updates/
    /// (default: the daemon's configured firmware, else the processor's
    /// current one).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub sig: SigArgs,
    /// Health check: how long the new firmware has to announce its
    /// channels and answer a control ping, milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub timeout_ms: u64,
    /// A channel the new firmware must announce; repeatable (default: the
    /// ones the running firmware announced, else rtd-amp-ctrl).
    #[arg(long = "expect-channel", value_name = "NAME")]
    pub channels: Vec<String>,
    /// Restart through the lifecycle layer even when rtd-ampd runs.
    #[arg(long)]
    pub direct: bool,
    #[command(flatten)]
    pub json: Json,
}

/// An exit status whose report was printed already.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "deploy exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// One step of the deployment.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Step {
    /// `check`, `install`, `restart`, `health`, `restore`,
    /// `restart-previous`, `health-previous`.
    pub step: &'static str,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened.
    pub detail: String,
    /// How long it took.
    pub ms: u64,
}

/// What `ampctl deploy` did (`--json`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `deployed`, `refused`, `rolled-back`, `rollback-failed`, `error`.
    pub result: &'static str,
    /// The exit status.
    pub exit_code: u8,
    /// The file deployed.
    pub file: PathBuf,
    /// The firmware name it was installed as.
    pub name: Option<String>,
    /// Where it was installed.
    pub installed: Option<PathBuf>,
    /// What the rollback restores: `updates/NAME.prev`, or the file the
    /// kernel finds once ours is removed.
    pub previous: Option<PathBuf>,
    /// `daemon` (rtd-ampd restarted it) or `direct`.
    pub restart_via: Option<&'static str>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The error that ended it.
    pub error: Option<String>,
}

/// What tells whether a firmware serves: the kernel state, the announced
/// channels, a control ping.
pub trait Probe {
    /// The processor's kernel state.
    fn state(&mut self) -> anyhow::Result<State>;
    /// Names of the announced RPMsg channels.
    fn channels(&mut self) -> Vec<String>;
    /// One control-service ping.
    fn ping(&mut self, timeout: Duration) -> anyhow::Result<Duration>;
}

/// The system: sysfs and the firmware's control service.
pub struct SysProbe<'a> {
    ctx: &'a Ctx,
    r: &'a Remoteproc,
}

impl Probe for SysProbe<'_> {
    fn state(&mut self) -> anyhow::Result<State> {
        Ok(self.r.state()?)
    }

    fn channels(&mut self) -> Vec<String> {
        amp_host::rpmsg::channels(&self.ctx.sys)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    fn ping(&mut self, timeout: Duration) -> anyhow::Result<Duration> {
        let ctrl = control::open_ctrl_of(&self.ctx.sys, self.r)?;
        let mut c = Client::open(&ctrl, "ampctl-deploy", amp_control::CONTROL_ADDR, timeout)?;
        let r = c.ping(timeout);
        let _ = c.close();
        Ok(r?)
    }
}

/// `ampctl deploy`: runs it, prints the report, returns its exit status
/// as an [`Exit`] error when it is not 0.
pub fn run_cli(ctx: &Ctx, args: DeployArgs) -> anyhow::Result<()> {
    let r = crate::resolve(ctx, &args.target)?;
    let mut probe = SysProbe { ctx, r: &r };
    let mut err = std::io::stderr();
    let report = deploy(ctx, &r, &args, &mut probe, &mut err);
    if args.json.json {
        crate::print_json(&report)?;
    } else {
        println!("{}", summary(&report));
    }
    match report.exit_code {
        0 => Ok(()),
        c => Err(Exit(c).into()),
    }
}

/// One line saying what happened.
pub fn summary(r: &Report) -> String {
    let name = r.name.as_deref().unwrap_or("?");
    let why = r.error.as_deref().unwrap_or("");
    match r.result {
        "deployed" => format!(
            "deployed {} as {name}: it serves (installed at {})",
            r.file.display(),
            r.installed.as_deref().unwrap_or(Path::new("?")).display()
        ),
        "refused" => format!(
            "refused {}: {why}; nothing changed",
            r.file.display()
        ),
        "rolled-back" => format!(
            "rolled back: {} failed ({why}); the previous {name} serves again",
            r.file.display()
        ),
        "rollback-failed" => format!(
            "ROLLBACK FAILED: {} failed and the previous {name} does not serve either ({why}); see `ampctl status` and `dmesg`",
            r.file.display()
        ),
        _ => format!("deploy of {} failed: {why}; nothing changed", r.file.display()),
    }
}

struct Run<'a> {
    report: Report,
    out: &'a mut dyn Write,
    total: usize,
}

impl Run<'_> {
    /// Announces step `n`, runs it, records and prints its outcome.
    fn step<T>(
        &mut self,
        n: usize,
        step: &'static str,
        what: &str,
        f: impl FnOnce() -> anyhow::Result<(T, String)>,
    ) -> Option<T> {
        let _ = write!(self.out, "deploy [{n}/{}] {what} ... ", self.total);
        let _ = self.out.flush();
        let t = Instant::now();
        let r = f();
        let ms = t.elapsed().as_millis() as u64;
        let (ok, detail, v) = match r {
            Ok((v, d)) => (true, d, Some(v)),
            Err(e) => (false, format!("{e:#}"), None),
        };
        let _ = writeln!(
            self.out,
            "{} ({} ms){}{}",
            if ok { "ok" } else { "FAILED" },
            ms,
            if detail.is_empty() { "" } else { ": " },
            detail
        );
        if !ok {
            self.report.error = Some(detail.clone());
        }
        self.report.steps.push(Step {
            step,
            ok,
            detail,
            ms,
        });
        v
    }

    fn end(mut self, result: &'static str, code: u8) -> Report {
        self.report.result = result;
        self.report.exit_code = code;
        self.report
    }
}

/// The deployment itself, on `r`, reporting progress to `out`.
pub fn deploy(
    ctx: &Ctx,
    r: &Remoteproc,
    args: &DeployArgs,
    probe: &mut dyn Probe,
    out: &mut dyn Write,
) -> Report {
    let mut run = Run {
        report: Report {
            result: "error",
            exit_code: EXIT_ERROR,
            file: args.file.clone(),
            name: None,
            installed: None,
            previous: None,
            restart_via: None,
            steps: vec![],
            error: None,
        },
        out,
        total: 4,
    };
    // Who restarts it: the daemon that supervises it, else the lifecycle
    // layer here.
    let daemon = if args.direct {
        None
    } else {
        crate::daemon_status(ctx).and_then(|v| {
            let name = r.name().ok();
            v.into_iter().find(|s| {
                s.device.as_deref() == Some(&r.device()) || Some(&s.name) == name.as_ref()
            })
        })
    };
    let fw_name = match args
        .name
        .clone()
        .or_else(|| daemon.as_ref().map(|d| d.firmware.clone()))
        .map_or_else(|| r.firmware().map_err(anyhow::Error::from), Ok)
    {
        Ok(n) if !n.is_empty() && n != "unknown" => n,
        Ok(n) => {
            run.report.error = Some(format!(
                "{} reports the firmware name {n:?} (Linux did not load it): name it with --name",
                r.device()
            ));
            return run.end("error", EXIT_ERROR);
        }
        Err(e) => {
            run.report.error = Some(format!("{e:#}"));
            return run.end("error", EXIT_ERROR);
        }
    };
    run.report.name = Some(fw_name.clone());
    run.report.restart_via = Some(if daemon.is_some() { "daemon" } else { "direct" });
    let base = ctx.root.join("lib/firmware");
    let search = FirmwareSearch::system(&ctx.sys, &base);

    // Only who may install gets further (a check needs other rights, such
    // as reading the device tree, and must not answer in its place).
    if let Err(e) = fwinstall::check_writable(&base, &fw_name) {
        run.report.error = Some(e.to_string());
        return run.end("error", EXIT_ERROR);
    }
    // A core an earlier stop left on cannot be restarted before a reboot:
    // refuse before the install rather than roll it back afterwards.
    if let Err(e) = Lifecycle::new(r).refuse_if_stuck() {
        run.report.error = Some(e.to_string());
        return run.end("error", EXIT_ERROR);
    }

    // 1. check, as the kernel will see the files once installed.
    let checked = run.step(
        1,
        "check",
        &format!("check {}", args.file.display()),
        || check(ctx, args, &fw_name, &base, &search),
    );
    let Some(new_sig) = checked else {
        return run.end("refused", EXIT_REFUSED);
    };
    // The channels to expect: given, or the ones the current firmware
    // announced (the new one replaces it), else the control service.
    let expect: Vec<String> = if !args.channels.is_empty() {
        args.channels.clone()
    } else {
        let mut now = if probe.state().is_ok_and(|s| s.is_up()) {
            probe.channels()
        } else {
            vec![]
        };
        now.sort();
        now.dedup();
        if now.is_empty() {
            vec![amp_control::SERVICE_NAME.to_string()]
        } else {
            now
        }
    };
    // What a rollback restores, for the report: updates/NAME now, or the
    // file the kernel finds without it.
    let previous = fwinstall::updates_path(&base, &fw_name)
        .ok()
        .filter(|p| p.is_file())
        .or_else(|| fwcheck::resolve_firmware(&fw_name, &search).ok());

    // 2. install.
    let installed = run.step(
        2,
        "install",
        &format!(
            "install as {}",
            Path::new("updates").join(&fw_name).display()
        ),
        || {
            let staged = Staged::stage(&base, &fw_name, &args.file, new_sig.as_deref())?;
            let d = staged.commit()?;
            let kept = match d.previous() {
                Some(p) => format!("previous kept as {}", p.display()),
                None => format!(
                    "no previous file in updates/: a rollback removes it ({} serves then)",
                    previous
                        .as_deref()
                        .map_or("nothing".into(), |p| p.display().to_string())
                ),
            };
            let detail = format!("{}, {kept}", d.target().display());
            Ok((d, detail))
        },
    );
    let Some(deployed) = installed else {
        // The install rolls its own partial work back (fwinstall).
        return run.end("error", EXIT_ERROR);
    };
    run.report.installed = Some(deployed.target().to_path_buf());
    run.report.previous = deployed.previous().or(previous);

    // 3. restart, 4. health check.
    let timeout = Duration::from_millis(args.timeout_ms);
    let daemon_name = daemon.as_ref().map(|d| d.name.clone());
    let up = run
        .step(3, "restart", &format!("restart {}", r.device()), || {
            restart(ctx, r, daemon_name.as_deref(), &fw_name)
        })
        .is_some()
        && run
            .step(
                4,
                "health",
                &format!(
                    "health check (channels {}, control ping; {} ms)",
                    expect.join(", "),
                    args.timeout_ms
                ),
                || health(probe, &expect, timeout),
            )
            .is_some();
    if up {
        deployed.keep();
        return run.end("deployed", EXIT_DEPLOYED);
    }
    let failure = run.report.error.clone().unwrap_or_default();

    // Rollback: 5. restore, 6. restart, 7. health check.
    run.total = 7;
    let restored = run
        .step(5, "restore", "restore the previous firmware", || {
            rollback(deployed).map(|()| ((), String::new()))
        })
        .is_some();
    let ok = restored
        && run
            .step(
                6,
                "restart-previous",
                &format!("restart {}", r.device()),
                || restart(ctx, r, daemon_name.as_deref(), &fw_name),
            )
            .is_some()
        && run
            .step(
                7,
                "health-previous",
                "health check of the previous firmware",
                || health(probe, &expect, timeout),
            )
            .is_some();
    if ok {
        run.report.error = Some(failure);
        run.end("rolled-back", EXIT_ROLLED_BACK)
    } else {
        let then = run.report.error.clone().unwrap_or_default();
        run.report.error = Some(format!("{failure}; rollback: {then}"));
        run.end("rollback-failed", EXIT_ROLLBACK_FAILED)
    }
}

fn rollback(d: Deployed) -> anyhow::Result<()> {
    Ok(d.rollback()?)
}

/// The checks the kernel makes on what it will load: the name (it must
/// resolve to our `updates/` file: nothing earlier in the search may
/// shadow it), the signature it will find beside it, the ELF against the
/// device tree. Returns the signature to install.
fn check(
    ctx: &Ctx,
    args: &DeployArgs,
    name: &str,
    base: &Path,
    search: &FirmwareSearch,
) -> anyhow::Result<(Option<PathBuf>, String)> {
    let target = fwinstall::updates_path(base, name)?;
    let updates = base.join("updates");
    let sig_name = format!("{name}{}", fwsig::SIG_SUFFIX);
    let new_sig = args
        .sig
        .sig
        .clone()
        .or_else(|| Some(fwsig::sig_path(&args.file)).filter(|p| p.is_file()));
    // Directories searched before updates/ would win.
    for dir in search.dirs.iter().take_while(|d| **d != updates) {
        let shadow = PathBuf::from(format!("{}/{name}", dir.display()));
        if shadow.is_file() {
            anyhow::bail!(
                "the kernel would load {} (searched before {}), not the deployed file",
                shadow.display(),
                target.display()
            );
        }
    }
    // The signature the kernel will find once installed: ours in
    // updates/, or (unsigned) the first NAME.p7s elsewhere, which then
    // belongs to another file.
    let mut kernel_sig = None;
    for dir in &search.dirs {
        if *dir == updates {
            if new_sig.is_some() {
                kernel_sig = new_sig.clone();
                break;
            }
            continue;
        }
        let p = PathBuf::from(format!("{}/{sig_name}", dir.display()));
        if p.is_file() {
            kernel_sig = Some(p);
            break;
        }
    }
    let cfg = SigConfig {
        certs: if args.sig.certs.is_empty() {
            fwsig::default_certs(&ctx.root)
        } else {
            args.sig.certs.clone()
        },
        require: args.sig.require_signature,
        // Unsigned and no other NAME.p7s in the search: FILE.p7s, which
        // does not exist (an updates/NAME.p7s there now is removed by the
        // install, so it must not be read here).
        sig: Some(kernel_sig.unwrap_or_else(|| fwsig::sig_path(&args.file))),
    };
    let report = fwcheck::check_files(&args.file, None, &ctx.sys, &cfg)?;
    let sig = match &report.signature {
        Some(s) => format!("{s:?}"),
        None => "no signature".into(),
    };
    Ok((
        new_sig,
        format!(
            "entry {:#x}, {} segments, signature: {}",
            report.entry,
            report.segments.len(),
            sig
        ),
    ))
}

/// Restarts `r` on firmware `name`: through the daemon when it
/// supervises it, else through the lifecycle layer.
fn restart(
    ctx: &Ctx,
    r: &Remoteproc,
    daemon: Option<&str>,
    name: &str,
) -> anyhow::Result<((), String)> {
    if let Some(d) = daemon {
        let reply = rtd_ampd_protocol::request(
            &ctx.socket,
            &DaemonRequest::Restart {
                name: d.to_string(),
            },
        )
        .map_err(|e| anyhow::anyhow!("talking to rtd-ampd on {}: {e}", ctx.socket.display()))?;
        if !reply.ok {
            anyhow::bail!("rtd-ampd: {}", reply.error.unwrap_or_default());
        }
        return Ok(((), format!("by rtd-ampd ({d})")));
    }
    let lc = Lifecycle::new(r).with_timeout(crate::STATE_TIMEOUT);
    lc.shutdown()?;
    if r.firmware()? != name {
        r.set_firmware(name)?;
    }
    let o = lc.boot()?;
    Ok(((), format!("direct: {}", o.as_str())))
}

/// Waits until the processor is up, `expect` are announced and a control
/// ping is answered, all within `timeout`.
fn health(
    probe: &mut dyn Probe,
    expect: &[String],
    timeout: Duration,
) -> anyhow::Result<((), String)> {
    let t0 = Instant::now();
    let deadline = t0 + timeout;
    let pause = Duration::from_millis(100);
    let mut last;
    loop {
        let now = Instant::now();
        let state = probe.state();
        last = match state {
            Ok(State::Crashed) => anyhow::bail!("the firmware crashed"),
            Ok(s) if !s.is_up() => format!("kernel state {s}"),
            Err(e) => format!("kernel state unreadable: {e:#}"),
            Ok(_) => {
                let have = probe.channels();
                let missing: Vec<&str> = expect
                    .iter()
                    .filter(|c| !have.contains(c))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    format!("channels not announced: {}", missing.join(", "))
                } else {
                    let left = deadline.saturating_duration_since(now);
                    match probe.ping(left.clamp(Duration::from_millis(1), Duration::from_secs(1))) {
                        Ok(rtt) => {
                            return Ok((
                                (),
                                format!(
                                    "{} announced, ping answered in {} us, {} ms after the restart",
                                    expect.join(", "),
                                    rtt.as_micros(),
                                    t0.elapsed().as_millis()
                                ),
                            ))
                        }
                        Err(e) => format!("control ping not answered: {e:#}"),
                    }
                }
            }
        };
        if Instant::now() + pause > deadline {
            anyhow::bail!("after {} ms: {last}", timeout.as_millis());
        }
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
#[path = "deploy_tests.rs"]
mod tests;

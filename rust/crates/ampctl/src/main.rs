//! `ampctl`: command-line tool for the rtd-amp remote processors.

mod bulk;
mod cli;
mod deploy;
mod selftest;
mod stats;
mod tasks;

use amp_control::{FaultKind, Request, Response};
use amp_host::control::{self, Client};
use amp_host::fwcheck::{FirmwareSearch, SigConfig};
use amp_host::fwsig;
use amp_host::lifecycle::Lifecycle;
use amp_host::remoteproc::{Remoteproc, State};
use amp_host::rpmsg::{self, Ctrl, Endpoint, ADDR_ANY, MAX_PAYLOAD};
use amp_host::Sys;
use anyhow::{anyhow, bail, Context, Result};
use clap::{CommandFactory, Parser};
use cli::{Channel, Cli, Command, CoredumpCmd, EndpointCmd, GenerateCmd, Target};
use rtd_ampd_protocol::{ProcStatus, Reply, Request as DaemonRequest};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long start/stop wait for the kernel.
const STATE_TIMEOUT: Duration = Duration::from_secs(10);

struct Ctx {
    sys: Sys,
    root: PathBuf,
    socket: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let ctx = Ctx {
        sys: Sys::under(&root),
        root,
        socket: cli.socket.clone(),
    };
    match run(&ctx, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        // `deploy` printed its report; its status says what happened.
        Err(e) if e.is::<deploy::Exit>() => {
            ExitCode::from(e.downcast_ref::<deploy::Exit>().map_or(1, |x| x.0))
        }
        Err(e) => {
            eprintln!("ampctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn run(ctx: &Ctx, cmd: Command) -> Result<()> {
    match cmd {
        Command::List(json) => list(ctx, json.json),
        Command::Status { target, json } => status(ctx, &target, json.json),
        Command::Start {
            target,
            firmware,
            no_check,
            direct,
        } => {
            let r = resolve(ctx, &target)?;
            if firmware.is_none() && !no_check && !direct {
                if let Some(name) = daemon_name(ctx, &r) {
                    return via_daemon(ctx, DaemonRequest::Start { name });
                }
            }
            start_direct(ctx, &r, firmware.as_deref(), !no_check)
        }
        Command::Stop { target, direct } => {
            let r = resolve(ctx, &target)?;
            if !direct {
                if let Some(name) = daemon_name(ctx, &r) {
                    return via_daemon(ctx, DaemonRequest::Stop { name });
                }
            }
            stop_direct(&r)
        }
        Command::Restart { target, direct } => {
            let r = resolve(ctx, &target)?;
            if !direct {
                if let Some(name) = daemon_name(ctx, &r) {
                    return via_daemon(ctx, DaemonRequest::Restart { name });
                }
            }
            if r.state()? != State::Offline {
                stop_direct(&r)?;
            }
            start_direct(ctx, &r, None, true)
        }
        Command::Attach { target, direct } => {
            let r = resolve(ctx, &target)?;
            if !direct {
                if let Some(name) = daemon_name(ctx, &r) {
                    return via_daemon(ctx, DaemonRequest::Attach { name });
                }
            }
            let outcome = Lifecycle::new(&r).with_timeout(STATE_TIMEOUT).attach()?;
            println!("{}: {} ({})", r.device(), r.state()?, outcome.as_str());
            Ok(())
        }
        Command::Detach { target, direct } => {
            let r = resolve(ctx, &target)?;
            if !direct {
                if let Some(name) = daemon_name(ctx, &r) {
                    return via_daemon(ctx, DaemonRequest::Detach { name });
                }
            }
            let outcome = Lifecycle::new(&r).with_timeout(STATE_TIMEOUT).detach()?;
            println!("{}: {} ({})", r.device(), r.state()?, outcome.as_str());
            Ok(())
        }
        Command::Firmware { target, set, json } => {
            let r = resolve(ctx, &target)?;
            if let Some(name) = set {
                r.set_firmware(&name)
                    .with_context(|| format!("setting the firmware of {}", r.device()))?;
            }
            let fw = r.firmware()?;
            if json.json {
                print_json(&serde_json::json!({ "device": r.device(), "firmware": fw }))
            } else {
                println!("{fw}");
                Ok(())
            }
        }
        Command::Check {
            elf,
            dtb,
            sig,
            json,
        } => {
            let cfg = SigConfig {
                certs: if sig.certs.is_empty() {
                    fwsig::default_certs(&ctx.root)
                } else {
                    sig.certs
                },
                require: sig.require_signature,
                sig: sig.sig,
            };
            let report = amp_host::fwcheck::check_files(&elf, dtb.as_deref(), &ctx.sys, &cfg)
                .with_context(|| {
                    format!(
                        "{} does not fit this system (checked against {})",
                        elf.display(),
                        dtb.as_deref().unwrap_or(&ctx.sys.fdt()).display()
                    )
                })?;
            if json.json {
                print_json(&report)
            } else {
                print!("{report}");
                println!("{}: ok", elf.display());
                Ok(())
            }
        }
        Command::Trace {
            target,
            follow,
            interval_ms,
        } => trace(ctx, &target, follow, interval_ms),
        Command::Coredump {
            action:
                CoredumpCmd::Save {
                    target,
                    output,
                    wait_ms,
                },
        } => coredump(ctx, &target, &output, wait_ms),
        Command::Ping {
            channel,
            count,
            info,
            json,
        } => ping(ctx, &channel, count, info, json.json),
        Command::Tasks { channel, json } => show_tasks(ctx, &channel, json.json),
        Command::Fault { channel, kind } => fault(ctx, &channel, kind.into()),
        Command::Bench {
            channel,
            count,
            size,
            json,
        } => bench(ctx, &channel, count, size, json.json),
        Command::Bulk {
            device,
            count,
            size,
            window,
            slow_ms,
            timeout_ms,
            json,
        } => {
            let r = bulk::run(
                &device,
                count,
                size,
                window,
                Duration::from_millis(slow_ms),
                Duration::from_millis(timeout_ms),
            )?;
            if json.json {
                print_json(&r)
            } else {
                println!(
                    "bulk: {} records of {} bytes echoed, every byte checked, {:.1} MB/s, sender waited {} times",
                    r.records,
                    r.size,
                    r.bytes_per_s / 1e6,
                    r.sender_waits
                );
                Ok(())
            }
        }
        Command::Selftest {
            target,
            ctrl,
            quick,
            json,
        } => run_selftest(ctx, &target, ctrl.as_deref(), quick, json.json),
        Command::Endpoint { action } => match action {
            EndpointCmd::Create {
                name,
                ctrl,
                src,
                dst,
                json,
            } => {
                let c = open_ctrl(ctx, ctrl.as_deref())?;
                let path =
                    c.create_endpoint(&name, src.unwrap_or(ADDR_ANY), dst, Duration::from_secs(2))?;
                if json.json {
                    print_json(&serde_json::json!({ "device": path, "name": name, "dst": dst }))
                } else {
                    println!("{}", path.display());
                    Ok(())
                }
            }
            EndpointCmd::Destroy { dev } => {
                let path = dev_path(ctx, &dev);
                Endpoint::open(&path)?.destroy()?;
                Ok(())
            }
        },
        Command::Send { dev, text, hex } => {
            let data = match text {
                Some(t) => t.into_bytes(),
                None => {
                    let mut v = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut v)
                        .context("reading the message from stdin")?;
                    v
                }
            };
            let data = if hex {
                parse_hex(std::str::from_utf8(&data)?.trim())?
            } else {
                data
            };
            if data.is_empty() {
                bail!("nothing to send: give TEXT or pipe the message to stdin");
            }
            Endpoint::open(&dev_path(ctx, &dev))?.send(&data)?;
            Ok(())
        }
        Command::Recv {
            dev,
            count,
            timeout_ms,
            hex,
            json,
        } => {
            let mut ep = Endpoint::open(&dev_path(ctx, &dev))?;
            let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
            let mut buf = [0u8; 512];
            let mut msgs = Vec::new();
            for _ in 0..count {
                let n = ep.recv(&mut buf, timeout)?;
                let text = if hex {
                    to_hex(&buf[..n])
                } else {
                    String::from_utf8_lossy(&buf[..n]).into_owned()
                };
                if json.json {
                    msgs.push(serde_json::json!({ "len": n, "data": text }));
                } else {
                    println!("{text}");
                }
            }
            if json.json {
                print_json(&msgs)?;
            }
            Ok(())
        }
        Command::Generate { what } => generate(what),
        Command::Deploy(args) => deploy::run_cli(ctx, args),
    }
}

fn resolve(ctx: &Ctx, target: &Target) -> Result<Remoteproc> {
    if let Some(id) = &target.rproc {
        return Ok(Remoteproc::find(&ctx.sys, id)?);
    }
    let all = amp_host::remoteproc::list(&ctx.sys)?;
    match all.len() {
        1 => Ok(all.into_iter().next().expect("one")),
        0 => bail!(
            "no remote processor registered under {}: is the rtd_amp_rproc module loaded and the overlay applied?",
            ctx.sys.remoteproc_class().display()
        ),
        _ => bail!(
            "there are {} remote processors; name one: {}",
            all.len(),
            all.iter().map(|r| r.device()).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[derive(Serialize)]
struct ListEntry {
    device: String,
    name: Option<String>,
    state: Option<String>,
    firmware: Option<String>,
}

fn entry(r: &Remoteproc) -> ListEntry {
    ListEntry {
        device: r.device(),
        name: r.name().ok(),
        state: r.state().ok().map(|s| s.to_string()),
        firmware: r.firmware().ok(),
    }
}

fn list(ctx: &Ctx, json: bool) -> Result<()> {
    let all: Vec<ListEntry> = amp_host::remoteproc::list(&ctx.sys)?
        .iter()
        .map(entry)
        .collect();
    if json {
        return print_json(&all);
    }
    if all.is_empty() {
        println!("no remote processors (is the rtd_amp_rproc module loaded?)");
        return Ok(());
    }
    println!("{:<13} {:<12} {:<9} FIRMWARE", "DEVICE", "NAME", "STATE");
    for e in all {
        let q = |o: Option<String>| o.unwrap_or_else(|| "?".into());
        println!(
            "{:<13} {:<12} {:<9} {}",
            e.device,
            q(e.name),
            q(e.state),
            q(e.firmware)
        );
    }
    Ok(())
}

/// The daemon's status list, or None when no daemon answers.
fn daemon_status(ctx: &Ctx) -> Option<Vec<ProcStatus>> {
    let reply =
        rtd_ampd_protocol::request(&ctx.socket, &DaemonRequest::Status { name: None }).ok()?;
    reply.ok.then_some(reply.status)
}

/// The daemon's name for `r`, when a daemon runs and supervises it.
fn daemon_name(ctx: &Ctx, r: &Remoteproc) -> Option<String> {
    let name = r.name().ok();
    daemon_status(ctx)?
        .into_iter()
        .find(|s| s.device.as_deref() == Some(&r.device()) || Some(&s.name) == name.as_ref())
        .map(|s| s.name)
}

fn via_daemon(ctx: &Ctx, req: DaemonRequest) -> Result<()> {
    let reply: Reply = rtd_ampd_protocol::request(&ctx.socket, &req)
        .with_context(|| format!("talking to rtd-ampd on {}", ctx.socket.display()))?;
    if !reply.ok {
        bail!("rtd-ampd: {}", reply.error.unwrap_or_default());
    }
    for s in reply.status {
        println!(
            "{}: {} (kernel: {})",
            s.name,
            s.phase,
            s.kernel_state.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

fn start_direct(ctx: &Ctx, r: &Remoteproc, firmware: Option<&str>, check: bool) -> Result<()> {
    let lc = Lifecycle::new(r).with_timeout(STATE_TIMEOUT);
    // A core an earlier stop left on: "reboot needed", not the verdict of
    // a firmware check that cannot matter before the reboot.
    lc.refuse_if_stuck()?;
    let state = r.state()?;
    if state.is_up() {
        bail!("{} is already {state}; use `ampctl restart`", r.device());
    }
    if let Some(fw) = firmware {
        r.set_firmware(fw)?;
    }
    if check {
        let fw = r.firmware()?;
        // The file the kernel will load (firmware_class.path, updates/,
        // <release>/ before /lib/firmware), not lib/firmware/NAME: checking
        // another file than the one loaded would check nothing.
        let search = FirmwareSearch::system(&ctx.sys, &ctx.root.join("lib/firmware"));
        let path = amp_host::fwcheck::resolve_firmware(&fw, &search).with_context(|| {
            format!(
                "firmware {fw:?} of {}: the kernel would not load it (use --no-check to start it anyway)",
                r.device()
            )
        })?;
        // Its signature as the kernel finds it: NAME.p7s in the same search.
        let cfg = SigConfig {
            certs: fwsig::default_certs(&ctx.root),
            require: false,
            sig: amp_host::fwcheck::resolve_firmware(
                &format!("{fw}{}", fwsig::SIG_SUFFIX),
                &search,
            )
            .ok(),
        };
        amp_host::fwcheck::check_files(&path, None, &ctx.sys, &cfg).with_context(|| {
            format!(
                "firmware check of {} failed (use --no-check to start it anyway)",
                path.display()
            )
        })?;
    }
    lc.boot().with_context(|| {
        format!(
            "{} did not start; see `dmesg` and `ampctl trace`",
            r.device()
        )
    })?;
    println!("{}: {}", r.device(), r.state()?);
    Ok(())
}

fn stop_direct(r: &Remoteproc) -> Result<()> {
    // From running, attached, crashed or detached: the lifecycle layer
    // knows what each kernel accepts.
    Lifecycle::new(r).with_timeout(STATE_TIMEOUT).shutdown()?;
    println!("{}: offline", r.device());
    Ok(())
}

#[derive(Serialize)]
struct Status {
    #[serde(flatten)]
    rproc: ListEntry,
    /// `off`, `on`, `stuck` (rtd_amp_rproc's `core_state`); null with other
    /// drivers.
    core_state: Option<String>,
    recovery: Option<String>,
    coredump: Option<String>,
    channels: Vec<rpmsg::Channel>,
    daemon: Option<ProcStatus>,
}

fn status(ctx: &Ctx, target: &Target, json: bool) -> Result<()> {
    let r = resolve(ctx, target)?;
    let e = entry(&r);
    let daemon = daemon_status(ctx).and_then(|v| {
        v.into_iter()
            .find(|s| s.device.as_deref() == Some(&e.device) || Some(&s.name) == e.name.as_ref())
    });
    let st = Status {
        core_state: r.core_state().ok().flatten().map(|c| c.to_string()),
        recovery: r.recovery().ok().map(|v| format!("{v:?}").to_lowercase()),
        coredump: r.coredump().ok().map(|v| format!("{v:?}").to_lowercase()),
        channels: rpmsg::channels(&ctx.sys).unwrap_or_default(),
        daemon,
        rproc: e,
    };
    if json {
        return print_json(&st);
    }
    let q = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
    println!("device:    {}", st.rproc.device);
    println!("name:      {}", q(&st.rproc.name));
    println!("state:     {}", q(&st.rproc.state));
    // Only rtd_amp_rproc has it: other drivers' output stays as it was.
    match st.core_state.as_deref() {
        Some("stuck") => println!(
            "core:      stuck (did not power off after a stop request; `start` is refused: reboot needed)"
        ),
        Some(c) => println!("core:      {c}"),
        None => {}
    }
    println!("firmware:  {}", q(&st.rproc.firmware));
    println!("recovery:  {}", q(&st.recovery));
    println!("coredump:  {}", q(&st.coredump));
    if st.channels.is_empty() {
        println!("channels:  none");
    }
    for c in &st.channels {
        println!(
            "channel:   {} (src {} dst {}) {}",
            c.name,
            c.src,
            c.dst,
            c.driver.as_deref().unwrap_or("")
        );
    }
    match &st.daemon {
        None => println!("daemon:    not running or not supervising it"),
        Some(d) => {
            println!(
                "daemon:    {} (restarts {}/{}, total {})",
                d.phase, d.restarts, d.max_restarts, d.total_restarts
            );
            if let Some(e) = &d.last_error {
                println!("last error: {e}");
            }
            for ev in d.events.iter().rev().take(5).rev() {
                println!("  {:>8} ms  {} {}", ev.at_ms, ev.kind, ev.detail);
            }
        }
    }
    Ok(())
}

fn trace(ctx: &Ctx, target: &Target, follow: bool, interval_ms: u64) -> Result<()> {
    let r = resolve(ctx, target)?;
    let read = || -> Result<Vec<u8>> {
        r.trace(0)
            .with_context(|| "reading the trace buffer (is debugfs mounted on /sys/kernel/debug?)")
    };
    let mut seen = read()?;
    let mut out = std::io::stdout().lock();
    out.write_all(&seen)?;
    out.flush()?;
    if !follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_millis(interval_ms.max(10)));
        let now = match read() {
            Ok(v) => v,
            Err(_) => continue, // the processor is restarting
        };
        if now.starts_with(&seen) {
            out.write_all(&now[seen.len()..])?;
        } else {
            out.write_all(b"\n--- trace buffer restarted ---\n")?;
            out.write_all(&now)?;
        }
        out.flush()?;
        seen = now;
    }
}

/// Saves (and so releases) the newest devcoredump whose `failing_device`
/// is this processor. Dumps that are not provably ours — another device's,
/// no `failing_device` link, a link that does not resolve — are never read
/// or released; the error names them.
fn coredump(ctx: &Ctx, target: &Target, output: &Path, wait_ms: u64) -> Result<()> {
    let r = resolve(ctx, target)?;
    let class = ctx.sys.sysfs.join("class/devcoredump");
    let deadline = Instant::now() + Duration::from_millis(wait_ms);
    loop {
        let mine = r.coredumps().with_context(|| {
            format!("looking for dumps of {} in {}", r.device(), class.display())
        })?;
        if let Some((newest, older)) = mine.split_last() {
            let n = newest.save(output).with_context(|| {
                format!("saving devcd{} to {}", newest.index(), output.display())
            })?;
            println!(
                "devcd{} ({n} bytes) saved to {} and released",
                newest.index(),
                output.display()
            );
            if !older.is_empty() {
                let names: Vec<String> = older
                    .iter()
                    .map(|d| format!("devcd{}", d.index()))
                    .collect();
                println!(
                    "older dumps of {} left in {} (the kernel drops them after 5 minutes): {}",
                    r.device(),
                    class.display(),
                    names.join(", ")
                );
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            let others = amp_host::remoteproc::devcoredumps(&ctx.sys)
                .with_context(|| format!("listing {}", class.display()))?;
            let found = if others.is_empty() {
                "there is none".to_string()
            } else {
                format!(
                    "found only dumps that are not provably its own, left untouched: {}",
                    others
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let me = std::fs::canonicalize(r.path()).unwrap_or_else(|_| r.path().to_path_buf());
            bail!(
                "no devcoredump whose failing_device is {} ({}) in {}: {found}. Enable dumps \
                 with `echo enabled > {}/coredump`, reproduce the crash, and save within 5 \
                 minutes (or pass --wait-ms)",
                r.device(),
                me.display(),
                class.display(),
                r.path().display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dev_path(ctx: &Ctx, dev: &str) -> PathBuf {
    match dev.strip_prefix("/dev/") {
        Some(rest) => ctx.sys.dev.join(rest),
        None if dev.contains('/') => PathBuf::from(dev),
        None => ctx.sys.dev.join(dev),
    }
}

/// `--ctrl DEV`, or the control device of the remote processor (the only
/// one), found through its sysfs parent chain: never by index.
fn open_ctrl(ctx: &Ctx, ctrl: Option<&str>) -> Result<Ctrl> {
    const HINT: &str = "opening the rpmsg control device (is the firmware running? `ampctl status`; is rpmsg_ctrl loaded?)";
    match ctrl {
        Some(name) => {
            let index =
                control::parse_ctrl_name(name).with_context(|| format!("--ctrl {name:?}"))?;
            Ok(Ctrl::open(&ctx.sys, index).context(HINT)?)
        }
        None => {
            let r = resolve(ctx, &Target { rproc: None })?;
            Ok(control::open_ctrl_of(&ctx.sys, &r).context(HINT)?)
        }
    }
}

/// A temporary endpoint towards the firmware (a control-service client),
/// destroyed on drop.
struct TempEndpoint(Option<Client>);

impl TempEndpoint {
    fn open(ctx: &Ctx, ch: &Channel, default_dst: u32) -> Result<TempEndpoint> {
        let c = open_ctrl(ctx, ch.ctrl.as_deref())?;
        let dst = ch.dst.unwrap_or(default_dst);
        let path = c.create_endpoint(
            "ampctl",
            ch.src.unwrap_or(ADDR_ANY),
            dst,
            Duration::from_secs(2),
        )?;
        Ok(TempEndpoint(Some(Client::on(Endpoint::open(&path)?))))
    }

    fn client(&mut self) -> &mut Client {
        self.0.as_mut().expect("open until drop")
    }

    fn ep(&mut self) -> &mut Endpoint {
        self.client().endpoint()
    }
}

impl Drop for TempEndpoint {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = c.close();
        }
    }
}

fn ping(ctx: &Ctx, ch: &Channel, count: u32, info: bool, json: bool) -> Result<()> {
    let mut t = TempEndpoint::open(ctx, ch, amp_control::CONTROL_ADDR)?;
    let timeout = Duration::from_millis(ch.timeout_ms);
    let mut rtts = Vec::new();
    for i in 0..count {
        let nonce = 0xA3F0_0000_0000_0000 | u64::from(i);
        let (resp, rtt) = t.client().call(Request::Ping { nonce }, timeout)?;
        if resp != (Response::Pong { nonce }) {
            bail!("pong carries the wrong nonce: {resp:?}");
        }
        if !json {
            println!("pong {}: {:.1} us", i + 1, rtt.as_secs_f64() * 1e6);
        }
        rtts.push(rtt.as_secs_f64() * 1e6);
    }
    let mut out = serde_json::json!({ "rtt_us": rtts });
    if info {
        let (v, _) = t.client().call(Request::Version, timeout)?;
        let (s, _) = t.client().call(Request::Stats, timeout)?;
        if let (Response::Version(v), Response::Stats(s)) = (v, s) {
            out["version"] = serde_json::json!({
                "protocol": v.protocol, "firmware": v.firmware_str(), "board": v.board_str()
            });
            out["stats"] = serde_json::json!({
                "messages": s.messages, "bytes": s.bytes, "errors": s.errors, "uptime_ms": s.uptime_ms
            });
            if !json {
                println!(
                    "firmware {} on {} (control protocol {})",
                    v.firmware_str(),
                    v.board_str(),
                    v.protocol
                );
                println!(
                    "stats: {} messages, {} bytes, {} errors, up {} ms",
                    s.messages, s.bytes, s.errors, s.uptime_ms
                );
            }
        }
    }
    if json {
        print_json(&out)?;
    }
    Ok(())
}

fn show_tasks(ctx: &Ctx, ch: &Channel, json: bool) -> Result<()> {
    let mut t = TempEndpoint::open(ctx, ch, amp_control::CONTROL_ADDR)?;
    let timeout = Duration::from_millis(ch.timeout_ms);
    let all = tasks::fetch(&mut |r| Ok(t.client().call(r, timeout)?.0))?;
    if json {
        return print_json(&tasks::json(&all));
    }
    if all.is_empty() {
        println!("no periodic tasks");
    }
    for task in &all {
        println!("{}", tasks::line(task));
    }
    Ok(())
}

fn fault(ctx: &Ctx, ch: &Channel, kind: FaultKind) -> Result<()> {
    let mut t = TempEndpoint::open(ctx, ch, amp_control::CONTROL_ADDR)?;
    match t.client().call(
        Request::Fault { kind },
        Duration::from_millis(ch.timeout_ms),
    ) {
        Ok(_) => println!(
            "fault {kind} acknowledged; the remote processor is crashing (see `ampctl status`)"
        ),
        Err(e) if e.to_string().contains("refused") => return Err(e.into()),
        Err(_) => println!("fault {kind} sent (no acknowledgement: the channel went down first)"),
    }
    Ok(())
}

fn bench(ctx: &Ctx, ch: &Channel, count: u32, size: usize, json: bool) -> Result<()> {
    if size == 0 || size > MAX_PAYLOAD {
        bail!("--size must be 1..={MAX_PAYLOAD} (one RPMsg message)");
    }
    let mut t = TempEndpoint::open(ctx, ch, amp_control::ECHO_ADDR)?;
    let timeout = Duration::from_millis(ch.timeout_ms);
    let mut msg = vec![0u8; size];
    let mut buf = [0u8; 512];
    let mut samples = Vec::with_capacity(count as usize);
    let begin = Instant::now();
    for i in 0..count {
        for (j, b) in msg.iter_mut().enumerate() {
            *b = (i as usize + j) as u8;
        }
        let start = Instant::now();
        t.ep().send(&msg)?;
        let n = t
            .ep()
            .recv(&mut buf, Some(timeout))
            .context("waiting for the echo")?;
        samples.push(start.elapsed());
        if buf[..n] != msg[..] {
            bail!("echo {i} differs from what was sent ({n} bytes back, {size} sent)");
        }
    }
    let s = stats::summarize(samples, size, begin.elapsed());
    if json {
        return print_json(&s);
    }
    println!(
        "{} round trips of {} bytes: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us (min {:.1}, max {:.1})",
        s.count, s.size, s.p50_us, s.p90_us, s.p99_us, s.min_us, s.max_us
    );
    println!(
        "{:.0} msg/s, {:.1} KiB/s payload (both directions)",
        s.msgs_per_s,
        s.bytes_per_s / 1024.0
    );
    Ok(())
}

/// The control service for the self-test: one temporary endpoint.
struct Link {
    ep: TempEndpoint,
}

impl selftest::Control for Link {
    fn call(&mut self, req: Request, timeout: Duration) -> Result<Response> {
        Ok(self.ep.client().call(req, timeout).map(|(r, _)| r)?)
    }
}

fn run_selftest(
    ctx: &Ctx,
    target: &Target,
    ctrl: Option<&str>,
    quick: bool,
    json: bool,
) -> Result<()> {
    let rproc = resolve(ctx, target).ok();
    let env = selftest::Env {
        root: &ctx.root,
        sys: &ctx.sys,
    };
    let mut opts = selftest::Options::default();
    if quick {
        opts.timer_count = 200;
        opts.shm_rounds = 16;
        opts.doorbells = 100;
    }
    let ch = Channel {
        ctrl: ctrl.map(str::to_string),
        dst: None,
        src: None,
        timeout_ms: 1000,
    };
    let mut control = || -> Result<Box<dyn selftest::Control>> {
        let ep = TempEndpoint::open(ctx, &ch, amp_control::CONTROL_ADDR)?;
        Ok(Box::new(Link { ep }))
    };
    let report = selftest::run(&env, rproc.as_ref(), &mut control, opts);
    if json {
        print_json(&report)?;
    } else {
        print!("{}", report.text());
    }
    if report.failed > 0 {
        bail!("{}", report.summary());
    }
    Ok(())
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        bail!("hex message has an odd number of digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| anyhow!("not hex: {:?}", &s[i..i + 2]))
        })
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn generate(what: GenerateCmd) -> Result<()> {
    let cmd = Cli::command();
    match what {
        GenerateCmd::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let write = |name: String, c: clap::Command| -> Result<()> {
                let mut out = Vec::new();
                clap_mangen::Man::new(c).render(&mut out)?;
                std::fs::write(dir.join(format!("{name}.1")), out)?;
                Ok(())
            };
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("ampctl-{}", sub.get_name());
                write(name.clone(), sub.clone().name(name))?;
            }
            write("ampctl".into(), cmd)?;
            Ok(())
        }
        GenerateCmd::Completions { shell } => {
            let mut cmd = cmd;
            clap_complete::generate(shell, &mut cmd, "ampctl", &mut std::io::stdout());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(parse_hex("01 0a ff").unwrap(), [1, 10, 255]);
        assert!(parse_hex("0").is_err());
        assert!(parse_hex("zz").is_err());
        assert_eq!(to_hex(&[0, 0xab]), "00ab");
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}

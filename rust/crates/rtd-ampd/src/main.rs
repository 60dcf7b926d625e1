//! `rtd-ampd` binary: parses arguments, sets up logging, signals and
//! systemd notifications, then runs the supervisor.

use clap::Parser;
use rtd_ampd::config::{Config, DEFAULT_PATH};
use rtd_ampd::hw::Hw;
use rtd_ampd::supervisor::{Msg, Notifier};
use sd_notify::NotifyState;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// Supervision daemon for the rtd-amp remote processors.
///
/// Starts the processors listed in the configuration at boot (after checking
/// their firmware against the device tree), watches their state, pings their
/// control service, restarts them within the restart policy, stops them on
/// SIGTERM, and answers `ampctl` on its control socket.
#[derive(Parser, Debug)]
#[command(name = "rtd-ampd", version)]
struct Args {
    /// Configuration file.
    #[arg(short, long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// Only check the configuration file and exit (0 when valid).
    #[arg(long)]
    check_config: bool,
    /// Device tree blob for the firmware check, instead of the config's
    /// `dtb` (the systemd unit passes the running one, /sys/firmware/fdt,
    /// which only root may read, as a credential).
    #[arg(long, env = "RTD_AMPD_DTB", value_name = "FILE")]
    dtb: Option<PathBuf>,
    /// Root directory holding sys/ and dev/ (for test doubles; default /).
    #[arg(long, env = "RTD_AMP_ROOT", hide = true)]
    root: Option<PathBuf>,
}

struct SystemdNotifier {
    watchdog: Option<Duration>,
    last: Instant,
}

impl Notifier for SystemdNotifier {
    fn ready(&mut self, status: &str) {
        let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(status)]);
    }
    fn watchdog(&mut self) {
        if let Some(interval) = self.watchdog {
            if self.last.elapsed() >= interval / 2 {
                let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
                self.last = Instant::now();
            }
        }
    }
    fn stopping(&mut self) {
        let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
    }
}

fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if std::path::Path::new("/run/systemd/journal/socket").exists() {
        if let Ok(journald) = tracing_journald::layer() {
            tracing_subscriber::registry()
                .with(filter)
                .with(journald.with_syslog_identifier("rtd-ampd".into()))
                .init();
            return;
        }
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rtd-ampd: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        println!(
            "{}: ok ({} remoteproc entries)",
            args.config.display(),
            config.remoteprocs.len()
        );
        return ExitCode::SUCCESS;
    }
    if let Some(dtb) = &args.dtb {
        config.daemon.dtb = Some(dtb.clone());
    }
    init_logging();
    info!(config = %args.config.display(), "rtd-ampd {} starting", env!("CARGO_PKG_VERSION"));
    let hw = match &args.root {
        Some(root) => Hw::under(root),
        None => Hw::system(),
    };
    let mut usec = 0;
    let watchdog =
        sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec));
    if let Some(w) = watchdog {
        info!(
            interval_ms = w.as_millis() as u64,
            "systemd watchdog enabled"
        );
    }
    let notifier = Box::new(SystemdNotifier {
        watchdog,
        last: Instant::now(),
    });
    let socket = config.daemon.socket.clone();
    let (tx, handle) = match rtd_ampd::spawn(config, hw, notifier) {
        Ok(x) => x,
        Err(e) => {
            error!("{e}");
            eprintln!("rtd-ampd: {e}");
            return ExitCode::from(1);
        }
    };
    let mut signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ]) {
        Ok(s) => s,
        Err(e) => {
            error!(error = %e, "cannot install signal handlers");
            return ExitCode::from(1);
        }
    };
    if let Some(sig) = signals.forever().next() {
        info!(signal = sig, "shutting down");
    }
    let _ = tx.send(Msg::Shutdown);
    if handle.join().is_err() {
        warn!("supervisor thread panicked");
    }
    let _ = std::fs::remove_file(&socket);
    info!("rtd-ampd stopped");
    ExitCode::SUCCESS
}

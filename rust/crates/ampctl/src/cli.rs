//! Command-line definition (clap derive). Also used to generate the man
//! page and shell completions (`ampctl generate ...`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Control the rtd-amp remote processors (remoteproc + RPMsg).
///
/// Commands that change a processor's state (start, stop, restart) go through
/// the rtd-ampd daemon when it is running, so its supervision stays in step;
/// with --direct, or when no daemon answers, they write sysfs themselves.
/// Read commands accept --json for machine-readable output.
#[derive(Parser, Debug)]
#[command(
    name = "ampctl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Root directory that holds sys/ and dev/ (default /; for test doubles).
    #[arg(long, global = true, env = "RTD_AMP_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// rtd-ampd control socket.
    #[arg(
        long,
        global = true,
        env = "RTD_AMPD_SOCKET",
        value_name = "PATH",
        default_value = rtd_ampd_protocol::DEFAULT_SOCKET
    )]
    pub socket: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format flag shared by read commands.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct Json {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Which remote processor: its `name` attribute (e.g. rtd-amp) or its
/// device (remoteproc0). May be omitted when there is only one.
#[derive(Args, Debug, Clone, Default)]
pub struct Target {
    /// Remote processor: name attribute (rtd-amp) or device (remoteproc0); default: the only one.
    #[arg(value_name = "RPROC")]
    pub rproc: Option<String>,
}

/// Where to open an endpoint to the firmware.
#[derive(Args, Debug, Clone)]
pub struct Channel {
    /// rpmsg control device to create the endpoint on (default: the one of
    /// the remote processor, found through sysfs).
    #[arg(long, value_name = "DEV")]
    pub ctrl: Option<String>,
    /// Firmware address to talk to.
    #[arg(long, value_name = "ADDR")]
    pub dst: Option<u32>,
    /// Local address of the endpoint (default: any).
    #[arg(long, value_name = "ADDR")]
    pub src: Option<u32>,
    /// Reply timeout in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout_ms: u64,
}

/// How the firmware signature is checked.
#[derive(Args, Debug, Clone, Default)]
pub struct SigArgs {
    /// Trusted certificate (DER or PEM) the signature must verify against;
    /// repeatable (default: /etc/rtd-amp/fw-signing.pem when it exists).
    #[arg(long = "cert", value_name = "CERT")]
    pub certs: Vec<PathBuf>,
    /// Signature file (default: ELF.p7s).
    #[arg(long, value_name = "P7S")]
    pub sig: Option<PathBuf>,
    /// Refuse an unsigned firmware even when the kernel driver is not
    /// loaded (when it is, its sig_enforce parameter and the device tree
    /// decide, as for the kernel).
    #[arg(long)]
    pub require_signature: bool,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List remote processors with their state and firmware.
    List(Json),
    /// Show a processor's kernel state, firmware, recovery and coredump
    /// settings, its RPMsg channels, and the daemon's view when it runs.
    Status {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        json: Json,
    },
    /// Start a processor (firmware checked against the device tree first).
    Start {
        #[command(flatten)]
        target: Target,
        /// Firmware to load (name relative to /lib/firmware); default: the current one.
        #[arg(long, value_name = "NAME")]
        firmware: Option<String>,
        /// Skip the firmware check.
        #[arg(long)]
        no_check: bool,
        /// Write sysfs directly even when rtd-ampd runs.
        #[arg(long)]
        direct: bool,
    },
    /// Stop a processor.
    Stop {
        #[command(flatten)]
        target: Target,
        /// Write sysfs directly even when rtd-ampd runs (the daemon may then restart it).
        #[arg(long)]
        direct: bool,
    },
    /// Stop then start a processor.
    Restart {
        #[command(flatten)]
        target: Target,
        /// Write sysfs directly even when rtd-ampd runs.
        #[arg(long)]
        direct: bool,
    },
    /// Attach Linux to a processor that runs without it (kernel state
    /// detached: started by the boot loader, or detached earlier); the
    /// firmware is neither reloaded nor restarted.
    Attach {
        #[command(flatten)]
        target: Target,
        /// Write sysfs directly even when rtd-ampd runs.
        #[arg(long)]
        direct: bool,
    },
    /// Let go of an attached processor: the firmware keeps running without
    /// Linux (kernel state detached) until an attach. The kernel detaches
    /// only a processor it attached to, not one it booted.
    Detach {
        #[command(flatten)]
        target: Target,
        /// Write sysfs directly even when rtd-ampd runs (the daemon then
        /// still supervises it).
        #[arg(long)]
        direct: bool,
    },
    /// Show the firmware name, or set it (the processor must be offline).
    Firmware {
        #[command(flatten)]
        target: Target,
        /// New firmware name, relative to /lib/firmware.
        #[arg(long, value_name = "NAME")]
        set: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Check a firmware ELF as the kernel driver will: its signature
    /// (ELF.p7s), then against the device tree's reserved memory.
    Check {
        /// Firmware ELF file.
        #[arg(value_name = "ELF")]
        elf: PathBuf,
        /// Device tree blob to check against (default: the running system's).
        #[arg(long, value_name = "DTB")]
        dtb: Option<PathBuf>,
        #[command(flatten)]
        sig: SigArgs,
        #[command(flatten)]
        json: Json,
    },
    /// Deploy a firmware: check it as the kernel will, install it under
    /// /lib/firmware/updates/ atomically, restart the processor (through
    /// rtd-ampd when it runs), health-check it (channels announced, control
    /// ping answered) and roll back to the previous firmware when it fails.
    /// Exit status: 0 deployed, 1 error (nothing changed), 3 refused by the
    /// check (nothing changed), 4 rolled back (the previous firmware serves),
    /// 5 rollback failed. Needs root (the firmware directory) and, with a
    /// daemon, its admin role.
    Deploy(crate::deploy::DeployArgs),
    /// Print the firmware's trace buffer (debugfs trace0).
    Trace {
        #[command(flatten)]
        target: Target,
        /// Keep printing what the firmware appends.
        #[arg(short, long)]
        follow: bool,
        /// Poll interval for --follow, milliseconds.
        #[arg(long, default_value_t = 200, value_name = "MS")]
        interval_ms: u64,
    },
    /// Core dumps of crashed processors.
    Coredump {
        #[command(subcommand)]
        action: CoredumpCmd,
    },
    /// Ping the firmware's control service; also prints its version and
    /// statistics with --info.
    Ping {
        #[command(flatten)]
        channel: Channel,
        /// Number of pings.
        #[arg(short, long, default_value_t = 1)]
        count: u32,
        /// Also ask for the firmware version and statistics.
        #[arg(long)]
        info: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Show the firmware's periodic tasks (rtd-amp-rt application API):
    /// period, runs, overruns and lateness of each, from its control service.
    Tasks {
        #[command(flatten)]
        channel: Channel,
        #[command(flatten)]
        json: Json,
    },
    /// Make the firmware fault on purpose (tests crash handling and recovery).
    Fault {
        #[command(flatten)]
        channel: Channel,
        /// How to fault.
        #[arg(value_enum, default_value_t = FaultArg::DataAbort)]
        kind: FaultArg,
    },
    /// Measure round trips and throughput against the firmware's echo service.
    Bench {
        #[command(flatten)]
        channel: Channel,
        /// Messages to send.
        #[arg(short = 'n', long, default_value_t = 1000)]
        count: u32,
        /// Payload bytes per message (1..=496).
        #[arg(short, long, default_value_t = 64)]
        size: usize,
        #[command(flatten)]
        json: Json,
    },
    /// Echo records through the firmware's bulk channel
    /// (/dev/rtd-amp-bulkN), every byte checked; prints the throughput.
    Bulk {
        /// The bulk device.
        #[arg(long, default_value = amp_host::bulk::DEFAULT_DEVICE, value_name = "DEV")]
        device: PathBuf,
        /// Records to send.
        #[arg(short = 'n', long, default_value_t = 64)]
        count: u32,
        /// Payload bytes per record.
        #[arg(short, long, default_value_t = 65536)]
        size: usize,
        /// Records in flight at most.
        #[arg(long, default_value_t = 8)]
        window: u32,
        /// Sleep this long before each read (a slow reader: back-pressure).
        #[arg(long, default_value_t = 0, value_name = "MS")]
        slow_ms: u64,
        /// Give up after waiting this long for room or an echo.
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout_ms: u64,
        #[command(flatten)]
        json: Json,
    },
    /// Board bring-up self-test: checks every hardware assumption (device
    /// tree, CPU, PSCI, doorbells, timer, shared memory, interrupt latency)
    /// and says which failed and what to do (docs/bring-up.md). Run as root
    /// with the firmware started; exits 1 when a check fails.
    Selftest {
        #[command(flatten)]
        target: Target,
        /// rpmsg control device to reach the firmware's control service on
        /// (default: the one of the remote processor, found through sysfs).
        #[arg(long, value_name = "DEV")]
        ctrl: Option<String>,
        /// Shorter runs (200 timer interrupts, 16 pattern trips, 100 raw
        /// doorbells) for a quick look.
        #[arg(long)]
        quick: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Create or destroy RPMsg endpoints (/dev/rpmsgN).
    Endpoint {
        #[command(subcommand)]
        action: EndpointCmd,
    },
    /// Send one message on an endpoint device.
    Send {
        /// Endpoint device (/dev/rpmsg0 or rpmsg0).
        #[arg(value_name = "DEV")]
        dev: String,
        /// Message text (default: read stdin).
        #[arg(value_name = "TEXT")]
        text: Option<String>,
        /// The message is hex (e.g. 01020a).
        #[arg(long)]
        hex: bool,
    },
    /// Receive messages from an endpoint device.
    Recv {
        /// Endpoint device (/dev/rpmsg0 or rpmsg0).
        #[arg(value_name = "DEV")]
        dev: String,
        /// Messages to receive.
        #[arg(short, long, default_value_t = 1)]
        count: u32,
        /// Give up after this long without a message, milliseconds (0 = wait forever).
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout_ms: u64,
        /// Print payloads as hex.
        #[arg(long)]
        hex: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Generate the man page or shell completions.
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: GenerateCmd,
    },
}

/// `coredump` subcommands.
#[derive(Subcommand, Debug)]
pub enum CoredumpCmd {
    /// Wait for a devcoredump of the processor, save it to a file and release it.
    ///
    /// Takes the newest dump whose failing_device is the processor; dumps
    /// that are not provably its own are never read or released.
    Save {
        #[command(flatten)]
        target: Target,
        /// Output file.
        #[arg(short, long, default_value = "rtd-amp.core", value_name = "FILE")]
        output: PathBuf,
        /// How long to wait for a dump, milliseconds.
        #[arg(long, default_value_t = 0, value_name = "MS")]
        wait_ms: u64,
    },
}

/// `endpoint` subcommands.
#[derive(Subcommand, Debug)]
pub enum EndpointCmd {
    /// Create an endpoint; prints its device (/dev/rpmsgN).
    Create {
        /// Endpoint name (up to 31 bytes).
        #[arg(long, default_value = "ampctl")]
        name: String,
        /// rpmsg control device (default: the one of the remote processor,
        /// found through sysfs).
        #[arg(long, value_name = "DEV")]
        ctrl: Option<String>,
        /// Local address (default: any).
        #[arg(long, value_name = "ADDR")]
        src: Option<u32>,
        /// Remote address.
        #[arg(long, value_name = "ADDR")]
        dst: u32,
        #[command(flatten)]
        json: Json,
    },
    /// Destroy an endpoint device.
    Destroy {
        /// Endpoint device (/dev/rpmsg0 or rpmsg0).
        #[arg(value_name = "DEV")]
        dev: String,
    },
}

/// `generate` subcommands.
#[derive(Subcommand, Debug)]
pub enum GenerateCmd {
    /// Man pages (ampctl.1 and one per subcommand) into a directory.
    Man {
        /// Output directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Completion script for a shell, on stdout.
    Completions {
        /// Shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Fault kinds on the command line.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FaultArg {
    /// Load from an unmapped address.
    DataAbort,
    /// Rust panic.
    Panic,
    /// Undefined instruction.
    Undefined,
    /// Stack overflow into the guard page.
    StackOverflow,
    /// Spin forever, interrupts enabled (only the stop interrupt stops it).
    Hang,
    /// Mask interrupts and spin forever (the core cannot be stopped: reboot).
    HangMasked,
}

impl From<FaultArg> for amp_control::FaultKind {
    fn from(f: FaultArg) -> Self {
        match f {
            FaultArg::DataAbort => amp_control::FaultKind::DataAbort,
            FaultArg::Panic => amp_control::FaultKind::Panic,
            FaultArg::Undefined => amp_control::FaultKind::Undefined,
            FaultArg::StackOverflow => amp_control::FaultKind::StackOverflow,
            FaultArg::Hang => amp_control::FaultKind::Hang,
            FaultArg::HangMasked => amp_control::FaultKind::HangMasked,
        }
    }
}

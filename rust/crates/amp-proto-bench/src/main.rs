//! Benchmark of the protocol core on the host.
//!
//! Method: the firmware's device role runs an echo service in one thread,
//! the Linux driver model in another, over one shared window (no doorbells:
//! both sides poll, yielding when idle). For each payload size, one run is
//! `--messages` echoes, each timed from send to matching reply; a run's
//! throughput is payload bytes echoed (one way) over the run's wall time.
//! Every figure printed is the median over `--runs` runs (p99 is the median
//! of the runs' p99s). This measures the protocol code's own cost, not a
//! doorbell or a cache: the QEMU twin measures the real path.
//!
//! A second table streams: Linux keeps up to `num` messages in flight
//! (sending while a TX buffer is free, draining echoes as they arrive), the
//! device waits for an RX buffer when Linux's ring is full; messages/s and
//! MB/s are echoes completed over wall time, median of the runs.
//!
//! The two threads are pinned to two distinct CPUs (`sched_setaffinity`):
//! the driver (the main thread) to the first, the device to the second —
//! by default the first two CPUs the process may run on, or `--cpus A,B`.
//! Unpinned, the scheduler may put both on one CPU or move them around
//! between runs.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use amp_proto::rpmsg::{RpmsgDevice, RpmsgDriver, RpmsgError, RPMSG_MAX_PAYLOAD};
use amp_proto::rsc::{self, TableBuilder};
use amp_proto::sim::SimVdev;
use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

const NUM: u32 = 64;
const TABLE_LEN: usize = rsc::header_len(1) + rsc::vdev_entry_len(2, 0);
const TABLE: [u8; TABLE_LEN] = TableBuilder::<TABLE_LEN>::new(1)
    .rpmsg_vdev(NUM, 4096)
    .finish();
const ECHO: u32 = 1024;

struct Run {
    p50_us: f64,
    p99_us: f64,
    mb_s: f64,
    msgs_s: f64,
}

/// The CPUs the calling thread may run on, in increasing order.
fn allowed_cpus() -> Result<Vec<usize>, String> {
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(|e| format!("sched_getaffinity: {e}"))?;
    Ok((0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect())
}

/// Pins the calling thread to `cpu` and checks that it runs there.
fn pin(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|e| format!("pinning a thread to CPU {cpu}: {e}"))?;
    match sched_getcpu() {
        Ok(c) if c == cpu => Ok(()),
        Ok(c) => Err(format!("pinned to CPU {cpu}, but running on CPU {c}")),
        Err(e) => Err(format!("sched_getcpu: {e}")),
    }
}

/// The driver's and the device's CPU: `--cpus A,B` in `args`, or the
/// first two of `allowed` (the CPUs the process may run on).
fn choose_cpus(args: &[String], allowed: &[usize]) -> Result<(usize, usize), String> {
    let (a, b) = match args.iter().position(|a| a == "--cpus") {
        Some(i) => {
            let v = args.get(i + 1).ok_or("--cpus takes A,B")?;
            let parsed: Option<Vec<usize>> = v.split(',').map(|c| c.trim().parse().ok()).collect();
            match parsed.as_deref() {
                Some(&[a, b]) => (a, b),
                _ => return Err(format!("--cpus takes two CPU numbers A,B, got {v:?}")),
            }
        }
        None => match *allowed {
            [a, b, ..] => (a, b),
            _ => {
                return Err(format!(
                    "two CPUs are needed to pin the driver and the device apart; this process \
                     may run only on {allowed:?}"
                ))
            }
        },
    };
    if a == b {
        return Err(format!(
            "--cpus: the two threads need distinct CPUs, got {a},{b}"
        ));
    }
    for c in [a, b] {
        if !allowed.contains(&c) {
            return Err(format!(
                "CPU {c} is not one this process may run on ({allowed:?})"
            ));
        }
    }
    Ok((a, b))
}

/// One run; the calling thread (the driver) is already pinned, the device
/// thread pins itself to `device_cpu`.
fn one_run(size: usize, messages: usize, stream: bool, device_cpu: usize) -> Run {
    let sim = SimVdev::new(&TABLE, NUM as usize, 0x7040_0000);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // main() checked that this works before the first run.
            if let Err(e) = pin(device_cpu) {
                panic!("device thread: {e}");
            }
            let mut dev = RpmsgDevice::<'_, 2>::new(sim.vdev(), sim.bus());
            dev.create_endpoint("rpmsg-raw", Some(ECHO))
                .expect("endpoint");
            while !stop.load(Ordering::Relaxed) {
                let n = dev
                    .poll(&mut |_| {}, |tx, m| {
                        // Streaming fills Linux's RX ring: wait for the
                        // driver thread to drain it (never in ping-pong).
                        // The echo copies once, buffer to buffer, as the
                        // firmware's does.
                        loop {
                            let r = tx.try_send_with(ECHO, m.src, m.len(), |p| {
                                p.copy_from(0, &m.payload());
                                m.len()
                            });
                            match r {
                                Err(RpmsgError::NoBuffer) => std::thread::yield_now(),
                                r => break r.expect("echo"),
                            }
                        }
                    })
                    .expect("device poll");
                if n == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let (mut drv, _) = RpmsgDriver::probe(sim.vdev(), sim.bus(), sim.layout()).expect("probe");
        let mut out = [0u8; 512];
        let recv = |drv: &mut RpmsgDriver<'_>, out: &mut [u8]| loop {
            match drv.recv(out).expect("recv") {
                Some((m, _)) => return m,
                None => std::thread::yield_now(),
            }
        };
        recv(&mut drv, &mut out); // name-service announcement
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        if stream {
            let r = stream_echoes(&mut drv, &payload, messages);
            stop.store(true, Ordering::Relaxed);
            return r;
        }
        let mut lat = Vec::with_capacity(messages);
        let start = Instant::now();
        for _ in 0..messages {
            let t = Instant::now();
            loop {
                match drv.try_send(0x400, ECHO, &payload) {
                    Ok(_) => break,
                    Err(RpmsgError::NoBuffer) => std::thread::yield_now(),
                    Err(e) => panic!("send: {e}"),
                }
            }
            let m = recv(&mut drv, &mut out);
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            assert_eq!(m.len, size);
            assert_eq!(&out[..size], &payload[..]);
        }
        let wall = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        lat.sort_by(f64::total_cmp);
        Run {
            p50_us: lat[lat.len() / 2],
            p99_us: lat[(lat.len() * 99) / 100],
            mb_s: (size * messages) as f64 / wall / 1e6,
            msgs_s: messages as f64 / wall,
        }
    })
}

/// Keeps as many messages in flight as Linux has TX buffers: sends while
/// a buffer is free, takes every echo that arrived, until `messages`
/// echoes are back. Throughput = payload bytes one way over wall time.
fn stream_echoes(drv: &mut RpmsgDriver<'_>, payload: &[u8], messages: usize) -> Run {
    let mut out = [0u8; 512];
    let (mut sent, mut got) = (0usize, 0usize);
    let start = Instant::now();
    while got < messages {
        let mut progress = false;
        while sent < messages {
            match drv.try_send(0x400, ECHO, payload) {
                Ok(_) => {
                    sent += 1;
                    progress = true;
                }
                Err(RpmsgError::NoBuffer) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        while let Some((m, _)) = drv.recv(&mut out).expect("recv") {
            assert_eq!(m.len, payload.len());
            assert_eq!(&out[..m.len], payload);
            got += 1;
            progress = true;
        }
        if !progress {
            std::thread::yield_now();
        }
    }
    let wall = start.elapsed().as_secs_f64();
    Run {
        p50_us: f64::NAN,
        p99_us: f64::NAN,
        mb_s: (payload.len() * messages) as f64 / wall / 1e6,
        msgs_s: messages as f64 / wall,
    }
}

/// The smallest and the largest of the runs' values: how far the runs of
/// one invocation agree (compare figures only within one invocation).
fn spread(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v}"))
        })
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let runs = arg("--runs", 5).max(1);
    let messages = arg("--messages", 20_000).max(100);
    let args: Vec<String> = std::env::args().collect();
    // The process's CPUs, counted before main() pins itself to one.
    let mut ncpus = 0;
    let pinned = allowed_cpus().and_then(|allowed| {
        ncpus = allowed.len();
        let (driver, device) = choose_cpus(&args, &allowed)?;
        // A device thread that could not pin itself would leave the driver
        // waiting: try once here.
        std::thread::spawn(move || pin(device))
            .join()
            .map_err(|_| "checking the device CPU panicked".to_string())??;
        pin(driver)?;
        Ok((driver, device))
    });
    let (driver_cpu, device_cpu) = match pinned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("amp-proto-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("amp-proto two-thread echo benchmark");
    println!(
        "method: device role (echo) and driver role (Linux model) in two threads over one \
         shared window, polling; {messages} echoes per run, median of {runs} runs; \
         the process may run on {ncpus} CPUs; release build"
    );
    println!(
        "threads pinned (sched_setaffinity): driver on CPU {driver_cpu}, device on CPU {device_cpu}"
    );
    println!("load average before: {}", loadavg());
    println!();
    println!("ping-pong: one message in flight, each echo timed from send to reply");
    println!();
    println!(
        "| payload | round trip p50 (µs) | round trip p99 (µs) | throughput (MB/s, one way) \
         | runs' p50 min–max (µs) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for size in [16usize, 128, RPMSG_MAX_PAYLOAD] {
        let rs: Vec<Run> = (0..runs)
            .map(|_| one_run(size, messages, false, device_cpu))
            .collect();
        let (lo, hi) = spread(rs.iter().map(|r| r.p50_us));
        println!(
            "| {size} B | {:.2} | {:.2} | {:.1} | {lo:.2}–{hi:.2} |",
            median(rs.iter().map(|r| r.p50_us).collect()),
            median(rs.iter().map(|r| r.p99_us).collect()),
            median(rs.iter().map(|r| r.mb_s).collect()),
        );
    }
    println!();
    println!(
        "streaming: Linux keeps up to num (64) messages in flight, sending while a TX buffer \
         is free and draining echoes as they come"
    );
    println!();
    println!("| payload | messages/s (echoed) | throughput (MB/s, one way) | runs' MB/s min–max |");
    println!("|---:|---:|---:|---:|");
    for size in [16usize, 128, RPMSG_MAX_PAYLOAD] {
        let rs: Vec<Run> = (0..runs)
            .map(|_| one_run(size, messages, true, device_cpu))
            .collect();
        let (lo, hi) = spread(rs.iter().map(|r| r.mb_s));
        println!(
            "| {size} B | {:.0} | {:.1} | {lo:.1}–{hi:.1} |",
            median(rs.iter().map(|r| r.msgs_s).collect()),
            median(rs.iter().map(|r| r.mb_s).collect()),
        );
    }
    println!();
    println!("load average after: {}", loadavg());
    ExitCode::SUCCESS
}

/// `/proc/loadavg`'s first three fields: other work on the machine skews
/// every figure, so it is printed with them.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cpus_are_two_distinct_allowed_ones() {
        let none = args(&["amp-proto-bench"]);
        assert_eq!(choose_cpus(&none, &[2, 5, 7]), Ok((2, 5)));
        let e = choose_cpus(&none, &[3]).unwrap_err();
        assert!(e.contains("two CPUs are needed"), "{e}");
        let given = args(&["x", "--runs", "1", "--cpus", "7,2"]);
        assert_eq!(choose_cpus(&given, &[2, 5, 7]), Ok((7, 2)));
        for (v, words) in [
            ("1,1", "distinct"),
            ("1,4", "CPU 4 is not one"),
            ("1", "two CPU numbers"),
            ("1,2,3", "two CPU numbers"),
            ("a,b", "two CPU numbers"),
        ] {
            let e = choose_cpus(&args(&["x", "--cpus", v]), &[1, 2]).unwrap_err();
            assert!(e.contains(words), "--cpus {v}: {e}");
        }
        assert!(choose_cpus(&args(&["x", "--cpus"]), &[1, 2]).is_err());
    }

    #[test]
    fn spread_is_the_runs_min_and_max() {
        assert_eq!(spread([3.0, 1.5, 7.25, 2.0].into_iter()), (1.5, 7.25));
        assert_eq!(spread([4.0].into_iter()), (4.0, 4.0));
        assert_eq!(median(vec![3.0, 1.5, 7.25, 2.0, 5.0]), 3.0);
    }

    #[test]
    fn a_pinned_thread_runs_on_its_cpu_only() {
        let allowed = allowed_cpus().unwrap();
        let cpu = *allowed.last().unwrap();
        let (now, mask) = std::thread::spawn(move || {
            pin(cpu).unwrap();
            (sched_getcpu().unwrap(), allowed_cpus().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(now, cpu);
        assert_eq!(mask, [cpu]);
    }
}

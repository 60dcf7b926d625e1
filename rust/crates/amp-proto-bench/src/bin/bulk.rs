//! Benchmark of the bulk channel on the host, beside the machine's memcpy
//! bandwidth (the limit a zero-copy channel approaches).
//!
//! Method: one 1 MiB ring (the size of each half of the real region) on
//! the heap; the producer thread reserves a block, writes every byte of it
//! once in place (the block's sequence number in every byte: a memset)
//! and commits; the consumer thread takes the block, reads every byte
//! once in place (sums it as 8-byte words, checked against the known sum,
//! so nothing is skipped) and releases it. No doorbells: a side that finds
//! the ring full or empty yields its CPU and tries again (on a loaded
//! machine this, not the ring, sets the pace: see the load average the
//! program prints). The two threads are pinned to two distinct CPUs (`--cpus A,B`,
//! default the first two the process may use). A run moves `--bytes`
//! (default 1 GiB) in `--block` blocks (default 65536); GB/s is payload
//! bytes over the run's wall time (10^9 bytes/s). Printed: median and
//! the slowest run (p99 of so few runs) over `--runs` runs (default 7).
//!
//! memcpy: one thread copies the same amount in blocks of the same size
//! between two 1 MiB buffers (`copy_from_slice`, i.e. libc memcpy), same
//! runs and median; that reads and writes every byte once, as the channel
//! does on its two sides together.

use std::process::ExitCode;
use std::time::Instant;

use amp_proto::bulk::{init, BulkError, Consumer, Producer, REGION_SIZE};
use amp_proto::shmem::OwnedRegion;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

const SPAN: usize = REGION_SIZE / 2;

fn pin(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("pin to CPU {cpu}: {e}"))
}

fn arg(args: &[String], name: &str, default: usize) -> Result<usize, String> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or(format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn cpus(args: &[String]) -> Result<(usize, usize), String> {
    if let Some(i) = args.iter().position(|a| a == "--cpus") {
        let v = args.get(i + 1).ok_or("--cpus takes A,B")?;
        let p: Vec<usize> = v
            .split(',')
            .map(|c| c.trim().parse().map_err(|_| format!("--cpus {v}")))
            .collect::<Result<_, _>>()?;
        return match p[..] {
            [a, b] if a != b => Ok((a, b)),
            _ => Err(format!("--cpus takes two distinct CPUs, got {v}")),
        };
    }
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(|e| e.to_string())?;
    let all: Vec<usize> = (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect();
    match all[..] {
        [a, b, ..] => Ok((a, b)),
        _ => Err(format!("two CPUs are needed, this process may use {all:?}")),
    }
}

/// The sum of the 8-byte words of block `seq` (every byte `seq as u8`).
fn block_sum(seq: u64, words: u64) -> u64 {
    u64::from(seq as u8)
        .wrapping_mul(0x0101_0101_0101_0101)
        .wrapping_mul(words)
}

/// One channel run: GB/s.
fn channel_run(bytes: usize, block: usize, cpus: (usize, usize)) -> f64 {
    let region = OwnedRegion::new(SPAN);
    let s = region.shm();
    init(s).expect("ring");
    let blocks = bytes / block;
    let words = (block / 8) as u64;
    let t = std::thread::scope(|sc| {
        sc.spawn(move || {
            pin(cpus.1).expect("consumer CPU");
            let mut c = Consumer::attach(s).expect("attach");
            for seq in 0..blocks as u64 {
                let g = loop {
                    match c.try_recv() {
                        Ok(g) => break g,
                        Err(BulkError::Empty) => std::thread::yield_now(),
                        Err(e) => panic!("consumer: {e}"),
                    }
                };
                // SAFETY: published and not released; the producer thread
                // follows the protocol and does not write it.
                let b = unsafe { g.as_slice() };
                let sum = b
                    .chunks_exact(8)
                    .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
                    .fold(0u64, u64::wrapping_add);
                assert_eq!(sum, block_sum(seq, words), "block {seq}");
                g.release();
            }
        });
        let mut p = Producer::attach(s).expect("attach");
        let t0 = Instant::now();
        for seq in 0..blocks as u64 {
            let mut g = loop {
                match p.try_reserve(block) {
                    Ok(g) => break g,
                    Err(BulkError::Full) => std::thread::yield_now(),
                    Err(e) => panic!("producer: {e}"),
                }
            };
            // SAFETY: the reservation is ours until commit.
            let b = unsafe { g.as_mut_slice() };
            b.fill(seq as u8);
            g.commit(block, seq as u32);
        }
        t0
    });
    // The scope joined the consumer: every block was checked.
    (blocks * block) as f64 / t.elapsed().as_secs_f64() / 1e9
}

/// One run with both roles in the calling thread, block by block (reserve,
/// write, commit, receive, read, release): the channel's own cost per byte
/// with both touches, free of scheduling (two threads on an idle machine
/// can only do better). GB/s.
fn one_thread_run(bytes: usize, block: usize) -> f64 {
    let region = OwnedRegion::new(SPAN);
    let s = region.shm();
    init(s).expect("ring");
    let mut p = Producer::attach(s).expect("attach");
    let mut c = Consumer::attach(s).expect("attach");
    let words = (block / 8) as u64;
    let t0 = Instant::now();
    for seq in 0..(bytes / block) as u64 {
        let mut g = p.try_reserve(block).expect("room: the ring is drained");
        // SAFETY: the reservation is ours until commit.
        unsafe { g.as_mut_slice() }.fill(seq as u8);
        g.commit(block, seq as u32);
        let g = c.try_recv().expect("the record just sent");
        // SAFETY: published, not released; nothing else writes it.
        let sum = unsafe { g.as_slice() }
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .fold(0u64, u64::wrapping_add);
        assert_eq!(sum, block_sum(seq, words), "block {seq}");
        g.release();
    }
    (bytes / block * block) as f64 / t0.elapsed().as_secs_f64() / 1e9
}

/// One memcpy run: GB/s.
fn memcpy_run(bytes: usize, block: usize) -> f64 {
    let src = vec![0x5Au8; SPAN];
    let mut dst = vec![0u8; SPAN];
    let per = SPAN / block;
    let t0 = Instant::now();
    for k in 0..bytes / block {
        let o = (k % per) * block;
        dst[o..o + block].copy_from_slice(&src[o..o + block]);
        std::hint::black_box(&mut dst);
    }
    (bytes / block * block) as f64 / t0.elapsed().as_secs_f64() / 1e9
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = (|| -> Result<(), String> {
        let runs = arg(&args, "--runs", 7)?.max(1);
        let bytes = arg(&args, "--bytes", 1 << 30)?;
        let block = arg(&args, "--block", 65536)?;
        if block % 8 != 0 || block == 0 || block > 500_000 {
            return Err("--block: a multiple of 8, at most 500000".into());
        }
        let cpus = cpus(&args)?;
        let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!("load average before: {}", load().trim());
        pin(cpus.0)?;
        let ch: Vec<f64> = (0..runs).map(|_| channel_run(bytes, block, cpus)).collect();
        let one: Vec<f64> = (0..runs).map(|_| one_thread_run(bytes, block)).collect();
        let mc: Vec<f64> = (0..runs).map(|_| memcpy_run(bytes, block)).collect();
        println!("load average after: {}", load().trim());
        let (ch50, chmin) = stats(ch);
        let (mc50, mcmin) = stats(mc);
        let (one50, onemin) = stats(one);
        println!(
            "FIGURE: bulk channel {block} B blocks, payload written once + read once (2 threads, CPUs {},{}): median {ch50:.2} GB/s, slowest run {chmin:.2} GB/s ({runs} runs of {bytes} B)",
            cpus.0, cpus.1
        );
        println!(
            "FIGURE: bulk channel {block} B blocks, both roles in one thread (write, commit, read, release): median {one50:.2} GB/s, slowest run {onemin:.2} GB/s ({runs} runs of {bytes} B)"
        );
        println!(
            "FIGURE: memcpy {block} B blocks within 1 MiB (1 thread): median {mc50:.2} GB/s, slowest run {mcmin:.2} GB/s ({runs} runs of {bytes} B)"
        );
        Ok(())
    })();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("amp-proto-bench bulk: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `ampctl bulk`: records through the firmware's bulk echo service, every
//! byte checked, with the pipeline depth and an optionally slow reader.

use std::path::Path;
use std::time::{Duration, Instant};

use amp_host::bulk::BulkDevice;
use anyhow::{bail, Context, Result};
use serde::Serialize;

/// One run's result.
#[derive(Debug, Serialize)]
pub struct BulkRun {
    /// Records echoed and checked.
    pub records: u32,
    /// Payload bytes per record.
    pub size: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Payload bytes echoed per second (one way).
    pub bytes_per_s: f64,
    /// Times the sender found the ring full and waited.
    pub sender_waits: u32,
}

/// The byte at `i` of record `seq`.
fn pat(seq: u32, i: usize) -> u8 {
    (seq.wrapping_mul(0x9E37_79B9) >> 24) as u8 ^ (i as u8) ^ ((i >> 8) as u8)
}

/// Sends `count` records of `size` bytes, at most `window` unanswered,
/// receives each echo (sleeping `slow` before each read) and checks its tag
/// and every byte. Zero-copy on both ends: records are written and checked
/// in the ring.
pub fn run(
    dev: &Path,
    count: u32,
    size: usize,
    window: u32,
    slow: Duration,
    timeout: Duration,
) -> Result<BulkRun> {
    let d = BulkDevice::open(dev)?;
    let mut ch = d.channel()?;
    if size > ch.max_payload() {
        bail!(
            "--size {size}: at most {} bytes per record",
            ch.max_payload()
        );
    }
    let window = window.max(1);
    let (mut sent, mut got, mut waits) = (0u32, 0u32, 0u32);
    let t0 = Instant::now();
    while got < count {
        while sent < count && sent - got < window {
            let mut g = match ch.reserve(size, Some(Duration::ZERO)) {
                Ok(g) => g,
                Err(amp_host::Error::Timeout { .. }) => {
                    waits += 1;
                    if sent == got {
                        // Nothing in flight to read: wait for room.
                        ch.reserve(size, Some(timeout))
                            .context("waiting for room")?
                    } else {
                        break;
                    }
                }
                Err(e) => return Err(e.into()),
            };
            // SAFETY: the reservation is Linux's until the commit; the
            // firmware follows the bulk protocol and does not touch it.
            for (i, b) in unsafe { g.as_mut_slice() }.iter_mut().enumerate() {
                *b = pat(sent, i);
            }
            g.commit(size, sent)?;
            sent += 1;
        }
        if !slow.is_zero() {
            std::thread::sleep(slow);
        }
        let r = ch
            .recv_borrowed(Some(timeout))
            .with_context(|| format!("waiting for echo {got}"))?;
        if r.tag() != got || r.len() != size {
            bail!(
                "echo {got}: got tag {} with {} bytes, want {size}",
                r.tag(),
                r.len()
            );
        }
        // SAFETY: the record is Linux's until released; the firmware
        // follows the protocol and does not write it.
        let data = unsafe { r.as_slice() };
        if let Some(i) = (0..size).find(|&i| data[i] != pat(got, i)) {
            bail!(
                "echo {got}: byte {i} is {:#04x}, want {:#04x}",
                data[i],
                pat(got, i)
            );
        }
        r.release()?;
        got += 1;
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(BulkRun {
        records: count,
        size,
        seconds,
        bytes_per_s: f64::from(count) * size as f64 / seconds,
        sender_waits: waits,
    })
}

//! Round-trip statistics for `ampctl bench` and `ampctl ping`.

use serde::Serialize;
use std::time::Duration;

/// Summary of a series of round trips.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Round trips measured.
    pub count: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Fastest, microseconds.
    pub min_us: f64,
    /// Median, microseconds.
    pub p50_us: f64,
    /// 90th percentile, microseconds.
    pub p90_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Slowest, microseconds.
    pub max_us: f64,
    /// Mean, microseconds.
    pub mean_us: f64,
    /// Messages per second over the whole run (each round trip = 1 message each way).
    pub msgs_per_s: f64,
    /// Payload throughput, both directions, bytes per second.
    pub bytes_per_s: f64,
}

/// Nearest-rank percentile of sorted samples (`p` in 0..=100).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Summarises `samples` measured over `elapsed` wall time.
pub fn summarize(mut samples: Vec<Duration>, size: usize, elapsed: Duration) -> Summary {
    samples.sort_unstable();
    let count = samples.len();
    let total: Duration = samples.iter().sum();
    let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    Summary {
        count,
        size,
        min_us: samples.first().copied().map_or(0.0, us),
        p50_us: us(percentile(&samples, 50.0)),
        p90_us: us(percentile(&samples, 90.0)),
        p99_us: us(percentile(&samples, 99.0)),
        max_us: samples.last().copied().map_or(0.0, us),
        mean_us: if count == 0 {
            0.0
        } else {
            us(total) / count as f64
        },
        msgs_per_s: count as f64 / secs,
        bytes_per_s: (2 * count * size) as f64 / secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&v, 90.0), Duration::from_micros(90));
        assert_eq!(percentile(&v, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_micros(100));
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_micros(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn summary() {
        let v: Vec<Duration> = [30, 10, 20, 40]
            .into_iter()
            .map(Duration::from_micros)
            .collect();
        let s = summarize(v, 100, Duration::from_secs(1));
        assert_eq!(
            (s.count, s.min_us, s.p50_us, s.max_us, s.mean_us),
            (4, 10.0, 20.0, 40.0, 25.0)
        );
        assert_eq!(s.msgs_per_s, 4.0);
        assert_eq!(s.bytes_per_s, 800.0);
    }
}

//! Per-second figures of a load run (requests, status classes, a latency histogram, and
//! exact percentiles from an HDR histogram per second), for the charts of `run`'s report:
//! throughput and latency over time.

use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Upper bounds of the latency buckets, in microseconds (the last is open-ended).
pub const LATENCY_BOUNDS_US: [u64; 12] = [
    250,
    500,
    1_000,
    2_000,
    4_000,
    8_000,
    16_000,
    32_000,
    64_000,
    128_000,
    512_000,
    u64::MAX,
];

/// One second of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the attack started.
    pub second: u32,
    /// Requests that ended in it.
    pub requests: u64,
    /// By status class: no answer, 1xx, 2xx, 3xx, 4xx, 5xx.
    pub statuses: [u64; 6],
    /// By latency, one count per bucket of [`LATENCY_BOUNDS_US`].
    pub latency: [u64; 12],
    /// The second's median latency in microseconds, from its HDR histogram (3
    /// significant digits; 0 without requests).
    #[serde(default)]
    pub p50_us: u64,
    /// Its 99th percentile.
    #[serde(default)]
    pub p99_us: u64,
    /// Its slowest.
    #[serde(default)]
    pub max_us: u64,
}

/// Per-second figures, collected from many users at once (the counts sharded to keep
/// locks cold; the per-second HDR histograms, a few KB each and resized to the slowest
/// time recorded, under one lock).
#[derive(Debug)]
pub struct Timeline {
    shards: Vec<Mutex<Vec<Second>>>,
    exact: Mutex<Vec<Option<Histogram<u32>>>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            shards: (0..16).map(|_| Mutex::new(Vec::new())).collect(),
            exact: Mutex::new(Vec::new()),
        }
    }
}

impl Timeline {
    /// Records one request: when it ended (ms since the start), how long it took, its
    /// status (0: no answer), recorded by goose user `user`.
    pub fn record(&self, user: usize, elapsed_ms: u64, latency_us: u64, status: u16) {
        let second = (elapsed_ms / 1000).min(86_400) as usize;
        let Some(shard) = self.shards.get(user % self.shards.len()) else {
            return;
        };
        let Ok(mut seconds) = shard.lock() else {
            return;
        };
        if seconds.len() <= second {
            seconds.resize_with(second + 1, Second::default);
        }
        let s = &mut seconds[second];
        s.requests += 1;
        s.statuses[usize::from(status / 100).min(5)] += 1;
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|b| latency_us < *b)
            .unwrap_or(LATENCY_BOUNDS_US.len() - 1);
        s.latency[bucket] += 1;
        drop(seconds);
        if let Ok(mut exact) = self.exact.lock() {
            if exact.len() <= second {
                exact.resize_with(second + 1, || None);
            }
            let h = &mut exact[second];
            if h.is_none() {
                *h = Histogram::new(3).ok();
            }
            if let Some(h) = h {
                // `record` grows an auto-resizing histogram; saturating does not.
                if h.record(latency_us.max(1)).is_err() {
                    h.saturating_record(latency_us.max(1));
                }
            }
        }
    }

    /// Every second from the start, the shards added up.
    pub fn seconds(&self) -> Vec<Second> {
        let mut out: Vec<Second> = Vec::new();
        for shard in &self.shards {
            let Ok(seconds) = shard.lock() else { continue };
            if out.len() < seconds.len() {
                out.resize_with(seconds.len(), Second::default);
            }
            for (o, s) in out.iter_mut().zip(seconds.iter()) {
                o.requests += s.requests;
                for i in 0..6 {
                    o.statuses[i] += s.statuses[i];
                }
                for i in 0..o.latency.len() {
                    o.latency[i] += s.latency[i];
                }
            }
        }
        let exact = self.exact.lock();
        for (i, s) in out.iter_mut().enumerate() {
            s.second = i as u32;
            let h = exact.as_ref().ok().and_then(|e| e.get(i)?.as_ref());
            if let Some(h) = h.filter(|h| !h.is_empty()) {
                s.p50_us = h.value_at_quantile(0.5);
                s.p99_us = h.value_at_quantile(0.99);
                s.max_us = h.max();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_add_up_across_users() {
        let t = Timeline::default();
        t.record(0, 10, 300, 201);
        t.record(1, 999, 100, 400);
        t.record(17, 2_500, 70_000, 0);
        let s = t.seconds();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].requests, 2);
        assert_eq!(s[0].statuses, [0, 0, 1, 0, 1, 0]);
        assert_eq!(s[0].latency[0], 1);
        assert_eq!(s[0].latency[1], 1);
        assert_eq!(s[1].requests, 0);
        assert_eq!(s[2].statuses[0], 1);
        assert_eq!(s[2].latency[9], 1);
        // 70 ms to 3 digits: the top of its HDR bucket.
        assert_eq!(
            (s[2].p50_us, s[2].p99_us, s[2].max_us),
            (70_015, 70_015, 70_015)
        );
        assert_eq!((s[1].p50_us, s[1].max_us), (0, 0));
    }

    /// Each second's percentiles are its own, to 3 significant digits, whichever users
    /// recorded them.
    #[test]
    fn each_seconds_percentiles_are_exact() {
        let t = Timeline::default();
        for i in 0..1000u64 {
            // Second 0: 1 .. 1000 us; second 1: ten times slower.
            t.record(i as usize, i % 1000, i + 1, 201);
            t.record(i as usize + 7, 1000 + i % 1000, (i + 1) * 10, 201);
        }
        let s = t.seconds();
        assert_eq!(s[0].requests, 1000);
        assert_eq!((s[0].p50_us, s[0].p99_us, s[0].max_us), (500, 990, 1000));
        let near = |a: u64, b: u64| a.abs_diff(b) <= b / 1000;
        assert!(
            near(s[1].p50_us, 5_000) && near(s[1].p99_us, 9_900),
            "{:?}",
            s[1]
        );
        assert!(near(s[1].max_us, 10_000));
    }
}

//! Per-second figures of a load run (requests, status classes, a latency histogram), for
//! the charts of `run`'s report: throughput and latency over time.

use std::sync::Mutex;

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
}

/// Per-second figures, collected from many users at once (sharded to keep locks cold).
#[derive(Debug)]
pub struct Timeline {
    shards: Vec<Mutex<Vec<Second>>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            shards: (0..16).map(|_| Mutex::new(Vec::new())).collect(),
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
        for (i, s) in out.iter_mut().enumerate() {
            s.second = i as u32;
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
    }
}

//! Throttling is not a failure (CONTRACT.md section 4, under the error table): a 429 is
//! waited out (`Retry-After` in seconds or as an HTTP date, capped; exponential back-off
//! without one) and the same request sent again; only the final answer is judged. A
//! client-side rate ([`Pacer`]) keeps a run under a known quota.
//!
//! Every part of the suite that talks to a target sends through [`send`]: the checker's
//! cases and probes, its fuzz phase, `run`, and `load`'s integrity read-back.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::transport::{Request, Response, Transport, TransportError};

/// How 429s are waited out.
#[derive(Clone, Debug, PartialEq)]
pub struct Throttle {
    /// How many times a throttled request is sent again before it counts as unanswered.
    pub retries: u32,
    /// The longest single wait, whatever `Retry-After` says.
    pub max_wait: Duration,
    /// The first back-off when a 429 has no usable `Retry-After` (doubled each time).
    pub backoff: Duration,
    /// At most this many requests per second from the whole run (`None`: unpaced).
    pub rate: Option<f64>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            retries: 8,
            max_wait: Duration::from_secs(30),
            backoff: Duration::from_millis(250),
            rate: None,
        }
    }
}

impl Throttle {
    /// How long to wait after the `attempt`-th 429 (0-based) answered with `r`.
    pub fn wait(&self, r: &Response, attempt: u32) -> Duration {
        let told = r
            .header("retry-after")
            .and_then(|v| retry_after(v, SystemTime::now()));
        let wait = told.unwrap_or_else(|| self.backoff.saturating_mul(1 << attempt.min(16)));
        wait.min(self.max_wait)
    }
}

/// The wait a `Retry-After` value asks for: delay-seconds, or an HTTP date (RFC 9110
/// section 10.2.3; a date in the past is no wait). `None` when it is neither.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The longest wait a target asked for with a 429 since a measurement last waited its
/// quota back (see [`settle`]). One for the process: a process measures one target (a
/// wait owed to another costs time, never a wrong figure).
static OWED: Mutex<Option<Duration>> = Mutex::new(None);

/// Notes that a target answered 429 and asked for `wait` (the back-off, when it did not
/// say): whatever measures it next first waits that long.
pub fn owe(wait: Duration) {
    if let Ok(mut owed) = OWED.lock() {
        *owed = Some(owed.map_or(wait, |w| w.max(wait)));
    }
}

/// [`owe`]s what a 429's `Retry-After` value asks for: 1 s when there is none or it is
/// neither form, at most 10 s (the load client's wait).
pub fn owe_retry_after(value: Option<&str>) {
    let told = value.and_then(|v| retry_after(v, SystemTime::now()));
    owe(told
        .unwrap_or(Duration::from_secs(1))
        .min(Duration::from_secs(10)));
}

/// Waits out what [`owe`] noted since the last call, counted from now, and returns how
/// long. Traffic that was throttled (a load's read-back or clean-up, a `--find-max` step
/// past the limit) went on spending the target's quota after its last 429, until its last
/// request; the target said how long a quota takes to come back. A measurement that
/// starts sooner measures the traffic before it (`run --find-max` once had its first
/// step, at 100/s against a limit of 300/s, fail on 6% of 429s just after the load
/// phase's clean-up).
pub async fn settle() -> Duration {
    let owed = OWED.lock().ok().and_then(|mut owed| owed.take());
    let wait = owed.unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
    wait
}

/// Spaces requests at most `rate` per second apart, across every task that shares it.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer for `rate` requests per second (`None` for a rate that is not positive).
    pub fn new(rate: f64) -> Option<Pacer> {
        (rate.is_finite() && rate > 0.0).then(|| Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        })
    }

    /// Waits for this request's slot.
    pub async fn wait(&self) {
        let slot = match self.next.lock() {
            Ok(mut next) => {
                let slot = (*next).max(Instant::now());
                *next = slot + self.interval;
                slot
            }
            Err(_) => return,
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// What became of one request.
#[derive(Debug)]
pub struct Sent {
    /// The final answer, or why there is none ([`TransportError::Throttled`] when every
    /// attempt was a 429).
    pub result: Result<Response, TransportError>,
    /// How many 429s were waited out on the way.
    pub throttled: u32,
}

/// Sends `req`, waiting out 429s as `throttle` says, paced by `pacer`.
pub async fn send(
    transport: &Transport,
    req: &Request,
    timeout: Duration,
    throttle: &Throttle,
    pacer: Option<&Pacer>,
) -> Sent {
    let mut throttled = 0;
    loop {
        if let Some(p) = pacer {
            p.wait().await;
        }
        let result = transport.send(req.clone(), timeout).await;
        match &result {
            Ok(r) if r.status == 429 => {
                if throttled >= throttle.retries {
                    return Sent {
                        result: Err(TransportError::Throttled(throttled + 1)),
                        throttled,
                    };
                }
                let wait = throttle.wait(r, throttled);
                owe(wait);
                tokio::time::sleep(wait).await;
                throttled += 1;
            }
            _ => return Sent { result, throttled },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A measurement waits the longest wait owed since the last one, from when it starts,
    /// and really sleeps it.
    #[test]
    fn settle_waits_the_longest_wait_owed() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            owe(Duration::from_millis(250));
            owe(Duration::from_millis(100));
            let started = Instant::now();
            let waited = settle().await;
            assert!(waited >= Duration::from_millis(250), "{waited:?}");
            assert!(started.elapsed() >= waited, "{:?}", started.elapsed());
        });
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:39 GMT", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }

    #[test]
    fn waits_are_capped_and_back_off_without_a_header() {
        let t = Throttle {
            max_wait: Duration::from_secs(2),
            ..Throttle::default()
        };
        let mut r = Response {
            status: 429,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            elapsed: Duration::ZERO,
        };
        assert_eq!(t.wait(&r, 0), Duration::from_millis(250));
        assert_eq!(t.wait(&r, 2), Duration::from_secs(1));
        assert_eq!(t.wait(&r, 5), Duration::from_secs(2), "capped");
        r.headers.insert("retry-after", "1".parse().unwrap());
        assert_eq!(t.wait(&r, 5), Duration::from_secs(1));
        r.headers.insert("retry-after", "3600".parse().unwrap());
        assert_eq!(t.wait(&r, 0), Duration::from_secs(2), "capped");
    }

    #[tokio::test]
    async fn a_pacer_spaces_requests() {
        let p = Pacer::new(100.0).unwrap();
        let start = Instant::now();
        for _ in 0..11 {
            p.wait().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
        assert!(Pacer::new(0.0).is_none() && Pacer::new(f64::NAN).is_none());
    }
}

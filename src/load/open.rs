//! The open model (`load --rate R`, `--rate-stages`): requests start on a fixed schedule,
//! whatever the target answers, like k6's `constant-arrival-rate` and
//! `ramping-arrival-rate` executors (goose has only the closed model: each user sends its
//! next request when the last one answered, so a stalled server slows the senders down
//! and the stall hides from the percentiles, "coordinated omission").
//!
//! A request is started at its scheduled time on a free connection of a pool that grows
//! up to `max_connections`; when none is free it is **dropped** and counted ("the
//! generator could not keep up"), never silently skipped. Its latency is measured from
//! its **scheduled** start, so a stall shows in the percentiles, and kept in HDR
//! histograms (microseconds, 3 significant digits) per kind of request; the scheduling
//! lag (actual start minus scheduled start) has its own. The payloads, the direct client,
//! the integrity pass and the clean-up are those of the goose attack
//! ([`Attack`]).
//!
//! The schedule is served by one thread per core (a shard), each on a current-thread
//! runtime of its own, woken by a `timerfd`, with its own connections, figures and list
//! of created devices. The shards take turns: at its turn a shard starts every request
//! due that none has taken (one shared atomic count), so a shard stalled by the OS
//! delays nothing beyond the next shard's turn; no request crosses threads and no lock
//! is shared on the way; the shards' histograms are added when reported or scraped.
//!
//! [`find_max`] steps the rate up until a threshold breaks (the highest rate held);
//! `metrics_addr` serves the counters and histograms to Prometheus while a run lasts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::client::{self, Connection, Direct};
use super::metrics;
use super::report::View;
use super::scenarios;
use super::threshold::{ThresholdResult, judge_all};
use super::{Attack, CreatedList, IntegrityReport, Leftovers, Options, RequestReport};
use crate::generate::{Rng, Source};
use crate::target::Cleanup;

/// One stage of an arrival-rate schedule: over `duration` the rate goes in a straight
/// line from the previous stage's target (the start rate, for the first) to `target`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Requests per second at its end.
    pub target: f64,
}

/// An arrival-rate schedule: a start rate and stages.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    /// Requests per second at the start.
    pub start: f64,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

fn rate_ok(r: f64) -> Result<f64, String> {
    if r.is_finite() && (0.0..=10_000_000.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!(
            "a rate must be 0 to 10,000,000 requests per second, not {r}"
        ))
    }
}

impl Rate {
    /// `rate` requests per second for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Result<Rate, String> {
        let rate = rate_ok(rate)?;
        Ok(Rate {
            start: rate,
            stages: vec![Stage {
                duration,
                target: rate,
            }],
        })
    }

    /// Stages written `DURATION:RATE,...` (`"30s:100,1m:2000,30s:0"`), ramping from
    /// `start`.
    ///
    /// ```
    /// use devices_harness::load::open::Rate;
    /// let r = Rate::stages(0.0, "10s:100,10s:100,5s:0").unwrap();
    /// assert_eq!(r.times().count(), 500 + 1000 + 250);
    /// ```
    pub fn stages(start: f64, text: &str) -> Result<Rate, String> {
        let mut stages = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (d, r) = part
                .split_once(':')
                .ok_or_else(|| format!("stage '{part}' is not DURATION:RATE"))?;
            let duration = crate::text::parse_duration(d.trim())?;
            let target = r
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("stage '{part}': '{r}' is not a rate"))?;
            stages.push(Stage {
                duration,
                target: rate_ok(target)?,
            });
        }
        if stages.is_empty() {
            return Err("no stages".to_owned());
        }
        Ok(Rate {
            start: rate_ok(start)?,
            stages,
        })
    }

    /// The whole schedule's length.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The requests the schedule starts (the integral of the rate).
    pub fn expected(&self) -> f64 {
        let mut from = self.start;
        let mut n = 0.0;
        for s in &self.stages {
            n += (from + s.target) / 2.0 * s.duration.as_secs_f64();
            from = s.target;
        }
        n
    }

    /// When each request starts, from the start of the run: the k-th when the integral
    /// of the rate reaches k.
    pub fn times(&self) -> Schedule<'_> {
        Schedule {
            rate: self,
            stage: 0,
            stage_start: 0.0,
            base: 0.0,
            k: 0,
        }
    }

    /// `"30s at 200 req/s"`, or the stages.
    pub fn describe(&self) -> String {
        match self.stages.as_slice() {
            [s] if s.target == self.start => {
                format!("{:?} at {} req/s", s.duration, s.target)
            }
            stages => {
                let parts: Vec<String> = stages
                    .iter()
                    .map(|s| format!("{:?}:{}", s.duration, s.target))
                    .collect();
                format!("stages {} from {} req/s", parts.join(","), self.start)
            }
        }
    }
}

/// The start times of a [`Rate`], in order.
pub struct Schedule<'a> {
    rate: &'a Rate,
    stage: usize,
    stage_start: f64,
    base: f64,
    k: u64,
}

impl Iterator for Schedule<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let k = (self.k + 1) as f64;
        loop {
            let stage = self.rate.stages.get(self.stage)?;
            let from = match self.stage {
                0 => self.rate.start,
                i => self.rate.stages.get(i - 1).map_or(0.0, |s| s.target),
            };
            let len = stage.duration.as_secs_f64();
            let in_stage = (from + stage.target) / 2.0 * len;
            let need = k - self.base;
            if in_stage > 0.0 && need <= in_stage + 1e-9 {
                // rate(t) = from + 2at: the count by t is from * t + a * t^2.
                let a = (stage.target - from) / (2.0 * len);
                let t = if a.abs() < 1e-12 {
                    need / from
                } else {
                    (-from + (from * from + 4.0 * a * need).max(0.0).sqrt()) / (2.0 * a)
                };
                self.k += 1;
                return Some(Duration::from_secs_f64(
                    self.stage_start + t.clamp(0.0, len),
                ));
            }
            self.base += in_stage;
            self.stage_start += len;
            self.stage += 1;
        }
    }
}

/// How an open-model run goes besides [`Options`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The schedule.
    pub rate: Rate,
    /// The most connections open at once (each carries one request at a time).
    pub max_connections: usize,
    /// Pass/fail rules ([`super::threshold`]): `p99<250ms`, `p99.9<1s`, `max<2s`,
    /// `mean<10ms`, `error-rate<1%`, `dropped<1%`, `rps>=1000`.
    pub thresholds: Vec<String>,
}

/// The schema id of an open-model report.
pub const OPEN_SCHEMA: &str = "devices-harness/open-report/1";

/// What an open-model run measured (one worker's, or several merged by `load merge`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenReport {
    /// [`OPEN_SCHEMA`].
    pub schema: String,
    /// The workers whose figures these are.
    pub workers: Vec<usize>,
    /// Workers in the whole run.
    pub worker_count: usize,
    /// The target.
    pub host: String,
    /// The schedule, in words.
    pub schedule: String,
    /// The requests the schedule started.
    pub scheduled: u64,
    /// Sent on time (or nearly: see `lag_ms`).
    pub sent: u64,
    /// Due, but no connection was free (the pool was at `max_connections`): the
    /// generator could not keep up.
    pub dropped: u64,
    /// The schedule's mean rate, requests per second.
    pub target_rate: f64,
    /// Sent per second of the schedule.
    pub achieved_rate: f64,
    /// The schedule's length and the drain after it, in seconds.
    pub seconds: f64,
    /// The schedule's length, in seconds (what `achieved_rate` is over).
    pub length_seconds: f64,
    /// The pool's bound, and how many connections it opened.
    pub max_connections: usize,
    /// Connections opened.
    pub connections: usize,
    /// Per kind (`create`, `malformed`) and `all`: latency from the scheduled start.
    pub requests: BTreeMap<String, RequestReport>,
    /// Actual start minus scheduled start of the requests sent (`count`: sent; the
    /// histogram and `latency_ms` are the lag's).
    pub lag: RequestReport,
    /// The thresholds' verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// The read-back of every created device.
    pub integrity: IntegrityReport,
    /// What became of the created devices.
    pub cleanup: Cleanup,
}

impl OpenReport {
    /// Whether every threshold held and no write was lost or altered.
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed) && self.integrity.clean()
    }

    /// The report for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "load (open model) {}: {}, {} scheduled, {} sent, {} dropped (the generator could not keep up), {:.1} req/s of {:.1}, {} connections\n\n",
            self.host,
            self.schedule,
            self.scheduled,
            self.sent,
            self.dropped,
            self.achieved_rate,
            self.target_rate,
            self.connections
        );
        s.push_str("| request | count | fail | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | statuses |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (name, k) in &self.requests {
            let l = &k.latency_ms;
            let statuses: Vec<String> = k
                .status_codes
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect();
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                k.count,
                k.fail,
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max,
                statuses.join(", ")
            );
        }
        let l = &self.lag.latency_ms;
        let _ = writeln!(
            s,
            "\nlatency from the scheduled start (HDR, 3 digits); scheduling lag p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            l.p50, l.p99, l.max
        );
        let _ = writeln!(s, "{}", self.integrity.line());
        if let Some(line) = self.cleanup.line() {
            let _ = writeln!(s, "{line}");
        }
        for t in &self.thresholds {
            let _ = writeln!(s, "threshold {t}");
        }
        s.push_str(if self.passed() {
            "passed\n"
        } else {
            "FAILED\n"
        });
        s
    }
}

/// Latency histograms and counts, shared by the requests in flight.
struct Stats {
    kinds: [Mutex<Kind>; 2],
    lag: Mutex<Histogram<u64>>,
    scheduled: AtomicU64,
    dropped: AtomicU64,
}

struct Kind {
    latency: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    ok: u64,
    failed: u64,
}

const KINDS: [&str; 2] = ["create", "malformed"];

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 us to 1 hour, 3 significant digits.
    Ok(Histogram::new_with_bounds(1, 3_600_000_000, 3)?)
}

impl Stats {
    fn new() -> anyhow::Result<Stats> {
        let kind = || -> anyhow::Result<Mutex<Kind>> {
            Ok(Mutex::new(Kind {
                latency: histogram()?,
                statuses: BTreeMap::new(),
                ok: 0,
                failed: 0,
            }))
        };
        Ok(Stats {
            kinds: [kind()?, kind()?],
            lag: Mutex::new(histogram()?),
            scheduled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// The shards' figures together (histograms added exactly).
    fn merged(all: &[Arc<Stats>]) -> anyhow::Result<Stats> {
        let out = Stats::new()?;
        let poisoned = || anyhow::anyhow!("a request panicked while recording");
        for stats in all {
            for (into, from) in out.kinds.iter().zip(&stats.kinds) {
                let (mut into, from) = (
                    into.lock().map_err(|_| poisoned())?,
                    from.lock().map_err(|_| poisoned())?,
                );
                into.latency.add(&from.latency)?;
                for (status, n) in &from.statuses {
                    *into.statuses.entry(*status).or_default() += n;
                }
                into.ok += from.ok;
                into.failed += from.failed;
            }
            out.lag
                .lock()
                .map_err(|_| poisoned())?
                .add(&*stats.lag.lock().map_err(|_| poisoned())?)?;
            for (into, from) in [
                (&out.scheduled, &stats.scheduled),
                (&out.dropped, &stats.dropped),
            ] {
                into.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        Ok(out)
    }

    /// The counters and histograms in the Prometheus text format ([`metrics`]).
    fn prometheus(&self) -> String {
        let mut s = String::with_capacity(4096);
        metrics::counter(
            &mut s,
            "devices_harness_scheduled_total",
            "Requests the open model's schedule made due.",
            self.scheduled.load(Ordering::Relaxed),
        );
        metrics::counter(
            &mut s,
            "devices_harness_dropped_total",
            "Requests due when every connection was busy: the generator could not keep up.",
            self.dropped.load(Ordering::Relaxed),
        );
        let kinds: Vec<_> = KINDS
            .iter()
            .zip(&self.kinds)
            .filter_map(|(name, k)| Some((*name, k.lock().ok()?)))
            .collect();
        let series: Vec<metrics::Series<'_>> = kinds
            .iter()
            .map(|(name, k)| metrics::Series {
                request: name,
                latency: &k.latency,
                statuses: &k.statuses,
            })
            .collect();
        metrics::requests(&mut s, &series, "Latency from the scheduled start.");
        if let Ok(lag) = self.lag.lock() {
            metrics::histogram(
                &mut s,
                "devices_harness_schedule_lag_seconds",
                "Actual start minus scheduled start of the requests sent.",
                &lag,
            );
        }
        s
    }

    fn record(&self, kind: usize, latency: Duration, status: u16, ok: bool) {
        if let Some(Ok(mut k)) = self.kinds.get(kind).map(Mutex::lock) {
            k.latency
                .saturating_record(latency.as_micros().max(1) as u64);
            *k.statuses.entry(status).or_default() += 1;
            if ok {
                k.ok += 1;
            } else {
                k.failed += 1;
            }
        }
    }
}

/// Connections, opened as needed up to a bound, each carrying one request at a time.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    opened: AtomicUsize,
    max: usize,
}

impl Pool {
    fn take(&self) -> Option<Connection> {
        if let Some(c) = self.idle.lock().ok()?.pop() {
            return Some(c);
        }
        let n = self.opened.fetch_add(1, Ordering::Relaxed);
        if n < self.max {
            return Some(Arc::new(tokio::sync::Mutex::new(None)));
        }
        self.opened.fetch_sub(1, Ordering::Relaxed);
        None
    }

    /// Connections opened.
    fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed).min(self.max)
    }

    fn put(&self, c: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(c);
        }
    }
}

/// Each shard wakes at most this often: it starts every request due by then that no
/// shard has taken.
const BATCH: Duration = Duration::from_micros(200);

/// A shard's runtime looks for I/O and its timer after at most this many task polls
/// (tokio's default is 61): a backlog of answers delays the schedule less.
const EVENT_INTERVAL: u32 = 8;

/// How many threads take turns at the schedule: one per core (the endpoint under test
/// usually shares them), at most 4, never more than connections.
fn shard_count(max_connections: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
        .min(max_connections.max(1))
}

/// The schedule the shards share: how many of its requests (in order) have been taken.
/// Each is taken by exactly one shard, whichever wakes first after it is due.
#[derive(Default)]
struct Taken(AtomicU64);

impl Taken {
    /// Takes the requests before `due` (those due by now) that no shard has taken: the
    /// range of their indices, empty when another shard was first.
    fn take(&self, due: u64) -> std::ops::Range<u64> {
        let from = self.0.fetch_max(due, Ordering::AcqRel);
        from..due.max(from)
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// When shard `index` of `count` next wakes for a request due at `at` (from the start):
/// its first turn at or after `at`. The shards' turns interleave on a clock of
/// `BATCH / count` (shard `i` has ticks `i`, `i + count`, ...), so each wakes at most every
/// `BATCH`, some shard every `BATCH / count`, and a shard that stalls (preempted, or busy
/// with answers) has its due requests taken by the next shard whose turn comes.
fn turn(at: Duration, index: usize, count: usize) -> Duration {
    let count = count.max(1) as u64;
    let tick = BATCH.as_nanos() as u64 / count;
    let first = (at.as_nanos() as u64).div_ceil(tick);
    let mine = first + (index as u64 + count - first % count) % count;
    Duration::from_nanos(mine.saturating_mul(tick))
}

/// One shard's walk through the schedule it shares: when it next wakes, and which
/// requests it takes when it does.
struct Turns<'a> {
    index: usize,
    count: usize,
    taken: &'a Taken,
    /// The schedule from request `next` on; `at` is request `next`'s start.
    times: Schedule<'a>,
    next: u64,
    at: Option<Duration>,
    due: Vec<Duration>,
}

impl<'a> Turns<'a> {
    fn new(rate: &'a Rate, taken: &'a Taken, index: usize, count: usize) -> Turns<'a> {
        let mut times = rate.times();
        let at = times.next();
        Turns {
            index,
            count,
            taken,
            times,
            next: 0,
            at,
            due: Vec::new(),
        }
    }

    fn advance(&mut self) {
        self.next += 1;
        self.at = self.times.next();
    }

    /// When (from the start of the run) this shard wakes next: its turn for the first
    /// request no shard has taken; `None` once every request is taken.
    fn next_wake(&mut self) -> Option<Duration> {
        while self.next < self.taken.get() {
            self.advance();
        }
        self.at.map(|first| turn(first, self.index, self.count))
    }

    /// At `now` (from the start of the run): takes every request due by then that no
    /// shard has taken, and gives their scheduled starts (none when another shard was
    /// first).
    fn take(&mut self, now: Duration) -> &[Duration] {
        let from = self.next;
        self.due.clear();
        while let Some(at) = self.at.filter(|at| *at <= now) {
            self.due.push(at);
            self.advance();
        }
        let mine = self.taken.take(self.next);
        let skip = usize::try_from(mine.start.saturating_sub(from)).unwrap_or(usize::MAX);
        self.due.get(skip..).unwrap_or_default()
    }
}

/// One of the threads that take turns at the schedule: its own current-thread runtime,
/// connections, timer, figures and list of created devices, so a request is started,
/// sent, answered and recorded on the thread that took it, with no hand-over between
/// threads (a task spawned from a timer thread onto a worker was most of the lag) and no
/// lock another thread may hold (a lock holder preempted by the endpoint's threads
/// stalled the other shard for milliseconds). Only the count of requests taken is
/// shared, and it is one atomic.
struct Shard {
    index: usize,
    count: usize,
    rate: Rate,
    taken: Arc<Taken>,
    started: Instant,
    malformed_share: f64,
    rng: Rng,
    shared: Arc<super::Shared>,
    stats: Arc<Stats>,
    pool: Arc<Pool>,
    direct: Arc<Direct>,
    created: Arc<Mutex<CreatedList>>,
    drain: Duration,
}

impl Shard {
    /// Takes its turns at the schedule on a runtime of its own, then waits up to `drain`
    /// for the requests still in flight.
    fn run(self) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .event_interval(EVENT_INTERVAL)
            .build()?;
        runtime.block_on(self.schedule())
    }

    async fn schedule(mut self) -> anyhow::Result<()> {
        let timer = Timer::new()?;
        let mut tasks = tokio::task::JoinSet::new();
        let (rate, taken) = (self.rate.clone(), Arc::clone(&self.taken));
        let mut turns = Turns::new(&rate, &taken, self.index, self.count);
        while let Some(wake) = turns.next_wake() {
            timer.sleep_until(self.started + wake).await?;
            for at in turns.take(self.started.elapsed()) {
                self.stats.scheduled.fetch_add(1, Ordering::Relaxed);
                let Some(connection) = self.pool.take() else {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                tasks.spawn(self.request(self.started + *at, connection));
            }
            while tasks.try_join_next().is_some() {}
        }
        let _ = tokio::time::timeout(self.drain, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
        if let Ok(mut created) = self.created.lock() {
            self.shared.remember_all(std::mem::take(&mut *created));
        }
        Ok(())
    }

    /// One request due at `due` on `connection`.
    fn request(
        &mut self,
        due: Instant,
        connection: Connection,
    ) -> impl Future<Output = ()> + Send + 'static {
        let rng = &mut self.rng;
        let malformed = rng.below(1_000_000) < (self.malformed_share * 1_000_000.0) as u64;
        let user = rng.below(self.shared.users.len().max(1) as u64) as usize;
        let pick = rng.next_u64();
        let (shared, stats, pool, direct, created) = (
            Arc::clone(&self.shared),
            Arc::clone(&self.stats),
            Arc::clone(&self.pool),
            Arc::clone(&self.direct),
            Arc::clone(&self.created),
        );
        async move {
            // The lag is taken when the request's task first runs: its actual start.
            if let Ok(mut lag) = stats.lag.lock() {
                lag.saturating_record(due.elapsed().as_micros().max(1) as u64);
            }
            let request = if malformed {
                scenarios::malformed_request(&shared, user, pick)
            } else {
                scenarios::create_request(&shared, user, pick)
            };
            let out = request.out();
            let answer = client::exchange(&direct, &connection, &out).await;
            let latency = due.elapsed();
            let (status, ok) = match &answer {
                Ok(r) => {
                    if r.status == 429 {
                        // An error here (the rate is not held), and a wait for the next step.
                        crate::target::throttle::owe_retry_after(r.header("retry-after"));
                    }
                    let (ok, device) = request.judge(&shared, r);
                    if let (Some(device), Ok(mut created)) = (device, created.lock()) {
                        created.push(device);
                    }
                    (r.status, ok)
                }
                Err(_) => (0, false),
            };
            stats.record(usize::from(malformed), latency, status, ok);
            pool.put(connection);
        }
    }
}

/// Sleeps to an instant with the OS's precision: a `timerfd` watched by the runtime's
/// reactor on Linux (tens of microseconds late), tokio's timer elsewhere (up to a
/// millisecond late).
#[cfg(target_os = "linux")]
struct Timer(tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>);

#[cfg(target_os = "linux")]
impl Timer {
    fn new() -> std::io::Result<Timer> {
        use rustix::time::{TimerfdClockId, TimerfdFlags, timerfd_create};
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // Deprecated since tokio 1.54 for any `T: AsRawFd`, whose descriptor may change or
        // close under the reactor; an `OwnedFd` owned by the `AsyncFd` cannot, so this is
        // sound without the `unsafe` its replacement (`register_with_interest`) asks for.
        #[allow(deprecated)]
        Ok(Timer(tokio::io::unix::AsyncFd::with_interest(
            fd,
            tokio::io::Interest::READABLE,
        )?))
    }

    async fn sleep_until(&self, at: Instant) -> std::io::Result<()> {
        use rustix::time::{Itimerspec, TimerfdTimerFlags, Timespec, timerfd_settime};
        let wait = at.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        let value = Timespec {
            tv_sec: wait.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: wait.subsec_nanos().into(),
        };
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        timerfd_settime(
            self.0.get_ref(),
            TimerfdTimerFlags::empty(),
            &Itimerspec {
                it_interval: zero,
                it_value: value,
            },
        )?;
        loop {
            let mut ready = self.0.readable().await?;
            let mut expirations = [0u8; 8];
            match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut expirations)?)) {
                Ok(read) => return read.map(drop),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
struct Timer;

#[cfg(not(target_os = "linux"))]
impl Timer {
    fn new() -> std::io::Result<Timer> {
        Ok(Timer)
    }

    async fn sleep_until(&self, at: Instant) -> std::io::Result<()> {
        tokio::time::sleep_until(at.into()).await;
        Ok(())
    }
}

/// Runs the open model against `host` (an `http://` base URL, the direct client's), then
/// the integrity pass and the clean-up.
pub async fn run(host: &str, options: &Options, open: &OpenOptions) -> anyhow::Result<OpenReport> {
    let (mut report, leftovers) = run_leaving(host, options, open).await?;
    report.cleanup = leftovers.clean_up(options.keep).await?;
    Ok(report)
}

/// [`run`] without the clean-up: the report, and the devices it created.
async fn run_leaving(
    host: &str,
    options: &Options,
    open: &OpenOptions,
) -> anyhow::Result<(OpenReport, Leftovers)> {
    let direct = Direct::for_base(host, options.request_timeout).ok_or_else(|| {
        anyhow::anyhow!("the open model needs an http:// target (its direct client)")
    })?;
    if open.max_connections == 0 {
        anyhow::bail!("--max-connections must be at least 1");
    }
    if options.users.is_empty() {
        anyhow::bail!("the open model needs at least one user");
    }
    let attack = Attack::new(host, options)?;
    let shared = Arc::clone(&attack.shared);
    let count = shard_count(open.max_connections);
    let stats = (0..count)
        .map(|_| Stats::new().map(Arc::new))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let direct = Arc::new(direct);
    let metrics = match options.metrics_addr {
        Some(addr) => {
            let stats = stats.clone();
            let scrape = move || {
                Stats::merged(&stats).map_or_else(|e| format!("# {e}\n"), |s| s.prometheus())
            };
            Some(metrics::serve(addr, Arc::new(scrape)).await?)
        }
        None => None,
    };
    let malformed_share = shared.weights.malformed as f64
        / (shared.weights.malformed + shared.weights.create_me + shared.weights.create_user).max(1)
            as f64;
    let started = Instant::now() + Duration::from_millis(20);
    let drain = options.request_timeout + Duration::from_secs(1);
    let taken = Arc::new(Taken::default());
    let mut pools = Vec::with_capacity(count);
    let mut threads = Vec::with_capacity(count);
    for (index, stats) in stats.iter().enumerate() {
        // The connections split as evenly as they go.
        let max = open.max_connections / count + usize::from(index < open.max_connections % count);
        let pool = Arc::new(Pool {
            idle: Mutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
            max,
        });
        pools.push(Arc::clone(&pool));
        let shard = Shard {
            index,
            count,
            rate: open.rate.clone(),
            taken: Arc::clone(&taken),
            started,
            malformed_share,
            rng: Rng::new(options.seed ^ 0x09e7_0de1 ^ ((index as u64) << 32)),
            shared: Arc::clone(&shared),
            stats: Arc::clone(stats),
            pool,
            direct: Arc::clone(&direct),
            created: Arc::default(),
            drain,
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("open-model-{index}"))
                .spawn(move || shard.run())?,
        );
    }
    let ended = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("an open-model thread panicked")))
            })
            .collect::<anyhow::Result<Vec<()>>>()
    })
    .await?;
    if let Some(server) = metrics {
        server.abort();
    }
    ended?;
    let connections = pools.iter().map(|p| p.opened()).sum();
    let seconds = started.elapsed().as_secs_f64();
    let integrity = attack.verify(options.integrity).await?;
    let report = report(
        host,
        (options, open),
        &Stats::merged(&stats)?,
        connections,
        seconds,
        integrity,
        Cleanup::default(),
    )?;
    Ok((report, attack.leftovers()))
}

fn report(
    host: &str,
    (options, open): (&Options, &OpenOptions),
    stats: &Stats,
    connections: usize,
    seconds: f64,
    integrity: IntegrityReport,
    cleanup: Cleanup,
) -> anyhow::Result<OpenReport> {
    let mut total = RequestReport::default();
    let mut requests = BTreeMap::new();
    for (name, kind) in KINDS.iter().zip(&stats.kinds) {
        let k = kind
            .lock()
            .map_err(|_| anyhow::anyhow!("a request panicked while recording"))?;
        let statuses = k
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect();
        let r = RequestReport::from_histogram(&k.latency, statuses, k.ok, k.failed);
        total.add(&r);
        if r.count > 0 {
            requests.insert((*name).to_owned(), r);
        }
    }
    requests.insert("all".to_owned(), total);
    let scheduled = stats.scheduled.load(Ordering::Relaxed);
    let dropped = stats.dropped.load(Ordering::Relaxed);
    let length = open.rate.duration().as_secs_f64().max(1e-9);
    let sent = scheduled - dropped;
    let lag = stats
        .lag
        .lock()
        .map(|h| RequestReport::from_histogram(&h, BTreeMap::new(), h.len(), 0))
        .unwrap_or_default();
    let mut out = OpenReport {
        schema: OPEN_SCHEMA.to_owned(),
        workers: vec![options.worker_index],
        worker_count: options.worker_count,
        host: host.to_owned(),
        schedule: open.rate.describe(),
        scheduled,
        sent,
        dropped,
        target_rate: open.rate.expected() / length,
        achieved_rate: sent as f64 / length,
        seconds,
        length_seconds: length,
        max_connections: open.max_connections,
        connections,
        requests,
        lag,
        thresholds: Vec::new(),
        integrity,
        cleanup,
    };
    out.judge(&open.thresholds);
    Ok(out)
}

impl OpenReport {
    /// Judges `rules` on the report's HDR histograms (`rps`: sent per second of the
    /// schedule; `dropped`: percent of the requests due).
    fn judge(&mut self, rules: &[String]) {
        let length = self.length_seconds.max(1e-9);
        let rate = |request: Option<&str>, _: &str| match request {
            None => Some(self.achieved_rate),
            Some(name) => self.requests.get(name).map(|r| r.count as f64 / length),
        };
        let empty = RequestReport::default();
        let view = View {
            requests: &self.requests,
            totals: self.requests.get("all").unwrap_or(&empty),
            dropped: (self.scheduled > 0)
                .then(|| 100.0 * self.dropped as f64 / self.scheduled as f64),
            rps: &rate,
        };
        self.thresholds = judge_all(rules, &view);
    }
}

/// Combines open-model reports of workers that ran side by side: counts, rates and
/// histograms summed, percentiles recomputed, and the thresholds judged again on the
/// merged figures.
pub fn merge(reports: &[OpenReport]) -> Result<OpenReport, String> {
    let Some(first) = reports.first() else {
        return Err("nothing to merge".to_owned());
    };
    let mut out = OpenReport {
        workers: Vec::new(),
        scheduled: 0,
        sent: 0,
        dropped: 0,
        target_rate: 0.0,
        achieved_rate: 0.0,
        seconds: 0.0,
        max_connections: 0,
        connections: 0,
        requests: BTreeMap::new(),
        lag: RequestReport::default(),
        thresholds: Vec::new(),
        integrity: IntegrityReport {
            mode: first.integrity.mode.clone(),
            ..IntegrityReport::default()
        },
        cleanup: Cleanup::default(),
        ..first.clone()
    };
    let mut rules: Vec<String> = Vec::new();
    for r in reports {
        super::report::mergeable(
            (OPEN_SCHEMA, &first.host, &out.workers),
            (&r.schema, &r.host, &r.workers),
        )?;
        out.workers.extend(&r.workers);
        out.worker_count = out.worker_count.max(r.worker_count);
        out.scheduled += r.scheduled;
        out.sent += r.sent;
        out.dropped += r.dropped;
        out.target_rate += r.target_rate;
        out.achieved_rate += r.achieved_rate;
        out.seconds = out.seconds.max(r.seconds);
        out.length_seconds = out.length_seconds.max(r.length_seconds);
        out.max_connections += r.max_connections;
        out.connections += r.connections;
        for (k, v) in &r.requests {
            out.requests.entry(k.clone()).or_default().add(v);
        }
        out.lag.add(&r.lag);
        out.integrity.add(&r.integrity);
        out.cleanup.add(&r.cleanup);
        for t in &r.thresholds {
            if !rules.contains(&t.rule) {
                rules.push(t.rule.clone());
            }
        }
    }
    out.workers.sort_unstable();
    out.judge(&rules);
    Ok(out)
}

/// One step of [`find_max`]: a constant rate, and whether the thresholds held at it.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// The rate asked for, requests per second.
    pub rate: f64,
    /// The rate sent.
    pub achieved: f64,
    /// p99 latency from the scheduled start, ms.
    pub p99_ms: f64,
    /// Failed requests, percent.
    pub error_rate: f64,
    /// Dropped requests, percent of those due.
    pub dropped: f64,
    /// Whether every threshold held.
    pub held: bool,
    /// The thresholds that failed, with what was observed.
    pub failed: Vec<String>,
}

/// What [`find_max`] found.
#[derive(Clone, Debug, Serialize)]
pub struct MaxReport {
    /// The target.
    pub host: String,
    /// The thresholds each step was held to.
    pub thresholds: Vec<String>,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The highest rate at which every threshold held (`None`: not even the first).
    pub held: Option<f64>,
    /// The devices the steps created, deleted once the search is over.
    pub cleanup: Cleanup,
}

impl MaxReport {
    /// The report for the terminal: the steps, then the one number.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "load --find-max {}: thresholds {}\n\n| rate | sent/s | p99 ms | errors % | dropped % | held |\n|---:|---:|---:|---:|---:|---|\n",
            self.host,
            self.thresholds.join(", ")
        );
        for st in &self.steps {
            let held = if st.held {
                "yes".to_owned()
            } else {
                format!("no: {}", st.failed.join("; "))
            };
            let _ = writeln!(
                s,
                "| {:.0} | {:.1} | {:.2} | {:.3} | {:.3} | {held} |",
                st.rate, st.achieved, st.p99_ms, st.error_rate, st.dropped
            );
        }
        match self.held {
            Some(r) => {
                let _ = writeln!(s, "\nhighest rate held: {r:.0} requests/s");
            }
            None => s.push_str("\nno rate held: the first step already broke a threshold\n"),
        }
        if let Some(line) = self.cleanup.line() {
            let _ = writeln!(s, "{line}");
        }
        s
    }
}

/// Steps the rate up from `start` (times 1.5 each `step` long) until a threshold breaks,
/// then halves the gap twice between the last rate held and the first broken: the highest
/// rate at which every threshold held. `error-rate<1%` and `dropped<1%` are always among
/// the thresholds; at most 40 steps.
pub async fn find_max(
    host: &str,
    options: &Options,
    start: f64,
    step: Duration,
    max_connections: usize,
    thresholds: &[String],
) -> anyhow::Result<MaxReport> {
    let mut rules: Vec<String> = thresholds.to_vec();
    for always in ["error-rate<1%", "dropped<1%"] {
        let name = always.split('<').next().unwrap_or_default();
        if !rules.iter().any(|r| r.trim_start().starts_with(name)) {
            rules.push(always.to_owned());
        }
    }
    let mut options = options.clone();
    options.integrity = super::Integrity::Off;
    let mut steps: Vec<Step> = Vec::new();
    let (mut held, mut broke): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = rate_ok(start).map_err(anyhow::Error::msg)?.max(1.0);
    let mut bisections = 0;
    let mut leftovers: Option<Leftovers> = None;
    for _ in 0..40 {
        // Not in a quota spent by what came before: the traffic before the search, or a
        // step that broke on 429s.
        crate::target::throttle::settle().await;
        let open = OpenOptions {
            rate: Rate::constant(rate, step).map_err(anyhow::Error::msg)?,
            max_connections,
            thresholds: rules.clone(),
        };
        let (r, left) = run_leaving(host, &options, &open).await?;
        match &mut leftovers {
            Some(all) => all.extend(left),
            None => leftovers = Some(left),
        }
        let all = r.requests.get("all").cloned().unwrap_or_default();
        let share = |n: u64, of: u64| 100.0 * n as f64 / of.max(1) as f64;
        let ok = r.thresholds.iter().all(|t| t.passed);
        steps.push(Step {
            rate,
            achieved: r.achieved_rate,
            p99_ms: all.latency_ms.p99,
            error_rate: share(all.fail, all.count),
            dropped: share(r.dropped, r.scheduled),
            held: ok,
            failed: r
                .thresholds
                .iter()
                .filter(|t| !t.passed)
                .map(|t| format!("{} ({})", t.rule, t.observed))
                .collect(),
        });
        if ok {
            held = Some(held.map_or(rate, |h: f64| h.max(rate)));
        } else {
            broke = Some(broke.map_or(rate, |b: f64| b.min(rate)));
        }
        rate = match (held, broke) {
            (_, None) => rate * 1.5,
            (None, Some(_)) => break,
            (Some(h), Some(b)) => {
                // Two halvings of the gap, then stop.
                if bisections == 2 || (b - h) / b < 0.05 {
                    break;
                }
                bisections += 1;
                (h + b) / 2.0
            }
        };
        if rate > 10_000_000.0 {
            break;
        }
    }
    // Every step's devices are deleted at the end, not between steps, where the deletes
    // would count against the next step's rate limit or capacity.
    let cleanup = match leftovers {
        Some(left) => left.clean_up(options.keep).await?,
        None => Cleanup::default(),
    };
    Ok(MaxReport {
        host: host.to_owned(),
        thresholds: rules,
        steps,
        held,
        cleanup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timer wakes at or after the instant asked for, never before, whether the
    /// instant is past, now, or a few microseconds to milliseconds away.
    #[test]
    fn the_timer_never_wakes_early() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let timer = Timer::new().unwrap();
            let mut rng = Rng::new(3);
            for _ in 0..200 {
                let at = Instant::now() + Duration::from_micros(rng.below(2_000));
                timer.sleep_until(at).await.unwrap();
                assert!(Instant::now() >= at);
            }
            timer
                .sleep_until(Instant::now() - Duration::from_millis(1))
                .await
                .unwrap();
        });
    }

    /// The shards' figures merge into counts and histograms equal to one recorder's of
    /// the same requests.
    #[test]
    fn shard_figures_merge_exactly() {
        let one = Stats::new().unwrap();
        let shards = [
            Arc::new(Stats::new().unwrap()),
            Arc::new(Stats::new().unwrap()),
        ];
        let mut rng = Rng::new(9);
        for i in 0..5_000u64 {
            let (kind, status) = ((i % 3 == 0) as usize, [201, 400, 0][(i % 3) as usize]);
            let latency = Duration::from_micros(1 + rng.below(3_000_000));
            let lag = 1 + rng.below(5_000);
            for stats in [&one, &*shards[(i % 2) as usize]] {
                stats.record(kind, latency, status, status == 201);
                stats.lag.lock().unwrap().saturating_record(lag);
                stats.scheduled.fetch_add(1, Ordering::Relaxed);
                stats
                    .dropped
                    .fetch_add(u64::from(i % 7 == 0), Ordering::Relaxed);
            }
        }
        let merged = Stats::merged(&shards).unwrap();
        assert_eq!(merged.prometheus(), one.prometheus());
        assert_eq!(merged.scheduled.load(Ordering::Relaxed), 5_000);
        let (a, b) = (
            merged.kinds[0].lock().unwrap(),
            one.kinds[0].lock().unwrap(),
        );
        assert_eq!(a.latency, b.latency);
        assert_eq!((a.ok, a.failed, &a.statuses), (b.ok, b.failed, &b.statuses));
    }

    /// A shard's turn is its first tick at or after the request is due; the shards' ticks
    /// interleave, so the next turn of some shard is never more than `BATCH / count` away
    /// and each shard's turns are `BATCH` apart.
    #[test]
    fn the_shards_take_turns() {
        let mut rng = Rng::new(5);
        for count in 1..=4 {
            let tick = BATCH / count as u32;
            for _ in 0..2_000 {
                let at = Duration::from_nanos(rng.below(10_000_000_000));
                let turns: Vec<Duration> = (0..count).map(|i| turn(at, i, count)).collect();
                for (i, t) in turns.iter().enumerate() {
                    assert!(*t >= at && *t - at < BATCH, "{at:?} shard {i}: {t:?}");
                    assert_eq!(t.as_nanos() % tick.as_nanos(), 0);
                    let ticks = (t.as_nanos() / tick.as_nanos()) as usize;
                    assert_eq!(ticks % count, i);
                }
                let soonest = turns.iter().min().copied().unwrap_or_default();
                assert!(soonest - at < tick, "{at:?}: {turns:?}");
            }
        }
        assert_eq!(turn(Duration::ZERO, 0, 2), Duration::ZERO);
        assert_eq!(turn(Duration::ZERO, 1, 2), BATCH / 2);
        assert_eq!(shard_count(1), 1);
        assert!((1..=4).contains(&shard_count(256)));
    }

    /// Shards taking what is due, at once and in any interleaving, take every request
    /// of the schedule exactly once.
    #[test]
    fn every_request_is_taken_exactly_once() {
        let taken = Arc::new(Taken::default());
        let total = 200_000u64;
        let threads: Vec<_> = (0..4u64)
            .map(|seed| {
                let taken = Arc::clone(&taken);
                std::thread::spawn(move || {
                    let (mut rng, mut mine, mut due) = (Rng::new(seed), Vec::new(), 0);
                    while due < total {
                        due = (due.max(taken.get()) + rng.below(50)).min(total);
                        mine.push(taken.take(due));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<std::ops::Range<u64>> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .filter(|r| !r.is_empty())
            .collect();
        all.sort_by_key(|r| r.start);
        let mut end = 0;
        for r in &all {
            assert_eq!(r.start, end, "a gap or an overlap at {r:?}");
            end = r.end;
        }
        assert_eq!(end, total);
        assert!(taken.take(10).is_empty());
    }

    /// Two shards walking a 20,000/s schedule on a simulated clock, each waking at its
    /// turns but late while it is stalled: every request is started exactly once, and a
    /// stall of one shard delays no request more than `BATCH` (more than `BATCH / 2`,
    /// the most without a stall, since only the other shard's turns are left); a stall of
    /// both delays them until it ends, no more.
    #[test]
    fn a_stalled_shard_s_requests_are_taken_at_the_next_turn() {
        let rate = Rate::constant(20_000.0, Duration::from_millis(500)).unwrap();
        let ms = Duration::from_millis;
        for (stalls, least, most) in [
            ([(ms(100), ms(110)), (ms(300), ms(302))], BATCH / 2, BATCH),
            (
                [(ms(100), ms(110)), (ms(100), ms(110))],
                ms(9),
                ms(10) + BATCH,
            ),
        ] {
            let taken = Taken::default();
            let mut shards: Vec<Turns> = (0..2).map(|i| Turns::new(&rate, &taken, i, 2)).collect();
            // A shard wakes at its turn, or at the end of its stall if the turn falls in it.
            let late = |i: usize, at: Duration| {
                let (from, to) = stalls[i];
                if at >= from && at < to { to } else { at }
            };
            // As in `Shard::schedule`: a shard picks its wake-up, sleeps, takes, and only
            // then picks the next, so the other may have taken some meanwhile.
            let mut wakes: Vec<Option<Duration>> =
                shards.iter_mut().map(|s| s.next_wake()).collect();
            let (mut started, mut max_lag) = (0u64, Duration::ZERO);
            loop {
                let next = (0..2)
                    .filter_map(|i| wakes[i].map(|at| (late(i, at), i)))
                    .min();
                let Some((now, i)) = next else { break };
                for at in shards[i].take(now) {
                    started += 1;
                    max_lag = max_lag.max(now - *at);
                }
                wakes[i] = shards[i].next_wake();
            }
            assert_eq!(started, 10_000, "{stalls:?}");
            assert!(
                max_lag > least && max_lag <= most,
                "{stalls:?}: worst lag {max_lag:?}"
            );
        }
    }

    #[test]
    fn a_constant_rate_is_evenly_spaced() {
        let r = Rate::constant(100.0, Duration::from_secs(2)).unwrap();
        let times: Vec<Duration> = r.times().collect();
        assert_eq!(times.len(), 200);
        assert!((times[0].as_secs_f64() - 0.01).abs() < 1e-9);
        assert!((times[199].as_secs_f64() - 2.0).abs() < 1e-9);
        assert_eq!(r.expected(), 200.0);
    }

    #[test]
    fn ramps_follow_the_integral_of_the_rate() {
        // 0 -> 100 over 10 s is 500 requests, half of them after 7.07 s.
        let r = Rate::stages(0.0, "10s:100,5s:0").unwrap();
        let times: Vec<f64> = r.times().map(|t| t.as_secs_f64()).collect();
        assert_eq!(times.len(), 500 + 250);
        assert!((times[249] - 50f64.sqrt()).abs() < 0.01, "{}", times[249]);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.last().is_some_and(|t| *t <= 15.0));
        // A stage at zero sends nothing, and the next one starts after it.
        let r = Rate::stages(0.0, "2s:0,1s:10").unwrap();
        let first = r.times().next().unwrap().as_secs_f64();
        assert!(first > 2.0, "{first}");
    }

    #[test]
    fn bad_schedules_are_errors() {
        assert!(Rate::stages(0.0, "").is_err());
        assert!(Rate::stages(0.0, "10s").is_err());
        assert!(Rate::stages(0.0, "10s:-1").is_err());
        assert!(Rate::stages(0.0, "x:1").is_err());
        assert!(Rate::constant(f64::NAN, Duration::from_secs(1)).is_err());
    }

    fn report_of(latencies_ms: impl Iterator<Item = u64>, failed: u64, dropped: u64) -> OpenReport {
        let mut h = histogram().unwrap();
        for ms in latencies_ms {
            h.record(ms * 1000).unwrap();
        }
        let ok = h.len() - failed;
        let all = RequestReport::from_histogram(&h, BTreeMap::new(), ok, failed);
        OpenReport {
            schema: OPEN_SCHEMA.to_owned(),
            workers: vec![0],
            worker_count: 1,
            host: "http://127.0.0.1:1".to_owned(),
            schedule: String::new(),
            scheduled: all.count + dropped,
            sent: all.count,
            dropped,
            target_rate: 101.0,
            achieved_rate: 99.0,
            seconds: 10.0,
            length_seconds: 10.0,
            max_connections: 8,
            connections: 8,
            requests: BTreeMap::from([("all".to_owned(), all.clone()), ("create".to_owned(), all)]),
            lag: RequestReport::default(),
            thresholds: Vec::new(),
            integrity: IntegrityReport::default(),
            cleanup: Cleanup::default(),
        }
    }

    #[test]
    fn thresholds_read_the_hdr_histogram() {
        let mut r = report_of(1..=1000, 10, 10); // 1 ms .. 1 s
        let mut held = |rule: &str| {
            r.judge(&[rule.to_owned()]);
            r.thresholds[0].passed
        };
        assert!(held("p99 < 1s") && !held("p99<900ms"));
        assert!(held("p50<=501ms") && !held("p50<400ms"));
        // 999 ms, kept to 3 significant digits (HDR reports the bucket's top, 999.4 ms).
        assert!(
            held("p99.9<=999.5ms") && !held("p99.9<998ms"),
            "{:?}",
            r.thresholds
        );
        assert!(held("max<1001ms") && !held("max<999ms"));
        assert!(held("error-rate<1.5%") && !held("error-rate<0.5%"));
        assert!(held("dropped<1%") && !held("dropped<0.5%"));
        assert!(held("rps>=99") && !held("rps>100"));
        assert!(held("p99<1s for create") && !held("p99<1s for malformed"));
        assert!(!held("p100<1s") && !held("bogus") && !held("p99<soon"));
    }

    /// Two workers' reports merged: counts and rates summed, percentiles and thresholds
    /// from the merged histogram (one worker fast, one slow: neither alone breaks p90).
    #[test]
    fn open_reports_merge_histograms_and_judge_again() {
        let mut fast = report_of(std::iter::repeat_n(2, 900), 0, 0);
        let mut slow = report_of(std::iter::repeat_n(500, 100), 0, 5);
        slow.workers = vec![1];
        for r in [&mut fast, &mut slow] {
            r.worker_count = 2;
            r.judge(&["p90<600ms".to_owned(), "dropped<0.6%".to_owned()]);
        }
        assert!(fast.thresholds.iter().all(|t| t.passed));
        assert!(!slow.thresholds[1].passed, "{:?}", slow.thresholds);
        let m = merge(&[fast.clone(), slow.clone()]).unwrap();
        assert_eq!(m.workers, [0, 1]);
        assert_eq!((m.sent, m.dropped, m.scheduled), (1000, 5, 1005));
        assert_eq!(m.achieved_rate, 198.0);
        let all = &m.requests["all"];
        assert_eq!(all.count, 1000);
        // 900 at 2 ms, 100 at 500 ms: p90 is 2 ms (HDR: within 0.1%), p99 500 ms.
        assert!(
            (all.latency_ms.p90 - 2.0).abs() < 0.002,
            "{:?}",
            all.latency_ms
        );
        assert!(
            (all.latency_ms.p99 - 500.0).abs() < 0.5,
            "{:?}",
            all.latency_ms
        );
        assert!(m.thresholds[0].passed, "{:?}", m.thresholds);
        assert!(
            m.thresholds[1].passed,
            "0.5% dropped of all: {:?}",
            m.thresholds
        );
        assert!(merge(&[fast.clone(), fast]).is_err(), "a worker twice");
        let text = serde_json::to_string(&slow).unwrap();
        let back: OpenReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, slow);
    }
}

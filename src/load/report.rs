//! The load report a worker writes (`--json`), and [`merge`], which combines the reports
//! of several workers honestly: counts and latency histograms are summed, and every
//! percentile is computed again from the merged histogram, never averaged.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use goose::metrics::GooseMetrics;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::threshold::{Figures, Metric, ThresholdResult, judge_all};
use super::{IntegrityReport, Options};
use crate::target::Cleanup;

/// The report's schema id.
pub const SCHEMA: &str = "devices-harness/load-report/1";

/// One request name's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestReport {
    /// Requests sent.
    pub count: u64,
    /// Requests that got what was expected.
    pub success: u64,
    /// Requests that did not.
    pub fail: u64,
    /// Answers by status code (`0`: no answer).
    pub status_codes: BTreeMap<String, u64>,
    /// Response times: microseconds to count, from an HDR histogram (3 significant
    /// digits: each key stands for every time within 0.1% below it) recorded beside
    /// goose's own metrics; histograms of different workers have the same buckets, so
    /// summing the counts per key merges them exactly.
    pub histogram_us: BTreeMap<u64, u64>,
    /// All response times added, in microseconds.
    pub total_time_us: u64,
    /// The fastest, in microseconds.
    pub min_us: u64,
    /// The slowest, in microseconds.
    pub max_us: u64,
    /// Derived from the histogram: mean and percentiles in milliseconds.
    #[serde(default)]
    pub latency_ms: Latency,
}

/// Latency figures derived from a histogram.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(default)]
    pub p999: f64,
    /// Slowest.
    pub max: f64,
}

/// Exact latency per request (`METHOD name`), HDR histograms of microseconds with 3
/// significant digits, and answers by status, recorded by every goose user as requests
/// end (sharded by user, so locks stay cold); a worker report's percentiles and the live
/// metrics come from them.
pub(crate) struct Latencies {
    shards: Vec<Mutex<ByRequest>>,
}

/// What one request recorded.
struct Recorded {
    times: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
}

/// Figures by (method, request name): a handful, so a list (found by the names' addresses
/// first: they are interned).
type ByRequest = Vec<((&'static str, &'static str), Recorded)>;

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            shards: (0..16).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }
}

impl Latencies {
    /// Records `us` and `status` (0: no answer) for `method name`, by goose user `user`
    /// (no allocation but a new request's first histogram).
    pub(crate) fn record(
        &self,
        user: usize,
        (method, name): (&'static str, &'static str),
        us: u64,
        status: u16,
    ) {
        let Some(Ok(mut shard)) = self.shards.get(user % self.shards.len()).map(|s| s.lock())
        else {
            return;
        };
        let key = (method, name);
        let at = shard
            .iter()
            .position(|((m, n), _)| std::ptr::eq(*m, method) && std::ptr::eq(*n, name))
            .or_else(|| shard.iter().position(|(k, _)| *k == key));
        let at = match at {
            Some(at) => at,
            None => match Histogram::new_with_bounds(1, 3_600_000_000, 3) {
                Ok(times) => {
                    shard.push((
                        key,
                        Recorded {
                            times,
                            statuses: BTreeMap::new(),
                        },
                    ));
                    shard.len() - 1
                }
                Err(_) => return,
            },
        };
        let Some((_, r)) = shard.get_mut(at) else {
            return;
        };
        r.times.saturating_record(us.max(1));
        *r.statuses.entry(status).or_default() += 1;
    }

    /// The shards added up, by `METHOD name`.
    fn merged(&self) -> BTreeMap<String, Recorded> {
        let mut out: BTreeMap<String, Recorded> = BTreeMap::new();
        for shard in &self.shards {
            let Ok(shard) = shard.lock() else { continue };
            for ((method, name), r) in shard.iter() {
                let key = format!("{method} {name}");
                match out.get_mut(&key) {
                    Some(o) => {
                        let _ = o.times.add(&r.times);
                        for (s, n) in &r.statuses {
                            *o.statuses.entry(*s).or_default() += n;
                        }
                    }
                    None => {
                        out.insert(
                            key,
                            Recorded {
                                times: r.times.clone(),
                                statuses: r.statuses.clone(),
                            },
                        );
                    }
                }
            }
        }
        out
    }

    /// Each request's times as `microseconds -> count`.
    fn counts(&self) -> HashMap<String, BTreeMap<u64, u64>> {
        self.merged()
            .into_iter()
            .map(|(name, r)| (name, counts_of(&r.times)))
            .collect()
    }

    /// The live metrics of a goose run ([`super::metrics`]).
    pub(crate) fn prometheus(&self) -> String {
        let merged = self.merged();
        let series: Vec<super::metrics::Series<'_>> = merged
            .iter()
            .map(|(name, r)| super::metrics::Series {
                request: name,
                latency: &r.times,
                statuses: &r.statuses,
            })
            .collect();
        let mut s = String::with_capacity(4096);
        super::metrics::requests(&mut s, &series, "Response time.");
        s
    }
}

impl RequestReport {
    pub(crate) fn add(&mut self, other: &RequestReport) {
        let first = self.count == 0;
        self.count += other.count;
        self.success += other.success;
        self.fail += other.fail;
        for (k, v) in &other.status_codes {
            *self.status_codes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.histogram_us {
            *self.histogram_us.entry(*k).or_default() += v;
        }
        self.total_time_us += other.total_time_us;
        self.min_us = if first {
            other.min_us
        } else {
            self.min_us.min(other.min_us)
        };
        self.max_us = self.max_us.max(other.max_us);
        self.derive();
    }

    /// The time (bucket floor, microseconds) at or below which `q` of the times fall.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let total: u64 = self.histogram_us.values().sum();
        if total == 0 {
            return 0;
        }
        // A hair under, so 0.999 of 1,000 is rank 999 whatever the rounding of 0.999.
        let rank = ((q * total as f64 - 1e-7).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (floor, n) in &self.histogram_us {
            seen += n;
            if seen >= rank {
                return *floor;
            }
        }
        self.max_us
    }

    fn derive(&mut self) {
        let ms = |us: u64| us as f64 / 1000.0;
        let timed: u64 = self.histogram_us.values().sum();
        self.latency_ms = Latency {
            mean: if timed == 0 {
                0.0
            } else {
                ms(self.total_time_us) / timed as f64
            },
            p50: ms(self.quantile_us(0.50)),
            p90: ms(self.quantile_us(0.90)),
            p95: ms(self.quantile_us(0.95)),
            p99: ms(self.quantile_us(0.99)),
            p999: ms(self.quantile_us(0.999)),
            max: ms(self.max_us),
        };
    }

    /// A request kind's figures from its HDR histogram and counts.
    pub(crate) fn from_histogram(
        h: &Histogram<u64>,
        status_codes: BTreeMap<String, u64>,
        success: u64,
        fail: u64,
    ) -> RequestReport {
        let mut r = RequestReport {
            count: success + fail,
            success,
            fail,
            status_codes,
            histogram_us: counts_of(h),
            total_time_us: (h.mean() * h.len() as f64).round() as u64,
            min_us: if h.is_empty() { 0 } else { h.min() },
            max_us: if h.is_empty() { 0 } else { h.max() },
            latency_ms: Latency::default(),
        };
        r.derive();
        r
    }

    /// The latency figure a threshold names, in ms (`None`: no times).
    fn figure_ms(&self, metric: Metric) -> Option<f64> {
        let timed: u64 = self.histogram_us.values().sum();
        if timed == 0 {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        match metric {
            Metric::Quantile(q) => Some(ms(self.quantile_us(q))),
            Metric::Mean => Some(self.latency_ms.mean),
            Metric::Max => Some(ms(self.max_us)),
            _ => None,
        }
    }
}

/// An rps rule's figure, for (request, rule), where a source knows it (`Some(None)`: it
/// knows the rule had no samples).
type RuleRps<'a> = dyn Fn(Option<&str>, &str) -> Option<Option<f64>> + 'a;

/// A histogram as `microseconds -> count`, each key the top of its bucket (the form
/// reports keep and merges sum).
fn counts_of(h: &Histogram<u64>) -> BTreeMap<u64, u64> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// What thresholds read from a report's requests, in either model.
pub(crate) struct View<'a> {
    /// Per request name.
    pub requests: &'a BTreeMap<String, RequestReport>,
    /// All together.
    pub totals: &'a RequestReport,
    /// Dropped requests, percent of due (open model).
    pub dropped: Option<f64>,
    /// Requests per second for (request, rule).
    pub rps: &'a dyn Fn(Option<&str>, &str) -> Option<f64>,
}

impl View<'_> {
    fn request(&self, request: Option<&str>) -> Option<&RequestReport> {
        match request {
            Some(name) => self.requests.get(name),
            None => Some(self.totals),
        }
    }
}

impl Figures for View<'_> {
    fn latency_ms(&self, request: Option<&str>, metric: Metric) -> Option<f64> {
        self.request(request)?.figure_ms(metric)
    }

    fn error_rate(&self, request: Option<&str>) -> Option<f64> {
        let r = self.request(request)?;
        (r.count > 0).then(|| 100.0 * r.fail as f64 / r.count as f64)
    }

    fn dropped(&self) -> Option<f64> {
        self.dropped
    }

    fn rps(&self, request: Option<&str>, rule: &str) -> Option<f64> {
        (self.rps)(request, rule)
    }
}

/// A load run's figures (one worker's, or several merged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// The schema id of a worker report.
    pub schema: String,
    /// The target's base URL.
    pub target: String,
    /// The workers whose figures these are.
    pub workers: Vec<usize>,
    /// Workers in the whole run.
    pub worker_count: usize,
    /// The longest worker's wall time, in seconds.
    pub duration_seconds: f64,
    /// Goose users at most, summed over workers.
    pub users: u64,
    /// Per request name (`POST /me/devices`, ...).
    pub requests: BTreeMap<String, RequestReport>,
    /// Every request together.
    pub totals: RequestReport,
    /// Requests per second: each worker's count over its duration, summed.
    pub requests_per_second: f64,
    /// Every `--threshold` rule's verdict, judged on the HDR figures (after a merge, on
    /// the merged ones).
    #[serde(default)]
    pub thresholds: Vec<ThresholdResult>,
    /// The rules that failed, `rule: observed`.
    pub failed_thresholds: Vec<String>,
    /// The integrity pass, summed.
    pub integrity: IntegrityReport,
    /// The devices the run created and what became of them, summed.
    pub cleanup: Cleanup,
    /// Time spent generating payloads, in seconds.
    pub generation_seconds: f64,
    /// This process's CPU time during the attack, in seconds (where measurable).
    pub cpu_seconds: Option<f64>,
}

impl WorkerReport {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        target: &str,
        options: &Options,
        metrics: &GooseMetrics,
        latencies: &Latencies,
        (rules, goose_verdicts): (&[String], &[goose::threshold::ThresholdResult]),
        (integrity, cleanup): (&IntegrityReport, &Cleanup),
        elapsed: Duration,
        generation: Duration,
        cpu: Option<Duration>,
    ) -> WorkerReport {
        let mut requests = BTreeMap::new();
        let mut totals = RequestReport::default();
        let mut exact = latencies.counts();
        for (key, agg) in &metrics.requests {
            let data = &agg.raw_data;
            // goose's buckets where no exact times were kept (none, unless a request was
            // sent outside the transactions).
            let histogram_us = exact
                .remove(key)
                .unwrap_or_else(|| data.times_us.iter().map(|(k, v)| (*k, *v as u64)).collect());
            let mut r = RequestReport {
                count: (agg.success_count + agg.fail_count) as u64,
                success: agg.success_count as u64,
                fail: agg.fail_count as u64,
                status_codes: agg
                    .status_code_counts
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v as u64))
                    .collect(),
                histogram_us,
                total_time_us: data.total_time_us,
                min_us: data.minimum_time_us,
                max_us: data.maximum_time_us,
                latency_ms: Latency::default(),
            };
            r.derive();
            totals.add(&r);
            requests.insert(key.clone(), r);
        }
        let duration = elapsed.as_secs_f64();
        let mut out = WorkerReport {
            schema: SCHEMA.to_owned(),
            target: target.to_owned(),
            workers: vec![options.worker_index],
            worker_count: options.worker_count,
            duration_seconds: duration,
            users: metrics.maximum_users as u64,
            requests_per_second: totals.count as f64 / (metrics.duration.max(1) as f64),
            requests,
            totals,
            thresholds: Vec::new(),
            failed_thresholds: Vec::new(),
            integrity: integrity.clone(),
            cleanup: cleanup.clone(),
            generation_seconds: generation.as_secs_f64(),
            cpu_seconds: cpu.map(|c| c.as_secs_f64()),
        };
        // An rps rule reads goose's figure: requests per second while it held its users
        // steady (Maintain); the latencies and error rates are the HDR histograms'.
        let goose_rps = |_: Option<&str>, rule: &str| -> Option<Option<f64>> {
            goose_verdicts
                .iter()
                .find(|g| g.rule.trim() == rule)
                .map(|g| g.value)
        };
        out.judge(rules, &goose_rps);
        // A rule that stopped the run while it went failed, whatever the end says.
        for t in &mut out.thresholds {
            if let Some(g) = goose_verdicts
                .iter()
                .find(|g| g.aborted && g.rule.trim() == t.rule)
            {
                t.passed = false;
                t.aborted = true;
                t.observed = format!(
                    "{} at the end; goose stopped the run on it at {}",
                    t.observed, g.observed
                );
            }
        }
        out.failed_thresholds = failed(&out.thresholds);
        out
    }

    /// Judges `rules` on the report's HDR figures; an rps rule on `rps(request, rule)`
    /// where that knows the rule, else on the requests over the report's duration.
    fn judge(&mut self, rules: &[String], rps: &RuleRps<'_>) {
        let seconds = self.duration_seconds.max(1e-9);
        let own = |request: Option<&str>| match request {
            None => Some(self.requests_per_second),
            Some(name) => self.requests.get(name).map(|r| r.count as f64 / seconds),
        };
        let rate =
            |request: Option<&str>, rule: &str| rps(request, rule).unwrap_or_else(|| own(request));
        let view = View {
            requests: &self.requests,
            totals: &self.totals,
            dropped: None,
            rps: &rate,
        };
        self.thresholds = judge_all(rules, &view);
        self.failed_thresholds = failed(&self.thresholds);
    }

    /// Whether the run passed: no failed threshold, no lost or altered write.
    pub fn passed(&self) -> bool {
        self.failed_thresholds.is_empty() && self.integrity.clean()
    }

    /// Payload generation's share of the process's CPU time, when measured.
    pub fn generation_share(&self) -> Option<f64> {
        self.cpu_seconds
            .filter(|c| *c > 0.0)
            .map(|c| self.generation_seconds / c)
    }

    /// A Markdown table of the figures, then integrity and thresholds.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "load {} ({} worker{} of {}, {} users, {:.1} s): {:.0} requests/s",
            self.target,
            self.workers.len(),
            if self.workers.len() == 1 { "" } else { "s" },
            self.worker_count,
            self.users,
            self.duration_seconds,
            self.requests_per_second
        );
        let _ = writeln!(
            s,
            "\n| request | count | fail | p50 ms | p95 ms | p99 ms | max ms | statuses |\n|---|---:|---:|---:|---:|---:|---:|---|"
        );
        let all = "all".to_owned();
        let rows = self
            .requests
            .iter()
            .chain(std::iter::once((&all, &self.totals)));
        for (name, r) in rows {
            let statuses = r
                .status_codes
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {statuses} |",
                r.count,
                r.fail,
                r.latency_ms.p50,
                r.latency_ms.p95,
                r.latency_ms.p99,
                r.latency_ms.max
            );
        }
        let _ = writeln!(s, "\n{}", self.integrity.line());
        if let Some(line) = self.cleanup.line() {
            let _ = writeln!(s, "{line}");
        }
        for e in &self.integrity.examples {
            let _ = writeln!(s, "  {e}");
        }
        if let Some(share) = self.generation_share() {
            let _ = writeln!(
                s,
                "payload generation: {:.3} s, {:.1}% of this process's CPU",
                self.generation_seconds,
                share * 100.0
            );
        }
        for t in &self.thresholds {
            let _ = writeln!(s, "threshold {t}");
        }
        if self.thresholds.is_empty() {
            for t in &self.failed_thresholds {
                let _ = writeln!(s, "threshold failed: {t}");
            }
        }
        let _ = writeln!(s, "{}", if self.passed() { "passed" } else { "FAILED" });
        s
    }
}

/// Whether a report (`schema`, `target`, `workers`) joins a merge of reports of
/// `expected` schema on `target` that has `merged` workers so far.
pub(crate) fn mergeable(
    (expected, target, merged): (&str, &str, &[usize]),
    (schema, this_target, workers): (&str, &str, &[usize]),
) -> Result<(), String> {
    if schema != expected {
        return Err(format!("a report of schema '{schema}', not {expected}"));
    }
    if this_target != target {
        return Err(format!(
            "reports of different targets: {target} and {this_target}"
        ));
    }
    match workers.iter().find(|w| merged.contains(w)) {
        Some(w) => Err(format!("worker {w} appears twice")),
        None => Ok(()),
    }
}

/// `rule: observed` for each rule that failed.
pub(crate) fn failed(results: &[ThresholdResult]) -> Vec<String> {
    results
        .iter()
        .filter(|t| !t.passed)
        .map(|t| format!("{}: {}", t.rule, t.observed))
        .collect()
}

/// Combines worker reports: counts and histograms summed, percentiles recomputed from
/// the merged histograms, request rates summed (the workers ran side by side), the
/// longest duration kept, integrity summed, and the thresholds judged again on the merged
/// figures (an rps rule on the sum of the workers' rates).
pub fn merge(reports: &[WorkerReport]) -> Result<WorkerReport, String> {
    let Some(first) = reports.first() else {
        return Err("nothing to merge".to_owned());
    };
    let mut out = WorkerReport {
        workers: Vec::new(),
        users: 0,
        duration_seconds: 0.0,
        requests: BTreeMap::new(),
        totals: RequestReport::default(),
        requests_per_second: 0.0,
        thresholds: Vec::new(),
        failed_thresholds: Vec::new(),
        integrity: IntegrityReport {
            mode: first.integrity.mode.clone(),
            ..IntegrityReport::default()
        },
        cleanup: Cleanup::default(),
        generation_seconds: 0.0,
        cpu_seconds: Some(0.0),
        ..first.clone()
    };
    for r in reports {
        mergeable(
            (SCHEMA, &first.target, &out.workers),
            (&r.schema, &r.target, &r.workers),
        )?;
        out.workers.extend(&r.workers);
        out.worker_count = out.worker_count.max(r.worker_count);
        out.users += r.users;
        out.duration_seconds = out.duration_seconds.max(r.duration_seconds);
        out.requests_per_second += r.requests_per_second;
        for (k, v) in &r.requests {
            out.requests.entry(k.clone()).or_default().add(v);
        }
        out.totals.add(&r.totals);
        out.integrity.add(&r.integrity);
        out.cleanup.add(&r.cleanup);
        out.generation_seconds += r.generation_seconds;
        out.cpu_seconds = out.cpu_seconds.zip(r.cpu_seconds).map(|(a, b)| a + b);
    }
    out.workers.sort_unstable();
    let mut rules: Vec<String> = Vec::new();
    for t in reports.iter().flat_map(|r| &r.thresholds) {
        if !rules.contains(&t.rule) {
            rules.push(t.rule.clone());
        }
    }
    let summed_rps = |_: Option<&str>, rule: &str| -> Option<Option<f64>> {
        let values: Option<Vec<Option<f64>>> = reports
            .iter()
            .map(|r| {
                r.thresholds
                    .iter()
                    .find(|t| t.rule == rule)
                    .map(|t| t.value)
            })
            .collect();
        let values: Option<Vec<f64>> = values?.into_iter().collect();
        Some(values.map(|v| v.iter().sum()))
    };
    out.judge(&rules, &summed_rps);
    // A rule a worker's goose stopped its run on stays failed.
    for r in reports {
        for t in r.thresholds.iter().filter(|t| t.aborted) {
            if let Some(m) = out.thresholds.iter_mut().find(|m| m.rule == t.rule) {
                m.passed = false;
                m.aborted = true;
                m.observed = format!("{}; worker {:?}: {}", m.observed, r.workers, t.observed);
            }
        }
    }
    out.failed_thresholds = failed(&out.thresholds);
    // Reports written before verdicts were kept name only what failed.
    for r in reports.iter().filter(|r| r.thresholds.is_empty()) {
        out.failed_thresholds.extend(
            r.failed_thresholds
                .iter()
                .map(|t| format!("worker {:?}: {t}", r.workers)),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(times: &[(u64, u64)]) -> RequestReport {
        let mut r = RequestReport {
            count: times.iter().map(|t| t.1).sum(),
            histogram_us: times.iter().copied().collect(),
            total_time_us: times.iter().map(|(t, n)| t * n).sum(),
            min_us: times.first().map_or(0, |t| t.0),
            max_us: times.last().map_or(0, |t| t.0),
            ..RequestReport::default()
        };
        r.success = r.count;
        r.derive();
        r
    }

    /// Two workers' HDR times merged give the histogram one worker with every time
    /// would have, and its percentiles are within 0.1% of the exact ones, at any
    /// magnitude (goose's own buckets are 10 ms wide above 100 ms and 1 s above 1 s).
    #[test]
    fn hdr_times_merge_exactly_and_keep_three_digits() {
        let (a, b, all) = (
            Latencies::default(),
            Latencies::default(),
            Latencies::default(),
        );
        let mut times = Vec::new();
        for i in 1..=20_000u64 {
            let us = i * 523 % 5_000_000 + 1;
            times.push(us);
            let worker = if i % 3 == 0 { &a } else { &b };
            worker.record(i as usize, ("POST", "/x"), us, 201);
            all.record(i as usize, ("POST", "/x"), us, 201);
        }
        let report = |l: &Latencies| {
            let mut r = RequestReport {
                histogram_us: l.counts().remove("POST /x").unwrap_or_default(),
                ..RequestReport::default()
            };
            r.count = r.histogram_us.values().sum();
            r.max_us = r.histogram_us.keys().last().copied().unwrap_or(0);
            r.derive();
            r
        };
        let mut merged = RequestReport::default();
        merged.add(&report(&a));
        merged.add(&report(&b));
        let one = report(&all);
        assert_eq!(merged.count, 20_000);
        assert_eq!(merged.histogram_us, one.histogram_us);
        assert_eq!(merged.latency_ms, one.latency_ms);
        times.sort_unstable();
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = times[((q * times.len() as f64).ceil() as usize).max(1) - 1] as f64;
            let hdr = merged.quantile_us(q) as f64;
            assert!(
                (hdr - exact).abs() <= exact * 0.001 + 1.0,
                "q {q}: {hdr} vs {exact}"
            );
        }
    }

    #[test]
    fn percentiles_come_from_the_merged_histogram_not_averages() {
        // Worker A: 99 fast requests; worker B: 1 fast, 99 slow.
        let a = request(&[(1_000, 99)]);
        let b = request(&[(1_000, 1), (100_000, 99)]);
        let mut m = RequestReport::default();
        m.add(&a);
        m.add(&b);
        assert_eq!(m.count, 199);
        // 100 of 199 are fast: the median is fast, p90 is slow. Averaging the workers'
        // medians would have said 50.5 ms.
        assert_eq!(m.latency_ms.p50, 1.0);
        assert_eq!(m.latency_ms.p90, 100.0);
        assert_eq!((m.min_us, m.max_us), (1_000, 100_000));
    }

    fn worker(index: usize, times: &[(u64, u64)], rps: f64) -> WorkerReport {
        let r = request(times);
        let mut w = WorkerReport {
            schema: SCHEMA.to_owned(),
            target: "http://127.0.0.1:1".to_owned(),
            workers: vec![index],
            worker_count: 2,
            duration_seconds: 10.0,
            users: 2,
            requests: BTreeMap::from([("POST /me/devices".to_owned(), r.clone())]),
            totals: r,
            requests_per_second: rps,
            thresholds: Vec::new(),
            failed_thresholds: Vec::new(),
            integrity: IntegrityReport::default(),
            cleanup: Cleanup::default(),
            generation_seconds: 0.0,
            cpu_seconds: None,
        };
        // goose's rps figure (its Maintain window) for the rps rule.
        let goose = |_: Option<&str>, rule: &str| (rule == "rps>=150").then_some(Some(rps * 0.9));
        w.judge(
            &[
                "p90<50ms".to_owned(),
                "rps>=150".to_owned(),
                "p99<1s for POST /me/devices".to_owned(),
            ],
            &goose,
        );
        w
    }

    /// Thresholds are judged on the HDR figures, and again after a merge on the merged
    /// ones, never carried over: worker b breaks p90 alone, the two together hold it;
    /// each misses the rate alone (goose's figure), together they make it.
    #[test]
    fn merged_reports_judge_the_thresholds_again() {
        let a = worker(0, &[(1_000, 95), (100_000, 5)], 100.0);
        let b = worker(1, &[(1_000, 85), (100_000, 15)], 100.0);
        assert!(a.thresholds[0].passed, "{:?}", a.thresholds);
        assert!(!b.thresholds[0].passed && b.thresholds[0].value == Some(100.0));
        for w in [&a, &b] {
            assert_eq!(w.thresholds[1].value, Some(90.0));
            assert!(!w.thresholds[1].passed && w.thresholds[2].passed);
        }
        assert_eq!(a.failed_thresholds, ["rps>=150: 90.0 req/s"]);
        let m = merge(&[a, b]).unwrap();
        // 20 of 200 at 100 ms: the 180th time, p90, is 1 ms.
        assert_eq!(m.thresholds[0].value, Some(1.0));
        assert!(m.thresholds[0].passed, "{:?}", m.thresholds);
        assert!(m.thresholds[1].passed && m.thresholds[1].value == Some(180.0));
        assert!(m.thresholds[2].passed);
        assert!(m.failed_thresholds.is_empty() && m.passed());
        assert!(m.thresholds.iter().all(|t| !t.aborted));
        // With p90 at 1 ms the 181st time is the first slow one: p90.5 breaks.
        let mut m = m;
        let none = |_: Option<&str>, _: &str| None;
        m.judge(&["p90.5<50ms".to_owned(), "rps>=150".to_owned()], &none);
        assert_eq!(m.failed_thresholds, ["p90.5<50ms: 100.000 ms"]);
        assert_eq!(
            m.thresholds[1].value,
            Some(200.0),
            "rate over the report's length"
        );
    }

    /// A rule goose stopped a worker's run on stays failed in the merge, though the
    /// merged figures hold it; the other rules are judged on the merged figures as ever.
    #[test]
    fn a_rule_goose_stopped_a_worker_on_stays_failed_in_the_merge() {
        let mut a = worker(0, &[(1_000, 95), (100_000, 5)], 100.0);
        let b = worker(1, &[(1_000, 85), (100_000, 15)], 100.0);
        assert!(a.thresholds[2].passed);
        a.thresholds[2].passed = false;
        a.thresholds[2].aborted = true;
        a.thresholds[2].observed = "goose stopped the run on it at 1.2 s".to_owned();
        let m = merge(&[a, b]).unwrap();
        let stopped = &m.thresholds[2];
        assert!(!stopped.passed && stopped.aborted, "{stopped:?}");
        assert!(
            stopped.observed.contains("worker [0]"),
            "{}",
            stopped.observed
        );
        assert!(m.thresholds[0].passed && m.thresholds[1].passed);
        assert_eq!(m.failed_thresholds.len(), 1, "{:?}", m.failed_thresholds);
        assert!(!m.passed());
    }
}

//! Live metrics while a load runs (`--metrics-addr ADDR`), in either model: the
//! counters and latency histograms in the Prometheus text format (version 0.0.4) at
//! `http://ADDR/metrics`, so a Grafana that watches the server can watch the load too.
//!
//! Every request name (goose's `POST /me/devices`, the open model's `create` and
//! `malformed`) is a `request` label. Families:
//! - `devices_harness_responses_total{request,status}`: answers by status (`0`: none);
//! - `devices_harness_latency_seconds{request}`: a histogram with fixed buckets, read
//!   from the run's HDR histograms (goose: the response time; the open model: from the
//!   scheduled start);
//! - open model only: `devices_harness_scheduled_total`, `devices_harness_dropped_total`
//!   and the `devices_harness_schedule_lag_seconds` histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use hdrhistogram::Histogram;

/// The upper bounds of the exported latency buckets, in seconds.
const BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What one request name recorded so far.
pub(crate) struct Series<'a> {
    /// The request name (the `request` label).
    pub request: &'a str,
    /// Times in microseconds.
    pub latency: &'a Histogram<u64>,
    /// Answers by status.
    pub statuses: &'a BTreeMap<u16, u64>,
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends a counter family of one sample.
pub(crate) fn counter(s: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(
        s,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
    );
}

/// Appends a histogram family: one series per `(labels, histogram)`.
fn histograms<'a>(
    s: &mut String,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (String, &'a Histogram<u64>)>,
) {
    let _ = write!(s, "# HELP {name} {help}\n# TYPE {name} histogram\n");
    for (labels, h) in series {
        let sep = if labels.is_empty() { "" } else { "," };
        for le in BUCKETS_S {
            let n = h.count_between(0, (le * 1e6) as u64);
            let _ = writeln!(s, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
        }
        let count = h.len();
        let sum = h.mean() * count as f64 / 1e6;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = write!(
            s,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}\n{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n"
        );
    }
}

/// Appends the per-request families: responses by status and the latency histograms.
pub(crate) fn requests(s: &mut String, series: &[Series<'_>], latency_help: &str) {
    s.push_str("# HELP devices_harness_responses_total Answers by request and status (0: none).\n# TYPE devices_harness_responses_total counter\n");
    for r in series {
        let request = label(r.request);
        for (status, n) in r.statuses {
            let _ = writeln!(
                s,
                "devices_harness_responses_total{{request=\"{request}\",status=\"{status}\"}} {n}"
            );
        }
    }
    histograms(
        s,
        "devices_harness_latency_seconds",
        latency_help,
        series
            .iter()
            .map(|r| (format!("request=\"{}\"", label(r.request)), r.latency)),
    );
}

/// Appends one unlabelled histogram family.
pub(crate) fn histogram(s: &mut String, name: &str, help: &str, h: &Histogram<u64>) {
    histograms(s, name, help, std::iter::once((String::new(), h)));
}

/// What renders the exposition at each scrape.
pub(crate) type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Serves `GET /metrics` on `addr` until the returned task is aborted.
pub(crate) async fn serve(
    addr: std::net::SocketAddr,
    render: Render,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: {e}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let body = render();
            async move {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    body,
                )
            }
        }),
    );
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_is_cumulative_and_escaped() {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for us in [300, 700, 2_000, 2_000_000, 20_000_000] {
            h.record(us).unwrap();
        }
        let statuses = BTreeMap::from([(201, 4), (0, 1)]);
        let mut s = String::new();
        requests(
            &mut s,
            &[Series {
                request: "POST /a\"b",
                latency: &h,
                statuses: &statuses,
            }],
            "Latency.",
        );
        assert!(s.contains(
            "devices_harness_responses_total{request=\"POST /a\\\"b\",status=\"201\"} 4\n"
        ));
        let buckets: Vec<u64> = s
            .lines()
            .filter(|l| l.starts_with("devices_harness_latency_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), 15);
        assert_eq!(buckets[0], 1, "300 us under 0.5 ms");
        assert_eq!(buckets[1], 2);
        assert_eq!(buckets[2], 3, "2 ms under 2.5 ms");
        assert_eq!(buckets[12], 4, "2 s under 2.5 s");
        assert_eq!(buckets[13], 4, "20 s over 10 s");
        assert_eq!(buckets[14], 5, "+Inf counts all");
        assert!(s.contains("devices_harness_latency_seconds_count{request=\"POST /a\\\"b\"} 5\n"));
        let mut lag = String::new();
        histogram(&mut lag, "x_seconds", "Lag.", &h);
        assert!(lag.contains("x_seconds_bucket{le=\"+Inf\"} 5\nx_seconds_sum "));
        assert!(lag.contains("\nx_seconds_count 5\n"));
    }
}

//! Pass/fail rules on a load run, judged on the exact (HDR) figures of either model.
//!
//! A rule is goose's `--threshold` syntax, `<metric><op><value>[ for <request>]`:
//! `pNN` (any percentile, `p99.9`), `avg` or `mean`, `max`, `error-rate` (percent of
//! requests that did not get what was expected), `rps`, and for the open model
//! `dropped` (percent of due requests the generator could not start); `<`, `<=`, `>`,
//! `>=`; a time with `us`, `ms` or `s` (a bare number is milliseconds), a percent with an
//! optional `%`, a rate. `for POST /me/devices` judges one request as the report names
//! it (`create`, `malformed` in the open model).
//!
//! goose judges the same rules on its own buckets (exact below 100 ms, then 10 ms, 100 ms
//! and 1 s wide), once a second while it runs, and may stop a run early on them; the
//! verdict a run reports is this module's, on the HDR histograms (3 significant digits),
//! again after `load merge` on the merged histograms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a rule measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// A latency quantile, above 0 and below 1.
    Quantile(f64),
    /// The mean latency.
    Mean,
    /// The slowest.
    Max,
    /// Failed requests, percent of all.
    ErrorRate,
    /// Requests due that could not start, percent of all due (open model).
    Dropped,
    /// Requests per second.
    Rps,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// One rule, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    text: String,
    /// What it measures.
    pub metric: Metric,
    op: Op,
    /// Milliseconds for a latency, a percent, or requests per second.
    limit: f64,
    /// The request it judges (`None`: all together).
    pub request: Option<String>,
}

/// A rule's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The rule as given.
    pub rule: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed, in words (`12.345 ms`, `0.400%`, `no samples`).
    pub observed: String,
    /// What was observed: milliseconds, a percent or requests per second (`None`: no
    /// samples).
    #[serde(default)]
    pub value: Option<f64>,
    /// goose stopped the run on this rule while it went (`--threshold-abort`): the rule
    /// stays failed whatever the end says, in a merge of workers' reports too.
    #[serde(default)]
    pub aborted: bool,
}

impl fmt::Display for ThresholdResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(f, "{}: {verdict} ({})", self.rule, self.observed)
    }
}

/// The figures a rule reads: a report of either model, one worker's or merged.
pub trait Figures {
    /// A latency figure in milliseconds of `request` (`None`: all), `None` without samples.
    fn latency_ms(&self, request: Option<&str>, metric: Metric) -> Option<f64>;
    /// Failed requests, percent of `request`'s (`None`: all), `None` without requests.
    fn error_rate(&self, request: Option<&str>) -> Option<f64>;
    /// Dropped requests, percent of those due; `None` where the model drops none.
    fn dropped(&self) -> Option<f64>;
    /// Requests per second of `request` (`None`: all) for `rule`.
    fn rps(&self, request: Option<&str>, rule: &str) -> Option<f64>;
}

fn plain_number(text: &str) -> Option<f64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && text.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(text: &str) -> Result<Rule, String> {
        let rule = text.trim();
        let refuse = |why: &str| Err(format!("threshold {rule:?}: {why}"));
        let Some(at) = rule.find(['<', '>', '=']) else {
            return refuse("no operator; use <, <=, > or >=, as in p99<250ms");
        };
        let name = rule[..at].trim();
        let metric = match name {
            "avg" | "mean" => Metric::Mean,
            "max" => Metric::Max,
            "error-rate" => Metric::ErrorRate,
            "dropped" => Metric::Dropped,
            "rps" => Metric::Rps,
            _ => match name.strip_prefix('p').and_then(plain_number) {
                Some(p) if p > 0.0 && p < 100.0 => Metric::Quantile(p / 100.0),
                _ => {
                    return refuse(&format!(
                        "{name:?} is not a metric; use pNN (p99, p99.9), avg, max, error-rate, dropped or rps"
                    ));
                }
            },
        };
        let rest = &rule[at..];
        let (op, rest) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::LessOrEqual, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::GreaterOrEqual, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Less, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Greater, r)
        } else {
            return refuse("the operator must be <, <=, > or >=");
        };
        if rest.starts_with(['<', '>', '=']) {
            return refuse("the operator must be <, <=, > or >=");
        }
        let rest = format!(" {}", rest.trim());
        let (value, request) = match rest.find(" for ") {
            Some(at) => (rest[..at].trim(), Some(rest[at + 5..].trim())),
            None => (rest.trim(), None),
        };
        if request == Some("") || rest.ends_with(" for") {
            return refuse("\"for\" needs a request name, as in p99<1s for POST /me/devices");
        }
        let limit = match metric {
            Metric::Quantile(_) | Metric::Mean | Metric::Max => {
                let (number, scale) = if let Some(n) = value.strip_suffix("us") {
                    (n, 0.001)
                } else if let Some(n) = value.strip_suffix("ms") {
                    (n, 1.0)
                } else if let Some(n) = value.strip_suffix('s') {
                    (n, 1000.0)
                } else {
                    (value, 1.0)
                };
                match plain_number(number) {
                    Some(n) => n * scale,
                    None => return refuse(&format!("{value:?} is not a time (500ms, 2s, 800us)")),
                }
            }
            Metric::ErrorRate | Metric::Dropped => {
                match plain_number(value.strip_suffix('%').unwrap_or(value)) {
                    Some(p) if p <= 100.0 => p,
                    _ => return refuse(&format!("{value:?} is not a percent up to 100%")),
                }
            }
            Metric::Rps => match plain_number(value) {
                Some(r) => r,
                None => return refuse(&format!("{value:?} is not a rate")),
            },
        };
        if metric == Metric::Dropped && request.is_some() {
            return refuse("dropped counts every request due; it takes no \"for\"");
        }
        Ok(Rule {
            text: rule.to_owned(),
            metric,
            op,
            limit,
            request: request.map(str::to_owned),
        })
    }
}

impl Rule {
    /// Parses every rule; the first that does not parse is the error.
    pub fn parse_all(rules: &[String]) -> Result<Vec<Rule>, String> {
        rules.iter().map(|r| r.parse()).collect()
    }

    /// The rule as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn holds(&self, observed: f64) -> bool {
        match self.op {
            Op::Less => observed < self.limit,
            Op::LessOrEqual => observed <= self.limit,
            Op::Greater => observed > self.limit,
            Op::GreaterOrEqual => observed >= self.limit,
        }
    }

    /// The verdict on `figures`; a rule without samples fails.
    pub fn judge(&self, figures: &impl Figures) -> ThresholdResult {
        let request = self.request.as_deref();
        let (value, observed) = match self.metric {
            Metric::Quantile(_) | Metric::Mean | Metric::Max => {
                let v = figures.latency_ms(request, self.metric);
                (v, v.map(|v| format!("{v:.3} ms")))
            }
            Metric::ErrorRate => {
                let v = figures.error_rate(request);
                (v, v.map(|v| format!("{v:.3}%")))
            }
            Metric::Dropped => {
                let v = figures.dropped();
                (v, v.map(|v| format!("{v:.3}%")))
            }
            Metric::Rps => {
                let v = figures.rps(request, &self.text);
                (v, v.map(|v| format!("{v:.1} req/s")))
            }
        };
        ThresholdResult {
            rule: self.text.clone(),
            passed: value.is_some_and(|v| self.holds(v)),
            observed: observed.unwrap_or_else(|| "no samples".to_owned()),
            value,
            aborted: false,
        }
    }
}

/// Judges every rule in `rules` (they parsed once already; one that no longer does
/// fails with why).
pub fn judge_all(rules: &[String], figures: &impl Figures) -> Vec<ThresholdResult> {
    rules
        .iter()
        .map(|text| match text.parse::<Rule>() {
            Ok(rule) => rule.judge(figures),
            Err(why) => ThresholdResult {
                rule: text.clone(),
                passed: false,
                observed: why,
                value: None,
                aborted: false,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Figures for Fixed {
        fn latency_ms(&self, request: Option<&str>, metric: Metric) -> Option<f64> {
            match (request, metric) {
                (Some("POST /slow"), Metric::Quantile(q)) => Some(1000.0 * q),
                (Some(_), _) => None,
                (None, Metric::Quantile(q)) => Some(100.0 * q),
                (None, Metric::Mean) => Some(20.0),
                (None, _) => Some(250.0),
            }
        }
        fn error_rate(&self, _: Option<&str>) -> Option<f64> {
            Some(0.5)
        }
        fn dropped(&self) -> Option<f64> {
            None
        }
        fn rps(&self, _: Option<&str>, _: &str) -> Option<f64> {
            Some(200.0)
        }
    }

    fn verdict(rule: &str) -> ThresholdResult {
        rule.parse::<Rule>().unwrap().judge(&Fixed)
    }

    #[test]
    fn rules_read_goose_syntax_and_ours() {
        assert!(verdict("p99<100ms").passed); // 99 ms
        assert!(!verdict("p99.9<99ms").passed); // 99.9 ms
        assert!(
            verdict("p99.9<99.95").passed,
            "bare numbers are milliseconds"
        );
        assert!(verdict("p50 <= 0.05s").passed);
        assert!(!verdict("p50<49999us").passed);
        assert!(verdict("avg<21ms").passed && verdict("mean<21ms").passed);
        assert!(!verdict("max<250ms").passed && verdict("max<=250ms").passed);
        assert!(verdict("error-rate<1%").passed && !verdict("error-rate<0.5").passed);
        assert!(verdict("rps>=200").passed && !verdict("rps>200").passed);
        assert!(!verdict("p99<900ms for POST /slow").passed); // 990 ms
        assert!(verdict("p90<901ms for POST /slow").passed);
        let none = verdict("p99<1s for GET /nothing");
        assert!(!none.passed && none.observed == "no samples" && none.value.is_none());
        let dropped = verdict("dropped<1%");
        assert!(
            !dropped.passed,
            "a model that drops nothing has no figure to hold"
        );
        assert_eq!(verdict("p99<100ms").value, Some(99.0));
    }

    #[test]
    fn malformed_rules_are_refused_before_a_run() {
        for bad in [
            "",
            "p99",
            "p100<1s",
            "p0<1s",
            "q99<1s",
            "p99<<1s",
            "p99=<1s",
            "p99<",
            "p99<fast",
            "p99<-1ms",
            "error-rate<101%",
            "rps>lots",
            "p99<1s for",
            "p99<1s for ",
            "dropped<1% for POST /me/devices",
        ] {
            assert!(bad.parse::<Rule>().is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            "p99<1s for POST /me/devices"
                .parse::<Rule>()
                .unwrap()
                .request
                .as_deref(),
            Some("POST /me/devices")
        );
    }
}

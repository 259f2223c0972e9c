//! What a run found: per-oracle counts, findings with reproducers, and the three ways of
//! writing them (a human summary, JUnit XML, JSON with the schema in
//! `schemas/check-report.schema.json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::causes::{Cause, CauseKind};
use super::collect::Draft;
use super::watch::Event;
use super::{Config, Target};
use crate::contract::Level;
use crate::target::oracles::Oracle;
use crate::text::{plural, shell_quote, xml};

/// The JSON report's schema id (bumped on incompatible change).
pub const SCHEMA: &str = "devices-harness/check-report/1";

/// Passed, failed and skipped checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Checks that held.
    pub passed: u64,
    /// Checks that broke a rule.
    pub failed: u64,
    /// Checks not made.
    pub skipped: u64,
}

/// The counts of one oracle on one endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EndpointCounts {
    /// Checks that held.
    pub passed: u64,
    /// Checks that broke a rule.
    pub failed: u64,
    /// Checks not made.
    pub skipped: u64,
    /// Why some were skipped.
    pub skip_reason: Option<String>,
}

/// One endpoint's line in an oracle.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointReport {
    /// Method and path template, or what was checked.
    pub endpoint: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: EndpointCounts,
}

/// One oracle's results.
#[derive(Clone, Debug, Serialize)]
pub struct OracleReport {
    /// Its name.
    pub oracle: Oracle,
    /// What it checks.
    pub description: &'static str,
    /// The level of its findings under the profile.
    pub level: Level,
    /// Totals.
    #[serde(flatten)]
    pub counts: Counts,
    /// Per endpoint.
    pub endpoints: Vec<EndpointReport>,
    /// `ran`; `not-run` when not one of its checks was made; `not-selected` when
    /// `--oracles` left it out.
    pub status: &'static str,
    /// Why it did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How to send a finding's request again.
#[derive(Clone, Debug, Serialize)]
pub struct Reproducer {
    /// The method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The target's base URL and the path.
    pub url: String,
    /// Headers, tokens replaced by `$TOKEN` / `$OTHER_TOKEN`.
    pub headers: Vec<(String, String)>,
    /// The body when it is UTF-8 and at most 64 KiB.
    pub body: Option<String>,
    /// The body in base64 when it is not UTF-8 (at most 64 KiB).
    pub body_base64: Option<String>,
    /// The body's length in bytes.
    pub body_bytes: usize,
    /// A `curl` command line (the token from `$TOKEN`).
    pub curl: String,
    /// The command that re-runs a generated case (`None` for probes).
    pub replay: Option<String>,
}

/// A broken rule, with how often and how to see it again.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// `F1`, `F2`, ... in the order found.
    pub id: String,
    /// The cause it is a symptom of (`C1`, `H1`, `V1`, ...).
    pub cause: String,
    /// The oracle.
    pub oracle: Oracle,
    /// `error` or `warning`.
    pub level: Level,
    /// Method and path template.
    pub endpoint: String,
    /// The rule within the oracle.
    pub rule: String,
    /// The input class (`valid`, a defect class or a probe's name).
    pub class: String,
    /// What a conforming target does.
    pub expected: String,
    /// What this one did (for the reproducer's request).
    pub seen: String,
    /// Requests that broke the rule in the same way.
    pub occurrences: u64,
    /// The part of CONTRACT.md the rule comes from, to judge the finding by.
    pub contract: &'static str,
    /// The generated case (`SEED:INDEX`), when it came from one.
    pub case: Option<super::CaseId>,
    /// Shrinking: candidates tried and kept (`None` when not shrunk).
    pub shrink: Option<ShrinkReport>,
    /// The request, minimal when shrunk.
    pub reproduce: Reproducer,
}

/// What shrinking did.
#[derive(Clone, Debug, Serialize)]
pub struct ShrinkReport {
    /// Candidates tried.
    pub tries: usize,
    /// Candidates kept.
    pub steps: usize,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The schema this report follows (`schemas/check-report.schema.json`).
    pub schema: &'static str,
    /// `devices-harness <version>`.
    pub tool: String,
    /// The base URL, or `in-process`.
    pub target: String,
    /// The profile's name.
    pub profile: String,
    /// The run's seed.
    pub seed: u64,
    /// Generated cases sent (before the probes).
    pub cases: u64,
    /// Cases sent in the fuzz phase.
    pub fuzz_cases: u64,
    /// How long the fuzz phase took, in seconds.
    pub fuzz_seconds: f64,
    /// Requests sent in all.
    pub requests: u64,
    /// Wall time of the whole run, in seconds.
    pub duration_seconds: f64,
    /// Generated cases per second (the cases phase alone).
    pub cases_per_second: f64,
    /// Whether the cross-user checks ran.
    pub second_user: bool,
    /// Answers by status code (or transport failure).
    pub statuses: BTreeMap<String, u64>,
    /// Per oracle.
    pub oracles: Vec<OracleReport>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
    /// What 429s cost the run.
    pub throttling: Throttling,
    /// The causes of the findings, crash > hang > error > warning.
    pub causes: Vec<Cause>,
    /// Why the run ended before every check was made, if it did.
    pub ended_early: Option<String>,
    /// Restarts of a spawned target after crashes.
    pub restarts: u32,
    /// The devices the run created, and what became of them.
    pub cleanup: crate::target::Cleanup,
    /// The reference implementation of differential mode (`--reference`), if any.
    pub reference: Option<super::ReferenceReport>,
}

/// 429s in a run: waited out, never findings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Throttling {
    /// 429s waited out and the request sent again.
    pub retried: u64,
    /// Requests still answered 429 after every retry: the checks they were for are
    /// skipped.
    pub unanswered: u64,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    target: &Target,
    config: &Config,
    (cases, fuzz_cases, fuzz_seconds): (u64, u64, f64),
    counts: BTreeMap<(Oracle, String), EndpointCounts>,
    mut drafts: Vec<Draft>,
    statuses: BTreeMap<String, u64>,
    requests: u64,
    throttling: Throttling,
    (events, ended_early, restarts): (Vec<Event>, Option<String>, u32),
    elapsed: Duration,
    cases_elapsed: Duration,
) -> Report {
    let oracles = Oracle::ALL
        .iter()
        .map(|&oracle| {
            let endpoints: Vec<EndpointReport> = counts
                .iter()
                .filter(|((o, _), _)| *o == oracle)
                .map(|((_, e), c)| EndpointReport {
                    endpoint: config.profile.routes().label(e),
                    counts: c.clone(),
                })
                .collect();
            let mut total = Counts::default();
            for e in &endpoints {
                total.passed += e.counts.passed;
                total.failed += e.counts.failed;
                total.skipped += e.counts.skipped;
            }
            let ran = total.passed + total.failed > 0;
            let selected = config.selected(oracle);
            let reason = (!ran).then(|| {
                if !selected {
                    return "not selected (--oracles)".to_owned();
                }
                endpoints
                    .iter()
                    .find_map(|e| e.counts.skip_reason.clone())
                    .or_else(|| ended_early.clone())
                    .unwrap_or_else(|| "none of its checks was reached".to_owned())
            });
            OracleReport {
                oracle,
                description: oracle.describe(),
                level: oracle.level(&config.profile),
                counts: total,
                endpoints,
                status: match (ran, selected) {
                    (true, _) => "ran",
                    (false, true) => "not-run",
                    (false, false) => "not-selected",
                },
                reason,
            }
        })
        .collect();
    drafts.sort_by_key(|d| (std::cmp::Reverse(d.violation.level), d.order));
    let base = target.transport.curl_base();
    let mut findings: Vec<Finding> = drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| finding(i, d, target, config, &base))
        .collect();
    let causes = super::causes::group(&mut findings, &events, |req| {
        reproducer(req, None, None, target, config, &base)
    });
    Report {
        schema: SCHEMA,
        tool: format!("devices-harness {}", env!("CARGO_PKG_VERSION")),
        target: if target.embedded {
            format!(
                "embedded reference server at {}",
                target.transport.describe()
            )
        } else {
            target.transport.describe()
        },
        profile: config.profile.name().to_owned(),
        seed: config.seed,
        cases,
        fuzz_cases,
        fuzz_seconds,
        requests,
        duration_seconds: elapsed.as_secs_f64(),
        cases_per_second: cases as f64 / cases_elapsed.as_secs_f64().max(1e-9),
        second_user: target.other.is_some(),
        statuses,
        oracles,
        findings,
        throttling,
        causes,
        ended_early,
        restarts,
        cleanup: crate::target::Cleanup::default(),
        reference: None,
    }
}

fn finding(i: usize, d: Draft, target: &Target, config: &Config, base: &str) -> Finding {
    let case = d.example.case.as_ref().map(|(id, ..)| *id);
    let reproduce = reproducer(
        &d.request,
        d.example.body_recipe.as_deref(),
        case,
        target,
        config,
        base,
    );
    let contract = crate::target::oracles::contract_section(d.violation.oracle, &d.violation.rule);
    Finding {
        id: format!("F{}", i + 1),
        cause: d.violation.cause.clone().unwrap_or_default(),
        contract,
        oracle: d.violation.oracle,
        level: d.violation.level,
        endpoint: config.profile.routes().label(&d.endpoint),
        rule: d.violation.rule,
        class: d.example.class,
        expected: d.violation.expected,
        seen: d.violation.seen,
        occurrences: d.occurrences,
        case,
        shrink: d.shrunk.map(|s| ShrinkReport {
            tries: s.tries,
            steps: s.steps,
        }),
        reproduce,
    }
}

/// How to send `req` again: its parts (tokens hidden), a `curl` line, and the replay
/// command of a generated case.
pub(crate) fn reproducer(
    req: &super::Request,
    recipe: Option<&str>,
    case: Option<super::CaseId>,
    target: &Target,
    config: &Config,
    base: &str,
) -> Reproducer {
    let hide = |value: &str| {
        let mut v = value.replace(&target.user.token, "$TOKEN");
        if let Some(o) = &target.other {
            v = v.replace(&o.token, "$OTHER_TOKEN");
        }
        v
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                hide(&String::from_utf8_lossy(v.as_bytes())),
            )
        })
        .collect();
    let bytes = req.body.bytes();
    let printable = bytes.len() <= 64 * 1024;
    let text = std::str::from_utf8(bytes).ok();
    let mut curl = String::new();
    let data = match (recipe, text) {
        _ if bytes.is_empty() => None,
        (Some(recipe), _) if !printable => Some(format!("{recipe} | ")),
        (_, Some(t)) if printable => Some(format!("printf '%s' {} | ", shell_quote(t))),
        _ if printable => Some(format!("printf '{}' | ", printf_escape(bytes))),
        _ => Some(format!(
            "# body of {} bytes, too big to print: see the JSON report | ",
            bytes.len()
        )),
    };
    if let Some(pipe) = &data {
        curl.push_str(pipe);
    }
    // The request as sent: on the profile's routes.
    let path = config.profile.routes().resolve(&req.path);
    let url = format!("{base}{path}");
    let _ = write!(curl, "curl -sS -i -X {} {}", req.method, shell_quote(&url));
    for (name, value) in &headers {
        let line = format!("{name}: {value}");
        if value.contains("$TOKEN") || value.contains("$OTHER_TOKEN") {
            let _ = write!(curl, " -H \"{}\"", line.replace('"', "\\\""));
        } else {
            let _ = write!(curl, " -H {}", shell_quote(&line));
        }
    }
    if data.is_some() {
        curl.push_str(" --data-binary @-");
    }
    let replay = case.map(|id| {
        let mut line = "devices-harness check".to_owned();
        if !target.embedded {
            // Credentials from DEVICES_TOKEN and DEVICES_USER_ID.
            let _ = write!(line, " --target {}", shell_quote(base));
        }
        if config.profile.name() != crate::Profile::seed().name() {
            line.push_str(" --profile PROFILE.toml");
        }
        match &config.reference {
            Some(r) if r.embedded => line.push_str(" --reference embedded"),
            // Its credentials from DEVICES_REFERENCE_TOKEN and DEVICES_REFERENCE_USER_ID.
            Some(r) => {
                let _ = write!(
                    line,
                    " --reference {}",
                    shell_quote(&r.transport.curl_base())
                );
            }
            None => {}
        }
        let _ = write!(line, " --replay {id}");
        line
    });
    Reproducer {
        method: req.method.to_string(),
        path: path.into_owned(),
        url: url.clone(),
        headers,
        body: text.filter(|_| printable).map(str::to_owned),
        body_base64: if printable && text.is_none() {
            Some(base64(bytes))
        } else {
            None
        },
        body_bytes: bytes.len(),
        curl,
        replay,
    }
}

fn printf_escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\047"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    crate::model::Binary::encode(bytes, false, true)
        .as_str()
        .to_owned()
}

impl Report {
    /// Findings at error level.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    /// Findings at warning level.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .count()
    }

    /// Whether the run passes when findings at `fail_on` or above fail it.
    /// No finding at or above `fail_on`, and no request left unanswered by 429s (a run
    /// that could not check everything does not pass).
    pub fn passes(&self, fail_on: Level) -> bool {
        !self.findings.iter().any(|f| f.level >= fail_on)
            && self.causes.iter().all(|c| c.level < fail_on)
            && self.throttling.unanswered == 0
            && self.ended_early.is_none()
    }

    /// The oracle's results.
    pub fn oracle(&self, oracle: Oracle) -> Option<&OracleReport> {
        self.oracles.iter().find(|o| o.oracle == oracle)
    }

    /// Findings of `oracle`.
    pub fn findings_of(&self, oracle: Oracle) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.oracle == oracle)
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The human summary: per-oracle counts, then each finding with its reproducer.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if let Some(why) = &self.ended_early {
            let not_run = self
                .oracles
                .iter()
                .filter(|o| o.status == "not-run")
                .count();
            let _ = writeln!(
                s,
                "ENDED EARLY: {why}; {} not run",
                plural(not_run as u64, "oracle")
            );
        }
        let _ = writeln!(
            s,
            "check {} (profile {}, seed {}): {} cases{}, {} requests in {:.1} s ({:.0} cases/s)",
            self.target,
            self.profile,
            self.seed,
            self.cases,
            if self.fuzz_cases > 0 {
                format!(" and {} fuzz cases", self.fuzz_cases)
            } else {
                String::new()
            },
            self.requests,
            self.duration_seconds,
            self.cases_per_second
        );
        if self.throttling.unanswered > 0 {
            let _ = writeln!(
                s,
                "throttled: {} unanswered (still 429 after every retry); the checks they were for are skipped",
                plural(self.throttling.unanswered, "request")
            );
        } else if self.throttling.retried > 0 {
            let _ = writeln!(
                s,
                "throttled: {} waited out and sent again; every request answered",
                plural(self.throttling.retried, "429")
            );
        }
        if let Some(line) = self.cleanup.line() {
            let _ = writeln!(s, "{line}");
        }
        if let Some(r) = &self.reference {
            let _ = writeln!(
                s,
                "reference {}: {} ({} unanswered)",
                r.target,
                plural(r.requests, "request"),
                r.unanswered
            );
            if let Some(line) = r.cleanup.line() {
                let _ = writeln!(s, "reference {line}");
            }
        }
        self.write_causes(&mut s);
        let _ = writeln!(
            s,
            "\n{:<15} {:>7} {:>8} {:>7} {:>7}  what",
            "oracle", "level", "passed", "failed", "skipped"
        );
        for o in &self.oracles {
            let level = match o.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Off => "off",
            };
            let _ = writeln!(
                s,
                "{:<15} {:>7} {:>8} {:>7} {:>7}  {}",
                o.oracle.name(),
                level,
                o.counts.passed,
                o.counts.failed,
                o.counts.skipped,
                o.description
            );
            if o.status == "not-selected" {
                let _ = writeln!(s, "{:<15} NOT SELECTED", "");
            } else if let Some(why) = &o.reason {
                let _ = writeln!(s, "{:<15} NOT RUN: {why}", "");
            }
            // Skips for the reason the oracle did not run are said once, above.
            let own_reason = |e: &&EndpointReport| {
                e.counts.skip_reason.is_some() && e.counts.skip_reason != o.reason
            };
            for e in o
                .endpoints
                .iter()
                .filter(|e| e.counts.skipped > 0)
                .filter(own_reason)
            {
                let _ = writeln!(
                    s,
                    "{:<15} skipped {}: {}",
                    "",
                    e.endpoint,
                    e.counts.skip_reason.as_deref().unwrap_or("")
                );
            }
        }
        for f in &self.findings {
            let level = if f.level == Level::Error {
                "error"
            } else {
                "warning"
            };
            let _ = writeln!(
                s,
                "\n{} ({}) {level} [{}/{}] {} ({}; {})",
                f.id,
                f.cause,
                f.oracle,
                f.rule,
                f.endpoint,
                f.class,
                plural(f.occurrences, "time")
            );
            let _ = writeln!(s, "  expected: {}", f.expected);
            let _ = writeln!(s, "  seen:     {}", f.seen);
            let _ = writeln!(s, "  contract: {}", f.contract);
            if let Some(case) = &f.case {
                let shrunk = f
                    .shrink
                    .as_ref()
                    .map(|r| format!(", shrunk in {} steps ({} tries)", r.steps, r.tries))
                    .unwrap_or_default();
                let _ = writeln!(s, "  case:     {case}{shrunk}");
            }
            let _ = writeln!(
                s,
                "  curl:     {}",
                crate::target::oracles::clip(&f.reproduce.curl, 2000)
            );
        }
        let _ = writeln!(
            s,
            "\n{} ({}): {}, {}",
            plural(self.causes.len() as u64, "cause"),
            plural(self.findings.len() as u64, "finding"),
            plural(self.errors() as u64, "error"),
            plural(self.warnings() as u64, "warning")
        );
        s
    }

    /// The causes, crashes first, each with its reproducer.
    fn write_causes(&self, s: &mut String) {
        if self.causes.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "\n{} ({}); restarts of the target: {}",
            plural(self.causes.len() as u64, "cause"),
            plural(self.findings.len() as u64, "finding"),
            self.restarts
        );
        for c in &self.causes {
            let kind = match c.kind {
                CauseKind::Crash => "CRASH".to_owned(),
                CauseKind::Hang => "HANG".to_owned(),
                CauseKind::Violation if c.level == Level::Error => "error".to_owned(),
                CauseKind::Violation => "warning".to_owned(),
            };
            let _ = writeln!(
                s,
                "{} {kind}: {} ({}; findings {})",
                c.id,
                c.title,
                plural(c.occurrences, "time"),
                if c.findings.is_empty() {
                    "none".to_owned()
                } else {
                    c.findings.join(", ")
                }
            );
            if let Some(exit) = &c.exit {
                let _ = writeln!(s, "  exit:     {exit}");
            }
            if !c.stderr_tail.is_empty() {
                let _ = writeln!(s, "  stderr:");
                let from = c.stderr_tail.len().saturating_sub(12);
                for line in &c.stderr_tail[from..] {
                    let _ = writeln!(s, "    | {}", crate::target::oracles::clip(line, 200));
                }
            }
            if let Some(sh) = &c.shrink {
                let _ = writeln!(
                    s,
                    "  found:    from {} in flight; shrunk in {} steps ({} tries)",
                    plural(sh.suspects as u64, "request"),
                    sh.steps,
                    sh.tries
                );
            }
            match &c.reproduce {
                Some(r) => {
                    let _ = writeln!(
                        s,
                        "  curl:     {}",
                        crate::target::oracles::clip(&r.curl, 2000)
                    );
                }
                None if c.kind != CauseKind::Violation => {
                    let _ = writeln!(s, "  curl:     (no single request reproduced it)");
                }
                None => {}
            }
            if let Some(case) = &c.case {
                let _ = writeln!(s, "  case:     {case}");
            }
        }
    }

    /// JUnit XML: one test suite per oracle, one test case per oracle and endpoint.
    pub fn junit(&self) -> String {
        let (suites, tests, failures) = self.junit_suites();
        junit_document(
            "devices-harness check",
            &suites,
            tests,
            failures,
            self.duration_seconds,
        )
    }

    /// The `<testsuite>` elements of [`Report::junit`], with how many test cases and
    /// failures they hold (for a document with more suites).
    pub fn junit_suites(&self) -> (String, usize, usize) {
        let mut x = String::new();
        // An oracle with no check at all is one skipped test case, with the reason.
        let cases = |o: &OracleReport| o.endpoints.len().max(1);
        let tests: usize = self.oracles.iter().map(cases).sum();
        let failures: usize = self
            .oracles
            .iter()
            .flat_map(|o| &o.endpoints)
            .filter(|e| e.counts.failed > 0)
            .count();
        for o in &self.oracles {
            let failed = o.endpoints.iter().filter(|e| e.counts.failed > 0).count();
            let skipped = o
                .endpoints
                .iter()
                .filter(|e| e.counts.failed == 0 && e.counts.passed == 0)
                .count()
                .max(usize::from(o.endpoints.is_empty()));
            let _ = writeln!(
                x,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\">",
                xml(o.oracle.name()),
                cases(o)
            );
            if o.endpoints.is_empty() {
                let _ = writeln!(
                    x,
                    "    <testcase classname=\"{0}\" name=\"{0}\">\n      <skipped message=\"not run: {1}\"/>\n    </testcase>",
                    xml(o.oracle.name()),
                    xml(o
                        .reason
                        .as_deref()
                        .unwrap_or("none of its checks was reached"))
                );
            }
            for e in &o.endpoints {
                let _ = write!(
                    x,
                    "    <testcase classname=\"{}\" name=\"{}\"",
                    xml(o.oracle.name()),
                    xml(&e.endpoint)
                );
                let findings: Vec<&Finding> = self
                    .findings
                    .iter()
                    .filter(|f| f.oracle == o.oracle && f.endpoint == e.endpoint)
                    .collect();
                if e.counts.failed > 0 {
                    let _ = writeln!(x, ">");
                    let first = findings.first();
                    let _ = writeln!(
                        x,
                        "      <failure message=\"{} of {} checks failed{}\" type=\"{}\">",
                        e.counts.failed,
                        e.counts.failed + e.counts.passed,
                        first
                            .map(|f| xml(&format!(
                                ": {} expected {}, saw {}",
                                f.rule, f.expected, f.seen
                            )))
                            .unwrap_or_default(),
                        first.map(|f| xml(&f.rule)).unwrap_or_default()
                    );
                    for f in &findings {
                        let _ = writeln!(
                            x,
                            "{} [{}] {}\n  expected: {}\n  seen: {}\n  curl: {}",
                            f.id,
                            xml(&f.rule),
                            xml(&f.class),
                            xml(&f.expected),
                            xml(&f.seen),
                            xml(&f.reproduce.curl)
                        );
                    }
                    let _ = writeln!(x, "      </failure>\n    </testcase>");
                } else if e.counts.passed == 0 {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(e.counts.skip_reason.as_deref().unwrap_or("not run"))
                    );
                } else {
                    let _ = writeln!(x, "/>");
                }
            }
            let _ = writeln!(x, "  </testsuite>");
        }
        (x, tests, failures)
    }
}

/// A JUnit XML document of `suites`.
pub fn junit_document(
    name: &str,
    suites: &str,
    tests: usize,
    failures: usize,
    seconds: f64,
) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n{suites}</testsuites>\n",
        xml(name)
    )
}

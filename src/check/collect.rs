//! Collecting what a run saw: each judged aspect of an exchange is a [`Check`]; failed
//! checks of the same oracle, rule, endpoint and input class are one finding ([`Draft`],
//! keyed by [`FindingKey`]), its first example kept and shrunk, later ones counted.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::ctx::{Ctx, THROTTLED};
use super::report::{self, EndpointCounts, Report};
use super::runner::run_case;
use super::{Case, CaseId, CaseKind, cases, causes, shrink};
use crate::contract::Level;
use crate::target::Cleanup;
use crate::target::{Oracle, Request, Violation};

/// One judged aspect of one exchange: passed when `violations` is empty.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub(super) oracle: Oracle,
    pub(super) endpoint: String,
    pub(super) violations: Vec<Violation>,
    pub(super) request: Request,
    /// Why it was not made (then it is counted as skipped, never passed).
    pub(super) skipped: Option<String>,
}

/// Where a finding came from, to reproduce it.
#[derive(Clone, Debug)]
pub(crate) struct Example {
    pub(super) case: Option<(CaseId, CaseKind, Vec<u64>)>,
    /// What the request was (a case kind or a probe's name).
    pub(super) class: String,
    /// A shell command that writes the body, for bodies too big to print.
    pub(super) body_recipe: Option<String>,
}

impl Example {
    pub(super) fn case(id: CaseId, case: &Case) -> Example {
        Example {
            case: Some((id, case.kind, case.choices.clone())),
            class: case.kind.name(),
            body_recipe: None,
        }
    }

    pub(crate) fn probe(name: &str) -> Example {
        Example {
            case: None,
            class: name.to_owned(),
            body_recipe: None,
        }
    }
}

/// A finding being collected: the first example kept, later ones counted.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    pub(super) violation: Violation,
    pub(super) endpoint: String,
    pub(super) example: Example,
    pub(super) request: Request,
    pub(super) occurrences: u64,
    pub(super) order: usize,
    pub(super) shrunk: Option<shrink::Shrunk>,
}

#[derive(Default)]
pub(super) struct Results {
    pub(super) counts: BTreeMap<(Oracle, String), EndpointCounts>,
    pub(super) findings: BTreeMap<FindingKey, Draft>,
    pub(super) statuses: BTreeMap<String, u64>,
}

impl Ctx {
    /// Counts a check as skipped.
    pub(crate) fn skip(&self, oracle: Oracle, endpoint: &str, reason: &str) {
        if !self.config.selected(oracle) {
            return;
        }
        if let Ok(mut r) = self.results.lock() {
            let c = r.counts.entry((oracle, endpoint.to_owned())).or_default();
            c.skipped += 1;
            if c.skip_reason.is_none() {
                c.skip_reason = Some(reason.to_owned());
            }
        }
    }

    /// Records checks: passes and failures per oracle and endpoint, and findings.
    pub(crate) fn record_all(&self, checks: Vec<Check>, example: Example) {
        let Ok(mut r) = self.results.lock() else {
            return;
        };
        // Checks of oracles not selected are not counted: they are reported as such.
        for check in checks
            .into_iter()
            .filter(|c| self.config.selected(c.oracle))
        {
            let level = check.oracle.level(&self.config.profile);
            if let Some(why) = &check.skipped {
                let c = r
                    .counts
                    .entry((check.oracle, check.endpoint.clone()))
                    .or_default();
                c.skipped += 1;
                if c.skip_reason.is_none() {
                    c.skip_reason = Some(why.clone());
                }
                continue;
            }
            let live: Vec<Violation> = check
                .violations
                .into_iter()
                .map(|v| v.at(level))
                .filter(|v| v.level > Level::Off)
                .collect();
            if level == Level::Off {
                continue;
            }
            let counts = r
                .counts
                .entry((check.oracle, check.endpoint.clone()))
                .or_default();
            if live.is_empty() {
                counts.passed += 1;
                continue;
            }
            counts.failed += 1;
            for v in live {
                let key = FindingKey::of(&v, &check.endpoint, &example.class);
                let order = r.findings.len();
                r.findings
                    .entry(key)
                    .and_modify(|d| d.occurrences += 1)
                    .or_insert_with(|| Draft {
                        violation: v,
                        endpoint: check.endpoint.clone(),
                        example: example.clone(),
                        request: check.request.clone(),
                        occurrences: 1,
                        order,
                        shrunk: None,
                    });
            }
        }
    }

    /// Shrinks the first findings from generated cases.
    pub(super) async fn shrink_findings(&self) {
        let mut todo: Vec<(FindingKey, Draft)> = match self.results.lock() {
            Ok(r) => r
                .findings
                .iter()
                .filter(|(_, d)| d.example.case.is_some())
                .map(|(k, d)| (k.clone(), d.clone()))
                .collect(),
            Err(_) => return,
        };
        todo.sort_by_key(|(_, d)| d.order);
        let deadline = Instant::now() + self.config.shrink_time;
        // One shrink per cause: its other findings are the same fault.
        let mut seen = HashSet::new();
        todo.retain(|(_, d)| {
            let v = &d.violation;
            seen.insert(causes::key(v.oracle, &v.rule, &v.seen))
        });
        todo.truncate(self.config.shrink_findings);
        for (key, draft) in todo {
            let Some((id, kind, choices)) = &draft.example.case else {
                continue;
            };
            let smallest = Mutex::new(None::<Request>);
            let out = shrink::shrink(choices.clone(), self.config.shrink_budget, |c| {
                let key = &key;
                let smallest = &smallest;
                async move {
                    if self.dead() || Instant::now() >= deadline {
                        return false;
                    }
                    let Some(case) = cases::replay(&self.config.profile, *kind, &c, self.salt)
                    else {
                        return false;
                    };
                    let checks = run_case(self, &case, *id).await;
                    let hit = checks.into_iter().find_map(|check| {
                        check
                            .violations
                            .iter()
                            .any(|v| FindingKey::of(v, &check.endpoint, &kind.name()) == *key)
                            .then_some(check.request)
                    });
                    match hit {
                        Some(req) => {
                            if let Ok(mut s) = smallest.lock() {
                                *s = Some(req);
                            }
                            true
                        }
                        None => false,
                    }
                }
            })
            .await;
            let request = smallest.into_inner().ok().flatten();
            if let Ok(mut r) = self.results.lock()
                && let Some(d) = r.findings.get_mut(&key)
            {
                if let Some(req) = request {
                    d.request = req;
                }
                if let Some((_, _, c)) = &mut d.example.case {
                    c.clone_from(&out.choices);
                }
                d.shrunk = Some(out);
            }
        }
    }

    pub(super) fn into_report(
        self,
        elapsed: Duration,
        cases_elapsed: Duration,
        sent: (u64, u64, f64),
        cleanup: Cleanup,
    ) -> Report {
        let ended_early = self.ended_early();
        let results = self.results.into_inner().unwrap_or_default();
        let mut report = report::build(
            &self.target,
            &self.config,
            sent,
            results.counts,
            results.findings.into_values().collect(),
            results.statuses,
            self.requests.load(Ordering::Relaxed) + self.watch.extra_requests(),
            report::Throttling {
                retried: self.retried.load(Ordering::Relaxed),
                unanswered: self.unanswered.load(Ordering::Relaxed),
            },
            (self.watch.events(), ended_early, self.watch.restarts()),
            elapsed,
            cases_elapsed,
        );
        report.cleanup = cleanup;
        report
    }
}

/// What makes two failed checks one finding: the same oracle and rule, on the same
/// endpoint, for the same class of input.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FindingKey {
    oracle: Oracle,
    rule: String,
    endpoint: String,
    class: String,
}

impl FindingKey {
    fn of(v: &Violation, endpoint: &str, class: &str) -> FindingKey {
        FindingKey {
            oracle: v.oracle,
            rule: v.rule.clone(),
            endpoint: endpoint.to_owned(),
            class: class.to_owned(),
        }
    }
}

pub(crate) fn check(
    oracle: Oracle,
    endpoint: &str,
    req: &Request,
    violations: Vec<Violation>,
) -> Check {
    Check {
        oracle,
        endpoint: endpoint.to_owned(),
        violations,
        request: req.clone(),
        skipped: None,
    }
}

impl Check {
    /// A check that could not be made, and why.
    pub(crate) fn skipped(oracle: Oracle, endpoint: &str, req: &Request, why: &str) -> Check {
        Check {
            skipped: Some(why.to_owned()),
            ..check(oracle, endpoint, req, Vec::new())
        }
    }
}

/// Whether the request of these checks went unanswered for 429s.
pub(crate) fn throttled(checks: &[Check]) -> bool {
    checks
        .last()
        .is_some_and(|c| c.skipped.as_deref() == Some(THROTTLED))
}

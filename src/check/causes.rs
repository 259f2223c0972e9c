//! Causes, not symptoms: every finding belongs to one cause, and a report lists causes
//! first, crash > hang > error > warning, each with its smallest reproducer.
//!
//! A crash or a hang is a cause of its own (seen by the crash watch), and the findings of the
//! requests it broke are its symptoms. The other findings group by oracle, rule family
//! and the answer seen: the differences found in one kind of response are one cause
//! listing what differs ("26 of 26 properties differ"), and the same wrong answer across
//! many input classes is one cause listing the classes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::report::{Finding, Reproducer};
use super::watch::{Event, EventKind};
use crate::contract::Level;
use crate::target::oracles::Oracle;

/// What kind of cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseKind {
    /// The target died.
    Crash,
    /// The target left a request unanswered while answering others.
    Hang,
    /// A contract rule broken.
    Violation,
}

/// One cause and the findings that are its symptoms.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// `C1` (crash), `H1` (hang), `V1` (violation), ...
    pub id: String,
    /// Crash, hang or violation.
    pub kind: CauseKind,
    /// `error` or `warning` (crashes and hangs are errors).
    pub level: Level,
    /// The oracle that owns it.
    pub oracle: Oracle,
    /// One line on what it is.
    pub title: String,
    /// Its findings' ids.
    pub findings: Vec<String>,
    /// How many times it was seen (a crash: deaths; else the findings' occurrences).
    pub occurrences: u64,
    /// The smallest request that shows it.
    pub reproduce: Option<Reproducer>,
    /// The generated case of that request, when it was one (`SEED:INDEX`).
    pub case: Option<super::CaseId>,
    /// For a crash of a spawned target: how it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// For a crash of a spawned target: the last lines of its stderr.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stderr_tail: Vec<String>,
    /// For a crash or hang: shrinking steps and candidates tried, and the requests that
    /// were in flight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrink: Option<CauseShrink>,
}

/// How a crash's or hang's reproducer was found.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CauseShrink {
    /// Requests in flight when it happened.
    pub suspects: usize,
    /// Simplifications kept.
    pub steps: usize,
    /// Candidates tried.
    pub tries: usize,
}

/// The causes of `findings` (each finding's `cause` set), crashes and hangs from
/// `events`; `reproduce` builds a reproducer for an event's request.
pub(crate) fn group(
    findings: &mut [Finding],
    events: &[Event],
    reproduce: impl Fn(&super::Request) -> Reproducer,
) -> Vec<Cause> {
    let mut causes: Vec<Cause> = events
        .iter()
        .map(|e| {
            let title = match e.kind {
                EventKind::Crash => format!(
                    "the target died{} on {}: {}",
                    e.exit
                        .as_ref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default(),
                    e.class,
                    e.signature
                ),
                EventKind::Hang => format!(
                    "no answer to {} while other requests were answered ({}; input classes: {})",
                    e.killer
                        .as_ref()
                        .map_or_else(|| e.class.clone(), |k| format!("{} {}", k.method, k.path)),
                    e.signature,
                    shown(&e.classes)
                ),
            };
            Cause {
                id: e.id.clone(),
                kind: match e.kind {
                    EventKind::Crash => CauseKind::Crash,
                    EventKind::Hang => CauseKind::Hang,
                },
                level: Level::Error,
                oracle: Oracle::ServerErrors,
                title,
                findings: Vec::new(),
                occurrences: e.count,
                reproduce: e.killer.as_ref().map(&reproduce),
                case: None,
                exit: e.exit.clone(),
                stderr_tail: e.stderr_tail.clone(),
                shrink: Some(CauseShrink {
                    suspects: e.suspects,
                    steps: e.shrink.0,
                    tries: e.shrink.1,
                }),
            }
        })
        .collect();
    // Symptoms of a crash or hang first.
    for f in findings.iter_mut() {
        if let Some(c) = causes.iter_mut().find(|c| c.id == f.cause) {
            c.findings.push(f.id.clone());
        } else {
            f.cause.clear();
        }
    }
    // The rest by oracle, rule family and answer.
    let mut groups: BTreeMap<(Oracle, String, String), usize> = BTreeMap::new();
    let mut violations: Vec<(Cause, Vec<String>)> = Vec::new();
    for f in findings.iter_mut().filter(|f| f.cause.is_empty()) {
        let key = key(f.oracle, &f.rule, &f.seen);
        let (family, answer) = (key.1.clone(), key.2.clone());
        let i = *groups.entry(key).or_insert_with(|| {
            violations.push((
                Cause {
                    id: format!("V{}", violations.len() + 1),
                    kind: CauseKind::Violation,
                    level: f.level,
                    oracle: f.oracle,
                    title: String::new(),
                    findings: Vec::new(),
                    occurrences: 0,
                    reproduce: None,
                    case: None,
                    exit: None,
                    stderr_tail: Vec::new(),
                    shrink: None,
                },
                Vec::new(),
            ));
            violations.len() - 1
        });
        let (cause, details) = &mut violations[i];
        f.cause = cause.id.clone();
        cause.findings.push(f.id.clone());
        cause.occurrences += f.occurrences;
        cause.level = cause.level.max(f.level);
        let detail = if family == ECHO {
            let rule = f
                .rule
                .trim_start_matches("stored/")
                .trim_start_matches("read-back/");
            match rule.strip_prefix("property-value/") {
                Some(property) => property.to_owned(),
                None => rule.to_owned(),
            }
        } else {
            f.class.clone()
        };
        if !details.contains(&detail) {
            details.push(detail);
        }
        let smaller = cause
            .reproduce
            .as_ref()
            .is_none_or(|r| f.reproduce.body_bytes < r.body_bytes);
        if smaller {
            cause.reproduce = Some(f.reproduce.clone());
            cause.case.clone_from(&f.case);
        }
        if cause.title.is_empty() {
            cause.title = format!("{}/{family}", f.oracle);
            if !answer.is_empty() {
                cause.title.push_str(&format!(": {answer}"));
            }
        }
    }
    for (mut cause, details) in violations {
        let list = shown(&details);
        cause.title = if cause.title.ends_with("/echo") {
            let n = details.len();
            let what = if n == 1 { "difference" } else { "differences" };
            format!(
                "{}: the answer does not echo the request: {n} {what} ({list})",
                cause.oracle
            )
        } else {
            let n = details.len();
            let what = if n == 1 {
                "input class"
            } else {
                "input classes"
            };
            format!("{} ({n} {what}: {list})", cause.title)
        };
        causes.push(cause);
    }
    causes.sort_by_key(|c| (c.kind, std::cmp::Reverse(c.level)));
    causes
}

/// What findings of one cause share: the oracle, the rule family, and the answer seen
/// (not for property values, which differ by property).
pub(crate) fn key(oracle: Oracle, rule: &str, seen: &str) -> (Oracle, String, String) {
    let family = family(rule);
    let answer = if family == ECHO {
        String::new()
    } else {
        answer_of(seen)
    };
    (oracle, family, answer)
}

/// The family of every way an answer can fail to echo what was sent.
const ECHO: &str = "echo";

/// `echo` for `read-back/property-value/displayName` and the other differences between
/// a device sent and the one answered (in the 201 body or read back); else the rule
/// without its place (`status-400`, `error-code`).
fn family(rule: &str) -> String {
    let rule = rule
        .trim_start_matches("stored/")
        .trim_start_matches("read-back/");
    let head = rule.split('/').next().unwrap_or(rule);
    match head {
        "property-value" | "client-id" | "id-unique" | "odata-type" | "unknown-member" | "id" => {
            ECHO.to_owned()
        }
        _ => head.to_owned(),
    }
}

/// The status and Graph code of a `seen` line (`400 Request_BadRequest`), or its first
/// words for a transport failure.
fn answer_of(seen: &str) -> String {
    let head: Vec<&str> = seen.split_whitespace().take(2).collect();
    match head.as_slice() {
        // A Graph error code after the status; any other body is not part of the answer.
        [status, rest]
            if status.parse::<u16>().is_ok()
                && rest
                    .trim_end_matches(':')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && rest.starts_with(|c: char| c.is_ascii_uppercase()) =>
        {
            format!("{status} {}", rest.trim_end_matches(':'))
        }
        [status, ..] if status.parse::<u16>().is_ok() => (*status).to_owned(),
        _ => seen
            .split(':')
            .next()
            .unwrap_or(seen)
            .chars()
            .take(60)
            .collect(),
    }
}

/// Up to six items, then how many more.
fn shown(items: &[String]) -> String {
    let mut s = items.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 6 {
        s.push_str(&format!(", and {} more", items.len() - 6));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_answers() {
        assert_eq!(family("read-back/property-value/displayName"), "echo");
        assert_eq!(family("stored/property-value/Name"), "echo");
        assert_eq!(family("client-id"), "echo");
        assert_eq!(family("read-back"), "read-back");
        assert_eq!(family("status-400"), "status-400");
        assert_eq!(
            answer_of("400 Request_BadRequest: broken"),
            "400 Request_BadRequest"
        );
        assert_eq!(answer_of("500 (empty body)"), "500");
        assert_eq!(answer_of(r#"201 {"@odata.type":"x"}"#), "201");
        assert_eq!(answer_of("401"), "401");
        assert_eq!(
            answer_of("no complete answer within 2s"),
            "no complete answer within 2s"
        );
        assert_eq!(
            shown(&(0..8).map(|i| i.to_string()).collect::<Vec<_>>()),
            "0, 1, 2, 3, 4, 5, and 2 more"
        );
    }
}

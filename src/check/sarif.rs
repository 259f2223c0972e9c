//! The report as SARIF 2.1.0 (`--sarif PATH`), for code-scanning dashboards: one result
//! per crash or hang first (rank 100 and 90), then one per finding (rank 50 for errors, 20
//! for warnings); rule ids are `ORACLE/RULE`. Each result names the request as a URL
//! (`physicalLocation`) and as its endpoint (`logicalLocation`), carries the request as a
//! SARIF `webRequest`, and attaches its minimal body as an artifact of the run
//! (`findings/F1.body`, the bytes in `contents`). The tests validate the output against
//! the OASIS schema kept in `schemas/sarif/`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::causes::{Cause, CauseKind};
use super::report::{Finding, Report, Reproducer};
use crate::contract::Level;
use crate::target::oracles::{Oracle, contract_section};

/// The schema the output follows.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One rule of the driver: an oracle's rule.
struct Rule {
    oracle: Oracle,
    rule: String,
    level: Level,
}

impl Report {
    /// The report as a SARIF 2.1.0 log.
    pub fn sarif(&self) -> String {
        let mut rules: Vec<Rule> = Vec::new();
        let mut index = BTreeMap::<String, usize>::new();
        let mut rule_index = |oracle: Oracle, rule: &str, level: Level| {
            let id = format!("{oracle}/{rule}");
            *index.entry(id).or_insert_with(|| {
                rules.push(Rule {
                    oracle,
                    rule: rule.to_owned(),
                    level,
                });
                rules.len() - 1
            })
        };
        let mut artifacts = Vec::new();
        let mut results = Vec::new();
        for c in self
            .causes
            .iter()
            .filter(|c| c.kind != CauseKind::Violation)
        {
            let rule = if c.kind == CauseKind::Crash {
                "crash"
            } else {
                "hang"
            };
            let i = rule_index(Oracle::ServerErrors, rule, Level::Error);
            results.push(cause_result(c, rule, i, &mut artifacts));
        }
        for f in &self.findings {
            let i = rule_index(f.oracle, &f.rule, f.level);
            results.push(finding_result(f, i, &mut artifacts));
        }
        let rules: Vec<Value> = rules.iter().map(rule_descriptor).collect();
        let log = json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "devices-harness",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }},
                "invocations": [{
                    "executionSuccessful": self.ended_early.is_none(),
                    "properties": {
                        "target": self.target,
                        "profile": self.profile,
                        "seed": self.seed,
                        "requests": self.requests,
                    },
                }],
                "artifacts": artifacts,
                "results": results,
            }],
        });
        serde_json::to_string_pretty(&log).unwrap_or_default()
    }
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Off => "none",
    }
}

fn rule_descriptor(r: &Rule) -> Value {
    json!({
        "id": format!("{}/{}", r.oracle, r.rule),
        "name": format!("{}/{}", r.oracle, r.rule),
        "shortDescription": {"text": r.oracle.describe()},
        "fullDescription": {"text": contract_section(r.oracle, &r.rule)},
        "defaultConfiguration": {"level": level(r.level)},
        "properties": {"oracle": r.oracle.name()},
    })
}

fn finding_result(f: &Finding, rule_index: usize, artifacts: &mut Vec<Value>) -> Value {
    let mut text = format!(
        "{} {}: expected {}; seen {} ({}, {} time{})",
        f.endpoint,
        f.class,
        f.expected,
        f.seen,
        f.id,
        f.occurrences,
        if f.occurrences == 1 { "" } else { "s" }
    );
    if !f.cause.is_empty() {
        text.push_str(&format!("; cause {}", f.cause));
    }
    let mut properties = json!({
        "finding": f.id,
        "cause": f.cause,
        "class": f.class,
        "occurrences": f.occurrences,
        "curl": f.reproduce.curl,
    });
    if let Some(case) = &f.case {
        properties["case"] = json!(case.to_string());
    }
    if let Some(replay) = &f.reproduce.replay {
        properties["replay"] = json!(replay);
    }
    let rank = if f.level == Level::Error { 50.0 } else { 20.0 };
    result(
        (
            format!("{}/{}", f.oracle, f.rule),
            rule_index,
            level(f.level),
            rank,
        ),
        text,
        &f.endpoint,
        (&f.id, &f.reproduce),
        properties,
        artifacts,
    )
}

fn cause_result(c: &Cause, rule: &str, rule_index: usize, artifacts: &mut Vec<Value>) -> Value {
    let kind = if c.kind == CauseKind::Crash {
        "CRASH"
    } else {
        "HANG"
    };
    let text = format!(
        "{kind} {}: {} ({} time{}; findings {})",
        c.id,
        c.title,
        c.occurrences,
        if c.occurrences == 1 { "" } else { "s" },
        c.findings.join(", ")
    );
    let mut properties = json!({"cause": c.id, "findings": c.findings});
    if let Some(case) = &c.case {
        properties["case"] = json!(case.to_string());
    }
    if !c.stderr_tail.is_empty() {
        properties["stderrTail"] = json!(c.stderr_tail);
    }
    let rank = if c.kind == CauseKind::Crash {
        100.0
    } else {
        90.0
    };
    let rule_id = format!("server-errors/{rule}");
    match &c.reproduce {
        Some(r) => {
            properties["curl"] = json!(r.curl);
            result(
                (rule_id, rule_index, "error", rank),
                text,
                &format!("{} {}", r.method, r.path),
                (&c.id, r),
                properties,
                artifacts,
            )
        }
        None => json!({
            "ruleId": rule_id,
            "ruleIndex": rule_index,
            "level": "error",
            "rank": rank,
            "message": {"text": text},
            "properties": properties,
        }),
    }
}

/// One result: the request as a location, a `webRequest`, and its body attached.
fn result(
    (rule_id, rule_index, level, rank): (String, usize, &str, f64),
    text: String,
    endpoint: &str,
    (name, r): (&str, &Reproducer),
    properties: Value,
    artifacts: &mut Vec<Value>,
) -> Value {
    let url = uri(&r.url);
    let mut web = json!({
        "protocol": "HTTP",
        "version": "1.1",
        "target": url,
        "method": r.method,
        "headers": r.headers.iter().cloned().collect::<BTreeMap<String, String>>(),
    });
    let mut out = json!({
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": level,
        "rank": rank,
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": url}},
            "logicalLocations": [{"name": endpoint, "kind": "function"}],
        }],
        "partialFingerprints": {"devicesHarness/endpoint": endpoint},
        "properties": properties,
    });
    let contents = match (&r.body, &r.body_base64) {
        (Some(text), _) => Some(json!({"text": text})),
        (None, Some(b64)) => Some(json!({"binary": b64})),
        (None, None) => None,
    };
    if let Some(contents) = contents {
        let body_uri = format!("findings/{name}.body");
        web["body"] = contents.clone();
        let index = artifacts.len();
        artifacts.push(json!({
            "location": {"uri": body_uri},
            "length": r.body_bytes,
            "contents": contents,
            "roles": ["attachment"],
            "description": {"text": format!("the request body of {name}, minimal when shrunk")},
        }));
        out["attachments"] = json!([{
            "description": {"text": "the request body"},
            "artifactLocation": {"uri": body_uri, "index": index},
        }]);
    }
    out["webRequest"] = web;
    out
}

/// `url` with every byte a URI may not hold percent-encoded (RFC 3986).
fn uri(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

//! The oracles: each a named part of CONTRACT.md, judging one response at a time and
//! saying what it expected and what it saw. Pure functions of request and response, so
//! the runner, the shrinker and the tests share them.

use std::fmt;

use serde::Serialize;

use super::transport::{Response, TransportError};
use crate::contract::{Level, OffsetPreservation, Profile, UnknownProperties};
use crate::model::{Device, Guid, Value};
use crate::parse::from_bytes_with;

/// A named oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Oracle {
    /// Valid devices on both create paths are created (201).
    Acceptance,
    /// The 201 body and a later GET equal what was sent; ids are GUIDs and unique;
    /// `Location` dereferences to the device.
    RoundTrip,
    /// Every malformed body is rejected with its status and a Graph-shaped error.
    Rejection,
    /// No 5xx, reset or timeout, whatever the input.
    ServerErrors,
    /// Missing, empty, unknown tokens and other schemes: 401 with `WWW-Authenticate`.
    Authentication,
    /// Another user's path or device: 403/404, and nothing changes for that user.
    Authorization,
    /// Concurrent creates all land, with distinct ids; a duplicate client id is a 409.
    Persistence,
    /// Content types, methods, unknown devices, request ids.
    Http,
    /// After hostile inputs the target still answers promptly.
    Liveness,
}

impl Oracle {
    /// Every oracle, in report order.
    pub const ALL: [Oracle; 9] = [
        Oracle::Acceptance,
        Oracle::RoundTrip,
        Oracle::Rejection,
        Oracle::ServerErrors,
        Oracle::Authentication,
        Oracle::Authorization,
        Oracle::Persistence,
        Oracle::Http,
        Oracle::Liveness,
    ];

    /// The name used in reports and in a profile's `[policies.severity]`.
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Acceptance => "acceptance",
            Oracle::RoundTrip => "round-trip",
            Oracle::Rejection => "rejection",
            Oracle::ServerErrors => "server-errors",
            Oracle::Authentication => "authentication",
            Oracle::Authorization => "authorization",
            Oracle::Persistence => "persistence",
            Oracle::Http => "http",
            Oracle::Liveness => "liveness",
        }
    }

    /// One line on what it holds a target to.
    pub fn describe(self) -> &'static str {
        match self {
            Oracle::Acceptance => "valid devices on both create paths get 201",
            Oracle::RoundTrip => {
                "201 body and GET equal the request; GUID ids, unique; Location dereferences"
            }
            Oracle::Rejection => {
                "each malformed class gets its status and a Graph error body, never 2xx"
            }
            Oracle::ServerErrors => "no 5xx, reset or timeout on any input",
            Oracle::Authentication => {
                "missing, empty, unknown token or other scheme: 401 + WWW-Authenticate"
            }
            Oracle::Authorization => "another user's path or device: 403/404, nothing changes",
            Oracle::Persistence => "concurrent creates all readable, distinct ids; 409 once",
            Oracle::Http => "415, 405 + Allow, 404 Graph error, request-id headers",
            Oracle::Liveness => "after hostile inputs a valid create still answers promptly",
        }
    }

    /// The level of this oracle's findings under `profile` (`error` unless its
    /// `[policies.severity]` says otherwise).
    pub fn level(self, profile: &Profile) -> Level {
        profile
            .policies()
            .severity
            .get(self.name())
            .copied()
            .unwrap_or(Level::Error)
    }
}

impl fmt::Display for Oracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule, as an oracle saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which oracle.
    pub oracle: Oracle,
    /// A short stable rule id within the oracle, such as `status` or `property-value`.
    pub rule: String,
    /// What a conforming target does.
    pub expected: String,
    /// What this one did.
    pub seen: String,
    /// The rule's own level cap (`error` unless a profile policy relaxes it).
    pub level: Level,
}

impl Violation {
    /// A violation at the oracle's level.
    pub fn new(
        oracle: Oracle,
        rule: impl Into<String>,
        expected: impl Into<String>,
        seen: impl Into<String>,
    ) -> Violation {
        Violation {
            oracle,
            rule: rule.into(),
            expected: expected.into(),
            seen: seen.into(),
            level: Level::Error,
        }
    }

    /// Caps the level (a profile policy such as `location_header = "warning"`).
    pub fn at(mut self, level: Level) -> Violation {
        self.level = self.level.min(level);
        self
    }
}

/// A transport failure: always a server-errors violation.
pub fn transport(e: &TransportError) -> Violation {
    Violation::new(
        Oracle::ServerErrors,
        e.kind(),
        "a complete HTTP response",
        e.to_string(),
    )
}

/// A 5xx: a server-errors violation.
pub fn server_error(r: &Response) -> Option<Violation> {
    (r.status >= 500).then(|| {
        Violation::new(
            Oracle::ServerErrors,
            format!("status-{}", r.status),
            "no 5xx",
            seen(r),
        )
    })
}

/// The status, and the error code and message when the body is a Graph error, in one
/// short line.
pub fn seen(r: &Response) -> String {
    match graph_error(&r.body) {
        Some((code, message)) => format!("{} {code}: {}", r.status, clip(&message, 160)),
        None if r.body.is_empty() => format!("{} (empty body)", r.status),
        None => format!(
            "{} {}",
            r.status,
            clip(&String::from_utf8_lossy(&r.body), 160)
        ),
    }
}

/// Shortens `s` to at most `max` characters, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str("...");
    out
}

/// `(code, message)` when `body` is `{"error": {"code": "...", "message": "...", ...}}`.
pub fn graph_error(body: &[u8]) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    let code = error.get("code")?.as_str()?;
    let message = error.get("message")?.as_str()?;
    Some((code.to_owned(), message.to_owned()))
}

/// The checks every error answer shares: the status is one of `statuses`, the body is a
/// Graph error (with `code`, when one is given), and it echoes no secret.
pub fn error_answer(
    oracle: Oracle,
    r: &Response,
    statuses: &[u16],
    code: impl Into<Option<&'static str>>,
    secrets: &[&str],
) -> Vec<Violation> {
    let code = code.into();
    let shown = code.unwrap_or("and a Graph error");
    let mut out = Vec::new();
    let wanted = statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    if !statuses.contains(&r.status) {
        let rule = if (200..300).contains(&r.status) {
            "accepted"
        } else {
            "status"
        };
        out.push(Violation::new(
            oracle,
            rule,
            format!("{wanted} {shown}"),
            seen(r),
        ));
        return out;
    }
    match graph_error(&r.body) {
        None => out.push(Violation::new(
            oracle,
            "error-body",
            r#"a Graph error body {"error":{"code":..,"message":..}}"#,
            seen(r),
        )),
        Some((c, _)) if code.is_some_and(|code| c != code) => out.push(Violation::new(
            oracle,
            "error-code",
            format!("{wanted} {shown}"),
            seen(r),
        )),
        Some(_) => {}
    }
    if let Some(secret) = secrets
        .iter()
        .find(|s| s.len() >= 8 && contains(&r.body, s))
    {
        out.push(Violation::new(
            oracle,
            "secret-echoed",
            "an error body that does not echo the token",
            format!("the body contains the token {}", clip(secret, 12)),
        ));
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && haystack.windows(n.len()).any(|w| w == n)
}

/// `request-id` is a GUID; `client-request-id` echoes the one sent, else equals
/// `request-id` (CONTRACT.md section 4).
pub fn request_ids(r: &Response, sent: Option<&str>, level: Level) -> Vec<Violation> {
    if level == Level::Off {
        return Vec::new();
    }
    let mut out = Vec::new();
    let request_id = r.header("request-id");
    match request_id {
        Some(id) if Guid::parse(id).is_ok() => {}
        other => out.push(
            Violation::new(
                Oracle::Http,
                "request-id",
                "a request-id header holding a GUID",
                format!("{other:?}"),
            )
            .at(level),
        ),
    }
    let expected = sent.or(request_id);
    let echoed = r.header("client-request-id");
    if let Some(expected) = expected
        && echoed != Some(expected)
    {
        out.push(
            Violation::new(
                Oracle::Http,
                "client-request-id",
                format!("client-request-id: {expected}"),
                format!("{echoed:?}"),
            )
            .at(level),
        );
    }
    out
}

/// A 401 carries `WWW-Authenticate: Bearer ...`.
pub fn www_authenticate(r: &Response) -> Option<Violation> {
    let value = r.header("www-authenticate").unwrap_or("");
    let bearer = value
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("bearer"));
    (!bearer).then(|| {
        Violation::new(
            Oracle::Authentication,
            "www-authenticate",
            "WWW-Authenticate: Bearer",
            format!("WWW-Authenticate: {value:?}"),
        )
    })
}

/// A profile for reading answers: the same table, unknown members kept, nothing required
/// (a target may add properties, and a relaxed profile sends only some).
pub fn reading_profile(profile: &Profile) -> Profile {
    let mut p = profile.clone();
    p.relax_for_reading();
    p
}

/// The device in an answer body, or the violation that says why there is none.
pub fn answer_device(oracle: Oracle, reading: &Profile, r: &Response) -> Result<Device, Violation> {
    let content_type = r.header("content-type").unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(Violation::new(
            oracle,
            "content-type",
            "Content-Type: application/json",
            format!("Content-Type: {content_type:?}"),
        ));
    }
    from_bytes_with(reading, &r.body).map_err(|e| {
        Violation::new(
            oracle,
            "body-not-a-device",
            "the device as a JSON body",
            format!("{e}: {}", clip(&String::from_utf8_lossy(&r.body), 160)),
        )
    })
}

/// Compares a device read back (`got`) with the one sent: `@odata.type`, a GUID `id` (the
/// client's own when `honour_id`), and every sent property with the same value.
pub fn same_device(
    profile: &Profile,
    sent: &Device,
    got: &Device,
    client_id: Option<&str>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let odata = got.annotation("@odata.type").map(|v| v.as_str().to_owned());
    let want = format!("\"{}\"", profile.odata_type());
    if odata.as_deref() != Some(want.as_str()) {
        out.push(Violation::new(
            Oracle::RoundTrip,
            "odata-type",
            format!("\"@odata.type\": {want}"),
            format!("{odata:?}"),
        ));
    }
    match (got.id(profile), client_id) {
        (None, _) => out.push(Violation::new(
            Oracle::RoundTrip,
            "id",
            "an id holding a GUID",
            "no id, or not a GUID",
        )),
        (Some(id), Some(sent)) if id.as_str() != sent => out.push(Violation::new(
            Oracle::RoundTrip,
            "client-id",
            format!("the client's id {sent}"),
            id.as_str().to_owned(),
        )),
        _ => {}
    }
    let exact = profile.policies().offset_preservation == OffsetPreservation::Exact;
    for (i, def) in profile.properties().iter().enumerate() {
        if def.key {
            continue;
        }
        let Some(Some(want)) = sent.properties.get(i) else {
            continue;
        };
        let have = got.properties.get(i).and_then(Option::as_ref);
        let same = have.is_some_and(|h| value_eq(want, h, exact));
        if !same {
            out.push(Violation::new(
                Oracle::RoundTrip,
                format!("property-value/{}", def.name),
                format!("\"{}\": {}", def.name, clip(&json(profile, def, want), 200)),
                match have {
                    Some(h) => format!("\"{}\": {}", def.name, clip(&json(profile, def, h), 200)),
                    None => format!("\"{}\" missing", def.name),
                },
            ));
        }
    }
    if profile.policies().unknown_properties == UnknownProperties::Accept {
        for m in &sent.unknown {
            if !got.unknown.iter().any(|g| g.name == m.name) {
                out.push(Violation::new(
                    Oracle::RoundTrip,
                    "unknown-member",
                    format!("\"{}\" kept", m.name),
                    "dropped",
                ));
            }
        }
    }
    out
}

fn value_eq(a: &Value, b: &Value, exact: bool) -> bool {
    match (a, b) {
        (Value::DateTimeOffset(x), Value::DateTimeOffset(y)) if !exact => {
            x.instant() == y.instant()
        }
        (Value::Collection(x), Value::Collection(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| value_eq(p, q, exact))
        }
        (Value::Complex(x), Value::Complex(y)) => {
            x.members.len() == y.members.len()
                && x.members.iter().zip(&y.members).all(|(p, q)| match (p, q) {
                    (Some(p), Some(q)) => value_eq(p, q, exact),
                    (None, None) => true,
                    _ => false,
                })
        }
        _ => a == b,
    }
}

fn json(profile: &Profile, def: &crate::contract::PropertyDef, v: &Value) -> String {
    let mut out = Vec::new();
    crate::ser::write_value(&mut out, profile, def, v);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Response {
            status,
            headers,
            body: bytes::Bytes::from(body.to_owned()),
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn error_answers_are_judged_on_status_code_and_secrets() {
        let ok = response(400, r#"{"error":{"code":"BadRequest","message":"m"}}"#);
        assert!(error_answer(Oracle::Rejection, &ok, &[400], "BadRequest", &[]).is_empty());
        let rules = |r: &Response, code| {
            error_answer(Oracle::Rejection, r, &[400], code, &["secret-token-1"])
                .into_iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(rules(&ok, "Request_BadRequest"), ["error-code"]);
        assert_eq!(rules(&response(201, "{}"), "BadRequest"), ["accepted"]);
        assert_eq!(rules(&response(404, "{}"), "BadRequest"), ["status"]);
        assert_eq!(rules(&response(400, "oops"), "BadRequest"), ["error-body"]);
        let leak = response(
            400,
            r#"{"error":{"code":"BadRequest","message":"bad token secret-token-1"}}"#,
        );
        assert_eq!(rules(&leak, "BadRequest"), ["secret-echoed"]);
    }

    #[test]
    fn request_ids_are_guids_and_echoed() {
        let mut r = response(201, "{}");
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        r.headers.insert("request-id", id.parse().unwrap());
        r.headers.insert("client-request-id", id.parse().unwrap());
        assert!(request_ids(&r, None, Level::Warning).is_empty());
        let v = request_ids(&r, Some("mine"), Level::Warning);
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].rule.as_str(), v[0].level),
            ("client-request-id", Level::Warning)
        );
        assert!(request_ids(&r, Some("mine"), Level::Off).is_empty());
        r.headers
            .insert("request-id", "not-a-guid".parse().unwrap());
        assert_eq!(request_ids(&r, None, Level::Error)[0].rule, "request-id");
    }
}

//! The oracles: each a named part of CONTRACT.md, judging one response at a time and
//! saying what it expected and what it saw. Pure functions of request and response, so
//! the runner, the shrinker and the tests share them.

use std::fmt;

use serde::Serialize;

use super::transport::{Response, TransportError};
use crate::answer::Expected;
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
    /// A deleted device is gone: not readable, not listed, not deletable again.
    Lifecycle,
    /// The target answers as a reference implementation does (`--reference`).
    Differential,
}

impl Oracle {
    /// Every oracle, in report order.
    pub const ALL: [Oracle; 11] = [
        Oracle::Acceptance,
        Oracle::RoundTrip,
        Oracle::Rejection,
        Oracle::ServerErrors,
        Oracle::Authentication,
        Oracle::Authorization,
        Oracle::Persistence,
        Oracle::Http,
        Oracle::Liveness,
        Oracle::Lifecycle,
        Oracle::Differential,
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
            Oracle::Lifecycle => "lifecycle",
            Oracle::Differential => "differential",
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
            Oracle::Lifecycle => "after a 204 DELETE: GET 404, not listed, DELETE again 404",
            Oracle::Differential => {
                "the reference's status, Graph error code and 2xx body for the same request"
            }
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

impl std::str::FromStr for Oracle {
    type Err = String;

    /// An oracle by its report name (`round-trip`, `server-errors`, ...).
    fn from_str(name: &str) -> Result<Oracle, String> {
        Oracle::ALL
            .into_iter()
            .find(|o| o.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Oracle::ALL.iter().map(|o| o.name()).collect();
                format!("'{name}' is not an oracle ({})", names.join(", "))
            })
    }
}

impl fmt::Display for Oracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The part of CONTRACT.md a rule of an oracle comes from, so a user can judge a finding
/// in seconds.
pub fn contract_section(oracle: Oracle, rule: &str) -> &'static str {
    let rule = rule.strip_prefix("read-back/").unwrap_or(rule);
    match oracle {
        Oracle::Acceptance => {
            "section 3 (properties and value rules): a valid device is created, 201"
        }
        Oracle::RoundTrip => match rule {
            "location" => "section 4 (201 Created): a Location header that a GET answers",
            "id" | "client-id" | "id-unique" => {
                "section 3 (the id row): a GUID, the client's own when given (compared without regard to case), new for each create"
            }
            "odata-type" => "section 4 (201 Created): \"@odata.type\": \"#microsoft.graph.device\"",
            _ => {
                "section 4 (201 Created): every property comes back with the same JSON value; a later GET returns the same"
            }
        },
        Oracle::Rejection if rule == "secret-echoed" => {
            "section 4 (errors): messages never echo secrets"
        }
        Oracle::Rejection => {
            "sections 3 and 4 (error table): the status and Graph code of the rule broken; either 400 code where the contract leaves it open"
        }
        Oracle::ServerErrors => {
            "section 4: no input may produce a 5xx, a dropped connection, a hang or a crash"
        }
        Oracle::Authentication => {
            "section 2: 401 InvalidAuthenticationToken with WWW-Authenticate: Bearer"
        }
        Oracle::Authorization => {
            "section 2: another user's path is 403 (or 404), and nothing is created or revealed"
        }
        Oracle::Persistence => match rule {
            "one-winner" | "error-code" | "status" | "error-body" => {
                "section 3 (the id row): a client id already taken is 409"
            }
            _ => "section 4: a 201 is durable and listed; concurrent creates each get their own id",
        },
        Oracle::Http => match rule {
            "request-id" | "client-request-id" => {
                "section 4: request-id (a GUID) on every response; client-request-id echoed"
            }
            "allow" => "section 1: other methods on these paths, 405 with Allow",
            _ => {
                "sections 1 and 3: 405 for other methods, 404 for unknown paths, 415 for content types"
            }
        },
        Oracle::Liveness => "section 4: no input, however hostile, may produce a hang or a crash",
        Oracle::Lifecycle => "section 1: DELETE /me/devices/{id} (204; optional for targets)",
        Oracle::Differential => {
            "none: the reference implementation's answer to the same request (--reference)"
        }
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
    /// The crash or hang it is a symptom of, when one is known.
    pub cause: Option<String>,
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
            cause: None,
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
    let mut v = Violation::new(
        Oracle::ServerErrors,
        e.kind(),
        "a complete HTTP response",
        e.to_string(),
    );
    if let TransportError::Cause(id) = e {
        v.rule = if id.starts_with('H') { "hang" } else { "crash" }.to_owned();
        v.expected = "an answer, and the target still running".to_owned();
        v.cause = Some(id.clone());
    }
    v
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

/// Judges one answer against every answer the contract allows (`expected`): the status
/// is one of them; an error answer is a Graph error with one of the codes allowed at that
/// status (and a 401 carries `WWW-Authenticate: Bearer`); no error body echoes a secret.
pub fn judge(
    oracle: Oracle,
    r: &Response,
    expected: &Expected,
    secrets: &[&str],
) -> Vec<Violation> {
    let mut out = Vec::new();
    if !expected.allows_status(r.status) {
        let rule = if expected.allows_created() {
            format!("status-{}", r.status)
        } else if (200..300).contains(&r.status) {
            "accepted".to_owned()
        } else {
            "status".to_owned()
        };
        out.push(Violation::new(oracle, rule, expected.to_string(), seen(r)));
        return out;
    }
    if (200..300).contains(&r.status) {
        return out;
    }
    let codes = expected.codes_for(r.status);
    match graph_error(&r.body) {
        None => out.push(Violation::new(
            oracle,
            "error-body",
            r#"a Graph error body {"error":{"code":..,"message":..}}"#,
            seen(r),
        )),
        Some((c, _)) if !codes.is_empty() && !expected.allows(r.status, Some(&c)) => {
            out.push(Violation::new(
                oracle,
                "error-code",
                expected.to_string(),
                seen(r),
            ));
        }
        Some(_) => {}
    }
    if r.status == 401 {
        out.extend(www_authenticate(oracle, r));
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
fn www_authenticate(oracle: Oracle, r: &Response) -> Option<Violation> {
    let value = r.header("www-authenticate").unwrap_or("");
    let bearer = value
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("bearer"));
    (!bearer).then(|| {
        Violation::new(
            oracle,
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
        // A GUID is a value: the client's id may come back in lower case.
        (Some(id), Some(sent)) if !id.as_str().eq_ignore_ascii_case(sent) => {
            out.push(Violation::new(
                Oracle::RoundTrip,
                "client-id",
                format!("the client's id {sent}"),
                id.as_str().to_owned(),
            ))
        }
        _ => {}
    }
    let exact = profile.policies().offset_preservation == OffsetPreservation::Exact;
    for (i, def) in profile.properties().iter().enumerate() {
        // A read-only property is the server's: ignored, refused or stamped by it.
        if def.key || def.read_only {
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
                    // An absent member is the same as null (CONTRACT.md section 3).
                    (None | Some(Value::Null), None | Some(Value::Null)) => true,
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
    fn answers_are_judged_on_status_code_and_secrets() {
        use crate::error::{GraphCode, Rule};
        let bad = Expected::error(GraphCode::BadRequest);
        let ok = response(400, r#"{"error":{"code":"BadRequest","message":"m"}}"#);
        assert!(judge(Oracle::Rejection, &ok, &bad, &[]).is_empty());
        let rules = |r: &Response, e: &Expected| {
            judge(Oracle::Rejection, r, e, &["secret-token-1"])
                .into_iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>()
        };
        let other = Expected::error(GraphCode::RequestBadRequest);
        assert_eq!(rules(&ok, &other), ["error-code"]);
        // Where the contract leaves the code open, either passes.
        let either = Expected::body(Rule::DuplicateMember, None);
        assert!(rules(&ok, &either).is_empty());
        assert_eq!(rules(&response(201, "{}"), &bad), ["accepted"]);
        assert_eq!(rules(&response(404, "{}"), &bad), ["status"]);
        assert_eq!(rules(&response(400, "oops"), &bad), ["error-body"]);
        assert_eq!(
            rules(&response(400, "{}"), &Expected::created()),
            ["status-400"]
        );
        let leak = response(
            400,
            r#"{"error":{"code":"BadRequest","message":"bad token secret-token-1"}}"#,
        );
        assert_eq!(rules(&leak, &bad), ["secret-echoed"]);
        let unauthorized = response(
            401,
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"m"}}"#,
        );
        let e = Expected::error(GraphCode::InvalidAuthenticationToken);
        assert_eq!(rules(&unauthorized, &e), ["www-authenticate"]);
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

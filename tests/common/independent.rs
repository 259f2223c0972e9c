//! A second devices endpoint, written from CONTRACT.md's text alone, for proving the
//! checker's oracles against code that shares nothing with the suite's parser,
//! serializer, contract table or reference server.
//!
//! It reads JSON with `serde_json` (its own syntax verdicts, its own recursion limit),
//! keeps its own property table and rule functions, its own in-memory store, and takes
//! the *other* reading wherever the contract leaves a choice:
//!
//! - client ids are stored and echoed in lower case, and looked up without regard to case;
//! - duplicate member names and numbers too long to read are `BadRequest`, lone surrogate
//!   escapes `Request_BadRequest` (the reference server does the opposite);
//! - an `alternativeSecurityId` with members left out comes back with them as `null`;
//! - annotations are dropped, `@odata.context` added, `Location` is an absolute URL;
//! - `DELETE` on a `/users/...` path is 405 (the contract lists it for `/me` alone);
//! - optionally, it throttles: per user and second, 429 with `Retry-After` in seconds and
//!   as an HTTP date, in turn.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

const LIMIT: usize = 4 * 1024 * 1024;
const DEPTH: usize = 64;

/// A user: bearer token and id.
#[derive(Clone, Debug)]
pub struct Account {
    pub token: String,
    pub id: String,
}

/// Three accounts of its own.
pub fn accounts() -> Vec<Account> {
    (1..=3)
        .map(|i| Account {
            token: format!("independent-token-{i}-5d1c0a"),
            id: format!("0000000{i}-aaaa-4bbb-8ccc-00000000000{i}"),
        })
        .collect()
}

/// The service, with at most `rate_limit` requests per user and second when given.
pub fn app(accounts: &[Account], rate_limit: Option<u32>) -> Router {
    let svc = Arc::new(Svc {
        accounts: accounts.to_vec(),
        rate_limit,
        windows: Mutex::new(HashMap::new()),
        store: Mutex::new(HashMap::new()),
        counter: AtomicU64::new(1),
        throttled: AtomicU64::new(0),
    });
    Router::new().fallback(handle).with_state(svc)
}

/// Serves `app` on a loopback port; the base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

struct Svc {
    accounts: Vec<Account>,
    rate_limit: Option<u32>,
    /// Per user: the start of the current one-second window and its count.
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    /// Per user: (lower-case id, the stored JSON text), in creation order.
    store: Mutex<HashMap<String, Vec<(String, String)>>>,
    counter: AtomicU64,
    throttled: AtomicU64,
}

impl Svc {
    fn guid(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let a = splitmix(n ^ t.rotate_left(17));
        let b = splitmix(a ^ n);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// Whether `user` is over its rate.
    fn over_rate(&self, user: &str) -> bool {
        let Some(limit) = self.rate_limit else {
            return false;
        };
        let mut windows = self.windows.lock().unwrap();
        let now = Instant::now();
        let w = windows.entry(user.to_owned()).or_insert((now, 0));
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        w.1 += 1;
        w.1 > limit
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct Ctx {
    request_id: String,
    client_request_id: String,
}

fn error(ctx: &Ctx, status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": httpdate::fmt_http_date(SystemTime::now()),
                "request-id": ctx.request_id,
                "client-request-id": ctx.client_request_id,
            }
        }
    });
    json(ctx, status, body.to_string())
}

fn json(ctx: &Ctx, status: u16, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
    let h = r.headers_mut();
    h.insert("content-type", "application/json".parse().unwrap());
    h.insert("request-id", ctx.request_id.parse().unwrap());
    if let Ok(v) = ctx.client_request_id.parse() {
        h.insert("client-request-id", v);
    }
    r
}

async fn handle(State(svc): State<Arc<Svc>>, req: Request) -> Response {
    let request_id = svc.guid();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let ctx = Ctx {
        request_id,
        client_request_id,
    };
    // Authentication first: every request needs a known bearer token.
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let Some(me) = token.and_then(|t| svc.accounts.iter().find(|a| a.token == t).cloned()) else {
        let mut r = error(
            &ctx,
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        );
        r.headers_mut().insert(
            "www-authenticate",
            "Bearer realm=\"independent\"".parse().unwrap(),
        );
        return r;
    };
    if svc.over_rate(&me.id) {
        let n = svc.throttled.fetch_add(1, Ordering::Relaxed);
        let mut r = error(&ctx, 429, "TooManyRequests", "Too many requests.");
        let retry = if n % 2 == 0 {
            "1".to_owned()
        } else {
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2))
        };
        r.headers_mut()
            .insert("retry-after", retry.parse().unwrap());
        return r;
    }
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("independent.invalid")
        .to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // (collection prefix, item id)
    let (prefix, item, on_users) = match segments.as_slice() {
        ["me", "devices"] => ("/me/devices".to_owned(), None, false),
        ["me", "devices", id] => ("/me/devices".to_owned(), Some(id.to_string()), false),
        ["users", u, "devices"] => (format!("/users/{u}/devices"), None, true),
        ["users", u, "devices", id] => (format!("/users/{u}/devices"), Some(id.to_string()), true),
        _ => return error(&ctx, 404, "Request_ResourceNotFound", "Resource not found."),
    };
    let method = req.method().as_str().to_owned();
    let allowed: &[&str] = match (&item, on_users) {
        (None, _) => &["GET", "POST"],
        (Some(_), false) => &["GET", "DELETE"],
        (Some(_), true) => &["GET"],
    };
    if !allowed.contains(&method.as_str()) {
        let mut r = error(&ctx, 405, "MethodNotAllowed", "Method not allowed.");
        r.headers_mut()
            .insert("allow", allowed.join(", ").parse().unwrap());
        return r;
    }
    if on_users && !segments[1].eq_ignore_ascii_case(&me.id) {
        return error(
            &ctx,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    match (method.as_str(), item) {
        ("POST", None) => create(&svc, &ctx, &me, &host, &prefix, req).await,
        ("GET", None) => list(&svc, &ctx, &me, &host, &prefix, &query),
        ("GET", Some(id)) => match find(&svc, &me, &id) {
            Some(text) => json(&ctx, 200, text),
            None => error(&ctx, 404, "Request_ResourceNotFound", "No such device."),
        },
        ("DELETE", Some(id)) => {
            let mut store = svc.store.lock().unwrap();
            let devices = store.entry(me.id.clone()).or_default();
            match devices
                .iter()
                .position(|(d, _)| d.eq_ignore_ascii_case(&id))
            {
                Some(i) => {
                    devices.remove(i);
                    let mut r = json(&ctx, 204, String::new());
                    r.headers_mut().remove("content-type");
                    r
                }
                None => error(&ctx, 404, "Request_ResourceNotFound", "No such device."),
            }
        }
        _ => error(&ctx, 404, "Request_ResourceNotFound", "Resource not found."),
    }
}

fn find(svc: &Svc, me: &Account, id: &str) -> Option<String> {
    let store = svc.store.lock().unwrap();
    store
        .get(&me.id)?
        .iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(id))
        .map(|(_, t)| t.clone())
}

fn list(svc: &Svc, ctx: &Ctx, me: &Account, host: &str, prefix: &str, query: &str) -> Response {
    let mut top = 100usize;
    let mut skip = 0usize;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "$top" | "%24top" => top = v.parse().unwrap_or(100).clamp(1, 999),
            "$skiptoken" | "%24skiptoken" => skip = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let store = svc.store.lock().unwrap();
    let all = store.get(&me.id).map(Vec::as_slice).unwrap_or_default();
    let page: Vec<&str> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|(_, t)| t.as_str())
        .collect();
    let mut body = format!("{{\"value\":[{}]", page.join(","));
    if skip + top < all.len() {
        body.push_str(&format!(
            ",\"@odata.nextLink\":\"http://{host}{prefix}?$top={top}&$skiptoken={}\"",
            skip + top
        ));
    }
    body.push('}');
    json(ctx, 200, body)
}

async fn create(
    svc: &Svc,
    ctx: &Ctx,
    me: &Account,
    host: &str,
    prefix: &str,
    req: Request,
) -> Response {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !json_media_type(&content_type) {
        return error(
            ctx,
            415,
            "UnsupportedMediaType",
            "Content-Type must be application/json.",
        );
    }
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Never more than the limit kept; past it, the rest drained (up to a bound) so that
    // the client can read the 413.
    let mut body = req.into_body().into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
        seen += chunk.len();
        if seen > 4 * LIMIT {
            break;
        }
        if seen <= LIMIT && declared.is_none_or(|n| n <= LIMIT as u64) {
            bytes.extend_from_slice(&chunk);
        }
    }
    if seen > LIMIT || declared.is_some_and(|n| n > LIMIT as u64) {
        return error(ctx, 413, "RequestEntityTooLarge", "Body over 4 MiB.");
    }
    let fields = match read_device(&bytes) {
        Ok(f) => f,
        Err((code, message)) => return error(ctx, 400, code, &message),
    };
    let client_id = fields
        .iter()
        .find(|(n, _)| n == "id")
        .map(|(_, v)| v.clone());
    let id = match client_id {
        Some(raw) => {
            let text: String = serde_json::from_str(&raw).unwrap_or_default();
            text.to_ascii_lowercase()
        }
        None => svc.guid(),
    };
    let mut text = format!(
        "{{\"@odata.context\":\"http://{host}/$metadata#devices/$entity\",\"@odata.type\":\"#microsoft.graph.device\",\"id\":\"{id}\""
    );
    for (name, raw) in fields.iter().filter(|(n, _)| n != "id") {
        text.push_str(&format!(",{}:{raw}", serde_json::to_string(name).unwrap()));
    }
    text.push('}');
    {
        let mut store = svc.store.lock().unwrap();
        let taken = store
            .values()
            .flatten()
            .any(|(d, _)| d.eq_ignore_ascii_case(&id));
        if taken {
            return error(
                ctx,
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property id already exists.",
            );
        }
        store
            .entry(me.id.clone())
            .or_default()
            .push((id.clone(), text.clone()));
    }
    let mut r = json(ctx, 201, text);
    let location = format!("http://{host}{prefix}/{id}");
    r.headers_mut()
        .insert("location", location.parse().unwrap());
    r
}

fn json_media_type(value: &str) -> bool {
    let mut parts = value.split(';');
    if !parts
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            matches!(
                v.trim().trim_matches('"').to_ascii_lowercase().as_str(),
                "utf-8" | "utf8"
            )
        }
        _ => true,
    })
}

// ---------------------------------------------------------------------------------------
// JSON: serde_json reads the text; every value keeps its raw text.
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum J {
    Null,
    Bool,
    Num(String),
    Str(String),
    Arr(Vec<(J, String)>),
    Obj(Vec<(String, J, String)>),
}

impl J {
    fn depth(&self) -> usize {
        match self {
            J::Arr(items) => 1 + items.iter().map(|(j, _)| j.depth()).max().unwrap_or(0),
            J::Obj(members) => 1 + members.iter().map(|(_, j, _)| j.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

fn from_raw<E: de::Error>(raw: &str) -> Result<(J, String), E> {
    let t = raw.trim();
    let j = match t.as_bytes().first() {
        Some(b'{' | b'[') => serde_json::from_str::<J>(t).map_err(E::custom)?,
        Some(b'"') => J::Str(serde_json::from_str::<String>(t).map_err(E::custom)?),
        Some(b't' | b'f') => J::Bool,
        Some(b'n') => J::Null,
        _ => {
            if t.len() > 100 || t.parse::<f64>().map_or(true, f64::is_infinite) {
                return Err(E::custom("number too long to read"));
            }
            J::Num(t.to_owned())
        }
    };
    Ok((j, t.to_owned()))
}

impl<'de> serde::Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut members: Vec<(String, J, String)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.iter().any(|(n, _, _)| *n == name) {
                return Err(de::Error::custom(format!("duplicate member '{name}'")));
            }
            let raw: &RawValue = map.next_value()?;
            let (j, text) = from_raw(raw.get())?;
            members.push((name, j, text));
        }
        Ok(J::Obj(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&RawValue>()? {
            items.push(from_raw(raw.get())?);
        }
        Ok(J::Arr(items))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<J, E> {
        Ok(J::Str(v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<J, E> {
        Ok(J::Bool)
    }

    fn visit_unit<E: de::Error>(self) -> Result<J, E> {
        Ok(J::Null)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<J, E> {
        Ok(J::Num(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<J, E> {
        Ok(J::Num(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<J, E> {
        Ok(J::Num(format!("{v:?}")))
    }
}

/// Every `\uD800`-`\uDFFF` escape replaced by `\u0041` (same length).
fn without_surrogates(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i + 6 <= out.len() {
        let surrogate = out[i] == b'\\'
            && out[i + 1] == b'u'
            && matches!(out[i + 2], b'd' | b'D')
            && matches!(out[i + 3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
            && out[i + 4].is_ascii_hexdigit()
            && out[i + 5].is_ascii_hexdigit();
        if surrogate {
            out[i + 2..i + 6].copy_from_slice(b"0041");
            i += 6;
        } else if out[i] == b'\\' {
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

type Reject = (&'static str, String);

fn unreadable(why: impl std::fmt::Display) -> Reject {
    (
        "BadRequest",
        format!("The request body is not readable JSON: {why}"),
    )
}

fn invalid(property: &str, why: &str) -> Reject {
    (
        "Request_BadRequest",
        format!("Invalid value for property '{property}': {why}"),
    )
}

/// Whether serde_json's error is one this reading calls unreadable although the text is
/// JSON: a duplicate member, a number too long to read.
fn open_point(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    m.contains("duplicate member") || m.contains("number too long")
}

/// How deep arrays and objects nest (strings skipped).
fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut i) = (0usize, 0usize, false, 0);
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_string = false,
            (false, b'"') => in_string = true,
            (false, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// The device's members (name, raw JSON) to store, annotations dropped; or the answer.
fn read_device(bytes: &[u8]) -> Result<Vec<(String, String)>, Reject> {
    if nesting(bytes) > DEPTH {
        return Err(unreadable("nested deeper than 64"));
    }
    let root = match serde_json::from_slice::<J>(bytes) {
        Ok(j) => j,
        // This reading calls duplicate members and numbers too long to read unreadable.
        Err(e) if open_point(&e) => return Err(unreadable(e)),
        Err(e) => {
            // Is a lone surrogate escape all that is wrong with it? This reading reports
            // those as a property error.
            let patched = without_surrogates(bytes);
            let only_surrogates = patched != bytes
                && match serde_json::from_slice::<J>(&patched) {
                    Ok(_) => true,
                    Err(e) => open_point(&e),
                };
            if only_surrogates {
                return Err(invalid("(a string)", "a lone surrogate escape"));
            }
            return Err(unreadable(e));
        }
    };
    if root.depth() > DEPTH {
        return Err(unreadable("nested deeper than 64"));
    }
    let J::Obj(members) = root else {
        return Err(unreadable("not an object"));
    };
    let mut out = Vec::new();
    for (name, value, raw) in &members {
        if name == "@odata.type" {
            match value {
                J::Str(s) if s == "#microsoft.graph.device" => continue,
                _ => return Err(invalid(name, "@odata.type must be #microsoft.graph.device")),
            }
        }
        if name.starts_with('@') || name.contains('@') {
            continue;
        }
        let Some((_, ty, nullable)) = PROPERTIES.iter().find(|(n, ..)| n == name) else {
            return Err(invalid(name, "no such property"));
        };
        if matches!(value, J::Null) {
            if *nullable {
                out.push((name.clone(), "null".to_owned()));
                continue;
            }
            return Err(invalid(name, "cannot be null"));
        }
        let stored = check_value(name, *ty, value, raw)?;
        out.push((name.clone(), stored));
    }
    for (name, ..) in PROPERTIES.iter().filter(|(n, ..)| *n != "id") {
        if !out.iter().any(|(n, _)| n == name) {
            return Err(invalid(name, "required"));
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Text,
    Flag,
    Int,
    Time,
    Key,
    Texts,
    SecurityIds,
}

/// CONTRACT.md section 3, transcribed: name, type, nullable.
const PROPERTIES: [(&str, Ty, bool); 26] = [
    ("id", Ty::Key, false),
    ("deletedDateTime", Ty::Time, true),
    ("accountEnabled", Ty::Flag, true),
    ("alternativeSecurityIds", Ty::SecurityIds, false),
    ("approximateLastSignInDateTime", Ty::Time, true),
    ("complianceExpirationDateTime", Ty::Time, true),
    ("deviceId", Ty::Text, true),
    ("deviceMetadata", Ty::Text, true),
    ("deviceVersion", Ty::Int, true),
    ("displayName", Ty::Text, true),
    ("isCompliant", Ty::Flag, true),
    ("isManaged", Ty::Flag, true),
    ("onPremisesLastSyncDateTime", Ty::Time, true),
    ("onPremisesSyncEnabled", Ty::Flag, true),
    ("operatingSystem", Ty::Text, true),
    ("operatingSystemVersion", Ty::Text, true),
    ("physicalIds", Ty::Texts, false),
    ("profileType", Ty::Text, true),
    ("systemLabels", Ty::Texts, false),
    ("trustType", Ty::Text, true),
    ("Name", Ty::Text, true),
    ("Manufacturer", Ty::Text, true),
    ("Model", Ty::Text, true),
    ("Kind", Ty::Text, true),
    ("Status", Ty::Text, true),
    ("Platform", Ty::Text, true),
];

/// The raw text to store for a valid non-null value.
fn check_value(name: &str, ty: Ty, value: &J, raw: &str) -> Result<String, Reject> {
    match (ty, value) {
        (Ty::Text, J::Str(s)) => {
            if name == "displayName" && s.encode_utf16().count() > 256 {
                return Err(invalid(name, "longer than 256 UTF-16 code units"));
            }
            Ok(raw.to_owned())
        }
        (Ty::Flag, J::Bool) => Ok(raw.to_owned()),
        (Ty::Int, J::Num(text)) if int32(text) => Ok(raw.to_owned()),
        (Ty::Int, J::Num(_)) => Err(invalid(name, "not an Int32")),
        (Ty::Time, J::Str(s)) if date_time(s) => Ok(raw.to_owned()),
        (Ty::Time, J::Str(_)) => Err(invalid(name, "not a DateTimeOffset")),
        (Ty::Key, J::Str(s)) if guid(s) => Ok(raw.to_owned()),
        (Ty::Key, J::Str(_)) => Err(invalid(name, "not a GUID")),
        (Ty::Texts, J::Arr(items)) => {
            if items.iter().all(|(j, _)| matches!(j, J::Str(_))) {
                Ok(raw.to_owned())
            } else {
                Err(invalid(name, "elements must be strings"))
            }
        }
        (Ty::SecurityIds, J::Arr(items)) => {
            let mut parts = Vec::new();
            for (item, _) in items {
                parts.push(security_id(name, item)?);
            }
            Ok(format!("[{}]", parts.join(",")))
        }
        _ => Err(invalid(name, "wrong JSON type")),
    }
}

/// An alternativeSecurityId, with every member written (absent ones as null) and its
/// annotations dropped.
fn security_id(name: &str, item: &J) -> Result<String, Reject> {
    let J::Obj(members) = item else {
        return Err(invalid(name, "elements must be objects"));
    };
    let mut slots: [Option<String>; 3] = [None, None, None];
    for (m, value, raw) in members {
        if m == "@odata.type" {
            match value {
                J::Str(s)
                    if s == "#microsoft.graph.alternativeSecurityId"
                        || s == "microsoft.graph.alternativeSecurityId" =>
                {
                    continue;
                }
                _ => return Err(invalid(name, "wrong @odata.type")),
            }
        }
        if m.contains('@') {
            continue;
        }
        let slot = match m.as_str() {
            "type" => 0,
            "identityProvider" => 1,
            "key" => 2,
            _ => return Err(invalid(name, "unknown member")),
        };
        let ok = match (slot, value) {
            (_, J::Null) => true,
            (0, J::Num(text)) => int32(text),
            (1, J::Str(_)) => true,
            (2, J::Str(s)) => base64(s),
            _ => false,
        };
        if !ok {
            return Err(invalid(name, &format!("invalid '{m}'")));
        }
        slots[slot] = Some(raw.clone());
    }
    let [t, p, k] = slots.map(|s| s.unwrap_or_else(|| "null".to_owned()));
    Ok(format!(
        "{{\"type\":{t},\"identityProvider\":{p},\"key\":{k}}}"
    ))
}

fn int32(text: &str) -> bool {
    if text.contains(['.', 'e', 'E']) {
        return false;
    }
    let digits = text.trim_start_matches('-');
    digits.len() <= 10
        && text
            .parse::<i64>()
            .is_ok_and(|v| (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v))
}

fn guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `YYYY-MM-DDThh:mm:ss[.f{1,12}](Z|+hh:mm|-hh:mm)`, a real date in 0001-9999, offset at
/// most 14:00.
fn date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0, 4),
        num(5, 2),
        num(8, 2),
        num(11, 2),
        num(14, 2),
        num(17, 2),
    ) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if y == 0 || d == 0 || d > days || h > 23 || mi > 59 || sec > 59 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 12 {
            return false;
        }
        rest = &frac[n..];
    }
    if rest == "Z" {
        return true;
    }
    let ob = rest.as_bytes();
    if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
        return false;
    }
    let (Some(oh), Some(om)) = (
        rest.get(1..3).and_then(|p| {
            p.parse::<u32>()
                .ok()
                .filter(|_| p.bytes().all(|c| c.is_ascii_digit()))
        }),
        rest.get(4..6).and_then(|p| {
            p.parse::<u32>()
                .ok()
                .filter(|_| p.bytes().all(|c| c.is_ascii_digit()))
        }),
    ) else {
        return false;
    };
    om <= 59 && oh * 60 + om <= 14 * 60
}

/// RFC 4648 base64, standard or URL-safe alphabet (not mixed), padding optional,
/// canonical.
fn base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    let std = body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
    let url = body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !(std || url) || body.len() % 4 == 1 {
        return false;
    }
    let need = (4 - body.len() % 4) % 4;
    if pad != 0 && pad != need {
        return false;
    }
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            _ => 63,
        }
    };
    // Canonical: the bits past the last whole byte are zero.
    match (body.len() % 4, body.as_bytes().last()) {
        (2, Some(&c)) => value(c) & 0xf == 0,
        (3, Some(&c)) => value(c) & 0x3 == 0,
        _ => true,
    }
}

//! The fixed probes that follow the generated cases: round-trip read-back, then
//! authentication, HTTP rules, authorization across users, persistence under concurrency,
//! and liveness after hostile inputs.

use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use http::Method;

use super::oracles::{self, Oracle, Violation, answer_device, judge, same_device};
use super::{
    Body, Check, Credentials, Ctx, Example, Request, Response, THROTTLED, TransportError, check,
    exchange, throttled,
};
use crate::answer::{self, Answer, Expected};
use crate::contract::{Base, ClientId, Edm, Level, MAX_BODY_BYTES};
use crate::error::GraphCode;
use crate::generate::malformed::{Defect, malformed};
use crate::generate::{Rng, valid};
use crate::model::{Device, Guid, Value};
use crate::ser::to_vec_with;

pub(crate) const STOPPED: &str = "the target stopped answering";
const NO_OTHER: &str = "no second user (--other-token and --other-user-id)";

/// Runs every probe.
pub(crate) async fn run_all(ctx: &Ctx) {
    if !ctx.dead() {
        authentication(ctx).await;
    }
    if !ctx.dead() {
        http_rules(ctx).await;
    }
    if !ctx.dead() {
        authorization(ctx).await;
    }
    if !ctx.dead() {
        persistence(ctx).await;
    }
    if !ctx.dead() {
        liveness(ctx).await;
    }
}

/// The 201 of `req` (which sent `device`) and a read-back: same device, fresh GUID id,
/// `@odata.type`, `Location`.
pub(crate) async fn round_trip(
    ctx: &Ctx,
    endpoint: &str,
    req: &Request,
    resp: &Response,
    device: &Device,
    checks: &mut Vec<Check>,
) {
    let profile = ctx.profile();
    let honour = profile.policies().client_id == ClientId::Honour;
    let client_id = device
        .id(profile)
        .filter(|_| honour)
        .map(|g| g.as_str().to_owned());
    let mut v = Vec::new();
    let got = match answer_device(Oracle::RoundTrip, ctx.reading(), resp) {
        Ok(d) => d,
        Err(e) => {
            checks.push(check(Oracle::RoundTrip, endpoint, req, vec![e]));
            return;
        }
    };
    v.extend(same_device(profile, device, &got, client_id.as_deref()));
    let Some(id) = got.id(profile).map(|g| g.as_str().to_owned()) else {
        checks.push(check(Oracle::RoundTrip, endpoint, req, v));
        return;
    };
    if !ctx.fresh_id(&id) {
        v.push(Violation::new(
            Oracle::RoundTrip,
            "id-unique",
            "an id not given before in this run",
            format!("id {id} again"),
        ));
    }
    let level = profile.policies().location_header;
    let collection = req.path.clone();
    let read_path = match resp.header("location").map(|l| location_path(ctx, l)) {
        // A GUID is a value: the Location may spell it in another case.
        Some(Some(path)) if ends_with_id(&path, &id) => path,
        other if level > Level::Off => {
            v.push(
                Violation::new(
                    Oracle::RoundTrip,
                    "location",
                    format!("Location: {collection}/{id} (relative or absolute)"),
                    format!("{:?}", resp.header("location").filter(|_| other.is_some())),
                )
                .at(level),
            );
            format!("{collection}/{id}")
        }
        _ => format!("{collection}/{id}"),
    };
    let get = ctx.authorized(Request::new(Method::GET, read_path));
    let read_endpoint = endpoint.replacen("POST", "GET", 1) + "/{id}";
    if let Some(back) = exchange(ctx, &get, &read_endpoint, checks).await {
        if back.status != 200 {
            v.push(Violation::new(
                Oracle::RoundTrip,
                "read-back",
                format!("GET {} -> 200 and the device", get.path),
                oracles::seen(&back),
            ));
        } else {
            match answer_device(Oracle::RoundTrip, ctx.reading(), &back) {
                Ok(again) => v.extend(
                    same_device(profile, device, &again, Some(&id))
                        .into_iter()
                        .map(|mut x| {
                            x.rule = format!("read-back/{}", x.rule);
                            x
                        }),
                ),
                Err(e) => v.push(e),
            }
        }
    }
    checks.push(check(Oracle::RoundTrip, endpoint, req, v));
}

/// Whether `path` ends with `/` and the GUID `id`, in any case.
fn ends_with_id(path: &str, id: &str) -> bool {
    path.len() > id.len()
        && path.is_char_boundary(path.len() - id.len() - 1)
        && path[path.len() - id.len() - 1..].starts_with('/')
        && path[path.len() - id.len()..].eq_ignore_ascii_case(id)
}

/// The path of a `Location` value: as is when relative, without scheme and authority when
/// absolute, without the target's base path when it has one. `None` when unusable.
fn location_path(ctx: &Ctx, location: &str) -> Option<String> {
    let base = ctx.transport().curl_base();
    let rest = if let Some(rest) = location.strip_prefix(&base) {
        rest.to_owned()
    } else if location.starts_with('/') {
        location.to_owned()
    } else {
        let after_scheme = location.split_once("://")?.1;
        let path = &after_scheme[after_scheme.find('/')?..];
        // An absolute URL on the target's own base path.
        let base_path = base
            .split_once("://")
            .and_then(|(_, a)| a.find('/').map(|i| &a[i..]))
            .unwrap_or("");
        path.strip_prefix(base_path).unwrap_or(path).to_owned()
    };
    rest.starts_with('/').then_some(rest)
}

/// A valid device body (compact) from `seed`, with the given client id.
fn valid_body(ctx: &Ctx, seed: u64, id: Option<&Guid>) -> (Device, Vec<u8>) {
    let profile = ctx.profile();
    let mut device = valid::device(profile, &mut Rng::new(seed));
    match id {
        Some(id) => device.set_id(profile, id.clone()),
        None => {
            if let Some(slot) = device.properties.get_mut(profile.key()) {
                *slot = None;
            }
        }
    }
    let body = to_vec_with(profile, &device);
    (device, body)
}

fn create_request(path: &str, body: Vec<u8>) -> Request {
    Request::new(Method::POST, path)
        .header("content-type", "application/json")
        .body(body)
}

/// One request judged by one closure, recorded as one probe.
async fn probe(
    ctx: &Ctx,
    name: &str,
    oracle: Oracle,
    endpoint: &str,
    req: Request,
    judge: impl FnOnce(&Response) -> Vec<Violation>,
) -> Option<Response> {
    if ctx.dead() {
        ctx.skip(oracle, endpoint, &ctx.stop_reason());
        return None;
    }
    let mut req = req;
    req.tag = Some(name.to_owned());
    let mut checks = Vec::new();
    let resp = exchange(ctx, &req, endpoint, &mut checks).await;
    match &resp {
        Some(r) => checks.push(check(oracle, endpoint, &req, judge(r))),
        None if throttled(&checks) => {
            checks.push(Check::skipped(oracle, endpoint, &req, THROTTLED));
        }
        None => {}
    }
    ctx.record_all(checks, Example::probe(name));
    resp
}

async fn authentication(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0xa117);
    let unknown = format!("dh-unknown-{:016x}", rng.next_u64());
    let token = ctx.user().token.clone();
    let variants: [(&str, Option<String>); 7] = [
        ("missing", None),
        ("empty header", Some(String::new())),
        ("empty token", Some("Bearer ".to_owned())),
        ("scheme only", Some("Bearer".to_owned())),
        ("unknown token", Some(format!("Bearer {unknown}"))),
        ("token with a suffix", Some(format!("Bearer {token}x"))),
        ("wrong scheme", Some(format!("Basic {token}"))),
    ];
    let item = format!("/me/devices/{}", rng.guid().as_str());
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let targets = [
        ("POST /me/devices", Method::POST, "/me/devices".to_owned()),
        ("GET /me/devices", Method::GET, "/me/devices".to_owned()),
        ("GET /me/devices/{id}", Method::GET, item),
    ];
    for (endpoint, method, path) in &targets {
        for (name, auth) in &variants {
            let mut req = Request::new(method.clone(), path.clone());
            if *method == Method::POST {
                req = req
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let mut secrets = ctx.secrets();
            secrets.push(&unknown);
            probe(
                ctx,
                &format!("authentication: {name}"),
                Oracle::Authentication,
                endpoint,
                req,
                |r| {
                    let unauthorized = Expected::error(GraphCode::InvalidAuthenticationToken);
                    judge(Oracle::Authentication, r, &unauthorized, &secrets)
                },
            )
            .await;
        }
    }
}

async fn http_rules(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0x4774);
    let item = format!("/me/devices/{}", rng.guid().as_str());
    let own = format!("/users/{}/devices", ctx.user().user_id);
    let methods = ["PUT", "PATCH", "TRACE", "OPTIONS", "FROB"];
    let collections = [
        ("/me/devices", "/me/devices"),
        ("/users/{id}/devices", &own),
    ];
    let mut targets: Vec<(String, String, String)> = Vec::new();
    for (template, path) in collections {
        for m in methods.iter().chain(&["DELETE"]) {
            targets.push((m.to_string(), template.to_owned(), path.to_owned()));
        }
    }
    for m in methods.iter().chain(&["POST"]) {
        targets.push((m.to_string(), "/me/devices/{id}".to_owned(), item.clone()));
    }
    for (method, template, path) in targets {
        let Ok(m) = Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        let req = ctx.authorized(Request::new(m, path));
        let endpoint = format!("{method} {template}");
        let secrets = ctx.secrets();
        probe(
            ctx,
            "method not allowed",
            Oracle::Http,
            &endpoint,
            req,
            |r| {
                let not_allowed = Expected::error(GraphCode::MethodNotAllowed);
                let mut v = judge(Oracle::Http, r, &not_allowed, &secrets);
                let allow = r.header("allow").unwrap_or("");
                if r.status == 405 && !allow.to_ascii_uppercase().contains("GET") {
                    v.push(Violation::new(
                        Oracle::Http,
                        "allow",
                        "an Allow header listing the methods (GET among them)",
                        format!("Allow: {allow:?}"),
                    ));
                }
                v
            },
        )
        .await;
    }
    let not_found = [
        ("GET /me/devices/{id}", Method::GET, item.clone()),
        ("DELETE /me/devices/{id}", Method::DELETE, item.clone()),
        (
            "GET /me/unknown",
            Method::GET,
            "/me/no-such-collection".to_owned(),
        ),
    ];
    for (endpoint, method, path) in not_found {
        let req = ctx.authorized(Request::new(method, path));
        let secrets = ctx.secrets();
        probe(ctx, "unknown resource", Oracle::Http, endpoint, req, |r| {
            judge(
                Oracle::Http,
                r,
                &Expected::error(GraphCode::ResourceNotFound),
                &secrets,
            )
        })
        .await;
    }
}

/// Why a list could not be read: a violation, or 429s to the end (`None`: not judged).
type ListError = Option<Violation>;

/// Every device id in `who`'s list, in lower case, following `@odata.nextLink` (at most
/// 100 pages).
async fn list_ids(ctx: &Ctx, who: &Credentials) -> Result<Vec<String>, ListError> {
    let mut ids = Vec::new();
    let mut path = "/me/devices?$top=999".to_owned();
    for _ in 0..100 {
        let req = ctx.authorized_as(Request::new(Method::GET, path.clone()), who);
        let r = match ctx.send(req).await {
            Ok(r) => r,
            Err(TransportError::Throttled(_)) => return Err(None),
            Err(e) => return Err(Some(oracles::transport(&e))),
        };
        let fail = |why: &str| {
            Violation::new(
                Oracle::Persistence,
                "list",
                format!("GET {path} -> 200 {{\"value\": [...]}}"),
                format!("{why}: {}", oracles::seen(&r)),
            )
        };
        if r.status != 200 {
            return Err(Some(fail("status")));
        }
        let page: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|_| Some(fail("not JSON")))?;
        let Some(values) = page.get("value").and_then(|v| v.as_array()) else {
            return Err(Some(fail("no value array")));
        };
        if values.len() > 999 {
            return Err(Some(fail("more than $top=999 items")));
        }
        let key = &ctx.profile().properties()[ctx.profile().key()].name;
        ids.extend(
            values
                .iter()
                .filter_map(|d| d.get(key.as_str()).and_then(|i| i.as_str()))
                .map(str::to_ascii_lowercase),
        );
        match page.get("@odata.nextLink").and_then(|l| l.as_str()) {
            Some(next) => match location_path(ctx, next) {
                Some(p) => path = p,
                None => return Err(Some(fail("unusable @odata.nextLink"))),
            },
            None => return Ok(ids),
        }
    }
    Ok(ids)
}

async fn authorization(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0xb01a);
    let stranger = rng.guid().as_str().to_owned();
    let secrets = ctx.secrets();
    let denied = |r: &Response| judge(Oracle::Authorization, r, &Expected::denied(), &secrets);
    // The contract lists DELETE for `/me/devices/{id}` alone: on another user's path a
    // target may also answer that the method is not allowed there (nothing revealed).
    let denied_delete = |r: &Response| {
        let e = Expected::denied().or(Answer::error(GraphCode::MethodNotAllowed));
        judge(Oracle::Authorization, r, &e, &secrets)
    };
    // Another user's path, for a user that may not exist: the same answer either way.
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let path = format!("/users/{stranger}/devices");
    let post = ctx.authorized(create_request(&path, body));
    probe(
        ctx,
        "unknown user's path",
        Oracle::Authorization,
        "POST /users/{other}/devices",
        post,
        denied,
    )
    .await;
    let get = ctx.authorized(Request::new(Method::GET, path));
    probe(
        ctx,
        "unknown user's path",
        Oracle::Authorization,
        "GET /users/{other}/devices",
        get,
        denied,
    )
    .await;

    let Some(other) = ctx.other().cloned() else {
        for endpoint in [
            "POST /users/{other}/devices (existing user)",
            "GET /users/{other}/devices/{id}",
            "GET /me/devices/{other's id}",
            "DELETE /me/devices/{other's id}",
            "other user's list unchanged",
        ] {
            ctx.skip(Oracle::Authorization, endpoint, NO_OTHER);
        }
        return;
    };
    // The other user's own device.
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let req = ctx.authorized_as(create_request("/me/devices", body), &other);
    let mut checks = Vec::new();
    let theirs = match exchange(ctx, &req, "POST /me/devices", &mut checks).await {
        Some(r) if r.status == 201 => answer_device(Oracle::Acceptance, ctx.reading(), &r)
            .ok()
            .and_then(|d| d.id(ctx.profile()).map(|g| g.as_str().to_ascii_lowercase())),
        Some(r) => {
            checks.push(check(
                Oracle::Acceptance,
                "POST /me/devices",
                &req,
                vec![Violation::new(
                    Oracle::Acceptance,
                    "status",
                    "201 Created",
                    oracles::seen(&r),
                )],
            ));
            None
        }
        None => None,
    };
    ctx.record_all(checks, Example::probe("second user's device"));
    let Some(theirs) = theirs else {
        ctx.skip(
            Oracle::Authorization,
            "other user's list unchanged",
            "the second user could not create a device",
        );
        return;
    };
    let before = list_ids(ctx, &other).await;
    let base = format!("/users/{}/devices", other.user_id);
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let attempts = [
        (
            "POST /users/{other}/devices (existing user)",
            ctx.authorized(create_request(&base, body)),
        ),
        (
            "GET /users/{other}/devices",
            ctx.authorized(Request::new(Method::GET, base.clone())),
        ),
        (
            "GET /users/{other}/devices/{id}",
            ctx.authorized(Request::new(Method::GET, format!("{base}/{theirs}"))),
        ),
        (
            "GET /me/devices/{other's id}",
            ctx.authorized(Request::new(Method::GET, format!("/me/devices/{theirs}"))),
        ),
        (
            "DELETE /users/{other}/devices/{id}",
            ctx.authorized(Request::new(Method::DELETE, format!("{base}/{theirs}"))),
        ),
        (
            "DELETE /me/devices/{other's id}",
            ctx.authorized(Request::new(
                Method::DELETE,
                format!("/me/devices/{theirs}"),
            )),
        ),
    ];
    for (endpoint, req) in attempts {
        let judge_it: &dyn Fn(&Response) -> Vec<Violation> =
            if endpoint.starts_with("DELETE /users") {
                &denied_delete
            } else {
                &denied
            };
        probe(
            ctx,
            "another user's resources",
            Oracle::Authorization,
            endpoint,
            req,
            judge_it,
        )
        .await;
    }
    let after = list_ids(ctx, &other).await;
    let verdict = match (before, after) {
        (Ok(mut b), Ok(mut a)) => {
            b.sort();
            a.sort();
            if a == b && a.contains(&theirs) {
                Vec::new()
            } else {
                vec![Violation::new(
                    Oracle::Authorization,
                    "other-user-changed",
                    format!("the other user's {} devices, unchanged", b.len()),
                    format!(
                        "{} devices now; theirs {}",
                        a.len(),
                        if a.contains(&theirs) { "kept" } else { "gone" }
                    ),
                )]
            }
        }
        (Err(Some(v)), _) | (_, Err(Some(v))) => vec![v],
        (Err(None), _) | (_, Err(None)) => {
            ctx.skip(
                Oracle::Authorization,
                "other user's list unchanged",
                THROTTLED,
            );
            return;
        }
    };
    let list = ctx.authorized_as(Request::new(Method::GET, "/me/devices?$top=999"), &other);
    ctx.record_all(
        vec![check(
            Oracle::Authorization,
            "other user's list unchanged",
            &list,
            verdict,
        )],
        Example::probe("another user's list"),
    );
}

/// Creates `device` bodies concurrently; the answers in order.
async fn create_all(
    ctx: &Ctx,
    bodies: Vec<Vec<u8>>,
) -> Vec<(Request, Vec<Check>, Option<Response>)> {
    join_all(bodies.into_iter().map(|body| async move {
        let req = ctx.authorized(create_request("/me/devices", body));
        let mut checks = Vec::new();
        let resp = exchange(ctx, &req, "POST /me/devices", &mut checks).await;
        (req, checks, resp)
    }))
    .await
}

async fn persistence(ctx: &Ctx) {
    let profile = ctx.profile();
    let mut rng = Rng::new(ctx.config().seed ^ 0x9e25);
    let n = (ctx.config().concurrency * 4).clamp(16, 256);
    let devices: Vec<(Device, Vec<u8>)> = (0..n)
        .map(|_| valid_body(ctx, rng.next_u64(), None))
        .collect();
    let answers = create_all(ctx, devices.iter().map(|(_, b)| b.clone()).collect()).await;
    let mut created = Vec::new();
    for ((device, _), (req, mut checks, resp)) in devices.iter().zip(answers) {
        let mut v = Vec::new();
        if let Some(r) = resp {
            match answer_device(Oracle::Persistence, ctx.reading(), &r) {
                Ok(got) if r.status == 201 => match got.id(profile) {
                    Some(id) if ctx.fresh_id(id.as_str()) => {
                        created.push((id.as_str().to_ascii_lowercase(), device))
                    }
                    Some(id) => v.push(Violation::new(
                        Oracle::Persistence,
                        "distinct-ids",
                        "a new id for each concurrent create",
                        format!("id {} twice", id.as_str()),
                    )),
                    None => v.push(Violation::new(Oracle::Persistence, "id", "an id", "none")),
                },
                _ if r.status != 201 => v.push(Violation::new(
                    Oracle::Persistence,
                    "burst-status",
                    "201 for each of a burst of concurrent creates",
                    oracles::seen(&r),
                )),
                Err(e) => v.push(e),
                Ok(_) => {}
            }
        }
        checks.push(check(
            Oracle::Persistence,
            "POST /me/devices (concurrent burst)",
            &req,
            v,
        ));
        ctx.record_all(checks, Example::probe("concurrent burst"));
    }
    // Every 201 is readable, and listed.
    let reads = join_all(created.iter().map(|(id, device)| async move {
        let req = ctx.authorized(Request::new(Method::GET, format!("/me/devices/{id}")));
        let mut checks = Vec::new();
        let mut v = Vec::new();
        if let Some(r) = exchange(ctx, &req, "GET /me/devices/{id}", &mut checks).await {
            if r.status != 200 {
                v.push(Violation::new(
                    Oracle::Persistence,
                    "lost-write",
                    format!("GET /me/devices/{id} -> 200 after its 201"),
                    oracles::seen(&r),
                ));
            } else {
                match answer_device(Oracle::Persistence, ctx.reading(), &r) {
                    Ok(got) => v.extend(
                        same_device(ctx.profile(), device, &got, Some(id))
                            .into_iter()
                            .map(|mut x| {
                                x.oracle = Oracle::Persistence;
                                x.rule = format!("stored/{}", x.rule);
                                x
                            }),
                    ),
                    Err(e) => v.push(e),
                }
            }
        }
        checks.push(check(
            Oracle::Persistence,
            "GET /me/devices/{id} (after burst)",
            &req,
            v,
        ));
        checks
    }))
    .await;
    for checks in reads {
        ctx.record_all(checks, Example::probe("read after a concurrent burst"));
    }
    let listed = list_ids(ctx, ctx.user()).await;
    let list_req = ctx.authorized(Request::new(Method::GET, "/me/devices?$top=999"));
    let v = match listed {
        Ok(ids) => {
            let set: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
            let missing: Vec<&str> = created
                .iter()
                .map(|(i, _)| i.as_str())
                .filter(|i| !set.contains(i))
                .collect();
            if missing.is_empty() {
                Vec::new()
            } else {
                vec![Violation::new(
                    Oracle::Persistence,
                    "listed",
                    "every created device in GET /me/devices (all pages)",
                    format!("{} missing, such as {}", missing.len(), missing[0]),
                )]
            }
        }
        Err(Some(v)) => vec![v],
        Err(None) => {
            ctx.skip(Oracle::Persistence, "GET /me/devices", THROTTLED);
            duplicate_ids(ctx, &mut rng).await;
            return;
        }
    };
    ctx.record_all(
        vec![check(Oracle::Persistence, "GET /me/devices", &list_req, v)],
        Example::probe("list after a concurrent burst"),
    );
    duplicate_ids(ctx, &mut rng).await;
}

/// A client id used twice is a 409; raced, exactly one create wins.
async fn duplicate_ids(ctx: &Ctx, rng: &mut Rng) {
    let policy = ctx.profile().policies().client_id;
    const ENDPOINT: &str = "POST /me/devices (same client id)";
    if policy == ClientId::Reject {
        ctx.skip(
            Oracle::Persistence,
            ENDPOINT,
            "the profile rejects client ids",
        );
        return;
    }
    let conflict = |r: &Response, secrets: &[&str]| {
        judge(
            Oracle::Persistence,
            r,
            &Expected::error(GraphCode::MultipleObjectsWithSameKeyValue),
            secrets,
        )
    };
    // In turn.
    let id = rng.guid().salted(ctx.salt);
    let bodies: Vec<Vec<u8>> = (0..2)
        .map(|_| valid_body(ctx, rng.next_u64(), Some(&id)).1)
        .collect();
    let mut answers = Vec::new();
    for body in bodies {
        answers.extend(create_all(ctx, vec![body]).await);
    }
    judge_race(ctx, answers, policy, "sequential", &conflict);
    // Raced.
    let id = rng.guid().salted(ctx.salt);
    let bodies: Vec<Vec<u8>> = (0..8)
        .map(|_| valid_body(ctx, rng.next_u64(), Some(&id)).1)
        .collect();
    let answers = create_all(ctx, bodies).await;
    judge_race(ctx, answers, policy, "concurrent", &conflict);
}

fn judge_race(
    ctx: &Ctx,
    answers: Vec<(Request, Vec<Check>, Option<Response>)>,
    policy: ClientId,
    how: &str,
    conflict: &dyn Fn(&Response, &[&str]) -> Vec<Violation>,
) {
    let endpoint = format!("POST /me/devices (same client id, {how})");
    let secrets = ctx.secrets();
    let wins = answers
        .iter()
        .filter(|(_, _, r)| r.as_ref().is_some_and(|r| r.status == 201))
        .count();
    let Some(first) = answers.first().map(|(req, ..)| req.clone()) else {
        return;
    };
    for (req, mut checks, resp) in answers {
        if let Some(r) = resp
            && r.status != 201
            && policy == ClientId::Honour
        {
            checks.push(check(
                Oracle::Persistence,
                &endpoint,
                &req,
                conflict(&r, &secrets),
            ));
        }
        ctx.record_all(checks, Example::probe("duplicate client id"));
    }
    let want = if policy == ClientId::Honour {
        "exactly one 201".to_owned()
    } else {
        "every create a 201 (ids ignored)".to_owned()
    };
    let ok = if policy == ClientId::Honour {
        wins == 1
    } else {
        true
    };
    let v = if ok {
        Vec::new()
    } else {
        vec![Violation::new(
            Oracle::Persistence,
            "one-winner",
            want,
            format!("{wins} creates got 201"),
        )]
    };
    ctx.record_all(
        vec![check(Oracle::Persistence, &endpoint, &first, v)],
        Example::probe("duplicate client id"),
    );
}

/// A hostile request, what it is expected to get, and a shell command that writes its
/// body (for the reproducer).
struct Hostile {
    name: &'static str,
    req: Request,
    expect: Expected,
    recipe: Option<String>,
}

async fn liveness(ctx: &Ctx) {
    let profile = ctx.profile();
    let mut rng = Rng::new(ctx.config().seed ^ 0x11fe);
    let post = |body: Body| {
        let mut r = ctx.authorized(create_request("/me/devices", Vec::new()));
        r.body = body;
        r
    };
    let mut hostile = vec![
        Hostile {
            name: "100,000-deep array nesting",
            req: post(Body::Full(Bytes::from(vec![b'['; 100_000]))),
            expect: answer::for_body(profile, &[b'['; 100_000]).0,
            recipe: Some("python3 -c \"print('['*100000, end='')\"".to_owned()),
        },
        Hostile {
            name: "50,000-deep object nesting",
            req: post(Body::Full(Bytes::from(b"{\"@a\":".repeat(50_000)))),
            expect: answer::for_body(profile, &b"{\"@a\":".repeat(50_000)).0,
            recipe: Some("python3 -c \"print('{\\\"@a\\\":'*50000, end='')\"".to_owned()),
        },
    ];
    if let Some(def) = profile
        .properties()
        .iter()
        .find(|d| d.base == Base::Primitive(Edm::Int32) && !d.collection)
    {
        let mut body = format!("{{\"{}\":", def.name).into_bytes();
        body.extend(std::iter::repeat_n(b'9', 100_000));
        body.push(b'}');
        hostile.push(Hostile {
            name: "a 100,000-digit number",
            expect: answer::for_body(profile, &body).0,
            req: post(Body::Full(Bytes::from(body))),
            recipe: Some(format!(
                "python3 -c \"print('{{\\\"{}\\\":'+'9'*100000+'}}', end='')\"",
                def.name
            )),
        });
    }
    if !ctx.config().quick {
        let (device, _) = valid_body(ctx, rng.next_u64(), None);
        if let Some(case) = malformed(profile, &device, Defect::BodyTooLarge, &mut rng) {
            let bytes = Bytes::from(case.bytes);
            let recipe = format!("head -c {} /dev/zero | tr '\\0' ' '", bytes.len());
            hostile.push(Hostile {
                name: "a body over 4 MiB with Content-Length",
                req: post(Body::Full(bytes.clone())),
                expect: Expected::error(GraphCode::RequestEntityTooLarge),
                recipe: Some(recipe.clone()),
            });
            hostile.push(Hostile {
                name: "a chunked body over 4 MiB",
                req: post(Body::Trickle {
                    bytes,
                    chunks: 64,
                    pause: Duration::ZERO,
                }),
                expect: Expected::error(GraphCode::RequestEntityTooLarge),
                recipe: Some(recipe),
            });
        }
        if let Some((i, _)) = profile
            .properties()
            .iter()
            .enumerate()
            .find(|(_, d)| d.collection && d.base == Base::Primitive(Edm::String))
        {
            let (mut device, base) = valid_body(ctx, rng.next_u64(), None);
            let room = MAX_BODY_BYTES.saturating_sub(base.len() + 64) / 3;
            device.properties[i] =
                Some(Value::Collection(vec![Value::String(String::new()); room]));
            hostile.push(Hostile {
                name: "a huge array just under 4 MiB",
                req: post(Body::Full(Bytes::from(to_vec_with(profile, &device)))),
                expect: Expected::created(),
                recipe: None,
            });
        }
        // Slow, but well inside the timeout.
        let pause = (ctx.config().timeout / 40).min(Duration::from_millis(100));
        let (_, body) = valid_body(ctx, rng.next_u64(), None);
        hostile.push(Hostile {
            name: "a valid body trickled in 20 chunks",
            req: post(Body::Trickle {
                bytes: Bytes::from(body),
                chunks: 20,
                pause,
            }),
            expect: Expected::created(),
            recipe: None,
        });
    }
    let prompt = ctx.config().timeout.min(Duration::from_secs(5));
    for mut h in hostile {
        h.req.tag = Some(h.name.to_owned());
        let mut checks = Vec::new();
        let endpoint = format!("POST /me/devices ({})", h.name);
        // A valid create while the hostile one is in flight, and one after it.
        let during = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            live_probe(ctx, &mut Rng::new(rng.clone().next_u64()), prompt)
                .await
                .1
        };
        let (resp, during) = tokio::join!(exchange(ctx, &h.req, &endpoint, &mut checks), during);
        let oracle = if h.expect.allows_created() {
            Oracle::Acceptance
        } else {
            Oracle::Rejection
        };
        match &resp {
            Some(r) => {
                let v = judge(oracle, r, &h.expect, &ctx.secrets());
                checks.push(check(oracle, &endpoint, &h.req, v));
            }
            None if throttled(&checks) => {
                checks.push(Check::skipped(oracle, &endpoint, &h.req, THROTTLED));
            }
            None => {}
        }
        let after = live_probe(ctx, &mut rng, prompt).await.1;
        let live_endpoint = format!("POST /me/devices (after {})", h.name);
        let mut v = Vec::new();
        let mut unjudged = false;
        for (when, outcome) in [("during", during), ("after", after)] {
            match outcome {
                Live::Answered => {}
                Live::Throttled => unjudged = true,
                Live::Unresponsive(seen) => v.push(Violation::new(
                    Oracle::Liveness,
                    format!("unresponsive-{when}"),
                    format!(
                        "an answer (not a 5xx) to a valid create within {prompt:?} {when} {}",
                        h.name
                    ),
                    seen,
                )),
            }
        }
        checks.push(if unjudged && v.is_empty() {
            Check::skipped(Oracle::Liveness, &live_endpoint, &h.req, THROTTLED)
        } else {
            check(Oracle::Liveness, &live_endpoint, &h.req, v)
        });
        let mut example = Example::probe(h.name);
        example.body_recipe = h.recipe;
        ctx.record_all(checks, example);
    }
}

/// What a liveness probe saw.
pub(crate) enum Live {
    /// An answer within the time, other than a 5xx: the target is serving. (Whether the
    /// answer is right is the business of the other oracles: one fault, one finding.)
    Answered,
    /// 429s to the end: not judged.
    Throttled,
    /// No answer in time, a broken connection or a 5xx: what happened.
    Unresponsive(String),
}

/// A valid create sent with `prompt` as its timeout, and what came of it; and the request.
pub(crate) async fn live_probe(ctx: &Ctx, rng: &mut Rng, prompt: Duration) -> (Request, Live) {
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let req = ctx.authorized(create_request("/me/devices", body));
    let outcome = match ctx.send_with(req.clone(), prompt).await {
        Ok(r) if r.status >= 500 => Live::Unresponsive(oracles::seen(&r)),
        Ok(_) => Live::Answered,
        Err(TransportError::Throttled(_)) => Live::Throttled,
        Err(e) => Live::Unresponsive(e.to_string()),
    };
    (req, outcome)
}

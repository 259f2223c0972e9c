//! The fixed probes that follow the generated cases: round-trip read-back, then
//! authentication, HTTP rules, authorization across users, persistence under concurrency,
//! and liveness after hostile inputs.

mod authentication;
mod authorization;
mod http_rules;
mod lifecycle;
mod liveness;
mod persistence;
mod round_trip;

use authentication::authentication;
use authorization::authorization;
use http_rules::http_rules;
use lifecycle::lifecycle;
use liveness::liveness;
pub(crate) use liveness::{Live, live_probe};
use persistence::persistence;
use round_trip::location_path;
pub(crate) use round_trip::round_trip;

use http::Method;

use super::collect::{Check, Example, check, throttled};
use super::ctx::{Ctx, THROTTLED};
use super::runner::exchange;
use crate::generate::{Rng, valid};
use crate::model::{Device, Guid};
use crate::ser::to_vec_with;
use crate::target::oracles::{self, Oracle, Violation};
use crate::target::{Credentials, Request, Response, TransportError};

pub(crate) const STOPPED: &str = "the target stopped answering";
pub(super) const NO_OTHER: &str = "no second user (--other-token and --other-user-id)";

/// Runs every probe.
pub(crate) async fn run_all(ctx: &Ctx) {
    // In differential mode every probe runs: its requests go to both targets.
    let selected = |o| ctx.config().selected(o) || ctx.config().differential();
    if !ctx.dead() && selected(Oracle::Authentication) {
        authentication(ctx).await;
    }
    if !ctx.dead() && selected(Oracle::Http) {
        http_rules(ctx).await;
    }
    if !ctx.dead() && selected(Oracle::Authorization) {
        authorization(ctx).await;
    }
    if !ctx.dead() && selected(Oracle::Persistence) {
        persistence(ctx).await;
    }
    if !ctx.dead() && selected(Oracle::Liveness) {
        liveness(ctx).await;
    }
    if !ctx.dead() && selected(Oracle::Lifecycle) {
        lifecycle(ctx).await;
    }
}

/// A valid device body (compact) from `seed`, with the given client id.
pub(super) fn valid_body(ctx: &Ctx, seed: u64, id: Option<&Guid>) -> (Device, Vec<u8>) {
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

pub(super) fn create_request(path: &str, body: Vec<u8>) -> Request {
    Request::new(Method::POST, path)
        .header("content-type", "application/json")
        .body(body)
}

/// One request judged by one closure, recorded as one probe.
pub(super) async fn probe(
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

/// Why a list could not be read: a violation, or 429s to the end (`None`: not judged).
pub(super) type ListError = Option<Violation>;

/// Every device id in `who`'s list, in lower case, following `@odata.nextLink` (at most
/// 100 pages).
pub(super) async fn list_ids(ctx: &Ctx, who: &Credentials) -> Result<Vec<String>, ListError> {
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

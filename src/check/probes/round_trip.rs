//! Round-trip: a 201 is read back as sent, with a fresh GUID id, `@odata.type` and a
//! `Location` that leads to it.

use http::Method;

use crate::check::collect::{Check, check};
use crate::check::ctx::Ctx;
use crate::check::runner::exchange;
use crate::contract::{ClientId, Level};
use crate::model::Device;
use crate::target::oracles::{self, Oracle, Violation, answer_device, same_device};
use crate::target::{Request, Response};

/// The 201 of `req` (which sent `device` to the collection `route`) and a read-back: same
/// device, fresh GUID id, `@odata.type`, `Location`.
pub(crate) async fn round_trip(
    ctx: &Ctx,
    route: &str,
    req: &Request,
    resp: &Response,
    device: &Device,
    checks: &mut Vec<Check>,
) {
    let endpoint = &format!("POST {route}");
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
    let read_endpoint = format!("GET {route}/{{id}}");
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
pub(super) fn location_path(ctx: &Ctx, location: &str) -> Option<String> {
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

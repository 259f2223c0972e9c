//! Authorization across users: what one user creates, another can neither read, list,
//! change nor delete.

use http::Method;

use crate::answer::{Answer, Expected};
use crate::check::collect::{Example, check};
use crate::check::ctx::{Ctx, THROTTLED};
use crate::check::runner::exchange;
use crate::contract::Scope;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::target::oracles::{self, Oracle, Violation, answer_device, judge};
use crate::target::{Credentials, Request, Response};

use super::{NO_OTHER, create_request, list_ids, probe, valid_body};

/// Every check of the probe, by endpoint.
const ENDPOINTS: [&str; 9] = [
    "POST /users/{other}/devices",
    "GET /users/{other}/devices",
    "POST /users/{other}/devices (existing user)",
    "GET /users/{other}/devices/{id}",
    "DELETE /users/{other}/devices/{id}",
    "GET /me/devices/{other's id}",
    "DELETE /me/devices/{other's id}",
    "other user's list unchanged",
    "POST /me/devices",
];

const TENANT_WIDE: &str = "the profile's devices are tenant-wide (routes.scope = tenant): one user's device is every user's";
const NO_USER_PATHS: &str = "the profile has no per-user paths (routes.user_collection)";

pub(super) async fn authorization(ctx: &Ctx) {
    let routes = ctx.profile().routes();
    if routes.scope == Scope::Tenant {
        for endpoint in &ENDPOINTS[..8] {
            ctx.skip(Oracle::Authorization, endpoint, TENANT_WIDE);
        }
        return;
    }
    let user_paths = routes.user_collection.is_some();
    let mut rng = Rng::new(ctx.config().seed ^ 0xb01a);
    let secrets = ctx.secrets();
    let denied = |r: &Response| judge(Oracle::Authorization, r, &Expected::denied(), &secrets);
    // The contract lists DELETE for `/me/devices/{id}` alone: on another user's path a
    // target may also answer that the method is not allowed there (nothing revealed).
    let denied_delete = |r: &Response| {
        let e = Expected::denied().or(Answer::error(GraphCode::MethodNotAllowed));
        judge(Oracle::Authorization, r, &e, &secrets)
    };
    if user_paths {
        unknown_user(ctx, &mut rng, &denied).await;
    } else {
        for endpoint in &ENDPOINTS[..2] {
            ctx.skip(Oracle::Authorization, endpoint, NO_USER_PATHS);
        }
    }

    let Some(other) = ctx.other().cloned() else {
        for endpoint in [
            ENDPOINTS[2],
            ENDPOINTS[3],
            ENDPOINTS[5],
            ENDPOINTS[6],
            ENDPOINTS[7],
        ] {
            ctx.skip(Oracle::Authorization, endpoint, NO_OTHER);
        }
        return;
    };
    let Some(theirs) = second_users_device(ctx, &other, &mut rng).await else {
        ctx.skip(
            Oracle::Authorization,
            "other user's list unchanged",
            "the second user could not create a device",
        );
        return;
    };
    let before = list_ids(ctx, &other).await;
    for (endpoint, req) in attempts(ctx, &other, &theirs, &mut rng) {
        if !user_paths && endpoint.contains("/users/") {
            ctx.skip(Oracle::Authorization, endpoint, NO_USER_PATHS);
            continue;
        }
        let judge_it: &dyn Fn(&Response) -> Vec<Violation> =
            if endpoint.starts_with("DELETE /users") {
                &denied_delete
            } else {
                &denied
            };
        let name = "another user's resources";
        probe(ctx, name, Oracle::Authorization, endpoint, req, judge_it).await;
    }
    let after = list_ids(ctx, &other).await;
    let verdict = match (before, after) {
        (Ok(b), Ok(a)) => unchanged(b, a, &theirs),
        (Err(Some(v)), _) | (_, Err(Some(v))) => vec![v],
        (Err(None), _) | (_, Err(None)) => {
            let endpoint = "other user's list unchanged";
            ctx.skip(Oracle::Authorization, endpoint, THROTTLED);
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

/// Another user's path, for a user that may not exist: the same answer either way.
async fn unknown_user(ctx: &Ctx, rng: &mut Rng, denied: &dyn Fn(&Response) -> Vec<Violation>) {
    let stranger = rng.guid().as_str().to_owned();
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let path = format!("/users/{stranger}/devices");
    let name = "unknown user's path";
    let post = ctx.authorized(create_request(&path, body));
    let endpoint = "POST /users/{other}/devices";
    probe(ctx, name, Oracle::Authorization, endpoint, post, denied).await;
    let get = ctx.authorized(Request::new(Method::GET, path));
    let endpoint = "GET /users/{other}/devices";
    probe(ctx, name, Oracle::Authorization, endpoint, get, denied).await;
}

/// The second user creates a device of their own; its id, in lower case.
async fn second_users_device(ctx: &Ctx, other: &Credentials, rng: &mut Rng) -> Option<String> {
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let req = ctx.authorized_as(create_request("/me/devices", body), other);
    let mut checks = Vec::new();
    let theirs = match exchange(ctx, &req, "POST /me/devices", &mut checks).await {
        Some(r) if r.status == 201 => answer_device(Oracle::Acceptance, ctx.reading(), &r)
            .ok()
            .and_then(|d| d.id(ctx.profile()).map(|g| g.as_str().to_ascii_lowercase())),
        Some(r) => {
            let v = Violation::new(
                Oracle::Acceptance,
                "status",
                "201 Created",
                oracles::seen(&r),
            );
            checks.push(check(Oracle::Acceptance, "POST /me/devices", &req, vec![v]));
            None
        }
        None => None,
    };
    ctx.record_all(checks, Example::probe("second user's device"));
    theirs
}

/// What the first user tries on the second user's device `theirs`.
fn attempts(
    ctx: &Ctx,
    other: &Credentials,
    theirs: &str,
    rng: &mut Rng,
) -> [(&'static str, Request); 6] {
    let base = format!("/users/{}/devices", other.user_id);
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let as_me = |method: Method, path: String| ctx.authorized(Request::new(method, path));
    [
        (
            "POST /users/{other}/devices (existing user)",
            ctx.authorized(create_request(&base, body)),
        ),
        (
            "GET /users/{other}/devices",
            as_me(Method::GET, base.clone()),
        ),
        (
            "GET /users/{other}/devices/{id}",
            as_me(Method::GET, format!("{base}/{theirs}")),
        ),
        (
            "GET /me/devices/{other's id}",
            as_me(Method::GET, format!("/me/devices/{theirs}")),
        ),
        (
            "DELETE /users/{other}/devices/{id}",
            as_me(Method::DELETE, format!("{base}/{theirs}")),
        ),
        (
            "DELETE /me/devices/{other's id}",
            as_me(Method::DELETE, format!("/me/devices/{theirs}")),
        ),
    ]
}

/// The second user's list before and after the attempts: the same ids, theirs among them.
fn unchanged(mut before: Vec<String>, mut after: Vec<String>, theirs: &str) -> Vec<Violation> {
    before.sort();
    after.sort();
    let kept = after.iter().any(|id| id == theirs);
    if after == before && kept {
        return Vec::new();
    }
    vec![Violation::new(
        Oracle::Authorization,
        "other-user-changed",
        format!("the other user's {} devices, unchanged", before.len()),
        format!(
            "{} devices now; theirs {}",
            after.len(),
            if kept { "kept" } else { "gone" }
        ),
    )]
}

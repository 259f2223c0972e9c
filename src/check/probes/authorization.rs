//! Authorization across users: what one user creates, another can neither read, list,
//! change nor delete.

use http::Method;

use crate::answer::{Answer, Expected};
use crate::check::collect::{Example, check};
use crate::check::ctx::{Ctx, THROTTLED};
use crate::check::runner::exchange;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::target::oracles::{self, Oracle, Violation, answer_device, judge};
use crate::target::{Request, Response};

use super::{NO_OTHER, create_request, list_ids, probe, valid_body};

pub(super) async fn authorization(ctx: &Ctx) {
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

//! Lifecycle: what a 204 DELETE promises. The device is gone: a GET is 404, the list no
//! longer holds it, a second DELETE is 404; its id may be created again (201) or stay
//! taken (409), which the contract leaves open. DELETE is optional for targets: one
//! that has none (405 or 501) is skipped, not failed.

use http::Method;

use crate::answer::{Answer, Expected};
use crate::check::collect::{Example, check};
use crate::check::ctx::{Ctx, THROTTLED};
use crate::check::runner::exchange;
use crate::contract::ClientId;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::model::Guid;
use crate::target::oracles::{Oracle, Violation, judge};
use crate::target::{Request, Response};

use super::{create_request, list_ids, probe, valid_body};

/// The endpoints the oracle judges, in order.
const DELETE: &str = "DELETE /me/devices/{id}";
const GET_AFTER: &str = "GET /me/devices/{id} (after DELETE)";
const LISTED_AFTER: &str = "GET /me/devices (after DELETE)";
const DELETE_AGAIN: &str = "DELETE /me/devices/{id} (again)";
const CREATE_AGAIN: &str = "POST /me/devices (the deleted id)";

pub(super) async fn lifecycle(ctx: &Ctx) {
    if !ctx.profile().routes().delete {
        let why = "the profile has no delete route (routes.delete = false)";
        for endpoint in [DELETE, GET_AFTER, LISTED_AFTER, DELETE_AGAIN, CREATE_AGAIN] {
            ctx.skip(Oracle::Lifecycle, endpoint, why);
        }
        return;
    }
    let mut rng = Rng::new(ctx.config().seed ^ 0x11fe_c7c1);
    let honour = ctx.profile().policies().client_id == ClientId::Honour;
    let id = rng.guid().salted(ctx.salt);
    let (_, body) = valid_body(ctx, rng.next_u64(), honour.then_some(&id));
    let create = ctx.authorized(create_request("/me/devices", body.clone()));
    let mut checks = Vec::new();
    let created = exchange(ctx, &create, "POST /me/devices", &mut checks).await;
    ctx.record_all(checks, Example::probe("a device to delete"));
    let Some(id) = created
        .as_ref()
        .and_then(|r| created_id(r, honour.then_some(&id)))
    else {
        let why = "no device to delete: the create was not a 201 with an id";
        for endpoint in [DELETE, GET_AFTER, LISTED_AFTER, DELETE_AGAIN, CREATE_AGAIN] {
            ctx.skip(Oracle::Lifecycle, endpoint, why);
        }
        return;
    };
    let item = format!("/me/devices/{id}");
    let secrets = ctx.secrets();
    let delete = ctx.authorized(Request::new(Method::DELETE, item.clone()));
    let Some(deleted) = send(ctx, DELETE, delete.clone()).await else {
        return;
    };
    if matches!(deleted.status, 405 | 501) {
        let why = "the target has no DELETE (optional in the contract)";
        for endpoint in [DELETE, GET_AFTER, LISTED_AFTER, DELETE_AGAIN, CREATE_AGAIN] {
            ctx.skip(Oracle::Lifecycle, endpoint, why);
        }
        return;
    }
    let gone = |r: &Response| {
        let expected = Expected::error(GraphCode::ResourceNotFound);
        judge(Oracle::Lifecycle, r, &expected, &secrets)
    };
    let v = status_is(&deleted, 204, "204 No Content");
    ctx.record_all(
        vec![check(Oracle::Lifecycle, DELETE, &delete, v)],
        Example::probe("delete a device"),
    );
    if deleted.status != 204 {
        return;
    }
    let get = ctx.authorized(Request::new(Method::GET, item.clone()));
    probe(
        ctx,
        "read a deleted device",
        Oracle::Lifecycle,
        GET_AFTER,
        get,
        gone,
    )
    .await;
    listed_after(ctx, &id).await;
    let again = ctx.authorized(Request::new(Method::DELETE, item));
    probe(
        ctx,
        "delete twice",
        Oracle::Lifecycle,
        DELETE_AGAIN,
        again,
        gone,
    )
    .await;
    if honour {
        // The contract is silent on reusing a deleted id: created again, or still taken.
        let expected =
            Expected::created().or(Answer::error(GraphCode::MultipleObjectsWithSameKeyValue));
        let req = ctx.authorized(create_request("/me/devices", body));
        let name = "create with a deleted id";
        probe(ctx, name, Oracle::Lifecycle, CREATE_AGAIN, req, |r| {
            judge(Oracle::Lifecycle, r, &expected, &secrets)
        })
        .await;
    } else {
        let why = "the profile ignores or rejects client ids";
        ctx.skip(Oracle::Lifecycle, CREATE_AGAIN, why);
    }
}

/// Sends `req`, recording what every answer gets; the answer, if there is one.
async fn send(ctx: &Ctx, endpoint: &str, req: Request) -> Option<Response> {
    let mut checks = Vec::new();
    let resp = exchange(ctx, &req, endpoint, &mut checks).await;
    let throttled = resp.is_none() && checks.last().is_some_and(|c| c.skipped.is_some());
    ctx.record_all(checks, Example::probe("delete a device"));
    if throttled {
        ctx.skip(Oracle::Lifecycle, endpoint, THROTTLED);
    }
    resp
}

/// The id of a 201 (lower case): the body's, else the one the client sent.
fn created_id(r: &Response, sent: Option<&Guid>) -> Option<String> {
    if r.status != 201 {
        return None;
    }
    crate::check::cleanup::created_id(r).or_else(|| sent.map(|g| g.as_str().to_ascii_lowercase()))
}

fn status_is(r: &Response, status: u16, expected: &str) -> Vec<Violation> {
    if r.status == status {
        return Vec::new();
    }
    let seen = crate::target::oracles::seen(r);
    vec![Violation::new(
        Oracle::Lifecycle,
        "delete-status",
        expected,
        seen,
    )]
}

/// The deleted device is not in the user's list (all pages).
async fn listed_after(ctx: &Ctx, id: &str) {
    let list = ctx.authorized(Request::new(Method::GET, "/me/devices?$top=999"));
    let v = match list_ids(ctx, ctx.user()).await {
        Ok(ids) if ids.iter().any(|i| i == id) => vec![Violation::new(
            Oracle::Lifecycle,
            "listed-after-delete",
            format!("{id} gone from GET /me/devices after its 204 DELETE"),
            "still listed",
        )],
        Ok(_) => Vec::new(),
        Err(Some(v)) => vec![v],
        Err(None) => {
            ctx.skip(Oracle::Lifecycle, LISTED_AFTER, THROTTLED);
            return;
        }
    };
    ctx.record_all(
        vec![check(Oracle::Lifecycle, LISTED_AFTER, &list, v)],
        Example::probe("list after a delete"),
    );
}

//! Persistence under concurrency: every acknowledged create is kept, and a client id
//! wins once.

use futures_util::future::join_all;
use http::Method;

use crate::answer::Expected;
use crate::check::collect::{Check, Example, check};
use crate::check::ctx::{Ctx, THROTTLED};
use crate::check::mirror::Compare;
use crate::check::runner::{exchange, exchange_as};
use crate::contract::ClientId;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::model::Device;
use crate::target::oracles::{self, Oracle, Violation, answer_device, judge, same_device};
use crate::target::{Request, Response};

use super::{create_request, list_ids, valid_body};

/// Creates `device` bodies concurrently; the answers in order. In differential mode the
/// reference's answers are compared unless the creates race for one id (`compare`).
async fn create_all(
    ctx: &Ctx,
    bodies: Vec<Vec<u8>>,
    compare: Compare,
) -> Vec<(Request, Vec<Check>, Option<Response>)> {
    join_all(bodies.into_iter().map(|body| async move {
        let req = ctx.authorized(create_request("/me/devices", body));
        let mut checks = Vec::new();
        let resp = exchange_as(ctx, &req, "POST /me/devices", &mut checks, compare).await;
        (req, checks, resp)
    }))
    .await
}

pub(super) async fn persistence(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0x9e25);
    let n = (ctx.config().concurrency * 4).clamp(16, 256);
    let devices: Vec<(Device, Vec<u8>)> = (0..n)
        .map(|_| valid_body(ctx, rng.next_u64(), None))
        .collect();
    let created = burst(ctx, &devices).await;
    read_back(ctx, &created).await;
    listed(ctx, &created).await;
    duplicate_ids(ctx, &mut rng).await;
}

/// Creates `devices` at once; the ids (in lower case) of those created, with their device.
async fn burst<'d>(ctx: &Ctx, devices: &'d [(Device, Vec<u8>)]) -> Vec<(String, &'d Device)> {
    let profile = ctx.profile();
    let bodies = devices.iter().map(|(_, b)| b.clone()).collect();
    let answers = create_all(ctx, bodies, Compare::Answers).await;
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
        let endpoint = "POST /me/devices (concurrent burst)";
        checks.push(check(Oracle::Persistence, endpoint, &req, v));
        ctx.record_all(checks, Example::probe("concurrent burst"));
    }
    created
}

/// Every 201 of the burst is readable, as it was sent.
async fn read_back(ctx: &Ctx, created: &[(String, &Device)]) {
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
        let endpoint = "GET /me/devices/{id} (after burst)";
        checks.push(check(Oracle::Persistence, endpoint, &req, v));
        checks
    }))
    .await;
    for checks in reads {
        ctx.record_all(checks, Example::probe("read after a concurrent burst"));
    }
}

/// Every 201 of the burst is in the user's list (all pages).
async fn listed(ctx: &Ctx, created: &[(String, &Device)]) {
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
            match missing.first() {
                None => Vec::new(),
                Some(first) => vec![Violation::new(
                    Oracle::Persistence,
                    "listed",
                    "every created device in GET /me/devices (all pages)",
                    format!("{} missing, such as {first}", missing.len()),
                )],
            }
        }
        Err(Some(v)) => vec![v],
        Err(None) => {
            ctx.skip(Oracle::Persistence, "GET /me/devices", THROTTLED);
            return;
        }
    };
    ctx.record_all(
        vec![check(Oracle::Persistence, "GET /me/devices", &list_req, v)],
        Example::probe("list after a concurrent burst"),
    );
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
        answers.extend(create_all(ctx, vec![body], Compare::Answers).await);
    }
    judge_race(ctx, answers, policy, "sequential", &conflict);
    // Raced.
    let id = rng.guid().salted(ctx.salt);
    let bodies: Vec<Vec<u8>> = (0..8)
        .map(|_| valid_body(ctx, rng.next_u64(), Some(&id)).1)
        .collect();
    let answers = create_all(ctx, bodies, Compare::SendOnly).await;
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

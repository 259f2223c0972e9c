//! Liveness after hostile inputs: the target still answers a valid create promptly.

use std::time::Duration;

use bytes::Bytes;

use crate::answer::{self, Expected};
use crate::check::collect::{Check, Example, check, throttled};
use crate::check::ctx::{Ctx, THROTTLED};
use crate::check::runner::exchange;
use crate::contract::{Base, Edm, MAX_BODY_BYTES};
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::generate::malformed::{Defect, malformed};
use crate::model::Value;
use crate::ser::to_vec_with;
use crate::target::oracles::{self, Oracle, Violation, judge};
use crate::target::{Body, Request, TransportError};

use super::{create_request, valid_body};

/// A hostile request, what it is expected to get, and a shell command that writes its
/// body (for the reproducer).
struct Hostile {
    name: &'static str,
    req: Request,
    expect: Expected,
    recipe: Option<String>,
}

pub(super) async fn liveness(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0x11fe);
    let mut hostile = deep_and_long(ctx);
    if !ctx.config().quick {
        hostile.extend(big_and_slow(ctx, &mut rng));
    }
    let prompt = ctx.config().timeout.min(Duration::from_secs(5));
    for h in hostile {
        send_hostile(ctx, h, &mut rng, prompt).await;
    }
}

/// A create on `/me/devices` as the user, carrying `body`.
fn post(ctx: &Ctx, body: Body) -> Request {
    let mut r = ctx.authorized(create_request("/me/devices", Vec::new()));
    r.body = body;
    r
}

/// Deep nesting and a very long number: small bodies a recursive or naive parser dies on.
fn deep_and_long(ctx: &Ctx) -> Vec<Hostile> {
    let profile = ctx.profile();
    let post = |body: Body| post(ctx, body);
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
    hostile
}

/// Bodies at and over the size limit, and a valid body trickled in (the slow probes).
fn big_and_slow(ctx: &Ctx, rng: &mut Rng) -> Vec<Hostile> {
    let profile = ctx.profile();
    let post = |body: Body| post(ctx, body);
    let mut hostile = Vec::new();
    let (device, _) = valid_body(ctx, rng.next_u64(), None);
    if let Some(case) = malformed(profile, &device, Defect::BodyTooLarge, rng) {
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
        device.properties[i] = Some(Value::Strings(std::iter::repeat_n("", room).collect()));
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
    hostile
}

/// Sends one hostile request with a valid create while it is in flight and one after it:
/// the hostile one judged by its expectation, the target's liveness by the two creates.
async fn send_hostile(ctx: &Ctx, mut h: Hostile, rng: &mut Rng, prompt: Duration) {
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
    let after = live_probe(ctx, rng, prompt).await.1;
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

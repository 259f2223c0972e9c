//! The run: generated cases `concurrency` at a time, then the probes, then the fuzz
//! phase; each case sent and judged against every answer it allows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::Method;

use super::collect::{Check, Example, check, throttled};
use super::ctx::{Ctx, THROTTLED};
use super::mirror::Compare;
use super::{Case, CaseId, CheckError, Config, Report, cases, probes};
use crate::contract::Level;
use crate::generate::malformed::{Authorization, Defect, PathKind};
use crate::model::Guid;
use crate::target::{Oracle, Request, Response, Target, TransportError, Violation, oracles};

/// Runs every check against `target`.
pub async fn run(target: &Target, config: &Config) -> Result<Report, CheckError> {
    let ctx = Ctx::new(target.clone(), config.clone());
    let started = Instant::now();
    // Reachability: anything but a refused connection will do (garbage is a finding).
    let probe = |who: &crate::target::Credentials| {
        let req = Request::new(Method::GET, "/me/devices?$top=1");
        ctx.routed(ctx.authorized_as(req, who))
    };
    if let Err(error @ TransportError::Connect(_)) = ctx
        .transport()
        .send(probe(ctx.user()), config.timeout)
        .await
    {
        return Err(CheckError::Unreachable {
            target: target.transport.describe(),
            error,
        });
    }
    match &ctx.mirror {
        Some(m) => {
            let reference = m.reference();
            if let Err(error @ TransportError::Connect(_)) = reference
                .transport
                .send(probe(&reference.user), config.timeout)
                .await
            {
                return Err(CheckError::Unreachable {
                    target: m.describe(),
                    error,
                });
            }
        }
        None => ctx.skip(
            Oracle::Differential,
            "every request",
            "no reference implementation (--reference)",
        ),
    }
    let classes = cases::classes();
    let bar = progress_bar(config, "cases", config.cases);
    let sent = match config.replay {
        Some(id) => run_cases(&ctx, &classes, vec![id], None, &bar).await,
        None => {
            let ids = (0..config.cases).map(|index| CaseId {
                seed: config.seed,
                index,
            });
            let until = config.case_time.map(|t| started + t);
            run_cases(&ctx, &classes, ids, until, &bar).await
        }
    };
    let cases_elapsed = started.elapsed();
    bar.finish_and_clear();
    let mut fuzzed = (0, 0.0);
    if config.replay.is_none() {
        if config.probes {
            probes::run_all(&ctx).await;
        }
        if let Some(budget) = config.fuzz_time {
            let fuzz_started = Instant::now();
            fuzzed.0 = fuzz_phase(&ctx, &classes, budget).await;
            fuzzed.1 = fuzz_started.elapsed().as_secs_f64();
        }
    }
    ctx.shrink_findings().await;
    let cleanup = ctx.ledger.clean_up(&ctx, config.keep).await;
    let reference = match &ctx.mirror {
        Some(m) => {
            let collection = &config.profile.routes().collection;
            Some(m.finish(config.keep, config.concurrency, collection).await)
        }
        None => None,
    };
    let sent = (sent, fuzzed.0, fuzzed.1);
    let mut report = ctx.into_report(started.elapsed(), cases_elapsed, sent, cleanup);
    report.reference = reference;
    Ok(report)
}

/// Sends the generated cases `ids`, `concurrency` at a time, until `until` or the target
/// is dead; how many were sent.
async fn run_cases(
    ctx: &Ctx,
    classes: &[Defect],
    ids: impl IntoIterator<Item = CaseId>,
    until: Option<Instant>,
    bar: &indicatif::ProgressBar,
) -> u64 {
    let sent = AtomicU64::new(0);
    futures_util::stream::iter(ids)
        .take_while(|_| {
            let open = !ctx.dead() && until.is_none_or(|u| Instant::now() < u);
            std::future::ready(open)
        })
        .map(|id| {
            let sent = &sent;
            async move {
                match cases::generate(&ctx.config.profile, id, classes, ctx.salt) {
                    Some(case) if !judged(&ctx.config, &case) => {}
                    Some(case) => {
                        let checks = run_case(ctx, &case, id).await;
                        ctx.record_all(checks, Example::case(id, &case));
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    None => ctx.skip(
                        Oracle::Rejection,
                        "POST /me/devices",
                        "a defect class does not apply to the profile",
                    ),
                }
                bar.inc(1);
            }
        })
        .buffer_unordered(ctx.config.concurrency.max(1))
        .collect::<()>()
        .await;
    sent.into_inner()
}

/// Whether any check of `case` is of a selected oracle: its own, server errors, the
/// request-id headers (http) on its answer, and the read-back of a created device.
fn judged(config: &Config, case: &Case) -> bool {
    let round_trip = case.device.is_some() && config.selected(Oracle::RoundTrip);
    let request_ids = config.profile.policies().request_id_header > Level::Off;
    config.selected(case.oracle)
        || config.differential()
        || config.selected(Oracle::ServerErrors)
        || (request_ids && config.selected(Oracle::Http))
        || round_trip
}

/// The fuzz phase: bursts of malformed and mutated cases at volume for `budget`, with a
/// liveness probe after each burst; how many cases were sent.
async fn fuzz_phase(ctx: &Ctx, classes: &[Defect], budget: Duration) -> u64 {
    const BURST: u64 = 256;
    let until = Instant::now() + budget;
    let bar = progress_bar(&ctx.config, "fuzz", 0);
    let mut next = cases::FUZZ_BASE;
    let mut sent = 0;
    let prompt = ctx.config.timeout.min(Duration::from_secs(5));
    while Instant::now() < until && !ctx.dead() {
        let ids = (next..next + BURST).map(|index| CaseId {
            seed: ctx.config.seed,
            index,
        });
        next += BURST;
        sent += run_cases(ctx, classes, ids, Some(until), &bar).await;
        if !ctx.config.selected(Oracle::Liveness) {
            continue;
        }
        let mut rng = crate::generate::Rng::new(ctx.config.seed ^ next);
        let (req, outcome) = probes::live_probe(ctx, &mut rng, prompt).await;
        let endpoint = "POST /me/devices (after a fuzz burst)";
        let c = match outcome {
            probes::Live::Answered => check(Oracle::Liveness, endpoint, &req, Vec::new()),
            probes::Live::Throttled => Check::skipped(Oracle::Liveness, endpoint, &req, THROTTLED),
            probes::Live::Unresponsive(seen) => check(
                Oracle::Liveness,
                endpoint,
                &req,
                vec![Violation::new(
                    Oracle::Liveness,
                    "unresponsive-after-fuzz-burst",
                    format!(
                        "an answer (not a 5xx) to a valid create within {prompt:?} after a fuzz burst"
                    ),
                    seen,
                )],
            ),
        };
        ctx.record_all(vec![c], Example::probe("after a fuzz burst"));
    }
    bar.finish_and_clear();
    sent
}

fn progress_bar(config: &Config, what: &str, len: u64) -> indicatif::ProgressBar {
    if !config.progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len).filter(|n| *n > 0),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let template = if len > 0 {
        format!("check {what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}")
    } else {
        format!("check {what} {{spinner}} {{pos}} cases {{per_sec}} {{elapsed}}")
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// The HTTP request of a generated case, and the route it creates on (as reports name it,
/// `/users/{id}/devices`).
fn case_request(ctx: &Ctx, case: &Case, id: CaseId) -> (Request, &'static str) {
    let user_paths = ctx.profile().routes().user_collection.is_some();
    let (path, route) = match case.headers.path {
        PathKind::OwnUser if user_paths => (
            format!("/users/{}/devices", ctx.user().user_id),
            "/users/{id}/devices",
        ),
        // Without a user collection the caller's own path is the collection.
        PathKind::Me | PathKind::OwnUser => ("/me/devices".to_owned(), "/me/devices"),
        PathKind::OtherUser => {
            let other = match ctx.other() {
                Some(o) => o.user_id.clone(),
                None => id.rng().guid().as_str().to_owned(),
            };
            (format!("/users/{other}/devices"), "/users/{id}/devices")
        }
    };
    let mut req = Request::new(Method::POST, path).body(case.bytes.clone());
    if let Some(ct) = &case.headers.content_type {
        req = req.header("content-type", ct);
    }
    req = match &case.headers.authorization {
        Authorization::Valid { scheme } => {
            req.header("authorization", &format!("{scheme} {}", ctx.user().token))
        }
        Authorization::Missing => req,
        Authorization::Raw(raw) => req.header("authorization", raw),
    };
    if id.index % 4 == 1 {
        let crid = Guid::from_random(u128::from(id.rng().next_u64()));
        req = req.header("client-request-id", crid.as_str());
    }
    req.tag = Some(case.kind.name());
    (req, route)
}

/// Sends one generated case and judges its answer against every answer the case allows.
pub(super) async fn run_case(ctx: &Ctx, case: &Case, id: CaseId) -> Vec<Check> {
    let (req, route) = case_request(ctx, case, id);
    let endpoint = format!("POST {route}");
    let mut checks = Vec::new();
    let Some(resp) = exchange(ctx, &req, &endpoint, &mut checks).await else {
        if throttled(&checks) {
            checks.push(Check::skipped(case.oracle, &endpoint, &req, THROTTLED));
        }
        return checks;
    };
    let mut secrets = ctx.secrets();
    if let Authorization::Raw(raw) = &case.headers.authorization
        && let Some((_, token)) = raw.split_once(' ')
    {
        secrets.push(token.trim());
    }
    let v = oracles::judge(case.oracle, &resp, &case.expected, &secrets);
    let created = resp.status == 201 && v.is_empty();
    checks.push(check(case.oracle, &endpoint, &req, v));
    if created
        && ctx.config.selected(Oracle::RoundTrip)
        && let Some(device) = &case.device
    {
        probes::round_trip(ctx, route, &req, &resp, device, &mut checks).await;
    }
    checks
}

/// Sends `req` and adds the checks every answer gets (server errors, request ids, and in
/// differential mode the reference's answer); the response when there is one worth
/// judging further.
pub(crate) async fn exchange(
    ctx: &Ctx,
    req: &Request,
    endpoint: &str,
    checks: &mut Vec<Check>,
) -> Option<Response> {
    exchange_as(ctx, req, endpoint, checks, Compare::Answers).await
}

/// [`exchange`], saying whether the reference's answer is compared (`SendOnly` for the
/// requests of a race, whose winner is scheduling).
pub(crate) async fn exchange_as(
    ctx: &Ctx,
    req: &Request,
    endpoint: &str,
    checks: &mut Vec<Check>,
    compare: Compare,
) -> Option<Response> {
    let sent = match &ctx.mirror {
        None => ctx.send(req.clone()).await,
        Some(mirror) => {
            let (sent, mirrored) = tokio::join!(ctx.send(req.clone()), mirror.send(ctx, req));
            let got = sent.as_ref().ok();
            if let Some(c) = mirror.judge(req, got, mirrored, endpoint, compare) {
                checks.push(c);
            }
            sent
        }
    };
    match sent {
        Err(TransportError::Throttled(_)) => {
            checks.push(Check::skipped(
                Oracle::ServerErrors,
                endpoint,
                req,
                THROTTLED,
            ));
            None
        }
        Err(e) => {
            checks.push(check(
                Oracle::ServerErrors,
                endpoint,
                req,
                vec![oracles::transport(&e)],
            ));
            None
        }
        Ok(resp) => {
            let fivexx: Vec<Violation> = oracles::server_error(&resp).into_iter().collect();
            let failed = !fivexx.is_empty();
            checks.push(check(Oracle::ServerErrors, endpoint, req, fivexx));
            if failed {
                return None;
            }
            let level = ctx.profile().policies().request_id_header;
            if level > Level::Off {
                let ids = oracles::request_ids(&resp, req.header_value("client-request-id"), level);
                checks.push(check(Oracle::Http, "response headers", req, ids));
            }
            Some(resp)
        }
    }
}

//! Trusted verdicts: no finding on a correct endpoint the suite did not write, throttled
//! or not, and none on the reference server behind a rate limit.
//!
//! The independent implementation (`common::independent`) is written from CONTRACT.md
//! alone on serde_json, and takes the other reading at every point the contract leaves
//! open; a first test proves that it does. `tests/check.rs` catches every broken variant
//! around it as well as around the reference server.
#![cfg(feature = "run")]

mod common;

use std::time::Duration;

use common::independent::{self, Account};
use devices_harness::check::{
    self, Config, Credentials, Oracle, Report, Target, Throttle, Transport,
};
use devices_harness::contract::Level;
use devices_harness::server::{self, AppState, Storage, Store};
use tower::ServiceExt;

fn target(transport: Transport, accounts: &[Account]) -> Target {
    Target {
        transport,
        user: Credentials::new(&accounts[0].token, &accounts[0].id),
        other: Some(Credentials::new(&accounts[1].token, &accounts[1].id)),
        embedded: false,
        spawned: None,
    }
}

fn config(cases: u64) -> Config {
    Config {
        cases,
        seed: 5,
        concurrency: 8,
        timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

fn assert_clean(report: &Report) {
    assert!(report.findings.is_empty(), "{}", report.summary());
    assert!(report.causes.is_empty(), "{}", report.summary());
    assert_eq!(report.ended_early, None, "{}", report.summary());
    assert_eq!(report.throttling.unanswered, 0, "{}", report.summary());
    assert!(report.passes(Level::Warning), "{}", report.summary());
    // Every oracle ran but differential, which needs a --reference.
    for o in &report.oracles {
        if o.oracle == Oracle::Differential && report.reference.is_none() {
            assert_eq!(o.status, "not-run", "{}", report.summary());
            continue;
        }
        assert!(
            o.counts.passed > 0,
            "{} checked nothing:\n{}",
            o.oracle,
            report.summary()
        );
        assert_eq!(
            o.counts.skipped,
            0,
            "{} skipped:\n{}",
            o.oracle,
            report.summary()
        );
    }
}

/// One request to the independent implementation: status, Graph code, body.
async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, String, serde_json::Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = json["error"]["code"].as_str().unwrap_or("").to_owned();
    (status, code, json)
}

/// The seed's example request, with `member` set to the raw JSON `value`.
fn seed_with(member: &str, value: &str) -> String {
    let text = include_str!("data/seed-example-request.json");
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    v[member] = serde_json::from_str(value).unwrap();
    v.to_string()
}

#[tokio::test]
async fn the_independent_implementation_takes_the_other_readings() {
    let accounts = independent::accounts();
    let app = independent::app(&accounts, None);
    let token = &accounts[0].token;
    let valid = seed_with("displayName", "\"x\"");
    let (status, _, _) = call(&app, "POST", "/me/devices", token, &valid).await;
    assert_eq!(status, 201, "the seed example is a valid device");
    // Duplicate members: BadRequest (the reference server says Request_BadRequest).
    let dup = valid.replacen('{', r#"{"displayName":"a","#, 1);
    assert_eq!(
        call(&app, "POST", "/me/devices", token, &dup).await.1,
        "BadRequest"
    );
    // A lone surrogate: Request_BadRequest (the reference server says BadRequest).
    let lone = seed_with("displayName", "\"x\"")
        .replace(r#""displayName":"x""#, r#""displayName":"\ud800""#);
    assert_eq!(
        call(&app, "POST", "/me/devices", token, &lone).await.1,
        "Request_BadRequest"
    );
    // A number too long to read: BadRequest.
    let long = seed_with("deviceVersion", "1").replace(
        r#""deviceVersion":1"#,
        &format!(r#""deviceVersion":{}"#, "9".repeat(400)),
    );
    assert_eq!(
        call(&app, "POST", "/me/devices", token, &long).await.1,
        "BadRequest"
    );
    // A property rule: Request_BadRequest, like everyone.
    let bad = seed_with("deviceVersion", "1.5");
    assert_eq!(
        call(&app, "POST", "/me/devices", token, &bad).await.1,
        "Request_BadRequest"
    );
    // An upper-case client id comes back in lower case, and reads back in any case.
    let upper = "C3E3B22A-B22A-C3E3-2AB2-E3C32AB2E3C4";
    let with_id = seed_with("id", &format!("\"{upper}\""));
    let (status, _, body) = call(&app, "POST", "/me/devices", token, &with_id).await;
    assert_eq!(status, 201);
    assert_eq!(body["id"], upper.to_ascii_lowercase());
    let (status, _, _) = call(&app, "GET", &format!("/me/devices/{upper}"), token, "").await;
    assert_eq!(status, 200);
    // `{}` as an alternativeSecurityId: its members come back as null; annotations go.
    let empty =
        seed_with("alternativeSecurityIds", "[{}]").replacen('{', r#"{"@harness.note":1,"#, 1);
    let (status, _, body) = call(&app, "POST", "/me/devices", token, &empty).await;
    assert_eq!(status, 201);
    assert_eq!(
        body["alternativeSecurityIds"],
        serde_json::json!([{"type": null, "identityProvider": null, "key": null}])
    );
    assert!(body.get("@harness.note").is_none());
    // DELETE on a /users path: 405, as the contract lists DELETE for /me alone.
    let path = format!(
        "/users/{}/devices/{}",
        accounts[0].id,
        upper.to_ascii_lowercase()
    );
    assert_eq!(call(&app, "DELETE", &path, token, "").await.0, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_nothing_on_the_independent_implementation() {
    let accounts = independent::accounts();
    let app = independent::app(&accounts, None);
    let config = Config {
        fuzz_time: Some(Duration::from_secs(3)),
        ..config(800)
    };
    let report = check::run(&target(Transport::service(app), &accounts), &config)
        .await
        .unwrap();
    assert_clean(&report);
    assert!(report.fuzz_cases > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_nothing_on_the_independent_implementation_when_it_throttles() {
    let accounts = independent::accounts();
    // Over HTTP, 100 requests per user and second (well under what the checker sends,
    // even on a loaded machine); Retry-After in seconds and as a date.
    let url = independent::serve(independent::app(&accounts, Some(100))).await;
    let config = Config {
        fuzz_time: Some(Duration::from_secs(2)),
        quick: true,
        ..config(400)
    };
    let report = check::run(
        &target(Transport::http(&url, 8).unwrap(), &accounts),
        &config,
    )
    .await
    .unwrap();
    assert!(
        report.throttling.retried > 0 && report.statuses.get("429").copied().unwrap_or(0) > 0,
        "the target never throttled, so this proves nothing:\n{}",
        report.summary()
    );
    assert_clean(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_nothing_on_the_reference_server_behind_a_rate_limit() {
    let mut limited = server::Config::new("127.0.0.1:0".parse().unwrap());
    limited.rate_limit = Some(100);
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let users = limited.users.clone();
    let router = server::app(AppState::new(&limited, store));
    let accounts: Vec<Account> = users
        .iter()
        .map(|u| Account {
            token: u.token.clone(),
            id: u.id.clone(),
        })
        .collect();
    let report = check::run(
        &target(Transport::service(router), &accounts),
        &Config {
            quick: true,
            ..config(300)
        },
    )
    .await
    .unwrap();
    assert!(report.throttling.retried > 0, "{}", report.summary());
    assert_clean(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_never_stops_throttling_is_reported_once_and_its_checks_skipped() {
    let accounts = independent::accounts();
    let app = independent::app(&accounts, Some(0));
    let config = Config {
        throttle: Throttle {
            retries: 2,
            max_wait: Duration::from_millis(5),
            ..Throttle::default()
        },
        quick: true,
        ..config(100)
    };
    let report = check::run(&target(Transport::service(app), &accounts), &config)
        .await
        .unwrap();
    // Not one contract finding: a 429 is the target's right.
    assert!(report.findings.is_empty(), "{}", report.summary());
    assert!(report.throttling.unanswered > 0);
    let summary = report.summary();
    assert!(summary.contains("unanswered"), "{summary}");
    // What could not be checked is skipped, never passed; the run does not pass.
    let acceptance = report.oracle(check::Oracle::Acceptance).unwrap();
    assert_eq!(acceptance.counts.passed, 0, "{summary}");
    assert!(acceptance.counts.skipped > 0, "{summary}");
    assert!(!report.passes(Level::Error));
    assert!(
        report.junit().contains("<skipped message=\"throttled"),
        "{}",
        report.junit()
    );
}

#[tokio::test]
async fn a_client_side_rate_keeps_under_a_quota() {
    let accounts = independent::accounts();
    // 40 requests per second per user, and the checker paced at 30: never a 429.
    let app = independent::app(&accounts, Some(40));
    let config = Config {
        throttle: Throttle {
            rate: Some(30.0),
            ..Throttle::default()
        },
        quick: true,
        concurrency: 4,
        ..config(40)
    };
    let t = target(Transport::service(app), &accounts);
    let started = std::time::Instant::now();
    let report = check::run(&t, &config).await.unwrap();
    assert_eq!(report.statuses.get("429"), None, "{}", report.summary());
    assert_clean(&report);
    let per_second = report.requests as f64 / started.elapsed().as_secs_f64();
    assert!(per_second <= 31.0, "{per_second} requests/s");
}

/// `run` (check, fuzz over HTTP, load with its read-back) against the independent
/// implementation over a real socket: unthrottled, and throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_finds_nothing_on_the_independent_implementation_throttled_or_not() {
    for rate_limit in [None, Some(150)] {
        let accounts = independent::accounts();
        let url = independent::serve(independent::app(&accounts, rate_limit)).await;
        let out = std::env::temp_dir().join(format!(
            "dh-trusted-run-{}-{}",
            std::process::id(),
            rate_limit.unwrap_or(0)
        ));
        let config = devices_harness::run::RunConfig {
            target: Some((
                url,
                Credentials::new(&accounts[0].token, &accounts[0].id),
                Some(Credentials::new(&accounts[1].token, &accounts[1].id)),
            )),
            profile: devices_harness::Profile::seed().clone(),
            seed: 3,
            budget: Duration::from_secs(10),
            concurrency: 8,
            users: 4,
            thresholds: vec!["error-rate<1%".to_owned(), "p99<2s".to_owned()],
            out: out.clone(),
            progress: false,
            throttle: Throttle::default(),
            spawn: None,
            spawn_wait: Duration::from_secs(30),
            max_restarts: 20,
            phases: devices_harness::run::PhaseName::ALL.to_vec(),
            keep: false,
            reference: None,
            find_max: false,
        };
        let report = devices_harness::run::run(&config).await.unwrap();
        let phases = devices_harness::run::phase_table(&report);
        assert_clean(&report.check);
        assert!(report.passed, "rate limit {rate_limit:?}:\n{phases}");
        if rate_limit.is_some() {
            assert!(report.check.throttling.retried > 0, "{phases}");
        }
        let _ = std::fs::remove_dir_all(out);
    }
}

/// Client ids are salted per run: the same seed run twice against one server sends new
/// ids the second time, so an id taken by the first run is never a false 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_twice_against_one_server_finds_nothing() {
    let accounts = independent::accounts();
    let app = independent::app(&accounts, None);
    for run in 0..2 {
        let report = check::run(
            &target(Transport::service(app.clone()), &accounts),
            &Config {
                quick: true,
                ..config(300)
            },
        )
        .await
        .unwrap();
        assert!(
            report.findings.is_empty(),
            "run {run}:\n{}",
            report.summary()
        );
        // The 409s are the persistence probe's own, each on an id it sent twice.
        assert!(
            report
                .oracle(check::Oracle::Persistence)
                .unwrap()
                .counts
                .failed
                == 0
        );
    }
}

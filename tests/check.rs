//! `check` against the reference server (no false positives), against deliberately broken
//! variants of it (each breaks one rule of a different oracle, and `check` names that
//! oracle), and against hostile targets that are not HTTP servers at all.
#![cfg(all(feature = "check", feature = "server"))]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use devices_harness::check::{self, Config, Credentials, Oracle, Report, Target, Transport};
use devices_harness::contract::Level;
use devices_harness::server::{self, AppState, Storage, Store, User};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn reference() -> (Router, Vec<User>) {
    let config = server::Config::new("127.0.0.1:0".parse().unwrap());
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let users = config.users.clone();
    (server::app(AppState::new(&config, store)), users)
}

fn target(transport: Transport, users: &[User], second: bool) -> Target {
    Target {
        transport,
        user: Credentials::new(&users[0].token, &users[0].id),
        other: second.then(|| Credentials::new(&users[1].token, &users[1].id)),
        embedded: false,
        spawned: None,
    }
}

fn config(cases: u64) -> Config {
    Config {
        cases,
        seed: 11,
        concurrency: 4,
        timeout: Duration::from_secs(2),
        quick: true,
        ..Config::default()
    }
}

fn errors_of(report: &Report, oracle: Oracle) -> usize {
    report
        .findings_of(oracle)
        .filter(|f| f.level == Level::Error)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_passes_every_oracle_in_process() {
    let (router, users) = reference();
    let config = Config {
        quick: false,
        ..config(600)
    };
    // A second instance as the differential reference (its own demo users and ids).
    let (twin, twin_users) = reference();
    let config = Config {
        reference: Some(target(Transport::service(twin), &twin_users, true)),
        ..config
    };
    let report = check::run(&target(Transport::service(router), &users, true), &config)
        .await
        .unwrap();
    assert_eq!(report.errors(), 0, "{}", report.summary());
    assert_eq!(report.warnings(), 0, "{}", report.summary());
    for o in &report.oracles {
        assert!(o.counts.passed > 0, "{} checked nothing", o.oracle);
        assert_eq!(o.counts.skipped, 0, "{} skipped checks", o.oracle);
    }
    // Both create paths and the cross-user list were judged, and the rejection oracle at
    // least once per body defect class (600 cases send every class in turn, some twice).
    let endpoints: std::collections::HashSet<&str> = report
        .oracles
        .iter()
        .flat_map(|o| &o.endpoints)
        .map(|e| e.endpoint.as_str())
        .collect();
    assert!(endpoints.contains("POST /me/devices"));
    assert!(endpoints.contains("POST /users/{id}/devices"));
    assert!(endpoints.contains("other user's list unchanged"));
    let body_classes = devices_harness::generate::malformed::Defect::all()
        .into_iter()
        .filter(|d| d.layer() == devices_harness::generate::malformed::Layer::Body)
        .count();
    let rejection = report.oracle(Oracle::Rejection).unwrap();
    assert!(
        rejection.counts.passed >= body_classes as u64,
        "{} rejections judged, {body_classes} body classes",
        rejection.counts.passed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_second_user_the_cross_user_checks_are_skipped_not_passed() {
    let (router, users) = reference();
    let report = check::run(
        &target(Transport::service(router), &users, false),
        &config(60),
    )
    .await
    .unwrap();
    assert_eq!(report.errors(), 0, "{}", report.summary());
    let authz = report.oracle(Oracle::Authorization).unwrap();
    assert!(authz.counts.skipped >= 5, "{}", report.summary());
    assert!(report.summary().contains("no second user"));
    assert!(report.junit().contains("<skipped message=\"no second user"));
}

/// One rule of one oracle broken on top of the reference server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Break {
    /// acceptance: any non-ASCII byte in a create body is a 400.
    RejectNonAscii,
    /// round-trip: DateTimeOffsets come back without their fraction digits.
    DropFraction,
    /// rejection: 400s carry a plain-text body, not a Graph error.
    PlainTextErrors,
    /// server-errors: a negative number in a body is a 500.
    NegativeNumber500,
    /// authentication: any bearer token is taken as the first user's.
    AnyBearerToken,
    /// authorization: `/users/{anyone}/devices` creates for the caller.
    IgnoreUsersId,
    /// persistence: every third read of a device is a 404 (counted, so that every
    /// burst of reads meets it: random ids made this flaky once in a hundred runs).
    LoseSomeWrites,
    /// http: 405 without `Allow`.
    NoAllowHeader,
    /// liveness: after a deeply nested body, the server stalls for 3 s.
    WedgeAfterDeepNesting,
    /// lifecycle: DELETE of a device answers 204 and deletes nothing.
    DeleteKeepsDevice,
}

struct Broken {
    kind: Break,
    first_token: String,
    first_id: String,
    wedged_until: Mutex<Option<Instant>>,
    reads: std::sync::atomic::AtomicU64,
}

async fn body_bytes(body: Body) -> bytes::Bytes {
    axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default()
}

fn graph_error(status: StatusCode, code: &str) -> Response {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"broken on purpose"}}}}"#);
    (status, [("content-type", "application/json")], body).into_response()
}

async fn breaker(State(b): State<Arc<Broken>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = body_bytes(body).await;
    let post = parts.method == http::Method::POST;
    let wedged = *b.wedged_until.lock().unwrap();
    if let Some(until) = wedged {
        let now = Instant::now();
        if now < until {
            tokio::time::sleep(until - now).await;
        }
    }
    match b.kind {
        Break::RejectNonAscii if post && bytes.iter().any(|&c| c >= 0x80) => {
            return graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest");
        }
        Break::NegativeNumber500 if post && bytes.windows(2).any(|w| w == b":-") => {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Break::AnyBearerToken => {
            let bearer = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| !t.trim().is_empty());
            if bearer {
                let v = HeaderValue::from_str(&format!("Bearer {}", b.first_token)).unwrap();
                parts.headers.insert("authorization", v);
            }
        }
        Break::IgnoreUsersId if post => {
            let path = parts.uri.path().to_owned();
            if path.starts_with("/users/") && !path.contains(&b.first_id) {
                parts.uri = Uri::from_static("/me/devices");
            }
        }
        Break::LoseSomeWrites if parts.method == http::Method::GET => {
            let item = parts.uri.path().matches('/').count() >= 3;
            if item
                && b.reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .is_multiple_of(3)
            {
                return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound");
            }
        }
        Break::DeleteKeepsDevice
            if parts.method == http::Method::DELETE
                && parts.uri.path().starts_with("/me/devices/") =>
        {
            return StatusCode::NO_CONTENT.into_response();
        }
        Break::WedgeAfterDeepNesting if bytes.starts_with(b"[[[[") => {
            *b.wedged_until.lock().unwrap() = Some(Instant::now() + Duration::from_secs(3));
        }
        _ => {}
    }
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    match b.kind {
        Break::PlainTextErrors if response.status() == StatusCode::BAD_REQUEST => (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            "bad request",
        )
            .into_response(),
        Break::NoAllowHeader if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            response.headers_mut().remove("allow");
            response
        }
        Break::DropFraction if response.status().is_success() => {
            let (mut parts, body) = response.into_parts();
            let body = drop_fractions(&body_bytes(body).await);
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(body))
        }
        _ => response,
    }
}

/// `...T12:30:45.123Z` -> `...T12:30:45Z` everywhere in the text.
fn drop_fractions(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let time = text.get(i..i + 10).is_some_and(|w| {
            w[0] == b'T'
                && w[3] == b':'
                && w[6] == b':'
                && w[9] == b'.'
                && [1, 2, 4, 5, 7, 8].iter().all(|&k| w[k].is_ascii_digit())
        });
        if time {
            out.extend_from_slice(&text[i..i + 9]);
            i += 10;
            while text.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// Which correct implementation a breaker wraps.
#[derive(Clone, Copy, Debug)]
enum Around {
    /// The reference server.
    Reference,
    /// `common::independent`: written from CONTRACT.md alone, taking the other reading
    /// wherever the contract leaves a choice.
    Independent,
}

fn implementation(around: Around) -> (Router, Vec<User>) {
    match around {
        Around::Reference => reference(),
        Around::Independent => {
            let accounts = common::independent::accounts();
            let users = accounts
                .iter()
                .map(|a| User {
                    id: a.id.clone(),
                    token: a.token.clone(),
                })
                .collect();
            (common::independent::app(&accounts, None), users)
        }
    }
}

/// The breaker wraps the whole router, so it sees requests before routing.
fn broken(kind: Break) -> (Transport, Vec<User>) {
    broken_around(kind, Around::Reference)
}

fn broken_around(kind: Break, around: Around) -> (Transport, Vec<User>) {
    let (router, users) = implementation(around);
    let state = Arc::new(Broken {
        kind,
        first_token: users[0].token.clone(),
        first_id: users[0].id.clone(),
        wedged_until: Mutex::new(None),
        reads: std::sync::atomic::AtomicU64::new(0),
    });
    let layer = middleware::from_fn_with_state(state, breaker);
    (
        Transport::service(tower::Layer::layer(&layer, router)),
        users,
    )
}

async fn check_broken(kind: Break) -> Report {
    check_broken_around(kind, Around::Reference).await
}

async fn check_broken_around(kind: Break, around: Around) -> Report {
    let (transport, users) = broken_around(kind, around);
    check::run(&target(transport, &users, true), &config(200))
        .await
        .unwrap()
}

macro_rules! broken_servers {
    ($($test:ident: $kind:ident => $oracle:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            for around in [Around::Reference, Around::Independent] {
                let report = check_broken_around(Break::$kind, around).await;
                assert!(
                    errors_of(&report, Oracle::$oracle) > 0,
                    "{:?} around {around:?} not caught by {}:\n{}",
                    Break::$kind,
                    Oracle::$oracle,
                    report.summary()
                );
                assert!(!report.passes(Level::Error));
            }
        }
    )*};
}

broken_servers! {
    rejecting_non_ascii_fails_acceptance: RejectNonAscii => Acceptance;
    dropping_fraction_digits_fails_round_trip: DropFraction => RoundTrip;
    plain_text_errors_fail_rejection: PlainTextErrors => Rejection;
    a_500_on_negative_numbers_fails_server_errors: NegativeNumber500 => ServerErrors;
    taking_any_token_fails_authentication: AnyBearerToken => Authentication;
    ignoring_the_users_id_fails_authorization: IgnoreUsersId => Authorization;
    losing_writes_fails_persistence: LoseSomeWrites => Persistence;
    a_405_without_allow_fails_http: NoAllowHeader => Http;
    stalling_after_deep_nesting_fails_liveness: WedgeAfterDeepNesting => Liveness;
    keeping_deleted_devices_fails_lifecycle: DeleteKeepsDevice => Lifecycle;
}

/// Differential mode, `target` against `reference` (both in process, each with its own
/// users), only the oracles given.
async fn compare(
    (target_transport, target_users): (Transport, Vec<User>),
    (reference_transport, reference_users): (Transport, Vec<User>),
    oracles: &[Oracle],
) -> Report {
    let config = Config {
        oracles: oracles.to_vec(),
        reference: Some(target(reference_transport, &reference_users, true)),
        ..config(200)
    };
    check::run(&target(target_transport, &target_users, true), &config)
        .await
        .unwrap()
}

fn in_process((router, users): (Router, Vec<User>)) -> (Transport, Vec<User>) {
    (Transport::service(router), users)
}

/// Two instances of one correct implementation (ours, and the independent one with its
/// counter-assigned ids) agree on every request, probes included, with every oracle on;
/// the devices made on both are cleaned up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_mode_finds_no_disagreement_between_two_instances() {
    for around in [Around::Reference, Around::Independent] {
        let report = compare(
            in_process(implementation(around)),
            in_process(implementation(around)),
            &Oracle::ALL,
        )
        .await;
        let d = report.oracle(Oracle::Differential).unwrap();
        assert!(d.counts.passed > 300, "{around:?}: {}", report.summary());
        assert_eq!(d.counts.failed, 0, "{around:?}: {}", report.summary());
        assert_eq!(errors_of(&report, Oracle::Differential), 0);
        // Probes were mirrored too (lifecycle's among them).
        assert!(
            d.endpoints
                .iter()
                .any(|e| e.endpoint.contains("(after DELETE)")),
            "{:?}",
            d.endpoints
        );
        let r = report.reference.as_ref().unwrap();
        assert!(r.requests > 500 && r.unanswered == 0, "{r:?}");
        assert!(
            r.cleanup.created > 100 && r.cleanup.left.is_empty(),
            "{r:?}"
        );
        assert_eq!(
            r.cleanup.deleted + r.cleanup.gone,
            r.cleanup.created,
            "{r:?}"
        );
    }
}

/// A planted difference is found by the differential oracle alone (no contract oracle
/// selected), on ours and on the independent implementation, shrunk like any finding,
/// with a replay line that names the reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_mode_alone_finds_a_planted_difference_and_shrinks_it() {
    for around in [Around::Reference, Around::Independent] {
        for (kind, rule) in [
            (Break::DropFraction, "body"),
            (Break::RejectNonAscii, "status"),
        ] {
            let report = compare(
                broken_around(kind, around),
                in_process(implementation(around)),
                &[Oracle::Differential],
            )
            .await;
            let f = report
                .findings
                .iter()
                .find(|f| f.rule == rule && f.case.is_some())
                .unwrap_or_else(|| panic!("{kind:?} around {around:?}:\n{}", report.summary()));
            assert!(
                report
                    .findings
                    .iter()
                    .all(|f| f.oracle == Oracle::Differential),
                "{}",
                report.summary()
            );
            assert!(f.expected.starts_with("as the reference: "), "{f:?}");
            assert!(f.shrink.as_ref().is_some_and(|s| s.steps > 0), "{f:?}");
            let replay = f.reproduce.replay.as_deref().unwrap_or_default();
            assert!(replay.contains("--reference"), "{replay}");
            if kind == Break::RejectNonAscii {
                assert!(
                    f.seen.starts_with("400") && f.expected.contains("201"),
                    "{f:?}"
                );
                // Shrunk as the acceptance finding is (see below): still non-ASCII.
                let body = f.reproduce.body.as_deref().unwrap_or_default();
                assert!(!body.is_ascii() && body.len() < 1000, "{body}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_case_is_shrunk_reproduced_and_replayed() {
    let report = check_broken(Break::RejectNonAscii).await;
    let finding = report
        .findings_of(Oracle::Acceptance)
        .find(|f| f.case.is_some())
        .expect("an acceptance finding from a generated case");
    eprintln!("{}", report.summary());
    let shrink = finding.shrink.as_ref().expect("shrunk");
    assert!(shrink.steps > 0, "{finding:#?}");
    let body = finding.reproduce.body.as_deref().expect("a UTF-8 body");
    assert!(
        !body.is_ascii(),
        "the shrunk body still breaks the rule: {body}"
    );
    // The simplest device: nulls and empty collections, and the one non-ASCII character.
    assert!(body.len() < 1000, "{} bytes: {body}", body.len());
    assert!(finding.reproduce.curl.contains("--data-binary @-"));
    assert!(finding.reproduce.curl.contains("$TOKEN"));
    assert!(!finding.reproduce.curl.contains(&reference().1[0].token));
    // --replay runs exactly that case, and finds it again.
    let (transport, users) = broken(Break::RejectNonAscii);
    let replay = Config {
        replay: finding.case,
        ..config(200)
    };
    let again = check::run(&target(transport, &users, true), &replay)
        .await
        .unwrap();
    assert_eq!(again.cases, 1);
    assert!(
        errors_of(&again, Oracle::Acceptance) > 0,
        "{}",
        again.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_report_follows_its_schema_and_junit_names_each_oracle() {
    let report = check_broken(Break::LoseSomeWrites).await;
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/check-report.schema.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let errors = common::schema::errors(&schema, &json);
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!report.findings.is_empty());
    // A report with a finding not in the schema's shape is caught.
    let mut bad = json.clone();
    bad["findings"][0]["level"] = "fatal".into();
    assert!(!common::schema::errors(&schema, &bad).is_empty());
    let junit = report.junit();
    for oracle in Oracle::ALL {
        assert!(junit.contains(&format!("<testsuite name=\"{oracle}\"")));
    }
    assert!(junit.contains("<failure message="));
}

/// SARIF 2.1.0: valid under the OASIS schema; one result per finding, its rule
/// `ORACLE/RULE` declared once by the driver, its request as URL and webRequest, its body
/// attached as an artifact holding the reproducer's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sarif_log_validates_against_the_oasis_schema() {
    let mut report = check_broken(Break::DropFraction).await;
    report
        .findings
        .extend(check_broken(Break::PlainTextErrors).await.findings);
    assert!(report.findings.len() >= 2, "{}", report.summary());
    let sarif: serde_json::Value = serde_json::from_str(&report.sarif()).unwrap();
    assert_eq!(common::schema::sarif_errors(&sarif), Vec::<String>::new());
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for (r, f) in results.iter().zip(&report.findings) {
        let id = format!("{}/{}", f.oracle, f.rule);
        assert_eq!(r["ruleId"], id.as_str());
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            id.as_str()
        );
        assert_eq!(
            r["level"],
            if f.level == Level::Error {
                "error"
            } else {
                "warning"
            }
        );
        assert_eq!(r["webRequest"]["method"], f.reproduce.method.as_str());
        assert!(r["message"]["text"].as_str().unwrap().contains(&f.expected));
        if let Some(body) = &f.reproduce.body {
            let i = r["attachments"][0]["artifactLocation"]["index"]
                .as_u64()
                .unwrap();
            assert_eq!(
                run["artifacts"][i as usize]["contents"]["text"],
                body.as_str()
            );
        }
    }
    let distinct: std::collections::HashSet<&str> =
        rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(distinct.len(), rules.len(), "a rule declared twice");
    for oracle in ["round-trip/", "rejection/"] {
        assert!(
            results.iter().any(|r| r["ruleId"]
                .as_str()
                .is_some_and(|id| id.starts_with(oracle))),
            "no {oracle} result"
        );
    }
    // The validator is not a formality: a result without a message, or a `$schema` that
    // is not a URI, breaks the schema (draft 4 knows the `uri` format, not
    // `uri-reference`, so our own locations are percent-encoded to be safe).
    let mut bad = sarif.clone();
    bad["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!common::schema::sarif_errors(&bad).is_empty());
    let mut bad = sarif.clone();
    bad["$schema"] = "http://a b/".into();
    assert!(!common::schema::sarif_errors(&bad).is_empty());
}

/// A loopback "server" that answers every connection with `answer`.
async fn hostile(answer: &'static [u8], stall: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                if stall {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                let _ = s.write_all(answer).await;
                if answer.ends_with(b"chunked\r\n\r\n") {
                    // An endless body.
                    let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
                    while s.write_all(chunk.as_bytes()).await.is_ok() {}
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_targets_are_findings_never_hangs() {
    let cases: [(&str, &'static [u8], bool); 5] = [
        ("garbage", b"SSH-2.0-OpenSSH\r\n\r\n", false),
        ("closed", b"", false),
        ("stalled", b"", true),
        ("endless body", b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n", false),
        ("wrong content type", b"HTTP/1.1 201 Created\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\n<html", false),
    ];
    for (name, answer, stall) in cases {
        let url = hostile(answer, stall).await;
        let config = Config {
            timeout: Duration::from_millis(500),
            ..config(100)
        };
        let users = User::demo(3);
        let t = target(Transport::http(&url, 4).unwrap(), &users, true);
        let started = Instant::now();
        // A guard against a hang, far above what the run needs.
        let report = tokio::time::timeout(Duration::from_secs(60), check::run(&t, &config))
            .await
            .unwrap_or_else(|_| panic!("{name}: check hung"))
            .unwrap();
        assert!(!report.passes(Level::Error), "{name}: {}", report.summary());
        let broken = errors_of(&report, Oracle::ServerErrors)
            + errors_of(&report, Oracle::Acceptance)
            + errors_of(&report, Oracle::RoundTrip);
        assert!(broken > 0, "{name}: {}", report.summary());
        eprintln!(
            "{name}: {:?}, {} findings",
            started.elapsed(),
            report.findings.len()
        );
    }
}

#[tokio::test]
async fn an_unreachable_target_is_an_error_not_a_report() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let users = User::demo(3);
    let t = target(Transport::http(&url, 1).unwrap(), &users, false);
    let err = check::run(&t, &config(10)).await.unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
}

/// A Graph-v1.0-like target: four required properties, unknown members kept, client ids
/// replaced by the server's own, no request-id header checks.
const RELAXED: &str = r#"
name = "relaxed"
required = ["accountEnabled", "displayName", "operatingSystem", "operatingSystemVersion"]

[policies]
unknown_properties = "accept"
client_id = "ignore"
offset_preservation = "same-instant"
request_id_header = "off"
"#;

fn server_with(profile: &devices_harness::Profile) -> (Router, Vec<User>) {
    let mut config = server::Config::new("127.0.0.1:0".parse().unwrap());
    config.profile = profile.clone();
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let users = config.users.clone();
    (server::app(AppState::new(&config, store)), users)
}

/// The built-in Graph profiles fit the checker to a target that differs from the seed in
/// its table, policies and routes: the reference server serving each passes with zero
/// findings (authorization not run: the devices are tenant-wide), and the same server
/// fails the seed's contract (its paths are not there). A profile of one's own with
/// other per-user routes runs every oracle, authorization included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_graph_profiles_fit_the_checker_to_a_graph_like_target() {
    for name in ["graph-v1", "graph-beta"] {
        let profile = devices_harness::Profile::built_in(name).unwrap();
        let (router, users) = server_with(profile);
        let fitted = Config {
            profile: profile.clone(),
            ..config(400)
        };
        let report = check::run(&target(Transport::service(router), &users, true), &fitted)
            .await
            .unwrap();
        assert_eq!(
            report.errors() + report.warnings(),
            0,
            "{}",
            report.summary()
        );
        assert_eq!(report.profile, name);
        let authz = report.oracle(Oracle::Authorization).unwrap();
        assert_eq!(authz.status, "not-run");
        assert!(authz.reason.as_deref().unwrap().contains("tenant-wide"));
        assert!(report.oracle(Oracle::RoundTrip).unwrap().counts.passed > 100);
        // The seed's contract on the same server: /me/devices is not there.
        let (router, users) = server_with(profile);
        let report = check::run(
            &target(Transport::service(router), &users, true),
            &config(100),
        )
        .await
        .unwrap();
        assert!(
            report
                .findings_of(Oracle::Acceptance)
                .any(|f| f.seen.starts_with("404")),
            "{}",
            report.summary()
        );
    }
    let own = devices_harness::Profile::from_toml(
        "[routes]\ncollection = \"/tenants/t1/devices\"\nuser_collection = \"/tenants/t1/people/{userId}/devices\"\n",
    )
    .unwrap();
    let (router, users) = server_with(&own);
    let report = check::run(
        &target(Transport::service(router), &users, true),
        &Config {
            profile: own,
            ..config(300)
        },
    )
    .await
    .unwrap();
    assert_eq!(report.errors(), 0, "{}", report.summary());
    for o in report
        .oracles
        .iter()
        .filter(|o| o.oracle != Oracle::Differential)
    {
        assert_eq!(o.status, "ran", "{}", report.summary());
    }
    let endpoints: Vec<&str> = report
        .oracles
        .iter()
        .flat_map(|o| &o.endpoints)
        .map(|e| e.endpoint.as_str())
        .collect();
    assert!(
        endpoints.contains(&"POST /tenants/t1/people/{id}/devices"),
        "{endpoints:?}"
    );
    assert!(
        endpoints.contains(&"GET /tenants/t1/people/{other}/devices/{id}"),
        "{endpoints:?}"
    );
}

/// Refuses (400) any create that gives a read-only property of graph-v1, counting them.
async fn refuse_read_only(
    State(refused): State<Arc<std::sync::atomic::AtomicU64>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = body_bytes(body).await;
    let profile = devices_harness::Profile::built_in("graph-v1").unwrap();
    let sets_read_only = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .is_some_and(|members| {
            profile
                .properties()
                .iter()
                .any(|d| d.read_only && !d.key && members.contains_key(&d.name))
        });
    if parts.method == http::Method::POST && sets_read_only {
        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A whole answer: a Graph error with its request ids.
        let mut r = graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest");
        let id = HeaderValue::from_static("7d6b1a2e-0d32-4d5b-9f0e-4b8f2a9c1d01");
        let crid = parts
            .headers
            .get("client-request-id")
            .unwrap_or(&id)
            .clone();
        r.headers_mut().insert("request-id", id);
        r.headers_mut().insert("client-request-id", crid);
        return r;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Read-only properties, where the contract is silent: a graph-v1 target that refuses
/// them in a create passes, as the reference server (which ignores them) does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_refusing_read_only_properties_passes_the_graph_profile() {
    let profile = devices_harness::Profile::built_in("graph-v1").unwrap();
    let (router, users) = server_with(profile);
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let layer = middleware::from_fn_with_state(refused.clone(), refuse_read_only);
    let transport = Transport::service(tower::Layer::layer(&layer, router));
    let config = Config {
        profile: profile.clone(),
        fuzz_time: Some(Duration::from_secs(2)),
        ..config(600)
    };
    let report = check::run(&target(transport, &users, true), &config)
        .await
        .unwrap();
    assert_eq!(
        report.errors() + report.warnings(),
        0,
        "{}",
        report.summary()
    );
    // Not a formality: mutated bodies did carry read-only members, and were refused.
    assert!(refused.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_file_relaxes_the_checker_and_lowers_severities() {
    let relaxed = devices_harness::Profile::from_toml(RELAXED).unwrap();
    // Checked with its own profile, the relaxed server passes.
    let (router, users) = server_with(&relaxed);
    let fitted = Config {
        profile: relaxed.clone(),
        ..config(400)
    };
    let report = check::run(&target(Transport::service(router), &users, true), &fitted)
        .await
        .unwrap();
    assert_eq!(report.errors(), 0, "{}", report.summary());
    assert_eq!(report.profile, "relaxed");
    // Checked against the seed contract, the same server is wrong: it accepts devices
    // with required properties missing and with unknown members.
    let (router, users) = server_with(&relaxed);
    let report = check::run(
        &target(Transport::service(router), &users, true),
        &config(400),
    )
    .await
    .unwrap();
    let accepted: Vec<&str> = report
        .findings_of(Oracle::Rejection)
        .filter(|f| f.rule == "accepted")
        .map(|f| f.class.as_str())
        .collect();
    assert!(
        accepted.contains(&"missing-required"),
        "{}",
        report.summary()
    );
    assert!(
        accepted.contains(&"unknown-property"),
        "{}",
        report.summary()
    );
    // And a profile can lower an oracle to a warning: the run then passes at --fail-on error.
    let lenient = devices_harness::Profile::from_toml(
        "[policies.severity]\nrejection = \"warning\"\nround-trip = \"warning\"\npersistence = \"warning\"\n",
    )
    .unwrap();
    let (router, users) = server_with(&relaxed);
    let report = check::run(
        &target(Transport::service(router), &users, true),
        &Config {
            profile: lenient,
            ..config(400)
        },
    )
    .await
    .unwrap();
    assert!(report.warnings() > 0, "{}", report.summary());
    assert!(report.passes(Level::Error), "{}", report.summary());
    assert!(!report.passes(Level::Warning));
}

/// `--oracles`: only the selected oracles send and count anything; the others are
/// reported as not selected. A server that breaks rejection passes a run that selects
/// authorization alone, and fails the same run with rejection selected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_oracles_alone_run_and_the_others_are_reported_not_selected() {
    let only = |oracles: &[Oracle]| Config {
        oracles: oracles.to_vec(),
        ..config(200)
    };
    let (transport, users) = broken(Break::PlainTextErrors);
    let target = target(transport, &users, true);
    let authorization = check::run(&target, &only(&[Oracle::Authorization]))
        .await
        .unwrap();
    assert!(
        authorization.passes(Level::Error),
        "{}",
        authorization.summary()
    );
    for o in &authorization.oracles {
        let expected = if o.oracle == Oracle::Authorization {
            "ran"
        } else {
            "not-selected"
        };
        assert_eq!(o.status, expected, "{}", authorization.summary());
        if o.oracle != Oracle::Authorization {
            assert_eq!(o.counts.passed + o.counts.failed + o.counts.skipped, 0);
        }
    }
    assert!(authorization.summary().contains("NOT SELECTED"));
    let everything = check::run(&target, &config(200)).await.unwrap();
    // Only the other-user-path cases and the authorization probe were sent.
    assert!(
        authorization.requests * 4 < everything.requests,
        "{} requests selected, {} in all",
        authorization.requests,
        everything.requests
    );
    let rejection = check::run(&target, &only(&[Oracle::Rejection]))
        .await
        .unwrap();
    assert!(
        errors_of(&rejection, Oracle::Rejection) > 0,
        "{}",
        rejection.summary()
    );
    assert!(
        rejection
            .findings
            .iter()
            .all(|f| f.oracle == Oracle::Rejection)
    );
}

/// The ids in `who`'s list (first page of up to 999).
async fn listed(transport: &Transport, who: &User) -> usize {
    let req = check::Request::new(http::Method::GET, "/me/devices?$top=999")
        .header("authorization", &format!("Bearer {}", who.token));
    let r = transport.send(req, Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    body["value"].as_array().unwrap().len()
}

/// Clean-up: a run deletes every device it created, for both users, and says so; with
/// `--keep` it leaves them and says so too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_deletes_what_it_created_unless_kept() {
    let (router, users) = reference();
    let transport = Transport::service(router);
    let report = check::run(&target(transport.clone(), &users, true), &config(200))
        .await
        .unwrap();
    let c = &report.cleanup;
    assert!(c.created > 100, "{c:?}");
    assert!(c.left.is_empty() && c.reason.is_none(), "{c:?}");
    assert_eq!(c.deleted + c.gone, c.created, "{c:?}");
    assert!(report.summary().contains("0 left"), "{}", report.summary());
    assert_eq!(listed(&transport, &users[0]).await, 0);
    assert_eq!(listed(&transport, &users[1]).await, 0);

    let kept = Config {
        keep: true,
        ..config(200)
    };
    let report = check::run(&target(transport.clone(), &users, true), &kept)
        .await
        .unwrap();
    let c = &report.cleanup;
    assert_eq!(c.left.len() as u64 + c.deleted, c.created, "{c:?}");
    assert_eq!(c.reason.as_deref(), Some("--keep"));
    let left = listed(&transport, &users[0]).await + listed(&transport, &users[1]).await;
    assert_eq!(left, c.left.len(), "{c:?}");
}

//! `load`: short goose runs against the reference server on loopback, asserting on goose's
//! metrics and the integrity pass; a server that loses writes, a stalled target, a failing
//! threshold; and two worker processes merged. goose keeps process-wide state, so the
//! in-process runs take a lock and run one at a time.
#![cfg(feature = "cli")]

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use devices_harness::check::Credentials;
use devices_harness::load::{self, Client, Integrity, Options, Outcome, Weights};
use devices_harness::server::{self, AppState, Ephemeral, Storage, Store, User};
use goose::config::GooseConfiguration;
use tokio::net::TcpListener;

static GOOSE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn goose(host: &str, users: usize, seconds: u64) -> GooseConfiguration {
    let mut c = GooseConfiguration::default();
    c.host = Some(host.to_owned());
    c.users = Some(users);
    c.increase_rate = Some(users.to_string());
    c.run_time = Some(seconds.to_string());
    c.quiet = 1;
    c.no_print_metrics = true;
    c.timeout = Some("2".to_owned());
    c
}

fn options(users: &[User]) -> Options {
    Options {
        users: users
            .iter()
            .map(|u| Credentials::new(&u.token, &u.id))
            .collect(),
        weights: Weights::from_ratios(0.3, 0.1).unwrap(),
        ..Options::default()
    }
}

async fn attack(host: &str, users: &[User], seconds: u64, thresholds: &[&str]) -> Outcome {
    let mut config = goose(host, 2, seconds);
    config.threshold = thresholds.iter().map(|t| t.to_string()).collect();
    config.no_threshold_abort = true;
    load::run(config, &options(users), Duration::from_secs(20))
        .await
        .unwrap()
}

fn status_codes(o: &Outcome, name_part: &str) -> Vec<u16> {
    o.metrics
        .requests
        .iter()
        .filter(|(k, _)| k.contains(name_part))
        .flat_map(|(_, a)| a.status_code_counts.keys().copied())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_on_the_reference_server_is_clean_with_either_client() {
    let _one = GOOSE.lock().await;
    for client in [Client::Auto, Client::Goose] {
        let server = Ephemeral::start(devices_harness::Profile::seed().clone())
            .await
            .unwrap();
        let users = server.users().to_vec();
        let mut opts = options(&users);
        opts.client = client;
        let mut config = goose(&server.running.url(), 2, 3);
        config.no_threshold_abort = true;
        let o = load::run(config, &opts, Duration::from_secs(20))
            .await
            .unwrap();
        // Clean-up: every device the load created is deleted, and both lists are empty.
        let c = &o.report.cleanup;
        assert_eq!(c.created, o.integrity.created, "{c:?}");
        assert!(c.left.is_empty() && c.reason.is_none(), "{c:?}");
        assert_eq!(c.deleted + c.gone, c.created, "{c:?}");
        let transport = devices_harness::target::Transport::http(&server.running.url(), 1).unwrap();
        for u in &users {
            let req = devices_harness::target::Request::new(http::Method::GET, "/me/devices")
                .header("authorization", &format!("Bearer {}", u.token));
            let r = transport.send(req, Duration::from_secs(5)).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["value"], serde_json::json!([]), "{client:?}: {body}");
        }
        server.stop().await;
        let names: Vec<&String> = o.metrics.requests.keys().collect();
        for expected in [
            "POST /me/devices",
            "POST /users/{id}/devices",
            "POST /me/devices (malformed)",
            "GET /me/devices/{id}",
        ] {
            assert!(
                names.iter().any(|n| *n == expected),
                "{client:?}: {expected} not in {names:?}"
            );
        }
        let all = status_codes(&o, "");
        assert!(
            all.iter().all(|s| (200..500).contains(s)),
            "{client:?}: {all:?}"
        );
        let malformed = status_codes(&o, "(malformed)");
        assert!(!malformed.is_empty());
        assert!(
            malformed.iter().all(|s| (400..500).contains(s)),
            "{malformed:?}"
        );
        for (name, a) in &o.metrics.requests {
            assert_eq!(
                a.fail_count, 0,
                "{client:?}: {name} failed: {:?}",
                a.status_code_counts
            );
        }
        assert!(o.integrity.clean(), "{:?}", o.integrity);
        assert!(o.integrity.created > 0);
        assert_eq!(o.integrity.checked, o.integrity.created);
        assert!(o.passed());
        assert!(
            o.report
                .generation_share()
                .is_some_and(|s| s > 0.0 && s < 1.0)
        );
        let seconds = o.timeline.iter().filter(|s| s.requests > 0).count();
        assert!(seconds >= 2, "{client:?}: a timeline of {seconds} seconds");
    }
}

/// A quarter of the reads of a device come back 404: lost writes.
async fn lose_some(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() == http::Method::GET
        && path.matches('/').count() >= 3
        && path.ends_with(['0', '1', '2', '3'])
    {
        return http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_writes_fail_the_run_however_fast_it_was() {
    let _one = GOOSE.lock().await;
    let config = server::Config::new("127.0.0.1:0".parse().unwrap());
    let users = config.users.clone();
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let app = server::app(AppState::new(&config, store)).layer(middleware::from_fn(lose_some));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = goose(&url, 2, 2);
    config.no_threshold_abort = true;
    let mut opts = options(&users);
    opts.weights = Weights::from_ratios(0.0, 0.0).unwrap();
    opts.integrity = Integrity::Sample(200);
    let o = load::run(config, &opts, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(o.integrity.lost > 0, "{:?}", o.integrity);
    assert_eq!(o.integrity.checked, 200.min(o.integrity.created));
    assert!(!o.passed());
    assert!(o.report.summary().contains("FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_threshold_fails_the_run() {
    let _one = GOOSE.lock().await;
    let server = Ephemeral::start(devices_harness::Profile::seed().clone())
        .await
        .unwrap();
    let users = server.users().to_vec();
    let o = attack(
        &server.running.url(),
        &users,
        2,
        &["rps>=10000000", "p99<60s"],
    )
    .await;
    server.stop().await;
    assert_eq!(o.failed_thresholds.len(), 1, "{:?}", o.failed_thresholds);
    assert!(o.failed_thresholds[0].contains("rps"));
    // The latency rule is judged on the HDR histogram, not on goose's buckets.
    let p99 = o.report.thresholds[1].value.unwrap();
    assert_eq!(p99, o.report.totals.quantile_us(0.99) as f64 / 1000.0);
    assert!(o.report.thresholds[1].passed);
    assert!(o.integrity.clean());
    assert!(!o.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_garbage_target_ends_at_run_time_with_errors() {
    let _one = GOOSE.lock().await;
    for garbage in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    if garbage {
                        let _ = s.write_all(b"NOT HTTP AT ALL\r\n\r\n").await;
                    } else {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                    }
                });
            }
        });
        let users = User::demo(9);
        let started = Instant::now();
        let o = attack(&url, &users, 2, &[]).await;
        let took = started.elapsed();
        // Run time 2 s, request timeout 2 s, then the integrity pass has nothing to read.
        assert!(took < Duration::from_secs(15), "took {took:?}");
        let failed: usize = o.metrics.requests.values().map(|a| a.fail_count).sum();
        assert!(failed > 0, "garbage {garbage}: no failures recorded");
        assert_eq!(o.integrity.created, 0);
    }
}

#[test]
fn two_workers_merge_into_one_honest_report() {
    let bin = env!("CARGO_BIN_EXE_devices-harness");
    let scratch = tempfile::Builder::new()
        .prefix("dh-load-merge-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();
    // One target for both workers: the reference server as its own process.
    let users_file = dir.join("users.json");
    let users = User::demo(21);
    let json: Vec<serde_json::Value> = users
        .iter()
        .map(|u| serde_json::json!({"id": u.id, "token": u.token}))
        .collect();
    std::fs::write(&users_file, serde_json::to_string(&json).unwrap()).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    /// The server process, killed however the test ends.
    struct Serve(std::process::Child);
    impl Drop for Serve {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let serve = Serve(
        std::process::Command::new(bin)
            .args(["serve", "--memory", "--addr", &addr, "--users"])
            .arg(&users_file)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let report = dir.join(format!("worker-{i}.json"));
            let child = std::process::Command::new(bin)
                .args(["load", "--target", &url, "--users-file"])
                .arg(&users_file)
                .args(["--worker-count", "2", "--worker-index", &i.to_string()])
                .args([
                    "--users",
                    "2",
                    "--run-time",
                    "2",
                    "--quiet",
                    "--no-print-metrics",
                    "--threshold",
                    "p99<60s",
                    "--no-threshold-abort",
                ])
                .arg("--json")
                .arg(&report)
                .output()
                .unwrap();
            (report, child)
        })
        .collect();
    // `load merge` of two reports (into `json`, when given).
    let merge = |a: &std::path::Path, b: &std::path::Path, json: Option<&std::path::Path>| {
        let mut merge = std::process::Command::new(bin);
        merge.args(["load", "merge"]).arg(a).arg(b);
        if let Some(json) = json {
            merge.arg("--json").arg(json);
        }
        merge.output().unwrap()
    };
    let ok = |o: &std::process::Output| {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    };
    let merged = dir.join("merged.json");
    let out = merge(&workers[0].0, &workers[1].0, Some(&merged));
    for (_, w) in &workers {
        ok(w);
    }
    ok(&out);
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (a, b, m) = (read(&workers[0].0), read(&workers[1].0), read(&merged));
    let n = |v: &serde_json::Value, k: &str| v["totals"][k].as_u64().unwrap();
    assert_eq!(n(&m, "count"), n(&a, "count") + n(&b, "count"));
    assert_eq!(n(&m, "fail"), 0);
    assert_eq!(m["workers"], serde_json::json!([0, 1]));
    let hist_total = |v: &serde_json::Value| -> u64 {
        v["totals"]["histogram_us"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c.as_u64().unwrap())
            .sum()
    };
    assert_eq!(hist_total(&m), hist_total(&a) + hist_total(&b));
    let created = |v: &serde_json::Value| v["integrity"]["created"].as_u64().unwrap();
    assert_eq!(created(&m), created(&a) + created(&b));
    let deleted = |v: &serde_json::Value| v["cleanup"]["deleted"].as_u64().unwrap();
    assert_eq!(deleted(&m), deleted(&a) + deleted(&b));
    assert_eq!(m["cleanup"]["created"].as_u64(), Some(created(&m)));
    // Both workers created devices (each with its own share of the users).
    assert!(created(&a) > 0 && created(&b) > 0);
    // The threshold judged again on the merged histogram.
    let p99_ms = {
        let h = m["totals"]["histogram_us"].as_object().unwrap();
        let total = hist_total(&m);
        let rank = (0.99 * total as f64 - 1e-7).ceil() as u64;
        let mut seen = 0;
        let mut times: Vec<(u64, u64)> = h
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
            .collect();
        times.sort_unstable();
        times
            .into_iter()
            .find(|(_, n)| {
                seen += n;
                seen >= rank
            })
            .unwrap()
            .0 as f64
            / 1000.0
    };
    assert_eq!(m["thresholds"][0]["rule"], "p99<60s");
    assert_eq!(m["thresholds"][0]["passed"], true);
    assert_eq!(m["thresholds"][0]["value"].as_f64(), Some(p99_ms));
    // Merging a worker with itself is refused.
    let twice = merge(&workers[0].0, &workers[0].0, None);
    assert_eq!(twice.status.code(), Some(2));

    // Two open-model workers side by side, merged the same way.
    let open: Vec<_> = (0..2)
        .map(|i| {
            let report = dir.join(format!("open-{i}.json"));
            let child = std::process::Command::new(bin)
                .args(["load", "--target", &url, "--users-file"])
                .arg(&users_file)
                .args(["--worker-count", "2", "--worker-index", &i.to_string()])
                .args([
                    "--rate",
                    "100",
                    "--run-time",
                    "2s",
                    "--threshold",
                    "p99<60s",
                ])
                .arg("--json")
                .arg(&report)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (report, child)
        })
        .collect();
    let open: Vec<_> = open
        .into_iter()
        .map(|(report, child)| (report, child.wait_with_output().unwrap()))
        .collect();
    let merged_open = dir.join("merged-open.json");
    let out = merge(&open[0].0, &open[1].0, Some(&merged_open));
    let mixed = merge(&open[0].0, &workers[1].0, None);
    drop(serve);
    for (_, w) in &open {
        ok(w);
    }
    ok(&out);
    assert_eq!(
        mixed.status.code(),
        Some(2),
        "goose and open reports do not mix"
    );
    let (a, b, m) = (read(&open[0].0), read(&open[1].0), read(&merged_open));
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!((n(&a, "scheduled"), n(&b, "scheduled")), (200, 200));
    assert_eq!(n(&m, "scheduled"), 400);
    assert_eq!(n(&m, "sent"), n(&a, "sent") + n(&b, "sent"));
    assert_eq!(m["workers"], serde_json::json!([0, 1]));
    let all = |v: &serde_json::Value, k: &str| v["requests"]["all"][k].as_u64().unwrap();
    assert_eq!(all(&m, "count"), all(&a, "count") + all(&b, "count"));
    assert_eq!(m["thresholds"][0]["passed"], true);
    assert_eq!(
        m["thresholds"][0]["value"].as_f64(),
        m["requests"]["all"]["latency_ms"]["p99"].as_f64()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("load (open model)"));
}

#[test]
fn the_kubernetes_workers_arguments_are_ones_load_takes() {
    use clap::Parser;
    let manifest = include_str!("../loadtests/k8s/load-job.yaml");
    let args: Vec<String> = manifest
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "args:")
        .skip(1)
        .take_while(|l| l.starts_with("- "))
        .map(|l| {
            l.trim_start_matches("- ")
                .replace("$(TARGET)", "https://devices.example.internal")
                .replace("$(JOB_COMPLETION_INDEX)", "3")
        })
        .collect();
    assert!(args.len() > 10, "{args:?}");
    let cli = devices_harness::cli::Cli::try_parse_from(
        std::iter::once("devices-harness".to_owned()).chain(args.clone()),
    );
    assert!(
        cli.is_ok(),
        "{args:?}: {}",
        cli.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let workers = manifest
        .lines()
        .find(|l| l.trim().starts_with("completions:"))
        .unwrap();
    let count = args
        .iter()
        .find(|a| a.starts_with("--worker-count="))
        .unwrap();
    assert_eq!(
        workers.trim().trim_start_matches("completions: "),
        count.trim_start_matches("--worker-count=")
    );
}

/// Every request that arrives in the last second of each three waits until it ends: a
/// target that stalls for 1 s every 3 s.
async fn stall_every_three_seconds(
    axum::extract::State(origin): axum::extract::State<
        std::sync::Arc<std::sync::OnceLock<Instant>>,
    >,
    req: Request,
    next: Next,
) -> Response {
    let phase = origin.get_or_init(Instant::now).elapsed().as_millis() % 3000;
    if phase >= 2000 {
        tokio::time::sleep(Duration::from_millis((3000 - phase) as u64)).await;
    }
    next.run(req).await
}

/// Coordinated omission: against a target that stalls for 1 s every 3 s, the open model
/// at 200 requests/s shows the stall in its p99 (latency from the scheduled start); the
/// closed model (goose, 2 users throttled to the same 200 requests/s) does not, because
/// its users wait out the stall instead of sending. The figures go in the README:
/// `cargo test --all-features --test load coordinated -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_shows_a_stall_the_closed_model_hides() {
    let _one = GOOSE.lock().await;
    let config = server::Config::new("127.0.0.1:0".parse().unwrap());
    let users = config.users.clone();
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let origin = std::sync::Arc::new(std::sync::OnceLock::new());
    let app = server::app(AppState::new(&config, store)).layer(middleware::from_fn_with_state(
        origin,
        stall_every_three_seconds,
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut opts = options(&users);
    opts.weights = Weights::from_ratios(0.0, 0.0).unwrap();
    opts.integrity = Integrity::Off;
    opts.payload_pool = 256;

    let open = load::open::OpenOptions {
        rate: load::open::Rate::constant(200.0, Duration::from_secs(7)).unwrap(),
        max_connections: 512,
        thresholds: vec!["p99<100ms".to_owned(), "dropped<1%".to_owned()],
    };
    let o = load::open::run(&url, &opts, &open).await.unwrap();
    let all = &o.requests["all"];
    eprintln!("{}", o.summary());
    assert_eq!(o.dropped, 0, "{}", o.summary());
    assert!(all.count >= 1390, "{}", o.summary());
    assert!(all.latency_ms.p99 > 500.0, "{}", o.summary());
    // The stall fails the p99 threshold, not the dropped one.
    assert!(
        !o.thresholds[0].passed && o.thresholds[1].passed,
        "{:?}",
        o.thresholds
    );
    assert!(!o.passed());

    let mut closed = goose(&url, 2, 7);
    closed.throttle_requests = Some(200);
    closed.no_threshold_abort = true;
    let c = load::run(closed, &opts, Duration::from_secs(20))
        .await
        .unwrap();
    let latency = &c.report.totals.latency_ms;
    eprintln!(
        "closed model (goose, 2 users, --throttle-requests 200): {} requests, p99 {:.1} ms, max {:.1} ms",
        c.report.totals.count, latency.p99, latency.max
    );
    assert!(
        latency.max > 500.0,
        "the closed model met the stall too: {latency:?}"
    );
    assert!(
        latency.p99 * 5.0 < all.latency_ms.p99,
        "closed p99 {} ms, open p99 {} ms",
        latency.p99,
        all.latency_ms.p99
    );
}

/// `load --rate` and `--rate-stages` through the binary, on the embedded server: the
/// schedule is kept (every request sent or counted dropped), the JSON report has the HDR
/// figures, a threshold on them can fail the run, and a bad rate is a usage error.
#[test]
fn the_open_model_through_the_binary() {
    let bin = env!("CARGO_BIN_EXE_devices-harness");
    let json = std::env::temp_dir().join(format!("dh-open-{}.json", std::process::id()));
    let out = std::process::Command::new(bin)
        .args([
            "load",
            "--rate",
            "300",
            "--run-time",
            "2s",
            "--threshold",
            "p99<5s",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("load (open model)"), "{stdout}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["scheduled"], 600);
    let sent = r["sent"].as_u64().unwrap();
    assert_eq!(sent + r["dropped"].as_u64().unwrap(), 600);
    assert_eq!(r["requests"]["all"]["count"].as_u64().unwrap(), sent);
    assert!(r["requests"]["all"]["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(r["thresholds"][0]["passed"], true);
    assert_eq!(r["integrity"]["lost"], 0);
    // Ramps: 0 -> 100 over 1 s, then back to 0 over 1 s, is 100 requests; an impossible
    // threshold fails the run.
    let out = std::process::Command::new(bin)
        .args([
            "load",
            "--rate-stages",
            "1s:100,1s:0",
            "--threshold",
            "p50<1us",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["scheduled"], 100);
    assert_eq!(r["thresholds"][0]["passed"], false);
    let bad = std::process::Command::new(bin)
        .args(["load", "--rate", "-5"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // A rule that does not parse is refused before any request, in either model.
    for model in [&["--rate", "10"][..], &[]] {
        let bad = std::process::Command::new(bin)
            .arg("load")
            .args(model)
            .args(["--threshold", "p99<soon"])
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("not a time"));
    }
    let _ = std::fs::remove_file(&json);
}

/// `--find-max` on a target that holds about 200 requests/s (the reference server with a
/// rate limit of 100 per user and wall-clock second, two users): the steps climb until
/// the 429s break `error-rate<1%`, and the rate held is below the limit and not far under
/// it. Steps last 2 s, so each holds a whole window of the limiter: a 1 s step straddles
/// two windows and can pass at up to twice the limit (232/s did, with 0 errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_max_finds_the_rate_a_rate_limited_target_holds() {
    let _one = GOOSE.lock().await;
    let mut config = server::Config::new("127.0.0.1:0".parse().unwrap());
    config.rate_limit = Some(100);
    let users = config.users.clone();
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let app = server::app(AppState::new(&config, store));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut opts = options(&users);
    opts.weights = Weights::from_ratios(0.0, 0.0).unwrap();
    let rules = vec!["p99<2s".to_owned()];
    let r = load::open::find_max(&url, &opts, 50.0, Duration::from_secs(2), 256, &rules)
        .await
        .unwrap();
    eprintln!("{}", r.summary());
    let held = r.held.expect("50 requests/s held");
    // The steps go 50, 75, 112, 169, 253 (broken), then halve the gap: 232 is 116 per
    // user in a whole window, more than the limit.
    assert!((100.0..232.0).contains(&held), "{}", r.summary());
    let broke = r.steps.iter().find(|s| !s.held).expect("a step broke");
    assert!(
        broke.failed.iter().any(|f| f.starts_with("error-rate")),
        "{broke:?}"
    );
    assert!(r.thresholds.contains(&"dropped<1%".to_owned()));
    assert!(r.summary().contains("highest rate held"));
}

/// `--metrics-addr`: while the open model runs, a real HTTP client scrapes its counters
/// and latency histograms in the Prometheus text format; the buckets are cumulative and
/// end at the count.
/// Scrapes `http://ADDR/metrics` with a real HTTP client: the body, after checking the
/// content type and that every latency histogram's buckets are cumulative and end at its
/// count.
async fn scrape(addr: std::net::SocketAddr) -> String {
    let scraped = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let content_type = scraped.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = scraped.text().await.unwrap();
    assert!(text.contains("# TYPE devices_harness_latency_seconds histogram"));
    assert!(text.contains("# TYPE devices_harness_responses_total counter"));
    text
}

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
}

/// A request's latency buckets: 15 of them, cumulative, the last its count.
fn buckets_of(text: &str, request: &str) -> Vec<f64> {
    let prefix = format!("devices_harness_latency_seconds_bucket{{request=\"{request}\"");
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        buckets.len() == 15 && buckets.windows(2).all(|w| w[0] <= w[1]),
        "{text}"
    );
    let count = sample(
        text,
        &format!("devices_harness_latency_seconds_count{{request=\"{request}\"}}"),
    );
    assert_eq!(buckets.last().copied(), Some(count));
    buckets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_metrics_are_scraped_while_either_model_runs() {
    let _one = GOOSE.lock().await;
    let server = Ephemeral::start(devices_harness::Profile::seed().clone())
        .await
        .unwrap();
    let users = server.users().to_vec();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };

    // The open model.
    let addr = free();
    let open = load::open::OpenOptions {
        rate: load::open::Rate::constant(200.0, Duration::from_secs(3)).unwrap(),
        max_connections: 64,
        thresholds: Vec::new(),
    };
    let url = server.running.url();
    let mut opts = options(&users);
    opts.metrics_addr = Some(addr);
    let run = tokio::spawn(async move { load::open::run(&url, &opts, &open).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = scrape(addr).await;
    let scheduled = sample(&text, "devices_harness_scheduled_total ");
    assert!(
        scheduled > 100.0 && scheduled < 600.0,
        "{scheduled}\n{text}"
    );
    buckets_of(&text, "create");
    assert!(
        sample(
            &text,
            "devices_harness_responses_total{request=\"create\",status=\"201\"}"
        ) > 0.0
    );
    assert!(text.contains("devices_harness_schedule_lag_seconds_count "));
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.scheduled, 600, "{}", report.summary());
    // The endpoint ends with the run.
    assert!(
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .is_err()
    );

    // goose's closed model: the same families from the HDR histograms it records.
    let addr = free();
    let mut opts = options(&users);
    opts.metrics_addr = Some(addr);
    let config = goose(&server.running.url(), 2, 3);
    let run = tokio::spawn(async move { load::run(config, &opts, Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let text = scrape(addr).await;
    let created = sample(
        &text,
        "devices_harness_responses_total{request=\"POST /me/devices\",status=\"201\"}",
    );
    assert!(created > 0.0, "{text}");
    let mid = buckets_of(&text, "POST /me/devices");
    let outcome = run.await.unwrap().unwrap();
    server.stop().await;
    let total = outcome.report.requests["POST /me/devices"].count as f64;
    assert!(
        mid[14] < total,
        "the scrape came mid-run: {} of {total}",
        mid[14]
    );
    assert!(
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .is_err()
    );
}

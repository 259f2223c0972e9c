//! A crash is the headline: `check` against a deliberately broken target that is not our
//! server and not Rust (`tests/targets/fragile.py`): it dies on a member name outside
//! Latin-1, never answers a body that is not JSON, and answers one canned body to every
//! create. With `--spawn` the harness restarts it and runs every oracle; without, it
//! reports the death first and marks what could not run.
#![cfg(feature = "cli")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "00000000-aaaa-4bbb-8ccc-000000000001";
const OTHER: &str = "00000000-aaaa-4bbb-8ccc-000000000002";

fn fragile() -> String {
    format!("{}/tests/targets/fragile.py", env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[&str], json: &std::path::Path) -> (i32, String, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_devices-harness"))
        .args(["check", "--token", "token-1", "--user-id", USER])
        .args(["--other-token", "token-2", "--other-user-id", OTHER])
        .args(["--cases", "100", "--timeout", "2s", "--quick", "--json"])
        .arg(json)
        .arg("--sarif")
        .arg(json.with_extension("sarif"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = std::fs::read_to_string(json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), stdout, report)
}

fn causes<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

/// Every member name in a JSON value.
fn names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                names(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| names(x, out)),
        _ => {}
    }
}

/// A scratch directory for the reports (JSON and SARIF), removed when the test ends,
/// passing or not.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dh-crash-")
        .tempdir()
        .unwrap()
}

#[test]
fn with_spawn_the_crash_comes_first_shrunk_with_its_stack_trace_and_every_oracle_runs() {
    let spawn = format!("python3 {} --port {{port}}", fragile());
    let dir = scratch();
    let json = dir.path().join("spawn.json");
    let (code, stdout, report) = check(&["--spawn", &spawn, "--max-restarts", "80"], &json);
    assert_eq!(code, 1, "{stdout}");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/check-report.schema.json")).unwrap();
    assert_eq!(
        common::schema::errors(&schema, &report),
        Vec::<String>::new()
    );
    // The SARIF log is valid, and its first result is the crash, with its killer body
    // attached.
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json.with_extension("sarif")).unwrap())
            .unwrap();
    assert_eq!(common::schema::sarif_errors(&sarif), Vec::<String>::new());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results[0]["ruleId"], "server-errors/crash",
        "{:#}",
        results[0]
    );
    assert_eq!(results[0]["rank"], 100.0);
    let attached = results[0]["attachments"][0]["artifactLocation"]["index"]
        .as_u64()
        .unwrap();
    let artifact = &sarif["runs"][0]["artifacts"][attached as usize];
    assert_eq!(
        artifact["contents"]["text"],
        report["causes"][0]["reproduce"]["body"]
    );
    assert!(results.len() > 1, "the findings follow the crash");
    // Exactly one crash: its killer shrunk to a small body that still holds a member
    // named outside Latin-1, the target's own stack trace, how it ended.
    let crashes = causes(&report, "crash");
    assert_eq!(crashes.len(), 1, "{stdout}");
    let crash = crashes[0];
    let body = crash["reproduce"]["body"].as_str().expect("a killer body");
    assert!(body.len() < 100, "not shrunk: {body}");
    let mut members = Vec::new();
    names(&serde_json::from_str(body).unwrap(), &mut members);
    assert!(
        members
            .iter()
            .any(|n| n.chars().any(|c| u32::from(c) > 0xff)),
        "the killer lost what kills: {body}"
    );
    assert_eq!(crash["exit"], "exit code 70");
    let stderr: Vec<&str> = crash["stderr_tail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(stderr.iter().any(|l| l.contains("Traceback")), "{stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("UnicodeEncodeError")),
        "{stderr:?}"
    );
    assert!(
        crash["reproduce"]["curl"]
            .as_str()
            .unwrap()
            .contains("curl ")
    );
    // One hang (bodies that are not JSON), shrunk, answered-beside.
    assert_eq!(causes(&report, "hang").len(), 1, "{stdout}");
    // The canned body is one cause, listing what differs.
    let echo: Vec<_> = causes(&report, "violation")
        .into_iter()
        .filter(|c| {
            c["title"]
                .as_str()
                .unwrap()
                .contains("does not echo the request")
        })
        .collect();
    assert_eq!(echo.len(), 1, "{stdout}");
    // Restarted, and every oracle ran; but lifecycle, as the target has no DELETE (405,
    // optional in the contract), and differential, with no --reference: not run, and why.
    assert!(report["restarts"].as_u64().unwrap() > 0);
    assert!(report["ended_early"].is_null(), "{stdout}");
    for o in report["oracles"].as_array().unwrap() {
        let why = match o["oracle"].as_str() {
            Some("lifecycle") => Some("no DELETE"),
            Some("differential") => Some("--reference"),
            _ => None,
        };
        if let Some(why) = why {
            assert_eq!(o["status"], "not-run", "{stdout}");
            assert!(o["reason"].as_str().unwrap().contains(why), "{stdout}");
        } else {
            assert_eq!(o["status"], "ran", "{}: {stdout}", o["oracle"]);
        }
    }
    assert!(
        report["cleanup"]["created"].as_u64().unwrap() > 0,
        "{stdout}"
    );
    assert_eq!(
        report["cleanup"]["reason"], "the target has no DELETE (405)",
        "{stdout}"
    );
    // The terminal shows the crash first: before any other cause, with its curl line.
    let crash_at = stdout.find("C1 CRASH").expect("the crash is printed");
    let other_at = stdout.find("\nV1 ").expect("the violations are printed");
    let table_at = stdout.find("oracle            level").unwrap();
    assert!(crash_at < other_at && crash_at < table_at, "{stdout}");
    assert!(stdout[crash_at..other_at].contains("curl:"), "{stdout}");
    assert!(
        stdout[crash_at..other_at].contains("UnicodeEncodeError"),
        "{stdout}"
    );
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.contains(" causes (") && summary.contains(" findings)"),
        "{summary}"
    );
    // Every finding belongs to one cause.
    let ids: Vec<&str> = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for f in report["findings"].as_array().unwrap() {
        assert!(ids.contains(&f["cause"].as_str().unwrap()), "{f}");
    }
    // The target was stopped at the end, Python child and all: its port is closed.
    let url = report["target"].as_str().unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "{url} still answers after the run"
    );
}

struct Fragile(Child);

impl Drop for Fragile {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_spawn_the_death_is_the_first_line_and_what_could_not_run_is_marked() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .arg(fragile())
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Fragile(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "fragile.py did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = scratch();
    let json = dir.path().join("alone.json");
    let url = format!("http://127.0.0.1:{port}");
    let (code, stdout, report) = check(&["--target", &url], &json);
    assert_eq!(code, 1, "{stdout}");
    let first = stdout.lines().next().unwrap_or("");
    assert!(first.starts_with("ENDED EARLY"), "{stdout}");
    assert!(first.contains("without --spawn"), "{first}");
    assert!(report["ended_early"].is_string());
    let crashes = causes(&report, "crash");
    assert_eq!(crashes.len(), 1, "{stdout}");
    assert_eq!(
        report["causes"][0]["kind"], "crash",
        "the death is the first cause"
    );
    let not_run: Vec<_> = report["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "not-run")
        .collect();
    assert!(!not_run.is_empty(), "{stdout}");
    assert!(not_run.iter().all(|o| o["reason"].is_string()));
    assert!(stdout.contains("NOT RUN"), "{stdout}");
}

mod common;

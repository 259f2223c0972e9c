//! `devices-harness run`, the main job, as a user runs it: a small budget against the
//! embedded server (passes) and against a target that answers 500 to everything (fails);
//! the report directory is validated file by file.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;

fn run(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_devices-harness"))
        .args(["run", "--budget", "8s", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dh-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Checks every file of a report directory; returns report.json.
fn validate(out: &Path) -> serde_json::Value {
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    let run_schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/run-report.schema.json")).unwrap();
    let check_schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/check-report.schema.json")).unwrap();
    assert_eq!(
        common::schema::errors(&run_schema, &report),
        Vec::<String>::new()
    );
    assert_eq!(
        common::schema::errors(&check_schema, &report["check"]),
        Vec::<String>::new()
    );

    // check.sarif: valid SARIF 2.1.0, one result per finding (crashes and hangs first).
    let sarif: serde_json::Value = serde_json::from_str(&read("check.sarif")).unwrap();
    assert_eq!(common::schema::sarif_errors(&sarif), Vec::<String>::new());
    let crashes_and_hangs = report["check"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] != "violation")
        .count();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        report["check"]["findings"].as_array().unwrap().len() + crashes_and_hangs
    );

    let junit = read("junit.xml");
    let doc = roxmltree::Document::parse(&junit).expect("junit.xml is XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<&str> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    // The load suite, charts and goose's report exist exactly when the load phase ran.
    let load = !report["load"].is_null();
    for s in ["acceptance", "rejection", "liveness"] {
        assert!(suites.contains(&s), "{s} not in {suites:?}");
    }
    assert_eq!(suites.contains(&"load"), load, "{suites:?}");
    let testcases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(
        root.attribute("tests"),
        Some(testcases.to_string().as_str())
    );
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .count();
    assert_eq!(
        root.attribute("failures"),
        Some(failures.to_string().as_str())
    );

    let html = read("index.html");
    for chart in ["chart-findings", "chart-status"] {
        assert!(
            html.contains(&format!("<svg id=\"{chart}\"")),
            "{chart} missing"
        );
    }
    for chart in ["chart-throughput", "chart-latency"] {
        assert_eq!(
            html.contains(&format!("<svg id=\"{chart}\"")),
            load,
            "{chart}"
        );
    }
    // The latency chart draws each second's HDR p99, which the report carries.
    assert_eq!(html.contains("class=\"latency-p99\""), load);
    assert!(
        !html.contains("<script"),
        "index.html must work with no scripts"
    );
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "no remote assets"
    );
    if load {
        let goose = read("load.html");
        assert!(
            goose.contains("<html") && goose.contains("Goose"),
            "goose's report"
        );
    } else {
        assert!(!out.join("load.html").exists());
    }
    let summary = read("summary.md");
    assert!(summary.starts_with("# devices-harness run: "));
    report
}

#[test]
fn the_main_job_on_the_embedded_server_passes_with_a_complete_report() {
    let out = out_dir("embedded");
    let o = run(&out, &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("PASSED: 0 errors"), "{stdout}");
    let report = validate(&out);
    assert_eq!(report["passed"], true);
    assert_eq!(report["errors"], 0);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["check", "fuzz", "load"]);
    assert!(report["check"]["cases"].as_u64().unwrap() > 0);
    assert!(report["check"]["fuzz_cases"].as_u64().unwrap() > 0);
    let load = &report["load"]["report"];
    assert!(load["totals"]["count"].as_u64().unwrap() > 0);
    assert_eq!(load["integrity"]["lost"], 0);
    let timeline = report["load"]["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty());
    for second in timeline.iter().filter(|s| s["requests"].as_u64() > Some(0)) {
        let us = |k: &str| second[k].as_u64().unwrap();
        assert!(0 < us("p50_us") && us("p50_us") <= us("p99_us") && us("p99_us") <= us("max_us"));
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Passed: 0 errors"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_broken_target_fails_the_run_and_every_finding_has_its_reproducer() {
    // Every request gets a 500.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let answer = b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n";
                    if s.write_all(answer).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let out = out_dir("broken");
    let o = run(
        &out,
        &[
            "--target",
            &url,
            "--token",
            "secret-token-123",
            "--user-id",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = validate(&out);
    assert_eq!(report["passed"], false);
    let findings = report["check"]["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for f in findings {
        let id = f["id"].as_str().unwrap();
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "{id} has no section"
        );
        assert!(f["reproduce"]["curl"].as_str().unwrap().contains("curl "));
    }
    assert!(
        html.contains("href=\"#F1\""),
        "the findings chart links to the findings"
    );
    for file in ["report.json", "summary.md", "junit.xml", "index.html"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(!text.contains("secret-token-123"), "{file} leaks the token");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `--phases`: only the selected phases run, share the budget, and the report says so
/// (no load section without the load phase).
#[test]
fn the_selected_phases_alone_run() {
    // With a reference too: the check and fuzz phases are compared with a second
    // embedded server, and agree.
    let out = out_dir("phases");
    let o = run(&out, &["--phases", "check,fuzz", "--reference", "embedded"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = validate(&out);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["check", "fuzz"]);
    assert!(report["load"].is_null());
    assert!(report["check"]["cases"].as_u64().unwrap() > 0);
    assert!(report["check"]["fuzz_cases"].as_u64().unwrap() > 0);
    let differential = report["check"]["oracles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["oracle"] == "differential")
        .unwrap();
    assert_eq!(differential["status"], "ran", "{stdout}");
    assert_eq!(differential["failed"], 0, "{stdout}");
    assert!(differential["passed"].as_u64().unwrap() > 100, "{stdout}");
    assert!(report["check"]["reference"]["requests"].as_u64().unwrap() > 100);
    let _ = std::fs::remove_dir_all(&out);

    let out = out_dir("phases-load");
    let o = run(&out, &["--phases", "load"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let report = validate(&out);
    assert_eq!(report["phases"].as_array().unwrap().len(), 1);
    assert_eq!(report["phases"][0]["name"], "load");
    assert_eq!(report["check"]["cases"], 0);
    assert_eq!(report["check"]["fuzz_cases"], 0);
    assert!(
        report["load"]["report"]["totals"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    let _ = std::fs::remove_dir_all(&out);

    let o = run(&out_dir("phases-bad"), &["--phases", "check,nope"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `run --find-max`: after the load, the search for the highest rate held is a phase of
/// its own and `max` in the report (here against the reference server spawned with a
/// rate limit of 300 requests per wall-clock second for its one user: the search breaks
/// on 429s, and stops below twice the limit, which is what a 1 s step straddling two of
/// the limiter's windows can pass; tests/load.rs pins the search itself with 2 s steps).
#[test]
fn find_max_is_a_phase_of_the_run() {
    let out = out_dir("find-max");
    std::fs::create_dir_all(&out).unwrap();
    let users = out.join("users.json");
    std::fs::write(
        &users,
        r#"[{"id":"11111111-2222-4333-8444-555555555561","token":"max-token"}]"#,
    )
    .unwrap();
    let spawn = format!(
        "{} serve --addr 127.0.0.1:{{port}} --memory --rate-limit 300 --users {}",
        env!("CARGO_BIN_EXE_devices-harness"),
        users.display()
    );
    let report_dir = out.join("report");
    let o = run(
        &report_dir,
        &[
            "--phases",
            "load",
            "--find-max",
            "--spawn",
            &spawn,
            "--token",
            "max-token",
            "--user-id",
            "11111111-2222-4333-8444-555555555561",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let report = validate(&report_dir);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["load", "max"], "{stdout}");
    let held = report["max"]["held"]
        .as_f64()
        .unwrap_or_else(|| panic!("no rate held: {:#}\n{stdout}", report["max"]));
    assert!((100.0..600.0).contains(&held), "{held}: {stdout}");
    let broke_on_429s = report["max"]["steps"].as_array().unwrap().iter().any(|s| {
        s["held"] == false
            && s["failed"][0]
                .as_str()
                .is_some_and(|f| f.starts_with("error-rate"))
    });
    assert!(broke_on_429s, "{:#}", report["max"]);
    assert!(stdout.contains("highest rate held"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
}

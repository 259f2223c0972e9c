//! `devices-harness check` as a user runs it: the embedded default, report files, exit
//! codes (0 pass, 1 findings, 2 usage or unreachable).
#![cfg(feature = "cli")]

mod common;

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_devices-harness"))
}

/// A scratch directory of its own, removed when the test ends (passing or not).
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dh-check-cli-")
        .tempdir()
        .unwrap()
}

#[test]
fn the_embedded_default_passes_and_writes_both_reports() {
    let dir = scratch();
    let (json, junit) = (dir.path().join("report.json"), dir.path().join("junit.xml"));
    let out = bin()
        .args(["check", "--cases", "200", "--quick", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 errors, 0 warnings"), "{stdout}");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/check-report.schema.json")).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        common::schema::errors(&schema, &report),
        Vec::<String>::new()
    );
    assert_eq!(report["cases"], 200);
    let target = report["target"].as_str().unwrap();
    assert!(
        target.starts_with("embedded reference server at http://127.0.0.1:"),
        "{target}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains("<testsuite name=\"liveness\""));
}

#[test]
fn findings_exit_1_and_a_dead_target_or_bad_usage_exit_2() {
    // A target that answers every request with garbage: findings, exit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let out = bin()
        .args([
            "check",
            "--cases",
            "20",
            "--quick",
            "--timeout",
            "1s",
            "--target",
            &url,
        ])
        .args([
            "--token",
            "t0ken-for-the-test",
            "--user-id",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[server-errors/status-500]"), "{stdout}");
    assert!(
        !stdout.contains("t0ken-for-the-test"),
        "the token leaked into the report"
    );

    // Nothing listening: exit 2.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = bin()
        .args(["check", "--target", &dead, "--token", "t", "--user-id", "u"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));

    // A target without credentials, or a malformed replay id: exit 2.
    let out = bin()
        .args(["check", "--target", &url])
        .env_remove("DEVICES_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["check", "--replay", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // An oracle that does not exist: exit 2, and the names that do.
    let out = bin()
        .args(["check", "--oracles", "acceptance,nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'nope' is not an oracle") && stderr.contains("round-trip"),
        "{stderr}"
    );
}

#[test]
fn selected_oracles_on_the_embedded_default() {
    let out = bin()
        .args([
            "check",
            "--cases",
            "50",
            "--quick",
            "--oracles",
            "authentication,http",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Every oracle but the two selected (differential too: it needs --reference).
    assert_eq!(stdout.matches("NOT SELECTED").count(), 9, "{stdout}");
}

#[test]
fn differential_mode_on_the_embedded_default_against_an_embedded_reference() {
    let out = bin()
        .args([
            "check",
            "--cases",
            "100",
            "--quick",
            "--reference",
            "embedded",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("reference embedded reference server at http://127.0.0.1:"));
    assert!(stdout.contains("reference clean-up:"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("differential "))
        .unwrap();
    let passed: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(passed > 100, "{line}");
    // The differential oracle alone needs a reference; a URL needs its credentials.
    let alone = bin()
        .args(["check", "--oracles", "differential"])
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("needs --reference"));
    let url = bin()
        .args(["check", "--reference", "http://127.0.0.1:9"])
        .env_remove("DEVICES_REFERENCE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(url.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&url.stderr).contains("--reference-token"));
}

/// `serve --profile graph-v1` and `check --profile graph-v1` (and graph-beta) over real
/// sockets: zero findings, on the profile's own routes (`POST /devices`), with the
/// cross-user checks skipped because the profile's devices are tenant-wide; and
/// `profile NAME` prints the table that `--profile FILE` reads back.
#[test]
fn the_graph_profiles_are_served_and_checked_with_zero_findings() {
    use std::io::BufRead;
    let dir = scratch();
    let users = dir.path().join("graph-users.json");
    std::fs::write(
        &users,
        r#"[{"id":"11111111-2222-4333-8444-555555555551","token":"graph-token-1"},
            {"id":"11111111-2222-4333-8444-555555555552","token":"graph-token-2"}]"#,
    )
    .unwrap();
    for name in ["graph-v1", "graph-beta"] {
        let mut server = bin()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--memory",
                "--profile",
                name,
            ])
            .arg("--users")
            .arg(&users)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        let json = dir.path().join(format!("{name}.json"));
        let out = bin()
            .args(["check", "--target", &url, "--profile", name])
            .args(["--token", "graph-token-1"])
            .args(["--user-id", "11111111-2222-4333-8444-555555555551"])
            .args(["--other-token", "graph-token-2"])
            .args(["--other-user-id", "11111111-2222-4333-8444-555555555552"])
            .args(["--cases", "400", "--quick", "--json"])
            .arg(&json)
            .output()
            .unwrap();
        let _ = server.kill();
        let _ = server.wait();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {stdout}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["profile"], name);
        assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{stdout}");
        for o in report["oracles"].as_array().unwrap() {
            let expected = match o["oracle"].as_str().unwrap() {
                "authorization" | "differential" => "not-run",
                _ => "ran",
            };
            assert_eq!(o["status"], expected, "{name}: {}", o["oracle"]);
        }
        let endpoints: Vec<&str> = report["oracles"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| o["endpoints"].as_array().unwrap())
            .filter_map(|e| e["endpoint"].as_str())
            .collect();
        assert!(endpoints.contains(&"POST /devices"), "{endpoints:?}");
        assert!(endpoints.contains(&"DELETE /devices/{id}"), "{endpoints:?}");
        assert!(
            !endpoints.iter().any(|e| e.contains("/me/devices")),
            "{endpoints:?}"
        );
        // The clean-up deleted what the run created, through /devices/{id}.
        let cleanup = &report["cleanup"];
        assert!(cleanup["created"].as_u64().unwrap() > 100, "{cleanup}");
        assert_eq!(cleanup["left"].as_array().unwrap().len(), 0, "{cleanup}");

        let printed = bin().args(["profile", name]).output().unwrap();
        assert_eq!(printed.status.code(), Some(0));
        let text = String::from_utf8(printed.stdout).unwrap();
        let again = devices_harness::Profile::from_toml(&text).unwrap();
        assert_eq!(&again, devices_harness::Profile::built_in(name).unwrap());
        assert!(text.contains("collection = \"/devices\""), "{text}");
    }
}

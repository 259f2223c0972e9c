//! `devices-harness validate`: verdicts, formats and exit codes, through the real binary.
#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Stdio};

fn validate(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devices-harness"))
        .arg("validate")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_files_exit_0() {
    let (code, out, _) = validate(
        &[
            "tests/data/seed-example-request.json",
            "tests/data/seed-example-response.json",
        ],
        b"",
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "tests/data/seed-example-request.json: ok\ntests/data/seed-example-response.json: ok\n"
    );
}

#[test]
fn an_invalid_input_exits_1_with_rule_place_status_and_code() {
    let (code, out, _) = validate(&[], b"{\n  \"deviceVersion\": 1.5\n}");
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "-: 400 Request_BadRequest property.int32.not-integer at /deviceVersion (line 2, column 20): \
         Invalid value for property 'deviceVersion': Edm.Int32 takes no fraction or exponent\n"
    );
    let (code, out, _) = validate(&["-"], b"[1,");
    assert_eq!(code, 1);
    assert!(
        out.starts_with("-: 400 BadRequest json.syntax.unexpected-end at byte 3"),
        "{out}"
    );
}

#[test]
fn json_format_is_one_object_per_input() {
    let (code, out, _) = validate(
        &[
            "--format",
            "json",
            "tests/data/seed-example-request.json",
            "-",
        ],
        b"{}",
    );
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["rule"], "property.missing");
    assert_eq!(lines[1]["pointer"], "/deletedDateTime");
    assert_eq!(lines[1]["code"], "Request_BadRequest");
}

#[test]
fn an_unreadable_file_exits_2_after_checking_the_rest() {
    let (code, out, err) = validate(
        &[
            "tests/data/does-not-exist.json",
            "tests/data/seed-example-request.json",
        ],
        b"",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read tests/data/does-not-exist.json"),
        "{err}"
    );
    assert_eq!(out, "tests/data/seed-example-request.json: ok\n");
}

#[test]
fn a_profile_file_relaxes_the_rules() {
    let dir = std::env::temp_dir().join(format!("dh-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("v1.toml");
    std::fs::write(&profile, "required = ['displayName']\n").unwrap();
    let p = profile.to_str().unwrap();
    let (code, out, _) = validate(&["--profile", p], br#"{"displayName": "x"}"#);
    assert_eq!((code, out.as_str()), (0, "-: ok\n"));
    std::fs::write(&profile, "required = ['nope']\n").unwrap();
    let (code, _, err) = validate(&["--profile", p], b"{}");
    assert_eq!(code, 2);
    assert!(err.contains("'required' names 'nope'"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

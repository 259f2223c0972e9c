//! `devices-harness gen` and `corpus export` through the real binary: output shape,
//! determinism, argument errors, and that every exported file gets what its manifest says.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};

use devices_harness::from_bytes;

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devices-harness"))
        .args(args)
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn body(record: &serde_json::Value) -> Vec<u8> {
    match record["body"].as_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => {
            let b64 = record["body_base64"].as_str().unwrap();
            devices_harness::model::Binary::parse(b64).unwrap().decode()
        }
    }
}

#[test]
fn gen_valid_prints_valid_devices_deterministically() {
    let a = harness(&["gen", "--valid", "--count", "25", "--seed", "3"]);
    assert!(a.status.success());
    let records = lines(&a);
    assert_eq!(records.len(), 25);
    for r in &records {
        assert_eq!(r["kind"], "valid");
        assert_eq!(r["expected"]["status"], 201);
        assert!(from_bytes(&body(r)).is_ok(), "{r}");
    }
    let b = harness(&["gen", "--valid", "--count", "25", "--seed", "3"]);
    assert_eq!(a.stdout, b.stdout, "same seed, same output");
    let c = harness(&["gen", "--valid", "--count", "25", "--seed", "4"]);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn gen_malformed_labels_every_case() {
    let out = harness(&["gen", "--malformed", "--count", "300", "--seed", "1"]);
    assert!(out.status.success());
    for r in lines(&out) {
        let bytes = body(&r);
        match r["layer"].as_str().unwrap() {
            "body" => {
                let e = from_bytes(&bytes).unwrap_err();
                assert_eq!(
                    e.kind.rule(),
                    r["expected"]["rule"].as_str().unwrap(),
                    "{r}"
                );
            }
            _ => assert!(from_bytes(&bytes).is_ok(), "{r}"),
        }
    }
    let one = harness(&[
        "gen",
        "--malformed",
        "datetime-offset-range",
        "--count",
        "5",
    ]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert_eq!(lines(&one).len(), 5);
    for r in lines(&one) {
        assert_eq!(r["class"], "datetime-offset-range");
        assert_eq!(r["expected"]["rule"], "property.datetime.offset-range");
    }
    let bad = harness(&["gen", "--malformed", "invalid-utf8", "--count", "3"]);
    assert!(
        bad.status.success(),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert_eq!(lines(&bad).len(), 3);
    for r in lines(&bad) {
        assert!(r["body"].is_null() && r["body_base64"].is_string(), "{r}");
    }
}

#[test]
fn gen_rejects_bad_arguments_with_exit_2() {
    for args in [
        &["gen"][..],
        &["gen", "--valid", "--malformed"],
        &["gen", "--malformed", "no-such-class"],
        &["gen", "--valid", "--count", "-1"],
        &["gen", "--valid", "--seed", "x"],
        &["gen", "--valid", "--profile", "/no/such/profile.toml"],
    ] {
        let out = harness(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
}

#[test]
fn corpus_export_writes_files_that_get_what_the_manifest_says() {
    let dir = std::env::temp_dir().join(format!("dh-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let out = harness(&[
        "corpus", "export", "--dir", d, "--count", "4", "--seed", "9",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "devices-harness-corpus/1");
    let cases = manifest["cases"].as_array().unwrap();
    let classes = devices_harness::generate::malformed::Defect::all().len();
    assert_eq!(cases.len(), 4 + 4 * (classes - 1) + 1);
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let verdict = from_bytes(&bytes);
        match (case["kind"].as_str(), case["layer"].as_str()) {
            (Some("valid"), _) => assert!(verdict.is_ok(), "{file}"),
            (_, Some("body")) => {
                let e = verdict.unwrap_err();
                assert_eq!(
                    e.kind.rule(),
                    case["expected"]["rule"].as_str().unwrap(),
                    "{file}"
                );
                assert_eq!(
                    e.code(),
                    case["expected"]["code"].as_str().unwrap(),
                    "{file}"
                );
                assert!(
                    file.starts_with(&format!("malformed/{}/", case["class"].as_str().unwrap()))
                );
            }
            _ => assert!(
                verdict.is_ok(),
                "{file}: size and request cases carry a valid body"
            ),
        }
        assert!(case["expected"]["status"].as_u64().is_some());
    }
    // Never over a non-empty directory without --force; with it, replaced.
    let again = harness(&["corpus", "export", "--dir", d, "--count", "1"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        Path::new(&dir.join("valid/0003.json")).exists(),
        "left as it was"
    );
    let forced = harness(&["corpus", "export", "--dir", d, "--count", "1", "--force"]);
    assert!(forced.status.success());
    assert!(!dir.join("valid/0003.json").exists(), "old corpus replaced");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! "Parsing JSON is a Minefield" (JSONTestSuite, MIT, tests/data/JSONTestSuite/LICENSE):
//! - every `n_` file is unreadable JSON (a syntax-category error, never a panic, never a
//!   property error);
//! - every `y_` file is readable JSON, so it fails as a device with a structure or
//!   property error, never a syntax one;
//! - every `i_` file gets the verdict recorded in `tests/data/jsontestsuite-i-verdicts.txt`.
//!   Run with `BLESS=1` to rewrite that table after a deliberate change, and review the diff.

use std::path::Path;

use devices_harness::{Category, from_bytes};

fn files(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/JSONTestSuite/test_parsing");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/data/JSONTestSuite/test_parsing")
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn n_files_are_unreadable_json() {
    let files = files("n_");
    assert!(files.len() >= 180, "found only {} n_ files", files.len());
    let wrong: Vec<String> = files
        .iter()
        .filter_map(|(name, body)| match from_bytes(body) {
            Err(e) if e.category() == Category::Syntax => None,
            Err(e) => Some(format!("{name}: {} ({e})", e.kind.rule())),
            Ok(_) => Some(format!("{name}: accepted")),
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "n_ files not rejected as unreadable:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn y_files_are_readable_json_but_not_devices() {
    let files = files("y_");
    assert!(files.len() >= 90, "found only {} y_ files", files.len());
    let wrong: Vec<String> = files
        .iter()
        .filter_map(|(name, body)| match from_bytes(body) {
            Err(e) if e.category() != Category::Syntax => None,
            Err(e) => Some(format!("{name}: {} ({e})", e.kind.rule())),
            Ok(_) => Some(format!("{name}: accepted as a device")),
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "y_ files with a syntax verdict:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn i_files_match_the_recorded_verdicts() {
    let table_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jsontestsuite-i-verdicts.txt");
    let actual: String = files("i_")
        .iter()
        .map(|(name, body)| {
            let verdict = match from_bytes(body) {
                Ok(_) => "device".to_owned(),
                Err(e) => format!("{} {}", e.code(), e.kind.rule()),
            };
            format!("{name}\t{verdict}\n")
        })
        .collect();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&table_path, &actual).unwrap();
    }
    let recorded = std::fs::read_to_string(&table_path).expect("the recorded verdicts");
    assert!(actual.lines().count() >= 30);
    assert_eq!(
        actual, recorded,
        "i_ verdicts changed; review, then BLESS=1 to record"
    );
}

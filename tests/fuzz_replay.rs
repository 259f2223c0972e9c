//! Replays every checked-in fuzz corpus file and regression through the same functions
//! the fuzz targets call, on stable, in an ordinary `cargo test`: a crash once found and
//! fixed stays fixed.

use std::path::Path;

fn inputs(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn replay(target: &str, check: fn(&[u8]) -> Result<(), String>) {
    let corpus = inputs(&format!("fuzz/corpus/{target}"));
    assert!(corpus.len() > 10, "the {target} corpus is checked in");
    let all = corpus
        .into_iter()
        .chain(inputs(&format!("fuzz/regressions/{target}")));
    let failures: Vec<String> = all
        .filter_map(|(name, data)| check(&data).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parse_bytes() {
    replay("parse_bytes", devices_harness::fuzz::parse_bytes);
}

#[test]
fn parse_differential() {
    replay(
        "parse_differential",
        devices_harness::fuzz::parse_differential,
    );
}

#[cfg(feature = "arbitrary")]
#[test]
fn roundtrip_structured() {
    replay(
        "roundtrip_structured",
        devices_harness::fuzz::roundtrip_structured,
    );
}

#[cfg(feature = "arbitrary")]
#[test]
fn malformed_agreement() {
    replay(
        "malformed_agreement",
        devices_harness::fuzz::malformed_agreement,
    );
}

#[cfg(all(feature = "arbitrary", feature = "server"))]
#[test]
fn server_request() {
    replay("server_request", devices_harness::fuzz::server_request);
}

#[test]
fn documented_differences_are_allowed() {
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert_eq!(
        devices_harness::fuzz::parse_differential(deep.as_bytes()),
        Ok(()),
        "documented: depth"
    );
    assert_eq!(
        devices_harness::fuzz::parse_differential(b"[1e400]"),
        Ok(()),
        "documented: number range"
    );
    assert_eq!(devices_harness::fuzz::parse_differential(b"[1,]"), Ok(()));
}

#[test]
fn mutate_json_is_deterministic_and_stays_json() {
    let seed = include_bytes!("data/seed-example-request.json");
    let mut changed = 0;
    for s in 0..500u64 {
        let a = devices_harness::generate::mutate::mutate_json(seed, s).expect("the seed is JSON");
        assert_eq!(
            Some(&a),
            devices_harness::generate::mutate::mutate_json(seed, s).as_ref()
        );
        assert!(serde_json::from_slice::<serde_json::Value>(&a).is_ok());
        changed += usize::from(
            serde_json::from_slice::<serde_json::Value>(&a).ok()
                != serde_json::from_slice(seed).ok(),
        );
    }
    assert!(
        changed > 400,
        "only {changed} of 500 mutations changed anything"
    );
    assert_eq!(
        devices_harness::generate::mutate::mutate_json(b"not json", 1),
        None
    );
}

//! Replays every checked-in fuzz corpus file and regression through the same functions
//! the fuzz targets call, on stable, in an ordinary `cargo test`.

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

#[test]
fn parse_bytes_corpus_and_regressions() {
    let corpus = inputs("fuzz/corpus/parse_bytes");
    assert!(
        !corpus.is_empty(),
        "the parse_bytes seed corpus is checked in"
    );
    let all = corpus
        .into_iter()
        .chain(inputs("fuzz/regressions/parse_bytes"));
    let failures: Vec<String> = all
        .filter_map(|(name, data)| {
            devices_harness::fuzz::parse_bytes(&data)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! The downstream example (`examples/downstream/`) is another crate that depends on the
//! core alone (`default-features = false, features = ["proptest"]`) and uses the parser
//! and the generators in its own tests. This runs those tests, so the example keeps
//! building against the core and keeps passing.

use std::process::Command;

#[test]
fn the_downstream_example_builds_on_the_core_and_its_tests_pass() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--locked", "--manifest-path"])
        .arg(format!("{root}/examples/downstream/Cargo.toml"))
        // Its own target directory: this test's cargo holds the lock on the main one.
        .env("CARGO_TARGET_DIR", format!("{root}/target/downstream"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Both properties ran (a filtered or empty run would also exit 0).
    assert!(
        stdout.contains("test every_valid_device_is_read_as_the_contract_reads_it ... ok")
            && stdout.contains("test every_unreadable_body_is_rejected ... ok"),
        "{stdout}"
    );
    // And the core alone: no HTTP stack and no SQLite among its dependencies.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--prefix",
            "none",
            "--edges",
            "normal,dev",
        ])
        .arg("--manifest-path")
        .arg(format!("{root}/examples/downstream/Cargo.toml"))
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("devices-harness v"), "{tree}");
    for heavy in ["tokio", "hyper", "goose", "reqwest", "rusqlite", "axum"] {
        assert!(
            !tree.lines().any(|l| l.starts_with(&format!("{heavy} v"))),
            "the core pulled in {heavy}:\n{tree}"
        );
    }
}

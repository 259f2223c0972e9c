//! Any bytes into the parser: never a panic; an accepted device round-trips exactly.
//! The body is `devices_harness::fuzz::parse_bytes`, which `cargo test` also replays.
//!
//! Fuzz: `cargo fuzz run parse_bytes`. Replay a file without libFuzzer:
//! `cargo run --manifest-path fuzz/Cargo.toml --bin parse_bytes -- FILE...`.
#![cfg_attr(fuzzing, no_main)]

fn check(data: &[u8]) {
    if let Err(e) = devices_harness::fuzz::parse_bytes(data) {
        panic!("{e}");
    }
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));

#[cfg(not(fuzzing))]
fn main() {
    for path in std::env::args_os().skip(1) {
        match std::fs::read(&path) {
            Ok(data) => {
                check(&data);
                println!("{}: ok", path.to_string_lossy());
            }
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.to_string_lossy());
                std::process::exit(2);
            }
        }
    }
}

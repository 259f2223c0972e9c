//! What every target shares: the libFuzzer entry point or, built without `--cfg fuzzing`,
//! a `main` that replays files (`cargo run --bin TARGET -- FILE...`), and the JSON-aware
//! mutator of the parse targets.

/// Declares a target whose body is `check`: panics on what it reports.
#[macro_export]
macro_rules! target {
    ($check:path) => {
        #[cfg(fuzzing)]
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            if let Err(e) = $check(data) {
                panic!("{e}");
            }
        });

        #[cfg(not(fuzzing))]
        fn main() {
            shim::replay($check);
        }
    };
}

/// Runs `check` on every file named on the command line.
#[cfg(not(fuzzing))]
#[allow(dead_code)]
pub fn replay(check: fn(&[u8]) -> Result<(), String>) {
    let mut failed = false;
    for path in std::env::args_os().skip(1) {
        let name = path.to_string_lossy().into_owned();
        match std::fs::read(&path) {
            Ok(data) => match check(&data) {
                Ok(()) => println!("{name}: ok"),
                Err(e) => {
                    println!("{name}: FAILED: {e}");
                    failed = true;
                }
            },
            Err(e) => {
                eprintln!("cannot read {name}: {e}");
                std::process::exit(2);
            }
        }
    }
    std::process::exit(i32::from(failed));
}

/// Half the time a JSON-aware mutation (when the input is JSON), else libFuzzer's own.
/// `DH_FUZZ_BYTES_ONLY=1` turns the JSON half off, to compare coverage.
#[cfg(fuzzing)]
#[allow(dead_code)]
pub fn json_mutator(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let bytes_only = std::env::var_os("DH_FUZZ_BYTES_ONLY").is_some();
    if !bytes_only && seed % 2 == 0 {
        if let Some(m) =
            devices_harness::generate::mutate::mutate_json(&data[..size], u64::from(seed))
        {
            if m.len() <= max_size {
                data[..m.len()].copy_from_slice(&m);
                return m.len();
            }
        }
    }
    libfuzzer_sys::fuzzer_mutate(data, size, max_size)
}

//! `parse_differential`: see `devices_harness::fuzz::parse_differential`. With the JSON-aware mutator.
#![cfg_attr(fuzzing, no_main)]

#[path = "shim.rs"]
mod shim;

target!(devices_harness::fuzz::parse_differential);

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    shim::json_mutator(data, size, max_size, seed)
});

//! `malformed_agreement`: see `devices_harness::fuzz::malformed_agreement` (structure-aware, through `Arbitrary`).
#![cfg_attr(fuzzing, no_main)]

#[path = "shim.rs"]
mod shim;

target!(devices_harness::fuzz::malformed_agreement);

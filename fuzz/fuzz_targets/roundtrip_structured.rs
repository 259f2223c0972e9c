//! `roundtrip_structured`: see `devices_harness::fuzz::roundtrip_structured` (structure-aware, through `Arbitrary`).
#![cfg_attr(fuzzing, no_main)]

#[path = "shim.rs"]
mod shim;

target!(devices_harness::fuzz::roundtrip_structured);

//! `server_request`: see `devices_harness::fuzz::server_request` (structure-aware, through `Arbitrary`).
#![cfg_attr(fuzzing, no_main)]

#[path = "shim.rs"]
mod shim;

target!(devices_harness::fuzz::server_request);

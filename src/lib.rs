//! devices-harness: hardens, benchmarks and regression-fuzzes implementations of the
//! Microsoft Graph "Create devices" endpoint (`POST /me/devices`,
//! `POST /users/{usersId}/devices`).
//!
//! Everything stands on one question answered the same way everywhere: *is this byte
//! string a valid device, and if not, exactly why?*
//!
//! The core (no cargo features; serde, serde_json, toml and thiserror only):
//!
//! - [`contract`]: the property table and policies, as data ([`Profile`]); the only
//!   module that names a property;
//! - [`model`]: [`Device`] and the lexical-form-keeping value types;
//! - [`parse`]: [`from_bytes`], the strict byte-level parser;
//! - [`ser`]: [`to_vec`], the exact serializer;
//! - [`error`]: [`PayloadError`], which rule was broken and where; [`Rule`] and [`GraphCode`];
//! - [`answer`]: what a conforming target may answer ([`answer::Expected`]), every reading
//!   the contract leaves open;
//! - [`generate`]: valid and malformed devices, their JSON spellings, JSON-aware mutation
//!   (proptest strategies with the `proptest` feature, `Arbitrary` with `arbitrary`);
//! - [`fuzz`]: the bodies of the fuzz targets, replayed by `cargo test`;
//! - [`text`]: small text helpers shared by reports and the command line.
//!
//! On top, each behind its feature (all on by default):
//!
//! - `server`: the reference devices server (axum, SQLite);
//! - `target`: how the suite talks to a target and judges one answer;
//! - `check`: the conformance checker, over HTTP or in process;
//! - `load`: goose load scenarios, the integrity pass and report merging;
//! - `run`: the main job, every phase into one report directory;
//! - `cli`: the `devices-harness` command line.
//!
//! ```
//! use devices_harness::{from_bytes, to_vec};
//! let body = std::fs::read("tests/data/seed-example-request.json").unwrap();
//! let device = from_bytes(&body).unwrap();
//! assert_eq!(from_bytes(&to_vec(&device)).unwrap(), device);
//! ```

#![deny(missing_docs)]
// Two `unsafe` blocks, allowed where they are (`scan::append_clean` and
// `scan::append_clean_list`, both setting a vector's length over bytes they wrote); nothing else.
#![deny(unsafe_code)]

pub mod answer;
pub mod contract;
pub mod error;
pub mod fuzz;
pub mod generate;
pub mod model;
pub mod parse;
mod scan;
pub mod ser;
pub mod text;

#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "load")]
pub mod load;
#[cfg(feature = "run")]
pub mod run;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "target")]
pub mod target;

pub use contract::Profile;
pub use error::{Category, ErrorKind, GraphCode, PayloadError, Rule};
pub use model::{Device, Value};
pub use parse::{from_bytes, from_bytes_with};
pub use ser::{to_vec, to_vec_with};

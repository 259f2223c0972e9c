//! Payload generators, read from the contract's table.
//!
//! - [`valid`]: proptest strategies for valid devices, weighted toward each type's edges;
//! - [`render`]: the many equivalent JSON spellings of one device.
//!
//! ```
//! use devices_harness::{Profile, from_bytes, generate};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let profile = Profile::seed();
//! let mut runner = TestRunner::deterministic();
//! let device = generate::valid::device(profile).new_tree(&mut runner).unwrap().current();
//! let body = generate::render::render(profile, &device, 7);
//! assert_eq!(from_bytes(&body).unwrap(), device);
//! ```

pub mod render;
pub mod valid;

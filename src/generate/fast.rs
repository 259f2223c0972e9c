//! A fast seeded generator for load scenarios and bulk output: valid or malformed payloads
//! by weight, with no proptest machinery on the hot path. Same seed, same bytes.
//!
//! ```
//! use devices_harness::generate::fast::Generator;
//! let mut a = Generator::new(42);
//! let mut b = Generator::new(42);
//! assert_eq!(a.valid(), b.valid());
//! assert_eq!(a.malformed().bytes, b.malformed().bytes);
//! ```

use super::malformed::{
    Defect, Expected, Layer, MalformedCase, RequestHeaders, malformed_generated,
};
use super::{Rng, Source, render, valid};
use crate::contract::Profile;
use crate::model::Device;

/// Valid and malformed payloads from one seed.
#[derive(Clone, Debug)]
pub struct Generator {
    profile: Profile,
    rng: Rng,
    weights: Vec<(Defect, u64)>,
    scratch: String,
}

impl Generator {
    /// A generator for the seed profile with [`Generator::default_weights`].
    pub fn new(seed: u64) -> Generator {
        Generator::with_profile(Profile::seed().clone(), seed)
    }

    /// A generator for `profile`.
    pub fn with_profile(profile: Profile, seed: u64) -> Generator {
        Generator {
            profile,
            rng: Rng::new(seed),
            weights: Generator::default_weights(),
            scratch: String::new(),
        }
    }

    /// Every defect class weight 1, except `body-too-large` (4 MiB a case), weight 0: ask
    /// for it by name.
    pub fn default_weights() -> Vec<(Defect, u64)> {
        Defect::all()
            .into_iter()
            .map(|d| (d, u64::from(d != Defect::BodyTooLarge)))
            .collect()
    }

    /// Replaces the weights of the malformed classes.
    pub fn with_weights(mut self, weights: Vec<(Defect, u64)>) -> Generator {
        self.weights = weights;
        self
    }

    /// The profile it generates for.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The underlying random source, for callers that draw their own choices.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A valid device.
    pub fn valid_device(&mut self) -> Device {
        valid::device(&self.profile, &mut self.rng)
    }

    /// A valid device, serialized compactly, written straight from the choices (the same
    /// bytes as serializing [`Generator::valid_device`] from the same state).
    pub fn valid(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        self.valid_into(&mut out);
        out
    }

    /// Appends a valid device, serialized compactly, to `out`.
    pub fn valid_into(&mut self, out: &mut Vec<u8>) {
        valid::write_device(&self.profile, &mut self.rng, out, &mut self.scratch);
    }

    /// A valid device in a random spelling (member order, whitespace, escapes), with the
    /// valid request headers it goes with.
    pub fn valid_request(&mut self) -> (Device, Vec<u8>, RequestHeaders) {
        let d = self.valid_device();
        let bytes = render::render(&self.profile, &d, &mut self.rng);
        let headers = RequestHeaders::valid(&mut self.rng);
        (d, bytes, headers)
    }

    /// A malformed case of a class picked by weight (one that applies to the profile).
    pub fn malformed(&mut self) -> MalformedCase {
        let weights: Vec<u64> = self.weights.iter().map(|(_, w)| *w).collect();
        for _ in 0..16 {
            let defect = match self.weights.get(self.rng.weighted(&weights)) {
                Some((d, w)) if *w > 0 => *d,
                _ => Defect::Truncated,
            };
            if let Some(case) = self.malformed_of(defect) {
                return case;
            }
        }
        // Reached only when the weights pick nothing that applies to the profile:
        // truncation applies to every device.
        self.malformed_of(Defect::Truncated)
            .unwrap_or_else(|| truncated_brace(&mut self.rng))
    }

    /// A malformed case of `defect`, or `None` when it does not apply to the profile.
    /// The same bytes as [`malformed`](super::malformed::malformed) on the device [`Generator::valid_device`] would
    /// give from the same state, without building the device.
    pub fn malformed_of(&mut self, defect: Defect) -> Option<MalformedCase> {
        malformed_generated(&self.profile, defect, &mut self.rng, &mut self.scratch)
    }

    /// A malformed body of a body-layer class (for parsers): like [`Generator::malformed`]
    /// without size and header defects.
    pub fn malformed_body(&mut self) -> MalformedCase {
        for _ in 0..64 {
            let case = self.malformed();
            if case.defect.layer() == Layer::Body {
                return case;
            }
        }
        self.malformed_of(Defect::Truncated)
            .unwrap_or_else(|| truncated_brace(&mut self.rng))
    }
}

/// The smallest truncated body, `{`.
fn truncated_brace(rng: &mut Rng) -> MalformedCase {
    MalformedCase {
        bytes: b"{".to_vec(),
        headers: RequestHeaders::valid(rng),
        defect: Defect::Truncated,
        expected: Expected::body(crate::error::Rule::UnexpectedEnd, None),
        description: "cut after byte 0 of 2".into(),
    }
}

//! Payload generators, read from the contract's table.
//!
//! One generator serves three drivers: every decision is drawn from a [`Source`], and
//! choice 0 is always the simplest option (absent, null, empty, zero). So the same code is
//!
//! - a shrinkable proptest strategy (`valid::strategy`, feature `proptest`): proptest draws and shrinks a
//!   vector of choices ([`Replay`]), and a shorter or smaller vector is a simpler device;
//! - a fast seeded generator for load ([`fast::Generator`], on [`Rng`]);
//! - `Arbitrary` for structure-aware fuzzing (feature `arbitrary`, on `Unstructured`).
//!
//! Modules:
//! - [`valid`]: valid devices, weighted toward each type's edges;
//! - [`render`]: the many equivalent JSON spellings of one device;
//! - [`malformed`]: the defect taxonomy, and cases that each break exactly one rule;
//! - [`fast`]: `Generator::new(seed)`, payloads by weight with no proptest machinery;
//! - [`record`]: cases as JSON records, for `gen` and `corpus export`;
//! - [`mutate`]: JSON-aware mutation of any body, for the checker and the fuzz targets.
//!
//! ```
//! use devices_harness::{Profile, from_bytes, generate::{Rng, render, valid}};
//!
//! let profile = Profile::seed();
//! let mut rng = Rng::new(7);
//! let device = valid::device(profile, &mut rng);
//! let body = render::render(profile, &device, &mut rng);
//! assert_eq!(from_bytes(&body).unwrap(), device);
//! ```

pub mod fast;
pub mod malformed;
pub mod mutate;
pub mod record;
pub mod render;
pub mod valid;

/// Where a generator's decisions come from.
pub trait Source {
    /// A number in `0..n` (0 when `n` is 0 or 1). 0 is the simplest choice.
    fn below(&mut self, n: u64) -> u64;

    /// Picks an index by weight; index 0 is the simplest option.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        0
    }

    /// True with probability about `1/n` (never when the source is exhausted).
    fn one_in(&mut self, n: u64) -> bool {
        n > 0 && self.below(n) == n - 1
    }

    /// 64 bits.
    fn bits(&mut self) -> u64 {
        let hi = self.below(1 << 32);
        let lo = self.below(1 << 32);
        (hi << 32) | lo
    }
}

/// A small, fast, deterministic generator (SplitMix64): same seed, same output.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A random lowercase GUID (version 4 form) from the next 128 bits.
    pub fn guid(&mut self) -> crate::model::Guid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        crate::model::Guid::from_random((u128::from(hi) << 64) | u128::from(lo))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Source for Rng {
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        // Lemire's multiply-shift: unbiased enough for test data, no division.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn bits(&mut self) -> u64 {
        self.next_u64()
    }
}

/// Choices replayed from a vector (what proptest draws and shrinks); zeros once it runs
/// out, so a shorter vector gives a simpler value.
#[derive(Clone, Debug)]
pub struct Replay<'a> {
    choices: &'a [u64],
    at: usize,
}

impl<'a> Replay<'a> {
    /// Replays `choices`.
    pub fn new(choices: &'a [u64]) -> Self {
        Replay { choices, at: 0 }
    }
}

impl Source for Replay<'_> {
    fn below(&mut self, n: u64) -> u64 {
        let c = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n <= 1 { 0 } else { c % n }
    }
}

#[cfg(feature = "arbitrary")]
impl Source for arbitrary::Unstructured<'_> {
    fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        self.int_in_range(0..=n - 1).unwrap_or(0)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for crate::model::Device {
    /// A valid device under the seed profile, every decision drawn from the fuzzer's
    /// bytes (exhausted bytes give the simplest choices).
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(valid::device(crate::contract::Profile::seed(), u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        for n in [1u64, 2, 3, 10, 1000, u64::MAX] {
            for _ in 0..100 {
                let x = a.below(n);
                assert_eq!(x, b.below(n));
                assert!(x < n.max(1));
            }
        }
        let mut c = Rng::new(43);
        assert_ne!(Rng::new(42).next_u64(), c.next_u64());
    }

    #[test]
    fn weighted_follows_the_weights() {
        let mut rng = Rng::new(1);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[rng.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
        let mut empty = Replay::new(&[]);
        assert_eq!(
            empty.weighted(&[5, 5]),
            0,
            "an exhausted source picks the simplest"
        );
    }
}

//! `Arbitrary` for `Device` and `Defect` (feature `arbitrary`): any fuzzer bytes give a
//! valid device and a defect that, applied, is rejected with exactly its rule.
#![cfg(feature = "arbitrary")]

use arbitrary::{Arbitrary, Unstructured};
use devices_harness::generate::Rng;
use devices_harness::generate::malformed::{Defect, Layer, malformed};
use devices_harness::{Device, Profile, from_bytes, to_vec};

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

#[test]
fn arbitrary_devices_are_valid_and_round_trip() {
    for seed in 0..500 {
        let data = noise(seed, (seed as usize * 37) % 4096);
        let mut u = Unstructured::new(&data);
        let device = Device::arbitrary(&mut u).unwrap();
        let bytes = to_vec(&device);
        assert_eq!(from_bytes(&bytes).as_ref(), Ok(&device), "seed {seed}");
    }
    // No bytes at all: the simplest device, still valid.
    let device = Device::arbitrary(&mut Unstructured::new(&[])).unwrap();
    assert_eq!(from_bytes(&to_vec(&device)), Ok(device));
}

#[test]
fn arbitrary_device_and_defect_pairs_agree_with_the_parser() {
    let profile = Profile::seed();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..2000 {
        let data = noise(seed, 2048);
        let mut u = Unstructured::new(&data);
        let (device, defect) = <(Device, Defect)>::arbitrary(&mut u).unwrap();
        seen.insert(defect.class());
        let case =
            malformed(profile, &device, defect, &mut u).expect("every class applies to the seed");
        if defect.layer() == Layer::Body {
            let e = from_bytes(&case.bytes).unwrap_err();
            assert_eq!(
                Some(e.kind.rule()),
                case.expected.rule,
                "seed {seed} {defect}"
            );
        }
    }
    assert!(seen.len() > 50, "reached {} classes", seen.len());
}

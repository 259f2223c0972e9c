//! Round-trip properties: model -> bytes -> model, and bytes -> model -> bytes -> model,
//! over generated valid devices in many JSON spellings.
#![cfg(feature = "proptest")]

use devices_harness::generate::{Rng, render::render, valid};
use devices_harness::{Profile, from_bytes, to_vec};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

// Failing seeds are kept in proptest-regressions/roundtrip.txt, checked in, and replayed
// first on every run.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn model_bytes_model(device in valid::strategy(Profile::seed())) {
        let bytes = to_vec(&device);
        let parsed = from_bytes(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&device), "{}", String::from_utf8_lossy(&bytes));
        // The parsed value (not the one we started from) serializes to the same bytes:
        // a fixpoint.
        if let Ok(parsed) = &parsed {
            prop_assert_eq!(to_vec(parsed), bytes);
        }
    }

    #[test]
    fn spelled_bodies_parse_to_their_device((device, body) in valid::body_strategy(Profile::seed())) {
        let parsed = from_bytes(&body);
        prop_assert_eq!(parsed.as_ref(), Ok(&device), "{}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn bytes_model_bytes_model(device in valid::strategy(Profile::seed()), seed in any::<u64>()) {
        let body = render(Profile::seed(), &device, &mut Rng::new(seed));
        let first = from_bytes(&body);
        prop_assert_eq!(first.as_ref(), Ok(&device), "{}", String::from_utf8_lossy(&body));
        // The device read from the spelled body, serialized and read again.
        if let Ok(first) = &first {
            let bytes = to_vec(first);
            let second = from_bytes(&bytes);
            prop_assert_eq!(second.as_ref(), Ok(first));
        }
    }
}

#[test]
fn seed_example_request_round_trips() {
    let body = include_bytes!("data/seed-example-request.json");
    let device = from_bytes(body).expect("the seed example request is a valid device");
    let bytes = to_vec(&device);
    assert_eq!(from_bytes(&bytes), Ok(device.clone()));
    assert_eq!(to_vec(&from_bytes(&bytes).unwrap()), bytes);
    // Same JSON value as the page's example, member for member.
    let original: serde_json::Value = serde_json::from_slice(body).unwrap();
    let again: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(original, again);
}

#[test]
fn seed_example_response_is_a_device_with_its_id() {
    let profile = Profile::seed();
    let body = include_bytes!("data/seed-example-response.json");
    let device = from_bytes(body).expect("the seed example response is a valid device");
    assert_eq!(
        device.id(profile).map(|g| g.as_str()),
        Some("c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3")
    );
    let request = from_bytes(include_bytes!("data/seed-example-request.json")).unwrap();
    // The response echoes every property of the request.
    let key = profile.key();
    for (i, (a, b)) in request
        .properties
        .iter()
        .zip(&device.properties)
        .enumerate()
    {
        if i != key {
            assert_eq!(a, b, "property {}", profile.properties()[i].name);
        }
    }
}

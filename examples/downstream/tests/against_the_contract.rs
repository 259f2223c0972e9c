//! The service's model against the contract: every valid device the harness generates,
//! in every JSON spelling it renders, is read, and read as the harness's strict parser
//! reads it; every body the contract rejects as unreadable JSON, the service rejects too.

use devices_harness::generate::{malformed, valid};
use devices_harness::{Category, Device, Profile, Value, from_bytes};
use proptest::prelude::*;

/// A string property of `device` as the contract reads it.
fn text(device: &Device, name: &str) -> Option<String> {
    match device.get(Profile::seed(), name)? {
        Value::String(s) => Some(s.to_string()),
        Value::Guid(g) => Some(g.as_str().to_ascii_lowercase()),
        _ => None,
    }
}

proptest! {
    #[test]
    fn every_valid_device_is_read_as_the_contract_reads_it(
        (device, body) in valid::body_strategy(Profile::seed())
    ) {
        // The harness's parser is the judge: the body is this valid device.
        prop_assert_eq!(&from_bytes(&body).map_err(|e| TestCaseError::fail(e.to_string()))?, &device);
        let ours = downstream::read(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ours.display_name, text(&device, "displayName"));
        prop_assert_eq!(ours.id.map(|id| id.to_ascii_lowercase()), text(&device, "id"));
        let version = match device.get(Profile::seed(), "deviceVersion") {
            Some(Value::Int32(n)) => Some(*n),
            _ => None,
        };
        prop_assert_eq!(ours.device_version, version);
    }

    #[test]
    fn every_unreadable_body_is_rejected(case in malformed::strategy(Profile::seed())) {
        let verdict = from_bytes(&case.bytes);
        if let Err(e) = verdict
            && e.category() == Category::Syntax
        {
            let ours = downstream::read(&case.bytes);
            prop_assert!(ours.is_err(), "{} ({}): read as {:?}", case.description, e, ours);
        }
    }
}

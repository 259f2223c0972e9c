//! The payloads both benches use, and the plain derived struct that is the baseline
//! "typed JSON without the contract".

use devices_harness::{Device, Profile, Value, from_bytes, to_vec};

/// The payloads: the seed page's example; a large device (1,500 physicalIds, 50
/// alternativeSecurityIds) grown from it; and one just under the 4 MiB limit.
pub fn payloads() -> Vec<(&'static str, Vec<u8>)> {
    let seed = include_bytes!("../../tests/data/seed-example-request.json").to_vec();
    let Ok(mut large) = from_bytes(&seed) else {
        panic!("the seed example must parse");
    };
    let mut max = large.clone();
    grow(&mut large, "physicalIds", 1500);
    grow(&mut large, "alternativeSecurityIds", 50);
    // Close under the limit: 4,000 alternativeSecurityIds, then physicalIds to fill.
    grow(&mut max, "alternativeSecurityIds", 4_000);
    let limit = devices_harness::contract::MAX_BODY_BYTES;
    let base = to_vec(&max).len();
    let per_id = "\"Physical Ids value 100000\",".len();
    grow(&mut max, "physicalIds", (limit - base) / per_id);
    let max = to_vec(&max);
    assert!(
        max.len() <= limit && max.len() > limit / 100 * 95,
        "{}",
        max.len()
    );
    vec![("seed", seed), ("large", to_vec(&large)), ("max", max)]
}

/// The same device as a plain derived struct: no validation, no lexical preservation.
/// The baseline "typed JSON without the contract".
#[allow(non_snake_case, dead_code)]
#[derive(serde::Deserialize, serde::Serialize)]
pub struct PlainDevice {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: Option<String>,
    pub deletedDateTime: Option<String>,
    pub accountEnabled: Option<bool>,
    pub alternativeSecurityIds: Vec<PlainAlternativeSecurityId>,
    pub approximateLastSignInDateTime: Option<String>,
    pub complianceExpirationDateTime: Option<String>,
    pub deviceId: Option<String>,
    pub deviceMetadata: Option<String>,
    pub deviceVersion: Option<i32>,
    pub displayName: Option<String>,
    pub isCompliant: Option<bool>,
    pub isManaged: Option<bool>,
    pub onPremisesLastSyncDateTime: Option<String>,
    pub onPremisesSyncEnabled: Option<bool>,
    pub operatingSystem: Option<String>,
    pub operatingSystemVersion: Option<String>,
    pub physicalIds: Vec<String>,
    pub profileType: Option<String>,
    pub systemLabels: Vec<String>,
    pub trustType: Option<String>,
    pub Name: Option<String>,
    pub Manufacturer: Option<String>,
    pub Model: Option<String>,
    pub Kind: Option<String>,
    pub Status: Option<String>,
    pub Platform: Option<String>,
}

#[allow(non_snake_case, dead_code)]
#[derive(serde::Deserialize, serde::Serialize)]
pub struct PlainAlternativeSecurityId {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<i32>,
    pub identityProvider: Option<String>,
    pub key: Option<String>,
}

/// Repeats the first element of collection `name` (with a distinct string where it is
/// one) until it has `n` elements.
fn grow(device: &mut Device, name: &str, n: usize) {
    let Some(i) = Profile::seed().property_index(name) else {
        panic!("{name} is in the seed table");
    };
    match device.properties.get_mut(i) {
        Some(Some(Value::Strings(items))) => {
            let first = items.get(0).unwrap_or_default().to_owned();
            *items = (0..n).map(|k| format!("{first} {k}")).collect();
        }
        Some(Some(Value::Collection(items))) => {
            let first = items[0].clone();
            *items = vec![first; n];
        }
        _ => panic!("{name} is a collection"),
    }
}

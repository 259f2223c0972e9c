//! Someone's own devices service, reduced to its model: a serde struct for the properties
//! it uses. Its tests (`tests/against_the_contract.rs`) hold it to the contract with the
//! harness's generators, and judge it with the harness's parser.
//!
//! Their first runs found four bugs in the naive `serde_json::from_slice` model, all fixed
//! below: serde_json reads `-0` as a float, so a valid `"deviceVersion": -0` was refused;
//! and for members the struct does not name it checks neither UTF-8, nor escapes for lone
//! surrogates, nor the depth limit of 64 (its own is 128), so such bodies were taken for
//! devices.

use std::fmt;

use serde::{Deserialize, Deserializer, de::Error as _};

/// The part of a device this service keeps.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The client-supplied key, when sent.
    pub id: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// The device version.
    #[serde(default, deserialize_with = "int32")]
    pub device_version: Option<i32>,
    /// Whether the account is enabled.
    pub account_enabled: Option<bool>,
}

/// Why a body is not a device.
#[derive(Debug)]
pub enum ReadError {
    /// The body is not UTF-8.
    Utf8(std::str::Utf8Error),
    /// The body is not JSON of a device's shape.
    Json(serde_json::Error),
    /// Objects and arrays nested past the limit.
    TooDeep,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Utf8(e) => write!(f, "not UTF-8: {e}"),
            ReadError::Json(e) => write!(f, "not a device: {e}"),
            ReadError::TooDeep => write!(f, "nested deeper than {MAX_DEPTH}"),
        }
    }
}

/// The contract's nesting limit.
const MAX_DEPTH: usize = 64;

/// Reads a request body the way the service does: the whole body as UTF-8 and as a JSON
/// value (serde_json skips members a struct does not name without checking their bytes or
/// escapes), within the depth limit, then as a device.
pub fn read(body: &[u8]) -> Result<Device, ReadError> {
    let text = std::str::from_utf8(body).map_err(ReadError::Utf8)?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(ReadError::Json)?;
    if depth(&value) > MAX_DEPTH {
        return Err(ReadError::TooDeep);
    }
    serde_json::from_value(value).map_err(ReadError::Json)
}

/// How deeply `v` nests objects and arrays (a scalar is 0).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// An Edm.Int32, where `-0` (which serde_json reads as a float) is 0.
fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    match n.as_i64() {
        Some(i) => i32::try_from(i).map(Some).map_err(D::Error::custom),
        None if n.as_f64() == Some(0.0) => Ok(Some(0)),
        None => Err(D::Error::custom(format!("{n} is not an Int32"))),
    }
}

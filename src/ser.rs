//! The exact serializer: [`to_vec`].
//!
//! Compact JSON, members in this order: annotations (as kept, `@odata.type` first when it
//! was sent first), the properties in table order, then accepted unknown members. Lexical
//! forms are written as kept, so `from_bytes(&to_vec(&d)) == d` for every valid `d`, and
//! `to_vec` of a parsed device is a fixpoint.
//!
//! ```
//! use devices_harness::{parse::from_bytes, ser::to_vec};
//! let body = std::fs::read("tests/data/seed-example-request.json").unwrap();
//! let device = from_bytes(&body).unwrap();
//! let bytes = to_vec(&device);
//! assert_eq!(from_bytes(&bytes).unwrap(), device);
//! assert_eq!(to_vec(&from_bytes(&bytes).unwrap()), bytes);
//! ```

use crate::contract::{Profile, PropertyDef};
use crate::model::{Device, Member, Value};
pub use crate::scan::write_str;
use crate::scan::{write_i32, write_utf8_list};

/// Serializes `device` under the seed profile.
pub fn to_vec(device: &Device) -> Vec<u8> {
    to_vec_with(Profile::seed(), device)
}

/// Serializes `device` under `profile`.
pub fn to_vec_with(profile: &Profile, device: &Device) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(profile, device) + 64);
    write_device(&mut out, profile, device);
    out
}

/// Appends `device` to `out`.
pub fn write_device(out: &mut Vec<u8>, profile: &Profile, device: &Device) {
    out.push(b'{');
    let mut first = true;
    write_members(
        out,
        profile,
        profile.properties(),
        &device.properties,
        &device.annotations,
        &mut first,
    );
    for m in &device.unknown {
        write_member(out, m, &mut first);
    }
    out.push(b'}');
}

/// About the serialized size, so `to_vec` usually allocates once.
fn size_hint(profile: &Profile, device: &Device) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len() + 2,
            Value::DateTimeOffset(t) => t.as_str().len() + 2,
            Value::Binary(b) => b.as_str().len() + 2,
            Value::Guid(g) => g.as_str().len() + 2,
            Value::Complex(c) => {
                let members: usize = c.members.iter().flatten().map(|v| value(v) + 24).sum();
                let annotations: usize = c.annotations.iter().map(member).sum();
                members + annotations + 2
            }
            // Quotes and commas; escapes are the rare excess.
            Value::Strings(items) => items.text_len() + 3 * items.len() + 2,
            // Collections are mostly alike: the longer of the first and the last element
            // stands for the rest (generated ids grow), which keeps the hint
            // O(properties); summing every element cost more than the copying it saves.
            Value::Collection(items) => {
                let each = items
                    .first()
                    .map_or(0, value)
                    .max(items.last().map_or(0, value));
                (each + 1) * items.len() + 2
            }
            Value::Null | Value::Boolean(_) | Value::Int32(_) => 11,
        }
    }
    fn member(m: &Member) -> usize {
        m.name.len() + m.value.as_str().len() + 4
    }
    let names: usize = profile.properties().iter().map(|p| p.name.len() + 4).sum();
    let values: usize = device.properties.iter().flatten().map(value).sum();
    let extra: usize = device
        .annotations
        .iter()
        .chain(&device.unknown)
        .map(member)
        .sum();
    names + values + extra + 2
}

fn write_members(
    out: &mut Vec<u8>,
    profile: &Profile,
    table: &[PropertyDef],
    values: &[Option<Value>],
    annotations: &[Member],
    first: &mut bool,
) {
    for m in annotations {
        write_member(out, m, first);
    }
    for (def, value) in table.iter().zip(values) {
        if let Some(value) = value {
            comma(out, first);
            out.extend_from_slice(def.member_prefix.as_bytes());
            write_value(out, profile, def, value);
        }
    }
}

fn comma(out: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        out.push(b',');
    }
    *first = false;
}

fn write_member(out: &mut Vec<u8>, m: &Member, first: &mut bool) {
    comma(out, first);
    write_str(out, &m.name);
    out.push(b':');
    out.extend_from_slice(m.value.as_str().as_bytes());
}

pub(crate) fn write_value(out: &mut Vec<u8>, profile: &Profile, def: &PropertyDef, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Int32(n) => write_i32(out, *n),
        Value::String(s) => write_str(out, s),
        Value::DateTimeOffset(t) => write_str(out, t.as_str()),
        Value::Binary(b) => write_str(out, b.as_str()),
        Value::Guid(g) => write_str(out, g.as_str()),
        Value::Complex(c) => {
            out.push(b'{');
            let mut first = true;
            let members = profile.members_of(def);
            write_members(
                out,
                profile,
                members,
                &c.members,
                &c.annotations,
                &mut first,
            );
            out.push(b'}');
        }
        Value::Strings(items) => {
            // Cut by the ends as bytes: the text was pushed whole strings at a time, so
            // every cut is a character boundary (no check per element, as `str` slicing
            // would make).
            let (text, ends) = items.parts();
            out.push(b'[');
            write_utf8_list(out, text.as_bytes(), ends);
            out.push(b']');
        }
        Value::Collection(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, profile, def, item);
            }
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::fast::Generator;

    /// A long collection whose elements grow (as generated ids do) is written into the
    /// buffer the hint sized, without growing it: a hint from the first element alone
    /// was short, and the vector's growth copied everything written so far. (Packed
    /// strings are sized by their whole text now.)
    #[test]
    fn a_growing_collection_is_written_without_regrowth() {
        let profile = Profile::seed();
        let mut device = Generator::new(17).valid_device();
        let Some(i) = profile.property_index("physicalIds") else {
            panic!("physicalIds is in the seed table");
        };
        device.properties[i] = Some(Value::Strings(
            (0..5_000).map(|k| format!("id {k}")).collect(),
        ));
        let hint = size_hint(profile, &device) + 64;
        let out = to_vec_with(profile, &device);
        assert!(out.len() > 5_000 * 6, "{} bytes", out.len());
        assert_eq!(out.capacity(), hint, "the buffer grew past the hint");
        assert_eq!(crate::parse::from_bytes(&out).ok(), Some(device));
    }
}

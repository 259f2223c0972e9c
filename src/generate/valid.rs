//! Valid devices, read from the profile's table and weighted toward the edges of each
//! type: Int32 bounds, empty and escape-heavy strings, astral characters, strings at the
//! UTF-16 limit, leap days, years 0001 and 9999, 0-12 fraction digits, offsets of
//! +/-14:00, both base64 alphabets, empty and large collections, null everywhere it is
//! allowed, an optional client id and annotations.

use std::sync::Arc;

use proptest::prelude::*;

use super::{Replay, Source};
use crate::contract::{Base, Edm, Profile, PropertyDef};
use crate::model::{
    Binary, Complex, DateTimeOffset, Device, Guid, Member, RawJson, Value, days_in_month,
    is_leap_year,
};

/// Characters that break naive JSON handling: escapes, NUL, controls, DEL, combining
/// marks, bidi controls, zero-width and line separators, noncharacters, astral ones.
pub const EDGE_CHARS: &[char] = &[
    '\0',
    '"',
    '\\',
    '/',
    '\u{8}',
    '\u{c}',
    '\n',
    '\r',
    '\t',
    '\u{1f}',
    '\u{7f}',
    'é',
    '\u{301}',
    '\u{202e}',
    '\u{200f}',
    '\u{200b}',
    '\u{2028}',
    '\u{2029}',
    '\u{fdd0}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{10ffff}',
    '\u{1f600}',
    '\u{1d11e}',
    '中',
    '\u{feff}',
];

/// A valid device under `profile`.
pub fn device(profile: &Profile, src: &mut impl Source) -> Device {
    let properties = profile
        .properties()
        .iter()
        .map(|def| slot(profile, def, src))
        .collect();
    let mut annotations = Vec::new();
    if src.one_in(2) {
        annotations.push(Member {
            name: "@odata.type".into(),
            value: RawJson::string(profile.odata_type()),
        });
    }
    if src.one_in(6) {
        let n = src.bits() as i64;
        annotations.push(Member {
            name: "@harness.note".into(),
            value: RawJson(format!("{{\"n\":[{n},true,null,\"\\u00e9\"]}}")),
        });
    }
    Device {
        properties,
        annotations,
        unknown: Vec::new(),
    }
}

/// A shrinkable proptest strategy for valid devices under `profile`: proptest draws a
/// vector of choices and shrinks it toward fewer and smaller ones, which the generator
/// turns into simpler devices (absent, null, empty, zero).
pub fn strategy(profile: &Profile) -> BoxedStrategy<Device> {
    let profile = Arc::new(profile.clone());
    prop::collection::vec(any::<u64>(), 0..2048)
        .prop_map(move |choices| device(&profile, &mut Replay::new(&choices)))
        .boxed()
}

/// The value of one property: present when required, absent sometimes when not; null
/// sometimes when nullable.
fn slot(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Option<Value> {
    if !def.required && src.weighted(&[1, 1]) == 0 {
        return None;
    }
    if def.nullable && src.weighted(&[1, 5]) == 0 {
        return Some(Value::Null);
    }
    Some(value(profile, def, src))
}

/// A non-null value of `def`: a collection (empty, small or large) or one element.
pub fn value(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Value {
    if !def.collection {
        return element(profile, def, src);
    }
    let len = match src.weighted(&[2, 8, 1]) {
        0 => 0,
        1 => 1 + src.below(5),
        _ => 20 + src.below(60),
    };
    Value::Collection((0..len).map(|_| element(profile, def, src)).collect())
}

/// One non-null element of `def`'s type.
pub fn element(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Value {
    match def.base {
        Base::Primitive(Edm::String) => Value::String(string(def.max_utf16, src)),
        Base::Primitive(Edm::Boolean) => Value::Boolean(src.below(2) == 1),
        Base::Primitive(Edm::Int32) => Value::Int32(int32(src)),
        Base::Primitive(Edm::DateTimeOffset) => Value::DateTimeOffset(date_time_offset(src)),
        Base::Primitive(Edm::Binary) => Value::Binary(binary(src)),
        Base::Primitive(Edm::Guid) => Value::Guid(guid(src)),
        Base::Complex(i) => {
            let Some(ty) = profile.complex_types().get(i) else {
                return Value::Null;
            };
            let members = ty.members.iter().map(|m| slot(profile, m, src)).collect();
            let mut annotations = Vec::new();
            if !ty.odata_types.is_empty() && src.one_in(2) {
                let t = &ty.odata_types[src.below(ty.odata_types.len() as u64) as usize];
                annotations.push(Member {
                    name: "@odata.type".into(),
                    value: RawJson::string(t),
                });
            }
            Value::Complex(Complex {
                members,
                annotations,
            })
        }
    }
}

/// An Int32, often a bound.
pub fn int32(src: &mut impl Source) -> i32 {
    match src.weighted(&[1, 1, 1, 1, 1, 6]) {
        0 => 0,
        1 => -1,
        2 => 1,
        3 => i32::MIN,
        4 => i32::MAX,
        _ => src.bits() as i32,
    }
}

/// A string: empty, ASCII, edge characters, any Unicode, or exactly at the limit; at most
/// `max_utf16` UTF-16 code units when given.
pub fn string(max_utf16: Option<usize>, src: &mut impl Source) -> String {
    let at_limit = if max_utf16.is_some() { 1 } else { 0 };
    let s: String = match src.weighted(&[2, 6, 3, 3, at_limit]) {
        0 => String::new(),
        1 => {
            let n = src.below(25);
            (0..n)
                .map(|_| char::from(b' ' + src.below(95) as u8))
                .collect()
        }
        2 => {
            let n = 1 + src.below(12);
            (0..n)
                .map(|_| EDGE_CHARS[src.below(EDGE_CHARS.len() as u64) as usize])
                .collect()
        }
        3 => {
            let n = 1 + src.below(16);
            (0..n).map(|_| any_char(src)).collect()
        }
        _ => {
            let max = max_utf16.unwrap_or(0);
            match src.below(3) {
                0 => "x".repeat(max),
                1 => "\u{1f600}".repeat(max / 2) + &"x".repeat(max % 2),
                _ => "é".repeat(max.saturating_sub(2)) + "\u{10ffff}",
            }
        }
    };
    match max_utf16 {
        Some(max) if s.len() > max => truncate_utf16(&s, max),
        _ => s,
    }
}

/// Any Unicode scalar value, by plane: ASCII, the rest of the BMP, astral.
fn any_char(src: &mut impl Source) -> char {
    let code = match src.weighted(&[1, 2, 2, 2]) {
        0 => src.below(0x80) as u32,
        1 => 0x80 + src.below(0xd800 - 0x80) as u32,
        2 => 0xe000 + src.below(0x1_0000 - 0xe000) as u32,
        _ => 0x1_0000 + src.below(0x11_0000 - 0x1_0000) as u32,
    };
    char::from_u32(code).unwrap_or('\u{fffd}')
}

fn truncate_utf16(s: &str, max: usize) -> String {
    let mut units = 0;
    s.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= max
        })
        .collect()
}

/// A valid DateTimeOffset: years 0001 and 9999, leap days and month ends, 0-12 fraction
/// digits, `Z` and offsets up to 14:00 either way.
pub fn date_time_offset(src: &mut impl Source) -> DateTimeOffset {
    let year = match src.weighted(&[1, 1, 1, 1, 1, 5]) {
        0 => 2000,
        1 => 1,
        2 => 9999,
        3 => 2024,
        4 => 1900,
        _ => 1 + src.below(9999) as u32,
    };
    let month = 1 + src.below(12) as u32;
    let last = days_in_month(year, month);
    let day = match src.weighted(&[4, 1, 1]) {
        0 => 1 + src.below(u64::from(last)) as u32,
        1 => last,
        _ if is_leap_year(year) => {
            return format_dto(src, year, 2, 29);
        }
        _ => last,
    };
    format_dto(src, year, month, day)
}

fn format_dto(src: &mut impl Source, year: u32, month: u32, day: u32) -> DateTimeOffset {
    let (h, mi, s) = (src.below(24), src.below(60), src.below(60));
    let mut text = format!("{year:04}-{month:02}-{day:02}T{h:02}:{mi:02}:{s:02}");
    let digits = src.below(13) as usize;
    if digits > 0 {
        text.push('.');
        for _ in 0..digits {
            text.push(char::from(b'0' + src.below(10) as u8));
        }
    }
    let offset = match src.weighted(&[3, 1, 1, 4]) {
        0 => None,
        1 => Some(14 * 60),
        2 => Some(-14 * 60),
        _ => Some(src.below(2 * 14 * 60 + 1) as i32 - 14 * 60),
    };
    match offset {
        None => text.push('Z'),
        Some(m) => {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            text.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
    }
    // Valid by construction; the agreement tests hold the parser to it.
    DateTimeOffset::unchecked(text)
}

/// Canonical base64 of random bytes: empty or not, either alphabet, padded or not.
pub fn binary(src: &mut impl Source) -> Binary {
    let len = src.below(24) as usize;
    let bytes: Vec<u8> = (0..len).map(|_| src.below(256) as u8).collect();
    Binary::encode(&bytes, src.below(2) == 1, src.below(2) == 1)
}

/// A GUID, lowercase or uppercase.
pub fn guid(src: &mut impl Source) -> Guid {
    let bits = (u128::from(src.bits()) << 64) | u128::from(src.bits());
    let g = Guid::from_random(bits);
    if src.one_in(4) {
        Guid::parse_owned(g.as_str().to_ascii_uppercase()).unwrap_or(g)
    } else {
        g
    }
}

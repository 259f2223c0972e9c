//! Valid devices, read from the profile's table and weighted toward the edges of each
//! type: Int32 bounds, empty and escape-heavy strings, astral characters, strings at the
//! UTF-16 limit, leap days, years 0001 and 9999, 0-12 fraction digits, offsets of
//! +/-14:00, both base64 alphabets, empty and large collections, null everywhere it is
//! allowed, an optional client id and annotations.

use super::Source;
use crate::contract::{Base, Edm, Profile, PropertyDef};
use crate::model::{
    Binary, Complex, DateTimeOffset, Device, Guid, Member, RawJson, Strings, Value, days_in_month,
    is_leap_year,
};
use crate::scan::is_special;
use crate::scan::{write_escape, write_i32, write_str, write_str_content};

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
    let extras = Extras::draw(src);
    let properties = profile
        .properties()
        .iter()
        .map(|def| slot(profile, def, src))
        .collect();
    let mut annotations = Vec::new();
    if extras.odata_type {
        annotations.push(Member {
            name: "@odata.type".into(),
            value: RawJson::string(profile.odata_type()),
        });
    }
    if let Some(n) = extras.note {
        annotations.push(Member {
            name: extras.note_name().into(),
            value: RawJson(note_text(n)),
        });
    }
    Device {
        properties,
        annotations,
        unknown: Vec::new(),
    }
}

/// Writes the device [`device`] would build from the same choices, exactly as
/// [`crate::ser::to_vec_with`] would serialize it, without building it: the fast path.
/// `scratch` is reused between values.
pub fn write_device(
    profile: &Profile,
    src: &mut impl Source,
    out: &mut Vec<u8>,
    scratch: &mut String,
) {
    let extras = Extras::draw(src);
    out.push(b'{');
    let mut first = true;
    if extras.odata_type {
        member(out, &mut first, "@odata.type");
        write_str(out, profile.odata_type());
    }
    if let Some(n) = extras.note {
        member(out, &mut first, extras.note_name());
        out.extend_from_slice(note_text(n).as_bytes());
    }
    for def in profile.properties() {
        write_slot(profile, def, src, out, scratch, &mut first);
    }
    out.push(b'}');
}

pub(crate) const NOTE: &str = "@harness.note";

/// A note's name outside Latin-1 (an annotation is any member named `@...`): names a
/// target stores in a narrow encoding crash on it.
pub(crate) const NOTE_WIDE: &str = "@harness.\u{30ce}\u{30fc}\u{30c8}";

pub(crate) fn note_text(n: i64) -> String {
    format!("{{\"n\":[{n},true,null,\"\\u00e9\"]}}")
}

/// The device's annotation choices, drawn before its properties.
pub(crate) struct Extras {
    pub(crate) odata_type: bool,
    pub(crate) note: Option<i64>,
    pub(crate) wide_note: bool,
}

impl Extras {
    pub(crate) fn draw(src: &mut impl Source) -> Extras {
        let odata_type = src.one_in(2);
        let note = src.one_in(6).then(|| src.bits() as i64);
        let wide_note = note.is_some() && src.one_in(4);
        Extras {
            odata_type,
            note,
            wide_note,
        }
    }

    /// The note's member name.
    pub(crate) fn note_name(&self) -> &'static str {
        if self.wide_note { NOTE_WIDE } else { NOTE }
    }
}

fn member(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_str(out, name);
    out.push(b':');
}

/// Absent, null or a value: the choice [`slot`] and [`write_slot`] share.
#[derive(PartialEq)]
pub(crate) enum Presence {
    Absent,
    Null,
    Value,
}

pub(crate) fn presence(def: &PropertyDef, src: &mut impl Source) -> Presence {
    // A read-only property is the server's to set (a client id is the policy's business).
    if def.read_only && !def.key && !def.required {
        return Presence::Absent;
    }
    if !def.required && src.weighted(&[1, 1]) == 0 {
        Presence::Absent
    } else if def.nullable && src.weighted(&[1, 5]) == 0 {
        Presence::Null
    } else {
        Presence::Value
    }
}

/// How many elements a collection gets: empty, small or large.
pub(crate) fn collection_len(src: &mut impl Source) -> u64 {
    match src.weighted(&[2, 8, 1]) {
        0 => 0,
        1 => 1 + src.below(5),
        _ => 16 + src.below(33),
    }
}

/// The complex value's `@odata.type`, drawn before its members.
pub(crate) fn complex_odata_type<'t>(
    types: &'t [String],
    src: &mut impl Source,
) -> Option<&'t str> {
    if types.is_empty() || !src.one_in(2) {
        return None;
    }
    Some(&types[src.below(types.len() as u64) as usize])
}

fn write_slot(
    profile: &Profile,
    def: &PropertyDef,
    src: &mut impl Source,
    out: &mut Vec<u8>,
    scratch: &mut String,
    first: &mut bool,
) {
    let p = presence(def, src);
    if p == Presence::Absent {
        return;
    }
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.extend_from_slice(def.member_prefix.as_bytes());
    if p == Presence::Null {
        out.extend_from_slice(b"null");
    } else if def.collection {
        out.push(b'[');
        for i in 0..collection_len(src) {
            if i > 0 {
                out.push(b',');
            }
            write_element(profile, def, src, out, scratch);
        }
        out.push(b']');
    } else {
        write_element(profile, def, src, out, scratch);
    }
}

pub(crate) fn write_element(
    profile: &Profile,
    def: &PropertyDef,
    src: &mut impl Source,
    out: &mut Vec<u8>,
    scratch: &mut String,
) {
    scratch.clear();
    match def.base {
        Base::Primitive(Edm::Boolean) => {
            out.extend_from_slice(if src.below(2) == 1 { b"true" } else { b"false" })
        }
        Base::Primitive(Edm::Int32) => write_i32(out, int32(src)),
        Base::Primitive(Edm::String) if def.max_utf16.is_some() => {
            string_into(def.max_utf16, src, scratch);
            write_str(out, scratch);
        }
        Base::Primitive(Edm::String) => {
            out.push(b'"');
            string_content(None, src, &mut Escaped(out));
            out.push(b'"');
        }
        Base::Primitive(edm) => {
            // DateTimeOffset, Binary and GUID text never needs escaping.
            text_into(edm, None, src, scratch);
            out.push(b'"');
            out.extend_from_slice(scratch.as_bytes());
            out.push(b'"');
        }
        Base::Complex(i) => {
            let Some(ty) = profile.complex_types().get(i) else {
                out.extend_from_slice(b"null");
                return;
            };
            out.push(b'{');
            let mut first = true;
            if let Some(t) = complex_odata_type(&ty.odata_types, src) {
                member(out, &mut first, "@odata.type");
                write_str(out, t);
            }
            for m in &ty.members {
                write_slot(profile, m, src, out, scratch, &mut first);
            }
            out.push(b'}');
        }
    }
}

/// The text of a string-valued primitive (String, DateTimeOffset, Binary, Guid).
fn text_into(edm: Edm, max_utf16: Option<usize>, src: &mut impl Source, out: &mut String) {
    match edm {
        Edm::String => string_into(max_utf16, src, out),
        Edm::DateTimeOffset => date_time_offset_into(src, out),
        Edm::Binary => binary_into(src, out),
        Edm::Guid => guid_into(src, out),
        Edm::Boolean | Edm::Int32 => {}
    }
}

/// The value of one property: present when required, absent sometimes when not; null
/// sometimes when nullable.
fn slot(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Option<Value> {
    match presence(def, src) {
        Presence::Absent => None,
        Presence::Null => Some(Value::Null),
        Presence::Value => Some(value(profile, def, src)),
    }
}

/// A non-null value of `def`: a collection (empty, small or large) or one element.
pub fn value(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Value {
    if !def.collection {
        return element(profile, def, src);
    }
    let len = collection_len(src);
    if def.base == Base::Primitive(Edm::String) {
        let mut items = Strings::new();
        let mut text = String::new();
        for _ in 0..len {
            text.clear();
            text_into(Edm::String, def.max_utf16, src, &mut text);
            items.push(&text);
        }
        return Value::Strings(items);
    }
    Value::Collection((0..len).map(|_| element(profile, def, src)).collect())
}

/// One non-null element of `def`'s type.
pub fn element(profile: &Profile, def: &PropertyDef, src: &mut impl Source) -> Value {
    let mut text = String::new();
    match def.base {
        Base::Primitive(Edm::Boolean) => Value::Boolean(src.below(2) == 1),
        Base::Primitive(Edm::Int32) => Value::Int32(int32(src)),
        Base::Primitive(edm) => {
            text_into(edm, def.max_utf16, src, &mut text);
            match edm {
                Edm::DateTimeOffset => Value::DateTimeOffset(DateTimeOffset::unchecked(text)),
                Edm::Binary => Value::Binary(Binary::unchecked(text)),
                Edm::Guid => Value::Guid(Guid::unchecked(text)),
                _ => Value::String(text.into()),
            }
        }
        Base::Complex(i) => {
            let Some(ty) = profile.complex_types().get(i) else {
                return Value::Null;
            };
            let annotations = complex_odata_type(&ty.odata_types, src)
                .map(|t| Member {
                    name: "@odata.type".into(),
                    value: RawJson::string(t),
                })
                .into_iter()
                .collect();
            let members = ty.members.iter().map(|m| slot(profile, m, src)).collect();
            Value::Complex(Box::new(Complex {
                members,
                annotations,
            }))
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
    let mut s = String::new();
    string_into(max_utf16, src, &mut s);
    s
}

/// [`string`], appended to `out` (which is expected empty when a limit is given).
pub fn string_into(max_utf16: Option<usize>, src: &mut impl Source, out: &mut String) {
    let start = out.len();
    string_content(max_utf16, src, out);
    if let Some(max) = max_utf16
        && out.len() - start > max
    {
        truncate_utf16(out, start, max);
    }
}

/// Where drawn string content goes: a `String` (the model), or straight into JSON text,
/// escaped on the way (the fast writer).
trait Text {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
}

impl Text for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    fn push(&mut self, c: char) {
        String::push(self, c);
    }
}

/// JSON string content: what is pushed is escaped as [`write_str`] would.
struct Escaped<'a>(&'a mut Vec<u8>);

impl Text for Escaped<'_> {
    fn push_str(&mut self, s: &str) {
        write_str_content(self.0, s);
    }

    fn push(&mut self, c: char) {
        if !c.is_ascii() {
            self.0
                .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        } else if is_special(c as u8) {
            write_escape(self.0, c as u8);
        } else {
            self.0.push(c as u8);
        }
    }
}

/// The drawn content of a string (before any length limit is applied).
fn string_content(max_utf16: Option<usize>, src: &mut impl Source, out: &mut impl Text) {
    let at_limit = u64::from(max_utf16.is_some());
    match src.weighted(&[2, 6, 3, 3, at_limit]) {
        0 => {}
        1 => ascii_into(src.below(25) as usize, src, out),
        2 => {
            // Eight picks from each 64 random bits.
            let mut left = 1 + src.below(12);
            while left > 0 {
                for b in src.bits().to_le_bytes().iter().take(left.min(8) as usize) {
                    out.push(EDGE_CHARS[usize::from(*b) % EDGE_CHARS.len()]);
                }
                left = left.saturating_sub(8);
            }
        }
        3 => {
            // Two characters from each 64 random bits.
            let mut left = 1 + src.below(16);
            while left > 0 {
                let bits = src.bits();
                out.push(any_char(bits as u32));
                if left > 1 {
                    out.push(any_char((bits >> 32) as u32));
                }
                left = left.saturating_sub(2);
            }
        }
        _ => {
            let max = max_utf16.unwrap_or(0);
            match src.below(3) {
                0 => out.push_str(&"x".repeat(max)),
                1 => {
                    out.push_str(&"\u{1f600}".repeat(max / 2));
                    out.push_str(&"x".repeat(max % 2));
                }
                _ => {
                    out.push_str(&"é".repeat(max.saturating_sub(2)));
                    out.push('\u{10ffff}');
                }
            }
        }
    }
}

/// `n` printable ASCII characters, eight from each 64 random bits.
fn ascii_into(n: usize, src: &mut impl Source, out: &mut impl Text) {
    let mut left = n;
    while left > 0 {
        let mut chunk = src.bits().to_le_bytes();
        for b in &mut chunk {
            *b = b' ' + *b % 95;
        }
        let take = left.min(8);
        // Printable ASCII is always UTF-8.
        out.push_str(std::str::from_utf8(&chunk[..take]).unwrap_or_default());
        left -= take;
    }
}

/// A Unicode scalar value from 32 random bits, by plane: ASCII (1 in 7), the rest of the
/// BMP below and above the surrogates (2 in 7 each), astral (2 in 7).
fn any_char(r: u32) -> char {
    let v = r >> 3;
    let code = match r % 7 {
        0 => v % 0x80,
        1 | 2 => 0x80 + v % (0xd800 - 0x80),
        3 | 4 => 0xe000 + v % (0x1_0000 - 0xe000),
        _ => 0x1_0000 + v % (0x11_0000 - 0x1_0000),
    };
    char::from_u32(code).unwrap_or('\u{fffd}')
}

/// Truncates what follows `start` in `s` to at most `max` UTF-16 units.
fn truncate_utf16(s: &mut String, start: usize, max: usize) {
    let mut units = 0;
    let end = s[start..]
        .char_indices()
        .find(|(_, c)| {
            units += c.len_utf16();
            units > max
        })
        .map_or(s.len(), |(i, _)| start + i);
    s.truncate(end);
}

/// A valid DateTimeOffset: years 0001 and 9999, leap days and month ends, 0-12 fraction
/// digits, `Z` and offsets up to 14:00 either way.
pub fn date_time_offset(src: &mut impl Source) -> DateTimeOffset {
    let mut s = String::new();
    date_time_offset_into(src, &mut s);
    DateTimeOffset::unchecked(s)
}

fn date_time_offset_into(src: &mut impl Source, out: &mut String) {
    let year = match src.weighted(&[1, 1, 1, 1, 1, 5]) {
        0 => 2000,
        1 => 1,
        2 => 9999,
        3 => 2024,
        4 => 1900,
        _ => 1 + src.below(9999) as u32,
    };
    let mut month = 1 + src.below(12) as u32;
    let last = days_in_month(year, month);
    let day = match src.weighted(&[4, 1, 1]) {
        0 => 1 + src.below(u64::from(last)) as u32,
        2 if is_leap_year(year) => {
            month = 2;
            29
        }
        _ => last,
    };
    let (h, mi, s) = (src.below(24), src.below(60), src.below(60));
    let two = |out: &mut String, v: u64| {
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    two(out, u64::from(year / 100));
    two(out, u64::from(year % 100));
    for (sep, v) in [
        ('-', u64::from(month)),
        ('-', u64::from(day)),
        ('T', h),
        (':', mi),
        (':', s),
    ] {
        out.push(sep);
        two(out, v);
    }
    let digits = src.below(13);
    if digits > 0 {
        out.push('.');
        let frac = src.bits();
        for i in 0..digits {
            out.push(char::from(b'0' + ((frac >> (i * 5)) % 10) as u8));
        }
    }
    let offset = match src.weighted(&[3, 1, 1, 4]) {
        0 => None,
        1 => Some(14 * 60),
        2 => Some(-14 * 60),
        _ => Some(src.below(2 * 14 * 60 + 1) as i32 - 14 * 60),
    };
    match offset {
        None => out.push('Z'),
        Some(m) => {
            out.push(if m < 0 { '-' } else { '+' });
            let m = u64::from(m.unsigned_abs());
            two(out, m / 60);
            out.push(':');
            two(out, m % 60);
        }
    }
}

/// Canonical base64 of random bytes: empty or not, either alphabet, padded or not.
pub fn binary(src: &mut impl Source) -> Binary {
    let mut s = String::new();
    binary_into(src, &mut s);
    Binary::unchecked(s)
}

fn binary_into(src: &mut impl Source, out: &mut String) {
    let len = src.below(24) as usize;
    let mut bytes = [0u8; 24];
    for chunk in bytes[..len].chunks_mut(8) {
        let bits = src.bits().to_le_bytes();
        chunk.copy_from_slice(&bits[..chunk.len()]);
    }
    let (url_safe, padded) = (src.below(2) == 1, src.below(2) == 1);
    Binary::encode_into(&bytes[..len], url_safe, padded, out);
}

/// A GUID, lowercase or uppercase.
pub fn guid(src: &mut impl Source) -> Guid {
    let mut s = String::new();
    guid_into(src, &mut s);
    Guid::unchecked(s)
}

fn guid_into(src: &mut impl Source, out: &mut String) {
    let bits = (u128::from(src.bits()) << 64) | u128::from(src.bits());
    let start = out.len();
    Guid::write_random(bits, out);
    if src.one_in(4) {
        out[start..].make_ascii_uppercase();
    }
}

#[cfg(feature = "proptest")]
pub use strategies::{body_strategy, strategy};

#[cfg(feature = "proptest")]
mod strategies {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::device;
    use crate::contract::Profile;
    use crate::generate::Replay;
    use crate::model::Device;

    /// A shrinkable proptest strategy for valid devices under `profile`: proptest draws a
    /// vector of choices and shrinks it toward fewer and smaller ones, which the generator
    /// turns into simpler devices (absent, null, empty, zero).
    pub fn strategy(profile: &Profile) -> BoxedStrategy<Device> {
        let profile = Arc::new(profile.clone());
        prop::collection::vec(any::<u64>(), 0..2048)
            .prop_map(move |choices| device(&profile, &mut Replay::new(&choices)))
            .boxed()
    }

    /// A valid device and one of its JSON spellings (member order, whitespace, escapes), as
    /// a shrinkable strategy: what a parser under test should read back as that device.
    pub fn body_strategy(profile: &Profile) -> BoxedStrategy<(Device, Vec<u8>)> {
        let profile = Arc::new(profile.clone());
        (
            strategy(&profile),
            prop::collection::vec(any::<u64>(), 0..1024),
        )
            .prop_map(move |(device, choices)| {
                let body =
                    crate::generate::render::render(&profile, &device, &mut Replay::new(&choices));
                (device, body)
            })
            .boxed()
    }
}

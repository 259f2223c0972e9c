//! Valid devices as proptest strategies, read from the profile's table and weighted
//! toward the edges of each type.

use proptest::prelude::*;
use proptest::sample::select;

use crate::contract::{Base, Edm, Profile, PropertyDef};
use crate::model::{
    Binary, Complex, DateTimeOffset, Device, Guid, Member, RawJson, Value, days_in_month,
};

/// Characters that break naive JSON handling: escapes, NUL, controls, DEL, combining
/// marks, bidi controls, line separators, noncharacters, astral characters.
const EDGE_CHARS: &[char] = &[
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
];

/// Any string, edge-heavy, at most `max_utf16` UTF-16 code units when given.
pub fn string(max_utf16: Option<usize>) -> BoxedStrategy<String> {
    let free = prop_oneof![
        2 => Just(String::new()),
        4 => "[ -~]{0,24}",
        3 => prop::collection::vec(select(EDGE_CHARS), 0..12)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        3 => any::<String>(),
    ];
    match max_utf16 {
        None => free.boxed(),
        Some(max) => {
            // Exactly at the limit, in ASCII, all-astral (2 units each) and mixed.
            let at_limit = prop_oneof![
                Just("x".repeat(max)),
                Just("\u{1f600}".repeat(max / 2) + &"x".repeat(max % 2)),
                Just("é".repeat(max.saturating_sub(2)) + "\u{10ffff}"),
            ];
            prop_oneof![
                6 => free.prop_map(move |s| truncate_utf16(&s, max)),
                1 => at_limit,
            ]
            .boxed()
        }
    }
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

/// A valid DateTimeOffset: years 0001 and 9999, leap days, 0-12 fraction digits,
/// `Z` and offsets up to 14:00 either way.
pub fn date_time_offset() -> BoxedStrategy<DateTimeOffset> {
    let year = prop_oneof![
        Just(1u32),
        Just(9999u32),
        Just(2000u32),
        Just(2024u32),
        Just(1900u32),
        1u32..=9999
    ];
    let offset = prop_oneof![
        2 => Just(None),
        1 => Just(Some(14 * 60)),
        1 => Just(Some(-14 * 60)),
        3 => (-(14 * 60)..=14 * 60i32).prop_map(Some),
    ];
    (
        year,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
        0usize..=12,
        any::<u64>(),
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, digits, frac, off)| {
            let d = d.min(days_in_month(y, mo));
            let mut text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            if digits > 0 {
                let f = format!("{:012}", frac % 1_000_000_000_000);
                text.push('.');
                text.push_str(&f[..digits]);
            }
            match off {
                None => text.push('Z'),
                Some(m) => {
                    let sign = if m < 0 { '-' } else { '+' };
                    let m = m.unsigned_abs();
                    text.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
                }
            }
            DateTimeOffset::parse_owned(text)
        })
        .prop_filter_map("valid by construction", Result::ok)
        .boxed()
}

/// A valid Binary: empty or not, both alphabets, padded or not.
pub fn binary() -> BoxedStrategy<Binary> {
    (
        prop::collection::vec(any::<u8>(), 0..24),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(bytes, url, pad)| Binary::encode(&bytes, url, pad))
        .boxed()
}

/// A GUID, lowercase or uppercase.
pub fn guid() -> BoxedStrategy<Guid> {
    (any::<u128>(), any::<bool>())
        .prop_map(|(bits, upper)| {
            let g = Guid::from_random(bits);
            if upper {
                Guid::parse_owned(g.as_str().to_ascii_uppercase()).unwrap_or(g)
            } else {
                g
            }
        })
        .boxed()
}

fn int32() -> BoxedStrategy<i32> {
    prop_oneof![
        Just(i32::MIN),
        Just(i32::MAX),
        Just(0),
        Just(-1),
        Just(1),
        any::<i32>()
    ]
    .boxed()
}

/// One non-null value of `def`'s element type.
fn element(profile: &Profile, def: &PropertyDef) -> BoxedStrategy<Value> {
    match def.base {
        Base::Primitive(Edm::String) => string(def.max_utf16).prop_map(Value::String).boxed(),
        Base::Primitive(Edm::Boolean) => any::<bool>().prop_map(Value::Boolean).boxed(),
        Base::Primitive(Edm::Int32) => int32().prop_map(Value::Int32).boxed(),
        Base::Primitive(Edm::DateTimeOffset) => {
            date_time_offset().prop_map(Value::DateTimeOffset).boxed()
        }
        Base::Primitive(Edm::Binary) => binary().prop_map(Value::Binary).boxed(),
        Base::Primitive(Edm::Guid) => guid().prop_map(Value::Guid).boxed(),
        Base::Complex(i) => {
            let Some(ty) = profile.complex_types().get(i) else {
                return Just(Value::Null).boxed();
            };
            let members: Vec<_> = ty.members.iter().map(|m| slot(profile, m)).collect();
            let odata = if ty.odata_types.is_empty() {
                Just(None).boxed()
            } else {
                prop::option::of(select(ty.odata_types.clone())).boxed()
            };
            (members, odata)
                .prop_map(|(members, odata)| {
                    Value::Complex(Complex {
                        members,
                        annotations: odata
                            .map(|t| Member {
                                name: "@odata.type".into(),
                                value: RawJson::string(&t),
                            })
                            .into_iter()
                            .collect(),
                    })
                })
                .boxed()
        }
    }
}

/// The value of one property: present when required, null sometimes when nullable,
/// collections empty, small or large.
fn slot(profile: &Profile, def: &PropertyDef) -> BoxedStrategy<Option<Value>> {
    let value = if def.collection {
        let one = element(profile, def);
        prop_oneof![
            2 => Just(Vec::new()),
            6 => prop::collection::vec(one.clone(), 1..6),
            1 => prop::collection::vec(one, 20..80),
        ]
        .prop_map(Value::Collection)
        .boxed()
    } else {
        element(profile, def)
    };
    let value = if def.nullable {
        prop_oneof![1 => Just(Value::Null), 4 => value].boxed()
    } else {
        value
    };
    if def.required {
        value.prop_map(Some).boxed()
    } else {
        prop::option::of(value).boxed()
    }
}

/// A valid device under `profile`: every required property, optional ones sometimes,
/// `@odata.type` sometimes, and sometimes a free-form annotation.
pub fn device(profile: &Profile) -> BoxedStrategy<Device> {
    let slots: Vec<_> = profile
        .properties()
        .iter()
        .map(|d| slot(profile, d))
        .collect();
    let odata = RawJson::string(profile.odata_type());
    let annotations = (any::<bool>(), prop::option::of(any::<i64>())).prop_map(move |(t, n)| {
        let mut a = Vec::new();
        if t {
            a.push(Member {
                name: "@odata.type".into(),
                value: odata.clone(),
            });
        }
        if let Some(n) = n {
            a.push(Member {
                name: "@harness.note".into(),
                value: RawJson(format!("{{\"n\":[{n},true,null]}}")),
            });
        }
        a
    });
    (slots, annotations)
        .prop_map(|(properties, annotations)| Device {
            properties,
            annotations,
            unknown: Vec::new(),
        })
        .boxed()
}

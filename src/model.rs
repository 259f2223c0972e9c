//! The device model: values that keep everything a round-trip needs.
//!
//! A [`Device`] holds one slot per row of its profile's property table (see
//! [`crate::contract`]), so no code outside the contract names a property. Lexical forms
//! are kept: a [`DateTimeOffset`] is the very string that was sent (fraction digits and
//! offset), a [`Binary`] its exact base64 text, a [`Guid`] its exact spelling. Annotations
//! are kept apart from properties, in document order, as compact JSON text.

use std::fmt;

use crate::contract::{Base, Edm, Profile, PropertyDef};

/// One device: a value (or absence) per property of the profile's table.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Device {
    /// One slot per property, in table order; `None` is absent, `Some(Value::Null)` is null.
    pub properties: Vec<Option<Value>>,
    /// Annotations (`@odata.type`, `@x.y`, `prop@x.y`), in document order.
    pub annotations: Vec<Member>,
    /// Unknown members kept under [`crate::contract::UnknownProperties::Accept`].
    pub unknown: Vec<Member>,
}

impl Device {
    /// The value of the property `name` of `profile`: `None` when absent (or no such
    /// property), `Some(Value::Null)` when null.
    pub fn get(&self, profile: &Profile, name: &str) -> Option<&Value> {
        let i = profile.property_index(name)?;
        self.properties.get(i)?.as_ref()
    }

    /// A device with every property of `profile` absent.
    pub fn empty(profile: &Profile) -> Device {
        Device {
            properties: vec![None; profile.properties().len()],
            annotations: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// The key (`id`), when present and not null.
    pub fn id(&self, profile: &Profile) -> Option<&Guid> {
        match self.properties.get(profile.key()) {
            Some(Some(Value::Guid(g))) => Some(g),
            _ => None,
        }
    }

    /// Sets the key (`id`).
    pub fn set_id(&mut self, profile: &Profile, id: Guid) {
        if let Some(slot) = self.properties.get_mut(profile.key()) {
            *slot = Some(Value::Guid(id));
        }
    }

    /// The annotation of that name, when present.
    pub fn annotation(&self, name: &str) -> Option<&RawJson> {
        self.annotations
            .iter()
            .find(|m| m.name == name)
            .map(|m| &m.value)
    }
}

/// A complex value such as an `alternativeSecurityId`: one slot per member of its type.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Complex {
    /// One slot per member of the complex type, in table order.
    pub members: Vec<Option<Value>>,
    /// Annotations, in document order.
    pub annotations: Vec<Member>,
}

/// The model of `microsoft.graph.alternativeSecurityId`, whose members the contract's
/// complex-type table describes.
pub type AlternativeSecurityId = Complex;

/// A member kept as name and JSON text (annotations and accepted unknown members).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member name, unescaped.
    pub name: String,
    /// Its value.
    pub value: RawJson,
}

/// Well-formed JSON text with no insignificant whitespace (strings as they were written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawJson(pub(crate) String);

impl RawJson {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A JSON string literal holding `s`.
    pub fn string(s: &str) -> RawJson {
        let mut out = Vec::with_capacity(s.len() + 2);
        crate::scan::write_str(&mut out, s);
        // write_str emits only valid UTF-8 from valid UTF-8.
        RawJson(String::from_utf8(out).unwrap_or_default())
    }
}

/// The text of an `Edm.String` value: held inline when it is 24 bytes or less (most of a
/// device's strings: names, versions, labels), on the heap otherwise. A `str` to read.
///
/// ```
/// use devices_harness::model::Text;
/// let t = Text::from("Device Id value");
/// assert_eq!(t, "Device Id value");
/// assert_eq!(t.len(), 15);
/// assert_eq!(format!("{t:?}"), r#""Device Id value""#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(compact_str::CompactString);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Text {
        Text(s.into())
    }
}

impl From<String> for Text {
    #[inline]
    fn from(s: String) -> Text {
        Text(s.into())
    }
}

/// Borrowed text is copied (inline when short); owned text keeps its buffer.
impl From<std::borrow::Cow<'_, str>> for Text {
    // Always inline: the parser builds each string value in its slot through this
    // (see `Parser::single`), which a call returning the text on the stack undoes.
    #[inline(always)]
    fn from(s: std::borrow::Cow<'_, str>) -> Text {
        match s {
            std::borrow::Cow::Borrowed(s) => Text::from(s),
            std::borrow::Cow::Owned(s) => Text::from(s),
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0.into_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of a property or of a collection element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// JSON `null` (only where the table says nullable).
    Null,
    /// `Edm.Boolean`.
    Boolean(bool),
    /// `Edm.Int32`.
    Int32(i32),
    /// `Edm.String`.
    String(Text),
    /// `Edm.DateTimeOffset`.
    DateTimeOffset(DateTimeOffset),
    /// `Edm.Binary`.
    Binary(Binary),
    /// `Edm.Guid` (the key).
    Guid(Guid),
    /// A complex type (boxed, as [`Strings`] is inside: a value is 32 bytes, so the
    /// property slots of a device stay under glibc's 1 KiB "large request", which merges
    /// every small freed block first).
    Complex(Box<Complex>),
    /// A `Collection(Edm.String)`, in order: every collection of strings is one of these,
    /// never a [`Value::Collection`] of [`Value::String`]s.
    Strings(Strings),
    /// A collection of any other type, in order.
    Collection(Vec<Value>),
}

impl Value {
    /// Whether this value has the shape `def` asks for (type, collection, nullability).
    pub fn fits(&self, profile: &Profile, def: &PropertyDef) -> bool {
        match self {
            Value::Null => def.nullable,
            Value::Strings(_) => def.collection && def.base == Base::Primitive(Edm::String),
            Value::Collection(items) => {
                def.collection
                    && def.base != Base::Primitive(Edm::String)
                    && items.iter().all(|v| v.fits_base(profile, def.base))
            }
            v => !def.collection && v.fits_base(profile, def.base),
        }
    }

    fn fits_base(&self, profile: &Profile, base: Base) -> bool {
        match (self, base) {
            (Value::Boolean(_), Base::Primitive(Edm::Boolean))
            | (Value::Int32(_), Base::Primitive(Edm::Int32))
            | (Value::String(_), Base::Primitive(Edm::String))
            | (Value::DateTimeOffset(_), Base::Primitive(Edm::DateTimeOffset))
            | (Value::Binary(_), Base::Primitive(Edm::Binary))
            | (Value::Guid(_), Base::Primitive(Edm::Guid)) => true,
            (Value::Complex(c), Base::Complex(i)) => match profile.complex_types().get(i) {
                Some(ty) => {
                    c.members.len() == ty.members.len()
                        && c.members.iter().zip(&ty.members).all(|(v, d)| match v {
                            Some(v) => v.fits(profile, d),
                            None => !d.required,
                        })
                }
                None => false,
            },
            _ => false,
        }
    }
}

/// A `Collection(Edm.String)`: the elements' text back to back in one buffer, and where
/// each one ends. Reading a collection of 1,500 ids takes two allocations here where a
/// `Vec<String>` takes 1,500 (and as many frees when it is dropped); big devices are
/// mostly such collections.
///
/// ```
/// use devices_harness::model::Strings;
/// let ids: Strings = ["HWID:h:1", "", "HWID:h:2"].into_iter().collect();
/// assert_eq!(ids.len(), 3);
/// assert_eq!(ids.get(1), Some(""));
/// assert_eq!(ids.iter().collect::<Vec<_>>(), ["HWID:h:1", "", "HWID:h:2"]);
/// assert_eq!(format!("{ids:?}"), r#"["HWID:h:1", "", "HWID:h:2"]"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Strings(Option<Box<Packed>>);

/// The text and the ends of a non-empty [`Strings`].
#[derive(Clone, Default, PartialEq, Eq)]
struct Packed {
    text: String,
    /// Where each element ends in `text` (it starts where the one before ends).
    ends: Vec<usize>,
}

impl Strings {
    /// No elements.
    pub fn new() -> Strings {
        Strings::default()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |p| p.ends.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of all elements together (what a serializer sizes its buffer by).
    pub fn text_len(&self) -> usize {
        self.0.as_ref().map_or(0, |p| p.text.len())
    }

    /// Element `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        let p = self.0.as_ref()?;
        let end = *p.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(before) => *p.ends.get(before)?,
            None => 0,
        };
        p.text.get(start..end)
    }

    /// Appends `s`.
    pub fn push(&mut self, s: &str) {
        let p = self.0.get_or_insert_with(Box::default);
        p.text.push_str(s);
        p.ends.push(p.text.len());
    }

    /// The text of every element back to back, and where each ends in it.
    pub(crate) fn parts(&self) -> (&str, &[usize]) {
        match &self.0 {
            Some(p) => (p.text.as_str(), p.ends.as_slice()),
            None => ("", &[]),
        }
    }

    /// The elements, in order.
    pub fn iter(&self) -> StringsIter<'_> {
        let (text, ends) = self.parts();
        StringsIter {
            text,
            start: 0,
            ends: ends.iter(),
        }
    }
}

impl fmt::Debug for Strings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> Extend<S> for Strings {
    fn extend<I: IntoIterator<Item = S>>(&mut self, items: I) {
        for s in items {
            self.push(s.as_ref());
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Strings {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Strings {
        let mut out = Strings::new();
        out.extend(items);
        out
    }
}

impl<'s> IntoIterator for &'s Strings {
    type Item = &'s str;
    type IntoIter = StringsIter<'s>;
    fn into_iter(self) -> StringsIter<'s> {
        self.iter()
    }
}

/// The elements of a [`Strings`], in order.
#[derive(Clone, Debug)]
pub struct StringsIter<'s> {
    text: &'s str,
    start: usize,
    ends: std::slice::Iter<'s, usize>,
}

impl<'s> Iterator for StringsIter<'s> {
    type Item = &'s str;

    fn next(&mut self) -> Option<&'s str> {
        let end = *self.ends.next()?;
        let s = self.text.get(self.start..end).unwrap_or_default();
        self.start = end;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for StringsIter<'_> {}

// ---------------------------------------------------------------------------------------
// Edm.DateTimeOffset
// ---------------------------------------------------------------------------------------

/// An `Edm.DateTimeOffset` that keeps its exact lexical form.
///
/// `YYYY-MM-DDThh:mm:ss[.f{1,12}](Z|+hh:mm|-hh:mm)`: a real calendar date in years
/// 0001-9999, hours 00-23, minutes and seconds 00-59, offset at most 14:00 either way.
///
/// ```
/// use devices_harness::model::DateTimeOffset;
/// let t = DateTimeOffset::parse("2016-12-31T23:58:36.0226893+03:00").unwrap();
/// assert_eq!(t.as_str(), "2016-12-31T23:58:36.0226893+03:00");
/// assert!(DateTimeOffset::parse("2016-12-31 23:58:36Z").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateTimeOffset(String);

/// Which DateTimeOffset rule a string breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateTimeRule {
    /// Not of the form `YYYY-MM-DDThh:mm:ss...` (separators, digit counts, `T`).
    Shape,
    /// Year 0000.
    Year,
    /// Month outside 01-12.
    Month,
    /// Day outside the month (leap years counted).
    Day,
    /// Hour outside 00-23.
    Hour,
    /// Minute outside 00-59.
    Minute,
    /// Second outside 00-59 (no leap second).
    Second,
    /// A `.` with no digits, or more than 12 fraction digits.
    Fraction,
    /// No offset, or not `Z` / `+hh:mm` / `-hh:mm`.
    OffsetShape,
    /// Offset beyond 14:00, or offset minutes beyond 59.
    OffsetRange,
}

impl DateTimeRule {
    /// Every rule, in the order of the grammar.
    pub const ALL: [DateTimeRule; 10] = [
        DateTimeRule::Shape,
        DateTimeRule::Year,
        DateTimeRule::Month,
        DateTimeRule::Day,
        DateTimeRule::Hour,
        DateTimeRule::Minute,
        DateTimeRule::Second,
        DateTimeRule::Fraction,
        DateTimeRule::OffsetShape,
        DateTimeRule::OffsetRange,
    ];

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            DateTimeRule::Shape => "not of the form YYYY-MM-DDThh:mm:ss",
            DateTimeRule::Year => "year 0000 is not allowed",
            DateTimeRule::Month => "month is not 01-12",
            DateTimeRule::Day => "day does not exist in that month",
            DateTimeRule::Hour => "hour is not 00-23",
            DateTimeRule::Minute => "minute is not 00-59",
            DateTimeRule::Second => "second is not 00-59",
            DateTimeRule::Fraction => "fraction must have 1 to 12 digits",
            DateTimeRule::OffsetShape => "offset must be Z, +hh:mm or -hh:mm",
            DateTimeRule::OffsetRange => "offset must be at most 14:00",
        }
    }

    /// A stable identifier, such as `offset-range`.
    pub fn id(self) -> &'static str {
        match self {
            DateTimeRule::Shape => "shape",
            DateTimeRule::Year => "year",
            DateTimeRule::Month => "month",
            DateTimeRule::Day => "day",
            DateTimeRule::Hour => "hour",
            DateTimeRule::Minute => "minute",
            DateTimeRule::Second => "second",
            DateTimeRule::Fraction => "fraction",
            DateTimeRule::OffsetShape => "offset-shape",
            DateTimeRule::OffsetRange => "offset-range",
        }
    }
}

fn digits<const N: usize>(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + N)?;
    s.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
pub fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The fields of a DateTimeOffset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTimeFields {
    /// 1-9999.
    pub year: u32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-59.
    pub second: u32,
    /// The fraction in picoseconds (12 digits).
    pub picos: u64,
    /// Number of fraction digits written (0-12).
    pub fraction_digits: u32,
    /// Offset from UTC in minutes; `None` for `Z`.
    pub offset_minutes: Option<i32>,
}

impl DateTimeOffset {
    /// Parses and keeps `s` when it is a valid DateTimeOffset.
    pub fn parse(s: &str) -> Result<DateTimeOffset, DateTimeRule> {
        Self::parse_owned(s.to_owned())
    }

    /// Like [`DateTimeOffset::parse`], keeping the given string.
    pub fn parse_owned(s: String) -> Result<DateTimeOffset, DateTimeRule> {
        Self::fields_of(&s)?;
        Ok(DateTimeOffset(s))
    }

    /// Keeps `s` unchecked: for generators that build valid text by construction (the
    /// agreement tests parse everything they make).
    pub(crate) fn unchecked(s: String) -> DateTimeOffset {
        debug_assert!(Self::fields_of(&s).is_ok(), "{s}");
        DateTimeOffset(s)
    }

    /// The exact lexical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fields.
    pub fn fields(&self) -> DateTimeFields {
        // A DateTimeOffset is only ever built from a string that passed `fields_of`.
        Self::fields_of(&self.0).unwrap_or(DateTimeFields {
            year: 1,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            picos: 0,
            fraction_digits: 0,
            offset_minutes: None,
        })
    }

    /// The instant as (seconds since 1970-01-01T00:00:00Z, picoseconds): two values are
    /// the same instant when these are equal.
    pub fn instant(&self) -> (i64, u64) {
        let f = self.fields();
        let days = days_from_civil(f.year as i64, f.month, f.day);
        let secs = days * 86_400
            + i64::from(f.hour) * 3600
            + i64::from(f.minute) * 60
            + i64::from(f.second)
            - i64::from(f.offset_minutes.unwrap_or(0)) * 60;
        (secs, f.picos)
    }

    /// Checks `s` and returns its fields, or the first rule it breaks, left to right.
    pub fn fields_of(s: &str) -> Result<DateTimeFields, DateTimeRule> {
        let b = s.as_bytes();
        let sep = |i: usize, c: u8| b.get(i) == Some(&c);
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits::<4>(b, 0),
            digits::<2>(b, 5),
            digits::<2>(b, 8),
            digits::<2>(b, 11),
            digits::<2>(b, 14),
            digits::<2>(b, 17),
        ) else {
            return Err(DateTimeRule::Shape);
        };
        if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
            return Err(DateTimeRule::Shape);
        }
        if year == 0 {
            return Err(DateTimeRule::Year);
        }
        if !(1..=12).contains(&month) {
            return Err(DateTimeRule::Month);
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateTimeRule::Day);
        }
        if hour > 23 {
            return Err(DateTimeRule::Hour);
        }
        if minute > 59 {
            return Err(DateTimeRule::Minute);
        }
        if second > 59 {
            return Err(DateTimeRule::Second);
        }
        let mut i = 19;
        let mut picos = 0u64;
        let mut fraction_digits = 0;
        if sep(i, b'.') {
            i += 1;
            let start = i;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                if i - start < 12 {
                    picos = picos * 10 + u64::from(c - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 12 {
                return Err(DateTimeRule::Fraction);
            }
            fraction_digits = n as u32;
            picos *= 10u64.pow(12 - fraction_digits);
        }
        let offset_minutes = match b.get(i..) {
            Some(b"Z") => None,
            Some([sign @ (b'+' | b'-'), rest @ ..]) if rest.len() == 5 && rest[2] == b':' => {
                let (Some(h), Some(m)) = (digits::<2>(rest, 0), digits::<2>(rest, 3)) else {
                    return Err(DateTimeRule::OffsetShape);
                };
                if m > 59 || h * 60 + m > 14 * 60 {
                    return Err(DateTimeRule::OffsetRange);
                }
                let total = (h * 60 + m) as i32;
                Some(if *sign == b'-' { -total } else { total })
            }
            _ => return Err(DateTimeRule::OffsetShape),
        };
        Ok(DateTimeFields {
            year,
            month,
            day,
            hour,
            minute,
            second,
            picos,
            fraction_digits,
            offset_minutes,
        })
    }
}

impl fmt::Display for DateTimeOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// Edm.Binary
// ---------------------------------------------------------------------------------------

/// An `Edm.Binary` value: canonical base64 (RFC 4648) kept as written.
///
/// Either the standard alphabet (`+/`) or the URL-safe one (`-_`), not mixed; padding
/// optional but correct when present; unused trailing bits zero.
///
/// ```
/// use devices_harness::model::Binary;
/// assert_eq!(Binary::parse("a2V5").unwrap().decode(), b"key");
/// assert!(Binary::parse("a2V5=").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Binary(String);

/// Which Binary rule a string breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryRule {
    /// A character outside both alphabets (or `=` before the end).
    Character,
    /// Characters from both the standard and the URL-safe alphabet.
    MixedAlphabet,
    /// A length no base64 text can have (one character past a group of four).
    Length,
    /// Padding that does not complete the last group of four exactly.
    Padding,
    /// Unused trailing bits are not zero.
    NonCanonical,
}

impl BinaryRule {
    /// Every rule.
    pub const ALL: [BinaryRule; 5] = [
        BinaryRule::Character,
        BinaryRule::MixedAlphabet,
        BinaryRule::Length,
        BinaryRule::Padding,
        BinaryRule::NonCanonical,
    ];

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            BinaryRule::Character => "character outside the base64 alphabet",
            BinaryRule::MixedAlphabet => "mixes the standard and URL-safe alphabets",
            BinaryRule::Length => "impossible base64 length",
            BinaryRule::Padding => "wrong padding",
            BinaryRule::NonCanonical => "unused trailing bits are not zero",
        }
    }

    /// A stable identifier, such as `padding`.
    pub fn id(self) -> &'static str {
        match self {
            BinaryRule::Character => "character",
            BinaryRule::MixedAlphabet => "mixed-alphabet",
            BinaryRule::Length => "length",
            BinaryRule::Padding => "padding",
            BinaryRule::NonCanonical => "non-canonical",
        }
    }
}

// 0-63: the sextet; 64: '+' or '/' (standard only); 65: '-' or '_' (URL-safe only) are
// folded into the sextet with a flag below; 255: not base64.
const fn base64_table() -> [u8; 256] {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'-' as usize] = 62 | 0x40;
    t[b'_' as usize] = 63 | 0x40;
    t
}
static BASE64: [u8; 256] = base64_table();

impl Binary {
    /// Parses and keeps `s` when it is canonical base64.
    pub fn parse(s: &str) -> Result<Binary, BinaryRule> {
        Self::parse_owned(s.to_owned())
    }

    /// Like [`Binary::parse`], keeping the given string.
    pub fn parse_owned(s: String) -> Result<Binary, BinaryRule> {
        Self::check(&s)?;
        Ok(Binary(s))
    }

    /// Checks `s` without keeping it.
    pub fn check(s: &str) -> Result<(), BinaryRule> {
        let b = s.as_bytes();
        let data_len = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
        let (data, pad) = b.split_at(data_len);
        let (mut standard, mut url_safe) = (false, false);
        for &c in data {
            match BASE64[usize::from(c)] {
                255 => return Err(BinaryRule::Character),
                62 | 63 => standard = true,
                v if v & 0x40 != 0 => url_safe = true,
                _ => {}
            }
        }
        if standard && url_safe {
            return Err(BinaryRule::MixedAlphabet);
        }
        let rem = data.len() % 4;
        if rem == 1 {
            return Err(BinaryRule::Length);
        }
        if !pad.is_empty() && (pad.len() > 2 || (data.len() + pad.len()) % 4 != 0) {
            return Err(BinaryRule::Padding);
        }
        if let Some(&last) = data.last() {
            let v = BASE64[usize::from(last)] & 0x3f;
            let unused = match rem {
                2 => v & 0x0f,
                3 => v & 0x03,
                _ => 0,
            };
            if unused != 0 {
                return Err(BinaryRule::NonCanonical);
            }
        }
        Ok(())
    }

    /// Encodes `bytes`, in the URL-safe alphabet or the standard one, padded or not.
    pub fn encode(bytes: &[u8], url_safe: bool, padded: bool) -> Binary {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        Self::encode_into(bytes, url_safe, padded, &mut out);
        Binary(out)
    }

    /// Keeps `s` unchecked, for generators that build canonical text by construction.
    pub(crate) fn unchecked(s: String) -> Binary {
        debug_assert!(Self::check(&s).is_ok(), "{s}");
        Binary(s)
    }

    /// Appends the base64 of `bytes` to `out`.
    pub fn encode_into(bytes: &[u8], url_safe: bool, padded: bool, out: &mut String) {
        let alphabet: &[u8; 64] = if url_safe {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        } else {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        };
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &c)| acc | u32::from(c) << (16 - 8 * i));
            let chars = chunk.len() + 1;
            for i in 0..4 {
                if i < chars {
                    out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 0x3f) as usize]));
                } else if padded {
                    out.push('=');
                }
            }
        }
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bytes it encodes.
    pub fn decode(&self) -> Vec<u8> {
        let data = self.0.trim_end_matches('=').as_bytes();
        let mut out = Vec::with_capacity(data.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0u32);
        for &c in data {
            acc = (acc << 6) | u32::from(BASE64[usize::from(c)] & 0x3f);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Edm.Guid
// ---------------------------------------------------------------------------------------

/// A GUID (`8-4-4-4-12` hexadecimal digits, either case), kept as written.
///
/// ```
/// use devices_harness::model::Guid;
/// assert!(Guid::parse("c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3").is_ok());
/// assert!(Guid::parse("{c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3}").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(String);

/// A string that is not a GUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAGuid;

impl Guid {
    /// Parses and keeps `s` when it is a GUID.
    pub fn parse(s: &str) -> Result<Guid, NotAGuid> {
        Self::parse_owned(s.to_owned())
    }

    /// Like [`Guid::parse`], keeping the given string.
    pub fn parse_owned(s: String) -> Result<Guid, NotAGuid> {
        let b = s.as_bytes();
        let ok = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        if ok { Ok(Guid(s)) } else { Err(NotAGuid) }
    }

    /// A lowercase GUID from 128 bits, with the version 4 and variant bits set.
    pub fn from_random(bits: u128) -> Guid {
        let mut s = String::with_capacity(36);
        Self::write_random(bits, &mut s);
        Guid(s)
    }

    /// The same GUID with its hex digits XORed with `salt`'s (dashes kept; an upper-case
    /// GUID stays upper case, and so does each upper-case letter of a mixed one): a run's salt makes the client
    /// ids of a seed new in every run, so ids taken by an earlier run never collide.
    pub fn salted(&self, salt: u128) -> Guid {
        let mut out = String::with_capacity(self.0.len());
        let mut nibble = 0;
        let all_upper = !self.0.chars().any(|c| c.is_ascii_lowercase());
        for c in self.0.chars() {
            match c.to_digit(16) {
                Some(d) => {
                    let s = ((salt >> (4 * (nibble % 32))) & 0xf) as u32;
                    nibble += 1;
                    let x = char::from_digit(d ^ s, 16).unwrap_or('0');
                    out.push(if c.is_ascii_uppercase() || all_upper {
                        x.to_ascii_uppercase()
                    } else {
                        x
                    });
                }
                None => out.push(c),
            }
        }
        Guid(out)
    }

    /// Appends the lowercase version-4 GUID of `bits` to `out`.
    pub fn write_random(bits: u128, out: &mut String) {
        Self::write_version(bits, 4, out);
    }

    /// A lowercase time-ordered GUID (version 7's layout): `millis` in the first 48 bits,
    /// `bits` in the rest (less the version and variant bits), so GUIDs made later sort
    /// later and land together in an index.
    pub fn from_time(millis: u64, bits: u128) -> Guid {
        let mut s = String::with_capacity(36);
        let time = u128::from(millis & 0xffff_ffff_ffff) << 80;
        Self::write_version(time | (bits & ((1u128 << 80) - 1)), 7, &mut s);
        Guid(s)
    }

    /// `bits` as a GUID of `version` and the RFC 4122 variant.
    fn write_version(bits: u128, version: u128, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let v = (bits & !(0xf << 76) & !(0x3 << 62)) | (version << 76) | (0x2 << 62);
        for i in 0..32 {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(char::from(HEX[((v >> (124 - 4 * i)) & 0xf) as usize]));
        }
    }

    /// Keeps `s` unchecked, for generators that build GUIDs by construction.
    pub(crate) fn unchecked(s: String) -> Guid {
        debug_assert!(Self::parse(&s).is_ok(), "{s}");
        Guid(s)
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout the parser's speed counts on (see `Value::Complex`): 26 property slots
    /// in 832 bytes, under glibc's 1 KiB large request.
    #[test]
    fn a_value_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 32);
        assert_eq!(std::mem::size_of::<Strings>(), 8);
    }

    /// A packed collection holds exactly the elements pushed, boundaries included: empty
    /// elements, multi-byte text, and two lists with the same bytes split differently.
    #[test]
    fn strings_keep_every_element_and_its_boundaries() {
        let lists: [&[&str]; 5] = [
            &[],
            &[""],
            &["", "", ""],
            &["ab", ""],
            &["a", "b", "\u{1f600}x", "é\"\\"],
        ];
        for list in lists {
            let packed: Strings = list.iter().collect();
            assert_eq!(packed.len(), list.len());
            assert_eq!(packed.is_empty(), list.is_empty());
            assert_eq!(packed.iter().collect::<Vec<_>>(), list);
            assert_eq!(packed.iter().len(), list.len());
            for (i, s) in list.iter().enumerate() {
                assert_eq!(packed.get(i), Some(*s));
            }
            assert_eq!(packed.get(list.len()), None);
            assert_eq!(packed.text_len(), list.concat().len());
            assert_eq!(format!("{packed:?}"), format!("{list:?}"));
        }
        let split = |l: &[&str]| l.iter().collect::<Strings>();
        assert_ne!(split(&["ab", ""]), split(&["a", "b"]));
        assert_ne!(split(&["ab"]), split(&["ab", ""]));
        assert_eq!(split(&["a", "b"]), split(&["a", "b"]));
    }

    #[test]
    fn datetime_rules() {
        let ok = [
            "2016-12-31T23:58:36.0226893+03:00",
            "2016-12-31T23:58:36Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999999-14:00",
            "2024-02-29T00:00:00+14:00",
            "2000-02-29T00:00:00.1Z",
            "2020-06-30T12:00:00-13:59",
        ];
        for s in ok {
            assert!(DateTimeOffset::parse(s).is_ok(), "{s}");
        }
        let bad = [
            ("2016-12-31 23:58:36Z", DateTimeRule::Shape),
            ("2016-12-31t23:58:36Z", DateTimeRule::Shape),
            ("16-12-31T23:58:36Z", DateTimeRule::Shape),
            ("0000-01-01T00:00:00Z", DateTimeRule::Year),
            ("2016-13-01T00:00:00Z", DateTimeRule::Month),
            ("2016-00-01T00:00:00Z", DateTimeRule::Month),
            ("2023-02-29T00:00:00Z", DateTimeRule::Day),
            ("1900-02-29T00:00:00Z", DateTimeRule::Day),
            ("2016-04-31T00:00:00Z", DateTimeRule::Day),
            ("2016-04-00T00:00:00Z", DateTimeRule::Day),
            ("2016-12-31T24:00:00Z", DateTimeRule::Hour),
            ("2016-12-31T23:60:00Z", DateTimeRule::Minute),
            ("2016-12-31T23:59:60Z", DateTimeRule::Second),
            ("2016-12-31T23:59:59.Z", DateTimeRule::Fraction),
            ("2016-12-31T23:59:59.1234567890123Z", DateTimeRule::Fraction),
            ("2016-12-31T23:59:59", DateTimeRule::OffsetShape),
            ("2016-12-31T23:59:59+0300", DateTimeRule::OffsetShape),
            ("2016-12-31T23:59:59z", DateTimeRule::OffsetShape),
            ("2016-12-31T23:59:59+03:00 ", DateTimeRule::OffsetShape),
            ("2016-12-31T23:59:59+14:01", DateTimeRule::OffsetRange),
            ("2016-12-31T23:59:59-15:00", DateTimeRule::OffsetRange),
            ("2016-12-31T23:59:59+03:60", DateTimeRule::OffsetRange),
        ];
        for (s, rule) in bad {
            assert_eq!(DateTimeOffset::parse(s), Err(rule), "{s}");
        }
    }

    #[test]
    fn same_instant_across_offsets() {
        let a = DateTimeOffset::parse("2016-12-31T23:58:36.5+03:00").unwrap();
        let b = DateTimeOffset::parse("2016-12-31T20:58:36.500Z").unwrap();
        let c = DateTimeOffset::parse("2016-12-31T20:58:36.501Z").unwrap();
        assert_eq!(a.instant(), b.instant());
        assert_ne!(a.instant(), c.instant());
        let epoch = DateTimeOffset::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch.instant(), (0, 0));
    }

    #[test]
    fn binary_rules() {
        for s in [
            "", "a2V5", "a2V5eQ", "a2V5eQ==", "a2V5eXM=", "-_-_", "+/+/", "AA", "AAA=",
        ] {
            assert!(Binary::parse(s).is_ok(), "{s}");
        }
        let bad = [
            ("a2V5=", BinaryRule::Padding),
            ("base64Y3YxN2E1MWFlYw==", BinaryRule::Padding),
            ("a2V5eQ=", BinaryRule::Padding),
            ("a2V5e===", BinaryRule::Length),
            ("a", BinaryRule::Length),
            ("+_AA", BinaryRule::MixedAlphabet),
            ("a2 V", BinaryRule::Character),
            ("a=V5", BinaryRule::Character),
            ("AB", BinaryRule::NonCanonical),
            ("AAB=", BinaryRule::NonCanonical),
        ];
        for (s, rule) in bad {
            assert_eq!(Binary::parse(s), Err(rule), "{s}");
        }
    }

    #[test]
    fn binary_encode_decode() {
        for n in 0..10u8 {
            let bytes: Vec<u8> = (0..n)
                .map(|i| i.wrapping_mul(97).wrapping_add(251))
                .collect();
            for url in [false, true] {
                for pad in [false, true] {
                    let b = Binary::encode(&bytes, url, pad);
                    assert!(Binary::check(b.as_str()).is_ok(), "{}", b.as_str());
                    assert_eq!(b.decode(), bytes);
                }
            }
        }
        assert_eq!(Binary::encode(b"key", false, true).as_str(), "a2V5");
    }

    #[test]
    fn guid_forms() {
        assert!(Guid::parse("C3E3B22A-B22A-C3E3-2AB2-E3C32AB2E3C3").is_ok());
        assert!(Guid::parse("c3e3b22ab22ac3e32ab2e3c32ab2e3c3").is_err());
        assert!(Guid::parse("c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3cg").is_err());
        let g = Guid::from_random(u128::MAX);
        assert!(Guid::parse(g.as_str()).is_ok());
        // A salt keeps the form and each letter's case, and changes the value.
        let upper = Guid::parse("C3E3B22A-B22A-C3E3-2AB2-E3C32AB2E3C3").unwrap();
        assert_eq!(upper.salted(0), upper);
        let salted = upper.salted(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert!(Guid::parse(salted.as_str()).is_ok());
        assert_ne!(salted, upper);
        assert!(
            !salted.as_str().chars().any(|c| c.is_ascii_lowercase()),
            "{salted}"
        );
        assert_ne!(upper.salted(1), upper.salted(2));
        assert_eq!(&g.as_str()[14..15], "4");
    }
}

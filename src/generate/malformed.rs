//! Malformed payloads: a documented defect taxonomy, and cases that each break **exactly
//! one rule** of a valid device (a minimal mutation), labelled with what a conforming
//! server answers, so a rejection can be attributed.
//!
//! [`Defect`] is the taxonomy: one variant per class of CONTRACT.md rule, from JSON syntax
//! to headers. [`malformed`] applies one to a valid device; the result says which rule the
//! parser must report ([`Expected::rule`], a [`crate::ErrorKind::rule`] identifier) and
//! where ([`Expected::pointer`]), or for size and header defects the HTTP status alone.

use std::borrow::Cow;
use std::fmt;

use super::{Source, valid};
pub use crate::answer::Expected;
use crate::contract::{
    Base, ClientId, Edm, MAX_BODY_BYTES, MAX_DEPTH, Profile, PropertyDef, UnknownProperties,
};
use crate::error::{GraphCode, Rule};
use crate::model::{BinaryRule, DateTimeRule, Device, Value};
use crate::ser::{write_str, write_value};

/// Where a defect lives, which decides how a case is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The body breaks a parser rule: 400, with the rule the parser reports.
    Body,
    /// The body is a valid device over the size limit: 413.
    Size,
    /// The body is valid; a header or the path breaks a rule: 401, 403 or 415.
    Request,
}

macro_rules! defects {
    ($($variant:ident => $class:literal, $layer:ident, $doc:literal;)*) => {
        /// The defect taxonomy: which one rule a malformed case breaks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Defect {
            $(#[doc = $doc] $variant,)*
            /// A DateTimeOffset that breaks exactly this rule.
            DateTime(DateTimeRule),
            /// A Binary that breaks exactly this rule.
            Binary(BinaryRule),
        }

        const SIMPLE: &[(Defect, &str, Layer, &str)] = &[
            $((Defect::$variant, $class, Layer::$layer, $doc),)*
        ];
    };
}

defects! {
    Truncated => "truncated", Body, "The body cut short after a `{`, `[`, `,` or `:`.";
    TrailingData => "trailing-data", Body, "Data after the top-level object.";
    BadLiteral => "bad-literal", Body, "A misspelt `true`, `false` or `null` (`tru`, `nUll`).";
    NanInfinity => "nan-infinity", Body, "`NaN` or `Infinity` where a number stands.";
    Comment => "comment", Body, "A `/* */` or `//` comment between members.";
    SingleQuotes => "single-quotes", Body, "A string in single quotes.";
    TrailingComma => "trailing-comma", Body, "A comma before `}` or `]`.";
    ControlCharacter => "control-character", Body, "A raw control character inside a string.";
    BadEscape => "bad-escape", Body, "An escape JSON does not have (`\\x`, `\\u12G4`).";
    NumberSyntax => "number-syntax", Body, "A malformed number (`1.`, `-`, `1e+`).";
    Bom => "bom", Body, "A UTF-8 byte order mark before the body.";
    InvalidUtf8 => "invalid-utf8", Body, "Bytes that are not UTF-8 inside a string.";
    OverlongUtf8 => "overlong-utf8", Body, "An overlong UTF-8 sequence inside a string.";
    LoneSurrogate => "lone-surrogate", Body, "A `\\ud800`-style escape without its pair.";
    NotAnObject => "not-an-object", Body, "A top-level array, string, number or literal.";
    TooDeep => "too-deep", Body, "An annotation nested one level past the depth limit.";
    DuplicateMember => "duplicate-member", Body, "A top-level member sent twice.";
    DuplicateMemberNested => "duplicate-member-nested", Body, "A member sent twice in a nested object.";
    UnknownProperty => "unknown-property", Body, "A member that is no property.";
    WrongCaseProperty => "wrong-case-property", Body, "A property name in the wrong case.";
    MissingRequired => "missing-required", Body, "A required property left out.";
    NullNotNullable => "null-not-nullable", Body, "`null` for a property that is not nullable.";
    NullElement => "null-element", Body, "`null` as a collection element.";
    WrongTypeString => "wrong-type-string", Body, "A non-string for an Edm.String.";
    WrongTypeBoolean => "wrong-type-boolean", Body, "A non-boolean for an Edm.Boolean.";
    WrongTypeInt32 => "wrong-type-int32", Body, "A non-number for an Edm.Int32.";
    WrongTypeDateTime => "wrong-type-datetime", Body, "A non-string for an Edm.DateTimeOffset.";
    WrongTypeBinary => "wrong-type-binary", Body, "A non-string for an Edm.Binary.";
    WrongTypeGuid => "wrong-type-guid", Body, "A non-string for the key.";
    WrongTypeCollection => "wrong-type-collection", Body, "A non-array for a collection.";
    WrongTypeComplex => "wrong-type-complex", Body, "A non-object for a complex value.";
    Int32OutOfRange => "int32-out-of-range", Body, "An integer outside the Int32 range.";
    Int32Fraction => "int32-fraction", Body, "An Int32 with a fraction (`13.0`).";
    Int32Exponent => "int32-exponent", Body, "An Int32 with an exponent (`1e1`).";
    StringTooLong => "string-too-long", Body, "A string one UTF-16 unit over its limit.";
    StringTooLongAstral => "string-too-long-astral", Body, "Over the limit only when astral characters count 2.";
    BadClientId => "bad-client-id", Body, "A client `id` that is not a GUID.";
    BadODataType => "bad-odata-type", Body, "An `@odata.type` of another type.";
    BodyTooLarge => "body-too-large", Size, "A valid device padded past 4 MiB.";
    NoContentType => "no-content-type", Request, "No `Content-Type` header.";
    WrongContentType => "wrong-content-type", Request, "A media type other than `application/json`.";
    NonUtf8Charset => "non-utf8-charset", Request, "`application/json` with a charset other than UTF-8.";
    MissingToken => "missing-token", Request, "No `Authorization` header.";
    EmptyToken => "empty-token", Request, "`Authorization: Bearer ` with no token.";
    UnknownToken => "unknown-token", Request, "A bearer token no user has.";
    WrongAuthScheme => "wrong-auth-scheme", Request, "An `Authorization` scheme other than Bearer.";
    OtherUsersPath => "other-users-path", Request, "`POST /users/{id}/devices` with another user's id.";
}

impl Defect {
    /// Every defect class.
    pub fn all() -> Vec<Defect> {
        let mut all: Vec<Defect> = SIMPLE.iter().map(|(d, ..)| *d).collect();
        all.extend(DateTimeRule::ALL.map(Defect::DateTime));
        all.extend(BinaryRule::ALL.map(Defect::Binary));
        all
    }

    /// The class name, such as `datetime-offset-range` (used by `gen --malformed CLASS`
    /// and as the corpus folder).
    pub fn class(self) -> String {
        match self {
            Defect::DateTime(r) => format!("datetime-{}", r.id()),
            Defect::Binary(r) => format!("binary-{}", r.id()),
            d => SIMPLE
                .iter()
                .find(|(x, ..)| *x == d)
                .map_or_else(String::new, |(_, c, ..)| (*c).to_owned()),
        }
    }

    /// The defect of a class name.
    pub fn from_class(class: &str) -> Option<Defect> {
        Defect::all().into_iter().find(|d| d.class() == class)
    }

    /// Where the defect lives.
    pub fn layer(self) -> Layer {
        match self {
            Defect::DateTime(_) | Defect::Binary(_) => Layer::Body,
            d => SIMPLE
                .iter()
                .find(|(x, ..)| *x == d)
                .map_or(Layer::Body, |(_, _, l, _)| *l),
        }
    }

    /// A one-line description.
    pub fn describe(self) -> String {
        match self {
            Defect::DateTime(r) => format!("A DateTimeOffset whose {}.", r.describe()),
            Defect::Binary(r) => format!("A Binary that {}.", r.describe()),
            d => SIMPLE
                .iter()
                .find(|(x, ..)| *x == d)
                .map_or_else(String::new, |(.., doc)| (*doc).to_owned()),
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.class())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Defect {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let all = Defect::all();
        Ok(*u.choose(&all)?)
    }
}

/// The `Authorization` a request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// `Bearer <the caller's token>` (scheme spelled as given: `Bearer`, `bearer`, ...).
    Valid {
        /// The scheme's spelling.
        scheme: String,
    },
    /// No header.
    Missing,
    /// This exact header value, which is not a valid credential.
    Raw(String),
}

/// Which create path a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// `POST /me/devices`.
    Me,
    /// `POST /users/{own id}/devices`.
    OwnUser,
    /// `POST /users/{another user's id}/devices`.
    OtherUser,
}

/// The request around a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHeaders {
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Authorization,
    /// The create path.
    pub path: PathKind,
}

impl RequestHeaders {
    /// A valid request: JSON content type (spelled in one of its valid forms), the
    /// caller's bearer token, either create path.
    pub fn valid(src: &mut impl Source) -> RequestHeaders {
        const TYPES: [&str; 5] = [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json;odata.metadata=minimal",
            "application/json; charset=UTF-8; odata.streaming=true",
        ];
        const SCHEMES: [&str; 3] = ["Bearer", "bearer", "BEARER"];
        RequestHeaders {
            content_type: Some(TYPES[src.weighted(&[6, 1, 1, 1, 1])].to_owned()),
            authorization: Authorization::Valid {
                scheme: SCHEMES[src.weighted(&[8, 1, 1])].to_owned(),
            },
            path: if src.below(2) == 0 {
                PathKind::Me
            } else {
                PathKind::OwnUser
            },
        }
    }
}

/// A request that breaks exactly one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedCase {
    /// The body (may be invalid UTF-8).
    pub bytes: Vec<u8>,
    /// Headers and path.
    pub headers: RequestHeaders,
    /// The rule broken.
    pub defect: Defect,
    /// The answer a conforming server gives.
    pub expected: Expected,
    /// What exactly was changed, in one line.
    pub description: String,
}

/// `base` (a valid device) broken by `defect`, as `src` picks the place and the form.
/// `None` when the defect does not apply to `profile` (say, no DateTimeOffset property).
pub fn malformed(
    profile: &Profile,
    base: &Device,
    defect: Defect,
    src: &mut impl Source,
) -> Option<MalformedCase> {
    break_doc(Doc::new(profile, base), defect, src)
}

/// Malformed cases as a shrinkable proptest strategy: a valid device (shrinking as
/// [`valid::strategy`] does), a defect class that applies to `profile`, and the choices of
/// where and how to break it.
pub fn strategy(profile: &Profile) -> proptest::strategy::BoxedStrategy<MalformedCase> {
    use proptest::prelude::*;
    let shared = std::sync::Arc::new(profile.clone());
    (
        valid::strategy(profile),
        proptest::sample::select(Defect::all()),
        prop::collection::vec(any::<u64>(), 0..64),
    )
        .prop_filter_map(
            "the defect applies to the profile",
            move |(device, defect, choices)| {
                malformed(&shared, &device, defect, &mut super::Replay::new(&choices))
            },
        )
        .boxed()
}

/// Like [`malformed`] on the device [`valid::device`] would draw from `src`, without
/// building it (the fast path: same choices, same bytes).
pub fn malformed_generated(
    profile: &Profile,
    defect: Defect,
    src: &mut impl Source,
    scratch: &mut String,
) -> Option<MalformedCase> {
    let doc = Doc::generate(profile, src, scratch);
    break_doc(doc, defect, src)
}

fn break_doc(mut doc: Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<MalformedCase> {
    let profile = doc.profile;
    let mut headers = RequestHeaders::valid(src);
    let body_rule = Expected::body;
    let (bytes, expected, description): (Vec<u8>, Expected, String) = match defect {
        Defect::Truncated => {
            let full = doc.render();
            let cuts: Vec<usize> = (0..full.len().saturating_sub(1))
                .filter(|&i| matches!(full[i], b'{' | b'[' | b',' | b':'))
                .collect();
            let cut = cuts[src.below(cuts.len() as u64) as usize];
            let desc = format!("cut after byte {cut} of {}", full.len());
            (
                full[..=cut].to_vec(),
                body_rule(Rule::UnexpectedEnd, None),
                desc,
            )
        }
        Defect::TrailingData => {
            let tail = pick(src, &[" {}", "x", ",", "}", " 0", "\"\"", "\0"]);
            let mut b = doc.render();
            b.extend_from_slice(tail.as_bytes());
            (
                b,
                body_rule(Rule::TrailingData, None),
                format!("appended {tail:?}"),
            )
        }
        Defect::BadLiteral => {
            let form = pick(src, &["tru", "fals", "nul", "tRue", "nUll", "truE"]);
            let at = doc.replace_literal(form, src);
            (
                doc.render(),
                body_rule(Rule::InvalidLiteral, None),
                format!("{form} at {at}"),
            )
        }
        Defect::NanInfinity => {
            let form = pick(src, &["NaN", "Infinity", "-Infinity", "-NaN"]);
            let at = doc.replace_number(form, src);
            let rule = if form.starts_with('-') {
                Rule::InvalidNumber
            } else {
                Rule::UnexpectedByte
            };
            (
                doc.render(),
                body_rule(rule, None),
                format!("{form} at {at}"),
            )
        }
        Defect::NumberSyntax => {
            let form = pick(src, &["1.", "-", "1e", "1e+", "-.5", "2.e3", "0.e1"]);
            let at = doc.replace_number(form, src);
            (
                doc.render(),
                body_rule(Rule::InvalidNumber, None),
                format!("{form} at {at}"),
            )
        }
        Defect::Comment | Defect::TrailingComma => {
            let gaps = doc.root.len() + 1;
            let gap = src.below(gaps as u64) as usize;
            let fragment = if defect == Defect::Comment {
                pick(src, &["/* c */", "// c\n", "/**/"])
            } else {
                ","
            };
            // A trailing comma stands after the last member; a leading one after `{`.
            let gap = match (defect, gap) {
                (Defect::TrailingComma, g) if g > 0 => doc.root.len(),
                (_, g) => g,
            };
            let desc = format!("{fragment:?} in gap {gap} of the top-level object");
            (
                doc.render_with_fragment(gap, fragment.as_bytes()),
                body_rule(Rule::UnexpectedByte, None),
                desc,
            )
        }
        Defect::SingleQuotes => {
            let at = doc.string_site(src);
            if let Some([first, .., last]) = doc.string_text_mut(&at).map(Vec::as_mut_slice) {
                (*first, *last) = (b'\'', b'\'');
            }
            (
                doc.render(),
                body_rule(Rule::UnexpectedByte, None),
                format!("single quotes at {at}"),
            )
        }
        Defect::ControlCharacter => {
            let c = src.below(0x20) as u8;
            let at = doc.inject_in_string(&[c], src);
            (
                doc.render(),
                body_rule(Rule::ControlCharacter, None),
                format!("raw byte {c:#04x} in {at}"),
            )
        }
        Defect::BadEscape => {
            let form = pick(src, &["\\x41", "\\'", "\\U0041", "\\u12G4", "\\a", "\\0"]);
            let at = doc.inject_in_string(form.as_bytes(), src);
            (
                doc.render(),
                body_rule(Rule::InvalidEscape, None),
                format!("{form} in {at}"),
            )
        }
        Defect::Bom => {
            let mut b = vec![0xef, 0xbb, 0xbf];
            b.extend_from_slice(&doc.render());
            (
                b,
                body_rule(Rule::Bom, None),
                "UTF-8 BOM before the body".into(),
            )
        }
        Defect::InvalidUtf8 | Defect::OverlongUtf8 => {
            let forms: &[&[u8]] = if defect == Defect::InvalidUtf8 {
                &[
                    b"\xff",
                    b"\xfe",
                    b"\x80",
                    b"\xc3",
                    b"\xe2\x82",
                    b"\xed\xa0\x80",
                    b"\xf4\x90\x80\x80",
                    b"\xf8\x88\x80\x80\x80",
                ]
            } else {
                &[
                    b"\xc0\xaf",
                    b"\xc1\xbf",
                    b"\xe0\x80\xaf",
                    b"\xf0\x80\x80\xaf",
                ]
            };
            let form = forms[src.below(forms.len() as u64) as usize];
            let at = doc.inject_in_string(form, src);
            (
                doc.render(),
                body_rule(Rule::InvalidUtf8, None),
                format!("bytes {form:02x?} in {at}"),
            )
        }
        Defect::LoneSurrogate => {
            let form = pick(
                src,
                &[
                    "\\ud800",
                    "\\udbff",
                    "\\udc00",
                    "\\uDFFF",
                    "\\ud800\\u0041",
                    "\\ud83d\\ud83d",
                ],
            );
            let at = doc.inject_in_string(form.as_bytes(), src);
            (
                doc.render(),
                body_rule(Rule::LoneSurrogate, None),
                format!("{form} in {at}"),
            )
        }
        Defect::NotAnObject => {
            let b = match src.below(6) {
                0 => {
                    let mut b = b"[".to_vec();
                    b.extend_from_slice(&doc.render());
                    b.push(b']');
                    b
                }
                1 => b"\"device\"".to_vec(),
                2 => b"42".to_vec(),
                3 => b"null".to_vec(),
                4 => b"true".to_vec(),
                _ => b"[]".to_vec(),
            };
            let desc = format!(
                "top level is {}",
                String::from_utf8_lossy(&b[..b.len().min(12)])
            );
            (b, body_rule(Rule::NotAnObject, None), desc)
        }
        Defect::TooDeep => {
            // The top-level object is depth 1: 64 more containers reach 65.
            let n = MAX_DEPTH;
            let text = if src.below(2) == 0 {
                format!("{}{}", "[".repeat(n), "]".repeat(n))
            } else {
                format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))
            };
            doc.insert_root("@harness.deep", Node::Text(text.into_bytes()), src);
            (
                doc.render(),
                body_rule(Rule::TooDeep, None),
                format!("annotation nested {} deep", n + 1),
            )
        }
        Defect::DuplicateMember => {
            let i = src.below(doc.root.len() as u64) as usize;
            let (name, node) = doc.root.get(i).cloned()?;
            doc.root.push((name.clone(), node));
            let ptr = pointer(&[&name]);
            (
                doc.render(),
                body_rule(Rule::DuplicateMember, Some(ptr)),
                format!("{name} sent twice"),
            )
        }
        Defect::DuplicateMemberNested => {
            let (ptr, desc) = doc.duplicate_nested(src)?;
            (
                doc.render(),
                body_rule(Rule::DuplicateMember, Some(ptr)),
                desc,
            )
        }
        Defect::UnknownProperty => {
            if profile.policies().unknown_properties == UnknownProperties::Accept {
                return None;
            }
            let names: Vec<&str> = [
                "color",
                "unknownProperty",
                "display_name",
                "displayName ",
                "",
                "deviceColour",
                "\u{1f600}",
            ]
            .into_iter()
            .filter(|n| {
                !profile
                    .properties()
                    .iter()
                    .any(|d| d.name.eq_ignore_ascii_case(n))
            })
            .collect();
            let name = *names.get(src.below(names.len() as u64) as usize)?;
            doc.insert_root(name, Node::Text(b"1".to_vec()), src);
            (
                doc.render(),
                body_rule(Rule::UnknownProperty, Some(pointer(&[name]))),
                format!("unknown member {name:?}"),
            )
        }
        Defect::WrongCaseProperty => {
            if profile.policies().unknown_properties == UnknownProperties::Accept {
                return None;
            }
            let defs = profile.properties();
            let def = &defs[src.below(defs.len() as u64) as usize];
            let name = recase(&def.name, src);
            if defs.iter().any(|d| d.name == name) {
                return None;
            }
            let mut text = Vec::new();
            write_str(&mut text, "x");
            doc.insert_root(&name, Node::Text(text), src);
            (
                doc.render(),
                body_rule(Rule::WrongCaseProperty, Some(pointer(&[&name]))),
                format!("{name} for {}", def.name),
            )
        }
        Defect::MissingRequired => {
            let site = doc.pick_site(src, |d| d.required)?;
            doc.remove(&site);
            let ptr = doc.pointer(&site);
            (
                doc.render(),
                body_rule(Rule::MissingProperty, Some(ptr.clone())),
                format!("{ptr} left out"),
            )
        }
        Defect::NullNotNullable => {
            let reject = profile.policies().client_id == ClientId::Reject;
            let site = doc.pick_site(src, |d| !(d.nullable || d.key && reject))?;
            doc.set(&site, Node::Text(b"null".to_vec()), src);
            let ptr = doc.pointer(&site);
            (
                doc.render(),
                body_rule(Rule::NullNotAllowed, Some(ptr.clone())),
                format!("null at {ptr}"),
            )
        }
        Defect::NullElement => {
            let site = doc.pick_site(src, |d| d.collection)?;
            let def = doc.def(&site).clone();
            let mut items: Vec<Node> = (0..src.below(3))
                .map(|_| doc.element_node(&def, src))
                .collect();
            let at = src.below(items.len() as u64 + 1) as usize;
            items.insert(at, Node::Text(b"null".to_vec()));
            doc.set(&site, Node::Array(items), src);
            let ptr = format!("{}/{at}", doc.pointer(&site));
            (
                doc.render(),
                body_rule(Rule::NullElement, Some(ptr.clone())),
                format!("null at {ptr}"),
            )
        }
        Defect::WrongTypeString
        | Defect::WrongTypeBoolean
        | Defect::WrongTypeInt32
        | Defect::WrongTypeDateTime
        | Defect::WrongTypeBinary
        | Defect::WrongTypeGuid
        | Defect::WrongTypeCollection
        | Defect::WrongTypeComplex => {
            let (pred, forms): (fn(&PropertyDef) -> bool, &[&str]) = match defect {
                Defect::WrongTypeString => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::String),
                    &["7", "true", "{}", "[]", "-0.5"],
                ),
                Defect::WrongTypeBoolean => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::Boolean),
                    &["\"true\"", "1", "0", "[]", "{}"],
                ),
                Defect::WrongTypeInt32 => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::Int32),
                    &["\"13\"", "true", "[]", "{}"],
                ),
                Defect::WrongTypeDateTime => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::DateTimeOffset),
                    &["20161231", "true", "{}", "[]"],
                ),
                Defect::WrongTypeBinary => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::Binary),
                    &["123", "[]", "true", "{}"],
                ),
                Defect::WrongTypeGuid => (
                    |d| !d.collection && d.base == Base::Primitive(Edm::Guid),
                    &["42", "{}", "true", "[]"],
                ),
                Defect::WrongTypeCollection => (|d| d.collection, &["\"x\"", "{}", "1", "true"]),
                _ => (
                    |d| !d.collection && matches!(d.base, Base::Complex(_)),
                    &["\"x\"", "1", "[]", "true"],
                ),
            };
            let form = pick(src, forms);
            let ptr = if defect == Defect::WrongTypeComplex {
                // A collection element of a complex type counts too.
                match doc.pick_site(src, pred) {
                    Some(site) => {
                        doc.set(&site, Node::Text(form.as_bytes().to_vec()), src);
                        doc.pointer(&site)
                    }
                    None => {
                        let site = doc.pick_site(src, |d| {
                            d.collection && matches!(d.base, Base::Complex(_))
                        })?;
                        doc.set(
                            &site,
                            Node::Array(vec![Node::Text(form.as_bytes().to_vec())]),
                            src,
                        );
                        format!("{}/0", doc.pointer(&site))
                    }
                }
            } else {
                let site = doc.pick_site(src, pred)?;
                if doc.def(&site).key && profile.policies().client_id == ClientId::Reject {
                    return None;
                }
                doc.set(&site, Node::Text(form.as_bytes().to_vec()), src);
                doc.pointer(&site)
            };
            (
                doc.render(),
                body_rule(Rule::WrongType, Some(ptr.clone())),
                format!("{form} at {ptr}"),
            )
        }
        Defect::Int32OutOfRange | Defect::Int32Fraction | Defect::Int32Exponent => {
            let (forms, rule): (&[&str], _) = match defect {
                Defect::Int32OutOfRange => (
                    &[
                        "2147483648",
                        "-2147483649",
                        "4294967296",
                        "99999999999999999999",
                    ][..],
                    Rule::Int32OutOfRange,
                ),
                Defect::Int32Fraction => (
                    &["13.0", "1.5", "-0.0", "2147483647.1"][..],
                    Rule::Int32NotInteger,
                ),
                _ => (&["1e1", "1E0", "10e-1", "-2e+3"][..], Rule::Int32NotInteger),
            };
            let form = pick(src, forms);
            let site = doc.pick_site(src, |d| {
                !d.collection && d.base == Base::Primitive(Edm::Int32)
            })?;
            doc.set(&site, Node::Text(form.as_bytes().to_vec()), src);
            let ptr = doc.pointer(&site);
            (
                doc.render(),
                body_rule(rule, Some(ptr.clone())),
                format!("{form} at {ptr}"),
            )
        }
        Defect::DateTime(rule) => {
            let text = bad_date_time(rule, src);
            let site = doc.pick_site(src, |d| {
                !d.collection && d.base == Base::Primitive(Edm::DateTimeOffset)
            })?;
            doc.set(&site, string_node(&text), src);
            let ptr = doc.pointer(&site);
            (
                doc.render(),
                body_rule(Rule::DateTimeOffset(rule), Some(ptr.clone())),
                format!("{text:?} at {ptr}"),
            )
        }
        Defect::Binary(rule) => {
            let forms: &[&str] = match rule {
                BinaryRule::Character => &["a2!5", "a2V5 ", "a2V5\n", "*A==", "a=V5"],
                BinaryRule::MixedAlphabet => &["+-AA", "ab/_", "-_+/"],
                BinaryRule::Length => &["AAAAA", "a", "a2V5e", "a2V5eXM1a"],
                BinaryRule::Padding => {
                    &["a2V5=", "AA=", "AAA==", "AA===", "base64Y3YxN2E1MWFlYw=="]
                }
                BinaryRule::NonCanonical => &["AB", "AAB", "AB==", "AAB=", "a2V5eR"],
            };
            let form = pick(src, forms);
            let site = doc.pick_site(src, |d| {
                !d.collection && d.base == Base::Primitive(Edm::Binary)
            })?;
            doc.set(&site, string_node(form), src);
            let ptr = doc.pointer(&site);
            (
                doc.render(),
                body_rule(Rule::Binary(rule), Some(ptr.clone())),
                format!("{form:?} at {ptr}"),
            )
        }
        Defect::StringTooLong | Defect::StringTooLongAstral => {
            let site = doc.pick_site(src, |d| !d.collection && d.max_utf16.is_some())?;
            let max = doc.def(&site).max_utf16.unwrap_or(0);
            let text = match (defect, src.below(2)) {
                (Defect::StringTooLong, _) => "x".repeat(max + 1),
                (_, 0) if max.is_multiple_of(2) => "\u{1f600}".repeat(max / 2) + "x",
                _ => "x".repeat(max.saturating_sub(1)) + "\u{1f600}",
            };
            doc.set(&site, string_node(&text), src);
            let ptr = doc.pointer(&site);
            let desc = format!(
                "{} UTF-16 units ({} chars) at {ptr}",
                text.encode_utf16().count(),
                text.chars().count()
            );
            (
                doc.render(),
                body_rule(Rule::StringTooLong, Some(ptr)),
                desc,
            )
        }
        Defect::BadClientId => {
            if profile.policies().client_id == ClientId::Reject {
                return None;
            }
            let forms = [
                "c3e3b22ab22ac3e32ab2e3c32ab2e3c3",
                "{c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3}",
                "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3cg",
                "",
                "not-a-guid",
                "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c",
            ];
            let form = forms[src.below(forms.len() as u64) as usize];
            let key = &profile.properties()[profile.key()];
            let site = doc.pick_site(src, |d| d.key)?;
            doc.set(&site, string_node(form), src);
            let ptr = pointer(&[&key.name]);
            (
                doc.render(),
                body_rule(Rule::InvalidGuid, Some(ptr)),
                format!("id {form:?}"),
            )
        }
        Defect::BadODataType => {
            let forms = [
                "\"#microsoft.graph.user\"",
                "\"microsoft.graph.device\"",
                "\"#Microsoft.Graph.Device\"",
                "1",
                "null",
                "\"\"",
            ];
            let form = forms[src.below(forms.len() as u64) as usize];
            doc.root.retain(|(n, _)| n != "@odata.type");
            doc.insert_root("@odata.type", Node::Text(form.as_bytes().to_vec()), src);
            (
                doc.render(),
                body_rule(Rule::ODataType, Some(pointer(&["@odata.type"]))),
                format!("@odata.type {form}"),
            )
        }
        Defect::BodyTooLarge => {
            let body = doc.render();
            let target = MAX_BODY_BYTES + 1 + src.below(65_536) as usize;
            let mut b = Vec::with_capacity(target);
            b.push(b'{');
            b.resize(target.saturating_sub(body.len()) + 1, b' ');
            b.extend_from_slice(&body[1..]);
            let desc = format!("valid device padded to {} bytes", b.len());
            (b, Expected::error(GraphCode::RequestEntityTooLarge), desc)
        }
        Defect::NoContentType | Defect::WrongContentType | Defect::NonUtf8Charset => {
            let value = match defect {
                Defect::NoContentType => None,
                Defect::WrongContentType => Some(pick(
                    src,
                    &[
                        "text/plain",
                        "application/xml",
                        "application/jsonx",
                        "application/x-www-form-urlencoded",
                        "json",
                    ],
                )),
                _ => Some(pick(
                    src,
                    &[
                        "application/json; charset=iso-8859-1",
                        "application/json; charset=utf-16",
                        "application/json;charset=latin1",
                    ],
                )),
            };
            headers.content_type = value.map(str::to_owned);
            (
                doc.render(),
                Expected::error(GraphCode::UnsupportedMediaType),
                format!("Content-Type {value:?}"),
            )
        }
        Defect::MissingToken
        | Defect::EmptyToken
        | Defect::UnknownToken
        | Defect::WrongAuthScheme => {
            headers.authorization = match defect {
                Defect::MissingToken => Authorization::Missing,
                Defect::EmptyToken => {
                    Authorization::Raw(pick(src, &["Bearer ", "Bearer", ""]).to_owned())
                }
                Defect::UnknownToken => {
                    Authorization::Raw(format!("Bearer unknown-{:016x}", src.bits()))
                }
                _ => Authorization::Raw(
                    pick(src, &["Basic dXNlcjpwYXNz", "Token abc", "Digest x"]).to_owned(),
                ),
            };
            let desc = format!("Authorization {:?}", headers.authorization);
            (
                doc.render(),
                Expected::error(GraphCode::InvalidAuthenticationToken),
                desc,
            )
        }
        Defect::OtherUsersPath => {
            headers.path = PathKind::OtherUser;
            (
                doc.render(),
                Expected::denied(),
                "POST /users/{another user}/devices".into(),
            )
        }
    };
    Some(MalformedCase {
        bytes,
        headers,
        defect,
        expected,
        description,
    })
}

fn pick<'f>(src: &mut impl Source, forms: &[&'f str]) -> &'f str {
    forms[src.below(forms.len() as u64) as usize]
}

/// A DateTimeOffset text that breaks exactly `rule` (every other field valid).
fn bad_date_time(rule: DateTimeRule, src: &mut impl Source) -> String {
    let forms: &[&str] = match rule {
        DateTimeRule::Shape => &[
            "2016-12-31 23:58:36Z",
            "2016-12-31t23:58:36Z",
            "16-12-31T23:58:36Z",
            "2016/12/31T23:58:36Z",
            "2016-12-31T23:58Z",
            "20161231T235836Z",
        ],
        DateTimeRule::Year => &["0000-01-01T00:00:00Z", "0000-12-31T23:59:59+03:00"],
        DateTimeRule::Month => &["2016-13-01T00:00:00Z", "2016-00-10T00:00:00Z"],
        DateTimeRule::Day => &[
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2016-04-31T00:00:00Z",
            "2016-01-00T00:00:00Z",
            "2016-02-30T12:00:00Z",
        ],
        DateTimeRule::Hour => &["2016-12-31T24:00:00Z", "2016-12-31T99:00:00Z"],
        DateTimeRule::Minute => &["2016-12-31T23:60:00Z", "2016-12-31T23:99:00+01:00"],
        DateTimeRule::Second => &["2016-12-31T23:59:60Z", "2016-06-30T23:59:60.5-05:00"],
        DateTimeRule::Fraction => &[
            "2016-12-31T23:58:36.Z",
            "2016-12-31T23:58:36.1234567890123Z",
            "2016-12-31T23:58:36.+03:00",
        ],
        DateTimeRule::OffsetShape => &[
            "2016-12-31T23:58:36",
            "2016-12-31T23:58:36+0300",
            "2016-12-31T23:58:36z",
            "2016-12-31T23:58:36+3:00",
            "2016-12-31T23:58:36 Z",
            "2016-12-31T23:58:36+03:00Z",
        ],
        DateTimeRule::OffsetRange => &[
            "2016-12-31T23:58:36+14:01",
            "2016-12-31T23:58:36-15:00",
            "2016-12-31T23:58:36+03:60",
            "2016-12-31T23:58:36-99:00",
        ],
    };
    forms[src.below(forms.len() as u64) as usize].to_owned()
}

/// `name` with its case changed (never equal to `name` when it has a letter).
fn recase(name: &str, src: &mut impl Source) -> String {
    let flipped = |c: char| {
        if c.is_ascii_uppercase() {
            c.to_ascii_lowercase()
        } else {
            c.to_ascii_uppercase()
        }
    };
    match src.below(3) {
        0 => {
            let mut cs = name.chars();
            cs.next()
                .map(|c| flipped(c).to_string() + cs.as_str())
                .unwrap_or_default()
        }
        1 => name.to_ascii_uppercase(),
        _ => name.chars().map(flipped).collect(),
    }
}

fn string_node(s: &str) -> Node<'static> {
    let mut text = Vec::with_capacity(s.len() + 2);
    write_str(&mut text, s);
    Node::Text(text)
}

/// A JSON pointer from unescaped segments.
fn pointer(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// JSON as a tree of text: scalars keep their exact bytes (which may be made invalid).
/// Text drawn for the base device lives in the document's arena (`Span`); text a
/// mutation writes is its own (`Text`). Names from the table are borrowed.
#[derive(Clone, Debug)]
enum Node<'p> {
    Span(u32, u32),
    Text(Vec<u8>),
    Object(Vec<Member<'p>>),
    Array(Vec<Node<'p>>),
}

type Member<'p> = (Cow<'p, str>, Node<'p>);

impl Node<'_> {
    /// The text of a scalar.
    fn bytes<'a>(&'a self, arena: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Node::Span(a, b) => arena.get(*a as usize..*b as usize),
            Node::Text(t) => Some(t),
            _ => None,
        }
    }

    fn render(&self, arena: &[u8], out: &mut Vec<u8>) {
        match self {
            Node::Span(..) | Node::Text(_) => {
                out.extend_from_slice(self.bytes(arena).unwrap_or_default())
            }
            Node::Array(items) => {
                out.push(b'[');
                for (i, n) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    n.render(arena, out);
                }
                out.push(b']');
            }
            Node::Object(members) => render_members(members, arena, None, out),
        }
    }
}

/// Appends what `write` writes to the arena and returns its span.
fn span(arena: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Node<'static> {
    let start = arena.len() as u32;
    write(arena);
    Node::Span(start, arena.len() as u32)
}

fn render_members(
    members: &[Member<'_>],
    arena: &[u8],
    fragment: Option<(usize, &[u8])>,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    for (i, (name, node)) in members.iter().enumerate() {
        if let Some((gap, f)) = fragment
            && gap == i
        {
            out.extend_from_slice(f);
        }
        if i > 0 {
            out.push(b',');
        }
        write_str(out, name);
        out.push(b':');
        node.render(arena, out);
    }
    if let Some((gap, f)) = fragment
        && gap == members.len()
    {
        out.extend_from_slice(f);
    }
    out.push(b'}');
}

/// Where a value stands: a top-level property, or a member of a complex property (of its
/// first element when it is a collection).
#[derive(Clone, Copy, Debug)]
enum Site {
    Top(usize),
    Nested(usize, usize),
}

/// A device as a tree of JSON text, for minimal mutations.
struct Doc<'p> {
    profile: &'p Profile,
    arena: Vec<u8>,
    root: Vec<Member<'p>>,
}

impl<'p> Doc<'p> {
    fn new(profile: &'p Profile, device: &Device) -> Doc<'p> {
        let mut arena = Vec::with_capacity(2048);
        let mut root = Vec::new();
        for m in device.annotations.iter() {
            let node = span(&mut arena, |a| {
                a.extend_from_slice(m.value.as_str().as_bytes())
            });
            root.push((Cow::Owned(m.name.clone()), node));
        }
        for (def, value) in profile.properties().iter().zip(&device.properties) {
            if let Some(v) = value {
                root.push((
                    Cow::Borrowed(def.name.as_str()),
                    value_node(&mut arena, profile, def, v),
                ));
            }
        }
        for m in &device.unknown {
            let node = span(&mut arena, |a| {
                a.extend_from_slice(m.value.as_str().as_bytes())
            });
            root.push((Cow::Owned(m.name.clone()), node));
        }
        Doc {
            profile,
            arena,
            root,
        }
    }

    /// The device [`valid::device`] would draw from `src`, built straight as text.
    fn generate(profile: &'p Profile, src: &mut impl Source, scratch: &mut String) -> Doc<'p> {
        let mut arena = Vec::with_capacity(2048);
        let extras = valid::Extras::draw(src);
        let mut root = Vec::with_capacity(profile.properties().len() + 2);
        if extras.odata_type {
            let node = span(&mut arena, |a| write_str(a, profile.odata_type()));
            root.push((Cow::Borrowed("@odata.type"), node));
        }
        if let Some(n) = extras.note {
            let node = span(&mut arena, |a| {
                a.extend_from_slice(valid::note_text(n).as_bytes())
            });
            root.push((Cow::Borrowed(extras.note_name()), node));
        }
        for def in profile.properties() {
            if let Some(node) = generated_slot(&mut arena, profile, def, src, scratch) {
                root.push((Cow::Borrowed(def.name.as_str()), node));
            }
        }
        Doc {
            profile,
            arena,
            root,
        }
    }

    fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + 64);
        render_members(&self.root, &self.arena, None, &mut out);
        out
    }

    fn render_with_fragment(&self, gap: usize, fragment: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + 64);
        render_members(&self.root, &self.arena, Some((gap, fragment)), &mut out);
        out
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.root.iter().position(|(n, _)| n == name)
    }

    /// Adds a member at a random place among the others.
    fn insert_root(&mut self, name: &str, node: Node<'p>, src: &mut impl Source) {
        let at = src.below(self.root.len() as u64 + 1) as usize;
        self.root.insert(at, (Cow::Owned(name.to_owned()), node));
    }

    fn def(&self, site: &Site) -> &'p PropertyDef {
        let defs = self.profile.properties();
        match *site {
            Site::Top(i) => &defs[i],
            Site::Nested(i, m) => match defs[i].base {
                Base::Complex(c) => &self.profile.complex_types()[c].members[m],
                Base::Primitive(_) => &defs[i],
            },
        }
    }

    fn pointer(&self, site: &Site) -> String {
        let defs = self.profile.properties();
        match *site {
            Site::Top(i) => pointer(&[&defs[i].name]),
            Site::Nested(i, _) if defs[i].collection => {
                format!(
                    "{}/0{}",
                    pointer(&[&defs[i].name]),
                    pointer(&[&self.def(site).name])
                )
            }
            Site::Nested(i, _) => pointer(&[&defs[i].name, &self.def(site).name]),
        }
    }

    /// Every site whose definition satisfies `pred` (top-level and complex members).
    fn pick_site(
        &self,
        src: &mut impl Source,
        pred: impl Fn(&PropertyDef) -> bool,
    ) -> Option<Site> {
        let mut sites = Vec::new();
        for (i, def) in self.profile.properties().iter().enumerate() {
            if pred(def) {
                sites.push(Site::Top(i));
            }
            if let Base::Complex(c) = def.base
                && let Some(ty) = self.profile.complex_types().get(c)
            {
                for (m, member) in ty.members.iter().enumerate() {
                    if pred(member) {
                        sites.push(Site::Nested(i, m));
                    }
                }
            }
        }
        if sites.is_empty() {
            return None;
        }
        Some(sites[src.below(sites.len() as u64) as usize])
    }

    fn element_node(&mut self, def: &PropertyDef, src: &mut impl Source) -> Node<'p> {
        let v = valid::element(self.profile, def, src);
        value_node(&mut self.arena, self.profile, def, &v)
    }

    /// The members of the complex object a nested site lives in, creating a valid one
    /// (as the first element of its collection) when there is none.
    fn complex_members(
        &mut self,
        top: usize,
        src: &mut impl Source,
    ) -> Option<&mut Vec<Member<'p>>> {
        let profile = self.profile;
        let def = &profile.properties()[top];
        let fresh = self.element_node(def, src);
        let at = match self.position(&def.name) {
            Some(at) => at,
            None => {
                let node = if def.collection {
                    Node::Array(vec![])
                } else {
                    Node::Text(vec![])
                };
                self.root.push((Cow::Borrowed(def.name.as_str()), node));
                self.root.len() - 1
            }
        };
        let node = &mut self.root[at].1;
        let object = if def.collection {
            if !matches!(node, Node::Array(items) if matches!(items.first(), Some(Node::Object(_))))
            {
                *node = Node::Array(vec![fresh]);
            }
            match node {
                Node::Array(items) => items.first_mut(),
                _ => None,
            }
        } else {
            if !matches!(node, Node::Object(_)) {
                *node = fresh;
            }
            Some(node)
        };
        match object {
            Some(Node::Object(members)) => Some(members),
            _ => None,
        }
    }

    /// Sets the value at `site`, adding the member when absent.
    fn set(&mut self, site: &Site, value: Node<'p>, src: &mut impl Source) {
        let name: Cow<'p, str> = Cow::Borrowed(self.def(site).name.as_str());
        let members = match *site {
            Site::Top(_) => &mut self.root,
            Site::Nested(top, _) => match self.complex_members(top, src) {
                Some(m) => m,
                None => return,
            },
        };
        match members.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => {
                let at = src.below(members.len() as u64 + 1) as usize;
                members.insert(at, (name, value));
            }
        }
    }

    /// Removes the member at `site`.
    fn remove(&mut self, site: &Site) {
        let name = self.def(site).name.as_str();
        match *site {
            Site::Top(_) => self.root.retain(|(n, _)| *n != name),
            Site::Nested(top, _) => {
                let mut none = super::Replay::new(&[]);
                if let Some(members) = self.complex_members(top, &mut none) {
                    members.retain(|(n, _)| *n != name);
                }
            }
        }
    }

    /// A member inside a nested object sent twice: in a complex value when the table has
    /// one, else inside an annotation.
    fn duplicate_nested(&mut self, src: &mut impl Source) -> Option<(String, String)> {
        let profile = self.profile;
        let defs = profile.properties();
        if let Some(top) = (0..defs.len()).find(|&i| matches!(defs[i].base, Base::Complex(_))) {
            let def = &defs[top];
            let prefix = if def.collection {
                format!("{}/0", pointer(&[&def.name]))
            } else {
                pointer(&[&def.name])
            };
            let first = profile.members_of(def).first().map(|m| m.name.clone());
            let members = self.complex_members(top, src)?;
            if members.is_empty() {
                // Every member is optional: give an empty one a member to send twice.
                members.push((first?.into(), Node::Text(b"null".to_vec())));
            }
            let i = src.below(members.len() as u64) as usize;
            let (name, node) = members.get(i).cloned()?;
            members.push((name.clone(), node));
            let desc = format!("{name} twice in {prefix}");
            return Some((format!("{prefix}{}", pointer(&[&name])), desc));
        }
        let inner = Node::Object(vec![
            ("a".into(), Node::Text(b"1".to_vec())),
            ("a".into(), Node::Text(b"2".to_vec())),
        ]);
        self.insert_root("@harness.dup", inner, src);
        Some(("/@harness.dup/a".into(), "a twice in an annotation".into()))
    }

    /// Replaces a `true`/`false`/`null` value with `form` (or adds an annotation holding
    /// it when the device has none); returns where.
    fn replace_literal(&mut self, form: &str, src: &mut impl Source) -> String {
        let arena = &self.arena;
        let literal = |n: &Node| matches!(n.bytes(arena), Some(t) if t == b"true" || t == b"false" || t == b"null");
        let spots: Vec<usize> = (0..self.root.len())
            .filter(|&i| literal(&self.root[i].1))
            .collect();
        if spots.is_empty() {
            let text = Node::Text(form.as_bytes().to_vec());
            self.insert_root("@harness.literal", text, src);
            return "/@harness.literal".into();
        }
        let i = spots[src.below(spots.len() as u64) as usize];
        self.root[i].1 = Node::Text(form.as_bytes().to_vec());
        pointer(&[&self.root[i].0])
    }

    /// Puts `form` where an Int32 stands (or in an annotation when none does).
    fn replace_number(&mut self, form: &str, src: &mut impl Source) -> String {
        let int32 = |d: &PropertyDef| !d.collection && d.base == Base::Primitive(Edm::Int32);
        match self.pick_site(src, int32) {
            Some(site) => {
                self.set(&site, Node::Text(form.as_bytes().to_vec()), src);
                self.pointer(&site)
            }
            None => {
                let text = Node::Text(form.as_bytes().to_vec());
                self.insert_root("@harness.number", text, src);
                "/@harness.number".into()
            }
        }
    }

    /// A top-level member whose value is a JSON string (adding an annotation holding one
    /// when there is none); returns its name.
    fn string_site(&mut self, src: &mut impl Source) -> String {
        let arena = &self.arena;
        let spots: Vec<usize> = (0..self.root.len())
            .filter(|&i| matches!(self.root[i].1.bytes(arena), Some([b'"', ..])))
            .collect();
        if spots.is_empty() {
            self.insert_root("@harness.text", string_node("text"), src);
            return "@harness.text".into();
        }
        self.root[spots[src.below(spots.len() as u64) as usize]]
            .0
            .to_string()
    }

    /// The text of a top-level scalar member, made its own so it can be changed.
    fn string_text_mut(&mut self, name: &str) -> Option<&mut Vec<u8>> {
        let at = self.position(name)?;
        let owned = self.root[at].1.bytes(&self.arena)?.to_vec();
        self.root[at].1 = Node::Text(owned);
        match &mut self.root[at].1 {
            Node::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Puts `bytes` inside a string value, right after its opening quote or right before
    /// its closing one (never inside an escape); returns the member's name.
    fn inject_in_string(&mut self, bytes: &[u8], src: &mut impl Source) -> String {
        let name = self.string_site(src);
        let front = src.below(2) == 0;
        if let Some(text) = self.string_text_mut(&name) {
            let at = if front {
                1
            } else {
                text.len().saturating_sub(1).max(1)
            };
            text.splice(at..at, bytes.iter().copied());
        }
        name
    }
}

/// One slot drawn as [`valid::device`] draws it: complex values as objects (so nested
/// sites can be reached), everything else as its JSON text in the arena.
fn generated_slot<'p>(
    arena: &mut Vec<u8>,
    profile: &'p Profile,
    def: &PropertyDef,
    src: &mut impl Source,
    scratch: &mut String,
) -> Option<Node<'p>> {
    match valid::presence(def, src) {
        valid::Presence::Absent => None,
        valid::Presence::Null => Some(span(arena, |a| a.extend_from_slice(b"null"))),
        valid::Presence::Value => Some(match (def.collection, def.base) {
            (true, Base::Complex(_)) => Node::Array(
                (0..valid::collection_len(src))
                    .map(|_| generated_complex(arena, profile, def, src, scratch))
                    .collect(),
            ),
            (false, Base::Complex(_)) => generated_complex(arena, profile, def, src, scratch),
            (true, _) => span(arena, |a| {
                a.push(b'[');
                for i in 0..valid::collection_len(src) {
                    if i > 0 {
                        a.push(b',');
                    }
                    valid::write_element(profile, def, src, a, scratch);
                }
                a.push(b']');
            }),
            (false, _) => span(arena, |a| {
                valid::write_element(profile, def, src, a, scratch)
            }),
        }),
    }
}

fn generated_complex<'p>(
    arena: &mut Vec<u8>,
    profile: &'p Profile,
    def: &PropertyDef,
    src: &mut impl Source,
    scratch: &mut String,
) -> Node<'p> {
    let ty = match def.base {
        Base::Complex(i) => profile.complex_types().get(i),
        Base::Primitive(_) => None,
    };
    let Some(ty) = ty else {
        return Node::Text(b"null".to_vec());
    };
    let mut members = Vec::with_capacity(ty.members.len() + 1);
    if let Some(t) = valid::complex_odata_type(&ty.odata_types, src) {
        members.push((
            Cow::Borrowed("@odata.type"),
            span(arena, |a| write_str(a, t)),
        ));
    }
    for m in &ty.members {
        if let Some(node) = generated_slot(arena, profile, m, src, scratch) {
            members.push((Cow::Borrowed(m.name.as_str()), node));
        }
    }
    Node::Object(members)
}

fn value_node<'p>(
    arena: &mut Vec<u8>,
    profile: &'p Profile,
    def: &PropertyDef,
    value: &Value,
) -> Node<'p> {
    match value {
        Value::Collection(items) if matches!(def.base, Base::Complex(_)) => Node::Array(
            items
                .iter()
                .map(|v| value_node(arena, profile, def, v))
                .collect(),
        ),
        Value::Complex(c) => {
            let members = profile.members_of(def);
            let mut out: Vec<Member<'p>> = Vec::with_capacity(members.len() + 1);
            for m in &c.annotations {
                let node = span(arena, |a| a.extend_from_slice(m.value.as_str().as_bytes()));
                out.push((Cow::Owned(m.name.clone()), node));
            }
            for (m, v) in members.iter().zip(&c.members) {
                if let Some(v) = v {
                    out.push((
                        Cow::Borrowed(m.name.as_str()),
                        value_node(arena, profile, m, v),
                    ));
                }
            }
            Node::Object(out)
        }
        v => span(arena, |a| write_value(a, profile, def, v)),
    }
}

//! Malformed payloads: a documented defect taxonomy, and cases that each break **exactly
//! one rule** of a valid device (a minimal mutation), labelled with what a conforming
//! server answers, so a rejection can be attributed.
//!
//! [`Defect`] is the taxonomy: one variant per class of CONTRACT.md rule, from JSON syntax
//! to headers. [`malformed`] applies one to a valid device; the result says which rule the
//! parser must report ([`Expected::rule`], a [`crate::ErrorKind::rule`] identifier) and
//! where ([`Expected::pointer`]), or for size and header defects the HTTP status alone.

use std::fmt;

mod doc;
mod encoding;
mod headers;
mod structure;
mod syntax;
mod values;

use doc::Doc;

use super::Source;
pub use crate::answer::Expected;
use crate::contract::Profile;
use crate::model::{BinaryRule, DateTimeRule, Device};

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

#[cfg(feature = "proptest")]
/// Malformed cases as a shrinkable proptest strategy: a valid device (shrinking as
/// [`valid::strategy`](crate::generate::valid::strategy) does), a defect class that applies to `profile`, and the choices of
/// where and how to break it.
pub fn strategy(profile: &Profile) -> proptest::strategy::BoxedStrategy<MalformedCase> {
    use proptest::prelude::*;
    let shared = std::sync::Arc::new(profile.clone());
    (
        super::valid::strategy(profile),
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

/// Like [`malformed`] on the device [`valid::device`](crate::generate::valid::device) would draw from `src`, without
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

/// A broken body, what a conforming server answers, and what was changed.
type Broken = (Vec<u8>, Expected, String);

fn break_doc(mut doc: Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<MalformedCase> {
    use Defect::*;
    let mut headers = RequestHeaders::valid(src);
    let doc = &mut doc;
    let (bytes, expected, description) = match defect {
        Truncated | TrailingData | BadLiteral | NanInfinity | NumberSyntax | Comment
        | TrailingComma | SingleQuotes | NotAnObject | TooDeep => syntax::apply(doc, defect, src),
        ControlCharacter | BadEscape | Bom | InvalidUtf8 | OverlongUtf8 | LoneSurrogate => {
            encoding::apply(doc, defect, src)
        }
        DuplicateMember
        | DuplicateMemberNested
        | UnknownProperty
        | WrongCaseProperty
        | MissingRequired
        | NullNotNullable
        | NullElement
        | WrongTypeString
        | WrongTypeBoolean
        | WrongTypeInt32
        | WrongTypeDateTime
        | WrongTypeBinary
        | WrongTypeGuid
        | WrongTypeCollection
        | WrongTypeComplex => structure::apply(doc, defect, src),
        Int32OutOfRange | Int32Fraction | Int32Exponent | DateTime(_) | Binary(_)
        | StringTooLong | StringTooLongAstral | BadClientId | BadODataType => {
            values::apply(doc, defect, src)
        }
        BodyTooLarge | NoContentType | WrongContentType | NonUtf8Charset | MissingToken
        | EmptyToken | UnknownToken | WrongAuthScheme | OtherUsersPath => {
            headers::apply(doc, defect, src, &mut headers)
        }
    }?;
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

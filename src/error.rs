//! [`PayloadError`]: why a byte string is not a valid device, and where.
//!
//! Every error names the rule it breaks ([`ErrorKind::rule`], a stable identifier such as
//! `property.int32.range`), the place (a byte offset, and for property rules a JSON
//! pointer), and maps to the HTTP status and Graph error code of CONTRACT.md section 4.

use std::fmt;

use crate::model::{BinaryRule, DateTimeRule};

/// The JSON kind of a value, for wrong-type messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// `{...}`.
    Object,
    /// `[...]`.
    Array,
    /// `"..."`.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Object => "object",
            JsonKind::Array => "array",
            JsonKind::String => "string",
            JsonKind::Number => "number",
            JsonKind::Boolean => "boolean",
            JsonKind::Null => "null",
        })
    }
}

/// The three families of rules, which decide the Graph error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Not readable JSON: encoding, syntax, depth, trailing data. 400 `BadRequest`.
    Syntax,
    /// Readable JSON that is not an object. 400 `BadRequest`.
    Structure,
    /// A readable JSON object that breaks a property rule. 400 `Request_BadRequest`.
    Property,
}

/// Which rule was broken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The body starts with a UTF-8 byte order mark.
    Bom,
    /// The body is not UTF-8 (invalid, overlong or surrogate sequences, truncated).
    InvalidUtf8,
    /// The body ends inside a value (or is empty).
    UnexpectedEnd,
    /// A byte that cannot stand here.
    UnexpectedByte {
        /// The byte found.
        found: u8,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// A malformed number.
    InvalidNumber,
    /// A malformed `true`, `false` or `null`.
    InvalidLiteral,
    /// A backslash escape JSON does not have.
    InvalidEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacter,
    /// A `\uD800`-`\uDFFF` escape not part of a surrogate pair.
    LoneSurrogate,
    /// Non-whitespace after the top-level value.
    TrailingData,
    /// Arrays and objects nested deeper than the limit.
    TooDeep {
        /// The limit (64).
        limit: usize,
    },
    /// The top-level value is not an object.
    NotAnObject {
        /// What it is.
        found: JsonKind,
    },
    /// A member name appears twice in one object.
    DuplicateMember {
        /// The name.
        name: String,
    },
    /// A member that is neither a property nor an annotation.
    UnknownProperty {
        /// The name.
        name: String,
    },
    /// A property name in the wrong case.
    WrongCaseProperty {
        /// The name as sent.
        name: String,
        /// The name in the table.
        expected: String,
    },
    /// A required property is absent.
    MissingProperty {
        /// The name.
        name: String,
    },
    /// `null` for a property that is not nullable.
    NullNotAllowed,
    /// `null` as a collection element.
    NullElement,
    /// A JSON value of the wrong kind.
    WrongType {
        /// The property's type, such as `Edm.Int32` or `Collection(Edm.String)`.
        expected: String,
        /// What was sent.
        found: JsonKind,
    },
    /// An Int32 with a fraction or an exponent.
    Int32NotInteger,
    /// An Int32 outside [-2147483648, 2147483647].
    Int32OutOfRange,
    /// A string longer than the property allows, in UTF-16 code units.
    StringTooLong {
        /// The limit.
        max: usize,
        /// The length sent.
        found: usize,
    },
    /// A DateTimeOffset rule.
    DateTimeOffset(DateTimeRule),
    /// A Binary rule.
    Binary(BinaryRule),
    /// A key that is not a GUID.
    InvalidGuid,
    /// An `@odata.type` annotation with another value (or not a string).
    ODataType {
        /// The values allowed there.
        expected: Vec<String>,
    },
    /// A client-supplied key where the profile rejects them.
    ClientIdNotAllowed,
}

impl ErrorKind {
    /// The family, which decides the Graph code.
    pub fn category(&self) -> Category {
        use ErrorKind::*;
        match self {
            Bom
            | InvalidUtf8
            | UnexpectedEnd
            | UnexpectedByte { .. }
            | InvalidNumber
            | InvalidLiteral
            | InvalidEscape
            | ControlCharacter
            | LoneSurrogate
            | TrailingData
            | TooDeep { .. } => Category::Syntax,
            NotAnObject { .. } => Category::Structure,
            _ => Category::Property,
        }
    }

    /// The rule broken, such as [`Rule::TrailingData`]; its [`Rule::id`] is a stable
    /// identifier (`json.syntax.trailing-data`) the generators label their defects with.
    pub fn rule(&self) -> Rule {
        use ErrorKind::*;
        match self {
            Bom => Rule::Bom,
            InvalidUtf8 => Rule::InvalidUtf8,
            LoneSurrogate => Rule::LoneSurrogate,
            UnexpectedEnd => Rule::UnexpectedEnd,
            UnexpectedByte { .. } => Rule::UnexpectedByte,
            InvalidNumber => Rule::InvalidNumber,
            InvalidLiteral => Rule::InvalidLiteral,
            InvalidEscape => Rule::InvalidEscape,
            ControlCharacter => Rule::ControlCharacter,
            TrailingData => Rule::TrailingData,
            TooDeep { .. } => Rule::TooDeep,
            NotAnObject { .. } => Rule::NotAnObject,
            DuplicateMember { .. } => Rule::DuplicateMember,
            UnknownProperty { .. } => Rule::UnknownProperty,
            WrongCaseProperty { .. } => Rule::WrongCaseProperty,
            MissingProperty { .. } => Rule::MissingProperty,
            NullNotAllowed => Rule::NullNotAllowed,
            NullElement => Rule::NullElement,
            WrongType { .. } => Rule::WrongType,
            Int32NotInteger => Rule::Int32NotInteger,
            Int32OutOfRange => Rule::Int32OutOfRange,
            StringTooLong { .. } => Rule::StringTooLong,
            DateTimeOffset(r) => Rule::DateTimeOffset(*r),
            Binary(r) => Rule::Binary(*r),
            InvalidGuid => Rule::InvalidGuid,
            ODataType { .. } => Rule::ODataType,
            ClientIdNotAllowed => Rule::ClientIdNotAllowed,
        }
    }
}

macro_rules! rules {
    ($($variant:ident => $id:literal,)*) => {
        /// A rule of CONTRACT.md section 3, as [`ErrorKind::rule`] names it: the kind of
        /// error without its details. [`Rule::id`] is its stable text form.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Rule {
            $(#[doc = concat!("`", $id, "`")] $variant,)*
            /// `property.datetime.*`
            DateTimeOffset(DateTimeRule),
            /// `property.binary.*`
            Binary(BinaryRule),
        }

        impl Rule {
            /// The stable identifier, such as `json.syntax.trailing-data`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                    Rule::DateTimeOffset(r) => datetime_rule_id(r),
                    Rule::Binary(r) => binary_rule_id(r),
                }
            }

            /// Every rule.
            pub fn all() -> Vec<Rule> {
                let mut all = vec![$(Rule::$variant,)*];
                all.extend(DateTimeRule::ALL.map(Rule::DateTimeOffset));
                all.extend(BinaryRule::ALL.map(Rule::Binary));
                all
            }
        }
    };
}

rules! {
    Bom => "json.encoding.bom",
    InvalidUtf8 => "json.encoding.utf8",
    LoneSurrogate => "json.encoding.lone-surrogate",
    UnexpectedEnd => "json.syntax.unexpected-end",
    UnexpectedByte => "json.syntax.unexpected-byte",
    InvalidNumber => "json.syntax.number",
    InvalidLiteral => "json.syntax.literal",
    InvalidEscape => "json.syntax.escape",
    ControlCharacter => "json.syntax.control-character",
    TrailingData => "json.syntax.trailing-data",
    TooDeep => "json.structure.depth",
    NotAnObject => "json.structure.not-an-object",
    DuplicateMember => "member.duplicate",
    UnknownProperty => "property.unknown",
    WrongCaseProperty => "property.wrong-case",
    MissingProperty => "property.missing",
    NullNotAllowed => "property.null",
    NullElement => "property.null-element",
    WrongType => "property.type",
    Int32NotInteger => "property.int32.not-integer",
    Int32OutOfRange => "property.int32.range",
    StringTooLong => "property.string.too-long",
    InvalidGuid => "property.id.not-a-guid",
    ODataType => "property.odata-type",
    ClientIdNotAllowed => "property.id.not-allowed",
}

fn datetime_rule_id(r: DateTimeRule) -> &'static str {
    match r {
        DateTimeRule::Shape => "property.datetime.shape",
        DateTimeRule::Year => "property.datetime.year",
        DateTimeRule::Month => "property.datetime.month",
        DateTimeRule::Day => "property.datetime.day",
        DateTimeRule::Hour => "property.datetime.hour",
        DateTimeRule::Minute => "property.datetime.minute",
        DateTimeRule::Second => "property.datetime.second",
        DateTimeRule::Fraction => "property.datetime.fraction",
        DateTimeRule::OffsetShape => "property.datetime.offset-shape",
        DateTimeRule::OffsetRange => "property.datetime.offset-range",
    }
}

fn binary_rule_id(r: BinaryRule) -> &'static str {
    match r {
        BinaryRule::Character => "property.binary.character",
        BinaryRule::MixedAlphabet => "property.binary.mixed-alphabet",
        BinaryRule::Length => "property.binary.length",
        BinaryRule::Padding => "property.binary.padding",
        BinaryRule::NonCanonical => "property.binary.non-canonical",
    }
}

impl Rule {
    /// The rule of an identifier.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::all().into_iter().find(|r| r.id() == id)
    }

    /// The family, which decides the Graph code.
    pub fn category(self) -> Category {
        let id = self.id();
        if self == Rule::NotAnObject {
            Category::Structure
        } else if id.starts_with("json.") {
            Category::Syntax
        } else {
            Category::Property
        }
    }

    /// Where CONTRACT.md leaves the choice of code open (its paragraph under the error
    /// table): duplicate member names and lone surrogate escapes get either 400 code.
    pub fn either_code(self) -> bool {
        matches!(self, Rule::DuplicateMember | Rule::LoneSurrogate)
    }

    /// Every Graph code a conforming target may answer this rule with: the code of its
    /// family, and both 400 codes where the contract does not choose.
    pub fn codes(self) -> &'static [GraphCode] {
        // The family's code first: it is the reference server's answer.
        match (self.either_code(), self.category()) {
            (true, Category::Property) => {
                return &[GraphCode::RequestBadRequest, GraphCode::BadRequest];
            }
            (true, _) => return &[GraphCode::BadRequest, GraphCode::RequestBadRequest],
            (false, _) => {}
        }
        match self.category() {
            Category::Syntax | Category::Structure => &[GraphCode::BadRequest],
            Category::Property => &[GraphCode::RequestBadRequest],
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id() == *other
    }
}

impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.id() == other
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

macro_rules! graph_codes {
    ($($variant:ident => $code:literal, $status:literal;)*) => {
        /// A Graph error code of CONTRACT.md section 4, with its status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum GraphCode {
            $(#[doc = concat!("`", $code, "` (", $status, ")")] $variant,)*
        }

        impl GraphCode {
            /// Every code, in the order of the contract's error table.
            pub const ALL: &[GraphCode] = &[$(GraphCode::$variant,)*];

            /// The code as a Graph error body spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(GraphCode::$variant => $code,)*
                }
            }

            /// The HTTP status that goes with it.
            pub fn status(self) -> u16 {
                match self {
                    $(GraphCode::$variant => $status,)*
                }
            }
        }
    };
}

graph_codes! {
    BadRequest => "BadRequest", 400;
    RequestBadRequest => "Request_BadRequest", 400;
    InvalidAuthenticationToken => "InvalidAuthenticationToken", 401;
    AuthorizationRequestDenied => "Authorization_RequestDenied", 403;
    ResourceNotFound => "Request_ResourceNotFound", 404;
    MethodNotAllowed => "MethodNotAllowed", 405;
    MultipleObjectsWithSameKeyValue => "Request_MultipleObjectsWithSameKeyValue", 409;
    RequestEntityTooLarge => "RequestEntityTooLarge", 413;
    UnsupportedMediaType => "UnsupportedMediaType", 415;
    TooManyRequests => "TooManyRequests", 429;
}

impl GraphCode {
    /// The code of a spelling.
    pub fn parse(code: &str) -> Option<GraphCode> {
        GraphCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for GraphCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for GraphCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<GraphCode> for &str {
    fn eq(&self, other: &GraphCode) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for GraphCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            Bom => f.write_str("body starts with a byte order mark"),
            InvalidUtf8 => f.write_str("body is not valid UTF-8"),
            UnexpectedEnd => f.write_str("unexpected end of body"),
            UnexpectedByte { found, expected } => {
                write!(f, "unexpected {}, expected {expected}", show_byte(*found))
            }
            InvalidNumber => f.write_str("malformed number"),
            InvalidLiteral => f.write_str("malformed literal (true, false or null)"),
            InvalidEscape => f.write_str("invalid escape sequence in string"),
            ControlCharacter => f.write_str("raw control character in string"),
            LoneSurrogate => f.write_str("lone surrogate escape in string"),
            TrailingData => f.write_str("data after the top-level value"),
            TooDeep { limit } => write!(f, "nesting deeper than {limit}"),
            NotAnObject { found } => write!(f, "body is a JSON {found}, not an object"),
            DuplicateMember { name } => write!(f, "duplicate member '{name}'"),
            UnknownProperty { name } => write!(f, "unknown property '{name}'"),
            WrongCaseProperty { name, expected } => {
                write!(
                    f,
                    "unknown property '{name}' (names are case-sensitive: '{expected}')"
                )
            }
            MissingProperty { name } => write!(f, "required property '{name}' is missing"),
            NullNotAllowed => f.write_str("null is not allowed"),
            NullElement => f.write_str("collection elements cannot be null"),
            WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Int32NotInteger => f.write_str("Edm.Int32 takes no fraction or exponent"),
            Int32OutOfRange => f.write_str("outside the Edm.Int32 range"),
            StringTooLong { max, found } => {
                write!(f, "{found} UTF-16 code units, at most {max} allowed")
            }
            DateTimeOffset(r) => write!(f, "invalid Edm.DateTimeOffset: {}", r.describe()),
            Binary(r) => write!(f, "invalid Edm.Binary: {}", r.describe()),
            InvalidGuid => f.write_str("id must be a GUID (8-4-4-4-12 hexadecimal digits)"),
            ODataType { expected } => write!(f, "@odata.type must be {}", expected.join(" or ")),
            ClientIdNotAllowed => f.write_str("a client-supplied id is not accepted"),
        }
    }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Why a body is not a valid device: the rule, the byte offset, and for property rules a
/// JSON pointer (RFC 6901) to the member.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PayloadError {
    /// The rule broken.
    pub kind: ErrorKind,
    /// Byte offset where it was found (for property rules, the start of the value; for a
    /// missing property, the start of its object).
    pub offset: usize,
    /// JSON pointer to the member, for property rules (`/alternativeSecurityIds/0/key`).
    pub pointer: Option<String>,
}

impl PayloadError {
    /// The family of the rule.
    pub fn category(&self) -> Category {
        self.kind.category()
    }

    /// The HTTP status a target answers with (always 400 for a body rule).
    pub fn status(&self) -> u16 {
        400
    }

    /// The Graph error code: `BadRequest` for unreadable JSON or a non-object,
    /// `Request_BadRequest` for property rules (the reference server's reading where the
    /// contract allows either; see [`Rule::codes`]).
    pub fn code(&self) -> GraphCode {
        match self.category() {
            Category::Syntax | Category::Structure => GraphCode::BadRequest,
            Category::Property => GraphCode::RequestBadRequest,
        }
    }

    /// The top-level property the error is about, when there is one.
    pub fn property(&self) -> Option<String> {
        let p = self.pointer.as_deref()?;
        let first = p.strip_prefix('/')?.split('/').next()?;
        Some(first.replace("~1", "/").replace("~0", "~"))
    }

    /// The message a Graph-shaped error body carries: it names the property for property
    /// rules.
    pub fn message(&self) -> String {
        match (self.category(), self.property()) {
            (Category::Property, Some(p)) => {
                format!("Invalid value for property '{p}': {}", self.kind)
            }
            (Category::Property, None) => format!("Invalid device: {}", self.kind),
            _ => format!("Unreadable JSON at byte {}: {}", self.offset, self.kind),
        }
    }

    /// Line and column (1-based, columns in bytes) of the offset in `body`.
    pub fn line_column(&self, body: &[u8]) -> (usize, usize) {
        let before = &body[..self.offset.min(body.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        (line, col)
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pointer {
            Some(p) => write!(
                f,
                "{} at {} (byte {})",
                self.kind,
                if p.is_empty() { "/" } else { p },
                self.offset
            ),
            None => write!(f, "{} at byte {}", self.kind, self.offset),
        }
    }
}

impl std::error::Error for PayloadError {}

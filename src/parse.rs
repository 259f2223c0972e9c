//! The strict byte-level device parser: [`from_bytes`].
//!
//! One pass over the bytes, driven by the profile's property table, enforcing every rule
//! of CONTRACT.md section 3. It is the function every test, fuzz target, bench and the
//! server call.
//!
//! The first violation is reported deterministically:
//!
//! 1. a byte order mark, then invalid UTF-8 (checked over the whole body first);
//! 2. otherwise the first syntax error in document order (including nesting deeper than
//!    [`MAX_DEPTH`] and trailing data): unreadable JSON always wins, so a body is never
//!    blamed for a property when it is not readable JSON at all;
//! 3. otherwise, for readable JSON, the first structure or property error in document
//!    order (a top-level non-object, a duplicate member, a bad value, ...), and last the
//!    first missing required property in table order.
//!
//! Recursion is bounded by the depth limit, so no input can overflow the stack, and
//! nothing is allocated beyond the values kept.
//!
//! ```
//! use devices_harness::parse::from_bytes;
//! let err = from_bytes(br#"{"deviceVersion": 1.5}"#).unwrap_err();
//! assert_eq!(err.kind.rule(), "property.int32.not-integer");
//! assert_eq!(err.pointer.as_deref(), Some("/deviceVersion"));
//! assert_eq!(err.code(), "Request_BadRequest");
//! ```

use std::borrow::Cow;
use std::collections::HashSet;

use crate::contract::{Base, ClientId, Edm, MAX_DEPTH, Profile, PropertyDef, UnknownProperties};
use crate::error::{ErrorKind, JsonKind, PayloadError};
use crate::model::{
    Binary, Complex, DateTimeOffset, Device, Guid, Member, RawJson, Strings, Text, Value,
};
use crate::scan::{find_special, same};

/// Parses a device under the built-in seed profile.
pub fn from_bytes(bytes: &[u8]) -> Result<Device, PayloadError> {
    from_bytes_with(Profile::seed(), bytes)
}

/// Parses a device under `profile`.
pub fn from_bytes_with(profile: &Profile, bytes: &[u8]) -> Result<Device, PayloadError> {
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err(syntax(ErrorKind::Bom, 0));
    }
    let src =
        std::str::from_utf8(bytes).map_err(|e| syntax(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let mut p = Parser {
        src,
        b: bytes,
        pos: 0,
        profile,
        deferred: None,
    };
    p.skip_ws();
    let device = match p.peek() {
        Some(b'{') => {
            let odata = [profile.odata_type().to_owned()];
            let accept = profile.policies().unknown_properties == UnknownProperties::Accept;
            let obj = p.object(profile.properties(), &odata, accept, 1, &Path::Root)?;
            Some(Device {
                properties: obj.values,
                annotations: obj.annotations,
                unknown: obj.unknown,
            })
        }
        Some(_) => {
            let start = p.pos;
            let found = p.kind_at()?;
            p.defer(ErrorKind::NotAnObject { found }, start, None);
            p.raw(1, None, &Path::Root)?;
            None
        }
        None => return Err(syntax(ErrorKind::UnexpectedEnd, p.pos)),
    };
    p.skip_ws();
    if p.pos < bytes.len() {
        return Err(syntax(ErrorKind::TrailingData, p.pos));
    }
    match (p.deferred, device) {
        (Some(e), _) => Err(e),
        (None, Some(d)) => Ok(d),
        // A non-object always defers an error; this arm is unreachable in practice.
        (None, None) => Err(syntax(ErrorKind::UnexpectedEnd, 0)),
    }
}

fn syntax(kind: ErrorKind, offset: usize) -> PayloadError {
    PayloadError {
        kind,
        offset,
        pointer: None,
    }
}

/// A place in the document, kept on the stack while parsing and turned into a JSON
/// pointer only when an error needs one.
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn pointer(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    fn write(&self, s: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, k) => {
                parent.write(s);
                s.push('/');
                for c in k.chars() {
                    match c {
                        '~' => s.push_str("~0"),
                        '/' => s.push_str("~1"),
                        c => s.push(c),
                    }
                }
            }
            Path::Index(parent, i) => {
                parent.write(s);
                s.push('/');
                s.push_str(&i.to_string());
            }
        }
    }
}

/// The members of one object, sorted into table slots, annotations and unknown members.
struct Object {
    values: Vec<Option<Value>>,
    annotations: Vec<Member>,
    unknown: Vec<Member>,
}

/// Member names seen in one object (for annotations and free-form JSON; table properties
/// use their slots): a short list, or a hash set once the object is large, so that an
/// object with many distinct names stays linear.
#[derive(Default)]
struct Names<'a> {
    few: Vec<Cow<'a, str>>,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Names<'a> {
    const FEW: usize = 16;

    /// Records `name`; false when it was already there.
    fn insert(&mut self, name: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(name);
        }
        if self.few.contains(&name) {
            return false;
        }
        self.few.push(name);
        if self.few.len() > Self::FEW {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    profile: &'a Profile,
    /// The first structure or property error; once set, the rest is only checked for
    /// syntax.
    deferred: Option<PayloadError>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn failed(&self) -> bool {
        self.deferred.is_some()
    }

    fn defer(&mut self, kind: ErrorKind, offset: usize, path: Option<&Path>) {
        if self.deferred.is_none() {
            self.deferred = Some(PayloadError {
                kind,
                offset,
                pointer: path.map(Path::pointer),
            });
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn unexpected(&self, expected: &'static str) -> PayloadError {
        match self.peek() {
            Some(found) => syntax(ErrorKind::UnexpectedByte { found, expected }, self.pos),
            None => syntax(ErrorKind::UnexpectedEnd, self.pos),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), PayloadError> {
        if depth > MAX_DEPTH {
            Err(syntax(ErrorKind::TooDeep { limit: MAX_DEPTH }, self.pos))
        } else {
            Ok(())
        }
    }

    fn kind_at(&self) -> Result<JsonKind, PayloadError> {
        Ok(match self.peek() {
            Some(b'{') => JsonKind::Object,
            Some(b'[') => JsonKind::Array,
            Some(b'"') => JsonKind::String,
            Some(b't' | b'f') => JsonKind::Boolean,
            Some(b'n') => JsonKind::Null,
            Some(b'-' | b'0'..=b'9') => JsonKind::Number,
            _ => return Err(self.unexpected("a JSON value")),
        })
    }

    fn literal(&mut self, lit: &'static [u8]) -> Result<(), PayloadError> {
        if self.b[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(syntax(ErrorKind::InvalidLiteral, self.pos))
        }
    }

    /// After whitespace: `,` (true) or the closing byte (false).
    fn next_or_close(&mut self, close: u8, expected: &'static str) -> Result<bool, PayloadError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    /// At `"`: a member name, then whitespace, `:` and whitespace. Also returns where the
    /// name's closing quote ends.
    fn member_name(&mut self) -> Result<(Cow<'a, str>, usize), PayloadError> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a member name"));
        }
        let name = self.string()?;
        let end = self.pos;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok((name, end))
    }

    /// At `"`: the unescaped string, borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, PayloadError> {
        let b = self.b;
        let start = self.pos + 1;
        let i = find_special(b, start);
        match b.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                Ok(Cow::Borrowed(&self.src[start..i]))
            }
            Some(b'\\') => self.string_escaped(start, i).map(Cow::Owned),
            Some(_) => Err(syntax(ErrorKind::ControlCharacter, i)),
            None => Err(syntax(ErrorKind::UnexpectedEnd, i)),
        }
    }

    fn string_escaped(&mut self, start: usize, mut i: usize) -> Result<String, PayloadError> {
        let b = self.b;
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.src[start..i]);
        loop {
            let run = i;
            i = find_special(b, i);
            out.push_str(&self.src[run..i]);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = i;
                    let c = match b.get(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4(i + 2)?;
                            i += 6;
                            let code = match hi {
                                0xd800..=0xdbff => {
                                    if b.get(i) != Some(&b'\\') || b.get(i + 1) != Some(&b'u') {
                                        return Err(syntax(ErrorKind::LoneSurrogate, esc));
                                    }
                                    let lo = self.hex4(i + 2)?;
                                    if !(0xdc00..=0xdfff).contains(&lo) {
                                        return Err(syntax(ErrorKind::LoneSurrogate, esc));
                                    }
                                    i += 6;
                                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                }
                                0xdc00..=0xdfff => {
                                    return Err(syntax(ErrorKind::LoneSurrogate, esc));
                                }
                                _ => hi,
                            };
                            // Surrogates were handled above, so this is a scalar value.
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            continue;
                        }
                        Some(_) => return Err(syntax(ErrorKind::InvalidEscape, esc)),
                        None => return Err(syntax(ErrorKind::UnexpectedEnd, i + 1)),
                    };
                    out.push(c);
                    i += 2;
                }
                Some(_) => return Err(syntax(ErrorKind::ControlCharacter, i)),
                None => return Err(syntax(ErrorKind::UnexpectedEnd, i)),
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, PayloadError> {
        let digits = self
            .b
            .get(at..at + 4)
            .ok_or_else(|| syntax(ErrorKind::UnexpectedEnd, self.b.len()))?;
        digits.iter().try_fold(0u32, |acc, &c| {
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| syntax(ErrorKind::InvalidEscape, at - 2))?;
            Ok(acc * 16 + d)
        })
    }

    /// At `-` or a digit: the number's span and whether it is an integer (no fraction,
    /// no exponent).
    fn number(&mut self) -> Result<(usize, bool), PayloadError> {
        let b = self.b;
        let start = self.pos;
        let mut i = start;
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return Err(syntax(ErrorKind::InvalidNumber, i)),
        }
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            if !digit(i) {
                return Err(syntax(ErrorKind::InvalidNumber, i));
            }
            while digit(i) {
                i += 1;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            integer = false;
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digit(i) {
                return Err(syntax(ErrorKind::InvalidNumber, i));
            }
            while digit(i) {
                i += 1;
            }
        }
        self.pos = i;
        Ok((start, integer))
    }

    /// Any JSON value: checked for syntax, depth and (until the first deferred error)
    /// duplicate members; written compactly to `out` when given.
    fn raw(
        &mut self,
        depth: usize,
        mut out: Option<&mut String>,
        path: &Path,
    ) -> Result<(), PayloadError> {
        let start = self.pos;
        match self.kind_at()? {
            JsonKind::Object => {
                self.enter(depth)?;
                self.pos += 1;
                push(&mut out, "{");
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    let mut names = Names::default();
                    loop {
                        let key_start = self.pos;
                        let (name, key_end) = self.member_name()?;
                        push(&mut out, &self.src[key_start..key_end]);
                        push(&mut out, ":");
                        let child = Path::Key(path, &name);
                        if !self.failed() && !names.insert(name.clone()) {
                            let kind = ErrorKind::DuplicateMember {
                                name: name.to_string(),
                            };
                            self.defer(kind, key_start, Some(&child));
                        }
                        self.raw(depth + 1, out.as_deref_mut(), &child)?;
                        if !self.next_or_close(b'}', "',' or '}'")? {
                            break;
                        }
                        push(&mut out, ",");
                    }
                }
                push(&mut out, "}");
            }
            JsonKind::Array => {
                self.enter(depth)?;
                self.pos += 1;
                push(&mut out, "[");
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    let mut index = 0;
                    loop {
                        self.raw(depth + 1, out.as_deref_mut(), &Path::Index(path, index))?;
                        if !self.next_or_close(b']', "',' or ']'")? {
                            break;
                        }
                        push(&mut out, ",");
                        index += 1;
                    }
                }
                push(&mut out, "]");
            }
            JsonKind::String => {
                self.string()?;
            }
            JsonKind::Number => {
                self.number()?;
            }
            JsonKind::Boolean => {
                let lit: &[u8] = if self.peek() == Some(b't') {
                    b"true"
                } else {
                    b"false"
                };
                self.literal(lit)?;
            }
            JsonKind::Null => self.literal(b"null")?,
        }
        if !matches!(self.b[start], b'{' | b'[') {
            push(&mut out, &self.src[start..self.pos]);
        }
        Ok(())
    }

    /// At `{`: an object whose members are `table`; `odata_types` are the values its
    /// `@odata.type` may take (any string when empty).
    fn object(
        &mut self,
        table: &[PropertyDef],
        odata_types: &[String],
        accept_unknown: bool,
        depth: usize,
        path: &Path,
    ) -> Result<Object, PayloadError> {
        self.enter(depth)?;
        let start = self.pos;
        self.pos += 1;
        let mut obj = Object {
            // Not `vec![None; n]`, whose clone loop writes each slot whole.
            values: std::iter::repeat_with(|| None).take(table.len()).collect(),
            annotations: Vec::new(),
            unknown: Vec::new(),
        };
        let mut names = Names::default();
        // Members usually come in table order: try the next slot before searching.
        let mut next = 0;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                let key_start = self.pos;
                let (name, _) = self.member_name()?;
                if self.failed() {
                    self.raw(depth + 1, None, &Path::Root)?;
                } else {
                    let slot = match table.get(next) {
                        Some(d) if same(d.name.as_bytes(), name.as_bytes()) => Some(next),
                        _ => table
                            .iter()
                            .position(|d| same(d.name.as_bytes(), name.as_bytes())),
                    };
                    let child = Path::Key(path, &name);
                    match slot {
                        Some(i) => {
                            next = i + 1;
                            if obj.values[i].is_some() {
                                let kind = ErrorKind::DuplicateMember {
                                    name: name.to_string(),
                                };
                                self.defer(kind, key_start, Some(&child));
                                self.raw(depth + 1, None, &child)?;
                            } else {
                                self.property(&table[i], depth + 1, &child, &mut obj.values[i])?;
                            }
                        }
                        None if name.contains('@') => {
                            if !names.insert(name.clone()) {
                                let kind = ErrorKind::DuplicateMember {
                                    name: name.to_string(),
                                };
                                self.defer(kind, key_start, Some(&child));
                                self.raw(depth + 1, None, &child)?;
                            } else if name == "@odata.type" && !odata_types.is_empty() {
                                if let Some(value) =
                                    self.odata_type(odata_types, depth + 1, &child)?
                                {
                                    obj.annotations.push(Member {
                                        name: name.into_owned(),
                                        value,
                                    });
                                }
                            } else {
                                let mut text = String::new();
                                self.raw(depth + 1, Some(&mut text), &child)?;
                                obj.annotations.push(Member {
                                    name: name.into_owned(),
                                    value: RawJson(text),
                                });
                            }
                        }
                        None if accept_unknown => {
                            if !names.insert(name.clone()) {
                                let kind = ErrorKind::DuplicateMember {
                                    name: name.to_string(),
                                };
                                self.defer(kind, key_start, Some(&child));
                                self.raw(depth + 1, None, &child)?;
                            } else {
                                let mut text = String::new();
                                self.raw(depth + 1, Some(&mut text), &child)?;
                                obj.unknown.push(Member {
                                    name: name.into_owned(),
                                    value: RawJson(text),
                                });
                            }
                        }
                        None => {
                            let kind =
                                match table.iter().find(|d| d.name.eq_ignore_ascii_case(&name)) {
                                    Some(d) => ErrorKind::WrongCaseProperty {
                                        name: name.to_string(),
                                        expected: d.name.clone(),
                                    },
                                    None => ErrorKind::UnknownProperty {
                                        name: name.to_string(),
                                    },
                                };
                            self.defer(kind, key_start, Some(&child));
                            self.raw(depth + 1, None, &child)?;
                        }
                    }
                }
                if !self.next_or_close(b'}', "',' or '}'")? {
                    break;
                }
            }
        }
        if !self.failed()
            && let Some(d) = table
                .iter()
                .zip(&obj.values)
                .find_map(|(d, v)| (d.required && v.is_none()).then_some(d))
        {
            let kind = ErrorKind::MissingProperty {
                name: d.name.clone(),
            };
            self.defer(kind, start, Some(&Path::Key(path, &d.name)));
        }
        Ok(obj)
    }

    fn odata_type(
        &mut self,
        allowed: &[String],
        depth: usize,
        path: &Path,
    ) -> Result<Option<RawJson>, PayloadError> {
        let start = self.pos;
        if self.peek() == Some(b'"') {
            let s = self.string()?;
            if allowed.iter().any(|a| *a == s) {
                return Ok(Some(RawJson(self.src[start..self.pos].to_owned())));
            }
        } else {
            self.raw(depth, None, path)?;
        }
        let kind = ErrorKind::ODataType {
            expected: allowed.to_vec(),
        };
        self.defer(kind, start, Some(path));
        Ok(None)
    }

    /// The value of property `def`, into `out` (an empty slot); left empty when an error
    /// was deferred (the value was skipped).
    ///
    /// Written in place, not returned: a returned `Value` was written by the callee field
    /// by field and read back at once by the caller in 16-byte moves, which the store
    /// buffer cannot forward (`perf` put a fifth of `Parser::object`'s samples on that
    /// load; the string case in [`Parser::single`] says what it took to gain from it).
    fn property(
        &mut self,
        def: &PropertyDef,
        depth: usize,
        path: &Path,
        out: &mut Option<Value>,
    ) -> Result<(), PayloadError> {
        let start = self.pos;
        if def.key && self.profile.policies().client_id == ClientId::Reject {
            self.defer(ErrorKind::ClientIdNotAllowed, start, Some(path));
            return self.raw(depth, None, path);
        }
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            if def.nullable {
                *out = Some(Value::Null);
            } else {
                self.defer(ErrorKind::NullNotAllowed, start, Some(path));
            }
            return Ok(());
        }
        if !def.collection {
            return self.single(def, depth, path, out);
        }
        if self.peek() != Some(b'[') {
            return self.wrong_type(self.profile.type_name(def), depth, path);
        }
        *out = Some(if def.base == Base::Primitive(Edm::String) {
            Value::Strings(self.strings(def, depth, path)?)
        } else {
            Value::Collection(self.collection(def, depth, path)?)
        });
        Ok(())
    }

    /// At `[`: a `Collection(Edm.String)`, the bulk of a big device, into one buffer.
    /// (Out of line, as is [`Parser::collection`], so the property path stays short.)
    #[inline(never)]
    fn strings(
        &mut self,
        def: &PropertyDef,
        depth: usize,
        path: &Path,
    ) -> Result<Strings, PayloadError> {
        let mut items = Strings::new();
        self.elements(depth, path, |p, child| {
            if p.peek() == Some(b'"') {
                if let Some(s) = p.checked_string(def, child)? {
                    items.push(&s);
                }
            } else {
                // Not a string, so nothing to keep: `single` defers the element's error.
                p.single(def, depth + 1, child, &mut None)?;
            }
            Ok(())
        })?;
        Ok(items)
    }

    /// At `[`: a collection of any other type.
    #[inline(never)]
    fn collection(
        &mut self,
        def: &PropertyDef,
        depth: usize,
        path: &Path,
    ) -> Result<Vec<Value>, PayloadError> {
        let mut items = Vec::new();
        self.elements(depth, path, |p, child| {
            let mut item = None;
            p.single(def, depth + 1, child, &mut item)?;
            items.extend(item);
            Ok(())
        })?;
        Ok(items)
    }

    /// At `[`: each element of an array, read by `each` (at the element, with its path)
    /// until an error is deferred, and skipped after that.
    fn elements(
        &mut self,
        depth: usize,
        path: &Path,
        mut each: impl FnMut(&mut Self, &Path) -> Result<(), PayloadError>,
    ) -> Result<(), PayloadError> {
        self.enter(depth)?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            let child = Path::Index(path, index);
            if self.failed() {
                self.raw(depth + 1, None, &child)?;
            } else {
                each(self, &child)?;
            }
            index += 1;
            if !self.next_or_close(b']', "',' or ']'")? {
                return Ok(());
            }
        }
    }

    /// At `"`: an `Edm.String` of `def`, or `None` when it is too long (deferred).
    #[inline(always)]
    fn checked_string(
        &mut self,
        def: &PropertyDef,
        path: &Path,
    ) -> Result<Option<Cow<'a, str>>, PayloadError> {
        let start = self.pos;
        let s = self.string()?;
        if let Some(max) = def.max_utf16
            && s.len() > max
        {
            let found = s.encode_utf16().count();
            if found > max {
                self.defer(ErrorKind::StringTooLong { max, found }, start, Some(path));
                return Ok(None);
            }
        }
        Ok(Some(s))
    }

    /// One value of `def`'s element type (a collection element or a single value), into
    /// `out` (an empty slot; see [`Parser::property`]); left empty when an error was
    /// deferred.
    fn single(
        &mut self,
        def: &PropertyDef,
        depth: usize,
        path: &Path,
        out: &mut Option<Value>,
    ) -> Result<(), PayloadError> {
        let start = self.pos;
        let rejected = |p: &mut Self, kind| {
            p.defer(kind, start, Some(path));
            Ok(())
        };
        let value = match (def.base, self.kind_at()?) {
            (_, JsonKind::Null) => {
                self.literal(b"null")?;
                return rejected(self, ErrorKind::NullElement);
            }
            (Base::Primitive(Edm::String), JsonKind::String) => {
                // Into the slot, which is empty, so that nothing is dropped between the
                // text's making and its writing and the text is built where it stays:
                // with `*out = Some(..)` it went through two copies on the stack, each a
                // load the store buffer could not forward. Seed parse, interleaved
                // against the same build with that line, three rounds: vs the serde_json
                // struct 1.10x-1.17x -> 1.22x-1.25x.
                if let Some(s) = self.checked_string(def, path)? {
                    out.get_or_insert_with(|| Value::String(Text::from(s)));
                }
                return Ok(());
            }
            (Base::Primitive(Edm::Boolean), JsonKind::Boolean) => {
                let t = self.peek() == Some(b't');
                self.literal(if t { b"true" } else { b"false" })?;
                Value::Boolean(t)
            }
            (Base::Primitive(Edm::Int32), JsonKind::Number) => {
                let (from, integer) = self.number()?;
                if !integer {
                    return rejected(self, ErrorKind::Int32NotInteger);
                }
                match int32(&self.src[from..self.pos]) {
                    Some(v) => Value::Int32(v),
                    None => return rejected(self, ErrorKind::Int32OutOfRange),
                }
            }
            (Base::Primitive(Edm::DateTimeOffset), JsonKind::String) => {
                match DateTimeOffset::parse_owned(self.string()?.into_owned()) {
                    Ok(v) => Value::DateTimeOffset(v),
                    Err(rule) => return rejected(self, ErrorKind::DateTimeOffset(rule)),
                }
            }
            (Base::Primitive(Edm::Binary), JsonKind::String) => {
                match Binary::parse_owned(self.string()?.into_owned()) {
                    Ok(v) => Value::Binary(v),
                    Err(rule) => return rejected(self, ErrorKind::Binary(rule)),
                }
            }
            (Base::Primitive(Edm::Guid), JsonKind::String) => {
                match Guid::parse_owned(self.string()?.into_owned()) {
                    Ok(v) => Value::Guid(v),
                    Err(_) => return rejected(self, ErrorKind::InvalidGuid),
                }
            }
            (Base::Complex(ci), JsonKind::Object) => {
                let profile = self.profile;
                let Some(ty) = profile.complex_types().get(ci) else {
                    return self.wrong_type(profile.base_name(def.base), depth, path);
                };
                let obj = self.object(&ty.members, &ty.odata_types, false, depth, path)?;
                Value::Complex(Box::new(Complex {
                    members: obj.values,
                    annotations: obj.annotations,
                }))
            }
            _ => return self.wrong_type(self.profile.base_name(def.base), depth, path),
        };
        *out = Some(value);
        Ok(())
    }

    /// Defers a wrong-type error for the value here, and skips it.
    fn wrong_type(
        &mut self,
        expected: String,
        depth: usize,
        path: &Path,
    ) -> Result<(), PayloadError> {
        let start = self.pos;
        let found = self.kind_at()?;
        self.defer(ErrorKind::WrongType { expected, found }, start, Some(path));
        self.raw(depth, None, path)
    }
}

fn push(out: &mut Option<&mut String>, s: &str) {
    if let Some(out) = out {
        out.push_str(s);
    }
}

/// An Int32 from JSON integer text (`-0` is 0); `None` when out of range.
fn int32(text: &str) -> Option<i32> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    if digits.len() > 10 {
        return None;
    }
    let magnitude = digits
        .bytes()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    i32::try_from(if negative { -magnitude } else { magnitude }).ok()
}

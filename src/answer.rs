//! What a conforming target may answer: every allowed answer to one request, decided
//! where the request is made and judged by one call (CONTRACT.md section 4).
//!
//! Where the contract decides, an [`Expected`] holds one answer. Where it leaves the
//! choice to the implementer, it holds each answer a careful implementer could give:
//!
//! - duplicate member names and lone surrogate escapes: `400 BadRequest` or
//!   `400 Request_BadRequest` ([`Rule::codes`]);
//! - a number too long to read (hundreds of digits, or outside the range of a double):
//!   either 400 code, and for a body that is otherwise a valid device also 201;
//! - a body that breaks several rules: the code of any rule it breaks, but a body that is
//!   not readable JSON is always `BadRequest` ([`for_body`]);
//! - another user's path or device: 403 or 404 (nothing revealed either way).
//!
//! ```
//! use devices_harness::answer::{Answer, Expected};
//! use devices_harness::error::{GraphCode, Rule};
//!
//! let dup = Expected::body(Rule::DuplicateMember, Some("/displayName".into()));
//! assert!(dup.allows(400, Some("BadRequest")));
//! assert!(dup.allows(400, Some("Request_BadRequest")));
//! assert!(!dup.allows(201, None));
//! assert_eq!(dup.to_string(), "400 Request_BadRequest or 400 BadRequest");
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::contract::Profile;
use crate::error::{Category, GraphCode, Rule};
use crate::model::Device;
use crate::parse::from_bytes_with;

/// One allowed answer: a status and, for an error, its Graph code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The Graph error code (`None` for a success).
    pub code: Option<GraphCode>,
}

impl Answer {
    /// `201 Created`.
    pub const CREATED: Answer = Answer {
        status: 201,
        code: None,
    };

    /// The error answer of `code`, at its status.
    pub fn error(code: GraphCode) -> Answer {
        Answer {
            status: code.status(),
            code: Some(code),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} {code}", self.status),
            None if self.status == 201 => f.write_str("201 Created"),
            None => write!(f, "{}", self.status),
        }
    }
}

/// Every answer a conforming target may give to one request; the first is the reference
/// server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The allowed answers, never empty.
    pub answers: Vec<Answer>,
    /// For body defects: the rule the suite's parser reports.
    pub rule: Option<Rule>,
    /// For property rules: the JSON pointer the parser reports.
    pub pointer: Option<String>,
}

impl Expected {
    /// `201 Created`, and nothing else.
    pub fn created() -> Expected {
        Expected {
            answers: vec![Answer::CREATED],
            rule: None,
            pointer: None,
        }
    }

    /// The error `code`, and nothing else.
    pub fn error(code: GraphCode) -> Expected {
        Expected {
            answers: vec![Answer::error(code)],
            rule: None,
            pointer: None,
        }
    }

    /// A body that breaks `rule`: 400 with every code the contract allows for it.
    pub fn body(rule: Rule, pointer: Option<String>) -> Expected {
        Expected {
            answers: rule.codes().iter().map(|c| Answer::error(*c)).collect(),
            rule: Some(rule),
            pointer,
        }
    }

    /// Another user's path or device: 403, or 404 as if it did not exist.
    pub fn denied() -> Expected {
        Expected::error(GraphCode::AuthorizationRequestDenied)
            .or(Answer::error(GraphCode::ResourceNotFound))
    }

    /// The same, with `answer` allowed too.
    pub fn or(mut self, answer: Answer) -> Expected {
        if !self.answers.contains(&answer) {
            self.answers.push(answer);
        }
        self
    }

    /// The same, with both 400 codes allowed (a point the contract leaves open).
    pub fn or_either_400(self) -> Expected {
        self.or(Answer::error(GraphCode::BadRequest))
            .or(Answer::error(GraphCode::RequestBadRequest))
    }

    /// The reference server's answer.
    pub fn primary(&self) -> Answer {
        self.answers.first().copied().unwrap_or(Answer::CREATED)
    }

    /// The reference server's status.
    pub fn status(&self) -> u16 {
        self.primary().status
    }

    /// Whether `status` is one of the allowed answers'.
    pub fn allows_status(&self, status: u16) -> bool {
        self.answers.iter().any(|a| a.status == status)
    }

    /// Whether a 201 is allowed.
    pub fn allows_created(&self) -> bool {
        self.allows_status(201)
    }

    /// The codes allowed with `status`.
    pub fn codes_for(&self, status: u16) -> Vec<GraphCode> {
        self.answers
            .iter()
            .filter(|a| a.status == status)
            .filter_map(|a| a.code)
            .collect()
    }

    /// Whether `status` with the error code `code` (as the body spells it; `None` when
    /// there is no Graph error body) is an allowed answer.
    pub fn allows(&self, status: u16, code: Option<&str>) -> bool {
        self.answers.iter().any(|a| {
            a.status == status
                && match (a.code, code) {
                    (None, _) => true,
                    (Some(want), Some(got)) => want.as_str() == got,
                    (Some(_), None) => false,
                }
        })
    }

    /// The distinct statuses, in order.
    pub fn statuses(&self) -> Vec<u16> {
        let mut out: Vec<u16> = Vec::new();
        for a in &self.answers {
            if !out.contains(&a.status) {
                out.push(a.status);
            }
        }
        out
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.answers.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// What a conforming target answers to `bytes` as a create body under `profile`, and the
/// device when the suite's parser reads one.
///
/// The parser's verdict is the first answer; the others are the readings the contract
/// leaves open: a body with a duplicate member, a lone surrogate escape or a number too
/// long to read anywhere in it may get either 400 code (unless it is not readable JSON
/// for another reason, which is always `BadRequest`), and a valid device holding a
/// number too long to read may also be refused with a 400.
pub fn for_body(profile: &Profile, bytes: &[u8]) -> (Expected, Option<Device>) {
    let open = OpenPoints::of(bytes);
    match from_bytes_with(profile, bytes) {
        Ok(device) => {
            let mut e = Expected::created();
            if open.long_number {
                e = e.or_either_400();
            }
            (e, Some(device))
        }
        Err(err) => {
            let rule = err.kind.rule();
            let mut e = Expected::body(rule, err.pointer);
            let unreadable = rule.category() == Category::Syntax && !rule.either_code();
            if !unreadable && open.any() {
                e = e.or_either_400();
            }
            (e, None)
        }
    }
}

/// The places in a body where the contract lets a target choose between the two 400
/// codes, found by a tolerant scan that reads past every other error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenPoints {
    /// A member name twice in one object.
    pub duplicate_member: bool,
    /// A `\uD800`-`\uDFFF` escape that is not half of a pair.
    pub lone_surrogate: bool,
    /// A number of more than [`LONG_NUMBER`] characters, or outside a double's range.
    pub long_number: bool,
}

/// A number longer than this many characters is "too long to read" (CONTRACT.md: numbers
/// of hundreds of digits).
pub const LONG_NUMBER: usize = 100;

impl OpenPoints {
    /// Whether any point is there.
    pub fn any(self) -> bool {
        self.duplicate_member || self.lone_surrogate || self.long_number
    }

    /// Scans `bytes`.
    pub fn of(bytes: &[u8]) -> OpenPoints {
        let mut out = OpenPoints::default();
        // One frame per open container: the names of an object, or `None` for an array.
        let mut frames: Vec<Option<(HashSet<Vec<u32>>, bool)>> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let (end, text, lone) = string(bytes, i + 1);
                    out.lone_surrogate |= lone;
                    if let Some(Some((names, expect_name))) = frames.last_mut()
                        && *expect_name
                    {
                        out.duplicate_member |= !names.insert(text);
                        *expect_name = false;
                    }
                    i = end;
                }
                b'{' => {
                    frames.push(Some((HashSet::new(), true)));
                    i += 1;
                }
                b'[' => {
                    frames.push(None);
                    i += 1;
                }
                b'}' | b']' => {
                    frames.pop();
                    i += 1;
                }
                b',' => {
                    if let Some(Some((_, expect_name))) = frames.last_mut() {
                        *expect_name = true;
                    }
                    i += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let end = bytes[i..]
                        .iter()
                        .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .map_or(bytes.len(), |n| i + n);
                    let text = std::str::from_utf8(&bytes[i..end]).unwrap_or("");
                    out.long_number |=
                        end - i > LONG_NUMBER || text.parse::<f64>().is_ok_and(|v| v.is_infinite());
                    i = end;
                }
                _ => i += 1,
            }
        }
        out
    }
}

/// The string whose content starts at `i`: where it ends (after the closing quote, or the
/// end of the body), its code points (escapes decoded; a lone surrogate kept as its code
/// unit), and whether it holds a lone surrogate escape.
fn string(bytes: &[u8], mut i: usize) -> (usize, Vec<u32>, bool) {
    let mut text = Vec::new();
    let mut lone = false;
    let hex4 = |at: usize| -> Option<u32> {
        let s = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return (i + 1, text, lone),
            b'\\' if bytes.get(i + 1) == Some(&b'u') => match hex4(i + 2) {
                Some(hi @ 0xd800..=0xdbff) => {
                    let lo = (bytes.get(i + 6..i + 8) == Some(b"\\u"))
                        .then(|| hex4(i + 8))
                        .flatten()
                        .filter(|lo| (0xdc00..=0xdfff).contains(lo));
                    match lo {
                        Some(lo) => {
                            text.push(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
                            i += 12;
                        }
                        None => {
                            lone = true;
                            text.push(hi);
                            i += 6;
                        }
                    }
                }
                Some(unit @ 0xdc00..=0xdfff) => {
                    lone = true;
                    text.push(unit);
                    i += 6;
                }
                Some(c) => {
                    text.push(c);
                    i += 6;
                }
                None => i += 2,
            },
            b'\\' => {
                let c = match bytes.get(i + 1) {
                    Some(b'n') => u32::from(b'\n'),
                    Some(b't') => u32::from(b'\t'),
                    Some(b'r') => u32::from(b'\r'),
                    Some(b'b') => 8,
                    Some(b'f') => 12,
                    Some(&c) => u32::from(c),
                    None => 0,
                };
                text.push(c);
                i += 2;
            }
            _ => {
                // Whole UTF-8 characters (or single bytes where the body is not UTF-8).
                let len = match bytes[i] {
                    0xf0..=0xff => 4,
                    0xe0..=0xef => 3,
                    0xc0..=0xdf => 2,
                    _ => 1,
                };
                let end = (i + len).min(bytes.len());
                match std::str::from_utf8(&bytes[i..end]) {
                    Ok(s) => {
                        text.extend(s.chars().map(u32::from));
                        i = end;
                    }
                    Err(_) => {
                        text.push(0x10_0000 | u32::from(bytes[i]));
                        i += 1;
                    }
                }
            }
        }
    }
    (bytes.len(), text, lone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(body: &str) -> OpenPoints {
        OpenPoints::of(body.as_bytes())
    }

    #[test]
    fn open_points_are_found_anywhere_and_only_there() {
        assert!(open(r#"{"a":1,"a":2}"#).duplicate_member);
        assert!(open(r#"{"x":[{"a":1,"\u0061":2}]}"#).duplicate_member);
        assert!(!open(r#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#).any());
        assert!(!open(r#"{"a":"a","b":"a"}"#).any(), "values are not names");
        assert!(open(r#"{"a":"\ud800"}"#).lone_surrogate);
        assert!(open(r#"{"a":"\udc00x"}"#).lone_surrogate);
        assert!(open(r#"{"a":"\ud800\u0041"}"#).lone_surrogate);
        assert!(!open(r#"{"a":"\ud83d\ude00"}"#).any());
        assert!(!open(r#"{"a":"\\ud800"}"#).any(), "an escaped backslash");
        let digits = "9".repeat(LONG_NUMBER + 1);
        assert!(open(&format!(r#"{{"a":{digits}}}"#)).long_number);
        assert!(open(r#"{"a":1e400}"#).long_number);
        assert!(!open(r#"{"a":-2147483649,"b":1e300,"c":"99999999999999999999999"}"#).any());
        // Past a syntax error, the scan goes on.
        assert!(open(r#"{"a":tru,"a":1"#).duplicate_member);
    }

    #[test]
    fn a_body_gets_its_rules_codes_and_the_open_readings() {
        let seed = Profile::seed();
        let body = |s: &str| for_body(seed, s.as_bytes()).0;
        // Unreadable JSON is BadRequest, whatever else the body holds.
        let e = body(r#"{"a":1,"a":2,"#);
        assert_eq!(e.answers, [Answer::error(GraphCode::BadRequest)]);
        // A property rule with a duplicate elsewhere: either code.
        let e = body(r#"{"deviceVersion":1.5,"x":1,"x":2}"#);
        assert_eq!(e.rule, Some(Rule::Int32NotInteger));
        assert!(e.allows(400, Some("BadRequest")) && e.allows(400, Some("Request_BadRequest")));
        // A plain property rule: its own code only.
        let e = body(r#"{"deviceVersion":1.5}"#);
        assert_eq!(e.answers, [Answer::error(GraphCode::RequestBadRequest)]);
        assert!(!e.allows(400, Some("BadRequest")));
        // A lone surrogate: either code.
        let e = body(r#"{"displayName":"\ud800"}"#);
        assert_eq!(e.rule, Some(Rule::LoneSurrogate));
        assert_eq!(e.to_string(), "400 BadRequest or 400 Request_BadRequest");
        // A non-object is BadRequest.
        assert_eq!(body("[1]").answers, [Answer::error(GraphCode::BadRequest)]);
    }

    #[test]
    fn allowed_answers_are_matched_on_status_and_code() {
        let denied = Expected::denied();
        assert!(denied.allows(403, Some("Authorization_RequestDenied")));
        assert!(denied.allows(404, Some("Request_ResourceNotFound")));
        assert!(!denied.allows(404, Some("Authorization_RequestDenied")));
        assert!(!denied.allows(403, None));
        assert_eq!(denied.statuses(), [403, 404]);
        assert_eq!(denied.codes_for(404), [GraphCode::ResourceNotFound]);
        let created =
            Expected::created().or(Answer::error(GraphCode::MultipleObjectsWithSameKeyValue));
        assert!(created.allows(201, None) && created.allows_created());
        assert!(created.allows(409, Some("Request_MultipleObjectsWithSameKeyValue")));
        assert_eq!(created.primary(), Answer::CREATED);
    }
}

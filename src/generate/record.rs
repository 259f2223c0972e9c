//! Cases as language-agnostic records (JSON), for `gen` and `corpus export`.

use serde::Serialize;

use super::malformed::{
    Authorization, Defect, Expected, Layer, MalformedCase, PathKind, RequestHeaders,
};
use crate::answer::Answer;
use crate::error::Rule;
use crate::model::Binary;

/// One generated request, as `gen` prints it and `corpus export` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// `valid` or `malformed`.
    pub kind: &'static str,
    /// The defect class (`datetime-second`), for malformed cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// `body`, `size` or `request`, for malformed cases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<&'static str>,
    /// The body as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in standard base64, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The `Content-Type` header to send (absent: send none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `Authorization` header to send.
    pub authorization: AuthRecord,
    /// `me`, `own-user` or `other-user`: which create path to post to.
    pub path: &'static str,
    /// What a conforming server answers.
    pub expected: ExpectedRecord,
    /// What was changed, in one line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The `Authorization` header of a record.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuthRecord {
    /// `<scheme> <the caller's token>`.
    Valid {
        /// `Bearer`, `bearer`, ...
        scheme: String,
    },
    /// No header.
    Missing,
    /// This exact header value.
    Raw {
        /// The value.
        value: String,
    },
}

/// The expected answer of a record.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectedRecord {
    /// HTTP status (the reference server's answer).
    pub status: u16,
    /// Graph error code, or `Created` (the reference server's answer).
    pub code: &'static str,
    /// Every answer a conforming server may give, the one above first: where CONTRACT.md
    /// leaves a choice (either 400 code, 403 or 404), each reading is listed.
    pub accepted: Vec<AnswerRecord>,
    /// The parser rule, for body defects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// The JSON pointer the rule is reported at, for property rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// One accepted answer of a record.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AnswerRecord {
    /// HTTP status.
    pub status: u16,
    /// Graph error code, or `Created`.
    pub code: &'static str,
}

impl From<Answer> for AnswerRecord {
    fn from(a: Answer) -> AnswerRecord {
        AnswerRecord {
            status: a.status,
            code: a.code.map_or("Created", |c| c.as_str()),
        }
    }
}

impl Record {
    /// A valid request.
    pub fn valid(bytes: &[u8], headers: &RequestHeaders) -> Record {
        Record::new(
            "valid",
            None,
            bytes,
            headers,
            &Expected::created(),
            String::new(),
        )
    }

    /// A malformed case.
    pub fn malformed(case: &MalformedCase) -> Record {
        Record::new(
            "malformed",
            Some(case.defect),
            &case.bytes,
            &case.headers,
            &case.expected,
            case.description.clone(),
        )
    }

    fn new(
        kind: &'static str,
        defect: Option<Defect>,
        bytes: &[u8],
        headers: &RequestHeaders,
        expected: &Expected,
        description: String,
    ) -> Record {
        let (body, body_base64) = match std::str::from_utf8(bytes) {
            Ok(s) => (Some(s.to_owned()), None),
            Err(_) => (
                None,
                Some(Binary::encode(bytes, false, true).as_str().to_owned()),
            ),
        };
        Record {
            kind,
            class: defect.map(Defect::class),
            layer: defect.map(|d| match d.layer() {
                Layer::Body => "body",
                Layer::Size => "size",
                Layer::Request => "request",
            }),
            body,
            body_base64,
            content_type: headers.content_type.clone(),
            authorization: match &headers.authorization {
                Authorization::Valid { scheme } => AuthRecord::Valid {
                    scheme: scheme.clone(),
                },
                Authorization::Missing => AuthRecord::Missing,
                Authorization::Raw(value) => AuthRecord::Raw {
                    value: value.clone(),
                },
            },
            path: match headers.path {
                PathKind::Me => "me",
                PathKind::OwnUser => "own-user",
                PathKind::OtherUser => "other-user",
            },
            expected: ExpectedRecord {
                status: expected.status(),
                code: AnswerRecord::from(expected.primary()).code,
                accepted: expected
                    .answers
                    .iter()
                    .map(|a| AnswerRecord::from(*a))
                    .collect(),
                rule: expected.rule,
                pointer: expected.pointer.clone(),
            },
            description,
        }
    }
}

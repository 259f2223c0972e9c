//! Encoding defects inside strings: raw control characters, bad escapes, a byte order
//! mark, invalid or overlong UTF-8, lone surrogates.

use super::doc::Doc;
use super::{Broken, Defect, pick};
use crate::answer::Expected;
use crate::error::Rule;
use crate::generate::Source;

/// `doc` broken by `defect`, one of this module's; `None` when it does not apply.
pub(super) fn apply(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    match defect {
        Defect::ControlCharacter => control_character(doc, src),
        Defect::BadEscape => bad_escape(doc, src),
        Defect::Bom => bom(doc),
        Defect::InvalidUtf8 | Defect::OverlongUtf8 => bad_utf8(doc, defect, src),
        Defect::LoneSurrogate => lone_surrogate(doc, src),
        _ => None,
    }
}

/// A raw control character inside a string.
fn control_character(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let c = src.below(0x20) as u8;
        let at = doc.inject_in_string(&[c], src);
        (
            doc.render(),
            Expected::body(Rule::ControlCharacter, None),
            format!("raw byte {c:#04x} in {at}"),
        )
    })
}

/// An escape JSON does not have.
fn bad_escape(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let form = pick(src, &["\\x41", "\\'", "\\U0041", "\\u12G4", "\\a", "\\0"]);
        let at = doc.inject_in_string(form.as_bytes(), src);
        (
            doc.render(),
            Expected::body(Rule::InvalidEscape, None),
            format!("{form} in {at}"),
        )
    })
}

/// A UTF-8 byte order mark before the body.
fn bom(doc: &mut Doc<'_>) -> Option<Broken> {
    Some({
        let mut b = vec![0xef, 0xbb, 0xbf];
        b.extend_from_slice(&doc.render());
        (
            b,
            Expected::body(Rule::Bom, None),
            "UTF-8 BOM before the body".into(),
        )
    })
}

/// Bytes that are not UTF-8, or an overlong sequence, inside a string.
fn bad_utf8(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::InvalidUtf8, None),
            format!("bytes {form:02x?} in {at}"),
        )
    })
}

/// A `\ud800`-style escape without its pair.
fn lone_surrogate(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::LoneSurrogate, None),
            format!("{form} in {at}"),
        )
    })
}

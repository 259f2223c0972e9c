//! JSON syntax defects: a cut body, trailing data, misspelt literals, NaN, malformed
//! numbers, comments, trailing commas, single quotes, a non-object top level, nesting
//! past the limit.

use super::doc::{Doc, Node};
use super::{Broken, Defect, pick};
use crate::answer::Expected;
use crate::contract::MAX_DEPTH;
use crate::error::Rule;
use crate::generate::Source;

/// `doc` broken by `defect`, one of this module's; `None` when it does not apply.
pub(super) fn apply(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    match defect {
        Defect::Truncated => truncated(doc, src),
        Defect::TrailingData => trailing_data(doc, src),
        Defect::BadLiteral => bad_literal(doc, src),
        Defect::NanInfinity => nan_infinity(doc, src),
        Defect::NumberSyntax => number_syntax(doc, src),
        Defect::Comment | Defect::TrailingComma => comment_or_trailing_comma(doc, defect, src),
        Defect::SingleQuotes => single_quotes(doc, src),
        Defect::NotAnObject => not_an_object(doc, src),
        Defect::TooDeep => too_deep(doc, src),
        _ => None,
    }
}

/// The body cut short after a `{`, `[`, `,` or `:`.
fn truncated(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let full = doc.render();
        let cuts: Vec<usize> = (0..full.len().saturating_sub(1))
            .filter(|&i| matches!(full[i], b'{' | b'[' | b',' | b':'))
            .collect();
        let cut = cuts[src.below(cuts.len() as u64) as usize];
        let desc = format!("cut after byte {cut} of {}", full.len());
        (
            full[..=cut].to_vec(),
            Expected::body(Rule::UnexpectedEnd, None),
            desc,
        )
    })
}

/// Data after the top-level object.
fn trailing_data(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let tail = pick(src, &[" {}", "x", ",", "}", " 0", "\"\"", "\0"]);
        let mut b = doc.render();
        b.extend_from_slice(tail.as_bytes());
        (
            b,
            Expected::body(Rule::TrailingData, None),
            format!("appended {tail:?}"),
        )
    })
}

/// A misspelt `true`, `false` or `null`.
fn bad_literal(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let form = pick(src, &["tru", "fals", "nul", "tRue", "nUll", "truE"]);
        let at = doc.replace_literal(form, src);
        (
            doc.render(),
            Expected::body(Rule::InvalidLiteral, None),
            format!("{form} at {at}"),
        )
    })
}

/// `NaN` or `Infinity` where a number stands.
fn nan_infinity(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let form = pick(src, &["NaN", "Infinity", "-Infinity", "-NaN"]);
        let at = doc.replace_number(form, src);
        let rule = if form.starts_with('-') {
            Rule::InvalidNumber
        } else {
            Rule::UnexpectedByte
        };
        (
            doc.render(),
            Expected::body(rule, None),
            format!("{form} at {at}"),
        )
    })
}

/// A malformed number.
fn number_syntax(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let form = pick(src, &["1.", "-", "1e", "1e+", "-.5", "2.e3", "0.e1"]);
        let at = doc.replace_number(form, src);
        (
            doc.render(),
            Expected::body(Rule::InvalidNumber, None),
            format!("{form} at {at}"),
        )
    })
}

/// A comment between members, or a comma before `}` or `]`.
fn comment_or_trailing_comma(
    doc: &mut Doc<'_>,
    defect: Defect,
    src: &mut impl Source,
) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::UnexpectedByte, None),
            desc,
        )
    })
}

/// A string in single quotes.
fn single_quotes(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let at = doc.string_site(src);
        if let Some([first, .., last]) = doc.string_text_mut(&at).map(Vec::as_mut_slice) {
            (*first, *last) = (b'\'', b'\'');
        }
        (
            doc.render(),
            Expected::body(Rule::UnexpectedByte, None),
            format!("single quotes at {at}"),
        )
    })
}

/// A top-level array, string, number or literal.
fn not_an_object(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
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
        (b, Expected::body(Rule::NotAnObject, None), desc)
    })
}

/// An annotation nested one level past the depth limit.
fn too_deep(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::TooDeep, None),
            format!("annotation nested {} deep", n + 1),
        )
    })
}

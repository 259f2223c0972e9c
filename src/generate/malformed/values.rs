//! Value defects, one function per type: Int32, DateTimeOffset, Binary, String length,
//! the client id (Guid), `@odata.type`.

use super::doc::{Doc, Node, pointer, string_node};
use super::{Broken, Defect, pick};
use crate::answer::Expected;
use crate::contract::{Base, ClientId, Edm};
use crate::error::Rule;
use crate::generate::Source;
use crate::model::{BinaryRule, DateTimeRule};

/// `doc` broken by `defect`, one of this module's; `None` when it does not apply.
pub(super) fn apply(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    match defect {
        Defect::Int32OutOfRange | Defect::Int32Fraction | Defect::Int32Exponent => {
            int32(doc, defect, src)
        }
        Defect::DateTime(rule) => date_time(doc, rule, src),
        Defect::Binary(rule) => binary(doc, rule, src),
        Defect::StringTooLong | Defect::StringTooLongAstral => string_length(doc, defect, src),
        Defect::BadClientId => client_id(doc, src),
        Defect::BadODataType => odata_type(doc, src),
        _ => None,
    }
}

/// An Int32 out of range, with a fraction or an exponent.
fn int32(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(rule, Some(ptr.clone())),
            format!("{form} at {ptr}"),
        )
    })
}

/// A DateTimeOffset that breaks exactly one rule.
fn date_time(doc: &mut Doc<'_>, rule: DateTimeRule, src: &mut impl Source) -> Option<Broken> {
    Some({
        let text = bad_date_time(rule, src);
        let site = doc.pick_site(src, |d| {
            !d.collection && d.base == Base::Primitive(Edm::DateTimeOffset)
        })?;
        doc.set(&site, string_node(&text), src);
        let ptr = doc.pointer(&site);
        (
            doc.render(),
            Expected::body(Rule::DateTimeOffset(rule), Some(ptr.clone())),
            format!("{text:?} at {ptr}"),
        )
    })
}

/// A Binary that breaks exactly one rule.
fn binary(doc: &mut Doc<'_>, rule: BinaryRule, src: &mut impl Source) -> Option<Broken> {
    Some({
        let forms: &[&str] = match rule {
            BinaryRule::Character => &["a2!5", "a2V5 ", "a2V5\n", "*A==", "a=V5"],
            BinaryRule::MixedAlphabet => &["+-AA", "ab/_", "-_+/"],
            BinaryRule::Length => &["AAAAA", "a", "a2V5e", "a2V5eXM1a"],
            BinaryRule::Padding => &["a2V5=", "AA=", "AAA==", "AA===", "base64Y3YxN2E1MWFlYw=="],
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
            Expected::body(Rule::Binary(rule), Some(ptr.clone())),
            format!("{form:?} at {ptr}"),
        )
    })
}

/// A string one UTF-16 unit over its limit (astral characters counting two).
fn string_length(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::StringTooLong, Some(ptr)),
            desc,
        )
    })
}

/// A client `id` that is not a GUID.
fn client_id(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    let profile = doc.profile;
    Some({
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
            Expected::body(Rule::InvalidGuid, Some(ptr)),
            format!("id {form:?}"),
        )
    })
}

/// An `@odata.type` of another type.
fn odata_type(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::ODataType, Some(pointer(&["@odata.type"]))),
            format!("@odata.type {form}"),
        )
    })
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

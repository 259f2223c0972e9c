//! Structure defects: duplicate members, unknown or wrongly cased properties, a required
//! property left out, nulls where none may stand, and a value of the wrong JSON type.

use super::doc::{Doc, Node, pointer};
use super::{Broken, Defect, pick};
use crate::answer::Expected;
use crate::contract::{Base, ClientId, Edm, PropertyDef, UnknownProperties};
use crate::error::Rule;
use crate::generate::Source;
use crate::scan::write_str;

/// `doc` broken by `defect`, one of this module's; `None` when it does not apply.
pub(super) fn apply(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    match defect {
        Defect::DuplicateMember => duplicate_member(doc, src),
        Defect::DuplicateMemberNested => duplicate_member_nested(doc, src),
        Defect::UnknownProperty => unknown_property(doc, src),
        Defect::WrongCaseProperty => wrong_case_property(doc, src),
        Defect::MissingRequired => missing_required(doc, src),
        Defect::NullNotNullable => null_not_nullable(doc, src),
        Defect::NullElement => null_element(doc, src),
        Defect::WrongTypeString
        | Defect::WrongTypeBoolean
        | Defect::WrongTypeInt32
        | Defect::WrongTypeDateTime
        | Defect::WrongTypeBinary
        | Defect::WrongTypeGuid
        | Defect::WrongTypeCollection
        | Defect::WrongTypeComplex => wrong_type(doc, defect, src),
        _ => None,
    }
}

/// A top-level member sent twice.
fn duplicate_member(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let i = src.below(doc.root.len() as u64) as usize;
        let (name, node) = doc.root.get(i).cloned()?;
        doc.root.push((name.clone(), node));
        let ptr = pointer(&[&name]);
        (
            doc.render(),
            Expected::body(Rule::DuplicateMember, Some(ptr)),
            format!("{name} sent twice"),
        )
    })
}

/// A member sent twice in a nested object.
fn duplicate_member_nested(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let (ptr, desc) = doc.duplicate_nested(src)?;
        (
            doc.render(),
            Expected::body(Rule::DuplicateMember, Some(ptr)),
            desc,
        )
    })
}

/// A member that is no property.
fn unknown_property(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    let profile = doc.profile;
    Some({
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
            Expected::body(Rule::UnknownProperty, Some(pointer(&[name]))),
            format!("unknown member {name:?}"),
        )
    })
}

/// A property name in the wrong case.
fn wrong_case_property(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    let profile = doc.profile;
    Some({
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
            Expected::body(Rule::WrongCaseProperty, Some(pointer(&[&name]))),
            format!("{name} for {}", def.name),
        )
    })
}

/// A required property left out.
fn missing_required(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let site = doc.pick_site(src, |d| d.required)?;
        doc.remove(&site);
        let ptr = doc.pointer(&site);
        (
            doc.render(),
            Expected::body(Rule::MissingProperty, Some(ptr.clone())),
            format!("{ptr} left out"),
        )
    })
}

/// `null` for a property that is not nullable.
fn null_not_nullable(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    let profile = doc.profile;
    Some({
        let reject = profile.policies().client_id == ClientId::Reject;
        let site = doc.pick_site(src, |d| !(d.nullable || d.key && reject))?;
        doc.set(&site, Node::Text(b"null".to_vec()), src);
        let ptr = doc.pointer(&site);
        (
            doc.render(),
            Expected::body(Rule::NullNotAllowed, Some(ptr.clone())),
            format!("null at {ptr}"),
        )
    })
}

/// `null` as a collection element.
fn null_element(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
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
            Expected::body(Rule::NullElement, Some(ptr.clone())),
            format!("null at {ptr}"),
        )
    })
}

/// A value of the wrong JSON type for its property.
fn wrong_type(doc: &mut Doc<'_>, defect: Defect, src: &mut impl Source) -> Option<Broken> {
    let profile = doc.profile;
    Some({
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
                    let site =
                        doc.pick_site(src, |d| d.collection && matches!(d.base, Base::Complex(_)))?;
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
            Expected::body(Rule::WrongType, Some(ptr.clone())),
            format!("{form} at {ptr}"),
        )
    })
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

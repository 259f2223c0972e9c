//! A device as a tree of JSON text ([`Doc`]), the ground every defect is made on: built
//! from a device or drawn straight as text, changed at one site, rendered back.

use std::borrow::Cow;

use super::Source;
use crate::contract::{Base, Edm, Profile, PropertyDef};
use crate::generate::valid;
use crate::model::{Device, Value};
use crate::scan::write_str;
use crate::ser::write_value;

/// JSON as a tree of text: scalars keep their exact bytes (which may be made invalid).
/// Text drawn for the base device lives in the document's arena (`Span`); text a
/// mutation writes is its own (`Text`). Names from the table are borrowed.
#[derive(Clone, Debug)]
pub(super) enum Node<'p> {
    Span(u32, u32),
    Text(Vec<u8>),
    Object(Vec<Member<'p>>),
    Array(Vec<Node<'p>>),
}

pub(super) type Member<'p> = (Cow<'p, str>, Node<'p>);

impl Node<'_> {
    /// The text of a scalar.
    pub(super) fn bytes<'a>(&'a self, arena: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            Node::Span(a, b) => arena.get(*a as usize..*b as usize),
            Node::Text(t) => Some(t),
            _ => None,
        }
    }

    pub(super) fn render(&self, arena: &[u8], out: &mut Vec<u8>) {
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
pub(super) fn span(arena: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Node<'static> {
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
pub(super) enum Site {
    Top(usize),
    Nested(usize, usize),
}

/// A device as a tree of JSON text, for minimal mutations.
pub(super) struct Doc<'p> {
    pub(super) profile: &'p Profile,
    pub(super) arena: Vec<u8>,
    pub(super) root: Vec<Member<'p>>,
}

impl<'p> Doc<'p> {
    pub(super) fn new(profile: &'p Profile, device: &Device) -> Doc<'p> {
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
    pub(super) fn generate(
        profile: &'p Profile,
        src: &mut impl Source,
        scratch: &mut String,
    ) -> Doc<'p> {
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

    pub(super) fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + 64);
        render_members(&self.root, &self.arena, None, &mut out);
        out
    }

    pub(super) fn render_with_fragment(&self, gap: usize, fragment: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + 64);
        render_members(&self.root, &self.arena, Some((gap, fragment)), &mut out);
        out
    }

    pub(super) fn position(&self, name: &str) -> Option<usize> {
        self.root.iter().position(|(n, _)| n == name)
    }

    /// Adds a member at a random place among the others.
    pub(super) fn insert_root(&mut self, name: &str, node: Node<'p>, src: &mut impl Source) {
        let at = src.below(self.root.len() as u64 + 1) as usize;
        self.root.insert(at, (Cow::Owned(name.to_owned()), node));
    }

    pub(super) fn def(&self, site: &Site) -> &'p PropertyDef {
        let defs = self.profile.properties();
        match *site {
            Site::Top(i) => &defs[i],
            Site::Nested(i, m) => match defs[i].base {
                Base::Complex(c) => &self.profile.complex_types()[c].members[m],
                Base::Primitive(_) => &defs[i],
            },
        }
    }

    pub(super) fn pointer(&self, site: &Site) -> String {
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
    pub(super) fn pick_site(
        &self,
        src: &mut impl Source,
        pred: impl Fn(&PropertyDef) -> bool,
    ) -> Option<Site> {
        let mut sites = Vec::new();
        for (i, def) in self.profile.properties().iter().enumerate() {
            // A read-only property is never sent (a target may not even read it).
            if def.read_only && !def.key {
                continue;
            }
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

    pub(super) fn element_node(&mut self, def: &PropertyDef, src: &mut impl Source) -> Node<'p> {
        let v = valid::element(self.profile, def, src);
        value_node(&mut self.arena, self.profile, def, &v)
    }

    /// The members of the complex object a nested site lives in, creating a valid one
    /// (as the first element of its collection) when there is none.
    pub(super) fn complex_members(
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
    pub(super) fn set(&mut self, site: &Site, value: Node<'p>, src: &mut impl Source) {
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
    pub(super) fn remove(&mut self, site: &Site) {
        let name = self.def(site).name.as_str();
        match *site {
            Site::Top(_) => self.root.retain(|(n, _)| *n != name),
            Site::Nested(top, _) => {
                let mut none = crate::generate::Replay::new(&[]);
                if let Some(members) = self.complex_members(top, &mut none) {
                    members.retain(|(n, _)| *n != name);
                }
            }
        }
    }

    /// A member inside a nested object sent twice: in a complex value when the table has
    /// one, else inside an annotation.
    pub(super) fn duplicate_nested(&mut self, src: &mut impl Source) -> Option<(String, String)> {
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
    pub(super) fn replace_literal(&mut self, form: &str, src: &mut impl Source) -> String {
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
    pub(super) fn replace_number(&mut self, form: &str, src: &mut impl Source) -> String {
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
    pub(super) fn string_site(&mut self, src: &mut impl Source) -> String {
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
    pub(super) fn string_text_mut(&mut self, name: &str) -> Option<&mut Vec<u8>> {
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
    pub(super) fn inject_in_string(&mut self, bytes: &[u8], src: &mut impl Source) -> String {
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

/// A string value's node: `s` as a JSON string literal.
pub(super) fn string_node(s: &str) -> Node<'static> {
    let mut text = Vec::with_capacity(s.len() + 2);
    write_str(&mut text, s);
    Node::Text(text)
}

/// A JSON pointer from unescaped segments.
pub(super) fn pointer(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

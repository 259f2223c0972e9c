//! Renders a device as JSON text in many equivalent spellings: member order shuffled,
//! whitespace compact, pretty (two-space indentation) or odd, characters written raw or as `\u` escapes
//! (surrogate pairs for astral ones), `\/` for `/`, `-0` for 0. Every spelling parses to
//! the same device.

use super::Source;
use crate::contract::{Profile, PropertyDef};
use crate::model::{Device, Member, Value};

/// `device` as JSON text, spelled as `src` picks (choice 0 everywhere is the compact
/// form in table order).
pub fn render(profile: &Profile, device: &Device, src: &mut impl Source) -> Vec<u8> {
    // Odd (random) spacing, of which all-zero choices are the compact form, or pretty.
    let pretty = src.weighted(&[3, 1]) == 1;
    let mut r = Renderer {
        rng: src,
        pretty,
        depth: 0,
    };
    let mut out = String::new();
    r.ws(&mut out);
    r.object(
        &mut out,
        profile,
        profile.properties(),
        &device.properties,
        &device.annotations,
        &device.unknown,
    );
    r.ws(&mut out);
    out.into_bytes()
}

struct Renderer<'s, S> {
    rng: &'s mut S,
    /// Two-space indentation and `": "`, instead of random spacing.
    pretty: bool,
    depth: usize,
}

impl<S: Source> Renderer<'_, S> {
    fn ws(&mut self, out: &mut String) {
        if self.pretty {
            return;
        }
        out.push_str(match self.rng.below(10) {
            6 => " ",
            7 => "\n  ",
            8 => "\t",
            9 => "\r\n    ",
            _ => "",
        });
    }

    fn string(&mut self, out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            let roll = self.rng.below(8);
            match c {
                '"' | '\\' if roll < 6 => {
                    out.push('\\');
                    out.push(c);
                }
                '/' if roll == 6 => out.push_str("\\/"),
                '\u{8}' if roll < 4 => out.push_str("\\b"),
                '\u{c}' if roll < 4 => out.push_str("\\f"),
                '\n' if roll < 4 => out.push_str("\\n"),
                '\r' if roll < 4 => out.push_str("\\r"),
                '\t' if roll < 4 => out.push_str("\\t"),
                c if c < ' ' || c == '"' || c == '\\' || roll == 7 => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        if self.rng.below(2) == 0 {
                            out.push_str(&format!("\\u{u:04x}"));
                        } else {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn object(
        &mut self,
        out: &mut String,
        profile: &Profile,
        table: &[PropertyDef],
        values: &[Option<Value>],
        annotations: &[Member],
        unknown: &[Member],
    ) {
        // Properties (and unknown members) in any order; annotations keep their order,
        // which the model records, at random places among them.
        self.depth += 1;
        let mut members: Vec<String> = Vec::new();
        for (def, value) in table.iter().zip(values) {
            if let Some(value) = value {
                let mut s = String::new();
                self.string(&mut s, &def.name);
                self.ws(&mut s);
                self.colon(&mut s);
                self.ws(&mut s);
                self.value(&mut s, profile, def, value);
                members.push(s);
            }
        }
        for m in unknown {
            members.push(self.member(m));
        }
        for i in (1..members.len()).rev() {
            let j = i - self.rng.below(i as u64 + 1) as usize;
            members.swap(i, j);
        }
        let mut at = 0;
        for m in annotations {
            at += self.rng.below((members.len() - at) as u64 + 1) as usize;
            let text = self.member(m);
            members.insert(at, text);
            at += 1;
        }
        self.depth -= 1;
        out.push('{');
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.ws(out);
            self.newline(out, self.depth + 1);
            out.push_str(m);
            self.ws(out);
        }
        if !members.is_empty() {
            self.newline(out, self.depth);
        }
        out.push('}');
    }

    /// In pretty mode, a newline and `depth` levels of indentation.
    fn newline(&self, out: &mut String, depth: usize) {
        if self.pretty {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        }
    }

    fn colon(&self, out: &mut String) {
        out.push_str(if self.pretty { ": " } else { ":" });
    }

    fn member(&mut self, m: &Member) -> String {
        let mut s = String::new();
        self.string(&mut s, &m.name);
        self.ws(&mut s);
        self.colon(&mut s);
        self.ws(&mut s);
        s.push_str(m.value.as_str());
        s
    }

    /// `[`, each item written by `each` on a line of its own (when pretty), `]`.
    fn array<T>(
        &mut self,
        out: &mut String,
        items: impl ExactSizeIterator<Item = T>,
        mut each: impl FnMut(&mut Self, &mut String, T),
    ) {
        let empty = items.len() == 0;
        out.push('[');
        self.depth += 1;
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.ws(out);
            self.newline(out, self.depth);
            each(self, out, item);
            self.ws(out);
        }
        self.depth -= 1;
        if !empty {
            self.newline(out, self.depth);
        }
        out.push(']');
    }

    fn value(&mut self, out: &mut String, profile: &Profile, def: &PropertyDef, value: &Value) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int32(0) if self.rng.below(4) == 3 => out.push_str("-0"),
            Value::Int32(n) => out.push_str(&n.to_string()),
            Value::String(s) => self.string(out, s),
            Value::DateTimeOffset(t) => self.string(out, t.as_str()),
            Value::Binary(b) => self.string(out, b.as_str()),
            Value::Guid(g) => self.string(out, g.as_str()),
            Value::Complex(c) => {
                let members = profile.members_of(def);
                self.object(out, profile, members, &c.members, &c.annotations, &[]);
            }
            Value::Strings(items) => {
                self.array(out, items.iter(), |r, out, s| r.string(out, s));
            }
            Value::Collection(items) => {
                self.array(out, items.iter(), |r, out, item| {
                    r.value(out, profile, def, item);
                });
            }
        }
    }
}

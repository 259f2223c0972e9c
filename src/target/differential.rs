//! Differential judging: the target's answer to a request beside a reference
//! implementation's answer to the same request. No contract is involved; the two must
//! agree on the status, on the Graph error code of an error, and on the JSON value of a
//! 2xx body, except where two correct implementations may differ:
//!
//! - ids the servers assigned: the target's id is translated to the reference's id for
//!   the same create (an [`IdMap`] learned from their 201s), and GUIDs are compared
//!   without regard to case;
//! - URL-valued annotations (`@odata.context`, `@odata.id`, `@odata.nextLink`, ...): only
//!   their presence is compared, since each names its own host;
//! - DateTimeOffset values the client did not send (server-stamped times);
//! - in a list page (`{"value": [...]}`), only the devices both pages hold are compared,
//!   matched by id (each target may hold other devices, and order its pages its own way);
//! - headers (request ids, dates, servers) and error messages are not compared.

use std::collections::HashMap;

use super::oracles::{Oracle, Violation, clip, graph_error};
use super::transport::Response;
use crate::model::{DateTimeOffset, Guid};

/// Target id (lower case) to the reference's id for the same create.
pub type IdMap = HashMap<String, String>;

/// URL-valued OData annotations: compared by presence only.
const URL_ANNOTATIONS: [&str; 6] = [
    "@odata.context",
    "@odata.id",
    "@odata.editLink",
    "@odata.readLink",
    "@odata.nextLink",
    "@odata.deltaLink",
];

/// Every disagreement between the target's answer `target` and the reference's answer
/// `reference` to a request with body `sent` (at most one violation: the first difference).
pub fn compare(
    target: &Response,
    reference: &Response,
    sent: &[u8],
    ids: &IdMap,
) -> Vec<Violation> {
    let differ = |rule: &str, want: String, got: String| {
        vec![Violation::new(
            Oracle::Differential,
            rule,
            format!("as the reference: {want}"),
            got,
        )]
    };
    if target.status != reference.status {
        return differ("status", short(reference), short(target));
    }
    if target.status >= 400 {
        let code = |r: &Response| graph_error(&r.body).map(|(code, _)| code);
        let (want, got) = (code(reference), code(target));
        if want != got {
            let name = |c: Option<String>| c.unwrap_or_else(|| "no Graph error code".to_owned());
            return differ("error-code", name(want), name(got));
        }
        return Vec::new();
    }
    let parse = |r: &Response| serde_json::from_slice::<serde_json::Value>(&r.body).ok();
    match (parse(reference), parse(target)) {
        (Some(want), Some(got)) => {
            let ctx = Masks { sent, ids };
            match ctx.diff("", &want, &got) {
                Some((at, w, g)) => differ("body", format!("{at} = {w}"), format!("{at} = {g}")),
                None => Vec::new(),
            }
        }
        (None, None) if reference.body == target.body => Vec::new(),
        (None, None) => differ("body", body_text(reference), body_text(target)),
        (Some(_), None) => differ("body", "a JSON body".to_owned(), body_text(target)),
        (None, Some(_)) => differ("body", body_text(reference), "a JSON body".to_owned()),
    }
}

/// The status, and the Graph code of an error.
fn short(r: &Response) -> String {
    match graph_error(&r.body) {
        Some((code, _)) => format!("{} {code}", r.status),
        None => r.status.to_string(),
    }
}

fn body_text(r: &Response) -> String {
    if r.body.is_empty() {
        "an empty body".to_owned()
    } else {
        clip(&String::from_utf8_lossy(&r.body), 120)
    }
}

struct Masks<'a> {
    sent: &'a [u8],
    ids: &'a IdMap,
}

type Difference = (String, String, String);

impl Masks<'_> {
    /// The first place `got` (the target's) differs from `want` (the reference's), as a
    /// JSON pointer with both values.
    fn diff(
        &self,
        at: &str,
        want: &serde_json::Value,
        got: &serde_json::Value,
    ) -> Option<Difference> {
        use serde_json::Value as J;
        let show = |v: &J| clip(&v.to_string(), 100);
        let found = |w: &J, g: &J| Some((pointer_or_root(at), show(w), show(g)));
        match (want, got) {
            (J::Object(w), J::Object(g)) => {
                if at.is_empty()
                    && let (Some(J::Array(wv)), Some(J::Array(gv))) =
                        (w.get("value"), g.get("value"))
                {
                    return self.diff_page(wv, gv);
                }
                for (k, wv) in w {
                    let here = format!("{at}/{}", escape(k));
                    match g.get(k) {
                        None => return Some((here, show(wv), "absent".to_owned())),
                        Some(_) if URL_ANNOTATIONS.contains(&k.as_str()) => {}
                        Some(gv) => {
                            if let Some(d) = self.diff(&here, wv, gv) {
                                return Some(d);
                            }
                        }
                    }
                }
                g.iter()
                    .find(|(k, _)| !w.contains_key(*k))
                    .map(|(k, gv)| (format!("{at}/{}", escape(k)), "absent".to_owned(), show(gv)))
            }
            (J::Array(w), J::Array(g)) => {
                if w.len() != g.len() {
                    return Some((
                        pointer_or_root(at),
                        format!("{} items", w.len()),
                        format!("{} items", g.len()),
                    ));
                }
                w.iter()
                    .zip(g)
                    .enumerate()
                    .find_map(|(i, (wv, gv))| self.diff(&format!("{at}/{i}"), wv, gv))
            }
            (J::String(w), J::String(g)) if self.same_string(w, g) => None,
            (w, g) if w == g => None,
            (w, g) => found(w, g),
        }
    }

    /// A list page: the devices both pages hold (by id), compared.
    fn diff_page(
        &self,
        want: &[serde_json::Value],
        got: &[serde_json::Value],
    ) -> Option<Difference> {
        let id_of = |v: &serde_json::Value| {
            v.get("id")
                .and_then(|i| i.as_str())
                .map(str::to_ascii_lowercase)
        };
        let wanted: HashMap<String, (usize, &serde_json::Value)> = want
            .iter()
            .enumerate()
            .filter_map(|(i, v)| id_of(v).map(|id| (id, (i, v))))
            .collect();
        got.iter().enumerate().find_map(|(i, g)| {
            let id = id_of(g)?;
            let theirs = self.ids.get(&id).cloned().unwrap_or(id);
            let (j, w) = wanted.get(&theirs.to_ascii_lowercase())?;
            self.diff(&format!("/value/{j}"), w, g)
                .map(|(at, w, g)| (format!("{at} (target's /value/{i})"), w, g))
        })
    }

    /// Equal strings, the same GUID (after the id map, in any case), or two times the
    /// client did not send.
    fn same_string(&self, want: &str, got: &str) -> bool {
        if want == got {
            return true;
        }
        if Guid::parse(want).is_ok() && Guid::parse(got).is_ok() {
            let got = got.to_ascii_lowercase();
            let got = self.ids.get(&got).map_or(got.as_str(), String::as_str);
            return want.eq_ignore_ascii_case(got);
        }
        DateTimeOffset::parse(want).is_ok()
            && DateTimeOffset::parse(got).is_ok()
            && !contains(self.sent, want.as_bytes())
            && !contains(self.sent, got.as_bytes())
    }
}

fn pointer_or_root(at: &str) -> String {
    if at.is_empty() {
        "/".to_owned()
    } else {
        at.to_owned()
    }
}

/// A JSON pointer token (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The reference's counterpart of a request's text: every GUID the id map knows replaced
/// by the reference's id (same length, so byte offsets keep), then every `(target,
/// reference)` pair of `fixed` (tokens, user ids) replaced. `None` when nothing changes.
pub fn translate(bytes: &[u8], fixed: &[(String, String)], ids: &IdMap) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    if !ids.is_empty() && bytes.len() >= 36 {
        let mut i = 0;
        while i + 36 <= bytes.len() {
            let window = &bytes[i..i + 36];
            if window[8] == b'-'
                && let Ok(text) = std::str::from_utf8(window)
                && Guid::parse(text).is_ok()
                && let Some(theirs) = ids.get(&text.to_ascii_lowercase())
                && theirs.len() == 36
            {
                out.get_or_insert_with(|| bytes.to_vec())[i..i + 36]
                    .copy_from_slice(theirs.as_bytes());
                i += 36;
            } else {
                i += 1;
            }
        }
    }
    for (from, to) in fixed {
        let current = out.as_deref().unwrap_or(bytes);
        if from.is_empty() || from == to || !contains(current, from.as_bytes()) {
            continue;
        }
        out = Some(replace_all(current, from.as_bytes(), to.as_bytes()));
    }
    out
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from(body.to_owned()),
            elapsed: std::time::Duration::ZERO,
        }
    }

    const A: &str = "6c7a1a2e-0d32-4d5b-9f0e-4b8f2a9c1d01";
    const B: &str = "1f0c3b9d-55aa-4c1e-8d2b-7e6a5c4b3a02";

    fn rules(v: Vec<Violation>) -> Vec<String> {
        v.into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn status_code_and_body_disagreements_are_found() {
        let none = IdMap::new();
        let err = |code: &str| {
            resp(
                400,
                &format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#),
            )
        };
        assert_eq!(
            rules(compare(&resp(201, "{}"), &err("X"), b"", &none)),
            ["status"]
        );
        assert_eq!(
            rules(compare(&err("A"), &err("B"), b"", &none)),
            ["error-code"]
        );
        // Messages are free text.
        let msg = resp(400, r#"{"error":{"code":"A","message":"other words"}}"#);
        assert!(compare(&msg, &err("A"), b"", &none).is_empty());
        let v = compare(
            &resp(201, r#"{"a":1,"b":[1,2]}"#),
            &resp(201, r#"{"a":1,"b":[1,3]}"#),
            b"",
            &none,
        );
        assert_eq!(v[0].rule, "body");
        assert!(
            v[0].seen.contains("/b/1") && v[0].expected.contains("3"),
            "{v:?}"
        );
        assert_eq!(
            rules(compare(
                &resp(201, r#"{"a":1}"#),
                &resp(201, r#"{"a":1,"c":2}"#),
                b"",
                &none
            )),
            ["body"]
        );
        assert_eq!(
            rules(compare(
                &resp(201, "not json"),
                &resp(201, "{}"),
                b"",
                &none
            )),
            ["body"]
        );
    }

    #[test]
    fn assigned_ids_urls_and_server_times_are_masked_but_sent_times_are_not() {
        let ids: IdMap = [(A.to_owned(), B.to_owned())].into();
        let t = format!(
            r#"{{"id":"{}","@odata.context":"http://a/$metadata","x":"2020-01-01T00:00:00Z"}}"#,
            A.to_uppercase()
        );
        let r = format!(
            r#"{{"id":"{B}","@odata.context":"http://b/$metadata","x":"2021-05-05T00:00:00Z"}}"#
        );
        assert!(compare(&resp(201, &t), &resp(201, &r), b"{}", &ids).is_empty());
        // The same time, sent by the client, must come back the same.
        let sent = br#"{"x":"2020-01-01T00:00:00Z"}"#;
        assert_eq!(
            rules(compare(&resp(201, &t), &resp(201, &r), sent, &ids)),
            ["body"]
        );
        // An id the map does not know is compared as it is.
        assert_eq!(
            rules(compare(
                &resp(201, &t),
                &resp(201, &r),
                b"{}",
                &IdMap::new()
            )),
            ["body"]
        );
    }

    #[test]
    fn list_pages_compare_the_devices_both_hold() {
        let ids: IdMap = [(A.to_owned(), B.to_owned())].into();
        let other = "00000000-0000-4000-8000-000000000003";
        let t = format!(r#"{{"value":[{{"id":"{other}","n":9}},{{"id":"{A}","n":1}}]}}"#);
        let same = format!(r#"{{"value":[{{"id":"{B}","n":1}}]}}"#);
        assert!(compare(&resp(200, &t), &resp(200, &same), b"", &ids).is_empty());
        let changed = format!(r#"{{"value":[{{"id":"{B}","n":2}}]}}"#);
        let v = compare(&resp(200, &t), &resp(200, &changed), b"", &ids);
        assert_eq!(rules(v.clone()), ["body"]);
        assert!(v[0].seen.contains("target's /value/1"), "{v:?}");
    }

    #[test]
    fn translate_maps_known_ids_and_fixed_pairs_only() {
        let ids: IdMap = [(A.to_owned(), B.to_owned())].into();
        let fixed = vec![("tok-a".to_owned(), "tok-b".to_owned())];
        let path = format!("/me/devices/{}?x=tok-a", A.to_uppercase());
        let out = translate(path.as_bytes(), &fixed, &ids).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("/me/devices/{B}?x=tok-b")
        );
        assert_eq!(translate(b"/me/devices", &fixed, &ids), None);
        let unknown = format!("/me/devices/{}", "00000000-0000-4000-8000-000000000003");
        assert_eq!(translate(unknown.as_bytes(), &fixed, &ids), None);
        // Not UTF-8 around a GUID: still found.
        let mut bytes = vec![0xff, b'"'];
        bytes.extend_from_slice(A.as_bytes());
        let out = translate(&bytes, &[], &ids).unwrap();
        assert_eq!(&out[2..], B.as_bytes());
    }
}

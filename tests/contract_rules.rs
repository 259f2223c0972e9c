//! Every accept and reject example of CONTRACT.md section 3, and the boundary on each side
//! of every limit, through `from_bytes`.

use devices_harness::contract::{Base, Edm};
use devices_harness::{Category, Profile, from_bytes, from_bytes_with};

const SEED: &[u8] = include_bytes!("data/seed-example-request.json");

/// The seed example's members as (name, JSON text).
fn seed_members() -> Vec<(String, String)> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(SEED).unwrap();
    map.into_iter()
        .map(|(k, v)| (k, serde_json::to_string(&v).unwrap()))
        .collect()
}

fn join(members: &[(String, String)]) -> Vec<u8> {
    let parts: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", parts.join(",")).into_bytes()
}

/// The seed example with `name` set to the JSON text `raw` (added when absent).
fn with(name: &str, raw: &str) -> Vec<u8> {
    let mut m = seed_members();
    match m.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = raw.to_owned(),
        None => m.push((name.to_owned(), raw.to_owned())),
    }
    join(&m)
}

fn without(name: &str) -> Vec<u8> {
    let mut m = seed_members();
    m.retain(|(k, _)| k != name);
    join(&m)
}

/// An alternativeSecurityId with `member` set to `raw` (removed when `raw` is None).
fn asid(member: &str, raw: Option<&str>) -> Vec<u8> {
    let mut obj = vec![
        ("type".to_owned(), "4".to_owned()),
        ("identityProvider".to_owned(), "\"p\"".to_owned()),
        ("key".to_owned(), "\"a2V5\"".to_owned()),
    ];
    match raw {
        Some(raw) => match obj.iter_mut().find(|(k, _)| k == member) {
            Some(slot) => slot.1 = raw.to_owned(),
            None => obj.push((member.to_owned(), raw.to_owned())),
        },
        None => obj.retain(|(k, _)| k != member),
    }
    let inner = String::from_utf8(join(&obj)).unwrap();
    with("alternativeSecurityIds", &format!("[{inner}]"))
}

#[track_caller]
fn ok(body: &[u8]) {
    if let Err(e) = from_bytes(body) {
        panic!("rejected: {e}\n{}", String::from_utf8_lossy(body));
    }
}

#[track_caller]
fn rejects(body: &[u8], rule: &str, pointer: Option<&str>) {
    match from_bytes(body) {
        Ok(_) => panic!(
            "accepted, expected {rule}: {}",
            String::from_utf8_lossy(body)
        ),
        Err(e) => {
            assert_eq!(
                e.kind.rule(),
                rule,
                "{e}: {}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(e.pointer.as_deref(), pointer, "{e}");
            let code = match e.category() {
                Category::Property => "Request_BadRequest",
                _ => "BadRequest",
            };
            assert_eq!((e.status(), e.code().as_str()), (400, code));
        }
    }
}

#[test]
fn strings() {
    ok(&with("deviceId", r#""""#));
    ok(&with(
        "deviceId",
        r#""\u0000 \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00""#,
    ));
    ok(&with(
        "deviceId",
        "\"raw \u{7f} é 中 \u{1f600} \u{ffff} \u{10ffff}\"",
    ));
    rejects(
        &with("deviceId", r#""\ud800""#),
        "json.encoding.lone-surrogate",
        None,
    );
    rejects(
        &with("deviceId", r#""\udc00\ud800""#),
        "json.encoding.lone-surrogate",
        None,
    );
    rejects(
        &with("deviceId", r#""\ud800\u0041""#),
        "json.encoding.lone-surrogate",
        None,
    );
    rejects(
        &with("deviceId", "\"tab\tinside\""),
        "json.syntax.control-character",
        None,
    );
    rejects(&with("deviceId", r#""\x41""#), "json.syntax.escape", None);
    rejects(&with("deviceId", r#""\u00g1""#), "json.syntax.escape", None);
    rejects(&with("deviceId", "12"), "property.type", Some("/deviceId"));
}

#[test]
fn booleans() {
    ok(&with("accountEnabled", "false"));
    rejects(
        &with("accountEnabled", r#""true""#),
        "property.type",
        Some("/accountEnabled"),
    );
    rejects(
        &with("accountEnabled", "1"),
        "property.type",
        Some("/accountEnabled"),
    );
    rejects(
        &with("accountEnabled", "True"),
        "json.syntax.unexpected-byte",
        None,
    );
    rejects(&with("accountEnabled", "tru"), "json.syntax.literal", None);
}

#[test]
fn int32_range_and_lexical_form() {
    for v in ["-2147483648", "2147483647", "0", "-0", "-1"] {
        ok(&with("deviceVersion", v));
    }
    let d = from_bytes(&with("deviceVersion", "-0")).unwrap();
    let i = Profile::seed().property_index("deviceVersion").unwrap();
    assert_eq!(d.properties[i], Some(devices_harness::Value::Int32(0)));
    let p = Some("/deviceVersion");
    rejects(
        &with("deviceVersion", "2147483648"),
        "property.int32.range",
        p,
    );
    rejects(
        &with("deviceVersion", "-2147483649"),
        "property.int32.range",
        p,
    );
    rejects(
        &with("deviceVersion", "99999999999999999999"),
        "property.int32.range",
        p,
    );
    rejects(
        &with("deviceVersion", "13.0"),
        "property.int32.not-integer",
        p,
    );
    rejects(
        &with("deviceVersion", "1e1"),
        "property.int32.not-integer",
        p,
    );
    rejects(
        &with("deviceVersion", "1E+0"),
        "property.int32.not-integer",
        p,
    );
    rejects(&with("deviceVersion", r#""13""#), "property.type", p);
    rejects(
        &with("deviceVersion", "013"),
        "json.syntax.unexpected-byte",
        None,
    );
    rejects(
        &with("deviceVersion", "+1"),
        "json.syntax.unexpected-byte",
        None,
    );
    rejects(&with("deviceVersion", "1."), "json.syntax.number", None);
    rejects(
        &with("deviceVersion", "NaN"),
        "json.syntax.unexpected-byte",
        None,
    );
    rejects(
        &with("deviceVersion", "Infinity"),
        "json.syntax.unexpected-byte",
        None,
    );
}

#[test]
fn date_time_offsets() {
    let p = Some("/deletedDateTime");
    let at = |s: &str| with("deletedDateTime", &format!("\"{s}\""));
    for s in [
        "2016-12-31T23:58:36.0226893+03:00",
        "2016-12-31T23:58:36Z",
        "2016-12-31T23:58:36.123456789012Z",
        "2024-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ] {
        ok(&at(s));
    }
    let cases = [
        ("2016-12-31 23:58:36Z", "shape"),
        ("2016-12-31T23:58:36", "offset-shape"),
        ("2016-12-31T23:58:36+0300", "offset-shape"),
        ("2016-12-31T23:58:36.1234567890123Z", "fraction"),
        ("2016-12-31T23:58:60Z", "second"),
        ("2016-12-31T23:60:00Z", "minute"),
        ("2016-12-31T24:00:00Z", "hour"),
        ("2023-02-29T00:00:00Z", "day"),
        ("1900-02-29T00:00:00Z", "day"),
        ("2016-13-31T00:00:00Z", "month"),
        ("0000-12-31T00:00:00Z", "year"),
        ("2016-12-31T23:58:36+14:01", "offset-range"),
        ("2016-12-31T23:58:36-14:30", "offset-range"),
        ("2016-12-31t23:58:36Z", "shape"),
        ("2016-12-31T23:58:36z", "offset-shape"),
    ];
    for (s, rule) in cases {
        rejects(&at(s), &format!("property.datetime.{rule}"), p);
    }
    rejects(&with("deletedDateTime", "20161231"), "property.type", p);
}

#[test]
fn binary_keys() {
    let p = Some("/alternativeSecurityIds/0/key");
    for k in [
        "\"a2V5\"",
        "\"\"",
        "\"a2V5eQ==\"",
        "\"a2V5eQ\"",
        "\"-_8\"",
        "\"+/8=\"",
    ] {
        ok(&asid("key", Some(k)));
    }
    rejects(
        &asid("key", Some("\"a2V5=\"")),
        "property.binary.padding",
        p,
    );
    rejects(
        &asid("key", Some("\"base64Y3YxN2E1MWFlYw==\"")),
        "property.binary.padding",
        p,
    );
    rejects(
        &asid("key", Some("\"-/AA\"")),
        "property.binary.mixed-alphabet",
        p,
    );
    rejects(
        &asid("key", Some("\"AB\"")),
        "property.binary.non-canonical",
        p,
    );
    rejects(&asid("key", Some("\"a2V5e\"")), "property.binary.length", p);
    rejects(
        &asid("key", Some("\"a2V 5\"")),
        "property.binary.character",
        p,
    );
}

#[test]
fn collections() {
    ok(&with("physicalIds", "[]"));
    ok(&with("alternativeSecurityIds", "[]"));
    let many: Vec<String> = (0..1500).map(|i| format!("\"id-{i}\"")).collect();
    ok(&with("physicalIds", &format!("[{}]", many.join(","))));
    rejects(
        &with("physicalIds", "null"),
        "property.null",
        Some("/physicalIds"),
    );
    rejects(
        &with("systemLabels", "null"),
        "property.null",
        Some("/systemLabels"),
    );
    rejects(
        &with("alternativeSecurityIds", "null"),
        "property.null",
        Some("/alternativeSecurityIds"),
    );
    rejects(
        &with("physicalIds", r#"["a",null]"#),
        "property.null-element",
        Some("/physicalIds/1"),
    );
    rejects(
        &with("alternativeSecurityIds", "[null]"),
        "property.null-element",
        Some("/alternativeSecurityIds/0"),
    );
    rejects(
        &with("physicalIds", r#""a""#),
        "property.type",
        Some("/physicalIds"),
    );
    rejects(
        &with("physicalIds", "[1]"),
        "property.type",
        Some("/physicalIds/0"),
    );
    rejects(
        &with("alternativeSecurityIds", "[[]]"),
        "property.type",
        Some("/alternativeSecurityIds/0"),
    );
}

#[test]
fn alternative_security_id_members() {
    // Each member is optional: absent is the same as null (CONTRACT.md section 3).
    for m in ["type", "identityProvider", "key"] {
        ok(&asid(m, Some("null")));
        ok(&asid(m, None));
    }
    ok(&with("alternativeSecurityIds", "[{}]"));
    ok(&with(
        "alternativeSecurityIds",
        r#"[{"@odata.type":"microsoft.graph.alternativeSecurityId"}]"#,
    ));
    // An absent member reads as absent, and null as null: both round-trip as sent.
    let absent = devices_harness::from_bytes(&with("alternativeSecurityIds", "[{}]")).unwrap();
    let again = devices_harness::from_bytes(&devices_harness::to_vec(&absent)).unwrap();
    assert_eq!(again, absent);
    ok(&asid(
        "@odata.type",
        Some("\"#microsoft.graph.alternativeSecurityId\""),
    ));
    ok(&asid(
        "@odata.type",
        Some("\"microsoft.graph.alternativeSecurityId\""),
    ));
    ok(&asid("@other.annotation", Some("[1,{}]")));
    let p = Some("/alternativeSecurityIds/0/@odata.type");
    rejects(
        &asid("@odata.type", Some("\"#microsoft.graph.device\"")),
        "property.odata-type",
        p,
    );
    rejects(&asid("@odata.type", Some("1")), "property.odata-type", p);
    rejects(
        &asid("extra", Some("1")),
        "property.unknown",
        Some("/alternativeSecurityIds/0/extra"),
    );
    rejects(
        &asid("Type", Some("1")),
        "property.wrong-case",
        Some("/alternativeSecurityIds/0/Type"),
    );
    rejects(
        &asid("type", Some("4.5")),
        "property.int32.not-integer",
        Some("/alternativeSecurityIds/0/type"),
    );
}

#[test]
fn annotations_and_odata_type() {
    ok(&without("@odata.type"));
    ok(&with(
        "@odata.context",
        r#""https://graph.microsoft.com/beta/$metadata#devices/$entity""#,
    ));
    ok(&with("displayName@odata.type", "\"#String\""));
    ok(&with("@anything", r#"{"deep":[[[{"a":null}]]]}"#));
    let d = from_bytes(&with("@x.y", "[1, 2]")).unwrap();
    assert_eq!(d.annotation("@x.y").map(|r| r.as_str()), Some("[1,2]"));
    let p = Some("/@odata.type");
    rejects(
        &with("@odata.type", r##""#microsoft.graph.user""##),
        "property.odata-type",
        p,
    );
    rejects(
        &with("@odata.type", r#""microsoft.graph.device""#),
        "property.odata-type",
        p,
    );
    rejects(&with("@odata.type", "null"), "property.odata-type", p);
}

#[test]
fn unknown_and_wrong_case_names() {
    rejects(&with("color", "1"), "property.unknown", Some("/color"));
    rejects(&with("", "1"), "property.unknown", Some("/"));
    rejects(
        &with("DisplayName", "\"x\""),
        "property.wrong-case",
        Some("/DisplayName"),
    );
    rejects(&with("name", "\"x\""), "property.wrong-case", Some("/name"));
    rejects(&with("a/b~c", "1"), "property.unknown", Some("/a~1b~0c"));
}

#[test]
fn every_property_required_and_nullability_from_the_table() {
    let profile = Profile::seed();
    for def in profile.properties() {
        let p = format!("/{}", def.name);
        if def.required {
            rejects(&without(&def.name), "property.missing", Some(&p));
        } else {
            ok(&without(&def.name));
        }
        if def.nullable {
            ok(&with(&def.name, "null"));
        } else {
            rejects(&with(&def.name, "null"), "property.null", Some(&p));
        }
        // A value of the wrong JSON kind for each Edm type.
        let wrong = match (def.collection, def.base) {
            (true, _) => "{}",
            (false, Base::Primitive(Edm::Boolean)) => "\"true\"",
            (false, Base::Primitive(Edm::Int32)) => "true",
            (false, _) => "7",
        };
        rejects(&with(&def.name, wrong), "property.type", Some(&p));
    }
}

#[test]
fn client_id() {
    ok(&with("id", r#""c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3""#));
    ok(&with("id", r#""C3E3B22A-B22A-C3E3-2AB2-E3C32AB2E3C3""#));
    let p = Some("/id");
    rejects(&with("id", "null"), "property.null", p);
    rejects(
        &with("id", r#""c3e3b22ab22ac3e32ab2e3c32ab2e3c3""#),
        "property.id.not-a-guid",
        p,
    );
    rejects(
        &with("id", r#""{c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3}""#),
        "property.id.not-a-guid",
        p,
    );
    rejects(
        &with("id", r#""c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3cz""#),
        "property.id.not-a-guid",
        p,
    );
    rejects(&with("id", "42"), "property.type", p);
    let reject = Profile::from_toml("[policies]\nclient_id = 'reject'").unwrap();
    let err = from_bytes_with(
        &reject,
        &with("id", r#""c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3""#),
    );
    assert_eq!(err.unwrap_err().kind.rule(), "property.id.not-allowed");
    assert!(from_bytes_with(&reject, SEED).is_ok());
}

#[test]
fn display_name_length_in_utf16_units() {
    let name = |s: String| with("displayName", &serde_json::to_string(&s).unwrap());
    let p = Some("/displayName");
    ok(&name("x".repeat(256)));
    ok(&name("\u{1f600}".repeat(128)));
    ok(&name("é".repeat(256)));
    ok(&name("x".repeat(254) + "\u{1f600}"));
    rejects(&name("x".repeat(257)), "property.string.too-long", p);
    rejects(
        &name("\u{1f600}".repeat(128) + "x"),
        "property.string.too-long",
        p,
    );
    rejects(
        &name("x".repeat(255) + "\u{1f600}"),
        "property.string.too-long",
        p,
    );
    rejects(&name("é".repeat(257)), "property.string.too-long", p);
    // Escaped forms count what they decode to.
    let escaped = format!("\"{}\"", "\\u0041".repeat(256));
    ok(&with("displayName", &escaped));
    let escaped = format!("\"{}\"", "\\ud83d\\ude00".repeat(129));
    rejects(
        &with("displayName", &escaped),
        "property.string.too-long",
        p,
    );
    // Other strings have no limit.
    ok(&with(
        "deviceId",
        &serde_json::to_string(&"x".repeat(100_000)).unwrap(),
    ));
}

#[test]
fn duplicates_at_any_level() {
    let seed = String::from_utf8(SEED.to_vec()).unwrap();
    let dup_top = seed.replacen('{', r#"{"displayName": "again","#, 1);
    rejects(dup_top.as_bytes(), "member.duplicate", Some("/displayName"));
    let escaped = seed.replacen('{', r#"{"display\u004eame": "again","#, 1);
    rejects(escaped.as_bytes(), "member.duplicate", Some("/displayName"));
    rejects(
        &asid("type", Some(r#"4, "type": 5"#)),
        "member.duplicate",
        Some("/alternativeSecurityIds/0/type"),
    );
    rejects(
        &with("@a", r#"{"x":1,"y":{"z":1,"z":2}}"#),
        "member.duplicate",
        Some("/@a/y/z"),
    );
    let two = seed.replacen('{', r#"{"@a": 1, "@a": 1,"#, 1);
    rejects(two.as_bytes(), "member.duplicate", Some("/@a"));
    // Many distinct annotation names stay valid (and linear).
    let many: Vec<String> = (0..5000).map(|i| format!("\"@n.{i}\":{i}")).collect();
    let body = seed.replacen('{', &format!("{{{},", many.join(",")), 1);
    ok(body.as_bytes());
}

#[test]
fn body_structure() {
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(SEED);
    rejects(&bom, "json.encoding.bom", None);
    rejects(b"", "json.syntax.unexpected-end", None);
    rejects(b"   ", "json.syntax.unexpected-end", None);
    rejects(b"[]", "json.structure.not-an-object", None);
    rejects(b"\"device\"", "json.structure.not-an-object", None);
    rejects(b"null", "json.structure.not-an-object", None);
    let mut trailing = SEED.to_vec();
    trailing.extend_from_slice(b" {}");
    rejects(&trailing, "json.syntax.trailing-data", None);
    let mut ws = b" \t\r\n".to_vec();
    ws.extend_from_slice(SEED);
    ws.extend_from_slice(b" \t\r\n");
    ok(&ws);
    let mut truncated = SEED.trim_ascii_end().to_vec();
    truncated.pop();
    rejects(&truncated, "json.syntax.unexpected-end", None);
    rejects(
        &with("deviceId", "\"\u{0}\"".replace('\u{0}', "\u{1}").as_str()),
        "json.syntax.control-character",
        None,
    );
    let mut bad_utf8 = with("deviceId", "\"xx\"");
    let at = bad_utf8.windows(2).position(|w| w == b"xx").unwrap();
    bad_utf8[at] = 0xc0; // overlong lead byte
    rejects(&bad_utf8, "json.encoding.utf8", None);
    bad_utf8[at] = 0xed;
    bad_utf8[at + 1] = 0xa0; // encoded surrogate (truncated sequence)
    rejects(&bad_utf8, "json.encoding.utf8", None);
    rejects(b"{\"a\":1,}", "json.syntax.unexpected-byte", None);
    rejects(b"{'a':1}", "json.syntax.unexpected-byte", None);
    rejects(b"{/*c*/}", "json.syntax.unexpected-byte", None);
}

#[test]
fn depth_limit_is_64() {
    let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // The top-level object is depth 1: an annotation value may nest 63 more.
    ok(&with("@deep", &nest(63)));
    rejects(&with("@deep", &nest(64)), "json.structure.depth", None);
    rejects(nest(65).as_bytes(), "json.structure.depth", None);
    let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    ok(&with("@deep", &objects(63)));
    rejects(&with("@deep", &objects(64)), "json.structure.depth", None);
}

#[test]
fn error_precedence_is_deterministic() {
    // Readable JSON with two property errors: the first in document order.
    let body = br#"{"deviceVersion": 1.5, "accountEnabled": 1}"#;
    let e = from_bytes(body).unwrap_err();
    assert_eq!(
        (e.kind.rule().id(), e.offset),
        ("property.int32.not-integer", 18)
    );
    // A property error followed by a syntax error: unreadable JSON wins.
    rejects(
        br#"{"deviceVersion": 1.5, "accountEnabled": tru}"#,
        "json.syntax.literal",
        None,
    );
    rejects(
        br#"{"deviceVersion": 1.5, "x": [1,]}"#,
        "json.syntax.unexpected-byte",
        None,
    );
    rejects(b"[1, 2", "json.syntax.unexpected-end", None);
    // Missing properties come last, the first in table order.
    rejects(
        br#"{"deviceVersion": 1}"#,
        "property.missing",
        Some("/deletedDateTime"),
    );
    rejects(
        br#"{"deviceVersion": 1, "nope": 1}"#,
        "property.unknown",
        Some("/nope"),
    );
    // Syntax errors carry their byte offset.
    let e = from_bytes(b"{\n  \"a\" 1}").unwrap_err();
    assert_eq!(e.offset, 8);
    assert_eq!(e.line_column(b"{\n  \"a\" 1}"), (2, 7));
}

#[test]
fn profile_relaxations() {
    let v1 = Profile::from_toml(
        "required = ['accountEnabled', 'displayName', 'operatingSystem', 'operatingSystemVersion']\n\
         [policies]\nunknown_properties = 'accept'",
    )
    .unwrap();
    let body = br#"{"accountEnabled":true,"displayName":"d","operatingSystem":"o",
                    "operatingSystemVersion":"1","color":"blue"}"#;
    let d = from_bytes_with(&v1, body).unwrap();
    assert_eq!(d.unknown.len(), 1);
    assert_eq!(d.unknown[0].value.as_str(), "\"blue\"");
    assert_eq!(
        devices_harness::to_vec_with(&v1, &d),
        br#"{"accountEnabled":true,"displayName":"d","operatingSystem":"o","operatingSystemVersion":"1","color":"blue"}"#
    );
    let missing = from_bytes_with(&v1, br#"{"accountEnabled":true}"#).unwrap_err();
    assert_eq!(missing.pointer.as_deref(), Some("/displayName"));
}

//! Agreement between the generators and the parser: every valid payload is accepted as
//! exactly the device generated; every malformed body is rejected with exactly its
//! labelled rule and place; size and header cases carry a valid body. If generators and
//! parser drift apart, a test here fails.
#![cfg(feature = "proptest")]

use std::collections::BTreeSet;

use devices_harness::contract::{Base, Edm, MAX_BODY_BYTES, accepts_content_type};
use devices_harness::generate::malformed::{
    Authorization, Defect, Layer, PathKind, RequestHeaders, malformed,
};
use devices_harness::generate::{Replay, Rng, fast::Generator, render::render, valid};
use devices_harness::{Category, Profile, Value, from_bytes, to_vec};

const PER_CLASS: u64 = 150;

#[test]
fn every_defect_class_is_rejected_with_exactly_its_rule() {
    let profile = Profile::seed();
    let mut failures = Vec::new();
    for defect in Defect::all() {
        let runs = if defect == Defect::BodyTooLarge {
            3
        } else {
            PER_CLASS
        };
        for seed in 0..runs {
            let mut rng = Rng::new(seed);
            let base = valid::device(profile, &mut rng);
            let Some(case) = malformed(profile, &base, defect, &mut rng) else {
                failures.push(format!(
                    "{defect} seed {seed}: does not apply to the seed profile"
                ));
                continue;
            };
            assert_eq!(case.defect, defect);
            let verdict = from_bytes(&case.bytes);
            let ok = match defect.layer() {
                Layer::Body => match &verdict {
                    Err(e) => {
                        Some(e.kind.rule()) == case.expected.rule
                            && Some(e.code()) == case.expected.primary().code
                            && e.status() == case.expected.status()
                            && (case.expected.pointer.is_none()
                                || e.pointer == case.expected.pointer)
                    }
                    Ok(_) => false,
                },
                Layer::Size => verdict.is_ok() && case.bytes.len() > MAX_BODY_BYTES,
                Layer::Request => verdict.is_ok() && case.headers != valid_like(&case.headers),
            };
            if !ok {
                failures.push(format!(
                    "{defect} seed {seed} ({}): expected {:?} {:?}, parser said {:?}\n  {}",
                    case.description,
                    case.expected.rule,
                    case.expected.pointer,
                    verdict
                        .as_ref()
                        .err()
                        .map(|e| (e.kind.rule(), e.pointer.clone())),
                    String::from_utf8_lossy(&case.bytes[..case.bytes.len().min(300)])
                ));
            }
        }
    }
    // One example per class keeps the report readable.
    let mut shown = BTreeSet::new();
    let examples: Vec<&String> = failures
        .iter()
        .filter(|f| shown.insert(f.split(' ').next().unwrap_or("").to_owned()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} disagreements in {} classes, one example each:\n{}",
        failures.len(),
        examples.len(),
        examples
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The same request with every header valid, to prove a request-level case changes one.
fn valid_like(h: &RequestHeaders) -> RequestHeaders {
    RequestHeaders {
        content_type: Some("application/json".into()),
        authorization: Authorization::Valid {
            scheme: "Bearer".into(),
        },
        path: if h.path == PathKind::OtherUser {
            PathKind::Me
        } else {
            h.path
        },
    }
}

#[test]
fn request_level_cases_change_exactly_their_header() {
    let mut g = Generator::new(9);
    for defect in Defect::all()
        .into_iter()
        .filter(|d| d.layer() == Layer::Request)
    {
        for _ in 0..20 {
            let case = g.malformed_of(defect).unwrap();
            let h = &case.headers;
            let ct_ok = h.content_type.as_deref().is_some_and(accepts_content_type);
            let auth_ok = matches!(h.authorization, Authorization::Valid { .. });
            let path_ok = h.path != PathKind::OtherUser;
            let broken: Vec<&str> = [
                (!ct_ok, "content-type"),
                (!auth_ok, "authorization"),
                (!path_ok, "path"),
            ]
            .into_iter()
            .filter_map(|(b, n)| b.then_some(n))
            .collect();
            let expected = match case.expected.status() {
                415 => "content-type",
                401 => "authorization",
                403 => "path",
                s => panic!("{defect}: status {s}"),
            };
            assert_eq!(broken, [expected], "{defect}: {h:?}");
        }
    }
}

#[test]
fn valid_headers_are_valid() {
    let mut rng = Rng::new(4);
    for _ in 0..500 {
        let h = RequestHeaders::valid(&mut rng);
        assert!(
            h.content_type.as_deref().is_some_and(accepts_content_type),
            "{h:?}"
        );
        assert!(
            matches!(&h.authorization, Authorization::Valid { scheme } if scheme.eq_ignore_ascii_case("bearer"))
        );
        assert_ne!(h.path, PathKind::OtherUser);
    }
}

#[test]
fn property_defects_keep_the_body_readable_json() {
    let profile = Profile::seed();
    for defect in Defect::all() {
        let mut rng = Rng::new(5);
        let base = valid::device(profile, &mut rng);
        let case = malformed(profile, &base, defect, &mut rng).unwrap();
        if let Some(rule) = &case.expected.rule
            && rule.id().starts_with("property.")
        {
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&case.bytes);
            assert!(
                parsed.is_ok(),
                "{defect}: {}",
                String::from_utf8_lossy(&case.bytes)
            );
        }
    }
}

#[test]
fn every_class_has_a_name_a_description_and_round_trips_its_name() {
    let all = Defect::all();
    assert!(all.len() >= 60, "{} classes", all.len());
    let names: BTreeSet<String> = all.iter().map(|d| d.class()).collect();
    assert_eq!(names.len(), all.len(), "class names are unique");
    for d in all {
        assert!(!d.class().is_empty() && !d.describe().is_empty(), "{d:?}");
        assert_eq!(Defect::from_class(&d.class()), Some(d));
    }
}

#[test]
fn fast_generator_is_deterministic() {
    let (mut a, mut b, mut c) = (Generator::new(7), Generator::new(7), Generator::new(8));
    for _ in 0..200 {
        let (va, vb, vc) = (a.valid(), b.valid(), c.valid());
        assert_eq!(va, vb);
        let _ = vc;
        let (ma, mb) = (a.malformed(), b.malformed());
        assert_eq!((ma.bytes, ma.defect), (mb.bytes, mb.defect));
        assert_eq!(a.valid_request().1, b.valid_request().1);
    }
    assert_ne!(Generator::new(7).valid(), Generator::new(8).valid());
}

#[test]
fn fast_generator_valid_payloads_parse_to_their_device() {
    let profile = Profile::seed();
    let mut g = Generator::new(11);
    for _ in 0..2000 {
        let (device, bytes, _) = g.valid_request();
        assert_eq!(
            from_bytes(&bytes).as_ref(),
            Ok(&device),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(from_bytes(&to_vec(&device)).as_ref(), Ok(&device));
        let simplest = render(profile, &device, &mut Replay::new(&[]));
        assert_eq!(
            simplest,
            to_vec(&device),
            "choice 0 everywhere is the compact form"
        );
    }
}

#[test]
fn malformed_weights_are_honoured() {
    let only = vec![(Defect::Bom, 1), (Defect::Truncated, 0)];
    let mut g = Generator::new(3).with_weights(only);
    for _ in 0..50 {
        assert_eq!(g.malformed().defect, Defect::Bom);
    }
    let mut g = Generator::new(3);
    let seen: BTreeSet<String> = (0..3000).map(|_| g.malformed().defect.class()).collect();
    assert!(
        seen.len() >= 55,
        "default weights reach {} classes",
        seen.len()
    );
    assert!(
        !seen.contains("body-too-large"),
        "4 MiB cases only when asked for"
    );
    for _ in 0..200 {
        assert_eq!(g.malformed_body().defect.layer(), Layer::Body);
    }
}

/// The valid generator reaches every edge the contract has.
#[test]
fn valid_generator_reaches_the_edges() {
    let profile = Profile::seed();
    let mut rng = Rng::new(2026);
    let mut seen = BTreeSet::new();
    let mut note = |s: &str| {
        seen.insert(s.to_owned());
    };
    for _ in 0..4000 {
        let d = valid::device(profile, &mut rng);
        if d.annotation("@odata.type").is_some() {
            note("odata-type");
        }
        if d.id(profile).is_some() {
            note("client-id");
        } else {
            note("no-id");
        }
        for (def, v) in profile.properties().iter().zip(&d.properties) {
            let Some(v) = v else { continue };
            if *v == Value::Null {
                note(&format!("null:{}", def.name));
            }
            visit(v, def.max_utf16, &mut note);
        }
    }
    let mut missing: Vec<String> = Vec::new();
    let mut want: Vec<String> = [
        "int32:min",
        "int32:max",
        "int32:0",
        "int32:-1",
        "string:empty",
        "string:nul",
        "string:astral",
        "string:combining",
        "string:bidi",
        "string:noncharacter",
        "string:at-limit",
        "string:at-limit-astral",
        "dto:fraction-0",
        "dto:fraction-12",
        "dto:+14:00",
        "dto:-14:00",
        "dto:Z",
        "dto:leap-day",
        "dto:year-0001",
        "dto:year-9999",
        "binary:empty",
        "binary:url-safe",
        "binary:standard",
        "binary:padded",
        "binary:unpadded",
        "collection:empty",
        "collection:large",
        "odata-type",
        "client-id",
        "no-id",
        "bool:true",
        "bool:false",
    ]
    .map(str::to_owned)
    .to_vec();
    for def in profile.properties().iter().filter(|d| d.nullable) {
        want.push(format!("null:{}", def.name));
    }
    for w in want {
        if !seen.contains(&w) {
            missing.push(w);
        }
    }
    assert!(missing.is_empty(), "edges never generated: {missing:?}");
}

fn visit_len(len: usize, note: &mut impl FnMut(&str)) {
    if len == 0 {
        note("collection:empty");
    }
    if len >= 20 {
        note("collection:large");
    }
}

fn visit(v: &Value, max: Option<usize>, note: &mut impl FnMut(&str)) {
    match v {
        Value::Int32(i32::MIN) => note("int32:min"),
        Value::Int32(i32::MAX) => note("int32:max"),
        Value::Int32(0) => note("int32:0"),
        Value::Int32(-1) => note("int32:-1"),
        Value::Boolean(b) => note(if *b { "bool:true" } else { "bool:false" }),
        Value::String(s) => {
            if s.is_empty() {
                note("string:empty");
            }
            if s.contains('\0') {
                note("string:nul");
            }
            if s.chars().any(|c| c as u32 > 0xffff) {
                note("string:astral");
            }
            if s.contains('\u{301}') {
                note("string:combining");
            }
            if s.contains('\u{202e}') || s.contains('\u{200f}') {
                note("string:bidi");
            }
            if s.contains('\u{fffe}') || s.contains('\u{ffff}') || s.contains('\u{fdd0}') {
                note("string:noncharacter");
            }
            if max == Some(s.encode_utf16().count()) {
                note("string:at-limit");
                if s.chars().any(|c| c as u32 > 0xffff) {
                    note("string:at-limit-astral");
                }
            }
        }
        Value::DateTimeOffset(t) => {
            let f = t.fields();
            note(&format!("dto:fraction-{}", f.fraction_digits));
            match f.offset_minutes {
                None => note("dto:Z"),
                Some(840) => note("dto:+14:00"),
                Some(-840) => note("dto:-14:00"),
                _ => {}
            }
            if (f.month, f.day) == (2, 29) {
                note("dto:leap-day");
            }
            note(&format!("dto:year-{:04}", f.year));
        }
        Value::Binary(b) => {
            let s = b.as_str();
            if s.is_empty() {
                note("binary:empty");
            }
            if s.contains(['-', '_']) {
                note("binary:url-safe");
            }
            if s.contains(['+', '/']) {
                note("binary:standard");
            }
            note(if s.ends_with('=') {
                "binary:padded"
            } else {
                "binary:unpadded"
            });
        }
        Value::Collection(items) => {
            visit_len(items.len(), note);
            for i in items {
                visit(i, max, note);
            }
        }
        Value::Strings(items) => {
            visit_len(items.len(), note);
            for s in items {
                visit(&Value::String(s.into()), max, note);
            }
        }
        Value::Complex(c) => {
            for m in c.members.iter().flatten() {
                visit(m, None, note);
            }
        }
        Value::Null | Value::Guid(_) | Value::Int32(_) => {}
    }
}

#[test]
fn the_table_drives_the_wrong_type_classes() {
    // Each Edm type of the seed table has its wrong-type class.
    let profile = Profile::seed();
    let types: BTreeSet<String> = profile
        .properties()
        .iter()
        .chain(
            profile
                .complex_types()
                .iter()
                .flat_map(|c| c.members.iter()),
        )
        .filter_map(|d| match d.base {
            Base::Primitive(e) if !d.collection => Some(e),
            _ => None,
        })
        .map(|e: Edm| e.name().trim_start_matches("Edm.").to_ascii_lowercase())
        .collect();
    for t in types {
        let class = format!(
            "wrong-type-{}",
            if t == "datetimeoffset" {
                "datetime".into()
            } else {
                t
            }
        );
        assert!(Defect::from_class(&class).is_some(), "{class}");
    }
    let _ = Category::Syntax;
}

/// The fast paths make the same choices as the model builders: same state, same bytes.
#[test]
fn fast_paths_equal_the_model_paths() {
    use devices_harness::generate::malformed::malformed_generated;
    let profile = Profile::seed();
    for seed in 0..300 {
        let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
        let mut out = Vec::new();
        valid::write_device(profile, &mut a, &mut out, &mut String::new());
        assert_eq!(out, to_vec(&valid::device(profile, &mut b)), "seed {seed}");
        for defect in Defect::all() {
            if defect == Defect::BodyTooLarge && seed > 3 {
                continue;
            }
            let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
            let fast = malformed_generated(profile, defect, &mut a, &mut String::new());
            let base = valid::device(profile, &mut b);
            let model = malformed(profile, &base, defect, &mut b);
            assert_eq!(fast, model, "seed {seed} {defect}");
        }
    }
}

mod strategies {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The malformed strategy agrees with the parser too (and shrinks with it).
        #[test]
        fn malformed_strategy_cases_get_their_rule(case in devices_harness::generate::malformed::strategy(Profile::seed())) {
            let verdict = from_bytes(&case.bytes);
            match case.defect.layer() {
                Layer::Body => {
                    let rule = verdict.err().map(|e| e.kind.rule());
                    prop_assert_eq!(rule, case.expected.rule, "{}", case.description);
                }
                _ => prop_assert!(verdict.is_ok()),
            }
        }
    }
}

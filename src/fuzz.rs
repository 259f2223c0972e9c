//! The bodies of the fuzz targets in `fuzz/`, kept in the library so that `cargo test`
//! replays the checked-in corpus and regressions through the very same code on stable.
//! Each returns what broke (for the fuzzer to panic on, or a test to report).
//!
//! | target | checks |
//! |---|---|
//! | [`parse_bytes`] | any bytes: no panic; an accepted device round-trips and serializes to a fixpoint |
//! | [`parse_differential`] | our "readable JSON" verdict equals `serde_json`'s, but for documented differences |
//! | [`roundtrip_structured`] | an `Arbitrary` device serializes and parses back equal, in any spelling |
//! | [`malformed_agreement`] | an `Arbitrary` (device, defect) is rejected with exactly that defect's rule |
//! | [`server_request`] | an `Arbitrary` HTTP request to the reference server: never a 5xx; a 201 reads back |
//!
//! [`mutate_json`] is the JSON-aware mutation of the parse targets' custom mutator.

use crate::error::{Category, ErrorKind};
use crate::{from_bytes, to_vec};

/// `parse_bytes`: any bytes into [`from_bytes`]. Never panics; when the bytes are a
/// device, serializing and parsing again gives the same device, and serialization is a
/// fixpoint.
pub fn parse_bytes(data: &[u8]) -> Result<(), String> {
    let Ok(device) = from_bytes(data) else {
        return Ok(());
    };
    let bytes = to_vec(&device);
    let again = from_bytes(&bytes).map_err(|e| {
        format!(
            "serialized device does not parse: {e}: {}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    if again != device {
        return Err(format!(
            "round-trip changed the device:\n  first:  {device:?}\n  second: {again:?}"
        ));
    }
    let twice = to_vec(&again);
    if twice != bytes {
        return Err(format!(
            "serialization is not a fixpoint:\n  {}\n  {}",
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&twice)
        ));
    }
    Ok(())
}

/// `parse_differential`: is this readable JSON? Our answer (no syntax-category error)
/// against `serde_json::from_slice::<Value>`. The documented, deliberate differences:
///
/// - nesting of 65 to 128 levels: we reject it (`json.structure.depth`), serde_json's
///   recursion limit is 128;
/// - numbers outside the `f64` range (`1e400`): JSON's grammar allows them and so do we;
///   serde_json (without `arbitrary_precision`) rejects them.
///
/// Duplicate members, lone surrogates, a BOM and non-objects get the same readability
/// verdict from both (duplicates and non-objects are readable but not devices).
pub fn parse_differential(data: &[u8]) -> Result<(), String> {
    let ours = from_bytes(data);
    let ours_readable = !matches!(&ours, Err(e) if e.category() == Category::Syntax);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (ours_readable, &theirs) {
        (true, Ok(_)) | (false, Err(_)) => Ok(()),
        (false, Ok(_)) => match &ours {
            Err(e) if matches!(e.kind, ErrorKind::TooDeep { .. }) => Ok(()),
            Err(e) => Err(format!("we call readable JSON unreadable: {e}")),
            Ok(_) => Ok(()),
        },
        (true, Err(e)) if e.to_string().contains("number out of range") => Ok(()),
        (true, Err(e)) => Err(format!("we read JSON that serde_json rejects ({e})")),
    }
}

/// `roundtrip_structured`: an `Arbitrary` device serializes and parses back equal,
/// compactly and in an arbitrary spelling.
#[cfg(feature = "arbitrary")]
pub fn roundtrip_structured(data: &[u8]) -> Result<(), String> {
    use arbitrary::{Arbitrary, Unstructured};

    use crate::Profile;
    use crate::generate::render::render;
    let mut u = Unstructured::new(data);
    let Ok(device) = crate::Device::arbitrary(&mut u) else {
        return Ok(());
    };
    let compact = to_vec(&device);
    let parsed = from_bytes(&compact).map_err(|e| format!("compact form rejected: {e}"))?;
    if parsed != device {
        return Err(format!("compact round-trip changed {device:?}"));
    }
    let spelled = render(Profile::seed(), &device, &mut u);
    let parsed = from_bytes(&spelled).map_err(|e| {
        format!(
            "spelling rejected: {e}: {}",
            String::from_utf8_lossy(&spelled)
        )
    })?;
    if parsed != device {
        return Err(format!(
            "spelling changed the device: {}",
            String::from_utf8_lossy(&spelled)
        ));
    }
    Ok(())
}

/// `malformed_agreement`: an `Arbitrary` (valid device, defect) made malformed is rejected
/// with exactly the defect's rule and pointer; size and header defects keep a valid body.
#[cfg(feature = "arbitrary")]
pub fn malformed_agreement(data: &[u8]) -> Result<(), String> {
    use arbitrary::{Arbitrary, Unstructured};

    use crate::Profile;
    use crate::generate::malformed::{Defect, Layer, malformed};
    let mut u = Unstructured::new(data);
    let Ok((device, defect)) = <(crate::Device, Defect)>::arbitrary(&mut u) else {
        return Ok(());
    };
    let Some(case) = malformed(Profile::seed(), &device, defect, &mut u) else {
        return Err(format!("{defect} does not apply to the seed profile"));
    };
    let verdict = from_bytes(&case.bytes);
    let agrees = match defect.layer() {
        Layer::Body => match &verdict {
            Err(e) => {
                Some(e.kind.rule()) == case.expected.rule
                    && (case.expected.pointer.is_none() || e.pointer == case.expected.pointer)
            }
            Ok(_) => false,
        },
        Layer::Size | Layer::Request => verdict.is_ok(),
    };
    if agrees {
        Ok(())
    } else {
        Err(format!(
            "{defect} ({}): expected {:?} at {:?}, parser said {:?}",
            case.description,
            case.expected.rule,
            case.expected.pointer,
            verdict.err().map(|e| (e.kind.rule(), e.pointer))
        ))
    }
}

/// `server_request`: an `Arbitrary` HTTP request (method, path, headers, body) to the
/// reference server's router, in-process over an in-memory store: never a 5xx; a 201 is
/// followed by a GET that returns the same bytes.
#[cfg(feature = "arbitrary")]
pub fn server_request(data: &[u8]) -> Result<(), String> {
    server_fuzz::run(data)
}

#[cfg(feature = "arbitrary")]
mod server_fuzz {
    use std::net::SocketAddr;
    use std::sync::OnceLock;

    use arbitrary::Unstructured;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::generate::Source;
    use crate::generate::fast::Generator;
    use crate::server::{self, AppState, Config, Storage, Store, User};

    struct World {
        runtime: tokio::runtime::Runtime,
        app: axum::Router,
        users: Vec<User>,
    }

    fn world() -> Option<&'static World> {
        static WORLD: OnceLock<Option<World>> = OnceLock::new();
        WORLD
            .get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
                config.users = User::demo(7);
                let (store, _thread) = Store::open(&Storage::Memory).ok()?;
                let users = config.users.clone();
                let app = server::app(AppState::new(&config, store));
                Some(World {
                    runtime,
                    app,
                    users,
                })
            })
            .as_ref()
    }

    fn pick<'a>(u: &mut Unstructured<'_>, options: &[&'a str]) -> &'a str {
        options[u.below(options.len() as u64) as usize]
    }

    fn text(u: &mut Unstructured<'_>, max: usize) -> String {
        let len = u.below(max as u64 + 1) as usize;
        (0..len)
            .map(|_| char::from(b' ' + u.below(95) as u8))
            .collect()
    }

    pub fn run(data: &[u8]) -> Result<(), String> {
        let Some(w) = world() else {
            return Err("cannot start the in-process server".into());
        };
        let mut u = Unstructured::new(data);
        let me = &w.users[0];
        let other = &w.users[1];
        let method = pick(
            &mut u,
            &[
                "POST", "GET", "DELETE", "PUT", "PATCH", "OPTIONS", "TRACE", "HEAD", "FOO",
            ],
        );
        let id = "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3";
        let path = match u.below(7) {
            0 => "/me/devices".to_owned(),
            1 => format!("/users/{}/devices", me.id),
            2 => format!("/users/{}/devices", other.id),
            3 => format!("/me/devices/{id}"),
            4 => format!("/me/devices?$top={}", text(&mut u, 6)),
            5 => format!(
                "/users/{}/devices/{}",
                text(&mut u, 40).replace(['?', '#', ' ', '%'], ""),
                text(&mut u, 40).replace(['?', '#', ' ', '%'], "")
            ),
            _ => format!("/{}", text(&mut u, 30).replace(['?', '#', ' ', '%'], "")),
        };
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?)
            .uri(&path);
        let authorization = match u.below(5) {
            0 => None,
            1 => Some(format!("Bearer {}", text(&mut u, 20))),
            2 => Some(format!("bearer {}", other.token)),
            _ => Some(format!("Bearer {}", me.token)),
        };
        if let Some(a) = &authorization {
            req = req.header("authorization", a);
        }
        req = match u.below(4) {
            0 => req,
            1 => req.header("content-type", text(&mut u, 40)),
            _ => req.header("content-type", "application/json"),
        };
        if u.below(4) == 0 {
            req = req.header("client-request-id", text(&mut u, 60));
        }
        let mut g = Generator::new(u.below(u64::MAX));
        let body = match u.below(4) {
            0 => g.valid(),
            1 => g.malformed_body().bytes,
            _ => u.bytes(u.len()).unwrap_or_default().to_vec(),
        };
        let Ok(req) = req.body(Body::from(body)) else {
            return Ok(());
        };
        // The read-back goes with the credentials that created.
        let token = authorization.unwrap_or_default();
        w.runtime.block_on(async {
            let res = w
                .app
                .clone()
                .oneshot(req)
                .await
                .map_err(|e| e.to_string())?;
            let status = res.status();
            if status.is_server_error() {
                return Err(format!("{method} {path} -> {status}"));
            }
            let location = res
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let created = res
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if status == 201 {
                let location = location.ok_or("201 without Location")?;
                let get = Request::get(location.as_str())
                    .header("authorization", &token)
                    .body(Body::empty())
                    .map_err(|e| e.to_string())?;
                let res = w
                    .app
                    .clone()
                    .oneshot(get)
                    .await
                    .map_err(|e| e.to_string())?;
                if res.status() != 200 {
                    return Err(format!("201 at {location}, then GET -> {}", res.status()));
                }
                let got = res
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                if got != created {
                    return Err(format!("GET {location} differs from the 201 body"));
                }
            }
            Ok(())
        })
    }
}

/// A JSON-aware mutation for the parse targets' custom mutator: parse `data` as JSON,
/// change one thing the contract cares about (a key, a value, a type, the nesting),
/// serialize again. `None` when `data` is not JSON (the fuzzer then mutates bytes).
/// Deterministic for a given `seed`.
pub fn mutate_json(data: &[u8], seed: u64) -> Option<Vec<u8>> {
    use serde_json::Value;

    use crate::Profile;
    use crate::generate::{Rng, Source};
    let mut value: Value = serde_json::from_slice(data).ok()?;
    let mut rng = Rng::new(seed);
    let names: Vec<&str> = Profile::seed()
        .properties()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    const VALUES: &[&str] = &[
        "null",
        "true",
        "0",
        "-0",
        "2147483647",
        "2147483648",
        "-2147483649",
        "1e1",
        "13.0",
        "\"\"",
        "\"2016-12-31T23:58:36.0226893+03:00\"",
        "\"2016-12-31T23:59:60Z\"",
        "\"9999-12-31T23:59:59.999999999999-14:00\"",
        "\"2016-12-31T23:58:36+14:01\"",
        "\"a2V5\"",
        "\"a2V5=\"",
        "\"-_8\"",
        "\"\\u0000\"",
        "[]",
        "{}",
        "[null]",
        "\"#microsoft.graph.device\"",
        "\"c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3\"",
    ];
    // Walk to a random container (as a JSON pointer), then change one of its members or
    // elements.
    let mut pointer = String::new();
    {
        let mut node = &value;
        for _ in 0..rng.below(4) {
            let (segment, next) = match node {
                Value::Object(m) if !m.is_empty() => {
                    let k = rng.below(m.len() as u64) as usize;
                    match m.iter().nth(k) {
                        Some((key, v)) => (key.replace('~', "~0").replace('/', "~1"), v),
                        None => break,
                    }
                }
                Value::Array(a) if !a.is_empty() => {
                    let k = rng.below(a.len() as u64) as usize;
                    match a.get(k) {
                        Some(v) => (k.to_string(), v),
                        None => break,
                    }
                }
                _ => break,
            };
            if !(next.is_object() || next.is_array()) {
                break;
            }
            pointer.push('/');
            pointer.push_str(&segment);
            node = next;
        }
    }
    let node = value.pointer_mut(&pointer)?;
    let fresh: Value =
        serde_json::from_str(VALUES[rng.below(VALUES.len() as u64) as usize]).ok()?;
    match node {
        Value::Object(m) => match rng.below(5) {
            0 => {
                // A table name, or one in the wrong case, or an annotation.
                let name = names[rng.below(names.len() as u64) as usize];
                let key = match rng.below(3) {
                    0 => name.to_owned(),
                    1 => name.to_ascii_uppercase(),
                    _ => format!("{name}@odata.type"),
                };
                m.insert(key, fresh);
            }
            1 if !m.is_empty() => {
                let k = rng.below(m.len() as u64) as usize;
                let key = m.keys().nth(k).cloned().unwrap_or_default();
                m.remove(&key);
            }
            2 if !m.is_empty() => {
                let k = rng.below(m.len() as u64) as usize;
                if let Some(v) = m.values_mut().nth(k) {
                    *v = Value::Array(vec![v.take()]);
                }
            }
            _ => {
                let k = rng.below(m.len() as u64 + 1) as usize;
                match m.values_mut().nth(k) {
                    Some(v) => *v = fresh,
                    None => {
                        m.insert("deviceVersion".into(), fresh);
                    }
                }
            }
        },
        Value::Array(a) => match rng.below(3) {
            0 => a.push(fresh),
            1 if !a.is_empty() => {
                a.remove(rng.below(a.len() as u64) as usize);
            }
            _ => *node = Value::Array(vec![node.take()]),
        },
        other => *other = fresh,
    }
    serde_json::to_vec(&value).ok()
}

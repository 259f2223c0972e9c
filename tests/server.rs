//! The reference server against every rule and status of CONTRACT.md, in-process with
//! `tower::ServiceExt::oneshot` (and once over a real socket), on an in-memory store.
#![cfg(all(feature = "server", feature = "proptest"))]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use devices_harness::contract::MAX_BODY_BYTES;
use devices_harness::generate::fast::Generator;
use devices_harness::generate::malformed::{Defect, Layer};
use devices_harness::server::{self, AppState, Config, Storage, Store, User};
use devices_harness::{Profile, from_bytes};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SEED: &[u8] = include_bytes!("data/seed-example-request.json");

struct Fixture {
    app: Router,
    me: User,
    other: User,
}

fn fixture_with(rate_limit: Option<u32>) -> Fixture {
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.storage = Storage::Memory;
    config.rate_limit = rate_limit;
    let (store, _thread) = Store::open(&Storage::Memory).unwrap();
    let users = config.users.clone();
    Fixture {
        app: server::app(AppState::new(&config, store)),
        me: users[0].clone(),
        other: users[1].clone(),
    }
}

fn fixture() -> Fixture {
    fixture_with(None)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Answer {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET path` with this `Authorization` header.
async fn get(app: &Router, authorization: &str, path: &str) -> Answer {
    call(
        app,
        "GET",
        path,
        &[("authorization", authorization)],
        Body::empty(),
    )
    .await
}

fn auth(user: &User) -> String {
    format!("Bearer {}", user.token)
}

async fn create(f: &Fixture, path: &str, body: &[u8]) -> Answer {
    let a = auth(&f.me);
    call(
        &f.app,
        "POST",
        path,
        &[("authorization", &a), ("content-type", "application/json")],
        body.to_vec(),
    )
    .await
}

#[tokio::test]
async fn create_on_both_paths_and_read_back_exactly() {
    let f = fixture();
    let a = auth(&f.me);
    for path in [
        "/me/devices".to_owned(),
        format!("/users/{}/devices", f.me.id),
        format!("/users/{}/devices", f.me.id.to_uppercase()),
    ] {
        let created = create(&f, &path, SEED).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{path}: {:?}",
            created.body
        );
        assert_eq!(created.header("content-type"), Some("application/json"));
        let device = from_bytes(&created.body).expect("the 201 body is a device");
        let id = device
            .id(Profile::seed())
            .expect("an id")
            .as_str()
            .to_owned();
        assert_eq!(id, id.to_lowercase(), "server ids are lowercase");
        assert_eq!(created.json()["@odata.type"], "#microsoft.graph.device");
        // Every property of the request comes back with the same JSON value.
        let sent: serde_json::Value = serde_json::from_slice(SEED).unwrap();
        for (k, v) in sent.as_object().unwrap() {
            assert_eq!(&created.json()[k], v, "{k}");
        }
        let location = created.header("location").expect("Location").to_owned();
        assert!(location.ends_with(&format!("/devices/{id}")), "{location}");
        let read_path = location.trim_start_matches("http://localhost");
        for p in [
            read_path.to_owned(),
            format!("/me/devices/{id}"),
            format!("/users/{}/devices/{}", f.me.id, id.to_uppercase()),
        ] {
            let got = get(&f.app, &a, &p).await;
            assert_eq!(got.status, StatusCode::OK, "{p}");
            assert_eq!(
                got.body, created.body,
                "GET returns the stored body byte for byte"
            );
        }
    }
}

#[tokio::test]
async fn list_pages_through_every_device_once() {
    let f = fixture();
    let a = auth(&f.me);
    let mut ids = Vec::new();
    for _ in 0..7 {
        let c = create(&f, "/me/devices", SEED).await;
        ids.push(c.json()["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut next = Some("/me/devices?$top=3".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = call(
            &f.app,
            "GET",
            &path,
            &[("authorization", &a), ("host", "h")],
            Body::empty(),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let j = page.json();
        for d in j["value"].as_array().unwrap() {
            seen.push(d["id"].as_str().unwrap().to_owned());
        }
        next = j["@odata.nextLink"]
            .as_str()
            .map(|l| l.trim_start_matches("http://h").to_owned());
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
    for bad in ["0", "1000", "-1", "x", ""] {
        let r = get(&f.app, &a, &format!("/me/devices?$top={bad}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::BAD_REQUEST, "BadRequest"),
            "$top={bad}"
        );
    }
    let r = get(&f.app, &a, "/me/devices?$top=999").await;
    assert_eq!(r.status, StatusCode::OK);
    // The other user sees none of them.
    let b = auth(&f.other);
    let r = get(&f.app, &b, "/me/devices").await;
    assert_eq!(r.json()["value"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn delete_then_gone() {
    let f = fixture();
    let a = auth(&f.me);
    let id = create(&f, "/me/devices", SEED).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = call(
        &f.app,
        "DELETE",
        &format!("/me/devices/{id}"),
        &[("authorization", &a)],
        Body::empty(),
    )
    .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    for method in ["GET", "DELETE"] {
        let r = call(
            &f.app,
            method,
            &format!("/me/devices/{id}"),
            &[("authorization", &a)],
            Body::empty(),
        )
        .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn authentication_failures_are_401_with_www_authenticate_and_no_echo() {
    let f = fixture();
    let cases: [Option<String>; 6] = [
        None,
        Some("Bearer ".into()),
        Some("Bearer".into()),
        Some("Bearer not-a-real-token-xyz".into()),
        Some(format!("Basic {}", f.me.token)),
        Some(format!("Token {}", f.me.token)),
    ];
    for h in cases {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(h) = &h {
            headers.push(("authorization", h.as_str()));
        }
        for (method, path) in [
            ("POST", "/me/devices"),
            ("GET", "/me/devices"),
            ("GET", "/nope"),
        ] {
            let r = call(&f.app, method, path, &headers, SEED.to_vec()).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{h:?} {method} {path}");
            assert_eq!(r.code(), "InvalidAuthenticationToken");
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            let text = String::from_utf8_lossy(&r.body);
            assert!(
                !text.contains(&f.me.token) && !text.contains("not-a-real-token"),
                "{text}"
            );
        }
    }
    let lower = format!("bearer {}", f.me.token);
    let r = get(&f.app, &lower, "/me/devices").await;
    assert_eq!(r.status, StatusCode::OK, "the scheme is case-insensitive");
}

#[tokio::test]
async fn another_users_path_is_403_and_changes_nothing() {
    let f = fixture();
    let a = auth(&f.me);
    let b = auth(&f.other);
    let mine = create(&f, "/me/devices", SEED).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown_user = "00000000-0000-4000-8000-000000000000";
    for user in [f.other.id.as_str(), unknown_user] {
        let json = [
            ("authorization", a.as_str()),
            ("content-type", "application/json"),
        ];
        for (method, path) in [
            ("POST", format!("/users/{user}/devices")),
            ("GET", format!("/users/{user}/devices")),
            ("GET", format!("/users/{user}/devices/{mine}")),
            ("DELETE", format!("/users/{user}/devices/{mine}")),
        ] {
            let r = call(&f.app, method, &path, &json, SEED.to_vec()).await;
            assert_eq!(
                (r.status, r.code().as_str()),
                (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
                "{method} {path}"
            );
        }
    }
    let theirs = get(&f.app, &b, "/me/devices").await;
    assert_eq!(
        theirs.json()["value"].as_array().map(Vec::len),
        Some(0),
        "nothing created for them"
    );
    // Reading my device with their token, by its id: not found for them.
    let r = get(&f.app, &b, &format!("/me/devices/{mine}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn content_type_rules() {
    let f = fixture();
    let a = auth(&f.me);
    for ct in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("application/json; charset=iso-8859-1"),
        Some("application/jsonx"),
    ] {
        let mut headers = vec![("authorization", a.as_str())];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let r = call(&f.app, "POST", "/me/devices", &headers, SEED.to_vec()).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType"),
            "{ct:?}"
        );
    }
    for ct in [
        "Application/JSON; charset=UTF-8",
        "application/json;odata.metadata=minimal",
    ] {
        let r = call(
            &f.app,
            "POST",
            "/me/devices",
            &[("authorization", &a), ("content-type", ct)],
            SEED.to_vec(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}");
    }
}

/// A valid device padded with whitespace to exactly `len` bytes.
fn padded(len: usize) -> Vec<u8> {
    let mut body = vec![b' '; len - SEED.len()];
    body.extend_from_slice(SEED);
    body
}

#[tokio::test]
async fn body_limit_is_4_mib_by_length_and_by_counting() {
    let f = fixture();
    let a = auth(&f.me);
    let at_limit = create(&f, "/me/devices", &padded(MAX_BODY_BYTES)).await;
    assert_eq!(
        at_limit.status,
        StatusCode::CREATED,
        "exactly 4 MiB is accepted"
    );
    let over = create(&f, "/me/devices", &padded(MAX_BODY_BYTES + 1)).await;
    assert_eq!(
        (over.status, over.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge")
    );
    // Chunked (no Content-Length): counted as it arrives.
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..9)
        .map(|_| Ok(Bytes::from(vec![b' '; 512 * 1024])))
        .collect();
    let stream = Body::from_stream(futures_util_stream(chunks));
    let r = call(
        &f.app,
        "POST",
        "/me/devices",
        &[("authorization", &a), ("content-type", "application/json")],
        stream,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

fn futures_util_stream(
    items: Vec<Result<Bytes, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    tokio_stream::iter(items)
}

#[tokio::test]
async fn every_malformed_body_class_gets_its_status_and_code() {
    let f = fixture();
    let a = auth(&f.me);
    let mut g = Generator::new(77);
    for defect in Defect::all()
        .into_iter()
        .filter(|d| d.layer() == Layer::Body)
    {
        for _ in 0..4 {
            let case = g.malformed_of(defect).unwrap();
            let r = call(
                &f.app,
                "POST",
                "/me/devices",
                &[("authorization", &a), ("content-type", "application/json")],
                case.bytes.clone(),
            )
            .await;
            assert_eq!(
                r.status.as_u16(),
                case.expected.status(),
                "{defect}: {}",
                String::from_utf8_lossy(&r.body)
            );
            // The reference server gives the first of the allowed answers.
            let code = case.expected.primary().code.map(|c| c.as_str());
            assert_eq!(Some(r.code().as_str()), code, "{defect}");
            if code == Some("Request_BadRequest") {
                let msg = r.json()["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                assert!(
                    msg.contains("property") || msg.contains("Invalid device"),
                    "{defect}: {msg}"
                );
            }
            assert!(r.json()["error"]["innerError"]["request-id"].is_string());
        }
    }
}

#[tokio::test]
async fn client_ids_conflict_once_and_exactly_one_concurrent_winner() {
    let f = fixture();
    let body = |id: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(SEED).unwrap();
        v["id"] = id.into();
        serde_json::to_vec(&v).unwrap()
    };
    let id = "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3";
    assert_eq!(
        create(&f, "/me/devices", &body(id)).await.status,
        StatusCode::CREATED
    );
    let again = create(&f, "/me/devices", &body(&id.to_uppercase())).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue"
        )
    );
    let id2 = "d3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3";
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let app = f.app.clone();
            let a = auth(&f.me);
            let b = body(id2);
            tokio::spawn(async move {
                call(
                    &app,
                    "POST",
                    "/me/devices",
                    &[("authorization", &a), ("content-type", "application/json")],
                    b,
                )
                .await
                .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        15
    );
}

#[tokio::test]
async fn other_methods_are_405_with_allow_and_unknown_paths_404() {
    let f = fixture();
    let a = auth(&f.me);
    let id = "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3";
    let routes = [
        (
            "/me/devices".to_owned(),
            "GET, POST",
            vec!["PUT", "PATCH", "DELETE", "TRACE", "OPTIONS", "FOO"],
        ),
        (
            format!("/me/devices/{id}"),
            "GET, DELETE",
            vec!["POST", "PUT", "PATCH", "TRACE", "OPTIONS", "FOO"],
        ),
        (
            format!("/users/{}/devices", f.me.id),
            "GET, POST",
            vec!["PUT", "DELETE", "TRACE", "OPTIONS"],
        ),
        (
            format!("/users/{}/devices/{id}", f.me.id),
            "GET, DELETE",
            vec!["POST", "PUT", "PATCH", "TRACE"],
        ),
    ];
    for (path, allow, methods) in routes {
        for m in methods {
            let r = call(&f.app, m, &path, &[("authorization", &a)], Body::empty()).await;
            assert_eq!(
                (r.status, r.code().as_str()),
                (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
                "{m} {path}"
            );
            assert_eq!(r.header("allow"), Some(allow), "{m} {path}");
        }
    }
    for path in [
        "/",
        "/me",
        "/me/devices/",
        "/users",
        "/devices",
        "/me/devices/x/y",
        "/me/devices/not-a-guid",
    ] {
        let r = call(&f.app, "GET", path, &[("authorization", &a)], Body::empty()).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn request_ids_on_every_response() {
    let f = fixture();
    let a = auth(&f.me);
    let r = call(
        &f.app,
        "GET",
        "/me/devices",
        &[("authorization", &a), ("client-request-id", "my-id-1")],
        Body::empty(),
    )
    .await;
    assert_eq!(r.header("client-request-id"), Some("my-id-1"));
    let rid = r.header("request-id").unwrap();
    assert!(devices_harness::model::Guid::parse(rid).is_ok());
    let e = get(&f.app, &a, "/nope").await;
    let inner = &e.json()["error"]["innerError"];
    assert_eq!(inner["request-id"].as_str(), e.header("request-id"));
    assert_eq!(
        inner["client-request-id"].as_str(),
        e.header("request-id"),
        "set to the request-id when not sent"
    );
    assert!(
        inner["date"]
            .as_str()
            .is_some_and(|d| d.len() == 19 && &d[10..11] == "T")
    );
    let other = get(&f.app, &a, "/me/devices").await;
    assert_ne!(other.header("request-id"), Some(rid), "fresh per request");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let f = fixture_with(Some(3));
    let a = auth(&f.me);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = get(&f.app, &a, "/me/devices").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.header("retry-after"), Some("1"));
            assert_eq!(r.code(), "TooManyRequests");
        }
        statuses.push(r.status.as_u16());
    }
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 6,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn openapi_in_the_repository_is_current_and_matches_the_routes() {
    let f = fixture();
    let served = call(&f.app, "GET", "/openapi.json", &[], Body::empty()).await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = served.json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let kept = std::fs::read_to_string(&path).expect("openapi.json is in the repository");
    assert_eq!(
        kept, text,
        "openapi.json is stale: BLESS=1 cargo test --test server openapi"
    );
    // Every documented operation is routed, and every routed method is documented.
    let a = auth(&f.me);
    let id = "c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3";
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = template.replace("{usersId}", &f.me.id).replace("{id}", id);
        let documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
            .map(|k| k.to_uppercase())
            .collect();
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let r = call(
                &f.app,
                m,
                &path,
                &[("authorization", &a), ("content-type", "application/json")],
                SEED.to_vec(),
            )
            .await;
            let routed = r.status != StatusCode::METHOD_NOT_ALLOWED;
            assert_eq!(
                routed,
                documented.contains(&m.to_owned()),
                "{m} {template}: {}",
                r.status
            );
        }
    }
}

#[tokio::test]
async fn a_real_socket_on_port_0() {
    let running = server::start(Config::new(SocketAddr::from(([127, 0, 0, 1], 0))))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let token = running.users[0].token.clone();
    let created = client
        .post(format!("{}/me/devices", running.url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(SEED.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body = created.bytes().await.unwrap();
    let got = client
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap(), body);
    running.shutdown().await;
}

mod hostile {
    //! Any method, path, headers and body: never a 5xx, never a panic.
    use super::*;
    use proptest::prelude::*;

    fn request() -> impl Strategy<Value = (String, String, Vec<(String, String)>, Vec<u8>)> {
        let method = prop_oneof![
            Just("GET".to_owned()),
            Just("POST".to_owned()),
            Just("DELETE".to_owned()),
            Just("PUT".to_owned()),
            Just("OPTIONS".to_owned()),
            "[A-Z]{1,8}",
        ];
        let path = prop_oneof![
            Just("/me/devices".to_owned()),
            Just("/me/devices/c3e3b22a-b22a-c3e3-2ab2-e3c32ab2e3c3".to_owned()),
            "/me/devices\\?\\$top=[0-9a-z%$&=]{0,12}",
            "/users/[0-9a-f-]{0,40}/devices(/[0-9a-zA-Z%-]{0,40})?",
            "/[a-zA-Z0-9%._~/-]{0,40}",
        ];
        let header = prop_oneof![
            Just(("content-type".to_owned(), "application/json".to_owned())),
            (Just("content-type".to_owned()), "[ -~]{0,40}"),
            (
                Just("authorization".to_owned()),
                "(Bearer|bearer|Basic|) ?[ -~]{0,30}"
            ),
            (Just("client-request-id".to_owned()), "[ -~]{0,300}"),
            ("[a-z-]{1,12}", "[ -~]{0,20}"),
        ];
        let body = prop_oneof![
            Just(Vec::new()),
            Just(SEED.to_vec()),
            prop::collection::vec(any::<u8>(), 0..256),
            "[ -~]{0,200}".prop_map(String::into_bytes),
        ];
        (method, path, prop::collection::vec(header, 0..4), body)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn no_input_gets_a_5xx((method, path, headers, body) in request(), authed in any::<bool>()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let f = fixture();
            let a = auth(&f.me);
            let mut hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if authed {
                hs.retain(|(k, _)| *k != "authorization");
                hs.push(("authorization", a.as_str()));
            }
            let Ok(m) = Method::from_bytes(method.as_bytes()) else { return Ok(()) };
            let mut req = Request::builder().method(m).uri(path.as_str());
            for (k, v) in &hs {
                req = req.header(*k, *v);
            }
            let Ok(req) = req.body(Body::from(body)) else { return Ok(()) };
            let res = rt.block_on(f.app.clone().oneshot(req)).unwrap();
            prop_assert!(res.status().as_u16() < 500, "{} {} -> {}", method, path, res.status());
            prop_assert!(res.headers().contains_key("request-id"));
        }
    }
}

//! The `server_request` target's world: the reference server's router in process, over
//! an in-memory store, and an `Arbitrary` HTTP request to send it.

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

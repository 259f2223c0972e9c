//! The reference devices endpoint: all of CONTRACT.md over a durable SQLite store.
//!
//! [`app`] is the whole server as an axum `Router` (for in-process tests and checks);
//! [`start`] binds it to an address with header and body timeouts and graceful shutdown;
//! `devices-harness serve` runs it until Ctrl-C or SIGTERM.
//!
//! - `handlers`: the endpoints; `body`: the 4 MiB limit, draining and timeouts;
//! - `store`: SQLite with group commit; `users`: tokens; `error`: Graph-shaped errors;
//! - `openapi`: the OpenAPI 3.1 description, generated from the contract table.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::contract::Profile;
use crate::generate::Rng;
use crate::model::Guid;

pub mod body;
pub mod error;
pub mod handlers;
pub mod openapi;
pub mod store;
pub mod users;

use error::{AppError, GraphError};
pub use store::{Storage, Store};
pub use users::{User, Users};

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (port 0: any free port).
    pub addr: SocketAddr,
    /// Where devices are kept.
    pub storage: Storage,
    /// Who may call it.
    pub users: Vec<User>,
    /// Requests per second per user (none: no limit).
    pub rate_limit: Option<u32>,
    /// Longest wait for a request's headers.
    pub header_timeout: Duration,
    /// Longest wait between two chunks of a body.
    pub body_timeout: Duration,
    /// The contract it implements.
    pub profile: Profile,
}

impl Config {
    /// Loopback on `addr`, in memory, two demo users, the seed profile.
    pub fn new(addr: SocketAddr) -> Config {
        Config {
            addr,
            storage: Storage::Memory,
            users: User::demo(seed()),
            rate_limit: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            profile: Profile::seed().clone(),
        }
    }
}

/// The caller, once authenticated.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user's id (a lowercase GUID).
    pub id: String,
}

/// The ids of one request.
#[derive(Clone, Debug)]
struct RequestIds {
    request_id: String,
    client_request_id: String,
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    profile: Profile,
    users: Users,
    store: Store,
    body_timeout: Duration,
    limiter: Option<RateLimiter>,
}

impl AppState {
    /// State over an open store.
    pub fn new(config: &Config, store: Store) -> AppState {
        AppState(Arc::new(Inner {
            profile: config.profile.clone(),
            users: Users::new(config.users.clone()),
            store,
            body_timeout: config.body_timeout,
            limiter: config.rate_limit.map(RateLimiter::new),
        }))
    }

    fn profile(&self) -> &Profile {
        &self.0.profile
    }

    fn store(&self) -> &Store {
        &self.0.store
    }

    fn body_timeout(&self) -> Duration {
        self.0.body_timeout
    }
}

/// A fresh lowercase time-ordered GUID (version 7's layout: the milliseconds since the
/// epoch, then 12 random bits and 62 bits that are the counter XOR a per-process key, so
/// unique in this process whatever the clock does, and keyed by the start time and process
/// id so runs differ). Time order keeps the store's key index appending: random (version 4)
/// keys put nearly every insert on a leaf page of its own, and each such page is written
/// to the WAL at the commit.
pub fn fresh_guid() -> Guid {
    static KEY: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let key = *KEY.get_or_init(seed);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let random = Rng::new(key ^ n).next_u64() & 0xfff;
    let unique = (n ^ key) & ((1 << 62) - 1);
    Guid::from_time(millis, u128::from(random) << 64 | u128::from(unique))
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// Fixed one-second windows per user.
struct RateLimiter {
    per_second: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, user: &str) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        let w = windows.entry(user.to_owned()).or_insert((now, 0));
        if w.0 != now {
            *w = (now, 0);
        }
        w.1 += 1;
        w.1 <= self.per_second
    }
}

/// The whole server as a router, over `state`: the routes of its profile (the seed's by
/// default, CONTRACT.md section 1).
pub fn app(state: AppState) -> Router {
    use handlers::*;
    let routes = state.profile().routes().clone();
    let items = if routes.delete {
        get(get_me)
            .delete(delete_me)
            .fallback(not_allowed("GET, DELETE"))
    } else {
        get(get_me).fallback(not_allowed("GET"))
    };
    let mut router = Router::new()
        .route(
            &routes.collection,
            post(create_me)
                .get(list_me)
                .fallback(not_allowed("GET, POST")),
        )
        .route(&format!("{}/{{id}}", routes.collection), items);
    if let Some(users) = &routes.user_collection {
        let users = users.replace(crate::contract::USER_ID, "{user}");
        let user_items = if routes.delete {
            get(get_user)
                .delete(delete_user)
                .fallback(not_allowed("GET, DELETE"))
        } else {
            get(get_user).fallback(not_allowed("GET"))
        };
        router = router
            .route(
                &users,
                post(create_user)
                    .get(list_user)
                    .fallback(not_allowed("GET, POST")),
            )
            .route(&format!("{users}/{{id}}"), user_items);
    }
    router
        .route("/openapi.json", get(openapi).fallback(not_allowed("GET")))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(request_ids))
        .with_state(state)
}

/// Bearer token -> [`Caller`], or 401; then the rate limit, or 429. `/openapi.json` is
/// public.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/openapi.json" {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            let token = token.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
        });
    let Some(user) = token.and_then(|t| state.0.users.by_token(t)) else {
        return axum::response::IntoResponse::into_response(AppError::Unauthorized);
    };
    let id = user.id.clone();
    if let Some(limiter) = &state.0.limiter
        && !limiter.allow(&id)
    {
        return axum::response::IntoResponse::into_response(AppError::TooManyRequests);
    }
    req.extensions_mut().insert(Caller { id });
    next.run(req).await
}

/// Every response gets `request-id` and `client-request-id`; error responses get their
/// Graph body, with those ids and the date in `innerError`.
async fn request_ids(mut req: Request, next: Next) -> Response {
    let request_id = fresh_guid().as_str().to_owned();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .map_or_else(|| request_id.clone(), str::to_owned);
    let ids = RequestIds {
        request_id,
        client_request_id,
    };
    req.extensions_mut().insert(ids.clone());
    let mut response = next.run(req).await;
    if let Some(err) = response.extensions_mut().remove::<GraphError>() {
        let body = serde_json::json!({
            "error": {
                "code": err.code,
                "message": err.message,
                "innerError": {
                    "date": http_date_now(),
                    "request-id": ids.request_id,
                    "client-request-id": ids.client_request_id,
                }
            }
        });
        *response.body_mut() = Body::from(body.to_string());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.remove(header::CONTENT_LENGTH);
    }
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
        headers.insert("client-request-id", v);
    }
    response
}

/// The current UTC time as Graph writes `innerError.date`: `2026-12-01T13:00:00`.
fn http_date_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A server running in the background.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its users (the first two are the demo users when none were given).
    pub users: Vec<User>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    /// A durable store's thread.
    store_thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (up to 10 s), then closes the
    /// database cleanly.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
        if let Some(thread) = self.store_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Opens the store, binds `config.addr` and serves in the background.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let (store, store_thread) = Store::open(&config.storage)?;
    let state = AppState::new(&config, store);
    let router = app(state);
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    let header_timeout = config.header_timeout;
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(router.clone());
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                _ = &mut stopped => break,
            }
        }
        drop(listener);
        drop(router);
        let _ = tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await;
    });
    Ok(Running {
        addr,
        users: config.users,
        stop: Some(stop),
        task,
        store_thread,
    })
}

/// The reference server on an ephemeral loopback port, with durable SQLite in a fresh
/// temporary directory (removed on [`Ephemeral::stop`]) and two demo users: the
/// embedded default target of `check`, `load` and `run`.
pub struct Ephemeral {
    /// The running server.
    pub running: Running,
    dir: std::path::PathBuf,
}

impl Ephemeral {
    /// Starts it for `profile`.
    pub async fn start(profile: Profile) -> anyhow::Result<Ephemeral> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("devices-harness-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.storage = Storage::File(dir.join("devices.db"));
        config.profile = profile;
        match start(config).await {
            Ok(running) => Ok(Ephemeral { running, dir }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Its two demo users.
    pub fn users(&self) -> &[User] {
        &self.running.users
    }

    /// Stops the server and removes its database.
    pub async fn stop(self) {
        self.running.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Server ids are lowercase GUIDs of version 7's layout, unique, and ordered by the
    /// millisecond they were made in (what keeps the key index appending).
    #[test]
    fn fresh_guids_are_unique_lowercase_and_time_ordered() {
        let mut seen = std::collections::HashSet::new();
        let mut last_millis = 0u64;
        let mut batches = Vec::new();
        for i in 0..20_000 {
            let g = fresh_guid();
            let s = g.as_str().to_owned();
            assert!(Guid::parse(&s).is_ok(), "{s}");
            assert_eq!(s, s.to_ascii_lowercase());
            assert_eq!(&s[14..15], "7", "version: {s}");
            assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "variant: {s}");
            let millis = u64::from_str_radix(&s[..8], 16).unwrap() << 16
                | u64::from_str_radix(&s[9..13], 16).unwrap();
            assert!(millis >= last_millis, "{s} after {last_millis}");
            last_millis = millis;
            assert!(seen.insert(s.clone()), "{s} twice");
            if i % 5_000 == 0 {
                batches.push(s);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            now - last_millis < 60_000,
            "the clock's milliseconds: {last_millis}"
        );
        let mut sorted = batches.clone();
        sorted.sort();
        assert_eq!(sorted, batches, "made later, sorted later");
    }
}

//! The goose transactions: small async functions, each named by its route template,
//! validating what comes back and marking failures with what was expected.
//!
//! - `create_me` / `create_user`: a valid device from the fast generator; 201 and a device
//!   with a GUID `id` expected; every 201 is remembered for the integrity pass;
//! - `malformed`: a malformed class picked by weight; its class's status expected (a 2xx
//!   or 5xx is a failure);
//! - `read_back`: GET of a device this user created, compared with what was sent.
//!
//! A 429 is waited out (`Retry-After`, at most 10 s) and the request sent again, up to
//! three times.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};

use goose::prelude::*;
use http::Method;

use super::client::{self, Connection, Out, Sent, settle};
use super::{Created, Shared};
use crate::contract::ClientId;
use crate::generate::fast::Generator;
use crate::generate::malformed::{Authorization, MalformedCase, PathKind};
use crate::generate::{Rng, Source, valid};
use crate::target::Oracle;
use crate::target::Response as Answer;
use crate::target::oracles::{answer_device, same_device};

/// One goose user's own state.
#[derive(Clone)]
pub(crate) struct Session {
    /// Index of this user's credentials in the shard.
    creds: usize,
    rng: Rng,
    malformed: Generator,
    scratch: String,
    /// The direct client's connection.
    connection: Connection,
    /// Recent creates, for `read_back`.
    mine: Vec<Created>,
    next_mine: usize,
}

const RECENT: usize = 256;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Registers the scenario with its weighted transactions.
pub(crate) fn scenario(shared: &Arc<Shared>) -> Result<Scenario, GooseError> {
    let w = &shared.weights;
    let mut scenario = scenario!("devices").register_transaction(
        transaction_of(shared, on_start)
            .set_name("on_start")
            .set_on_start(),
    );
    let parts: [(&str, usize, Step); 4] = [
        ("create_me", w.create_me, |u, s| {
            Box::pin(create(u, s, false))
        }),
        ("create_user", w.create_user, |u, s| {
            Box::pin(create(u, s, true))
        }),
        ("malformed", w.malformed, |u, s| Box::pin(malformed(u, s))),
        ("read_back", w.read_back, |u, s| Box::pin(read_back(u, s))),
    ];
    for (name, weight, step) in parts {
        if weight > 0 {
            scenario = scenario.register_transaction(
                transaction_of(shared, step)
                    .set_name(name)
                    .set_weight(weight)?,
            );
        }
    }
    Ok(scenario)
}

type Step = for<'a> fn(
    &'a mut GooseUser,
    Arc<Shared>,
) -> std::pin::Pin<Box<dyn Future<Output = TransactionResult> + Send + 'a>>;

fn transaction_of(shared: &Arc<Shared>, step: Step) -> Transaction {
    let shared = Arc::clone(shared);
    Transaction::new(Arc::new(move |user| step(user, Arc::clone(&shared))))
}

fn on_start<'a>(
    user: &'a mut GooseUser,
    shared: Arc<Shared>,
) -> std::pin::Pin<Box<dyn Future<Output = TransactionResult> + Send + 'a>> {
    Box::pin(async move {
        let index = user.weighted_users_index as u64;
        let seed = Rng::new(shared.seed ^ (index << 20) ^ shared.worker_index as u64).next_u64();
        user.set_session_data(Session {
            creds: user.weighted_users_index % shared.users.len().max(1),
            rng: Rng::new(seed),
            malformed: Generator::with_profile(shared.profile.clone(), seed ^ 0x5eed)
                .with_weights(shared.defect_weights.clone()),
            scratch: String::new(),
            connection: Connection::default(),
            mine: Vec::new(),
            next_mine: 0,
        });
        Ok(())
    })
}

fn session(user: &mut GooseUser) -> Result<&mut Session, Box<TransactionError>> {
    user.get_session_data_mut::<Session>().ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "no session: on_start did not run".into(),
        ))
    })
}

/// The body of a valid device drawn from `seed`, written into `out`; the client `id` is
/// left out unless `keep_id` (a body sent again must not carry one).
pub(crate) fn write_valid(
    shared: &Shared,
    seed: u64,
    keep_id: bool,
    out: &mut Vec<u8>,
    scratch: &mut String,
) {
    out.clear();
    if keep_id {
        valid::write_device(&shared.profile, &mut Rng::new(seed), out, scratch);
    } else {
        crate::ser::write_device(out, &shared.profile, &device_of(shared, seed, false));
    }
}

/// The device `seed` gives, as [`write_valid`] sent it.
pub(crate) fn device_of(shared: &Shared, seed: u64, keep_id: bool) -> crate::model::Device {
    let mut device = valid::device(&shared.profile, &mut Rng::new(seed));
    if !keep_id && let Some(slot) = device.properties.get_mut(shared.profile.key()) {
        *slot = None;
    }
    device
}

async fn create(user: &mut GooseUser, shared: Arc<Shared>, own_path: bool) -> TransactionResult {
    let s = session(user)?;
    let bearer = shared.bearer[s.creds].clone();
    let (seed, keep_id, body) = if shared.pool.is_empty() {
        // Fresh payloads: generated now, client ids kept (each seed is new).
        let seed = s.rng.next_u64();
        let keep_id = shared.profile.policies().client_id != ClientId::Reject;
        let started = Instant::now();
        let mut body = Vec::with_capacity(4096);
        write_valid(&shared, seed, keep_id, &mut body, &mut s.scratch);
        shared
            .generation_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        (seed, keep_id, Bytes::from(body))
    } else {
        let (seed, body) = &shared.pool[s.rng.below(shared.pool.len() as u64) as usize];
        (*seed, false, body.clone())
    };
    let paths = &shared.paths;
    let (path, name) = if own_path {
        (paths.own[s.creds].as_str(), paths.names[1])
    } else {
        (paths.me.as_str(), paths.names[0])
    };
    let connection = Arc::clone(&s.connection);
    let out = Out {
        method: Method::POST,
        path,
        name,
        headers: vec![(CONTENT_TYPE, JSON), (AUTHORIZATION, bearer)],
        body,
        expect: 201,
    };
    let (sent, answer) = client::send(&shared, user, &connection, &out).await?;
    let Some(r) = answer.filter(|r| r.status == 201) else {
        let why = failure(&out, answer_status(&sent));
        return settle(user, sent, false, Some(&why)).await;
    };
    let creds = session(user)?.creds;
    match created_device(&shared, creds, own_path, seed, keep_id, &r) {
        Ok(created) => {
            shared.remember(created);
            settle(user, sent, true, None).await?;
            let s = session(user)?;
            if s.mine.len() < RECENT {
                s.mine.push(created);
            } else {
                let at = s.next_mine % RECENT;
                s.mine[at] = created;
            }
            s.next_mine += 1;
            Ok(())
        }
        Err(why) => settle(user, sent, false, Some(&why)).await,
    }
}

/// The device a 201 `r` to a create by user `creds` on their own collection (`own`) or
/// the caller's made, if the answer holds one with a GUID id; the caller remembers it
/// for the integrity pass.
fn created_device(
    shared: &Shared,
    creds: usize,
    own: bool,
    seed: u64,
    keep_id: bool,
    r: &Answer,
) -> Result<Created, String> {
    let device = answer_device(Oracle::Acceptance, &shared.reading, r)
        .map_err(|v| format!("201: {}", v.seen))?;
    device
        .id(&shared.profile)
        .and_then(|id| Created::new(creds, own, seed, keep_id, id))
        .ok_or_else(|| "201 without a GUID id".to_owned())
}

async fn malformed(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    let creds_index = session(user)?.creds;
    let case = if shared.malformed_pool.is_empty() {
        let started = Instant::now();
        let case = Arc::new(session(user)?.malformed.malformed());
        shared
            .generation_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        case
    } else {
        let s = session(user)?;
        let at = s.rng.below(shared.malformed_pool.len() as u64) as usize;
        Arc::clone(&shared.malformed_pool[at])
    };
    let body = Bytes::from(case.bytes.clone());
    let (path, name, headers) = malformed_parts(&shared, &case, creds_index);
    let connection = Arc::clone(&session(user)?.connection);
    let out = Out {
        method: Method::POST,
        path: &path,
        name,
        headers,
        body,
        expect: case.expected.status(),
    };
    let (sent, answer) = client::send(&shared, user, &connection, &out).await?;
    match answer.map(|r| r.status) {
        // Every answer the contract allows for the class (403 or 404 for another
        // user's path, either 400 code where the contract leaves it open).
        Some(s) if case.expected.allows_status(s) => settle(user, sent, true, None).await,
        Some(s) => {
            let tag = format!(
                "{}: expected {}, got {s}",
                case.defect.class(),
                case.expected
            );
            settle(user, sent, false, Some(&tag)).await
        }
        None => {
            let why = failure(&out, None);
            settle(user, sent, false, Some(&why)).await
        }
    }
}

/// The path, request name and headers a malformed case is sent with, as user `creds`.
fn malformed_parts(
    shared: &Shared,
    case: &MalformedCase,
    creds: usize,
) -> (String, &'static str, Vec<(HeaderName, HeaderValue)>) {
    let paths = &shared.paths;
    let (path, name) = match case.headers.path {
        PathKind::Me => (paths.me.clone(), paths.names[2]),
        PathKind::OwnUser => (paths.own[creds].clone(), paths.names[3]),
        PathKind::OtherUser => (paths.stranger.clone(), paths.names[3]),
    };
    let mut headers = Vec::new();
    if let Some(ct) = case
        .headers
        .content_type
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.push((CONTENT_TYPE, ct));
    }
    let token = shared.users.get(creds).map_or("", |c| c.token.as_str());
    let auth = match &case.headers.authorization {
        Authorization::Valid { scheme } => Some(format!("{scheme} {token}")),
        Authorization::Missing => None,
        Authorization::Raw(raw) => Some(raw.clone()),
    };
    if let Some(a) = auth.and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.push((AUTHORIZATION, a));
    }
    (path, name, headers)
}

/// One request of the open model (`load --rate`), built from the attack's payloads as
/// the transactions build theirs.
pub(crate) struct OpenRequest {
    path: String,
    /// On the user's own collection (a create's: where it is read back).
    own: bool,
    name: &'static str,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    user: usize,
    expect: Expect,
}

enum Expect {
    /// A 201 and a device (the body regenerates from `seed`, without its client id).
    Created { seed: u64 },
    /// An answer the malformed class allows.
    Class(Arc<MalformedCase>),
}

/// A valid create as user `user`, on their own path or the collection (`pick` chooses
/// the payload and the path).
pub(crate) fn create_request(shared: &Shared, user: usize, pick: u64) -> OpenRequest {
    let (seed, body) = match shared
        .pool
        .get((pick % shared.pool.len().max(1) as u64) as usize)
    {
        Some((seed, body)) => (*seed, body.clone()),
        None => {
            let mut body = Vec::with_capacity(4096);
            write_valid(shared, pick, false, &mut body, &mut String::new());
            (pick, Bytes::from(body))
        }
    };
    let paths = &shared.paths;
    let own = (pick >> 32) & 1 == 1;
    let (path, name) = if own {
        (paths.own[user].clone(), paths.names[1])
    } else {
        (paths.me.clone(), paths.names[0])
    };
    let bearer = shared.bearer[user].clone();
    OpenRequest {
        path,
        own,
        name,
        headers: vec![(CONTENT_TYPE, JSON), (AUTHORIZATION, bearer)],
        body,
        user,
        expect: Expect::Created { seed },
    }
}

/// A malformed request as user `user` from the attack's pool (a valid create when the
/// pool is empty: `--payload-pool 0`).
pub(crate) fn malformed_request(shared: &Shared, user: usize, pick: u64) -> OpenRequest {
    let at = (pick % shared.malformed_pool.len().max(1) as u64) as usize;
    let Some(case) = shared.malformed_pool.get(at).map(Arc::clone) else {
        return create_request(shared, user, pick);
    };
    let (path, name, headers) = malformed_parts(shared, &case, user);
    OpenRequest {
        path,
        own: false,
        name,
        headers,
        body: Bytes::from(case.bytes.clone()),
        user,
        expect: Expect::Class(case),
    }
}

impl OpenRequest {
    /// The request for the direct client.
    pub(crate) fn out(&self) -> Out<'_> {
        Out {
            method: Method::POST,
            path: &self.path,
            name: self.name,
            headers: self.headers.clone(),
            body: self.body.clone(),
            expect: match &self.expect {
                Expect::Created { .. } => 201,
                Expect::Class(case) => case.expected.status(),
            },
        }
    }

    /// Whether `r` is an answer the request allows, and the device it created (for the
    /// integrity pass: the caller keeps it).
    pub(crate) fn judge(&self, shared: &Shared, r: &Answer) -> (bool, Option<Created>) {
        match &self.expect {
            Expect::Created { seed } if r.status == 201 => {
                match created_device(shared, self.user, self.own, *seed, false, r) {
                    Ok(c) => (true, Some(c)),
                    Err(_) => (false, None),
                }
            }
            Expect::Created { .. } => (false, None),
            Expect::Class(case) => (case.expected.allows_status(r.status), None),
        }
    }
}

/// Why a request that did not get what it expects failed.
fn failure(out: &Out<'_>, status: Option<u16>) -> String {
    match status {
        Some(s) => format!("{}: expected {}, got {s}", out.name, out.expect),
        None => format!("{}: no answer", out.name),
    }
}

fn answer_status(sent: &Sent) -> Option<u16> {
    match sent {
        Sent::Goose(m) => Some(m.status_code).filter(|s| *s != 0),
        Sent::Direct { status, .. } => Some(*status).filter(|s| *s != 0),
    }
}

async fn read_back(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    let s = session(user)?;
    if s.mine.is_empty() {
        return Ok(());
    }
    let pick = s.rng.below(s.mine.len() as u64) as usize;
    let created = s.mine[pick];
    let bearer = shared.bearer[s.creds].clone();
    let paths = &shared.paths;
    let path = created.read_path(paths);
    let name = if created.own {
        paths.names[5]
    } else {
        paths.names[4]
    };
    let connection = Arc::clone(&s.connection);
    let out = Out {
        method: Method::GET,
        path: &path,
        name,
        headers: vec![(AUTHORIZATION, bearer)],
        body: Bytes::new(),
        expect: 200,
    };
    let (request, answer) = client::send(&shared, user, &connection, &out).await?;
    let Some(r) = answer.filter(|r| r.status == 200) else {
        let why = failure(&out, answer_status(&request));
        return settle(user, request, false, Some(&why)).await;
    };
    let sent = device_of(&shared, created.seed, created.keep_id);
    let problems = match answer_device(Oracle::RoundTrip, &shared.reading, &r) {
        Ok(got) => same_device(&shared.profile, &sent, &got, Some(created.id())),
        Err(v) => vec![v],
    };
    match problems.first() {
        None => settle(user, request, true, None).await,
        Some(v) => {
            let tag = format!(
                "read back altered: {} expected {}, saw {}",
                v.rule, v.expected, v.seen
            );
            settle(user, request, false, Some(&tag)).await
        }
    }
}

//! The state of one run, shared by the cases and probes in flight: the target, the
//! configuration, and every request sent through the crash watch, the 429 wait and the
//! pacer, counted.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use http::Method;

use super::cleanup::Ledger;
use super::collect::Results;
use super::mirror::Mirror;
use super::{Config, probes, watch};
use crate::contract::Profile;
use crate::target::{
    Credentials, Request, Response, Target, Transport, TransportError, oracles, throttle,
};

/// The state of one run, shared by the cases and probes in flight.
pub(crate) struct Ctx {
    pub(super) target: Target,
    pub(super) config: Config,
    reading: Profile,
    ids: Mutex<HashSet<String>>,
    pub(super) results: Mutex<Results>,
    pub(super) requests: AtomicU64,
    failures_in_a_row: AtomicU32,
    dead: AtomicBool,
    pacer: Option<throttle::Pacer>,
    pub(super) watch: watch::Watch,
    /// Salts every client id this run sends, so that ids an earlier run of the same seed
    /// took are never sent again (a 409 then would be a false finding).
    pub(crate) salt: u128,
    /// The devices the run created, for the clean-up.
    pub(super) ledger: Ledger,
    /// 429s waited out, and requests still throttled after every retry.
    pub(super) retried: AtomicU64,
    pub(super) unanswered: AtomicU64,
    throttled_in_a_row: AtomicU32,
    throttled_out: AtomicBool,
    /// The reference of differential mode.
    pub(super) mirror: Option<Mirror>,
}

/// After this many transport failures in a row the target is taken for dead and no more
/// cases are sent (each would only wait out its timeout); after this many requests in a
/// row left unanswered by 429s, likewise.
const DEAD_AFTER: u32 = 16;

/// Why a check was skipped: the target throttled the request out.
pub(crate) const THROTTLED: &str = "throttled: still 429 after every retry";

impl Ctx {
    pub(super) fn new(target: Target, config: Config) -> Ctx {
        let pacer = config.throttle.rate.and_then(throttle::Pacer::new);
        let watch = watch::Watch::new(
            target.transport.clone(),
            target.spawned.clone(),
            config.concurrency,
            config.max_restarts,
        );
        let mirror = config
            .reference
            .clone()
            .filter(|_| config.differential())
            .map(|r| Mirror::new(&target, r));
        Ctx {
            reading: oracles::reading_profile(&config.profile),
            target,
            config,
            ids: Mutex::new(HashSet::new()),
            results: Mutex::new(Results::default()),
            requests: AtomicU64::new(0),
            failures_in_a_row: AtomicU32::new(0),
            dead: AtomicBool::new(false),
            pacer,
            watch,
            salt: run_salt(),
            ledger: Ledger::default(),
            retried: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            throttled_in_a_row: AtomicU32::new(0),
            throttled_out: AtomicBool::new(false),
            mirror,
        }
    }

    /// The transport (a new one after each restart of a spawned target).
    pub(crate) fn transport(&self) -> Transport {
        self.watch.transport()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn profile(&self) -> &Profile {
        &self.config.profile
    }

    pub(crate) fn reading(&self) -> &Profile {
        &self.reading
    }

    pub(crate) fn user(&self) -> &Credentials {
        &self.target.user
    }

    pub(crate) fn other(&self) -> Option<&Credentials> {
        self.target.other.as_ref()
    }

    /// Whether no more requests are worth sending: the target stopped answering, or
    /// throttles every request.
    pub(crate) fn dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
            || self.throttled_out.load(Ordering::Relaxed)
            || self.watch.gone().is_some()
    }

    /// Why the run stopped early, if it did.
    pub(crate) fn ended_early(&self) -> Option<String> {
        if let Some(why) = self.watch.gone() {
            return Some(why);
        }
        if self.dead.load(Ordering::Relaxed) {
            return Some(probes::STOPPED.to_owned());
        }
        self.throttled_out
            .load(Ordering::Relaxed)
            .then(|| "the target throttled every request".to_owned())
    }

    /// Why checks not run were skipped.
    pub(crate) fn stop_reason(&self) -> String {
        self.ended_early()
            .unwrap_or_else(|| probes::STOPPED.to_owned())
    }

    /// The tokens an answer must never echo.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut s = vec![self.target.user.token.as_str()];
        if let Some(o) = &self.target.other {
            s.push(&o.token);
        }
        s
    }

    /// `req` with the user's bearer token.
    pub(crate) fn authorized(&self, req: Request) -> Request {
        self.authorized_as(req, &self.target.user)
    }

    pub(crate) fn authorized_as(&self, req: Request, who: &Credentials) -> Request {
        req.header("authorization", &format!("Bearer {}", who.token))
    }

    /// Sends `req`, counting it and its status.
    pub(crate) async fn send(&self, req: Request) -> Result<Response, TransportError> {
        self.send_with(req, self.config.timeout).await
    }

    /// Sends `req` with `timeout` for each attempt, waiting out 429s; counts it and the
    /// status of every attempt. A failure goes to the [`watch::Watch`] first: a request
    /// that failed only because the target died is sent again after the restart; one that
    /// crashed or hung the target ends as [`TransportError::Cause`].
    pub(crate) async fn send_with(
        &self,
        req: Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let req = self.routed(req);
        // A request in flight when the target died is sent again after the restart, up
        // to three times (in a burst, several requests may each kill it); past that it
        // is a symptom of the crash.
        let mut again = 0;
        loop {
            let (gate, epoch, ticket) = self.watch.enter(&req).await;
            let transport = self.watch.transport();
            let sent = throttle::send(
                &transport,
                &req,
                timeout,
                &self.config.throttle,
                self.pacer.as_ref(),
            )
            .await;
            drop(gate);
            let verdict = match watch::is_failure(&sent.result) {
                Some(e) => Some(
                    self.watch
                        .after_failure(&req, e, epoch, timeout, self.beside())
                        .await,
                ),
                None => None,
            };
            self.watch.leave(ticket);
            let result = match verdict {
                Some(watch::After::Retry) if again < 3 => {
                    again += 1;
                    self.account(sent.throttled, None);
                    continue;
                }
                Some(watch::After::Cause(id)) => Err(TransportError::Cause(id)),
                // Retried enough, or the target is gone: a symptom of the last crash.
                Some(watch::After::Retry | watch::After::Gone) => match self.watch.last_crash() {
                    Some(id) => Err(TransportError::Cause(id)),
                    None => sent.result,
                },
                _ => sent.result,
            };
            if let Ok(r) = &result {
                self.ledger.note(self, &req, r);
            }
            self.account(sent.throttled, Some(&result));
            return result;
        }
    }

    /// The cheapest authorized read: sent beside a request suspected to hang.
    fn beside(&self) -> Request {
        self.routed(self.authorized(Request::new(Method::GET, "/me/devices?$top=1")))
    }

    /// `req` on the target's paths: the suite names requests by the seed's paths, the
    /// profile's routes say where they go ([`crate::contract::Routes::resolve`]).
    pub(crate) fn routed(&self, mut req: Request) -> Request {
        if let std::borrow::Cow::Owned(path) = self.profile().routes().resolve(&req.path) {
            req.path = path;
        }
        req
    }

    /// Counts a request (with the 429s waited out) and its final status (`None`: it is
    /// sent again).
    fn account(&self, throttled: u32, result: Option<&Result<Response, TransportError>>) {
        let attempts = u64::from(throttled);
        self.requests.fetch_add(1 + attempts, Ordering::Relaxed);
        self.retried.fetch_add(attempts, Ordering::Relaxed);
        let status = match result {
            None => "sent again after a restart".to_owned(),
            Some(Ok(r)) => {
                self.failures_in_a_row.store(0, Ordering::Relaxed);
                self.throttled_in_a_row.store(0, Ordering::Relaxed);
                r.status.to_string()
            }
            Some(Err(TransportError::Throttled(_))) => {
                self.unanswered.fetch_add(1, Ordering::Relaxed);
                if self.throttled_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= DEAD_AFTER {
                    self.throttled_out.store(true, Ordering::Relaxed);
                }
                "429".to_owned()
            }
            Some(Err(e @ TransportError::Cause(_))) => e.kind().to_owned(),
            Some(Err(e)) => {
                if self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= DEAD_AFTER {
                    self.dead.store(true, Ordering::Relaxed);
                }
                e.kind().to_owned()
            }
        };
        if let Ok(mut r) = self.results.lock() {
            if attempts > 0 {
                *r.statuses.entry("429".to_owned()).or_default() += attempts;
            }
            *r.statuses.entry(status).or_default() += 1;
        }
    }

    /// Remembers `id`; false when it was seen before in this run.
    pub(crate) fn fresh_id(&self, id: &str) -> bool {
        self.ids
            .lock()
            .map(|mut ids| ids.insert(id.to_owned()))
            .unwrap_or(true)
    }
}

/// A salt new in every run: the clock and the process id, mixed.
fn run_salt() -> u128 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut rng = crate::generate::Rng::new(nanos as u64 ^ u64::from(std::process::id()));
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

//! `check`: property-based conformance testing of any devices endpoint, over HTTP or in
//! process, against the oracles of CONTRACT.md.
//!
//! A run sends generated cases (valid devices and one-rule-broken requests, named by a
//! [`CaseId`]), then fixed probes (authentication, authorization, persistence, HTTP rules,
//! liveness after hostile inputs). Every response is judged by the [`Oracle`]s; each broken
//! rule becomes a [`Finding`] with a minimal reproducer: generated cases are shrunk
//! ([`shrink`]) and come with a `curl` line and the id that replays them.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devices_harness::check::{self, Config, Credentials, Target, Transport};
//! use devices_harness::server::{self, AppState, Storage, Store};
//!
//! // In process, with no socket: the reference server's router.
//! let config = server::Config::new("127.0.0.1:0".parse()?);
//! let (store, _thread) = Store::open(&Storage::Memory)?;
//! let users = config.users.clone();
//! let router = server::app(AppState::new(&config, store));
//! let target = Target {
//!     transport: Transport::service(router),
//!     user: Credentials::new(&users[0].token, &users[0].id),
//!     other: Some(Credentials::new(&users[1].token, &users[1].id)),
//!     embedded: false,
//!     spawned: None,
//! };
//! let report = check::run(&target, &Config::default()).await?;
//! assert_eq!(report.errors(), 0, "{}", report.summary());
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http::Method;

mod cases;
pub mod causes;
pub(crate) mod oracles;
mod probes;
mod report;
pub mod shrink;
pub mod spawn;
pub mod throttle;
pub(crate) mod transport;
mod watch;

pub use cases::{Case, CaseId, CaseKind, FUZZ_BASE};
pub use oracles::{Oracle, Violation};
pub use report::{
    Counts, EndpointCounts, Finding, OracleReport, Report, Reproducer, Throttling, junit_document,
    plural, xml,
};
pub use throttle::Throttle;
pub use transport::{Body, Request, Response, Service, Transport, TransportError};

use crate::contract::{Level, Profile};
use crate::generate::malformed::{Authorization, Defect, PathKind};
use crate::model::Guid;

/// How a run goes.
#[derive(Clone, Debug)]
pub struct Config {
    /// The contract the target is held to.
    pub profile: Profile,
    /// Generated cases (half valid, half malformed).
    pub cases: u64,
    /// The run's seed: the same seed sends the same cases.
    pub seed: u64,
    /// Cases in flight at once.
    pub concurrency: usize,
    /// Longest wait for one whole exchange.
    pub timeout: Duration,
    /// Run only this case (and shrink it when it fails); no probes.
    pub replay: Option<CaseId>,
    /// Candidates the shrinker may try per finding.
    pub shrink_budget: usize,
    /// Findings that get shrunk (the first of each kind, in the order found).
    pub shrink_findings: usize,
    /// The most time all shrinking together may take (a target that hangs would
    /// otherwise make every candidate wait out its timeout).
    pub shrink_time: Duration,
    /// Skip the probes that send 4 MiB bodies and trickle bodies (for quick runs).
    pub quick: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Stop sending generated cases after this long, however many are left.
    pub case_time: Option<Duration>,
    /// After the probes, a fuzz phase of this long: malformed and mutated cases at
    /// volume, with a liveness probe between bursts.
    pub fuzz_time: Option<Duration>,
    /// How 429s are waited out, and the client-side rate.
    pub throttle: Throttle,
    /// How many times a spawned target may be restarted after crashes.
    pub max_restarts: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::seed().clone(),
            cases: 1000,
            seed: 1,
            concurrency: 8,
            timeout: Duration::from_secs(10),
            replay: None,
            shrink_budget: 200,
            shrink_findings: 16,
            shrink_time: Duration::from_secs(60),
            quick: false,
            progress: false,
            case_time: None,
            fuzz_time: None,
            throttle: Throttle::default(),
            max_restarts: 20,
        }
    }
}

/// A user's credentials on the target.
#[derive(Clone)]
pub struct Credentials {
    /// The bearer token.
    pub token: String,
    /// The user's id (what `/users/{id}` takes).
    pub user_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ user_id: {}, token: ... }}", self.user_id)
    }
}

impl Credentials {
    /// Token and user id.
    pub fn new(token: &str, user_id: &str) -> Credentials {
        Credentials {
            token: token.to_owned(),
            user_id: user_id.to_owned(),
        }
    }
}

/// What to check: where, and as whom.
#[derive(Clone, Debug)]
pub struct Target {
    /// How requests get there.
    pub transport: Transport,
    /// The user the checks run as.
    pub user: Credentials,
    /// A second user, for the cross-user (authorization) checks; without one they are
    /// skipped, not passed.
    pub other: Option<Credentials>,
    /// Whether this is the embedded reference server (reports then say so, and replay
    /// lines need no `--target`).
    pub embedded: bool,
    /// The target process, when the harness started it (`--spawn`): then a crash is
    /// seen, attributed and followed by a restart.
    pub spawned: Option<std::sync::Arc<spawn::Spawned>>,
}

impl Target {
    /// The embedded reference server over HTTP, as its first demo user, with the second
    /// for the cross-user checks.
    pub fn embedded(
        server: &crate::server::Ephemeral,
        connections: usize,
    ) -> anyhow::Result<Target> {
        let users = server.users();
        let cred = |i: usize| users.get(i).map(|u| Credentials::new(&u.token, &u.id));
        Ok(Target {
            transport: Transport::http(&server.running.url(), connections)?,
            user: cred(0).ok_or_else(|| anyhow::anyhow!("the embedded server has no demo user"))?,
            other: cred(1),
            embedded: true,
            spawned: None,
        })
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The target did not answer the first request at all.
    #[error("the target {target} is unreachable: {error}")]
    Unreachable {
        /// The base URL.
        target: String,
        /// What went wrong.
        error: TransportError,
    },
}

/// Runs every check against `target`.
pub async fn run(target: &Target, config: &Config) -> Result<Report, CheckError> {
    let ctx = Ctx::new(target.clone(), config.clone());
    let started = Instant::now();
    // Reachability: anything but a refused connection will do (garbage is a finding).
    let probe = ctx.authorized(Request::new(Method::GET, "/me/devices?$top=1"));
    if let Err(error @ TransportError::Connect(_)) =
        ctx.transport().send(probe, config.timeout).await
    {
        return Err(CheckError::Unreachable {
            target: target.transport.describe(),
            error,
        });
    }
    let classes = cases::classes();
    let bar = progress_bar(config, "cases", config.cases);
    let sent = match config.replay {
        Some(id) => run_cases(&ctx, &classes, vec![id], None, &bar).await,
        None => {
            let ids = (0..config.cases).map(|index| CaseId {
                seed: config.seed,
                index,
            });
            let until = config.case_time.map(|t| started + t);
            run_cases(&ctx, &classes, ids, until, &bar).await
        }
    };
    let cases_elapsed = started.elapsed();
    bar.finish_and_clear();
    let mut fuzzed = (0, 0.0);
    if config.replay.is_none() {
        probes::run_all(&ctx).await;
        if let Some(budget) = config.fuzz_time {
            let fuzz_started = Instant::now();
            fuzzed.0 = fuzz_phase(&ctx, &classes, budget).await;
            fuzzed.1 = fuzz_started.elapsed().as_secs_f64();
        }
    }
    ctx.shrink_findings().await;
    Ok(ctx.into_report(started.elapsed(), cases_elapsed, (sent, fuzzed.0, fuzzed.1)))
}

/// Sends the generated cases `ids`, `concurrency` at a time, until `until` or the target
/// is dead; how many were sent.
async fn run_cases(
    ctx: &Ctx,
    classes: &[Defect],
    ids: impl IntoIterator<Item = CaseId>,
    until: Option<Instant>,
    bar: &indicatif::ProgressBar,
) -> u64 {
    let sent = AtomicU64::new(0);
    futures_util::stream::iter(ids)
        .take_while(|_| {
            let open = !ctx.dead() && until.is_none_or(|u| Instant::now() < u);
            std::future::ready(open)
        })
        .map(|id| {
            let sent = &sent;
            async move {
                match cases::generate(&ctx.config.profile, id, classes, ctx.salt) {
                    Some(case) => {
                        let checks = run_case(ctx, &case, id).await;
                        ctx.record_all(checks, Example::case(id, &case));
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    None => ctx.skip(
                        Oracle::Rejection,
                        "POST /me/devices",
                        "a defect class does not apply to the profile",
                    ),
                }
                bar.inc(1);
            }
        })
        .buffer_unordered(ctx.config.concurrency.max(1))
        .collect::<()>()
        .await;
    sent.into_inner()
}

/// The fuzz phase: bursts of malformed and mutated cases at volume for `budget`, with a
/// liveness probe after each burst; how many cases were sent.
async fn fuzz_phase(ctx: &Ctx, classes: &[Defect], budget: Duration) -> u64 {
    const BURST: u64 = 256;
    let until = Instant::now() + budget;
    let bar = progress_bar(&ctx.config, "fuzz", 0);
    let mut next = cases::FUZZ_BASE;
    let mut sent = 0;
    let prompt = ctx.config.timeout.min(Duration::from_secs(5));
    while Instant::now() < until && !ctx.dead() {
        let ids = (next..next + BURST).map(|index| CaseId {
            seed: ctx.config.seed,
            index,
        });
        next += BURST;
        sent += run_cases(ctx, classes, ids, Some(until), &bar).await;
        let mut rng = crate::generate::Rng::new(ctx.config.seed ^ next);
        let (req, outcome) = probes::live_probe(ctx, &mut rng, prompt).await;
        let endpoint = "POST /me/devices (after a fuzz burst)";
        let c = match outcome {
            probes::Live::Answered => check(Oracle::Liveness, endpoint, &req, Vec::new()),
            probes::Live::Throttled => Check::skipped(Oracle::Liveness, endpoint, &req, THROTTLED),
            probes::Live::Unresponsive(seen) => check(
                Oracle::Liveness,
                endpoint,
                &req,
                vec![Violation::new(
                    Oracle::Liveness,
                    "unresponsive-after-fuzz-burst",
                    format!(
                        "an answer (not a 5xx) to a valid create within {prompt:?} after a fuzz burst"
                    ),
                    seen,
                )],
            ),
        };
        ctx.record_all(vec![c], Example::probe("after a fuzz burst"));
    }
    bar.finish_and_clear();
    sent
}

fn progress_bar(config: &Config, what: &str, len: u64) -> indicatif::ProgressBar {
    if !config.progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len).filter(|n| *n > 0),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let template = if len > 0 {
        format!("check {what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}")
    } else {
        format!("check {what} {{spinner}} {{pos}} cases {{per_sec}} {{elapsed}}")
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// One judged aspect of one exchange: passed when `violations` is empty.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    oracle: Oracle,
    endpoint: String,
    violations: Vec<Violation>,
    request: Request,
    /// Why it was not made (then it is counted as skipped, never passed).
    skipped: Option<String>,
}

/// Where a finding came from, to reproduce it.
#[derive(Clone, Debug)]
pub(crate) struct Example {
    case: Option<(CaseId, CaseKind, Vec<u64>)>,
    /// What the request was (a case kind or a probe's name).
    class: String,
    /// A shell command that writes the body, for bodies too big to print.
    body_recipe: Option<String>,
}

impl Example {
    fn case(id: CaseId, case: &Case) -> Example {
        Example {
            case: Some((id, case.kind, case.choices.clone())),
            class: case.kind.name(),
            body_recipe: None,
        }
    }

    pub(crate) fn probe(name: &str) -> Example {
        Example {
            case: None,
            class: name.to_owned(),
            body_recipe: None,
        }
    }
}

/// A finding being collected: the first example kept, later ones counted.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    violation: Violation,
    endpoint: String,
    example: Example,
    request: Request,
    occurrences: u64,
    order: usize,
    shrunk: Option<shrink::Shrunk>,
}

#[derive(Default)]
struct Results {
    counts: BTreeMap<(Oracle, String), EndpointCounts>,
    findings: BTreeMap<String, Draft>,
    statuses: BTreeMap<String, u64>,
}

/// The state of one run, shared by the cases and probes in flight.
pub(crate) struct Ctx {
    target: Target,
    config: Config,
    reading: Profile,
    ids: Mutex<HashSet<String>>,
    results: Mutex<Results>,
    requests: AtomicU64,
    failures_in_a_row: AtomicU32,
    dead: AtomicBool,
    pacer: Option<throttle::Pacer>,
    watch: watch::Watch,
    /// Salts every client id this run sends, so that ids an earlier run of the same seed
    /// took are never sent again (a 409 then would be a false finding).
    pub(crate) salt: u128,
    /// 429s waited out, and requests still throttled after every retry.
    retried: AtomicU64,
    unanswered: AtomicU64,
    throttled_in_a_row: AtomicU32,
    throttled_out: AtomicBool,
}

/// After this many transport failures in a row the target is taken for dead and no more
/// cases are sent (each would only wait out its timeout); after this many requests in a
/// row left unanswered by 429s, likewise.
const DEAD_AFTER: u32 = 16;

/// Why a check was skipped: the target throttled the request out.
pub(crate) const THROTTLED: &str = "throttled: still 429 after every retry";

impl Ctx {
    fn new(target: Target, config: Config) -> Ctx {
        let pacer = config.throttle.rate.and_then(throttle::Pacer::new);
        let watch = watch::Watch::new(
            target.transport.clone(),
            target.spawned.clone(),
            config.concurrency,
            config.max_restarts,
        );
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
            retried: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            throttled_in_a_row: AtomicU32::new(0),
            throttled_out: AtomicBool::new(false),
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
            self.account(sent.throttled, Some(&result));
            return result;
        }
    }

    /// The cheapest authorized read: sent beside a request suspected to hang.
    fn beside(&self) -> Request {
        self.authorized(Request::new(Method::GET, "/me/devices?$top=1"))
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

    /// Counts a check as skipped.
    pub(crate) fn skip(&self, oracle: Oracle, endpoint: &str, reason: &str) {
        if let Ok(mut r) = self.results.lock() {
            let c = r.counts.entry((oracle, endpoint.to_owned())).or_default();
            c.skipped += 1;
            if c.skip_reason.is_none() {
                c.skip_reason = Some(reason.to_owned());
            }
        }
    }

    /// Records checks: passes and failures per oracle and endpoint, and findings.
    pub(crate) fn record_all(&self, checks: Vec<Check>, example: Example) {
        let Ok(mut r) = self.results.lock() else {
            return;
        };
        for check in checks {
            let level = check.oracle.level(&self.config.profile);
            if let Some(why) = &check.skipped {
                let c = r
                    .counts
                    .entry((check.oracle, check.endpoint.clone()))
                    .or_default();
                c.skipped += 1;
                if c.skip_reason.is_none() {
                    c.skip_reason = Some(why.clone());
                }
                continue;
            }
            let live: Vec<Violation> = check
                .violations
                .into_iter()
                .map(|v| v.at(level))
                .filter(|v| v.level > Level::Off)
                .collect();
            if level == Level::Off {
                continue;
            }
            let counts = r
                .counts
                .entry((check.oracle, check.endpoint.clone()))
                .or_default();
            if live.is_empty() {
                counts.passed += 1;
                continue;
            }
            counts.failed += 1;
            for v in live {
                let key = signature(&v, &check.endpoint, &example.class);
                let order = r.findings.len();
                r.findings
                    .entry(key)
                    .and_modify(|d| d.occurrences += 1)
                    .or_insert_with(|| Draft {
                        violation: v,
                        endpoint: check.endpoint.clone(),
                        example: example.clone(),
                        request: check.request.clone(),
                        occurrences: 1,
                        order,
                        shrunk: None,
                    });
            }
        }
    }

    /// Shrinks the first findings from generated cases.
    async fn shrink_findings(&self) {
        let mut todo: Vec<(String, Draft)> = match self.results.lock() {
            Ok(r) => r
                .findings
                .iter()
                .filter(|(_, d)| d.example.case.is_some())
                .map(|(k, d)| (k.clone(), d.clone()))
                .collect(),
            Err(_) => return,
        };
        todo.sort_by_key(|(_, d)| d.order);
        let deadline = Instant::now() + self.config.shrink_time;
        // One shrink per cause: its other findings are the same fault.
        let mut seen = HashSet::new();
        todo.retain(|(_, d)| {
            let v = &d.violation;
            seen.insert(causes::key(v.oracle, &v.rule, &v.seen))
        });
        todo.truncate(self.config.shrink_findings);
        for (key, draft) in todo {
            let Some((id, kind, choices)) = &draft.example.case else {
                continue;
            };
            let smallest = Mutex::new(None::<Request>);
            let out = shrink::shrink(choices.clone(), self.config.shrink_budget, |c| {
                let key = &key;
                let smallest = &smallest;
                async move {
                    if self.dead() || Instant::now() >= deadline {
                        return false;
                    }
                    let Some(case) = cases::replay(&self.config.profile, *kind, &c, self.salt)
                    else {
                        return false;
                    };
                    let checks = run_case(self, &case, *id).await;
                    let hit = checks.into_iter().find_map(|check| {
                        check
                            .violations
                            .iter()
                            .any(|v| signature(v, &check.endpoint, &kind.name()) == *key)
                            .then_some(check.request)
                    });
                    match hit {
                        Some(req) => {
                            if let Ok(mut s) = smallest.lock() {
                                *s = Some(req);
                            }
                            true
                        }
                        None => false,
                    }
                }
            })
            .await;
            let request = smallest.into_inner().ok().flatten();
            if let Ok(mut r) = self.results.lock()
                && let Some(d) = r.findings.get_mut(&key)
            {
                if let Some(req) = request {
                    d.request = req;
                }
                if let Some((_, _, c)) = &mut d.example.case {
                    c.clone_from(&out.choices);
                }
                d.shrunk = Some(out);
            }
        }
    }

    fn into_report(
        self,
        elapsed: Duration,
        cases_elapsed: Duration,
        sent: (u64, u64, f64),
    ) -> Report {
        let ended_early = self.ended_early();
        let results = self.results.into_inner().unwrap_or_default();
        report::build(
            &self.target,
            &self.config,
            sent,
            results.counts,
            results.findings.into_values().collect(),
            results.statuses,
            self.requests.load(Ordering::Relaxed) + self.watch.extra_requests(),
            report::Throttling {
                retried: self.retried.load(Ordering::Relaxed),
                unanswered: self.unanswered.load(Ordering::Relaxed),
            },
            (self.watch.events(), ended_early, self.watch.restarts()),
            elapsed,
            cases_elapsed,
        )
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

/// Findings of the same rule, endpoint and input class are one finding.
fn signature(v: &Violation, endpoint: &str, class: &str) -> String {
    format!("{}|{endpoint}|{}|{class}", v.oracle, v.rule)
}

/// The HTTP request of a generated case.
fn case_request(ctx: &Ctx, case: &Case, id: CaseId) -> (Request, String) {
    let (path, endpoint) = match case.headers.path {
        PathKind::Me => ("/me/devices".to_owned(), "POST /me/devices"),
        PathKind::OwnUser => (
            format!("/users/{}/devices", ctx.user().user_id),
            "POST /users/{id}/devices",
        ),
        PathKind::OtherUser => {
            let other = match ctx.other() {
                Some(o) => o.user_id.clone(),
                None => id.rng().guid().as_str().to_owned(),
            };
            (
                format!("/users/{other}/devices"),
                "POST /users/{id}/devices",
            )
        }
    };
    let mut req = Request::new(Method::POST, path).body(case.bytes.clone());
    if let Some(ct) = &case.headers.content_type {
        req = req.header("content-type", ct);
    }
    req = match &case.headers.authorization {
        Authorization::Valid { scheme } => {
            req.header("authorization", &format!("{scheme} {}", ctx.user().token))
        }
        Authorization::Missing => req,
        Authorization::Raw(raw) => req.header("authorization", raw),
    };
    if id.index % 4 == 1 {
        let crid = Guid::from_random(u128::from(id.rng().next_u64()));
        req = req.header("client-request-id", crid.as_str());
    }
    req.tag = Some(case.kind.name());
    (req, endpoint.to_owned())
}

/// Sends one generated case and judges its answer against every answer the case allows.
async fn run_case(ctx: &Ctx, case: &Case, id: CaseId) -> Vec<Check> {
    let (req, endpoint) = case_request(ctx, case, id);
    let mut checks = Vec::new();
    let Some(resp) = exchange(ctx, &req, &endpoint, &mut checks).await else {
        if throttled(&checks) {
            checks.push(Check::skipped(case.oracle, &endpoint, &req, THROTTLED));
        }
        return checks;
    };
    let mut secrets = ctx.secrets();
    if let Authorization::Raw(raw) = &case.headers.authorization
        && let Some((_, token)) = raw.split_once(' ')
    {
        secrets.push(token.trim());
    }
    let v = oracles::judge(case.oracle, &resp, &case.expected, &secrets);
    let created = resp.status == 201 && v.is_empty();
    checks.push(check(case.oracle, &endpoint, &req, v));
    if created && let Some(device) = &case.device {
        probes::round_trip(ctx, &endpoint, &req, &resp, device, &mut checks).await;
    }
    checks
}

fn check(oracle: Oracle, endpoint: &str, req: &Request, violations: Vec<Violation>) -> Check {
    Check {
        oracle,
        endpoint: endpoint.to_owned(),
        violations,
        request: req.clone(),
        skipped: None,
    }
}

impl Check {
    /// A check that could not be made, and why.
    pub(crate) fn skipped(oracle: Oracle, endpoint: &str, req: &Request, why: &str) -> Check {
        Check {
            skipped: Some(why.to_owned()),
            ..check(oracle, endpoint, req, Vec::new())
        }
    }
}

/// Whether the request of these checks went unanswered for 429s.
pub(crate) fn throttled(checks: &[Check]) -> bool {
    checks
        .last()
        .is_some_and(|c| c.skipped.as_deref() == Some(THROTTLED))
}

/// Sends `req` and adds the checks every answer gets (server errors, request ids); the
/// response when there is one worth judging further.
pub(crate) async fn exchange(
    ctx: &Ctx,
    req: &Request,
    endpoint: &str,
    checks: &mut Vec<Check>,
) -> Option<Response> {
    match ctx.send(req.clone()).await {
        Err(TransportError::Throttled(_)) => {
            checks.push(Check::skipped(
                Oracle::ServerErrors,
                endpoint,
                req,
                THROTTLED,
            ));
            None
        }
        Err(e) => {
            checks.push(check(
                Oracle::ServerErrors,
                endpoint,
                req,
                vec![oracles::transport(&e)],
            ));
            None
        }
        Ok(resp) => {
            let fivexx: Vec<Violation> = oracles::server_error(&resp).into_iter().collect();
            let failed = !fivexx.is_empty();
            checks.push(check(Oracle::ServerErrors, endpoint, req, fivexx));
            if failed {
                return None;
            }
            let level = ctx.profile().policies().request_id_header;
            if level > Level::Off {
                let ids = oracles::request_ids(&resp, req.header_value("client-request-id"), level);
                checks.push(check(Oracle::Http, "response headers", req, ids));
            }
            Some(resp)
        }
    }
}

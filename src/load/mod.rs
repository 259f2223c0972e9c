//! `load`: goose load tests against a devices endpoint, with read-back integrity.
//!
//! A run is a goose attack (scenarios: `create_me`, `create_user`,
//! `malformed`, `read_back`, weighted), with goose's own configuration, reports and
//! thresholds; then an **integrity pass** that reads back every device that got a 201
//! (or a sample) and compares it with what was sent, regenerated from its seed, so a lost
//! or altered write fails the run however fast it was. Each run can write a
//! [`WorkerReport`]; [`merge`] combines the reports of several workers (sums counts,
//! merges the HDR latency histograms exactly, never averages percentiles). Beside goose,
//! [`open`] is the open model: requests on a fixed arrival-rate schedule.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::contract::Profile;
use crate::generate::Rng;
use crate::generate::fast::Generator;
use crate::generate::malformed::{Defect, MalformedCase};
use crate::model::Guid;
use crate::target::{Cleanup, Credentials, Transport};

mod client;
mod integrity;
pub mod metrics;
pub mod open;
mod report;
mod scenarios;
pub mod threshold;
mod timeline;

pub use client::Client;
pub use integrity::{Integrity, IntegrityReport};
pub use report::{RequestReport, WorkerReport, merge};
pub use timeline::{LATENCY_BOUNDS_US, Second, Timeline};

/// Transaction weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weights {
    /// `POST /me/devices`, valid.
    pub create_me: usize,
    /// `POST /users/{id}/devices`, valid.
    pub create_user: usize,
    /// Malformed requests.
    pub malformed: usize,
    /// `GET` of a device this user created.
    pub read_back: usize,
}

impl Weights {
    /// Weights out of 1,000 for a malformed share and a read share (each 0 to 1); the
    /// rest is split between the two create paths.
    pub fn from_ratios(malformed: f64, read: f64) -> Result<Weights, String> {
        let ok = |r: f64| (0.0..=1.0).contains(&r);
        if !ok(malformed) || !ok(read) || malformed + read > 1.0 {
            return Err(format!(
                "ratios must be in 0..=1 and add up to at most 1 (malformed {malformed}, read {read})"
            ));
        }
        let m = (malformed * 1000.0).round() as usize;
        let r = (read * 1000.0).round() as usize;
        let creates = 1000 - m - r;
        Ok(Weights {
            create_me: creates - creates / 2,
            create_user: creates / 2,
            malformed: m,
            read_back: r,
        })
    }
}

/// What a load run does besides goose's own configuration.
#[derive(Clone, Debug)]
pub struct Options {
    /// The contract payloads are generated for.
    pub profile: Profile,
    /// The seed of every user's generator.
    pub seed: u64,
    /// This worker's users (goose user `i` runs as `users[i % len]`).
    pub users: Vec<Credentials>,
    /// Transaction weights.
    pub weights: Weights,
    /// Malformed class weights (default: every class but `body-too-large`).
    pub defect_weights: Vec<(Defect, u64)>,
    /// How the integrity pass reads back.
    pub integrity: Integrity,
    /// Leave the devices the run created (by default they are deleted after the
    /// integrity pass).
    pub keep: bool,
    /// This worker's index (0-based) among `worker_count`.
    pub worker_index: usize,
    /// Workers in all.
    pub worker_count: usize,
    /// Valid payloads generated before the attack and drawn from at random during it
    /// (a quarter as many malformed ones); 0 generates every payload when it is sent.
    pub payload_pool: usize,
    /// Which client sends the requests.
    pub client: Client,
    /// Longest wait for one request (the direct client's; goose's is `--timeout`).
    pub request_timeout: Duration,
    /// Serve the counters and latency histograms in the Prometheus text format at
    /// `http://ADDR/metrics` while the attack lasts ([`metrics`]).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            profile: Profile::seed().clone(),
            seed: 1,
            users: Vec::new(),
            weights: Weights::from_ratios(0.1, 0.1).unwrap_or(Weights {
                create_me: 1,
                create_user: 1,
                malformed: 0,
                read_back: 0,
            }),
            defect_weights: Generator::default_weights(),
            integrity: Integrity::Exhaustive,
            keep: false,
            worker_index: 0,
            worker_count: 1,
            payload_pool: 4096,
            client: Client::Auto,
            request_timeout: Duration::from_secs(10),
            metrics_addr: None,
        }
    }
}

/// How many created devices a chunk of the run's list holds (229 KB).
const CHUNK: usize = 4096;

/// Created devices in order, in chunks of [`CHUNK`]: never copied whole as it grows (the
/// doubling copy of ~10^5 entries held up every request for milliseconds).
#[derive(Default)]
pub(crate) struct CreatedList(Vec<Vec<Created>>);

impl CreatedList {
    pub(crate) fn push(&mut self, c: Created) {
        match self.0.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(c),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(c);
                self.0.push(chunk);
            }
        }
    }

    /// Appends `other`'s devices after these.
    pub(crate) fn append(&mut self, other: CreatedList) {
        for c in other.0.into_iter().flatten() {
            self.push(c);
        }
    }

    fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    fn to_vec(&self) -> Vec<Created> {
        self.0.concat()
    }
}

/// A device that got a 201: whose, on which path, its id, and the seed that regenerates
/// it. Kept inline (no allocation: a run remembers every create, tens of thousands a
/// second); the path to read it is made when it is read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Created {
    /// Index of the owner's credentials.
    user: u32,
    /// Created on the owner's own collection (`/users/{id}/devices`), else the caller's.
    own: bool,
    /// Whether the body carried its client id.
    keep_id: bool,
    seed: u64,
    /// The id the target gave it, as it wrote it (a GUID is 36 ASCII characters).
    id: [u8; 36],
}

impl Created {
    /// A device created by user `user` on their own collection (`own`) or the caller's,
    /// with the GUID `id`.
    fn new(user: usize, own: bool, seed: u64, keep_id: bool, id: &Guid) -> Option<Created> {
        Some(Created {
            user: u32::try_from(user).ok()?,
            own,
            keep_id,
            seed,
            id: id.as_str().as_bytes().try_into().ok()?,
        })
    }

    fn user(&self) -> usize {
        self.user as usize
    }

    /// Its id.
    fn id(&self) -> &str {
        // Only a GUID's bytes are ever stored, and those are ASCII.
        std::str::from_utf8(&self.id).unwrap_or_default()
    }

    /// Where it is read: `{collection}/{id}`.
    fn read_path(&self, paths: &Paths) -> String {
        let collection = match paths.own.get(self.user()) {
            Some(own) if self.own => own,
            _ => &paths.me,
        };
        format!("{collection}/{}", self.id())
    }
}

/// A run's paths on the profile's routes, made once, and the names requests are reported
/// by (in the target's terms: `POST /devices` under `graph-v1`).
pub(crate) struct Paths {
    /// The caller's collection.
    me: String,
    /// Each user's own collection (the caller's collection where the profile has none).
    own: Vec<String>,
    /// A collection that is nobody's, for the other-user malformed class (generated only
    /// where the profile has per-user paths).
    stranger: String,
    /// Names: create, create on a user's path, malformed on each, read on each.
    names: [&'static str; 6],
}

/// `name` as a `&'static str` (goose's metrics and the direct client keep request names
/// so): each distinct name is leaked once per process, so memory stays bounded by the
/// routes of the profiles used.
fn intern(name: String) -> &'static str {
    static NAMES: std::sync::OnceLock<Mutex<std::collections::HashSet<&'static str>>> =
        std::sync::OnceLock::new();
    let Ok(mut names) = NAMES.get_or_init(Default::default).lock() else {
        return "request";
    };
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

impl Paths {
    fn new(routes: &crate::contract::Routes, users: &[Credentials], stranger: &str) -> Paths {
        let me = routes.collection.clone();
        let own = users
            .iter()
            .map(|u| {
                routes
                    .user_collection(&u.user_id)
                    .unwrap_or_else(|| me.clone())
            })
            .collect();
        let user = if routes.user_collection.is_some() {
            "/users/{id}/devices"
        } else {
            crate::contract::routes::ME
        };
        let me_name = crate::contract::routes::ME;
        let names = [
            intern(routes.label(me_name)),
            intern(routes.label(user)),
            intern(routes.label(&format!("{me_name} (malformed)"))),
            intern(routes.label(&format!("{user} (malformed)"))),
            intern(routes.label(&format!("{me_name}/{{id}}"))),
            intern(routes.label(&format!("{user}/{{id}}"))),
        ];
        Paths {
            stranger: routes
                .user_collection(stranger)
                .unwrap_or_else(|| me.clone()),
            me,
            own,
            names,
        }
    }
}

/// What every goose user of a run shares.
pub(crate) struct Shared {
    profile: Profile,
    reading: Profile,
    seed: u64,
    worker_index: usize,
    users: Vec<Credentials>,
    weights: Weights,
    defect_weights: Vec<(Defect, u64)>,
    /// The profile's paths, and the names requests are reported by.
    paths: Paths,
    /// Every create that got a 201, in order.
    created: Mutex<CreatedList>,
    generation_nanos: AtomicU64,
    /// `Bearer <token>` of each user, made once.
    bearer: Vec<http::HeaderValue>,
    /// Per-second figures.
    timeline: Timeline,
    /// Exact latency per request, for the report.
    latencies: report::Latencies,
    /// When the first request went out (the timeline's origin for the direct client).
    origin: std::sync::OnceLock<Instant>,
    /// The direct client's target, when it sends the requests.
    direct: Option<client::Direct>,
    /// Valid payloads made before the attack: (seed, body without client id).
    pool: Vec<(u64, Bytes)>,
    /// Malformed cases made before the attack.
    malformed_pool: Vec<Arc<MalformedCase>>,
}

impl Shared {
    /// Milliseconds since the first request.
    fn since_start(&self) -> u64 {
        self.origin.get_or_init(Instant::now).elapsed().as_millis() as u64
    }

    /// Generates `n` valid payloads and `n / 4` malformed cases, timed as generation.
    fn fill_pools(&mut self, n: usize) {
        let started = Instant::now();
        let mut rng = Rng::new(self.seed ^ 0x9001 ^ ((self.worker_index as u64) << 32));
        let mut scratch = String::new();
        let mut pool = Vec::with_capacity(n);
        for _ in 0..n {
            let seed = rng.next_u64();
            let mut body = Vec::with_capacity(4096);
            scenarios::write_valid(self, seed, false, &mut body, &mut scratch);
            pool.push((seed, Bytes::from(body)));
        }
        let mut generator = Generator::with_profile(self.profile.clone(), rng.next_u64())
            .with_weights(self.defect_weights.clone());
        self.malformed_pool = (0..n / 4)
            .map(|_| Arc::new(generator.malformed()))
            .collect();
        self.pool = pool;
        self.generation_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn remember(&self, c: Created) {
        if let Ok(mut list) = self.created.lock() {
            list.push(c);
        }
    }

    /// Remembers `more` after the devices remembered so far.
    pub(crate) fn remember_all(&self, more: CreatedList) {
        if let Ok(mut list) = self.created.lock() {
            list.append(more);
        }
    }
}

/// Devices a run created, to delete when it is over (several runs' together, for
/// `--find-max`: deleting between steps would spend the target's rate limit, or its
/// capacity, inside the next step).
pub(crate) struct Leftovers {
    host: String,
    collection: String,
    /// Id and owner's token (`None`: the owner is unknown).
    devices: Vec<(String, Option<String>)>,
}

impl Leftovers {
    /// Adds another run's devices on the same target.
    pub(crate) fn extend(&mut self, other: Leftovers) {
        self.devices.extend(other.devices);
    }

    /// Deletes them all (16 at a time), unless `keep`.
    pub(crate) async fn clean_up(self, keep: bool) -> anyhow::Result<Cleanup> {
        let total = self.devices.len() as u64;
        if keep {
            return Ok(Cleanup {
                created: total,
                left: self.devices.into_iter().map(|(id, _)| id).collect(),
                reason: (total > 0).then(|| "--keep".to_owned()),
                ..Cleanup::default()
            });
        }
        let devices = self
            .devices
            .into_iter()
            .filter_map(|(id, token)| Some((id, token?)))
            .collect();
        let transport = Transport::http(&self.host, 16)?;
        Ok(
            crate::target::cleanup::delete_all(&transport, &self.collection, devices, total, 16)
                .await,
        )
    }
}

/// What a run measured and found.
#[derive(Debug)]
pub struct Outcome {
    /// goose's metrics.
    pub metrics: GooseMetrics,
    /// The thresholds that failed (`rule: observed`), none when all passed.
    pub failed_thresholds: Vec<String>,
    /// The integrity pass.
    pub integrity: IntegrityReport,
    /// The report for `load merge`.
    pub report: WorkerReport,
    /// Per-second figures of the attack.
    pub timeline: Vec<Second>,
}

impl Outcome {
    /// Whether the run passes: thresholds held and no write was lost or altered.
    pub fn passed(&self) -> bool {
        self.failed_thresholds.is_empty() && self.integrity.clean()
    }
}

/// The scenario of a run and what it records: build it, register [`Attack::scenario`] in
/// a goose attack (the CLI's, or a goose binary of one's own, as
/// `loadtests/devices.rs` does), execute, then [`Attack::verify`].
pub struct Attack {
    shared: Arc<Shared>,
    host: String,
}

impl Attack {
    /// An attack on `host` (the base URL goose sends to) with `options`.
    pub fn new(host: &str, options: &Options) -> anyhow::Result<Attack> {
        anyhow::ensure!(
            !options.users.is_empty(),
            "a load run needs at least one user"
        );
        let mut rng = Rng::new(options.seed ^ 0x57a2);
        let stranger = rng.guid();
        let mut shared = Shared {
            reading: crate::target::oracles::reading_profile(&options.profile),
            profile: options.profile.clone(),
            seed: options.seed,
            worker_index: options.worker_index,
            users: options.users.clone(),
            weights: options.weights,
            defect_weights: options.defect_weights.clone(),
            paths: Paths::new(options.profile.routes(), &options.users, stranger.as_str()),
            created: Mutex::new(CreatedList::default()),
            generation_nanos: AtomicU64::new(0),
            bearer: options
                .users
                .iter()
                .map(|u| http::HeaderValue::from_str(&format!("Bearer {}", u.token)))
                .collect::<Result<_, _>>()?,
            timeline: Timeline::default(),
            latencies: report::Latencies::default(),
            origin: std::sync::OnceLock::new(),
            direct: match options.client {
                Client::Auto => client::Direct::for_base(host, options.request_timeout),
                Client::Goose => None,
            },
            pool: Vec::new(),
            malformed_pool: Vec::new(),
        };
        shared.fill_pools(options.payload_pool);
        Ok(Attack {
            host: host.trim_end_matches('/').to_owned(),
            shared: Arc::new(shared),
        })
    }

    /// The goose scenario: `create_me`, `create_user`, `malformed`, `read_back`.
    pub fn scenario(&self) -> Result<Scenario, GooseError> {
        scenarios::scenario(&self.shared)
    }

    /// Devices that got a 201 so far.
    pub fn created(&self) -> usize {
        self.shared
            .created
            .lock()
            .map(|list| list.len())
            .unwrap_or(0)
    }

    /// The per-second figures so far.
    pub fn timeline(&self) -> Vec<Second> {
        self.shared.timeline.seconds()
    }

    /// Time spent generating payloads so far.
    pub fn generation_time(&self) -> Duration {
        Duration::from_nanos(self.shared.generation_nanos.load(Ordering::Relaxed))
    }

    /// Deletes every device that got a 201 with its owner's token (`DELETE
    /// /me/devices/{id}`), unless `keep`.
    pub async fn clean_up(&self, keep: bool) -> anyhow::Result<Cleanup> {
        self.leftovers().clean_up(keep).await
    }

    /// The devices that got a 201 so far, with their owners' tokens, to delete later.
    pub(crate) fn leftovers(&self) -> Leftovers {
        let devices = self
            .created_so_far()
            .iter()
            .map(|c| {
                let token = self.shared.users.get(c.user()).map(|u| u.token.clone());
                (c.id().to_owned(), token)
            })
            .collect();
        Leftovers {
            host: self.host.clone(),
            collection: self.shared.paths.me.clone(),
            devices,
        }
    }

    /// The integrity pass: reads back the devices that got a 201 (all, a sample, or
    /// none) and compares each with what was sent.
    pub async fn verify(&self, mode: Integrity) -> anyhow::Result<IntegrityReport> {
        integrity::verify(&self.host, &self.shared, self.created_so_far(), mode).await
    }

    fn created_so_far(&self) -> Vec<Created> {
        self.shared
            .created
            .lock()
            .map(|list| list.to_vec())
            .unwrap_or_default()
    }
}

/// Runs the attack described by `goose` (its `host` is the target) with `options`, then
/// the integrity pass. The attack always ends: goose stops at `--run-time`, and the whole
/// attack is abandoned `grace` after that. goose's telnet controller stays off unless its
/// options are given.
pub async fn run(
    mut goose: GooseConfiguration,
    options: &Options,
    grace: Duration,
) -> anyhow::Result<Outcome> {
    let host = goose
        .host
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no target host"))?;
    let mut options = options.clone();
    match goose.timeout.as_deref().map(crate::text::parse_duration) {
        Some(Ok(t)) => options.request_timeout = t,
        Some(Err(e)) => anyhow::bail!("--timeout: {e}"),
        None => goose.timeout = Some(options.request_timeout.as_secs_f64().to_string()),
    }
    if goose.throttle_requests.is_some() {
        // The throttle is goose's, on its own client.
        options.client = Client::Goose;
    }
    let options = &options;
    let cpu_before = process_cpu();
    let attack = Attack::new(&host, options)?;
    let live = match options.metrics_addr {
        Some(addr) => {
            let shared = Arc::clone(&attack.shared);
            Some(metrics::serve(addr, Arc::new(move || shared.latencies.prometheus())).await?)
        }
        None => None,
    };
    if goose.telnet_host.is_none() && goose.telnet_port.is_none() {
        goose.no_telnet = true;
    }
    let rules = goose.threshold.clone();
    threshold::Rule::parse_all(&rules).map_err(anyhow::Error::msg)?;
    let run_time = goose
        .run_time
        .as_deref()
        .and_then(|t| crate::text::parse_duration(t).ok());
    let started = Instant::now();
    let execute = GooseAttack::initialize_with_config(goose)?
        .register_scenario(attack.scenario()?)
        .execute();
    let result = match run_time {
        Some(t) => tokio::time::timeout(t + grace, execute)
            .await
            .map_err(|_| {
                anyhow::anyhow!("the attack did not end within {grace:?} of --run-time")
            })?,
        None => execute.await,
    };
    let elapsed = started.elapsed();
    if let Some(server) = live {
        server.abort();
    }
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(a, b)| a.saturating_sub(b));
    // goose's verdicts (its buckets) are kept for its rps figure and for a rule that
    // stopped the run; the run's verdicts are judged again on the HDR histograms.
    let metrics = match result {
        Ok(metrics) => metrics,
        Err(GooseError::ThresholdsFailed { metrics, .. }) => *metrics.0,
        Err(e) => return Err(e.into()),
    };
    let integrity = attack.verify(options.integrity).await?;
    let cleanup = attack.clean_up(options.keep).await?;
    let report = WorkerReport::new(
        &host,
        options,
        &metrics,
        &attack.shared.latencies,
        (&rules, &metrics.thresholds),
        (&integrity, &cleanup),
        elapsed,
        attack.generation_time(),
        cpu,
    );
    Ok(Outcome {
        metrics,
        failed_thresholds: report.failed_thresholds.clone(),
        integrity,
        report,
        timeline: attack.timeline(),
    })
}

/// CPU time (user + system) of this process so far, where the platform says (Linux).
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on every Linux this runs on.
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        let users = [Credentials {
            token: "t".into(),
            user_id: "11111111-2222-4333-8444-555555555555".into(),
        }];
        Paths::new(Profile::seed().routes(), &users, "stranger")
    }

    /// A remembered create is read where it was made, by the id the target wrote.
    #[test]
    fn a_created_device_is_read_where_it_was_made() {
        let paths = paths();
        let id = Guid::parse("C3E3B22A-b22a-c3e3-2ab2-e3c32ab2e3c3").unwrap();
        let me = Created::new(0, false, 7, true, &id).unwrap();
        assert_eq!(me.id(), "C3E3B22A-b22a-c3e3-2ab2-e3c32ab2e3c3");
        assert_eq!(
            me.read_path(&paths),
            format!("{}/C3E3B22A-b22a-c3e3-2ab2-e3c32ab2e3c3", paths.me)
        );
        let own = Created::new(0, true, 7, false, &id).unwrap();
        assert_eq!(
            own.read_path(&paths),
            "/users/11111111-2222-4333-8444-555555555555/devices/C3E3B22A-b22a-c3e3-2ab2-e3c32ab2e3c3"
        );
        assert_eq!((own.seed, own.keep_id, own.user()), (7, false, 0));
    }

    /// Past a chunk, every create is still there, in the order it came.
    #[test]
    fn the_created_list_keeps_every_create_in_order_across_chunks() {
        let options = Options {
            users: vec![Credentials {
                token: "t".into(),
                user_id: "u".into(),
            }],
            payload_pool: 0,
            ..Options::default()
        };
        let attack = Attack::new("http://127.0.0.1:9", &options).unwrap();
        let id = Guid::from_random(1);
        let n = 2 * CHUNK + 3;
        for seed in 0..n as u64 {
            attack
                .shared
                .remember(Created::new(0, seed % 2 == 0, seed, false, &id).unwrap());
        }
        assert_eq!(attack.created(), n);
        let all = attack.created_so_far();
        assert_eq!(all.len(), n);
        assert!(all.iter().enumerate().all(|(i, c)| c.seed == i as u64));
        assert_eq!(attack.leftovers().devices.len(), n);
    }
}

//! `devices-harness load`: a goose load test against a target (by default the embedded
//! reference server), with goose's own options, reports and thresholds, and an integrity
//! pass after it; `load merge` combines the JSON reports of several workers.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use goose::config::GooseConfiguration;

use crate::load::{self, Integrity, Options, Weights, WorkerReport};
use crate::server::{Ephemeral, User};
use crate::target::Credentials;

/// Arguments of `load`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoadArgs {
    /// `load merge`.
    #[command(subcommand)]
    pub command: Option<LoadCommand>,
    /// Target and users (a second user is one more user of the load).
    #[command(flatten)]
    pub target: super::TargetArgs,
    /// Users and tokens, `[{"id": "...", "token": "..."}]`, instead of `--token`: goose
    /// user i runs as user i mod N of this worker's shard.
    #[arg(long, conflicts_with_all = ["token", "user_id", "other_token", "other_user_id"])]
    pub users_file: Option<PathBuf>,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
    /// The seed of the generators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of malformed requests (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    pub malformed_ratio: f64,
    /// Share of read-backs (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    pub read_ratio: f64,
    /// After the run: read back every created device (`exhaustive`), `sample:N`, or
    /// `off`.
    #[arg(long, default_value = "exhaustive")]
    pub integrity: Integrity,
    /// Leave the devices the run created (by default they are deleted after the
    /// integrity pass, where the target has DELETE).
    #[arg(long)]
    pub keep: bool,
    /// Valid payloads generated before the attack and drawn from at random (a quarter
    /// as many malformed ones); 0 generates each payload as it is sent.
    #[arg(long, default_value_t = 4096)]
    pub payload_pool: usize,
    /// `auto`: a direct HTTP/1.1 connection per goose user for `http://` targets (much
    /// cheaper per request; not with `--throttle-requests`), goose's client otherwise;
    /// `goose`: goose's client always.
    #[arg(long, value_enum, default_value_t = load::Client::Auto)]
    pub client: load::Client,
    /// This worker's index (0-based), for scale-out.
    #[arg(long, default_value_t = 0)]
    pub worker_index: usize,
    /// Workers in the whole run; each takes users i, i + N, ... of `--users-file`.
    #[arg(long, default_value_t = 1)]
    pub worker_count: usize,
    /// Write this worker's JSON report here (the input of `load merge`; with `--rate`,
    /// the open model's report).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The open model: start this many requests per second on a fixed schedule, whatever
    /// the target answers (for `--run-time`, default 10 s); latency is measured from each
    /// request's scheduled start, in HDR histograms. `--threshold` rules are judged on
    /// them (`p99<250ms`, `p99.9<1s`, `error-rate<1%`, `dropped<1%`, `rps>=N`). Creates
    /// and malformed requests only (`--read-ratio` does not apply).
    #[arg(long, value_name = "REQ_PER_S", conflicts_with = "rate_stages")]
    pub rate: Option<f64>,
    /// The open model with a ramping rate: `DURATION:RATE,...`, each stage going in a
    /// straight line from the previous rate (0 at the start) to its own:
    /// `"30s:100,1m:2000,30s:0"`.
    #[arg(long, value_name = "STAGES")]
    pub rate_stages: Option<String>,
    /// The open model's connection bound: a request due when every connection is busy is
    /// dropped and counted ("the generator could not keep up").
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// Find the knee: open-model steps of `--run-time` (default 5 s here) from `--rate`
    /// (default 100/s), times 1.5 each, until a `--threshold` breaks (`error-rate<1%` and
    /// `dropped<1%` always apply; give a latency rule such as `p99<250ms`), then two
    /// halvings of the gap: the highest rate held.
    #[arg(long, conflicts_with = "rate_stages")]
    pub find_max: bool,
    /// While the load runs (either model), serve its counters and latency histograms in
    /// the Prometheus text format at `http://ADDR/metrics` (`127.0.0.1:9464`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// goose's options (`--users`, `--increase-rate`, `--run-time`, `--threshold`,
    /// `--report-file`, `--co-mitigation`, `--throttle-requests`, ...).
    #[command(flatten)]
    pub goose: GooseConfiguration,
}

impl std::fmt::Debug for LoadArgs {
    // goose's configuration has no `Debug`; the rest is shown, tokens left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadArgs")
            .field("command", &self.command)
            .field("target", &self.target)
            .field("users_file", &self.users_file)
            .field("profile", &self.profile)
            .field("seed", &self.seed)
            .field("integrity", &self.integrity)
            .field("keep", &self.keep)
            .field("worker_index", &self.worker_index)
            .field("worker_count", &self.worker_count)
            .finish_non_exhaustive()
    }
}

/// `load` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Combine workers' JSON reports: counts and histograms summed, percentiles recomputed.
    Merge {
        /// The reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged report here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// Runs `load`; returns the exit code (0 passed, 1 a threshold or integrity failed).
pub fn run(args: LoadArgs) -> anyhow::Result<u8> {
    if let Some(LoadCommand::Merge { reports, json }) = &args.command {
        return merge(reports, json.as_ref());
    }
    if args.worker_count == 0 || args.worker_index >= args.worker_count {
        bail!("--worker-index must be below --worker-count");
    }
    let weights =
        Weights::from_ratios(args.malformed_ratio, args.read_ratio).map_err(anyhow::Error::msg)?;
    let mut goose = args.goose.clone();
    // Bounded by default: 10 s, all users started in the first second.
    goose.run_time.get_or_insert_with(|| "10".to_owned());
    let users = goose.users.unwrap_or(8);
    goose.users = Some(users);
    goose.increase_rate.get_or_insert_with(|| users.to_string());
    load::threshold::Rule::parse_all(&goose.threshold).map_err(anyhow::Error::msg)?;
    let open = open_options(&args, &goose)?;
    let mut options = Options {
        profile: super::load_profile(&args.profile)?,
        seed: args.seed,
        weights,
        integrity: args.integrity,
        keep: args.keep,
        worker_index: args.worker_index,
        worker_count: args.worker_count,
        payload_pool: args.payload_pool,
        client: args.client,
        metrics_addr: args.metrics_addr,
        ..Options::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut died = None;
    let outcome = runtime.block_on(async {
        let spawned = args.target.start(None).await?;
        let url = args
            .target
            .target
            .clone()
            .or_else(|| spawned.as_ref().map(|s| s.url()));
        let embedded = match &url {
            Some(url) => {
                goose.host = Some(url.trim_end_matches('/').to_owned());
                options.users = credentials(&args)?;
                None
            }
            None => {
                let server = Ephemeral::start(options.profile.clone()).await?;
                goose.host = Some(server.running.url());
                options.users = server
                    .users()
                    .iter()
                    .map(|u| Credentials::new(&u.token, &u.id))
                    .collect();
                Some(server)
            }
        };
        let outcome = match &open {
            _ if args.find_max => {
                let host = goose.host.clone().unwrap_or_default();
                let step = match &args.goose.run_time {
                    Some(t) => crate::text::parse_duration(t).map_err(anyhow::Error::msg)?,
                    None => Duration::from_secs(5),
                };
                let start = args.rate.unwrap_or(100.0);
                let thresholds = &goose.threshold;
                let max = args.max_connections;
                load::open::find_max(&host, &options, start, step, max, thresholds)
                    .await
                    .map(|r| Run::Max(Box::new(r)))
            }
            Some(open) => {
                let host = goose.host.clone().unwrap_or_default();
                load::open::run(&host, &options, open)
                    .await
                    .map(|r| Run::Open(Box::new(r)))
            }
            None => load::run(goose, &options, Duration::from_secs(30))
                .await
                .map(|o| Run::Closed(Box::new(o))),
        };
        if let Some(server) = embedded {
            server.stop().await;
        }
        if let Some(s) = &spawned {
            // A spawned target that died under the load is the first thing to say.
            if let Some(exit) = s.exited().await {
                died = Some((exit, s.stderr_tail(40)));
            }
            s.stop().await;
        }
        outcome
    })?;
    if let Some((exit, tail)) = &died {
        println!("CRASH: the target died during the load ({exit}); the last lines of its stderr:");
        for line in tail {
            println!("    | {line}");
        }
    }
    print!("\n{}", outcome.summary());
    if let Some(path) = &args.json {
        match &outcome {
            Run::Closed(o) => write_report(path, &o.report)?,
            Run::Open(r) => write_report(path, r)?,
            Run::Max(r) => write_report(path, r)?,
        }
    }
    let passed = outcome.passed();
    Ok(if passed && died.is_none() { 0 } else { 1 })
}

/// What ran: goose's closed model, the open model, or the open model's search for the
/// highest rate held.
enum Run {
    Closed(Box<load::Outcome>),
    Open(Box<load::open::OpenReport>),
    Max(Box<load::open::MaxReport>),
}

impl Run {
    fn summary(&self) -> String {
        match self {
            Run::Closed(o) => o.report.summary(),
            Run::Open(r) => r.summary(),
            Run::Max(r) => r.summary(),
        }
    }

    /// Thresholds held and no write lost (for `--find-max`: some rate held).
    fn passed(&self) -> bool {
        match self {
            Run::Closed(o) => o.passed(),
            Run::Open(r) => r.passed(),
            Run::Max(r) => r.held.is_some(),
        }
    }
}

/// The open model's options, when `--rate` or `--rate-stages` asks for it (its length is
/// goose's `--run-time`, its thresholds goose's `--threshold`).
fn open_options(
    args: &LoadArgs,
    goose: &GooseConfiguration,
) -> anyhow::Result<Option<load::open::OpenOptions>> {
    use load::open::{OpenOptions, Rate};
    let rate = match (&args.rate, &args.rate_stages) {
        (None, None) => return Ok(None),
        (Some(r), _) => {
            let secs = goose
                .run_time
                .as_deref()
                .map(crate::text::parse_duration)
                .transpose()
                .map_err(anyhow::Error::msg)?
                .unwrap_or(Duration::from_secs(10));
            Rate::constant(*r, secs)
        }
        (None, Some(stages)) => Rate::stages(0.0, stages),
    }
    .map_err(|e| anyhow::anyhow!("--rate: {e}"))?;
    Ok(Some(OpenOptions {
        rate,
        max_connections: args.max_connections,
        thresholds: goose.threshold.clone(),
    }))
}

/// This worker's shard of the users.
fn credentials(args: &LoadArgs) -> anyhow::Result<Vec<Credentials>> {
    let all: Vec<Credentials> = match &args.users_file {
        Some(file) => User::load(file)?
            .iter()
            .map(|u| Credentials::new(&u.token, &u.id))
            .collect(),
        None => match args.target.target()? {
            Some((_, user, other)) => std::iter::once(user).chain(other).collect(),
            None => bail!("no target"),
        },
    };
    let shard: Vec<Credentials> = if all.len() >= args.worker_count {
        all.into_iter()
            .skip(args.worker_index)
            .step_by(args.worker_count)
            .collect()
    } else {
        // Fewer users than workers: the workers share them.
        all
    };
    Ok(shard)
}

fn write_report(path: &PathBuf, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn merge(paths: &[PathBuf], json: Option<&PathBuf>) -> anyhow::Result<u8> {
    let mut closed = Vec::new();
    let mut open = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let not_a_report = || format!("{} is not a load report", path.display());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(not_a_report)?;
        if value.get("schema").and_then(|s| s.as_str()) == Some(load::open::OPEN_SCHEMA) {
            open.push(
                serde_json::from_value::<load::open::OpenReport>(value)
                    .with_context(not_a_report)?,
            );
        } else {
            closed.push(serde_json::from_value::<WorkerReport>(value).with_context(not_a_report)?);
        }
    }
    if !closed.is_empty() && !open.is_empty() {
        bail!("reports of goose runs and of the open model (--rate) do not merge together");
    }
    if !open.is_empty() {
        let merged = load::open::merge(&open).map_err(anyhow::Error::msg)?;
        print!("{}", merged.summary());
        if let Some(path) = json {
            write_report(path, &merged)?;
        }
        return Ok(if merged.passed() { 0 } else { 1 });
    }
    let merged = load::merge(&closed).map_err(anyhow::Error::msg)?;
    print!("{}", merged.summary());
    if let Some(path) = json {
        write_report(path, &merged)?;
    }
    Ok(if merged.passed() { 0 } else { 1 })
}

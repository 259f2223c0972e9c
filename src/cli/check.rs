//! `devices-harness check`: the conformance checker against a target, or against the
//! embedded reference server when no `--target` is given.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::check::{self, CaseId, Oracle, Report, Target, Transport};
use crate::contract::Level;
use crate::server::Ephemeral;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Target and users.
    #[command(flatten)]
    pub target: super::TargetArgs,
    /// 429s and the client-side rate.
    #[command(flatten)]
    pub throttle: super::ThrottleArgs,
    /// A reference implementation to compare with.
    #[command(flatten)]
    pub reference: super::ReferenceArgs,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
    /// Generated cases (half valid, half malformed).
    #[arg(long, default_value_t = 1000)]
    pub cases: u64,
    /// The seed: the same seed sends the same cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Longest wait for one whole exchange.
    #[arg(long, default_value = "10s", value_parser = crate::text::parse_duration)]
    pub timeout: Duration,
    /// Re-run only this case (`SEED:INDEX`, from a report), shrinking it when it fails.
    #[arg(long)]
    pub replay: Option<CaseId>,
    /// After the probes, fuzz for this long: malformed and mutated bodies at volume (each
    /// mutation judged by the suite's parser), a liveness probe between bursts.
    #[arg(long, value_parser = crate::text::parse_duration)]
    pub fuzz_time: Option<Duration>,
    /// Skip the probes with 4 MiB and trickled bodies.
    #[arg(long)]
    pub quick: bool,
    /// Leave the devices the run created (by default they are deleted at the end, where
    /// the target has DELETE).
    #[arg(long)]
    pub keep: bool,
    /// Run only these oracles (comma-separated: acceptance, round-trip, rejection,
    /// server-errors, authentication, authorization, persistence, http, liveness,
    /// lifecycle, differential); the others send nothing and are reported as not
    /// selected. `--oracles differential` compares with `--reference` alone.
    #[arg(long, value_delimiter = ',', value_name = "ORACLE,...")]
    pub oracles: Vec<Oracle>,
    /// Write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write the JSON report here (schema: `schemas/check-report.schema.json`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the findings as SARIF 2.1.0 here (for code-scanning dashboards).
    #[arg(long)]
    pub sarif: Option<PathBuf>,
    /// Findings at this level or above fail the run (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
}

/// The lowest level that fails a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Warnings too.
    Warning,
}

impl FailOn {
    /// As a contract level.
    pub fn level(self) -> Level {
        match self {
            FailOn::Error => Level::Error,
            FailOn::Warning => Level::Warning,
        }
    }
}

impl CheckArgs {
    /// The run's configuration.
    pub fn config(&self) -> anyhow::Result<check::Config> {
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if self.oracles == [Oracle::Differential] && self.reference.reference.is_none() {
            bail!("--oracles differential needs --reference");
        }
        Ok(check::Config {
            profile: super::load_profile(&self.profile)?,
            cases: self.cases,
            seed: self.seed,
            concurrency: self.concurrency,
            timeout: self.timeout,
            replay: self.replay,
            quick: self.quick,
            fuzz_time: self.fuzz_time,
            progress: std::io::stderr().is_terminal(),
            throttle: self.throttle.throttle()?,
            max_restarts: self.target.max_restarts,
            keep: self.keep,
            oracles: if self.oracles.is_empty() {
                Oracle::ALL.to_vec()
            } else {
                self.oracles.clone()
            },
            ..check::Config::default()
        })
    }
}

/// Runs `check`; returns the exit code (0 pass, 1 findings, 2 usage or unreachable).
pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let target = args.target.target()?;
        let reference = args
            .reference
            .start(&config.profile, config.concurrency)
            .await?;
        let config = check::Config {
            reference: reference.as_ref().map(|r| r.target.clone()),
            ..config.clone()
        };
        let spawned = args.target.start(None).await?;
        let report = match target {
            Some((url, user, other)) => {
                let url = match &spawned {
                    Some(s) if url.is_empty() => s.url(),
                    _ => url,
                };
                let transport = Transport::http(&url, config.concurrency)?;
                let target = Target {
                    transport,
                    user,
                    other,
                    embedded: false,
                    spawned: spawned.clone(),
                };
                check::run(&target, &config)
                    .await
                    .map_err(anyhow::Error::from)
            }
            None => run_embedded(&config).await,
        };
        if let Some(s) = &spawned {
            s.stop().await;
        }
        if let Some(r) = reference {
            r.stop().await;
        }
        report
    })?;
    print!("{}", report.summary());
    write_outputs(&report, args)?;
    Ok(if report.passes(args.fail_on.level()) {
        0
    } else {
        1
    })
}

/// Checks the reference server, started on loopback with durable SQLite in a temporary
/// directory.
pub async fn run_embedded(config: &check::Config) -> anyhow::Result<Report> {
    let server = Ephemeral::start(config.profile.clone()).await?;
    let result = match Target::embedded(&server, config.concurrency) {
        Ok(target) => check::run(&target, config)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    server.stop().await;
    result
}

fn write_outputs(report: &Report, args: &CheckArgs) -> anyhow::Result<()> {
    type Writer = fn(&Report) -> String;
    let outputs: [(&Option<PathBuf>, Writer); 3] = [
        (&args.json, Report::to_json),
        (&args.junit, Report::junit),
        (&args.sarif, Report::sarif),
    ];
    for (path, write) in outputs {
        if let Some(path) = path {
            std::fs::write(path, write(report))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

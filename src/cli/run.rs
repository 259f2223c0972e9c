//! `devices-harness run`: the main job, end to end, into a report directory.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use crate::run::{self, PhaseName, RunConfig};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Target and users.
    #[command(flatten)]
    pub target: super::TargetArgs,
    /// 429s and the client-side rate (the check and fuzz phases, and the read-back).
    #[command(flatten)]
    pub throttle: super::ThrottleArgs,
    /// A reference implementation the check and fuzz phases compare with.
    #[command(flatten)]
    pub reference: super::ReferenceArgs,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
    /// The whole run's time: 15% and 6 s for probes, shrinking and read-back, 30% of the
    /// rest for the clean-up (unless --keep); the time-boxed share goes 30% to generated
    /// cases, 30% to fuzzing, 40% to load.
    #[arg(long, default_value = "60s", value_parser = crate::text::parse_duration)]
    pub budget: Duration,
    /// The report directory.
    #[arg(long, default_value = "devices-harness-report")]
    pub out: PathBuf,
    /// The seed of every generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests in flight in the check and fuzz phases.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// goose users in the load phase.
    #[arg(long, default_value_t = 8)]
    pub users: usize,
    /// Load-phase thresholds (goose syntax); given, they replace the defaults.
    #[arg(long, default_values = ["error-rate<1%", "p99<2s"])]
    pub threshold: Vec<String>,
    /// Leave the devices the run created (by default they are deleted at the end of
    /// each phase, where the target has DELETE).
    #[arg(long)]
    pub keep: bool,
    /// The phases to run (comma-separated: check, fuzz, load); they share the budget.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "check,fuzz,load"
    )]
    pub phases: Vec<PhaseName>,
    /// Give half the load phase's time to a search for the highest rate the target holds
    /// under the thresholds (open-model steps from 100 requests/s, see `load --find-max`).
    #[arg(long)]
    pub find_max: bool,
}

/// Runs `run`; returns the exit code (0 when nothing at error level was found).
pub fn run(args: &RunArgs) -> anyhow::Result<u8> {
    if args.concurrency == 0 || args.users == 0 {
        bail!("--concurrency and --users must be at least 1");
    }
    if args.budget < Duration::from_secs(4) {
        bail!("--budget must be at least 4s");
    }
    let target = args.target.target()?;
    let mut config = RunConfig {
        target,
        profile: super::load_profile(&args.profile)?,
        seed: args.seed,
        budget: args.budget,
        concurrency: args.concurrency,
        users: args.users,
        thresholds: args.threshold.clone(),
        out: args.out.clone(),
        progress: std::io::stderr().is_terminal(),
        throttle: args.throttle.throttle()?,
        spawn: args.target.spawn.clone(),
        spawn_wait: args.target.spawn_wait,
        max_restarts: args.target.max_restarts,
        phases: args.phases.clone(),
        keep: args.keep,
        reference: None,
        find_max: args.find_max,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let reference = args
            .reference
            .start(&config.profile, config.concurrency)
            .await?;
        config.reference = reference.as_ref().map(|r| r.target.clone());
        let report = run::run(&config).await;
        if let Some(r) = reference {
            r.stop().await;
        }
        report
    })?;
    print!("{}", report.check.summary());
    println!();
    print!("{}", run::phase_table(&report));
    println!("report: {}", config.out.join("index.html").display());
    Ok(if report.passed { 0 } else { 1 })
}

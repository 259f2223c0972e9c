//! `run`: the main job. One command hardens an endpoint end to end: conformance and
//! security checks, fuzzing over HTTP, a short load phase with thresholds; then one
//! report directory people want to read.
//!
//! The phases share one budget: 15% of it and 6 s more are kept for what is not
//! time-boxed (the fixed probes, shrinking, goose's ramp-up, the integrity pass); of the
//! rest, generated cases get 30%, the fuzz phase 30%, the load phase 40%. Without a target the reference server is started on loopback
//! (durable SQLite in a temporary directory) and is the target of every phase.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use goose::config::GooseConfiguration;
use serde::Serialize;

use crate::check;
use crate::contract::{Level, Profile};
use crate::load::{self, Options, Second, WorkerReport};
use crate::server::Ephemeral;
use crate::target::{Credentials, Oracle, Target, Transport};
use crate::text::plural;

mod html;

/// Seconds of a run's budget kept for what is not time-boxed: the fixed probes,
/// shrinking, goose's ramp-up (besides 15% of the budget, for the integrity pass, which
/// grows with the load phase).
const OVERHEAD_SECONDS: f64 = 6.0;

/// The part of the time-boxed phases' share left to them when the run cleans up: the
/// rest goes to deleting what they created (a 60 s run took 75 s with no such share).
const CLEANUP_SHARE: f64 = 0.7;

/// The report's schema id (`schemas/run-report.schema.json`).
pub const SCHEMA: &str = "devices-harness/run-report/1";

/// What a run is pointed at and how long it may take.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The target's base URL and users; `None` for the embedded reference server.
    pub target: Option<(String, Credentials, Option<Credentials>)>,
    /// The contract.
    pub profile: Profile,
    /// The seed of every generator.
    pub seed: u64,
    /// The whole run's time budget.
    pub budget: Duration,
    /// Requests in flight in the check and fuzz phases.
    pub concurrency: usize,
    /// goose users in the load phase.
    pub users: usize,
    /// Thresholds of the load phase (goose syntax: `p99<500ms`, `error-rate<1%`).
    pub thresholds: Vec<String>,
    /// The report directory.
    pub out: PathBuf,
    /// Progress bars on stderr.
    pub progress: bool,
    /// How 429s are waited out, and the client-side rate of the check and fuzz phases.
    pub throttle: check::Throttle,
    /// Start the target with this command (`{port}` replaced), its output kept in the
    /// report directory (`target.stdout.log`, `target.stderr.log`); then the target's
    /// URL in `target` may be empty.
    pub spawn: Option<String>,
    /// How long a spawned target may take to answer at each start.
    pub spawn_wait: Duration,
    /// Restarts of a spawned target after crashes.
    pub max_restarts: u32,
    /// The phases to run (`--phases`), in their fixed order; the budget is shared among
    /// them.
    pub phases: Vec<PhaseName>,
    /// Leave the devices the run created (`--keep`).
    pub keep: bool,
    /// A reference implementation the check and fuzz phases compare with (`--reference`).
    pub reference: Option<Target>,
    /// After the load, search for the highest rate the target holds (`--find-max`).
    pub find_max: bool,
}

/// A phase of the main job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum PhaseName {
    /// Generated cases and the probes of every oracle.
    Check,
    /// Malformed and mutated cases at volume, liveness probes between bursts.
    Fuzz,
    /// goose load with the integrity pass.
    Load,
}

impl PhaseName {
    /// Every phase, in the order they run.
    pub const ALL: [PhaseName; 3] = [PhaseName::Check, PhaseName::Fuzz, PhaseName::Load];

    /// The share of the timed budget the phase gets when every phase runs.
    fn weight(self) -> f64 {
        match self {
            PhaseName::Check | PhaseName::Fuzz => 0.3,
            PhaseName::Load => 0.4,
        }
    }
}

/// One phase's line.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    /// `check`, `fuzz` or `load`.
    pub name: &'static str,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Whether it found nothing at error level.
    pub passed: bool,
    /// One line on what it did.
    pub summary: String,
}

/// The load phase's results.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSection {
    /// The thresholds it was held to.
    pub thresholds: Vec<String>,
    /// The figures (the same shape `load --json` writes).
    pub report: WorkerReport,
    /// Per-second figures.
    pub timeline: Vec<Second>,
}

/// The whole run, as `report.json` holds it.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `devices-harness <version>`.
    pub tool: String,
    /// The target.
    pub target: String,
    /// The profile's name.
    pub profile: String,
    /// The seed.
    pub seed: u64,
    /// The budget, in seconds.
    pub budget_seconds: f64,
    /// Wall time, in seconds.
    pub duration_seconds: f64,
    /// Nothing at error level: no error finding, thresholds held, no lost write.
    pub passed: bool,
    /// Findings at error level (and failed load verdicts).
    pub errors: usize,
    /// Findings at warning level.
    pub warnings: usize,
    /// The phases in order.
    pub phases: Vec<Phase>,
    /// The check and fuzz phases' report (`schemas/check-report.schema.json`).
    pub check: check::Report,
    /// The load phase (absent when the budget left no time for it).
    pub load: Option<LoadSection>,
    /// `--find-max`: the open model's steps and the highest rate held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<crate::load::open::MaxReport>,
}

/// Runs every phase and writes the report directory.
pub async fn run(config: &RunConfig) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.out)
        .with_context(|| format!("cannot create {}", config.out.display()))?;
    let embedded = match &config.target {
        Some(_) => None,
        None => Some(Ephemeral::start(config.profile.clone()).await?),
    };
    let spawned = match &config.spawn {
        Some(cmd) => Some(std::sync::Arc::new(
            crate::target::Spawned::start(cmd, Some(&config.out), config.spawn_wait).await?,
        )),
        None => None,
    };
    let result = phases(config, embedded.as_ref(), spawned.clone(), started).await;
    if let Some(server) = embedded {
        server.stop().await;
    }
    if let Some(s) = spawned {
        s.stop().await;
    }
    let report = result?;
    write_all(&config.out, &report)?;
    Ok(report)
}

async fn phases(
    config: &RunConfig,
    embedded: Option<&Ephemeral>,
    spawned: Option<std::sync::Arc<crate::target::Spawned>>,
    started: Instant,
) -> anyhow::Result<RunReport> {
    let target = match (&config.target, embedded) {
        (Some((url, user, other)), _) => Target {
            transport: Transport::http(
                &match &spawned {
                    Some(s) if url.is_empty() => s.url(),
                    _ => url.clone(),
                },
                config.concurrency,
            )?,
            user: user.clone(),
            other: other.clone(),
            embedded: false,
            spawned: spawned.clone(),
        },
        (None, Some(server)) => Target::embedded(server, config.concurrency)?,
        (None, None) => anyhow::bail!("no target"),
    };
    let base = target.transport.describe();
    let budget = config.budget.as_secs_f64();
    // What the probes, shrinking, goose's ramp-up and the read-back take, about; and the
    // clean-up, one DELETE per device created (as many requests as the read-back).
    let cleanup = if config.keep { 1.0 } else { CLEANUP_SHARE };
    let timed = (budget * 0.85 - OVERHEAD_SECONDS).max(budget * 0.4) * cleanup;
    let share = |f: f64| Duration::from_secs_f64(timed * f);
    let on = |p: PhaseName| config.phases.contains(&p);
    // The selected phases share the timed budget in proportion to their weights.
    let weights: f64 = config.phases.iter().map(|p| p.weight()).sum();
    let part = |p: PhaseName| on(p).then(|| share(p.weight() / weights.max(0.1)));
    // Check and fuzz.
    let check_config = check::Config {
        profile: config.profile.clone(),
        cases: if on(PhaseName::Check) { u64::MAX } else { 0 },
        probes: on(PhaseName::Check),
        keep: config.keep,
        oracles: if on(PhaseName::Check) || on(PhaseName::Fuzz) {
            Oracle::ALL.to_vec()
        } else {
            Vec::new()
        },
        seed: config.seed,
        concurrency: config.concurrency,
        case_time: part(PhaseName::Check),
        fuzz_time: part(PhaseName::Fuzz),
        progress: config.progress,
        throttle: config.throttle.clone(),
        max_restarts: config.max_restarts,
        shrink_time: share(0.1).max(Duration::from_secs(2)),
        reference: config.reference.clone(),
        ..check::Config::default()
    };
    let check = check::run(&target, &check_config).await?;
    let fuzz_errors = check
        .findings
        .iter()
        .filter(|f| f.level == Level::Error && f.case.is_some_and(check::CaseId::in_fuzz_phase))
        .count();
    let check_errors = check.errors() - fuzz_errors;
    let mut phases = Vec::new();
    let check_phase = Phase {
        name: "check",
        seconds: check.duration_seconds - check.fuzz_seconds,
        passed: check_errors == 0,
        summary: format!(
            "{} cases and the probes of {} oracles, {} requests; {check_errors} errors, {} warnings",
            check.cases,
            check.oracles.iter().filter(|o| o.status == "ran").count(),
            check.requests,
            check.warnings()
        ),
    };
    let fuzz_phase = Phase {
        name: "fuzz",
        seconds: check.fuzz_seconds,
        passed: fuzz_errors == 0,
        summary: format!(
            "{} malformed and mutated cases with liveness probes between bursts; {fuzz_errors} errors",
            check.fuzz_cases
        ),
    };
    if on(PhaseName::Check) {
        phases.push(check_phase);
    }
    if on(PhaseName::Fuzz) {
        phases.push(fuzz_phase);
    }
    let Some(load_time) = part(PhaseName::Load) else {
        return Ok(report(config, started, budget, check, phases, None, 0));
    };
    let load_time = load_time.max(Duration::from_secs(2));
    // With --find-max the search for the highest rate held takes half the load's time:
    // six steps, at least a second each.
    let (load_time, step) = if config.find_max {
        let half = load_time / 2;
        (
            half.max(Duration::from_secs(2)),
            (half / 6).max(Duration::from_secs(1)),
        )
    } else {
        (load_time, Duration::ZERO)
    };
    let mut users = vec![target.user.clone()];
    users.extend(target.other.clone());
    let load = load_phase(config, &base, users.clone(), load_time).await?;
    // A spawned target that died under the load fails it, and says how.
    let died = match &spawned {
        Some(s) => s.exited().await,
        None => None,
    };
    let load_passed = load.report.passed() && died.is_none();
    phases.push(Phase {
        name: "load",
        seconds: load.report.duration_seconds,
        passed: load_passed,
        summary: format!(
            "{:.0} requests/s, p99 {:.1} ms, {} failed of {}; {}; thresholds {}",
            load.report.requests_per_second,
            load.report.totals.latency_ms.p99,
            load.report.totals.fail,
            load.report.totals.count,
            load.report.integrity.line(),
            if load.report.failed_thresholds.is_empty() {
                "held".to_owned()
            } else {
                format!("failed: {}", load.report.failed_thresholds.join("; "))
            }
        ) + &load
            .report
            .cleanup
            .line()
            .map(|line| format!("; {line}"))
            .unwrap_or_default()
            + &died
                .map(|exit| format!("; CRASH: the target died during the load ({exit})"))
                .unwrap_or_default(),
    });
    let mut failed_load = usize::from(!load_passed);
    let max = if config.find_max {
        let options = Options {
            profile: config.profile.clone(),
            seed: config.seed,
            users,
            keep: config.keep,
            ..Options::default()
        };
        let started = Instant::now();
        let max =
            load::open::find_max(&base, &options, 100.0, step, 1024, &config.thresholds).await?;
        let held = max.held;
        failed_load += usize::from(held.is_none());
        phases.push(Phase {
            name: "max",
            seconds: started.elapsed().as_secs_f64(),
            passed: held.is_some(),
            summary: match held {
                Some(rate) => format!(
                    "highest rate held: {rate:.0} requests/s ({} open-model steps of {step:?}; {})",
                    max.steps.len(),
                    max.thresholds.join(", ")
                ),
                None => "no rate held: the first step broke a threshold".to_owned(),
            },
        });
        Some(max)
    } else {
        None
    };
    let mut out = report(
        config,
        started,
        budget,
        check,
        phases,
        Some(load),
        failed_load,
    );
    out.max = max;
    Ok(out)
}

/// The run's report from its phases; `failed_load` counts a load phase that did not pass.
fn report(
    config: &RunConfig,
    started: Instant,
    budget: f64,
    check: check::Report,
    phases: Vec<Phase>,
    load: Option<LoadSection>,
    failed_load: usize,
) -> RunReport {
    let errors = check.errors()
        + check
            .causes
            .iter()
            .filter(|c| c.kind != check::causes::CauseKind::Violation)
            .count()
        + failed_load
        + usize::from(check.ended_early.is_some());
    RunReport {
        schema: SCHEMA,
        tool: check.tool.clone(),
        target: check.target.clone(),
        profile: config.profile.name().to_owned(),
        seed: config.seed,
        budget_seconds: budget,
        duration_seconds: started.elapsed().as_secs_f64(),
        passed: errors == 0,
        errors,
        warnings: check.warnings(),
        phases,
        check,
        load,
        max: None,
    }
}

async fn load_phase(
    config: &RunConfig,
    base: &str,
    users: Vec<Credentials>,
    run_time: Duration,
) -> anyhow::Result<LoadSection> {
    let mut goose = GooseConfiguration::default();
    goose.host = Some(base.to_owned());
    goose.users = Some(config.users);
    goose.increase_rate = Some(config.users.to_string());
    goose.run_time = Some(format!("{}", run_time.as_secs().max(1)));
    goose.quiet = 1;
    goose.no_print_metrics = true;
    goose.no_threshold_abort = true;
    goose.threshold = config.thresholds.clone();
    goose.report_file = vec![config.out.join("load.html").display().to_string()];
    let options = Options {
        profile: config.profile.clone(),
        seed: config.seed,
        users,
        integrity: load::Integrity::Exhaustive,
        keep: config.keep,
        ..Options::default()
    };
    let bar = if config.progress {
        indicatif::ProgressBar::new(run_time.as_secs().max(1))
    } else {
        indicatif::ProgressBar::hidden()
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template("load {bar:40} {pos}/{len} s {msg}")
    {
        bar.set_style(style);
    }
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        })
    };
    let outcome = load::run(goose, &options, Duration::from_secs(30)).await;
    ticker.abort();
    bar.finish_and_clear();
    let outcome = outcome?;
    Ok(LoadSection {
        thresholds: config.thresholds.clone(),
        report: outcome.report,
        timeline: outcome.timeline,
    })
}

fn write_all(out: &Path, report: &RunReport) -> anyhow::Result<()> {
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "report.json",
        serde_json::to_string_pretty(report).context("the report")?,
    )?;
    write("summary.md", summary_markdown(report))?;
    write("junit.xml", junit(report))?;
    write("check.sarif", report.check.sarif())?;
    write("index.html", html::render(report))?;
    Ok(())
}

/// The phases as a terminal table.
pub fn phase_table(report: &RunReport) -> String {
    let mut s = String::from("phase   time      result\n");
    for p in &report.phases {
        s.push_str(&format!(
            "{:<7} {:>6.1} s  {}  {}\n",
            p.name,
            p.seconds,
            if p.passed { "ok    " } else { "FAILED" },
            p.summary
        ));
    }
    s.push_str(&format!(
        "\n{}: {}, {} in {:.1} s\n",
        if report.passed { "PASSED" } else { "FAILED" },
        plural(report.errors as u64, "error"),
        plural(report.warnings as u64, "warning"),
        report.duration_seconds
    ));
    s
}

fn summary_markdown(r: &RunReport) -> String {
    let mut s = format!(
        "# devices-harness run: {}\n\n**{}**: {} errors, {} warnings. Target {}, profile {}, seed {}, budget {:.0} s, took {:.1} s.\n\n",
        if r.passed { "passed" } else { "FAILED" },
        if r.passed { "Passed" } else { "Failed" },
        r.errors,
        r.warnings,
        r.target,
        r.profile,
        r.seed,
        r.budget_seconds,
        r.duration_seconds
    );
    s.push_str("| phase | seconds | result | what |\n|---|---:|---|---|\n");
    for p in &r.phases {
        s.push_str(&format!(
            "| {} | {:.1} | {} | {} |\n",
            p.name,
            p.seconds,
            if p.passed { "ok" } else { "**failed**" },
            p.summary
        ));
    }
    if let Some(why) = &r.check.ended_early {
        s.push_str(&format!("\n**Ended early**: {why}.\n"));
    }
    s.push_str(&format!(
        "\n## Causes\n\n{} ({}), crashes and hangs first.\n",
        plural(r.check.causes.len() as u64, "cause"),
        plural(r.check.findings.len() as u64, "finding")
    ));
    for c in &r.check.causes {
        s.push_str(&format!(
            "\n### {} {:?}: {}\n\n- findings: {}\n",
            c.id,
            c.kind,
            c.title,
            c.findings.join(", ")
        ));
        if let Some(exit) = &c.exit {
            s.push_str(&format!("- exit: {exit}\n"));
        }
        if !c.stderr_tail.is_empty() {
            s.push_str(&format!("\n```text\n{}\n```\n", c.stderr_tail.join("\n")));
        }
        if let Some(rep) = &c.reproduce {
            s.push_str(&format!("\n```sh\n{}\n```\n", rep.curl));
        }
    }
    s.push_str("\n## Oracles\n\n| oracle | level | passed | failed | skipped | status | what |\n|---|---|---:|---:|---:|---|---|\n");
    for o in &r.check.oracles {
        s.push_str(&format!(
            "| {} | {:?} | {} | {} | {} | {} | {} |\n",
            o.oracle,
            o.level,
            o.counts.passed,
            o.counts.failed,
            o.counts.skipped,
            match &o.reason {
                Some(why) => format!("not run: {why}"),
                None => o.status.to_owned(),
            },
            o.description
        ));
    }
    if let Some(load) = &r.load {
        s.push_str("\n## Load\n\n");
        s.push_str(&load.report.summary());
        if !load.thresholds.is_empty() {
            s.push_str(&format!("\nthresholds: {}\n", load.thresholds.join(", ")));
        }
    }
    s.push_str("\n## Findings\n");
    if r.check.findings.is_empty() {
        s.push_str("\nNone.\n");
    }
    for f in &r.check.findings {
        s.push_str(&format!(
            "\n### {} {:?} [{}/{}] {}\n\n- input: {} ({})\n- expected: {}\n- seen: {}\n",
            f.id,
            f.level,
            f.oracle,
            f.rule,
            f.endpoint,
            f.class,
            plural(f.occurrences, "time"),
            f.expected,
            f.seen
        ));
        if let Some(case) = &f.case {
            s.push_str(&format!("- case: `{case}`"));
            if let Some(replay) = &f.reproduce.replay {
                s.push_str(&format!(" (`{replay}`)"));
            }
            s.push('\n');
        }
        s.push_str(&format!("\n```sh\n{}\n```\n", f.reproduce.curl));
    }
    s
}

fn junit(r: &RunReport) -> String {
    let (mut suites, mut tests, mut failures) = r.check.junit_suites();
    if let Some(load) = &r.load {
        let rep = &load.report;
        let mut cases = Vec::new();
        for t in &load.thresholds {
            let failed = rep
                .failed_thresholds
                .iter()
                .find(|f| f.contains(t.as_str()));
            cases.push((format!("threshold {t}"), failed.cloned()));
        }
        let integrity = (!rep.integrity.clean()).then(|| rep.integrity.line());
        cases.push(("integrity".to_owned(), integrity));
        suites.push_str(&format!(
            "  <testsuite name=\"load\" tests=\"{}\" failures=\"{}\">\n",
            cases.len(),
            cases.iter().filter(|c| c.1.is_some()).count()
        ));
        for (name, failure) in &cases {
            tests += 1;
            match failure {
                None => suites.push_str(&format!(
                    "    <testcase classname=\"load\" name=\"{}\"/>\n",
                    crate::text::xml(name)
                )),
                Some(why) => {
                    failures += 1;
                    suites.push_str(&format!(
                        "    <testcase classname=\"load\" name=\"{}\">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                        crate::text::xml(name),
                        crate::text::xml(why)
                    ));
                }
            }
        }
        suites.push_str("  </testsuite>\n");
    }
    check::junit_document(
        "devices-harness run",
        &suites,
        tests,
        failures,
        r.duration_seconds,
    )
}

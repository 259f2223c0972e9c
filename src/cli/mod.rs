//! The `devices-harness` command line: clap definitions, one file per subcommand.
//!
//! [`run`] returns the process exit code, so integration tests drive the CLI exactly as
//! `main` does.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::contract::Profile;

mod check;
mod corpus;
mod generate;
mod load;
mod run;
mod serve;
mod validate;

pub use check::{CheckArgs, FailOn};
pub use corpus::{CorpusCommand, ExportArgs};
pub use generate::GenArgs;
pub use load::{LoadArgs, LoadCommand};
pub use run::RunArgs;
pub use serve::ServeArgs;
pub use validate::ValidateArgs;

/// Hardens, benchmarks and regression-fuzzes implementations of the Graph devices endpoint.
#[derive(Debug, Parser)]
#[command(name = "devices-harness", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check device payloads (files, or stdin) against the contract.
    Validate(ValidateArgs),
    /// Generated cases, valid or malformed, as NDJSON on stdout.
    Gen(GenArgs),
    /// Test-vector corpora for implementations in any language.
    #[command(subcommand)]
    Corpus(CorpusCommand),
    /// The main job: check, fuzz and load an endpoint (by default the embedded reference
    /// server) and write a report directory.
    Run(RunArgs),
    /// Check an endpoint (by default the embedded reference server) against the contract.
    Check(CheckArgs),
    /// Load-test an endpoint (by default the embedded reference server) with goose.
    Load(Box<LoadArgs>),
    /// Run the reference devices endpoint (durable SQLite) until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Print a profile (the built-in `seed` by default; `graph-v1`, `graph-beta`) as TOML, the
    /// form `--profile` reads.
    Profile {
        /// `seed`, `graph-v1`, `graph-beta` or a TOML file.
        #[arg(default_value = "seed")]
        profile: String,
    },
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Gen(args) => generate::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Load(args) => load::run(*args),
        Command::Corpus(cmd) => corpus::run(&cmd),
        Command::Profile { profile } => {
            print!("{}", load_profile(&profile)?.to_toml());
            Ok(0)
        }
    }
}

/// Where a command sends its requests, and as whom (shared by `check` and `run`).
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// The target's base URL (`http://127.0.0.1:8080`, `https://graph.microsoft.com/beta`);
    /// without it the reference server is started on loopback (durable SQLite in a
    /// temporary directory) with its two demo users.
    #[arg(long)]
    pub target: Option<String>,
    /// The bearer token of the user the requests are sent as.
    #[arg(long, env = "DEVICES_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// That user's id (a GUID).
    #[arg(long, env = "DEVICES_USER_ID")]
    pub user_id: Option<String>,
    /// A second user's token, for the cross-user checks (skipped without one).
    #[arg(long, env = "DEVICES_OTHER_TOKEN", hide_env_values = true)]
    pub other_token: Option<String>,
    /// The second user's id.
    #[arg(long, env = "DEVICES_OTHER_USER_ID")]
    pub other_user_id: Option<String>,
    /// Start the target with this shell command, `{port}` replaced by a free loopback
    /// port (`--target` then defaults to `http://127.0.0.1:{port}`); the harness waits
    /// until it answers, keeps its output, sees it crash, restarts it, and stops it at
    /// the end. Example: `--spawn 'python3 my_server.py --port {port}'`.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// How many times a spawned target is restarted after crashes before the run ends.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_restarts: u32,
    /// How long to wait for a spawned target to answer, at each start.
    #[arg(long, default_value = "30s", value_parser = crate::text::parse_duration)]
    pub spawn_wait: std::time::Duration,
}

/// Differential mode: a reference implementation to compare the target with (shared by
/// `check` and `run`).
#[derive(Debug, clap::Args)]
pub struct ReferenceArgs {
    /// Send every request to this implementation too and report each disagreement with
    /// the target (oracle `differential`): a base URL, or `embedded` for the reference
    /// server on loopback.
    #[arg(long, value_name = "URL|embedded")]
    pub reference: Option<String>,
    /// The reference's token for the user the requests are sent as.
    #[arg(long, env = "DEVICES_REFERENCE_TOKEN", hide_env_values = true)]
    pub reference_token: Option<String>,
    /// That user's id on the reference.
    #[arg(long, env = "DEVICES_REFERENCE_USER_ID")]
    pub reference_user_id: Option<String>,
    /// The reference's token for the second user.
    #[arg(long, env = "DEVICES_REFERENCE_OTHER_TOKEN", hide_env_values = true)]
    pub reference_other_token: Option<String>,
    /// The second user's id on the reference.
    #[arg(long, env = "DEVICES_REFERENCE_OTHER_USER_ID")]
    pub reference_other_user_id: Option<String>,
}

/// A reference the command started: stopped when the command ends.
pub struct Reference {
    /// The reference as a target.
    pub target: crate::target::Target,
    server: Option<crate::server::Ephemeral>,
}

impl Reference {
    /// Stops the embedded reference server, if one was started.
    pub async fn stop(self) {
        if let Some(s) = self.server {
            s.stop().await;
        }
    }
}

impl ReferenceArgs {
    /// The reference (starting the embedded server for `embedded`), or `None`.
    pub async fn start(
        &self,
        profile: &Profile,
        connections: usize,
    ) -> anyhow::Result<Option<Reference>> {
        use crate::target::{Credentials, Target, Transport};
        let Some(url) = &self.reference else {
            return Ok(None);
        };
        if url == "embedded" {
            let server = crate::server::Ephemeral::start(profile.clone()).await?;
            let target = Target::embedded(&server, connections)?;
            return Ok(Some(Reference {
                target,
                server: Some(server),
            }));
        }
        let (Some(token), Some(user_id)) = (&self.reference_token, &self.reference_user_id) else {
            anyhow::bail!(
                "--reference URL needs --reference-token and --reference-user-id (or DEVICES_REFERENCE_TOKEN and DEVICES_REFERENCE_USER_ID)"
            );
        };
        let other = second_user(
            &self.reference_other_token,
            &self.reference_other_user_id,
            "--reference-other-token and --reference-other-user-id",
        )?;
        Ok(Some(Reference {
            target: Target {
                transport: Transport::http(url, connections)?,
                user: Credentials::new(token, user_id),
                other,
                embedded: false,
                spawned: None,
            },
            server: None,
        }))
    }
}

/// How a run treats 429s (CONTRACT.md: a tester waits `Retry-After` out and sends the
/// same request again), and a client-side rate.
#[derive(Debug, clap::Args)]
pub struct ThrottleArgs {
    /// Send at most this many requests per second (a client-side rate, to stay under a
    /// known quota); unpaced without it.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate: Option<f64>,
    /// How many times a 429 is waited out (`Retry-After` in seconds or as an HTTP date;
    /// back-off from 250 ms without one) before the request counts as unanswered.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub retries_429: u32,
    /// The longest single wait for a 429, whatever `Retry-After` says.
    #[arg(long, default_value = "30s", value_parser = crate::text::parse_duration)]
    pub max_retry_wait: std::time::Duration,
}

impl ThrottleArgs {
    /// The policy.
    pub fn throttle(&self) -> anyhow::Result<crate::target::Throttle> {
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            anyhow::bail!("--rate must be a positive number of requests per second");
        }
        Ok(crate::target::Throttle {
            rate: self.rate,
            retries: self.retries_429,
            max_wait: self.max_retry_wait,
            ..crate::target::Throttle::default()
        })
    }
}

impl TargetArgs {
    /// The target URL and its users; `None` for the embedded reference server.
    pub fn target(
        &self,
    ) -> anyhow::Result<
        Option<(
            String,
            crate::check::Credentials,
            Option<crate::check::Credentials>,
        )>,
    > {
        use crate::target::Credentials;
        let url = match (&self.target, &self.spawn) {
            (Some(url), _) => url.clone(),
            // The spawned target's URL, known once it runs.
            (None, Some(_)) => String::new(),
            (None, None) => return Ok(None),
        };
        let (Some(token), Some(user_id)) = (&self.token, &self.user_id) else {
            anyhow::bail!(
                "--target and --spawn need --token and --user-id (or DEVICES_TOKEN and DEVICES_USER_ID)"
            );
        };
        let other = second_user(
            &self.other_token,
            &self.other_user_id,
            "--other-token and --other-user-id",
        )?;
        Ok(Some((url, Credentials::new(token, user_id), other)))
    }

    /// Starts the `--spawn` target, if any, with its output in `log_dir`.
    pub async fn start(
        &self,
        log_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Option<std::sync::Arc<crate::target::spawn::Spawned>>> {
        let Some(command) = &self.spawn else {
            return Ok(None);
        };
        let spawned =
            crate::target::spawn::Spawned::start(command, log_dir, self.spawn_wait).await?;
        Ok(Some(std::sync::Arc::new(spawned)))
    }
}

/// The second user from a token flag and an id flag, which go together (`flags` names
/// them in the error).
fn second_user(
    token: &Option<String>,
    id: &Option<String>,
    flags: &str,
) -> anyhow::Result<Option<crate::target::Credentials>> {
    match (token, id) {
        (Some(t), Some(id)) => Ok(Some(crate::target::Credentials::new(t, id))),
        (None, None) => Ok(None),
        _ => anyhow::bail!("{flags} go together"),
    }
}

/// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or the path of a TOML profile
/// file.
pub fn load_profile(arg: &str) -> anyhow::Result<Profile> {
    if let Some(profile) = Profile::built_in(arg) {
        return Ok(profile.clone());
    }
    let path = PathBuf::from(arg);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read profile {}", path.display()))?;
    Profile::from_toml(&text).with_context(|| format!("invalid profile {}", path.display()))
}

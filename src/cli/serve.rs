//! `devices-harness serve`: the reference devices endpoint, until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::server::{self, Config, Storage, User};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The SQLite file (created when missing).
    #[arg(long, default_value = "devices.db", conflicts_with = "memory")]
    pub db: PathBuf,
    /// Keep devices in memory only.
    #[arg(long)]
    pub memory: bool,
    /// Users and tokens: a JSON array `[{"id": "<guid>", "token": "<token>"}]`. Without
    /// it, two demo users are made and printed.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Requests per second per user; over it, 429 with Retry-After. Off by default.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Longest wait for a request's headers (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = crate::text::parse_duration)]
    pub header_timeout: Duration,
    /// Longest wait between two chunks of a request body.
    #[arg(long, default_value = "10s", value_parser = crate::text::parse_duration)]
    pub body_timeout: Duration,
    /// A built-in profile (`seed`, `graph-v1`, `graph-beta`) or a TOML profile file.
    #[arg(long, default_value = "seed")]
    pub profile: String,
}

/// Runs `serve`; returns the exit code.
pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    let mut config = Config::new(args.addr);
    config.storage = if args.memory {
        Storage::Memory
    } else {
        Storage::File(args.db.clone())
    };
    let demo = args.users.is_none();
    if let Some(path) = &args.users {
        config.users = User::load(path)?;
    }
    config.rate_limit = args.rate_limit;
    config.header_timeout = args.header_timeout;
    config.body_timeout = args.body_timeout;
    config.profile = super::load_profile(&args.profile)?;
    let storage = match &config.storage {
        Storage::File(p) => format!("SQLite file {}", p.display()),
        Storage::Memory => "memory (not durable)".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Status lines go to stdout when someone reads it; a closed stdout must not stop the
    // server, so write errors are ignored.
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    runtime.block_on(async move {
        // Listen for SIGTERM before saying "listening": a supervisor (or a test) that
        // stops the server as soon as it is up must get the clean shutdown.
        let shutdown = shutdown_signal();
        let running = server::start(config).await?;
        say(format!(
            "devices-harness serve: listening on {} ({storage})",
            running.url()
        ));
        for user in &running.users {
            if demo {
                say(format!("  demo user {}  token {}", user.id, user.token));
            } else {
                say(format!("  user {}", user.id));
            }
        }
        if let Some(user) = running.users.first().filter(|_| demo) {
            say(format!(
                "  try: curl -i -H 'Authorization: Bearer {}' {}/me/devices",
                user.token,
                running.url()
            ));
        }
        shutdown.await;
        say("devices-harness serve: shutting down".into());
        running.shutdown().await;
        anyhow::Ok(0)
    })
}

/// A future that ends on Ctrl-C or SIGTERM; both handlers are installed when it is made.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = Box::pin(tokio::signal::ctrl_c());
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}

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

mod cases;
pub mod causes;
mod cleanup;
mod collect;
mod config;
mod ctx;
mod mirror;
mod probes;
mod report;
mod runner;
mod sarif;
pub mod shrink;
mod watch;

pub use cases::{Case, CaseId, CaseKind, FUZZ_BASE};
pub use config::{CheckError, Config};
pub use mirror::ReferenceReport;
pub use report::{
    Counts, EndpointCounts, Finding, OracleReport, Report, Reproducer, Throttling, junit_document,
};
pub use runner::run;
pub use sarif::SARIF_SCHEMA;

pub use crate::target::oracles::{Oracle, Violation};
pub use crate::target::{
    Body, Cleanup, Credentials, Request, Response, Service, Target, Throttle, Transport,
    TransportError,
};

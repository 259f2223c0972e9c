//! The target layer: how the suite talks to a devices endpoint, and how it judges one
//! answer. `check`, `load` and `run` all stand on it, and on nothing of each other's.
//!
//! - [`Target`]: where requests go ([`Transport`], HTTP or in process) and as whom
//!   ([`Credentials`]), and the target's process when the harness started it ([`spawn`]);
//! - [`transport`]: [`Request`] and [`Response`], every exchange bounded in time and size;
//! - [`throttle`]: waiting out 429s (`Retry-After`) and pacing to a rate;
//! - [`cleanup`]: deleting what a run created, and the tally every report gives;
//! - [`differential`]: the target's answer beside a reference implementation's;
//! - [`oracles`]: the oracles' names and their judging functions: whether one response is
//!   an answer the contract allows ([`oracles::judge`]), whether a device came back as
//!   sent ([`oracles::same_device`]).

pub mod cleanup;
pub mod differential;
pub mod oracles;
pub mod spawn;
pub mod throttle;
pub mod transport;

pub use cleanup::Cleanup;
pub use oracles::{Oracle, Violation};
pub use spawn::Spawned;
pub use throttle::Throttle;
pub use transport::{
    Body, MAX_RESPONSE_BYTES, Request, Response, Service, Transport, TransportError,
};

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
    pub spawned: Option<std::sync::Arc<Spawned>>,
}

impl Target {
    /// The embedded reference server over HTTP, as its first demo user, with the second
    /// for the cross-user checks.
    #[cfg(feature = "server")]
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

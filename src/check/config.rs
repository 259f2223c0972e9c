//! How a run goes ([`Config`]), and why it could not be made ([`CheckError`]).

use std::time::Duration;

use super::CaseId;
use crate::contract::Profile;
use crate::target::{Oracle, Target, Throttle, TransportError};

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
    /// Leave the devices the run created on the target (`--keep`); by default they are
    /// deleted at the end.
    pub keep: bool,
    /// Run the fixed probes after the generated cases (`run --phases` without `check`
    /// turns them off).
    pub probes: bool,
    /// The oracles to run (`--oracles`); the others send nothing and are reported as not
    /// selected.
    pub oracles: Vec<Oracle>,
    /// A reference implementation (`--reference`): every request goes to it too, and the
    /// `differential` oracle compares the answers.
    pub reference: Option<Target>,
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
            keep: false,
            probes: true,
            oracles: Oracle::ALL.to_vec(),
            reference: None,
        }
    }
}

impl Config {
    /// Whether `oracle` is one the run checks.
    pub fn selected(&self, oracle: Oracle) -> bool {
        self.oracles.contains(&oracle)
    }

    /// Whether requests are mirrored to a reference and compared.
    pub fn differential(&self) -> bool {
        self.reference.is_some() && self.selected(Oracle::Differential)
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

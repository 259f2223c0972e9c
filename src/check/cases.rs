//! Generated cases: a case id (`SEED:INDEX`) names one request exactly, valid or
//! malformed, and every choice that built it is kept on a tape, so a failing case can be
//! shrunk by simplifying the tape and replayed by its id.

use std::fmt;
use std::str::FromStr;

use super::Oracle;
use crate::answer::{self, Answer, Expected};
use crate::contract::{ClientId, Profile};
use crate::error::{GraphCode, Rule};
use crate::generate::malformed::{Defect, RequestHeaders, malformed};
use crate::generate::{Replay, Rng, Source, render, valid};
use crate::model::{Device, Guid};

/// Names one generated case: the run's seed and the case's index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CaseId {
    /// The run's seed.
    pub seed: u64,
    /// The case's index.
    pub index: u64,
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seed, self.index)
    }
}

impl FromStr for CaseId {
    type Err = String;

    fn from_str(s: &str) -> Result<CaseId, String> {
        let (seed, index) = s
            .split_once(':')
            .ok_or_else(|| format!("'{s}' is not a case id (SEED:INDEX, as reports print)"))?;
        let seed = seed
            .parse()
            .map_err(|_| format!("'{seed}' is not a seed"))?;
        let index = index
            .parse()
            .map_err(|_| format!("'{index}' is not an index"))?;
        Ok(CaseId { seed, index })
    }
}

/// Written as `SEED:INDEX`, the form `--replay` takes.
impl serde::Serialize for CaseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl CaseId {
    /// Whether the case was sent by the fuzz phase (not one of the generated cases).
    pub fn in_fuzz_phase(self) -> bool {
        self.index >= FUZZ_BASE
    }

    /// The random source of this case (independent of every other case's).
    pub fn rng(self) -> Rng {
        let mut mix = Rng::new(self.seed ^ self.index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Rng::new(mix.next_u64())
    }
}

/// What a case sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    /// A valid device.
    Valid,
    /// A request breaking this one rule.
    Malformed(Defect),
    /// A valid body with random edits (bytes, or one JSON-aware change), judged by what
    /// the suite's parser says of it: a differential test of the target's parser.
    Mutated,
}

impl CaseKind {
    /// Even indexes are valid devices; odd ones go through the malformed classes in turn,
    /// so every class is sent once per `2 * classes.len()` cases.
    /// From [`FUZZ_BASE`] on (the fuzz phase), a third are malformed classes in turn and
    /// two thirds mutated bodies.
    pub fn of(index: u64, classes: &[Defect]) -> CaseKind {
        if let Some(i) = index.checked_sub(FUZZ_BASE) {
            if classes.is_empty() || !i.is_multiple_of(3) {
                return CaseKind::Mutated;
            }
            return CaseKind::Malformed(classes[(i / 3) as usize % classes.len()]);
        }
        if index.is_multiple_of(2) || classes.is_empty() {
            return CaseKind::Valid;
        }
        let i = (index / 2) as usize % classes.len();
        CaseKind::Malformed(classes[i])
    }

    /// `valid` or the defect class.
    pub fn name(self) -> String {
        match self {
            CaseKind::Valid => "valid".to_owned(),
            CaseKind::Malformed(d) => d.class(),
            CaseKind::Mutated => "mutated".to_owned(),
        }
    }
}

/// The first case index of the fuzz phase.
pub const FUZZ_BASE: u64 = 1 << 40;

/// The defect classes `check` sends as generated cases: all but `body-too-large`, which
/// the liveness probes send a few times (4 MiB each).
pub fn classes() -> Vec<Defect> {
    Defect::all()
        .into_iter()
        .filter(|d| *d != Defect::BodyTooLarge)
        .collect()
}

/// One generated request and what a conforming target answers.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its kind.
    pub kind: CaseKind,
    /// The oracle that judges its answer.
    pub oracle: Oracle,
    /// The valid device sent (valid cases, and mutated ones the parser accepts).
    pub device: Option<Device>,
    /// The body.
    pub bytes: Vec<u8>,
    /// Headers and path.
    pub headers: RequestHeaders,
    /// Every answer a conforming target may give.
    pub expected: Expected,
    /// One line on what was sent.
    pub description: String,
    /// Every choice that built it: replaying these gives the same case.
    pub choices: Vec<u64>,
}

/// Records the choices drawn from an inner source.
struct Tape<S> {
    inner: S,
    choices: Vec<u64>,
}

impl<S: Source> Source for Tape<S> {
    fn below(&mut self, n: u64) -> u64 {
        let v = self.inner.below(n);
        self.choices.push(v);
        v
    }
}

/// The case `id` names (`None` when its class does not apply to the profile), its client
/// id (if any) salted with `salt` (see [`Guid::salted`]).
pub fn generate(profile: &Profile, id: CaseId, classes: &[Defect], salt: u128) -> Option<Case> {
    let kind = CaseKind::of(id.index, classes);
    let mut tape = Tape {
        inner: id.rng(),
        choices: Vec::new(),
    };
    let mut case = build(profile, kind, &mut tape, salt)?;
    case.choices = tape.choices;
    Some(case)
}

/// The case of `kind` built from `choices` (what the shrinker tries).
pub fn replay(profile: &Profile, kind: CaseKind, choices: &[u64], salt: u128) -> Option<Case> {
    let mut case = build(profile, kind, &mut Replay::new(choices), salt)?;
    case.choices = choices.to_vec();
    Some(case)
}

fn build(profile: &Profile, kind: CaseKind, src: &mut impl Source, salt: u128) -> Option<Case> {
    let mut device = valid::device(profile, src);
    if let Some(id) = device.id(profile).map(|g| g.salted(salt)) {
        device.set_id(profile, id);
    }
    match kind {
        CaseKind::Valid => {
            let bytes = render::render(profile, &device, src);
            let headers = RequestHeaders::valid(src);
            let rejected_id =
                device.id(profile).is_some() && profile.policies().client_id == ClientId::Reject;
            let (oracle, expected) = if rejected_id {
                (Oracle::Rejection, rejected_client_id(profile))
            } else {
                (Oracle::Acceptance, Expected::created())
            };
            Some(Case {
                kind,
                oracle,
                description: format!("a valid device ({} bytes)", bytes.len()),
                device: Some(device),
                bytes,
                headers,
                expected,
                choices: Vec::new(),
            })
        }
        CaseKind::Mutated => {
            let base = render::render(profile, &device, src);
            let (bytes, how) = mutate(base, src);
            let headers = RequestHeaders::valid(src);
            let (mut expected, device) = answer::for_body(profile, &bytes);
            if device.as_ref().is_some_and(|d| sets_read_only(profile, d)) {
                // A target may refuse a read-only property in a create, or ignore it.
                expected = expected.or_either_400();
            }
            if profile.policies().client_id == ClientId::Honour && client_id(profile, &bytes) {
                // The mutator reuses GUIDs, and any rule a body breaks may be the one
                // reported: a client id already taken is a 409.
                expected = expected.or(Answer::error(GraphCode::MultipleObjectsWithSameKeyValue));
            }
            let oracle = if device.is_some() {
                Oracle::Acceptance
            } else {
                Oracle::Rejection
            };
            Some(Case {
                kind,
                oracle,
                description: format!("a valid device after {how}"),
                device,
                bytes,
                headers,
                expected,
                choices: Vec::new(),
            })
        }
        CaseKind::Malformed(defect) => {
            let case = malformed(profile, &device, defect, src)?;
            Some(Case {
                kind,
                oracle: oracle_of(defect),
                device: None,
                bytes: case.bytes,
                headers: case.headers,
                expected: case.expected,
                description: case.description,
                choices: Vec::new(),
            })
        }
    }
}

/// Whether `device` gives a value (or null) for a read-only property other than the key.
fn sets_read_only(profile: &Profile, device: &crate::model::Device) -> bool {
    profile
        .properties()
        .iter()
        .zip(&device.properties)
        .any(|(def, slot)| def.read_only && !def.key && slot.is_some())
}

/// The oracle a malformed class answers to.
fn oracle_of(defect: Defect) -> Oracle {
    match defect {
        Defect::MissingToken
        | Defect::EmptyToken
        | Defect::UnknownToken
        | Defect::WrongAuthScheme => Oracle::Authentication,
        Defect::OtherUsersPath => Oracle::Authorization,
        Defect::NoContentType | Defect::WrongContentType | Defect::NonUtf8Charset => Oracle::Http,
        _ => Oracle::Rejection,
    }
}

/// Whether `bytes` read as JSON has a top-level client id of GUID form.
fn client_id(profile: &Profile, bytes: &[u8]) -> bool {
    let key = &profile.properties()[profile.key()].name;
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get(key.as_str())
                .and_then(|id| id.as_str().map(str::to_owned))
        })
        .is_some_and(|id| Guid::parse(&id).is_ok())
}

/// What a profile that rejects client ids answers to one.
fn rejected_client_id(profile: &Profile) -> Expected {
    let key = &profile.properties()[profile.key()].name;
    Expected::body(Rule::ClientIdNotAllowed, Some(format!("/{key}")))
}

/// Bytes a parser must take apart with care.
const HOSTILE_BYTES: &[u8] = b"\"{}[],:\\\x00\xff0-e. \tntf\x7f\xc3\xed\xa0";

/// `body` after one JSON-aware change, or 1 to 4 byte edits; and which.
fn mutate(mut body: Vec<u8>, src: &mut impl Source) -> (Vec<u8>, &'static str) {
    if src.below(2) == 0
        && let Some(changed) = crate::generate::mutate::mutate_json(&body, src.bits())
    {
        return (changed, "a JSON-aware change");
    }
    let edits = 1 + src.below(4);
    for _ in 0..edits {
        let at = src.below(body.len() as u64 + 1) as usize;
        let byte = HOSTILE_BYTES[src.below(HOSTILE_BYTES.len() as u64) as usize];
        match src.below(3) {
            0 if at < body.len() => body[at] = byte,
            1 => body.insert(at.min(body.len()), byte),
            _ if at < body.len() => {
                body.remove(at);
            }
            _ => body.push(byte),
        }
    }
    (body, "byte edits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_id_names_one_case_and_its_tape_replays_it() {
        let profile = Profile::seed();
        let classes = classes();
        for index in 0..200 {
            let id = CaseId { seed: 7, index };
            let a = generate(profile, id, &classes, 0).unwrap();
            let b = generate(profile, id, &classes, 0).unwrap();
            assert_eq!(a.bytes, b.bytes);
            let again = replay(profile, a.kind, &a.choices, 0).unwrap();
            assert_eq!(again.bytes, a.bytes, "case {id}");
            assert_eq!(again.headers, a.headers);
            assert_eq!(id.to_string().parse::<CaseId>(), Ok(id));
        }
        let other = generate(profile, CaseId { seed: 8, index: 0 }, &classes, 0).unwrap();
        let first = generate(profile, CaseId { seed: 7, index: 0 }, &classes, 0).unwrap();
        assert_ne!(other.bytes, first.bytes);
    }

    #[test]
    fn every_class_comes_round_in_turn() {
        let classes = classes();
        let seen: std::collections::HashSet<String> = (0..2 * classes.len() as u64)
            .map(|i| CaseKind::of(i, &classes).name())
            .collect();
        assert_eq!(seen.len(), classes.len() + 1);
        assert!("12".parse::<CaseId>().is_err());
    }
}

//! The integrity pass after a load run: every device that got a 201 is read back (or a
//! sample of them) and compared with what was sent, regenerated from its seed. A lost
//! write (not 200) or an altered one (different properties) fails the run.

use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use http::Method;
use serde::{Deserialize, Serialize};

use super::{Created, Shared};
use crate::generate::{Rng, Source};
use crate::target::oracles::{answer_device, same_device};
use crate::target::{Oracle, Request, Transport};

/// How many created devices are read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// Every one.
    Exhaustive,
    /// This many, picked at random (all when fewer were created).
    Sample(usize),
    /// None.
    Off,
}

impl FromStr for Integrity {
    type Err = String;

    fn from_str(s: &str) -> Result<Integrity, String> {
        match s {
            "exhaustive" | "all" => Ok(Integrity::Exhaustive),
            "off" => Ok(Integrity::Off),
            n => n
                .strip_prefix("sample:")
                .unwrap_or(n)
                .parse()
                .map(Integrity::Sample)
                .map_err(|_| format!("'{s}': use exhaustive, off, or sample:N")),
        }
    }
}

/// What the pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityReport {
    /// `exhaustive`, `sample` or `off`.
    pub mode: String,
    /// Devices that got a 201.
    pub created: u64,
    /// Devices read back.
    pub checked: u64,
    /// Read back not found (or another status).
    pub lost: u64,
    /// Read back with other properties than were sent.
    pub altered: u64,
    /// Reads that got no answer at all.
    pub unanswered: u64,
    /// The first few problems, one line each.
    pub examples: Vec<String>,
}

impl IntegrityReport {
    /// No write lost or altered, and every read answered.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.altered == 0 && self.unanswered == 0
    }

    /// Adds another worker's pass (the first 20 examples kept).
    pub fn add(&mut self, other: &IntegrityReport) {
        self.created += other.created;
        self.checked += other.checked;
        self.lost += other.lost;
        self.altered += other.altered;
        self.unanswered += other.unanswered;
        self.examples.extend(other.examples.iter().cloned());
        self.examples.truncate(20);
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        format!(
            "integrity ({}): {} created, {} read back, {} lost, {} altered, {} unanswered",
            self.mode, self.created, self.checked, self.lost, self.altered, self.unanswered
        )
    }
}

enum Verdict {
    Ok,
    Lost(String),
    Altered(String),
    Unanswered(String),
}

pub(crate) async fn verify(
    host: &str,
    shared: &Shared,
    mut created: Vec<Created>,
    mode: Integrity,
) -> anyhow::Result<IntegrityReport> {
    let mut report = IntegrityReport {
        mode: match mode {
            Integrity::Exhaustive => "exhaustive".into(),
            Integrity::Sample(n) => format!("sample:{n}"),
            Integrity::Off => "off".into(),
        },
        created: created.len() as u64,
        ..IntegrityReport::default()
    };
    match mode {
        Integrity::Off => return Ok(report),
        Integrity::Sample(n) if n < created.len() => {
            // A partial Fisher-Yates shuffle: the first n are a uniform sample.
            let mut rng = Rng::new(shared.seed ^ 0x1a7e);
            for i in 0..n {
                let j = i + rng.below((created.len() - i) as u64) as usize;
                created.swap(i, j);
            }
            created.truncate(n);
        }
        _ => {}
    }
    let transport = Transport::http(host, 16)?;
    let verdicts: Vec<Verdict> = futures_util::stream::iter(created)
        .map(|c| read_one(&transport, shared, c))
        .buffer_unordered(16)
        .collect()
        .await;
    for v in verdicts {
        report.checked += 1;
        let example = match v {
            Verdict::Ok => continue,
            Verdict::Lost(e) => {
                report.lost += 1;
                e
            }
            Verdict::Altered(e) => {
                report.altered += 1;
                e
            }
            Verdict::Unanswered(e) => {
                report.unanswered += 1;
                e
            }
        };
        if report.examples.len() < 20 {
            report.examples.push(example);
        }
    }
    Ok(report)
}

async fn read_one(transport: &Transport, shared: &Shared, c: Created) -> Verdict {
    let read_path = c.read_path(&shared.paths);
    let Some(creds) = shared.users.get(c.user()) else {
        return Verdict::Unanswered(format!("no credentials for {read_path}"));
    };
    let req = Request::new(Method::GET, read_path.clone())
        .header("authorization", &format!("Bearer {}", creds.token));
    // A 429 is waited out and the read sent again; still throttled, it is unanswered
    // (never a lost write).
    let throttle = crate::target::Throttle::default();
    let sent =
        crate::target::throttle::send(transport, &req, Duration::from_secs(10), &throttle, None);
    let r = match sent.await.result {
        Ok(r) => r,
        Err(e) => return Verdict::Unanswered(format!("GET {read_path}: {e}")),
    };
    if r.status != 200 {
        return Verdict::Lost(format!(
            "GET {read_path} after its 201: {}",
            crate::target::oracles::seen(&r)
        ));
    }
    let id = c.id();
    let sent = super::scenarios::device_of(shared, c.seed, c.keep_id);
    let problems = match answer_device(Oracle::Persistence, &shared.reading, &r) {
        Ok(got) => same_device(&shared.profile, &sent, &got, Some(id)),
        Err(v) => vec![v],
    };
    match problems.first() {
        None => Verdict::Ok,
        Some(v) => Verdict::Altered(format!(
            "GET {read_path}: {} expected {}, saw {}",
            v.rule, v.expected, v.seen
        )),
    }
}

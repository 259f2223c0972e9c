//! Deleting what a run created: the tally of a clean-up ([`Cleanup`]) that `check`,
//! `run` and `load` report, and [`delete_all`] for a list of devices and their owners.

use std::time::Duration;

use futures_util::StreamExt;
use http::Method;
use serde::{Deserialize, Serialize};

use super::{Request, Throttle, Transport, throttle};

/// What the clean-up did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleanup {
    /// Devices the run created (201s to its POSTs, with an id).
    pub created: u64,
    /// Deleted by the run (204), by its probes or at the end.
    pub deleted: u64,
    /// Already gone at the end (404).
    pub gone: u64,
    /// Left on the target.
    pub left: Vec<String>,
    /// Why devices were left (`--keep`, no DELETE, the first failure).
    pub reason: Option<String>,
}

impl Cleanup {
    /// Counts the answers to the clean-up's DELETEs (a status, or why there is none):
    /// 204 deleted, 404 already gone, anything else left with the first reason.
    pub fn tally(&mut self, results: Vec<(String, Result<u16, String>)>) {
        for (id, result) in results {
            let why = match result {
                Ok(204) => {
                    self.deleted += 1;
                    continue;
                }
                Ok(404) => {
                    self.gone += 1;
                    continue;
                }
                Ok(405 | 501) => "the target has no DELETE (405)".to_owned(),
                Ok(status) => format!("DELETE answered {status}"),
                Err(why) => why,
            };
            self.left.push(id);
            self.reason.get_or_insert(why);
        }
        self.left.sort();
    }

    /// Adds another clean-up's counts (merging workers' reports).
    pub fn add(&mut self, other: &Cleanup) {
        self.created += other.created;
        self.deleted += other.deleted;
        self.gone += other.gone;
        self.left.extend(other.left.iter().cloned());
        if self.reason.is_none() {
            self.reason.clone_from(&other.reason);
        }
    }

    /// One line for the terminal, `None` when nothing was created.
    pub fn line(&self) -> Option<String> {
        if self.created == 0 {
            return None;
        }
        let mut s = format!(
            "clean-up: {} created, {} deleted, {} already gone, {} left",
            crate::text::plural(self.created, "device"),
            self.deleted,
            self.gone,
            self.left.len()
        );
        if let (Some(why), Some(first)) = (&self.reason, self.left.first()) {
            s.push_str(&format!(" ({why}; such as {first})"));
        }
        Some(s)
    }
}

/// Deletes every `(id, token)` with `DELETE {collection}/{id}` (`/me/devices/{id}` on the
/// seed's routes), `concurrency` at a time, 429s waited out; the tally, with `created`
/// devices in all.
pub async fn delete_all(
    transport: &Transport,
    collection: &str,
    devices: Vec<(String, String)>,
    created: u64,
    concurrency: usize,
) -> Cleanup {
    let throttle = Throttle::default();
    let results = futures_util::stream::iter(devices)
        .map(|(id, token)| {
            let throttle = &throttle;
            async move {
                let req = Request::new(Method::DELETE, format!("{collection}/{id}"))
                    .header("authorization", &format!("Bearer {token}"));
                let sent = throttle::send(transport, &req, Duration::from_secs(10), throttle, None);
                let result = match sent.await.result {
                    Ok(r) => Ok(r.status),
                    Err(e) => Err(format!("DELETE failed: {e}")),
                };
                (id, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = Cleanup {
        created,
        ..Cleanup::default()
    };
    out.tally(results);
    out
}

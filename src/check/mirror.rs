//! Differential mode (`--reference`): every request a run sends to the target through
//! [`exchange`](super::runner::exchange) (generated and fuzz cases, probes) is sent to a
//! reference implementation at the same time, translated to the reference's users and to
//! the ids it assigned (learned from earlier answers); the two answers are compared by
//! [`differential::compare`] as a check of the `differential` oracle. A disagreement is a
//! finding like any other: it has a `curl` line, and a generated case is shrunk.
//!
//! Requests raced on purpose (the concurrent duplicate-id creates of `persistence`) are
//! sent to both but not compared: which of them wins is scheduling, not behaviour. The
//! devices the run created on the reference are deleted at the end, as on the target.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use http::Method;
use serde::Serialize;

use super::cleanup::{created_id, deleted_id, token_of};
use super::collect::{Check, check};
use super::ctx::Ctx;
use crate::target::differential::{self, IdMap};
use crate::target::{
    Cleanup, Oracle, Request, Response, Target, TransportError, cleanup, throttle,
};

/// Whether the answers to a mirrored request are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    /// Compared.
    Answers,
    /// Sent to keep both in step, not compared (a race's winner).
    SendOnly,
}

/// The reference's request and answer, or why there is none.
pub(crate) type Mirrored = Result<(Request, Response), String>;

/// After this many failures in a row the reference is taken for gone.
const GONE_AFTER: u32 = 16;

/// The reference and what the run learned about it.
pub(crate) struct Mirror {
    reference: Target,
    /// `(target's, reference's)` tokens and user ids.
    fixed: Vec<(String, String)>,
    /// Target tokens and user ids the reference has no counterpart for.
    unmatched: Vec<String>,
    ids: RwLock<IdMap>,
    /// Devices created on the reference: id (lower case) -> (token, still there).
    created: Mutex<BTreeMap<String, (String, bool)>>,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    unanswered: AtomicU64,
    created: AtomicU64,
    deleted: AtomicU64,
    failures_in_a_row: AtomicU32,
}

/// The reference's part of a report.
#[derive(Clone, Debug, Serialize)]
pub struct ReferenceReport {
    /// Its base URL, or `embedded reference server at ...`.
    pub target: String,
    /// Requests sent to it.
    pub requests: u64,
    /// Requests it did not answer (the checks they were for are skipped).
    pub unanswered: u64,
    /// The devices the run created on it, and what became of them.
    pub cleanup: Cleanup,
}

impl Mirror {
    pub(crate) fn new(target: &Target, reference: Target) -> Mirror {
        let mut fixed = vec![(target.user.token.clone(), reference.user.token.clone())];
        fixed.push((target.user.user_id.clone(), reference.user.user_id.clone()));
        let mut unmatched = Vec::new();
        match (&target.other, &reference.other) {
            (Some(t), Some(r)) => {
                fixed.push((t.token.clone(), r.token.clone()));
                fixed.push((t.user_id.clone(), r.user_id.clone()));
            }
            (Some(t), None) => unmatched.extend([t.token.clone(), t.user_id.clone()]),
            _ => {}
        }
        // Longest first, so that no value is replaced inside a longer one.
        fixed.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Mirror {
            reference,
            fixed,
            unmatched,
            ids: RwLock::new(IdMap::new()),
            created: Mutex::new(BTreeMap::new()),
            counts: Counts::default(),
        }
    }

    /// The reference's base URL, for reports and replay lines.
    pub(crate) fn describe(&self) -> String {
        if self.reference.embedded {
            format!(
                "embedded reference server at {}",
                self.reference.transport.describe()
            )
        } else {
            self.reference.transport.describe()
        }
    }

    pub(crate) fn reference(&self) -> &Target {
        &self.reference
    }

    /// `req` as the reference must see it, or why it cannot be sent there.
    fn translate(&self, req: &Request) -> Result<Request, &'static str> {
        let mentions = |bytes: &[u8]| {
            self.unmatched
                .iter()
                .filter(|u| !u.is_empty())
                .any(|u| bytes.windows(u.len()).any(|w| w == u.as_bytes()))
        };
        let auth = req.header_value("authorization").unwrap_or_default();
        if mentions(req.path.as_bytes()) || mentions(auth.as_bytes()) {
            return Err("the reference has no second user (--reference-other-token)");
        }
        let ids = self.ids.read().map_err(|_| "the id map is poisoned")?;
        let mut out = req.clone();
        if let Some(p) = differential::translate(req.path.as_bytes(), &self.fixed, &ids) {
            out.path = String::from_utf8_lossy(&p).into_owned();
        }
        for (_, value) in &mut out.headers {
            if let Some(v) = differential::translate(value.as_bytes(), &self.fixed, &ids)
                && let Ok(v) = http::HeaderValue::from_bytes(&v)
            {
                *value = v;
            }
        }
        let body = req.body.bytes();
        if let Some(b) = differential::translate(body, &[], &ids) {
            out.body = match &req.body {
                crate::target::Body::Trickle { chunks, pause, .. } => {
                    crate::target::Body::Trickle {
                        bytes: b.into(),
                        chunks: *chunks,
                        pause: *pause,
                    }
                }
                _ => crate::target::Body::Full(b.into()),
            };
        }
        Ok(out)
    }

    /// Sends `req` to the reference, translated, while the target answers it (the
    /// translation needs only what earlier answers taught): the reference's request and
    /// answer, or why there is none.
    pub(crate) async fn send(&self, ctx: &Ctx, req: &Request) -> Mirrored {
        if self.counts.failures_in_a_row.load(Ordering::Relaxed) >= GONE_AFTER {
            return Err("the reference stopped answering".to_owned());
        }
        let theirs = ctx.routed(self.translate(req).map_err(str::to_owned)?);
        let config = ctx.config();
        let transport = &self.reference.transport;
        let sent = throttle::send(transport, &theirs, config.timeout, &config.throttle, None);
        let sent = sent.await;
        self.counts
            .requests
            .fetch_add(1 + u64::from(sent.throttled), Ordering::Relaxed);
        match sent.result {
            Ok(want) => {
                self.counts.failures_in_a_row.store(0, Ordering::Relaxed);
                Ok((theirs, want))
            }
            Err(e) => {
                self.counts.unanswered.fetch_add(1, Ordering::Relaxed);
                if !matches!(e, TransportError::Throttled(_)) {
                    self.counts
                        .failures_in_a_row
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(format!("the reference did not answer: {}", e.kind()))
            }
        }
    }

    /// Learns from both answers to `req` (`got`: the target's, when it answered) and
    /// compares them: the `differential` check (`None` when not compared).
    pub(crate) fn judge(
        &self,
        req: &Request,
        got: Option<&Response>,
        mirrored: Mirrored,
        endpoint: &str,
        compare: Compare,
    ) -> Option<Check> {
        let (theirs, want) = match mirrored {
            Ok(m) => m,
            // Only worth saying when the target answered.
            Err(why) => {
                return got.map(|_| Check::skipped(Oracle::Differential, endpoint, req, &why));
            }
        };
        self.learn(&theirs, got, &want);
        let got = got?;
        // A 5xx from the target is the server-errors oracle's.
        if compare == Compare::SendOnly || got.status >= 500 {
            return None;
        }
        let ids = self.ids.read().ok()?;
        let v = differential::compare(got, &want, req.body.bytes(), &ids);
        Some(check(Oracle::Differential, endpoint, req, v))
    }

    /// Learns the reference's id for a device both created, and keeps the reference's
    /// devices for the clean-up.
    fn learn(&self, theirs: &Request, got: Option<&Response>, want: &Response) {
        if theirs.method == Method::POST && want.status == 201 {
            let Some(id) = created_id(want) else {
                return;
            };
            if let Some(got) = got.filter(|g| g.status == 201)
                && let Some(ours) = created_id(got)
                && ours != id
                && let Ok(mut ids) = self.ids.write()
            {
                ids.insert(ours, id.clone());
            }
            let token = token_of(theirs).unwrap_or_default().to_owned();
            if let Ok(mut c) = self.created.lock() {
                c.insert(id, (token, true));
                self.counts.created.fetch_add(1, Ordering::Relaxed);
            }
        } else if theirs.method == Method::DELETE
            && want.status == 204
            && let Ok(mut c) = self.created.lock()
            && let Some((_, live)) = c.get_mut(&deleted_id(theirs))
            && *live
        {
            *live = false;
            self.counts.deleted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deletes the devices left on the reference (unless `keep`) from `collection`; the
    /// reference's part of the report.
    pub(crate) async fn finish(
        &self,
        keep: bool,
        concurrency: usize,
        collection: &str,
    ) -> ReferenceReport {
        let live: Vec<(String, String)> = match self.created.lock() {
            Ok(mut c) => std::mem::take(&mut *c)
                .into_iter()
                .filter(|(_, (_, live))| *live)
                .map(|(id, (token, _))| (id, token))
                .collect(),
            Err(_) => Vec::new(),
        };
        let created = self.counts.created.load(Ordering::Relaxed);
        let deleted = self.counts.deleted.load(Ordering::Relaxed);
        let mut tally = if keep {
            Cleanup {
                created,
                reason: (!live.is_empty()).then(|| "--keep".to_owned()),
                left: live.into_iter().map(|(id, _)| id).collect(),
                ..Cleanup::default()
            }
        } else {
            let n = live.len() as u64;
            self.counts.requests.fetch_add(n, Ordering::Relaxed);
            let transport = &self.reference.transport;
            cleanup::delete_all(transport, collection, live, created, concurrency).await
        };
        tally.deleted += deleted;
        ReferenceReport {
            target: self.describe(),
            requests: self.counts.requests.load(Ordering::Relaxed),
            unanswered: self.counts.unanswered.load(Ordering::Relaxed),
            cleanup: tally,
        }
    }
}

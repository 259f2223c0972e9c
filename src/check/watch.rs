//! Crashes and hangs, detected and attributed: the most valuable thing a run can find.
//!
//! Every request goes through [`Watch`]: it knows which requests are in flight. When one
//! fails with a broken or refused connection and the target process has ended (or, with
//! no `--spawn`, its port refuses connections), that is one **crash**: every other
//! request is held back, the exit status and the last lines of stderr are kept, the
//! requests in flight at the death are replayed one at a time against a restarted target
//! until one kills it again (the **killer**), and its body is shrunk with the predicate
//! "the target dies", as libFuzzer minimizes a crash. The same crash again (the same last
//! line of stderr) is counted on its cause. A request that gets no answer within the
//! timeout while a request sent beside it is answered, and again when sent alone, is a
//! **hang**: shrunk with "no answer", one cause per input class. Requests that failed only
//! because the target died are sent again after the restart, so every oracle still runs.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::target::spawn::Spawned;
use crate::target::transport::{Body, Request, Response, Transport, TransportError};

/// Candidates the shrinker may try for a crash.
const CRASH_SHRINK_BUDGET: usize = 100;
/// Candidates for a hang (each hanging one costs the hang timeout).
const HANG_SHRINK_BUDGET: usize = 8;
/// Lines of stderr kept with a crash.
const STDERR_TAIL: usize = 40;

/// A crash or a hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The target process died (or its port stopped accepting connections).
    Crash,
    /// The target left a request unanswered while answering others.
    Hang,
}

/// One crash or hang cause, with its reproducer.
#[derive(Clone, Debug)]
pub struct Event {
    /// `crash` or `hang`.
    pub kind: EventKind,
    /// `C1`, `H1`, ...
    pub id: String,
    /// The input class of the request that caused it.
    pub class: String,
    /// For a hang: every input class seen hanging (on the same method and path).
    pub classes: Vec<String>,
    /// How the process ended (`exit code 70`, `killed by signal 11 (SIGSEGV)`), for a
    /// crash of a spawned target.
    pub exit: Option<String>,
    /// The last lines of the target's stderr at the death.
    pub stderr_tail: Vec<String>,
    /// What tells this crash from another: the last line of stderr, digits masked.
    pub signature: String,
    /// The smallest request found that reproduces it (`None` when none did).
    pub killer: Option<Request>,
    /// The request it was first seen on, before shrinking.
    pub origin: Option<Request>,
    /// Requests that were in flight when it happened.
    pub suspects: usize,
    /// Shrinking steps taken and candidates tried.
    pub shrink: (usize, usize),
    /// How many times it happened.
    pub count: u64,
}

/// What became of a failed request.
pub(crate) enum After {
    /// A failure of its own: judge it as it is.
    Genuine,
    /// The target died under it and was restarted: send it again.
    Retry,
    /// It crashed or hung the target: this cause.
    Cause(String),
    /// The target is gone for good: judge nothing more.
    Gone,
}

struct Flight {
    epoch: u64,
    req: Request,
}

/// The state of the target as a run sees it.
pub(crate) struct Watch {
    spawned: Option<Arc<Spawned>>,
    transport: Mutex<Transport>,
    connections: usize,
    /// Sends hold it shared; crash handling holds it alone.
    gate: tokio::sync::RwLock<()>,
    handling: tokio::sync::Mutex<()>,
    epoch: AtomicU64,
    next: AtomicU64,
    in_flight: Mutex<BTreeMap<u64, Flight>>,
    events: Mutex<Vec<Event>>,
    restarts_left: AtomicU32,
    restarts: AtomicU32,
    gone: Mutex<Option<String>>,
    extra_requests: AtomicU64,
}

impl Watch {
    pub(crate) fn new(
        transport: Transport,
        spawned: Option<Arc<Spawned>>,
        connections: usize,
        max_restarts: u32,
    ) -> Watch {
        Watch {
            spawned,
            transport: Mutex::new(transport),
            connections,
            gate: tokio::sync::RwLock::new(()),
            handling: tokio::sync::Mutex::new(()),
            epoch: AtomicU64::new(0),
            next: AtomicU64::new(0),
            in_flight: Mutex::new(BTreeMap::new()),
            events: Mutex::new(Vec::new()),
            restarts_left: AtomicU32::new(max_restarts),
            restarts: AtomicU32::new(0),
            gone: Mutex::new(None),
            extra_requests: AtomicU64::new(0),
        }
    }

    /// The transport (a new one after every restart: pooled connections died with the
    /// target).
    pub(crate) fn transport(&self) -> Transport {
        match self.transport.lock() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Why the target is gone for good, if it is.
    pub(crate) fn gone(&self) -> Option<String> {
        self.gone.lock().ok().and_then(|g| g.clone())
    }

    /// The crashes and hangs, in the order found.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The id of the last crash, if any.
    pub(crate) fn last_crash(&self) -> Option<String> {
        let events = self.events.lock().ok()?;
        events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Crash)
            .map(|e| e.id.clone())
    }

    /// Restarts made.
    pub(crate) fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Requests sent while replaying and shrinking.
    pub(crate) fn extra_requests(&self) -> u64 {
        self.extra_requests.load(Ordering::Relaxed)
    }

    /// Waits until no crash is being handled, and registers `req` as in flight.
    pub(crate) async fn enter(
        &self,
        req: &Request,
    ) -> (tokio::sync::RwLockReadGuard<'_, ()>, u64, u64) {
        let guard = self.gate.read().await;
        let epoch = self.epoch.load(Ordering::Acquire);
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.in_flight.lock() {
            f.insert(
                ticket,
                Flight {
                    epoch,
                    req: req.clone(),
                },
            );
        }
        (guard, epoch, ticket)
    }

    /// `ticket` is answered (or judged).
    pub(crate) fn leave(&self, ticket: u64) {
        if let Ok(mut f) = self.in_flight.lock() {
            f.remove(&ticket);
        }
    }

    /// Decides what a failed exchange means; handles the crash or hang when it is one.
    pub(crate) async fn after_failure(
        &self,
        req: &Request,
        error: &TransportError,
        epoch: u64,
        timeout: Duration,
        beside: Request,
    ) -> After {
        if self.gone().is_some() {
            return After::Gone;
        }
        let dead = match (&self.spawned, error) {
            (Some(s), _) => s.exits_within(Duration::from_millis(300)).await.is_some(),
            // Refused: dead if it still refuses a moment later (not a passing refusal).
            (None, TransportError::Connect(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let probe = self.transport().send(beside.clone(), timeout).await;
                matches!(probe, Err(TransportError::Connect(_)))
            }
            (None, _) => false,
        };
        if dead {
            return self.crashed(req, epoch, timeout).await;
        }
        match error {
            TransportError::Timeout(_) => self.hung(req, timeout, beside).await,
            _ => After::Genuine,
        }
    }

    async fn crashed(&self, req: &Request, epoch: u64, timeout: Duration) -> After {
        let _one = self.handling.lock().await;
        if self.epoch.load(Ordering::Acquire) != epoch {
            // Handled already: this request was in flight at that death.
            return self.verdict_after(req);
        }
        if self.gone().is_some() {
            return After::Gone;
        }
        // Every other request in flight finishes (and fails) first.
        let _alone = self.gate.write().await;
        let suspects: Vec<Request> = self
            .in_flight
            .lock()
            .map(|f| {
                let mut seen: Vec<Request> = Vec::new();
                for flight in f.values().filter(|x| x.epoch == epoch) {
                    if !seen.iter().any(|s| same(s, &flight.req)) {
                        seen.push(flight.req.clone());
                    }
                }
                seen
            })
            .unwrap_or_default();
        let Some(spawned) = self.spawned.clone() else {
            // No way to restart it: one cause, the suspects listed, and the run ends.
            self.record(Event {
                kind: EventKind::Crash,
                id: String::new(),
                class: req.tag.clone().unwrap_or_else(|| "probe".to_owned()),
                classes: Vec::new(),
                exit: None,
                stderr_tail: Vec::new(),
                signature: "connection refused".to_owned(),
                killer: (suspects.len() == 1).then(|| suspects[0].clone()),
                origin: None,
                suspects: suspects.len(),
                shrink: (0, 0),
                count: 1,
            });
            self.give_up("the target stopped accepting connections, and without --spawn it cannot be restarted");
            return After::Gone;
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let exit = spawned.exited().await;
        let tail = spawned.stderr_tail(STDERR_TAIL);
        let signature = signature(&tail, exit.as_deref());
        spawned.clear_tail();
        let known = self.events.lock().ok().and_then(|mut events| {
            let e = events
                .iter_mut()
                .find(|e| e.kind == EventKind::Crash && e.signature == signature)?;
            e.count += 1;
            Some(e.id.clone())
        });
        if !self.restart(&spawned).await {
            return After::Gone;
        }
        if known.is_none() {
            // Which request kills it? Each suspect alone against a fresh target.
            let short = timeout.min(Duration::from_secs(3));
            let mut killer = None;
            for s in &suspects {
                if self.kills(&spawned, s, short).await {
                    killer = Some(s.clone());
                    break;
                }
            }
            if self.gone().is_some() {
                return After::Gone;
            }
            let mut shrink = (0, 0);
            let origin = killer.clone();
            if let Some(k) = killer.take() {
                let (small, steps, tries) =
                    shrink_body(&k, CRASH_SHRINK_BUDGET, |candidate| {
                        let spawned = &spawned;
                        async move {
                            self.gone().is_none() && self.kills(spawned, &candidate, short).await
                        }
                    })
                    .await;
                if self.gone().is_some() {
                    return After::Gone;
                }
                shrink = (steps, tries);
                killer = Some(small);
            }
            self.record(Event {
                kind: EventKind::Crash,
                id: String::new(),
                class: killer
                    .as_ref()
                    .unwrap_or(req)
                    .tag
                    .clone()
                    .unwrap_or_else(|| "probe".to_owned()),
                classes: Vec::new(),
                exit,
                stderr_tail: tail,
                signature,
                killer,
                origin,
                suspects: suspects.len(),
                shrink,
                count: 1,
            });
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.verdict_after(req)
    }

    /// After a crash was handled: this request is its killer (a cause) or a bystander
    /// (sent again).
    fn verdict_after(&self, req: &Request) -> After {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        let cause = events.iter().find(|e| {
            e.kind == EventKind::Crash && (e.origin.iter().chain(&e.killer)).any(|k| same(k, req))
        });
        match cause {
            Some(e) => After::Cause(e.id.clone()),
            None if self.gone().is_some() => After::Gone,
            None => After::Retry,
        }
    }

    /// Sends `req` alone; whether the target died of it (restarted then).
    async fn kills(&self, spawned: &Spawned, req: &Request, timeout: Duration) -> bool {
        self.extra_requests.fetch_add(1, Ordering::Relaxed);
        // Answered: alive (a last look, no wait). Not answered: give it a moment to die.
        let wait = match self.transport().send(req.clone(), timeout).await {
            Ok(_) => Duration::ZERO,
            Err(_) => Duration::from_millis(300),
        };
        if spawned.exits_within(wait).await.is_none() {
            return false;
        }
        spawned.clear_tail();
        // Restarts while finding and shrinking a killer are not the run's budget's: they
        // are bounded by the shrink budget.
        self.start_again(spawned).await
    }

    /// Restarts the target after a crash the run met, within `--max-restarts`; false
    /// (and gone) when it cannot be.
    async fn restart(&self, spawned: &Spawned) -> bool {
        let left = self.restarts_left.load(Ordering::Relaxed);
        if left == 0 {
            self.give_up("the restart budget (--max-restarts) is spent");
            return false;
        }
        self.restarts_left.store(left - 1, Ordering::Relaxed);
        self.start_again(spawned).await
    }

    async fn start_again(&self, spawned: &Spawned) -> bool {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        match spawned.restart().await {
            Ok(()) => {
                if let Ok(t) = Transport::http(&spawned.url(), self.connections)
                    && let Ok(mut slot) = self.transport.lock()
                {
                    *slot = t;
                }
                true
            }
            Err(e) => {
                self.give_up(&format!("the target could not be restarted: {e}"));
                false
            }
        }
    }

    fn give_up(&self, why: &str) {
        if let Ok(mut g) = self.gone.lock()
            && g.is_none()
        {
            *g = Some(why.to_owned());
        }
    }

    fn record(&self, mut event: Event) -> String {
        let Ok(mut events) = self.events.lock() else {
            return String::new();
        };
        let prefix = match event.kind {
            EventKind::Crash => "C",
            EventKind::Hang => "H",
        };
        let n = events.iter().filter(|e| e.kind == event.kind).count() + 1;
        event.id = format!("{prefix}{n}");
        let id = event.id.clone();
        events.push(event);
        id
    }

    async fn hung(&self, req: &Request, timeout: Duration, beside: Request) -> After {
        let class = req.tag.clone().unwrap_or_else(|| "probe".to_owned());
        let route = route_of(req);
        let _one = self.handling.lock().await;
        // One hang cause per method, listing the input classes seen hanging.
        let known = self.events.lock().ok().and_then(|mut events| {
            let e = events.iter_mut().find(|e| {
                e.kind == EventKind::Hang && e.killer.as_ref().is_some_and(|k| route_of(k) == route)
            })?;
            e.count += 1;
            if !e.classes.contains(&class) {
                e.classes.push(class.clone());
            }
            Some(e.id.clone())
        });
        if let Some(id) = known {
            return After::Cause(id);
        }
        let short = timeout.min(Duration::from_secs(3));
        let answers = |r: Request| async move {
            self.extra_requests.fetch_add(1, Ordering::Relaxed);
            self.transport().send(r, short).await.is_ok()
        };
        // The target answers others, and not this one, sent alone.
        if !answers(beside.clone()).await || answers(req.clone()).await {
            return After::Genuine;
        }
        let (small, steps, tries) = shrink_body(req, HANG_SHRINK_BUDGET, |candidate| async move {
            !answers(candidate).await
        })
        .await;
        let id = self.record(Event {
            kind: EventKind::Hang,
            id: String::new(),
            classes: vec![class.clone()],
            class,
            exit: None,
            stderr_tail: Vec::new(),
            signature: format!("no answer within {short:?}"),
            killer: Some(small),
            origin: Some(req.clone()),
            suspects: 1,
            shrink: (steps, tries),
            count: 1,
        });
        After::Cause(id)
    }
}

/// What hangs are grouped by: the method (a target that hangs on some bodies usually
/// does so on every path that reads one).
fn route_of(req: &Request) -> String {
    req.method.to_string()
}

/// The same request (method, path, body).
fn same(a: &Request, b: &Request) -> bool {
    a.method == b.method && a.path == b.path && a.body.bytes() == b.body.bytes()
}

/// What tells one crash from another: the last line of stderr that starts at its first
/// column (stack frames are indented; a Python `Traceback` header is skipped), up to its
/// first `": "` (the error's type, as Python, Node, Java and Rust panics print it), digits
/// masked; the last non-empty line when none does; the exit status when stderr is silent.
/// Two threads that die at once interleave their traces, so the very last line can be a
/// frame of one of them: it must not make the same crash a second cause.
fn signature(tail: &[String], exit: Option<&str>) -> String {
    let error_line = tail.iter().rev().find(|l| {
        !l.trim().is_empty() && !l.starts_with(char::is_whitespace) && !l.starts_with("Traceback ")
    });
    let last = error_line.or_else(|| tail.iter().rev().find(|l| !l.trim().is_empty()));
    match last {
        Some(line) => {
            let line = line.trim();
            let head = line.split_once(": ").map_or(line, |(h, _)| h);
            head.chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect()
        }
        None => exit.unwrap_or("died").to_owned(),
    }
}

/// `req` with `body` instead of its own.
fn with_body(req: &Request, body: Vec<u8>) -> Request {
    let mut r = req.clone();
    r.body = Body::Full(Bytes::from(body));
    r
}

/// Shrinks `req`'s body while `still` holds: JSON-aware (members and elements removed,
/// values nulled, strings halved) when it is JSON, else byte chunks removed. The
/// smallest request, the steps taken and the candidates tried.
pub(crate) async fn shrink_body<F, Fut>(
    req: &Request,
    budget: usize,
    still: F,
) -> (Request, usize, usize)
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut best = req.body.bytes().to_vec();
    let (mut steps, mut tries) = (0, 0);
    loop {
        let mut improved = false;
        for candidate in candidates(&best) {
            if tries >= budget {
                return (with_body(req, best), steps, tries);
            }
            if candidate.len() >= best.len() {
                continue;
            }
            tries += 1;
            if still(with_body(req, candidate.clone())).await {
                best = candidate;
                steps += 1;
                improved = true;
                break;
            }
        }
        if !improved {
            return (with_body(req, best), steps, tries);
        }
    }
}

/// One-step simplifications of `body`, biggest first.
fn candidates(body: &[u8]) -> Vec<Vec<u8>> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let mut out = Vec::new();
        json_candidates(&value, &mut Vec::new(), &value, &mut out);
        let mut bytes: Vec<Vec<u8>> = out
            .iter()
            .filter_map(|v| serde_json::to_vec(v).ok())
            .collect();
        bytes.sort_by_key(Vec::len);
        bytes.dedup();
        if !bytes.is_empty() {
            return bytes;
        }
    }
    let mut out = Vec::new();
    let mut chunk = body.len() / 2;
    while chunk > 0 {
        let mut at = 0;
        while at < body.len() {
            let mut c = body[..at].to_vec();
            c.extend_from_slice(&body[(at + chunk).min(body.len())..]);
            out.push(c);
            at += chunk;
        }
        chunk /= 2;
    }
    out
}

/// Every value one edit away from `root` at or below `path`.
fn json_candidates(
    root: &serde_json::Value,
    path: &mut Vec<PathStep>,
    here: &serde_json::Value,
    out: &mut Vec<serde_json::Value>,
) {
    use serde_json::Value;
    fn at(root: &Value, path: &[PathStep], f: &dyn Fn(&mut Value)) -> Value {
        let mut v = root.clone();
        if let Some(slot) = walk(&mut v, path) {
            f(slot);
        }
        v
    }
    match here {
        Value::Object(m) => {
            for (k, child) in m {
                let key = k.clone();
                out.push(at(root, path, &|v: &mut Value| {
                    if let Some(o) = v.as_object_mut() {
                        o.remove(&key);
                    }
                }));
                path.push(PathStep::Key(k.clone()));
                json_candidates(root, path, child, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                out.push(at(root, path, &|v: &mut Value| {
                    if let Some(arr) = v.as_array_mut()
                        && i < arr.len()
                    {
                        arr.remove(i);
                    }
                }));
                path.push(PathStep::Index(i));
                json_candidates(root, path, child, out);
                path.pop();
            }
        }
        Value::String(s) if !s.is_empty() => {
            let half: String = s.chars().take(s.chars().count() / 2).collect();
            let last: String = s.chars().skip(s.chars().count() / 2).collect();
            out.push(at(root, path, &|v: &mut Value| {
                *v = Value::String(half.as_str().into())
            }));
            out.push(at(root, path, &|v: &mut Value| {
                *v = Value::String(last.as_str().into())
            }));
        }
        Value::Null => {}
        _ => out.push(at(root, path, &|v: &mut Value| *v = Value::Null)),
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn walk<'v>(v: &'v mut serde_json::Value, path: &[PathStep]) -> Option<&'v mut serde_json::Value> {
    let mut here = v;
    for step in path {
        here = match step {
            PathStep::Key(k) => here.get_mut(k.as_str())?,
            PathStep::Index(i) => here.get_mut(*i)?,
        };
    }
    Some(here)
}

/// The failures that may mean a crash or a hang.
pub(crate) fn is_failure(result: &Result<Response, TransportError>) -> Option<&TransportError> {
    match result {
        Err(
            e @ (TransportError::Connect(_)
            | TransportError::Broken(_)
            | TransportError::Timeout(_)),
        ) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_shrink_to_what_still_fails() {
        let req = Request::new(http::Method::POST, "/me/devices")
            .body(r#"{"a":1,"b":{"c":"keep\u00ff this","d":[1,2,3]},"e":"x"}"#.to_owned());
        let (small, steps, tries) = shrink_body(&req, 500, |r| async move {
            String::from_utf8_lossy(r.body.bytes()).contains('\u{ff}')
        })
        .await;
        let body = String::from_utf8_lossy(small.body.bytes()).into_owned();
        assert!(body.contains('\u{ff}'), "{body}");
        assert!(body.len() < 20, "{body}");
        assert!(steps > 0 && tries >= steps);
        // Not JSON: byte chunks.
        let raw = Request::new(http::Method::POST, "/").body(b"xxxxxxxxBADxxxxxxxx".to_vec());
        let (small, ..) = shrink_body(&raw, 500, |r| async move {
            r.body.bytes().windows(3).any(|w| w == b"BAD")
        })
        .await;
        assert_eq!(small.body.bytes(), b"BAD");
    }

    #[test]
    fn signatures_mask_what_changes_between_runs() {
        let tail = vec![
            "Traceback (most recent call last):".to_owned(),
            "  File \"t.py\", line 12".to_owned(),
            "UnicodeEncodeError: 'latin-1' codec can't encode character '\\u4e2d' in position 3"
                .to_owned(),
            String::new(),
        ];
        let s = signature(&tail, Some("exit code 70"));
        assert_eq!(s, "UnicodeEncodeError");
        let panic = ["thread 'main' panicked at src/main.rs:12:5:".to_owned()];
        assert_eq!(
            signature(&panic, None),
            "thread 'main' panicked at src/main.rs:##:#:"
        );
        assert_eq!(signature(&[], Some("exit code 70")), "exit code 70");
        // Two threads' traces interleaved, as a cold CI run caught (the last line is a
        // frame of the second): the same crash, the same signature.
        let interleaved: Vec<String> = [
            "Traceback (most recent call last):",
            "Traceback (most recent call last):",
            "  File \"fragile.py\", line 102, in do_POST",
            "    latin1_label(name)",
            "  File \"fragile.py\", line 46, in latin1_label",
            "    return name.encode(\"latin-1\")",
            "UnicodeEncodeError: 'latin-1' codec can't encode characters in position 9-11",
            "  File \"fragile.py\", line 102, in do_POST",
            "    latin1_label(name)",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(signature(&interleaved, None), "UnicodeEncodeError");
        // Only frames left in the tail: the last line still tells something.
        let frames = ["  File \"t.py\", line 3".to_owned(), "    f(x1)".to_owned()];
        assert_eq!(signature(&frames, None), "f(x#)");
    }
}

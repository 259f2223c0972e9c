//! The device store. Durable (a file): SQLite (bundled) in WAL mode with
//! `synchronous=FULL`, owned by one thread that groups concurrent operations into shared
//! transactions (group commit): a create is answered only after the transaction holding
//! it is durable, and one fsync serves every create that arrived while the previous one
//! was being written. Owners are numbered, so a row and the owner index hold a small
//! integer, and sequence numbers are given here, not by `AUTOINCREMENT` (see `LAYOUT`):
//! a create writes its row and two index entries, a transaction one row of `meta`.
//!
//! Checkpoints (copying the WAL into the database file, with an fsync of its own) run on a
//! second thread with a second connection, so the writer does not stop for them: SQLite's
//! automatic checkpoint ran inside the commit that crossed 1,000 WAL pages and held every
//! create waiting behind it for ~4 ms. A passive checkpoint beside a busy writer rarely
//! copies the last frames the writer adds meanwhile, and the WAL restarts from its start
//! only once every frame is copied; so past `WRITER_CHECKPOINT` pages the writer copies
//! that remainder itself, after it has answered its batch, which keeps the WAL bounded.
//!
//! In memory (`serve --memory`): the same four operations on maps under a lock, in the
//! calling task (no thread to hop to, no SQL): a unique key across owners, sequence
//! numbers never reused, an owner's devices listed in the order they came. A test runs
//! the same random operations on both and asks for the same answers.

use std::collections::{BTreeMap, HashMap};
use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::oneshot;

/// Where the store keeps its data.
#[derive(Clone, Debug)]
pub enum Storage {
    /// A SQLite file (created when missing).
    File(PathBuf),
    /// An ephemeral in-memory database.
    Memory,
}

/// A store failure (never the client's fault).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A transaction could not be committed (nothing in it was stored).
    #[error("storage commit failed: {0}")]
    Commit(String),
    /// The store thread is gone (the server is shutting down).
    #[error("storage is closed")]
    Closed,
    /// The database file has a layout this build does not know (a newer build's).
    #[error("the database file has layout {0}; this build knows layouts 0 and {LAYOUT}")]
    Layout(i64),
}

/// The answer to an insert.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored durably.
    Created,
    /// The key exists already.
    Conflict,
}

/// One page of a user's devices.
#[derive(Debug)]
pub struct Page {
    /// Stored bodies, oldest first.
    pub bodies: Vec<Vec<u8>>,
    /// The sequence number to continue after, when there is more.
    pub next: Option<i64>,
}

enum Op {
    Insert {
        key: String,
        owner: String,
        body: Bytes,
        reply: oneshot::Sender<Result<Inserted, StoreError>>,
    },
    Get {
        key: String,
        owner: String,
        reply: oneshot::Sender<Result<Option<Vec<u8>>, StoreError>>,
    },
    List {
        owner: String,
        after: i64,
        top: usize,
        reply: oneshot::Sender<Result<Page, StoreError>>,
    },
    Delete {
        key: String,
        owner: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

/// Handle to the store; cheap to clone. A durable store's thread ends, closing the
/// database cleanly, when the last handle is dropped.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// The SQLite store thread.
    Sqlite(mpsc::Sender<Op>),
    /// The maps of an in-memory store.
    Memory(Arc<Mutex<Memory>>),
}

/// An in-memory store: what the SQLite table keeps, in maps.
#[derive(Default)]
struct Memory {
    /// Every key, its owner and its sequence number.
    keys: HashMap<String, (String, i64)>,
    /// Each owner's bodies by sequence number.
    owners: HashMap<String, BTreeMap<i64, Bytes>>,
    /// The last sequence number given (never given again, as SQLite's `AUTOINCREMENT`).
    last: i64,
}

impl Memory {
    fn insert(&mut self, key: String, owner: String, body: Bytes) -> Inserted {
        if self.keys.contains_key(&key) {
            return Inserted::Conflict;
        }
        self.last += 1;
        let seq = self.last;
        self.owners
            .entry(owner.clone())
            .or_default()
            .insert(seq, body);
        self.keys.insert(key, (owner, seq));
        Inserted::Created
    }

    /// The sequence number of `key` when `owner` owns it.
    fn seq(&self, key: &str, owner: &str) -> Option<i64> {
        self.keys
            .get(key)
            .filter(|(o, _)| o == owner)
            .map(|(_, seq)| *seq)
    }

    fn get(&self, key: &str, owner: &str) -> Option<Vec<u8>> {
        let seq = self.seq(key, owner)?;
        Some(self.owners.get(owner)?.get(&seq)?.to_vec())
    }

    fn list(&self, owner: &str, after: i64, top: usize) -> Page {
        let Some(devices) = self.owners.get(owner) else {
            return Page {
                bodies: Vec::new(),
                next: None,
            };
        };
        let mut rows: Vec<(i64, &Bytes)> = devices
            .range(after.saturating_add(1)..)
            .take(top.saturating_add(1))
            .map(|(seq, body)| (*seq, body))
            .collect();
        let more = rows.len() > top;
        rows.truncate(top);
        Page {
            next: if more {
                rows.last().map(|(seq, _)| *seq)
            } else {
                None
            },
            bodies: rows.into_iter().map(|(_, b)| b.to_vec()).collect(),
        }
    }

    fn delete(&mut self, key: &str, owner: &str) -> bool {
        let Some(seq) = self.seq(key, owner) else {
            return false;
        };
        self.keys.remove(key);
        if let Some(devices) = self.owners.get_mut(owner) {
            devices.remove(&seq);
        }
        true
    }
}

/// Most operations one transaction takes.
const BATCH: usize = 512;

/// WAL pages (4 KiB, SQLite's page size) past which the checkpoint thread is asked to
/// copy them into the database file (SQLite's own automatic checkpoint threshold).
const BACKGROUND_CHECKPOINT: c_int = 1_000;

/// WAL pages past which the writer copies what the checkpoint thread has not, after
/// answering its batch (16 MiB of WAL).
const WRITER_CHECKPOINT: c_int = 4_000;

impl Store {
    /// Opens the store; a durable one starts its thread, whose join handle ends when the
    /// database is closed.
    pub fn open(storage: &Storage) -> Result<(Store, Option<JoinHandle<()>>), StoreError> {
        let path = match storage {
            Storage::File(path) => path,
            Storage::Memory => {
                let backend = Backend::Memory(Arc::default());
                return Ok((Store { backend }, None));
            }
        };
        let mut conn = open_file(path)?;
        prepare(&mut conn)?;
        // The checkpoint connection opens after the table exists (and WAL mode is set).
        let checkpoints = open_file(path)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("devices-store".into())
            .spawn(move || run(conn, rx, checkpoints))
            .map_err(|_| StoreError::Closed)?;
        let backend = Backend::Sqlite(tx);
        Ok((Store { backend }, Some(thread)))
    }

    /// Stores `body` under `key` (lowercase) for `owner`, durably.
    pub async fn insert(
        &self,
        key: String,
        owner: String,
        body: Bytes,
    ) -> Result<Inserted, StoreError> {
        match &self.backend {
            Backend::Memory(maps) => Ok(lock(maps)?.insert(key, owner, body)),
            Backend::Sqlite(tx) => {
                call(tx, |reply| Op::Insert {
                    key,
                    owner,
                    body,
                    reply,
                })
                .await
            }
        }
    }

    /// The body stored under `key` for `owner`.
    pub async fn get(&self, key: String, owner: String) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Memory(maps) => Ok(lock(maps)?.get(&key, &owner)),
            Backend::Sqlite(tx) => call(tx, |reply| Op::Get { key, owner, reply }).await,
        }
    }

    /// Up to `top` of `owner`'s devices after sequence number `after`.
    pub async fn list(&self, owner: String, after: i64, top: usize) -> Result<Page, StoreError> {
        match &self.backend {
            Backend::Memory(maps) => Ok(lock(maps)?.list(&owner, after, top)),
            Backend::Sqlite(tx) => {
                call(tx, |reply| Op::List {
                    owner,
                    after,
                    top,
                    reply,
                })
                .await
            }
        }
    }

    /// Deletes `key` of `owner`; false when there was none.
    pub async fn delete(&self, key: String, owner: String) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Memory(maps) => Ok(lock(maps)?.delete(&key, &owner)),
            Backend::Sqlite(tx) => call(tx, |reply| Op::Delete { key, owner, reply }).await,
        }
    }
}

/// The maps of an in-memory store, locked.
fn lock(maps: &Mutex<Memory>) -> Result<std::sync::MutexGuard<'_, Memory>, StoreError> {
    maps.lock().map_err(|_| StoreError::Closed)
}

/// Sends an operation to the store thread and waits for its answer.
async fn call<T>(
    tx: &mpsc::Sender<Op>,
    make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
) -> Result<T, StoreError> {
    let (reply, rx) = oneshot::channel();
    tx.send(make(reply)).map_err(|_| StoreError::Closed)?;
    rx.await.map_err(|_| StoreError::Closed)?
}

fn open_file(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // WAL keeps readers and the writer apart; FULL makes each commit durable (fsync).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// The store thread: take every operation waiting, run them in one transaction, commit,
/// then answer each; then see to the WAL's size (see the module's documentation).
fn run(mut conn: Connection, rx: mpsc::Receiver<Op>, checkpoints: Connection) {
    let wal = Wal::start(&mut conn, checkpoints);
    let mut writer = Writer::default();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(batch.len());
        let committed = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            writer.begin(&tx)?;
            for op in batch {
                answers.push(writer.execute(&tx, op));
            }
            writer.end(&tx)?;
            tx.commit()
        })();
        if committed.is_err() {
            // What this transaction added (owners, the last sequence number) is not kept.
            writer = Writer::default();
        }
        for answer in answers {
            answer.send(committed.as_ref().err());
        }
        if let Some(wal) = &wal {
            wal.after_commit(&conn);
        }
    }
    if let Some(wal) = wal {
        wal.stop();
    }
}

/// The WAL's size as the writer's last commit left it, and the checkpoint thread.
struct Wal {
    /// Pages in the WAL after the last commit (set by SQLite's WAL hook).
    pages: Arc<AtomicI32>,
    /// Asks the checkpoint thread for a checkpoint (one request waits at most).
    ask: mpsc::SyncSender<()>,
    thread: JoinHandle<()>,
}

impl Wal {
    /// Takes over the writer's checkpoints (setting a WAL hook turns SQLite's automatic
    /// checkpoint off) and starts the checkpoint thread on `checkpoints`; `None` when the
    /// thread cannot start or the hook cannot be set (SQLite's automatic checkpoint then
    /// stays).
    fn start(writer: &mut Connection, checkpoints: Connection) -> Option<Wal> {
        let (ask, asked) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("devices-checkpoint".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    // Busy (the writer is copying) or failed: the next request tries again.
                    let _ = checkpoints.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE);
                }
            })
            .ok()?;
        let pages = Arc::new(AtomicI32::new(0));
        let hook_pages = Arc::clone(&pages);
        let hooked = writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, n: c_int| {
            hook_pages.store(n, Ordering::Relaxed);
            Ok(())
        }));
        let wal = Wal { pages, ask, thread };
        match hooked {
            Ok(()) => Some(wal),
            Err(_) => {
                wal.stop();
                None
            }
        }
    }

    /// After a commit's answers are sent: ask for a checkpoint past
    /// [`BACKGROUND_CHECKPOINT`] pages, copy the rest here past [`WRITER_CHECKPOINT`].
    fn after_commit(&self, writer: &Connection) {
        let pages = self.pages.load(Ordering::Relaxed);
        if (BACKGROUND_CHECKPOINT..WRITER_CHECKPOINT).contains(&pages) {
            // Full: a request is waiting already.
            let _ = self.ask.try_send(());
        } else if pages >= WRITER_CHECKPOINT {
            // The checkpoint thread is not asked again past this point: started anew after
            // each of its runs it kept the writer's own busy (in the unit test below the
            // WAL peaked at 21 MB that way against 17 MB, and at twice this with 16 KiB
            // pages). Busy while the checkpoint thread still copies: tried again after
            // the next commit.
            if writer
                .wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE)
                .is_ok()
            {
                self.pages.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Ends the checkpoint thread (closing its connection) and waits for it.
    fn stop(self) {
        drop(self.ask);
        let _ = self.thread.join();
    }
}

/// An operation done inside the transaction, its answer held until the commit.
enum Answer {
    Insert(
        oneshot::Sender<Result<Inserted, StoreError>>,
        Result<Inserted, rusqlite::Error>,
    ),
    Get(
        oneshot::Sender<Result<Option<Vec<u8>>, StoreError>>,
        Result<Option<Vec<u8>>, rusqlite::Error>,
    ),
    List(
        oneshot::Sender<Result<Page, StoreError>>,
        Result<Page, rusqlite::Error>,
    ),
    Delete(
        oneshot::Sender<Result<bool, StoreError>>,
        Result<bool, rusqlite::Error>,
    ),
}

impl Answer {
    fn send(self, commit_error: Option<&rusqlite::Error>) {
        fn fin<T>(
            r: Result<T, rusqlite::Error>,
            commit: Option<&rusqlite::Error>,
        ) -> Result<T, StoreError> {
            match (r, commit) {
                (Err(e), _) => Err(e.into()),
                (Ok(_), Some(e)) => Err(StoreError::Commit(e.to_string())),
                (Ok(v), None) => Ok(v),
            }
        }
        // A client that went away no longer waits for its answer.
        let _ = match self {
            Answer::Insert(tx, r) => tx.send(fin(r, commit_error)).map_err(drop),
            Answer::Get(tx, r) => tx.send(fin(r, commit_error)).map_err(drop),
            Answer::List(tx, r) => tx.send(fin(r, commit_error)).map_err(drop),
            Answer::Delete(tx, r) => tx.send(fin(r, commit_error)).map_err(drop),
        };
    }
}

/// The layout of the database file (`PRAGMA user_version`). Version 0, before
/// 2026-12-04, kept each device's owner as text in its row and in the owner index, and
/// numbered devices with `AUTOINCREMENT`; [`prepare`] moves such a file to this one.
const LAYOUT: i64 = 1;

/// Creates the tables of [`LAYOUT`], or moves a file of the layout before to it, in one
/// transaction.
fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        LAYOUT => return Ok(()),
        0 => {}
        other => return Err(StoreError::Layout(other)),
    }
    let tx = conn.transaction()?;
    let old = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'devices'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    // The last sequence number the old layout gave (deleted devices' included).
    let last: i64 = if old {
        tx.query_row(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'devices'), 0),
                        coalesce((SELECT max(seq) FROM devices), 0))",
            [],
            |row| row.get(0),
        )?
    } else {
        0
    };
    if old {
        tx.execute_batch(
            "DROP INDEX IF EXISTS devices_by_owner;
             ALTER TABLE devices RENAME TO devices_v0;",
        )?;
    }
    // Owners are numbered; rows and the owner index hold the number. Sequence numbers
    // are given by the store thread (the last one in `meta`), never again after a delete.
    tx.execute_batch(
        "CREATE TABLE owners (n INTEGER PRIMARY KEY, owner TEXT NOT NULL UNIQUE);
         CREATE TABLE devices (
             seq   INTEGER PRIMARY KEY,
             key   TEXT NOT NULL UNIQUE,
             owner INTEGER NOT NULL,
             body  BLOB NOT NULL
         );
         CREATE INDEX devices_by_owner ON devices (owner, seq);
         CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    )?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('last_seq', ?1)",
        [last],
    )?;
    if old {
        tx.execute_batch(
            "INSERT INTO owners (owner)
                 SELECT owner FROM devices_v0 GROUP BY owner ORDER BY min(seq);
             INSERT INTO devices (seq, key, owner, body)
                 SELECT d.seq, d.key, o.n, d.body
                 FROM devices_v0 d JOIN owners o ON o.owner = d.owner ORDER BY d.seq;
             DROP TABLE devices_v0;",
        )?;
    }
    tx.pragma_update(None, "user_version", LAYOUT)?;
    tx.commit()?;
    Ok(())
}

/// What the store thread knows across transactions: each owner's number, the last
/// sequence number given. Loaded at the first transaction; forgotten when a commit
/// fails (the database is the truth).
#[derive(Default)]
struct Writer {
    loaded: bool,
    owners: HashMap<String, i64>,
    last: i64,
    /// `last` when the transaction began.
    stored: i64,
}

impl Writer {
    fn begin(&mut self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        if !self.loaded {
            let mut st = tx.prepare("SELECT owner, n FROM owners")?;
            let rows = st.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            self.owners = rows.collect::<Result<_, _>>()?;
            self.last = tx.query_row(
                "SELECT value FROM meta WHERE name = 'last_seq'",
                [],
                |row| row.get(0),
            )?;
            self.loaded = true;
        }
        self.stored = self.last;
        Ok(())
    }

    /// Keeps the last sequence number given, when this transaction gave any.
    fn end(&mut self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        if self.last != self.stored {
            tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'last_seq'")?
                .execute([self.last])?;
        }
        Ok(())
    }

    /// The number of `owner`; a new one when `make`, else `None` for an owner never seen.
    fn owner(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        owner: &str,
        make: bool,
    ) -> rusqlite::Result<Option<i64>> {
        if let Some(n) = self.owners.get(owner) {
            return Ok(Some(*n));
        }
        if !make {
            return Ok(None);
        }
        tx.prepare_cached("INSERT INTO owners (owner) VALUES (?1)")?
            .execute([owner])?;
        let n = tx.last_insert_rowid();
        self.owners.insert(owner.to_owned(), n);
        Ok(Some(n))
    }

    fn execute(&mut self, tx: &rusqlite::Transaction<'_>, op: Op) -> Answer {
        match op {
            Op::Insert {
                key,
                owner,
                body,
                reply,
            } => {
                let r = self.insert(tx, &key, &owner, &body);
                let r = match r {
                    Ok(()) => Ok(Inserted::Created),
                    Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                        Ok(Inserted::Conflict)
                    }
                    Err(e) => Err(e),
                };
                Answer::Insert(reply, r)
            }
            Op::Get { key, owner, reply } => {
                let r = self.owner(tx, &owner, false).and_then(|n| {
                    let Some(n) = n else { return Ok(None) };
                    tx.prepare_cached("SELECT body FROM devices WHERE key = ?1 AND owner = ?2")?
                        .query_row(params![key, n], |row| row.get(0))
                        .optional()
                });
                Answer::Get(reply, r)
            }
            Op::List {
                owner,
                after,
                top,
                reply,
            } => {
                let r = self
                    .owner(tx, &owner, false)
                    .and_then(|n| list(tx, n, after, top));
                Answer::List(reply, r)
            }
            Op::Delete { key, owner, reply } => {
                let r = self.owner(tx, &owner, false).and_then(|n| {
                    let Some(n) = n else { return Ok(false) };
                    tx.prepare_cached("DELETE FROM devices WHERE key = ?1 AND owner = ?2")?
                        .execute(params![key, n])
                        .map(|n| n > 0)
                });
                Answer::Delete(reply, r)
            }
        }
    }

    fn insert(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        key: &str,
        owner: &str,
        body: &[u8],
    ) -> rusqlite::Result<()> {
        // A conflicting key may leave its owner numbered: an owner with no devices.
        let n = self.owner(tx, owner, true)?.unwrap_or_default();
        let seq = self.last + 1;
        tx.prepare_cached("INSERT INTO devices (seq, key, owner, body) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![seq, key, n, body])?;
        self.last = seq;
        Ok(())
    }
}

/// Up to `top` of owner `n`'s devices after sequence number `after`.
fn list(
    tx: &rusqlite::Transaction<'_>,
    n: Option<i64>,
    after: i64,
    top: usize,
) -> rusqlite::Result<Page> {
    let Some(n) = n else {
        return Ok(Page {
            bodies: Vec::new(),
            next: None,
        });
    };
    let mut st = tx.prepare_cached(
        "SELECT seq, body FROM devices WHERE owner = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = st.query_map(params![n, after, top as i64 + 1], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut rows: Vec<(i64, Vec<u8>)> = rows.collect::<Result<_, _>>()?;
    let more = rows.len() > top;
    rows.truncate(top);
    let next = if more {
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    Ok(Page {
        bodies: rows.into_iter().map(|(_, b)| b).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The in-memory store keeps what it is given for its life, refuses a key twice,
    /// and lists in order; it has no thread.
    #[test]
    fn the_memory_store_keeps_everything_in_order() {
        let runtime = current_thread();
        let (store, thread) = Store::open(&Storage::Memory).unwrap();
        assert!(thread.is_none());
        runtime.block_on(async {
            for i in 0..6_000u32 {
                let body = i.to_be_bytes().repeat(1_000);
                let r = store
                    .insert(format!("key-{i}"), "owner".into(), body.into())
                    .await;
                assert_eq!(r.unwrap(), Inserted::Created);
            }
            let again = store
                .insert("key-7".into(), "other".into(), Bytes::new())
                .await;
            assert_eq!(again.unwrap(), Inserted::Conflict);
            let page = store.list("owner".into(), 0, 10_000).await.unwrap();
            assert_eq!(page.bodies.len(), 6_000);
            for (i, body) in page.bodies.iter().enumerate() {
                assert_eq!(body[..4], (i as u32).to_be_bytes(), "body {i}");
            }
            let got = store.get("key-5999".into(), "owner".into()).await.unwrap();
            assert_eq!(got.map(|b| b.len()), Some(4_000));
        });
    }

    /// The in-memory store answers as the SQLite one does: the same 4,000 random
    /// operations (a few keys and owners, so conflicts, other owners' keys, deletes of
    /// what is not there and pages that end mid-list all happen) on both, every answer
    /// compared.
    #[test]
    fn both_stores_answer_every_operation_alike() {
        let runtime = current_thread();
        let dir = tempfile::tempdir().unwrap();
        let (sqlite, thread) = Store::open(&Storage::File(dir.path().join("d.db"))).unwrap();
        let (memory, _) = Store::open(&Storage::Memory).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let (mut kinds, mut more) = ([0usize; 4], 0);
        runtime.block_on(async {
            for step in 0..4_000 {
                let key = format!("k{}", next(40));
                let owner = format!("o{}", next(3));
                let kind = next(4) as usize;
                kinds[kind] += 1;
                let (a, b) = match kind {
                    0 => {
                        let body = Bytes::from(format!("{step}"));
                        let a = sqlite.insert(key.clone(), owner.clone(), body.clone());
                        let b = memory.insert(key, owner, body);
                        (format!("{:?}", a.await), format!("{:?}", b.await))
                    }
                    1 => {
                        let a = sqlite.get(key.clone(), owner.clone()).await;
                        let b = memory.get(key, owner).await;
                        (format!("{a:?}"), format!("{b:?}"))
                    }
                    2 => {
                        let (after, top) = (next(60) as i64, next(8) as usize);
                        let a = sqlite.list(owner.clone(), after, top).await.unwrap();
                        let b = memory.list(owner, after, top).await.unwrap();
                        more += usize::from(a.next.is_some());
                        (format!("{a:?}"), format!("{b:?}"))
                    }
                    _ => {
                        let a = sqlite.delete(key.clone(), owner.clone()).await;
                        let b = memory.delete(key, owner).await;
                        (format!("{a:?}"), format!("{b:?}"))
                    }
                };
                assert_eq!(a, b, "step {step}");
            }
        });
        // Every kind ran, and some pages had more after them.
        assert!(kinds.iter().all(|k| *k > 800), "{kinds:?}");
        assert!(more > 50, "{more} pages with more");
        drop(sqlite);
        thread.unwrap().join().unwrap();
    }

    /// A file of the layout before numbered owners (owner text in every row,
    /// `AUTOINCREMENT`) is moved to the current one when opened: every device kept for
    /// its owner in its order, keys still unique, and sequence numbers not given again,
    /// not even that of the newest device deleted before the move.
    #[test]
    fn a_file_of_the_old_layout_is_moved_and_keeps_everything() {
        let runtime = current_thread();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE devices (
                     seq   INTEGER PRIMARY KEY AUTOINCREMENT,
                     key   TEXT NOT NULL UNIQUE,
                     owner TEXT NOT NULL,
                     body  BLOB NOT NULL
                 );
                 CREATE INDEX devices_by_owner ON devices (owner, seq);",
            )
            .unwrap();
            for i in 0..7 {
                let owner = if i % 3 == 0 { "b" } else { "a" };
                conn.execute(
                    "INSERT INTO devices (key, owner, body) VALUES (?1, ?2, ?3)",
                    params![format!("k{i}"), owner, format!("body {i}").into_bytes()],
                )
                .unwrap();
            }
            // The newest (seq 7, owner a) goes: its number is not to be given again.
            conn.execute("DELETE FROM devices WHERE key = 'k6'", [])
                .unwrap();
        }
        for round in 0..2 {
            // The second round opens the moved file again: nothing moves twice.
            let (store, thread) = Store::open(&Storage::File(path.clone())).unwrap();
            runtime.block_on(async {
                let a = store.list("a".into(), 0, 100).await.unwrap();
                let b = store.list("b".into(), 0, 100).await.unwrap();
                let text = |p: &Page| -> Vec<String> {
                    p.bodies
                        .iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect()
                };
                let mut want_a = vec!["body 1", "body 2", "body 4", "body 5"];
                if round == 1 {
                    want_a.push("new");
                }
                assert_eq!(text(&a), want_a, "round {round}");
                assert_eq!(text(&b), ["body 0", "body 3"], "round {round}");
                let got = store.get("k4".into(), "a".into()).await.unwrap();
                assert_eq!(got.as_deref(), Some(&b"body 4"[..]));
                assert_eq!(store.get("k4".into(), "b".into()).await.unwrap(), None);
                let again = store.insert("k3".into(), "a".into(), Bytes::new()).await;
                assert_eq!(again.unwrap(), Inserted::Conflict);
                if round == 0 {
                    let new = store
                        .insert("k9".into(), "a".into(), Bytes::from("new"))
                        .await;
                    assert_eq!(new.unwrap(), Inserted::Created);
                }
                // After the deleted newest number (7) there is only the new device.
                let after = store.list("a".into(), 7, 100).await.unwrap();
                assert_eq!(text(&after), ["new"], "round {round}");
            });
            drop(store);
            thread.unwrap().join().unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, LAYOUT);
        // A layout this build does not know (a newer build's) is refused, not changed.
        conn.pragma_update(None, "user_version", 9).unwrap();
        drop(conn);
        let refused = Store::open(&Storage::File(path.clone())).err();
        assert!(
            matches!(refused, Some(StoreError::Layout(9))),
            "{refused:?}"
        );
    }

    /// With the writer's automatic checkpoint replaced by the checkpoint thread, the WAL
    /// still stays bounded under creates that never pause (about 5 times its bound is
    /// written here), and every create is in the database after it is closed and opened
    /// again.
    #[test]
    fn the_wal_stays_bounded_and_every_create_survives() {
        const TASKS: usize = 32;
        const EACH: usize = 800;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("devices.db");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (store, thread) = Store::open(&Storage::File(path.clone())).unwrap();
        let body = Bytes::from(vec![b'x'; 5_000]);
        runtime.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let (store, body) = (store.clone(), body.clone());
                    tokio::spawn(async move {
                        for i in 0..EACH {
                            let r = store.insert(format!("{t}-{i}"), "o".into(), body.clone());
                            assert_eq!(r.await.unwrap(), Inserted::Created);
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        // The WAL file keeps the largest size it reached (SQLite reuses it from the start).
        let wal = std::fs::metadata(dir.path().join("devices.db-wal"))
            .unwrap()
            .len();
        let written = (TASKS * EACH * body.len()) as u64;
        // The writer's threshold, plus slack for what is committed while the checkpoint
        // thread is copying (the writer's own checkpoint is busy then, and tried again
        // after the next commit): two full batches of 2-page creates.
        let bound = (WRITER_CHECKPOINT as u64 + 2 * BATCH as u64 * 2) * 4096;
        assert!(written > 4 * bound, "the test writes too little: {written}");
        assert!(wal <= bound, "WAL of {wal} bytes, bound {bound}");
        drop(store);
        thread.unwrap().join().unwrap();

        let (store, thread) = Store::open(&Storage::File(path)).unwrap();
        runtime.block_on(async {
            let page = store.list("o".into(), 0, TASKS * EACH).await.unwrap();
            assert_eq!(page.bodies.len(), TASKS * EACH);
            assert!(page.bodies.iter().all(|b| b[..] == body[..]));
        });
        drop(store);
        thread.unwrap().join().unwrap();
    }
}

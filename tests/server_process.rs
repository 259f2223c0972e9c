//! The reference server as a process and over real sockets: crash durability (kill -9),
//! 1,000 concurrent creates, slow clients, graceful shutdown.
#![cfg(feature = "cli")]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devices_harness::server::{self, Config, Storage, User};

const SEED: &[u8] = include_bytes!("data/seed-example-request.json");

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `devices-harness serve` and returns it with its base URL.
fn spawn_server(db: &std::path::Path, users: &std::path::Path) -> (Child, String) {
    spawn_server_reading(db, users).0
}

/// Like [`spawn_server`], keeping the rest of stdout readable.
fn spawn_server_reading(
    db: &std::path::Path,
    users: &std::path::Path,
) -> ((Child, String), BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devices-harness"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--users")
        .arg(users)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    ((child, url), out)
}

fn users_file(dir: &std::path::Path) -> (std::path::PathBuf, User) {
    let user = User {
        id: "11111111-2222-4333-8444-555555555555".into(),
        token: "durability-token".into(),
    };
    let path = dir.join("users.json");
    std::fs::write(
        &path,
        format!(r#"[{{"id":"{}","token":"{}"}}]"#, user.id, user.token),
    )
    .unwrap();
    (path, user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_201_survives_kill_9_and_restart() {
    let dir = temp_dir("durability");
    let (users, user) = users_file(&dir);
    let db = dir.join("devices.db");
    let (mut child, url) = spawn_server(&db, &users);
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), user.token.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                loop {
                    let sent = client
                        .post(format!("{url}/me/devices"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(SEED.to_vec())
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let Ok(res) = sent else { break };
                    if res.status() != 201 {
                        break;
                    }
                    let Ok(body) = res.bytes().await else { break };
                    acked.push(body);
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush beyond what was committed
    child.wait().unwrap();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(
        acked.len() > 20,
        "only {} creates before the kill",
        acked.len()
    );
    let (mut child, url) = spawn_server(&db, &users);
    for body in &acked {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let id = v["id"].as_str().unwrap();
        let got = client
            .get(format!("{url}/me/devices/{id}"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.status(),
            200,
            "device {id} acknowledged with 201 was lost"
        );
        assert_eq!(
            got.bytes().await.unwrap(),
            body,
            "device {id} came back altered"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_creates_are_distinct_readable_and_listed() {
    let dir = temp_dir("concurrency");
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.storage = Storage::File(dir.join("devices.db"));
    let running = server::start(config).await.unwrap();
    let url = running.url();
    let token = running.users[0].token.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (client, url, token, limit) =
                (client.clone(), url.clone(), token.clone(), limit.clone());
            tokio::spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let res = client
                    .post(format!("{url}/me/devices"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(SEED.to_vec())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let v: serde_json::Value = res.json().await.unwrap();
                v["id"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 1000, "ids are distinct");
    for id in ids.iter().step_by(7) {
        let got = client
            .get(format!("{url}/me/devices/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
    }
    let mut listed = Vec::new();
    let mut next = Some(format!("{url}/me/devices?$top=999"));
    while let Some(link) = next.take() {
        let page: serde_json::Value = client
            .get(&link)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for d in page["value"].as_array().unwrap() {
            listed.push(d["id"].as_str().unwrap().to_owned());
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(
        listed.len(),
        1000,
        "the list pages through exactly those devices"
    );
    assert_eq!(listed.iter().collect::<HashSet<_>>(), distinct);
    running.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_the_server() {
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.header_timeout = Duration::from_millis(300);
    config.body_timeout = Duration::from_millis(300);
    let running = server::start(config).await.unwrap();
    let addr = running.addr;
    let token = running.users[0].token.clone();
    let (headers_closed, body_answer) = tokio::task::spawn_blocking(move || {
        // Headers that never finish: the connection is closed after the header timeout.
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"POST /me/devices HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let headers_closed = started.elapsed();
        // A body that trickles and stops: 408 after the body timeout.
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let head = format!(
            "POST /me/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\""
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        (headers_closed, String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .unwrap();
    assert!(
        headers_closed < Duration::from_secs(4),
        "closed after {headers_closed:?}"
    );
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    // And the server still answers.
    let ok = reqwest::Client::new()
        .get(format!("{}/me/devices", running.url()))
        .bearer_auth(&running.users[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    running.shutdown().await;
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = temp_dir("sigterm");
    let (users, _) = users_file(&dir);
    let db = dir.join("devices.db");
    let ((mut child, _url), mut out) = spawn_server_reading(&db, &users);
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(rest.contains("shutting down"), "{rest}");
    // The database closed cleanly: it opens and is consistent.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Resident memory of this process, in bytes (Linux).
/// This process's resident memory. Without it the bound below would hold vacuously, so
/// the test fails instead.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmRSS in /proc/self/status: this test measures memory on Linux")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_oversized_bodies_keep_memory_bounded() {
    let running = server::start(Config::new(SocketAddr::from(([127, 0, 0, 1], 0))))
        .await
        .unwrap();
    let addr = running.addr;
    let token = running.users[0].token.clone();
    let before = rss();
    let answers = tokio::task::spawn_blocking(move || {
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let token = token.clone();
                std::thread::spawn(move || {
                    let len = 5 * 1024 * 1024;
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let head = format!(
                        "POST /me/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
                    );
                    s.write_all(head.as_bytes()).unwrap();
                    let chunk = vec![b' '; 64 * 1024];
                    let mut sent = 0;
                    while sent < len {
                        if s.write_all(&chunk).is_err() {
                            break;
                        }
                        sent += chunk.len();
                    }
                    let mut answer = [0u8; 12];
                    let _ = s.read_exact(&mut answer);
                    String::from_utf8_lossy(&answer).into_owned()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let grown = rss().saturating_sub(before);
    for a in &answers {
        assert_eq!(a, "HTTP/1.1 413", "{answers:?}");
    }
    // Buffering them would take 64 x 5 MiB = 320 MiB; draining holds one chunk each.
    assert!(
        grown < 64 * 1024 * 1024,
        "resident memory grew by {} MiB",
        grown >> 20
    );
    running.shutdown().await;
}

//! `--spawn CMD`: the harness runs the target itself, so that it can see it die, read its
//! stack trace, and start it again.
//!
//! The command runs through `sh -c` in a process group of its own, `{port}` replaced by a
//! free loopback port (the same one after every restart). Its stdout and stderr are kept:
//! the last lines in memory (for a crash's `stderr_tail`), everything in files when a log
//! directory is given. [`Spawned::start`] returns once the target answers HTTP, or fails
//! with what it printed.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Lines of stderr kept in memory.
const TAIL: usize = 200;

/// Why a target could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The shell could not run the command, or no port was free.
    #[error("cannot start `{command}`: {error}")]
    Start {
        /// The command as run.
        command: String,
        /// What went wrong.
        error: String,
    },
    /// The command ran but never answered HTTP on its port.
    #[error(
        "`{command}` did not answer on port {port} within {waited:?} ({status}); its last output:\n{output}"
    )]
    NoAnswer {
        /// The command as run.
        command: String,
        /// The port it was given.
        port: u16,
        /// How long the harness waited.
        waited: Duration,
        /// Still running, or how it exited.
        status: String,
        /// The last lines of its stdout and stderr.
        output: String,
    },
}

/// A target the harness started.
pub struct Spawned {
    command: String,
    port: u16,
    child: tokio::sync::Mutex<Option<Child>>,
    output: Arc<Mutex<Output>>,
    wait: Duration,
    starts: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spawned({})", self.command)
    }
}

#[derive(Default)]
struct Output {
    stderr: VecDeque<String>,
    stdout: VecDeque<String>,
    files: Option<(std::fs::File, std::fs::File)>,
}

impl Spawned {
    /// Starts `template` (`{port}` replaced by a free loopback port) and waits, at most
    /// `wait`, until it answers HTTP. With `log_dir`, its output goes to
    /// `target.stdout.log` and `target.stderr.log` there too.
    pub async fn start(
        template: &str,
        log_dir: Option<&Path>,
        wait: Duration,
    ) -> Result<Spawned, SpawnError> {
        let start_error = |error: String| SpawnError::Start {
            command: template.to_owned(),
            error,
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| start_error(e.to_string()))?
            .port();
        let command = template.replace("{port}", &port.to_string());
        let mut output = Output::default();
        if let Some(dir) = log_dir {
            let open = |name: &str| -> std::io::Result<std::fs::File> {
                std::fs::create_dir_all(dir)?;
                std::fs::File::create(dir.join(name))
            };
            let files = open("target.stdout.log").and_then(|o| Ok((o, open("target.stderr.log")?)));
            output.files = Some(files.map_err(|e| start_error(format!("log files: {e}")))?);
        }
        let spawned = Spawned {
            command,
            port,
            child: tokio::sync::Mutex::new(None),
            output: Arc::new(Mutex::new(output)),
            wait,
            starts: std::sync::atomic::AtomicU32::new(0),
        };
        spawned.launch().await?;
        Ok(spawned)
    }

    /// The command as run (with its port).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The target's base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times it was started (1 before any restart).
    pub fn starts(&self) -> u32 {
        self.starts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How the process ended, when it has.
    pub async fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().await;
        let status = child.as_mut()?.try_wait().ok()??;
        Some(describe(status))
    }

    /// Waits up to `within` for the process to end; how it ended.
    pub async fn exits_within(&self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited().await {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The last `n` lines the target wrote to stderr.
    pub fn stderr_tail(&self, n: usize) -> Vec<String> {
        let out = self
            .output
            .lock()
            .map(|o| o.stderr.clone())
            .unwrap_or_default();
        out.iter()
            .skip(out.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// Forgets the output so far (so that a crash's tail holds only its own lines).
    pub fn clear_tail(&self) {
        if let Ok(mut o) = self.output.lock() {
            o.stderr.clear();
            o.stdout.clear();
        }
    }

    /// Stops it (if still running) and starts it again; waits until it answers.
    pub async fn restart(&self) -> Result<(), SpawnError> {
        self.stop().await;
        self.launch().await
    }

    /// Stops it: SIGTERM to its process group, SIGKILL after 3 s.
    pub async fn stop(&self) {
        let mut slot = self.child.lock().await;
        let Some(mut child) = slot.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            if let Some(pid) = child.id() {
                signal_group(pid, "TERM");
            }
            if tokio::time::timeout(Duration::from_secs(3), child.wait())
                .await
                .is_err()
            {
                if let Some(pid) = child.id() {
                    signal_group(pid, "KILL");
                }
                let _ = child.kill().await;
            }
        }
    }

    async fn launch(&self) -> Result<(), SpawnError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(|e| SpawnError::Start {
            command: self.command.clone(),
            error: e.to_string(),
        })?;
        if let Some(out) = child.stdout.take() {
            self.pump(BufReader::new(out).lines(), false);
        }
        if let Some(err) = child.stderr.take() {
            self.pump(BufReader::new(err).lines(), true);
        }
        *self.child.lock().await = Some(child);
        self.starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.wait_until_it_answers().await
    }

    fn pump<R>(&self, mut lines: tokio::io::Lines<R>, stderr: bool)
    where
        R: tokio::io::AsyncBufRead + Unpin + Send + 'static,
    {
        let output = Arc::clone(&self.output);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(mut o) = output.lock() else {
                    return;
                };
                if let Some((out, err)) = &mut o.files {
                    let file = if stderr { err } else { out };
                    let _ = writeln!(file, "{line}");
                }
                let buf = if stderr { &mut o.stderr } else { &mut o.stdout };
                if buf.len() == TAIL {
                    buf.pop_front();
                }
                buf.push_back(line);
            }
        });
    }

    async fn wait_until_it_answers(&self) -> Result<(), SpawnError> {
        let started = Instant::now();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .map_err(|e| SpawnError::Start {
                command: self.command.clone(),
                error: e.to_string(),
            })?;
        let url = format!("{}/", self.url());
        loop {
            if client.get(&url).send().await.is_ok() {
                return Ok(());
            }
            let exited = self.exited().await;
            if exited.is_some() || started.elapsed() >= self.wait {
                // Let the pumps catch up with what it printed.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let output = self
                    .output
                    .lock()
                    .map(|o| {
                        let tail = |b: &VecDeque<String>| {
                            b.iter()
                                .skip(b.len().saturating_sub(20))
                                .cloned()
                                .collect::<Vec<_>>()
                                .join("\n")
                        };
                        format!("stdout:\n{}\nstderr:\n{}", tail(&o.stdout), tail(&o.stderr))
                    })
                    .unwrap_or_default();
                return Err(SpawnError::NoAnswer {
                    command: self.command.clone(),
                    port: self.port,
                    waited: started.elapsed(),
                    status: exited.unwrap_or_else(|| "still running".to_owned()),
                    output,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `exit code N` or `killed by signal N (NAME)`.
fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {sig}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "ended".to_owned(),
    }
}

/// Sends `signal` to the process group the target leads (its shell and everything the
/// shell started). `kill -s SIG -- -PGID`: without `--`, `-PGID` reads as a signal.
fn signal_group(pid: u32, signal: &str) {
    if pid <= 1 {
        return;
    }
    let _ = std::process::Command::new("kill")
        .args(["-s", signal, "--"])
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

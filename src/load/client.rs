//! How the load transactions send a request: through goose's own client (reqwest), or
//! through a direct HTTP/1.1 connection per goose user (hyper), recorded in goose's
//! metrics with `record_custom_request_duration`. Both give the same metric names, the same
//! answers to judge, and the same failures; the direct client is much cheaper per request
//! (so the generator does not limit what it measures), works for `http://` targets, and
//! does not go through goose's `--throttle-requests`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use goose::goose::GooseResponse;
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use http::{HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{Connection as Http1, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

use super::Shared;
use crate::target::Response as Answer;
use crate::target::transport::MAX_RESPONSE_BYTES;

/// Which client sends the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Client {
    /// A direct HTTP/1.1 connection per goose user for `http://` targets (goose's client
    /// for `https://`, or with `--throttle-requests`).
    Auto,
    /// goose's own client (reqwest) for every request.
    Goose,
}

/// A goose user's direct connection (opened on first use, again after an error).
pub(crate) type Connection = Arc<Mutex<Option<Conn>>>;

/// An open HTTP/1.1 connection: hyper's sender and the connection future that does its
/// I/O, driven by the task that sends (no task of its own: no wake-up between two tasks
/// for every request and answer).
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Pin<Box<Http1<TokioIo<tokio::net::TcpStream>, Full<Bytes>>>>,
    /// The driver has ended (the connection closed): never poll it again.
    ended: bool,
}

/// The driver of one connection and whether it has ended.
struct Driver<'a> {
    driver: &'a mut Pin<Box<Http1<TokioIo<tokio::net::TcpStream>, Full<Bytes>>>>,
    ended: &'a mut bool,
}

impl Driver<'_> {
    /// Polls `f` and the connection together until `f` is done; an error when the
    /// connection ends first.
    async fn drive<F: Future>(&mut self, f: F) -> Result<F::Output, String> {
        let mut f = std::pin::pin!(f);
        std::future::poll_fn(|cx| {
            let mut failed = None;
            if !*self.ended {
                match self.driver.as_mut().poll(cx) {
                    Poll::Ready(Ok(())) => *self.ended = true,
                    Poll::Ready(Err(e)) => {
                        *self.ended = true;
                        failed = Some(e.to_string());
                    }
                    Poll::Pending => {}
                }
            }
            match f.as_mut().poll(cx) {
                Poll::Ready(out) => Poll::Ready(Ok(out)),
                Poll::Pending if *self.ended => Poll::Ready(Err(
                    failed.unwrap_or_else(|| "the connection closed".to_owned())
                )),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl Conn {
    /// The sender and the driver, to be used together.
    fn parts(&mut self) -> (&mut SendRequest<Full<Bytes>>, Driver<'_>) {
        (
            &mut self.sender,
            Driver {
                driver: &mut self.driver,
                ended: &mut self.ended,
            },
        )
    }

    /// Whether the connection can carry another request: it has not ended, and polled
    /// once now (reading what the peer did while it was idle), still has not.
    async fn usable(&mut self) -> bool {
        if !self.ended {
            let driver = &mut self.driver;
            let polled = std::future::poll_fn(|cx| Poll::Ready(driver.as_mut().poll(cx))).await;
            if polled.is_ready() {
                self.ended = true;
            }
        }
        !self.ended && !self.sender.is_closed()
    }
}

/// Where a direct connection goes.
#[derive(Clone, Debug)]
pub(crate) struct Direct {
    /// The `host:port` of the base URL, resolved at the first connection.
    authority: String,
    host: HeaderValue,
    /// The base URL's path (`/beta`), put before every request path.
    prefix: String,
    timeout: Duration,
}

impl Direct {
    /// The direct client's view of `base`, when it can serve it (`http://` only).
    pub(crate) fn for_base(base: &str, timeout: Duration) -> Option<Direct> {
        let rest = base.strip_prefix("http://")?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Some(Direct {
            host: HeaderValue::from_str(rest.split('/').next()?).ok()?,
            authority,
            prefix: prefix.to_owned(),
            timeout,
        })
    }
}

/// One request of a transaction.
pub(crate) struct Out<'a> {
    /// The method.
    pub method: Method,
    /// The path (after the base URL).
    pub path: &'a str,
    /// The metric name (a route template).
    pub name: &'static str,
    /// Headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body (empty: none).
    pub body: Bytes,
    /// The status a conforming target answers.
    pub expect: u16,
}

/// A request on its way to being recorded.
pub(crate) enum Sent {
    /// Recorded by goose already; our verdict may still change it.
    Goose(Box<GooseRequestMetric>),
    /// To be recorded once judged.
    Direct {
        method: &'static str,
        name: &'static str,
        took: Duration,
        status: u16,
    },
}

/// Sends `out`, waiting out 429s (`Retry-After`, at most 10 s, three times).
pub(crate) async fn send(
    shared: &Shared,
    user: &mut GooseUser,
    connection: &Connection,
    out: &Out<'_>,
) -> Result<(Sent, Option<Answer>), Box<TransactionError>> {
    let mut attempt = 0;
    loop {
        let (sent, answer) = match &shared.direct {
            Some(direct) => send_direct(shared, direct, user, connection, out).await,
            None => send_goose(shared, user, out).await?,
        };
        let retry = answer
            .as_ref()
            .filter(|a| a.status == 429 && attempt < 3)
            .map(|a| {
                a.header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1)
                    .min(10)
            });
        match retry {
            Some(seconds) => {
                // A rate limit is the target's right, not a failure of the request.
                crate::target::throttle::owe(Duration::from_secs(seconds));
                settle(user, sent, true, None).await?;
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                attempt += 1;
            }
            None => return Ok((sent, answer)),
        }
    }
}

/// Records the verdict on a request: success, or failure with `why`.
pub(crate) async fn settle(
    user: &mut GooseUser,
    sent: Sent,
    success: bool,
    why: Option<&str>,
) -> TransactionResult {
    match sent {
        Sent::Goose(mut request) => match (success, request.success) {
            (true, false) => user.set_success(&mut request),
            (false, _) => user.set_failure(why.unwrap_or("failed"), &mut request, None, None),
            (true, true) => Ok(()),
        },
        Sent::Direct {
            method,
            name,
            took,
            status,
        } => {
            user.record_custom_request_duration(method, name, took, success, Some(status), why)
                .await
        }
    }
}

fn goose_method(m: &Method) -> GooseMethod {
    match *m {
        Method::GET => GooseMethod::Get,
        Method::DELETE => GooseMethod::Delete,
        Method::PUT => GooseMethod::Put,
        Method::PATCH => GooseMethod::Patch,
        Method::HEAD => GooseMethod::Head,
        _ => GooseMethod::Post,
    }
}

async fn send_goose(
    shared: &Shared,
    user: &mut GooseUser,
    out: &Out<'_>,
) -> Result<(Sent, Option<Answer>), Box<TransactionError>> {
    let method = goose_method(&out.method);
    let mut rb = user.get_request_builder(&method, out.path)?;
    for (name, value) in &out.headers {
        rb = rb.header(name, value.clone());
    }
    if !out.body.is_empty() {
        rb = rb.body(out.body.clone());
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(out.path)
        .name(out.name)
        .expect_status_code(out.expect)
        .set_request_builder(rb)
        .build();
    let GooseResponse { request, response } = user.request(request).await?;
    let us = request.response_time * 1000 + u64::from(request.response_time_fraction_us);
    shared.timeline.record(
        request.user,
        request.elapsed + request.response_time,
        us,
        request.status_code,
    );
    let method = method_label(&out.method);
    shared
        .latencies
        .record(request.user, (method, out.name), us, request.status_code);
    let answer = match response {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let headers = std::mem::take(r.headers_mut());
            let started = Instant::now();
            r.bytes().await.ok().map(|body| Answer {
                status,
                headers,
                body,
                elapsed: started.elapsed(),
            })
        }
        Err(_) => None,
    };
    Ok((Sent::Goose(Box::new(request)), answer))
}

async fn send_direct(
    shared: &Shared,
    direct: &Direct,
    user: &GooseUser,
    connection: &Connection,
    out: &Out<'_>,
) -> (Sent, Option<Answer>) {
    let started = Instant::now();
    let result = tokio::time::timeout(direct.timeout, exchange(direct, connection, out)).await;
    let took = started.elapsed();
    let answer = match result {
        Ok(Ok(answer)) => Some(answer),
        Ok(Err(_)) | Err(_) => {
            // Whatever broke, the next request starts on a new connection.
            *connection.lock().await = None;
            None
        }
    };
    let status = answer.as_ref().map_or(0, |a| a.status);
    let us = took.as_micros() as u64;
    let index = user.weighted_users_index;
    shared
        .timeline
        .record(index, shared.since_start(), us, status);
    let method = method_label(&out.method);
    shared
        .latencies
        .record(index, (method, out.name), us, status);
    (
        Sent::Direct {
            method,
            name: out.name,
            took,
            status,
        },
        answer,
    )
}

pub(crate) async fn exchange(
    direct: &Direct,
    connection: &Connection,
    out: &Out<'_>,
) -> Result<Answer, String> {
    let mut guard = connection.lock().await;
    let usable = match guard.as_mut() {
        Some(c) => c.usable().await,
        None => false,
    };
    if !usable {
        *guard = Some(connect(direct).await?);
    }
    let conn = guard.as_mut().ok_or("no connection")?;
    let (sender, mut driver) = conn.parts();
    driver
        .drive(sender.ready())
        .await?
        .map_err(|e| e.to_string())?;
    let uri = if direct.prefix.is_empty() {
        http::Uri::try_from(out.path)
    } else {
        http::Uri::try_from(format!("{}{}", direct.prefix, out.path))
    };
    let mut request = http::Request::new(Full::new(out.body.clone()));
    *request.method_mut() = out.method.clone();
    *request.uri_mut() = uri.map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    headers.reserve(out.headers.len() + 1);
    headers.insert(http::header::HOST, direct.host.clone());
    for (name, value) in &out.headers {
        headers.append(name, value.clone());
    }
    let started = Instant::now();
    let response = driver
        .drive(sender.send_request(request))
        .await?
        .map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = driver
        .drive(Limited::new(body, MAX_RESPONSE_BYTES).collect())
        .await?
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        elapsed: started.elapsed(),
    })
}

async fn connect(direct: &Direct) -> Result<Conn, String> {
    let addr: SocketAddr = match direct.authority.parse() {
        Ok(a) => a,
        Err(_) => tokio::net::lookup_host(&direct.authority)
            .await
            .map_err(|e| e.to_string())?
            .next()
            .ok_or_else(|| format!("{} resolves to nothing", direct.authority))?,
    };
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Conn {
        sender,
        driver: Box::pin(conn),
        ended: false,
    })
}

/// The label goose files a request under (the transactions send GET and POST only).
fn method_label(method: &Method) -> &'static str {
    if *method == Method::GET {
        "GET"
    } else {
        "POST"
    }
}

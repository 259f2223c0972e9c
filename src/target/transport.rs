//! How `check` reaches a target: over HTTP (any URL, TLS included) or in process, through
//! a `tower::Service` such as an axum `Router`. Both carry the same [`Request`] and give the
//! same [`Response`], so every oracle runs unchanged on either.
//!
//! Every exchange is bounded: a timeout covers the whole exchange (headers and body), and
//! a response body is read up to [`MAX_RESPONSE_BYTES`], so an endless or stalled answer
//! is a [`TransportError`], never a hang or a memory blow-up.

use std::convert::Infallible;
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// The most of a response body that is read (a device echo is at most about 4 MiB).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// These bytes, with a `Content-Length`.
    Full(Bytes),
    /// These bytes in chunks (chunked transfer encoding, no `Content-Length`), with a
    /// pause before each chunk: a slow client.
    Trickle {
        /// The whole body.
        bytes: Bytes,
        /// Number of chunks.
        chunks: usize,
        /// Pause before each chunk.
        pause: Duration,
    },
}

impl Body {
    /// The bytes of the body (all of them, however they are sent).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Full(b) | Body::Trickle { bytes: b, .. } => b,
        }
    }

    fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        let (bytes, chunks, pause) = match self {
            Body::Empty => (Bytes::new(), 0, Duration::ZERO),
            Body::Full(b) => (b, 1, Duration::ZERO),
            Body::Trickle {
                bytes,
                chunks,
                pause,
            } => (bytes, chunks.max(1), pause),
        };
        let size = bytes.len().div_ceil(chunks.max(1)).max(1);
        futures_util::stream::unfold(bytes, move |mut rest| async move {
            if rest.is_empty() {
                return None;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let chunk = rest.split_to(size.min(rest.len()));
            Some((Ok(chunk), rest))
        })
    }
}

/// One request, relative to the target's base.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Path and query, starting with `/`, appended to the base URL.
    pub path: String,
    /// Headers, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Body,
    /// What the request is (a case's class, a probe's name), for grouping crashes and
    /// hangs by input class; not sent.
    pub tag: Option<String>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Body::Empty,
            tag: None,
        }
    }

    /// Adds a header (skipped when the value cannot be a header value).
    pub fn header(mut self, name: &'static str, value: &str) -> Request {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    /// Sets a body sent with its length.
    pub fn body(mut self, bytes: impl Into<Bytes>) -> Request {
        self.body = Body::Full(bytes.into());
        self
    }

    /// The value of a header, when set and text.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.to_str().ok())
    }
}

/// What came back.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (at most [`MAX_RESPONSE_BYTES`]).
    pub body: Bytes,
    /// How long the exchange took.
    pub elapsed: Duration,
}

impl Response {
    /// The value of a header, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why no response came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing at all within the timeout.
    Timeout(Duration),
    /// The target could not be reached (refused, DNS, TLS).
    Connect(String),
    /// The connection broke (reset, closed early, garbage that is not HTTP).
    Broken(String),
    /// The body went past [`MAX_RESPONSE_BYTES`].
    BodyTooLarge,
    /// Every one of this many attempts was answered 429 (not a fault of the target's:
    /// the request went unanswered).
    Throttled(u32),
    /// The target crashed or hung on this request: the cause of that id says how.
    Cause(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout(d) => write!(f, "no complete answer within {d:?}"),
            TransportError::Connect(e) => write!(f, "cannot connect: {e}"),
            TransportError::Broken(e) => write!(f, "connection broken: {e}"),
            TransportError::BodyTooLarge => {
                write!(f, "response body larger than {MAX_RESPONSE_BYTES} bytes")
            }
            TransportError::Throttled(n) => write!(f, "429 Too Many Requests, {n} times"),
            TransportError::Cause(id) => write!(f, "the target crashed or hung on it (cause {id})"),
        }
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// A short stable name, for grouping findings.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Timeout(_) => "timeout",
            TransportError::Connect(_) => "connect",
            TransportError::Broken(_) => "broken",
            TransportError::BodyTooLarge => "body-too-large",
            TransportError::Throttled(_) => "throttled",
            TransportError::Cause(_) => "cause",
        }
    }
}

/// A service `check` can call in process: an axum `Router` or anything shaped like it.
pub type Service =
    BoxCloneSyncService<http::Request<axum::body::Body>, http::Response<axum::body::Body>, String>;

/// Where requests go.
#[derive(Clone)]
pub enum Transport {
    /// Over HTTP to a base URL (no trailing slash).
    Http {
        /// The base URL.
        base: String,
        /// The client (connection pool).
        client: reqwest::Client,
    },
    /// In process.
    Service(Service),
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Http { base, .. } => write!(f, "Http({base})"),
            Transport::Service(_) => write!(f, "Service"),
        }
    }
}

impl Transport {
    /// Over HTTP to `base` (trailing `/` removed), with at most `connections` idle
    /// connections kept per host.
    pub fn http(base: &str, connections: usize) -> Result<Transport, TransportError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections.max(1))
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .map_err(|e| TransportError::Connect(format!("{e:#}")))?;
        Ok(Transport::Http {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// In process, through `service` (for example an axum `Router`).
    pub fn service<S, B>(service: S) -> Transport
    where
        S: tower::Service<
                http::Request<axum::body::Body>,
                Response = http::Response<B>,
                Error: fmt::Display,
                Future: Send + 'static,
            > + Clone
            + Send
            + Sync
            + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let mapped = service
            .map_response(|r: http::Response<B>| r.map(axum::body::Body::new))
            .map_err(|e: S::Error| e.to_string());
        Transport::Service(BoxCloneSyncService::new(mapped))
    }

    /// The base URL for display (`in-process` for a service).
    pub fn describe(&self) -> String {
        match self {
            Transport::Http { base, .. } => base.clone(),
            Transport::Service(_) => "in-process".to_owned(),
        }
    }

    /// The base URL a `curl` line should use.
    pub fn curl_base(&self) -> String {
        match self {
            Transport::Http { base, .. } => base.clone(),
            Transport::Service(_) => "http://127.0.0.1:8080".to_owned(),
        }
    }

    /// Sends `req`; the whole exchange is bounded by `timeout`.
    pub async fn send(&self, req: Request, timeout: Duration) -> Result<Response, TransportError> {
        let start = Instant::now();
        let exchange = async {
            match self {
                Transport::Http { base, client } => send_http(client, base, req).await,
                Transport::Service(service) => send_service(service.clone(), req).await,
            }
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, headers, body))) => Ok(Response {
                status,
                headers,
                body,
                elapsed: start.elapsed(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(TransportError::Timeout(timeout)),
        }
    }
}

type Parts = (u16, HeaderMap, Bytes);

async fn send_http(
    client: &reqwest::Client,
    base: &str,
    req: Request,
) -> Result<Parts, TransportError> {
    let url = format!("{base}{}", req.path);
    let mut builder = client.request(req.method, &url);
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    builder = match req.body {
        Body::Empty => builder,
        Body::Full(bytes) => builder.body(bytes),
        trickle @ Body::Trickle { .. } => {
            builder.body(reqwest::Body::wrap_stream(trickle.into_stream()))
        }
    };
    let mut response = builder.send().await.map_err(|e| {
        if e.is_connect() {
            TransportError::Connect(format!("{e:#}"))
        } else {
            TransportError::Broken(error_chain(&e))
        }
    })?;
    let status = response.status().as_u16();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(TransportError::BodyTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(TransportError::Broken(error_chain(&e))),
        }
    }
    Ok((status, headers, Bytes::from(body)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn send_service(service: Service, req: Request) -> Result<Parts, TransportError> {
    let mut builder = http::Request::builder()
        .method(req.method)
        .uri(req.path.as_str());
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    let body = match req.body {
        Body::Empty => axum::body::Body::empty(),
        Body::Full(bytes) => {
            builder = builder.header(http::header::CONTENT_LENGTH, bytes.len());
            axum::body::Body::from(bytes)
        }
        trickle @ Body::Trickle { .. } => axum::body::Body::from_stream(trickle.into_stream()),
    };
    let request = builder
        .body(body)
        .map_err(|e| TransportError::Broken(format!("cannot build the request: {e}")))?;
    let response = service
        .oneshot(request)
        .await
        .map_err(TransportError::Broken)?;
    let (parts, body) = response.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(TransportError::BodyTooLarge);
        }
        Err(e) => return Err(TransportError::Broken(e.to_string())),
    };
    Ok((parts.status.as_u16(), parts.headers, bytes))
}

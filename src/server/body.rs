//! Reading a request body within the contract's limits: at most 4 MiB, decided from
//! `Content-Length` before reading and by counting otherwise; never buffering more than
//! the limit; draining (reading and discarding) the rest up to a bound after a 413, so the
//! client can read the answer; and an idle timeout between chunks, so a trickled body
//! cannot hold the server.

use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use super::error::AppError;

/// How much of an over-limit body is read and discarded before the connection is closed.
pub const DRAIN_BOUND: u64 = 64 * 1024 * 1024;

/// The body, or 413 / 408.
pub async fn read(
    body: Body,
    content_length: Option<u64>,
    limit: usize,
    idle: Duration,
) -> Result<Bytes, AppError> {
    let mut body = body;
    if content_length.is_some_and(|n| n > limit as u64) {
        drain(&mut body, idle).await;
        return Err(AppError::TooLarge);
    }
    let mut buf = BytesMut::with_capacity(content_length.map_or(8192, |n| n as usize));
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(AppError::Timeout),
            Ok(None) => break,
            // A body that breaks off (reset, malformed chunking) is the client's failure.
            Ok(Some(Err(_))) => return Err(AppError::Timeout),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(&mut body, idle).await;
                return Err(AppError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Reads and discards up to [`DRAIN_BOUND`] bytes, stopping at the end, an error, or an
/// idle timeout.
async fn drain(body: &mut Body, idle: Duration) {
    let mut seen = 0u64;
    while seen < DRAIN_BOUND {
        match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen += data.len() as u64;
                }
            }
            _ => return,
        }
    }
}

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
    // A body that comes in one frame (most do) is kept as it came; a second frame starts
    // a buffer.
    let mut whole = Bytes::new();
    let mut buf: Option<BytesMut> = None;
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(AppError::Timeout),
            Ok(None) => break,
            // A body that breaks off (reset, malformed chunking) is the client's failure.
            Ok(Some(Err(_))) => return Err(AppError::Timeout),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            let have = buf.as_ref().map_or(whole.len(), BytesMut::len);
            if have + data.len() > limit {
                drain(&mut body, idle).await;
                return Err(AppError::TooLarge);
            }
            match &mut buf {
                Some(b) => b.extend_from_slice(&data),
                None if whole.is_empty() => whole = data,
                None => {
                    let hint = content_length.map_or(8192, |n| n as usize);
                    let mut b = BytesMut::with_capacity(hint.max(have + data.len()));
                    b.extend_from_slice(&whole);
                    b.extend_from_slice(&data);
                    buf = Some(b);
                }
            }
        }
    }
    Ok(buf.map_or(whole, BytesMut::freeze))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A body streamed in these frames.
    fn frames(parts: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    fn read_all(parts: &[&'static [u8]], limit: usize) -> Result<Bytes, AppError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(read(frames(parts), None, limit, Duration::from_secs(5)))
    }

    /// One frame is kept as it came, several are joined; empty frames anywhere change
    /// nothing.
    #[test]
    fn a_body_is_read_whole_in_one_frame_or_many() {
        let cases: [&[&'static [u8]]; 6] = [
            &[],
            &[b"{}"],
            &[b"{\"a\"", b":1", b"}"],
            &[b"", b"x", b""],
            &[b"x", b"", b"y"],
            &[b"0123456789"],
        ];
        for parts in cases {
            let got = read_all(parts, 10);
            assert_eq!(got.ok().as_deref(), Some(&parts.concat()[..]), "{parts:?}");
        }
    }

    /// Over the limit by one byte is 413, whichever frame crosses it.
    #[test]
    fn a_body_over_the_limit_is_refused_whichever_frame_crosses_it() {
        let cases: [&[&'static [u8]]; 4] = [
            &[b"0123456789"],
            &[b"01234", b"56789"],
            &[b"0123", b"4567", b"89"],
            &[b"012345678", b"", b"9"],
        ];
        for parts in cases {
            let got = read_all(parts, 9);
            assert!(matches!(got, Err(AppError::TooLarge)), "{parts:?}: {got:?}");
        }
    }
}

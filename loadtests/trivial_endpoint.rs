//! A trivial devices endpoint for measuring load generators: every request gets an
//! immediate `201` with a fixed device id, nothing parsed, nothing stored. It is the
//! far side of `loadtests/bench-load.sh`, so what is measured is the generator.
//!
//!     cargo run --release --example trivial-endpoint -- 127.0.0.1:0
//!
//! Prints `listening on http://ADDR` and serves until killed. Loopback only.

use std::net::SocketAddr;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

const BODY: &str =
    r##"{"@odata.type":"#microsoft.graph.device","id":"0f8fad5b-d9cb-469f-a165-70867728950e"}"##;

async fn created() -> impl IntoResponse {
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        BODY,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse()?;
    anyhow::ensure!(addr.ip().is_loopback(), "loopback only");
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(created);
    axum::serve(listener, app).await?;
    Ok(())
}

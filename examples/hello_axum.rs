//! The HTTP ceiling for `scripts/bench-http.sh`: the smallest axum server on the same runtime
//! setup as `claimdex serve`, answering every `POST /api/match` (and `GET /`) with "ok".
//!
//! ```text
//! cargo run --release --example hello_axum -- 127.0.0.1:8090
//! ```

use axum::routing::{get, post};
use axum::Router;

/// The router: two routes that return "ok" without reading anything.
fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" })).route("/api/match", post(|| async { "ok" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}

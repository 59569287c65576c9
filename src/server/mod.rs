//! `claimdex serve`: the HTTP API and the search page, a thin axum layer over [`ClaimIndex`].
//!
//! [`router`] builds the whole service from one table, [`ROUTES`], which the OpenAPI document
//! ([`openapi::document`]) is generated from too, so that routes and docs cannot drift.
//! [`AppState`] is built once; searches run in `spawn_blocking`, as many at once as there are
//! cores unless `serve --max-concurrent` says otherwise.

mod auth;
mod error;
mod gfc;
mod handlers;
mod metrics;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use self::auth::{constant_time_eq, WriteAccess};
pub use self::error::{ApiError, ApiJson, ApiQuery, ApiResult};
pub use self::gfc::{decode_page_token, encode_page_token, GfcClaim, GfcResponse};
pub use self::metrics::Metrics;
use crate::ClaimIndex;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most threads in the runtime's blocking pool, where searches and matches run (tokio's default
/// is 512). Each thread that runs the model keeps a 1 MiB matrix-product buffer (gemm's
/// thread-local L2 slab) for as long as it lives, and the pool adds a thread whenever none is
/// idle, so under load the server's memory grew with every new peak of concurrent requests.
/// The work is bound by the CPU, so more threads than this gain nothing; requests beyond it wait.
pub const MAX_BLOCKING_THREADS: usize = 64;

/// How many requests work on the index at once by default: twice the cores. Against 64
/// concurrent clients on 2 cores (`scripts/bench-http.sh`, 10k claims), letting all 64 run
/// shared the cores among them and gave a p99 of 280-290 ms; 4 at a time answer as many requests
/// per second (950 against 930-990) with a p99 of 79 ms. With only 2 at a time, 20% fewer
/// requests were answered: a core sits idle between one match and the next.
pub fn default_max_concurrent() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What every handler shares, built once at start.
pub struct AppState {
    /// The index.
    pub index: Arc<ClaimIndex>,
    /// The bearer token of the write API; `None` disables writes.
    pub token: Option<String>,
    /// Request and screening metrics.
    pub metrics: Metrics,
    /// Permits to work on the index: requests beyond them wait their turn, first come first
    /// served, instead of sharing the cores with every other request in flight.
    work: Arc<Semaphore>,
    max_concurrent: usize,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("writes_enabled", &self.token.is_some())
            .field("max_concurrent", &self.max_concurrent())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an index; with a token, the write API is enabled. Twice as many requests as
    /// there are cores work on the index at once (see [`AppState::with_max_concurrent`]).
    pub fn new(index: ClaimIndex, token: Option<String>) -> Self {
        let n = default_max_concurrent();
        let work = Arc::new(Semaphore::new(n));
        AppState { index: Arc::new(index), token, metrics: Metrics::default(), work, max_concurrent: n }
    }

    /// Lets at most `n` requests (at least one) work on the index at once; the rest queue.
    pub fn with_max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self.work = Arc::new(Semaphore::new(self.max_concurrent));
        self
    }

    /// How many requests may work on the index at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Waits for a turn to work on the index; the turn ends when the permit is dropped.
    pub(crate) async fn turn(&self) -> tokio::sync::OwnedSemaphorePermit {
        let _waiting = self.metrics.waiting();
        self.work.clone().acquire_owned().await.expect("the work semaphore is never closed")
    }
}

/// One route: its method and path, its OpenAPI operation id and summary, and its handler.
#[derive(Clone, Copy)]
pub struct Route {
    /// "GET", "POST" or "DELETE".
    pub method: &'static str,
    /// The axum path (`/api/claims/{id}`), which is also the OpenAPI path.
    pub path: &'static str,
    /// OpenAPI `operationId`.
    pub id: &'static str,
    /// One line for the docs.
    pub summary: &'static str,
    handler: fn() -> MethodRouter<Arc<AppState>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Every route of the service.
pub static ROUTES: &[Route] = &[
    Route { method: "GET", path: "/", id: "page", summary: "The search page (HTML).", handler: || get(handlers::page) },
    Route {
        method: "GET",
        path: "/healthz",
        id: "healthz",
        summary: "Liveness check.",
        handler: || get(handlers::healthz),
    },
    Route {
        method: "GET",
        path: "/metrics",
        id: "metrics",
        summary: "Prometheus metrics.",
        handler: || get(handlers::metrics),
    },
    Route {
        method: "GET",
        path: "/api/openapi.json",
        id: "openapi",
        summary: "This document.",
        handler: || get(handlers::openapi_json),
    },
    Route {
        method: "GET",
        path: "/api/stats",
        id: "stats",
        summary: "What the index holds.",
        handler: || get(handlers::stats),
    },
    Route {
        method: "GET",
        path: "/api/search",
        id: "search",
        summary: "Full-text search of claims and evidence.",
        handler: || get(handlers::search),
    },
    Route {
        method: "POST",
        path: "/api/match",
        id: "match",
        summary: "The prior claims a statement repeats, with verdicts and evidence.",
        handler: || post(handlers::match_one),
    },
    Route {
        method: "POST",
        path: "/api/match/batch",
        id: "matchBatch",
        summary: "Match many statements at once (screening).",
        handler: || post(handlers::match_batch),
    },
    Route {
        method: "GET",
        path: "/api/claims/{id}",
        id: "getClaim",
        summary: "One claim.",
        handler: || get(handlers::get_claim),
    },
    Route {
        method: "DELETE",
        path: "/api/claims/{id}",
        id: "deleteClaim",
        summary: "Delete a claim (needs the token).",
        handler: || delete(handlers::delete_claim),
    },
    Route {
        method: "POST",
        path: "/api/articles",
        id: "postArticle",
        summary: "Extract claims and evidence from a fact-check article and write them (needs the token).",
        handler: || post(handlers::post_article),
    },
    Route {
        method: "POST",
        path: "/api/claims",
        id: "postClaims",
        summary: "Add or replace claims (needs the token).",
        handler: || post(handlers::post_claims),
    },
    Route {
        method: "GET",
        path: "/api/evidence/{id}",
        id: "getEvidence",
        summary: "One evidence excerpt.",
        handler: || get(handlers::get_evidence),
    },
    Route {
        method: "DELETE",
        path: "/api/evidence/{id}",
        id: "deleteEvidence",
        summary: "Delete an evidence excerpt (needs the token).",
        handler: || delete(handlers::delete_evidence),
    },
    Route {
        method: "POST",
        path: "/api/evidence",
        id: "postEvidence",
        summary: "Add or replace evidence (needs the token).",
        handler: || post(handlers::post_evidence),
    },
    Route {
        method: "GET",
        path: "/v1alpha1/claims:search",
        id: "gfcClaimsSearch",
        summary: "Google Fact Check Tools API compatible claim search.",
        handler: || get(gfc::claims_search),
    },
];

/// The whole service: the routes of [`ROUTES`], JSON errors for unknown routes and methods,
/// metrics, tracing, a timeout and a body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for r in ROUTES {
        router = router.route(r.path, (r.handler)());
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    // The path only: no query string (it may hold personal text), no headers (the token).
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1e3,
                        "answered"
                    );
                })
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

async fn no_route(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Gives error responses made outside the handlers (timeouts, path rejections) the JSON shape.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "timeout",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    let message = match status {
        StatusCode::SERVICE_UNAVAILABLE => format!("the request took longer than {} s", REQUEST_TIMEOUT.as_secs()),
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut fresh = ApiError::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    *fresh.headers_mut() = parts.headers;
    fresh
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, writes = state.token.is_some(), "serving");
    if state.token.is_none() {
        // Read-only: another process (`claimdex index`) may write; pick up its commits.
        tokio::spawn(reload_periodically(state.index.clone()));
    }
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// How often a read-only server looks for commits made by other processes.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

async fn reload_periodically(index: Arc<ClaimIndex>) {
    let mut tick = tokio::time::interval(RELOAD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let idx = index.clone();
        match tokio::task::spawn_blocking(move || idx.reload()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot reload the index"),
            Err(e) => tracing::error!(error = %e, "index reload task failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_error_responses_get_the_json_shape() {
        let timeout = Response::builder().status(StatusCode::SERVICE_UNAVAILABLE).body(Body::empty()).unwrap();
        let res = json_errors(timeout).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "timeout");
        let ok = Response::builder().status(StatusCode::OK).body(Body::from("hi")).unwrap();
        assert_eq!(json_errors(ok).await.status(), StatusCode::OK);
    }
}

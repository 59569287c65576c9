//! Prometheus metrics, hand-written: request counts and latency histograms by route and status,
//! and counters of screened, flagged and suggested statements.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::MatchResult;

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// One (method, route, status) series: a counter and a latency histogram.
#[derive(Debug, Default)]
struct Series {
    count: AtomicU64,
    sum_micros: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
}

type Key = (&'static str, String, u16);

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    series: RwLock<BTreeMap<Key, Arc<Series>>>,
    screened: AtomicU64,
    flagged: AtomicU64,
    suggested: AtomicU64,
    waiting: AtomicU64,
}

/// Counts a request as waiting for its turn on the index for as long as it lives.
pub(crate) struct Waiting<'a>(&'a AtomicU64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, method: &axum::http::Method, route: Option<&str>, status: u16, latency: Duration) {
        // Bounded label values: known methods, the route template, the status.
        let method = match method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "DELETE" => "DELETE",
            "HEAD" => "HEAD",
            "PATCH" => "PATCH",
            "OPTIONS" => "OPTIONS",
            _ => "OTHER",
        };
        let key = (method, route.unwrap_or(UNMATCHED).to_string(), status);
        let existing = self.series.read().ok().and_then(|m| m.get(&key).cloned());
        let series = match existing {
            Some(s) => s,
            None => match self.series.write() {
                Ok(mut m) => m.entry(key).or_default().clone(),
                Err(_) => return,
            },
        };
        let secs = latency.as_secs_f64();
        series.count.fetch_add(1, Ordering::Relaxed);
        series.sum_micros.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        for (b, le) in series.buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts the statements of answered match requests.
    pub fn record_matches<'a>(&self, results: impl IntoIterator<Item = &'a MatchResult>) {
        for r in results {
            self.screened.fetch_add(1, Ordering::Relaxed);
            if r.flagged {
                self.flagged.fetch_add(1, Ordering::Relaxed);
            }
            if r.suggested {
                self.suggested.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts a request as waiting for its turn until the returned guard is dropped.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.waiting)
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let series: Vec<(Key, Arc<Series>)> = match self.series.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        };
        let labels = |(m, r, s): &Key| format!("method=\"{m}\",route=\"{}\",status=\"{s}\"", escape_label(r));
        out.push_str("# HELP claimdex_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE claimdex_http_requests_total counter\n");
        for (k, s) in &series {
            let _ = writeln!(out, "claimdex_http_requests_total{{{}}} {}", labels(k), s.count.load(Ordering::Relaxed));
        }
        out.push_str("# HELP claimdex_http_request_duration_seconds Time to answer HTTP requests, by method, route and status.\n");
        out.push_str("# TYPE claimdex_http_request_duration_seconds histogram\n");
        for (k, s) in &series {
            let l = labels(k);
            for (b, le) in s.buckets.iter().zip(LATENCY_BUCKETS) {
                let _ = writeln!(
                    out,
                    "claimdex_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {}",
                    b.load(Ordering::Relaxed)
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "claimdex_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}");
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "claimdex_http_request_duration_seconds_sum{{{l}}} {sum}");
            let _ = writeln!(out, "claimdex_http_request_duration_seconds_count{{{l}}} {count}");
        }
        for (name, help, v) in [
            ("claimdex_statements_screened_total", "Statements matched against the index.", &self.screened),
            ("claimdex_statements_flagged_total", "Statements flagged as repeating a checked claim.", &self.flagged),
            (
                "claimdex_statements_suggested_total",
                "Statements whose best match is worth a person's look.",
                &self.suggested,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP claimdex_requests_waiting Requests waiting for their turn to work on the index.\n\
             # TYPE claimdex_requests_waiting gauge\nclaimdex_requests_waiting {}",
            self.waiting.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware that times every request and records it under its route template.
pub async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    state.metrics.observe(&method, route.as_deref(), res.status().as_u16(), start.elapsed());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe(&axum::http::Method::GET, Some("/api/search"), 200, Duration::from_millis(3));
        m.observe(&axum::http::Method::GET, Some("/api/search"), 200, Duration::from_millis(30));
        m.observe(&"BREW".parse().unwrap(), None, 404, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains("claimdex_http_requests_total{method=\"GET\",route=\"/api/search\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("route=\"/api/search\",status=\"200\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("route=\"/api/search\",status=\"200\",le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("method=\"OTHER\",route=\"unmatched\",status=\"404\""), "{text}");
        assert!(text.contains("claimdex_statements_screened_total 0"), "{text}");
        let w = m.waiting();
        assert!(m.render().contains("# TYPE claimdex_requests_waiting gauge\nclaimdex_requests_waiting 1\n"));
        drop(w);
        assert!(m.render().contains("claimdex_requests_waiting 0\n"));
    }
}

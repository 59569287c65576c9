//! HTTP tests: every endpoint through `router(state).oneshot(..)` on an in-RAM index of the
//! starter corpus, the token rule, each error status with a real bad input, and one smoke test
//! of the real binary over TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use claimdex::server::{self, AppState, ROUTES};
use claimdex::{ClaimIndex, IngestOptions};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const CORPUS: &str = "corpus/polygraph-taliban-amnesty.jsonl";
const BALKI: &str = "polygraph-balki-2021-12-05";
pub(crate) const TOKEN: &str = "s3cret-token";

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(CORPUS)
}

pub(crate) fn state(token: Option<&str>) -> Arc<AppState> {
    let idx = ClaimIndex::create_in_ram().expect("in-RAM index");
    let records = claimdex::ingest::read_paths(&[corpus_path()], false).expect("corpus");
    idx.ingest(records, IngestOptions { strict: true }, &mut |_| {}).expect("ingest");
    Arc::new(AppState::new(idx, token.map(str::to_string)))
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", self.text())).to_string()
    }
}

pub(crate) async fn send(state: &Arc<AppState>, req: Request<Body>) -> Answer {
    let res = server::router(state.clone()).oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes().to_vec();
    Answer { status, headers, body }
}

pub(crate) async fn get(state: &Arc<AppState>, uri: &str) -> Answer {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub(crate) fn json_req(method: Method, uri: &str, body: &Value, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

pub(crate) async fn post(state: &Arc<AppState>, uri: &str, body: Value) -> Answer {
    send(state, json_req(Method::POST, uri, &body, None)).await
}

#[tokio::test]
async fn page_is_embedded_html() {
    let s = state(None);
    let a = get(&s, "/").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(a.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(a.text().contains("/api/match"));
    assert!(!a.text().contains("innerHTML"), "the page must not parse record text as HTML");
    // Nothing else is served from disk.
    for p in
        ["/index.html", "/static/index.html", "/../Cargo.toml", "/%2e%2e/Cargo.toml", "/src/server/static/index.html"]
    {
        let a = get(&s, p).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{p}");
    }
}

#[tokio::test]
async fn healthz_and_stats() {
    let s = state(None);
    let a = get(&s, "/healthz").await;
    assert_eq!((a.status, a.json()["status"].clone()), (StatusCode::OK, json!("ok")));
    let a = get(&s, "/api/stats").await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["claims"], 5);
    assert_eq!(v["evidence"], 7);
    assert_eq!(v["by_verdict"]["misleading"], 1);
    assert_eq!(v["matcher"], "lexical");
    assert_eq!(v["semantic_model_loaded"], false);
}

#[tokio::test]
async fn search_with_filters_and_paging() {
    let s = state(None);
    let a = get(&s, "/api/search?q=amnesty").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    let total = v["total"].as_u64().unwrap();
    assert!(total >= 3, "{v}");
    assert!(v["hits"][0]["snippet"].as_str().unwrap().contains("<b>"), "{v}");

    let a = get(&s, "/api/search?q=amnesty&kind=claim&verdict=misleading,false").await;
    let v = a.json();
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["hits"][0]["record"]["id"], BALKI);

    let a = get(&s, "/api/search?q=amnesty&speaker=zabihullah%20mujahid&from=2021-08&to=2021-08-31").await;
    let v = a.json();
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["hits"][0]["record"]["id"], "polygraph-mujahid-2021-08-17-amnesty");

    let a = get(&s, "/api/search?q=amnesty&publisher=Polygraph.info&kind=claim").await;
    assert_eq!(a.json()["total"], 3, "{}", a.text());

    // Paging: pages of 1 cover the result set without repeats.
    let mut ids = Vec::new();
    for offset in 0..total {
        let v = get(&s, &format!("/api/search?q=amnesty&limit=1&offset={offset}")).await.json();
        assert_eq!(v["offset"], offset);
        ids.push(v["hits"][0]["record"]["id"].as_str().unwrap().to_string());
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[tokio::test]
async fn match_finds_the_claim_with_refuting_evidence_first() {
    let s = state(None);
    let a = post(&s, "/api/match", json!({"text": "We are fully committed to the amnesty", "limit": 3})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    let hit = &v["hits"][0];
    assert_eq!(hit["claim"]["id"], BALKI);
    assert_eq!(hit["claim"]["verdict"]["label"], "Misleading");
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    let ev = hit["evidence"].as_array().unwrap();
    assert!(!ev.is_empty());
    assert_eq!(ev[0]["stance"], "refutes");
    assert!(v["flagged"].is_boolean() && v["suggested"].is_boolean());
    assert!(v["hits"].as_array().unwrap().len() <= 3);

    // Date and filters come from the library's MatchRequest.
    let v = post(&s, "/api/match", json!({"text": "fully committed to amnesty", "date": "2021-09-01"})).await.json();
    assert!(v["hits"].as_array().unwrap().iter().all(|h| h["claim"]["id"] != BALKI), "{v}");
    let v = post(&s, "/api/match", json!({"text": "amnesty", "filters": {"verdicts": ["misleading"]}})).await.json();
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{v}");

    // Claims-only screening per request: a statement whose words are in the evidence passages
    // alone finds the claim through them, unless the request asks for screening.
    let passage_words = "detain and summarily execute within days of their registration";
    let v = post(&s, "/api/match", json!({"text": passage_words})).await.json();
    assert_eq!(v["hits"][0]["claim"]["id"], BALKI, "{v}");
    let a = post(&s, "/api/match", json!({"text": passage_words, "screening": true})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(a.json()["hits"].as_array().unwrap().iter().all(|h| h["claim"]["id"] != BALKI), "{}", a.text());
    let a = post(&s, "/api/match", json!({"text": passage_words, "screening": "yes"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());

    // Metrics count the statements.
    let m = get(&s, "/metrics").await.text();
    assert!(m.contains("claimdex_statements_screened_total 5"), "{m}");
}

#[tokio::test]
async fn batch_answers_in_order_with_errors_in_their_slots() {
    let s = state(None);
    let a = post(
        &s,
        "/api/match/batch",
        json!({"statements": [
            {"text": "fully committed to enforcing the amnesty decree"},
            {"text": ""},
            {"nottext": 1},
            {"text": "the video of the execution is fake", "no_evidence": true}
        ]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let r = a.json()["results"].as_array().unwrap().clone();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["hits"][0]["claim"]["id"], BALKI);
    assert_eq!(r[1]["error"]["code"], "invalid_request");
    assert_eq!(r[2]["error"]["code"], "invalid_statement");
    assert_eq!(r[3]["hits"][0]["claim"]["id"], "polygraph-shaheen-2021-07-video-fake");
    assert!(r[3]["hits"][0].get("evidence").is_none());
    let m = get(&s, "/metrics").await.text();
    assert!(m.contains("claimdex_statements_screened_total 2"), "{m}");

    // Over MAX_BATCH: 413 with the JSON shape.
    let many: Vec<Value> = (0..=claimdex::matcher::MAX_BATCH).map(|_| json!({"text": "x"})).collect();
    let a = post(&s, "/api/match/batch", json!({ "statements": many })).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.error_code(), "batch_too_large");
}

#[tokio::test]
async fn batch_screens_thousands_of_sentences() {
    let s = state(None);
    let statements: Vec<Value> = (0..3000)
        .map(|i| json!({"text": format!("sentence {i}: the amnesty is fully enforced"), "no_evidence": true}))
        .collect();
    let a = post(&s, "/api/match/batch", json!({ "statements": statements })).await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3000);
    // Answered in order, even when the batch is split across threads.
    for (i, r) in results.iter().enumerate() {
        assert!(r["text"].as_str().unwrap().starts_with(&format!("sentence {i}:")), "slot {i}: {r}");
        assert_eq!(r["hits"][0]["claim"]["id"], BALKI, "slot {i}");
    }
}

#[tokio::test]
async fn claims_and_evidence_by_id_and_claimreview_export() {
    let s = state(None);
    let a = get(&s, &format!("/api/claims/{BALKI}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["speaker"], "Abdul Qahar Balki");

    let a = get(&s, "/api/evidence/hrw-2021-11-30-screenings").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["source"], "Human Rights Watch");

    for req in [
        Request::get(format!("/api/claims/{BALKI}?format=claimreview")).body(Body::empty()).unwrap(),
        Request::get(format!("/api/claims/{BALKI}"))
            .header(header::ACCEPT, "application/ld+json")
            .body(Body::empty())
            .unwrap(),
    ] {
        let a = send(&s, req).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/ld+json");
        let v = a.json();
        assert_eq!(v["@context"], "https://schema.org");
        assert_eq!(v["@type"], "ClaimReview");
        assert_eq!(v["itemReviewed"]["@type"], "Claim");
        assert_eq!(v["itemReviewed"]["author"]["name"], "Abdul Qahar Balki");
        assert_eq!(v["itemReviewed"]["datePublished"], "2021-12-05");
        assert_eq!(v["reviewRating"]["alternateName"], "Misleading");
        assert_eq!(v["author"]["name"], "Polygraph.info");
        assert!(v["claimReviewed"].as_str().unwrap().contains("amnesty decree"));
    }

    // Wrong kinds and unknown ids are 404; unknown formats 400.
    assert_eq!(get(&s, "/api/claims/hrw-2021-11-30-screenings").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, &format!("/api/evidence/{BALKI}")).await.status, StatusCode::NOT_FOUND);
    let a = get(&s, "/api/claims/nope").await;
    assert_eq!((a.status, a.error_code()), (StatusCode::NOT_FOUND, "not_found".to_string()));
    assert_eq!(get(&s, &format!("/api/claims/{BALKI}?format=xml")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn google_fact_check_tools_compatible_search() {
    let s = state(None);
    // The literal colon in the path is a static segment.
    let a = get(&s, "/v1alpha1/claims:search?query=fully%20committed%20amnesty&languageCode=en&key=ignored").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    let c = &v["claims"][0];
    assert_eq!(c["claimant"], "Abdul Qahar Balki");
    assert_eq!(c["claimDate"], "2021-12-05T00:00:00Z");
    let r = &c["claimReview"][0];
    assert_eq!(r["publisher"]["name"], "Polygraph.info");
    assert_eq!(r["publisher"]["site"], "polygraph.info");
    assert_eq!(r["textualRating"], "Misleading");
    assert_eq!(r["reviewDate"], "2021-12-01T00:00:00Z");
    assert_eq!(r["languageCode"], "en");
    assert!(r["url"].is_string() && r["title"].is_string());
    // Only claims, never evidence.
    assert!(v["claims"].as_array().unwrap().iter().all(|c| c["claimReview"].is_array()));

    // Paging with the opaque token covers all claims once.
    let mut seen = Vec::new();
    let mut uri = "/v1alpha1/claims:search?query=amnesty%20taliban%20video&pageSize=2".to_string();
    loop {
        let v = get(&s, &uri).await.json();
        for c in v["claims"].as_array().into_iter().flatten() {
            seen.push(c["text"].as_str().unwrap().to_string());
        }
        match v["nextPageToken"].as_str() {
            Some(t) => {
                uri = format!("/v1alpha1/claims:search?query=amnesty%20taliban%20video&pageSize=2&pageToken={t}")
            }
            None => break,
        }
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n);
    assert!(n >= 3, "{seen:?}");

    // Site filter, language filter, age filter, query syntax is plain text.
    let v = get(&s, "/v1alpha1/claims:search?reviewPublisherSiteFilter=polygraph.info").await.json();
    assert_eq!(v["claims"].as_array().unwrap().len(), 5, "{v}");
    let v = get(&s, "/v1alpha1/claims:search?query=amnesty&reviewPublisherSiteFilter=politifact.com").await.json();
    assert_eq!(v, json!({}));
    let v = get(&s, "/v1alpha1/claims:search?query=amnesty&languageCode=es").await.json();
    assert_eq!(v, json!({}));
    let v = get(&s, "/v1alpha1/claims:search?query=amnesty&maxAgeDays=30").await.json();
    assert_eq!(v, json!({}));
    assert_eq!(get(&s, "/v1alpha1/claims:search?query=AND%20(").await.status, StatusCode::OK);
    assert_eq!(get(&s, "/v1alpha1/claims:search").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&s, "/v1alpha1/claims:search?query=x&pageToken=garbage").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let s = state(None);
    get(&s, "/api/search?q=amnesty").await;
    get(&s, "/nowhere").await;
    let a = get(&s, "/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let m = a.text();
    assert!(m.contains("# TYPE claimdex_http_requests_total counter"), "{m}");
    assert!(m.contains("claimdex_http_requests_total{method=\"GET\",route=\"/api/search\",status=\"200\"} 1"), "{m}");
    assert!(m.contains("claimdex_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"), "{m}");
    assert!(m.contains("# TYPE claimdex_http_request_duration_seconds histogram"), "{m}");
    assert!(m.contains("claimdex_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/search\",status=\"200\",le=\"+Inf\"} 1"), "{m}");
    for name in ["screened", "flagged", "suggested"] {
        assert!(m.contains(&format!("claimdex_statements_{name}_total ")), "{m}");
    }
}

/// A request that reaches each route's handler (ids filled in, bodies valid).
fn request_for(method: &str, path: &str) -> Request<Body> {
    let uri = match path {
        "/api/claims/{id}" => format!("/api/claims/{BALKI}"),
        "/api/evidence/{id}" => "/api/evidence/hrw-2021-11-30-figures".to_string(),
        "/api/search" => "/api/search?q=amnesty".to_string(),
        "/v1alpha1/claims:search" => "/v1alpha1/claims:search?query=amnesty".to_string(),
        p => p.to_string(),
    };
    let body = match path {
        "/api/match" => json!({"text": "amnesty"}),
        "/api/match/batch" => json!({"statements": [{"text": "amnesty"}]}),
        "/api/articles" => json!({"text": "“We will keep every promise we made,” the minister said.", "dry_run": true}),
        "/api/claims" => json!({"id": "c-new", "text": "A new claim about amnesty."}),
        "/api/evidence" => {
            json!({"id": "e-new", "text": "New evidence.", "claims": [{"claim_id": "c-new", "stance": "context"}]})
        }
        _ => Value::Null,
    };
    let method: Method = method.parse().unwrap();
    if body.is_null() {
        let mut b = Request::builder().method(method).uri(uri);
        b = b.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        b.body(Body::empty()).unwrap()
    } else {
        json_req(method, &uri, &body, Some(TOKEN))
    }
}

#[tokio::test]
async fn every_route_in_the_table_is_routed_and_documented() {
    // Routes and docs come from one table; here every entry answers (not the fallback, not 405)
    // and the served OpenAPI document lists exactly the table's operations.
    let s = state(Some(TOKEN));
    for r in ROUTES {
        let a = send(&s, request_for(r.method, r.path)).await;
        assert!(a.status.is_success(), "{} {} answered {}: {}", r.method, r.path, a.status, a.text());
    }
    let doc = get(&s, "/api/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut routed: Vec<(String, String)> = ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);
}

#[tokio::test]
async fn writes_need_the_token() {
    let claim = json!({"id": "c-test-1", "text": "The moon landing was staged in a desert studio.", "speaker": "Someone",
                       "verdict": {"label": "Pants on Fire", "rating": "false"}});

    // No token configured: writes are disabled.
    let s = state(None);
    let a = send(&s, json_req(Method::POST, "/api/claims", &claim, Some("anything"))).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::FORBIDDEN, "writes_disabled".to_string()));
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("disabled"));

    let s = state(Some(TOKEN));
    // Missing token: 401 even with a bad body.
    let a = send(
        &s,
        Request::post("/api/claims").header(header::CONTENT_TYPE, "application/json").body(Body::from("{")).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
    // Wrong token.
    let a = send(&s, json_req(Method::POST, "/api/claims", &claim, Some("s3cret-tokeN"))).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::FORBIDDEN, "forbidden".to_string()));
    assert!(!a.text().contains(TOKEN));
    let a = send(&s, json_req(Method::DELETE, &format!("/api/claims/{BALKI}"), &json!({}), None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Right token: written, and visible to the next search.
    let a = send(&s, json_req(Method::POST, "/api/claims", &claim, Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["written"]["claims"], 1);
    assert_eq!(a.json()["ids"], json!(["c-test-1"]));
    let v = get(&s, "/api/search?q=moon%20landing").await.json();
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["record"]["id"], "c-test-1");
    assert_eq!(v["hits"][0]["record"]["kind"], "claim");
    let v = post(&s, "/api/match", json!({"text": "the moon landing was staged"})).await.json();
    assert_eq!(v["hits"][0]["claim"]["id"], "c-test-1");

    // Evidence, as an array, linked to the new claim.
    let ev = json!([{"id": "e-test-1", "text": "Telemetry and samples show the landing was real.", "source": "NASA",
                     "claims": [{"claim_id": "c-test-1", "stance": "refutes"}]}]);
    let a = send(&s, json_req(Method::POST, "/api/evidence", &ev, Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = post(&s, "/api/match", json!({"text": "the moon landing was staged"})).await.json();
    assert_eq!(v["hits"][0]["evidence"][0]["evidence"]["id"], "e-test-1");

    // A record of the wrong kind, or an invalid one, is a 400 and nothing is written.
    let a = send(
        &s,
        json_req(Method::POST, "/api/claims", &json!({"kind": "evidence", "id": "x", "text": "t"}), Some(TOKEN)),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let bad = json!([{"id": "c-ok", "text": "fine"}, {"id": "c-bad", "text": "t", "date": "2021-02-30"}]);
    let a = send(&s, json_req(Method::POST, "/api/claims", &bad, Some(TOKEN))).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::BAD_REQUEST, "invalid_record".to_string()));
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("date"), "{}", a.text());
    assert_eq!(get(&s, "/api/claims/c-ok").await.status, StatusCode::NOT_FOUND);

    // Delete.
    let a = send(&s, json_req(Method::DELETE, "/api/claims/c-test-1", &json!({}), Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["deleted"], "c-test-1");
    assert_eq!(get(&s, "/api/claims/c-test-1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, "/api/search?q=moon%20landing%20staged&kind=claim").await.json()["total"], 0);
    let a = send(&s, json_req(Method::DELETE, "/api/claims/c-test-1", &json!({}), Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // Evidence is not deleted through the claims route.
    let a = send(&s, json_req(Method::DELETE, "/api/claims/e-test-1", &json!({}), Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&s, "/api/evidence/e-test-1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn error_statuses_have_one_json_shape() {
    let s = state(None);
    let check = |a: &Answer, status: StatusCode, code: &str| {
        assert_eq!(a.status, status, "{}", a.text());
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/json", "{}", a.text());
        let v = a.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    };
    // 400: malformed JSON, a bad query, limits out of range, unknown filter values, empty text.
    let malformed = Request::post("/api/match")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"text\": "))
        .unwrap();
    check(&send(&s, malformed).await, StatusCode::BAD_REQUEST, "malformed_json");
    check(&post(&s, "/api/match", json!({"text": 42})).await, StatusCode::BAD_REQUEST, "invalid_body");
    check(
        &post(&s, "/api/match", json!({"text": "x", "filters": {"verdicts": ["bogus"]}})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    check(&post(&s, "/api/match", json!({"text": "   "})).await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&post(&s, "/api/match", json!({"text": "x", "limit": 0})).await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=AND%20(").await, StatusCode::BAD_REQUEST, "bad_query");
    check(&get(&s, "/api/search?q=amnesty&limit=0").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&limit=99999").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&limit=-1").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&verdict=bogus").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&kind=tweet").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&from=2021-13").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search?q=amnesty&from=2022&to=2021").await, StatusCode::BAD_REQUEST, "invalid_request");
    check(&get(&s, "/api/search").await, StatusCode::BAD_REQUEST, "invalid_request");
    // 404: unknown routes and records.
    check(&get(&s, "/api/nothing-here").await, StatusCode::NOT_FOUND, "no_route");
    check(&get(&s, "/api/claims/no-such-claim").await, StatusCode::NOT_FOUND, "not_found");
    // 405.
    check(
        &send(&s, Request::put("/api/match").body(Body::empty()).unwrap()).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    check(&get(&s, "/api/match").await, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // 413: a 9 MiB body.
    let big = format!("{{\"text\": \"{}\"}}", "a".repeat(9 * 1024 * 1024));
    let req =
        Request::post("/api/match").header(header::CONTENT_TYPE, "application/json").body(Body::from(big)).unwrap();
    check(&send(&s, req).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // 415: not JSON.
    let req = Request::post("/api/match")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("fully committed"))
        .unwrap();
    check(&send(&s, req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let req = Request::post("/api/match").body(Body::from("{\"text\": \"x\"}")).unwrap();
    check(&send(&s, req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

// --- the real binary over TCP -------------------------------------------------------------

/// A `claimdex serve` child process, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn claimdex(index: &std::path::Path, token: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_claimdex"));
    cmd.env_remove("CLAIMDEX_TOKEN");
    if let Some(t) = token {
        cmd.env("CLAIMDEX_TOKEN", t);
    }
    cmd.args(["--index", index.to_str().unwrap(), "--corpus"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("CLAIMDEX_LOG", "warn");
    cmd
}

pub(crate) fn start_binary(index: &std::path::Path, token: Option<&str>) -> Server {
    let mut child =
        claimdex(index, token).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start claimdex serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, addr }
}

/// A minimal HTTP/1.1 client: one request per connection.
pub(crate) fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    http_with_token(addr, method, path, body, None)
}

/// [`http`] with an `Authorization: Bearer` header.
pub(crate) fn http_with_token(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("headers end");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

#[test]
fn the_binary_serves_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let server = start_binary(&index, None);
    assert!(index.join("meta.json").is_file(), "the index is built from the corpus at start");

    let (status, body) = http(&server.addr, "GET", "/healthz", None);
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    let (status, body) = http(&server.addr, "POST", "/api/match", Some("{\"text\": \"fully committed to amnesty\"}"));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["hits"][0]["claim"]["id"], BALKI);
    let (status, body) = http(&server.addr, "GET", "/v1alpha1/claims:search?query=amnesty", None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(&server.addr, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(body.contains("<title>claimdex"));
    let (status, body) = http(&server.addr, "POST", "/api/claims", Some("{\"id\": \"x\", \"text\": \"y\"}"));
    assert_eq!(status, 403, "{body}");
    let (status, _) = http(&server.addr, "GET", "/no/such/route", None);
    assert_eq!(status, 404);
}

#[test]
fn a_second_writing_server_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let first = start_binary(&index, Some(TOKEN));
    let (status, body) = http(&first.addr, "POST", "/api/claims", None);
    assert_eq!(status, 401, "{body}");
    let out = claimdex(&index, Some(TOKEN)).output().expect("run a second server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another claimdex process is writing"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
    // A read-only server can run next to the writer.
    let reader = start_binary(&index, None);
    assert_eq!(http(&reader.addr, "GET", "/healthz", None).0, 200);
}

#[tokio::test]
async fn articles_are_extracted_and_written_with_the_token() {
    let s = state(Some(TOKEN));
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/articles/polygraph-taliban-amnesty.txt"),
    )
    .unwrap();
    let body = json!({"text": text, "meta": {"publisher": "Polygraph.info", "verdict": "Misleading", "date": "2021-12-08", "id_prefix": "seed"}, "dry_run": true});
    // Writes need the token, dry run or not.
    assert_eq!(send(&s, json_req(Method::POST, "/api/articles", &body, None)).await.status, StatusCode::UNAUTHORIZED);
    let a = send(&s, json_req(Method::POST, "/api/articles", &body, Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["extraction"]["claims"][0]["speaker"], "Abdul Qahar Balki");
    assert!(v.get("written").is_none());
    assert_eq!(get(&s, "/api/claims/seed-claim-1").await.status, StatusCode::NOT_FOUND, "a dry run writes nothing");
    let mut body = body;
    body["dry_run"] = json!(false);
    let a = send(&s, json_req(Method::POST, "/api/articles", &body, Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(a.json()["written"]["evidence"].as_u64().unwrap() >= 2);
    let c = get(&s, "/api/claims/seed-claim-1").await.json();
    assert_eq!(c["verdict"]["rating"], "misleading");
    // A bad format or an empty text is a 400.
    let bad = json!({"text": "x", "format": "pdf"});
    assert_eq!(
        send(&s, json_req(Method::POST, "/api/articles", &bad, Some(TOKEN))).await.status,
        StatusCode::BAD_REQUEST
    );
    let empty = json!({"text": "  "});
    assert_eq!(
        send(&s, json_req(Method::POST, "/api/articles", &empty, Some(TOKEN))).await.status,
        StatusCode::BAD_REQUEST
    );
}

//! The request handlers: each extracts its input, calls one library function (off the async
//! executor when it touches the index) and serializes the answer. None of them sees tantivy.

use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::{openapi, AppState, WriteAccess};
use crate::ingest::jsonl;
use crate::matcher::MAX_BATCH;
use crate::model::{Kind, Rating, Record};
use crate::{
    ClaimIndex, Filters, IngestReport, MatchRequest, MatchResult, PartialDate, SearchRequest, SearchResults, Stats,
};

/// Runs `f` on the index in the blocking pool once it is this request's turn
/// ([`AppState::max_concurrent`] requests work at once; the rest wait in order of arrival). A
/// request whose client goes away while it waits never runs; one that has started holds its
/// turn until `f` returns.
pub(crate) async fn blocking<T, F>(state: &Arc<AppState>, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&ClaimIndex) -> crate::Result<T> + Send + 'static,
{
    let turn = state.turn().await;
    let index = state.index.clone();
    Ok(tokio::task::spawn_blocking(move || {
        let _turn = turn;
        f(&index)
    })
    .await??)
}

/// The web page.
const INDEX_HTML: &str = include_str!("static/index.html");

/// `GET /`: the search page, embedded in the binary.
pub async fn page() -> Response {
    let mut res = Html(INDEX_HTML).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// `GET /healthz`.
pub async fn healthz() -> ApiJson<serde_json::Value> {
    ApiJson(serde_json::json!({ "status": "ok" }))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> ApiJson<serde_json::Value> {
    ApiJson(openapi::document())
}

/// The answer of `GET /api/stats`.
#[derive(Debug, Serialize)]
pub struct StatsView {
    /// The index's counts.
    #[serde(flatten)]
    pub stats: Stats,
    /// How statements are matched: "lexical" (BM25) or "semantic" (embeddings re-rank).
    pub matcher: &'static str,
    /// Whether the semantic model is loaded.
    pub semantic_model_loaded: bool,
}

/// `GET /api/stats`.
pub async fn stats(State(state): State<Arc<AppState>>) -> ApiResult<ApiJson<StatsView>> {
    let stats = blocking(&state, |idx| idx.stats()).await?;
    Ok(ApiJson(StatsView {
        stats,
        matcher: if state.index.embedder().is_some() { "hybrid" } else { "lexical" },
        semantic_model_loaded: state.index.embedder().is_some(),
    }))
}

/// Filter parameters as query strings carry them.
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    /// Exact speaker.
    pub speaker: Option<String>,
    /// Comma-separated verdicts.
    pub verdict: Option<String>,
    /// Exact publisher.
    pub publisher: Option<String>,
    /// Earliest date.
    pub from: Option<String>,
    /// Latest date.
    pub to: Option<String>,
    /// "claim" or "evidence".
    pub kind: Option<String>,
}

impl FilterParams {
    /// The library's filters; unknown verdicts, kinds and bad dates are 400s.
    pub fn to_filters(&self) -> ApiResult<Filters> {
        let date = |s: &Option<String>, name: &str| -> ApiResult<Option<PartialDate>> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(d) => d
                    .parse::<PartialDate>()
                    .map(Some)
                    .map_err(|e| ApiError::bad_request(format!("`{name}` {d:?}: {e}"))),
            }
        };
        let mut verdicts = Vec::new();
        for v in self.verdict.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()) {
            let r = Rating::parse(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown verdict {v:?}: expected one of {}",
                    Rating::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            verdicts.push(r);
        }
        let kind = match self.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(k) => Some(
                Kind::parse(k)
                    .ok_or_else(|| ApiError::bad_request(format!("unknown kind {k:?}: expected claim or evidence")))?,
            ),
        };
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        Ok(Filters {
            speaker: nonempty(&self.speaker),
            verdicts,
            publisher: nonempty(&self.publisher),
            from: date(&self.from, "from")?,
            to: date(&self.to, "to")?,
            kind,
        })
    }
}

/// The query string of `GET /api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    /// The query (tantivy syntax).
    pub q: Option<String>,
    /// Filters.
    #[serde(flatten)]
    pub filters: FilterParams,
    /// Page size.
    pub limit: Option<String>,
    /// Results to skip.
    pub offset: Option<String>,
}

/// Parses an optional non-negative integer parameter.
pub(crate) fn parse_usize(v: Option<&str>, name: &str, default: usize) -> ApiResult<usize> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => {
            s.parse().map_err(|_| ApiError::bad_request(format!("`{name}` must be a non-negative integer, not {s:?}")))
        }
    }
}

/// `GET /api/search`.
pub async fn search(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<ApiJson<SearchResults>> {
    let req = SearchRequest {
        query: p.q.ok_or_else(|| ApiError::bad_request("the `q` parameter is missing"))?,
        filters: p.filters.to_filters()?,
        limit: parse_usize(p.limit.as_deref(), "limit", 10)?,
        offset: parse_usize(p.offset.as_deref(), "offset", 0)?,
    };
    Ok(ApiJson(blocking(&state, move |idx| idx.search(&req)).await?))
}

/// `POST /api/match`.
pub async fn match_one(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<MatchRequest>,
) -> ApiResult<ApiJson<MatchResult>> {
    let res = blocking(&state, move |idx| idx.match_claims(&req)).await?;
    state.metrics.record_matches([&res]);
    Ok(ApiJson(res))
}

/// The body of `POST /api/match/batch`.
#[derive(Debug, Deserialize)]
pub struct BatchRequest {
    /// The statements, each a `MatchRequest` (parsed one by one, so a bad one fails alone).
    pub statements: Vec<serde_json::Value>,
}

/// One slot of a batch answer: a result or an error.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchSlot {
    /// The statement's result.
    Ok(MatchResult),
    /// Why the statement could not be matched.
    Err {
        /// `{"code", "message"}`.
        error: serde_json::Value,
    },
}

impl BatchSlot {
    fn error(e: ApiError) -> Self {
        BatchSlot::Err { error: serde_json::json!({ "code": e.code, "message": e.message }) }
    }
}

/// The answer of `POST /api/match/batch`.
#[derive(Debug, Serialize)]
pub struct BatchResponse {
    /// One slot per statement, in order.
    pub results: Vec<BatchSlot>,
}

/// `POST /api/match/batch`: the whole batch runs on one searcher in one blocking task.
pub async fn match_batch(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<BatchRequest>,
) -> ApiResult<ApiJson<BatchResponse>> {
    if body.statements.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} statements in one batch; the limit is {MAX_BATCH}", body.statements.len()),
        ));
    }
    let mut parsed: Vec<Result<MatchRequest, ApiError>> = Vec::with_capacity(body.statements.len());
    for (i, v) in body.statements.into_iter().enumerate() {
        parsed.push(
            serde_json::from_value::<MatchRequest>(v).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_statement", format!("statement {i}: {e}"))
            }),
        );
    }
    let valid: Vec<MatchRequest> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
    let mut answers = blocking(&state, move |idx| Ok(idx.match_batch(&valid))).await?.into_iter();
    let mut results = Vec::with_capacity(parsed.len());
    for p in parsed {
        results.push(match p {
            Err(e) => BatchSlot::error(e),
            Ok(_) => match answers.next() {
                Some(Ok(r)) => BatchSlot::Ok(r),
                Some(Err(e)) => BatchSlot::error(e.into()),
                None => BatchSlot::error(ApiError::internal("match_batch returned fewer results than statements")),
            },
        });
    }
    state.metrics.record_matches(results.iter().filter_map(|s| match s {
        BatchSlot::Ok(r) => Some(r),
        BatchSlot::Err { .. } => None,
    }));
    Ok(ApiJson(BatchResponse { results }))
}

/// The `format` parameter of record lookups.
#[derive(Debug, Deserialize)]
pub struct FormatParams {
    /// "json" (default) or "claimreview".
    pub format: Option<String>,
}

/// `GET /api/claims/{id}`: the claim as native JSON, or as schema.org ClaimReview JSON-LD with
/// `Accept: application/ld+json` or `?format=claimreview`.
pub async fn get_claim(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<FormatParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let wants_ld = match p.format.as_deref().map(str::trim) {
        None | Some("") => headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("application/ld+json")),
        Some(f) if f.eq_ignore_ascii_case("json") => false,
        Some(f) if f.eq_ignore_ascii_case("claimreview") || f.eq_ignore_ascii_case("jsonld") => true,
        Some(f) => return Err(ApiError::bad_request(format!("unknown format {f:?}: expected json or claimreview"))),
    };
    let claim = blocking(&state, move |idx| idx.get_claim(&id)).await?;
    if wants_ld {
        let body =
            serde_json::to_vec(&crate::ingest::claimreview::to_claimreview(&claim)).map_err(ApiError::internal)?;
        return Ok(([(header::CONTENT_TYPE, "application/ld+json")], body).into_response());
    }
    Ok(ApiJson(claim).into_response())
}

/// `GET /api/evidence/{id}`.
pub async fn get_evidence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<crate::Evidence>> {
    Ok(ApiJson(blocking(&state, move |idx| idx.get_evidence(&id)).await?))
}

/// The answer of the write API.
#[derive(Debug, Serialize)]
pub struct WriteResponse {
    /// What was written.
    pub written: IngestReport,
    /// The ids written, in order.
    pub ids: Vec<String>,
}

/// Reads one native record or an array of them; records without `kind` get `kind`.
pub fn parse_records(body: serde_json::Value, kind: Kind) -> ApiResult<Vec<Record>> {
    let items = match body {
        serde_json::Value::Array(items) => items,
        v => vec![v],
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("the body holds no records"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        if let Some(obj) = item.as_object_mut() {
            let k = obj.entry("kind").or_insert_with(|| kind.as_str().into());
            if k.as_str().and_then(Kind::parse) != Some(kind) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_record",
                    format!("record {}: `kind` must be {:?} on this route", i + 1, kind.as_str()),
                ));
            }
        }
        out.push(jsonl::parse_line(&item.to_string(), FsPath::new("record"), i as u64 + 1)?);
    }
    Ok(out)
}

async fn write(state: Arc<AppState>, body: serde_json::Value, kind: Kind) -> ApiResult<ApiJson<WriteResponse>> {
    let records = parse_records(body, kind)?;
    let ids = records.iter().map(|r| r.id().to_string()).collect();
    let written = blocking(&state, move |idx| idx.upsert(&records)).await?;
    tracing::info!(claims = written.claims, evidence = written.evidence, "records written");
    Ok(ApiJson(WriteResponse { written, ids }))
}

/// `POST /api/claims`: one claim or an array, written and committed before the answer.
pub async fn post_claims(
    _: WriteAccess,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<WriteResponse>> {
    write(state, body, Kind::Claim).await
}

/// The body of `POST /api/articles`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    /// The article as published.
    pub text: String,
    /// "text" (default), "markdown" or "html".
    #[serde(default)]
    pub format: Option<String>,
    /// What the text does not say (publisher, URL, verdict...); wins over front matter.
    #[serde(default)]
    pub meta: crate::article::ArticleMeta,
    /// Extract and answer what would be indexed, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The answer of `POST /api/articles`.
#[derive(Debug, Serialize)]
pub struct ArticleResponse {
    /// What was extracted: quotes with speakers, claims and evidence.
    pub extraction: crate::article::Extraction,
    /// What was written (absent on a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<IngestReport>,
}

/// `POST /api/articles`: extracts claims and evidence from a fact-check article and writes them.
pub async fn post_article(
    _: WriteAccess,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<ArticleBody>,
) -> ApiResult<ApiJson<ArticleResponse>> {
    use crate::article::{extract, ArticleFormat};
    let format = match body.format.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") | Some("txt") => ArticleFormat::Text,
        Some("markdown") | Some("md") => ArticleFormat::Markdown,
        Some("html") => ArticleFormat::Html,
        Some(f) => return Err(ApiError::bad_request(format!("unknown format {f:?}: expected text, markdown or html"))),
    };
    if body.text.trim().is_empty() {
        return Err(ApiError::bad_request("the article `text` is empty"));
    }
    let extraction = extract(&body.text, format, &body.meta)?;
    if body.dry_run {
        return Ok(ApiJson(ArticleResponse { extraction, written: None }));
    }
    let records: Vec<Record> = extraction
        .claims
        .iter()
        .cloned()
        .map(Record::Claim)
        .chain(extraction.evidence.iter().cloned().map(Record::Evidence))
        .collect();
    let written = blocking(&state, move |idx| idx.upsert(&records)).await?;
    tracing::info!(claims = written.claims, evidence = written.evidence, "article records written");
    Ok(ApiJson(ArticleResponse { extraction, written: Some(written) }))
}

/// `POST /api/evidence`: one evidence record or an array.
pub async fn post_evidence(
    _: WriteAccess,
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<ApiJson<WriteResponse>> {
    write(state, body, Kind::Evidence).await
}

async fn delete(state: Arc<AppState>, id: String, kind: Kind) -> ApiResult<ApiJson<serde_json::Value>> {
    let answer = serde_json::json!({ "deleted": id });
    blocking(&state, move |idx| {
        match kind {
            Kind::Claim => idx.get_claim(&id).map(|_| ())?,
            Kind::Evidence => idx.get_evidence(&id).map(|_| ())?,
        }
        idx.delete(&id)
    })
    .await?;
    tracing::info!(kind = kind.as_str(), "record deleted");
    Ok(ApiJson(answer))
}

/// `DELETE /api/claims/{id}`.
pub async fn delete_claim(
    _: WriteAccess,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    delete(state, id, Kind::Claim).await
}

/// `DELETE /api/evidence/{id}`.
pub async fn delete_evidence(
    _: WriteAccess,
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    delete(state, id, Kind::Evidence).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_take_turns_on_the_index() {
        let state = Arc::new(AppState::new(ClaimIndex::create_in_ram().unwrap(), None).with_max_concurrent(2));
        assert_eq!(state.max_concurrent(), 2);
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (state, now, most) = (state.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    blocking(&state, move |_| {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        now.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert!((1..=2).contains(&most.load(Ordering::SeqCst)), "{most:?} at once");

        // A request that gives up while it waits for its turn never runs.
        let one = Arc::new(AppState::new(ClaimIndex::create_in_ram().unwrap(), None).with_max_concurrent(0));
        assert_eq!(one.max_concurrent(), 1);
        let ran = Arc::new(AtomicBool::new(false));
        let turn = one.turn().await;
        let r = ran.clone();
        let waiting = blocking(&one, move |_| {
            r.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), waiting).await.is_err());
        // While a request waits, /metrics says so.
        let queued = tokio::spawn({
            let one = one.clone();
            async move { blocking(&one, |_| Ok(())).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(one.metrics.render().contains("claimdex_requests_waiting 1\n"));
        drop(turn);
        assert!(queued.await.unwrap());
        assert!(one.metrics.render().contains("claimdex_requests_waiting 0\n"));
        let r = ran.clone();
        blocking(&one, move |_| Ok(r.load(Ordering::SeqCst))).await.map(|seen| assert!(!seen)).unwrap();
        assert!(!ran.load(Ordering::SeqCst));
    }
}

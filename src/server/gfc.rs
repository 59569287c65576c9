//! `GET /v1alpha1/claims:search`: the Google Fact Check Tools API's claim search, answered from
//! this index, so that its clients work by changing the base URL (the `key` parameter is ignored).

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use super::handlers::{blocking, parse_usize};
use super::AppState;
use crate::model::{Kind, Record};
use crate::search::MAX_LIMIT;
use crate::{Claim, Filters, PartialDate, SearchRequest};

/// The query string, named as Google names it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GfcParams {
    /// Free text (not query syntax: operators and punctuation are ignored).
    pub query: Option<String>,
    /// BCP-47 language of the claims ("en", "es").
    pub language_code: Option<String>,
    /// Only reviews published on this site ("polygraph.info").
    pub review_publisher_site_filter: Option<String>,
    /// Only claims at most this many days old.
    pub max_age_days: Option<String>,
    /// Page size (default 10).
    pub page_size: Option<String>,
    /// The `nextPageToken` of the previous page.
    pub page_token: Option<String>,
    /// Results to skip (ignored with `pageToken`).
    pub offset: Option<String>,
}

/// Google's response.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GfcResponse {
    /// The claims, best first (absent when there are none, as Google does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<GfcClaim>,
    /// The token of the next page, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// One claim, Google style.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GfcClaim {
    /// The statement.
    pub text: String,
    /// Who said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant: Option<String>,
    /// When, as RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_date: Option<String>,
    /// Its reviews (claimdex keeps one per claim).
    pub claim_review: Vec<GfcReview>,
}

/// One review, Google style.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GfcReview {
    /// The publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<GfcPublisher>,
    /// The review's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The review's headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When it was published, as RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_date: Option<String>,
    /// The publisher's verdict, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textual_rating: Option<String>,
    /// Language of the review.
    pub language_code: String,
}

/// A publisher, Google style.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct GfcPublisher {
    /// Its name.
    pub name: String,
    /// Its site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

const TOKEN_PREFIX: &str = "cdx1:";

/// The opaque page token for an offset.
pub fn encode_page_token(offset: usize) -> String {
    format!("{TOKEN_PREFIX}{offset}").bytes().map(|b| format!("{b:02x}")).collect()
}

/// The offset of a page token.
pub fn decode_page_token(token: &str) -> Option<usize> {
    if !token.len().is_multiple_of(2) || token.len() > 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..token.len()).step_by(2).map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    String::from_utf8(bytes?).ok()?.strip_prefix(TOKEN_PREFIX)?.parse().ok()
}

/// RFC 3339 timestamp of a (partial) date's first day.
pub fn rfc3339(d: PartialDate) -> String {
    format!("{}T00:00:00Z", PartialDate::from_days(d.first_day()))
}

/// Free text as a query: words only, lowercased so that AND/OR/NOT are words, not operators.
fn plain_query(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn language_matches(claim_lang: &str, wanted: &str) -> bool {
    let primary = |s: &str| s.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    primary(claim_lang) == primary(wanted)
}

fn site_matches(c: &Claim, site: &str) -> bool {
    let site = site
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let Some(r) = &c.review else { return false };
    let on_site = |s: &str| {
        let s = s
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.")
            .to_ascii_lowercase();
        let host = s.split('/').next().unwrap_or("");
        host == site || host.ends_with(&format!(".{site}"))
    };
    r.publisher.as_ref().and_then(|p| p.site.as_deref()).is_some_and(on_site) || r.url.as_deref().is_some_and(on_site)
}

/// A claim, Google style.
pub fn to_gfc(c: Claim) -> GfcClaim {
    let review = c.review.unwrap_or_default();
    GfcClaim {
        text: c.text,
        claimant: c.speaker,
        claim_date: c.date.map(rfc3339),
        claim_review: vec![GfcReview {
            publisher: review.publisher.map(|p| GfcPublisher { name: p.name, site: p.site }),
            url: review.url,
            title: review.title,
            review_date: review.date.map(rfc3339),
            textual_rating: c.verdict.map(|v| v.label),
            language_code: c.language,
        }],
    }
}

/// `GET /v1alpha1/claims:search`.
pub async fn claims_search(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<GfcParams>,
) -> ApiResult<ApiJson<GfcResponse>> {
    let site = p.review_publisher_site_filter.clone().filter(|s| !s.trim().is_empty());
    let language = p.language_code.clone().filter(|s| !s.trim().is_empty());
    let query = match p.query.as_deref() {
        Some(q) => plain_query(q),
        None if site.is_some() => "*".to_string(),
        None => return Err(ApiError::bad_request("`query` or `reviewPublisherSiteFilter` is required")),
    };
    if query.is_empty() {
        return Ok(ApiJson(GfcResponse { claims: Vec::new(), next_page_token: None }));
    }
    let page_size = match parse_usize(p.page_size.as_deref(), "pageSize", 10)? {
        0 => 10,
        n => n,
    };
    let offset = match p.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => decode_page_token(t)
            .ok_or_else(|| ApiError::bad_request("`pageToken` is not a token this server issued"))?,
        None => parse_usize(p.offset.as_deref(), "offset", 0)?,
    };
    let from = match p.max_age_days.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(_) => {
            let days = parse_usize(p.max_age_days.as_deref(), "maxAgeDays", 0)?;
            Some(PartialDate::from_days(PartialDate::today().first_day() - days.min(1_000_000) as i64))
        }
    };
    let filters = Filters { kind: Some(Kind::Claim), from, ..Default::default() };
    let post_filter = site.is_some() || language.is_some();
    // Filters the library does not know run over the first MAX_LIMIT hits.
    let req = if post_filter {
        crate::search::check_paging(page_size, offset)?;
        SearchRequest { query, filters, limit: MAX_LIMIT, offset: 0 }
    } else {
        SearchRequest { query, filters, limit: page_size, offset }
    };
    let res = blocking(&state, move |idx| idx.search(&req)).await?;
    let claims = res.hits.into_iter().filter_map(|h| match h.record {
        Record::Claim(c) => Some(c),
        Record::Evidence(_) => None,
    });
    let (page, more): (Vec<Claim>, bool) = if post_filter {
        let kept: Vec<Claim> = claims
            .filter(|c| site.as_deref().is_none_or(|s| site_matches(c, s)))
            .filter(|c| language.as_deref().is_none_or(|l| language_matches(&c.language, l)))
            .collect();
        let more = kept.len() > offset + page_size;
        (kept.into_iter().skip(offset).take(page_size).collect(), more)
    } else {
        (claims.collect(), offset + page_size < res.total)
    };
    Ok(ApiJson(GfcResponse {
        claims: page.into_iter().map(to_gfc).collect(),
        next_page_token: more.then(|| encode_page_token(offset + page_size)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        for n in [0, 10, 12345] {
            assert_eq!(decode_page_token(&encode_page_token(n)), Some(n));
        }
        assert_eq!(decode_page_token("zz"), None);
        assert_eq!(decode_page_token("abc"), None);
        assert_eq!(decode_page_token(""), None);
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339("2021-12-05".parse().unwrap()), "2021-12-05T00:00:00Z");
        assert_eq!(rfc3339("2021-12".parse().unwrap()), "2021-12-01T00:00:00Z");
    }

    #[test]
    fn queries_are_plain_words() {
        assert_eq!(plain_query("Taliban AND (amnesty: \"decree\""), "taliban and amnesty decree");
        assert_eq!(plain_query("  ()  "), "");
    }
}

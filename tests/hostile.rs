//! Hostile input: what a scraper or an anonymous caller may send. Each case gets a clear error
//! or a sane answer, never a panic, a 500 or a hang. Only cases that tests/core.rs, tests/http.rs
//! and the ingest unit tests do not already cover.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use claimdex::ingest::{claimreview, jsonl};
use claimdex::{ClaimIndex, Error, MatchRequest, PartialDate, Record, SearchRequest};
use serde_json::{json, Value};

use crate::http::{get, json_req, post, send, state, Answer, TOKEN};
use crate::util::corpus_index;

/// Fails the test if a request took so long it may as well have hung.
fn quick(start: Instant, what: &str) {
    assert!(start.elapsed() < Duration::from_secs(10), "{what} took {:?}", start.elapsed());
}

/// Not a 500, and an error (if any) has the JSON shape.
fn sane(a: &Answer, what: &str) {
    assert!(!a.status.is_server_error(), "{what}: {} {}", a.status, a.text());
    if !a.status.is_success() {
        assert!(a.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", a.text());
    }
}

fn native(v: &Value) -> Vec<Result<Record, Error>> {
    jsonl::read(format!("{v}\n").as_bytes(), Path::new("h.jsonl")).collect()
}

#[test]
fn wrong_types_nulls_and_duplicates_in_every_native_field() {
    let claim = json!({"kind": "claim", "id": "c1", "text": "The dam will burst.", "speaker": "Mayor",
        "speaker_role": "mayor", "date": "2021-12-05", "language": "en", "appearances": ["https://x.example/a"],
        "verdict": {"label": "False", "rating": "false"},
        "review": {"publisher": {"name": "Checks", "site": "checks.example"}, "url": "https://checks.example/1",
                   "title": "No, the dam will not burst", "date": "2021-12-06", "summary": "It is sound."},
        "tags": ["dams"]});
    let evidence = json!({"kind": "evidence", "id": "e1", "text": "Engineers say the dam is sound.",
        "source": "Engineers", "url": "https://x.example/e", "date": "2021-12-01", "language": "en",
        "claims": [{"claim_id": "c1", "stance": "refutes"}]});
    let junk = [
        json!(null),
        json!(42),
        json!(-1.5),
        json!(true),
        json!(""),
        json!("x"),
        json!([]),
        json!({}),
        json!([null]),
        json!({"a": {"b": [1, {"c": null}]}}),
        json!("2021-02-30"),
        json!(1e300),
        json!(u64::MAX),
        json!("\u{202e}\u{0000}\u{0007}"),
    ];
    for base in [&claim, &evidence] {
        assert_eq!(native(base).into_iter().filter(|r| r.is_ok()).count(), 1, "the base record is valid");
        let Value::Object(obj) = base else { unreachable!() };
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (k, v) in obj {
            paths.push(vec![k.clone()]);
            if let Value::Object(inner) = v {
                paths.extend(inner.keys().map(|k2| vec![k.clone(), k2.clone()]));
            }
        }
        for path in &paths {
            for j in &junk {
                let mut rec = base.clone();
                let mut slot = &mut rec;
                for key in path {
                    slot = &mut slot[key.as_str()];
                }
                *slot = j.clone();
                let items = native(&rec);
                assert_eq!(items.len(), 1, "{path:?} = {j}");
                if let Err(e) = &items[0] {
                    let msg = e.to_string();
                    assert!(msg.starts_with("h.jsonl:1: field `"), "{path:?} = {j}: {msg}");
                    // The field named is the one at fault (or `-`/`kind` when the record is unreadable).
                    let field = msg.split('`').nth(1).unwrap();
                    assert!(
                        field.starts_with(&path[0]) || field == "-" || field == "kind",
                        "{path:?} = {j}: named `{field}`: {msg}"
                    );
                }
            }
            // The field missing altogether.
            let mut rec = base.clone();
            if path.len() == 1 {
                rec.as_object_mut().unwrap().remove(&path[0]);
            } else if let Some(o) = rec[path[0].as_str()].as_object_mut() {
                o.remove(&path[1]);
            }
            assert_eq!(native(&rec).len(), 1, "{path:?} missing");
        }
    }
    // Duplicate keys: the last wins, in nested objects too.
    let dup = "{\"kind\":\"claim\",\"id\":\"a\",\"id\":\"b\",\"text\":\"t\",\"verdict\":{\"label\":\"x\",\"rating\":\"true\",\"rating\":\"false\"}}\n";
    let recs: Vec<_> = jsonl::read(dup.as_bytes(), Path::new("h.jsonl")).collect();
    match &recs[0] {
        Ok(Record::Claim(c)) => {
            assert_eq!(c.id, "b");
            assert_eq!(c.verdict.as_ref().unwrap().rating, claimdex::Rating::False);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_ten_megabyte_line_is_one_clear_error() {
    // Valid JSON, but the text is over the 100 kB limit: one error naming line and field; the next line still reads.
    let big = json!({"kind": "claim", "id": "big", "text": "a".repeat(10 * 1024 * 1024)}).to_string();
    let input = format!("{big}\n{}\n", json!({"kind": "claim", "id": "ok", "text": "fine"}));
    let start = Instant::now();
    let items: Vec<_> = jsonl::read(input.as_bytes(), Path::new("h.jsonl")).collect();
    quick(start, "a 10 MB line");
    assert_eq!(items.len(), 2);
    let e = items[0].as_ref().unwrap_err().to_string();
    assert!(e.starts_with("h.jsonl:1: field `text`") && e.contains("longer than"), "{e}");
    assert!(items[1].is_ok());
    // 10 MB of garbage without a newline, then a good line.
    let mut junk = vec![b'{'; 10 * 1024 * 1024];
    junk.extend_from_slice(b"\n{\"kind\":\"claim\",\"id\":\"ok\",\"text\":\"fine\"}\n");
    let items: Vec<_> = jsonl::read(&junk[..], Path::new("h.jsonl")).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].as_ref().unwrap_err().to_string().contains("not JSON"));
    assert!(items[1].is_ok());
}

#[test]
fn invalid_utf8_everywhere_in_a_file() {
    // A bad byte in the middle of a string value, a lone continuation byte, an overlong encoding, a surrogate.
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"a\",\"text\":\"caf\xc3\"}\n");
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"b\",\"text\":\"\x80\"}\n");
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"c\",\"text\":\"\xc0\xaf\"}\n");
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"d\",\"text\":\"\xed\xa0\x80\"}\n");
    // JSON escapes of a lone surrogate are valid JSON but not a valid string.
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"e\",\"text\":\"\\ud800\"}\n");
    input.extend_from_slice(b"{\"kind\":\"claim\",\"id\":\"ok\",\"text\":\"fine\"}\n");
    let items: Vec<_> = jsonl::read(&input[..], Path::new("h.jsonl")).collect();
    assert_eq!(items.len(), 6);
    for (i, item) in items[..5].iter().enumerate() {
        let e = item.as_ref().unwrap_err().to_string();
        assert!(e.starts_with(&format!("h.jsonl:{}:", i + 1)), "{e}");
    }
    assert!(items[5].is_ok());
}

#[test]
fn claimreview_authors_in_every_shape() {
    let doc = |author: Value| {
        json!({"@context": "https://schema.org", "@type": "ClaimReview", "url": "https://checks.example/fc/1",
               "claimReviewed": "The dam will burst.", "author": author,
               "reviewRating": {"@type": "Rating", "ratingValue": "1", "bestRating": "5", "worstRating": "1",
                                "alternateName": "False"}})
        .to_string()
    };
    for author in [
        json!("Checks Inc"),
        json!({"@type": "Organization", "name": "Checks Inc", "url": "https://checks.example"}),
        json!([{"@type": "Person", "name": "A. Writer"}, {"@type": "Organization", "name": "Checks Inc"}]),
        json!(["Checks Inc", "Someone"]),
        json!([]),
        json!(null),
        json!(42),
        json!({"name": ["Checks", "Inc"]}),
        json!({"name": {"@value": "Checks Inc"}}),
    ] {
        let claims = claimreview::parse_document(&doc(author.clone()), Path::new("cr.json"));
        assert_eq!(claims.len(), 1, "{author}");
        let c = claims[0].as_ref().unwrap_or_else(|e| panic!("{author}: {e}"));
        assert_eq!(c.text, "The dam will burst.");
        assert_eq!(c.verdict.as_ref().unwrap().rating, claimdex::Rating::False, "{author}");
    }
}

#[test]
fn dates_that_do_not_exist() {
    for bad in [
        "2021-02-29",
        "2021-04-31",
        "1900-02-29",
        "2021-00-10",
        "2021-01-00",
        "2021-13",
        "0000-00-00",
        "2021-1-1-1",
        "February 30, 2021",
        "31 April 2021",
        "-0001-01-01",
        "99999999999999999999-01-01",
        "2021-01-99999999999999999999",
    ] {
        let r = std::panic::catch_unwind(|| (bad.parse::<PartialDate>(), PartialDate::parse_text(bad)));
        let (strict, text) = r.unwrap_or_else(|_| panic!("{bad:?} panicked"));
        assert!(strict.is_err(), "{bad:?} parsed as {:?}", strict);
        // Free text may find a year or month in it, but never an impossible day.
        if let Ok(d) = text {
            assert!(PartialDate::from_days(d.first_day()).first_day() == d.first_day(), "{bad:?} -> {d}");
        }
    }
    assert_eq!("2020-02-29".parse::<PartialDate>().unwrap().to_string(), "2020-02-29");
    assert_eq!("2000-02-29".parse::<PartialDate>().unwrap().to_string(), "2000-02-29");
}

#[test]
fn control_characters_and_right_to_left_text_round_trip() {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let text =
        "\u{202e}\u{0627}\u{0644}\u{0639}\u{0641}\u{0648} amnesty \u{0001}\u{0007}\u{001b}[31m\u{200b}\u{feff} end";
    let id = "rtl-\u{202e}\u{0000}-id";
    let rec: Record = serde_json::from_value(json!({"kind": "claim", "id": id, "text": text, "speaker": "\u{0000}"}))
        .expect("a record");
    idx.upsert(&[rec]).unwrap();
    let c = idx.get_claim(id).unwrap();
    assert_eq!(c.text, text);
    let res = idx.search(&SearchRequest::new("amnesty")).unwrap();
    assert_eq!(res.total, 1);
    assert_eq!(res.hits[0].record.id(), id);
    assert!(!idx.match_claims(&MatchRequest::new(text)).unwrap().hits.is_empty());
}

#[test]
fn odd_queries_answer_or_fail_clearly() {
    let idx = corpus_index();
    let too_long = "a".repeat(100_000);
    let queries = [
        "the of and a to",
        "?!...",
        "\"\"",
        "*",
        "-amnesty",
        "+",
        "-",
        ":",
        "\\",
        "\"unclosed phrase",
        "(((((((((((",
        ")))",
        "amnesty^",
        "amnesty^1e39",
        "amnesty^-5",
        "amnesty~",
        "\"amnesty decree\"~100000000",
        "date:>2021",
        "date:[2021 TO 2020]",
        "date:[a TO b]",
        "id:*",
        "kind:claim",
        "verdict:{* TO *}",
        "[* TO *]",
        "speaker:",
        "NOT",
        "AND OR NOT",
        "a AND",
        "IN [a b c]",
        "text:amnesty",
        &too_long,
    ];
    for q in queries {
        let start = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| idx.search(&SearchRequest::new(q))));
        quick(start, q);
        match r {
            Err(_) => panic!("search {q:?} panicked"),
            Ok(Ok(_)) => {}
            Ok(Err(Error::QueryParse(_) | Error::InvalidRequest(_))) => {}
            Ok(Err(e)) => panic!("search {q:?}: a server-side error for a bad query: {e}"),
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| idx.match_claims(&MatchRequest::new(q))));
        match r {
            Err(_) => panic!("match {q:?} panicked"),
            Ok(Ok(_)) | Ok(Err(Error::InvalidRequest(_))) => {}
            Ok(Err(e)) => panic!("match {q:?}: {e}"),
        }
    }
}

/// Found by cargo-fuzz (fuzz/regressions/query/): tantivy's query parser takes time exponential in
/// the nesting of parentheses, so a 25-byte query could hold a core for minutes.
#[test]
fn nested_groups_are_refused_quickly() {
    let idx = corpus_index();
    let deep = format!("{}amnesty", "(".repeat(30));
    let balanced = format!("{}amnesty{}", "(".repeat(20), ")".repeat(20));
    let negated = format!("{}amnesty", "-(".repeat(25));
    for q in [deep.as_str(), balanced.as_str(), negated.as_str(), "\"((((((((((((((((((((\" amnesty"] {
        let start = Instant::now();
        let r = idx.search(&SearchRequest::new(q));
        assert!(start.elapsed() < Duration::from_secs(1), "{q} took {:?}", start.elapsed());
        assert!(matches!(r, Err(Error::QueryParse(_))), "{q}: {r:?}");
    }
    // Ten levels are still allowed, and quick.
    let ten = format!("{}amnesty{}", "(".repeat(10), ")".repeat(10));
    let start = Instant::now();
    let hits = idx.search(&SearchRequest::new(&ten)).expect("ten levels parse");
    assert!(start.elapsed() < Duration::from_secs(1), "ten levels took {:?}", start.elapsed());
    assert!(hits.total > 0);
}

#[tokio::test]
async fn paging_parameters_at_the_edges_over_http() {
    let s = state(None);
    for (uri, ok) in [
        ("/api/search?q=amnesty&offset=0", true),
        ("/api/search?q=amnesty&limit=1000", true),
        ("/api/search?q=amnesty&offset=100000&limit=1000", true),
        ("/api/search?q=amnesty&offset=100001", false),
        ("/api/search?q=amnesty&offset=-1", false),
        ("/api/search?q=amnesty&offset=99999999999999999999", false),
        ("/api/search?q=amnesty&limit=99999999999999999999", false),
        ("/api/search?q=amnesty&limit=1.5", false),
        ("/api/search?q=amnesty&limit=", true),
        ("/api/search?q=amnesty&limit=%00", false),
        ("/api/search?q=amnesty&limit=1&limit=2", false),
        ("/v1alpha1/claims:search?query=amnesty&pageSize=0", true),
        ("/v1alpha1/claims:search?query=amnesty&pageSize=-1", false),
        ("/v1alpha1/claims:search?query=amnesty&pageSize=99999999999999999999", false),
        ("/v1alpha1/claims:search?query=amnesty&pageToken=%FF%FE", false),
        ("/v1alpha1/claims:search?query=amnesty&pageToken=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false),
        ("/v1alpha1/claims:search?query=amnesty&maxAgeDays=-1", false),
        // Clamped to a million days: everything is younger.
        ("/v1alpha1/claims:search?query=amnesty&maxAgeDays=99999999999999", true),
    ] {
        let start = Instant::now();
        let a = get(&s, uri).await;
        quick(start, uri);
        sane(&a, uri);
        assert_eq!(a.status.is_success(), ok, "{uri}: {} {}", a.status, a.text());
    }
    let a = post(&s, "/api/match", json!({"text": "amnesty", "limit": -1})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    let a = post(&s, "/api/match", json!({"text": "amnesty", "limit": 1e30})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    let a = post(&s, "/api/match", json!({"text": "amnesty", "limit": 18446744073709551615u64})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
}

#[tokio::test]
async fn hostile_bodies_over_http() {
    let s = state(Some(TOKEN));
    // A 10 MB body to the write API: 413 with the JSON shape, nothing written.
    let big = json!({"id": "big", "text": "a".repeat(10 * 1024 * 1024)});
    let a = send(&s, json_req(Method::POST, "/api/claims", &big, Some(TOKEN))).await;
    assert_eq!((a.status, a.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_string()));
    // Under the body limit but over the text limit: 400 naming the field.
    let long = json!({"id": "long", "text": "a".repeat(200_000)});
    let a = send(&s, json_req(Method::POST, "/api/claims", &long, Some(TOKEN))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert!(a.text().contains("text"), "{}", a.text());
    // Deeply nested JSON: 400, no stack overflow.
    for depth in [200, 100_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for uri in ["/api/claims", "/api/match", "/api/match/batch"] {
            let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
            req = req.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
            let a = send(&s, req.body(Body::from(body.clone())).unwrap()).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri} depth {depth}: {}", a.text());
        }
    }
    // Invalid UTF-8 in a JSON body.
    let req = Request::post("/api/match")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(&b"{\"text\": \"caf\xc3\"}"[..]))
        .unwrap();
    let a = send(&s, req).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    // Wrong types in the write API: 400s, never 500s.
    for body in [
        json!(null),
        json!(42),
        json!("claim"),
        json!([]),
        json!([null]),
        json!([1, 2]),
        json!({"id": null, "text": "t"}),
        json!({"id": 5, "text": "t"}),
        json!({"id": "x", "text": ["t"]}),
        json!({"id": "x", "text": "t", "kind": 5}),
        json!({"id": "x", "text": "t", "date": "2021-02-29"}),
        json!({"id": "", "text": "t"}),
        json!({"id": "x".repeat(10_000), "text": "t"}),
    ] {
        let a = send(&s, json_req(Method::POST, "/api/claims", &body, Some(TOKEN))).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
        sane(&a, "write");
    }
    // Match requests with junk in every field.
    let base = json!({"text": "amnesty", "speaker": "x", "date": "2021-12-01", "language": "en", "limit": 3});
    for field in ["text", "speaker", "date", "language", "limit", "filters", "nosuchfield"] {
        for j in [json!(null), json!(-1), json!("2021-02-30"), json!([]), json!({}), json!("\u{0000}")] {
            let mut b = base.clone();
            b[field] = j.clone();
            let a = post(&s, "/api/match", b).await;
            sane(&a, &format!("match {field} = {j}"));
        }
    }
    // Ids with path tricks and odd bytes.
    for id in ["..%2F..%2Fetc%2Fpasswd", "%00", "%FF", "a%20b", &"x".repeat(5000)] {
        let a = get(&s, &format!("/api/claims/{id}")).await;
        sane(&a, id);
        assert!(a.status == StatusCode::NOT_FOUND || a.status == StatusCode::BAD_REQUEST, "{id}: {}", a.status);
    }
    let batch = json!({"statements": vec![json!({"text": "amnesty"}); 10_001]});
    let a = post(&s, "/api/match/batch", batch).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
}

//! The fuzz targets' bodies, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/`) and by the
//! stable-Rust fallback in `tests/fuzz.rs`, which includes this file. Each function panics when
//! an input breaks an invariant: a panic inside claimdex, a server-side error for a user's input,
//! or a record that does not survive a round trip.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use claimdex::ingest::{claimreview, jsonl};
use claimdex::{ClaimIndex, Error, IngestOptions, MatchRequest, PartialDate, SearchRequest};

/// The targets by name, for drivers.
/// A fuzz target: its name and the function that takes one input.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[("claimreview", claimreview), ("jsonl", jsonl), ("date", date), ("query", query)];

/// `ingest::claimreview::parse_document`: any text; a claim it reads must read back the same
/// from its own ClaimReview export.
pub fn claimreview(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for item in claimreview::parse_document(text, Path::new("fuzz.json")) {
        match item {
            Ok(claim) => {
                let again =
                    claimreview::parse_document(&claimreview::to_claimreview(&claim).to_string(), Path::new("x"));
                assert_eq!(again.len(), 1, "the export of {claim:?} reads as {again:?}");
                let back = again.into_iter().next().expect("one").expect("the export reads");
                assert_eq!(back, claim, "the ClaimReview round trip changed the claim");
            }
            Err(e) => assert!(matches!(e, Error::Ingest { .. }), "not an ingest error: {e}"),
        }
    }
}

/// `ingest::jsonl::read`: any bytes; every item is a record that passes validation and survives
/// a JSON round trip, or an ingest error.
pub fn jsonl(data: &[u8]) {
    for item in jsonl::read(data, Path::new("fuzz.jsonl")) {
        match item {
            Ok(record) => {
                claimdex::index::validate(&record).expect("the reader validated it");
                let line = serde_json::to_string(&record).expect("a record serializes");
                let back = jsonl::parse_line(&line, Path::new("x"), 1).expect("a written record reads back");
                assert_eq!(back, record, "the JSON round trip changed the record");
            }
            Err(e) => assert!(matches!(e, Error::Ingest { .. }), "not an ingest error: {e}"),
        }
    }
}

/// `PartialDate::parse_text` and the strict parser: a date found is a real one, and it prints
/// as text the strict parser reads back to the same date.
pub fn date(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for d in [PartialDate::parse_text(&text), text.parse::<PartialDate>()].into_iter().flatten() {
        let printed = d.to_string();
        assert_eq!(printed.parse::<PartialDate>().ok(), Some(d), "{text:?} -> {printed:?}");
        assert!(d.first_day() <= d.last_day(), "{d}");
    }
}

/// `ClaimIndex::search` and `match_claims` on an in-RAM index of the corpus: any query answers
/// or fails with a client error (a 400), never a server-side error (a 500).
pub fn query(data: &[u8]) {
    let idx = corpus_index();
    let text = String::from_utf8_lossy(data);
    let client = |e: &Error| matches!(e, Error::QueryParse(_) | Error::InvalidRequest(_));
    if let Err(e) = idx.search(&SearchRequest::new(text.as_ref())) {
        assert!(client(&e), "search {text:?}: {e}");
    }
    if let Err(e) = idx.match_claims(&MatchRequest::new(text.as_ref())) {
        assert!(client(&e), "match {text:?}: {e}");
    }
    // The same bytes as a whole JSON request, as the HTTP API would take them.
    if let Ok(req) = serde_json::from_slice::<MatchRequest>(data) {
        if let Err(e) = idx.match_claims(&req) {
            assert!(client(&e), "match {req:?}: {e}");
        }
    }
    if let Ok(req) = serde_json::from_slice::<SearchRequest>(data) {
        if let Err(e) = idx.search(&req) {
            assert!(client(&e), "search {req:?}: {e}");
        }
    }
}

/// The repository's `corpus/`, found from this crate's or the main crate's manifest directory.
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join("corpus").is_dir() {
        here
    } else {
        here.parent().expect("fuzz/ has a parent").to_path_buf()
    }
}

/// An in-RAM index of the corpus, built once.
pub fn corpus_index() -> &'static ClaimIndex {
    static INDEX: OnceLock<ClaimIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let idx = ClaimIndex::create_in_ram().expect("in-RAM index");
        let records = claimdex::ingest::read_paths(&[repo_root().join("corpus")], false).expect("corpus");
        idx.ingest(records, IngestOptions { strict: true }, &mut |_| {}).expect("corpus ingests");
        idx
    })
}

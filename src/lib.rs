//! claimdex: a claim-matching search engine for fact-checkers.
//!
//! The pipeline: [`ingest`] reads claims and evidence (native JSON Lines, schema.org
//! ClaimReview, the CheckThat! sets) into [`Record`]s; [`ClaimIndex`] stores them in a
//! tantivy index whose schema lives in [`schema`]; [`search`] answers full-text searches and
//! [`ClaimIndex::match_claims`] finds the prior claims that a new statement repeats, with their
//! verdicts and the evidence that bears on them.
#![warn(missing_docs)]

pub mod adapter;
pub mod analysis;
pub mod article;
pub mod cli;
pub mod date;
pub mod embed;
pub mod error;
pub mod eval;
pub mod flag;
pub mod index;
pub mod ingest;
pub mod matcher;
pub mod model;
pub mod schema;
pub mod search;
pub mod server;
pub mod vectors;

pub use date::PartialDate;
pub use embed::Embedder;
pub use error::{Error, Result};
pub use flag::FlagModel;
pub use index::{ClaimIndex, IngestOptions, IngestReport, Stats};
pub use matcher::{EvidenceHit, MatchConfig, MatchHit, MatchRequest, MatchResult};
pub use model::{Claim, ClaimLink, Evidence, Kind, Publisher, Rating, Record, Review, Stance, Verdict};
pub use search::{Filters, SearchHit, SearchRequest, SearchResults};

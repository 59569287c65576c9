//! claimdex: a claim-matching search engine for fact-checkers.
//!
//! The pipeline: [`ingest`] reads claims and evidence (native JSON Lines, schema.org
//! ClaimReview, the CheckThat! sets) into [`Record`]s; [`ClaimIndex`] stores them in a
//! tantivy index whose schema lives in [`schema`]; [`search`] answers full-text searches and
//! [`ClaimIndex::match_claims`] finds the prior claims that a new statement repeats, with their
//! verdicts and the evidence that bears on them.
#![warn(missing_docs)]

pub mod date;
pub mod embed;
pub mod error;
pub mod ingest;
pub mod model;

pub use date::PartialDate;
pub use embed::Embedder;
pub use error::{Error, Result};
pub use model::{Claim, ClaimLink, Evidence, Kind, Publisher, Rating, Record, Review, Stance, Verdict};

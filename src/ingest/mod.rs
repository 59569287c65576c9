//! Reading records from files: native JSON Lines, schema.org ClaimReview and the CheckThat! sets.
//!
//! Every reader yields `Result<Record>` items; an error names the file, the line and the field.

pub mod claimreview;
pub mod jsonl;

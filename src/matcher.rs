//! Matching a new statement against prior claims: candidates, scores, twins, evidence and the repeat flag.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use crate::analysis::{self, Lang};
use crate::index::ClaimIndex;
use crate::model::{Claim, Evidence, Kind, Record, Stance};
use crate::schema::dup_key;
use crate::search::{check_paging, check_text, Filters};
use crate::{PartialDate, Result};

/// BM25's k1 as tantivy uses it.
const BM25_K1: f32 = 1.2;
/// How many lexical candidates are scored before the best `limit` are kept.
pub const CANDIDATES: usize = 100;
/// Most statements in one batch.
pub const MAX_BATCH: usize = 10_000;

/// A statement to match against prior claims.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchRequest {
    /// The statement.
    pub text: String,
    /// Who made it (a soft signal, never a filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// When it was made: claims first stated later cannot be repeated in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// The sentence before it (a transcript's context, for pronouns and ellipsis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// BCP-47 language of the statement (default `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How many claims to return (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Filters on the claims (verdict, publisher...); `kind` is ignored.
    #[serde(default)]
    pub filters: Filters,
    /// Leave out the evidence excerpts (faster, for screening).
    #[serde(default)]
    pub no_evidence: bool,
}

impl MatchRequest {
    /// A request for a statement with default options.
    pub fn new(text: impl Into<String>) -> Self {
        MatchRequest {
            text: text.into(),
            ..Default::default()
        }
    }
}

/// An evidence excerpt attached to a matched claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceHit {
    /// How it bears on the claim.
    pub stance: Stance,
    /// The excerpt.
    pub evidence: Evidence,
}

/// A prior claim that the statement may repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchHit {
    /// Confidence that the statement repeats this claim, in [0, 1], comparable across statements.
    pub score: f32,
    /// The lexical score: BM25 divided by the most the statement's terms could score.
    pub lexical: f32,
    /// Cosine similarity of the embeddings, when the semantic model is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic: Option<f32>,
    /// The claim.
    pub claim: Claim,
    /// Ids of other claims with the same statement (case and punctuation aside).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub twins: Vec<String>,
    /// Evidence bearing on the claim, refuting first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceHit>,
}

/// The answer for one statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchResult {
    /// The statement.
    pub text: String,
    /// Confident enough that the statement repeats a checked claim for a pipeline to act on.
    pub flagged: bool,
    /// Worth a person's look.
    pub suggested: bool,
    /// The best hit's score (0 with no hits).
    pub score: f32,
    /// The prior claims, best first.
    pub hits: Vec<MatchHit>,
}

/// Score thresholds of the two flag tiers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At or above: `flagged`.
    pub flagged: f32,
    /// At or above: `suggested`.
    pub suggested: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            flagged: 0.6,
            suggested: 0.4,
        }
    }
}

/// A scored candidate before records are loaded.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub claim: Claim,
    pub lexical: f32,
}

impl ClaimIndex {
    /// The prior claims that a statement repeats, best first, with their evidence.
    pub fn match_claims(&self, req: &MatchRequest) -> Result<MatchResult> {
        let searcher = self.searcher();
        self.match_with(&searcher, req)
    }

    /// Matches many statements on one searcher; one result per statement, in order.
    pub fn match_batch(&self, reqs: &[MatchRequest]) -> Vec<Result<MatchResult>> {
        let searcher = self.searcher();
        reqs.iter().map(|r| self.match_with(&searcher, r)).collect()
    }

    fn match_with(&self, searcher: &Searcher, req: &MatchRequest) -> Result<MatchResult> {
        check_text(&req.text, "statement")?;
        let limit = req.limit.unwrap_or(5);
        check_paging(limit, 0)?;
        let candidates = self.lexical_candidates(searcher, req, CANDIDATES.max(limit))?;
        let mut hits: Vec<MatchHit> = Vec::new();
        let mut groups: HashMap<String, usize> = HashMap::new();
        for Candidate { claim, lexical } in candidates {
            let key = dup_key(&claim.text);
            if let Some(&i) = groups.get(&key) {
                hits[i].twins.push(claim.id);
                continue;
            }
            if hits.len() == limit {
                continue;
            }
            groups.insert(key, hits.len());
            hits.push(MatchHit {
                score: lexical,
                lexical,
                semantic: None,
                claim,
                twins: Vec::new(),
                evidence: Vec::new(),
            });
        }
        if !req.no_evidence {
            for h in &mut hits {
                h.evidence = self
                    .evidence_for(searcher, &h.claim.id)?
                    .into_iter()
                    .map(|(stance, evidence)| EvidenceHit { stance, evidence })
                    .collect();
            }
        }
        let score = hits.first().map(|h| h.score).unwrap_or(0.0);
        let t = self.thresholds();
        Ok(MatchResult {
            text: req.text.clone(),
            flagged: score >= t.flagged,
            suggested: score >= t.suggested,
            score,
            hits,
        })
    }

    /// BM25 candidates over statement + review title, with the lexical score normalized to [0, 1)
    /// by the most the query's terms could score; sorted by score, then id, so ranking is deterministic.
    pub(crate) fn lexical_candidates(
        &self,
        searcher: &Searcher,
        req: &MatchRequest,
        n: usize,
    ) -> Result<Vec<Candidate>> {
        let f = self.fields();
        let lang = req
            .language
            .as_deref()
            .and_then(Lang::of_tag)
            .or(if req.language.is_none() {
                Some(Lang::default_lang())
            } else {
                None
            });
        let field = f.body(lang);
        let mut analyzer = match lang {
            Some(l) => l.analyzer(),
            None => analysis::plain_analyzer(),
        };
        let terms: BTreeSet<String> = analysis::tokens(&mut analyzer, &req.text)
            .into_iter()
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let num_docs = searcher.num_docs().max(1) as f32;
        let mut max_score = 0.0f32;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len());
        for t in &terms {
            let term = Term::from_field_text(field, t);
            let df = searcher.doc_freq(&term)? as f32;
            max_score += (1.0 + (num_docs - df + 0.5) / (df + 0.5)).ln() * (1.0 + BM25_K1);
            should.push((
                Occur::Should,
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            ));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(BooleanQuery::new(should))),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    f.kind_term(Kind::Claim),
                    IndexRecordOption::Basic,
                )),
            ),
        ];
        let filters = Filters {
            kind: None,
            ..req.filters.clone()
        };
        clauses.extend(filters.clauses(f)?);
        if let Some(d) = req.date {
            let later = RangeQuery::new(
                Bound::Excluded(Term::from_field_i64(f.date, d.last_day())),
                Bound::Unbounded,
            );
            clauses.push((Occur::MustNot, Box::new(later)));
        }
        let query = BooleanQuery::new(clauses);
        let top = searcher.search(&query, &TopDocs::with_limit(n))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            if let Record::Claim(claim) = self.fields().from_document(&searcher.doc(addr)?)? {
                out.push(Candidate {
                    claim,
                    lexical: (score / max_score.max(1e-6)).clamp(0.0, 1.0),
                });
            }
        }
        out.sort_by(|a, b| {
            b.lexical
                .total_cmp(&a.lexical)
                .then_with(|| a.claim.id.cmp(&b.claim.id))
        });
        Ok(out)
    }
}

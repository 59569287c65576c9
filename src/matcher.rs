//! Matching a new statement against prior claims: candidates, scores, twins, evidence and the repeat flag.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::columnar::{Column, StrColumn};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::{BlockSegmentPostings, Postings, SegmentPostings};
use tantivy::query::{
    Bm25StatisticsProvider, Bm25Weight, BooleanQuery, BoostQuery, Explanation, Occur, Query, RangeQuery, Scorer,
    TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, DocSet, Searcher, SegmentReader, Term};

use crate::analysis::{self, Lang};
use crate::flag::{self, HitSignals, Reason, Statement};
use crate::index::ClaimIndex;
use crate::model::{Claim, Evidence, Kind, Record, Stance};
use crate::schema::BodyStats;
use crate::search::{check_paging, check_text, Filters};
use crate::{Error, PartialDate, Result};

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
    /// Claims-only screening for this statement: the [`MatchConfig::screened`] settings over
    /// the index's (the evidence passages neither searched nor scored, 5 of 20 candidates
    /// re-ranked), as `serve --screening` does for every statement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screening: bool,
}

impl MatchRequest {
    /// A request for a statement with default options.
    pub fn new(text: impl Into<String>) -> Self {
        MatchRequest { text: text.into(), ..Default::default() }
    }

    /// Whether it is a sentence of a transcript (it has a speaker or a previous sentence):
    /// such sentences get the match model and query adapter trained on debates.
    pub fn is_transcript(&self) -> bool {
        self.speaker.is_some() || self.context.is_some()
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
    /// Confidence that this is the claim the statement repeats (if it repeats one), from the
    /// match model: in [0, 1] and comparable across statements.
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
    /// The features that weighed most in `score`, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// The hit's features (for training and analysis).
    #[serde(skip)]
    pub features: Vec<f32>,
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
    /// The flag model's probability that the statement repeats a checked claim (its best hit);
    /// 0 with no hits. `flagged` and `suggested` are this score against the model's thresholds.
    pub score: f32,
    /// The features that weighed most in the flag decision, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// The prior claims, best first.
    pub hits: Vec<MatchHit>,
    /// The flag features of the best hit (for training and analysis).
    #[serde(skip)]
    pub features: Vec<f32>,
}

/// How `match` scores candidates; the defaults are the best configuration measured on the
/// CheckThat! train splits (see BENCHMARKS.md). Every knob can be set from `claimdex eval --set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchConfig {
    /// Lexical candidates taken from BM25.
    pub candidates: usize,
    /// Statement terms found in more than this share of the claims (and in more claims than
    /// `candidates`) are left out of the BM25 candidate search (0 = none are; the rarest term is
    /// always kept). Every candidate is then scored on all the terms, so this only decides which
    /// claims are looked at. Over a million claims it takes the median match from 9.3 to 7.5 ms
    /// and p99 from 37 to 23 ms (docs/benchmarks-speed.md).
    pub candidate_df: f32,
    /// Postings the candidate search may read for the statement's terms: after `candidate_df`,
    /// the rarest terms are kept while their document frequencies (in the claims) add up to no
    /// more than this, the rarest always (0 = no limit). Like `candidate_df` it only decides which
    /// claims are looked at; it bounds the search's work as the index grows, where a share of the
    /// claims does not. The context's terms (the previous sentence) are searched in what the
    /// statement's leave. The default binds only on indexes of some hundred thousand claims or
    /// more (at a million: screening p99 12.4 → 3.7 ms, paraphrase R@5 0.974 → 0.973).
    pub candidate_postings: u64,
    /// Strip links (http…, pic.twitter.com/…) from statements before matching.
    pub strip_links: bool,
    /// Split hashtags and @mentions into words (`#Trump2020` → `Trump 2020`, `@SpeakerPelosi` → `Speaker Pelosi`).
    pub split_tags: bool,
    /// Weight of the previous sentence's terms (0 = ignore the context).
    pub context_weight: f32,
    /// Weight of the statement's speaker matching the claim's speaker.
    pub speaker_weight: f32,
    /// Weight of the best matching evidence passage (fact-check article text) of a claim.
    pub evidence_weight: f32,
    /// Best passages of the whole index searched per statement; the claims they bear on become
    /// candidates (0 = none). Every candidate's own passages are scored whatever this is.
    pub evidence_candidates: usize,
    /// How many of the statement's rarest terms that passage search uses (0 = all).
    pub evidence_terms: usize,
    /// Weight of the cosine similarity of the embeddings (when the model is loaded).
    pub semantic_weight: f32,
    /// Nearest claims by embedding added to the candidates.
    pub semantic_candidates: usize,
    /// Embed the previous sentence together with the statement.
    pub semantic_context: bool,
    /// Map the statement's embedding through the learned query adapter ([`crate::adapter`]).
    pub query_adapter: bool,
    /// How many of the best distinct claims the match model re-ranks (0 = keep the fused order).
    pub rerank_depth: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            candidates: CANDIDATES,
            candidate_df: 0.05,
            candidate_postings: 100_000,
            strip_links: true,
            split_tags: true,
            context_weight: 0.4,
            speaker_weight: 1.0,
            evidence_weight: 1.0,
            evidence_candidates: 20,
            evidence_terms: 3,
            semantic_weight: 0.5,
            semantic_candidates: 100,
            semantic_context: true,
            query_adapter: true,
            rerank_depth: 20,
        }
    }
}

impl MatchConfig {
    /// Claims-only screening: 20 lexical and 20 semantic candidates, the evidence passages
    /// neither searched nor scored, the best 5 re-ranked by the match model
    /// ([`MatchConfig::screened`] defaults).
    /// 3–4.5× faster than the defaults on claims with article passages (0.28 against 1.21 ms at
    /// 10k generated claims, 5.2 against 15.5 at 1M; docs/benchmarks-speed.md), as good where
    /// claims have no passages (CheckThat! 2020 MAP@5 0.839 train / 0.799 dev, the defaults 0.841
    /// / 0.794), worse where the articles carry the match (2021-2B dev 0.542 against 0.589 with
    /// the model, 0.507 against 0.538 without; see BENCHMARKS.md).
    pub fn screening() -> Self {
        Self::default().screened()
    }

    /// These settings with claims-only screening's: 20 lexical and 20 semantic candidates, no
    /// evidence passages searched or scored, 5 re-ranked. (20 semantic candidates rather than
    /// 100: MAP@5 in screening is the same on the CheckThat! train sets, 2020 0.920 and 2021-2B
    /// 0.642, and the semantic search rescores 256 claims instead of 400.)
    pub fn screened(&self) -> Self {
        MatchConfig {
            candidates: 20,
            evidence_candidates: 0,
            evidence_weight: 0.0,
            rerank_depth: 5,
            semantic_candidates: 20,
            ..self.clone()
        }
    }

    /// A statement (or its context) as the matcher reads it: links stripped and tags split, as configured.
    pub fn clean(&self, text: &str) -> String {
        let t = if self.strip_links { strip_links(text) } else { text.to_string() };
        if self.split_tags {
            split_tags(&t)
        } else {
            t
        }
    }

    /// The text of a statement that is embedded: cleaned, after the previous sentence when
    /// `semantic_context` is on.
    pub fn embedding_text(&self, r: &MatchRequest) -> String {
        let t = self.clean(&r.text);
        match (&r.context, self.semantic_context) {
            (Some(c), true) => format!("{c} {t}"),
            _ => t,
        }
    }

    /// Sets one knob from `name=value` text.
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| Error::InvalidRequest(format!("expected name=value, not {assignment:?}")))?;
        let mut v = serde_json::to_value(&*self).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let slot =
            v.get_mut(name.trim()).ok_or_else(|| Error::InvalidRequest(format!("unknown match setting {name:?}")))?;
        *slot = serde_json::from_str(value.trim()).map_err(|e| Error::InvalidRequest(format!("{name}: {e}")))?;
        *self = serde_json::from_value(v).map_err(|e| Error::InvalidRequest(format!("{name}: {e}")))?;
        Ok(())
    }
}

/// A scored candidate before its record is loaded.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub addr: DocAddress,
    /// `schema::id_key` of the claim's id.
    pub key: u64,
    /// The claim's id: read only where needed (ties in the ranking, twins of the hits), else empty.
    pub id: String,
    /// `schema::dup_key` of the claim's statement.
    pub dup: u64,
    pub lexical: f32,
    pub evidence: f32,
    pub semantic: Option<f32>,
    pub score: f32,
}

/// Fast-field columns, opened once per segment and field and kept while the segment lives
/// (segments are immutable). Opening a column reads its header; a column over millions of
/// documents also reads thousands of block descriptions, which at a million claims was a tenth of
/// a screening match when every match opened its columns anew.
#[derive(Default)]
pub(crate) struct ColumnCache {
    u64s: Mutex<HashMap<(SegmentId, &'static str), Column<u64>>>,
    i64s: Mutex<HashMap<(SegmentId, &'static str), Column<i64>>>,
    strs: Mutex<HashMap<(SegmentId, &'static str), Option<StrColumn>>>,
}

impl std::fmt::Debug for ColumnCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnCache")
            .field("u64", &lock(&self.u64s).len())
            .field("i64", &lock(&self.i64s).len())
            .field("str", &lock(&self.strs).len())
            .finish()
    }
}

/// A cache's map; a panic cannot leave one half-written, so a poisoned lock is taken as is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ColumnCache {
    /// The column of `field` in segment `ord` of `searcher`, opened by `open` if not yet kept.
    fn get<C: Clone>(
        map: &Mutex<HashMap<(SegmentId, &'static str), C>>,
        searcher: &Searcher,
        ord: u32,
        field: &'static str,
        open: impl FnOnce(&SegmentReader) -> tantivy::Result<C>,
    ) -> Result<C> {
        let reader = searcher.segment_reader(ord);
        let key = (reader.segment_id(), field);
        if let Some(col) = lock(map).get(&key) {
            return Ok(col.clone());
        }
        let col = open(reader)?;
        let mut map = lock(map);
        // Forget the segments the searcher no longer has (merged away).
        map.retain(|(id, _), _| searcher.segment_readers().iter().any(|s| s.segment_id() == *id));
        map.insert(key, col.clone());
        Ok(col)
    }

    fn u64(&self, searcher: &Searcher, ord: u32, field: &'static str) -> Result<Column<u64>> {
        Self::get(&self.u64s, searcher, ord, field, |r| r.fast_fields().u64(field))
    }

    fn i64(&self, searcher: &Searcher, ord: u32, field: &'static str) -> Result<Column<i64>> {
        Self::get(&self.i64s, searcher, ord, field, |r| r.fast_fields().i64(field))
    }

    fn str(&self, searcher: &Searcher, ord: u32, field: &'static str) -> Result<Option<StrColumn>> {
        Self::get(&self.strs, searcher, ord, field, |r| r.fast_fields().str(field))
    }
}

/// Reads a string fast field of documents, one column per segment (from the cache).
/// Turning a term ordinal back into its string decodes a dictionary block, so the match does it
/// only for the few documents that need it.
pub(crate) struct FastStr<'a> {
    searcher: &'a Searcher,
    cache: &'a ColumnCache,
    field: &'static str,
    columns: HashMap<u32, Option<StrColumn>>,
}

impl<'a> FastStr<'a> {
    pub(crate) fn new(searcher: &'a Searcher, cache: &'a ColumnCache, field: &'static str) -> Self {
        FastStr { searcher, cache, field, columns: HashMap::new() }
    }

    pub(crate) fn first(&mut self, addr: DocAddress) -> Result<String> {
        if !self.columns.contains_key(&addr.segment_ord) {
            let col = self.cache.str(self.searcher, addr.segment_ord, self.field)?;
            self.columns.insert(addr.segment_ord, col);
        }
        let mut s = String::new();
        if let Some(col) = self.columns.get(&addr.segment_ord).and_then(Option::as_ref) {
            if let Some(ord) = col.term_ords(addr.doc_id).next() {
                col.ord_to_str(ord, &mut s).map_err(|e| Error::Tantivy(e.into()))?;
            }
        }
        Ok(s)
    }
}

/// Reads a u64 fast field of documents, one column per segment (from the cache).
struct FastU64<'a> {
    searcher: &'a Searcher,
    cache: &'a ColumnCache,
    field: &'static str,
    columns: HashMap<u32, Column<u64>>,
}

impl<'a> FastU64<'a> {
    fn new(searcher: &'a Searcher, cache: &'a ColumnCache, field: &'static str) -> Self {
        FastU64 { searcher, cache, field, columns: HashMap::new() }
    }

    fn column(&mut self, segment_ord: u32) -> Result<&Column<u64>> {
        if !self.columns.contains_key(&segment_ord) {
            let col = self.cache.u64(self.searcher, segment_ord, self.field)?;
            self.columns.insert(segment_ord, col);
        }
        Ok(self.columns.get(&segment_ord).expect("inserted above"))
    }

    fn first(&mut self, addr: DocAddress) -> Result<u64> {
        Ok(self.column(addr.segment_ord)?.first(addr.doc_id).unwrap_or_default())
    }

    fn all(&mut self, addr: DocAddress) -> Result<Vec<u64>> {
        Ok(self.column(addr.segment_ord)?.values_for_doc(addr.doc_id).collect())
    }
}

/// One term of a lexical query, with its boost (`None`: a plain term query) and whether its
/// postings carry frequencies.
struct Clause {
    term: Term,
    boost: Option<f32>,
    option: IndexRecordOption,
}

impl Clause {
    fn new(term: Term, boost: Option<f32>, option: IndexRecordOption) -> Self {
        Clause { term, boost, option }
    }

    /// The clause as a tantivy query.
    fn query(&self) -> Box<dyn Query> {
        let q = TermQuery::new(self.term.clone(), self.option);
        match self.boost {
            Some(b) => Box::new(BoostQuery::new(Box::new(q), b)),
            None => Box::new(q),
        }
    }
}

/// A pure OR of terms whose top-k search scores every posting of every term, where tantivy
/// would answer it with block-max WAND (unless one term is missing from the segment, which
/// already made it score the union). On a statement's dozen terms and a top 20, WAND's
/// bookkeeping (sorting its scorers, block maxima, a seek per skip) cost more than it skipped:
/// scoring the whole union took claims-only screening from 0.23 to 0.19 ms (p50) on the
/// CheckThat! 2021-2B index and from 0.60 to 0.46 ms at 100k claims, and at a million claims,
/// where `candidate_postings` bounds the union, p99 from 3.6 to 2.2 ms (p50 1.5 → 1.66 ms).
///
/// The union is not tantivy's either (see [`union_in_windows`]): its terms are scored a block of
/// postings at a time into an array over a window of documents. The documents and their
/// scores are those of the boolean query (up to the order of the additions and the rounding of
/// a boost, which `exact_scores` makes exact).
#[derive(Clone, Debug)]
struct Exhaustive {
    /// The same terms as a boolean query, for everything but the top-k search.
    union: BooleanQuery,
    terms: Vec<(Term, Option<f32>)>,
}

impl Exhaustive {
    /// The union of the clauses' terms.
    fn of<'a>(clauses: impl IntoIterator<Item = &'a Clause>) -> Self {
        let clauses: Vec<&Clause> = clauses.into_iter().collect();
        Exhaustive {
            union: BooleanQuery::new(clauses.iter().map(|c| (Occur::Should, c.query())).collect()),
            terms: clauses.iter().map(|c| (c.term.clone(), c.boost)).collect(),
        }
    }

    /// Each term with its boosted BM25 weight ([`term_weight`]).
    fn weighed_terms(&self, stats: &dyn Bm25StatisticsProvider) -> tantivy::Result<Vec<(Term, Bm25Weight)>> {
        let num_docs = stats.total_num_docs()?;
        self.terms.iter().map(|(term, boost)| Ok((term.clone(), term_weight(stats, num_docs, term, *boost)?))).collect()
    }
}

/// A term's BM25 weight as `TermQuery` weighs a term (`Bm25Weight::for_terms` of one term), times
/// its boost; `num_docs` is `stats.total_num_docs()`.
fn term_weight(
    stats: &dyn Bm25StatisticsProvider,
    num_docs: u64,
    term: &Term,
    boost: Option<f32>,
) -> tantivy::Result<Bm25Weight> {
    let average_fieldnorm = stats.total_num_tokens(term.field())? as f32 / num_docs as f32;
    let w = Bm25Weight::for_one_term_without_explain(stats.doc_freq(term)?, num_docs, average_fieldnorm);
    Ok(w.boost_by(boost.unwrap_or(1.0)))
}

impl Query for Exhaustive {
    fn weight(&self, scoring: tantivy::query::EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let terms = match scoring {
            tantivy::query::EnableScoring::Enabled { statistics_provider, .. } => {
                Some(self.weighed_terms(statistics_provider)?)
            }
            tantivy::query::EnableScoring::Disabled { .. } => None,
        };
        Ok(Box::new(ExhaustiveWeight { union: self.union.weight(scoring)?, terms }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.union.query_terms(visitor)
    }
}

struct ExhaustiveWeight {
    union: Box<dyn Weight>,
    /// Each term with its BM25 weight (None when scoring is off).
    terms: Option<Vec<(Term, Bm25Weight)>>,
}

impl Weight for ExhaustiveWeight {
    fn scorer(&self, reader: &SegmentReader, boost: f32) -> tantivy::Result<Box<dyn Scorer>> {
        self.union.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.union.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.union.count(reader)
    }

    /// Every document holding a term, each passed on when it scores above the threshold.
    fn for_each_pruning(
        &self,
        threshold: f32,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, f32) -> f32,
    ) -> tantivy::Result<()> {
        let Some(terms) = &self.terms else {
            return self.union.for_each_pruning(threshold, reader, callback);
        };
        let mut cursors = Cursor::all(terms, reader)?;
        WINDOW.with(|w| {
            union_in_windows(&mut cursors, &mut w.borrow_mut(), threshold, callback);
        });
        Ok(())
    }
}

/// One term's postings, read a block at a time, at posting `at` of the loaded block.
struct Cursor<'a> {
    postings: BlockSegmentPostings,
    norms: FieldNormReader,
    weight: &'a Bm25Weight,
    /// No posting of the term scores more (the score at the shortest norm and the largest
    /// frequency: the weight itself).
    bound: f32,
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor for each term the segment holds, at its first posting.
    fn all(terms: &'a [(Term, Bm25Weight)], reader: &SegmentReader) -> tantivy::Result<Vec<Cursor<'a>>> {
        let mut cursors = Vec::with_capacity(terms.len());
        for (term, weight) in terms {
            let inverted = reader.inverted_index(term.field())?;
            let Some(info) = inverted.get_term_info(term)? else { continue };
            let postings = inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
            let norms = reader
                .fieldnorms_readers()
                .get_field(term.field())?
                .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
            cursors.push(Cursor { postings, norms, weight, bound: weight.score(0, u32::MAX), at: 0 });
        }
        Ok(cursors)
    }
}

/// Documents per window of [`union_in_windows`]: its scores and bounds take 128 KB each. At a
/// million claims, claims-only screening with the bounds took p50 0.90–0.94 ms against
/// 0.94–0.98 with 16,384 documents, 0.90–0.98 with 65,536 and 0.98–1.09 with 131,072 (four
/// alternations), and 8,192 documents were slower still.
const WINDOW_DOCS: usize = 1 << 15;

/// The scores of a window of documents, their bounds, which of them hold a term (`seen`, a bit
/// each), which words of `seen` have a bit set (`words`, a bit each), and the postings that fell
/// in the window.
struct Window<const W: usize> {
    scores: Box<[f32; W]>,
    bounds: Box<[f32; W]>,
    seen: Box<[u64]>,
    words: Box<[u64]>,
    hits: Vec<Hit>,
    /// A search is using the window (set while it runs; still set if one panicked midway).
    busy: bool,
}

/// A posting in the window: document `k` of the window holds the term of cursor `cursor`
/// `tf` times.
#[derive(Clone, Copy)]
struct Hit {
    k: u32,
    cursor: u32,
    tf: u32,
}

impl<const W: usize> Window<W> {
    fn new() -> Self {
        assert!(W.is_power_of_two() && W >= 64, "a window is a power of two of at least 64 documents");
        let zeros = || vec![0f32; W].into_boxed_slice().try_into().expect("W scores");
        Window {
            scores: zeros(),
            bounds: zeros(),
            seen: vec![0u64; W / 64].into_boxed_slice(),
            words: vec![0u64; (W / 64).div_ceil(64)].into_boxed_slice(),
            hits: Vec::new(),
            busy: false,
        }
    }
}

thread_local! {
    /// Each thread's window, all zeros between searches (a search leaves it as it found it;
    /// one that panicked midway leaves it busy, and the next search clears it).
    static WINDOW: std::cell::RefCell<Window<WINDOW_DOCS>> = std::cell::RefCell::new(Window::new());
}

/// The union of the cursors' terms, term at a time within windows of `W` documents: from the
/// first document any term still has, each term's postings in the window are read straight
/// from the decoded block; then the window's documents are passed on in order, each when its
/// sum beats the threshold. Where tantivy's union moves each term's scorer document by document
/// and merges them, this is an addition or two a posting, and a fieldnorm for the few documents
/// that could beat the threshold: at a million claims a fieldnorm is a cache miss.
///
/// The terms are taken largest bound first (ties in the cursors' order), and each document's
/// terms are added in that order. Two bounds spare postings their fieldnorm:
/// - in each window, the last terms whose bounds together cannot beat the threshold (MaxScore's
///   non-essential terms) count only the documents that an earlier term has reached: a
///   document only they hold scores at most the sum of their bounds, added in the same order,
///   so it could not be passed on;
/// - each document's bound adds each of its postings' scores at the shortest fieldnorm (a
///   posting's score only falls as the norm grows), and only the postings of documents whose
///   bound beats the threshold are scored exactly, with their fieldnorms.
///
/// Returns the number of postings scored exactly.
fn union_in_windows<const W: usize>(
    cursors: &mut Vec<Cursor>,
    window: &mut Window<W>,
    mut threshold: f32,
    callback: &mut dyn FnMut(DocId, f32) -> f32,
) -> u64 {
    if window.busy {
        window.scores.fill(0.0);
        window.bounds.fill(0.0);
        window.seen.fill(0);
        window.words.fill(0);
        window.hits.clear();
    }
    window.busy = true;
    let mut scored = 0u64;
    cursors.retain(|c| !c.postings.docs().is_empty());
    cursors.sort_by(|a, b| b.bound.total_cmp(&a.bound));
    // Only non-negative bounds add up to a bound (a NaN fails the test too).
    let prunable = cursors.iter().all(|c| c.bound >= 0.0);
    // tails[i]: the bounds of cursors i.. added in order (never more than the one before).
    let mut tails: Vec<f32> = Vec::new();
    while let Some(start) = cursors.iter().map(|c| c.postings.docs()[c.at]).min() {
        if tails.len() != cursors.len() {
            tails = (0..cursors.len()).map(|i| cursors[i..].iter().fold(0.0, |s, c| s + c.bound)).collect();
        }
        let essential = if prunable { tails.partition_point(|&t| t > threshold) } else { cursors.len() };
        let end = start.saturating_add(W as u32);
        for (e, c) in cursors.iter_mut().enumerate() {
            // A posting's bound when the term is said once (most are), without the division.
            let once = c.weight.score(0, 1);
            loop {
                let (docs, freqs) = (c.postings.docs(), c.postings.freqs());
                let with_freqs = freqs.len() == docs.len();
                let n = docs[c.at..].partition_point(|&d| d < end);
                for (i, &doc) in docs.iter().enumerate().skip(c.at).take(n) {
                    let k = (doc - start) as usize & (W - 1);
                    if e >= essential && (window.seen[k / 64] >> (k % 64)) & 1 == 0 {
                        continue;
                    }
                    let tf = if with_freqs { freqs[i] } else { 1 };
                    window.bounds[k] += if tf == 1 { once } else { c.weight.score(0, tf) };
                    window.hits.push(Hit { k: k as u32, cursor: e as u32, tf });
                    window.seen[k / 64] |= 1 << (k % 64);
                    window.words[k / 4096] |= 1 << ((k / 64) % 64);
                }
                let i = c.at + n;
                if i < docs.len() {
                    c.at = i;
                    break;
                }
                c.postings.advance();
                c.at = 0;
                if c.postings.docs().is_empty() {
                    break;
                }
            }
        }
        // The exact scores of the documents whose bound beats the threshold, in the hits' order.
        for h in &window.hits {
            let k = h.k as usize;
            if !prunable || window.bounds[k] > threshold {
                let c = &cursors[h.cursor as usize];
                window.scores[k] += c.weight.score(c.norms.fieldnorm_id(start + h.k), h.tf);
                scored += 1;
            }
        }
        window.hits.clear();
        cursors.retain(|c| !c.postings.docs().is_empty());
        for (v, words) in window.words.iter_mut().enumerate() {
            let mut words = std::mem::take(words);
            while words != 0 {
                let w = v * 64 + words.trailing_zeros() as usize;
                words &= words - 1;
                let mut bits = std::mem::take(&mut window.seen[w]);
                while bits != 0 {
                    let k = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    window.bounds[k & (W - 1)] = 0.0;
                    let score = std::mem::take(&mut window.scores[k & (W - 1)]);
                    if score > threshold {
                        threshold = callback(start + k as u32, score);
                    }
                }
            }
        }
    }
    window.busy = false;
    scored
}

/// The score of each document under `clauses`, each scored on its own and added in order. The
/// top-k search finds the right documents, but tantivy's unions add the terms of a document in
/// an order that depends on the traversal (the buffered union swaps out exhausted scorers,
/// block-max WAND sorts them), so two documents with the same terms could differ
/// in the last bit and a tie be broken by segment layout. Summing every clause here in query
/// order makes equal documents score equal, and ties go to the id order.
///
/// Each clause is scored as tantivy's `TermQuery` (inside a `BoostQuery` when boosted) scores
/// it, with the same arithmetic, but from the dictionary entries that `stats` looked up for the
/// term's frequency, and without building a weight and a boxed scorer per clause and segment.
fn exact_scores(
    searcher: &Searcher,
    stats: &BodyStats,
    clauses: &[Clause],
    top: Vec<(f32, DocAddress)>,
) -> Result<Vec<(f32, DocAddress)>> {
    let num_docs = Bm25StatisticsProvider::total_num_docs(stats)?;
    let weights: Vec<Bm25Weight> =
        clauses.iter().map(|c| term_weight(stats, num_docs, &c.term, c.boost)).collect::<tantivy::Result<_>>()?;
    let mut order: Vec<usize> = (0..top.len()).collect();
    order.sort_by_key(|&i| top[i].1);
    let mut out: Vec<(f32, DocAddress)> = top.iter().map(|(_, a)| (0.0, *a)).collect();
    let mut segment = u32::MAX;
    let mut postings: Vec<Option<(SegmentPostings, FieldNormReader)>> = Vec::new();
    for i in order {
        let addr = top[i].1;
        if addr.segment_ord != segment {
            let reader = searcher.segment_reader(addr.segment_ord);
            postings.clear();
            for c in clauses {
                let Some(info) = stats.term_info(&c.term, addr.segment_ord)? else {
                    postings.push(None);
                    continue;
                };
                let field = c.term.field();
                let p = reader
                    .inverted_index(field)?
                    .read_postings_from_terminfo(&info, c.option)
                    .map_err(tantivy::TantivyError::from)?;
                let norms = reader
                    .fieldnorms_readers()
                    .get_field(field)?
                    .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
                postings.push(Some((p, norms)));
            }
            segment = addr.segment_ord;
        }
        for (slot, w) in postings.iter_mut().zip(&weights) {
            let Some((p, norms)) = slot else { continue };
            let doc = if p.doc() >= addr.doc_id { p.doc() } else { p.seek(addr.doc_id) };
            if doc == addr.doc_id {
                out[i].0 += w.score(norms.fieldnorm_id(doc), p.term_freq());
            }
        }
    }
    Ok(out)
}

/// Removes links from a statement (tweets end in t.co and pic.twitter.com links).
pub fn strip_links(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            match ["http://", "https://", "pic.twitter.com/", "www."].iter().filter_map(|p| lower.find(p)).min() {
                Some(0) => "",
                Some(i) => &w[..i],
                None => w,
            }
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits hashtags and @mentions into the words they run together: `#Trump2020` → `Trump 2020`,
/// `@NWSBirmingham` → `NWS Birmingham`, `@real_donald` → `real donald`. Other text is kept as is.
pub fn split_tags(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_tag = (c == '#' || c == '@')
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if !starts_tag {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
            end += 1;
        }
        let tag = &chars[start..end];
        for (k, &ch) in tag.iter().enumerate() {
            if ch == '_' {
                out.push(' ');
                continue;
            }
            if k > 0 {
                let prev = tag[k - 1];
                let next_lower = tag.get(k + 1).is_some_and(|n| n.is_lowercase());
                let boundary = (prev.is_lowercase() && ch.is_uppercase())
                    || (prev.is_alphabetic() && ch.is_numeric())
                    || (prev.is_numeric() && ch.is_alphabetic())
                    || (prev.is_uppercase() && ch.is_uppercase() && next_lower);
                if boundary {
                    out.push(' ');
                }
            }
            out.push(ch);
        }
        i = end;
    }
    out
}

/// Analyzed, deduplicated terms of a text.
fn terms_of(analyzer: &mut tantivy::tokenizer::TextAnalyzer, text: &str) -> BTreeSet<String> {
    analysis::tokens(analyzer, text).into_iter().collect()
}

fn idf(stats: &BodyStats, term: &Term, num_docs: f32) -> Result<f32> {
    let df = stats.doc_freq(term)? as f32;
    Ok((1.0 + (num_docs - df + 0.5) / (df + 0.5)).ln())
}

/// Fewest statements per thread when [`ClaimIndex::match_batch`] splits a batch between the cores.
pub const BATCH_CHUNK: usize = 32;

impl ClaimIndex {
    /// The prior claims that a statement repeats, best first, with their evidence.
    pub fn match_claims(&self, req: &MatchRequest) -> Result<MatchResult> {
        let searcher = self.searcher();
        let config = if req.screening { self.match_config().screened() } else { self.match_config() };
        check_text(&req.text, "statement")?;
        if self.embedder().is_none() || config.semantic_weight <= 0.0 {
            return self.match_with(&searcher, req, &config, || Ok(None));
        }
        // The statement is embedded on a thread of its own while the lexical search runs here;
        // the semantic search waits for the vector.
        std::thread::scope(|s| {
            let pending = s.spawn(|| self.embed_statements(&[req], &config));
            self.match_with(&searcher, req, &config, || match pending.join() {
                Ok(v) => Ok(v?.pop().flatten()),
                Err(_) => Err(Error::Model("embedding the statement failed".into())),
            })
        })
    }

    /// Matches many statements on one searcher, embedding them in batches, then matching them on
    /// every core ([`BATCH_CHUNK`] statements or more per thread); one result per statement, in order.
    pub fn match_batch(&self, reqs: &[MatchRequest]) -> Vec<Result<MatchResult>> {
        let searcher = self.searcher();
        let config = self.match_config();
        let screened = config.screened();
        // Refused statements are not embedded (`match_with` refuses them again, with the reason).
        let ok: Vec<bool> = reqs.iter().map(|r| check_text(&r.text, "statement").is_ok()).collect();
        let valid: Vec<&MatchRequest> = reqs.iter().zip(&ok).filter(|(_, &ok)| ok).map(|(r, _)| r).collect();
        let mut vectors = match self.embed_statements(&valid, &config) {
            Ok(v) => v.into_iter(),
            Err(e) => return reqs.iter().map(|_| Err(Error::Model(e.to_string()))).collect(),
        };
        let qvecs: Vec<Option<Vec<f32>>> =
            ok.iter().map(|&ok| if ok { vectors.next().flatten() } else { None }).collect();
        let threads = crate::vectors::cores().min(reqs.len() / BATCH_CHUNK).max(1);
        crate::vectors::in_parts(reqs.len(), threads, |range| {
            range
                .map(|i| {
                    let config = if reqs[i].screening { &screened } else { &config };
                    self.match_with(&searcher, &reqs[i], config, || Ok(qvecs[i].clone()))
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// The query embeddings of statements (None for all when no model is loaded or the semantic weight is 0).
    fn embed_statements(&self, reqs: &[&MatchRequest], config: &MatchConfig) -> Result<Vec<Option<Vec<f32>>>> {
        let Some(embedder) = self.embedder().filter(|_| config.semantic_weight > 0.0) else {
            return Ok(vec![None; reqs.len()]);
        };
        let texts: Vec<String> = reqs.iter().map(|r| config.embedding_text(r)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&refs)?;
        // The adapters are looked up once per batch, not once per statement.
        let adapter = |transcript: bool| self.query_adapter(transcript).filter(|_| config.query_adapter);
        let (lone, transcript) = (adapter(false), adapter(true));
        Ok(reqs
            .iter()
            .zip(vectors)
            .map(|(r, v)| match if r.is_transcript() { &transcript } else { &lone } {
                Some(a) => Some(a.apply(&v)),
                None => Some(v),
            })
            .collect())
    }

    fn match_with(
        &self,
        searcher: &Searcher,
        req: &MatchRequest,
        config: &MatchConfig,
        qvec: impl FnOnce() -> Result<Option<Vec<f32>>>,
    ) -> Result<MatchResult> {
        check_text(&req.text, "statement")?;
        let limit = req.limit.unwrap_or(5);
        check_paging(limit, 0)?;
        let (candidates, stmt_tokens, mut analyzer, qvec) = self.candidates(searcher, req, config, qvec)?;
        let stmt_terms: BTreeSet<String> = stmt_tokens.iter().cloned().collect();
        let rank_of = |key: &dyn Fn(&Candidate) -> Option<f32>| -> HashMap<DocAddress, usize> {
            let mut v: Vec<(f32, &Candidate)> = candidates.iter().filter_map(|c| key(c).map(|k| (k, c))).collect();
            v.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
            v.into_iter().enumerate().map(|(i, (_, c))| (c.addr, i)).collect()
        };
        let lexical_ranks = rank_of(&|c| Some(c.lexical + c.evidence));
        let semantic_ranks = rank_of(&|c| c.semantic);
        // Group twins and keep enough distinct claims for the flag's margin features and the re-ranker.
        let keep = limit.max(5).max(config.rerank_depth);
        let mut hits: Vec<MatchHit> = Vec::new();
        let mut scores: Vec<(f32, f32, f32)> = Vec::new();
        let mut addrs: Vec<DocAddress> = Vec::new();
        let mut groups: HashMap<u64, usize> = HashMap::new();
        let mut ids = FastStr::new(searcher, self.columns(), crate::schema::FIELD_ID);
        for c in candidates {
            if let Some(&i) = groups.get(&c.dup) {
                hits[i].twins.push(if c.id.is_empty() { ids.first(c.addr)? } else { c.id });
                continue;
            }
            if hits.len() == keep {
                continue;
            }
            let Record::Claim(claim) = self.fields().from_document(&searcher.doc(c.addr)?)? else {
                continue;
            };
            groups.insert(c.dup, hits.len());
            scores.push((c.score, c.lexical, c.evidence));
            addrs.push(c.addr);
            hits.push(MatchHit {
                score: 0.0,
                lexical: c.lexical,
                semantic: c.semantic,
                claim,
                twins: Vec::new(),
                evidence: Vec::new(),
                reasons: Vec::new(),
                features: Vec::new(),
            });
        }
        let model = self.flag_model();
        let claim_tokens: Vec<Vec<String>> = hits
            .iter()
            .map(|h| {
                let title = h.claim.review.as_ref().and_then(|r| r.title.as_deref()).unwrap_or("");
                analysis::tokens(&mut analyzer, &format!("{}\n{}", h.claim.text, title))
            })
            .collect();
        let claim_terms: Vec<BTreeSet<String>> = claim_tokens.iter().map(|t| t.iter().cloned().collect()).collect();
        let parts: Vec<Option<(f32, f32)>> = match qvec.as_deref() {
            Some(q) => addrs.iter().map(|a| self.vectors().similarities(searcher, *a, q)).collect::<Result<_>>()?,
            None => vec![None; hits.len()],
        };
        let signals: Vec<HitSignals> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| HitSignals {
                fused: scores[i].0,
                lexical: scores[i].1,
                evidence: scores[i].2,
                semantic: h.semantic,
                semantic_parts: parts[i],
                lexical_rank: lexical_ranks.get(&addrs[i]).copied().unwrap_or(lexical_ranks.len()),
                semantic_rank: semantic_ranks.get(&addrs[i]).copied(),
                terms: &claim_terms[i],
                tokens: &claim_tokens[i],
                claim: &h.claim,
            })
            .collect();
        let stmt = Statement {
            text: &req.text,
            terms: &stmt_terms,
            tokens: &stmt_tokens,
            speaker: req.speaker.as_deref(),
            date: req.date,
        };
        let feats = flag::features(&stmt, &signals);
        drop(signals);
        let match_model = self.match_model(req.is_transcript());
        let mut ranked: Vec<(MatchHit, Vec<f32>)> = hits.into_iter().zip(feats).collect();
        for (h, x) in &mut ranked {
            h.score = match_model.probability(x);
            h.reasons = match_model.reasons(x, 3);
            h.features = x.clone();
        }
        // The match model re-ranks the best `rerank_depth` claims (a stable sort: ties keep the fused order).
        let depth = config.rerank_depth.min(ranked.len());
        ranked[..depth].sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        let (mut hits, feats): (Vec<MatchHit>, Vec<Vec<f32>>) = ranked.into_iter().unzip();
        hits.truncate(limit);
        if !req.no_evidence {
            for h in &mut hits {
                h.evidence = self
                    .evidence_for(searcher, &h.claim.id)?
                    .into_iter()
                    .map(|(stance, evidence)| EvidenceHit { stance, evidence })
                    .collect();
            }
        }
        let mut top = feats.into_iter().next().unwrap_or_else(|| vec![0.0; flag::FEATURES.len()]);
        if let Some(best) = hits.first() {
            top[flag::MATCH_PROB] = best.score;
            top[flag::MATCH_MARGIN] = best.score - hits.get(1).map_or(0.0, |h| h.score);
        }
        let score = if hits.is_empty() { 0.0 } else { model.probability(&top) };
        Ok(MatchResult {
            text: req.text.clone(),
            flagged: score >= model.flagged,
            suggested: score >= model.suggested,
            score,
            reasons: if hits.is_empty() { Vec::new() } else { model.reasons(&top, 3) },
            features: top,
            hits,
        })
    }

    /// Scored candidates, best first (ties by id, so ranking is deterministic), with the statement's analyzed tokens.
    ///
    /// The lexical score is BM25 over statement + review title, divided by the most the
    /// statement's terms could score, so it lies in [0, 1) and compares across statements;
    /// context, speaker and evidence-passage matches add to it with their configured weights.
    /// `qvec` gives the statement's vector (None without the semantic model) when the lexical
    /// candidates are in, so that it can be computed meanwhile; it is returned too.
    #[allow(clippy::type_complexity)]
    pub(crate) fn candidates(
        &self,
        searcher: &Searcher,
        req: &MatchRequest,
        config: &MatchConfig,
        qvec: impl FnOnce() -> Result<Option<Vec<f32>>>,
    ) -> Result<(Vec<Candidate>, Vec<String>, TextAnalyzer, Option<Vec<f32>>)> {
        let f = self.fields();
        let lang = match req.language.as_deref() {
            None => Some(Lang::default_lang()),
            Some(tag) => Lang::of_tag(tag),
        };
        let field = f.body(lang);
        let evidence_field = f.evidence_body(lang);
        let mut analyzer = self.analyzer(lang);
        let tokens = analysis::tokens(&mut analyzer, &config.clean(&req.text));
        let terms: BTreeSet<String> = tokens.iter().cloned().collect();
        if terms.is_empty() {
            // Nothing to search for, but an embedding error is still the caller's to see.
            let qvec = qvec()?;
            return Ok((Vec::new(), tokens, analyzer, qvec));
        }
        let stats = BodyStats::new(searcher, f);
        let num_docs = searcher.num_docs().max(1) as f32;
        let mut max_score = 0.0f32;
        let mut should: Vec<Clause> = Vec::new();
        let mut evidence_terms: Vec<Term> = Vec::new();
        // Terms common among claims are left out of the candidate search (see `candidate_df`).
        let num_claims = searcher.doc_freq(&f.kind_term(Kind::Claim))?.max(1) as f32;
        let mut searched: Vec<(u64, usize)> = Vec::with_capacity(terms.len());
        // BodyStats counts a word in the claims and the passages together, so a statement term's
        // idf is also that of its evidence term (the passage search below picks by it).
        let mut idfs: Vec<f32> = Vec::with_capacity(terms.len());
        for t in &terms {
            let term = Term::from_field_text(field, t);
            idfs.push(idf(&stats, &term, num_docs)?);
            max_score += idfs[idfs.len() - 1] * (1.0 + BM25_K1);
            searched.push((stats.own_doc_freq(&term)?, should.len()));
            should.push(Clause::new(term, None, IndexRecordOption::WithFreqs));
            evidence_terms.push(Term::from_field_text(evidence_field, t));
        }
        if config.candidate_df > 0.0 {
            let rarest = searched.iter().map(|s| s.0).min().unwrap_or(0);
            let common = (config.candidate_df * num_claims).max(config.candidates as f32);
            searched.retain(|&(df, _)| df == rarest || df as f32 <= common);
        }
        // The postings budget, rarest first (ties by term order): the statement's terms (the
        // rarest always), then the context's in what is left; the query keeps the term order.
        let budget = config.candidate_postings;
        let mut read = 0u64;
        let mut within_budget = |terms: &mut Vec<(u64, usize)>, at_least: usize| {
            if budget == 0 {
                return;
            }
            terms.sort_unstable();
            let (mut sum, mut keep) = (read, 0);
            while keep < terms.len() && sum + terms[keep].0 <= budget {
                sum += terms[keep].0;
                keep += 1;
            }
            terms.truncate(keep.max(at_least));
            read += terms.iter().map(|t| t.0).sum::<u64>();
            terms.sort_unstable_by_key(|&(_, i)| i);
        };
        within_budget(&mut searched, 1);
        let max_score = max_score.max(1e-6);
        let mut context: Vec<(u64, usize)> = Vec::new();
        if config.context_weight > 0.0 {
            if let Some(ctx) = req.context.as_deref() {
                let ctx = config.clean(ctx);
                for t in terms_of(&mut analyzer, &ctx).difference(&terms) {
                    let term = Term::from_field_text(field, t);
                    context.push((stats.own_doc_freq(&term)?, should.len()));
                    should.push(Clause::new(term, Some(config.context_weight), IndexRecordOption::WithFreqs));
                }
            }
        }
        within_budget(&mut context, 0);
        let speakers = should.len();
        if config.speaker_weight > 0.0 {
            if let Some(sp) = req.speaker.as_deref() {
                let mut plain = self.analyzer(None);
                for t in terms_of(&mut plain, sp) {
                    let term = Term::from_field_text(f.speaker, &t);
                    should.push(Clause::new(term, Some(config.speaker_weight), IndexRecordOption::WithFreqs));
                }
            }
        }
        let filters = Filters { kind: None, ..req.filters.clone() };
        let mut restrict: Vec<(Occur, Box<dyn Query>)> = filters.clauses(f)?;
        if let Some(d) = req.date {
            let later = RangeQuery::new(Bound::Excluded(Term::from_field_i64(f.date, d.last_day())), Bound::Unbounded);
            restrict.push((Occur::MustNot, Box::new(later)));
        }
        // Claim text has its own fields, so with no restrictions the query is a pure OR of terms,
        // searched as one union (`Exhaustive`). Scores keep the `kind` term that the query used
        // to intersect with (a constant per kind), so that they are what they were.
        let kind_clause = |k: Kind| Clause::new(f.kind_term(k), None, IndexRecordOption::Basic);
        // The search runs on the statement and context terms kept above and the speaker terms;
        // exact_scores then scores every candidate on all of them.
        let searched = searched.iter().chain(&context).map(|&(_, i)| i).chain(speakers..should.len());
        let any_term = Exhaustive::of(searched.map(|i| &should[i]));
        let limit = TopDocs::with_limit(config.candidates.max(1));
        let top = if restrict.is_empty() {
            searcher.search_with_statistics_provider(&any_term, &limit, &stats)?
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(any_term.union))];
            clauses.extend(restrict.iter().map(|(o, q)| (*o, q.box_clone())));
            searcher.search_with_statistics_provider(&BooleanQuery::new(clauses), &limit, &stats)?
        };
        should.push(kind_clause(Kind::Claim));
        let top = exact_scores(searcher, &stats, &should, top)?;

        let mut keys = FastU64::new(searcher, self.columns(), crate::schema::FIELD_ID_KEY);
        let mut dups = FastU64::new(searcher, self.columns(), crate::schema::FIELD_DUP_KEY);
        // One column after the other: at a million claims each read is a cache and TLB miss
        // into a column over six million documents, and a loop over one column lets the CPU
        // overlap them. Timed inside the match, the reads took 0.8× the time (mean 190 → 130 µs
        // for 20 candidates), about 2% of a lexical match, within the whole match's noise.
        let ids: Vec<u64> = top.iter().map(|&(_, addr)| keys.first(addr)).collect::<Result<_>>()?;
        let twins: Vec<u64> = top.iter().map(|&(_, addr)| dups.first(addr)).collect::<Result<_>>()?;
        let mut by_key: HashMap<u64, Candidate> = HashMap::with_capacity(top.len());
        for (((score, addr), key), dup) in top.into_iter().zip(ids).zip(twins) {
            let c = Candidate {
                addr,
                key,
                id: String::new(),
                dup,
                lexical: (score / max_score).clamp(0.0, 1.0),
                evidence: 0.0,
                semantic: None,
                score: 0.0,
            };
            by_key.insert(key, c);
        }

        let evidence_parts: Vec<Clause> = evidence_terms
            .into_iter()
            .map(|t| Clause::new(t, None, IndexRecordOption::WithFreqs))
            .chain([kind_clause(Kind::Evidence)])
            .collect();
        let mut refs = FastU64::new(searcher, self.columns(), crate::schema::FIELD_CLAIM_KEY);
        if config.evidence_weight > 0.0 && config.evidence_candidates > 0 {
            // The best passages of the whole index bring in the claims they bear on.
            // Only the statement's rarest terms: the search finds claims, the scores come below.
            let mut rare: Vec<(f32, usize)> = idfs.iter().copied().zip(0..).collect();
            rare.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            rare.truncate(if config.evidence_terms == 0 { rare.len() } else { config.evidence_terms });
            let any_term = Exhaustive::of(rare.iter().map(|&(_, i)| &evidence_parts[i]));
            let limit = TopDocs::with_limit(config.evidence_candidates);
            let top = searcher.search_with_statistics_provider(&any_term, &limit, &stats)?;
            for (_, addr) in top {
                for key in refs.all(addr)? {
                    if let Entry::Vacant(slot) = by_key.entry(key) {
                        if let Some(c) = self.candidate_by_key(searcher, key, req, &restrict, &mut dups)? {
                            slot.insert(c);
                        }
                    }
                }
            }
        }

        let qvec = qvec()?;
        if let Some(q) = qvec.as_deref() {
            for c in by_key.values_mut() {
                c.semantic = self.vectors().similarity(searcher, c.addr, q)?;
            }
            for (addr, s) in self.vectors().nearest(searcher, q, config.semantic_candidates.max(1))? {
                let key = keys.first(addr)?;
                if by_key.contains_key(&key) {
                    continue;
                }
                if let Some(c) = self.candidate_at(searcher, addr, key, req, &restrict, &mut dups)? {
                    by_key.insert(key, Candidate { semantic: Some(s), ..c });
                }
            }
        }

        if config.evidence_weight > 0.0 && !by_key.is_empty() {
            // Every candidate's evidence score is its best passage, each of its passages scored exactly.
            let passages = self.passages_of(searcher, by_key.keys().copied())?;
            let scored = exact_scores(searcher, &stats, &evidence_parts, passages)?;
            for (score, addr) in scored {
                let s = (score / max_score).clamp(0.0, 1.0);
                for key in refs.all(addr)? {
                    if let Some(c) = by_key.get_mut(&key) {
                        c.evidence = c.evidence.max(s);
                    }
                }
            }
        }

        let mut out: Vec<Candidate> = by_key.into_values().collect();
        for c in &mut out {
            c.score =
                c.lexical + config.evidence_weight * c.evidence + config.semantic_weight * c.semantic.unwrap_or(0.0);
        }
        let keep = req.limit.unwrap_or(5).max(5).max(config.rerank_depth);
        sort_candidates(&mut out, keep, &mut FastStr::new(searcher, self.columns(), crate::schema::FIELD_ID))?;
        Ok((out, tokens, analyzer, qvec))
    }

    /// A claim by id key as a candidate with no lexical score, if it passes the restrictions.
    fn candidate_by_key(
        &self,
        searcher: &Searcher,
        key: u64,
        req: &MatchRequest,
        restrict: &[(Occur, Box<dyn Query>)],
        dups: &mut FastU64,
    ) -> Result<Option<Candidate>> {
        match self.addr_of_key(searcher, key)? {
            Some(addr) => self.candidate_at(searcher, addr, key, req, restrict, dups),
            None => Ok(None),
        }
    }

    /// The claim at `addr` as a candidate with no scores, if it passes the restrictions: the
    /// statement's date through the date column, other filters through a query.
    fn candidate_at(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        key: u64,
        req: &MatchRequest,
        restrict: &[(Occur, Box<dyn Query>)],
        dups: &mut FastU64,
    ) -> Result<Option<Candidate>> {
        let f = self.fields();
        let plain_filters = Filters { kind: None, ..req.filters.clone() } == Filters::default();
        if plain_filters {
            if let Some(d) = req.date {
                let col = self.columns().i64(searcher, addr.segment_ord, crate::schema::FIELD_DATE)?;
                if col.first(addr.doc_id).is_some_and(|day| day > d.last_day()) {
                    return Ok(None);
                }
            }
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> =
                vec![(Occur::Must, Box::new(TermQuery::new(f.id_key_term(key), IndexRecordOption::Basic)))];
            clauses.extend(restrict.iter().map(|(o, q)| (*o, q.box_clone())));
            if searcher.search(&BooleanQuery::new(clauses), &tantivy::collector::Count)? == 0 {
                return Ok(None);
            }
        }
        Ok(Some(Candidate {
            addr,
            key,
            id: String::new(),
            dup: dups.first(addr)?,
            lexical: 0.0,
            evidence: 0.0,
            semantic: None,
            score: 0.0,
        }))
    }

    /// The live passages that bear on any of these claims (by `id_key`), read from the postings
    /// of each key's `claim_key` term: one dictionary lookup per key and segment.
    fn passages_of(&self, searcher: &Searcher, keys: impl Iterator<Item = u64>) -> Result<Vec<(f32, DocAddress)>> {
        let mut out = Vec::new();
        for key in keys {
            let term = Term::from_field_u64(self.fields().claim_key, key);
            for_each_live(searcher, &term, |addr| {
                out.push((0.0, addr));
                true
            })?;
        }
        // A passage bearing on two candidates is scored once.
        out.sort_by_key(|p| p.1);
        out.dedup_by_key(|p| p.1);
        Ok(out)
    }

    /// The address of the live record whose id has this key, read from the postings of the key term.
    pub(crate) fn addr_of_key(&self, searcher: &Searcher, key: u64) -> Result<Option<DocAddress>> {
        let mut found = None;
        for_each_live(searcher, &self.fields().id_key_term(key), |addr| {
            found = Some(addr);
            false
        })?;
        Ok(found)
    }
}

/// Calls `f` with each live document that holds `term` (of an indexed field), segment by
/// segment, reading the term's postings directly; stops when `f` returns false.
fn for_each_live(searcher: &Searcher, term: &Term, mut f: impl FnMut(DocAddress) -> bool) -> Result<()> {
    use tantivy::{DocSet, TERMINATED};
    for (ord, seg) in searcher.segment_readers().iter().enumerate() {
        let inv = seg.inverted_index(term.field())?;
        let Some(mut postings) =
            inv.read_postings(term, IndexRecordOption::Basic).map_err(|e| Error::Tantivy(e.into()))?
        else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !seg.is_deleted(doc) && !f(DocAddress::new(ord as u32, doc)) {
                return Ok(());
            }
            doc = postings.advance();
        }
    }
    Ok(())
}

/// Sorts candidates best first, ties by id (so ranking is deterministic), reading ids only where
/// a tie can change the result: `match_with` keeps the first `keep` twin groups and lists the
/// twins of those groups, so a run of equal scores is put in id order while fewer than `keep`
/// groups are ahead of it, and after that only the members of kept groups are. The rest stay in
/// key order (equal-scoring passages can tie hundreds of claims that no result shows).
fn sort_candidates(out: &mut [Candidate], keep: usize, ids: &mut FastStr) -> Result<()> {
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
    let mut kept: Vec<u64> = Vec::with_capacity(keep);
    let mut start = 0;
    while start < out.len() {
        let end = start + out[start..].iter().take_while(|c| c.score == out[start].score).count();
        if end - start > 1 {
            if kept.len() < keep {
                for c in &mut out[start..end] {
                    c.id = ids.first(c.addr)?;
                }
                out[start..end].sort_by(|a, b| a.id.cmp(&b.id));
            } else {
                let slots: Vec<usize> = (start..end).filter(|&i| kept.contains(&out[i].dup)).collect();
                if slots.len() > 1 {
                    let mut members: Vec<Candidate> = Vec::with_capacity(slots.len());
                    for &i in &slots {
                        let mut c = out[i].clone();
                        c.id = ids.first(c.addr)?;
                        members.push(c);
                    }
                    members.sort_by(|a, b| a.id.cmp(&b.id));
                    for (i, c) in slots.into_iter().zip(members) {
                        out[i] = c;
                    }
                }
            }
        }
        for c in &out[start..end] {
            if kept.len() < keep && !kept.contains(&c.dup) {
                kept.push(c.dup);
            }
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_into_words() {
        assert_eq!(split_tags("#Trump2020 hat"), "Trump 2020 hat");
        assert_eq!(split_tags("ask @LindseyGrahamSC now"), "ask Lindsey Graham SC now");
        assert_eq!(split_tags("— NWS (@NWSBirmingham) #alwx"), "— NWS (NWS Birmingham) alwx");
        assert_eq!(split_tags("@real_donald_trump"), "real donald trump");
        // Not tags: an e-mail address, a lone sign, a number sign before a space.
        assert_eq!(split_tags("mail a@b.org # 1 @ home"), "mail a@b.org # 1 @ home");
        assert_eq!(split_tags("#émigrésRentrent"), "émigrés Rentrent");
    }

    fn record(v: serde_json::Value) -> Record {
        serde_json::from_value(v).expect("a valid record")
    }

    #[test]
    fn kept_columns_follow_the_segments_through_a_merge() -> Result<()> {
        let idx = ClaimIndex::create_in_ram()?;
        let claim = |id: &str| record(serde_json::json!({"kind": "claim", "id": id, "text": format!("Claim {id}.")}));
        // Each id read through the cache is the stored document's own.
        let check = || -> Result<usize> {
            let searcher = idx.searcher();
            let mut ids = FastStr::new(&searcher, idx.columns(), crate::schema::FIELD_ID);
            let mut keys = FastU64::new(&searcher, idx.columns(), crate::schema::FIELD_ID_KEY);
            let mut seen = 0;
            for (ord, seg) in searcher.segment_readers().iter().enumerate() {
                for doc in seg.doc_ids_alive() {
                    let addr = DocAddress::new(ord as u32, doc);
                    let Record::Claim(c) = idx.fields().from_document(&searcher.doc(addr)?)? else { continue };
                    assert_eq!(ids.first(addr)?, c.id);
                    assert_eq!(keys.first(addr)?, crate::schema::id_key(&c.id));
                    seen += 1;
                }
            }
            // Only the searcher's segments are kept.
            assert!(lock(&idx.columns().strs).len() <= searcher.segment_readers().len());
            Ok(seen)
        };
        idx.upsert(&[claim("a"), claim("b")])?;
        idx.upsert(&[claim("c")])?;
        assert_eq!(check()?, 3);
        // Merged into one segment (its first document need not be the old first segment's).
        idx.upsert(&[claim("d"), claim("e")])?;
        idx.merge_segments()?;
        idx.reload()?;
        assert_eq!(idx.searcher().segment_readers().len(), 1);
        assert_eq!(check()?, 5);
        Ok(())
    }

    /// The words of [`word_mix_index`]'s claims.
    const WORDS: [&str; 9] =
        ["amnesty", "decree", "taliban", "soldiers", "report", "killings", "schools", "border", "taxes"];

    /// An index of claims in three commits (so three segments until merged) of `per_commit`
    /// claims each: claim `n` (the `i`th of its commit) says `text(n, i)` and its number.
    fn word_mix_index(per_commit: usize, text: impl Fn(usize, usize) -> String) -> Result<ClaimIndex> {
        let idx = ClaimIndex::create_in_ram()?;
        for part in 0..3 {
            let records: Vec<Record> = (0..per_commit)
                .map(|i| {
                    let n = part * per_commit + i;
                    let text = format!("{} {n}.", text(n, i));
                    record(serde_json::json!({"kind": "claim", "id": format!("c{n}"), "text": text}))
                })
                .collect();
            idx.upsert(&records)?;
        }
        Ok(idx)
    }

    /// The union tests' five terms (two boosted, one that no claim has) as weighed terms, the
    /// searcher, and each segment's documents of tantivy's union of them, in order, with their
    /// scores.
    #[allow(clippy::type_complexity)]
    fn tantivys_union(idx: &ClaimIndex) -> Result<(Vec<(Term, Bm25Weight)>, Searcher, Vec<Vec<(DocId, f32)>>)> {
        let searcher = idx.searcher();
        let f = idx.fields();
        let stats = BodyStats::new(&searcher, f);
        let body = f.body(Some(Lang::default_lang()));
        let term = |w: &str| Term::from_field_text(body, w);
        let clauses = [
            Clause::new(term("taliban"), None, IndexRecordOption::WithFreqs),
            Clause::new(term("decre"), Some(0.4), IndexRecordOption::WithFreqs),
            Clause::new(term("nosuchword"), None, IndexRecordOption::WithFreqs),
            Clause::new(term("border"), Some(2.5), IndexRecordOption::WithFreqs),
            Clause::new(term("amnesti"), None, IndexRecordOption::WithFreqs),
        ];
        let query = Exhaustive::of(&clauses);
        let terms = query.weighed_terms(&stats)?;
        let scoring = tantivy::query::EnableScoring::enabled_from_statistics_provider(&stats, &searcher);
        let union = query.union.weight(scoring)?;
        let mut segments = Vec::new();
        for reader in searcher.segment_readers() {
            let mut expected = Vec::new();
            let mut scorer = union.scorer(reader, 1.0)?;
            while scorer.doc() != tantivy::TERMINATED {
                expected.push((scorer.doc(), scorer.score()));
                scorer.advance();
            }
            segments.push(expected);
        }
        Ok((terms, searcher, segments))
    }

    /// The windowed union passes on every document of tantivy's union of the same terms, in
    /// order and with its score, whatever the window (64 documents cuts the fixture's segments
    /// into several), with boosts and with a term no claim has.
    #[test]
    fn the_union_in_windows_scores_every_document_as_tantivys_union_does() -> Result<()> {
        // Some words said several times, so that term frequencies vary.
        let idx = word_mix_index(150, |n, _| {
            let text: Vec<&str> = (0..1 + n % 5).map(|k| WORDS[(n * 5 + k * k * 7) % WORDS.len()]).collect();
            vec![text.join(" "); 1 + n % 3].join(" ")
        })?;
        let (terms, searcher, segments) = tantivys_union(&idx)?;
        let (mut total, mut spanning) = (0, 0);
        for (reader, expected) in searcher.segment_readers().iter().zip(segments) {
            let span = expected.last().map_or(0, |l| l.0) - expected.first().map_or(0, |f| f.0);
            if span >= 128 {
                spanning += 1;
            }
            total += expected.len();
            let mut small = Vec::new();
            let mut cursors = Cursor::all(&terms, reader)?;
            union_in_windows(&mut cursors, &mut Window::<64>::new(), f32::MIN, &mut |d, s| {
                small.push((d, s));
                f32::MIN
            });
            let mut large = Vec::new();
            let mut cursors = Cursor::all(&terms, reader)?;
            WINDOW.with(|w| {
                union_in_windows(&mut cursors, &mut w.borrow_mut(), f32::MIN, &mut |d, s| {
                    large.push((d, s));
                    f32::MIN
                })
            });
            assert_eq!(small, large, "the window's size changes nothing");
            // A window a panicking search left behind (busy, not cleared) is cleared first.
            let mut left = Window::<64>::new();
            left.scores.fill(1.0);
            left.seen.fill(u64::MAX);
            left.words.fill(u64::MAX);
            left.bounds.fill(1.0);
            left.hits.push(Hit { k: 1, cursor: 0, tf: 1 });
            left.busy = true;
            let mut after_panic = Vec::new();
            let mut cursors = Cursor::all(&terms, reader)?;
            union_in_windows(&mut cursors, &mut left, f32::MIN, &mut |d, s| {
                after_panic.push((d, s));
                f32::MIN
            });
            assert_eq!(after_panic, small);
            let docs = |v: &[(DocId, f32)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
            assert_eq!(docs(&small), docs(&expected));
            for ((d, a), (_, b)) in small.iter().zip(&expected) {
                assert!((a - b).abs() <= 1e-6 * b.abs(), "doc {d}: {a} against tantivy's {b}");
            }
            // The window is left as it was found: all zeros.
            WINDOW.with(|w| {
                let w = w.borrow();
                assert!(w.scores.iter().all(|&s| s == 0.0) && w.seen.iter().all(|&b| b == 0));
                assert!(w.words.iter().all(|&b| b == 0) && w.bounds.iter().all(|&b| b == 0.0) && w.hits.is_empty());
            });
        }
        assert!(total > 300, "{total}");
        // However merges laid the segments out, some segment's matches cross windows of 64.
        assert!(spanning >= 1, "no segment's matches span several windows of 64");
        Ok(())
    }

    /// Above a threshold, the windowed union passes on the documents of tantivy's union that
    /// beat it, and no other, while it scores fewer postings exactly (the non-essential terms'
    /// and those of documents whose bound cannot beat it).
    #[test]
    fn the_union_in_windows_passes_on_what_beats_the_threshold_and_scores_fewer_postings() -> Result<()> {
        // Some claims say one word many times: they score near the bound that prunes.
        let idx = word_mix_index(150, |n, _| {
            if n % 7 == 0 {
                return [WORDS[n % WORDS.len()]; 12].join(" ");
            }
            let text: Vec<&str> = (0..1 + n % 6).map(|k| WORDS[(n * 3 + k * k * 5) % WORDS.len()]).collect();
            vec![text.join(" "); 1 + n % 2].join(" ")
        })?;
        let (terms, searcher, segments) = tantivys_union(&idx)?;
        let (mut tried, mut pruned) = (0, 0);
        for (reader, expected) in searcher.segment_readers().iter().zip(segments) {
            if expected.is_empty() {
                continue;
            }
            let mut sorted: Vec<f32> = expected.iter().map(|e| e.1).collect();
            sorted.sort_by(f32::total_cmp);
            let all =
                union_in_windows(&mut Cursor::all(&terms, reader)?, &mut Window::<64>::new(), f32::MIN, &mut |_, _| {
                    f32::MIN
                });
            sorted.dedup();
            // Every score of the union as the threshold, a hair under each (the tightest test of
            // what is pruned), and one above them all.
            let under = sorted.iter().map(|s| s * (1.0 - 1e-4));
            for at in sorted.iter().copied().chain(under).chain([sorted[sorted.len() - 1] * 1.5]) {
                tried += 1;
                let mut got = Vec::new();
                let mut cursors = Cursor::all(&terms, reader)?;
                let scored = union_in_windows(&mut cursors, &mut Window::<64>::new(), at, &mut |d, s| {
                    got.push((d, s));
                    at
                });
                // Scores a rounding apart from the threshold could fall either side of it.
                let near = |s: f32| (s - at).abs() <= 1e-5 * at.abs();
                let above: Vec<DocId> = expected.iter().filter(|e| e.1 > at && !near(e.1)).map(|e| e.0).collect();
                let passed: Vec<DocId> = got.iter().filter(|g| !near(g.1)).map(|g| g.0).collect();
                assert_eq!(passed, above, "threshold {at}");
                for (d, s) in &got {
                    let e = expected.iter().find(|e| e.0 == *d).expect("a document of the union").1;
                    assert!((s - e).abs() <= 1e-6 * e.abs(), "doc {d}: {s} against tantivy's {e}");
                }
                assert!(scored <= all);
                if scored < all {
                    pruned += 1;
                }
            }
        }
        // Most thresholds spare some postings (39–59 of 57–90, by segment layout).
        assert!(3 * pruned >= tried, "{pruned} of {tried} thresholds spared postings");
        Ok(())
    }

    #[test]
    fn the_exhaustive_union_finds_what_block_max_wand_finds() -> Result<()> {
        // 300 claims; the first claim of each commit also says "viaduct".
        let idx = word_mix_index(100, |n, i| {
            let mut text: Vec<&str> = (0..1 + n % 7).map(|k| WORDS[(n * 7 + k * k * 3) % WORDS.len()]).collect();
            if i == 0 {
                text.push("viaduct");
            }
            text.join(" ")
        })?;
        let searcher = idx.searcher();
        assert!(searcher.segment_readers().len() >= 3);
        let f = idx.fields();
        let stats = BodyStats::new(&searcher, f);
        let body = f.body(Some(Lang::default_lang()));
        let mut analyzer = idx.analyzer(Some(Lang::default_lang()));
        for statement in
            ["amnesty decree", "taliban soldiers killings report", "schools border taxes amnesty", "viaduct decree"]
        {
            let clauses: Vec<Clause> = analysis::tokens(&mut analyzer, statement)
                .iter()
                .map(|t| Clause::new(Term::from_field_text(body, t), None, IndexRecordOption::WithFreqs))
                .collect();
            let query = Exhaustive::of(&clauses);
            let limit = TopDocs::with_limit(20);
            let wand = searcher.search_with_statistics_provider(&query.union, &limit, &stats)?;
            let all = searcher.search_with_statistics_provider(&query, &limit, &stats)?;
            assert_eq!(all.len(), 20, "{statement}");
            // The same scores, document by document (the 20th score may tie with the 21st).
            for ((a, _), (b, _)) in wand.iter().zip(&all) {
                assert!((a - b).abs() <= 1e-5 * a.abs(), "{statement}: {wand:?} {all:?}");
            }
            let last = all[19].0;
            let above = |top: &[(f32, DocAddress)]| -> Vec<DocAddress> {
                top.iter().filter(|(s, _)| s - last > 1e-4).map(|(_, a)| *a).collect()
            };
            assert_eq!(above(&wand), above(&all), "{statement}");
        }
        // Fewer matches than asked for: every one is found, the first documents of the segments too.
        let viaduct = Clause::new(Term::from_field_text(body, "viaduct"), None, IndexRecordOption::WithFreqs);
        let all =
            searcher.search_with_statistics_provider(&Exhaustive::of([&viaduct]), &TopDocs::with_limit(20), &stats)?;
        let mut ids = FastStr::new(&searcher, idx.columns(), crate::schema::FIELD_ID);
        let mut found: Vec<String> = all.iter().map(|(_, a)| ids.first(*a)).collect::<Result<_>>()?;
        found.sort();
        assert_eq!(found, ["c0", "c100", "c200"]);
        assert!(all.iter().any(|(_, a)| a.doc_id == 0), "a segment's first document is among them: {all:?}");
        Ok(())
    }

    #[test]
    fn exact_scores_are_tantivys_term_query_scores() -> Result<()> {
        let idx = ClaimIndex::create_in_ram()?;
        // Two commits, so several segments; "decree" is in the first commit only.
        idx.upsert(&[
            record(serde_json::json!({"kind": "claim", "id": "c1", "text": "The amnesty decree is enforced, the amnesty holds.", "speaker": "Zabihullah Mujahid"})),
            record(serde_json::json!({"kind": "claim", "id": "c2", "text": "A decree on schools."})),
        ])?;
        idx.upsert(&[
            record(serde_json::json!({"kind": "claim", "id": "c3", "text": "No amnesty for former soldiers, says the report on the amnesty and its many broken promises."})),
            record(serde_json::json!({"kind": "evidence", "id": "e1", "text": "Reports of killings contradict the amnesty.", "claims": [{"claim_id": "c3", "stance": "refutes"}]})),
        ])?;
        let searcher = idx.searcher();
        assert!(searcher.segment_readers().len() >= 2);
        let f = idx.fields();
        let stats = BodyStats::new(&searcher, f);
        let body = f.body(Some(Lang::default_lang()));
        let clauses = [
            Clause::new(Term::from_field_text(body, "amnesti"), None, IndexRecordOption::WithFreqs),
            Clause::new(Term::from_field_text(body, "decre"), Some(0.4), IndexRecordOption::WithFreqs),
            Clause::new(Term::from_field_text(f.speaker, "mujahid"), Some(0.2), IndexRecordOption::WithFreqs),
            Clause::new(f.kind_term(Kind::Claim), None, IndexRecordOption::Basic),
        ];
        let limit = TopDocs::with_limit(10);
        // Each clause alone scores every document to the bit as its tantivy query does.
        for c in &clauses {
            let top = searcher.search_with_statistics_provider(&*c.query(), &limit, &stats)?;
            assert!(!top.is_empty());
            let exact = exact_scores(&searcher, &stats, std::slice::from_ref(c), top.clone())?;
            for ((want, a), (got, b)) in top.iter().zip(&exact) {
                assert_eq!(a, b);
                assert_eq!(want.to_bits(), got.to_bits(), "{:?} in {a:?}", c.term);
            }
        }
        // Together: the sum of the clauses, in their order, for every document the union finds.
        let any = BooleanQuery::new(clauses.iter().map(|c| (Occur::Should, c.query())).collect());
        let top = searcher.search_with_statistics_provider(&any, &limit, &stats)?;
        assert_eq!(top.len(), 3);
        let exact = exact_scores(&searcher, &stats, &clauses, top.clone())?;
        for ((want, a), (got, b)) in top.iter().zip(&exact) {
            assert_eq!(a, b);
            let mut sum = 0.0f32;
            for c in &clauses {
                let alone = searcher.search_with_statistics_provider(&*c.query(), &limit, &stats)?;
                sum += alone.iter().find(|(_, d)| d == a).map_or(0.0, |(s, _)| *s);
            }
            assert_eq!(sum.to_bits(), got.to_bits());
            assert!((want - got).abs() < 1e-5, "{want} {got}");
        }
        Ok(())
    }

    #[test]
    fn screening_narrows_the_candidates_and_keeps_the_other_settings() {
        let mut custom = MatchConfig::default();
        custom.set("semantic_weight=0.7").expect("a setting");
        custom.set("semantic_context=false").expect("a setting");
        let s = custom.screened();
        assert_eq!((s.candidates, s.semantic_candidates, s.evidence_candidates, s.rerank_depth), (20, 20, 0, 5));
        assert_eq!(s.evidence_weight, 0.0);
        assert_eq!((s.semantic_weight, s.semantic_context), (0.7, false));
        assert_eq!(MatchConfig::screening().semantic_weight, MatchConfig::default().semantic_weight);
    }

    #[test]
    fn clean_follows_the_config() {
        let mut c = MatchConfig::default();
        assert_eq!(c.clean("#MAGA rally https://t.co/x"), "MAGA rally");
        c.split_tags = false;
        assert_eq!(c.clean("#MAGA rally https://t.co/x"), "#MAGA rally");
        c.strip_links = false;
        assert_eq!(c.clean("#MAGA rally https://t.co/x"), "#MAGA rally https://t.co/x");
    }
}

//! `ClaimIndex`: a tantivy index of claims and evidence, opened once and shared by the CLI and the server.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::adapter::QueryAdapter;
use crate::analysis;
use crate::embed::Embedder;
use crate::flag::FlagModel;
use crate::matcher::ColumnCache;
use crate::model::{Claim, Evidence, Kind, Rating, Record, Stance};
use crate::schema::ClaimFields;
use crate::vectors::VectorCache;
use crate::{Error, Result};

/// Memory the index writer may use before it flushes a segment.
pub const WRITER_MEMORY_BYTES: usize = 200_000_000;

/// Records embedded and written together during ingest.
pub const EMBED_BATCH: usize = 256;

/// Most evidence excerpts attached to one claim in results.
pub const MAX_EVIDENCE_PER_CLAIM: usize = 20;

/// A claimdex index: the tantivy index, its reader and, once a write is made, its writer.
pub struct ClaimIndex {
    index: Index,
    reader: IndexReader,
    fields: ClaimFields,
    writer: Mutex<Option<IndexWriter<TantivyDocument>>>,
    dir: Option<PathBuf>,
    /// Flag and match models set by the caller; else the shipped ones for the matcher in use.
    flag_model: Mutex<Option<Arc<FlagModel>>>,
    match_model: Mutex<Option<Arc<FlagModel>>>,
    /// Query adapters set by the caller (statement, transcript); else the shipped ones.
    adapters: Mutex<Option<Adapters>>,
    shipped: Arc<ShippedModels>,
    match_config: Mutex<crate::matcher::MatchConfig>,
    embedder: Option<Arc<Embedder>>,
    vectors: VectorCache,
    columns: ColumnCache,
}

/// Query adapters for statements on their own and (if any) for transcript sentences.
type Adapters = (Arc<QueryAdapter>, Option<Arc<QueryAdapter>>);

/// The models compiled into the binary, parsed once per process.
struct ShippedModels {
    flag: Arc<FlagModel>,
    flag_lexical: Arc<FlagModel>,
    matching: Arc<FlagModel>,
    matching_lexical: Arc<FlagModel>,
    matching_transcript: Arc<FlagModel>,
    matching_transcript_lexical: Arc<FlagModel>,
    adapter: Arc<QueryAdapter>,
}

fn shipped_models() -> Arc<ShippedModels> {
    static MODELS: std::sync::OnceLock<Arc<ShippedModels>> = std::sync::OnceLock::new();
    MODELS
        .get_or_init(|| {
            Arc::new(ShippedModels {
                flag: Arc::new(FlagModel::shipped()),
                flag_lexical: Arc::new(FlagModel::shipped_lexical()),
                matching: Arc::new(FlagModel::shipped_match()),
                matching_lexical: Arc::new(FlagModel::shipped_match_lexical()),
                matching_transcript: Arc::new(FlagModel::shipped_match_transcript()),
                matching_transcript_lexical: Arc::new(FlagModel::shipped_match_transcript_lexical()),
                adapter: Arc::new(QueryAdapter::shipped_statement()),
            })
        })
        .clone()
}

/// How an ingest run treats bad records.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// Fail the whole run (and keep the index as it was) on the first bad record.
    pub strict: bool,
}

/// What an ingest run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct IngestReport {
    /// Claims written (new or replaced).
    pub claims: u64,
    /// Evidence excerpts written (new or replaced).
    pub evidence: u64,
    /// Bad records skipped.
    pub skipped: u64,
}

/// Counts of what the index holds.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Number of claims.
    pub claims: u64,
    /// Number of evidence excerpts.
    pub evidence: u64,
    /// Claims per normalized verdict.
    pub by_verdict: BTreeMap<String, u64>,
    /// Claims per publisher (lowercased name).
    pub by_publisher: BTreeMap<String, u64>,
    /// Size of the index files on disk, in bytes (0 in memory).
    pub index_bytes: u64,
    /// Segments of the index: each is searched on its own (`claimdex index --merge` makes one).
    pub segments: usize,
}

impl ClaimIndex {
    /// A new index in memory (tests, `eval`).
    pub fn create_in_ram() -> Result<Self> {
        let (schema, _) = ClaimFields::build();
        Self::from_index(Index::create_in_ram(schema), None)
    }

    /// A new, empty index in `dir` (created if missing).
    pub fn create_in_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, _) = ClaimFields::build();
        let index = Index::create_in_dir(dir, schema)?;
        Self::from_index(index, Some(dir.to_path_buf()))
    }

    /// Opens the index in `dir`.
    pub fn open_in_dir(dir: &Path) -> Result<Self> {
        if !Self::exists(dir) {
            return Err(Error::NotFound(format!("no claimdex index in {}", dir.display())));
        }
        let index = Index::open_in_dir(dir)?;
        Self::from_index(index, Some(dir.to_path_buf()))
    }

    /// Opens the index in `dir`, creating it if there is none.
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        if Self::exists(dir) {
            Self::open_in_dir(dir)
        } else {
            Self::create_in_dir(dir)
        }
    }

    /// True if `dir` holds an index.
    pub fn exists(dir: &Path) -> bool {
        dir.join("meta.json").is_file()
            && MmapDirectory::open(dir).map(|d| Index::exists(&d).unwrap_or(false)).unwrap_or(false)
    }

    fn from_index(index: Index, dir: Option<PathBuf>) -> Result<Self> {
        let fields = ClaimFields::from_schema(&index.schema())?;
        analysis::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .doc_store_cache_num_blocks(1000)
            .try_into()?;
        Ok(ClaimIndex {
            index,
            reader,
            fields,
            writer: Mutex::new(None),
            dir,
            flag_model: Mutex::new(None),
            match_model: Mutex::new(None),
            adapters: Mutex::new(None),
            shipped: shipped_models(),
            match_config: Mutex::new(Default::default()),
            embedder: None,
            vectors: VectorCache::default(),
            columns: ColumnCache::default(),
        })
    }

    /// Uses a sentence-embedding model: claims written from now on get vectors, and `match`
    /// fuses semantic similarity with the lexical score.
    pub fn with_embedder(mut self, embedder: Arc<Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The embedding model, if one is loaded.
    pub fn embedder(&self) -> Option<&Arc<Embedder>> {
        self.embedder.as_ref()
    }

    /// The claim vectors.
    pub(crate) fn vectors(&self) -> &VectorCache {
        &self.vectors
    }

    /// The fast-field columns opened so far.
    pub(crate) fn columns(&self) -> &ColumnCache {
        &self.columns
    }

    /// Loads the claim vectors of every segment now (their int8 codes and, in large segments,
    /// sign bits), as the first hybrid match would: a server calls it before it takes requests,
    /// so that the first one does not wait (about 9 s at a million claims). Does nothing without
    /// the semantic model. Returns the claims with vectors.
    pub fn warm_up(&self) -> Result<usize> {
        if self.embedder.is_none() {
            return Ok(0);
        }
        self.vectors.load_all(&self.searcher())
    }

    /// The directory of an on-disk index.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The tantivy index (for the search and match modules).
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// The analyzer of a language (`None`: the plain one), cloned from the index's tokenizer
    /// manager so that its stopword set is shared rather than rebuilt for every statement.
    pub fn analyzer(&self, lang: Option<analysis::Lang>) -> tantivy::tokenizer::TextAnalyzer {
        let name = lang.map(|l| l.analyzer_name()).unwrap_or_else(|| analysis::PLAIN.to_string());
        self.index.tokenizers().get(&name).unwrap_or_else(|| match lang {
            Some(l) => l.analyzer(),
            None => analysis::plain_analyzer(),
        })
    }

    /// The schema's field handles.
    pub fn fields(&self) -> &ClaimFields {
        &self.fields
    }

    /// The schema.
    pub fn schema(&self) -> Schema {
        self.index.schema()
    }

    /// A searcher over the last committed state.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Sees the latest commit, including one made by another process.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Takes the index's single-writer lock now, so that a second writer process fails at
    /// start rather than at its first write.
    pub fn lock_for_writing(&self) -> Result<()> {
        let mut guard = self.writer.lock().map_err(|_| poisoned())?;
        if guard.is_none() {
            *guard = Some(self.open_writer()?);
        }
        Ok(())
    }

    fn open_writer(&self) -> Result<IndexWriter<TantivyDocument>> {
        self.index.writer(WRITER_MEMORY_BYTES).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(_, _) => Error::InvalidRequest(format!(
                "another claimdex process is writing to the index{}; stop it first",
                self.dir.as_ref().map(|d| format!(" in {}", d.display())).unwrap_or_default()
            )),
            e => Error::Tantivy(e),
        })
    }

    /// Runs `f` with the writer, then commits; rolls back if `f` fails. Returns once the commit is durable.
    fn write<T>(&self, f: impl FnOnce(&mut IndexWriter<TantivyDocument>) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().map_err(|_| poisoned())?;
        if guard.is_none() {
            *guard = Some(self.open_writer()?);
        }
        let writer = guard.as_mut().expect("the writer was just set");
        match f(writer) {
            Ok(v) => {
                writer.commit()?;
                self.reader.reload()?;
                Ok(v)
            }
            Err(e) => {
                writer.rollback()?;
                Err(e)
            }
        }
    }

    /// Writes records from a stream in one commit: each replaces any record with the same id.
    ///
    /// Bad records (`Err` items) are passed to `on_skip` and skipped, or, with `strict`, end the
    /// run with that error and leave the index as it was.
    pub fn ingest<I>(&self, records: I, opts: IngestOptions, on_skip: &mut dyn FnMut(&Error)) -> Result<IngestReport>
    where
        I: IntoIterator<Item = Result<Record>>,
    {
        self.write(|writer| {
            let mut report = IngestReport::default();
            let mut batch: Vec<Record> = Vec::with_capacity(EMBED_BATCH);
            self.reader.reload()?;
            let mut ids = Replaced { committed: self.searcher(), seen: HashSet::new() };
            for item in records {
                match item {
                    Ok(record) => {
                        batch.push(record);
                        if batch.len() == EMBED_BATCH {
                            self.add_batch(writer, &mut batch, &mut ids, opts, on_skip, &mut report)?;
                        }
                    }
                    Err(e) if opts.strict || !e.is_client_error() => return Err(e),
                    Err(e) => {
                        on_skip(&e);
                        report.skipped += 1;
                    }
                }
            }
            self.add_batch(writer, &mut batch, &mut ids, opts, on_skip, &mut report)?;
            Ok(report)
        })
    }

    /// Writes records in one commit as [`ClaimIndex::ingest`] does, each claim with vectors
    /// computed elsewhere instead of by the loaded model: its statement's then its review title's
    /// embedding ([`crate::vectors::PER_CLAIM`] × [`crate::vectors::DIM`] floats, from the same
    /// model, or the semantic scores mean nothing), or none. Evidence takes no vectors. For
    /// claims embedded on another machine, and for the benchmarks, which cannot embed a million
    /// claims here. It is strict: a bad record, or a vector of another length, fails the run and
    /// leaves the index as it was.
    pub fn ingest_embedded<I>(&self, items: I) -> Result<IngestReport>
    where
        I: IntoIterator<Item = (Record, Option<Vec<f32>>)>,
    {
        use crate::vectors::{DIM, PER_CLAIM};
        self.write(|writer| {
            let mut report = IngestReport::default();
            self.reader.reload()?;
            let mut ids = Replaced { committed: self.searcher(), seen: HashSet::new() };
            let strict = IngestOptions { strict: true };
            for (record, v) in items {
                let vector = match (&record, v) {
                    (Record::Claim(_), Some(v)) if v.len() == PER_CLAIM * DIM => {
                        Some(crate::vectors::encode(&v[..DIM], Some(&v[DIM..])))
                    }
                    (_, None) => None,
                    (_, Some(v)) => {
                        return Err(Error::InvalidRequest(format!(
                            "record {}: a claim's vectors are {} floats (evidence has none), got {}",
                            record.id(),
                            PER_CLAIM * DIM,
                            v.len()
                        )))
                    }
                };
                self.add_counted(writer, &record, vector.as_deref(), &mut ids, strict, &mut |_| {}, &mut report)?;
            }
            Ok(report)
        })
    }

    /// Adds a batch of records, embedding the claims' statements and titles in one pass when a
    /// model is loaded. Empties the batch.
    fn add_batch(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        batch: &mut Vec<Record>,
        ids: &mut Replaced,
        opts: IngestOptions,
        on_skip: &mut dyn FnMut(&Error),
        report: &mut IngestReport,
    ) -> Result<()> {
        let mut vectors: Vec<Option<Vec<u8>>> = vec![None; batch.len()];
        if let Some(embedder) = &self.embedder {
            let mut texts: Vec<&str> = Vec::new();
            let mut slots: Vec<(usize, usize, Option<usize>)> = Vec::new();
            for (i, r) in batch.iter().enumerate() {
                if let Record::Claim(c) = r {
                    if validate(r).is_err() {
                        continue;
                    }
                    let t = texts.len();
                    texts.push(&c.text);
                    let title = c.review.as_ref().and_then(|r| r.title.as_deref()).filter(|t| !t.trim().is_empty());
                    let ti = title.map(|title| {
                        texts.push(title);
                        texts.len() - 1
                    });
                    slots.push((i, t, ti));
                }
            }
            if !texts.is_empty() {
                let embedded = embedder.embed(&texts)?;
                for (i, t, ti) in slots {
                    vectors[i] = Some(crate::vectors::encode(&embedded[t], ti.map(|k| embedded[k].as_slice())));
                }
            }
        }
        for (record, vector) in batch.drain(..).zip(vectors) {
            self.add_counted(writer, &record, vector.as_deref(), ids, opts, on_skip, report)?;
        }
        Ok(())
    }

    /// Adds one record and counts it in `report`; a bad one is skipped and passed to `on_skip`
    /// unless `opts.strict`.
    #[allow(clippy::too_many_arguments)]
    fn add_counted(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        record: &Record,
        vector: Option<&[u8]>,
        ids: &mut Replaced,
        opts: IngestOptions,
        on_skip: &mut dyn FnMut(&Error),
        report: &mut IngestReport,
    ) -> Result<()> {
        match self.add(writer, record, vector, ids) {
            Ok(()) => match record.kind() {
                Kind::Claim => report.claims += 1,
                Kind::Evidence => report.evidence += 1,
            },
            Err(e) if !opts.strict && e.is_client_error() => {
                on_skip(&e);
                report.skipped += 1;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Merges the index's segments into one and removes the files they leave behind; returns how
    /// many segments there were. Matching searches every segment on its own, so a large index
    /// that rarely changes answers faster merged (see docs/benchmarks-speed.md).
    pub fn merge_segments(&self) -> Result<usize> {
        let mut guard = self.writer.lock().map_err(|_| poisoned())?;
        // Let the merges that tantivy runs on its own finish first: they take segments away.
        if let Some(w) = guard.take() {
            w.wait_merging_threads()?;
        }
        let mut writer = self.open_writer()?;
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            writer.merge(&ids).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(ids.len())
    }

    /// Writes records (replacing those with the same ids) and commits.
    pub fn upsert(&self, records: &[Record]) -> Result<IngestReport> {
        self.ingest(records.iter().cloned().map(Ok), IngestOptions { strict: true }, &mut |_| {})
    }

    fn add(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        record: &Record,
        vector: Option<&[u8]>,
        ids: &mut Replaced,
    ) -> Result<()> {
        validate(record)?;
        let doc = self.fields.to_document(record, vector)?;
        if ids.may_exist(self, record.id())? {
            writer.delete_term(self.fields.id_term(record.id()));
        }
        writer.add_document(doc)?;
        Ok(())
    }

    /// Deletes a record by id and commits. Returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        let existed = self.get(id).is_ok();
        if existed {
            self.write(|w| {
                w.delete_term(self.fields.id_term(id));
                Ok(())
            })?;
        }
        Ok(existed)
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Result<Record> {
        let searcher = self.searcher();
        let q = TermQuery::new(self.fields.id_term(id), IndexRecordOption::Basic);
        let top = searcher.search(&q, &TopDocs::with_limit(1))?;
        match top.first() {
            Some((_, addr)) => self.fields.from_document(&searcher.doc(*addr)?),
            None => Err(Error::NotFound(format!("no record with id {id:?}"))),
        }
    }

    /// The claim with this id.
    pub fn get_claim(&self, id: &str) -> Result<Claim> {
        match self.get(id)? {
            Record::Claim(c) => Ok(c),
            Record::Evidence(_) => Err(Error::NotFound(format!("{id:?} is evidence, not a claim"))),
        }
    }

    /// The evidence with this id.
    pub fn get_evidence(&self, id: &str) -> Result<Evidence> {
        match self.get(id)? {
            Record::Evidence(e) => Ok(e),
            Record::Claim(_) => Err(Error::NotFound(format!("{id:?} is a claim, not evidence"))),
        }
    }

    /// The evidence bearing on a claim, refuting first, then supporting, then context.
    pub fn evidence_for(&self, searcher: &Searcher, claim_id: &str) -> Result<Vec<(Stance, Evidence)>> {
        let q = TermQuery::new(Term::from_field_text(self.fields.claim_ref, claim_id), IndexRecordOption::Basic);
        let top = searcher.search(&q, &TopDocs::with_limit(MAX_EVIDENCE_PER_CLAIM))?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            if let Record::Evidence(e) = self.fields.from_document(&searcher.doc(addr)?)? {
                let stance =
                    e.claims.iter().find(|l| l.claim_id == claim_id).map(|l| l.stance).unwrap_or(Stance::Context);
                out.push((stance, e));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(out)
    }

    /// Number of claims and evidence records.
    pub fn num_records(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// The repeat-flag model: the one set with [`set_flag_model`](Self::set_flag_model), else
    /// the shipped one for hybrid matching (semantic model loaded and weighted) or lexical matching.
    pub fn flag_model(&self) -> Arc<FlagModel> {
        let set = self.flag_model.lock().ok().and_then(|g| g.clone());
        set.unwrap_or_else(|| {
            if self.semantic_in_use() {
                self.shipped.flag.clone()
            } else {
                self.shipped.flag_lexical.clone()
            }
        })
    }

    /// Whether matching uses the embeddings: a semantic model is loaded and its weight is not 0.
    pub fn semantic_in_use(&self) -> bool {
        self.embedder.is_some() && self.match_config().semantic_weight > 0.0
    }

    /// Replaces the repeat-flag model (thresholds included).
    pub fn set_flag_model(&self, m: FlagModel) {
        if let Ok(mut g) = self.flag_model.lock() {
            *g = Some(Arc::new(m));
        }
    }

    /// The match model that scores and re-ranks each hit: the one set, else the shipped one for
    /// the matcher in use (hybrid or lexical) and the kind of statement: a transcript's sentence
    /// (with a speaker or a previous sentence; trained on debates) or standalone text (a post, a
    /// quote; trained on tweets).
    pub fn match_model(&self, transcript: bool) -> Arc<FlagModel> {
        let set = self.match_model.lock().ok().and_then(|g| g.clone());
        set.unwrap_or_else(|| {
            let m = &self.shipped;
            match (self.semantic_in_use(), transcript) {
                (true, false) => m.matching.clone(),
                (false, false) => m.matching_lexical.clone(),
                (true, true) => m.matching_transcript.clone(),
                (false, true) => m.matching_transcript_lexical.clone(),
            }
        })
    }

    /// The query adapter for a kind of statement (as for [`match_model`](Self::match_model)):
    /// the one set, else the shipped one; transcript sentences have none unless one is set.
    pub fn query_adapter(&self, transcript: bool) -> Option<Arc<QueryAdapter>> {
        let set = self.adapters.lock().ok().and_then(|g| g.clone());
        match (set, transcript) {
            (Some((a, _)), false) => Some(a),
            (Some((_, t)), true) => t,
            (None, false) => Some(self.shipped.adapter.clone()),
            (None, true) => None,
        }
    }

    /// Replaces the query adapters: for statements on their own, and for transcript sentences
    /// (`None`: their embeddings are used as the model makes them).
    pub fn set_query_adapters(&self, statement: QueryAdapter, transcript: Option<QueryAdapter>) {
        if let Ok(mut g) = self.adapters.lock() {
            *g = Some((Arc::new(statement), transcript.map(Arc::new)));
        }
    }

    /// Replaces the match-confidence model.
    pub fn set_match_model(&self, m: FlagModel) {
        if let Ok(mut g) = self.match_model.lock() {
            *g = Some(Arc::new(m));
        }
    }

    /// How `match` scores candidates.
    pub fn match_config(&self) -> crate::matcher::MatchConfig {
        self.match_config.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Changes how `match` scores candidates.
    pub fn set_match_config(&self, c: crate::matcher::MatchConfig) {
        if let Ok(mut g) = self.match_config.lock() {
            *g = c;
        }
    }

    /// Counts by kind, verdict and publisher, and the size on disk.
    pub fn stats(&self) -> Result<Stats> {
        let searcher = self.searcher();
        let count = |q: &dyn Query| -> Result<u64> { Ok(searcher.search(q, &Count)? as u64) };
        let term_q = |t: Term| TermQuery::new(t, IndexRecordOption::Basic);
        let claims = count(&term_q(self.fields.kind_term(Kind::Claim)))?;
        let evidence = count(&term_q(self.fields.kind_term(Kind::Evidence)))?;
        let mut by_verdict = BTreeMap::new();
        for r in Rating::ALL {
            let n = count(&term_q(Term::from_field_text(self.fields.verdict, r.as_str())))?;
            if n > 0 {
                by_verdict.insert(r.as_str().to_string(), n);
            }
        }
        let mut publishers = std::collections::BTreeSet::new();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(self.fields.publisher)?;
            let mut stream = inv.terms().stream().map_err(|e| Error::Tantivy(e.into()))?;
            while stream.advance() {
                publishers.insert(String::from_utf8_lossy(stream.key()).into_owned());
            }
        }
        let mut by_publisher = BTreeMap::new();
        for p in publishers {
            let q = BooleanQuery::new(vec![
                (Occur::Must, Box::new(term_q(Term::from_field_text(self.fields.publisher, &p))) as Box<dyn Query>),
                (Occur::Must, Box::new(term_q(self.fields.kind_term(Kind::Claim)))),
            ]);
            let n = count(&q)?;
            if n > 0 {
                by_publisher.insert(p, n);
            }
        }
        let index_bytes = match &self.dir {
            Some(d) => dir_size(d),
            None => 0,
        };
        let segments = self.searcher().segment_readers().len();
        Ok(Stats { claims, evidence, by_verdict, by_publisher, index_bytes, segments })
    }
}

fn poisoned() -> Error {
    Error::InvalidRequest("the index writer is unavailable after an earlier failure".into())
}

fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Longest id accepted.
pub const MAX_ID_BYTES: usize = 512;
/// Longest claim or evidence text accepted.
pub const MAX_TEXT_BYTES: usize = 100_000;

/// Checks a record before it is written.
pub fn validate(record: &Record) -> Result<()> {
    let bad =
        |field: &str, msg: String| Error::InvalidRequest(format!("record {:?}: field `{field}`: {msg}", record.id()));
    let id = record.id();
    if id.trim().is_empty() {
        return Err(bad("id", "must not be empty".into()));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(bad("id", format!("longer than {MAX_ID_BYTES} bytes")));
    }
    let text = match record {
        Record::Claim(c) => &c.text,
        Record::Evidence(e) => &e.text,
    };
    if text.trim().is_empty() {
        return Err(bad("text", "must not be empty".into()));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(bad("text", format!("longer than {MAX_TEXT_BYTES} bytes")));
    }
    Ok(())
}

/// Which records an ingest replaces. A record replaces any record with its id, but tantivy keeps
/// every pending delete (a query weight each) in memory until the commit and applies each one to
/// every segment, which made a million-claim ingest hold gigabytes. So a delete is issued only
/// for an id that the committed index holds or that this ingest has already written.
struct Replaced {
    committed: Searcher,
    /// `schema::id_key` of every id written by this ingest (a collision only costs a delete).
    seen: HashSet<u64>,
}

impl Replaced {
    fn may_exist(&mut self, index: &ClaimIndex, id: &str) -> Result<bool> {
        let key = crate::schema::id_key(id);
        Ok(!self.seen.insert(key) || index.addr_of_key(&self.committed, key)?.is_some())
    }
}

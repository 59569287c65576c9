//! `claimdex eval`: ranking quality (MAP@k, MRR, recall) on CheckThat!-style queries and qrels, through the same match path as the CLI and HTTP.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::index::ClaimIndex;
use crate::matcher::{MatchConfig, MatchRequest, MatchResult};
use crate::{Error, PartialDate, Result};

/// A query to evaluate.
#[derive(Debug, Clone)]
pub struct Query {
    /// Its id (as in the qrels).
    pub id: String,
    /// The statement.
    pub text: String,
}

/// Relevant claim ids per query id.
pub type Qrels = HashMap<String, HashSet<String>>;

/// Reads a queries file: `id <TAB> text`. A header line is skipped. Files whose header names
/// `tweet_content` (CheckThat! 2020) are CSV-quoted; others are split at the first tab.
pub fn read_queries(path: &Path) -> Result<Vec<Query>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let first = text.lines().next().unwrap_or("");
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    if first.contains("tweet_content") {
        let mut rdr =
            csv::ReaderBuilder::new().delimiter(b'\t').has_headers(true).flexible(true).from_reader(text.as_bytes());
        for row in rdr.records() {
            let row =
                row.map_err(|e| Error::ingest(path, e.position().map(|p| p.line()).unwrap_or(0), "-", e.to_string()))?;
            let (Some(id), Some(t)) = (row.get(0), row.get(1)) else {
                continue;
            };
            if seen.insert(id.trim().to_string()) {
                out.push(Query { id: id.trim().to_string(), text: t.to_string() });
            }
        }
    } else {
        for (n, line) in text.lines().enumerate() {
            let Some((id, t)) = line.split_once('\t') else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(Error::ingest(path, n as u64 + 1, "-", "expected `id<TAB>text`"));
            };
            let id = id.trim();
            if id.is_empty() || id == "query_id" || id == "tweet_id" {
                continue;
            }
            if seen.insert(id.to_string()) {
                out.push(Query { id: id.to_string(), text: t.to_string() });
            }
        }
    }
    Ok(out)
}

/// Reads TREC qrels: `query_id 0 claim_id relevance`, tab- or space-separated; relevance > 0 counts.
pub fn read_qrels(path: &Path) -> Result<Qrels> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out: Qrels = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() {
            continue;
        }
        if cols.len() < 4 {
            return Err(Error::ingest(path, n as u64 + 1, "-", "expected `query_id 0 claim_id relevance`"));
        }
        let rel: i32 = cols[3]
            .parse()
            .map_err(|_| Error::ingest(path, n as u64 + 1, "relevance", format!("{:?} is not a number", cols[3])))?;
        if rel > 0 {
            out.entry(cols[0].to_string()).or_default().insert(cols[2].to_string());
        }
    }
    Ok(out)
}

/// A debate transcript line: who spoke and what was said.
#[derive(Debug, Clone)]
pub struct Line {
    /// Line number as written.
    pub number: String,
    /// Speaker as written.
    pub speaker: String,
    /// The sentence.
    pub text: String,
}

/// A transcript: `line <TAB> speaker <TAB> sentence` per line; its date comes from a `YYYYMMDD_` name prefix.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// File stem ("20170822_Trump_phoenix").
    pub name: String,
    /// The debate's date, from the name.
    pub date: Option<PartialDate>,
    /// The lines in order.
    pub lines: Vec<Line>,
}

/// Reads one transcript file.
pub fn read_transcript(path: &Path) -> Result<Transcript> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
    let date = transcript_date(&name);
    let mut lines = Vec::new();
    for (n, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let mut cols = l.splitn(3, '\t');
        let (Some(num), Some(speaker), Some(sentence)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(Error::ingest(path, n as u64 + 1, "-", "expected `line<TAB>speaker<TAB>sentence`"));
        };
        lines.push(Line {
            number: num.trim().to_string(),
            speaker: speaker.trim().to_string(),
            text: sentence.trim().to_string(),
        });
    }
    Ok(Transcript { name, date, lines })
}

/// "20170822_Trump_phoenix" → 2017-08-22.
pub fn transcript_date(name: &str) -> Option<PartialDate> {
    let d = name.get(0..8)?;
    if !d.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    PartialDate::ymd(d[0..4].parse().ok()?, d[4..6].parse().ok()?, d[6..8].parse().ok()?).ok()
}

/// Reads every `.tsv` transcript in a directory, by name.
pub fn read_transcripts(dir: &Path) -> Result<BTreeMap<String, Transcript>> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().is_some_and(|x| x == "tsv") {
            let t = read_transcript(&p)?;
            out.insert(t.name.clone(), t);
        }
    }
    Ok(out)
}

/// Finds a transcript by the name a query id uses: exactly, ignoring case, or (25 CheckThat!
/// ids misspell their transcript) by the date prefix when one transcript has that date.
pub fn resolve_transcript<'a>(name: &str, transcripts: &'a BTreeMap<String, Transcript>) -> Option<&'a Transcript> {
    if let Some(t) = transcripts.get(name) {
        return Some(t);
    }
    if let Some(t) = transcripts.values().find(|t| t.name.eq_ignore_ascii_case(name)) {
        return Some(t);
    }
    let prefix = name.get(0..8)?;
    let same_day: Vec<&Transcript> = transcripts.values().filter(|t| t.name.starts_with(prefix)).collect();
    match same_day.len() {
        0 => None,
        1 => Some(same_day[0]),
        // Several debates that day: the one whose name shares the longest prefix.
        _ => same_day.into_iter().max_by_key(|t| {
            t.name.to_lowercase().chars().zip(name.to_lowercase().chars()).take_while(|(a, b)| a == b).count()
        }),
    }
}

fn line_key(n: &str) -> String {
    let k = n.trim().trim_start_matches('0');
    if k.is_empty() {
        "0".into()
    } else {
        k.to_string()
    }
}

/// The match request for line `i` of a transcript: its speaker, the debate's date and the previous sentence.
pub fn request_for_line(t: &Transcript, i: usize, limit: usize) -> MatchRequest {
    let line = &t.lines[i];
    let mut req = MatchRequest::new(line.text.clone());
    req.limit = Some(limit);
    req.no_evidence = true;
    req.date = t.date;
    req.speaker = Some(line.speaker.clone()).filter(|s| !s.is_empty());
    req.context = i.checked_sub(1).map(|p| t.lines[p].text.clone());
    req
}

/// Builds the match request for a query, with the transcript's speaker, date and previous
/// sentence when the query id names a transcript line (`<transcript>_<line>`).
pub fn request_for(q: &Query, transcripts: &BTreeMap<String, Transcript>, limit: usize) -> MatchRequest {
    if let Some((name, line)) = q.id.rsplit_once('_') {
        if let Some(t) = resolve_transcript(name, transcripts) {
            if let Some(i) = t.lines.iter().position(|l| line_key(&l.number) == line_key(line)) {
                let mut req = request_for_line(t, i, limit);
                req.text = q.text.clone();
                return req;
            }
        }
    }
    let mut req = MatchRequest::new(q.text.clone());
    req.limit = Some(limit);
    req.no_evidence = true;
    req
}

/// The result of replaying debates sentence by sentence through the flag.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Debates replayed.
    pub debates: usize,
    /// Sentences screened.
    pub sentences: usize,
    /// Sentences that repeat a checked claim (have a qrel).
    pub repeats: usize,
    /// Average precision of ranking every sentence by its flag score.
    pub ap: f64,
    /// The `flagged` tier at the model's threshold.
    pub flagged: crate::flag::Prf,
    /// The `suggested` tier at the model's threshold.
    pub suggested: crate::flag::Prf,
    /// Flagged sentences whose best hit is a claim the sentence really repeats.
    pub flagged_with_right_claim: usize,
    /// Flags per hour of debate, at 150 sentences a minute.
    pub flags_per_hour: f64,
    /// Suggestions per hour of debate, at 150 sentences a minute.
    pub suggestions_per_hour: f64,
    /// Seconds spent matching.
    pub seconds: f64,
}

/// Replays every debate that has a sentence in the qrels, line by line, through `match_batch`
/// (the path of `/api/match/batch` and `claimdex flag`). Returns the report and, per sentence,
/// the best hit's flag features and whether the sentence is a repeat; `dump` receives the same
/// as TSV (see [`read_dump`]).
///
/// With `adapter_folds` > 1 (and the semantic model), the debates are replayed as the flag
/// model would have to be trained on them if a transcript adapter learned from their repeats:
/// split into folds of whole debates, each replayed with a transcript adapter trained on the
/// repeats (qrels) of the other folds. The index keeps the last fold's adapter.
pub fn replay_debates(
    index: &ClaimIndex,
    transcripts: &BTreeMap<String, Transcript>,
    qrels: &Qrels,
    adapter_folds: usize,
    dump: Option<&mut dyn Write>,
) -> Result<(ReplayReport, Samples)> {
    let mut dump = dump;
    if let Some(w) = dump.as_deref_mut() {
        write_dump_header(w)?;
    }
    let mut labels: HashMap<String, HashMap<String, &HashSet<String>>> = HashMap::new();
    for (qid, gold) in qrels {
        let Some((name, line)) = qid.rsplit_once('_') else {
            continue;
        };
        if let Some(t) = resolve_transcript(name, transcripts) {
            labels.entry(t.name.clone()).or_default().insert(line_key(line), gold);
        }
    }
    let model = index.flag_model();
    let adapters = fold_adapters(index, transcripts, qrels, adapter_folds)?;
    let mut scored = Vec::new();
    let mut samples = Vec::new();
    let mut right = 0usize;
    let mut seconds = 0.0;
    for (name, gold_lines) in &labels {
        let t = &transcripts[name];
        if let Some(a) = adapters.get(crate::adapter::fold_of(name, adapter_folds)) {
            let statement =
                index.query_adapter(false).map_or_else(crate::adapter::QueryAdapter::identity, |s| s.as_ref().clone());
            index.set_query_adapters(statement, Some(a.clone()));
        }
        let reqs: Vec<MatchRequest> = (0..t.lines.len()).map(|i| request_for_line(t, i, 5)).collect();
        let start = std::time::Instant::now();
        let results = index.match_batch(&reqs);
        seconds += start.elapsed().as_secs_f64();
        for (line, res) in t.lines.iter().zip(results) {
            let gold = gold_lines.get(&line_key(&line.number));
            let label = gold.is_some();
            let (score, features, top) = match res {
                Ok(r) => (r.score, r.features.clone(), r.hits.first().map(|h| (h.claim.id.clone(), h.twins.clone()))),
                // Statements the matcher refuses (empty lines) are never flagged.
                Err(_) => (0.0, vec![0.0; crate::flag::FEATURES.len()], None),
            };
            if score >= model.flagged {
                if let (Some(g), Some((id, twins))) = (gold, &top) {
                    if g.contains(id) || twins.iter().any(|t| g.contains(t)) {
                        right += 1;
                    }
                }
            }
            scored.push((score, label));
            if features.len() == crate::flag::FEATURES.len() {
                if let Some(w) = dump.as_deref_mut() {
                    write_dump_row(w, &format!("{}_{}", t.name, line.number), 1, label, &features)?;
                }
                samples.push((features, label));
            }
        }
    }
    let hours = scored.len() as f64 / (150.0 * 60.0);
    let flagged = crate::flag::prf(&scored, model.flagged);
    let suggested = crate::flag::prf(&scored, model.suggested);
    let report = ReplayReport {
        debates: labels.len(),
        sentences: scored.len(),
        repeats: scored.iter().filter(|s| s.1).count(),
        ap: crate::flag::average_precision(&scored),
        flagged,
        suggested,
        flagged_with_right_claim: right,
        flags_per_hour: flagged.predicted as f64 / hours.max(1e-9),
        suggestions_per_hour: suggested.predicted as f64 / hours.max(1e-9),
        seconds,
    };
    Ok((report, samples))
}

/// Transcript adapters for the folds of [`replay_debates`], trained on the sentences of the
/// transcripts that the qrels judge; none unless `folds` > 1 and the semantic model is in use.
fn fold_adapters(
    index: &ClaimIndex,
    transcripts: &BTreeMap<String, Transcript>,
    qrels: &Qrels,
    folds: usize,
) -> Result<Vec<crate::adapter::QueryAdapter>> {
    use crate::adapter::{fold_of, training_set, QueryAdapter, TrainOptions};
    if folds < 2 || !index.semantic_in_use() {
        return Ok(Vec::new());
    }
    let mut queries = Vec::new();
    for qid in qrels.keys() {
        let Some((name, line)) = qid.rsplit_once('_') else { continue };
        let Some(t) = resolve_transcript(name, transcripts) else { continue };
        if let Some(l) = t.lines.iter().find(|l| line_key(&l.number) == line_key(line)) {
            queries.push(Query { id: qid.clone(), text: l.text.clone() });
        }
    }
    queries.sort_by(|a, b| a.id.cmp(&b.id));
    let (set, ids) = training_set(index, &queries, qrels, transcripts)?;
    (0..folds)
        .map(|k| {
            let train = set.select(|i| fold_of(&fold_group(&ids[i], transcripts), folds) != k);
            if train.is_empty() {
                return Ok(QueryAdapter::identity());
            }
            QueryAdapter::train(&[train], TrainOptions::default(), &format!("repeats of the debates outside fold {k}"))
        })
        .collect()
}

/// Training samples: a hit's (or statement's) flag features and whether it is right.
pub type Samples = Vec<(Vec<f32>, bool)>;

/// The first columns of a feature dump; the feature names follow.
const DUMP_HEADER: &str = "query\trank\tright";

/// An error writing `eval`'s outputs (the run file or the feature dump).
fn dump_error(e: std::io::Error) -> Error {
    Error::io(PathBuf::from("eval output"), e)
}

fn write_dump_header(w: &mut dyn Write) -> Result<()> {
    writeln!(w, "{DUMP_HEADER}\t{}", crate::flag::FEATURES.join("\t")).map_err(dump_error)
}

fn write_dump_row(w: &mut dyn Write, query: &str, rank: usize, right: bool, features: &[f32]) -> Result<()> {
    let x: Vec<String> = features.iter().map(|v| format!("{v:.5}")).collect();
    writeln!(w, "{query}\t{rank}\t{}\t{}", right as u8, x.join("\t")).map_err(dump_error)
}

/// Reads the samples of a feature dump written by `evaluate` or `replay_debates`
/// (`claimdex eval --dump`): features are matched to [`crate::flag::FEATURES`] by name, and
/// any that the dump lacks are 0.
pub fn read_dump(path: &Path) -> Result<Samples> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.to_path_buf(), e))?;
    let bad = |line: usize, field: &str, message: String| Error::Ingest {
        path: path.to_path_buf(),
        line: line as u64,
        field: field.to_string(),
        message,
    };
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) if h.starts_with(DUMP_HEADER) => h.split('\t').skip(3).collect(),
        _ => return Err(bad(1, "header", format!("expected a header starting with {DUMP_HEADER:?}"))),
    };
    let slots: Vec<Option<usize>> =
        header.iter().map(|name| crate::flag::FEATURES.iter().position(|f| f == name)).collect();
    let mut samples = Vec::new();
    for (n, line) in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != header.len() + 3 {
            return Err(bad(n + 1, "columns", format!("expected {} columns, found {}", header.len() + 3, cols.len())));
        }
        let right = match cols[2] {
            "0" => false,
            "1" => true,
            other => return Err(bad(n + 1, "right", format!("expected 0 or 1, found {other:?}"))),
        };
        let mut x = vec![0.0f32; crate::flag::FEATURES.len()];
        for (k, v) in cols[3..].iter().enumerate() {
            let v: f32 = v.parse().map_err(|_| bad(n + 1, header[k], format!("not a number: {v:?}")))?;
            if let Some(slot) = slots[k] {
                x[slot] = v;
            }
        }
        samples.push((x, right));
    }
    Ok(samples)
}

/// Ranking metrics over a set of queries.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Queries evaluated.
    pub queries: usize,
    /// MAP@1.
    pub map1: f64,
    /// MAP@3.
    pub map3: f64,
    /// MAP@5, the CheckThat! metric.
    pub map5: f64,
    /// MRR@10.
    pub mrr10: f64,
    /// Recall@10.
    pub recall10: f64,
    /// Recall@100.
    pub recall100: f64,
}

/// Average precision of a ranking in its top k, divided by min(relevant, k).
pub fn average_precision(ranked: &[bool], relevant: usize, k: usize) -> f64 {
    if relevant == 0 {
        return 0.0;
    }
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, rel) in ranked.iter().take(k).enumerate() {
        if *rel {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    sum / relevant.min(k) as f64
}

/// Computes metrics from per-query relevance flags of the ranked groups.
pub fn metrics(per_query: &[(Vec<bool>, usize)]) -> Metrics {
    let n = per_query.len().max(1) as f64;
    let mut m = Metrics { queries: per_query.len(), ..Default::default() };
    for (ranked, relevant) in per_query {
        m.map1 += average_precision(ranked, *relevant, 1);
        m.map3 += average_precision(ranked, *relevant, 3);
        m.map5 += average_precision(ranked, *relevant, 5);
        if let Some(p) = ranked.iter().take(10).position(|r| *r) {
            m.mrr10 += 1.0 / (p + 1) as f64;
        }
        let found = |k: usize| ranked.iter().take(k).filter(|r| **r).count() as f64 / (*relevant).max(1) as f64;
        m.recall10 += found(10);
        m.recall100 += found(100);
    }
    for v in [&mut m.map1, &mut m.map3, &mut m.map5, &mut m.mrr10, &mut m.recall10, &mut m.recall100] {
        *v /= n;
    }
    m
}

/// The result of an evaluation run.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Metrics counting only the listed id as relevant.
    pub as_is: Metrics,
    /// Metrics where a hit on an identical-text twin of a relevant claim counts.
    pub twins_merged: Metrics,
    /// Queries in the qrels that had no text in the queries file.
    pub missing_queries: usize,
    /// Seconds spent matching.
    pub seconds: f64,
}

/// Runs every query that has qrels through `match_batch` and scores the rankings.
/// `run` receives TREC run lines (`qid Q0 claim rank score claimdex`); `dump` receives the
/// match features of each query's hits that the re-ranker sees (`qid rank right f1 f2 …`, a
/// header line first). The samples are the same hits' features and whether each is right.
pub fn evaluate(
    index: &ClaimIndex,
    queries: &[Query],
    qrels: &Qrels,
    transcripts: &BTreeMap<String, Transcript>,
    run: Option<&mut dyn Write>,
    dump: Option<&mut dyn Write>,
) -> Result<(EvalReport, Samples)> {
    let judged: Vec<&Query> = queries.iter().filter(|q| qrels.contains_key(&q.id)).collect();
    let found: HashSet<&str> = judged.iter().map(|q| q.id.as_str()).collect();
    let missing_queries = qrels.keys().filter(|k| !found.contains(k.as_str())).count();
    let reqs: Vec<MatchRequest> = judged.iter().map(|q| request_for(q, transcripts, 100)).collect();
    let start = std::time::Instant::now();
    let results = index.match_batch(&reqs);
    let seconds = start.elapsed().as_secs_f64();
    let mut as_is = Vec::new();
    let mut merged = Vec::new();
    let mut run = run;
    let mut dump = dump;
    if let Some(w) = dump.as_deref_mut() {
        write_dump_header(w)?;
    }
    let depth = index.match_config().rerank_depth.max(MatchConfig::default().rerank_depth).max(5);
    let mut samples = Vec::new();
    for (q, res) in judged.iter().zip(results) {
        let res: MatchResult = res?;
        let gold = &qrels[&q.id];
        for (i, h) in res.hits.iter().take(depth).enumerate() {
            let right = gold.contains(&h.claim.id) || h.twins.iter().any(|t| gold.contains(t));
            samples.push((h.features.clone(), right));
            if let Some(w) = dump.as_deref_mut() {
                write_dump_row(w, &q.id, i + 1, right, &h.features)?;
            }
        }
        as_is.push((res.hits.iter().map(|h| gold.contains(&h.claim.id)).collect(), gold.len()));
        merged.push((
            res.hits.iter().map(|h| gold.contains(&h.claim.id) || h.twins.iter().any(|t| gold.contains(t))).collect(),
            gold.len(),
        ));
        if let Some(w) = run.as_deref_mut() {
            for (i, h) in res.hits.iter().enumerate() {
                writeln!(w, "{}\tQ0\t{}\t{}\t{:.6}\tclaimdex", q.id, h.claim.id, i + 1, h.score).map_err(dump_error)?;
            }
        }
    }
    Ok((EvalReport { as_is: metrics(&as_is), twins_merged: metrics(&merged), missing_queries, seconds }, samples))
}

/// [`evaluate`] with query adapters trained out of fold: the judged queries are split into
/// `folds` (whole transcripts together), and each fold is matched with an adapter trained on
/// the other folds' queries (set as both the statement and the transcript adapter). The report
/// and samples are what the matcher would give queries its adapter never saw: the honest
/// measure of the adapter, and unbiased features for training the match model on the same
/// queries. The index's adapters are left as the last fold's.
pub fn evaluate_out_of_fold(
    index: &ClaimIndex,
    queries: &[Query],
    qrels: &Qrels,
    transcripts: &BTreeMap<String, Transcript>,
    folds: usize,
    options: crate::adapter::TrainOptions,
) -> Result<(EvalReport, Samples)> {
    use crate::adapter::{fold_of, QueryAdapter};
    let (set, ids) = crate::adapter::training_set(index, queries, qrels, transcripts)?;
    let fold: Vec<usize> = ids.iter().map(|id| fold_of(&fold_group(id, transcripts), folds)).collect();
    let mut samples = Vec::new();
    let mut parts: Vec<(EvalReport, usize)> = Vec::new();
    for k in 0..folds {
        let test: Vec<Query> =
            queries.iter().filter(|q| fold_of(&fold_group(&q.id, transcripts), folds) == k).cloned().collect();
        let train = set.select(|i| fold[i] != k);
        let adapter = if train.is_empty() {
            QueryAdapter::identity()
        } else {
            QueryAdapter::train(&[train], options, &format!("folds other than {k}"))?
        };
        index.set_query_adapters(adapter.clone(), Some(adapter));
        let (report, s) = evaluate(index, &test, qrels, transcripts, None, None)?;
        samples.extend(s);
        let n = report.as_is.queries;
        parts.push((report, n));
    }
    Ok((combine(&parts), samples))
}

/// The group a query is kept with in cross-validation: its transcript when its id names a line
/// of one (sentences of one debate resemble each other), else the query alone.
fn fold_group(query_id: &str, transcripts: &BTreeMap<String, Transcript>) -> String {
    query_id
        .rsplit_once('_')
        .and_then(|(name, _)| resolve_transcript(name, transcripts))
        .map_or_else(|| query_id.to_string(), |t| t.name.clone())
}

/// Reports of disjoint query sets as one: every metric is a mean over queries.
fn combine(parts: &[(EvalReport, usize)]) -> EvalReport {
    let total: usize = parts.iter().map(|p| p.1).sum::<usize>().max(1);
    let mean = |f: &dyn Fn(&EvalReport) -> &Metrics| {
        let w = |g: fn(&Metrics) -> f64| parts.iter().map(|(r, n)| g(f(r)) * *n as f64).sum::<f64>() / total as f64;
        Metrics {
            queries: parts.iter().map(|(r, _)| f(r).queries).sum(),
            map1: w(|m| m.map1),
            map3: w(|m| m.map3),
            map5: w(|m| m.map5),
            mrr10: w(|m| m.mrr10),
            recall10: w(|m| m.recall10),
            recall100: w(|m| m.recall100),
        }
    };
    EvalReport {
        as_is: mean(&|r| &r.as_is),
        twins_merged: mean(&|r| &r.twins_merged),
        missing_queries: parts.first().map_or(0, |p| p.0.missing_queries),
        seconds: parts.iter().map(|p| p.0.seconds).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_by_hand() {
        // Relevant at ranks 1 and 3 of two relevant: (1/1 + 2/3) / 2.
        let ap = average_precision(&[true, false, true, false, false], 2, 5);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // One relevant at rank 2: 1/2. MAP@1 of it: 0.
        assert_eq!(average_precision(&[false, true], 1, 5), 0.5);
        assert_eq!(average_precision(&[false, true], 1, 1), 0.0);
        // Relevant beyond k do not count; divisor is min(relevant, k).
        assert_eq!(average_precision(&[false, false, false, false, false, true], 1, 5), 0.0);
        let ap = average_precision(&[true, true, true, true, true], 7, 5);
        assert_eq!(ap, 1.0);
    }

    #[test]
    fn metrics_by_hand() {
        let m = metrics(&[(vec![true], 1), (vec![false, false, true], 1), (vec![false; 20], 1)]);
        assert_eq!(m.queries, 3);
        assert!((m.map1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.map5 - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((m.mrr10 - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((m.recall10 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn transcript_names_give_dates() {
        assert_eq!(transcript_date("20170822_Trump_phoenix").unwrap().to_string(), "2017-08-22");
        assert!(transcript_date("notes").is_none());
    }
}

//! The command line: clap definitions and one `run_*` function per subcommand, each a thin shim over the library.

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::ingest;
use crate::model::{Kind, Rating, Record};
use crate::{ClaimIndex, Filters, IngestOptions, MatchRequest, MatchResult, PartialDate, SearchRequest};

/// claimdex: find the prior fact-checks a statement repeats, with verdicts and evidence.
#[derive(Debug, Parser)]
#[command(name = "claimdex", version, about, long_about = None)]
pub struct Cli {
    /// Index directory.
    #[arg(long, global = true, env = "CLAIMDEX_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// Corpus indexed into a missing index on first use.
    #[arg(long, global = true, env = "CLAIMDEX_CORPUS", default_value = "corpus")]
    pub corpus: PathBuf,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or update the index from files and directories.
    Index(IndexArgs),
    /// Full-text search of claims and evidence (tantivy query syntax).
    Search(SearchArgs),
    /// Find the prior claims a statement repeats.
    Match(MatchArgs),
    /// Measure ranking quality on queries with relevance judgements (CheckThat! format), or replay debates through the flag.
    Eval(EvalArgs),
    /// Train the repeat-flag model on debates with relevance judgements.
    TrainFlag(TrainFlagArgs),
    /// Train the match-confidence model (each hit's score) on queries with relevance judgements.
    TrainMatch(TrainMatchArgs),
    /// Train a query adapter (a linear map of statement embeddings) on queries with relevance judgements.
    TrainAdapter(TrainAdapterArgs),
    /// Screen a transcript (or stdin) and print the sentences that repeat checked claims.
    Flag(FlagArgs),
    /// Serve the HTTP API and the search page.
    Serve(ServeArgs),
}

/// `claimdex train-flag`.
#[derive(Debug, Args)]
pub struct TrainFlagArgs {
    /// Claims to index into a temporary in-memory index; without it, the `--index` is used.
    #[arg(long)]
    pub claims: Vec<PathBuf>,
    /// Debate transcripts (`line <TAB> speaker <TAB> sentence`).
    #[arg(long, required_unless_present = "samples")]
    pub debates: Option<PathBuf>,
    /// Relevance judgements of the training debates.
    #[arg(long, required_unless_present = "samples")]
    pub qrels: Vec<PathBuf>,
    /// Train on the samples of a replay written by `claimdex eval --debates … --dump FILE`
    /// instead of replaying the debates again.
    #[arg(long, conflicts_with_all = ["debates", "qrels", "claims"])]
    pub samples: Option<PathBuf>,
    /// Also score the trained model on the replay samples of other debates (a dump of
    /// `claimdex eval --debates … --dump FILE`, e.g. the dev debates): AP and both tiers.
    #[arg(long, value_name = "FILE")]
    pub eval_samples: Option<PathBuf>,
    /// Where to write the model (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Leave these features out of the model, for ablations: comma-separated names.
    #[arg(long, value_delimiter = ',')]
    pub without: Vec<String>,
}

/// `claimdex train-match`.
#[derive(Debug, Args)]
pub struct TrainMatchArgs {
    /// A training set as `INDEX,QUERIES,QRELS[,TRANSCRIPTS]`; repeat for several.
    #[arg(long = "data", required = true, value_name = "INDEX,QUERIES,QRELS[,TRANSCRIPTS]")]
    pub data: Vec<String>,
    /// Where to write the model (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Leave these features out of the model, for ablations: comma-separated names.
    #[arg(long, value_delimiter = ',')]
    pub without: Vec<String>,
    /// With the semantic model, learn from hits found with query adapters trained out of fold
    /// on each training set's own queries (this many folds), as the shipped adapter was trained
    /// on them; 0 = use the shipped adapter as it is. Sets of a kind of statement without an
    /// adapter (transcripts) are matched as they are.
    #[arg(long, default_value_t = 5)]
    pub adapter_folds: usize,
}

/// `claimdex train-adapter`.
#[derive(Debug, Args)]
pub struct TrainAdapterArgs {
    /// A training set as `INDEX,QUERIES,QRELS[,TRANSCRIPTS]` (an index built with the model); repeat for several.
    #[arg(long = "data", required = true, value_name = "INDEX,QUERIES,QRELS[,TRANSCRIPTS]")]
    pub data: Vec<String>,
    /// Where to write the adapter (e.g. src/query_adapter.bin, the shipped one for standalone statements).
    #[arg(long)]
    pub out: PathBuf,
    /// First measure the adapter by cross-validation with this many folds: each fold matched
    /// (the whole `match` path) with an adapter trained on the others, beside the identity; 0 = skip.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Weight of the squared distance of the map from the identity.
    #[arg(long, default_value_t = crate::adapter::TrainOptions::default().l2)]
    pub l2: f32,
    /// Full-batch Adam steps.
    #[arg(long, default_value_t = crate::adapter::TrainOptions::default().steps)]
    pub steps: usize,
    /// Softmax temperature.
    #[arg(long, default_value_t = crate::adapter::TrainOptions::default().temperature)]
    pub temperature: f32,
    /// Adam's learning rate.
    #[arg(long, default_value_t = crate::adapter::TrainOptions::default().learning_rate)]
    pub learning_rate: f64,
}

/// `claimdex flag`.
#[derive(Debug, Args)]
pub struct FlagArgs {
    /// A transcript (`line <TAB> speaker <TAB> sentence`, or one sentence per line), or `-` for stdin.
    pub input: String,
    /// Date of the debate (default: from a `YYYYMMDD_` file name prefix).
    #[arg(long)]
    pub date: Option<String>,
    /// Also print `suggested` sentences.
    #[arg(long)]
    pub suggested: bool,
    /// One JSON object per printed sentence.
    #[arg(long)]
    pub json: bool,
    /// See [`ScreeningArgs`].
    #[command(flatten)]
    pub screening: ScreeningArgs,
}

/// `claimdex eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Claims to index into a temporary in-memory index; without it, the `--index` is used.
    #[arg(long)]
    pub claims: Vec<PathBuf>,
    /// Queries: `id <TAB> text` (CheckThat! 2020 tweets or 2021 debate sentences).
    #[arg(long, required_unless_present = "debates")]
    pub queries: Option<PathBuf>,
    /// Replay whole debate transcripts in this directory through the flag (those with a sentence in the qrels).
    #[arg(long, conflicts_with = "queries")]
    pub debates: Option<PathBuf>,
    /// A flag model to use instead of the shipped one.
    #[arg(long)]
    pub flag_model: Option<PathBuf>,
    /// A match (re-ranking) model to use instead of the shipped one.
    #[arg(long)]
    pub match_model: Option<PathBuf>,
    /// Write the re-ranker's features of each query's top hits (TSV, for analysis).
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// With `--debates`: replay the debates in this many folds, each with a transcript
    /// adapter trained on the other folds' repeats, as the flag must be trained on them if a
    /// transcript adapter learned from the same debates (none ships); 0 = the shipped adapters.
    #[arg(long, default_value_t = 0)]
    pub adapter_folds: usize,
    /// Relevance judgements, TREC qrels; several files are merged.
    #[arg(long, required = true)]
    pub qrels: Vec<PathBuf>,
    /// Debate transcripts (`line <TAB> speaker <TAB> sentence`) giving each query its speaker, date and previous sentence.
    #[arg(long)]
    pub transcripts: Option<PathBuf>,
    /// Write a TREC run file.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Override a match setting, e.g. `--set evidence_weight=0.5` (see `MatchConfig`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub settings: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `claimdex index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files or directories: .jsonl/.ndjson (native or CheckThat! 2021), .json/.jsonld (ClaimReview), .tsv (CheckThat! 2020), optionally .gz.
    #[arg(required_unless_present_any = ["articles", "merge"])]
    pub paths: Vec<PathBuf>,
    /// Fact-check articles (.txt, .md, .html; files or directories) to extract claims and evidence from.
    #[arg(long, num_args = 1..)]
    pub articles: Vec<PathBuf>,
    /// Print what would be indexed (extracted quotes and records) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first bad record and leave the index unchanged.
    #[arg(long)]
    pub strict: bool,
    /// Then merge the index into one segment: faster matching for a large index that rarely
    /// changes (a million generated claims: p50 1.7x faster; the merge took 55 s after a 3-minute
    /// build). A new index is always merged; this merges an existing one after adding to it.
    #[arg(long)]
    pub merge: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Filters shared by `search` and `match`.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only this speaker (claims) or source (evidence); exact, case-insensitive.
    #[arg(long)]
    pub speaker: Option<String>,
    /// Only these verdicts: false, mostly-false, mixed, mostly-true, true, misleading, unproven, other (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub verdict: Vec<String>,
    /// Only this publisher; exact, case-insensitive.
    #[arg(long)]
    pub publisher: Option<String>,
    /// Only records dated on or after (YYYY, YYYY-MM or YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Only records dated on or before.
    #[arg(long)]
    pub to: Option<String>,
}

impl FilterArgs {
    fn to_filters(&self, kind: Option<Kind>) -> anyhow::Result<Filters> {
        let date = |s: &Option<String>, name: &str| -> anyhow::Result<Option<PartialDate>> {
            s.as_deref().map(|d| d.parse::<PartialDate>().with_context(|| format!("--{name} {d:?}"))).transpose()
        };
        let verdicts = self
            .verdict
            .iter()
            .map(|v| {
                Rating::parse(v).with_context(|| {
                    format!(
                        "--verdict {v:?}: expected one of {}",
                        Rating::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Filters {
            speaker: self.speaker.clone(),
            verdicts,
            publisher: self.publisher.clone(),
            from: date(&self.from, "from")?,
            to: date(&self.to, "to")?,
            kind,
        })
    }
}

/// `claimdex search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query: words, "phrases", AND, OR, NOT, +required, -excluded.
    pub query: String,
    /// Filters.
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Only claims or only evidence.
    #[arg(long)]
    pub kind: Option<String>,
    /// Results per page.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `claimdex match`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// The statement, or `-` to read statements from stdin, one per line.
    pub text: String,
    /// Who made the statement (a soft signal).
    #[arg(long)]
    pub speaker: Option<String>,
    /// When it was made: claims stated later are left out.
    #[arg(long)]
    pub date: Option<String>,
    /// Language of the statement (BCP-47).
    #[arg(long)]
    pub lang: Option<String>,
    /// Claims per statement.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
    /// Only claims with these verdicts (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub verdict: Vec<String>,
    /// Only claims reviewed by this publisher.
    #[arg(long)]
    pub publisher: Option<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// See [`ScreeningArgs`].
    #[command(flatten)]
    pub screening: ScreeningArgs,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Index(a) => run_index(&cli, a),
        Command::Search(a) => run_search(&cli, a),
        Command::Match(a) => run_match(&cli, a),
        Command::Eval(a) => run_eval(&cli, a),
        Command::TrainFlag(a) => run_train_flag(&cli, a),
        Command::TrainMatch(a) => run_train_match(a),
        Command::TrainAdapter(a) => run_train_adapter(a),
        Command::Flag(a) => run_flag(&cli, a),
        Command::Serve(a) => run_serve(&cli, a),
    }
}

/// `--screening`, on the commands that match.
#[derive(Debug, Args)]
pub struct ScreeningArgs {
    /// Claims-only screening: no evidence passages searched or scored, 5 of 20 candidates
    /// re-ranked; 3–4.5× faster, as good on claims without articles, worse where the article
    /// text carries the match (`MatchConfig::screening`).
    #[arg(long)]
    pub screening: bool,
}

impl ScreeningArgs {
    /// Switches the index to claims-only screening when asked (`MatchConfig::screened`, as a
    /// request's `screening` does).
    fn apply(&self, idx: &ClaimIndex) {
        if self.screening {
            idx.set_match_config(idx.match_config().screened());
        }
    }
}

/// Opens the index for reading, building it from the corpus first if it does not exist yet.
/// The semantic model is loaded when `semantic` is set (matching) or the index is built now.
pub fn open_or_build(index: &Path, corpus: &Path, semantic: bool) -> anyhow::Result<ClaimIndex> {
    let building = !ClaimIndex::exists(index);
    let embedder = if semantic || building { crate::embed::load_default() } else { None };
    if building {
        if !corpus.exists() {
            bail!("no index in {} and no corpus in {} to build it from", index.display(), corpus.display());
        }
        eprintln!("claimdex: building {} from {} (first use)", index.display(), corpus.display());
        let mut idx = ClaimIndex::create_in_dir(index).with_context(|| format!("creating {}", index.display()))?;
        if let Some(e) = embedder {
            idx = idx.with_embedder(e);
        }
        let records = ingest::read_paths(&[corpus.to_path_buf()], true)?;
        idx.ingest(records, IngestOptions { strict: true }, &mut |_| {})
            .with_context(|| format!("indexing {}", corpus.display()))?;
        // One segment, as `claimdex index` leaves a new index.
        idx.merge_segments().with_context(|| format!("merging {}", index.display()))?;
        return Ok(idx);
    }
    let idx = ClaimIndex::open_in_dir(index).with_context(|| format!("opening {}", index.display()))?;
    Ok(match embedder {
        Some(e) => idx.with_embedder(e),
        None => idx,
    })
}

/// Article files under the given paths (directories walked for .txt, .md, .markdown, .html, .htm).
fn article_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in walkdir::WalkDir::new(p).sort_by_file_name() {
                let e = e.with_context(|| format!("walking {}", p.display()))?;
                if e.file_type().is_file() && crate::article::ArticleFormat::from_path(e.path()).is_some() {
                    out.push(e.into_path());
                }
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file", p.display());
        }
    }
    Ok(out)
}

/// Extracts records from articles; each failure is an error item naming the file.
fn article_records(files: &[PathBuf]) -> Vec<crate::Result<Record>> {
    let mut out = Vec::new();
    for f in files {
        match crate::article::extract_file(f) {
            Ok(x) => {
                out.extend(x.claims.into_iter().map(|c| Ok(Record::Claim(c))));
                out.extend(x.evidence.into_iter().map(|e| Ok(Record::Evidence(e))));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    out
}

fn print_dry_run(files: &[PathBuf], json: bool) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    for f in files {
        let x = crate::article::extract_file(f).with_context(|| f.display().to_string())?;
        if json {
            writeln!(out, "{}", serde_json::json!({"file": f, "extraction": x}))?;
            continue;
        }
        writeln!(out, "{}: {}", f.display(), x.title.as_deref().unwrap_or("(no headline)"))?;
        writeln!(out, "  quotes:")?;
        for q in &x.quotes {
            let who = q.speaker.as_deref().unwrap_or("(unattributed)");
            let role = q.role.as_deref().map(|r| format!(", {r}")).unwrap_or_default();
            let date = q.date.map(|d| format!(", {d}")).unwrap_or_default();
            writeln!(out, "    [{}] {who}{role}{date}: “{}”", q.pattern, short(&q.text, 110))?;
        }
        writeln!(out, "  would index:")?;
        for c in &x.claims {
            writeln!(
                out,
                "    claim    {}  [{}]  {}: “{}”",
                c.id,
                verdict_label(c),
                c.speaker.as_deref().unwrap_or("?"),
                short(&c.text, 90)
            )?;
        }
        for e in &x.evidence {
            let links: Vec<String> = e.claims.iter().map(|l| format!("{} {}", l.stance.as_str(), l.claim_id)).collect();
            writeln!(
                out,
                "    evidence {}  {}: “{}” ({})",
                e.id,
                e.source.as_deref().unwrap_or("?"),
                short(&e.text, 70),
                links.join(", ")
            )?;
        }
    }
    Ok(())
}

fn run_index(cli: &Cli, a: &IndexArgs) -> anyhow::Result<()> {
    let articles = article_files(&a.articles)?;
    if a.dry_run {
        if !a.paths.is_empty() {
            bail!("--dry-run shows article extraction; give only --articles");
        }
        return print_dry_run(&articles, a.json);
    }
    let new = !ClaimIndex::exists(&cli.index);
    let mut idx = ClaimIndex::open_or_create(&cli.index).with_context(|| format!("opening {}", cli.index.display()))?;
    if let Some(e) = crate::embed::load_default() {
        idx = idx.with_embedder(e);
    }
    idx.lock_for_writing()?;
    let start = std::time::Instant::now();
    let records: ingest::Records =
        if a.paths.is_empty() { Box::new(std::iter::empty()) } else { ingest::read_paths(&a.paths, !a.json)? };
    let records = records.chain(article_records(&articles));
    let mut first_errors = 0usize;
    let report = idx.ingest(records, IngestOptions { strict: a.strict }, &mut |e| {
        first_errors += 1;
        if first_errors <= 20 {
            eprintln!("claimdex: skipped: {e}");
        } else if first_errors == 21 {
            eprintln!("claimdex: (further skipped records are counted, not shown)");
        }
    })?;
    // A new index is built to be served: one segment matches faster than the several that the
    // writer's threads leave (docs/benchmarks-speed.md).
    let segments = if a.merge || new { Some(idx.merge_segments()?) } else { None };
    let secs = start.elapsed().as_secs_f64();
    let total = idx.num_records();
    if a.json {
        let v = serde_json::json!({"report": report, "records_in_index": total, "seconds": secs, "merged_segments": segments});
        println!("{v}");
    } else {
        println!(
            "indexed {} claims and {} evidence excerpts in {:.1}s; skipped {} bad records; the index in {} now holds {} records{}",
            report.claims,
            report.evidence,
            secs,
            report.skipped,
            cli.index.display(),
            total,
            segments.filter(|&n| n > 1).map(|n| format!(" (merged {n} segments into one)")).unwrap_or_default()
        );
    }
    Ok(())
}

fn run_search(cli: &Cli, a: &SearchArgs) -> anyhow::Result<()> {
    let kind = a
        .kind
        .as_deref()
        .map(|k| Kind::parse(k).with_context(|| format!("--kind {k:?}: expected claim or evidence")))
        .transpose()?;
    let req = SearchRequest {
        query: a.query.clone(),
        filters: a.filters.to_filters(kind)?,
        limit: a.limit,
        offset: a.offset,
    };
    let idx = open_or_build(&cli.index, &cli.corpus, false)?;
    let res = idx.search(&req)?;
    let mut out = io::stdout().lock();
    if a.json {
        for h in &res.hits {
            writeln!(out, "{}", serde_json::to_string(h)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{} results (showing {}–{})",
        res.total,
        (res.offset + 1).min(res.total),
        res.offset + res.hits.len()
    )?;
    for (i, h) in res.hits.iter().enumerate() {
        let snippet = h.snippet.replace("<b>", "\x1b[1m").replace("</b>", "\x1b[0m");
        let snippet = unescape(&snippet);
        match &h.record {
            Record::Claim(c) => {
                writeln!(
                    out,
                    "{:>3}. claim {}  [{}]  {}",
                    res.offset + i + 1,
                    c.id,
                    verdict_label(c),
                    who_when(c.speaker.as_deref(), c.date)
                )?;
            }
            Record::Evidence(e) => {
                writeln!(
                    out,
                    "{:>3}. evidence {}  {}",
                    res.offset + i + 1,
                    e.id,
                    who_when(e.source.as_deref(), e.date)
                )?;
            }
        }
        writeln!(out, "     {snippet}")?;
    }
    Ok(())
}

fn run_match(cli: &Cli, a: &MatchArgs) -> anyhow::Result<()> {
    let date =
        a.date.as_deref().map(|d| d.parse::<PartialDate>().with_context(|| format!("--date {d:?}"))).transpose()?;
    let filters = FilterArgs { verdict: a.verdict.clone(), publisher: a.publisher.clone(), ..Default::default() }
        .to_filters(None)?;
    let make = |text: String| MatchRequest {
        text,
        speaker: a.speaker.clone(),
        date,
        language: a.lang.clone(),
        limit: Some(a.limit),
        filters: filters.clone(),
        ..Default::default()
    };
    let idx = open_or_build(&cli.index, &cli.corpus, true)?;
    a.screening.apply(&idx);
    let mut out = io::stdout().lock();
    if a.text == "-" {
        for (n, line) in io::stdin().lock().lines().enumerate() {
            let line = line.with_context(|| format!("reading statement {} from stdin", n + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            match idx.match_claims(&make(line.clone())) {
                Ok(res) => print_match(&mut out, &res, a.json)?,
                Err(e) => eprintln!("claimdex: stdin line {}: {e}", n + 1),
            }
        }
    } else {
        let res = idx.match_claims(&make(a.text.clone()))?;
        print_match(&mut out, &res, a.json)?;
    }
    Ok(())
}

/// The index an evaluation runs on: the given claims in memory, or the `--index`.
fn eval_index(cli: &Cli, claims: &[PathBuf], progress: bool) -> anyhow::Result<ClaimIndex> {
    let embedder = crate::embed::load_default();
    let mut idx = if claims.is_empty() {
        ClaimIndex::open_in_dir(&cli.index).with_context(|| format!("opening {}", cli.index.display()))?
    } else {
        ClaimIndex::create_in_ram()?
    };
    if let Some(e) = embedder {
        idx = idx.with_embedder(e);
    }
    if !claims.is_empty() {
        let records = ingest::read_paths(claims, progress)?;
        idx.ingest(records, IngestOptions::default(), &mut |e| eprintln!("claimdex: skipped: {e}"))?;
    }
    Ok(idx)
}

fn read_all_qrels(paths: &[PathBuf]) -> anyhow::Result<crate::eval::Qrels> {
    let mut qrels = crate::eval::Qrels::new();
    for q in paths {
        for (k, v) in crate::eval::read_qrels(q)? {
            qrels.entry(k).or_default().extend(v);
        }
    }
    Ok(qrels)
}

fn run_eval(cli: &Cli, a: &EvalArgs) -> anyhow::Result<()> {
    use crate::eval;
    let start = std::time::Instant::now();
    let idx = eval_index(cli, &a.claims, !a.json)?;
    let index_secs = start.elapsed().as_secs_f64();
    let mut config = idx.match_config();
    for s in &a.settings {
        config.set(s).with_context(|| format!("--set {s}"))?;
    }
    idx.set_match_config(config);
    if let Some(p) = &a.flag_model {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        idx.set_flag_model(crate::FlagModel::from_json(&text).with_context(|| p.display().to_string())?);
    }
    if let Some(p) = &a.match_model {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        idx.set_match_model(crate::FlagModel::from_json(&text).with_context(|| p.display().to_string())?);
    }
    let qrels = read_all_qrels(&a.qrels)?;
    if let Some(dir) = &a.debates {
        let transcripts = eval::read_transcripts(dir)?;
        let mut dump_file = create_output(a.dump.as_deref())?;
        let (r, _) = eval::replay_debates(
            &idx,
            &transcripts,
            &qrels,
            a.adapter_folds,
            dump_file.as_mut().map(|w| w as &mut dyn Write),
        )?;
        if let Some(w) = dump_file {
            w.into_inner().map_err(|e| e.into_error())?;
        }
        let mut out = io::stdout().lock();
        if a.json {
            writeln!(out, "{}", serde_json::json!({"replay": r}))?;
            return Ok(());
        }
        let m = idx.flag_model();
        writeln!(
            out,
            "{} debates, {} sentences, {} repeats; screened in {:.1}s ({:.0} sentences/s)",
            r.debates,
            r.sentences,
            r.repeats,
            r.seconds,
            r.sentences as f64 / r.seconds.max(1e-9)
        )?;
        writeln!(out, "flag AP {:.3}", r.ap)?;
        writeln!(
            out,
            "{:<22}{:>10}{:>9}{:>10}{:>8}{:>7}{:>11}",
            "tier", "threshold", "flagged", "precision", "recall", "F1", "per hour"
        )?;
        for (name, t, p, ph) in [
            ("flagged", m.flagged, &r.flagged, r.flags_per_hour),
            ("suggested", m.suggested, &r.suggested, r.suggestions_per_hour),
        ] {
            writeln!(
                out,
                "{:<22}{:>10.3}{:>9}{:>10.3}{:>8.3}{:>7.3}{:>11.1}",
                name, t, p.predicted, p.precision, p.recall, p.f1, ph
            )?;
        }
        writeln!(out, "flagged with the right claim on top: {} of {}", r.flagged_with_right_claim, r.flagged.correct)?;
        return Ok(());
    }
    let Some(queries_path) = &a.queries else { bail!("--queries or --debates is required") };
    let queries = eval::read_queries(queries_path)?;
    let transcripts = match &a.transcripts {
        Some(d) => eval::read_transcripts(d)?,
        None => Default::default(),
    };
    let mut run_file = create_output(a.run.as_deref())?;
    let mut dump_file = create_output(a.dump.as_deref())?;
    let (report, _) = eval::evaluate(
        &idx,
        &queries,
        &qrels,
        &transcripts,
        run_file.as_mut().map(|w| w as &mut dyn Write),
        dump_file.as_mut().map(|w| w as &mut dyn Write),
    )?;
    for w in [run_file, dump_file].into_iter().flatten() {
        w.into_inner().map_err(|e| e.into_error())?.sync_all().ok();
    }
    let mut out = io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::json!({"report": report, "index_seconds": index_secs}))?;
        return Ok(());
    }
    writeln!(
        out,
        "{} queries ({} judged queries without text), {} records indexed in {:.1}s, matched in {:.1}s ({:.0} queries/s)",
        report.as_is.queries,
        report.missing_queries,
        idx.num_records(),
        index_secs,
        report.seconds,
        report.as_is.queries as f64 / report.seconds.max(1e-9)
    )?;
    writeln!(out, "{:<14}{:>7}{:>7}{:>7}{:>8}{:>7}{:>7}", "", "MAP@1", "MAP@3", "MAP@5", "MRR@10", "R@10", "R@100")?;
    for (name, m) in [("as is", &report.as_is), ("twins merged", &report.twins_merged)] {
        writeln!(
            out,
            "{:<14}{:>7.3}{:>7.3}{:>7.3}{:>8.3}{:>7.3}{:>7.3}",
            name, m.map1, m.map3, m.map5, m.mrr10, m.recall10, m.recall100
        )?;
    }
    Ok(())
}

fn run_train_flag(cli: &Cli, a: &TrainFlagArgs) -> anyhow::Result<()> {
    let use_features = features_without(&a.without)?;
    let without = if a.without.is_empty() { String::new() } else { format!(", without {}", a.without.join(",")) };
    let (samples, what) = match (&a.samples, &a.debates) {
        (Some(path), _) => {
            let samples = crate::eval::read_dump(path)?;
            let repeats = samples.iter().filter(|s| s.1).count();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let what = format!("the replay {name} ({} sentences, {repeats} repeats){without}", samples.len());
            (samples, what)
        }
        (None, Some(debates)) => {
            let idx = eval_index(cli, &a.claims, true)?;
            let transcripts = crate::eval::read_transcripts(debates)?;
            let qrels = read_all_qrels(&a.qrels)?;
            let (report, samples) = crate::eval::replay_debates(&idx, &transcripts, &qrels, 0, None)?;
            let what = format!(
                "{} sentences of {} debates ({} repeats) from {}{without}",
                report.sentences,
                report.debates,
                report.repeats,
                a.qrels
                    .iter()
                    .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            (samples, what)
        }
        (None, None) => bail!("--debates or --samples is required"),
    };
    let model = crate::FlagModel::train(&samples, &use_features, &what)?;
    std::fs::write(&a.out, serde_json::to_string_pretty(&model)? + "\n")
        .with_context(|| format!("writing {}", a.out.display()))?;
    let scored: Vec<(f32, bool)> = samples.iter().map(|(x, l)| (model.probability(x), *l)).collect();
    let p = crate::flag::prf(&scored, model.flagged);
    println!(
        "trained on {what}: train AP {:.3}, F1 {:.3} (P {:.3}, R {:.3}) at flagged >= {:.3}; suggested >= {:.3}; wrote {}",
        crate::flag::average_precision(&scored),
        p.f1,
        p.precision,
        p.recall,
        model.flagged,
        model.suggested,
        a.out.display()
    );
    if let Some(path) = &a.eval_samples {
        let held_out = crate::eval::read_dump(path)?;
        let scored: Vec<(f32, bool)> = held_out.iter().map(|(x, l)| (model.probability(x), *l)).collect();
        let hours = scored.len() as f64 / (150.0 * 60.0);
        println!(
            "{}: {} sentences, {} repeats; AP {:.3}",
            path.display(),
            scored.len(),
            scored.iter().filter(|s| s.1).count(),
            crate::flag::average_precision(&scored)
        );
        for (tier, t) in [("flagged", model.flagged), ("suggested", model.suggested)] {
            let p = crate::flag::prf(&scored, t);
            println!(
                "{tier:<10} >= {t:.3}: P {:.3} R {:.3} F1 {:.3}, {} flags ({:.1} per hour)",
                p.precision,
                p.recall,
                p.f1,
                p.predicted,
                p.predicted as f64 / hours.max(1e-9)
            );
        }
    }
    Ok(())
}

fn run_train_match(a: &TrainMatchArgs) -> anyhow::Result<()> {
    let embedder = crate::embed::load_default();
    let mut samples = Vec::new();
    let mut what = Vec::new();
    for spec in &a.data {
        let DataSpec { index: idx, queries, qrels, transcripts } = open_data_spec(spec, embedder.as_ref())?;
        // The re-ranker learns from the fused order of the hits it will re-rank.
        let mut config = idx.match_config();
        config.rerank_depth = 0;
        idx.set_match_config(config);
        // Out of fold when this kind of statement has an adapter (the shipped one learned
        // from these queries).
        let adapted = idx.query_adapter(!transcripts.is_empty()).is_some();
        let (report, s) = if a.adapter_folds > 1 && idx.semantic_in_use() && adapted {
            let options = crate::adapter::TrainOptions::default();
            crate::eval::evaluate_out_of_fold(&idx, &queries, &qrels, &transcripts, a.adapter_folds, options)?
        } else {
            crate::eval::evaluate(&idx, &queries, &qrels, &transcripts, None, None)?
        };
        what.push(format!("{} queries of {}", report.as_is.queries, Path::new(qrels_name(spec)).display()));
        samples.extend(s);
    }
    let depth = crate::MatchConfig::default().rerank_depth;
    let what = format!("top-{depth} hits of {}", what.join(" and "));
    let mut without = a.without.clone();
    without.extend(["match_prob".to_string(), "match_margin".to_string()]);
    let model = crate::FlagModel::train(&samples, &features_without(&without)?, &what)?;
    std::fs::write(&a.out, serde_json::to_string_pretty(&model)? + "\n")
        .with_context(|| format!("writing {}", a.out.display()))?;
    let scored: Vec<(f32, bool)> = samples.iter().map(|(x, l)| (model.probability(x), *l)).collect();
    println!(
        "trained on {what} ({} hits, {} right): AP {:.3}; wrote {}",
        scored.len(),
        scored.iter().filter(|s| s.1).count(),
        crate::flag::average_precision(&scored),
        a.out.display()
    );
    Ok(())
}

/// One training set of `--data INDEX,QUERIES,QRELS[,TRANSCRIPTS]`, opened with the model.
struct DataSpec {
    index: ClaimIndex,
    queries: Vec<crate::eval::Query>,
    qrels: crate::eval::Qrels,
    transcripts: std::collections::BTreeMap<String, crate::eval::Transcript>,
}

fn open_data_spec(spec: &str, embedder: Option<&std::sync::Arc<crate::Embedder>>) -> anyhow::Result<DataSpec> {
    let parts: Vec<&str> = spec.split(',').collect();
    let [index, queries, qrels, rest @ ..] = parts.as_slice() else {
        bail!("--data {spec:?}: expected INDEX,QUERIES,QRELS[,TRANSCRIPTS]");
    };
    let mut idx = ClaimIndex::open_in_dir(Path::new(index)).with_context(|| format!("opening {index}"))?;
    if let Some(e) = embedder {
        idx = idx.with_embedder(e.clone());
    }
    let transcripts = match rest.first() {
        Some(t) => crate::eval::read_transcripts(Path::new(t))?,
        None => Default::default(),
    };
    Ok(DataSpec {
        index: idx,
        queries: crate::eval::read_queries(Path::new(queries))?,
        qrels: crate::eval::read_qrels(Path::new(qrels))?,
        transcripts,
    })
}

fn run_train_adapter(a: &TrainAdapterArgs) -> anyhow::Result<()> {
    use crate::adapter::{QueryAdapter, TrainOptions};
    let Some(embedder) = crate::embed::load_default() else {
        bail!("train-adapter needs the semantic model (run scripts/fetch-model.sh)");
    };
    let options = TrainOptions { l2: a.l2, steps: a.steps, temperature: a.temperature, learning_rate: a.learning_rate };
    let mut sets = Vec::new();
    let mut what = Vec::new();
    for spec in &a.data {
        let d = open_data_spec(spec, Some(&embedder))?;
        if a.folds > 1 {
            d.index.set_query_adapters(QueryAdapter::identity(), None);
            let (plain, _) = crate::eval::evaluate(&d.index, &d.queries, &d.qrels, &d.transcripts, None, None)?;
            let (oof, _) =
                crate::eval::evaluate_out_of_fold(&d.index, &d.queries, &d.qrels, &d.transcripts, a.folds, options)?;
            println!("{}: MAP@5 as is / twins merged, {}-fold cross-validation:", qrels_name(spec), a.folds);
            for (name, r) in [("no adapter", &plain), ("adapter", &oof)] {
                println!(
                    "  {name:<11} {:.3} / {:.3}  MRR@10 {:.3}  R@10 {:.3}  ({} queries)",
                    r.as_is.map5, r.twins_merged.map5, r.as_is.mrr10, r.as_is.recall10, r.as_is.queries
                );
            }
        }
        let (set, ids) = crate::adapter::training_set(&d.index, &d.queries, &d.qrels, &d.transcripts)?;
        what.push(format!("{} queries of {}", ids.len(), qrels_name(spec)));
        sets.push(set);
    }
    let adapter = QueryAdapter::train(&sets, options, &what.join(" and "))?;
    adapter.save(&a.out)?;
    println!("trained on {}; wrote {}", what.join(" and "), a.out.display());
    Ok(())
}

/// A buffered output file, if a path is given.
fn create_output(path: Option<&Path>) -> anyhow::Result<Option<io::BufWriter<std::fs::File>>> {
    path.map(|p| std::fs::File::create(p).map(io::BufWriter::new).with_context(|| format!("creating {}", p.display())))
        .transpose()
}

/// The features of [`crate::flag::FEATURES`] but the named ones (each must exist).
fn features_without(without: &[String]) -> anyhow::Result<Vec<&'static str>> {
    for n in without {
        if crate::flag::feature_index(n).is_none() {
            bail!("--without {n}: unknown feature");
        }
    }
    Ok(crate::flag::FEATURES.iter().copied().filter(|f| !without.iter().any(|w| w == f)).collect())
}

fn qrels_name(spec: &str) -> &str {
    spec.split(',').nth(2).unwrap_or(spec)
}

fn run_flag(cli: &Cli, a: &FlagArgs) -> anyhow::Result<()> {
    let (text, name) = if a.input == "-" {
        let mut s = String::new();
        io::Read::read_to_string(&mut io::stdin().lock(), &mut s).context("reading stdin")?;
        (s, "stdin".to_string())
    } else {
        let p = Path::new(&a.input);
        let s = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        (s, p.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    };
    let date = match &a.date {
        Some(d) => Some(d.parse::<PartialDate>().with_context(|| format!("--date {d:?}"))?),
        None => crate::eval::transcript_date(&name),
    };
    let lines: Vec<crate::eval::Line> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let cols: Vec<&str> = l.splitn(3, '\t').collect();
            match cols.as_slice() {
                [num, speaker, sentence] => crate::eval::Line {
                    number: num.to_string(),
                    speaker: speaker.to_string(),
                    text: sentence.to_string(),
                },
                _ => crate::eval::Line { number: (n + 1).to_string(), speaker: String::new(), text: l.to_string() },
            }
        })
        .collect();
    let transcript = crate::eval::Transcript { name, date, lines };
    let idx = open_or_build(&cli.index, &cli.corpus, true)?;
    a.screening.apply(&idx);
    let mut reqs: Vec<MatchRequest> =
        (0..transcript.lines.len()).map(|i| crate::eval::request_for_line(&transcript, i, 3)).collect();
    for r in &mut reqs {
        r.no_evidence = false;
    }
    let start = std::time::Instant::now();
    let results = idx.match_batch(&reqs);
    let secs = start.elapsed().as_secs_f64();
    let mut out = io::stdout().lock();
    let (mut flagged, mut suggested) = (0, 0);
    for (line, res) in transcript.lines.iter().zip(results) {
        let Ok(res) = res else { continue };
        flagged += res.flagged as usize;
        suggested += (res.suggested && !res.flagged) as usize;
        if !(res.flagged || a.suggested && res.suggested) {
            continue;
        }
        if a.json {
            writeln!(out, "{}", serde_json::json!({"line": line.number, "speaker": line.speaker, "result": res}))?;
            continue;
        }
        let who = if line.speaker.is_empty() { String::new() } else { format!("{}: ", line.speaker) };
        writeln!(out, "line {} {who}", line.number)?;
        print_match(&mut out, &res, false)?;
        if !res.reasons.is_empty() {
            let why: Vec<String> =
                res.reasons.iter().map(|r| format!("{}={:.2} ({:+.2})", r.feature, r.value, r.weight)).collect();
            writeln!(out, "       why: {}", why.join(", "))?;
        }
        writeln!(out)?;
    }
    eprintln!(
        "claimdex: screened {} sentences in {:.1}s: {flagged} flagged, {suggested} more suggested",
        transcript.lines.len(),
        secs
    );
    Ok(())
}

fn verdict_label(c: &crate::Claim) -> String {
    match &c.verdict {
        Some(v) if v.label.eq_ignore_ascii_case(v.rating.as_str()) => v.rating.as_str().to_uppercase(),
        Some(v) => format!("{} ({})", v.rating.as_str().to_uppercase(), v.label),
        None => "no verdict".into(),
    }
}

fn who_when(who: Option<&str>, when: Option<PartialDate>) -> String {
    match (who, when) {
        (Some(w), Some(d)) => format!("{w}, {d}"),
        (Some(w), None) => w.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => String::new(),
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn short(s: &str, n: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Prints a match result, as JSON or for people.
pub fn print_match(out: &mut impl Write, res: &MatchResult, json: bool) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(res)?)?;
        return Ok(());
    }
    let tier = if res.flagged {
        "FLAGGED as a repeat"
    } else if res.suggested {
        "suggested as a repeat"
    } else {
        "not flagged"
    };
    writeln!(out, "» {}  [{tier}: flag probability {:.2}]", short(&res.text, 100), res.score)?;
    if res.hits.is_empty() {
        writeln!(out, "  no prior claims found")?;
    }
    for (i, h) in res.hits.iter().enumerate() {
        let c = &h.claim;
        writeln!(out, "{:>3}. {:.2}  {}  “{}”", i + 1, h.score, verdict_label(c), short(&c.text, 160))?;
        let mut who = who_when(c.speaker.as_deref(), c.date);
        if let Some(r) = &c.speaker_role {
            who = format!("{who} — {r}");
        }
        writeln!(out, "       {}  [{}]", who, c.id)?;
        if let Some(r) = &c.review {
            let publ = r.publisher.as_ref().map(|p| p.name.as_str()).unwrap_or("");
            let title = r.title.as_deref().unwrap_or("");
            let url = r.url.as_deref().unwrap_or("");
            writeln!(
                out,
                "       review: {publ} {}{}",
                short(title, 90),
                if url.is_empty() { String::new() } else { format!(" <{url}>") }
            )?;
        }
        if !h.twins.is_empty() {
            writeln!(out, "       same statement also checked as: {}", h.twins.join(", "))?;
        }
        for e in h.evidence.iter().take(5) {
            let src = who_when(e.evidence.source.as_deref(), e.evidence.date);
            writeln!(out, "       {:<8} {}: “{}”", e.stance.as_str(), src, short(&e.evidence.text, 140))?;
        }
        if h.evidence.len() > 5 {
            writeln!(out, "       … and {} more evidence excerpts", h.evidence.len() - 5)?;
        }
    }
    Ok(())
}

/// `claimdex serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first line on stdout is
    /// "listening on http://ADDR".
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// File holding the bearer token of the write API (else the CLAIMDEX_TOKEN environment
    /// variable; with neither, writes are disabled).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// How many requests may work on the index at once (default: twice the number of cores);
    /// the rest wait their turn in order of arrival.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent: Option<u16>,
    /// See [`ScreeningArgs`].
    #[command(flatten)]
    pub screening: ScreeningArgs,
}

fn run_serve(cli: &Cli, a: &ServeArgs) -> anyhow::Result<()> {
    let token = match &a.token_file {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading --token-file {}", p.display()))?),
        None => std::env::var("CLAIMDEX_TOKEN").ok(),
    };
    let token = token.map(|t| t.trim().to_string());
    if token.as_deref() == Some("") {
        bail!("the write token is empty: set CLAIMDEX_TOKEN or --token-file to a non-empty secret, or unset it to disable writes");
    }
    let idx = open_or_build(&cli.index, &cli.corpus, true)?;
    a.screening.apply(&idx);
    if token.is_some() {
        idx.lock_for_writing().with_context(|| format!("taking the writer lock of {}", cli.index.display()))?;
    }
    let t = std::time::Instant::now();
    let claims = idx.warm_up().with_context(|| format!("loading the claim vectors of {}", cli.index.display()))?;
    if claims > 0 {
        tracing::info!(claims, seconds = t.elapsed().as_secs_f64(), "claim vectors loaded");
    }
    let mut state = crate::server::AppState::new(idx, token);
    if let Some(n) = a.max_concurrent {
        state = state.with_max_concurrent(n.into());
    }
    let state = std::sync::Arc::new(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(crate::server::MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.addr).await.with_context(|| format!("binding {}", a.addr))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let mut out = io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
        drop(out);
        crate::server::serve(listener, state).await.context("serving")
    })
}

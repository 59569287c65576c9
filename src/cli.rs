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
    /// Serve the HTTP API and the search page.
    Serve(ServeArgs),
}

/// `claimdex index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files or directories: .jsonl/.ndjson (native or CheckThat! 2021), .json/.jsonld (ClaimReview), .tsv (CheckThat! 2020), optionally .gz.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Stop at the first bad record and leave the index unchanged.
    #[arg(long)]
    pub strict: bool,
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
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Index(a) => run_index(&cli, a),
        Command::Search(a) => run_search(&cli, a),
        Command::Match(a) => run_match(&cli, a),
        Command::Serve(a) => run_serve(&cli, a),
    }
}

/// Opens the index for reading, building it from the corpus first if it does not exist yet.
pub fn open_or_build(index: &Path, corpus: &Path) -> anyhow::Result<ClaimIndex> {
    if !ClaimIndex::exists(index) {
        if !corpus.exists() {
            bail!("no index in {} and no corpus in {} to build it from", index.display(), corpus.display());
        }
        eprintln!("claimdex: building {} from {} (first use)", index.display(), corpus.display());
        let idx = ClaimIndex::create_in_dir(index).with_context(|| format!("creating {}", index.display()))?;
        let records = ingest::read_paths(&[corpus.to_path_buf()], true)?;
        idx.ingest(records, IngestOptions { strict: true }, &mut |_| {})
            .with_context(|| format!("indexing {}", corpus.display()))?;
        return Ok(idx);
    }
    ClaimIndex::open_in_dir(index).with_context(|| format!("opening {}", index.display()))
}

fn run_index(cli: &Cli, a: &IndexArgs) -> anyhow::Result<()> {
    let idx = ClaimIndex::open_or_create(&cli.index).with_context(|| format!("opening {}", cli.index.display()))?;
    idx.lock_for_writing()?;
    let start = std::time::Instant::now();
    let records = ingest::read_paths(&a.paths, !a.json)?;
    let mut first_errors = 0usize;
    let report = idx.ingest(records, IngestOptions { strict: a.strict }, &mut |e| {
        first_errors += 1;
        if first_errors <= 20 {
            eprintln!("claimdex: skipped: {e}");
        } else if first_errors == 21 {
            eprintln!("claimdex: (further skipped records are counted, not shown)");
        }
    })?;
    let secs = start.elapsed().as_secs_f64();
    let total = idx.num_records();
    if a.json {
        let v = serde_json::json!({"report": report, "records_in_index": total, "seconds": secs});
        println!("{v}");
    } else {
        println!(
            "indexed {} claims and {} evidence excerpts in {:.1}s; skipped {} bad records; the index in {} now holds {} records",
            report.claims,
            report.evidence,
            secs,
            report.skipped,
            cli.index.display(),
            total
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
    let req = SearchRequest { query: a.query.clone(), filters: a.filters.to_filters(kind)?, limit: a.limit, offset: a.offset };
    let idx = open_or_build(&cli.index, &cli.corpus)?;
    let res = idx.search(&req)?;
    let mut out = io::stdout().lock();
    if a.json {
        for h in &res.hits {
            writeln!(out, "{}", serde_json::to_string(h)?)?;
        }
        return Ok(());
    }
    writeln!(out, "{} results (showing {}–{})", res.total, (res.offset + 1).min(res.total), res.offset + res.hits.len())?;
    for (i, h) in res.hits.iter().enumerate() {
        let snippet = h.snippet.replace("<b>", "\x1b[1m").replace("</b>", "\x1b[0m");
        let snippet = unescape(&snippet);
        match &h.record {
            Record::Claim(c) => {
                writeln!(out, "{:>3}. claim {}  [{}]  {}", res.offset + i + 1, c.id, verdict_label(c), who_when(c.speaker.as_deref(), c.date))?;
            }
            Record::Evidence(e) => {
                writeln!(out, "{:>3}. evidence {}  {}", res.offset + i + 1, e.id, who_when(e.source.as_deref(), e.date))?;
            }
        }
        writeln!(out, "     {snippet}")?;
    }
    Ok(())
}

fn run_match(cli: &Cli, a: &MatchArgs) -> anyhow::Result<()> {
    let date = a.date.as_deref().map(|d| d.parse::<PartialDate>().with_context(|| format!("--date {d:?}"))).transpose()?;
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
    let idx = open_or_build(&cli.index, &cli.corpus)?;
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
        "FLAGGED"
    } else if res.suggested {
        "suggested"
    } else {
        "no confident match"
    };
    writeln!(out, "» {}  [{tier}, score {:.2}]", short(&res.text, 100), res.score)?;
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
            writeln!(out, "       review: {publ} {}{}", short(title, 90), if url.is_empty() { String::new() } else { format!(" <{url}>") })?;
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
    let idx = open_or_build(&cli.index, &cli.corpus)?;
    if token.is_some() {
        idx.lock_for_writing().with_context(|| format!("taking the writer lock of {}", cli.index.display()))?;
    }
    let state = std::sync::Arc::new(crate::server::AppState::new(idx, token));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
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

//! Scale benchmark: index build throughput and size, match latency and batch throughput, peak
//! memory, and the same queries against SQLite FTS5 and Xapian, on generated corpora.
//!
//! ```text
//! cargo bench --bench scale                  # 10k claims (5 evidence passages each)
//! cargo bench --bench scale -- --full        # 10k and 100k
//! cargo bench --bench scale -- --million     # 10k, 100k and 1M (long)
//! cargo bench --bench scale -- --only 1000000 --no-peers   # one scale, claimdex lexical only
//! cargo bench --bench scale -- --emit 10000 DIR            # DIR/corpus.jsonl + DIR/statements.txt (HTTP bench)
//! cargo bench --bench scale -- --emit-queries 1000000 2000 FILE   # 2000 paraphrases + 2000 unrelated, with targets
//! cargo bench --bench scale -- --only 1000000 --no-peers --lent   # also hybrid with lent vectors
//! cargo bench --bench scale -- --only 1000000 --no-peers --lent --merge   # measured on one segment
//! ```
//!
//! Every row is also timed under claims-only screening settings (`MatchConfig::screening`: the
//! passages left out, 5 of 20 candidates re-ranked, no evidence in the result; hybrid rows keep
//! the semantic search). For the lexical rows that is the like-for-like comparison with the
//! peers, which index the claims alone; its MAP@5 on 2020 dev is printed beside theirs.
//!
//! The matches are timed on the built index closed and opened again from disk (as `serve` opens
//! it, and as the Xapian peer reopens its database). After 50 warm-up matches (defaults), the
//! screening pass runs first, each statement once, as each peer runs each query once after its
//! own 50 warm-up queries; the passes with the defaults and without evidence come after it, on
//! statements already seen (their stems and some claims cached).
//!
//! Each measurement runs in a child process (the same binary with `--child`), so that the peak
//! RSS it reports (VmHWM) is that run's alone. Hybrid (MiniLM) matching is measured at 10k,
//! when the model is in `$CLAIMDEX_MODEL_DIR` or `models/all-MiniLM-L6-v2`, with every claim
//! embedded. Embedding a million claims would take days here, so `--lent` measures hybrid matching
//! at every scale with lent vectors: the first 1,000 generated claims are embedded, and claim
//! `i` gets the vectors of claim `i % 1000` with their dimensions rotated by `i / 1000` (written by
//! `ClaimIndex::ingest_embedded`). The statements are embedded by the model as `match` does, and
//! the scan, the filter and the rescoring do all their work, so the times are real; which claims
//! come out is not (the vectors do not belong to their claims), so the row's R@5 means nothing.
//! `--merge` merges each index into one segment after building it (`ClaimIndex::merge_segments`,
//! as `claimdex index --merge` does), which also waits for tantivy's own background merges, so
//! that none runs while matches are timed; the merge time is printed apart.
//! `--keep DIR` (with `--lent`) builds the lent-vector index in `DIR/index` and keeps it, with the
//! statements it timed in `DIR/statements.txt`, so that serving it can be measured in a process
//! of its own (`claimdex --index DIR/index match - --json < DIR/statements.txt`).

mod gen;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claimdex::{ClaimIndex, Embedder, IngestOptions, MatchConfig, MatchRequest, Record};
use gen::{GenQuery, Generator, Pools};
use serde_json::{json, Value};

// mimalloc, as the claimdex binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Seed of every generated corpus and query set.
const SEED: u64 = 20_240_601;
/// Paraphrases and unrelated statements per scale (each), lexical and peers.
const QUERIES_EACH: usize = 300;
/// The same for hybrid matching (embedding a query costs a few ms).
const HYBRID_QUERIES_EACH: usize = 100;
/// Queries run before timing starts.
const WARMUP: usize = 50;
/// Hits per query, for every engine.
const TOP: usize = 5;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("scale: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let value = |flag: &str, k: usize| args.iter().position(|a| a == flag).and_then(|i| args.get(i + k)).cloned();
    if let Some(mode) = value("--child", 1) {
        let arg = value("--child", 2).unwrap_or_default();
        let merge = value("--child", 3).is_some_and(|m| m == "merge");
        let out = match mode.as_str() {
            "claimdex" => child_claimdex(arg.parse()?, false, merge)?,
            "hybrid" => child_claimdex(arg.parse()?, true, merge)?,
            "lent" => child_lent(arg.parse()?, merge, value("--child", 4).filter(|d| !d.is_empty()))?,
            "sqlite" => child_sqlite(arg.parse()?)?,
            "quality" => child_quality()?,
            other => return Err(format!("unknown child {other}").into()),
        };
        println!("{out}");
        return Ok(());
    }
    if let Some(n) = value("--emit-queries", 1) {
        let each = value("--emit-queries", 2).ok_or("--emit-queries N EACH FILE")?.parse()?;
        let file = PathBuf::from(value("--emit-queries", 3).ok_or("--emit-queries N EACH FILE")?);
        return emit_queries(n.parse()?, each, &file);
    }
    if let Some(n) = value("--emit", 1) {
        let dir = PathBuf::from(value("--emit", 2).ok_or("--emit N DIR")?);
        return emit(n.parse()?, &dir);
    }
    let scales: Vec<usize> = if let Some(n) = value("--only", 1) {
        vec![n.parse()?]
    } else if has("--million") {
        vec![10_000, 100_000, 1_000_000]
    } else if has("--full") {
        vec![10_000, 100_000]
    } else {
        vec![10_000]
    };
    let keep = value("--keep", 1).unwrap_or_default();
    suite(&scales, !has("--no-peers"), !has("--no-hybrid"), has("--lent"), has("--merge"), &keep)
}

// ---------------------------------------------------------------------------------------------
// The suite (parent process)

fn suite(scales: &[usize], peers: bool, hybrid: bool, lent: bool, merge: bool, keep: &str) -> Res<()> {
    let m = if merge { "merge" } else { "-" };
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let mut claimdex_rows = Vec::new();
    let mut peer_rows = Vec::new();
    for &n in scales {
        eprintln!("scale: claimdex lexical, {n} claims");
        let c = child(&["claimdex", &n.to_string(), m])?;
        if peers {
            eprintln!("scale: sqlite fts5, {n} claims");
            let s = child(&["sqlite", &n.to_string()])?;
            eprintln!("scale: xapian, {n} claims");
            let x = xapian_scale(n, work.path())?;
            for (name, p) in [("SQLite FTS5", s), ("Xapian", x)] {
                peer_rows.push((n, name, p, (f(&c, "p50_ms"), f(&c, "screen_p50_ms"))));
            }
        }
        claimdex_rows.push(("lexical", n, c));
        if lent {
            if model_dir().is_none() {
                return Err("--lent needs the MiniLM model (scripts/fetch-model.sh)".into());
            }
            eprintln!("scale: claimdex hybrid with lent vectors, {n} claims");
            claimdex_rows.push(("hybrid, lent vectors", n, child(&["lent", &n.to_string(), m, keep])?));
        }
    }
    if hybrid && scales.contains(&10_000) {
        match model_dir() {
            Some(dir) => {
                eprintln!("scale: claimdex hybrid, 10000 claims (model {})", dir.display());
                claimdex_rows.push(("hybrid", 10_000, child(&["hybrid", "10000", m])?));
            }
            None => eprintln!("scale: no MiniLM model (set CLAIMDEX_MODEL_DIR): hybrid not measured"),
        }
    }
    let quality = if peers {
        eprintln!("scale: MAP@5 on CheckThat! 2020 dev");
        let mut q = child(&["quality"])?;
        let (map, x) = xapian_quality(work.path())?;
        q["xapian_map5"] = json!(map);
        q["xapian_version"] = x["version"].clone();
        Some(q)
    } else {
        None
    };
    print_tables(&claimdex_rows, &peer_rows, quality.as_ref());
    eprintln!("scale: done in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs this binary with `--child ARGS` and parses the JSON line it prints last.
fn child(args: &[&str]) -> Res<Value> {
    let out = Command::new(std::env::current_exe()?).arg("--child").args(args).output()?;
    std::io::stderr().write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(format!("child {args:?} failed: {}", out.status).into());
    }
    let text = String::from_utf8(out.stdout)?;
    Ok(serde_json::from_str(text.lines().last().ok_or("child printed nothing")?)?)
}

fn model_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CLAIMDEX_MODEL_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"),
    };
    dir.join("model.safetensors").is_file().then_some(dir)
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

fn print_tables(rows: &[(&str, usize, Value)], peers: &[(usize, &str, Value, (f64, f64))], quality: Option<&Value>) {
    println!("### claimdex\n");
    println!(
        "| claims (+5 evidence each) | matcher | build s | claims/s | index MB | match p50 ms | match p99 ms \
         | CPU ms per match | no-evidence p50 ms | match_batch stmt/s | paraphrase R@5 | peak RSS MB \
         | screening p50 ms | screening p99 ms | screening R@5 |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (matcher, n, v) in rows {
        println!(
            "| {n} | {matcher} | {:.1} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.3} | {:.0} | {:.2} | {:.2} | {:.3} |",
            f(v, "build_s"),
            *n as f64 / f(v, "build_s"),
            f(v, "bytes") / 1e6,
            f(v, "p50_ms"),
            f(v, "p99_ms"),
            f(v, "cpu_ms_per_match"),
            f(v, "noev_p50_ms"),
            f(v, "batch_per_s"),
            f(v, "recall5"),
            f(v, "peak_rss_mb"),
            f(v, "screen_p50_ms"),
            f(v, "screen_p99_ms"),
            f(v, "screen_recall5"),
        );
    }
    for (matcher, n, v) in rows.iter().filter(|r| f(&r.2, "merged_segments") > 0.0) {
        println!(
            "\n{n} {matcher}: {} segments merged into one in {:.1} s after the build (matches timed on one segment)",
            f(v, "merged_segments"),
            f(v, "merge_s")
        );
    }
    if !peers.is_empty() {
        println!("\n### Peers (same claims and queries; claim + title as one field, stemmed, top {TOP})\n");
        println!(
            "| claims | engine | build s | index MB | p50 ms | p99 ms | p50 / claimdex lexical p50 \
             | p50 / claimdex screening p50 | paraphrase R@5 | peak RSS MB |"
        );
        println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (n, name, v, base) in peers {
            println!(
                "| {n} | {name} | {:.1} | {:.1} | {:.3} | {:.3} | {:.2} | {:.2} | {:.3} | {:.0} |",
                f(v, "build_s"),
                f(v, "bytes") / 1e6,
                f(v, "p50_ms"),
                f(v, "p99_ms"),
                f(v, "p50_ms") / base.0,
                f(v, "p50_ms") / base.1,
                f(v, "recall5"),
                f(v, "peak_rss_mb"),
            );
        }
    }
    if let Some(q) = quality {
        println!("\n### MAP@5, CheckThat! 2020 dev ({} judged queries, as is)\n", q["queries"]);
        println!("| engine | MAP@5 |\n|---|---:|");
        println!("| claimdex lexical | {:.3} |", f(q, "claimdex_map5"));
        println!("| claimdex lexical, claims-only screening | {:.3} |", f(q, "claimdex_screen_map5"));
        println!(
            "| SQLite FTS5 {} (porter) | {:.3} |",
            q["sqlite_version"].as_str().unwrap_or("?"),
            f(q, "sqlite_map5")
        );
        println!(
            "| Xapian {} (english, STEM_SOME) | {:.3} |",
            q["xapian_version"].as_str().unwrap_or("?"),
            f(q, "xapian_map5")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

struct Percentiles {
    p50: f64,
    p99: f64,
}

fn percentiles(mut d: Vec<Duration>) -> Percentiles {
    d.sort();
    let at =
        |p: usize| d.get((d.len() * p / 100).min(d.len().saturating_sub(1))).map_or(0.0, |x| x.as_secs_f64() * 1e3);
    Percentiles { p50: at(50), p99: at(99) }
}

/// CPU time (user + system) this process has used so far, in ms, from /proc/self/stat. On a
/// shared machine the CPU time per match is steadier than its wall time.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|x| x.parse().ok()).collect();
    // Clock ticks are 100 per second on Linux.
    f.iter().sum::<f64>() * 10.0
}

/// Peak resident memory of this process so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Share of paraphrases whose source claim is in the top `TOP`.
fn recall(queries: &[GenQuery], ranked: &[Vec<String>]) -> f64 {
    let (mut hit, mut total) = (0, 0);
    for (q, ids) in queries.iter().zip(ranked) {
        if let Some(t) = &q.target {
            total += 1;
            hit += ids.iter().take(TOP).any(|id| id == t) as usize;
        }
    }
    hit as f64 / total.max(1) as f64
}

/// Everything measured on a built index: merged first with `merge` (see `--merge`), its size,
/// then `queries_each` paraphrases and unrelated statements matched one at a time (latency, CPU,
/// and without evidence), and as one batch; the paraphrases' R@5 when `recall_too`, else null.
/// The index that built it is closed and the index opened afresh from disk (with the same
/// embedder), as `claimdex serve` opens it and as the peers reopen theirs: the matches are not
/// timed on the heap, writer and threads that the build left behind.
fn measure(
    built: ClaimIndex,
    dir: &Path,
    g: &Generator,
    n: usize,
    merge: bool,
    queries_each: usize,
    recall_too: bool,
) -> Res<Value> {
    let t = Instant::now();
    let segments = if merge { built.merge_segments()? } else { 0 };
    let merge_s = t.elapsed().as_secs_f64();
    let bytes = dir_bytes(dir);
    let embedder = built.embedder().cloned();
    drop(built);
    let mut idx = ClaimIndex::open_in_dir(dir)?;
    if let Some(e) = embedder {
        idx = idx.with_embedder(e);
    }

    let queries = g.queries(n, queries_each);
    let reqs: Vec<MatchRequest> = queries.iter().map(|q| MatchRequest::new(q.text.clone())).collect();
    for r in reqs.iter().take(WARMUP) {
        idx.match_claims(r)?;
    }
    // The claims-only screening settings, one statement at a time, without evidence in the result.
    // Timed first, right after the warm-up, as the peers time each query once after theirs: the
    // passes after it meet the same statements again (their stems and claims already cached).
    let defaults = idx.match_config();
    idx.set_match_config(MatchConfig::screening());
    let mut screen = Vec::with_capacity(reqs.len());
    let mut screen_ranked = Vec::with_capacity(reqs.len());
    for r in &reqs {
        let r = MatchRequest { no_evidence: true, ..r.clone() };
        let t = Instant::now();
        let res = idx.match_claims(&r)?;
        screen.push(t.elapsed());
        screen_ranked.push(res.hits.iter().map(|h| h.claim.id.clone()).collect::<Vec<_>>());
    }
    idx.set_match_config(defaults);
    let mut lat = Vec::with_capacity(reqs.len());
    let mut ranked = Vec::with_capacity(reqs.len());
    let cpu = cpu_ms();
    for r in &reqs {
        let t = Instant::now();
        let res = idx.match_claims(r)?;
        lat.push(t.elapsed());
        ranked.push(res.hits.iter().map(|h| h.claim.id.clone()).collect::<Vec<_>>());
    }
    let cpu_per_match = (cpu_ms() - cpu) / reqs.len() as f64;
    let mut noev = Vec::with_capacity(reqs.len());
    for r in &reqs {
        let r = MatchRequest { no_evidence: true, ..r.clone() };
        let t = Instant::now();
        idx.match_claims(&r)?;
        noev.push(t.elapsed());
    }
    let screen = percentiles(screen);
    let t = Instant::now();
    let batch = idx.match_batch(&reqs);
    let batch_s = t.elapsed().as_secs_f64();
    if let Some(Err(e)) = batch.iter().find(|r| r.is_err()) {
        return Err(format!("match_batch: {e}").into());
    }
    let p = percentiles(lat);
    Ok(json!({
        "merged_segments": segments, "merge_s": merge_s, "bytes": bytes,
        "queries": reqs.len(), "p50_ms": p.p50, "p99_ms": p.p99, "noev_p50_ms": percentiles(noev).p50,
        "batch_per_s": reqs.len() as f64 / batch_s,
        "recall5": if recall_too { json!(recall(&queries, &ranked)) } else { Value::Null },
        "screen_p50_ms": screen.p50, "screen_p99_ms": screen.p99,
        "screen_recall5": if recall_too { json!(recall(&queries, &screen_ranked)) } else { Value::Null },
        "peak_rss_mb": peak_rss_mb(), "cpu_ms_per_match": cpu_per_match,
    }))
}

fn child_claimdex(n: usize, hybrid: bool, merge: bool) -> Res<Value> {
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let t = Instant::now();
    let generated: usize = g.corpus(n).map(|r| r.id().len()).sum();
    let gen_s = t.elapsed().as_secs_f64();
    assert!(generated > 0);

    let dir = tempfile::tempdir()?;
    let mut idx = ClaimIndex::create_in_dir(dir.path())?;
    if hybrid {
        let model = model_dir().ok_or("no model")?;
        idx = idx.with_embedder(Arc::new(Embedder::load(&model)?));
    }
    let t = Instant::now();
    let report = idx.ingest(g.corpus(n).map(Ok), IngestOptions { strict: true }, &mut |_| {})?;
    let build_s = t.elapsed().as_secs_f64();
    let mut out =
        measure(idx, dir.path(), &g, n, merge, if hybrid { HYBRID_QUERIES_EACH } else { QUERIES_EACH }, true)?;
    out["claims"] = json!(report.claims);
    out["evidence"] = json!(report.evidence);
    out["gen_s"] = json!(gen_s);
    out["build_s"] = json!(build_s);
    Ok(out)
}

/// Claims whose vectors are lent, as `--lent` describes.
const LENT_POOL: usize = 1000;

/// Hybrid matching at `n` claims with lent vectors (see the module documentation): build time,
/// size, latency and memory as [`child_claimdex`] measures them, with the claims' vectors lent.
fn child_lent(n: usize, merge: bool, keep: Option<String>) -> Res<Value> {
    use claimdex::vectors::DIM;
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let embedder = Arc::new(Embedder::load(&model_dir().ok_or("no model")?)?);
    let mut lent: Vec<Vec<f32>> = Vec::with_capacity(LENT_POOL);
    let pool: Vec<Record> = g.corpus(n).filter(|r| matches!(r, Record::Claim(_))).take(LENT_POOL).collect();
    for chunk in pool.chunks(64) {
        let mut texts: Vec<&str> = Vec::new();
        for r in chunk {
            if let Record::Claim(c) = r {
                texts.push(&c.text);
                texts.push(c.review.as_ref().and_then(|r| r.title.as_deref()).unwrap_or(&c.text));
            }
        }
        let v = embedder.embed(&texts)?;
        lent.extend(v.chunks_exact(2).map(|p| [p[0].as_slice(), p[1].as_slice()].concat()));
    }
    let rotated = |i: usize| -> Vec<f32> {
        let (v, turn) = (&lent[i % lent.len()], i / lent.len());
        (0..2 * DIM).map(|j| v[(j / DIM) * DIM + (j % DIM + turn) % DIM]).collect()
    };

    // A kept index needs no temporary directory; any other is removed when this returns.
    let mut temp = None;
    let dir = match &keep {
        Some(k) => {
            let d = PathBuf::from(k).join("index");
            std::fs::create_dir_all(&d)?;
            let statements: Vec<String> =
                g.queries(n, HYBRID_QUERIES_EACH).into_iter().map(|q| q.text.replace('\n', " ")).collect();
            std::fs::write(Path::new(k).join("statements.txt"), statements.join("\n") + "\n")?;
            d
        }
        None => temp.insert(tempfile::tempdir()?).path().to_path_buf(),
    };
    let idx = ClaimIndex::create_in_dir(&dir)?.with_embedder(embedder);
    let t = Instant::now();
    let mut claims = 0usize;
    let report = idx.ingest_embedded(g.corpus(n).map(|r| {
        let v = matches!(r, Record::Claim(_)).then(|| {
            claims += 1;
            rotated(claims - 1)
        });
        (r, v)
    }))?;
    let build_s = t.elapsed().as_secs_f64();
    let mut out = measure(idx, &dir, &g, n, merge, HYBRID_QUERIES_EACH, false)?;
    out["claims"] = json!(report.claims);
    out["evidence"] = json!(report.evidence);
    out["build_s"] = json!(build_s);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Peers

/// Turns a statement into the query terms both peers get: links stripped, split at anything
/// that is not a letter or digit, lowercased, deduplicated, and without the words claimdex's
/// English analyzer drops as stopwords (so every engine skips the same words).
struct PeerQuery {
    /// claimdex's English analyzer settings, used only to tell stopwords.
    lang: claimdex::analysis::Lang,
}

impl PeerQuery {
    fn new() -> Self {
        PeerQuery { lang: claimdex::analysis::Lang::default_lang() }
    }

    fn terms(&self, text: &str) -> Vec<String> {
        let mut a = self.lang.analyzer();
        let mut out: Vec<String> = Vec::new();
        let text = claimdex::matcher::strip_links(text).to_lowercase();
        for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            if !out.iter().any(|o| o == w) && !claimdex::analysis::tokens(&mut a, w).is_empty() {
                out.push(w.to_string());
            }
        }
        out
    }

    /// An FTS5 MATCH expression: the terms, quoted, OR-ed.
    fn fts5(&self, text: &str) -> String {
        self.terms(text).iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" OR ")
    }
}

/// Claims to give the peers: id and claim text + title.
fn peer_docs(records: impl Iterator<Item = Record>) -> impl Iterator<Item = (String, String)> {
    records.filter_map(|r| match r {
        Record::Claim(c) => {
            let title = c.review.and_then(|r| r.title).unwrap_or_default();
            Some((c.id, format!("{} {}", c.text, title)))
        }
        Record::Evidence(_) => None,
    })
}

struct Fts5 {
    conn: rusqlite::Connection,
}

impl Fts5 {
    fn build(path: &Path, docs: impl Iterator<Item = (String, String)>) -> Res<Fts5> {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "CREATE VIRTUAL TABLE claims USING fts5(id UNINDEXED, body, tokenize = 'porter unicode61');",
        )?;
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare("INSERT INTO claims (id, body) VALUES (?1, ?2)")?;
            for (id, body) in docs {
                ins.execute((id, body))?;
            }
        }
        tx.commit()?;
        Ok(Fts5 { conn })
    }

    fn search(&self, expr: &str) -> Res<Vec<String>> {
        if expr.is_empty() {
            return Ok(vec![]);
        }
        let mut st =
            self.conn.prepare_cached("SELECT id FROM claims WHERE claims MATCH ?1 ORDER BY bm25(claims) LIMIT ?2")?;
        let rows = st.query_map((expr, TOP as i64), |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn child_sqlite(n: usize) -> Res<Value> {
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fts.db");
    let t = Instant::now();
    let db = Fts5::build(&path, peer_docs(g.corpus(n)))?;
    let build_s = t.elapsed().as_secs_f64();
    let queries = g.queries(n, QUERIES_EACH);
    let pq = PeerQuery::new();
    let exprs: Vec<String> = queries.iter().map(|q| pq.fts5(&q.text)).collect();
    for e in exprs.iter().take(WARMUP) {
        db.search(e)?;
    }
    let mut lat = Vec::new();
    let mut ranked = Vec::new();
    for e in &exprs {
        let t = Instant::now();
        let ids = db.search(e)?;
        lat.push(t.elapsed());
        ranked.push(ids);
    }
    let p = percentiles(lat);
    Ok(json!({
        "version": rusqlite::version(), "build_s": build_s, "bytes": std::fs::metadata(&path)?.len(),
        "p50_ms": p.p50, "p99_ms": p.p99, "recall5": recall(&queries, &ranked), "peak_rss_mb": peak_rss_mb(),
    }))
}

/// Runs `benches/peers/xapian_bench.py` on claims and queries written to TSV files; returns
/// its JSON summary and the rankings per query id.
fn xapian(
    work: &Path,
    tag: &str,
    docs: impl Iterator<Item = (String, String)>,
    queries: &[(String, String)],
) -> Res<(Value, HashMap<String, Vec<String>>)> {
    let claims_tsv = work.join(format!("{tag}-claims.tsv"));
    let queries_tsv = work.join(format!("{tag}-queries.tsv"));
    let run_tsv = work.join(format!("{tag}-run.tsv"));
    let db = work.join(format!("{tag}-xapian"));
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&claims_tsv)?);
    for (id, body) in docs {
        writeln!(w, "{id}\t{}", clean(&body))?;
    }
    w.flush()?;
    let pq = PeerQuery::new();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&queries_tsv)?);
    for (qid, text) in queries {
        writeln!(w, "{qid}\t{}", pq.terms(text).join(" "))?;
    }
    w.flush()?;
    drop(w);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/xapian_bench.py");
    let out = Command::new(python).arg(script).args([&claims_tsv, &queries_tsv, &run_tsv, &db]).output()?;
    std::io::stderr().write_all(&out.stderr)?;
    if !out.status.success() {
        return Err(format!("xapian_bench.py failed ({}): is python3-xapian installed?", out.status).into());
    }
    let summary: Value = serde_json::from_str(String::from_utf8(out.stdout)?.lines().last().ok_or("no output")?)?;
    let mut ranked: HashMap<String, Vec<String>> = HashMap::new();
    for line in std::fs::read_to_string(&run_tsv)?.lines() {
        let mut cols = line.split('\t');
        if let (Some(q), Some(c)) = (cols.next(), cols.next()) {
            ranked.entry(q.to_string()).or_default().push(c.to_string());
        }
    }
    let _ = std::fs::remove_dir_all(&db);
    Ok((summary, ranked))
}

fn xapian_scale(n: usize, work: &Path) -> Res<Value> {
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let queries = g.queries(n, QUERIES_EACH);
    let qs: Vec<(String, String)> = queries.iter().enumerate().map(|(i, q)| (i.to_string(), q.text.clone())).collect();
    let (mut summary, run) = xapian(work, &format!("scale{n}"), peer_docs(g.corpus(n)), &qs)?;
    let ranked: Vec<Vec<String>> =
        (0..queries.len()).map(|i| run.get(&i.to_string()).cloned().unwrap_or_default()).collect();
    summary["recall5"] = json!(recall(&queries, &ranked));
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// Retrieval quality: MAP@5 on CheckThat! 2020 dev, with claimdex's own metric code

struct Dev2020 {
    claims: PathBuf,
    queries: Vec<claimdex::eval::Query>,
    qrels: claimdex::eval::Qrels,
}

fn dev2020() -> Res<Dev2020> {
    let d = gen::data_dir().join("checkthat2020");
    let qrels = claimdex::eval::read_qrels(&d.join("dev/tweet-vclaim-pairs.qrels"))?;
    let queries = claimdex::eval::read_queries(&d.join("dev/tweets.queries.tsv"))?
        .into_iter()
        .filter(|q| qrels.contains_key(&q.id))
        .collect();
    Ok(Dev2020 { claims: d.join("verified_claims.docs.tsv"), queries, qrels })
}

impl Dev2020 {
    fn docs(&self) -> Res<impl Iterator<Item = (String, String)>> {
        let records: Vec<Record> =
            claimdex::ingest::read_paths(std::slice::from_ref(&self.claims), false)?.collect::<Result<_, _>>()?;
        Ok(peer_docs(records.into_iter()))
    }

    /// MAP@5 of rankings given per query, as `claimdex eval` computes it ("as is").
    fn map5(&self, ranked: impl Fn(&claimdex::eval::Query) -> Vec<String>) -> f64 {
        let mut sum = 0.0;
        for q in &self.queries {
            let gold = &self.qrels[&q.id];
            let flags: Vec<bool> = ranked(q).iter().map(|id| gold.contains(id)).collect();
            sum += claimdex::eval::average_precision(&flags, gold.len(), 5);
        }
        sum / self.queries.len().max(1) as f64
    }
}

fn child_quality() -> Res<Value> {
    let dev = dev2020()?;
    let idx = ClaimIndex::create_in_ram()?;
    idx.ingest(
        claimdex::ingest::read_paths(std::slice::from_ref(&dev.claims), false)?,
        IngestOptions::default(),
        &mut |_| {},
    )?;
    let (report, _) = claimdex::eval::evaluate(&idx, &dev.queries, &dev.qrels, &Default::default(), None, None)?;
    idx.set_match_config(MatchConfig::screening());
    let (screen, _) = claimdex::eval::evaluate(&idx, &dev.queries, &dev.qrels, &Default::default(), None, None)?;

    let dir = tempfile::tempdir()?;
    let db = Fts5::build(&dir.path().join("dev.db"), dev.docs()?)?;
    let pq = PeerQuery::new();
    let sqlite_map5 = dev.map5(|q| db.search(&pq.fts5(&q.text)).unwrap_or_default());
    Ok(json!({
        "queries": dev.queries.len(), "claimdex_map5": report.as_is.map5, "sqlite_map5": sqlite_map5,
        "claimdex_screen_map5": screen.as_is.map5,
        "sqlite_version": rusqlite::version(),
    }))
}

fn xapian_quality(work: &Path) -> Res<(f64, Value)> {
    let dev = dev2020()?;
    let qs: Vec<(String, String)> = dev.queries.iter().map(|q| (q.id.clone(), q.text.clone())).collect();
    let (summary, run) = xapian(work, "dev2020", dev.docs()?, &qs)?;
    Ok((dev.map5(|q| run.get(&q.id).cloned().unwrap_or_default()), summary))
}

// ---------------------------------------------------------------------------------------------
// Corpus files for the HTTP benchmark

/// `each` paraphrases of the first `n` generated claims and `each` unrelated statements, as
/// `TARGET<TAB>statement` lines (TARGET empty for the unrelated), for `cargo bench --bench
/// configs` to measure R@5 on an index of the same `n` claims (`--keep`).
fn emit_queries(n: usize, each: usize, file: &Path) -> Res<()> {
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let mut w = std::io::BufWriter::new(std::fs::File::create(file)?);
    for q in g.queries(n, each) {
        writeln!(w, "{}\t{}", q.target.unwrap_or_default(), q.text.replace(['\t', '\n', '\r'], " "))?;
    }
    w.flush()?;
    Ok(())
}

fn emit(n: usize, dir: &Path) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let pools = Pools::load(&gen::data_dir())?;
    let g = Generator::new(&pools, SEED);
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("corpus.jsonl"))?);
    for r in g.corpus(n) {
        serde_json::to_writer(&mut w, &r)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("statements.txt"))?);
    for q in g.queries(n, QUERIES_EACH) {
        writeln!(w, "{}", q.text.replace(['\t', '\n', '\r'], " "))?;
    }
    w.flush()?;
    eprintln!("scale: wrote {n} claims to {}", dir.display());
    Ok(())
}

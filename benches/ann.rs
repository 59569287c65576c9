//! Recall and speed of the int8 vector scan with exact rescoring (`claimdex::vectors`) against
//! exact search, on real claim vectors and real query embeddings.
//!
//! ```text
//! cargo bench --bench ann -- INDEX_DIR QUERIES_TSV [MAX_QUERIES]
//! cargo bench --bench ann -- INDEX_DIR QUERIES_TSV [MAX_QUERIES] --scan-at 1000000
//! ```
//!
//! INDEX_DIR is a hybrid claimdex index (its `vector` column is read with tantivy directly, so an
//! index built by an older schema works too); the queries are embedded with the MiniLM model in
//! `$CLAIMDEX_MODEL_DIR` or `models/all-MiniLM-L6-v2`, as `match` embeds statements.
//!
//! `--scan-at N` also times the int8 scan over N claims, more than the index holds: the real
//! claims' vectors repeated, each copy with its dimensions rotated (so that no two copies score
//! alike), to see how the scan grows with the corpus without embedding a million claims. Only
//! time is reported for it (its vectors are not real claims, so recall would mean nothing).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use claimdex::vectors::{
    exact_similarity, prefilter_keep, Quantized, ALL_VECTORS, DIM, PER_CLAIM, PREFILTER_MIN, PREFILTER_SHARE,
    RESCORE_FACTOR, RESCORE_MIN,
};
use claimdex::Embedder;

// mimalloc, as the claimdex binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("ann: {e}");
        std::process::exit(1);
    }
}

/// Every claim's f32 vectors, in segment and document order.
fn load_vectors(dir: &Path) -> Res<Vec<Vec<f32>>> {
    let index = tantivy::Index::open_in_dir(dir)?;
    let searcher = index.reader()?.searcher();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for seg in searcher.segment_readers() {
        let Some(col) = seg.fast_fields().bytes(claimdex::schema::FIELD_VECTOR)? else { continue };
        for doc in 0..seg.max_doc() {
            if seg.is_deleted(doc) {
                continue;
            }
            if let Some(ord) = col.term_ords(doc).next() {
                buf.clear();
                col.ord_to_bytes(ord, &mut buf)?;
                let v: Vec<f32> = buf.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                if v.len() == PER_CLAIM * DIM {
                    out.push(v);
                }
            }
        }
    }
    Ok(out)
}

fn median(mut d: Vec<Duration>) -> f64 {
    d.sort();
    d.get(d.len() / 2).map_or(f64::NAN, |x| x.as_secs_f64() * 1e3)
}

fn run() -> Res<()> {
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let scan_at: Option<usize> = match args.iter().position(|a| a == "--scan-at") {
        Some(i) if i + 1 < args.len() => {
            let n = args[i + 1].parse()?;
            args.drain(i..i + 2);
            Some(n)
        }
        Some(_) => return Err("--scan-at N".into()),
        None => None,
    };
    let [dir, queries, rest @ ..] = args.as_slice() else {
        return Err("usage: ann INDEX_DIR QUERIES_TSV [MAX_QUERIES]".into());
    };
    let max: usize = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let model = match std::env::var_os(claimdex::embed::MODEL_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"),
    };
    let claims = load_vectors(Path::new(dir))?;
    let mut q8 = Quantized::default();
    for c in &claims {
        q8.push(c);
    }
    let embedder = Embedder::load(&model)?;
    let texts: Vec<String> =
        claimdex::eval::read_queries(Path::new(queries))?.into_iter().take(max).map(|q| q.text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let qvecs = embedder.embed(&refs)?;
    println!("{} claims with vectors, {} queries", claims.len(), qvecs.len());
    q8.build_prefilter();
    println!("| k | rescored | sign-bit share | recall@k | top-1 same | exact scan ms (median) | int8 scan + rescore ms (median) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    // share 1: the int8 scan of every claim; otherwise the sign bits keep as many vectors as
    // one claim in `share` has for it (and at least as many as the claims rescored), as `scan` does in segments of PREFILTER_MIN
    // claims or more, whatever the size of this index. `scan` also keeps at least
    // PREFILTER_FACTOR × rescored, which here would be most of the index; at a million claims
    // the share decides, so these rows keep the share alone to show what it loses.
    for (k, share) in
        [(10, 1), (100, 1), (10, PREFILTER_SHARE), (100, PREFILTER_SHARE), (20, 38), (10, 48), (100, 48), (20, 75)]
    {
        let n = (k * RESCORE_FACTOR).max(RESCORE_MIN);
        let (mut found, mut top1) = (0usize, 0usize);
        let (mut t_exact, mut t_approx) = (Vec::new(), Vec::new());
        for q in &qvecs {
            let t = Instant::now();
            let mut exact: Vec<(usize, f32)> =
                claims.iter().enumerate().map(|(i, c)| (i, exact_similarity(c, q))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1));
            exact.truncate(k);
            t_exact.push(t.elapsed());
            let t = Instant::now();
            let found_int8 = if share == 1 {
                q8.scan_among(q, n, (0..q8.len()).map(|i| (i, ALL_VECTORS)), |_| false)
            } else {
                let keep = (q8.len() / share).max(n);
                q8.scan_among(q, n, q8.prefilter(q, keep).into_iter(), |_| false)
            };
            let mut approx: Vec<(usize, f32)> =
                found_int8.into_iter().map(|(i, _)| (i, exact_similarity(&claims[i], q))).collect();
            approx.sort_by(|a, b| b.1.total_cmp(&a.1));
            approx.truncate(k);
            t_approx.push(t.elapsed());
            // Ties at the k-th score count as found.
            let kth = exact.last().map_or(f32::NEG_INFINITY, |e| e.1);
            found += approx.iter().filter(|a| a.1 >= kth).count().min(k);
            top1 += (approx.first().map(|a| a.1) == exact.first().map(|e| e.1)) as usize;
        }
        println!(
            "| {k} | {n} | {} | {:.4} | {:.3} | {:.2} | {:.2} |",
            if share == 1 { "-".to_string() } else { format!("1/{share}") },
            found as f64 / (k * qvecs.len()) as f64,
            top1 as f64 / qvecs.len() as f64,
            median(t_exact),
            median(t_approx)
        );
    }
    if let Some(n) = scan_at {
        let mut big = Quantized::default();
        let mut rotated = vec![0f32; PER_CLAIM * DIM];
        for i in 0..n {
            let (c, copy) = (&claims[i % claims.len()], i / claims.len());
            for (j, r) in rotated.iter_mut().enumerate() {
                let (v, d) = (j / DIM, j % DIM);
                *r = c[v * DIM + (d + copy) % DIM];
            }
            big.push(&rotated);
        }
        if n >= PREFILTER_MIN {
            big.build_prefilter(); // as a segment of that size does on loading
        }
        let rescored = (10 * RESCORE_FACTOR).max(RESCORE_MIN);
        let kept = if n >= PREFILTER_MIN { prefilter_keep(n, rescored) } else { n };
        let (mut full, mut filtered, mut bits, mut same) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
        for q in &qvecs {
            let t = Instant::now();
            std::hint::black_box(big.prefilter(q, kept));
            bits.push(t.elapsed());
            let t = Instant::now();
            let a =
                std::hint::black_box(big.scan_among(q, rescored, (0..big.len()).map(|i| (i, ALL_VECTORS)), |_| false));
            full.push(t.elapsed());
            let t = Instant::now();
            let b = std::hint::black_box(big.scan(q, rescored, |_| false));
            filtered.push(t.elapsed());
            same += b.iter().filter(|x| a.iter().any(|y| y.0 == x.0)).count();
        }
        println!(
            "\n{n} claims, the {rescored} best: the int8 scan of all ({} MB of codes), median {:.2} ms; \
             `scan` (the sign bits keep {kept} vectors for the int8 scan), median {:.2} ms, of which the \
             sign bits {:.2} ms; {:.3} of its claims are the full scan's",
            (n * PER_CLAIM * DIM) >> 20,
            median(full),
            median(filtered),
            median(bits),
            same as f64 / (rescored * qvecs.len()) as f64
        );
    }
    Ok(())
}

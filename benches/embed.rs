//! Embedding latency and throughput: each statement on its own (as `POST /api/match` embeds
//! one), then all of them in one call (as ingest and `match/batch` do).
//!
//! ```text
//! cargo bench --bench embed -- STATEMENTS [N]
//! ```
//!
//! STATEMENTS has one statement a line (the first N, 200 by default, are used). The model is
//! loaded from `models/all-MiniLM-L6-v2` or `$CLAIMDEX_MODEL_DIR`. Prints the p50, p90 and mean
//! of one statement in ms after 20 warm-up statements, then the statements per second of the
//! batch, best of three.

use std::time::Instant;

use claimdex::embed::Embedder;

// mimalloc, as the claimdex binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = run() {
        eprintln!("embed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [statements, rest @ ..] = args.as_slice() else {
        return Err("usage: embed STATEMENTS [N]".into());
    };
    let n: usize = rest.first().map(|n| n.parse()).transpose()?.unwrap_or(200);
    let text = std::fs::read_to_string(statements)?;
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, s)| s))
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect();
    if lines.is_empty() {
        return Err(format!("{statements}: no statements").into());
    }
    let embedder = Embedder::load(&Embedder::default_dir())?;
    for line in lines.iter().cycle().take(20) {
        embedder.embed_one(line)?;
    }
    let mut ms = Vec::with_capacity(lines.len());
    for line in &lines {
        let start = Instant::now();
        std::hint::black_box(embedder.embed_one(line)?);
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "one at a time: {} statements, p50 {:.2} ms, p90 {:.2} ms, mean {mean:.2} ms",
        ms.len(),
        ms[ms.len() / 2],
        ms[ms.len() * 9 / 10]
    );
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        std::hint::black_box(embedder.embed(&lines)?);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("one batch: {:.0} statements/s", lines.len() as f64 / best);
    Ok(())
}

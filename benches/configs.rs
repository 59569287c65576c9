//! Match latency of one index under several match settings, side by side in one process.
//!
//! ```text
//! cargo bench --bench configs -- INDEX STATEMENTS [SETTINGS ...]
//! cargo bench --bench configs -- /tmp/idx2021 sentences.txt "" evidence_candidates=0 evidence_weight=0
//! ```
//!
//! STATEMENTS has one statement a line, or `TARGET<TAB>statement` lines (as `cargo bench --bench
//! scale -- --emit-queries` writes them; TARGET is the id of the claim the statement repeats, or
//! empty): then the table also gives each setting's R@5, the share of statements with a target
//! that find it among their 5 hits (first round). Each SETTINGS argument is a comma-separated list of
//! `name=value` match settings (as `claimdex eval --set`), applied on top of the defaults; `""`
//! is the defaults. Every statement is matched once per setting, without evidence in the result
//! (as a pipeline screening sentences would ask), after 50 warm-up matches; the table gives the
//! p50, p90 and p99 latency in ms and the mean. The settings take turns in rounds (three by
//! default, `ROUNDS=N`) so that a change in the machine's load hits all of them alike; the
//! figures are over all rounds. The index is opened without the semantic model (lexical
//! matching) unless `HYBRID=1`, which loads it as `claimdex` does; each statement is then
//! embedded on its own, as `POST /api/match` does. `DATE=YYYY-MM-DD` dates every statement, as
//! a debate's sentences are dated (claims checked later are left out); `CONTEXT=1` gives each
//! statement the line before it as its context, as a transcript's sentences have.

use std::path::Path;
use std::time::Instant;

use claimdex::{ClaimIndex, MatchRequest};

// mimalloc, as the claimdex binary uses.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = run() {
        eprintln!("configs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [index, statements, settings @ ..] = args.as_slice() else {
        return Err("usage: configs INDEX STATEMENTS [SETTINGS ...]".into());
    };
    let mut idx = ClaimIndex::open_in_dir(Path::new(index))?;
    if std::env::var("HYBRID").is_ok_and(|v| v == "1") {
        idx =
            idx.with_embedder(claimdex::embed::load_default().ok_or("HYBRID=1 but no model (scripts/fetch-model.sh)")?);
    }
    let text = std::fs::read_to_string(statements)?;
    let lines: Vec<(Option<&str>, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((t, s)) => (Some(t.trim()).filter(|t| !t.is_empty()), s),
            None => (None, l),
        })
        .collect();
    let with_target = lines.iter().filter(|l| l.0.is_some()).count();
    let settings: Vec<String> = if settings.is_empty() { vec![String::new()] } else { settings.to_vec() };
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    // DATE=YYYY-MM-DD: every statement is dated, as a debate's sentences are (claims checked
    // after it are left out).
    let date: Option<claimdex::PartialDate> = match std::env::var("DATE") {
        Ok(d) if !d.is_empty() => Some(d.parse().map_err(|e| format!("DATE: {e}"))?),
        _ => None,
    };
    // CONTEXT=1: each statement gets the line before it as its context, as a transcript's do.
    let context = std::env::var("CONTEXT").is_ok_and(|v| v == "1");
    let defaults = idx.match_config();
    let mut configs = Vec::new();
    for s in &settings {
        let mut c = defaults.clone();
        for kv in s.split(',').filter(|kv| !kv.trim().is_empty()) {
            c.set(kv)?;
        }
        configs.push(c);
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut found = vec![0usize; configs.len()];
    for round in 0..rounds {
        for ((c, t), found) in configs.iter().zip(&mut times).zip(&mut found) {
            idx.set_match_config(c.clone());
            let warmup = if round == 0 { 50 } else { 0 };
            for (_, s) in lines.iter().take(warmup) {
                idx.match_claims(&MatchRequest::new(*s))?;
            }
            for (i, (target, s)) in lines.iter().enumerate() {
                let context = (context && i > 0).then(|| lines[i - 1].1.to_string());
                let req = MatchRequest { no_evidence: true, date, context, ..MatchRequest::new(*s) };
                let start = Instant::now();
                let res = idx.match_claims(&req)?;
                t.push(start.elapsed().as_secs_f64() * 1e3);
                if round == 0 && target.is_some_and(|id| res.hits.iter().take(5).any(|h| h.claim.id == id)) {
                    *found += 1;
                }
            }
        }
    }
    println!("{} statements × {rounds} rounds, {index}\n", lines.len());
    let recall = with_target > 0;
    if recall {
        println!("| settings | p50 ms | p90 ms | p99 ms | mean ms | R@5 |\n|---|---:|---:|---:|---:|---:|");
    } else {
        println!("| settings | p50 ms | p90 ms | p99 ms | mean ms |\n|---|---:|---:|---:|---:|");
    }
    for ((s, mut t), found) in settings.iter().zip(times).zip(found) {
        t.sort_by(f64::total_cmp);
        let q = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize];
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let name = if s.is_empty() { "(defaults)" } else { s.as_str() };
        let r5 = if recall { format!(" {:.4} |", found as f64 / with_target as f64) } else { String::new() };
        println!("| `{name}` | {:.2} | {:.2} | {:.2} | {mean:.2} |{r5}", q(0.5), q(0.9), q(0.99));
    }
    Ok(())
}

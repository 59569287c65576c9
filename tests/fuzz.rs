//! Stable-Rust fuzzing: the cargo-fuzz targets of `fuzz/targets.rs`, driven by a seeded
//! mutator (xorshift; no fuzzing crate) for a bounded time. `scripts/fuzz.sh` runs the long,
//! ignored `fuzz_for_a_while`; `cargo test` runs a one-second smoke pass per target and replays
//! every saved crash under `fuzz/regressions/<target>/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "../fuzz/targets.rs"]
mod targets;

/// Inputs are cut to this size after mutation.
const MAX_INPUT: usize = 64 * 1024;
/// An input that takes longer than this is reported as a hang.
const SLOW: Duration = Duration::from_secs(2);

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "\"\"",
    "{}",
    "[]",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "\u{202e}",
    "\u{feff}",
    "\u{0}",
    "\n",
    "\r\n",
    " ",
];
const CLAIMREVIEW_TOKENS: &[&str] = &[
    "\"@type\": \"ClaimReview\"",
    "\"@graph\": [",
    "\"claimReviewed\": ",
    "\"reviewRating\": {",
    "\"author\": ",
    "\"itemReviewed\": {",
    "\"datePublished\": \"2021-02-30\"",
    "\"dataFeedElement\": [",
    "\"ratingValue\": ",
    "\"bestRating\": \"0\"",
    "\"worstRating\": 5",
    "\"alternateName\": ",
    "\"url\": ",
    "\"name\": ",
    "\"@id\": ",
    "\"inLanguage\": ",
    "\"appearance\": [",
    "\"firstAppearance\": ",
    "\"@value\": ",
    "\"sameAs\": ",
    "\"@context\": ",
    "\"Organization\"",
    "\"Person\"",
    "\"DataFeed\"",
    "\"DataFeedItem\"",
    "\"Claim\"",
    "\"http://\"",
    "\"https://a.b/c\"",
];
const JSONL_TOKENS: &[&str] = &[
    "\"kind\": \"claim\"",
    "\"kind\": \"evidence\"",
    "\"id\": ",
    "\"text\": ",
    "\"speaker\": ",
    "\"date\": ",
    "\"language\": ",
    "\"verdict\": {",
    "\"label\": ",
    "\"rating\": \"false\"",
    "\"review\": {",
    "\"publisher\": {",
    "\"claims\": [{",
    "\"claim_id\": ",
    "\"stance\": \"refutes\"",
    "\"tags\": [",
    "\"appearances\": [",
];
const DATE_TOKENS: &[&str] = &[
    "2021", "-", "/", ",", ".", " ", "T", "Z", "+05:30", "00", "29", "30", "31", "02", "12", "13", "0000", "9999",
    "99999", "-1", "January", "Feb.", "Sept", "december", "Mai", "1st", "22nd", "3rd", "th", "of", "\u{0660}", "٢",
];
const QUERY_TOKENS: &[&str] = &[
    " AND ",
    " OR ",
    " NOT ",
    "\"",
    "(",
    ")",
    ":",
    "^",
    "^2.5",
    "~",
    "~3",
    "*",
    "[",
    " TO ",
    "]",
    "{",
    "}",
    "+",
    "-",
    "\\",
    "'",
    "speaker:",
    "date:",
    "id:",
    "kind:",
    "verdict:",
    "publisher:",
    "text:",
    " IN [",
    "amnesty",
    "taliban",
    "the",
    "of",
    "é",
    "\u{202e}",
    "\u{0}",
    "{\"text\": ",
    "\"limit\": ",
    "\"offset\": ",
    "\"filters\": {",
    "\"verdicts\": [\"false\"]",
    "\"from\": \"2021\"",
    "\"to\": \"1999\"",
    "\"date\": ",
];

fn tokens(target: &str) -> Vec<&'static str> {
    let specific = match target {
        "claimreview" => CLAIMREVIEW_TOKENS,
        "jsonl" => JSONL_TOKENS,
        "date" => DATE_TOKENS,
        _ => QUERY_TOKENS,
    };
    let mut t = specific.to_vec();
    if target != "date" {
        t.extend_from_slice(JSON_TOKENS);
    }
    t
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let root = targets::repo_root();
    let read_dir = |dir: &Path| -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        files.into_iter().filter(|p| p.is_file()).map(|p| std::fs::read(p).unwrap()).collect()
    };
    match target {
        "claimreview" => read_dir(&root.join("tests/fixtures/claimreview")),
        "jsonl" => {
            let corpus = std::fs::read(root.join("corpus/polygraph-taliban-amnesty.jsonl")).unwrap();
            let mut s: Vec<Vec<u8>> = corpus.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            s.push(corpus);
            s
        }
        // The same hand-made seeds as the libFuzzer runs (scripts/fuzz.sh).
        "date" => read_dir(&root.join("fuzz/seeds/date")),
        _ => read_dir(&root.join("fuzz/seeds/query")),
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], tokens: &[&str]) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = *rng.pick(&[0u8, b'"', b'\\', b'{', b'[', b'\n', 0x7f, 0x80, 0xff, b'9', b'-', b' ']);
            }
            2 | 3 => {
                let t = rng.pick(tokens).as_bytes();
                input.splice(at..at, t.iter().copied());
            }
            4 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                input.drain(at.min(end)..end);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let chunk: Vec<u8> = input[start..end].to_vec();
                input.splice(at..at, chunk);
            }
            6 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len());
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => input.truncate(rng.below(len)),
            8 => {
                let digits = 1 + rng.below(40);
                let n: Vec<u8> = (0..digits).map(|_| b'0' + rng.below(10) as u8).collect();
                input.splice(at..at, n);
            }
            _ => {
                let t = rng.pick(tokens).as_bytes();
                let end = (at + rng.below(16)).min(len);
                input.splice(at..end, t.iter().copied());
            }
        }
    }
    input.truncate(MAX_INPUT);
}

/// What a run found.
#[derive(Debug, Default)]
struct Run {
    inputs: u64,
    crashes: Vec<PathBuf>,
    slow: Vec<PathBuf>,
    slowest: Duration,
}

fn save(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = targets::repo_root().join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    let path = dir.join(format!("{kind}-{hash:016x}"));
    std::fs::write(&path, input).unwrap();
    path
}

fn fuzz(target: &str, f: fn(&[u8]), seed: u64, budget: Duration) -> Run {
    let seeds = seeds(target);
    let tokens = tokens(target);
    let mut rng = Rng::new(seed ^ target.bytes().fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)));
    let mut run = Run::default();
    let start = Instant::now();
    // The seeds themselves first.
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    while start.elapsed() < budget {
        let input = queue.pop().unwrap_or_else(|| {
            let mut x = rng.pick(&seeds).clone();
            mutate(&mut rng, &mut x, &seeds, &tokens);
            x
        });
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&input)));
        let took = t.elapsed();
        run.inputs += 1;
        run.slowest = run.slowest.max(took);
        if outcome.is_err() {
            run.crashes.push(save(target, "crash", &input));
        } else if took > SLOW {
            run.slow.push(save(target, "slow", &input));
        }
    }
    run
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The long run: `FUZZ_SECONDS` (default 60) per target, `FUZZ_TARGETS` (comma-separated,
/// default all), `FUZZ_SEED` (default 1). Run by `scripts/fuzz.sh --stable`.
#[test]
#[ignore = "long: run by scripts/fuzz.sh"]
fn fuzz_for_a_while() {
    let secs: u64 = env_or("FUZZ_SECONDS", 60);
    let seed: u64 = env_or("FUZZ_SEED", 1);
    let only = std::env::var("FUZZ_TARGETS").unwrap_or_default();
    // Panics are caught and saved; their messages would drown the summary.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| eprintln!("fuzz: panic: {info}")));
    let mut crashes = 0;
    for (name, f) in targets::TARGETS {
        if !only.is_empty() && !only.split(',').any(|t| t.trim() == *name) {
            continue;
        }
        let start = Instant::now();
        let run = fuzz(name, *f, seed, Duration::from_secs(secs));
        println!(
            "fuzz {name}: {} inputs in {:.1} s, {} crashes, {} slow (> {} s), slowest {} ms, seed {seed}",
            run.inputs,
            start.elapsed().as_secs_f64(),
            run.crashes.len(),
            run.slow.len(),
            SLOW.as_secs(),
            run.slowest.as_millis()
        );
        for p in run.crashes.iter().chain(&run.slow) {
            println!("  saved {}", p.display());
        }
        crashes += run.crashes.len() + run.slow.len();
    }
    std::panic::set_hook(default_hook);
    assert_eq!(crashes, 0, "the fuzzer found crashes or hangs; see the saved inputs");
}

/// A short pass per target in every `cargo test`.
#[test]
fn fuzz_smoke() {
    for (name, f) in targets::TARGETS {
        let run = fuzz(name, *f, 7, Duration::from_millis(400));
        assert!(run.crashes.is_empty() && run.slow.is_empty(), "{name}: {run:?}");
        assert!(run.inputs > 0);
    }
}

/// Inputs that once crashed or hung a target, kept in `fuzz/regressions/<target>/`: each must
/// pass, and within the fuzzers' hang limit.
#[test]
fn fuzz_regressions() {
    let root = targets::repo_root().join("fuzz/regressions");
    let mut replayed = 0;
    for (name, f) in targets::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(name)) else { continue };
        // The query target builds its index on first use; keep that out of the timing.
        f(b"warm up");
        for e in entries.flatten() {
            let input = std::fs::read(e.path()).unwrap();
            let start = Instant::now();
            if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
                panic!("{name}: {} crashes again", e.path().display());
            }
            assert!(start.elapsed() < SLOW, "{name}: {} took {:?}", e.path().display(), start.elapsed());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no regression inputs found under {}", root.display());
}

//! Scale corpus generator for `benches/scale.rs`: synthetic claims, evidence and query sets
//! recombined from the real CheckThat! claims, speakers, verdicts, titles and article passages.
//!
//! Deterministic by seed: claim `i` is drawn from its own PRNG stream, so any claim (and the
//! paraphrased query made from it) can be regenerated without keeping the corpus in memory.

use std::path::{Path, PathBuf};

use claimdex::{Claim, ClaimLink, Evidence, Publisher, Record, Review, Stance, Verdict};

/// Evidence passages attached to each generated claim.
pub const EVIDENCE_PER_CLAIM: usize = 5;

/// xorshift64* seeded through splitmix64: small, fast and good enough for sampling.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 scrambles the seed so that neighbouring seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The real material that synthetic claims are recombined from.
pub struct Pools {
    /// Claim statements (2021-2B PolitiFact and 2020 Snopes).
    pub claims: Vec<String>,
    /// Fact-check headlines.
    pub titles: Vec<String>,
    /// Speakers.
    pub speakers: Vec<String>,
    /// Verdict labels as published.
    pub labels: Vec<String>,
    /// Article passages (a few sentences each).
    pub passages: Vec<String>,
    /// Debate transcript lines: statements that repeat no claim.
    pub transcript_lines: Vec<String>,
}

/// The shared data directory (`../shared/data` from the crate, or `$CLAIMDEX_DATA`).
pub fn data_dir() -> PathBuf {
    match std::env::var_os("CLAIMDEX_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

/// Most passages taken from one article (keeps the pool small and varied).
const PASSAGES_PER_ARTICLE: usize = 4;

impl Pools {
    /// Reads the pools from the CheckThat! sets under `data`.
    pub fn load(data: &Path) -> claimdex::Result<Pools> {
        let mut p = Pools {
            claims: vec![],
            titles: vec![],
            speakers: vec![],
            labels: vec![],
            passages: vec![],
            transcript_lines: vec![],
        };
        let sources =
            [data.join("checkthat2021-2b/vclaims.jsonl.gz"), data.join("checkthat2020/verified_claims.docs.tsv")];
        let mut last_claim = String::new();
        let mut taken = 0;
        for record in claimdex::ingest::read_paths(&sources, false)? {
            match record? {
                Record::Claim(c) => {
                    last_claim = c.id.clone();
                    taken = 0;
                    p.claims.push(c.text);
                    if let Some(s) = c.speaker {
                        p.speakers.push(s);
                    }
                    if let Some(v) = c.verdict {
                        p.labels.push(v.label);
                    }
                    if let Some(t) = c.review.and_then(|r| r.title) {
                        p.titles.push(t);
                    }
                }
                Record::Evidence(e) => {
                    let ours = e.claims.iter().any(|l| l.claim_id == last_claim);
                    if ours && taken < PASSAGES_PER_ARTICLE && e.text.len() >= 80 {
                        p.passages.push(e.text);
                        taken += 1;
                    }
                }
            }
        }
        let transcripts = claimdex::eval::read_transcripts(&data.join("checkthat2021-2b/transcripts/train_dev"))?;
        for t in transcripts.values() {
            p.transcript_lines.extend(t.lines.iter().map(|l| l.text.clone()).filter(|s| s.len() >= 40));
        }
        Ok(p)
    }
}

/// Generates claims, evidence and queries from the pools.
pub struct Generator<'a> {
    pools: &'a Pools,
    seed: u64,
}

/// A statement to match and the generated claim it repeats, if any.
#[derive(Debug, Clone)]
pub struct GenQuery {
    /// The statement.
    pub text: String,
    /// The id of the claim it paraphrases (None for unrelated sentences).
    pub target: Option<String>,
}

impl<'a> Generator<'a> {
    /// A generator over `pools` with `seed`.
    pub fn new(pools: &'a Pools, seed: u64) -> Self {
        Generator { pools, seed }
    }

    fn rng(&self, stream: u64, i: u64) -> XorShift {
        XorShift::new(self.seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407) ^ i.wrapping_mul(0x9FB2_1C65_1E98_DF25))
    }

    /// The id of claim `i`.
    pub fn claim_id(i: usize) -> String {
        format!("gen-{i:07}")
    }

    /// The statement of claim `i`: a real claim with one to three spans of one to three words
    /// replaced by spans of another real claim.
    pub fn claim_text(&self, i: usize) -> String {
        let mut rng = self.rng(1, i as u64);
        let base: Vec<&str> = rng.pick(&self.pools.claims).split_whitespace().collect();
        let mut words: Vec<&str> = base.clone();
        let swaps = 1 + rng.below(3);
        for _ in 0..swaps {
            let donor: Vec<&str> = rng.pick(&self.pools.claims).split_whitespace().collect();
            let len = 1 + rng.below(3);
            if words.len() <= len || donor.len() <= len {
                continue;
            }
            let at = rng.below(words.len() - len);
            let from = rng.below(donor.len() - len);
            words.splice(at..at + len, donor[from..from + len].iter().copied());
        }
        words.join(" ")
    }

    /// Claim `i` and its evidence passages.
    pub fn records(&self, i: usize) -> Vec<Record> {
        let id = Self::claim_id(i);
        let text = self.claim_text(i);
        let mut rng = self.rng(2, i as u64);
        let p = self.pools;
        let claim = Claim {
            id: id.clone(),
            text,
            speaker: Some(rng.pick(&p.speakers).clone()),
            speaker_role: None,
            date: None,
            language: "en".into(),
            appearances: vec![],
            verdict: Some(Verdict::from_label(rng.pick(&p.labels).clone())),
            review: Some(Review {
                publisher: Some(Publisher { name: "PolitiFact".into(), site: Some("politifact.com".into()) }),
                url: Some(format!("https://example.org/factchecks/{id}")),
                title: Some(rng.pick(&p.titles).clone()),
                date: None,
                summary: None,
            }),
            tags: vec![],
        };
        let mut out = Vec::with_capacity(1 + EVIDENCE_PER_CLAIM);
        out.push(Record::Claim(claim));
        for k in 0..EVIDENCE_PER_CLAIM {
            out.push(Record::Evidence(Evidence {
                id: format!("{id}-e{k}"),
                text: rng.pick(&p.passages).clone(),
                source: Some("PolitiFact".into()),
                url: None,
                date: None,
                language: "en".into(),
                claims: vec![ClaimLink { claim_id: id.clone(), stance: Stance::Context }],
            }));
        }
        out
    }

    /// All records of a corpus of `n` claims, streamed.
    pub fn corpus(&self, n: usize) -> impl Iterator<Item = Record> + '_ {
        (0..n).flat_map(move |i| self.records(i))
    }

    /// A paraphrased repeat of a random claim among the first `n`: about one word in seven
    /// dropped and one or two neighbouring words swapped.
    pub fn paraphrase(&self, n: usize, q: usize) -> GenQuery {
        let mut rng = self.rng(3, q as u64);
        let target = rng.below(n);
        let text = self.claim_text(target);
        let mut words: Vec<&str> = text.split_whitespace().collect();
        if words.len() > 4 {
            words.retain(|_| !rng.chance(0.15));
        }
        for _ in 0..1 + rng.below(2) {
            if words.len() > 2 {
                let at = rng.below(words.len() - 1);
                words.swap(at, at + 1);
            }
        }
        GenQuery { text: words.join(" "), target: Some(Self::claim_id(target)) }
    }

    /// A debate transcript line: a statement that repeats none of the generated claims (most of
    /// the time; a few real politicians' lines do echo checked claims).
    pub fn unrelated(&self, q: usize) -> GenQuery {
        let mut rng = self.rng(4, q as u64);
        GenQuery { text: rng.pick(&self.pools.transcript_lines).clone(), target: None }
    }

    /// `each` paraphrases and `each` unrelated statements, interleaved.
    pub fn queries(&self, n: usize, each: usize) -> Vec<GenQuery> {
        (0..each).flat_map(|q| [self.paraphrase(n, q), self.unrelated(q)]).collect()
    }
}

//! A query adapter: a linear map applied to a statement's embedding before it is compared with
//! the claims', learned from training queries and the claims they repeat.
//!
//! all-MiniLM-L6-v2 was trained on general sentence pairs. A tweet and the fact-check of the claim
//! it repeats, or a debate sentence and a PolitiFact claim, differ in ways the model was never
//! asked to ignore (signatures, hedges, the speaker's own framing). The adapter learns a map `W`
//! (DIM × DIM, started at the identity and held near it by an L2 penalty on `W − I`) so that
//! `normalize(W q)` ranks each training query's claim above all the others in its index
//! (softmax cross-entropy over every claim, at a low temperature). Only statements pass through
//! it: the claims' stored vectors are left as the model makes them, so an index never needs
//! re-embedding when the adapter changes.
//!
//! Like the match models, adapters are chosen per kind of statement. One ships, for statements
//! on their own (trained on the CheckThat! 2020 train tweets). Sentences of a transcript have
//! none by default: one trained on the 2021-2B train debates did not help there (BENCHMARKS.md),
//! but [`ClaimIndex::set_query_adapters`] can set one. `claimdex train-adapter` writes them.

use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, HashMap};

use crate::embed::DIM;
use crate::eval::{request_for, Qrels, Query, Transcript};
use crate::index::ClaimIndex;
use crate::matcher::FastStr;
use crate::{Error, Result};

const MAGIC: &[u8] = b"claimdex query adapter\n";

/// The shipped adapter for statements on their own.
const STATEMENT_BYTES: &[u8] = include_bytes!("query_adapter.bin");

/// What an adapter file says of itself (a JSON line after the magic line).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdapterInfo {
    /// File format version.
    pub version: u32,
    /// The embedding model whose vectors it maps.
    pub model: String,
    /// Dimension of the vectors.
    pub dim: usize,
    /// The training data, in words.
    pub trained_on: String,
    /// The training settings.
    pub options: TrainOptions,
}

/// A learned linear map of statement embeddings (see the module docs).
#[derive(Debug, Clone)]
pub struct QueryAdapter {
    info: AdapterInfo,
    /// Row-major DIM × DIM.
    w: Vec<f32>,
}

/// Settings of [`QueryAdapter::train`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct TrainOptions {
    /// Softmax temperature of the cosine similarities.
    pub temperature: f32,
    /// Weight of the squared distance of `W` from the identity.
    pub l2: f32,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
}

impl Default for TrainOptions {
    /// Chosen by 5-fold cross-validation on CheckThat! 2020 train (dense MAP@5): see BENCHMARKS.md.
    fn default() -> Self {
        TrainOptions { temperature: 0.05, l2: 0.03, steps: 300, learning_rate: 1e-3 }
    }
}

/// The queries of one index and the claims they are compared with.
#[derive(Debug, Clone, Default)]
pub struct TrainingSet {
    /// Every claim's vector, DIM floats each (a claim's statement and title vectors averaged
    /// and normalised).
    pub claims: Vec<f32>,
    /// The queries' embeddings, DIM floats each.
    pub queries: Vec<f32>,
    /// For each query, the indexes (into `claims`) of the claims it repeats; at least one.
    pub gold: Vec<Vec<usize>>,
}

impl TrainingSet {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.gold.len()
    }

    /// Whether there are no queries.
    pub fn is_empty(&self) -> bool {
        self.gold.is_empty()
    }

    /// The queries whose positions `keep` accepts, against the same claims.
    pub fn select(&self, keep: impl Fn(usize) -> bool) -> TrainingSet {
        let mut out = TrainingSet { claims: self.claims.clone(), ..Default::default() };
        for i in (0..self.len()).filter(|&i| keep(i)) {
            out.queries.extend_from_slice(&self.queries[i * DIM..(i + 1) * DIM]);
            out.gold.push(self.gold[i].clone());
        }
        out
    }
}

/// The vector a claim is represented by in training: its statement and title vectors averaged
/// and normalised.
pub fn claim_vector(text: &[f32], title: &[f32]) -> Vec<f32> {
    let mut v: Vec<f32> = text.iter().zip(title).map(|(a, b)| a + b).collect();
    normalize(&mut v);
    v
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn candle_error(e: candle_core::Error) -> Error {
    Error::Model(format!("query adapter: {e}"))
}

impl QueryAdapter {
    /// The identity map (what matching does without an adapter).
    pub fn identity() -> QueryAdapter {
        let mut w = vec![0.0; DIM * DIM];
        for i in 0..DIM {
            w[i * DIM + i] = 1.0;
        }
        QueryAdapter {
            info: AdapterInfo {
                version: 1,
                model: crate::embed::MODEL_NAME.to_string(),
                dim: DIM,
                trained_on: "nothing (identity)".to_string(),
                options: TrainOptions::default(),
            },
            w,
        }
    }

    /// The shipped adapter for statements on their own.
    pub fn shipped_statement() -> QueryAdapter {
        QueryAdapter::from_bytes(STATEMENT_BYTES).expect("the shipped statement adapter is valid (tested)")
    }

    /// What the adapter says of itself.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// Maps a unit vector: `normalize(W v)`.
    pub fn apply(&self, v: &[f32]) -> Vec<f32> {
        let mut out: Vec<f32> = self.w.chunks_exact(DIM).map(|row| crate::embed::cosine(row, v)).collect();
        normalize(&mut out);
        out
    }

    /// Learns an adapter from training sets (each query against its own set's claims).
    pub fn train(sets: &[TrainingSet], options: TrainOptions, trained_on: &str) -> Result<QueryAdapter> {
        let total: usize = sets.iter().map(TrainingSet::len).sum();
        if total == 0 {
            return Err(Error::InvalidRequest("no training queries for the query adapter".to_string()));
        }
        let dev = Device::Cpu;
        let prepared = sets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| prepare(s, &dev))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(candle_error)?;
        let run = || -> candle_core::Result<Vec<f32>> {
            let eye = Tensor::eye(DIM, DType::F32, &dev)?;
            let w = Var::from_tensor(&eye)?;
            let params = ParamsAdamW { lr: options.learning_rate, weight_decay: 0.0, ..Default::default() };
            let mut opt = AdamW::new(vec![w.clone()], params)?;
            for _ in 0..options.steps {
                let mut loss = ((w.as_tensor() - &eye)?.sqr()?.sum_all()? * options.l2 as f64)?;
                for (q, c, mask) in &prepared {
                    let u = q.matmul(&w.as_tensor().t()?)?;
                    let z = u.broadcast_div(&u.sqr()?.sum_keepdim(1)?.sqrt()?)?;
                    let logits = (z.matmul(&c.t()?)? / options.temperature as f64)?;
                    let all = logits.log_sum_exp(1)?;
                    let gold = (&logits + mask)?.log_sum_exp(1)?;
                    loss = (loss + ((all - gold)?.sum_all()? / total as f64)?)?;
                }
                opt.backward_step(&loss)?;
            }
            w.as_tensor().flatten_all()?.to_vec1::<f32>()
        };
        let w = run().map_err(candle_error)?;
        Ok(QueryAdapter {
            info: AdapterInfo {
                version: 1,
                model: crate::embed::MODEL_NAME.to_string(),
                dim: DIM,
                trained_on: trained_on.to_string(),
                options,
            },
            w,
        })
    }

    /// The file form: a magic line, a JSON line of [`AdapterInfo`], then DIM × DIM
    /// little-endian f32s, row by row.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(serde_json::to_string(&self.info).expect("plain data serializes").as_bytes());
        out.push(b'\n');
        for x in &self.w {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Reads the file form of [`to_bytes`](QueryAdapter::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<QueryAdapter> {
        let bad = |why: &str| Error::Model(format!("query adapter: {why}"));
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("not an adapter file"))?;
        let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("no header line"))?;
        let info: AdapterInfo = serde_json::from_slice(&rest[..nl]).map_err(|e| bad(&format!("header: {e}")))?;
        if info.dim != DIM {
            return Err(bad(&format!("dimension {} where the model has {DIM}", info.dim)));
        }
        let data = &rest[nl + 1..];
        if data.len() != DIM * DIM * 4 {
            return Err(bad(&format!("{} bytes of weights where {} are expected", data.len(), DIM * DIM * 4)));
        }
        let w = data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(QueryAdapter { info, w })
    }

    /// Writes the file form.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()).map_err(|e| Error::io(path, e))
    }

    /// Reads a file written by [`save`](QueryAdapter::save).
    pub fn load(path: &Path) -> Result<QueryAdapter> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        QueryAdapter::from_bytes(&bytes).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
    }
}

/// The fold (0..folds) of a group of queries for cross-validation (a stable hash of its key).
pub fn fold_of(group: &str, folds: usize) -> usize {
    // FNV-1a: stable across runs and platforms.
    let h = group.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    (h % folds.max(1) as u64) as usize
}

/// The training set of one index: every claim's vector, and each judged query's embedding as
/// `match` makes it (cleaned, with the previous sentence of its transcript; before any adapter)
/// with the claims it repeats. Also returns the ids of the queries kept, in order. Queries whose
/// claims are all missing from the index are left out.
pub fn training_set(
    index: &ClaimIndex,
    queries: &[Query],
    qrels: &Qrels,
    transcripts: &BTreeMap<String, Transcript>,
) -> Result<(TrainingSet, Vec<String>)> {
    let embedder = index.embedder().ok_or_else(|| {
        Error::Model("the query adapter needs the semantic model (run scripts/fetch-model.sh)".into())
    })?;
    let searcher = index.searcher();
    let mut ids = FastStr::new(&searcher, index.columns(), crate::schema::FIELD_ID);
    let mut set = TrainingSet::default();
    let mut row: HashMap<String, usize> = HashMap::new();
    for (addr, v) in index.vectors().all(&searcher)? {
        let (text, title) = v.split_at(DIM);
        row.insert(ids.first(addr)?, row.len());
        set.claims.extend(claim_vector(text, &title[..DIM]));
    }
    let config = index.match_config();
    let mut texts = Vec::new();
    let mut kept = Vec::new();
    for q in queries {
        let Some(gold) = qrels.get(&q.id) else { continue };
        let gold: Vec<usize> = gold.iter().filter_map(|c| row.get(c).copied()).collect();
        if gold.is_empty() {
            continue;
        }
        texts.push(config.embedding_text(&request_for(q, transcripts, 1)));
        set.gold.push(gold);
        kept.push(q.id.clone());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for v in embedder.embed(&refs)? {
        set.queries.extend(v);
    }
    Ok((set, kept))
}

/// A training set as tensors: queries (n × DIM), claims (m × DIM), and a mask (n × m) that is 0
/// at each query's gold claims and very negative elsewhere.
fn prepare(s: &TrainingSet, dev: &Device) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let n = s.len();
    let m = s.claims.len() / DIM;
    let q = Tensor::from_slice(&s.queries, (n, DIM), dev)?;
    let c = Tensor::from_slice(&s.claims, (m, DIM), dev)?;
    let mut mask = vec![-1e9f32; n * m];
    for (i, gold) in s.gold.iter().enumerate() {
        for &g in gold {
            mask[i * m + g] = 0.0;
        }
    }
    let mask = Tensor::from_vec(mask, (n, m), dev)?;
    Ok((q, c, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64) -> Vec<f32> {
        // A deterministic pseudo-random unit vector.
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut v: Vec<f32> = (0..DIM)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect();
        normalize(&mut v);
        v
    }

    #[test]
    fn identity_leaves_vectors_alone() {
        let v = unit(1);
        let a = QueryAdapter::identity().apply(&v);
        assert!(v.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-6));
    }

    #[test]
    fn file_form_round_trips_and_bad_files_are_refused() {
        let a = QueryAdapter::identity();
        let b = QueryAdapter::from_bytes(&a.to_bytes()).expect("round trip");
        assert_eq!(a.info, b.info);
        assert_eq!(a.w, b.w);
        assert!(QueryAdapter::from_bytes(b"nonsense").is_err());
        let mut short = a.to_bytes();
        short.truncate(short.len() - 4);
        let err = QueryAdapter::from_bytes(&short).expect_err("truncated");
        assert!(err.to_string().contains("bytes of weights"), "{err}");
    }

    #[test]
    fn folds_are_stable_and_spread() {
        assert_eq!(fold_of("20170822_Trump_phoenix", 5), fold_of("20170822_Trump_phoenix", 5));
        let mut seen = [0usize; 5];
        for i in 0..500 {
            seen[fold_of(&i.to_string(), 5)] += 1;
        }
        assert!(seen.iter().all(|&n| (60..=140).contains(&n)), "{seen:?}");
        assert_eq!(fold_of("anything", 1), 0);
    }

    #[test]
    fn shipped_adapters_load() {
        let a = QueryAdapter::shipped_statement();
        assert_eq!(a.info().dim, DIM);
        assert_eq!(a.info().model, crate::embed::MODEL_NAME);
        assert!(a.info().trained_on.contains("checkthat2020/train"), "{:?}", a.info());
    }

    /// Queries that are their claim's vector plus a shared offset (the "style" of the queries):
    /// the identity ranks them poorly, training learns to remove the offset.
    #[test]
    fn training_learns_a_shared_shift() {
        let claims: Vec<Vec<f32>> = (0..200).map(unit).collect();
        let offset = unit(999);
        let mut set = TrainingSet { claims: claims.concat(), ..Default::default() };
        let mut held_out = Vec::new();
        for (i, c) in claims.iter().enumerate() {
            let mut q: Vec<f32> = c.iter().zip(&offset).map(|(a, b)| a * 0.08 + b).collect();
            normalize(&mut q);
            if i % 4 == 0 {
                held_out.push((q, i));
            } else {
                set.queries.extend_from_slice(&q);
                set.gold.push(vec![i]);
            }
        }
        let rank_of = |a: &QueryAdapter, q: &[f32], gold: usize| {
            let v = a.apply(q);
            let s: Vec<f32> = claims.iter().map(|c| crate::embed::cosine(c, &v)).collect();
            s.iter().filter(|&&x| x > s[gold]).count()
        };
        let options = TrainOptions { steps: 200, learning_rate: 1e-2, l2: 0.001, ..Default::default() };
        let trained = QueryAdapter::train(&[set], options, "test").expect("train");
        let before: usize = held_out.iter().map(|(q, g)| rank_of(&QueryAdapter::identity(), q, *g)).sum();
        let after: usize = held_out.iter().map(|(q, g)| rank_of(&trained, q, *g)).sum();
        assert!(before > 2 * held_out.len(), "the test needs the identity to rank poorly: {before}");
        assert!(after < before, "held-out ranks summed: {before} before training, {after} after");
        assert!(after <= held_out.len(), "held-out ranks summed after training: {after}");
    }
}

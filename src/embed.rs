//! Sentence embeddings: all-MiniLM-L6-v2 run on the CPU with candle.
//!
//! An [`Embedder`] turns texts into unit-length vectors of [`DIM`] floats, so that the
//! [`cosine`] of two vectors (their dot product) measures how close two statements are in
//! meaning. It reproduces sentence-transformers: BERT token embeddings, mean-pooled over the
//! attention mask, then L2-normalised. The model files (`config.json`, `tokenizer.json`,
//! `model.safetensors`) are fetched by `scripts/fetch-model.sh` into [`Embedder::default_dir`].
//!
//! ```no_run
//! use claimdex::embed::{cosine, Embedder};
//!
//! # fn main() -> claimdex::Result<()> {
//! let embedder = Embedder::load(&Embedder::default_dir())?;
//! let vectors = embedder.embed(&["The Taliban are fully committed to the amnesty", "fully committed to amnesty"])?;
//! assert!(cosine(&vectors[0], &vectors[1]) > 0.5);
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::{Error, Result};

/// Dimension of the vectors.
pub const DIM: usize = 384;

/// The model claimdex embeds with (the name of its directory under `models/`).
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Longest input, in tokens (special tokens included); longer texts are truncated. This is
/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;

/// How many texts go through the model at once.
const BATCH_SIZE: usize = 32;

/// Environment variable that overrides [`Embedder::default_dir`].
pub const MODEL_DIR_ENV: &str = "CLAIMDEX_MODEL_DIR";

/// Model directory used when [`MODEL_DIR_ENV`] is unset, relative to the current directory.
pub const DEFAULT_MODEL_DIR: &str = "models/all-MiniLM-L6-v2";

const CONFIG_FILE: &str = "config.json";
const TOKENIZER_FILE: &str = "tokenizer.json";
const WEIGHTS_FILE: &str = "model.safetensors";

/// A loaded sentence-embedding model. Loading takes a moment (about 90 MB of weights), so load
/// once and share it: it is `Send + Sync`, and [`embed`](Embedder::embed) takes `&self`.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

// The embedder is shared behind an `Arc` by the server's worker threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Embedder>();
};

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("dim", &DIM).field("max_tokens", &MAX_TOKENS).finish()
    }
}

impl Embedder {
    /// Default model directory: $CLAIMDEX_MODEL_DIR, else "models/all-MiniLM-L6-v2" relative to the current dir.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os(MODEL_DIR_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from(DEFAULT_MODEL_DIR),
        }
    }

    /// Loads config.json, tokenizer.json, model.safetensors from dir; Err(Error::Model) naming the missing file.
    pub fn load(dir: &Path) -> Result<Self> {
        for name in [CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE] {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::Model(format!(
                    "missing model file {} (run scripts/fetch-model.sh)",
                    path.display()
                )));
            }
        }

        let config_path = dir.join(CONFIG_FILE);
        let config_text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| model_error(&config_path, e))?;
        if config.hidden_size != DIM {
            return Err(Error::Model(format!(
                "{}: hidden_size is {}, expected {DIM}",
                config_path.display(),
                config.hidden_size
            )));
        }

        let tokenizer_path = dir.join(TOKENIZER_FILE);
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| model_error(&tokenizer_path, e))?;
        // tokenizer.json pads every input to 128 tokens and truncates there; we pad each batch
        // ourselves and truncate where sentence-transformers does.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| model_error(&tokenizer_path, e))?;

        // Read into memory rather than mmap: safe code, and the file is small.
        let weights_path = dir.join(WEIGHTS_FILE);
        let weights = std::fs::read(&weights_path).map_err(|e| Error::io(&weights_path, e))?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| model_error(&weights_path, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_error(&weights_path, e))?;

        Ok(Embedder { model, tokenizer, device })
    }

    /// Embeds texts (batched internally, e.g. 32 at a time, truncation to 256 tokens), returns unit-length vectors of DIM floats, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| Error::Model(format!("tokenization failed: {e}")))?;

        // Batch texts of similar length together so that little padding is computed, as
        // sentence-transformers does, then put the vectors back in input order.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));

        let mut vectors = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_SIZE) {
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let embedded = self.embed_batch(&batch)?;
            for (&i, vector) in chunk.iter().zip(embedded) {
                vectors[i] = vector;
            }
        }
        Ok(vectors)
    }

    /// Convenience for one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        self.embed(&[text])?.pop().ok_or_else(|| Error::Model("the model returned no vector".to_string()))
    }

    /// Runs one padded batch through the model: mean pooling over the attention mask, then L2
    /// normalisation.
    fn embed_batch(&self, batch: &[&Encoding]) -> Result<Vec<Vec<f32>>> {
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let rows = batch.len();
            let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
            let mut ids = vec![0u32; rows * len];
            let mut mask = vec![0u32; rows * len];
            for (row, encoding) in batch.iter().enumerate() {
                for (col, &id) in encoding.get_ids().iter().enumerate() {
                    ids[row * len + col] = id;
                    mask[row * len + col] = 1;
                }
            }
            let ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
            let token_types = ids.zeros_like()?;

            let hidden = self.model.forward(&ids, &token_types, Some(&mask))?; // (rows, len, DIM)
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, len, 1)
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (rows, DIM)
            let counts = mask.sum(1)?.clamp(1e-9, f32::MAX)?; // (rows, 1)
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
            mean.broadcast_div(&norms)?.to_vec2::<f32>()
        };
        run().map_err(|e| Error::Model(format!("inference failed: {e}")))
    }
}

/// Dot product of two unit vectors (= cosine).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn model_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {err}", path.display()))
}

/// Gives the model's matrix products every core this process may use, unless
/// `RAYON_NUM_THREADS` already says how many. Call it first thing in `main`, before any other
/// thread starts: it sets an environment variable.
///
/// candle looks its thread count up on every matrix product: from `RAYON_NUM_THREADS` when it
/// is set, otherwise from the CPU masks under /sys, which on a 2-core VM gives one thread and costs
/// about 6% of a hybrid match. With the variable set once, a hybrid match at 10k claims takes
/// about 16 instead of 19.5 ms here (docs/benchmarks-speed.md).
pub fn configure_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}

/// Loads the model from [`Embedder::default_dir`] if it is there; otherwise logs once that
/// matching is lexical only, and returns `None`.
pub fn load_default() -> Option<std::sync::Arc<Embedder>> {
    let dir = Embedder::default_dir();
    if !dir.join(WEIGHTS_FILE).is_file() {
        tracing::warn!("no semantic model in {}: matching is lexical only (run scripts/fetch-model.sh)", dir.display());
        return None;
    }
    match Embedder::load(&dir) {
        Ok(e) => {
            tracing::info!("semantic model loaded from {}", dir.display());
            Some(std::sync::Arc::new(e))
        }
        Err(e) => {
            tracing::warn!("semantic model in {} not usable ({e}): matching is lexical only", dir.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model, or `None` (with a note on stderr) when it has not been fetched.
    fn model() -> Option<Embedder> {
        let dir = Embedder::default_dir();
        if !dir.join(WEIGHTS_FILE).is_file() {
            eprintln!("skipping: no model in {} (run scripts/fetch-model.sh)", dir.display());
            return None;
        }
        Some(Embedder::load(&dir).expect("the model directory exists, so it should load"))
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    #[test]
    fn load_names_the_missing_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Embedder::load(dir.path()).expect_err("an empty dir has no model");
        assert!(matches!(err, Error::Model(_)), "{err:?}");
        assert!(err.to_string().contains(CONFIG_FILE), "{err}");

        std::fs::write(dir.path().join(CONFIG_FILE), "{}").expect("write");
        std::fs::write(dir.path().join(TOKENIZER_FILE), "{}").expect("write");
        let err = Embedder::load(dir.path()).expect_err("no weights");
        assert!(err.to_string().contains(WEIGHTS_FILE), "{err}");
    }

    #[test]
    fn cosine_of_unit_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
    }

    #[test]
    fn vectors_are_unit_length() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        let long = "word ".repeat(20_000) + &"x".repeat(100_000);
        let texts = ["This is a test.", "", "   ", long.as_str(), "Ünïcödé — 日本語 🚀"];
        let vectors = embedder.embed(&texts)?;
        assert_eq!(vectors.len(), texts.len());
        for (text, v) in texts.iter().zip(&vectors) {
            assert_eq!(v.len(), DIM);
            assert!(v.iter().all(|x| x.is_finite()), "non-finite value for {:.20}", text);
            assert!((norm(v) - 1.0).abs() < 1e-4, "norm {} for {:.20}", norm(v), text);
        }
        assert!(embedder.embed(&[])?.is_empty());
        Ok(())
    }

    #[test]
    fn paraphrase_beats_unrelated() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        let claim = embedder.embed_one("The Taliban are fully committed to the amnesty")?;
        let paraphrase = embedder.embed_one("fully committed to amnesty")?;
        let unrelated = embedder.embed_one("The price of eggs rose in Ohio")?;
        let close = cosine(&claim, &paraphrase);
        let far = cosine(&claim, &unrelated);
        assert!(close > far + 0.2, "paraphrase {close} vs unrelated {far}");
        Ok(())
    }

    #[test]
    fn batch_equals_single() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        // More than one batch, with lengths that differ so that padding is exercised.
        let owned: Vec<String> =
            (0..40).map(|i| format!("Claim number {i} says {}", "that the economy grew ".repeat(i % 7))).collect();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let batched = embedder.embed(&texts)?;
        for (text, b) in texts.iter().zip(&batched) {
            let single = embedder.embed_one(text)?;
            let c = cosine(&single, b);
            assert!(c > 0.9999, "cosine {c} for {text}");
        }
        Ok(())
    }

    /// The reference comes from `scripts/reference-embedding.py`, an independent numpy
    /// re-implementation of the sentence-transformers pipeline (BERT in float64, mean pooling,
    /// L2 normalisation). sentence-transformers itself needs torch, which PyPI only ships as a
    /// multi-gigabyte CUDA build, so it was not run here.
    #[test]
    fn matches_reference_implementation() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        let v = embedder.embed_one("This is a test.")?;
        for (i, (got, want)) in v.iter().zip(REFERENCE_THIS_IS_A_TEST).enumerate() {
            assert!((got - want).abs() < 1e-5, "component {i}: {got} vs {want}");
        }
        let sum: f32 = v.iter().sum();
        assert!((sum - REFERENCE_SUM).abs() < 1e-4, "sum of components: {sum} vs {REFERENCE_SUM}");
        Ok(())
    }

    /// First 16 components of the embedding of "This is a test.".
    const REFERENCE_THIS_IS_A_TEST: [f32; 16] = [
        0.0335908, 0.0105125, -0.0174998, 0.0293518, -0.0094195, -0.0370165, -0.0254726, 0.0085414, 0.0191299,
        0.0395571, -0.0246721, -0.0127391, -0.0065866, 0.0437581, -0.0361141, -0.0566886,
    ];
    /// Sum of all its components, a cheap check on the other 368.
    const REFERENCE_SUM: f32 = 0.2859232;

    /// Throughput in release mode: `cargo test --release -- --ignored embed_speed --nocapture`.
    #[test]
    #[ignore]
    fn embed_speed() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        let owned: Vec<String> = (0..256)
            .map(|i| format!("Claim {i}: the minister said unemployment fell by {i} percent last year"))
            .collect();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        embedder.embed(&texts[..32])?; // warm-up
        let start = std::time::Instant::now();
        let vectors = embedder.embed(&texts)?;
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(vectors.len(), texts.len());
        eprintln!("embedded {} sentences in {secs:.2}s: {:.0} sentences/s", texts.len(), texts.len() as f64 / secs);
        Ok(())
    }
}

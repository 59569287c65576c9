//! Sentence embeddings: all-MiniLM-L6-v2 run on the CPU.
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

use serde::Deserialize;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::{Error, Result};

/// Dimension of the vectors.
pub const DIM: usize = 384;

/// The model claimdex embeds with (the name of its directory under `models/`).
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Longest input, in tokens (special tokens included); longer texts are truncated. This is
/// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;

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
    model: bert::Bert,
    tokenizer: Tokenizer,
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
        let config: bert::Config = serde_json::from_str(&config_text).map_err(|e| model_error(&config_path, e))?;
        config.check().map_err(|e| model_error(&config_path, e))?;

        let tokenizer_path = dir.join(TOKENIZER_FILE);
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| model_error(&tokenizer_path, e))?;
        // tokenizer.json pads every input to 128 tokens and truncates there; every text is run
        // on its own, unpadded, and truncated where sentence-transformers does.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| model_error(&tokenizer_path, e))?;

        let weights_path = dir.join(WEIGHTS_FILE);
        let weights = std::fs::read(&weights_path).map_err(|e| Error::io(&weights_path, e))?;
        let model = bert::Bert::load(&weights, &config).map_err(|e| model_error(&weights_path, e))?;

        Ok(Embedder { model, tokenizer })
    }

    /// Embeds texts (each truncated to 256 tokens), returns unit-length vectors of DIM floats, in
    /// input order. Several texts are embedded on all cores at once, one text per core; a single
    /// text splits its larger matrix products between the cores.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| Error::Model(format!("tokenization failed: {e}")))?;
        if let [one] = encodings.as_slice() {
            // On a thread of the pool, so that the products' halves are handed between its
            // threads without waking a thread from outside each time.
            return Ok(vec![rayon::scope(|_| self.model.embed(one.get_ids(), true))]);
        }
        // Longest first: the cores split the list between them and steal from each other at
        // the end, where short texts even out their shares (3–5% more texts a second than in
        // input order, on 200 debate sentences).
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let embedded: Vec<(usize, Vec<f32>)> =
            order.into_par_iter().map(|i| (i, self.model.embed(encodings[i].get_ids(), false))).collect();
        let mut vectors = vec![Vec::new(); texts.len()];
        for (i, vector) in embedded {
            vectors[i] = vector;
        }
        Ok(vectors)
    }

    /// Convenience for one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        self.embed(&[text])?.pop().ok_or_else(|| Error::Model("the model returned no vector".to_string()))
    }
}

/// BERT's encoder in plain Rust, for one unpadded sequence at a time.
///
/// It computes what sentence-transformers computes for all-MiniLM-L6-v2: token, position and
/// token-type embeddings, layer norm, then per layer self-attention (one fused product for the
/// queries, keys and values), a residual and layer norm, a feed-forward block with exact (erf)
/// GELU, a residual and layer norm; then the mean over the tokens, L2-normalised. One sequence
/// needs no padding and no attention mask. The weights are kept transposed and cut into panels
/// of [`bert::PANEL`] output columns, so that a product streams each panel once through the
/// cache; with 20 tokens a product is small, and most of a generic matrix library's time goes
/// into packing the weights again on every call.
mod bert {
    use super::*;

    /// Output columns per panel of a weight matrix: four 16-float registers.
    pub(super) const PANEL: usize = 64;
    /// Rows of the input taken together by the product's kernel.
    const ROWS: usize = 4;

    /// The fields of `config.json` the encoder needs.
    #[derive(Debug, Deserialize)]
    pub(super) struct Config {
        pub hidden_size: usize,
        pub num_hidden_layers: usize,
        pub num_attention_heads: usize,
        pub intermediate_size: usize,
        pub layer_norm_eps: f64,
        pub max_position_embeddings: usize,
        pub hidden_act: String,
        #[serde(default)]
        pub model_type: Option<String>,
    }

    impl Config {
        pub(super) fn check(&self) -> std::result::Result<(), String> {
            if self.hidden_size != DIM {
                return Err(format!("hidden_size is {}, expected {DIM}", self.hidden_size));
            }
            if self.hidden_act != "gelu" {
                return Err(format!("hidden_act is {:?}, only \"gelu\" is supported", self.hidden_act));
            }
            if self.num_attention_heads == 0 || !DIM.is_multiple_of(self.num_attention_heads) {
                return Err(format!("{} attention heads do not divide {DIM}", self.num_attention_heads));
            }
            if self.intermediate_size == 0 || !self.intermediate_size.is_multiple_of(PANEL) {
                return Err(format!("intermediate_size {} is not a multiple of {PANEL}", self.intermediate_size));
            }
            if self.max_position_embeddings == 0 {
                return Err("max_position_embeddings is 0".to_string());
            }
            Ok(())
        }
    }

    /// A dense layer `y = x W + b`, W kept as panels: `panels[p][k][c]` is the weight from input
    /// `k` to output `p * PANEL + c`.
    struct Linear {
        panels: Vec<f32>,
        bias: Vec<f32>,
        inputs: usize,
        outputs: usize,
    }

    struct LayerNorm {
        weight: Vec<f32>,
        bias: Vec<f32>,
        eps: f32,
    }

    struct Layer {
        qkv: Linear,
        attention_out: Linear,
        attention_norm: LayerNorm,
        intermediate: Linear,
        output: Linear,
        output_norm: LayerNorm,
    }

    pub(super) struct Bert {
        /// `vocab × DIM`.
        words: Vec<f32>,
        /// `max_positions × DIM`, with token type 0's embedding added (every token has type 0).
        positions: Vec<f32>,
        norm: LayerNorm,
        layers: Vec<Layer>,
        heads: usize,
    }

    /// Reads the named tensors out of a safetensors file.
    struct Weights<'a> {
        file: safetensors::SafeTensors<'a>,
        prefix: String,
    }

    impl Weights<'_> {
        fn get(&self, name: &str, shape: &[usize]) -> std::result::Result<Vec<f32>, String> {
            let name = format!("{}{name}", self.prefix);
            let t = self.file.tensor(&name).map_err(|e| format!("tensor {name}: {e}"))?;
            if t.dtype() != safetensors::Dtype::F32 {
                return Err(format!("tensor {name} is {:?}, expected F32", t.dtype()));
            }
            if t.shape() != shape {
                return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", t.shape()));
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        }

        /// A PyTorch `Linear` (weight `outputs × inputs`), or several stacked along the outputs.
        fn linear(&self, names: &[&str], inputs: usize, outputs: usize) -> std::result::Result<Linear, String> {
            let mut weight = Vec::new();
            let mut bias = Vec::new();
            for name in names {
                weight.extend(self.get(&format!("{name}.weight"), &[outputs, inputs])?);
                bias.extend(self.get(&format!("{name}.bias"), &[outputs])?);
            }
            Ok(Linear::new(&weight, bias, inputs, outputs * names.len()))
        }

        fn norm(&self, name: &str, eps: f32) -> std::result::Result<LayerNorm, String> {
            Ok(LayerNorm {
                weight: self.get(&format!("{name}.weight"), &[DIM])?,
                bias: self.get(&format!("{name}.bias"), &[DIM])?,
                eps,
            })
        }
    }

    impl Bert {
        pub(super) fn load(bytes: &[u8], config: &Config) -> std::result::Result<Self, String> {
            let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
            // Checkpoints saved from a task model name the encoder "bert.embeddings...".
            let prefix = match &config.model_type {
                Some(t) if file.tensor("embeddings.word_embeddings.weight").is_err() => format!("{t}."),
                _ => String::new(),
            };
            let w = Weights { file, prefix };
            let eps = config.layer_norm_eps as f32;
            let words_shape = w
                .file
                .tensor(&format!("{}embeddings.word_embeddings.weight", w.prefix))
                .map(|t| t.shape().to_vec())
                .map_err(|e| format!("word embeddings: {e}"))?;
            let [vocab, DIM] = words_shape[..] else {
                return Err(format!("word embeddings have shape {words_shape:?}, expected [vocab, {DIM}]"));
            };
            let words = w.get("embeddings.word_embeddings.weight", &[vocab, DIM])?;
            let max = config.max_position_embeddings;
            let mut positions = w.get("embeddings.position_embeddings.weight", &[max, DIM])?;
            let types = w.get("embeddings.token_type_embeddings.weight", &[2, DIM])?;
            for row in positions.chunks_exact_mut(DIM) {
                add(row, &types[..DIM]);
            }
            let norm = w.norm("embeddings.LayerNorm", eps)?;
            let inter = config.intermediate_size;
            let layers = (0..config.num_hidden_layers)
                .map(|i| {
                    let p = format!("encoder.layer.{i}");
                    let a = format!("{p}.attention.self");
                    Ok(Layer {
                        qkv: w.linear(
                            &[&format!("{a}.query"), &format!("{a}.key"), &format!("{a}.value")],
                            DIM,
                            DIM,
                        )?,
                        attention_out: w.linear(&[&format!("{p}.attention.output.dense")], DIM, DIM)?,
                        attention_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), eps)?,
                        intermediate: w.linear(&[&format!("{p}.intermediate.dense")], DIM, inter)?,
                        output: w.linear(&[&format!("{p}.output.dense")], inter, DIM)?,
                        output_norm: w.norm(&format!("{p}.output.LayerNorm"), eps)?,
                    })
                })
                .collect::<std::result::Result<_, String>>()?;
            Ok(Bert { words, positions, norm, layers, heads: config.num_attention_heads })
        }

        /// The unit-length mean of the encoder's output over one sequence of token ids. With
        /// `split`, the larger products are split between the cores.
        pub(super) fn embed(&self, ids: &[u32], split: bool) -> Vec<f32> {
            let len = ids.len().min(self.positions.len() / DIM);
            if len == 0 {
                return vec![0.0; DIM];
            }
            let vocab = self.words.len() / DIM;
            let mut x = vec![0f32; len * DIM];
            for (t, row) in x.chunks_exact_mut(DIM).enumerate() {
                // The tokenizer only gives ids of its vocabulary; an id past it (a mismatched
                // tokenizer) is clamped into it rather than a panic.
                let id = (ids[t] as usize).min(vocab - 1);
                row.copy_from_slice(&self.words[id * DIM..(id + 1) * DIM]);
                add(row, &self.positions[t * DIM..(t + 1) * DIM]);
            }
            self.norm.apply(&mut x);
            let mut qkv = vec![0f32; len * 3 * DIM];
            let mut context = vec![0f32; len * DIM];
            let mut projected = vec![0f32; len * DIM];
            let mut inter = Vec::new();
            for layer in &self.layers {
                layer.qkv.forward(&x, &mut qkv, split);
                attention(&qkv, len, self.heads, &mut context);
                layer.attention_out.forward(&context, &mut projected, split);
                add(&mut x, &projected);
                layer.attention_norm.apply(&mut x);
                inter.resize(len * layer.intermediate.outputs, 0.0);
                layer.intermediate.forward(&x, &mut inter, split);
                for v in inter.iter_mut() {
                    *v = gelu(*v);
                }
                layer.output.forward(&inter, &mut projected, split);
                add(&mut x, &projected);
                layer.output_norm.apply(&mut x);
            }
            let mut mean = vec![0f32; DIM];
            for row in x.chunks_exact(DIM) {
                add(&mut mean, row);
            }
            // The mean's division by the length cancels in the normalisation.
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            mean.iter().map(|v| v / norm).collect()
        }
    }

    fn add(a: &mut [f32], b: &[f32]) {
        for (a, b) in a.iter_mut().zip(b) {
            *a += b;
        }
    }

    /// GELU with the error function, as BERT's "gelu" (not its tanh approximation).
    fn gelu(v: f32) -> f32 {
        (erf(v * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * v
    }

    /// The error function in single precision, as a rational function of `x` on [-4, 4] (beyond,
    /// it is ±1 to within a float), within 1e-6 of the exact value. These are Eigen's
    /// coefficients (`generic_fast_erf_float`). Unlike `libm::erff`, it has no branches, so that
    /// the compiler computes 16 at once: libm's took a quarter of a statement's embedding.
    pub(super) fn erf(x: f32) -> f32 {
        let x = x.clamp(-4.0, 4.0);
        let x2 = x * x;
        let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
        p = x2 * p - 2.101_024e-6;
        p = x2 * p - 5.692_506_4e-5;
        p = x2 * p - 7.349_906_3e-4;
        p = x2 * p - 2.954_6e-3;
        p = x2 * p - 1.609_603_3e-2;
        let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
        q = x2 * q - 1.682_827e-3;
        q = x2 * q - 7.373_329e-3;
        q = x2 * q - 1.426_474e-2;
        x * p / q
    }

    impl LayerNorm {
        fn apply(&self, x: &mut [f32]) {
            for row in x.chunks_exact_mut(DIM) {
                let mean = row.iter().sum::<f32>() / DIM as f32;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / DIM as f32;
                let scale = 1.0 / (var + self.eps).sqrt();
                for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                    *v = (*v - mean) * scale * w + b;
                }
            }
        }
    }

    /// Multi-head self-attention over one sequence: `qkv` holds each token's query, key and
    /// value (`DIM` each), `out` gets each token's attended values, heads side by side.
    fn attention(qkv: &[f32], len: usize, heads: usize, out: &mut [f32]) {
        let size = DIM / heads;
        let scale = 1.0 / (size as f32).sqrt();
        let mut scores = vec![0f32; len];
        for h in 0..heads {
            for i in 0..len {
                let q = &qkv[i * 3 * DIM + h * size..][..size];
                for (j, s) in scores.iter_mut().enumerate() {
                    let k = &qkv[j * 3 * DIM + DIM + h * size..][..size];
                    *s = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let o = &mut out[i * DIM + h * size..][..size];
                o.fill(0.0);
                for (j, s) in scores.iter().enumerate() {
                    let v = &qkv[j * 3 * DIM + 2 * DIM + h * size..][..size];
                    let p = s / sum;
                    for (o, v) in o.iter_mut().zip(v) {
                        *o += p * v;
                    }
                }
            }
        }
    }

    impl Linear {
        /// From a PyTorch-layout weight (`outputs × inputs`) and bias.
        fn new(weight: &[f32], bias: Vec<f32>, inputs: usize, outputs: usize) -> Linear {
            let mut panels = vec![0f32; inputs * outputs];
            for o in 0..outputs {
                let (p, c) = (o / PANEL, o % PANEL);
                for k in 0..inputs {
                    panels[(p * inputs + k) * PANEL + c] = weight[o * inputs + k];
                }
            }
            Linear { panels, bias, inputs, outputs }
        }

        /// `y = x W + b` for the rows of `x` (`inputs` wide); `y` is `outputs` wide.
        fn forward(&self, x: &[f32], y: &mut [f32], split: bool) {
            let rows = x.len() / self.inputs;
            debug_assert_eq!(y.len(), rows * self.outputs);
            let panels = self.outputs / PANEL;
            // Below this many multiply-adds, handing half to another core costs more than it saves.
            const SPLIT_MIN: usize = 1 << 21;
            if split && panels > 1 && rows * self.inputs * self.outputs >= SPLIT_MIN {
                let half = panels / 2;
                // Each half writes its own columns of every row: hand each its rows' pieces.
                let (mut left, mut right): (Vec<&mut [f32]>, Vec<&mut [f32]>) =
                    y.chunks_exact_mut(self.outputs).map(|row| row.split_at_mut(half * PANEL)).unzip();
                rayon::join(
                    || self.panels_into(x, rows, 0..half, &mut left),
                    || self.panels_into(x, rows, half..panels, &mut right),
                );
            } else {
                let mut all: Vec<&mut [f32]> = y.chunks_exact_mut(self.outputs).collect();
                self.panels_into(x, rows, 0..panels, &mut all);
            }
        }

        /// Panels `range` of every row; `out[r]` holds row `r`'s outputs from the range's first panel on.
        fn panels_into(&self, x: &[f32], rows: usize, range: std::ops::Range<usize>, out: &mut [&mut [f32]]) {
            let first = range.start;
            for p in range {
                let panel = &self.panels[p * self.inputs * PANEL..][..self.inputs * PANEL];
                let bias: &[f32; PANEL] = self.bias[p * PANEL..][..PANEL].try_into().expect("a panel's bias");
                let col = (p - first) * PANEL;
                let mut r = 0;
                while r < rows {
                    let n = (rows - r).min(ROWS);
                    let mut acc = [*bias; ROWS];
                    kernel(&x[r * self.inputs..(r + n) * self.inputs], n, self.inputs, panel, &mut acc);
                    for (i, a) in acc.iter().take(n).enumerate() {
                        out[r + i][col..col + PANEL].copy_from_slice(a);
                    }
                    r += n;
                }
            }
        }
    }

    /// `acc[i] += x[i] · panel` for `n ≤ ROWS` rows of `x`, on the widest vector unit the CPU has.
    fn kernel(x: &[f32], n: usize, inputs: usize, panel: &[f32], acc: &mut [[f32; PANEL]; ROWS]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F, checked just above.
                return unsafe { kernel_avx512(x, n, inputs, panel, acc) };
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA, checked just above.
                return unsafe { kernel_avx2(x, n, inputs, panel, acc) };
            }
        }
        kernel_portable(x, n, inputs, panel, acc)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel_avx512(x: &[f32], n: usize, inputs: usize, panel: &[f32], acc: &mut [[f32; PANEL]; ROWS]) {
        kernel_body::<true>(x, n, inputs, panel, acc)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_avx2(x: &[f32], n: usize, inputs: usize, panel: &[f32], acc: &mut [[f32; PANEL]; ROWS]) {
        kernel_body::<true>(x, n, inputs, panel, acc)
    }

    fn kernel_portable(x: &[f32], n: usize, inputs: usize, panel: &[f32], acc: &mut [[f32; PANEL]; ROWS]) {
        kernel_body::<false>(x, n, inputs, panel, acc)
    }

    /// The product's inner loop, written for the compiler to keep `acc` in vector registers.
    /// `FUSED` uses fused multiply-adds (only where the CPU has them: elsewhere `mul_add` is a
    /// slow library call).
    #[inline(always)]
    fn kernel_body<const FUSED: bool>(
        x: &[f32],
        n: usize,
        inputs: usize,
        panel: &[f32],
        acc: &mut [[f32; PANEL]; ROWS],
    ) {
        let mut a = *acc;
        if n == ROWS {
            for (k, w) in panel.chunks_exact(PANEL).enumerate() {
                let w: &[f32; PANEL] = w.try_into().expect("a panel row");
                for (i, a) in a.iter_mut().enumerate() {
                    let xv = x[i * inputs + k];
                    for (a, w) in a.iter_mut().zip(w) {
                        *a = if FUSED { xv.mul_add(*w, *a) } else { *a + xv * w };
                    }
                }
            }
        } else {
            for (k, w) in panel.chunks_exact(PANEL).enumerate() {
                let w: &[f32; PANEL] = w.try_into().expect("a panel row");
                for (i, a) in a.iter_mut().enumerate().take(n) {
                    let xv = x[i * inputs + k];
                    for (a, w) in a.iter_mut().zip(w) {
                        *a = if FUSED { xv.mul_add(*w, *a) } else { *a + xv * w };
                    }
                }
            }
        }
        *acc = a;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Deterministic values in [-1, 1).
        fn values(n: usize, seed: u64) -> Vec<f32> {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                })
                .collect()
        }

        #[test]
        fn the_product_is_the_plain_one_on_every_path_and_split() {
            // 128 × 4 panels makes the product large enough to be split; 1 to 9 rows take the
            // 4-row kernel and the rest.
            for (inputs, outputs) in [(384, 128), (1536, 256), (7, 64)] {
                let weight = values(inputs * outputs, 1);
                let bias = values(outputs, 2);
                let linear = Linear::new(&weight, bias.clone(), inputs, outputs);
                for rows in [1, 3, 4, 5, 9, 1200] {
                    let x = values(rows * inputs, rows as u64);
                    let plain: Vec<f32> = (0..rows * outputs)
                        .map(|i| {
                            let (r, o) = (i / outputs, i % outputs);
                            let dot: f64 =
                                (0..inputs).map(|k| x[r * inputs + k] as f64 * weight[o * inputs + k] as f64).sum();
                            (dot + bias[o] as f64) as f32
                        })
                        .collect();
                    let mut whole = vec![f32::NAN; rows * outputs];
                    linear.forward(&x, &mut whole, false);
                    let mut split = vec![f32::NAN; rows * outputs];
                    linear.forward(&x, &mut split, true);
                    assert_eq!(whole, split, "{rows} × {inputs} → {outputs}: split differs");
                    for (i, (got, want)) in whole.iter().zip(&plain).enumerate() {
                        assert!((got - want).abs() < 1e-3, "{rows} × {inputs} → {outputs}, value {i}: {got} vs {want}");
                    }
                    // Every kernel the CPU has gives the same values (to rounding).
                    let panel = &linear.panels[..inputs * PANEL];
                    let n = rows.min(ROWS);
                    let mut portable = [[0f32; PANEL]; ROWS];
                    kernel_portable(&x[..n * inputs], n, inputs, panel, &mut portable);
                    let mut dispatched = [[0f32; PANEL]; ROWS];
                    kernel(&x[..n * inputs], n, inputs, panel, &mut dispatched);
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                        let mut avx2 = [[0f32; PANEL]; ROWS];
                        // SAFETY: the CPU has AVX2 and FMA, checked just above.
                        unsafe { kernel_avx2(&x[..n * inputs], n, inputs, panel, &mut avx2) };
                        for (a, b) in avx2.iter().flatten().zip(portable.iter().flatten()) {
                            assert!((a - b).abs() < 1e-3, "avx2 {a} vs portable {b}");
                        }
                    }
                    for (i, (a, b)) in dispatched.iter().flatten().zip(portable.iter().flatten()).enumerate() {
                        assert!((a - b).abs() < 1e-3, "value {i}: dispatched {a} vs portable {b}");
                        if i / PANEL >= n {
                            assert_eq!(*b, 0.0, "row {} is past the {n} rows given", i / PANEL);
                        }
                    }
                }
            }
        }

        #[test]
        fn a_config_the_encoder_cannot_run_is_refused_by_name() {
            let config = |edit: &str| -> Config {
                let mut v = serde_json::json!({"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
                    "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "hidden_act": "gelu"});
                if let Some((k, val)) = edit.split_once('=') {
                    v[k] = serde_json::from_str(val).expect("a JSON value");
                }
                serde_json::from_value(v).expect("a config")
            };
            assert_eq!(config("").check(), Ok(()));
            for (edit, word) in [
                ("hidden_size=768", "hidden_size"),
                ("hidden_act=\"gelu_new\"", "hidden_act"),
                ("num_attention_heads=5", "attention heads"),
                ("num_attention_heads=0", "attention heads"),
                ("intermediate_size=1000", "intermediate_size"),
                ("max_position_embeddings=0", "max_position_embeddings"),
            ] {
                let err = config(edit).check().expect_err(edit);
                assert!(err.contains(word), "{edit}: {err}");
            }
        }

        #[test]
        fn weights_that_are_not_the_model_are_refused_by_name() {
            let config: Config = serde_json::from_value(serde_json::json!({"hidden_size": 384,
                "num_hidden_layers": 1, "num_attention_heads": 12, "intermediate_size": 64,
                "layer_norm_eps": 1e-12, "max_position_embeddings": 4, "hidden_act": "gelu"}))
            .expect("a config");
            let file = |tensors: &[(&str, &str, Vec<usize>)]| -> Vec<u8> {
                let mut header = serde_json::Map::new();
                let mut data = Vec::new();
                for (name, dtype, shape) in tensors {
                    let bytes = shape.iter().product::<usize>() * if *dtype == "F16" { 2 } else { 4 };
                    header.insert(
                        name.to_string(),
                        serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [data.len(), data.len() + bytes]}),
                    );
                    data.resize(data.len() + bytes, 0u8);
                }
                let header = serde_json::Value::Object(header).to_string();
                let mut out = (header.len() as u64).to_le_bytes().to_vec();
                out.extend(header.as_bytes());
                out.extend(data);
                out
            };
            let err = |bytes: &[u8]| Bert::load(bytes, &config).err().expect("refused");
            assert!(!err(b"not a safetensors file").is_empty());
            assert!(err(&file(&[("other", "F32", vec![2])])).contains("word embeddings"));
            let words = ("embeddings.word_embeddings.weight", "F32", vec![10, DIM]);
            let e = err(&file(&[words.clone(), ("embeddings.position_embeddings.weight", "F32", vec![3, DIM])]));
            assert!(e.contains("position_embeddings") && e.contains("[4, 384]"), "{e}");
            let e = err(&file(&[("embeddings.word_embeddings.weight", "F32", vec![10, 3])]));
            assert!(e.contains("word embeddings have shape [10, 3]"), "{e}");
            let e = err(&file(&[words, ("embeddings.position_embeddings.weight", "F16", vec![4, DIM])]));
            assert!(e.contains("expected F32"), "{e}");
        }

        #[test]
        fn attention_weighs_the_values_by_the_softmax_of_the_scores() {
            let (len, heads) = (3, 12);
            let qkv = values(len * 3 * DIM, 7);
            let mut out = vec![f32::NAN; len * DIM];
            attention(&qkv, len, heads, &mut out);
            let size = DIM / heads;
            for h in 0..heads {
                for i in 0..len {
                    let at = |t: usize, part: usize, d: usize| qkv[t * 3 * DIM + part * DIM + h * size + d] as f64;
                    let scores: Vec<f64> = (0..len)
                        .map(|j| (0..size).map(|d| at(i, 0, d) * at(j, 1, d)).sum::<f64>() / (size as f64).sqrt())
                        .collect();
                    let total: f64 = scores.iter().map(|s| s.exp()).sum();
                    for d in 0..size {
                        let want: f64 = (0..len).map(|j| scores[j].exp() / total * at(j, 2, d)).sum();
                        let got = out[i * DIM + h * size + d] as f64;
                        assert!((got - want).abs() < 1e-5, "head {h}, token {i}, dim {d}: {got} vs {want}");
                    }
                }
            }
        }
    }
}

/// Dot product of two unit vectors (= cosine).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn model_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::Model(format!("{}: {err}", path.display()))
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
    fn erf_is_within_a_millionth_of_libm() {
        let mut worst = 0f32;
        for i in -100_000..=100_000 {
            let x = i as f32 / 10_000.0;
            worst = worst.max((bert::erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "largest difference {worst}");
        assert!((bert::erf(f32::INFINITY) - 1.0).abs() < 1e-6);
        assert!((bert::erf(f32::NEG_INFINITY) + 1.0).abs() < 1e-6);
        assert_eq!(bert::erf(0.0), 0.0);
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

    /// A server embeds statements from many threads at once, each splitting its products in
    /// the same two-thread pool: every vector is the one the statement gets alone, to the bit.
    #[test]
    fn statements_embedded_at_once_are_the_ones_embedded_alone() -> Result<()> {
        let Some(embedder) = model() else {
            return Ok(());
        };
        let texts = ["We are fully committed to the amnesty decree", "The economy grew faster than ever before"];
        let alone: Vec<Vec<f32>> = texts.iter().map(|t| embedder.embed_one(t)).collect::<Result<_>>()?;
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|w| {
                    let (embedder, alone) = (&embedder, &alone);
                    s.spawn(move || {
                        for i in 0..6 {
                            let k = (w + i) % texts.len();
                            assert_eq!(embedder.embed_one(texts[k]).expect("embedding"), alone[k], "{}", texts[k]);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().expect("a worker panicked");
            }
        });
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

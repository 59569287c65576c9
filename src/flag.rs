//! The repeat flag: features of a statement's best matches and a small logistic-regression model that turns them into a calibrated probability.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::Claim;
use crate::{Error, PartialDate, Result};

/// The names of the flag features, in order.
pub const FEATURES: [&str; 23] = [
    "fused",
    "lexical",
    "evidence",
    "semantic",
    "margin_next",
    "margin_5th",
    "statement_coverage",
    "claim_coverage",
    "log_terms",
    "short",
    "has_number",
    "number_match",
    "speaker_match",
    "first_person",
    "question",
    "semantic_text",
    "semantic_title",
    "lexical_rank",
    "semantic_rank",
    "bigram_overlap",
    "claim_age",
    "match_prob",
    "match_margin",
];

/// Position of `match_prob` in [`FEATURES`]: filled in for the flag after the match model has
/// ranked the hits (0 in the match model's own features).
pub const MATCH_PROB: usize = 21;
/// Position of `match_margin` (best match probability minus the second best).
pub const MATCH_MARGIN: usize = 22;

/// What the features need to know about the statement.
pub struct Statement<'a> {
    /// Its raw text.
    pub text: &'a str,
    /// Its analyzed terms.
    pub terms: &'a BTreeSet<String>,
    /// Its analyzed tokens, in order.
    pub tokens: &'a [String],
    /// Who said it.
    pub speaker: Option<&'a str>,
    /// When.
    pub date: Option<PartialDate>,
}

/// What the features need to know about one hit.
pub struct HitSignals<'a> {
    /// Fused ranking score.
    pub fused: f32,
    /// Lexical score.
    pub lexical: f32,
    /// Evidence-passage score.
    pub evidence: f32,
    /// Cosine similarity, if known.
    pub semantic: Option<f32>,
    /// Cosine similarity to the claim's statement and to its review title, if known.
    pub semantic_parts: Option<(f32, f32)>,
    /// Rank of the claim among all candidates by lexical score (0 = best).
    pub lexical_rank: usize,
    /// Rank of the claim among all candidates by cosine similarity (0 = best), if known.
    pub semantic_rank: Option<usize>,
    /// The claim's analyzed terms (statement and title).
    pub terms: &'a BTreeSet<String>,
    /// The claim's analyzed tokens (statement and title), in order.
    pub tokens: &'a [String],
    /// The claim.
    pub claim: &'a Claim,
}

fn numbers(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map(|w| w.trim_matches(|c| c == '.' || c == ',').replace(',', ""))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// Where a feature is in [`FEATURES`].
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| *f == name)
}

fn bigrams(tokens: &[String]) -> BTreeSet<(&str, &str)> {
    tokens.windows(2).map(|w| (w[0].as_str(), w[1].as_str())).collect()
}

/// The features of each of `hits` (distinct claims, best first), in order.
pub fn features(stmt: &Statement, hits: &[HitSignals]) -> Vec<Vec<f32>> {
    // What depends on the statement alone is worked out once, not once per hit.
    let nq = stmt.terms.len() as f32;
    let stmt_numbers = numbers(stmt.text);
    let lower = stmt.text.to_lowercase();
    let first_person = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .any(|w| matches!(w, "i" | "i'm" | "i've" | "we" | "we're" | "we've" | "my" | "our" | "me" | "us"));
    let question = stmt.text.trim_end().ends_with('?');
    let speaker_last = stmt.speaker.map(|s| s.split_whitespace().last().unwrap_or("").to_lowercase());
    let stmt_bigrams = bigrams(stmt.tokens);
    let fifth = hits.get(4).map(|o| o.fused).unwrap_or(0.0);
    hits.iter()
        .enumerate()
        .map(|(i, h)| {
            let other_best =
                hits.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| o.fused).fold(0.0f32, f32::max);
            let common = stmt.terms.intersection(h.terms).count() as f32;
            let nc = h.terms.len().max(1) as f32;
            let number_match = !stmt_numbers.is_empty() && !stmt_numbers.is_disjoint(&numbers(&h.claim.text));
            let speaker_match = match (&speaker_last, h.claim.speaker.as_deref()) {
                (Some(s), Some(c)) => !s.is_empty() && c.to_lowercase().split_whitespace().any(|w| w == s),
                _ => false,
            };
            let bigram_overlap = if stmt_bigrams.is_empty() {
                0.0
            } else {
                stmt_bigrams.intersection(&bigrams(h.tokens)).count() as f32 / stmt_bigrams.len() as f32
            };
            vec![
                h.fused,
                h.lexical,
                h.evidence,
                h.semantic.unwrap_or(0.0),
                h.fused - other_best,
                h.fused - fifth,
                common / nq.max(1.0),
                common / nc,
                (1.0 + nq).ln(),
                if nq < 5.0 { 1.0 } else { 0.0 },
                if stmt_numbers.is_empty() { 0.0 } else { 1.0 },
                if number_match { 1.0 } else { 0.0 },
                if speaker_match { 1.0 } else { 0.0 },
                if first_person { 1.0 } else { 0.0 },
                if question { 1.0 } else { 0.0 },
                h.semantic_parts.map_or(0.0, |p| p.0),
                h.semantic_parts.map_or(0.0, |p| p.1),
                1.0 / (1.0 + h.lexical_rank as f32),
                h.semantic_rank.map_or(0.0, |r| 1.0 / (1.0 + r as f32)),
                bigram_overlap,
                match (stmt.date, h.claim.date) {
                    (Some(s), Some(c)) => ((s.first_day() - c.last_day()) as f32 / 365.25).clamp(0.0, 30.0),
                    _ => 0.0,
                },
                0.0,
                0.0,
            ]
        })
        .collect()
}

/// One feature's contribution to a decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reason {
    /// Feature name.
    pub feature: String,
    /// Its value.
    pub value: f32,
    /// Its contribution to the log-odds.
    pub weight: f32,
}

/// A logistic-regression flag model over standardized features.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlagModel {
    /// Format version.
    pub version: u32,
    /// What the model was trained on and how.
    pub trained_on: String,
    /// The names of the features it uses, in order: a subset of [`FEATURES`].
    pub features: Vec<String>,
    /// Feature means used for standardization.
    pub mean: Vec<f32>,
    /// Feature standard deviations used for standardization.
    pub std: Vec<f32>,
    /// Weights of the standardized features.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
    /// Probability at or above which a statement is `flagged`.
    pub flagged: f32,
    /// Probability at or above which a statement is `suggested`.
    pub suggested: f32,
    /// Where each of `features` is in [`FEATURES`].
    #[serde(skip)]
    positions: Vec<usize>,
}

/// The shipped flag model, trained by `claimdex train-flag` on the CheckThat! 2021-2B train
/// debates: the probability that a statement repeats a checked claim at all.
pub const DEFAULT_MODEL_JSON: &str = include_str!("flag_model.json");

/// The shipped match model for standalone statements, trained by `claimdex train-match` on the
/// CheckThat! 2020 train tweets: the probability that a hit is the claim a (repeated) statement
/// repeats. It re-ranks the best hits.
pub const MATCH_MODEL_JSON: &str = include_str!("match_model.json");

/// The shipped match model for sentences of a transcript (with a speaker or context), trained
/// on the CheckThat! 2021-2B train debates.
pub const TRANSCRIPT_MATCH_MODEL_JSON: &str = include_str!("match_model_transcript.json");

/// The transcript match model used when no semantic model is loaded.
pub const LEXICAL_TRANSCRIPT_MATCH_MODEL_JSON: &str = include_str!("match_model_transcript_lexical.json");

/// The flag model used when no semantic model is loaded (trained the same way, lexically).
pub const LEXICAL_FLAG_MODEL_JSON: &str = include_str!("flag_model_lexical.json");

/// The match model used when no semantic model is loaded (trained the same way, lexically).
pub const LEXICAL_MATCH_MODEL_JSON: &str = include_str!("match_model_lexical.json");

impl FlagModel {
    /// The shipped flag model.
    pub fn shipped() -> FlagModel {
        FlagModel::from_json(DEFAULT_MODEL_JSON).expect("the shipped flag model is valid (tested)")
    }

    /// The shipped match-confidence model (same form; its thresholds are not used).
    pub fn shipped_match() -> FlagModel {
        FlagModel::from_json(MATCH_MODEL_JSON).expect("the shipped match model is valid (tested)")
    }

    /// The shipped match model for sentences of a transcript.
    pub fn shipped_match_transcript() -> FlagModel {
        FlagModel::from_json(TRANSCRIPT_MATCH_MODEL_JSON).expect("the shipped transcript match model is valid (tested)")
    }

    /// The shipped match model for sentences of a transcript, lexical matching.
    pub fn shipped_match_transcript_lexical() -> FlagModel {
        FlagModel::from_json(LEXICAL_TRANSCRIPT_MATCH_MODEL_JSON)
            .expect("the shipped lexical transcript match model is valid (tested)")
    }

    /// The shipped flag model for lexical-only matching (no semantic model loaded).
    pub fn shipped_lexical() -> FlagModel {
        FlagModel::from_json(LEXICAL_FLAG_MODEL_JSON).expect("the shipped lexical flag model is valid (tested)")
    }

    /// The shipped match model for lexical-only matching.
    pub fn shipped_match_lexical() -> FlagModel {
        FlagModel::from_json(LEXICAL_MATCH_MODEL_JSON).expect("the shipped lexical match model is valid (tested)")
    }

    /// Reads and checks a model.
    pub fn from_json(text: &str) -> Result<FlagModel> {
        let mut m: FlagModel = serde_json::from_str(text).map_err(|e| Error::Model(format!("flag model: {e}")))?;
        let n = m.features.len();
        if m.mean.len() != n || m.std.len() != n || m.weights.len() != n {
            return Err(Error::Model(format!("flag model: {n} features but {} weights", m.weights.len())));
        }
        m.positions = m
            .features
            .iter()
            .map(|f| feature_index(f).ok_or_else(|| Error::Model(format!("flag model: unknown feature {f:?}"))))
            .collect::<Result<_>>()?;
        Ok(m)
    }

    fn logit(&self, x: &[f32]) -> f32 {
        self.bias
            + self
                .positions
                .iter()
                .zip(&self.mean)
                .zip(&self.std)
                .zip(&self.weights)
                .map(|(((&k, m), s), w)| w * (x[k] - m) / s.max(1e-6))
                .sum::<f32>()
    }

    /// The probability that a statement with these features repeats the hit's claim.
    pub fn probability(&self, x: &[f32]) -> f32 {
        1.0 / (1.0 + (-self.logit(x)).exp())
    }

    /// The features that pushed the decision most, strongest first.
    pub fn reasons(&self, x: &[f32], n: usize) -> Vec<Reason> {
        let mut r: Vec<Reason> = self
            .positions
            .iter()
            .enumerate()
            .map(|(i, &k)| Reason {
                feature: FEATURES[k].to_string(),
                value: x[k],
                weight: self.weights[i] * (x[k] - self.mean[i]) / self.std[i].max(1e-6),
            })
            .collect();
        r.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        r.truncate(n);
        r
    }

    /// Fits a model by L2-regularized logistic regression (full-batch gradient descent on
    /// standardized features), then picks the `flagged` threshold that maximizes F1 and the
    /// `suggested` threshold that maximizes F2 on out-of-fold scores of the same data.
    ///
    /// `samples` hold all of [`FEATURES`]; the model uses the ones named in `use_features`.
    pub fn train(samples: &[(Vec<f32>, bool)], use_features: &[&str], trained_on: &str) -> Result<FlagModel> {
        if samples.is_empty() || !samples.iter().any(|s| s.1) || samples.iter().any(|s| s.0.len() != FEATURES.len()) {
            return Err(Error::InvalidRequest("training needs samples of both classes".into()));
        }
        let positions: Vec<usize> = use_features
            .iter()
            .map(|f| feature_index(f).ok_or_else(|| Error::InvalidRequest(format!("unknown feature {f:?}"))))
            .collect::<Result<_>>()?;
        let (mean, std, w, b) = fit(samples, &positions);
        let mut model = FlagModel {
            version: 1,
            trained_on: trained_on.to_string(),
            features: positions.iter().map(|&k| FEATURES[k].to_string()).collect(),
            mean,
            std,
            weights: w,
            bias: b,
            flagged: 0.5,
            suggested: 0.25,
            positions: positions.clone(),
        };
        // The thresholds are chosen on out-of-fold scores: five contiguous folds (samples come in
        // debate or query order, so a fold holds whole debates but at its edges), each scored by
        // a model fitted on the other four. In-sample scores are optimistic and set them too high.
        let folds = if samples.len() >= 50 { 5 } else { 1 };
        let mut scored: Vec<(f32, bool)> = Vec::with_capacity(samples.len());
        for k in 0..folds {
            let (lo, hi) = (samples.len() * k / folds, samples.len() * (k + 1) / folds);
            let rest: Vec<(Vec<f32>, bool)> = samples[..lo].iter().chain(&samples[hi..]).cloned().collect();
            let part = if folds == 1 || !rest.iter().any(|s| s.1) {
                model.clone()
            } else {
                let (mean, std, weights, bias) = fit(&rest, &positions);
                FlagModel { mean, std, weights, bias, ..model.clone() }
            };
            scored.extend(samples[lo..hi].iter().map(|(x, l)| (part.probability(x), *l)));
        }
        model.flagged = best_threshold(&scored, 1.0);
        model.suggested = best_threshold(&scored, 2.0).min(model.flagged);
        Ok(model)
    }
}

/// L2-regularized logistic regression by full-batch Adam on standardized features: the means,
/// standard deviations, weights and bias.
fn fit(samples: &[(Vec<f32>, bool)], positions: &[usize]) -> (Vec<f32>, Vec<f32>, Vec<f32>, f32) {
    let n = positions.len();
    let x: Vec<Vec<f32>> = samples.iter().map(|(x, _)| positions.iter().map(|&k| x[k]).collect()).collect();
    let m = samples.len() as f64;
    let mut mean = vec![0f64; n];
    let mut var = vec![0f64; n];
    for xi in &x {
        for k in 0..n {
            mean[k] += xi[k] as f64 / m;
        }
    }
    for xi in &x {
        for k in 0..n {
            var[k] += (xi[k] as f64 - mean[k]).powi(2) / m;
        }
    }
    let std: Vec<f64> = var.iter().map(|v| v.sqrt().max(1e-6)).collect();
    let z: Vec<Vec<f64>> = x.iter().map(|xi| (0..n).map(|k| (xi[k] as f64 - mean[k]) / std[k]).collect()).collect();
    let y: Vec<f64> = samples.iter().map(|s| if s.1 { 1.0 } else { 0.0 }).collect();
    let mut w = vec![0f64; n];
    let prior = y.iter().sum::<f64>() / m;
    let mut b = (prior / (1.0 - prior)).ln();
    let lambda = 1e-3;
    let (mut mw, mut vw, mut mb, mut vb) = (vec![0f64; n], vec![0f64; n], 0f64, 0f64);
    let (lr, b1, b2) = (0.05, 0.9, 0.999);
    for step in 1..=3000 {
        let mut gw = vec![0f64; n];
        let mut gb = 0f64;
        for (zi, yi) in z.iter().zip(&y) {
            let p = 1.0 / (1.0 + (-(b + zi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())).exp());
            let d = p - yi;
            gb += d / m;
            for k in 0..n {
                gw[k] += d * zi[k] / m;
            }
        }
        for k in 0..n {
            gw[k] += lambda * w[k];
            mw[k] = b1 * mw[k] + (1.0 - b1) * gw[k];
            vw[k] = b2 * vw[k] + (1.0 - b2) * gw[k] * gw[k];
            let (mh, vh) = (mw[k] / (1.0 - b1.powi(step)), vw[k] / (1.0 - b2.powi(step)));
            w[k] -= lr * mh / (vh.sqrt() + 1e-8);
        }
        mb = b1 * mb + (1.0 - b1) * gb;
        vb = b2 * vb + (1.0 - b2) * gb * gb;
        b -= lr * (mb / (1.0 - b1.powi(step))) / ((vb / (1.0 - b2.powi(step))).sqrt() + 1e-8);
    }
    (
        mean.iter().map(|v| *v as f32).collect(),
        std.iter().map(|v| *v as f32).collect(),
        w.iter().map(|v| *v as f32).collect(),
        b as f32,
    )
}

/// The threshold that maximizes F-beta over scored samples.
pub fn best_threshold(scored: &[(f32, bool)], beta: f32) -> f32 {
    let mut s: Vec<(f32, bool)> = scored.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total_pos = s.iter().filter(|x| x.1).count() as f32;
    let (mut tp, mut best, mut best_t) = (0f32, -1f32, 1f32);
    let b2 = beta * beta;
    for (i, (p, l)) in s.iter().enumerate() {
        if *l {
            tp += 1.0;
        }
        if s.get(i + 1).is_some_and(|n| n.0 == *p) {
            continue;
        }
        let prec = tp / (i + 1) as f32;
        let rec = tp / total_pos.max(1.0);
        let f = if prec + rec > 0.0 { (1.0 + b2) * prec * rec / (b2 * prec + rec) } else { 0.0 };
        if f > best {
            best = f;
            best_t = *p;
        }
    }
    best_t
}

/// Precision, recall and F1 of a decision.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Prf {
    /// Statements flagged.
    pub predicted: usize,
    /// Of them, true repeats.
    pub correct: usize,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// Precision/recall/F1 of `score >= threshold` against labels.
pub fn prf(scored: &[(f32, bool)], threshold: f32) -> Prf {
    let predicted = scored.iter().filter(|s| s.0 >= threshold).count();
    let correct = scored.iter().filter(|s| s.0 >= threshold && s.1).count();
    let pos = scored.iter().filter(|s| s.1).count();
    let precision = if predicted > 0 { correct as f64 / predicted as f64 } else { 0.0 };
    let recall = if pos > 0 { correct as f64 / pos as f64 } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Prf { predicted, correct, precision, recall, f1 }
}

/// Average precision of a ranking of all statements by score (ties broken pessimistically).
pub fn average_precision(scored: &[(f32, bool)]) -> f64 {
    let mut s: Vec<(f32, bool)> = scored.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let pos = s.iter().filter(|x| x.1).count();
    if pos == 0 {
        return 0.0;
    }
    let mut tp = 0usize;
    let mut sum = 0.0;
    for (i, (_, l)) in s.iter().enumerate() {
        if *l {
            tp += 1;
            sum += tp as f64 / (i + 1) as f64;
        }
    }
    sum / pos as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_models_load() {
        FlagModel::shipped_match();
        FlagModel::shipped_match_lexical();
        FlagModel::shipped_match_transcript();
        FlagModel::shipped_match_transcript_lexical();
        assert!(FlagModel::shipped_lexical().flagged > 0.0);
        let m = FlagModel::shipped();
        assert!(m.flagged >= m.suggested);
        assert!(!m.features.is_empty());
    }

    #[test]
    fn training_separates_a_simple_signal() {
        let mut samples = Vec::new();
        for i in 0..400 {
            let pos = i % 10 == 0;
            let mut x = vec![0.0f32; FEATURES.len()];
            x[0] = if pos { 0.8 } else { 0.3 } + (i % 7) as f32 * 0.01;
            x[8] = (i % 5) as f32;
            samples.push((x, pos));
        }
        let m = FlagModel::train(&samples, &FEATURES, "test").unwrap();
        assert!(m.weights[0] > 1.0, "{:?}", m.weights);
        // A model on a subset reads its features by name and survives a JSON round trip.
        let sub = FlagModel::train(&samples, &["log_terms", "fused"], "test").unwrap();
        assert_eq!(sub.features, ["log_terms", "fused"]);
        assert!(sub.weights[1] > 1.0, "{:?}", sub.weights);
        let back = FlagModel::from_json(&serde_json::to_string(&sub).unwrap()).unwrap();
        assert_eq!(back.probability(&samples[0].0), sub.probability(&samples[0].0));
        assert!(FlagModel::from_json(&serde_json::to_string(&sub).unwrap().replace("log_terms", "nope")).is_err());
        let scored: Vec<(f32, bool)> = samples.iter().map(|(x, l)| (m.probability(x), *l)).collect();
        assert!(average_precision(&scored) > 0.99);
        let p = prf(&scored, m.flagged);
        assert!(p.f1 > 0.99, "{p:?}");
        assert_eq!(m.reasons(&samples[0].0, 1)[0].feature, "fused");
    }

    #[test]
    fn thresholds_come_from_out_of_fold_scores() {
        // Labels independent of the features: in sample, the fit finds patterns in the noise and
        // its best F1 threshold is high; out of fold the scores carry nothing and the threshold
        // falls to where everything is flagged.
        let mut seed = 42u64;
        let mut rand = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as f32 / (1u64 << 31) as f32
        };
        let samples: Vec<(Vec<f32>, bool)> = (0..300)
            .map(|_| {
                let x: Vec<f32> = (0..FEATURES.len()).map(|_| rand()).collect();
                (x, rand() < 0.1)
            })
            .collect();
        let m = FlagModel::train(&samples, &FEATURES, "noise").unwrap();
        let in_sample: Vec<(f32, bool)> = samples.iter().map(|(x, l)| (m.probability(x), *l)).collect();
        assert!(m.flagged < best_threshold(&in_sample, 1.0), "{} vs {}", m.flagged, best_threshold(&in_sample, 1.0));
        assert!(m.suggested <= m.flagged);
    }

    #[test]
    fn metrics_by_hand() {
        let s = [(0.9, true), (0.8, false), (0.7, true), (0.1, false)];
        assert!((average_precision(&s) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        let p = prf(&s, 0.75);
        assert_eq!((p.predicted, p.correct), (2, 1));
        assert_eq!(p.recall, 0.5);
        assert_eq!(best_threshold(&s, 1.0), 0.7);
    }
}

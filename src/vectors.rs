//! Claim embeddings kept in the index: encoded into a bytes fast field, loaded once per segment, searched by exact dot product.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::{DocAddress, Searcher};

use crate::{Error, Result};

/// Dimension of the vectors (all-MiniLM-L6-v2).
pub const DIM: usize = 384;
/// Vectors stored per claim: the statement's and the review title's.
pub const PER_CLAIM: usize = 2;

/// Encodes a claim's vectors (statement, then title; the statement's again when there is no title).
pub fn encode(text: &[f32], title: Option<&[f32]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(PER_CLAIM * DIM * 4);
    for v in [text, title.unwrap_or(text)] {
        for x in v.iter().take(DIM) {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// The vectors of one segment's claims.
#[derive(Debug, Default)]
pub struct SegmentVectors {
    docs: Vec<u32>,
    data: Vec<f32>,
}

impl SegmentVectors {
    fn load(searcher: &Searcher, segment_ord: u32) -> Result<SegmentVectors> {
        let seg = searcher.segment_reader(segment_ord);
        let Some(col) = seg.fast_fields().bytes(crate::schema::FIELD_VECTOR)? else {
            return Ok(SegmentVectors::default());
        };
        // Read the dictionary in order once, then map documents to their value.
        let mut by_ord: Vec<Vec<f32>> = Vec::with_capacity(col.num_terms());
        let mut stream = col.dictionary().stream().map_err(|e| Error::Tantivy(e.into()))?;
        while stream.advance() {
            let bytes = stream.key();
            by_ord.push(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect());
        }
        let mut out = SegmentVectors::default();
        for doc in 0..seg.max_doc() {
            if let Some(ord) = col.term_ords(doc).next() {
                if let Some(v) = by_ord.get(ord as usize).filter(|v| v.len() == PER_CLAIM * DIM) {
                    out.docs.push(doc);
                    out.data.extend_from_slice(v);
                }
            }
        }
        Ok(out)
    }
}

/// Loaded segment vectors, by segment id; segments are immutable, so entries stay valid.
#[derive(Debug, Default)]
pub struct VectorCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentVectors>>>,
}

/// Dot product with eight independent accumulators, so that the compiler can use SIMD lanes
/// (a plain `sum()` of floats must add in order and stays scalar).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

impl VectorCache {
    fn segment(&self, searcher: &Searcher, ord: u32) -> Result<Arc<SegmentVectors>> {
        let id = searcher.segment_reader(ord).segment_id();
        if let Some(v) = self.segments.lock().map_err(|_| poisoned())?.get(&id) {
            return Ok(v.clone());
        }
        let v = Arc::new(SegmentVectors::load(searcher, ord)?);
        let mut g = self.segments.lock().map_err(|_| poisoned())?;
        // Forget segments the searcher no longer has (merged away).
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        g.retain(|k, _| live.contains(k));
        g.insert(id, v.clone());
        Ok(v)
    }

    /// The `k` live claims most similar to `query` (a unit vector): the best of the cosines
    /// to each claim's statement and title, highest first.
    pub fn nearest(&self, searcher: &Searcher, query: &[f32], k: usize) -> Result<Vec<(DocAddress, f32)>> {
        let mut best: Vec<(DocAddress, f32)> = Vec::with_capacity(k + 1);
        let mut floor = f32::NEG_INFINITY;
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let vecs = self.segment(searcher, ord as u32)?;
            for (i, doc) in vecs.docs.iter().enumerate() {
                let base = i * PER_CLAIM * DIM;
                let s =
                    dot(query, &vecs.data[base..base + DIM]).max(dot(query, &vecs.data[base + DIM..base + 2 * DIM]));
                if s <= floor || seg.is_deleted(*doc) {
                    continue;
                }
                best.push((DocAddress::new(ord as u32, *doc), s));
                if best.len() > 2 * k {
                    best.sort_by(|a, b| b.1.total_cmp(&a.1));
                    best.truncate(k);
                    floor = best[k - 1].1;
                }
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(k);
        Ok(best)
    }

    /// The similarities of `query` to one claim's statement and to its review title, if it has vectors.
    pub fn similarities(&self, searcher: &Searcher, addr: DocAddress, query: &[f32]) -> Result<Option<(f32, f32)>> {
        let vecs = self.segment(searcher, addr.segment_ord)?;
        Ok(vecs.docs.binary_search(&addr.doc_id).ok().map(|i| {
            let base = i * PER_CLAIM * DIM;
            (dot(query, &vecs.data[base..base + DIM]), dot(query, &vecs.data[base + DIM..base + 2 * DIM]))
        }))
    }

    /// The similarity of `query` to one claim, if it has vectors.
    pub fn similarity(&self, searcher: &Searcher, addr: DocAddress, query: &[f32]) -> Result<Option<f32>> {
        let vecs = self.segment(searcher, addr.segment_ord)?;
        Ok(vecs.docs.binary_search(&addr.doc_id).ok().map(|i| {
            let base = i * PER_CLAIM * DIM;
            dot(query, &vecs.data[base..base + DIM]).max(dot(query, &vecs.data[base + DIM..base + 2 * DIM]))
        }))
    }
}

fn poisoned() -> Error {
    Error::Model("the vector cache is unavailable after an earlier failure".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..DIM + 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..DIM + 3).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    #[test]
    fn encode_keeps_both_vectors() {
        let t = vec![1.0f32; DIM];
        let bytes = encode(&t, None);
        assert_eq!(bytes.len(), PER_CLAIM * DIM * 4);
    }
}

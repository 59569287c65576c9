//! Claim embeddings kept in the index: encoded into a bytes fast field, quantized to int8 once per segment, searched by an int8 scan with exact f32 rescoring
//! (in large segments, of the vectors nearest by their sign bits only).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::columnar::BytesColumn;
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

/// Neighbours rescored exactly for each one asked for: the int8 scan keeps
/// `RESCORE_FACTOR * k` claims (at least [`RESCORE_MIN`]) and their f32 vectors decide the order.
pub const RESCORE_FACTOR: usize = 4;
/// Fewest claims rescored exactly after the int8 scan.
pub const RESCORE_MIN: usize = 256;

/// Quantizes a vector to int8 with one scale for the whole vector (its largest magnitude maps to
/// 127), appending the codes to `out`; returns the scale (0 for a zero vector).
pub fn quantize(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        out.extend(std::iter::repeat_n(0i8, v.len()));
        return 0.0;
    }
    let scale = max / 127.0;
    out.extend(v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8));
    scale
}

/// Dot product of int8 codes: with AVX-512 VNNI or AVX2 where the CPU has them (checked at run
/// time, so the binary still runs on any x86-64), otherwise portably. All give the same integer.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            // SAFETY: the CPU supports all three, checked just above.
            return unsafe { dot_i8_vnni(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { dot_i8_avx2(a, b) };
        }
    }
    dot_i8_portable(a, b)
}

/// [`dot_i8_portable`] with AVX-512 VNNI, 64 codes at a time. `vpdpbusd` multiplies unsigned by
/// signed bytes, so `b` is shifted into 1..=255 (its sign bit flipped: `b + 128`) and `a`'s
/// sum, taken alongside by a second `vpdpbusd` against ones, removes the shift:
/// `Σ a·b = Σ a·(b + 128) − 128 · Σ a`. Four products of at most 255 × 127 per lane and step:
/// no lane can overflow for any vector of fewer than 2^14 dimensions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_i8_vnni(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (flip, ones) = (_mm512_set1_epi8(i8::MIN), _mm512_set1_epi8(1));
    let (mut shifted, mut sum) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let mut i = 0;
    // SAFETY (the loads): each reads 64 bytes at i with i + 64 <= n, inside both slices; loadu
    // has no alignment requirement.
    while i + 64 <= n {
        let x = _mm512_loadu_si512(a.as_ptr().add(i).cast());
        let y = _mm512_xor_si512(_mm512_loadu_si512(b.as_ptr().add(i).cast()), flip);
        shifted = _mm512_dpbusd_epi32(shifted, y, x);
        sum = _mm512_dpbusd_epi32(sum, ones, x);
        i += 64;
    }
    let tail: i32 = a[i..].iter().zip(&b[i..]).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    _mm512_reduce_add_epi32(shifted) - 128 * _mm512_reduce_add_epi32(sum) + tail
}

/// Dot product of int8 codes, in sixteen i32 lanes so that the compiler can use SIMD (SSE2 on a
/// baseline x86-64 build).
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0i32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for k in 0..16 {
            acc[k] += i32::from(x[k]) * i32::from(y[k]);
        }
    }
    let tail: i32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    acc.iter().sum::<i32>() + tail
}

/// [`dot_i8_portable`] with AVX2: sixteen codes at a time widened to i16 and multiplied and
/// added in pairs into eight i32 lanes (`vpmaddwd`), two accumulators to overlap the additions.
/// The products of two codes fit an i16 pair sum (codes are in -127..=127), so no lane can
/// overflow for any vector of fewer than 2^16 dimensions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    // SAFETY (the loads): every load reads 16 bytes at i or i + 16 with i + 32 <= n (or
    // i + 16 <= n below), inside both slices; loadu has no alignment requirement.
    while i + 32 <= n {
        let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
        let x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.cast()));
        let y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.cast()));
        let x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.add(16).cast()));
        let y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.add(16).cast()));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, y0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, y1));
        i += 32;
    }
    if i + 16 <= n {
        let x = _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(i).cast()));
        let y = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.as_ptr().add(i).cast()));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x, y));
        i += 16;
    }
    let acc = _mm256_add_epi32(acc0, acc1);
    let s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    let tail: i32 = a[i..].iter().zip(&b[i..]).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
    _mm_cvtsi128_si32(s) + tail
}

/// A claim's vectors quantized to int8: the codes of its statement and title vectors, then their scales.
#[derive(Debug, Default, Clone)]
pub struct Quantized {
    codes: Vec<i8>,
    scales: Vec<f32>,
    /// The sign bits of each vector about `mean` ([`Quantized::build_prefilter`]), `WORDS` words
    /// each, in blocks of [`BLOCK`] claims.
    bits: Vec<u64>,
    /// The mean of the vectors, which the sign bits are taken about.
    mean: Vec<f32>,
}

/// Segments with at least this many claims find the vectors for their int8 scan by the vectors'
/// sign bits first (48 bytes a vector against 384), since at a million claims the int8 codes
/// alone are 730 MB to read for every query.
pub const PREFILTER_MIN: usize = 50_000;
/// The sign-bit stage keeps as many vectors as one claim in this many has (one vector in
/// `PER_CLAIM` × this many) when the scan returns [`PREFILTER_AT`] claims, in proportion for
/// more or fewer, and at least [`PREFILTER_FACTOR`] times the claims the scan returns, for the
/// int8 scan. Only the vectors kept are scanned, not their claims' others. On the 2021-2B
/// vectors (591 train and dev statements, filter forced on), at one claim in 24 recall@10 is
/// 0.9995 and recall@100 0.969 with the 400 rescored; the Hamming distance of the query's own sign
/// bits, which [`distance`] replaced, needed one in 12 for 0.998 and 0.964.
pub const PREFILTER_SHARE: usize = 24;
/// The number of claims returned at which the sign bits keep [`PREFILTER_SHARE`]: 400, what the
/// default 100 semantic candidates rescore. Screening's 20 candidates rescore
/// [`RESCORE_MIN`] = 256 claims, so keep one claim's worth in 37.5 (recall@20 on the 2021-2B
/// vectors, filter forced on: 0.995 at one in 38; the Hamming distance gave 0.990 at one in 19).
pub const PREFILTER_AT: usize = 400;
/// The sign-bit stage keeps at least this many vectors for each claim the scan returns.
pub const PREFILTER_FACTOR: usize = 4;

/// How many vectors the sign bits keep in a segment of `claims` claims for a scan returning `n`.
pub fn prefilter_keep(claims: usize, n: usize) -> usize {
    (claims * n / (PREFILTER_SHARE * PREFILTER_AT)).max(PREFILTER_FACTOR * n)
}

/// How many threads scan a segment of `claims` claims: one per core (at most 8) once the segment
/// has its sign bits ([`PREFILTER_MIN`] claims or more), else one.
fn parts(claims: usize) -> usize {
    if claims < PREFILTER_MIN {
        return 1;
    }
    cores()
}

/// The cores this process may use, at most 8. Looked up once: on Linux `available_parallelism`
/// reads the CPU affinity and cgroup files.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
}

/// `f` over `parts` consecutive ranges of `0..len`, each on a thread of its own (the last on this
/// one), in order.
pub(crate) fn in_parts<T: Send>(len: usize, parts: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let parts = parts.clamp(1, len.max(1));
    let size = len.div_ceil(parts);
    let range = |p: usize| (p * size).min(len)..((p + 1) * size).min(len);
    if parts == 1 {
        return vec![f(0..len)];
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..parts - 1).map(|p| s.spawn(move || f(range(p)))).collect();
        let last = f(range(parts - 1));
        let mut out: Vec<T> =
            handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        out.push(last);
        out
    })
}

/// How many claims ahead [`Quantized::scan_among`] prefetches codes.
const PREFETCH_AHEAD: usize = 4;
/// Words of sign bits per vector.
const WORDS: usize = DIM.div_ceil(64);

/// The sign bits of `DIM` values, set where the value is above zero.
fn sign_bits(value: impl Fn(usize) -> f32) -> [u64; WORDS] {
    let mut w = [0u64; WORDS];
    for d in 0..DIM {
        if value(d) > 0.0 {
            w[d / 64] |= 1 << (d % 64);
        }
    }
    w
}

/// Claims whose sign bits lie together: the bits are stored in blocks of this many claims, word
/// by word (the first word of each of the block's claims, then the second...), so that one
/// 512-bit register holds the same word of every claim in a block.
const BLOCK: usize = 8;
/// Words of sign bits in one block.
const BLOCK_WORDS: usize = BLOCK * PER_CLAIM * WORDS;

/// The sign bits of a block's claims, laid out as [`BLOCK`] describes: `words[w][c]` for word `w`
/// (of all the claims' vectors in turn) of claim `c` of the block.
fn block_word(block: &[u64], vector: usize, word: usize, claim: usize) -> u64 {
    block[(vector * WORDS + word) * BLOCK + claim]
}

/// Bits of each magnitude of a query's values ([`Planes`]).
const MAG_BITS: usize = 3;
/// The largest magnitude.
const MAG: usize = (1 << MAG_BITS) - 1;

/// A query's values about the mean as the sign bits and `MAG_BITS` bit planes of their
/// magnitudes, each rounded to `0..=MAG` (the largest to `MAG`).
struct Planes {
    signs: [u64; WORDS],
    mags: [[u64; WORDS]; MAG_BITS],
}

/// The largest distance ([`distance`]).
const FAR: usize = MAG * DIM;

/// A query's [`Planes`] from its values about the mean.
fn planes(value: impl Fn(usize) -> f32) -> Planes {
    let max = (0..DIM).map(|d| value(d).abs()).fold(0f32, f32::max);
    let step = if max > 0.0 && max.is_finite() { max / MAG as f32 } else { 1.0 };
    let mut mags = [[0u64; WORDS]; MAG_BITS];
    for d in 0..DIM {
        // Rounded half up; `as` saturates, and takes NaN to 0.
        let m = ((value(d).abs() / step + 0.5) as u32).min(MAG as u32);
        for (j, plane) in mags.iter_mut().enumerate() {
            plane[d / 64] |= u64::from(m >> j & 1) << (d % 64);
        }
    }
    Planes { signs: sign_bits(value), mags }
}

/// How far a vector's sign bits lie from a query: `MAG·DIM` less the query's rounded magnitudes
/// where the vector's sign agrees with the query's (`Σ_j 2^j·|mags[j] & !(signs ^ b)|`), so in
/// `0..=FAR`, nearer smaller. Up to a constant and a scale, this is the query's dot product with
/// the vector's signs (± 1), which ranks vectors better than the Hamming distance of the query's
/// own signs.
#[inline(always)]
fn distance(b: impl Fn(usize) -> u64, query: &Planes) -> u16 {
    let mut agree = 0u32;
    for w in 0..WORDS {
        let same = !(b(w) ^ query.signs[w]);
        for (j, plane) in query.mags.iter().enumerate() {
            agree += (same & plane[w]).count_ones() << j;
        }
    }
    (FAR as u32 - agree) as u16
}

/// The [`distance`] of `query` to every vector of whole blocks of claims in `bits` ([`BLOCK`]):
/// for each block, the distances of its claims' first vectors, then of their second vectors, and
/// so on.
#[inline(always)]
fn distances_portable(bits: &[u64], query: &Planes, out: &mut Vec<u16>) {
    for block in bits.chunks_exact(BLOCK_WORDS) {
        for v in 0..PER_CLAIM {
            for c in 0..BLOCK {
                out.push(distance(|w| block_word(block, v, w, c), query));
            }
        }
    }
}

/// [`distances_portable`] compiled with the `popcnt` instruction (a baseline x86-64 build counts
/// bits with a dozen instructions instead).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn distances_popcnt(bits: &[u64], query: &Planes, out: &mut Vec<u16>) {
    distances_portable(bits, query, out)
}

/// [`distances_portable`] with AVX-512: a block's claims side by side in one register, counted by
/// `vpopcntq`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
fn distances_avx512(bits: &[u64], query: &Planes, out: &mut Vec<u16>) {
    use std::arch::x86_64::*;
    let signs: [__m512i; WORDS] = std::array::from_fn(|w| _mm512_set1_epi64(query.signs[w] as i64));
    let mags: [[__m512i; MAG_BITS]; WORDS] =
        std::array::from_fn(|w| std::array::from_fn(|j| _mm512_set1_epi64(query.mags[j][w] as i64)));
    let far = _mm512_set1_epi64(FAR as i64);
    for (b, block) in bits.chunks_exact(BLOCK_WORDS).enumerate() {
        prefetch_ahead(bits, b);
        for v in 0..PER_CLAIM {
            let mut acc = [_mm512_setzero_si512(); MAG_BITS];
            for w in 0..WORDS {
                let at = &block[(v * WORDS + w) * BLOCK..(v * WORDS + w + 1) * BLOCK];
                // SAFETY: `at` is BLOCK = 8 u64s, 64 bytes; loadu has no alignment requirement.
                let x = unsafe { _mm512_loadu_si512(at.as_ptr().cast()) };
                // Where the signs agree: !(x ^ signs), once for every plane.
                let same = _mm512_ternarylogic_epi64::<0b1010_0101>(x, x, signs[w]);
                for (a, m) in acc.iter_mut().zip(&mags[w]) {
                    *a = _mm512_add_epi64(*a, _mm512_popcnt_epi64(_mm512_and_si512(same, *m)));
                }
            }
            let mut agree = acc[0];
            for (j, a) in acc.iter().enumerate().skip(1) {
                agree = _mm512_add_epi64(agree, _mm512_sllv_epi64(*a, _mm512_set1_epi64(j as i64)));
            }
            let d = _mm512_sub_epi64(far, agree);
            let mut o = [0u16; BLOCK];
            // SAFETY: `o` is 8 u16s, 16 bytes, the size of the register stored.
            unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), _mm512_cvtepi64_epi16(d)) };
            out.extend_from_slice(&o);
        }
    }
}

/// [`distances_portable`] with AVX2: four of a block's claims side by side in one register,
/// their bits counted a byte at a time by table lookup (`vpshufb`) and the bytes summed by
/// `vpsadbw`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn distances_avx2(bits: &[u64], query: &Planes, out: &mut Vec<u16>) {
    use std::arch::x86_64::*;
    let table = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
    );
    let nibble = _mm256_set1_epi8(0x0f);
    let count = |x: __m256i| {
        let low = _mm256_shuffle_epi8(table, _mm256_and_si256(x, nibble));
        let high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble));
        _mm256_add_epi8(low, high)
    };
    let signs: [__m256i; WORDS] = std::array::from_fn(|w| _mm256_set1_epi64x(query.signs[w] as i64));
    let mags: [[__m256i; MAG_BITS]; WORDS] =
        std::array::from_fn(|w| std::array::from_fn(|j| _mm256_set1_epi64x(query.mags[j][w] as i64)));
    for (b, block) in bits.chunks_exact(BLOCK_WORDS).enumerate() {
        prefetch_ahead(bits, b);
        for v in 0..PER_CLAIM {
            for half in 0..2 {
                // Each byte counts at most 8 bits a word, so at most 8 × WORDS = 48: no overflow.
                let mut acc = [_mm256_setzero_si256(); MAG_BITS];
                for w in 0..WORDS {
                    let at = &block[(v * WORDS + w) * BLOCK + 4 * half..(v * WORDS + w) * BLOCK + 4 * half + 4];
                    // SAFETY: `at` is 4 u64s, 32 bytes; loadu has no alignment requirement.
                    let differ = _mm256_xor_si256(unsafe { _mm256_loadu_si256(at.as_ptr().cast()) }, signs[w]);
                    for (a, m) in acc.iter_mut().zip(&mags[w]) {
                        // m & !differ: bits of the magnitude where the signs agree.
                        *a = _mm256_add_epi8(*a, count(_mm256_andnot_si256(differ, *m)));
                    }
                }
                let mut agree = [0u64; 4];
                for (j, a) in acc.iter().enumerate() {
                    let mut sums = [0u64; 4];
                    // SAFETY: `sums` is 4 u64s, 32 bytes, the size of the register stored.
                    unsafe {
                        _mm256_storeu_si256(sums.as_mut_ptr().cast(), _mm256_sad_epu8(*a, _mm256_setzero_si256()))
                    };
                    for (g, s) in agree.iter_mut().zip(sums) {
                        *g += s << j;
                    }
                }
                out.extend(agree.iter().map(|g| (FAR as u64 - g) as u16));
            }
        }
    }
}

/// Blocks ahead of the one being read whose sign bits [`prefetch_ahead`] asks for: at a million
/// claims, 2 or 4 took the sign-bit stage from 7.1–7.8 to 6.1–6.4 ms, 8 gained nothing.
const PREFETCH_BLOCKS: usize = 2;

/// Asks the CPU to bring block `b + PREFETCH_BLOCKS` of `bits` into cache (a hint: nothing
/// happens past the end, or elsewhere than x86-64).
#[inline(always)]
fn prefetch_ahead(bits: &[u64], b: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(next) = bits.get((b + PREFETCH_BLOCKS) * BLOCK_WORDS..(b + PREFETCH_BLOCKS + 1) * BLOCK_WORDS) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for line in next.chunks(8) {
            // SAFETY: SSE is part of baseline x86-64; a prefetch reads nothing and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    }
}

fn distances(bits: &[u64], query: &Planes, out: &mut Vec<u16>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
            // SAFETY: the CPU supports both, checked just above.
            return unsafe { distances_avx512(bits, query, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { distances_avx2(bits, query, out) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt, checked just above.
            return unsafe { distances_popcnt(bits, query, out) };
        }
    }
    distances_portable(bits, query, out)
}

/// How many of `dists` have each distance up to `FAR` (larger ones, which no vector has, are not
/// counted). Four histograms in turn, added at the end: most distances fall in a few values, and
/// one histogram would wait on its own last increment of the same count.
fn histogram(dists: &[u16]) -> Vec<usize> {
    let mut hist = vec![[0u32; 4]; FAR + 2];
    let mut quads = dists.chunks_exact(4);
    for d in &mut quads {
        for (k, x) in d.iter().enumerate() {
            hist[usize::from(*x).min(FAR + 1)][k] += 1;
        }
    }
    for x in quads.remainder() {
        hist[usize::from(*x).min(FAR + 1)][0] += 1;
    }
    hist[..=FAR].iter().map(|h| h.iter().map(|x| *x as usize).sum()).collect()
}

/// A claim kept for the int8 scan, and which of its vectors to score (bit `j` for vector `j`).
pub type Kept = (usize, u8);
/// Every vector of a claim, as a [`Kept`] mask.
pub const ALL_VECTORS: u8 = (1 << PER_CLAIM) - 1;

impl Quantized {
    /// Appends one claim's vectors (`PER_CLAIM * DIM` floats).
    pub fn push(&mut self, vectors: &[f32]) {
        for v in vectors.chunks_exact(DIM).take(PER_CLAIM) {
            let scale = quantize(v, &mut self.codes);
            self.scales.push(scale);
        }
    }

    /// Number of claims held.
    pub fn len(&self) -> usize {
        self.scales.len() / PER_CLAIM
    }

    /// True when no claim is held.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Asks the CPU to bring the codes of claim `i`'s vectors in `mask` into cache (a hint:
    /// nothing happens elsewhere).
    #[inline(always)]
    fn prefetch(&self, (i, mask): Kept) {
        #[cfg(target_arch = "x86_64")]
        for v in (0..PER_CLAIM).filter(|v| mask & (1 << v) != 0) {
            let v = i * PER_CLAIM + v;
            if let Some(codes) = self.codes.get(v * DIM..(v + 1) * DIM) {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                for line in codes.chunks(64) {
                    // SAFETY: SSE is part of baseline x86-64; a prefetch reads nothing and cannot fault.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
                }
            }
        }
    }

    /// The approximate similarity of claim `i` to a quantized query: the best of its vectors.
    pub fn similarity(&self, i: usize, query: &[i8], query_scale: f32) -> f32 {
        self.similarity_of(i, ALL_VECTORS, query, query_scale)
    }

    /// [`Quantized::similarity`] over the vectors in `mask` only (bit `j` for vector `j`).
    fn similarity_of(&self, i: usize, mask: u8, query: &[i8], query_scale: f32) -> f32 {
        let mut best = f32::NEG_INFINITY;
        for j in (0..PER_CLAIM).filter(|j| mask & (1 << j) != 0) {
            let v = i * PER_CLAIM + j;
            let s = dot_i8(query, &self.codes[v * DIM..(v + 1) * DIM]) as f32 * self.scales[v] * query_scale;
            best = best.max(s);
        }
        best
    }

    /// Takes the sign bits of every vector about their mean, for [`Quantized::scan`] to find its
    /// candidates by in a segment of [`PREFILTER_MIN`] claims or more. Call once all claims are in.
    pub fn build_prefilter(&mut self) {
        let vectors = self.scales.len();
        if vectors == 0 {
            return;
        }
        let mut sum = vec![0f64; DIM];
        for (v, codes) in self.codes.chunks_exact(DIM).enumerate() {
            for (m, c) in sum.iter_mut().zip(codes) {
                *m += f64::from(*c) * f64::from(self.scales[v]);
            }
        }
        let mean: Vec<f32> = sum.iter().map(|m| (m / vectors as f64) as f32).collect();
        // Claims past the last whole block are padded with zero bits; their distances are dropped.
        let mut bits = vec![0u64; self.len().div_ceil(BLOCK) * BLOCK_WORDS];
        for (v, codes) in self.codes.chunks_exact(DIM).enumerate() {
            let words = sign_bits(|d| f32::from(codes[d]) * self.scales[v] - mean[d]);
            let (claim, vector) = (v / PER_CLAIM, v % PER_CLAIM);
            let block = &mut bits[claim / BLOCK * BLOCK_WORDS..(claim / BLOCK + 1) * BLOCK_WORDS];
            for (w, word) in words.into_iter().enumerate() {
                block[(vector * WORDS + w) * BLOCK + claim % BLOCK] = word;
            }
        }
        self.bits = bits;
        self.mean = mean;
    }

    /// The vectors nearest to the query by their sign bits ([`distance`]), at least `keep` of
    /// them (all that tie with the last), as the claims that hold them with a mask of which
    /// ([`Kept`]), in claim order; every claim and vector when the bits are not built. The claims
    /// are split among the cores ([`parts`]).
    pub fn prefilter(&self, query: &[f32], keep: usize) -> Vec<Kept> {
        self.prefilter_in(query, keep, parts(self.len()))
    }

    /// [`Quantized::prefilter`] in `parts` threads.
    fn prefilter_in(&self, query: &[f32], keep: usize, parts: usize) -> Vec<Kept> {
        let blocks = self.len().div_ceil(BLOCK);
        if self.bits.len() != blocks * BLOCK_WORDS || self.mean.len() != DIM || query.len() < DIM {
            return (0..self.len()).map(|i| (i, ALL_VECTORS)).collect();
        }
        let q = planes(|d| query[d] - self.mean[d]);
        let dists = in_parts(blocks, parts, |r| {
            let mut dist = Vec::with_capacity(r.len() * BLOCK * PER_CLAIM);
            distances(&self.bits[r.start * BLOCK_WORDS..r.end * BLOCK_WORDS], &q, &mut dist);
            // The padding of the last block is no claim: out of every count and cut.
            for claim in self.len().max(r.start * BLOCK)..r.end * BLOCK {
                let (b, c) = ((claim - r.start * BLOCK) / BLOCK, claim % BLOCK);
                for v in 0..PER_CLAIM {
                    dist[(b * PER_CLAIM + v) * BLOCK + c] = u16::MAX;
                }
            }
            let hist = histogram(&dist);
            (r.start * BLOCK, dist, hist)
        });
        // The smallest distance within which `keep` vectors lie, from the histogram of distances.
        let mut within = 0;
        let cut = (0..=FAR)
            .position(|d| {
                within += dists.iter().map(|(_, _, h)| h[d]).sum::<usize>();
                within >= keep
            })
            .unwrap_or(FAR);
        // Each part's claims within the cut, in their own threads, then in claim order.
        let cut = cut as u16;
        let kept = in_parts(dists.len(), dists.len(), |r| {
            let mut out = Vec::new();
            for (start, dist, _) in &dists[r] {
                for (b, block) in dist.chunks_exact(BLOCK * PER_CLAIM).enumerate() {
                    let mut masks = [0u8; BLOCK];
                    for (v, d) in block.chunks_exact(BLOCK).enumerate() {
                        for (m, d) in masks.iter_mut().zip(d) {
                            *m |= u8::from(*d <= cut) << v;
                        }
                    }
                    for (c, m) in masks.into_iter().enumerate().filter(|(_, m)| *m != 0) {
                        out.push((start + b * BLOCK + c, m));
                    }
                }
            }
            out
        });
        kept.concat()
    }

    /// The `n` claims most similar to the query by their int8 codes, best first, as (index,
    /// approximate similarity); `skip` leaves claims out. Once the sign bits are built (segments
    /// of [`PREFILTER_MIN`] claims or more build them on loading), only the vectors
    /// [`Quantized::prefilter`] keeps are scanned ([`prefilter_keep`]: as many as one claim in
    /// [`PREFILTER_SHARE`] has for [`PREFILTER_AT`] claims returned, in proportion to `n`, and
    /// at least [`PREFILTER_FACTOR`] × `n`); both stages are then split among the cores.
    pub fn scan(&self, query: &[f32], n: usize, skip: impl Fn(usize) -> bool + Sync) -> Vec<(usize, f32)> {
        self.scan_in(query, n, skip, parts(self.len()))
    }

    /// [`Quantized::scan`] in `parts` threads.
    fn scan_in(&self, query: &[f32], n: usize, skip: impl Fn(usize) -> bool + Sync, parts: usize) -> Vec<(usize, f32)> {
        if self.bits.is_empty() {
            return self.scan_among(query, n, (0..self.len()).map(|i| (i, ALL_VECTORS)), skip);
        }
        let keep = prefilter_keep(self.len(), n);
        let kept = self.prefilter_in(query, keep, parts);
        let found = in_parts(kept.len(), parts, |r| self.scan_among(query, n, kept[r].iter().copied(), &skip));
        let mut best: Vec<(usize, f32)> = found.into_iter().flatten().collect();
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(n);
        best
    }

    /// [`Quantized::scan`] over the claims `among` only, on the vectors of each one's mask.
    pub fn scan_among(
        &self,
        query: &[f32],
        n: usize,
        among: impl Iterator<Item = Kept> + Clone,
        skip: impl Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        let mut q = Vec::with_capacity(DIM);
        let qs = quantize(&query[..DIM.min(query.len())], &mut q);
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(2 * n + 1);
        let mut floor = f32::NEG_INFINITY;
        // The claims the sign bits keep lie apart in memory: ask for the codes of the claim
        // `PREFETCH_AHEAD` places on while this one is scored, so that memory is not waited for.
        let mut ahead = among.clone().skip(PREFETCH_AHEAD);
        for (i, mask) in among {
            if let Some(j) = ahead.next() {
                self.prefetch(j);
            }
            let s = self.similarity_of(i, mask, &q, qs);
            if s <= floor || skip(i) {
                continue;
            }
            best.push((i, s));
            if best.len() > 2 * n {
                best.sort_by(|a, b| b.1.total_cmp(&a.1));
                best.truncate(n);
                floor = best[n - 1].1;
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(n);
        best
    }
}

/// The exact similarity of a query to a claim's f32 vectors: the best of the statement's and the title's.
pub fn exact_similarity(vectors: &[f32], query: &[f32]) -> f32 {
    vectors.chunks_exact(DIM).take(PER_CLAIM).map(|v| dot(query, v)).fold(f32::NEG_INFINITY, f32::max)
}

/// The vectors of one segment's claims: int8 codes in memory for the scan; the exact f32 vectors
/// stay in the index (a memory-mapped column) and are read for rescoring.
#[derive(Debug, Default)]
pub struct SegmentVectors {
    docs: Vec<u32>,
    ords: Vec<u64>,
    quantized: Quantized,
    column: Option<BytesColumn>,
}

impl SegmentVectors {
    fn load(searcher: &Searcher, segment_ord: u32) -> Result<SegmentVectors> {
        let seg = searcher.segment_reader(segment_ord);
        let Some(col) = seg.fast_fields().bytes(crate::schema::FIELD_VECTOR)? else {
            return Ok(SegmentVectors::default());
        };
        // Each document's vector ord, so that the dictionary, streamed in ord order, is quantized
        // straight into document order: no second copy of the codes (768 MB at a million claims)
        // while a segment loads.
        let mut out = SegmentVectors::default();
        for doc in 0..seg.max_doc() {
            if let Some(ord) = col.term_ords(doc).next() {
                out.docs.push(doc);
                out.ords.push(ord);
            }
        }
        // The documents in the order of their ords, which is the order the dictionary streams in.
        let mut by_ord: Vec<u32> = (0..out.ords.len() as u32).collect();
        by_ord.sort_by_key(|&slot| out.ords[slot as usize]);
        let q = &mut out.quantized;
        q.codes = vec![0; out.docs.len() * PER_CLAIM * DIM];
        q.scales = vec![0.0; out.docs.len() * PER_CLAIM];
        let mut valid = vec![false; out.docs.len()];
        let mut stream = col.dictionary().stream().map_err(|e| Error::Tantivy(e.into()))?;
        let (mut floats, mut one) = (Vec::with_capacity(PER_CLAIM * DIM), Quantized::default());
        let (mut ord, mut next) = (0u64, 0usize);
        while stream.advance() {
            decode(stream.key(), &mut floats);
            let ok = floats.len() == PER_CLAIM * DIM;
            if ok {
                one.codes.clear();
                one.scales.clear();
                one.push(&floats);
            }
            while let Some(&slot) = by_ord.get(next).filter(|&&slot| out.ords[slot as usize] == ord) {
                let slot = slot as usize;
                if ok {
                    q.codes[slot * PER_CLAIM * DIM..(slot + 1) * PER_CLAIM * DIM].copy_from_slice(&one.codes);
                    q.scales[slot * PER_CLAIM..(slot + 1) * PER_CLAIM].copy_from_slice(&one.scales);
                    valid[slot] = true;
                }
                next += 1;
            }
            ord += 1;
        }
        // Claims whose bytes are not two vectors (none are written so) leave the scan.
        if valid.iter().any(|v| !v) {
            let mut kept = 0;
            for (slot, _) in valid.iter().enumerate().filter(|(_, v)| **v) {
                out.docs[kept] = out.docs[slot];
                out.ords[kept] = out.ords[slot];
                q.codes.copy_within(slot * PER_CLAIM * DIM..(slot + 1) * PER_CLAIM * DIM, kept * PER_CLAIM * DIM);
                q.scales.copy_within(slot * PER_CLAIM..(slot + 1) * PER_CLAIM, kept * PER_CLAIM);
                kept += 1;
            }
            out.docs.truncate(kept);
            out.ords.truncate(kept);
            q.codes.truncate(kept * PER_CLAIM * DIM);
            q.scales.truncate(kept * PER_CLAIM);
        }
        if out.quantized.len() >= PREFILTER_MIN {
            out.quantized.build_prefilter();
        }
        out.column = Some(col);
        Ok(out)
    }

    /// The exact similarity of claim `i` (an index into `docs`) to the query, from the f32 vectors.
    fn exact(&self, i: usize, query: &[f32], buf: &mut Vec<u8>, floats: &mut Vec<f32>) -> Result<f32> {
        self.read(i, buf, floats)?;
        Ok(exact_similarity(floats, query))
    }

    /// Reads claim `i`'s f32 vectors (statement, then title) from the column into `floats`.
    fn read(&self, i: usize, buf: &mut Vec<u8>, floats: &mut Vec<f32>) -> Result<()> {
        let col = self.column.as_ref().expect("segments with claims have their column");
        buf.clear();
        col.ord_to_bytes(self.ords[i], buf).map_err(|e| Error::Tantivy(e.into()))?;
        decode(buf, floats);
        Ok(())
    }
}

/// Little-endian f32s from bytes, into `out`.
fn decode(bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
}

/// Loaded segment vectors, by segment id; segments are immutable, so entries stay valid.
#[derive(Debug, Default)]
pub struct VectorCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentVectors>>>,
    /// Held while a segment loads, so that matches which miss the cache together load it once
    /// (a million claims' codes are 768 MB) rather than each its own copy.
    loading: Mutex<()>,
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
        let _loading = self.loading.lock().map_err(|_| poisoned())?;
        // Another match may have loaded it while this one waited.
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

    /// Loads every segment of `searcher` into the cache; returns the claims with vectors.
    pub fn load_all(&self, searcher: &Searcher) -> Result<usize> {
        let mut claims = 0;
        for ord in 0..searcher.segment_readers().len() as u32 {
            claims += self.segment(searcher, ord)?.docs.len();
        }
        Ok(claims)
    }

    /// The `k` live claims most similar to `query` (a unit vector): the best of the cosines
    /// to each claim's statement and title, highest first. An int8 scan of every claim (in
    /// segments of [`PREFILTER_MIN`] claims or more, of the vectors their sign bits keep,
    /// [`Quantized::scan`]) picks `max(RESCORE_FACTOR * k, RESCORE_MIN)` of them, and their f32
    /// vectors rank those.
    pub fn nearest(&self, searcher: &Searcher, query: &[f32], k: usize) -> Result<Vec<(DocAddress, f32)>> {
        let n = (k * RESCORE_FACTOR).max(RESCORE_MIN);
        let mut pool: Vec<(u32, usize, f32)> = Vec::new();
        let mut segments = Vec::new();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let vecs = self.segment(searcher, ord as u32)?;
            let found = vecs.quantized.scan(query, n, |i| seg.is_deleted(vecs.docs[i]));
            pool.extend(found.into_iter().map(|(i, s)| (ord as u32, i, s)));
            segments.push(vecs);
        }
        pool.sort_by(|a, b| b.2.total_cmp(&a.2));
        pool.truncate(n);
        // Each claim's f32 vectors are read from the index (about 5 µs a claim at a million
        // claims): split among the cores as the scan of the largest segment was ([`parts`]).
        let cores = segments.iter().map(|v| parts(v.quantized.len())).max().unwrap_or(1);
        let mut best = rescore(&segments, &pool, query, cores)?;
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(k);
        Ok(best)
    }

    /// The `k` live claims most similar to `query` by exact f32 similarity of every claim (slow;
    /// the reference that measures the recall of [`nearest`](Self::nearest)).
    pub fn nearest_exact(&self, searcher: &Searcher, query: &[f32], k: usize) -> Result<Vec<(DocAddress, f32)>> {
        let (mut buf, mut floats) = (Vec::new(), Vec::new());
        let mut best = Vec::new();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let vecs = self.segment(searcher, ord as u32)?;
            for (i, doc) in vecs.docs.iter().enumerate() {
                if !seg.is_deleted(*doc) {
                    best.push((DocAddress::new(ord as u32, *doc), vecs.exact(i, query, &mut buf, &mut floats)?));
                }
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        best.truncate(k);
        Ok(best)
    }

    /// Every live claim with vectors: its address and its f32 vectors (statement, then title).
    pub fn all(&self, searcher: &Searcher) -> Result<Vec<(DocAddress, Vec<f32>)>> {
        let (mut out, mut buf) = (Vec::new(), Vec::new());
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let vecs = self.segment(searcher, ord as u32)?;
            for (i, doc) in vecs.docs.iter().enumerate() {
                if !seg.is_deleted(*doc) {
                    let mut floats = Vec::new();
                    vecs.read(i, &mut buf, &mut floats)?;
                    out.push((DocAddress::new(ord as u32, *doc), floats));
                }
            }
        }
        Ok(out)
    }

    /// The similarities of `query` to one claim's statement and to its review title, if it has vectors.
    pub fn similarities(&self, searcher: &Searcher, addr: DocAddress, query: &[f32]) -> Result<Option<(f32, f32)>> {
        let vecs = self.segment(searcher, addr.segment_ord)?;
        let Ok(i) = vecs.docs.binary_search(&addr.doc_id) else { return Ok(None) };
        let mut floats = Vec::new();
        vecs.read(i, &mut Vec::new(), &mut floats)?;
        let mut parts = floats.chunks_exact(DIM).map(|v| dot(query, v));
        let text = parts.next().unwrap_or(0.0);
        Ok(Some((text, parts.next().unwrap_or(text))))
    }

    /// The similarity of `query` to one claim, if it has vectors.
    pub fn similarity(&self, searcher: &Searcher, addr: DocAddress, query: &[f32]) -> Result<Option<f32>> {
        let vecs = self.segment(searcher, addr.segment_ord)?;
        match vecs.docs.binary_search(&addr.doc_id) {
            Ok(i) => Ok(Some(vecs.exact(i, query, &mut Vec::new(), &mut Vec::new())?)),
            Err(_) => Ok(None),
        }
    }
}

/// The exact similarity of each (segment, claim, _) of `pool` to the query, in pool order, read
/// in `parts` threads.
fn rescore(
    segments: &[Arc<SegmentVectors>],
    pool: &[(u32, usize, f32)],
    query: &[f32],
    parts: usize,
) -> Result<Vec<(DocAddress, f32)>> {
    let rescored = in_parts(pool.len(), parts, |r| -> Result<Vec<(DocAddress, f32)>> {
        let (mut buf, mut floats) = (Vec::new(), Vec::new());
        let exact = |&(ord, i, _): &(u32, usize, f32)| {
            let vecs = &segments[ord as usize];
            Ok((DocAddress::new(ord, vecs.docs[i]), vecs.exact(i, query, &mut buf, &mut floats)?))
        };
        pool[r].iter().map(exact).collect()
    });
    let mut out = Vec::with_capacity(pool.len());
    for part in rescored {
        out.extend(part?);
    }
    Ok(out)
}

fn poisoned() -> Error {
    Error::Model("the vector cache is unavailable after an earlier failure".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_int8_dot_product_is_the_same_on_every_path() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut code = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x % 255) as i32 - 127) as i8
        };
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 128, DIM, DIM + 5] {
            let a: Vec<i8> = (0..n).map(|_| code()).collect();
            let b: Vec<i8> = (0..n).map(|_| code()).collect();
            let plain: i32 = a.iter().zip(&b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
            assert_eq!(dot_i8_portable(&a, &b), plain, "portable, {n} dimensions");
            assert_eq!(dot_i8(&a, &b), plain, "dispatched, {n} dimensions");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2.
                assert_eq!(unsafe { dot_i8_avx2(&a, &b) }, plain, "AVX2, {n} dimensions");
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                // SAFETY: the CPU supports all three.
                assert_eq!(unsafe { dot_i8_vnni(&a, &b) }, plain, "AVX-512 VNNI, {n} dimensions");
            }
        }
        // The extremes of the codes, where a narrower sum would overflow.
        let top = vec![127i8; DIM];
        let bottom = vec![-127i8; DIM];
        assert_eq!(dot_i8(&top, &top), 127 * 127 * DIM as i32);
        assert_eq!(dot_i8(&top, &bottom), -127 * 127 * DIM as i32);
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f32> = (0..DIM + 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..DIM + 3).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }

    fn unit(seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let v: Vec<f32> = (0..DIM)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = dot(&v, &v).sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn int8_dot_is_close_to_the_f32_dot() {
        let (a, b) = (unit(1), unit(2));
        let (mut qa, mut qb) = (Vec::new(), Vec::new());
        let (sa, sb) = (quantize(&a, &mut qa), quantize(&b, &mut qb));
        let approx = dot_i8(&qa, &qb) as f32 * sa * sb;
        assert!((approx - dot(&a, &b)).abs() < 0.01, "{approx} vs {}", dot(&a, &b));
        assert_eq!(quantize(&[0.0; 4], &mut Vec::new()), 0.0);
    }

    /// `n` claims, claim i with the vectors `unit(i)` and `unit(i + title)`, and them quantized.
    fn random_claims(n: u64, title: u64) -> (Vec<Vec<f32>>, Quantized) {
        let claims: Vec<Vec<f32>> = (0..n).map(|i| [unit(i), unit(i + title)].concat()).collect();
        let mut q = Quantized::default();
        for c in &claims {
            q.push(c);
        }
        (claims, q)
    }

    #[test]
    fn the_scan_finds_the_exact_top_hit() {
        let (claims, q) = random_claims(500, 1000);
        for probe in [3u64, 250, 499] {
            let query = unit(probe + 1000);
            let exact = (0..claims.len())
                .max_by(|&a, &b| exact_similarity(&claims[a], &query).total_cmp(&exact_similarity(&claims[b], &query)))
                .unwrap();
            assert_eq!(q.scan(&query, 10, |_| false)[0].0, exact);
            assert_eq!(exact, probe as usize);
        }
        assert!(q.scan(&unit(7), 10, |i| i == 7).iter().all(|(i, _)| *i != 7));
    }

    #[test]
    fn the_sign_bits_keep_the_nearest_claims() {
        let (_, mut q) = random_claims(2000, 5000);
        // Before the bits are built, nothing is filtered out.
        assert_eq!(q.prefilter(&unit(1), 10), (0..2000).map(|i| (i, ALL_VECTORS)).collect::<Vec<_>>());
        q.build_prefilter();
        let keep = 2000 / PREFILTER_SHARE;
        for probe in [0u64, 777, 1999] {
            // A paraphrase: the claim's title vector moved a long way towards an unrelated one.
            let noise = unit(probe + 90_000);
            let mut query: Vec<f32> = unit(probe + 5000).iter().zip(&noise).map(|(a, b)| a + 0.7 * b).collect();
            let norm = dot(&query, &query).sqrt();
            query.iter_mut().for_each(|x| *x /= norm);
            let kept = q.prefilter(&query, keep);
            let vectors: u32 = kept.iter().map(|(_, m)| m.count_ones()).sum();
            assert!(vectors as usize >= keep && kept.len() < 2000 / 4, "kept {} claims", kept.len());
            // The title vector, which the query is near.
            assert!(kept.contains(&(probe as usize, 0b10)), "the sign bits lost claim {probe}");
            assert_eq!(q.scan_among(&query, 10, kept.into_iter(), |_| false)[0].0, probe as usize);
            // `scan` goes through the bits once they are built.
            assert_eq!(q.scan(&query, 10, |_| false)[0].0, probe as usize);
            assert!(q.scan(&query, 10, |i| i == probe as usize).iter().all(|(i, _)| *i != probe as usize));
            // Split among threads, both stages find what one thread finds.
            for parts in [2, 3, 7] {
                assert_eq!(q.prefilter_in(&query, keep, parts), q.prefilter_in(&query, keep, 1));
                let skip = |i: usize| i % 5 == 1;
                assert_eq!(q.scan_in(&query, 40, skip, parts), q.scan_in(&query, 40, skip, 1), "{parts} parts");
            }
        }
    }

    #[test]
    fn the_sign_bits_keep_in_proportion_to_the_claims_returned() {
        let million = 1_000_000;
        // The defaults' 100 candidates rescore 400 claims: one claim's worth in 24.
        assert_eq!(prefilter_keep(million, PREFILTER_AT), million / PREFILTER_SHARE);
        // Screening's 20 rescore 256: in proportion, one in 37.5.
        assert_eq!(prefilter_keep(million, RESCORE_MIN), 26_666);
        assert_eq!(prefilter_keep(million, 2 * PREFILTER_AT), 2 * million / PREFILTER_SHARE);
        // Never fewer than PREFILTER_FACTOR vectors for each claim returned.
        assert_eq!(prefilter_keep(10_000, RESCORE_MIN), PREFILTER_FACTOR * RESCORE_MIN);
    }

    #[test]
    fn the_sign_bit_distance_is_the_same_on_every_path() {
        // 21 claims: two whole blocks and a padded one, built as `build_prefilter` builds them.
        let (claims, mut q) = random_claims(21, 300);
        q.build_prefilter();
        let query = unit(9);
        let qbits = planes(|d| query[d] - q.mean[d]);
        // Claim by claim, each vector's distance, from the floats: the query's magnitudes about
        // the mean in sevenths of the largest, rounded, summed where the vector's sign about the
        // mean agrees with the query's, taken from 7 × DIM.
        let centred: Vec<f32> = (0..DIM).map(|d| query[d] - q.mean[d]).collect();
        let top = centred.iter().fold(0f32, |m, x| m.max(x.abs()));
        let magnitude = |d: usize| (centred[d].abs() / (top / 7.0)).round() as u16;
        let want: Vec<[u16; PER_CLAIM]> = claims
            .iter()
            .map(|c| {
                let mut codes = Vec::new();
                std::array::from_fn(|v| {
                    codes.clear();
                    let s = quantize(&c[v * DIM..(v + 1) * DIM], &mut codes);
                    let agree: u16 = (0..DIM)
                        .filter(|&d| (f32::from(codes[d]) * s - q.mean[d] > 0.0) == (centred[d] > 0.0))
                        .map(magnitude)
                        .sum();
                    7 * DIM as u16 - agree
                })
            })
            .collect();
        // The kernels give them block by block, vector by vector within a block.
        let padded = |d: Vec<u16>| -> Vec<[u16; PER_CLAIM]> {
            (0..claims.len())
                .map(|c| std::array::from_fn(|v| d[(c / BLOCK * PER_CLAIM + v) * BLOCK + c % BLOCK]))
                .collect()
        };
        let mut out = Vec::new();
        distances_portable(&q.bits, &qbits, &mut out);
        assert_eq!(out.len(), 24 * PER_CLAIM);
        assert_eq!(padded(out), want, "portable");
        let mut out = Vec::new();
        distances(&q.bits, &qbits, &mut out);
        assert_eq!(padded(out), want, "dispatched");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
            let mut out = Vec::new();
            // SAFETY: the CPU supports both.
            unsafe { distances_avx512(&q.bits, &qbits, &mut out) };
            assert_eq!(padded(out), want, "AVX-512");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut out = Vec::new();
            // SAFETY: the CPU supports AVX2.
            unsafe { distances_avx2(&q.bits, &qbits, &mut out) };
            assert_eq!(padded(out), want, "AVX2");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            let mut out = Vec::new();
            // SAFETY: the CPU supports popcnt.
            unsafe { distances_popcnt(&q.bits, &qbits, &mut out) };
            assert_eq!(padded(out), want, "popcnt");
        }
        let flat: Vec<u16> = want.iter().flatten().copied().chain([u16::MAX, FAR as u16 + 1]).collect();
        let hist = histogram(&flat);
        for d in [0, flat[0] as usize, flat[41] as usize, FAR] {
            assert_eq!(hist[d], flat.iter().filter(|x| **x as usize == d).count(), "distance {d}");
        }
        assert_eq!(hist.iter().sum::<usize>(), want.len() * PER_CLAIM, "only distances up to FAR count");
        // The cut: the vectors kept are the nearest, and each claim's mask names them.
        for keep in [1, 5, 17, 42] {
            let kept = q.prefilter(&query, keep);
            let cut = (0..=FAR).find(|&d| flat[..42].iter().filter(|x| usize::from(**x) <= d).count() >= keep).unwrap();
            let expect: Vec<Kept> = want
                .iter()
                .enumerate()
                .map(|(c, d)| (c, (0..PER_CLAIM).filter(|&v| usize::from(d[v]) <= cut).fold(0u8, |m, v| m | 1 << v)))
                .filter(|(_, m)| *m != 0)
                .collect();
            assert_eq!(kept, expect, "keep {keep}");
        }
        // Asked for more than there are, every claim comes with every vector, and the padding
        // of the last block with none.
        assert_eq!(q.prefilter(&query, 1000), (0..21).map(|c| (c, ALL_VECTORS)).collect::<Vec<_>>());
    }

    #[test]
    fn a_query_with_no_magnitude_keeps_every_vector() {
        let (claims, mut q) = random_claims(100, 500);
        q.build_prefilter();
        // At the mean (or NaN), every magnitude rounds to 0: every vector lies at the same
        // distance, so all are kept and the int8 scan decides, as without the bits.
        let every: Vec<Kept> = (0..100).map(|c| (c, ALL_VECTORS)).collect();
        assert_eq!(q.prefilter(&q.mean.clone(), 10), every);
        assert_eq!(q.prefilter(&[f32::NAN; DIM], 10), every);
        let query = q.mean.clone();
        let best = (0..claims.len())
            .max_by(|&a, &b| exact_similarity(&claims[a], &query).total_cmp(&exact_similarity(&claims[b], &query)))
            .unwrap();
        assert_eq!(q.scan(&query, 10, |_| false)[0].0, best);
    }

    #[test]
    fn in_parts_covers_every_index_once_in_order() {
        for (len, parts) in [(0, 3), (1, 4), (10, 1), (10, 3), (10, 10), (10, 12), (1001, 8)] {
            let ranges = in_parts(len, parts, |r| r);
            assert!(ranges.len() <= parts.max(1));
            let all: Vec<usize> = ranges.into_iter().flatten().collect();
            assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} in {parts} parts");
        }
    }

    #[test]
    fn the_index_returns_the_exact_top_hit() -> Result<()> {
        let idx = crate::ClaimIndex::create_in_ram()?;
        let mut writer: tantivy::IndexWriter<tantivy::TantivyDocument> = idx.index().writer(50_000_000)?;
        for i in 0..300u64 {
            let claim: crate::Record =
                serde_json::from_value(serde_json::json!({"kind": "claim", "id": format!("c{i}"), "text": "a claim"}))
                    .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            let (text, title) = (unit(i), unit(i + 1000));
            writer.add_document(idx.fields().to_document(&claim, Some(&encode(&text, Some(&title))))?)?;
            if i % 100 == 99 {
                writer.commit()?;
            }
        }
        idx.reload()?;
        let searcher = idx.searcher();
        // Without the model a server does not load vectors; `load_all` loads every segment.
        assert_eq!(idx.warm_up()?, 0);
        assert!(idx.vectors().segments.lock().map_err(|_| poisoned())?.is_empty());
        // Matches that miss the cache together load each segment once: all get the same copy.
        let segments = searcher.segment_readers().len() as u32;
        let loaded: Vec<Vec<Arc<SegmentVectors>>> = std::thread::scope(|s| {
            let loaders: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..segments).map(|o| idx.vectors().segment(&searcher, o)).collect::<Result<_>>()))
                .collect();
            loaders.into_iter().map(|l| l.join().map_err(|_| poisoned())?).collect::<Result<_>>()
        })?;
        for copies in &loaded {
            assert!(copies.iter().zip(&loaded[0]).all(|(a, b)| Arc::ptr_eq(a, b)), "a segment was loaded twice");
        }
        assert_eq!(idx.vectors().load_all(&searcher)?, 300);
        assert_eq!(idx.vectors().segments.lock().map_err(|_| poisoned())?.len(), segments as usize);
        for probe in [0u64, 123, 1299] {
            let query: Vec<f32> = unit(probe).iter().zip(unit(probe + 7)).map(|(a, b)| a + 0.2 * b).collect();
            let approx = idx.vectors().nearest(&searcher, &query, 10)?;
            let exact = idx.vectors().nearest_exact(&searcher, &query, 10)?;
            assert_eq!(approx[0], exact[0]);
            assert_eq!(approx.len(), 10);
        }
        // Rescoring split among threads reads the same claims' vectors, in pool order.
        let segs: Vec<Arc<SegmentVectors>> = loaded[0].clone();
        let pool: Vec<(u32, usize, f32)> =
            (0..segments).flat_map(|o| (0..segs[o as usize].docs.len()).rev().map(move |i| (o, i, 0.0))).collect();
        let query = unit(5);
        let one = rescore(&segs, &pool, &query, 1)?;
        assert_eq!(one.len(), 300);
        assert_eq!(one[0].0, DocAddress::new(0, segs[0].docs[segs[0].docs.len() - 1]));
        assert_eq!(one, rescore(&segs, &pool, &query, 3)?);
        for (addr, s) in &one {
            assert_eq!(Some(*s), idx.vectors().similarity(&searcher, *addr, &query)?);
        }
        Ok(())
    }

    #[test]
    fn claims_embedded_elsewhere_are_found_by_their_vectors() -> Result<()> {
        let idx = crate::ClaimIndex::create_in_ram()?;
        let record = |v: serde_json::Value| -> Result<crate::Record> {
            serde_json::from_value(v).map_err(|e| Error::InvalidRequest(e.to_string()))
        };
        let claim = |i: u64| record(serde_json::json!({"kind": "claim", "id": format!("c{i}"), "text": "a claim"}));
        let evidence =
            record(serde_json::json!({"kind": "evidence", "id": "e1", "claim_id": "c1", "text": "a report"}))?;
        // A vector of the wrong length fails the whole run, and nothing is written.
        let bad = vec![(claim(0)?, Some([unit(0), unit(1000)].concat())), (claim(1)?, Some(unit(1)))];
        assert!(matches!(idx.ingest_embedded(bad), Err(Error::InvalidRequest(_))));
        idx.reload()?;
        assert_eq!(idx.searcher().num_docs(), 0);
        let mut items: Vec<(crate::Record, Option<Vec<f32>>)> =
            (0..50u64).map(|i| Ok((claim(i)?, Some([unit(i), unit(i + 1000)].concat())))).collect::<Result<_>>()?;
        items.push((claim(50)?, None));
        items.push((evidence, None));
        let report = idx.ingest_embedded(items)?;
        assert_eq!((report.claims, report.evidence), (51, 1));
        idx.reload()?;
        let searcher = idx.searcher();
        for probe in [3u64, 42] {
            // Near the title vector of claim `probe`.
            let query: Vec<f32> = unit(probe + 1000).iter().zip(unit(probe + 77)).map(|(a, b)| a + 0.3 * b).collect();
            let best = idx.vectors().nearest(&searcher, &query, 3)?;
            let id =
                crate::matcher::FastStr::new(&searcher, idx.columns(), crate::schema::FIELD_ID).first(best[0].0)?;
            assert_eq!(id, format!("c{probe}"));
        }
        Ok(())
    }

    #[test]
    fn a_segment_quantizes_each_claim_in_its_own_place() -> Result<()> {
        let idx = crate::ClaimIndex::create_in_ram()?;
        // Claim i has the vectors of i % 10, so each distinct vector (a term of the column) is
        // shared by three documents that are not neighbours; claim 30 has none.
        let claim = |i: usize| -> Result<crate::Record> {
            serde_json::from_value(serde_json::json!({"kind": "claim", "id": format!("c{i}"), "text": "a claim"}))
                .map_err(|e| Error::InvalidRequest(e.to_string()))
        };
        let vectors = |i: usize| [unit(i as u64 % 10), unit(i as u64 % 10 + 1000)].concat();
        let mut items: Vec<(crate::Record, Option<Vec<f32>>)> =
            (0..30).map(|i| Ok((claim(i)?, Some(vectors(i))))).collect::<Result<_>>()?;
        items.push((claim(30)?, None));
        idx.ingest_embedded(items)?;
        idx.reload()?;
        let searcher = idx.searcher();
        let mut seen = 0;
        for ord in 0..searcher.segment_readers().len() as u32 {
            let seg = idx.vectors().segment(&searcher, ord)?;
            assert_eq!(seg.docs.len(), seg.quantized.len());
            let mut ids = crate::matcher::FastStr::new(&searcher, idx.columns(), crate::schema::FIELD_ID);
            for (i, doc) in seg.docs.iter().enumerate() {
                let id = ids.first(DocAddress::new(ord, *doc))?;
                let n: usize = id.trim_start_matches('c').parse().map_err(|_| Error::InvalidRequest(id.clone()))?;
                assert!(n < 30, "{id} has no vectors");
                let own = vectors(n);
                let (mut q, mut buf, mut floats) = (Vec::new(), Vec::new(), Vec::new());
                for probe in [&own[..DIM], &own[DIM..], &unit(77)[..]] {
                    q.clear();
                    let qs = quantize(probe, &mut q);
                    let approx = seg.quantized.similarity(i, &q, qs);
                    let exact = seg.exact(i, probe, &mut buf, &mut floats)?;
                    assert!((approx - exact).abs() < 0.02, "{id}: int8 {approx} against exact {exact}");
                    assert!((exact - exact_similarity(&own, probe)).abs() < 1e-5, "{id} read another claim's vectors");
                }
                seen += 1;
            }
        }
        assert_eq!(seen, 30);
        Ok(())
    }

    #[test]
    fn encode_keeps_both_vectors() {
        let t = vec![1.0f32; DIM];
        let bytes = encode(&t, None);
        assert_eq!(bytes.len(), PER_CLAIM * DIM * 4);
    }
}

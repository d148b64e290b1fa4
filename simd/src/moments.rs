//! Exact moments of 8-bit data (minimum, maximum, sum, sum of squares): the statistics an MRC
//! header needs for every int8 frame, at memory speed.
//!
//! The loop is plain scalar Rust shaped for the auto-vectoriser (one pass, four independent
//! reductions, integer accumulators that cannot overflow within a block); it runs inside
//! [`fearless_simd`]'s safe `vectorize` of the best level of the CPU, so the same source is
//! compiled for AVX2 (sign-extend + `vpmaddwd` for the squares) as well as for the SSE2 baseline.

use fearless_simd::{Level, Simd};

/// Exact moments of a run of signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I8Moments {
    /// Number of values.
    pub count: u64,
    /// Smallest value (`i8::MAX` if empty).
    pub min: i8,
    /// Largest value (`i8::MIN` if empty).
    pub max: i8,
    /// Σx.
    pub sum: i64,
    /// Σx².
    pub sum_sq: u64,
}

impl Default for I8Moments {
    fn default() -> Self {
        Self {
            count: 0,
            min: i8::MAX,
            max: i8::MIN,
            sum: 0,
            sum_sq: 0,
        }
    }
}

impl I8Moments {
    /// Combines two runs.
    pub fn merge(&mut self, o: &I8Moments) {
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }
}

/// Values per block: `BLOCK × 128²` fits the `i32` square accumulators.
const BLOCK: usize = 1 << 16;

/// Runs `pass` compiled for the best instruction set of this CPU (AVX-512, AVX2, SSE4.2, NEON,
/// else the baseline): the passes are plain loops shaped for the auto-vectoriser, inlined into
/// `fearless_simd`'s `vectorize` of each level.
// The closures around `pass` are not redundant: their `#[inline(always)]` is what puts the pass
// inside each level's target-feature function.
#[allow(clippy::redundant_closure)]
#[inline(always)]
fn at_best_level<R>(pass: impl Fn() -> R) -> R {
    let level = Level::new();
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = level.as_avx512() {
        return s.vectorize(
            #[inline(always)]
            || pass(),
        );
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(s) = level.as_avx2() {
        return s.vectorize(
            #[inline(always)]
            || pass(),
        );
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(s) = level.as_sse4_2() {
        return s.vectorize(
            #[inline(always)]
            || pass(),
        );
    }
    #[cfg(target_arch = "aarch64")]
    if let Some(s) = level.as_neon() {
        return s.vectorize(
            #[inline(always)]
            || pass(),
        );
    }
    let _ = level;
    pass()
}

/// The moments of `bytes` read as `i8` values.
pub fn i8_moments(bytes: &[u8]) -> I8Moments {
    at_best_level(
        #[inline(always)]
        || moments_blocks(bytes),
    )
}

#[inline(always)]
fn moments_blocks(bytes: &[u8]) -> I8Moments {
    let mut m = I8Moments::default();
    for block in bytes.chunks(BLOCK) {
        m.merge(&block_moments(block));
    }
    m
}

/// One block (at most [`BLOCK`] values). Eight interleaved accumulators per reduction, so the
/// vectoriser needs no reassociation and the loop-carried chains stay short.
#[inline(always)]
fn block_moments(block: &[u8]) -> I8Moments {
    const W: usize = 32;
    let mut sum = [0i32; W];
    let mut sq = [0i32; W];
    let mut mn = [i8::MAX; W];
    let mut mx = [i8::MIN; W];
    let mut chunks = block.chunks_exact(W);
    for c in &mut chunks {
        for k in 0..W {
            let x = c[k] as i8;
            let w = i32::from(i16::from(x));
            sum[k] += w;
            sq[k] += w * w;
            mn[k] = mn[k].min(x);
            mx[k] = mx[k].max(x);
        }
    }
    let mut m = I8Moments {
        count: block.len() as u64,
        min: mn.iter().copied().min().unwrap_or(i8::MAX),
        max: mx.iter().copied().max().unwrap_or(i8::MIN),
        sum: sum.iter().map(|&v| i64::from(v)).sum(),
        sum_sq: sq.iter().map(|&v| v as u32 as u64).sum(),
    };
    for &b in chunks.remainder() {
        let x = b as i8;
        m.min = m.min.min(x);
        m.max = m.max.max(x);
        m.sum += i64::from(x);
        m.sum_sq += u64::from(i32::from(x).unsigned_abs().pow(2));
    }
    m
}

/// Moments of a run of `f32` values, with the sums taken about a shift (see [`f32_moments`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F32Moments {
    /// Number of finite values (NaN and infinities are skipped).
    pub count: u64,
    /// Smallest finite value (`+inf` if none).
    pub min: f32,
    /// Largest finite value (`-inf` if none).
    pub max: f32,
    /// Σ(x − shift) over the finite values, in `f64`.
    pub sum: f64,
    /// Σ(x − shift)² over the finite values, in `f64`.
    pub sum_sq: f64,
}

/// The moments of `bytes` read as native-order `f32` values (a trailing partial value is
/// ignored), skipping NaN and infinities. Sums are of `x − shift` in `f64`: with `shift` one of
/// the values, data with a large offset keep their precision.
///
/// Sixteen interleaved accumulators per reduction, one vectorised pass (about 2 × 8 `f64` lanes
/// per 64 bytes at the AVX-512 level).
pub fn f32_moments(bytes: &[u8], shift: f32) -> F32Moments {
    at_best_level(
        #[inline(always)]
        || f32_pass(bytes, shift),
    )
}

/// Bits of an `f32` exponent: all set for NaN and infinities.
const F32_EXP: u32 = 0x7f80_0000;

#[inline(always)]
fn f32_pass(bytes: &[u8], shift: f32) -> F32Moments {
    const W: usize = 16;
    let k0 = f64::from(shift);
    let mut count = [0u64; W];
    let mut sum = [0f64; W];
    let mut sq = [0f64; W];
    let mut mn = [f32::INFINITY; W];
    let mut mx = [f32::NEG_INFINITY; W];
    let mut chunks = bytes.chunks_exact(4 * W);
    for c in &mut chunks {
        let mut bits = [0u32; W];
        for (b, w) in bits.iter_mut().zip(c.chunks_exact(4)) {
            *b = u32::from_ne_bytes(w.try_into().unwrap_or_default());
        }
        for k in 0..W {
            let finite = bits[k] & F32_EXP != F32_EXP;
            count[k] += u64::from(finite);
            let x = if finite {
                f32::from_bits(bits[k])
            } else {
                shift
            };
            let d = f64::from(x) - k0;
            sum[k] += d;
            sq[k] += d * d;
            // No NaN reaches these: plain comparisons vectorise to min/max.
            mn[k] = if x < mn[k] { x } else { mn[k] };
            mx[k] = if x > mx[k] { x } else { mx[k] };
        }
    }
    let mut m = F32Moments {
        count: count.iter().sum(),
        min: mn.iter().copied().fold(f32::INFINITY, f32::min),
        max: mx.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        sum: sum.iter().sum(),
        sum_sq: sq.iter().sum(),
    };
    for c in chunks.remainder().chunks_exact(4) {
        let x = f32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        if x.is_finite() {
            let d = f64::from(x) - k0;
            m.count += 1;
            m.sum += d;
            m.sum_sq += d * d;
            m.min = m.min.min(x);
            m.max = m.max.max(x);
        }
    }
    if m.count == 0 {
        // Only non-finite values: the shift stood in for them in the lanes.
        m.min = f32::INFINITY;
        m.max = f32::NEG_INFINITY;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(bytes: &[u8]) -> I8Moments {
        let mut m = I8Moments::default();
        for &b in bytes {
            let x = b as i8;
            m.count += 1;
            m.min = m.min.min(x);
            m.max = m.max.max(x);
            m.sum += i64::from(x);
            m.sum_sq += (i64::from(x) * i64::from(x)) as u64;
        }
        m
    }

    #[test]
    fn matches_reference_on_every_length_and_extremes() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for n in (0..300).chain([BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 200_000]) {
            assert_eq!(i8_moments(&data[..n]), reference(&data[..n]), "n = {n}");
        }
        // All −128: the largest squares, and a block sum at its most negative.
        let low = vec![0x80u8; 2 * BLOCK + 5];
        assert_eq!(i8_moments(&low), reference(&low));
        let high = vec![0x7fu8; BLOCK + 3];
        assert_eq!(i8_moments(&high), reference(&high));
        assert_eq!(i8_moments(&[]), I8Moments::default());
    }

    fn f32_reference(values: &[f32], shift: f32) -> (u64, f32, f32, f64, f64) {
        let mut r = (0u64, f32::INFINITY, f32::NEG_INFINITY, 0f64, 0f64);
        for &x in values.iter().filter(|x| x.is_finite()) {
            let d = f64::from(x) - f64::from(shift);
            r = (r.0 + 1, r.1.min(x), r.2.max(x), r.3 + d, r.4 + d * d);
        }
        r
    }

    #[test]
    fn f32_matches_reference_on_every_length_with_non_finite_values() {
        let mut values: Vec<f32> = (0..5000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 9) as f32 / 4096.0) - 300.0)
            .collect();
        for (i, bad) in [
            (3, f32::NAN),
            (70, f32::INFINITY),
            (71, f32::NEG_INFINITY),
            (4999, f32::NAN),
        ] {
            values[i] = bad;
        }
        values[200] = -1.0e6;
        values[4100] = 2.5e6;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        for n in (0..260).chain([1023, 1024, 1025, 4097, 5000]) {
            let shift = values[..n]
                .iter()
                .copied()
                .find(|x| x.is_finite())
                .unwrap_or(0.0);
            // One byte more than whole values: the partial value is ignored.
            let len = (4 * n + 1).min(bytes.len());
            let m = f32_moments(&bytes[..len], shift);
            let (count, min, max, sum, sum_sq) = f32_reference(&values[..n], shift);
            assert_eq!((m.count, m.min, m.max), (count, min, max), "n = {n}");
            let tol = 1e-9 * (1.0 + sum_sq);
            assert!(
                (m.sum - sum).abs() <= tol && (m.sum_sq - sum_sq).abs() <= tol,
                "n = {n}"
            );
        }
        let nans = [f32::NAN; 40]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect::<Vec<u8>>();
        let m = f32_moments(&nans, 0.0);
        assert_eq!(
            (m.count, m.min, m.max),
            (0, f32::INFINITY, f32::NEG_INFINITY)
        );
    }
}

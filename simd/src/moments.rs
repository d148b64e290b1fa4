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

/// The moments of `bytes` read as `i8` values.
pub fn i8_moments(bytes: &[u8]) -> I8Moments {
    let level = Level::new();
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = level.as_avx512() {
        return s.vectorize(
            #[inline(always)]
            || moments_blocks(bytes),
        );
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(s) = level.as_avx2() {
        return s.vectorize(
            #[inline(always)]
            || moments_blocks(bytes),
        );
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(s) = level.as_sse4_2() {
        return s.vectorize(
            #[inline(always)]
            || moments_blocks(bytes),
        );
    }
    #[cfg(target_arch = "aarch64")]
    if let Some(s) = level.as_neon() {
        return s.vectorize(
            #[inline(always)]
            || moments_blocks(bytes),
        );
    }
    let _ = level;
    moments_blocks(bytes)
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
}

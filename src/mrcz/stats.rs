//! Exact data statistics (min, max, mean, RMS deviation), accumulated frame by frame.

use crate::mrc::Mode;
use mrcz_simd::moments::I8Moments;

/// Statistics of the numbers in some frames. For complex modes the real parts are used, as
/// python-mrcz does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Number of values seen.
    pub count: u64,
    /// Smallest value (`+inf` when empty).
    pub min: f64,
    /// Largest value (`-inf` when empty).
    pub max: f64,
    /// Arithmetic mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        }
    }
}

impl Stats {
    /// Population standard deviation (MRC's RMS deviation from the mean).
    pub fn rms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }

    /// Combines two sets (Chan et al.'s parallel update), so frames can be measured in parallel.
    pub fn merge(&mut self, o: &Stats) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *o;
            return;
        }
        let n = (self.count + o.count) as f64;
        let delta = o.mean - self.mean;
        self.mean += delta * o.count as f64 / n;
        self.m2 += o.m2 + delta * delta * self.count as f64 * o.count as f64 / n;
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Statistics of one section of `mode` data in the machine's byte order.
    pub fn of_frame(mode: Mode, bytes: &[u8]) -> Stats {
        match mode {
            Mode::Int8 => int8(bytes),
            Mode::Uint4 => {
                let mut h = [0u64; 256];
                for &b in bytes {
                    h[usize::from(b & 15)] += 1;
                    h[usize::from(b >> 4)] += 1;
                }
                from_histogram(&h[..16], |i| i as f64)
            }
            Mode::Int16 => int16::<true>(bytes),
            Mode::Uint16 => int16::<false>(bytes),
            Mode::ComplexInt16 => {
                let re: Vec<u8> = bytes.chunks_exact(4).flat_map(|c| [c[0], c[1]]).collect();
                int16::<true>(&re)
            }
            Mode::Float32 => float32(bytes),
            Mode::Complex64 => floats(
                bytes
                    .chunks_exact(8)
                    .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64),
            ),
            Mode::Float16 => {
                // Convert a slice at a time (vectorised in `half`) rather than value by value.
                use half::slice::HalfFloatSliceExt;
                // Buffers no larger than the frame, so that tiny frames cost no more than their
                // values (see `int16`).
                let cap = (bytes.len() / 2).clamp(1, 4096);
                let mut halves = vec![half::f16::ZERO; cap];
                let mut wide = vec![0f32; cap];
                let mut s = Stats::default();
                for chunk in bytes.chunks(2 * halves.len()) {
                    let n = chunk.len() / 2;
                    for (h, c) in halves.iter_mut().zip(chunk.chunks_exact(2)) {
                        *h = half::f16::from_ne_bytes([c[0], c[1]]);
                    }
                    halves[..n].convert_to_f32_slice(&mut wide[..n]);
                    s.merge(&floats(wide[..n].iter().map(|&v| f64::from(v))));
                }
                s
            }
            Mode::Int32 => floats(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64),
            ),
            Mode::Uint32 => floats(
                bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64),
            ),
        }
    }
}

/// Exact statistics of int8 data from integer sums (`mrcz_simd::moments`: one vectorised pass at
/// about half of memcpy speed).
fn int8(bytes: &[u8]) -> Stats {
    Stats::of_i8_moments(&mrcz_simd::moments::i8_moments(bytes))
}

/// Statistics of float32 data in one vectorised pass (`mrcz_simd::moments::f32_moments`),
/// sums taken about the first finite value as [`floats`] does; NaN and infinities are skipped.
fn float32(bytes: &[u8]) -> Stats {
    let Some(shift) = bytes
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .find(|v| v.is_finite())
    else {
        return Stats::default();
    };
    let m = mrcz_simd::moments::f32_moments(bytes, shift);
    let n = m.count as f64;
    let mean_d = m.sum / n;
    Stats {
        count: m.count,
        min: f64::from(m.min),
        max: f64::from(m.max),
        mean: f64::from(shift) + mean_d,
        m2: (m.sum_sq - m.sum * mean_d).max(0.0),
    }
}

impl Stats {
    /// Statistics from exact int8 moments (e.g. merged block by block while compressing).
    pub fn of_i8_moments(m: &I8Moments) -> Stats {
        if m.count == 0 {
            return Stats::default();
        }
        let (sum, sum2, min, max) = (m.sum, m.sum_sq, m.min, m.max);
        let n = m.count as f64;
        let mean = sum as f64 / n;
        // Σx² − (Σx)²/n from exact integer sums (below 2^53 for any frame under 2 GiB).
        let m2 = (sum2 as f64 - sum as f64 * mean).max(0.0);
        Stats {
            count: m.count,
            min: f64::from(min),
            max: f64::from(max),
            mean,
            m2,
        }
    }
}

/// Exact statistics of 16-bit integers (native byte order; `SIGNED` for int16) from integer
/// sums in one pass. The cost is proportional to the data: a histogram of all 65536 values would
/// cost as much for a frame of one pixel as for a 4K frame, and a file of many tiny frames
/// (which a 6 KB file can claim) would then take seconds per megabyte.
fn int16<const SIGNED: bool>(bytes: &[u8]) -> Stats {
    // int16 is summed as u = v + 2^15 (flipping the sign bit), so that both modes run the same
    // unsigned loop (32 × 32 → 64-bit multiplies, which the x86-64 baseline has); the sums are
    // shifted back exactly below.
    let flip = if SIGNED { 0x8000u16 } else { 0 };
    let (mut sum_u, mut sum_u2) = (0u128, 0u128);
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    // Per block of 2^15 values the sums stay far inside u64 (2^15 · 2^32 = 2^47).
    for block in bytes.chunks(1 << 16) {
        let (mut s, mut q, mut bl, mut bh) = (0u64, 0u64, u32::MAX, 0u32);
        for c in block.chunks_exact(2) {
            let u = u32::from(u16::from_ne_bytes([c[0], c[1]]) ^ flip);
            s += u64::from(u);
            q += u64::from(u) * u64::from(u);
            bl = bl.min(u);
            bh = bh.max(u);
        }
        sum_u += u128::from(s);
        sum_u2 += u128::from(q);
        lo = lo.min(bl);
        hi = hi.max(bh);
    }
    let count = (bytes.len() / 2) as u64;
    if count == 0 {
        return Stats::default();
    }
    let n = i128::from(count);
    let k = i128::from(flip);
    // Every sum is below 2^80 for any frame that fits in memory: i128 holds them exactly.
    let sum = sum_u as i128 - k * n;
    let sum_sq = sum_u2 as i128 - 2 * k * sum_u as i128 + k * k * n;
    // Σ(x − mean)² = (n·Σx² − (Σx)²) / n, exact in integers while n·Σx² fits (below 2^31
    // values, any frame up to 4 GiB); in f64 beyond.
    let m2 = match sum_sq.checked_mul(n) {
        Some(nq) => (nq - sum * sum) as f64 / count as f64,
        None => (sum_sq as f64 - (sum as f64) * (sum as f64) / count as f64).max(0.0),
    };
    let shift = f64::from(flip);
    Stats {
        count,
        min: f64::from(lo) - shift,
        max: f64::from(hi) - shift,
        mean: sum as f64 / count as f64,
        m2,
    }
}

fn from_histogram(h: &[u64], value: impl Fn(usize) -> f64) -> Stats {
    let mut s = Stats::default();
    for (i, &n) in h.iter().enumerate() {
        if n > 0 {
            let v = value(i);
            s.merge(&Stats {
                count: n,
                min: v,
                max: v,
                mean: v,
                m2: 0.0,
            });
        }
    }
    s
}

/// Statistics of arbitrary numbers, with sums shifted by the first value so that data with a
/// large offset keep their precision.
fn floats(values: impl Iterator<Item = f64>) -> Stats {
    let mut s = Stats::default();
    let (mut n, mut sum, mut sum2) = (0u64, 0.0f64, 0.0f64);
    let mut shift = None;
    for v in values {
        if !v.is_finite() {
            // NaN and infinities would poison every statistic; they are skipped.
            continue;
        }
        let k = *shift.get_or_insert(v);
        let d = v - k;
        n += 1;
        sum += d;
        sum2 += d * d;
        s.min = s.min.min(v);
        s.max = s.max.max(v);
    }
    if let Some(k) = shift {
        let mean_d = sum / n as f64;
        s.count = n;
        s.mean = k + mean_d;
        s.m2 = (sum2 - sum * mean_d).max(0.0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(v: &[f64]) -> (f64, f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        (min, max, mean, var.sqrt())
    }

    #[test]
    fn int8_and_merge_match_naive() {
        let a: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
        let b: Vec<u8> = (0..333u32).map(|i| (i * 11 % 200) as u8).collect();
        let mut s = Stats::of_frame(Mode::Int8, &a);
        s.merge(&Stats::of_frame(Mode::Int8, &b));
        let all: Vec<f64> = a.iter().chain(&b).map(|&x| x as i8 as f64).collect();
        let (min, max, mean, rms) = naive(&all);
        assert_eq!((s.min, s.max, s.count), (min, max, 1333));
        assert!((s.mean - mean).abs() < 1e-9 && (s.rms() - rms).abs() < 1e-9);
    }

    #[test]
    fn int8_extremes_and_odd_lengths() {
        for len in [1usize, 7, 65535, 65536, 65537, 200_001] {
            let v: Vec<u8> = (0..len)
                .map(|i| [0x80u8, 0x7f, 0, 0xff, 3][i % 5])
                .collect();
            let s = Stats::of_frame(Mode::Int8, &v);
            let (min, max, mean, rms) =
                naive(&v.iter().map(|&x| x as i8 as f64).collect::<Vec<_>>());
            assert_eq!((s.min, s.max, s.count), (min, max, len as u64));
            assert!(
                (s.mean - mean).abs() < 1e-9 && (s.rms() - rms).abs() < 1e-6,
                "{len}"
            );
        }
    }

    #[test]
    fn int16_and_uint16_match_naive_at_every_size() {
        // Extremes, a large offset with a small spread (cancellation), odd byte counts, and
        // lengths around the 2^15-value blocks.
        let patterns: [&[u16]; 3] = [
            &[0x8000, 0x7fff, 0, 0xffff, 3, 12345],
            &[30000, 30001, 30002, 29999],
            &[65535, 65535, 65534],
        ];
        for pat in patterns {
            for len in [1usize, 2, 3, 7, 32767, 32768, 32769, 100_003] {
                let v: Vec<u16> = (0..len).map(|i| pat[(i * 7) % pat.len()]).collect();
                let mut bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
                bytes.push(0xAB); // a stray odd byte is not a value
                for (mode, f) in [
                    (Mode::Int16, (|x: u16| x as i16 as f64) as fn(u16) -> f64),
                    (Mode::Uint16, |x: u16| x as f64),
                ] {
                    let s = Stats::of_frame(mode, &bytes);
                    let (min, max, mean, rms) = naive(&v.iter().map(|&x| f(x)).collect::<Vec<_>>());
                    assert_eq!(
                        (s.min, s.max, s.count),
                        (min, max, len as u64),
                        "{mode:?} {len}"
                    );
                    let tol = 1e-12 * (1.0 + mean.abs().max(rms));
                    assert!(
                        (s.mean - mean).abs() <= tol,
                        "{mode:?} {len} {} {mean}",
                        s.mean
                    );
                    assert!(
                        (s.rms() - rms).abs() <= 1e-9 * (1.0 + rms),
                        "{mode:?} {len}"
                    );
                }
            }
        }
        for mode in [Mode::Int16, Mode::Uint16, Mode::Float16, Mode::ComplexInt16] {
            assert_eq!(Stats::of_frame(mode, &[]), Stats::default(), "{mode:?}");
            assert_eq!(Stats::of_frame(mode, &[7]), Stats::default(), "{mode:?}");
        }
    }

    #[test]
    fn complex_int16_uses_the_real_parts() {
        let pairs: Vec<(i16, i16)> = (0..1001)
            .map(|i| ((i * 31 % 2001 - 1000) as i16, 9999))
            .collect();
        let bytes: Vec<u8> = pairs
            .iter()
            .flat_map(|&(re, im)| [re.to_ne_bytes(), im.to_ne_bytes()].concat())
            .collect();
        let s = Stats::of_frame(Mode::ComplexInt16, &bytes);
        let (min, max, mean, rms) =
            naive(&pairs.iter().map(|p| f64::from(p.0)).collect::<Vec<_>>());
        assert_eq!((s.min, s.max, s.count), (min, max, 1001));
        assert!((s.mean - mean).abs() < 1e-9 && (s.rms() - rms).abs() < 1e-9);
    }

    #[test]
    fn float16_matches_naive() {
        let v: Vec<half::f16> = (0..10_001)
            .map(|i| half::f16::from_f32((i % 97) as f32 * 0.5 - 7.0))
            .collect();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let s = Stats::of_frame(Mode::Float16, &bytes);
        let (min, max, mean, rms) = naive(&v.iter().map(|x| x.to_f64()).collect::<Vec<_>>());
        assert_eq!((s.min, s.max, s.count), (min, max, 10_001));
        assert!((s.mean - mean).abs() < 1e-9 && (s.rms() - rms).abs() < 1e-9);
    }

    #[test]
    fn float32_skips_non_finite_and_matches_the_scalar_path() {
        let mut v: Vec<f32> = (0..70_001)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.37 - 50.0)
            .collect();
        v[0] = f32::NAN;
        v[5] = f32::INFINITY;
        v[69_999] = f32::NEG_INFINITY;
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let s = Stats::of_frame(Mode::Float32, &bytes);
        let scalar = floats(v.iter().map(|&x| f64::from(x)));
        assert_eq!(
            (s.count, s.min, s.max),
            (scalar.count, scalar.min, scalar.max)
        );
        assert_eq!(s.count, 70_001 - 3);
        assert!((s.mean - scalar.mean).abs() < 1e-9 && (s.rms() - scalar.rms()).abs() < 1e-9);
        let none = Stats::of_frame(Mode::Float32, &f32::NAN.to_ne_bytes().repeat(9));
        assert_eq!(none, Stats::default());
    }

    #[test]
    fn float_offset_precision() {
        let v: Vec<f32> = (0..10000).map(|i| 1.0e4 + (i % 7) as f32 * 0.25).collect();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let s = Stats::of_frame(Mode::Float32, &bytes);
        let (min, max, mean, rms) = naive(&v.iter().map(|&x| x as f64).collect::<Vec<_>>());
        assert_eq!((s.min, s.max), (min, max));
        assert!((s.mean - mean).abs() < 1e-9 && (s.rms() - rms).abs() < 1e-9);
    }
}

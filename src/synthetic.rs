//! Deterministic synthetic data: dose-fractionated counting movies for the demo, tests and
//! benchmarks. Nothing here reads files or the network.

/// A small, fast, seedable PRNG (SplitMix64 seeding a xoshiro256** state).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose sequence depends only on `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Samples Poisson counts with mean `lambda` (up to 255, clamped) by table lookup: the cumulative
/// distribution is quantised to 16 bits, so each pixel costs a few table probes.
#[derive(Debug, Clone)]
pub struct Poisson {
    cdf: Vec<u16>,
}

impl Poisson {
    /// A sampler for mean `lambda` (≥ 0).
    pub fn new(lambda: f64) -> Poisson {
        let lambda = lambda.max(0.0);
        let mut cdf = Vec::new();
        let mut p = (-lambda).exp();
        let mut acc = 0.0;
        for k in 0..255u32 {
            acc += p;
            let q = (acc * 65536.0).round().min(65535.0) as u16;
            cdf.push(q);
            if q == 65535 {
                break;
            }
            p *= lambda / f64::from(k + 1);
        }
        Poisson { cdf }
    }

    /// One sample from 16 uniform bits.
    #[inline]
    pub fn sample(&self, u16bits: u16) -> u8 {
        self.cdf.partition_point(|&c| c <= u16bits).min(255) as u8
    }

    /// Fills `out` with independent samples.
    pub fn fill(&self, rng: &mut Rng, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let r = rng.next_u64();
            for (i, px) in chunk.iter_mut().enumerate() {
                *px = self.sample((r >> (16 * i)) as u16);
            }
        }
    }
}

/// One frame of an 8-bit counting movie: Poisson counts with mean `dose` electrons per pixel,
/// modulated by a smooth "specimen" pattern (±30 %) so frames are not pure noise. Deterministic in
/// `(seed, frame)`.
pub fn counting_frame(nx: usize, ny: usize, dose: f64, seed: u64, frame: u64, out: &mut [u8]) {
    assert_eq!(out.len(), nx * ny, "frame buffer size");
    let levels: Vec<Poisson> = (0..8)
        .map(|l| Poisson::new(dose * (0.7 + 0.6 * l as f64 / 7.0)))
        .collect();
    let mut rng = Rng::new(seed ^ frame.wrapping_mul(0x2545_f491_4f6c_dd1d));
    for (y, row) in out.chunks_mut(nx).enumerate() {
        let fy = (y as f64 / ny as f64 * 6.0).sin();
        let mut x = 0;
        while x < nx {
            let end = (x + 64).min(nx);
            let fx = (x as f64 / nx as f64 * 9.0).cos();
            let level = (((fx * fy) + 1.0) * 3.999) as usize;
            levels[level.min(7)].fill(&mut rng, &mut row[x..end]);
            x = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_and_variance() {
        for &lambda in &[0.1, 1.0, 4.0] {
            let p = Poisson::new(lambda);
            let mut rng = Rng::new(7);
            let mut v = vec![0u8; 400_000];
            p.fill(&mut rng, &mut v);
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
            assert!(
                (mean - lambda).abs() < 0.02 * lambda.max(1.0),
                "mean {mean} for {lambda}"
            );
            assert!(
                (var - lambda).abs() < 0.05 * lambda.max(1.0),
                "var {var} for {lambda}"
            );
        }
    }

    #[test]
    fn frames_are_deterministic_and_distinct() {
        let (mut a, mut b, mut c) = (vec![0; 4096], vec![0; 4096], vec![0; 4096]);
        counting_frame(64, 64, 1.0, 1, 0, &mut a);
        counting_frame(64, 64, 1.0, 1, 0, &mut b);
        counting_frame(64, 64, 1.0, 1, 1, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

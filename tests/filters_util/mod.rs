//! Shared helpers of the filter tests: the library's deterministic PRNG
//! (`mrcz::synthetic::Rng`, xoshiro256** seeded by splitmix64), Poisson and Gaussian samplers, Gaussian smoothing, and the synthetic patterns of
//! the spec's recipes. Written here rather than taken from `rand`/`rand_distr` so that the test
//! data cannot change under a dependency upgrade (the recipes' expected ranges depend on it).
#![allow(dead_code)]

/// The library's generator (xoshiro256** seeded by splitmix64), with the samplers below.
pub struct Rng(mrcz::synthetic::Rng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(mrcz::synthetic::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0.next_f64()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }

    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Poisson(λ): Knuth's product method for λ < 30, Hörmann's PTRS beyond.
    pub fn poisson(&mut self, lam: f64) -> u32 {
        if lam <= 0.0 {
            return 0;
        }
        if lam < 30.0 {
            let l = (-lam).exp();
            let mut k = 0u32;
            let mut p = self.uniform();
            while p > l {
                k += 1;
                p *= self.uniform();
            }
            return k;
        }
        let slam = lam.sqrt();
        let loglam = lam.ln();
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.02483 * b;
        let invalpha = 1.1239 + 1.1328 / (b - 3.4);
        let vr = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.uniform() - 0.5;
            let v = self.uniform();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
            if us >= 0.07 && v <= vr {
                return k as u32;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            if v.ln() + invalpha.ln() - (a / (us * us) + b).ln()
                <= -lam + k * loglam - ln_factorial(k)
            {
                return k as u32;
            }
        }
    }
}

fn ln_factorial(k: f64) -> f64 {
    if k < 2.0 {
        return 0.0;
    }
    if k < 20.0 {
        return (2..=k as u64).map(|i| (i as f64).ln()).sum();
    }
    let x = k + 1.0;
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

/// Unit-variance white noise smoothed by a periodic Gaussian of `sigma` pixels, rescaled to unit
/// variance and zero mean.
pub fn smooth_noise(rng: &mut Rng, ny: usize, nx: usize, sigma: f64) -> Vec<f64> {
    let white: Vec<f64> = (0..ny * nx).map(|_| rng.normal()).collect();
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f64> = (-r..=r)
        .map(|d| (-(d * d) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let mut tmp = vec![0.0; ny * nx];
    for y in 0..ny {
        for x in 0..nx {
            let mut s = 0.0;
            for (i, w) in k.iter().enumerate() {
                let xx = (x as isize + i as isize - r).rem_euclid(nx as isize) as usize;
                s += w * white[y * nx + xx];
            }
            tmp[y * nx + x] = s;
        }
    }
    let mut out = vec![0.0; ny * nx];
    for y in 0..ny {
        for (i, w) in k.iter().enumerate() {
            let yy = (y as isize + i as isize - r).rem_euclid(ny as isize) as usize;
            for x in 0..nx {
                out[y * nx + x] += w * tmp[yy * nx + x];
            }
        }
    }
    standardise(&mut out);
    out
}

pub fn standardise(v: &mut [f64]) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt();
    v.iter_mut().for_each(|x| *x = (*x - m) / sd);
}

/// The T4/T5 pattern `G0 = exp(0.05·z_s + a_w·z_w) / mean`, `z_s` smoothed at `sigma` px.
pub fn gain_pattern(rng: &mut Rng, ny: usize, nx: usize, sigma: f64, a_w: f64) -> Vec<f64> {
    let zs = smooth_noise(rng, ny, nx, sigma);
    let mut g: Vec<f64> = zs
        .iter()
        .map(|&s| (0.05 * s + a_w * rng.normal()).exp())
        .collect();
    let m = g.iter().sum::<f64>() / g.len() as f64;
    g.iter_mut().for_each(|v| *v /= m);
    g
}

/// `frames` frames of Poisson(λ(x)) counts as `u8` (λ small enough to fit).
pub fn poisson_stack(rng: &mut Rng, lam: &[f64], frames: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(lam.len() * frames);
    for _ in 0..frames {
        out.extend(lam.iter().map(|&l| rng.poisson(l).min(255) as u8));
    }
    out
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

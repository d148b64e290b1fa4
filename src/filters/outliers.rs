//! The stochastic outlier (hot/dead pixel) filter of the MRCZ paper, steps 1–5 (spec §1).
//!
//! 1. Unaligned sum `S` and a histogram with unit, count-centred bins over `S̄ ± 8√S̄`.
//! 2. Bounded L1 fit of the normal CDF to the empirical CDF → `μ`, `σ`.
//! 3. σ-transform and residual `r = z − Φ⁻¹(C)`.
//! 4. Thresholds `t_dark`, `t_hot` from linear fits of the large residuals (with fallbacks).
//! 5. Logistic weight `w(z)`, singleton / neighbourly split with the K2 PSF kernel, fill values,
//!    and per-frame application `out = w·I + single·F + N`.
//!
//! Two modes: [`OutlierMode::Robust`] (default; the spec's recommended guards) and
//! [`OutlierMode::ReferenceCompat`] (reproduces Zorro v0.7.3's quirks Q2, Q4 and its border
//! rule, but not the NaN of Q1, for comparison with golden files).

use rayon::prelude::*;
use serde::Serialize;

use super::gain::GainMap;
use super::plan::{CorrectionPlan, Fix};
use super::special::{erf_inv, norm_cdf_fast};
use super::stack::{Sample, StackView, check_same_shape, reflect};
use super::sum::FrameSum;
use crate::{Error, Result};

/// K2 PSF value for an on-axis shift of one pixel (the paper's Table 1, from Zorro's code).
pub const K2_PSF_1: f64 = 0.173235968;
/// K2 PSF value for an on-axis shift of two pixels.
pub const K2_PSF_2: f64 = 0.016518;

/// Pixels per work item of the passes over the whole image (256 KiB of `f64`).
const PASS_CHUNK: usize = 1 << 15;

/// Most histogram bins; wider (non-unit) bins are used beyond this (sums above ~65 000 counts).
const MAX_BINS: usize = 8192;

/// Which behaviour to follow where the reference code has bugs (spec §1.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OutlierMode {
    /// Guards: threshold fits need ≥ 3 points and a positive slope, thresholds are clamped to
    /// `[−max_sigma, −clamp]` and `[clamp, max_sigma]`, the neighbourly window is clipped at the
    /// border, and the neighbourly fallback value is weighted by the outlier-ness like every
    /// other fill.
    Robust,
    /// Zorro v0.7.3 arithmetic: one- and two-point threshold fits (Q2), the half-bin CDF offset
    /// (Q4), the `μ/m` fallback at `y == 0` or `x == 0` (the Python slicing quirk), unweighted
    /// fallback. A fit with no points uses the fallback thresholds instead of NaN (Q1).
    ReferenceCompat,
}

/// The neighbour kernel for the fill and the singleton test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Psf {
    /// K2 values `p1 = 0.173235968`, `p2 = 0.016518` (separable, normalised, centre 0).
    K2,
    /// Uniform neighbour mean (`p1 = p2 = 1`; Zorro for detectors other than the K2).
    Uniform,
}

/// Parameters of the outlier filter. [`OutlierParams::robust`] (= `Default`) and
/// [`OutlierParams::reference`] give the two presets; fields can be changed freely.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutlierParams {
    /// Guarded or reference-compatible behaviour.
    pub mode: OutlierMode,
    /// Logistic order `k` (6).
    pub logistic_k: f64,
    /// Relax factor ρ applied to the thresholds in the weight (0.925, Zorro's default; the paper
    /// says 0.95).
    pub relax: f64,
    /// Histogram half range in σ and outer clamp of the thresholds (8).
    pub max_sigma: f64,
    /// Residual limit selecting the points of the threshold fits (0.5).
    pub residual_limit: f64,
    /// `τ` of the singleton test `o · (K ⊛ o) ≤ τ` (0.01).
    pub neighbour_threshold: f64,
    /// Neighbour kernel.
    pub psf: Psf,
    /// Kernel and neighbourly-window radius: 1 (3×3, Zorro v0.7.2+) or 2 (5×5, the paper).
    pub radius: usize,
    /// Explicit `(t_dark, t_hot)` in σ; skips the threshold fit.
    pub thresholds: Option<(f64, f64)>,
    /// Thresholds used when a fit fails, `(−4.0, 3.25)`. Pass the previous stack's thresholds
    /// here to reproduce Zorro's stateful fallback (Q3).
    pub fallback: (f64, f64),
    /// Robust mode: inner clamp, `t_dark ≤ −clamp` and `t_hot ≥ clamp` (3.0).
    pub clamp: f64,
    /// Detector counts per electron; the statistics assume Poisson electrons (1.0).
    pub counts_per_electron: f64,
    /// Evaluate the normal CDF at each bin's upper edge instead of its centre (fixes Q4).
    pub half_bin_correction: bool,
    /// Outlier-ness `o = 1 − w` below which a pixel is left untouched (`w := 1`, no fill): the
    /// reference modifies every pixel by `o·(F − I)`, with `o` ~ 1e-8..1e-6 for good pixels;
    /// skipping those keeps the fill sparse. 1e-3 (robust), 0 (reference: every pixel).
    pub min_outlierness: f32,
}

impl Default for OutlierParams {
    fn default() -> Self {
        Self::robust()
    }
}

impl OutlierParams {
    /// The guarded default (spec §1.11 \[REC\]).
    pub fn robust() -> Self {
        Self {
            mode: OutlierMode::Robust,
            logistic_k: 6.0,
            relax: 0.925,
            max_sigma: 8.0,
            residual_limit: 0.5,
            neighbour_threshold: 0.01,
            psf: Psf::K2,
            radius: 1,
            thresholds: None,
            fallback: (-4.0, 3.25),
            clamp: 3.0,
            counts_per_electron: 1.0,
            half_bin_correction: false,
            min_outlierness: 1e-3,
        }
    }

    /// Zorro v0.7.3 (`hotpixFilter`) behaviour, for golden-file comparison.
    pub fn reference() -> Self {
        Self {
            mode: OutlierMode::ReferenceCompat,
            min_outlierness: 0.0,
            ..Self::robust()
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| {
            Err(Error::InvalidArgument(format!(
                "outlier parameter {what} = {v} is out of range"
            )))
        };
        if !(self.logistic_k.is_finite() && self.logistic_k > 0.0) {
            return bad("logistic_k", self.logistic_k);
        }
        if !(self.relax.is_finite() && self.relax > 0.0) {
            return bad("relax", self.relax);
        }
        if !(self.max_sigma.is_finite() && self.max_sigma > 0.0) {
            return bad("max_sigma", self.max_sigma);
        }
        if !(self.residual_limit.is_finite() && self.residual_limit > 0.0) {
            return bad("residual_limit", self.residual_limit);
        }
        if !(self.neighbour_threshold.is_finite() && self.neighbour_threshold >= 0.0) {
            return bad("neighbour_threshold", self.neighbour_threshold);
        }
        if !(self.counts_per_electron.is_finite() && self.counts_per_electron > 0.0) {
            return bad("counts_per_electron", self.counts_per_electron);
        }
        if !(self.clamp.is_finite() && self.clamp >= 0.0) {
            return bad("clamp", self.clamp);
        }
        if !(self.min_outlierness.is_finite() && (0.0..1.0).contains(&self.min_outlierness)) {
            return bad("min_outlierness", f64::from(self.min_outlierness));
        }
        if !(1..=2).contains(&self.radius) {
            return bad("radius", self.radius as f64);
        }
        let (d, h) = self.fallback;
        if !(d.is_finite() && h.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "fallback thresholds ({d}, {h}) must be finite"
            )));
        }
        if let Some((d, h)) = self.thresholds
            && !(d.is_finite() && h.is_finite())
        {
            return Err(Error::InvalidArgument(format!(
                "thresholds ({d}, {h}) must be finite"
            )));
        }
        Ok(())
    }

    /// The normalised `(2r+1)²` kernel, row-major, centre 0.
    pub fn kernel(&self) -> Vec<f64> {
        let (p1, p2) = match self.psf {
            Psf::K2 => (K2_PSF_1, K2_PSF_2),
            Psf::Uniform => (1.0, 1.0),
        };
        let g = |d: usize| match d {
            0 => 1.0,
            1 => p1,
            _ => p2,
        };
        let r = self.radius as isize;
        let side = 2 * self.radius + 1;
        let mut k = Vec::with_capacity(side * side);
        for dy in -r..=r {
            for dx in -r..=r {
                k.push(if dy == 0 && dx == 0 {
                    0.0
                } else {
                    g(dy.unsigned_abs()) * g(dx.unsigned_abs())
                });
            }
        }
        let s: f64 = k.iter().sum();
        k.iter_mut().for_each(|v| *v /= s);
        k
    }
}

/// Where a threshold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// The linear fit of the residuals.
    Fit,
    /// The fit, moved to the robust clamp.
    Clamped,
    /// The fit failed (too few points, bad slope, non-finite): the fallback value.
    Fallback,
    /// Given by the caller.
    Given,
}

/// What the outlier detection found (serialisable for `--json`).
///
/// `mu`, `sigma`, `sum_mean` are in electrons of the *sum* (data ÷ `counts_per_electron`);
/// `frame_mean`, `frame_std` in data units per frame (Zorro's `frameMean`, `frameStd`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutlierReport {
    /// Mode used.
    pub mode: OutlierMode,
    /// Frames in the sum.
    pub frames: usize,
    /// Rows.
    pub ny: usize,
    /// Columns.
    pub nx: usize,
    /// Mean of the sum over valid pixels, `S̄`.
    pub sum_mean: f64,
    /// Fitted mean of the sum, `μ_fit`.
    pub mu: f64,
    /// Fitted standard deviation of the sum, `σ_fit`.
    pub sigma: f64,
    /// `μ_fit / m`, in data units.
    pub frame_mean: f64,
    /// `σ_fit / √m`, in data units.
    pub frame_std: f64,
    /// Whether the CDF fit ran (false for degenerate sums: then `mu = S̄`, `sigma` = std or 1).
    pub fitted: bool,
    /// Dark threshold in σ (unrelaxed).
    pub t_dark: f64,
    /// Hot threshold in σ (unrelaxed).
    pub t_hot: f64,
    /// Origin of `t_dark`.
    pub t_dark_source: ThresholdSource,
    /// Origin of `t_hot`.
    pub t_hot_source: ThresholdSource,
    /// Points in the dark residual fit.
    pub dark_fit_points: usize,
    /// Points in the hot residual fit.
    pub hot_fit_points: usize,
    /// Relax factor ρ (the weight uses `ρ·t_dark`, `ρ·t_hot`).
    pub relax: f64,
    /// Histogram bins and their width in electrons.
    pub histogram_bins: usize,
    /// Histogram bin width.
    pub bin_width: f64,
    /// Pixels with `z < t_dark` (Zorro's `guessDeadpix`), not counting gain defects.
    pub dead: usize,
    /// Pixels with `z > t_hot` (Zorro's `guessHotpix`), not counting gain defects.
    pub hot: usize,
    /// Pixels with `w < 0.5`.
    pub flagged: usize,
    /// Pixels filled as neighbourly (`o·(K⊛o) > τ`).
    pub neighbourly: usize,
    /// Pixels modified individually (`o > min_outlierness`, plus defects).
    pub modified: usize,
    /// Gain-reference defects and non-finite sums, filled with weight 0.
    pub defects: usize,
}

/// Builds the correction for a stack from its unaligned raw sum: the outlier filter on the
/// gain-normalised data (Zorro's order: gain first, then outliers), folded with the gain into one
/// [`CorrectionPlan`]. Returns the plan and the detection report.
///
/// With `gain`, the statistics use `G·(S − m·dark)`; gain defects are outliers of weight 0.
/// Fails if `sum` has no frames or the gain map's shape differs.
pub fn plan_correction(
    sum: &FrameSum,
    gain: Option<&GainMap>,
    params: &OutlierParams,
) -> Result<(CorrectionPlan, OutlierReport)> {
    params.validate()?;
    let (ny, nx) = (sum.ny(), sum.nx());
    let n = ny * nx;
    let m = sum.frames();
    if m == 0 {
        return Err(Error::InvalidArgument(
            "outlier filter: the sum has no frames".into(),
        ));
    }
    if let Some(g) = gain {
        check_same_shape("gain map", (g.ny, g.nx), (ny, nx))?;
    }
    let mf = m as f64;
    let c = params.counts_per_electron;
    let robust = params.mode == OutlierMode::Robust;

    // Gain-normalised sum (data units), evaluated where needed rather than stored; passes over
    // all pixels fill a cache-sized buffer per chunk, with NaN marking invalid pixels.
    let raw = sum.as_slice();
    let gmap = gain.map(|g| &g.gain[..]);
    let dmap = gain.and_then(|g| g.dark.as_deref());
    let sg = |i: usize| -> f64 {
        match (gmap, dmap) {
            (None, _) => raw[i],
            (Some(g), None) => f64::from(g[i]) * raw[i],
            (Some(g), Some(d)) => f64::from(g[i]) * (raw[i] - mf * f64::from(d[i])),
        }
    };
    let valid = |i: usize| -> bool { raw[i].is_finite() && gmap.is_none_or(|g| g[i] > 0.0) };
    let inv_c = 1.0 / c;
    // Sum in electrons for pixels start.., NaN where invalid.
    let fill = |ci: usize, buf: &mut Vec<f64>| {
        let start = ci * PASS_CHUNK;
        let end = (start + PASS_CHUNK).min(n);
        let r = &raw[start..end];
        buf.clear();
        match (gmap, dmap) {
            (None, _) => buf.extend(
                r.iter()
                    .map(|&v| if v.is_finite() { v * inv_c } else { f64::NAN }),
            ),
            (Some(g), None) => buf.extend(r.iter().zip(&g[start..end]).map(|(&v, &g)| {
                if v.is_finite() && g > 0.0 {
                    f64::from(g) * v * inv_c
                } else {
                    f64::NAN
                }
            })),
            (Some(g), Some(d)) => buf.extend(r.iter().zip(&g[start..end]).zip(&d[start..end]).map(
                |((&v, &g), &d)| {
                    if v.is_finite() && g > 0.0 {
                        f64::from(g) * (v - mf * f64::from(d)) * inv_c
                    } else {
                        f64::NAN
                    }
                },
            )),
        }
    };
    let chunks = n.div_ceil(PASS_CHUNK);
    let new_buf = || Vec::with_capacity(PASS_CHUNK);

    // Step 1: mean and histogram of the sum in electrons.
    let (s_tot, n_valid) = (0..chunks)
        .into_par_iter()
        .map_init(new_buf, |buf, ci| {
            fill(ci, buf);
            buf.iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, k), &v| (s + v, k + 1))
        })
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let s_bar = if n_valid > 0 {
        s_tot / n_valid as f64
    } else {
        0.0
    };
    let sp = s_bar.max(0.0).sqrt();

    let mut fit = FitOutcome {
        mu: s_bar,
        sigma: 1.0,
        fitted: false,
        bins: 0,
        width: 1.0,
        dark: (params.fallback.0, ThresholdSource::Fallback, 0),
        hot: (params.fallback.1, ThresholdSource::Fallback, 0),
    };
    let lo_edge_raw = (s_bar - params.max_sigma * sp).floor();
    let hi_raw = (s_bar + params.max_sigma * sp).ceil();
    let span = hi_raw - lo_edge_raw;
    if sp > 0.0 && sp.is_finite() && span >= 1.0 {
        let (bins, width) = if span <= MAX_BINS as f64 {
            (span as usize, 1.0)
        } else {
            (MAX_BINS, span / MAX_BINS as f64)
        };
        let first_edge = lo_edge_raw - 0.5 * width;
        let inv_w = 1.0 / width;
        let last_edge = first_edge + bins as f64 * width;
        let hist = (0..chunks)
            .into_par_iter()
            .map_init(new_buf, |buf, ci| {
                fill(ci, buf);
                let mut h = vec![0u64; bins];
                for &v in buf.iter() {
                    // NaN fails both comparisons; truncation is floor for t ≥ 0.
                    let t = (v - first_edge) * inv_w;
                    if t >= 0.0 && t < bins as f64 {
                        h[(t as usize).min(bins - 1)] += 1;
                    } else if v == last_edge {
                        h[bins - 1] += 1; // last bin closed (NumPy)
                    }
                }
                h
            })
            .reduce(
                || vec![0u64; bins],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let total: u64 = hist.iter().sum();
        if total > 0 {
            let centres: Vec<f64> = (0..bins)
                .map(|k| {
                    let centre = lo_edge_raw + k as f64 * width;
                    if params.half_bin_correction {
                        centre + 0.5 * width
                    } else {
                        centre
                    }
                })
                .collect();
            let mut acc = 0u64;
            let cdf: Vec<f64> = hist
                .iter()
                .map(|&h| {
                    acc += h;
                    acc as f64 / total as f64
                })
                .collect();
            // Step 2: bounded L1 fit of the normal CDF.
            let lo = [s_bar - 0.5 * sp, 0.7 * sp];
            let hi = [s_bar + 0.5 * sp, 1.3 * sp];
            let objective = |p: [f64; 2]| -> f64 {
                let (mu, sig) = (p[0], p[1]);
                centres
                    .iter()
                    .zip(&cdf)
                    .map(|(&x, &cc)| (cc - norm_cdf_fast((x - mu) / sig)).abs())
                    .sum()
            };
            let [mu, sigma] = minimize_box(objective, lo, hi, [s_bar, sp]);
            fit.mu = mu;
            fit.sigma = sigma;
            fit.fitted = true;
            fit.bins = bins;
            fit.width = width;
            // Steps 3 and 4: residuals and threshold fits.
            if params.thresholds.is_none() {
                let mut zs = Vec::with_capacity(bins);
                let mut rs = Vec::with_capacity(bins);
                for (&x, &cc) in centres.iter().zip(&cdf) {
                    let z = (x - mu) / sigma;
                    let zc = std::f64::consts::SQRT_2 * erf_inv(2.0 * cc - 1.0);
                    let r = z - zc;
                    if r.is_finite() {
                        zs.push(z);
                        rs.push(r);
                    }
                }
                fit.dark = dark_threshold(&zs, &rs, params);
                fit.hot = hot_threshold(&zs, &rs, params);
            }
        }
    } else if n_valid > 0 {
        // Degenerate (constant, zero or negative sums): no fit; σ = std of the sum, or 1.
        let var = (0..chunks)
            .into_par_iter()
            .map_init(new_buf, |buf, ci| {
                fill(ci, buf);
                buf.iter()
                    .filter(|v| !v.is_nan())
                    .map(|&v| (v - s_bar) * (v - s_bar))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / n_valid as f64;
        let sd = var.sqrt();
        fit.sigma = if sd.is_finite() && sd > 0.0 { sd } else { 1.0 };
    }
    if let Some((d, h)) = params.thresholds {
        fit.dark = (d, ThresholdSource::Given, 0);
        fit.hot = (h, ThresholdSource::Given, 0);
    }
    let (t_dark, t_hot) = (fit.dark.0, fit.hot.0);
    let (mu, sigma) = (fit.mu, fit.sigma);

    // Step 5: per-pixel outlier-ness, sparse.
    let k = params.logistic_k;
    let d_relaxed = params.relax * t_dark;
    let h_relaxed = params.relax * t_hot;
    let floor = params.min_outlierness;
    // Inside (z_lo, z_hi) both logistic tails are ≤ floor/2, so o ≤ floor: skip the exps.
    let (z_lo, z_hi) = if floor > 0.0 {
        let l = (2.0 / f64::from(floor) - 1.0).ln() / k;
        (d_relaxed + l, h_relaxed - l)
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    let outlierness = |z: f64| -> f64 {
        let od = 1.0 / (1.0 + (k * (z - d_relaxed)).exp());
        let oh = 1.0 / (1.0 + (-k * (z - h_relaxed)).exp());
        od + oh - od * oh
    };
    let inv_sigma = 1.0 / sigma;
    let per_chunk: Vec<ChunkScan> = (0..chunks)
        .into_par_iter()
        .map_init(new_buf, |buf, ci| {
            fill(ci, buf);
            let start = ci * PASS_CHUNK;
            let mut list = Vec::new();
            let (mut dead, mut hot, mut flagged, mut defects) = (0, 0, 0, 0);
            for (k, &v) in buf.iter().enumerate() {
                if v.is_nan() {
                    defects += 1;
                    flagged += 1;
                    list.push((start + k, 1.0f32));
                    continue;
                }
                let z = (v - mu) * inv_sigma;
                dead += usize::from(z < t_dark);
                hot += usize::from(z > t_hot);
                if z > z_lo && z < z_hi {
                    continue;
                }
                let o = outlierness(z) as f32;
                flagged += usize::from(o > 0.5);
                if o > floor {
                    list.push((start + k, o));
                }
            }
            (list, dead, hot, flagged, defects)
        })
        .collect();
    let mut dead = 0;
    let mut hot = 0;
    let mut flagged = 0;
    let mut defects = 0;
    let mut cand: Vec<(usize, f32)> = Vec::new();
    for (l, d, h, f, df) in per_chunk {
        cand.extend(l);
        dead += d;
        hot += h;
        flagged += f;
        defects += df;
    }
    let idx: Vec<usize> = cand.iter().map(|p| p.0).collect();
    // Membership bitmap: most neighbours of a candidate are not candidates, so most lookups end
    // at one bit test instead of a binary search.
    // With a prefix count per word it is also the rank (position in `idx`) in O(1).
    let mut bits = vec![0u64; n.div_ceil(64)];
    for &i in &idx {
        bits[i / 64] |= 1 << (i % 64);
    }
    let mut ranks = Vec::with_capacity(bits.len());
    let mut acc = 0usize;
    for w in &bits {
        ranks.push(acc);
        acc += w.count_ones() as usize;
    }
    let find = |j: usize| -> Option<usize> {
        let (w, b) = (j / 64, j % 64);
        let word = bits[w];
        if word & (1 << b) == 0 {
            None
        } else {
            Some(ranks[w] + (word & ((1u64 << b) - 1)).count_ones() as usize)
        }
    };
    let o_at = |j: usize| -> f64 { find(j).map_or(0.0, |p| f64::from(cand[p].1)) };

    let kernel = params.kernel();
    let r = params.radius as isize;
    let side = 2 * params.radius + 1;
    let (nyi, nxi) = (ny as isize, nx as isize);
    let tau = params.neighbour_threshold;
    // Neighbourly test for each candidate.
    let neigh: Vec<bool> = cand
        .par_iter()
        .map(|&(i, o)| {
            let (y, x) = ((i / nx) as isize, (i % nx) as isize);
            let mut conv = 0.0;
            for dy in -r..=r {
                for dx in -r..=r {
                    let w = kernel[((dy + r) as usize) * side + (dx + r) as usize];
                    if w != 0.0 {
                        let j = reflect(y + dy, ny) * nx + reflect(x + dx, nx);
                        conv += w * o_at(j);
                    }
                }
            }
            f64::from(o) * conv > tau
        })
        .collect();
    let is_neigh = |j: usize| -> bool { find(j).is_some_and(|p| neigh[p]) };
    let inv_m = 1.0 / mf;
    let ibar = |j: usize| -> f64 { sg(j) * inv_m };
    let best_mean = mu * c * inv_m;

    // Fill values.
    let fixes: Vec<Fix> = cand
        .par_iter()
        .zip(neigh.par_iter())
        .map(|(&(i, o), &nb)| {
            let (y, x) = ((i / nx) as isize, (i % nx) as isize);
            let of = f64::from(o);
            let add = if !nb {
                // Singleton: o · (K ⊛ Ī), the kernel renormalised over valid neighbours.
                let (mut s, mut ws) = (0.0, 0.0);
                for dy in -r..=r {
                    for dx in -r..=r {
                        let w = kernel[((dy + r) as usize) * side + (dx + r) as usize];
                        if w != 0.0 {
                            let j = reflect(y + dy, ny) * nx + reflect(x + dx, nx);
                            if valid(j) {
                                s += w * ibar(j);
                                ws += w;
                            }
                        }
                    }
                }
                let f = if ws > 0.0 { s / ws } else { best_mean };
                of * f
            } else {
                // Neighbourly: o · mean of Ī over non-neighbourly pixels of the window.
                let compat_edge = !robust && (y == 0 || x == 0);
                let (y0, y1) = ((y - r).max(0), (y + r).min(nyi - 1));
                let (x0, x1) = ((x - r).max(0), (x + r).min(nxi - 1));
                let size = ((y1 - y0 + 1) * (x1 - x0 + 1)) as f64;
                let (mut count, mut s, mut cn) = (0usize, 0.0, 0usize);
                for yy in y0..=y1 {
                    for xx in x0..=x1 {
                        let j = (yy * nxi + xx) as usize;
                        if is_neigh(j) {
                            count += 1;
                        } else if valid(j) {
                            s += ibar(j);
                            cn += 1;
                        }
                    }
                }
                let ratio = count as f64 / size;
                if compat_edge || ratio > 0.66 || ratio <= 0.001 || cn == 0 {
                    if robust { of * best_mean } else { best_mean }
                } else {
                    of * s / cn as f64
                }
            };
            let g = gmap.map_or(1.0, |g| g[i]);
            let mult = if valid(i) { g * (1.0 - o) } else { 0.0 };
            let dark_term = dmap.map_or(0.0, |d| -f64::from(mult) * f64::from(d[i]));
            Fix {
                index: i,
                mult,
                add: (add + dark_term) as f32,
            }
        })
        .collect();
    let neighbourly = neigh.iter().filter(|&&b| b).count();

    // The dense pass is the gain alone (shared, not copied); flagged pixels get their weight
    // and fill from the fix-ups.
    let plan = CorrectionPlan {
        ny,
        nx,
        mult: gain.map(|g| g.gain.clone()),
        offset: gain.and_then(|g| g.offset.clone()),
        fixes,
        dynamic: Vec::new(),
    };
    let report = OutlierReport {
        mode: params.mode,
        frames: m,
        ny,
        nx,
        sum_mean: s_bar,
        mu,
        sigma,
        frame_mean: mu * c / mf,
        frame_std: sigma * c / mf.sqrt(),
        fitted: fit.fitted,
        t_dark,
        t_hot,
        t_dark_source: fit.dark.1,
        t_hot_source: fit.hot.1,
        dark_fit_points: fit.dark.2,
        hot_fit_points: fit.hot.2,
        relax: params.relax,
        histogram_bins: fit.bins,
        bin_width: fit.width,
        dead,
        hot,
        flagged,
        neighbourly,
        modified: plan.fixes.len(),
        defects,
    };
    Ok((plan, report))
}

/// The outlier filter on a whole stack (no gain): returns the filtered stack and the report.
pub fn outlier_filter<T: Sample>(
    stack: StackView<'_, T>,
    params: &OutlierParams,
) -> Result<(Vec<f32>, OutlierReport)> {
    correct_stack(stack, None, params)
}

/// Gain normalisation (if `gain`) and the outlier filter on a whole stack, in one pass over the
/// frames after the sum.
pub fn correct_stack<T: Sample>(
    stack: StackView<'_, T>,
    gain: Option<&GainMap>,
    params: &OutlierParams,
) -> Result<(Vec<f32>, OutlierReport)> {
    let sum = FrameSum::from_stack(stack)?;
    let (plan, report) = plan_correction(&sum, gain, params)?;
    Ok((plan.apply_stack(stack)?, report))
}

/// Per-chunk result of the outlier-ness scan: candidates `(index, o)`, dead, hot, flagged, defects.
type ChunkScan = (Vec<(usize, f32)>, usize, usize, usize, usize);

struct FitOutcome {
    mu: f64,
    sigma: f64,
    fitted: bool,
    bins: usize,
    width: f64,
    dark: (f64, ThresholdSource, usize),
    hot: (f64, ThresholdSource, usize),
}

/// Zero crossing `−b/a` of the least-squares line `r = a·z + b`.
///
/// Reference mode keeps NumPy `lstsq`'s answers for one point (the minimum-norm line, crossing
/// at `−1/z`, quirk Q2) and two points; robust mode needs ≥ 3 points and `a > 0`.
fn zero_crossing(z: &[f64], r: &[f64], robust: bool) -> Option<f64> {
    let n = z.len();
    if n == 0 || (robust && n < 3) {
        return None;
    }
    let t = if n == 1 {
        if z[0] == 0.0 || r[0] == 0.0 {
            return None;
        }
        -1.0 / z[0]
    } else {
        let nf = n as f64;
        let mz = z.iter().sum::<f64>() / nf;
        let mr = r.iter().sum::<f64>() / nf;
        let (mut szz, mut szr) = (0.0, 0.0);
        for (&a, &b) in z.iter().zip(r) {
            szz += (a - mz) * (a - mz);
            szr += (a - mz) * (b - mr);
        }
        if szz == 0.0 {
            return None;
        }
        let a = szr / szz;
        let b = mr - a * mz;
        if a == 0.0 || (robust && a <= 0.0) {
            return None;
        }
        -b / a
    };
    t.is_finite().then_some(t)
}

fn dark_threshold(z: &[f64], r: &[f64], p: &OutlierParams) -> (f64, ThresholdSource, usize) {
    let robust = p.mode == OutlierMode::Robust;
    let Some(il) = r.iter().position(|&v| v > -p.residual_limit) else {
        return (p.fallback.0, ThresholdSource::Fallback, 0);
    };
    match zero_crossing(&z[..il], &r[..il], robust) {
        None => (p.fallback.0, ThresholdSource::Fallback, il),
        Some(t) if robust => {
            let c = t.clamp(-p.max_sigma, -p.clamp.min(p.max_sigma));
            let src = if c == t {
                ThresholdSource::Fit
            } else {
                ThresholdSource::Clamped
            };
            (c, src, il)
        }
        Some(t) => (t, ThresholdSource::Fit, il),
    }
}

fn hot_threshold(z: &[f64], r: &[f64], p: &OutlierParams) -> (f64, ThresholdSource, usize) {
    let robust = p.mode == OutlierMode::Robust;
    let Some(iu) = r.iter().rposition(|&v| v < p.residual_limit) else {
        return (p.fallback.1, ThresholdSource::Fallback, 0);
    };
    let pts = z.len() - iu;
    match zero_crossing(&z[iu..], &r[iu..], robust) {
        None => (p.fallback.1, ThresholdSource::Fallback, pts),
        Some(t) if robust => {
            let c = t.clamp(p.clamp.min(p.max_sigma), p.max_sigma);
            let src = if c == t {
                ThresholdSource::Fit
            } else {
                ThresholdSource::Clamped
            };
            (c, src, pts)
        }
        Some(t) => (t, ThresholdSource::Fit, pts),
    }
}

/// Bounded minimisation of a 2-parameter function: an 11 × 11 grid over the box, then
/// Nelder–Mead (clamped to the box) from the best of the grid and the start point.
fn minimize_box(
    f: impl Fn([f64; 2]) -> f64,
    lo: [f64; 2],
    hi: [f64; 2],
    start: [f64; 2],
) -> [f64; 2] {
    let span = [hi[0] - lo[0], hi[1] - lo[1]];
    let to_x = |u: [f64; 2]| [lo[0] + u[0] * span[0], lo[1] + u[1] * span[1]];
    let g = |u: [f64; 2]| {
        let v = f(to_x([u[0].clamp(0.0, 1.0), u[1].clamp(0.0, 1.0)]));
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut best = [
        ((start[0] - lo[0]) / span[0]).clamp(0.0, 1.0),
        ((start[1] - lo[1]) / span[1]).clamp(0.0, 1.0),
    ];
    if !(best[0].is_finite() && best[1].is_finite()) {
        best = [0.5, 0.5];
    }
    let mut fbest = g(best);
    for i in 0..=10 {
        for j in 0..=10 {
            let u = [i as f64 / 10.0, j as f64 / 10.0];
            let v = g(u);
            if v < fbest {
                fbest = v;
                best = u;
            }
        }
    }
    // Nelder–Mead in the unit square.
    let clamp = |u: [f64; 2]| [u[0].clamp(0.0, 1.0), u[1].clamp(0.0, 1.0)];
    let step = 0.05;
    let p1 = clamp([best[0] + step, best[1]]);
    let p1 = if p1 == best {
        [best[0] - step, best[1]]
    } else {
        p1
    };
    let p2 = clamp([best[0], best[1] + step]);
    let p2 = if p2 == best {
        [best[0], best[1] - step]
    } else {
        p2
    };
    let mut s = [(best, fbest), (p1, g(p1)), (p2, g(p2))];
    for _ in 0..400 {
        s.sort_by(|a, b| a.1.total_cmp(&b.1));
        let size = (s[1].0[0] - s[0].0[0])
            .abs()
            .max((s[1].0[1] - s[0].0[1]).abs())
            .max((s[2].0[0] - s[0].0[0]).abs())
            .max((s[2].0[1] - s[0].0[1]).abs());
        if size < 1e-8 {
            break;
        }
        let c = [(s[0].0[0] + s[1].0[0]) / 2.0, (s[0].0[1] + s[1].0[1]) / 2.0];
        let w = s[2].0;
        let along = |t: f64| clamp([c[0] + t * (c[0] - w[0]), c[1] + t * (c[1] - w[1])]);
        let xr = along(1.0);
        let fr = g(xr);
        if fr < s[0].1 {
            let xe = along(2.0);
            let fe = g(xe);
            s[2] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < s[1].1 {
            s[2] = (xr, fr);
        } else {
            let xc = if fr < s[2].1 { along(0.5) } else { along(-0.5) };
            let fc = g(xc);
            if fc < s[2].1.min(fr) {
                s[2] = (xc, fc);
            } else {
                let b = s[0].0;
                for p in s.iter_mut().skip(1) {
                    p.0 = [(p.0[0] + b[0]) / 2.0, (p.0[1] + b[1]) / 2.0];
                    p.1 = g(p.0);
                }
            }
        }
    }
    s.sort_by(|a, b| a.1.total_cmp(&b.1));
    let u = clamp(s[0].0);
    to_x(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_values_match_table() {
        let k = OutlierParams::robust().kernel();
        assert!((k[1] - 0.213086).abs() < 1e-6, "{}", k[1]);
        assert!((k[0] - 0.036914).abs() < 1e-6, "{}", k[0]);
        assert_eq!(k[4], 0.0);
        let p = OutlierParams {
            radius: 2,
            ..OutlierParams::robust()
        };
        let k = p.kernel();
        // rows |dy| = 0: [0, 0.191836, 0.018292]; |dy| = 1: 0.033233, 0.003169; |dy| = 2: 0.000302
        assert!((k[2 * 5 + 3] - 0.191836).abs() < 1e-6);
        assert!((k[2 * 5 + 4] - 0.018292).abs() < 1e-6);
        assert!((k[3 * 5 + 3] - 0.033233).abs() < 1e-6);
        assert!((k[3 * 5 + 4] - 0.003169).abs() < 1e-6);
        assert!((k[4 * 5 + 4] - 0.000302).abs() < 1e-6);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zero_crossing_rules() {
        // One point: reference gives −1/z (Q2), robust refuses.
        assert_eq!(zero_crossing(&[4.7], &[0.9], false), Some(-1.0 / 4.7));
        assert_eq!(zero_crossing(&[4.7], &[0.9], true), None);
        // A line r = z + 3.3 crosses at −3.3.
        let z = [-6.0, -5.0, -4.0];
        let r = [-2.7, -1.7, -0.7];
        assert!((zero_crossing(&z, &r, true).unwrap() + 3.3).abs() < 1e-12);
        // Negative slope: robust refuses.
        assert_eq!(zero_crossing(&z, &[1.0, 0.0, -1.0], true), None);
        assert_eq!(zero_crossing(&[], &[], false), None);
    }

    #[test]
    fn minimizer_finds_interior_and_bound_minima() {
        let f = |p: [f64; 2]| (p[0] - 1.3).abs() + (p[1] - 0.4).powi(2);
        let x = minimize_box(f, [0.0, 0.0], [2.0, 1.0], [1.0, 0.5]);
        assert!(
            (x[0] - 1.3).abs() < 1e-6 && (x[1] - 0.4).abs() < 1e-6,
            "{x:?}"
        );
        let x = minimize_box(f, [0.0, 0.6], [1.0, 1.0], [0.5, 0.8]);
        assert!(
            (x[0] - 1.0).abs() < 1e-9 && (x[1] - 0.6).abs() < 1e-9,
            "{x:?}"
        );
    }
}

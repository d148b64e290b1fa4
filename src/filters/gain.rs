//! Gain normalisation (paper Eqns 8/9 without the `I_CMOS` term): `(I − dark) · gain^γ`, with the
//! reference reoriented to the movie, zero or invalid gain pixels treated as defects, and an
//! optional dose-rate gamma.

use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::gamma::gamma_for_dose_rate;
use super::orient::Orientation;
use super::plan::CorrectionPlan;
use super::stack::{ImageView, Sample, StackView};
use crate::{Error, Result};

/// Which exponent γ to raise the gain reference to (paper §5.1, Eqn 9).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub enum Gamma {
    /// γ = 1: classic flat-field normalisation (Eqn 8).
    #[default]
    One,
    /// A given γ (e.g. one returned by [`fit_gamma`](super::fit_gamma)).
    Fixed(f64),
    /// γ(δ) of the paper's power-linear model at dose rate δ (e⁻/physical pixel/s), see
    /// [`gamma_for_dose_rate`].
    DoseRate(f64),
}

impl Gamma {
    /// The exponent this choice stands for; fails on a non-finite value.
    pub fn value(&self) -> Result<f64> {
        let g = match *self {
            Gamma::One => 1.0,
            Gamma::Fixed(g) => g,
            Gamma::DoseRate(d) => gamma_for_dose_rate(d)?,
        };
        if !g.is_finite() {
            return Err(Error::InvalidArgument(format!("gamma {g} is not finite")));
        }
        Ok(g)
    }
}

/// How to turn a stored gain reference into per-pixel multipliers for the movie.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct GainOptions {
    /// Rotation/flip taking the stored reference to the movie's orientation (also applied to the
    /// dark reference). See [`Orientation`] for the MotionCor2 convention.
    pub orientation: Orientation,
    /// The stored reference is a flat field (divide by it): use `1/g` (MotionCor2 `-InvGain`).
    pub invert: bool,
    /// Exponent of the gain.
    pub gamma: Gamma,
}

/// A gain reference prepared for movies of one shape: oriented, inverted if asked, raised to γ,
/// with defects (reference values that are 0, negative, or not finite) marked.
///
/// Applied alone (through [`GainMap::plan`]) a defect pixel gets, in each frame, the mean of the
/// good pixels within ±2 pixels of that frame (the window grows if none is good). Combined with
/// the outlier filter ([`plan_correction`](super::plan_correction)) defects are outliers of
/// weight 0 and get the filter's PSF or neighbourhood fill.
#[derive(Debug, Clone)]
pub struct GainMap {
    pub(crate) ny: usize,
    pub(crate) nx: usize,
    pub(crate) gain: Arc<[f32]>,
    pub(crate) dark: Option<Vec<f32>>,
    /// `−gain·dark`, the dense additive term of a plan.
    pub(crate) offset: Option<Arc<[f32]>>,
    pub(crate) defects: Vec<usize>,
    pub(crate) gamma: f64,
}

impl GainMap {
    /// Prepares `gain` (and an optional per-frame `dark` reference stored like the gain, i.e.
    /// of the same shape and orientation) for movies of `ny × nx`.
    ///
    /// Fails with [`Error::InvalidArgument`] if the oriented reference is not `ny × nx` (the
    /// message names both shapes; see [`fitting_orientations`](super::fitting_orientations)).
    pub fn new(
        gain: ImageView<'_, f32>,
        dark: Option<ImageView<'_, f32>>,
        ny: usize,
        nx: usize,
        opts: &GainOptions,
    ) -> Result<Self> {
        let gamma = opts.gamma.value()?;
        let mut g = opts.orientation.apply_to_shape(gain, ny, nx)?;
        let dark = match dark {
            Some(d) => {
                if (d.ny(), d.nx()) != (gain.ny(), gain.nx()) {
                    return Err(Error::InvalidArgument(format!(
                        "dark reference has shape ({}, {}), gain reference ({}, {})",
                        d.ny(),
                        d.nx(),
                        gain.ny(),
                        gain.nx()
                    )));
                }
                Some(opts.orientation.apply_to_shape(d, ny, nx)?)
            }
            None => None,
        };
        let invert = opts.invert;
        g.par_iter_mut().for_each(|v| {
            let x = *v;
            *v = if x.is_finite() && x > 0.0 {
                let base = if invert {
                    1.0 / f64::from(x)
                } else {
                    f64::from(x)
                };
                let r = if gamma == 1.0 { base } else { base.powf(gamma) };
                let r = r as f32;
                if r.is_finite() && r > 0.0 { r } else { 0.0 }
            } else {
                0.0
            };
        });
        let defects: Vec<usize> = g
            .par_iter()
            .enumerate()
            .filter(|(_, v)| **v == 0.0)
            .map(|(i, _)| i)
            .collect();
        let dark = dark.map(|mut d| {
            d.par_iter_mut().for_each(|v| {
                if !v.is_finite() {
                    *v = 0.0
                }
            });
            d
        });
        let offset = dark.as_ref().map(|d| {
            d.par_iter()
                .zip(g.par_iter())
                .map(|(&d, &g)| -g * d)
                .collect::<Vec<f32>>()
                .into()
        });
        Ok(Self {
            ny,
            nx,
            gain: g.into(),
            offset,
            dark,
            defects,
            gamma,
        })
    }

    /// Rows of the movie frames.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Columns of the movie frames.
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// The multipliers `gain^γ` in movie orientation (0 at defects).
    pub fn gain(&self) -> &[f32] {
        &self.gain
    }
    /// The oriented dark reference, if any.
    pub fn dark(&self) -> Option<&[f32]> {
        self.dark.as_deref()
    }
    /// Sorted indices of defect pixels (invalid gain).
    pub fn defects(&self) -> &[usize] {
        &self.defects
    }
    /// The exponent γ applied.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// A plan applying this gain alone (no outlier filter).
    pub fn plan(&self) -> CorrectionPlan {
        CorrectionPlan {
            ny: self.ny,
            nx: self.nx,
            mult: Some(self.gain.clone()),
            offset: self.offset.clone(),
            fixes: Vec::new(),
            dynamic: self.defects.clone(),
        }
    }
}

/// Gain-normalises a whole stack: `(I − dark) · gain^γ`, defects filled per frame.
pub fn normalize_stack<T: Sample>(stack: StackView<'_, T>, gain: &GainMap) -> Result<Vec<f32>> {
    super::stack::check_same_shape("stack", (stack.ny(), stack.nx()), (gain.ny, gain.nx))?;
    gain.plan().apply_stack(stack)
}

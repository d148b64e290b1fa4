//! Detector-correction filters of the MRCZ paper, as pure functions on frames and stacks.
//!
//! Nothing here knows about files: frames come as slices with shapes ([`StackView`],
//! [`ImageView`]), in any [`Sample`] type (`u8`, `i8`, `u16`, `i16`, `f32`); results are `f32`.
//!
//! * [`outliers`]: the stochastic hot/dead pixel filter (steps 1–5), [`plan_correction`] /
//!   [`correct_stack`] / [`outlier_filter`], with a serialisable [`OutlierReport`].
//! * [`gain`]: gain (and dark) normalisation with defects, [`GainMap`]; [`orient`]: rotations
//!   and flips of the reference (MotionCor2 convention) and the orientation search;
//!   [`gamma`]: the dose-rate gamma model and fit.
//! * [`koma`](mod@koma): the knock-out moving average over a series of stacks, streaming.
//! * [`pearson`]: the mean inter-frame Pearson coefficient, O(frames × pixels).
//!
//! The usual flow for one movie: [`FrameSum::from_stack`] (one pass over the raw frames), then
//! [`plan_correction`] (statistics and per-pixel maps, once), then
//! [`CorrectionPlan::apply_frame`] per frame into a reused buffer.

mod boxfilt;
pub mod gain;
pub mod gamma;
pub mod koma;
pub mod orient;
pub mod outliers;
pub mod pearson;
mod plan;
mod special;
pub mod stack;
mod sum;

pub use gain::{GainMap, GainOptions, Gamma, normalize_stack};
pub use gamma::{GammaFit, GammaFitOptions, fit_gamma, gamma_for_dose_rate};
pub use koma::{Koma, KomaCorrection, KomaMode, KomaOutput, KomaWindow, koma, koma_window};
pub use orient::{Flip, Orientation, OrientationScore, fitting_orientations, score_orientations};
pub use outliers::{
    OutlierMode, OutlierParams, OutlierReport, Psf, ThresholdSource, correct_stack, outlier_filter,
    plan_correction,
};
pub use pearson::{PearsonAccumulator, PearsonReport, pearson_pair, pearson_stack};
pub use plan::CorrectionPlan;
pub use stack::{ImageView, Sample, StackView};
pub use sum::FrameSum;

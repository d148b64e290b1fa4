//! A per-pixel correction computed once per stack and applied frame by frame:
//! `out(x) = mult(x) · I(x) + offset(x)`, then exact values at a sparse list of flagged pixels.

use std::sync::Arc;

use rayon::prelude::*;

use super::stack::{Sample, StackView};
use crate::{Error, Result};

/// Pixels per parallel work item of the apply pass (64 KiB of `f32` multipliers).
const APPLY_CHUNK: usize = 1 << 14;

/// A flagged pixel whose output is `mult · I + add` (or exactly `add` when `mult == 0`, so that
/// a non-finite input at a defect cannot leak into the output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fix {
    pub index: usize,
    pub mult: f32,
    pub add: f32,
}

/// A correction ready to apply to frames of one shape: gain (and dark) normalisation, outlier
/// weights and fill values folded into one multiply per pixel plus sparse fix-ups.
///
/// Built by [`GainMap::plan`](super::GainMap::plan) (gain only) or
/// [`plan_correction`](super::plan_correction) (outlier filter, optionally with gain). Applying it
/// to one frame costs one multiply per pixel (plus an add if a dark reference is used) and work
/// proportional to the number of flagged pixels.
#[derive(Debug, Clone)]
pub struct CorrectionPlan {
    pub(crate) ny: usize,
    pub(crate) nx: usize,
    /// Dense multiplier (the gain map, shared); `None` means 1.
    pub(crate) mult: Option<Arc<[f32]>>,
    /// Dense additive term (`−gain·dark`, shared), if a dark reference is used.
    pub(crate) offset: Option<Arc<[f32]>>,
    /// Sorted by index.
    pub(crate) fixes: Vec<Fix>,
    /// Sorted indices of defects filled per frame by the mean of good neighbours in that frame.
    pub(crate) dynamic: Vec<usize>,
}

impl CorrectionPlan {
    /// Frame rows.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Frame columns.
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// Number of pixels with an individual fix-up (flagged outliers and defects).
    pub fn flagged_pixels(&self) -> usize {
        self.fixes.len() + self.dynamic.len()
    }
    /// The multiplier of frame values at pixel `i`: gain^γ × outlier weight `w` (0 at defects
    /// and, for gain-only plans, at defects filled from neighbours).
    pub fn multiplier(&self, i: usize) -> Option<f32> {
        if i >= self.ny * self.nx {
            return None;
        }
        if let Ok(p) = self.fixes.binary_search_by_key(&i, |f| f.index) {
            return Some(self.fixes[p].mult);
        }
        if self.dynamic.binary_search(&i).is_ok() {
            return Some(0.0);
        }
        Some(self.mult.as_ref().map_or(1.0, |m| m[i]))
    }

    fn check_len(&self, what: &str, got: usize, want: usize) -> Result<()> {
        if got != want {
            return Err(Error::InvalidArgument(format!(
                "{what} has {got} values, expected {want} for frames of shape (ny, nx) = ({}, {})",
                self.ny, self.nx
            )));
        }
        Ok(())
    }

    /// Corrects one frame of `ny * nx` pixels into `out` (same length).
    pub fn apply_frame<T: Sample>(&self, frame: &[T], out: &mut [f32]) -> Result<()> {
        let n = self.ny * self.nx;
        self.check_len("frame", frame.len(), n)?;
        self.check_len("output frame", out.len(), n)?;
        out.par_chunks_mut(APPLY_CHUNK)
            .zip(frame.par_chunks(APPLY_CHUNK))
            .enumerate()
            .for_each(|(ci, (o, f))| self.dense(ci * APPLY_CHUNK, f, o));
        self.fix_up(frame, out);
        Ok(())
    }

    /// Corrects every frame of `stack` into `out` (`frames * ny * nx` values). The dense pass
    /// walks pixel chunks across all frames, so each multiplier is read once per call.
    pub fn apply_frames<T: Sample>(&self, stack: StackView<'_, T>, out: &mut [f32]) -> Result<()> {
        let n = self.ny * self.nx;
        self.check_len("stack frame", stack.frame_len(), n)?;
        let total = stack.data().len();
        if out.len() != total {
            return Err(Error::InvalidArgument(format!(
                "output has {} values, expected {total} for a stack of shape ({}, {}, {})",
                out.len(),
                stack.frames(),
                stack.ny(),
                stack.nx()
            )));
        }
        let frames: Vec<&[T]> = stack.iter_frames().collect();
        // Split the output by frame, then each frame by chunk; work items are pixel chunks that
        // hold the matching chunk of every frame.
        let chunks = n.div_ceil(APPLY_CHUNK);
        let mut per_chunk: Vec<Vec<&mut [f32]>> = (0..chunks).map(|_| Vec::new()).collect();
        for of in out.chunks_mut(n) {
            for (ci, oc) in of.chunks_mut(APPLY_CHUNK).enumerate() {
                per_chunk[ci].push(oc);
            }
        }
        per_chunk
            .into_par_iter()
            .enumerate()
            .for_each(|(ci, outs)| {
                let start = ci * APPLY_CHUNK;
                for (o, f) in outs.into_iter().zip(&frames) {
                    let len = o.len();
                    self.dense(start, &f[start..start + len], o);
                }
            });
        out.par_chunks_mut(n)
            .zip(frames.par_iter())
            .for_each(|(o, f)| self.fix_up(f, o));
        Ok(())
    }

    /// The corrected stack as a new `Vec<f32>`.
    pub fn apply_stack<T: Sample>(&self, stack: StackView<'_, T>) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; stack.data().len()];
        self.apply_frames(stack, &mut out)?;
        Ok(out)
    }

    /// The dense pass over pixels `start..start + out.len()`.
    #[inline]
    fn dense<T: Sample>(&self, start: usize, f: &[T], o: &mut [f32]) {
        let end = start + o.len();
        match (&self.mult, &self.offset) {
            (None, None) => {
                for (o, &v) in o.iter_mut().zip(f) {
                    *o = v.to_f32();
                }
            }
            (Some(m), None) => {
                for ((o, &v), &g) in o.iter_mut().zip(f).zip(&m[start..end]) {
                    *o = g * v.to_f32();
                }
            }
            (None, Some(d)) => {
                for ((o, &v), &d) in o.iter_mut().zip(f).zip(&d[start..end]) {
                    *o = v.to_f32() + d;
                }
            }
            (Some(m), Some(d)) => {
                for (((o, &v), &g), &d) in
                    o.iter_mut().zip(f).zip(&m[start..end]).zip(&d[start..end])
                {
                    *o = g * v.to_f32() + d;
                }
            }
        }
    }

    fn fix_up<T: Sample>(&self, frame: &[T], out: &mut [f32]) {
        for f in &self.fixes {
            out[f.index] = if f.mult == 0.0 {
                f.add
            } else {
                f.mult * frame[f.index].to_f32() + f.add
            };
        }
        if self.dynamic.is_empty() {
            return;
        }
        let fills: Vec<f32> = self
            .dynamic
            .par_iter()
            .map(|&i| self.neighbour_mean(i, out))
            .collect();
        for (&i, v) in self.dynamic.iter().zip(fills) {
            out[i] = v;
        }
    }

    /// Mean of the good (not dynamic-defect, finite) pixels around `i`, growing the window from
    /// radius 2 until one is found; 0 if the frame has none.
    fn neighbour_mean(&self, i: usize, out: &[f32]) -> f32 {
        let (ny, nx) = (self.ny as isize, self.nx as isize);
        let (y, x) = ((i / self.nx) as isize, (i % self.nx) as isize);
        let mut r: isize = 2;
        loop {
            let (mut s, mut c) = (0.0f64, 0usize);
            for yy in (y - r).max(0)..=(y + r).min(ny - 1) {
                for xx in (x - r).max(0)..=(x + r).min(nx - 1) {
                    let j = (yy * nx + xx) as usize;
                    if self.dynamic.binary_search(&j).is_err() && out[j].is_finite() {
                        s += f64::from(out[j]);
                        c += 1;
                    }
                }
            }
            if c > 0 {
                return (s / c as f64) as f32;
            }
            if r >= ny.max(nx) {
                return 0.0;
            }
            r *= 2;
        }
    }
}

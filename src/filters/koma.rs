//! KOMA, the knock-out moving average (paper §5.2, spec §3): an a-posteriori estimate of the fixed
//! detector pattern from the neighbouring stacks of a series, subtracted from each stack.
//!
//! # Rule
//!
//! For stacks `s = 0..S−1` in acquisition order with per-frame mean images `M_s` and radius `a`
//! (`S ≥ 2a+1` is required, otherwise [`Error::InvalidArgument`]; `a` is never shrunk):
//!
//! * window start `lo(s) = clamp(s − a, 0, S − 1 − 2a)`; window
//!   `W(s) = {lo(s), …, lo(s) + 2a} \ {s}`, always `2a` stacks (the end points are shifted, not
//!   shortened: near the start it is the first `2a+1` stacks minus `s`, near the end the last);
//! * `K_s = (1/2a) Σ_{j∈W(s)} M_j`;
//! * [`KomaMode::Subtract`] (default, the paper's): `I_CMOS,s = (K_s − ⟨K_s⟩)·⟨M_s⟩/⟨K_s⟩` is
//!   subtracted from every frame of stack `s`; [`KomaMode::Divide`]: every frame is multiplied by
//!   `⟨K_s⟩/K_s` (1 where `K_s ≤ 0`). `⟨·⟩` is the spatial mean.
//!
//! # Running sums
//!
//! The full window sum `T = Σ_{j=lo}^{lo+2a} M_j` is kept in `f64`; when the window slides it gains
//! `M_{lo+2a+1}` and loses `M_lo`, and the current stack is knocked out as `K_s = (T − M_s)/2a`.
//! Each stack therefore costs a constant number of image additions whatever `a` is.
//!
//! # Memory
//!
//! [`KomaWindow`] holds at most `2a+1` mean images (`f32`) plus the `f64` window sum.
//! [`Koma`] additionally keeps each pushed stack until its correction is known: up to `2a+1`
//! stacks at the start of the series (stack 0 needs `M_{2a}`), `a+1` in the interior. A caller that
//! can read a stack twice should use [`KomaWindow`] (push means, then apply each
//! [`KomaCorrection`] while re-reading) to stay at image-sized memory.

use std::collections::VecDeque;

use rayon::prelude::*;
use serde::Serialize;

use super::stack::{Sample, StackView, checked_len};
use super::sum::FrameSum;
use crate::{Error, Result};

/// How the KOMA estimate corrects a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum KomaMode {
    /// Subtract the zero-mean pattern rescaled to the stack's dose (the paper's form).
    #[default]
    Subtract,
    /// Multiply by `⟨K_s⟩/K_s`.
    Divide,
}

/// First stack of the window of stack `s` in a series of `total` stacks with radius `a`:
/// `clamp(s − a, 0, total − 1 − 2a)`. Fails unless `a ≥ 1`, `total ≥ 2a+1` and `s < total`.
pub fn koma_window_start(s: usize, total: usize, a: usize) -> Result<usize> {
    check_series(total, a)?;
    if s >= total {
        return Err(Error::InvalidArgument(format!(
            "stack {s} is outside a series of {total}"
        )));
    }
    Ok(s.saturating_sub(a).min(total - 1 - 2 * a))
}

/// The `2a` stacks averaged for stack `s` (see the module docs).
pub fn koma_window(s: usize, total: usize, a: usize) -> Result<Vec<usize>> {
    let lo = koma_window_start(s, total, a)?;
    Ok((lo..=lo + 2 * a).filter(|&j| j != s).collect())
}

fn check_series(total: usize, a: usize) -> Result<()> {
    if a == 0 {
        return Err(Error::InvalidArgument(
            "KOMA radius must be at least 1".into(),
        ));
    }
    let need = a
        .checked_mul(2)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| Error::InvalidArgument(format!("KOMA radius {a} is too large")))?;
    if total < need {
        return Err(Error::InvalidArgument(format!(
            "KOMA with radius {a} needs at least {need} stacks (2a+1), the series has {total}"
        )));
    }
    Ok(())
}

/// The correction of one stack, from [`KomaWindow::pop`].
#[derive(Debug, Clone)]
pub struct KomaCorrection {
    /// Index of the stack in the series.
    pub stack: usize,
    /// First stack of its window (`lo(s)`).
    pub window_start: usize,
    /// Mode of `map`.
    pub mode: KomaMode,
    /// Subtract: the map `I_CMOS,s` subtracted from each frame. Divide: the per-pixel factor.
    pub map: Vec<f32>,
}

impl KomaCorrection {
    /// Corrects one frame in place.
    pub fn apply_in_place(&self, frame: &mut [f32]) -> Result<()> {
        if frame.len() != self.map.len() {
            return Err(Error::InvalidArgument(format!(
                "frame has {} pixels, the KOMA map {}",
                frame.len(),
                self.map.len()
            )));
        }
        let f = frame
            .par_chunks_mut(1 << 14)
            .zip(self.map.par_chunks(1 << 14));
        match self.mode {
            KomaMode::Subtract => {
                f.for_each(|(o, m)| o.iter_mut().zip(m).for_each(|(o, m)| *o -= m))
            }
            KomaMode::Divide => f.for_each(|(o, m)| o.iter_mut().zip(m).for_each(|(o, m)| *o *= m)),
        }
        Ok(())
    }

    /// Corrects one frame of any sample type into `out`.
    pub fn apply_frame<T: Sample>(&self, frame: &[T], out: &mut [f32]) -> Result<()> {
        if frame.len() != self.map.len() || out.len() != self.map.len() {
            return Err(Error::InvalidArgument(format!(
                "frame has {} pixels and output {}, the KOMA map {}",
                frame.len(),
                out.len(),
                self.map.len()
            )));
        }
        out.par_iter_mut()
            .zip(frame.par_iter())
            .zip(self.map.par_iter())
            .for_each(|((o, &v), &m)| {
                *o = match self.mode {
                    KomaMode::Subtract => v.to_f32() - m,
                    KomaMode::Divide => v.to_f32() * m,
                }
            });
        Ok(())
    }

    /// Corrects every frame of a stack (`frames * pixels` values) in place.
    pub fn apply_stack_in_place(&self, stack: &mut [f32]) -> Result<()> {
        let n = self.map.len();
        if !stack.len().is_multiple_of(n) {
            return Err(Error::InvalidArgument(format!(
                "stack of {} values is not a whole number of {n}-pixel frames",
                stack.len()
            )));
        }
        for f in stack.chunks_mut(n) {
            self.apply_in_place(f)?;
        }
        Ok(())
    }
}

/// Streaming KOMA over per-frame mean images: push `M_0, M_1, …` in order, pop the corrections in
/// order as soon as each one's window is complete. See the module docs.
#[derive(Debug, Clone)]
pub struct KomaWindow {
    a: usize,
    total: usize,
    mode: KomaMode,
    pixels: usize,
    /// `(j, M_j)` for `j` from the window start of the next stack to emit up to the last pushed.
    means: VecDeque<(usize, Vec<f32>)>,
    /// Running sum of the held means with index below `sum_end`.
    sum: Vec<f64>,
    sum_end: usize,
    received: usize,
    emitted: usize,
}

impl KomaWindow {
    /// A KOMA of radius `a` over a series of `total` stacks with frames of `pixels` values.
    /// Fails unless `a ≥ 1` and `total ≥ 2a+1`.
    pub fn new(total: usize, a: usize, pixels: usize, mode: KomaMode) -> Result<Self> {
        check_series(total, a)?;
        if pixels == 0 {
            return Err(Error::InvalidArgument("KOMA of empty frames".into()));
        }
        Ok(Self {
            a,
            total,
            mode,
            pixels,
            means: VecDeque::new(),
            sum: vec![0.0; pixels],
            sum_end: 0,
            received: 0,
            emitted: 0,
        })
    }

    /// Stacks pushed so far.
    pub fn received(&self) -> usize {
        self.received
    }
    /// Corrections popped so far.
    pub fn emitted(&self) -> usize {
        self.emitted
    }
    /// Mean images currently held (at most `2a+1`).
    pub fn held(&self) -> usize {
        self.means.len()
    }

    /// Pushes the per-frame mean image `M_s` of the next stack (`s = received()`).
    pub fn push_mean(&mut self, mean: Vec<f32>) -> Result<()> {
        if mean.len() != self.pixels {
            return Err(Error::InvalidArgument(format!(
                "mean image has {} pixels, expected {}",
                mean.len(),
                self.pixels
            )));
        }
        if self.received >= self.total {
            return Err(Error::InvalidArgument(format!(
                "KOMA series of {} stacks is already complete",
                self.total
            )));
        }
        self.means.push_back((self.received, mean));
        self.received += 1;
        Ok(())
    }

    /// Pushes the mean of a stack given as frames (computes `M_s` first).
    pub fn push_stack<T: Sample>(&mut self, stack: StackView<'_, T>) -> Result<()> {
        self.push_mean(mean_image(stack))
    }

    fn window_start(&self, s: usize) -> usize {
        s.saturating_sub(self.a).min(self.total - 1 - 2 * self.a)
    }

    fn held_mean(&self, j: usize) -> Option<&Vec<f32>> {
        let first = self.means.front()?.0;
        self.means.get(j.checked_sub(first)?).map(|(_, m)| m)
    }

    /// The correction of the next stack in order, if its window is complete.
    pub fn pop(&mut self) -> Option<KomaCorrection> {
        let s = self.emitted;
        if s >= self.total {
            return None;
        }
        let lo = self.window_start(s);
        let hi = lo + 2 * self.a;
        if self.received <= hi {
            return None;
        }
        // Bring the running sum to [lo, hi]: the leaving means were subtracted when they left
        // (after the previous emission); add the arriving ones.
        while self.sum_end <= hi {
            let j = self.sum_end;
            let first = self.means.front()?.0;
            let m = &self.means.get(j.checked_sub(first)?)?.1;
            self.sum
                .par_iter_mut()
                .zip(m.par_iter())
                .for_each(|(t, &v)| *t += f64::from(v));
            self.sum_end += 1;
        }
        let ms = self.held_mean(s)?;
        let inv = 1.0 / (2 * self.a) as f64;
        // Knock out the current stack: K_s = (T − M_s)/2a.
        let k: Vec<f64> = self
            .sum
            .par_iter()
            .zip(ms.par_iter())
            .map(|(&t, &m)| (t - f64::from(m)) * inv)
            .collect();
        let n = self.pixels as f64;
        let k_mean = k.par_iter().sum::<f64>() / n;
        let m_mean = ms.par_iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let map: Vec<f32> = match self.mode {
            KomaMode::Subtract => {
                let scale = if k_mean.is_finite() && k_mean != 0.0 && m_mean.is_finite() {
                    m_mean / k_mean
                } else {
                    1.0
                };
                k.par_iter()
                    .map(|&v| ((v - k_mean) * scale) as f32)
                    .collect()
            }
            KomaMode::Divide => k
                .par_iter()
                .map(|&v| {
                    let f = k_mean / v;
                    if v > 0.0 && f.is_finite() {
                        f as f32
                    } else {
                        1.0
                    }
                })
                .collect(),
        };
        self.emitted += 1;
        // Means before the next window start leave the sum and memory now.
        let next_lo = if self.emitted < self.total {
            self.window_start(self.emitted)
        } else {
            self.total
        };
        while self.means.front().is_some_and(|(j, _)| *j < next_lo) {
            if let Some((j, m)) = self.means.pop_front()
                && j < self.sum_end
            {
                self.sum
                    .par_iter_mut()
                    .zip(m.par_iter())
                    .for_each(|(t, &v)| *t -= f64::from(v));
            }
        }
        Some(KomaCorrection {
            stack: s,
            window_start: lo,
            mode: self.mode,
            map,
        })
    }
}

/// Per-frame mean image `M = (1/m) Σ_t I_t` of a stack (one chunked pass over the frames).
pub fn mean_image<T: Sample>(stack: StackView<'_, T>) -> Vec<f32> {
    match FrameSum::from_stack(stack) {
        Ok(sum) => sum.mean_frame(),
        // Unreachable: a valid view always has a non-empty frame shape.
        Err(_) => vec![0.0; stack.frame_len()],
    }
}

/// A corrected stack emitted by [`Koma`].
#[derive(Debug, Clone)]
pub struct KomaOutput {
    /// Index in the series.
    pub stack: usize,
    /// Frames in the stack.
    pub frames: usize,
    /// The corrected frames, `frames * ny * nx` values.
    pub data: Vec<f32>,
}

/// Streaming KOMA over whole stacks: push stacks in order, receive corrected stacks in order.
/// Holds the [`KomaWindow`] plus the stacks waiting for their window (see the module docs).
#[derive(Debug, Clone)]
pub struct Koma {
    window: KomaWindow,
    ny: usize,
    nx: usize,
    pending: VecDeque<(usize, Vec<f32>)>,
}

impl Koma {
    /// KOMA of radius `a` over `total` stacks of `ny × nx` frames.
    pub fn new(total: usize, a: usize, ny: usize, nx: usize, mode: KomaMode) -> Result<Self> {
        let pixels = checked_len(&[ny, nx], "KOMA frame")?;
        Ok(Self {
            window: KomaWindow::new(total, a, pixels, mode)?,
            ny,
            nx,
            pending: VecDeque::new(),
        })
    }

    /// Pushes the next stack (copied to `f32`); returns the stacks whose correction became
    /// available, in order.
    pub fn push<T: Sample>(&mut self, stack: StackView<'_, T>) -> Result<Vec<KomaOutput>> {
        if (stack.ny(), stack.nx()) != (self.ny, self.nx) {
            return Err(Error::InvalidArgument(format!(
                "stack frames have shape ({}, {}), the KOMA series ({}, {})",
                stack.ny(),
                stack.nx(),
                self.ny,
                self.nx
            )));
        }
        let data: Vec<f32> = stack.data().par_iter().map(|v| v.to_f32()).collect();
        self.push_owned(data, stack.frames())
    }

    /// Pushes the next stack as an owned `f32` buffer of `frames × ny × nx` (corrected in place,
    /// no copy).
    pub fn push_owned(&mut self, data: Vec<f32>, frames: usize) -> Result<Vec<KomaOutput>> {
        let view = StackView::new(&data, frames, self.ny, self.nx)?;
        self.window.push_stack(view)?;
        self.pending.push_back((frames, data));
        let mut out = Vec::new();
        while let Some(c) = self.window.pop() {
            let (frames, mut data) = self
                .pending
                .pop_front()
                .ok_or_else(|| Error::InvalidArgument("KOMA: no pending stack".into()))?;
            c.apply_stack_in_place(&mut data)?;
            out.push(KomaOutput {
                stack: c.stack,
                frames,
                data,
            });
        }
        Ok(out)
    }

    /// Stacks held waiting for their window.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// KOMA over a whole series of stacks (each `frames × ny × nx`, frame counts may differ).
pub fn koma<T: Sample>(
    stacks: &[StackView<'_, T>],
    a: usize,
    mode: KomaMode,
) -> Result<Vec<Vec<f32>>> {
    let first = stacks
        .first()
        .ok_or_else(|| Error::InvalidArgument("KOMA of an empty series".into()))?;
    let mut k = Koma::new(stacks.len(), a, first.ny(), first.nx(), mode)?;
    let mut out = Vec::with_capacity(stacks.len());
    for s in stacks {
        out.extend(k.push(*s)?.into_iter().map(|o| o.data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_membership_a2_s7() {
        // Spec §3.1 example.
        let want: [[usize; 4]; 7] = [
            [1, 2, 3, 4],
            [0, 2, 3, 4],
            [0, 1, 3, 4],
            [1, 2, 4, 5],
            [2, 3, 5, 6],
            [2, 3, 4, 6],
            [2, 3, 4, 5],
        ];
        for (s, w) in want.iter().enumerate() {
            assert_eq!(koma_window(s, 7, 2).unwrap(), w.to_vec(), "s = {s}");
        }
        assert!(koma_window(0, 4, 2).is_err());
        assert!(KomaWindow::new(4, 2, 10, KomaMode::Subtract).is_err());
        assert!(KomaWindow::new(5, 0, 10, KomaMode::Subtract).is_err());
    }

    #[test]
    fn running_sum_equals_direct_mean() {
        let (total, a, n) = (11, 3, 257);
        let means: Vec<Vec<f32>> = (0..total)
            .map(|s| {
                (0..n)
                    .map(|i| ((s * 31 + i * 7) % 13) as f32 + 0.1 * s as f32)
                    .collect()
            })
            .collect();
        let mut w = KomaWindow::new(total, a, n, KomaMode::Subtract).unwrap();
        let mut got = Vec::new();
        for m in &means {
            w.push_mean(m.clone()).unwrap();
            assert!(
                w.held() <= 2 * a + 1,
                "held {} after {} pushed, {} emitted",
                w.held(),
                w.received(),
                w.emitted()
            );
            while let Some(c) = w.pop() {
                got.push(c);
            }
        }
        assert_eq!(got.len(), total);
        for c in &got {
            let win = koma_window(c.stack, total, a).unwrap();
            let k: Vec<f64> = (0..n)
                .map(|i| win.iter().map(|&j| f64::from(means[j][i])).sum::<f64>() / (2 * a) as f64)
                .collect();
            let km = k.iter().sum::<f64>() / n as f64;
            let mm = means[c.stack].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
            for (&ki, &got) in k.iter().zip(&c.map) {
                let want = (ki - km) * mm / km;
                assert!((f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0));
            }
        }
    }
}

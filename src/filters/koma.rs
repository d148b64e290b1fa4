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
    ///
    /// Works tile by tile across all frames, so each tile of the map is read from memory once per
    /// stack rather than once per frame.
    pub fn apply_stack_in_place(&self, stack: &mut [f32]) -> Result<()> {
        let n = self.map.len();
        if !stack.len().is_multiple_of(n) {
            return Err(Error::InvalidArgument(format!(
                "stack of {} values is not a whole number of {n}-pixel frames",
                stack.len()
            )));
        }
        let mut frames: Vec<&mut [f32]> = stack.chunks_mut(n).collect();
        let tiles = n.div_ceil(TILE);
        // Split every frame into its tiles, then hand tile t of all frames to one task.
        let mut per_tile: Vec<Vec<&mut [f32]>> = (0..tiles)
            .map(|_| Vec::with_capacity(frames.len()))
            .collect();
        for f in frames.drain(..) {
            for (t, part) in f.chunks_mut(TILE).enumerate() {
                per_tile[t].push(part);
            }
        }
        let mode = self.mode;
        per_tile
            .par_iter_mut()
            .zip(self.map.par_chunks(TILE))
            .with_min_len(TASK_TILES)
            .for_each(|(parts, m)| {
                for o in parts.iter_mut() {
                    match mode {
                        KomaMode::Subtract => o.iter_mut().zip(m).for_each(|(o, m)| *o -= m),
                        KomaMode::Divide => o.iter_mut().zip(m).for_each(|(o, m)| *o *= m),
                    }
                }
            });
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
    /// Means from the window start of the next stack to emit up to the last pushed.
    means: VecDeque<HeldMean>,
    /// Running sum of the held means with index below `sum_end`.
    sum: Vec<f64>,
    /// Spatial total of `sum` (kept alongside, so `⟨K_s⟩` costs nothing).
    sum_total: f64,
    sum_end: usize,
    received: usize,
    emitted: usize,
    /// Image buffers that left the window or came back through [`KomaWindow::recycle`], reused
    /// for the next mean or map: a fresh 16 MB image costs more in page faults than filling it.
    spare: Vec<Vec<f32>>,
}

/// One mean image in the window: its stack index, pixels and spatial total.
#[derive(Debug, Clone)]
struct HeldMean {
    index: usize,
    image: Vec<f32>,
    total: f64,
}

/// Buffers kept in [`KomaWindow`]'s spare pool (one for the next mean, one for the next map).
const SPARE_MAX: usize = 2;

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
            sum_total: 0.0,
            sum_end: 0,
            received: 0,
            emitted: 0,
            spare: Vec::new(),
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

    fn check_can_push(&self) -> Result<()> {
        if self.received >= self.total {
            return Err(Error::InvalidArgument(format!(
                "KOMA series of {} stacks is already complete",
                self.total
            )));
        }
        Ok(())
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
        self.check_can_push()?;
        let total = mean
            .par_chunks(TILE)
            .map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>())
            .sum();
        self.push_held(mean, total);
        Ok(())
    }

    /// Pushes the mean of a stack given as frames: `M_s` is computed in one pass over the frames,
    /// into a recycled buffer.
    pub fn push_stack<T: Sample>(&mut self, stack: StackView<'_, T>) -> Result<()> {
        if stack.frame_len() != self.pixels {
            return Err(Error::InvalidArgument(format!(
                "stack frames have {} pixels, expected {}",
                stack.frame_len(),
                self.pixels
            )));
        }
        self.check_can_push()?;
        let mut image = self.take_buffer();
        let total = mean_into(stack, &mut image);
        self.push_held(image, total);
        Ok(())
    }

    /// Gives a popped correction's buffer back for reuse by later stacks (optional: it only
    /// saves the allocation and its page faults).
    pub fn recycle(&mut self, correction: KomaCorrection) {
        self.give_buffer(correction.map);
    }

    fn push_held(&mut self, image: Vec<f32>, total: f64) {
        self.means.push_back(HeldMean {
            index: self.received,
            image,
            total,
        });
        self.received += 1;
    }

    fn take_buffer(&mut self) -> Vec<f32> {
        match self.spare.pop() {
            Some(b) => b,
            None => vec![0.0; self.pixels],
        }
    }

    fn give_buffer(&mut self, b: Vec<f32>) {
        if b.len() == self.pixels && self.spare.len() < SPARE_MAX {
            self.spare.push(b);
        }
    }

    fn window_start(&self, s: usize) -> usize {
        s.saturating_sub(self.a).min(self.total - 1 - 2 * self.a)
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
        // One pass over the pixels brings the running sum to the window [lo, hi] (adding the
        // arriving means), computes the map, and removes the means that leave before the next
        // stack's window (all of them already in the sum, none of them stack s).
        let next_lo = if s + 1 < self.total {
            self.window_start(s + 1)
        } else {
            self.total
        };
        let mut map = self.take_buffer();
        let means = &self.means;
        let first = means.front()?.index;
        let held = |j: usize| means.get(j.checked_sub(first)?);
        let arriving: Vec<&HeldMean> = (self.sum_end..=hi).map(held).collect::<Option<_>>()?;
        let leaving: Vec<&HeldMean> = (first..next_lo.min(hi + 1))
            .map(held)
            .collect::<Option<_>>()?;
        let ms = held(s)?;
        let n = self.pixels as f64;
        let inv = 1.0 / (2 * self.a) as f64;
        let window_total = self.sum_total + arriving.iter().map(|m| m.total).sum::<f64>();
        // ⟨K_s⟩ = ⟨(T − M_s)/2a⟩ and ⟨M_s⟩ from the spatial totals.
        let k_mean = (window_total - ms.total) * inv / n;
        let m_mean = ms.total / n;
        let scale = if k_mean.is_finite() && k_mean != 0.0 && m_mean.is_finite() {
            m_mean / k_mean
        } else {
            1.0
        };
        let leaving_total: f64 = leaving.iter().map(|m| m.total).sum();
        let mode = self.mode;
        let ms = &ms.image;
        self.sum
            .par_chunks_mut(TILE)
            .zip(map.par_chunks_mut(TILE))
            .enumerate()
            .with_min_len(TASK_TILES)
            .for_each(|(ti, (t, out))| {
                let r = ti * TILE..ti * TILE + t.len();
                for m in &arriving {
                    t.iter_mut()
                        .zip(&m.image[r.clone()])
                        .for_each(|(t, &v)| *t += f64::from(v));
                }
                let m = &ms[r.clone()];
                match mode {
                    KomaMode::Subtract => {
                        for ((o, &t), &m) in out.iter_mut().zip(t.iter()).zip(m) {
                            let k = (t - f64::from(m)) * inv;
                            *o = ((k - k_mean) * scale) as f32;
                        }
                    }
                    KomaMode::Divide => {
                        for ((o, &t), &m) in out.iter_mut().zip(t.iter()).zip(m) {
                            let k = (t - f64::from(m)) * inv;
                            let f = k_mean / k;
                            *o = if k > 0.0 && f.is_finite() {
                                f as f32
                            } else {
                                1.0
                            };
                        }
                    }
                }
                for m in &leaving {
                    t.iter_mut()
                        .zip(&m.image[r.clone()])
                        .for_each(|(t, &v)| *t -= f64::from(v));
                }
            });
        self.sum_total = window_total - leaving_total;
        self.sum_end = hi + 1;
        self.emitted += 1;
        while self.means.front().is_some_and(|m| m.index < next_lo) {
            if let Some(m) = self.means.pop_front() {
                self.give_buffer(m.image);
            }
        }
        Some(KomaCorrection {
            stack: s,
            window_start: lo,
            mode,
            map,
        })
    }
}

/// Pixels per tile of the KOMA passes: an `f64` tile of the accumulator stays in L1.
const TILE: usize = 4096;
/// Tiles per parallel task.
const TASK_TILES: usize = 16;

/// Per-frame mean image `M = (1/m) Σ_t I_t` of a stack (one chunked pass over the frames).
pub fn mean_image<T: Sample>(stack: StackView<'_, T>) -> Vec<f32> {
    let mut out = vec![0.0; stack.frame_len()];
    mean_into(stack, &mut out);
    out
}

/// Writes the per-frame mean image of `stack` into `out` (one `frame_len()` image) and returns
/// its spatial total. Tile by tile: every frame's tile is summed into an `f64` accumulator in L1,
/// so the frames are streamed once and no full-size `f64` image is touched.
fn mean_into<T: Sample>(stack: StackView<'_, T>, out: &mut [f32]) -> f64 {
    debug_assert_eq!(out.len(), stack.frame_len());
    let frames: Vec<&[T]> = stack.iter_frames().collect();
    let inv = 1.0 / frames.len().max(1) as f64;
    out.par_chunks_mut(TILE * TASK_TILES)
        .enumerate()
        .map(|(ci, task)| {
            let mut acc = vec![0.0f64; TILE];
            let mut parts: Vec<&[T]> = Vec::with_capacity(frames.len());
            let mut lanes = [0.0f64; 4];
            for (ti, o) in task.chunks_mut(TILE).enumerate() {
                let start = ci * TILE * TASK_TILES + ti * TILE;
                let acc = &mut acc[..o.len()];
                acc.fill(0.0);
                parts.clear();
                parts.extend(frames.iter().map(|f| &f[start..start + o.len()]));
                T::accumulate(&parts, acc);
                for (o4, a4) in o.chunks_mut(4).zip(acc.chunks(4)) {
                    for ((o, &a), l) in o4.iter_mut().zip(a4).zip(lanes.iter_mut()) {
                        let v = (a * inv) as f32;
                        *o = v;
                        *l += f64::from(v);
                    }
                }
            }
            lanes.iter().sum::<f64>()
        })
        .sum()
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
            self.window.recycle(c);
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

    #[test]
    fn push_stack_and_recycle_match_direct_rule_in_both_modes() {
        let (total, a, frames, n) = (6, 1, 3, 4096 * 2 + 77);
        let stacks: Vec<Vec<f32>> = (0..total)
            .map(|s| {
                (0..frames * n)
                    .map(|i| 1.0 + ((s * 17 + i * 5) % 29) as f32 * 0.25)
                    .collect()
            })
            .collect();
        let views: Vec<StackView<'_, f32>> = stacks
            .iter()
            .map(|d| StackView::new(d, frames, 1, n).unwrap())
            .collect();
        let means: Vec<Vec<f64>> = stacks
            .iter()
            .map(|d| {
                (0..n)
                    .map(|i| {
                        (0..frames).map(|t| f64::from(d[t * n + i])).sum::<f64>() / frames as f64
                    })
                    .collect()
            })
            .collect();
        for (s, v) in views.iter().enumerate() {
            let m = mean_image(*v);
            for i in 0..n {
                assert!((f64::from(m[i]) - means[s][i]).abs() <= 1e-6 * means[s][i]);
            }
        }
        for mode in [KomaMode::Subtract, KomaMode::Divide] {
            let mut w = KomaWindow::new(total, a, n, mode).unwrap();
            let mut seen = 0;
            for v in &views {
                w.push_stack(*v).unwrap();
                while let Some(c) = w.pop() {
                    let win = koma_window(c.stack, total, a).unwrap();
                    let k: Vec<f64> = (0..n)
                        .map(|i| win.iter().map(|&j| means[j][i]).sum::<f64>() / (2 * a) as f64)
                        .collect();
                    let km = k.iter().sum::<f64>() / n as f64;
                    let mm = means[c.stack].iter().sum::<f64>() / n as f64;
                    for (i, &got) in c.map.iter().enumerate() {
                        let want = match mode {
                            KomaMode::Subtract => (k[i] - km) * mm / km,
                            KomaMode::Divide => km / k[i],
                        };
                        assert!(
                            (f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0),
                            "{mode:?} stack {} pixel {i}: {got} vs {want}",
                            c.stack
                        );
                    }
                    assert_eq!(c.stack, seen);
                    seen += 1;
                    // Recycled buffers must not leak into later results.
                    w.recycle(c);
                }
            }
            assert_eq!(seen, total);
            assert!(w.push_stack(views[0]).is_err(), "series is complete");
        }
    }
}

//! The correlated-noise metric: mean Pearson correlation coefficient over all pairs of frames of a
//! stack, in O(frames × pixels).
//!
//! Each frame is centred and scaled to unit norm, `zᵢ = (fᵢ − f̄ᵢ)/‖fᵢ − f̄ᵢ‖`; then
//! `Σ_{i<j} R_ij = (‖Σᵢ zᵢ‖² − m)/2`, so the mean over the `m(m−1)/2` pairs is
//! `(‖Σᵢ zᵢ‖² − m) / (m(m−1))` and only one running sum image is needed.

use rayon::prelude::*;
use serde::Serialize;

use super::stack::{Sample, StackView};
use crate::{Error, Result};

/// The result of [`pearson_stack`] / [`PearsonAccumulator::finish`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PearsonReport {
    /// Mean Pearson coefficient over all pairs of usable frames; `None` if fewer than two frames
    /// were usable.
    pub pearson: Option<f64>,
    /// Frames seen.
    pub frames: usize,
    /// Frames used (constant or non-finite frames have no defined correlation and are skipped).
    pub used_frames: usize,
    /// Pairs averaged, `used(used − 1)/2`.
    pub pairs: usize,
    /// Pixels per frame.
    pub pixels: usize,
}

/// Streaming form of the metric: add frames one at a time, then [`finish`](Self::finish).
/// Holds one `f64` image (the running sum of normalised frames).
#[derive(Debug, Clone)]
pub struct PearsonAccumulator {
    acc: Vec<f64>,
    frames: usize,
    used: usize,
}

impl PearsonAccumulator {
    /// An accumulator for frames of `pixels` values.
    pub fn new(pixels: usize) -> Result<Self> {
        if pixels == 0 {
            return Err(Error::InvalidArgument(
                "Pearson metric of empty frames".into(),
            ));
        }
        Ok(Self {
            acc: vec![0.0; pixels],
            frames: 0,
            used: 0,
        })
    }

    /// Adds one frame (two reads for mean and norm, one read-modify-write of the sum image).
    pub fn add_frame<T: Sample>(&mut self, frame: &[T]) -> Result<()> {
        let n = self.acc.len();
        if frame.len() != n {
            return Err(Error::InvalidArgument(format!(
                "frame has {} pixels, expected {n}",
                frame.len()
            )));
        }
        self.frames += 1;
        let mean = frame.par_iter().map(|v| f64::from(v.to_f32())).sum::<f64>() / n as f64;
        let ss = frame
            .par_iter()
            .map(|v| {
                let d = f64::from(v.to_f32()) - mean;
                d * d
            })
            .sum::<f64>();
        if !(ss > 0.0 && ss.is_finite() && mean.is_finite()) {
            return Ok(());
        }
        let inv = 1.0 / ss.sqrt();
        self.acc
            .par_iter_mut()
            .zip(frame.par_iter())
            .for_each(|(a, v)| *a += (f64::from(v.to_f32()) - mean) * inv);
        self.used += 1;
        Ok(())
    }

    /// The mean pairwise coefficient of the frames added so far.
    pub fn finish(&self) -> PearsonReport {
        let m = self.used;
        let pairs = m * m.saturating_sub(1) / 2;
        let pearson = (m >= 2).then(|| {
            let norm2: f64 = self.acc.par_iter().map(|a| a * a).sum();
            (norm2 - m as f64) / (m as f64 * (m as f64 - 1.0))
        });
        PearsonReport {
            pearson,
            frames: self.frames,
            used_frames: m,
            pairs,
            pixels: self.acc.len(),
        }
    }
}

/// Mean Pearson coefficient over all frame pairs of `stack`.
pub fn pearson_stack<T: Sample>(stack: StackView<'_, T>) -> PearsonReport {
    let mut acc = PearsonAccumulator {
        acc: vec![0.0; stack.frame_len()],
        frames: 0,
        used: 0,
    };
    for f in stack.iter_frames() {
        // Lengths match by construction of the view.
        let _ = acc.add_frame(f);
    }
    acc.finish()
}

/// Pearson coefficient of two images of equal length; `None` if either is constant.
pub fn pearson_pair<T: Sample>(a: &[T], b: &[T]) -> Result<Option<f64>> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "Pearson of images with {} and {} pixels",
            a.len(),
            b.len()
        )));
    }
    let n = a.len() as f64;
    let ma = a.iter().map(|v| f64::from(v.to_f32())).sum::<f64>() / n;
    let mb = b.iter().map(|v| f64::from(v.to_f32())).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x.to_f32()) - ma, f64::from(y.to_f32()) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let den = (saa * sbb).sqrt();
    Ok((den > 0.0 && den.is_finite()).then(|| sab / den))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_equals_pairwise_loop() {
        let (m, n) = (6, 997);
        let mut s = 12345u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1000) as f32 / 100.0
        };
        let shared: Vec<f32> = (0..n).map(|_| next()).collect();
        let data: Vec<f32> = (0..m * n).map(|i| next() + 0.3 * shared[i % n]).collect();
        let view = StackView::new(&data, m, 1, n).unwrap();
        let rep = pearson_stack(view);
        let mut tot = 0.0;
        for i in 0..m {
            for j in i + 1..m {
                tot += pearson_pair(view.frame(i).unwrap(), view.frame(j).unwrap())
                    .unwrap()
                    .unwrap();
            }
        }
        let want = tot / (m * (m - 1) / 2) as f64;
        assert!(
            (rep.pearson.unwrap() - want).abs() < 1e-9,
            "{rep:?} vs {want}"
        );
        assert_eq!(rep.pairs, 15);
        // A constant frame is skipped, not NaN.
        let mut d2 = data.clone();
        d2[..n].fill(3.0);
        let rep = pearson_stack(StackView::new(&d2, m, 1, n).unwrap());
        assert_eq!(rep.used_frames, m - 1);
        assert!(rep.pearson.unwrap().is_finite());
    }
}

//! The unaligned sum of a stack's frames, the input of outlier detection and the gain fits.

use rayon::prelude::*;

use super::stack::{Sample, StackView, check_same_shape, checked_len};
use crate::{Error, Result};

/// Pixels per parallel work item of the summing pass (a multiple of the accumulator chunk).
const PAR_CHUNK: usize = 1 << 17;

/// Per-pixel sum `S(x) = Σ_t I_t(x)` of the frames added so far (raw values, before any gain).
///
/// Build it from a whole stack with [`FrameSum::from_stack`], or incrementally with
/// [`FrameSum::add_stack`] (any number of frames per call; integer samples are summed in integer
/// registers per cache-sized chunk, so adding several frames per call is much cheaper than adding
/// them one at a time).
#[derive(Debug, Clone)]
pub struct FrameSum {
    ny: usize,
    nx: usize,
    frames: usize,
    integral: bool,
    sum: Vec<f64>,
}

impl FrameSum {
    /// An empty sum for frames of `ny × nx`.
    pub fn new(ny: usize, nx: usize) -> Result<Self> {
        let n = checked_len(&[ny, nx], "frame sum")?;
        if n == 0 {
            return Err(Error::InvalidArgument(format!(
                "frame shape (ny, nx) = ({ny}, {nx}) is empty"
            )));
        }
        Ok(Self {
            ny,
            nx,
            frames: 0,
            integral: true,
            sum: vec![0.0; n],
        })
    }

    /// The sum of all frames of `stack`.
    pub fn from_stack<T: Sample>(stack: StackView<'_, T>) -> Result<Self> {
        let mut s = Self::new(stack.ny(), stack.nx())?;
        s.add_stack(stack)?;
        Ok(s)
    }

    /// Wraps an existing sum image of `frames` frames (e.g. one computed elsewhere).
    pub fn from_sum(sum: Vec<f64>, frames: usize, ny: usize, nx: usize) -> Result<Self> {
        let n = checked_len(&[ny, nx], "frame sum")?;
        if n == 0 || sum.len() != n {
            return Err(Error::InvalidArgument(format!(
                "sum image of shape (ny, nx) = ({ny}, {nx}) needs {n} values, got {}",
                sum.len()
            )));
        }
        let integral = sum.iter().all(|v| v.fract() == 0.0);
        Ok(Self {
            ny,
            nx,
            frames,
            integral,
            sum,
        })
    }

    /// Adds every frame of `stack` (whose frames must be `ny × nx`).
    pub fn add_stack<T: Sample>(&mut self, stack: StackView<'_, T>) -> Result<()> {
        check_same_shape("stack", (stack.ny(), stack.nx()), (self.ny, self.nx))?;
        let n = stack.frame_len();
        let frames: Vec<&[T]> = stack.iter_frames().collect();
        self.sum
            .par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(ci, out)| {
                let start = ci * PAR_CHUNK;
                let parts: Vec<&[T]> = frames
                    .iter()
                    .map(|f| &f[start..start + out.len()])
                    .collect();
                T::accumulate(&parts, out);
            });
        debug_assert_eq!(self.sum.len(), n);
        self.frames += stack.frames();
        self.integral &= T::INTEGRAL;
        Ok(())
    }

    /// Resets to zero frames, keeping the allocation (reuse it for the next movie of the same
    /// shape: touching a fresh 128 MB sum image costs more page faults than summing 8-bit frames).
    pub fn clear(&mut self) {
        self.sum.par_iter_mut().for_each(|v| *v = 0.0);
        self.frames = 0;
        self.integral = true;
    }

    /// Adds one frame of `ny * nx` pixels.
    pub fn add_frame<T: Sample>(&mut self, frame: &[T]) -> Result<()> {
        let view = StackView::new(frame, 1, self.ny, self.nx)?;
        self.add_stack(view)
    }

    /// Number of frames summed.
    pub fn frames(&self) -> usize {
        self.frames
    }
    /// Rows.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Columns.
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// True if every added sample was of an integer type (so every sum is an integer).
    pub fn is_integral(&self) -> bool {
        self.integral
    }
    /// The sum image, row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.sum
    }
    /// The temporal mean frame `S / frames` as `f32` (zeros if no frame was added).
    pub fn mean_frame(&self) -> Vec<f32> {
        let inv = if self.frames == 0 {
            0.0
        } else {
            1.0 / self.frames as f64
        };
        self.sum.par_iter().map(|&s| (s * inv) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_frames_and_batches() {
        let (m, ny, nx) = (5, 3, 70_001 / 3);
        let data: Vec<u8> = (0..m * ny * nx).map(|i| (i % 251) as u8).collect();
        let view = StackView::new(&data, m, ny, nx).unwrap();
        let s = FrameSum::from_stack(view).unwrap();
        let mut inc = FrameSum::new(ny, nx).unwrap();
        inc.add_stack(StackView::new(&data[..2 * ny * nx], 2, ny, nx).unwrap())
            .unwrap();
        for t in 2..m {
            inc.add_frame(&data[t * ny * nx..(t + 1) * ny * nx])
                .unwrap();
        }
        for p in [0, 1, ny * nx / 2, ny * nx - 1] {
            let want: f64 = (0..m).map(|t| f64::from(data[t * ny * nx + p])).sum();
            assert_eq!(s.as_slice()[p], want);
            assert_eq!(inc.as_slice()[p], want);
        }
        assert_eq!(s.frames(), 5);
        assert!(s.is_integral());
        assert!(inc.add_frame(&data[..10]).is_err());
        inc.clear();
        assert_eq!(inc.frames(), 0);
        inc.add_stack(view).unwrap();
        assert_eq!(inc.as_slice(), s.as_slice());
    }
}

//! Pixel sample types and light, shape-checked views of images and frame stacks.

use crate::{Error, Result};

/// A detector pixel value the filters accept as input.
///
/// Implemented for `u8` and `i8` (8-bit counts; python-mrcz stores counts < 128 as `int8`), `u16`
/// and `i16` (16-bit counts), and `f32`. Every filter computes in `f32`/`f64` and writes `f32`.
pub trait Sample: Copy + Send + Sync + 'static {
    /// The value as `f32` (exact for every integer type implemented here).
    fn to_f32(self) -> f32;

    /// Adds `frames` (each the same length as `out`) pixel by pixel into `out`.
    ///
    /// Integer types accumulate in integer registers over a cache-sized chunk and convert once,
    /// so summing an 8-bit stack is a tight widening-add loop over the input.
    #[doc(hidden)]
    fn accumulate(frames: &[&[Self]], out: &mut [f64]) {
        for f in frames {
            for (o, &v) in out.iter_mut().zip(f.iter()) {
                *o += f64::from(v.to_f32());
            }
        }
    }

    /// True if every value of the type is an integer (sums of such frames are integers).
    #[doc(hidden)]
    const INTEGRAL: bool;
}

/// Integer accumulation: `$acc` must hold `$max_frames` times the largest magnitude of `$t`.
macro_rules! int_sample {
    ($t:ty, $acc:ty, $max_frames:expr) => {
        impl Sample for $t {
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            const INTEGRAL: bool = true;
            fn accumulate(frames: &[&[Self]], out: &mut [f64]) {
                // Long contiguous runs per frame (8 pages) keep the hardware prefetchers
                // streaming across the frames' distant pages; the accumulator stays in L2.
                const CHUNK: usize = 32 * 1024;
                let n = out.len();
                let mut acc: Vec<$acc> = vec![0; CHUNK.min(n)];
                let mut start = 0;
                while start < n {
                    let len = CHUNK.min(n - start);
                    for group in frames.chunks($max_frames) {
                        let acc = &mut acc[..len];
                        acc.fill(0);
                        for f in group {
                            let src = &f[start..start + len];
                            for (a, &v) in acc.iter_mut().zip(src) {
                                *a += v as $acc;
                            }
                        }
                        for (o, &a) in out[start..start + len].iter_mut().zip(acc.iter()) {
                            *o += a as f64;
                        }
                    }
                    start += len;
                }
            }
        }
    };
}

// u8: 255 * 257 = 65535 fits u16 (the narrowest widening add, twice the lanes of u32).
// i8: 256 * [−128, 127] fits i16.  16-bit types: i64 accumulators.
int_sample!(u8, u16, 257);
int_sample!(i8, i16, 256);
int_sample!(u16, i64, 1 << 30);
int_sample!(i16, i64, 1 << 30);

impl Sample for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    const INTEGRAL: bool = false;
    fn accumulate(frames: &[&[Self]], out: &mut [f64]) {
        // Eight pixels at a time summed over all frames in registers: the accumulator is loaded
        // and stored once per group instead of once per frame. Same order of additions per pixel
        // as the frame-by-frame loop, so the same result to the bit.
        const L: usize = 8;
        let n = out.len();
        if frames.iter().any(|f| f.len() < n) {
            // Not reached through this crate (parts are cut to `out.len()`); keep it correct.
            for f in frames {
                for (o, &v) in out.iter_mut().zip(f.iter()) {
                    *o += f64::from(v);
                }
            }
            return;
        }
        let whole = n - n % L;
        for (j, o) in out[..whole].chunks_exact_mut(L).enumerate() {
            let j = j * L;
            let mut a = [0.0f64; L];
            a.copy_from_slice(o);
            for f in frames {
                let s = &f[j..j + L];
                for k in 0..L {
                    a[k] += f64::from(s[k]);
                }
            }
            o.copy_from_slice(&a);
        }
        for f in frames {
            for (o, &v) in out[whole..].iter_mut().zip(&f[whole..n]) {
                *o += f64::from(v);
            }
        }
    }
}

/// Number of elements of an `a × b × c` array, or an error naming `what` on overflow.
pub(crate) fn checked_len(dims: &[usize], what: &str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::InvalidArgument(format!("{what}: shape {dims:?} overflows usize")))
}

/// A borrowed 2-D image in row-major order (`data[y * nx + x]`, row 0 first in memory).
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a, T> {
    data: &'a [T],
    ny: usize,
    nx: usize,
}

impl<'a, T> ImageView<'a, T> {
    /// Wraps `data` as an `ny × nx` image; fails if the length is not `ny * nx` or a side is 0.
    pub fn new(data: &'a [T], ny: usize, nx: usize) -> Result<Self> {
        let n = checked_len(&[ny, nx], "image")?;
        if n == 0 {
            return Err(Error::InvalidArgument(format!(
                "image shape (ny, nx) = ({ny}, {nx}) is empty"
            )));
        }
        if data.len() != n {
            return Err(Error::InvalidArgument(format!(
                "image of shape (ny, nx) = ({ny}, {nx}) needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(Self { data, ny, nx })
    }
    /// The pixels, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Number of rows.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Number of columns.
    pub fn nx(&self) -> usize {
        self.nx
    }
}

/// A borrowed stack of frames, `data[(t * ny + y) * nx + x]`.
#[derive(Debug, Clone, Copy)]
pub struct StackView<'a, T> {
    data: &'a [T],
    frames: usize,
    ny: usize,
    nx: usize,
}

impl<'a, T> StackView<'a, T> {
    /// Wraps `data` as `frames × ny × nx`; fails if the length does not match or a side is 0.
    pub fn new(data: &'a [T], frames: usize, ny: usize, nx: usize) -> Result<Self> {
        let n = checked_len(&[frames, ny, nx], "stack")?;
        if n == 0 {
            return Err(Error::InvalidArgument(format!(
                "stack shape (frames, ny, nx) = ({frames}, {ny}, {nx}) is empty"
            )));
        }
        if data.len() != n {
            return Err(Error::InvalidArgument(format!(
                "stack of shape (frames, ny, nx) = ({frames}, {ny}, {nx}) needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(Self {
            data,
            frames,
            ny,
            nx,
        })
    }
    /// All pixels of all frames.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frames
    }
    /// Number of rows per frame.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Number of columns per frame.
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// Pixels per frame (`ny * nx`).
    pub fn frame_len(&self) -> usize {
        self.ny * self.nx
    }
    /// Frame `t`, or `None` past the end.
    pub fn frame(&self, t: usize) -> Option<&'a [T]> {
        let n = self.frame_len();
        if t < self.frames {
            Some(&self.data[t * n..(t + 1) * n])
        } else {
            None
        }
    }
    /// Iterator over the frames in order.
    pub fn iter_frames(&self) -> impl ExactSizeIterator<Item = &'a [T]> + 'a {
        self.data.chunks_exact(self.frame_len())
    }
}

/// Fails unless `(ny, nx) == (ey, ex)`; `what` names the argument in the message.
pub(crate) fn check_same_shape(
    what: &str,
    got: (usize, usize),
    want: (usize, usize),
) -> Result<()> {
    if got != want {
        return Err(Error::InvalidArgument(format!(
            "{what} has shape (ny, nx) = {got:?}, expected {want:?}"
        )));
    }
    Ok(())
}

/// Index reflected into `0..n` with SciPy `ndimage` "reflect" semantics (`d c b a | a b c d |
/// d c b a`), repeated for offsets larger than `n`.
#[inline]
pub(crate) fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let mut r = i.rem_euclid(period);
    if r >= n {
        r = period - 1 - r;
    }
    r as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_scipy() {
        let got: Vec<usize> = (-5..9).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, vec![3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
        assert_eq!(reflect(-1, 1), 0);
        assert_eq!(reflect(7, 1), 0);
    }

    #[test]
    fn integer_accumulate_matches_float() {
        let a: Vec<u8> = (0..10_000).map(|i| (i * 7 % 256) as u8).collect();
        let b: Vec<u8> = (0..10_000).map(|i| (i * 13 % 256) as u8).collect();
        let mut out = vec![0.0; 10_000];
        u8::accumulate(&[&a, &b, &a], &mut out);
        for i in 0..10_000 {
            assert_eq!(out[i], 2.0 * f64::from(a[i]) + f64::from(b[i]));
        }
        let c: Vec<i16> = (0..5000).map(|i| (i as i16).wrapping_mul(31)).collect();
        let mut out = vec![1.0; 5000];
        i16::accumulate(&[&c, &c], &mut out);
        assert!(
            out.iter()
                .zip(&c)
                .all(|(o, &v)| *o == 1.0 + 2.0 * f64::from(v))
        );
    }

    #[test]
    fn views_check_shapes() {
        let d = [0u8; 12];
        assert!(StackView::new(&d, 2, 2, 3).is_ok());
        assert!(matches!(
            StackView::new(&d, 2, 2, 2),
            Err(Error::InvalidArgument(_))
        ));
        assert!(StackView::new(&d, usize::MAX, 2, 3).is_err());
        assert!(ImageView::new(&d[..0], 0, 3).is_err());
    }
}

//! Rotations by multiples of 90° and flips of a gain (or dark) reference, with the conventions of
//! MotionCor2/3 and RELION, conversions from Warp's flags, and the search for the orientation in
//! which a reference fits a movie.
//!
//! # Convention
//!
//! Arrays are row-major with row 0 first in memory (the order of the rows in an MRC file).
//! An [`Orientation`] is `(rot, flip)` with **MotionCor2 `-RotGain rot -FlipGain flip` semantics**
//! (RELION's `--gain_rot` / `--gain_flip` are documented as the same):
//!
//! * the rotation is applied **first**, then the flip;
//! * `rot = 1` (one quarter turn) maps `new[y][x] = old[ny_old − 1 − x][y]` — NumPy's
//!   `np.rot90(G, -1)`: clockwise when row 0 is displayed at the top, counter-clockwise in MRC's
//!   y-up display (MotionCor2's help calls it counter-clockwise);
//! * `flip = UpDown` (MotionCor2 `1`) reverses the row order (`np.flipud`), `LeftRight` (`2`)
//!   reverses each row (`np.fliplr`).
//!
//! Warp's `GainFlipX`, `GainFlipY`, `GainTranspose` apply flip-X (reverse each row), then flip-Y
//! (reverse the rows), then transpose; [`Orientation::from_warp`] converts them.

use rayon::prelude::*;
use serde::Serialize;

use super::boxfilt;
use super::stack::{ImageView, check_same_shape};
use super::sum::FrameSum;
use crate::{Error, Result};

/// The flip applied after the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Flip {
    /// No flip (MotionCor2 `-FlipGain 0`).
    None,
    /// Reverse the order of the rows, `np.flipud` (MotionCor2 `-FlipGain 1`, RELION `--gain_flip 1`).
    UpDown,
    /// Reverse each row, `np.fliplr` (MotionCor2 `-FlipGain 2`, RELION `--gain_flip 2`).
    LeftRight,
}

/// One of the 8 rotations/reflections of the square (see the module docs for the convention).
///
/// Construct with [`Orientation::new`]; it is kept in the canonical form `flip ∈ {None, UpDown}`
/// (`LeftRight` after `rot` equals `UpDown` after `rot + 2`), so `==` compares the actual maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Orientation {
    rot: u8,
    flip: Flip,
}

impl Default for Orientation {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl Orientation {
    /// No change.
    pub const IDENTITY: Orientation = Orientation {
        rot: 0,
        flip: Flip::None,
    };

    /// `rot` quarter turns (taken modulo 4), then `flip`: MotionCor2's `-RotGain rot -FlipGain f`.
    pub fn new(rot: u32, flip: Flip) -> Self {
        let rot = (rot % 4) as u8;
        match flip {
            Flip::LeftRight => Self {
                rot: (rot + 2) % 4,
                flip: Flip::UpDown,
            },
            f => Self { rot, flip: f },
        }
    }

    /// From MotionCor2/3 `-RotGain` and `-FlipGain` (0 none, 1 up-down, 2 left-right), which
    /// RELION's `--gain_rot`/`--gain_flip` share. Fails on a flip code other than 0, 1, 2.
    pub fn from_motioncor(rot_gain: u32, flip_gain: u32) -> Result<Self> {
        let flip = match flip_gain {
            0 => Flip::None,
            1 => Flip::UpDown,
            2 => Flip::LeftRight,
            f => {
                return Err(Error::InvalidArgument(format!(
                    "gain flip code {f} (expected 0 none, 1 up-down, 2 left-right)"
                )));
            }
        };
        Ok(Self::new(rot_gain, flip))
    }

    /// From Warp's `GainFlipX`, `GainFlipY`, `GainTranspose` (applied in that order).
    pub fn from_warp(flip_x: bool, flip_y: bool, transpose: bool) -> Self {
        let mut o = Self::IDENTITY;
        if flip_x {
            o = o.then(Self::new(0, Flip::LeftRight));
        }
        if flip_y {
            o = o.then(Self::new(0, Flip::UpDown));
        }
        if transpose {
            o = o.then(Self::TRANSPOSE);
        }
        o
    }

    /// `new[y][x] = old[x][y]` (equals rot 1 then left-right, or rot 3 then up-down).
    pub const TRANSPOSE: Orientation = Orientation {
        rot: 3,
        flip: Flip::UpDown,
    };

    /// All 8 distinct orientations: identity, R90, R180, R270, flip up-down, flip left-right,
    /// transpose, anti-transpose.
    pub fn all() -> [Orientation; 8] {
        [
            Self::new(0, Flip::None),
            Self::new(1, Flip::None),
            Self::new(2, Flip::None),
            Self::new(3, Flip::None),
            Self::new(0, Flip::UpDown),
            Self::new(0, Flip::LeftRight),
            Self::TRANSPOSE,
            Self::new(1, Flip::UpDown),
        ]
    }

    /// Quarter turns (0..4) of the canonical form.
    pub fn rot(&self) -> u32 {
        u32::from(self.rot)
    }
    /// Flip of the canonical form (`None` or `UpDown`).
    pub fn flip(&self) -> Flip {
        self.flip
    }
    /// MotionCor2 `(-RotGain, -FlipGain)` codes of the canonical form.
    pub fn motioncor_codes(&self) -> (u32, u32) {
        (self.rot(), if self.flip == Flip::None { 0 } else { 1 })
    }

    /// A short name: `identity`, `rot90`, `rot180`, `rot270`, `flipud`, `fliplr`, `transpose`,
    /// `antitranspose` (rot90 = one MotionCor2 quarter turn).
    pub fn name(&self) -> &'static str {
        match (self.rot, self.flip) {
            (0, Flip::None) => "identity",
            (1, Flip::None) => "rot90",
            (2, Flip::None) => "rot180",
            (3, Flip::None) => "rot270",
            (0, _) => "flipud",
            (2, _) => "fliplr",
            (3, _) => "transpose",
            _ => "antitranspose",
        }
    }

    /// True if the map exchanges the axes (odd number of quarter turns).
    pub fn swaps_axes(&self) -> bool {
        self.rot % 2 == 1
    }

    /// Shape `(ny, nx)` of the result for an input of shape `(gy, gx)`.
    pub fn output_shape(&self, gy: usize, gx: usize) -> (usize, usize) {
        if self.swaps_axes() {
            (gx, gy)
        } else {
            (gy, gx)
        }
    }

    /// The orientation that undoes this one.
    pub fn inverse(&self) -> Self {
        match self.flip {
            // A reflection is its own inverse.
            Flip::UpDown | Flip::LeftRight => *self,
            Flip::None => Self::new(4 - u32::from(self.rot), Flip::None),
        }
    }

    /// This orientation followed by `next`.
    pub fn then(&self, next: Orientation) -> Self {
        // Compose by acting on a 2×3 probe image and matching the result (8 candidates).
        let probe: Vec<u32> = (0..6).collect();
        let once = self.apply_raw(&probe, 2, 3);
        let (ay, ax) = self.output_shape(2, 3);
        let twice = next.apply_raw(&once, ay, ax);
        let shape = next.output_shape(ay, ax);
        Self::all()
            .into_iter()
            .find(|o| o.output_shape(2, 3) == shape && o.apply_raw(&probe, 2, 3) == twice)
            .unwrap_or(Self::IDENTITY)
    }

    /// Source index in the input `(gy, gx)` of output pixel `(y, x)`.
    #[inline]
    fn source(&self, y: usize, x: usize, gy: usize, gx: usize) -> usize {
        let (oy, ox) = self.output_shape(gy, gx);
        // Undo the flip (an involution), in the rotated frame of shape (oy, ox).
        let (mut y, mut x) = (y, x);
        if self.flip == Flip::UpDown {
            y = oy - 1 - y;
        }
        // Undo `rot` quarter turns; one turn maps new[y][x] = old[h_old − 1 − x][y].
        let (mut h, mut w) = (oy, ox);
        for _ in 0..self.rot {
            let (ph, pw) = (w, h); // shape before this turn
            let (py, px) = (ph - 1 - x, y);
            y = py;
            x = px;
            h = ph;
            w = pw;
        }
        debug_assert!(h == gy && w == gx);
        y * gx + x
    }

    fn apply_raw<T: Copy + Send + Sync>(&self, data: &[T], gy: usize, gx: usize) -> Vec<T> {
        let (oy, ox) = self.output_shape(gy, gx);
        let mut out = Vec::with_capacity(oy * ox);
        for y in 0..oy {
            for x in 0..ox {
                out.push(data[self.source(y, x, gy, gx)]);
            }
        }
        out
    }

    /// The reoriented image, of shape [`output_shape`](Self::output_shape).
    pub fn apply<T: Copy + Send + Sync>(&self, image: ImageView<'_, T>) -> Vec<T> {
        let (gy, gx) = (image.ny(), image.nx());
        let (oy, ox) = self.output_shape(gy, gx);
        let data = image.data();
        if *self == Self::IDENTITY {
            return data.to_vec();
        }
        (0..oy * ox)
            .into_par_iter()
            .with_min_len(4096)
            .map(|i| data[self.source(i / ox, i % ox, gy, gx)])
            .collect()
    }

    /// The reoriented image, checked to come out as `(ny, nx)`.
    pub fn apply_to_shape<T: Copy + Send + Sync>(
        &self,
        image: ImageView<'_, T>,
        ny: usize,
        nx: usize,
    ) -> Result<Vec<T>> {
        let got = self.output_shape(image.ny(), image.nx());
        check_same_shape(
            &format!(
                "reference of shape ({}, {}) after {}",
                image.ny(),
                image.nx(),
                self.name()
            ),
            got,
            (ny, nx),
        )?;
        Ok(self.apply(image))
    }
}

/// The orientations (of [`Orientation::all`]) that turn a `(gy, gx)` reference into `(ny, nx)`:
/// all 8 for a square match, the 4 axis-preserving ones for `(gy, gx) == (ny, nx)` non-square,
/// the 4 axis-swapping ones for `(gx, gy) == (ny, nx)`. Fails with [`Error::InvalidArgument`]
/// naming both shapes when none fits.
pub fn fitting_orientations(
    gain_shape: (usize, usize),
    movie_shape: (usize, usize),
) -> Result<Vec<Orientation>> {
    let (gy, gx) = gain_shape;
    let v: Vec<Orientation> = Orientation::all()
        .into_iter()
        .filter(|o| o.output_shape(gy, gx) == movie_shape)
        .collect();
    if v.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "gain reference of shape (ny, nx) = ({gy}, {gx}) fits a movie of shape {movie_shape:?} \
             in no orientation (neither as is nor transposed)"
        )));
    }
    Ok(v)
}

/// Flatness score of one candidate orientation (see [`score_orientations`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OrientationScore {
    /// The orientation applied to the stored reference.
    pub orientation: Orientation,
    /// Its [`Orientation::name`].
    pub name: &'static str,
    /// CV (std/mean) of the `box_size`-box-filtered, gain-corrected unaligned sum; lower is
    /// flatter.
    pub cv: f64,
}

/// Scores every orientation in which the stored reference `gain` fits `sum`'s frames by the CV of
/// the `box_size × box_size` box-filtered product `sum · oriented gain` (`1/gain` if `invert`),
/// best (lowest) first. Use `box_size` 64 (the spec's `U64`, a far larger margin than a plain
/// std); pixels where the gain is 0, negative or not finite are ignored. Fails when no
/// orientation fits (see [`fitting_orientations`]).
pub fn score_orientations(
    sum: &FrameSum,
    gain: ImageView<'_, f32>,
    invert: bool,
    box_size: usize,
) -> Result<Vec<OrientationScore>> {
    let (ny, nx) = (sum.ny(), sum.nx());
    let cands = fitting_orientations((gain.ny(), gain.nx()), (ny, nx))?;
    let mut out: Vec<OrientationScore> = cands
        .into_iter()
        .map(|o| {
            let g = o.apply(gain);
            let good: Vec<bool> = g.par_iter().map(|&v| v.is_finite() && v > 0.0).collect();
            let mut img: Vec<f64> = sum
                .as_slice()
                .par_iter()
                .zip(g.par_iter())
                .map(|(&s, &g)| {
                    let g = f64::from(g);
                    if g.is_finite() && g > 0.0 {
                        if invert { s / g } else { s * g }
                    } else {
                        0.0
                    }
                })
                .collect();
            let cv = boxfilt::flatness(&mut img, Some(&good), ny, nx, box_size);
            OrientationScore {
                orientation: o,
                name: o.name(),
                cv,
            }
        })
        .collect();
    out.sort_by(|a, b| a.cv.total_cmp(&b.cv));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(gy: usize, gx: usize) -> Vec<u32> {
        (0..(gy * gx) as u32).collect()
    }

    #[test]
    fn rot90_is_motioncor_kernel() {
        // old (2×3):  0 1 2 / 3 4 5 ; new[y][x] = old[1 − x][y] → (3×2): 3 0 / 4 1 / 5 2
        let o = Orientation::new(1, Flip::None);
        let v = o.apply(ImageView::new(&img(2, 3), 2, 3).unwrap());
        assert_eq!(v, vec![3, 0, 4, 1, 5, 2]);
        assert_eq!(o.output_shape(2, 3), (3, 2));
        // rot then flip: up-down of the above = 5 2 / 4 1 / 3 0
        let v = Orientation::new(1, Flip::UpDown).apply(ImageView::new(&img(2, 3), 2, 3).unwrap());
        assert_eq!(v, vec![5, 2, 4, 1, 3, 0]);
        let v = Orientation::TRANSPOSE.apply(ImageView::new(&img(2, 3), 2, 3).unwrap());
        assert_eq!(v, vec![0, 3, 1, 4, 2, 5]);
        let v =
            Orientation::new(0, Flip::LeftRight).apply(ImageView::new(&img(2, 3), 2, 3).unwrap());
        assert_eq!(v, vec![2, 1, 0, 5, 4, 3]);
    }

    #[test]
    fn group_laws() {
        let all = Orientation::all();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
            assert_eq!(a.then(a.inverse()), Orientation::IDENTITY, "{}", a.name());
            let im = img(3, 5);
            let fwd = a.apply(ImageView::new(&im, 3, 5).unwrap());
            let (oy, ox) = a.output_shape(3, 5);
            let back = a.inverse().apply(ImageView::new(&fwd, oy, ox).unwrap());
            assert_eq!(back, im);
        }
        assert_eq!(Orientation::new(1, Flip::LeftRight), Orientation::TRANSPOSE);
        assert_eq!(
            Orientation::from_warp(false, false, true),
            Orientation::TRANSPOSE
        );
        assert_eq!(
            Orientation::from_warp(true, true, false),
            Orientation::new(2, Flip::None)
        );
        assert_eq!(
            Orientation::from_motioncor(2, 2).unwrap(),
            Orientation::new(0, Flip::UpDown)
        );
        assert!(Orientation::from_motioncor(0, 3).is_err());
    }

    #[test]
    fn fitting_shapes() {
        assert_eq!(fitting_orientations((4, 4), (4, 4)).unwrap().len(), 8);
        let same = fitting_orientations((4, 6), (4, 6)).unwrap();
        assert_eq!(same.len(), 4);
        assert!(same.iter().all(|o| !o.swaps_axes()));
        let swapped = fitting_orientations((6, 4), (4, 6)).unwrap();
        assert!(swapped.iter().all(|o| o.swaps_axes()));
        let e = fitting_orientations((5, 4), (4, 6))
            .unwrap_err()
            .to_string();
        assert!(e.contains("(5, 4)") && e.contains("(4, 6)"), "{e}");
    }
}

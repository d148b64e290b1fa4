//! Shared by the filter commands (`correct`, `outliers`, `koma`, `noise`): opening a movie of
//! counts, reading it in small batches of typed frames, loading gain and dark references, and
//! writing corrected float frames.
//!
//! Nothing here holds a whole movie: frames are read in batches of at most [`BATCH_BYTES`].

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use mrcz::filters::{
    Flip, FrameSum, GainMap, GainOptions, Gamma, ImageView, Orientation, Sample, StackView,
    fitting_orientations, gamma_for_dose_rate,
};
use mrcz::mrc::{Header, Mode};
use mrcz::mrcz::{Compression, FileWriter, Pixel, Reader, WriteOptions, unpack_uint4};

use super::progress::Progress;
use super::{CmdResult, CodecArg, Failure, ShuffleArg, ThreadArgs};

/// Largest batch of decoded frames held at once while reading a movie (a few frames of a 4K
/// movie: enough for the integer summing kernel and parallel decompression to pay off).
pub const BATCH_BYTES: usize = 128 << 20;

/// How the filter commands read their input movies (flattened into each command's arguments).
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Read mode-0 input as signed bytes (MRC2014's definition) instead of unsigned counts.
    #[arg(long)]
    pub signed8: bool,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

impl ReadArgs {
    /// Opens the movie at `path` as `--signed8` says (see [`Movie::open`]).
    pub fn open(&self, path: &Path) -> Result<Movie, Failure> {
        Movie::open(path, self.signed8)
    }
}

/// How the pixels of a movie are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelKind {
    /// Mode 0 read as unsigned 8-bit counts (the detector convention).
    U8,
    /// Mode 0 read as signed bytes (MRC2014's definition; `--signed8`).
    I8,
    /// Mode 1.
    I16,
    /// Mode 6.
    U16,
    /// Mode 2.
    F32,
    /// Mode 12, widened to `f32` on reading.
    F16,
    /// Mode 101, unpacked to one byte per pixel.
    U4,
}

impl PixelKind {
    /// The kind for a file's mode, or a message saying why it is not a movie of counts.
    fn of(mode: Mode, signed8: bool) -> Result<PixelKind, String> {
        Ok(match mode {
            Mode::Int8 if signed8 => PixelKind::I8,
            Mode::Int8 => PixelKind::U8,
            Mode::Int16 => PixelKind::I16,
            Mode::Uint16 => PixelKind::U16,
            Mode::Float32 => PixelKind::F32,
            Mode::Float16 => PixelKind::F16,
            Mode::Uint4 => PixelKind::U4,
            m => {
                return Err(format!(
                    "mode {} ({}) is not a movie of counts: expected 8-bit (0), 16-bit (1, 6), \
                     4-bit (101) or float (2, 12) frames",
                    m.code(),
                    m.name()
                ));
            }
        })
    }
}

/// Receives the frames of a movie batch by batch, in order, as whatever sample type the file has.
pub trait FrameSink {
    /// Called with frames `first .. first + stack.frames()`.
    fn frames<T: Sample>(&mut self, first: usize, stack: StackView<'_, T>) -> CmdResult;
}

/// A movie opened for filtering.
pub struct Movie {
    path: PathBuf,
    reader: Reader<BufReader<File>>,
    kind: PixelKind,
    ny: usize,
    nx: usize,
}

impl Movie {
    /// Opens `path`, printing the reader's warnings; fails on modes that are not counts or floats
    /// and on files without frames.
    pub fn open(path: &Path, signed8: bool) -> Result<Movie, Failure> {
        let reader = Reader::open(path).map_err(|e| Failure::at(path, e))?;
        for w in reader.warnings() {
            eprintln!("mrcz: warning: {}: {w}", path.display());
        }
        let h = reader.header();
        let kind = PixelKind::of(h.mode, signed8).map_err(|e| Failure::at(path, e))?;
        let (nx, ny) = (h.nx as usize, h.ny as usize);
        if reader.frames() == 0 || nx == 0 || ny == 0 {
            return Err(Failure::at(path, "the movie has no frames"));
        }
        Ok(Movie {
            path: path.to_path_buf(),
            reader,
            kind,
            ny,
            nx,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        self.reader.header()
    }
    /// The reader (for metadata and layout).
    pub fn reader(&self) -> &Reader<BufReader<File>> {
        &self.reader
    }
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.reader.frames()
    }
    /// Frame shape `(ny, nx)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.ny, self.nx)
    }
    /// True if the file is MRCZ (compressed).
    pub fn is_compressed(&self) -> bool {
        self.reader.codec().is_some()
    }

    /// Frames per batch: as many as fit in [`BATCH_BYTES`] (at least one).
    fn batch(&self, sample_bytes: usize) -> usize {
        let per_frame = (self.ny * self.nx * sample_bytes).max(1);
        (BATCH_BYTES / per_frame).clamp(1, self.frames().max(1))
    }

    /// Reads every frame in order and hands them to `sink` in batches, counting frames on
    /// `progress`.
    pub fn visit(&mut self, progress: &mut Progress, sink: &mut impl FrameSink) -> CmdResult {
        match self.kind {
            PixelKind::U8 => self.visit_as::<u8>(progress, sink),
            PixelKind::I8 => self.visit_as::<i8>(progress, sink),
            PixelKind::I16 => self.visit_as::<i16>(progress, sink),
            PixelKind::U16 => self.visit_as::<u16>(progress, sink),
            PixelKind::F32 => self.visit_as::<f32>(progress, sink),
            PixelKind::F16 => self.visit_f16(progress, sink),
            PixelKind::U4 => self.visit_u4(progress, sink),
        }
    }

    fn visit_as<T: Sample + Pixel>(
        &mut self,
        progress: &mut Progress,
        sink: &mut impl FrameSink,
    ) -> CmdResult {
        let (frames, n) = (self.frames(), self.ny * self.nx);
        let batch = self.batch(size_of::<T>());
        let mut buf: Vec<T> = vec![T::zeroed(); batch * n];
        let mut first = 0;
        while first < frames {
            let k = batch.min(frames - first);
            let data = &mut buf[..k * n];
            self.reader
                .read_frames(first..first + k, bytemuck::cast_slice_mut(data))
                .map_err(|e| Failure::at(&self.path, e))?;
            let view = StackView::new(data, k, self.ny, self.nx)
                .map_err(|e| Failure::at(&self.path, e))?;
            sink.frames(first, view)?;
            progress.inc(k as u64);
            first += k;
        }
        Ok(())
    }

    fn visit_f16(&mut self, progress: &mut Progress, sink: &mut impl FrameSink) -> CmdResult {
        let (frames, n) = (self.frames(), self.ny * self.nx);
        let batch = self.batch(6);
        let mut raw: Vec<f16> = vec![f16::ZERO; batch * n];
        let mut wide: Vec<f32> = vec![0.0; batch * n];
        let mut first = 0;
        while first < frames {
            let k = batch.min(frames - first);
            self.reader
                .read_frames(
                    first..first + k,
                    bytemuck::cast_slice_mut(&mut raw[..k * n]),
                )
                .map_err(|e| Failure::at(&self.path, e))?;
            wide[..k * n]
                .par_iter_mut()
                .zip(raw[..k * n].par_iter())
                .for_each(|(w, h)| *w = h.to_f32());
            let view = StackView::new(&wide[..k * n], k, self.ny, self.nx)
                .map_err(|e| Failure::at(&self.path, e))?;
            sink.frames(first, view)?;
            progress.inc(k as u64);
            first += k;
        }
        Ok(())
    }

    fn visit_u4(&mut self, progress: &mut Progress, sink: &mut impl FrameSink) -> CmdResult {
        let frames = self.frames();
        let packed_len = self.reader.frame_len();
        let batch = self.batch(2);
        let mut packed = vec![0u8; batch * packed_len];
        let mut first = 0;
        while first < frames {
            let k = batch.min(frames - first);
            let p = &mut packed[..k * packed_len];
            self.reader
                .read_frames(first..first + k, p)
                .map_err(|e| Failure::at(&self.path, e))?;
            let data = unpack_uint4(self.nx, p);
            let view = StackView::new(&data, k, self.ny, self.nx)
                .map_err(|e| Failure::at(&self.path, e))?;
            sink.frames(first, view)?;
            progress.inc(k as u64);
            first += k;
        }
        Ok(())
    }

    /// The unaligned sum of all frames (one pass).
    pub fn sum(&mut self, progress: &mut Progress) -> Result<FrameSum, Failure> {
        struct Summer(FrameSum, PathBuf);
        impl FrameSink for Summer {
            fn frames<T: Sample>(&mut self, _: usize, stack: StackView<'_, T>) -> CmdResult {
                self.0.add_stack(stack).map_err(|e| Failure::at(&self.1, e))
            }
        }
        let sum = FrameSum::new(self.ny, self.nx).map_err(|e| Failure::at(&self.path, e))?;
        let mut s = Summer(sum, self.path.clone());
        self.visit(progress, &mut s)?;
        Ok(s.0)
    }
}

/// Rotation of the gain reference, in degrees (MotionCor2 `-RotGain` × 90).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateArg {
    /// No rotation.
    #[value(name = "0")]
    R0,
    /// One quarter turn (MotionCor2 `-RotGain 1`).
    #[value(name = "90")]
    R90,
    /// Half a turn (`-RotGain 2`).
    #[value(name = "180")]
    R180,
    /// Three quarter turns (`-RotGain 3`).
    #[value(name = "270")]
    R270,
}

/// Flip of the gain reference after the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlipArg {
    /// Left-right: reverse each row (`np.fliplr`, MotionCor2 `-FlipGain 2`).
    X,
    /// Up-down: reverse the order of the rows (`np.flipud`, MotionCor2 `-FlipGain 1`).
    Y,
}

/// How `--gamma` was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GammaArg {
    /// A given exponent.
    Value(f64),
    /// The paper's power-linear γ(δ) at `--dose-rate`.
    Auto,
    /// Fitted on this movie's unaligned sum (flat-field movies only).
    Fit,
}

/// Parses `--gamma`: a number, `auto` or `fit`.
fn parse_gamma(s: &str) -> Result<GammaArg, String> {
    match s {
        "auto" => Ok(GammaArg::Auto),
        "fit" => Ok(GammaArg::Fit),
        _ => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(GammaArg::Value(v)),
            _ => Err("expected a positive number, `auto` or `fit`".into()),
        },
    }
}

/// Parses a positive, finite number.
fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("expected a positive number".into()),
    }
}

/// Gain and dark reference options shared by `correct`, `outliers` and `koma`.
#[derive(Debug, Clone, Args)]
pub struct GainArgs {
    /// Gain reference (MRC/MRCZ, one frame, any real mode): frames are multiplied by it
    /// (a Gatan-style multiplicative reference; see --gain-invert for flat fields). Pixels where
    /// it is 0, negative or not finite are defects and are filled from their neighbours.
    #[arg(long, value_name = "REF")]
    pub gain: Option<PathBuf>,
    /// Dark reference (MRC/MRCZ, one frame), subtracted from every frame before the gain; stored
    /// like the gain reference (same shape and orientation). Without --gain the gain is 1.
    #[arg(long, value_name = "REF")]
    pub dark: Option<PathBuf>,
    /// Rotate the references by this many degrees before use (MotionCor2 -RotGain / 90). The
    /// rotation comes first, then --gain-flip. 90 maps new[y][x] = old[ny-1-x][y]: clockwise as
    /// displayed with row 0 at the top (np.rot90(g, -1)), counter-clockwise in MRC's y-up view,
    /// as MotionCor2's help calls it.
    #[arg(long, value_enum, value_name = "DEGREES")]
    pub gain_rotate: Option<RotateArg>,
    /// Flip the references after the rotation: x = left-right (reverse each row, MotionCor2
    /// -FlipGain 2), y = up-down (reverse the row order, -FlipGain 1).
    #[arg(long, value_enum)]
    pub gain_flip: Option<FlipArg>,
    /// The reference is a flat field: divide by it instead of multiplying (MotionCor2 -InvGain).
    #[arg(long, requires = "gain")]
    pub gain_invert: bool,
    /// Exponent of the gain, gain^gamma (paper Eqn 9): a number; `auto` = the paper's
    /// power-linear gamma(dose rate), needs --dose-rate; `fit` = the gamma that makes this movie's
    /// unaligned sum flattest (for flat-field/vacuum movies only). Default 1.
    #[arg(long, value_parser = parse_gamma, requires = "gain", requires_if("auto", "dose_rate"),
          value_name = "VALUE|auto|fit")]
    pub gamma: Option<GammaArg>,
    /// Dose rate in electrons per physical pixel per second, for --gamma auto (clamped to the
    /// paper's fitted range 0.25..9).
    #[arg(long, value_parser = parse_positive, requires = "gamma", value_name = "E_PER_PIX_PER_S")]
    pub dose_rate: Option<f64>,
}

/// A reference image loaded from disk: `(pixels as f32, ny, nx)`.
pub struct Reference {
    /// Pixels, row-major.
    pub data: Vec<f32>,
    /// Rows.
    pub ny: usize,
    /// Columns.
    pub nx: usize,
}

impl Reference {
    /// Loads a one-frame reference of any real mode as `f32`. A file with several frames is
    /// refused (a reference is one image; average a stack first).
    pub fn load(path: &Path, what: &str) -> Result<Reference, Failure> {
        let mut r = Reader::open(path).map_err(|e| Failure::at(path, e))?;
        let h = r.header().clone();
        let (nx, ny) = (h.nx as usize, h.ny as usize);
        match r.frames() {
            1 => {}
            0 => {
                return Err(Failure::at(
                    path,
                    format!("the {what} reference has no image"),
                ));
            }
            n => {
                return Err(Failure::at(
                    path,
                    format!("the {what} reference has {n} frames; it must be a single image"),
                ));
            }
        }
        fn widen<T: Pixel>(
            r: &mut Reader<BufReader<File>>,
            n: usize,
            f: impl Fn(T) -> f32 + Sync + Send,
        ) -> mrcz::Result<Vec<f32>> {
            let mut v = vec![T::zeroed(); n];
            r.read_frame_as(0, &mut v)?;
            Ok(v.into_par_iter().map(f).collect())
        }
        let n = nx * ny;
        let data = match h.mode {
            Mode::Int8 => widen::<u8>(&mut r, n, f32::from),
            Mode::Int16 => widen::<i16>(&mut r, n, f32::from),
            Mode::Uint16 => widen::<u16>(&mut r, n, f32::from),
            Mode::Int32 => widen::<i32>(&mut r, n, |v| v as f32),
            Mode::Uint32 => widen::<u32>(&mut r, n, |v| v as f32),
            Mode::Float32 => widen::<f32>(&mut r, n, |v| v),
            Mode::Float16 => widen::<f16>(&mut r, n, f16::to_f32),
            Mode::Uint4 => {
                let mut p = vec![0u8; r.frame_len()];
                r.read_frame(0, &mut p)
                    .map(|()| unpack_uint4(nx, &p).into_iter().map(f32::from).collect())
            }
            m => {
                return Err(Failure::at(
                    path,
                    format!(
                        "the {what} reference is {} data; a real image is needed",
                        m.name()
                    ),
                ));
            }
        }
        .map_err(|e| Failure::at(path, e))?;
        Ok(Reference { data, ny, nx })
    }
}

/// What the gain options resolved to, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GainInfo {
    /// The gain reference, if any.
    pub gain: Option<PathBuf>,
    /// The dark reference, if any.
    pub dark: Option<PathBuf>,
    /// Orientation applied to the references (library name, e.g. `rot90`).
    pub orientation: &'static str,
    /// MotionCor2 `(-RotGain, -FlipGain)` equivalent.
    pub motioncor: (u32, u32),
    /// Divided by the reference.
    pub inverted: bool,
    /// Exponent applied.
    pub gamma: f64,
    /// How gamma was chosen: `one`, `value`, `dose_rate`, `fit`.
    pub gamma_source: &'static str,
    /// Defect pixels of the reference (0, negative or not finite).
    pub defects: usize,
}

/// The gain references loaded and checked against the movie shape, before gamma is settled.
pub struct LoadedGain {
    gain: Option<Reference>,
    dark: Option<Reference>,
    orientation: Orientation,
    args: GainArgs,
}

impl GainArgs {
    /// True if any reference is given.
    pub fn any(&self) -> bool {
        self.gain.is_some() || self.dark.is_some()
    }

    /// The requested orientation (identity when neither --gain-rotate nor --gain-flip is given).
    fn orientation(&self) -> Orientation {
        let rot = match self.gain_rotate {
            None | Some(RotateArg::R0) => 0,
            Some(RotateArg::R90) => 1,
            Some(RotateArg::R180) => 2,
            Some(RotateArg::R270) => 3,
        };
        let flip = match self.gain_flip {
            None => Flip::None,
            Some(FlipArg::X) => Flip::LeftRight,
            Some(FlipArg::Y) => Flip::UpDown,
        };
        Orientation::new(rot, flip)
    }

    /// Loads the references and checks that they fit movies of `shape` in the requested
    /// orientation, with one-line errors naming both shapes (and the options that would fit).
    pub fn load(&self, shape: (usize, usize)) -> Result<Option<LoadedGain>, Failure> {
        if self.dose_rate.is_some() && self.gamma != Some(GammaArg::Auto) {
            return Err(Failure::msg("--dose-rate is used only with --gamma auto"));
        }
        if !self.any() {
            return Ok(None);
        }
        let gain = match &self.gain {
            Some(p) => Some(Reference::load(p, "gain")?),
            None => None,
        };
        let dark = match &self.dark {
            Some(p) => Some(Reference::load(p, "dark")?),
            None => None,
        };
        if let (Some(g), Some(d), Some(dp)) = (&gain, &dark, &self.dark)
            && (g.ny, g.nx) != (d.ny, d.nx)
        {
            return Err(Failure::at(
                dp,
                format!(
                    "dark reference of shape (ny, nx) = ({}, {}) differs from the gain reference's ({}, {})",
                    d.ny, d.nx, g.ny, g.nx
                ),
            ));
        }
        let (reference, path) = match (&gain, &self.gain) {
            (Some(g), Some(p)) => (g, p),
            _ => match (&dark, &self.dark) {
                (Some(d), Some(p)) => (d, p),
                _ => return Ok(None),
            },
        };
        let o = self.orientation();
        let fits = fitting_orientations((reference.ny, reference.nx), shape).map_err(|_| {
            Failure::at(
                path,
                format!(
                    "reference of shape (ny, nx) = ({}, {}) fits the movie's ({}, {}) in no \
                         orientation (neither as is nor rotated by 90 degrees)",
                    reference.ny, reference.nx, shape.0, shape.1
                ),
            )
        })?;
        if !fits.contains(&o) {
            let hint = if o.swaps_axes() {
                "it fits without rotation: use --gain-rotate 0 or 180"
            } else {
                "it fits only with its axes swapped: pass --gain-rotate 90 or 270 (and \
                 --gain-flip if needed); the orientation is never guessed"
            };
            return Err(Failure::at(
                path,
                format!(
                    "reference of shape (ny, nx) = ({}, {}) does not fit the movie's ({}, {}) after \
                     {}; {hint}",
                    reference.ny,
                    reference.nx,
                    shape.0,
                    shape.1,
                    o.name()
                ),
            ));
        }
        Ok(Some(LoadedGain {
            gain,
            dark,
            orientation: o,
            args: self.clone(),
        }))
    }
}

impl LoadedGain {
    /// True if gamma must be fitted on the movie's sum (`--gamma fit`).
    pub fn needs_fit(&self) -> bool {
        self.args.gamma == Some(GammaArg::Fit)
    }

    /// A short description for output labels, e.g. `gain rot90 gamma 1.126, dark`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.gain.is_some() {
            let gamma = match self.args.gamma {
                None => "1".to_string(),
                Some(GammaArg::Value(v)) => format!("{v}"),
                Some(GammaArg::Auto) => match self.args.dose_rate.map(gamma_for_dose_rate) {
                    Some(Ok(g)) => format!("{g:.4}"),
                    _ => "auto".into(),
                },
                Some(GammaArg::Fit) => "fitted".into(),
            };
            s = format!(
                "gain {}{} gamma {gamma}",
                self.orientation.name(),
                if self.args.gain_invert {
                    " inverted"
                } else {
                    ""
                }
            );
        }
        if self.dark.is_some() {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str("dark");
        }
        s
    }

    fn build(&self, shape: (usize, usize), gamma: Gamma) -> Result<GainMap, Failure> {
        let ones;
        let (g, gpath) = match (&self.gain, &self.args.gain) {
            (Some(g), Some(p)) => (g, p.as_path()),
            _ => {
                // Dark alone: unit gain of the dark reference's shape.
                let d = self
                    .dark
                    .as_ref()
                    .ok_or_else(|| Failure::msg("no reference"))?;
                ones = Reference {
                    data: vec![1.0; d.data.len()],
                    ny: d.ny,
                    nx: d.nx,
                };
                let p = self.args.dark.as_deref().unwrap_or(Path::new("dark"));
                (&ones, p)
            }
        };
        let gv = ImageView::new(&g.data, g.ny, g.nx).map_err(|e| Failure::at(gpath, e))?;
        let dv = match &self.dark {
            Some(d) => {
                Some(ImageView::new(&d.data, d.ny, d.nx).map_err(|e| Failure::at(gpath, e))?)
            }
            None => None,
        };
        let opts = GainOptions {
            orientation: self.orientation,
            invert: self.args.gain_invert,
            gamma,
        };
        GainMap::new(gv, dv, shape.0, shape.1, &opts).map_err(|e| Failure::at(gpath, e))
    }

    /// The gain map for movies of `shape`; `sum` is needed only for `--gamma fit`.
    pub fn map(
        &self,
        shape: (usize, usize),
        sum: Option<&FrameSum>,
    ) -> Result<(GainMap, GainInfo), Failure> {
        let (gamma, source) = match self.args.gamma {
            None => (Gamma::One, "one"),
            Some(GammaArg::Value(v)) => (Gamma::Fixed(v), "value"),
            Some(GammaArg::Auto) => {
                let d = self
                    .args
                    .dose_rate
                    .ok_or_else(|| Failure::msg("--gamma auto needs --dose-rate"))?;
                (Gamma::DoseRate(d), "dose_rate")
            }
            Some(GammaArg::Fit) => {
                let sum = sum.ok_or_else(|| Failure::msg("--gamma fit needs the movie's sum"))?;
                let base = self.build(shape, Gamma::One)?;
                let fit = mrcz::filters::fit_gamma(sum, &base, &Default::default())
                    .map_err(Failure::msg)?;
                (Gamma::Fixed(fit.gamma), "fit")
            }
        };
        let map = self.build(shape, gamma)?;
        let info = GainInfo {
            gain: self.args.gain.clone(),
            dark: self.args.dark.clone(),
            orientation: self.orientation.name(),
            motioncor: self.orientation.motioncor_codes(),
            inverted: self.args.gain_invert,
            gamma: map.gamma(),
            gamma_source: source,
            defects: map.defects().len(),
        };
        Ok((map, info))
    }
}

/// Output codec names, `none` for plain MRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutCodec {
    /// Plain MRC2014 (no compression).
    None,
    /// Zstandard.
    Zstd,
    /// LZ4.
    Lz4,
    /// LZ4 high-compression request.
    Lz4hc,
    /// zlib.
    Zlib,
    /// BloscLZ.
    Blosclz,
}

/// Output options shared by `correct` and `koma`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write float16 (mode 12) instead of float32 (mode 2): half the size, about 3 significant
    /// digits (IMOD, RELION 4+ and MotionCor3 read it).
    #[arg(long)]
    pub float16: bool,
    /// Output codec; `none` writes plain MRC2014. Default: like the input, i.e. plain MRC from
    /// plain MRC input and zstd (byte shuffle, level 1) from MRCZ input.
    #[arg(long, value_enum)]
    pub codec: Option<OutCodec>,
    /// Compression level, 1 (fastest) to 9 (smallest).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=9))]
    pub level: u8,
    /// Shuffle filter before the codec (byte shuffle suits float output best).
    #[arg(long, value_enum, default_value_t = ShuffleArg::Byte)]
    pub shuffle: ShuffleArg,
}

impl OutputArgs {
    /// The output mode.
    pub fn mode(&self) -> Mode {
        if self.float16 {
            Mode::Float16
        } else {
            Mode::Float32
        }
    }

    /// The compression for an output whose input is (or is not) compressed.
    pub fn compression(&self, input_compressed: bool) -> Option<Compression> {
        let codec = match self.codec {
            None if input_compressed => CodecArg::Zstd,
            None | Some(OutCodec::None) => return None,
            Some(OutCodec::Zstd) => CodecArg::Zstd,
            Some(OutCodec::Lz4) => CodecArg::Lz4,
            Some(OutCodec::Lz4hc) => CodecArg::Lz4hc,
            Some(OutCodec::Zlib) => CodecArg::Zlib,
            Some(OutCodec::Blosclz) => CodecArg::Blosclz,
        };
        Some(Compression {
            codec: codec.into(),
            level: self.level,
            shuffle: self.shuffle.into(),
            block_size: None,
        })
    }

    /// Write options keeping the input's metadata, voxel size, voltage, C3, header gain, labels
    /// and other header fields, with `label` first.
    pub fn write_options(&self, movie: &Movie, label: &str) -> WriteOptions {
        let h = movie.header();
        let mut labels = vec![label.to_string()];
        labels.extend(
            h.labels_in_use()
                .into_iter()
                .filter(|l| !l.is_empty() && !l.starts_with("MRCZ") && !l.starts_with("mrcz-rs")),
        );
        WriteOptions {
            compression: self.compression(movie.is_compressed()),
            endian: mrcz::mrc::Endian::Little,
            metadata: movie.reader().metadata().clone(),
            voxel_size: h.voxel_size(),
            voltage: h.voltage,
            c3: h.c3,
            gain: h.gain,
            labels,
            template: Some(h.clone()),
            mz: None,
            in_flight: 0,
            direct_io: true,
        }
    }
}

/// Writes corrected frames as float32 or float16, filling the writer's recycled buffers.
pub struct FloatOut {
    /// The file being written.
    pub writer: FileWriter,
    float16: bool,
    scratch: Vec<f32>,
}

impl FloatOut {
    /// Wraps `writer` (whose mode must be float32 or float16 as `float16` says).
    pub fn new(writer: FileWriter, float16: bool) -> FloatOut {
        FloatOut {
            writer,
            float16,
            scratch: Vec::new(),
        }
    }

    /// Produces one frame with `fill` (which writes `f32` pixels into the slice it is given) and
    /// queues it for writing.
    pub fn frame(&mut self, fill: impl FnOnce(&mut [f32]) -> CmdResult) -> CmdResult {
        let mut buf = self.writer.frame_buffer();
        let path = self.writer.path().to_path_buf();
        if self.float16 {
            self.scratch.resize(buf.len() / 2, 0.0);
            fill(&mut self.scratch)?;
            to_f16_bytes(&self.scratch, &mut buf);
        } else {
            match bytemuck::try_cast_slice_mut::<u8, f32>(&mut buf) {
                Ok(dst) => fill(dst)?,
                Err(_) => {
                    self.scratch.resize(buf.len() / 4, 0.0);
                    fill(&mut self.scratch)?;
                    buf.copy_from_slice(bytemuck::cast_slice(&self.scratch));
                }
            }
        }
        self.writer
            .write_frame_vec(buf)
            .map_err(|e| Failure::at(&path, e))
    }
}

/// `f32` pixels to float16 bytes in the machine's order (the slice conversion uses F16C
/// vector instructions where the CPU has them; per-value conversion is several times slower).
fn to_f16_bytes(src: &[f32], dst: &mut [u8]) {
    const CHUNK: usize = 1 << 14;
    match bytemuck::try_cast_slice_mut::<u8, f16>(dst) {
        Ok(h) => h
            .par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(h, s)| h.convert_from_f32_slice(s)),
        Err(_) => dst
            .par_chunks_mut(2 * CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(d, s)| {
                let mut h = vec![f16::ZERO; s.len()];
                h.convert_from_f32_slice(s);
                d.copy_from_slice(bytemuck::cast_slice(&h));
            }),
    }
}

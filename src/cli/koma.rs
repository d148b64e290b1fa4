//! `mrcz koma`: the knock-out moving average over an ordered series of movies (paper §5.2).
//!
//! Each movie is first corrected like `mrcz correct` would (outlier filter unless
//! `--no-outliers`, gain and dark if given); then the fixed pattern estimated from the `2a`
//! neighbouring movies' mean images is removed from every frame, and the result is written as
//! float32/float16 under the same file name in OUTDIR.
//!
//! Streaming: every input is read twice, in order. The first read gives its unaligned sum, from
//! which its correction plan and its corrected mean image follow (the plan is affine per pixel,
//! so the mean of the corrected frames is the plan applied to the mean frame); the mean goes into
//! the library's [`KomaWindow`]. When the window of a movie is complete, that movie is read again,
//! corrected, knocked out and written. Memory: at most `2a+1` mean images, one `f64` window sum,
//! the pending movies' sparse plans and a few frames, whatever the movies' length.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;

use mrcz::filters::{
    CorrectionPlan, KomaCorrection, KomaMode, KomaWindow, OutlierParams, Sample, StackView,
    plan_correction,
};
use mrcz::mrcz::Writer;

use super::correct::{label, same_file};
use super::movie::{FloatOut, FrameSink, GainArgs, OutputArgs, ReadArgs};
use super::progress::Progress;
use super::{CmdResult, Failure};

/// Arguments of `mrcz koma`.
#[derive(Debug, Args)]
pub struct KomaArgs {
    /// Folder for the outputs (created if missing); each output has its input's file name. It
    /// must not be where an input lives (no input is ever overwritten).
    outdir: PathBuf,
    /// Input movies in acquisition order (at least 2 x radius + 1, all of the same frame shape).
    #[arg(required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// KOMA radius a: each movie is corrected with the mean of its 2a neighbours (shifted, not
    /// shortened, at the ends of the series).
    #[arg(long, short = 'a', value_parser = clap::value_parser!(u32).range(1..))]
    radius: u32,
    /// How the estimated pattern is removed.
    #[arg(long, value_enum, default_value_t = KomaModeArg::Subtract)]
    koma_mode: KomaModeArg,
    #[command(flatten)]
    gain: GainArgs,
    /// Skip the hot/dead pixel filter before KOMA (on by default).
    #[arg(long)]
    no_outliers: bool,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    read: ReadArgs,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar and no summary lines.
    #[arg(long, short)]
    quiet: bool,
}

/// KOMA correction modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KomaModeArg {
    /// Subtract the zero-mean pattern scaled to the movie's dose (the paper's form).
    Subtract,
    /// Multiply by mean(K)/K.
    Divide,
}

/// Corrects frames with a movie's plan, then its KOMA map.
struct KomaApply<'a> {
    plan: Option<&'a CorrectionPlan>,
    koma: &'a KomaCorrection,
    out: &'a mut FloatOut,
}

impl FrameSink for KomaApply<'_> {
    fn frames<T: Sample>(&mut self, _: usize, stack: StackView<'_, T>) -> CmdResult {
        let path = self.out.writer.path().to_path_buf();
        let (plan, koma) = (self.plan, self.koma);
        for f in stack.iter_frames() {
            self.out.frame(|dst| {
                match plan {
                    Some(p) => p.apply_frame(f, dst).map_err(|e| Failure::at(&path, e))?,
                    None => dst.iter_mut().zip(f).for_each(|(d, &v)| *d = v.to_f32()),
                }
                koma.apply_in_place(dst).map_err(|e| Failure::at(&path, e))
            })?;
        }
        Ok(())
    }
}

/// What was found about one input before correcting it.
struct Pending {
    plan: Option<CorrectionPlan>,
    hot: Option<usize>,
    dead: Option<usize>,
}

/// Runs `mrcz koma`.
pub fn run(a: KomaArgs) -> CmdResult {
    a.read.threads.start()?;
    let start = Instant::now();
    let radius = a.radius as usize;
    let total = a.inputs.len();
    let need = radius.saturating_mul(2).saturating_add(1);
    if total < need {
        return Err(Failure::msg(format!(
            "koma --radius {radius} needs at least {need} input movies (2 x radius + 1), got {total}"
        )));
    }
    // Headers first: shapes, frame counts, and output names, before any long pass.
    let mut frames = Vec::with_capacity(total);
    let mut shape = (0, 0);
    for (i, p) in a.inputs.iter().enumerate() {
        let m = a.read.open(p)?;
        if i == 0 {
            shape = m.shape();
        } else if m.shape() != shape {
            return Err(Failure::at(
                p,
                format!(
                    "frames of shape (ny, nx) = {:?} differ from the first input's {:?} ({}); \
                     KOMA needs one frame shape",
                    m.shape(),
                    shape,
                    a.inputs[0].display()
                ),
            ));
        }
        frames.push(m.frames());
    }
    let outputs = output_paths(&a.outdir, &a.inputs)?;
    if a.gain.gamma == Some(super::movie::GammaArg::Fit) {
        return Err(Failure::msg(
            "--gamma fit is not available with koma (fit it on a flat field with mrcz correct)",
        ));
    }
    let loaded = a.gain.load(shape)?;
    let gain = match &loaded {
        Some(l) => Some(l.map(shape, None)?),
        None => None,
    };
    let outliers = !a.no_outliers;
    let (ny, nx) = shape;
    let mode = match a.koma_mode {
        KomaModeArg::Subtract => KomaMode::Subtract,
        KomaModeArg::Divide => KomaMode::Divide,
    };
    let mut window = KomaWindow::new(total, radius, ny * nx, mode).map_err(Failure::msg)?;
    let label = format!(
        "{}, KOMA a={radius}",
        label("koma", outliers, loaded.as_ref())
    );

    let all: u64 = frames.iter().map(|&f| f as u64).sum();
    let mut progress = Progress::new("koma", 2 * all, a.quiet || a.json);
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut done = Vec::with_capacity(total);
    for (s, input) in a.inputs.iter().enumerate() {
        let mut movie = a.read.open(input)?;
        let sum = movie.sum(&mut progress)?;
        let (plan, hot, dead) = if outliers {
            let (p, r) =
                plan_correction(&sum, gain.as_ref().map(|g| &g.0), &OutlierParams::robust())
                    .map_err(|e| Failure::at(input, e))?;
            (Some(p), Some(r.hot), Some(r.dead))
        } else {
            (gain.as_ref().map(|g| g.0.plan()), None, None)
        };
        let raw_mean = sum.mean_frame();
        drop(sum);
        let mean = match &plan {
            Some(p) => {
                let mut m = vec![0.0f32; ny * nx];
                p.apply_frame(&raw_mean, &mut m)
                    .map_err(|e| Failure::at(input, e))?;
                m
            }
            None => raw_mean,
        };
        window.push_mean(mean).map_err(|e| Failure::at(input, e))?;
        pending.push_back(Pending { plan, hot, dead });
        debug_assert_eq!(window.received(), s + 1);
        while let Some(c) = window.pop() {
            let p = pending
                .pop_front()
                .ok_or_else(|| Failure::msg("KOMA: a correction without its movie"))?;
            let k = c.stack;
            let (input, output) = (&a.inputs[k], &outputs[k]);
            let mut movie = a.read.open(input)?;
            let wopts = a.out.write_options(&movie, &label);
            let codec = wopts.compression.map(|c| c.codec.name());
            let writer = Writer::create(output, nx, ny, a.out.mode(), &wopts)
                .map_err(|e| Failure::at(output, e))?;
            let mut out = FloatOut::new(writer, a.out.float16);
            movie.visit(
                &mut progress,
                &mut KomaApply {
                    plan: p.plan.as_ref(),
                    koma: &c,
                    out: &mut out,
                },
            )?;
            let summary = out.writer.finish().map_err(|e| Failure::at(output, e))?;
            done.push(json!({
                "input": input,
                "output": output,
                "frames": summary.frames,
                "window_start": c.window_start,
                "codec": codec,
                "file_bytes": summary.file_bytes,
                "hot": p.hot,
                "dead": p.dead,
            }));
            window.recycle(c);
        }
    }
    progress.finish();
    if done.len() != total {
        return Err(Failure::msg(format!(
            "KOMA produced {} of {total} movies",
            done.len()
        )));
    }
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        outln!(
            "{}",
            json!({
                "outdir": a.outdir,
                "radius": radius,
                "mode": format!("{mode:?}").to_lowercase(),
                "outliers": outliers,
                "gain": gain.as_ref().map(|g| &g.1),
                "seconds": secs,
                "stacks": done,
            })
        )?;
    } else if !a.quiet {
        outln!(
            "koma a={radius}: {total} movies -> {}, {secs:.2} s",
            a.outdir.display()
        )?;
    }
    Ok(())
}

/// `OUTDIR/<input file name>` for every input, after creating OUTDIR; fails on inputs without a
/// file name, on two inputs with the same name and on an output that is an input.
fn output_paths(outdir: &Path, inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut names = HashSet::new();
    let mut outs = Vec::with_capacity(inputs.len());
    for p in inputs {
        let name = p
            .file_name()
            .ok_or_else(|| Failure::at(p, "not a file name"))?;
        if !names.insert(name.to_os_string()) {
            return Err(Failure::at(
                p,
                "two inputs have this file name; their outputs in OUTDIR would collide",
            ));
        }
        outs.push(outdir.join(name));
    }
    if outdir.exists() && !outdir.is_dir() {
        return Err(Failure::at(outdir, "exists and is not a folder"));
    }
    std::fs::create_dir_all(outdir).map_err(|e| Failure::at(outdir, e))?;
    for out in &outs {
        if let Some(p) = inputs.iter().find(|p| same_file(p, out)) {
            return Err(Failure::at(
                out,
                format!(
                    "the output would overwrite the input {}; choose another OUTDIR",
                    p.display()
                ),
            ));
        }
    }
    Ok(outs)
}

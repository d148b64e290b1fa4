//! `mrcz correct`: outlier-pixel filter, gain (and dark) normalisation and an optional dose-rate
//! gamma, from an 8/16-bit movie to float32 or float16, streamed frame by frame.
//!
//! The movie is read twice: once for the unaligned sum (statistics, outlier thresholds, per-pixel
//! weights; `--gamma fit`), once to correct and write each frame. Only a few frames, the sum and
//! the per-pixel maps are in memory at any time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::json;

use mrcz::filters::{
    CorrectionPlan, OutlierParams, OutlierReport, Sample, StackView, plan_correction,
};
use mrcz::mrcz::{Summary, Writer};

use super::movie::{FloatOut, FrameSink, GainArgs, GainInfo, LoadedGain, OutputArgs, ReadArgs};
use super::progress::Progress;
use super::{CmdResult, Failure, output_path};

/// Arguments of `mrcz correct`.
#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// Input movie: MRC or MRCZ, 8-bit (mode 0, read as unsigned counts), 16-bit (modes 1, 6),
    /// 4-bit (101) or float (2, 12).
    input: PathBuf,
    /// Output movie, float32 (mode 2) or float16 (mode 12), same frame count, voxel size,
    /// voltage, metadata and labels as the input (written atomically: nothing appears here if
    /// anything fails).
    #[arg(value_parser = output_path)]
    output: PathBuf,
    #[command(flatten)]
    gain: GainArgs,
    /// Skip the hot/dead pixel filter (on by default).
    #[arg(long)]
    no_outliers: bool,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    read: ReadArgs,
    /// Print a JSON summary on stdout (with the outlier report).
    #[arg(long)]
    json: bool,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    quiet: bool,
}

/// The same file (after resolving links), if both exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Applies a plan (or just widens to `f32` when there is nothing to correct) frame by frame.
pub struct Apply<'a> {
    /// The correction, `None` for a plain conversion.
    pub plan: Option<&'a CorrectionPlan>,
    /// Where the frames go.
    pub out: &'a mut FloatOut,
}

impl FrameSink for Apply<'_> {
    fn frames<T: Sample>(&mut self, _first: usize, stack: StackView<'_, T>) -> CmdResult {
        let path = self.out.writer.path().to_path_buf();
        for f in stack.iter_frames() {
            let plan = self.plan;
            self.out.frame(|dst| match plan {
                Some(p) => p.apply_frame(f, dst).map_err(|e| Failure::at(&path, e)),
                None => {
                    dst.iter_mut().zip(f).for_each(|(d, &v)| *d = v.to_f32());
                    Ok(())
                }
            })?;
        }
        Ok(())
    }
}

/// A short label for the output header, e.g. `mrcz correct: outliers, gain rot90 gamma 1.000`.
pub fn label(verb: &str, outliers: bool, gain: Option<&LoadedGain>) -> String {
    let mut parts = Vec::new();
    if outliers {
        parts.push("outliers".to_string());
    }
    if let Some(g) = gain {
        parts.push(g.describe());
    }
    if parts.is_empty() {
        parts.push("float conversion".into());
    }
    format!("mrcz {verb}: {}", parts.join(", "))
}

/// Runs `mrcz correct`.
pub fn run(a: CorrectArgs) -> CmdResult {
    a.read.threads.start()?;
    let start = Instant::now();
    let mut movie = a.read.open(&a.input)?;
    if same_file(&a.input, &a.output) {
        return Err(Failure::at(
            &a.output,
            "the output would replace the input movie",
        ));
    }
    let shape = movie.shape();
    let loaded = a.gain.load(shape)?;
    let outliers = !a.no_outliers;
    let need_sum = outliers || loaded.as_ref().is_some_and(|g| g.needs_fit());

    // Open the output first, so an unwritable destination fails before the long passes.
    let wopts = a
        .out
        .write_options(&movie, &label("correct", outliers, loaded.as_ref()));
    let codec = wopts.compression.map(|c| c.codec.name());
    let writer = Writer::create(&a.output, shape.1, shape.0, a.out.mode(), &wopts)
        .map_err(|e| Failure::at(&a.output, e))?;
    let mut out = FloatOut::new(writer, a.out.float16);

    let frames = movie.frames() as u64;
    let passes = if need_sum { 2 } else { 1 };
    let mut progress = Progress::new("correct", passes * frames, a.quiet || a.json);
    let sum = if need_sum {
        Some(movie.sum(&mut progress)?)
    } else {
        None
    };
    let gain = match &loaded {
        Some(l) => Some(l.map(shape, sum.as_ref())?),
        None => None,
    };
    let (plan, report): (Option<CorrectionPlan>, Option<OutlierReport>) = match (&sum, outliers) {
        (Some(s), true) => {
            let (p, r) = plan_correction(s, gain.as_ref().map(|g| &g.0), &OutlierParams::robust())
                .map_err(|e| Failure::at(&a.input, e))?;
            (Some(p), Some(r))
        }
        _ => (gain.as_ref().map(|g| g.0.plan()), None),
    };
    drop(sum);
    movie.visit(
        &mut progress,
        &mut Apply {
            plan: plan.as_ref(),
            out: &mut out,
        },
    )?;
    let summary = out.writer.finish().map_err(|e| Failure::at(&a.output, e))?;
    progress.finish();
    report_done(
        &a,
        &summary,
        codec,
        report.as_ref(),
        gain.as_ref().map(|g| &g.1),
        start,
    )
}

fn report_done(
    a: &CorrectArgs,
    s: &Summary,
    codec: Option<&str>,
    report: Option<&OutlierReport>,
    gain: Option<&GainInfo>,
    start: Instant,
) -> CmdResult {
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        let v = json!({
            "input": a.input,
            "output": a.output,
            "frames": s.frames,
            "nx": s.header.nx,
            "ny": s.header.ny,
            "mode": s.header.mode.name(),
            "codec": codec,
            "raw_bytes": s.raw_bytes,
            "file_bytes": s.file_bytes,
            "seconds": secs,
            "outliers": report,
            "gain": gain,
        });
        outln!("{v}")?;
    } else if !a.quiet {
        let mut what = Vec::new();
        if let Some(r) = report {
            what.push(format!("{} hot, {} dead pixels", r.hot, r.dead));
        }
        if let Some(g) = gain {
            what.push(format!(
                "gain {} gamma {:.3} ({} defects)",
                g.orientation, g.gamma, g.defects
            ));
        }
        if what.is_empty() {
            what.push("converted only".into());
        }
        outln!(
            "{} -> {}: {} frames, {}; {} ({:.1} MB), {secs:.2} s",
            a.input.display(),
            a.output.display(),
            s.frames,
            what.join(", "),
            s.header.mode.name(),
            s.file_bytes as f64 / 1e6,
        )?;
    }
    Ok(())
}

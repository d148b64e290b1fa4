//! `mrcz noise`: the correlated-noise metric, the mean Pearson coefficient over all pairs of
//! frames of a movie, streamed in one pass (one `f64` image in memory).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use mrcz::filters::{PearsonAccumulator, Sample, StackView};

use super::movie::{FrameSink, ReadArgs};
use super::progress::Progress;
use super::{CmdResult, Failure};

/// Arguments of `mrcz noise`.
#[derive(Debug, Args)]
pub struct NoiseArgs {
    /// Input movie (MRC or MRCZ; 8-bit, 16-bit, 4-bit or float frames).
    input: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
    /// Print `{"input", "pearson", "frames", "used_frames", "pairs", "pixels"}` on stdout
    /// (`pearson` is null with fewer than two usable frames).
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

struct Acc(PearsonAccumulator);

impl FrameSink for Acc {
    fn frames<T: Sample>(&mut self, _: usize, stack: StackView<'_, T>) -> CmdResult {
        for f in stack.iter_frames() {
            self.0.add_frame(f).map_err(Failure::msg)?;
        }
        Ok(())
    }
}

/// Runs `mrcz noise`.
pub fn run(a: NoiseArgs) -> CmdResult {
    a.read.threads.start()?;
    let mut movie = a.read.open(&a.input)?;
    let (ny, nx) = movie.shape();
    let mut acc = Acc(PearsonAccumulator::new(ny * nx).map_err(|e| Failure::at(&a.input, e))?);
    let mut progress = Progress::new("noise", movie.frames() as u64, a.quiet || a.json);
    movie.visit(&mut progress, &mut acc)?;
    progress.finish();
    let r = acc.0.finish();
    if a.json {
        outln!(
            "{}",
            json!({
                "input": a.input,
                "pearson": r.pearson,
                "frames": r.frames,
                "used_frames": r.used_frames,
                "pairs": r.pairs,
                "pixels": r.pixels,
            })
        )?;
    } else {
        match r.pearson {
            Some(p) => outln!(
                "{}: mean inter-frame Pearson {p:.6} over {} pairs of {} frames ({} x {})",
                a.input.display(),
                r.pairs,
                r.used_frames,
                nx,
                ny
            )?,
            None => outln!(
                "{}: undefined (fewer than two non-constant frames among {})",
                a.input.display(),
                r.frames
            )?,
        }
    }
    Ok(())
}

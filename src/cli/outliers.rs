//! `mrcz outliers`: hot/dead pixel detection only (the outlier filter's statistics and counts),
//! one pass over the movie, no output file.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use mrcz::filters::{OutlierParams, plan_correction};

use super::movie::{GainArgs, ReadArgs};
use super::progress::Progress;
use super::{CmdResult, Failure};

/// Arguments of `mrcz outliers`.
#[derive(Debug, Args)]
pub struct OutliersArgs {
    /// Input movie (MRC or MRCZ; 8-bit, 16-bit, 4-bit or float frames).
    input: PathBuf,
    #[command(flatten)]
    gain: GainArgs,
    #[command(flatten)]
    read: ReadArgs,
    /// Print the report as JSON on stdout: `input`, then the outlier report's fields (`mu`,
    /// `sigma`, `t_dark`, `t_hot`, `hot`, `dead`, ...), then `gain`.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `mrcz outliers`.
pub fn run(a: OutliersArgs) -> CmdResult {
    a.read.threads.start()?;
    let mut movie = a.read.open(&a.input)?;
    let shape = movie.shape();
    let loaded = a.gain.load(shape)?;
    let mut progress = Progress::new("outliers", movie.frames() as u64, a.quiet || a.json);
    let sum = movie.sum(&mut progress)?;
    progress.finish();
    let gain = match &loaded {
        Some(l) => Some(l.map(shape, Some(&sum))?),
        None => None,
    };
    let (_, r) = plan_correction(&sum, gain.as_ref().map(|g| &g.0), &OutlierParams::robust())
        .map_err(|e| Failure::at(&a.input, e))?;
    if a.json {
        let mut m = Map::new();
        m.insert("input".into(), json!(a.input));
        if let Ok(Value::Object(fields)) = serde_json::to_value(&r) {
            m.extend(fields);
        }
        m.insert("gain".into(), json!(gain.as_ref().map(|g| &g.1)));
        outln!("{}", Value::Object(m))?;
        return Ok(());
    }
    let src = |s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
    };
    outln!(
        "{}: {} frames of {} x {} (nx x ny)",
        a.input.display(),
        r.frames,
        r.nx,
        r.ny
    )?;
    outln!(
        "  sum: mean {:.3}, fit mu {:.3}, sigma {:.3}{}; per frame {:.4} +- {:.4}",
        r.sum_mean,
        r.mu,
        r.sigma,
        if r.fitted {
            ""
        } else {
            " (not fitted: degenerate sum)"
        },
        r.frame_mean,
        r.frame_std
    )?;
    outln!(
        "  thresholds (sigma): dark {:.3} ({}), hot {:.3} ({}); relaxed by {}",
        r.t_dark,
        src(r.t_dark_source).unwrap_or_default(),
        r.t_hot,
        src(r.t_hot_source).unwrap_or_default(),
        r.relax
    )?;
    outln!(
        "  hot {}, dead {}, flagged {}, neighbourly {}, modified {}, defects {}",
        r.hot,
        r.dead,
        r.flagged,
        r.neighbourly,
        r.modified,
        r.defects
    )?;
    if let Some((_, g)) = &gain {
        outln!(
            "  gain: {} gamma {:.4} ({}), {} defect pixels",
            g.orientation,
            g.gamma,
            g.gamma_source,
            g.defects
        )?;
    }
    Ok(())
}

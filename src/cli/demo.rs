//! `mrcz demo`: the main job on built-in synthetic data.
//!
//! Writes a synthetic dose-fractionated 8-bit counting movie into a temporary folder, plain and
//! as MRCZ with each codec, reads every file back, checks the pixels are bit-exact, and prints
//! size, ratio and MB/s per codec.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use mrcz::blosc::Shuffle;
use mrcz::codec::Codec;
use mrcz::mrc::{Metadata, Mode};
use mrcz::mrcz::{Compression, Reader, WriteOptions, Writer};
use mrcz::synthetic::counting_frame;

use super::{CmdResult, Failure, ThreadArgs};

/// Arguments of `mrcz demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Frames in the movie.
    #[arg(long, default_value_t = 20)]
    frames: usize,
    /// Frame width and height in pixels.
    #[arg(long, default_value_t = 2048)]
    size: usize,
    /// Mean electrons per pixel per frame.
    #[arg(long, default_value_t = 1.0)]
    dose: f64,
    #[command(flatten)]
    threads: ThreadArgs,
    /// Keep the files (in this folder) instead of a temporary folder that is removed.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Print one JSON object per file on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `mrcz demo`.
pub fn run(a: DemoArgs) -> CmdResult {
    a.threads.start()?;
    if a.size == 0 || a.frames == 0 {
        return Err(Failure::msg("--size and --frames must be positive"));
    }
    let dir = match &a.keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("mrcz-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Failure::at(&dir, e))?;
    let result = demo_in(&a, &dir);
    if a.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn demo_in(a: &DemoArgs, dir: &std::path::Path) -> CmdResult {
    let n = a.size;
    let frame_len = n * n;
    let mut movie = vec![0u8; frame_len * a.frames];
    movie
        .chunks_mut(frame_len)
        .enumerate()
        .for_each(|(i, f)| counting_frame(n, n, a.dose, 2024, i as u64, f));
    let raw_mb = movie.len() as f64 / 1e6;
    if !a.json {
        outln!(
            "Synthetic counting movie: {} frames of {n}x{n} 8-bit pixels, {:.2} e/pixel/frame, {raw_mb:.1} MB, in {}",
            a.frames,
            a.dose,
            dir.display()
        )?;
        outln!(
            "{:<8} {:>10} {:>7} {:>11} {:>11}  bit-exact",
            "codec",
            "size MB",
            "ratio",
            "write MB/s",
            "read MB/s"
        )?;
    }
    let metadata = Metadata::json(serde_json::json!({
        "source": "mrcz demo",
        "dose_per_frame": a.dose,
        "frames": a.frames,
    }));
    let cases: Vec<(&str, Option<Compression>)> = std::iter::once(("none", None))
        .chain(
            [Codec::Zstd, Codec::Lz4, Codec::Zlib, Codec::BloscLz]
                .into_iter()
                .map(|c| {
                    (
                        c.name(),
                        Some(Compression {
                            codec: c,
                            level: 1,
                            shuffle: Shuffle::Bit,
                            block_size: None,
                        }),
                    )
                }),
        )
        .collect();
    for (name, compression) in cases {
        let path = dir.join(format!(
            "movie-{name}.mrc{}",
            if compression.is_some() { "z" } else { "" }
        ));
        let options = WriteOptions {
            compression,
            metadata: metadata.clone(),
            voxel_size: [1.2, 1.2, 1.2],
            voltage: 300.0,
            ..WriteOptions::default()
        };
        let t = Instant::now();
        let mut w =
            Writer::create(&path, n, n, Mode::Int8, &options).map_err(|e| Failure::at(&path, e))?;
        w.write_frames(&movie).map_err(|e| Failure::at(&path, e))?;
        let summary = w.finish().map_err(|e| Failure::at(&path, e))?;
        let write_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut r = Reader::open(&path).map_err(|e| Failure::at(&path, e))?;
        let back: Vec<u8> = r.read_all().map_err(|e| Failure::at(&path, e))?;
        let read_s = t.elapsed().as_secs_f64();
        let exact = back == movie;

        let size_mb = summary.file_bytes as f64 / 1e6;
        let ratio = movie.len() as f64 / summary.file_bytes as f64;
        if a.json {
            outln!(
                "{}",
                serde_json::json!({"codec": name, "file_bytes": summary.file_bytes, "ratio": ratio,
                    "write_mb_per_s": raw_mb / write_s, "read_mb_per_s": raw_mb / read_s, "exact": exact})
            )?;
        } else {
            outln!(
                "{name:<8} {size_mb:>10.2} {ratio:>7.2} {:>11.0} {:>11.0}  {}",
                raw_mb / write_s,
                raw_mb / read_s,
                if exact { "yes" } else { "NO" }
            )?;
        }
        if !exact {
            return Err(Failure::at(
                &path,
                "pixels read back differ from those written",
            ));
        }
    }
    Ok(())
}

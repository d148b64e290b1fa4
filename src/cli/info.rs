//! `mrcz info`: what a file holds, for people or (with `--json`) for scripts.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use mrcz::mrc::{Endian, Metadata};
use mrcz::mrcz::Reader;

use super::{CmdResult, Failure};

/// Arguments of `mrcz info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The MRC or MRCZ file.
    file: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `mrcz info`.
pub fn run(a: InfoArgs) -> CmdResult {
    let reader = Reader::open(&a.file).map_err(|e| Failure::at(&a.file, e))?;
    let file_bytes = std::fs::metadata(&a.file)
        .map_err(|e| Failure::at(&a.file, e))?
        .len();
    let v = describe(&reader, file_bytes);
    if a.json {
        outln!("{v}")?;
    } else {
        print_human(&a.file, &v)?;
    }
    Ok(())
}

/// The JSON description of an open file (also the data behind the human output).
pub fn describe<R: std::io::Read + std::io::Seek>(r: &Reader<R>, file_bytes: u64) -> Value {
    let h = r.header();
    let metadata = match r.metadata() {
        Metadata::Json { value, .. } | Metadata::MessagePack { value, .. } => value.clone(),
        _ => Value::Null,
    };
    let raw = r.frame_len() as u64 * r.frames() as u64;
    let labels = h.labels_in_use();
    json!({
        "nx": h.nx,
        "ny": h.ny,
        "nz": h.nz,
        "mode": h.mode.code(),
        "mode_word": h.mode.code() + 1000 * h.compressor_id as i32,
        "dtype": h.mode.name(),
        "codec": r.codec().map(|c| c.name()),
        "blosc_format": r.chunk_version(),
        "endian": match h.endian { Endian::Little => "little", Endian::Big => "big" },
        "frames": r.frames(),
        "packed_bytes": r.packed_len(),
        "raw_bytes": raw,
        "file_bytes": file_bytes,
        "ratio": if r.packed_len() > 0 { raw as f64 / r.packed_len() as f64 } else { 1.0 },
        "voxel_size": h.voxel_size(),
        "origin": h.origin,
        "min": h.dmin,
        "max": h.dmax,
        "mean": h.dmean,
        "rms": h.rms,
        "voltage": h.voltage,
        "c3": h.c3,
        "gain": h.gain,
        "mrcz_version": h.mrcz_version().map(|(a, b, c)| format!("{a}.{b}.{c}")),
        "exttyp": String::from_utf8_lossy(&h.exttyp).trim_end_matches('\0').to_string(),
        "extended_header_bytes": h.nsymbt,
        "labels": labels,
        "metadata": metadata,
        "warnings": r.warnings(),
    })
}

fn print_human(path: &std::path::Path, v: &Value) -> CmdResult {
    outln!("{}", path.display())?;
    let order = [
        "nx",
        "ny",
        "nz",
        "dtype",
        "mode_word",
        "codec",
        "blosc_format",
        "endian",
        "frames",
        "raw_bytes",
        "packed_bytes",
        "file_bytes",
        "ratio",
        "voxel_size",
        "min",
        "max",
        "mean",
        "rms",
        "voltage",
        "c3",
        "gain",
        "mrcz_version",
        "exttyp",
        "labels",
    ];
    for k in order {
        let val = &v[k];
        let text = match val {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            Value::Number(n) if k == "ratio" => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
            other => other.to_string(),
        };
        outln!("  {k:<14} {text}")?;
    }
    if !v["metadata"].is_null() {
        outln!("  {:<14} {}", "metadata", v["metadata"])?;
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        outln!("  warning        {}", w.as_str().unwrap_or_default())?;
    }
    Ok(())
}

//! `mrcz validate`: mrcfile's checks plus the MRCZ container checks, for people or scripts.
//!
//! Output: for each problem that makes a file invalid, one line `FILE: problem` on stdout; notes
//! (python-mrcz quirks and other legal oddities) go to stderr as `mrcz: note: FILE: ...` unless
//! `--quiet`. With `--json`, one JSON object per file on stdout (notes included, with their
//! severity). Exit status 0 when every file is valid, 1 otherwise.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use mrcz::mrcz::{ValidateOptions, validate_file};

use super::{CmdResult, Failure};

/// Arguments of `mrcz validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The MRC or MRCZ files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also decode every frame: proves every chunk decodes and checks DMIN, DMAX, DMEAN and RMS
    /// against the data (mrcfile's check 10).
    #[arg(long)]
    deep: bool,
    /// Print one JSON object per file on stdout:
    /// {"file", "valid", "problems": [{"check", "severity", "message"}], ...}.
    #[arg(long)]
    json: bool,
    /// Do not print notes.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `mrcz validate`.
pub fn run(a: ValidateArgs) -> CmdResult {
    let options = ValidateOptions {
        deep: a.deep,
        ..ValidateOptions::default()
    };
    let mut invalid = 0usize;
    for file in &a.files {
        let report = match validate_file(file, &options) {
            Ok(r) => r,
            Err(e) => {
                invalid += 1;
                let message = format!("cannot be read: {e}").replace('\n', " ");
                if a.json {
                    let v = json!({
                        "file": file,
                        "valid": false,
                        "problems": [{"check": "io", "severity": "invalid", "message": message}],
                    });
                    println!("{v}");
                } else {
                    println!("{}: {message}", file.display());
                }
                continue;
            }
        };
        if !report.is_valid() {
            invalid += 1;
        }
        if a.json {
            println!("{}", report.to_json(file));
            continue;
        }
        for p in report.problems() {
            println!("{}: {}", file.display(), p.to_string().replace('\n', " "));
        }
        if !a.quiet {
            for n in report.notes() {
                eprintln!(
                    "mrcz: {}: {}",
                    file.display(),
                    n.to_string().replace('\n', " ")
                );
            }
        }
    }
    match invalid {
        0 => Ok(()),
        n => Err(Failure::msg(format!(
            "{n} of {} files invalid",
            a.files.len()
        ))),
    }
}

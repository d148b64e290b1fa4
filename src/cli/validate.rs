//! `mrcz validate`: mrcfile's checks plus the MRCZ container checks, for people or scripts.
//!
//! Output: for each problem that makes a file invalid, one line `FILE: problem` on stdout; notes
//! (python-mrcz quirks and other legal oddities) go to stderr as `mrcz: note: FILE: ...` unless
//! `--quiet`. With `--json`, one JSON object per file on stdout (notes included, with their
//! severity). Exit status 0 when every file is valid, 1 otherwise. If stdout is closed early
//! (`mrcz validate *.mrc | head -1`), the files after it are not checked and the status says
//! whether an invalid one was seen so far.

use std::path::{Path, PathBuf};

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
    for (k, file) in a.files.iter().enumerate() {
        match check(&a, &options, file, &mut invalid) {
            Ok(()) => {}
            // The reader of stdout went away: stop, but keep the status honest about what was
            // found so far (an invalid file is still exit 1, said on stderr).
            Err(f) if f.is_stdout_closed() && invalid > 0 => {
                let (seen, left) = (k + 1, a.files.len() - k - 1);
                return Err(Failure::msg(format!(
                    "{invalid} of the first {seen} files invalid (standard output closed, {left} not checked)"
                )));
            }
            Err(f) => return Err(f),
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

/// Validates one file, counts it in `invalid` if it is, then prints its problems (stdout) and
/// notes (stderr).
fn check(
    a: &ValidateArgs,
    options: &ValidateOptions,
    file: &Path,
    invalid: &mut usize,
) -> CmdResult {
    let report = match validate_file(file, options) {
        Ok(r) => r,
        Err(e) => {
            *invalid += 1;
            let message = format!("cannot be read: {e}").replace('\n', " ");
            if a.json {
                let v = json!({
                    "file": file,
                    "valid": false,
                    "problems": [{"check": "io", "severity": "invalid", "message": message}],
                });
                outln!("{v}")?;
            } else {
                outln!("{}: {message}", file.display())?;
            }
            return Ok(());
        }
    };
    *invalid += usize::from(!report.is_valid());
    if a.json {
        return outln!("{}", report.to_json(file));
    }
    for p in report.problems() {
        outln!("{}: {}", file.display(), p.to_string().replace('\n', " "))?;
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
    Ok(())
}

//! Command-line interface: argument parsing, progress, exit codes.

use std::process::ExitCode;

use clap::Parser;

/// mrcz: read, write and correct MRC2014 and MRCZ files.
#[derive(Debug, Parser)]
#[command(name = "mrcz", version, about)]
pub struct Cli {}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}

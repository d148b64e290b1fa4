//! Command-line interface: argument parsing, dispatch, error reporting and exit codes.
//!
//! Exit status: 0 success, 1 failure (one line on stderr naming the file and the problem),
//! 2 usage error. Machine-readable output goes to stdout with `--json`; diagnostics and progress
//! bars go to stderr, progress only when stderr is a terminal. When the reader of stdout goes
//! away (`mrcz info --json f | head -1`), the command stops quietly with status 0 (1 for
//! `validate` once it has seen an invalid file), the way `head` expects of its writers.

/// `println!` for a command's output on stdout, as an expression of type `Result<(), Failure>`.
///
/// `println!` panics when stdout is a pipe whose reader has exited (Rust ignores `SIGPIPE`);
/// this returns [`Failure::stdout`] instead, which stops the command without a message.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::Failure::stdout)
    }};
}

mod convert;
mod correct;
mod demo;
mod info;
mod koma;
mod movie;
mod noise;
mod outliers;
mod progress;
mod validate;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use mrcz::blosc::Shuffle;
use mrcz::codec::Codec;

/// mrcz: read, write and correct MRC2014 and MRCZ (Blosc-compressed MRC) files.
#[derive(Debug, Parser)]
#[command(name = "mrcz", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compress an MRC or MRCZ file into MRCZ.
    Compress(convert::CompressArgs),
    /// Decompress an MRCZ (or MRC) file into plain MRC2014.
    Decompress(convert::DecompressArgs),
    /// Print a file's header, layout and metadata.
    Info(info::InfoArgs),
    /// Write a synthetic movie plain and with every codec, read it back, and report speed and ratio.
    Demo(demo::DemoArgs),
    /// Check files against MRC2014 and MRCZ (mrcfile's checks plus the chunk chain); exit 1 if any is invalid.
    Validate(validate::ValidateArgs),
    /// Correct a movie: remove hot/dead pixels, apply gain (and dark) references, write float32/16.
    Correct(correct::CorrectArgs),
    /// Detect hot and dead pixels in a movie and report the thresholds and counts (no output file).
    Outliers(outliers::OutliersArgs),
    /// KOMA: correct a series of movies by the knock-out moving average of their neighbours.
    Koma(koma::KomaArgs),
    /// Report the mean inter-frame Pearson coefficient of a movie (correlated-noise metric).
    Noise(noise::NoiseArgs),
}

/// Codec names accepted on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CodecArg {
    /// Zstandard (default).
    Zstd,
    /// LZ4.
    Lz4,
    /// LZ4 high-compression request (written in the LZ4 format).
    Lz4hc,
    /// zlib.
    Zlib,
    /// BloscLZ.
    Blosclz,
}

impl From<CodecArg> for Codec {
    fn from(c: CodecArg) -> Codec {
        match c {
            CodecArg::Zstd => Codec::Zstd,
            CodecArg::Lz4 => Codec::Lz4,
            CodecArg::Lz4hc => Codec::Lz4Hc,
            CodecArg::Zlib => Codec::Zlib,
            CodecArg::Blosclz => Codec::BloscLz,
        }
    }
}

/// Shuffle filters accepted on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShuffleArg {
    /// Bitshuffle (best for integer counts).
    Bit,
    /// Byte shuffle.
    Byte,
    /// No filter.
    None,
}

impl From<ShuffleArg> for Shuffle {
    fn from(s: ShuffleArg) -> Shuffle {
        match s {
            ShuffleArg::Bit => Shuffle::Bit,
            ShuffleArg::Byte => Shuffle::Byte,
            ShuffleArg::None => Shuffle::None,
        }
    }
}

/// A failure to report: the file it concerns and what went wrong.
#[derive(Debug)]
pub struct Failure {
    path: Option<PathBuf>,
    message: String,
    stdout_closed: bool,
}

impl Failure {
    /// A failure concerning `path`.
    pub fn at(path: &Path, err: impl fmt::Display) -> Failure {
        Failure {
            path: Some(path.to_path_buf()),
            message: one_line(err),
            stdout_closed: false,
        }
    }

    /// A failure not tied to one file.
    pub fn msg(err: impl fmt::Display) -> Failure {
        Failure {
            path: None,
            message: one_line(err),
            stdout_closed: false,
        }
    }

    /// A failed write of command output. A closed pipe (its reader exited) is not an error of
    /// ours: [`Failure::is_stdout_closed`] tells `main` to exit quietly. Any other write error
    /// (a full disk behind `> file`) is reported.
    pub fn stdout(err: io::Error) -> Failure {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Failure {
                path: None,
                message: "standard output was closed".into(),
                stdout_closed: true,
            }
        } else {
            Failure::msg(format!("cannot write to standard output: {err}"))
        }
    }

    /// Whether this is [`Failure::stdout`]'s closed pipe.
    pub fn is_stdout_closed(&self) -> bool {
        self.stdout_closed
    }
}

fn one_line(err: impl fmt::Display) -> String {
    err.to_string().replace('\n', " ")
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Parses an output file argument: any path but `-`, which other tools read as standard output.
/// An MRC file cannot be streamed there (its header is written last, once the statistics are
/// known), and silently creating a file named `-` would surprise; `./-` still names one.
pub fn output_path(s: &str) -> Result<PathBuf, String> {
    if s == "-" {
        return Err("writing to standard output is not supported: MRC output needs a file".into());
    }
    Ok(PathBuf::from(s))
}

/// Result of a subcommand.
pub type CmdResult = Result<(), Failure>;

/// The most worker threads `--threads` accepts, as `--in-flight` caps frames in flight: each
/// thread may hold a frame, and a mistyped count (`--threads 100000`) would otherwise spend
/// minutes starting threads before failing or running out of memory.
pub const MAX_THREADS: usize = 1024;

/// `--threads`, flattened into every command that runs on the thread pool.
#[derive(Debug, Args)]
pub struct ThreadArgs {
    /// Worker threads (0 = one per core, at most 1024).
    #[arg(long, default_value_t = 0, value_parser = thread_count)]
    pub threads: usize,
}

impl ThreadArgs {
    /// Sizes the global thread pool (0 = one thread per core); call once, before any parallel
    /// work.
    pub fn start(&self) -> CmdResult {
        let n = self.threads;
        if n > 0 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| Failure::msg(format!("cannot start {n} threads: {e}")))?;
        }
        Ok(())
    }
}

/// Parses `--threads`: 0 (one per core) up to [`MAX_THREADS`].
fn thread_count(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n > MAX_THREADS {
        return Err(format!(
            "{n} is not in 0..={MAX_THREADS} (0 = one per core)"
        ));
    }
    Ok(n)
}

/// Parses the arguments, runs the command, and maps the outcome to an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compress(a) => convert::compress(a),
        Command::Decompress(a) => convert::decompress(a),
        Command::Info(a) => info::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Correct(a) => correct::run(a),
        Command::Outliers(a) => outliers::run(a),
        Command::Koma(a) => koma::run(a),
        Command::Noise(a) => noise::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.is_stdout_closed() => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("mrcz: {f}");
            ExitCode::FAILURE
        }
    }
}

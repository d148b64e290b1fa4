//! `mrcz compress` and `mrcz decompress`: file-to-file conversion, streamed frame by frame.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::{Args, ValueEnum};

use mrcz::mrc::{Endian, Metadata, Mode};
use mrcz::mrcz::{
    Compression, Reader, Summary, WriteOptions, Writer, unpack_uint4, verify_same_pixels,
};

use super::progress::Progress;
use super::{CmdResult, CodecArg, Failure, ShuffleArg, ThreadArgs, output_path};

/// Arguments of `mrcz compress`.
#[derive(Debug, Args)]
pub struct CompressArgs {
    /// Input MRC or MRCZ file.
    input: PathBuf,
    /// Output MRCZ file (written atomically: nothing appears here if anything fails).
    #[arg(value_parser = output_path)]
    output: PathBuf,
    /// Codec.
    #[arg(long, value_enum, default_value_t = CodecArg::Zstd)]
    codec: CodecArg,
    /// Compression level, 1 (fastest) to 9 (smallest).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=9))]
    level: u8,
    /// Shuffle filter applied before the codec.
    #[arg(long, value_enum, default_value_t = ShuffleArg::Bit)]
    shuffle: ShuffleArg,
    /// Blosc block size in bytes (default: the library's measured default).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=(1 << 30)))]
    block_size: Option<u64>,
    /// Format of the metadata in the extended header (python-mrcz reads only json).
    #[arg(long, value_enum, default_value_t = MetaFormat::Json)]
    metadata: MetaFormat,
    #[command(flatten)]
    out: OutputArgs,
}

/// Arguments of `mrcz decompress`.
#[derive(Debug, Args)]
pub struct DecompressArgs {
    /// Input MRCZ (or MRC) file.
    input: PathBuf,
    /// Output plain MRC2014 file (written atomically).
    #[arg(value_parser = output_path)]
    output: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

/// Options every conversion shares.
#[derive(Debug, Args)]
pub struct OutputArgs {
    #[command(flatten)]
    threads: ThreadArgs,
    /// Byte order of the output.
    #[arg(long, value_enum, default_value_t = EndianArg::Little)]
    endian: EndianArg,
    /// Re-read the output and compare every pixel with the input before it replaces OUT.
    #[arg(long)]
    verify: bool,
    /// Frames in flight at most while converting (default: the thread count); memory is about
    /// (in-flight + 2) frames.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    in_flight: Option<u64>,
    /// Write the output through the page cache. By default it is written around it (Linux
    /// O_DIRECT, where the filesystem allows), which skips the kernel's copy of every byte.
    #[arg(long)]
    buffered_io: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Metadata encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetaFormat {
    /// JSON, EXTTYP 'json' (what python-mrcz reads).
    Json,
    /// MessagePack, EXTTYP 'msgp' (smaller; python-mrcz skips it but still reads the pixels).
    Msgpack,
}

/// Byte orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndianArg {
    /// Little-endian (default; what every current tool writes).
    Little,
    /// Big-endian.
    Big,
}

impl From<EndianArg> for Endian {
    fn from(e: EndianArg) -> Endian {
        match e {
            EndianArg::Little => Endian::Little,
            EndianArg::Big => Endian::Big,
        }
    }
}

/// Runs `mrcz compress`.
pub fn compress(a: CompressArgs) -> CmdResult {
    let compression = Compression {
        codec: a.codec.into(),
        level: a.level,
        shuffle: a.shuffle.into(),
        block_size: a.block_size.map(|b| b as usize),
    };
    Job {
        input: &a.input,
        output: &a.output,
        compression: Some(compression),
        metadata: a.metadata,
        out: &a.out,
    }
    .run("compress")
}

/// Runs `mrcz decompress`.
pub fn decompress(a: DecompressArgs) -> CmdResult {
    Job {
        input: &a.input,
        output: &a.output,
        compression: None,
        metadata: MetaFormat::Json,
        out: &a.out,
    }
    .run("decompress")
}

/// One file-to-file conversion.
struct Job<'a> {
    input: &'a Path,
    output: &'a Path,
    compression: Option<Compression>,
    metadata: MetaFormat,
    out: &'a OutputArgs,
}

impl Job<'_> {
    fn run(&self, verb: &str) -> CmdResult {
        self.out.threads.start()?;
        let start = Instant::now();
        let mut reader = Reader::open(self.input).map_err(|e| Failure::at(self.input, e))?;
        for w in reader.warnings() {
            eprintln!("mrcz: warning: {}: {w}", self.input.display());
        }
        let h = reader.header().clone();
        // 4-bit data cannot be compressed in a way python-mrcz reads: store it as 8-bit counts.
        let unpack = self.compression.is_some() && h.mode == Mode::Uint4;
        let mode = if unpack { Mode::Int8 } else { h.mode };
        if unpack && !self.out.quiet {
            eprintln!(
                "mrcz: note: {}: 4-bit input written as 8-bit (mode 0)",
                self.input.display()
            );
        }
        let options = WriteOptions {
            compression: self.compression,
            endian: self.out.endian.into(),
            metadata: convert_metadata(reader.metadata(), self.metadata)
                .map_err(|e| Failure::at(self.input, e))?,
            voxel_size: h.voxel_size(),
            voltage: h.voltage,
            c3: h.c3,
            gain: h.gain,
            labels: h
                .labels_in_use()
                .into_iter()
                .filter(|l| !l.is_empty() && !l.starts_with("MRCZ") && !l.starts_with("mrcz-rs"))
                .collect(),
            template: Some(h.clone()),
            mz: None,
            in_flight: self.out.in_flight.map_or(0, |n| n as usize),
            direct_io: !self.out.buffered_io,
        };
        let (nx, ny) = (h.nx as usize, h.ny as usize);
        let mut writer = Writer::create(self.output, nx, ny, mode, &options)
            .map_err(|e| Failure::at(self.output, e))?;
        let frames = reader.frames();
        let mut progress = Progress::new(verb, frames as u64, self.out.quiet || self.out.json);
        let mut packed = Vec::new();
        // Stored-chunk buffers come back from the decode jobs for reuse.
        let spare = Spares::default();
        let plain = reader
            .plain_frames()
            .map_err(|e| Failure::at(self.input, e))?;
        let chunks = reader
            .stored_frames()
            .map_err(|e| Failure::at(self.input, e))?;
        // Decode jobs one frame per thread when the window fills the pool.
        let serial = writer.frame_per_thread();
        for i in 0..frames {
            if unpack {
                packed.resize(reader.frame_len(), 0);
                reader
                    .read_frame(i, &mut packed)
                    .map_err(|e| Failure::at(self.input, e))?;
                writer
                    .write_frame_vec(unpack_uint4(nx, &packed))
                    .map_err(|e| Failure::at(self.output, e))?;
            } else if let Some(chunks) = &chunks {
                // Compressed input: the job reads its own chunk and decodes it on the pool, so
                // this thread only writes (reading 7 MB chunks here left the disk idle between
                // frames). Frames decode one per thread when the window fills the pool (see
                // `Writer::frame_per_thread`), except the first: the disk waits for it, so it is
                // decoded on the whole pool, and the next frames are submitted once it is done
                // (alongside them it would take a whole frame's single-thread time).
                let chunks = chunks.clone();
                let spare = spare.clone();
                let first = i == 0;
                let (decoded, wait) = std::sync::mpsc::sync_channel::<()>(1);
                let result = writer.write_frame_with(move |out| {
                    let mut stored = chunks.read_stored(i, spare.take())?;
                    stored.set_parallel(first || !serial);
                    let r = stored.decode_into(out);
                    spare.give(stored.into_bytes());
                    drop(decoded);
                    r
                });
                result.map_err(|e| self.blame(e))?;
                if first {
                    // Returns when the job has decoded (or failed, or been dropped).
                    let _ = wait.recv();
                }
            } else if reader.codec().is_some() {
                // Compressed input without positional reads: this thread reads the chunk and
                // the pool decodes it, overlapping with the writing of earlier frames.
                let mut stored = reader
                    .read_stored(i, spare.take())
                    .map_err(|e| Failure::at(self.input, e))?;
                stored.set_parallel(!serial);
                let spare = spare.clone();
                let result = writer.write_frame_with(move |out| {
                    let r = stored.decode_into(out);
                    spare.give(stored.into_bytes());
                    r
                });
                result.map_err(|e| self.blame(e))?;
            } else if let Some(plain) = &plain {
                // Plain input: the job reads its own frame when it starts, so reads run in
                // parallel and frames waiting for a thread hold no buffer.
                let plain = plain.clone();
                let result = writer.write_frame_with(move |out| plain.read_frame(i, out));
                result.map_err(|e| self.blame(e))?;
            } else {
                let mut buf = writer.frame_buffer();
                reader
                    .read_frame(i, &mut buf)
                    .map_err(|e| Failure::at(self.input, e))?;
                writer
                    .write_frame_vec(buf)
                    .map_err(|e| Failure::at(self.output, e))?;
            }
            progress.inc(1);
        }
        let summary = if self.out.verify {
            writer.finish_checked(|tmp| verify_same_pixels(self.input, tmp).map(drop))
        } else {
            writer.finish()
        }
        .map_err(|e| self.blame(e))?;
        progress.finish();
        self.report(&summary, start.elapsed().as_secs_f64())
    }

    /// The file an error from the writer is about: a damaged chunk or a failed frame read is the
    /// input's (frames are read and decoded inside the writer's jobs, and any frame's write or the
    /// final flush may report it); anything else happened while writing the output.
    fn blame(&self, e: mrcz::Error) -> Failure {
        match e {
            mrcz::Error::Chunk { .. } | mrcz::Error::Format { .. } => Failure::at(self.input, e),
            e => Failure::at(self.output, e),
        }
    }

    fn report(&self, s: &Summary, secs: f64) -> CmdResult {
        let mbps = s.raw_bytes as f64 / 1e6 / secs.max(1e-9);
        let ratio = s.raw_bytes as f64 / s.packed_bytes.max(1) as f64;
        if self.out.json {
            let v = serde_json::json!({
                "input": self.input,
                "output": self.output,
                "frames": s.frames,
                "raw_bytes": s.raw_bytes,
                "packed_bytes": s.packed_bytes,
                "file_bytes": s.file_bytes,
                "ratio": ratio,
                "seconds": secs,
                "mb_per_s": mbps,
                "codec": self.compression.map(|c| c.codec.name()),
            });
            outln!("{v}")?;
        } else if !self.out.quiet {
            outln!(
                "{} -> {}: {} frames, {:.1} MB -> {:.1} MB ({ratio:.2}x), {secs:.2} s, {mbps:.0} MB/s",
                self.input.display(),
                self.output.display(),
                s.frames,
                s.raw_bytes as f64 / 1e6,
                s.file_bytes as f64 / 1e6,
            )?;
        }
        Ok(())
    }
}

/// The output metadata: the input's, re-encoded when the requested format differs.
fn convert_metadata(m: &Metadata, want: MetaFormat) -> mrcz::Result<Metadata> {
    Ok(match (m, want) {
        (Metadata::MessagePack { value, .. }, MetaFormat::Json) => Metadata::json(value.clone()),
        (Metadata::Json { value, .. }, MetaFormat::Msgpack) => Metadata::msgpack(value.clone())?,
        _ => m.clone(),
    })
}

/// Stored-chunk buffers that the decode jobs hand back for the next chunks to reuse; shared by
/// cloning.
#[derive(Clone, Default)]
struct Spares(Arc<Mutex<Vec<Vec<u8>>>>);

impl Spares {
    /// A spare buffer, or a new empty one.
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default()
    }

    /// Keeps `buf` for a later [`take`](Self::take).
    fn give(&self, buf: Vec<u8>) {
        if let Ok(mut s) = self.0.lock() {
            s.push(buf);
        }
    }
}

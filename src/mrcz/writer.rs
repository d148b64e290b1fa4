//! Writing MRC and MRCZ files frame by frame.
//!
//! Frames are compressed on the rayon thread pool while the caller produces the next ones; at
//! most [`WriteOptions::in_flight`] frames are held at once and chunks are written in frame
//! order, so memory stays O(threads × frame) for any number of frames and the bytes written do
//! not depend on the thread count.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::blosc::{self, Shuffle};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::mrc::{Endian, Header, MRCZ_FORMAT_LABEL, Metadata, Mode, NVERSION_MRCZ, WRITER_LABEL};
use crate::mrcz::output::{OutputFile, WriteAt};
use crate::mrcz::pixel::{Pixel, swap_bytes};
use crate::mrcz::stats::Stats;
use mrcz_simd::moments::{I8Moments, i8_moments};

/// How frames are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// The codec (default zstd).
    pub codec: Codec,
    /// Compression level 1-9 (default 1); 0 stores the frames uncompressed inside Blosc chunks.
    pub level: u8,
    /// The shuffle filter (default bitshuffle, which suits integer counts best).
    pub shuffle: Shuffle,
    /// Block size in bytes (`None`: [`blosc::Params::default_block_size`], 1 MiB for most data).
    pub block_size: Option<usize>,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            codec: Codec::Zstd,
            level: 1,
            shuffle: Shuffle::Bit,
            block_size: None,
        }
    }
}

/// Everything about an output file except its frames.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// `Some` writes MRCZ (one Blosc chunk per frame), `None` plain MRC2014.
    pub compression: Option<Compression>,
    /// Byte order of the header and the pixels (default little-endian).
    pub endian: Endian,
    /// Extended-header metadata (default none; JSON is what python-mrcz reads).
    pub metadata: Metadata,
    /// Voxel size in Å, `[x, y, z]` (default 1 Å).
    pub voxel_size: [f32; 3],
    /// Accelerating voltage (MRCZ header field at byte 132).
    pub voltage: f32,
    /// Spherical aberration C3 in mm (byte 136).
    pub c3: f32,
    /// Detector gain (byte 140; 0 is written as 1, as python-mrcz does).
    pub gain: f32,
    /// Labels written after this crate's two (`MRCZ0.6.0` and the writer's name); at most 10 in all.
    pub labels: Vec<String>,
    /// A header whose other fields (origin, start indices, cell angles, axis order, space group,
    /// the EXTRA bytes of IMOD) are kept, e.g. the input's when converting a file.
    pub template: Option<Header>,
    /// MZ to write. `None`: 0 for MRCZ (python-mrcz then reads the frames as one stack) and 1 for
    /// plain MRC (an MRC2014 image stack).
    pub mz: Option<i32>,
    /// Frames being compressed or waiting to be written at most; 0 = the rayon thread count.
    /// Peak memory is about (in_flight + 2) frames.
    pub in_flight: usize,
    /// [`Writer::create`] writes the file around the page cache (Linux `O_DIRECT`) where the
    /// filesystem allows, else through it (default on). Direct writes skip the kernel's copy
    /// into cache pages, the largest cost of writing a movie; off suits a file read again at once.
    pub direct_io: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Some(Compression::default()),
            endian: Endian::Little,
            metadata: Metadata::None,
            voxel_size: [1.0; 3],
            voltage: 0.0,
            c3: 0.0,
            gain: 1.0,
            labels: Vec::new(),
            template: None,
            mz: None,
            in_flight: 0,
            direct_io: true,
        }
    }
}

/// What [`Writer::finish`] reports.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Frames written.
    pub frames: u64,
    /// Bytes of pixel data before compression.
    pub raw_bytes: u64,
    /// Bytes of data written after the headers (all chunks, or the plain data block).
    pub packed_bytes: u64,
    /// Total file size.
    pub file_bytes: u64,
    /// Exact statistics of all frames.
    pub stats: Stats,
    /// The header as finally written.
    pub header: Header,
}

/// A compressed (or byte-swapped) frame coming back from the pool.
struct Done {
    input: FrameBuf,
    output: Vec<u8>,
    stats: Stats,
    /// The job already wrote the frame at its offset (plain output through a [`PositionalSink`]).
    written: bool,
}

/// Page size that frame buffers are placed against (the alignment direct I/O needs).
const PAGE: usize = crate::mrcz::direct::ALIGN;

/// One frame's bytes inside a slightly larger allocation.
///
/// Frames from the [`BufferPool`] start `phase` bytes past a [`PAGE`] boundary in memory, where
/// `phase` is where the frames start within a page of the file. A plain frame written at its
/// offset then has its whole pages at page-aligned addresses, and [`DirectFile`] writes them
/// straight from here instead of copying them into its staging buffers first (a saving of one
/// memory copy of the whole movie when decompressing).
///
/// [`DirectFile`]: crate::mrcz::direct::DirectFile
#[derive(Default)]
struct FrameBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl FrameBuf {
    /// Wraps a caller's buffer as it is.
    fn from_vec(raw: Vec<u8>) -> Self {
        let len = raw.len();
        FrameBuf { raw, start: 0, len }
    }

    /// A zeroed buffer of `len` bytes starting `phase` bytes past a page boundary.
    fn placed(len: usize, phase: usize) -> Self {
        // Zeroed by the allocator (fresh pages), not by a pass over the buffer.
        let raw = vec![0u8; len + PAGE];
        let start = (phase + PAGE - raw.as_ptr() as usize % PAGE) % PAGE;
        FrameBuf { raw, start, len }
    }

    /// Makes this `len` bytes long, keeping its placement (contents unspecified).
    fn resize(&mut self, len: usize) {
        if self.start + len > self.raw.len() {
            // Growing would move the allocation: place a new one the same way.
            let phase = (self.raw.as_ptr() as usize + self.start) % PAGE;
            *self = FrameBuf::placed(len, phase);
        }
        self.len = len;
    }

    /// The bytes as a `Vec` (moved down to the allocation's start if placed).
    fn into_vec(self) -> Vec<u8> {
        let FrameBuf {
            mut raw,
            start,
            len,
        } = self;
        raw.truncate(start + len);
        raw.drain(..start);
        raw
    }
}

impl std::ops::Deref for FrameBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for FrameBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

/// Frame buffers not in use, shared by the writer and its jobs, keeping at most `keep`.
#[derive(Clone)]
struct BufferPool {
    spare: Arc<std::sync::Mutex<Vec<FrameBuf>>>,
    keep: usize,
    /// Where new buffers start within a page (see [`FrameBuf`]).
    phase: usize,
}

impl BufferPool {
    fn new(keep: usize, phase: usize) -> Self {
        BufferPool {
            spare: Arc::default(),
            keep,
            phase: phase % PAGE,
        }
    }

    /// A buffer of `len` bytes (contents unspecified): a kept one, or a new one.
    fn take(&self, len: usize) -> FrameBuf {
        match self.spare.lock().ok().and_then(|mut s| s.pop()) {
            Some(mut buf) => {
                buf.resize(len);
                buf
            }
            None => FrameBuf::placed(len, self.phase),
        }
    }

    /// A buffer of `len` bytes as a plain `Vec` (for callers that fill frames themselves): a
    /// kept one that is not placed, or a new one.
    fn take_vec(&self, len: usize) -> Vec<u8> {
        let kept = self
            .spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop_if(|b| b.start == 0).map(FrameBuf::into_vec));
        match kept {
            Some(mut buf) => {
                buf.resize(len, 0);
                buf
            }
            None => vec![0; len],
        }
    }

    /// Takes every kept buffer out.
    fn drain(&self) -> Vec<FrameBuf> {
        self.spare
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Keeps `buf` for reuse (unless empty or enough are kept).
    fn give(&self, buf: FrameBuf) {
        if buf.raw.capacity() == 0 {
            return;
        }
        if let Ok(mut s) = self.spare.lock()
            && s.len() < self.keep
        {
            s.push(buf);
        }
    }
}

/// Streaming writer of one MRC/MRCZ file into any `Write + Seek` sink.
///
/// Use [`FileWriter`] (from [`Writer::create`]) to write a file atomically.
pub struct Writer<W: Write + Seek> {
    dst: W,
    header: Header,
    data_offset: u64,
    frame_len: usize,
    params: Option<blosc::Params>,
    voxel_z: f32,
    swap: Option<usize>,
    in_flight: usize,
    pending: VecDeque<(u64, Receiver<Result<Done>>)>,
    spare_in: BufferPool,
    spare_out: Vec<Vec<u8>>,
    submitted: u64,
    written: u64,
    packed: u64,
    stats: Stats,
    failed: bool,
    /// Plain output only: jobs write their frames at their offsets themselves, in parallel.
    positional: Option<Arc<dyn WriteAt>>,
}

impl<W: Write + Seek> Writer<W> {
    /// Starts a file of `nx × ny` frames of `mode` in `dst`, writing the header and metadata.
    pub fn new(
        mut dst: W,
        nx: usize,
        ny: usize,
        mode: Mode,
        options: &WriteOptions,
    ) -> Result<Self> {
        let dim = |v: usize, name: &str| {
            i32::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| {
                Error::InvalidArgument(format!("{name} = {v} is not a valid MRC dimension"))
            })
        };
        let (nx32, ny32) = (dim(nx, "nx")?, dim(ny, "ny")?);
        if options.compression.is_some() && mode == Mode::Uint4 {
            return Err(Error::Unsupported(
                "mode 101 (4-bit) cannot be written compressed: python-mrcz cannot read it; \
                 write it plain or as 8-bit"
                    .into(),
            ));
        }
        let header = build_header(nx32, ny32, mode, options)?;
        let frame_len = usize::try_from(header.section_bytes()?)
            .map_err(|_| Error::LimitsExceeded("frame larger than memory".into()))?;
        if options.compression.is_some() && frame_len > 2_147_483_631 {
            return Err(Error::LimitsExceeded(format!(
                "a compressed frame must be under 2 GiB (Blosc's limit); this one is {frame_len} bytes"
            )));
        }
        let params = options.compression.map(|c| blosc::Params {
            codec: c.codec,
            level: c.level,
            shuffle: c.shuffle,
            typesize: mode.element_bytes(),
            block_size: c.block_size,
        });
        let metadata = options.metadata.to_bytes();
        let start = dst.stream_position()?;
        if start != 0 {
            return Err(Error::InvalidArgument(
                "the sink must be positioned at 0".into(),
            ));
        }
        dst.write_all(&header.to_bytes())?;
        dst.write_all(&metadata)?;
        let in_flight = match options.in_flight {
            // Blocks inside a frame are compressed in parallel too, so one frame per thread keeps
            // every core busy; memory is about (window + 2) frames.
            0 => rayon::current_num_threads().max(1),
            n => n,
        };
        let data_offset = header.data_offset();
        Ok(Writer {
            dst,
            data_offset,
            header,
            frame_len,
            params,
            voxel_z: options.voxel_size[2],
            swap: (options.endian != Endian::native()).then(|| mode.swap_unit()),
            in_flight,
            pending: VecDeque::new(),
            spare_in: BufferPool::new(in_flight + 1, (data_offset % PAGE as u64) as usize),
            spare_out: Vec::new(),
            submitted: 0,
            written: 0,
            packed: 0,
            stats: Stats::default(),
            failed: false,
            positional: None,
        })
    }

    /// Bytes of one frame (`nx × ny` pixels of the mode).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Whether the frames in flight alone keep every thread of rayon's pool busy (the window is
    /// at least the pool's size). Each frame is then encoded on the thread of its job, and a
    /// [`write_frame_with`](Self::write_frame_with) fill should produce its frame on that thread
    /// too (e.g. a [`StoredFrame`](crate::mrcz::StoredFrame) with `set_parallel(false)`): a job
    /// that splits its work across the pool waits for the pieces, and while it waits its thread
    /// runs the jobs of later frames, so the frame the writer needs next is finished last.
    pub fn frame_per_thread(&self) -> bool {
        self.in_flight >= rayon::current_num_threads()
    }

    /// Frames accepted so far.
    pub fn frames(&self) -> u64 {
        self.submitted
    }

    /// A buffer of [`frame_len`](Self::frame_len) bytes to fill and hand to
    /// [`write_frame_vec`](Self::write_frame_vec): buffers of frames already written are reused,
    /// so a read-fill-write loop allocates only a window's worth of frames. Its contents are
    /// unspecified.
    pub fn frame_buffer(&mut self) -> Vec<u8> {
        self.spare_in.take_vec(self.frame_len)
    }

    /// Adds one frame of pixels in the machine's byte order (`frame_len` bytes).
    pub fn write_frame(&mut self, frame: &[u8]) -> Result<()> {
        let mut buf = self.spare_in.take_vec(0);
        buf.extend_from_slice(frame);
        self.write_frame_vec(buf)
    }

    /// Adds one frame of typed pixels; `T` must be this file's mode.
    pub fn write_frame_as<T: Pixel>(&mut self, frame: &[T]) -> Result<()> {
        if !T::views(self.header.mode) {
            return Err(Error::InvalidArgument(format!(
                "{} pixels written to a {} file",
                std::any::type_name::<T>(),
                self.header.mode.name()
            )));
        }
        self.write_frame(bytemuck::cast_slice(frame))
    }

    /// Adds several frames at once (`n × frame_len` bytes).
    pub fn write_frames(&mut self, frames: &[u8]) -> Result<()> {
        if !frames.len().is_multiple_of(self.frame_len) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes is not a whole number of {}-byte frames",
                frames.len(),
                self.frame_len
            )));
        }
        frames
            .chunks_exact(self.frame_len)
            .try_for_each(|f| self.write_frame(f))
    }

    /// Adds one frame, taking ownership of its buffer (saves a copy).
    pub fn write_frame_vec(&mut self, frame: Vec<u8>) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidArgument("writer already failed".into()));
        }
        if frame.len() != self.frame_len {
            return Err(Error::InvalidArgument(format!(
                "frame of {} bytes, expected {} ({}x{} {})",
                frame.len(),
                self.frame_len,
                self.header.nx,
                self.header.ny,
                self.header.mode.name()
            )));
        }
        self.submit(Some(FrameBuf::from_vec(frame)), |_| Ok(()))
    }

    /// Submits the next frame as a job that first fills the frame's buffer (exactly
    /// [`frame_len`](Self::frame_len) bytes, its old contents unspecified) and is then measured
    /// and compressed like [`write_frame_vec`](Self::write_frame_vec). The fill runs on the thread
    /// pool, so producing frames (e.g. decoding a [`StoredFrame`](crate::mrcz::StoredFrame))
    /// overlaps with writing earlier ones; an error from it fails this frame and the writer.
    ///
    /// The job takes its frame buffer only when it starts, and a compressed frame's buffer is
    /// reused as soon as it is compressed: frames waiting for a thread hold no memory, so the
    /// frame buffers in use stay at the thread count for any window.
    pub fn write_frame_with<F>(&mut self, fill: F) -> Result<()>
    where
        F: FnOnce(&mut [u8]) -> Result<()> + Send + 'static,
    {
        if self.failed {
            return Err(Error::InvalidArgument("writer already failed".into()));
        }
        self.submit(None, fill)
    }

    /// Queues one frame's job: `frame`, or a pool buffer filled by `fill` when the job starts.
    fn submit<F>(&mut self, frame: Option<FrameBuf>, fill: F) -> Result<()>
    where
        F: FnOnce(&mut [u8]) -> Result<()> + Send + 'static,
    {
        if self.submitted >= i32::MAX as u64 {
            return Err(Error::LimitsExceeded(
                "MRC files hold at most 2^31 - 1 frames".into(),
            ));
        }
        let (tx, rx) = sync_channel(1);
        let mode = self.header.mode;
        let params = self.params;
        let swap = self.swap;
        let index = self.submitted;
        // With a frame in flight per thread the frames alone keep the pool busy: each frame is
        // then encoded on its own thread, straight into its chunk. A narrower window (e.g.
        // `--in-flight 1` to save memory) splits each frame's blocks across the pool instead.
        let parallel_blocks = !self.frame_per_thread();
        let output = self.spare_out.pop().unwrap_or_default();
        // A plain frame's place in the file is known now, so its job can write it there.
        let positional = match (&self.positional, &self.params) {
            (Some(p), None) => Some((
                Arc::clone(p),
                self.data_offset + index * self.frame_len as u64,
            )),
            _ => None,
        };
        let pool = self.spare_in.clone();
        let frame_len = self.frame_len;
        rayon::spawn(move || {
            let mut frame = frame.unwrap_or_else(|| pool.take(frame_len));
            let mut done = fill(&mut frame).and_then(|()| {
                encode_frame(frame, output, mode, swap, params.as_ref(), parallel_blocks).map_err(
                    |source| Error::Chunk {
                        frame: index,
                        source,
                    },
                )
            });
            if let (Ok(d), Some((sink, offset))) = (&mut done, &positional) {
                match sink.write_all_at(&d.input, *offset) {
                    Ok(()) => d.written = true,
                    Err(e) => done = Err(e.into()),
                }
            }
            // The input is not needed any more once compressed or written: the next job to
            // start reuses it.
            if let Ok(d) = &mut done
                && (params.is_some() || d.written)
            {
                pool.give(std::mem::take(&mut d.input));
            }
            // Release the file handle before the result can let the writer finish.
            drop(positional);
            let _ = tx.send(done);
        });
        self.pending.push_back((self.submitted, rx));
        self.submitted += 1;
        while self.pending.len() > self.in_flight {
            self.write_next()?;
        }
        Ok(())
    }

    /// Waits for the oldest frame in flight and writes it (unless its job already did).
    fn write_next(&mut self) -> Result<()> {
        let Some((_, rx)) = self.pending.pop_front() else {
            return Ok(());
        };
        let done = rx
            .recv()
            .map_err(|_| Error::InvalidArgument("compression job vanished".into()))
            .and_then(|r| r);
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        let (bytes, packed) = if self.params.is_some() {
            (&done.output[..], done.output.len())
        } else {
            (&done.input[..], self.frame_len)
        };
        if !done.written
            && let Err(e) = self.dst.write_all(bytes)
        {
            self.failed = true;
            return Err(e.into());
        }
        self.packed += packed as u64;
        self.written += 1;
        self.stats.merge(&done.stats);
        // Keep as many buffers as can be in flight: fresh 16 MB allocations cost page faults and
        // zeroing, while the window already bounds memory.
        self.spare_in.give(done.input);
        if self.spare_out.len() <= self.in_flight {
            self.spare_out.push(done.output);
        }
        Ok(())
    }

    /// Writes the remaining frames, then the final header (frame count, exact statistics,
    /// packedBytes), and returns the sink with a summary.
    pub fn finish(mut self) -> Result<(W, Summary)> {
        while !self.pending.is_empty() {
            self.write_next()?;
        }
        // The frame buffers are done with: with the last result in, every frame's buffer is
        // back in the pool. Freeing a window of 16 MB frames takes milliseconds (5-8 ms for
        // three on the build machine), so a pool thread, idle now, frees them while this one
        // writes the header and the caller syncs the file.
        let buffers = (self.spare_in.drain(), std::mem::take(&mut self.spare_out));
        rayon::spawn(move || drop(buffers));
        let h = &mut self.header;
        h.nz = i32::try_from(self.written).expect("frame count checked on submit");
        // CELLA = voxel size × sampling: MZ when set (MRC2014), else NZ (python-mrcz's convention).
        let sampling_z = if h.mz > 0 { h.mz } else { h.nz.max(1) };
        h.cella[2] = self.voxel_z * sampling_z as f32;
        if self.stats.count > 0 {
            h.dmin = self.stats.min as f32;
            h.dmax = self.stats.max as f32;
            h.dmean = self.stats.mean as f32;
            h.rms = self.stats.rms() as f32;
        }
        if self.params.is_some() {
            h.packed_bytes = self.packed as i64;
        }
        self.dst.seek(SeekFrom::Start(0))?;
        self.dst.write_all(&self.header.to_bytes())?;
        self.dst.flush()?;
        let summary = Summary {
            frames: self.written,
            raw_bytes: self.written * self.frame_len as u64,
            packed_bytes: self.packed,
            file_bytes: self.data_offset + self.packed,
            stats: self.stats,
            header: self.header.clone(),
        };
        Ok((self.dst, summary))
    }
}

/// Measures, byte-swaps if needed, and compresses one frame (runs on the thread pool).
fn encode_frame(
    mut input: FrameBuf,
    mut output: Vec<u8>,
    mode: Mode,
    swap: Option<usize>,
    params: Option<&blosc::Params>,
    parallel_blocks: bool,
) -> Result<Done, blosc::Error> {
    // 8-bit frames (no byte order to swap) are measured block by block inside the encoder, while
    // each block is in cache; everything else is measured first, in its native byte order.
    let in_encoder =
        params.filter(|_| !parallel_blocks && mode == Mode::Int8 && swap.is_none_or(|u| u == 1));
    let stats = if let Some(p) = in_encoder {
        let mut m = I8Moments::default();
        blosc::compress_into_serial_visit(&input, p, &mut output, &mut |block| {
            m.merge(&i8_moments(block))
        })?;
        Stats::of_i8_moments(&m)
    } else {
        let stats = Stats::of_frame(mode, &input);
        if let Some(unit) = swap {
            swap_bytes(&mut input, unit);
        }
        match params {
            Some(p) if parallel_blocks => blosc::compress_into(&input, p, &mut output)?,
            Some(p) => blosc::compress_into_serial(&input, p, &mut output)?,
            None => {}
        }
        stats
    };
    Ok(Done {
        input,
        output,
        stats,
        written: false,
    })
}

/// The header of a new file: MRC2014-correct, with python-mrcz's MRCZ conventions.
fn build_header(nx: i32, ny: i32, mode: Mode, o: &WriteOptions) -> Result<Header> {
    let mut h = match &o.template {
        Some(t) => {
            let mut h = t.clone();
            h.nx = nx;
            h.ny = ny;
            h.mode = mode;
            h
        }
        None => Header::new(nx, ny, 0, mode),
    };
    h.nz = 0;
    h.compressor_id = o.compression.map_or(0, |c| c.codec.mrcz_id());
    h.set_endian(o.endian);
    h.map = *b"MAP ";
    h.nversion = NVERSION_MRCZ;
    h.mx = nx;
    h.my = ny;
    h.mz = o.mz.unwrap_or(if o.compression.is_some() { 0 } else { 1 });
    h.cella = [
        o.voxel_size[0] * nx as f32,
        o.voxel_size[1] * ny as f32,
        0.0,
    ];
    if o.template.is_none() {
        h.cellb = [90.0; 3];
        h.mapc = 1;
        h.mapr = 2;
        h.maps = 3;
    }
    h.ispg = 0;
    // Statistics are undetermined until finish() measures them.
    h.dmin = 0.0;
    h.dmax = -1.0;
    h.dmean = -2.0;
    h.rms = -1.0;
    h.voltage = o.voltage;
    h.c3 = o.c3;
    h.gain = if o.gain == 0.0 { 1.0 } else { o.gain };
    h.packed_bytes = 0;
    h.set_extended_header(&o.metadata)?;
    h.labels = [[0; 80]; 10];
    h.nlabl = 0;
    h.push_label(MRCZ_FORMAT_LABEL)?;
    h.push_label(WRITER_LABEL)?;
    for l in o.labels.iter().take(8) {
        h.push_label(truncate_utf8(l, 80))?;
    }
    Ok(h)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A [`Writer`] into a file that appears at its path only when [`finish`](FileWriter::finish)
/// succeeds: frames go to a temporary file beside it, which is fsynced and renamed. If the writer
/// is dropped unfinished or fails, the temporary file is removed and nothing is left at the path.
pub struct FileWriter {
    inner: Option<Writer<OutputFile>>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl Writer<OutputFile> {
    /// Starts writing `path` atomically (see [`FileWriter`]). A symbolic link is written through
    /// to the file it names; a directory, device or other special file at `path` is refused
    /// before anything is written (see [`output_destination`](super::output_destination)).
    pub fn create(
        path: impl AsRef<Path>,
        nx: usize,
        ny: usize,
        mode: Mode,
        options: &WriteOptions,
    ) -> Result<FileWriter> {
        let dest = super::destination::output_destination(path.as_ref())?;
        let tmp = temp_path(&dest);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut fw = FileWriter {
            inner: None,
            tmp,
            dest,
        };
        let file = OutputFile::new(file, &fw.tmp, options.direct_io)?;
        let positional = file.positional();
        let direct = file.is_direct();
        let mut w = Writer::new(file, nx, ny, mode, options)?;
        // Plain output through the page cache: frames go straight to their offsets from the pool,
        // spreading the kernel's copies over the threads. Direct output costs the caller only a
        // copy into a staging buffer, but then waits for the device: that wait belongs on this
        // thread, not on the pool's.
        if options.compression.is_none() && !direct {
            w.positional = positional;
        }
        fw.inner = Some(w);
        Ok(fw)
    }
}

/// A hidden name beside `dest`, unique to this process and call.
pub fn temp_path(dest: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Makes `tmp` durable and moves it to `dest` (fsync file, rename, fsync folder).
///
/// A regular file already at `dest` hands its permissions on to the new one (and, on Unix, its
/// owner and group where the process may set them), as overwriting it with `cp` would: a
/// group-writable file in a shared folder stays group-writable.
pub fn commit_file(file: &File, tmp: &Path, dest: &Path) -> Result<()> {
    if let Ok(old) = fs::metadata(dest)
        && old.is_file()
    {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Best effort: only root may give a file away; a group needs membership. (Before
            // the mode, since a change of owner may clear set-id bits.)
            if std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())).is_err() {
                let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
            }
        }
        file.set_permissions(old.permissions())?;
    }
    file.sync_all()?;
    fs::rename(tmp, dest)?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Folder fsync makes the rename itself durable; not every platform allows opening folders.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl FileWriter {
    /// The destination path (a symbolic link's target when the requested path was a link).
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Whether the file is being written around the page cache (see [`WriteOptions::direct_io`]).
    pub fn is_direct(&self) -> bool {
        self.inner.as_ref().is_some_and(|w| w.dst.is_direct())
    }

    /// Writes the rest, syncs, and moves the file into place.
    pub fn finish(self) -> Result<Summary> {
        self.finish_checked(|_| Ok(()))
    }

    /// Like [`finish`](Self::finish), but runs `check` on the complete temporary file (its path is
    /// passed) before it is moved into place. If the check fails, the temporary file is removed and
    /// whatever was at the destination stays untouched — e.g. `--verify` re-reads the output and
    /// compares it with the input here.
    pub fn finish_checked(mut self, check: impl FnOnce(&Path) -> Result<()>) -> Result<Summary> {
        let w = self.inner.take().expect("FileWriter used after finish");
        let (out, summary) = w.finish()?;
        let file = out.into_file()?;
        check(&self.tmp)?;
        commit_file(&file, &self.tmp, &self.dest)?;
        Ok(summary)
    }
}

impl Deref for FileWriter {
    type Target = Writer<OutputFile>;
    fn deref(&self) -> &Self::Target {
        self.inner.as_ref().expect("FileWriter used after finish")
    }
}

impl DerefMut for FileWriter {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.inner.as_mut().expect("FileWriter used after finish")
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        // Unfinished or failed: close and remove the temporary file. After a successful finish it
        // has been renamed away and this is a harmless no-op.
        self.inner = None;
        let _ = fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::{BufferPool, FrameBuf, PAGE};

    #[test]
    fn pool_buffers_are_placed_for_their_file_offset() {
        for phase in [0, 1, 1024, PAGE - 1] {
            let pool = BufferPool::new(2, phase);
            let mut a = pool.take(3 * PAGE + 5);
            assert_eq!((a.len(), a.as_ptr() as usize % PAGE), (3 * PAGE + 5, phase));
            a[3 * PAGE + 4] = 9;
            pool.give(a);
            // A kept buffer keeps its placement, shorter or longer.
            let b = pool.take(PAGE);
            assert_eq!((b.len(), b.as_ptr() as usize % PAGE), (PAGE, phase));
            pool.give(b);
            let c = pool.take(5 * PAGE);
            assert_eq!((c.len(), c.as_ptr() as usize % PAGE), (5 * PAGE, phase));
            pool.give(c);
            // Callers filling plain `Vec`s get one of the right length either way.
            assert_eq!(pool.take_vec(10).len(), 10);
        }
        let mut f = FrameBuf::placed(10, 3);
        f.copy_from_slice(b"0123456789");
        assert_eq!(f.into_vec(), b"0123456789");
        let g = FrameBuf::from_vec(b"abc".to_vec());
        assert_eq!((&g[..], g.start), (&b"abc"[..], 0));
    }
}

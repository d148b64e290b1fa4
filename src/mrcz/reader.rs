//! Reading MRC and MRCZ files: header, metadata, a frame index, and frames decoded on demand.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::blosc::{self, ChunkHeader};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::mrc::{Endian, HEADER_LEN, Header, Metadata, Mode};
use crate::mrcz::nearby;
use crate::mrcz::pixel::{Pixel, swap_bytes};

/// Caps on what a reader may allocate, so that a small hostile file cannot claim gigabytes.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Largest decoded frame (one z-section) accepted, in bytes. Default: Blosc's 2 GiB limit.
    pub max_frame_bytes: u64,
    /// Largest extended header read into memory, in bytes (a larger one is skipped with a
    /// warning). Default 64 MiB.
    pub max_metadata_bytes: u64,
    /// Options of the Blosc chunk decoder.
    pub blosc: blosc::Limits,
    /// Accept a file that is still being written (or was cut short): index only the complete
    /// chunks (MRCZ) or whole sections (plain MRC) present when the file is opened, report
    /// [`Reader::frames`] accordingly and add a warning, instead of failing. Chunks and sections
    /// that are complete are read as usual; a damaged chunk still fails. Default: false.
    pub allow_incomplete: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_frame_bytes: 2_147_483_631,
            max_metadata_bytes: 64 << 20,
            blosc: blosc::Limits::default(),
            allow_incomplete: false,
        }
    }
}

/// Byte offset and length of one stored frame.
type Extent = (u64, usize);

/// Where the frames are in the file.
#[derive(Debug, Clone)]
enum Layout {
    /// Plain MRC: `frames` sections of `frame_len` bytes from `offset`.
    Plain { offset: u64, frames: usize },
    /// MRCZ: one Blosc chunk per section, `(offset, length)` each, found by walking cbytes.
    Chunks(Vec<Extent>),
}

/// A reader of one MRC2014 or MRCZ file.
///
/// Opening reads the header, the extended header and (for MRCZ) 16 bytes per chunk to build a
/// frame index; frames are then decoded one at a time or in parallel batches, straight into the
/// caller's buffer and in the machine's byte order.
#[derive(Debug)]
pub struct Reader<R> {
    src: R,
    header: Header,
    metadata: Metadata,
    warnings: Vec<String>,
    layout: Layout,
    frame_len: usize,
    codec: Option<Codec>,
    chunk_version: Option<u8>,
    options: ReadOptions,
    scratch: Vec<u8>,
}

/// One frame's bytes as stored in the file, read by [`Reader::read_stored`] and not yet decoded.
#[derive(Debug, Clone)]
pub struct StoredFrame {
    index: usize,
    bytes: Vec<u8>,
    frame_len: usize,
    compressed: bool,
    limits: blosc::Limits,
    swap: Option<usize>,
}

impl StoredFrame {
    /// Index of the frame in its file.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The stored bytes (a Blosc chunk for MRCZ).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether a chunk large enough to split is decoded on all of rayon's threads (the default,
    /// from the reader's [`Limits::parallel`](crate::blosc::Limits::parallel)) or on the calling
    /// thread only. Turn it off for frames decoded inside jobs that already run one frame per
    /// thread (see [`Writer::frame_per_thread`](crate::mrcz::Writer::frame_per_thread)).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.limits.parallel = parallel;
    }

    /// Decodes the frame into `dst` (exactly the reader's `frame_len` bytes) in the machine's
    /// byte order, with the same checks and errors as [`Reader::read_frame`].
    pub fn decode_into(&self, dst: &mut [u8]) -> Result<()> {
        if dst.len() != self.frame_len {
            return Err(Error::InvalidArgument(format!(
                "buffer of {} bytes for a frame of {} bytes",
                dst.len(),
                self.frame_len
            )));
        }
        if self.compressed {
            decode_chunk(&self.bytes, dst, &self.limits, self.index)?;
        } else {
            dst.copy_from_slice(&self.bytes);
        }
        if let Some(unit) = self.swap {
            swap_bytes(dst, unit);
        }
        Ok(())
    }

    /// Gives back the byte buffer for reuse.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Decodes frame `frame`'s chunk into `out`, naming the frame in the error.
fn decode_chunk(chunk: &[u8], out: &mut [u8], limits: &blosc::Limits, frame: usize) -> Result<()> {
    blosc::decompress_into(chunk, out, limits).map_err(|source| Error::Chunk {
        frame: frame as u64,
        source,
    })
}

impl Reader<BufReader<File>> {
    /// Opens a file with default [`ReadOptions`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, ReadOptions::default())
    }

    /// Opens a file with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Self> {
        let file = File::open(path)?;
        Reader::new_with(BufReader::with_capacity(1 << 16, file), options)
    }

    /// For plain (uncompressed) files on Unix: a handle that reads frames at their offsets from
    /// any thread, e.g. inside [`Writer::write_frame_with`](crate::mrcz::Writer::write_frame_with)
    /// jobs. `None` for MRCZ files and elsewhere.
    pub fn plain_frames(&self) -> Result<Option<PlainFrames>> {
        let Layout::Plain { offset, .. } = self.layout else {
            return Ok(None);
        };
        if !cfg!(unix) {
            return Ok(None);
        }
        Ok(Some(PlainFrames {
            file: Arc::new(self.src.get_ref().try_clone()?),
            offset,
            frame_len: self.frame_len,
            frames: self.frames(),
            swap: self.swap_unit(),
        }))
    }

    /// For MRCZ files on Unix: a handle that reads the frames' chunks at their offsets from any
    /// thread, so that each job of a [`Writer::write_frame_with`](crate::mrcz::Writer::write_frame_with)
    /// pipeline reads its own chunk and the thread that writes the output never waits for the
    /// input. `None` for plain files and elsewhere.
    pub fn stored_frames(&self) -> Result<Option<StoredFrames>> {
        let Layout::Chunks(chunks) = &self.layout else {
            return Ok(None);
        };
        if !cfg!(unix) {
            return Ok(None);
        }
        Ok(Some(StoredFrames {
            file: Arc::new(self.src.get_ref().try_clone()?),
            chunks: chunks.as_slice().into(),
            frame_len: self.frame_len,
            limits: self.options.blosc.clone(),
            swap: self.swap_unit(),
        }))
    }
}

/// Reads the frames of a plain MRC file at their offsets, from any thread (see
/// [`Reader::plain_frames`]).
#[derive(Debug, Clone)]
pub struct PlainFrames {
    file: Arc<File>,
    offset: u64,
    frame_len: usize,
    frames: usize,
    swap: Option<usize>,
}

impl PlainFrames {
    /// Reads frame `i` into `dst` (exactly one frame's bytes), in the machine's byte order. A
    /// failed or short read is an [`Error::Format`] naming the frame and its offset.
    pub fn read_frame(&self, i: usize, dst: &mut [u8]) -> Result<()> {
        if i >= self.frames || dst.len() != self.frame_len {
            return Err(Error::InvalidArgument(format!(
                "frame {i} ({} bytes) requested from a file of {} frames of {} bytes",
                dst.len(),
                self.frames,
                self.frame_len
            )));
        }
        let at = self.offset + i as u64 * self.frame_len as u64;
        read_exact_at(&self.file, dst, at)
            .map_err(|e| Error::format(format!("reading frame {i}: {e}"), at))?;
        if let Some(unit) = self.swap {
            swap_bytes(dst, unit);
        }
        Ok(())
    }
}

/// Reads the stored chunks of an MRCZ file at their offsets, from any thread (see
/// [`Reader::stored_frames`]).
#[derive(Debug, Clone)]
pub struct StoredFrames {
    file: Arc<File>,
    chunks: Arc<[Extent]>,
    frame_len: usize,
    limits: blosc::Limits,
    swap: Option<usize>,
}

impl StoredFrames {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.chunks.len()
    }

    /// Reads frame `i`'s chunk into `buf` (resized to the chunk; pass a spare buffer to reuse its
    /// allocation) without decoding it, like [`Reader::read_stored`]. A failed or short read is an
    /// [`Error::Format`] naming the frame and its offset.
    pub fn read_stored(&self, i: usize, mut buf: Vec<u8>) -> Result<StoredFrame> {
        let &(at, len) = self.chunks.get(i).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "frame {i} requested from a file of {} frames",
                self.frames()
            ))
        })?;
        buf.resize(len, 0);
        read_exact_at(&self.file, &mut buf, at)
            .map_err(|e| Error::format(format!("reading frame {i}: {e}"), at))?;
        Ok(StoredFrame {
            index: i,
            bytes: buf,
            frame_len: self.frame_len,
            compressed: true,
            limits: self.limits.clone(),
            swap: self.swap,
        })
    }
}

/// Fills `dst` from byte `at` of `file` without moving its cursor (Unix `pread`).
#[cfg(unix)]
fn read_exact_at(file: &File, dst: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, dst, at)
}

/// Positional reads need Unix ([`Reader::plain_frames`] is `None` elsewhere).
#[cfg(not(unix))]
fn read_exact_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

impl<R: Read + Seek> Reader<R> {
    /// Reads the header and builds the frame index of an MRC/MRCZ stream.
    pub fn new(src: R) -> Result<Self> {
        Self::new_with(src, ReadOptions::default())
    }

    /// Like [`Reader::new`], with explicit options.
    pub fn new_with(mut src: R, options: ReadOptions) -> Result<Self> {
        let file_len = src.seek(SeekFrom::End(0))?;
        if file_len < HEADER_LEN as u64 {
            return Err(Error::format(
                format!("file is {file_len} bytes, shorter than the {HEADER_LEN}-byte MRC header"),
                0,
            ));
        }
        src.seek(SeekFrom::Start(0))?;
        let mut raw = [0u8; HEADER_LEN];
        src.read_exact(&mut raw)?;
        let (header, header_warnings) = Header::parse(&raw)?;
        let mut warnings: Vec<String> = header_warnings.iter().map(|w| w.to_string()).collect();

        let data_offset = header.data_offset();
        if data_offset > file_len {
            return Err(Error::format(
                format!(
                    "extended header of {} bytes runs past the end of the file ({file_len} bytes)",
                    header.nsymbt
                ),
                92,
            ));
        }
        let ext_len = data_offset - HEADER_LEN as u64;
        let metadata = if ext_len == 0 {
            Metadata::None
        } else if ext_len > options.max_metadata_bytes {
            warnings.push(format!(
                "extended header of {ext_len} bytes is larger than the {} byte limit; not read",
                options.max_metadata_bytes
            ));
            Metadata::None
        } else {
            let mut bytes = vec![0u8; ext_len as usize];
            src.read_exact(&mut bytes)?;
            match Metadata::parse(header.exttyp, bytes.clone()) {
                Ok(m) => m,
                Err(e) => {
                    warnings.push(format!("{e}; extended header kept as opaque bytes"));
                    Metadata::Opaque {
                        exttyp: header.exttyp,
                        bytes,
                    }
                }
            }
        };

        let frame_len = header.section_bytes()?;
        if frame_len > options.max_frame_bytes {
            return Err(Error::LimitsExceeded(format!(
                "one section of {}x{} {} is {frame_len} bytes, over the {} byte limit",
                header.nx,
                header.ny,
                header.mode.name(),
                options.max_frame_bytes
            )));
        }
        let frame_len = usize::try_from(frame_len)
            .map_err(|_| Error::LimitsExceeded(format!("section of {frame_len} bytes")))?;
        let nz = u64::try_from(header.nz).unwrap_or(0);

        let (layout, codec, chunk_version) = if header.is_compressed() {
            let codec = Codec::from_mrcz_id(header.compressor_id).ok_or_else(|| {
                Error::Unsupported(format!(
                    "MRCZ compressor id {} (MODE {}): only Blosc codecs 1-6 are supported",
                    header.compressor_id,
                    header.mode.code() + 1000 * header.compressor_id as i32
                ))
            })?;
            let (chunks, version) = walk_chunks(
                &mut src,
                data_offset,
                file_len,
                nz,
                frame_len,
                options.allow_incomplete,
                &mut warnings,
            )?;
            let packed: u64 = chunks.iter().map(|c| c.1 as u64).sum();
            let complete = chunks.len() as u64 == nz;
            if complete && header.packed_bytes != 0 && header.packed_bytes as u64 != packed {
                warnings.push(format!(
                    "packedBytes says {} but the chunks hold {packed} bytes",
                    header.packed_bytes
                ));
            }
            (Layout::Chunks(chunks), Some(codec), version)
        } else {
            let need = nz.checked_mul(frame_len as u64).ok_or_else(|| {
                Error::LimitsExceeded(format!("{nz} sections of {frame_len} bytes"))
            })?;
            let have = file_len - data_offset;
            let mut frames = nz;
            if have < need && options.allow_incomplete {
                frames = have / frame_len.max(1) as u64;
                warnings.push(format!(
                    "file incomplete: {frames} of {nz} sections present ({have} of {need} data bytes)"
                ));
            } else if have < need {
                return Err(Error::format(
                    format!(
                        "file truncated: {nz} sections need {need} bytes of data, found {have}"
                    ),
                    data_offset + have,
                ));
            }
            if have > need {
                warnings.push(format!(
                    "{} bytes after the last section ignored",
                    have - need
                ));
            }
            (
                Layout::Plain {
                    offset: data_offset,
                    frames: usize::try_from(frames)
                        .map_err(|_| Error::LimitsExceeded(format!("{frames} sections")))?,
                },
                None,
                None,
            )
        };

        Ok(Reader {
            src,
            header,
            metadata,
            warnings,
            layout,
            frame_len,
            codec,
            chunk_version,
            options,
            scratch: Vec::new(),
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The extended-header metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Anything odd found while opening (odd machine stamps, trailing bytes, bad metadata...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of frames (z-sections).
    pub fn frames(&self) -> usize {
        match &self.layout {
            Layout::Plain { frames, .. } => *frames,
            Layout::Chunks(c) => c.len(),
        }
    }

    /// Bytes of one decoded frame.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// The pixel mode.
    pub fn mode(&self) -> Mode {
        self.header.mode
    }

    /// The codec named by the file's MODE (`None` for plain MRC).
    pub fn codec(&self) -> Option<Codec> {
        self.codec
    }

    /// Version byte of the first Blosc chunk: 2 for Blosc1, 5 for Blosc2 (`None` when plain or
    /// empty).
    pub fn chunk_version(&self) -> Option<u8> {
        self.chunk_version
    }

    /// Total bytes of all chunks (compressed files) or of the data block (plain files).
    pub fn packed_len(&self) -> u64 {
        match &self.layout {
            Layout::Plain { .. } => self.frame_len as u64 * self.frames() as u64,
            Layout::Chunks(c) => c.iter().map(|c| c.1 as u64).sum(),
        }
    }

    /// Byte offset and length of frame `i`'s stored bytes in the file.
    pub fn frame_extent(&self, i: usize) -> Option<(u64, usize)> {
        match &self.layout {
            Layout::Plain { offset, .. } => (i < self.frames())
                .then(|| (offset + i as u64 * self.frame_len as u64, self.frame_len)),
            Layout::Chunks(c) => c.get(i).copied(),
        }
    }

    fn check_frames(&self, range: &Range<usize>, dst_len: usize) -> Result<()> {
        if range.start > range.end || range.end > self.frames() {
            return Err(Error::InvalidArgument(format!(
                "frames {}..{} requested from a file of {} frames",
                range.start,
                range.end,
                self.frames()
            )));
        }
        let want = range.len() * self.frame_len;
        if dst_len != want {
            return Err(Error::InvalidArgument(format!(
                "buffer of {dst_len} bytes for {} frames of {} bytes",
                range.len(),
                self.frame_len
            )));
        }
        Ok(())
    }

    /// Decodes frame `i` into `dst` (exactly [`frame_len`](Self::frame_len) bytes), in the machine's
    /// byte order. Other frames are not touched.
    pub fn read_frame(&mut self, i: usize, dst: &mut [u8]) -> Result<()> {
        self.read_frames(i..i + 1, dst)
    }

    /// Decodes frame `i` into a typed buffer of `frame_len / size_of::<T>()` pixels.
    pub fn read_frame_as<T: Pixel>(&mut self, i: usize, dst: &mut [T]) -> Result<()> {
        self.check_type::<T>()?;
        self.read_frame(i, bytemuck::cast_slice_mut(dst))
    }

    /// Decodes a range of frames into `dst` (`range.len() * frame_len` bytes), decompressing the
    /// chunks in parallel.
    pub fn read_frames(&mut self, range: Range<usize>, dst: &mut [u8]) -> Result<()> {
        self.check_frames(&range, dst.len())?;
        if range.is_empty() {
            return Ok(());
        }
        match &self.layout {
            Layout::Plain { offset, .. } => {
                let start = offset + range.start as u64 * self.frame_len as u64;
                nearby::read_exact(&mut self.src, start, dst)?;
            }
            Layout::Chunks(chunks) => {
                let chunks = &chunks[range.clone()];
                let (first, last) = (chunks[0], chunks[chunks.len() - 1]);
                // Chunks are contiguous: one read brings all of them.
                let span = (last.0 + last.1 as u64 - first.0) as usize;
                self.scratch.resize(span, 0);
                nearby::read_exact(&mut self.src, first.0, &mut self.scratch)?;
                let limits = &self.options.blosc;
                let scratch = &self.scratch;
                let decode = |(k, out): (usize, &mut [u8])| {
                    let (off, len) = chunks[k];
                    let at = (off - first.0) as usize;
                    decode_chunk(&scratch[at..at + len], out, limits, range.start + k)
                };
                if chunks.len() == 1 {
                    decode((0, dst))?;
                } else {
                    dst.par_chunks_mut(self.frame_len)
                        .enumerate()
                        .try_for_each(decode)?;
                }
            }
        }
        if let Some(unit) = self.swap_unit() {
            swap_bytes(dst, unit);
        }
        Ok(())
    }

    /// The unit to byte-swap decoded frames by, if the file's byte order is not the machine's.
    fn swap_unit(&self) -> Option<usize> {
        (self.header.endian != Endian::native()).then(|| self.header.mode.swap_unit())
    }

    /// Reads frame `i`'s stored bytes (a Blosc chunk, or the raw section of a plain file) into
    /// `buf` without decoding them. The returned [`StoredFrame`] owns its bytes and is `Send`, so
    /// the decoding can run on another thread (as `mrcz decompress` does, overlapping it with the
    /// writing of earlier frames); pass a spare buffer to reuse its allocation.
    pub fn read_stored(&mut self, i: usize, mut buf: Vec<u8>) -> Result<StoredFrame> {
        let (offset, len) = self.frame_extent(i).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "frame {i} requested from a file of {} frames",
                self.frames()
            ))
        })?;
        buf.resize(len, 0);
        nearby::read_exact(&mut self.src, offset, &mut buf)?;
        Ok(StoredFrame {
            index: i,
            bytes: buf,
            frame_len: self.frame_len,
            compressed: matches!(self.layout, Layout::Chunks(_)),
            limits: self.options.blosc.clone(),
            swap: self.swap_unit(),
        })
    }

    /// Decodes every frame into one typed vector (frames back to back).
    pub fn read_all<T: Pixel>(&mut self) -> Result<Vec<T>> {
        self.check_type::<T>()?;
        let total = self.frame_len.checked_mul(self.frames()).ok_or_else(|| {
            Error::LimitsExceeded(format!(
                "{} frames of {} bytes",
                self.frames(),
                self.frame_len
            ))
        })?;
        let mut out = vec![T::zeroed(); total / size_of::<T>()];
        self.read_frames(0..self.frames(), bytemuck::cast_slice_mut(&mut out))?;
        Ok(out)
    }

    fn check_type<T: Pixel>(&self) -> Result<()> {
        if T::views(self.header.mode) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{} data cannot be read as {}",
                self.header.mode.name(),
                std::any::type_name::<T>()
            )))
        }
    }

    /// Gives back the underlying source.
    pub fn into_inner(self) -> R {
        self.src
    }
}

/// Walks the chain of Blosc chunks from `pos`, reading 16 bytes per chunk: each chunk's length is
/// its header's cbytes. Returns the `(offset, length)` of every chunk and the first chunk's version.
///
/// With `allow_incomplete`, a chunk whose header or body runs past the end of the file ends the
/// walk (with a warning) instead of failing it: the file is taken to be still growing.
fn walk_chunks<R: Read + Seek>(
    src: &mut R,
    mut pos: u64,
    file_len: u64,
    nz: u64,
    frame_len: usize,
    allow_incomplete: bool,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Extent>, Option<u8>)> {
    // Each chunk takes at least 16 bytes: a lying NZ cannot make us reserve more than that.
    let cap = nz.min((file_len - pos) / 16 + 1) as usize;
    let mut chunks = Vec::with_capacity(cap);
    let mut version = None;
    let mut head = [0u8; 32];
    let incomplete = |z: u64, warnings: &mut Vec<String>| {
        warnings.push(format!(
            "file incomplete: {z} of {nz} frames present (frame {z}'s chunk is cut short by the \
             end of the file at byte {file_len})"
        ));
    };
    for z in 0..nz {
        if pos + 16 > file_len {
            if allow_incomplete {
                incomplete(z, warnings);
                return Ok((chunks, version));
            }
            return Err(Error::format(
                format!(
                    "file truncated: frame {z} of {nz} starts at byte {pos} but the file ends at {file_len}"
                ),
                pos,
            ));
        }
        // 32 bytes when the file has them, so that Blosc2 special-value chunks are recognised.
        let head = &mut head[..(file_len - pos).min(32) as usize];
        nearby::read_exact(src, pos, head)?;
        let ch = ChunkHeader::parse(head).map_err(|source| Error::Chunk { frame: z, source })?;
        if ch.nbytes != frame_len {
            return Err(Error::format(
                format!(
                    "frame {z}: chunk holds {} bytes but a section is {frame_len} bytes",
                    ch.nbytes
                ),
                pos + 4,
            ));
        }
        if let Err(why) = chunk_can_hold(&ch) {
            return Err(Error::format(format!("frame {z}: {why}"), pos));
        }
        let Some(end) = pos.checked_add(ch.cbytes as u64).filter(|&e| e <= file_len) else {
            if allow_incomplete {
                incomplete(z, warnings);
                return Ok((chunks, version));
            }
            return Err(Error::format(
                format!(
                    "file truncated: frame {z}'s chunk of {} bytes at byte {pos} runs past the end ({file_len})",
                    ch.cbytes
                ),
                pos + 12,
            ));
        };
        version.get_or_insert(ch.version);
        chunks.push((pos, ch.cbytes));
        pos = end;
    }
    if pos < file_len {
        warnings.push(format!(
            "{} bytes after the last chunk ignored",
            file_len - pos
        ));
    }
    Ok((chunks, version))
}

/// Most bytes one byte of a version-2 chunk can decode to: zstd's 32768:1 (one 4-byte RLE block
/// per 128 KiB) plus the blosc layer's per-stream slack of 128 KiB over streams of at least 5
/// bytes stays below 65536:1.
const V2_MAX_EXPANSION: u64 = 1 << 16;

/// Checks, from its header alone, that a chunk's body is large enough to decode to the `nbytes`
/// it claims, so that a 20-byte chunk cannot make a caller allocate a 2 GiB frame before decoding
/// fails. Memcpyed chunks were checked by the parser (`cbytes == nbytes + header`); Blosc2
/// special-value chunks and zero streams legitimately stand for any size: for them only
/// [`ReadOptions::max_frame_bytes`] bounds the frame.
pub(crate) fn chunk_can_hold(ch: &ChunkHeader) -> std::result::Result<(), String> {
    if ch.nbytes == 0 || ch.memcpyed || ch.special().is_some() {
        return Ok(());
    }
    if ch.version != 2 && ch.extension.is_none() {
        return Err(format!(
            "Blosc2 chunk of {} bytes is shorter than its 32-byte header",
            ch.cbytes
        ));
    }
    let blocksize = if ch.version == 2 {
        ch.blocksize
    } else {
        ch.blocksize.min(ch.nbytes)
    };
    if blocksize == 0 {
        return Err("chunk with blocksize 0".into());
    }
    let nblocks = ch.nbytes.div_ceil(blocksize) as u64;
    // Per block: a 4-byte bstart and at least one stream (4-byte size, and in version 2 at least
    // one payload byte; Blosc2 zero streams have none).
    let per_block: u64 = if ch.version == 2 { 9 } else { 8 };
    let need = nblocks
        .saturating_mul(per_block)
        .saturating_add(ch.header_len as u64);
    let cbytes = ch.cbytes as u64;
    if need > cbytes {
        return Err(format!(
            "a chunk of {cbytes} bytes cannot hold {nblocks} blocks of {blocksize} bytes \
             (nbytes {} claimed)",
            ch.nbytes
        ));
    }
    if ch.version == 2 && ch.nbytes as u64 > cbytes.saturating_mul(V2_MAX_EXPANSION) {
        return Err(format!(
            "a chunk of {cbytes} bytes cannot decode to the {} bytes it claims",
            ch.nbytes
        ));
    }
    Ok(())
}

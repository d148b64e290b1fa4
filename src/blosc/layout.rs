//! Where the blocks and streams of a chunk are: the bstarts table, the per-block stream count
//! (the "split" rules of both versions), and each stream's kind. Every offset and size read from
//! the chunk is checked here, once, before any output is written.

use super::error::{Error, corrupt, unsupported};
use super::filter::BlockFilter;
use super::header::ChunkHeader;
use super::limits::Limits;
use crate::codec::Codec;

/// c-blosc1's `MAX_SPLITS`: typesizes above this are never split in version-2 chunks.
const MAX_SPLITS: usize = 16;
/// c-blosc1's `MIN_BUFFERSIZE`, used by the version-2 split rule.
const MIN_SPLIT_ELEMENTS: usize = 128;

/// One stream of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream<'a> {
    /// `csize == neblock`: the bytes are stored as they are.
    Raw(&'a [u8]),
    /// A codec payload that decodes to exactly `neblock` bytes.
    Coded(&'a [u8]),
    /// Blosc2 `csize == 0`: `neblock` zero bytes.
    Zeros,
    /// Blosc2 `csize < 0` with token 1: `neblock` copies of one byte.
    Run(u8),
}

/// How the blocks of a (non-memcpyed, non-special) chunk are laid out.
#[derive(Debug, Clone)]
pub(crate) struct BlockLayout {
    /// Blosc2 rules (no ≥ 128 split test, zero and run streams) rather than version-2 rules.
    pub blosc2: bool,
    pub codec: Codec,
    pub typesize: usize,
    pub nbytes: usize,
    /// The effective block size (clamped, possibly recovered).
    pub blocksize: usize,
    pub nblocks: usize,
    /// Offset of the bstarts table.
    pub table_at: usize,
    /// Whether full (non-leftover) blocks are split into `typesize` streams.
    pub split: bool,
    /// The filter undone after the streams are decoded (version 2: per block; see `filter`).
    pub filter: BlockFilter,
}

impl BlockLayout {
    /// Builds the layout of `chunk` (already checked: `chunk.len() == hdr.cbytes`, nbytes > 0,
    /// not memcpyed, not special) and validates every block and stream in it.
    pub(crate) fn new(chunk: &[u8], hdr: &ChunkHeader, limits: &Limits) -> Result<Self, Error> {
        let blosc2 = hdr.version != 2;
        let codec = match hdr.codec {
            Some(Codec::Snappy) => return Err(unsupported("codec snappy")),
            Some(c) => c,
            None if blosc2 && hdr.compformat == 6 => {
                let id = hdr.extension.as_ref().map_or(0, |e| e.compcode);
                return Err(unsupported(format!("codec id {id} (plugin codec)")));
            }
            None => return Err(unsupported(format!("codec format {}", hdr.compformat))),
        };
        let typesize = hdr.typesize;
        let nbytes = hdr.nbytes;
        let mut blocksize = hdr.blocksize;
        if blosc2 {
            let ext = hdr
                .extension
                .as_ref()
                .ok_or_else(|| corrupt("Blosc2 chunk shorter than its 32-byte header"))?;
            if ext.blosc2_flags & 0x01 != 0 {
                return Err(unsupported("Blosc2 chunk with a dictionary"));
            }
            if ext.blosc2_flags & 0x08 != 0 {
                return Err(unsupported("lazy Blosc2 chunk"));
            }
            if ext.blosc2_flags & 0x80 != 0 {
                return Err(unsupported("instrumented Blosc2 chunk"));
            }
            if ext.flags2 & 0x01 != 0 {
                return Err(unsupported("Blosc2 variable-length blocks"));
            }
            if blocksize == 0 {
                return Err(corrupt("blocksize 0"));
            }
            blocksize = blocksize.min(nbytes);
            if limits.recover_v5_blocksize
                && blocksize > typesize
                && !blocksize.is_multiple_of(typesize)
            {
                blocksize = recovered_blocksize(chunk, hdr, blocksize)?;
            }
        }
        let nblocks = nbytes.div_ceil(blocksize);
        let table_at = hdr.header_len;
        let table_end = nblocks
            .checked_mul(4)
            .and_then(|t| t.checked_add(table_at))
            .filter(|&end| end <= chunk.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "bstarts table of {nblocks} blocks does not fit in {} bytes",
                    chunk.len()
                ))
            })?;
        let split = !hdr.dont_split
            && (blosc2 || (typesize <= MAX_SPLITS && blocksize / typesize >= MIN_SPLIT_ELEMENTS));
        let filter = BlockFilter::new(hdr)?;
        let layout = BlockLayout {
            blosc2,
            codec,
            typesize,
            nbytes,
            blocksize,
            nblocks,
            table_at,
            split,
            filter,
        };
        layout.validate(chunk, table_end)?;
        Ok(layout)
    }

    /// Bytes of block `j`.
    pub(crate) fn block_len(&self, j: usize) -> usize {
        (self.nbytes - j * self.blocksize).min(self.blocksize)
    }

    /// Checks every bstart and stream, and that each codec payload can possibly expand to its
    /// stream size, so that a chunk claiming gigabytes with a few bytes of body fails before the
    /// output is allocated.
    fn validate(&self, chunk: &[u8], table_end: usize) -> Result<(), Error> {
        for j in 0..self.nblocks {
            let bstart = self.bstart(chunk, j)?;
            if bstart < table_end {
                return Err(corrupt(format!(
                    "block {j} starts at {bstart}, inside the header or bstarts table"
                )));
            }
            let (neblock, streams) = self.streams(chunk, j)?;
            for (k, stream) in streams.enumerate() {
                if let Stream::Coded(payload) = stream?
                    && neblock > max_decoded_len(self.codec, payload.len())
                {
                    return Err(corrupt(format!(
                        "block {j} stream {k}: {} bytes of {} cannot decode to {neblock} bytes",
                        payload.len(),
                        self.codec
                    )));
                }
            }
        }
        Ok(())
    }

    fn bstart(&self, chunk: &[u8], j: usize) -> Result<usize, Error> {
        let at = self.table_at + 4 * j;
        let v = read_i32(chunk, at).ok_or_else(|| corrupt("bstarts table truncated"))?;
        usize::try_from(v)
            .ok()
            .filter(|&b| b < chunk.len())
            .ok_or_else(|| corrupt(format!("bstart of block {j} ({v}) is outside the chunk")))
    }

    /// The stream size and the streams of block `j`.
    pub(crate) fn streams<'a>(
        &self,
        chunk: &'a [u8],
        j: usize,
    ) -> Result<(usize, StreamIter<'a>), Error> {
        let bsize = self.block_len(j);
        let leftover = bsize < self.blocksize;
        let nstreams = if self.split && !leftover {
            self.typesize
        } else {
            1
        };
        if !bsize.is_multiple_of(nstreams) {
            return Err(corrupt(format!(
                "block {j} of {bsize} bytes cannot be split into {nstreams} streams \
                 (block size not a multiple of the typesize)"
            )));
        }
        let neblock = bsize / nstreams;
        let iter = StreamIter {
            chunk,
            pos: self.bstart(chunk, j)?,
            left: nstreams,
            neblock,
            blosc2: self.blosc2,
            block: j,
        };
        Ok((neblock, iter))
    }
}

/// Recovers the block size of a c-blosc2 3.3.5 chunk written with a block size that is not a
/// multiple of the typesize (spec §9 item 6), cross-checked against the bstarts table.
fn recovered_blocksize(chunk: &[u8], hdr: &ChunkHeader, stored: usize) -> Result<usize, Error> {
    let fixed = stored - stored % hdr.typesize;
    let first = read_i32(chunk, hdr.header_len)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| corrupt("bstarts table truncated"))?;
    let table_blocks = first.checked_sub(hdr.header_len).map(|t| t / 4);
    if table_blocks != Some(hdr.nbytes.div_ceil(fixed)) {
        return Err(corrupt(format!(
            "blocksize {stored} is not a multiple of typesize {} and the bstarts table does not \
             match the recovered blocksize {fixed}",
            hdr.typesize
        )));
    }
    Ok(fixed)
}

/// The most bytes `csize` bytes of a codec payload can decode to, with margin (LZ4 and BloscLZ
/// ≈ 255:1, deflate 1032:1, zstd 32768:1: one 4-byte RLE block per 128 KiB).
fn max_decoded_len(codec: Codec, csize: usize) -> usize {
    let (ratio, slack) = match codec {
        Codec::BloscLz | Codec::Lz4 | Codec::Lz4Hc | Codec::Snappy => (256, 1024),
        Codec::Zlib => (1040, 4096),
        Codec::Zstd => (32768, 1 << 17),
    };
    csize.saturating_mul(ratio).saturating_add(slack)
}

fn read_i32(chunk: &[u8], at: usize) -> Option<i32> {
    let b = chunk.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(b.try_into().ok()?))
}

/// The streams of one block, read and bounds-checked one at a time.
pub(crate) struct StreamIter<'a> {
    chunk: &'a [u8],
    pos: usize,
    left: usize,
    neblock: usize,
    blosc2: bool,
    block: usize,
}

impl<'a> Iterator for StreamIter<'a> {
    type Item = Result<Stream<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = self.read();
        if item.is_err() {
            self.left = 0;
        }
        Some(item)
    }
}

impl<'a> StreamIter<'a> {
    fn read(&mut self) -> Result<Stream<'a>, Error> {
        let block = self.block;
        let csize = read_i32(self.chunk, self.pos)
            .ok_or_else(|| corrupt(format!("block {block}: stream size past the chunk end")))?;
        self.pos += 4;
        let rest = &self.chunk[self.pos..];
        if csize > 0 {
            let n = csize as usize;
            let payload = rest.get(..n).ok_or_else(|| {
                corrupt(format!(
                    "block {block}: stream of {n} bytes past the chunk end ({} left)",
                    rest.len()
                ))
            })?;
            self.pos += n;
            return Ok(if n == self.neblock {
                Stream::Raw(payload)
            } else {
                Stream::Coded(payload)
            });
        }
        if !self.blosc2 {
            return Err(corrupt(format!("block {block}: stream size {csize}")));
        }
        if csize == 0 {
            return Ok(Stream::Zeros);
        }
        let token = *rest
            .first()
            .ok_or_else(|| corrupt(format!("block {block}: run token past the chunk end")))?;
        self.pos += 1;
        if token & 1 == 0 || csize < -255 {
            return Err(corrupt(format!(
                "block {block}: invalid run stream (csize {csize}, token {token})"
            )));
        }
        Ok(Stream::Run(csize.unsigned_abs() as u8))
    }
}

//! The writer of version-2 (Blosc1) chunks: input → blocks → filter → streams → codec.
//!
//! Layout choices (spec §3, §4.7), made so that c-blosc 1.x and c-blosc2 both decode the output:
//!
//! * block size: the caller's (or [`Params::default_block_size`]), rounded down to whole elements and
//!   capped at `nbytes` — never enlarged as c-blosc does for forced sizes;
//! * split into `typesize` streams iff `codec != zstd && typesize <= 16 && blocksize/typesize >=
//!   128` (c-blosc's FORWARD_COMPAT rule; the c-blosc1 decoder then expects exactly that);
//!   otherwise one stream per block and the dont_split flag;
//! * a stream that does not compress below its raw size is stored raw;
//! * the chunk is memcpyed (raw input after the header) for level 0, inputs under 128 bytes, or
//!   when the compressed chunk would exceed `nbytes + 16`;
//! * blocks are stored in order whatever the number of threads, so output is deterministic.

use rayon::prelude::*;

use super::error::{Error, unsupported};
use super::header::{FLAG_BITSHUFFLE, FLAG_DONT_SPLIT, FLAG_MEMCPYED, FLAG_SHUFFLE};
use super::limits::{
    BLOSC_MAX_BLOCKSIZE, BLOSC_MAX_BUFFERSIZE, BLOSC_MAX_TYPESIZE, MAX_OVERHEAD, MIN_BUFFERSIZE,
    PARALLEL_MIN_BYTES,
};
use super::scratch::{KEEP_BYTES, Scratch, prefix_aligned, with_scratch};
use super::{Params, Shuffle};
use crate::codec::{self, Codec, Content};

/// Largest typesize split into streams (c-blosc's `MAX_SPLITS`).
const MAX_SPLITS: usize = 16;

/// The settings of one chunk, derived from [`Params`] and the input size.
struct Plan {
    codec: Codec,
    level: u8,
    shuffle: Shuffle,
    typesize: usize,
    blocksize: usize,
    split: bool,
}

/// Compresses `src` into a new version-2 Blosc chunk.
pub fn compress(src: &[u8], params: &Params) -> Result<Vec<u8>, Error> {
    let mut dst = Vec::new();
    compress_into(src, params, &mut dst)?;
    Ok(dst)
}

/// Compresses `src` into `dst` (cleared first; its capacity is reused) as a version-2 chunk.
/// Large inputs are encoded block-parallel on rayon's pool.
pub fn compress_into(src: &[u8], params: &Params, dst: &mut Vec<u8>) -> Result<(), Error> {
    compress_chunk(src, params, dst, true, None)
}

/// Like [`compress_into`], but encodes every block on the calling thread, straight into `dst`.
/// Use it when the caller already runs one chunk per thread (as the MRCZ writer does with its
/// frames): the output is the same, and the parallel path's per-block buffers and their copy
/// into the chunk are saved.
pub fn compress_into_serial(src: &[u8], params: &Params, dst: &mut Vec<u8>) -> Result<(), Error> {
    compress_chunk(src, params, dst, false, None)
}

/// Like [`compress_into_serial`], and calls `visit` with every block of `src` in order (each byte
/// exactly once, whether or not the chunk ends up compressed), just before that block is
/// shuffled and encoded: a caller can measure the data while the block is in cache (the MRCZ
/// writer takes an 8-bit frame's statistics this way) instead of streaming it from memory twice.
pub fn compress_into_serial_visit(
    src: &[u8],
    params: &Params,
    dst: &mut Vec<u8>,
    visit: &mut dyn FnMut(&[u8]),
) -> Result<(), Error> {
    compress_chunk(src, params, dst, false, Some(visit))
}

/// A callback that sees each raw block before it is encoded.
type BlockVisitor<'a> = &'a mut dyn FnMut(&[u8]);

fn compress_chunk(
    src: &[u8],
    params: &Params,
    dst: &mut Vec<u8>,
    parallel: bool,
    mut visit: Option<BlockVisitor<'_>>,
) -> Result<(), Error> {
    let plan = plan(src.len(), params)?;
    let nbytes = src.len();
    let mut flags = plan.codec.compformat() << 5;
    flags |= match plan.shuffle {
        Shuffle::None => 0,
        Shuffle::Byte => FLAG_SHUFFLE,
        Shuffle::Bit => FLAG_BITSHUFFLE,
    };
    if !plan.split {
        flags |= FLAG_DONT_SPLIT;
    }
    dst.clear();
    dst.reserve(nbytes + MAX_OVERHEAD);
    dst.extend_from_slice(&[2, 1, flags, plan.typesize as u8]);
    dst.extend_from_slice(&(nbytes as i32).to_le_bytes());
    dst.extend_from_slice(&(plan.blocksize as i32).to_le_bytes());
    dst.extend_from_slice(&[0; 4]); // cbytes, set at the end

    let max_cbytes = nbytes + MAX_OVERHEAD;
    let mut visited = 0;
    let compressed = plan.level > 0 && nbytes >= MIN_BUFFERSIZE && {
        let nblocks = nbytes.div_ceil(plan.blocksize);
        if parallel && nblocks > 1 && nbytes >= PARALLEL_MIN_BYTES && visit.is_none() {
            encode_parallel(src, &plan, dst, max_cbytes)?
        } else {
            with_scratch(|s| {
                encode_serial(src, &plan, dst, max_cbytes, s, &mut visit, &mut visited)
            })?
        }
    };
    // Blocks the encoder did not reach (level 0, tiny input, or an early memcpy fallback).
    if let Some(v) = visit.as_mut() {
        src[visited..].chunks(plan.blocksize).for_each(v);
    }
    if !compressed {
        dst.truncate(MAX_OVERHEAD);
        dst[2] |= FLAG_MEMCPYED;
        dst.extend_from_slice(src);
    }
    let cbytes = dst.len() as i32;
    dst[12..16].copy_from_slice(&cbytes.to_le_bytes());
    Ok(())
}

/// Checks the parameters and chooses block size and split.
fn plan(nbytes: usize, params: &Params) -> Result<Plan, Error> {
    if params.level > 9 {
        return Err(Error::InvalidArgument(format!(
            "compression level {} (expected 0..=9)",
            params.level
        )));
    }
    if params.typesize == 0 {
        return Err(Error::InvalidArgument("typesize 0".into()));
    }
    if params.codec == Codec::Snappy {
        return Err(unsupported("codec snappy"));
    }
    if nbytes > BLOSC_MAX_BUFFERSIZE {
        return Err(Error::TooLarge(format!(
            "{nbytes} bytes of input, Blosc chunks hold at most {BLOSC_MAX_BUFFERSIZE}"
        )));
    }
    // As c-blosc: a typesize that does not fit the header byte is written as 1.
    let typesize = if params.typesize > BLOSC_MAX_TYPESIZE {
        1
    } else {
        params.typesize
    };
    let requested = match params.block_size {
        None => params.default_block_size(),
        Some(0) => return Err(Error::InvalidArgument("block size 0".into())),
        Some(b) => b.min(BLOSC_MAX_BLOCKSIZE),
    };
    let blocksize = if nbytes == 0 {
        1 // what c-blosc writes for an empty chunk
    } else {
        let whole = requested.max(typesize);
        let mut b = (whole - whole % typesize).min(nbytes);
        if b > typesize {
            b -= b % typesize;
        }
        b
    };
    let split = params.codec != Codec::Zstd
        && typesize <= MAX_SPLITS
        && blocksize / typesize >= MIN_BUFFERSIZE;
    Ok(Plan {
        codec: params.codec,
        level: params.level,
        shuffle: params.shuffle,
        typesize,
        blocksize,
        split,
    })
}

/// Encodes every block in order into `dst` after the header; `false` when it exceeds `max_len`.
/// `visit` sees each block before it is encoded; `visited` counts the bytes it has seen.
fn encode_serial(
    src: &[u8],
    plan: &Plan,
    dst: &mut Vec<u8>,
    max_len: usize,
    s: &mut Scratch,
    visit: &mut Option<BlockVisitor<'_>>,
    visited: &mut usize,
) -> Result<bool, Error> {
    let nblocks = src.len().div_ceil(plan.blocksize);
    let table_at = dst.len();
    dst.resize(table_at + 4 * nblocks, 0);
    for (j, block) in src.chunks(plan.blocksize).enumerate() {
        let bstart = dst.len();
        if bstart > max_len {
            return Ok(false);
        }
        dst[table_at + 4 * j..table_at + 4 * j + 4].copy_from_slice(&(bstart as i32).to_le_bytes());
        if let Some(v) = visit.as_mut() {
            v(block);
            *visited += block.len();
        }
        encode_block(block, plan, dst, s)?;
    }
    Ok(dst.len() <= max_len)
}

/// Encodes the blocks on rayon's pool in one contiguous group per thread: the first group straight
/// into `dst` on this thread, the others into pooled buffers that are then appended in order.
/// Each block is copied at most once and no buffer is allocated per block.
fn encode_parallel(
    src: &[u8],
    plan: &Plan,
    dst: &mut Vec<u8>,
    max_len: usize,
) -> Result<bool, Error> {
    let nblocks = src.len().div_ceil(plan.blocksize);
    let groups = rayon::current_num_threads().clamp(1, nblocks);
    let group_bytes = nblocks.div_ceil(groups) * plan.blocksize;
    let (first, rest) = src.split_at(group_bytes.min(src.len()));
    let table_at = dst.len();
    dst.resize(table_at + 4 * nblocks, 0);
    let data_at = dst.len();
    // Block offsets relative to the start of each group's data.
    let encode_group =
        |g: &[u8], out: &mut Vec<u8>, s: &mut Scratch| -> Result<Vec<usize>, Error> {
            let base = out.len();
            let mut starts = Vec::with_capacity(g.len().div_ceil(plan.blocksize));
            for block in g.chunks(plan.blocksize) {
                starts.push(out.len() - base);
                encode_block(block, plan, out, s)?;
            }
            Ok(starts)
        };
    let (head, tail) = rayon::join(
        || with_scratch(|s| encode_group(first, dst, s)),
        || {
            rest.par_chunks(group_bytes)
                .map(|g| {
                    let mut out = take_group_buffer();
                    let starts = with_scratch(|s| encode_group(g, &mut out, s))?;
                    Ok((out, starts))
                })
                .collect::<Result<Vec<_>, Error>>()
        },
    );
    let head = head?;
    let tail = tail?;
    let total = dst.len() + tail.iter().map(|(b, _)| b.len()).sum::<usize>();
    let fits = total <= max_len;
    if fits {
        let mut at = table_at;
        let mut base = data_at;
        let mut put = |dst: &mut Vec<u8>, starts: &[usize], base: usize| {
            for st in starts {
                dst[at..at + 4].copy_from_slice(&((base + st) as i32).to_le_bytes());
                at += 4;
            }
        };
        put(dst, &head, base);
        base = dst.len();
        for (buf, starts) in &tail {
            put(dst, starts, base);
            base += buf.len();
        }
        for (buf, _) in &tail {
            dst.extend_from_slice(buf);
        }
    }
    tail.into_iter().for_each(|(buf, _)| give_group_buffer(buf));
    Ok(fits)
}

/// Group buffers of [`encode_parallel`] kept for reuse (a fresh buffer per chunk would cost its
/// page faults every time); like the per-thread scratch, none larger than `KEEP_BYTES`.
static GROUP_BUFFERS: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
/// At most this many group buffers are kept.
const GROUP_BUFFERS_KEPT: usize = 4;

fn take_group_buffer() -> Vec<u8> {
    let mut b = GROUP_BUFFERS
        .lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_default();
    b.clear();
    b
}

fn give_group_buffer(b: Vec<u8>) {
    if b.capacity() <= KEEP_BYTES
        && let Ok(mut p) = GROUP_BUFFERS.lock()
        && p.len() < GROUP_BUFFERS_KEPT
    {
        p.push(b);
    }
}

/// Appends the streams of one block (`[i32 csize][payload]` each) to `out`.
fn encode_block(
    block: &[u8],
    plan: &Plan,
    out: &mut Vec<u8>,
    s: &mut Scratch,
) -> Result<(), Error> {
    let bsize = block.len();
    let ts = plan.typesize;
    let Scratch { codecs, a, .. } = s;
    let (filtered, content): (&[u8], Content) = match plan.shuffle {
        Shuffle::Byte if ts > 1 && bsize / ts >= 2 => {
            let buf = prefix_aligned(a, bsize);
            mrcz_simd::shuffle(ts, block, buf);
            (buf, Content::Bytes)
        }
        // Version-2 rule: bitshuffle only whole blocks of a multiple of 8 elements.
        Shuffle::Bit if bsize / ts >= 8 && (bsize / ts).is_multiple_of(8) => {
            let buf = prefix_aligned(a, bsize);
            mrcz_simd::bitshuffle(ts, block, buf);
            let planes = if ts == 1 {
                Content::BytePlanes
            } else {
                Content::WidePlanes
            };
            (buf, planes)
        }
        _ => (block, Content::Bytes),
    };
    let leftover = bsize < plan.blocksize;
    let nstreams = if plan.split && !leftover { ts } else { 1 };
    let neblock = bsize / nstreams;
    for stream in filtered.chunks_exact(neblock) {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        // A coded stream must be shorter than neblock: csize == neblock means "raw".
        let coded = codec::encode(
            plan.codec,
            plan.level,
            content,
            stream,
            out,
            neblock - 1,
            codecs,
        )
        .map_err(|e| Error::InvalidArgument(format!("encoding failed: {}", e.0)))?;
        if !coded {
            out.extend_from_slice(stream);
        }
        let csize = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&csize.to_le_bytes());
    }
    Ok(())
}

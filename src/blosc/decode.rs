//! Chunk → blocks → streams → codec: the decoder of version-2 and Blosc2 chunks.

use rayon::prelude::*;

use super::error::{Error, corrupt};
use super::header::{ChunkHeader, SpecialValue};
use super::layout::{BlockLayout, Stream};
use super::limits::{Limits, PARALLEL_MIN_BYTES};
use super::scratch::{Scratch, prefix, with_scratch};
use crate::codec;

/// What the body of a checked chunk holds.
enum Body<'a> {
    /// `nbytes == 0`.
    Empty,
    /// Raw input after the header.
    Memcpyed(&'a [u8]),
    /// A Blosc2 special value; `value` is the repeated pattern (empty = zeros).
    Repeated(&'a [u8]),
    /// Blocks of streams.
    Blocks(BlockLayout),
}

/// NaN patterns of Blosc2 NaN chunks.
const NAN_F32: [u8; 4] = 0x7fc0_0000u32.to_le_bytes();
const NAN_F64: [u8; 8] = 0x7ff8_0000_0000_0000u64.to_le_bytes();

/// Parses and checks the whole chunk: header, sizes against the buffer and the limits, and the
/// layout of every block and stream. Nothing is decoded yet.
fn check<'a>(chunk: &'a [u8], limits: &Limits) -> Result<(ChunkHeader, Body<'a>), Error> {
    let hdr = ChunkHeader::parse(chunk)?;
    if chunk.len() != hdr.cbytes {
        return Err(corrupt(format!(
            "chunk is {} bytes but its header says cbytes = {}",
            chunk.len(),
            hdr.cbytes
        )));
    }
    if hdr.nbytes > limits.max_nbytes {
        return Err(Error::TooLarge(format!(
            "chunk claims {} bytes, limit {}",
            hdr.nbytes, limits.max_nbytes
        )));
    }
    if let Some(special) = hdr.special() {
        return Ok((hdr.clone(), special_body(chunk, &hdr, special)?));
    }
    if hdr.nbytes == 0 {
        return Ok((hdr, Body::Empty));
    }
    if hdr.memcpyed {
        // parse() checked cbytes == nbytes + header_len.
        return Ok((hdr.clone(), Body::Memcpyed(&chunk[hdr.header_len..])));
    }
    let layout = BlockLayout::new(chunk, &hdr, limits)?;
    Ok((hdr, Body::Blocks(layout)))
}

fn special_body<'a>(
    chunk: &'a [u8],
    hdr: &ChunkHeader,
    special: SpecialValue,
) -> Result<Body<'a>, Error> {
    let header_only = || {
        if hdr.cbytes == hdr.header_len {
            Ok(())
        } else {
            Err(corrupt(format!(
                "special-value chunk with {} bytes after the header",
                hdr.cbytes - hdr.header_len
            )))
        }
    };
    let whole_elements = |ts: usize| {
        if hdr.nbytes.is_multiple_of(ts) {
            Ok(())
        } else {
            Err(corrupt(format!(
                "special-value chunk: nbytes {} is not a multiple of {ts}",
                hdr.nbytes
            )))
        }
    };
    match special {
        SpecialValue::Zero | SpecialValue::Uninit => {
            header_only()?;
            if special == SpecialValue::Uninit {
                whole_elements(hdr.typesize)?;
            }
            Ok(Body::Repeated(&[]))
        }
        SpecialValue::Nan => {
            header_only()?;
            whole_elements(hdr.typesize)?;
            match hdr.typesize {
                4 => Ok(Body::Repeated(&NAN_F32)),
                8 => Ok(Body::Repeated(&NAN_F64)),
                ts => Err(corrupt(format!("NaN chunk with typesize {ts}"))),
            }
        }
        SpecialValue::Value => {
            let value = &chunk[hdr.header_len..];
            if value.is_empty() || value.len() > hdr.nbytes.max(1) {
                return Err(corrupt(format!(
                    "repeated-value chunk with a {}-byte value for {} bytes",
                    value.len(),
                    hdr.nbytes
                )));
            }
            whole_elements(value.len())?;
            Ok(Body::Repeated(value))
        }
    }
}

/// Decodes `chunk` into `dst`, whose length must be the chunk's `nbytes`.
///
/// The whole chunk is validated before `dst` is written; on error `dst` may hold partial output
/// only if a codec stream turns out corrupt while decoding.
pub fn decompress_into(chunk: &[u8], dst: &mut [u8], limits: &Limits) -> Result<(), Error> {
    let (hdr, body) = check(chunk, limits)?;
    if dst.len() != hdr.nbytes {
        return Err(Error::InvalidArgument(format!(
            "destination is {} bytes, the chunk holds {}",
            dst.len(),
            hdr.nbytes
        )));
    }
    write_body(chunk, &body, dst, limits)
}

/// Decodes `chunk` into a new buffer of exactly `nbytes` bytes.
///
/// The chunk is fully validated (header, sizes, every block and stream) before the output is
/// allocated, so a chunk claiming more than its body can hold fails without allocating.
pub fn decompress(chunk: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    let (hdr, body) = check(chunk, limits)?;
    // Zeroed allocation: large buffers come straight from the OS without a memset.
    let mut dst = match body {
        Body::Memcpyed(raw) => return Ok(raw.to_vec()),
        Body::Repeated([]) => return Ok(vec![0u8; hdr.nbytes]),
        _ => vec![0u8; hdr.nbytes],
    };
    write_body(chunk, &body, &mut dst, limits)?;
    Ok(dst)
}

fn write_body(chunk: &[u8], body: &Body<'_>, dst: &mut [u8], limits: &Limits) -> Result<(), Error> {
    match body {
        Body::Empty => Ok(()),
        Body::Memcpyed(raw) => {
            dst.copy_from_slice(raw);
            Ok(())
        }
        Body::Repeated(value) => {
            if value.is_empty() {
                dst.fill(0);
            } else {
                for out in dst.chunks_exact_mut(value.len()) {
                    out.copy_from_slice(value);
                }
            }
            Ok(())
        }
        Body::Blocks(layout) => decode_blocks(chunk, layout, dst, limits),
    }
}

fn decode_blocks(
    chunk: &[u8],
    layout: &BlockLayout,
    dst: &mut [u8],
    limits: &Limits,
) -> Result<(), Error> {
    let parallel = limits.parallel && layout.nblocks > 1 && layout.nbytes >= PARALLEL_MIN_BYTES;
    if parallel {
        dst.par_chunks_mut(layout.blocksize)
            .enumerate()
            .try_for_each(|(j, out)| with_scratch(|s| decode_block(chunk, layout, j, out, s)))
    } else {
        with_scratch(|s| {
            dst.chunks_mut(layout.blocksize)
                .enumerate()
                .try_for_each(|(j, out)| decode_block(chunk, layout, j, out, s))
        })
    }
}

/// Decodes block `j` into `out` (its `bsize` bytes): streams into the filtered block, then the
/// inverse filters. Without filters the streams are decoded straight into `out`.
fn decode_block(
    chunk: &[u8],
    layout: &BlockLayout,
    j: usize,
    out: &mut [u8],
    s: &mut Scratch,
) -> Result<(), Error> {
    let bsize = out.len();
    let mut steps = layout.filter.steps(bsize).peekable();
    if steps.peek().is_none() {
        return decode_streams(chunk, layout, j, out, &mut s.codecs);
    }
    let mut a = std::mem::take(&mut s.a);
    let mut b = std::mem::take(&mut s.b);
    let result = (|| {
        decode_streams(chunk, layout, j, prefix(&mut a, bsize), &mut s.codecs)?;
        while let Some(step) = steps.next() {
            if steps.peek().is_none() {
                step.run(&a[..bsize], out);
            } else {
                step.run(&a[..bsize], prefix(&mut b, bsize));
                std::mem::swap(&mut a, &mut b);
            }
        }
        Ok(())
    })();
    s.a = a;
    s.b = b;
    result
}

/// Decodes the streams of block `j` into `filtered` (`bsize` bytes, stream k at `k * neblock`).
fn decode_streams(
    chunk: &[u8],
    layout: &BlockLayout,
    j: usize,
    filtered: &mut [u8],
    codecs: &mut codec::Contexts,
) -> Result<(), Error> {
    let (neblock, streams) = layout.streams(chunk, j)?;
    for ((k, stream), target) in streams.enumerate().zip(filtered.chunks_exact_mut(neblock)) {
        match stream? {
            Stream::Raw(bytes) => target.copy_from_slice(bytes),
            Stream::Zeros => target.fill(0),
            Stream::Run(byte) => target.fill(byte),
            Stream::Coded(payload) => codec::decode(layout.codec, payload, target, codecs)
                .map_err(|e| corrupt(format!("block {j} stream {k}: {}", e.0)))?,
        }
    }
    Ok(())
}

//! Zstandard frames through `zrip` (levels 1..=4; no checksum, like c-blosc's frames).

use zrip::encode::strategy::{self, Strategy};
use zrip::{CompressContext, CompressError, DecompressContext};

use super::CodecError;
use super::literals;

/// Decodes one zstd frame into `dst`, which must be filled exactly.
///
/// zrip decodes into a `Vec`; `buf` is the caller's reusable buffer, copied into `dst`.
pub(crate) fn decompress(
    src: &[u8],
    dst: &mut [u8],
    ctx: &mut DecompressContext,
    buf: &mut Vec<u8>,
) -> Result<(), CodecError> {
    buf.clear();
    // The limit stops a lying frame at one byte more than expected.
    let limit = dst.len().saturating_add(1);
    ctx.decompress_into_with_limit(src, buf, limit)
        .map_err(|e| CodecError::new(format!("zstd: {e}")))?;
    if buf.len() != dst.len() {
        return Err(CodecError::new(format!(
            "zstd: frame decodes to {} bytes, expected {}",
            buf.len(),
            dst.len()
        )));
    }
    dst.copy_from_slice(buf);
    Ok(())
}

/// A compression context for `level`, created on first use and re-levelled when needed.
pub(crate) fn context(
    slot: &mut Option<CompressContext>,
    level: i32,
) -> Result<&mut CompressContext, CodecError> {
    let err = |e: CompressError| CodecError::new(format!("zstd: {e}"));
    match slot {
        Some(ctx) => ctx.set_level(level).map_err(err)?,
        None => {
            let mut ctx = CompressContext::new(level).map_err(err)?;
            ctx.set_content_checksum(false);
            *slot = Some(ctx);
        }
    }
    Ok(slot.as_mut().expect("context just created"))
}

/// Appends the zstd frame of `src` to `out` if it is at most `limit` bytes long.
pub(crate) fn compress(
    src: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    ctx: &mut CompressContext,
    tmp: &mut Vec<u8>,
) -> Result<bool, CodecError> {
    let limit = limit.min(zrip::compress_bound(src.len()));
    if tmp.len() < limit {
        tmp.resize(limit, 0);
    }
    match ctx.compress_into(src, &mut tmp[..limit]) {
        Ok(n) => {
            out.extend_from_slice(&tmp[..n]);
            Ok(true)
        }
        Err(CompressError::OutputTooSmall) => Ok(false),
        Err(e) => Err(CodecError::new(format!("zstd: {e}"))),
    }
}

/// Like [`compress`], for the 8 bit planes of bitshuffled 1-byte elements (`src` is plane 0,
/// then plane 1, ...): each run of noise planes ([`literals::classify`]) becomes one frame of
/// Huffman-coded literals and raw blocks, each run of other planes one zrip frame, and the stream
/// is these frames one after another. Without a noise plane this is one zrip frame, as from
/// [`compress`].
pub(crate) fn compress_byte_planes(
    src: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    ctx: &mut CompressContext,
    tmp: &mut Vec<u8>,
    scratch: &mut literals::Scratch,
) -> Result<bool, CodecError> {
    use literals::Plane;
    let n = src.len() / 8;
    let plane = |k: usize| &src[k * n..(k + 1) * n];
    let class: [Plane; 8] = std::array::from_fn(|k| literals::classify(plane(k)));
    let literal = |k: usize| class[k] != Plane::Matchable;
    if !src.len().is_multiple_of(8) || !(0..8).any(literal) {
        return compress(src, out, limit, ctx, tmp);
    }
    let start = out.len();
    let mut k = 0;
    while k < 8 {
        let run = (k..8).take_while(|&j| literal(j) == literal(k)).count();
        let room = limit.saturating_sub(out.len() - start);
        let fits = if literal(k) {
            literals::write_frame((k..k + run).map(|j| (plane(j), class[j])), out, scratch);
            out.len() - start <= limit
        } else {
            compress(&src[k * n..(k + run) * n], out, room, ctx, tmp)?
        };
        if !fits {
            out.truncate(start);
            return Ok(false);
        }
        k += run;
    }
    Ok(true)
}

/// Search strength for bit planes of multi-byte elements (zrip's level 1 uses 4: its step grows
/// every 16 bytes without a match; 6 grows it every 64).
const PLANES_SEARCH_STRENGTH: u32 = 6;

/// Like [`compress`], for bit planes of multi-byte elements (bitshuffled float32, int16, ...).
///
/// In such a block several planes are alike: the exponent bits of a float are all set or all clear
/// together, so their planes repeat at a distance of one plane. Through a plane of noisy mantissa
/// bits zrip's level-1 match finder widens its step so fast that it rarely samples the positions
/// where the repeat starts, and the repeats stay literals: 1.22x on the benchmark's
/// gain-normalised float32 movie where C zstd level 1 makes 1.38x. A denser search (step growing
/// 4x slower, about C zstd's) finds them: 1.37x, at 5% less speed on that data. 8-bit planes gain
/// nothing from it (the same ratio at 1 and 4 counts/pixel, less at 0.1 and slower), so they keep
/// the shared context of [`compress`].
///
/// zrip takes custom parameters only in its one-shot call, which always adds a content checksum:
/// it is removed (flag cleared, last 4 bytes dropped), so frames look like c-blosc's.
pub(crate) fn compress_planes(
    src: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    level: i32,
) -> Result<bool, CodecError> {
    let err = |e: CompressError| CodecError::new(format!("zstd: {e}"));
    let mut params =
        strategy::level_params(level).ok_or_else(|| err(CompressError::InvalidLevel(level)))?;
    if params.strategy == Strategy::Fast {
        params.search_strength = params.search_strength.max(PLANES_SEARCH_STRENGTH);
    }
    let mut frame = zrip::compress_with_params(src, &params).map_err(err)?;
    strip_checksum(&mut frame)?;
    if frame.len() > limit {
        return Ok(false);
    }
    out.extend_from_slice(&frame);
    Ok(true)
}

/// Frame header descriptor bit: a 4-byte content checksum ends the frame (RFC 8878, 3.1.1.1.1).
const CHECKSUM_FLAG: u8 = 0x04;

/// Removes the content checksum of a single zstd frame, if it has one.
fn strip_checksum(frame: &mut Vec<u8>) -> Result<(), CodecError> {
    let bad = || CodecError::new("zstd: encoder produced a malformed frame");
    let fhd = *frame.get(4).ok_or_else(bad)?;
    if fhd & CHECKSUM_FLAG != 0 {
        let len = frame
            .len()
            .checked_sub(4)
            .filter(|&n| n > 5)
            .ok_or_else(bad)?;
        frame[4] = fhd & !CHECKSUM_FLAG;
        frame.truncate(len);
    }
    Ok(())
}

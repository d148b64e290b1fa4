//! Zstandard frames through `zrip` (levels 1..=4; no checksum, like c-blosc's frames).

use zrip::{CompressContext, CompressError, DecompressContext};

use super::CodecError;

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

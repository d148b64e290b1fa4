//! zlib streams (2-byte header, deflate, Adler-32) through `miniz_oxide`.

use miniz_oxide::DataFormat;
use miniz_oxide::deflate::core::{CompressorOxide, TDEFLFlush, TDEFLStatus, compress as deflate};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress as inflate, inflate_flags};

use super::CodecError;

/// Decodes one zlib stream (checksum verified); `dst` must be filled exactly.
pub(crate) fn decompress(
    src: &[u8],
    dst: &mut [u8],
    state: &mut DecompressorOxide,
) -> Result<(), CodecError> {
    state.init();
    let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
        | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
        | inflate_flags::TINFL_FLAG_COMPUTE_ADLER32;
    let (status, _read, written) = inflate(state, src, dst, 0, flags);
    match status {
        TINFLStatus::Done if written == dst.len() => Ok(()),
        TINFLStatus::Done => Err(CodecError::new(format!(
            "zlib: stream decodes to {written} bytes, expected {}",
            dst.len()
        ))),
        TINFLStatus::HasMoreOutput => Err(CodecError::new(format!(
            "zlib: stream decodes to more than {} bytes",
            dst.len()
        ))),
        other => Err(CodecError::new(format!("zlib: {other:?}"))),
    }
}

/// Appends the zlib stream of `src` (level 1..=9) to `out` if it is at most `limit` bytes long.
pub(crate) fn compress(
    src: &[u8],
    level: u8,
    out: &mut Vec<u8>,
    limit: usize,
    state: &mut CompressorOxide,
    tmp: &mut Vec<u8>,
) -> Result<bool, CodecError> {
    state.reset();
    state.set_format_and_level(DataFormat::Zlib, level);
    // Deflate never needs much more than the input (stored blocks cost 5 bytes per 64 KiB).
    let limit = limit.min(src.len() + src.len() / 64 + 1024);
    if tmp.len() < limit {
        tmp.resize(limit, 0);
    }
    let (status, read, written) = deflate(state, src, &mut tmp[..limit], TDEFLFlush::Finish);
    match status {
        TDEFLStatus::Done if read == src.len() => {
            out.extend_from_slice(&tmp[..written]);
            Ok(true)
        }
        // The output buffer is full: the stream does not fit in `limit` bytes.
        TDEFLStatus::Okay | TDEFLStatus::Done | TDEFLStatus::PutBufFailed => Ok(false),
        other => Err(CodecError::new(format!(
            "zlib: compressor status {other:?}"
        ))),
    }
}

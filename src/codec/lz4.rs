//! LZ4 raw blocks (no frame, no size prefix) through `lz4_flex`, for both `lz4` and `lz4hc`.
//!
//! lz4_flex has no high-compression mode; `lz4hc` chunks share compformat 1 with `lz4`, so any
//! LZ4 block encoder writes them correctly (spec §6.3). lz4_flex has no acceleration knob either,
//! so the Blosc level does not change the output.

use lz4_flex::block::{CompressTable, compress_into_with_table, get_maximum_output_size};

use super::CodecError;

/// Decodes one raw LZ4 block; `dst` must be filled exactly.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<(), CodecError> {
    match lz4_flex::block::decompress_into(src, dst) {
        Ok(n) if n == dst.len() => Ok(()),
        Ok(n) => Err(CodecError::new(format!(
            "lz4: block decodes to {n} bytes, expected {}",
            dst.len()
        ))),
        Err(e) => Err(CodecError::new(format!("lz4: {e}"))),
    }
}

/// Appends the LZ4 block of `src` to `out` if it is at most `limit` bytes long.
pub(crate) fn compress(
    src: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    table: &mut CompressTable,
    tmp: &mut Vec<u8>,
) -> Result<bool, CodecError> {
    // lz4_flex wants room for the worst case; compress into reusable scratch and copy.
    let bound = get_maximum_output_size(src.len());
    if tmp.len() < bound {
        tmp.resize(bound, 0);
    }
    let n = compress_into_with_table(src, &mut tmp[..bound], table)
        .map_err(|e| CodecError::new(format!("lz4: {e}")))?;
    if n > limit {
        return Ok(false);
    }
    out.extend_from_slice(&tmp[..n]);
    Ok(true)
}

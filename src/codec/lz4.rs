//! LZ4 raw blocks (no frame, no size prefix) through `lz4_flex`, for both `lz4` and `lz4hc`.
//!
//! lz4_flex has no high-compression mode; `lz4hc` chunks share compformat 1 with `lz4`, so any
//! LZ4 block encoder writes them correctly (spec §6.3). lz4_flex has no acceleration knob either,
//! so the Blosc level does not change the output.

use lz4_flex::block::{CompressTable, compress_into_with_table, get_maximum_output_size};

use super::CodecError;
use super::blosclz::copy_match;

/// Decodes one raw LZ4 block; `dst` must be filled exactly.
///
/// This decoder is our own (the encoder is lz4_flex's): lz4_flex's safe decoder copies
/// overlapping matches a byte at a time, and bit-shuffled detector frames are mostly such matches
/// (runs of zero bit planes are offset-1 matches thousands of bytes long). Here an offset-1 match
/// is a fill and any other overlap is copied in doubling chunks, all with checked slices.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<(), CodecError> {
    let n = decode_block(src, dst).map_err(|e| CodecError::new(format!("lz4: {e}")))?;
    if n != dst.len() {
        return Err(CodecError::new(format!(
            "lz4: block decodes to {n} bytes, expected {}",
            dst.len()
        )));
    }
    Ok(())
}

/// Reads an LZ4 length continuation: bytes of 255 add up until one below 255.
fn extend_len(src: &[u8], at: &mut usize, mut len: usize) -> Result<usize, &'static str> {
    loop {
        let b = *src
            .get(*at)
            .ok_or("length runs past the end of the block")?;
        *at += 1;
        len = len.checked_add(usize::from(b)).ok_or("length overflows")?;
        if b != 255 {
            return Ok(len);
        }
    }
}

/// Decodes the sequences of `src` into `dst`; returns the number of bytes written.
fn decode_block(src: &[u8], dst: &mut [u8]) -> Result<usize, &'static str> {
    let (mut i, mut o) = (0usize, 0usize);
    if src.is_empty() {
        return Err("empty block");
    }
    loop {
        let token = *src.get(i).ok_or("block ends without its last literals")?;
        i += 1;
        // Literals.
        let mut lit = usize::from(token >> 4);
        if lit == 15 {
            lit = extend_len(src, &mut i, lit)?;
        }
        let lits = src
            .get(i..i.checked_add(lit).ok_or("literal length overflows")?)
            .ok_or("literals run past the end of the block")?;
        dst.get_mut(o..o + lit)
            .ok_or("literals run past the end of the output")?
            .copy_from_slice(lits);
        i += lit;
        o += lit;
        if i == src.len() {
            return Ok(o); // the last sequence has literals only
        }
        // Match.
        let off = src.get(i..i + 2).ok_or("match offset runs past the end")?;
        let offset = usize::from(u16::from_le_bytes([off[0], off[1]]));
        i += 2;
        if offset == 0 || offset > o {
            return Err("match offset points before the start of the output");
        }
        let mut len = usize::from(token & 15);
        if len == 15 {
            len = extend_len(src, &mut i, len)?;
        }
        len += 4;
        let end = o.checked_add(len).ok_or("match length overflows")?;
        if end > dst.len() {
            return Err("match runs past the end of the output");
        }
        copy_match(dst, o, offset, len);
        o = end;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(src: &[u8]) -> Vec<u8> {
        lz4_flex::block::compress(src)
    }

    #[test]
    fn decodes_what_lz4_flex_encodes() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in [0usize, 1, 5, 13, 64, 255, 256, 1000, 70_000] {
            for kind in 0..5 {
                let data: Vec<u8> = (0..len)
                    .map(|i| match kind {
                        0 => next() as u8,
                        1 => 0,
                        2 => (i % 3) as u8,
                        3 => (next() % 4 == 0) as u8,
                        _ => (i / 300) as u8 ^ (i % 7) as u8,
                    })
                    .collect();
                let block = encode(&data);
                let mut out = vec![0xEEu8; len];
                if len == 0 {
                    // lz4_flex writes one zero token for empty input.
                    assert_eq!(decode_block(&block, &mut out), Ok(0));
                    continue;
                }
                decompress(&block, &mut out).unwrap();
                assert!(out == data, "kind {kind} len {len}");
                let mut flex = vec![0u8; len];
                assert_eq!(
                    lz4_flex::block::decompress_into(&block, &mut flex).ok(),
                    Some(len)
                );
                assert!(flex == data);
            }
        }
    }

    #[test]
    fn overlapping_matches_repeat_their_period() {
        // Literals "abc", then a match at offset 3 of length 4 + 15 + 2 = 21, then literal "Z".
        let block = [0x3F, b'a', b'b', b'c', 3, 0, 2, 0x10, b'Z'];
        let mut out = vec![0u8; 3 + 21 + 1];
        decompress(&block, &mut out).unwrap();
        assert_eq!(&out, b"abcabcabcabcabcabcabcabcZ");
    }

    #[test]
    fn lies_are_errors_not_panics() {
        let good = encode(&[7u8; 5000]);
        let mut out = vec![0u8; 5000];
        decompress(&good, &mut out).unwrap();
        // Every truncation and every single-byte change decodes or fails, never panics, and
        // never writes past the output.
        for cut in 0..good.len() {
            let _ = decompress(&good[..cut], &mut out);
        }
        for at in 0..good.len() {
            for v in [0u8, 1, 15, 16, 255] {
                let mut bad = good.clone();
                bad[at] = v;
                let _ = decompress(&bad, &mut out);
            }
        }
        // Offset 0 and an offset before the start.
        assert!(decompress(&[0x10, b'a', 0, 0, 0x00], &mut [0u8; 6]).is_err());
        assert!(decompress(&[0x10, b'a', 2, 0, 0x00], &mut [0u8; 6]).is_err());
        // A match past the output's end.
        assert!(decompress(&[0x1F, b'a', 1, 0, 200], &mut [0u8; 10]).is_err());
        // Output shorter than claimed.
        assert!(decompress(&[0x20, b'a', b'b'], &mut [0u8; 3]).is_err());
    }
}

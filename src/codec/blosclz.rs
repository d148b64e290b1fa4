//! BloscLZ: the FastLZ-derived format of Blosc's own codec (format version 1, spec §6.2).
//!
//! A stream is a sequence of tokens. The first byte's top three bits are a marker (`0x20`), so
//! the first token is always read as a literal run. For each token byte `ctrl`:
//!
//! * `ctrl < 32`: a literal run of `ctrl + 1` bytes follows;
//! * `ctrl >= 32`: a match. `L = ctrl >> 5` gives length `L + 2` for `L < 7`; `L == 7` adds
//!   extension bytes (each `255` continues). Then a distance byte `code`: the distance is
//!   `((ctrl & 31) << 8) + code + 1`, except that `code == 255` with high bits `31` announces a
//!   *far* match whose distance is `8192 +` the next two bytes (big-endian).
//!
//! A valid stream ends with a literal run: the C decoder stops without copying a trailing match.

use super::CodecError;

/// Largest distance a near match can encode: `(31 << 8) + 254 + 1`.
const MAX_NEAR_DISTANCE: usize = 8191;
/// Largest distance this encoder emits as a far match (kept a little below the format's limit,
/// `8192 + 65535`, as c-blosc's own encoder does).
const MAX_FAR_DISTANCE: usize = 65535 + 8191 - 1;
/// Longest literal run of one token.
const MAX_LITERAL_RUN: usize = 32;
/// Hash table size of the encoder (entries).
const HASH_LOG: u32 = 14;

/// Decodes one BloscLZ stream; `dst` must be filled exactly.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<(), CodecError> {
    let Some(&first) = src.first() else {
        return Err(CodecError::new("blosclz: empty stream"));
    };
    let out_len = dst.len();
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = usize::from(first & 31);
    loop {
        if ctrl < 32 {
            let run = ctrl + 1;
            if src.len() - ip < run {
                return Err(CodecError::new(
                    "blosclz: literal run past the end of the stream",
                ));
            }
            if out_len - op < run {
                return Err(CodecError::new(
                    "blosclz: literal run past the end of the block",
                ));
            }
            dst[op..op + run].copy_from_slice(&src[ip..ip + run]);
            ip += run;
            op += run;
            if ip == src.len() {
                break;
            }
        } else {
            // 64-bit accumulation: millions of 0xFF extension bytes cannot overflow (c-blosc #405).
            let mut len = (ctrl >> 5) as u64 - 1;
            let ofs_hi = (ctrl & 31) << 8;
            let mut next = || -> Result<usize, CodecError> {
                let b = *src
                    .get(ip)
                    .ok_or_else(|| CodecError::new("blosclz: match truncated"))?;
                ip += 1;
                Ok(usize::from(b))
            };
            if ctrl >> 5 == 7 {
                loop {
                    let b = next()?;
                    len += b as u64;
                    if b != 255 {
                        break;
                    }
                }
            }
            let code = next()?;
            len += 3;
            let dist = if code == 255 && ofs_hi == 31 << 8 {
                let hi = next()?;
                let lo = next()?;
                ((hi << 8) | lo) + MAX_NEAR_DISTANCE + 1
            } else {
                ofs_hi + code + 1
            };
            if ip == src.len() {
                return Err(CodecError::new("blosclz: stream ends with a match"));
            }
            if dist > op {
                return Err(CodecError::new(
                    "blosclz: match distance before the block start",
                ));
            }
            if len > (out_len - op) as u64 {
                return Err(CodecError::new("blosclz: match past the end of the block"));
            }
            copy_match(dst, op, dist, len as usize);
            op += len as usize;
        }
        ctrl = usize::from(src[ip]);
        ip += 1;
    }
    if op != out_len {
        return Err(CodecError::new(format!(
            "blosclz: stream decodes to {op} bytes, expected {out_len}"
        )));
    }
    Ok(())
}

/// Copies `len` bytes from `op - dist` to `op`, forward (overlap repeats the pattern): a fill
/// for `dist == 1`, otherwise copies whose size doubles. Shared with the LZ4 decoder.
pub(super) fn copy_match(dst: &mut [u8], op: usize, dist: usize, len: usize) {
    let from = op - dist;
    if dist >= len {
        dst.copy_within(from..from + len, op);
    } else if dist == 1 {
        let b = dst[from];
        dst[op..op + len].fill(b);
    } else {
        // Each step copies bytes that are already written; the period doubles every step.
        let mut done = 0;
        let mut period = dist;
        while done < len {
            let k = period.min(len - done);
            dst.copy_within(from..from + k, op + done);
            done += k;
            period += k;
        }
    }
}

/// Encodes `src` as one BloscLZ stream appended to `out`, if it fits in `limit` bytes.
///
/// Returns `false` (and leaves `out` as it was) when the stream would be longer than `limit`.
/// `table` is the caller's reusable hash table. A greedy single-probe LZ77: correctness over
/// ratio. Every stream starts and ends with a literal run, as decoders require.
pub(crate) fn compress(src: &[u8], out: &mut Vec<u8>, limit: usize, table: &mut Vec<u32>) -> bool {
    let start = out.len();
    let max_end = start.saturating_add(limit);
    let n = src.len();
    if n == 0 {
        return false;
    }
    table.clear();
    table.resize(1 << HASH_LOG, 0);
    let mut anchor = 0usize;
    let mut ip = 0usize;
    let mut misses = 0usize;
    // A match needs 4 readable bytes at `ip` and must leave at least one literal byte at the end.
    while ip + 4 < n {
        let seq = read_u32(src, ip);
        let h = hash(seq);
        let cand = table[h] as usize;
        table[h] = ip as u32;
        let dist = ip - cand;
        if cand < ip && dist <= MAX_FAR_DISTANCE && read_u32(src, cand) == seq {
            let max_len = n - 1 - ip;
            let len = 4 + common_prefix(&src[cand + 4..], &src[ip + 4..ip + max_len]);
            if dist <= MAX_NEAR_DISTANCE || len >= 6 {
                emit_literals(out, start, &src[anchor..ip]);
                emit_match(out, len, dist);
                if out.len() > max_end {
                    out.truncate(start);
                    return false;
                }
                ip += len;
                anchor = ip;
                misses = 0;
                if ip + 4 < n {
                    table[hash(read_u32(src, ip - 1))] = (ip - 1) as u32;
                }
                continue;
            }
        }
        misses += 1;
        // Skip faster through incompressible data.
        ip += 1 + (misses >> 6);
    }
    emit_literals(out, start, &src[anchor..]);
    if out.len() > max_end {
        out.truncate(start);
        return false;
    }
    true
}

fn read_u32(src: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([src[at], src[at + 1], src[at + 2], src[at + 3]])
}

fn hash(seq: u32) -> usize {
    (seq.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

/// Number of equal leading bytes of `a` and `b` (at most `b.len()`).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = b.len().min(a.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let diff = x ^ y;
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Appends literal runs of at most 32 bytes; the stream's first byte carries the 0x20 marker.
fn emit_literals(out: &mut Vec<u8>, stream_start: usize, lits: &[u8]) {
    for run in lits.chunks(MAX_LITERAL_RUN) {
        let mut ctrl = (run.len() - 1) as u8;
        if out.len() == stream_start {
            ctrl |= 0x20;
        }
        out.push(ctrl);
        out.extend_from_slice(run);
    }
}

/// Appends one match token (`len >= 4`, `1 <= dist <= MAX_FAR_DISTANCE`).
fn emit_match(out: &mut Vec<u8>, len: usize, dist: usize) {
    let far = dist > MAX_NEAR_DISTANCE;
    let (hi, code) = if far {
        (31u8, 255u8)
    } else {
        (((dist - 1) >> 8) as u8, ((dist - 1) & 255) as u8)
    };
    if len - 2 < 7 {
        out.push((((len - 2) as u8) << 5) | hi);
    } else {
        out.push((7 << 5) | hi);
        let mut ext = len - 9;
        while ext >= 255 {
            out.push(255);
            ext -= 255;
        }
        out.push(ext as u8);
    }
    out.push(code);
    if far {
        let d = dist - (MAX_NEAR_DISTANCE + 1);
        out.push((d >> 8) as u8);
        out.push((d & 255) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(src: &[u8]) {
        let mut out = Vec::new();
        let mut table = Vec::new();
        assert!(compress(src, &mut out, usize::MAX, &mut table));
        let mut dst = vec![0u8; src.len()];
        decompress(&out, &mut dst).unwrap();
        assert_eq!(dst, src);
    }

    #[test]
    fn spec_worked_example() {
        // b'abcd'*32 as written by c-blosc (spec §6.2).
        let stream = [
            0x23, 0x61, 0x62, 0x63, 0x64, 0xe0, 0x71, 0x03, 0x01, 0x63, 0x64,
        ];
        let mut dst = [0u8; 128];
        decompress(&stream, &mut dst).unwrap();
        assert_eq!(&dst[..], &b"abcd".repeat(32)[..]);
    }

    #[test]
    fn roundtrips() {
        roundtrip(b"a");
        roundtrip(b"abcdabcdabcdabcdabcd");
        roundtrip(&[0u8; 100_000]);
        let ramp: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        roundtrip(&ramp);
        // Far matches: a random block repeated at distance 20000.
        let mut x = 12345u32;
        let rnd: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let mut far = rnd.clone();
        far.extend_from_slice(&rnd);
        far.extend_from_slice(&rnd[..5000]);
        roundtrip(&far);
        let mut out = Vec::new();
        assert!(compress(&far, &mut out, usize::MAX, &mut Vec::new()));
        assert!(out.len() < 25_000, "far matches were used: {}", out.len());
    }

    #[test]
    fn limit_is_respected() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let rnd: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let mut out = vec![7u8];
        assert!(!compress(&rnd, &mut out, 999, &mut Vec::new()));
        assert_eq!(out, [7u8]);
    }

    #[test]
    fn rejects_malformed() {
        let mut dst = [0u8; 8];
        assert!(decompress(&[], &mut dst).is_err());
        assert!(decompress(&[0x27, 1, 2, 3], &mut dst).is_err()); // literal past input
        assert!(decompress(&[0x00, 1, 0x40, 5, 0x00, 1], &mut dst).is_err()); // distance too far
        assert!(decompress(&[0x00, 1, 0xe0, 0xff, 0xff], &mut dst).is_err()); // truncated match
        assert!(decompress(&[0x00, 1, 0x20, 0x00], &mut dst).is_err()); // ends with a match
        // Long-match extension that would overflow a 32-bit length.
        let mut evil = vec![0x00, 1, 0xe0];
        evil.extend(std::iter::repeat_n(255u8, 10_000));
        evil.extend([0, 0, 0, 1]);
        assert!(decompress(&evil, &mut dst).is_err());
    }
}

//! Zstandard frames made of literals only, for bit planes of counting noise.
//!
//! Bitshuffled 8-bit counts are eight bit planes. In a Poisson movie the low planes are noise:
//! their bytes are independent draws, so the best zstd can do with them is Huffman-code the
//! bytes one by one (order-0), and its match finder only slows it down. Worse, in a plane of
//! mostly-zero bytes (bit 2 at 1 count/pixel) zrip's level 1 finds many short runs of zeros and
//! writes them as matches that cost more than Huffman codes would: 28.7 KB against 24 KB for a
//! 128 KiB plane.
//!
//! A noise plane here becomes compressed zstd blocks whose literals section holds the whole plane
//! Huffman-coded (4 streams, zrip-core's table builder and coder) and whose sequences section is
//! empty; a plane Huffman cannot shrink by 1/64 is stored as a raw block. The planes of a run go
//! into one frame (single segment, content size declared). Other planes stay with zrip, one frame
//! per run, and a stream is the frames one after another: zstd decoders (libzstd's
//! `ZSTD_decompressDCtx` in c-blosc, zrip, ruzstd) decode concatenated frames as their
//! concatenated contents.
//!
//! Measured on the benchmark's bitshuffled 1 MiB blocks, one core: at 1 count/pixel 8.3 ms for
//! 16 MiB against 13.5 ms through zrip alone, ratio 3.99 against 3.95; at 4 counts/pixel 9.4 ms
//! against 10.6 ms, ratio 2.41 against 2.37; at 0.1, ratio 14.85 against 14.49.

use zrip_core::huffman::encode::{HuffmanEncodeTable, byte_histogram};

/// Bytes of each plane [`classify`] looks at.
const SAMPLE: usize = 16 * 1024;

/// Planes shorter than this are left to zrip (the Huffman table would not pay for itself).
const MIN_PLANE: usize = 1024;

/// Largest content of one zstd block (RFC 8878, 3.1.1.2.4).
const MAX_BLOCK: usize = 128 * 1024;

/// Zstd frame magic number.
const MAGIC: u32 = 0xFD2F_B528;

/// Reusable buffers for the Huffman coder.
#[derive(Default)]
pub(crate) struct Scratch {
    stream: Vec<u8>,
}

/// What a bit plane holds, judged by [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plane {
    /// Runs or repeats worth matching, or too short to judge: left to zrip.
    Matchable,
    /// Independent noise that Huffman codes can shrink.
    Noise,
    /// Independent noise with so nearly half its bits set (at least 7.875 bits of entropy per
    /// byte) that Huffman codes cannot save the 1/64 a compressed block must: stored raw without
    /// counting its bytes.
    Random,
}

/// Judges `plane` from its first [`SAMPLE`] bytes.
///
/// The density `q` of set bits gives the entropy of a byte of 8 independent bits, `8 h(q)`,
/// which must reach 1 bit for [`Plane::Noise`] (below that, runs of zero bytes are worth
/// matching and zrip does better). The share of bytes equal to the byte before must also be no
/// more than independent bits would give, `(q² + (1-q)²)⁸`, plus 0.02: images with structure
/// (masks, gradients, repeated patterns) repeat bytes far more often, and keep zrip's matches.
pub(crate) fn classify(plane: &[u8]) -> Plane {
    if plane.len() < MIN_PLANE {
        return Plane::Matchable;
    }
    let sample = &plane[..plane.len().min(SAMPLE)];
    let (ones, repeats) = bits_and_repeats(sample);
    let q = ones as f64 / (8 * sample.len()) as f64;
    if q <= 0.0 || q >= 1.0 {
        return Plane::Matchable;
    }
    let entropy = -8.0 * (q * q.log2() + (1.0 - q) * (1.0 - q).log2());
    let expected = (q * q + (1.0 - q) * (1.0 - q)).powi(8);
    let repeat_rate = repeats as f64 / (sample.len() - 1) as f64;
    if entropy < 1.0 || repeat_rate > expected + 0.02 {
        Plane::Matchable
    } else if entropy >= 8.0 - 8.0 / 64.0 {
        Plane::Random
    } else {
        Plane::Noise
    }
}

/// Set bits in `s`, and how many bytes of `s` equal the byte before them.
fn bits_and_repeats(s: &[u8]) -> (u64, u64) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut ones = 0u64;
    let mut differ = 0u64;
    let mut prev = 0u8;
    let (words, tail) = s.as_chunks::<8>();
    for w in words {
        let x = u64::from_le_bytes(*w);
        ones += u64::from(x.count_ones());
        // Each byte XOR the byte before it; then one bit per non-zero byte.
        let t = x ^ ((x << 8) | u64::from(prev));
        differ += u64::from(((((t & LOW7) + LOW7) | t) & !LOW7).count_ones());
        prev = w[7];
    }
    for &b in tail {
        ones += u64::from(b.count_ones());
        differ += u64::from(b != prev);
        prev = b;
    }
    // The first byte was compared with a made-up predecessor (0): do not count it either way.
    let first_differs = s.first().is_some_and(|&b| b != 0);
    let compared = s.len().saturating_sub(1) as u64;
    let differ = differ - u64::from(first_differs);
    (ones, compared - differ.min(compared))
}

/// Appends one zstd frame holding `planes` (runs of bytes, each with its [`Plane`] class) as
/// literal-only blocks, or raw blocks for [`Plane::Random`] ones.
pub(crate) fn write_frame<'a>(
    planes: impl Iterator<Item = (&'a [u8], Plane)> + Clone,
    out: &mut Vec<u8>,
    s: &mut Scratch,
) {
    let size: usize = planes.clone().map(|(p, _)| p.len()).sum();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    // Frame header descriptor: content size in 8 bytes (flag 3), single segment, no checksum,
    // no dictionary. The window is then the content size.
    out.push(0b1110_0000);
    out.extend_from_slice(&(size as u64).to_le_bytes());
    let mut blocks = planes
        .flat_map(|(p, class)| p.chunks(MAX_BLOCK).map(move |b| (b, class)))
        .peekable();
    if blocks.peek().is_none() {
        // An empty frame still needs one (empty, last) block.
        out.extend_from_slice(&block_header(true, BlockType::Raw, 0));
    }
    while let Some((block, class)) = blocks.next() {
        let last = blocks.peek().is_none();
        if class == Plane::Random {
            raw_block(block, last, out);
        } else {
            write_block(block, last, out, s);
        }
    }
}

/// The block types of RFC 8878, 3.1.1.2.2.
#[derive(Clone, Copy)]
enum BlockType {
    Raw = 0,
    Compressed = 2,
}

/// A 3-byte block header.
fn block_header(last: bool, ty: BlockType, size: usize) -> [u8; 3] {
    let v = u32::from(last) | (ty as u32) << 1 | (size as u32) << 3;
    let [a, b, c, _] = v.to_le_bytes();
    [a, b, c]
}

/// Appends `data` (at most [`MAX_BLOCK`] bytes) as one block: Huffman-coded literals and no
/// sequences, or raw when that does not save 1/64 of it.
fn write_block(data: &[u8], last: bool, out: &mut Vec<u8>, s: &mut Scratch) {
    let hist = byte_histogram(data);
    let Some(table) = HuffmanEncodeTable::from_histogram(&hist) else {
        return raw_block(data, last, out);
    };
    let bits = table.estimate_bits(&hist).unwrap_or(u64::MAX);
    let tree = table.weights_description();
    let estimate = bits.div_ceil(8) as usize + tree.len() + 6 + 5 + 1;
    // (Below 64 bytes the fourth stream could be empty; such blocks are not worth a table.)
    if data.len() < 64 || estimate >= data.len() - data.len() / 64 {
        return raw_block(data, last, out);
    }
    // Block header and literals section header (sizes filled in below), the tree, the jump
    // table (sizes of the first 3 streams), the 4 streams of (len + 3) / 4 bytes each but the
    // last, then the sequences section, whose single 0 byte says there are none.
    let at = out.len();
    out.extend_from_slice(&[0; 3 + 5]);
    let lit = out.len();
    out.extend_from_slice(tree);
    let jump = out.len();
    out.extend_from_slice(&[0; 6]);
    let seg = data.len().div_ceil(4);
    for k in 0..4 {
        let segment = &data[k * seg..((k + 1) * seg).min(data.len())];
        table.encode_single_stream_into(segment, &mut s.stream);
        out.extend_from_slice(&s.stream);
        if k < 3 {
            let n = (s.stream.len() as u16).to_le_bytes();
            out[jump + 2 * k..jump + 2 * k + 2].copy_from_slice(&n);
        }
    }
    out.push(0);
    let compressed = out.len() - 1 - lit;
    let header = literals_header(data.len(), compressed);
    if header.len() < 5 {
        // 5 bytes were kept for the header; a shorter size format moves the section back.
        out.copy_within(lit.., at + 3 + header.len());
        out.truncate(out.len() - (5 - header.len()));
    }
    out[at + 3..at + 3 + header.len()].copy_from_slice(&header);
    let size = header.len() + compressed + 1;
    out[at..at + 3].copy_from_slice(&block_header(last, BlockType::Compressed, size));
}

/// Appends `data` (at most [`MAX_BLOCK`] bytes) as a raw block.
fn raw_block(data: &[u8], last: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&block_header(last, BlockType::Raw, data.len()));
    out.extend_from_slice(data);
}

/// The header of a compressed literals section with 4 streams (RFC 8878, 3.1.1.3.1.1), in the
/// smallest size format that holds both sizes.
fn literals_header(regenerated: usize, compressed: usize) -> Vec<u8> {
    let (format, bits, len) = match regenerated.max(compressed) {
        0..1024 => (1u64, 10, 3),
        1024..16384 => (2, 14, 4),
        _ => (3, 18, 5),
    };
    let v = 2 | format << 2 | (regenerated as u64) << 4 | (compressed as u64) << (4 + bits);
    v.to_le_bytes()[..len].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of 8 independent bits, each set with probability `q` (a small LCG, fixed seed).
    fn noise(len: usize, q: f64, seed: u64) -> Vec<u8> {
        let mut x = seed;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..len)
            .map(|_| (0..8).fold(0u8, |b, i| b | (u8::from(next() < q) << i)))
            .collect()
    }

    fn decode(frames: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        zrip::DecompressContext::new()
            .decompress_into_with_limit(frames, &mut out, len + 1)
            .expect("zrip decodes the frame");
        out
    }

    #[test]
    fn noise_planes_are_told_from_sparse_and_structured_ones() {
        assert_eq!(classify(&noise(128 << 10, 0.38, 1)), Plane::Noise);
        assert_eq!(classify(&noise(128 << 10, 0.02, 2)), Plane::Noise);
        // Bit 0 at 1 count/pixel: 7.89 bits a byte.
        assert_eq!(classify(&noise(128 << 10, 0.43, 11)), Plane::Random);
        // Too few set bits: runs of zero bytes are worth matching.
        assert_eq!(classify(&noise(128 << 10, 0.01, 3)), Plane::Matchable);
        assert_eq!(classify(&vec![0; 128 << 10]), Plane::Matchable);
        // Half the bits set, but in runs of whole bytes (a mask's plane).
        let mask: Vec<u8> = (0..128 << 10)
            .map(|i| if (i / 300) % 2 == 0 { 0 } else { 0xff })
            .collect();
        assert_eq!(classify(&mask), Plane::Matchable);
        // Too short to be worth a table.
        assert_eq!(classify(&noise(MIN_PLANE - 8, 0.4, 4)), Plane::Matchable);
    }

    #[test]
    fn repeats_are_counted_across_words_and_the_tail() {
        assert_eq!(bits_and_repeats(&[]), (0, 0));
        assert_eq!(bits_and_repeats(&[7]), (3, 0));
        assert_eq!(bits_and_repeats(&[0; 19]), (0, 18));
        let s = [1, 1, 2, 2, 2, 3, 1, 1, 1, 5, 5];
        let naive = s.windows(2).filter(|w| w[0] == w[1]).count() as u64;
        let ones = s.iter().map(|b: &u8| u64::from(b.count_ones())).sum();
        assert_eq!(bits_and_repeats(&s), (ones, naive));
    }

    #[test]
    fn frames_decode_to_their_planes() {
        // Noise of every density, a plane longer than a zstd block, a constant plane, planes
        // small enough for literals size formats 1 and 2, the smallest coded, tiny and empty ones.
        let planes = [
            noise(128 << 10, 0.43, 5),
            noise(128 << 10, 0.25, 6),
            noise(300 << 10, 0.02, 7),
            vec![9; 5000],
            noise(700, 0.3, 8),
            noise(12_000, 0.3, 9),
            noise(64, 0.1, 12),
            noise(67, 0.1, 13),
            noise(6, 0.3, 10),
            Vec::new(),
        ];
        let frame = |planes: &[Vec<u8>], class| {
            let mut out = Vec::new();
            let it = planes.iter().map(|p| (p.as_slice(), class));
            write_frame(it, &mut out, &mut Scratch::default());
            out
        };
        for class in [Plane::Noise, Plane::Random] {
            for p in &planes {
                let out = frame(std::slice::from_ref(p), class);
                assert_eq!(decode(&out, p.len()), *p, "{class:?}, {} bytes", p.len());
            }
            let all = planes.concat();
            let out = frame(&planes, class);
            assert_eq!(decode(&out, all.len()), all);
            // An independent decoder agrees, across several frames.
            let two = [out.clone(), out].concat();
            let mut back = vec![0u8; 2 * all.len()];
            let n = ruzstd::decoding::FrameDecoder::new()
                .decode_all(&two, &mut back)
                .expect("ruzstd decodes the frames");
            assert_eq!(n, back.len());
            assert!(back[..all.len()] == all && back[all.len()..] == all);
        }
        // Noisy planes shrink: 0.25 density is about 6.5 bits a byte. Random ones are raw.
        let p = std::slice::from_ref(&planes[1]);
        let len = planes[1].len();
        assert!(frame(p, Plane::Noise).len() < len * 83 / 100);
        assert_eq!(frame(p, Plane::Random).len(), len + 4 + 1 + 8 + 3);
    }
}

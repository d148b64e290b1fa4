//! The stream codecs inside Blosc chunks, one small module per codec.
//!
//! This is the only place a compression crate is named: zstd through `zrip`, lz4 encoded by
//! `lz4_flex` and decoded by this crate's own safe decoder (fast on the long overlapping matches
//! of bit-shuffled frames), zlib through `miniz_oxide`, and BloscLZ implemented here.
//!
//! The chunk layer ([`crate::blosc`]) calls the crate-private `decode` and `encode` once per
//! stream, with a per-thread `Contexts` holding every codec's reusable state.
//!
//! # Compression levels
//!
//! Blosc levels are 0..=9 (0 = store, handled by the chunk layer). Per codec:
//!
//! | codec | level used |
//! |---|---|
//! | zstd | zrip level `min(clevel, 4)` (zrip has no levels above 4; c-blosc uses `2*clevel - 1`) |
//! | lz4, lz4hc | lz4_flex's single mode (no acceleration or HC levels; lz4hc writes the LZ4 format) |
//! | zlib | miniz_oxide level = clevel |
//! | blosclz | this crate's greedy encoder (one mode) |

mod blosclz;
mod literals;
mod lz4;
mod zlib;
mod zstd;

use std::fmt;
use std::str::FromStr;

/// A Blosc codec, as named by MRCZ's `MODE / 1000` compressor id and by Blosc chunk headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// BloscLZ (MRCZ id 1).
    BloscLz,
    /// LZ4, fast mode (MRCZ id 2).
    Lz4,
    /// LZ4, high-compression mode (MRCZ id 3; same stream format as LZ4).
    Lz4Hc,
    /// Snappy (MRCZ id 4): legacy, recognised but not supported.
    Snappy,
    /// zlib (MRCZ id 5).
    Zlib,
    /// Zstandard (MRCZ id 6).
    Zstd,
}

impl Codec {
    /// Every codec, in MRCZ id order.
    pub const ALL: [Codec; 6] = [
        Codec::BloscLz,
        Codec::Lz4,
        Codec::Lz4Hc,
        Codec::Snappy,
        Codec::Zlib,
        Codec::Zstd,
    ];

    /// The codecs this crate reads and writes ([`ALL`](Self::ALL) but [`Snappy`](Self::Snappy)),
    /// in MRCZ id order.
    pub const SUPPORTED: [Codec; 5] = [
        Codec::BloscLz,
        Codec::Lz4,
        Codec::Lz4Hc,
        Codec::Zlib,
        Codec::Zstd,
    ];

    /// The codec for an MRCZ compressor id (`MODE / 1000`), 1..=6.
    pub fn from_mrcz_id(id: u32) -> Option<Codec> {
        Some(match id {
            1 => Codec::BloscLz,
            2 => Codec::Lz4,
            3 => Codec::Lz4Hc,
            4 => Codec::Snappy,
            5 => Codec::Zlib,
            6 => Codec::Zstd,
            _ => return None,
        })
    }

    /// The MRCZ compressor id (`MODE / 1000`) of this codec.
    pub fn mrcz_id(self) -> u32 {
        match self {
            Codec::BloscLz => 1,
            Codec::Lz4 => 2,
            Codec::Lz4Hc => 3,
            Codec::Snappy => 4,
            Codec::Zlib => 5,
            Codec::Zstd => 6,
        }
    }

    /// The Blosc name (`blosclz`, `lz4`, `lz4hc`, `snappy`, `zlib`, `zstd`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::BloscLz => "blosclz",
            Codec::Lz4 => "lz4",
            Codec::Lz4Hc => "lz4hc",
            Codec::Snappy => "snappy",
            Codec::Zlib => "zlib",
            Codec::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown codec '{s}' (expected blosclz, lz4, lz4hc, zlib or zstd)")
            })
    }
}

impl Codec {
    /// The 3-bit `compformat` stored in bits 5–7 of a Blosc flags byte (0 blosclz, 1 lz4 and
    /// lz4hc, 2 snappy, 3 zlib, 4 zstd).
    pub fn compformat(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 | Codec::Lz4Hc => 1,
            Codec::Snappy => 2,
            Codec::Zlib => 3,
            Codec::Zstd => 4,
        }
    }

    /// The codec of a `compformat` (flags bits 5–7); lz4hc reads as [`Codec::Lz4`] since both
    /// share one format. `None` for 5..=7 (Blosc2 uses 6 and 7 for codecs named elsewhere).
    pub fn from_compformat(compformat: u8) -> Option<Codec> {
        Some(match compformat {
            0 => Codec::BloscLz,
            1 => Codec::Lz4,
            2 => Codec::Snappy,
            3 => Codec::Zlib,
            4 => Codec::Zstd,
            _ => return None,
        })
    }

    /// The codec of a Blosc2 `compcode` (header byte 22, API codes: 0 blosclz, 1 lz4, 2 lz4hc,
    /// 3 snappy, 4 zlib, 5 zstd). `None` for plugin codecs.
    pub fn from_blosc2_compcode(code: u8) -> Option<Codec> {
        Some(match code {
            0 => Codec::BloscLz,
            1 => Codec::Lz4,
            2 => Codec::Lz4Hc,
            3 => Codec::Snappy,
            4 => Codec::Zlib,
            5 => Codec::Zstd,
            _ => return None,
        })
    }
}

/// Why one codec stream could not be decoded or encoded (the chunk layer adds where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodecError(pub(crate) String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_is_every_codec_but_snappy() {
        let expected: Vec<Codec> = Codec::ALL
            .into_iter()
            .filter(|&c| c != Codec::Snappy)
            .collect();
        assert_eq!(Codec::SUPPORTED.to_vec(), expected);
    }

    #[test]
    fn every_codec_respects_the_limit() {
        let mut ctx = Contexts::default();
        let src: Vec<u8> = (0..5000u32).map(|i| (i % 10) as u8).collect();
        // Eight 4 KiB planes: noise of falling density, then zeros with a few bytes set, so
        // literal-only and zrip frames alternate.
        let mut x = 1u32;
        let planes: Vec<u8> = (0..8 * 4096usize)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let r = (x >> 16) as u8;
                match i / 4096 {
                    0..3 => r & (0xff >> (3 * (i / 4096))),
                    5 => r & 1,
                    _ => u8::from(i % 1000 == 0),
                }
            })
            .collect();
        let cases = [Codec::BloscLz, Codec::Lz4, Codec::Zlib, Codec::Zstd]
            .into_iter()
            .map(|c| (c, Content::Bytes, &src))
            .chain([
                (Codec::Zstd, Content::WidePlanes, &src),
                (Codec::Zstd, Content::BytePlanes, &src),
                (Codec::Zstd, Content::BytePlanes, &planes),
            ]);
        for (codec, content, src) in cases {
            for level in [1, 5, 9] {
                let mut out = vec![9u8];
                let encode = |src: &[u8], out: &mut Vec<u8>, limit, ctx: &mut Contexts| {
                    encode(codec, level, content, src, out, limit, ctx)
                };
                assert!(encode(src, &mut out, usize::MAX, &mut ctx).unwrap());
                let n = out.len() - 1;
                let mut dst = vec![0u8; src.len()];
                decode(codec, &out[1..], &mut dst, &mut ctx).unwrap();
                assert_eq!(dst, *src, "{codec} {content:?}");
                // One byte too few: refused, and `out` untouched.
                for limit in [0, 1, n - 1] {
                    let mut out = vec![9u8];
                    assert!(!encode(src, &mut out, limit, &mut ctx).unwrap());
                    assert_eq!(out, [9u8], "{codec} limit {limit}");
                }
                // Decoding into a buffer of the wrong size fails.
                let mut short = vec![0u8; src.len() - 1];
                assert!(
                    decode(codec, &out[1..], &mut short, &mut ctx).is_err(),
                    "{codec}"
                );
                let mut long = vec![0u8; src.len() + 1];
                assert!(
                    decode(codec, &out[1..], &mut long, &mut ctx).is_err(),
                    "{codec}"
                );
            }
        }
        let mut one = [0u8; 1];
        assert!(decode(Codec::Snappy, &[0], &mut one, &mut ctx).is_err());
    }
}

impl CodecError {
    fn new(msg: impl Into<String>) -> Self {
        CodecError(msg.into())
    }
}

/// Reusable per-thread state of every codec: contexts, hash tables and scratch buffers.
///
/// Created empty; each member is allocated on first use and kept for the next stream.
#[derive(Default)]
pub(crate) struct Contexts {
    zstd_decoder: Option<zrip::DecompressContext>,
    zstd_encoder: Option<zrip::CompressContext>,
    lz4_table: Option<lz4_flex::block::CompressTable>,
    zlib_decoder: Option<Box<miniz_oxide::inflate::core::DecompressorOxide>>,
    zlib_encoder: Option<Box<miniz_oxide::deflate::core::CompressorOxide>>,
    blosclz_table: Vec<u32>,
    literals: literals::Scratch,
    /// Codec output before it is copied where it belongs.
    tmp: Vec<u8>,
}

impl Contexts {
    /// Frees scratch buffers larger than `keep` bytes.
    pub(crate) fn trim(&mut self, keep: usize) {
        if self.tmp.capacity() > keep {
            self.tmp = Vec::new();
        }
    }
}

/// Decodes one stream of `codec` into `dst`, which it must fill exactly.
pub(crate) fn decode(
    codec: Codec,
    src: &[u8],
    dst: &mut [u8],
    ctx: &mut Contexts,
) -> Result<(), CodecError> {
    match codec {
        Codec::BloscLz => blosclz::decompress(src, dst),
        Codec::Lz4 | Codec::Lz4Hc => lz4::decompress(src, dst),
        Codec::Zlib => {
            let state = ctx.zlib_decoder.get_or_insert_with(Default::default);
            zlib::decompress(src, dst, state)
        }
        Codec::Zstd => {
            let state = ctx.zstd_decoder.get_or_insert_with(Default::default);
            zstd::decompress(src, dst, state, &mut ctx.tmp)
        }
        Codec::Snappy => Err(CodecError::new("codec snappy is not supported")),
    }
}

/// The zrip level used for a Blosc level (1..=9): `min(clevel, 4)`.
pub(crate) fn zstd_level(clevel: u8) -> i32 {
    i32::from(clevel.clamp(1, 4))
}

/// What a stream holds, as far as an encoder can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    /// Bytes with no known layout.
    Bytes,
    /// The 8 bit planes of 1-byte elements (bitshuffled, typesize 1), one after another: zstd
    /// Huffman-codes the planes that are noise (see [`zstd::compress_byte_planes`]).
    BytePlanes,
    /// Bit planes of multi-byte elements (bitshuffled, typesize ≥ 2): zstd searches them more
    /// densely (see [`zstd::compress_planes`]).
    WidePlanes,
}

/// Encodes `src` with `codec` at Blosc level `level` (1..=9) and appends the stream to `out` if
/// it is at most `limit` bytes long; returns whether it did (`out` is unchanged otherwise).
/// `content` says what `src` holds.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode(
    codec: Codec,
    level: u8,
    content: Content,
    src: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    ctx: &mut Contexts,
) -> Result<bool, CodecError> {
    if limit == 0 || src.is_empty() {
        return Ok(false);
    }
    match codec {
        Codec::BloscLz => Ok(blosclz::compress(src, out, limit, &mut ctx.blosclz_table)),
        Codec::Lz4 | Codec::Lz4Hc => {
            let table = ctx
                .lz4_table
                .get_or_insert_with(lz4_flex::block::CompressTable::large);
            lz4::compress(src, out, limit, table, &mut ctx.tmp)
        }
        Codec::Zlib => {
            let state = ctx.zlib_encoder.get_or_insert_with(Default::default);
            zlib::compress(src, level.clamp(1, 9), out, limit, state, &mut ctx.tmp)
        }
        Codec::Zstd if content == Content::WidePlanes => {
            zstd::compress_planes(src, out, limit, zstd_level(level))
        }
        Codec::Zstd => {
            let enc = zstd::context(&mut ctx.zstd_encoder, zstd_level(level))?;
            if content == Content::BytePlanes {
                zstd::compress_byte_planes(src, out, limit, enc, &mut ctx.tmp, &mut ctx.literals)
            } else {
                zstd::compress(src, out, limit, enc, &mut ctx.tmp)
            }
        }
        Codec::Snappy => Err(CodecError::new("codec snappy is not supported")),
    }
}

//! The stream codecs inside Blosc chunks, one small module per codec.
//!
//! This is the only place a compression crate is named: zstd through `zrip`, lz4 through
//! `lz4_flex`, zlib through `miniz_oxide`, and BloscLZ implemented here.

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

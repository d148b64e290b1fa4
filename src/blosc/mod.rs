//! One Blosc chunk ⇄ blocks ⇄ streams.
//!
//! A chunk is a header, a table of block offsets, and per block one or `typesize` streams, each
//! coded by one codec of [`crate::codec`] after a byte or bit shuffle of the block.
//!
//! * Reading: [`decompress`] / [`decompress_into`] accept version-2 (Blosc1) chunks with the
//!   c-blosc 1.x rules and version-3..5 (Blosc2) chunks with the c-blosc2 rules (filter
//!   pipeline, zero and run streams, special values). Every field is checked before output is
//!   written; hostile chunks give an [`Error`], never a panic or an oversized allocation.
//!   Large chunks decode their blocks in parallel.
//! * Writing: [`compress`] / [`compress_into`] write version-2 chunks that c-blosc 1.x and
//!   c-blosc2 both read (see the `encode` module notes for the layout choices).
//! * [`ChunkHeader::parse`] reads sizes from the first 16 bytes, for walking files.
//!
//! Modules, in data-path order: `header` (16/32-byte header), `layout` (bstarts, splits,
//! streams), `filter` (unshuffle), `decode`, `encode`, `limits`, `scratch` (per-thread buffers).

mod decode;
mod encode;
mod error;
mod filter;
mod header;
mod layout;
mod limits;
mod scratch;

pub use decode::{decompress, decompress_into};
pub use encode::{compress, compress_into, compress_into_serial, compress_into_serial_visit};
pub use error::Error;
pub use header::{ChunkHeader, Extension, SpecialValue};
pub use limits::{
    BLOSC_MAX_BLOCKSIZE, BLOSC_MAX_BUFFERSIZE, BLOSC_MAX_TYPESIZE, EXTENDED_HEADER_LEN, Limits,
    MAX_OVERHEAD, MIN_BUFFERSIZE, PARALLEL_MIN_BYTES,
};

use crate::codec::Codec;

/// Block size the writer uses when [`Params::block_size`] is `None`: 1 MiB (but see
/// [`ZLIB_PLANES_BLOCK_SIZE`]).
///
/// The MRCZ paper and measurements favour ~1 MiB blocks (python-mrcz's 64 KiB gives worse ratio
/// and speed with zstd). The one place to tune it.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;

/// Default block size for zlib on bit planes of multi-byte elements (bitshuffle, typesize ≥ 2):
/// 128 KiB.
///
/// Alike planes (a float's exponent bits) repeat one plane apart, a block / (8 × typesize). zlib
/// only looks 32 KiB back: with 1 MiB blocks of float32 the planes are 32 KiB apart and the
/// benchmark's float32 movie compresses 1.13x; with 128 KiB blocks (4 KiB planes) 1.367x,
/// against python-mrcz's 1.36x at 64 KiB (1.365x here).
pub const ZLIB_PLANES_BLOCK_SIZE: usize = 128 << 10;

/// The shuffle filter applied to each block before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Shuffle {
    /// No filter.
    #[default]
    None,
    /// Byte shuffle: byte `j` of every element grouped together.
    Byte,
    /// Bitshuffle: bit planes of the elements (version-2 rule: only blocks of a multiple of 8
    /// elements are transposed).
    Bit,
}

impl Shuffle {
    /// Every filter: none, byte, bit.
    pub const ALL: [Shuffle; 3] = [Shuffle::None, Shuffle::Byte, Shuffle::Bit];
}

/// How [`compress`] writes a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    /// The stream codec ([`Codec::Snappy`] is refused).
    pub codec: Codec,
    /// Blosc compression level 0..=9; 0 stores the input (memcpyed chunk). See
    /// [`crate::codec`] for what each codec does with it.
    pub level: u8,
    /// The shuffle filter.
    pub shuffle: Shuffle,
    /// Bytes per element (≥ 1; values above 255 are written as 1, as c-blosc does).
    pub typesize: usize,
    /// Bytes per block; `None` = [`DEFAULT_BLOCK_SIZE`]. Rounded down to whole elements and capped
    /// at the input size; never enlarged.
    pub block_size: Option<usize>,
}

impl Params {
    /// Parameters with the default block size.
    pub fn new(codec: Codec, level: u8, shuffle: Shuffle, typesize: usize) -> Params {
        Params {
            codec,
            level,
            shuffle,
            typesize,
            block_size: None,
        }
    }

    /// The block size used when [`block_size`](Self::block_size) is `None`:
    /// [`ZLIB_PLANES_BLOCK_SIZE`] for zlib on bit planes of multi-byte elements,
    /// [`DEFAULT_BLOCK_SIZE`] otherwise.
    pub fn default_block_size(&self) -> usize {
        if self.codec == Codec::Zlib && self.shuffle == Shuffle::Bit && self.typesize > 1 {
            ZLIB_PLANES_BLOCK_SIZE
        } else {
            DEFAULT_BLOCK_SIZE
        }
    }
}

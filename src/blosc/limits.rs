//! Size constants of the Blosc formats and the caller's decoding limits.

/// Largest uncompressed chunk Blosc accepts: `i32::MAX - 16` = 2 147 483 631 bytes.
pub const BLOSC_MAX_BUFFERSIZE: usize = i32::MAX as usize - MAX_OVERHEAD;

/// Largest block size c-blosc 1.x accepts: `(i32::MAX - 255 * 4) / 3` = 715 827 542 bytes.
pub const BLOSC_MAX_BLOCKSIZE: usize = (i32::MAX as usize - 255 * 4) / 3;

/// Largest typesize a header can hold.
pub const BLOSC_MAX_TYPESIZE: usize = 255;

/// Size of a version-2 header, and the most a version-2 chunk can exceed its input by.
pub const MAX_OVERHEAD: usize = 16;

/// Size of the extended (Blosc2) header.
pub const EXTENDED_HEADER_LEN: usize = 32;

/// Inputs shorter than this are always stored (memcpyed) by the writer, as c-blosc does.
pub const MIN_BUFFERSIZE: usize = 128;

/// Chunks at least this large, with more than one block, decode and encode blocks in parallel.
pub const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// What the decoder accepts and how it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest `nbytes` a chunk may claim; larger chunks fail with [`super::Error::TooLarge`]
    /// before anything is allocated. Default: [`BLOSC_MAX_BUFFERSIZE`].
    pub max_nbytes: usize,
    /// Repair version-5 chunks written by c-blosc2 3.3.5 with a block size that is not a multiple
    /// of the typesize (spec §9 item 6: blocks were cut at the rounded-down size, the header holds
    /// the requested one). Off by default: such chunks are rejected as corrupt.
    pub recover_v5_blocksize: bool,
    /// Decode the blocks of large chunks on several threads (rayon's global pool). Default: true.
    pub parallel: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nbytes: BLOSC_MAX_BUFFERSIZE,
            recover_v5_blocksize: false,
            parallel: true,
        }
    }
}

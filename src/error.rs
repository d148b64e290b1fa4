//! The library's error type.
//!
//! Every message names what was wrong and where, so that the command-line tool can print it on one
//! line behind the file name.

use crate::blosc;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading, writing or filtering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not a valid MRC/MRCZ file: `what` says why, `offset` is the byte offset in the
    /// file where the problem was found.
    #[error("{what} (at byte {offset})")]
    Format {
        /// What is wrong.
        what: String,
        /// Byte offset in the file.
        offset: u64,
    },
    /// A valid file uses a feature this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Decoding would need more memory than the file can justify or the caller allows.
    #[error("limit exceeded: {0}")]
    LimitsExceeded(String),
    /// A Blosc chunk of a frame failed to decode or encode.
    #[error("frame {frame}: {source}")]
    Chunk {
        /// The z-section (frame) index.
        frame: u64,
        /// What the chunk decoder reported.
        #[source]
        source: blosc::Error,
    },
    /// The extended-header metadata could not be parsed or written.
    #[error("metadata: {0}")]
    Metadata(String),
    /// The caller passed arguments that cannot work (mismatched shapes, wrong buffer sizes, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Shorthand for [`Error::Format`].
    pub fn format(what: impl Into<String>, offset: u64) -> Self {
        Error::Format {
            what: what.into(),
            offset,
        }
    }
}

//! Errors of the chunk decoder and encoder.

/// Why a Blosc chunk could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The chunk is malformed; the message says which field and why.
    #[error("corrupt Blosc chunk: {0}")]
    Corrupt(String),
    /// The chunk is valid but uses a codec or filter this crate does not implement.
    #[error("unsupported in Blosc chunk: {0}")]
    Unsupported(String),
    /// The chunk would decode to more bytes than allowed.
    #[error("Blosc chunk too large: {0}")]
    TooLarge(String),
    /// The caller's arguments cannot work (destination of the wrong length, invalid parameters).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Shorthand for [`Error::Corrupt`].
pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Corrupt(msg.into())
}

/// Shorthand for [`Error::Unsupported`].
pub(crate) fn unsupported(msg: impl Into<String>) -> Error {
    Error::Unsupported(msg.into())
}

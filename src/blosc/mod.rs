//! One Blosc chunk ⇄ blocks ⇄ streams.

mod error;

pub use error::Error;

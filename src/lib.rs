//! # mrcz
//!
//! A pure, safe-Rust reader and writer of MRC2014 and MRCZ files, the compressed MRC variant used
//! for cryo-electron-microscopy movies, with the detector-correction filters of the MRCZ paper.
//!
//! The data path, top to bottom:
//!
//! * [`mrcz`]: the container. [`mrcz::Reader`] and [`mrcz::Writer`] turn frames into chunks and
//!   back, one Blosc chunk per z-section.
//! * [`mrc`]: the 1024-byte MRC2014 header and the extended-header metadata.
//! * [`blosc`]: one Blosc chunk ⇄ blocks ⇄ streams (Blosc1 version-2 read/write, Blosc2 version-5
//!   read).
//! * [`codec`]: the stream codecs (zstd, lz4, zlib, blosclz), and [`mrcz_simd`] for the shuffles.
//! * [`filters`]: outlier removal, gain normalisation, KOMA and the correlated-noise metric, as
//!   pure functions on frames.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blosc;
pub mod codec;
pub mod error;
pub mod filters;
pub mod mrc;
pub mod mrcz;
pub mod synthetic;

pub use error::{Error, Result};

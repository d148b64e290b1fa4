//! The MRCZ container: frames ⇄ Blosc chunks.
//!
//! An MRCZ file is an MRC2014 header whose MODE is `mode + 1000 × codec id`, the extended header
//! (JSON metadata), then one Blosc chunk per z-section, back to back. A plain MRC file has the raw
//! sections instead. [`Reader`] reads both; [`Writer`] writes both.

mod destination;
#[cfg(target_os = "linux")]
pub mod direct;
mod nearby;
pub mod output;
mod pixel;
mod reader;
mod stats;
mod validate;
pub mod writebehind;
mod writer;

pub use destination::output_destination;
pub use pixel::{Pixel, swap_bytes, unpack_uint4};
pub use reader::{PlainFrames, ReadOptions, Reader, StoredFrame, StoredFrames};
pub use stats::Stats;
pub use validate::{
    FileCheck, Finding, ValidateOptions, ValidationReport, validate_file, validate_stream,
    verify_readers, verify_same_pixels,
};
pub use writer::{Compression, FileWriter, Summary, WriteOptions, Writer, commit_file, temp_path};

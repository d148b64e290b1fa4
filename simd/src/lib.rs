//! Byte-shuffle and bitshuffle kernels in the layout Blosc uses.
//!
//! * **Byte shuffle** groups byte `j` of every element together: for `q = len / ts` whole
//!   elements, `dst[j*q + i] = src[i*ts + j]`; the `len % ts` trailing bytes are copied.
//! * **Bitshuffle** transposes bits: for `m` elements (a multiple of 8) it writes `8*ts` bit rows of
//!   `m / 8` bytes, row `8*j + k` holding bit `k` of byte `j` of each element, least significant bit
//!   first inside each output byte. The public functions transpose the first `n - n % 8` elements
//!   and copy the rest unchanged (the rule of Blosc2 chunks; Blosc1's all-or-nothing rule is the
//!   caller's choice).
//!
//! [`scalar`] is the plain reference; the crate-level functions are the fast paths and always give
//! the same bytes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod scalar;

/// Byte-shuffles `src` into `dst` for elements of `typesize` bytes. `dst.len()` must equal `src.len()`.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    scalar::shuffle(typesize, src, dst)
}

/// Inverse of [`shuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    scalar::unshuffle(typesize, src, dst)
}

/// Bitshuffles the first `n - n % 8` elements of `src` (n = `src.len() / typesize`) into `dst` and
/// copies the remaining bytes unchanged.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    scalar::bitshuffle(typesize, src, dst)
}

/// Inverse of [`bitshuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    scalar::bitunshuffle(typesize, src, dst)
}

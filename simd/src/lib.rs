//! Byte-shuffle and bitshuffle kernels in the layout Blosc uses.
//!
//! # Layout
//!
//! * **Byte shuffle** groups byte `j` of every element together: for `q = len / ts` whole
//!   elements, `dst[j*q + i] = src[i*ts + j]`; the `len % ts` trailing bytes are copied.
//! * **Bitshuffle** transposes bits: for `m` elements (a multiple of 8) it writes `8*ts` bit rows of
//!   `m / 8` bytes, row `8*j + k` holding bit `k` of byte `j` of each element, least significant bit
//!   first inside each output byte. The public functions transpose the first `m = n - n % 8`
//!   elements and copy the rest unchanged (the rule of Blosc2 chunks; Blosc1's all-or-nothing rule
//!   is the caller's choice).
//!
//! [`scalar`] is the plain reference; the crate-level functions are the fast paths and always give
//! the same bytes (checked by property tests against it for typesizes 1..=20).
//!
//! # Technique
//!
//! All four transposes are done by one engine (`swar` module): blocks of 64-bit words are held in
//! vectors of `u64` lanes, and a transpose is a short, precomputed sequence of *cross-word delta
//! swaps*, each exchanging one bit of the vector index with one bit of the position inside the word
//! (shift, xor, and, xor, shift, xor per pair of vectors). A byte transpose takes 3 such stages, a
//! bit transpose of 8 bytes-of-8-elements takes 6. Each lane is an independent block, so the code
//! is the same whatever the vector width.
//!
//! | typesize | shuffle / unshuffle | bitshuffle / bitunshuffle |
//! |---|---|---|
//! | 1 | `copy_from_slice` | 6 stages on 8 vectors (blocks of 64 elements per lane) |
//! | 2, 4, 8 | 3 stages on `ts` vectors (blocks of 8 elements per lane) | tile of 1024 elements: byte shuffle into scratch, then the typesize-1 bit kernel per byte plane |
//! | other | scalar, 8 elements at a time | same tile scheme, scalar byte shuffle |
//!
//! Remainders: whole 64-element (resp. 8-element) blocks the vectors cannot fill run through the
//! same engine on plain `u64`; the last few elements go through scalar code.
//!
//! # Instruction sets
//!
//! Everything is safe Rust on the [`wide`] crate, which picks instructions **at compile time** from
//! the enabled target features; there is no runtime dispatch (that would need `unsafe` or a
//! dispatch crate, and the speed-up comes from the wider registers, which a build flag gives):
//!
//! | build | vector type | instructions |
//! |---|---|---|
//! | default x86-64 | `u64x2` | SSE2 |
//! | `-C target-feature=+avx2` | `u64x4` | AVX2 |
//! | `-C target-cpu=native` on AVX-512F machines | `u64x8` | AVX-512F (LLVM also fuses xor/and into `vpternlogq`) |
//! | aarch64 | `u64x2` | NEON |
//! | anything else | `u64x2` | wide's portable scalar fallback |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod kernels;
pub mod scalar;
mod swar;

fn check(typesize: usize, src: &[u8], dst: &[u8]) {
    assert!(typesize > 0, "typesize must be positive");
    assert_eq!(
        src.len(),
        dst.len(),
        "source and destination lengths differ"
    );
}

/// Byte-shuffles `src` into `dst` for elements of `typesize` bytes. `dst.len()` must equal `src.len()`.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    let body = q * typesize;
    match typesize {
        1 => dst.copy_from_slice(src),
        2 => kernels::byte_fwd::<2, 2, 4>(src, dst, q),
        4 => kernels::byte_fwd::<4, 4, 5>(src, dst, q),
        8 => kernels::byte_fwd::<8, 8, 6>(src, dst, q),
        _ => kernels::byte_fwd_any(typesize, src, dst, q, q),
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Inverse of [`shuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let q = src.len() / typesize;
    let body = q * typesize;
    match typesize {
        1 => dst.copy_from_slice(src),
        2 => kernels::byte_inv::<2, 2, 4>(src, dst, q),
        4 => kernels::byte_inv::<4, 4, 5>(src, dst, q),
        8 => kernels::byte_inv::<8, 8, 6>(src, dst, q),
        _ => kernels::byte_inv_any(typesize, src, q, dst, q),
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Bitshuffles the first `n - n % 8` elements of `src` (n = `src.len() / typesize`) into `dst` and
/// copies the remaining bytes unchanged.
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            1 => kernels::bit_fwd::<1, 8, 0>(src, dst, m, row, 0),
            _ => kernels::bit_fwd_tiled(typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Inverse of [`bitshuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            1 => kernels::bit_inv::<1, 8, 0>(src, row, 0, dst, m),
            _ => kernels::bit_inv_tiled(typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

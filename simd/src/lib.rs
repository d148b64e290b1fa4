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
//! Bitshuffle of typesizes 1, 2, 4, 8 runs on the `bytebit` kernels: per 16-byte lane, a block
//! of 128 elements is transposed by 3-4 *byte interleave* stages (`unpack_lo` / `unpack_hi`, one
//! instruction per vector) and 3 bit delta swaps (three per vector), about 13 instructions per
//! vector. Typesize 1 stays in registers (8 vectors); typesizes 2, 4, 8 fuse the byte shuffle and
//! the bit transpose in two passes through an L1 scratch of `8 * ts` vectors. The inverse of
//! typesizes other than 1 goes through byte planes (tile of 1024 elements: typesize-1 kernel per
//! plane, then the byte unshuffle), which measured faster than the fused inverse.
//!
//! On AVX-512 the `fullwidth` kernels take over typesizes 1, 2, 4, 8 in both directions: blocks of
//! 512 elements in whole 64-byte vectors, transposed by cross-lane byte de-interleaves (`vpermt2b`,
//! `log2 ts + 3` stages) and one GFNI 8 x 8 bit transpose per vector (`vgf2p8affineqb`), in two
//! passes over a 16 or 24 KiB L1 tile of byte planes that then writes the bit rows one byte plane
//! at a time.
//!
//! Byte shuffles, the remainders the vector kernels leave, and the path for CPUs without a SIMD
//! level use the older `swar` engine: blocks of 64-bit words in vectors of `u64` lanes
//! ([`wide`]), transposed by *cross-word delta swaps* (shift, xor, and, xor, shift, xor per pair
//! of vectors; 3 stages for a byte transpose, 6 for a bit transpose).
//!
//! | typesize | shuffle / unshuffle | bitshuffle | bitunshuffle |
//! |---|---|---|---|
//! | 1 | `copy_from_slice` | `bytebit`, 8 vectors in registers (SSE2-only CPUs: `swar`); AVX-512: `fullwidth` | `bytebit`; AVX-512: `fullwidth` |
//! | 2, 4, 8 | `swar`, 3 stages on `ts` vectors | `bytebit`, fused, L1 scratch; AVX-512: `fullwidth` | tile: `bytebit` per byte plane + `swar` unshuffle; AVX-512: `fullwidth` |
//! | other | scalar, 8 elements at a time | tile: byte shuffle + typesize-1 kernel per plane | same, inverse |
//!
//! # Instruction sets
//!
//! Everything is safe Rust. The `bytebit` kernels are generic over [`fearless_simd`]'s levels,
//! the `fullwidth` ones are written for its AVX-512 level, and both are **dispatched at run
//! time**: the CPU is detected on each call (cached by std), and the kernel runs inside the safe
//! `Simd::vectorize` of the level's token, which compiles it with that level's target features
//! (the `#[target_feature]` functions and the `unsafe` calls live in `fearless_simd`).
//!
//! One intrinsic that `fearless_simd`'s portable types lack, GFNI's `vgf2p8affineqb` (a pure
//! register-to-register operation, no pointers), is called through `fearless_simd::kernel!`: that
//! macro wraps a safe function body in a `#[target_feature]` function of the level named by its
//! token argument, and calls it with the token as the proof that the CPU has those features.
//! Its expansion contains that one call in an `unsafe` block; the safety argument (a token can
//! be made in safe code only by run-time detection) is `fearless_simd`'s, as for `vectorize`.
//! `forbid(unsafe_code)` does not flag a dependency's macro expansion, and no `unsafe` is written
//! in this crate.
//!
//! | CPU level | vector | notes |
//! |---|---|---|
//! | AVX-512 (Ice Lake set: F, BW, VBMI2, GFNI, ...) | `u8x64` | default on the dev machine (Zen 4); `fullwidth` kernels |
//! | AVX2 | `u8x32` | |
//! | SSE2 / NEON | `u8x16` | |
//! | none | — | `swar` engine only |
//!
//! The `swar` engine still picks its width **at compile time** from the enabled target features
//! (`u64x2` by default, `u64x4` with `+avx2`, `u64x8` with AVX-512F), so a `-C target-cpu=native`
//! build only changes the byte shuffles and remainders.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytebit;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod fullwidth;
mod kernels;
pub mod moments;
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
    kernels::bitshuffle(bytebit::best(), typesize, src, dst);
}

/// Inverse of [`bitshuffle`].
///
/// # Panics
/// If the lengths differ or `typesize == 0`.
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    check(typesize, src, dst);
    kernels::bitunshuffle(bytebit::best(), typesize, src, dst);
}

/// Development hooks for the timing examples: each instruction-set path of the bitshuffle kernels
/// forced, whatever the dispatcher would pick. Not a stable API.
#[doc(hidden)]
pub mod dev {
    use crate::bytebit::{self, Isa};

    /// Names of the paths this CPU can run, best first, ending with `"swar"` (no vectors).
    pub fn paths() -> Vec<&'static str> {
        let mut v: Vec<&'static str> = bytebit::available().into_iter().map(name).collect();
        v.push("swar");
        v
    }

    fn name(isa: Isa) -> &'static str {
        match isa {
            Isa::V128 => "v128",
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 => "avx2",
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512 => "avx512",
        }
    }

    fn isa(path: &str) -> Option<Isa> {
        bytebit::available().into_iter().find(|&i| name(i) == path)
    }

    /// Bitshuffle (`inverse`: bitunshuffle) on the named path.
    pub fn bitshuffle_on(path: &str, inverse: bool, typesize: usize, src: &[u8], dst: &mut [u8]) {
        crate::check(typesize, src, dst);
        if inverse {
            crate::kernels::bitunshuffle(isa(path), typesize, src, dst)
        } else {
            crate::kernels::bitshuffle(isa(path), typesize, src, dst)
        }
    }
}

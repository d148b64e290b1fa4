//! Drivers: split a buffer into superblocks for the vector engine, blocks for the one-lane engine,
//! and a scalar remainder.

use crate::bytebit::{self, Isa};
use crate::swar::{self, Lanes};

/// The vector type the engine runs on, picked at compile time from the enabled target features.
#[cfg(target_feature = "avx512f")]
pub(crate) type Wide = wide::u64x8;
/// The vector type the engine runs on, picked at compile time from the enabled target features.
#[cfg(all(target_feature = "avx2", not(target_feature = "avx512f")))]
pub(crate) type Wide = wide::u64x4;
/// The vector type the engine runs on, picked at compile time from the enabled target features.
#[cfg(not(target_feature = "avx2"))]
pub(crate) type Wide = wide::u64x2;

// ---------------------------------------------------------------------------------------------
// Bitshuffle entry points (the public functions with the instruction set as a parameter)

/// [`crate::bitshuffle`] on `isa` (`None`: the `swar` engine only).
pub(crate) fn bitshuffle(isa: Option<Isa>, typesize: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            // On 16-byte vectors the `swar` engine is faster for typesize 1 (19% vs 11% of memcpy
            // on the dev machine); the byte-interleave kernel wins from AVX2 up.
            1 if isa == Some(Isa::V128) => bit_fwd::<1, 8, 0>(src, dst, m, row, 0),
            1 => bit_fwd_isa::<1, 8, 0>(isa, src, dst, m, row, 0),
            2 => bit_fwd_isa::<2, 16, 1>(isa, src, dst, m, row, 0),
            4 => bit_fwd_isa::<4, 32, 2>(isa, src, dst, m, row, 0),
            8 => bit_fwd_isa::<8, 64, 3>(isa, src, dst, m, row, 0),
            _ => bit_fwd_tiled(isa, typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// [`crate::bitunshuffle`] on `isa` (`None`: the `swar` engine only).
pub(crate) fn bitunshuffle(isa: Option<Isa>, typesize: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len() / typesize;
    let m = n - n % 8;
    let body = m * typesize;
    if m > 0 {
        let row = m / 8;
        match typesize {
            1 => bit_inv_isa::<1, 8, 0>(isa, src, row, 0, dst, m),
            // On AVX-512 the fused inverse (`bytebit::bit_inv` with t > 0, which runs the
            // `fullwidth` kernels there) is 2.3x faster than the tile below.
            2 if bytebit::is_avx512(isa) => bit_inv_isa::<2, 16, 1>(isa, src, row, 0, dst, m),
            4 if bytebit::is_avx512(isa) => bit_inv_isa::<4, 32, 2>(isa, src, row, 0, dst, m),
            8 if bytebit::is_avx512(isa) => bit_inv_isa::<8, 64, 3>(isa, src, row, 0, dst, m),
            // Elsewhere typesizes 2, 4, 8 too go through the tile: the fused inverse kernels of
            // `bytebit` measured 1.0-1.6x slower than byte planes through the typesize-1 kernel
            // plus the byte unshuffle.
            _ => bit_inv_tiled(isa, typesize, src, dst, m),
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Bitshuffle of `m` elements of typesize `TS` (1, 2, 4, 8): whole superblocks with the
/// [`bytebit`] kernels on `isa`, the rest with [`bit_fwd`].
fn bit_fwd_isa<const TS: usize, const N: usize, const K: usize>(
    isa: Option<Isa>,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) {
    let done = match isa {
        Some(isa) => bytebit::bit_fwd(isa, K, src, dst, m, row, off),
        None => 0,
    };
    bit_fwd::<TS, N, K>(&src[done * TS..], dst, m - done, row, off + done / 8);
}

/// Inverse of [`bit_fwd_isa`].
fn bit_inv_isa<const TS: usize, const N: usize, const K: usize>(
    isa: Option<Isa>,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) {
    let done = match isa {
        Some(isa) => bytebit::bit_inv(isa, K, src, row, off, dst, m),
        None => 0,
    };
    bit_inv::<TS, N, K>(src, row, off + done / 8, &mut dst[done * TS..], m - done);
}

// ---------------------------------------------------------------------------------------------
// Bitshuffle, typesize TS = 1, 2, 4, 8 (N = 8 * TS vectors)

/// Bit-transposes `m` elements (`m % 8 == 0`) of `src` (`m * TS` bytes); row `r` goes to
/// `dst[r * row + off ..][..m / 8]`.
pub(crate) fn bit_fwd<const TS: usize, const N: usize, const K: usize>(
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) {
    debug_assert!(N == 8 * TS && m.is_multiple_of(8));
    let sb = 64 * Wide::L; // elements per superblock
    let mut e = 0;
    while e + sb <= m {
        swar::forward::<Wide, N, K>(&src[e * TS..], dst, row, off + e / 8);
        e += sb;
    }
    while e + 64 <= m {
        swar::forward::<u64, N, K>(&src[e * TS..], dst, row, off + e / 8);
        e += 64;
    }
    bit_fwd_scalar(TS, src, dst, row, off, e, m);
}

/// Inverse of [`bit_fwd`].
pub(crate) fn bit_inv<const TS: usize, const N: usize, const K: usize>(
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) {
    debug_assert!(N == 8 * TS && m.is_multiple_of(8));
    let sb = 64 * Wide::L;
    let mut e = 0;
    while e + sb <= m {
        swar::inverse::<Wide, N, K>(src, row, off + e / 8, &mut dst[e * TS..]);
        e += sb;
    }
    while e + 64 <= m {
        swar::inverse::<u64, N, K>(src, row, off + e / 8, &mut dst[e * TS..]);
        e += 64;
    }
    bit_inv_scalar(TS, src, row, off, dst, e, m);
}

/// Scalar bitshuffle of elements `e0..e1` (both multiples of 8).
fn bit_fwd_scalar(
    ts: usize,
    src: &[u8],
    dst: &mut [u8],
    row: usize,
    off: usize,
    e0: usize,
    e1: usize,
) {
    for i in (e0..e1).step_by(8) {
        let group = &src[i * ts..(i + 8) * ts];
        for j in 0..ts {
            // byte j of the 8 elements, one per byte of `x`
            let x = u64::from_le_bytes(core::array::from_fn(|c| group[c * ts + j]));
            for k in 0..8 {
                let bits = (x >> k) & 0x0101_0101_0101_0101;
                // gather the 8 bits (one per byte) into one byte, element c -> bit c
                let b = (bits.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
                dst[(8 * j + k) * row + off + i / 8] = b;
            }
        }
    }
}

/// Scalar inverse bitshuffle of elements `e0..e1` (both multiples of 8).
fn bit_inv_scalar(
    ts: usize,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    e0: usize,
    e1: usize,
) {
    for i in (e0..e1).step_by(8) {
        let group = &mut dst[i * ts..(i + 8) * ts];
        for j in 0..ts {
            let mut x = 0u64;
            for k in 0..8 {
                let b = src[(8 * j + k) * row + off + i / 8] as u64;
                // bit c of b becomes bit k of byte c
                for c in 0..8 {
                    x |= ((b >> c) & 1) << (8 * c + k);
                }
            }
            for (c, byte) in x.to_le_bytes().into_iter().enumerate() {
                group[c * ts + j] = byte;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Byte shuffle, typesize TS = 2, 4, 8 (N = TS vectors)

/// Byte-shuffles `q` elements of `src`; plane `j` goes to `dst[j * q ..][..q]`.
pub(crate) fn byte_fwd<const TS: usize, const N: usize, const K: usize>(
    src: &[u8],
    dst: &mut [u8],
    q: usize,
) {
    debug_assert!(N == TS);
    let sb = 8 * Wide::L;
    let mut e = 0;
    while e + sb <= q {
        swar::forward::<Wide, N, K>(&src[e * TS..], dst, q, e);
        e += sb;
    }
    while e + 8 <= q {
        swar::forward::<u64, N, K>(&src[e * TS..], dst, q, e);
        e += 8;
    }
    for i in e..q {
        for j in 0..TS {
            dst[j * q + i] = src[i * TS + j];
        }
    }
}

/// Inverse of [`byte_fwd`].
pub(crate) fn byte_inv<const TS: usize, const N: usize, const K: usize>(
    src: &[u8],
    dst: &mut [u8],
    q: usize,
) {
    debug_assert!(N == TS);
    let sb = 8 * Wide::L;
    let mut e = 0;
    while e + sb <= q {
        swar::inverse::<Wide, N, K>(src, q, e, &mut dst[e * TS..]);
        e += sb;
    }
    while e + 8 <= q {
        swar::inverse::<u64, N, K>(src, q, e, &mut dst[e * TS..]);
        e += 8;
    }
    for i in e..q {
        for j in 0..TS {
            dst[i * TS + j] = src[j * q + i];
        }
    }
}

/// Byte shuffle for any typesize: `q` elements, plane `j` to `dst[j * stride ..][..q]`.
pub(crate) fn byte_fwd_any(ts: usize, src: &[u8], dst: &mut [u8], q: usize, stride: usize) {
    let src = &src[..q * ts];
    let mut i = 0;
    while i + 8 <= q {
        let group = &src[i * ts..(i + 8) * ts];
        for j in 0..ts {
            let x: [u8; 8] = core::array::from_fn(|c| group[c * ts + j]);
            dst[j * stride + i..][..8].copy_from_slice(&x);
        }
        i += 8;
    }
    for i in i..q {
        for j in 0..ts {
            dst[j * stride + i] = src[i * ts + j];
        }
    }
}

/// Inverse of [`byte_fwd_any`].
pub(crate) fn byte_inv_any(ts: usize, src: &[u8], stride: usize, dst: &mut [u8], q: usize) {
    let dst = &mut dst[..q * ts];
    let mut i = 0;
    while i + 8 <= q {
        let group = &mut dst[i * ts..(i + 8) * ts];
        for j in 0..ts {
            let x: [u8; 8] = src[j * stride + i..][..8].try_into().unwrap();
            for (c, b) in x.into_iter().enumerate() {
                group[c * ts + j] = b;
            }
        }
        i += 8;
    }
    for i in i..q {
        for j in 0..ts {
            dst[i * ts + j] = src[j * stride + i];
        }
    }
}

/// Elements per tile of the any-typesize bitshuffle (its byte planes sit in a scratch buffer).
const TILE: usize = 1024;

/// Bitshuffle as two passes over an L1-sized tile: byte-shuffle the tile into scratch (fast kernels
/// for typesizes 2, 4, 8), then bit-transpose each byte plane with the typesize-1 kernel. Used for
/// every typesize that is not handled in one pass.
pub(crate) fn bit_fwd_tiled(isa: Option<Isa>, ts: usize, src: &[u8], dst: &mut [u8], m: usize) {
    let row = m / 8;
    let mut scratch = vec![0u8; ts * TILE.min(m)];
    let mut e = 0;
    while e < m {
        let t = TILE.min(m - e);
        let s = &src[e * ts..(e + t) * ts];
        match ts {
            2 => byte_fwd::<2, 2, 4>(s, &mut scratch, t),
            4 => byte_fwd::<4, 4, 5>(s, &mut scratch, t),
            8 => byte_fwd::<8, 8, 6>(s, &mut scratch, t),
            _ => byte_fwd_any(ts, s, &mut scratch, t, t),
        }
        for j in 0..ts {
            bit_fwd_isa::<1, 8, 0>(
                isa,
                &scratch[j * t..],
                &mut dst[8 * j * row..],
                t,
                row,
                e / 8,
            );
        }
        e += t;
    }
}

/// Inverse of [`bit_fwd_tiled`].
pub(crate) fn bit_inv_tiled(isa: Option<Isa>, ts: usize, src: &[u8], dst: &mut [u8], m: usize) {
    let row = m / 8;
    let mut scratch = vec![0u8; ts * TILE.min(m)];
    let mut e = 0;
    while e < m {
        let t = TILE.min(m - e);
        for j in 0..ts {
            bit_inv_isa::<1, 8, 0>(
                isa,
                &src[8 * j * row..],
                row,
                e / 8,
                &mut scratch[j * t..],
                t,
            );
        }
        let d = &mut dst[e * ts..(e + t) * ts];
        match ts {
            2 => byte_inv::<2, 2, 4>(&scratch, d, t),
            4 => byte_inv::<4, 4, 5>(&scratch, d, t),
            8 => byte_inv::<8, 8, 6>(&scratch, d, t),
            _ => byte_inv_any(ts, &scratch, t, d, t),
        }
        e += t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction-set path (each level this CPU has, and the `swar` engine alone) against
    /// the scalar reference, for every typesize class and lengths around the superblocks, plus
    /// the fused inverse kernels on every level (the dispatcher uses them on AVX-512 only).
    #[test]
    fn every_isa_path_matches_reference() {
        let mut paths: Vec<Option<Isa>> = bytebit::available().into_iter().map(Some).collect();
        paths.push(None);
        for ts in [1usize, 2, 3, 4, 5, 8, 12, 16] {
            for n in [
                0usize,
                8,
                120,
                128,
                136,
                256,
                512,
                520,
                1024,
                1536 + 64,
                4096 + 8,
                9000,
            ] {
                for extra in [0, ts - 1] {
                    let len = n * ts + extra;
                    let src: Vec<u8> = (0..len).map(|i| (i * 131 + i / 5 + ts) as u8).collect();
                    let mut want = vec![0; len];
                    crate::scalar::bitshuffle(ts, &src, &mut want);
                    let mut want_inv = vec![0; len];
                    crate::scalar::bitunshuffle(ts, &src, &mut want_inv);
                    for &isa in &paths {
                        let mut got = vec![0xA5; len];
                        bitshuffle(isa, ts, &src, &mut got);
                        assert!(got == want, "bitshuffle {isa:?} ts {ts} n {n} +{extra}");
                        bitunshuffle(isa, ts, &src, &mut got);
                        assert!(
                            got == want_inv,
                            "bitunshuffle {isa:?} ts {ts} n {n} +{extra}"
                        );
                    }
                    // Fused inverse kernels (dispatched on AVX-512 only).
                    if ts.is_power_of_two() && ts > 1 && ts <= 8 && extra == 0 {
                        let m = n - n % 8;
                        let t = ts.trailing_zeros() as usize;
                        for &isa in paths.iter().flatten() {
                            let mut got = want_inv.clone();
                            let done = bytebit::bit_inv(isa, t, &src, m / 8, 0, &mut got, m);
                            assert!(
                                got[..done * ts] == want_inv[..done * ts],
                                "fused inverse {isa:?} ts {ts} n {n}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The one-pass plans for typesizes 2, 4, 8 are not used by the dispatcher (they spill) but
    /// must stay correct.
    #[test]
    fn one_pass_bit_plans_match_reference() {
        fn one<const TS: usize, const N: usize, const K: usize>() {
            for n in [0usize, 8, 64, 72, 64 * Wide::L, 64 * Wide::L + 136, 3000] {
                let src: Vec<u8> = (0..n * TS).map(|i| (i * 37 + i / 7) as u8).collect();
                let mut want = vec![0; n * TS];
                crate::scalar::bitshuffle(TS, &src, &mut want);
                let mut got = vec![0; n * TS];
                bit_fwd::<TS, N, K>(&src, &mut got, n, n / 8, 0);
                assert_eq!(got, want, "forward ts {TS} n {n}");
                let mut back = vec![0; n * TS];
                bit_inv::<TS, N, K>(&got, n / 8, 0, &mut back, n);
                assert_eq!(back, src, "inverse ts {TS} n {n}");
            }
        }
        one::<2, 16, 1>();
        one::<4, 32, 2>();
        one::<8, 64, 3>();
    }
}

//! Bitshuffle on whole 64-byte vectors with cross-lane byte de-interleaves (AVX-512 `vpermt2b`).
//!
//! # Model
//!
//! A *block* is 512 elements of typesize `TS = 1 << t` (`8 * TS` vectors of 64 bytes). A bit of
//! the block is addressed by (vector index, byte-in-vector (6 bits), bit-in-byte (3 bits)). On
//! load, the byte address of element `e` (9 bits), byte `j` is `e * TS + j`: the byte-in-vector
//! bits are `j` (low `t` bits) then `e0 .. e(5-t)`, the vector index bits are `e(6-t) .. e8`.
//!
//! * **Unzip stage** on vector bit `p`: for each pair `(a, b)` differing in bit `p`,
//!   `(a, b) <- (unzip_low(a, b), unzip_high(a, b))` (even bytes of `a ‖ b`, odd bytes). The
//!   lowest byte bit moves to vector bit `p`, the old vector bit `p` enters as the top byte bit.
//!   One `vpermt2b` per vector.
//! * **Bit stage** `(p, q)`: the delta swap of vector bit `p` with bit-in-byte `q` (as in
//!   `bytebit`).
//!
//! Unzip stages on vector bits `0, 1, .., t + 2`, in that order, take out `j` and `e0 e1 e2`
//! (the lowest byte bits) and bring in `e(6-t) .. e8`, so that afterwards vector bits `0..t` hold
//! `j`, vector bits `t..t+3` hold `e0 e1 e2`, and the byte address is `e3 .. e8`, the output
//! order. Bit stages `(t + i, i)` then swap `e_i` with bit `k_i`: vector `j + TS * k` is 64 bytes
//! of bit row `8 j + k`, stored whole.
//!
//! The `t` first stages only mix the `TS` vectors of 64 consecutive elements and make them the
//! *byte planes* of those elements; the other stages work on the 8 vectors of one byte plane. The
//! kernels run them as two passes over a *tile* of blocks whose byte planes fill a 16 KiB L1
//! scratch: byte planes first, then plane by plane the typesize-1 kernel (3 unzip and 3 bit stages
//! on 8 vectors in registers), so that only the 8 bit rows of one plane are written at a time (see
//! [`SCRATCH`] for why that matters). The inverse runs everything backwards with `zip_low` /
//! `zip_high`, which undo an unzip pair.
//!
//! Per vector that is `t + 3` permutes and 3 delta-swap stages (4 instructions per pair of
//! vectors: two shifts and two `vpternlog` bit selects), with whole-vector loads and stores. The
//! 16-byte-lane engine of `bytebit` needed 4 interleave stages on AVX-512 (which the code generator splits into 256-bit halves), 16-byte
//! gathers on load, and for typesizes above 1 groups of 16 vectors through a scratch.
//!
//! Typesize 1 is the second pass alone, on the source ([`fwd_plane`], [`inv_plane`]). The kernels
//! serve typesizes 1, 2, 4, 8 in both directions on AVX-512 (through `bytebit::bit_fwd` /
//! `bit_inv`).
//!
//! | 1 MiB, % of memcpy (dev machine, best of 3 runs) | ts 1 | 2 | 4 | 8 |
//! |---|---|---|---|---|
//! | forward, `bytebit` on `u8x64` (before) | 48 | 29 | 23 | 22 |
//! | forward, this module | 50 | 36 | 35 | 31 |
//! | inverse, `bytebit` + byte-plane tiles (before) | 43 | 16 | 16 | 15 |
//! | inverse, this module | 55 | 39 | 38 | 35 |
//! | forward, bit stages as two bit selects | 53-54 | 37-38 | 37 | 30 |
//! | inverse, bit stages as two bit selects | 57-58 | 41 | 39-40 | 36 |

use fearless_simd::{Bytes, Level, Simd, SimdBase, u8x64, u16x32};

use crate::bytebit::Isa;

/// Elements per block.
pub(crate) const BLOCK: usize = 512;

/// Bit stage masks: the bits at bit-in-byte `q` = 0.
const MASK: [u8; 3] = [0x55, 0x33, 0x0f];

/// The scratch of a tile: its byte planes, plane `j` of block `q` at byte
/// `(j * (SCRATCH / BLOCK / TS) + q) * BLOCK`. Aligned so that its vectors never straddle two
/// cache lines (an unaligned scratch measured 1.5x slower).
#[repr(align(64))]
struct Scratch([u8; SCRATCH]);

/// Replaces each pair `(x[a], x[a | 1 << p])` of vectors differing in vector bit `p` by
/// `op(x[a], x[a | 1 << p])`.
#[inline(always)]
fn pairs<V: Copy, const N: usize>(x: &mut [V; N], p: usize, op: impl Fn(V, V) -> (V, V)) {
    let bit = 1 << p;
    for a in 0..N {
        if a & bit == 0 {
            (x[a], x[a | bit]) = op(x[a], x[a | bit]);
        }
    }
}

/// Unzip stage on vector bit `p` of `x` (see the module docs).
#[inline(always)]
fn unzip_stage<S: Simd, const N: usize>(simd: S, x: &mut [u8x64<S>; N], p: usize) {
    pairs(x, p, |u, v| {
        (simd.unzip_low_u8x64(u, v), simd.unzip_high_u8x64(u, v))
    });
}

/// Inverse of [`unzip_stage`].
#[inline(always)]
fn zip_stage<S: Simd, const N: usize>(simd: S, x: &mut [u8x64<S>; N], p: usize) {
    pairs(x, p, |u, v| {
        (simd.zip_low_u8x64(u, v), simd.zip_high_u8x64(u, v))
    });
}

/// Bit stage `(p, q)` on `x`: bits of `x[a | 1 << p]` at bit-in-byte `q` = 0 trade places with
/// bits of `x[a]` at `q` = 1. Its own inverse.
#[inline(always)]
fn bit_stage<S: Simd>(simd: S, x: &mut [u8x64<S>; 8], p: usize, q: usize) {
    let s = 1u32 << q;
    // Written as two bit selects (one `vpternlog` each) rather than the textbook
    // xor-and-xor-shift-xor: `v` takes `u >> s` where the mask is set, `u` takes `v << s`
    // where the shifted mask is set. 16-bit shifts leak bits across bytes only where the
    // masks are clear.
    let m = simd.splat_u8x64(MASK[q]);
    let not_m = simd.splat_u8x64(!MASK[q]);
    let ms = simd.splat_u8x64(MASK[q] << s);
    let not_ms = simd.splat_u8x64(!(MASK[q] << s));
    let pick =
        |mask, not_mask, a, b| simd.or_u8x64(simd.and_u8x64(a, mask), simd.and_u8x64(b, not_mask));
    pairs(x, p, |u, v| {
        let u_down = simd.shr_u16x32(u16x32::from_bytes(u), s).to_bytes();
        let v_up = simd.shl_u16x32(u16x32::from_bytes(v), s).to_bytes();
        (pick(ms, not_ms, v_up, u), pick(m, not_m, u_down, v))
    });
}

/// Loads `N` consecutive vectors from `src`.
#[inline(always)]
fn load<S: Simd, const N: usize>(simd: S, src: &[u8]) -> [u8x64<S>; N] {
    let mut x = [simd.splat_u8x64(0); N];
    for (v, s) in x.iter_mut().zip(src[..64 * N].chunks_exact(64)) {
        *v = u8x64::from_slice(simd, s);
    }
    x
}

/// Stores `x` to consecutive vectors of `dst`.
#[inline(always)]
fn store<S: Simd, const N: usize>(x: &[u8x64<S>; N], dst: &mut [u8]) {
    for (v, d) in x.iter().zip(dst[..64 * N].chunks_exact_mut(64)) {
        v.store_slice(d);
    }
}

/// Bytes of byte planes per tile: a tile is `SCRATCH / BLOCK / TS` blocks. The kernels sweep a
/// tile one byte plane at a time, so that only the 8 bit rows of one plane are in flight. (Rows a
/// multiple of 4 KiB apart share L1 sets; when they are not line-aligned, a line shared by two
/// blocks was evicted between them while all `8 * TS` rows were in flight, and that measured up
/// to 1.5x slower. 16 KiB measured best of 2 to 32 KiB for typesizes 2, 4, 8.)
const SCRATCH: usize = 16 * 1024;

/// The typesize-1 transpose of one block in registers: 3 unzip stages, then 3 bit stages.
#[inline(always)]
fn transpose8<S: Simd>(simd: S, x: &mut [u8x64<S>; 8]) {
    for p in 0..3 {
        unzip_stage(simd, x, p);
    }
    for i in 0..3 {
        bit_stage(simd, x, i, i);
    }
}

/// Inverse of [`transpose8`].
#[inline(always)]
fn untranspose8<S: Simd>(simd: S, x: &mut [u8x64<S>; 8]) {
    for i in (0..3).rev() {
        bit_stage(simd, x, i, i);
    }
    for p in (0..3).rev() {
        zip_stage(simd, x, p);
    }
}

/// Typesize-1 bitshuffle of the blocks of one byte plane (`plane`, a whole number of blocks):
/// bit row `k` goes to `dst[k * row + at ..]`. Two blocks per iteration, so that each row gets
/// 128 contiguous bytes at a time (measured 4% faster than one block).
#[inline(always)]
fn fwd_plane<S: Simd>(simd: S, plane: &[u8], dst: &mut [u8], row: usize, at: usize) {
    let mut pairs = plane.chunks_exact(2 * BLOCK);
    for (q, s) in pairs.by_ref().enumerate() {
        let mut x = load::<S, 8>(simd, &s[..BLOCK]);
        let mut y = load::<S, 8>(simd, &s[BLOCK..]);
        transpose8(simd, &mut x);
        transpose8(simd, &mut y);
        for (k, (u, v)) in x.iter().zip(&y).enumerate() {
            let out = &mut dst[k * row + at + 128 * q..][..128];
            u.store_slice(&mut out[..64]);
            v.store_slice(&mut out[64..]);
        }
    }
    let rest = pairs.remainder();
    if !rest.is_empty() {
        let mut x = load::<S, 8>(simd, rest);
        transpose8(simd, &mut x);
        let at = at + (plane.len() - BLOCK) / 8;
        for (k, u) in x.iter().enumerate() {
            u.store_slice(&mut dst[k * row + at..][..64]);
        }
    }
}

/// Inverse of [`fwd_plane`]: bit row `k` from `src[k * row + at ..]`, the blocks to `plane`. One
/// block per iteration (two measured 3% slower here).
#[inline(always)]
fn inv_plane<S: Simd>(simd: S, src: &[u8], row: usize, at: usize, plane: &mut [u8]) {
    for (q, d) in plane.chunks_exact_mut(BLOCK).enumerate() {
        let at = at + q * (BLOCK / 8);
        let mut x = [simd.splat_u8x64(0); 8];
        for (k, u) in x.iter_mut().enumerate() {
            *u = u8x64::from_slice(simd, &src[k * row + at..][..64]);
        }
        untranspose8(simd, &mut x);
        store(&x, d);
    }
}

/// Forward bitshuffle of the first `m` elements (a multiple of [`BLOCK`]) of `src`, `TS` bytes
/// each (2, 4, 8; typesize 1 is [`fwd_plane`] alone); bit row `r` goes to
/// `dst[r * row + off ..][..m / 8]`.
#[inline(always)]
fn fwd<S: Simd, const TS: usize>(
    simd: S,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
    scratch: &mut Scratch,
) {
    let t = TS.trailing_zeros() as usize;
    let tile_n = SCRATCH / BLOCK / TS;
    let mut b0 = 0;
    while b0 < m / BLOCK {
        let nb = tile_n.min(m / BLOCK - b0);
        let tile = &src[b0 * BLOCK * TS..(b0 + nb) * BLOCK * TS];
        // Byte planes of each 64 elements.
        for (c, s) in tile.chunks_exact(64 * TS).enumerate() {
            let mut x = load::<S, TS>(simd, s);
            for p in 0..t {
                unzip_stage(simd, &mut x, p);
            }
            for (j, v) in x.iter().enumerate() {
                let at = j * tile_n * BLOCK + 64 * c;
                v.store_slice(&mut scratch.0[at..at + 64]);
            }
        }
        for j in 0..TS {
            let plane = &scratch.0[j * tile_n * BLOCK..][..nb * BLOCK];
            let at = off + b0 * (BLOCK / 8);
            fwd_plane(simd, plane, &mut dst[8 * j * row..], row, at);
        }
        b0 += nb;
    }
}

/// Inverse of [`fwd`]: bit row `r` from `src[r * row + off ..]`, `m` elements to `dst`.
#[inline(always)]
fn inv<S: Simd, const TS: usize>(
    simd: S,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
    scratch: &mut Scratch,
) {
    let t = TS.trailing_zeros() as usize;
    let tile_n = SCRATCH / BLOCK / TS;
    let mut b0 = 0;
    while b0 < m / BLOCK {
        let nb = tile_n.min(m / BLOCK - b0);
        for j in 0..TS {
            let plane = &mut scratch.0[j * tile_n * BLOCK..][..nb * BLOCK];
            let at = off + b0 * (BLOCK / 8);
            inv_plane(simd, &src[8 * j * row..], row, at, plane);
        }
        let tile = &mut dst[b0 * BLOCK * TS..(b0 + nb) * BLOCK * TS];
        for (c, d) in tile.chunks_exact_mut(64 * TS).enumerate() {
            let mut x = [simd.splat_u8x64(0); TS];
            for (j, v) in x.iter_mut().enumerate() {
                let at = j * tile_n * BLOCK + 64 * c;
                *v = u8x64::from_slice(simd, &scratch.0[at..at + 64]);
            }
            for p in (0..t).rev() {
                zip_stage(simd, &mut x, p);
            }
            store(&x, d);
        }
        b0 += nb;
    }
}

/// Forward bitshuffle of the first `m - m % BLOCK` elements of typesize `1 << t` (`t` = 0..=3)
/// on `isa`; returns how many elements were done (0 on levels other than AVX-512, where the byte
/// permutes are not single instructions).
pub(crate) fn bit_fwd(
    isa: Isa,
    t: usize,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) -> usize {
    let m = m - m % BLOCK;
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let (Isa::Avx512, Some(s)) = (isa, Level::new().as_avx512()) {
        if t == 0 {
            // No scratch (zeroing 16 KiB would cost 1% of a 1 MiB call).
            s.vectorize(
                #[inline(always)]
                || fwd_plane(s, &src[..m], &mut dst[off..], row, 0),
            );
            return m;
        }
        let mut sc = Scratch([0; SCRATCH]);
        s.vectorize(
            #[inline(always)]
            || match t {
                1 => fwd::<_, 2>(s, src, dst, m, row, off, &mut sc),
                2 => fwd::<_, 4>(s, src, dst, m, row, off, &mut sc),
                _ => fwd::<_, 8>(s, src, dst, m, row, off, &mut sc),
            },
        );
        return m;
    }
    let _ = (isa, t, src, dst, row, off);
    0
}

/// Inverse of [`bit_fwd`].
pub(crate) fn bit_inv(
    isa: Isa,
    t: usize,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) -> usize {
    let m = m - m % BLOCK;
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let (Isa::Avx512, Some(s)) = (isa, Level::new().as_avx512()) {
        if t == 0 {
            s.vectorize(
                #[inline(always)]
                || inv_plane(s, src, row, off, &mut dst[..m]),
            );
            return m;
        }
        let mut sc = Scratch([0; SCRATCH]);
        s.vectorize(
            #[inline(always)]
            || match t {
                1 => inv::<_, 2>(s, src, row, off, dst, m, &mut sc),
                2 => inv::<_, 4>(s, src, row, off, dst, m, &mut sc),
                _ => inv::<_, 8>(s, src, row, off, dst, m, &mut sc),
            },
        );
        return m;
    }
    let _ = (isa, t, src, row, off, dst);
    0
}

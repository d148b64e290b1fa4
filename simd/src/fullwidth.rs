//! Bitshuffle on whole 64-byte vectors: cross-lane byte de-interleaves (AVX-512 `vpermt2b`) and
//! one GFNI bit-matrix transpose per vector (`vgf2p8affineqb`).
//!
//! # Model
//!
//! A *block* is 512 elements of typesize `TS = 1 << t` (`8 * TS` vectors of 64 bytes). A bit of
//! the block is addressed by (vector index, byte-in-vector (6 bits), bit-in-byte (3 bits)). On
//! load, the byte address of element `e` (9 bits), byte `j` is `e * TS + j`: the byte-in-vector
//! bits are `j` (low `t` bits) then `e0 .. e(5-t)`, the vector index bits are `e(6-t) .. e8`; the
//! bit-in-byte is `k`. The output wants vector `8 j + k` (bit row), byte address `e3 .. e8` and
//! bit-in-byte `e0 e1 e2`.
//!
//! * **Unzip stage** on vector bit `p`: for each pair `(a, b)` differing in bit `p`,
//!   `(a, b) <- (unzip_low(a, b), unzip_high(a, b))` (even bytes of `a ‖ b`, odd bytes). The
//!   lowest byte bit moves to vector bit `p`, the old vector bit `p` enters as the top byte bit.
//!   One `vpermt2b` per vector. Its index vectors may also permute the output bytes for free.
//! * **Bit transpose** of each 8-byte lane: bit-in-byte trades places with the 3 lowest byte
//!   bits. One `vgf2p8affineqb` per vector, with the data as the matrix. It reverses both axes as
//!   it goes (see [`bit_transpose`]), so the bytes of each lane are reversed before it (by the
//!   last de-interleave's indices, or a `vpshufb` for typesize 1) and the vectors are stored in
//!   reverse row order after it.
//!
//! Unzip stages on vector bits `0 .. t` take out `j` and bring in `e6 e7 e8`, leaving the *byte
//! planes* of the elements: byte address `e0 .. e5`. The bit transpose swaps `k` in for
//! `e0 e1 e2`, and 3 more unzip stages, on vector bits `t .. t + 3`, take `k` out into vector
//! bits and bring in `e6 e7 e8`: byte address `e3 .. e8`, vector `TS * (7 - k) + j` holds
//! bit row `8 j + k`.
//!
//! The first `t` stages only mix the `TS` vectors of 64 consecutive elements; the rest works on the
//! 8 vectors of one byte plane. The kernels run them as two passes over a *tile* of blocks whose
//! byte planes fill an L1 scratch (16 KiB; 24 KiB for typesize 8): byte planes first, then plane by
//! plane the typesize-1 kernel on 8 vectors in registers, so that only the 8 bit rows of one plane
//! are written at a time (see [`tile_blocks`] for why that matters). The inverse runs everything
//! backwards with zips, which undo an unzip pair; the bit transpose is its own inverse.
//!
//! Per vector that is `t + 3` permutes and one transpose (plus one `vpshufb` for typesize 1).
//! The transpose replaced 3 delta-swap stages (two shifts and two `vpternlog` bit selects per
//! pair of vectors per stage). GFNI is part of `fearless_simd`'s AVX-512 level, and the
//! intrinsic is called through its `kernel!` macro, which gives a safe target-feature context.
//!
//! * **Split store.** An unzip stage on the top vector bit of a pass need not be computed: if the
//!   stage before it also orders each output's even bytes before its odd ones (its index vectors
//!   do that for free, [`split_index`]), the last stage's outputs are `u.low ‖ v.low` and
//!   `u.high ‖ v.high`, which two 32-byte stores per output write as they are ([`split_store`]).
//!   The forward kernels of typesizes 2 to 8 store the last stage of the bit-row pass that way,
//!   and typesizes 4 and 8 the last stage of the byte-plane pass too: `t + 1` permutes per
//!   vector instead of `t + 3` (typesize 2: 3 instead of 4). Typesize 1, which writes its rows
//!   straight from registers to L2, measured slower with twice the stores, and the inverse would
//!   need the halves joined on loading, which costs a shuffle (`vinserti64x4`) again.
//!
//! Typesize 1 is the second pass alone, on the source ([`fwd_plane`], [`inv_plane`]). The kernels
//! serve typesizes 1, 2, 4, 8 in both directions on AVX-512 (through `bytebit::bit_fwd` /
//! `bit_inv`).
//!
//! | 1 MiB, % of memcpy (dev machine, Zen 4) | ts 1 | 2 | 4 | 8 |
//! |---|---|---|---|---|
//! | forward, `bytebit` on `u8x64` (before) | 48 | 29 | 23 | 22 |
//! | forward, unzips and 3 delta-swap stages | 53-54 | 37-38 | 37 | 30 |
//! | forward, unzips and the GFNI transpose | 58-59 | 42-43 | 40-41 | 30-31 |
//! | inverse, `bytebit` + byte-plane tiles (before) | 43 | 16 | 16 | 15 |
//! | inverse, zips and 3 delta-swap stages | 57-58 | 41 | 39-40 | 36 |
//! | inverse, zips and the GFNI transpose | 75-76 | 51-52 | 50 | 43-44 |
//! | forward, GFNI, destination on a cache line, 24 KiB tiles for ts 8 | 75 | 52-53 | 52 | 44 |
//! | inverse, the same | 82-83 | 55 | 52 | 45 |
//! | forward, split stores for ts 2-8 (see above), destination on a line | 75-76 | 54-55 | 52-55 | 47-49 |
//! | the same into a `Vec` (before: 58-59 / 42-43 / 41 / 31) | 57-59 | 41 | 40-41 | 38 |
//!
//! A `Vec` starts 16 bytes past a cache line, so every whole-vector row store into one straddles
//! two lines; the encoder gives the kernels a line-aligned destination.

#[cfg(target_arch = "x86")]
use std::arch::x86::{_mm512_gf2p8affine_epi64_epi8, _mm512_set1_epi64};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{_mm512_gf2p8affine_epi64_epi8, _mm512_set1_epi64};

use std::cell::RefCell;

use fearless_simd::{Avx512, Level, Simd, SimdBase, SimdInto, u8x64};

use crate::bytebit::Isa;

/// Elements per block.
pub(crate) const BLOCK: usize = 512;

/// The scratch of a tile: its byte planes, plane `j` of block `q` at byte
/// `(j * tile_blocks(TS) + q) * BLOCK`. Aligned so that its vectors never straddle two
/// cache lines (an unaligned scratch measured 1.5x slower).
#[repr(align(64))]
struct Scratch([u8; SCRATCH]);

thread_local! {
    /// This thread's scratch, so that a call does not zero it first (1% of a 1 MiB call, 5% of a
    /// 64 KiB one).
    static TILE: RefCell<Box<Scratch>> = RefCell::new(Box::new(Scratch([0; SCRATCH])));
}

/// Runs `f` with this thread's scratch (a fresh one if it is in use further up the stack).
fn with_tile<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    TILE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut sc) => f(&mut sc),
        Err(_) => f(&mut Scratch([0; SCRATCH])),
    })
}

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

/// Index vectors of the two halves of an unzip (`REV = false`) or of an unzip that also reverses
/// the byte order within each 8-byte lane of its outputs (`REV = true`): output byte `i` of the
/// low half is byte `2 * (i ^ r)` of `a ‖ b`, of the high half byte `2 * (i ^ r) + 1`, with
/// `r` = 7 or 0.
const fn unzip_index<const REV: bool>(high: bool) -> [u8; 64] {
    let mut idx = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        let src = if REV { i ^ 7 } else { i };
        idx[i] = (2 * src + high as usize) as u8;
        i += 1;
    }
    idx
}

/// Index vectors of the inverse of [`unzip_index`]: output `a` (`high = false`) or `b` of `a ‖ b`
/// from the low and high halves `lo ‖ hi`.
const fn zip_index<const REV: bool>(high: bool) -> [u8; 64] {
    let mut idx = [0u8; 64];
    let mut n = 0;
    while n < 64 {
        let c = n + 64 * high as usize; // byte of `a ‖ b`
        let i = if REV { (c >> 1) ^ 7 } else { c >> 1 };
        idx[n] = ((c & 1) * 64 + i) as u8;
        n += 1;
    }
    idx
}

/// `base` (an unzip's index vector) followed by the byte permutation that lets the *next* unzip
/// stage be stored instead of computed (see [`split_store`]): output byte `j` is the unzip's
/// byte `2 * ((j % 32) ^ r) + j / 32`, so the even bytes come first, then the odd ones, each
/// half reversed within 8-byte lanes if `r` = 7.
const fn split_index(base: [u8; 64], r: usize) -> [u8; 64] {
    let mut idx = [0u8; 64];
    let mut j = 0;
    while j < 64 {
        idx[j] = base[2 * ((j & 31) ^ r) + (j >> 5)];
        j += 1;
    }
    idx
}

/// Unzip stage on vector bit `p` of `x` (see the module docs); with `REV`, the byte order within
/// each 8-byte lane of the outputs is reversed too.
#[inline(always)]
fn unzip_stage<const REV: bool, const N: usize>(
    simd: Avx512,
    x: &mut [u8x64<Avx512>; N],
    p: usize,
) {
    let lo = &const { unzip_index::<REV>(false) };
    let hi = &const { unzip_index::<REV>(true) };
    unzip_with(simd, x, p, lo, hi);
}

/// Unzip stage on vector bit `p` of `x` with the index vectors `lo`, `hi`.
#[inline(always)]
fn unzip_with<const N: usize>(
    simd: Avx512,
    x: &mut [u8x64<Avx512>; N],
    p: usize,
    lo: &[u8; 64],
    hi: &[u8; 64],
) {
    let lo = u8x64::from_slice(simd, lo);
    let hi = u8x64::from_slice(simd, hi);
    pairs(x, p, |u, v| {
        (
            simd.concat_swizzle_dyn_u8x64(u, v, lo),
            simd.concat_swizzle_dyn_u8x64(u, v, hi),
        )
    });
}

/// Inverse of [`unzip_stage`].
#[inline(always)]
fn zip_stage<const REV: bool, const N: usize>(simd: Avx512, x: &mut [u8x64<Avx512>; N], p: usize) {
    let a = u8x64::from_slice(simd, &const { zip_index::<REV>(false) });
    let b = u8x64::from_slice(simd, &const { zip_index::<REV>(true) });
    pairs(x, p, |lo, hi| {
        (
            simd.concat_swizzle_dyn_u8x64(lo, hi, a),
            simd.concat_swizzle_dyn_u8x64(lo, hi, b),
        )
    });
}

/// Reverses the byte order within each 8-byte lane of `v` (`vpshufb`). Its own inverse.
#[inline(always)]
fn reverse_lanes(simd: Avx512, v: u8x64<Avx512>) -> u8x64<Avx512> {
    const REV: [u8; 64] = {
        let mut idx = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            idx[i] = ((i & 8) | (7 - (i & 7))) as u8;
            i += 1;
        }
        idx
    };
    simd.swizzle_dyn_within_blocks_u8x64(v, u8x64::from_slice(simd, &REV))
}

fearless_simd::kernel!(
    /// Transposes the 8x8 bit matrix of each 8-byte lane of `v` with both axes reversed: bit `k`
    /// of byte `e` trades places with bit `7 - e` of byte `7 - k`. One GFNI `vgf2p8affineqb`
    /// with `v` as the matrix: output byte `i` is the product of that matrix with the
    /// multiplicand's byte `i`, `0x80 >> i`, so it collects bit `7 - i` of the 8 bytes, byte `e`
    /// into bit `7 - e`. Its own inverse.
    #[inline(always)]
    fn bit_transpose(token: Avx512, v: u8x64<Avx512>) -> u8x64<Avx512> {
        const PICK: i64 = 0x0102_0408_1020_4080;
        _mm512_gf2p8affine_epi64_epi8::<0>(_mm512_set1_epi64(PICK), v.into()).simd_into(token)
    }
);

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

/// Bytes of the scratch: the largest tile.
const SCRATCH: usize = 24 * 1024;

/// Blocks per tile for typesize `ts`: 16 KiB of byte planes, 24 KiB for typesize 8. The kernels
/// sweep a tile one byte plane at a time, so that only the 8 bit rows of one plane are in flight.
/// (Rows a multiple of 4 KiB apart share L1 sets; when they are not line-aligned, a line shared by
/// two blocks was evicted between them while all `8 * TS` rows were in flight, and that measured
/// up to 1.5x slower. Of 8 to 32 KiB, 16 KiB measured best for typesizes 2 and 4; 24 KiB for
/// typesize 8, 43-44% of memcpy forward instead of 39-40% at 16 KiB, when typesize 8 only gets
/// 4 blocks, 256 bytes per row, per tile.)
const fn tile_blocks(ts: usize) -> usize {
    (if ts == 8 { 24 * 1024 } else { 16 * 1024 }) / BLOCK / ts
}

/// The transpose of one block of a byte plane in registers: the bit transpose, then 3 unzip
/// stages. `PRE`: the plane's bytes are already reversed within 8-byte lanes (else this reverses
/// them first). Afterwards vector `7 - k` holds bit row `k`.
#[inline(always)]
fn transpose8<const PRE: bool>(simd: Avx512, x: &mut [u8x64<Avx512>; 8]) {
    for v in x.iter_mut() {
        let r = if PRE { *v } else { reverse_lanes(simd, *v) };
        *v = bit_transpose(simd, r);
    }
    for p in 0..3 {
        unzip_stage::<false, 8>(simd, x, p);
    }
}

/// Stores the outputs of an unzip stage without computing it. When `u` and `v` come from a stage
/// with [`split_index`] indices (`r` = 0), the unzip of the pair would be `u.low ‖ v.low` and
/// `u.high ‖ v.high`: those 32-byte halves go to `lo` and `hi` directly. A store of a low half and
/// one of a high half (`vextracti64x4` to memory) take no shuffle slot, where the stage took two
/// `vpermt2b` (and the two halves cost less store time than one 64-byte store).
///
/// `zero` is 0 but opaque to the compiler (`black_box`): at a known offset LLVM merges two
/// adjacent 32-byte stores back into one 64-byte store, re-creating the shuffle it saves
/// (`vinserti64x4`, `vshufi64x2`).
#[inline(always)]
fn split_store(
    simd: Avx512,
    u: u8x64<Avx512>,
    v: u8x64<Avx512>,
    lo: &mut [u8],
    hi: &mut [u8],
    zero: usize,
) {
    let (ul, uh) = simd.split_u8x64(u);
    let (vl, vh) = simd.split_u8x64(v);
    ul.store_slice(&mut lo[..32]);
    vl.store_slice(&mut lo[32 + zero..][..32]);
    uh.store_slice(&mut hi[..32]);
    vh.store_slice(&mut hi[32 + zero..][..32]);
}

/// [`transpose8`] of a plane already reversed within 8-byte lanes, up to its last unzip stage,
/// whose outputs are left to [`split_store`]: bit row `k` is then the split store of the pair
/// `(x[m], x[m | 4])`, low halves for `k = 7 - m`, high halves for `k = 3 - m`.
#[inline(always)]
fn transpose8_split(simd: Avx512, x: &mut [u8x64<Avx512>; 8]) {
    for v in x.iter_mut() {
        *v = bit_transpose(simd, *v);
    }
    unzip_stage::<false, 8>(simd, x, 0);
    let lo = &const { split_index(unzip_index::<false>(false), 0) };
    let hi = &const { split_index(unzip_index::<false>(true), 0) };
    unzip_with(simd, x, 1, lo, hi);
}

/// Inverse of [`transpose8`].
#[inline(always)]
fn untranspose8<const PRE: bool>(simd: Avx512, x: &mut [u8x64<Avx512>; 8]) {
    for p in (0..3).rev() {
        zip_stage::<false, 8>(simd, x, p);
    }
    for v in x.iter_mut() {
        let r = bit_transpose(simd, *v);
        *v = if PRE { r } else { reverse_lanes(simd, r) };
    }
}

/// Bitshuffle of the blocks of one byte plane (`plane`, a whole number of blocks; `PRE` as in
/// [`transpose8`]): bit row `k` goes to `dst[k * row + at ..]`. Two blocks per iteration, so that
/// each row gets 128 contiguous bytes at a time (measured 4% faster than one block).
#[inline(always)]
fn fwd_plane<const PRE: bool>(simd: Avx512, plane: &[u8], dst: &mut [u8], row: usize, at: usize) {
    if !PRE {
        // Typesize 1: the rows go to memory from L2, where two 32-byte stores per 64 bytes
        // measured slower (72% of memcpy instead of 76%) than computing the last stage.
        let mut pairs = plane.chunks_exact(2 * BLOCK);
        for (q, s) in pairs.by_ref().enumerate() {
            let mut x = load::<_, 8>(simd, &s[..BLOCK]);
            let mut y = load::<_, 8>(simd, &s[BLOCK..]);
            transpose8::<PRE>(simd, &mut x);
            transpose8::<PRE>(simd, &mut y);
            for k in 0..8 {
                let out = &mut dst[k * row + at + 128 * q..][..128];
                x[7 - k].store_slice(&mut out[..64]);
                y[7 - k].store_slice(&mut out[64..]);
            }
        }
        let rest = pairs.remainder();
        if !rest.is_empty() {
            let mut x = load::<_, 8>(simd, rest);
            transpose8::<PRE>(simd, &mut x);
            let at = at + (plane.len() - BLOCK) / 8;
            for (k, u) in x.iter().rev().enumerate() {
                u.store_slice(&mut dst[k * row + at..][..64]);
            }
        }
        return;
    }
    let zero = std::hint::black_box(0usize);
    let mut pairs = plane.chunks_exact(2 * BLOCK);
    for (q, s) in pairs.by_ref().enumerate() {
        let mut x = load::<_, 8>(simd, &s[..BLOCK]);
        let mut y = load::<_, 8>(simd, &s[BLOCK..]);
        transpose8_split(simd, &mut x);
        transpose8_split(simd, &mut y);
        let at = at + 128 * q;
        for m in 0..4 {
            let (head, tail) = dst.split_at_mut((7 - m) * row + at);
            let (lo, hi) = (&mut tail[..128], &mut head[(3 - m) * row + at..][..128]);
            let (lo_x, lo_y) = lo.split_at_mut(64);
            let (hi_x, hi_y) = hi.split_at_mut(64);
            split_store(simd, x[m], x[m | 4], lo_x, hi_x, zero);
            split_store(simd, y[m], y[m | 4], lo_y, hi_y, zero);
        }
    }
    let rest = pairs.remainder();
    if !rest.is_empty() {
        let mut x = load::<_, 8>(simd, rest);
        transpose8_split(simd, &mut x);
        let at = at + (plane.len() - BLOCK) / 8;
        for m in 0..4 {
            let (head, tail) = dst.split_at_mut((7 - m) * row + at);
            split_store(
                simd,
                x[m],
                x[m | 4],
                &mut tail[..64],
                &mut head[(3 - m) * row + at..][..64],
                zero,
            );
        }
    }
}

/// Inverse of [`fwd_plane`]: bit row `k` from `src[k * row + at ..]`, the blocks to `plane`. One
/// block per iteration (two measured 3% slower here).
#[inline(always)]
fn inv_plane<const PRE: bool>(simd: Avx512, src: &[u8], row: usize, at: usize, plane: &mut [u8]) {
    for (q, d) in plane.chunks_exact_mut(BLOCK).enumerate() {
        let at = at + q * (BLOCK / 8);
        let mut x = [simd.splat_u8x64(0); 8];
        for (k, u) in x.iter_mut().rev().enumerate() {
            *u = u8x64::from_slice(simd, &src[k * row + at..][..64]);
        }
        untranspose8::<PRE>(simd, &mut x);
        store(&x, d);
    }
}

/// Forward bitshuffle of the first `m` elements (a multiple of [`BLOCK`]) of `src`, `TS` bytes
/// each (2, 4, 8; typesize 1 is [`fwd_plane`] alone); bit row `r` goes to
/// `dst[r * row + off ..][..m / 8]`.
#[inline(always)]
fn fwd<const TS: usize>(
    simd: Avx512,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
    scratch: &mut Scratch,
) {
    let t = TS.trailing_zeros() as usize;
    let tile_n = const { tile_blocks(TS) };
    let zero = std::hint::black_box(0usize);
    let mut b0 = 0;
    while b0 < m / BLOCK {
        let nb = tile_n.min(m / BLOCK - b0);
        let tile = &src[b0 * BLOCK * TS..(b0 + nb) * BLOCK * TS];
        // Byte planes of each 64 elements, reversed within 8-byte lanes by the last stage.
        for (c, s) in tile.chunks_exact(64 * TS).enumerate() {
            let mut x = load::<_, TS>(simd, s);
            if TS == 2 {
                unzip_stage::<true, TS>(simd, &mut x, 0);
                for (j, v) in x.iter().enumerate() {
                    let at = j * tile_n * BLOCK + 64 * c;
                    v.store_slice(&mut scratch.0[at..at + 64]);
                }
            } else {
                // The last stage (vector bit t - 1) is stored, not computed.
                for p in 0..t - 2 {
                    unzip_stage::<false, TS>(simd, &mut x, p);
                }
                let lo = &const { split_index(unzip_index::<false>(false), 7) };
                let hi = &const { split_index(unzip_index::<false>(true), 7) };
                unzip_with(simd, &mut x, t - 2, lo, hi);
                let half = TS / 2;
                for j in 0..half {
                    let at = j * tile_n * BLOCK + 64 * c;
                    let (head, tail) = scratch.0.split_at_mut(at + half * tile_n * BLOCK);
                    split_store(
                        simd,
                        x[j],
                        x[j + half],
                        &mut head[at..][..64],
                        &mut tail[..64],
                        zero,
                    );
                }
            }
        }
        for j in 0..TS {
            let plane = &scratch.0[j * tile_n * BLOCK..][..nb * BLOCK];
            let at = off + b0 * (BLOCK / 8);
            fwd_plane::<true>(simd, plane, &mut dst[8 * j * row..], row, at);
        }
        b0 += nb;
    }
}

/// Inverse of [`fwd`]: bit row `r` from `src[r * row + off ..]`, `m` elements to `dst`.
#[inline(always)]
fn inv<const TS: usize>(
    simd: Avx512,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
    scratch: &mut Scratch,
) {
    let t = TS.trailing_zeros() as usize;
    let tile_n = const { tile_blocks(TS) };
    let mut b0 = 0;
    while b0 < m / BLOCK {
        let nb = tile_n.min(m / BLOCK - b0);
        for j in 0..TS {
            let plane = &mut scratch.0[j * tile_n * BLOCK..][..nb * BLOCK];
            let at = off + b0 * (BLOCK / 8);
            inv_plane::<true>(simd, &src[8 * j * row..], row, at, plane);
        }
        let tile = &mut dst[b0 * BLOCK * TS..(b0 + nb) * BLOCK * TS];
        for (c, d) in tile.chunks_exact_mut(64 * TS).enumerate() {
            let mut x = [simd.splat_u8x64(0); TS];
            for (j, v) in x.iter_mut().enumerate() {
                let at = j * tile_n * BLOCK + 64 * c;
                *v = u8x64::from_slice(simd, &scratch.0[at..at + 64]);
            }
            zip_stage::<true, TS>(simd, &mut x, t - 1);
            for p in (0..t - 1).rev() {
                zip_stage::<false, TS>(simd, &mut x, p);
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
    if let (Isa::Avx512, Some(s)) = (isa, Level::new().as_avx512()) {
        if t == 0 {
            // No scratch needed.
            s.vectorize(
                #[inline(always)]
                || fwd_plane::<false>(s, &src[..m], &mut dst[off..], row, 0),
            );
            return m;
        }
        with_tile(|sc| {
            s.vectorize(
                #[inline(always)]
                || match t {
                    1 => fwd::<2>(s, src, dst, m, row, off, sc),
                    2 => fwd::<4>(s, src, dst, m, row, off, sc),
                    _ => fwd::<8>(s, src, dst, m, row, off, sc),
                },
            )
        });
        return m;
    }
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
    if let (Isa::Avx512, Some(s)) = (isa, Level::new().as_avx512()) {
        if t == 0 {
            s.vectorize(
                #[inline(always)]
                || inv_plane::<false>(s, src, row, off, &mut dst[..m]),
            );
            return m;
        }
        with_tile(|sc| {
            s.vectorize(
                #[inline(always)]
                || match t {
                    1 => inv::<2>(s, src, row, off, dst, m, sc),
                    2 => inv::<4>(s, src, row, off, dst, m, sc),
                    _ => inv::<8>(s, src, row, off, dst, m, sc),
                },
            )
        });
        return m;
    }
    0
}

//! Bitshuffle by byte interleaves plus three bit delta swaps, with runtime dispatch.
//!
//! # Model
//!
//! A *lane* is 16 bytes. Per lane the kernel transposes a block of 128 elements (`16 * ts` bytes
//! in `N = 8 * ts` chunks of 16 bytes). Vectors of 2 lanes (AVX2) carry 2 consecutive blocks side
//! by side, and every operation below acts on each lane separately, so the same code serves both
//! widths.
//!
//! A bit of a block is addressed by (vector index `v`, byte-in-lane `B` (4 bits), bit-in-byte
//! (3 bits)). On load, vector `v` is chunk `v`; an element `e` (7 bits) and a byte `j` of it
//! (`t = log2 ts` bits) sit at `16 v + B = e * ts + j`. The output wants vector = bit row
//! `8 j + k`, byte-in-lane = `e >> 3`, bit = `e & 7`.
//!
//! * **Byte stage** on vector bit `p`: for each pair `(a, b)` differing in bit `p`,
//!   `(a, b) <- (unpack_lo(a, b), unpack_hi(a, b))` (byte interleave inside each lane). It
//!   rotates the byte address left by one: the old top byte bit goes to vector bit `p`, the old
//!   vector bit `p` enters as the lowest byte bit. One instruction per vector.
//! * **Bit stage** `(p, q)`: the delta swap exchanging vector bit `p` with bit-in-byte `q`
//!   (shift, xor, and, xor, shift, xor per pair: three instructions per vector).
//!
//! Forward: 4 byte stages bring the element bits `e6..e3` into the byte address (this also moves
//! `e2..e0` and the byte-in-element bits into vector bits), then 3 bit stages swap `e2..e0` with
//! the bit-in-byte. Inverse: the 3 bit stages again (each is its own inverse), then 3 or 4 byte
//! stages that rebuild the input byte address (interleaves again, not de-interleaves: only which
//! vector bits are used differs). That is 13 instructions per vector forward, 12 or 13 inverse,
//! against 18 for the 6 delta swaps of the `swar` engine.
//!
//! The plans (which vector bit each stage uses, which row or chunk each vector ends as) are
//! computed at compile time by [`layout`], which simulates the address bits.
//!
//! # Dispatch
//!
//! [`fearless_simd`] detects the CPU once per call and runs the kernel inside its safe
//! `Simd::vectorize`, which compiles the inlined body with the level's target features
//! (`#[target_feature]` lives in that crate; nothing here is `unsafe`). Widths: SSE2 / NEON
//! `u8x16`, AVX2 `u8x32`. On AVX-512, [`bit_fwd`] and [`bit_inv`] hand every typesize to the
//! whole-vector kernels of `fullwidth` instead (this engine on `u8x64` measured 48% / 28% / 23% /
//! 22% of memcpy forward for typesizes 1 / 2 / 4 / 8, `fullwidth` first 50% / 36% / 35% / 31%,
//! now 58% / 41% / 41% / 38% into a `Vec` and 76% / 55% / 53% / 47% on a cache line).

use fearless_simd::{Bytes, Level, Simd, SimdBase, SimdSplit, u8x16, u8x32, u16x8, u16x16};

// ---------------------------------------------------------------------------------------------
// Plans

const E: usize = 0; // labels: element bit i -> E + i
const J: usize = 8; // byte-in-element bit i -> J + i
const K: usize = 16; // bit-in-byte i -> K + i

/// A compile-time plan for typesize `1 << t`.
#[derive(Clone, Copy)]
pub(crate) struct Layout {
    /// Vector bits of the forward byte stages, in order.
    fwd: [usize; 4],
    /// Vector bit holding element bit `i` after the forward byte stages (bit stage `(bit[i], i)`).
    bit: [usize; 3],
    /// Forward: the output row (`8 j + k`) vector `v` holds at the end.
    row: [usize; 64],
    /// Vector bits of the inverse byte stages, in order (`inv_n` of them).
    inv: [usize; 4],
    inv_n: usize,
    /// Inverse: the input chunk vector `v` holds at the end.
    chunk: [usize; 64],
    /// Groups for the forward byte stages, the bit stages, and the inverse byte stages.
    fwd_g: Grp,
    bit_g: Grp,
    inv_g: Grp,
}

/// A split of the `N` vectors into independent groups for a run of stages: the stages only pair
/// vectors whose index differs in the stage bits, so each setting of the other bits is a group
/// that fits in registers (8 or 16 vectors).
#[derive(Clone, Copy)]
struct Grp {
    /// Vectors per group (`1 << stage bits`).
    size: usize,
    /// Number of groups.
    count: usize,
    /// `idx[g][l]`: the vector index of member `l` of group `g`.
    idx: [[usize; 16]; 8],
    /// `local[p]`: the member-index bit standing for vector bit `p` (a stage bit).
    local: [usize; 7],
}

const fn bits(a: &[usize], n: usize) -> usize {
    let (mut m, mut i) = (0, 0);
    while i < n {
        m |= 1 << a[i];
        i += 1;
    }
    m
}

/// Groups for stages on the vector bits in `used` (a bit set over `nb` vector index bits).
const fn group(used: usize, nb: usize) -> Grp {
    let mut g = Grp {
        size: 1 << used.count_ones(),
        count: 1 << (nb - used.count_ones() as usize),
        idx: [[0; 16]; 8],
        local: [0; 7],
    };
    let (mut p, mut lb) = (0, 0);
    while p < nb {
        if used & (1 << p) != 0 {
            g.local[p] = lb;
            lb += 1;
        }
        p += 1;
    }
    let mut gi = 0;
    while gi < g.count {
        let mut l = 0;
        while l < g.size {
            // deposit l into the used bits and gi into the others
            let (mut v, mut a, mut b, mut p) = (0, 0, 0, 0);
            while p < nb {
                if used & (1 << p) != 0 {
                    v |= ((l >> a) & 1) << p;
                    a += 1;
                } else {
                    v |= ((gi >> b) & 1) << p;
                    b += 1;
                }
                p += 1;
            }
            g.idx[gi][l] = v;
            l += 1;
        }
        gi += 1;
    }
    g
}

/// One byte stage on the label arrays: vector bit `p` <- byte top bit; byte <- (byte << 1) | old.
const fn byte_stage(vl: &mut [usize; 7], bl: &mut [usize; 4], p: usize) {
    let out = bl[3];
    bl[3] = bl[2];
    bl[2] = bl[1];
    bl[1] = bl[0];
    bl[0] = vl[p];
    vl[p] = out;
}

const fn find(vl: &[usize; 7], n: usize, label: usize) -> usize {
    let mut p = 0;
    while p < n {
        if vl[p] == label {
            return p;
        }
        p += 1;
    }
    panic!("label not in a vector bit");
}

pub(crate) const fn layout(t: usize) -> Layout {
    let nb = 3 + t; // vector index bits
    let mut vl = [usize::MAX; 7];
    let mut bl = [0usize; 4];
    let mut i = 0;
    while i < 4 {
        bl[i] = if i < t { J + i } else { E + i - t };
        i += 1;
    }
    let b0 = bl;
    i = 0;
    while i < nb {
        vl[i] = E + 4 - t + i;
        i += 1;
    }
    let mut out = Layout {
        fwd: [0; 4],
        bit: [0; 3],
        row: [0; 64],
        inv: [0; 4],
        inv_n: 0,
        chunk: [0; 64],
        fwd_g: group(0, 0),
        bit_g: group(0, 0),
        inv_g: group(0, 0),
    };
    // Forward byte stages: enter e6, e5, e4, e3 in that order.
    i = 0;
    while i < 4 {
        let p = find(&vl, nb, E + 6 - i);
        out.fwd[i] = p;
        byte_stage(&mut vl, &mut bl, p);
        i += 1;
    }
    // Bit stages.
    i = 0;
    while i < 3 {
        let p = find(&vl, nb, E + i);
        out.bit[i] = p;
        vl[p] = K + i;
        i += 1;
    }
    let mut v = 0;
    while v < (1 << nb) {
        let (mut j, mut k, mut p) = (0, 0, 0);
        while p < nb {
            let b = (v >> p) & 1;
            if vl[p] >= K {
                k |= b << (vl[p] - K);
            } else if vl[p] >= J {
                j |= b << (vl[p] - J);
            } else {
                panic!("element bit left in a vector bit");
            }
            p += 1;
        }
        out.row[v] = 8 * j + k;
        v += 1;
    }
    // Inverse: undo the bit stages, then enter the original byte bits from the top, skipping the
    // stages whose bits are already in place (byte low bits == wanted high bits).
    i = 0;
    while i < 3 {
        vl[out.bit[i]] = E + i;
        i += 1;
    }
    let mut s = 0;
    'search: while s < 4 {
        let mut x = 0;
        while x < 4 - s {
            if bl[x] != b0[x + s] {
                s += 1;
                continue 'search;
            }
            x += 1;
        }
        break;
    }
    out.inv_n = s;
    i = 0;
    while i < s {
        let p = find(&vl, nb, b0[s - 1 - i]);
        out.inv[i] = p;
        byte_stage(&mut vl, &mut bl, p);
        i += 1;
    }
    i = 0;
    while i < 4 {
        assert!(bl[i] == b0[i]);
        i += 1;
    }
    v = 0;
    while v < (1 << nb) {
        let (mut c, mut p) = (0, 0);
        while p < nb {
            assert!(vl[p] >= E + 4 - t && vl[p] < E + 7);
            c |= ((v >> p) & 1) << (vl[p] - (E + 4 - t));
            p += 1;
        }
        out.chunk[v] = c;
        v += 1;
    }
    out.fwd_g = group(bits(&out.fwd, 4), nb);
    out.bit_g = group(bits(&out.bit, 3), nb);
    out.inv_g = group(bits(&out.inv, out.inv_n), nb);
    out
}

#[allow(
    clippy::large_const_arrays,
    reason = "used through `const { &LAYOUTS[T] }` so every index folds at compile time"
)]
pub(crate) const LAYOUTS: [Layout; 4] = [layout(0), layout(1), layout(2), layout(3)];

// ---------------------------------------------------------------------------------------------
// Vectors of 16-byte lanes

/// A vector of `LANES` 16-byte lanes with lane-local byte interleaves.
pub(crate) trait Lanes<S: Simd>: Copy {
    const LANES: usize;
    /// Lane `l` from `src[l * stride ..][..16]`.
    fn load(simd: S, src: &[u8], stride: usize) -> Self;
    /// Lane `l` to `dst[l * stride ..][..16]`.
    fn store(self, dst: &mut [u8], stride: usize);
    /// Lane-local byte interleave of the low halves and of the high halves.
    fn zip(simd: S, a: Self, b: Self) -> (Self, Self);
    /// Delta swap: bits of `a` at bit-in-byte `q` = 1 trade places with bits of `b` at `q` = 0.
    fn swap(simd: S, a: Self, b: Self, q: usize) -> (Self, Self);
}

const MASK: [u8; 3] = [0x55, 0x33, 0x0f];

impl<S: Simd> Lanes<S> for u8x16<S> {
    const LANES: usize = 1;
    #[inline(always)]
    fn load(simd: S, src: &[u8], _: usize) -> Self {
        u8x16::from_slice(simd, &src[..16])
    }
    #[inline(always)]
    fn store(self, dst: &mut [u8], _: usize) {
        let a: [u8; 16] = self.into();
        dst[..16].copy_from_slice(&a);
    }
    #[inline(always)]
    fn zip(simd: S, a: Self, b: Self) -> (Self, Self) {
        (simd.zip_low_u8x16(a, b), simd.zip_high_u8x16(a, b))
    }
    #[inline(always)]
    fn swap(simd: S, a: Self, b: Self, q: usize) -> (Self, Self) {
        let s = 1u32 << q;
        let m = simd.splat_u8x16(MASK[q]);
        let sh = simd.shr_u16x8(u16x8::from_bytes(a), s).to_bytes();
        let t = simd.and_u8x16(simd.xor_u8x16(sh, b), m);
        let b = simd.xor_u8x16(b, t);
        let tl = simd.shl_u16x8(u16x8::from_bytes(t), s).to_bytes();
        (simd.xor_u8x16(a, tl), b)
    }
}

impl<S: Simd> Lanes<S> for u8x32<S> {
    const LANES: usize = 2;
    #[inline(always)]
    fn load(simd: S, src: &[u8], stride: usize) -> Self {
        let a = u8x16::from_slice(simd, &src[..16]);
        let b = u8x16::from_slice(simd, &src[stride..stride + 16]);
        simd.combine_u8x16(a, b)
    }
    #[inline(always)]
    fn store(self, dst: &mut [u8], stride: usize) {
        if stride == 16 {
            self.store_slice(&mut dst[..32]);
        } else {
            let (a, b) = self.split();
            a.store_slice(&mut dst[..16]);
            b.store_slice(&mut dst[stride..stride + 16]);
        }
    }
    #[inline(always)]
    fn zip(simd: S, a: Self, b: Self) -> (Self, Self) {
        let (a0, a1) = simd.split_u8x32(a);
        let (b0, b1) = simd.split_u8x32(b);
        let (l0, h0) = <u8x16<S> as Lanes<S>>::zip(simd, a0, b0);
        let (l1, h1) = <u8x16<S> as Lanes<S>>::zip(simd, a1, b1);
        (simd.combine_u8x16(l0, l1), simd.combine_u8x16(h0, h1))
    }
    #[inline(always)]
    fn swap(simd: S, a: Self, b: Self, q: usize) -> (Self, Self) {
        let s = 1u32 << q;
        let m = simd.splat_u8x32(MASK[q]);
        let sh = simd.shr_u16x16(u16x16::from_bytes(a), s).to_bytes();
        let t = simd.and_u8x32(simd.xor_u8x32(sh, b), m);
        let b = simd.xor_u8x32(b, t);
        let tl = simd.shl_u16x16(u16x16::from_bytes(t), s).to_bytes();
        (simd.xor_u8x32(a, tl), b)
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels

/// `for $g in 0..$n` (with `$n <= 16`) written out, so every index inside is a constant and the
/// group's vectors stay in registers (LLVM does not unroll loops whose trip count or indices come
/// from the const tables soon enough for that).
macro_rules! unroll {
    ($g:ident in 0..$n:expr => $body:block) => {
        unroll!(@ $g, $n, $body,
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@ $g:ident, $n:expr, $body:block, $($i:literal)*) => {
        $(
            #[allow(unconditional_panic, reason = "indices past $n sit in branches that are never taken")]
            if $i < $n {
                let $g: usize = $i;
                $body
            }
        )*
    };
}

/// Runs a byte stage on vector bit `p` of `v`.
#[inline(always)]
fn byte_stage_v<S: Simd, V: Lanes<S>, const N: usize>(simd: S, v: &mut [V; N], p: usize) {
    if N == 8 {
        // 8 vectors: LLVM unrolls this form itself and schedules it better.
        let bit = 1 << p;
        for a in 0..N {
            if a & bit == 0 {
                let (x, y) = V::zip(simd, v[a], v[a | bit]);
                v[a] = x;
                v[a | bit] = y;
            }
        }
        return;
    }
    match p {
        0 => pairs::<S, V, N, 1>(
            v,
            #[inline(always)]
            |x, y| V::zip(simd, x, y),
        ),
        1 => pairs::<S, V, N, 2>(
            v,
            #[inline(always)]
            |x, y| V::zip(simd, x, y),
        ),
        2 => pairs::<S, V, N, 4>(
            v,
            #[inline(always)]
            |x, y| V::zip(simd, x, y),
        ),
        _ => pairs::<S, V, N, 8>(
            v,
            #[inline(always)]
            |x, y| V::zip(simd, x, y),
        ),
    }
}

/// Runs the bit stage `(p, q)` on `v`.
#[inline(always)]
fn bit_stage_v<S: Simd, V: Lanes<S>, const N: usize>(simd: S, v: &mut [V; N], p: usize, q: usize) {
    if N == 8 {
        let bit = 1 << p;
        for a in 0..N {
            if a & bit == 0 {
                let (x, y) = V::swap(simd, v[a], v[a | bit], q);
                v[a] = x;
                v[a | bit] = y;
            }
        }
        return;
    }
    match p {
        0 => pairs::<S, V, N, 1>(
            v,
            #[inline(always)]
            |x, y| V::swap(simd, x, y, q),
        ),
        1 => pairs::<S, V, N, 2>(
            v,
            #[inline(always)]
            |x, y| V::swap(simd, x, y, q),
        ),
        2 => pairs::<S, V, N, 4>(
            v,
            #[inline(always)]
            |x, y| V::swap(simd, x, y, q),
        ),
        _ => pairs::<S, V, N, 8>(
            v,
            #[inline(always)]
            |x, y| V::swap(simd, x, y, q),
        ),
    }
}

/// Applies `f` to every pair of vectors whose indices differ in `BIT` only.
#[inline(always)]
fn pairs<S: Simd, V: Lanes<S>, const N: usize, const BIT: usize>(
    v: &mut [V; N],
    f: impl Fn(V, V) -> (V, V),
) {
    for hi in 0..N / (2 * BIT) {
        for lo in 0..BIT {
            let a = hi * 2 * BIT + lo;
            let (x, y) = f(v[a], v[a | BIT]);
            v[a] = x;
            v[a | BIT] = y;
        }
    }
}

/// Forward bitshuffle of the first `m` elements (multiple of `128 * V::LANES`) of `src`
/// (`TS = 1 << T` bytes each); row `r` goes to `dst[r * row + off ..]`.
///
/// Typesize 1 (8 vectors) runs in registers. Larger typesizes take two passes through a scratch
/// array of `N` vectors in L1: the byte stages on groups of 16 vectors straight from `src`, then
/// the bit stages on groups of 8 straight to `dst`.
#[inline(always)]
fn fwd<S: Simd, V: Lanes<S>, const T: usize, const N: usize, const G: usize>(
    simd: S,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) {
    let ts = 1 << T;
    let lay: &Layout = const { &LAYOUTS[T] };
    let sb = 128 * V::LANES;
    let blk = 128 * ts; // bytes per lane block
    let mut e = 0;
    let zero = V::load(simd, &[0; 16 * 4], 16);
    let mut v = [zero; N];
    while e + sb <= m {
        let s = &src[e * ts..(e + sb) * ts];
        if T == 0 {
            let mut w = [zero; 8];
            unroll!(c in 0..8 => { w[c] = V::load(simd, &s[16 * c..], blk); });
            for i in 0..4 {
                byte_stage_v(simd, &mut w, lay.fwd[i]);
            }
            for i in 0..3 {
                bit_stage_v(simd, &mut w, lay.bit[i], i);
            }
            unroll!(i in 0..8 => {
                w[i].store(&mut dst[lay.row[i] * row + off + e / 8..], 16);
            });
        } else {
            let g1 = &lay.fwd_g;
            unroll!(g in 0..N / G => {
                let idx = &g1.idx[g];
                let mut w = [zero; G];
                unroll!(l in 0..G => { w[l] = V::load(simd, &s[16 * idx[l]..], blk); });
                for i in 0..4 {
                    byte_stage_v(simd, &mut w, g1.local[lay.fwd[i]]);
                }
                unroll!(l in 0..G => { v[idx[l]] = w[l]; });
            });
            let g2 = &lay.bit_g;
            unroll!(g in 0..N / 8 => {
                let idx = &g2.idx[g];
                let mut w = [zero; 8];
                unroll!(l in 0..8 => { w[l] = v[idx[l]]; });
                for i in 0..3 {
                    bit_stage_v(simd, &mut w, g2.local[lay.bit[i]], i);
                }
                unroll!(l in 0..8 => {
                    w[l].store(&mut dst[lay.row[idx[l]] * row + off + e / 8..], 16);
                });
            });
        }
        e += sb;
    }
}

/// Inverse of [`fwd`]: bit stages on groups of 8 rows into scratch, then byte stages on groups
/// of up to 16 straight to `dst`.
#[inline(always)]
fn inv<S: Simd, V: Lanes<S>, const T: usize, const N: usize, const G: usize>(
    simd: S,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) {
    let ts = 1 << T;
    let lay: &Layout = const { &LAYOUTS[T] };
    let sb = 128 * V::LANES;
    let blk = 128 * ts;
    let mut e = 0;
    let zero = V::load(simd, &[0; 16 * 4], 16);
    let mut v = [zero; N];
    while e + sb <= m {
        let d = &mut dst[e * ts..(e + sb) * ts];
        if T == 0 {
            let mut w = [zero; 8];
            unroll!(r in 0..8 => {
                w[r] = V::load(simd, &src[lay.row[r] * row + off + e / 8..], 16);
            });
            for i in (0..3).rev() {
                bit_stage_v(simd, &mut w, lay.bit[i], i);
            }
            for i in 0..lay.inv_n {
                byte_stage_v(simd, &mut w, lay.inv[i]);
            }
            unroll!(i in 0..8 => { w[i].store(&mut d[16 * lay.chunk[i]..], blk); });
        } else {
            let g2 = &lay.bit_g;
            unroll!(g in 0..N / 8 => {
                let idx = &g2.idx[g];
                let mut w = [zero; 8];
                unroll!(l in 0..8 => {
                    w[l] = V::load(simd, &src[lay.row[idx[l]] * row + off + e / 8..], 16);
                });
                for i in (0..3).rev() {
                    bit_stage_v(simd, &mut w, g2.local[lay.bit[i]], i);
                }
                unroll!(l in 0..8 => { v[idx[l]] = w[l]; });
            });
            let g1 = &lay.inv_g;
            unroll!(g in 0..N / G => {
                let idx = &g1.idx[g];
                let mut w = [zero; G];
                unroll!(l in 0..G => { w[l] = v[idx[l]]; });
                for i in 0..lay.inv_n {
                    byte_stage_v(simd, &mut w, g1.local[lay.inv[i]]);
                }
                unroll!(l in 0..G => {
                    w[l].store(&mut d[16 * lay.chunk[idx[l]]..], blk);
                });
            });
        }
        e += sb;
    }
}

#[inline(always)]
fn fwd_t<S: Simd, V: Lanes<S>>(
    simd: S,
    t: usize,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) -> usize {
    let m = m - m % (128 * V::LANES);
    match t {
        0 => fwd::<S, V, 0, 8, 8>(simd, src, dst, m, row, off),
        1 => fwd::<S, V, 1, 16, 16>(simd, src, dst, m, row, off),
        2 => fwd::<S, V, 2, 32, 16>(simd, src, dst, m, row, off),
        _ => fwd::<S, V, 3, 64, 16>(simd, src, dst, m, row, off),
    }
    m
}

#[inline(always)]
fn inv_t<S: Simd, V: Lanes<S>>(
    simd: S,
    t: usize,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) -> usize {
    let m = m - m % (128 * V::LANES);
    match t {
        0 => inv::<S, V, 0, 8, 8>(simd, src, row, off, dst, m),
        1 => inv::<S, V, 1, 16, 16>(simd, src, row, off, dst, m),
        2 => inv::<S, V, 2, 32, 16>(simd, src, row, off, dst, m),
        _ => inv::<S, V, 3, 64, 16>(simd, src, row, off, dst, m),
    }
    m
}

/// An instruction-set level the kernels can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// 16-byte vectors on whatever 128-bit SIMD the target has (SSE2, NEON).
    V128,
    /// AVX2, 32-byte vectors.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx2,
    /// AVX-512 (fearless_simd's Ice Lake feature set), 64-byte vectors.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx512,
}

/// Whether `isa` is AVX-512 (never on other architectures).
pub(crate) fn is_avx512(isa: Option<Isa>) -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return isa == Some(Isa::Avx512);
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        let _ = isa;
        false
    }
}

/// The levels this CPU supports, best first; empty when only fearless_simd's scalar fallback
/// would be available (the caller then uses the `swar` engine).
pub(crate) fn available() -> Vec<Isa> {
    let level = Level::new();
    let mut out = Vec::new();
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if level.as_avx512().is_some() {
            out.push(Isa::Avx512);
        }
        if level.as_avx2().is_some() {
            out.push(Isa::Avx2);
        }
    }
    if !level.is_fallback() {
        out.push(Isa::V128);
    }
    out
}

/// The best level of this CPU, if any.
pub(crate) fn best() -> Option<Isa> {
    let level = Level::new();
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if level.as_avx512().is_some() {
            return Some(Isa::Avx512);
        }
        if level.as_avx2().is_some() {
            return Some(Isa::Avx2);
        }
    }
    (!level.is_fallback()).then_some(Isa::V128)
}

/// Runs `$kernel` with the vector type of `$isa`; yields the number of elements done (0 if the
/// level is not available).
macro_rules! dispatch {
    ($isa:expr, $kernel:ident($($arg:expr),*)) => {{
        let level = Level::new();
        match $isa {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 => match level.as_avx2() {
                Some(s) => s.vectorize(
                    #[inline(always)]
                    || $kernel::<_, u8x32<_>>(s, $($arg),*),
                ),
                None => 0,
            },
            Isa::V128 => dispatch_v128!(level, $kernel($($arg),*)),
            #[allow(unreachable_patterns)]
            _ => 0,
        }
    }};
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
macro_rules! dispatch_v128 {
    ($level:expr, $kernel:ident($($arg:expr),*)) => {
        match $level.as_sse2() {
            Some(s) => s.vectorize(
                #[inline(always)]
                || $kernel::<_, u8x16<_>>(s, $($arg),*),
            ),
            None => 0,
        }
    };
}

#[cfg(target_arch = "aarch64")]
macro_rules! dispatch_v128 {
    ($level:expr, $kernel:ident($($arg:expr),*)) => {
        match $level.as_neon() {
            Some(s) => s.vectorize(
                #[inline(always)]
                || $kernel::<_, u8x16<_>>(s, $($arg),*),
            ),
            None => 0,
        }
    };
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
macro_rules! dispatch_v128 {
    ($level:expr, $kernel:ident($($arg:expr),*)) => {{
        let _ = $level;
        0
    }};
}

/// Forward bitshuffle of whole superblocks of the first `m` elements of typesize `1 << t` on
/// `isa`; returns how many elements were done. AVX-512 goes to `fullwidth`.
pub(crate) fn bit_fwd(
    isa: Isa,
    t: usize,
    src: &[u8],
    dst: &mut [u8],
    m: usize,
    row: usize,
    off: usize,
) -> usize {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if isa == Isa::Avx512 {
        return crate::fullwidth::bit_fwd(isa, t, src, dst, m, row, off);
    }
    dispatch!(isa, fwd_t(t, src, dst, m, row, off))
}

/// Inverse of [`bit_fwd`]. AVX-512 goes to `fullwidth` for every `t`.
pub(crate) fn bit_inv(
    isa: Isa,
    t: usize,
    src: &[u8],
    row: usize,
    off: usize,
    dst: &mut [u8],
    m: usize,
) -> usize {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if isa == Isa::Avx512 {
        return crate::fullwidth::bit_inv(isa, t, src, row, off, dst, m);
    }
    dispatch!(isa, inv_t(t, src, row, off, dst, m))
}

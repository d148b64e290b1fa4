//! The transpose engine: "cross-word delta swaps" on vectors of `u64` lanes.
//!
//! # Model
//!
//! A kernel holds `N` vectors (`N` a power of two); each lane of each vector is a `u64` word of an
//! independent block of data. A bit of the block is addressed by `(v, q)`: `v` the vector index
//! (log2 N bits) and `q` the bit index inside the word (6 bits: 3 byte bits `q5 q4 q3`, little-endian
//! byte order, and 3 bit-in-byte bits `q2 q1 q0`).
//!
//! One *stage* `(p, q)` exchanges vector-index bit `p` with word-bit `q`: for every pair of vectors
//! `a = v`, `b = v | 1 << p` (bit `p` of `v` clear) the bits of `a` whose word-bit `q` is 1 trade
//! places with the bits of `b` whose word-bit `q` is 0. It costs six vector operations per pair (two
//! shifts, three xors, one and) and is its own inverse. Since the naming of vectors is free at load
//! and store time, every transpose here needs exactly one stage per word-bit it changes: 6 for a
//! bitshuffle, 3 for a byte shuffle, whatever the typesize (1, 2, 4 or 8).
//!
//! Lanes are independent blocks, so the same code runs on plain `u64` (one lane), `wide::u64x2`
//! (SSE2 / NEON), `wide::u64x4` (AVX2) or `wide::u64x8` (AVX-512F). The one cost that is not
//! arithmetic is that each lane's words are strided in memory on one side of the transpose
//! (gathered on load for the forward direction, scattered on store for the inverse): that is a few
//! scalar loads / lane extracts per vector, which LLVM turns into `movq`/`pinsrq`/`punpcklqdq`.

use core::ops::{BitAnd, BitXor, Shl, Shr};

/// A vector of `u64` lanes with the few operations the stages need.
pub(crate) trait Lanes:
    Copy
    + BitAnd<Output = Self>
    + BitXor<Output = Self>
    + Shl<u32, Output = Self>
    + Shr<u32, Output = Self>
{
    /// Number of `u64` lanes.
    const L: usize;
    /// Every lane set to `x`.
    fn splat(x: u64) -> Self;
    /// Builds the vector lane by lane: lane `l` is `f(l)`.
    fn build(f: impl FnMut(usize) -> u64) -> Self;
    /// Calls `f(l, lane_l)` for every lane.
    fn each(self, f: impl FnMut(usize, u64));
}

impl Lanes for u64 {
    const L: usize = 1;
    #[inline(always)]
    fn splat(x: u64) -> Self {
        x
    }
    #[inline(always)]
    fn build(mut f: impl FnMut(usize) -> u64) -> Self {
        f(0)
    }
    #[inline(always)]
    fn each(self, mut f: impl FnMut(usize, u64)) {
        f(0, self)
    }
}

macro_rules! wide_lanes {
    ($t:ty, $n:literal) => {
        impl Lanes for $t {
            const L: usize = $n;
            #[inline(always)]
            fn splat(x: u64) -> Self {
                <$t>::splat(x)
            }
            #[inline(always)]
            fn build(f: impl FnMut(usize) -> u64) -> Self {
                <$t>::new(core::array::from_fn(f))
            }
            #[inline(always)]
            fn each(self, mut f: impl FnMut(usize, u64)) {
                for (l, x) in self.to_array().into_iter().enumerate() {
                    f(l, x)
                }
            }
        }
    };
}
wide_lanes!(wide::u64x2, 2);
wide_lanes!(wide::u64x4, 4);
wide_lanes!(wide::u64x8, 8);

/// Masks selecting the bits whose word-bit `q` is 0, for `q = 0..6`.
const MASK: [u64; 6] = [
    0x5555_5555_5555_5555,
    0x3333_3333_3333_3333,
    0x0f0f_0f0f_0f0f_0f0f,
    0x00ff_00ff_00ff_00ff,
    0x0000_ffff_0000_ffff,
    0x0000_0000_ffff_ffff,
];

/// One stage: exchange vector-index bit `P` with word-bit `Q` (see the module docs).
#[inline(always)]
fn stage<W: Lanes, const N: usize, const P: usize, const Q: usize>(v: &mut [W; N]) {
    if P >= 6 || Q >= 6 || (1 << P) >= N {
        return; // unused slot of a plan
    }
    let s = 1u32 << Q;
    let m = W::splat(MASK[Q]);
    let bit = 1 << P;
    for hi in 0..N / (2 * bit) {
        for lo in 0..bit {
            let a = hi * 2 * bit + lo;
            let (x, y) = (v[a], v[a | bit]);
            let t = ((x >> s) ^ y) & m;
            v[a | bit] = y ^ t;
            v[a] = x ^ (t << s);
        }
    }
}

/// Runs the stages of a plan given as `const` items, forward or backward. Unused slots hold
/// `(6, 6)`, which [`stage`] skips.
macro_rules! run {
    ($v:expr, $plan:expr, fwd) => {{
        stage::<W, N, { $plan[0].0 }, { $plan[0].1 }>($v);
        stage::<W, N, { $plan[1].0 }, { $plan[1].1 }>($v);
        stage::<W, N, { $plan[2].0 }, { $plan[2].1 }>($v);
        stage::<W, N, { $plan[3].0 }, { $plan[3].1 }>($v);
        stage::<W, N, { $plan[4].0 }, { $plan[4].1 }>($v);
        stage::<W, N, { $plan[5].0 }, { $plan[5].1 }>($v);
    }};
    ($v:expr, $plan:expr, inv) => {{
        stage::<W, N, { $plan[5].0 }, { $plan[5].1 }>($v);
        stage::<W, N, { $plan[4].0 }, { $plan[4].1 }>($v);
        stage::<W, N, { $plan[3].0 }, { $plan[3].1 }>($v);
        stage::<W, N, { $plan[2].0 }, { $plan[2].1 }>($v);
        stage::<W, N, { $plan[1].0 }, { $plan[1].1 }>($v);
        stage::<W, N, { $plan[0].0 }, { $plan[0].1 }>($v);
    }};
}

/// A transpose: the stages to run, and which output stream each vector ends up holding.
#[derive(Clone, Copy)]
pub(crate) struct Plan {
    /// `(p, q)` pairs, in forward order.
    pub stages: [(usize, usize); 6],
    /// Number of stages used.
    pub len: usize,
    /// `stream[v]`: the output row (bitshuffle: `8*j + k`) or byte plane (shuffle: `j`) of vector `v`.
    pub stream: [usize; 64],
}

// Label encoding used while planning: word index bit i -> i, element-byte bit c_i -> 16 + i,
// bit-in-byte k_i -> 32 + i.
const W_: usize = 0;
const C_: usize = 16;
const K_: usize = 32;

/// Plans a transpose for `ts = 1 << t`.
///
/// Input: per lane, a block of consecutive bytes; vector `v` holds its word `v`. A byte at block
/// offset `8*w + c` is byte `c % ts` of element `(8*w + c) / ts`, i.e. element bits are
/// `(w, c_2..c_t)` and the byte-in-element is `c_{t-1}..c_0`.
///
/// `bits == true` (bitshuffle, `8*ts` vectors, blocks of 64 elements): output word-bits must be the
/// 6 element bits, so vector `v` ends as bit row `8*j + k`.
/// `bits == false` (byte shuffle, `ts` vectors, blocks of 8 elements, `t >= 1`): output byte bits
/// must be the 3 element bits, bit-in-byte untouched, so vector `v` ends as byte plane `j`.
pub(crate) const fn plan(t: usize, bits: bool) -> Plan {
    let vbits = if bits { 3 + t } else { t };
    let ebits = if bits { 6 } else { 3 };
    let mut vl = [usize::MAX; 6];
    let mut wl = [0usize; 6];
    let mut i = 0;
    while i < vbits {
        vl[i] = W_ + i;
        i += 1;
    }
    i = 0;
    while i < 3 {
        wl[i] = K_ + i;
        wl[3 + i] = C_ + i;
        i += 1;
    }
    let mut out = Plan {
        stages: [(6, 6); 6],
        len: 0,
        stream: [0; 64],
    };
    // Element bit e_i (i < ebits) lands on word-bit q = i + (6 - ebits). Fill word-bits from the
    // top: the label wanted there is either a word-index bit still sitting in a vector bit, or an
    // element-byte bit that an earlier (higher) stage already moved out to a vector bit.
    let low_c = 3 - t; // how many element bits come from c (the byte offset inside a word)
    let mut e = ebits;
    while e > 0 {
        e -= 1;
        let want = if e < low_c {
            C_ + e + t
        } else {
            W_ + e - low_c
        };
        let q = e + (6 - ebits);
        let mut p = 0;
        while vl[p] != want {
            p += 1;
        }
        out.stages[out.len] = (p, q);
        out.len += 1;
        let tmp = vl[p];
        vl[p] = wl[q];
        wl[q] = tmp;
    }
    // Read off which stream each vector carries.
    let mut v = 0;
    while v < (1 << vbits) {
        let mut j = 0;
        let mut k = 0;
        let mut p = 0;
        while p < vbits {
            let b = (v >> p) & 1;
            if vl[p] >= K_ {
                k |= b << (vl[p] - K_);
            } else if vl[p] >= C_ {
                j |= b << (vl[p] - C_);
            } else {
                panic!("word label left in a vector bit");
            }
            p += 1;
        }
        out.stream[v] = if bits { 8 * j + k } else { j };
        v += 1;
    }
    out
}

/// Plans by kind: 0..=3 bitshuffle of typesize 1, 2, 4, 8; 4..=6 byte shuffle of typesize 2, 4, 8.
pub(crate) const PLANS: [Plan; 7] = [
    plan(0, true),
    plan(1, true),
    plan(2, true),
    plan(3, true),
    plan(1, false),
    plan(2, false),
    plan(3, false),
];
const S0: [(usize, usize); 6] = PLANS[0].stages;
const S1: [(usize, usize); 6] = PLANS[1].stages;
const S2: [(usize, usize); 6] = PLANS[2].stages;
const S3: [(usize, usize); 6] = PLANS[3].stages;
const S4: [(usize, usize); 6] = PLANS[4].stages;
const S5: [(usize, usize); 6] = PLANS[5].stages;
const S6: [(usize, usize); 6] = PLANS[6].stages;

/// Runs plan `K` on `v`, forward or backward, with every stage's parameters known at compile time.
#[inline(always)]
fn run_plan<W: Lanes, const N: usize, const K: usize>(v: &mut [W; N], backward: bool) {
    macro_rules! go {
        ($s:ident) => {
            if backward {
                run!(v, $s, inv)
            } else {
                run!(v, $s, fwd)
            }
        };
    }
    match K {
        0 => go!(S0),
        1 => go!(S1),
        2 => go!(S2),
        3 => go!(S3),
        4 => go!(S4),
        5 => go!(S5),
        _ => go!(S6),
    }
}

#[inline(always)]
fn ld(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().unwrap())
}

#[inline(always)]
fn st(d: &mut [u8], at: usize, x: u64) {
    d[at..at + 8].copy_from_slice(&x.to_le_bytes());
}

/// Forward transpose of `W::L` consecutive blocks.
///
/// `src` holds the `W::L` blocks back to back (block = `N` words); stream `s` of lane `l` goes to
/// `dst[s * stride + off + 8 * l ..][..8]`.
#[inline(always)]
pub(crate) fn forward<W: Lanes, const N: usize, const K: usize>(
    src: &[u8],
    dst: &mut [u8],
    stride: usize,
    off: usize,
) {
    let src = &src[..N * 8 * W::L];
    let mut v: [W; N] = core::array::from_fn(|w| W::build(|l| ld(src, (l * N + w) * 8)));
    run_plan::<W, N, K>(&mut v, false);
    for (w, x) in v.into_iter().enumerate() {
        let at = const { PLANS[K].stream }[w] * stride + off;
        let d = &mut dst[at..at + 8 * W::L];
        x.each(|l, y| st(d, 8 * l, y));
    }
}

/// Inverse of [`forward`]: reads stream `s` of lane `l` at `src[s * stride + off + 8 * l ..][..8]`
/// and writes the `W::L` blocks back to back into `dst`.
#[inline(always)]
pub(crate) fn inverse<W: Lanes, const N: usize, const K: usize>(
    src: &[u8],
    stride: usize,
    off: usize,
    dst: &mut [u8],
) {
    let dst = &mut dst[..N * 8 * W::L];
    let mut v: [W; N] = core::array::from_fn(|w| {
        let at = const { PLANS[K].stream }[w] * stride + off;
        let s = &src[at..at + 8 * W::L];
        W::build(|l| ld(s, 8 * l))
    });
    run_plan::<W, N, K>(&mut v, true);
    for (w, x) in v.into_iter().enumerate() {
        x.each(|l, y| st(dst, (l * N + w) * 8, y));
    }
}

//! Undoing the shuffle filters of a block after its streams are decoded.
//!
//! * Version 2 (c-blosc1 rules): flags bit 0 → byte unshuffle (typesize > 1); otherwise bit 2 →
//!   bit unshuffle **only when the block's element count is a multiple of 8** (all or nothing).
//! * Blosc2: the six-slot pipeline undone from slot 5 to slot 0; SHUFFLE uses `filters_meta` as
//!   the byte-group size when non-zero, BITSHUFFLE transposes `n - n % 8` elements and copies the
//!   rest, TRUNC_PREC has nothing to undo.

use super::error::{Error, unsupported};
use super::header::{
    ChunkHeader, FILTER_BITSHUFFLE, FILTER_DELTA, FILTER_NONE, FILTER_SHUFFLE, FILTER_TRUNC_PREC,
    FLAG_BITSHUFFLE, FLAG_SHUFFLE,
};

/// One inverse filter step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Byte unshuffle with this element (group) size.
    Unshuffle(usize),
    /// Bit unshuffle with this element size.
    BitUnshuffle(usize),
}

impl Step {
    /// Runs the step from `src` into `dst` (same length).
    pub(crate) fn run(self, src: &[u8], dst: &mut [u8]) {
        match self {
            Step::Unshuffle(ts) => mrcz_simd::unshuffle(ts, src, dst),
            Step::BitUnshuffle(ts) => mrcz_simd::bitunshuffle(ts, src, dst),
        }
    }
}

/// The inverse filters of a chunk's blocks.
#[derive(Debug, Clone)]
pub(crate) enum BlockFilter {
    /// Version 2, flags bit 0 or 2 (or neither).
    V2 {
        shuffle: bool,
        bitshuffle: bool,
        typesize: usize,
    },
    /// Blosc2 pipeline, in the order to undo it (slot 5 first), at most 6 steps.
    Blosc2 { steps: [Option<Step>; 6] },
}

impl BlockFilter {
    /// The filters of a chunk; unknown or unsupported Blosc2 filters are errors naming the id.
    pub(crate) fn new(hdr: &ChunkHeader) -> Result<Self, Error> {
        let typesize = hdr.typesize;
        let Some(ext) = hdr.extension.as_ref().filter(|_| hdr.version != 2) else {
            return Ok(BlockFilter::V2 {
                shuffle: hdr.flags & FLAG_SHUFFLE != 0,
                bitshuffle: hdr.flags & FLAG_BITSHUFFLE != 0,
                typesize,
            });
        };
        let mut steps = [None; 6];
        for (i, slot) in (0..6).rev().enumerate() {
            let meta = usize::from(ext.filters_meta[slot]);
            steps[i] = match ext.filters[slot] {
                FILTER_NONE | FILTER_TRUNC_PREC => None,
                FILTER_SHUFFLE => Some(Step::Unshuffle(if meta != 0 { meta } else { typesize })),
                FILTER_BITSHUFFLE => Some(Step::BitUnshuffle(typesize)),
                FILTER_DELTA => return Err(unsupported("filter DELTA (id 3)")),
                id => return Err(unsupported(format!("filter id {id}"))),
            };
        }
        Ok(BlockFilter::Blosc2 { steps })
    }

    /// The steps that change a block of `bsize` bytes, in order (identity steps left out).
    pub(crate) fn steps(&self, bsize: usize) -> impl Iterator<Item = Step> + '_ {
        let (v2, list): (Option<Step>, &[Option<Step>]) = match self {
            BlockFilter::V2 {
                shuffle,
                bitshuffle,
                typesize,
            } => {
                let ts = *typesize;
                let step = if *shuffle {
                    (ts > 1).then_some(Step::Unshuffle(ts))
                } else if *bitshuffle && bsize >= ts && (bsize / ts).is_multiple_of(8) {
                    Some(Step::BitUnshuffle(ts))
                } else {
                    None
                };
                (step, &[])
            }
            BlockFilter::Blosc2 { steps } => (None, steps.as_slice()),
        };
        v2.into_iter()
            .chain(list.iter().flatten().copied())
            .filter(move |step| match *step {
                Step::Unshuffle(g) => g > 1 && bsize / g >= 2,
                Step::BitUnshuffle(ts) => bsize / ts >= 8,
            })
    }
}

//! Per-thread reusable state: codec contexts and block buffers, so the hot path does not
//! allocate per block or per chunk.

use std::cell::RefCell;

use crate::codec::Contexts;

/// Everything one thread reuses from block to block.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Codec contexts and codec scratch.
    pub codecs: Contexts,
    /// Filtered block (decoded streams before unshuffle, or shuffled input before encoding).
    pub a: Vec<u8>,
    /// Second buffer for multi-step filter pipelines.
    pub b: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (a fresh one if it is already in use higher up the stack).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let r = f(&mut s);
            s.trim();
            r
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Buffers larger than this are freed after use rather than kept by the thread.
pub(crate) const KEEP_BYTES: usize = 16 << 20;

impl Scratch {
    /// Drops buffers grown by an unusually large block, so that one huge chunk does not pin
    /// its memory in every thread for the rest of the process.
    fn trim(&mut self) {
        for buf in [&mut self.a, &mut self.b] {
            if buf.capacity() > KEEP_BYTES {
                *buf = Vec::new();
            }
        }
        self.codecs.trim(KEEP_BYTES);
    }
}

/// The first `n` bytes of `buf`, growing it (zero-filled) only when it is too short.
pub(crate) fn prefix(buf: &mut Vec<u8>, n: usize) -> &mut [u8] {
    if buf.len() < n {
        buf.resize(n, 0);
    }
    &mut buf[..n]
}

//! Allocation is bounded by what the file can justify plus the caller's limits.
//!
//! The global allocator of this test binary is `cap::Cap` around the system allocator. Before each
//! hostile input is opened and decoded, the heap is allowed to grow by at most the bound; an
//! allocation past it fails, which aborts this test process ("memory allocation of N bytes
//! failed"), so the test finishing proves the bound for every input. This is the only test in
//! this binary (the limit is process-wide, so other tests running in parallel would blur it).
//! Like every crate of the project, this one forbids unsafe code: `cap` does the allocator work.
//!
//! The bound checked, for every hostile input of this file: opening it and decoding every frame
//! the way a caller does (one frame buffer of `frame_len`, `read_frame` for each frame) never has
//! more than `8 × file size + 256 KiB` live on the heap above the baseline. The 256 KiB leaves
//! room for codec state; the factor 8 covers the copies the reader makes of the file's bytes (a
//! chunk, the metadata and its parse), frames that legitimately decode from these small files,
//! and the frame index. With the default limits (2 GiB frames) a file claiming gigabytes it
//! cannot hold is refused at open, before the caller sizes a buffer; a file that legitimately
//! stands for a huge frame (a Blosc2 zero chunk) is refused by `max_frame_bytes`, also before
//! anything is allocated.
#![forbid(unsafe_code)]

#[path = "malformed_support/mod.rs"]
mod support;

use std::alloc::System;
use std::io::Cursor;

use cap::Cap;
use mrcz::mrc::{Endian, Header, Mode};
use mrcz::mrcz::{ReadOptions, Reader};
use mrcz::synthetic::Rng;
use support::*;

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Runs `f` with the heap allowed to grow by at most `limit` bytes: an allocation past that fails
/// and aborts the process, so returning proves the bound.
fn within(limit: usize, f: impl FnOnce()) {
    ALLOC
        .set_limit(ALLOC.allocated() + limit)
        .expect("limit above the current use");
    f();
    ALLOC.set_limit(usize::MAX).expect("lift the limit");
}

fn bound(file_len: usize) -> usize {
    8 * file_len + (256 << 10)
}

fn header(nx: i32, ny: i32, nz: i32, id: u32) -> Vec<u8> {
    let mut h = Header::for_mrcz(nx, ny, nz, Mode::Int8, id);
    h.set_endian(Endian::Little);
    h.to_bytes().to_vec()
}

fn v2_head(flags: u8, nbytes: i32, blocksize: i32, cbytes: i32) -> Vec<u8> {
    let mut c = vec![2, 1, flags, 1];
    c.extend(nbytes.to_le_bytes());
    c.extend(blocksize.to_le_bytes());
    c.extend(cbytes.to_le_bytes());
    c
}

/// Tiny files whose headers claim gigabytes of frames, frames, metadata or chunks.
fn hostile_files() -> Vec<(String, Vec<u8>)> {
    let gib = 1i32 << 30;
    let mut v = Vec::new();
    for (blocksize, cbytes) in [(1 << 20, 40), (1 << 29, 64), (1 << 29, 4096)] {
        let mut f = header(32768, 32768, 1, 6);
        let mut c = v2_head(0x80, gib, blocksize, cbytes);
        c.resize(cbytes as usize, 0);
        c[16..20].copy_from_slice(&24i32.to_le_bytes());
        c[20..24].copy_from_slice(&(cbytes - 28).to_le_bytes());
        f.extend(c);
        v.push((format!("v2 chunk of {cbytes} bytes claiming 1 GiB"), f));
    }
    // NZ = 2^31 - 1 with three small chunks.
    let mut f = header(2, 2, i32::MAX, 6);
    for _ in 0..3 {
        f.extend(v2_head(0x82, 4, 4, 20));
        f.extend([1, 2, 3, 4]);
    }
    v.push(("NZ 2^31-1 over 3 chunks".into(), f));
    // NZ huge over plain data.
    let mut h = Header::new(64, 64, i32::MAX, Mode::Int8);
    h.set_endian(Endian::Little);
    let mut f = h.to_bytes().to_vec();
    f.extend([7u8; 4096]);
    v.push(("plain NZ 2^31-1".into(), f));
    // NSYMBT 2 GiB.
    let mut f = header(2, 2, 1, 6);
    put_i32(&mut f, NSYMBT, i32::MAX);
    f.extend(v2_head(0x82, 4, 4, 20));
    f.extend([1, 2, 3, 4]);
    v.push(("NSYMBT 2^31-1".into(), f));
    // A Blosc2 chunk with a 1 GiB block table claim and a Blosc2 zero chunk of 1 GiB.
    let mut f = header(32768, 32768, 1, 6);
    let mut c = vec![5, 1, 0x85, 1];
    c.extend(gib.to_le_bytes());
    c.extend(16i32.to_le_bytes());
    c.extend(48i32.to_le_bytes());
    c.extend([1, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    c.extend(40i32.to_le_bytes());
    c.extend(40i32.to_le_bytes());
    c.extend(0i32.to_le_bytes());
    c.extend(0i32.to_le_bytes());
    f.extend(c);
    v.push(("Blosc2 chunk of 48 bytes with 2^26 blocks".into(), f));
    v
}

#[test]
fn allocation_is_bounded_by_the_file_and_the_limits() {
    // Warm up: thread pool, per-thread codec contexts, the allocator's own state.
    let bases = bases();
    for b in &bases {
        let _ = read_everything(&b.file, &tight());
        let _ = read_everything(&b.file, &ReadOptions::default());
    }

    let check = |name: &str, file: &[u8], opts: &ReadOptions| {
        eprintln!("{name}: {} bytes, bound {}", file.len(), bound(file.len()));
        within(bound(file.len()), || {
            let _ = read_everything(file, opts);
        });
    };

    for (name, f) in hostile_files() {
        // With the default limits (2 GiB frames) too: the file must be refused before the
        // caller allocates a frame.
        check(&name, &f, &ReadOptions::default());
        check(&name, &f, &tight());
        assert!(
            read_everything(&f, &ReadOptions::default()).is_err(),
            "{name} read"
        );
    }

    // Random corruption of valid small files, with default and tight limits.
    for (bi, b) in bases.iter().enumerate() {
        let mut rng = Rng::new(77 + bi as u64);
        for it in 0..300 {
            let mut f = b.file.clone();
            for _ in 0..1 + rng.next_u64() % 4 {
                let at = (rng.next_u64() % f.len() as u64) as usize;
                f[at] = rng.next_u64() as u8;
            }
            let opts = if it % 2 == 0 {
                tight()
            } else {
                ReadOptions::default()
            };
            check(&format!("{} mutation {it}", b.name), &f, &opts);
        }
    }

    // The caller's cap: a Blosc2 zero chunk may stand for 1 GiB, but not past max_frame_bytes.
    let mut f = header(32768, 32768, 1, 6);
    f.extend([5, 1, 0x85, 1]);
    f.extend((1i32 << 30).to_le_bytes());
    f.extend((1i32 << 30).to_le_bytes());
    f.extend(32i32.to_le_bytes());
    f.extend([0u8; 15]);
    f.push(0x10);
    within(bound(f.len()), || {
        assert!(Reader::new_with(Cursor::new(&f), tight()).is_err());
    });
}

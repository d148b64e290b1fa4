//! Helpers shared by the hostile-input, validation and durability tests: small valid files built
//! in memory with the library's `Writer`, tight read limits, and a reader loop that decodes every
//! frame the way a caller would.
#![allow(dead_code)]

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mrcz::blosc::{Limits, Shuffle};
use mrcz::codec::Codec;
use mrcz::mrc::{Endian, Metadata, Mode};
use mrcz::mrcz::{Compression, ReadOptions, Reader, WriteOptions, Writer};
use mrcz::synthetic::Rng;

/// Header word offsets (MRC2014).
pub const NX: usize = 0;
pub const NY: usize = 4;
pub const NZ: usize = 8;
pub const MODE: usize = 12;
pub const NSYMBT: usize = 92;
pub const PACKED: usize = 144;

/// `nz` frames of `mode` pixels in the machine's byte order: small integers and floats, as a
/// detector gives, so that codecs actually compress them.
pub fn frames(mode: Mode, nx: usize, ny: usize, nz: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let len = mode.section_bytes(nx as u64, ny as u64).unwrap() as usize * nz;
    let mut v = vec![0u8; len];
    match mode {
        Mode::Float32 => v
            .chunks_exact_mut(4)
            .for_each(|c| c.copy_from_slice(&((rng.next_u64() % 7) as f32 * 0.5).to_ne_bytes())),
        Mode::Int16 | Mode::Uint16 => v
            .chunks_exact_mut(2)
            .for_each(|c| c.copy_from_slice(&((rng.next_u64() % 300) as u16).to_ne_bytes())),
        _ => v.iter_mut().for_each(|b| *b = (rng.next_u64() % 5) as u8),
    }
    v
}

/// MRCZ (or plain, with `codec: None`) write options with JSON metadata.
pub fn options(
    codec: Option<Codec>,
    shuffle: Shuffle,
    block: usize,
    endian: Endian,
) -> WriteOptions {
    WriteOptions {
        compression: codec.map(|codec| Compression {
            codec,
            level: 3,
            shuffle,
            block_size: Some(block),
        }),
        endian,
        metadata: Metadata::json(serde_json::json!({"voltage": 300.0, "dose": [1, 2, 3]})),
        voltage: 300.0,
        ..WriteOptions::default()
    }
}

/// Writes a file in memory; returns its bytes and the frames written.
pub fn build(
    mode: Mode,
    nx: usize,
    ny: usize,
    nz: usize,
    opts: &WriteOptions,
) -> (Vec<u8>, Vec<u8>) {
    let data = frames(mode, nx, ny, nz, (nx * 31 + ny * 7 + nz) as u64);
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, mode, opts).unwrap();
    w.write_frames(&data).unwrap();
    let (cur, _) = w.finish().unwrap();
    (cur.into_inner(), data)
}

/// A small named valid file.
pub struct Base {
    pub name: &'static str,
    pub file: Vec<u8>,
    pub data: Vec<u8>,
    pub frame_len: usize,
}

/// Small valid files: every codec, both shuffles, multi-block chunks, both byte orders, plain.
pub fn bases() -> Vec<Base> {
    type Case = (&'static str, Mode, Option<Codec>, Shuffle, usize, Endian);
    let cases: [Case; 6] = [
        (
            "zstd-bit-f32",
            Mode::Float32,
            Some(Codec::Zstd),
            Shuffle::Bit,
            256,
            Endian::Little,
        ),
        (
            "lz4-byte-i16",
            Mode::Int16,
            Some(Codec::Lz4),
            Shuffle::Byte,
            128,
            Endian::Little,
        ),
        (
            "blosclz-none-i8",
            Mode::Int8,
            Some(Codec::BloscLz),
            Shuffle::None,
            64,
            Endian::Little,
        ),
        (
            "zlib-bit-u16-be",
            Mode::Uint16,
            Some(Codec::Zlib),
            Shuffle::Bit,
            256,
            Endian::Big,
        ),
        (
            "zstd-byte-f32-1block",
            Mode::Float32,
            Some(Codec::Zstd),
            Shuffle::Byte,
            1 << 20,
            Endian::Little,
        ),
        (
            "plain-f32",
            Mode::Float32,
            None,
            Shuffle::None,
            0,
            Endian::Little,
        ),
    ];
    cases
        .into_iter()
        .map(|(name, mode, codec, shuffle, block, endian)| {
            let (nx, ny, nz) = (16, 12, 3);
            let (file, data) = build(mode, nx, ny, nz, &options(codec, shuffle, block, endian));
            Base {
                name,
                file,
                data,
                frame_len: mode.section_bytes(nx as u64, ny as u64).unwrap() as usize,
            }
        })
        .collect()
}

/// Read limits small enough that no test allocates much: 1 MiB frames and metadata.
pub fn tight() -> ReadOptions {
    ReadOptions {
        max_frame_bytes: 1 << 20,
        max_metadata_bytes: 1 << 16,
        blosc: Limits {
            max_nbytes: 1 << 20,
            ..Limits::default()
        },
        allow_incomplete: false,
    }
}

/// What a careful caller does: open, then allocate one frame and decode each frame into it.
/// Returns all pixels (frames back to back, native order) and the warnings.
pub fn read_everything(bytes: &[u8], opts: &ReadOptions) -> mrcz::Result<(Vec<u8>, Vec<String>)> {
    let mut r = Reader::new_with(Cursor::new(bytes), opts.clone())?;
    let mut out = Vec::new();
    let mut frame = vec![0u8; r.frame_len()];
    for i in 0..r.frames() {
        r.read_frame(i, &mut frame)?;
        out.extend_from_slice(&frame);
    }
    Ok((out, r.warnings().to_vec()))
}

/// Runs `f`, turning a panic into a test failure that names the case.
pub fn guarded<T>(case: impl std::fmt::Display, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => panic!("panic on hostile input: {case}"),
    }
}

pub fn get_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// `(offset, length)` of every chunk of a valid file.
pub fn chunks(file: &[u8]) -> Vec<(usize, usize)> {
    let r = Reader::new(Cursor::new(file)).unwrap();
    (0..r.frames())
        .map(|i| {
            let (o, l) = r.frame_extent(i).unwrap();
            (o as usize, l)
        })
        .collect()
}

//! Hostile chunks: truncations, bit flips, lying header fields, random mutations. The decoder
//! must return an error (or, for a mutation that keeps the chunk valid, exactly `nbytes` bytes)
//! and never panic.

use std::path::PathBuf;

use mrcz::blosc::{self, ChunkHeader, Error, Limits, Params, Shuffle};
use mrcz::codec::Codec;
use proptest::prelude::*;

fn vector(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors");
    let text = std::fs::read_to_string(dir.join("vectors.tsv")).unwrap();
    let row = text
        .lines()
        .find(|l| l.split('\t').next() == Some(name))
        .unwrap_or_else(|| panic!("no vector {name}"));
    let chunk = row.split('\t').nth(5).unwrap();
    if let Some(file) = chunk.strip_prefix('@') {
        return std::fs::read(dir.join(file)).unwrap();
    }
    (0..chunk.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&chunk[i..i + 2], 16).unwrap())
        .collect()
}

/// Small valid chunks of every kind: v2 per codec (split and unsplit), Blosc2 with runs,
/// special values, memcpyed, and chunks from this crate's writer.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(build_samples)
}

fn build_samples() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "b1-lz4-shuf-ts4-cl5-n1000-base",
        "b1-blosclz-shuf-ts2-cl5-n1000",
        "b1-zlib-bitshuf-ts4-cl5-n1000",
        "b1-zstd-shuf-ts8-cl5-n1000",
        "b1-lz4-noshuf-ts1-cl5-n1000",
        "b2-lz4-shuf-ts4-cl5-n1000",
        "b2-zstd-bitshuf-ts4-cl5-n1000",
        "b2-blosclz-shuf-ts4-cl5-n1000-const",
        "b2-lz4-shuf-ts4-cl5-n1000-f32one",
        "b2-special-value-ts8-n4000",
        "b2-special-nan-ts4-n4000",
        "b2-special-zero-ts4-n4000",
    ]
    .iter()
    .map(|n| vector(n))
    .collect();
    let src: Vec<u8> = (0..3000u32).map(|i| (i % 7 * (i % 3)) as u8).collect();
    for codec in [Codec::BloscLz, Codec::Lz4, Codec::Zlib, Codec::Zstd] {
        for shuffle in [Shuffle::Byte, Shuffle::Bit] {
            let p = Params {
                block_size: Some(1024),
                ..Params::new(codec, 5, shuffle, 4)
            };
            v.push(blosc::compress(&src, &p).unwrap());
        }
    }
    v
}

/// Decodes without panicking; a success must have exactly the header's nbytes.
fn decode(chunk: &[u8]) -> Result<Vec<u8>, Error> {
    // Mutated sizes may make valid special-value chunks of a gigabyte: keep the test fast.
    let limits = Limits {
        max_nbytes: 1 << 20,
        ..Limits::default()
    };
    let r = blosc::decompress(chunk, &limits);
    if let Ok(out) = &r {
        assert_eq!(out.len(), ChunkHeader::parse(chunk).unwrap().nbytes);
    }
    r
}

#[test]
fn sample_names_exist_and_decode() {
    for s in samples() {
        decode(s).unwrap();
    }
}

#[test]
fn every_truncation_is_an_error() {
    let mut n = 0;
    for s in samples() {
        for len in 0..s.len() {
            assert!(decode(&s[..len]).is_err(), "prefix of {len} bytes accepted");
            n += 1;
        }
        // Trailing garbage: cbytes no longer matches the buffer.
        let mut long = s.to_vec();
        long.push(0);
        assert!(decode(&long).is_err());
    }
    assert!(n > 1000);
}

#[test]
fn every_single_bit_flip_is_handled() {
    for s in samples() {
        for byte in 0..s.len() {
            for bit in 0..8 {
                let mut c = s.clone();
                c[byte] ^= 1 << bit;
                let _ = decode(&c);
            }
        }
    }
}

fn set_i32(c: &mut [u8], at: usize, v: i32) {
    c[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn lying_fields_are_errors() {
    let base = vector("b1-lz4-shuf-ts4-cl5-n1000-base");
    let h = ChunkHeader::parse(&base).unwrap();
    assert!(!h.memcpyed && h.nbytes == 1000);
    type Lie = Box<dyn Fn(&mut Vec<u8>)>;
    let lies: Vec<(&str, Lie)> = vec![
        (
            "cbytes + 1",
            Box::new(|c| {
                let n = c.len() as i32;
                set_i32(c, 12, n + 1)
            }),
        ),
        (
            "cbytes - 1",
            Box::new(|c| {
                let n = c.len() as i32;
                set_i32(c, 12, n - 1)
            }),
        ),
        ("cbytes negative", Box::new(|c| set_i32(c, 12, -1))),
        ("nbytes + 1", Box::new(|c| set_i32(c, 4, 1001))),
        ("nbytes - 1", Box::new(|c| set_i32(c, 4, 999))),
        ("nbytes huge", Box::new(|c| set_i32(c, 4, i32::MAX))),
        ("nbytes negative", Box::new(|c| set_i32(c, 4, -1000))),
        ("blocksize 0", Box::new(|c| set_i32(c, 8, 0))),
        ("blocksize > nbytes", Box::new(|c| set_i32(c, 8, 1004))),
        ("blocksize / 2", Box::new(|c| set_i32(c, 8, 500))),
        ("blocksize - 4", Box::new(|c| set_i32(c, 8, 996))),
        ("bstart 0", Box::new(|c| set_i32(c, 16, 0))),
        ("bstart in table", Box::new(|c| set_i32(c, 16, 16))),
        (
            "bstart past end",
            Box::new(|c| {
                let n = c.len() as i32;
                set_i32(c, 16, n)
            }),
        ),
        ("bstart negative", Box::new(|c| set_i32(c, 16, -4))),
        ("csize 0", Box::new(|c| set_i32(c, 20, 0))),
        ("csize negative", Box::new(|c| set_i32(c, 20, -5))),
        ("csize huge", Box::new(|c| set_i32(c, 20, i32::MAX))),
        (
            "csize + 1",
            Box::new(|c| {
                let v = i32::from_le_bytes(c[20..24].try_into().unwrap());
                set_i32(c, 20, v + 1)
            }),
        ),
        ("typesize 0", Box::new(|c| c[3] = 0)),
        ("typesize 8", Box::new(|c| c[3] = 8)),
        ("memcpyed flag", Box::new(|c| c[2] |= 0x02)),
        ("dont_split flag", Box::new(|c| c[2] |= 0x10)),
        ("codec zstd", Box::new(|c| c[2] = (c[2] & 0x1f) | (4 << 5))),
        ("codec 7", Box::new(|c| c[2] = (c[2] & 0x1f) | (7 << 5))),
        ("version 5", Box::new(|c| c[0] = 5)),
        ("version 0", Box::new(|c| c[0] = 0)),
        ("versionlz 0", Box::new(|c| c[1] = 0)),
    ];
    for (what, lie) in lies {
        let mut c = base.clone();
        lie(&mut c);
        assert!(decode(&c).is_err(), "{what}: accepted");
    }
}

#[test]
fn huge_claims_with_tiny_bodies_fail_before_allocating() {
    // v2: 2 GB in 3 blocks of 700 MB, zstd, with 3 tiny streams.
    let mut c = vec![2u8, 1, 0x80 | 0x10, 1];
    c.extend(2_000_000_000i32.to_le_bytes());
    c.extend(700_000_000i32.to_le_bytes());
    c.extend(0i32.to_le_bytes());
    let table = c.len();
    c.extend([0u8; 12]);
    for j in 0..3 {
        let at = c.len() as i32;
        set_i32(&mut c, table + 4 * j, at);
        c.extend(9i32.to_le_bytes());
        c.extend([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0]);
    }
    let len = c.len() as i32;
    set_i32(&mut c, 12, len);
    match blosc::decompress(&c, &Limits::default()) {
        Err(Error::Corrupt(msg)) => assert!(msg.contains("cannot decode"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Memcpyed claim: cbytes must be nbytes + 16.
    let mut m = vec![2u8, 1, 0x02, 1];
    m.extend(2_000_000_000i32.to_le_bytes());
    m.extend(1i32.to_le_bytes());
    m.extend(16i32.to_le_bytes());
    assert!(matches!(
        blosc::decompress(&m, &Limits::default()),
        Err(Error::Corrupt(_))
    ));
    // Blosc2: many blocks need a bstarts table that is not there.
    let mut b = vec![5u8, 1, 0x05 | 0x20, 1];
    b.extend(2_000_000_000i32.to_le_bytes());
    b.extend(1i32.to_le_bytes());
    b.extend(40i32.to_le_bytes());
    b.extend([0u8; 16]);
    b.extend([0u8; 8]);
    assert!(matches!(
        blosc::decompress(&b, &Limits::default()),
        Err(Error::Corrupt(_))
    ));
}

#[test]
fn blosc2_flags_that_are_not_supported() {
    let base = vector("b2-lz4-shuf-ts4-cl5-n1000");
    assert!(decode(&base).is_ok());
    let unsupported = [
        (17usize, 3u8, "DELTA"),
        (17, 200, "filter id 200"),
        (31, 0x01, "dictionary"),
        (31, 0x08, "lazy"),
        (30, 0x01, "variable-length"),
    ];
    for (at, val, what) in unsupported {
        let mut c = base.clone();
        if at == 17 {
            c[at] = val;
        } else {
            c[at] |= val;
        }
        match decode(&c) {
            Err(Error::Unsupported(msg)) => assert!(msg.contains(what), "{msg}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A user codec id in byte 22 with compformat 6.
    let mut c = base.clone();
    c[2] = (c[2] & 0x1f) | (6 << 5);
    c[22] = 160;
    assert!(matches!(decode(&c), Err(Error::Unsupported(_))));
    // Run streams: the spec example has four `csize -90, token 1` streams after bstarts.
    let runs = vector("b2-blosclz-shuf-ts4-cl5-n1000-const");
    let first = i32::from_le_bytes(runs[32..36].try_into().unwrap()) as usize;
    assert_eq!(&runs[first..first + 5], &[0xa6, 0xff, 0xff, 0xff, 0x01]);
    assert_eq!(decode(&runs).unwrap(), vec![0x5a; 1000]);
    let mut bad_token = runs.clone();
    bad_token[first + 4] = 2;
    assert!(matches!(decode(&bad_token), Err(Error::Corrupt(_))));
    let mut below = runs.clone();
    below[first..first + 4].copy_from_slice(&(-256i32).to_le_bytes());
    assert!(matches!(decode(&below), Err(Error::Corrupt(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_mutations_never_panic(
        which in 0usize..20,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let samples = samples();
        let mut c = samples[which % samples.len()].clone();
        for (at, val) in edits {
            let i = at.index(c.len());
            c[i] = val;
        }
        if truncate {
            c.truncate(cut.index(c.len() + 1));
        }
        let _ = decode(&c);
        let _ = ChunkHeader::parse(&c);
    }
}

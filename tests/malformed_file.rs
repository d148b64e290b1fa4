//! Hostile MRCZ files through the public `Reader`: truncations, bit flips, lying chunk and header
//! fields, broken metadata, tiny files claiming gigabytes. Each must give a typed error (or, for
//! damage the format cannot detect, pixels that may differ), never a panic.

#[path = "malformed_support/mod.rs"]
mod support;

use std::io::Cursor;

use mrcz::Error;
use mrcz::mrc::{Endian, Metadata, Mode};
use mrcz::mrcz::{ReadOptions, Reader};
use mrcz::synthetic::Rng;
use support::*;

fn is_structural(e: &Error) -> bool {
    matches!(e, Error::Format { .. } | Error::Chunk { .. })
}

#[test]
fn every_truncation_is_a_typed_error() {
    let mut cuts = 0;
    for b in bases() {
        for cut in 0..b.file.len() {
            let r = guarded(format!("{} cut at {cut}", b.name), || {
                read_everything(&b.file[..cut], &tight())
            });
            match r {
                Err(e) => assert!(is_structural(&e), "{} cut at {cut}: {e:?}", b.name),
                Ok(_) => panic!(
                    "{}: cut at {cut} of {} read without error",
                    b.name,
                    b.file.len()
                ),
            }
            cuts += 1;
        }
        // The uncut file reads back exactly.
        assert_eq!(
            read_everything(&b.file, &tight()).unwrap().0,
            b.data,
            "{}",
            b.name
        );
    }
    assert!(cuts > 10_000, "only {cuts} truncations tried");
}

#[test]
fn truncations_with_allow_incomplete_give_the_complete_frames() {
    let opts = ReadOptions {
        allow_incomplete: true,
        ..tight()
    };
    for b in bases() {
        let extents: Vec<(usize, usize)> = if b.name.starts_with("plain") {
            let start = b.file.len() - 3 * b.frame_len;
            (0..3)
                .map(|z| (start + z * b.frame_len, b.frame_len))
                .collect()
        } else {
            chunks(&b.file)
        };
        let data_offset = extents[0].0;
        for cut in 0..=b.file.len() {
            let r = guarded(format!("{} cut at {cut}", b.name), || {
                read_everything(&b.file[..cut], &opts)
            });
            if cut < data_offset {
                assert!(
                    r.is_err(),
                    "{}: cut at {cut} inside the headers opened",
                    b.name
                );
                continue;
            }
            let complete = extents.iter().filter(|(o, l)| o + l <= cut).count();
            let (pixels, warnings) = r.unwrap_or_else(|e| panic!("{} cut at {cut}: {e}", b.name));
            assert_eq!(
                pixels,
                b.data[..complete * b.frame_len],
                "{} cut at {cut}",
                b.name
            );
            let warned = warnings.iter().any(|w| w.contains("incomplete"));
            assert_eq!(
                warned,
                complete < 3,
                "{} cut at {cut}: {warnings:?}",
                b.name
            );
        }
    }
}

#[test]
fn random_bit_flips_never_panic() {
    let (mut ok, mut err, mut same) = (0, 0, 0);
    for (bi, b) in bases().iter().enumerate() {
        let mut rng = Rng::new(0x5eed + bi as u64);
        for it in 0..1500 {
            let mut f = b.file.clone();
            let flips = 1 + rng.next_u64() % 3;
            let mut in_labels = true;
            for _ in 0..flips {
                let at = (rng.next_u64() % f.len() as u64) as usize;
                f[at] ^= 1 << (rng.next_u64() % 8);
                in_labels &= (224..1024).contains(&at);
            }
            let r = guarded(format!("{} flip iteration {it}", b.name), || {
                read_everything(&f, &tight())
            });
            match r {
                Ok((pixels, _)) => {
                    // A flipped NX, NY, NZ or MODE may still describe a readable file.
                    ok += 1;
                    if pixels == b.data {
                        same += 1;
                    }
                    if in_labels {
                        assert_eq!(pixels, b.data, "{}: label flips changed pixels", b.name);
                    }
                }
                Err(e) => {
                    err += 1;
                    assert!(
                        !matches!(e, Error::InvalidArgument(_) | Error::Io(_)),
                        "{} iteration {it}: {e:?}",
                        b.name
                    );
                    assert!(!in_labels, "{}: label flips failed the file: {e}", b.name);
                }
            }
        }
    }
    // Both outcomes occur: the flips reach the checks and the data.
    assert!(
        ok > 500 && err > 500 && same > 0,
        "ok {ok}, err {err}, same {same}"
    );
}

/// Sets the i32 at `at` to each value and expects every read to fail.
fn expect_errors(name: &str, file: &[u8], at: usize, values: &[i32]) {
    for &v in values {
        let mut f = file.to_vec();
        put_i32(&mut f, at, v);
        let r = guarded(format!("{name} = {v}"), || read_everything(&f, &tight()));
        assert!(r.is_err(), "{name} = {v} read without error");
    }
}

/// Sets the i32 at `at` to each value: no panic, and a successful read has the right size.
fn expect_no_panic(name: &str, file: &[u8], at: usize, values: &[i32], len: usize) {
    for &v in values {
        let mut f = file.to_vec();
        put_i32(&mut f, at, v);
        if let Ok((pixels, _)) = guarded(format!("{name} = {v}"), || read_everything(&f, &tight()))
        {
            assert_eq!(pixels.len(), len, "{name} = {v}");
        }
    }
}

#[test]
fn lying_chunk_fields_fail() {
    let mut checked = 0;
    for b in bases().iter().filter(|b| !b.name.starts_with("plain")) {
        let c = chunks(&b.file);
        for (k, &(off, len)) in c.iter().enumerate() {
            let n = b.frame_len as i32;
            let name = |f: &str| format!("{} chunk {k} {f}", b.name);
            // nbytes: the section size is known from the header.
            expect_errors(
                &name("nbytes"),
                &b.file,
                off + 4,
                &[0, 1, n - 1, n + 1, n * 2, i32::MAX, -1, i32::MIN],
            );
            // cbytes: the chain or the chunk breaks.
            let cb = len as i32;
            expect_errors(
                &name("cbytes"),
                &b.file,
                off + 12,
                &[
                    0,
                    1,
                    15,
                    16,
                    cb - 1,
                    cb + 1,
                    cb + 1000,
                    i32::MAX,
                    -1,
                    i32::MIN,
                ],
            );
            // blocksize.
            let bs = get_i32(&b.file, off + 8);
            expect_errors(
                &name("blocksize"),
                &b.file,
                off + 8,
                &[0, -1, i32::MIN, n + 1, i32::MAX],
            );
            expect_no_panic(
                &name("blocksize"),
                &b.file,
                off + 8,
                &[1, 2, 3, bs - 1, bs + 1, bs / 2, n - 1],
                b.data.len(),
            );
            let memcpyed = b.file[off + 2] & 0x02 != 0;
            if !memcpyed {
                // First bstart, and the size of the first stream it points at.
                let first = get_i32(&b.file, off + 16);
                expect_errors(
                    &name("bstart"),
                    &b.file,
                    off + 16,
                    &[
                        0,
                        4,
                        15,
                        16,
                        19,
                        cb,
                        cb + 1,
                        cb + 100_000,
                        -1,
                        i32::MIN,
                        i32::MAX,
                    ],
                );
                let nblocks = (first - 16) / 4;
                for j in 1..nblocks as usize {
                    expect_errors(
                        &name("later bstart"),
                        &b.file,
                        off + 16 + 4 * j,
                        &[0, 16, cb, -1, i32::MAX],
                    );
                }
                let s = off + first as usize;
                expect_errors(
                    &name("csize"),
                    &b.file,
                    s,
                    &[0, -1, -255, cb, cb - first + 1, i32::MAX, i32::MIN],
                );
                let csize = get_i32(&b.file, s);
                expect_no_panic(
                    &name("csize"),
                    &b.file,
                    s,
                    &[1, 2, csize - 1, csize + 1, n],
                    b.data.len(),
                );
            }
            // Version, versionlz, typesize, reserved flag bits.
            for (at, vals) in [
                (0usize, &[0u8, 1, 3, 4, 6, 255][..]),
                (1, &[0, 2, 255]),
                (3, &[0]),
            ] {
                for &v in vals {
                    let mut f = b.file.clone();
                    f[off + at] = v;
                    let r = guarded(name(&format!("byte {at} = {v}")), || {
                        read_everything(&f, &tight())
                    });
                    assert!(r.is_err(), "{}", name(&format!("byte {at} = {v}")));
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 5 * 3);
}

fn little_endian_bases() -> Vec<Base> {
    bases()
        .into_iter()
        .filter(|b| !b.name.ends_with("-be"))
        .collect()
}

#[test]
fn header_size_overflows_and_bad_dimensions_fail() {
    for b in little_endian_bases() {
        let f = &b.file;
        // NX × NY × itemsize overflows 64 bits or the frame limit; NZ lies.
        for (nx, ny, mode) in [
            (i32::MAX, i32::MAX, 4),
            (i32::MAX, i32::MAX, 2),
            (1 << 30, 1 << 30, 2),
            (65536, 65536, 2),
            (i32::MAX, 1, 0),
        ] {
            let mut g = f.clone();
            put_i32(&mut g, NX, nx);
            put_i32(&mut g, NY, ny);
            let old_mode = get_i32(&g, MODE);
            put_i32(&mut g, MODE, old_mode / 1000 * 1000 + mode);
            for opts in [tight(), ReadOptions::default()] {
                let r = guarded(format!("{} {nx}x{ny} mode {mode}", b.name), || {
                    read_everything(&g, &opts)
                });
                assert!(r.is_err(), "{} {nx}x{ny} mode {mode} read", b.name);
            }
        }
        expect_errors(&format!("{} NX", b.name), f, NX, &[0, -1, i32::MIN]);
        expect_errors(&format!("{} NY", b.name), f, NY, &[0, -1, i32::MIN]);
        expect_errors(
            &format!("{} NZ", b.name),
            f,
            NZ,
            &[-1, i32::MIN, 4, 1000, i32::MAX],
        );
        expect_errors(
            &format!("{} MODE", b.name),
            f,
            MODE,
            &[-1, 5, 16, 99, 100, 16_002, i32::MAX],
        );
        // NZ = 0: a valid empty file (the data left over is reported, not read).
        let mut g = f.clone();
        put_i32(&mut g, NZ, 0);
        let (pixels, warnings) = read_everything(&g, &tight()).unwrap();
        assert!(
            pixels.is_empty() && !warnings.is_empty(),
            "{}: {warnings:?}",
            b.name
        );
    }
}

#[test]
fn nsymbt_past_the_end_fails() {
    for b in little_endian_bases() {
        let len = b.file.len() as i32;
        let ext = get_i32(&b.file, NSYMBT);
        expect_errors(
            &format!("{} NSYMBT", b.name),
            &b.file,
            NSYMBT,
            &[
                len - 1023,
                len,
                len + 1,
                i32::MAX,
                -1,
                i32::MIN,
                ext + 1,
                ext + 7,
            ],
        );
        // Pointing exactly at the end of the file: only a file with no frames could be right.
        let mut g = b.file.clone();
        put_i32(&mut g, NSYMBT, len - 1024);
        assert!(read_everything(&g, &tight()).is_err(), "{}", b.name);
    }
}

#[test]
fn broken_metadata_is_kept_opaque_with_a_warning() {
    for b in little_endian_bases() {
        let ext = get_i32(&b.file, NSYMBT) as usize;
        assert!(ext > 10, "{} has metadata", b.name);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("invalid UTF-8", {
                let mut f = b.file.clone();
                f[1024 + 3] = 0xff;
                f
            }),
            ("invalid JSON", {
                let mut f = b.file.clone();
                f[1024] = b'x';
                f
            }),
            ("truncated JSON", {
                let mut f = b.file.clone();
                f[1024 + ext - 1] = b' ';
                f
            }),
            ("not MessagePack", {
                let mut f = b.file.clone();
                f[104..108].copy_from_slice(b"msgp");
                f
            }),
        ];
        for (what, f) in cases {
            let r = guarded(format!("{} {what}", b.name), || {
                Reader::new_with(Cursor::new(&f), tight())
            });
            let mut r = r.unwrap_or_else(|e| panic!("{} {what}: {e}", b.name));
            assert!(
                matches!(r.metadata(), Metadata::Opaque { bytes, .. } if bytes.len() == ext),
                "{} {what}",
                b.name
            );
            assert!(
                r.warnings().iter().any(|w| w.contains("opaque")),
                "{} {what}: {:?}",
                b.name,
                r.warnings()
            );
            let mut all = vec![0u8; r.frame_len() * r.frames()];
            r.read_frames(0..r.frames(), &mut all).unwrap();
            assert_eq!(all, b.data, "{} {what}", b.name);
        }
        // Metadata over the limit is skipped, the pixels still read.
        let opts = ReadOptions {
            max_metadata_bytes: 8,
            ..tight()
        };
        let (pixels, warnings) = read_everything(&b.file, &opts).unwrap();
        assert_eq!(pixels, b.data);
        assert!(warnings.iter().any(|w| w.contains("limit")), "{warnings:?}");
    }
}

/// A header for `nx × ny` int8 frames compressed with zstd, followed by `chunks`.
fn tiny_file(nx: i32, ny: i32, nz: i32, chunks: &[u8]) -> Vec<u8> {
    let mut h = mrcz::mrc::Header::for_mrcz(nx, ny, nz, Mode::Int8, 6);
    h.set_endian(Endian::Little);
    let mut f = h.to_bytes().to_vec();
    f.extend_from_slice(chunks);
    f
}

/// A version-2 chunk header.
fn v2_head(flags: u8, typesize: u8, nbytes: i32, blocksize: i32, cbytes: i32) -> Vec<u8> {
    let mut c = vec![2, 1, flags, typesize];
    c.extend(nbytes.to_le_bytes());
    c.extend(blocksize.to_le_bytes());
    c.extend(cbytes.to_le_bytes());
    c
}

#[test]
fn tiny_files_claiming_gigabytes_fail_at_open() {
    let gib = 1 << 30;
    // A 40-byte version-2 chunk (zstd, one block) claiming a 1 GiB frame: at most 64 KiB per
    // byte could come out of it, and it has no room for the blocks.
    let mut chunk = v2_head(0x80, 1, gib, 1 << 20, 40);
    chunk.extend(20i32.to_le_bytes());
    chunk.extend(&[0u8; 20]);
    let f = tiny_file(32768, 32768, 1, &chunk);
    let e = Reader::new(Cursor::new(&f)).unwrap_err();
    assert!(e.to_string().contains("cannot hold"), "{e}");
    let e = Reader::new_with(Cursor::new(&f), tight()).unwrap_err();
    assert!(matches!(e, Error::LimitsExceeded(_)), "{e:?}");
    // Enough blocks for the table but not the expansion: 2 blocks of 512 MiB in 64 bytes.
    let mut chunk = v2_head(0x80, 1, gib, 1 << 29, 64);
    chunk.extend(24i32.to_le_bytes());
    chunk.extend(44i32.to_le_bytes());
    chunk.extend(16i32.to_le_bytes());
    chunk.extend(&[0u8; 16]);
    chunk.extend(16i32.to_le_bytes());
    chunk.extend(&[0u8; 16]);
    assert_eq!(chunk.len(), 64);
    let f = tiny_file(32768, 32768, 1, &chunk);
    let e = Reader::new(Cursor::new(&f)).unwrap_err();
    assert!(e.to_string().contains("cannot decode"), "{e}");
    // NZ of 2^31 - 1 over a handful of chunks: truncated, and nothing reserved for NZ.
    let small = v2_head(0x02 | 0x80, 1, 4, 4, 20);
    let mut chunks = Vec::new();
    for _ in 0..3 {
        chunks.extend(&small);
        chunks.extend([1, 2, 3, 4]);
    }
    let f = tiny_file(2, 2, i32::MAX, &chunks);
    assert!(matches!(
        Reader::new(Cursor::new(&f)),
        Err(Error::Format { .. })
    ));
    // A Blosc2 zero chunk of 32 bytes legitimately stands for 1 GiB of zeros: only the caller's
    // frame limit refuses it.
    let mut zero = vec![5, 1, 0x05 | 0x80, 1];
    zero.extend(gib.to_le_bytes());
    zero.extend(gib.to_le_bytes());
    zero.extend(32i32.to_le_bytes());
    zero.extend([0u8; 15]);
    zero.push(0x10);
    let f = tiny_file(32768, 32768, 1, &zero);
    let r = Reader::new(Cursor::new(&f)).unwrap();
    assert_eq!((r.frames(), r.frame_len()), (1, gib as usize));
    let e = Reader::new_with(Cursor::new(&f), tight()).unwrap_err();
    assert!(matches!(e, Error::LimitsExceeded(_)), "{e:?}");
    // Plain: a 64k × 64k section in a 2 KiB file.
    let mut h = mrcz::mrc::Header::new(65536, 65536, 1, Mode::Int8);
    h.set_endian(Endian::Little);
    let mut f = h.to_bytes().to_vec();
    f.extend([0u8; 1024]);
    assert!(Reader::new(Cursor::new(&f)).is_err());
}

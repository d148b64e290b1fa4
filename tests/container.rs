//! Container round trips: every mode, codec, shuffle and byte order through Writer and Reader.

use std::io::Cursor;

use mrcz::blosc::{ChunkHeader, Shuffle};
use mrcz::codec::Codec;
use mrcz::mrc::{Endian, Metadata, Mode};
use mrcz::mrcz::{Compression, Reader, Stats, WriteOptions, Writer};
use mrcz::synthetic::Rng;

/// Every mode but 4-bit, which cannot be written compressed.
fn modes() -> Vec<Mode> {
    Mode::ALL
        .into_iter()
        .filter(|&m| m != Mode::Uint4)
        .collect()
}

fn random_frames(mode: Mode, nx: usize, ny: usize, nz: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let len = mode.section_bytes(nx as u64, ny as u64).unwrap() as usize * nz;
    let mut v = vec![0u8; len];
    match mode {
        // Counting-like data: small integers, as detectors produce.
        Mode::Int8 => v.iter_mut().for_each(|b| *b = (rng.next_u64() % 5) as u8),
        Mode::Float32 | Mode::Complex64 => v.chunks_exact_mut(4).for_each(|c| {
            c.copy_from_slice(&((rng.next_f64() * 200.0 - 50.0) as f32).to_ne_bytes())
        }),
        Mode::Float16 => v.chunks_exact_mut(2).for_each(|c| {
            c.copy_from_slice(&half::f16::from_f64(rng.next_f64() * 10.0).to_ne_bytes())
        }),
        _ => v.iter_mut().for_each(|b| *b = rng.next_u64() as u8),
    }
    v
}

fn write(mode: Mode, nx: usize, ny: usize, data: &[u8], opts: &WriteOptions) -> Vec<u8> {
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, mode, opts).unwrap();
    w.write_frames(data).unwrap();
    let (cur, summary) = w.finish().unwrap();
    let bytes = cur.into_inner();
    assert_eq!(summary.file_bytes, bytes.len() as u64);
    bytes
}

#[test]
fn round_trip_every_mode_codec_shuffle_and_byte_order() {
    let mut cases = 0;
    for (mi, mode) in modes().into_iter().enumerate() {
        for codec in [
            None,
            Some(Codec::Zstd),
            Some(Codec::Lz4),
            Some(Codec::Zlib),
            Some(Codec::BloscLz),
        ] {
            for shuffle in [Shuffle::Bit, Shuffle::Byte, Shuffle::None] {
                for endian in [Endian::Little, Endian::Big] {
                    if codec.is_none() && shuffle != Shuffle::Bit {
                        continue;
                    }
                    let (nx, ny, nz) = (37 + mi, 23, 3);
                    let data = random_frames(mode, nx, ny, nz, mi as u64);
                    let opts = WriteOptions {
                        compression: codec.map(|codec| Compression {
                            codec,
                            level: 3,
                            shuffle,
                            block_size: Some(1024),
                        }),
                        endian,
                        ..WriteOptions::default()
                    };
                    let file = write(mode, nx, ny, &data, &opts);
                    let mut r = Reader::new(Cursor::new(file)).unwrap();
                    assert_eq!(r.frames(), nz);
                    assert_eq!(r.header().endian, endian);
                    assert_eq!(r.codec(), codec);
                    let mut back = vec![0u8; data.len()];
                    r.read_frames(0..nz, &mut back).unwrap();
                    assert!(back == data, "{mode:?} {codec:?} {shuffle:?} {endian:?}");
                    // Random access: the last frame alone.
                    let fl = r.frame_len();
                    let mut last = vec![0u8; fl];
                    r.read_frame(nz - 1, &mut last).unwrap();
                    assert_eq!(last, data[(nz - 1) * fl..]);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 9 * (2 + 4 * 3 * 2));
}

#[test]
fn header_follows_mrcz_conventions_and_statistics_are_exact() {
    let (nx, ny, nz) = (64, 48, 5);
    let data = random_frames(Mode::Float32, nx, ny, nz, 9);
    let opts = WriteOptions {
        metadata: Metadata::json(serde_json::json!({"dose": 1.5})),
        voxel_size: [1.25, 1.25, 2.0],
        voltage: 300.0,
        c3: 2.7,
        gain: 0.0,
        ..WriteOptions::default()
    };
    let file = write(Mode::Float32, nx, ny, &data, &opts);
    // Raw header words, little-endian.
    let i32_at = |o: usize| i32::from_le_bytes(file[o..o + 4].try_into().unwrap());
    let f32_at = |o: usize| f32::from_le_bytes(file[o..o + 4].try_into().unwrap());
    assert_eq!([i32_at(0), i32_at(4), i32_at(8)], [64, 48, 5]);
    assert_eq!(i32_at(12), 6002, "MODE = 2 + 1000 x zstd");
    assert_eq!(
        [i32_at(28), i32_at(32), i32_at(36)],
        [64, 48, 0],
        "MX=NX, MY=NY, MZ=0 (python-mrcz slices)"
    );
    assert_eq!([f32_at(40), f32_at(44), f32_at(48)], [80.0, 60.0, 10.0]);
    assert_eq!(&file[104..108], b"json");
    assert_eq!(i32_at(108), 20140);
    assert_eq!([f32_at(132), f32_at(136), f32_at(140)], [300.0, 2.7, 1.0]);
    assert_eq!(&file[208..212], b"MAP ");
    assert_eq!(&file[212..216], &[0x44, 0x44, 0, 0]);
    assert!(file[224..233] == *b"MRCZ0.6.0" && file[233] == 0);
    let nsymbt = i32_at(92) as usize;
    assert_eq!(
        &file[1024..1024 + nsymbt],
        br#"{"dose": 1.5}"#,
        "written as python's json.dumps does"
    );
    let packed = i64::from_le_bytes(file[144..152].try_into().unwrap());
    assert_eq!(
        packed as usize,
        file.len() - 1024 - nsymbt,
        "packedBytes = all chunks, ending at EOF"
    );

    // Chunk chain: nz chunks back to back, each a version-2 chunk of one section.
    let mut pos = 1024 + nsymbt;
    for _ in 0..nz {
        let ch = ChunkHeader::parse(&file[pos..]).unwrap();
        assert_eq!((ch.version, ch.nbytes), (2, nx * ny * 4));
        pos += ch.cbytes;
    }
    assert_eq!(pos, file.len());

    // Exact statistics over all frames.
    let vals: Vec<f64> = data
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes(c.try_into().unwrap()) as f64)
        .collect();
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let rms = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = vals.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((f32_at(76), f32_at(80)), (min as f32, max as f32));
    assert!((f32_at(84) as f64 - mean).abs() < 1e-3 && (f32_at(216) as f64 - rms).abs() < 1e-3);

    let r = Reader::new(Cursor::new(file)).unwrap();
    assert_eq!(r.header().voxel_size(), [1.25, 1.25, 2.0]);
    assert_eq!(r.metadata().value().unwrap()["dose"], 1.5);
}

#[test]
fn eight_bit_counts_round_trip_bit_exactly_as_u8() {
    let (nx, ny, nz) = (512, 256, 4);
    let mut frames = vec![0u8; nx * ny * nz];
    for (z, f) in frames.chunks_mut(nx * ny).enumerate() {
        mrcz::synthetic::counting_frame(nx, ny, 0.8, 5, z as u64, f);
    }
    frames[17] = 255; // a hot pixel above int8's range survives as u8
    let file = write(Mode::Int8, nx, ny, &frames, &WriteOptions::default());
    assert!(file.len() < frames.len() / 2, "bitshuffled counts compress");
    let mut r = Reader::new(Cursor::new(file)).unwrap();
    let back: Vec<u8> = r.read_all().unwrap();
    assert_eq!(back, frames);
    let stats = Stats::of_frame(Mode::Int8, &frames);
    assert_eq!(
        stats.min, -1.0,
        "mode 0 is signed: 255 counts as -1 in the header statistics"
    );
    assert_eq!(r.header().dmin, -1.0);
}

#[test]
fn memory_stays_bounded_by_in_flight_window() {
    // 40 frames through a window of 2: the writer must never hold more than that.
    let (nx, ny) = (256, 256);
    let opts = WriteOptions {
        in_flight: 2,
        ..WriteOptions::default()
    };
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, Mode::Int8, &opts).unwrap();
    let frame = vec![3u8; nx * ny];
    for _ in 0..40 {
        w.write_frame(&frame).unwrap();
    }
    let (cur, s) = w.finish().unwrap();
    assert_eq!(s.frames, 40);
    let mut r = Reader::new(Cursor::new(cur.into_inner())).unwrap();
    assert_eq!(r.frames(), 40);
    let mut f = vec![0u8; nx * ny];
    r.read_frame(39, &mut f).unwrap();
    assert_eq!(f, frame);
}

#[test]
fn file_writer_leaves_nothing_behind_unless_finished() {
    let dir = std::env::temp_dir().join(format!("mrcz-test-atomic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("out.mrcz");
    {
        let mut w = Writer::create(&dest, 16, 16, Mode::Int8, &WriteOptions::default()).unwrap();
        w.write_frame(&[1u8; 256]).unwrap();
        assert!(
            w.write_frame(&[1u8; 10]).is_err(),
            "wrong frame size is an error"
        );
        // dropped without finish
    }
    assert!(!dest.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "temporary file removed"
    );

    let mut w = Writer::create(&dest, 16, 16, Mode::Int8, &WriteOptions::default()).unwrap();
    w.write_frame(&[1u8; 256]).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), s.file_bytes);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_and_corrupt_files_are_errors() {
    // Counting data, so the chunks really are compressed (random bytes would be stored raw).
    let data = random_frames(Mode::Int8, 200, 100, 3, 4);
    let file = write(Mode::Int8, 200, 100, &data, &WriteOptions::default());
    for cut in [0, 100, 1023, 1024, 1030, file.len() - 1] {
        let r = Reader::new(Cursor::new(file[..cut].to_vec()));
        assert!(r.is_err(), "file cut at {cut} opened");
    }
    // Corrupt the first chunk's stream, from its zstd magic number on (a chunk of one block:
    // 16-byte header, one block start, one stream size): opening works (the index is fine),
    // decoding fails with the frame. Corruption that misses the structure, e.g. inside a raw zstd
    // block, could not be seen: neither Blosc nor c-blosc's zstd frames carry a checksum.
    let mut bad = file.clone();
    let nsymbt = 0;
    let first = 1024 + nsymbt;
    let last = bad.len() - 1;
    assert_eq!(&bad[first + 24..first + 28], &[0x28, 0xb5, 0x2f, 0xfd]);
    for b in &mut bad[first + 24..last.min(first + 400)] {
        *b ^= 0x5a;
    }
    let mut r = Reader::new(Cursor::new(bad)).unwrap();
    let mut buf = vec![0u8; r.frame_len()];
    let err = r.read_frame(0, &mut buf).unwrap_err().to_string();
    assert!(err.contains("frame 0"), "{err}");
}

#[test]
fn failed_check_keeps_the_old_destination() {
    let dir = std::env::temp_dir().join(format!("mrcz-test-checked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dest = dir.join("out.mrcz");
    std::fs::write(&dest, b"previous contents").unwrap();
    let mut w = Writer::create(&dest, 16, 16, Mode::Int8, &WriteOptions::default()).unwrap();
    w.write_frame(&[7u8; 256]).unwrap();
    let mut seen = None;
    let err = w
        .finish_checked(|tmp| {
            // The check sees the complete file under its temporary name.
            let mut r = Reader::open(tmp)?;
            seen = Some(r.read_all::<u8>()?);
            Err(mrcz::Error::InvalidArgument("rejected by the check".into()))
        })
        .unwrap_err();
    assert!(err.to_string().contains("rejected by the check"));
    assert_eq!(seen.unwrap(), vec![7u8; 256]);
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous contents");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "temporary file removed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stored_frames_decode_inside_writer_jobs() {
    // Re-encode a big-endian, multi-frame MRCZ file by handing its undecoded chunks to the
    // writer's jobs (the `mrcz decompress` pipeline): same pixels, same statistics, any order of
    // completion.
    let (nx, ny, nz) = (64, 48, 7);
    // Small counts, so that every chunk is really compressed (not stored as a memcpy).
    let mut rng = Rng::new(11);
    let data: Vec<u8> = (0..nx * ny * nz)
        .flat_map(|_| ((rng.next_u64() % 7) as i16 - 3).to_ne_bytes())
        .collect();
    let opts = WriteOptions {
        endian: Endian::Big,
        in_flight: 3,
        ..WriteOptions::default()
    };
    let src = write(Mode::Int16, nx, ny, &data, &opts);
    let mut r = Reader::new(Cursor::new(src.clone())).unwrap();
    let plain = WriteOptions {
        compression: None,
        in_flight: 2,
        ..WriteOptions::default()
    };
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, Mode::Int16, &plain).unwrap();
    for i in 0..nz {
        let stored = r.read_stored(i, Vec::new()).unwrap();
        assert_eq!(stored.index(), i);
        assert_eq!(
            ChunkHeader::parse(stored.bytes()).unwrap().nbytes,
            nx * ny * 2
        );
        w.write_frame_with(move |out| stored.decode_into(out))
            .unwrap();
    }
    let (cur, summary) = w.finish().unwrap();
    let mut back = Reader::new(Cursor::new(cur.into_inner())).unwrap();
    assert_eq!(
        back.read_all::<i16>().unwrap(),
        bytemuck::cast_slice::<u8, i16>(&data)
    );
    let mut direct = Stats::default();
    for f in data.chunks_exact(nx * ny * 2) {
        direct.merge(&Stats::of_frame(Mode::Int16, f));
    }
    assert_eq!(summary.stats.mean, direct.mean);

    // A damaged chunk fails its frame (named) and the writer, wherever the error surfaces.
    let mut bad = src;
    let (off, len) = r.frame_extent(4).unwrap();
    assert!(len > 20);
    // The first block's start offset (after the 16-byte chunk header) now points past the end.
    let at = off as usize + 16;
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut r = Reader::new(Cursor::new(bad)).unwrap();
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, Mode::Int16, &plain).unwrap();
    let mut err = None;
    for i in 0..nz {
        let stored = r.read_stored(i, Vec::new()).unwrap();
        if let Err(e) = w.write_frame_with(move |out| stored.decode_into(out)) {
            err = Some(e);
            break;
        }
    }
    let err = match err {
        Some(e) => e,
        None => match w.finish() {
            Ok(_) => panic!("a damaged chunk was accepted"),
            Err(e) => e,
        },
    };
    assert!(matches!(err, mrcz::Error::Chunk { frame: 4, .. }), "{err}");
    assert!(r.read_stored(nz, Vec::new()).is_err());
}

#[test]
fn large_stored_frames_decode_alike_on_one_thread_or_many() {
    // Frames of 512 KiB in 64 KiB blocks: large enough that a parallel decode splits them.
    let (nx, ny, nz) = (1024, 512, 4);
    let data = random_frames(Mode::Int8, nx, ny, nz, 5);
    let opts = WriteOptions {
        compression: Some(Compression {
            block_size: Some(64 << 10),
            ..Compression::default()
        }),
        ..WriteOptions::default()
    };
    let src = write(Mode::Int8, nx, ny, &data, &opts);
    let mut r = Reader::new(Cursor::new(src)).unwrap();
    let plain = WriteOptions {
        compression: None,
        ..WriteOptions::default()
    };
    let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, Mode::Int8, &plain).unwrap();
    // The default window is one frame per pool thread.
    assert!(w.frame_per_thread());
    for i in 0..nz {
        let mut stored = r.read_stored(i, Vec::new()).unwrap();
        stored.set_parallel(i % 2 == 0);
        let mut alone = vec![0u8; nx * ny];
        stored.decode_into(&mut alone).unwrap();
        assert_eq!(alone, data[i * nx * ny..(i + 1) * nx * ny], "frame {i}");
        w.write_frame_with(move |out| stored.decode_into(out))
            .unwrap();
    }
    let (cur, summary) = w.finish().unwrap();
    assert_eq!(summary.frames, nz as u64);
    let mut back = Reader::new(Cursor::new(cur.into_inner())).unwrap();
    assert_eq!(back.read_all::<u8>().unwrap(), data);
}

#[test]
fn eight_bit_statistics_are_the_same_measured_inside_the_encoder() {
    // With a frame per thread the writer measures 8-bit frames block by block inside the encoder;
    // with one frame in flight it measures them first. Both must give the exact statistics.
    let (nx, ny, nz) = (100, 90, 6);
    let mut rng = Rng::new(3);
    let data: Vec<u8> = (0..nx * ny * nz)
        .map(|i| match i % 997 {
            0 => 0x80,
            1 => 0x7f,
            _ => (rng.next_u64() % 6) as u8,
        })
        .collect();
    let mut direct = Stats::default();
    for f in data.chunks_exact(nx * ny) {
        direct.merge(&Stats::of_frame(Mode::Int8, f));
    }
    for (in_flight, endian) in [(0, Endian::Little), (1, Endian::Little), (0, Endian::Big)] {
        let opts = WriteOptions {
            in_flight,
            endian,
            compression: Some(Compression {
                block_size: Some(1024),
                ..Compression::default()
            }),
            ..WriteOptions::default()
        };
        let mut w = Writer::new(Cursor::new(Vec::new()), nx, ny, Mode::Int8, &opts).unwrap();
        w.write_frames(&data).unwrap();
        let (cur, summary) = w.finish().unwrap();
        let s = summary.stats;
        assert_eq!(
            (s.count, s.min, s.max, s.mean, s.rms()),
            (
                direct.count,
                direct.min,
                direct.max,
                direct.mean,
                direct.rms()
            ),
            "in_flight {in_flight} {endian:?}"
        );
        assert_eq!((s.min, s.max), (-128.0, 127.0));
        let mut r = Reader::new(Cursor::new(cur.into_inner())).unwrap();
        assert_eq!(
            r.read_all::<i8>().unwrap(),
            bytemuck::cast_slice::<u8, i8>(&data)
        );
    }
}

/// `Reader::plain_frames` (frames read at their offsets from any thread, as `mrcz compress` does)
/// gives what `read_frame` gives, in both byte orders, refuses frames past the end, and is `None`
/// for MRCZ files.
#[test]
fn plain_frames_read_what_read_frame_reads() {
    let dir = std::env::temp_dir().join(format!("mrcz-plain-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (nx, ny, nz) = (37, 21, 5);
    for endian in [Endian::Little, Endian::Big] {
        let data = random_frames(Mode::Int16, nx, ny, nz, 7);
        let path = dir.join(format!("{endian:?}.mrc"));
        let opts = WriteOptions {
            compression: None,
            endian,
            ..WriteOptions::default()
        };
        let mut w = Writer::create(&path, nx, ny, Mode::Int16, &opts).unwrap();
        w.write_frames(&data).unwrap();
        w.finish().unwrap();
        let mut r = Reader::open(&path).unwrap();
        let plain = r.plain_frames().unwrap().expect("a plain file on Unix");
        let len = r.frame_len();
        let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
        for i in 0..nz {
            r.read_frame(i, &mut a).unwrap();
            std::thread::scope(|s| {
                s.spawn(|| plain.read_frame(i, &mut b).unwrap());
            });
            assert_eq!(a, b, "{endian:?} frame {i}");
            assert_eq!(&a[..], &data[i * len..(i + 1) * len]);
        }
        assert!(plain.read_frame(nz, &mut b).is_err());
        assert!(plain.read_frame(0, &mut b[1..]).is_err());
    }
    let z = dir.join("z.mrcz");
    let opts = WriteOptions::default();
    let mut w = Writer::create(&z, nx, ny, Mode::Int16, &opts).unwrap();
    w.write_frames(&random_frames(Mode::Int16, nx, ny, 1, 1))
        .unwrap();
    w.finish().unwrap();
    assert!(Reader::open(&z).unwrap().plain_frames().unwrap().is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stored_frames_read_what_read_stored_reads() {
    let dir = std::env::temp_dir().join(format!("mrcz-stored-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (nx, ny, nz) = (53, 40, 6);
    let data = random_frames(Mode::Int16, nx, ny, nz, 9);
    let path = dir.join("be.mrcz");
    let opts = WriteOptions {
        endian: Endian::Big,
        ..WriteOptions::default()
    };
    let mut w = Writer::create(&path, nx, ny, Mode::Int16, &opts).unwrap();
    w.write_frames(&data).unwrap();
    w.finish().unwrap();
    let mut r = Reader::open(&path).unwrap();
    let chunks = r.stored_frames().unwrap().expect("an MRCZ file on Unix");
    assert_eq!(chunks.frames(), nz);
    let len = r.frame_len();
    for i in 0..nz {
        let a = r.read_stored(i, Vec::new()).unwrap();
        // From another thread, into a spare buffer of the wrong size.
        let b = std::thread::scope(|s| {
            s.spawn(|| chunks.read_stored(i, vec![7; 3]).unwrap())
                .join()
                .unwrap()
        });
        assert_eq!((a.index(), a.bytes()), (b.index(), b.bytes()), "frame {i}");
        let mut out = vec![0u8; len];
        b.decode_into(&mut out).unwrap();
        assert_eq!(&out[..], &data[i * len..(i + 1) * len], "frame {i}");
    }
    assert!(chunks.read_stored(nz, Vec::new()).is_err());

    // A file cut short after it was opened: the read names the frame.
    let (last, _) = r.frame_extent(nz - 1).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(last + 10)
        .unwrap();
    let err = chunks.read_stored(nz - 1, Vec::new()).unwrap_err();
    assert!(
        matches!(err, mrcz::Error::Format { .. }) && err.to_string().contains("frame 5"),
        "{err}"
    );

    let plain = dir.join("p.mrc");
    let opts = WriteOptions {
        compression: None,
        ..WriteOptions::default()
    };
    let mut w = Writer::create(&plain, nx, ny, Mode::Int16, &opts).unwrap();
    w.write_frames(&data[..len]).unwrap();
    w.finish().unwrap();
    assert!(
        Reader::open(&plain)
            .unwrap()
            .stored_frames()
            .unwrap()
            .is_none()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

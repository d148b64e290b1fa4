//! A reader opening a file that is still being written sees only complete frames
//! (`ReadOptions::allow_incomplete`), and without that option refuses it with a typed error.
//!
//! python-mrcz writes in place: the header (with the final NZ), the metadata, then one chunk per
//! frame. These tests write files the same way, in steps, and open them at every step.

#[path = "malformed_support/mod.rs"]
mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use mrcz::blosc::Shuffle;
use mrcz::codec::Codec;
use mrcz::mrc::{Endian, Mode};
use mrcz::mrcz::{ReadOptions, Reader};
use support::*;

fn incomplete() -> ReadOptions {
    ReadOptions {
        allow_incomplete: true,
        ..tight()
    }
}

/// A 6-frame zstd file split into its headers and its chunks.
fn pieces() -> (Vec<u8>, Vec<Vec<u8>>, Vec<u8>, usize) {
    let opts = options(Some(Codec::Zstd), Shuffle::Bit, 256, Endian::Little);
    let (file, data) = build(Mode::Float32, 16, 12, 6, &opts);
    let c = chunks(&file);
    let head = file[..c[0].0].to_vec();
    let parts = c.iter().map(|&(o, l)| file[o..o + l].to_vec()).collect();
    (head, parts, data, 16 * 12 * 4)
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mrcz-incomplete-{name}-{}", std::process::id()))
}

fn check_open(path: &PathBuf, data: &[u8], frame_len: usize) -> usize {
    let mut r = Reader::open_with(path, incomplete()).unwrap();
    let n = r.frames();
    let mut got = vec![0u8; n * frame_len];
    r.read_frames(0..n, &mut got).unwrap();
    assert_eq!(got, data[..n * frame_len]);
    n
}

#[test]
fn a_file_cut_mid_chunk_opens_with_its_complete_frames() {
    let (head, parts, data, frame_len) = pieces();
    let mut file = head.clone();
    for p in &parts[..3] {
        file.extend(p);
    }
    file.extend(&parts[3][..parts[3].len() / 2]);
    let path = temp("cut");
    std::fs::write(&path, &file).unwrap();
    // Refused by default, with a typed error naming the truncation.
    let e = Reader::open_with(&path, tight()).unwrap_err();
    assert!(
        matches!(e, mrcz::Error::Format { .. }) && e.to_string().contains("truncated"),
        "{e}"
    );
    // Three complete frames with allow_incomplete, and a warning.
    let r = Reader::open_with(&path, incomplete()).unwrap();
    assert!(
        r.warnings().iter().any(|w| w.contains("3 of 6 frames")),
        "{:?}",
        r.warnings()
    );
    drop(r);
    assert_eq!(check_open(&path, &data, frame_len), 3);
    // A chunk cut inside its 16-byte header.
    file.truncate(head.len() + parts[..3].iter().map(Vec::len).sum::<usize>() + 7);
    std::fs::write(&path, &file).unwrap();
    assert_eq!(check_open(&path, &data, frame_len), 3);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_file_growing_in_steps_shows_each_complete_frame() {
    let (head, parts, data, frame_len) = pieces();
    let path = temp("steps");
    std::fs::write(&path, &head).unwrap();
    let (to_reader, from_writer) = mpsc::channel::<usize>();
    let (to_writer, from_reader) = mpsc::channel::<()>();
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            for (k, p) in parts.iter().enumerate() {
                // Half a chunk, then the rest: the reader looks at both states.
                let half = p.len() / 2;
                f.write_all(&p[..half]).unwrap();
                f.flush().unwrap();
                to_reader.send(k).unwrap();
                from_reader.recv().unwrap();
                f.write_all(&p[half..]).unwrap();
                f.flush().unwrap();
                to_reader.send(k + 1).unwrap();
                from_reader.recv().unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    for complete in from_writer.iter() {
        assert_eq!(check_open(&path, &data, frame_len), complete);
        seen.push(complete);
        to_writer.send(()).unwrap();
    }
    writer.join().unwrap();
    assert_eq!(seen, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    // Complete: opens without the option too, and without warnings.
    let r = Reader::open_with(&path, tight()).unwrap();
    assert!(r.warnings().is_empty() && r.frames() == 6);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_file_growing_while_read_never_shows_a_partial_frame() {
    let (head, parts, data, frame_len) = pieces();
    let path = temp("race");
    std::fs::write(&path, &head).unwrap();
    let writer = {
        let path = path.clone();
        let tail: Vec<u8> = parts.concat();
        std::thread::spawn(move || {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            // Appends in odd-sized pieces, so that the file ends mid-chunk most of the time.
            for piece in tail.chunks(37) {
                f.write_all(piece).unwrap();
                f.flush().unwrap();
                std::thread::yield_now();
            }
        })
    };
    // Open repeatedly while it grows: the frame count never goes down and every frame shown
    // decodes to the pixels written.
    let mut last = 0;
    let mut opens = 0;
    while last < 6 {
        let n = check_open(&path, &data, frame_len);
        assert!(n >= last, "frames went from {last} to {n}");
        last = n;
        opens += 1;
    }
    writer.join().unwrap();
    assert!(opens >= 1);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_plain_file_cut_short_opens_with_its_whole_sections() {
    let opts = options(None, Shuffle::Bit, 0, Endian::Little);
    let (file, data) = build(Mode::Int16, 10, 10, 5, &opts);
    let frame_len = 200;
    let data_offset = file.len() - data.len();
    let path = temp("plain");
    for cut in [
        data_offset,
        data_offset + 1,
        data_offset + 450,
        file.len() - 1,
    ] {
        std::fs::write(&path, &file[..cut]).unwrap();
        assert!(Reader::open_with(&path, tight()).is_err());
        let n = check_open(&path, &data, frame_len);
        assert_eq!(n, (cut - data_offset) / frame_len);
    }
    std::fs::remove_file(&path).unwrap();
}

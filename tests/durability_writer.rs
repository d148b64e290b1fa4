//! Durable writes through the library: a `FileWriter` that fails, is dropped unfinished, or
//! panics mid-stream leaves nothing at its destination (and no temporary file); an existing
//! destination is untouched until `finish` succeeds. And `verify_same_pixels`, the check behind
//! `--verify`.

#[path = "malformed_support/mod.rs"]
mod support;

use std::path::Path;

use mrcz::blosc::Shuffle;
use mrcz::codec::Codec;
use mrcz::mrc::{Endian, Mode};
use mrcz::mrcz::{WriteOptions, Writer, verify_same_pixels};
use support::*;

mod tempdir;
use tempdir::TempDir;

fn opts() -> WriteOptions {
    options(Some(Codec::Zstd), Shuffle::Bit, 1024, Endian::Little)
}

const NXY: (usize, usize) = (64, 48);

fn frame(z: u64) -> Vec<u8> {
    frames(Mode::Float32, NXY.0, NXY.1, 1, z)
}

#[test]
fn only_finish_puts_a_file_at_the_destination() {
    let dir = TempDir::new("finish");
    let dest = dir.path("movie.mrcz");
    let mut w = Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts()).unwrap();
    for z in 0..5 {
        w.write_frame(&frame(z)).unwrap();
    }
    // While writing, only a hidden temporary file named after the destination and this process.
    let names = dir.names();
    assert_eq!(names.len(), 1, "{names:?}");
    let prefix = format!(".movie.mrcz.{}.", std::process::id());
    assert!(
        names[0].starts_with(&prefix) && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    assert!(!dest.exists());
    let summary = w.finish().unwrap();
    assert_eq!(dir.names(), ["movie.mrcz"]);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), summary.file_bytes);
}

#[test]
fn drop_without_finish_leaves_nothing() {
    let dir = TempDir::new("drop");
    let dest = dir.path("a.mrcz");
    {
        let mut w = Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts()).unwrap();
        for z in 0..20 {
            w.write_frame(&frame(z)).unwrap();
        }
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn an_error_mid_stream_leaves_nothing_and_keeps_the_old_file() {
    let dir = TempDir::new("error");
    let dest = dir.path("b.mrcz");
    std::fs::write(&dest, b"previous contents").unwrap();
    let result = (|| -> mrcz::Result<()> {
        let mut w = Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts())?;
        for z in 0..10 {
            w.write_frame(&frame(z))?;
        }
        w.write_frame(&[0u8; 7])?; // wrong size: the caller's error ends the write
        w.finish()?;
        Ok(())
    })();
    assert!(
        matches!(result, Err(mrcz::Error::InvalidArgument(_))),
        "{result:?}"
    );
    assert_eq!(dir.names(), ["b.mrcz"]);
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous contents");
}

#[test]
fn a_panic_mid_stream_leaves_nothing() {
    let dir = TempDir::new("panic");
    let dest = dir.path("c.mrcz");
    let r = std::panic::catch_unwind(|| {
        let mut w = Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts()).unwrap();
        w.write_frame(&frame(0)).unwrap();
        panic!("producer failed");
    });
    assert!(r.is_err());
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn a_failed_rename_leaves_nothing() {
    let dir = TempDir::new("rename");
    // A folder at the destination is refused up front...
    let dest = dir.path("d.mrcz");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep"), b"x").unwrap();
    assert!(Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts()).is_err());
    assert_eq!(dir.names(), ["d.mrcz"]);
    // ...and one that appears there while the file is written makes the final rename fail.
    std::fs::rename(&dest, dir.path("aside")).unwrap();
    let mut w = Writer::create(&dest, NXY.0, NXY.1, Mode::Float32, &opts()).unwrap();
    w.write_frame(&frame(0)).unwrap();
    std::fs::rename(dir.path("aside"), &dest).unwrap();
    assert!(w.finish().is_err());
    assert_eq!(dir.names(), ["d.mrcz"]);
    assert!(dest.join("keep").exists());
    // A destination folder that does not exist: nothing is created anywhere.
    let nowhere = dir.path("no/such/folder/e.mrcz");
    assert!(Writer::create(&nowhere, NXY.0, NXY.1, Mode::Float32, &opts()).is_err());
    assert_eq!(dir.names(), ["d.mrcz"]);
}

/// Replacing a file keeps its permission bits, as overwriting it with `cp` would; a new file
/// gets the process's defaults.
#[cfg(unix)]
#[test]
fn a_replaced_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("perms");
    let dest = dir.path("shared.mrcz");
    let mode_of = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    write_file(&dest, Mode::Float32, &frame(0), &opts());
    let default = mode_of(&dest);
    for wanted in [0o664, 0o600, 0o444] {
        assert_ne!(wanted, default);
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(wanted)).unwrap();
        write_file(&dest, Mode::Float32, &frame(1), &opts());
        assert_eq!(mode_of(&dest), wanted, "{wanted:o}");
    }
    let fresh = dir.path("fresh.mrcz");
    write_file(&fresh, Mode::Float32, &frame(2), &opts());
    assert_eq!(mode_of(&fresh), default);
}

fn write_file(path: &Path, mode: Mode, data: &[u8], opts: &WriteOptions) {
    let mut w = Writer::create(path, NXY.0, NXY.1, mode, opts).unwrap();
    w.write_frames(data).unwrap();
    w.finish().unwrap();
}

#[test]
fn verify_same_pixels_compares_decoded_frames() {
    let dir = TempDir::new("verify");
    let data = frames(Mode::Float32, NXY.0, NXY.1, 4, 5);
    let a = dir.path("a.mrcz");
    let b = dir.path("b.mrc");
    let c = dir.path("c.mrcz");
    write_file(&a, Mode::Float32, &data, &opts());
    // Plain, big-endian copy: the same pixels.
    write_file(
        &b,
        Mode::Float32,
        &data,
        &options(None, Shuffle::Bit, 0, Endian::Big),
    );
    assert_eq!(verify_same_pixels(&a, &b).unwrap(), 4);
    assert_eq!(verify_same_pixels(&b, &a).unwrap(), 4);
    // One pixel differs in frame 2.
    let mut other = data.clone();
    let frame_len = data.len() / 4;
    other[2 * frame_len + 4 * 70] ^= 1;
    write_file(&c, Mode::Float32, &other, &opts());
    let e = verify_same_pixels(&a, &c).unwrap_err().to_string();
    assert!(
        e.contains("verification failed") && e.contains("frame 2") && e.contains("pixel 70"),
        "{e}"
    );
    // A frame missing.
    write_file(&c, Mode::Float32, &data[..3 * frame_len], &opts());
    let e = verify_same_pixels(&a, &c).unwrap_err().to_string();
    assert!(e.contains("4 frames in the original, 3"), "{e}");
    // Another mode.
    write_file(&c, Mode::Int32, &data, &opts());
    assert!(verify_same_pixels(&a, &c).is_err());
    // 4-bit originals match their 8-bit copies.
    let packed: Vec<u8> = (0..NXY.0 * NXY.1 / 2 * 2)
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    let unpacked: Vec<u8> = packed.iter().flat_map(|&b| [b & 15, b >> 4]).collect();
    let p4 = dir.path("four.mrc");
    let p8 = dir.path("eight.mrcz");
    write_file(
        &p4,
        Mode::Uint4,
        &packed,
        &options(None, Shuffle::Bit, 0, Endian::Little),
    );
    write_file(&p8, Mode::Int8, &unpacked, &opts());
    assert_eq!(verify_same_pixels(&p4, &p8).unwrap(), 2);
}

/// Direct output (O_DIRECT, the default where the filesystem takes it) and buffered output give
/// byte-identical files: chunks of every length land at unaligned offsets, the header is
/// rewritten at the end, plain frames are written from the pool at their offsets, and the file
/// ends mid-block.
#[test]
fn direct_and_buffered_output_are_identical() {
    // The build folder is on the checkout's filesystem; the system's temporary folder may be a
    // tmpfs, which refuses O_DIRECT.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("direct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (nx, ny) = (123, 77);
    for codec in [Some(Codec::Zstd), Some(Codec::Lz4), None] {
        let mut files = Vec::new();
        for direct in [true, false] {
            let dest = dir.join(format!("{codec:?}-{direct}.mrc"));
            let mut o = options(codec, Shuffle::Bit, 4096, Endian::Little);
            o.direct_io = direct;
            o.in_flight = 3;
            let mut w = Writer::create(&dest, nx, ny, Mode::Float32, &o).unwrap();
            assert_eq!(w.is_direct(), direct && cfg!(target_os = "linux"));
            for z in 0..9 {
                w.write_frame(&frames(Mode::Float32, nx, ny, 1, z)).unwrap();
            }
            let summary = w.finish().unwrap();
            let bytes = std::fs::read(&dest).unwrap();
            assert_eq!(bytes.len() as u64, summary.file_bytes);
            files.push(bytes);
        }
        assert!(
            files[0] == files[1],
            "{codec:?}: direct and buffered files differ"
        );
        let back = mrcz::mrcz::Reader::open(dir.join(format!("{codec:?}-true.mrc")))
            .unwrap()
            .read_all::<f32>()
            .unwrap();
        let want: Vec<u8> = (0..9)
            .flat_map(|z| frames(Mode::Float32, nx, ny, 1, z))
            .collect();
        assert!(bytemuck::cast_slice::<f32, u8>(&back) == &want[..]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

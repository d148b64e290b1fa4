//! Durable writes through the command line: bad input, a failure after some frames were written,
//! and a `kill -9` in the middle of `mrcz compress` never leave a file at OUT.
//!
//! After SIGKILL nothing can clean up: the temporary file stays beside OUT as a hidden
//! `.OUT.PID.N.tmp` (PID the killed process), never at OUT itself.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use mrcz::mrc::Mode;
use mrcz::mrcz::{Reader, WriteOptions, Writer};

mod tempdir;
use tempdir::TempDir;

fn mrcz() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mrcz"))
}

fn run(args: &[&str]) -> Output {
    mrcz().args(args).output().expect("run mrcz")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A counting movie of `nz` frames of `n × n` bytes, plain or zstd.
fn movie(path: &Path, n: usize, nz: usize, compressed: bool) {
    let opts = WriteOptions {
        compression: compressed.then(Default::default),
        ..WriteOptions::default()
    };
    let mut w = Writer::create(path, n, n, Mode::Int8, &opts).unwrap();
    let mut f = vec![0u8; n * n];
    for z in 0..nz {
        mrcz::synthetic::counting_frame(n, n, 1.5, 3, z as u64, &mut f);
        w.write_frame(&f).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn bad_input_leaves_no_output() {
    let dir = TempDir::new("bad");
    let input = dir.path("in.mrcz");
    movie(&input, 64, 4, true);
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() - 10]).unwrap();
    for verb in ["compress", "decompress"] {
        let out_path = dir.path("out.mrc");
        let out = run(&[verb, "-q", s(&input), s(&out_path)]);
        assert_eq!(out.status.code(), Some(1), "{verb}: {out:?}");
        assert_eq!(dir.names(), ["in.mrcz"], "{verb}");
    }
}

#[test]
fn a_failure_after_some_frames_leaves_no_output_and_keeps_the_old_file() {
    let dir = TempDir::new("mid");
    let input = dir.path("in.mrcz");
    movie(&input, 64, 8, true);
    // Damage frame 5's payload: frames 0-4 convert, then decoding fails.
    let r = Reader::open(&input).unwrap();
    let (off, len) = r.frame_extent(5).unwrap();
    drop(r);
    let mut bytes = std::fs::read(&input).unwrap();
    for b in &mut bytes[off as usize + 40..off as usize + len] {
        *b = !*b;
    }
    std::fs::write(&input, &bytes).unwrap();
    let out_path = dir.path("out.mrc");
    std::fs::write(&out_path, b"old").unwrap();
    for verb in ["compress", "decompress"] {
        let out = run(&[verb, "-q", "--threads", "1", s(&input), s(&out_path)]);
        assert_eq!(out.status.code(), Some(1), "{verb}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("frame 5"), "{verb}: {err}");
        assert_eq!(dir.names(), ["in.mrcz", "out.mrc"], "{verb}");
        assert_eq!(std::fs::read(&out_path).unwrap(), b"old");
    }
}

#[test]
fn kill_9_mid_write_leaves_no_output() {
    let dir = TempDir::new("kill");
    let input = dir.path("in.mrc");
    // 64 MiB of counting frames: zstd level 9 on one thread needs seconds for it, while the
    // first megabyte of output (when the temporary file first grows) comes early.
    movie(&input, 1024, 64, false);
    let out_path = dir.path("out.mrcz");
    let mut child = mrcz()
        .args([
            "compress",
            "-q",
            "--level",
            "9",
            "--threads",
            "1",
            s(&input),
            s(&out_path),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp_prefix = format!(".out.mrcz.{}.", child.id());
    // Wait until the temporary file holds data, i.e. the write is under way.
    let tmp = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("compress ended ({status}) before it could be killed mid-write");
        }
        let found = dir
            .names()
            .into_iter()
            .find(|n| n.starts_with(&tmp_prefix) && n.ends_with(".tmp"));
        if let Some(name) = found {
            let p = dir.path(&name);
            if std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false) {
                break p;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!out_path.exists(), "a partial file appeared at OUT");
    // What remains is the input and the hidden temporary file only.
    let mut names = dir.names();
    names.retain(|n| n != "in.mrc");
    assert_eq!(
        names,
        [tmp.file_name().unwrap().to_string_lossy().into_owned()]
    );
    // A fresh run after the crash succeeds, writing OUT whole.
    std::fs::remove_file(&tmp).unwrap();
    let small = dir.path("small.mrc");
    movie(&small, 64, 3, false);
    let out = run(&["compress", "-q", s(&small), s(&out_path)]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(Reader::open(&out_path).unwrap().frames(), 3);
}

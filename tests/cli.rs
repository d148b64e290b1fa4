//! The `mrcz` binary end to end: conversions, info, and what bad input does to exit codes,
//! stderr and the output path.

use std::path::Path;
use std::process::{Command, Output};

use mrcz::mrc::{Metadata, Mode};
use mrcz::mrcz::{Compression, Reader, WriteOptions, Writer};

mod tempdir;
use tempdir::TempDir;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mrcz"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run mrcz")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn plain_movie(path: &Path, nx: usize, ny: usize, nz: usize) -> Vec<u8> {
    let mut data = vec![0u8; nx * ny * nz];
    for (z, f) in data.chunks_mut(nx * ny).enumerate() {
        mrcz::synthetic::counting_frame(nx, ny, 1.0, 11, z as u64, f);
    }
    let opts = WriteOptions {
        compression: None,
        metadata: Metadata::json(serde_json::json!({"microscope": "test", "dose": 1.0})),
        voxel_size: [0.85, 0.85, 0.85],
        voltage: 300.0,
        labels: vec!["an IMOD label".into()],
        ..WriteOptions::default()
    };
    let mut w = Writer::create(path, nx, ny, Mode::Int8, &opts).unwrap();
    w.write_frames(&data).unwrap();
    w.finish().unwrap();
    data
}

#[test]
fn compress_decompress_round_trip_keeps_everything() {
    let d = TempDir::new("rt");
    let (src, z, back) = (d.path("in.mrc"), d.path("out.mrcz"), d.path("back.mrc"));
    let data = plain_movie(&src, 300, 200, 4);
    for codec in ["zstd", "lz4", "lz4hc", "zlib", "blosclz"] {
        let o = run(&[
            "compress",
            s(&src),
            s(&z),
            "--codec",
            codec,
            "--level",
            "3",
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{codec}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut r = Reader::open(&z).unwrap();
        assert_eq!(r.codec().unwrap().name(), codec);
        assert_eq!(r.read_all::<u8>().unwrap(), data, "{codec}");
        assert_eq!(r.header().voxel_size(), [0.85, 0.85, 0.85]);
        assert_eq!(r.header().voltage, 300.0);
        assert_eq!(r.metadata().value().unwrap()["microscope"], "test");
        assert_eq!(
            r.header().labels_in_use()[2..],
            ["an IMOD label".to_string()],
            "labels kept once"
        );
    }
    let o = run(&["compress", s(&src), s(&z), "--verify", "--quiet"]);
    assert!(
        o.status.success(),
        "--verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["decompress", s(&z), s(&back), "--verify", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = Reader::open(&back).unwrap();
    assert!(r.codec().is_none());
    assert_eq!(r.read_all::<u8>().unwrap(), data);
}

#[test]
fn info_json_has_the_documented_keys() {
    let d = TempDir::new("info");
    let (src, z) = (d.path("in.mrc"), d.path("out.mrcz"));
    plain_movie(&src, 64, 32, 2);
    assert!(
        run(&["compress", s(&src), s(&z), "--quiet"])
            .status
            .success()
    );
    let o = run(&["info", s(&z), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "nx",
        "ny",
        "nz",
        "mode",
        "dtype",
        "codec",
        "endian",
        "frames",
        "packed_bytes",
        "voxel_size",
        "metadata",
    ] {
        assert!(v.get(k).is_some(), "missing key {k}");
    }
    assert_eq!(
        (v["nx"].as_i64(), v["ny"].as_i64(), v["nz"].as_i64()),
        (Some(64), Some(32), Some(2))
    );
    assert_eq!(v["codec"], "zstd");
    assert_eq!(v["dtype"], "int8");
    assert_eq!(v["endian"], "little");
    assert_eq!(v["metadata"]["dose"], 1.0);
    let vs: Vec<f64> = v["voxel_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(vs.iter().all(|x| (x - 0.85).abs() < 1e-5), "{vs:?}");
    let o = run(&["info", s(&src), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["codec"].is_null());
}

/// Runs mrcz with stdout a pipe whose reader has already gone, as `mrcz ... | head -0` does:
/// every write to it fails with `EPIPE` (Rust ignores `SIGPIPE`, so nothing kills the process).
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    bin().args(args).stdout(writer).output().expect("run mrcz")
}

#[test]
fn a_closed_stdout_stops_quietly_without_a_panic() {
    let d = TempDir::new("pipe");
    let (src, z) = (d.path("in.mrc"), d.path("out.mrcz"));
    let data = plain_movie(&src, 64, 32, 3);
    let quiet = |o: &Output, what: &str| {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{what}: {:?} {err}", o.status);
        assert!(err.is_empty(), "{what}: nothing on stderr, got {err}");
    };
    // The output file is complete before the summary is printed, so it stays.
    let o = run_into_closed_pipe(&["compress", s(&src), s(&z), "--json"]);
    quiet(&o, "compress --json");
    assert_eq!(Reader::open(&z).unwrap().read_all::<u8>().unwrap(), data);
    quiet(&run_into_closed_pipe(&["info", s(&z)]), "info");
    quiet(
        &run_into_closed_pipe(&["info", s(&z), "--json"]),
        "info --json",
    );
    quiet(
        &run_into_closed_pipe(&["validate", s(&z), "--json"]),
        "validate --json",
    );
    let demo = ["demo", "--frames", "2", "--size", "64", "--threads", "1"];
    quiet(&run_into_closed_pipe(&demo), "demo");
    // An invalid file still fails validation, with the reason on stderr.
    let bad = d.path("bad.mrc");
    std::fs::write(&bad, b"not an MRC file").unwrap();
    let o = run_into_closed_pipe(&["validate", s(&bad), s(&z)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains("1 of the first 1 files invalid"), "{err}");
    assert!(err.contains("1 not checked"), "{err}");
}

fn assert_one_line_failure(o: &Output, names: &Path) {
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(s(names)), "names the file: {err}");
}

/// The output is renamed into place, which replaces the directory entry at its path: special
/// files there must be refused, and symbolic links written through. (A FIFO stands in for
/// `/dev/null`, so that a regression cannot replace a device of the machine running the test.)
#[cfg(unix)]
#[test]
fn special_outputs_are_refused_and_links_are_written_through() {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let d = TempDir::new("special");
    let src = d.path("in.mrc");
    let data = plain_movie(&src, 48, 16, 2);

    let fifo = d.path("fifo.mrcz");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let o = run(&["compress", s(&src), s(&fifo)]);
    assert_one_line_failure(&o, &fifo);
    assert!(String::from_utf8_lossy(&o.stderr).contains("a FIFO, not a regular file"));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let o = run(&["decompress", s(&src), s(&d.0)]);
    assert_one_line_failure(&o, &d.0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("a directory"));
    assert_eq!(d.names(), ["fifo.mrcz", "in.mrc"], "no temporary file left");

    // A link to an existing file: the file gets the output, the link stays a link.
    std::fs::create_dir(d.path("store")).unwrap();
    std::fs::write(d.path("store/movie.mrcz"), b"old").unwrap();
    let link = d.path("movie.mrcz");
    symlink("store/movie.mrcz", &link).unwrap();
    assert!(
        run(&["compress", s(&src), s(&link), "--quiet"])
            .status
            .success()
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let stored = d.path("store/movie.mrcz");
    assert_eq!(
        Reader::open(&stored).unwrap().read_all::<u8>().unwrap(),
        data
    );
    // A link to nothing, or to the FIFO, is refused like the FIFO.
    let dangling = d.path("dangling.mrcz");
    symlink("store/none.mrcz", &dangling).unwrap();
    assert_one_line_failure(&run(&["compress", s(&src), s(&dangling)]), &dangling);
    let to_fifo = d.path("to-fifo.mrcz");
    symlink("fifo.mrcz", &to_fifo).unwrap();
    assert_one_line_failure(&run(&["compress", s(&src), s(&to_fifo)]), &to_fifo);
    assert!(!d.path("store/none.mrcz").exists());

    // `-` is standard output elsewhere; here it is a usage error, not a file named `-`.
    let o = bin()
        .current_dir(&d.0)
        .args(["compress", s(&src), "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.path("-").exists());
}

#[test]
fn bad_input_fails_with_one_line_and_no_output() {
    let d = TempDir::new("bad");
    let out = d.path("out.mrcz");
    // Missing file.
    let missing = d.path("missing.mrc");
    assert_one_line_failure(&run(&["compress", s(&missing), s(&out)]), &missing);
    // Not MRC at all.
    let junk = d.path("junk.mrc");
    std::fs::write(&junk, b"hello, this is not an MRC file").unwrap();
    assert_one_line_failure(&run(&["compress", s(&junk), s(&out)]), &junk);
    // A truncated MRCZ file, and one whose chunk is corrupt.
    let (src, z) = (d.path("in.mrc"), d.path("good.mrcz"));
    plain_movie(&src, 256, 128, 3);
    assert!(
        run(&["compress", s(&src), s(&z), "--quiet"])
            .status
            .success()
    );
    let good = std::fs::read(&z).unwrap();
    let trunc = d.path("trunc.mrcz");
    std::fs::write(&trunc, &good[..good.len() - 100]).unwrap();
    assert_one_line_failure(&run(&["decompress", s(&trunc), s(&out)]), &trunc);
    let corrupt = d.path("corrupt.mrcz");
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 400..n - 50].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(&corrupt, &bad).unwrap();
    assert_one_line_failure(&run(&["decompress", s(&corrupt), s(&out)]), &corrupt);
    assert!(!out.exists(), "no partial output");
    // Only the files this test made remain: no temporaries.
    assert_eq!(d.entries(), 5, "junk, in, good, trunc, corrupt");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["compress"]).status.code(), Some(2));
    assert_eq!(
        run(&["compress", "a", "b", "--codec", "snappy"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["compress", "a", "b", "--level", "12"]).status.code(),
        Some(2)
    );
    // A mistyped thread count is refused at once, not after starting 100000 threads.
    for cmd in [&["compress", "a", "b"][..], &["demo"], &["noise", "a"]] {
        let o = bin()
            .args(cmd)
            .args(["--threads", "100000"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("0..=1024"));
    }
}

#[test]
fn msgpack_metadata_and_big_endian_output() {
    let d = TempDir::new("msgp");
    let (src, z) = (d.path("in.mrc"), d.path("out.mrcz"));
    let data = plain_movie(&src, 128, 64, 2);
    let o = run(&[
        "compress",
        s(&src),
        s(&z),
        "--metadata",
        "msgpack",
        "--endian",
        "big",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let raw = std::fs::read(&z).unwrap();
    assert_eq!(&raw[104..108], b"msgp");
    assert_eq!(&raw[212..214], &[0x11, 0x11]);
    let mut r = Reader::open(&z).unwrap();
    assert_eq!(r.metadata().value().unwrap()["microscope"], "test");
    assert_eq!(r.read_all::<u8>().unwrap(), data);
    let _ = Compression::default();
}

//! `mrcz validate` and its library, `mrcz::mrcz::validate_file`: this project's files validate
//! clean (also with --deep), and each kind of damage is reported by the right check, one line
//! per problem, with exit status 1.

#[path = "malformed_support/mod.rs"]
mod support;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mrcz::blosc::Shuffle;
use mrcz::codec::Codec;
use mrcz::mrc::{Endian, Mode, Severity};
use mrcz::mrcz::{FileCheck, ValidateOptions, ValidationReport, validate_stream};
use support::*;

fn report(file: &[u8], deep: bool) -> ValidationReport {
    let opts = ValidateOptions {
        deep,
        read: tight(),
    };
    guarded("validate", || validate_stream(Cursor::new(file), &opts)).unwrap()
}

fn invalid_checks(r: &ValidationReport) -> Vec<&'static str> {
    r.problems().map(|p| p.check.name()).collect()
}

#[test]
fn files_of_this_writer_validate_clean() {
    let mut n = 0;
    for mode in [
        Mode::Int8,
        Mode::Int16,
        Mode::Uint16,
        Mode::Float32,
        Mode::Complex64,
        Mode::Float16,
    ] {
        for codec in [
            None,
            Some(Codec::Zstd),
            Some(Codec::Lz4),
            Some(Codec::Zlib),
            Some(Codec::BloscLz),
        ] {
            for endian in [Endian::Little, Endian::Big] {
                let opts = options(codec, Shuffle::Bit, 512, endian);
                let (file, _) = build(mode, 20, 9, 4, &opts);
                for deep in [false, true] {
                    let r = report(&file, deep);
                    assert!(
                        r.is_valid(),
                        "{mode} {codec:?} {endian} deep {deep}: {:?}",
                        r.findings
                    );
                    assert_eq!(r.frames_found, 4);
                    // The only notes: python-mrcz's MZ = 0 convention (MRCZ), and JSON metadata
                    // in a plain file, which mrcfile does not know.
                    let notes: Vec<_> = r.notes().map(|f| f.message.clone()).collect();
                    let expected = if codec.is_some() {
                        "MZ is 0"
                    } else {
                        "EXTTYP \"json\""
                    };
                    assert!(
                        notes.len() == 1 && notes[0].starts_with(expected),
                        "{mode} {codec:?}: {notes:?}"
                    );
                    if deep {
                        assert_eq!(r.frames_decoded, 4);
                        assert!(r.stats.is_some());
                    }
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 6 * 5 * 2 * 2);
}

/// The first valid little-endian zstd file of the test bases, and its chunk extents.
fn zstd_file() -> (Vec<u8>, Vec<(usize, usize)>) {
    let b = bases().into_iter().next().unwrap();
    let c = chunks(&b.file);
    (b.file, c)
}

#[test]
fn each_kind_of_damage_is_reported_by_its_check() {
    let (file, c) = zstd_file();
    let cases: Vec<(&str, Vec<u8>, bool, &[&str])> = vec![
        (
            "packedBytes",
            {
                let mut f = file.clone();
                f[PACKED] ^= 1;
                f
            },
            false,
            &["packed_bytes"],
        ),
        (
            "trailing bytes",
            {
                let mut f = file.clone();
                f.extend([0u8; 5]);
                f
            },
            false,
            &["chunk_chain"],
        ),
        (
            "truncated",
            file[..file.len() - 1].to_vec(),
            false,
            &["chunk_chain"],
        ),
        (
            "NZ too large",
            {
                let mut f = file.clone();
                put_i32(&mut f, NZ, 4);
                f
            },
            false,
            &["chunk_chain"],
        ),
        (
            "nbytes lie",
            {
                let mut f = file.clone();
                put_i32(&mut f, c[1].0 + 4, 100);
                f
            },
            false,
            &["chunk_chain"],
        ),
        (
            "map id",
            {
                let mut f = file.clone();
                f[208] = b'X';
                f
            },
            false,
            &["map_id"],
        ),
        (
            "NLABL",
            {
                let mut f = file.clone();
                put_i32(&mut f, 220, 5);
                f
            },
            false,
            &["labels"],
        ),
        (
            "broken JSON",
            {
                let mut f = file.clone();
                f[1024] = b'!';
                f
            },
            false,
            &["metadata"],
        ),
        (
            "DMAX",
            {
                let mut f = file.clone();
                f[80..84].copy_from_slice(&1000f32.to_le_bytes());
                f
            },
            true,
            &["statistics"],
        ),
        (
            "corrupt stream",
            {
                let mut f = file.clone();
                // The last byte of the first chunk is codec payload.
                let (o, l) = c[0];
                f[o + l - 1] ^= 0xff;
                f
            },
            true,
            &["decode"],
        ),
    ];
    for (what, f, deep, expected) in cases {
        let r = report(&f, deep);
        assert_eq!(invalid_checks(&r), expected, "{what}: {:?}", r.findings);
        assert!(!r.is_valid());
        if deep {
            // The shallow check cannot see it.
            assert!(
                report(&f, false).is_valid(),
                "{what} found without decoding"
            );
        }
    }
    // Short files and unparsable headers are findings, not errors.
    for f in [Vec::new(), file[..1000].to_vec(), {
        let mut f = file.clone();
        put_i32(&mut f, NX, 0);
        f
    }] {
        let r = report(&f, true);
        assert_eq!(invalid_checks(&r), ["parse"], "{:?}", r.findings);
    }
}

#[test]
fn validation_never_panics_on_corrupted_files() {
    let mut rng = mrcz::synthetic::Rng::new(99);
    let mut invalid = 0;
    for b in bases() {
        for it in 0..300 {
            let mut f = b.file.clone();
            let at = (rng.next_u64() % f.len() as u64) as usize;
            f[at] = rng.next_u64() as u8;
            let r = guarded(format!("{} mutation {it}", b.name), || report(&f, true));
            invalid += usize::from(!r.is_valid());
            assert!(r.findings.iter().all(|p| !p.message.is_empty()));
            assert!(r.frames_decoded <= r.frames_found);
        }
    }
    assert!(
        invalid > 100,
        "only {invalid} of 1800 mutations found invalid"
    );
}

// ---- the command line ----

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("mrcz-validate-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mrcz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrcz"))
        .args(args)
        .output()
        .expect("run mrcz")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn cli_exit_status_lines_and_json() {
    let dir = TempDir::new("cli");
    let (file, _) = zstd_file();
    let good = dir.write("good.mrcz", &file);
    let out = mrcz(&["validate", s(&good)]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let out = mrcz(&["validate", "--deep", "--json", s(&good)]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["file"], s(&good));
    assert_eq!(v["frames_decoded"], 3);
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["severity"] == "note")
    );

    // Two problems: two lines, each "FILE: problem".
    let mut f = file.clone();
    f[PACKED] ^= 1;
    f[208] = b'X';
    let bad = dir.write("bad.mrcz", &f);
    let out = mrcz(&["validate", s(&bad)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let prefix = format!("{}: ", bad.display());
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{text}");
    assert!(
        text.contains("map id") && text.contains("packedBytes"),
        "{text}"
    );
    let out = mrcz(&["validate", "--json", s(&good), s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let docs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        (docs[0]["valid"].clone(), docs[1]["valid"].clone()),
        (true.into(), false.into())
    );
    let checks: Vec<&str> = docs[1]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "invalid")
        .map(|p| p["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["map_id", "packed_bytes"]);

    // A missing file is a problem line too.
    let missing = dir.0.join("missing.mrc");
    let out = mrcz(&["validate", s(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("{}: ", missing.display())));
}

#[test]
fn output_of_mrcz_decompress_and_compress_validates_clean() {
    let dir = TempDir::new("conv");
    let (file, _) = zstd_file();
    let input = dir.write("in.mrcz", &file);
    let plain = dir.0.join("plain.mrc");
    let again = dir.0.join("again.mrcz");
    let out = mrcz(&["decompress", "-q", s(&input), s(&plain)]);
    assert!(out.status.success(), "{out:?}");
    let out = mrcz(&["compress", "-q", "--codec", "lz4", s(&plain), s(&again)]);
    assert!(out.status.success(), "{out:?}");
    for p in [&plain, &again] {
        let out = mrcz(&["validate", "--deep", s(p)]);
        assert!(out.status.success(), "{}: {out:?}", p.display());
        assert!(out.stdout.is_empty());
    }
    let r = mrcz::mrcz::validate_file(
        &plain,
        &ValidateOptions {
            deep: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        !r.compressed
            && r.stats.is_some()
            && r.findings.iter().all(|f| f.severity == Severity::Note)
    );
    assert!(matches!(
        r.findings.first().map(|f| f.check),
        None | Some(FileCheck::Header(_))
    ));
}

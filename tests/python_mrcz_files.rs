//! Real files written by python-mrcz 0.6.0 (tests/data/python-mrcz, made by
//! interop/make_fixtures.py): little- and big-endian, plain and every codec, Blosc2-backend
//! (version-5) chunks, c-blosc2's corrupt-blocksize chunks, and a legacy (< 0.5.0) file with
//! lz4hc under id 2. No Python is needed to run this.

use std::path::PathBuf;

use mrcz::Error;
use mrcz::mrc::{Endian, Metadata};
use mrcz::mrcz::{Reader, swap_bytes};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/python-mrcz")
}

struct Fixture {
    name: String,
    dims: [usize; 3],
    ok: bool,
}

fn fixtures() -> Vec<Fixture> {
    let tsv = std::fs::read_to_string(dir().join("fixtures.tsv")).unwrap();
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("name\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let d: Vec<usize> = f[2].split('x').map(|x| x.parse().unwrap()).collect();
            Fixture {
                name: f[0].to_string(),
                dims: [d[0], d[1], d[2]],
                ok: f[3] == "ok",
            }
        })
        .collect()
}

/// All frames as little-endian bytes, the layout of the `.expected` files.
fn read_le(r: &mut Reader<impl std::io::Read + std::io::Seek>) -> mrcz::Result<Vec<u8>> {
    let mut buf = vec![0u8; r.frame_len() * r.frames()];
    r.read_frames(0..r.frames(), &mut buf)?;
    if Endian::native() == Endian::Big {
        swap_bytes(&mut buf, r.mode().swap_unit());
    }
    Ok(buf)
}

#[test]
fn every_python_mrcz_fixture_reads_or_is_rejected() {
    let all = fixtures();
    assert_eq!(all.len(), 19, "fixture list parsed");
    for f in &all {
        let path = dir().join(&f.name);
        let expected = std::fs::read(dir().join(format!("{}.expected", f.name))).unwrap();
        let mut r = Reader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let h = r.header();
        assert_eq!([h.nx, h.ny, h.nz].map(|v| v as usize), f.dims, "{}", f.name);
        let want_endian = if f.name.starts_with("be-") {
            Endian::Big
        } else {
            Endian::Little
        };
        assert_eq!(h.endian, want_endian, "{}", f.name);
        if f.name.starts_with("b2-") {
            assert_eq!(r.chunk_version(), Some(5), "{}", f.name);
        }
        match read_le(&mut r) {
            Ok(pixels) => {
                assert!(
                    f.ok,
                    "{}: corrupt chunks decoded instead of being rejected",
                    f.name
                );
                assert!(pixels == expected, "{}: pixels differ", f.name);
            }
            Err(Error::Chunk { frame, source }) => {
                assert!(!f.ok, "{}: {source}", f.name);
                assert_eq!(
                    frame, 0,
                    "{}: the first frame is already inconsistent",
                    f.name
                );
            }
            Err(e) => panic!("{}: unexpected error {e}", f.name),
        }
    }
}

#[test]
fn python_metadata_with_nan_is_read() {
    for name in ["le-zstd-int8.mrcz", "le-plain-int8-meta.mrc"] {
        let r = Reader::open(dir().join(name)).unwrap();
        let Metadata::Json { value, raw } = r.metadata() else {
            panic!("{name}: no JSON metadata")
        };
        assert_eq!(value["experiment"], "fixture");
        assert_eq!(value["dose"], 1.25);
        assert!(
            value["nan_value"].is_null(),
            "python's bare NaN maps to null"
        );
        assert!(
            std::str::from_utf8(raw).unwrap().contains("NaN"),
            "raw bytes kept for write-back"
        );
    }
}

#[test]
fn legacy_file_and_lz4hc_under_id_2() {
    let mut r = Reader::open(dir().join("legacy-0.4.1-lz4hc-id2-float32.mrcz")).unwrap();
    assert_eq!(r.header().mrcz_version(), Some((0, 4, 1)));
    assert!(r.header().is_legacy_mrcz());
    assert_eq!(
        r.codec().map(|c| c.name()),
        Some("lz4"),
        "id 2 names lz4; lz4hc chunks decode the same"
    );
    assert_eq!(
        r.header().voxel_size(),
        [0.1, 0.1, 0.1],
        "python-mrcz's default pixel size"
    );
    assert_eq!(r.frames(), 2);
    let mut f = vec![0f32; 40 * 24];
    r.read_frame_as(1, &mut f).unwrap();
}

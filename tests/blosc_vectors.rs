//! Every chunk of `tests/data/vectors/vectors.tsv` (1,317 real c-blosc / c-blosc2 chunks):
//! `ok` rows decode to exactly their output, `error` rows are rejected, the `uninit` row gives
//! `nbytes` bytes, and the c-blosc2 blocksize bug is recovered only when asked.

use std::path::PathBuf;

use mrcz::blosc::{self, ChunkHeader, Error, Limits};

struct Row {
    name: String,
    expect: String,
    output: Option<Vec<u8>>,
    chunk: Vec<u8>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn load(field: &str) -> Option<Vec<u8>> {
    match field {
        "-" => None,
        f if f.starts_with('@') => Some(std::fs::read(dir().join(&f[1..])).expect("vector file")),
        f => Some(hex(f)),
    }
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("vectors.tsv")).expect("vectors.tsv");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header,
        ["name", "expect", "output", "sha256", "params", "chunk"]
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "row {l}");
            Row {
                name: f[0].to_string(),
                expect: f[1].to_string(),
                output: load(f[2]),
                chunk: load(f[5]).expect("chunk"),
            }
        })
        .collect()
}

#[test]
fn every_vector() {
    let rows = rows();
    assert_eq!(rows.len(), 1317, "row count");
    let limits = Limits::default();
    let (mut ok, mut errors, mut uninit) = (0, 0, 0);
    for row in &rows {
        let result = blosc::decompress(&row.chunk, &limits);
        match row.expect.as_str() {
            "ok" => {
                let out = result.unwrap_or_else(|e| panic!("{}: {e}", row.name));
                assert!(
                    out == *row.output.as_ref().unwrap(),
                    "{}: wrong output",
                    row.name
                );
                // decompress_into agrees, serially and in parallel.
                for parallel in [false, true] {
                    let mut dst = vec![0xa5u8; out.len()];
                    let l = Limits {
                        parallel,
                        ..Limits::default()
                    };
                    blosc::decompress_into(&row.chunk, &mut dst, &l)
                        .unwrap_or_else(|e| panic!("{}: {e}", row.name));
                    assert!(dst == out, "{}: decompress_into differs", row.name);
                }
                // The 16-byte header alone gives the sizes.
                let h = ChunkHeader::parse(&row.chunk[..16]).unwrap();
                assert_eq!(
                    (h.nbytes, h.cbytes),
                    (out.len(), row.chunk.len()),
                    "{}",
                    row.name
                );
                ok += 1;
            }
            "error" => {
                assert!(result.is_err(), "{}: accepted", row.name);
                errors += 1;
            }
            "uninit" => {
                assert_eq!(result.expect("uninit").len(), 4000, "{}", row.name);
                uninit += 1;
            }
            e => panic!("{}: unknown expect {e}", row.name),
        }
    }
    assert_eq!((ok, errors, uninit), (1309, 7, 1));
}

#[test]
fn broken_blosc2_blocksize_recovers_only_when_asked() {
    let rows = rows();
    let row = rows
        .iter()
        .find(|r| r.name == "b2-lz4-shuf-ts4-cl5-n3000-bs1001-BROKEN")
        .expect("BROKEN row");
    assert!(matches!(
        blosc::decompress(&row.chunk, &Limits::default()),
        Err(Error::Corrupt(_))
    ));
    let recover = Limits {
        recover_v5_blocksize: true,
        ..Limits::default()
    };
    let out = blosc::decompress(&row.chunk, &recover).expect("recovered");
    assert!(out == *row.output.as_ref().unwrap());
}

#[test]
fn snappy_is_unsupported_not_corrupt() {
    let rows = rows();
    let mut tested = 0;
    for row in rows
        .iter()
        .filter(|r| r.name.starts_with("b1-lz4-") && r.expect == "ok")
    {
        let h = ChunkHeader::parse(&row.chunk).unwrap();
        if h.memcpyed || h.nbytes == 0 {
            continue;
        }
        let mut chunk = row.chunk.clone();
        chunk[2] = (chunk[2] & 0x1f) | (2 << 5); // compformat 2 = snappy
        match blosc::decompress(&chunk, &Limits::default()) {
            Err(Error::Unsupported(msg)) => assert!(msg.contains("snappy"), "{msg}"),
            other => panic!("{}: {other:?}", row.name),
        }
        tested += 1;
    }
    assert!(tested > 50, "only {tested} lz4 chunks");
}

#[test]
fn too_large_is_refused_before_allocating() {
    let rows = rows();
    let row = rows
        .iter()
        .find(|r| r.name.contains("n1000") && r.expect == "ok")
        .unwrap();
    let limits = Limits {
        max_nbytes: 999,
        ..Limits::default()
    };
    assert!(matches!(
        blosc::decompress(&row.chunk, &limits),
        Err(Error::TooLarge(_))
    ));
}

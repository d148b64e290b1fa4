//! Extended-header metadata: python-mrcz's JSON (NaN and all), MessagePack, opaque bytes.

use mrcz::Error;
use mrcz::mrc::{EXTTYP_JSON, EXTTYP_MSGPACK, Header, Metadata, Mode};
use serde_json::json;

/// Exactly what Python 3's `json.dumps({"a": float("nan"), "b": [0, 1, 2], "é": "ü"})` writes.
const PY_NAN: &str = r#"{"a": NaN, "b": [0, 1, 2], "\u00e9": "\u00fc"}"#;

#[test]
fn python_json_with_nan_parses_and_writes_back_identically() {
    let m = Metadata::parse(*b"json", PY_NAN.as_bytes().to_vec()).unwrap();
    assert_eq!(
        m.value(),
        Some(&json!({"a": null, "b": [0, 1, 2], "é": "ü"}))
    );
    assert_eq!(m.exttyp(), EXTTYP_JSON);
    assert_eq!(m.to_bytes(), PY_NAN.as_bytes());
}

#[test]
fn python_json_infinities_and_tricky_strings() {
    // json.dumps({"pixelsize": [1.5, 1.5, 1e-05], "inf": [inf, -inf], "s": "tab\there \"q\" NaN \x7f 😀", ...})
    let text = r#"{"pixelsize": [1.5, 1.5, 1e-05], "inf": [Infinity, -Infinity], "s": "tab\there \"q\" NaN \u007f \ud83d\ude00", "nested": {"k": null, "t": true}}"#;
    let m = Metadata::parse(*b"json", text.as_bytes().to_vec()).unwrap();
    let v = m.value().unwrap();
    assert_eq!(v["inf"], json!([null, null]));
    assert_eq!(v["pixelsize"][2], json!(1e-5));
    assert_eq!(v["s"], json!("tab\there \"q\" NaN \u{7f} \u{1F600}"));
    assert_eq!(m.to_bytes(), text.as_bytes());
}

#[test]
fn changed_json_is_reserialised_like_python() {
    let mut m = Metadata::parse(*b"json", PY_NAN.as_bytes().to_vec()).unwrap();
    m.value_mut().unwrap()["c"] = json!(1);
    assert_eq!(
        String::from_utf8(m.to_bytes()).unwrap(),
        r#"{"a": null, "b": [0, 1, 2], "\u00e9": "\u00fc", "c": 1}"#
    );
    // Same bytes as Python's json.dumps for this value (checked with Python 3.11).
    let v = json!({"s": "tab\there \"q\" NaN \u{7f} \u{1F600} é", "nested": {"k": null, "t": true, "e": {}}, "b": [0, 1.5, -2, 300.25, []]});
    let py = r#"{"s": "tab\there \"q\" NaN \u007f \ud83d\ude00 \u00e9", "nested": {"k": null, "t": true, "e": {}}, "b": [0, 1.5, -2, 300.25, []]}"#;
    let m = Metadata::json(v.clone());
    assert_eq!(String::from_utf8(m.to_bytes()).unwrap(), py);
    // And it reads back.
    let back = Metadata::parse(m.exttyp(), m.to_bytes()).unwrap();
    assert_eq!(back.value(), Some(&v));
    assert_eq!(Metadata::json(json!({})).to_bytes(), b"{}");
}

#[test]
fn invalid_json_is_an_error() {
    for bad in [
        &b"{\"a\": 1"[..],
        b"{\"a\": nan}",
        b"{'a': 1}",
        b"{\"a\": 1} x",
        b"\xff\xfe{}",
        b"{\"\xc3\x28\": 1}",
        b"NaNa",
    ] {
        match Metadata::parse(*b"json", bad.to_vec()) {
            Err(Error::Metadata(msg)) => assert!(!msg.is_empty()),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(matches!(
        Metadata::parse(*b"json", deep.into_bytes()),
        Err(Error::Metadata(_))
    ));
}

#[test]
fn msgpack_round_trip() {
    let v = json!({"voltage": 300.0, "frames": [1, 2, 3], "name": "é", "nested": {"x": null, "ok": false}, "neg": -5});
    let m = Metadata::msgpack(v.clone()).unwrap();
    assert_eq!(m.exttyp(), EXTTYP_MSGPACK);
    let bytes = m.to_bytes();
    let back = Metadata::parse(*b"msgp", bytes.clone()).unwrap();
    assert_eq!(back.value(), Some(&v));
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back, m);
    // Trailing bytes and garbage are errors.
    let mut trailing = bytes.clone();
    trailing.push(0xc0);
    assert!(matches!(
        Metadata::parse(*b"msgp", trailing),
        Err(Error::Metadata(_))
    ));
    assert!(matches!(
        Metadata::parse(*b"msgp", vec![0xc1]),
        Err(Error::Metadata(_))
    ));
    assert!(matches!(
        Metadata::parse(*b"msgp", vec![0x92, 0x01]),
        Err(Error::Metadata(_))
    ));
    // Deeply nested arrays: an error or a value, never a crash.
    let _ = Metadata::parse(*b"msgp", vec![0x91; 100_000]);
}

#[test]
fn opaque_and_empty() {
    let bytes: Vec<u8> = (0..=255).collect();
    let m = Metadata::parse(*b"FEI1", bytes.clone()).unwrap();
    assert_eq!(
        m,
        Metadata::Opaque {
            exttyp: *b"FEI1",
            bytes: bytes.clone()
        }
    );
    assert_eq!(m.exttyp(), *b"FEI1");
    assert_eq!(m.to_bytes(), bytes);
    assert_eq!(m.value(), None);
    assert_eq!(Metadata::parse(*b"json", vec![]).unwrap(), Metadata::None);
    assert_eq!(Metadata::None.to_bytes(), Vec::<u8>::new());
    assert_eq!(Metadata::None.exttyp(), [0; 4]);
}

#[test]
fn header_takes_metadata_length_and_type() {
    let mut h = Header::for_mrcz(8, 8, 2, Mode::Int16, 2);
    let m = Metadata::parse(*b"json", PY_NAN.as_bytes().to_vec()).unwrap();
    h.set_extended_header(&m).unwrap();
    assert_eq!(h.nsymbt as usize, PY_NAN.len());
    assert_eq!(&h.exttyp, b"json");
    assert_eq!(h.data_offset(), 1024 + PY_NAN.len() as u64);
    h.set_extended_header(&Metadata::None).unwrap();
    assert_eq!((h.nsymbt, h.exttyp), (0, [0; 4]));
}

//! The MRC2014 / MRCZ header layer: byte layout, byte-order detection, python-mrcz conventions,
//! malformed input, and the validator.

use mrcz::Error;
use mrcz::mrc::{
    Check, DataStats, EXTRA2_MRCZ_RANGE, Endian, HEADER_LEN, Header, MRCZ_FORMAT_LABEL, Metadata,
    Mode, Severity, WRITER_LABEL, Warning, ZLayout, validate_header,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Hand-built headers as python-mrcz 0.6.0 writes them (spec §4).

#[derive(Clone)]
struct Py {
    e: Endian,
    nx: i32,
    ny: i32,
    nz: i32,
    mode: i32,
    mz: i32,
    pixel: f32,
    stamp: [u8; 4],
    json_len: i32,
    packed: i64,
    label: &'static str,
    nlabl: i32,
}

impl Py {
    fn new(e: Endian, mode: i32) -> Py {
        Py {
            e,
            nx: 256,
            ny: 192,
            nz: 40,
            mode,
            mz: 0,
            pixel: 1.25,
            stamp: if e == Endian::Little {
                [0x44, 0x41, 0, 0]
            } else {
                [0x11, 0x11, 0, 0]
            },
            json_len: 0,
            packed: if mode >= 1000 { 123_456_789_012 } else { 0 },
            label: "MRCZ0.6.0",
            nlabl: 1,
        }
    }

    fn bytes(&self) -> [u8; HEADER_LEN] {
        let e = self.e;
        let mut b = [0u8; HEADER_LEN];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &e.write_i32(self.nx));
        put(4, &e.write_i32(self.ny));
        put(8, &e.write_i32(self.nz));
        put(12, &e.write_i32(self.mode));
        put(36, &e.write_i32(self.mz));
        put(40, &e.write_f32(self.pixel * self.nx as f32));
        put(44, &e.write_f32(self.pixel * self.ny as f32));
        put(48, &e.write_f32(self.pixel * self.nz as f32));
        for i in 0..3 {
            put(52 + 4 * i, &e.write_f32(90.0));
            put(64 + 4 * i, &e.write_i32(i as i32 + 1));
        }
        // quickStats: first-frame min/max, mean = midpoint.
        put(76, &e.write_f32(-3.0));
        put(80, &e.write_f32(5.0));
        put(84, &e.write_f32(1.0));
        if self.json_len > 0 {
            put(92, &e.write_i32(self.json_len));
            put(104, b"json");
        }
        put(132, &e.write_f32(0.0));
        put(136, &e.write_f32(0.0));
        put(140, &e.write_f32(1.0));
        if self.mode >= 1000 {
            put(144, &e.write_i64(self.packed));
        }
        put(208, b"MAP ");
        put(212, &self.stamp);
        put(220, &e.write_i32(self.nlabl));
        put(224, self.label.as_bytes());
        b
    }
}

fn le32(b: &[u8], off: usize) -> i32 {
    i32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn be32(b: &[u8], off: usize) -> i32 {
    i32::from_be_bytes(b[off..off + 4].try_into().unwrap())
}

const PY_MODES: [i32; 8] = [0, 1, 2, 4, 6, 7, 8, 101];

#[test]
fn python_mrcz_le_zstd_float32() {
    let py = Py {
        json_len: 17,
        ..Py::new(Endian::Little, 6002)
    };
    let bytes = py.bytes();
    assert_eq!(le32(&bytes, 12), 6002);
    let (h, warnings) = Header::parse(&bytes).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(h.endian, Endian::Little);
    assert_eq!((h.nx, h.ny, h.nz), (256, 192, 40));
    assert_eq!(h.mode, Mode::Float32);
    assert_eq!(h.compressor_id, 6);
    assert!(h.is_compressed());
    assert_eq!((h.mx, h.my, h.mz), (0, 0, 0));
    // MX = MY = MZ = 0: voxel size falls back to CELLA / N, as python-mrcz computes it.
    assert_eq!(h.voxel_size(), [1.25, 1.25, 1.25]);
    assert_eq!(h.packed_bytes, 123_456_789_012);
    assert_eq!(h.gain, 1.0);
    assert_eq!(h.nsymbt, 17);
    assert_eq!(&h.exttyp, b"json");
    assert_eq!(h.data_offset(), 1024 + 17);
    assert_eq!(h.mrcz_version(), Some((0, 6, 0)));
    assert!(!h.is_legacy_mrcz());
    assert_eq!(h.python_mrcz_slices(), 0);
    assert_eq!(h.nlabl, 1);
    assert_eq!(h.label(0).as_deref(), Some("MRCZ0.6.0"));
    assert_eq!(h.labels_in_use(), vec!["MRCZ0.6.0".to_string()]);
    assert_eq!(h.machst, [0x44, 0x41, 0, 0]);
    assert_eq!(h.section_bytes().unwrap(), 256 * 192 * 4);
    assert_eq!(h.data_bytes().unwrap(), 256 * 192 * 40 * 4);
    // Written back byte for byte.
    assert_eq!(h.to_bytes(), bytes);
}

#[test]
fn python_mrcz_big_endian_with_stamp() {
    for id in 0..=6 {
        for base in PY_MODES {
            let py = Py::new(Endian::Big, id * 1000 + base);
            let bytes = py.bytes();
            let (h, warnings) = Header::parse(&bytes).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(h.endian, Endian::Big);
            assert_eq!(h.mode.code(), base);
            assert_eq!(h.compressor_id, id as u32);
            assert_eq!((h.nx, h.ny, h.nz), (256, 192, 40));
            assert_eq!(h.packed_bytes, py.packed);
            assert_eq!(h.voxel_size(), [1.25; 3]);
            assert_eq!(h.to_bytes(), bytes);
        }
    }
}

/// With the stamp zeroed, detection relies on MODE and the dimensions — including mode 0 and the
/// blosclz..zlib modes 1000–5008, where python-mrcz's own MODE > 16,000,000 fallback fails.
#[test]
fn stamp_zeroed_detects_by_mode_and_dims() {
    for e in [Endian::Little, Endian::Big] {
        for id in 0..=6 {
            for base in PY_MODES {
                let py = Py {
                    stamp: [0; 4],
                    ..Py::new(e, id * 1000 + base)
                };
                let (h, warnings) = Header::parse(&py.bytes()).unwrap();
                assert_eq!(h.endian, e, "mode {}", py.mode);
                assert_eq!(
                    warnings,
                    vec![Warning::UnrecognisedStamp {
                        stamp: [0; 4],
                        used: e
                    }]
                );
                assert_eq!((h.nx, h.ny, h.nz), (256, 192, 40));
                assert_eq!(h.mode.code(), base);
                assert_eq!(h.compressor_id, id as u32);
                assert_eq!(h.nlabl, 1);
            }
        }
    }
}

/// A c-mrcz-like bare header (only NX..MODE set, no MAP, no stamp, no CELLB): mode 0 reads as 0
/// in both orders, so the smaller volume decides.
#[test]
fn bare_mode0_big_endian_detected_by_dimensions() {
    let mut b = [0u8; HEADER_LEN];
    for (off, v) in [(0, 4096i32), (4, 4096), (8, 40), (12, 0)] {
        b[off..off + 4].copy_from_slice(&v.to_be_bytes());
    }
    let (h, warnings) = Header::parse(&b).unwrap();
    assert_eq!(h.endian, Endian::Big);
    assert_eq!((h.nx, h.ny, h.nz), (4096, 4096, 40));
    assert!(warnings.contains(&Warning::MissingMapId { found: [0; 4] }));
    // Little-endian bare header: stays little-endian.
    for (off, v) in [(0, 4096i32), (4, 4096), (8, 40), (12, 0)] {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    assert_eq!(Header::parse(&b).unwrap().0.endian, Endian::Little);
}

#[test]
fn odd_stamps_warn_but_parse() {
    let base = Py::new(Endian::Little, 2);
    for (stamp, warn) in [
        ([0x44, 0x44, 0, 0], false),
        ([0x44, 0x41, 0, 0], false),
        ([0x44, 0x41, 0x12, 0x34], false),
        ([0x44, 0x11, 0, 0], true),
        ([0x44, 0x20, 0x20, 0x20], true),
    ] {
        let (h, w) = Header::parse(
            &Py {
                stamp,
                ..base.clone()
            }
            .bytes(),
        )
        .unwrap();
        assert_eq!(h.endian, Endian::Little);
        assert_eq!(h.machst, stamp, "stamp kept as found");
        if warn {
            assert_eq!(
                w,
                vec![Warning::UnusualStamp {
                    stamp,
                    used: Endian::Little
                }]
            );
        } else {
            assert!(w.is_empty(), "{w:?}");
        }
    }
    // Garbage stamp → detection.
    let (h, w) = Header::parse(
        &Py {
            stamp: [0xde, 0xad, 0xbe, 0xef],
            ..Py::new(Endian::Big, 1)
        }
        .bytes(),
    )
    .unwrap();
    assert_eq!(h.endian, Endian::Big);
    assert!(matches!(w[0], Warning::UnrecognisedStamp { .. }));
}

#[test]
fn lying_stamp_is_overruled() {
    // Big-endian header carrying a little-endian stamp, and vice versa.
    for (e, stamp) in [
        (Endian::Big, [0x44, 0x44, 0, 0]),
        (Endian::Little, [0x11, 0x11, 0, 0]),
    ] {
        let py = Py {
            stamp,
            ..Py::new(e, 6002)
        };
        let (h, w) = Header::parse(&py.bytes()).unwrap();
        assert_eq!(h.endian, e);
        assert_eq!(w, vec![Warning::StampContradicted { stamp, used: e }]);
        assert_eq!(h.mode, Mode::Float32);
        assert_eq!(h.compressor_id, 6);
    }
}

#[test]
fn missing_map_id_warns() {
    let mut b = Py::new(Endian::Little, 1).bytes();
    b[208..212].copy_from_slice(b"\0\0\0\0");
    let (_, w) = Header::parse(&b).unwrap();
    assert_eq!(w, vec![Warning::MissingMapId { found: [0; 4] }]);
    assert!(w[0].to_string().contains("MAP"));
}

#[test]
fn legacy_labels_and_slices() {
    let (h, _) = Header::parse(
        &Py {
            label: "MRCZ0.4.1",
            mz: 0,
            ..Py::new(Endian::Little, 1002)
        }
        .bytes(),
    )
    .unwrap();
    assert_eq!(h.mrcz_version(), Some((0, 4, 1)));
    assert!(h.is_legacy_mrcz());
    assert_eq!(h.python_mrcz_slices(), 1);

    for (label, version, legacy) in [
        ("MRCZ0.5.0", Some((0, 5, 0)), false),
        ("MRCZ0.6.0 \t\r\n", Some((0, 6, 0)), false),
        ("MRCZ0.1", Some((0, 1, 0)), true),
        ("MRCZ0.4.1b2", Some((0, 4, 1)), true),
        ("MRCZ 0.4.1", None, false),
        ("mrcz-rs 0.1.0", None, false),
        ("Created by IMOD", None, false),
    ] {
        let (h, _) = Header::parse(
            &Py {
                label,
                mz: 3,
                ..Py::new(Endian::Little, 2)
            }
            .bytes(),
        )
        .unwrap();
        assert_eq!(h.mrcz_version(), version, "{label:?}");
        assert_eq!(h.is_legacy_mrcz(), legacy, "{label:?}");
        assert_eq!(h.python_mrcz_slices(), if legacy { 1 } else { 3 });
    }
}

#[test]
fn nlabl_of_old_big_endian_files_is_repaired() {
    // python-mrcz < 0.6.0 wrote NLABL = 1 in machine (little-endian) order into BE files.
    let mut b = Py::new(Endian::Big, 2).bytes();
    b[220..224].copy_from_slice(&1i32.to_le_bytes());
    assert_eq!(be32(&b, 220), 16_777_216);
    let (h, w) = Header::parse(&b).unwrap();
    assert_eq!(h.nlabl, 1);
    assert_eq!(
        w,
        vec![Warning::NlablClamped {
            found: 16_777_216,
            clamped: 1
        }]
    );
    // Garbage NLABL is clamped.
    for (raw, kept) in [(5000i32, 10), (-3, 0), (11, 10)] {
        b[220..224].copy_from_slice(&raw.to_be_bytes());
        let (h, w) = Header::parse(&b).unwrap();
        assert_eq!(h.nlabl, kept, "{raw}");
        assert_eq!(w.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// The writer's header.

#[test]
fn for_mrcz_layout_little_endian() {
    let mut h = Header::for_mrcz(300, 200, 12, Mode::Float32, 6);
    h.set_voxel_size([0.8, 0.8, 0.8]);
    h.packed_bytes = 0x0102_0304_0506_0708;
    h.voltage = 300.0;
    h.c3 = 2.7;
    let meta = Metadata::json(serde_json::json!({"voltage": 300.0}));
    h.set_extended_header(&meta).unwrap();
    let b = h.to_bytes();
    assert_eq!(le32(&b, 0), 300);
    assert_eq!(le32(&b, 4), 200);
    assert_eq!(le32(&b, 8), 12);
    assert_eq!(le32(&b, 12), 6002);
    assert_eq!((le32(&b, 28), le32(&b, 32), le32(&b, 36)), (300, 200, 0));
    let f = |off: usize| f32::from_le_bytes(b[off..off + 4].try_into().unwrap());
    assert_eq!((f(40), f(44), f(48)), (240.0, 160.0, 0.8 * 12.0));
    assert_eq!((f(52), f(56), f(60)), (90.0, 90.0, 90.0));
    assert_eq!((le32(&b, 64), le32(&b, 68), le32(&b, 72)), (1, 2, 3));
    assert!(f(80) < f(76), "DMAX < DMIN: undetermined");
    assert!(f(84) < f(76), "DMEAN < DMIN: undetermined");
    assert_eq!(f(216), -1.0);
    assert_eq!(le32(&b, 88), 0);
    assert_eq!(le32(&b, 92) as usize, meta.to_bytes().len());
    assert_eq!(&b[104..108], b"json");
    assert_eq!(le32(&b, 108), 20140);
    assert_eq!((f(132), f(136), f(140)), (300.0, 2.7, 1.0));
    assert_eq!(&b[144..152], &0x0102_0304_0506_0708i64.to_le_bytes());
    assert_eq!(&b[208..212], b"MAP ");
    assert_eq!(&b[212..216], &[0x44, 0x44, 0, 0]);
    assert_eq!(le32(&b, 220), 2);
    assert_eq!(&b[224..224 + 9], MRCZ_FORMAT_LABEL.as_bytes());
    assert!(b[224 + 9..304].iter().all(|&c| c == 0), "NUL-padded");
    assert_eq!(&b[304..304 + WRITER_LABEL.len()], WRITER_LABEL.as_bytes());
    assert!(WRITER_LABEL.starts_with("mrcz-rs "));
    assert!(b[384..].iter().all(|&c| c == 0));

    let (p, w) = Header::parse(&b).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p, h);
    assert_eq!(p.mrcz_version(), Some((0, 6, 0)));
    assert_eq!(p.python_mrcz_slices(), 0);
    assert_eq!(p.z_layout(), Some(ZLayout::PythonStack));
    let v = p.voxel_size();
    assert!((v[2] - 0.8).abs() < 1e-6, "{v:?}");
}

#[test]
fn for_mrcz_layout_big_endian() {
    let mut h = Header::for_mrcz(300, 200, 12, Mode::Uint16, 1);
    h.set_endian(Endian::Big);
    h.packed_bytes = 0x0102_0304_0506_0708;
    let b = h.to_bytes();
    assert_eq!(be32(&b, 12), 1006);
    assert_eq!(be32(&b, 0), 300);
    assert_eq!(be32(&b, 220), 2);
    assert_eq!(be32(&b, 108), 20140);
    assert_eq!(&b[144..152], &0x0102_0304_0506_0708i64.to_be_bytes());
    assert_eq!(&b[212..216], &[0x11, 0x11, 0, 0]);
    assert_eq!(&b[140..144], &1.0f32.to_be_bytes());
    let (p, w) = Header::parse(&b).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p, h);
}

#[test]
fn z_layouts_keep_voxel_size() {
    let mut h = Header::new(64, 32, 10, Mode::Int16);
    h.set_voxel_size([2.0, 3.0, 4.0]);
    assert_eq!(h.cella, [128.0, 96.0, 4.0]);
    assert_eq!(h.z_layout(), Some(ZLayout::ImageStack));
    h.set_z_layout(ZLayout::Volume);
    assert_eq!((h.mz, h.ispg), (10, 1));
    assert_eq!(h.cella[2], 40.0);
    assert_eq!(h.voxel_size(), [2.0, 3.0, 4.0]);
    h.set_z_layout(ZLayout::PythonStack);
    assert_eq!((h.mz, h.ispg), (0, 0));
    assert_eq!(h.cella[2], 40.0, "python-mrcz: CELLA z = NZ × voxel");
    assert_eq!(h.voxel_size(), [2.0, 3.0, 4.0]);
}

#[test]
fn labels() {
    let mut h = Header::new(4, 4, 1, Mode::Int8);
    assert_eq!(h.nlabl, 0);
    h.push_label("first").unwrap();
    h.push_label("second  ").unwrap();
    assert_eq!(h.nlabl, 2);
    assert_eq!(h.label(1).as_deref(), Some("second"));
    assert_eq!(h.label(10), None);
    assert!(matches!(
        h.set_label(10, "x"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        h.set_label(0, &"x".repeat(81)),
        Err(Error::InvalidArgument(_))
    ));
    h.set_label(0, &"y".repeat(80)).unwrap();
    for i in 2..10 {
        h.push_label(&format!("label {i}")).unwrap();
    }
    assert!(matches!(
        h.push_label("11th"),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(h.labels_in_use().len(), 10);
}

#[test]
fn imod_fields_follow_byte_order() {
    let mut h = Header::new(4, 4, 1, Mode::Int8);
    let stamp_at = 152 - 112;
    h.extra2[stamp_at..stamp_at + 4].copy_from_slice(b"IMOD");
    assert_eq!(h.imod_flags(), Some(0));
    assert!(h.mode0_is_unsigned());
    h.extra2[stamp_at + 4] = 1;
    assert!(!h.mode0_is_unsigned());
    h.set_endian(Endian::Big);
    assert_eq!(h.imod_flags(), Some(1));
    let (p, _) = Header::parse(&h.to_bytes()).unwrap();
    assert_eq!(p.endian, Endian::Big);
    assert_eq!(p.imod_flags(), Some(1));
    assert_eq!(&p.to_bytes()[152..156], b"DOMI");
}

// ---------------------------------------------------------------------------------------------
// Malformed headers.

fn with_le(off: usize, v: i32) -> [u8; HEADER_LEN] {
    let mut b = Py {
        stamp: [0x44, 0x44, 0, 0],
        ..Py::new(Endian::Little, 2)
    }
    .bytes();
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    b
}

fn format_offset(r: mrcz::Result<(Header, Vec<Warning>)>) -> (u64, String) {
    match r {
        Err(Error::Format { offset, what }) => (offset, what),
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn lying_fields_are_typed_errors() {
    for (off, v, field) in [
        (0, -1, "NX"),
        (0, 0, "NX"),
        (4, 0, "NY"),
        (4, i32::MIN, "NY"),
        (8, -1, "NZ"),
        (92, -1, "NSYMBT"),
        (12, -5, "MODE"),
        (12, 16_002, "compressor id 16"),
        (12, i32::MAX, "compressor id"),
    ] {
        let (offset, what) = format_offset(Header::parse(&with_le(off, v)));
        assert_eq!(offset, off as u64, "{what}");
        assert!(what.contains(field), "{what}");
    }
    for mode in [5, 16, 9, 1016, 6100, 999] {
        match Header::parse(&with_le(12, mode)) {
            Err(Error::Unsupported(m)) => {
                assert!(m.contains(&(mode % 1000).to_string()), "{m}")
            }
            other => panic!("mode {mode}: {other:?}"),
        }
    }
    // Blosc2 plugin ids are valid header values; the container rejects them by name.
    for id in 7..=15 {
        let (h, _) = Header::parse(&with_le(12, id * 1000 + 2)).unwrap();
        assert_eq!(h.compressor_id, id as u32);
    }
    // NZ = 0 is allowed (an empty stack).
    assert_eq!(
        Header::parse(&with_le(8, 0))
            .unwrap()
            .0
            .data_bytes()
            .unwrap(),
        0
    );
    // Too short.
    let (offset, _) = format_offset(Header::parse(&[0u8; 1023]));
    assert_eq!(offset, 1023);
    assert!(Header::parse(&[]).is_err());
    // Longer input: only the first 1024 bytes count.
    let mut long = with_le(0, 256).to_vec();
    long.extend_from_slice(&[0xff; 100]);
    assert_eq!(Header::parse(&long).unwrap().0.nx, 256);
}

#[test]
fn sizes_overflow_to_typed_errors() {
    let mut b = with_le(0, i32::MAX);
    b[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
    b[8..12].copy_from_slice(&i32::MAX.to_le_bytes());
    b[12..16].copy_from_slice(&4i32.to_le_bytes());
    let (h, _) = Header::parse(&b).unwrap();
    assert!(matches!(h.section_bytes(), Err(Error::LimitsExceeded(_))));
    assert!(matches!(h.data_bytes(), Err(Error::LimitsExceeded(_))));
    b[12..16].copy_from_slice(&0i32.to_le_bytes());
    let (h, _) = Header::parse(&b).unwrap();
    assert_eq!(h.section_bytes().unwrap(), (i32::MAX as u64).pow(2));
    assert!(matches!(h.data_bytes(), Err(Error::LimitsExceeded(_))));

    // Fields set by hand.
    let mut h = Header::new(10, 10, 10, Mode::Float32);
    h.nz = -1;
    assert!(matches!(
        h.data_bytes(),
        Err(Error::Format { offset: 8, .. })
    ));
    h.nx = 0;
    assert!(matches!(
        h.section_bytes(),
        Err(Error::Format { offset: 0, .. })
    ));
}

#[test]
fn file_length_checks() {
    let mut h = Header::new(10, 10, 2, Mode::Int16);
    h.check_file_len(1024 + 400).unwrap();
    h.check_file_len(1024 + 500).unwrap();
    assert!(matches!(
        h.check_file_len(1024 + 399),
        Err(Error::Format { .. })
    ));
    h.nsymbt = i32::MAX;
    assert_eq!(h.data_offset(), 1024 + i32::MAX as u64);
    assert!(matches!(
        h.check_file_len(1_000_000),
        Err(Error::Format { offset: 92, .. })
    ));
    h.nsymbt = 0;
    h.compressor_id = 6;
    h.check_file_len(1024).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Property tests.

fn finite() -> impl Strategy<Value = f32> {
    any::<f32>().prop_map(|f| if f.is_nan() { 0.5 } else { f })
}

fn f3() -> impl Strategy<Value = [f32; 3]> {
    [finite(), finite(), finite()]
}

prop_compose! {
    fn arb_header()(
        dims in (1..=i32::MAX, 1..=i32::MAX, 0..=i32::MAX),
        mode in proptest::sample::select(Mode::ALL.to_vec()),
        id in 0u32..=6,
        big in any::<bool>(),
        stamp44_41 in any::<bool>(),
        ints in proptest::collection::vec(any::<i32>(), 11),
        floats in (f3(), f3(), f3(), finite(), finite(), finite(), finite(), finite(), finite(), finite()),
        nsymbt in 0..=i32::MAX,
        raw in (proptest::collection::vec(any::<u8>(), 84), any::<[u8; 8]>(), any::<[u8; 4]>(), any::<[u8; 4]>()),
        packed in any::<i64>(),
        nlabl in 0..=10i32,
        labels in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 80), 10),
    ) -> Header {
        let endian = if big { Endian::Big } else { Endian::Little };
        let mut h = Header::new(dims.0, dims.1, dims.2, mode);
        h.compressor_id = id;
        h.endian = endian;
        h.machst = if !big && stamp44_41 { [0x44, 0x41, 0, 0] } else { endian.stamp() };
        h.nxstart = ints[0]; h.nystart = ints[1]; h.nzstart = ints[2];
        h.mx = ints[3]; h.my = ints[4]; h.mz = ints[5];
        h.mapc = ints[6]; h.mapr = ints[7]; h.maps = ints[8];
        h.ispg = ints[9]; h.nversion = ints[10];
        (h.cella, h.cellb, h.origin) = (floats.0, floats.1, floats.2);
        (h.dmin, h.dmax, h.dmean, h.rms) = (floats.3, floats.4, floats.5, floats.6);
        (h.voltage, h.c3, h.gain) = (floats.7, floats.8, floats.9);
        h.nsymbt = nsymbt;
        h.extra2.copy_from_slice(&raw.0);
        h.extra2[EXTRA2_MRCZ_RANGE].fill(0);
        h.extra1 = raw.1;
        h.exttyp = raw.2;
        h.map = raw.3;
        h.packed_bytes = packed;
        h.nlabl = nlabl;
        for (dst, src) in h.labels.iter_mut().zip(&labels) {
            dst.copy_from_slice(src);
        }
        h
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trip(h in arb_header()) {
        let bytes = h.to_bytes();
        let (p, warnings) = Header::parse(&bytes).unwrap();
        prop_assert_eq!(&p, &h);
        prop_assert_eq!(p.to_bytes(), bytes);
        for w in &warnings {
            prop_assert!(matches!(w, Warning::MissingMapId { .. }), "{}", w);
        }
        // MODE and packedBytes are where they belong, in the right order.
        let e = h.endian;
        prop_assert_eq!(e.read_i32(bytes[12..16].try_into().unwrap()), h.mode.code() + 1000 * h.compressor_id as i32);
        prop_assert_eq!(e.read_i64(bytes[144..152].try_into().unwrap()), h.packed_bytes);
        prop_assert_eq!(e.read_i32(bytes[220..224].try_into().unwrap()), h.nlabl);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
        check_no_panic(&bytes);
    }

    #[test]
    fn mutated_headers_never_panic(
        h in arb_header(),
        edits in proptest::collection::vec((0usize..HEADER_LEN, any::<u8>()), 1..12),
    ) {
        let mut bytes = h.to_bytes();
        for (at, v) in edits {
            bytes[at] = v;
        }
        check_no_panic(&bytes);
    }
}

fn check_no_panic(bytes: &[u8]) {
    match Header::parse(bytes) {
        Ok((h, warnings)) => {
            for w in &warnings {
                let _ = w.to_string();
            }
            assert!(h.nx > 0 && h.ny > 0 && h.nz >= 0 && h.nsymbt >= 0);
            assert!((0..=10).contains(&h.nlabl));
            assert!(h.compressor_id <= 15);
            let _ = h.to_bytes();
            let _ = (
                h.data_bytes(),
                h.section_bytes(),
                h.check_file_len(bytes.len() as u64),
            );
            let _ = (
                h.voxel_size(),
                h.mrcz_version(),
                h.is_legacy_mrcz(),
                h.labels_in_use(),
            );
            for p in validate_header(&h, Some(bytes.len() as u64), None) {
                let _ = p.to_string();
            }
        }
        Err(Error::Format { .. } | Error::Unsupported(_)) => {}
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// validate_header.

fn good_plain() -> (Header, u64, DataStats) {
    let mut h = Header::new(16, 8, 3, Mode::Float32);
    let stats = DataStats {
        min: -2.5,
        max: 7.25,
        mean: 1.5,
        rms: 2.0,
    };
    h.dmin = -2.5;
    h.dmax = 7.25;
    h.dmean = 1.5;
    h.rms = 2.0;
    h.push_label("made by a test").unwrap();
    (h, 1024 + 16 * 8 * 3 * 4, stats)
}

fn invalid_checks(h: &Header, len: Option<u64>, stats: Option<&DataStats>) -> Vec<Check> {
    validate_header(h, len, stats)
        .into_iter()
        .filter(|p| p.severity == Severity::Invalid)
        .map(|p| p.check)
        .collect()
}

#[test]
fn validate_accepts_correct_headers() {
    let (h, len, stats) = good_plain();
    assert_eq!(validate_header(&h, Some(len), Some(&stats)), vec![]);
    // Undetermined statistics are not compared.
    let h2 = Header::new(16, 8, 3, Mode::Float32);
    assert_eq!(validate_header(&h2, Some(len), Some(&stats)), vec![]);
    // Our MRCZ writer's header: only notes (MZ = 0 for python-mrcz), no invalidity.
    let mut m = Header::for_mrcz(16, 8, 3, Mode::Float32, 6);
    m.set_extended_header(&Metadata::json(serde_json::json!({"a": 1})))
        .unwrap();
    let problems = validate_header(&m, Some(5000), None);
    assert!(
        problems.iter().all(|p| p.severity == Severity::Note),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.message.contains("MZ is 0")));
    m.set_z_layout(ZLayout::ImageStack);
    assert_eq!(validate_header(&m, Some(5000), None), vec![]);
}

#[test]
fn validate_each_check_fires() {
    type Breaker = fn(&mut Header, &mut DataStats, &mut u64);
    let cases: Vec<(Check, Breaker)> = vec![
        (Check::MapId, |h, _, _| h.map = *b"MAP\0"),
        (Check::MachineStamp, |h, _, _| h.machst = [0x44, 0x11, 0, 0]),
        (Check::Mode, |h, _, _| h.mode = Mode::Int32),
        (Check::NonNegative, |h, _, _| h.mx = -1),
        (Check::NonNegative, |h, _, _| h.ispg = -1),
        (Check::NonNegative, |h, _, _| h.cella[2] = -1.0),
        (Check::AxisMapping, |h, _, _| h.maps = 2),
        (Check::VolumeStack, |h, _, _| {
            h.ispg = 401;
            h.mz = 2;
        }),
        (Check::VolumeStack, |h, _, _| {
            h.ispg = 630;
            h.mz = 0;
        }),
        (Check::Labels, |h, _, _| h.nlabl = 2),
        (Check::Labels, |h, _, _| {
            h.set_label(2, "after a gap").unwrap();
            h.nlabl = 2;
        }),
        (Check::Version, |h, _, _| h.nversion = 0),
        (Check::ExtType, |h, _, len| {
            h.nsymbt = 8;
            h.exttyp = *b"ABCD";
            *len += 8;
        }),
        (Check::Statistics, |_, s, _| s.rms = 3.0),
        (Check::Statistics, |_, s, _| s.min = -2.0),
        (Check::Statistics, |_, s, _| s.max = 7.0),
        (Check::Statistics, |_, s, _| s.mean = 1.6),
        (Check::FileSize, |_, _, len| *len += 1),
        (Check::FileSize, |h, _, _| {
            h.nsymbt = 4;
            h.exttyp = *b"CCP4";
        }),
        // An extended header of unknown type: also reported by check 9.
        (Check::ExtType, |h, _, len| {
            h.nsymbt = 4;
            *len += 4;
        }),
    ];
    for (i, (check, breaker)) in cases.into_iter().enumerate() {
        let (mut h, mut len, mut stats) = good_plain();
        breaker(&mut h, &mut stats, &mut len);
        let found = invalid_checks(&h, Some(len), Some(&stats));
        assert_eq!(found, vec![check], "case {i}");
    }
    // Agreed EXTTYPs pass.
    let (mut h, len, stats) = good_plain();
    h.nsymbt = 8;
    h.exttyp = *b"FEI1";
    assert_eq!(validate_header(&h, Some(len + 8), Some(&stats)), vec![]);
    // Int32 in a compressed file is only a note; compressed files skip the size check.
    h.mode = Mode::Int32;
    h.compressor_id = 5;
    h.exttyp = *b"json";
    assert_eq!(invalid_checks(&h, Some(1), Some(&stats)), vec![]);
}

#[test]
fn validate_reports_python_mrcz_quirks() {
    let bytes = Py {
        json_len: 20,
        ..Py::new(Endian::Little, 2)
    }
    .bytes();
    let (h, _) = Header::parse(&bytes).unwrap();
    let len = 1024 + 20 + 256 * 192 * 40 * 4;
    let problems = validate_header(&h, Some(len), None);
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(has("NVERSION is 0"), "{text:#?}");
    assert!(has("python-mrcz does not set it"));
    assert!(has("RMS 0 claims zero spread"));
    assert!(has("MX is 0"));
    assert!(has("MY is 0"));
    assert!(has("MZ is 0"));
    assert!(has("quickStats"));
    assert!(has("EXTTYP \"json\""));
    assert_eq!(invalid_checks(&h, Some(len), None), vec![Check::Version]);

    // With the real statistics: RMS 0 against a real spread, and the midpoint "mean".
    let stats = DataStats {
        min: -3.0,
        max: 5.0,
        mean: 0.2,
        rms: 1.1,
    };
    let problems = validate_header(&h, Some(len), Some(&stats));
    assert!(
        problems
            .iter()
            .any(|p| p.check == Check::Statistics && p.message.contains("RMS is 0"))
    );
    assert_eq!(
        invalid_checks(&h, Some(len), Some(&stats)),
        vec![Check::Version, Check::Statistics, Check::Statistics]
    );

    // Legacy label and packedBytes of a compressed file.
    let (h, _) = Header::parse(
        &Py {
            label: "MRCZ0.4.1",
            packed: 1000,
            ..Py::new(Endian::Little, 5001)
        }
        .bytes(),
    )
    .unwrap();
    let text: Vec<String> = validate_header(&h, Some(1024 + 999), None)
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.iter().any(|t| t.contains("python-mrcz < 0.5.0")),
        "{text:#?}"
    );
    assert!(text.iter().any(|t| t.contains("packedBytes is 1000")));
    assert!(
        validate_header(&h, Some(1024 + 1000), None)
            .iter()
            .all(|p| !p.message.contains("packedBytes"))
    );
}

#[test]
fn problem_display_is_one_line() {
    let (mut h, len, stats) = good_plain();
    h.map = *b"XXXX";
    let p = &validate_header(&h, Some(len), Some(&stats))[0];
    let s = p.to_string();
    assert!(s.starts_with("invalid: "), "{s}");
    assert!(s.ends_with("[check 1]"), "{s}");
    assert!(!s.contains('\n'));
}

// ---------------------------------------------------------------------------------------------
// Real headers written by python-mrcz 0.6.0 (python-blosc 1.11.4), 6 × 8 × 3 sections:
// `writeMRC(a, f, meta={"a": nan, "b": [0, 1, 2], "é": "ü"}, pixelsize=[1.5, 1.25, 1.0],
// compressor='zstd', voltage=300.0, C3=2.7, gain=0.5)`, `writeMRC(a, f, endian='be',
// compressor='lz4')`, `writeMRC(a.astype(int8), f, endian='be')` and
// `writeMRC(list(a.astype(uint16)), f)`.

/// First 1024 bytes of `le_zstd.mrcz` (1460 bytes), as runs of non-zero bytes.
const PY_LE_ZSTD_F32: &[(usize, &[u8])] = &[
    (0, &[0x06]),
    (4, &[0x08]),
    (8, &[0x03]),
    (12, &[0x72, 0x17]),
    (42, &[0xc0, 0x40]),
    (46, &[0x20, 0x41]),
    (50, &[0x90, 0x40]),
    (54, &[0xb4, 0x42]),
    (58, &[0xb4, 0x42]),
    (62, &[0xb4, 0x42, 0x01]),
    (68, &[0x02]),
    (72, &[0x03]),
    (78, &[0x48, 0xc2]),
    (82, &[0x40, 0xc0]),
    (86, &[0xd4, 0xc1]),
    (92, &[0x2e]),
    (104, &[0x6a, 0x73, 0x6f, 0x6e]),
    (134, &[0x96, 0x43, 0xcd, 0xcc, 0x2c, 0x40]),
    (143, &[0x3f, 0x86, 0x01]),
    (208, &[0x4d, 0x41, 0x50, 0x20, 0x44, 0x41]),
    (220, &[0x01]),
    (224, &[0x4d, 0x52, 0x43, 0x5a, 0x30, 0x2e, 0x36, 0x2e, 0x30]),
];
const PY_LE_ZSTD_F32_LEN: u64 = 1460;
/// Its extended header (NSYMBT = 46).
const PY_LE_ZSTD_F32_JSON: &str = r#"{"a": NaN, "b": [0, 1, 2], "\u00e9": "\u00fc"}"#;

/// First 1024 bytes of `be_lz4.mrcz` (1482 bytes).
const PY_BE_LZ4_F32: &[(usize, &[u8])] = &[
    (3, &[0x06]),
    (7, &[0x08]),
    (11, &[0x03]),
    (14, &[0x07, 0xd2]),
    (
        40,
        &[
            0x3f, 0x19, 0x99, 0x9a, 0x3f, 0x4c, 0xcc, 0xcd, 0x3e, 0x99, 0x99, 0x9a, 0x42, 0xb4,
        ],
    ),
    (56, &[0x42, 0xb4]),
    (60, &[0x42, 0xb4]),
    (67, &[0x01]),
    (71, &[0x02]),
    (75, &[0x03, 0xc2, 0x48]),
    (80, &[0xc0, 0x40]),
    (84, &[0xc1, 0xd4]),
    (140, &[0x3f, 0x80]),
    (150, &[0x01, 0xca]),
    (208, &[0x4d, 0x41, 0x50, 0x20, 0x11, 0x11]),
    (
        223,
        &[0x01, 0x4d, 0x52, 0x43, 0x5a, 0x30, 0x2e, 0x36, 0x2e, 0x30],
    ),
];
const PY_BE_LZ4_F32_LEN: u64 = 1482;

/// First 1024 bytes of `be_i8.mrc` (1168 bytes).
const PY_BE_PLAIN_I8: &[(usize, &[u8])] = &[
    (3, &[0x06]),
    (7, &[0x08]),
    (11, &[0x03]),
    (
        40,
        &[
            0x3f, 0x19, 0x99, 0x9a, 0x3f, 0x4c, 0xcc, 0xcd, 0x3e, 0x99, 0x99, 0x9a, 0x42, 0xb4,
        ],
    ),
    (56, &[0x42, 0xb4]),
    (60, &[0x42, 0xb4]),
    (67, &[0x01]),
    (71, &[0x02]),
    (75, &[0x03, 0xc2, 0x48]),
    (80, &[0xc0, 0x40]),
    (84, &[0xc1, 0xd4]),
    (140, &[0x3f, 0x80]),
    (208, &[0x4d, 0x41, 0x50, 0x20, 0x11, 0x11]),
    (
        223,
        &[0x01, 0x4d, 0x52, 0x43, 0x5a, 0x30, 0x2e, 0x36, 0x2e, 0x30],
    ),
];
const PY_BE_PLAIN_I8_LEN: u64 = 1168;

/// First 1024 bytes of `le_list_u16.mrc` (1312 bytes): a list of 2-D frames, so MZ = 1.
const PY_LE_LIST_U16: &[(usize, &[u8])] = &[
    (0, &[0x06]),
    (4, &[0x08]),
    (8, &[0x03]),
    (12, &[0x06]),
    (36, &[0x01]),
    (
        40,
        &[
            0x9a, 0x99, 0x19, 0x3f, 0xcd, 0xcc, 0x4c, 0x3f, 0x9a, 0x99, 0x99, 0x3e,
        ],
    ),
    (54, &[0xb4, 0x42]),
    (58, &[0xb4, 0x42]),
    (62, &[0xb4, 0x42, 0x01]),
    (68, &[0x02]),
    (72, &[0x03]),
    (
        77,
        &[
            0xce, 0x7f, 0x47, 0x00, 0xfd, 0x7f, 0x47, 0x00, 0xcb, 0xff, 0x46,
        ],
    ),
    (142, &[0x80, 0x3f]),
    (208, &[0x4d, 0x41, 0x50, 0x20, 0x44, 0x41]),
    (220, &[0x01]),
    (224, &[0x4d, 0x52, 0x43, 0x5a, 0x30, 0x2e, 0x36, 0x2e, 0x30]),
];
const PY_LE_LIST_U16_LEN: u64 = 1312;

fn from_runs(runs: &[(usize, &[u8])]) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    for (at, run) in runs {
        b[*at..*at + run.len()].copy_from_slice(run);
    }
    b
}

fn assert_close3(a: [f32; 3], b: [f32; 3]) {
    for i in 0..3 {
        assert!((a[i] - b[i]).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn real_python_mrcz_le_zstd() {
    let b = from_runs(PY_LE_ZSTD_F32);
    let (h, w) = Header::parse(&b).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(h.endian, Endian::Little);
    assert_eq!(
        (h.nx, h.ny, h.nz, h.mode, h.compressor_id),
        (6, 8, 3, Mode::Float32, 6)
    );
    assert_eq!((h.mx, h.my, h.mz, h.nversion, h.rms), (0, 0, 0, 0, 0.0));
    // pixelsize=[z, y, x] = [1.5, 1.25, 1.0].
    assert!(h.uses_python_mrcz_cell());
    assert_eq!(h.voxel_size(), [1.0, 1.25, 1.5]);
    assert_eq!((h.voltage, h.c3, h.gain), (300.0, 2.7, 0.5));
    assert_eq!((h.dmin, h.dmax, h.dmean), (-50.0, -3.0, -26.5));
    assert_eq!(h.nsymbt as usize, PY_LE_ZSTD_F32_JSON.len());
    assert_eq!(&h.exttyp, b"json");
    // The chunks end exactly at EOF.
    assert_eq!(h.data_offset() + h.packed_bytes as u64, PY_LE_ZSTD_F32_LEN);
    assert_eq!(h.mrcz_version(), Some((0, 6, 0)));
    assert_eq!(h.python_mrcz_slices(), 0);
    assert_eq!(h.to_bytes(), b);
    let m = Metadata::parse(h.exttyp, PY_LE_ZSTD_F32_JSON.as_bytes().to_vec()).unwrap();
    assert_eq!(
        m.value(),
        Some(&serde_json::json!({"a": null, "b": [0, 1, 2], "é": "ü"}))
    );
    assert_eq!(m.to_bytes(), PY_LE_ZSTD_F32_JSON.as_bytes());
    // Compressed: only NVERSION is invalid.
    assert_eq!(
        invalid_checks(&h, Some(PY_LE_ZSTD_F32_LEN), None),
        vec![Check::Version]
    );
}

#[test]
fn real_python_mrcz_big_endian() {
    for (runs, len, mode, id) in [
        (PY_BE_LZ4_F32, PY_BE_LZ4_F32_LEN, Mode::Float32, 2),
        (PY_BE_PLAIN_I8, PY_BE_PLAIN_I8_LEN, Mode::Int8, 0),
    ] {
        let mut b = from_runs(runs);
        let (h, w) = Header::parse(&b).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(h.endian, Endian::Big);
        assert_eq!(
            (h.nx, h.ny, h.nz, h.mode, h.compressor_id),
            (6, 8, 3, mode, id)
        );
        assert_close3(h.voxel_size(), [0.1; 3]);
        assert_eq!(h.gain, 1.0);
        assert_eq!(h.nlabl, 1);
        if id == 0 {
            assert_eq!(h.data_offset() + h.data_bytes().unwrap(), len);
            h.check_file_len(len).unwrap();
        } else {
            assert_eq!(h.data_offset() + h.packed_bytes as u64, len);
        }
        assert_eq!(h.to_bytes(), b);
        // Stamp zeroed: MODE 0 / 2002 defeat python-mrcz's own fallback, not ours.
        b[212..216].fill(0);
        let (z, w) = Header::parse(&b).unwrap();
        assert_eq!(z.endian, Endian::Big);
        assert_eq!(w.len(), 1);
        assert_eq!((z.nx, z.ny, z.nz, z.mode), (6, 8, 3, mode));
    }
}

#[test]
fn real_python_mrcz_frame_list() {
    let b = from_runs(PY_LE_LIST_U16);
    let (h, _) = Header::parse(&b).unwrap();
    assert_eq!((h.mode, h.mz), (Mode::Uint16, 1));
    assert_eq!(h.python_mrcz_slices(), 1);
    // CELLA z = 0.1 × NZ although MZ = 1: python-mrcz's convention wins in its own files.
    assert_close3(h.voxel_size(), [0.1; 3]);
    assert_eq!(
        h.data_offset() + h.data_bytes().unwrap(),
        PY_LE_LIST_U16_LEN
    );
    assert_eq!(h.to_bytes(), b);
    // An MRC2014 file with the same MZ = 1 but MX = NX uses CELLA / MZ.
    let mut m = h.clone();
    m.mx = 6;
    m.my = 8;
    assert!(!m.uses_python_mrcz_cell());
    assert_close3(m.voxel_size(), [0.1, 0.1, 0.3]);
}

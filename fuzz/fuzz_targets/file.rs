//! Whole files through the public `Reader` over a `Cursor`, with tight limits: open, then decode
//! every frame one by one and all at once; both must agree. Half of the runs allow incomplete
//! files (chosen by the last byte so that the corpus keeps both).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use mrcz::blosc::Limits;
use mrcz::mrcz::{ReadOptions, Reader, ValidateOptions, validate_stream};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        max_frame_bytes: 1 << 20,
        max_metadata_bytes: 1 << 16,
        blosc: Limits {
            max_nbytes: 1 << 20,
            ..Limits::default()
        },
        allow_incomplete: data.last().is_some_and(|b| b & 1 == 1),
    };
    if let Ok(mut r) = Reader::new_with(Cursor::new(data), options.clone()) {
        let frames = r.frames().min(64);
        let mut frame = vec![0u8; r.frame_len()];
        let mut one_by_one = Vec::new();
        let mut ok = true;
        for i in 0..frames {
            if r.read_frame(i, &mut frame).is_err() {
                ok = false;
                break;
            }
            one_by_one.extend_from_slice(&frame);
        }
        if ok && frames > 0 {
            let mut all = vec![0u8; frames * r.frame_len()];
            r.read_frames(0..frames, &mut all)
                .expect("frames that decode one by one decode together");
            assert_eq!(all, one_by_one);
        }
    }
    let deep = ValidateOptions {
        deep: true,
        read: options,
    };
    let _ = validate_stream(Cursor::new(data), &deep);
});

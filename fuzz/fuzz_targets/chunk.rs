//! The Blosc chunk decoder with a small limit: any bytes give an error or exactly `nbytes`
//! bytes, and `decompress_into` agrees with `decompress`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mrcz::blosc::{self, ChunkHeader, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_nbytes: 1 << 20,
        ..Limits::default()
    };
    let header = ChunkHeader::parse(data);
    match blosc::decompress(data, &limits) {
        Ok(out) => {
            let h = header.expect("a decoded chunk has a valid header");
            assert_eq!(out.len(), h.nbytes);
            let mut dst = vec![0xa5u8; h.nbytes];
            blosc::decompress_into(data, &mut dst, &limits).expect("decompress_into agrees");
            assert_eq!(dst, out, "decompress_into and decompress agree");
        }
        Err(_) => {
            if let Ok(h) = header
                && h.nbytes <= limits.max_nbytes
            {
                let mut dst = vec![0u8; h.nbytes];
                assert!(blosc::decompress_into(data, &mut dst, &limits).is_err());
            }
        }
    }
});

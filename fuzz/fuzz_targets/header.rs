//! The MRC2014/MRCZ header parser and the header checks: any 1024 bytes either parse or give an
//! error; a parsed header serialises and re-parses to the same header, and its derived sizes
//! and checks never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mrcz::mrc::{HEADER_LEN, Header, validate_header};

fuzz_target!(|data: &[u8]| {
    let Ok((h, _warnings)) = Header::parse(data) else {
        return;
    };
    let _ = h.section_bytes();
    let _ = h.data_bytes();
    let _ = h.check_file_len(data.len() as u64);
    let _ = h.voxel_size();
    let _ = h.labels_in_use();
    let _ = validate_header(&h, Some(data.len() as u64), None);
    let bytes = h.to_bytes();
    assert_eq!(bytes.len(), HEADER_LEN);
    let (again, _) = Header::parse(&bytes).expect("a written header parses");
    assert_eq!(again.to_bytes(), bytes, "header bytes round trip");
});

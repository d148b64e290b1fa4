//! The extended-header parsers (lenient JSON with NaN/Infinity, MessagePack): any bytes parse or
//! give an error; parsed JSON written the way python-mrcz writes it, or as MessagePack, parses
//! back to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mrcz::mrc::{EXTTYP_JSON, EXTTYP_MSGPACK, Metadata};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metadata::parse(EXTTYP_JSON, data.to_vec())
        && let Some(value) = m.value()
    {
        assert_eq!(
            m.to_bytes(),
            data,
            "unchanged JSON is written back byte for byte"
        );
        let fresh = Metadata::json(value.clone()).to_bytes();
        let again = Metadata::parse(EXTTYP_JSON, fresh).expect("written JSON parses");
        assert_eq!(again.value(), Some(value), "JSON round trip");
        let packed = Metadata::msgpack(value.clone()).expect("JSON values pack");
        let again = Metadata::parse(EXTTYP_MSGPACK, packed.to_bytes()).expect("packed JSON parses");
        assert_eq!(again.value(), Some(value), "MessagePack round trip");
    }
    if let Ok(m) = Metadata::parse(EXTTYP_MSGPACK, data.to_vec()) {
        let _ = m.to_bytes();
        if let Some(value) = m.value() {
            let _ = serde_json::to_string(value);
        }
    }
    let _ = Metadata::parse(*b"FEI1", data.to_vec());
});

//! The chunk writer: any bytes, with parameters taken from the first four input bytes (codec,
//! level, shuffle, typesize, block size), compress to a chunk whose header agrees with them, no
//! larger than the input plus the header, that decodes back to exactly those bytes; the serial
//! writer gives the same chunk and shows the visitor every byte once, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mrcz::blosc::{self, ChunkHeader, Limits, MAX_OVERHEAD, Params, Shuffle};
use mrcz::codec::Codec;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, d, ref src @ ..] = *data else {
        return;
    };
    let typesize = match c {
        // Typesizes 1..=16 (the kernels' and the split rule's range) most of the time...
        0..=199 => usize::from(c % 16) + 1,
        // ... the AVX-512 kernels' sizes more often than chance ...
        200..=247 => [1, 2, 4, 8][usize::from(c % 4)],
        // ... and sizes above 255, which the header stores as 1.
        _ => 256 + usize::from(c),
    };
    let params = Params {
        codec: Codec::SUPPORTED[usize::from(a) % Codec::SUPPORTED.len()],
        level: b % 10,
        shuffle: Shuffle::ALL[usize::from(b / 10) % Shuffle::ALL.len()],
        typesize,
        // 64 .. 16320 bytes (several blocks per input), or the default (one block).
        block_size: (d > 0).then(|| usize::from(d) * 64),
    };

    let chunk = blosc::compress(src, &params).expect("any input compresses");
    let h = ChunkHeader::parse(&chunk).expect("the writer's header parses");
    assert_eq!(h.nbytes, src.len());
    assert_eq!(h.cbytes, chunk.len());
    assert!(chunk.len() <= src.len() + MAX_OVERHEAD, "{params:?}");
    assert_eq!(h.typesize, if typesize > 255 { 1 } else { typesize });

    let out = blosc::decompress(&chunk, &Limits::default()).expect("the writer's chunk decodes");
    assert!(out == src, "round trip differs for {params:?}");

    let mut serial = Vec::new();
    let mut seen = Vec::with_capacity(src.len());
    blosc::compress_into_serial_visit(src, &params, &mut serial, &mut |block| {
        seen.extend_from_slice(block)
    })
    .expect("the serial writer compresses too");
    assert!(
        serial == chunk,
        "serial and parallel chunks differ for {params:?}"
    );
    assert!(seen == src, "the visitor saw other bytes for {params:?}");
});

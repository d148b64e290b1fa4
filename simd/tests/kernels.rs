//! Every fast kernel against the scalar reference, and every inverse against its forward.

use mrcz_simd::{bitshuffle, bitunshuffle, scalar, shuffle, unshuffle};
use proptest::prelude::*;

type Kernel = fn(usize, &[u8], &mut [u8]);

const PAIRS: [(&str, Kernel, Kernel); 4] = [
    ("shuffle", shuffle, scalar::shuffle),
    ("unshuffle", unshuffle, scalar::unshuffle),
    ("bitshuffle", bitshuffle, scalar::bitshuffle),
    ("bitunshuffle", bitunshuffle, scalar::bitunshuffle),
];

/// Deterministic bytes that differ at every position and bit.
fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Checks all four kernels on one input: equal to the reference, and round trips.
fn check_all(ts: usize, src: &[u8]) -> Result<(), String> {
    let len = src.len();
    // Pre-fill outputs with junk so a kernel that skips bytes is caught.
    let mut fast = vec![0xA5; len];
    let mut slow = vec![0x5A; len];
    for (name, f, reference) in PAIRS {
        f(ts, src, &mut fast);
        reference(ts, src, &mut slow);
        if fast != slow {
            let at = fast.iter().zip(&slow).position(|(a, b)| a != b).unwrap();
            return Err(format!(
                "{name} ts {ts} len {len}: first difference at byte {at}"
            ));
        }
    }
    let mut there = vec![0; len];
    let mut back = vec![0xEE; len];
    shuffle(ts, src, &mut there);
    unshuffle(ts, &there, &mut back);
    if back != src {
        return Err(format!("unshuffle(shuffle(x)) != x, ts {ts} len {len}"));
    }
    back.fill(0xEE);
    bitshuffle(ts, src, &mut there);
    bitunshuffle(ts, &there, &mut back);
    if back != src {
        return Err(format!(
            "bitunshuffle(bitshuffle(x)) != x, ts {ts} len {len}"
        ));
    }
    Ok(())
}

#[test]
fn exhaustive_lengths_mrc_typesizes() {
    for ts in [1, 2, 4, 8] {
        for len in 0..=1100 {
            check_all(ts, &data(len, ts as u32)).unwrap();
        }
    }
}

#[test]
fn exhaustive_lengths_other_typesizes() {
    for ts in [3, 5, 16] {
        for len in 0..=700 {
            check_all(ts, &data(len, ts as u32)).unwrap();
        }
    }
}

#[test]
fn large_blocks_cross_every_superblock_size() {
    // Sizes around the vector superblocks (up to 512 elements) and the 1024-element tile.
    for ts in [1, 2, 4, 8, 12] {
        for n in [
            1023,
            1024,
            1025,
            2047,
            2048,
            2056,
            4096 + 8,
            8192 + 520,
            65536 + 72,
        ] {
            for extra in [0, ts - 1] {
                check_all(ts, &data(n * ts + extra, n as u32)).unwrap();
            }
        }
    }
}

#[test]
fn bitshuffle_spec_examples() {
    // spec/blosc.md §5.3
    let src: Vec<u8> = (0..128).collect();
    let mut dst = vec![0; 128];
    bitshuffle(1, &src, &mut dst);
    let rows: [u8; 8] = [0xaa, 0xcc, 0xf0, 0, 0, 0, 0, 0];
    for (r, chunk) in dst.chunks(16).enumerate() {
        match r {
            0..=2 => assert!(chunk.iter().all(|&b| b == rows[r]), "row {r}"),
            3 => assert!(
                chunk.iter().step_by(2).all(|&b| b == 0)
                    && chunk.iter().skip(1).step_by(2).all(|&b| b == 0xff)
            ),
            7 => assert!(chunk.iter().all(|&b| b == 0)),
            _ => {}
        }
    }
    // 64 x u16 0x8000 + i*0x0101: row 15 (top bit of the high byte) is all ones, row 14 all zero.
    let src: Vec<u8> = (0..64u16)
        .flat_map(|i| (0x8000 + i * 0x0101).to_le_bytes())
        .collect();
    let mut dst = vec![0; 128];
    bitshuffle(2, &src, &mut dst);
    assert_eq!(&dst[15 * 8..], &[0xff; 8]);
    assert_eq!(&dst[14 * 8..15 * 8], &[0; 8]);
    assert_eq!(&dst[..8], &[0xaa; 8]);
}

#[test]
#[should_panic(expected = "lengths differ")]
fn length_mismatch_panics() {
    bitshuffle(4, &[0; 64], &mut [0; 60]);
}

#[test]
#[should_panic(expected = "typesize must be positive")]
fn zero_typesize_panics() {
    shuffle(0, &[0; 8], &mut [0; 8]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_equals_reference(
        ts in prop_oneof![Just(1usize), Just(2), Just(4), Just(8), Just(16), 1usize..=20],
        src in prop::collection::vec(any::<u8>(), 0..5000),
    ) {
        prop_assert_eq!(check_all(ts, &src), Ok(()));
    }

    #[test]
    fn whole_groups_of_eight(
        ts in 1usize..=20,
        groups in 0usize..80,
        extra_elems in 0usize..8,
        extra_bytes in 0usize..20,
        seed in any::<u32>(),
    ) {
        // Lengths built from the structure (n % 8 != 0, partial elements) rather than at random.
        let len = (groups * 8 + extra_elems) * ts + extra_bytes % ts;
        prop_assert_eq!(check_all(ts, &data(len, seed)), Ok(()));
    }
}
